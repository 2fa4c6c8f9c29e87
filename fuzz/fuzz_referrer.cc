// Fuzzes the referrer parser and classifier: any Referer and landing query must classify
// without crashing, with bounded output that stays inside the arena or the tables.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "signals/referrer_classifier.h"

using namespace tailor;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const ReferrerClassifier classifier;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // "REFERER\tLANDING_QUERY\tREQUEST_HOST"
  size_t t1 = input.find('\t');
  std::string_view referer = input.substr(0, t1);
  std::string_view rest = t1 == std::string_view::npos ? std::string_view() : input.substr(t1 + 1);
  size_t t2 = rest.find('\t');
  std::string_view query = rest.substr(0, t2);
  std::string_view host = t2 == std::string_view::npos ? std::string_view() : rest.substr(t2 + 1);
  std::string_view own[] = {"example.com", ".example.net"};
  alignas(16) static char buf[8192];
  Arena arena(buf, sizeof buf);
  ReferrerResult r = classifier.Classify(referer, host, query, own, arena);
  if (MediumName(r.medium).empty()) __builtin_trap();
  if (r.term.size() > 256 || r.source.size() > 300) __builtin_trap();
  UrlParts u = SplitUrl(referer);
  if (u.ok && u.host.empty()) __builtin_trap();
  // A tiny arena: still no crash, strings just go empty.
  char small[8];
  Arena tiny(small, sizeof small);
  (void)classifier.Classify(referer, host, query, own, tiny);
  CampaignParams cp = ParseCampaignParams(query, arena);
  if (cp.source.size() > 256 || cp.campaign.size() > 256) __builtin_trap();
  return 0;
}
