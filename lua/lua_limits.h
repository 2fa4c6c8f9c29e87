// Limits of user-defined Lua signals. Each one bounds what a content team's script can cost a
// worker: the source size at config time; per call, the VM instructions and the wall time;
// per worker state, the memory of the whole Lua heap; and the work of the string functions
// that run in C (where no instruction hook can interrupt them).
#pragma once

#include <cstddef>
#include <cstdint>

namespace tailor {

struct LuaLimits {
  size_t max_source_bytes = 256u << 10;  // one signal file
  // The Lua heap of one worker state, all signals together (a custom allocator refuses more).
  size_t max_memory_bytes = 16u << 20;
  // VM instructions per call (counted by a count hook every kLuaHookStep instructions, so the
  // effective budget is rounded up to a multiple of that step).
  uint64_t max_instructions = 1'000'000;
  // Wall time per call, checked by the same hook (catches time spent in C string functions
  // between hook points).
  int64_t max_call_us = 10'000;
  // A file's top-level code (run once at config check and once per worker start, e.g. to
  // build lookup tables) gets this many times the per-call instruction and time budget.
  int load_budget_factor = 10;
  size_t max_string_bytes = 1u << 20;         // string.rep's result
  // Matcher steps in one string.find/match/gmatch-step/gsub call (~1 ms): bounds
  // backtracking, which runs in C where the hook cannot stop it.
  uint64_t max_pattern_steps = 250'000;
  size_t max_result_bytes = 4096;             // a string a signal returns
};

// The count hook's period, in VM instructions: the finest granularity of the budget and the
// time check. A typical signal runs fewer instructions and never meets the hook; long loops
// pay one clock read (~20 ns) per 250 instructions. Kept small because C library calls
// between two hook points also take time (large allocations check the clock too).
inline constexpr int kLuaHookStep = 250;

}  // namespace tailor
