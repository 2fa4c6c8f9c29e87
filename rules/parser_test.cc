#include "rules/parser.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

namespace tailor {
namespace {

struct Parsed {
  Program p;
  Diagnostics d;
  explicit Parsed(const std::string& src) { ParseSource(p, src, "t.rules", d); }
  std::string errors() const {
    std::string out;
    for (auto& x : d.items()) out += FormatDiagnosticLine(x) + "\n";
    return out;
  }
};

TEST(ParserTest, V0Program) {
  Parsed r(R"(segment beta = cookie("beta") == "1" or header("X-Beta") in ["yes", "1"]
segment shop = path starts_with "/shop/" and not beta
page "/" {
  variant "home-beta" when beta
  default "home"
}
page "/shop/*" { variant "shop-beta" when beta  default "shop" }
)");
  ASSERT_FALSE(r.d.has_errors()) << r.errors();
  ASSERT_EQ(r.p.segments.size(), 2u);
  const Expr& beta = r.p.exprs[r.p.segments[0].expr];
  EXPECT_EQ(beta.kind, ExprKind::kOr);
  ASSERT_EQ(beta.items.size(), 2u);
  const Expr& in = r.p.exprs[beta.items[1]];
  EXPECT_EQ(in.kind, ExprKind::kIn);
  EXPECT_EQ(r.p.exprs[in.b].items.size(), 2u);
  const Expr& call = r.p.exprs[in.a];
  EXPECT_EQ(call.kind, ExprKind::kCall);
  EXPECT_EQ(call.text, "header");
  const Expr& shop = r.p.exprs[r.p.segments[1].expr];
  EXPECT_EQ(shop.kind, ExprKind::kAnd);
  EXPECT_EQ(r.p.exprs[shop.items[1]].kind, ExprKind::kNot);
  ASSERT_EQ(r.p.pages.size(), 2u);
  EXPECT_EQ(r.p.pages[1].pattern, "/shop/*");
  EXPECT_EQ(r.p.pages[1].variants.size(), 1u);
  EXPECT_TRUE(r.p.pages[1].has_default);
  EXPECT_EQ(r.p.pages[1].default_variant.name, "shop");
  EXPECT_EQ(r.p.items.size(), 4u);
}

TEST(ParserTest, PrecedenceNotBindsTighterThanAndThanOr) {
  Parsed r("segment s = not a or b and c\n");
  ASSERT_FALSE(r.d.has_errors()) << r.errors();
  const Expr& e = r.p.exprs[r.p.segments[0].expr];
  ASSERT_EQ(e.kind, ExprKind::kOr);
  EXPECT_EQ(r.p.exprs[e.items[0]].kind, ExprKind::kNot);
  EXPECT_EQ(r.p.exprs[e.items[1]].kind, ExprKind::kAnd);
}

TEST(ParserTest, OperatorsOfTheFullLanguage) {
  Parsed r(R"(segment s = t.num between 1 and 5 and x not in_ci ["a"] and y matches_ci "^a.*"
  and z ==~ "Q" and w ends_with_ci ".pdf" and exists(geo.country) and n >= -2.5
)");
  ASSERT_FALSE(r.d.has_errors()) << r.errors();
  const Expr& e = r.p.exprs[r.p.segments[0].expr];
  ASSERT_EQ(e.items.size(), 7u);
  EXPECT_EQ(r.p.exprs[e.items[0]].kind, ExprKind::kBetween);
  const Expr& in = r.p.exprs[e.items[1]];
  EXPECT_TRUE(in.negated);
  EXPECT_TRUE(in.ci);
  EXPECT_EQ(r.p.exprs[e.items[2]].kind, ExprKind::kMatches);
  EXPECT_TRUE(r.p.exprs[e.items[2]].ci);
  EXPECT_TRUE(r.p.exprs[e.items[3]].ci);
  EXPECT_EQ(r.p.exprs[e.items[4]].str_op, StrOp::kEndsWith);
  EXPECT_EQ(r.p.exprs[e.items[5]].kind, ExprKind::kExists);
  EXPECT_DOUBLE_EQ(r.p.exprs[r.p.exprs[e.items[6]].b].number, -2.5);
}

TEST(ParserTest, ScoresExperimentsTablesInterestsLua) {
  Parsed r(R"(score intent {
  +10 when t.num >= 3
  -5  when header("Save-Data") == "on"
  bands low < 20 <= medium < 50 <= high
}
holdout 5%
experiment hero {
  unit cookie("uid")
  traffic 20.5%
  layer homepage 50%
  variants { control 50, bold 50 }
  when not t.flag
  salt "hero-2026"
  start "2026-12-01" end "2027-01-15"
}
table crm = csv("crm.csv", key: id, by: cookie("customer"))
interest shoes paths ["/shoes/*", "/p/sneakers-*"]
signal loyalty = lua("loyalty.lua") : number
)");
  ASSERT_FALSE(r.d.has_errors()) << r.errors();
  ASSERT_EQ(r.p.scores.size(), 1u);
  EXPECT_EQ(r.p.scores[0].items.size(), 2u);
  EXPECT_DOUBLE_EQ(r.p.scores[0].items[1].points, -5);
  ASSERT_EQ(r.p.scores[0].bands.size(), 3u);
  EXPECT_DOUBLE_EQ(r.p.scores[0].bands[2].lower, 50);
  EXPECT_DOUBLE_EQ(r.p.holdouts[0].percent, 5);
  const ExperimentDecl& x = r.p.experiments[0].decl;
  EXPECT_EQ(x.unit, ExperimentUnit::kCookie);
  EXPECT_EQ(x.unit_arg, "uid");
  EXPECT_DOUBLE_EQ(x.traffic_percent, 20.5);
  EXPECT_EQ(x.layer, "homepage");
  EXPECT_DOUBLE_EQ(x.layer_share_percent, 50);
  ASSERT_EQ(x.variants.size(), 2u);
  EXPECT_EQ(x.variants[1].name, "bold");
  EXPECT_EQ(x.salt, "hero-2026");
  EXPECT_EQ(x.end, "2027-01-15");
  EXPECT_TRUE(x.has_audience);
  EXPECT_EQ(r.p.tables[0].decl.key_column, "id");
  EXPECT_EQ(r.p.tables[0].decl.by, "cookie(\"customer\")");
  EXPECT_EQ(r.p.tables[0].decl.file, "crm.csv");
  EXPECT_EQ(r.p.interests[0].decl.paths.size(), 2u);
  EXPECT_EQ(r.p.lua_signals[0].decl.type, ValueType::kNumber);
}

TEST(ParserTest, SaltDefaultsToTheName) {
  Parsed r("experiment e { variants { a 1, b 1 } }\n");
  ASSERT_FALSE(r.d.has_errors()) << r.errors();
  EXPECT_EQ(r.p.experiments[0].decl.salt, "e");
  EXPECT_DOUBLE_EQ(r.p.experiments[0].decl.traffic_percent, 100);
}

TEST(ParserTest, ReportsEverySyntaxErrorAndRecovers) {
  Parsed r(R"(segment a = x ==
segment b = (y == "1"
segment c = z == "ok"
page "/" { variant "v" when c
segment d = q = "1"
)");
  EXPECT_EQ(r.d.error_count(), 4u) << r.errors();
  EXPECT_EQ(r.d.items()[0].line, 2);  // `==` followed by the next statement
  EXPECT_EQ(r.d.items()[1].line, 3);  // missing ')'
  EXPECT_NE(r.errors().find("t.rules:4:10: error: unmatched '{'"), std::string::npos) << r.errors();
  EXPECT_NE(r.errors().find("'=' assigns"), std::string::npos);
  // `c` parsed despite the errors around it
  bool has_c = false;
  for (auto& s : r.p.segments) has_c = has_c || s.name == "c";
  EXPECT_TRUE(has_c);
}

TEST(ParserTest, UnmatchedClosingBrace) {
  Parsed r("segment a = x == \"1\"\n}\n");
  ASSERT_EQ(r.d.error_count(), 1u);
  EXPECT_NE(r.d.items()[0].message.find("unmatched '}'"), std::string::npos);
  EXPECT_EQ(r.d.items()[0].line, 2);
}

TEST(ParserTest, DeepNestingIsAnErrorNotACrash) {
  std::string deep = "segment s = " + std::string(100000, '(') + "x" + std::string(100000, ')');
  Parsed r(deep);
  ASSERT_TRUE(r.d.has_errors());
  EXPECT_NE(r.d.items()[0].message.find("nested too deeply"), std::string::npos);
  std::string nots = "segment s = ";
  for (int i = 0; i < 100000; ++i) nots += "not ";
  nots += "x\n";
  Parsed r2(nots);
  ASSERT_TRUE(r2.d.has_errors());
}

TEST(ParserTest, PageOptions) {
  Parsed r(R"(page matches "^/p/[0-9]+$" host "shop.example.com" { default "p" }
page "/a/*/b" { }
page "relative" { }
)");
  EXPECT_EQ(r.d.error_count(), 1u) << r.errors();  // the relative pattern
  ASSERT_EQ(r.p.pages.size(), 3u);
  EXPECT_TRUE(r.p.pages[0].is_regex);
  EXPECT_EQ(r.p.pages[0].host, "shop.example.com");
}

TEST(ParserTest, IncludeIsRelativeToTheIncludingFile) {
  std::string dir = ::testing::TempDir() + "/rules_include_test";
  std::string cmd = "mkdir -p " + dir + "/sub";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto write = [](const std::string& path, const std::string& text) {
    FILE* f = std::fopen(path.c_str(), "w");
    std::fputs(text.c_str(), f);
    std::fclose(f);
  };
  write(dir + "/main.rules", "include \"sub/shared.rules\"\nsegment m = s\n");
  write(dir + "/sub/shared.rules", "include \"more.rules\"\nsegment s = x == \"1\"\n");
  write(dir + "/sub/more.rules", "include \"../main.rules\"\nsegment t = y == \"2\"\n");
  Program p;
  Diagnostics d;
  ParseFile(p, dir + "/main.rules", d);
  ASSERT_FALSE(d.has_errors()) << (d.items().empty() ? "" : d.items()[0].message);
  ASSERT_EQ(p.segments.size(), 3u);
  // Included statements come where the include is.
  EXPECT_EQ(p.segments[0].name, "t");
  EXPECT_EQ(p.segments[1].name, "s");
  EXPECT_EQ(p.segments[2].name, "m");
  EXPECT_EQ(p.files.size(), 3u);

  write(dir + "/bad.rules", "include \"missing.rules\"\n");
  Program p2;
  Diagnostics d2;
  ParseFile(p2, dir + "/bad.rules", d2);
  ASSERT_EQ(d2.error_count(), 1u);
  EXPECT_EQ(d2.items()[0].line, 1);
  EXPECT_NE(d2.items()[0].message.find("missing.rules"), std::string::npos);
}

TEST(ParserTest, Goals) {
  Parsed r(R"(goal order when path == "/order/done" value query("total")
goal signup when path == "/account/welcome"
goal big when t.flag value 12.5
)");
  ASSERT_FALSE(r.d.has_errors()) << r.errors();
  ASSERT_EQ(r.p.goals.size(), 3u);
  EXPECT_EQ(r.p.goals[0].name, "order");
  EXPECT_EQ(r.p.exprs[r.p.goals[0].cond].kind, ExprKind::kCompare);
  ASSERT_GE(r.p.goals[0].value, 0);
  EXPECT_EQ(r.p.exprs[r.p.goals[0].value].kind, ExprKind::kCall);
  EXPECT_EQ(r.p.goals[0].value_loc.col, 39);
  EXPECT_EQ(r.p.goals[1].value, -1);
  EXPECT_EQ(r.p.exprs[r.p.goals[2].value].number, 12.5);
  EXPECT_EQ(r.p.items.size(), 3u);
  EXPECT_EQ(r.p.items[0].kind, ItemKind::kGoal);
}

TEST(ParserTest, GoalWithoutWhenIsAnError) {
  Parsed r("goal signup path == \"/welcome\"\ngoal ok when true\n");
  EXPECT_EQ(r.d.error_count(), 1u) << r.errors();
  EXPECT_NE(r.errors().find("t.rules:1:13: error: expected 'when', found 'path'"),
            std::string::npos)
      << r.errors();
  EXPECT_EQ(r.p.goals.size(), 1u);  // recovery: the next goal parses
  Parsed bad("goal when path == \"/\"\n");
  EXPECT_NE(bad.errors().find("t.rules:1:6: error: expected a goal name, found 'when'"),
            std::string::npos)
      << bad.errors();
  Parsed empty("goal a when true value\n");
  EXPECT_EQ(empty.d.error_count(), 1u) << empty.errors();
}

}  // namespace
}  // namespace tailor
