// The bridge between the rule language's `experiment` / `holdout` declarations
// (rules/declarations.h) and the bucketing of experiment_set.h:
//  - ExperimentSpecFromRules: the declarations as an ExperimentSetSpec (CLI, report, tests);
//  - BucketingExperimentAssigner: the rules engine's ExperimentAssigner (rules/extensions.h),
//    which answers `experiment.NAME` at request time.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "experiments/experiment_set.h"
#include "rules/declarations.h"
#include "rules/extensions.h"
#include "core/signal_registry.h"

namespace tailor {

class RuleSet;

// Declarations -> spec. Percentages become basis points (two decimals); weights become
// hundredths (so "33.33" is exact; the cut-offs do not change with the scale). `file` is used
// for diagnostics (declarations carry no line).
ExperimentSetSpec ExperimentSpecFromRules(const std::vector<ExperimentDecl>& decls,
                                          double holdout_percent, const std::string& file = {});
// The same from a compiled rule set, built and checked.
std::optional<ExperimentSet> BuildExperimentSet(const RuleSet& rules, Diagnostics& diags,
                                                const std::string& file = {});

class BucketingExperimentAssigner final : public ExperimentAssigner {
 public:
  // `bot_signal` (usually registry.Find("device.bot")) may be null: then nobody is a bot.
  BucketingExperimentAssigner(ExperimentSet set, const SignalDef* bot_signal)
      : set_(std::move(set)), bot_(bot_signal) {}

  // Builds the assigner for `rules` (call RuleSet::SetExperimentAssigner with it before the
  // rule set is shared). Null when the declarations fail ExperimentSet::Build.
  static std::shared_ptr<BucketingExperimentAssigner> Create(const RuleSet& rules,
                                                             const SignalRegistry& registry,
                                                             Diagnostics& diags,
                                                             const std::string& file = {});

  // Request time (the engine has checked audience and dates): a variant forced by a verified
  // preview token (env.preview) is returned as is; otherwise no enrolment for bots, for
  // visitor-unit experiments without consent, or without a unit value; otherwise the spec's
  // holdout / layer / traffic / variant steps. Allocation-free; the view lives as long as this
  // assigner.
  std::string_view Assign(size_t index, const ExperimentDecl& decl,
                          EvalEnv& env) const override;

  const ExperimentSet& set() const { return set_; }

 private:
  ExperimentSet set_;
  const SignalDef* bot_;
};

}  // namespace tailor
