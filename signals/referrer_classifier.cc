#include "signals/referrer_classifier.h"

#include <xxhash.h>
#include <yaml.h>

#include <algorithm>
#include <cstring>
#include <functional>

#include "core/file.h"
#include "core/request_view.h"
#include "core/text.h"

namespace tailor {
namespace {

constexpr std::string_view kMediumNames[kMediumCount] = {
    "direct", "internal", "search",    "social", "email",  "paid",
    "display", "affiliate", "jobs", "chatbot", "unknown"};

// Longest host we look up (DNS limit); longer hosts are "unknown" with no source.
constexpr size_t kMaxHost = 253;
// Longest decoded value we keep (search terms, utm values): bounded output for hostile URLs.
constexpr size_t kMaxValue = 256;

uint64_t HashHost(std::string_view s) { return XXH3_64bits(s.data(), s.size()); }

// Cuts s to at most n bytes without splitting a UTF-8 sequence.
std::string_view CutUtf8(std::string_view s, size_t n) {
  if (s.size() <= n) return s;
  size_t end = n;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(0, end);
}

std::optional<std::string_view> DecodeValue(std::string_view raw, Arena& arena) {
  auto v = PercentDecode(CutUtf8(raw, kMaxValue * 3), arena, /*plus_as_space=*/true);
  if (!v) return std::nullopt;
  return CutUtf8(TrimSpaces(*v), kMaxValue);
}

// Lowercase copy into the arena, for sources taken from utm_source or unknown hosts.
std::string_view LowerCopy(std::string_view s, Arena& arena) {
  char* p = arena.AllocateChars(s.size());
  if (p == nullptr) return {};
  for (size_t i = 0; i < s.size(); ++i) p[i] = AsciiLower(s[i]);
  return {p, s.size()};
}

struct ClickId {
  std::string_view param;
  std::string_view network;
};
// Ad networks' click identifiers: their presence means a paid click from that network.
constexpr ClickId kClickIds[] = {
#include "signals/data/referrer_click_ids.inc"
};

struct UtmAlias {
  std::string_view name;
  Medium medium;
};
// Common utm_medium spellings (compared case-insensitively).
constexpr UtmAlias kUtmMediums[] = {
#include "signals/data/referrer_utm_mediums.inc"
};

struct BuiltinReferrer {
  const char* host;  // "google.*": any public suffix; "host/path": a path prefix
  Medium medium;
  const char* source;
  const char* params;  // comma-separated search-term parameters
};

// Built-in knowledge, from the services' own published URL formats.
const BuiltinReferrer kBuiltin[] = {
#include "signals/data/referrer_hosts.inc"
};

// Second-level labels under which country TLDs register names ("google.co.uk").
bool IsSecondLevelLabel(std::string_view label) {
  static constexpr std::string_view kLabels[] = {"co", "com", "net", "org", "ac", "gov",
                                                 "edu", "ne", "or", "gob", "go", "gv"};
  for (std::string_view l : kLabels)
    if (label == l) return true;
  return false;
}

// Length of the public-suffix-like tail of a lowercase host: "uk" of "a.uk", "co.uk" of
// "google.co.uk", "com" of "google.com". 0 when the host has a single label.
size_t PublicSuffixLength(std::string_view host) {
  size_t dot = host.rfind('.');
  if (dot == std::string_view::npos) return 0;
  std::string_view tld = host.substr(dot + 1);
  size_t len = tld.size();
  if (tld.size() == 2) {
    size_t prev = host.rfind('.', dot - 1);
    if (prev != std::string_view::npos) {
      std::string_view second = host.substr(prev + 1, dot - prev - 1);
      if (IsSecondLevelLabel(second)) len = host.size() - prev - 1;
    }
  }
  return len;
}

bool HostIsOrUnder(std::string_view host, std::string_view base) {
  if (base.empty()) return false;
  if (base.front() == '.') base.remove_prefix(1);
  if (host.size() == base.size()) return EqualsIgnoreCase(host, base);
  return host.size() > base.size() && host[host.size() - base.size() - 1] == '.' &&
         EndsWithIgnoreCase(host, base);
}

std::string_view StripWww(std::string_view host) {
  if (host.size() > 4 && StartsWithIgnoreCase(host, "www.")) host.remove_prefix(4);
  return host;
}

std::string NormalizeSourceName(std::string_view name) {
  std::string out;
  for (char c : name) out += c == ' ' ? '-' : AsciiLower(c);
  return out;
}

}  // namespace

std::string_view MediumName(Medium m) {
  auto i = static_cast<size_t>(m);
  return i < kMediumCount ? kMediumNames[i] : "unknown";
}

bool ParseMediumName(std::string_view name, Medium* out) {
  for (int i = 0; i < kMediumCount; ++i)
    if (kMediumNames[i] == name) {
      *out = static_cast<Medium>(i);
      return true;
    }
  return false;
}

bool MediumFromUtm(std::string_view utm_medium, Medium* out) {
  utm_medium = TrimSpaces(utm_medium);
  for (const UtmAlias& a : kUtmMediums)
    if (EqualsIgnoreCase(a.name, utm_medium)) {
      *out = a.medium;
      return true;
    }
  for (int i = 0; i < kMediumCount; ++i)
    if (EqualsIgnoreCase(kMediumNames[i], utm_medium)) {
      *out = static_cast<Medium>(i);
      return true;
    }
  return false;
}

CampaignParams ParseCampaignParams(std::string_view raw_query, Arena& arena) {
  CampaignParams c;
  // One pass over the query: the first occurrence of each parameter wins.
  ForEachPair(raw_query, '&', /*trim=*/false, [&](std::string_view k, std::string_view v) {
    std::string_view* slot = nullptr;
    if (k.size() > 4 && k.substr(0, 4) == "utm_") {
      std::string_view name = k.substr(4);
      if (name == "source") slot = &c.source;
      else if (name == "medium") slot = &c.medium;
      else if (name == "campaign") slot = &c.campaign;
      else if (name == "term") slot = &c.term;
      else if (name == "content") slot = &c.content;
    } else if (c.click_id.empty()) {
      for (const ClickId& id : kClickIds)
        if (k == id.param && !v.empty()) {
          c.click_id = id.param;
          break;
        }
    }
    if (slot != nullptr && slot->empty()) {
      if (auto d = DecodeValue(v, arena)) *slot = *d;
    }
    return true;
  });
  return c;
}

UrlParts SplitUrl(std::string_view url) {
  UrlParts p;
  url = TrimSpaces(url);
  size_t sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0 || sep > 32) return p;
  for (char c : url.substr(0, sep)) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '-' || c == '.';
    if (!ok) return p;
  }
  std::string_view rest = url.substr(sep + 3);
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view tail = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority.remove_prefix(at + 1);
  std::string_view host = authority;
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    if (close == std::string_view::npos) return p;
    host = host.substr(0, close + 1);
  } else {
    size_t colon = host.find(':');
    if (colon != std::string_view::npos) host = host.substr(0, colon);
  }
  while (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty()) return p;
  size_t hash = tail.find('#');
  if (hash != std::string_view::npos) tail = tail.substr(0, hash);
  size_t q = tail.find('?');
  p.scheme = url.substr(0, sep);
  p.host = host;
  p.path = tail.substr(0, q);
  p.query = q == std::string_view::npos ? std::string_view() : tail.substr(q + 1);
  p.ok = true;
  return p;
}

ReferrerClassifier::ReferrerClassifier() {
  for (const BuiltinReferrer& b : kBuiltin) {
    std::string_view host = b.host, path;
    // "android-app://pkg" keys are stored as the bare package name ("pkg").
    if (size_t sep = host.find("://"); sep != std::string_view::npos) host.remove_prefix(sep + 3);
    if (size_t slash = host.find('/'); slash != std::string_view::npos) {
      path = host.substr(slash);
      host = host.substr(0, slash);
    }
    std::vector<std::string_view> params;
    std::string_view ps = b.params;
    while (!ps.empty()) {
      size_t comma = ps.find(',');
      params.push_back(ps.substr(0, comma));
      ps = comma == std::string_view::npos ? std::string_view() : ps.substr(comma + 1);
    }
    AddEntry(host, path, b.medium, b.source, params, /*builtin=*/true);
  }
}

uint32_t ReferrerClassifier::InternSource(std::string_view source) {
  for (size_t i = sources_.size(); i-- > 0;)
    if (sources_[i] == source) return static_cast<uint32_t>(i);
  sources_.emplace_back(source);
  return static_cast<uint32_t>(sources_.size() - 1);
}

void ReferrerClassifier::Rehash(size_t slots) {
  slots_.assign(slots, kNone);
  for (uint32_t i = 0; i < entries_.size(); ++i) {
    // Only chain heads live in slots.
    if (!entries_[i].chained && !entries_[i].host.empty()) InsertSlot(i);
  }
}

void ReferrerClassifier::InsertSlot(uint32_t entry) {
  size_t mask = slots_.size() - 1;
  size_t i = HashHost(entries_[entry].host) & mask;
  while (slots_[i] != kNone) i = (i + 1) & mask;
  slots_[i] = entry;
}

uint32_t ReferrerClassifier::FindHost(std::string_view host) const {
  if (slots_.empty()) return kNone;
  size_t mask = slots_.size() - 1;
  size_t i = HashHost(host) & mask;
  while (slots_[i] != kNone) {
    if (entries_[slots_[i]].host == host) return slots_[i];
    i = (i + 1) & mask;
  }
  return kNone;
}

void ReferrerClassifier::AddEntry(std::string_view host, std::string_view path_prefix,
                                  Medium medium, std::string_view source,
                                  std::span<const std::string_view> params, bool builtin) {
  std::string key;
  for (char c : host) key += AsciiLower(c);
  if (key.empty()) return;
  Entry e;
  e.host = key;
  e.path_prefix = std::string(path_prefix);
  e.medium = medium;
  e.source = InternSource(source);
  e.params_begin = static_cast<uint32_t>(params_.size());
  for (std::string_view p : params)
    if (!p.empty()) params_.emplace_back(p);
  e.params_end = static_cast<uint32_t>(params_.size());
  e.next = kNone;
  e.builtin = builtin;

  uint32_t head = FindHost(key);
  if (head != kNone && !builtin && entries_[head].builtin) {
    // A loaded database replaces the built-in knowledge of this host: unlink built-ins.
    uint32_t keep = kNone, *link = &keep;
    for (uint32_t i = head; i != kNone; i = entries_[i].next)
      if (!entries_[i].builtin) {
        *link = i;
        link = &entries_[i].next;
      }
    *link = kNone;
    for (uint32_t i = head; i != kNone;) {
      uint32_t next = entries_[i].next;
      if (entries_[i].builtin) entries_[i].host.clear();  // dead entry
      i = next;
    }
    // Re-point the slot at the surviving chain (or the new entry).
    size_t mask = slots_.size() - 1;
    size_t s = HashHost(key) & mask;
    while (slots_[s] != head) s = (s + 1) & mask;
    if (keep == kNone) {
      entries_.push_back(std::move(e));
      slots_[s] = static_cast<uint32_t>(entries_.size() - 1);
      return;
    }
    slots_[s] = keep;
    entries_[keep].chained = false;
    head = keep;
  }
  entries_.push_back(std::move(e));
  uint32_t index = static_cast<uint32_t>(entries_.size() - 1);
  if (head != kNone) {
    uint32_t last = head;
    while (entries_[last].next != kNone) last = entries_[last].next;
    entries_[last].next = index;
    entries_[index].chained = true;
    return;
  }
  if (slots_.empty() || (entries_.size() + 1) * 2 > slots_.size()) {
    Rehash(slots_.empty() ? 512 : slots_.size() * 2);
  } else {
    InsertSlot(index);
  }
}

const ReferrerClassifier::Entry* ReferrerClassifier::Match(std::string_view host,
                                                            std::string_view path) const {
  uint32_t i = FindHost(host);
  const Entry* best = nullptr;
  for (; i != kNone; i = entries_[i].next) {
    const Entry& e = entries_[i];
    if (!e.path_prefix.empty() && !path.starts_with(e.path_prefix)) continue;
    if (best == nullptr || e.path_prefix.size() > best->path_prefix.size()) best = &e;
  }
  return best;
}

ReferrerResult ReferrerClassifier::ClassifyReferer(std::string_view referer,
                                                   std::string_view request_host,
                                                   std::span<const std::string_view> own_hosts,
                                                   Arena& arena) const {
  ReferrerResult r;
  referer = TrimSpaces(referer);
  if (referer.empty()) return r;  // direct
  r.medium = Medium::kUnknown;
  UrlParts url = SplitUrl(referer);
  if (!url.ok || url.host.size() > kMaxHost) return r;

  char buf[kMaxHost + 8];
  for (size_t i = 0; i < url.host.size(); ++i) buf[i] = AsciiLower(url.host[i]);
  std::string_view host(buf, url.host.size());

  if (!request_host.empty() && EqualsIgnoreCase(StripWww(host), StripWww(request_host))) {
    r.medium = Medium::kInternal;
    return r;
  }
  for (std::string_view own : own_hosts)
    if (HostIsOrUnder(host, own)) {
      r.medium = Medium::kInternal;
      return r;
    }

  // Exact host, then each parent domain down to (not including) the public suffix; then the
  // same with the public suffix replaced by "*" ("www.google.co.uk" -> "google.*").
  const Entry* e = nullptr;
  size_t suffix = PublicSuffixLength(host);
  std::string_view h = host;
  while (e == nullptr && h.size() > suffix) {
    e = Match(h, url.path);
    size_t dot = h.find('.');
    if (dot == std::string_view::npos) break;
    h.remove_prefix(dot + 1);
  }
  if (e == nullptr && suffix > 0 && suffix < host.size()) {
    std::string_view base = host.substr(0, host.size() - suffix);  // "www.google."
    char wild[kMaxHost + 8];
    while (e == nullptr && !base.empty()) {
      std::memcpy(wild, base.data(), base.size());
      wild[base.size()] = '*';
      e = Match(std::string_view(wild, base.size() + 1), url.path);
      size_t dot = base.find('.');
      if (dot == std::string_view::npos || dot + 1 >= base.size()) break;
      base.remove_prefix(dot + 1);
    }
  }
  if (e == nullptr) {
    // A referral from a site we do not know: the source is its host without "www.".
    r.source = LowerCopy(StripWww(host), arena);
    return r;
  }
  r.medium = e->medium;
  r.source = sources_[e->source];
  for (uint32_t p = e->params_begin; p < e->params_end && r.term.empty(); ++p) {
    if (auto raw = FindQueryParamIn(url.query, params_[p]); raw && !raw->empty()) {
      if (auto d = DecodeValue(*raw, arena)) r.term = *d;
    }
  }
  return r;
}

ReferrerResult ReferrerClassifier::Classify(std::string_view referer,
                                            std::string_view request_host,
                                            std::string_view landing_query,
                                            std::span<const std::string_view> own_hosts,
                                            Arena& arena) const {
  ReferrerResult r = ClassifyReferer(referer, request_host, own_hosts, arena);
  if (landing_query.empty()) return r;
  CampaignParams c = ParseCampaignParams(landing_query, arena);
  Medium m;
  if (!c.medium.empty()) {
    r.medium = MediumFromUtm(c.medium, &m) ? m : Medium::kUnknown;
    r.source = c.source.empty() ? std::string_view() : LowerCopy(c.source, arena);
    r.term = c.term;
    r.from_campaign = true;
  } else if (!c.click_id.empty()) {
    r.medium = Medium::kPaid;
    r.source = {};
    for (const ClickId& id : kClickIds)
      if (id.param == c.click_id) r.source = id.network;
    if (!c.source.empty()) r.source = LowerCopy(c.source, arena);
    if (!c.term.empty()) r.term = c.term;
    r.from_campaign = true;
  } else if (!c.source.empty()) {
    // utm_source alone names the source; the medium stays what the Referer says, or
    // "unknown" when the visit would otherwise look direct or internal.
    if (r.medium == Medium::kDirect || r.medium == Medium::kInternal) r.medium = Medium::kUnknown;
    r.source = LowerCopy(c.source, arena);
    if (!c.term.empty()) r.term = c.term;
    r.from_campaign = true;
  }
  return r;
}

// ---- referer-parser YAML database ----------------------------------------------------------
//
// The format (referer-parser's referers.yml), read with libyaml's event parser:
//   medium:            (unknown, email, social, search, paid, chatbot, ...)
//     Source Name:
//       parameters:    (optional: the query parameters holding the search term)
//         - q
//       domains:
//         - example.com
//         - example.com/path
// A structure that is not this is a Diagnostic at the node's line and column, and the rest of
// the file is still read; a YAML syntax error (libyaml's message and position) ends the read.

namespace {

// One source of the database as read: its entries are added when its mapping ends.
struct DatabaseSource {
  Medium medium = Medium::kUnknown;
  std::string name;
  std::vector<std::string> params, domains;
};

class DatabaseReader {
 public:
  using AddFn = std::function<void(const DatabaseSource&)>;
  DatabaseReader(std::string_view text, const std::string& file, Diagnostics& diags, AddFn add)
      : text_(text), file_(file), diags_(diags), add_(std::move(add)) {
    yaml_parser_initialize(&parser_);
    yaml_parser_set_input_string(&parser_, reinterpret_cast<const unsigned char*>(text.data()),
                                 text.size());
  }
  ~DatabaseReader() {
    Release();
    yaml_parser_delete(&parser_);
  }
  DatabaseReader(const DatabaseReader&) = delete;
  DatabaseReader& operator=(const DatabaseReader&) = delete;

  // Every document of the stream.
  void Read() {
    if (!Next()) return;  // the stream's start
    while (Next() && event_.type == YAML_DOCUMENT_START_EVENT) {
      if (!Next()) return;
      Root();
      if (!Next()) return;  // the document's end
    }
  }

 private:
  // The next event into event_; false (the syntax error reported) when there is none.
  bool Next() {
    Release();
    if (failed_) return false;
    if (!yaml_parser_parse(&parser_, &event_)) {
      failed_ = true;
      ReportSyntaxError();
      return false;
    }
    have_event_ = true;
    return true;
  }
  void Release() {
    if (have_event_) yaml_event_delete(&event_);
    have_event_ = false;
  }
  void ReportSyntaxError() {
    std::string msg = parser_.problem != nullptr ? parser_.problem : "malformed YAML";
    if (parser_.context != nullptr) msg += std::string(" ") + parser_.context;
    yaml_mark_t mark = parser_.problem_mark;
    if (parser_.error == YAML_READER_ERROR) {  // bad encoding: libyaml gives only the offset
      size_t offset = std::min(parser_.problem_offset, text_.size());
      std::string_view before = text_.substr(0, offset);
      size_t nl = before.rfind('\n');
      mark.line = static_cast<size_t>(std::count(before.begin(), before.end(), '\n'));
      mark.column = nl == std::string_view::npos ? offset : offset - nl - 1;
    }
    Report(Severity::kError, mark, "YAML: " + msg);
  }
  void Report(Severity severity, const yaml_mark_t& mark, std::string msg) {
    int line = static_cast<int>(mark.line) + 1;
    std::string_view source = SourceLine(text_, line);
    if (!source.empty() && source.back() == '\r') source.remove_suffix(1);
    if (severity == Severity::kError)
      diags_.Error(file_, line, static_cast<int>(mark.column) + 1, std::move(msg),
                   std::string(source));
    else
      diags_.Warning(file_, line, static_cast<int>(mark.column) + 1, std::move(msg),
                     std::string(source));
  }
  void Error(std::string msg) { Report(Severity::kError, event_.start_mark, std::move(msg)); }

  bool Is(yaml_event_type_t type) const { return event_.type == type; }
  std::string_view Scalar() const {
    return {reinterpret_cast<const char*>(event_.data.scalar.value), event_.data.scalar.length};
  }
  // An empty value (`key:` with nothing after it) or `~`.
  bool IsNull() const {
    return Is(YAML_SCALAR_EVENT) && event_.data.scalar.plain_implicit &&
           (Scalar().empty() || Scalar() == "~");
  }
  // Skips the node event_ starts.
  void Skip() {
    int depth = Is(YAML_MAPPING_START_EVENT) || Is(YAML_SEQUENCE_START_EVENT) ? 1 : 0;
    while (depth > 0 && Next()) {
      if (Is(YAML_MAPPING_START_EVENT) || Is(YAML_SEQUENCE_START_EVENT)) ++depth;
      if (Is(YAML_MAPPING_END_EVENT) || Is(YAML_SEQUENCE_END_EVENT)) --depth;
    }
  }
  // Skips the value after a key event_ that is not read.
  void SkipPair() {
    Skip();
    if (Next()) Skip();
  }

  // event_: the document's node, a mapping of media.
  void Root() {
    if (IsNull()) return;
    if (Is(YAML_SCALAR_EVENT)) return Error("expected a medium name followed by ':'");
    if (!Is(YAML_MAPPING_START_EVENT)) {
      Error("expected media (search:, social:, ...) with their sources");
      return Skip();
    }
    while (Next() && !Is(YAML_MAPPING_END_EVENT)) {
      if (!Is(YAML_SCALAR_EVENT)) {
        Error("expected a medium name followed by ':'");
        SkipPair();
        continue;
      }
      std::string name(Scalar());
      Medium m;
      if (!ParseMediumName(name, &m) || m == Medium::kDirect || m == Medium::kInternal) {
        Error("unknown medium '" + name +
              "' (expected unknown, search, social, email, paid, display, affiliate, jobs or "
              "chatbot)");
        SkipPair();
        continue;
      }
      if (!Next()) return;
      if (Is(YAML_MAPPING_START_EVENT)) {
        Sources(m);
      } else if (!IsNull()) {
        Error(Is(YAML_SEQUENCE_START_EVENT) ? "list item outside 'domains:' or 'parameters:'"
                                            : "expected source names under '" + name + "'");
        Skip();
      }
    }
  }

  // event_: the start of a medium's mapping of sources.
  void Sources(Medium medium) {
    while (Next() && !Is(YAML_MAPPING_END_EVENT)) {
      if (!Is(YAML_SCALAR_EVENT)) {
        Error("expected a source name followed by ':'");
        SkipPair();
        continue;
      }
      DatabaseSource source;
      source.medium = medium;
      source.name = std::string(Scalar());
      if (source.name.empty()) Error("empty source name");
      if (!Next()) return;
      if (Is(YAML_MAPPING_START_EVENT)) {
        if (!SourceKeys(source)) return;
      } else if (!IsNull()) {
        Error("expected 'domains:' and 'parameters:' under '" + source.name + "'");
        Skip();
      }
      if (!source.name.empty()) add_(source);
    }
  }

  // event_: the start of a source's mapping. False when a syntax error ended the read.
  bool SourceKeys(DatabaseSource& source) {
    while (Next() && !Is(YAML_MAPPING_END_EVENT)) {
      std::string_view key = Is(YAML_SCALAR_EVENT) ? Scalar() : std::string_view();
      if (key == "domains" || key == "parameters") {
        bool domains = key == "domains";
        if (!Next()) return false;
        List(domains ? &source.domains : &source.params, domains);
        continue;
      }
      if (Is(YAML_SCALAR_EVENT)) {
        Report(Severity::kWarning, event_.start_mark,
               "unknown key '" + std::string(key) + "' (expected domains or parameters)");
      } else {
        Error("expected 'domains:' or 'parameters:'");
      }
      SkipPair();
    }
    return !failed_;
  }

  // event_: the value of `domains:` (hosts, optionally with a path) or `parameters:`.
  void List(std::vector<std::string>* out, bool hosts) {
    if (IsNull()) return;
    if (!Is(YAML_SEQUENCE_START_EVENT)) {
      Error("expected a list of '- ITEM' lines");
      return Skip();
    }
    while (Next() && !Is(YAML_SEQUENCE_END_EVENT)) {
      std::string_view item = Is(YAML_SCALAR_EVENT) ? Scalar() : std::string_view();
      if (item.empty()) {
        Error(Is(YAML_SCALAR_EVENT)  ? "empty list item"
              : Is(YAML_ALIAS_EVENT) ? "YAML aliases (*NAME) are not supported here"
              : hosts                ? "not a host name"
                                     : "not a parameter name");
        Skip();
      } else if (hosts && (item.size() > 300 || item.find_first_of(" \t") != item.npos)) {
        Error("not a host name");
      } else {
        out->emplace_back(item);
      }
    }
  }

  std::string_view text_;
  const std::string& file_;
  Diagnostics& diags_;
  AddFn add_;
  yaml_parser_t parser_;
  yaml_event_t event_;
  bool have_event_ = false;
  bool failed_ = false;  // a syntax error ended the read
};

}  // namespace

bool ReferrerClassifier::LoadDatabaseFile(const std::string& path, Diagnostics& diags) {
  // A database is a few thousand hosts (referers.yml: 85 KB); kMaxEntries bounds what is kept.
  constexpr size_t kMaxDatabaseBytes = 16 << 20;
  FileReadFailure failure;
  Result<std::string> text = ReadFileLimited(path, kMaxDatabaseBytes, &failure);
  if (!text.ok()) {
    diags.Error(path, 0, 0,
                failure.kind == FileReadFailure::Kind::kCannotOpen ? "cannot open referrer database"
                                                                  : text.status().message());
    return false;
  }
  return LoadDatabaseText(text.value(), path, diags);
}

bool ReferrerClassifier::LoadDatabaseText(std::string_view text, std::string_view file_name,
                                          Diagnostics& diags) {
  const std::string file(file_name);
  size_t errors_before = diags.error_count();
  constexpr size_t kMaxEntries = 200000;  // explicit limit: a database is a few thousand hosts
  DatabaseReader reader(text, file, diags, [&](const DatabaseSource& source) {
    std::vector<std::string_view> params(source.params.begin(), source.params.end());
    std::string name = NormalizeSourceName(source.name);
    for (const std::string& d : source.domains) {
      if (entries_.size() >= kMaxEntries) break;
      std::string_view host = d, path;
      if (size_t slash = host.find('/'); slash != std::string_view::npos) {
        path = host.substr(slash);
        host = host.substr(0, slash);
      }
      AddEntry(host, path, source.medium, name, params, /*builtin=*/false);
    }
  });
  reader.Read();
  return diags.error_count() == errors_before;
}

}  // namespace tailor
