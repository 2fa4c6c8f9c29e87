#include "core/diagnostic.h"

namespace tailor {

void Diagnostics::Error(std::string file, int line, int col, std::string msg,
                        std::string source_line) {
  items_.push_back(Diagnostic{Severity::kError, std::move(file), line, col, std::move(msg),
                              std::move(source_line)});
}

void Diagnostics::Warning(std::string file, int line, int col, std::string msg,
                          std::string source_line) {
  items_.push_back(Diagnostic{Severity::kWarning, std::move(file), line, col, std::move(msg),
                              std::move(source_line)});
}

bool Diagnostics::has_errors() const { return error_count() > 0; }

size_t Diagnostics::error_count() const {
  size_t n = 0;
  for (const auto& d : items_) n += d.severity == Severity::kError;
  return n;
}

static const char* SeverityName(Severity s) {
  switch (s) {
    case Severity::kError: return "error";
    case Severity::kWarning: return "warning";
    case Severity::kNote: return "note";
  }
  return "error";
}

std::string FormatDiagnosticLine(const Diagnostic& d) {
  std::string out = d.file;
  if (d.line > 0) {
    out += ":" + std::to_string(d.line);
    if (d.column > 0) out += ":" + std::to_string(d.column);
  }
  out += ": ";
  out += SeverityName(d.severity);
  out += ": ";
  out += d.message;
  return out;
}

std::string FormatDiagnostic(const Diagnostic& d) {
  std::string out = FormatDiagnosticLine(d);
  if (!d.source_line.empty() && d.column > 0) {
    out += "\n  ";
    out += d.source_line;
    out += "\n  ";
    // Keep tabs so the caret lines up under tab-indented source.
    for (int i = 1; i < d.column && static_cast<size_t>(i - 1) < d.source_line.size(); ++i)
      out += d.source_line[i - 1] == '\t' ? '\t' : ' ';
    out += '^';
  }
  return out;
}

std::string_view SourceLine(std::string_view source, int line) {
  if (line < 1) return {};
  size_t pos = 0;
  for (int i = 1; i < line; ++i) {
    size_t nl = source.find('\n', pos);
    if (nl == std::string_view::npos) return {};
    pos = nl + 1;
  }
  size_t end = source.find('\n', pos);
  std::string_view l = source.substr(pos, end == std::string_view::npos ? source.size() - pos
                                                                         : end - pos);
  if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
  return l;
}

}  // namespace tailor
