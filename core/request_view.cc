#include "core/request_view.h"

#include <cstring>

#include "core/text.h"

namespace tailor {

std::optional<std::string_view> RequestView::FindHeader(std::string_view name) const {
  for (const HeaderField& h : headers)
    if (h.name.size() == name.size() && EqualsIgnoreCase(h.name, name)) return h.value;
  return std::nullopt;
}

namespace {
bool IsCookieHeader(std::string_view name) {
  return name.size() == 6 && EqualsIgnoreCase(name, "cookie");
}

std::optional<std::string_view> ScanCookies(std::span<const HeaderField> headers,
                                            std::string_view name) {
  for (const HeaderField& h : headers) {
    if (!IsCookieHeader(h.name)) continue;
    if (auto v = FindCookieIn(h.value, name)) return v;
  }
  return std::nullopt;
}

void FillJar(std::span<const HeaderField> headers, CookieJar* jar) {
  jar->parsed = true;
  jar->count = 0;
  jar->overflow = false;
  for (const HeaderField& h : headers) {
    if (!IsCookieHeader(h.name)) continue;
    ForEachPair(h.value, ';', /*trim=*/true, [&](std::string_view k, std::string_view v) {
      if (jar->count == CookieJar::kMax) {
        jar->overflow = true;
        return false;
      }
      jar->items[jar->count++] = {k.data(), k.size(), v.data(), v.size()};
      return true;
    });
    if (jar->overflow) return;
  }
}
}  // namespace

std::optional<std::string_view> FindCookieIn(std::string_view cookie_header, std::string_view name) {
  std::optional<std::string_view> found;
  ForEachPair(cookie_header, ';', /*trim=*/true, [&](std::string_view k, std::string_view v) {
    if (k == name) {
      found = v;
      return false;
    }
    return true;
  });
  return found;
}

std::optional<std::string_view> RequestView::FindCookie(std::string_view name) const {
  for (std::string_view hidden : hidden_cookies)
    if (!hidden.empty() && hidden == name) return std::nullopt;
  if (cookie_jar == nullptr) return ScanCookies(headers, name);
  if (!cookie_jar->parsed) FillJar(headers, cookie_jar);
  for (size_t i = 0; i < cookie_jar->count; ++i) {
    const CookieJar::Item& c = cookie_jar->items[i];
    if (c.name_len == name.size() &&
        (name.empty() || std::memcmp(c.name, name.data(), name.size()) == 0))
      return std::string_view(c.value, c.value_len);
  }
  // Past the first kMax cookies: the first occurrence is beyond the jar, if anywhere.
  if (cookie_jar->overflow) return ScanCookies(headers, name);
  return std::nullopt;
}

std::optional<std::string_view> FindQueryParamIn(std::string_view query, std::string_view name) {
  std::optional<std::string_view> found;
  ForEachPair(query, '&', /*trim=*/false, [&](std::string_view k, std::string_view v) {
    if (k == name) {
      found = v;
      return false;
    }
    return true;
  });
  return found;
}

std::optional<std::string_view> RequestView::FindQueryParam(std::string_view name) const {
  return FindQueryParamIn(query, name);
}

}  // namespace tailor
