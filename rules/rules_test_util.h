// Test helper: compiles rules and evaluates requests built from a URL and headers.
#pragma once

#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/diagnostic.h"
#include "rules/rule_set.h"
#include "core/signal_registry.h"
#include "signals/request_signals.h"

namespace tailor {

// The request signals plus a few typed test signals (the other families are not needed here):
//   t.num   number  from header X-Num (missing when absent)
//   t.flag  bool    header X-Flag == "1" (missing when absent)
//   t.tags  list    ["red", "Blue"] when header X-Tags is present
//   t.country string header X-Country (missing when absent), cost 50
inline Value TestNum(const SignalArgs&, EvalEnv& env) {
  auto h = env.request.FindHeader("X-Num");
  if (!h) return Value::Missing();
  return Value::Number(std::strtod(std::string(*h).c_str(), nullptr));
}
inline Value TestFlag(const SignalArgs&, EvalEnv& env) {
  auto h = env.request.FindHeader("X-Flag");
  if (!h) return Value::Missing();
  return Value::Bool(*h == "1");
}
inline Value TestTags(const SignalArgs&, EvalEnv& env) {
  static const std::string_view kTags[] = {"red", "Blue"};
  if (!env.request.FindHeader("X-Tags")) return Value::Missing();
  return Value::List(kTags);
}
inline Value TestCountry(const SignalArgs&, EvalEnv& env) {
  auto h = env.request.FindHeader("X-Country");
  return h ? Value::String(*h) : Value::Missing();
}
inline int& TestCountryCalls() {
  static int calls = 0;
  return calls;
}
inline Value TestCountryCounted(const SignalArgs& a, EvalEnv& env) {
  ++TestCountryCalls();
  return TestCountry(a, env);
}

// interest("NAME"): the length of NAME (enough to see which interest was asked for).
inline Value TestInterest(const SignalArgs& a, EvalEnv&) {
  return Value::Number(static_cast<double>(a.str.size()));
}

inline const SignalRegistry& TestRegistry() {
  static const SignalRegistry registry = [] {
    SignalRegistry r;
    RegisterRequestSignals(r);
    r.Add({"t.num", ValueType::kNumber, SignalArg::kNone, 1, TestNum, "test number", "t.num > 1"});
    r.Add({"t.flag", ValueType::kBool, SignalArg::kNone, 1, TestFlag, "test bool", "t.flag"});
    r.Add({"t.tags", ValueType::kStringList, SignalArg::kNone, 1, TestTags, "test list",
           "t.tags contains \"red\""});
    r.Add({"t.country", ValueType::kString, SignalArg::kNone, 50, TestCountryCounted,
           "test string", "t.country == \"FR\""});
    r.Add({"interest", ValueType::kNumber, SignalArg::kString, 5, TestInterest, "test interest",
           "interest(\"x\") > 1"});
    return r;
  }();
  return registry;
}

struct TestRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string host = "example.com";
  std::string method = "GET";
  std::string ip = "192.0.2.1";
  int64_t now_ms = 1795000000000;  // 2026-11-18
  std::string visitor_id = "visitor-1";
};

// Owns everything a request evaluation needs (the request's strings, memo, arena, state).
class RequestHarness {
 public:
  RequestHarness(const RuleSet& rules, TestRequest req) : req_(std::move(req)) {
    size_t q = req_.url.find('?');
    path_ = req_.url.substr(0, q);
    query_ = q == std::string::npos ? "" : req_.url.substr(q + 1);
    for (auto& [n, v] : req_.headers) fields_.push_back({n, v});
    view_.method = req_.method;
    view_.scheme = "https";
    view_.host = req_.host;
    view_.path = path_;
    view_.query = query_;
    view_.headers = fields_;
    view_.client_ip = req_.ip;
    view_.now_ms = req_.now_ms;
    memo_buf_.assign(TestRegistry().memo_size() + 16, 0);
    memo_ = std::make_unique<RequestMemo>(memo_buf_.data(), TestRegistry().memo_size());
    arena_buf_.resize(4096);
    arena_ = std::make_unique<Arena>(arena_buf_.data(), arena_buf_.size());
    env_ = std::make_unique<EvalEnv>(
        EvalEnv{view_, services_, *arena_, *memo_, req_.visitor_id, true});
    state_.reset(static_cast<char*>(::operator new(rules.state_size(), std::align_val_t(16))));
    std::memset(state_.get(), 0xA5, rules.state_size());  // "any content"
    eval_.emplace(rules, *env_, state_.get());
  }
  Evaluator& eval() { return *eval_; }
  EvalEnv& env() { return *env_; }

 private:
  struct AlignedDelete {
    void operator()(char* p) const { ::operator delete(p, std::align_val_t(16)); }
  };
  TestRequest req_;
  std::string path_, query_;
  std::vector<HeaderField> fields_;
  RequestView view_;
  Services services_;
  std::vector<char> memo_buf_, arena_buf_;
  std::unique_ptr<RequestMemo> memo_;
  std::unique_ptr<Arena> arena_;
  std::unique_ptr<EvalEnv> env_;
  std::unique_ptr<char, AlignedDelete> state_;
  std::optional<Evaluator> eval_;
};

struct RulesFixture {
  explicit RulesFixture(const std::string& source, const std::string& name = "test.rules") {
    rules = RuleSet::CompileString(source, name, TestRegistry(), diags);
  }
  std::string errors() const {
    std::string out;
    for (auto& d : diags.items()) out += FormatDiagnostic(d) + "\n";
    return out;
  }
  Decision Decide(const std::string& url,
                  std::vector<std::pair<std::string, std::string>> headers = {}) {
    TestRequest r;
    r.url = url;
    r.headers = std::move(headers);
    harness = std::make_unique<RequestHarness>(*rules, r);
    return harness->eval().Decide();
  }
  std::string Segments(const std::string& url,
                       std::vector<std::pair<std::string, std::string>> headers = {}) {
    TestRequest r;
    r.url = url;
    r.headers = std::move(headers);
    harness = std::make_unique<RequestHarness>(*rules, r);
    return std::string(harness->eval().SegmentList());
  }
  Diagnostics diags;
  std::shared_ptr<const RuleSet> rules;
  std::unique_ptr<RequestHarness> harness;
};

}  // namespace tailor
