#include "rules/formatter.h"

#include <gtest/gtest.h>

#include <dirent.h>

#include <fstream>
#include <sstream>

#include "rules/parser.h"

namespace tailor {
namespace {

std::string Fmt(const std::string& src) {
  std::string out;
  Diagnostics d;
  EXPECT_TRUE(FormatSource(src, "t.rules", &out, d))
      << (d.items().empty() ? "" : FormatDiagnostic(d.items()[0]));
  return out;
}

TEST(FormatterTest, V0ExampleIsCanonicalized) {
  std::string out = Fmt(R"(# a comment
segment from_email = query("utm_medium")=="email"
segment beta       = cookie("beta") == "1" or header("X-Beta") in ["yes","1"]
segment shop       = path starts_with "/shop/" and not beta
page "/" {
  variant "home-email" when from_email
  variant "home-beta"  when beta
  default "home"
}
page "/shop/*" { variant "shop-beta" when beta  default "shop" }
)");
  EXPECT_EQ(out, R"(# a comment
segment from_email = query("utm_medium") == "email"
segment beta = cookie("beta") == "1" or header("X-Beta") in ["yes", "1"]
segment shop = path starts_with "/shop/" and not beta
page "/" {
  variant "home-email" when from_email
  variant "home-beta" when beta
  default "home"
}
page "/shop/*" {
  variant "shop-beta" when beta
  default "shop"
}
)");
  EXPECT_EQ(Fmt(out), out);
}

TEST(FormatterTest, ParenthesesOnlyWhereNeeded) {
  EXPECT_EQ(Fmt("segment s = (a and b) or (not (c or d)) and e\n"),
            "segment s = a and b or not (c or d) and e\n");
  EXPECT_EQ(Fmt("segment s = a and (b or c)\n"), "segment s = a and (b or c)\n");
  // The author's grouping of same-operator chains is kept.
  EXPECT_EQ(Fmt("segment s = (a or b) or c\n"), "segment s = (a or b) or c\n");
  EXPECT_EQ(Fmt("segment s = not not a\n"), "segment s = not not a\n");
}

TEST(FormatterTest, CommentsAndBlankLinesSurvive) {
  std::string src = R"(# header comment


segment a = x == "1"   # trailing
# before b
segment b = y == "2"
page "/" {
  # inside
  variant "v" when a  # why
  default "d"
  # before the brace
}
)";
  std::string out = Fmt(src);
  EXPECT_EQ(out, R"(# header comment

segment a = x == "1"  # trailing
# before b
segment b = y == "2"
page "/" {
  # inside
  variant "v" when a  # why
  default "d"
  # before the brace
}
)");
  EXPECT_EQ(Fmt(out), out);
}

TEST(FormatterTest, FullLanguageRoundTrips) {
  std::string src = R"(include "shared.rules"
holdout 5%
score intent {
  +10 when visitor.visits >= 3
  -5 when header("Save-Data") == "on"
  bands low < 20 <= medium < 50 <= high
}
experiment hero {
  unit cookie("uid")
  traffic 20.5%
  layer homepage 50%
  variants { control 50, bold 50 }
  when not device.bot and geo.country in ["FR", "BE"]
  salt "hero-2026"
  start "2026-12-01" end "2027-01-15"
}
table crm = csv("crm.csv", key: id, by: cookie("customer"))
interest shoes paths ["/shoes/*", "/p/sneakers-*"]
signal loyalty = lua("loyalty.lua") : number
segment m = ua matches_ci "^Mozilla\d+\.x" and n between -1 and 2.5 and t not in_ci ["a"] and exists(q) and z ==~ "Q" and w !=~ "x" and path ends_with_ci ".PDF"
page matches "^/p/[0-9]+$" host "shop.example.com" {
  variant "x" when m
}
)";
  std::string out = Fmt(src);
  EXPECT_EQ(Fmt(out), out);
  EXPECT_NE(out.find("  start \"2026-12-01\"\n  end \"2027-01-15\"\n"), std::string::npos) << out;
  EXPECT_NE(out.find("matches_ci \"^Mozilla\\d+\\.x\""), std::string::npos) << out;
  EXPECT_NE(out.find("  -5 when"), std::string::npos) << out;
  EXPECT_NE(out.find("  +10 when"), std::string::npos) << out;
}

TEST(FormatterTest, QuoteStringRoundTripsThroughTheLexer) {
  for (std::string s : {"plain", "a\"b", "back\\slash", "end\\", "\\n literal", "tab\tnl\n",
                        "\\d+\\.", "\\\\"}) {
    Diagnostics d;
    LexResult r = Lex(QuoteString(s), "t", d);
    ASSERT_FALSE(d.has_errors()) << s;
    EXPECT_EQ(r.tokens[0].value, s) << QuoteString(s);
  }
}

// The language has no exponent form: huge and tiny numbers are written out in decimals that
// read back to themselves (the rules fuzzer found "1.08888888888889e+72").
TEST(FormatterTest, NumbersNeverTakeTheExponentForm) {
  EXPECT_EQ(FormatNumberLiteral(0.00001), "0.00001");
  EXPECT_EQ(FormatNumberLiteral(-2.5e-7), "-0.00000025");
  EXPECT_EQ(FormatNumberLiteral(1.5e15), "1500000000000000");
  EXPECT_EQ(FormatNumberLiteral(123.25), "123.25");
  EXPECT_EQ(FormatNumberLiteral(42), "42");
  for (double v : {1e72, -1.0888888888888888e72, 4.9e-324, 1.7e308, 0.1, 1.0 / 3, 12345.678}) {
    std::string text = FormatNumberLiteral(v);
    EXPECT_EQ(text.find_first_of("eE"), std::string::npos) << text;
    bool negative = text[0] == '-';  // the minus is an operator token of its own
    Diagnostics d;
    LexResult r = Lex(text.substr(negative ? 1 : 0), "t", d);
    ASSERT_FALSE(d.has_errors()) << text;
    double back = negative ? -r.tokens[0].number : r.tokens[0].number;
    EXPECT_EQ(FormatNumberLiteral(back), text) << v;
  }
  std::string src =
      "segment n = geo.lat >= -1088888888888888888888888888888888888888888888888888888888888888"
      "888888888.5 or geo.lat < 0.0000001\n";
  std::string once = Fmt(src);
  EXPECT_EQ(once.find("e+"), std::string::npos) << once;
  EXPECT_EQ(Fmt(once), once);
}

TEST(FormatterTest, QuotedNamesStayQuoted) {
  std::string out = Fmt("experiment e { variants { \"big hero\" 1, small 2 } }\n"
                        "table t = csv(\"t.csv\", key: \"customer id\")\n");
  EXPECT_NE(out.find("variants { \"big hero\" 1, small 2 }"), std::string::npos) << out;
  EXPECT_NE(out.find("key: \"customer id\""), std::string::npos) << out;
  EXPECT_EQ(Fmt(out), out);
}

TEST(FormatterTest, SyntaxErrorsAreNotFormatted) {
  std::string out;
  Diagnostics d;
  EXPECT_FALSE(FormatSource("segment a = (x\n", "t.rules", &out, d));
  EXPECT_TRUE(d.has_errors());
}

// Every example rules file in the repository formats idempotently.
TEST(FormatterTest, ExampleFilesRoundTrip) {
  std::vector<std::string> files;
  std::string root = TAILOR_SOURCE_DIR;
  for (std::string dir : {root + "/examples", root + "/examples/rules"}) {
    if (DIR* d = opendir(dir.c_str())) {
      while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n.size() > 6 && n.substr(n.size() - 6) == ".rules") files.push_back(dir + "/" + n);
      }
      closedir(d);
    }
  }
  for (const std::string& f : files) {
    std::ifstream in(f);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string once;
    Diagnostics d;
    ASSERT_TRUE(FormatSource(ss.str(), f, &once, d)) << f;
    std::string twice;
    ASSERT_TRUE(FormatSource(once, f, &twice, d)) << f;
    EXPECT_EQ(once, twice) << f;
  }
}

TEST(FormatterTest, Goals) {
  std::string out = Fmt(R"(goal order   when path=="/order/done"  value  query("total")   # revenue
goal signup when path == "/account/welcome"
goal n when (t.flag or t.num > 2) and true value -1.50
)");
  EXPECT_EQ(out, R"(goal order when path == "/order/done" value query("total")  # revenue
goal signup when path == "/account/welcome"
goal n when (t.flag or t.num > 2) and true value -1.5
)");
  EXPECT_EQ(Fmt(out), out);
}

}  // namespace
}  // namespace tailor
