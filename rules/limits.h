// Explicit limits of the rule language. Each is checked where the input is read and reported
// as a Diagnostic, so hostile or runaway rules files give an error, never a stack overflow or
// an unbounded allocation.
#pragma once

#include <cstddef>

namespace tailor {

struct RuleLimits {
  size_t max_file_bytes = 4u << 20;       // one rules file
  size_t max_files = 256;                 // files reached through include
  int max_include_depth = 16;             // include nesting
  int max_expr_depth = 64;                // parentheses / `not` nesting inside one expression
  int max_total_depth = 256;              // expression depth through segment references
  size_t max_set_size = 100000;           // items in one `in [...]` list
  size_t max_regex_bytes = 8192;          // one `matches` pattern
  size_t max_regexes = 20000;             // `matches` patterns in a rule set
  size_t max_string_bytes = 65536;        // one string literal
  size_t max_name_bytes = 128;            // identifiers
};

}  // namespace tailor
