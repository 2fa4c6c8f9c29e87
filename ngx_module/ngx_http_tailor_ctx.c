/*
 * The per-request context: found on the main request (and again after an internal
 * redirect), or created where Tailor is on, with the request marshalled for the core and its
 * evaluation started; the page decision, the segments and the experiments are computed on
 * first use, at most once. The evaluation lives in a buffer from the worker's pool and is
 * released by the request pool's cleanup.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_tailor_module.h"


static ngx_http_tailor_ctx_t *ngx_http_tailor_create_ctx(ngx_http_request_t *r);
static u_char *ngx_http_tailor_marshal(ngx_http_request_t *r,
    ngx_http_tailor_main_conf_t *tmcf, ngx_http_tailor_ctx_t *ctx, size_t *eval_size);
static void ngx_http_tailor_eval_init(ngx_http_request_t *r,
    ngx_http_tailor_main_conf_t *tmcf, ngx_http_tailor_ctx_t *ctx, u_char *buf,
    size_t size);
static void ngx_http_tailor_ctx_cleanup(void *data);
static void *ngx_http_tailor_buf_get(size_t size);
static void ngx_http_tailor_buf_put(void *buf);


ngx_http_tailor_ctx_t *
ngx_http_tailor_find_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t     *cln;
    ngx_http_tailor_ctx_t  *ctx;

    r = r->main;

    ctx = ngx_http_get_module_ctx(r, ngx_http_tailor_module);
    if (ctx != NULL) {
        return ctx;
    }

    /* nginx clears module contexts on internal redirects: find it again in the pool */
    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_tailor_ctx_cleanup) {
            ctx = cln->data;
            ngx_http_set_ctx(r, ctx, ngx_http_tailor_module);
            return ctx;
        }
    }

    return NULL;
}


/*
 * The request's context: the one found, else, where Tailor is on, a new one whose evaluation
 * starts now. The context lives on the main request and across internal redirects
 * (try_files, a rewrite to a variant file): the decision and the visitor ID stay the same
 * for the whole request, and a context made where Tailor is on still applies after a
 * redirect to a location where it is off. NULL: none, or no memory.
 */
ngx_http_tailor_ctx_t *
ngx_http_tailor_evaluate(ngx_http_request_t *r)
{
    ngx_http_tailor_ctx_t       *ctx;
    ngx_http_tailor_loc_conf_t  *tlcf;

    ctx = ngx_http_tailor_find_ctx(r);
    if (ctx != NULL) {
        return ctx;
    }

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_tailor_module);
    if (!tlcf->enable) {
        return NULL;
    }

    return ngx_http_tailor_create_ctx(r);
}


static ngx_http_tailor_ctx_t *
ngx_http_tailor_create_ctx(ngx_http_request_t *r)
{
    u_char                       *p;
    size_t                        size;
    ngx_pool_cleanup_t           *cln;
    ngx_http_tailor_ctx_t        *ctx;
    ngx_http_tailor_loc_conf_t   *tlcf;
    ngx_http_tailor_main_conf_t  *tmcf;

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_tailor_module);
    r = r->main;
    tmcf = ngx_http_get_module_main_conf(r, ngx_http_tailor_module);

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_tailor_ctx_t));
    if (cln == NULL) {
        return NULL;
    }

    ctx = cln->data;
    ngx_memzero(ctx, sizeof(ngx_http_tailor_ctx_t));
    ctx->label = TAILOR_NO_LABEL;
    cln->handler = ngx_http_tailor_ctx_cleanup;
    ngx_http_set_ctx(r, ctx, ngx_http_tailor_module);

    p = ngx_http_tailor_marshal(r, tmcf, ctx, &size);
    if (p == NULL) {
        return ctx;
    }

    ctx->consent = ngx_http_tailor_consent(r, tlcf, ctx);
    ctx->secure = ngx_http_tailor_secure(r, tmcf, ctx);

    if (ctx->consent && ngx_http_tailor_visitor_init(r, tmcf, ctx) != NGX_OK) {
        return ctx;
    }

    if (tmcf->engine == NULL) {
        return ctx;
    }

    ngx_http_tailor_eval_init(r, tmcf, ctx, p, size);

    return ctx;
}


/*
 * The request as the core sees it (ctx->request): views into nginx's memory. One buffer from
 * the worker's pool holds the evaluation (its first *eval_size bytes) and, after it, the
 * request's header views: a request allocates nothing, whatever its number of headers.
 * Returns the buffer, NULL when none could be had.
 */
static u_char *
ngx_http_tailor_marshal(ngx_http_request_t *r, ngx_http_tailor_main_conf_t *tmcf,
    ngx_http_tailor_ctx_t *ctx, size_t *eval_size)
{
    u_char            *p;
    size_t             size, nheaders, i;
    ngx_uint_t         n;
    ngx_time_t        *tp;
    ngx_list_part_t   *part;
    ngx_table_elt_t   *h;
    tailor_header_t   *headers;

    nheaders = 0;
    for (part = &r->headers_in.headers.part; part; part = part->next) {
        nheaders += part->nelts;
    }

    size = tmcf->engine ? ngx_align(tailor_eval_size(tmcf->engine, nheaders),
                                    TAILOR_EVAL_ALIGN)
                        : 0;

    p = ngx_http_tailor_buf_get(size + (nheaders ? nheaders : 1) * sizeof(tailor_header_t));
    if (p == NULL) {
        return NULL;
    }

    ctx->eval_buf = p;
    *eval_size = size;
    headers = (tailor_header_t *) (p + size);

    i = 0;
    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;
        for (n = 0; n < part->nelts; n++) {
            headers[i].name.len = h[n].key.len;
            headers[i].name.data = (const char *) h[n].key.data;
            headers[i].value.len = h[n].value.len;
            headers[i].value.data = (const char *) h[n].value.data;
            i++;
        }
    }

    ctx->request.method.len = r->method_name.len;
    ctx->request.method.data = (const char *) r->method_name.data;
#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        ctx->request.scheme.len = sizeof("https") - 1;
        ctx->request.scheme.data = "https";
    } else
#endif
    {
        ctx->request.scheme.len = sizeof("http") - 1;
        ctx->request.scheme.data = "http";
    }
    ctx->request.host.len = r->headers_in.server.len;
    ctx->request.host.data = (const char *) r->headers_in.server.data;
    ctx->request.path.len = r->uri.len;
    ctx->request.path.data = (const char *) r->uri.data;
    ctx->request.query.len = r->args.len;
    ctx->request.query.data = (const char *) r->args.data;
    ctx->request.headers = headers;
    ctx->request.nheaders = nheaders;
    ctx->request.client_ip.len = r->connection->addr_text.len;
    ctx->request.client_ip.data = (const char *) r->connection->addr_text.data;
    ctx->request.client_addr = r->connection->sockaddr;
    ctx->request.client_addr_len = r->connection->socklen;
    tp = ngx_timeofday();
    ctx->request.now_ms = (int64_t) tp->sec * 1000 + tp->msec;

    return p;
}


/*
 * Starts the core's evaluation in the first `size` bytes of `buf`. It finds a reviewer's
 * preview token itself (?tailor_preview=TOKEN, then the cookie it sets); the glue keeps a
 * valid one from the query to set that cookie.
 */
static void
ngx_http_tailor_eval_init(ngx_http_request_t *r, ngx_http_tailor_main_conf_t *tmcf,
    ngx_http_tailor_ctx_t *ctx, u_char *buf, size_t size)
{
    ngx_uint_t             skipped;
    tailor_preview_t       preview;
    tailor_eval_options_t  opts;

    opts.visitor_id.len = ctx->visitor.len;
    opts.visitor_id.data = (const char *) ctx->visitor.data;
    opts.consent = ctx->consent;
    opts.visitor_cookie.len = tmcf->cookie_name.len;
    opts.visitor_cookie.data = (const char *) tmcf->cookie_name.data;
    /* no cookie support, nothing personal to show: the canonical page */
    opts.default_only = (r->method == NGX_HTTP_HEAD);

    ctx->eval = tailor_eval_init(tmcf->engine, &ctx->request, &opts, buf, size);

    if (ctx->eval == NULL) {
        ctx->errors |= 1u << TAILOR_ERR_EVAL;

        if (ngx_http_tailor_log_due(TAILOR_ERR_EVAL, &skipped)) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "tailor: evaluation unavailable, serving the default "
                          "(%ui similar not logged)", skipped);
        }
        return;
    }

    switch (tailor_eval_preview(ctx->eval, &preview)) {
    case 1:
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "tailor: preview token from the %s, expires at %L",
                       preview.from_query ? "query" : "cookie", preview.expires_s);

        /* previews are a reviewer's forced choices: no exposure, no counting */
        ctx->no_exposure = 1;
        if (preview.from_query && ctx->consent) {
            ctx->preview.len = preview.token.len;
            ctx->preview.data = (u_char *) preview.token.data;
            ctx->preview_expires = (time_t) preview.expires_s;
        }
        break;
    case -1:
        if (ngx_http_tailor_log_due(TAILOR_ERR_PREVIEW, &skipped)) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "tailor: preview token rejected (bad signature, "
                          "expired or malformed; %ui similar not logged)",
                          skipped);
        }
        break;
    default:
        break;
    }
}


static void
ngx_http_tailor_ctx_cleanup(void *data)
{
    ngx_http_tailor_ctx_t  *ctx = data;

    /* releases the geo and table snapshots the request held */
    if (ctx->eval) {
        tailor_eval_finish(ctx->eval);
        ctx->eval = NULL;
    }

    if (ctx->eval_buf) {
        ngx_http_tailor_buf_put(ctx->eval_buf);
        ctx->eval_buf = NULL;
    }
}


/* The page and variant, chosen on the first call (on the URI as first requested). */
void
ngx_http_tailor_decide(ngx_http_request_t *r, ngx_http_tailor_ctx_t *ctx)
{
    ngx_uint_t         skipped;
    tailor_decision_t  d;

    if (ctx->decided) {
        return;
    }

    ctx->decided = 1;

    if (ctx->eval == NULL) {
        return;
    }

    if (tailor_eval_decide(ctx->eval, &d) != 0) {
        if (ngx_http_tailor_log_due(TAILOR_ERR_EVAL, &skipped)) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "tailor: rule evaluation failed, serving the default "
                          "(%ui similar not logged)", skipped);
        }
        return;
    }

    ctx->label = d.label;
    ctx->is_default = d.is_default ? 1 : 0;
    ctx->variant.len = d.variant.len;
    ctx->variant.data = (u_char *) d.variant.data;
    ctx->page.len = d.page.len;
    ctx->page.data = (u_char *) d.page.data;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "tailor: page \"%V\", variant \"%V\"%s", &ctx->page, &ctx->variant,
                   ctx->is_default ? " (default)" : "");
}


/* ctx->segments: the segments the request is in, computed on first use. */
void
ngx_http_tailor_eval_segments(ngx_http_tailor_ctx_t *ctx)
{
    tailor_str_t  s;

    if (ctx->segments_done) {
        return;
    }

    ctx->segments_done = 1;

    if (ctx->eval && tailor_eval_segments(ctx->eval, &s) == 0) {
        ctx->segments.len = s.len;
        ctx->segments.data = (u_char *) s.data;
    }
}


/* ctx->goals: the goals the request reaches, computed on first use. */
void
ngx_http_tailor_eval_goals(ngx_http_tailor_ctx_t *ctx)
{
    tailor_str_t  s;

    if (ctx->goals_done) {
        return;
    }

    ctx->goals_done = 1;

    if (ctx->eval && tailor_eval_goals(ctx->eval, &s) == 0) {
        ctx->goals.len = s.len;
        ctx->goals.data = (u_char *) s.data;
    }
}


/*
 * ctx->experiments: the experiments the visitor is enrolled in among those the page
 * decision, the segments and the configuration read; none for a preview.
 */
void
ngx_http_tailor_eval_experiments(ngx_http_request_t *r, ngx_http_tailor_ctx_t *ctx)
{
    tailor_str_t  s;

    /* the experiments read while choosing the variant */
    ngx_http_tailor_decide(r, ctx);

    if (ctx->experiments_done) {
        return;
    }

    ctx->experiments_done = 1;

    if (ctx->eval && !ctx->no_exposure && tailor_eval_experiments(ctx->eval, &s) == 0) {
        ctx->experiments.len = s.len;
        ctx->experiments.data = (u_char *) s.data;
    }
}


/*
 * Evaluation buffers: a request's evaluation needs several kilobytes, more than a request
 * pool serves without a malloc (its small-block limit is under 4 KB). Each worker keeps the
 * buffers of finished requests in a free list and reuses them, so in steady state a request
 * allocates nothing. A worker is one thread: no lock.
 *
 * The list is bounded, so that no sequence of requests grows a worker: sizes are rounded up
 * to a power of two (a request a few headers larger than the last one fits the same buffer),
 * a request takes the first free buffer that fits, a buffer too small for the request it
 * could not serve is freed rather than kept beside the new one, at most BUF_KEEP buffers are
 * kept, and a buffer over BUF_KEEP_SIZE (a request with thousands of headers) is freed when
 * its request ends.
 */

typedef struct ngx_http_tailor_buf_s  ngx_http_tailor_buf_t;

struct ngx_http_tailor_buf_s {
    ngx_http_tailor_buf_t  *next;
    size_t                  size;     /* usable bytes after the header */
};

#define NGX_HTTP_TAILOR_BUF_HEADER                                            \
    ngx_align(sizeof(ngx_http_tailor_buf_t), TAILOR_EVAL_ALIGN)
#define NGX_HTTP_TAILOR_BUF_MIN        16384
#define NGX_HTTP_TAILOR_BUF_KEEP       32
#define NGX_HTTP_TAILOR_BUF_KEEP_SIZE  (256 * 1024)

static ngx_http_tailor_buf_t  *ngx_http_tailor_free_bufs;
static ngx_uint_t              ngx_http_tailor_nfree_bufs;


static void *
ngx_http_tailor_buf_get(size_t size)
{
    size_t                   alloc;
    ngx_http_tailor_buf_t   *b, **bp;

    for (bp = &ngx_http_tailor_free_bufs; *bp; bp = &(*bp)->next) {
        b = *bp;
        if (b->size >= size) {
            *bp = b->next;
            ngx_http_tailor_nfree_bufs--;
            return (u_char *) b + NGX_HTTP_TAILOR_BUF_HEADER;
        }
    }

    /* none fits: the smallest kind of request is the most common, but a free buffer that
     * could not serve this one gives way to the new, larger one */
    b = ngx_http_tailor_free_bufs;
    if (b != NULL) {
        ngx_http_tailor_free_bufs = b->next;
        ngx_http_tailor_nfree_bufs--;
        ngx_free(b);
    }

    for (alloc = NGX_HTTP_TAILOR_BUF_MIN; alloc < size; alloc <<= 1) { /* void */ }

    b = ngx_memalign(TAILOR_EVAL_ALIGN, NGX_HTTP_TAILOR_BUF_HEADER + alloc,
                     ngx_cycle->log);
    if (b == NULL) {
        return NULL;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "tailor: evaluation buffer of %uz bytes for %uz", alloc, size);

    b->size = alloc;
    b->next = NULL;

    return (u_char *) b + NGX_HTTP_TAILOR_BUF_HEADER;
}


static void
ngx_http_tailor_buf_put(void *buf)
{
    ngx_http_tailor_buf_t  *b;

    b = (ngx_http_tailor_buf_t *) ((u_char *) buf - NGX_HTTP_TAILOR_BUF_HEADER);

    if (b->size > NGX_HTTP_TAILOR_BUF_KEEP_SIZE
        || ngx_http_tailor_nfree_bufs >= NGX_HTTP_TAILOR_BUF_KEEP)
    {
        ngx_free(b);
        return;
    }

    b->next = ngx_http_tailor_free_bufs;
    ngx_http_tailor_free_bufs = b;
    ngx_http_tailor_nfree_bufs++;
}
