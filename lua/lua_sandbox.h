// LuaSandbox: one LuaJIT state set up to run untrusted signal code.
//
//  - Memory: the state is created with lua_newstate and a counting allocator that refuses to
//    grow the heap past LuaLimits::max_memory_bytes while sandboxed code runs (LuaJIT 2.1 in
//    GC64 mode, as Debian's libluajit2-5.1 on x86_64, accepts a custom allocator).
//  - Time: the JIT compiler is turned off for the whole state. LuaJIT's count hook is not
//    called inside compiled traces, so with the JIT on `for i = 1, 1e12 do end` would run to
//    the end however small the budget (measured: 0 hook calls in 3.5 s). The interpreter runs
//    every instruction through the hook's counter; a signal is a few dozen instructions per
//    request, where the JIT gains nothing. The hook stops the call after max_instructions or
//    max_call_us, and keeps firing on every instruction afterwards, so a script that catches
//    the error with pcall is stopped at its next instruction.
//  - Globals: each signal runs in its own environment holding only the safe libraries
//    (NewEnvironment); the state's real globals (with load, require, io, os, ...) are never
//    reachable, and io, os, package, debug, ffi and jit are not even opened.
//  - C string functions (the hook cannot interrupt C code): string.rep is capped, and
//    find/match/gmatch/gsub are replaced by a step-bounded matcher (lua_patterns.h).
//
// Not thread-safe: one sandbox belongs to one thread (an nginx worker).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <lua.hpp>

#include "core/status.h"
#include "lua/lua_limits.h"
#include "lua/lua_patterns.h"

namespace tailor {

class LuaSandbox {
 public:
  enum class Outcome : unsigned char { kOk, kError, kTimeout, kMemory };

  // An error when the state cannot be created (out of memory).
  static Result<std::unique_ptr<LuaSandbox>> Create(const LuaLimits& limits);
  ~LuaSandbox();
  LuaSandbox(const LuaSandbox&) = delete;
  LuaSandbox& operator=(const LuaSandbox&) = delete;

  lua_State* state() const { return L_; }
  const LuaLimits& limits() const { return limits_; }

  // Pushes a fresh environment table for one signal: the safe globals, read-only (assigning
  // or reading an undefined global is an error, which catches typos).
  void PushNewEnvironment();

  // lua_pcall(nargs, nresults) under the instruction, time and memory budget (times
  // `budget_factor` for instructions and time). On failure the error object is on the stack
  // (as with lua_pcall) and the outcome says why.
  Outcome ProtectedCall(int nargs, int nresults, int budget_factor = 1);

  size_t memory_bytes() const { return used_bytes_; }
  // Instructions the last ProtectedCall ran, rounded to kLuaHookStep (0: under one step).
  uint64_t last_call_instructions() const { return instructions_; }

 private:
  explicit LuaSandbox(const LuaLimits& limits) : limits_(limits) {}
  static void* Allocate(void* ud, void* ptr, size_t osize, size_t nsize);
  static void Hook(lua_State* L, lua_Debug* ar);
  static int Setup(lua_State* L);

  LuaLimits limits_;
  lua_State* L_ = nullptr;
  size_t used_bytes_ = 0;
  bool enforce_memory_ = false;  // only while sandboxed code runs: our own calls never fail
  bool refused_memory_ = false;
  bool expired_ = false;
  uint64_t instructions_ = 0;
  uint64_t max_instructions_ = 0;  // this call's
  PatternDeadline deadline_;  // this call's deadline, shared with the pattern functions
  int template_ref_ = LUA_NOREF;  // registry: the safe globals copied into each environment
  int env_meta_ref_ = LUA_NOREF;  // registry: the environments' read-only metatable
};

}  // namespace tailor
