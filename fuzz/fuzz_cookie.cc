// Fuzzes the visitor-profile cookie decoder: arbitrary bytes as the cookie value must never
// crash or verify without the secret. Half of each input is also signed correctly (the
// payload parser behind the MAC is reached), and whatever decodes must re-encode to a cookie
// that decodes to the same profile.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "core/crypto.h"
#include "signals/visitor_profile.h"

using namespace tailor;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string kSecret = "fuzz-secret-0123456789abcdef-0123456789";
  static const auto codec = ProfileCodec::Create(kSecret, {});
  const ProfileCodec& c = *codec.value();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  VisitorProfile p;

  // 1. The raw input as a cookie value.
  if (c.Decode(input, &p) == ProfileStatus::kValid) __builtin_trap();  // MAC forged

  // 2. The input as a payload, signed with the codec's scheme.
  if (size > 0 && size <= 300) {
    std::string msg = "tailor-profile";
    msg.append(input);
    Sha256Digest mac = HmacSha256(kSecret, msg);
    uint8_t raw[320];
    std::memcpy(raw, data, size);
    std::memcpy(raw + size, mac.data(), 16);
    char cookie[440];
    Base64UrlEncode(raw, size + 16, cookie);
    std::string_view value(cookie, Base64UrlEncodedSize(size + 16));
    if (c.Decode(value, &p) == ProfileStatus::kValid) {
      // Round trip: what decodes re-encodes to an equivalent cookie.
      char again[kMaxProfileCookie];
      size_t n = c.Encode(p, again, sizeof again);
      if (n == 0) __builtin_trap();
      VisitorProfile q;
      if (c.Decode(std::string_view(again, n), &q) != ProfileStatus::kValid) __builtin_trap();
      if (q.visits != p.visits || q.pageviews != p.pageviews ||
          q.interest_count != p.interest_count)
        __builtin_trap();
      // Advancing a decoded profile is safe whatever it holds.
      uint16_t id = InterestId("fuzz");
      ProfileUpdate u;
      u.now_ms = 1767225600000LL;
      u.interests = std::span<const uint16_t>(&id, 1);
      u.source = input.substr(0, 40);
      c.Update(&p, false, u);
      if (c.Encode(p, again, sizeof again) == 0) __builtin_trap();
    }
  }
  return 0;
}
