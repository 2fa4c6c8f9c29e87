#include "experiments/access_log.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <string>
#include <vector>

namespace tailor {
namespace {

TEST(AccessLogTest, ParsesTimes) {
  // Expected values from Python's calendar.timegm((2026, 11, 23, 18, 46, 43)) = 1795459603 s.
  EXPECT_EQ(ParseLogTime("2026-11-23T18:46:43+00:00"), 1795459603000);
  EXPECT_EQ(ParseLogTime("2026-11-23T18:46:43Z"), 1795459603000);
  EXPECT_EQ(ParseLogTime("2026-11-23T18:46:43"), 1795459603000);
  EXPECT_EQ(ParseLogTime("2026-11-23T18:46:43.250+00:00"), 1795459603250);
  EXPECT_EQ(ParseLogTime("2026-11-23T18:46:43+01:00"), 1795456003000);
  EXPECT_EQ(ParseLogTime("2026-11-23T18:46:43-0530"), 1795479403000);
  EXPECT_EQ(ParseLogTime("1795459603.123"), 1795459603123);
  EXPECT_EQ(ParseLogTime("1795459603"), 1795459603000);
  EXPECT_FALSE(ParseLogTime(""));
  EXPECT_FALSE(ParseLogTime("23/Nov/2026:18:46:43 +0000"));
  EXPECT_FALSE(ParseLogTime("2026-11-23T18:46:43+01"));
  EXPECT_FALSE(ParseLogTime("2026-13-23T18:46:43Z"));
  EXPECT_FALSE(ParseLogTime("1795459603."));
  EXPECT_FALSE(ParseLogTime("17954x9603"));
}

TEST(AccessLogTest, ParsesTheDocumentedLine) {
  AccessLogRecord r;
  ASSERT_TRUE(ParseAccessLogLine(
      R"({"time":"2026-11-23T18:46:43+00:00","visitor_hash":"k3Jd9","experiments":"hero:bold,pricing:control","variant":"home-bold","uri":"/shop?a=1","status":"200","ua":"Mozilla \"x\""})",
      &r));
  EXPECT_TRUE(r.has_time);
  EXPECT_EQ(r.time_ms, 1795459603000);
  EXPECT_EQ(r.visitor, "k3Jd9");
  EXPECT_EQ(r.experiments, "hero:bold,pricing:control");
  EXPECT_EQ(r.variant, "home-bold");
  EXPECT_EQ(r.uri, "/shop?a=1");
  EXPECT_EQ(r.status, 200);
}

TEST(AccessLogTest, VisitorHashWinsAndDashIsNone) {
  AccessLogRecord r;
  ASSERT_TRUE(ParseAccessLogLine(
      R"({"time":"1795459603","visitor":"raw","visitor_hash":"hashed"})", &r));
  EXPECT_EQ(r.visitor, "hashed");
  ASSERT_TRUE(ParseAccessLogLine(R"({"time":"1795459603","visitor":"raw","visitor_hash":""})",
                                 &r));
  EXPECT_EQ(r.visitor, "raw");
  ASSERT_TRUE(ParseAccessLogLine(R"({"time":"1795459603","visitor_hash":"-"})", &r));
  EXPECT_EQ(r.visitor, "");
  ASSERT_TRUE(ParseAccessLogLine(R"({"time":1795459603.5,"status":404})", &r));
  EXPECT_EQ(r.time_ms, 1795459603500);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.visitor, "");
}

TEST(AccessLogTest, DecodesEscapesWithoutInvalidatingEarlierFields) {
  AccessLogRecord r;
  ASSERT_TRUE(ParseAccessLogLine(
      R"({"visitor":"a\"b\\c","uri":"/caf\u00e9/\ud83d\ude00\/x","time":"1795459603","experiments":"e:\u0076"})",
      &r));
  EXPECT_EQ(r.visitor, "a\"b\\c");
  EXPECT_EQ(r.uri, "/caf\xc3\xa9/\xf0\x9f\x98\x80/x");
  EXPECT_EQ(r.experiments, "e:v");
}

TEST(AccessLogTest, SkipsNestedValuesAndRejectsBadLines) {
  AccessLogRecord r;
  EXPECT_TRUE(ParseAccessLogLine(
      R"( { "time" : "1795459603" , "extra": {"a":[1,2,{"b":"}"}]}, "n": null, "uri":"/x" } )",
      &r));
  EXPECT_EQ(r.uri, "/x");
  EXPECT_FALSE(ParseAccessLogLine("", &r));
  EXPECT_FALSE(ParseAccessLogLine("not json", &r));
  EXPECT_FALSE(ParseAccessLogLine(R"({"uri":"/x"})", &r));  // no time
  EXPECT_FALSE(ParseAccessLogLine(R"({"time":"yesterday"})", &r));
  EXPECT_FALSE(ParseAccessLogLine(R"({"time":"1795459603","uri":"/x)", &r));
  EXPECT_FALSE(ParseAccessLogLine(R"({"time":"1795459603"} trailing)", &r));
  EXPECT_FALSE(ParseAccessLogLine(R"({"time":"1795459603",})", &r));
  EXPECT_FALSE(ParseAccessLogLine(R"({"time":"1795459603","u":"\q"})", &r));
  EXPECT_FALSE(ParseAccessLogLine(R"({"time":"1795459603","u":"\u12"})", &r));
  std::string deep = R"({"time":"1795459603","x":)" + std::string(100, '[') +
                     std::string(100, ']') + "}";
  EXPECT_FALSE(ParseAccessLogLine(deep, &r));
}

TEST(AccessLogTest, FindsTheExperimentVariant) {
  EXPECT_EQ(FindExperimentVariant("hero:bold,pricing:control", "hero"), "bold");
  EXPECT_EQ(FindExperimentVariant("hero:bold,pricing:control", "pricing"), "control");
  EXPECT_EQ(FindExperimentVariant("hero:bold,pricing:control", "her"), "");
  EXPECT_EQ(FindExperimentVariant("superhero:x,hero:y", "hero"), "y");
  EXPECT_EQ(FindExperimentVariant("", "hero"), "");
  EXPECT_EQ(FindExperimentVariant("hero:", "hero"), "");
}

std::string TempPath(const char* name) {
  return std::string(::testing::TempDir()) + "/" + name + "-" + std::to_string(getpid());
}

std::vector<std::string> ReadAll(const std::string& path, int* too_long, bool* error) {
  auto reader = LogLineReader::Open(path);
  EXPECT_TRUE(reader.ok());
  std::vector<std::string> lines;
  *too_long = 0;
  *error = false;
  if (!reader.ok()) return lines;
  std::string_view line;
  for (;;) {
    auto n = reader.value()->ReadLine(&line);
    if (n == LogLineReader::Next::kEnd) break;
    if (n == LogLineReader::Next::kError) {
      *error = true;
      break;
    }
    if (n == LogLineReader::Next::kTooLong) {
      ++*too_long;
      continue;
    }
    lines.emplace_back(line);
  }
  return lines;
}

TEST(AccessLogTest, ReadsPlainAndGzipLinesAcrossBufferBoundaries) {
  // Enough lines of varied length to cross the 1 MiB read chunk several times, a CRLF line,
  // an over-long line and a last line without '\n'.
  std::string content;
  std::vector<std::string> expected;
  for (int i = 0; i < 60000; ++i) {
    std::string l = "line " + std::to_string(i) + std::string(static_cast<size_t>(i % 53), 'x');
    expected.push_back(l);
    content += l + (i == 7 ? "\r\n" : "\n");
    if (i == 30000) content += std::string(kMaxLogLineLength + 10, 'L') + "\n";
  }
  content += "last";
  expected.push_back("last");

  std::string plain = TempPath("plain.log");
  FILE* f = std::fopen(plain.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fwrite(content.data(), 1, content.size(), f);
  std::fclose(f);
  std::string gz = TempPath("log.gz");
  gzFile g = gzopen(gz.c_str(), "wb");
  ASSERT_NE(g, nullptr);
  gzwrite(g, content.data(), static_cast<unsigned>(content.size()));
  gzclose(g);

  for (const std::string& path : {plain, gz}) {
    int too_long;
    bool error;
    std::vector<std::string> got = ReadAll(path, &too_long, &error);
    EXPECT_FALSE(error) << path;
    EXPECT_EQ(too_long, 1) << path;
    ASSERT_EQ(got.size(), expected.size()) << path;
    for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], expected[i]) << path << " " << i;
  }

  // A truncated gzip file is an error, not a silent end.
  std::string cut = TempPath("cut.gz");
  {
    FILE* in = std::fopen(gz.c_str(), "rb");
    std::string bytes(1 << 16, '\0');
    size_t n = std::fread(bytes.data(), 1, bytes.size(), in);
    std::fclose(in);
    FILE* out = std::fopen(cut.c_str(), "wb");
    std::fwrite(bytes.data(), 1, n / 2, out);
    std::fclose(out);
  }
  int too_long;
  bool error;
  ReadAll(cut, &too_long, &error);
  EXPECT_TRUE(error);

  EXPECT_FALSE(LogLineReader::Open(TempPath("missing")).ok());
  std::remove(plain.c_str());
  std::remove(gz.c_str());
  std::remove(cut.c_str());
}

}  // namespace
}  // namespace tailor
