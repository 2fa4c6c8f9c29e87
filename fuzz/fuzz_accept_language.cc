// Fuzzes the Accept-Language lookup: any header must match without crashing, and the
// answer is always one of the configured tags (or the default).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "signals/language.h"

using namespace tailor;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto matcher = LanguageMatcher::Create({"fr", "en", "de-CH", "pt-BR", "zh-Hant"}, "en");
  const LanguageMatcher& m = *matcher.value();
  std::string_view header(reinterpret_cast<const char*>(data), size);
  std::string_view got = m.Match(header);
  bool known = got == "en";
  for (const std::string& l : m.languages()) known = known || got == l;
  if (!known) __builtin_trap();
  return 0;
}
