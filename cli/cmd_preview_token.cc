// tailorc preview-token: makes (or checks) a signed, expiring preview token that forces
// experiment variants for `?tailor_preview=TOKEN` (see experiments/preview_token.h).
#include <cstdio>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include "cli/args.h"
#include "cli/command.h"
#include "core/secret.h"
#include "experiments/preview_token.h"

namespace tailor::cli {
namespace {

int Run(const std::vector<std::string>& args);
const Command kCommand = {
    "preview-token",
    "preview-token --secret FILE --set EXP=VAR... [--variant NAME] --ttl 2h",
    "make a signed, expiring ?tailor_preview= token (--check TOKEN verifies one)", Run};

int Run(const std::vector<std::string>& args) {
  std::string secret_path, variant, ttl_text, check;
  std::vector<std::pair<std::string, std::string>> choices;
  int status =
      Args(kCommand)
          .Flag("--secret", "--secret needs a file", &secret_path)
          .Flag("--set", "--set needs EXPERIMENT=VARIANT",
                [&](const std::string& v) {
                  size_t eq = v.find('=');
                  if (eq == std::string::npos || eq == 0 || eq + 1 == v.size()) {
                    return UsageError(kCommand,
                                      "--set needs EXPERIMENT=VARIANT, not \"" + v + "\"");
                  }
                  choices.emplace_back(v.substr(0, eq), v.substr(eq + 1));
                  return 0;
                })
          .Flag("--variant", "--variant needs a page variant name", &variant)
          .Flag("--ttl", "--ttl needs a duration like 2h", &ttl_text)
          .Flag("--check", "--check needs a token", &check)
          .Other([&](const std::string& a) {
            return UsageError(kCommand, "unknown argument \"" + a + "\"");
          })
          .Parse(args);
  if (status != 0) return status;
  if (secret_path.empty()) return UsageError(kCommand, "--secret FILE is required");
  // The loader nginx uses for tailor_secret: the same file gives the same key.
  auto secret = LoadSecret(secret_path);
  if (!secret.ok()) {
    std::fprintf(stderr, "tailorc preview-token: %s: %s\n", secret_path.c_str(),
                 secret.status().message().c_str());
    return 1;
  }
  PreviewKey key = DerivePreviewKey(secret.value());
  int64_t now_s = static_cast<int64_t>(std::time(nullptr));

  if (!check.empty()) {
    char scratch[kPreviewScratchSize];
    PreviewToken t;
    PreviewStatus st = VerifyPreviewToken(check, key, now_s * 1000, scratch, &t);
    if (st != PreviewStatus::kOk) {
      std::printf("rejected: %s\n", PreviewStatusName(st));
      return 1;
    }
    std::printf("valid for %lld more seconds\n", static_cast<long long>(t.expires_s - now_s));
    for (const PreviewChoice& c : t.all()) {
      std::printf("experiment %.*s = %.*s\n", static_cast<int>(c.experiment.size()),
                  c.experiment.data(), static_cast<int>(c.variant.size()), c.variant.data());
    }
    if (!t.page_variant.empty()) {
      std::printf("page variant %.*s\n", static_cast<int>(t.page_variant.size()),
                  t.page_variant.data());
    }
    return 0;
  }

  if (ttl_text.empty()) return UsageError(kCommand, "--ttl is required (e.g. --ttl 2h)");
  int64_t ttl = ParseDurationSeconds(ttl_text);
  if (ttl <= 0) return UsageError(kCommand, "bad --ttl \"" + ttl_text + "\" (e.g. 30m, 2h, 1d)");
  if (ttl > kMaxPreviewLifetimeSeconds) return UsageError(kCommand, "--ttl is limited to 30 days");
  auto token = MakePreviewToken(key, choices, variant, now_s + ttl);
  if (!token.ok()) return UsageError(kCommand, token.status().message());
  std::printf("%s\n", token.value().c_str());
  return 0;
}

}  // namespace
TAILORC_COMMAND(preview_token, "preview-token", kCommand.usage, kCommand.summary, Run);
}  // namespace tailor::cli
