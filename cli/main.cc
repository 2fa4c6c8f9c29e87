// tailorc: the command-line face of the core library.
#include <cstdio>
#include <cstring>
#include <exception>

#include "cli/command.h"

namespace tailor::cli {

std::vector<Command>& Commands() {
  static std::vector<Command> commands;
  return commands;
}

int UsageError(const Command& c, const std::string& message) {
  std::fprintf(stderr, "tailorc %s: %s\nusage: tailorc %s\n", c.name, message.c_str(), c.usage);
  return 2;
}

static void PrintHelp(FILE* out) {
  std::fprintf(out, "usage: tailorc COMMAND [ARGS]\n\ncommands:\n");
  for (const Command& c : Commands()) std::fprintf(out, "  %-40s %s\n", c.usage, c.summary);
}

}  // namespace tailor::cli

int main(int argc, char** argv) {
  using namespace tailor::cli;
  if (argc < 2 || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "--help") ||
      !std::strcmp(argv[1], "help")) {
    PrintHelp(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  for (const Command& c : Commands()) {
    if (std::strcmp(c.name, argv[1]) != 0) continue;
    std::vector<std::string> args(argv + 2, argv + argc);
    try {
      return c.run(args);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "tailorc %s: %s\n", c.name, e.what());
      return 3;
    }
  }
  std::fprintf(stderr, "tailorc: unknown command \"%s\"\n", argv[1]);
  PrintHelp(stderr);
  return 2;
}
