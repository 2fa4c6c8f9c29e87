// Fuzzes the device classifier: any User-Agent (and client hints cut from the same input)
// must classify without crashing, the cached answer must equal the uncached one, and when the
// scan-free fast path accepts a UA it must find exactly the full scan's features and answer.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "signals/device_classifier.h"

using namespace tailor;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto classifier = DeviceClassifier::Create();
  static auto ws = classifier.value()->NewWorkspace();
  const DeviceClassifier& c = *classifier.value();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  DeviceInfo a = c.Classify(input, {}, *ws.value());
  DeviceInfo b = c.ClassifyUncached(input, {}, *ws.value());
  if (a.type != b.type || a.os != b.os || a.browser != b.browser || a.bot != b.bot)
    __builtin_trap();
  if (a.bot != (a.type == DeviceType::kBot)) __builtin_trap();
  // Differential: fast path accepted => same features and same DeviceInfo as the full scan.
  DeviceClassifier::Features fast;
  if (c.FastPathFeatures(input, *ws.value(), &fast)) {
    if (!(fast == c.ScanFeatures(input, *ws.value()))) __builtin_trap();
    if (!(b == c.ClassifyByScan(input, {}, *ws.value()))) __builtin_trap();
  }
  if (DeviceTypeName(a.type).empty() || DeviceOsName(a.os).empty()) __builtin_trap();
  // Split the input into a UA and three hint values at the first '\n's.
  std::string_view parts[4];
  std::string_view rest = input;
  for (int i = 0; i < 3; ++i) {
    size_t nl = rest.find('\n');
    parts[i] = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  }
  parts[3] = rest;
  ClientHints hints{parts[1], parts[2], parts[3]};
  DeviceInfo h = c.Classify(parts[0], hints, *ws.value());
  if (h.mobile && h.type != DeviceType::kSmartphone && h.type != DeviceType::kWearable)
    __builtin_trap();
  return 0;
}
