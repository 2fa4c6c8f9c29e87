#include "rules/compiler.h"

#include <gtest/gtest.h>

#include "rules/compiled.h"
#include "rules_test_util.h"

namespace tailor {
namespace {

const CompiledRules& Compiled(RulesFixture& f) { return f.rules->compiled(); }

TEST(CompilerTest, GlobMatch) {
  EXPECT_TRUE(GlobMatch("/shop/*", "/shop/"));
  EXPECT_TRUE(GlobMatch("/shop/*", "/shop/a/b"));
  EXPECT_FALSE(GlobMatch("/shop/*", "/shop"));
  EXPECT_TRUE(GlobMatch("/p/*/reviews", "/p/123/reviews"));
  EXPECT_FALSE(GlobMatch("/p/*/reviews", "/p/1/2/reviews"));
  EXPECT_FALSE(GlobMatch("/p/*/reviews", "/p/123/reviews/x"));
  EXPECT_TRUE(GlobMatch("/p/sneakers-*", "/p/sneakers-red/42"));
  EXPECT_TRUE(GlobMatch("/a*b/c", "/axxb/c"));
  EXPECT_TRUE(GlobMatch("/a*b*/c", "/abab/c"));
  EXPECT_FALSE(GlobMatch("/a*b/c", "/a/b/c"));
  EXPECT_TRUE(GlobMatch("/*/*/x", "/a/b/x"));
  EXPECT_TRUE(GlobMatch("/exact", "/exact"));
  EXPECT_FALSE(GlobMatch("/exact", "/exactly"));
}

TEST(CompilerTest, ConstantsAreFolded) {
  RulesFixture f(R"(segment a = true and t.flag
segment b = false and t.flag
segment c = "x" == "x" or t.flag
segment d = not not t.flag
segment e = 3 between 1 and 5
)");
  ASSERT_TRUE(f.rules) << f.errors();
  const CompiledRules& c = Compiled(f);
  auto op = [&](int seg) { return c.nodes[c.segment_nodes[seg]].op; };
  EXPECT_EQ(op(0), Op::kTruthy);  // `true and` dropped
  EXPECT_EQ(op(1), Op::kConst);
  EXPECT_FALSE(c.nodes[c.segment_nodes[1]].constant);
  EXPECT_EQ(op(2), Op::kConst);
  EXPECT_TRUE(c.nodes[c.segment_nodes[2]].constant);
  EXPECT_EQ(op(3), Op::kTruthy);  // not not x -> x
  EXPECT_EQ(op(4), Op::kConst);
  EXPECT_TRUE(c.nodes[c.segment_nodes[4]].constant);
}

TEST(CompilerTest, CommonSubexpressionsAndSignalsAreShared) {
  RulesFixture f(R"(segment a = header("X") == "1" and t.flag
segment b = t.flag and header("X") == "1"
segment c = (header("X") == "1" and t.flag) or t.num > 3
segment d = header("X") in ["1", "2"]
)");
  ASSERT_TRUE(f.rules) << f.errors();
  const CompiledRules& c = Compiled(f);
  // a and b are the same node once ordered; c reuses it as a child.
  EXPECT_EQ(c.segment_nodes[0], c.segment_nodes[1]);
  const Node& cn = c.nodes[c.segment_nodes[2]];
  ASSERT_EQ(cn.op, Op::kOr);
  bool reuses = false;
  for (uint32_t k = 0; k < cn.count; ++k) reuses |= c.kids[cn.first + k] == c.segment_nodes[0];
  EXPECT_TRUE(reuses);
  EXPECT_GE(c.nodes[c.segment_nodes[0]].memo, 0);  // shared: memoized
  int header_slots = 0;
  for (const Slot& s : c.slots) header_slots += s.kind == Slot::Kind::kSignal && s.name == "header(\"X\")";
  EXPECT_EQ(header_slots, 1);
  EXPECT_EQ(f.rules->used_signals().size(), 3u);  // header("X"), t.flag, t.num
}

TEST(CompilerTest, ShortCircuitOrderFollowsCost) {
  // t.country costs 50, t.flag 1: the cheap test runs first whatever the written order.
  RulesFixture f("segment a = t.country == \"FR\" and t.flag\n");
  ASSERT_TRUE(f.rules) << f.errors();
  const CompiledRules& c = Compiled(f);
  const Node& n = c.nodes[c.segment_nodes[0]];
  ASSERT_EQ(n.op, Op::kAnd);
  ASSERT_EQ(n.count, 2u);
  EXPECT_EQ(c.nodes[c.kids[n.first]].op, Op::kTruthy);
  EXPECT_LT(c.nodes[c.kids[n.first]].cost, c.nodes[c.kids[n.first + 1]].cost);
}

TEST(CompilerTest, FlattensNestedJunctions) {
  RulesFixture f("segment a = (t.flag and (t.num > 1 and t.num < 5)) and path == \"/\"\n");
  ASSERT_TRUE(f.rules) << f.errors();
  const CompiledRules& c = Compiled(f);
  const Node& n = c.nodes[c.segment_nodes[0]];
  ASSERT_EQ(n.op, Op::kAnd);
  EXPECT_EQ(n.count, 4u);
}

TEST(CompilerTest, RegexesOverOneSignalShareOneDatabase) {
  RulesFixture f(R"(segment a = header("User-Agent") matches "Chrome"
segment b = header("User-Agent") matches_ci "firefox"
segment c = header("User-Agent") matches "Chrome"
segment d = path matches "^/x"
)");
  ASSERT_TRUE(f.rules) << f.errors();
  const CompiledRules& c = Compiled(f);
  ASSERT_EQ(c.regex_dbs.size(), 2u);
  EXPECT_EQ(c.regex_dbs[0].size(), 2u);  // the duplicate is compiled once
  EXPECT_EQ(c.regex_dbs[1].size(), 1u);
  EXPECT_EQ(f.Segments("/x", {{"User-Agent", "Mozilla FireFox Chrome"}}), "a,b,c,d");
}

TEST(CompilerTest, LargeSetsAreHashed) {
  std::string list;
  for (int i = 0; i < 100; ++i) list += (i ? ", " : "") + std::string("\"v") + std::to_string(i) + "\"";
  RulesFixture f("segment big = t.country in [" + list + "]\nsegment small = t.country in [\"a\", \"b\"]\n");
  ASSERT_TRUE(f.rules) << f.errors();
  const CompiledRules& c = Compiled(f);
  ASSERT_EQ(c.sets.size(), 2u);
  EXPECT_TRUE(c.sets[0].hashed());
  EXPECT_FALSE(c.sets[1].hashed());
}

TEST(CompilerTest, StateSizeIsAlignedAndScalesWithUse) {
  RulesFixture small("segment a = t.flag\n");
  ASSERT_TRUE(small.rules);
  EXPECT_EQ(small.rules->state_size() % 16, 0u);
  EXPECT_GT(small.rules->state_size(), 0u);
}

}  // namespace
}  // namespace tailor
