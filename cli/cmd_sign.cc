// tailorc sign: the signed value of a tailor_lifecycle source, "VALUE.SIGNATURE", for a site
// to set as its login marker or order-count cookie (docs/privacy.md shows the same signature
// computed by a backend). Sources are signed unless configured `unsigned:`, and nginx ignores
// values whose signature does not verify under tailor_secret.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/command.h"
#include "core/secret.h"
#include "signals/visitor_profile.h"

namespace tailor::cli {
namespace {

int Run(const std::vector<std::string>& args);
const Command kCommand = {
    "sign", "sign --secret FILE registered|orders VALUE",
    "print the signed tailor_lifecycle value (VALUE.SIGNATURE) to set as the cookie or header",
    Run};

// The value travels in a cookie or header as it is: no separators, quotes or spaces.
bool CookieSafe(const std::string& v) {
  for (unsigned char c : v)
    if (c <= 0x20 || c >= 0x7f || c == ';' || c == ',' || c == '"' || c == '\\') return false;
  return true;
}

int Run(const std::vector<std::string>& args) {
  std::string secret_path;
  std::vector<std::string> words;
  int status = Args(kCommand)
                   .Flag("--secret", "--secret needs a file", &secret_path)
                   .Other([&](const std::string& a) {
                     if (a.size() > 1 && a[0] == '-')
                       return UsageError(kCommand, "unknown option \"" + a + "\"");
                     words.push_back(a);
                     return 0;
                   })
                   .Parse(args);
  if (status != 0) return status;
  if (secret_path.empty()) return UsageError(kCommand, "--secret FILE is required");
  if (words.size() != 2) return UsageError(kCommand, "expected a stage and a value");
  const std::string& stage = words[0];
  const std::string& value = words[1];
  if (stage != kLifecycleRegisteredStage && stage != kLifecycleOrdersStage)
    return UsageError(kCommand, "the stage is \"registered\" or \"orders\", not \"" + stage + "\"");
  if (value.empty() || value.size() > kMaxLifecycleValue || !CookieSafe(value))
    return UsageError(kCommand, "the value must be 1 to " + std::to_string(kMaxLifecycleValue) +
                                    " printable characters without spaces, quotes, ';' or ','");
  // The loader nginx uses for tailor_secret: the same file gives the same key.
  auto secret = LoadSecret(secret_path);
  if (!secret.ok()) {
    std::fprintf(stderr, "tailorc sign: %s: %s\n", secret_path.c_str(),
                 secret.status().message().c_str());
    return 1;
  }
  std::printf("%s\n", SignLifecycleValue(secret.value(), stage, value).c_str());
  return 0;
}

}  // namespace
TAILORC_COMMAND(sign, "sign", kCommand.usage, kCommand.summary, Run);
}  // namespace tailor::cli
