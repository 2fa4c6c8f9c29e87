// GeoDatabase: opening, kind detection, validation. The bad-data cases run under ASan in the
// sanitizer build (-DTAILOR_SANITIZE=address,undefined): every corrupt file must give an
// error naming the file, or open and then answer lookups without crashing.
#include "geo/geo_database.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fcntl.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

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
  EXPECT_EQ(db.status().message().rfind("/nonexistent/geo.mmdb: cannot open: ", 0), 0u)
      << db.status().message();
  auto dir = GeoDatabase::Open(TAILOR_MAXMIND_TEST_DIR);
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.status().message().find("not a regular file"), std::string::npos)
      << dir.status().message();
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

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Rewrites `path` in place, as `cp new.mmdb live.mmdb` does: same inode, truncated, then the
// new bytes written.
bool RewriteInPlace(const std::string& path, const std::string& bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC);
  if (fd < 0) return false;
  bool ok = ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
  return ::close(fd) == 0 && ok;
}

// The country of `ip` in `db`, "-" when missing.
std::string CountryOf(const GeoDatabase& db, const char* ip) {
  uint32_t off;
  mmdb::Entry e;
  std::string_view s;
  if (!db.Lookup(Addr(ip).get(), &off) || !db.data().Path(off, {"country", "iso_code"}, &e) ||
      !db.data().AsString(e, &s))
    return "-";
  return std::string(s);
}

// An opened database reads a private copy made at Open: the admin's file can be truncated
// and rewritten in place under it. Mapping the file itself, the truncation makes the next
// lookup fault (SIGBUS) and the rewrite shows another file's bytes that were never
// validated. Run in a child process so that such a crash fails this test only.
TEST(GeoDatabase, RewritingTheFileInPlaceLeavesTheOpenedDatabaseAlone) {
  const std::string path =
      ::testing::TempDir() + "/inplace-" + std::to_string(getpid()) + ".mmdb";
  std::ofstream(path, std::ios::binary) << ReadAll(MaxmindTest("GeoIP2-City-Test.mmdb"));
  const std::string asn = ReadAll(MaxmindTest("GeoLite2-ASN-Test.mmdb"));
  ASSERT_GT(asn.size(), 1000u);
  EXPECT_EXIT(
      {
        auto db = GeoDatabase::Open(path);
        if (!db.ok()) {
          std::fprintf(stderr, "open: %s\n", db.status().message().c_str());
          std::exit(2);
        }
        const GeoDatabase& d = *db.value();
        int bad = 0;
        auto check = [&](const char* when) {
          for (auto [ip, want] : {std::pair{"81.2.69.142", "GB"}, {"89.160.20.112", "SE"},
                                  {"216.160.83.56", "US"}, {"1.128.0.0", "-"}}) {
            std::string got = CountryOf(d, ip);
            if (got != want) {
              std::fprintf(stderr, "%s: %s is %s, want %s\n", when, ip, got.c_str(), want);
              ++bad;
            }
          }
        };
        check("opened");
        if (::truncate(path.c_str(), 0) != 0) std::exit(3);
        check("after truncate");
        if (!RewriteInPlace(path, asn)) std::exit(3);
        check("after rewriting another database in place");
        if (d.database_type() != "GeoIP2-City") ++bad;
        std::exit(bad == 0 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
  // The rewritten file opens as what it now is.
  auto now = GeoDatabase::Open(path);
  ASSERT_TRUE(now.ok()) << now.status().message();
  EXPECT_EQ(now.value()->kind(), GeoDbKind::kAsn);
  std::remove(path.c_str());
}

size_t OpenFds() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// The copy lives on in the mapping alone: an open database holds no descriptor, and closing
// it frees the copy.
TEST(GeoDatabase, TheCopyHoldsNoDescriptor) {
  const size_t before = OpenFds();
  {
    std::vector<std::shared_ptr<const GeoDatabase>> dbs;
    for (int i = 0; i < 10; ++i) {
      auto db = GeoDatabase::Open(MaxmindTest("GeoIP2-City-Test.mmdb"));
      ASSERT_TRUE(db.ok()) << db.status().message();
      dbs.push_back(db.value());
    }
    EXPECT_EQ(OpenFds(), before);
    EXPECT_EQ(CountryOf(*dbs.back(), "81.2.69.142"), "GB");
  }
  EXPECT_EQ(OpenFds(), before);
}

// A file rewritten in place while Open reads it: every Open either gives a database that
// passed validation (the old or the new file) or an error naming the file; never a crash.
TEST(GeoDatabase, OpenWhileTheFileIsRewrittenInPlace) {
  const std::string path =
      ::testing::TempDir() + "/rewritten-" + std::to_string(getpid()) + ".mmdb";
  const std::string city = ReadAll(MaxmindTest("GeoIP2-City-Test.mmdb"));
  const std::string asn = ReadAll(MaxmindTest("GeoLite2-ASN-Test.mmdb"));
  std::ofstream(path, std::ios::binary) << city;
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      RewriteInPlace(path, i % 2 ? city : asn);
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  });
  int opened = 0, refused = 0;
  for (int i = 0; i < 200; ++i) {
    auto db = GeoDatabase::Open(path);
    if (!db.ok()) {
      ++refused;
      EXPECT_EQ(db.status().message().rfind(path + ": ", 0), 0u) << db.status().message();
      continue;
    }
    ++opened;
    const GeoDatabase& d = *db.value();
    if (d.kind() == GeoDbKind::kLocation) {
      EXPECT_EQ(CountryOf(d, "81.2.69.142"), "GB");
    } else {
      EXPECT_EQ(d.kind(), GeoDbKind::kAsn);
    }
  }
  stop = true;
  writer.join();
  EXPECT_EQ(opened + refused, 200);
  EXPECT_GT(opened, 0);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace tailor
