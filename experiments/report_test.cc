#include "experiments/report.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace tailor {
namespace {

std::string Line(int64_t t, std::string_view visitor, std::string_view experiments,
                 std::string_view uri, int status = 200) {
  return "{\"time\":\"" + std::to_string(t) + "\",\"visitor_hash\":\"" + std::string(visitor) +
         "\",\"experiments\":\"" + std::string(experiments) + "\",\"variant\":\"p\",\"uri\":\"" +
         std::string(uri) + "\",\"status\":\"" + std::to_string(status) + "\"}";
}

// A log with known counts, built by construction (not by the code under test):
//   control: 1000 visitors exposed, 100 convert; bold: 1000 exposed, 130 convert.
// Non-conversions that look like conversions: goal before the first exposure, goal answered
// 404, a goal-less second exposure. Noise: 5 visitors in both variants (left out), other
// experiments, pages without exposure, lines without visitor, bad lines. Lines are shuffled:
// the report must not depend on log order.
struct Scenario {
  std::vector<std::string> lines;
  uint64_t bad = 0;
  uint64_t without_visitor = 0;
};

Scenario KnownScenario() {
  Scenario s;
  const int64_t t0 = 1795459603;
  for (int arm = 0; arm < 2; ++arm) {
    const std::string variant = arm == 0 ? "control" : "bold";
    const int converters = arm == 0 ? 100 : 130;
    for (int i = 0; i < 1000; ++i) {
      std::string v = variant + "-" + std::to_string(i);
      int64_t t = t0 + i * 10;
      s.lines.push_back(Line(t, v, "pricing:cheap,hero:" + variant, "/"));
      if (i < converters) {
        // Converted: goal after exposure (query string and a deeper path on some).
        s.lines.push_back(Line(t + 5, v, "", i % 2 ? "/checkout/done?order=1" : "/checkout/a/b"));
        if (i % 3 == 0) s.lines.push_back(Line(t + 7, v, "", "/checkout/done"));  // twice
      } else if (i < converters + 50) {
        s.lines.push_back(Line(t - 5, v, "", "/checkout/done"));  // before exposure
      } else if (i < converters + 70) {
        s.lines.push_back(Line(t + 5, v, "", "/checkout/done", 404));  // failed goal
      } else if (i < converters + 90) {
        s.lines.push_back(Line(t + 100, v, "hero:" + variant, "/"));  // exposed again
      } else if (i < converters + 100) {
        s.lines.push_back(Line(t + 5, v, "", "/checkoutx"));  // not the goal
      }
      s.lines.push_back(Line(t + 1, v, "pricing:control", "/pricing"));
    }
  }
  for (int i = 0; i < 5; ++i) {  // in both variants: excluded
    std::string v = "both-" + std::to_string(i);
    s.lines.push_back(Line(t0 + i, v, "hero:control", "/"));
    s.lines.push_back(Line(t0 + i + 1, v, "hero:bold", "/"));
    s.lines.push_back(Line(t0 + i + 2, v, "", "/checkout/done"));
  }
  for (int i = 0; i < 4; ++i) {
    s.lines.push_back(Line(t0 + i, "", "hero:bold", "/checkout/done"));
    ++s.without_visitor;
  }
  for (const char* bad : {"garbage", "", "{\"uri\":\"/\"}", "{\"time\":\"x\"}", "{\"time\":"}) {
    s.lines.push_back(bad);
    ++s.bad;
  }
  std::mt19937 rng(42);
  std::shuffle(s.lines.begin(), s.lines.end(), rng);
  return s;
}

TEST(ReportTest, KnownCountsAndStatistics) {
  Scenario s = KnownScenario();
  ReportOptions o;
  o.experiment = "hero";
  o.goal = "/checkout/*";
  o.variants = {"control", "bold"};
  o.weights = {50, 50};
  ExperimentReport report(o);
  for (const std::string& l : s.lines) report.AddLine(l);
  ReportResult r = report.Finish();

  EXPECT_EQ(r.lines, s.lines.size());
  EXPECT_EQ(r.bad_lines, s.bad);
  EXPECT_EQ(r.lines_without_visitor, s.without_visitor);
  EXPECT_EQ(r.visitors_in_several_variants, 5u);
  EXPECT_EQ(r.unknown_variant_lines, 0u);
  ASSERT_EQ(r.variants.size(), 2u);
  const VariantResult& c = r.variants[0];
  const VariantResult& b = r.variants[1];
  EXPECT_EQ(c.name, "control");
  EXPECT_EQ(c.visitors, 1000u);
  EXPECT_EQ(c.converters, 100u);
  EXPECT_EQ(b.name, "bold");
  EXPECT_EQ(b.visitors, 1000u);
  EXPECT_EQ(b.converters, 130u);
  EXPECT_DOUBLE_EQ(c.rate, 0.1);
  EXPECT_DOUBLE_EQ(b.rate, 0.13);
  // SciPy 1.10.1: binomtest(k, n).proportion_ci(method="wilson"), and
  // chi2_contingency([[100, 900], [130, 870]], correction=False) for the z-test p-value.
  EXPECT_NEAR(c.rate_ci.low, 0.08290944359309571, 1e-12);
  EXPECT_NEAR(c.rate_ci.high, 0.1201519631953484, 1e-12);
  EXPECT_NEAR(b.rate_ci.low, 0.1105637746248419, 1e-12);
  EXPECT_NEAR(b.rate_ci.high, 0.15226802665446887, 1e-12);
  EXPECT_FALSE(c.uplift_abs);
  EXPECT_FALSE(c.p_value);
  ASSERT_TRUE(b.uplift_abs && b.uplift_rel && b.p_value);
  EXPECT_NEAR(*b.uplift_abs, 0.03, 1e-12);
  EXPECT_NEAR(*b.uplift_rel, 0.3, 1e-12);
  EXPECT_NEAR(*b.p_value, 0.03548845046647463, 1e-12);
  // 1000 / 1000 against 50 / 50: chi-square 0, p 1, no mismatch.
  EXPECT_NEAR(r.srm.statistic, 0, 1e-12);
  EXPECT_NEAR(r.srm.p_value, 1, 1e-12);
  EXPECT_FALSE(r.srm_flag);

  std::string text = FormatReportText(r);
  EXPECT_NE(text.find("control"), std::string::npos);
  EXPECT_NE(text.find("13.00%"), std::string::npos) << text;
  EXPECT_NE(text.find("+30.0%"), std::string::npos) << text;
  EXPECT_NE(text.find("0.0355"), std::string::npos) << text;
  EXPECT_EQ(text.find("MISMATCH"), std::string::npos) << text;
  std::string json = FormatReportJson(r);
  EXPECT_NE(json.find("\"name\":\"bold\",\"expected_share\":0.5,\"visitors\":1000,"
                      "\"converters\":130,\"rate\":0.13"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"mismatch\":false"), std::string::npos) << json;
}

TEST(ReportTest, SampleRatioMismatchDependsOnConfiguredWeights) {
  std::vector<std::string> lines;
  for (int i = 0; i < 2200; ++i) {
    std::string variant = i < 1000 ? "control" : "bold";
    lines.push_back(Line(1795459603 + i, "v" + std::to_string(i), "hero:" + variant, "/"));
  }
  ReportOptions o;
  o.experiment = "hero";
  o.goal = "/thanks";
  {
    // No configured variants: equal weights, variants from the log, "control" first.
    ExperimentReport report(o);
    for (const std::string& l : lines) report.AddLine(l);
    ReportResult r = report.Finish();
    ASSERT_EQ(r.variants.size(), 2u);
    EXPECT_EQ(r.variants[0].name, "control");
    EXPECT_FALSE(r.weights_configured);
    // SciPy: chisquare([1000, 1200]) -> statistic 18.1818..., p 2.007865612426481e-05.
    EXPECT_NEAR(r.srm.statistic, 18.181818181818183, 1e-9);
    EXPECT_NEAR(r.srm.p_value, 2.007865612426481e-05, 1e-12);
    EXPECT_TRUE(r.srm_flag);
    EXPECT_NE(FormatReportText(r).find("SAMPLE RATIO MISMATCH"), std::string::npos);
    EXPECT_NE(FormatReportJson(r).find("\"mismatch\":true"), std::string::npos);
    // No conversions at all: rates 0, relative uplift undefined, p-value 1.
    EXPECT_EQ(r.variants[1].converters, 0u);
    EXPECT_FALSE(r.variants[1].uplift_rel);
    EXPECT_EQ(r.variants[1].p_value, 1.0);
  }
  {
    // Configured 5:6: exactly what was observed.
    o.variants = {"control", "bold"};
    o.weights = {5, 6};
    ExperimentReport report(o);
    for (const std::string& l : lines) report.AddLine(l);
    ReportResult r = report.Finish();
    EXPECT_NEAR(r.srm.p_value, 1, 1e-12);
    EXPECT_FALSE(r.srm_flag);
    EXPECT_NEAR(r.variants[1].expected_share, 6.0 / 11, 1e-12);
  }
  {
    // A variant missing from the configuration is counted, not invented.
    o.variants = {"control"};
    o.weights = {1};
    ExperimentReport report(o);
    for (const std::string& l : lines) report.AddLine(l);
    ReportResult r = report.Finish();
    EXPECT_EQ(r.unknown_variant_lines, 1200u);
    ASSERT_EQ(r.variants.size(), 1u);
    EXPECT_EQ(r.variants[0].visitors, 1000u);
  }
}

TEST(ReportTest, EqualTimestampsFallBackToLogOrder) {
  // Second-resolution logs: exposure and goal in the same second count in log order.
  ReportOptions o;
  o.experiment = "hero";
  o.goal = "/buy";
  ExperimentReport report(o);
  report.AddLine(Line(100, "a", "hero:control", "/"));
  report.AddLine(Line(100, "a", "", "/buy"));   // after, same second: converts
  report.AddLine(Line(200, "b", "", "/buy"));   // before, same second: does not
  report.AddLine(Line(200, "b", "hero:control", "/"));
  report.AddLine(Line(300, "c", "hero:control", "/buy"));  // the exposure itself: does not
  ReportResult r = report.Finish();
  ASSERT_EQ(r.variants.size(), 1u);
  EXPECT_EQ(r.variants[0].visitors, 3u);
  EXPECT_EQ(r.variants[0].converters, 1u);
  EXPECT_EQ(r.srm.degrees_of_freedom, 0);
  EXPECT_FALSE(r.srm_flag);
}

TEST(ReportTest, ManyVisitorsGrowTheTable) {
  ReportOptions o;
  o.experiment = "e";
  o.goal = "/g";
  ExperimentReport report(o);
  const int n = 300000;  // several table growths
  for (int i = 0; i < n; ++i) {
    std::string v = "visitor" + std::to_string(i);
    report.AddLine(Line(1000 + i, v, i % 2 ? "e:b" : "e:a", "/"));
    if (i % 10 == 0) report.AddLine(Line(2000 + i, v, "", "/g"));
  }
  ReportResult r = report.Finish();
  ASSERT_EQ(r.variants.size(), 2u);
  EXPECT_EQ(r.variants[0].name, "a");
  EXPECT_EQ(r.variants[0].visitors, 150000u);
  EXPECT_EQ(r.variants[0].converters, 30000u);  // i even and i % 10 == 0
  EXPECT_EQ(r.variants[1].visitors, 150000u);
  EXPECT_EQ(r.variants[1].converters, 0u);
}

TEST(ReportTest, GoalPatterns) {
  EXPECT_TRUE(GoalPathMatch("/thanks", "/thanks"));
  EXPECT_FALSE(GoalPathMatch("/thanks", "/thanks/"));
  EXPECT_TRUE(GoalPathMatch("/checkout/*", "/checkout/done"));
  EXPECT_TRUE(GoalPathMatch("/checkout/*", "/checkout/a/b"));  // a final '*' takes the rest
  EXPECT_TRUE(GoalPathMatch("/p/*/buy", "/p/x/buy"));
  EXPECT_FALSE(GoalPathMatch("/p/*/buy", "/p/x/y/buy"));  // an inner '*' stays in its segment
  EXPECT_TRUE(GoalPathMatch("/p/*.html", "/p/a.html"));
  EXPECT_FALSE(GoalPathMatch("/p/*.html", "/p/a/b.html"));
  EXPECT_FALSE(GoalPathMatch("/checkout/*", "/checkoutx"));
  EXPECT_TRUE(GoalPathMatch("*", "/anything/at/all"));
}

}  // namespace
}  // namespace tailor
