#include "rules/rule_set.h"

#include "rules/checker.h"
#include "rules/compiled.h"
#include "rules/compiler.h"
#include "rules/parser.h"

namespace tailor {

RuleSet::RuleSet() = default;
RuleSet::~RuleSet() = default;

std::shared_ptr<RuleSet> RuleSet::Compile(std::string_view source, const std::string& file_name,
                                          const SignalRegistry& registry, Diagnostics& diags,
                                          const RuleSetOptions& options) {
  Program program;
  ParseOptions po;
  po.limits = options.limits;
  po.follow_includes = options.follow_includes;
  ParseSource(program, source, file_name, diags, po);
  if (!options.follow_includes && !program.includes.empty()) {
    const IncludeAst& inc = program.includes.front();
    diags.Error(file_name, inc.loc.line, inc.loc.col, "include is not allowed here");
  }
  std::unique_ptr<CompiledRules> compiled;
  // The checker runs even after syntax errors (on what did parse), so one run reports every
  // mistake; names whose declaration is broken are not reported again.
  CheckOptions co;
  co.registry = &registry;
  co.tables = options.tables.get();
  co.lua = options.lua.get();
  co.limits = options.limits;
  Check(program, co, diags);
  if (diags.has_errors()) return nullptr;
  compiled = CompileProgram(program, registry, diags);
  if (!compiled || diags.has_errors()) return nullptr;
  compiled->table_provider = options.tables;
  compiled->lua_provider = options.lua;
  std::shared_ptr<RuleSet> rs(new RuleSet());
  rs->c_ = std::move(compiled);
  if (!rs->FitScratch(rs->default_scratch_)) {
    diags.Error(file_name, 0, 0, "cannot allocate regex scratch space");
    return nullptr;
  }
  return rs;
}

std::shared_ptr<RuleSet> RuleSet::Load(const std::string& path, const SignalRegistry& registry,
                                       Diagnostics& diags, const RuleSetOptions& options) {
  Result<std::string> text = ReadRulesFile(path, options.limits.max_file_bytes);
  if (!text.ok()) {
    diags.Error(path, 0, 0, text.status().message());
    return nullptr;
  }
  return Compile(text.value(), path, registry, diags, options);
}

std::shared_ptr<const RuleSet> RuleSet::LoadFile(const std::string& path,
                                                 const SignalRegistry& registry,
                                                 Diagnostics& diags) {
  return Load(path, registry, diags, RuleSetOptions());
}

std::shared_ptr<const RuleSet> RuleSet::CompileString(std::string_view source,
                                                      const std::string& file_name,
                                                      const SignalRegistry& registry,
                                                      Diagnostics& diags) {
  return Compile(source, file_name, registry, diags, RuleSetOptions());
}

size_t RuleSet::state_size() const { return c_->state_size; }
size_t RuleSet::num_goals() const { return c_->goals.size(); }
std::string_view RuleSet::goal_name(size_t i) const { return c_->goals[i].name; }
size_t RuleSet::num_segments() const { return c_->segment_names.size(); }
std::string_view RuleSet::segment_name(size_t i) const { return c_->segment_names[i]; }
int RuleSet::segment_index(std::string_view name) const {
  for (size_t i = 0; i < c_->segment_names.size(); ++i)
    if (c_->segment_names[i] == name) return static_cast<int>(i);
  return -1;
}
size_t RuleSet::num_pages() const { return c_->pages.size(); }
std::string_view RuleSet::page_pattern(size_t i) const { return c_->pages[i].pattern; }
std::string_view RuleSet::page_host(size_t i) const { return c_->pages[i].host; }
size_t RuleSet::num_scores() const { return c_->scores.size(); }
std::string_view RuleSet::score_name(size_t i) const { return c_->scores[i].name; }
bool RuleSet::score_has_bands(size_t i) const { return !c_->scores[i].bands.empty(); }
const std::vector<ExperimentDecl>& RuleSet::experiments() const { return c_->experiments; }
bool RuleSet::has_holdout() const { return c_->has_holdout; }
double RuleSet::holdout_percent() const { return c_->holdout_percent; }
const std::vector<TableDecl>& RuleSet::tables() const { return c_->tables; }
const std::vector<InterestDecl>& RuleSet::interests() const { return c_->interests; }
const std::vector<LuaSignalDecl>& RuleSet::lua_signals() const { return c_->lua_signals; }

std::vector<std::string> RuleSet::used_signals() const {
  std::vector<std::string> out;
  for (const Slot& s : c_->slots)
    if (s.kind == Slot::Kind::kSignal) out.emplace_back(s.name);
  return out;
}

void RuleSet::SetExperimentAssigner(std::shared_ptr<const ExperimentAssigner> assigner) {
  c_->assigner = std::move(assigner);
}

RegexScratch RuleSet::AllocateScratch() const {
  RegexScratch s;
  FitScratch(s);
  return s;
}

bool RuleSet::FitScratch(RegexScratch& scratch) const {
  bool ok = scratch.Fit(c_->page_regexes.database());
  for (const RegexSet& db : c_->regex_dbs) ok = scratch.Fit(db.database()) && ok;
  return ok;
}

}  // namespace tailor
