#include "rules/value_set.h"

#include <algorithm>

#include "core/text.h"

namespace tailor {

uint64_t ValueSet::Hash(std::string_view s) const {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (char c : s) {
    h ^= static_cast<unsigned char>(ci_ ? AsciiLower(c) : c);
    h *= 1099511628211ull;
  }
  return h ^ (h >> 29);
}

bool ValueSet::Equal(std::string_view a, std::string_view b) const {
  return ci_ ? EqualsIgnoreCase(a, b) : a == b;
}

void ValueSet::Build(std::vector<std::string_view> strings, bool case_insensitive) {
  ci_ = case_insensitive;
  strings_ = std::move(strings);  // duplicates are harmless
  table_.clear();
  if (strings_.size() <= kLinearMax) return;
  size_t cap = 16;
  while (cap < strings_.size() * 2) cap *= 2;
  table_.assign(cap, 0);
  for (size_t i = 0; i < strings_.size(); ++i) {
    size_t slot = Hash(strings_[i]) & (cap - 1);
    while (table_[slot] != 0) {
      if (Equal(strings_[table_[slot] - 1], strings_[i])) break;
      slot = (slot + 1) & (cap - 1);
    }
    if (table_[slot] == 0) table_[slot] = static_cast<uint32_t>(i + 1);
  }
}

void ValueSet::BuildNumbers(std::vector<double> numbers) {
  std::sort(numbers.begin(), numbers.end());
  numbers.erase(std::unique(numbers.begin(), numbers.end()), numbers.end());
  numbers_ = std::move(numbers);
}

bool ValueSet::Contains(std::string_view s) const {
  if (table_.empty()) {
    for (std::string_view t : strings_)
      if (Equal(s, t)) return true;
    return false;
  }
  size_t mask = table_.size() - 1;
  size_t slot = Hash(s) & mask;
  while (uint32_t idx = table_[slot]) {
    if (Equal(strings_[idx - 1], s)) return true;
    slot = (slot + 1) & mask;
  }
  return false;
}

bool ValueSet::Contains(double n) const {
  return std::binary_search(numbers_.begin(), numbers_.end(), n);
}

}  // namespace tailor
