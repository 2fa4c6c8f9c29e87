// Core helpers on the request path: header, cookie and query lookups.
#include <benchmark/benchmark.h>

#include "core/request_view.h"

namespace tailor {
namespace {

void BM_FindCookie(benchmark::State& state) {
  HeaderField headers[] = {{"Host", "example.com"},
                           {"User-Agent", "Mozilla/5.0 (X11; Linux x86_64)"},
                           {"Accept", "text/html"},
                           {"Cookie", "_ga=GA1.2.3; consent=yes; beta=1; tailor_id=abcdef"}};
  RequestView rv;
  rv.headers = headers;
  for (auto _ : state) benchmark::DoNotOptimize(rv.FindCookie("tailor_id"));
}
BENCHMARK(BM_FindCookie);

}  // namespace
}  // namespace tailor
