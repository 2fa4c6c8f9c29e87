// A port of Lua 5.1's pattern matcher (lstrlib.c, MIT licence, Copyright (C) 1994-2012
// Lua.org, PUC-Rio), which LuaJIT follows, with a step budget and a recursion limit added.
// The semantics are kept as they are, including 5.1's quirks (gmatch treats '^' literally;
// an init past the end of the subject is clamped to its end); LuaJIT's %g class is added.
#include "lua/lua_patterns.h"

#include <time.h>

#include <cctype>
#include <cstddef>
#include <cstring>

namespace tailor {
namespace {

constexpr int kMaxCaptures = 32;      // LUA_MAXCAPTURES
constexpr int kMaxMatchDepth = 200;   // nested matcher calls (as Lua 5.2's MAXCCALLS)
constexpr int kCapUnfinished = -1;
constexpr int kCapPosition = -2;
constexpr char kEsc = '%';
constexpr const char* kSpecials = "^$*+?.([%-";

struct MatchState {
  const char* src_init;
  const char* src_end;
  lua_State* L;
  int level;
  int depth;
  uint64_t steps;
  uint64_t max_steps;
  uint64_t next_clock_check;
  PatternDeadline* deadline;
  struct {
    const char* init;
    ptrdiff_t len;
  } capture[kMaxCaptures];
};

inline int uchar(char c) { return static_cast<unsigned char>(c); }

constexpr uint64_t kClockCheckSteps = 4096;

int64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);  // vDSO: no system call
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Steps only ever grow (steps <= max_steps holds between calls): a charge that would pass
// the budget raises before adding, so no charge, however large, can wrap the counter.
void Charge(MatchState* ms, uint64_t n) {
  if (n > ms->max_steps - ms->steps)
    luaL_error(ms->L, "pattern too complex for this subject (over %d steps)",
               static_cast<int>(ms->max_steps > 2000000000 ? 2000000000 : ms->max_steps));
  ms->steps += n;
  if (ms->steps >= ms->next_clock_check) {
    ms->next_clock_check = ms->steps + kClockCheckSteps;
    if (ms->deadline != nullptr && NowNs() > ms->deadline->deadline_ns) {
      ms->deadline->expired = true;
      luaL_error(ms->L, "Tailor: the signal ran out of its time budget (in a pattern)");
    }
  }
}

int CheckCapture(MatchState* ms, int l) {
  l -= '1';
  if (l < 0 || l >= ms->level || ms->capture[l].len == kCapUnfinished)
    return luaL_error(ms->L, "invalid capture index");
  return l;
}

int CaptureToClose(MatchState* ms) {
  int level = ms->level;
  for (level--; level >= 0; level--)
    if (ms->capture[level].len == kCapUnfinished) return level;
  return luaL_error(ms->L, "invalid pattern capture");
}

const char* ClassEnd(MatchState* ms, const char* p) {
  switch (*p++) {
    case kEsc:
      if (*p == '\0') luaL_error(ms->L, "malformed pattern (ends with '%%')");
      return p + 1;
    case '[':
      if (*p == '^') p++;
      do {  // look for a ']'
        if (*p == '\0') luaL_error(ms->L, "malformed pattern (missing ']')");
        if (*(p++) == kEsc && *p != '\0') p++;  // skip escapes (e.g. '%]')
      } while (*p != ']');
      return p + 1;
    default:
      return p;
  }
}

int MatchClass(int c, int cl) {
  int res;
  switch (std::tolower(cl)) {
    case 'a': res = std::isalpha(c); break;
    case 'c': res = std::iscntrl(c); break;
    case 'd': res = std::isdigit(c); break;
    case 'g': res = std::isgraph(c); break;
    case 'l': res = std::islower(c); break;
    case 'p': res = std::ispunct(c); break;
    case 's': res = std::isspace(c); break;
    case 'u': res = std::isupper(c); break;
    case 'w': res = std::isalnum(c); break;
    case 'x': res = std::isxdigit(c); break;
    case 'z': res = (c == 0); break;
    default: return cl == c;
  }
  if (std::isupper(cl)) res = !res;
  return res;
}

int MatchBracketClass(int c, const char* p, const char* ec) {
  int sig = 1;
  if (*(p + 1) == '^') {
    sig = 0;
    p++;  // skip the '^'
  }
  while (++p < ec) {
    if (*p == kEsc) {
      p++;
      if (MatchClass(c, uchar(*p))) return sig;
    } else if (*(p + 1) == '-' && p + 2 < ec) {
      p += 2;
      if (uchar(*(p - 2)) <= c && c <= uchar(*p)) return sig;
    } else if (uchar(*p) == c) {
      return sig;
    }
  }
  return !sig;
}

// The steps one SingleMatch of the item [p, ep) costs: a bracket class is scanned item by
// item (and ClassEnd scans it again), so a long class costs its length, not one step.
inline uint64_t ItemCost(const char* p, const char* ep) {
  return *p == '[' ? static_cast<uint64_t>(ep - p) : 1;
}

int SingleMatch(int c, const char* p, const char* ep) {
  switch (*p) {
    case '.': return 1;
    case kEsc: return MatchClass(c, uchar(*(p + 1)));
    case '[': return MatchBracketClass(c, p, ep - 1);
    default: return uchar(*p) == c;
  }
}

const char* Match(MatchState* ms, const char* s, const char* p);

const char* MatchBalance(MatchState* ms, const char* s, const char* p) {
  if (*p == 0 || *(p + 1) == 0) luaL_error(ms->L, "unbalanced pattern");
  if (s >= ms->src_end || *s != *p) return nullptr;
  int b = *p, e = *(p + 1), cont = 1;
  const char* start = s;
  while (++s < ms->src_end) {
    if (*s == e) {
      if (--cont == 0) {
        Charge(ms, static_cast<uint64_t>(s - start));
        return s + 1;
      }
    } else if (*s == b) {
      cont++;
    }
  }
  Charge(ms, static_cast<uint64_t>(s - start));
  return nullptr;
}

const char* MaxExpand(MatchState* ms, const char* s, const char* p, const char* ep) {
  // Charged while scanning, a chunk at a time, so that a long class over a long subject
  // stops at the budget rather than after the whole scan.
  constexpr ptrdiff_t kChunk = 1024;
  const uint64_t cost = ItemCost(p, ep);
  ptrdiff_t i = 0;  // counts maximum expand for item
  ptrdiff_t charged = 0;
  while (s + i < ms->src_end && SingleMatch(uchar(*(s + i)), p, ep)) {
    i++;
    if (i - charged == kChunk) {
      Charge(ms, static_cast<uint64_t>(kChunk) * cost);
      charged = i;
    }
  }
  Charge(ms, static_cast<uint64_t>(i - charged + 1) * cost);  // + the test that ended it
  // Keeps trying to match with the maximum repetitions.
  while (i >= 0) {
    const char* res = Match(ms, s + i, ep + 1);
    if (res) return res;
    i--;  // else didn't match; reduce 1 repetition to try again
  }
  return nullptr;
}

const char* MinExpand(MatchState* ms, const char* s, const char* p, const char* ep) {
  const uint64_t cost = ItemCost(p, ep);
  for (;;) {
    const char* res = Match(ms, s, ep + 1);
    if (res != nullptr) return res;
    Charge(ms, cost);
    if (s < ms->src_end && SingleMatch(uchar(*s), p, ep)) {
      s++;  // try with one more repetition
    } else {
      return nullptr;
    }
  }
}

const char* StartCapture(MatchState* ms, const char* s, const char* p, int what) {
  int level = ms->level;
  if (level >= kMaxCaptures) luaL_error(ms->L, "too many captures");
  ms->capture[level].init = s;
  ms->capture[level].len = what;
  ms->level = level + 1;
  const char* res = Match(ms, s, p);
  if (res == nullptr) ms->level--;  // undo capture
  return res;
}

const char* EndCapture(MatchState* ms, const char* s, const char* p) {
  int l = CaptureToClose(ms);
  ms->capture[l].len = s - ms->capture[l].init;  // close capture
  const char* res = Match(ms, s, p);
  if (res == nullptr) ms->capture[l].len = kCapUnfinished;  // undo capture
  return res;
}

const char* MatchCapture(MatchState* ms, const char* s, int l) {
  l = CheckCapture(ms, l);
  // A position capture never matches as a back-reference (its length, -2, read as a size,
  // is longer than any subject: Lua 5.1 and LuaJIT do the same). It compares nothing and
  // costs nothing beyond DoMatch's step; its length must not reach Charge.
  if (ms->capture[l].len == kCapPosition) return nullptr;
  size_t len = static_cast<size_t>(ms->capture[l].len);
  if (static_cast<size_t>(ms->src_end - s) < len) return nullptr;
  Charge(ms, len);  // the bytes memcmp compares
  if (std::memcmp(ms->capture[l].init, s, len) == 0) return s + len;
  return nullptr;
}

// Depth guard around the recursive matcher.
struct DepthGuard {
  MatchState* ms;
  explicit DepthGuard(MatchState* m) : ms(m) {
    if (++ms->depth > kMaxMatchDepth) luaL_error(ms->L, "pattern too complex (nesting)");
  }
  ~DepthGuard() { --ms->depth; }
};

const char* DoMatch(MatchState* ms, const char* s, const char* p) {
init:  // using goto's to optimize tail recursion
  Charge(ms, 1);
  switch (*p) {
    case '(':
      if (*(p + 1) == ')') return StartCapture(ms, s, p + 2, kCapPosition);
      return StartCapture(ms, s, p + 1, kCapUnfinished);
    case ')':
      return EndCapture(ms, s, p + 1);
    case kEsc:
      switch (*(p + 1)) {
        case 'b':  // balanced string
          s = MatchBalance(ms, s, p + 2);
          if (s == nullptr) return nullptr;
          p += 4;
          goto init;
        case 'f': {  // frontier
          p += 2;
          if (*p != '[') luaL_error(ms->L, "missing '[' after '%%f' in pattern");
          const char* ep = ClassEnd(ms, p);
          Charge(ms, ItemCost(p, ep));  // ClassEnd and two class tests
          char previous = (s == ms->src_init) ? '\0' : *(s - 1);
          char current = (s < ms->src_end) ? *s : '\0';
          if (MatchBracketClass(uchar(previous), p, ep - 1) ||
              !MatchBracketClass(uchar(current), p, ep - 1))
            return nullptr;
          p = ep;
          goto init;
        }
        default:
          if (std::isdigit(uchar(*(p + 1)))) {  // capture results (%0-%9)?
            s = MatchCapture(ms, s, uchar(*(p + 1)));
            if (s == nullptr) return nullptr;
            p += 2;
            goto init;
          }
          goto dflt;
      }
    case '\0':  // end of pattern
      return s;
    case '$':
      if (*(p + 1) == '\0') return (s == ms->src_end) ? s : nullptr;
      goto dflt;
    default:
    dflt: {
      const char* ep = ClassEnd(ms, p);
      // A bracket class: ClassEnd's scan and the SingleMatch below (a simple item is the
      // step charged at `init`).
      if (*p == '[') Charge(ms, ItemCost(p, ep));
      int m = s < ms->src_end && SingleMatch(uchar(*s), p, ep);
      switch (*ep) {
        case '?': {
          const char* res;
          if (m && ((res = Match(ms, s + 1, ep + 1)) != nullptr)) return res;
          p = ep + 1;
          goto init;
        }
        case '*':
          return MaxExpand(ms, s, p, ep);
        case '+':
          return m ? MaxExpand(ms, s + 1, p, ep) : nullptr;
        case '-':
          return MinExpand(ms, s, p, ep);
        default:
          if (!m) return nullptr;
          s++;
          p = ep;
          goto init;
      }
    }
  }
}

const char* Match(MatchState* ms, const char* s, const char* p) {
  DepthGuard guard(ms);
  return DoMatch(ms, s, p);
}

void InitState(MatchState* ms, lua_State* L, const char* s, size_t len) {
  ms->L = L;
  ms->src_init = s;
  ms->src_end = s + len;
  ms->level = 0;
  ms->depth = 0;
  ms->steps = 0;
  ms->max_steps = static_cast<uint64_t>(lua_tonumber(L, lua_upvalueindex(1)));
  ms->next_clock_check = kClockCheckSteps;
  ms->deadline = static_cast<PatternDeadline*>(lua_touserdata(L, lua_upvalueindex(2)));
}

void PushOneCapture(MatchState* ms, int i, const char* s, const char* e) {
  if (i >= ms->level) {
    if (i == 0) {
      lua_pushlstring(ms->L, s, static_cast<size_t>(e - s));  // whole match
    } else {
      luaL_error(ms->L, "invalid capture index");
    }
  } else {
    ptrdiff_t l = ms->capture[i].len;
    if (l == kCapUnfinished) luaL_error(ms->L, "unfinished capture");
    if (l == kCapPosition) {
      lua_pushinteger(ms->L, ms->capture[i].init - ms->src_init + 1);
    } else {
      lua_pushlstring(ms->L, ms->capture[i].init, static_cast<size_t>(l));
    }
  }
}

int PushCaptures(MatchState* ms, const char* s, const char* e) {
  int nlevels = (ms->level == 0 && s) ? 1 : ms->level;
  luaL_checkstack(ms->L, nlevels, "too many captures");
  for (int i = 0; i < nlevels; i++) PushOneCapture(ms, i, s, e);
  return nlevels;
}

ptrdiff_t PosRelative(ptrdiff_t pos, size_t len) {
  if (pos < 0) pos += static_cast<ptrdiff_t>(len) + 1;
  return pos >= 0 ? pos : 0;
}

int FindAux(lua_State* L, bool find) {
  size_t l1 = 0, l2 = 0;
  const char* s = luaL_checklstring(L, 1, &l1);
  const char* p = luaL_checklstring(L, 2, &l2);
  ptrdiff_t init = PosRelative(luaL_optinteger(L, 3, 1), l1) - 1;
  if (init < 0) {
    init = 0;
  } else if (static_cast<size_t>(init) > l1) {
    init = static_cast<ptrdiff_t>(l1);
  }
  if (find && (lua_toboolean(L, 4) || std::strpbrk(p, kSpecials) == nullptr)) {
    // Plain search: memmem is linear in the subject.
    const void* found = l2 == 0 ? static_cast<const void*>(s + init)
                                : memmem(s + init, l1 - static_cast<size_t>(init), p, l2);
    if (found) {
      ptrdiff_t at = static_cast<const char*>(found) - s;
      lua_pushinteger(L, at + 1);
      lua_pushinteger(L, at + static_cast<ptrdiff_t>(l2));
      return 2;
    }
  } else {
    MatchState ms;
    InitState(&ms, L, s, l1);
    bool anchor = (*p == '^');
    if (anchor) p++;
    const char* s1 = s + init;
    do {
      ms.level = 0;
      const char* res = Match(&ms, s1, p);
      if (res != nullptr) {
        if (find) {
          lua_pushinteger(L, s1 - s + 1);  // start
          lua_pushinteger(L, res - s);     // end
          return PushCaptures(&ms, nullptr, nullptr) + 2;
        }
        return PushCaptures(&ms, s1, res);
      }
    } while (s1++ < ms.src_end && !anchor);
  }
  lua_pushnil(L);  // not found
  return 1;
}

int StrFind(lua_State* L) { return FindAux(L, true); }
int StrMatch(lua_State* L) { return FindAux(L, false); }

// Upvalues: 1 max steps, 2 deadline, 3 subject, 4 pattern, 5 position.
int GmatchAux(lua_State* L) {
  MatchState ms;
  size_t ls = 0;
  const char* s = lua_tolstring(L, lua_upvalueindex(3), &ls);
  const char* p = lua_tostring(L, lua_upvalueindex(4));
  InitState(&ms, L, s, ls);
  for (const char* src = s + static_cast<size_t>(lua_tointeger(L, lua_upvalueindex(5)));
       src <= ms.src_end; src++) {
    ms.level = 0;
    const char* e = Match(&ms, src, p);
    if (e != nullptr) {
      lua_Integer newstart = e - s;
      if (e == src) newstart++;  // empty match? go at least one position
      lua_pushinteger(L, newstart);
      lua_replace(L, lua_upvalueindex(5));
      return PushCaptures(&ms, src, e);
    }
  }
  return 0;  // not found
}

int StrGmatch(lua_State* L) {
  luaL_checkstring(L, 1);
  luaL_checkstring(L, 2);
  lua_settop(L, 2);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_pushvalue(L, lua_upvalueindex(2));
  lua_insert(L, 2);
  lua_pushinteger(L, 0);
  lua_pushcclosure(L, GmatchAux, 5);
  return 1;
}

void AddString(MatchState* ms, luaL_Buffer* b, const char* s, const char* e) {
  size_t l = 0;
  const char* news = lua_tolstring(ms->L, 3, &l);
  Charge(ms, l);  // a long replacement copied at every match is work too
  for (size_t i = 0; i < l; i++) {
    if (news[i] != kEsc) {
      luaL_addchar(b, news[i]);
    } else {
      i++;  // skip ESC
      if (!std::isdigit(uchar(news[i]))) {
        luaL_addchar(b, news[i]);
      } else if (news[i] == '0') {
        Charge(ms, static_cast<uint64_t>(e - s));
        luaL_addlstring(b, s, static_cast<size_t>(e - s));
      } else {
        PushOneCapture(ms, news[i] - '1', s, e);
        luaL_addvalue(b);  // add capture to accumulated result
      }
    }
  }
}

void AddValue(MatchState* ms, luaL_Buffer* b, const char* s, const char* e) {
  lua_State* L = ms->L;
  switch (lua_type(L, 3)) {
    case LUA_TNUMBER:
    case LUA_TSTRING:
      AddString(ms, b, s, e);
      return;
    case LUA_TFUNCTION: {
      lua_pushvalue(L, 3);
      int n = PushCaptures(ms, s, e);
      lua_call(L, n, 1);
      break;
    }
    case LUA_TTABLE:
      PushOneCapture(ms, 0, s, e);
      lua_gettable(L, 3);
      break;
  }
  if (!lua_toboolean(L, -1)) {  // nil or false?
    lua_pop(L, 1);
    lua_pushlstring(L, s, static_cast<size_t>(e - s));  // keep original text
  } else if (!lua_isstring(L, -1)) {
    luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
  }
  luaL_addvalue(b);  // add result to accumulator
}

int StrGsub(lua_State* L) {
  size_t srcl = 0;
  const char* src = luaL_checklstring(L, 1, &srcl);
  const char* p = luaL_checkstring(L, 2);
  int tr = lua_type(L, 3);
  lua_Integer max_s = luaL_optinteger(L, 4, static_cast<lua_Integer>(srcl) + 1);
  bool anchor = (*p == '^');
  if (anchor) p++;
  luaL_argcheck(L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION ||
                       tr == LUA_TTABLE,
                3, "string/function/table expected");
  MatchState ms;
  InitState(&ms, L, src, srcl);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  lua_Integer n = 0;
  while (n < max_s) {
    ms.level = 0;
    const char* e = Match(&ms, src, p);
    if (e) {
      n++;
      AddValue(&ms, &b, src, e);
    }
    if (e && e > src) {  // non empty match?
      src = e;           // skip it
    } else if (src < ms.src_end) {
      luaL_addchar(&b, *src++);
    } else {
      break;
    }
    if (anchor) break;
  }
  luaL_addlstring(&b, src, static_cast<size_t>(ms.src_end - src));
  luaL_pushresult(&b);
  lua_pushinteger(L, n);  // number of substitutions
  return 2;
}

}  // namespace

void SetBoundedPatternFunctions(lua_State* L, int table_index, uint64_t max_steps,
                                PatternDeadline* deadline) {
  if (table_index < 0) table_index = lua_gettop(L) + table_index + 1;
  struct {
    const char* name;
    lua_CFunction fn;
  } const kFunctions[] = {
      {"find", StrFind}, {"match", StrMatch}, {"gmatch", StrGmatch}, {"gsub", StrGsub}};
  for (const auto& f : kFunctions) {
    lua_pushnumber(L, static_cast<lua_Number>(max_steps));
    lua_pushlightuserdata(L, deadline);
    lua_pushcclosure(L, f.fn, 2);
    lua_setfield(L, table_index, f.name);
  }
}

}  // namespace tailor
