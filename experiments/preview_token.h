// Preview tokens: `?tailor_preview=TOKEN` forces experiment variants (and optionally the page
// variant) for a reviewer. A token is signed with HMAC-SHA256 under a key derived from the
// site secret, expires, and is URL-safe:
//
//   token   = base64url(payload) "." base64url(first 16 bytes of HMAC-SHA256(key, payload))
//   payload = "tp1|" EXPIRES "|" EXP "=" VAR ("," EXP "=" VAR)* "|" PAGE_VARIANT
//   key     = HMAC-SHA256(secret, "tailor preview token key v1")  (derived once, config time)
//
// EXPIRES is Unix seconds (decimal). Names use the experiment-name characters
// ([A-Za-z0-9_.-]), so the separators cannot appear in them. Verification is allocation-free
// and rejects with a reason (the glue counts rejections as TAILOR_ERR_PREVIEW).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/crypto.h"
#include "core/request_view.h"
#include "core/status.h"

namespace tailor {

class ExperimentSet;

inline constexpr size_t kMaxPreviewTokenLength = 1024;  // characters of the whole token
inline constexpr size_t kMaxPreviewChoices = 16;
// The longest a token may stay valid: one that expires later than this after the time it is
// checked is refused (kTooLate), so a leaked secret or a mistaken --ttl cannot mint a token
// good for years, and the preview cookie never outlives it.
inline constexpr int64_t kMaxPreviewLifetimeSeconds = 30 * 86400;
// Scratch VerifyPreviewToken needs: the decoded payload.
inline constexpr size_t kPreviewScratchSize = kMaxPreviewTokenLength * 3 / 4 + 4;
inline constexpr size_t kPreviewMacSize = 16;

// The signing key, derived from the site secret once at config time, with the HMAC inner and
// outer SHA-256 states precomputed so that verification neither allocates nor locks (OpenSSL
// 3's one-shot HMAC() fetches algorithms and allocates contexts).
struct PreviewKey {
  Sha256Digest bytes{};
  alignas(16) unsigned char inner_state[128] = {};  // SHA256_CTX after the ipad block
  alignas(16) unsigned char outer_state[128] = {};  // SHA256_CTX after the opad block
};
PreviewKey DerivePreviewKey(std::string_view secret);

struct PreviewChoice {
  std::string_view experiment;
  std::string_view variant;
};

// A verified token. Views point into the scratch buffer given to VerifyPreviewToken.
struct PreviewToken {
  int64_t expires_s = 0;
  std::string_view page_variant;  // empty: the page variant is not forced
  PreviewChoice choices[kMaxPreviewChoices];
  size_t choice_count = 0;

  std::span<const PreviewChoice> all() const { return {choices, choice_count}; }
  // The variant forced for experiment `name`, or "" when the token does not force it.
  std::string_view ForcedVariant(std::string_view experiment) const;
  // Same, resolved in `set`: the variant index forced for experiment `index`, or -1 (not
  // forced, or the token names a variant the experiment does not have).
  int ForcedVariantIndex(const ExperimentSet& set, size_t index) const;
};

enum class PreviewStatus : unsigned char {
  kOk,
  kMalformed,     // not a token: bad base64, wrong layout, bad names, too many choices
  kTooLong,       // over kMaxPreviewTokenLength
  kBadSignature,  // not signed with this secret (or altered)
  kExpired,       // signature fine, but past its expiry
  kTooLate,       // signature fine, but expires more than kMaxPreviewLifetimeSeconds ahead
};
const char* PreviewStatusName(PreviewStatus status);  // "ok", "malformed", ...

// Verifies `token` at `now_ms`. On kOk fills *out (views into `scratch`, which must hold
// kPreviewScratchSize bytes). Allocation-free; the signature is checked before the payload is
// parsed, in constant time.
PreviewStatus VerifyPreviewToken(std::string_view token, const PreviewKey& key, int64_t now_ms,
                                 std::span<char> scratch, PreviewToken* out);

// Makes a token (CLI / config time). Errors: invalid names, no choice and no page variant,
// too many choices, token too long.
Result<std::string> MakePreviewToken(
    const PreviewKey& key, const std::vector<std::pair<std::string, std::string>>& choices,
    std::string_view page_variant, int64_t expires_s);

// The query parameter that carries a reviewer's token, and the cookie the glue sets from it.
inline constexpr std::string_view kPreviewName = "tailor_preview";

enum class PreviewSource : unsigned char { kNone, kQuery, kCookie };

// A token as the request carries it, not yet verified. Views into the request.
struct PreviewTokenText {
  std::string_view token;  // empty: none
  PreviewSource source = PreviewSource::kNone;
};

// The token a request carries: ?tailor_preview=TOKEN as nginx finds an argument (the first
// parameter with that name in any case and an '='; an empty value is no token), else, only
// with consent, the tailor_preview cookie. Allocation-free.
PreviewTokenText FindPreviewToken(const RequestView& view, bool consent);

// "2h", "30m", "45s", "7d", "1h30m" -> seconds; nullopt-like -1 on a bad text or zero.
int64_t ParseDurationSeconds(std::string_view text);

}  // namespace tailor
