#include "signals/language.h"

#include "core/text.h"

namespace tailor {
namespace {

bool WellFormedTag(std::string_view tag) {
  if (tag.empty() || tag.size() > 64) return false;
  size_t run = 0;
  for (char c : tag) {
    if (c == '-') {
      if (run == 0) return false;
      run = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!ok || ++run > 8) return false;
  }
  return run > 0;
}

// q-value in thousandths ("0.8" -> 800, "1" -> 1000); -1 when malformed (range skipped).
int ParseQ(std::string_view q) {
  q = TrimSpaces(q);
  if (q.empty() || q.size() > 5) return -1;
  if (q[0] == '1') {
    for (size_t i = 1; i < q.size(); ++i)
      if (!(i == 1 && q[i] == '.') && q[i] != '0') return -1;
    return 1000;
  }
  if (q[0] != '0') return -1;
  if (q.size() == 1) return 0;
  if (q[1] != '.') return -1;
  int v = 0, digits = 0;
  for (size_t i = 2; i < q.size(); ++i) {
    if (q[i] < '0' || q[i] > '9') return -1;
    v = v * 10 + (q[i] - '0');
    ++digits;
  }
  while (digits++ < 3) v *= 10;
  return v;
}

struct Range {
  std::string_view tag;
  int q;
};

}  // namespace

Result<std::unique_ptr<LanguageMatcher>> LanguageMatcher::Create(
    std::vector<std::string> languages, std::string default_language) {
  if (languages.empty()) return Status::Error("no languages configured");
  for (const std::string& l : languages)
    if (!WellFormedTag(l)) return Status::Error("not a language tag: '" + l + "'");
  if (!default_language.empty() && !WellFormedTag(default_language))
    return Status::Error("not a language tag: '" + default_language + "'");
  std::unique_ptr<LanguageMatcher> m(new LanguageMatcher());
  m->languages_ = std::move(languages);
  m->default_ = std::move(default_language);
  return m;
}

std::string_view LanguageMatcher::Match(std::string_view header) const {
  Range ranges[kMaxRanges];
  size_t n = 0;
  // A range is "tag[;q=v]"; ranges are split at ','. Only the first 4 KB are read.
  std::string_view rest = header.substr(0, 4096);
  while (!rest.empty() && n < kMaxRanges) {
    size_t comma = rest.find(',');
    std::string_view item = TrimSpaces(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (item.empty()) continue;
    size_t semi = item.find(';');
    std::string_view tag = TrimSpaces(item.substr(0, semi));
    int q = 1000;
    if (semi != std::string_view::npos) {
      std::string_view params = item.substr(semi + 1);
      q = -1;
      // Only "q=" is defined; anything else makes the range malformed (skipped).
      params = TrimSpaces(params);
      if (params.size() > 2 && (params[0] == 'q' || params[0] == 'Q') && params[1] == '=')
        q = ParseQ(params.substr(2));
    }
    if (q <= 0 || tag == "*" || !WellFormedTag(tag)) continue;
    ranges[n++] = {tag, q};
  }
  // Stable sort by q descending (insertion sort: at most 32 entries).
  for (size_t i = 1; i < n; ++i) {
    Range r = ranges[i];
    size_t j = i;
    while (j > 0 && ranges[j - 1].q < r.q) {
      ranges[j] = ranges[j - 1];
      --j;
    }
    ranges[j] = r;
  }
  for (size_t i = 0; i < n; ++i) {
    std::string_view t = ranges[i].tag;
    // Lookup: try the range, then drop subtags from the end (and a singleton before them).
    while (!t.empty()) {
      for (const std::string& l : languages_)
        if (EqualsIgnoreCase(l, t)) return l;
      size_t dash = t.rfind('-');
      if (dash == std::string_view::npos) break;
      t = t.substr(0, dash);
      if (t.size() >= 2 && t[t.size() - 2] == '-') t = t.substr(0, t.size() - 2);
    }
  }
  return default_;
}

}  // namespace tailor
