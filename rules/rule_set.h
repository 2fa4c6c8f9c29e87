// RuleSet: a rules file (with its includes) parsed, checked and compiled once at config time
// into an immutable object shared by all requests. Evaluator: one per request, allocation-free,
// over caller-provided state; every signal is computed lazily, at most once per request.
//
// Usage (the nginx glue, the CLI, tests):
//   Diagnostics diags;
//   auto rules = RuleSet::LoadFile("site.rules", SignalRegistry::Builtin(), diags);
//   if (!rules) { print diags; fail; }
//   // per request: zeroed memo of registry.memo_size() bytes for EvalEnv, and
//   // rules->state_size() bytes (16-byte aligned, any content) for the evaluator:
//   Evaluator ev(*rules, env, state);
//   Decision d = ev.Decide();               // page + variant
//   std::string_view segs = ev.SegmentList();  // "beta,from_email" (in env.arena)
//
// Regex scratch (vectorscan): scanning needs a scratch area, allocated at config time, never
// per request. The RuleSet owns one, used by the 3-argument Evaluator constructor: that suits
// single-threaded processes such as nginx workers (each worker process gets its own copy when
// the master forks). A multi-threaded caller creates one per thread with AllocateScratch()
// (config time) and passes it to the 4-argument constructor. Using one scratch from two
// threads at once is detected by vectorscan and fails open (regex conditions are false).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "rules/declarations.h"
#include "rules/extensions.h"
#include "rules/limits.h"
#include "core/regex_set.h"
#include "core/signal_registry.h"

namespace tailor {

struct CompiledRules;

struct RuleSetOptions {
  RuleLimits limits;
  bool follow_includes = true;               // false: `include` is an error (fuzzing)
  std::shared_ptr<TableProvider> tables;     // for `table` declarations (checker asks types)
  std::shared_ptr<LuaSignalProvider> lua;    // for `signal X = lua(...)`
};

class RuleSet {
 public:
  // Reads, checks and compiles a rules file (following includes). Returns null when diags has
  // errors (warnings allowed).
  static std::shared_ptr<const RuleSet> LoadFile(const std::string& path,
                                                 const SignalRegistry& registry,
                                                 Diagnostics& diags);
  static std::shared_ptr<const RuleSet> CompileString(std::string_view source,
                                                      const std::string& file_name,
                                                      const SignalRegistry& registry,
                                                      Diagnostics& diags);
  // The same with providers and limits; non-const so that an ExperimentAssigner can be set
  // before the rule set is shared.
  static std::shared_ptr<RuleSet> Load(const std::string& path, const SignalRegistry& registry,
                                       Diagnostics& diags, const RuleSetOptions& options);
  static std::shared_ptr<RuleSet> Compile(std::string_view source, const std::string& file_name,
                                          const SignalRegistry& registry, Diagnostics& diags,
                                          const RuleSetOptions& options);

  ~RuleSet();
  RuleSet(const RuleSet&) = delete;
  RuleSet& operator=(const RuleSet&) = delete;

  size_t state_size() const;  // bytes of per-request evaluator state (16-byte aligned)
  size_t num_segments() const;
  std::string_view segment_name(size_t i) const;
  int segment_index(std::string_view name) const;  // -1 when unknown
  size_t num_pages() const;
  std::string_view page_pattern(size_t i) const;
  std::string_view page_host(size_t i) const;
  size_t num_scores() const;
  std::string_view score_name(size_t i) const;
  bool score_has_bands(size_t i) const;
  size_t num_goals() const;
  std::string_view goal_name(size_t i) const;

  // Declarations for the experiments, tables, interests and Lua libraries.
  const std::vector<ExperimentDecl>& experiments() const;
  bool has_holdout() const;
  double holdout_percent() const;
  const std::vector<TableDecl>& tables() const;
  const std::vector<InterestDecl>& interests() const;
  const std::vector<LuaSignalDecl>& lua_signals() const;
  // Names of the registry signals the rules read (e.g. "header(\"X-Beta\")", "path").
  std::vector<std::string> used_signals() const;

  // Plugs in experiment assignment; call before sharing the rule set with request threads.
  void SetExperimentAssigner(std::shared_ptr<const ExperimentAssigner> assigner);

  // A regex scratch sized for this rule set, for one thread (config time: allocates).
  RegexScratch AllocateScratch() const;
  // Grows `scratch` so it also fits this rule set (e.g. a worker's scratch after a reload).
  bool FitScratch(RegexScratch& scratch) const;

  const CompiledRules& compiled() const { return *c_; }

 private:
  RuleSet();
  std::unique_ptr<CompiledRules> c_;
  mutable RegexScratch default_scratch_;
  friend class Evaluator;
};

struct Decision {
  int page = -1;                  // index of the matched page, -1 when none
  std::string_view page_pattern;  // as written in the rules
  std::string_view variant;       // empty when no page matched
  bool is_default = false;
};

// What `tailorc explain` shows: each rule evaluated, in evaluation order.
struct TraceEntry {
  enum class Kind : unsigned char { kPage, kVariant, kSegment, kScoreItem, kExperiment };
  Kind kind;
  int index;    // page / variant (global) / segment / score / experiment index
  int item;     // score item index, or -1
  bool result;
};

class Evaluator {  // one per request; trivially destructible; allocation-free
 public:
  // state: rules.state_size() bytes, 16-byte aligned, any content.
  Evaluator(const RuleSet& rules, EvalEnv& env, void* state);
  Evaluator(const RuleSet& rules, EvalEnv& env, void* state, RegexScratch* scratch);

  // Page match on env.request host+path, then the first matching variant (memoized).
  Decision Decide();
  int MatchPage();  // page index or -1 (memoized)
  bool InSegment(size_t i);  // lazy
  // Comma-separated names of the segments the request is in, written into env.arena ("" if
  // none or the arena is full).
  std::string_view SegmentList();
  // Whether the request reaches goal i (its condition is evaluated once per request); *value
  // (optional) is its value, or -1 when it has none (no `value`, missing, negative, or a
  // string value that is not a number).
  bool GoalReached(size_t i, double* value = nullptr);
  // "order:12.5,signup": the goals the request reaches, in declaration order, each with its
  // value in shortest form when it has one; written into env.arena ("" if none or the arena is
  // full); memoized.
  std::string_view GoalList();
  double ScorePoints(size_t i);
  std::string_view ScoreBand(size_t i);  // empty when the score has no bands
  std::string_view ExperimentVariant(size_t i);  // empty when not enrolled / no assigner
  // Experiment i's variant through its slot: computed at most once per request and then
  // seen by slot_computed() (exposures) like `experiment.NAME` in a rule. Empty: not enrolled.
  std::string_view Experiment(size_t i);

  // Explain support (not for the request path: pushing to the vector allocates).
  void set_trace(std::vector<TraceEntry>* trace) { trace_ = trace; }
  size_t num_slots() const;
  bool slot_computed(size_t i) const;
  std::string_view slot_name(size_t i) const;
  bool slot_is_signal(size_t i) const;
  const Value& slot_value(size_t i) const;

 private:
  bool Eval(uint32_t node);      // inline: a memoized node's result, else EvalNode
  bool EvalNode(uint32_t node);  // computes (and memoizes) one node
  const Value& Get(uint32_t slot);  // inline: a constant or computed slot, else GetSlow
  const Value& GetSlow(uint32_t slot);
  Value Compute(uint32_t slot);
  bool Match(uint32_t db, uint32_t id);
  bool HostMatches(std::string_view page_host) const;

  const CompiledRules* c_;
  EvalEnv* env_;
  Value* values_;
  uint64_t* flags_;
  struct hs_scratch* scratch_;
  std::vector<TraceEntry>* trace_ = nullptr;
  int page_ = -2;  // -2: not computed
  bool decided_ = false;
  Decision decision_;
  std::string_view segment_list_;
  bool segment_list_done_ = false;
  std::string_view goal_list_;
  bool goal_list_done_ = false;
};

}  // namespace tailor
