// The rule language: compile time and per-request evaluation over generated, realistic rule
// sets of N rules (segments mixing headers, cookies, query parameters, paths, large sets and
// User-Agent regexes; pages with exact paths, globs and regexes; a lead score), decided over a
// cycling set of requests.
//   BM_RulesCompile/N      parse + check + compile (incl. the vectorscan databases)
//   BM_RulesEvaluate/N     one request: Evaluator setup + Decide() (page + variant)
//   BM_RulesSegmentList/N  one request: every segment evaluated for $tailor_segments (linear in
//                          the number of segments by nature)
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/diagnostic.h"
#include "rules/rule_set.h"
#include "core/signal_registry.h"

namespace tailor {
namespace {

const char* kCountries[] = {"FR", "BE", "DE", "IT", "ES", "GB", "US", "CA", "CH", "NL"};
const char* kBrowsers[] = {"Chrome", "Firefox", "Safari", "Edg", "OPR", "SamsungBrowser"};

// N rules: N segments, N/10 pages (each with 3 variants and a default), one score.
std::string GenerateRules(int n) {
  std::string r = "# generated: " + std::to_string(n) + " rules\n";
  for (int i = 0; i < n; ++i) {
    std::string s = "segment s" + std::to_string(i) + " = ";
    switch (i % 10) {
      case 0: s += "query(\"utm_campaign\") == \"c" + std::to_string(i) + "\""; break;
      case 1: s += "cookie(\"ab\") in [\"x" + std::to_string(i) + "\", \"y" + std::to_string(i) + "\", \"z\"]"; break;
      case 2: {
        s += "header(\"X-Country\") in [";
        for (int k = 0; k < 20; ++k) s += std::string(k ? ", " : "") + "\"" + kCountries[k % 10] + std::to_string(k + i) + "\"";
        s += ", \"FR\"]";
        break;
      }
      case 3:
        s += "header(\"User-Agent\") matches \"" + std::string(kBrowsers[i % 6]) + "/" +
             std::to_string(i % 120) + "\\\\.[0-9]+\"";
        break;
      case 4: s += "path starts_with \"/cat/" + std::to_string(i % 97) + "/\" and not s" + std::to_string(i - 1); break;
      case 5: s += "header(\"Accept-Language\") contains_ci \"" + std::string(i % 2 ? "fr" : "de") + "\" and s" + std::to_string(i - 3); break;
      case 6: s += "s" + std::to_string(i - 6) + " or s" + std::to_string(i - 4) + " or cookie(\"beta\") == \"1\""; break;
      case 7: s += "query(\"q\") ==~ \"shoes" + std::to_string(i) + "\" or header(\"Referer\") ends_with \".example" + std::to_string(i) + ".com\""; break;
      case 8: s += "time.hour between " + std::to_string(i % 12) + " and " + std::to_string(i % 12 + 8) + " and method == \"GET\""; break;
      case 9: s += "host == \"shop" + std::to_string(i % 5) + ".example.com\" and (s" + std::to_string(i - 9) + " or s" + std::to_string(i - 2) + ")"; break;
    }
    r += s + "\n";
  }
  r += "score intent {\n";
  for (int k = 0; k < 8 && k < n; ++k) r += "  +" + std::to_string(5 + k) + " when s" + std::to_string(k * (n / 8)) + "\n";
  r += "  bands low < 10 <= medium < 25 <= high\n}\n";
  int pages = n / 10 > 0 ? n / 10 : 1;
  for (int p = 0; p < pages; ++p) {
    std::string pattern;
    switch (p % 3) {
      case 0: pattern = "\"/page/" + std::to_string(p) + "\""; break;
      case 1: pattern = "\"/cat/" + std::to_string(p) + "/*\""; break;
      case 2: pattern = "\"/p/" + std::to_string(p) + "/*/reviews\""; break;
    }
    r += "page " + pattern + " {\n";
    for (int v = 0; v < 3; ++v) {
      int a = (p * 7 + v * 13) % n, b = (p * 11 + v * 5 + 3) % n;
      r += "  variant \"v" + std::to_string(p) + "-" + std::to_string(v) + "\" when s" +
           std::to_string(a) + (v == 2 ? " or intent == \"high\"" : " and not s" + std::to_string(b)) + "\n";
    }
    r += "  default \"d" + std::to_string(p) + "\"\n}\n";
  }
  r += "page matches \"^/item/[0-9]+$\" { variant \"item-x\" when s" + std::to_string(n > 3 ? 3 : 0) +
       " or s" + std::to_string(n - 1) + "  default \"item\" }\n";
  return r;
}

struct BenchRequest {
  std::string path, query, host;
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<HeaderField> fields;
  RequestView view;
};

std::vector<std::unique_ptr<BenchRequest>> MakeRequests(int n) {
  std::vector<std::unique_ptr<BenchRequest>> out;
  int pages = n / 10 > 0 ? n / 10 : 1;
  for (int i = 0; i < 64; ++i) {
    auto r = std::make_unique<BenchRequest>();
    int p = (i * 37) % pages;
    switch (i % 4) {
      case 0: r->path = "/page/" + std::to_string(p - p % 3); break;
      case 1: r->path = "/cat/" + std::to_string(p - p % 3 + 1) + "/shoes"; break;
      case 2: r->path = "/p/" + std::to_string(p - p % 3 + 2) + "/42/reviews"; break;
      case 3: r->path = i % 8 == 3 ? "/item/" + std::to_string(i) : "/nowhere/" + std::to_string(i); break;
    }
    r->query = "utm_campaign=c" + std::to_string(i * 10) + "&q=Shoes" + std::to_string(i * 10 + 7);
    r->host = "shop" + std::to_string(i % 5) + ".example.com";
    r->headers = {{"Host", r->host},
                  {"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) " +
                                     std::string(kBrowsers[i % 6]) + "/" + std::to_string(i % 120) + ".0.1 Safari/537.36"},
                  {"Accept-Language", i % 3 ? "fr-FR,fr;q=0.9,en;q=0.8" : "de-DE"},
                  {"Cookie", "ab=x" + std::to_string(i * 10 + 1) + "; beta=" + std::to_string(i % 2) + "; tailor_id=abc"},
                  {"X-Country", i % 2 ? "FR" : "US"},
                  {"Referer", "https://www.example" + std::to_string(i * 10 + 7) + ".com/"}};
    for (auto& [k, v] : r->headers) r->fields.push_back({k, v});
    r->view.method = "GET";
    r->view.scheme = "https";
    r->view.host = r->host;
    r->view.path = r->path;
    r->view.query = r->query;
    r->view.headers = r->fields;
    r->view.client_ip = "192.0.2.1";
    r->view.now_ms = 1795000000000 + i * 3600000LL;
    out.push_back(std::move(r));
  }
  return out;
}

void BM_RulesCompile(benchmark::State& state) {
  std::string src = GenerateRules(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    Diagnostics diags;
    auto rules = RuleSet::CompileString(src, "bench.rules", SignalRegistry::Builtin(), diags);
    if (!rules) {
      state.SkipWithError(diags.items().empty() ? "compile failed" : diags.items()[0].message.c_str());
      return;
    }
    benchmark::DoNotOptimize(rules.get());
  }
  state.SetLabel(std::to_string(src.size() / 1024) + " KiB of rules");
}
BENCHMARK(BM_RulesCompile)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

template <bool kSegments>
void RunEvaluate(benchmark::State& state) {
  int n = static_cast<int>(state.range(0));
  Diagnostics diags;
  auto rules = RuleSet::CompileString(GenerateRules(n), "bench.rules", SignalRegistry::Builtin(), diags);
  if (!rules) {
    state.SkipWithError("compile failed");
    return;
  }
  auto requests = MakeRequests(n);
  const SignalRegistry& registry = SignalRegistry::Builtin();
  std::vector<char> memo_buf(registry.memo_size() + 16);
  std::vector<char> arena_buf(4096);
  std::vector<char> state_buf(rules->state_size() + 16);
  void* rule_state = reinterpret_cast<void*>(
      (reinterpret_cast<uintptr_t>(state_buf.data()) + 15) & ~static_cast<uintptr_t>(15));
  Services services;
  size_t i = 0, matched = 0, variants = 0;
  for (auto _ : state) {
    const BenchRequest& r = *requests[i++ & 63];
    std::memset(memo_buf.data(), 0, registry.memo_size());  // the caller's per-request reset
    RequestMemo memo(memo_buf.data(), registry.memo_size());
    Arena arena(arena_buf.data(), arena_buf.size());
    EvalEnv env{r.view, services, arena, memo, "visitor", true};
    Evaluator ev(*rules, env, rule_state);
    if (kSegments) {
      benchmark::DoNotOptimize(ev.SegmentList());
    } else {
      Decision d = ev.Decide();
      matched += d.page >= 0;
      variants += !d.is_default && !d.variant.empty();
      benchmark::DoNotOptimize(d);
    }
  }
  state.counters["state_bytes"] = static_cast<double>(rules->state_size());
  if (!kSegments) {
    state.counters["page_hit%"] = 100.0 * matched / std::max<size_t>(1, state.iterations());
    state.counters["variant%"] = 100.0 * variants / std::max<size_t>(1, state.iterations());
  }
}

void BM_RulesEvaluate(benchmark::State& state) { RunEvaluate<false>(state); }
BENCHMARK(BM_RulesEvaluate)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);

void BM_RulesSegmentList(benchmark::State& state) { RunEvaluate<true>(state); }
BENCHMARK(BM_RulesSegmentList)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);

}  // namespace
}  // namespace tailor
