// Lua signals through the rule language: declared in a rules file, typed by their annotation,
// used in segments, called at most once per request, failing open to the default variant.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "lua/lua_signals.h"
#include "rules/rule_set.h"
#include "rules/rules_test_util.h"

namespace tailor {
namespace {

class LuaRulesTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir() + "tailor_lua_rules_" + std::to_string(::getpid());
    std::string cmd = "mkdir -p " + dir_ + "/signals";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  void TearDown() override {
    state_.reset();  // worker state before its set
    std::string cmd = "rm -rf " + dir_;
    std::system(cmd.c_str());
  }
  void Write(const std::string& rel, const std::string& text) {
    std::ofstream(dir_ + "/" + rel) << text;
  }
  // Compiles `rules` (with a LuaSignalSet) and creates this thread's worker state.
  bool Compile(const std::string& rules) {
    lua_ = std::make_shared<LuaSignalSet>(TestRegistry());
    RuleSetOptions options;
    options.lua = lua_;
    diags_.Clear();
    rules_ = RuleSet::Compile(rules, dir_ + "/site.rules", TestRegistry(), diags_, options);
    if (!rules_) return false;
    auto created = lua_->CreateWorkerState();
    EXPECT_TRUE(created.ok()) << created.status().message();
    if (!created.ok()) return false;
    state_ = std::move(created).value();
    return state_ != nullptr;
  }
  std::string Errors() const {
    std::string out;
    for (auto& d : diags_.items()) out += FormatDiagnostic(d) + "\n";
    return out;
  }
  Decision Decide(const std::string& url, std::vector<std::pair<std::string, std::string>> h = {}) {
    TestRequest r;
    r.url = url;
    r.headers = std::move(h);
    harness_ = std::make_unique<RequestHarness>(*rules_, r);
    return harness_->eval().Decide();
  }

  std::string dir_;
  Diagnostics diags_;
  std::shared_ptr<LuaSignalSet> lua_;
  std::shared_ptr<RuleSet> rules_;
  std::unique_ptr<LuaWorkerState> state_;
  std::unique_ptr<RequestHarness> harness_;
};

TEST_F(LuaRulesTest, SignalsDecideVariants) {
  Write("signals/loyalty.lua", R"(
    local points = { gold = 50, silver = 20 }
    return function(req)
      return (points[req.cookie("tier") or ""] or 0) + tonumber(req.query("bonus") or "0")
    end)");
  Write("signals/region.lua", "return function(req) return req.header('X-Region') end");
  Write("signals/mobile.lua",
        "return function(req) return (req.header('User-Agent') or ''):find('Mobile') ~= nil end");
  ASSERT_TRUE(Compile(R"(
signal loyalty = lua("signals/loyalty.lua") : number
signal region = lua("signals/region.lua") : string
signal mobile = lua("signals/mobile.lua") : bool
segment loyal = loyalty >= 40
segment eu = region in ["FR", "DE"]
page "/" {
  variant "loyal" when loyal and not mobile
  variant "eu" when eu
  default "home"
}
)")) << Errors();
  EXPECT_EQ(Decide("/", {{"Cookie", "tier=gold"}}).variant, "loyal");
  EXPECT_EQ(Decide("/", {{"Cookie", "tier=gold"}, {"User-Agent", "X Mobile"}}).variant, "home");
  EXPECT_EQ(Decide("/?bonus=25", {{"Cookie", "tier=silver"}}).variant, "loyal");
  EXPECT_EQ(Decide("/", {{"X-Region", "DE"}}).variant, "eu");
  EXPECT_EQ(Decide("/").variant, "home");
  EXPECT_EQ(state_->errors_total(), 0u);
}

TEST_F(LuaRulesTest, CalledAtMostOncePerRequest) {
  Write("signals/score.lua", "return function(req) return #req.path end");
  ASSERT_TRUE(Compile(R"(
signal score = lua("signals/score.lua") : number
segment a = score > 3
segment b = score > 1 and score < 100
page "/*" { variant "a" when a and b  variant "b" when b  default "d" }
)")) << Errors();
  EXPECT_EQ(Decide("/abcd").variant, "a");
  EXPECT_EQ(std::string(harness_->eval().SegmentList()), "a,b");
  EXPECT_EQ(state_->counters().calls, 1u);
  EXPECT_EQ(Decide("/ab").variant, "b");
  EXPECT_EQ(state_->counters().calls, 2u);
}

TEST_F(LuaRulesTest, BrokenSignalsServeTheDefault) {
  Write("signals/escape.lua", "return function(req) os.execute('true') return 1 end");
  Write("signals/spin.lua", "return function(req) while true do end end");
  Write("signals/bomb.lua", "return function(req) return #string.rep('x', 1e12) end");
  Write("signals/wrong.lua", "return function(req) return 'ten' end");
  ASSERT_TRUE(Compile(R"(
signal escape = lua("signals/escape.lua") : number
signal spin = lua("signals/spin.lua") : number
signal bomb = lua("signals/bomb.lua") : number
signal wrong = lua("signals/wrong.lua") : number
page "/" {
  variant "escape" when escape > 0
  variant "spin" when spin > 0
  variant "bomb" when bomb > 0
  variant "wrong" when wrong > 0
  default "home"
}
)")) << Errors();
  Decision d = Decide("/");
  EXPECT_EQ(d.variant, "home");
  EXPECT_TRUE(d.is_default);
  const LuaCounters& c = state_->counters();
  EXPECT_EQ(c.errors[static_cast<size_t>(LuaErrorKind::kRuntime)], 2u);  // os, string.rep
  EXPECT_EQ(c.errors[static_cast<size_t>(LuaErrorKind::kTimeout)], 1u);
  EXPECT_EQ(c.errors[static_cast<size_t>(LuaErrorKind::kType)], 1u);
}

TEST_F(LuaRulesTest, LuaSyntaxErrorFailsTheRulesWithTheLuaLine) {
  Write("signals/bad.lua", "return function(req)\n  return req.path ..\nend\n");
  EXPECT_FALSE(Compile(R"(
signal bad = lua("signals/bad.lua") : string
page "/" { variant "x" when bad == "/"  default "home" }
)"));
  std::string errors = Errors();
  EXPECT_NE(errors.find("site.rules:2:"), std::string::npos) << errors;
  EXPECT_NE(errors.find("signals/bad.lua:3: unexpected symbol near 'end'"), std::string::npos)
      << errors;
  ASSERT_EQ(lua_->diagnostics().items().size(), 1u);
  EXPECT_EQ(lua_->diagnostics().items()[0].line, 3);
}

}  // namespace
}  // namespace tailor
