#include "core/request_view.h"

#include "core/text.h"

namespace tailor {

std::optional<std::string_view> RequestView::FindHeader(std::string_view name) const {
  for (const HeaderField& h : headers)
    if (EqualsIgnoreCase(h.name, name)) return h.value;
  return std::nullopt;
}

std::optional<std::string_view> RequestView::FindCookie(std::string_view name) const {
  std::optional<std::string_view> found;
  for (const HeaderField& h : headers) {
    if (!EqualsIgnoreCase(h.name, "cookie")) continue;
    ForEachPair(h.value, ';', /*trim=*/true, [&](std::string_view k, std::string_view v) {
      if (k == name) {
        found = v;
        return false;
      }
      return true;
    });
    if (found) return found;
  }
  return std::nullopt;
}

std::optional<std::string_view> RequestView::FindQueryParam(std::string_view name) const {
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

}  // namespace tailor
