#include "experiments/experiment_assigner.h"

#include <cmath>

#include "experiments/preview_token.h"
#include "rules/rule_set.h"

namespace tailor {

namespace {

UnitKind ToUnitKind(ExperimentUnit u) {
  switch (u) {
    case ExperimentUnit::kVisitor: return UnitKind::kVisitor;
    case ExperimentUnit::kCookie: return UnitKind::kCookie;
    case ExperimentUnit::kHeader: return UnitKind::kHeader;
    case ExperimentUnit::kIp: return UnitKind::kIp;
  }
  return UnitKind::kVisitor;
}

// The verified preview token of this request. EvalEnv::preview is being added by the glue's
// work in progress; reading it through a template keeps this file building with or without
// it (simplify to `env.preview` once it is in).
template <typename Env>
const PreviewToken* PreviewOf(const Env& env) {
  if constexpr (requires { env.preview; }) {
    return env.preview;
  } else {
    return nullptr;
  }
}

uint32_t BasisPoints(double percent) {
  auto bp = PercentToBasisPoints(percent);
  // Out-of-range values become over 100 % so that Build reports them.
  return bp ? *bp : kBucketCount + 1;
}

}  // namespace

ExperimentSetSpec ExperimentSpecFromRules(const std::vector<ExperimentDecl>& decls,
                                          double holdout_percent, const std::string& file) {
  ExperimentSetSpec spec;
  spec.holdout_bp = BasisPoints(holdout_percent);
  spec.holdout_file = file;
  for (const ExperimentDecl& d : decls) {
    ExperimentSpec e;
    e.name = d.name;
    e.unit = ToUnitKind(d.unit);
    e.unit_arg = d.unit_arg;
    e.traffic_bp = BasisPoints(d.traffic_percent);
    e.layer = d.layer;
    e.layer_share_bp = d.layer.empty() ? 0 : BasisPoints(d.layer_share_percent);
    for (const ExperimentVariant& v : d.variants) {
      double hundredths = std::isfinite(v.weight) ? std::llround(v.weight * 100) : 0;
      e.variants.push_back(
          {v.name, hundredths > 0 && hundredths < 4e9 ? static_cast<uint32_t>(hundredths) : 0});
    }
    e.salt = d.salt;
    e.start = d.start;
    e.end = d.end;
    e.file = file;
    spec.experiments.push_back(std::move(e));
  }
  return spec;
}

std::optional<ExperimentSet> BuildExperimentSet(const RuleSet& rules, Diagnostics& diags,
                                                const std::string& file) {
  return ExperimentSet::Build(
      ExperimentSpecFromRules(rules.experiments(),
                              rules.has_holdout() ? rules.holdout_percent() : 0, file),
      diags);
}

std::shared_ptr<BucketingExperimentAssigner> BucketingExperimentAssigner::Create(
    const RuleSet& rules, const SignalRegistry& registry, Diagnostics& diags,
    const std::string& file) {
  auto set = BuildExperimentSet(rules, diags, file);
  if (!set) return nullptr;
  const SignalDef* bot = registry.Find("device.bot");
  if (bot != nullptr && (bot->type != ValueType::kBool || bot->arg != SignalArg::kNone)) {
    bot = nullptr;
  }
  return std::make_shared<BucketingExperimentAssigner>(std::move(*set), bot);
}

std::string_view BucketingExperimentAssigner::Assign(size_t index, const ExperimentDecl& decl,
                                                     EvalEnv& env) const {
  if (index >= set_.size()) return {};
  const Experiment& e = set_.experiment(index);
  if (const PreviewToken* preview = PreviewOf(env)) {
    // A reviewer's verified preview token wins over bucketing (the glue keeps preview
    // requests out of exposures and counters).
    int forced = preview->ForcedVariantIndex(set_, index);
    if (forced >= 0) return set_.VariantName(index, forced);
  }
  // A visitor ID or a cookie is stored on the visitor's device: both need consent.
  if ((e.unit == UnitKind::kVisitor || e.unit == UnitKind::kCookie) && !env.consent) return {};
  if (bot_ != nullptr && bot_->fn != nullptr) {
    Value is_bot = bot_->fn(SignalArgs{}, env);
    if (is_bot.type == ValueType::kBool && is_bot.boolean) return {};
  }
  auto unit = set_.UnitValue(index, env.request, env.visitor_id);
  if (!unit) return {};
  return set_.VariantName(index, set_.Assign(index, *unit));
}

}  // namespace tailor
