// Lua signals: the cost of one call (sandboxed, JIT off, hooked) against a built-in signal.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "core/arena.h"
#include "core/request_view.h"
#include "lua/lua_signals.h"
#include "core/signal_registry.h"

namespace tailor {
namespace {

struct BenchRequest {
  HeaderField headers[4] = {{"Host", "example.com"},
                            {"User-Agent", "Mozilla/5.0 (X11; Linux x86_64)"},
                            {"Accept", "text/html"},
                            {"Cookie", "_ga=GA1.2.3; tier=gold; tailor_id=abcdef"}};
  RequestView view;
  alignas(16) char arena_buf[4096];
  alignas(16) char memo_buf[1024] = {};
  Arena arena{arena_buf, sizeof arena_buf};
  RequestMemo memo{memo_buf, sizeof memo_buf};
  Services services;
  EvalEnv env{view, services, arena, memo, "", true};
  BenchRequest() {
    view.method = "GET";
    view.scheme = "https";
    view.host = "example.com";
    view.path = "/shop/shoes";
    view.query = "utm_medium=email";
    view.headers = headers;
  }
};

// One signal prepared from `source`, with this thread's worker state.
struct LuaBench {
  LuaSignalSet set{SignalRegistry::Builtin()};
  std::unique_ptr<LuaWorkerState> state;
  bool ok = false;
  LuaBench(ValueType type, const char* source) {
    LuaSignalDecl decl;
    decl.name = "bench";
    decl.file = "bench.lua";
    decl.type = type;
    if (!set.PrepareSource(0, decl, source).ok()) return;
    auto created = set.CreateWorkerState();
    if (!created.ok()) return;
    state = std::move(created).value();
    ok = true;
  }
};

void BM_BuiltinSignal_Path(benchmark::State& st) {
  BenchRequest r;
  const SignalDef* def = SignalRegistry::Builtin().Find("path");
  SignalArgs args;
  for (auto _ : st) benchmark::DoNotOptimize(def->fn(args, r.env));
}
BENCHMARK(BM_BuiltinSignal_Path);

void BM_BuiltinSignal_Cookie(benchmark::State& st) {
  BenchRequest r;
  const SignalDef* def = SignalRegistry::Builtin().Find("cookie");
  SignalArgs args;
  args.str = "tier";
  for (auto _ : st) {
    r.arena.Reset();
    benchmark::DoNotOptimize(def->fn(args, r.env));
  }
}
BENCHMARK(BM_BuiltinSignal_Cookie);

void RunLua(benchmark::State& st, ValueType type, const char* source, bool via_provider) {
  LuaBench b(type, source);
  if (!b.ok) {
    st.SkipWithError("the Lua signal did not load");
    return;
  }
  BenchRequest r;
  const LuaSignalProvider& provider = b.set;
  for (auto _ : st) {
    r.arena.Reset();
    Value v = via_provider ? provider.Call(0, r.env) : b.state->Call(0, r.env);
    benchmark::DoNotOptimize(v);
  }
  if (b.state->errors_total() != 0) st.SkipWithError("the Lua signal failed");
  st.counters["lua_heap_KiB"] = static_cast<double>(b.state->memory_bytes()) / 1024;
}

// A no-op: the fixed cost of a sandboxed call (pcall, hook reset, clock read, result check).
void BM_LuaSignal_Noop(benchmark::State& st) {
  RunLua(st, ValueType::kNumber, "return function(req) return 1 end", false);
}
BENCHMARK(BM_LuaSignal_Noop);

// The same through LuaSignalProvider::Call, as the rules evaluator calls it (finds this
// thread's worker state).
void BM_LuaSignal_Noop_Provider(benchmark::State& st) {
  RunLua(st, ValueType::kNumber, "return function(req) return 1 end", true);
}
BENCHMARK(BM_LuaSignal_Noop_Provider);

// req.path: a field read, a Lua string, a copy into the arena.
void BM_LuaSignal_Path(benchmark::State& st) {
  RunLua(st, ValueType::kString, "return function(req) return req.path end", false);
}
BENCHMARK(BM_LuaSignal_Path);

// A realistic small signal: a cookie lookup and a table.
void BM_LuaSignal_Loyalty(benchmark::State& st) {
  RunLua(st, ValueType::kNumber,
         "local points = { gold = 50, silver = 20 }\n"
         "return function(req)\n"
         "  local p = points[req.cookie('tier') or ''] or 0\n"
         "  if req.query('utm_medium') == 'email' then p = p + 5 end\n"
         "  return p\n"
         "end",
         false);
}
BENCHMARK(BM_LuaSignal_Loyalty);

}  // namespace
}  // namespace tailor
