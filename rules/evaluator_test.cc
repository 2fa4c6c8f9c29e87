// End-to-end tests of the rule language through RuleSet and Evaluator.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include <memory>
#include <string>
#include <vector>

#include "core/file.h"
#include "rules/rule_set.h"
#include "rules_test_util.h"

#include <cstdint>
#include <cstring>

namespace tailor {
namespace {

// The demo rules (examples/demo.rules, README.md's "Rules at a glance"), read from the
// repository so the tests check the file the demo serves.
std::string DemoRules() {
  Result<std::string> text =
      ReadFileLimited(std::string(TAILOR_SOURCE_DIR) + "/examples/demo.rules", 1 << 20);
  EXPECT_TRUE(text.ok()) << text.status().message();
  return text.ok() ? std::move(text).value() : std::string();
}

TEST(EvaluatorTest, V0Decisions) {
  RulesFixture f(DemoRules());
  ASSERT_TRUE(f.rules) << f.errors();
  EXPECT_EQ(f.Decide("/").variant, "home");
  EXPECT_TRUE(f.Decide("/").is_default);
  EXPECT_EQ(f.Decide("/?utm_medium=email").variant, "home-email");
  EXPECT_EQ(f.Decide("/", {{"Cookie", "beta=1"}}).variant, "home-beta");
  EXPECT_EQ(f.Decide("/", {{"X-Beta", "yes"}}).variant, "home-beta");
  EXPECT_EQ(f.Decide("/", {{"X-Beta", "no"}}).variant, "home");
  // first match wins
  EXPECT_EQ(f.Decide("/?utm_medium=email", {{"Cookie", "beta=1"}}).variant, "home-email");
  EXPECT_EQ(f.Decide("/shop/shoes").variant, "shop");
  EXPECT_EQ(f.Decide("/shop/shoes", {{"Cookie", "beta=1"}}).variant, "shop-beta");
  Decision none = f.Decide("/about");
  EXPECT_EQ(none.page, -1);
  EXPECT_EQ(none.variant, "");
  EXPECT_EQ(f.Decide("/shop/x").page_pattern, "/shop/*");
}

TEST(EvaluatorTest, V0SegmentList) {
  RulesFixture f(DemoRules());
  ASSERT_TRUE(f.rules) << f.errors();
  EXPECT_EQ(f.Segments("/shop/a"), "shop");
  EXPECT_EQ(f.Segments("/shop/a?utm_medium=email"), "from_email,shop");
  EXPECT_EQ(f.Segments("/shop/a", {{"Cookie", "beta=1"}}), "beta");
  EXPECT_EQ(f.Segments("/"), "");
}

}  // namespace
}  // namespace tailor

namespace tailor {
namespace {

TEST(EvaluatorTest, PagesMostSpecificWinsTiesByFileOrder) {
  RulesFixture f(R"(page "/*" { default "any" }
page "/shop/*" { default "shop" }
page "/shop/sale/*" { default "sale" }
page "/shop/sale/now" { default "exact" }
page "/p/*/reviews" { default "reviews" }
page "/p/*" { default "p" }
page "/x/*" { default "first" }
page "/x/*" { default "dup" }
page matches "^/r/[0-9]+$" { default "regex" }
page "/h/*" host "a.example.com" { default "host-a" }
page "/h/*" { default "any-host" }
page "/w/*" host "*.example.com" { default "wild-host" }
)");
  // the duplicate "/x/*" is an error; drop it
  ASSERT_FALSE(f.rules);
  RulesFixture g(R"(page "/*" { default "any" }
page "/shop/*" { default "shop" }
page "/shop/sale/*" { default "sale" }
page "/shop/sale/now" { default "exact" }
page "/p/*/reviews" { default "reviews" }
page "/p/*" { default "p" }
page matches "^/r/[0-9]+$" { default "regex" }
page "/h/*" host "a.example.com" { default "host-a" }
page "/h/*" { default "any-host" }
page "/w/*" host "*.example.com" { default "wild-host" }
page "/t/*/x" { default "t1" }
page "/*/*/x" { default "t2" }
)");
  ASSERT_TRUE(g.rules) << g.errors();
  EXPECT_EQ(g.Decide("/shop/sale/now").variant, "exact");
  EXPECT_EQ(g.Decide("/shop/sale/later").variant, "sale");
  EXPECT_EQ(g.Decide("/shop/shoes").variant, "shop");
  EXPECT_EQ(g.Decide("/shop/").variant, "shop");
  EXPECT_EQ(g.Decide("/shop").variant, "any");
  EXPECT_EQ(g.Decide("/p/123/reviews").variant, "reviews");
  EXPECT_EQ(g.Decide("/p/123/reviews/2").variant, "p");  // '*' stays in its segment
  EXPECT_EQ(g.Decide("/p/123").variant, "p");
  EXPECT_EQ(g.Decide("/r/42").variant, "any");  // any glob beats a regex page
  EXPECT_EQ(g.Decide("/t/a/x").variant, "t1");
  EXPECT_EQ(g.Decide("/u/a/x").variant, "t2");
  TestRequest r;
  r.url = "/h/1";
  r.host = "A.Example.com";
  RequestHarness h1(*g.rules, r);
  EXPECT_EQ(h1.eval().Decide().variant, "host-a");
  r.host = "b.example.com";
  RequestHarness h2(*g.rules, r);
  EXPECT_EQ(h2.eval().Decide().variant, "any-host");
  r.url = "/w/1";
  RequestHarness h3(*g.rules, r);
  EXPECT_EQ(h3.eval().Decide().variant, "wild-host");
  r.host = "example.com";
  RequestHarness h4(*g.rules, r);
  EXPECT_EQ(h4.eval().Decide().variant, "any");

  RulesFixture only_regex(R"(page matches "^/r/[0-9]+$" { default "regex" }
page matches "^/r/" { default "later" })");
  ASSERT_TRUE(only_regex.rules) << only_regex.errors();
  EXPECT_EQ(only_regex.Decide("/r/42").variant, "regex");
  EXPECT_EQ(only_regex.Decide("/r/x").variant, "later");
  EXPECT_EQ(only_regex.Decide("/q").page, -1);
}

TEST(EvaluatorTest, PageWithoutDefaultGivesEmptyVariant) {
  RulesFixture f("page \"/\" { variant \"v\" when t.flag }\n");
  ASSERT_TRUE(f.rules) << f.errors();
  Decision d = f.Decide("/");
  EXPECT_EQ(d.page, 0);
  EXPECT_EQ(d.variant, "");
  EXPECT_EQ(f.Decide("/", {{"X-Flag", "1"}}).variant, "v");
}

TEST(EvaluatorTest, OperatorsAndMissingValues) {
  RulesFixture f(R"(segment eq = t.country == "FR"
segment ne = t.country != "FR"
segment ci = t.country ==~ "fr"
segment nci = t.country !=~ "fr"
segment lt = t.num < 3
segment btw = t.num between 2 and 4
segment inset = t.country in ["FR", "BE"]
segment notin = t.country not in ["FR", "BE"]
segment inci = t.country in_ci ["fr"]
segment nums = t.num in [1, 2.5, 7]
segment sw = path starts_with_ci "/SHOP"
segment ew = path ends_with ".pdf"
segment ct = header("User-Agent") contains_ci "MOBILE"
segment rx = header("User-Agent") matches "Android [0-9]+"
segment rxci = header("User-Agent") matches_ci "iphone"
segment ex = exists(t.country)
segment flag = t.flag
segment tags = t.tags contains "Blue"
segment tagsin = t.tags in ["red"]
segment notflag = not t.flag
)");
  ASSERT_TRUE(f.rules) << f.errors();
  // Missing signals make every comparison false (also != and not in); `not` still negates.
  EXPECT_EQ(f.Segments("/"), "notflag");
  EXPECT_EQ(f.Segments("/Shop/a.pdf", {{"X-Country", "FR"}, {"X-Num", "2.5"}, {"X-Flag", "1"},
                                        {"User-Agent", "Mozilla (iPhone; Mobile)"}}),
            "eq,ci,lt,btw,inset,inci,nums,sw,ew,ct,rxci,ex,flag");
  EXPECT_EQ(f.Segments("/b", {{"X-Country", "fr"}, {"X-Num", "4"}, {"X-Flag", "0"}, {"X-Tags", "y"},
                              {"User-Agent", "Linux; Android 14"}}),
            "ne,ci,btw,notin,inci,rx,ex,tags,tagsin,notflag");
  EXPECT_EQ(f.Segments("/", {{"X-Country", "DE"}, {"X-Num", "7"}}), "ne,nci,notin,nums,ex,notflag");
}

TEST(EvaluatorTest, LargeSetsAreHashedAndCorrect) {
  std::string list;
  for (int i = 0; i < 500; ++i) list += (i ? ", " : "") + std::string("\"C") + std::to_string(i) + "\"";
  RulesFixture f("segment big = t.country in [" + list + "]\nsegment bigci = t.country in_ci [" +
                 list + "]\n");
  ASSERT_TRUE(f.rules) << f.errors();
  EXPECT_EQ(f.Segments("/", {{"X-Country", "C499"}}), "big,bigci");
  EXPECT_EQ(f.Segments("/", {{"X-Country", "c250"}}), "bigci");
  EXPECT_EQ(f.Segments("/", {{"X-Country", "C500"}}), "");
}

TEST(EvaluatorTest, ScoresAndBands) {
  RulesFixture f(R"(score intent {
  +10 when t.num >= 3
  +25 when query("utm_medium") == "email"
  -5  when header("Save-Data") == "on"
  bands low < 20 <= medium < 50 <= high
}
segment hot = intent == "high"
segment warm = intent == "medium" or intent.points >= 100
page "/" { variant "hot" when hot  variant "warm" when warm  default "cold" }
)");
  ASSERT_TRUE(f.rules) << f.errors();
  EXPECT_EQ(f.Decide("/").variant, "cold");
  EXPECT_EQ(f.harness->eval().ScorePoints(0), 0);
  EXPECT_EQ(f.harness->eval().ScoreBand(0), "low");
  EXPECT_EQ(f.Decide("/?utm_medium=email").variant, "warm");
  EXPECT_EQ(f.harness->eval().ScorePoints(0), 25);
  EXPECT_EQ(f.Decide("/?utm_medium=email", {{"X-Num", "3"}}).variant, "warm");
  EXPECT_EQ(f.harness->eval().ScorePoints(0), 35);
  EXPECT_EQ(f.Decide("/?utm_medium=email", {{"X-Num", "3"}, {"Save-Data", "on"}}).variant, "warm");
  EXPECT_EQ(f.harness->eval().ScorePoints(0), 30);
  EXPECT_EQ(f.harness->eval().ScoreBand(0), "medium");
  RulesFixture g(R"(score s {
  +50 when t.flag
  bands low < 20 <= medium < 50 <= high
}
segment hot = s == "high"
)");
  ASSERT_TRUE(g.rules) << g.errors();
  EXPECT_EQ(g.Segments("/", {{"X-Flag", "1"}}), "hot");  // 50 is the first point of high
}

TEST(EvaluatorTest, SignalsAreComputedAtMostOncePerRequest) {
  RulesFixture f(R"(segment a = t.country == "FR" and t.flag
segment b = t.country in ["FR", "BE"]
segment c = t.country matches "^F" or t.country matches "R$"
segment d = (t.country == "FR" and t.flag) or t.num > 1
page "/" { variant "x" when d and a  default "y" }
)");
  ASSERT_TRUE(f.rules) << f.errors();
  TestCountryCalls() = 0;
  EXPECT_EQ(f.Segments("/", {{"X-Country", "FR"}, {"X-Flag", "1"}}), "a,b,c,d");
  EXPECT_EQ(f.harness->eval().Decide().variant, "x");
  EXPECT_EQ(TestCountryCalls(), 1);
  // Lazy: a page whose variants do not read t.country never computes it.
  TestCountryCalls() = 0;
  RulesFixture g(R"(segment cheap = t.flag
segment costly = t.country == "FR"
page "/" { variant "x" when cheap and costly  default "y" })");
  ASSERT_TRUE(g.rules) << g.errors();
  EXPECT_EQ(g.Decide("/", {{"X-Country", "FR"}}).variant, "y");
  EXPECT_EQ(TestCountryCalls(), 0);  // cheap (cost 1) is false: costly (cost 50) is skipped
  EXPECT_EQ(g.Decide("/about", {{"X-Country", "FR"}}).page, -1);
  EXPECT_EQ(TestCountryCalls(), 0);
}

TEST(EvaluatorTest, StateContentDoesNotMatter) {
  RulesFixture f(R"(segment a = t.country == "FR"
segment r = header("User-Agent") matches "bot"
)");
  ASSERT_TRUE(f.rules) << f.errors();
  for (int fill : {0x00, 0xFF, 0x5A}) {
    TestRequest req;
    req.url = "/";
    req.headers = {{"User-Agent", "a bot"}};
    std::vector<char> state(f.rules->state_size() + 16);
    char* aligned = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(state.data()) + 15) & ~uintptr_t{15});
    std::memset(aligned, fill, f.rules->state_size());
    RequestHarness h(*f.rules, req);
    Evaluator ev(*f.rules, h.env(), aligned);
    EXPECT_EQ(ev.SegmentList(), "r");
  }
}

TEST(EvaluatorTest, SegmentListWhenArenaIsFull) {
  RulesFixture f("segment a = true\nsegment b = not t.flag\n");
  ASSERT_TRUE(f.rules) << f.errors();
  TestRequest req;
  req.url = "/";
  RequestHarness h(*f.rules, req);
  char tiny[2];
  Arena small(tiny, sizeof tiny);
  EvalEnv env{h.env().request, h.env().services, small, h.env().memo, "", true};
  std::vector<char> state(f.rules->state_size() + 16);
  char* aligned = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(state.data()) + 15) & ~uintptr_t{15});
  Evaluator ev(*f.rules, env, aligned);
  EXPECT_EQ(ev.SegmentList(), "");
  EXPECT_TRUE(ev.InSegment(0));
  EXPECT_TRUE(ev.InSegment(1));
}

class FakeAssigner : public ExperimentAssigner {
 public:
  std::string_view Assign(size_t index, const ExperimentDecl& decl, EvalEnv& env) const override {
    ++calls;
    // Enrol visitors whose ID ends with '1' in the second variant.
    if (env.visitor_id.empty() || env.visitor_id.back() != '1') return {};
    return decl.variants[1].name;
  }
  mutable int calls = 0;
};

TEST(EvaluatorTest, ExperimentsGoThroughTheAssigner) {
  const char* src = R"(experiment hero {
  variants { control 50, bold 50 }
  when t.flag
  start "2026-01-01" end "2026-12-31"
}
page "/" { variant "home-bold" when experiment.hero == "bold"  default "home" }
)";
  Diagnostics d;
  auto rules = RuleSet::Compile(src, "x.rules", TestRegistry(), d, RuleSetOptions());
  ASSERT_TRUE(rules) << (d.items().empty() ? "" : d.items()[0].message);
  ASSERT_EQ(rules->experiments().size(), 1u);
  EXPECT_EQ(rules->experiments()[0].salt, "hero");
  TestRequest req;
  req.url = "/";
  req.headers = {{"X-Flag", "1"}};
  {
    RequestHarness h(*rules, req);  // no assigner yet: missing
    EXPECT_EQ(h.eval().Decide().variant, "home");
  }
  auto assigner = std::make_shared<FakeAssigner>();
  rules->SetExperimentAssigner(assigner);
  {
    RequestHarness h(*rules, req);
    EXPECT_EQ(h.eval().Decide().variant, "home-bold");
    EXPECT_EQ(h.eval().ExperimentVariant(0), "bold");
  }
  req.visitor_id = "visitor-2";
  {
    RequestHarness h(*rules, req);
    EXPECT_EQ(h.eval().Decide().variant, "home");
  }
  req.visitor_id = "visitor-1";
  req.headers = {};  // audience fails: the assigner is not asked
  int before = assigner->calls;
  {
    RequestHarness h(*rules, req);
    EXPECT_EQ(h.eval().Decide().variant, "home");
  }
  EXPECT_EQ(assigner->calls, before);
  req.headers = {{"X-Flag", "1"}};
  req.now_ms = 1798761600000;  // 2027-01-01: after the end date
  {
    RequestHarness h(*rules, req);
    EXPECT_EQ(h.eval().Decide().variant, "home");
  }
}

class FakeTables : public TableProvider {
 public:
  Status Declare(size_t, const TableDecl& decl) override {
    if (decl.file_as_written != "crm.csv") return Status::Error("cannot open " + decl.file);
    return Status::Ok();
  }
  std::optional<Column> FindColumn(size_t, std::string_view column) const override {
    if (column == "tier") return Column{0, ValueType::kString};
    if (column == "spend") return Column{1, ValueType::kNumber};
    return std::nullopt;
  }
  Value Lookup(size_t, int column, std::string_view key, EvalEnv&) const override {
    if (key != "cust-7") return Value::Missing();
    return column == 0 ? Value::String("gold") : Value::Number(1200);
  }
};

class FakeLua : public LuaSignalProvider {
 public:
  Status Prepare(size_t, const LuaSignalDecl& decl) override { return Status::Ok(); }
  Value Call(size_t, EvalEnv& env) const override {
    return env.request.FindHeader("X-Lua") ? Value::Number(5) : Value::String("wrong type");
  }
};

TEST(EvaluatorTest, TablesAndLuaThroughProviders) {
  const char* src = R"(table crm = csv("crm.csv", key: id, by: cookie("customer"))
signal loyalty = lua("loyalty.lua") : number
segment gold = crm.tier == "gold" and crm.spend > 1000
segment loyal = loyalty >= 5
)";
  RuleSetOptions o;
  o.tables = std::make_shared<FakeTables>();
  o.lua = std::make_shared<FakeLua>();
  Diagnostics d;
  auto rules = RuleSet::Compile(src, "x.rules", TestRegistry(), d, o);
  ASSERT_TRUE(rules) << (d.items().empty() ? "" : FormatDiagnostic(d.items()[0]));
  EXPECT_EQ(rules->tables()[0].by, "cookie(\"customer\")");
  TestRequest req;
  req.url = "/";
  req.headers = {{"Cookie", "customer=cust-7"}, {"X-Lua", "1"}};
  RequestHarness h(*rules, req);
  EXPECT_EQ(h.eval().SegmentList(), "gold,loyal");
  req.headers = {{"Cookie", "customer=cust-8"}};
  RequestHarness h2(*rules, req);
  EXPECT_EQ(h2.eval().SegmentList(), "");  // no row; Lua returned the wrong type: missing

  Diagnostics d2;
  auto bad = RuleSet::Compile(R"(table t = csv("nope.csv", key: id)
segment s = t.zz == "1")",
                              "y.rules", TestRegistry(), d2, o);
  EXPECT_FALSE(bad);
  ASSERT_EQ(d2.error_count(), 1u);
  EXPECT_NE(d2.items()[0].message.find("cannot open"), std::string::npos);
  Diagnostics d3;
  bad = RuleSet::Compile(R"(table t = csv("crm.csv", key: id)
segment s = t.zz == "1")",
                         "y.rules", TestRegistry(), d3, o);
  EXPECT_FALSE(bad);
  ASSERT_EQ(d3.error_count(), 1u);
  EXPECT_NE(d3.items()[0].message.find("table 't' has no column 'zz'"), std::string::npos);
}

}  // namespace
}  // namespace tailor

namespace tailor {
namespace {

TEST(EvaluatorTest, InterestNamesResolveToTheInterestSignal) {
  RulesFixture f(R"(interest shoes paths ["/shoes/*", "/p/sneakers-*"]
interest hats paths ["/hats/*"]
segment shoe_fan = interest.shoes >= 5
segment hat_fan = interest.hats >= 5
)");
  ASSERT_TRUE(f.rules) << f.errors();
  ASSERT_EQ(f.rules->interests().size(), 2u);
  EXPECT_EQ(f.rules->interests()[0].paths[1], "/p/sneakers-*");
  EXPECT_EQ(f.Segments("/"), "shoe_fan");  // interest("shoes") is 5, interest("hats") 4
  RulesFixture bad("segment s = interest.shose > 1\ninterest shoes paths [\"/s/*\"]\n");
  EXPECT_FALSE(bad.rules);
  EXPECT_NE(bad.errors().find("unknown interest 'shose'"), std::string::npos) << bad.errors();
  EXPECT_NE(bad.errors().find("did you mean 'shoes'"), std::string::npos) << bad.errors();
}

}  // namespace
}  // namespace tailor

namespace tailor {
namespace {

TEST(EvaluatorTest, PerThreadScratchForMultiThreadedCallers) {
  RulesFixture f(R"(segment chrome = header("User-Agent") matches "Chrome/[0-9]+"
segment bot = header("User-Agent") matches_ci "bot"
)");
  ASSERT_TRUE(f.rules) << f.errors();
  std::atomic<int> wrong{0};
  auto worker = [&](const std::string& ua, const std::string& want) {
    RegexScratch scratch = f.rules->AllocateScratch();  // once per thread, before requests
    for (int i = 0; i < 2000; ++i) {
      TestRequest req;
      req.url = "/";
      req.headers = {{"User-Agent", ua}};
      RequestHarness h(*f.rules, req);
      std::vector<char> state(f.rules->state_size() + 16);
      void* aligned = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(state.data()) + 15) &
                                              ~static_cast<uintptr_t>(15));
      Evaluator ev(*f.rules, h.env(), aligned, &scratch);
      if (ev.SegmentList() != want) ++wrong;
    }
  };
  std::thread a(worker, "Mozilla Chrome/120", "chrome");
  std::thread b(worker, "GoogleBOT", "bot");
  a.join();
  b.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(EvaluatorTest, Goals) {
  RulesFixture f(R"(segment beta = t.flag
goal order when path == "/order/done" value query("total")
goal signup when path == "/account/welcome" or beta
goal n when t.num > 0 value t.num
goal fixed when path == "/order/done" value 3
)");
  ASSERT_TRUE(f.rules) << f.errors();
  auto goals = [&](const std::string& url,
                   std::vector<std::pair<std::string, std::string>> headers = {}) {
    f.Decide(url, std::move(headers));
    return std::string(f.harness->eval().GoalList());
  };
  EXPECT_EQ(goals("/"), "");
  EXPECT_EQ(goals("/order/done?total=12.50"), "order:12.5,fixed:3");
  EXPECT_EQ(goals("/order/done"), "order,fixed:3");            // missing value
  EXPECT_EQ(goals("/order/done?total=-4"), "order,fixed:3");   // negative: no value
  EXPECT_EQ(goals("/order/done?total=12abc"), "order,fixed:3");// not a number
  EXPECT_EQ(goals("/order/done?total=1e5"), "order,fixed:3");  // no exponent form
  EXPECT_EQ(goals("/order/done?total=0"), "order:0,fixed:3");
  EXPECT_EQ(goals("/order/done?total=0.1"), "order:0.1,fixed:3");
  EXPECT_EQ(goals("/account/welcome"), "signup");
  EXPECT_EQ(goals("/x", {{"X-Flag", "1"}, {"X-Num", "2.25"}}), "signup,n:2.25");
  EXPECT_EQ(goals("/x", {{"X-Num", "-3"}}), "");
  // Memoized, and GoalReached agrees.
  f.Decide("/order/done?total=7");
  Evaluator& ev = f.harness->eval();
  std::string_view first = ev.GoalList();
  EXPECT_EQ(first, "order:7,fixed:3");
  EXPECT_EQ(ev.GoalList().data(), first.data());
  double v = 0;
  EXPECT_TRUE(ev.GoalReached(0, &v));
  EXPECT_EQ(v, 7);
  EXPECT_FALSE(ev.GoalReached(1, &v));
  EXPECT_EQ(v, -1);
  EXPECT_FALSE(ev.GoalReached(9, &v));
  ASSERT_EQ(f.rules->num_goals(), 4u);
  EXPECT_EQ(f.rules->goal_name(3), "fixed");
}

}  // namespace
}  // namespace tailor
