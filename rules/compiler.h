// Compiler: a checked Program -> CompiledRules. Flattens and/or chains, folds constants,
// shares common subexpressions (identical nodes and signal instances are built once, so each
// is computed at most once per request), orders short-circuit evaluation by signal cost,
// hashes large `in` sets, and compiles all `matches` regexes over the same input into one
// vectorscan database.
#pragma once

#include <memory>

#include "core/diagnostic.h"
#include "rules/ast.h"
#include "rules/compiled.h"

namespace tailor {

// Returns null (with Diagnostics) when a regex database cannot be built.
std::unique_ptr<CompiledRules> CompileProgram(const Program& program,
                                              const SignalRegistry& registry,
                                              Diagnostics& diags);

// Glob matching for page patterns: '*' matches within one path segment (no '/'); a '*' at
// the end of the pattern matches the rest of the path, '/' included.
bool GlobMatch(std::string_view pattern, std::string_view path);

}  // namespace tailor
