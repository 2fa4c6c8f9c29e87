// DeviceClassifier: device type, OS and browser from the User-Agent and client hints.
//
// All UA patterns (data/device_patterns.inc, written from the vendors' published UA formats)
// are compiled once, at config time, into ONE vectorscan multi-pattern database; a request
// does one scan over the UA, collecting which features matched, then a few branches decide. A small fixed-size
// per-thread cache keyed by a 64-bit hash of the UA (and hints) skips the scan for repeat UAs.
//
// Fast path: the common browser UAs, "Mozilla/5.0 (C1; ...; Cn) P1 ... Pm" where every token
// has a known shape (FastPathShapes), skip the scan: their features are the union of the
// features the scan found, at Create(), in one instance of each token. The Android device
// model after "Android #" ("SM-S918B Build/UP1A; wv", whatever it says) is the one free-form
// part: its features come from a per-thread memo keyed by its hash, scanned on a miss, so a
// new UA of a device seen before (a new browser version, another browser) skips the scan.
// Anything else (an app name, an unexpected character) falls back to the scan. Exactness
// (same features as the scan for every accepted UA) is checked by the unit tests and the
// fuzzer.
//
// Threads: the classifier is immutable and shared. Each thread needs a Workspace (vectorscan
// scratch + cache). Either pass one explicitly, or call PrepareThread() when a worker starts
// and use the overloads without a Workspace (they use a thread_local one; a thread that did
// not prepare allocates it on its first call, which is the CLI's case).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "core/regex_set.h"
#include "core/status.h"

namespace tailor {

namespace device_internal {
struct FastIndex;  // device_fast_path.h
}

enum class DeviceType : uint8_t {
  kDesktop, kSmartphone, kTablet, kTv, kConsole, kWearable, kCar, kBot, kOther,
};
inline constexpr int kDeviceTypeCount = 9;

enum class DeviceOs : uint8_t {
  kOther, kWindows, kMacos, kIos, kAndroid, kLinux, kChromeos, kTizen, kWebos, kWindowsPhone,
  kKaios, kHarmonyos, kPlaystation, kNintendo, kRoku, kTvos, kWatchos, kBlackberry, kFireos,
};
inline constexpr int kDeviceOsCount = 19;

enum class Browser : uint8_t {
  kOther, kChrome, kSafari, kFirefox, kEdge, kOpera, kSamsung, kUc, kYandex, kVivaldi, kIe,
  kSilk, kFacebook, kInstagram, kWebview, kMiui, kHuawei, kDuckduckgo, kWhale, kQq, kGoogleApp,
};
inline constexpr int kBrowserCount = 21;

std::string_view DeviceTypeName(DeviceType t);  // "desktop", "smartphone", ..., "other"
std::string_view DeviceOsName(DeviceOs os);     // "windows", "macos", "ios", ..., "other"
std::string_view BrowserName(Browser b);        // "chrome", "safari", ..., "other"
bool ParseDeviceTypeName(std::string_view name, DeviceType* out);

struct DeviceInfo {
  DeviceType type = DeviceType::kOther;
  DeviceOs os = DeviceOs::kOther;
  Browser browser = Browser::kOther;
  bool bot = false;
  bool mobile = false;  // a phone-sized device (smartphone, wearable): Sec-CH-UA-Mobile's sense
  bool operator==(const DeviceInfo&) const = default;
};

// User-Agent client hints, raw header values (quotes included, as sent); empty when absent.
struct ClientHints {
  std::string_view mobile;    // Sec-CH-UA-Mobile: "?1" / "?0"
  std::string_view platform;  // Sec-CH-UA-Platform: "\"Android\""
  std::string_view model;     // Sec-CH-UA-Model: "\"SM-X710\""
  bool empty() const { return mobile.empty() && platform.empty() && model.empty(); }
};

class DeviceClassifier {
 public:
  // Longest UA prefix scanned: bounds the work for hostile 10 KB headers.
  static constexpr size_t kMaxScan = 1024;
  // Entries in each thread's cache (direct-mapped).
  static constexpr size_t kCacheEntries = 4096;
  // Entries in each thread's part memo (direct-mapped), and the longest free parts the fast
  // path takes: the rest of the comment from its first unknown token (a device model, a
  // crawler's name and URL), and the rest of the UA from its first unknown product (an app, a
  // crawler's trailing comment).
  static constexpr size_t kPartEntries = 4096;
  static constexpr size_t kMaxCommentPart = 128;
  static constexpr size_t kMaxProductPart = 192;

  // Compiles the built-in patterns. Fails only if vectorscan does (a bug or no memory).
  static Result<std::unique_ptr<DeviceClassifier>> Create();
  ~DeviceClassifier();
  DeviceClassifier(const DeviceClassifier&) = delete;
  DeviceClassifier& operator=(const DeviceClassifier&) = delete;

  // Per-thread state: vectorscan scratch and the UA cache. Not thread-safe itself.
  class Workspace {
   public:
    ~Workspace();
    Workspace(const Workspace&) = delete;
    Workspace& operator=(const Workspace&) = delete;
    uint64_t hits() const { return hits_; }
    uint64_t misses() const { return misses_; }
    // The part memo: free parts found in it, and scanned for it.
    uint64_t part_hits() const { return part_hits_; }
    uint64_t part_misses() const { return part_misses_; }

   private:
    friend class DeviceClassifier;
    Workspace() = default;
    struct CacheEntry {
      uint64_t key;  // 0: empty
      DeviceInfo info;
    };
    struct PartEntry;  // device_fast_path.h
    uint64_t owner_ = 0;  // DeviceClassifier::instance_ it was made for
    RegexScratch scratch_;
    std::unique_ptr<CacheEntry[]> cache_;
    std::unique_ptr<PartEntry[]> parts_;
    uint64_t hits_ = 0, misses_ = 0, part_hits_ = 0, part_misses_ = 0;
  };

  // A new workspace for this classifier (allocates: call at thread/worker start).
  Result<std::unique_ptr<Workspace>> NewWorkspace() const;
  // Allocates the calling thread's thread_local workspace now, so that later calls without a
  // Workspace do not allocate. Returns false when vectorscan cannot allocate scratch.
  bool PrepareThread() const;

  // Classification through the workspace's cache.
  DeviceInfo Classify(std::string_view ua, const ClientHints& hints, Workspace& ws) const;
  // Same, with the calling thread's workspace.
  DeviceInfo Classify(std::string_view ua, const ClientHints& hints = {}) const;
  // Always scans (no cache): for benchmarks and tests.
  DeviceInfo ClassifyUncached(std::string_view ua, const ClientHints& hints,
                              Workspace& ws) const;

  size_t pattern_count() const { return patterns_.size(); }

  // --- For tests, the fuzzer and benchmarks (the request path uses the calls above).
  // What the patterns found in a UA: an opaque 128-bit set.
  struct Features {
    uint64_t bits[2] = {0, 0};
    bool operator==(const Features&) const = default;
  };
  // The fast path alone: false when the UA is not made of known shapes (the scan decides).
  // Uses (and fills) the workspace's part memo.
  bool FastPathFeatures(std::string_view ua, Workspace& ws, Features* out) const;
  // The full scan alone.
  Features ScanFeatures(std::string_view ua, Workspace& ws) const;
  // ClassifyUncached without the fast path.
  DeviceInfo ClassifyByScan(std::string_view ua, const ClientHints& hints, Workspace& ws) const;
  // The token shapes the fast path knows, lowercase: '#' stands for a version (a digit, then
  // digits, dots, underscores), '@' for an iOS build ("15E148": digits, a letter other than
  // x, digits, maybe such a letter). Comment tokens sit between "(" and ")", separated by
  // "; "; products follow, separated by " ".
  static std::span<const std::string_view> FastPathShapes(bool comment);

 private:
  using FastIndex = device_internal::FastIndex;  // the known shapes with their features

  DeviceClassifier();
  Workspace* ThreadWorkspace() const;
  // The full scan (the UA's first kMaxScan bytes); false when vectorscan fails.
  bool Scan(std::string_view ua, Workspace& ws, Features* out) const;
  // What the patterns (and the panel-size rule written as code) find in one text: a UA, a
  // free part, a client hint.
  bool ScanText(std::string_view text, Workspace& ws, Features* out) const;
  // The features of a free part with its delimiters as they stand in the UA ("; SM-S918B
  // Build/UP1A; wv)", "(compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
  // " Instagram 325.0.0.35.91 (iPhone14,2; iOS 17_4; en_US)"), from the memo or, on a miss, a
  // scan of that part alone. False when vectorscan fails.
  bool PartFeatures(std::string_view context, Workspace& ws, Features* out) const;
  // Decide (and the hints) on features found by the fast path or the scan.
  DeviceInfo ClassifyFeatures(const Features& f, std::string_view ua, bool fast_path,
                              const ClientHints& hints, Workspace& ws) const;

  RegexSet patterns_;  // the UA patterns (data/device_patterns.inc); ids are features
  std::unique_ptr<FastIndex> fast_;
  // Unique per classifier ever created: a thread's workspace is reused only for the classifier
  // it was made for, even when a reloaded one lands at the same address.
  uint64_t instance_ = 0;
};

}  // namespace tailor
