// tailorc's command table: each cmd_<name>.cc registers one command with TAILORC_COMMAND, so
// commands are added without editing main.cc.
#pragma once

#include <string>
#include <vector>

namespace tailor::cli {

struct Command {
  const char* name;
  const char* usage;    // "check RULES"
  const char* summary;  // one line
  int (*run)(const std::vector<std::string>& args);  // args after the command name
};

std::vector<Command>& Commands();

struct CommandRegistrar {
  explicit CommandRegistrar(Command c) { Commands().push_back(c); }
};

// Prints "tailorc: message" to stderr and returns 2 (usage error).
int UsageError(const Command& c, const std::string& message);

}  // namespace tailor::cli

#define TAILORC_COMMAND(ident, name, usage, summary, fn) \
  static ::tailor::cli::CommandRegistrar tailorc_command_##ident({name, usage, summary, fn})
