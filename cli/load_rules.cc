#include "cli/load_rules.h"

#include <cstdio>

namespace tailor::cli {

std::unique_ptr<Engine> LoadRulesLikeNginx(const std::string& rules_path) {
  Diagnostics diags;
  EngineConfig config;
  config.rules_path = rules_path;
  // Tables are read once: nothing here serves long enough to see them change.
  config.tables_reload_ms = 0;
  auto engine = Engine::Create(config, diags);
  for (const Diagnostic& d : diags.items())
    std::fprintf(stderr, "%s\n", FormatDiagnostic(d).c_str());
  if (engine == nullptr || engine->rules() == nullptr || diags.has_errors()) return nullptr;
  return engine;
}

}  // namespace tailor::cli
