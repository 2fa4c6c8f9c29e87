// User-defined signals in LuaJIT: `signal loyalty = lua("signals/loyalty.lua") : number`.
//
// Lifecycle (the nginx glue; tests and tailorc do the same on one thread):
//   config time   auto lua = std::make_shared<LuaSignalSet>(SignalRegistry::Builtin());
//                 options.lua = lua;  RuleSet::Load(path, registry, diags, options);
//                 The rules checker calls lua->Prepare() for each declaration: the file is
//                 read, compiled and its chunk run once in a scratch sandbox, so syntax and
//                 load errors fail `nginx -t` with FILE:LINE (also in lua->diagnostics()).
//   worker start  auto state = lua->CreateWorkerState();   (init_process; a Result)
//                 One LuaJIT state per worker with every function compiled and referenced.
//                 It binds itself to the calling thread; destroy it on that thread
//                 (exit_process) before the LuaSignalSet.
//   per request   the Evaluator calls lua->Call(index, env) lazily, at most once per request
//                 (its slot memo); Call finds this thread's worker state. After the request
//                 the glue may read state->errors_total() (changed: TAILOR_ERR_LUA) and
//                 state->TakeLogMessage(now_ms, ...) for its rate-limited error log.
//
// The Lua file returns a function; it receives a read-only `req` and returns a string, a
// number, a bool or nil (missing): see lua/README.md. An error, a timeout, a memory refusal,
// or a result of the wrong type gives a missing value and a counter by kind; the request is
// served.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/diagnostic.h"
#include "core/status.h"
#include "core/value.h"
#include "lua/lua_limits.h"
#include "rules/declarations.h"
#include "rules/extensions.h"
#include "core/signal_registry.h"

struct lua_State;  // lua.h, kept out of this header

namespace tailor {

class LuaSandbox;
class LuaWorkerState;

// Why a call gave a missing value (besides `return nil`, which is not an error).
enum class LuaErrorKind : unsigned char {
  kRuntime,    // the script raised an error (including sandbox refusals: io, os, rawset, ...)
  kTimeout,    // instruction or time budget exhausted
  kMemory,     // the worker's Lua heap cap was reached
  kType,       // the result's type is not the declared one (or a NaN, or a too long string)
  kScratch,    // the request arena could not hold the returned string
  kNotLoaded,  // no worker state on this thread, or the signal failed to load in it
  kCount
};
const char* LuaErrorKindName(LuaErrorKind kind);  // "runtime", "timeout", "memory", ...

struct LuaCounters {
  uint64_t calls = 0;
  uint64_t nil_results = 0;  // `return nil`: missing, not an error
  uint64_t errors[static_cast<size_t>(LuaErrorKind::kCount)] = {};
};

// Config-time set of Lua signals; the rules' LuaSignalProvider. Immutable once the rules are
// compiled, shared by all workers (each worker has its own LuaWorkerState).
class LuaSignalSet final : public LuaSignalProvider {
 public:
  explicit LuaSignalSet(const SignalRegistry& registry = SignalRegistry::Builtin(),
                        LuaLimits limits = {});
  ~LuaSignalSet() override;

  // LuaSignalProvider. Prepare reads decl.file and checks it (see PrepareSource).
  Status Prepare(size_t index, const LuaSignalDecl& decl) override;
  // Request time: this thread's worker state computes the value (missing without one).
  Value Call(size_t index, EvalEnv& env) const override;

  // Prepare with the source given (tests, tools). Compiles it (syntax), runs the chunk once
  // in a sandbox and checks it returns a function. On failure: an error status saying
  // "FILE:LINE: message", and a Diagnostic (file = decl.file, line from Lua) is recorded.
  Status PrepareSource(size_t index, const LuaSignalDecl& decl, std::string_view source);

  // Worker start: a LuaJIT state with every prepared signal loaded, bound to this thread.
  // An error when the state cannot be created. A signal that fails to load in it (it did at
  // config time, so only under memory pressure) is missing, kind kNotLoaded.
  Result<std::unique_ptr<LuaWorkerState>> CreateWorkerState() const;

  size_t size() const { return signals_.size(); }
  const LuaSignalDecl& decl(size_t index) const { return signals_[index].decl; }
  std::optional<size_t> Find(std::string_view name) const;  // index of a prepared signal
  const Diagnostics& diagnostics() const { return diagnostics_; }
  const LuaLimits& limits() const { return limits_; }
  const SignalRegistry& registry() const { return *registry_; }
  // Built-in signal by name without allocating (req.signal from Lua).
  const SignalDef* FindBuiltin(std::string_view name) const;
  // Calls made on a thread without a worker state of this set (a glue bug, should stay 0).
  uint64_t calls_without_state() const { return calls_without_state_.load(); }

 private:
  friend class LuaWorkerState;
  struct Prepared {
    LuaSignalDecl decl;
    std::string source;
    std::string chunk_name;  // "@" + file: Lua messages then read "FILE:LINE: ..."
    bool ok = false;
  };
  const SignalRegistry* registry_;
  LuaLimits limits_;
  std::vector<Prepared> signals_;
  std::vector<std::pair<std::string_view, const SignalDef*>> builtins_;  // sorted by name
  Diagnostics diagnostics_;
  mutable std::atomic<uint64_t> calls_without_state_{0};
};

// One worker's LuaJIT state for one LuaSignalSet. Not thread-safe: it belongs to the thread
// that created it (an nginx worker process has one).
class LuaWorkerState {
 public:
  ~LuaWorkerState();
  LuaWorkerState(const LuaWorkerState&) = delete;
  LuaWorkerState& operator=(const LuaWorkerState&) = delete;

  // Calls signal `index` for this request. No memo here: the rules Evaluator calls each
  // signal at most once per request.
  Value Call(size_t index, EvalEnv& env);

  const LuaCounters& counters() const { return counters_; }
  uint64_t errors_total() const;
  size_t memory_bytes() const;
  const LuaSignalSet& set() const { return *set_; }

  // Rate-limited error log: when an error happened since the last message returned and at
  // least `interval_ms` passed since then, returns true with the newest error's message
  // (valid until the next Call) and how many errors it stands for. The glue logs it.
  bool TakeLogMessage(int64_t now_ms, std::string_view* message, uint64_t* errors,
                      int64_t interval_ms = 1000);

 private:
  friend class LuaSignalSet;
  LuaWorkerState(const LuaSignalSet* set, std::unique_ptr<LuaSandbox> sandbox);
  Status Load(size_t index);
  Value Fail(LuaErrorKind kind, size_t index, std::string_view detail);
  static int CreateReq(lua_State* L);
  static int ReqIndex(lua_State* L);
  static int ReqMethod(lua_State* L);

  const LuaSignalSet* set_;
  std::unique_ptr<LuaSandbox> sandbox_;
  std::vector<int> refs_;  // registry references of the functions (LUA_NOREF: not loaded)
  int req_ref_ = -1;       // the `req` userdata, created once
  EvalEnv* env_ = nullptr; // the request being served (null outside Call)
  LuaCounters counters_;
  LuaWorkerState* next_bound_ = nullptr;  // this thread's list of states
  // Error log: the newest message and the errors since the last one taken.
  char message_[512] = {};
  size_t message_len_ = 0;
  uint64_t unlogged_errors_ = 0;
  int64_t last_log_ms_ = INT64_MIN / 2;
};

}  // namespace tailor
