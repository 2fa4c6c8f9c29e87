#include <gtest/gtest.h>

#include <vector>

#include "geo/geo_service.h"
#include "geo/geo_source.h"
#include "geo/geo_test_util.h"
#include "core/signal_registry.h"

namespace tailor {
namespace {

struct Fixture {
  RequestView rv;
  Services services;
  testing::TestAddr addr;
  alignas(16) char arena_buf[256];
  Arena arena{arena_buf, sizeof arena_buf};
  std::vector<std::max_align_t> memo_buf;
  RequestMemo memo{nullptr, 0};
  Fixture(const GeoService* geo, const char* ip, int64_t now_ms = 1782907200000 /* 2026-07-01 12:00Z */)
      : addr(testing::Addr(ip)),
        memo_buf(SignalRegistry::Builtin().memo_size() / sizeof(std::max_align_t) + 1),
        memo(memo_buf.data(), memo_buf.size() * sizeof(std::max_align_t)) {
    BindGeo(services, geo);
    rv.client_addr = addr.get();
    rv.client_addr_len = sizeof(addr.ss);
    rv.now_ms = now_ms;
  }
  Value Eval(std::string_view name, double a = 0, double b = 0) {
    const SignalDef* def = SignalRegistry::Builtin().Find(name);
    EXPECT_NE(def, nullptr) << name;
    if (def == nullptr) return Value::Missing();
    EvalEnv env{rv, services, arena, memo};
    SignalArgs args;
    args.num[0] = a;
    args.num[1] = b;
    Value v = def->fn(args, env);
    EXPECT_TRUE(v.missing() || v.type == def->type) << name;
    return v;
  }
};

std::shared_ptr<const GeoService> Demo() {
  auto s = GeoService::Open(std::vector<std::string>{testing::DemoDb()});
  EXPECT_TRUE(s.ok()) << s.status().message();
  return s.ok() ? s.value() : nullptr;
}

TEST(GeoSignals, EveryGeoSignalIsRegisteredWithItsType) {
  const auto& reg = SignalRegistry::Builtin();
  for (int f = 0; f < kGeoFieldCount; ++f) {
    std::string name = std::string("geo.") + GeoFieldName(static_cast<GeoField>(f));
    const SignalDef* def = reg.Find(name);
    ASSERT_NE(def, nullptr) << name;
    EXPECT_EQ(def->type, GeoFieldType(static_cast<GeoField>(f))) << name;
  }
  ASSERT_NE(reg.Find("geo.distance_km"), nullptr);
  EXPECT_EQ(reg.Find("geo.distance_km")->arg, SignalArg::kNumberPair);
}

TEST(GeoSignals, DemoDatabase) {
  auto geo = Demo();
  ASSERT_TRUE(geo);
  GeoCache cache(16);
  for (GeoCache* c : {static_cast<GeoCache*>(nullptr), &cache}) {
    Fixture f(geo.get(), "198.51.100.7");
    BindGeo(f.services, geo.get(), c);
    EXPECT_EQ(f.Eval("geo.country").str, "FR");
    EXPECT_EQ(f.Eval("geo.city").str, "Paris");
    EXPECT_EQ(f.Eval("geo.subdivision").str, "IDF");
    EXPECT_TRUE(f.Eval("geo.eu").boolean);
    EXPECT_NEAR(f.Eval("geo.distance_km", 51.5074, -0.1278).number, 343.5, 1.0);
    EXPECT_EQ(f.Eval("local.hour").number, 14);  // CEST
    EXPECT_EQ(f.Eval("local.weekday").str, "wednesday");
    EXPECT_EQ(f.Eval("local.date").str, "2026-07-01");
    EXPECT_TRUE(f.Eval("geo.asn").missing());
  }
  Fixture tokyo(geo.get(), "2001:db8:2::1", 1795476600000 /* 2026-11-23 23:30Z */);
  EXPECT_EQ(tokyo.Eval("geo.country").str, "JP");
  EXPECT_EQ(tokyo.Eval("local.hour").number, 8);
  EXPECT_EQ(tokyo.Eval("local.date").str, "2026-11-24");
  EXPECT_EQ(tokyo.Eval("local.weekday").str, "tuesday");
  Fixture sf(geo.get(), "192.0.2.1", 1795476600000);
  EXPECT_EQ(sf.Eval("local.hour").number, 15);  // PST
}

TEST(GeoSignals, MissingWithoutServiceAddressOrRecord) {
  auto geo = Demo();
  Fixture none(nullptr, "198.51.100.7");
  EXPECT_TRUE(none.Eval("geo.country").missing());
  EXPECT_TRUE(none.Eval("local.hour").missing());
  Fixture unknown(geo.get(), "8.8.8.8");
  EXPECT_TRUE(unknown.Eval("geo.country").missing());
  EXPECT_TRUE(unknown.Eval("geo.distance_km", 1, 2).missing());
  EXPECT_TRUE(unknown.Eval("local.date").missing());
  Fixture noaddr(geo.get(), "198.51.100.7");
  noaddr.rv.client_addr = nullptr;
  EXPECT_TRUE(noaddr.Eval("geo.city").missing());
}

TEST(GeoSignals, MaxMindTestDatabases) {
  auto s = GeoService::Open(std::vector<std::string>{
      testing::MaxmindTest("GeoIP2-City-Test.mmdb"), testing::MaxmindTest("GeoLite2-ASN-Test.mmdb"),
      testing::MaxmindTest("GeoIP2-Anonymous-IP-Test.mmdb")});
  ASSERT_TRUE(s.ok()) << s.status().message();
  Fixture se(s.value().get(), "89.160.20.112");
  EXPECT_EQ(se.Eval("geo.city").str, "Link\xC3\xB6ping");
  EXPECT_EQ(se.Eval("geo.continent").str, "EU");
  EXPECT_TRUE(se.Eval("geo.eu").boolean);
  EXPECT_FALSE(se.Eval("geo.anonymous").boolean);
  Fixture t(s.value().get(), "1.128.0.0");
  EXPECT_EQ(t.Eval("geo.asn").number, 1221);
  EXPECT_EQ(t.Eval("geo.org").str, "Telstra Pty Ltd");
}

}  // namespace
}  // namespace tailor
