// Visitor history in a first-party cookie: a compact binary profile (visits, page views,
// first/last seen, first- and last-touch medium/source, interest counters, lifecycle stage),
// HMAC-SHA256 signed with the site's secret and base64url-encoded (under 200 characters).
//
// ProfileCodec is built at config time (secret, cookie name, options) and is immutable. On the
// request path Decode / Update / Encode allocate nothing: the HMAC key schedule is computed
// once, the profile is a fixed-size struct, the cookie is written into a caller buffer.
//
// Cookie format v1 (before base64url):
//   u8 version(1) | u32 first_seen_s | u32 last_seen_s | u16 visits | u32 pageviews |
//   u8 first_medium | u8 last_medium | u8 lifecycle | u8 len + first_source |
//   u8 len + last_source | u8 n + n * (u16 interest id, u8 score) | 16-byte tag
// all little-endian; tag = HMAC-SHA256(secret, "tailor-profile" || payload)[0..16).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto.h"
#include "core/regex_set.h"
#include "core/request_view.h"
#include "core/status.h"
#include "signals/referrer_classifier.h"

namespace tailor {

enum class Lifecycle : uint8_t { kAnonymous, kRegistered, kCustomer, kRepeatCustomer };
inline constexpr int kLifecycleCount = 4;
std::string_view LifecycleName(Lifecycle l);  // "anonymous", "registered", ...

// Why an incoming profile cookie was or was not used. Anything but kAbsent/kValid means the
// cookie was ignored (the visitor is treated as new); callers count these.
enum class ProfileStatus : uint8_t {
  kAbsent, kValid, kBadEncoding, kBadSize, kBadSignature, kBadContent,
};
std::string_view ProfileStatusName(ProfileStatus s);  // "absent", "valid", "bad_encoding", ...

inline constexpr size_t kMaxSourceLen = 24;     // longer sources are cut
inline constexpr size_t kMaxInterestSlots = 8;  // strongest interests kept per visitor
inline constexpr size_t kMaxProfileCookie = 400;

// 16-bit id of an interest name, as stored in the cookie (stable when rules are reordered).
uint16_t InterestId(std::string_view name);

struct InterestCounter {
  uint16_t id;
  uint8_t score;
};

// Trivially copyable: lives in per-request memo slots.
struct VisitorProfile {
  uint32_t first_seen_s;
  uint32_t last_seen_s;
  uint16_t visits;
  uint32_t pageviews;
  Medium first_medium;
  Medium last_medium;
  Lifecycle lifecycle;
  uint8_t first_source_len, last_source_len;
  char first_source[kMaxSourceLen];
  char last_source[kMaxSourceLen];
  uint8_t interest_count;
  InterestCounter interests[kMaxInterestSlots];

  std::string_view first_source_view() const { return {first_source, first_source_len}; }
  std::string_view last_source_view() const { return {last_source, last_source_len}; }
  // Score of an interest id, 0 when absent.
  int InterestScore(uint16_t id) const;
  // The strongest interest (highest score, first on ties); false when none.
  bool TopInterest(uint16_t* id) const;
};

// Where the site tells Tailor who the visitor is (the lifecycle recipe): a cookie or header
// set at login and one carrying the order count set at purchase.
//
// A client can send any cookie or header, and the stage it claims is then kept in the signed
// profile. So a source is signed unless configured otherwise: its value must be
// "VALUE.SIGNATURE" (SignLifecycleValue), made by the site's backend with the same secret; a
// value without a valid signature counts as absent. `trust_client` sources (the directive's
// `unsigned:` prefix) take the value as sent, for sites where a forged stage does no harm.
struct LifecycleSource {
  enum class Kind : uint8_t { kCookie, kHeader } kind = Kind::kCookie;
  std::string name;
  bool trust_client = false;
};

// The stage names a lifecycle signature covers: "registered" and "orders".
inline constexpr std::string_view kLifecycleRegisteredStage = "registered";
inline constexpr std::string_view kLifecycleOrdersStage = "orders";
// The signature of a signed lifecycle value: the first 22 characters (132 bits) of
// base64url(HMAC-SHA256(secret, "lifecycle:" + STAGE + ":" + VALUE)), unpadded — a
// string cut any backend does in one line. The stage is part of the MAC, so a signed
// "registered" marker is no order count.
inline constexpr size_t kLifecycleSignatureLen = 22;
// Longer signed values are refused: a count or a marker is a few characters.
inline constexpr size_t kMaxLifecycleValue = 64;
// "VALUE.SIGNATURE", the cookie or header value the site sets (tailorc sign; the backend
// recipe in docs/privacy.md computes the same). Configuration time and tools: allocates.
std::string SignLifecycleValue(std::string_view secret, std::string_view stage,
                               std::string_view value);

struct ProfileOptions {
  std::string cookie_name = "tailor_profile";
  int64_t visit_timeout_ms = 30 * 60 * 1000;  // a new visit after this much idle time
  int interest_cap = 100;                     // counters saturate here (<= 255)
  int interest_half_life_days = 30;           // scores halve per this many idle days
  // Present and not "0"/"false"/empty: the visitor is (at least) registered.
  std::vector<LifecycleSource> registered;
  // A number of orders: >= 1 customer, >= 2 repeat customer (non-numeric and non-empty
  // counts as 1).
  std::vector<LifecycleSource> orders;
};

// What this request contributes to the profile.
struct ProfileUpdate {
  int64_t now_ms = 0;
  Medium medium = Medium::kDirect;  // this request's referrer.medium
  std::string_view source;          // this request's referrer.source
  std::span<const uint16_t> interests;  // ids of the interests this page matches
  Lifecycle lifecycle = Lifecycle::kAnonymous;  // observed on this request
};

class ProfileCodec {
 public:
  // The secret must be at least 32 bytes (the `tailor_secret FILE` contents).
  static Result<std::unique_ptr<ProfileCodec>> Create(std::string_view secret,
                                                      ProfileOptions options);
  // Reads the secret file with LoadSecret (core/secret.h), as nginx's tailor_secret does.
  static Result<std::unique_ptr<ProfileCodec>> CreateFromFile(const std::string& secret_path,
                                                              ProfileOptions options);

  const ProfileOptions& options() const { return options_; }

  // Verifies and decodes a cookie value. On anything but kValid `*out` is zeroed.
  ProfileStatus Decode(std::string_view cookie_value, VisitorProfile* out) const;
  // Starts a profile for a new visitor or advances an existing one for this request.
  void Update(VisitorProfile* p, bool is_new, const ProfileUpdate& u) const;
  // Writes the cookie value (base64url) into out; returns its length, 0 if cap is too small.
  size_t Encode(const VisitorProfile& p, char* out, size_t cap) const;
  // The lifecycle stage the request's cookies/headers declare (see ProfileOptions). A signed
  // source whose value is present but not validly signed counts as absent and sets *rejected
  // (when given), so the caller can count forged or stale values.
  Lifecycle ObserveLifecycle(const RequestView& request, bool* rejected = nullptr) const;

 private:
  ProfileCodec() = default;
  void Mac(const uint8_t* data, size_t len, uint8_t tag[16]) const;
  // A source's value: as sent when the client is trusted, else only when validly signed.
  std::optional<std::string_view> SourceValue(const RequestView& rq, const LifecycleSource& s,
                                              std::string_view stage, bool* rejected) const;

  ProfileOptions options_;
  // HMAC-SHA256 key schedule: SHA-256 states after absorbing key^ipad and key^opad.
  alignas(8) unsigned char inner_[128];
  alignas(8) unsigned char outer_[128];
  HmacSha256Key lifecycle_key_;  // verifies signed lifecycle values
};

// Interests: `interest NAME paths ["/shoes/*", "/p/sneakers-*"]` in the rules. The set is
// compiled once (all globs in one vectorscan database) and matched against the request path.
// Glob syntax as for pages: '*' matches within one path segment; a final '*' matches the rest.
struct InterestDef {
  std::string name;
  std::vector<std::string> paths;
};

class InterestSet {
 public:
  static constexpr size_t kMaxInterests = 64;
  static Result<std::unique_ptr<InterestSet>> Create(std::vector<InterestDef> defs);

  size_t size() const { return names_.size(); }
  const std::string& name(size_t index) const { return names_[index]; }
  uint16_t id(size_t index) const { return ids_[index]; }
  // Index of an interest by name; -1 when not declared.
  int Find(std::string_view name) const;
  // Name of an interest id (for interest.top); empty when not declared.
  std::string_view NameOfId(uint16_t id) const;
  // Writes the ids of the interests `path` matches into out (capacity n); returns the count.
  // Uses the calling thread's scratch (PrepareThread at worker start avoids allocating).
  size_t Match(std::string_view path, uint16_t* out, size_t n) const;
  bool PrepareThread() const;

 private:
  InterestSet() = default;
  RegexSet paths_;  // every interest's globs; a pattern's id is its interest's index
  uint64_t instance_ = 0;  // unique per set: keys the per-thread scratch
  std::vector<std::string> names_;
  std::vector<uint16_t> ids_;
};

}  // namespace tailor
