#include "geo/geo_service.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace tailor {
namespace {

struct FieldInfo {
  const char* name;
  ValueType type;
  GeoDbKind source;
};

constexpr FieldInfo kFields[kGeoFieldCount] = {
    {"country", ValueType::kString, GeoDbKind::kLocation},
    {"continent", ValueType::kString, GeoDbKind::kLocation},
    {"subdivision", ValueType::kString, GeoDbKind::kLocation},
    {"city", ValueType::kString, GeoDbKind::kLocation},
    {"postal", ValueType::kString, GeoDbKind::kLocation},
    {"lat", ValueType::kNumber, GeoDbKind::kLocation},
    {"lon", ValueType::kNumber, GeoDbKind::kLocation},
    {"accuracy_km", ValueType::kNumber, GeoDbKind::kLocation},
    {"timezone", ValueType::kString, GeoDbKind::kLocation},
    {"eu", ValueType::kBool, GeoDbKind::kLocation},
    {"asn", ValueType::kNumber, GeoDbKind::kAsn},
    {"org", ValueType::kString, GeoDbKind::kAsn},
    {"anonymous", ValueType::kBool, GeoDbKind::kAnonymous},
    {"vpn", ValueType::kBool, GeoDbKind::kAnonymous},
    {"tor", ValueType::kBool, GeoDbKind::kAnonymous},
    {"hosting", ValueType::kBool, GeoDbKind::kAnonymous},
};

bool StringAt(const mmdb::DataReader& d, uint32_t off, std::initializer_list<std::string_view> path,
              GeoSlot* out) {
  mmdb::Entry e;
  std::string_view s;
  if (!d.Path(off, path, &e) || !d.AsString(e, &s) || s.empty()) return false;
  out->str = s.data();
  out->len = static_cast<uint32_t>(s.size());
  return true;
}

bool NumberAt(const mmdb::DataReader& d, uint32_t off, std::initializer_list<std::string_view> path,
              GeoSlot* out) {
  mmdb::Entry e;
  double v;
  if (!d.Path(off, path, &e) || !d.AsNumber(e, &v) || !std::isfinite(v)) return false;
  out->num = v;
  return true;
}

// A flag that MaxMind omits when false: absent reads as false.
bool FlagAt(const mmdb::DataReader& d, uint32_t off, std::string_view key, GeoSlot* out) {
  mmdb::Entry e;
  bool b = false;
  if (d.Path(off, {key}, &e) && !d.AsBool(e, &b)) return false;  // present but not a bool
  out->num = b ? 1 : 0;
  return true;
}

}  // namespace

const char* GeoFieldName(GeoField f) { return kFields[static_cast<int>(f)].name; }
ValueType GeoFieldType(GeoField f) { return kFields[static_cast<int>(f)].type; }
GeoDbKind GeoFieldSource(GeoField f) { return kFields[static_cast<int>(f)].source; }

GeoCache::GeoCache(size_t entries) {
  size_t n = 1;
  while (n < entries) n <<= 1;
  entries_ = new Entry[n]();
  mask_ = n - 1;
}

GeoCache::~GeoCache() { delete[] entries_; }

GeoCache::Entry& GeoCache::For(uint64_t db_id, uint32_t offset) {
  uint64_t h = (db_id * 0x9E3779B97F4A7C15ull) ^ (offset * 0xC2B2AE3D27D4EB4Full);
  Entry& e = entries_[(h >> 32) & mask_];
  if (e.db_id == db_id && e.offset == offset) {
    ++hits_;
  } else {
    ++misses_;
    e.db_id = db_id;
    e.offset = offset;
    e.decoded = 0;
    e.present = 0;
  }
  return e;
}

Result<std::shared_ptr<const GeoService>> GeoService::Open(std::span<const std::string> paths) {
  std::vector<std::shared_ptr<const GeoDatabase>> dbs;
  for (const std::string& p : paths) {
    auto db = GeoDatabase::Open(p);
    if (!db.ok()) return db.status();
    dbs.push_back(std::move(db).value());
  }
  return Create(std::move(dbs));
}

Result<std::shared_ptr<const GeoService>> GeoService::Create(
    std::vector<std::shared_ptr<const GeoDatabase>> databases) {
  std::shared_ptr<GeoService> s(new GeoService());
  for (auto& db : databases) {
    if (db == nullptr) continue;
    if (db->kind() == GeoDbKind::kUnknown)
      return Status::Error(db->path() + ": unsupported database type \"" + db->database_type() +
                           "\" (expected a City, Country, ASN, ISP or Anonymous-IP database)");
    const GeoDatabase*& slot = s->by_kind_[static_cast<int>(db->kind())];
    if (slot != nullptr)
      return Status::Error(db->path() + ": a " + GeoDbKindName(db->kind()) +
                           " database is already loaded from " + slot->path());
    slot = db.get();
    s->all_.push_back(std::move(db));
  }
  return std::shared_ptr<const GeoService>(std::move(s));
}

const GeoDatabase* GeoService::database(GeoDbKind kind) const {
  if (kind == GeoDbKind::kUnknown) return nullptr;
  return by_kind_[static_cast<int>(kind)];
}

const cctz::time_zone* GeoService::FindZone(std::string_view name) const {
  const GeoDatabase* db = by_kind_[static_cast<int>(GeoDbKind::kLocation)];
  return db ? db->FindZone(name) : nullptr;
}

bool GeoService::Decode(const GeoDatabase& db, uint32_t off, GeoField f, GeoSlot* out) const {
  const mmdb::DataReader& d = db.data();
  switch (f) {
    case GeoField::kCountry: return StringAt(d, off, {"country", "iso_code"}, out);
    case GeoField::kContinent: return StringAt(d, off, {"continent", "code"}, out);
    case GeoField::kSubdivision: return StringAt(d, off, {"subdivisions", "#0", "iso_code"}, out);
    case GeoField::kCity: return StringAt(d, off, {"city", "names", "en"}, out);
    case GeoField::kPostal: return StringAt(d, off, {"postal", "code"}, out);
    case GeoField::kLat: return NumberAt(d, off, {"location", "latitude"}, out);
    case GeoField::kLon: return NumberAt(d, off, {"location", "longitude"}, out);
    case GeoField::kAccuracyKm: return NumberAt(d, off, {"location", "accuracy_radius"}, out);
    case GeoField::kTimezone: return StringAt(d, off, {"location", "time_zone"}, out);
    case GeoField::kEu: {
      mmdb::Entry e;
      if (!d.Path(off, {"country"}, &e) || e.type != mmdb::Type::kMap) return false;
      bool b = false;
      mmdb::Entry flag;
      if (d.FindKey(e, "is_in_european_union", &flag) && !d.AsBool(flag, &b)) return false;
      out->num = b ? 1 : 0;
      return true;
    }
    case GeoField::kAsn: return NumberAt(d, off, {"autonomous_system_number"}, out);
    case GeoField::kOrg:
      return StringAt(d, off, {"autonomous_system_organization"}, out) ||
             StringAt(d, off, {"organization"}, out);
    case GeoField::kAnonymous: return FlagAt(d, off, "is_anonymous", out);
    case GeoField::kVpn: return FlagAt(d, off, "is_anonymous_vpn", out);
    case GeoField::kTor: return FlagAt(d, off, "is_tor_exit_node", out);
    case GeoField::kHosting: return FlagAt(d, off, "is_hosting_provider", out);
    case GeoField::kCount: break;
  }
  return false;
}

Value GeoService::Get(const struct sockaddr* addr, GeoField f, GeoLookupState* st,
                      GeoCache* cache) const {
  const int fi = static_cast<int>(f);
  if (fi < 0 || fi >= kGeoFieldCount) return Value::Missing();
  const int kind = static_cast<int>(kFields[fi].source);
  const GeoDatabase* db = by_kind_[kind];
  if (db == nullptr) return Value::Missing();
  const uint32_t bit = 1u << fi;
  const uint8_t kbit = static_cast<uint8_t>(1u << kind);
  if (!(st->decoded & bit)) {
    if (!(st->looked_up & kbit)) {
      st->looked_up |= kbit;
      uint32_t off;
      if (db->Lookup(addr, &off)) {
        st->found |= kbit;
        st->offset[kind] = off;
      }
    }
    if (st->found & kbit) {
      const uint32_t off = st->offset[kind];
      if (cache != nullptr) {
        GeoCache::Entry& e = cache->For(db->id(), off);
        if (!(e.decoded & bit)) {
          if (Decode(*db, off, f, &e.slot[fi])) e.present |= bit;
          e.decoded |= bit;
        }
        if (e.present & bit) {
          st->slot[fi] = e.slot[fi];
          st->present |= bit;
        }
      } else if (Decode(*db, off, f, &st->slot[fi])) {
        st->present |= bit;
      }
    } else if (kind == static_cast<int>(GeoDbKind::kAnonymous)) {
      // Not in the Anonymous-IP database: a known "not anonymous".
      st->slot[fi].num = 0;
      st->present |= bit;
    }
    st->decoded |= bit;
  }
  if (!(st->present & bit)) return Value::Missing();
  const GeoSlot& s = st->slot[fi];
  switch (kFields[fi].type) {
    case ValueType::kString: return Value::String(std::string_view(s.str, s.len));
    case ValueType::kNumber: return Value::Number(s.num);
    case ValueType::kBool: return Value::Bool(s.num != 0);
    default: return Value::Missing();
  }
}

double GreatCircleKm(double lat1, double lon1, double lat2, double lon2) {
  constexpr double kRad = 3.14159265358979323846 / 180.0;
  const double dlat = (lat2 - lat1) * kRad, dlon = (lon2 - lon1) * kRad;
  const double a = std::sin(dlat / 2) * std::sin(dlat / 2) +
                   std::cos(lat1 * kRad) * std::cos(lat2 * kRad) * std::sin(dlon / 2) *
                       std::sin(dlon / 2);
  return 2 * 6371.0088 * std::asin(std::sqrt(std::min(1.0, a)));
}

}  // namespace tailor
