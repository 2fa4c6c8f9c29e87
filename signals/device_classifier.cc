#include "signals/device_classifier.h"

#include <xxhash.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstring>
#include <iterator>
#include <span>
#include <string>
#include <vector>

#include "core/text.h"

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

// What Decide reads from the UA's text besides the features.
struct UaText {
  bool placeholder_or_tool;  // IsPlaceholderUa or StartsWithToolWord
  bool browser_shape;        // "Mozilla/..." or "Opera/..."
  bool android_app;          // "Dalvik/...": an app's own HTTP stack on Android
};

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

thread_local std::unique_ptr<DeviceClassifier::Workspace> tls_workspace;

// --- Fast path: the common browser UAs without the scan.
//
// Known shapes, lowercase (matched case-insensitively; '#' a version, '@' an iOS build, see
// the header). Only the digits of a '#' or '@' vary: literal digits stay literal, because some
// patterns depend on them ("\bx11\b" must not fire on "x64"). What is not a known shape is a
// free part, scanned on its own and memoized (DeviceClassifier::PartFeatures): from the
// comment's first unknown token to its ")" (an Android device model, a crawler's name), and
// from the first unknown product to the UA's end (an app's token, a crawler's comment).
constexpr std::string_view kFastCommentShapes[] = {
    // Windows (and IE 11's comment).
    "windows nt #", "win64", "x64", "wow64", "rv:#", "trident/#",
    // macOS, Linux, ChromeOS.
    "macintosh", "intel mac os x #", "x11", "linux x86_64", "ubuntu", "cros x86_64 #",
    // Android: the reduced UA ("Linux; Android 10; K"), Firefox's ("Android 14; Mobile"), and
    // the head of one naming its device ("Linux; Android 14; SM-S918B": a comment part).
    "linux", "android #", "k", "mobile", "tablet",
    // iOS.
    "iphone", "ipad", "cpu iphone os # like mac os x", "cpu os # like mac os x",
};
constexpr std::string_view kFastProductShapes[] = {
    "applewebkit/#", "(khtml, like gecko)", "like gecko", "chrome/#", "safari/#",
    "mobile", "mobile/@", "version/#", "firefox/#", "gecko/#", "edg/#", "crios/#", "fxios/#",
    "opr/#", "samsungbrowser/#", "yabrowser/#", "gsa/#",
};
// Then a comment ("(...)") and products, or products alone ("Mozilla/5.0 AppleWebKit/537.36
// (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)").
constexpr std::string_view kFastPrefix = "Mozilla/5.0 ";
// Bounds the work on the fast path; longer UAs are rare and take the scan.
constexpr size_t kFastMaxLength = 384;
constexpr int kFastMaxTokens = 32;
constexpr size_t kNoMatch = ~size_t{0};

// A letter of an iOS build ('@'). Not "x": with the digits after it, "888x11" holds "x11",
// which a pattern reads (found by the useragent fuzzer); Apple's builds never use it.
constexpr bool IsBuildLetter(char c) { return IsAsciiLetter(c) && (c | 0x20) != 'x'; }

// Instance of a shape scanned at Create() for its features.
std::string Representative(std::string_view shape) {
  std::string out;
  for (char t : shape) {
    if (t == '#') out += "124.0";
    else if (t == '@') out += "15E148";
    else out += t;
  }
  return out;
}

// A shape compiled for matching: a literal head, at most one placeholder, a literal tail.
// Literals are compared 8 bytes at a time: (input | mask) == text, where mask has 0x20 on
// letters (so both cases match) and 0 elsewhere.
struct Literal {
  static constexpr size_t kMax = 32;
  uint8_t len = 0;
  alignas(8) char text[kMax + 8] = {};  // lowercase; zero padding past len
  alignas(8) char mask[kMax + 8] = {};
};

inline uint64_t Load8(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// Does lit match at p, with `avail` bytes readable from p?
inline bool LiteralAt(const Literal& lit, const char* p, size_t avail) {
  if (avail < lit.len) return false;
  size_t i = 0;
  for (; i + 8 <= lit.len; i += 8)
    if ((Load8(p + i) | Load8(lit.mask + i)) != Load8(lit.text + i)) return false;
  size_t rest = lit.len - i;
  if (rest == 0) return true;
  if (avail - i >= 8) {  // one more 8-byte load, the bytes past the literal masked out
    uint64_t keep = (uint64_t{1} << (8 * rest)) - 1;  // little-endian: the first `rest` bytes
    return ((Load8(p + i) | Load8(lit.mask + i)) & keep) == Load8(lit.text + i);
  }
  for (; i < lit.len; ++i)
    if ((p[i] | lit.mask[i]) != lit.text[i]) return false;
  return true;
}

static_assert(std::endian::native == std::endian::little, "LiteralAt masks the low bytes");

}  // namespace

// Per list (0: comment, 1: products): the shapes compiled, sorted by first character, with
// the range of those starting with each (lowercase) character, so a token tries one to three.
struct DeviceClassifier::FastIndex {
  static constexpr size_t kMaxShapes = 32;
  struct Entry {
    Literal head;
    char placeholder = 0;  // 0, '#' or '@'
    Literal tail;
    FeatureSet features;
  };
  Entry entries[2][kMaxShapes];
  uint8_t begin[2][128] = {}, end[2][128] = {};
  FeatureSet prefix;  // of "Mozilla/5.0"

  // False when the shape does not fit (a bug in the lists above).
  static bool Compile(std::string_view shape, Entry& e) {
    Literal* lit = &e.head;
    for (char t : shape) {
      if (t == '#' || t == '@') {
        if (e.placeholder != 0) return false;
        e.placeholder = t;
        lit = &e.tail;
        continue;
      }
      if (lit->len == Literal::kMax || (t >= 'A' && t <= 'Z')) return false;
      lit->text[lit->len] = t;
      lit->mask[lit->len] = t >= 'a' && t <= 'z' ? 0x20 : 0;
      ++lit->len;
    }
    return !shape.empty() && shape[0] != '#' && shape[0] != '@';
  }

  // Matches e at ua[pos]: the position after it, or kNoMatch.
  static size_t MatchEntry(const Entry& e, std::string_view ua, size_t pos) {
    const size_t n = ua.size();
    if (!LiteralAt(e.head, ua.data() + pos, n - pos)) return kNoMatch;
    pos += e.head.len;
    if (e.placeholder == '#') {  // a version: a digit, then digits, dots, underscores
      if (pos >= n || !IsAsciiDigit(ua[pos])) return kNoMatch;
      do ++pos;
      while (pos < n && (IsAsciiDigit(ua[pos]) || ua[pos] == '.' || ua[pos] == '_'));
    } else if (e.placeholder == '@') {  // an iOS build: digits, a letter, digits, maybe a letter
      size_t start = pos;
      while (pos < n && IsAsciiDigit(ua[pos])) ++pos;
      if (pos == start || pos >= n || !IsBuildLetter(ua[pos])) return kNoMatch;
      start = ++pos;
      while (pos < n && IsAsciiDigit(ua[pos])) ++pos;
      if (pos == start) return kNoMatch;
      if (pos < n && IsBuildLetter(ua[pos])) ++pos;
    } else {
      return pos;
    }
    if (!LiteralAt(e.tail, ua.data() + pos, n - pos)) return kNoMatch;
    return pos + e.tail.len;
  }

  // The token at ua[pos] of list `list`: adds its features, returns the position after it.
  size_t Token(int list, std::string_view ua, size_t pos, FeatureSet& f) const {
    unsigned char c = static_cast<unsigned char>(ua[pos]);
    if (c >= 128) return kNoMatch;
    if (IsAsciiLetter(static_cast<char>(c))) c |= 0x20;
    for (unsigned i = begin[list][c]; i < end[list][c]; ++i) {
      const Entry& e = entries[list][i];
      size_t after = MatchEntry(e, ua, pos);
      if (after == kNoMatch) continue;
      bool delimited =
          list == 0 ? after < ua.size() && (ua[after] == ')' || (ua[after] == ';' &&
                                                                  after + 1 < ua.size() &&
                                                                  ua[after + 1] == ' '))
                    : after == ua.size() || ua[after] == ' ';
      if (!delimited) continue;
      f.Add(e.features);
      return after;
    }
    return kNoMatch;
  }

  // The end of a comment part starting at ua[pos]: the position of the comment's ")" (parts
  // may hold balanced parentheses: "Moto G (4)"), or kNoMatch when the part is empty, too
  // long, unbalanced, or holds a non-printable byte.
  static size_t CommentPartEnd(std::string_view ua, size_t pos) {
    size_t limit = std::min(ua.size(), pos + DeviceClassifier::kMaxCommentPart + 1);
    int depth = 0;
    for (size_t i = pos; i < limit; ++i) {
      char c = ua[i];
      if (c == ')' && depth-- == 0) return i > pos ? i : kNoMatch;
      if (c == '(') ++depth;
      if (!IsAsciiPrintable(c)) return kNoMatch;
    }
    return kNoMatch;
  }

  // Is ua[pos..] a product part the fast path takes: short enough, printable ASCII?
  static bool IsProductPart(std::string_view ua, size_t pos) {
    if (ua.size() - pos > DeviceClassifier::kMaxProductPart) return false;
    return std::all_of(ua.begin() + static_cast<std::ptrdiff_t>(pos), ua.end(), IsAsciiPrintable);
  }

  // part(context, &features) gives the features of a free part, context being the part with
  // its delimiters as the UA has them: "; SM-S918B Build/UP1A; wv)" (after "Android #"),
  // "(compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)" (a whole comment), " Vivaldi/
  // 6.6" (the products' rest, from the space before the first unknown one). Patterns read those
  // delimiters ("; ?wv\)", "\(compatible"); none reaches from a known token across them, which
  // the unit tests and the useragent fuzzer check against the full scan.
  // The comment starting at ua[pos] (after its "("): adds the features of its tokens and of
  // its part, if any; returns the position after its ")", or kNoMatch.
  template <class PartFn>
  size_t Comment(std::string_view ua, size_t pos, int& tokens, FeatureSet& f,
                 PartFn& part) const {
    const size_t first = pos;
    for (;;) {  // "C1; C2; ...; Cn)"
      if (pos >= ua.size() || ++tokens > kFastMaxTokens) return kNoMatch;
      size_t after = Token(0, ua, pos, f);
      if (after == kNoMatch) {  // this token and the rest of the comment: a part
        size_t close = CommentPartEnd(ua, pos);
        if (close == kNoMatch) return kNoMatch;
        size_t start = pos == first ? pos - 1 : pos - 2;  // "(" or "; "
        DeviceClassifier::Features pf;
        if (!part(ua.substr(start, close + 1 - start), &pf)) return kNoMatch;
        f.Add(pf);
        after = close;
      }
      if (ua[after] == ')') return after + 1;
      pos = after + 2;
    }
  }

  template <class PartFn>
  bool Match(std::string_view ua, FeatureSet& out, PartFn&& part) const {
    if (ua.size() > kFastMaxLength || !ua.starts_with(kFastPrefix)) return false;
    FeatureSet f = prefix;
    int tokens = 0;
    size_t pos = kFastPrefix.size() - 1;  // the prefix's space: products follow it...
    if (pos + 1 < ua.size() && ua[pos + 1] == '(') {  // ... or a comment does, then products
      pos = Comment(ua, pos + 2, tokens, f, part);
      if (pos == kNoMatch || (pos < ua.size() && ua[pos] != ' ')) return false;
    }
    while (pos < ua.size()) {  // the products: " P1 P2 ... Pm"
      ++pos;
      if (pos >= ua.size() || ++tokens > kFastMaxTokens) return false;
      size_t after = Token(1, ua, pos, f);
      if (after == kNoMatch) {  // this product and the rest of the UA: a part
        if (!IsProductPart(ua, pos)) return false;
        DeviceClassifier::Features pf;
        if (!part(ua.substr(pos - 1), &pf)) return false;
        f.Add(pf);
        break;
      }
      pos = after;
    }
    out = f;
    return true;
  }
};

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
  // The fast path's features come from the same patterns: scan one instance of each shape.
  RegexScratch scratch;
  if (!scratch.Fit(c->patterns_.database()))
    return Status::Error("vectorscan: cannot allocate scratch");
  auto scan = [&](std::string_view text) {
    FeatureSet f;
    c->patterns_.Scan(text, scratch.get(), f.bits);
    return f;
  };
  auto fast = std::make_unique<FastIndex>();
  fast->prefix = scan("Mozilla/5.0");
  for (int list = 0; list < 2; ++list) {
    std::span<const std::string_view> shapes = FastPathShapes(list == 0);
    static_assert(std::size(kFastCommentShapes) <= FastIndex::kMaxShapes &&
                  std::size(kFastProductShapes) <= FastIndex::kMaxShapes);
    std::vector<std::string_view> sorted(shapes.begin(), shapes.end());
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](std::string_view a, std::string_view b) { return a[0] < b[0]; });
    for (size_t i = 0; i < sorted.size(); ++i) {
      auto first = static_cast<unsigned char>(sorted[i][0]);
      FastIndex::Entry& e = fast->entries[list][i];
      if (!FastIndex::Compile(sorted[i], e)) {
        return Status::Error("device fast path: bad shape " + std::string(sorted[i]));
      }
      e.features = scan(Representative(sorted[i]));
      if (fast->end[list][first] == 0) fast->begin[list][first] = static_cast<uint8_t>(i);
      fast->end[list][first] = static_cast<uint8_t>(i + 1);
    }
  }
  c->fast_ = std::move(fast);
  static std::atomic<uint64_t> next_instance{1};
  c->instance_ = next_instance.fetch_add(1);
  return c;
}

DeviceClassifier::DeviceClassifier() = default;
DeviceClassifier::~DeviceClassifier() = default;

std::span<const std::string_view> DeviceClassifier::FastPathShapes(bool comment) {
  if (comment) return kFastCommentShapes;
  return kFastProductShapes;
}

struct DeviceClassifier::Workspace::PartEntry {
  uint64_t key;  // 0: empty
  Features features;
};

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

bool DeviceClassifier::PartFeatures(std::string_view context, Workspace& ws,
                                    Features* out) const {
  uint64_t key = XXH3_64bits(context.data(), context.size()) | 1;  // 0 marks an empty slot
  Workspace::PartEntry& e = ws.parts_[(key >> 1) & (kPartEntries - 1)];
  if (e.key == key) {
    ++ws.part_hits_;
    *out = e.features;
    return true;
  }
  ++ws.part_misses_;
  Features f;
  if (!ScanText(context, ws, &f)) return false;
  e.key = key;
  e.features = f;
  *out = f;
  return true;
}

bool DeviceClassifier::FastPathFeatures(std::string_view ua, Workspace& ws,
                                        Features* out) const {
  FeatureSet f;
  if (!fast_->Match(ua, f, [&](std::string_view ctx, Features* mf) {
        return PartFeatures(ctx, ws, mf);
      }))
    return false;
  *out = f;
  return true;
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
