#include "experiments/preview_token.h"

#include <gtest/gtest.h>
#include <openssl/crypto.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "experiments/experiment_set.h"

// Counts heap allocations (C++ operator new, and OpenSSL's own allocator, which is set before
// OpenSSL allocates anything), to prove the request-path functions allocate nothing.
static std::atomic<long> g_allocations{0};
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(size_t n) {
  ++g_allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
static void* CountingMalloc(size_t n, const char*, int) {
  ++g_allocations;
  return std::malloc(n);
}
static void* CountingRealloc(void* p, size_t n, const char*, int) {
  ++g_allocations;
  return std::realloc(p, n);
}
static void CountingFree(void* p, const char*, int) { std::free(p); }
static const bool g_openssl_counted =
    CRYPTO_set_mem_functions(CountingMalloc, CountingRealloc, CountingFree) == 1;

namespace tailor {
namespace {

constexpr int64_t kExpires = 1800000000;  // 2027-01-15T08:00:00Z

// Known answer, computed independently with Python's hmac/hashlib/base64:
//   key = HMAC-SHA256(b"s3cret-for-tests", b"tailor preview token key v1")
//   p   = b"tp1|1800000000|hero=bold,pricing=control|home-bold"
//   token = b64url(p) + "." + b64url(HMAC-SHA256(key, p)[:16])   (no padding)
constexpr char kKnownToken[] =
    "dHAxfDE4MDAwMDAwMDB8aGVybz1ib2xkLHByaWNpbmc9Y29udHJvbHxob21lLWJvbGQ.calb8ZWOnAOQOuzUkBk9mw";

PreviewKey Key() { return DerivePreviewKey("s3cret-for-tests"); }

TEST(PreviewTokenTest, MatchesTheKnownAnswer) {
  auto token = MakePreviewToken(Key(), {{"hero", "bold"}, {"pricing", "control"}}, "home-bold",
                                kExpires);
  ASSERT_TRUE(token.ok()) << token.status().message();
  EXPECT_EQ(token.value(), kKnownToken);
}

TEST(PreviewTokenTest, VerifiesAndDecodes) {
  char scratch[kPreviewScratchSize];
  PreviewToken t;
  ASSERT_EQ(VerifyPreviewToken(kKnownToken, Key(), (kExpires - 10) * 1000, scratch, &t),
            PreviewStatus::kOk);
  EXPECT_EQ(t.expires_s, kExpires);
  EXPECT_EQ(t.page_variant, "home-bold");
  ASSERT_EQ(t.choice_count, 2u);
  EXPECT_EQ(t.choices[0].experiment, "hero");
  EXPECT_EQ(t.choices[0].variant, "bold");
  EXPECT_EQ(t.ForcedVariant("pricing"), "control");
  EXPECT_EQ(t.ForcedVariant("other"), "");

  ExperimentSetSpec spec;
  ExperimentSpec e;
  e.name = "pricing";
  e.variants = {{"control", 1}, {"cheap", 1}};
  spec.experiments.push_back(e);
  e.name = "hero";
  e.variants = {{"control", 1}, {"bold", 1}};
  spec.experiments.push_back(e);
  e.name = "untouched";
  spec.experiments.push_back(e);
  Diagnostics diags;
  auto set = ExperimentSet::Build(spec, diags);
  ASSERT_TRUE(set);
  EXPECT_EQ(t.ForcedVariantIndex(*set, 0), 0);
  EXPECT_EQ(t.ForcedVariantIndex(*set, 1), 1);
  EXPECT_EQ(t.ForcedVariantIndex(*set, 2), -1);
  EXPECT_EQ(t.ForcedVariantIndex(*set, 9), -1);
}

TEST(PreviewTokenTest, RejectsWithReasons) {
  char scratch[kPreviewScratchSize];
  PreviewToken t;
  const int64_t now = (kExpires - 10) * 1000;
  auto verify = [&](std::string_view token, const PreviewKey& key = Key(), int64_t at = -1) {
    return VerifyPreviewToken(token, key, at < 0 ? now : at, scratch, &t);
  };
  EXPECT_EQ(verify(kKnownToken, Key(), kExpires * 1000), PreviewStatus::kExpired);
  EXPECT_EQ(verify(kKnownToken, Key(), kExpires * 1000 - 1), PreviewStatus::kOk);
  EXPECT_EQ(verify(kKnownToken, DerivePreviewKey("another secret")),
            PreviewStatus::kBadSignature);
  // Every single-character change of the token is rejected.
  std::string known = kKnownToken;
  for (size_t i = 0; i < known.size(); ++i) {
    std::string bad = known;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    EXPECT_NE(verify(bad), PreviewStatus::kOk) << i;
  }
  // A re-signed payload with a later expiry needs the key: swapping the payload fails.
  auto later = MakePreviewToken(DerivePreviewKey("attacker"), {{"hero", "bold"}}, "", kExpires * 2);
  ASSERT_TRUE(later.ok());
  std::string forged = later.value().substr(0, later.value().find('.')) +
                       known.substr(known.find('.'));
  EXPECT_EQ(verify(forged), PreviewStatus::kBadSignature);
  EXPECT_EQ(verify(""), PreviewStatus::kMalformed);
  EXPECT_EQ(verify("."), PreviewStatus::kMalformed);
  EXPECT_EQ(verify("abc"), PreviewStatus::kMalformed);
  EXPECT_EQ(verify("abc.def"), PreviewStatus::kMalformed);
  EXPECT_EQ(verify("a!c." + known.substr(known.find('.') + 1)), PreviewStatus::kMalformed);
  EXPECT_EQ(verify(std::string(kMaxPreviewTokenLength + 1, 'A')), PreviewStatus::kTooLong);
  EXPECT_STREQ(PreviewStatusName(PreviewStatus::kExpired), "expired");
}

TEST(PreviewTokenTest, LifetimeIsBounded) {
  // A correctly signed token that expires more than 30 days after the check is refused, so
  // no token (and no preview cookie) stays good for years.
  char scratch[kPreviewScratchSize];
  PreviewToken t;
  const int64_t now_s = 1700000000;
  auto at_most = MakePreviewToken(Key(), {{"hero", "bold"}}, "",
                                  now_s + kMaxPreviewLifetimeSeconds);
  auto too_late = MakePreviewToken(Key(), {{"hero", "bold"}}, "",
                                   now_s + kMaxPreviewLifetimeSeconds + 1);
  auto years = MakePreviewToken(Key(), {{"hero", "bold"}}, "", now_s + 20 * 365 * 86400LL);
  ASSERT_TRUE(at_most.ok() && too_late.ok() && years.ok());
  EXPECT_EQ(VerifyPreviewToken(at_most.value(), Key(), now_s * 1000, scratch, &t),
            PreviewStatus::kOk);
  EXPECT_EQ(VerifyPreviewToken(too_late.value(), Key(), now_s * 1000, scratch, &t),
            PreviewStatus::kTooLate);
  EXPECT_EQ(VerifyPreviewToken(years.value(), Key(), now_s * 1000, scratch, &t),
            PreviewStatus::kTooLate);
  // The same token becomes acceptable once it is within 30 days of expiring.
  EXPECT_EQ(VerifyPreviewToken(too_late.value(), Key(), (now_s + 2) * 1000, scratch, &t),
            PreviewStatus::kOk);
  EXPECT_STREQ(PreviewStatusName(PreviewStatus::kTooLate), "expires too late");
}

TEST(PreviewTokenTest, SignedButMalformedPayloadsAreRejected) {
  // Correctly signed payloads with a bad layout (as if the secret leaked into a buggy tool).
  const PreviewKey key = Key();
  auto sign = [&](std::string_view payload) {
    Sha256Digest mac = HmacSha256(
        std::string_view(reinterpret_cast<const char*>(key.bytes.data()), key.bytes.size()),
        payload);
    std::string out(Base64UrlEncodedSize(payload.size()), '\0');
    Base64UrlEncode(reinterpret_cast<const uint8_t*>(payload.data()), payload.size(), out.data());
    std::string m(Base64UrlEncodedSize(kPreviewMacSize), '\0');
    Base64UrlEncode(mac.data(), kPreviewMacSize, m.data());
    return out + "." + m;
  };
  char scratch[kPreviewScratchSize];
  PreviewToken t;
  auto verify = [&](std::string_view payload) {
    // a day before the payloads' expiry: within the 30-day lifetime bound
    return VerifyPreviewToken(sign(payload), key, (1800000000 - 86400) * 1000LL, scratch, &t);
  };
  EXPECT_EQ(verify("tp1|1800000000|hero=bold|"), PreviewStatus::kOk);
  EXPECT_EQ(verify("tp1|1800000000||home"), PreviewStatus::kOk);
  EXPECT_EQ(verify("tp2|1800000000|hero=bold|"), PreviewStatus::kMalformed);
  EXPECT_EQ(verify("tp1|18x0000000|hero=bold|"), PreviewStatus::kMalformed);
  EXPECT_EQ(verify("tp1||hero=bold|"), PreviewStatus::kMalformed);
  EXPECT_EQ(verify("tp1|1800000000|hero=bold"), PreviewStatus::kMalformed);
  EXPECT_EQ(verify("tp1|1800000000|hero=bold,|"), PreviewStatus::kMalformed);
  EXPECT_EQ(verify("tp1|1800000000|hero|"), PreviewStatus::kMalformed);
  EXPECT_EQ(verify("tp1|1800000000|he ro=bold|"), PreviewStatus::kMalformed);
  EXPECT_EQ(verify("tp1|1800000000||"), PreviewStatus::kMalformed);
  EXPECT_EQ(verify("tp1|1800000000||a|b"), PreviewStatus::kMalformed);
  std::string many = "tp1|1800000000|";
  for (int i = 0; i < 17; ++i) many += (i ? ",e" : "e") + std::to_string(i) + "=v";
  EXPECT_EQ(verify(many + "|"), PreviewStatus::kMalformed);
}

TEST(PreviewTokenTest, MakeRejectsBadInput) {
  EXPECT_FALSE(MakePreviewToken(Key(), {}, "", kExpires).ok());
  EXPECT_FALSE(MakePreviewToken(Key(), {{"he|ro", "bold"}}, "", kExpires).ok());
  EXPECT_FALSE(MakePreviewToken(Key(), {{"hero", "bold"}, {"hero", "x"}}, "", kExpires).ok());
  EXPECT_FALSE(MakePreviewToken(Key(), {{"hero", "bold"}}, "a,b", kExpires).ok());
  EXPECT_TRUE(MakePreviewToken(Key(), {}, "home-bold", kExpires).ok());
}

TEST(PreviewTokenTest, RequestPathFunctionsDoNotAllocate) {
  const PreviewKey key = Key();
  std::string good = kKnownToken;
  std::string bad = good;
  bad[5] = bad[5] == 'A' ? 'B' : 'A';
  ExperimentSetSpec spec;
  ExperimentSpec e;
  e.name = "hero";
  e.layer = "home";
  e.layer_share_bp = 5000;
  e.traffic_bp = 5000;
  e.variants = {{"control", 1}, {"bold", 1}};
  spec.holdout_bp = 500;
  spec.experiments.push_back(e);
  Diagnostics diags;
  auto set = ExperimentSet::Build(spec, diags);
  ASSERT_TRUE(set);
  std::string long_id(2000, 'x');  // over the stack buffer: the streaming path
  char scratch[kPreviewScratchSize];
  char out[64];
  PreviewToken t;
  ExperimentChoice choices[] = {{0, 1}};
  ASSERT_TRUE(g_openssl_counted);
  {
    // The counter sees OpenSSL: the one-shot HMAC() allocates.
    long at = g_allocations.load();
    HmacSha256("k", "data");
    EXPECT_GT(g_allocations.load(), at);
  }
  long before = g_allocations.load();
  int sum = 0;
  for (int i = 0; i < 100; ++i) {
    sum += static_cast<int>(VerifyPreviewToken(good, key, (kExpires - 10) * 1000, scratch, &t));
    sum += static_cast<int>(VerifyPreviewToken(bad, key, (kExpires - 10) * 1000, scratch, &t));
    sum += set->Assign(0, "visitor-42") + set->Assign(0, long_id);
    sum += static_cast<int>(set->Format(choices, out, sizeof out));
  }
  EXPECT_EQ(g_allocations.load() - before, 0);
  EXPECT_NE(sum, 0);
}

// As nginx's $arg_tailor_preview, then the cookie (with consent only).
TEST(PreviewTokenTest, FindsTheTokenInTheQueryThenTheCookie) {
  HeaderField cookie[] = {{"Cookie", "a=1; tailor_preview=FROMCOOKIE"}};
  auto find = [&](std::string_view query, bool consent, bool with_cookie = true) {
    RequestView view;
    view.query = query;
    if (with_cookie) view.headers = cookie;
    return FindPreviewToken(view, consent);
  };
  PreviewTokenText t = find("a=1&tailor_preview=TOKEN&b=2", true);
  EXPECT_EQ(t.token, "TOKEN");
  EXPECT_EQ(t.source, PreviewSource::kQuery);
  t = find("Tailor_PREVIEW=T2", false);  // the name in any case; no consent needed
  EXPECT_EQ(t.token, "T2");
  EXPECT_EQ(t.source, PreviewSource::kQuery);
  EXPECT_EQ(find("tailor_preview&tailor_preview=T3", true).token, "T3");  // no '=': skipped
  EXPECT_EQ(find("tailor_preview=a=b", true).token, "a=b");
  EXPECT_EQ(find("xtailor_preview=T&tailor_previewx=T", true).token, "FROMCOOKIE");

  // no non-empty query token: the cookie, only with consent
  t = find("tailor_preview=&tailor_preview=LATER", true);  // the first one decides
  EXPECT_EQ(t.token, "FROMCOOKIE");
  EXPECT_EQ(t.source, PreviewSource::kCookie);
  t = find("", false);
  EXPECT_TRUE(t.token.empty());
  EXPECT_EQ(t.source, PreviewSource::kNone);
  t = find("a=1", true, false);
  EXPECT_TRUE(t.token.empty());
  EXPECT_EQ(t.source, PreviewSource::kNone);
  HeaderField empty[] = {{"cookie", "tailor_preview="}};
  RequestView view;
  view.headers = empty;
  EXPECT_EQ(FindPreviewToken(view, true).source, PreviewSource::kNone);
}

TEST(PreviewTokenTest, Durations) {
  EXPECT_EQ(ParseDurationSeconds("2h"), 7200);
  EXPECT_EQ(ParseDurationSeconds("1h30m"), 5400);
  EXPECT_EQ(ParseDurationSeconds("45s"), 45);
  EXPECT_EQ(ParseDurationSeconds("7d"), 604800);
  EXPECT_EQ(ParseDurationSeconds("2"), -1);
  EXPECT_EQ(ParseDurationSeconds("0h"), -1);
  EXPECT_EQ(ParseDurationSeconds("h"), -1);
  EXPECT_EQ(ParseDurationSeconds("2w"), -1);
  EXPECT_EQ(ParseDurationSeconds(""), -1);
}

}  // namespace
}  // namespace tailor
