// GeoDatabase: one MaxMind DB file, read at load into a private sealed copy (a memfd: the
// file itself is never mapped, so rewriting it in place cannot reach a lookup), opened with
// libmaxminddb and validated completely: libmaxminddb's own checks (metadata, layout), then
// every search-tree record (it must point to a node, the empty marker, or inside the data
// section), then every data record the tree references (headers, sizes, pointers, nesting,
// UTF-8). A file that passes can still
// not crash a lookup: the data reader is bounds-checked anyway (geo/mmdb_data.h).
// Immutable after Open; shared by all requests through std::shared_ptr (hot reload keeps an
// old database alive while a request still holds it).
#pragma once

#include <sys/socket.h>

#include <cctz/time_zone.h>
#include <maxminddb.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "geo/mmdb_data.h"


namespace tailor {

// What a database provides, from its metadata `database_type`.
enum class GeoDbKind : uint8_t {
  kLocation = 0,   // GeoIP2/GeoLite2-City, -Country, -Enterprise, Tailor-Demo-City
  kAsn = 1,        // GeoLite2-ASN, GeoIP2-ISP
  kAnonymous = 2,  // GeoIP2-Anonymous-IP
  kUnknown = 3,    // anything else: opened and validated, but not used for geo.* signals
};
inline constexpr int kGeoDbKinds = 3;  // the kinds a GeoService serves
const char* GeoDbKindName(GeoDbKind k);
GeoDbKind GeoDbKindFromType(std::string_view database_type);

class GeoDatabase {
 public:
  // Copies, opens and validates `path`. Errors name the file and the reason (libmaxminddb's
  // own message for what it detects): "geo.mmdb: libmaxminddb: The MaxMind DB file's data
  // section contains bad data ...", "geo.mmdb: the file changed while it was read ...". City/Country databases also load (from the system tz
  // database) every time zone their records name, for local.*.
  static Result<std::shared_ptr<const GeoDatabase>> Open(const std::string& path);
  ~GeoDatabase();
  GeoDatabase(const GeoDatabase&) = delete;
  GeoDatabase& operator=(const GeoDatabase&) = delete;

  // Request path: the data offset of the record for this address, or false (not found,
  // unsupported family, IPv6 address in an IPv4-only database, corrupt tree).
  bool Lookup(const struct sockaddr* addr, uint32_t* offset) const;

  const mmdb::DataReader& data() const { return data_; }
  // The time zone loaded for this IANA name, or nullptr. No allocation, no syscall.
  const cctz::time_zone* FindZone(std::string_view name) const;

  const std::string& path() const { return path_; }
  const std::string& database_type() const { return database_type_; }
  GeoDbKind kind() const { return kind_; }
  uint64_t build_epoch() const { return mmdb_.metadata.build_epoch; }
  uint32_t node_count() const { return mmdb_.metadata.node_count; }
  size_t record_count() const { return record_count_; }  // distinct data records
  size_t zone_count() const { return zones_.size(); }
  // Unique per opened database (process-wide), so caches keyed by it never mix databases.
  uint64_t id() const { return id_; }

 private:
  GeoDatabase() = default;
  Status Validate();
  void LoadZones(const std::vector<uint32_t>& records);

  std::string path_;
  std::string database_type_;
  GeoDbKind kind_ = GeoDbKind::kUnknown;
  MMDB_s mmdb_{};
  bool open_ = false;
  mmdb::DataReader data_;
  size_t record_count_ = 0;
  uint64_t id_ = 0;
  struct Zone {
    std::string name;
    cctz::time_zone tz;
  };
  std::vector<Zone> zones_;  // sorted by name
};

}  // namespace tailor
