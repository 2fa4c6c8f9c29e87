// Parser: tokens -> Program (the AST in ast.h). Syntax errors are Diagnostics; the parser
// recovers at the next statement (a line starting with `segment`, `page`, ...) so one run
// reports every error. `include "FILE"` is parsed in place (relative to the including file),
// each file at most once, within RuleLimits (depth, count, size).
#pragma once

#include <string>
#include <string_view>

#include "core/diagnostic.h"
#include "core/status.h"
#include "rules/ast.h"
#include "rules/limits.h"

namespace tailor {

struct ParseOptions {
  RuleLimits limits;
  bool follow_includes = true;  // false: `include` is kept as an item only (the formatter)
};

// Parses `source`, named `file_name` in messages, into `program` (appending).
void ParseSource(Program& program, std::string_view source, const std::string& file_name,
                 Diagnostics& diags, const ParseOptions& options = {});

// Reads and parses the file at `path`. A missing/unreadable/oversized file is a Diagnostic.
void ParseFile(Program& program, const std::string& path, Diagnostics& diags,
               const ParseOptions& options = {});

// Words that are operators, never names.
bool IsReservedWord(std::string_view word);

// A rules file through core's ReadFileLimited, with the failure worded for a diagnostic at
// the file ("cannot read: REASON", "is a directory, not a rules file", "file is larger than
// the limit of N bytes", "read error").
Result<std::string> ReadRulesFile(const std::string& path, size_t max_bytes);

}  // namespace tailor
