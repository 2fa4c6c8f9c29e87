#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

#include "signals/language.h"
#include "core/signal_registry.h"

namespace tailor {
namespace {

struct Env {
  std::vector<HeaderField> headers;
  RequestView rv;
  Services services;
  alignas(16) char arena_buf[256];
  Arena arena{arena_buf, sizeof arena_buf};
  std::vector<char> memo_buf = std::vector<char>(SignalRegistry::Builtin().memo_size() + 64, 0);
  RequestMemo memo{memo_buf.data(), memo_buf.size()};
  EvalEnv env{rv, services, arena, memo};
  Value Eval(const char* name) {
    return SignalRegistry::Builtin().Find(name)->fn(SignalArgs{}, env);
  }
};

// The time signals use the process's zone, loaded once when the registry is first built: pin
// it to UTC before main() runs, so no test can build the registry earlier.
const int kPinUtc = setenv("TZ", "UTC", 1);
class TimeSignals : public ::testing::Test {};

TEST_F(TimeSignals, HourWeekdayDate) {
  Env e;
  e.rv.now_ms = 1767225600000LL + 13 * 3600 * 1000LL + 59 * 60 * 1000LL;  // 2026-01-01 13:59 UTC
  EXPECT_EQ(e.Eval("time.hour").number, 13);
  EXPECT_EQ(e.Eval("time.weekday").str, "thursday");
  EXPECT_EQ(e.Eval("time.date").str, "2026-01-01");
  Env later;
  later.rv.now_ms = 1767225600000LL + 2 * 86400 * 1000LL + 23 * 3600 * 1000LL;
  EXPECT_EQ(later.Eval("time.weekday").str, "saturday");
  EXPECT_EQ(later.Eval("time.hour").number, 23);
  EXPECT_EQ(later.Eval("time.date").str, "2026-01-03");
}

TEST_F(TimeSignals, FullArenaMakesDateMissing) {
  Env e;
  e.arena = Arena(nullptr, 0);
  EXPECT_TRUE(e.Eval("time.date").missing());
  EXPECT_EQ(e.Eval("time.hour").type, ValueType::kNumber);
}

TEST(LangSignal, ThroughTheRegistry) {
  auto m = LanguageMatcher::Create({"fr", "en"}, "en");
  Env e;
  e.headers = {{"Accept-Language", "de-DE,fr;q=0.8"}};
  e.rv.headers = e.headers;
  EXPECT_TRUE(e.Eval("lang").missing());  // no matcher configured
  e.services.languages = m.value().get();
  EXPECT_EQ(e.Eval("lang").str, "fr");
  Env none;
  none.services.languages = m.value().get();
  EXPECT_EQ(none.Eval("lang").str, "en");
}

}  // namespace
}  // namespace tailor

// Every signal of the issue-5 families through the registry, with hostile requests: 10 KB
// headers, invalid UTF-8, malformed URLs, oversized and truncated cookies. Nothing may crash,
// every string must stay within bounds, and the arena is the only memory used.
#include "signals/device_classifier.h"
#include "signals/referrer_classifier.h"
#include "signals/visitor_profile.h"

namespace tailor {
namespace {

TEST(AllSignals, HostileRequests) {
  ReferrerClassifier referrer;
  auto device = DeviceClassifier::Create();
  auto profile = ProfileCodec::Create(std::string(40, 'k'), {});
  auto languages = LanguageMatcher::Create({"fr", "en"}, "en");
  auto interests = InterestSet::Create({{"shoes", {"/shoes/*"}}});
  Services services;
  services.referrer = &referrer;
  services.device = device.value().get();
  services.profile = profile.value().get();
  services.languages = languages.value().get();
  services.interests = interests.value().get();

  std::string big(10 * 1024, 'x');
  std::string bad_utf8 = "\xff\xfe\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc";
  std::string big_bad;
  while (big_bad.size() < 10 * 1024) big_bad += bad_utf8;
  std::vector<std::vector<HeaderField>> requests;
  std::vector<std::string> keep;  // header storage
  auto S = [&](std::string s) -> std::string_view {
    keep.push_back(std::move(s));
    return keep.back();
  };
  keep.reserve(64);
  requests.push_back({{"Referer", S("https://" + big + ".com/?q=" + big)},
                      {"User-Agent", S(big)},
                      {"Accept-Language", S(big)},
                      {"Cookie", S("tailor_profile=" + big)}});
  requests.push_back({{"Referer", S(big_bad)},
                      {"User-Agent", S(big_bad)},
                      {"Accept-Language", S(big_bad)},
                      {"Cookie", S("tailor_profile=" + big_bad)},
                      {"Sec-CH-UA-Model", S(big_bad)},
                      {"Sec-CH-UA-Platform", S(big_bad)}});
  requests.push_back({{"Referer", S("http://[::1")},
                      {"Referer", S("://x")},
                      {"User-Agent", S("")},
                      {"Cookie", S("tailor_profile=AAAA; tailor_profile=" + std::string(399, 'A'))}});
  requests.push_back({{"Referer", S("https://www.google.com/search?q=%ff%fe%00%0a" + big_bad)},
                      {"Accept-Language", S(";q=;,,;;q=0.5,*;q=1,fr;q=0.0001")}});
  for (const char* query : {"utm_source=%ff%fe&utm_medium=%", "gclid", "&&&===&&&"}) {
    for (const auto& headers : requests) {
      RequestView rv;
      rv.host = "shop.example.com";
      rv.path = "/shoes/\xff\xfe";
      rv.query = query;
      rv.headers = headers;
      rv.now_ms = -5;  // a clock before the epoch
      alignas(16) char arena_buf[2048];
      Arena arena(arena_buf, sizeof arena_buf);
      std::vector<char> memo_buf(SignalRegistry::Builtin().memo_size() + 64, 0);
      RequestMemo memo(memo_buf.data(), memo_buf.size());
      EvalEnv env{rv, services, arena, memo};
      for (const SignalDef& def : SignalRegistry::Builtin().all()) {
        bool ours = def.name.starts_with("referrer.") || def.name.starts_with("campaign.") ||
                    def.name.starts_with("device.") || def.name.starts_with("visitor.") ||
                    def.name.starts_with("interest") || def.name.starts_with("time.") ||
                    def.name == "lang" || def.name == "lifecycle";
        if (!ours) continue;
        SignalArgs args;
        args.str = "shoes";
        Value v = def.fn(args, env);
        if (v.type == ValueType::kString) {
          EXPECT_LE(v.str.size(), 512u) << def.name;
        }
        EXPECT_TRUE(v.missing() || v.type == def.type) << def.name;
      }
      EXPECT_LE(arena.used(), arena.capacity());
    }
  }
}

}  // namespace
}  // namespace tailor
