#include "experiments/preview_token.h"

// The low-level SHA-256 API works on a caller-owned struct: no allocation, no lock. It is
// deprecated in OpenSSL 3 in favour of EVP, which allocates per use.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <cstring>
#include <optional>

#include "core/text.h"
#include "experiments/experiment_set.h"

namespace tailor {

namespace {

constexpr std::string_view kMagic = "tp1|";
constexpr std::string_view kKeyLabel = "tailor preview token key v1";

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '-' || c == '.';
}

bool IsName(std::string_view s) {
  if (s.empty() || s.size() > kMaxExperimentNameLength) return false;
  for (char c : s) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}

static_assert(sizeof(SHA256_CTX) <= sizeof(PreviewKey::inner_state));
static_assert(alignof(SHA256_CTX) <= 16);

// HMAC-SHA256(key.bytes, data) from the precomputed states.
Sha256Digest Mac(const PreviewKey& key, std::string_view data) {
  SHA256_CTX ctx;
  Sha256Digest inner, out;
  std::memcpy(&ctx, key.inner_state, sizeof ctx);
  SHA256_Update(&ctx, data.data(), data.size());
  SHA256_Final(inner.data(), &ctx);
  std::memcpy(&ctx, key.outer_state, sizeof ctx);
  SHA256_Update(&ctx, inner.data(), inner.size());
  SHA256_Final(out.data(), &ctx);
  return out;
}

// Parses the verified payload into *out. False when its layout is wrong.
bool ParsePayload(std::string_view p, PreviewToken* out) {
  if (p.substr(0, kMagic.size()) != kMagic) return false;
  p.remove_prefix(kMagic.size());
  size_t bar = p.find('|');
  if (bar == std::string_view::npos || bar == 0 || bar > 18) return false;
  int64_t expires = 0;
  for (char c : p.substr(0, bar)) {
    if (c < '0' || c > '9') return false;
    expires = expires * 10 + (c - '0');
  }
  p.remove_prefix(bar + 1);
  bar = p.find('|');
  if (bar == std::string_view::npos) return false;
  std::string_view list = p.substr(0, bar);
  std::string_view page = p.substr(bar + 1);
  if (!page.empty() && !IsName(page)) return false;
  size_t count = 0;
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (comma != std::string_view::npos && list.empty()) return false;  // trailing comma
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) return false;
    std::string_view exp = item.substr(0, eq), var = item.substr(eq + 1);
    if (!IsName(exp) || !IsName(var) || count == kMaxPreviewChoices) return false;
    out->choices[count++] = {exp, var};
  }
  if (count == 0 && page.empty()) return false;
  out->expires_s = expires;
  out->page_variant = page;
  out->choice_count = count;
  return true;
}

}  // namespace

PreviewKey DerivePreviewKey(std::string_view secret) {
  PreviewKey key;
  key.bytes = HmacSha256(secret, kKeyLabel);
  unsigned char ipad[64], opad[64];
  for (size_t i = 0; i < 64; ++i) {
    unsigned char k = i < key.bytes.size() ? key.bytes[i] : 0;
    ipad[i] = k ^ 0x36;
    opad[i] = k ^ 0x5c;
  }
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, ipad, sizeof ipad);
  std::memcpy(key.inner_state, &ctx, sizeof ctx);
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, opad, sizeof opad);
  std::memcpy(key.outer_state, &ctx, sizeof ctx);
  return key;
}

const char* PreviewStatusName(PreviewStatus status) {
  switch (status) {
    case PreviewStatus::kOk: return "ok";
    case PreviewStatus::kMalformed: return "malformed";
    case PreviewStatus::kTooLong: return "too long";
    case PreviewStatus::kBadSignature: return "bad signature";
    case PreviewStatus::kExpired: return "expired";
    case PreviewStatus::kTooLate: return "expires too late";
  }
  return "?";
}

std::string_view PreviewToken::ForcedVariant(std::string_view experiment) const {
  for (size_t i = 0; i < choice_count; ++i) {
    if (choices[i].experiment == experiment) return choices[i].variant;
  }
  return {};
}

int PreviewToken::ForcedVariantIndex(const ExperimentSet& set, size_t index) const {
  if (index >= set.size()) return -1;
  std::string_view v = ForcedVariant(set.experiment(index).name);
  return v.empty() ? -1 : set.FindVariant(index, v);
}

PreviewStatus VerifyPreviewToken(std::string_view token, const PreviewKey& key, int64_t now_ms,
                                 std::span<char> scratch, PreviewToken* out) {
  if (token.size() > kMaxPreviewTokenLength) return PreviewStatus::kTooLong;
  size_t dot = token.find('.');
  if (dot == std::string_view::npos || dot == 0) return PreviewStatus::kMalformed;
  std::string_view payload_b64 = token.substr(0, dot);
  std::string_view mac_b64 = token.substr(dot + 1);
  if (mac_b64.size() != Base64UrlEncodedSize(kPreviewMacSize)) return PreviewStatus::kMalformed;
  uint8_t mac[kPreviewMacSize + 2];
  if (Base64UrlDecode(mac_b64, mac, sizeof mac) != static_cast<long>(kPreviewMacSize)) {
    return PreviewStatus::kMalformed;
  }
  long n = Base64UrlDecode(payload_b64, reinterpret_cast<uint8_t*>(scratch.data()),
                           scratch.size());
  if (n <= 0) return PreviewStatus::kMalformed;
  std::string_view payload(scratch.data(), static_cast<size_t>(n));
  Sha256Digest expected = Mac(key, payload);
  if (!TimingSafeEqual(expected.data(), mac, kPreviewMacSize)) {
    return PreviewStatus::kBadSignature;
  }
  PreviewToken parsed;
  if (!ParsePayload(payload, &parsed)) return PreviewStatus::kMalformed;
  if (now_ms / 1000 >= parsed.expires_s) return PreviewStatus::kExpired;
  if (parsed.expires_s - now_ms / 1000 > kMaxPreviewLifetimeSeconds)
    return PreviewStatus::kTooLate;
  *out = parsed;
  return PreviewStatus::kOk;
}

Result<std::string> MakePreviewToken(
    const PreviewKey& key, const std::vector<std::pair<std::string, std::string>>& choices,
    std::string_view page_variant, int64_t expires_s) {
  if (choices.empty() && page_variant.empty()) {
    return Status::Error("a preview token needs at least one --set EXPERIMENT=VARIANT or --variant");
  }
  if (choices.size() > kMaxPreviewChoices) {
    return Status::Error("at most " + std::to_string(kMaxPreviewChoices) + " --set choices");
  }
  if (expires_s <= 0) return Status::Error("the expiry must be after 1970");
  std::string payload(kMagic);
  payload += std::to_string(expires_s);
  payload += '|';
  for (size_t i = 0; i < choices.size(); ++i) {
    const auto& [exp, var] = choices[i];
    if (!IsName(exp) || !IsName(var)) {
      return Status::Error("\"" + exp + "=" + var +
                           "\": names are 1-64 letters, digits, '_', '-' or '.'");
    }
    for (size_t j = 0; j < i; ++j) {
      if (choices[j].first == exp) return Status::Error("experiment \"" + exp + "\" set twice");
    }
    if (i != 0) payload += ',';
    payload += exp;
    payload += '=';
    payload += var;
  }
  payload += '|';
  if (!page_variant.empty()) {
    if (!IsName(page_variant)) {
      return Status::Error("page variant \"" + std::string(page_variant) + "\" is not a name");
    }
    payload += page_variant;
  }
  Sha256Digest mac = Mac(key, payload);
  std::string token(Base64UrlEncodedSize(payload.size()) + 1 +
                        Base64UrlEncodedSize(kPreviewMacSize),
                    '\0');
  Base64UrlEncode(reinterpret_cast<const uint8_t*>(payload.data()), payload.size(), token.data());
  size_t at = Base64UrlEncodedSize(payload.size());
  token[at] = '.';
  Base64UrlEncode(mac.data(), kPreviewMacSize, token.data() + at + 1);
  if (token.size() > kMaxPreviewTokenLength) {
    return Status::Error("the token would be longer than " +
                         std::to_string(kMaxPreviewTokenLength) + " characters");
  }
  return token;
}

PreviewTokenText FindPreviewToken(const RequestView& view, bool consent) {
  // As nginx's ngx_http_arg(): an item without '=' does not match, and the first that
  // matches decides, even when its value is empty.
  std::string_view query = view.query;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = item.find('=');
    if (eq == std::string_view::npos || !EqualsIgnoreCase(item.substr(0, eq), kPreviewName))
      continue;
    if (eq + 1 < item.size()) return {item.substr(eq + 1), PreviewSource::kQuery};
    break;
  }
  if (consent) {
    std::optional<std::string_view> cookie = view.FindCookie(kPreviewName);
    if (cookie && !cookie->empty()) return {*cookie, PreviewSource::kCookie};
  }
  return {};
}

int64_t ParseDurationSeconds(std::string_view text) {
  if (text.empty()) return -1;
  int64_t total = 0;
  while (!text.empty()) {
    int64_t n = 0;
    size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
      n = n * 10 + (text[digits] - '0');
      if (n > 100000000) return -1;
      ++digits;
    }
    if (digits == 0 || digits == text.size()) return -1;
    int64_t unit;
    switch (text[digits]) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      default: return -1;
    }
    total += n * unit;
    text.remove_prefix(digits + 1);
  }
  return total > 0 ? total : -1;
}

}  // namespace tailor
