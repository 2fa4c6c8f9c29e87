// device.type / device.os / device.browser / device.bot / device.mobile: one classification
// per request (memoized), through the calling thread's DeviceClassifier workspace.
#include "signals/device_classifier.h"
#include "core/signal_registry.h"

namespace tailor {
namespace {

size_t g_device_slot = 0;

struct DeviceMemo {
  bool available;
  DeviceInfo info;
};

const DeviceMemo& Compute(EvalEnv& env) {
  return Memoized<DeviceMemo>(env, g_device_slot, [](EvalEnv& e) {
    DeviceMemo m{};
    const DeviceClassifier* c = e.services.device;
    if (c == nullptr) return m;
    const RequestView& rq = e.request;
    std::string_view ua = rq.FindHeader("user-agent").value_or(std::string_view());
    ClientHints hints;
    hints.mobile = rq.FindHeader("sec-ch-ua-mobile").value_or(std::string_view());
    hints.platform = rq.FindHeader("sec-ch-ua-platform").value_or(std::string_view());
    hints.model = rq.FindHeader("sec-ch-ua-model").value_or(std::string_view());
    m.info = c->Classify(ua, hints);
    m.available = true;
    return m;
  });
}

Value TypeSignal(const SignalArgs&, EvalEnv& env) {
  const DeviceMemo& m = Compute(env);
  return m.available ? Value::String(DeviceTypeName(m.info.type)) : Value::Missing();
}
Value OsSignal(const SignalArgs&, EvalEnv& env) {
  const DeviceMemo& m = Compute(env);
  return m.available ? Value::String(DeviceOsName(m.info.os)) : Value::Missing();
}
Value BrowserSignal(const SignalArgs&, EvalEnv& env) {
  const DeviceMemo& m = Compute(env);
  return m.available ? Value::String(BrowserName(m.info.browser)) : Value::Missing();
}
Value BotSignal(const SignalArgs&, EvalEnv& env) {
  const DeviceMemo& m = Compute(env);
  return m.available ? Value::Bool(m.info.bot) : Value::Missing();
}
Value MobileSignal(const SignalArgs&, EvalEnv& env) {
  const DeviceMemo& m = Compute(env);
  return m.available ? Value::Bool(m.info.mobile) : Value::Missing();
}

}  // namespace

void RegisterDeviceSignals(SignalRegistry& r) {
  g_device_slot = r.ReserveMemo(sizeof(Memo<DeviceMemo>), alignof(Memo<DeviceMemo>));
  r.Add({"device.type", ValueType::kString, SignalArg::kNone, 50, TypeSignal,
         "desktop, smartphone, tablet, tv, console, wearable, car, bot or other (User-Agent; "
         "client hints Sec-CH-UA-Mobile/-Platform/-Model win over a reduced UA)",
         R"(device.type in ["smartphone", "tablet"])"});
  r.Add({"device.os", ValueType::kString, SignalArg::kNone, 50, OsSignal,
         "windows, macos, ios, android, linux, chromeos, tizen, webos, windows_phone, kaios, "
         "harmonyos, playstation, nintendo, roku, tvos, watchos, blackberry, fireos or other",
         R"(device.os == "ios")"});
  r.Add({"device.browser", ValueType::kString, SignalArg::kNone, 50, BrowserSignal,
         "chrome, safari, firefox, edge, opera, samsung, uc, yandex, vivaldi, ie, silk, "
         "facebook, instagram, webview, miui, huawei, duckduckgo, whale, qq, google_app or other",
         R"(device.browser == "safari")"});
  r.Add({"device.bot", ValueType::kBool, SignalArg::kNone, 50, BotSignal,
         "true for crawlers, scripts, monitors and link previews (and an empty User-Agent)",
         R"(not device.bot)"});
  r.Add({"device.mobile", ValueType::kBool, SignalArg::kNone, 50, MobileSignal,
         "true for phone-sized devices (smartphones, wearables), as Sec-CH-UA-Mobile means it",
         R"(device.mobile)"});
}

}  // namespace tailor
