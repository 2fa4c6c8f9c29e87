// The C API (api/tailor.h) over the engine (engine/). Every entry point catches everything:
// nginx never sees a C++ exception, and no C++ allocation outlives the call except the engine.
#include "tailor.h"

#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto.h"
#include "core/diagnostic.h"
#include "core/request_view.h"
#include "core/text.h"
#include "engine/engine.h"
#include "lua/lua_signals.h"
#include "engine/request_evaluation.h"
#include "experiments/preview_token.h"

#define TAILOR_EXPORT extern "C" __attribute__((visibility("default")))

using namespace tailor;

namespace {

std::string_view View(tailor_str_t s) { return {s.data ? s.data : "", s.len}; }
tailor_str_t Str(std::string_view s) { return {s.size(), s.data() ? s.data() : ""}; }
size_t AlignUp(size_t n, size_t a) { return (n + a - 1) / a * a; }

void Say(tailor_log_pt log, void* ctx, int level, const std::string& msg) {
  if (log) log(ctx, level, msg.data(), msg.size());
}

}  // namespace

struct tailor_engine_s {
  std::unique_ptr<Engine> engine;
};

// The evaluation's fixed part; the headers and the RequestEvaluation's state follow it in the
// caller's buffer.
struct tailor_eval_s {
  const tailor_engine_s* engine;
  RequestEvaluation* evaluation;
  uint32_t errors;  // TAILOR_ERR_* bits seen at this boundary
  PreviewTokenText preview;  // the token the request carries, and where
};

static_assert(std::string_view(TAILOR_PREVIEW_NAME) == kPreviewName);

namespace {

struct EvalLayout {
  size_t evaluation, headers, state, total;
};

EvalLayout Layout(const tailor_engine_s* e, size_t nheaders) {
  EvalLayout l{};
  size_t off = AlignUp(sizeof(tailor_eval_s), 16);
  l.evaluation = off;
  off = AlignUp(off + sizeof(RequestEvaluation), 16);
  l.headers = off;
  off = AlignUp(off + nheaders * sizeof(HeaderField), 16);
  l.state = off;
  l.total = off + RequestEvaluation::StateSize(*e->engine);
  return l;
}

// "cookie:NAME" or "header:NAME" (tailor_lifecycle), signed; "unsigned:cookie:NAME" or
// "unsigned:header:NAME" when the site chooses to trust what the client sends.
bool ParseLifecycleSource(std::string_view text, LifecycleSource* out) {
  constexpr std::string_view kUnsigned = "unsigned:";
  out->trust_client = text.starts_with(kUnsigned);
  if (out->trust_client) text.remove_prefix(kUnsigned.size());
  size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon + 1 == text.size()) return false;
  std::string_view kind = text.substr(0, colon);
  if (kind == "cookie") {
    out->kind = LifecycleSource::Kind::kCookie;
  } else if (kind == "header") {
    out->kind = LifecycleSource::Kind::kHeader;
  } else {
    return false;
  }
  out->name = std::string(text.substr(colon + 1));
  return true;
}

}  // namespace

TAILOR_EXPORT size_t tailor_source_count(void) {
  return SignalRegistry::Builtin().sources().size();
}

// Directive and option names are string literals of the sources' definitions (static, NUL
// terminated), so the glue can keep pointers to them for the process's life.
TAILOR_EXPORT const char* tailor_source_directive(size_t i) {
  const auto& sources = SignalRegistry::Builtin().sources();
  return i < sources.size() ? sources[i].directive.data() : nullptr;
}

TAILOR_EXPORT const char* tailor_source_option(size_t i, size_t option, int* kind) {
  const auto& sources = SignalRegistry::Builtin().sources();
  if (i >= sources.size() || option >= sources[i].options.size()) return nullptr;
  const SourceOptionDef& o = sources[i].options[option];
  if (kind != nullptr)
    *kind = o.kind == SourceOptionDef::Kind::kDuration ? TAILOR_SOURCE_OPTION_DURATION
                                                       : TAILOR_SOURCE_OPTION_TEXT;
  return o.name.data();
}

TAILOR_EXPORT tailor_engine_t* tailor_engine_create(const tailor_engine_conf_t* conf,
                                                   tailor_log_pt log, void* log_ctx) {
  try {
    EngineConfig config;
    if (conf->rules_path) config.rules_path = conf->rules_path;
    for (size_t i = 0; i < conf->nsources; ++i) {
      const tailor_source_line_t& in = conf->sources[i];
      SourceSetting line{std::string(View(in.directive)), std::string(View(in.path)), {}};
      for (size_t k = 0; k < in.noptions; ++k)
        line.options.push_back({std::string(View(in.options[k].name)),
                                std::string(View(in.options[k].text)), in.options[k].ms});
      config.sources.push_back(std::move(line));
    }
    if (conf->secret_path) config.secret_path = conf->secret_path;
    if (conf->referrers_path) config.referrers_path = conf->referrers_path;
    for (size_t i = 0; i < conf->nlanguages; ++i) config.languages.push_back(conf->languages[i]);
    for (size_t i = 0; i < conf->nown_hosts; ++i) config.own_hosts.push_back(conf->own_hosts[i]);
    if (conf->profile_cookie) config.profile.cookie_name = conf->profile_cookie;
    if (conf->visit_timeout_ms > 0) config.profile.visit_timeout_ms = conf->visit_timeout_ms;
    for (size_t i = 0; i < conf->nlifecycle_registered; ++i) {
      LifecycleSource src;
      if (!ParseLifecycleSource(conf->lifecycle_registered[i], &src)) {
        Say(log, log_ctx, TAILOR_LOG_ERR,
            std::string("invalid lifecycle source \"") + conf->lifecycle_registered[i] + "\"");
        return nullptr;
      }
      config.profile.registered.push_back(std::move(src));
    }
    for (size_t i = 0; i < conf->nlifecycle_orders; ++i) {
      LifecycleSource src;
      if (!ParseLifecycleSource(conf->lifecycle_orders[i], &src)) {
        Say(log, log_ctx, TAILOR_LOG_ERR,
            std::string("invalid lifecycle source \"") + conf->lifecycle_orders[i] + "\"");
        return nullptr;
      }
      config.profile.orders.push_back(std::move(src));
    }
    if (conf->tables_reload_ms >= 0) config.tables_reload_ms = conf->tables_reload_ms;
    config.bots_get_default = conf->bots_get_default != 0;

    Diagnostics diags;
    auto engine = Engine::Create(config, diags);
    for (const Diagnostic& d : diags.items())
      Say(log, log_ctx, d.severity == Severity::kError ? TAILOR_LOG_ERR : TAILOR_LOG_WARN,
          FormatDiagnostic(d));
    if (!engine) {
      if (!diags.has_errors()) Say(log, log_ctx, TAILOR_LOG_ERR, "the configuration did not load");
      return nullptr;
    }
    auto* out = new tailor_engine_s;
    out->engine = std::move(engine);
    return out;
  } catch (const std::exception& e) {
    Say(log, log_ctx, TAILOR_LOG_ERR, std::string("unexpected failure: ") + e.what());
  } catch (...) {
    Say(log, log_ctx, TAILOR_LOG_ERR, "unexpected failure while loading the configuration");
  }
  return nullptr;
}

TAILOR_EXPORT void tailor_engine_destroy(tailor_engine_t* engine) {
  try {
    delete engine;
  } catch (...) {
  }
}

TAILOR_EXPORT int tailor_engine_worker_init(tailor_engine_t* engine, tailor_log_pt log,
                                            void* log_ctx) {
  try {
    Status started = engine->engine->StartWorker();
    if (started.ok()) return 0;
    Say(log, log_ctx, TAILOR_LOG_ERR, "worker start failed: " + started.message());
  } catch (...) {
    Say(log, log_ctx, TAILOR_LOG_ERR, "worker start failed");
  }
  return -1;
}

TAILOR_EXPORT int64_t tailor_engine_poll_interval_ms(const tailor_engine_t* engine) {
  return engine->engine->poll_interval_ms();
}

TAILOR_EXPORT int tailor_engine_poll(tailor_engine_t* engine, tailor_log_pt log,
                                     void* log_ctx) {
  try {
    int rejected = 0;
    for (const Engine::PollMessage& m : engine->engine->Poll()) {
      rejected += m.error;
      Say(log, log_ctx, m.error ? TAILOR_LOG_ERR : TAILOR_LOG_INFO, m.text);
    }
    return rejected;
  } catch (...) {
    Say(log, log_ctx, TAILOR_LOG_ERR, "reload check failed");
    return 1;
  }
}

TAILOR_EXPORT int tailor_engine_lua_log(tailor_engine_t* engine, int64_t now_ms,
                                        int64_t interval_ms, tailor_str_t* message,
                                        uint64_t* errors) {
  try {
    LuaWorkerState* lua = engine->engine->lua_state();
    std::string_view text;
    if (lua == nullptr || !lua->TakeLogMessage(now_ms, &text, errors, interval_ms)) return 0;
    *message = Str(text);
    return 1;
  } catch (...) {
    return 0;
  }
}

TAILOR_EXPORT tailor_str_t tailor_engine_profile_cookie(const tailor_engine_t* engine) {
  const ProfileCodec* codec = engine->engine->profile_codec();
  return codec ? Str(codec->options().cookie_name) : Str("");
}

TAILOR_EXPORT int tailor_engine_has_secret(const tailor_engine_t* engine) {
  return !engine->engine->secret().empty();
}

TAILOR_EXPORT int tailor_visitor_hash(const tailor_engine_t* engine, tailor_str_t id,
                                      char* out) {
  try {
    const HmacSha256Key& key = engine->engine->visitor_hash_key();
    if (key.empty()) return -1;
    // A distinct label keeps this MAC apart from the profile and preview MACs.
    char buf[256];
    std::string_view v = View(id);
    if (v.size() > sizeof buf - 8) return -1;
    std::memcpy(buf, "visitor:", 8);
    std::memcpy(buf + 8, v.data(), v.size());
    Sha256Digest d = key.Sign(std::string_view(buf, 8 + v.size()));
    Base64UrlEncode(d.data(), 16, out);
    return 0;
  } catch (...) {
    return -1;
  }
}

TAILOR_EXPORT int tailor_find_cookie(const tailor_request_t* req, tailor_str_t name,
                                     tailor_str_t* value) {
  try {
    for (size_t i = 0; i < req->nheaders; ++i) {
      const tailor_header_t& h = req->headers[i];
      if (h.name.len != 6 || !EqualsIgnoreCase(View(h.name), "cookie")) continue;
      if (auto v = FindCookieIn(View(h.value), View(name))) {
        *value = Str(*v);
        return 1;
      }
    }
  } catch (...) {
  }
  return 0;
}

TAILOR_EXPORT int tailor_visitor_id_valid(tailor_str_t id) {
  if (id.len != TAILOR_VISITOR_ID_LEN) return 0;
  uint8_t raw[24];
  return Base64UrlDecode(View(id), raw, sizeof raw) == 16;
}

TAILOR_EXPORT int tailor_visitor_id_generate(char* out) {
  uint8_t raw[16];
  if (!SecureRandom(raw, sizeof raw)) return -1;
  Base64UrlEncode(raw, sizeof raw, out);
  return 0;
}

TAILOR_EXPORT size_t tailor_eval_size(const tailor_engine_t* engine, size_t nheaders) {
  return Layout(engine, nheaders).total;
}

TAILOR_EXPORT tailor_eval_t* tailor_eval_init(const tailor_engine_t* engine,
                                              const tailor_request_t* req,
                                              const tailor_eval_options_t* options, void* buf,
                                              size_t size) {
  try {
    EvalLayout l = Layout(engine, req->nheaders);
    if (buf == nullptr || size < l.total ||
        reinterpret_cast<uintptr_t>(buf) % TAILOR_EVAL_ALIGN != 0)
      return nullptr;
    char* base = static_cast<char*>(buf);
    auto* headers = reinterpret_cast<HeaderField*>(base + l.headers);
    for (size_t i = 0; i < req->nheaders; ++i)
      new (&headers[i]) HeaderField{View(req->headers[i].name), View(req->headers[i].value)};

    RequestView view;
    view.method = View(req->method);
    view.scheme = View(req->scheme);
    view.host = View(req->host);
    view.path = View(req->path);
    view.query = View(req->query);
    view.headers = std::span<const HeaderField>(headers, req->nheaders);
    view.client_ip = View(req->client_ip);
    view.client_addr = req->client_addr;
    view.client_addr_len = req->client_addr_len;
    view.now_ms = req->now_ms;

    RequestOptions opts;
    opts.visitor_id = View(options->visitor_id);
    opts.consent = options->consent != 0;
    opts.default_only = options->default_only != 0;
    opts.visitor_cookie = View(options->visitor_cookie);
    PreviewTokenText preview = FindPreviewToken(view, opts.consent);
    opts.preview_token = preview.token;

    auto* ev = reinterpret_cast<tailor_eval_s*>(base);
    ev->engine = engine;
    ev->errors = 0;
    ev->preview = preview;
    ev->evaluation = new (base + l.evaluation)
        RequestEvaluation(*engine->engine, view, opts, base + l.state);
    return ev;
  } catch (...) {
    return nullptr;
  }
}

TAILOR_EXPORT void tailor_eval_finish(tailor_eval_t* ev) {
  try {
    if (ev && ev->evaluation) {
      ev->evaluation->~RequestEvaluation();
      ev->evaluation = nullptr;
    }
  } catch (...) {
  }
}

TAILOR_EXPORT int tailor_eval_preview(tailor_eval_t* ev, tailor_preview_t* out) {
  *out = tailor_preview_t{{0, ""}, 0, 0};
  try {
    if (ev->evaluation == nullptr) return 0;
    out->token = Str(ev->preview.token);
    out->from_query = ev->preview.source == PreviewSource::kQuery;
    if (const PreviewToken* p = ev->evaluation->preview()) out->expires_s = p->expires_s;
    return ev->evaluation->preview_status();
  } catch (...) {
    return -1;
  }
}

TAILOR_EXPORT int tailor_eval_decide(tailor_eval_t* ev, tailor_decision_t* out) {
  *out = tailor_decision_t{0, {0, ""}, {0, ""}, 0, TAILOR_NO_LABEL};
  try {
    if (ev->evaluation == nullptr) return -1;
    Decision d = ev->evaluation->Decide();
    out->matched = d.page >= 0;
    out->page = Str(d.page_pattern);
    out->variant = Str(d.variant);
    out->is_default = d.is_default;
    size_t label = ev->engine->engine->VariantLabel(d);
    out->label = label == Engine::kNoLabel ? TAILOR_NO_LABEL : label;
    return 0;
  } catch (...) {
    ev->errors |= 1u << TAILOR_ERR_EVAL;
    return -1;
  }
}

TAILOR_EXPORT int tailor_eval_segments(tailor_eval_t* ev, tailor_str_t* out) {
  *out = {0, ""};
  try {
    if (ev->evaluation == nullptr) return -1;
    *out = Str(ev->evaluation->Segments());
    return 0;
  } catch (...) {
    ev->errors |= 1u << TAILOR_ERR_EVAL;
    return -1;
  }
}

TAILOR_EXPORT int tailor_eval_goals(tailor_eval_t* ev, tailor_str_t* out) {
  *out = {0, ""};
  try {
    if (ev->evaluation == nullptr) return -1;
    *out = Str(ev->evaluation->Goals());
    return 0;
  } catch (...) {
    ev->errors |= 1u << TAILOR_ERR_EVAL;
    return -1;
  }
}

TAILOR_EXPORT int tailor_eval_experiments(tailor_eval_t* ev, tailor_str_t* out) {
  *out = {0, ""};
  try {
    if (ev->evaluation == nullptr) return -1;
    *out = Str(ev->evaluation->ExperimentList());
    return 0;
  } catch (...) {
    ev->errors |= 1u << TAILOR_ERR_EVAL;
    return -1;
  }
}

// --- Experiments as nginx variables ($tailor_experiment_NAME) ---

TAILOR_EXPORT int tailor_engine_experiment_index(const tailor_engine_t* engine,
                                                 tailor_str_t name) {
  try {
    return engine->engine->ExperimentIndex(View(name));
  } catch (...) {
    return -1;
  }
}

TAILOR_EXPORT int tailor_engine_use_experiment(tailor_engine_t* engine, size_t index) {
  try {
    const RuleSet* rules = engine->engine->rules();
    if (rules == nullptr || index >= rules->experiments().size()) return -1;
    engine->engine->UseExperimentVariable(index);
    return 0;
  } catch (...) {
    return -1;
  }
}

TAILOR_EXPORT int tailor_eval_experiment(tailor_eval_t* ev, size_t index, tailor_str_t* out) {
  *out = {0, ""};
  try {
    if (ev->evaluation == nullptr) return -1;
    std::string_view v = ev->evaluation->Experiment(index);
    if (v.empty()) return 0;
    *out = Str(v);
    return 1;
  } catch (...) {
    ev->errors |= 1u << TAILOR_ERR_EVAL;
    return -1;
  }
}

// --- end of the experiment variables ---

TAILOR_EXPORT size_t tailor_eval_profile_cookie(tailor_eval_t* ev, char* out, size_t cap) {
  try {
    if (ev->evaluation == nullptr) return 0;
    return ev->evaluation->ProfileCookie(out, cap);
  } catch (...) {
    ev->errors |= 1u << TAILOR_ERR_PROFILE;
    return 0;
  }
}

TAILOR_EXPORT size_t tailor_engine_variant_labels(const tailor_engine_t* engine) {
  return engine->engine->variant_labels().size();
}

TAILOR_EXPORT void tailor_engine_variant_label(const tailor_engine_t* engine, size_t i,
                                               tailor_str_t* page, tailor_str_t* variant) {
  *page = Str(engine->engine->variant_labels()[i].first);
  *variant = Str(engine->engine->variant_labels()[i].second);
}

TAILOR_EXPORT size_t tailor_engine_exposure_labels(const tailor_engine_t* engine) {
  return engine->engine->exposure_labels().size();
}

TAILOR_EXPORT void tailor_engine_exposure_label(const tailor_engine_t* engine, size_t i,
                                                tailor_str_t* experiment, tailor_str_t* variant) {
  *experiment = Str(engine->engine->exposure_labels()[i].first);
  *variant = Str(engine->engine->exposure_labels()[i].second);
}

TAILOR_EXPORT const char* tailor_error_kind_name(int kind) {
  static const char* const kNames[TAILOR_ERR_MAX] = {
      "eval", "visitor_cookie", "profile", "preview", "scratch",
      "geo",  "table",          "lua",     "reload",  "lifecycle"};
  return kind >= 0 && kind < TAILOR_ERR_MAX ? kNames[kind] : "unknown";
}

TAILOR_EXPORT size_t tailor_eval_exposures(tailor_eval_t* ev, size_t* ids, size_t max) {
  try {
    if (ev->evaluation == nullptr) return 0;
    return ev->evaluation->Exposures(ids, max);
  } catch (...) {
    ev->errors |= 1u << TAILOR_ERR_EVAL;
    return 0;
  }
}

TAILOR_EXPORT uint32_t tailor_eval_errors(tailor_eval_t* ev) {
  return ev->errors | (ev->evaluation ? ev->evaluation->errors() : 0);
}

namespace {

// The registry's argument-less signals, in registry order, with their names as C strings.
const std::vector<std::pair<const SignalDef*, std::string>>& VariableSignals() {
  static const std::vector<std::pair<const SignalDef*, std::string>> signals = [] {
    std::vector<std::pair<const SignalDef*, std::string>> v;
    for (const SignalDef& s : SignalRegistry::Builtin().all())
      if (s.arg == SignalArg::kNone) v.emplace_back(&s, s.name);
    return v;
  }();
  return signals;
}

}  // namespace

TAILOR_EXPORT size_t tailor_signal_count(void) {
  try {
    return VariableSignals().size();
  } catch (...) {
    return 0;
  }
}

TAILOR_EXPORT const char* tailor_signal_name(size_t i) {
  return VariableSignals()[i].second.c_str();
}

TAILOR_EXPORT int tailor_eval_signal(tailor_eval_t* ev, size_t i, tailor_str_t* out) {
  *out = {0, ""};
  try {
    if (ev->evaluation == nullptr || i >= VariableSignals().size()) return 0;
    std::string_view text;
    if (!ev->evaluation->SignalText(*VariableSignals()[i].first, &text)) return 0;
    *out = Str(text);
    return 1;
  } catch (...) {
    ev->errors |= 1u << TAILOR_ERR_EVAL;
    return 0;
  }
}
