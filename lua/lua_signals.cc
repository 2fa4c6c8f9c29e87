#include "lua/lua_signals.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "core/file.h"
#include "lua/lua_sandbox.h"

namespace tailor {
namespace {

// The worker states of this thread (an nginx worker has one per loaded configuration).
thread_local LuaWorkerState* t_bound_states = nullptr;

// Lua messages read "FILE:LINE: text" (FILE may be shortened with "..."). Finds LINE and
// the text after it; line 0 when the message has no position.
void SplitLuaMessage(std::string_view msg, int* line, std::string_view* text) {
  *line = 0;
  *text = msg;
  for (size_t i = 0; i < msg.size(); ++i) {
    if (msg[i] != ':') continue;
    size_t j = i + 1;
    int n = 0;
    while (j < msg.size() && msg[j] >= '0' && msg[j] <= '9' && n < 100000000) {
      n = n * 10 + (msg[j] - '0');
      ++j;
    }
    if (j > i + 1 && j < msg.size() && msg[j] == ':') {
      *line = n;
      size_t start = j + 1;
      if (start < msg.size() && msg[start] == ' ') ++start;
      *text = msg.substr(start);
      return;
    }
  }
}

std::string_view ErrorText(lua_State* L) {
  if (lua_type(L, -1) == LUA_TSTRING) {
    size_t n = 0;
    const char* s = lua_tolstring(L, -1, &n);
    return {s, n};
  }
  return "(an error object that is not a string)";
}

const char* LuaTypeName(lua_State* L, int index) { return lua_typename(L, lua_type(L, index)); }

// The signal's source through core's reader; a file too large or a directory is named as
// the Lua signal messages always named it.
Result<std::string> ReadSource(const std::string& path, size_t max_bytes) {
  FileReadFailure failure;
  Result<std::string> read = ReadFileLimited(path, max_bytes, &failure);
  if (failure.kind == FileReadFailure::Kind::kTooLarge)
    return Status::Error(path + ": the file is larger than " + std::to_string(max_bytes) +
                         " bytes");
  if (failure.kind == FileReadFailure::Kind::kIsDirectory)
    return Status::Error("cannot read " + path);
  return read;
}

// Compiles a signal's file as source text only ("t"): LuaJIT loads bytecode without
// verifying it, so a `string.dump` chunk could reach memory outside the sandbox.
int LoadText(lua_State* L, const std::string& source, const std::string& chunk_name) {
  return luaL_loadbufferx(L, source.data(), source.size(), chunk_name.c_str(), "t");
}

void PushValue(lua_State* L, const Value& v) {
  switch (v.type) {
    case ValueType::kMissing: lua_pushnil(L); return;
    case ValueType::kBool: lua_pushboolean(L, v.boolean); return;
    case ValueType::kNumber: lua_pushnumber(L, v.number); return;
    case ValueType::kString: lua_pushlstring(L, v.str.data(), v.str.size()); return;
    case ValueType::kStringList:
      lua_createtable(L, static_cast<int>(v.list.size()), 0);
      for (size_t i = 0; i < v.list.size(); ++i) {
        lua_pushlstring(L, v.list[i].data(), v.list[i].size());
        lua_rawseti(L, -2, static_cast<int>(i + 1));
      }
      return;
  }
  lua_pushnil(L);
}

}  // namespace

const char* LuaErrorKindName(LuaErrorKind kind) {
  switch (kind) {
    case LuaErrorKind::kRuntime: return "runtime";
    case LuaErrorKind::kTimeout: return "timeout";
    case LuaErrorKind::kMemory: return "memory";
    case LuaErrorKind::kType: return "type";
    case LuaErrorKind::kScratch: return "scratch";
    case LuaErrorKind::kNotLoaded: return "not_loaded";
    case LuaErrorKind::kCount: break;
  }
  return "unknown";
}

// ---------------------------------------------------------------------------------------
// LuaSignalSet: config time

LuaSignalSet::LuaSignalSet(const SignalRegistry& registry, LuaLimits limits)
    : registry_(&registry), limits_(limits) {
  for (const SignalDef& d : registry.all()) builtins_.emplace_back(d.name, &d);
  std::sort(builtins_.begin(), builtins_.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
}

LuaSignalSet::~LuaSignalSet() = default;

const SignalDef* LuaSignalSet::FindBuiltin(std::string_view name) const {
  auto it = std::lower_bound(builtins_.begin(), builtins_.end(), name,
                             [](const auto& e, std::string_view n) { return e.first < n; });
  return it != builtins_.end() && it->first == name ? it->second : nullptr;
}

std::optional<size_t> LuaSignalSet::Find(std::string_view name) const {
  for (size_t i = 0; i < signals_.size(); ++i)
    if (signals_[i].ok && signals_[i].decl.name == name) return i;
  return std::nullopt;
}

Status LuaSignalSet::Prepare(size_t index, const LuaSignalDecl& decl) {
  Result<std::string> source = ReadSource(decl.file, limits_.max_source_bytes);
  if (!source.ok()) {
    diagnostics_.Error(decl.file, 0, 0, source.status().message());
    return source.status();
  }
  return PrepareSource(index, decl, source.value());
}

Status LuaSignalSet::PrepareSource(size_t index, const LuaSignalDecl& decl,
                                   std::string_view source) {
  if (signals_.size() <= index) signals_.resize(index + 1);
  Prepared& p = signals_[index];
  p.decl = decl;
  p.source.assign(source);
  p.chunk_name = "@" + decl.file;
  p.ok = false;

  auto fail = [&](std::string_view lua_message) {
    int line = 0;
    std::string_view text;
    SplitLuaMessage(lua_message, &line, &text);
    std::string msg(text);
    diagnostics_.Error(decl.file, line, 0, msg,
                       line > 0 ? std::string(SourceLine(p.source, line)) : std::string());
    return Status::Error(decl.file + (line > 0 ? ":" + std::to_string(line) : std::string()) +
                         ": " + msg);
  };
  if (source.size() > limits_.max_source_bytes)
    return fail("the file is larger than " + std::to_string(limits_.max_source_bytes) + " bytes");
  if (decl.type != ValueType::kString && decl.type != ValueType::kNumber &&
      decl.type != ValueType::kBool)
    return fail("a Lua signal is a string, a number or a bool");
  // LuaJIT does not verify bytecode: a crafted chunk reads and writes memory outside the
  // sandbox. LoadText refuses it anyway; this names the problem instead of LuaJIT's
  // "attempt to load chunk with wrong mode".
  if (!source.empty() && source[0] == LUA_SIGNATURE[0])
    return fail("the file is precompiled LuaJIT bytecode (it starts with ESC); only Lua "
                "source text is accepted");

  // Compile and run the chunk once in a scratch sandbox: syntax errors, errors at load time
  // and a chunk that does not return a function are config errors (nginx -t fails).
  Result<std::unique_ptr<LuaSandbox>> sandbox = LuaSandbox::Create(limits_);
  if (!sandbox.ok()) return fail(sandbox.status().message());
  lua_State* L = sandbox.value()->state();
  if (LoadText(L, p.source, p.chunk_name) != 0) return fail(ErrorText(L));
  sandbox.value()->PushNewEnvironment();
  lua_setfenv(L, -2);
  switch (sandbox.value()->ProtectedCall(0, 1, limits_.load_budget_factor)) {
    case LuaSandbox::Outcome::kOk: break;
    case LuaSandbox::Outcome::kTimeout:
      return fail(std::string("loading the file ran out of its budget: ") +
                  std::string(ErrorText(L)));
    case LuaSandbox::Outcome::kMemory:
      return fail("loading the file ran out of memory (limit " +
                  std::to_string(limits_.max_memory_bytes) + " bytes)");
    case LuaSandbox::Outcome::kError: return fail(ErrorText(L));
  }
  if (lua_type(L, -1) != LUA_TFUNCTION)
    return fail(std::string("the file must return a function (`return function(req) ... end`)"
                            ", not a ") + LuaTypeName(L, -1));
  p.ok = true;
  return Status::Ok();
}

Value LuaSignalSet::Call(size_t index, EvalEnv& env) const {
  for (LuaWorkerState* s = t_bound_states; s != nullptr; s = s->next_bound_)
    if (s->set_ == this) return s->Call(index, env);
  calls_without_state_.fetch_add(1, std::memory_order_relaxed);
  return Value::Missing();
}

Result<std::unique_ptr<LuaWorkerState>> LuaSignalSet::CreateWorkerState() const {
  Result<std::unique_ptr<LuaSandbox>> sandbox = LuaSandbox::Create(limits_);
  if (!sandbox.ok()) return sandbox.status();
  std::unique_ptr<LuaWorkerState> state(new LuaWorkerState(this, std::move(sandbox).value()));
  lua_State* L = state->sandbox_->state();
  if (lua_cpcall(L, &LuaWorkerState::CreateReq, state.get()) != 0)
    return Status::Error("cannot set up the Lua request view: " + std::string(ErrorText(L)));
  lua_settop(L, 0);
  state->refs_.assign(signals_.size(), LUA_NOREF);
  for (size_t i = 0; i < signals_.size(); ++i) {
    if (!signals_[i].ok) continue;
    // Counted and logged like a failed call; the signal is then missing in this worker.
    Status loaded = state->Load(i);
    if (!loaded.ok()) state->Fail(LuaErrorKind::kNotLoaded, i, loaded.message());
  }
  return state;
}

// ---------------------------------------------------------------------------------------
// LuaWorkerState: worker start and request time

LuaWorkerState::LuaWorkerState(const LuaSignalSet* set, std::unique_ptr<LuaSandbox> sandbox)
    : set_(set), sandbox_(std::move(sandbox)) {
  next_bound_ = t_bound_states;
  t_bound_states = this;
}

LuaWorkerState::~LuaWorkerState() {
  for (LuaWorkerState** p = &t_bound_states; *p != nullptr; p = &(*p)->next_bound_) {
    if (*p == this) {
      *p = next_bound_;
      break;
    }
  }
}

size_t LuaWorkerState::memory_bytes() const { return sandbox_->memory_bytes(); }

uint64_t LuaWorkerState::errors_total() const {
  uint64_t n = 0;
  for (uint64_t e : counters_.errors) n += e;
  return n;
}

Status LuaWorkerState::Load(size_t index) {
  const LuaSignalSet::Prepared& p = set_->signals_[index];
  lua_State* L = sandbox_->state();
  lua_settop(L, 0);
  if (LoadText(L, p.source, p.chunk_name) != 0) {
    Status failed = Status::Error(std::string(ErrorText(L)));
    lua_settop(L, 0);
    return failed;
  }
  sandbox_->PushNewEnvironment();
  lua_setfenv(L, -2);
  LuaSandbox::Outcome outcome = sandbox_->ProtectedCall(0, 1, set_->limits_.load_budget_factor);
  if (outcome != LuaSandbox::Outcome::kOk || lua_type(L, -1) != LUA_TFUNCTION) {
    Status failed = Status::Error(lua_type(L, -1) == LUA_TSTRING
                                      ? std::string(ErrorText(L))
                                      : std::string("the file did not return a function"));
    lua_settop(L, 0);
    return failed;
  }
  refs_[index] = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_settop(L, 0);
  return Status::Ok();
}

Value LuaWorkerState::Fail(LuaErrorKind kind, size_t index, std::string_view detail) {
  ++counters_.errors[static_cast<size_t>(kind)];
  ++unlogged_errors_;
  std::string_view name =
      index < set_->signals_.size() ? std::string_view(set_->signals_[index].decl.name) : "?";
  int n = snprintf(message_, sizeof message_, "lua signal '%.*s' (%s): %.*s",
                   static_cast<int>(std::min<size_t>(name.size(), 128)), name.data(),
                   LuaErrorKindName(kind), static_cast<int>(std::min<size_t>(detail.size(), 400)),
                   detail.data());
  message_len_ = n < 0 ? 0 : std::min<size_t>(static_cast<size_t>(n), sizeof message_ - 1);
  return Value::Missing();
}

Value LuaWorkerState::Call(size_t index, EvalEnv& env) {
  ++counters_.calls;
  if (index >= refs_.size() || refs_[index] == LUA_NOREF)
    return Fail(LuaErrorKind::kNotLoaded, index, "the signal is not loaded in this worker");
  if (env_ != nullptr) return Fail(LuaErrorKind::kRuntime, index, "re-entrant call");
  lua_State* L = sandbox_->state();
  lua_settop(L, 0);
  lua_rawgeti(L, LUA_REGISTRYINDEX, refs_[index]);
  lua_rawgeti(L, LUA_REGISTRYINDEX, req_ref_);
  env_ = &env;
  LuaSandbox::Outcome outcome = sandbox_->ProtectedCall(1, 1);
  env_ = nullptr;

  Value result = Value::Missing();
  switch (outcome) {
    case LuaSandbox::Outcome::kOk: break;
    case LuaSandbox::Outcome::kTimeout:
      result = Fail(LuaErrorKind::kTimeout, index, ErrorText(L));
      lua_settop(L, 0);
      return result;
    case LuaSandbox::Outcome::kMemory:
      result = Fail(LuaErrorKind::kMemory, index, "the worker's Lua memory limit was reached");
      lua_settop(L, 0);
      return result;
    case LuaSandbox::Outcome::kError:
      result = Fail(LuaErrorKind::kRuntime, index, ErrorText(L));
      lua_settop(L, 0);
      return result;
  }

  const LuaSignalDecl& decl = set_->signals_[index].decl;
  int t = lua_type(L, -1);
  char detail[160];
  if (t == LUA_TNIL) {
    ++counters_.nil_results;
  } else if (decl.type == ValueType::kNumber && t == LUA_TNUMBER) {
    double d = lua_tonumber(L, -1);
    if (std::isnan(d)) {
      result = Fail(LuaErrorKind::kType, index, "returned NaN");
    } else {
      result = Value::Number(d);
    }
  } else if (decl.type == ValueType::kBool && t == LUA_TBOOLEAN) {
    result = Value::Bool(lua_toboolean(L, -1) != 0);
  } else if (decl.type == ValueType::kString && t == LUA_TSTRING) {
    size_t n = 0;
    const char* s = lua_tolstring(L, -1, &n);
    if (n > set_->limits_.max_result_bytes) {
      snprintf(detail, sizeof detail, "returned a string of %zu bytes (limit %zu)", n,
               set_->limits_.max_result_bytes);
      result = Fail(LuaErrorKind::kType, index, detail);
    } else {
      // The Lua string may be collected after this call: the value lives in the arena.
      bool ok = false;
      std::string_view copy = env.arena.Copy({s, n}, &ok);
      result = ok ? Value::String(copy)
                  : Fail(LuaErrorKind::kScratch, index, "the request arena is full");
    }
  } else {
    snprintf(detail, sizeof detail, "returned a %s; the signal is declared %s",
             lua_typename(L, t), ValueTypeName(decl.type));
    result = Fail(LuaErrorKind::kType, index, detail);
  }
  lua_settop(L, 0);
  return result;
}

bool LuaWorkerState::TakeLogMessage(int64_t now_ms, std::string_view* message, uint64_t* errors,
                                    int64_t interval_ms) {
  if (unlogged_errors_ == 0 || now_ms - last_log_ms_ < interval_ms) return false;
  *message = std::string_view(message_, message_len_);
  *errors = unlogged_errors_;
  unlogged_errors_ = 0;
  last_log_ms_ = now_ms;
  return true;
}

// ---------------------------------------------------------------------------------------
// The `req` view: one userdata per worker state, reading the request being served.

namespace {

LuaWorkerState* StateOf(lua_State* L) {
  return static_cast<LuaWorkerState*>(lua_touserdata(L, lua_upvalueindex(1)));
}

int ReqReadOnly(lua_State* L) {
  luaL_where(L, 1);
  lua_pushstring(L, "req is read-only");
  lua_concat(L, 2);
  return lua_error(L);
}

int ReqToString(lua_State* L) {
  lua_pushliteral(L, "req");
  return 1;
}

}  // namespace

// req.NAME: a field of the request or one of the methods (upvalue 2).
int LuaWorkerState::ReqIndex(lua_State* L) {
  LuaWorkerState* self = StateOf(L);
  lua_pushvalue(L, 2);
  lua_rawget(L, lua_upvalueindex(2));
  if (!lua_isnil(L, -1)) return 1;
  lua_pop(L, 1);
  size_t n = 0;
  const char* k = lua_tolstring(L, 2, &n);
  std::string_view key = k ? std::string_view(k, n) : std::string_view();
  const RequestView* r = self->env_ ? &self->env_->request : nullptr;
  std::string_view v;
  if (key == "path") {
    v = r ? r->path : std::string_view();
  } else if (key == "host") {
    v = r ? r->host : std::string_view();
  } else if (key == "method") {
    v = r ? r->method : std::string_view();
  } else if (key == "scheme") {
    v = r ? r->scheme : std::string_view();
  } else {
    luaL_where(L, 1);
    lua_pushfstring(L, "req has no field '%s' (path, host, method, scheme, header(), cookie(), "
                       "query(), signal())", k ? k : "?");
    lua_concat(L, 2);
    return lua_error(L);
  }
  if (r == nullptr) {
    lua_pushnil(L);
  } else {
    lua_pushlstring(L, v.data(), v.size());
  }
  return 1;
}

// req.header(name), req.cookie(name), req.query(name): upvalue 2 is the built-in signal;
// req.signal(name [, arg [, arg2]]): upvalue 2 is nil. `req:header(name)` works too.
int LuaWorkerState::ReqMethod(lua_State* L) {
  LuaWorkerState* self = StateOf(L);
  if (lua_type(L, 1) == LUA_TUSERDATA) lua_remove(L, 1);  // called with ':'
  const SignalDef* def = static_cast<const SignalDef*>(lua_touserdata(L, lua_upvalueindex(2)));
  int arg = 1;
  if (def == nullptr) {
    size_t n = 0;
    const char* name = luaL_checklstring(L, 1, &n);
    def = self->set_->FindBuiltin({name, n});
    if (def == nullptr) return luaL_error(L, "req.signal: unknown signal '%s'", name);
    arg = 2;
  }
  SignalArgs args;
  if (def->arg == SignalArg::kString) {
    size_t n = 0;
    const char* s = luaL_checklstring(L, arg, &n);
    args.str = {s, n};
  } else if (def->arg == SignalArg::kNumberPair) {
    args.num[0] = luaL_checknumber(L, arg);
    args.num[1] = luaL_checknumber(L, arg + 1);
  }
  EvalEnv* env = self->env_;
  if (env == nullptr || (def->needs_consent && !env->consent) || def->fn == nullptr) {
    lua_pushnil(L);
    return 1;
  }
  PushValue(L, def->fn(args, *env));
  return 1;
}

int LuaWorkerState::CreateReq(lua_State* L) {
  auto* self = static_cast<LuaWorkerState*>(lua_touserdata(L, 1));
  lua_newuserdata(L, 1);
  lua_newtable(L);  // metatable
  // Methods: closures made once here, so reading req.header allocates nothing.
  lua_pushlightuserdata(L, self);
  lua_newtable(L);
  for (const char* name : {"header", "cookie", "query"}) {
    const SignalDef* def = self->set_->FindBuiltin(name);
    if (def == nullptr || def->arg != SignalArg::kString) continue;
    lua_pushlightuserdata(L, self);
    lua_pushlightuserdata(L, const_cast<SignalDef*>(def));
    lua_pushcclosure(L, &LuaWorkerState::ReqMethod, 2);
    lua_setfield(L, -2, name);
  }
  lua_pushlightuserdata(L, self);
  lua_pushnil(L);
  lua_pushcclosure(L, &LuaWorkerState::ReqMethod, 2);
  lua_setfield(L, -2, "signal");
  lua_pushcclosure(L, &LuaWorkerState::ReqIndex, 2);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, ReqReadOnly);
  lua_setfield(L, -2, "__newindex");
  lua_pushcfunction(L, ReqToString);  // not "userdata: 0x...": no addresses for scripts
  lua_setfield(L, -2, "__tostring");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
  self->req_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

}  // namespace tailor
