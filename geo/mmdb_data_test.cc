#include "geo/mmdb_data.h"

#include <gtest/gtest.h>

#include <cstring>
#include <unordered_set>
#include <vector>

namespace tailor::mmdb {
namespace {

// Tiny data-section builder (MaxMind DB encoding).
struct Builder {
  std::vector<uint8_t> b;
  void Str(const std::string& s) {
    b.push_back(static_cast<uint8_t>(0x40 | s.size()));  // type 2, size < 29
    b.insert(b.end(), s.begin(), s.end());
  }
  void Map(int n) { b.push_back(static_cast<uint8_t>(0xE0 | n)); }
  void Array(int n) { b.push_back(static_cast<uint8_t>(n)); b.push_back(4); }  // ext 11
  void Ptr(uint32_t p) { b.push_back(static_cast<uint8_t>(0x20 | (p >> 8))); b.push_back(p & 0xFF); }
  void U16(uint16_t v) { b.push_back(0xA2); b.push_back(v >> 8); b.push_back(v & 0xFF); }
  void Bool(bool v) { b.push_back(v ? 1 : 0); b.push_back(7); }  // ext 14
  void Double(double d) {
    b.push_back(0x68);
    uint64_t bits;
    std::memcpy(&bits, &d, 8);
    for (int i = 7; i >= 0; --i) b.push_back(static_cast<uint8_t>(bits >> (8 * i)));
  }
  DataReader Reader() const { return DataReader(b.data(), static_cast<uint32_t>(b.size())); }
};

TEST(MmdbData, PathThroughMapsArraysAndPointers) {
  Builder d;
  d.Str("FR");                        // 0: shared string
  const uint32_t rec = static_cast<uint32_t>(d.b.size());
  d.Map(3);
  d.Str("country"); d.Map(1); d.Str("iso_code"); d.Ptr(0);
  d.Str("subdivisions"); d.Array(2); d.Map(1); d.Str("iso_code"); d.Str("IDF");
  d.Map(1); d.Str("iso_code"); d.Str("75");
  d.Str("location"); d.Map(3); d.Str("latitude"); d.Double(48.85); d.Str("accuracy_radius");
  d.U16(300); d.Str("eu"); d.Bool(true);
  DataReader r = d.Reader();
  Entry e;
  std::string_view s;
  ASSERT_TRUE(r.Path(rec, {"country", "iso_code"}, &e));
  ASSERT_TRUE(r.AsString(e, &s));
  EXPECT_EQ(s, "FR");
  ASSERT_TRUE(r.Path(rec, {"subdivisions", "#1", "iso_code"}, &e));
  ASSERT_TRUE(r.AsString(e, &s));
  EXPECT_EQ(s, "75");
  EXPECT_FALSE(r.Path(rec, {"subdivisions", "#2", "iso_code"}, &e));
  double v;
  ASSERT_TRUE(r.Path(rec, {"location", "latitude"}, &e));
  ASSERT_TRUE(r.AsNumber(e, &v));
  EXPECT_DOUBLE_EQ(v, 48.85);
  ASSERT_TRUE(r.Path(rec, {"location", "accuracy_radius"}, &e));
  ASSERT_TRUE(r.AsNumber(e, &v));
  EXPECT_EQ(v, 300);
  bool b = false;
  ASSERT_TRUE(r.Path(rec, {"location", "eu"}, &e));
  ASSERT_TRUE(r.AsBool(e, &b));
  EXPECT_TRUE(b);
  EXPECT_FALSE(r.Path(rec, {"city"}, &e));
  std::unordered_set<uint32_t> validated;
  std::string why;
  EXPECT_TRUE(r.Validate(rec, &validated, &why)) << why;
}

TEST(MmdbData, RejectsTruncationAtEveryLength) {
  Builder d;
  d.Map(2); d.Str("city"); d.Map(1); d.Str("names"); d.Map(1); d.Str("en"); d.Str("London");
  d.Str("lat"); d.Double(51.5);
  for (size_t len = 0; len < d.b.size(); ++len) {
    DataReader r(d.b.data(), static_cast<uint32_t>(len));
    Entry e;
    EXPECT_FALSE(r.Path(0, {"lat"}, &e) && len < d.b.size()) << len;
    std::unordered_set<uint32_t> validated;
    std::string why;
    EXPECT_FALSE(r.Validate(0, &validated, &why)) << len;
  }
}

TEST(MmdbData, RejectsPointerCyclesAndPointerToPointer) {
  Builder d;
  d.Map(1); d.Str("a"); d.Ptr(0);  // the map contains a pointer to itself
  DataReader r = d.Reader();
  std::unordered_set<uint32_t> validated;
  std::string why;
  EXPECT_FALSE(r.Validate(0, &validated, &why));
  EXPECT_NE(why.find("nesting"), std::string::npos) << why;
  Entry e;
  ASSERT_TRUE(r.Path(0, {"a", "a", "a"}, &e));  // lookups follow a bounded path: no loop

  Builder p;
  p.Ptr(2); p.Ptr(0);
  uint32_t next;
  EXPECT_FALSE(p.Reader().Resolve(0, &e, &next));
}

TEST(MmdbData, RejectsDeepNestingAndBadUtf8) {
  Builder d;
  for (int i = 0; i < 40; ++i) d.Array(1);
  d.Str("x");
  std::unordered_set<uint32_t> validated;
  std::string why;
  EXPECT_FALSE(d.Reader().Validate(0, &validated, &why));
  uint32_t next;
  EXPECT_FALSE(d.Reader().Skip(0, &next));

  Builder u;
  u.Map(1); u.Str("k"); u.Str("\xC3\x28");
  EXPECT_FALSE(u.Reader().Validate(0, &validated, &why));
  EXPECT_NE(why.find("UTF-8"), std::string::npos);
  EXPECT_TRUE(IsValidUtf8("Link\xC3\xB6ping"));
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));  // surrogate
  EXPECT_FALSE(IsValidUtf8("\xC0\x80"));      // overlong
}

TEST(MmdbData, RejectsOversizedCounts) {
  // A map claiming 229 entries in a 2-byte section.
  const uint8_t data[] = {0xFD, 200};
  DataReader r(data, sizeof data);
  Entry e;
  uint32_t next;
  EXPECT_FALSE(r.Header(0, &e, &next));
}

}  // namespace
}  // namespace tailor::mmdb
