// RegexSet: every `matches` regex over one input value, compiled once with vectorscan
// (Hyperscan's API: linear-time automata, no backtracking) into one database that is scanned
// once per request; the result is a bit per regex.
//
// Scratch: vectorscan needs a scratch area per concurrent scan. It is allocated at config
// time (RegexScratch), never on the request path; see RuleSet::AllocateScratch.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct hs_database;
struct hs_scratch;

namespace tailor {

// Checks that vectorscan accepts `pattern` (with the flags the rule set uses). False with a
// readable message for unsupported constructs (backreferences, lookaround, ...).
bool ValidateRegex(const std::string& pattern, bool caseless, std::string* error);

class RegexScratch {
 public:
  RegexScratch() = default;
  RegexScratch(RegexScratch&& o) noexcept : scratch_(o.scratch_) { o.scratch_ = nullptr; }
  RegexScratch& operator=(RegexScratch&& o) noexcept;
  RegexScratch(const RegexScratch&) = delete;
  RegexScratch& operator=(const RegexScratch&) = delete;
  ~RegexScratch();
  hs_scratch* get() const { return scratch_; }
  // Grows the scratch to fit `db` (config time only: it allocates).
  bool Fit(const hs_database* db);

 private:
  hs_scratch* scratch_ = nullptr;
};

class RegexSet {
 public:
  struct Pattern {
    std::string regex;
    bool caseless = false;
  };
  RegexSet() = default;
  RegexSet(RegexSet&&) noexcept;
  RegexSet& operator=(RegexSet&&) noexcept;
  ~RegexSet();

  // Compiles all patterns into one database. On failure returns false and sets
  // *failed_index to the offending pattern (or -1) and *error to vectorscan's message.
  bool Compile(const std::vector<Pattern>& patterns, int* failed_index, std::string* error);

  size_t size() const { return count_; }
  const hs_database* database() const { return db_; }

  // Scans `input` once, setting bit i of `matched` (size >= (size()+63)/64 words, zeroed by
  // the caller) for each pattern i that matches. No allocation. False when the scan failed
  // (e.g. scratch in use by another thread): the caller treats every regex as not matching.
  bool Scan(std::string_view input, hs_scratch* scratch, uint64_t* matched) const;

 private:
  hs_database* db_ = nullptr;
  size_t count_ = 0;
};

}  // namespace tailor
