// The request path allocates nothing: every issue-5 signal is evaluated with malloc (and so
// operator new) counted. The binary interposes glibc's malloc family; counting is switched on
// only around the evaluation, after the per-thread vectorscan scratch was prepared (worker
// start).
#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

#include "signals/device_classifier.h"
#include "signals/language.h"
#include "signals/referrer_classifier.h"
#include "core/signal_registry.h"
#include "signals/visitor_profile.h"
#include "signals/visitor_signals.h"

// Sanitizers bring their own malloc: the interposition (and so the test) is for plain builds.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TAILOR_NO_MALLOC_HOOK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define TAILOR_NO_MALLOC_HOOK 1
#endif
#endif

namespace {
thread_local bool g_counting = false;
thread_local long g_allocations = 0;
}  // namespace

#ifndef TAILOR_NO_MALLOC_HOOK
extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
}

extern "C" void* malloc(size_t n) {
  if (g_counting) ++g_allocations;
  return __libc_malloc(n);
}
extern "C" void* calloc(size_t a, size_t b) {
  if (g_counting) ++g_allocations;
  return __libc_calloc(a, b);
}
extern "C" void* realloc(void* p, size_t n) {
  if (g_counting) ++g_allocations;
  return __libc_realloc(p, n);
}
extern "C" void* memalign(size_t a, size_t n) {
  if (g_counting) ++g_allocations;
  return __libc_memalign(a, n);
}
extern "C" int posix_memalign(void** out, size_t a, size_t n) {
  if (g_counting) ++g_allocations;
  *out = __libc_memalign(a, n);
  return *out ? 0 : 12;
}
extern "C" void* aligned_alloc(size_t a, size_t n) {
  if (g_counting) ++g_allocations;
  return __libc_memalign(a, n);
}
#endif  // TAILOR_NO_MALLOC_HOOK

namespace tailor {
namespace {

TEST(RequestPath, NoHeapAllocation) {
#ifdef TAILOR_NO_MALLOC_HOOK
  GTEST_SKIP() << "sanitizer build: malloc is the sanitizer's";
#endif
  // The counter sees allocations (the interposition works).
  g_allocations = 0;
  g_counting = true;
  void* probe = std::malloc(64);
  asm volatile("" : : "r"(probe) : "memory");
  std::vector<int>* vec = new std::vector<int>(100);
  g_counting = false;
  delete vec;
  std::free(probe);
  ASSERT_GE(g_allocations, 2);

  // Config time: everything may allocate here.
  ReferrerClassifier referrer;
  auto device = DeviceClassifier::Create();
  ASSERT_TRUE(device.ok());
  ProfileOptions options;
  options.registered.push_back({LifecycleSource::Kind::kCookie, "logged_in"});
  auto profile = ProfileCodec::Create(std::string(40, 'k'), options);
  auto languages = LanguageMatcher::Create({"fr", "en", "de"}, "en");
  auto interests = InterestSet::Create({{"shoes", {"/shoes/*"}}, {"hats", {"/hats/*"}}});
  ASSERT_TRUE(profile.ok() && languages.ok() && interests.ok());
  Services services;
  services.referrer = &referrer;
  services.device = device.value().get();
  services.profile = profile.value().get();
  services.languages = languages.value().get();
  services.interests = interests.value().get();
  const SignalRegistry& registry = SignalRegistry::Builtin();
  // Worker start.
  ASSERT_TRUE(device.value()->PrepareThread());
  ASSERT_TRUE(interests.value()->PrepareThread());

  // A returning visitor's cookie, made at "config time".
  VisitorProfile p{};
  ProfileUpdate u;
  u.now_ms = 1767225600000LL;
  u.medium = Medium::kSearch;
  u.source = "google";
  profile.value()->Update(&p, true, u);
  char cookie[kMaxProfileCookie];
  size_t n = profile.value()->Encode(p, cookie, sizeof cookie);
  // The login marker is signed (the default): its verification runs on the request path.
  std::string cookie_header = "logged_in=" +
                              SignLifecycleValue(std::string(40, 'k'), "registered", "1") +
                              "; tailor_profile=" + std::string(cookie, n);

  HeaderField headers[] = {
      {"User-Agent",
       "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
       "Chrome/124.0.0.0 Safari/537.36"},
      {"Sec-CH-UA-Mobile", "?0"},
      {"Referer", "https://www.google.de/search?q=rote+schuhe&hl=de"},
      {"Accept-Language", "de-CH,de;q=0.9,en;q=0.5"},
      {"Cookie", cookie_header}};
  RequestView rv;
  rv.host = "shop.example.com";
  rv.path = "/shoes/red";
  rv.query = "utm_campaign=spring&utm_content=hero&gclid=abc";
  rv.headers = headers;
  rv.now_ms = 1767225600000LL + 86400000LL * 3;
  alignas(16) char arena_buf[4096];
  std::vector<char> memo_buf(registry.memo_size() + 64, 0);
  char out[kMaxProfileCookie];

  for (int round = 0; round < 3; ++round) {  // round 0 fills the UA cache, later rounds hit it
    Arena arena(arena_buf, sizeof arena_buf);
    std::fill(memo_buf.begin(), memo_buf.end(), 0);
    RequestMemo memo(memo_buf.data(), memo_buf.size());
    EvalEnv env{rv, services, arena, memo};
    int evaluated = 0;
    g_allocations = 0;
    g_counting = true;
    for (const SignalDef& def : registry.all()) {
      bool ours = def.name.starts_with("referrer.") || def.name.starts_with("campaign.") ||
                  def.name.starts_with("device.") || def.name.starts_with("visitor.") ||
                  def.name.starts_with("interest") || def.name.starts_with("time.") ||
                  def.name == "lang" || def.name == "lifecycle";
      if (!ours) continue;
      SignalArgs args;
      args.str = "shoes";
      Value v = def.fn(args, env);
      evaluated += !v.missing();
    }
    size_t len = EncodeRequestProfile(env, out, sizeof out);
    g_counting = false;
    EXPECT_EQ(g_allocations, 0) << "round " << round;
    EXPECT_GT(len, 0u);
    EXPECT_GE(evaluated, 25);
  }

  // The scan-free fast path (a common browser's UA, a cache miss) allocates nothing either.
  const char* chrome =
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/124.0.0.0 Safari/537.36";
  DeviceClassifier::Features features;
  auto probe_ws = device.value()->NewWorkspace();
  ASSERT_TRUE(probe_ws.ok());
  ASSERT_TRUE(device.value()->FastPathFeatures(chrome, *probe_ws.value(), &features));
  g_allocations = 0;
  g_counting = true;
  DeviceInfo d = device.value()->Classify(chrome, {});
  g_counting = false;
  EXPECT_EQ(g_allocations, 0);
  EXPECT_EQ(d.type, DeviceType::kDesktop);

  // An Android UA naming its device (a comment part), a crawler after a browser's products (a
  // product part): each part is scanned on a memo miss, looked up on a hit (a new browser
  // version of the same device); neither allocates.
  const char* galaxy[] = {
      "Mozilla/5.0 (Linux; Android 14; SM-S928B Build/UP1A.231005.007; wv) AppleWebKit/537.36 "
      "(KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.82 Mobile Safari/537.36",
      "Mozilla/5.0 (Linux; Android 14; SM-S928B Build/UP1A.231005.007; wv) AppleWebKit/537.36 "
      "(KHTML, like Gecko) Version/4.0 Chrome/125.0.6422.53 Mobile Safari/537.36",
      "Mozilla/5.0 (Linux; Android 14; SM-S928B Build/UP1A.231005.007; wv) AppleWebKit/537.36 "
      "(KHTML, like Gecko) Version/4.0 Chrome/125.0.6422.53 Mobile Safari/537.36 (compatible; "
      "Googlebot/2.1; +http://www.google.com/bot.html)"};
  for (const char* ua : galaxy) {
    ASSERT_TRUE(device.value()->FastPathFeatures(ua, *probe_ws.value(), &features)) << ua;
    g_allocations = 0;
    g_counting = true;
    d = device.value()->Classify(ua, {});
    g_counting = false;
    EXPECT_EQ(g_allocations, 0) << ua;
  }
  EXPECT_EQ(d.type, DeviceType::kBot);
}

}  // namespace
}  // namespace tailor
