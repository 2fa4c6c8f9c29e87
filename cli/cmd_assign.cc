// tailorc assign: the variant each unit ID gets in each experiment of a rules file, by the
// bucketing spec (docs/experiments.md), so an analyst can reproduce assignments offline.
// Audience (`when`), dates, bots and consent are not applied: this is the pure bucketing.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/load_rules.h"
#include "experiments/experiment_assigner.h"

namespace tailor::cli {
namespace {

int Run(const std::vector<std::string>& args);
const Command kCommand = {"assign", "assign RULES [--experiment NAME] < IDS",
                          "print id, experiment, variant (- if not enrolled) for IDs on stdin",
                          Run};

int Run(const std::vector<std::string>& args) {
  std::string rules_path, only;
  int status = Args(kCommand)
                   .Flag("--experiment", "--experiment needs a name", &only)
                   .Other([&](const std::string& a) {
                     if (!a.empty() && a[0] == '-')
                       return UsageError(kCommand, "unknown option \"" + a + "\"");
                     if (!rules_path.empty()) return UsageError(kCommand, "one rules file only");
                     rules_path = a;
                     return 0;
                   })
                   .Parse(args);
  if (status != 0) return status;
  if (rules_path.empty()) return UsageError(kCommand, "missing the rules file");

  // As nginx loads it: tables and Lua signals the rules declare are loaded too (the bucketing
  // reads neither, but a rules file nginx serves must be one this command takes).
  auto engine = LoadRulesLikeNginx(rules_path);
  if (engine == nullptr) return 1;
  Diagnostics diags;
  std::optional<ExperimentSet> set = BuildExperimentSet(*engine->rules(), diags, rules_path);
  if (!set) {
    for (const Diagnostic& d : diags.items())
      std::fprintf(stderr, "%s\n", FormatDiagnostic(d).c_str());
    return 1;
  }

  std::vector<size_t> selected;
  if (!only.empty()) {
    auto index = set->Find(only);
    if (!index) {
      std::fprintf(stderr, "tailorc assign: no experiment \"%s\" in %s\n", only.c_str(),
                   rules_path.c_str());
      return 1;
    }
    selected.push_back(*index);
  } else {
    for (size_t i = 0; i < set->size(); ++i) selected.push_back(i);
  }

  std::ios::sync_with_stdio(false);
  std::string id, out;
  while (std::getline(std::cin, id)) {
    if (!id.empty() && id.back() == '\r') id.pop_back();
    if (id.empty()) continue;
    for (size_t index : selected) {
      int v = set->Assign(index, id);
      out += id;
      out += '\t';
      out += set->experiment(index).name;
      out += '\t';
      out += v == ExperimentSet::kNotEnrolled ? std::string_view("-") : set->VariantName(index, v);
      out += '\n';
    }
    if (out.size() > (1 << 16)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace
TAILORC_COMMAND(assign, "assign", kCommand.usage, kCommand.summary, Run);
}  // namespace tailor::cli
