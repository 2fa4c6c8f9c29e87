// RequestEvaluation: one request's evaluation against an Engine, placed in a buffer the
// caller owns (nginx's request pool). Allocation-free: the signal memo, the rules' per-request
// state and a scratch arena all live in that buffer. It holds the data sources' and tables'
// snapshots current when it started, so a hot reload never changes data under a running
// request; the destructor releases them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "core/arena.h"
#include "core/request_view.h"
#include "core/services.h"
#include "engine/engine.h"
#include "experiments/preview_token.h"
#include "rules/rule_set.h"
#include "core/signal_registry.h"

namespace tailor {

struct RequestOptions {
  std::string_view visitor_id;  // empty: none (no consent, or no cookie support)
  bool consent = true;          // false: no stored visitor data is read or written
  bool default_only = false;    // serve the page's default variant (HEAD, previews off, ...)
  std::string_view preview_token;  // ?tailor_preview= or its cookie; empty: none
  std::string_view visitor_cookie;  // the visitor ID cookie's name (hidden without consent)
};

// Kinds of failure a request survives, as bits of RequestEvaluation::errors(); the same
// numbering as TAILOR_ERR_* in api/tailor.h.
enum RequestError : uint32_t {
  kErrEval = 1u << 0,
  kErrProfile = 1u << 2,
  kErrPreview = 1u << 3,
  kErrScratch = 1u << 4,
  kErrLua = 1u << 7,
  kErrLifecycle = 1u << 9,
};

class RequestEvaluation {
 public:
  static constexpr size_t kArenaSize = 8192;
  static constexpr size_t kAlign = 16;

  // Bytes the caller provides (kAlign-aligned) for a request with `nheaders` headers.
  static size_t StateSize(const Engine& engine);

  // `view` is copied; the strings it points to must live until the evaluation is destroyed.
  RequestEvaluation(const Engine& engine, const RequestView& view, const RequestOptions& options,
                    void* state);
  ~RequestEvaluation();
  RequestEvaluation(const RequestEvaluation&) = delete;
  RequestEvaluation& operator=(const RequestEvaluation&) = delete;

  // The page and variant (memoized). Bots (device.bot) and default_only get the default, and
  // so does a request whose evaluation ran out of scratch space (kErrScratch).
  Decision Decide();
  // Segments the request is in, comma-separated (memoized).
  std::string_view Segments();
  // Goals the request reaches, "order:12.5,signup" (declaration order, each with its value in
  // shortest form when it has one; in the arena; memoized).
  std::string_view Goals();
  // Experiments evaluated for this request in which the unit is enrolled, as exposure label
  // ids of the engine (Engine labels), at most `max`.
  size_t Exposures(size_t* ids, size_t max);
  // "hero:bold,pricing:control" (declaration order; in the arena; memoized): the experiments
  // the unit is enrolled in among those the page decision reads, the segments read, and the
  // configuration reads through $tailor_experiment_NAME (Engine::variable_experiments). The
  // first call evaluates all three, so the answer does not depend on what was read before.
  std::string_view ExperimentList();
  // Experiment i's variant (empty: not enrolled), at most once per request; once read it is
  // one of this request's exposures. A preview token's forced variant applies.
  std::string_view Experiment(size_t i);
  // The updated visitor profile cookie value; 0 when there is none to write.
  size_t ProfileCookie(char* out, size_t cap);
  // kErrLua is set when a Lua signal failed during one of this evaluation's calls;
  // kErrLifecycle when a signed lifecycle source carried a value without a valid signature
  // (checked on the first call; nothing is read without consent).
  uint32_t errors();
  // 1: a valid preview token forces choices (no exposure is logged or counted); 0: no token;
  // -1: a token was given but rejected (bad signature, expired, malformed).
  int preview_status() const { return preview_status_; }
  const PreviewToken* preview() const { return preview_status_ == 1 ? &preview_ : nullptr; }
  // A registry signal's value as text for an nginx variable: strings as they are, numbers in
  // shortest form, bools "1"/"0", lists comma-separated. False when missing.
  bool SignalText(const SignalDef& signal, std::string_view* out);

  EvalEnv& env() { return env_; }
  Evaluator* evaluator() { return evaluator_; }
  const RequestView& view() const { return view_; }

 private:
  const Engine& engine_;
  RequestView view_;
  CookieJar cookie_jar_;  // view_'s cookies, parsed on the first lookup
  RequestOptions options_;
  Services services_;
  std::shared_ptr<const void> sources_[kMaxDataSources];  // data sources' snapshots
  std::shared_ptr<const TableSet> tables_;
  Arena arena_;
  RequestMemo memo_;
  EvalEnv env_;
  Evaluator* evaluator_ = nullptr;
  bool decided_ = false;
  bool scratch_default_ = false;  // Decide() served the default: the arena ran out
  Decision decision_;
  bool segments_done_ = false;
  std::string_view segments_;
  bool goals_done_ = false;
  std::string_view goals_;
  bool experiments_done_ = false;
  std::string_view experiments_;
  uint32_t errors_ = 0;
  bool lifecycle_checked_ = false;
  PreviewToken preview_;
  int preview_status_ = 0;
};

}  // namespace tailor
