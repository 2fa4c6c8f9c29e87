#include "cli/lines.h"

#include <cstdio>
#include <cstdlib>

namespace tailor::cli {

int FilterStdinLines(const std::function<void(std::string_view line, std::string& out)>& each) {
  std::string out;
  out.reserve(1 << 17);
  char* buf = nullptr;
  size_t cap = 0;
  ssize_t len;
  while ((len = getline(&buf, &cap, stdin)) >= 0) {
    std::string_view line(buf, static_cast<size_t>(len));
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    each(line, out);
    if (out.size() > 1 << 16) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  std::free(buf);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace tailor::cli
