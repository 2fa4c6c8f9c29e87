// The C API (api/tailor.h) over the C++ core. Every entry point catches everything: nginx
// never sees a C++ exception, and no C++ allocation outlives the call except the engine.
#include "tailor.h"

#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "core/diagnostic.h"
#include "core/request_view.h"
#include "rules/compiled.h"
#include "rules/rule_set.h"
#include "signals/signal_registry.h"

#define TAILOR_EXPORT extern "C" __attribute__((visibility("default")))

namespace tailor {
namespace {

// Scratch for decoded strings and the segment list of one request.
constexpr size_t kArenaSize = 4096;

std::string_view View(tailor_str_t s) { return {s.data ? s.data : "", s.len}; }
tailor_str_t Str(std::string_view s) { return {s.size(), s.data()}; }

size_t AlignUp(size_t n, size_t a) { return (n + a - 1) / a * a; }

}  // namespace
}  // namespace tailor

using namespace tailor;

struct tailor_engine_s {
  std::shared_ptr<const RuleSet> rules;  // null when no rules file is configured
  Services services;

  // Counter labels: every (page, variant) pair, and per page its variants' label ids (a page
  // has a handful of variants: a linear scan beats hashing and allocates nothing).
  struct Label {
    std::string_view page, variant;
  };
  std::vector<Label> variant_labels;
  std::vector<std::vector<std::pair<std::string_view, size_t>>> page_labels;
  std::vector<Label> exposure_labels;

  void BuildLabels();
  size_t LabelOf(const Decision& d) const;
};

void tailor_engine_s::BuildLabels() {
  if (!rules) return;
  const CompiledRules& c = rules->compiled();
  page_labels.resize(c.pages.size());
  for (size_t p = 0; p < c.pages.size(); ++p) {
    const CompiledPage& page = c.pages[p];
    auto add = [&](std::string_view name) {
      for (const auto& [v, id] : page_labels[p])
        if (v == name) return;
      page_labels[p].emplace_back(name, variant_labels.size());
      variant_labels.push_back({page.pattern, name});
    };
    for (uint32_t i = 0; i < page.variants_count; ++i)
      add(c.variants[page.variants_first + i].name);
    if (page.has_default) add(page.default_name);
  }
  for (const ExperimentDecl& e : rules->experiments())
    for (const auto& v : e.variants) exposure_labels.push_back({e.name, v.name});
}

size_t tailor_engine_s::LabelOf(const Decision& d) const {
  if (d.page < 0 || static_cast<size_t>(d.page) >= page_labels.size()) return TAILOR_NO_LABEL;
  for (const auto& [v, id] : page_labels[d.page])
    if (v == d.variant) return id;
  return TAILOR_NO_LABEL;
}

// The evaluation's fixed part; the memo, rule state, headers and arena follow it in the
// caller's buffer.
struct tailor_eval_s {
  const tailor_engine_s* engine;
  RequestView view;
  Arena arena;
  RequestMemo memo;
  EvalEnv env;
  Evaluator* evaluator;  // null without rules
  bool decided;
  Decision decision;
  bool segments_done;
  std::string_view segments;
  uint32_t errors;  // TAILOR_ERR_* bits
};

namespace {

struct EvalLayout {
  size_t memo, rules, headers, arena, total;
};

EvalLayout Layout(const tailor_engine_s* e, size_t nheaders) {
  EvalLayout l{};
  size_t off = AlignUp(sizeof(tailor_eval_s), 16);
  l.memo = off;
  off = AlignUp(off + SignalRegistry::Builtin().memo_size(), 16);
  l.rules = off;
  if (e->rules) off = AlignUp(off + sizeof(Evaluator), 16) + e->rules->state_size();
  off = AlignUp(off, 16);
  l.headers = off;
  off = AlignUp(off + nheaders * sizeof(HeaderField), 16);
  l.arena = off;
  l.total = off + kArenaSize;
  return l;
}

}  // namespace

TAILOR_EXPORT tailor_engine_t* tailor_engine_create(const tailor_engine_conf_t* conf,
                                                   tailor_log_pt log, void* log_ctx) {
  auto say = [&](int level, const std::string& msg) {
    if (log) log(log_ctx, level, msg.data(), msg.size());
  };
  try {
    auto engine = std::make_unique<tailor_engine_s>();
    if (conf->rules_path != nullptr) {
      Diagnostics diags;
      engine->rules = RuleSet::LoadFile(conf->rules_path, SignalRegistry::Builtin(), diags);
      for (const Diagnostic& d : diags.items())
        say(d.severity == Severity::kError ? TAILOR_LOG_ERR : TAILOR_LOG_WARN,
            FormatDiagnostic(d));
      if (!engine->rules) {
        if (!diags.has_errors()) say(TAILOR_LOG_ERR, std::string(conf->rules_path) + ": rules did not load");
        return nullptr;
      }
    }
    engine->BuildLabels();
    return engine.release();
  } catch (const std::exception& e) {
    say(TAILOR_LOG_ERR, std::string("tailor: ") + e.what());
  } catch (...) {
    say(TAILOR_LOG_ERR, "tailor: unexpected failure while loading the configuration");
  }
  return nullptr;
}

TAILOR_EXPORT void tailor_engine_destroy(tailor_engine_t* engine) {
  try {
    delete engine;
  } catch (...) {
  }
}

TAILOR_EXPORT int tailor_find_cookie(const tailor_request_t* req, tailor_str_t name,
                                     tailor_str_t* value) {
  try {
    for (size_t i = 0; i < req->nheaders; ++i) {
      RequestView rv;
      HeaderField h{View(req->headers[i].name), View(req->headers[i].value)};
      rv.headers = std::span<const HeaderField>(&h, 1);
      if (auto v = rv.FindCookie(View(name))) {
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
                                              tailor_str_t visitor_id, void* buf, size_t size) {
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

    size_t memo_size = SignalRegistry::Builtin().memo_size();
    std::memset(base + l.memo, 0, memo_size);
    auto* ev = reinterpret_cast<tailor_eval_s*>(base);
    ev->engine = engine;
    new (&ev->view) RequestView(view);
    new (&ev->arena) Arena(base + l.arena, kArenaSize);
    new (&ev->memo) RequestMemo(base + l.memo, memo_size);
    new (&ev->env) EvalEnv{ev->view, engine->services, ev->arena, ev->memo, View(visitor_id), true};
    ev->evaluator = nullptr;
    if (engine->rules) {
      void* state = base + AlignUp(l.rules + sizeof(Evaluator), 16);
      ev->evaluator = new (base + l.rules) Evaluator(*engine->rules, ev->env, state);
    }
    ev->decided = false;
    new (&ev->decision) Decision();
    ev->segments_done = false;
    new (&ev->segments) std::string_view();
    ev->errors = 0;
    return ev;
  } catch (...) {
    return nullptr;
  }
}

TAILOR_EXPORT int tailor_eval_decide(tailor_eval_t* ev, tailor_decision_t* out) {
  *out = tailor_decision_t{0, {0, ""}, {0, ""}, 0, TAILOR_NO_LABEL};
  try {
    if (!ev->decided) {
      if (ev->evaluator) ev->decision = ev->evaluator->Decide();
      ev->decided = true;
    }
    const Decision& d = ev->decision;
    out->matched = d.page >= 0;
    out->page = Str(d.page_pattern);
    out->variant = Str(d.variant);
    out->is_default = d.is_default;
    out->label = ev->engine->LabelOf(d);
    return 0;
  } catch (...) {
    ev->decided = true;
    ev->decision = Decision();
    ev->errors |= 1u << TAILOR_ERR_EVAL;
    return -1;
  }
}

TAILOR_EXPORT int tailor_eval_segments(tailor_eval_t* ev, tailor_str_t* out) {
  *out = {0, ""};
  try {
    if (!ev->segments_done) {
      if (ev->evaluator) ev->segments = ev->evaluator->SegmentList();
      ev->segments_done = true;
    }
    *out = Str(ev->segments);
    return 0;
  } catch (...) {
    ev->segments_done = true;
    return -1;
  }
}

TAILOR_EXPORT size_t tailor_engine_variant_labels(const tailor_engine_t* engine) {
  return engine->variant_labels.size();
}

TAILOR_EXPORT void tailor_engine_variant_label(const tailor_engine_t* engine, size_t i,
                                               tailor_str_t* page, tailor_str_t* variant) {
  *page = Str(engine->variant_labels[i].page);
  *variant = Str(engine->variant_labels[i].variant);
}

TAILOR_EXPORT size_t tailor_engine_exposure_labels(const tailor_engine_t* engine) {
  return engine->exposure_labels.size();
}

TAILOR_EXPORT void tailor_engine_exposure_label(const tailor_engine_t* engine, size_t i,
                                                tailor_str_t* experiment, tailor_str_t* variant) {
  *experiment = Str(engine->exposure_labels[i].page);
  *variant = Str(engine->exposure_labels[i].variant);
}

TAILOR_EXPORT const char* tailor_error_kind_name(int kind) {
  static const char* const kNames[TAILOR_ERR_MAX] = {
      "eval", "visitor_cookie", "profile", "preview", "scratch", "geo", "table", "lua", "reload"};
  return kind >= 0 && kind < TAILOR_ERR_MAX ? kNames[kind] : "unknown";
}

TAILOR_EXPORT size_t tailor_eval_exposures(tailor_eval_t* ev, size_t* ids, size_t max) {
  return 0;  // experiments are wired in with the experiments library
}

TAILOR_EXPORT uint32_t tailor_eval_errors(tailor_eval_t* ev) { return ev->errors; }
