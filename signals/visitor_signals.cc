// visitor.new / visits / pageviews / days_since_first / first_touch.* / last_touch.*,
// interest("NAME"), interest.top, lifecycle. The profile cookie is verified, decoded and
// advanced for this request once (memoized); every signal reads that one state.
#include "signals/visitor_signals.h"

#include <cstring>

#include "signals/referrer_signals.h"

namespace tailor {
namespace {

size_t g_visitor_slot = 0;

struct VisitorMemo {
  bool available;
  VisitorState state;
};

const VisitorMemo& Compute(EvalEnv& env) {
  return Memoized<VisitorMemo>(env, g_visitor_slot, [](EvalEnv& e) {
    VisitorMemo m{};
    const ProfileCodec* codec = e.services.profile;
    if (codec == nullptr || !e.consent) return m;
    const RequestView& rq = e.request;
    std::string_view raw = rq.FindCookie(codec->options().cookie_name).value_or("");
    m.state.incoming = codec->Decode(raw, &m.state.profile);
    m.state.is_new = m.state.incoming != ProfileStatus::kValid;

    ProfileUpdate u;
    u.now_ms = rq.now_ms;
    if (const ReferrerResult* r = RequestReferrer(e)) {
      u.medium = r->medium;
      u.source = r->source;
    }
    uint16_t ids[InterestSet::kMaxInterests];
    size_t n = 0;
    if (e.services.interests != nullptr)
      n = e.services.interests->Match(rq.path, ids, InterestSet::kMaxInterests);
    u.interests = std::span<const uint16_t>(ids, n);
    u.lifecycle = codec->ObserveLifecycle(rq);
    codec->Update(&m.state.profile, m.state.is_new, u);
    m.available = true;
    return m;
  });
}

const VisitorState* State(EvalEnv& env) {
  const VisitorMemo& m = Compute(env);
  return m.available ? &m.state : nullptr;
}

Value NewSignal(const SignalArgs&, EvalEnv& env) {
  const VisitorState* s = State(env);
  return s ? Value::Bool(s->is_new) : Value::Missing();
}
Value VisitsSignal(const SignalArgs&, EvalEnv& env) {
  const VisitorState* s = State(env);
  return s ? Value::Number(s->profile.visits) : Value::Missing();
}
Value PageviewsSignal(const SignalArgs&, EvalEnv& env) {
  const VisitorState* s = State(env);
  return s ? Value::Number(s->profile.pageviews) : Value::Missing();
}
Value DaysSinceFirstSignal(const SignalArgs&, EvalEnv& env) {
  const VisitorState* s = State(env);
  if (!s) return Value::Missing();
  int64_t now_s = env.request.now_ms / 1000;
  int64_t d = (now_s - static_cast<int64_t>(s->profile.first_seen_s)) / 86400;
  return Value::Number(static_cast<double>(d < 0 ? 0 : d));
}
Value FirstMediumSignal(const SignalArgs&, EvalEnv& env) {
  const VisitorState* s = State(env);
  return s ? Value::String(MediumName(s->profile.first_medium)) : Value::Missing();
}
Value LastMediumSignal(const SignalArgs&, EvalEnv& env) {
  const VisitorState* s = State(env);
  return s ? Value::String(MediumName(s->profile.last_medium)) : Value::Missing();
}
Value SourceValue(const VisitorState* s, bool first) {
  if (!s) return Value::Missing();
  std::string_view v = first ? s->profile.first_source_view() : s->profile.last_source_view();
  return v.empty() ? Value::Missing() : Value::String(v);
}
Value FirstSourceSignal(const SignalArgs&, EvalEnv& env) { return SourceValue(State(env), true); }
Value LastSourceSignal(const SignalArgs&, EvalEnv& env) { return SourceValue(State(env), false); }

Value InterestSignal(const SignalArgs& a, EvalEnv& env) {
  const VisitorState* s = State(env);
  if (!s || env.services.interests == nullptr || env.services.interests->Find(a.str) < 0)
    return Value::Missing();
  return Value::Number(s->profile.InterestScore(InterestId(a.str)));
}
Value InterestTopSignal(const SignalArgs&, EvalEnv& env) {
  const VisitorState* s = State(env);
  uint16_t id = 0;
  if (!s || env.services.interests == nullptr || !s->profile.TopInterest(&id))
    return Value::Missing();
  std::string_view name = env.services.interests->NameOfId(id);
  return name.empty() ? Value::Missing() : Value::String(name);
}
Value LifecycleSignal(const SignalArgs&, EvalEnv& env) {
  const ProfileCodec* codec = env.services.profile;
  if (codec == nullptr) return Value::Missing();
  // With consent the stage is sticky (kept in the profile); without, only what this request
  // declares counts.
  if (const VisitorState* s = State(env)) return Value::String(LifecycleName(s->profile.lifecycle));
  return Value::String(LifecycleName(codec->ObserveLifecycle(env.request)));
}

}  // namespace

const VisitorState* RequestVisitor(EvalEnv& env) { return State(env); }

size_t EncodeRequestProfile(EvalEnv& env, char* out, size_t cap) {
  const VisitorState* s = State(env);
  if (s == nullptr) return 0;
  return env.services.profile->Encode(s->profile, out, cap);
}

void RegisterVisitorSignals(SignalRegistry& r) {
  g_visitor_slot = r.ReserveMemo(sizeof(Memo<VisitorMemo>), alignof(Memo<VisitorMemo>));
  auto add = [&](const char* name, ValueType type, SignalArg arg, SignalFn fn, const char* doc,
                 const char* example, bool consent) {
    SignalDef d{name, type, arg, 20, fn, doc, example};
    d.needs_consent = consent;
    r.Add(std::move(d));
  };
  add("visitor.new", ValueType::kBool, SignalArg::kNone, NewSignal,
      "true when the request brought no valid profile cookie (first visit, cleared, tampered)",
      "visitor.new", true);
  add("visitor.visits", ValueType::kNumber, SignalArg::kNone, VisitsSignal,
      "visits so far, this one included (a new visit after 30 min idle)", "visitor.visits >= 3",
      true);
  add("visitor.pageviews", ValueType::kNumber, SignalArg::kNone, PageviewsSignal,
      "page views so far, this one included", "visitor.pageviews > 10", true);
  add("visitor.days_since_first", ValueType::kNumber, SignalArg::kNone, DaysSinceFirstSignal,
      "whole days since the first visit", "visitor.days_since_first >= 30", true);
  add("visitor.first_touch.medium", ValueType::kString, SignalArg::kNone, FirstMediumSignal,
      "referrer.medium of the very first visit", R"(visitor.first_touch.medium == "search")",
      true);
  add("visitor.first_touch.source", ValueType::kString, SignalArg::kNone, FirstSourceSignal,
      "referrer.source of the very first visit (up to 24 bytes)",
      R"(visitor.first_touch.source == "google")", true);
  add("visitor.last_touch.medium", ValueType::kString, SignalArg::kNone, LastMediumSignal,
      "referrer.medium of the latest external arrival (direct and internal requests do not "
      "replace it)",
      R"(visitor.last_touch.medium == "email")", true);
  add("visitor.last_touch.source", ValueType::kString, SignalArg::kNone, LastSourceSignal,
      "referrer.source of the latest external arrival",
      R"(visitor.last_touch.source == "newsletter")", true);
  add("interest", ValueType::kNumber, SignalArg::kString, InterestSignal,
      "the visitor's counter for a declared interest (page views of its paths, capped, "
      "halving per 30 idle days); the rules' interest.NAME is interest(\"NAME\")",
      R"(interest("shoes") >= 3)", true);
  add("interest.top", ValueType::kString, SignalArg::kNone, InterestTopSignal,
      "the declared interest with the highest counter", R"(interest.top == "shoes")", true);
  add("lifecycle", ValueType::kString, SignalArg::kNone, LifecycleSignal,
      "anonymous, registered, customer or repeat_customer, from the cookies/headers the site "
      "sets at login and purchase (sticky in the profile)",
      R"(lifecycle in ["customer", "repeat_customer"])", false);
}

}  // namespace tailor
