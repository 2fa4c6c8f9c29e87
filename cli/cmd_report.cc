// tailorc report: who won an experiment, from JSON access logs (plain or gzip), with honest
// statistics (docs/experiments.md, "Report").
#include <cstdio>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/load_rules.h"
#include "experiments/access_log.h"
#include "experiments/report.h"
#include "rules/rule_set.h"

namespace tailor::cli {
namespace {

int Run(const std::vector<std::string>& args);
const Command kCommand = {
    "report", "report LOG... --experiment NAME --goal PATH [--rules RULES] [--format json]",
    "per-variant conversions, 95% intervals, p-values and SRM from access logs", Run};

int Run(const std::vector<std::string>& args) {
  std::vector<std::string> logs;
  std::string rules_path, format = "text";
  ReportOptions options;
  int parsed = Args(kCommand)
                   .Flag("--experiment", "--experiment needs a name", &options.experiment)
                   .Flag("--goal", "--goal needs a path pattern", &options.goal)
                   .Flag("--rules", "--rules needs a file", &rules_path)
                   .Flag("--format", "--format is json or text",
                         [&](const std::string& v) {
                           format = v;
                           if (format != "json" && format != "text")
                             return UsageError(kCommand, "--format is json or text");
                           return 0;
                         })
                   .Other([&](const std::string& a) {
                     if (a.size() > 1 && a[0] == '-')
                       return UsageError(kCommand, "unknown option \"" + a + "\"");
                     logs.push_back(a);  // "-" is stdin
                     return 0;
                   })
                   .Parse(args);
  if (parsed != 0) return parsed;
  if (logs.empty()) return UsageError(kCommand, "no log file");
  if (options.experiment.empty()) return UsageError(kCommand, "--experiment is required");
  if (options.goal.empty()) return UsageError(kCommand, "--goal is required");

  if (!rules_path.empty()) {
    // As nginx loads it, tables and Lua signals included: the variants and weights come from
    // the file nginx serves.
    auto engine = LoadRulesLikeNginx(rules_path);
    if (engine == nullptr) return 1;
    const RuleSet* rules = engine->rules();
    const ExperimentDecl* decl = nullptr;
    for (const ExperimentDecl& d : rules->experiments()) {
      if (d.name == options.experiment) decl = &d;
    }
    if (decl == nullptr) {
      std::fprintf(stderr, "tailorc report: no experiment \"%s\" in %s\n",
                   options.experiment.c_str(), rules_path.c_str());
      return 1;
    }
    for (const ExperimentVariant& v : decl->variants) {
      options.variants.push_back(v.name);
      options.weights.push_back(v.weight);
    }
  }

  ExperimentReport report(options);
  int status = 0;
  for (const std::string& path : logs) {
    auto reader = LogLineReader::Open(path);
    if (!reader.ok()) {
      std::fprintf(stderr, "tailorc report: %s\n", reader.status().message().c_str());
      return 1;
    }
    std::string_view line;
    for (;;) {
      LogLineReader::Next n = reader.value()->ReadLine(&line);
      if (n == LogLineReader::Next::kLine) {
        report.AddLine(line);
      } else if (n == LogLineReader::Next::kTooLong) {
        report.AddBadLine();
      } else if (n == LogLineReader::Next::kError) {
        // A truncated or corrupt gzip file: keep what was read, say so, go on.
        std::fprintf(stderr, "tailorc report: %s: %s (the rest of this file is skipped)\n",
                     path.c_str(), reader.value()->error().c_str());
        status = 1;
        break;
      } else {
        break;
      }
    }
  }
  ReportResult result = report.Finish();
  std::string out = format == "json" ? FormatReportJson(result) : FormatReportText(result);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return status;
}

}  // namespace
TAILORC_COMMAND(report, "report", kCommand.usage, kCommand.summary, Run);
}  // namespace tailor::cli
