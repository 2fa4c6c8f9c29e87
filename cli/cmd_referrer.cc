// tailorc referrer: classifies referrers as the referrer.* signals do.
// stdin: lines "REFERRER_URL[<TAB>LANDING_URL]"; stdout: "medium<TAB>source<TAB>term" per line.
// The landing URL gives the request's host (same host = internal) and its query (utm_*,
// click IDs). An empty REFERRER_URL is a direct visit.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/lines.h"
#include "core/diagnostic.h"
#include "signals/referrer_classifier.h"

namespace tailor::cli {
namespace {

// Control characters (a decoded %09 or %0A in a search term) would break the line format.
void WriteField(std::string_view s, std::string& out) {
  for (char c : s) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
}

int Run(const std::vector<std::string>& args);
const Command kSelf = {"referrer", "referrer [--referrers FILE] [--own-host HOST]...",
                       "classify REFERRER_URL[<TAB>LANDING_URL] lines from stdin", Run};

int Run(const std::vector<std::string>& args) {
  ReferrerClassifier classifier;
  std::vector<std::string> own_storage;
  // A flag without its value is an unexpected argument.
  int status = Args(kSelf)
                   .Flag("--referrers", "",
                         [&](const std::string& file) {
                           Diagnostics diags;
                           bool ok = classifier.LoadDatabaseFile(file, diags);
                           for (const Diagnostic& d : diags.items())
                             std::fprintf(stderr, "%s\n", FormatDiagnostic(d).c_str());
                           return ok ? 0 : 1;
                         })
                   .Repeated("--own-host", "", &own_storage)
                   .Parse(args);
  if (status != 0) return status;
  std::vector<std::string_view> own(own_storage.begin(), own_storage.end());
  std::vector<char> arena_buf(64 * 1024);
  return FilterStdinLines([&](std::string_view l, std::string& out) {
    size_t tab = l.find('\t');
    std::string_view referer = l.substr(0, tab);
    std::string_view landing = tab == std::string_view::npos ? std::string_view() : l.substr(tab + 1);
    UrlParts landing_url = SplitUrl(landing);
    Arena arena(arena_buf.data(), arena_buf.size());
    ReferrerResult r =
        classifier.Classify(referer, landing_url.host, landing_url.query, own, arena);
    WriteField(MediumName(r.medium), out);
    out += '\t';
    WriteField(r.source, out);
    out += '\t';
    WriteField(r.term, out);
    out += '\n';
  });
}

}  // namespace
TAILORC_COMMAND(referrer, kSelf.name, kSelf.usage, kSelf.summary, Run);
}  // namespace tailor::cli
