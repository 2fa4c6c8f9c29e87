// GeoService: the geo.* signals over up to three MaxMind databases (one City/Country, one
// ASN, one Anonymous-IP). An immutable snapshot: hot reload (geo/geo_reloader.h) builds a new
// GeoService when a file changes, and a request keeps the snapshot it started with.
//
// Request path: GeoService::Get(addr, field, &state, cache) looks the address up in the
// database that provides `field` (MMDB_lookup_sockaddr, once per database per request),
// then decodes only that field of the record, through an optional per-worker GeoCache keyed
// by (database, data offset): many addresses share one record. No allocation, no lock, no
// syscall; strings are views into the database's mapping (valid while the snapshot is held).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/value.h"
#include "geo/geo_database.h"

namespace tailor {

enum class GeoField : uint8_t {
  kCountry,      // string, ISO 3166-1 alpha-2 ("FR")
  kContinent,    // string, continent code ("EU")
  kSubdivision,  // string, ISO 3166-2 code of the first subdivision, without country ("IDF")
  kCity,         // string, English city name ("Paris")
  kPostal,       // string ("75001")
  kLat,          // number, degrees
  kLon,          // number, degrees
  kAccuracyKm,   // number, accuracy radius in km
  kTimezone,     // string, IANA name ("Europe/Paris")
  kEu,           // bool, country in the European Union (false when the country is known)
  kAsn,          // number, autonomous system number
  kOrg,          // string, AS organization
  kAnonymous,    // bool (false when an Anonymous-IP database is loaded and has no entry)
  kVpn,          // bool
  kTor,          // bool
  kHosting,      // bool
  kCount
};
inline constexpr int kGeoFieldCount = static_cast<int>(GeoField::kCount);
const char* GeoFieldName(GeoField f);       // "country", "accuracy_km", ...
ValueType GeoFieldType(GeoField f);         // kString, kNumber or kBool
GeoDbKind GeoFieldSource(GeoField f);       // the kind of database that provides it

// One decoded field value (trivially copyable; views point into the database mapping).
struct GeoSlot {
  const char* str;
  uint32_t len;
  double num;  // numbers; bools as 0/1
};

// Per-request lookup state: zeroed bytes = nothing looked up yet (fits a RequestMemo slot).
struct GeoLookupState {
  uint8_t looked_up;  // bit per GeoDbKind: tree lookup done
  uint8_t found;      // bit per GeoDbKind: the address has a record
  uint32_t offset[kGeoDbKinds];
  uint32_t decoded;   // bit per GeoField
  uint32_t present;   // bit per GeoField
  GeoSlot slot[kGeoFieldCount];
};

// A fixed-size, direct-mapped cache of decoded fields by (database id, data offset). One per
// worker (it is mutable and not thread-safe); allocated once, never grows. Entries of a
// replaced database simply stop matching.
class GeoCache {
 public:
  explicit GeoCache(size_t entries = 1024);  // rounded up to a power of two
  ~GeoCache();
  GeoCache(const GeoCache&) = delete;
  GeoCache& operator=(const GeoCache&) = delete;

  struct Entry {
    uint64_t db_id;  // 0 = empty
    uint32_t offset;
    uint32_t decoded;
    uint32_t present;
    GeoSlot slot[kGeoFieldCount];
  };
  Entry& For(uint64_t db_id, uint32_t offset);  // the entry to use (reset if it held another)
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }

 private:
  Entry* entries_;
  size_t mask_;
  uint64_t hits_ = 0, misses_ = 0;
};

class GeoService {
 public:
  // Config time: opens and validates every file (type from its metadata). Errors name the
  // file: unreadable, corrupt, unknown database type, or a second database of one kind.
  static Result<std::shared_ptr<const GeoService>> Open(std::span<const std::string> paths);
  // Builds a snapshot over databases already opened (the reloader's path).
  static Result<std::shared_ptr<const GeoService>> Create(
      std::vector<std::shared_ptr<const GeoDatabase>> databases);

  // Request path. `addr` is the client's sockaddr (AF_INET or AF_INET6); `state` the
  // request's lookup state (zeroed at request start); `cache` may be null.
  Value Get(const struct sockaddr* addr, GeoField field, GeoLookupState* state,
            GeoCache* cache) const;
  // The time zone for geo.timezone's value (loaded at config time), or nullptr.
  const cctz::time_zone* FindZone(std::string_view name) const;

  const GeoDatabase* database(GeoDbKind kind) const;  // nullptr when not configured
  const std::vector<std::shared_ptr<const GeoDatabase>>& databases() const { return all_; }

 private:
  GeoService() = default;
  bool Decode(const GeoDatabase& db, uint32_t offset, GeoField f, GeoSlot* out) const;

  std::vector<std::shared_ptr<const GeoDatabase>> all_;
  const GeoDatabase* by_kind_[kGeoDbKinds] = {nullptr, nullptr, nullptr};
};

// Great-circle distance in km (haversine, mean Earth radius 6371.0088 km).
double GreatCircleKm(double lat1, double lon1, double lat2, double lon2);

}  // namespace tailor
