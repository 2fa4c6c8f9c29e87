#include "core/time.h"

#include <chrono>

namespace tailor {

int64_t DaysFromCivil(int year, unsigned month, unsigned day) {
  using namespace std::chrono;
  // sys_days of a year_month_day whose day is past the month's end is the first of the month
  // plus (day - 1) days (C++20 [time.cal.ymd.nonmembers]); days 0..255 are representable.
  const year_month_day first{std::chrono::year{year}, std::chrono::month{month}, std::chrono::day{1}};
  return (sys_days{first} + days{static_cast<int64_t>(day) - 1}).time_since_epoch().count();
}

bool ParseFixedDigits(std::string_view text, size_t pos, size_t n, int* out) {
  if (pos > text.size() || n > text.size() - pos) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    v = v * 10 + (text[i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace tailor
