#include "rules/checker.h"

#include <gtest/gtest.h>

#include "rules/parser.h"
#include "rules_test_util.h"

namespace tailor {
namespace {

struct Checked {
  Program p;
  Diagnostics d;
  explicit Checked(const std::string& src, TableProvider* tables = nullptr,
                   LuaSignalProvider* lua = nullptr) {
    ParseSource(p, src, "t.rules", d);
    if (d.has_errors()) return;
    CheckOptions o;
    o.registry = &TestRegistry();
    o.tables = tables;
    o.lua = lua;
    Check(p, o, d);
  }
  std::string all() const {
    std::string out;
    for (auto& x : d.items()) out += FormatDiagnosticLine(x) + "\n";
    return out;
  }
  bool Has(const std::string& text) const { return all().find(text) != std::string::npos; }
  size_t warnings() const { return d.items().size() - d.error_count(); }
};

TEST(CheckerTest, CleanV0HasNoErrors) {
  Checked c(R"(segment from_email = query("utm_medium") == "email"
segment beta = cookie("beta") == "1" or header("X-Beta") in ["yes", "1"]
page "/" { variant "a" when from_email  variant "b" when beta  default "home" }
)");
  EXPECT_FALSE(c.d.has_errors()) << c.all();
  EXPECT_EQ(c.warnings(), 0u) << c.all();
}

TEST(CheckerTest, UnknownNamesWithSuggestion) {
  Checked c("segment a = heder(\"X\") == \"1\" or bta or pth == \"/\"\nsegment beta = t.flag\n"
            "page \"/\" { variant \"x\" when a and beta }\n");
  EXPECT_EQ(c.d.error_count(), 3u) << c.all();
  EXPECT_TRUE(c.Has("t.rules:1:13: error: unknown signal 'heder' (did you mean 'header'?)"))
      << c.all();
  EXPECT_TRUE(c.Has("t.rules:1:34: error: unknown signal or segment 'bta' (did you mean 'beta'?)"))
      << c.all();
  EXPECT_TRUE(c.Has("unknown signal or segment 'pth' (did you mean 'path'?)")) << c.all();
}

TEST(CheckerTest, DuplicatesAndCycles) {
  Checked c(R"(segment a = b
segment b = c or t.flag
segment c = a
segment a = t.flag
segment path = t.flag
page "/" { variant "x" when a }
page "/" { default "y" }
)");
  EXPECT_TRUE(c.Has("t.rules:4:9: error: duplicate name 'a': already defined as a segment at t.rules:1:9"))
      << c.all();
  EXPECT_TRUE(c.Has("cycle: 'a' depends on itself (a -> b -> c -> a)")) << c.all();
  EXPECT_TRUE(c.Has("segment name 'path' is already a signal's name")) << c.all();
  EXPECT_TRUE(c.Has("t.rules:7:6: error: duplicate page \"/\"")) << c.all();
}

TEST(CheckerTest, TypeErrors) {
  Checked c(R"(segment a = t.country > 3
segment b = t.num == "x"
segment c = path
segment d = t.flag < true
segment e = t.num in ["a"]
segment f = t.num starts_with "1"
segment g = t.num ==~ 3
segment h = t.tags == "red"
segment i = t.num between "a" and "b"
page "/" { variant "x" when a or b or c or d or e or f or g or h or i }
)");
  EXPECT_TRUE(c.Has("t.rules:1:25: error: type mismatch: t.country is a string but 3 is a number"))
      << c.all();
  EXPECT_TRUE(c.Has("t.rules:2:22: error: type mismatch: t.num is a number but \"x\" is a string"));
  EXPECT_TRUE(c.Has("expected a condition (true/false) for a segment, but path is a string"));
  EXPECT_TRUE(c.Has("cannot be ordered"));
  EXPECT_TRUE(c.Has("t.rules:5:23: error: type mismatch: t.num is a number but \"a\" is a string"));
  EXPECT_TRUE(c.Has("'starts_with' needs a string, but t.num is a number"));
  EXPECT_TRUE(c.Has("'==~' and '!=~' compare strings"));
  EXPECT_TRUE(c.Has("a list cannot be compared; use 'contains'"));
  EXPECT_TRUE(c.Has("bounds of 'between'"));
  EXPECT_EQ(c.d.error_count(), 9u) << c.all();
}

TEST(CheckerTest, SignalArguments) {
  Checked c(R"(segment a = header == "1"
segment b = path("x") == "1"
segment c = header(1) == "1"
page "/" { variant "x" when a or b or c }
)");
  EXPECT_TRUE(c.Has("signal 'header' takes a name: header(\"NAME\")")) << c.all();
  EXPECT_TRUE(c.Has("signal 'path' takes no arguments")) << c.all();
  EXPECT_TRUE(c.Has("signal 'header' takes one \"string\"")) << c.all();
}

TEST(CheckerTest, BadRegexAtCheckTime) {
  Checked c(R"(segment a = path matches "^/(a|b)\1$"
segment b = path matches "(?<=x)y"
segment ok = path matches "^/p/[0-9]+$"
page matches "(" { default "x" }
page "/" { variant "x" when a or b or ok }
)");
  EXPECT_EQ(c.d.error_count(), 3u) << c.all();
  EXPECT_TRUE(c.Has("t.rules:1:18: error: bad regex")) << c.all();
  EXPECT_TRUE(c.Has("t.rules:2:18: error: bad regex")) << c.all();
  EXPECT_TRUE(c.Has("t.rules:4:14: error: bad regex")) << c.all();
}

TEST(CheckerTest, WarningsForRulesThatCanNeverMatch) {
  Checked c(R"(segment x = t.country == "a" and t.country == "b"
segment y = t.country == "FR" and t.country in ["DE", "IT"]
segment unused = t.flag
page "/" {
  variant "always" when true
  variant "never" when x or y
  default "home"
}
)");
  EXPECT_FALSE(c.d.has_errors()) << c.all();
  EXPECT_TRUE(c.Has("t.rules:1:44: warning: this condition can never be true: t.country cannot be both \"a\" and \"b\""))
      << c.all();
  EXPECT_TRUE(c.Has("t.rules:2:45: warning: this condition can never be true")) << c.all();
  EXPECT_TRUE(c.Has("t.rules:6:3: warning: variant \"never\" can never be chosen: variant \"always\" at line 5 always matches"))
      << c.all();
  EXPECT_TRUE(c.Has("t.rules:7:3: warning: the default \"home\" is never used")) << c.all();
  EXPECT_TRUE(c.Has("t.rules:3:9: warning: segment 'unused' is not used")) << c.all();
  EXPECT_EQ(c.warnings(), 5u) << c.all();
}

TEST(CheckerTest, ConstantConditionsInVariants) {
  Checked c(R"(page "/" {
  variant "off" when false and t.flag
  variant "on" when "a" == "a" or t.flag
  variant "late" when t.flag
}
)");
  EXPECT_FALSE(c.d.has_errors()) << c.all();
  EXPECT_TRUE(c.Has("t.rules:2:3: warning: variant \"off\" can never be chosen: its condition is always false"))
      << c.all();
  EXPECT_TRUE(c.Has("t.rules:4:3: warning: variant \"late\" can never be chosen: variant \"on\" at line 3 always matches"))
      << c.all();
}

TEST(CheckerTest, ScoresAndBands) {
  Checked c(R"(score intent {
  +10 when t.num >= 3
  bands low < 20 <= medium < 10 <= high
}
score plain { +1 when t.flag }
segment hot = intent == "hgh" or plain == "x" or plain.points > 1 or intent.points > "a"
page "/" { variant "x" when hot }
)");
  EXPECT_TRUE(c.Has("band thresholds must increase")) << c.all();
  EXPECT_TRUE(c.Has("score 'intent' has no band \"hgh\" (it has: low, medium, high)")) << c.all();
  EXPECT_TRUE(c.Has("score 'plain' has no bands; use plain.points")) << c.all();
  EXPECT_TRUE(c.Has("type mismatch: intent.points is a number but \"a\" is a string")) << c.all();
  EXPECT_EQ(c.d.error_count(), 4u) << c.all();
}

TEST(CheckerTest, ExperimentsChecks) {
  Checked c(R"(experiment a {
  traffic 120%
  layer home 60%
  variants { control 0, bold -1, bold 2 }
  start "2027-01-15" end "2026-12-01"
}
experiment b { layer home 50% variants { x 1 } start "2026-13-01" }
experiment a { variants { y 1 } }
page "/" { variant "v" when experiment.a == "bolder" or experiment.zz == "x" }
)");
  EXPECT_TRUE(c.Has("traffic must be above 0% and at most 100%")) << c.all();
  EXPECT_TRUE(c.Has("variant 'control' needs a positive weight, not 0")) << c.all();
  EXPECT_TRUE(c.Has("variant 'bold' needs a positive weight, not -1")) << c.all();
  EXPECT_TRUE(c.Has("variant 'bold' appears twice")) << c.all();
  EXPECT_TRUE(c.Has("end \"2026-12-01\" is before start \"2027-01-15\"")) << c.all();
  EXPECT_TRUE(c.Has("start must be a date")) << c.all();
  EXPECT_TRUE(c.Has("layer 'home' is over 100%")) << c.all();
  EXPECT_TRUE(c.Has("duplicate experiment 'a'")) << c.all();
  EXPECT_TRUE(c.Has("experiment 'a' has no variant \"bolder\"")) << c.all();
  EXPECT_TRUE(c.Has("unknown experiment 'zz'")) << c.all();
}

TEST(CheckerTest, ExperimentAudienceCycles) {
  Checked c(R"(experiment a { variants { x 1 } when experiment.b == "y" }
experiment b { variants { y 1 } when in_a }
segment in_a = experiment.a == "x"
page "/" { variant "v" when in_a }
)");
  EXPECT_TRUE(c.Has("t.rules:2:38: error: cycle: 'in_a' depends on itself (in_a -> experiment.a -> experiment.b -> in_a)"))
      << c.all();
}

TEST(CheckerTest, DeclarationsWithoutProvidersAreClearErrors) {
  Checked c(R"(table crm = csv("crm.csv", key: id)
signal loyalty = lua("l.lua") : number
segment a = crm.tier == "gold" or loyalty > 3
page "/" { variant "v" when a }
)");
  EXPECT_TRUE(c.Has("t.rules:1:7: error: tables are not available here")) << c.all();
  EXPECT_TRUE(c.Has("t.rules:2:8: error: Lua signals are not available here")) << c.all();
  EXPECT_EQ(c.d.error_count(), 2u) << c.all();  // crm.tier is not reported again
}

TEST(CheckerTest, SegmentChainsDeeperThanTheLimitAreErrors) {
  std::string src = "segment s0 = t.flag\n";
  for (int i = 1; i < 5000; ++i)
    src += "segment s" + std::to_string(i) + " = s" + std::to_string(i - 1) + "\n";
  src += "page \"/\" { variant \"v\" when s4999 }\n";
  Checked c(src);
  EXPECT_TRUE(c.Has("nested too deeply")) << c.all().substr(0, 500);
}

TEST(CheckerTest, ParseDate) {
  int64_t ms = 0;
  EXPECT_TRUE(ParseDate("1970-01-02", &ms));
  EXPECT_EQ(ms, 86400000);
  EXPECT_TRUE(ParseDate("2024-02-29", &ms));
  EXPECT_FALSE(ParseDate("2023-02-29", &ms));
  EXPECT_FALSE(ParseDate("2026-1-01", &ms));
  EXPECT_TRUE(ParseDate("2026-12-01", &ms));
  EXPECT_EQ(ms, 1796083200000);
}

}  // namespace
}  // namespace tailor

namespace tailor {
namespace {

TEST(CheckerTest, LimitsAreErrors) {
  RuleLimits limits;
  limits.max_set_size = 3;
  limits.max_regex_bytes = 10;
  limits.max_file_bytes = 200;
  Diagnostics d;
  RuleSetOptions o;
  o.limits = limits;
  auto rules = RuleSet::Compile(R"(segment a = t.country in ["a", "b", "c", "d"]
segment b = path matches "^/this/is/too/long$"
)", "t.rules", TestRegistry(), d, o);
  EXPECT_FALSE(rules);
  std::string all;
  for (auto& x : d.items()) all += FormatDiagnosticLine(x) + "\n";
  EXPECT_NE(all.find("t.rules:1:42: error: list longer than the limit of 3 items"), std::string::npos) << all;
  EXPECT_NE(all.find("t.rules:2:18: error: bad regex: longer than the limit of 10 bytes"), std::string::npos) << all;
  Diagnostics d2;
  rules = RuleSet::Compile(std::string(300, '#'), "big.rules", TestRegistry(), d2, o);
  EXPECT_FALSE(rules);
  ASSERT_EQ(d2.error_count(), 1u);
  EXPECT_NE(d2.items()[0].message.find("larger than the limit of 200 bytes"), std::string::npos);
}

TEST(CheckerTest, Goals) {
  Checked ok(R"(segment beta = t.flag
goal order when path == "/order/done" value query("total")
goal signup when path == "/account/welcome" and not beta
goal n when beta value t.num
goal lit when true value 3
)");
  EXPECT_FALSE(ok.d.has_errors()) << ok.all();
  EXPECT_EQ(ok.warnings(), 0u) << ok.all();  // a segment used only by a goal is used
  Checked c(R"(goal a when pth == "/x"
goal c when true value t.flag
goal a when true
goal d when query("x") value t.nope
goal f when true value (t.num)
)");
  EXPECT_EQ(c.d.error_count(), 6u) << c.all();
  EXPECT_TRUE(c.Has("t.rules:1:13: error: unknown signal or segment 'pth' (did you mean 'path'?)"))
      << c.all();
  EXPECT_TRUE(c.Has("t.rules:2:24: error: a goal's value must be a number or a string holding "
                    "one, but t.flag is a bool"))
      << c.all();
  EXPECT_TRUE(c.Has("t.rules:3:6: error: duplicate goal 'a': already defined at t.rules:1:6"))
      << c.all();
  EXPECT_TRUE(c.Has("t.rules:4:13: error: expected a condition (true/false) for a goal"))
      << c.all();
  EXPECT_TRUE(c.Has("t.rules:4:30: error: unknown signal"))  << c.all();
  EXPECT_TRUE(c.Has("t.rules:5:25: error: a goal's value is one number or signal, without parentheses"))
      << c.all();
  // A goal's name is its own: it may be a segment's name too, and nothing refers to it.
  Checked names("segment order = t.flag\ngoal order when order\n");
  EXPECT_FALSE(names.d.has_errors()) << names.all();
}

}  // namespace
}  // namespace tailor
