// tailorc signals: lists every signal the rule language knows, with type and example, then the
// data sources signals read (their directive, options and `tailorc explain` flag).
#include <cstdio>

#include "cli/command.h"
#include "core/signal_registry.h"

namespace tailor::cli {
namespace {

int Run(const std::vector<std::string>& args) {
  for (const SignalDef& s : SignalRegistry::Builtin().all()) {
    std::string name = s.name;
    if (s.arg == SignalArg::kString) name += "(\"NAME\")";
    if (s.arg == SignalArg::kNumberPair) name += "(A, B)";
    std::printf("%-32s %-12s %s\n    e.g. %s\n", name.c_str(), ValueTypeName(s.type),
                s.doc.c_str(), s.example.c_str());
  }
  for (const DataSourceDef& d : SignalRegistry::Builtin().sources()) {
    std::string syntax = std::string(d.directive) + " PATH";
    for (const SourceOptionDef& o : d.options)
      syntax += " [" + std::string(o.name) +
                (o.kind == SourceOptionDef::Kind::kDuration ? "=INTERVAL]" : "=VALUE]");
    std::printf("\ndata source %s\n    %s\n    tailorc explain %.*s FILE\n", syntax.c_str(),
                std::string(d.doc).c_str(), static_cast<int>(d.explain_flag.size()),
                d.explain_flag.data());
  }
  return 0;
}

}  // namespace
TAILORC_COMMAND(signals, "signals", "signals", "list every signal rules can read", Run);
}  // namespace tailor::cli
