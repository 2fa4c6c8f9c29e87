// The device engine's internals, shared by its files (not an API): the features the UA
// patterns report, and the decisions made on them. The engine's files:
//   device_classifier.cc  the patterns' database, the scan, the per-thread caches
//   device_decision.cc    features, UA words and client hints -> type, OS, browser, bot
//   device_fast_path.*    the common browser UAs without the scan (known token shapes)
//   data/device_patterns.inc, data/device_tool_words.inc  the knowledge
#pragma once

#include <string_view>

#include "signals/device_classifier.h"

namespace tailor::device_internal {

// Features: what one pattern (or several) found in the UA. Decisions combine them.
enum Feature : unsigned {
  // Bots and tools.
  kBotWord, kBotKnown, kBotWeak, kBotUrl, kBotVeto, kCompatible, kCompatibleBrowser,
  // Form factors.
  kIphone, kIpad, kIpod, kAndroid, kMobi, kTabletWord, kTabletPc, kTabletModel, kPhoneModel,
  kPhoneBrand,
  kKindle, kSilk, kWindowsPhone, kBlackberry, kPlaybook, kKaios, kFeaturePhone, kOperaMini,
  kTv, kTvOverMobile, kTvModel, kTvBox, kConsole, kWearable, kCar, kVr,
  // Operating systems.
  kOsWindows, kOsMac, kOsLinux, kOsCros, kOsTizen, kOsWebos, kOsHarmony, kOsPlaystation,
  kOsNintendo, kOsRoku, kOsTvos, kOsWatchos, kOsFire, kOsXbox, kDesktopOther, kDesktopModel,
  // Browsers.
  kBrEdge, kBrOpera, kBrSamsung, kBrUc, kBrYandex, kBrVivaldi, kBrFirefox, kBrChrome,
  kBrSafari, kBrVersion, kBrIe, kBrFacebook, kBrInstagram, kBrWebview, kBrMiui, kBrHuawei,
  kBrDuckduckgo, kBrWhale, kBrQq, kBrGoogleApp,
  kFeatureCount
};
static_assert(kFeatureCount <= 128, "features must fit the 128-bit set");

struct FeatureSet : DeviceClassifier::Features {
  FeatureSet() = default;
  explicit FeatureSet(const DeviceClassifier::Features& f) : Features(f) {}
  void Set(unsigned f) { bits[f >> 6] |= uint64_t{1} << (f & 63); }
  void Add(const DeviceClassifier::Features& o) {
    bits[0] |= o.bits[0];
    bits[1] |= o.bits[1];
  }
  bool operator[](unsigned f) const { return (bits[f >> 6] >> (f & 63)) & 1; }
};

// What Decide reads from the UA's text besides the features.
struct UaText {
  bool placeholder_or_tool;  // IsPlaceholderUa or StartsWithToolWord
  bool browser_shape;        // "Mozilla/..." or "Opera/..."
  bool android_app;          // "Dalvik/...": an app's own HTTP stack on Android
};

// The UA's first word (letters and digits) names an HTTP library or tool (kToolWords).
bool StartsWithToolWord(std::string_view ua);
UaText ReadUaText(std::string_view ua);
// ReadUaText of a UA the fast path took (it starts "Mozilla/5.0 ").
UaText FastPathUaText(std::string_view ua);
// Strips the quotes a structured-header string carries ("\"Android\"" -> "Android").
std::string_view Unquote(std::string_view s);
// A model name (up to its ";", ")" or "/") has a word naming a TV's panel size.
bool IsPanelSizeModel(std::string_view s);
// So does the model after one of the UA's "; " (the scan sets kTvModel then).
bool HasPanelSizeModel(std::string_view ua);
DeviceInfo Decide(const FeatureSet& f, UaText text);
// Client hints win over a reduced UA; model_features: what the patterns found in the model.
void ApplyHints(DeviceInfo& d, const ClientHints& h, const FeatureSet& model_features);

}  // namespace tailor::device_internal
