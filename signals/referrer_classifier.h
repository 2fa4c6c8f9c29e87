// ReferrerClassifier: why the visitor came. Turns the Referer header and the landing URL's
// query (utm_* parameters, ad click IDs) into a medium (search, social, email, paid, ...), a
// source ("google", "linkedin", "chatgpt") and, where the referrer URL carries it, the search
// term. Built at config time from built-in knowledge plus, optionally, a referer-parser style
// YAML database; immutable afterwards. Classify() allocates nothing: host lookups go through
// one open-addressing hash table (a few probes per host label, never a loop over patterns).
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/arena.h"
#include "core/diagnostic.h"

namespace tailor {

enum class Medium : uint8_t {
  kDirect,
  kInternal,
  kSearch,
  kSocial,
  kEmail,
  kPaid,
  kDisplay,
  kAffiliate,
  kJobs,
  kChatbot,
  kUnknown,
};
inline constexpr int kMediumCount = 11;

// "direct", "internal", "search", ... (the rule-language spelling).
std::string_view MediumName(Medium m);
// Inverse of MediumName; false when `name` is not a medium.
bool ParseMediumName(std::string_view name, Medium* out);
// Maps a free-form utm_medium ("cpc", "e-mail", "Social") to a medium; false when unknown.
bool MediumFromUtm(std::string_view utm_medium, Medium* out);

struct ReferrerResult {
  Medium medium = Medium::kDirect;
  std::string_view source;  // lowercase; empty for direct/internal. Classifier tables or arena.
  std::string_view term;    // decoded search words, empty when the URL carries none
  bool from_campaign = false;  // decided by utm_* or a click ID rather than the Referer
};

// The utm_* values of a landing query, percent-decoded ('+' is a space); empty when absent.
struct CampaignParams {
  std::string_view source, medium, campaign, term, content;
  // Name of the first ad click ID present ("gclid", "msclkid", ...), empty when none.
  std::string_view click_id;
};
// Reads the campaign parameters of a raw query string. Values longer than 256 bytes are cut.
// Decoding goes to the arena; when the arena is full the value stays empty.
CampaignParams ParseCampaignParams(std::string_view raw_query, Arena& arena);

// The parts of an absolute URL the classifier needs (no allocation: views into the input).
struct UrlParts {
  std::string_view scheme, host, path, query;
  bool ok = false;  // false: not "scheme://host..." (the other fields are then empty)
};
UrlParts SplitUrl(std::string_view url);

class ReferrerClassifier {
 public:
  // Built-in knowledge only (major search engines, social networks, webmail, job boards,
  // AI assistants, ad and affiliate networks).
  ReferrerClassifier();

  // Adds a referer-parser style YAML database (the `tailor_referrers FILE` directive). Its
  // entries take precedence over the built-in ones. Mistakes in the file (and I/O failures,
  // at line 0) are reported to `diags`; returns false when anything was reported as an error.
  bool LoadDatabaseFile(const std::string& path, Diagnostics& diags);
  // Same, from text already in memory; `file_name` is used in diagnostics.
  bool LoadDatabaseText(std::string_view text, std::string_view file_name, Diagnostics& diags);

  // Classifies one request. `referer` is the raw Referer header (empty when absent),
  // `request_host` the request's Host (without port), `landing_query` the raw query of the
  // requested URL, `own_hosts` hosts that count as internal (an entry "example.com" also
  // covers its subdomains). Precedence: utm_medium, then click IDs, then the Referer.
  // Strings that are not in the tables (unknown hosts, decoded terms, utm_source) are copied
  // into `arena`; when it is full they are left empty.
  ReferrerResult Classify(std::string_view referer, std::string_view request_host,
                          std::string_view landing_query,
                          std::span<const std::string_view> own_hosts, Arena& arena) const;

  // Classifies only the Referer part (no campaign parameters).
  ReferrerResult ClassifyReferer(std::string_view referer, std::string_view request_host,
                                 std::span<const std::string_view> own_hosts,
                                 Arena& arena) const;

  size_t host_count() const { return entries_.size(); }

 private:
  struct Entry {
    std::string host;         // lowercase; "google.*" matches any public suffix
    std::string path_prefix;  // empty: whole host
    Medium medium;
    uint32_t source;          // index into sources_
    uint32_t params_begin, params_end;  // search-term parameter names in params_
    uint32_t next;            // next entry with the same host (kNone when last)
    bool builtin;             // built-in knowledge: a loaded database replaces it
    bool chained = false;     // reached through another entry's `next` (not a slot head)
  };
  static constexpr uint32_t kNone = UINT32_MAX;

  void AddEntry(std::string_view host, std::string_view path_prefix, Medium medium,
                std::string_view source, std::span<const std::string_view> params,
                bool builtin);
  uint32_t InternSource(std::string_view source);
  uint32_t FindHost(std::string_view host) const;  // first entry index or kNone
  void InsertSlot(uint32_t entry);
  void Rehash(size_t slots);
  const Entry* Match(std::string_view host, std::string_view path) const;

  std::vector<Entry> entries_;
  std::vector<uint32_t> slots_;       // open addressing: entry index or kNone
  std::deque<std::string> sources_;   // stable storage for source names
  std::vector<std::string> params_;
};

}  // namespace tailor
