// End-to-end tests of the rule language through RuleSet and Evaluator.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "rules/rule_set.h"
#include "rules_test_util.h"

namespace tailor {
namespace {

constexpr const char* kV0 = R"(# a comment
segment from_email = query("utm_medium") == "email"
segment beta       = cookie("beta") == "1" or header("X-Beta") in ["yes", "1"]
segment shop       = path starts_with "/shop/" and not beta
page "/" {
  variant "home-email" when from_email
  variant "home-beta"  when beta
  default "home"
}
page "/shop/*" { variant "shop-beta" when beta  default "shop" }
)";

TEST(EvaluatorTest, V0Decisions) {
  RulesFixture f(kV0);
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
  RulesFixture f(kV0);
  ASSERT_TRUE(f.rules) << f.errors();
  EXPECT_EQ(f.Segments("/shop/a"), "shop");
  EXPECT_EQ(f.Segments("/shop/a?utm_medium=email"), "from_email,shop");
  EXPECT_EQ(f.Segments("/shop/a", {{"Cookie", "beta=1"}}), "beta");
  EXPECT_EQ(f.Segments("/"), "");
}

}  // namespace
}  // namespace tailor
