// lang (LanguageMatcher) and time.hour / time.weekday / time.date in the server's time zone.
// The zone is loaded once when the registry is built (config time); a lookup is then pure
// computation over cctz's transition table: no syscall, no lock, no allocation.
#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

#include <chrono>
#include <cstdio>

#include "signals/language.h"
#include "core/signal_registry.h"

namespace tailor {
namespace {

size_t g_time_slot = 0;

const cctz::time_zone& ServerZone() {
  static const cctz::time_zone zone = cctz::local_time_zone();
  return zone;
}

struct LocalTime {
  int hour;
  int weekday;  // 0 = monday
  int year, month, day;
};

const LocalTime& Now(EvalEnv& env) {
  return Memoized<LocalTime>(env, g_time_slot, [](EvalEnv& e) {
    auto tp = std::chrono::time_point_cast<cctz::seconds>(
        std::chrono::system_clock::from_time_t(0) +
        std::chrono::seconds(e.request.now_ms / 1000));
    cctz::civil_second cs = ServerZone().lookup(tp).cs;
    LocalTime t;
    t.hour = cs.hour();
    t.year = static_cast<int>(cs.year());
    t.month = cs.month();
    t.day = cs.day();
    switch (cctz::get_weekday(cctz::civil_day(cs))) {
      case cctz::weekday::monday: t.weekday = 0; break;
      case cctz::weekday::tuesday: t.weekday = 1; break;
      case cctz::weekday::wednesday: t.weekday = 2; break;
      case cctz::weekday::thursday: t.weekday = 3; break;
      case cctz::weekday::friday: t.weekday = 4; break;
      case cctz::weekday::saturday: t.weekday = 5; break;
      case cctz::weekday::sunday: t.weekday = 6; break;
    }
    return t;
  });
}

constexpr std::string_view kWeekdays[] = {"monday", "tuesday",  "wednesday", "thursday",
                                          "friday", "saturday", "sunday"};

Value HourSignal(const SignalArgs&, EvalEnv& env) { return Value::Number(Now(env).hour); }
Value WeekdaySignal(const SignalArgs&, EvalEnv& env) {
  return Value::String(kWeekdays[Now(env).weekday]);
}
Value DateSignal(const SignalArgs&, EvalEnv& env) {
  const LocalTime& t = Now(env);
  char* p = env.arena.AllocateChars(11);
  if (p == nullptr) return Value::Missing();
  int year = t.year < 0 ? 0 : (t.year > 9999 ? 9999 : t.year);
  std::snprintf(p, 11, "%04d-%02d-%02d", year, t.month, t.day);
  return Value::String(std::string_view(p, 10));
}

Value LangSignal(const SignalArgs&, EvalEnv& env) {
  const LanguageMatcher* m = env.services.languages;
  if (m == nullptr) return Value::Missing();
  std::string_view header = env.request.FindHeader("accept-language").value_or("");
  std::string_view lang = m->Match(header);
  return lang.empty() ? Value::Missing() : Value::String(lang);
}

}  // namespace

void RegisterContextSignals(SignalRegistry& r) {
  ServerZone();  // load the zone now, at config time
  g_time_slot = r.ReserveMemo(sizeof(Memo<LocalTime>), alignof(Memo<LocalTime>));
  r.Add({"lang", ValueType::kString, SignalArg::kNone, 5, LangSignal,
         "the site language (tailor_languages) that best matches Accept-Language: RFC 4647 "
         "lookup, q-values honoured; the first configured language when nothing matches",
         R"(lang == "fr")"});
  r.Add({"time.hour", ValueType::kNumber, SignalArg::kNone, 2, HourSignal,
         "hour of the day, 0-23, in the server's time zone", "time.hour >= 18"});
  r.Add({"time.weekday", ValueType::kString, SignalArg::kNone, 2, WeekdaySignal,
         "day of the week in the server's time zone: monday ... sunday",
         R"(time.weekday in ["saturday", "sunday"])"});
  r.Add({"time.date", ValueType::kString, SignalArg::kNone, 2, DateSignal,
         "the date in the server's time zone, YYYY-MM-DD (compares as text)",
         R"(time.date >= "2026-12-01")"});
}

}  // namespace tailor
