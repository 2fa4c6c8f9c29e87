// Fuzzes the MaxMind DB data-section reader: validation and path lookups over arbitrary
// bytes must never read out of bounds, recurse without limit or loop.
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_set>

#include "geo/mmdb_data.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1u << 20)) return 0;
  tailor::mmdb::DataReader r(data, static_cast<uint32_t>(size));
  for (uint32_t off = 0; off < size && off < 64; ++off) {
    std::unordered_set<uint32_t> validated;
    std::string why;
    (void)r.Validate(off, &validated, &why);
    tailor::mmdb::Entry e;
    std::string_view s;
    double d;
    if (r.Path(off, {"country", "iso_code"}, &e)) (void)r.AsString(e, &s);
    if (r.Path(off, {"subdivisions", "#0", "iso_code"}, &e)) (void)r.AsString(e, &s);
    if (r.Path(off, {"location", "latitude"}, &e)) (void)r.AsNumber(e, &d);
    uint32_t next;
    (void)r.Skip(off, &next);
  }
  return 0;
}
