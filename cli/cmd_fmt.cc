// tailorc fmt RULES [-w]: prints the file in the canonical layout (idempotent; comments kept);
// -w rewrites the file in place. Includes are not followed: format each file on its own.
// A file with syntax errors is never rewritten (exit 1, errors on stderr).
#include <cstdio>

#include "cli/args.h"
#include "cli/command.h"
#include "rules/formatter.h"
#include "rules/parser.h"

namespace tailor::cli {
namespace {

int Run(const std::vector<std::string>& args);
const Command kFmt = {"fmt", "fmt RULES [-w]",
                      "print a rules file canonically formatted (-w: rewrite it)", Run};

int Run(const std::vector<std::string>& args) {
  std::string path;
  bool write = false;
  int status = Args(kFmt)
                   .Switch("-w", "--write", &write)
                   .Other([&](const std::string& a) {
                     if (!path.empty() || a.empty() || a[0] == '-')
                       return UsageError(kFmt, "unexpected argument " + a);
                     path = a;
                     return 0;
                   })
                   .Parse(args);
  if (status != 0) return status;
  if (path.empty()) return UsageError(kFmt, "expected a rules file");
  Result<std::string> read = ReadRulesFile(path, RuleLimits().max_file_bytes);
  if (!read.ok()) {
    std::fprintf(stderr, "%s: %s\n", path.c_str(), read.status().message().c_str());
    return 1;
  }
  const std::string& text = read.value();
  Diagnostics diags;
  std::string out;
  bool ok = FormatSource(text, path, &out, diags);
  for (const Diagnostic& d : diags.items())
    if (d.severity == Severity::kError) std::fprintf(stderr, "%s\n", FormatDiagnostic(d).c_str());
  if (!ok) return 1;
  if (!write) {
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  }
  if (out == text) return 0;
  std::string tmp = path + ".tailorc-fmt.tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr || std::fwrite(out.data(), 1, out.size(), f) != out.size() ||
      std::fclose(f) != 0 || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::fprintf(stderr, "%s: cannot write the formatted file\n", path.c_str());
    std::remove(tmp.c_str());
    return 1;
  }
  return 0;
}

}  // namespace
TAILORC_COMMAND(fmt, kFmt.name, kFmt.usage, kFmt.summary, kFmt.run);
}  // namespace tailor::cli
