// Lua signals: values, the request view, the sandbox (escapes refused, loops, bombs and
// allocations stopped, the state usable afterwards), config-time diagnostics, threads.
#include "lua/lua_signals.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <lua.hpp>

#include "core/arena.h"
#include "core/request_view.h"
#include "core/signal_registry.h"
#include "signals/request_signals.h"

namespace tailor {
namespace {

// The request signals plus one list signal and one consent-gated signal: enough for
// req.signal without depending on the other families.
Value TestTags(const SignalArgs&, EvalEnv&) {
  static const std::string_view kTags[] = {"red", "blue"};
  return Value::List(kTags);
}
Value TestPrivate(const SignalArgs&, EvalEnv&) { return Value::String("secret"); }

const SignalRegistry& TestRegistry() {
  static const SignalRegistry registry = [] {
    SignalRegistry r;
    RegisterRequestSignals(r);
    r.Add({"t.tags", ValueType::kStringList, SignalArg::kNone, 1, TestTags, "tags", ""});
    SignalDef priv{"t.private", ValueType::kString, SignalArg::kNone, 1, TestPrivate, "", ""};
    priv.needs_consent = true;
    r.Add(priv);
    return r;
  }();
  return registry;
}

// One request: headers, an arena and a memo, as the glue builds them.
struct Request {
  std::vector<HeaderField> headers;
  RequestView view;
  alignas(16) char arena_buf[4096];
  alignas(16) char memo_buf[256] = {};
  Arena arena{arena_buf, sizeof arena_buf};
  RequestMemo memo{memo_buf, sizeof memo_buf};
  Services services;
  EvalEnv env{view, services, arena, memo, "", true};

  explicit Request(std::string_view path = "/shop/shoes", std::string_view query = "",
                   std::vector<HeaderField> h = {})
      : headers(std::move(h)) {
    view.method = "GET";
    view.scheme = "https";
    view.host = "example.com";
    view.path = path;
    view.query = query;
    view.headers = headers;
  }
};

LuaSignalDecl Decl(std::string name, ValueType type) {
  LuaSignalDecl d;
  d.name = std::move(name);
  d.file = "signals/" + d.name + ".lua";
  d.file_as_written = d.file;
  d.type = type;
  return d;
}

// Whether `status` is OK; its message goes to *message.
bool Succeeded(const Status& status, std::string* message) {
  *message = status.message();
  return status.ok();
}

// A set with the given (name, type, source) signals, all expected to prepare.
struct Fixture {
  LuaSignalSet set;
  std::unique_ptr<LuaWorkerState> state;

  explicit Fixture(LuaLimits limits = {}) : set(TestRegistry(), limits) {}

  size_t Add(std::string name, ValueType type, std::string_view source) {
    size_t index = set.size();
    Status prepared = set.PrepareSource(index, Decl(std::move(name), type), source);
    EXPECT_TRUE(prepared.ok()) << prepared.message();
    return index;
  }
  void Start() {
    auto created = set.CreateWorkerState();
    ASSERT_TRUE(created.ok()) << created.status().message();
    state = std::move(created).value();
    ASSERT_NE(state, nullptr);
  }
  uint64_t Errors(LuaErrorKind k) const {
    return state->counters().errors[static_cast<size_t>(k)];
  }
};

TEST(LuaSignalsTest, StringNumberBoolFromTheRequest) {
  Fixture f;
  size_t s = f.Add("tier", ValueType::kString, R"(
    return function(req)
      local c = req.cookie("tier")
      if c then return c .. "@" .. req.host end
      return req.method .. " " .. req.path
    end)");
  size_t n = f.Add("loyalty", ValueType::kNumber, R"(
    return function(req)
      local visits = tonumber(req.query("visits") or "0")
      local bonus = req.header("X-Member") == "gold" and 10 or 0
      return visits * 2 + bonus
    end)");
  size_t b = f.Add("is_shop", ValueType::kBool, R"(
    return function(req) return req.path:find("^/shop/") ~= nil end)");
  f.Start();

  Request r1("/shop/shoes", "visits=3", {{"Cookie", "a=1; tier=pl%40tinum"}, {"x-member", "gold"}});
  Value v = f.state->Call(s, r1.env);
  ASSERT_EQ(v.type, ValueType::kString);
  EXPECT_EQ(v.str, "pl@tinum@example.com");  // cookie percent-decoded like the rules' cookie()
  // The returned string lives in the request arena, not in the Lua heap.
  EXPECT_GE(v.str.data(), r1.arena_buf);
  EXPECT_LT(v.str.data(), r1.arena_buf + sizeof r1.arena_buf);
  v = f.state->Call(n, r1.env);
  ASSERT_EQ(v.type, ValueType::kNumber);
  EXPECT_EQ(v.number, 16);
  v = f.state->Call(b, r1.env);
  ASSERT_EQ(v.type, ValueType::kBool);
  EXPECT_TRUE(v.boolean);

  Request r2("/about");
  v = f.state->Call(s, r2.env);
  EXPECT_EQ(v.str, "GET /about");
  EXPECT_EQ(f.state->Call(n, r2.env).number, 0);
  v = f.state->Call(b, r2.env);
  ASSERT_EQ(v.type, ValueType::kBool);
  EXPECT_FALSE(v.boolean);
  EXPECT_EQ(f.state->errors_total(), 0u);
  EXPECT_EQ(f.state->counters().calls, 6u);
}

TEST(LuaSignalsTest, OtherSignalsThroughReqSignal) {
  Fixture f;
  size_t s = f.Add("mix", ValueType::kString, R"(
    return function(req)
      local tags = req.signal("t.tags")
      return req.signal("path") .. "|" .. req:signal("header", "X-A") .. "|" ..
             table.concat(tags, ",") .. "|" .. tostring(req.signal("t.private"))
    end)");
  size_t unknown = f.Add("unknown", ValueType::kString,
                         "return function(req) return req.signal('no.such') end");
  size_t field = f.Add("field", ValueType::kString, "return function(req) return req.heder end");
  f.Start();
  Request r("/p", "", {{"X-A", "1"}});
  EXPECT_EQ(f.state->Call(s, r.env).str, "/p|1|red,blue|secret");
  r.env.consent = false;  // consent-gated signals are nil without consent
  EXPECT_EQ(f.state->Call(s, r.env).str, "/p|1|red,blue|nil");
  EXPECT_TRUE(f.state->Call(unknown, r.env).missing());
  EXPECT_TRUE(f.state->Call(field, r.env).missing());
  EXPECT_EQ(f.Errors(LuaErrorKind::kRuntime), 2u);
  std::string_view msg;
  uint64_t errors = 0;
  ASSERT_TRUE(f.state->TakeLogMessage(0, &msg, &errors));
  EXPECT_NE(msg.find("req has no field 'heder'"), std::string_view::npos) << msg;
  EXPECT_NE(msg.find("signals/field.lua:1:"), std::string_view::npos) << msg;
}

// The request view and the functions are made once per worker: a call that creates no
// strings or tables leaves the Lua heap exactly as it was.
TEST(LuaSignalsTest, CallsAllocateNothingInTheLuaHeap) {
  Fixture f;
  size_t noop = f.Add("noop", ValueType::kNumber, "return function(req) return 1 end");
  size_t fields = f.Add("fields", ValueType::kBool,
                        "return function(req) return req.header ~= nil and req.signal ~= nil end");
  f.Start();
  Request r;
  f.state->Call(noop, r.env);
  f.state->Call(fields, r.env);
  size_t before = f.state->memory_bytes();
  for (int i = 0; i < 10000; ++i) {
    f.state->Call(noop, r.env);
    f.state->Call(fields, r.env);
  }
  EXPECT_EQ(f.state->memory_bytes(), before);
  EXPECT_EQ(f.state->errors_total(), 0u);
}

TEST(LuaSignalsTest, NilIsMissingWithoutError) {
  Fixture f;
  size_t s = f.Add("maybe", ValueType::kString,
                   "return function(req) return req.header('X-None') end");
  f.Start();
  Request r;
  EXPECT_TRUE(f.state->Call(s, r.env).missing());
  EXPECT_EQ(f.state->counters().nil_results, 1u);
  EXPECT_EQ(f.state->errors_total(), 0u);
}

TEST(LuaSignalsTest, WrongReturnTypeIsMissing) {
  Fixture f;
  size_t a = f.Add("a", ValueType::kNumber, "return function(req) return 'twelve' end");
  size_t b = f.Add("b", ValueType::kString, "return function(req) return 12 end");
  size_t c = f.Add("c", ValueType::kBool, "return function(req) return {} end");
  size_t d = f.Add("d", ValueType::kNumber, "return function(req) return 0/0 end");
  size_t e = f.Add("e", ValueType::kString, "return function(req) return ('x'):rep(5000) end");
  f.Start();
  Request r;
  for (size_t i : {a, b, c, d, e}) EXPECT_TRUE(f.state->Call(i, r.env).missing()) << i;
  EXPECT_EQ(f.Errors(LuaErrorKind::kType), 5u);
  std::string_view msg;
  uint64_t errors = 0;
  ASSERT_TRUE(f.state->TakeLogMessage(0, &msg, &errors));
  EXPECT_EQ(errors, 5u);
  EXPECT_NE(msg.find("lua signal 'e' (type)"), std::string_view::npos) << msg;
}

TEST(LuaSignalsTest, ArenaFullIsMissing) {
  Fixture f;
  size_t s = f.Add("long", ValueType::kString, "return function(req) return ('y'):rep(100) end");
  f.Start();
  Request r;
  r.arena.Allocate(sizeof r.arena_buf - 10, 1);
  EXPECT_TRUE(f.state->Call(s, r.env).missing());
  EXPECT_EQ(f.Errors(LuaErrorKind::kScratch), 1u);
}

// Every way out of the sandbox is refused; each leaves the state usable.
TEST(LuaSignalsTest, SandboxEscapesAreRefused) {
  const char* escapes[] = {
      "os.execute('touch /tmp/tailor-lua-escaped')",
      "io.open('/etc/passwd')",
      "require('os')",
      "require('ffi')",
      "load('return 1')",
      "loadstring('return 1')",
      "loadfile('/etc/passwd')",
      "dofile('/etc/passwd')",
      "debug.getinfo(1)",
      "local _ = ffi.C",
      "jit.on()",
      "local _ = package.loaded.os",
      "collectgarbage('stop')",
      "setfenv(1, {})",
      "local _ = getfenv(0).os",
      "rawset(_G, 'x', 1)",
      "local _ = getmetatable('').__index.dump",
      "string.dump(function() end)",
      "module('m')",
      "newproxy(true)",
      "coroutine.create(print)",
      "print('x')",
      "local _ = _G.os",
      "x = 1",  // globals are read-only
  };
  Fixture f;
  std::vector<size_t> ids;
  for (size_t i = 0; i < std::size(escapes); ++i)
    ids.push_back(f.Add("escape" + std::to_string(i), ValueType::kString,
                        std::string("return function(req) ") + escapes[i] +
                            " return 'escaped' end"));
  size_t ok = f.Add("ok", ValueType::kString, "return function(req) return req.path end");
  f.Start();
  Request r("/fine");
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_TRUE(f.state->Call(ids[i], r.env).missing()) << escapes[i];
    EXPECT_EQ(f.state->Call(ok, r.env).str, "/fine") << "after " << escapes[i];
  }
  EXPECT_EQ(f.Errors(LuaErrorKind::kRuntime), ids.size());
  FILE* escaped = fopen("/tmp/tailor-lua-escaped", "r");
  EXPECT_EQ(escaped, nullptr);
  if (escaped) fclose(escaped);
}

TEST(LuaSignalsTest, EachSignalHasItsOwnLibraryCopies) {
  Fixture f;
  size_t a = f.Add("a", ValueType::kString,
                   "return function(req) string.upper = nil; return 'a' end");
  size_t b = f.Add("b", ValueType::kString,
                   "return function(req) return string.upper('b') .. ('c'):upper() end");
  f.Start();
  Request r;
  EXPECT_EQ(f.state->Call(a, r.env).str, "a");
  EXPECT_EQ(f.state->Call(b, r.env).str, "BC");
}

// Loops are stopped by the instruction budget, including the loops LuaJIT would compile to
// machine code (the JIT is off in the sandbox: its traces do not run the count hook), and
// including a loop that tries to swallow the timeout with pcall.
TEST(LuaSignalsTest, InfiniteLoopsAreStopped) {
  Fixture f;
  const char* loops[] = {
      "while true do end",
      "local x = 0 for i = 1, 1e12 do x = x + i end return tostring(x)",
      "repeat local t = {} until false",
      "while true do pcall(function() while true do end end) end",
      "local function f() return f() end return f()",  // a tail call: loops, no stack
  };
  std::vector<size_t> ids;
  for (size_t i = 0; i < std::size(loops); ++i)
    ids.push_back(f.Add("loop" + std::to_string(i), ValueType::kString,
                        std::string("return function(req) ") + loops[i] + " end"));
  size_t ok = f.Add("ok", ValueType::kNumber, "return function(req) return 42 end");
  f.Start();
  Request r;
  for (size_t i = 0; i < ids.size(); ++i) {
    auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(f.state->Call(ids[i], r.env).missing()) << loops[i];
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(ms, 500) << loops[i];
    EXPECT_EQ(f.state->Call(ok, r.env).number, 42) << "after " << loops[i];
  }
  EXPECT_EQ(f.Errors(LuaErrorKind::kTimeout), ids.size());
}

TEST(LuaSignalsTest, TimeBudgetStopsSlowCalls) {
  LuaLimits limits;
  limits.max_instructions = 1ull << 40;  // only the clock can stop it
  limits.max_call_us = 20'000;
  Fixture f(limits);
  size_t s = f.Add("slow", ValueType::kString, "return function(req) while true do end end");
  f.Start();
  Request r;
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(f.state->Call(s, r.env).missing());
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(ms, 15);
  EXPECT_LT(ms, 500);
  EXPECT_EQ(f.Errors(LuaErrorKind::kTimeout), 1u);
  std::string_view msg;
  uint64_t errors = 0;
  ASSERT_TRUE(f.state->TakeLogMessage(0, &msg, &errors));
  EXPECT_NE(msg.find("time budget"), std::string_view::npos) << msg;
}

TEST(LuaSignalsTest, DeepRecursionIsStopped) {
  Fixture f;
  size_t s = f.Add("deep", ValueType::kNumber,
                   "local function f(n) return 1 + f(n + 1) end "
                   "return function(req) return f(1) end");
  size_t ok = f.Add("ok", ValueType::kNumber, "return function(req) return 1 end");
  f.Start();
  Request r;
  EXPECT_TRUE(f.state->Call(s, r.env).missing());
  EXPECT_EQ(f.state->errors_total(), 1u);
  EXPECT_EQ(f.state->Call(ok, r.env).number, 1);
}

TEST(LuaSignalsTest, StringRepBombsAreRefused) {
  Fixture f;
  size_t a = f.Add("a", ValueType::kString, "return function(req) return ('x'):rep(1e10) end");
  size_t b = f.Add("b", ValueType::kString,
                   "return function(req) return string.rep('xy', 1e9, ',') end");
  size_t c = f.Add("c", ValueType::kNumber,  // under the rep cap: 1 MB, fine
                   "return function(req) return #string.rep('x', 1e6) end");
  size_t empty = f.Add("empty", ValueType::kNumber,  // nothing to repeat: instant
                       "return function(req) return #string.rep('', 1e15) + "
                       "#(''):rep(1e15, '') + #tostring(req) end");
  f.Start();
  Request r;
  EXPECT_TRUE(f.state->Call(a, r.env).missing());
  EXPECT_TRUE(f.state->Call(b, r.env).missing());
  EXPECT_EQ(f.Errors(LuaErrorKind::kRuntime), 2u);
  EXPECT_EQ(f.state->Call(c, r.env).number, 1e6);
  EXPECT_EQ(f.state->Call(empty, r.env).number, 3);  // 0 + 0 + #"req"
}

// Doubling a string and filling a table are stopped by the heap cap (the instruction budget
// is raised so that memory, not time, is what stops them), and the heap is reclaimed.
TEST(LuaSignalsTest, MemoryCapStopsAllocations) {
  LuaLimits limits;
  limits.max_memory_bytes = 8u << 20;
  limits.max_instructions = 1ull << 40;
  limits.max_call_us = 10'000'000;
  Fixture f(limits);
  size_t concat = f.Add("concat", ValueType::kNumber,
                        "return function(req) local s = 'x' for i = 1, 40 do s = s .. s end "
                        "return #s end");
  size_t table = f.Add("table", ValueType::kNumber,
                       "return function(req) local t = {} for i = 1, 1e9 do t[i] = i end "
                       "return #t end");
  size_t caught = f.Add("caught", ValueType::kNumber,
                        "return function(req) local t = {} "
                        "pcall(function() for i = 1, 1e9 do t[i] = {} end end) "
                        "local u = {} for i = 1, 1e9 do u[i] = i end return 1 end");
  size_t ok = f.Add("ok", ValueType::kNumber,
                    "return function(req) local t = {} for i = 1, 1000 do t[i] = i end "
                    "return #t end");
  f.Start();
  size_t baseline = f.state->memory_bytes();
  EXPECT_LT(baseline, 1u << 20);
  Request r;
  for (size_t s : {concat, table, caught}) {
    EXPECT_TRUE(f.state->Call(s, r.env).missing()) << s;
    EXPECT_LT(f.state->memory_bytes(), baseline + (1u << 20)) << "garbage not reclaimed " << s;
    EXPECT_EQ(f.state->Call(ok, r.env).number, 1000);
  }
  EXPECT_EQ(f.Errors(LuaErrorKind::kMemory), 3u);
}

// Pattern functions run in C, out of the hook's reach: the sandbox's matcher has a step
// budget. A backtracking pattern over an attacker's 8 KiB header is stopped quickly.
TEST(LuaSignalsTest, PatternMatchingIsBounded) {
  Fixture f;
  size_t parse = f.Add("parse", ValueType::kString, R"(
    return function(req)
      local k, v = (req.header("X-Pair") or ""):match("^(%w+)=(%w+)$")
      local n = 0
      for w in ("a,b,c"):gmatch("[^,]+") do n = n + 1 end
      return (k or "?") .. (v or "?") .. n .. (string.gsub("a-b", "%-", "+"))
    end)");
  size_t attacked = f.Add("attacked", ValueType::kString, R"(
    return function(req)
      local a, b = (req.header("X-Long") or ""):match("(.-)=(.-);")
      return a
    end)");
  size_t plain = f.Add("plain", ValueType::kNumber,
                       "return function(req) "
                       "return (('a'):rep(1e6) .. 'b'):find('b', 1, true) end");
  f.Start();
  const std::string long_value = std::string(8192, 'a') + "=";  // outlives the request view
  Request r("/", "", {{"X-Pair", "key=val"}, {"X-Long", long_value}});
  EXPECT_EQ(f.state->Call(parse, r.env).str, "keyval3a+b");
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(f.state->Call(attacked, r.env).missing());
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(ms, 100);
  // Stopped by the step budget (or, on a slow machine, by the clock check in the matcher).
  EXPECT_EQ(f.Errors(LuaErrorKind::kRuntime) + f.Errors(LuaErrorKind::kTimeout), 1u);
  std::string_view msg;
  uint64_t errors = 0;
  ASSERT_TRUE(f.state->TakeLogMessage(0, &msg, &errors));
  EXPECT_NE(msg.find("pattern"), std::string_view::npos) << msg;
  // Plain searches are linear: a 1 MB subject is fine.
  EXPECT_EQ(f.state->Call(plain, r.env).number, 1e6 + 1);
}

// Many pattern calls, each under the step budget, between two hook points: the matcher
// reads the clock too, so the call stops near its time budget (even when pcall swallows the
// matcher's error) instead of a hook period's worth of matching later.
TEST(LuaSignalsTest, PatternLoopsRespectTheTimeBudget) {
  LuaLimits limits;
  limits.max_call_us = 20'000;
  Fixture f(limits);
  size_t s = f.Add("loop", ValueType::kNumber, R"(
    local s = string.rep("a", 150)
    return function(req)
      local n = 0
      for i = 1, 1e9 do if pcall(string.find, s, "a*a*b") then n = n + 1 end end
      return n
    end)");
  f.Start();
  Request r;
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(f.state->Call(s, r.env).missing());
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(ms, 120);
  EXPECT_EQ(f.Errors(LuaErrorKind::kTimeout), 1u);
}

// Library functions run in C between hook points. table.sort gets a Lua comparator, so a
// sort runs through the hook and counts against the instruction budget (a C sort would
// finish here: the clock budget is out of the way); calls on large inputs check the clock.
TEST(LuaSignalsTest, LibraryCallsCountAgainstTheBudget) {
  LuaLimits limits;
  limits.max_call_us = 10'000'000;
  Fixture f(limits);
  size_t sort = f.Add("sort", ValueType::kNumber, R"(
    local t = {}
    for i = 1, 30000 do t[i] = -i end
    return function(req) table.sort(t) return t[1] end)");
  size_t small = f.Add("small", ValueType::kNumber, R"(
    return function(req)
      local t = {3, 1, 2}
      table.sort(t)
      table.sort(t, function(a, b) return a > b end)
      return t[1] * 100 + t[3]
    end)");
  f.Start();
  Request r;
  EXPECT_TRUE(f.state->Call(sort, r.env).missing());
  EXPECT_EQ(f.Errors(LuaErrorKind::kTimeout), 1u);
  EXPECT_EQ(f.state->Call(small, r.env).number, 301);

  LuaLimits timed;
  timed.max_instructions = 1ull << 40;
  timed.max_call_us = 20'000;
  Fixture g(timed);
  size_t upper = g.Add("upper", ValueType::kNumber, R"(
    local s = string.rep("x", 1e6)
    return function(req)
      local n = 0
      for i = 1, 1e9 do n = n + #s:upper() end
      return n
    end)");
  g.Start();
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(g.state->Call(upper, r.env).missing());
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(ms, 200);
  EXPECT_EQ(g.Errors(LuaErrorKind::kTimeout), 1u);
}

TEST(LuaSignalsTest, SyntaxErrorIsADiagnosticWithTheLine) {
  LuaSignalSet set(TestRegistry());
  std::string error;
  EXPECT_FALSE(Succeeded(set.PrepareSource(0, Decl("bad", ValueType::kNumber),
                                           "return function(req)\n  local x = = 1\nend\n"),
                         &error));
  EXPECT_EQ(error.rfind("signals/bad.lua:2: ", 0), 0u) << error;
  ASSERT_EQ(set.diagnostics().items().size(), 1u);
  const Diagnostic& d = set.diagnostics().items()[0];
  EXPECT_EQ(d.file, "signals/bad.lua");
  EXPECT_EQ(d.line, 2);
  EXPECT_NE(d.message.find("unexpected symbol near '='"), std::string::npos) << d.message;
  EXPECT_EQ(d.source_line, "  local x = = 1");
}

TEST(LuaSignalsTest, LoadErrorsAreDiagnostics) {
  LuaSignalSet set(TestRegistry());
  std::string error;
  EXPECT_FALSE(
      Succeeded(set.PrepareSource(0, Decl("notfn", ValueType::kNumber), "return 42"), &error));
  EXPECT_NE(error.find("must return a function"), std::string::npos) << error;
  EXPECT_FALSE(Succeeded(set.PrepareSource(1, Decl("throws", ValueType::kNumber),
                                           "\n\nlocal t = nil\nreturn t.x"),
                         &error));
  EXPECT_EQ(error.rfind("signals/throws.lua:4: ", 0), 0u) << error;
  EXPECT_FALSE(Succeeded(
      set.PrepareSource(2, Decl("spins", ValueType::kNumber), "while true do end"), &error));
  EXPECT_NE(error.find("budget"), std::string::npos) << error;
  EXPECT_FALSE(Succeeded(set.PrepareSource(3, Decl("escapes", ValueType::kNumber),
                                           "local f = io.open('/etc/passwd')"),
                         &error));
  EXPECT_NE(error.find("undefined global 'io'"), std::string::npos) << error;
  EXPECT_FALSE(Succeeded(set.Prepare(4, Decl("missing", ValueType::kNumber)), &error));
  EXPECT_NE(error.find("cannot read signals/missing.lua"), std::string::npos) << error;
  EXPECT_EQ(set.diagnostics().error_count(), 5u);
  EXPECT_FALSE(set.Find("notfn").has_value());
}

// LuaJIT bytecode of `chunk`, as string.dump writes it (what an attacker would put in a
// .lua file: LuaJIT loads bytecode without verifying it).
std::string Bytecode(const char* chunk) {
  lua_State* L = luaL_newstate();
  luaL_openlibs(L);
  std::string out;
  lua_getglobal(L, "string");
  lua_getfield(L, -1, "dump");
  if (luaL_loadstring(L, chunk) == 0 && lua_pcall(L, 1, 1, 0) == 0) {
    size_t n = 0;
    const char* s = lua_tolstring(L, -1, &n);
    out.assign(s, n);
  }
  lua_close(L);
  return out;
}

TEST(LuaSignalsTest, BytecodeIsRefused) {
  // A chunk that would prepare fine as source.
  const std::string bc = Bytecode("return function(req) return 'x' end");
  ASSERT_GT(bc.size(), 4u);
  ASSERT_EQ(bc.substr(0, 3), "\x1bLJ");
  LuaSignalSet set(TestRegistry());
  std::string error;
  EXPECT_FALSE(Succeeded(set.PrepareSource(0, Decl("bc", ValueType::kString), bc), &error));
  EXPECT_EQ(error.rfind("signals/bc.lua: ", 0), 0u) << error;
  EXPECT_NE(error.find("bytecode"), std::string::npos) << error;
  // Behind a "#!" line LuaJIT's lexer refuses bytecode itself, whatever the mode.
  EXPECT_FALSE(Succeeded(
      set.PrepareSource(1, Decl("shebang", ValueType::kString), "#!/x\n" + bc), &error));
  // The file read from disk: the same refusal, naming the file.
  std::string path = testing::TempDir() + "tailor_lua_bytecode.lua";
  {
    std::ofstream out(path, std::ios::binary);
    out << bc;
  }
  LuaSignalDecl decl = Decl("file", ValueType::kString);
  decl.file = path;
  EXPECT_FALSE(Succeeded(set.Prepare(2, decl), &error));
  EXPECT_EQ(error.rfind(path + ": ", 0), 0u) << error;
  EXPECT_NE(error.find("bytecode"), std::string::npos) << error;
  std::remove(path.c_str());
  EXPECT_EQ(set.diagnostics().error_count(), 3u);
  EXPECT_FALSE(set.Find("bc").has_value());
}

TEST(LuaSignalsTest, PrepareReadsTheFile) {
  std::string path = testing::TempDir() + "tailor_lua_loyalty.lua";
  {
    std::ofstream out(path);
    out << "local weights = { gold = 3, silver = 2 }\n"
           "return function(req) return weights[req.cookie('tier') or ''] or 1 end\n";
  }
  LuaSignalSet set(TestRegistry());
  LuaSignalDecl decl = Decl("loyalty", ValueType::kNumber);
  decl.file = path;
  Status prepared = set.Prepare(0, decl);
  ASSERT_TRUE(prepared.ok()) << prepared.message();
  EXPECT_EQ(set.Find("loyalty"), 0u);
  auto state = set.CreateWorkerState();
  ASSERT_TRUE(state.ok()) << state.status().message();
  ASSERT_NE(state.value(), nullptr);
  Request r("/", "", {{"Cookie", "tier=gold"}});
  // Through the provider interface, as the rules evaluator calls it.
  const LuaSignalProvider& provider = set;
  EXPECT_EQ(provider.Call(0, r.env).number, 3);
  std::remove(path.c_str());
}

TEST(LuaSignalsTest, OneStatePerThread) {
  LuaSignalSet set(TestRegistry());
  Status prepared = set.PrepareSource(0, Decl("count", ValueType::kNumber),
                                      "local calls = 0\n"
                                      "return function(req) calls = calls + 1 return calls end");
  ASSERT_TRUE(prepared.ok()) << prepared.message();
  Request r;
  // No worker state on this thread yet: missing, counted.
  EXPECT_TRUE(set.Call(0, r.env).missing());
  EXPECT_EQ(set.calls_without_state(), 1u);

  std::vector<double> last(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&set, &last, t] {
      auto state = set.CreateWorkerState();
      if (!state.ok()) return;
      Request req;
      for (int i = 0; i < 1000; ++i) last[t] = set.Call(0, req.env).number;
    });
  }
  for (auto& th : threads) th.join();
  // Each thread's state counted its own calls: no state is shared.
  for (double v : last) EXPECT_EQ(v, 1000);
  EXPECT_EQ(set.calls_without_state(), 1u);
  EXPECT_TRUE(set.Call(0, r.env).missing());  // the threads' states are gone with them
}

TEST(LuaSignalsTest, ErrorLogIsRateLimited) {
  Fixture f;
  size_t s = f.Add("boom", ValueType::kNumber, "return function(req) error('boom') end");
  f.Start();
  Request r;
  std::string_view msg;
  uint64_t errors = 0;
  EXPECT_FALSE(f.state->TakeLogMessage(0, &msg, &errors));  // nothing yet
  f.state->Call(s, r.env);
  f.state->Call(s, r.env);
  ASSERT_TRUE(f.state->TakeLogMessage(10'000, &msg, &errors));
  EXPECT_EQ(errors, 2u);
  EXPECT_NE(msg.find("signals/boom.lua:1: boom"), std::string_view::npos) << msg;
  f.state->Call(s, r.env);
  EXPECT_FALSE(f.state->TakeLogMessage(10'500, &msg, &errors));  // within the interval
  f.state->Call(s, r.env);
  ASSERT_TRUE(f.state->TakeLogMessage(11'000, &msg, &errors));
  EXPECT_EQ(errors, 2u);
  EXPECT_EQ(f.Errors(LuaErrorKind::kRuntime), 4u);
}

}  // namespace
}  // namespace tailor
