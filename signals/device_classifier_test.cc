#include "signals/device_classifier.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/signal_registry.h"

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

// Android TV sets and boxes that name no TV word, in the forms their firmware sends (model
// codes made up in each family's style), and phones whose names come close.
TEST(DeviceClassifier, AndroidTvSetsAndBoxesByTheirModelNames) {
  auto type = [](const std::string& model, bool mobile) {
    std::string ua = "Mozilla/5.0 (Linux; Android 9; " + model +
                     ") AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 " +
                     (mobile ? "Mobile " : "") + "Safari/537.36";
    return std::string(DeviceTypeName(Classifier().Classify(ua, {}).type));
  };
  const char* tvs[] = {
      "Brandname Shell 536D430XF12_FHD",  // a TV firmware shell and a panel resolution
      "BRANDNAME_shell_V320BJ6_Q01", "BRANDNAME_TV_D3155SH12", "VESTA_SMART_TV Build/NMF26Q",
      "43UQ7500GU",                       // a panel size before the model's letters
      "55LEX_8871_UTS2C", "ELED-50SMART_UHD", "SW-LED43SB300", "Model-9000_UHD",
      "IPTV-BOX Q1", "Brand Smart Box L2", "T95 MAX+", "X96Q", "X96 Max", "MXQ PRO 4K",
      "Beelink GT1", "UGOOS AM6B", "ZIDOO Z9X", "HiSmart 4K ATV4 Build/PTT1.181214.002; wv",
      "MiTV-MSSP1",
      // A panel size in any word of the model, maybe after the maker's series letters.
      "F43F8000QG", "PTV32SS04Z_CIS_BK", "TDTV24BS02H", "LE32CT5515AK", "K43DLJ10US",
      "POLARLINE_K_24PL51TC-SM", "NEKO_LT-43NX8000S", "Horizont 32LE7011D",
      // A TV word ending a word, TV chips, box families.
      "PortalTV", "BeyondTV2", "RealtekATV", "CVTE_MSD338_1G", "Sunwell_T95ZPLUS", "M8S PRO W",
      "NEO-X8-H", "RKM MK902II"};
  for (const char* m : tvs) {
    EXPECT_EQ(type(m, false), "tv") << m;
    EXPECT_EQ(type(m, true), "tv") << m << " (Mobile)";
  }
  const char* phones[] = {"Infinix X6833B", "Infinix Smart 7", "SM-A546B", "2201117TG",
                          "22101316G", "5033X", "Nokia G50", "moto g 5G", "X96 Pro",
                          "Redmi Note 12", "CPH2451", "TECNO KI5k", "itel A70",
                          "PowerShell Phone",
                          // Digits of a diagonal in phones' codes: no capital after them, or
                          // a series without a digit after its letters.
                          "SM-A505FN", "LM-X420", "Infinix X657B", "Lenovo K50a40",
                          "MS50L_4G", "SM-A705F", "LG-X240"};
  for (const char* m : phones) EXPECT_EQ(type(m, true), "smartphone") << m;
  // Not the phones' own form, but still no TV: tablets without "Mobile"; a 4K screen is a TV
  // or a box, but "Mobile" wins over it; a Mobile Internet Device is a tablet whatever its
  // browser says.
  EXPECT_EQ(type("SM-X710", false), "tablet");
  EXPECT_EQ(type("SOLO 4K", false), "tv");
  EXPECT_EQ(type("Omnicast UHD", false), "tv");
  EXPECT_EQ(type("Phone 4K", true), "smartphone");
  EXPECT_EQ(type("MID7015A", true), "tablet");
  EXPECT_EQ(type("TF-MID806G", true), "tablet");
  EXPECT_EQ(type("Lenovo TB-X606F", false), "tablet");
  // Set-top and signage players outside Android, HbbTV's crawler-like form, a TV platform
  // whose name a headset shares.
  auto raw = [](const char* ua) {
    return std::string(DeviceTypeName(Classifier().Classify(ua, {}).type));
  };
  EXPECT_EQ(raw("BrightSign/9.0.110 (XT1144) Mozilla/5.0 (X11; Linux aarch64) "
                "AppleWebKit/537.36 (KHTML, like Gecko) QtWebEngine/5.15.2 "
                "Chrome/87.0.4280.144 Safari/537.36"),
            "tv");
  EXPECT_EQ(raw("Opera/9.80 (Linux mips; ) Presto/2.12.407 Version/12.51 MB95/3.3.6.N "
                "(VENDOR, Si2157LG32, wireless)"),
            "tv");
  EXPECT_EQ(raw("HbbTV/1.1.1 (;;;;) Mozilla/5.0 (compatible; ANTGalio/3.0.2.1.22.43.08; "
                "Linux2.6.18-7.1/7405d0-smp)"),
            "tv");
  EXPECT_EQ(raw("Mozilla/5.0 (Linux armv9; U; en;) AppleWebKit/537.36 (Vendor;visionos;NX;"
                "03.024.00;) CE-HTML/1.0 NETRANGEMMH HbbTV/2.0 (SRAF;Vendor_Gen3;RC_V2;Vendor;"
                "NX;NXGRMR.V03.024.00;tr-TR;Wireless;prod;)"),
            "tv");
  EXPECT_EQ(raw("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
                "Gecko) Chrome/124.0.0.0 Safari/537.36 PowerShell/7.4"),
            "desktop");
}

// What Android UAs without "Mobile" are: an app's HTTP stack on a phone, Android on a PC, a
// head unit; and tablets whose browser says "Mobile" anyway.
TEST(DeviceClassifier, AndroidBeyondTheMobileToken) {
  auto type = [](const char* ua) {
    return std::string(DeviceTypeName(Classifier().Classify(ua, {}).type));
  };
  // Dalvik never says "Mobile": its silence tells nothing, the likelier phone wins, unless a
  // tablet's model or word says otherwise.
  EXPECT_EQ(type("Dalvik/2.1.0 (Linux; U; Android 8.1.0; Twist 2 Fit Build/O11019)"),
            "smartphone");
  EXPECT_EQ(type("Dalvik/2.1.0 (Linux; U; Android 13; SM-X710 Build/TP1A.220624.014)"),
            "tablet");
  EXPECT_EQ(type("Dalvik/2.1.0 (Linux; U; Android 11; Lenovo TB-J606F Build/RP1A.200720.011)"),
            "tablet");
  // A browser without "Mobile" and no model word stays a tablet.
  EXPECT_EQ(type("Mozilla/5.0 (Linux; Android 12; Twist Tab) AppleWebKit/537.36 (KHTML, like "
                 "Gecko) Chrome/120.0.0.0 Safari/537.36"),
            "tablet");
  // Chromebooks' Android runtime, Android-x86 on laptops.
  EXPECT_EQ(type("Mozilla/5.0 (Linux; Android 9; HP Chromebook 14 G5) AppleWebKit/537.36 "
                 "(KHTML, like Gecko) Chrome/104.0.0.0 Safari/537.36"),
            "desktop");
  EXPECT_EQ(type("Mozilla/5.0 (Linux; Android 9; Inspiron 3552) AppleWebKit/537.36 (KHTML, "
                 "like Gecko) Chrome/104.0.0.0 Safari/537.36"),
            "desktop");
  // Head units name their car SoC or system.
  EXPECT_EQ(type("Mozilla/5.0 (Linux; Android 10; QUAD-CORE T3 k2001) AppleWebKit/537.36 "
                 "(KHTML, like Gecko) Chrome/97.0.0.0 Safari/537.36"),
            "car");
  EXPECT_EQ(type("Mozilla/5.0 (Linux; Android 8.1.0; 8227L_demo) AppleWebKit/537.36 (KHTML, "
                 "like Gecko) Chrome/99.0.4844.58 Safari/537.36"),
            "car");
  EXPECT_EQ(type("Mozilla/5.0 (Linux; U; Android 12; en-us; DiLink5.0 For BYD AUTO "
                 "Build/SKQ1.230128.001) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 "
                 "Chrome/91.0.4472.114 Safari/537.36"),
            "car");
  // Tablets whose browser says "Mobile": a tablet model, Yandex's "/apad" mark.
  EXPECT_EQ(type("Mozilla/5.0 (Linux; Android 10; TB-X605LC) AppleWebKit/537.36 (KHTML, like "
                 "Gecko) Chrome/111.0.5563.115 Mobile Safari/537.36"),
            "tablet");
  EXPECT_EQ(type("Mozilla/5.0 (Linux; arm_64; Android 13; T50Pro) AppleWebKit/537.36 (KHTML, "
                 "like Gecko) Chrome/114.0.0.0 YaApp_Android/23.74/apad YaSearchBrowser/23.74/"
                 "apad BroPP/1.0 SA/3 Mobile Safari/537.36"),
            "tablet");
  // A tablet model wins over its maker's name, which phones share.
  EXPECT_EQ(type("Mozilla/5.0 (Linux; Android 13; Redmi Pad SE) AppleWebKit/537.36 (KHTML, "
                 "like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"),
            "tablet");
  EXPECT_EQ(type("Mozilla/5.0 (Linux; Android 9; HUAWEI MediaPad M5 lite) AppleWebKit/537.36 "
                 "(KHTML, like Gecko) Chrome/110.0.0.0 Mobile Safari/537.36"),
            "tablet");
  EXPECT_EQ(type("Dalvik/2.1.0 (Linux; U; Android 12; Redmi Note 11 Build/SKQ1.211103.001)"),
            "smartphone");
  // ...but a phone model next to a tablet-looking one stays a phone.
  EXPECT_EQ(type("Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like "
                 "Gecko) Chrome/124.0.0.0 Mobile Safari/537.36"),
            "smartphone");
}

// Browsers and apps named after a search engine whose crawler is known, and a TV named like a
// crawler's company: visitors, not bots. The crawlers themselves stay bots.
TEST(DeviceClassifier, BrowsersNamedLikeCrawlersAreNotBots) {
  auto c = [](const char* ua) { return Classifier().Classify(ua, {}); };
  const char* visitors[] = {
      "Mozilla/5.0 (Linux; Android 14; XT2343-3 Build/U1TDC34.9-34; wv) AppleWebKit/537.36 "
      "(KHTML, like Gecko) Version/4.0 Chrome/97.0.4692.98 Mobile Safari/537.36 T7/13.56 "
      "SP-engine/2.95.0 baiduboxapp/13.56",
      "Mozilla/5.0 (Linux; Android 8.1.0; SUGAR Y15; Build/OPM1.171019.019; wv) "
      "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/46.0.2490.92 Mobile Safari/537.36 "
      "SogouMSE,SogouMobileBrowser/5.6.2",
      "Mozilla/5.0 (Linux armv7l) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/84.0.4147.140 "
      "Safari/537.36 OPR/46.0.2207.0 OMI/4.21.4.112 Model/Hisense-MT9602 "
      "VIDAA/5.0(MAJESTIC;SmartTV;VS0432FB1;MTK9602/V0000.01.00S.L1206;HD)"};
  for (const char* ua : visitors) EXPECT_FALSE(c(ua).bot) << ua;
  const char* crawlers[] = {
      "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
      "Sogou web spider/4.0(+http://www.sogou.com/docs/help/webmasters.htm#07)",
      "Mozilla/5.0 (compatible; MJ12bot/v1.4.8; http://mj12bot.com/)",
      "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.0; baidu Transcoder;)"};
  for (const char* ua : crawlers) EXPECT_TRUE(c(ua).bot) << ua;
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

// --- The fast path (known token shapes, no scan) must give exactly the scan's features.

std::string Bits(const DeviceClassifier::Features& f) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx:%016llx", static_cast<unsigned long long>(f.bits[1]),
                static_cast<unsigned long long>(f.bits[0]));
  return buf;
}

// Checks one UA the fast path must accept: same features and same answers (with and without
// client hints) as the full scan.
void ExpectFastEqualsScan(const std::string& ua, DeviceClassifier::Workspace& ws) {
  const DeviceClassifier& c = Classifier();
  DeviceClassifier::Features fast;
  if (!c.FastPathFeatures(ua, ws, &fast)) {
    ADD_FAILURE() << "fast path refused a UA made of known shapes: " << ua;
    return;
  }
  DeviceClassifier::Features scan = c.ScanFeatures(ua, ws);
  EXPECT_TRUE(fast == scan) << ua << "\n fast " << Bits(fast) << "\n scan " << Bits(scan);
  EXPECT_TRUE(c.ClassifyUncached(ua, {}, ws) == c.ClassifyByScan(ua, {}, ws)) << ua;
  ClientHints hints{"?0", "\"Android\"", "\"SM-X710\""};
  EXPECT_TRUE(c.ClassifyUncached(ua, hints, ws) == c.ClassifyByScan(ua, hints, ws))
      << ua;
}

// Instances of the placeholders: every digit alone, the numbers some patterns look for
// ("x11", "windows 95/98", "ps4", "pixel 7", "webos/2", "sync 3", "i386", model numbers),
// real versions, and odd runs of dots and underscores.
const std::vector<std::string> kVersions = {
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16",
    "17", "18", "19", "20", "21", "22", "23", "24", "25", "64", "86", "95", "98", "99", "100",
    "360", "386", "486", "586", "686", "500", "918", "1234", "3.5", "4.0", "4.4.2", "5.1.1",
    "6.1", "10.0", "10_15_7", "14_4", "17_4_1", "124.0.6367.88", "537.36", "605.1.15",
    "20100101", "1.2.3.4.5", "9_9", "0.0", "2_", "3.", "7__1", "1..2", "86_64", "2024"};
std::vector<std::string> Builds() {
  std::vector<std::string> out = {"15E148", "21D61", "16A366", "15A5370a", "19H12", "1A1"};
  for (char l = 'a'; l <= 'z'; ++l) {
    if (l == 'x') continue;  // not a build letter: "x11" is read by a pattern
    char upper = static_cast<char>(l - 'a' + 'A');
    out.push_back(std::string("12") + l + "34");
    out.push_back(std::string("1") + upper + "9" + l);
    // Letters before the digits patterns read after one ("x11", "s60", "bb10", "ps4").
    out.push_back(std::string("888") + l + "11888" + l);
    out.push_back(std::string("3") + upper + "60");
    out.push_back(std::string("7") + l + "10" + upper);
    out.push_back(std::string("5") + l + "4");
  }
  return out;
}

// A shape with its placeholders filled; case 0: lowercase, 1: uppercase, 2: alternating.
std::string Instance(std::string_view shape, const std::string& version, const std::string& build,
                     int casing) {
  std::string out;
  for (char t : shape) {
    if (t == '#') out += version;
    else if (t == '@') out += build;
    else out += t;
  }
  for (size_t i = 0; i < out.size(); ++i) {
    bool upper = casing == 1 || (casing == 2 && i % 2 == 0);
    if (upper && out[i] >= 'a' && out[i] <= 'z') out[i] = static_cast<char>(out[i] - 32);
  }
  return out;
}

// Every adjacency two known tokens can have: "(A; B)", "(A) P" (the comment's end and the
// first product), "P Q" between products, and each token first and last; every placeholder
// instance, in three casings.
TEST(DeviceClassifierFastPath, EveryPairOfShapesEqualsTheScan) {
  auto ws = Classifier().NewWorkspace();
  ASSERT_TRUE(ws.ok());
  auto comments = DeviceClassifier::FastPathShapes(true);
  auto products = DeviceClassifier::FastPathShapes(false);
  ASSERT_GE(comments.size(), 10u);
  ASSERT_GE(products.size(), 10u);
  std::vector<std::string> builds = Builds();
  size_t checked = 0;
  for (size_t v = 0; v < kVersions.size(); ++v) {
    const std::string& v1 = kVersions[v];
    const std::string& v2 = kVersions[(v * 7 + 3) % kVersions.size()];
    const std::string& b1 = builds[v % builds.size()];
    const std::string& b2 = builds[(v * 5 + 1) % builds.size()];
    int casing = static_cast<int>(v % 3);
    for (std::string_view a : comments) {
      std::string ia = Instance(a, v1, b1, casing);
      for (std::string_view b : comments) {
        std::string ib = Instance(b, v2, b2, casing);
        ExpectFastEqualsScan("Mozilla/5.0 (" + ia + "; " + ib + ")", *ws.value());
        ++checked;
      }
      for (std::string_view p : products) {
        ExpectFastEqualsScan("Mozilla/5.0 (" + ia + ") " + Instance(p, v2, b2, casing),
                             *ws.value());
        ++checked;
      }
    }
    for (std::string_view p : products)
      for (std::string_view q : products) {
        ExpectFastEqualsScan("Mozilla/5.0 (k) " + Instance(p, v1, b1, casing) + " " +
                                 Instance(q, v2, b2, casing),
                             *ws.value());
        ++checked;
      }
    if (HasFailure()) break;  // one broken shape would report thousands of times
  }
  std::printf("checked %zu pairs\n", checked);
}

// Whole UAs built at random from the known shapes: longer contexts than pairs.
TEST(DeviceClassifierFastPath, RandomUasOfKnownShapesEqualTheScan) {
  auto ws = Classifier().NewWorkspace();
  ASSERT_TRUE(ws.ok());
  auto comments = DeviceClassifier::FastPathShapes(true);
  auto products = DeviceClassifier::FastPathShapes(false);
  std::vector<std::string> builds = Builds();
  std::mt19937 rng(20261129);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  auto version = [&]() -> std::string {
    if (pick(2) == 0) return kVersions[pick(kVersions.size())];
    std::string v(1, static_cast<char>('0' + pick(10)));  // a random run
    for (size_t i = pick(8); i > 0; --i) v += "0123456789._"[pick(12)];
    return v;
  };
  for (int i = 0; i < 30000 && !HasFailure(); ++i) {
    std::string ua = "Mozilla/5.0 (";
    for (size_t n = 1 + pick(6), k = 0; k < n; ++k) {
      if (k > 0) ua += "; ";
      ua += Instance(comments[pick(comments.size())], version(), builds[pick(builds.size())],
                     static_cast<int>(pick(3)));
    }
    ua += ")";
    for (size_t n = pick(9), k = 0; k < n; ++k)
      ua += " " + Instance(products[pick(products.size())], version(),
                           builds[pick(builds.size())], static_cast<int>(pick(3)));
    ExpectFastEqualsScan(ua, *ws.value());
  }
}

// Every test-set UA: when the fast path accepts, it agrees with the scan; and it does accept
// the common browsers (so this fails if the fast path silently stops running).
TEST(DeviceClassifierFastPath, TestSetAgreesAndCommonBrowsersTakeIt) {
  auto ws = Classifier().NewWorkspace();
  ASSERT_TRUE(ws.ok());
  const std::set<std::string> must_accept = {
      "desktop windows chrome",  "desktop windows edge",   "desktop windows firefox",
      "desktop windows ie",      "desktop windows opera",  "desktop windows yandex",
      "desktop macos safari",    "desktop macos chrome",   "desktop macos firefox",
      "desktop linux firefox",   "desktop linux chrome",   "desktop chromeos chrome",
      "smartphone ios safari",   "smartphone ios chrome",  "smartphone ios firefox",
      "smartphone ios google_app", "smartphone android chrome", "smartphone android firefox",
      "tablet ios safari",       "tablet android firefox"};
  int accepted = 0;
  std::set<std::string> seen;
  for (const Labelled& l : LoadTestSet()) {
    DeviceClassifier::Features fast;
    std::string label = l.type + " " + l.os + " " + l.browser;
    if (!Classifier().FastPathFeatures(l.ua, *ws.value(), &fast)) {
      EXPECT_EQ(must_accept.count(label), 0u) << "line " << l.line << " took the scan: " << l.ua;
      continue;
    }
    ++accepted;
    seen.insert(label);
    ExpectFastEqualsScan(l.ua, *ws.value());
  }
  for (const std::string& label : must_accept) EXPECT_EQ(seen.count(label), 1u) << label;
  EXPECT_GE(accepted, 20);
}

// What is not a known shape becomes a free part (scanned alone, memoized), and must give the
// full scan's features like the rest: an unknown comment token and what follows it to ")", an
// unknown product and what follows it to the end.
TEST(DeviceClassifierFastPath, UnknownTokensBecomePartsThatEqualTheScan) {
  auto ws = Classifier().NewWorkspace();
  ASSERT_TRUE(ws.ok());
  const char* parted[] = {
      // A comment part anywhere in the comment, or the whole comment.
      "Mozilla/5.0 (Windows NT 10.0; Touch; Win64; x64) AppleWebKit/537.36",
      "Mozilla/5.0 (X11; CrKey armv7l 1.5.16041) AppleWebKit/537.36",
      "Mozilla/5.0 (Linux; U; Android 4.4.2; en-us; SM-T530 Build/KOT49H) AppleWebKit/534.30",
      "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
      "Mozilla/5.0 (compatible)", "Mozilla/5.0 (compatible; )",
      // Placeholders are bots whichever path reads them (found by the useragent fuzzer).
      "Mozilla/5.0  ", "Mozilla/5.0 (COMPATIBLE)",
      "Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0)",
      "Mozilla/5.0 (Windows NT 10.0;Win64; x64) Chrome/124.0.0.0",
      "Mozilla/5.0 (X12; Linux x86_64) Chrome/124.0.0.0",
      "Mozilla/5.0 (Windows NT 10.0; Win32) Chrome/124.0.0.0",
      "Mozilla/5.0 (Windows NT ; Win64) Chrome/124.0.0.0",
      "Mozilla/5.0 (Linux; Android 9; 43UP75GU) AppleWebKit/537.36",
      "Mozilla/5.0 (Linux; Android 7.0; Moto G (4)) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/109.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse",
      "Mozilla/5.0 (Linux; Android 11; moto g(30)) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/124.0.0.0 Mobile Safari/537.36",
      // No comment: products alone.
      "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; "
      "+https://openai.com/gptbot)",
      "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko)", "Mozilla/5.0 X11",
      "Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) "
      "SamsungBrowser/4.0 Chrome/76.0.3809.146 TV Safari/537.36",
      // A product part: an app or browser token, a crawler's comment after the products.
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/122.0.0.0 Safari/537.36 Vivaldi/6.6.3271.57",
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "HeadlessChrome/124.0.6367.60 Safari/537.36",
      "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, "
      "like Gecko) Chrome/124.0.6367.201 Mobile Safari/537.36 (compatible; Googlebot/2.1; "
      "+http://www.google.com/bot.html)",
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
      "like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/455.0.0.45.109;FBBV/575318062;FBDV/"
      "iPhone14,2;FBMD/iPhone;FBSN/iOS;FBSV/17.4;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]",
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64)  Chrome/124.0.0.0",
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15148",
      // An iOS build with an "x": "888x11888t" holds "x11" (found by the fuzzer); as a part
      // it is scanned, so the pattern sees it.
      "Mozilla/5.0 (iPhone) AppleWebKit/170 Mobile/888x11888t",
      "Mozilla/5.0 (iPhone) AppleWebKit/170 Mobile/888x11888t X11",
  };
  for (const char* ua : parted) ExpectFastEqualsScan(ua, *ws.value());
  EXPECT_GT(ws.value()->part_misses(), 0u);
}

TEST(DeviceClassifierFastPath, OtherShapesTakeTheScan) {
  auto ws = Classifier().NewWorkspace();
  ASSERT_TRUE(ws.ok());
  DeviceClassifier::Features f;
  const char* refused[] = {
      // A comment part holding unbalanced parentheses, a control or non-ASCII byte, none at
      // all, without its ")", or longer than kMaxCommentPart.
      "Mozilla/5.0 (Linux; Android 11; moto g(30) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/124.0.0.0 Mobile Safari/537.36",
      "Mozilla/5.0 (Linux; Android 11; Redmi\x01Note) AppleWebKit/537.36",
      "Mozilla/5.0 (Linux; Android 11; Redmi \xc3\xa9) AppleWebKit/537.36",
      "Mozilla/5.0 (Linux; Android 11; ) AppleWebKit/537.36",
      "Mozilla/5.0 (Linux; Android 11; SM-S918B AppleWebKit/537.36",
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64 Chrome/124.0.0.0",
      "Mozilla/5.0 (Linux; Android 11; SM-S918B Build/UP1A.231005.007 and a comment part that "
      "is longer than the one hundred and twenty-eight bytes the fast path takes in a comment) "
      "AppleWebKit/537.36",
      "Mozilla/5.0 ()",
      // A product part with a control or non-ASCII byte, or longer than kMaxProductPart.
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0.0.0 Caf\xc3\xa9/1.0",
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0.0.0 App/1\t2",
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0.0.0 App/1.0 (a product part "
      "that runs on and on, longer than the one hundred and ninety-two bytes that the fast path "
      "takes after the products it knows; such UAs are rare, and the full scan takes them all)",
      // Structure: no comment, another Mozilla version, no space after the comment, a
      // trailing space.
      "Mozilla/5.0", "Mozilla/5.0 ", "",
      "Mozilla/4.0 (Windows NT 10.0; Win64; x64) Chrome/124.0.0.0",
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64)Chrome/124.0.0.0",
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0.0.0 ",
      // Not a browser's shape at all.
      "curl/8.5.0", "Googlebot-Image/1.0", "Opera/9.80 (Windows NT 6.1) Presto/2.12.388",
  };
  for (const char* ua : refused)
    EXPECT_FALSE(Classifier().FastPathFeatures(ua, *ws.value(), &f)) << ua;
  EXPECT_FALSE(Classifier().FastPathFeatures(std::string_view(), *ws.value(), &f));
  std::string nul("Mozilla/5.0 (Windows NT 10.0; Win64\0; x64) Chrome/1", 51);
  EXPECT_FALSE(Classifier().FastPathFeatures(nul, *ws.value(), &f));
  std::string nul_product("Mozilla/5.0 (Windows NT 10.0; Win64) Chrome/1 A\0B", 49);
  EXPECT_FALSE(Classifier().FastPathFeatures(nul_product, *ws.value(), &f));
  std::string long_ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64)";
  while (long_ua.size() < 2000) long_ua += " Chrome/124.0.0.0";
  EXPECT_FALSE(Classifier().FastPathFeatures(long_ua, *ws.value(), &f));  // beyond the length cap
}

// --- A comment part (scanned alone, memoized) must give the full scan's features too,
// whatever it says and whatever comes before it: real device models after "Android #; ",
// webviews, crawlers' comments, and the words the patterns look for around "(", ";" and ")".
const char* const kModelParts[] = {
    "SM-S918B", "SM-S928B Build/UP1A.231005.007", "SM-S928B Build/UP1A.231005.007; wv",
    "K; wv", "wv", "Pixel 7", "Pixel 8 Pro", "Pixel C", "Pixel Tablet", "Nexus 7", "Nexus 5X",
    "CPH2451", "RMX3085", "2201117TG", "M2101K6G", "V2111", "22101316G", "moto g power 2022",
    "SM-T870", "SM-X710", "SM-R800", "SM-P610 Build/TP1A.220624.014", "KFTRWI", "KFMAWI",
    "AFTMM", "AFTKA Build/PS7633", "BRAVIA 4K VH2", "SHIELD Android TV", "MiTV-AXSO0",
    "MIBOX4", "Chromecast", "Quest 3", "Pacific Build/N2G48H", "TV", "tv", "Android TV",
    "SmartTV", "HbbTV", "Box", "TV Box", "Stick", "watch", "Watch 5", "Galaxy Watch4",
    "Touch", "Tablet", "tab", "Tab", "Mobile", "mobile", "Phone", "bot", "Bot", "Cubot",
    "CUBOT X30", "robot", "agent", "Agent", "agent; wv", "Xbox", "Nintendo", "PS4", "Tesla",
    "Car", "compatible", "compatible; ", "x11", "X11", "Linux x86_64", "Win64", "x64",
    "Windows NT 10.0", "Macintosh", "CrOS x86_64 14541.0.0", "http://example.com",
    "www.example.com", "Build/", "A", "1", "-", "K", "k; K", "Lenovo TB-X606F",
    "HUAWEI BAH3-W09", "MediaPad", "MatePad 11", "Redmi Note 9 Pro", "POCO F5", "vivo 1906",
    "Nokia 6.1", "LG-H870", "LM-Q720", "HONOR ANY-NX1", "TECNO KI5k", "Infinix X6833B",
    "itel A70", "ZTE Blade A72", "OnePlus 11", "ONEPLUS A6013", "SAMSUNG SM-G991B",
    "HarmonyOS", "OpenHarmony 4.0", "KAIOS", "Kindle", "Silk", "Opera Mini", "iPhone",
    "iPad", "BlackBerry", "PlayBook", "Glass 1", "Oculus", "Pico 4", "AAOS", "Automotive",
    "Windows Phone", "IEMobile", "Xiaomi Pad 6", "Redmi Pad", "Surface Duo",
    "sm-t870; tab", "Model; Touch; Tablet PC", "Foo Bot; wv", "stb", "dvb-t",
    // TV model names (the panel size is read by code, not a pattern: it must agree too).
    "43UP75GU", "32LEX_7289", "55LEX-8871/UTS2C", "50U620S Build/PPR2.180905.006.A1; wv",
    "K; 43UP75GU", "65a-1", "42", "99ABC1", "Brand Shell 536D430XF12_FHD", "MiTV-MSSP1",
};

// The comment heads (known tokens) that precede a comment part ("": the part is the whole
// comment, from its "("), and product tails after it.
const char* const kModelHeads[] = {
    "Linux; Android 14", "Linux; Android 10; K", "Android 13", "Linux; Android 9.0.1",
    "Linux; Android 14; Mobile", "Linux; Android 12; Tablet", "X11; Linux; Android 8", "",
    "Windows NT 10.0; Win64; x64", "Macintosh; Intel Mac OS X 10_15_7", "X11; Linux x86_64",
    "iPhone; CPU iPhone OS 17_4 like Mac OS X"};

std::string WithHead(const char* head, const std::string& part) {
  return std::string("Mozilla/5.0 (") + head + (*head != '\0' ? "; " : "") + part + ")";
}
const char* const kModelTails[] = {
    "",
    " AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
    " AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/123.0.6312.118 Safari/537.36",
    " AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile "
    "Safari/537.36",
    " Gecko/125.0 Firefox/125.0"};

TEST(DeviceClassifierFastPath, CommentPartsEqualTheScan) {
  auto ws = Classifier().NewWorkspace();
  ASSERT_TRUE(ws.ok());
  size_t checked = 0;
  for (const char* model : kModelParts)
    for (const char* head : kModelHeads)
      for (const char* tail : kModelTails) {
        ExpectFastEqualsScan(WithHead(head, model) + tail, *ws.value());
        ++checked;
      }
  // Each part was scanned once after "(" and once after "; " (a miss each) and then found in
  // the memo; a few are known tokens ("Mobile", "x64") and need no part.
  EXPECT_LE(ws.value()->part_misses(), 2 * std::size(kModelParts));
  EXPECT_GE(ws.value()->part_misses(), 2 * std::size(kModelParts) - 50);
  EXPECT_GT(ws.value()->part_hits(), checked / 2);
  std::printf("checked %zu UAs\n", checked);
}

// Random comment parts made of the fragments the patterns look for, more distinct ones than
// the memo holds (so slots are overwritten and reused).
TEST(DeviceClassifierFastPath, RandomCommentPartsEqualTheScan) {
  auto ws = Classifier().NewWorkspace();
  ASSERT_TRUE(ws.ok());
  const char* fragments[] = {
      "sm-", "SM-", "t", "p", "x", "r", "g", "a", "s", "870", "918", "9", "1", "0", "b", "B",
      " ", " ", "-", "_", ".", "/", ";", "; ", "tv", "TV", "box", "stick", "tab", "let", "wv",
      "bot", "cu", "agent", "watch", "build", "Build/", "pixel ", "nexus ", "kf", "KF", "AFT",
      "TRWI", "MM", "mi", "pad", "phone", "mobi", "http:", "//", "www.", "compatible",
      "touch", "crkey", "android", "Android", "linux", "x11", "win", "64", "mac", "ios",
      "ipad", "car", "auto", "quest", "xbox", "ps4", "wii", "glass", "gear", "kindle", "silk",
      "opera", "mini", "harmony", "os", "kai", "webos", "tizen", "roku", "dvb", "stb", "mag",
      "256", "cph", "2451", "rmx", "vivo", "lg-", "lm-", "zte", "moto", "poco", "redmi",
      "43", "32", "55", "ULE", "LEX_", "u7", "shell", "_tv_", "fhd", "led", "smart"};
  std::mt19937 rng(20261130);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  int accepted = 0;
  for (int i = 0; i < 30000 && !HasFailure(); ++i) {
    std::string model;
    for (size_t n = 1 + pick(6); n > 0; --n) model += fragments[pick(std::size(fragments))];
    while (model.ends_with(' ') || model.ends_with("; ")) model.pop_back();
    if (model.empty() || model.front() == ' ' || model.ends_with(";")) continue;
    std::string ua = WithHead(kModelHeads[pick(std::size(kModelHeads))], model) +
                     kModelTails[pick(std::size(kModelTails))];
    DeviceClassifier::Features f;
    if (!Classifier().FastPathFeatures(ua, *ws.value(), &f)) continue;  // e.g. "; ;" inside
    ++accepted;
    ExpectFastEqualsScan(ua, *ws.value());
  }
  EXPECT_GT(accepted, 20000);
  EXPECT_GT(ws.value()->part_misses(), DeviceClassifier::kPartEntries);
}

// Random product parts (an unknown product and the rest of the UA) after known products:
// app tokens, crawlers' trailing comments, and the words patterns look for around " ", "(",
// ";" and ")". Each part is new to the memo at first; half of them come back.
TEST(DeviceClassifierFastPath, RandomProductPartsEqualTheScan) {
  auto ws = Classifier().NewWorkspace();
  ASSERT_TRUE(ws.ok());
  auto products = DeviceClassifier::FastPathShapes(false);
  const char* fragments[] = {
      " ", " ", " ", "(", ")", "; ", ";", "/", "1.0", "537.36", "2.1", "+http://", "https://",
      "www.", "compatible; ", "compatible", "Googlebot", "bingbot", "bot", "Bot", "cubot",
      "crawler", "spider", "[FBAN/FBIOS;", "FBAV/455.0", "FB_IAB/FB4A", "Instagram ",
      "Instagram 325.0.0.35.91 (iPhone14,2; iOS 17_4; en_US)", "Line/13.1", "Telegram",
      "Pinterest", "Twitter", "Mobile", "mobile", "Safari/537.36", "Version/4.0", "wv)", "wv",
      "KHTML, like Gecko", "Chrome/", "Vivaldi/6.6", "OPR/", "Edg/", "EdgA/", "SamsungBrowser/",
      "YaBrowser/", "YaApp_Android/21.111/apad", "MiuiBrowser/", "HuaweiBrowser/", "DuckDuckGo/",
      "Whale/", "MQQBrowser/", "GSA/", "UCBrowser/", "TV", "tv", "SmartTV", "HbbTV/1.5.1",
      "Tizen", "webOS", "CrKey", "Xbox", "PlayStation", "Nintendo", "watch", "Quest", "Tesla",
      "QtCarBrowser", "x11", "X11", "Linux x86_64", "Windows NT", "Mac OS X", "iPhone", "iPad",
      "Android", "tablet", "Tablet", "43UP75GU", "; 43UP75GU", "55", "box", "Box", "agent",
      "Agent", "java", "python", "HeadlessChrome", "Electron/28.0", "Steam", "Mail.ru", "-"};
  std::mt19937 rng(20261131);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  std::vector<std::string> parts;
  int accepted = 0;
  for (int i = 0; i < 20000 && !HasFailure(); ++i) {
    std::string part;
    if (!parts.empty() && pick(2) == 0) {
      part = parts[pick(parts.size())];  // a part the memo may know
    } else {
      for (size_t n = 1 + pick(6); n > 0; --n) part += fragments[pick(std::size(fragments))];
      if (part.front() == ' ') continue;
      parts.push_back(part);
    }
    std::string ua = WithHead(kModelHeads[pick(std::size(kModelHeads))], "K");
    for (size_t n = pick(5); n > 0; --n)
      ua += " " + Instance(products[pick(products.size())], kVersions[pick(kVersions.size())],
                           "15E148", static_cast<int>(pick(3)));
    ua += " " + part;
    DeviceClassifier::Features f;
    if (!Classifier().FastPathFeatures(ua, *ws.value(), &f)) continue;  // e.g. a trailing " "
    ++accepted;
    ExpectFastEqualsScan(ua, *ws.value());
  }
  EXPECT_GT(accepted, 15000);
  EXPECT_GT(ws.value()->part_hits(), 5000u);
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
