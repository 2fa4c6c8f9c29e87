#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

#include "signals/language.h"
#include "signals/signal_registry.h"

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
