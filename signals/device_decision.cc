// The device engine's decisions: from the features the patterns found, the UA's first words
// and the client hints to a type, an OS, a browser and the bot flag; and the names.
#include <algorithm>
#include <array>
#include <iterator>

#include "core/text.h"
#include "signals/device_features.h"

namespace tailor {
namespace {

constexpr std::string_view kTypeNames[kDeviceTypeCount] = {
    "desktop", "smartphone", "tablet", "tv", "console", "wearable", "car", "bot", "other"};
constexpr std::string_view kOsNames[kDeviceOsCount] = {
    "other",  "windows",     "macos",  "ios",       "android",   "linux",       "chromeos",
    "tizen",  "webos",       "windows_phone", "kaios", "harmonyos", "playstation", "nintendo",
    "roku",   "tvos",        "watchos", "blackberry", "fireos"};
constexpr std::string_view kBrowserNames[kBrowserCount] = {
    "other",  "chrome", "safari",   "firefox",   "edge",  "opera",  "samsung",
    "uc",     "yandex", "vivaldi",  "ie",        "silk",  "facebook", "instagram",
    "webview", "miui",  "huawei",   "duckduckgo", "whale", "qq",    "google_app"};

}  // namespace

namespace device_internal {

// HTTP libraries, command-line tools, scanners and monitors: the first word of their UA
// (ASCII letters and digits up to the first other character, lowercased), e.g. "curl" of
// "curl/8.5.0", "python" of "python-requests/2.31". Sorted: looked up by binary search.
constexpr std::string_view kToolWords[] = {
#include "signals/data/device_tool_words.inc"
};

bool StartsWithToolWord(std::string_view ua) {
  char word[16];
  size_t n = 0;
  for (char c : ua) {
    if (!IsAsciiLetter(c) && !IsAsciiDigit(c)) break;
    if (n == sizeof word) return false;  // longer than any tool word
    word[n++] = AsciiLower(c);
  }
  std::string_view w(word, n);
  return n > 0 && std::binary_search(std::begin(kToolWords), std::end(kToolWords), w);
}

// Bare placeholders some scripts send instead of a UA.
bool IsPlaceholderUa(std::string_view ua) {
  ua = TrimSpaces(ua);
  return ua.empty() || ua == "-" || EqualsIgnoreCase(ua, "Mozilla/5.0") ||
         EqualsIgnoreCase(ua, "Mozilla/4.0") || EqualsIgnoreCase(ua, "Mozilla/5.0 (compatible)");
}

// Strips the quotes a structured-header string carries ("\"Android\"" -> "Android").
std::string_view Unquote(std::string_view s) {
  s = TrimSpaces(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

DeviceOs DecideOs(const FeatureSet& f) {
  if (f[kOsPlaystation]) return DeviceOs::kPlaystation;
  if (f[kOsNintendo]) return DeviceOs::kNintendo;
  if (f[kOsXbox]) return DeviceOs::kWindows;
  if (f[kWindowsPhone]) return DeviceOs::kWindowsPhone;
  if (f[kOsHarmony]) return DeviceOs::kHarmonyos;
  if (f[kKaios]) return DeviceOs::kKaios;
  if (f[kOsWatchos]) return DeviceOs::kWatchos;
  if (f[kOsTvos]) return DeviceOs::kTvos;
  if (f[kIphone] || f[kIpad] || f[kIpod]) return DeviceOs::kIos;
  if (f[kOsTizen]) return DeviceOs::kTizen;
  if (f[kOsWebos]) return DeviceOs::kWebos;
  if (f[kOsRoku]) return DeviceOs::kRoku;
  if (f[kOsFire] || f[kKindle]) return DeviceOs::kFireos;
  if (f[kAndroid]) return DeviceOs::kAndroid;
  if (f[kBlackberry] || f[kPlaybook]) return DeviceOs::kBlackberry;
  if (f[kOsCros]) return DeviceOs::kChromeos;
  if (f[kOsWindows]) return DeviceOs::kWindows;
  if (f[kOsMac]) return DeviceOs::kMacos;
  if (f[kOsLinux]) return DeviceOs::kLinux;
  return DeviceOs::kOther;
}

Browser DecideBrowser(const FeatureSet& f) {
  // In-app browsers and vendor forks announce themselves next to a Chrome/Safari token: the
  // specific token wins over the engine's.
  if (f[kBrFacebook]) return Browser::kFacebook;
  if (f[kBrInstagram]) return Browser::kInstagram;
  if (f[kBrEdge]) return Browser::kEdge;
  if (f[kBrOpera]) return Browser::kOpera;
  if (f[kBrSamsung]) return Browser::kSamsung;
  if (f[kBrUc]) return Browser::kUc;
  if (f[kBrYandex]) return Browser::kYandex;
  if (f[kBrVivaldi]) return Browser::kVivaldi;
  if (f[kBrMiui]) return Browser::kMiui;
  if (f[kBrHuawei]) return Browser::kHuawei;
  if (f[kBrDuckduckgo]) return Browser::kDuckduckgo;
  if (f[kBrWhale]) return Browser::kWhale;
  if (f[kBrQq]) return Browser::kQq;
  if (f[kSilk]) return Browser::kSilk;
  if (f[kBrGoogleApp]) return Browser::kGoogleApp;
  if (f[kBrFirefox]) return Browser::kFirefox;
  if (f[kBrIe]) return Browser::kIe;
  if (f[kBrWebview]) return Browser::kWebview;
  if (f[kBrChrome]) return Browser::kChrome;
  if (f[kBrSafari] && (f[kBrVersion] || f[kIphone] || f[kIpad] || f[kIpod] || f[kOsMac]))
    return Browser::kSafari;
  if (f[kBrSafari]) return Browser::kSafari;
  return Browser::kOther;
}

UaText ReadUaText(std::string_view ua) {
  return {IsPlaceholderUa(ua) || StartsWithToolWord(ua),
          ua.starts_with("Mozilla/") || ua.starts_with("Opera/"), ua.starts_with("Dalvik/")};
}

// ReadUaText of a UA the fast path took, which starts "Mozilla/5.0 ": a browser's shape, no
// tool word (Create checks), not Dalvik; but maybe a placeholder ("Mozilla/5.0  ", "Mozilla/5.0
// (compatible)", found by the useragent fuzzer).
UaText FastPathUaText(std::string_view ua) { return {IsPlaceholderUa(ua), true, false}; }

// A TV model naming its panel size: a common diagonal, one to three capital letters, then a
// digit, "_" or "-" ("43UP75GU", "32LEX_7289"), or after up to four letters of the maker's
// series, then a digit ("F43F8000QG", "PTV32SS04Z", "TDTV24BS02H", "LE32CT5515AK"); in any
// word of the model name, words being split at " ", "-" and "_" ("POLARLINE_K_24PL51TC-SM",
// "NEKO_LT-43NX8000S", "Horizont 32LE7011D"). Phones' codes put no capital after such digits
// ("SM-A505FN", "LM-X420", "X657B", "Lenovo K50a40"). Checked here rather than as a pattern:
// a pattern starting with "; " costs every scan ~35 ns (every UA is full of "; "). The full
// scan and the fast path's free parts run it (a known token's word never has the shape:
// versions are digits only, "Win64" and "x86_64" name no diagonal), and set kTvModel like a
// pattern would.
bool StartsWithPanelSize(std::string_view s) {
  static constexpr auto kDiagonal = [] {  // by inches, 0-99
    std::array<bool, 100> is{};
    for (int d : {24, 28, 32, 39, 40, 42, 43, 48, 49, 50, 55, 58, 60, 65, 70, 75, 77, 82, 85, 86,
                  98})
      is[d] = true;
    return is;
  }();
  size_t i = 0;
  while (i < s.size() && i < 4 && IsAsciiLetter(s[i])) ++i;  // the series
  const bool series = i > 0;
  s = s.substr(i);
  if (s.size() < 4 || !IsAsciiDigit(s[0]) || !IsAsciiDigit(s[1])) return false;
  if (!kDiagonal[(s[0] - '0') * 10 + (s[1] - '0')]) return false;
  i = 2;
  while (i < s.size() && i < 5 && s[i] >= 'A' && s[i] <= 'Z') ++i;
  // After a series, only a digit: phones and tablets end words so ("MS50L_4G", "P40HD_T").
  return i > 2 && i < s.size() &&
         (IsAsciiDigit(s[i]) || (!series && (s[i] == '_' || s[i] == '-')));
}

// Does the model name at s (up to its ";", ")" or "/", at most kMaxModelName bytes) have a word
// naming a panel size? This runs after every "; " of every scanned UA (some 20 ns per UA), so
// it looks only where a digit run starts, going back over the series letters to the word's
// start.
constexpr size_t kMaxModelName = 128;
bool IsPanelSizeModel(std::string_view s) {
  const size_t n = std::min(s.size(), kMaxModelName);
  for (size_t i = 0; i < n; ++i) {
    const char c = s[i];
    if (!IsAsciiDigit(c)) {
      if (c == ';' || c == ')' || c == '/') return false;  // "/": "Build/UP1A.231005.007"
      continue;
    }
    size_t word = i;
    while (word > 0 && i - word < 4 && IsAsciiLetter(s[word - 1])) --word;
    const char before = word > 0 ? s[word - 1] : ' ';
    if ((before == ' ' || before == '-' || before == '_') && StartsWithPanelSize(s.substr(word)))
      return true;
    while (i + 1 < n && IsAsciiDigit(s[i + 1])) ++i;  // the rest of this digit run
  }
  return false;
}

bool HasPanelSizeModel(std::string_view ua) {
  for (size_t i = ua.find("; "); i != std::string_view::npos; i = ua.find("; ", i + 2))
    if (IsPanelSizeModel(ua.substr(i + 2))) return true;
  return false;
}

// A TV word or model, and one that holds even where the UA says "Mobile".
bool IsTv(const FeatureSet& f) { return f[kTv] || f[kTvModel]; }
bool IsTvOverMobile(const FeatureSet& f) { return f[kTvOverMobile] || f[kTvModel]; }

bool IsBot(const FeatureSet& f, UaText text) {
  const bool has_browser_shape = text.browser_shape;
  if (text.placeholder_or_tool) return true;
  if (f[kBotVeto] && !f[kBotKnown] && !f[kBotUrl]) return false;
  if (f[kBotWord] || f[kBotKnown] || f[kBotUrl]) return true;
  // "Mozilla/5.0 (compatible; Something)" without a browser behind it is a crawler's form.
  // (HbbTV sets use that form too.)
  if (f[kCompatible] && !f[kCompatibleBrowser] && !f[kMobi] && !IsTvOverMobile(f)) return true;
  // App names count when the UA is not a browser's own: in-app browsers embed "Pinterest",
  // "Twitter for iPhone" or "Telegram" in real visitors' UAs.
  if (f[kBotWeak] && !(has_browser_shape && (f[kMobi] || f[kAndroid] || f[kIphone] ||
                                             f[kIpad])))
    return true;
  return false;
}

DeviceType DecideType(const FeatureSet& f, UaText text) {
  if (f[kCar]) return DeviceType::kCar;
  if (f[kConsole]) return DeviceType::kConsole;
  // A TV's own words win over a headset's ("visionOS" is also a TV platform's name).
  if ((f[kVr] && !IsTvOverMobile(f)) ||
      (f[kWearable] && !f[kIpad] && !f[kTabletWord] && !IsTv(f))) {
    return DeviceType::kWearable;
  }
  if (IsTv(f) && !f[kTabletModel] && !(f[kMobi] && f[kAndroid] && !IsTvOverMobile(f)) &&
      !(f[kIphone] || f[kIpad]))
    return DeviceType::kTv;
  if (f[kIpad] || f[kPlaybook] || f[kKindle]) return DeviceType::kTablet;
  if (f[kTabletWord] && !f[kTabletPc]) return DeviceType::kTablet;
  if (f[kTabletModel] && !f[kPhoneModel]) return DeviceType::kTablet;
  if (f[kIphone] || f[kIpod] || f[kWindowsPhone] || f[kBlackberry] || f[kKaios] ||
      f[kOperaMini])
    return DeviceType::kSmartphone;
  if (f[kAndroid] || f[kOsHarmony]) {
    // Android's rule: phones' browsers say "Mobile", tablets' do not; Android on a PC names
    // the PC's line; set-top boxes name themselves "... Box". An app's own HTTP stack
    // (Dalvik) never says "Mobile", so there its silence tells nothing and the likelier
    // device wins: a phone, unless a tablet model or word said otherwise above. The rest is
    // a tablet.
    if (f[kDesktopModel] && !f[kMobi]) return DeviceType::kDesktop;
    if (f[kMobi] || f[kPhoneModel] || f[kPhoneBrand]) return DeviceType::kSmartphone;
    if (f[kTvBox]) return DeviceType::kTv;
    if (text.android_app) return DeviceType::kSmartphone;
    return DeviceType::kTablet;
  }
  if (f[kSilk]) return DeviceType::kTablet;
  if (f[kFeaturePhone] || f[kMobi]) return DeviceType::kSmartphone;
  if (f[kOsWindows] || f[kOsMac] || f[kDesktopOther] || f[kOsCros] || f[kOsLinux])
    return DeviceType::kDesktop;
  return DeviceType::kOther;
}

DeviceInfo Decide(const FeatureSet& f, UaText text) {
  DeviceInfo d;
  d.os = DecideOs(f);
  d.browser = DecideBrowser(f);
  d.bot = IsBot(f, text);
  d.type = d.bot ? DeviceType::kBot : DecideType(f, text);
  if (d.type == DeviceType::kOther && !text.browser_shape) {
    // Neither a browser nor a known device: a script, a library or an unnamed crawler.
    d.bot = true;
    d.type = DeviceType::kBot;
  }
  d.mobile = d.type == DeviceType::kSmartphone || d.type == DeviceType::kWearable;
  return d;
}

// Client hints win over a reduced UA ("Linux; Android 10; K"): they carry the real platform
// and whether the browser wants the mobile experience.
void ApplyHints(DeviceInfo& d, const ClientHints& h, const FeatureSet& model_features) {
  if (d.bot) return;
  std::string_view platform = Unquote(h.platform);
  if (!platform.empty()) {
    if (EqualsIgnoreCase(platform, "Windows")) d.os = DeviceOs::kWindows;
    else if (EqualsIgnoreCase(platform, "macOS")) d.os = DeviceOs::kMacos;
    else if (EqualsIgnoreCase(platform, "Android")) {
      if (d.os != DeviceOs::kFireos) d.os = DeviceOs::kAndroid;
    } else if (EqualsIgnoreCase(platform, "iOS")) d.os = DeviceOs::kIos;
    else if (EqualsIgnoreCase(platform, "Chrome OS") || EqualsIgnoreCase(platform, "ChromeOS"))
      d.os = DeviceOs::kChromeos;
    else if (EqualsIgnoreCase(platform, "Linux")) d.os = DeviceOs::kLinux;
    else if (EqualsIgnoreCase(platform, "HarmonyOS")) d.os = DeviceOs::kHarmonyos;
  }
  // Only the generic form factors are refined; a TV, console, car or wearable identified by
  // its UA stays what it is.
  bool generic = d.type == DeviceType::kDesktop || d.type == DeviceType::kSmartphone ||
                 d.type == DeviceType::kTablet || d.type == DeviceType::kOther;
  if (!generic) return;
  std::string_view mobile = TrimSpaces(h.mobile);
  if (IsTv(model_features)) {
    d.type = DeviceType::kTv;
  } else if (model_features[kWearable]) {
    d.type = DeviceType::kWearable;
  } else if (model_features[kTabletModel] || model_features[kIpad] ||
             model_features[kTabletWord]) {
    d.type = DeviceType::kTablet;
  } else if (mobile == "?1") {
    d.type = DeviceType::kSmartphone;
  } else if (mobile == "?0") {
    if (d.os == DeviceOs::kAndroid || d.os == DeviceOs::kFireos || d.os == DeviceOs::kIos ||
        d.os == DeviceOs::kHarmonyos)
      d.type = DeviceType::kTablet;
    else if (d.os == DeviceOs::kWindows || d.os == DeviceOs::kMacos ||
             d.os == DeviceOs::kLinux || d.os == DeviceOs::kChromeos)
      d.type = DeviceType::kDesktop;
  }
  d.mobile = d.type == DeviceType::kSmartphone || d.type == DeviceType::kWearable;
}

}  // namespace device_internal

std::string_view DeviceTypeName(DeviceType t) {
  auto i = static_cast<size_t>(t);
  return i < kDeviceTypeCount ? kTypeNames[i] : "other";
}
std::string_view DeviceOsName(DeviceOs os) {
  auto i = static_cast<size_t>(os);
  return i < kDeviceOsCount ? kOsNames[i] : "other";
}
std::string_view BrowserName(Browser b) {
  auto i = static_cast<size_t>(b);
  return i < kBrowserCount ? kBrowserNames[i] : "other";
}
bool ParseDeviceTypeName(std::string_view name, DeviceType* out) {
  for (int i = 0; i < kDeviceTypeCount; ++i)
    if (kTypeNames[i] == name) {
      *out = static_cast<DeviceType>(i);
      return true;
    }
  return false;
}

}  // namespace tailor
