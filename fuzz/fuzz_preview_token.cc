// Fuzzes preview-token verification: arbitrary bytes as `?tailor_preview=` must never crash,
// read out of bounds or verify without the key. Half of the runs sign the input's payload
// with the fuzz key first, so the payload parser behind the signature check is reached too.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "core/crypto.h"
#include "experiments/preview_token.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const tailor::PreviewKey key = tailor::DerivePreviewKey("fuzz-secret-0123456789");
  std::string_view input(reinterpret_cast<const char*>(data), size);
  char scratch[tailor::kPreviewScratchSize];
  tailor::PreviewToken token;

  // 1. The raw input as a token.
  tailor::PreviewStatus st = tailor::VerifyPreviewToken(input, key, 0, scratch, &token);
  // A fuzzed input verifying means the MAC check is broken (2^-128 by chance).
  if (st == tailor::PreviewStatus::kOk) __builtin_trap();

  // 2. The input as a payload, correctly signed: exercises the payload parser.
  if (size > 0 && size <= 700) {
    tailor::Sha256Digest mac = tailor::HmacSha256(
        std::string_view(reinterpret_cast<const char*>(key.bytes.data()), key.bytes.size()),
        input);
    std::string signed_token(tailor::Base64UrlEncodedSize(size) + 1 +
                                 tailor::Base64UrlEncodedSize(tailor::kPreviewMacSize),
                             '\0');
    tailor::Base64UrlEncode(data, size, signed_token.data());
    size_t at = tailor::Base64UrlEncodedSize(size);
    signed_token[at] = '.';
    tailor::Base64UrlEncode(mac.data(), tailor::kPreviewMacSize, signed_token.data() + at + 1);
    // Checked a day before the seeds' expiry (1800000000), so signed payloads near it pass
    // the lifetime bound and reach the views' checks below.
    st = tailor::VerifyPreviewToken(signed_token, key, (1800000000LL - 86400) * 1000, scratch,
                                    &token);
    if (st == tailor::PreviewStatus::kBadSignature) __builtin_trap();
    if (st == tailor::PreviewStatus::kOk) {
      // Every view must lie inside the decoded payload in scratch.
      auto inside = [&](std::string_view v) {
        return v.empty() || (v.data() >= scratch && v.data() + v.size() <= scratch + size);
      };
      if (!inside(token.page_variant)) __builtin_trap();
      if (token.choice_count > tailor::kMaxPreviewChoices) __builtin_trap();
      for (const tailor::PreviewChoice& c : token.all()) {
        if (!inside(c.experiment) || !inside(c.variant) || c.experiment.empty()) __builtin_trap();
      }
    }
  }
  return 0;
}
