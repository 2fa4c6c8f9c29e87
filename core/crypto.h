// Randomness and MACs, from OpenSSL's libcrypto (the library nginx itself links).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tailor {

// Fills buf with cryptographically secure random bytes (OpenSSL's DRBG: no syscall per call
// once seeded). Returns false when the generator fails.
bool SecureRandom(void* buf, size_t len);

using Sha256Digest = std::array<uint8_t, 32>;
Sha256Digest HmacSha256(std::string_view key, std::string_view data);
// Constant-time comparison.
bool TimingSafeEqual(const void* a, const void* b, size_t len);

// URL-safe base64 without padding (RFC 4648 §5). Encoded length for n bytes.
constexpr size_t Base64UrlEncodedSize(size_t n) { return (n * 4 + 2) / 3; }
// Writes Base64UrlEncodedSize(len) chars to out.
void Base64UrlEncode(const uint8_t* data, size_t len, char* out);
// Decodes into out (capacity out_cap); returns decoded length or -1 on a bad character,
// bad length or too small a buffer.
long Base64UrlDecode(std::string_view in, uint8_t* out, size_t out_cap);

}  // namespace tailor
