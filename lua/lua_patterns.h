// Bounded Lua pattern matching for the sandbox: string.find, match, gmatch and gsub with
// Lua 5.1 / LuaJIT semantics, but with a step budget per call.
//
// Why: the instruction hook that stops runaway scripts cannot interrupt C code, and LuaJIT's
// own matcher backtracks without limit: `s:match("(.-)=(.-);")` over an 8 KiB header an
// attacker sends costs O(n^3) steps inside one C call. These versions count steps (one per
// matcher call and per character scanned by a repetition or %b; a bracket class costs its
// length each time it is tested, a back-reference the bytes it compares) and raise "pattern
// too complex" when a call exceeds the budget; the signal is then missing like any error. They
// also limit the matcher's recursion depth, so a long pattern cannot overflow the C stack.
// Plain finds (`find(s, p, init, true)`, or a pattern without special characters) use
// memmem, linear in the subject.
#pragma once

#include <cstdint>

#include <lua.hpp>

namespace tailor {

// The caller's clock: the matcher reads CLOCK_MONOTONIC every few thousand steps and stops
// (setting `expired`) once past `deadline_ns`, so that many cheap-looking calls between two
// instruction-hook points cannot overrun the signal's time budget either.
struct PatternDeadline {
  int64_t deadline_ns = INT64_MAX;
  bool expired = false;
};

// Sets find, match, gmatch and gsub in the table at `table_index` to the bounded versions,
// each allowing at most `max_steps` steps per call. `deadline` (may be null) must outlive L.
void SetBoundedPatternFunctions(lua_State* L, int table_index, uint64_t max_steps,
                                PatternDeadline* deadline = nullptr);

}  // namespace tailor
