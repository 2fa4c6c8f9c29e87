#include "engine/request_evaluation.h"

#include <charconv>
#include <cstring>
#include <new>

#include "lua/lua_signals.h"
#include "rules/compiled.h"
#include "signals/visitor_signals.h"

namespace tailor {

namespace {

size_t AlignUp(size_t n, size_t a) { return (n + a - 1) / a * a; }

struct Layout {
  size_t memo, evaluator, rules_state, arena, total;
};

Layout LayoutFor(const Engine& engine) {
  Layout l{};
  size_t off = 0;
  l.memo = off;
  off = AlignUp(off + SignalRegistry::Builtin().memo_size(), 16);
  l.evaluator = off;
  off = AlignUp(off + sizeof(Evaluator), 16);
  l.rules_state = off;
  if (engine.rules()) off = AlignUp(off + engine.rules()->state_size(), 16);
  l.arena = off;
  l.total = off + RequestEvaluation::kArenaSize;
  return l;
}

}  // namespace

size_t RequestEvaluation::StateSize(const Engine& engine) { return LayoutFor(engine).total; }

RequestEvaluation::RequestEvaluation(const Engine& engine, const RequestView& view,
                                     const RequestOptions& options, void* state)
    : engine_(engine),
      view_(view),
      options_(options),
      services_(engine.base_services()),
      tables_(engine.tables()),
      arena_(static_cast<char*>(state) + LayoutFor(engine).arena, kArenaSize),
      memo_(static_cast<char*>(state) + LayoutFor(engine).memo,
            SignalRegistry::Builtin().memo_size()),
      env_{view_, services_, arena_, memo_, options.consent ? options.visitor_id : std::string_view(),
           options.consent} {
  view_.cookie_jar = &cookie_jar_;
  if (!options.consent) {
    view_.hidden_cookies[0] = options.visitor_cookie;
    if (const ProfileCodec* codec = engine.profile_codec())
      view_.hidden_cookies[1] = codec->options().cookie_name;
  }
  Layout l = LayoutFor(engine);
  char* base = static_cast<char*>(state);
  std::memset(base + l.memo, 0, SignalRegistry::Builtin().memo_size());
  // Each data source's current snapshot, held until the request ends, and the worker's state.
  for (size_t id = 0; id < kMaxDataSources; ++id) {
    const DataSource* source = engine.source(id);
    if (source == nullptr) continue;
    sources_[id] = source->Snapshot();
    services_.sources[id] = {sources_[id].get(), source->worker_state()};
  }
  services_.tables = tables_.get();
  if (!options.consent) services_.profile = nullptr;
  if (!options.preview_token.empty()) {
    preview_status_ = -1;
    errors_ |= kErrPreview;
    char* scratch = arena_.AllocateChars(kPreviewScratchSize);
    if (engine.preview_key() != nullptr && scratch != nullptr &&
        VerifyPreviewToken(options.preview_token, *engine.preview_key(), view.now_ms,
                           std::span<char>(scratch, kPreviewScratchSize),
                           &preview_) == PreviewStatus::kOk) {
      preview_status_ = 1;
      errors_ &= ~kErrPreview;
      env_.preview = &preview_;
    }
  }
  if (engine.rules())
    evaluator_ = new (base + l.evaluator) Evaluator(*engine.rules(), env_, base + l.rules_state);
}

RequestEvaluation::~RequestEvaluation() = default;  // Evaluator is trivially destructible

namespace {

// Sets kErrLua on the evaluation when the worker's Lua error total moved during one of its
// calls: a worker runs one evaluation step at a time, so the change is this request's.
class LuaErrorWatch {
 public:
  LuaErrorWatch(const Engine& engine, uint32_t* errors)
      : lua_(engine.lua_state()), errors_(errors), before_(lua_ ? lua_->errors_total() : 0) {}
  ~LuaErrorWatch() {
    if (lua_ != nullptr && lua_->errors_total() != before_) *errors_ |= kErrLua;
  }

 private:
  const LuaWorkerState* lua_;
  uint32_t* errors_;
  uint64_t before_;
};

}  // namespace

Decision RequestEvaluation::Decide() {
  LuaErrorWatch lua_watch(engine_, &errors_);
  if (decided_) return decision_;
  decided_ = true;
  if (evaluator_ == nullptr) return decision_;

  bool default_only = options_.default_only;
  if (!default_only && engine_.config().bots_get_default) {
    // Crawlers index the canonical page: a bot gets the default variant.
    static const SignalDef* bot = SignalRegistry::Builtin().Find("device.bot");
    if (bot != nullptr) {
      Value v = bot->fn(SignalArgs{}, env_);
      default_only = v.type == ValueType::kBool && v.boolean;
    }
  }
  auto serve_default = [&](int page) {
    decision_ = Decision{};
    if (page < 0) return;
    const CompiledPage& p = engine_.rules()->compiled().pages[page];
    decision_.page = page;
    decision_.page_pattern = p.pattern;
    decision_.variant = p.has_default ? p.default_name : std::string_view();
    decision_.is_default = true;
  };
  if (default_only) {
    serve_default(evaluator_->MatchPage());
    return decision_;
  }
  decision_ = evaluator_->Decide();
  if (arena_.exhausted()) {
    // A value the rules read was dropped for want of scratch space, so the variant chosen
    // may not be the one the rules mean for this request: the page's default is the safe
    // answer, and the experiments evaluated on the way are not what the visitor sees.
    errors_ |= kErrScratch;
    scratch_default_ = true;
    serve_default(decision_.page);
    return decision_;
  }
  if (preview_status_ == 1 && !preview_.page_variant.empty() && decision_.page >= 0) {
    // A preview may force the page variant, if the page has one of that name.
    const CompiledRules& c = engine_.rules()->compiled();
    const CompiledPage& p = c.pages[decision_.page];
    for (uint32_t i = 0; i < p.variants_count; ++i)
      if (c.variants[p.variants_first + i].name == preview_.page_variant) {
        decision_.variant = c.variants[p.variants_first + i].name;
        decision_.is_default = false;
      }
    if (p.has_default && p.default_name == preview_.page_variant) {
      decision_.variant = p.default_name;
      decision_.is_default = true;
    }
  }
  return decision_;
}

std::string_view RequestEvaluation::Segments() {
  LuaErrorWatch lua_watch(engine_, &errors_);
  if (segments_done_) return segments_;
  segments_done_ = true;
  if (evaluator_ == nullptr) return segments_;
  segments_ = evaluator_->SegmentList();
  if (arena_.exhausted()) errors_ |= kErrScratch;
  return segments_;
}

std::string_view RequestEvaluation::Goals() {
  LuaErrorWatch lua_watch(engine_, &errors_);
  if (goals_done_) return goals_;
  goals_done_ = true;
  if (evaluator_ == nullptr) return goals_;
  goals_ = evaluator_->GoalList();
  if (arena_.exhausted()) errors_ |= kErrScratch;
  return goals_;
}

size_t RequestEvaluation::Exposures(size_t* ids, size_t max) {
  LuaErrorWatch lua_watch(engine_, &errors_);
  // Previews are a reviewer's forced choices, not an experiment's traffic; a request served
  // the default for want of scratch saw no experiment's variant.
  if (evaluator_ == nullptr || preview_status_ == 1 || scratch_default_) return 0;
  const CompiledRules& c = engine_.rules()->compiled();
  const auto& experiments = engine_.rules()->experiments();
  size_t n = 0;
  for (size_t k = 0; k < c.experiment_slots.size() && n < max; ++k) {
    uint32_t s = c.experiment_slots[k];
    const Slot& slot = c.slots[s];
    if (!evaluator_->slot_computed(s)) continue;
    const Value& v = evaluator_->slot_value(s);
    if (v.type != ValueType::kString || slot.index >= experiments.size()) continue;
    size_t label = engine_.ExposureLabel(slot.index, v.str);
    if (label != Engine::kNoLabel) ids[n++] = label;
  }
  return n;
}

std::string_view RequestEvaluation::ExperimentList() {
  LuaErrorWatch lua_watch(engine_, &errors_);
  if (experiments_done_) return experiments_;
  if (evaluator_ == nullptr) {
    experiments_done_ = true;
    return experiments_;
  }
  // The list does not depend on what the configuration read before: its first read evaluates
  // everything the request can show the visitor a variant through — the page decision, the
  // segments, and every experiment a $tailor_experiment_NAME of the configuration names.
  Decide();
  Segments();
  for (uint32_t i : engine_.variable_experiments()) (void) evaluator_->Experiment(i);
  experiments_done_ = true;
  if (preview_status_ == 1 || scratch_default_) return experiments_;
  const CompiledRules& c = engine_.rules()->compiled();
  const auto& experiments = engine_.rules()->experiments();
  // In declaration order.
  size_t len = 0;
  for (size_t i = 0; i < c.experiment_slot_of.size() && i < experiments.size(); ++i) {
    uint32_t s = c.experiment_slot_of[i];
    if (!evaluator_->slot_computed(s)) continue;
    const Value& v = evaluator_->slot_value(s);
    if (v.type != ValueType::kString) continue;
    len += experiments[i].name.size() + 1 + v.str.size() + 1;
  }
  if (len == 0) return experiments_;
  char* out = arena_.AllocateChars(len);
  if (out == nullptr) {
    errors_ |= kErrScratch;
    return experiments_;
  }
  size_t o = 0;
  for (size_t i = 0; i < c.experiment_slot_of.size() && i < experiments.size(); ++i) {
    uint32_t s = c.experiment_slot_of[i];
    if (!evaluator_->slot_computed(s)) continue;
    const Value& v = evaluator_->slot_value(s);
    if (v.type != ValueType::kString) continue;
    if (o) out[o++] = ',';
    const std::string& name = experiments[i].name;
    std::memcpy(out + o, name.data(), name.size());
    o += name.size();
    out[o++] = ':';
    std::memcpy(out + o, v.str.data(), v.str.size());
    o += v.str.size();
  }
  experiments_ = std::string_view(out, o);
  return experiments_;
}

std::string_view RequestEvaluation::Experiment(size_t i) {
  LuaErrorWatch lua_watch(engine_, &errors_);
  if (evaluator_ == nullptr) return {};
  return evaluator_->Experiment(i);
}

}  // namespace tailor

namespace tailor {

size_t RequestEvaluation::ProfileCookie(char* out, size_t cap) {
  LuaErrorWatch lua_watch(engine_, &errors_);
  if (!options_.consent || services_.profile == nullptr) return 0;
  size_t n = EncodeRequestProfile(env_, out, cap);
  // A profile cookie that was sent but rejected (signature, encoding, size) is counted: the
  // visitor was treated as new, which a site wants to see when it happens at scale.
  if (const VisitorState* v = RequestVisitor(env_);
      v != nullptr && v->incoming != ProfileStatus::kAbsent && v->incoming != ProfileStatus::kValid)
    errors_ |= kErrProfile;
  return n;
}

uint32_t RequestEvaluation::errors() {
  // A forged lifecycle value is the visitor's doing whether or not a rule read lifecycle, so
  // the check does not depend on the rules; services_.profile is null without consent.
  if (!lifecycle_checked_) {
    lifecycle_checked_ = true;
    bool rejected = false;
    if (services_.profile != nullptr) services_.profile->ObserveLifecycle(view_, &rejected);
    if (rejected) errors_ |= kErrLifecycle;
  }
  return errors_;
}

}  // namespace tailor

namespace tailor {

bool RequestEvaluation::SignalText(const SignalDef& signal, std::string_view* out) {
  LuaErrorWatch lua_watch(engine_, &errors_);
  Value v = signal.fn(SignalArgs{}, env_);
  switch (v.type) {
    case ValueType::kMissing:
      return false;
    case ValueType::kString:
      *out = v.str;
      return true;
    case ValueType::kBool:
      *out = v.boolean ? "1" : "0";
      return true;
    case ValueType::kNumber: {
      char* buf = arena_.AllocateChars(32);
      if (buf == nullptr) {
        errors_ |= kErrScratch;
        return false;
      }
      auto r = std::to_chars(buf, buf + 32, v.number);
      *out = std::string_view(buf, r.ptr - buf);
      return true;
    }
    case ValueType::kStringList: {
      size_t len = 0;
      for (std::string_view s : v.list) len += s.size() + 1;
      char* buf = arena_.AllocateChars(len ? len : 1);
      if (buf == nullptr) {
        errors_ |= kErrScratch;
        return false;
      }
      size_t o = 0;
      for (std::string_view s : v.list) {
        if (o) buf[o++] = ',';
        std::memcpy(buf + o, s.data(), s.size());
        o += s.size();
      }
      *out = std::string_view(buf, o);
      return true;
    }
  }
  return false;
}

}  // namespace tailor
