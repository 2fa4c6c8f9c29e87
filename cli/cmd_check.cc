// tailorc check RULES: parses, checks and compiles a rules file (with its includes) exactly as
// the server does (through the Engine: tables are loaded, Lua signals compiled, experiments
// validated), and prints every error and warning as FILE:LINE:COL with the source line and
// a caret. Exit 0 when the rules load, 1 on errors.
#include <algorithm>
#include <cstdio>

#include "cli/args.h"
#include "cli/command.h"
#include "engine/engine.h"
#include "rules/rule_set.h"

namespace tailor::cli {
namespace {

int Run(const std::vector<std::string>& args);
const Command kCheck = {"check", "check RULES", "check a rules file: every error, FILE:LINE:COL",
                        Run};

int Run(const std::vector<std::string>& args) {
  size_t rules_files = 0;
  int status = Args(kCheck)
                   .Other([&](const std::string& a) {
                     if (a.empty() || a[0] == '-')
                       return UsageError(kCheck, "expected one rules file");
                     ++rules_files;
                     return 0;
                   })
                   .Parse(args);
  if (status != 0) return status;
  if (rules_files != 1) return UsageError(kCheck, "expected one rules file");
  Diagnostics diags;
  EngineConfig config;
  config.rules_path = args[0];
  auto engine = Engine::Create(config, diags);
  const RuleSet* rules = engine ? engine->rules() : nullptr;
  // In file order (files as first mentioned), then by position.
  std::vector<Diagnostic> items = diags.items();
  std::vector<std::string> files;
  for (const Diagnostic& d : items)
    if (std::find(files.begin(), files.end(), d.file) == files.end()) files.push_back(d.file);
  auto file_rank = [&](const std::string& f) {
    return std::find(files.begin(), files.end(), f) - files.begin();
  };
  std::stable_sort(items.begin(), items.end(), [&](const Diagnostic& a, const Diagnostic& b) {
    if (a.file != b.file) return file_rank(a.file) < file_rank(b.file);
    if (a.line != b.line) return a.line < b.line;
    return a.column < b.column;
  });
  for (const Diagnostic& d : items) std::fprintf(stderr, "%s\n", FormatDiagnostic(d).c_str());
  size_t errors = diags.error_count();
  size_t warnings = diags.items().size() - errors;
  if (!rules || errors > 0) {
    std::fprintf(stderr, "%s: %zu error%s, %zu warning%s\n", args[0].c_str(), errors,
                 errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s");
    return 1;
  }
  std::printf("%s: ok (%zu segments, %zu pages, %zu scores, %zu experiments, %zu goals; "
              "%zu warning%s)\n",
              args[0].c_str(), rules->num_segments(), rules->num_pages(), rules->num_scores(),
              rules->experiments().size(), rules->num_goals(), warnings,
              warnings == 1 ? "" : "s");
  return 0;
}

}  // namespace
TAILORC_COMMAND(check, kCheck.name, kCheck.usage, kCheck.summary, kCheck.run);
}  // namespace tailor::cli
