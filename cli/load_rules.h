// Loading a rules file the way nginx does, for the commands that only need the compiled rules
// (assign, report): through the Engine, so table files and Lua signals are resolved relative
// to the rules file, loaded and compiled, and experiments validated — a rules file nginx
// accepts, these commands accept.
#pragma once

#include <memory>
#include <string>

#include "engine/engine.h"

namespace tailor::cli {

// Prints every diagnostic to stderr (FILE:LINE:COL with the source line); null on errors.
std::unique_ptr<Engine> LoadRulesLikeNginx(const std::string& rules_path);

}  // namespace tailor::cli
