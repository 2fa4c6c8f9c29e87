#include "geo/geo_reloader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "geo/geo_test_util.h"

namespace tailor {
namespace {

using testing::Addr;
using testing::MaxmindTest;
namespace fs = std::filesystem;

std::string Country(const GeoService& svc, const char* ip) {
  GeoLookupState st{};
  Value v = svc.Get(Addr(ip).get(), GeoField::kCountry, &st, nullptr);
  return v.missing() ? "-" : std::string(v.str);
}

// Replaces `dst` atomically (as deployment tools do) with `src`'s bytes, optionally cut.
void Install(const std::string& src, const std::string& dst, size_t cut = 0) {
  std::ifstream in(src, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (cut) bytes.resize(cut);
  const std::string tmp = dst + ".tmp";
  std::ofstream(tmp, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  fs::rename(tmp, dst);
}

class GeoReloaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/geo-reload-" + std::to_string(getpid());
    fs::create_directories(dir_);
    path_ = dir_ + "/city.mmdb";
    Install(testing::DemoDb(), path_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_, path_;
};

TEST_F(GeoReloaderTest, SwapsRejectsAndKeepsOldSnapshotsAlive) {
  auto r = GeoReloader::Create(std::vector<std::string>{path_});
  ASSERT_TRUE(r.ok()) << r.status().message();
  GeoReloader& geo = *r.value();
  EXPECT_TRUE(geo.Poll().empty());
  std::shared_ptr<const GeoService> held = geo.Current();  // an in-flight request
  EXPECT_EQ(Country(*held, "198.51.100.7"), "FR");
  EXPECT_EQ(Country(*held, "81.2.69.142"), "-");

  // A corrupt (truncated) replacement: rejected, old data stays, reason reported.
  Install(MaxmindTest("GeoIP2-City-Test.mmdb"), path_, 5000);
  auto reports = geo.Wait();
  if (reports.empty()) reports = geo.Poll(), reports = geo.Wait();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].event.outcome, ReloadOutcome::kRejected);
  EXPECT_NE(reports[0].event.message.find(path_), std::string::npos) << reports[0].event.message;
  EXPECT_EQ(geo.Current(), held);
  EXPECT_TRUE(geo.Poll().empty());  // the same bad version is not retried
  EXPECT_TRUE(geo.Wait().empty());

  // A good replacement: swapped in for new requests; the held snapshot still works.
  Install(MaxmindTest("GeoIP2-City-Test.mmdb"), path_);
  geo.Poll();
  reports = geo.Wait();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].event.outcome, ReloadOutcome::kSwapped);
  EXPECT_NE(geo.Current(), held);
  EXPECT_EQ(Country(*geo.Current(), "81.2.69.142"), "GB");
  EXPECT_EQ(Country(*held, "198.51.100.7"), "FR");  // old mapping still valid while held
  std::weak_ptr<const GeoService> old = held;
  held.reset();
  EXPECT_TRUE(old.expired());  // released when the last request lets go

  // A database of another kind is refused.
  Install(MaxmindTest("GeoLite2-ASN-Test.mmdb"), path_);
  geo.Poll();
  reports = geo.Wait();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].event.outcome, ReloadOutcome::kRejected);
  EXPECT_NE(reports[0].event.message.find("ASN"), std::string::npos);
  EXPECT_EQ(Country(*geo.Current(), "81.2.69.142"), "GB");
}

TEST_F(GeoReloaderTest, PollNeverBlocksAndLookupsContinueDuringReload) {
  auto r = GeoReloader::Create(std::vector<std::string>{path_});
  ASSERT_TRUE(r.ok());
  GeoReloader& geo = *r.value();
  Install(MaxmindTest("GeoIP2-City-Test.mmdb"), path_);
  int lookups = 0;
  bool swapped = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!swapped && std::chrono::steady_clock::now() < deadline) {
    for (const GeoReloadReport& rep : geo.Poll()) swapped |= rep.event.outcome == ReloadOutcome::kSwapped;
    std::string c = Country(*geo.Current(), swapped ? "81.2.69.142" : "198.51.100.7");
    EXPECT_TRUE(c == (swapped ? "GB" : "FR")) << c;
    ++lookups;
  }
  EXPECT_TRUE(swapped);
  EXPECT_GT(lookups, 0);
}

TEST_F(GeoReloaderTest, FilesWithoutAutoReloadAreNotPolled) {
  const std::string asn = dir_ + "/asn.mmdb";
  Install(MaxmindTest("GeoLite2-ASN-Test.mmdb"), asn);
  std::vector<std::string> paths{path_, asn};
  const bool flags[] = {false, true};
  auto r = GeoReloader::Create(paths, flags);
  ASSERT_TRUE(r.ok()) << r.status().message();
  Install(MaxmindTest("GeoIP2-City-Test.mmdb"), path_);  // changed, but not polled
  Install(MaxmindTest("GeoLite2-ASN-Test.mmdb"), asn);   // a new inode: reloaded
  r.value()->Poll();
  auto reports = r.value()->Wait();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].path, asn);
  EXPECT_EQ(Country(*r.value()->Current(), "198.51.100.7"), "FR");
  EXPECT_NE(r.value()->Current()->database(GeoDbKind::kAsn), nullptr);
}

TEST_F(GeoReloaderTest, ConfigTimeErrorsNameTheFile) {
  Install(MaxmindTest("GeoIP2-City-Test.mmdb"), path_, 3000);
  auto r = GeoReloader::Create(std::vector<std::string>{path_});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind(path_ + ": ", 0), 0u) << r.status().message();
}

}  // namespace
}  // namespace tailor
