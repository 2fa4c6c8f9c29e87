// geo.* (GeoService over MaxMind databases) and local.* (the visitor's local time, from
// geo.timezone), with their data source (geo/geo_source.h: tailor_geoip2). One lookup state per request in a memo slot: each database is searched at
// most once per request and each field decoded at most once (through the per-worker
// GeoCache when the glue provides one). Time zones were loaded with the database at config
// time: local.* is pure computation (no syscall, no allocation beyond local.date's 10 bytes).
#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

#include <chrono>
#include <cstdio>

#include "geo/geo_service.h"
#include "geo/geo_source.h"
#include "core/signal_registry.h"

namespace tailor {
namespace {

size_t g_geo_slot = 0;
size_t g_local_slot = 0;

Value GetField(EvalEnv& env, GeoField f) {
  const GeoService* geo = BoundGeo(env.services);
  if (geo == nullptr || env.request.client_addr == nullptr) return Value::Missing();
  return geo->Get(env.request.client_addr, f, &env.memo.Slot<GeoLookupState>(g_geo_slot),
                  BoundGeoCache(env.services));
}

template <GeoField F>
Value FieldSignal(const SignalArgs&, EvalEnv& env) {
  return GetField(env, F);
}

Value DistanceKm(const SignalArgs& a, EvalEnv& env) {
  Value lat = GetField(env, GeoField::kLat), lon = GetField(env, GeoField::kLon);
  if (lat.missing() || lon.missing()) return Value::Missing();
  return Value::Number(GreatCircleKm(lat.number, lon.number, a.num[0], a.num[1]));
}

struct LocalTime {
  bool known;
  int hour;
  int weekday;  // 0 = monday
  int year, month, day;
};

const LocalTime& Local(EvalEnv& env) {
  return Memoized<LocalTime>(env, g_local_slot, [](EvalEnv& e) {
    LocalTime t{};
    Value tz = GetField(e, GeoField::kTimezone);
    const cctz::time_zone* zone = tz.missing() ? nullptr : BoundGeo(e.services)->FindZone(tz.str);
    if (zone == nullptr) return t;
    auto tp = std::chrono::time_point_cast<cctz::seconds>(
        std::chrono::system_clock::from_time_t(0) + std::chrono::seconds(e.request.now_ms / 1000));
    cctz::civil_second cs = zone->lookup(tp).cs;
    t.known = true;
    t.hour = cs.hour();
    t.year = static_cast<int>(cs.year());
    t.month = cs.month();
    t.day = cs.day();
    t.weekday = (static_cast<int>(cctz::get_weekday(cctz::civil_day(cs))) -
                 static_cast<int>(cctz::weekday::monday) + 7) % 7;
    return t;
  });
}

constexpr std::string_view kWeekdays[] = {"monday", "tuesday",  "wednesday", "thursday",
                                          "friday", "saturday", "sunday"};

Value LocalHour(const SignalArgs&, EvalEnv& env) {
  const LocalTime& t = Local(env);
  return t.known ? Value::Number(t.hour) : Value::Missing();
}
Value LocalWeekday(const SignalArgs&, EvalEnv& env) {
  const LocalTime& t = Local(env);
  return t.known ? Value::String(kWeekdays[t.weekday]) : Value::Missing();
}
Value LocalDate(const SignalArgs&, EvalEnv& env) {
  const LocalTime& t = Local(env);
  if (!t.known) return Value::Missing();
  char* p = env.arena.AllocateChars(11);
  if (p == nullptr) return Value::Missing();
  int year = t.year < 0 ? 0 : (t.year > 9999 ? 9999 : t.year);
  std::snprintf(p, 11, "%04d-%02d-%02d", year, t.month, t.day);
  return Value::String(std::string_view(p, 10));
}

}  // namespace

void RegisterGeoSignals(SignalRegistry& r) {
  SetGeoSourceId(r.AddSource(GeoSourceDef()));
  g_geo_slot = r.ReserveMemo(sizeof(GeoLookupState), alignof(GeoLookupState));
  g_local_slot = r.ReserveMemo(sizeof(Memo<LocalTime>), alignof(Memo<LocalTime>));
  auto add = [&](const char* name, ValueType type, SignalFn fn, const char* doc,
                 const char* example) {
    r.Add({name, type, SignalArg::kNone, 50, fn, doc, example});
  };
  using F = GeoField;
  add("geo.country", ValueType::kString, FieldSignal<F::kCountry>,
      "country of the client address, ISO 3166-1 alpha-2 (City or Country database)",
      R"(geo.country in ["FR", "BE", "CH"])");
  add("geo.continent", ValueType::kString, FieldSignal<F::kContinent>,
      "continent code: AF AN AS EU NA OC SA", R"(geo.continent == "EU")");
  add("geo.subdivision", ValueType::kString, FieldSignal<F::kSubdivision>,
      "first subdivision's ISO 3166-2 code without the country (region, state)",
      R"(geo.subdivision == "IDF")");
  add("geo.city", ValueType::kString, FieldSignal<F::kCity>, "city name in English (UTF-8)",
      R"(geo.city == "Paris")");
  add("geo.postal", ValueType::kString, FieldSignal<F::kPostal>, "postal code",
      R"(geo.postal starts_with "75")");
  add("geo.lat", ValueType::kNumber, FieldSignal<F::kLat>, "latitude, degrees", "geo.lat > 45");
  add("geo.lon", ValueType::kNumber, FieldSignal<F::kLon>, "longitude, degrees", "geo.lon < 0");
  add("geo.accuracy_km", ValueType::kNumber, FieldSignal<F::kAccuracyKm>,
      "accuracy radius of the location, km", "geo.accuracy_km <= 50");
  add("geo.timezone", ValueType::kString, FieldSignal<F::kTimezone>, "IANA time zone",
      R"(geo.timezone == "Europe/Paris")");
  add("geo.eu", ValueType::kBool, FieldSignal<F::kEu>,
      "country is in the European Union (false for a known non-EU country)", "geo.eu");
  add("geo.asn", ValueType::kNumber, FieldSignal<F::kAsn>,
      "autonomous system number (ASN or ISP database)", "geo.asn == 3215");
  add("geo.org", ValueType::kString, FieldSignal<F::kOrg>, "autonomous system organization",
      R"(geo.org contains "Orange")");
  add("geo.anonymous", ValueType::kBool, FieldSignal<F::kAnonymous>,
      "anonymous network: VPN, proxy, Tor or hosting (Anonymous-IP database)",
      "not geo.anonymous");
  add("geo.vpn", ValueType::kBool, FieldSignal<F::kVpn>, "anonymous VPN (Anonymous-IP database)",
      "geo.vpn");
  add("geo.tor", ValueType::kBool, FieldSignal<F::kTor>, "Tor exit node (Anonymous-IP database)",
      "geo.tor");
  add("geo.hosting", ValueType::kBool, FieldSignal<F::kHosting>,
      "hosting or cloud provider (Anonymous-IP database)", "geo.hosting");
  r.Add({"geo.distance_km", ValueType::kNumber, SignalArg::kNumberPair, 50, DistanceKm,
         "great-circle distance in km from the client's location to (LAT, LON)",
         "geo.distance_km(48.8566, 2.3522) < 50"});
  r.Add({"local.hour", ValueType::kNumber, SignalArg::kNone, 60, LocalHour,
         "hour of the day, 0-23, in the visitor's time zone (geo.timezone)",
         "local.hour between 18 and 22"});
  r.Add({"local.weekday", ValueType::kString, SignalArg::kNone, 60, LocalWeekday,
         "day of the week in the visitor's time zone: monday ... sunday",
         R"(local.weekday in ["saturday", "sunday"])"});
  r.Add({"local.date", ValueType::kString, SignalArg::kNone, 60, LocalDate,
         "the date in the visitor's time zone, YYYY-MM-DD (compares as text)",
         R"(local.date >= "2026-12-24")"});
}

}  // namespace tailor
