// Calendar helpers shared by the experiment dates and the access-log times.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tailor {

// Days since 1970-01-01 of a proleptic Gregorian date (month 1..12). A day past the month's
// end counts on into the next month (February 31 is March 3 or 2), as days_from_civil does.
int64_t DaysFromCivil(int year, unsigned month, unsigned day);

// The `n` ASCII digits at `text[pos]` as a number; false when one is missing or not a digit.
bool ParseFixedDigits(std::string_view text, size_t pos, size_t n, int* out);

}  // namespace tailor
