// Request-signal families: UA classification (uncached scan and cache hit), referrer
// classification, profile cookie verify+decode, Accept-Language lookup, and one full
// device+referrer+visitor evaluation through the registry.
#include <algorithm>
#include <array>
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "core/file.h"
#include "signals/device_classifier.h"
#include "signals/language.h"
#include "signals/referrer_classifier.h"
#include "core/signal_registry.h"
#include "signals/visitor_profile.h"

namespace tailor {
namespace {

// The lines of a corpus file (none when it cannot be read, or holds more than 1 GiB).
std::vector<std::string> ReadLines(const std::string& path) {
  std::vector<std::string> lines;
  Result<std::string> text = ReadFileLimited(path, size_t{1} << 30);
  if (!text.ok()) return lines;
  std::string_view rest = text.value();
  while (!rest.empty()) {
    size_t end = rest.find('\n');
    lines.emplace_back(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  }
  return lines;
}

// The real-world UAs of the unit-test set (signals/testdata/user_agents.tsv).
const std::vector<std::string>& TestUserAgents() {
  static const std::vector<std::string> uas = [] {
    std::vector<std::string> out;
    for (const std::string& line :
         ReadLines(std::string(TAILOR_SOURCE_DIR) + "/signals/testdata/user_agents.tsv")) {
      if (line.empty() || line[0] == '#') continue;
      size_t a = line.find('\t'), b = line.find('\t', a + 1), c = line.find('\t', b + 1);
      if (c != std::string::npos && c + 1 < line.size()) out.push_back(line.substr(c + 1));
    }
    return out;
  }();
  return uas;
}

const DeviceClassifier& Device() {
  static auto c = DeviceClassifier::Create();
  return *c.value();
}

// Classifies uas in turn: "uncached", each call misses the per-thread UA cache (a UA the
// worker has not seen) and takes the fast path when it can; or always through the full scan.
// The part memo is warm, as in a worker that has seen these devices and crawlers before (a new
// browser version or another browser on the same phone); BM_DeviceClassifyUncachedNewDevice
// and BM_DeviceClassifyUncachedNewCrawler measure a device or a crawler never seen.
void ClassifyInTurn(benchmark::State& state, const std::vector<std::string>& uas, bool by_scan) {
  auto ws = Device().NewWorkspace();
  size_t i = 0;
  for (auto _ : state) {
    const std::string& ua = uas[i++ % uas.size()];
    benchmark::DoNotOptimize(by_scan ? Device().ClassifyByScan(ua, {}, *ws.value())
                                     : Device().ClassifyUncached(ua, {}, *ws.value()));
  }
  state.counters["uas"] = static_cast<double>(uas.size());
}

// TAILOR_BENCH_UA_CORPUS=FILE ("LABEL<TAB>UA" lines, e.g. the corpus signals/README builds
// from public npm packages, or a site's own UAs): the same, uncached, over that mix, warmed
// by one pass as a worker that has seen the traffic's devices. Skipped without the variable.
void BM_DeviceClassifyUncachedCorpus(benchmark::State& state) {
  const char* file = std::getenv("TAILOR_BENCH_UA_CORPUS");
  std::vector<std::string> uas;
  if (file != nullptr) {
    for (const std::string& line : ReadLines(file)) {
      size_t tab = line.find('\t');
      if (tab != std::string::npos && tab + 1 < line.size()) uas.push_back(line.substr(tab + 1));
    }
  }
  if (uas.empty()) {
    state.SkipWithError("set TAILOR_BENCH_UA_CORPUS to a LABEL<TAB>UA file");
    return;
  }
  auto ws = Device().NewWorkspace();
  size_t fast = 0;
  for (const std::string& ua : uas) {
    DeviceClassifier::Features f;
    fast += Device().FastPathFeatures(ua, *ws.value(), &f);
  }
  size_t i = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(Device().ClassifyUncached(uas[i++ % uas.size()], {}, *ws.value()));
  state.counters["uas"] = static_cast<double>(uas.size());
  state.counters["fast_share"] = static_cast<double>(fast) / static_cast<double>(uas.size());
}
BENCHMARK(BM_DeviceClassifyUncachedCorpus);

// The test-set UAs the fast path accepts: the common browsers, made of known tokens only
// (desktop Chrome, Edge, Firefox, Safari; iOS Safari, Chrome, Google app; Android's reduced
// Chrome UA; Firefox for Android), and those with a free part the memo knows (Android
// browsers and webviews naming their device, TVs, consoles, crawlers of a browser's shape).
const std::vector<std::string>& FastPathUserAgents(bool with_part) {
  static const auto split = [] {
    std::array<std::vector<std::string>, 2> out;  // [has a free part]
    auto ws = Device().NewWorkspace();
    DeviceClassifier::Features f;
    for (const std::string& ua : TestUserAgents()) {
      auto lookups = [&] { return ws.value()->part_hits() + ws.value()->part_misses(); };
      uint64_t before = lookups();
      if (Device().FastPathFeatures(ua, *ws.value(), &f)) out[lookups() != before].push_back(ua);
    }
    return out;
  }();
  return split[with_part];
}

// Each mix uncached and through the full scan (what the fast path saves), registered as
// BM_DeviceClassifyUncached<Mix> and BM_DeviceClassifyByScan<Mix>: the test set's 81 UAs of
// every class (no suffix), its common browsers, its UAs with a free part the memo knows.
const bool kDeviceMixesRegistered = [] {
  struct Mix {
    const char* suffix;
    const std::vector<std::string>& (*uas)();
  };
  using Uas = const std::vector<std::string>&;
  const Mix mixes[] = {{"", TestUserAgents},
                       {"CommonBrowsers", []() -> Uas { return FastPathUserAgents(false); }},
                       {"KnownPart", []() -> Uas { return FastPathUserAgents(true); }}};
  for (const Mix& mix : mixes)
    for (bool by_scan : {false, true}) {
      std::string name = std::string("BM_DeviceClassify") + (by_scan ? "ByScan" : "Uncached") +
                         mix.suffix;
      benchmark::RegisterBenchmark(name.c_str(), [mix, by_scan](benchmark::State& state) {
        ClassifyInTurn(state, mix.uas(), by_scan);
      });
    }
  return true;
}();

// An Android UA whose device the worker has never seen: 32768 distinct models cycle through
// the 4096-entry memo, so every call scans the model part.
void BM_DeviceClassifyUncachedNewDevice(benchmark::State& state) {
  std::vector<std::string> uas;
  for (int m = 0; m < 32768; ++m)
    uas.push_back("Mozilla/5.0 (Linux; Android 14; SM-A" + std::to_string(1000 + m) +
                  "B Build/UP1A.231005.007) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36");
  auto ws = Device().NewWorkspace();
  size_t i = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(Device().ClassifyUncached(uas[i++ % uas.size()], {}, *ws.value()));
  const uint64_t hits = ws.value()->part_hits(), misses = ws.value()->part_misses();
  state.counters["memo_hit_share"] =
      static_cast<double>(hits) / static_cast<double>(std::max<uint64_t>(1, hits + misses));
}
BENCHMARK(BM_DeviceClassifyUncachedNewDevice);

// A crawler of a browser's shape the worker has never seen: 32768 distinct comments cycle
// through the memo, so every call scans the comment part.
void BM_DeviceClassifyUncachedNewCrawler(benchmark::State& state) {
  std::vector<std::string> uas;
  for (int m = 0; m < 32768; ++m)
    uas.push_back("Mozilla/5.0 (compatible; ExampleBot" + std::to_string(m) +
                  "/2.1; +http://www.example.com/bot.html)");
  auto ws = Device().NewWorkspace();
  size_t i = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(Device().ClassifyUncached(uas[i++ % uas.size()], {}, *ws.value()));
}
BENCHMARK(BM_DeviceClassifyUncachedNewCrawler);

void BM_DeviceClassifyUncachedChromeDesktop(benchmark::State& state) {
  const std::string ua =
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/124.0.0.0 Safari/537.36";
  auto ws = Device().NewWorkspace();
  for (auto _ : state) benchmark::DoNotOptimize(Device().ClassifyUncached(ua, {}, *ws.value()));
}
BENCHMARK(BM_DeviceClassifyUncachedChromeDesktop);

void BM_DeviceClassifyCached(benchmark::State& state) {
  const auto& uas = TestUserAgents();
  auto ws = Device().NewWorkspace();
  for (const auto& ua : uas) Device().Classify(ua, {}, *ws.value());
  size_t i = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(Device().Classify(uas[i++ % uas.size()], {}, *ws.value()));
}
BENCHMARK(BM_DeviceClassifyCached);

void BM_ReferrerClassify(benchmark::State& state) {
  static const ReferrerClassifier classifier;
  const char* referers[] = {"https://www.google.com/search?q=red+running+shoes",
                            "https://l.facebook.com/l.php?u=https%3A%2F%2Fshop.example.com",
                            "https://news.example-blog.org/2024/05/best-shoes",
                            "https://shop.example.com/cart", "https://chatgpt.com/"};
  alignas(16) char buf[4096];
  size_t i = 0;
  for (auto _ : state) {
    Arena arena(buf, sizeof buf);
    benchmark::DoNotOptimize(classifier.Classify(referers[i++ % 5], "shop.example.com",
                                                 "utm_campaign=x&page=2", {}, arena));
  }
}
BENCHMARK(BM_ReferrerClassify);

void BM_ReferrerClassifyWithDatabase(benchmark::State& state) {
  static ReferrerClassifier* classifier = [] {
    auto* c = new ReferrerClassifier();
    Diagnostics d;
    c->LoadDatabaseFile(std::string(TAILOR_SOURCE_DIR) + "/../shared/data/referers/referers.yml",
                        d);
    return c;
  }();
  alignas(16) char buf[4096];
  for (auto _ : state) {
    Arena arena(buf, sizeof buf);
    benchmark::DoNotOptimize(classifier->Classify("https://www.google.co.uk/search?q=boots",
                                                  "shop.example.com", "", {}, arena));
  }
}
BENCHMARK(BM_ReferrerClassifyWithDatabase);

void BM_ProfileVerifyDecode(benchmark::State& state) {
  auto codec = ProfileCodec::Create("0123456789abcdef0123456789abcdef", {});
  VisitorProfile p{};
  ProfileUpdate u;
  u.now_ms = 1767225600000LL;
  u.medium = Medium::kSearch;
  u.source = "google";
  codec.value()->Update(&p, true, u);
  char cookie[kMaxProfileCookie];
  size_t n = codec.value()->Encode(p, cookie, sizeof cookie);
  std::string_view value(cookie, n);
  VisitorProfile out;
  for (auto _ : state) benchmark::DoNotOptimize(codec.value()->Decode(value, &out));
}
BENCHMARK(BM_ProfileVerifyDecode);

void BM_ProfileUpdateEncode(benchmark::State& state) {
  auto codec = ProfileCodec::Create("0123456789abcdef0123456789abcdef", {});
  VisitorProfile p{};
  ProfileUpdate u;
  u.now_ms = 1767225600000LL;
  codec.value()->Update(&p, true, u);
  char cookie[kMaxProfileCookie];
  for (auto _ : state) {
    u.now_ms += 1000;
    codec.value()->Update(&p, false, u);
    benchmark::DoNotOptimize(codec.value()->Encode(p, cookie, sizeof cookie));
  }
}
BENCHMARK(BM_ProfileUpdateEncode);

void BM_LanguageMatch(benchmark::State& state) {
  auto m = LanguageMatcher::Create({"fr", "en", "de", "es", "it"}, "en");
  for (auto _ : state)
    benchmark::DoNotOptimize(m.value()->Match("de-CH,de;q=0.9,en-US;q=0.8,en;q=0.7,*;q=0.5"));
}
BENCHMARK(BM_LanguageMatch);

}  // namespace
}  // namespace tailor
