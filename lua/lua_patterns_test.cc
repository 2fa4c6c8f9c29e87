// The bounded matcher gives the same results as LuaJIT's own string functions on ordinary
// patterns, and stops the pathological ones.
#include "lua/lua_patterns.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace tailor {
namespace {

// A plain LuaJIT state with the original string library as `orig` and a copy whose pattern
// functions are the bounded ones as `ours`.
class PatternsTest : public testing::Test {
 protected:
  void SetUp() override {
    L = luaL_newstate();
    luaL_openlibs(L);
    lua_getglobal(L, "string");
    lua_setglobal(L, "orig");
    lua_newtable(L);
    lua_getglobal(L, "string");
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, -5);
    }
    lua_pop(L, 1);
    SetBoundedPatternFunctions(L, -1, 1'000'000);
    lua_setglobal(L, "ours");
  }
  void TearDown() override { lua_close(L); }

  // Runs `code`; returns its string result or the error.
  std::string Run(const char* code) {
    if (luaL_dostring(L, code) != 0) return std::string("error: ") + lua_tostring(L, -1);
    std::string out = lua_isstring(L, -1) ? lua_tostring(L, -1) : "(not a string)";
    lua_settop(L, 0);
    return out;
  }
  lua_State* L = nullptr;
};

TEST_F(PatternsTest, SameResultsAsLuaJIT) {
  std::string result = Run(R"lua(
    local function pack(ok, ...)
      local t = { ok and "ok" or "err" }
      if not ok then return t end  -- messages may differ in wording; success must not
      for i = 1, select("#", ...) do t[#t + 1] = type((select(i, ...))) .. ":" .. tostring((select(i, ...))) end
      return t
    end
    local function same(a, b) return table.concat(a, "|") == table.concat(b, "|") end
    local function gm(lib, s, p)
      local out = {}
      for a, b in lib.gmatch(s, p) do out[#out + 1] = tostring(a) .. "/" .. tostring(b) end
      return table.concat(out, ",")
    end
    local subjects = { "", "hello world", "key=val; other=x;", "  trim me  ", "a,b,,c",
                       "THE (quick) [brown] fox", "x^y$z", "2026-11-23T19:00:00Z",
                       "aaa", "f(a(b)c)d", "tab\there", "Mozilla/5.0 (iPhone; CPU OS 17_0)",
                       "a\0b", "%d%%" }
    local patterns = { "o", "o w", "^hello", "world$", "(%w+)=(%w+)", "^%s*(.-)%s*$",
                       "[^,]*", "%((%a+)%)", "%[(.-)%]", "%b()", "%f[%w]%w+", "(a*)", "a-b",
                       "()ll()", "%d+%-%d+", "^(%d%d%d%d)%-(%d%d)", "[%a_][%w_]*", "x^y",
                       "%$", "[]]", "[^%s]+", "(.)%1", "(%a)(%a)%2%1", "a?b?c?", ".-",
                       "i[%u]", "%z", "%g+", "[a-f%d]+", "", "^", "$", "%", "[a", "(()",
                       "%1", "%bx", "((((((a))))))", "[%]]" }
    local bad = {}
    local n = 0
    for _, s in ipairs(subjects) do
      for _, p in ipairs(patterns) do
        for _, init in ipairs({ 1, 3, -2, 100 }) do
          n = n + 1
          for _, fn in ipairs({ "find", "match" }) do
            local a = pack(pcall(orig[fn], s, p, init))
            local b = pack(pcall(ours[fn], s, p, init))
            if not same(a, b) then bad[#bad + 1] = fn .. "(" .. s .. "," .. p .. "," .. init .. ")" end
          end
          local a = pack(pcall(orig.find, s, p, init, true))
          local b = pack(pcall(ours.find, s, p, init, true))
          if not same(a, b) then bad[#bad + 1] = "plain find(" .. s .. "," .. p .. "," .. init .. ")" end
        end
        for _, repl in ipairs({ "<%0>", "%1", "x", function(c) return c and c:upper() end,
                                { hello = "HI", a = false } }) do
          for _, max in ipairs({ 0, 1, 100 }) do
            local a = pack(pcall(orig.gsub, s, p, repl, max))
            local b = pack(pcall(ours.gsub, s, p, repl, max))
            if not same(a, b) then bad[#bad + 1] = "gsub(" .. s .. "," .. p .. ")" end
          end
        end
        local a = pack(pcall(gm, orig, s, p))
        local b = pack(pcall(gm, ours, s, p))
        if not same(a, b) then bad[#bad + 1] = "gmatch(" .. s .. "," .. p .. ")" end
      end
    end
    return n .. " " .. #bad .. " " .. table.concat(bad, "; ", 1, math.min(#bad, 10))
  )lua");
  EXPECT_EQ(result, "2184 0 ") << result;
}

TEST_F(PatternsTest, BacktrackingIsStopped) {
  auto start = std::chrono::steady_clock::now();
  std::string r = Run(R"(
    local s = string.rep("a", 8192) .. "="
    local ok, err = pcall(ours.match, s, "(.-)=(.-);")
    local ok2, err2 = pcall(ours.find, string.rep("a", 5000), "a*a*a*b")
    local ok3, err3 = pcall(ours.gsub, string.rep("a", 5000), "a-a-b", "")
    return tostring(ok) .. " " .. tostring(ok2) .. " " .. tostring(ok3) .. " " .. err)");
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.rfind("false false false ", 0), 0u) << r;
  EXPECT_NE(r.find("pattern too complex"), std::string::npos) << r;
  EXPECT_LT(ms, 300);
  // Nesting deeper than the matcher's limit is an error, not a C stack overflow.
  r = Run("local ok, err = pcall(ours.match, string.rep('a', 5000), string.rep('a?', 5000)) "
          "return err");
  EXPECT_NE(r.find("pattern too complex"), std::string::npos) << r;
  // The budget is per call: many cheap calls are fine.
  r = Run("local n = 0 for i = 1, 10000 do if ours.find('key=value', '(%w+)=(%w+)') then "
          "n = n + 1 end end return tostring(n)");
  EXPECT_EQ(r, "10000");
}

// Pathological shapes must fail on the step budget, and fast.
class PatternBudgetTest : public PatternsTest {
 protected:
  // Runs `code`, which returns `tostring(ok) .. " " .. tostring(err)` of a pcall.
  void ExpectBudgetError(const char* what, const std::string& code) {
    auto start = std::chrono::steady_clock::now();
    std::string r = Run(code.c_str());
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(r.rfind("false ", 0), 0u) << what << ": " << r;
    EXPECT_NE(r.find("pattern too complex"), std::string::npos) << what << ": " << r;
    EXPECT_LT(ms, 300) << what;
  }
};

// A back-reference to a position capture never matches, and must still cost its step. Its
// length is -2: read as a size and charged, it would wrap the step counter and give steps
// back, and "()x*%1" (each start scans the rest of the subject) would run quadratically
// without nearing the budget.
TEST_F(PatternBudgetTest, PositionCaptureBackReferenceCannotRefundSteps) {
  const std::string subject = "local s = string.rep('x', 20000) ";
  for (const char* p : {"()x*%1", "()x-%1$", "()(x*)%1y"}) {
    ExpectBudgetError(p,
                      subject + "local ok, err = pcall(ours.find, s, '" + p +
                          "') return tostring(ok) .. ' ' .. tostring(err)");
  }
  // Still 5.1's result on small subjects: such a back-reference does not match.
  EXPECT_EQ(Run("return tostring(ours.find('xxx', '()x*%1'))"), "nil");
  EXPECT_EQ(Run("return tostring(orig.find('xxx', '()x*%1'))"), "nil");
}

// A bracket class is scanned item by item for every character it is tested on: a class of
// 5,000 items (10,000 bytes) costs 10,000 steps per test, not one.
TEST_F(PatternBudgetTest, LongBracketClassCostsItsLength) {
  const std::string prelude =
      "local s = string.rep('a', 20000) local cls = '[' .. string.rep('%d', 5000) .. ']' ";
  for (const char* p : {"cls", "cls .. '*b'", "cls .. '-b'", "'a' .. cls .. '?b'",
                        "'%f' .. cls"}) {
    ExpectBudgetError(p,
                      prelude + "local ok, err = pcall(ours.find, s, " + p +
                          ") return tostring(ok) .. ' ' .. tostring(err)");
  }
  // gsub with a long replacement at every match is charged too.
  ExpectBudgetError("gsub",
                    "local ok, err = pcall(ours.gsub, string.rep('a', 20000), 'a', "
                    "string.rep('b', 1000)) return tostring(ok) .. ' ' .. tostring(err)");
  // Ordinary classes on ordinary subjects stay well within the budget.
  EXPECT_EQ(Run("return tostring(ours.find(string.rep('x', 8000) .. '=1', '[%w_%-]+=(%d)'))"),
            "1");
}

}  // namespace
}  // namespace tailor
