// The device engine's fast path: its shapes, its index's construction, and the classifier's
// members that use it (the fast path's features, the part memo). See device_fast_path.h.
#include "signals/device_fast_path.h"

#include <xxhash.h>

#include <iterator>
#include <span>
#include <string>
#include <vector>

namespace tailor {
namespace device_internal {
namespace {

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

}  // namespace

Status BuildFastIndex(const RegexSet& patterns, FastIndex& fast) {
  // The fast path's features come from the same patterns: scan one instance of each shape.
  RegexScratch scratch;
  if (!scratch.Fit(patterns.database())) return Status::Error("vectorscan: cannot allocate scratch");
  auto scan = [&](std::string_view text) {
    FeatureSet f;
    patterns.Scan(text, scratch.get(), f.bits);
    return f;
  };
  fast.prefix = scan("Mozilla/5.0");
  for (int list = 0; list < 2; ++list) {
    std::span<const std::string_view> shapes = DeviceClassifier::FastPathShapes(list == 0);
    static_assert(std::size(kFastCommentShapes) <= FastIndex::kMaxShapes &&
                  std::size(kFastProductShapes) <= FastIndex::kMaxShapes);
    std::vector<std::string_view> sorted(shapes.begin(), shapes.end());
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](std::string_view a, std::string_view b) { return a[0] < b[0]; });
    for (size_t i = 0; i < sorted.size(); ++i) {
      auto first = static_cast<unsigned char>(sorted[i][0]);
      FastIndex::Entry& e = fast.entries[list][i];
      if (!FastIndex::Compile(sorted[i], e))
        return Status::Error("device fast path: bad shape " + std::string(sorted[i]));
      e.features = scan(Representative(sorted[i]));
      if (fast.end[list][first] == 0) fast.begin[list][first] = static_cast<uint8_t>(i);
      fast.end[list][first] = static_cast<uint8_t>(i + 1);
    }
  }
  return Status::Ok();
}

}  // namespace device_internal

using namespace device_internal;

std::span<const std::string_view> DeviceClassifier::FastPathShapes(bool comment) {
  if (comment) return kFastCommentShapes;
  return kFastProductShapes;
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

}  // namespace tailor
