// Geo lookups: GeoService (tree lookup + per-worker record cache + field decode) against the
// bare libmaxminddb baseline (MMDB_lookup_sockaddr + MMDB_get_value of one field). Target:
// GeoService <= 1.2x the baseline. Both over the same addresses of MaxMind's City test DB,
// one fresh per-request lookup state per iteration (as a request would).
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <maxminddb.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "geo/geo_service.h"

namespace tailor {
namespace {

const char* const kIps[] = {"81.2.69.142", "2.125.160.216", "89.160.20.112", "216.160.83.56",
                            "81.2.69.160", "175.16.199.0", "2001:218::", "67.43.156.0"};

// TAILOR_BENCH_GEO_DB=FILE benchmarks another database (e.g. a full GeoLite2-City) over 4096
// pseudo-random IPv4 addresses in 1.0.0.0-4.255.255.255 instead of the test addresses.
const char* OtherDb() { return std::getenv("TAILOR_BENCH_GEO_DB"); }

std::vector<sockaddr_storage> Addrs() {
  std::vector<sockaddr_storage> out;
  if (OtherDb() != nullptr) {
    uint32_t x = 12345;
    for (int i = 0; i < 4096; ++i) {
      x = x * 1664525u + 1013904223u;
      sockaddr_storage ss{};
      auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
      s4->sin_family = AF_INET;
      s4->sin_addr.s_addr = htonl(0x01000000u + (x >> 6) % 0x04000000u);
      out.push_back(ss);
    }
    return out;
  }
  for (const char* ip : kIps) {
    sockaddr_storage ss{};
    if (std::string(ip).find(':') != std::string::npos) {
      auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
      s6->sin6_family = AF_INET6;
      inet_pton(AF_INET6, ip, &s6->sin6_addr);
    } else {
      auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
      s4->sin_family = AF_INET;
      inet_pton(AF_INET, ip, &s4->sin_addr);
    }
    out.push_back(ss);
  }
  return out;
}

std::string CityDb() {
  return OtherDb() ? OtherDb() : std::string(TAILOR_MAXMIND_TEST_DIR) + "/GeoIP2-City-Test.mmdb";
}

void BM_GeoBareMmdbCountry(benchmark::State& state) {
  MMDB_s mmdb;
  if (MMDB_open(CityDb().c_str(), MMDB_MODE_MMAP, &mmdb) != MMDB_SUCCESS) {
    state.SkipWithError("cannot open the City test database");
    return;
  }
  auto addrs = Addrs();
  size_t i = 0, found = 0;
  for (auto _ : state) {
    const auto& a = addrs[i++ % addrs.size()];
    int err;
    MMDB_lookup_result_s r = MMDB_lookup_sockaddr(&mmdb, reinterpret_cast<const sockaddr*>(&a), &err);
    if (err == MMDB_SUCCESS && r.found_entry) {
      MMDB_entry_data_s d;
      if (MMDB_get_value(&r.entry, &d, "country", "iso_code", NULL) == MMDB_SUCCESS && d.has_data) {
        benchmark::DoNotOptimize(d.utf8_string);
        ++found;
      }
    }
  }
  benchmark::DoNotOptimize(found);
  MMDB_close(&mmdb);
}
BENCHMARK(BM_GeoBareMmdbCountry);

void GeoServiceField(benchmark::State& state, GeoField field, bool use_cache) {
  auto svc = GeoService::Open(std::vector<std::string>{CityDb()});
  if (!svc.ok()) {
    state.SkipWithError(svc.status().message().c_str());
    return;
  }
  GeoCache cache;
  auto addrs = Addrs();
  size_t i = 0;
  for (auto _ : state) {
    const auto& a = addrs[i++ % addrs.size()];
    GeoLookupState st{};
    Value v = svc.value()->Get(reinterpret_cast<const sockaddr*>(&a), field, &st,
                               use_cache ? &cache : nullptr);
    benchmark::DoNotOptimize(v);
  }
}

void BM_GeoServiceCountry(benchmark::State& state) { GeoServiceField(state, GeoField::kCountry, true); }
BENCHMARK(BM_GeoServiceCountry);
void BM_GeoServiceCountryNoCache(benchmark::State& state) {
  GeoServiceField(state, GeoField::kCountry, false);
}
BENCHMARK(BM_GeoServiceCountryNoCache);
void BM_GeoServiceCity(benchmark::State& state) { GeoServiceField(state, GeoField::kCity, true); }
BENCHMARK(BM_GeoServiceCity);

// A request reading five geo signals (country, city, timezone, lat, lon).
void BM_GeoServiceFiveFields(benchmark::State& state) {
  auto svc = GeoService::Open(std::vector<std::string>{CityDb()});
  if (!svc.ok()) {
    state.SkipWithError(svc.status().message().c_str());
    return;
  }
  GeoCache cache;
  auto addrs = Addrs();
  size_t i = 0;
  for (auto _ : state) {
    const auto* a = reinterpret_cast<const sockaddr*>(&addrs[i++ % addrs.size()]);
    GeoLookupState st{};
    for (GeoField f : {GeoField::kCountry, GeoField::kCity, GeoField::kTimezone, GeoField::kLat,
                       GeoField::kLon})
      benchmark::DoNotOptimize(svc.value()->Get(a, f, &st, &cache));
  }
}
BENCHMARK(BM_GeoServiceFiveFields);

void BM_GeoDatabaseOpenAndValidate(benchmark::State& state) {
  for (auto _ : state) {
    auto db = GeoDatabase::Open(CityDb());
    benchmark::DoNotOptimize(db.ok());
  }
}
BENCHMARK(BM_GeoDatabaseOpenAndValidate)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace tailor
