// DeviceClassifier: the UA patterns compiled into one database (core/regex_set.h), the scan,
// the per-thread workspace and its UA cache. Decisions: device_decision.cc; the fast path:
// device_fast_path.*; the patterns: data/device_patterns.inc.
#include "signals/device_classifier.h"

#include <xxhash.h>

#include <atomic>
#include <string>
#include <vector>

#include "signals/device_fast_path.h"

namespace tailor {

using namespace device_internal;

namespace {

struct Pattern {
  Feature feature;
  const char* regex;
  bool caseless = true;  // vendor model codes (AFTxx, KFxx) are matched as written
};

// Written from the vendors' documented UA formats (Apple, Google/Android, Microsoft, Mozilla,
// Samsung, Amazon, LG webOS, Samsung Tizen, Sony, Nintendo, Roku, the crawlers' own pages).
// Every pattern is caseless. Keep them few and literal-heavy: vectorscan runs them together.
const Pattern kPatterns[] = {
#include "signals/data/device_patterns.inc"
};

thread_local std::unique_ptr<DeviceClassifier::Workspace> tls_workspace;

}  // namespace

Result<std::unique_ptr<DeviceClassifier>> DeviceClassifier::Create() {
  std::vector<RegexSet::Pattern> patterns;
  for (const Pattern& p : kPatterns)
    patterns.push_back({.regex = p.regex, .caseless = p.caseless,
                        .id = static_cast<int>(p.feature), .allow_empty = false});
  RegexSet set;
  int failed = -1;
  std::string error;
  if (!set.Compile(patterns, &failed, &error)) {
    std::string msg = "device patterns: " + error;
    if (failed >= 0)
      msg += " in pattern " + std::to_string(failed) + ": " +
             patterns[static_cast<size_t>(failed)].regex;
    return Status::Error(msg);
  }
  if (StartsWithToolWord(kFastPrefix))  // FastPathUaText relies on it
    return Status::Error("device fast path: a tool word names its prefix");
  std::unique_ptr<DeviceClassifier> c(new DeviceClassifier());
  c->patterns_ = std::move(set);
  auto fast = std::make_unique<FastIndex>();
  if (Status built = BuildFastIndex(c->patterns_, *fast); !built.ok()) return built;
  c->fast_ = std::move(fast);
  static std::atomic<uint64_t> next_instance{1};
  c->instance_ = next_instance.fetch_add(1);
  return c;
}

DeviceClassifier::DeviceClassifier() = default;
DeviceClassifier::~DeviceClassifier() = default;

DeviceClassifier::Workspace::~Workspace() = default;

Result<std::unique_ptr<DeviceClassifier::Workspace>> DeviceClassifier::NewWorkspace() const {
  std::unique_ptr<Workspace> ws(new Workspace());
  if (!ws->scratch_.Fit(patterns_.database()))
    return Status::Error("vectorscan: cannot allocate scratch");
  ws->cache_.reset(new Workspace::CacheEntry[kCacheEntries]());
  ws->parts_.reset(new Workspace::PartEntry[kPartEntries]());
  ws->owner_ = instance_;
  return ws;
}

DeviceClassifier::Workspace* DeviceClassifier::ThreadWorkspace() const {
  if (tls_workspace == nullptr || tls_workspace->owner_ != instance_) {
    auto ws = NewWorkspace();
    if (!ws.ok()) return nullptr;
    tls_workspace = std::move(ws.value());
  }
  return tls_workspace.get();
}

bool DeviceClassifier::PrepareThread() const { return ThreadWorkspace() != nullptr; }

bool DeviceClassifier::Scan(std::string_view ua, Workspace& ws, Features* out) const {
  // hs_scan refuses a null pointer even for zero bytes: a request without a User-Agent header
  // (a null view) must be classified like an empty one (a bot), not fail open to "other".
  if (ua.data() == nullptr) ua = std::string_view("", 0);
  return ScanText(ua.substr(0, kMaxScan), ws, out);
}

bool DeviceClassifier::ScanText(std::string_view text, Workspace& ws, Features* out) const {
  FeatureSet f;
  bool ok = patterns_.Scan(text, ws.scratch_.get(), f.bits);
  if (HasPanelSizeModel(text)) f.Set(kTvModel);
  *out = f;
  return ok;
}

DeviceClassifier::Features DeviceClassifier::ScanFeatures(std::string_view ua,
                                                          Workspace& ws) const {
  Features f;
  Scan(ua, ws, &f);
  return f;
}

DeviceInfo DeviceClassifier::ClassifyFeatures(const Features& features, std::string_view ua,
                                              bool fast_path, const ClientHints& hints,
                                              Workspace& ws) const {
  DeviceInfo d = Decide(FeatureSet(features), fast_path ? FastPathUaText(ua) : ReadUaText(ua));
  if (!hints.empty()) {
    FeatureSet model;
    std::string_view m = Unquote(hints.model).substr(0, 128);
    if (!m.empty()) {
      ScanText(m, ws, &model);
      if (IsPanelSizeModel(m)) model.Set(kTvModel);  // the hint is the bare model name
    }
    ApplyHints(d, hints, model);
  }
  return d;
}

DeviceInfo DeviceClassifier::ClassifyByScan(std::string_view ua, const ClientHints& hints,
                                            Workspace& ws) const {
  Features f;
  if (!Scan(ua, ws, &f)) return DeviceInfo{};  // fail open: "other"
  return ClassifyFeatures(f, ua, false, hints, ws);
}

DeviceInfo DeviceClassifier::ClassifyUncached(std::string_view ua, const ClientHints& hints,
                                              Workspace& ws) const {
  Features f;
  if (FastPathFeatures(ua, ws, &f)) return ClassifyFeatures(f, ua, true, hints, ws);
  return ClassifyByScan(ua, hints, ws);
}

DeviceInfo DeviceClassifier::Classify(std::string_view ua, const ClientHints& hints,
                                      Workspace& ws) const {
  std::string_view scan = ua.substr(0, kMaxScan);
  uint64_t key = XXH3_64bits(scan.data(), scan.size());
  if (!hints.empty()) {
    key = XXH3_64bits_withSeed(hints.mobile.data(), hints.mobile.size(), key);
    key = XXH3_64bits_withSeed(hints.platform.data(), hints.platform.size(), key);
    key = XXH3_64bits_withSeed(hints.model.data(), hints.model.size(), key);
  }
  key |= 1;  // 0 marks an empty slot
  Workspace::CacheEntry& e = ws.cache_[(key >> 1) & (kCacheEntries - 1)];
  if (e.key == key) {
    ++ws.hits_;
    return e.info;
  }
  ++ws.misses_;
  DeviceInfo d = ClassifyUncached(ua, hints, ws);
  e.key = key;
  e.info = d;
  return d;
}

DeviceInfo DeviceClassifier::Classify(std::string_view ua, const ClientHints& hints) const {
  Workspace* ws = ThreadWorkspace();
  if (ws == nullptr) return DeviceInfo{};
  return Classify(ua, hints, *ws);
}

}  // namespace tailor
