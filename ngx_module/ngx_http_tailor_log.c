/*
 * Tailor's error log: the rate limit of request-time lines, and the callbacks through which
 * the core library logs while the configuration loads and in the workers.
 *
 * A flood of bad cookies or a broken Lua signal must not fill the disk: every kind of
 * request-time failure (TAILOR_ERR_*) writes at most one line per worker per interval, with
 * the count of the ones not written since.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_tailor_module.h"


/* Request-time failures are logged at most once per kind per worker per interval (ms). */
#define NGX_HTTP_TAILOR_LOG_INTERVAL  10000


static ngx_uint_t ngx_http_tailor_log_level(int level);


/*
 * Per worker (no lock), per TAILOR_ERR_* kind: returns 1 when a line may be written, and how
 * many were skipped since the last one.
 */
ngx_uint_t
ngx_http_tailor_log_due(ngx_uint_t kind, ngx_uint_t *suppressed)
{
    static ngx_msec_t  last[TAILOR_ERR_MAX];
    static ngx_uint_t  skipped[TAILOR_ERR_MAX];
    static ngx_uint_t  logged[TAILOR_ERR_MAX];

    if (kind >= TAILOR_ERR_MAX) {
        return 0;
    }

    if (logged[kind]
        && ngx_current_msec - last[kind] < NGX_HTTP_TAILOR_LOG_INTERVAL)
    {
        skipped[kind]++;
        return 0;
    }

    logged[kind] = 1;
    last[kind] = ngx_current_msec;
    *suppressed = skipped[kind];
    skipped[kind] = 0;

    return 1;
}


/*
 * Log phase: a request whose Lua signal failed. The core keeps the worker's Lua errors and
 * hands out one line per interval, however many requests failed.
 */
void
ngx_http_tailor_log_lua(ngx_http_request_t *r, ngx_http_tailor_main_conf_t *tmcf,
    ngx_http_tailor_ctx_t *ctx)
{
    uint64_t      n;
    tailor_str_t  msg;

    if (ctx->eval == NULL
        || !(tailor_eval_errors(ctx->eval) & (1u << TAILOR_ERR_LUA)))
    {
        return;
    }

    if (tailor_engine_lua_log(tmcf->engine, (int64_t) ngx_current_msec,
                              NGX_HTTP_TAILOR_LOG_INTERVAL, &msg, &n))
    {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "tailor: lua signal failed, served without its value "
                      "(%uL error(s) since the last message): %*s",
                      (uint64_t) n, msg.len, msg.data);
    }
}


static ngx_uint_t
ngx_http_tailor_log_level(int level)
{
    switch (level) {
    case TAILOR_LOG_ERR:
        return NGX_LOG_EMERG;
    case TAILOR_LOG_WARN:
        return NGX_LOG_WARN;
    default:
        return NGX_LOG_INFO;
    }
}


/* The core's messages while the configuration loads (ctx: the ngx_conf_t). */
void
ngx_http_tailor_conf_log(void *ctx, int level, const char *msg, size_t len)
{
    ngx_conf_t  *cf = ctx;

    ngx_log_error(ngx_http_tailor_log_level(level), cf->log, 0, "%*s", len, msg);
}


/* The core's messages in a worker: its start, reloads (ctx: the cycle's ngx_log_t). */
void
ngx_http_tailor_cycle_log(void *ctx, int level, const char *msg, size_t len)
{
    ngx_log_t  *log = ctx;

    ngx_uint_t  ngx_level;

    ngx_level = (level == TAILOR_LOG_ERR) ? NGX_LOG_ERR
                : (level == TAILOR_LOG_WARN) ? NGX_LOG_WARN : NGX_LOG_NOTICE;

    ngx_log_error(ngx_level, log, 0, "tailor: %*s", len, msg);
}
