#include "core/regex_set.h"

#include <hs/hs.h>

#include <cstdlib>

namespace tailor {
namespace {

// Search semantics (like grep): a regex matches anywhere unless anchored with ^ or $.
// SINGLEMATCH: we need one bit per regex, not every match position. ALLOWEMPTY: "^$" and
// ".*" are legitimate rules.
unsigned Flags(bool caseless) {
  return HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY | (caseless ? HS_FLAG_CASELESS : 0);
}

unsigned Flags(const RegexSet::Pattern& p) {
  return HS_FLAG_SINGLEMATCH | (p.allow_empty ? HS_FLAG_ALLOWEMPTY : 0) |
         (p.caseless ? HS_FLAG_CASELESS : 0) | (p.dotall ? HS_FLAG_DOTALL : 0);
}

int OnMatch(unsigned int id, unsigned long long, unsigned long long, unsigned int,
            void* ctx) {
  static_cast<uint64_t*>(ctx)[id / 64] |= uint64_t{1} << (id % 64);
  return 0;
}

struct Callback {
  RegexSet::MatchFn fn;
  void* ctx;
};

int OnMatchCall(unsigned int id, unsigned long long, unsigned long long, unsigned int,
                void* ctx) {
  auto* c = static_cast<Callback*>(ctx);
  return c->fn(id, c->ctx);
}

// hs_scan takes an unsigned int length; longer inputs (never from a real request line) are
// treated as a failed scan. A null view is scanned as an empty one (hs_scan refuses null).
bool ScanDb(const hs_database* db, std::string_view input, hs_scratch* scratch,
            match_event_handler on_match, void* ctx) {
  if (scratch == nullptr) return false;
  if (input.size() > 0xffffffffu) return false;
  const char* data = input.data() ? input.data() : "";
  return hs_scan(db, data, static_cast<unsigned>(input.size()), 0, scratch, on_match, ctx) ==
         HS_SUCCESS;
}

}  // namespace

bool ValidateRegex(const std::string& pattern, bool caseless, std::string* error) {
  hs_expr_info_t* info = nullptr;
  hs_compile_error_t* err = nullptr;
  // The parser and analysis only (about 10x cheaper than a compile): it rejects every
  // unsupported construct. The rare pattern that fails only in the full build is reported by
  // RegexSet::Compile with its index, at the same source location.
  if (hs_expression_info(pattern.c_str(), Flags(caseless), &info, &err) != HS_SUCCESS) {
    *error = err && err->message ? err->message : "unsupported regex";
    hs_free_compile_error(err);
    return false;
  }
  std::free(info);
  return true;
}

RegexScratch& RegexScratch::operator=(RegexScratch&& o) noexcept {
  if (this != &o) {
    if (scratch_) hs_free_scratch(scratch_);
    scratch_ = o.scratch_;
    o.scratch_ = nullptr;
  }
  return *this;
}

RegexScratch::~RegexScratch() {
  if (scratch_) hs_free_scratch(scratch_);
}

bool RegexScratch::Fit(const hs_database* db) {
  if (db == nullptr) return true;
  return hs_alloc_scratch(db, &scratch_) == HS_SUCCESS;
}

RegexSet::RegexSet(RegexSet&& o) noexcept : db_(o.db_), count_(o.count_) {
  o.db_ = nullptr;
  o.count_ = 0;
}

RegexSet& RegexSet::operator=(RegexSet&& o) noexcept {
  if (this != &o) {
    if (db_) hs_free_database(db_);
    db_ = o.db_;
    count_ = o.count_;
    o.db_ = nullptr;
    o.count_ = 0;
  }
  return *this;
}

RegexSet::~RegexSet() {
  if (db_) hs_free_database(db_);
}

bool RegexSet::Compile(const std::vector<Pattern>& patterns, int* failed_index,
                       std::string* error) {
  *failed_index = -1;
  if (patterns.empty()) return true;
  std::vector<const char*> exprs;
  std::vector<unsigned> flags, ids;
  for (size_t i = 0; i < patterns.size(); ++i) {
    exprs.push_back(patterns[i].regex.c_str());
    flags.push_back(Flags(patterns[i]));
    ids.push_back(static_cast<unsigned>(patterns[i].id >= 0 ? patterns[i].id : int(i)));
  }
  hs_compile_error_t* err = nullptr;
  hs_database_t* db = nullptr;
  if (hs_compile_multi(exprs.data(), flags.data(), ids.data(),
                       static_cast<unsigned>(exprs.size()), HS_MODE_BLOCK, nullptr, &db,
                       &err) != HS_SUCCESS) {
    *error = err && err->message ? err->message : "regex compile failed";
    *failed_index = err ? err->expression : -1;
    hs_free_compile_error(err);
    return false;
  }
  if (db_) hs_free_database(db_);
  db_ = db;
  count_ = patterns.size();
  return true;
}

bool RegexSet::Scan(std::string_view input, hs_scratch* scratch, uint64_t* matched) const {
  if (db_ == nullptr) return true;
  return ScanDb(db_, input, scratch, OnMatch, matched);
}

bool RegexSet::Scan(std::string_view input, hs_scratch* scratch, MatchFn on_match,
                    void* ctx) const {
  if (db_ == nullptr) return true;
  Callback c{on_match, ctx};
  return ScanDb(db_, input, scratch, OnMatchCall, &c);
}

}  // namespace tailor
