// RegexSet: a set of regexes compiled once with vectorscan (Hyperscan's API: linear-time
// automata, no backtracking) into one database, scanned once per input; the result is a bit
// per pattern id, or a callback per match. It serves the rules' `matches` regexes, the device
// classifier's UA patterns and the visitor profile's interest paths.
//
// Scratch: vectorscan needs a scratch area per concurrent scan. It is allocated at config
// time or at thread start (RegexScratch), never on the request path; callers keep one per
// thread (RuleSet::AllocateScratch, DeviceClassifier::Workspace, InterestSet::PrepareThread).
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
    // The id its matches report; -1: its index in the vector. Several patterns may share one.
    int id = -1;
    bool dotall = false;       // "." also matches "\n"
    bool allow_empty = true;   // may match the empty string ("^$", ".*"); else a compile error
  };
  RegexSet() = default;
  RegexSet(RegexSet&&) noexcept;
  RegexSet& operator=(RegexSet&&) noexcept;
  ~RegexSet();

  // Compiles all patterns into one database. On failure returns false and sets
  // *failed_index to the offending pattern (or -1) and *error to vectorscan's message.
  bool Compile(const std::vector<Pattern>& patterns, int* failed_index, std::string* error);

  size_t size() const { return count_; }  // patterns compiled
  const hs_database* database() const { return db_; }

  // Scans `input` once, setting bit i of `matched` (zeroed by the caller; one bit per id:
  // (size()+63)/64 words when ids are indexes) for each id i that matches. No allocation.
  // False when the scan failed (e.g. scratch in use by another thread): the caller treats
  // every regex as not matching.
  bool Scan(std::string_view input, hs_scratch* scratch, uint64_t* matched) const;
  // Same, calling on_match(id, ctx) for each match in the order vectorscan reports them
  // (once per pattern: every pattern is compiled single-match); nonzero stops the scan.
  using MatchFn = int (*)(unsigned id, void* ctx);
  bool Scan(std::string_view input, hs_scratch* scratch, MatchFn on_match, void* ctx) const;

 private:
  hs_database* db_ = nullptr;
  size_t count_ = 0;
};

}  // namespace tailor
