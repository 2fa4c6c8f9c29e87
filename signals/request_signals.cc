// The plain request signals: header("N"), cookie("N"), query("N"), path, host, method.
#include "core/text.h"
#include "core/signal_registry.h"
#include "signals/request_signals.h"

namespace tailor {
namespace {

Value Header(const SignalArgs& a, EvalEnv& env) {
  auto v = env.request.FindHeader(a.str);
  return v ? Value::String(*v) : Value::Missing();
}

Value Cookie(const SignalArgs& a, EvalEnv& env) {
  auto v = env.request.FindCookie(a.str);
  if (!v) return Value::Missing();
  auto decoded = PercentDecode(*v, env.arena, /*plus_as_space=*/false);
  return decoded ? Value::String(*decoded) : Value::Missing();
}

Value Query(const SignalArgs& a, EvalEnv& env) {
  auto v = env.request.FindQueryParam(a.str);
  if (!v) return Value::Missing();
  auto decoded = PercentDecode(*v, env.arena, /*plus_as_space=*/true);
  return decoded ? Value::String(*decoded) : Value::Missing();
}

Value Path(const SignalArgs&, EvalEnv& env) { return Value::String(env.request.path); }
Value Host(const SignalArgs&, EvalEnv& env) { return Value::String(env.request.host); }
Value Method(const SignalArgs&, EvalEnv& env) { return Value::String(env.request.method); }

}  // namespace

void RegisterRequestSignals(SignalRegistry& r) {
  r.Add({"header", ValueType::kString, SignalArg::kString, 5, Header,
         "a request header (first one, name case-insensitive)", R"(header("X-Beta") == "1")"});
  r.Add({"cookie", ValueType::kString, SignalArg::kString, 5, Cookie,
         "a cookie's value, percent-decoded", R"(cookie("beta") == "1")"});
  r.Add({"query", ValueType::kString, SignalArg::kString, 5, Query,
         "a query parameter's value, percent-decoded ('+' is a space)",
         R"(query("utm_medium") == "email")"});
  r.Add({"path", ValueType::kString, SignalArg::kNone, 1, Path,
         "the normalized, decoded request path", R"(path starts_with "/shop/")"});
  r.Add({"host", ValueType::kString, SignalArg::kNone, 1, Host, "the request's host name",
         R"(host == "example.com")"});
  r.Add({"method", ValueType::kString, SignalArg::kNone, 1, Method, "the request method",
         R"(method == "GET")"});
}

}  // namespace tailor
