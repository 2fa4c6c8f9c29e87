#include "signals/visitor_profile.h"

// The low-level SHA-256 interface lets the HMAC key schedule be computed once and copied per
// request: the one-shot HMAC() of OpenSSL 3 allocates a context on every call.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <xxhash.h>

#include <atomic>
#include <cstring>

#include "core/crypto.h"
#include "core/secret.h"
#include "core/text.h"

namespace tailor {
namespace {

static_assert(sizeof(SHA256_CTX) <= 128, "SHA256_CTX must fit the key schedule buffers");

constexpr std::string_view kLifecycleNames[kLifecycleCount] = {"anonymous", "registered",
                                                               "customer", "repeat_customer"};
constexpr std::string_view kStatusNames[] = {"absent",   "valid",         "bad_encoding",
                                             "bad_size", "bad_signature", "bad_content"};
constexpr uint8_t kVersion = 1;
constexpr size_t kTagSize = 16;
constexpr size_t kFixedSize = 1 + 4 + 4 + 2 + 4 + 1 + 1 + 1;  // up to the source lengths
constexpr size_t kMinPayload = kFixedSize + 1 + 1 + 1;
constexpr size_t kMaxPayload = kMinPayload + 2 * kMaxSourceLen + 3 * kMaxInterestSlots;
constexpr std::string_view kMacContext = "tailor-profile";

void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
void Put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t Get32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

uint32_t Seconds(int64_t ms) {
  if (ms <= 0) return 0;
  int64_t s = ms / 1000;
  return s > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(s);
}

void SetSource(char* dst, uint8_t* len, std::string_view src) {
  if (src.size() > kMaxSourceLen) {
    size_t n = kMaxSourceLen;
    while (n > 0 && (static_cast<unsigned char>(src[n]) & 0xC0) == 0x80) --n;  // UTF-8 edge
    src = src.substr(0, n);
  }
  if (!src.empty()) std::memcpy(dst, src.data(), src.size());  // a missing source is a null view
  *len = static_cast<uint8_t>(src.size());
}

// Whether a marker value says "yes": present, non-empty, not "0"/"false".
bool Truthy(std::string_view v) {
  v = TrimSpaces(v);
  return !v.empty() && v != "0" && !EqualsIgnoreCase(v, "false");
}

std::optional<std::string_view> ReadSource(const RequestView& rq, const LifecycleSource& s) {
  return s.kind == LifecycleSource::Kind::kCookie ? rq.FindCookie(s.name) : rq.FindHeader(s.name);
}

}  // namespace

std::string_view LifecycleName(Lifecycle l) {
  auto i = static_cast<size_t>(l);
  return i < kLifecycleCount ? kLifecycleNames[i] : "anonymous";
}

std::string_view ProfileStatusName(ProfileStatus s) {
  auto i = static_cast<size_t>(s);
  return i < std::size(kStatusNames) ? kStatusNames[i] : "invalid";
}

uint16_t InterestId(std::string_view name) {
  uint64_t h = XXH3_64bits(name.data(), name.size());
  uint16_t id = static_cast<uint16_t>(h ^ (h >> 16) ^ (h >> 32) ^ (h >> 48));
  return id == 0 ? 1 : id;  // 0 is never a valid id
}

int VisitorProfile::InterestScore(uint16_t id) const {
  for (size_t i = 0; i < interest_count && i < kMaxInterestSlots; ++i)
    if (interests[i].id == id) return interests[i].score;
  return 0;
}

bool VisitorProfile::TopInterest(uint16_t* id) const {
  int best = 0;
  for (size_t i = 0; i < interest_count && i < kMaxInterestSlots; ++i)
    if (interests[i].score > best) {
      best = interests[i].score;
      *id = interests[i].id;
    }
  return best > 0;
}

Result<std::unique_ptr<ProfileCodec>> ProfileCodec::Create(std::string_view secret,
                                                           ProfileOptions options) {
  if (secret.size() < 32)
    return Status::Error("the profile secret must be at least 32 bytes (got " +
                         std::to_string(secret.size()) + ")");
  if (options.cookie_name.empty()) return Status::Error("empty profile cookie name");
  if (options.visit_timeout_ms <= 0) return Status::Error("visit timeout must be positive");
  if (options.interest_cap < 1 || options.interest_cap > 255)
    return Status::Error("interest cap must be within 1..255");
  if (options.interest_half_life_days < 1)
    return Status::Error("interest half-life must be at least one day");
  std::unique_ptr<ProfileCodec> c(new ProfileCodec());
  c->options_ = std::move(options);
  // HMAC key schedule (RFC 2104): keys longer than the block are hashed first.
  unsigned char key[SHA256_CBLOCK] = {};
  if (secret.size() > SHA256_CBLOCK) {
    SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), key);
  } else {
    std::memcpy(key, secret.data(), secret.size());
  }
  unsigned char ipad[SHA256_CBLOCK], opad[SHA256_CBLOCK];
  for (int i = 0; i < SHA256_CBLOCK; ++i) {
    ipad[i] = key[i] ^ 0x36;
    opad[i] = key[i] ^ 0x5c;
  }
  SHA256_CTX inner, outer;
  SHA256_Init(&inner);
  SHA256_Update(&inner, ipad, sizeof ipad);
  SHA256_Init(&outer);
  SHA256_Update(&outer, opad, sizeof opad);
  std::memcpy(c->inner_, &inner, sizeof inner);
  std::memcpy(c->outer_, &outer, sizeof outer);
  c->lifecycle_key_ = HmacSha256Key(secret);
  OPENSSL_cleanse(key, sizeof key);
  OPENSSL_cleanse(ipad, sizeof ipad);
  OPENSSL_cleanse(opad, sizeof opad);
  return c;
}

Result<std::unique_ptr<ProfileCodec>> ProfileCodec::CreateFromFile(
    const std::string& secret_path, ProfileOptions options) {
  auto secret = LoadSecret(secret_path);
  if (!secret.ok()) return Status::Error(secret_path + ": " + secret.status().message());
  auto codec = Create(secret.value(), std::move(options));
  OPENSSL_cleanse(secret.value().data(), secret.value().size());
  if (!codec.ok()) return Status::Error(secret_path + ": " + codec.status().message());
  return codec;
}

void ProfileCodec::Mac(const uint8_t* data, size_t len, uint8_t tag[16]) const {
  SHA256_CTX ctx;
  unsigned char inner_hash[SHA256_DIGEST_LENGTH], full[SHA256_DIGEST_LENGTH];
  std::memcpy(&ctx, inner_, sizeof ctx);
  SHA256_Update(&ctx, kMacContext.data(), kMacContext.size());
  SHA256_Update(&ctx, data, len);
  SHA256_Final(inner_hash, &ctx);
  std::memcpy(&ctx, outer_, sizeof ctx);
  SHA256_Update(&ctx, inner_hash, sizeof inner_hash);
  SHA256_Final(full, &ctx);
  std::memcpy(tag, full, kTagSize);
}

ProfileStatus ProfileCodec::Decode(std::string_view cookie_value, VisitorProfile* out) const {
  std::memset(out, 0, sizeof *out);
  if (cookie_value.empty()) return ProfileStatus::kAbsent;
  if (cookie_value.size() > kMaxProfileCookie ||
      cookie_value.size() < Base64UrlEncodedSize(kMinPayload + kTagSize) ||
      cookie_value.size() > Base64UrlEncodedSize(kMaxPayload + kTagSize))
    return ProfileStatus::kBadSize;
  uint8_t buf[kMaxPayload + kTagSize];
  long n = Base64UrlDecode(cookie_value, buf, sizeof buf);
  if (n < 0) return ProfileStatus::kBadEncoding;
  size_t len = static_cast<size_t>(n);
  if (len < kMinPayload + kTagSize) return ProfileStatus::kBadSize;
  size_t payload = len - kTagSize;
  uint8_t tag[kTagSize];
  Mac(buf, payload, tag);
  if (!TimingSafeEqual(tag, buf + payload, kTagSize)) return ProfileStatus::kBadSignature;

  // Authentic from here on, but still checked: a bug elsewhere must not become a crash.
  const uint8_t* p = buf;
  const uint8_t* end = buf + payload;
  VisitorProfile v{};
  if (*p++ != kVersion) return ProfileStatus::kBadContent;
  v.first_seen_s = Get32(p); p += 4;
  v.last_seen_s = Get32(p); p += 4;
  v.visits = Get16(p); p += 2;
  v.pageviews = Get32(p); p += 4;
  uint8_t fm = *p++, lm = *p++, lc = *p++;
  if (fm >= kMediumCount || lm >= kMediumCount || lc >= kLifecycleCount)
    return ProfileStatus::kBadContent;
  v.first_medium = static_cast<Medium>(fm);
  v.last_medium = static_cast<Medium>(lm);
  v.lifecycle = static_cast<Lifecycle>(lc);
  for (int which = 0; which < 2; ++which) {
    if (p >= end) return ProfileStatus::kBadContent;
    uint8_t sl = *p++;
    if (sl > kMaxSourceLen || static_cast<size_t>(end - p) < sl) return ProfileStatus::kBadContent;
    std::memcpy(which == 0 ? v.first_source : v.last_source, p, sl);
    (which == 0 ? v.first_source_len : v.last_source_len) = sl;
    p += sl;
  }
  if (p >= end) return ProfileStatus::kBadContent;
  uint8_t ni = *p++;
  if (ni > kMaxInterestSlots || static_cast<size_t>(end - p) != 3u * ni)
    return ProfileStatus::kBadContent;
  for (uint8_t i = 0; i < ni; ++i) {
    v.interests[i].id = Get16(p);
    v.interests[i].score = p[2];
    p += 3;
  }
  v.interest_count = ni;
  if (v.visits == 0 || v.last_seen_s < v.first_seen_s) return ProfileStatus::kBadContent;
  *out = v;
  return ProfileStatus::kValid;
}

void ProfileCodec::Update(VisitorProfile* p, bool is_new, const ProfileUpdate& u) const {
  uint32_t now = Seconds(u.now_ms);
  bool touch = u.medium != Medium::kInternal;
  if (is_new) {
    std::memset(p, 0, sizeof *p);
    p->first_seen_s = p->last_seen_s = now;
    p->visits = 1;
    p->first_medium = p->last_medium = u.medium;
    SetSource(p->first_source, &p->first_source_len, u.source);
    SetSource(p->last_source, &p->last_source_len, u.source);
  } else {
    // Clocks may step back: never let elapsed time go negative.
    uint32_t idle = now > p->last_seen_s ? now - p->last_seen_s : 0;
    if (static_cast<int64_t>(idle) * 1000 > options_.visit_timeout_ms) {
      if (p->visits < UINT16_MAX) ++p->visits;
      // Decay: scores halve once per half-life of idle time.
      uint32_t halvings = idle / (86400u * static_cast<uint32_t>(options_.interest_half_life_days));
      if (halvings > 0) {
        size_t kept = 0;
        for (size_t i = 0; i < p->interest_count; ++i) {
          InterestCounter c = p->interests[i];
          c.score = halvings >= 8 ? 0 : static_cast<uint8_t>(c.score >> halvings);
          if (c.score > 0) p->interests[kept++] = c;
        }
        p->interest_count = static_cast<uint8_t>(kept);
      }
    }
    // Last touch: the latest external arrival; a direct or internal request does not erase
    // the campaign or site that brought the visitor.
    if (touch && u.medium != Medium::kDirect) {
      p->last_medium = u.medium;
      SetSource(p->last_source, &p->last_source_len, u.source);
    }
    if (now > p->last_seen_s) p->last_seen_s = now;
  }
  if (p->pageviews < UINT32_MAX) ++p->pageviews;
  for (uint16_t id : u.interests) {
    if (id == 0) continue;
    size_t i = 0;
    while (i < p->interest_count && p->interests[i].id != id) ++i;
    if (i == p->interest_count) {
      if (p->interest_count < kMaxInterestSlots) {
        ++p->interest_count;
      } else {
        // Full: the weakest counter makes room for the new interest.
        i = 0;
        for (size_t j = 1; j < kMaxInterestSlots; ++j)
          if (p->interests[j].score < p->interests[i].score) i = j;
      }
      p->interests[i] = {id, 0};
    }
    if (p->interests[i].score < options_.interest_cap) ++p->interests[i].score;
  }
  if (u.lifecycle > p->lifecycle) p->lifecycle = u.lifecycle;
}

size_t ProfileCodec::Encode(const VisitorProfile& v, char* out, size_t cap) const {
  uint8_t buf[kMaxPayload + kTagSize];
  uint8_t* p = buf;
  *p++ = kVersion;
  Put32(p, v.first_seen_s); p += 4;
  Put32(p, v.last_seen_s); p += 4;
  Put16(p, v.visits); p += 2;
  Put32(p, v.pageviews); p += 4;
  *p++ = static_cast<uint8_t>(v.first_medium);
  *p++ = static_cast<uint8_t>(v.last_medium);
  *p++ = static_cast<uint8_t>(v.lifecycle);
  uint8_t fl = v.first_source_len > kMaxSourceLen ? kMaxSourceLen : v.first_source_len;
  uint8_t ll = v.last_source_len > kMaxSourceLen ? kMaxSourceLen : v.last_source_len;
  *p++ = fl;
  std::memcpy(p, v.first_source, fl); p += fl;
  *p++ = ll;
  std::memcpy(p, v.last_source, ll); p += ll;
  uint8_t ni = v.interest_count > kMaxInterestSlots ? kMaxInterestSlots : v.interest_count;
  *p++ = ni;
  for (uint8_t i = 0; i < ni; ++i) {
    Put16(p, v.interests[i].id);
    p[2] = v.interests[i].score;
    p += 3;
  }
  size_t payload = static_cast<size_t>(p - buf);
  Mac(buf, payload, p);
  size_t total = payload + kTagSize;
  size_t enc = Base64UrlEncodedSize(total);
  if (enc > cap) return 0;
  Base64UrlEncode(buf, total, out);
  return enc;
}

std::string SignLifecycleValue(std::string_view secret, std::string_view stage,
                               std::string_view value) {
  std::string data = "lifecycle:";
  data += stage;
  data += ':';
  data += value;
  Sha256Digest d = HmacSha256(secret, data);
  char sig[Base64UrlEncodedSize(sizeof d)];
  Base64UrlEncode(d.data(), d.size(), sig);
  std::string out(value);
  out += '.';
  out.append(sig, kLifecycleSignatureLen);
  return out;
}

std::optional<std::string_view> ProfileCodec::SourceValue(const RequestView& rq,
                                                          const LifecycleSource& s,
                                                          std::string_view stage,
                                                          bool* rejected) const {
  std::optional<std::string_view> v = ReadSource(rq, s);
  if (!v || s.trust_client) return v;
  std::string_view t = TrimSpaces(*v);
  // An empty value claims nothing (a site clears its cookie so): absent, not forged.
  if (t.empty()) return std::nullopt;
  size_t dot = t.rfind('.');
  if (stage.size() > 16) return std::nullopt;  // "registered" or "orders"
  if (dot == std::string_view::npos || dot > kMaxLifecycleValue ||
      t.size() - dot - 1 != kLifecycleSignatureLen) {
    *rejected = true;
    return std::nullopt;
  }
  std::string_view value = t.substr(0, dot);
  // "lifecycle:" + stage + ":" + value, on the stack: the request path allocates nothing.
  constexpr std::string_view kPrefix = "lifecycle:";
  char buf[kPrefix.size() + 16 + 1 + kMaxLifecycleValue];
  size_t n = 0;
  std::memcpy(buf, kPrefix.data(), kPrefix.size());
  n += kPrefix.size();
  std::memcpy(buf + n, stage.data(), stage.size());
  n += stage.size();
  buf[n++] = ':';
  if (!value.empty()) std::memcpy(buf + n, value.data(), value.size());
  n += value.size();
  Sha256Digest d = lifecycle_key_.Sign(std::string_view(buf, n));
  char expected[Base64UrlEncodedSize(sizeof d)];
  Base64UrlEncode(d.data(), d.size(), expected);
  if (!TimingSafeEqual(expected, t.data() + dot + 1, kLifecycleSignatureLen)) {
    *rejected = true;
    return std::nullopt;
  }
  return value;
}

Lifecycle ProfileCodec::ObserveLifecycle(const RequestView& rq, bool* rejected) const {
  bool ignored = false;
  if (rejected == nullptr) rejected = &ignored;
  Lifecycle l = Lifecycle::kAnonymous;
  for (const LifecycleSource& s : options_.registered)
    if (auto v = SourceValue(rq, s, kLifecycleRegisteredStage, rejected); v && Truthy(*v))
      l = Lifecycle::kRegistered;
  for (const LifecycleSource& s : options_.orders) {
    auto v = SourceValue(rq, s, kLifecycleOrdersStage, rejected);
    if (!v || !Truthy(*v)) continue;
    std::string_view t = TrimSpaces(*v);
    long orders = 0;
    bool numeric = !t.empty() && t.size() < 10;
    for (char c : t) {
      if (c < '0' || c > '9') {
        numeric = false;
        break;
      }
      orders = orders * 10 + (c - '0');
    }
    if (!numeric) orders = 1;
    Lifecycle seen = orders >= 2 ? Lifecycle::kRepeatCustomer : Lifecycle::kCustomer;
    if (seen > l) l = seen;
  }
  return l;
}

// ---- InterestSet --------------------------------------------------------------------------

namespace {

struct InterestScratch {
  uint64_t owner = 0;  // InterestSet::instance_ the scratch was last sized for
  RegexScratch scratch;
};
thread_local InterestScratch tls_interest;

// '*' -> one path segment; a final '*' -> the rest of the path; everything else literal.
std::string GlobToRegex(std::string_view glob) {
  std::string re = "^";
  for (size_t i = 0; i < glob.size(); ++i) {
    char c = glob[i];
    if (c == '*') {
      re += i + 1 == glob.size() ? ".*" : "[^/]*";
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '/' || c == '-' || c == '_') {
      re += c;
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(c));
      re += hex;
    }
  }
  re += "$";
  return re;
}

struct MatchOut {
  const InterestSet* set;
  uint16_t* out;
  size_t n, count;
  uint64_t seen;
};

}  // namespace

Result<std::unique_ptr<InterestSet>> InterestSet::Create(std::vector<InterestDef> defs) {
  if (defs.size() > kMaxInterests)
    return Status::Error("too many interests (at most " + std::to_string(kMaxInterests) + ")");
  std::unique_ptr<InterestSet> s(new InterestSet());
  static std::atomic<uint64_t> next_instance{1};
  s->instance_ = next_instance.fetch_add(1);
  std::vector<RegexSet::Pattern> patterns;
  for (size_t i = 0; i < defs.size(); ++i) {
    uint16_t id = InterestId(defs[i].name);
    for (size_t j = 0; j < i; ++j) {
      if (defs[j].name == defs[i].name)
        return Status::Error("interest '" + defs[i].name + "' declared twice");
      if (s->ids_[j] == id)
        return Status::Error("interest names '" + defs[j].name + "' and '" + defs[i].name +
                             "' collide in the profile cookie; rename one");
    }
    s->names_.push_back(defs[i].name);
    s->ids_.push_back(id);
    for (const std::string& g : defs[i].paths) {
      if (g.size() > 1024) return Status::Error("interest path pattern too long");
      patterns.push_back({.regex = GlobToRegex(g), .id = static_cast<int>(i), .dotall = true,
                          .allow_empty = false});
    }
  }
  int failed = -1;
  std::string error;
  if (!s->paths_.Compile(patterns, &failed, &error))
    return Status::Error("interest paths: " + error);
  return s;
}

int InterestSet::Find(std::string_view name) const {
  for (size_t i = 0; i < names_.size(); ++i)
    if (names_[i] == name) return static_cast<int>(i);
  return -1;
}

std::string_view InterestSet::NameOfId(uint16_t id) const {
  for (size_t i = 0; i < ids_.size(); ++i)
    if (ids_[i] == id) return names_[i];
  return {};
}

bool InterestSet::PrepareThread() const {
  if (paths_.database() == nullptr) return true;
  if (tls_interest.owner == instance_ && tls_interest.scratch.get() != nullptr) return true;
  // Fit grows an existing scratch so it also serves this database.
  if (!tls_interest.scratch.Fit(paths_.database())) return false;
  tls_interest.owner = instance_;
  return true;
}

size_t InterestSet::Match(std::string_view path, uint16_t* out, size_t n) const {
  if (paths_.database() == nullptr || n == 0 || !PrepareThread()) return 0;
  MatchOut m{this, out, n, 0, 0};
  path = path.substr(0, 4096);
  paths_.Scan(
      path, tls_interest.scratch.get(),
      [](unsigned id, void* ctx) {
        auto* m = static_cast<MatchOut*>(ctx);
        if (id < 64 && !(m->seen >> id & 1) && m->count < m->n) {
          m->seen |= uint64_t{1} << id;
          m->out[m->count++] = m->set->id(id);
        }
        return 0;
      },
      &m);
  return m.count;
}

}  // namespace tailor
