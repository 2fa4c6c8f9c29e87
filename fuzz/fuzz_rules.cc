// Fuzzes the rule language: lexer, parser, checker, compiler (including vectorscan regex
// databases), the evaluator on a fixed request, and the formatter (whose output must parse
// and format to itself). Any crash, leak, sanitizer report, unbounded recursion or formatter
// disagreement is a finding.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/diagnostic.h"
#include "rules/formatter.h"
#include "rules/rule_set.h"
#include "core/signal_registry.h"

using namespace tailor;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  std::string_view src(reinterpret_cast<const char*>(data), size);
  const SignalRegistry& registry = SignalRegistry::Builtin();

  RuleSetOptions options;
  options.follow_includes = false;  // no file system access
  Diagnostics diags;
  auto rules = RuleSet::Compile(src, "fuzz.rules", registry, diags, options);
  for (const Diagnostic& d : diags.items()) (void)FormatDiagnostic(d);
  if (rules) {
    HeaderField headers[] = {{"User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile"},
                             {"Cookie", "beta=1; tailor_id=abc"},
                             {"X-Beta", "yes"},
                             {"Accept-Language", "fr-FR,fr;q=0.9"}};
    RequestView view;
    view.method = "GET";
    view.scheme = "https";
    view.host = "shop.example.com";
    view.path = "/shop/p/123";
    view.query = "utm_medium=email&q=a%20b";
    view.headers = headers;
    view.client_ip = "192.0.2.1";
    view.now_ms = 1795000000000;
    Services services;
    std::vector<char> memo_buf(registry.memo_size() + 16, 0);
    RequestMemo memo(memo_buf.data(), registry.memo_size());
    char arena_buf[4096];
    Arena arena(arena_buf, sizeof arena_buf);
    EvalEnv env{view, services, arena, memo, "visitor", true};
    std::vector<char> state(rules->state_size() + 16);
    void* aligned = reinterpret_cast<void*>(
        (reinterpret_cast<uintptr_t>(state.data()) + 15) & ~static_cast<uintptr_t>(15));
    Evaluator ev(*rules, env, aligned);
    (void)ev.Decide();
    (void)ev.SegmentList();
    (void)ev.GoalList();
    for (size_t i = 0; i < rules->num_scores(); ++i) (void)ev.ScoreBand(i);
  }

  // The formatter: a file that parses formats to a fixed point.
  std::string once;
  Diagnostics fd;
  if (FormatSource(src, "fuzz.rules", &once, fd)) {
    std::string twice;
    Diagnostics fd2;
    if (!FormatSource(once, "fuzz.rules", &twice, fd2)) {
      std::fprintf(stderr, "formatted output does not parse:\n%s\n%s\n", once.c_str(),
                   fd2.items().empty() ? "" : FormatDiagnostic(fd2.items()[0]).c_str());
      std::abort();
    }
    if (twice != once) {
      std::fprintf(stderr, "formatter is not idempotent:\n--- once\n%s\n--- twice\n%s\n",
                   once.c_str(), twice.c_str());
      std::abort();
    }
  }
  return 0;
}
