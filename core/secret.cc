#include "core/secret.h"

#include <openssl/crypto.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace tailor {

Result<std::string> LoadSecret(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return Status::Error(std::string("cannot read the secret file: ") + std::strerror(errno));
  // One byte more than the limit tells an oversized file from one exactly at the limit.
  char buf[kMaxSecretBytes + 1];
  size_t n = std::fread(buf, 1, sizeof buf, f.get());
  bool failed = std::ferror(f.get()) != 0;
  if (failed || n > kMaxSecretBytes) {
    OPENSSL_cleanse(buf, sizeof buf);
    return Status::Error(failed ? "cannot read the secret file"
                                : "the secret file is larger than " +
                                      std::to_string(kMaxSecretBytes) + " bytes");
  }
  if (n > 0 && buf[n - 1] == '\n') {
    --n;
    if (n > 0 && buf[n - 1] == '\r') --n;
  }
  std::string secret(buf, n);
  OPENSSL_cleanse(buf, sizeof buf);
  if (secret.size() < kMinSecretBytes) {
    size_t got = secret.size();
    OPENSSL_cleanse(secret.data(), secret.size());
    return Status::Error("the secret is " + std::to_string(got) +
                         " bytes; at least " + std::to_string(kMinSecretBytes) +
                         " are needed (e.g. head -c 48 /dev/urandom | base64 > FILE)");
  }
  return secret;
}

}  // namespace tailor
