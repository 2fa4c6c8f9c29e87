// The compiled form of a rule set: flat arrays the evaluator walks. Built once by the compiler
// (compiler.cc), immutable afterwards, shared by every request. Every string_view points into
// CompiledRules::strings (a deque: interned strings never move).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/value.h"
#include "rules/ast.h"
#include "rules/declarations.h"
#include "rules/extensions.h"
#include "core/regex_set.h"
#include "rules/value_set.h"
#include "core/signal_registry.h"

namespace tailor {

// A slot is a value computed lazily, at most once per request (its Value lives in the
// per-request state): a registry signal instance, a constant, a score, an experiment, ...
struct Slot {
  enum class Kind : unsigned char {
    kConst, kSignal, kScorePoints, kScoreBand, kExperiment, kTableColumn, kLua
  };
  Kind kind = Kind::kConst;
  ValueType type = ValueType::kMissing;
  int cost = 1;
  Value constant;             // kConst
  const SignalDef* signal = nullptr;  // kSignal
  SignalArgs args;            // kSignal
  uint32_t index = 0;         // score / experiment / table / lua index
  int column = -1;            // kTableColumn
  int key_slot = -1;          // kTableColumn: slot of the `by:` signal, -1 = visitor ID
  int regex_db = -1;          // the RegexSet scanning this slot's value
  std::string_view name;      // "header(\"X-Beta\")", for explain
};

enum class Op : unsigned char {
  kConst,         // constant true/false (`constant`)
  kAnd, kOr,      // kids[first, first+count)
  kNot,           // kids[first]
  kTruthy,        // bool slot
  kExists,        // slot is not missing
  kCompare,       // slot OP slot2
  kBetween,       // slot2 <= slot <= slot3
  kInSet,         // slot in sets[set] (negated: not in)
  kStrOp,         // slot starts_with/ends_with/contains slot2
  kMatches,       // regex `regex_id` of regex_dbs[regex_db] matches slot
};

struct Node {
  Op op = Op::kConst;
  CmpOp cmp = CmpOp::kEq;
  StrOp str_op = StrOp::kStartsWith;
  bool ci = false;
  bool negated = false;
  bool constant = false;
  uint32_t slot = 0, slot2 = 0, slot3 = 0;
  uint32_t first = 0, count = 0;
  uint32_t set = 0;
  uint32_t regex_db = 0, regex_id = 0;
  int32_t memo = -1;     // memo bit index for shared nodes, -1 = not memoized
  int32_t segment = -1;  // this node is segment #segment's root (for traces)
  int cost = 1;
};

struct CompiledVariant {
  std::string_view name;
  uint32_t node = 0;
  int line = 0;
  std::string_view text;  // the condition as written (canonical form), for explain
};

struct CompiledPage {
  enum class Kind : unsigned char { kExact, kGlob, kRegex };
  Kind kind = Kind::kExact;
  std::string_view pattern;
  std::string_view host;      // empty: any host; "*.example.com": that domain's subdomains
  int literal_len = 0;        // specificity among globs
  uint32_t variants_first = 0, variants_count = 0;
  bool has_default = false;
  std::string_view default_name;
  uint32_t regex_id = 0;      // kRegex: pattern id in page_regexes
  int line = 0;
  std::string_view file;
};

struct CompiledScore {
  std::string_view name;
  std::vector<std::pair<double, uint32_t>> items;  // points, condition node
  std::vector<std::string_view> item_texts;         // conditions, for explain
  std::vector<int> item_lines;
  std::vector<std::pair<double, std::string_view>> bands;  // lower bound, name (first: -inf)
  uint32_t points_slot = 0;
};

struct CompiledGoal {
  std::string_view name;
  uint32_t node = 0;       // the condition
  int value_slot = -1;     // -1: no value
  bool convert = false;    // a string value, read as a decimal number
  int line = 0;
  std::string_view text;   // the condition (canonical form), for explain
  std::string_view file;
};

struct CompiledExperiment {
  int audience = -1;  // node, -1 = everyone
};

struct CompiledRules {
  const SignalRegistry* registry = nullptr;
  std::deque<std::string> strings;

  std::vector<Slot> slots;
  std::vector<uint32_t> experiment_slots;  // the kExperiment slots, ascending
  std::vector<uint32_t> experiment_slot_of;  // each experiment's slot, in declaration order
  std::vector<Node> nodes;
  std::vector<uint32_t> kids;
  std::vector<ValueSet> sets;
  std::vector<RegexSet> regex_dbs;      // one per input slot that has `matches`
  std::vector<uint32_t> regex_db_slot;  // input slot of each database
  std::vector<size_t> regex_bits_offset;  // uint64 word offset of each db's match bits
  size_t regex_bits_words = 0;
  size_t num_memo = 0;

  std::vector<std::string_view> segment_names;
  std::vector<uint32_t> segment_nodes;
  std::vector<int> segment_lines;
  std::vector<std::string_view> segment_texts;  // bodies (canonical form), for explain
  std::vector<std::string_view> segment_files;
  size_t segment_names_bytes = 0;  // all names + separators (SegmentList's arena need)

  std::vector<CompiledPage> pages;
  std::vector<CompiledVariant> variants;
  // Page lookup: exact paths sorted by (path, host-qualified first, file order); globs bucketed
  // by their first path segment, each bucket sorted most specific first.
  std::vector<std::pair<std::string_view, uint32_t>> exact_pages;
  std::vector<std::pair<std::string_view, std::vector<uint32_t>>> glob_buckets;  // sorted
  std::vector<uint32_t> wild_globs;  // globs whose first segment has a '*'
  RegexSet page_regexes;
  std::vector<uint32_t> regex_pages;  // page indices in file order

  std::vector<CompiledScore> scores;
  std::vector<CompiledGoal> goals;  // declaration order
  std::vector<CompiledExperiment> experiment_rules;
  std::vector<ExperimentDecl> experiments;
  std::vector<TableDecl> tables;
  std::vector<InterestDecl> interests;
  std::vector<LuaSignalDecl> lua_signals;
  bool has_holdout = false;
  double holdout_percent = 0;

  std::shared_ptr<TableProvider> table_provider;
  std::shared_ptr<LuaSignalProvider> lua_provider;
  std::shared_ptr<const ExperimentAssigner> assigner;

  // Per-request state layout (bytes; the flags region is zeroed by each Evaluator).
  size_t values_offset = 0;
  size_t flags_offset = 0;
  size_t flags_bytes = 0;
  size_t state_size = 0;
  size_t slot_done_word = 0, memo_done_word = 0, memo_val_word = 0, regex_done_word = 0,
         regex_bits_word = 0, page_regex_word = 0;  // uint64 word offsets in the flags region
};

}  // namespace tailor
