// GeoDatabase: opening, kind detection, validation. The bad-data cases run under ASan in the
// sanitizer build (-DTAILOR_SANITIZE=address,undefined): every corrupt file must give an
// error naming the file, or open and then answer lookups without crashing.
#include "geo/geo_database.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "geo/geo_service.h"
#include "geo/geo_test_util.h"

namespace tailor {
namespace {

using testing::Addr;
using testing::MaxmindTest;

TEST(GeoDatabase, OpensTheDemoDatabase) {
  auto db = GeoDatabase::Open(testing::DemoDb());
  ASSERT_TRUE(db.ok()) << db.status().message();
  EXPECT_EQ(db.value()->database_type(), "Tailor-Demo-City");
  EXPECT_EQ(db.value()->kind(), GeoDbKind::kLocation);
  EXPECT_EQ(db.value()->record_count(), 5u);  // Paris (shared by v4 and v6), Berlin, ...
  EXPECT_EQ(db.value()->zone_count(), 5u);
  EXPECT_NE(db.value()->FindZone("Europe/Paris"), nullptr);
  EXPECT_EQ(db.value()->FindZone("Mars/Olympus"), nullptr);
  uint32_t a, b;
  EXPECT_TRUE(db.value()->Lookup(Addr("198.51.100.7").get(), &a));
  EXPECT_TRUE(db.value()->Lookup(Addr("2001:db8:1::42").get(), &b));
  EXPECT_EQ(a, b);  // one record for both networks
  EXPECT_FALSE(db.value()->Lookup(Addr("8.8.8.8").get(), &a));
  EXPECT_FALSE(db.value()->Lookup(nullptr, &a));
}

TEST(GeoDatabase, DetectsKindsFromMetadata) {
  struct Case { const char* file; GeoDbKind kind; } cases[] = {
      {"GeoIP2-City-Test.mmdb", GeoDbKind::kLocation},
      {"GeoLite2-City-Test.mmdb", GeoDbKind::kLocation},
      {"GeoIP2-Country-Test.mmdb", GeoDbKind::kLocation},
      {"GeoLite2-ASN-Test.mmdb", GeoDbKind::kAsn},
      {"GeoIP2-Anonymous-IP-Test.mmdb", GeoDbKind::kAnonymous},
      {"MaxMind-DB-test-ipv4-24.mmdb", GeoDbKind::kUnknown},
  };
  for (const Case& c : cases) {
    auto db = GeoDatabase::Open(MaxmindTest(c.file));
    ASSERT_TRUE(db.ok()) << c.file << ": " << db.status().message();
    EXPECT_EQ(db.value()->kind(), c.kind) << c.file;
  }
  EXPECT_EQ(GeoDbKindFromType("GeoIP2-ISP"), GeoDbKind::kAsn);
  EXPECT_EQ(GeoDbKindFromType("GeoIP2-Enterprise"), GeoDbKind::kLocation);
}

TEST(GeoDatabase, MissingFileNamesIt) {
  auto db = GeoDatabase::Open("/nonexistent/geo.mmdb");
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.status().message().find("/nonexistent/geo.mmdb: libmaxminddb:"), std::string::npos)
      << db.status().message();
}

// Every corrupt database: an error naming the file, or lookups that never crash.
void ExerciseOrExpectError(const std::string& path, int* errors, int* opened) {
  auto db = GeoDatabase::Open(path);
  if (!db.ok()) {
    ++*errors;
    EXPECT_EQ(db.status().message().rfind(path + ": ", 0), 0u) << db.status().message();
    EXPECT_GT(db.status().message().size(), path.size() + 10) << db.status().message();
    return;
  }
  ++*opened;
  auto svc = GeoService::Create({db.value()});
  const char* ips[] = {"1.1.1.1", "1.2.3.4", "81.2.69.142", "255.255.255.255", "0.0.0.0",
                       "::1", "2001:218::", "ffff::1", "::ffff:1.1.1.1"};
  for (const char* ip : ips) {
    uint32_t off;
    if (db.value()->Lookup(Addr(ip).get(), &off)) {
      mmdb::Entry e;
      db.value()->data().Path(off, {"country", "iso_code"}, &e);
      db.value()->data().Path(off, {"subdivisions", "#0", "iso_code"}, &e);
      db.value()->data().Path(off, {"a", "b", "c"}, &e);
    }
  }
  // Every address prefix in the IPv4 space walks the tree differently.
  for (uint32_t i = 0; i < 4096; ++i) {
    sockaddr_in s4{};
    s4.sin_family = AF_INET;
    s4.sin_addr.s_addr = htonl(i << 20 | i);
    uint32_t off;
    if (db.value()->Lookup(reinterpret_cast<sockaddr*>(&s4), &off)) {
      mmdb::Entry e;
      std::string_view s;
      if (db.value()->data().Path(off, {"city", "names", "en"}, &e)) db.value()->data().AsString(e, &s);
    }
  }
}

TEST(GeoDatabase, EveryBadDatabaseFailsCleanly) {
  int errors = 0, opened = 0, files = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(MaxmindTest("bad-data"))) {
    if (entry.path().extension() != ".mmdb") continue;
    SCOPED_TRACE(entry.path().string());
    ++files;
    ExerciseOrExpectError(entry.path().string(), &errors, &opened);
  }
  EXPECT_GE(files, 20);
  // Most of them are structurally corrupt and must be refused at load.
  EXPECT_GE(errors, 15) << "opened " << opened;
}

TEST(GeoDatabase, BrokenTestDatabasesBesideThem) {
  for (const char* f : {"MaxMind-DB-test-broken-pointers-24.mmdb",
                        "MaxMind-DB-test-broken-search-tree-24.mmdb",
                        "GeoIP2-City-Test-Broken-Double-Format.mmdb"}) {
    SCOPED_TRACE(f);
    int errors = 0, opened = 0;
    ExerciseOrExpectError(MaxmindTest(f), &errors, &opened);
  }
  // Broken pointers are refused at load, with the reason. (The broken search tree stays
  // inside the tree and data bounds: it opens, and its lookups are safe.)
  auto p = GeoDatabase::Open(MaxmindTest("MaxMind-DB-test-broken-pointers-24.mmdb"));
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("data"), std::string::npos) << p.status().message();
}

TEST(GeoDatabase, TruncatedCopiesFailCleanly) {
  std::ifstream in(MaxmindTest("GeoIP2-City-Test.mmdb"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 1000u);
  const std::string tmp = ::testing::TempDir() + "/truncated-" + std::to_string(getpid()) + ".mmdb";
  int errors = 0, opened = 0;
  for (size_t len : {size_t{0}, size_t{16}, bytes.size() / 3, bytes.size() / 2, bytes.size() - 100,
                     bytes.size() - 1}) {
    std::ofstream(tmp, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(len));
    SCOPED_TRACE(len);
    ExerciseOrExpectError(tmp, &errors, &opened);
  }
  EXPECT_EQ(opened, 0);
  // Flipped bytes in the data section: error or safe lookups, never a crash.
  for (size_t pos = bytes.size() / 2; pos < bytes.size() - 200; pos += 97) {
    std::string copy = bytes;
    copy[pos] = static_cast<char>(copy[pos] ^ 0xA5);
    std::ofstream(tmp, std::ios::binary).write(copy.data(), static_cast<std::streamsize>(copy.size()));
    ExerciseOrExpectError(tmp, &errors, &opened);
  }
  std::remove(tmp.c_str());
}

}  // namespace
}  // namespace tailor
