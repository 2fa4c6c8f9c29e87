#include "geo/geo_service.h"

#include <cctz/time_zone.h>
#include <gtest/gtest.h>

#include "geo/geo_test_util.h"

namespace tailor {
namespace {

using testing::Addr;
using testing::MaxmindTest;

struct Probe {
  const GeoService& svc;
  GeoCache* cache;
  GeoLookupState st{};
  testing::TestAddr addr;
  Probe(const GeoService& s, const char* ip, GeoCache* c = nullptr) : svc(s), cache(c), addr(Addr(ip)) {}
  Value Get(GeoField f) { return svc.Get(addr.get(), f, &st, cache); }
  std::string Str(GeoField f) {
    Value v = Get(f);
    return v.type == ValueType::kString ? std::string(v.str) : "<" + std::string(ValueTypeName(v.type)) + ">";
  }
};

std::shared_ptr<const GeoService> Open(std::vector<std::string> files) {
  auto s = GeoService::Open(files);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return s.ok() ? s.value() : nullptr;
}

TEST(GeoService, DemoDatabaseFields) {
  auto svc = Open({testing::DemoDb()});
  ASSERT_TRUE(svc);
  for (const char* ip : {"198.51.100.7", "2001:db8:1::9"}) {
    Probe p(*svc, ip);
    EXPECT_EQ(p.Str(GeoField::kCountry), "FR") << ip;
    EXPECT_EQ(p.Str(GeoField::kContinent), "EU");
    EXPECT_EQ(p.Str(GeoField::kSubdivision), "IDF");
    EXPECT_EQ(p.Str(GeoField::kCity), "Paris");
    EXPECT_EQ(p.Str(GeoField::kPostal), "75001");
    EXPECT_EQ(p.Str(GeoField::kTimezone), "Europe/Paris");
    EXPECT_DOUBLE_EQ(p.Get(GeoField::kLat).number, 48.8566);
    EXPECT_DOUBLE_EQ(p.Get(GeoField::kLon).number, 2.3522);
    EXPECT_EQ(p.Get(GeoField::kAccuracyKm).number, 20);
    EXPECT_EQ(p.Get(GeoField::kEu).type, ValueType::kBool);
    EXPECT_TRUE(p.Get(GeoField::kEu).boolean);
    EXPECT_TRUE(p.Get(GeoField::kAsn).missing());        // no ASN database
    EXPECT_TRUE(p.Get(GeoField::kAnonymous).missing());  // no Anonymous-IP database
  }
  Probe london(*svc, "203.0.113.200");
  EXPECT_EQ(london.Str(GeoField::kCountry), "GB");
  EXPECT_FALSE(london.Get(GeoField::kEu).boolean);
  EXPECT_EQ(london.Get(GeoField::kEu).type, ValueType::kBool);
  Probe tokyo(*svc, "2001:db8:2::1");
  EXPECT_EQ(tokyo.Str(GeoField::kCountry), "JP");
  EXPECT_TRUE(tokyo.Get(GeoField::kCity).missing());
  EXPECT_TRUE(tokyo.Get(GeoField::kSubdivision).missing());
  Probe unknown(*svc, "8.8.8.8");
  for (int f = 0; f < kGeoFieldCount; ++f)
    EXPECT_TRUE(unknown.Get(static_cast<GeoField>(f)).missing()) << GeoFieldName(static_cast<GeoField>(f));
}

TEST(GeoService, MaxMindTestDatabases) {
  auto svc = Open({MaxmindTest("GeoIP2-City-Test.mmdb"), MaxmindTest("GeoLite2-ASN-Test.mmdb"),
                   MaxmindTest("GeoIP2-Anonymous-IP-Test.mmdb")});
  ASSERT_TRUE(svc);
  Probe london(*svc, "81.2.69.142");
  EXPECT_EQ(london.Str(GeoField::kCountry), "GB");
  EXPECT_EQ(london.Str(GeoField::kCity), "London");
  EXPECT_TRUE(london.Get(GeoField::kAnonymous).boolean);
  EXPECT_TRUE(london.Get(GeoField::kTor).boolean);
  Probe boxford(*svc, "2.125.160.216");
  EXPECT_EQ(boxford.Str(GeoField::kCity), "Boxford");
  Probe se(*svc, "89.160.20.112");
  EXPECT_EQ(se.Str(GeoField::kCountry), "SE");
  EXPECT_EQ(se.Str(GeoField::kCity), "Link\xC3\xB6ping");  // UTF-8 intact
  Probe us(*svc, "216.160.83.56");
  EXPECT_EQ(us.Str(GeoField::kCity), "Milton");
  EXPECT_EQ(us.Str(GeoField::kSubdivision), "WA");
  EXPECT_EQ(us.Str(GeoField::kTimezone), "America/Los_Angeles");
  EXPECT_EQ(us.Str(GeoField::kPostal), "98354");
  EXPECT_EQ(us.Get(GeoField::kAccuracyKm).number, 22);
  EXPECT_FALSE(us.Get(GeoField::kAnonymous).boolean);  // not in the Anonymous-IP database
  EXPECT_EQ(us.Get(GeoField::kAnonymous).type, ValueType::kBool);
  Probe jp(*svc, "2001:218::");
  EXPECT_EQ(jp.Str(GeoField::kCountry), "JP");
  EXPECT_TRUE(jp.Get(GeoField::kCity).missing());
  Probe telstra(*svc, "1.128.0.0");
  EXPECT_EQ(telstra.Get(GeoField::kAsn).number, 1221);
  EXPECT_EQ(telstra.Str(GeoField::kOrg), "Telstra Pty Ltd");
  Probe vpn(*svc, "1.2.0.1");
  EXPECT_TRUE(vpn.Get(GeoField::kVpn).boolean);
  EXPECT_FALSE(vpn.Get(GeoField::kHosting).boolean);
  EXPECT_NE(svc->FindZone("America/Los_Angeles"), nullptr);
}

TEST(GeoService, CacheGivesTheSameAnswersAndHits) {
  auto svc = Open({MaxmindTest("GeoIP2-City-Test.mmdb")});
  ASSERT_TRUE(svc);
  GeoCache cache(64);
  for (int round = 0; round < 3; ++round) {
    for (const char* ip : {"81.2.69.142", "81.2.69.143", "89.160.20.112", "8.8.8.8"}) {
      Probe cached(*svc, ip, &cache), plain(*svc, ip);
      for (int f = 0; f < kGeoFieldCount; ++f) {
        Value a = cached.Get(static_cast<GeoField>(f)), b = plain.Get(static_cast<GeoField>(f));
        ASSERT_EQ(a.type, b.type) << ip << " " << f;
        EXPECT_EQ(a.str, b.str);
        EXPECT_EQ(a.number, b.number);
        EXPECT_EQ(a.boolean, b.boolean);
      }
    }
  }
  EXPECT_GT(cache.hits(), cache.misses());
}

TEST(GeoService, RejectsUnknownTypesAndDuplicateKinds) {
  auto a = GeoService::Open(std::vector<std::string>{MaxmindTest("MaxMind-DB-test-ipv4-24.mmdb")});
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("unsupported database type \"Test\""), std::string::npos);
  auto b = GeoService::Open(std::vector<std::string>{MaxmindTest("GeoIP2-City-Test.mmdb"),
                                                     MaxmindTest("GeoIP2-Country-Test.mmdb")});
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("already loaded from"), std::string::npos);
}

TEST(GeoService, ZonesAreLoadedAtConfigTime) {
  auto svc = Open({testing::DemoDb()});
  ASSERT_TRUE(svc);
  const cctz::time_zone* paris = svc->FindZone("Europe/Paris");
  ASSERT_NE(paris, nullptr);
  // 2026-07-01 12:00 UTC is 14:00 in Paris (CEST).
  auto tp = std::chrono::system_clock::from_time_t(1782907200);
  auto cs = cctz::convert(tp, *paris);
  EXPECT_EQ(cs.hour(), 14);
}

TEST(GeoService, GreatCircle) {
  EXPECT_NEAR(GreatCircleKm(48.8566, 2.3522, 51.5074, -0.1278), 343.5, 1.0);  // Paris-London
  EXPECT_NEAR(GreatCircleKm(10, 10, 10, 10), 0, 1e-9);
}

}  // namespace
}  // namespace tailor
