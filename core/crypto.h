// Randomness and MACs, from OpenSSL's libcrypto (the library nginx itself links).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tailor {

// Fills buf with cryptographically secure random bytes from OpenSSL's DRBG. Small requests are
// served from a per-thread pool refilled 4 KiB at a time, because each RAND_bytes call makes
// a getpid() syscall (OpenSSL's fork check): a visitor ID then costs no syscall. The pool is
// wiped in a forked child (pthread_atfork), so two nginx workers never share bytes. Returns
// false when the generator fails.
bool SecureRandom(void* buf, size_t len);

using Sha256Digest = std::array<uint8_t, 32>;
// One-shot HMAC (allocates an OpenSSL context): for configuration time.
Sha256Digest HmacSha256(std::string_view key, std::string_view data);

// HMAC-SHA256 with the key schedule computed once (RFC 2104: the SHA-256 states after the
// key^ipad and key^opad blocks): Sign() copies them, costs two compressions fewer than the
// one-shot form and allocates nothing, for the request path.
class HmacSha256Key {
 public:
  HmacSha256Key() = default;
  explicit HmacSha256Key(std::string_view key);
  Sha256Digest Sign(std::string_view data) const;
  bool empty() const { return empty_; }

 private:
  alignas(16) unsigned char inner_[128] = {};  // SHA256_CTX after the ipad block
  alignas(16) unsigned char outer_[128] = {};  // SHA256_CTX after the opad block
  bool empty_ = true;
};
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
