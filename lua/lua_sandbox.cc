#include "lua/lua_sandbox.h"

#include <time.h>

#include <cstdlib>
#include <cstring>

#include "lua/lua_patterns.h"

namespace tailor {
namespace {

int64_t NowNs() {
  // CLOCK_MONOTONIC is served by the vDSO on Linux: no system call.
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

constexpr size_t kLargeAllocation = 64u << 10;

LuaSandbox* SelfOf(lua_State* L) {
  void* ud = nullptr;
  lua_getallocf(L, &ud);
  return static_cast<LuaSandbox*>(ud);
}

// Raises "FILE:LINE: message" pointing at the Lua code that called the C function.
int RaiseAtCaller(lua_State* L, int level, const char* message) {
  luaL_where(L, level);
  lua_pushstring(L, message);
  lua_concat(L, 2);
  return lua_error(L);
}

// Calls the original function (upvalue 2) with the same arguments.
int CallOriginal(lua_State* L) {
  lua_pushvalue(L, lua_upvalueindex(2));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

// string.rep with a cap on the result: `("x"):rep(1e10)` is refused before it allocates.
int SafeRep(lua_State* L) {
  LuaSandbox* self = SelfOf(L);
  size_t len = 0, sep_len = 0;
  luaL_checklstring(L, 1, &len);
  lua_Number n = luaL_checknumber(L, 2);
  if (!lua_isnoneornil(L, 3)) luaL_checklstring(L, 3, &sep_len);
  if (n > 0) {
    double total = n * static_cast<double>(len) + (n - 1) * static_cast<double>(sep_len);
    if (total > static_cast<double>(self->limits().max_string_bytes)) {
      char msg[160];
      snprintf(msg, sizeof msg, "string.rep: a result of %.0f bytes is over the limit (%zu)",
               total, self->limits().max_string_bytes);
      return RaiseAtCaller(L, 1, msg);
    }
  }
  return CallOriginal(L);
}

// table.sort without a comparator sorts in C, out of the hook's reach (100k numbers take
// ~100 ms): give it a Lua comparator (upvalue 3) so the hook runs during the sort.
int SafeSort(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  if (lua_isnoneornil(L, 2)) {
    lua_settop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(3));
  }
  return CallOriginal(L);
}

// A string of at least this many bytes, or a table of this many array items, makes a library
// call check the clock first: C functions work in proportion to their input, between hook
// points, so a loop of such calls is stopped near the deadline, not a hook period later.
constexpr size_t kLargeInput = 16u << 10;

// Wraps every string and table function: upvalue 1 is the sandbox's PatternDeadline, 2 the
// function.
int CheckedLibraryCall(lua_State* L) {
  int n = lua_gettop(L);
  for (int i = 1; i <= n && i <= 4; ++i) {
    int t = lua_type(L, i);
    if ((t == LUA_TSTRING || t == LUA_TTABLE) && lua_objlen(L, i) >= kLargeInput) {
      auto* deadline = static_cast<PatternDeadline*>(lua_touserdata(L, lua_upvalueindex(1)));
      if (NowNs() > deadline->deadline_ns) {
        deadline->expired = true;
        return luaL_error(L, "Tailor: the signal ran out of its time budget");
      }
      break;
    }
  }
  return CallOriginal(L);
}

// Replaces each function of the table at the top of the stack by a CheckedLibraryCall.
void WrapLibraryFunctions(lua_State* L, PatternDeadline* deadline) {
  int lib = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, lib) != 0) {
    if (lua_type(L, -1) == LUA_TFUNCTION) {
      lua_pushlightuserdata(L, deadline);
      lua_insert(L, -2);
      lua_pushcclosure(L, CheckedLibraryCall, 2);
      lua_pushvalue(L, -2);  // key
      lua_insert(L, -2);
      lua_rawset(L, lib);  // replacing an existing key's value during lua_next is allowed
    } else {
      lua_pop(L, 1);
    }
  }
}

int EnvIndex(lua_State* L) {
  const char* key = lua_tostring(L, 2);
  char msg[200];
  snprintf(msg, sizeof msg, "undefined global '%.100s'", key ? key : "?");
  return RaiseAtCaller(L, 2, msg);
}

int EnvNewIndex(lua_State* L) {
  const char* key = lua_tostring(L, 2);
  char msg[240];
  snprintf(msg, sizeof msg,
           "assignment to global '%.100s': globals are read-only in signals (use local)",
           key ? key : "?");
  return RaiseAtCaller(L, 2, msg);
}

// Copies t[k] (k: name) from the table at `from` into the table at the top of the stack.
void CopyField(lua_State* L, int from, const char* name) {
  lua_getfield(L, from, name);
  lua_setfield(L, -2, name);
}

// Pushes a shallow copy of the table at `index`.
void PushCopy(lua_State* L, int index) {
  index = index < 0 ? lua_gettop(L) + index + 1 : index;
  lua_newtable(L);
  lua_pushnil(L);
  while (lua_next(L, index) != 0) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, -4);
  }
}

void OpenLib(lua_State* L, lua_CFunction open, const char* name) {
  lua_pushcfunction(L, open);
  lua_pushstring(L, name);
  lua_call(L, 1, 0);
}

}  // namespace

void* LuaSandbox::Allocate(void* ud, void* ptr, size_t osize, size_t nsize) {
  auto* self = static_cast<LuaSandbox*>(ud);
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    free(ptr);
    self->used_bytes_ -= old;
    return nullptr;
  }
  if (nsize > old && self->enforce_memory_) {
    if (self->used_bytes_ - old + nsize > self->limits_.max_memory_bytes) {
      self->refused_memory_ = true;
      return nullptr;  // LuaJIT raises "not enough memory" inside the protected call
    }
    // C library functions (rep, concat, gsub, ...) work in proportion to what they allocate
    // and run between hook points: a large allocation is also a time check, so a loop of
    // big string copies cannot overrun the budget by a whole hook period.
    if (nsize - old >= kLargeAllocation && NowNs() > self->deadline_.deadline_ns) {
      self->deadline_.expired = true;
      return nullptr;  // raised as "not enough memory", reported as a timeout
    }
  }
  void* p = realloc(ptr, nsize);
  if (p == nullptr) {
    self->refused_memory_ = true;
    return nullptr;
  }
  self->used_bytes_ = self->used_bytes_ - old + nsize;
  return p;
}

void LuaSandbox::Hook(lua_State* L, lua_Debug*) {
  LuaSandbox* self = SelfOf(L);
  if (!self->expired_) {
    self->instructions_ += kLuaHookStep;
    if (self->instructions_ < self->max_instructions_ && !self->deadline_.expired &&
        NowNs() < self->deadline_.deadline_ns)
      return;
    self->expired_ = true;
    // From now on every instruction fails: pcall in the script cannot swallow the timeout.
    lua_sethook(L, Hook, LUA_MASKCOUNT, 1);
  }
  luaL_error(L, "Tailor: the signal ran out of its %s budget",
             self->instructions_ >= self->max_instructions_ ? "instruction" : "time");
}

int LuaSandbox::Setup(lua_State* L) {
  auto* self = static_cast<LuaSandbox*>(lua_touserdata(L, 1));
  // Only the libraries the sandbox copies from; io, os, package, debug, ffi, jit stay closed.
  OpenLib(L, luaopen_base, "");
  OpenLib(L, luaopen_string, LUA_STRLIBNAME);
  OpenLib(L, luaopen_table, LUA_TABLIBNAME);
  OpenLib(L, luaopen_math, LUA_MATHLIBNAME);
  // See the header: the count hook does not run inside compiled traces.
  luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);

  lua_newtable(L);  // the template
  int tmpl = lua_gettop(L);
  static const char* const kBase[] = {"assert", "error",    "ipairs",   "next",
                                      "pairs",  "pcall",    "rawequal", "rawget",
                                      "select", "tonumber", "tostring", "type",
                                      "unpack", "xpcall"};
  for (const char* name : kBase) CopyField(L, LUA_GLOBALSINDEX, name);

  // string, minus dump, with the bounded rep and pattern functions.
  lua_getglobal(L, LUA_STRLIBNAME);
  int real_string = lua_gettop(L);
  PushCopy(L, real_string);
  lua_pushnil(L);
  lua_setfield(L, -2, "dump");
  lua_getfield(L, real_string, "rep");
  lua_pushnil(L);  // upvalue 1 unused (the sandbox comes from the allocator's userdata)
  lua_insert(L, -2);
  lua_pushcclosure(L, SafeRep, 2);
  lua_setfield(L, -2, "rep");
  SetBoundedPatternFunctions(L, -1, self->limits_.max_pattern_steps, &self->deadline_);
  WrapLibraryFunctions(L, &self->deadline_);
  // Method calls on strings (`s:rep(n)`) go through the string metatable: point it at the
  // safe table too. Scripts cannot reach the metatable (no getmetatable).
  lua_pushliteral(L, "");
  lua_getmetatable(L, -1);
  lua_pushvalue(L, -3);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 2);
  lua_setfield(L, tmpl, "string");
  lua_pop(L, 1);  // real string

  lua_getglobal(L, LUA_TABLIBNAME);
  PushCopy(L, -1);
  lua_pushnil(L);
  lua_getfield(L, -2, "sort");
  if (luaL_loadstring(L, "return function(a, b) return a < b end") != 0) return lua_error(L);
  lua_call(L, 0, 1);
  lua_pushcclosure(L, SafeSort, 3);
  lua_setfield(L, -2, "sort");
  WrapLibraryFunctions(L, &self->deadline_);
  lua_setfield(L, tmpl, "table");
  lua_pop(L, 1);
  lua_getglobal(L, LUA_MATHLIBNAME);
  PushCopy(L, -1);
  lua_setfield(L, tmpl, "math");
  lua_pop(L, 1);
  self->template_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);

  lua_newtable(L);  // environments' metatable
  lua_pushcfunction(L, EnvIndex);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, EnvNewIndex);
  lua_setfield(L, -2, "__newindex");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  self->env_meta_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

Result<std::unique_ptr<LuaSandbox>> LuaSandbox::Create(const LuaLimits& limits) {
  std::unique_ptr<LuaSandbox> s(new LuaSandbox(limits));
  s->L_ = lua_newstate(&LuaSandbox::Allocate, s.get());
  if (s->L_ == nullptr)
    return Status::Error("cannot create a Lua state (out of memory, or a LuaJIT built without "
                         "GC64 that refuses custom allocators)");
  if (lua_cpcall(s->L_, &LuaSandbox::Setup, s.get()) != 0)
    return Status::Error(
        std::string("cannot set up the Lua sandbox: ") +
        (lua_type(s->L_, -1) == LUA_TSTRING ? lua_tostring(s->L_, -1) : "unknown error"));
  return s;
}

LuaSandbox::~LuaSandbox() {
  if (L_ != nullptr) lua_close(L_);
}

void LuaSandbox::PushNewEnvironment() {
  lua_State* L = L_;
  lua_newtable(L);
  int env = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, template_ref_);
  int tmpl = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, tmpl) != 0) {
    // Each signal gets its own copies of the library tables: one signal changing
    // `string.x` cannot affect another.
    if (lua_type(L, -1) == LUA_TTABLE) {
      PushCopy(L, -1);
      lua_remove(L, -2);
    }
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, env);
  }
  lua_pop(L, 1);  // template
  lua_rawgeti(L, LUA_REGISTRYINDEX, env_meta_ref_);
  lua_setmetatable(L, env);
}

LuaSandbox::Outcome LuaSandbox::ProtectedCall(int nargs, int nresults, int budget_factor) {
  instructions_ = 0;
  max_instructions_ = limits_.max_instructions * static_cast<uint64_t>(budget_factor);
  expired_ = false;
  refused_memory_ = false;
  deadline_.deadline_ns = NowNs() + limits_.max_call_us * 1000 * budget_factor;
  deadline_.expired = false;
  lua_sethook(L_, Hook, LUA_MASKCOUNT, kLuaHookStep);  // also restarts the count
  enforce_memory_ = true;
  int rc = lua_pcall(L_, nargs, nresults, 0);
  enforce_memory_ = false;
  Outcome outcome = Outcome::kOk;
  if (rc != 0) {
    outcome = (expired_ || deadline_.expired)                 ? Outcome::kTimeout
              : (refused_memory_ || rc == LUA_ERRMEM)         ? Outcome::kMemory
                                                              : Outcome::kError;
  }
  if (expired_) lua_sethook(L_, Hook, LUA_MASKCOUNT, kLuaHookStep);
  // A stopped call may leave much garbage (a half-built huge table): reclaim it now, while
  // the allocator does not enforce the cap, so the next call starts from a clean heap.
  // Each full cycle also halves LuaJIT's string buffer (grown by a big concatenation), so
  // collect until the heap stops shrinking (a few cycles at most).
  if (outcome == Outcome::kTimeout || outcome == Outcome::kMemory) {
    for (int i = 0; i < 8; ++i) {
      size_t before = used_bytes_;
      lua_gc(L_, LUA_GCCOLLECT, 0);
      if (used_bytes_ + before / 8 >= before) break;
    }
  }
  return outcome;
}

}  // namespace tailor
