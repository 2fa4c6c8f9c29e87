/*
 * Tailor's C API: the one boundary between nginx's C glue (ngx_module/) and the C++ core.
 * No nginx type crosses it, no C++ exception or allocation escapes it: every function catches
 * everything and reports failure through its return value.
 *
 * Lifetimes: an engine is built at configuration time (nginx -t, reload) and is immutable
 * until destroyed with its configuration. An evaluation lives in a buffer the caller owns
 * (nginx's request pool) and is trivially destructible: the request path allocates nothing.
 */
#ifndef TAILOR_API_H
#define TAILOR_API_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    size_t      len;
    const char *data;
} tailor_str_t;

typedef struct {
    tailor_str_t name;
    tailor_str_t value;
} tailor_header_t;

/* Severity of a message passed to the log callback. */
enum { TAILOR_LOG_ERR = 0, TAILOR_LOG_WARN = 1, TAILOR_LOG_INFO = 2 };

/* Called with each message at configuration time (diagnostics with file, line, column). */
typedef void (*tailor_log_pt)(void *ctx, int level, const char *msg, size_t len);

typedef struct tailor_engine_s tailor_engine_t;

/*
 * Data sources (tailor_geoip2, ...): each is declared by the core with the directive that
 * names its files and the NAME=VALUE options that may follow the path. The glue installs
 * every source directive, parses each line the same way and passes the lines here.
 */
enum { TAILOR_SOURCE_OPTION_TEXT = 0, TAILOR_SOURCE_OPTION_DURATION = 1 };

typedef struct {
    tailor_str_t  name;        /* "auto_reload" */
    tailor_str_t  text;        /* the value as written */
    int64_t       ms;          /* duration options: the value in milliseconds */
} tailor_source_option_t;

typedef struct {
    tailor_str_t                   directive;  /* "tailor_geoip2" */
    tailor_str_t                   path;       /* absolute path */
    const tailor_source_option_t  *options;
    size_t                         noptions;
} tailor_source_line_t;

/* The data-source directives: their count, then each one's NUL-terminated name (static
 * storage) and option names; NULL past the end. */
size_t tailor_source_count(void);
const char *tailor_source_directive(size_t i);
const char *tailor_source_option(size_t i, size_t option, int *kind);

/* Strings are NUL-terminated; NULL or count 0 means "not configured". */
typedef struct {
    const char               *rules_path;      /* tailor_rules */
    const tailor_source_line_t *sources;       /* data-source directives, in order */
    size_t                    nsources;
    const char               *secret_path;     /* tailor_secret */
    const char               *referrers_path;  /* tailor_referrers */
    const char *const        *languages;       /* tailor_languages */
    size_t                    nlanguages;
    const char *const        *own_hosts;       /* tailor_own_hosts */
    size_t                    nown_hosts;
    const char               *profile_cookie;  /* tailor_profile_cookie NAME (NULL: default) */
    /* tailor_lifecycle registered|orders: "cookie:NAME" or "header:NAME" each (values
     * signed with the secret), or "unsigned:cookie:NAME" / "unsigned:header:NAME" */
    const char *const        *lifecycle_registered;
    size_t                    nlifecycle_registered;
    const char *const        *lifecycle_orders;
    size_t                    nlifecycle_orders;
    int64_t                   visit_timeout_ms;   /* 0: default (30 min) */
    int64_t                   tables_reload_ms;   /* -1: default (5 s), 0: never */
    int                       bots_get_default;   /* 1: bots get the default variant */
} tailor_engine_conf_t;

/* Builds an engine: reads, checks and compiles the rules. Returns NULL after logging every
 * error through `log` when the configuration is invalid. */
tailor_engine_t *tailor_engine_create(const tailor_engine_conf_t *conf, tailor_log_pt log,
    void *log_ctx);
void tailor_engine_destroy(tailor_engine_t *engine);

/* Worker start (init_process): per-worker caches and states. Returns 0, or -1 after logging. */
int tailor_engine_worker_init(tailor_engine_t *engine, tailor_log_pt log, void *log_ctx);
/* How often tailor_engine_poll() should run; 0 when no file is watched. */
int64_t tailor_engine_poll_interval_ms(const tailor_engine_t *engine);
/* Timer: hot-reloads changed geo databases and tables (never blocks; loads happen in a
 * background thread). Logs what happened; returns how many reloads were rejected. */
int tailor_engine_poll(tailor_engine_t *engine, tailor_log_pt log, void *log_ctx);
/* This worker's rate-limited Lua error log: returns 1 with the newest Lua error message
 * ("FILE:LINE: ..." or the reason: timeout, memory, wrong type) and how many errors it stands
 * for, at most once per interval_ms; 0 when nothing is due. The message stays valid until the
 * next request is evaluated. */
int tailor_engine_lua_log(tailor_engine_t *engine, int64_t now_ms, int64_t interval_ms,
    tailor_str_t *message, uint64_t *errors);
/* The visitor cookie name of the profile cookie ("" when profiles are off). */
tailor_str_t tailor_engine_profile_cookie(const tailor_engine_t *engine);
/* 1 when tailor_secret is configured. */
int tailor_engine_has_secret(const tailor_engine_t *engine);
/* The keyed hash of a visitor ID for logs: HMAC-SHA256 under the secret, first 16 bytes as
 * 22 URL-safe characters, written to out[TAILOR_VISITOR_ID_LEN]. -1 without a secret. */
int tailor_visitor_hash(const tailor_engine_t *engine, tailor_str_t id, char *out);

/* The request, as views into the caller's memory (valid for the request's lifetime). */
typedef struct {
    tailor_str_t            method;
    tailor_str_t            scheme;     /* "http" or "https" */
    tailor_str_t            host;       /* without port */
    tailor_str_t            path;       /* normalized, decoded */
    tailor_str_t            query;      /* raw, without '?' */
    const tailor_header_t  *headers;
    size_t                  nheaders;
    tailor_str_t            client_ip;
    const struct sockaddr  *client_addr;
    socklen_t               client_addr_len;
    int64_t                 now_ms;
} tailor_request_t;

/* Visitor IDs: 128 random bits as 22 URL-safe base64 characters. */
#define TAILOR_VISITOR_ID_LEN  22

/* Finds the cookie `name` in the request's Cookie headers. Returns 1 and sets *value when
 * present. */
int tailor_find_cookie(const tailor_request_t *req, tailor_str_t name, tailor_str_t *value);
/* 1 when `id` is a well-formed visitor ID. */
int tailor_visitor_id_valid(tailor_str_t id);
/* Writes a fresh ID (CSPRNG) to out[TAILOR_VISITOR_ID_LEN]. Returns 0 on success. */
int tailor_visitor_id_generate(char *out);

/* One request's evaluation, placed in a caller buffer of tailor_eval_size() bytes aligned to
 * TAILOR_EVAL_ALIGN. */
#define TAILOR_EVAL_ALIGN  16
typedef struct tailor_eval_s tailor_eval_t;

typedef struct {
    tailor_str_t  visitor_id;    /* empty: none */
    int           consent;       /* 0: no stored visitor data is read or written */
    int           default_only;  /* 1: serve the page's default (HEAD, ...) */
    tailor_str_t  visitor_cookie; /* the visitor ID cookie's name: without consent the
                                     rules see neither it nor the profile cookie */
} tailor_eval_options_t;

size_t tailor_eval_size(const tailor_engine_t *engine, size_t nheaders);
/* Copies `req` (not the strings it points to). Returns NULL on failure (fail open). The
 * evaluation holds references to hot-reloadable data: call tailor_eval_finish() when the
 * request ends (a pool cleanup). */
tailor_eval_t *tailor_eval_init(const tailor_engine_t *engine, const tailor_request_t *req,
    const tailor_eval_options_t *options, void *buf, size_t size);
void tailor_eval_finish(tailor_eval_t *ev);
/*
 * A reviewer's preview token, found by the evaluation: ?tailor_preview=TOKEN (the first
 * parameter of that name, in any case, as nginx's $arg_ finds it; an empty value is none),
 * else, only with consent, the cookie of that name the glue sets from a valid query token.
 */
#define TAILOR_PREVIEW_NAME  "tailor_preview"

typedef struct {
    tailor_str_t  token;       /* as the request carries it (empty: none) */
    int           from_query;  /* 1: from the query, 0: from the cookie */
    int64_t       expires_s;   /* a valid token's expiry, Unix seconds; else 0 */
} tailor_preview_t;

/* 1: a valid preview token forces choices; 0: no token; -1: rejected. Fills *out. */
int tailor_eval_preview(tailor_eval_t *ev, tailor_preview_t *out);

typedef struct {
    int           matched;   /* 1 when a page matched */
    tailor_str_t  page;      /* the page pattern as written */
    tailor_str_t  variant;   /* empty when no page matched */
    int           is_default;
    size_t        label;     /* index of (page, variant) in tailor_engine_variant_label(),
                                TAILOR_NO_LABEL when no page matched */
} tailor_decision_t;

#define TAILOR_NO_LABEL  ((size_t) -1)

/* Counter labels known at configuration time, for the metrics the glue keeps in shared
 * memory: every (page, variant) pair of the rules, and every (experiment, variant) pair. */
size_t tailor_engine_variant_labels(const tailor_engine_t *engine);
void tailor_engine_variant_label(const tailor_engine_t *engine, size_t i,
    tailor_str_t *page, tailor_str_t *variant);
size_t tailor_engine_exposure_labels(const tailor_engine_t *engine);
void tailor_engine_exposure_label(const tailor_engine_t *engine, size_t i,
    tailor_str_t *experiment, tailor_str_t *variant);

/* Kinds of request-time errors, counted as tailor_errors_total{kind}. Each one is a failure
 * the request survived (fail open). */
enum {
    TAILOR_ERR_EVAL = 0,        /* evaluation failed: default served */
    TAILOR_ERR_VISITOR_COOKIE,  /* malformed visitor cookie replaced */
    TAILOR_ERR_PROFILE,         /* profile cookie rejected (signature, encoding, size) */
    TAILOR_ERR_PREVIEW,         /* bad or expired preview token */
    TAILOR_ERR_SCRATCH,         /* the evaluation's scratch arena ran out: a value the rules
                                   read was dropped, so the page's default was served */
    TAILOR_ERR_GEO,             /* geo lookup failed */
    TAILOR_ERR_TABLE,           /* table lookup failed */
    TAILOR_ERR_LUA,             /* a Lua signal failed, timed out or returned a wrong type */
    TAILOR_ERR_RELOAD,          /* a watched file failed to reload: old data kept */
    TAILOR_ERR_LIFECYCLE,       /* a signed tailor_lifecycle value with a bad or no signature
                                   (forged or stale): ignored */
    TAILOR_ERR_MAX
};
const char *tailor_error_kind_name(int kind);

/* Exposures of this request: labels (tailor_engine_exposure_label) of the experiments the
 * unit is enrolled in and that were evaluated. Returns how many were written to ids. */
size_t tailor_eval_exposures(tailor_eval_t *ev, size_t *ids, size_t max);
/* Signals readable as nginx variables: every signal that takes no argument, e.g.
 * "geo.country" (variable $tailor_geo_country). */
size_t tailor_signal_count(void);
const char *tailor_signal_name(size_t i);
/* The signal's value as text (numbers in shortest form, bools "1"/"0"). Returns 1 and sets
 * *out when present, 0 when missing. */
int tailor_eval_signal(tailor_eval_t *ev, size_t i, tailor_str_t *out);

/* Bit mask of TAILOR_ERR_* kinds that occurred in this evaluation. */
uint32_t tailor_eval_errors(tailor_eval_t *ev);
/* "hero:bold,pricing:control", in declaration order: the experiments the unit is enrolled in
 * among those the page decision reads, the segments read and the configuration reads through
 * $tailor_experiment_NAME (tailor_engine_use_experiment). The first call evaluates all of
 * them, so the answer does not depend on what was read before. */
int tailor_eval_experiments(tailor_eval_t *ev, tailor_str_t *out);

/* --- Experiments as nginx variables ($tailor_experiment_NAME) --- */
/* The index of the experiment `name` in the rules (else of the one whose name, lower-cased
 * with '-' and '.' as '_', is `name`: nginx variable names have only those characters); -1
 * when there is none, -2 when several experiments fold to `name`. */
int tailor_engine_experiment_index(const tailor_engine_t *engine, tailor_str_t name);
/* Configuration time: the configuration reads experiment `index` through a variable, so
 * tailor_eval_experiments() always covers it. Returns 0, or -1 for a bad index. */
int tailor_engine_use_experiment(tailor_engine_t *engine, size_t index);
/* The unit's variant in experiment `index` (audience, dates, holdout, layer, traffic, bots
 * and consent applied; a preview token's forced variant wins), computed at most once per
 * evaluation and from then on one of its exposures (tailor_eval_exposures). Returns 1 and
 * sets *out when enrolled, 0 when not, -1 on an internal error. Allocates nothing. */
int tailor_eval_experiment(tailor_eval_t *ev, size_t index, tailor_str_t *out);
/* --- end of the experiment variables --- */

/* The updated profile cookie value to send (written to out, capacity cap); 0 when none. */
size_t tailor_eval_profile_cookie(tailor_eval_t *ev, char *out, size_t cap);

/* Page and variant (memoized). Returns 0, or -1 on an internal error (decision is empty). */
int tailor_eval_decide(tailor_eval_t *ev, tailor_decision_t *out);
/* Comma-separated names of the segments the request is in (memoized). */
int tailor_eval_segments(tailor_eval_t *ev, tailor_str_t *out);
/* The goals the request reaches, "order:12.5,signup": declaration order, a goal's value (when
 * it has one) in shortest form after ':' (memoized). */
int tailor_eval_goals(tailor_eval_t *ev, tailor_str_t *out);

#ifdef __cplusplus
}
#endif

#endif /* TAILOR_API_H */
