#include "core/crypto.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>

#include <cstring>

// SHA256_Init/Update/Final are deprecated in OpenSSL 3 but are the only interface that lets a
// hash state be copied without allocating (EVP_MD_CTX_copy allocates).
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace tailor {

namespace {

struct RandomPool {
  unsigned char bytes[4096];
  size_t next = sizeof bytes;  // all used
};
thread_local RandomPool g_pool;

// In a forked child only the forking thread exists: its pool must not hand out the bytes
// the parent (or a sibling worker) will hand out too.
void WipePoolInChild() {
  OPENSSL_cleanse(g_pool.bytes, sizeof g_pool.bytes);
  g_pool.next = sizeof g_pool.bytes;
}

}  // namespace

bool SecureRandom(void* buf, size_t len) {
  static const bool registered = pthread_atfork(nullptr, nullptr, WipePoolInChild) == 0;
  if (!registered || len > 256)
    return RAND_bytes(static_cast<unsigned char*>(buf), static_cast<int>(len)) == 1;
  RandomPool& p = g_pool;
  if (sizeof p.bytes - p.next < len) {
    if (RAND_bytes(p.bytes, sizeof p.bytes) != 1) return false;
    p.next = 0;
  }
  std::memcpy(buf, p.bytes + p.next, len);
  OPENSSL_cleanse(p.bytes + p.next, len);  // handed out once
  p.next += len;
  return true;
}

static_assert(sizeof(SHA256_CTX) <= 128, "SHA256_CTX must fit HmacSha256Key's buffers");

HmacSha256Key::HmacSha256Key(std::string_view key) : empty_(false) {
  unsigned char k[SHA256_CBLOCK] = {};
  if (key.size() > SHA256_CBLOCK) {
    SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), k);
  } else {
    std::memcpy(k, key.data(), key.size());
  }
  unsigned char ipad[SHA256_CBLOCK], opad[SHA256_CBLOCK];
  for (int i = 0; i < SHA256_CBLOCK; ++i) {
    ipad[i] = k[i] ^ 0x36;
    opad[i] = k[i] ^ 0x5c;
  }
  SHA256_CTX inner, outer;
  SHA256_Init(&inner);
  SHA256_Update(&inner, ipad, sizeof ipad);
  SHA256_Init(&outer);
  SHA256_Update(&outer, opad, sizeof opad);
  std::memcpy(inner_, &inner, sizeof inner);
  std::memcpy(outer_, &outer, sizeof outer);
  OPENSSL_cleanse(k, sizeof k);
  OPENSSL_cleanse(ipad, sizeof ipad);
  OPENSSL_cleanse(opad, sizeof opad);
}

Sha256Digest HmacSha256Key::Sign(std::string_view data) const {
  SHA256_CTX ctx;
  unsigned char inner_digest[SHA256_DIGEST_LENGTH];
  std::memcpy(&ctx, inner_, sizeof ctx);
  SHA256_Update(&ctx, data.data(), data.size());
  SHA256_Final(inner_digest, &ctx);
  std::memcpy(&ctx, outer_, sizeof ctx);
  SHA256_Update(&ctx, inner_digest, sizeof inner_digest);
  Sha256Digest out{};
  SHA256_Final(out.data(), &ctx);
  return out;
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

static constexpr char kAlphabet[] =
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

// Decoding table: the 6-bit value of each alphabet character, 0xff for every other byte.
static constexpr auto kDecode = [] {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) v = 0xff;
  for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(kAlphabet[i])] = static_cast<uint8_t>(i);
  return t;
}();

long Base64UrlDecode(std::string_view in, uint8_t* out, size_t out_cap) {
  size_t n = in.size();
  if (n % 4 == 1) return -1;
  size_t need = n * 3 / 4;
  if (need > out_cap) return -1;
  const auto* s = reinterpret_cast<const unsigned char*>(in.data());
  size_t o = 0, i = 0;
  // Four characters (24 bits) at a time; any invalid character sets a high bit of `bad`.
  for (; i + 4 <= n; i += 4) {
    uint32_t a = kDecode[s[i]], b = kDecode[s[i + 1]], c = kDecode[s[i + 2]], d = kDecode[s[i + 3]];
    if ((a | b | c | d) & 0x80) return -1;
    uint32_t v = (a << 18) | (b << 12) | (c << 6) | d;
    out[o] = static_cast<uint8_t>(v >> 16);
    out[o + 1] = static_cast<uint8_t>(v >> 8);
    out[o + 2] = static_cast<uint8_t>(v);
    o += 3;
  }
  size_t rest = n - i;  // 0, 2 or 3
  if (rest) {
    uint32_t a = kDecode[s[i]], b = kDecode[s[i + 1]], c = rest == 3 ? kDecode[s[i + 2]] : 0;
    if ((a | b | c) & 0x80) return -1;
    uint32_t v = (a << 18) | (b << 12) | (c << 6);
    // Non-canonical trailing bits would let two texts decode to one value: reject them.
    if (rest == 2 ? (v & 0xffff) != 0 : (v & 0xff) != 0) return -1;
    out[o++] = static_cast<uint8_t>(v >> 16);
    if (rest == 3) out[o++] = static_cast<uint8_t>(v >> 8);
  }
  return static_cast<long>(o);
}

}  // namespace tailor
