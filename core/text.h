// Small text helpers used on the request path: none allocates.
#pragma once

#include <optional>
#include <string_view>

#include "core/arena.h"

namespace tailor {

inline char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
constexpr bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
constexpr bool IsAsciiLetter(char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
constexpr bool IsAsciiPrintable(char c) { return c >= 0x20 && c < 0x7f; }  // false for bytes >= 0x80
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix);
bool EndsWithIgnoreCase(std::string_view s, std::string_view suffix);
// Case-insensitive substring search (ASCII).
bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle);
inline std::string_view TrimSpaces(std::string_view s) {  // inline: every cookie pair calls it
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Percent-decodes (and turns '+' into ' ' when `plus_as_space`) into the arena. Returns the
// input itself when it has nothing to decode, nullopt when the arena is full. Malformed
// escapes ("%4", "%zz") are kept literally.
std::optional<std::string_view> PercentDecode(std::string_view in, Arena& arena,
                                              bool plus_as_space = true);

// Iterates "k=v" pairs split by `sep` (query strings: '&'; cookies: ';' with trimming).
// Calls fn(key, value) until it returns false.
template <typename Fn>
void ForEachPair(std::string_view s, char sep, bool trim, Fn&& fn) {
  while (!s.empty()) {
    size_t end = s.find(sep);
    std::string_view item = s.substr(0, end);
    s = end == std::string_view::npos ? std::string_view() : s.substr(end + 1);
    if (trim) item = TrimSpaces(item);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string_view k = item.substr(0, eq);
    std::string_view v = eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    if (trim) {
      k = TrimSpaces(k);
      v = TrimSpaces(v);
    }
    if (!fn(k, v)) return;
  }
}

}  // namespace tailor
