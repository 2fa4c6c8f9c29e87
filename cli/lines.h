// Line filters (tailorc classify, tailorc referrer): one output record per stdin line,
// written in blocks.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace tailor::cli {

// Calls each(line, out) for every line of stdin (without its '\n' or '\r'); `each` appends
// its output to `out`, which is written to stdout every 64 KB and at the end. Returns the
// exit code: 0, or 1 when stdout could not be written.
int FilterStdinLines(const std::function<void(std::string_view line, std::string& out)>& each);

}  // namespace tailor::cli
