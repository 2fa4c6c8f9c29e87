// Formatter: prints a rules file in the canonical layout (`tailorc fmt`). Comments and single
// blank lines between statements are kept; includes are not followed (each file is formatted
// on its own). Idempotent: formatting the output again gives the same text, and the output
// parses to the same program.
#pragma once

#include <string>
#include <string_view>

#include "core/diagnostic.h"
#include "rules/ast.h"

namespace tailor {

// Formats file `file` of a parsed program.
std::string FormatProgram(const Program& program, int file = 0);

// Parses `source` (without following includes) and formats it. False (with Diagnostics) when
// the file has syntax errors: a file that does not parse is never rewritten.
bool FormatSource(std::string_view source, const std::string& file_name, std::string* out,
                  Diagnostics& diags);

// Canonical spellings, shared with `tailorc explain`.
std::string FormatExpr(const Program& program, int expr);
std::string QuoteString(std::string_view s);
std::string FormatNumberLiteral(double v);

}  // namespace tailor
