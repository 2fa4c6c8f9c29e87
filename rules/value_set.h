// ValueSet: the compiled right-hand side of `in [...]`. Small sets are scanned; large ones
// are an open-addressing hash table built at compile time. Lookups never allocate; the
// case-insensitive form hashes and compares with ASCII folding.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace tailor {

class ValueSet {
 public:
  static constexpr size_t kLinearMax = 8;

  // `strings` must outlive the set (they point into the RuleSet's interned strings).
  void Build(std::vector<std::string_view> strings, bool case_insensitive);
  void BuildNumbers(std::vector<double> numbers);

  bool Contains(std::string_view s) const;
  bool Contains(double n) const;
  size_t size() const { return strings_.size() + numbers_.size(); }
  bool hashed() const { return !table_.empty(); }

 private:
  uint64_t Hash(std::string_view s) const;
  bool Equal(std::string_view a, std::string_view b) const;

  bool ci_ = false;
  std::vector<std::string_view> strings_;
  std::vector<uint32_t> table_;  // 0 = empty, else index + 1; size is a power of two
  std::vector<double> numbers_;  // sorted
};

}  // namespace tailor
