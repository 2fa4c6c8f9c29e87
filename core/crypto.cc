#include "core/crypto.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace tailor {

bool SecureRandom(void* buf, size_t len) {
  return RAND_bytes(static_cast<unsigned char*>(buf), static_cast<int>(len)) == 1;
}

Sha256Digest HmacSha256(std::string_view key, std::string_view data) {
  Sha256Digest out{};
  unsigned int out_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &out_len);
  return out;
}

bool TimingSafeEqual(const void* a, const void* b, size_t len) {
  return CRYPTO_memcmp(a, b, len) == 0;
}

static const char kAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void Base64UrlEncode(const uint8_t* data, size_t len, char* out) {
  size_t o = 0, i = 0;
  for (; i + 3 <= len; i += 3) {
    uint32_t v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    out[o++] = kAlphabet[(v >> 18) & 63];
    out[o++] = kAlphabet[(v >> 12) & 63];
    out[o++] = kAlphabet[(v >> 6) & 63];
    out[o++] = kAlphabet[v & 63];
  }
  size_t rest = len - i;
  if (rest == 1) {
    uint32_t v = data[i] << 16;
    out[o++] = kAlphabet[(v >> 18) & 63];
    out[o++] = kAlphabet[(v >> 12) & 63];
  } else if (rest == 2) {
    uint32_t v = (data[i] << 16) | (data[i + 1] << 8);
    out[o++] = kAlphabet[(v >> 18) & 63];
    out[o++] = kAlphabet[(v >> 12) & 63];
    out[o++] = kAlphabet[(v >> 6) & 63];
  }
}

static int DecodeChar(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

long Base64UrlDecode(std::string_view in, uint8_t* out, size_t out_cap) {
  if (in.size() % 4 == 1) return -1;
  size_t need = in.size() * 3 / 4;
  if (need > out_cap) return -1;
  size_t o = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int d = DecodeChar(c);
    if (d < 0) return -1;
    acc = (acc << 6) | static_cast<uint32_t>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = static_cast<uint8_t>((acc >> bits) & 0xff);
    }
  }
  // Non-canonical trailing bits would let two texts decode to one value: reject them.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return -1;
  return static_cast<long>(o);
}

}  // namespace tailor
