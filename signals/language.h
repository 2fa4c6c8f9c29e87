// LanguageMatcher: the `lang` signal. RFC 4647 §3.4 lookup of the Accept-Language ranges
// (highest q first, q=0 excluded, '*' ignored) against the site's languages
// (`tailor_languages fr en de ...`). Built at config time; Match() allocates nothing.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace tailor {

class LanguageMatcher {
 public:
  // Most ranges of one Accept-Language header considered (the rest are ignored).
  static constexpr size_t kMaxRanges = 32;

  // `languages`: the site's tags in preference order ("fr", "en", "pt-BR"); each must be a
  // well-formed tag (letters, digits, '-', 1..8 chars per subtag). `default_language`: the
  // answer when nothing matches; empty = no answer (the signal is missing).
  static Result<std::unique_ptr<LanguageMatcher>> Create(std::vector<std::string> languages,
                                                         std::string default_language = {});

  // The configured tag (as configured) that best matches the header, or the default.
  std::string_view Match(std::string_view accept_language) const;
  const std::vector<std::string>& languages() const { return languages_; }

 private:
  LanguageMatcher() = default;
  std::vector<std::string> languages_;
  std::string default_;
};

}  // namespace tailor
