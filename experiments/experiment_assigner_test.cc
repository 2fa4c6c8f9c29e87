#include "experiments/experiment_assigner.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "experiments/preview_token.h"
#include "rules/rule_set.h"
#include "signals/request_signals.h"

namespace tailor {
namespace {

// A registry with the request signals and a stand-in `device.bot` (true when the request has
// an `X-Bot` header), so the test controls who is a bot without the UA classifier.
Value FakeBot(const SignalArgs&, EvalEnv& env) {
  return Value::Bool(env.request.FindHeader("X-Bot").has_value());
}

const SignalRegistry& TestRegistry() {
  static const SignalRegistry registry = [] {
    SignalRegistry r;
    RegisterRequestSignals(r);
    SignalDef bot;
    bot.name = "device.bot";
    bot.type = ValueType::kBool;
    bot.fn = FakeBot;
    bot.doc = "test bot";
    bot.example = "device.bot";
    r.Add(bot);
    return r;
  }();
  return registry;
}

constexpr char kRules[] = R"(
holdout 5%
experiment hero {
  unit visitor
  traffic 60%
  layer homepage 50%
  variants { control 50, bold 50 }
  when not device.bot and header("X-Country") in ["FR", "BE"]
  salt "hero-2026"
}
experiment banner {
  layer homepage 30%
  variants { a 1, b 1, c 1 }
}
experiment pricing {
  traffic 25%
  variants { control 90, cheap 10 }
  start "2026-01-01" end "2026-12-31"
}
page "/" { variant "home-bold" when experiment.hero == "bold"  default "home" }
)";

struct Fixture {
  std::shared_ptr<RuleSet> rules;
  std::shared_ptr<BucketingExperimentAssigner> assigner;
};

Fixture Load() {
  Fixture f;
  Diagnostics diags;
  f.rules = RuleSet::Compile(kRules, "test.rules", TestRegistry(), diags, RuleSetOptions());
  for (const Diagnostic& d : diags.items()) ADD_FAILURE() << FormatDiagnosticLine(d);
  if (!f.rules) return f;
  f.assigner = BucketingExperimentAssigner::Create(*f.rules, TestRegistry(), diags, "test.rules");
  for (const Diagnostic& d : diags.items()) ADD_FAILURE() << FormatDiagnosticLine(d);
  if (f.assigner) f.rules->SetExperimentAssigner(f.assigner);
  return f;
}

// EvalEnv::preview is the glue's work in progress: set it when the field exists.
template <typename Env>
bool SetPreview(Env& env, const PreviewToken* preview) {
  if constexpr (requires { env.preview; }) {
    env.preview = preview;
    return true;
  } else {
    return false;
  }
}
template <typename Env>
constexpr bool HasPreviewField() {
  return requires(Env& e) { e.preview; };
}

// Evaluates one request and returns experiment `index`'s variant ("-" when not enrolled) and
// the page variant.
struct Outcome {
  std::string experiment;
  std::string page_variant;
};
Outcome Evaluate(const Fixture& f, size_t index, std::string_view visitor,
            std::vector<HeaderField> headers, bool consent = true,
            int64_t now_ms = 1790000000000 /* 2026-09-21 */,
            const PreviewToken* preview = nullptr) {
  RequestView req;
  req.method = "GET";
  req.scheme = "https";
  req.host = "shop.example";
  req.path = "/";
  req.headers = headers;
  req.client_ip = "203.0.113.9";
  req.now_ms = now_ms;
  Services services;
  alignas(16) static char arena_buf[4096];
  Arena arena(arena_buf, sizeof arena_buf);
  std::vector<std::max_align_t> memo_buf(TestRegistry().memo_size() / sizeof(std::max_align_t) + 1);
  RequestMemo memo(memo_buf.data(), memo_buf.size() * sizeof(std::max_align_t));
  EvalEnv env{req, services, arena, memo, visitor, consent};
  SetPreview(env, preview);
  std::vector<std::max_align_t> state(f.rules->state_size() / sizeof(std::max_align_t) + 2);
  Evaluator ev(*f.rules, env, state.data());
  Outcome o;
  std::string_view v = ev.ExperimentVariant(index);
  o.experiment = v.empty() ? "-" : std::string(v);
  o.page_variant = std::string(ev.Decide().variant);
  return o;
}

TEST(ExperimentAssignerTest, RulesDeclarationsBecomeTheSpec) {
  Fixture f = Load();
  ASSERT_TRUE(f.assigner);
  const ExperimentSet& set = f.assigner->set();
  ASSERT_EQ(set.size(), 3u);
  EXPECT_EQ(set.holdout_bp(), 500u);
  EXPECT_EQ(set.experiment(0).salt, "hero-2026");
  EXPECT_EQ(set.experiment(0).traffic_bp, 6000u);
  EXPECT_EQ(set.experiment(0).layer_end, 5000u);
  EXPECT_EQ(set.experiment(1).layer_begin, 5000u);
  EXPECT_EQ(set.experiment(1).layer_end, 8000u);
  EXPECT_EQ(set.experiment(1).salt, "banner");
  EXPECT_EQ(set.experiment(2).variant_cutoffs, (std::vector<uint32_t>{9000, 10000}));
}

TEST(ExperimentAssignerTest, AgreesWithTheSpecVectorsThroughTheRulesEngine) {
  Fixture f = Load();
  ASSERT_TRUE(f.assigner);
  // Same IDs as the spec vectors (docs/experiments.md): hero is "bold" for v_0002,
  // "control" for v_0004, not enrolled for v_0001 (other layer slot), v_0009 (holdout),
  // v_0005 (traffic).
  std::vector<HeaderField> fr = {{"X-Country", "FR"}};
  EXPECT_EQ(Evaluate(f, 0, "v_0002", fr).experiment, "bold");
  EXPECT_EQ(Evaluate(f, 0, "v_0002", fr).page_variant, "home-bold");
  EXPECT_EQ(Evaluate(f, 0, "v_0004", fr).experiment, "control");
  EXPECT_EQ(Evaluate(f, 0, "v_0004", fr).page_variant, "home");
  EXPECT_EQ(Evaluate(f, 0, "v_0001", fr).experiment, "-");
  EXPECT_EQ(Evaluate(f, 0, "v_0009", fr).experiment, "-");
  EXPECT_EQ(Evaluate(f, 0, "v_0005", fr).experiment, "-");
  EXPECT_EQ(Evaluate(f, 1, "v_0001", {}).experiment, "c");
  EXPECT_EQ(Evaluate(f, 2, "v_0003", {}).experiment, "control");
}

TEST(ExperimentAssignerTest, AudienceBotsConsentAndDatesAreRespected) {
  Fixture f = Load();
  ASSERT_TRUE(f.assigner);
  int enrolled_fr = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string id = "visitor-" + std::to_string(i);
    Outcome fr = Evaluate(f, 0, id, {{"X-Country", "FR"}});
    if (fr.experiment != "-") ++enrolled_fr;
    // Audience: outside FR/BE nobody enrols.
    EXPECT_EQ(Evaluate(f, 0, id, {{"X-Country", "DE"}}).experiment, "-");
    EXPECT_EQ(Evaluate(f, 0, id, {}).experiment, "-");
    // Bots never enrol, even in the audience.
    EXPECT_EQ(Evaluate(f, 0, id, {{"X-Country", "FR"}, {"X-Bot", "1"}}).experiment, "-");
    // Without consent a visitor-unit experiment does not enrol (docs/privacy.md).
    EXPECT_EQ(Evaluate(f, 0, id, {{"X-Country", "FR"}}, /*consent=*/false).experiment, "-");
    // Dates: pricing runs during 2026 only.
    Outcome in2026 = Evaluate(f, 2, id, {});
    Outcome in2027 = Evaluate(f, 2, id, {}, true, 1800000000000 /* 2027-01-15 */);
    EXPECT_EQ(in2027.experiment, "-");
    // When enrolled, the rules engine agrees with the spec's Assign.
    const ExperimentSet& set = f.assigner->set();
    EXPECT_EQ(fr.experiment, set.Assign(0, id) < 0 ? "-" : std::string(set.VariantName(0, set.Assign(0, id))));
    EXPECT_EQ(in2026.experiment, set.Assign(2, id) < 0 ? "-" : std::string(set.VariantName(2, set.Assign(2, id))));
  }
  // 95 % not held out × 50 % layer slot × 60 % traffic ≈ 28.5 % of the audience.
  EXPECT_NEAR(enrolled_fr, 570, 80);
}

TEST(ExperimentAssignerTest, PreviewTokensForceVariants) {
  if (!HasPreviewField<EvalEnv>()) GTEST_SKIP() << "EvalEnv has no preview field yet";
  Fixture f = Load();
  ASSERT_TRUE(f.assigner);
  PreviewKey key = DerivePreviewKey("preview-test-secret");
  // Valid for a day after the evaluations' clock (tokens live at most 30 days).
  auto token = MakePreviewToken(key, {{"hero", "control"}, {"banner", "a"}, {"pricing", "nope"}},
                                "", 1790000000 + 86400);
  ASSERT_TRUE(token.ok());
  char scratch[kPreviewScratchSize];
  PreviewToken preview;
  ASSERT_EQ(VerifyPreviewToken(token.value(), key, 1790000000000, scratch, &preview),
            PreviewStatus::kOk);
  std::vector<HeaderField> fr = {{"X-Country", "FR"}};
  const int64_t now = 1790000000000;
  // v_0002 is bucketed into "bold"; the token forces "control", even for a held-out unit.
  EXPECT_EQ(Evaluate(f, 0, "v_0002", fr).experiment, "bold");
  EXPECT_EQ(Evaluate(f, 0, "v_0002", fr, true, now, &preview).experiment, "control");
  EXPECT_EQ(Evaluate(f, 0, "v_0002", fr, true, now, &preview).page_variant, "home");
  EXPECT_EQ(Evaluate(f, 0, "v_0009", fr, true, now, &preview).experiment, "control");
  // The audience (here `not device.bot and ...`) is still checked by the rules engine.
  EXPECT_EQ(Evaluate(f, 0, "v_0002", {{"X-Country", "DE"}}, true, now, &preview).experiment, "-");
  EXPECT_EQ(Evaluate(f, 0, "v_0002", {{"X-Country", "FR"}, {"X-Bot", "1"}}, true, now, &preview)
                .experiment,
            "-");
  // banner has no audience: the assigner's own bot and consent checks give way to the token.
  EXPECT_EQ(Evaluate(f, 1, "v_0001", {}).experiment, "c");
  EXPECT_EQ(Evaluate(f, 1, "v_0001", {{"X-Bot", "1"}}).experiment, "-");
  EXPECT_EQ(Evaluate(f, 1, "v_0001", {}, false).experiment, "-");
  EXPECT_EQ(Evaluate(f, 1, "v_0001", {{"X-Bot", "1"}}, false, now, &preview).experiment, "a");
  // A variant the experiment does not have: normal bucketing.
  EXPECT_EQ(Evaluate(f, 2, "v_0003", {}, true, now, &preview).experiment, "control");
}

TEST(ExperimentAssignerTest, NonVisitorUnitsIgnoreTheVisitorId) {
  Diagnostics diags;
  auto rules = RuleSet::Compile(R"(
experiment byip { unit ip variants { a 1, b 1 } }
experiment bycookie { unit cookie("acct") variants { a 1, b 1 } }
)",
                                "units.rules", TestRegistry(), diags, RuleSetOptions());
  ASSERT_TRUE(rules) << (diags.items().empty() ? "" : FormatDiagnosticLine(diags.items()[0]));
  auto assigner = BucketingExperimentAssigner::Create(*rules, TestRegistry(), diags);
  ASSERT_TRUE(assigner);
  rules->SetExperimentAssigner(assigner);
  Fixture f{rules, assigner};
  const ExperimentSet& set = assigner->set();
  std::string by_ip(set.VariantName(0, set.Assign(0, "203.0.113.9")));
  EXPECT_EQ(Evaluate(f, 0, "anyone", {}).experiment, by_ip);
  EXPECT_EQ(Evaluate(f, 0, "", {}, /*consent=*/false).experiment, by_ip);  // not a visitor unit
  std::string by_cookie(set.VariantName(1, set.Assign(1, "42")));
  EXPECT_EQ(Evaluate(f, 1, "x", {{"Cookie", "acct=42"}}).experiment, by_cookie);
  EXPECT_EQ(Evaluate(f, 1, "x", {}).experiment, "-");  // no cookie: not enrolled
  // A cookie is stored on the visitor's device like the visitor ID: no consent, no enrolment.
  EXPECT_EQ(Evaluate(f, 1, "x", {{"Cookie", "acct=42"}}, /*consent=*/false).experiment, "-");
}

}  // namespace
}  // namespace tailor
