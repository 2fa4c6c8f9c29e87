// Diagnostics: user mistakes (in rules, tables, ...) with a source location.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tailor {

enum class Severity { kError, kWarning, kNote };

struct Diagnostic {
  Severity severity = Severity::kError;
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown
  std::string message;
  std::string source_line;  // the offending line's text, for the caret display (may be empty)
};

class Diagnostics {
 public:
  void Error(std::string file, int line, int col, std::string msg, std::string source_line = {});
  void Warning(std::string file, int line, int col, std::string msg, std::string source_line = {});
  void Add(Diagnostic d) { items_.push_back(std::move(d)); }

  bool has_errors() const;
  size_t error_count() const;
  const std::vector<Diagnostic>& items() const { return items_; }
  void Clear() { items_.clear(); }

 private:
  std::vector<Diagnostic> items_;
};

// "FILE:LINE:COL: error: message" (the one-line form nginx prints).
std::string FormatDiagnosticLine(const Diagnostic& d);
// The one-line form, then the source line and a caret under the column.
std::string FormatDiagnostic(const Diagnostic& d);
// Returns the text of line `line` (1-based) of `source`, without the newline.
std::string_view SourceLine(std::string_view source, int line);

}  // namespace tailor
