// Writing JSON by hand: the one string escaper tailorc and the reports use.
#pragma once

#include <string>
#include <string_view>

namespace tailor {

// `s` as a quoted JSON string: '"' and '\' escaped, \n \r \t as such, other control bytes as
// \u00XX. Other bytes (UTF-8 included) are copied as they are.
std::string JsonString(std::string_view s);

}  // namespace tailor
