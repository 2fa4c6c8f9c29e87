// Checker: resolves every name in a parsed Program (segments, scores, signals from the
// SignalRegistry, experiment.*, table columns, Lua signals), checks types, finds cycles,
// duplicates, bad regexes and invalid declarations, and warns about rules that can never
// match. Every problem of the program is reported, not just the first. Annotates the AST
// (Expr::ref, type, ...) for the compiler.
#pragma once

#include <vector>

#include "core/diagnostic.h"
#include "rules/ast.h"
#include "rules/extensions.h"
#include "rules/limits.h"
#include "core/signal_registry.h"

namespace tailor {

struct CheckOptions {
  const SignalRegistry* registry = nullptr;
  TableProvider* tables = nullptr;      // null: `table` declarations are errors
  LuaSignalProvider* lua = nullptr;     // null: `lua(...)` signals are errors
  RuleLimits limits;
  bool validate_regexes = true;
};

struct CheckResult {
  std::vector<bool> segment_used;  // by another rule (segments are also listed on their own)
};

CheckResult Check(Program& program, const CheckOptions& options, Diagnostics& diags);

// "2026-12-01" -> ms since the epoch at UTC midnight; false when not a valid date.
bool ParseDate(std::string_view text, int64_t* ms);

}  // namespace tailor
