// Evaluation allocates nothing: this binary replaces the global operator new and counts every
// allocation made while an Evaluator decides a request.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "rules_test_util.h"

namespace {
std::atomic<long> g_allocations{0};
std::atomic<bool> g_counting{false};
}  // namespace

void* operator new(std::size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, std::align_val_t a) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  size_t align = static_cast<size_t>(a);
  if (void* p = std::aligned_alloc(align, (n + align - 1) / align * align)) return p;
  throw std::bad_alloc();
}
// The nothrow forms too (std::stable_sort's temporary buffer uses them): otherwise they come
// from the runtime and their memory is freed here (ASan: alloc-dealloc-mismatch).
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace tailor {
namespace {

constexpr const char* kRules = R"RULES(
segment from_email = query("utm_medium") == "email"
segment beta = cookie("beta") == "1" or header("X-Beta") in_ci ["yes", "1", "on", "true", "y", "oui", "ja", "si", "da", "hai"]
segment mobile = header("User-Agent") matches_ci "(iphone|android|mobile)"
segment bot = header("User-Agent") matches "[Bb]ot|crawler|spider"
segment fr = t.country in ["FR", "BE", "CH", "LU", "MC"] and not bot
segment num = t.num between 1 and 10 or t.num in [42, 43]
segment tags = t.tags contains "red"
segment vip_mobile = beta and mobile
score intent {
  +10 when t.num >= 3
  +25 when from_email
  -5 when header("Save-Data") == "on"
  bands low < 20 <= medium < 50 <= high
}
segment hot = intent == "high" or intent.points > 30
page "/" {
  variant "home-email" when from_email
  variant "home-beta" when beta and not bot
  variant "home-hot" when hot
  default "home"
}
page "/shop/*" { variant "shop-mobile" when vip_mobile or mobile  default "shop" }
page matches "^/p/[0-9]+$" { variant "p-fr" when fr  default "p" }
goal order when path == "/shop/a" or from_email value query("x")
goal shop when path starts_with "/shop/" value t.num
goal seen when true
)RULES";

TEST(AllocTest, EvaluationAllocatesNothing) {
  RulesFixture f(kRules);
  ASSERT_TRUE(f.rules) << f.errors();
  std::vector<TestRequest> requests(4);
  requests[0].url = "/?utm_medium=email&x=12.5";
  requests[0].headers = {{"Cookie", "beta=1; a=b%20c"}, {"User-Agent", "Mozilla (iPhone)"}};
  requests[1].url = "/shop/a";
  requests[1].headers = {{"X-Beta", "YES"}, {"User-Agent", "Android 14 Mobile"}, {"X-Num", "5"}};
  requests[2].url = "/p/123";
  requests[2].headers = {{"X-Country", "BE"}, {"X-Tags", "1"}, {"User-Agent", "Googlebot"}};
  requests[3].url = "/nothing";
  long total_segments = 0;
  for (const TestRequest& r : requests) {
    RequestHarness h(*f.rules, r);  // allocates the request's buffers (the caller's job)
    alignas(16) static char state[1 << 16];
    ASSERT_LE(f.rules->state_size(), sizeof state);
    g_allocations = 0;
    g_counting = true;
    Evaluator ev(*f.rules, h.env(), state);
    Decision d = ev.Decide();
    std::string_view segs = ev.SegmentList();
    double points = ev.ScorePoints(0);
    std::string_view band = ev.ScoreBand(0);
    std::string_view goals = ev.GoalList();
    g_counting = false;
    EXPECT_EQ(g_allocations.load(), 0) << r.url;
    total_segments += static_cast<long>(segs.size()) + d.variant.size() + band.size() +
                      static_cast<long>(points) + goals.size();
  }
  EXPECT_GT(total_segments, 0);
}

TEST(AllocTest, TheCounterWorks) {
  g_allocations = 0;
  g_counting = true;
  auto* p = new std::string(100, 'x');
  g_counting = false;
  delete p;
  EXPECT_GE(g_allocations.load(), 1);
}

}  // namespace
}  // namespace tailor
