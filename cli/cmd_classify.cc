// tailorc classify: device classification as the device.* signals do it.
// stdin: one User-Agent per line; stdout: "type<TAB>os<TAB>browser<TAB>bot" per line
// (bot is "true" or "false"). Streams: one vectorscan scan per distinct UA, a cache for
// repeats, buffered output.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/lines.h"
#include "signals/device_classifier.h"

namespace tailor::cli {
namespace {

int Run(const std::vector<std::string>& args);
const Command kCommand = {"classify", "classify",
                          "classify User-Agents from stdin: type<TAB>os<TAB>browser<TAB>bot", Run};

int Run(const std::vector<std::string>& args) {
  int status = Args(kCommand)
                   .Other([](const std::string&) {
                     std::fprintf(stderr,
                                  "tailorc classify: takes no arguments (User-Agents on stdin)\n");
                     return 2;
                   })
                   .Parse(args);
  if (status != 0) return status;
  auto created = DeviceClassifier::Create();
  if (!created.ok()) {
    std::fprintf(stderr, "tailorc classify: %s\n", created.status().message().c_str());
    return 1;
  }
  const DeviceClassifier& classifier = *created.value();
  auto ws = classifier.NewWorkspace();
  if (!ws.ok()) {
    std::fprintf(stderr, "tailorc classify: %s\n", ws.status().message().c_str());
    return 1;
  }
  return FilterStdinLines([&](std::string_view ua, std::string& out) {
    DeviceInfo d = classifier.Classify(ua, {}, *ws.value());
    out += DeviceTypeName(d.type);
    out += '\t';
    out += DeviceOsName(d.os);
    out += '\t';
    out += BrowserName(d.browser);
    out += d.bot ? "\ttrue\n" : "\tfalse\n";
  });
}

}  // namespace
TAILORC_COMMAND(classify, kCommand.name, kCommand.usage, kCommand.summary, Run);
}  // namespace tailor::cli
