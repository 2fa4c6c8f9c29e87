// Fuzzes query-string handling as query("NAME") does it: the parameter lookup over a raw
// query string, then percent-decoding into a small arena. Checks what must hold for any
// input: a found value is a slice of the query, decoding never grows the text, never writes
// outside the arena, and a value without '%' or '+' decodes to itself. The same input also
// goes through the Cookie header lookup (';'-separated pairs with trimming).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "core/arena.h"
#include "core/request_view.h"
#include "core/text.h"

using namespace tailor;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // First byte: length of the parameter name taken from the end of the input.
  size_t name_len = data[0] % 16;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  if (name_len > rest.size()) name_len = rest.size();
  std::string_view name = rest.substr(rest.size() - name_len);
  std::string_view query = rest.substr(0, rest.size() - name_len);

  RequestView view;
  view.query = query;
  HeaderField cookie{"Cookie", query};
  view.headers = std::span<const HeaderField>(&cookie, 1);

  alignas(16) char buf[512];
  for (bool plus : {true, false}) {
    if (auto v = view.FindQueryParam(name)) {
      // A non-empty value is a slice of the query (an empty one may point anywhere).
      if (!v->empty() &&
          (v->data() < query.data() || v->data() + v->size() > query.data() + query.size()))
        __builtin_trap();
      Arena arena(buf, sizeof buf);
      auto d = PercentDecode(*v, arena, plus);
      if (d) {
        if (d->size() > v->size()) __builtin_trap();
        bool plain = v->find('%') == std::string_view::npos &&
                     (!plus || v->find('+') == std::string_view::npos);
        if (plain && *d != *v) __builtin_trap();
      } else if (v->size() <= sizeof buf / 2) {
        __builtin_trap();  // a short value must fit the arena
      }
    }
  }
  if (auto c = view.FindCookie(name)) {
    if (!c->empty() &&
        (c->data() < query.data() || c->data() + c->size() > query.data() + query.size()))
      __builtin_trap();
  }
  return 0;
}
