#include "signals/visitor_profile.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "signals/referrer_classifier.h"
#include "signals/visitor_signals.h"

namespace tailor {
namespace {

const std::string kSecret = "0123456789abcdef0123456789abcdef-secret";
// The login marker the site's backend sets: "1", signed with the secret.
const std::string kSignedLoggedIn = SignLifecycleValue(kSecret, "registered", "1");
constexpr int64_t kDay = 86400 * 1000LL;
constexpr int64_t kT0 = 1767225600000LL;  // 2026-01-01T00:00:00Z

std::unique_ptr<ProfileCodec> MakeCodec(ProfileOptions o = {}) {
  auto c = ProfileCodec::Create(kSecret, std::move(o));
  EXPECT_TRUE(c.ok()) << c.status().message();
  return std::move(c).value();
}

std::string Encode(const ProfileCodec& c, const VisitorProfile& p) {
  char buf[kMaxProfileCookie];
  size_t n = c.Encode(p, buf, sizeof buf);
  EXPECT_GT(n, 0u);
  return std::string(buf, n);
}

VisitorProfile Fresh(const ProfileCodec& c, int64_t now, Medium m = Medium::kSearch,
                     std::string_view source = "google") {
  VisitorProfile p;
  ProfileUpdate u;
  u.now_ms = now;
  u.medium = m;
  u.source = source;
  c.Update(&p, /*is_new=*/true, u);
  return p;
}

TEST(ProfileCodec, SecretRules) {
  EXPECT_FALSE(ProfileCodec::Create("short", {}).ok());
  EXPECT_FALSE(ProfileCodec::Create(std::string(31, 'x'), {}).ok());
  EXPECT_TRUE(ProfileCodec::Create(std::string(32, 'x'), {}).ok());
  EXPECT_TRUE(ProfileCodec::Create(std::string(200, 'x'), {}).ok());  // hashed long key
  EXPECT_FALSE(ProfileCodec::CreateFromFile("/nonexistent/secret", {}).ok());
  std::string path = ::testing::TempDir() + "/tailor_secret_test";
  {
    std::ofstream(path) << std::string(31, 's') << "\n";  // 31 bytes + newline: too short
  }
  EXPECT_FALSE(ProfileCodec::CreateFromFile(path, {}).ok());
  {
    std::ofstream(path) << std::string(40, 's') << "\n";
  }
  EXPECT_TRUE(ProfileCodec::CreateFromFile(path, {}).ok());
  std::remove(path.c_str());
}

TEST(ProfileCodec, RoundTripAndSize) {
  auto c = MakeCodec();
  VisitorProfile p = Fresh(*c, kT0, Medium::kSocial, "a-very-long-source-name-that-is-cut-here");
  for (int i = 0; i < 8; ++i) {
    uint16_t id = InterestId("interest" + std::to_string(i));
    ProfileUpdate u;
    u.now_ms = kT0 + 1000 * i;
    u.interests = std::span<const uint16_t>(&id, 1);
    u.source = "x";
    u.medium = Medium::kEmail;
    c->Update(&p, false, u);
  }
  std::string cookie = Encode(*c, p);
  EXPECT_LT(cookie.size(), 200u);  // well under the 400-byte budget, even when full
  VisitorProfile q;
  ASSERT_EQ(c->Decode(cookie, &q), ProfileStatus::kValid);
  EXPECT_EQ(q.visits, p.visits);
  EXPECT_EQ(q.pageviews, 9u);
  EXPECT_EQ(q.first_seen_s, p.first_seen_s);
  EXPECT_EQ(q.last_seen_s, p.last_seen_s);
  EXPECT_EQ(q.first_medium, Medium::kSocial);
  EXPECT_EQ(q.first_source_view(), "a-very-long-source-name-");
  EXPECT_EQ(q.last_medium, Medium::kEmail);
  EXPECT_EQ(q.last_source_view(), "x");
  EXPECT_EQ(q.interest_count, 8);
  for (int k = 0; k < 8; ++k) {  // field by field: InterestCounter has a padding byte
    EXPECT_EQ(q.interests[k].id, p.interests[k].id) << k;
    EXPECT_EQ(q.interests[k].score, p.interests[k].score) << k;
  }
  char tiny[10];
  EXPECT_EQ(c->Encode(p, tiny, sizeof tiny), 0u);
}

TEST(ProfileCodec, TamperedTruncatedOversizedCookies) {
  auto c = MakeCodec();
  std::string good = Encode(*c, Fresh(*c, kT0));
  VisitorProfile q;
  EXPECT_EQ(c->Decode("", &q), ProfileStatus::kAbsent);
  {
    // Truncated by whole bytes and re-encoded: well-formed base64, wrong tag.
    uint8_t raw[300];
    long n = Base64UrlDecode(good, raw, sizeof raw);
    ASSERT_GT(n, 3);
    char enc[500];
    Base64UrlEncode(raw, static_cast<size_t>(n) - 3, enc);
    EXPECT_EQ(c->Decode(std::string_view(enc, Base64UrlEncodedSize(static_cast<size_t>(n) - 3)), &q),
              ProfileStatus::kBadSignature);
  }
  ProfileStatus cut1 = c->Decode(good.substr(0, good.size() - 1), &q);
  EXPECT_TRUE(cut1 == ProfileStatus::kBadSignature || cut1 == ProfileStatus::kBadEncoding);
  EXPECT_EQ(c->Decode(good.substr(0, 20), &q), ProfileStatus::kBadSize);
  EXPECT_EQ(c->Decode(std::string(401, 'A'), &q), ProfileStatus::kBadSize);
  EXPECT_EQ(c->Decode(std::string(10000, 'A'), &q), ProfileStatus::kBadSize);
  std::string bad_chars = good;
  bad_chars[5] = '*';
  EXPECT_EQ(c->Decode(bad_chars, &q), ProfileStatus::kBadEncoding);
  // Flip every character in turn: never accepted.
  for (size_t i = 0; i < good.size(); ++i) {
    std::string t = good;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    ProfileStatus s = c->Decode(t, &q);
    EXPECT_NE(s, ProfileStatus::kValid) << i;
    EXPECT_EQ(q.visits, 0);  // zeroed on failure
  }
  // Another secret: bad signature.
  auto other = ProfileCodec::Create(std::string(32, 'z'), {});
  EXPECT_EQ(other.value()->Decode(good, &q), ProfileStatus::kBadSignature);
  EXPECT_EQ(ProfileStatusName(ProfileStatus::kBadSignature), "bad_signature");
}

TEST(ProfileCodec, SignedButMalformedContentIsRejected) {
  // A payload with a valid tag but impossible content (wrong version, out-of-range medium):
  // built with the public HMAC to make sure content checks do not rely on the signature.
  auto c = MakeCodec();
  std::string cookie = Encode(*c, Fresh(*c, kT0));
  uint8_t raw[300];
  long n = Base64UrlDecode(cookie, raw, sizeof raw);
  ASSERT_GT(n, 16);
  auto resign = [&](uint8_t* data, size_t payload) {
    std::string msg = "tailor-profile";
    msg.append(reinterpret_cast<char*>(data), payload);
    Sha256Digest d = HmacSha256(kSecret, msg);
    std::memcpy(data + payload, d.data(), 16);
    char out[500];
    Base64UrlEncode(data, payload + 16, out);
    return std::string(out, Base64UrlEncodedSize(payload + 16));
  };
  size_t payload = static_cast<size_t>(n) - 16;
  VisitorProfile q;
  // Unchanged payload re-signed with the reference HMAC: our key schedule agrees with it.
  EXPECT_EQ(c->Decode(resign(raw, payload), &q), ProfileStatus::kValid);
  raw[0] = 2;  // unknown version
  EXPECT_EQ(c->Decode(resign(raw, payload), &q), ProfileStatus::kBadContent);
  raw[0] = 1;
  raw[15] = 200;  // medium out of range
  EXPECT_EQ(c->Decode(resign(raw, payload), &q), ProfileStatus::kBadContent);
}

TEST(ProfileCodec, VisitsPageviewsAndTouches) {
  auto c = MakeCodec();
  VisitorProfile p = Fresh(*c, kT0, Medium::kSearch, "google");
  EXPECT_EQ(p.visits, 1);
  EXPECT_EQ(p.pageviews, 1u);
  ProfileUpdate u;
  u.now_ms = kT0 + 10 * 60 * 1000;  // 10 min later: same visit
  u.medium = Medium::kInternal;
  c->Update(&p, false, u);
  EXPECT_EQ(p.visits, 1);
  EXPECT_EQ(p.pageviews, 2u);
  u.now_ms += 31 * 60 * 1000;  // 31 min idle: a new visit, direct
  u.medium = Medium::kDirect;
  c->Update(&p, false, u);
  EXPECT_EQ(p.visits, 2);
  EXPECT_EQ(p.last_medium, Medium::kSearch);  // direct does not replace the last touch
  u.now_ms += 2 * kDay;
  u.medium = Medium::kEmail;
  u.source = "newsletter";
  c->Update(&p, false, u);
  EXPECT_EQ(p.visits, 3);
  EXPECT_EQ(p.first_medium, Medium::kSearch);
  EXPECT_EQ(p.first_source_view(), "google");
  EXPECT_EQ(p.last_medium, Medium::kEmail);
  EXPECT_EQ(p.last_source_view(), "newsletter");
  // Clock going backwards: no new visit, last_seen not moved back.
  uint32_t last = p.last_seen_s;
  u.now_ms = kT0;
  c->Update(&p, false, u);
  EXPECT_EQ(p.visits, 3);
  EXPECT_EQ(p.last_seen_s, last);
  // Configurable visit timeout.
  ProfileOptions o;
  o.visit_timeout_ms = 5 * 60 * 1000;
  auto c5 = MakeCodec(o);
  VisitorProfile v = Fresh(*c5, kT0);
  ProfileUpdate w;
  w.now_ms = kT0 + 6 * 60 * 1000;
  c5->Update(&v, false, w);
  EXPECT_EQ(v.visits, 2);
}

TEST(ProfileCodec, InterestsCappedDecayedAndEvicted) {
  ProfileOptions o;
  o.interest_cap = 5;
  o.interest_half_life_days = 10;
  auto c = MakeCodec(o);
  VisitorProfile p = Fresh(*c, kT0);
  uint16_t shoes = InterestId("shoes"), hats = InterestId("hats");
  ProfileUpdate u;
  u.now_ms = kT0;
  u.interests = std::span<const uint16_t>(&shoes, 1);
  for (int i = 0; i < 9; ++i) c->Update(&p, false, u);
  EXPECT_EQ(p.InterestScore(shoes), 5);  // capped
  u.interests = std::span<const uint16_t>(&hats, 1);
  c->Update(&p, false, u);
  uint16_t top = 0;
  ASSERT_TRUE(p.TopInterest(&top));
  EXPECT_EQ(top, shoes);
  // 20 idle days = two half-lives: 5 -> 1, 1 -> 0 (dropped).
  u.now_ms = kT0 + 20 * kDay;
  u.interests = {};
  c->Update(&p, false, u);
  EXPECT_EQ(p.InterestScore(shoes), 1);
  EXPECT_EQ(p.InterestScore(hats), 0);
  EXPECT_EQ(p.interest_count, 1);
  // Full: the weakest makes room.
  for (int i = 0; i < 10; ++i) {
    uint16_t id = InterestId("i" + std::to_string(i));
    u.interests = std::span<const uint16_t>(&id, 1);
    c->Update(&p, false, u);
    c->Update(&p, false, u);
  }
  EXPECT_EQ(p.interest_count, kMaxInterestSlots);
}

TEST(ProfileCodec, Lifecycle) {
  // Unsigned sources (`unsigned:cookie:NAME`): the value as sent.
  ProfileOptions o;
  o.registered.push_back({LifecycleSource::Kind::kCookie, "logged_in", true});
  o.orders.push_back({LifecycleSource::Kind::kCookie, "orders", true});
  o.orders.push_back({LifecycleSource::Kind::kHeader, "X-Orders", true});
  auto c = MakeCodec(o);
  auto observe = [&](std::vector<HeaderField> h) {
    RequestView rv;
    rv.headers = h;
    return LifecycleName(c->ObserveLifecycle(rv));
  };
  EXPECT_EQ(observe({}), "anonymous");
  EXPECT_EQ(observe({{"Cookie", "logged_in=0"}}), "anonymous");
  EXPECT_EQ(observe({{"Cookie", "logged_in=1"}}), "registered");
  EXPECT_EQ(observe({{"Cookie", "logged_in=1; orders=1"}}), "customer");
  EXPECT_EQ(observe({{"Cookie", "orders=3"}}), "repeat_customer");
  EXPECT_EQ(observe({{"X-Orders", "2"}}), "repeat_customer");
  EXPECT_EQ(observe({{"Cookie", "orders=yes"}}), "customer");
  // Sticky in the profile.
  VisitorProfile p = Fresh(*c, kT0);
  ProfileUpdate u;
  u.now_ms = kT0;
  u.lifecycle = Lifecycle::kCustomer;
  c->Update(&p, false, u);
  u.lifecycle = Lifecycle::kAnonymous;
  c->Update(&p, false, u);
  EXPECT_EQ(p.lifecycle, Lifecycle::kCustomer);
}

TEST(ProfileCodec, SignedLifecycleSources) {
  // Sources are signed unless configured otherwise: a client-made value counts as absent.
  ProfileOptions o;
  o.registered.push_back({LifecycleSource::Kind::kCookie, "logged_in"});
  o.orders.push_back({LifecycleSource::Kind::kCookie, "orders"});
  o.orders.push_back({LifecycleSource::Kind::kHeader, "X-Orders"});
  auto c = MakeCodec(o);
  bool rejected = false;
  auto observe = [&](std::vector<HeaderField> h) {
    RequestView rv;
    rv.headers = h;
    rejected = false;
    return LifecycleName(c->ObserveLifecycle(rv, &rejected));
  };
  std::string two = SignLifecycleValue(kSecret, "orders", "2");
  std::string one = SignLifecycleValue(kSecret, "orders", "1");
  std::string in = SignLifecycleValue(kSecret, "registered", "1");
  ASSERT_EQ(two.size(), 2 + kLifecycleSignatureLen);
  EXPECT_EQ(two.substr(0, 2), "2.");

  // A known answer, computed independently (docs/privacy.md's Python recipe):
  // base64url(HMAC-SHA256(kSecret, "lifecycle:orders:2"))[:22].
  EXPECT_EQ(two, "2.lmHmqsWXD92AODIljsLWF1");

  EXPECT_EQ(observe({{"Cookie", "orders=" + two}}), "repeat_customer");
  EXPECT_FALSE(rejected);
  EXPECT_EQ(observe({{"X-Orders", one}}), "customer");
  EXPECT_EQ(observe({{"Cookie", "logged_in=" + in}}), "registered");
  EXPECT_EQ(observe({{"Cookie", "logged_in=" + SignLifecycleValue(kSecret, "registered", "0")}}),
            "anonymous");
  EXPECT_FALSE(rejected);
  // Nothing sent, or an empty value: absent, and nothing to count.
  EXPECT_EQ(observe({{"Cookie", "orders="}}), "anonymous");
  EXPECT_FALSE(rejected);

  // Forged, tampered, replayed across stages, signed with another secret: absent and counted.
  std::string other = SignLifecycleValue(kSecret + "x", "orders", "2");
  std::string raised = two;
  raised[0] = '9';
  std::string bad_sig = two;
  bad_sig.back() = bad_sig.back() == 'A' ? 'B' : 'A';
  for (const std::string& forged :
       {std::string("2"), std::string("2."), raised, bad_sig, other,
        SignLifecycleValue(kSecret, "registered", "2"), two + "x", "x" + two.substr(1),
        std::string(100, '9') + two.substr(1)}) {
    EXPECT_EQ(observe({{"Cookie", "orders=" + forged}}), "anonymous") << forged;
    EXPECT_TRUE(rejected) << forged;
  }
  // A forged count does not spoil a signed marker next to it.
  EXPECT_EQ(observe({{"Cookie", "logged_in=" + in + "; orders=2"}}), "registered");
  EXPECT_TRUE(rejected);
  // A value with dots is signed whole: the signature follows the last dot.
  std::string dotted = SignLifecycleValue(kSecret, "registered", "user.42");
  EXPECT_EQ(observe({{"Cookie", "logged_in=" + dotted}}), "registered");
  EXPECT_FALSE(rejected);
}

TEST(InterestSet, GlobsInOneDatabase) {
  auto s = InterestSet::Create({{"shoes", {"/shoes/*", "/p/sneakers-*"}},
                                {"hats", {"/hats/*/detail"}},
                                {"sale", {"/sale"}}});
  ASSERT_TRUE(s.ok()) << s.status().message();
  const InterestSet& set = *s.value();
  auto match = [&](std::string_view path) {
    uint16_t ids[8];
    size_t n = set.Match(path, ids, 8);
    std::string out;
    for (size_t i = 0; i < n; ++i) out += std::string(set.NameOfId(ids[i])) + ",";
    return out;
  };
  EXPECT_EQ(match("/shoes/red/42"), "shoes,");  // final '*' takes the rest
  EXPECT_EQ(match("/p/sneakers-blue"), "shoes,");
  EXPECT_EQ(match("/hats/x/detail"), "hats,");
  EXPECT_EQ(match("/hats/x/y/detail"), "");  // inner '*' stays within a segment
  EXPECT_EQ(match("/sale"), "sale,");
  EXPECT_EQ(match("/sale/x"), "");
  EXPECT_EQ(match(std::string(10000, '/')), "");
  EXPECT_EQ(set.Find("hats"), 1);
  EXPECT_EQ(set.Find("nope"), -1);
  EXPECT_FALSE(InterestSet::Create({{"a", {"/a"}}, {"a", {"/b"}}}).ok());
  // A reloaded set with a different database: the thread's scratch is re-sized for it.
  for (int generation = 0; generation < 3; ++generation) {
    std::vector<std::string> globs;
    for (int i = 0; i <= generation * 20; ++i) globs.push_back("/g" + std::to_string(i) + "/*/x*");
    auto again = InterestSet::Create({{"g", globs}});
    ASSERT_TRUE(again.ok());
    uint16_t ids[2];
    EXPECT_EQ(again.value()->Match("/g0/a/xyz", ids, 2), 1u);
  }
}

struct VisitorFixture {
  std::unique_ptr<ProfileCodec> codec;
  std::unique_ptr<InterestSet> interests;
  ReferrerClassifier referrer;
  std::vector<HeaderField> headers;
  RequestView rv;
  Services services;
  alignas(16) char arena_buf[1024];
  Arena arena{arena_buf, sizeof arena_buf};
  std::vector<char> memo_buf;

  VisitorFixture() {
    ProfileOptions o;
    o.cookie_name = "tp";
    o.registered.push_back({LifecycleSource::Kind::kCookie, "logged_in"});
    codec = MakeCodec(o);
    interests = std::move(InterestSet::Create({{"shoes", {"/shoes/*"}}}).value());
    services.profile = codec.get();
    services.interests = interests.get();
    services.referrer = &referrer;
    rv.host = "shop.example.com";
    rv.now_ms = kT0;
  }
  // One request; returns the Set-Cookie value the glue would send.
  std::string Request(std::string path, std::string cookie, std::string referer,
                      std::vector<std::pair<std::string, Value>>* out,
                      std::vector<std::string> names, bool consent = true) {
    headers.clear();
    if (!cookie.empty()) headers.push_back({"Cookie", cookie});
    if (!referer.empty()) headers.push_back({"Referer", referer});
    std::string p = path;
    rv.path = p;
    rv.headers = headers;
    memo_buf.assign(SignalRegistry::Builtin().memo_size() + 64, 0);
    RequestMemo memo(memo_buf.data(), memo_buf.size());
    arena.Reset();
    EvalEnv env{rv, services, arena, memo, {}, consent};
    for (const std::string& n : names) {
      SignalArgs a;
      std::string arg;
      std::string name = n;
      if (size_t paren = n.find('('); paren != std::string::npos) {
        name = n.substr(0, paren);
        arg = n.substr(paren + 2, n.size() - paren - 4);
      }
      a.str = arg;
      const SignalDef* def = SignalRegistry::Builtin().Find(name);
      EXPECT_NE(def, nullptr) << name;
      if (def != nullptr) {
        EXPECT_EQ(def->needs_consent, name != "lifecycle") << name;
      }
      out->push_back({n, def ? def->fn(a, env) : Value::Missing()});
    }
    char buf[kMaxProfileCookie];
    size_t len = EncodeRequestProfile(env, buf, sizeof buf);
    return std::string(buf, len);
  }
};

TEST(VisitorSignals, ThroughTheRegistryOverSeveralRequests) {
  VisitorFixture f;
  std::vector<std::pair<std::string, Value>> v;
  std::vector<std::string> names = {"visitor.new",
                                    "visitor.visits",
                                    "visitor.pageviews",
                                    "visitor.days_since_first",
                                    "visitor.first_touch.medium",
                                    "visitor.first_touch.source",
                                    "visitor.last_touch.medium",
                                    "visitor.last_touch.source",
                                    "interest(\"shoes\")",
                                    "interest.top",
                                    "lifecycle",
                                    "interest(\"undeclared\")"};
  std::string cookie =
      f.Request("/shoes/red", "", "https://www.google.com/search?q=shoes", &v, names);
  ASSERT_FALSE(cookie.empty());
  EXPECT_TRUE(v[0].second.boolean);
  EXPECT_EQ(v[1].second.number, 1);
  EXPECT_EQ(v[2].second.number, 1);
  EXPECT_EQ(v[3].second.number, 0);
  EXPECT_EQ(v[4].second.str, "search");
  EXPECT_EQ(v[5].second.str, "google");
  EXPECT_EQ(v[8].second.number, 1);
  EXPECT_EQ(v[9].second.str, "shoes");
  EXPECT_EQ(v[10].second.str, "anonymous");
  EXPECT_TRUE(v[11].second.missing());

  v.clear();
  f.rv.now_ms = kT0 + 3 * kDay;
  cookie = f.Request("/shoes/blue", "tp=" + cookie + "; logged_in=" + kSignedLoggedIn,
                     "https://www.facebook.com/", &v, names);
  EXPECT_FALSE(v[0].second.boolean);
  EXPECT_EQ(v[1].second.number, 2);
  EXPECT_EQ(v[2].second.number, 2);
  EXPECT_EQ(v[3].second.number, 3);
  EXPECT_EQ(v[4].second.str, "search");
  EXPECT_EQ(v[6].second.str, "social");
  EXPECT_EQ(v[7].second.str, "facebook");
  EXPECT_EQ(v[8].second.number, 2);
  EXPECT_EQ(v[10].second.str, "registered");

  // Tampered cookie: treated as new, and the reason is visible to the caller.
  v.clear();
  std::string tampered = cookie;
  tampered[3] = tampered[3] == 'x' ? 'y' : 'x';
  f.Request("/", "tp=" + tampered, "", &v, {"visitor.new", "visitor.visits"});
  EXPECT_TRUE(v[0].second.boolean);
  EXPECT_EQ(v[1].second.number, 1);

  // No consent: visitor.* missing, nothing to write back; lifecycle still answers.
  v.clear();
  std::string none = f.Request("/", "tp=" + cookie + "; logged_in=" + kSignedLoggedIn, "", &v,
                               {"visitor.visits", "interest.top", "lifecycle"}, false);
  EXPECT_TRUE(v[0].second.missing());
  EXPECT_TRUE(v[1].second.missing());
  EXPECT_EQ(v[2].second.str, "registered");
  EXPECT_TRUE(none.empty());
}

TEST(VisitorSignals, RequestVisitorReportsWhyACookieWasIgnored) {
  VisitorFixture f;
  std::string oversized = "tp=" + std::string(500, 'A');
  f.headers = {{"Cookie", oversized}};
  f.rv.headers = f.headers;
  f.memo_buf.assign(SignalRegistry::Builtin().memo_size() + 64, 0);
  RequestMemo memo(f.memo_buf.data(), f.memo_buf.size());
  EvalEnv env{f.rv, f.services, f.arena, memo};
  const VisitorState* s = RequestVisitor(env);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->incoming, ProfileStatus::kBadSize);
  EXPECT_TRUE(s->is_new);
}

}  // namespace
}  // namespace tailor
