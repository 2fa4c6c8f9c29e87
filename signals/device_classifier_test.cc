#include "signals/device_classifier.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "signals/signal_registry.h"

namespace tailor {
namespace {

const DeviceClassifier& Classifier() {
  static auto c = DeviceClassifier::Create();
  EXPECT_TRUE(c.ok()) << c.status().message();
  return *c.value();
}

struct Labelled {
  std::string type, os, browser, ua;
  int line;
};

std::vector<Labelled> LoadTestSet() {
  std::ifstream in(std::string(TAILOR_SOURCE_DIR) + "/signals/testdata/user_agents.tsv");
  EXPECT_TRUE(in.good());
  std::vector<Labelled> out;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty() || line[0] == '#') continue;
    Labelled l;
    l.line = n;
    size_t a = line.find('\t'), b = line.find('\t', a + 1), c = line.find('\t', b + 1);
    if (c == std::string::npos) {
      ADD_FAILURE() << "malformed test line " << n;
      continue;
    }
    l.type = line.substr(0, a);
    l.os = line.substr(a + 1, b - a - 1);
    l.browser = line.substr(b + 1, c - b - 1);
    l.ua = line.substr(c + 1);
    out.push_back(l);
  }
  return out;
}

TEST(DeviceClassifier, RealWorldTestSetEveryClass) {
  std::vector<Labelled> set = LoadTestSet();
  std::map<std::string, int> per_class;
  for (const Labelled& l : set) {
    DeviceInfo d = Classifier().Classify(l.ua, {});
    EXPECT_EQ(DeviceTypeName(d.type), l.type) << "line " << l.line << ": " << l.ua;
    if (l.os != "-") {
      EXPECT_EQ(DeviceOsName(d.os), l.os) << "line " << l.line << ": " << l.ua;
    }
    if (l.browser != "-") {
      EXPECT_EQ(BrowserName(d.browser), l.browser) << "line " << l.line << ": " << l.ua;
    }
    EXPECT_EQ(d.bot, l.type == "bot") << l.ua;
    per_class[l.type]++;
  }
  for (const char* t : {"desktop", "smartphone", "tablet", "tv", "console", "wearable", "car",
                        "bot"})
    EXPECT_GE(per_class[t], 3) << "test set needs examples of " << t;
}

TEST(DeviceClassifier, MobileFlag) {
  auto c = [](const char* ua) { return Classifier().Classify(ua, {}); };
  EXPECT_TRUE(c("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
                "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1")
                  .mobile);
  EXPECT_FALSE(c("Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
                 "like Gecko) Version/17.4 Mobile/15E148 Safari/604.1")
                   .mobile);
  EXPECT_FALSE(c("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
                 "Gecko) Chrome/124.0.0.0 Safari/537.36")
                   .mobile);
}

// A request without the header gives a null view (found through nginx: it used to fail open
// to "other" because hs_scan refuses a null pointer).
TEST(DeviceClassifier, MissingUserAgentIsABotLikeAnEmptyOne) {
  DeviceInfo missing = Classifier().Classify(std::string_view(), {});
  DeviceInfo empty = Classifier().Classify(std::string_view(""), {});
  EXPECT_TRUE(missing.bot);
  EXPECT_EQ(missing.type, empty.type);
  EXPECT_TRUE(empty.bot);
}

TEST(DeviceClassifier, ClientHintsWinOverReducedUa) {
  const char* reduced =
      "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/124.0.0.0 Mobile Safari/537.36";
  EXPECT_EQ(Classifier().Classify(reduced, {}).type, DeviceType::kSmartphone);
  ClientHints tablet{"?0", "\"Android\"", "\"SM-X710\""};
  DeviceInfo t = Classifier().Classify(reduced, tablet);
  EXPECT_EQ(t.type, DeviceType::kTablet);
  EXPECT_FALSE(t.mobile);
  ClientHints phone{"?1", "\"Android\"", "\"Pixel 8\""};
  EXPECT_EQ(Classifier().Classify(reduced, phone).type, DeviceType::kSmartphone);
  const char* desktop_reduced =
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/124.0.0.0 Safari/537.36";
  ClientHints mac{"?0", "\"macOS\"", "\"\""};
  DeviceInfo m = Classifier().Classify(desktop_reduced, mac);
  EXPECT_EQ(m.os, DeviceOs::kMacos);
  EXPECT_EQ(m.type, DeviceType::kDesktop);
  // Hints never turn a bot into a browser.
  ClientHints h{"?1", "\"Android\"", ""};
  EXPECT_EQ(Classifier().Classify("Googlebot/2.1 (+http://www.google.com/bot.html)", h).type,
            DeviceType::kBot);
}

TEST(DeviceClassifier, CacheGivesTheSameAnswers) {
  auto ws = Classifier().NewWorkspace();
  ASSERT_TRUE(ws.ok());
  std::vector<Labelled> set = LoadTestSet();
  for (int round = 0; round < 2; ++round)
    for (const Labelled& l : set) {
      DeviceInfo cached = Classifier().Classify(l.ua, {}, *ws.value());
      DeviceInfo fresh = Classifier().ClassifyUncached(l.ua, {}, *ws.value());
      EXPECT_EQ(cached.type, fresh.type);
      EXPECT_EQ(cached.os, fresh.os);
      EXPECT_EQ(cached.browser, fresh.browser);
    }
  EXPECT_GE(ws.value()->hits(), set.size() - 2);
  // Hints are part of the key: same UA, different hints, different answers.
  const char* reduced =
      "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/124.0.0.0 Safari/537.36";
  EXPECT_EQ(Classifier().Classify(reduced, {"?1", "", ""}, *ws.value()).type,
            DeviceType::kSmartphone);
  EXPECT_EQ(Classifier().Classify(reduced, {"?0", "\"Android\"", ""}, *ws.value()).type,
            DeviceType::kTablet);
}

TEST(DeviceClassifier, ThreadsEachUseTheirOwnWorkspace) {
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t, &wrong] {
      ASSERT_TRUE(Classifier().PrepareThread());
      for (int i = 0; i < 2000; ++i) {
        DeviceInfo d = Classifier().Classify(
            i % 2 ? "curl/8.0" : "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) Mobile/15E148");
        if (d.type != (i % 2 ? DeviceType::kBot : DeviceType::kTablet)) wrong[t]++;
      }
    });
  for (auto& th : threads) th.join();
  for (int w : wrong) EXPECT_EQ(w, 0);
}

TEST(DeviceClassifier, ReloadedClassifierGetsItsOwnThreadWorkspace) {
  for (int generation = 0; generation < 3; ++generation) {
    auto c = DeviceClassifier::Create();  // a config reload: a new classifier, maybe same address
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c.value()->Classify("curl/8.0").type, DeviceType::kBot);
    EXPECT_EQ(c.value()->Classify("Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) Mobile/15E148").type,
              DeviceType::kTablet);
  }
}

TEST(DeviceClassifier, HostileInput) {
  std::string huge(10 * 1024, 'A');
  DeviceInfo d = Classifier().Classify(huge, {});
  EXPECT_EQ(d.type, DeviceType::kBot);  // not a browser, not a device
  std::string padded = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile " +
                       std::string(10000, 'x') + " Googlebot";
  EXPECT_EQ(Classifier().Classify(padded, {}).type, DeviceType::kSmartphone);  // scan is capped
  std::string binary("Mozilla/5.0 (\xff\xfe\x00\x01 Windows NT 10.0)", 34);  // NUL inside
  EXPECT_EQ(Classifier().Classify(binary, {}).type, DeviceType::kDesktop);
  EXPECT_EQ(Classifier().Classify("", {}).type, DeviceType::kBot);
  // ClientHints holds views: keep the strings alive (found by ASan).
  std::string quotes(5000, '"'), xs(5000, 'x');
  ClientHints junk{std::string_view("?\xff"), quotes, xs};
  (void)Classifier().Classify("Mozilla/5.0 (Linux; Android 14) Mobile", junk);
}

TEST(DeviceClassifier, Names) {
  DeviceType t;
  for (int i = 0; i < kDeviceTypeCount; ++i) {
    ASSERT_TRUE(ParseDeviceTypeName(DeviceTypeName(static_cast<DeviceType>(i)), &t));
    EXPECT_EQ(static_cast<int>(t), i);
  }
  EXPECT_FALSE(ParseDeviceTypeName("phablet", &t));
}

// Accuracy on a large public corpus, when one is provided (not shipped in the repository):
//   node signals/tools/make_ua_corpus.js /tmp/uacorpus > /tmp/ua.tsv
//   TAILOR_UA_CORPUS=/tmp/ua.tsv ctest -R Accuracy
TEST(DeviceClassifier, AccuracyOnPublicCorpus) {
  const char* path = std::getenv("TAILOR_UA_CORPUS");
  if (path == nullptr) GTEST_SKIP() << "set TAILOR_UA_CORPUS to a LABEL<TAB>UA file";
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << path;
  std::map<std::string, std::pair<long, long>> per;
  long ok = 0, total = 0;
  std::string line;
  while (std::getline(in, line)) {
    size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    std::string label = line.substr(0, tab);
    bool right = DeviceTypeName(Classifier().Classify(line.substr(tab + 1), {}).type) == label;
    per[label].first += right;
    per[label].second++;
    ok += right;
    total++;
  }
  ASSERT_GT(total, 1000);
  double sum = 0;
  for (auto& [label, p] : per) sum += 100.0 * p.first / p.second;
  double overall = 100.0 * ok / total, average = sum / per.size();
  std::printf("accuracy: %.2f %% of %ld UAs, %.2f %% averaged over %zu classes\n", overall, total,
              average, per.size());
  EXPECT_GE(overall, 97.0);
  EXPECT_GE(average, 90.0);
}

TEST(DeviceSignals, ThroughTheRegistry) {
  HeaderField headers[] = {
      {"User-Agent", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
                     "Chrome/124.0.0.0 Safari/537.36"},
      {"Sec-CH-UA-Platform", "\"Android\""},
      {"Sec-CH-UA-Mobile", "?0"}};
  RequestView rv;
  rv.headers = headers;
  Services services;
  services.device = &Classifier();
  alignas(16) char arena_buf[256];
  Arena arena(arena_buf, sizeof arena_buf);
  std::vector<char> memo_buf(SignalRegistry::Builtin().memo_size() + 64, 0);
  RequestMemo memo(memo_buf.data(), memo_buf.size());
  EvalEnv env{rv, services, arena, memo};
  auto eval = [&](const char* name) {
    return SignalRegistry::Builtin().Find(name)->fn(SignalArgs{}, env);
  };
  EXPECT_EQ(eval("device.type").str, "tablet");
  EXPECT_EQ(eval("device.os").str, "android");
  EXPECT_EQ(eval("device.browser").str, "chrome");
  EXPECT_EQ(eval("device.bot").type, ValueType::kBool);
  EXPECT_FALSE(eval("device.bot").boolean);
  EXPECT_FALSE(eval("device.mobile").boolean);
  Services none;
  std::fill(memo_buf.begin(), memo_buf.end(), 0);
  EvalEnv env2{rv, none, arena, memo};
  EXPECT_TRUE(SignalRegistry::Builtin().Find("device.type")->fn(SignalArgs{}, env2).missing());
}

}  // namespace
}  // namespace tailor
