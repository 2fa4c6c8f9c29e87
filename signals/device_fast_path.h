// The device engine's fast path (internal): the common browser UAs, "Mozilla/5.0 (C1; ...;
// Cn) P1 ... Pm" with tokens of known shapes, matched without the scan. The matcher is here,
// inline (it is the request path); the shapes and the index's construction are in
// device_fast_path.cc, with DeviceClassifier's fast-path members.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "core/regex_set.h"
#include "core/status.h"
#include "core/text.h"
#include "signals/device_features.h"

namespace tailor {

struct DeviceClassifier::Workspace::PartEntry {
  uint64_t key;  // 0: empty
  Features features;
};

namespace device_internal {

// Then a comment ("(...)") and products, or products alone ("Mozilla/5.0 AppleWebKit/537.36
// (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)").
constexpr std::string_view kFastPrefix = "Mozilla/5.0 ";
// Bounds the work on the fast path; longer UAs are rare and take the scan.
constexpr size_t kFastMaxLength = 384;
constexpr int kFastMaxTokens = 32;
constexpr size_t kNoMatch = ~size_t{0};

// A letter of an iOS build ('@'). Not "x": with the digits after it, "888x11" holds "x11",
// which a pattern reads (found by the useragent fuzzer); Apple's builds never use it.
constexpr bool IsBuildLetter(char c) { return IsAsciiLetter(c) && (c | 0x20) != 'x'; }

// A shape compiled for matching: a literal head, at most one placeholder, a literal tail.
// Literals are compared 8 bytes at a time: (input | mask) == text, where mask has 0x20 on
// letters (so both cases match) and 0 elsewhere.
struct Literal {
  static constexpr size_t kMax = 32;
  uint8_t len = 0;
  alignas(8) char text[kMax + 8] = {};  // lowercase; zero padding past len
  alignas(8) char mask[kMax + 8] = {};
};

inline uint64_t Load8(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// Does lit match at p, with `avail` bytes readable from p?
inline bool LiteralAt(const Literal& lit, const char* p, size_t avail) {
  if (avail < lit.len) return false;
  size_t i = 0;
  for (; i + 8 <= lit.len; i += 8)
    if ((Load8(p + i) | Load8(lit.mask + i)) != Load8(lit.text + i)) return false;
  size_t rest = lit.len - i;
  if (rest == 0) return true;
  if (avail - i >= 8) {  // one more 8-byte load, the bytes past the literal masked out
    uint64_t keep = (uint64_t{1} << (8 * rest)) - 1;  // little-endian: the first `rest` bytes
    return ((Load8(p + i) | Load8(lit.mask + i)) & keep) == Load8(lit.text + i);
  }
  for (; i < lit.len; ++i)
    if ((p[i] | lit.mask[i]) != lit.text[i]) return false;
  return true;
}

static_assert(std::endian::native == std::endian::little, "LiteralAt masks the low bytes");

// Per list (0: comment, 1: products): the shapes compiled, sorted by first character, with
// the range of those starting with each (lowercase) character, so a token tries one to three.
struct FastIndex {
  static constexpr size_t kMaxShapes = 32;
  struct Entry {
    Literal head;
    char placeholder = 0;  // 0, '#' or '@'
    Literal tail;
    FeatureSet features;
  };
  Entry entries[2][kMaxShapes];
  uint8_t begin[2][128] = {}, end[2][128] = {};
  FeatureSet prefix;  // of "Mozilla/5.0"

  // False when the shape does not fit (a bug in the lists above).
  static bool Compile(std::string_view shape, Entry& e) {
    Literal* lit = &e.head;
    for (char t : shape) {
      if (t == '#' || t == '@') {
        if (e.placeholder != 0) return false;
        e.placeholder = t;
        lit = &e.tail;
        continue;
      }
      if (lit->len == Literal::kMax || (t >= 'A' && t <= 'Z')) return false;
      lit->text[lit->len] = t;
      lit->mask[lit->len] = t >= 'a' && t <= 'z' ? 0x20 : 0;
      ++lit->len;
    }
    return !shape.empty() && shape[0] != '#' && shape[0] != '@';
  }

  // Matches e at ua[pos]: the position after it, or kNoMatch.
  static size_t MatchEntry(const Entry& e, std::string_view ua, size_t pos) {
    const size_t n = ua.size();
    if (!LiteralAt(e.head, ua.data() + pos, n - pos)) return kNoMatch;
    pos += e.head.len;
    if (e.placeholder == '#') {  // a version: a digit, then digits, dots, underscores
      if (pos >= n || !IsAsciiDigit(ua[pos])) return kNoMatch;
      do ++pos;
      while (pos < n && (IsAsciiDigit(ua[pos]) || ua[pos] == '.' || ua[pos] == '_'));
    } else if (e.placeholder == '@') {  // an iOS build: digits, a letter, digits, maybe a letter
      size_t start = pos;
      while (pos < n && IsAsciiDigit(ua[pos])) ++pos;
      if (pos == start || pos >= n || !IsBuildLetter(ua[pos])) return kNoMatch;
      start = ++pos;
      while (pos < n && IsAsciiDigit(ua[pos])) ++pos;
      if (pos == start) return kNoMatch;
      if (pos < n && IsBuildLetter(ua[pos])) ++pos;
    } else {
      return pos;
    }
    if (!LiteralAt(e.tail, ua.data() + pos, n - pos)) return kNoMatch;
    return pos + e.tail.len;
  }

  // The token at ua[pos] of list `list`: adds its features, returns the position after it.
  size_t Token(int list, std::string_view ua, size_t pos, FeatureSet& f) const {
    unsigned char c = static_cast<unsigned char>(ua[pos]);
    if (c >= 128) return kNoMatch;
    if (IsAsciiLetter(static_cast<char>(c))) c |= 0x20;
    for (unsigned i = begin[list][c]; i < end[list][c]; ++i) {
      const Entry& e = entries[list][i];
      size_t after = MatchEntry(e, ua, pos);
      if (after == kNoMatch) continue;
      bool delimited =
          list == 0 ? after < ua.size() && (ua[after] == ')' || (ua[after] == ';' &&
                                                                  after + 1 < ua.size() &&
                                                                  ua[after + 1] == ' '))
                    : after == ua.size() || ua[after] == ' ';
      if (!delimited) continue;
      f.Add(e.features);
      return after;
    }
    return kNoMatch;
  }

  // The end of a comment part starting at ua[pos]: the position of the comment's ")" (parts
  // may hold balanced parentheses: "Moto G (4)"), or kNoMatch when the part is empty, too
  // long, unbalanced, or holds a non-printable byte.
  static size_t CommentPartEnd(std::string_view ua, size_t pos) {
    size_t limit = std::min(ua.size(), pos + DeviceClassifier::kMaxCommentPart + 1);
    int depth = 0;
    for (size_t i = pos; i < limit; ++i) {
      char c = ua[i];
      if (c == ')' && depth-- == 0) return i > pos ? i : kNoMatch;
      if (c == '(') ++depth;
      if (!IsAsciiPrintable(c)) return kNoMatch;
    }
    return kNoMatch;
  }

  // Is ua[pos..] a product part the fast path takes: short enough, printable ASCII?
  static bool IsProductPart(std::string_view ua, size_t pos) {
    if (ua.size() - pos > DeviceClassifier::kMaxProductPart) return false;
    return std::all_of(ua.begin() + static_cast<std::ptrdiff_t>(pos), ua.end(), IsAsciiPrintable);
  }

  // part(context, &features) gives the features of a free part, context being the part with
  // its delimiters as the UA has them: "; SM-S918B Build/UP1A; wv)" (after "Android #"),
  // "(compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)" (a whole comment), " Vivaldi/
  // 6.6" (the products' rest, from the space before the first unknown one). Patterns read those
  // delimiters ("; ?wv\)", "\(compatible"); none reaches from a known token across them, which
  // the unit tests and the useragent fuzzer check against the full scan.
  // The comment starting at ua[pos] (after its "("): adds the features of its tokens and of
  // its part, if any; returns the position after its ")", or kNoMatch.
  template <class PartFn>
  size_t Comment(std::string_view ua, size_t pos, int& tokens, FeatureSet& f,
                 PartFn& part) const {
    const size_t first = pos;
    for (;;) {  // "C1; C2; ...; Cn)"
      if (pos >= ua.size() || ++tokens > kFastMaxTokens) return kNoMatch;
      size_t after = Token(0, ua, pos, f);
      if (after == kNoMatch) {  // this token and the rest of the comment: a part
        size_t close = CommentPartEnd(ua, pos);
        if (close == kNoMatch) return kNoMatch;
        size_t start = pos == first ? pos - 1 : pos - 2;  // "(" or "; "
        DeviceClassifier::Features pf;
        if (!part(ua.substr(start, close + 1 - start), &pf)) return kNoMatch;
        f.Add(pf);
        after = close;
      }
      if (ua[after] == ')') return after + 1;
      pos = after + 2;
    }
  }

  template <class PartFn>
  bool Match(std::string_view ua, FeatureSet& out, PartFn&& part) const {
    if (ua.size() > kFastMaxLength || !ua.starts_with(kFastPrefix)) return false;
    FeatureSet f = prefix;
    int tokens = 0;
    size_t pos = kFastPrefix.size() - 1;  // the prefix's space: products follow it...
    if (pos + 1 < ua.size() && ua[pos + 1] == '(') {  // ... or a comment does, then products
      pos = Comment(ua, pos + 2, tokens, f, part);
      if (pos == kNoMatch || (pos < ua.size() && ua[pos] != ' ')) return false;
    }
    while (pos < ua.size()) {  // the products: " P1 P2 ... Pm"
      ++pos;
      if (pos >= ua.size() || ++tokens > kFastMaxTokens) return false;
      size_t after = Token(1, ua, pos, f);
      if (after == kNoMatch) {  // this product and the rest of the UA: a part
        if (!IsProductPart(ua, pos)) return false;
        DeviceClassifier::Features pf;
        if (!part(ua.substr(pos - 1), &pf)) return false;
        f.Add(pf);
        break;
      }
      pos = after;
    }
    out = f;
    return true;
  }
};

// Fills `fast`: the shapes compiled, with their features found by scanning one instance of
// each with `patterns`. Config time. An error when vectorscan or a shape fails.
Status BuildFastIndex(const RegexSet& patterns, FastIndex& fast);

}  // namespace device_internal
}  // namespace tailor
