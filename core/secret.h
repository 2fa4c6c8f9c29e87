// The site's secret (`tailor_secret FILE`, `tailorc ... --secret FILE`): one loader, so nginx
// and tailorc derive the same keys from the same file. A key tailorc signs with (preview
// tokens, lifecycle values) is then always one nginx accepts.
#pragma once

#include <cstddef>
#include <string>

#include "core/status.h"

namespace tailor {

inline constexpr size_t kMinSecretBytes = 32;
// A key file is a few dozen bytes; anything this large is the wrong file.
inline constexpr size_t kMaxSecretBytes = 4096;

// Reads the key material from `path`: the file's bytes without one final line end ("\n" or
// "\r\n", which editors and `base64 > FILE` add), so a text secret and the same text saved by
// another editor give the same key. Every other byte, whitespace included, is key material.
// Fails when the file cannot be read, is larger than kMaxSecretBytes, or holds fewer than
// kMinSecretBytes; the message says why (for a short secret, how to make one), and the caller
// names the file.
Result<std::string> LoadSecret(const std::string& path);

}  // namespace tailor
