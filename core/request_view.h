// RequestView: a read-only view of one HTTP request, built by the caller (the nginx glue, the
// CLI, tests). Every string_view points into memory the caller keeps alive for the request.
// No allocation, no copies: signals are pure functions over this view.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace tailor {

struct HeaderField {
  std::string_view name;
  std::string_view value;
};

// The request's cookies, split once on first use (RequestView::FindCookie) from every Cookie
// header in arrival order, so each later lookup compares names instead of rescanning the
// header. Storage is the caller's (RequestEvaluation keeps one per request); the items are
// left uninitialized until parsed, so an unused jar costs nothing.
struct CookieJar {
  static constexpr size_t kMax = 32;
  struct Item {
    const char* name;
    size_t name_len;
    const char* value;
    size_t value_len;
  };
  bool parsed = false;
  bool overflow = false;  // more than kMax cookies: a name not among them is looked up by rescan
  size_t count = 0;
  Item items[kMax];
};

// Raw (undecoded) value of the first cookie `name` in one Cookie header's value.
std::optional<std::string_view> FindCookieIn(std::string_view cookie_header, std::string_view name);

// Raw (undecoded) value of the first parameter with this exact name in a raw query string
// ("a=1&b=%20", without '?'). A key without '=' has an empty value.
std::optional<std::string_view> FindQueryParamIn(std::string_view query, std::string_view name);

struct RequestView {
  std::string_view method;   // "GET"
  std::string_view scheme;   // "http" or "https"
  std::string_view host;     // Host header value without port
  std::string_view path;     // normalized, percent-decoded path ("/shop/a b")
  std::string_view query;    // raw query string without '?' ("a=1&b=%20")
  std::span<const HeaderField> headers;  // in arrival order, names as sent
  std::string_view client_ip;            // textual client address ("203.0.113.9", "2001:db8::1")
  const struct sockaddr* client_addr = nullptr;  // same address for libraries that want binary
  socklen_t client_addr_len = 0;
  int64_t now_ms = 0;  // wall clock, ms since the epoch (nginx's cached time: no syscall)
  CookieJar* cookie_jar = nullptr;  // optional: FindCookie parses the cookies once into it
  // Cookies FindCookie does not see: Tailor's own cookies when the visitor did not consent,
  // so no rule, experiment unit or signal reads them. Empty names are ignored.
  std::string_view hidden_cookies[2];

  // First header with this name (ASCII case-insensitive), or nullopt.
  std::optional<std::string_view> FindHeader(std::string_view name) const;
  // Raw (undecoded) value of the first cookie with this exact name across all Cookie headers
  // (none for a hidden cookie).
  std::optional<std::string_view> FindCookie(std::string_view name) const;
  // Raw (undecoded) value of the first query parameter with this exact name. A key without
  // '=' has an empty value.
  std::optional<std::string_view> FindQueryParam(std::string_view name) const;
  bool https() const { return scheme == "https"; }
};

}  // namespace tailor
