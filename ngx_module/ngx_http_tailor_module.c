/*
 * Tailor: directives, configuration, the request context, the phase handlers and the
 * header filter. Everything is compiled by the core library when the configuration loads
 * (so `nginx -t` reports every error); requests only evaluate.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_tailor_module.h"

#if (NGX_LINUX) && defined(__GLIBC__)
#include <malloc.h>
#endif


static ngx_int_t ngx_http_tailor_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_tailor_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_tailor_log_handler(ngx_http_request_t *r);
static void ngx_http_tailor_ctx_cleanup(void *data);
static void *ngx_http_tailor_buf_get(size_t size);
static void ngx_http_tailor_buf_put(void *buf);

static ngx_int_t ngx_http_tailor_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_tailor_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_tailor_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_tailor_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_tailor_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_tailor_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_tailor_init_module(ngx_cycle_t *cycle);
static void ngx_http_tailor_release_memory(void);
static ngx_int_t ngx_http_tailor_init_process(ngx_cycle_t *cycle);

static char *ngx_http_tailor_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_tailor_geoip2(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_tailor_strings(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_tailor_lifecycle(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_tailor_engine(ngx_conf_t *cf,
    ngx_http_tailor_main_conf_t *tmcf);
static void ngx_http_tailor_engine_cleanup(void *data);
static void ngx_http_tailor_conf_log(void *ctx, int level, const char *msg,
    size_t len);
static void ngx_http_tailor_cycle_log(void *ctx, int level, const char *msg,
    size_t len);
static void ngx_http_tailor_poll(ngx_event_t *ev);


static ngx_conf_num_bounds_t  ngx_http_tailor_msec_bounds = {
    ngx_conf_check_num_bounds, 0, 86400000
};


static char *ngx_http_tailor_zone_size(ngx_conf_t *cf, void *post, void *data);

static ngx_conf_post_handler_pt  ngx_http_tailor_zone_size_post =
    ngx_http_tailor_zone_size;


static ngx_conf_enum_t  ngx_http_tailor_cookie_secure[] = {
    { ngx_string("off"), NGX_HTTP_TAILOR_SECURE_OFF },
    { ngx_string("on"), NGX_HTTP_TAILOR_SECURE_ON },
    { ngx_string("auto"), NGX_HTTP_TAILOR_SECURE_AUTO },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_tailor_commands[] = {

    { ngx_string("tailor"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tailor_loc_conf_t, enable),
      NULL },

    { ngx_string("tailor_rules"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_tailor_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_tailor_main_conf_t, rules_file),
      NULL },

    { ngx_string("tailor_geoip2"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_tailor_geoip2,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("tailor_secret"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_tailor_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_tailor_main_conf_t, secret_file),
      NULL },

    { ngx_string("tailor_referrers"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_tailor_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_tailor_main_conf_t, referrers_file),
      NULL },

    { ngx_string("tailor_languages"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_tailor_strings,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_tailor_main_conf_t, languages),
      NULL },

    { ngx_string("tailor_own_hosts"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_tailor_strings,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_tailor_main_conf_t, own_hosts),
      NULL },

    { ngx_string("tailor_lifecycle"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_tailor_lifecycle,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("tailor_profile_cookie"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_tailor_main_conf_t, profile_cookie),
      NULL },

    { ngx_string("tailor_visit_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_tailor_main_conf_t, visit_timeout),
      &ngx_http_tailor_msec_bounds },

    { ngx_string("tailor_tables_reload"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_tailor_main_conf_t, tables_reload),
      &ngx_http_tailor_msec_bounds },

    { ngx_string("tailor_bots_default"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_tailor_main_conf_t, bots_default),
      NULL },

    { ngx_string("tailor_visitor_cookie"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_tailor_visitor_cookie,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("tailor_cookie_secure"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_tailor_main_conf_t, cookie_secure),
      &ngx_http_tailor_cookie_secure },

    { ngx_string("tailor_consent"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tailor_loc_conf_t, consent),
      NULL },

    { ngx_string("tailor_consent_values"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_tailor_consent_values,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tailor_loc_conf_t, consent_values),
      NULL },

    { ngx_string("tailor_gpc"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tailor_loc_conf_t, gpc),
      NULL },

    { ngx_string("tailor_debug_header"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tailor_loc_conf_t, debug_header),
      NULL },

    { ngx_string("tailor_static_variants"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tailor_loc_conf_t, static_variants),
      NULL },

    { ngx_string("tailor_private"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tailor_loc_conf_t, private_cache),
      NULL },

    { ngx_string("tailor_status_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_tailor_main_conf_t, status_zone_size),
      &ngx_http_tailor_zone_size_post },

    { ngx_string("tailor_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_tailor_status,
      0,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_tailor_module_ctx = {
    ngx_http_tailor_preconfiguration,      /* preconfiguration */
    ngx_http_tailor_postconfiguration,     /* postconfiguration */

    ngx_http_tailor_create_main_conf,      /* create main configuration */
    ngx_http_tailor_init_main_conf,        /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_tailor_create_loc_conf,       /* create location configuration */
    ngx_http_tailor_merge_loc_conf         /* merge location configuration */
};


ngx_module_t  ngx_http_tailor_module = {
    NGX_MODULE_V1,
    &ngx_http_tailor_module_ctx,           /* module context */
    ngx_http_tailor_commands,              /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_tailor_init_module,           /* init module */
    ngx_http_tailor_init_process,          /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;

/* The worker's reload timer (geo databases and tables). */
static ngx_event_t  ngx_http_tailor_poll_event;


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
 * The context lives on the main request and across internal redirects (try_files, a
 * rewrite to a variant file): the decision and the visitor ID stay the same for the whole
 * request.
 */
ngx_http_tailor_ctx_t *
ngx_http_tailor_get_ctx(ngx_http_request_t *r)
{
    size_t                        size, nheaders, i;
    u_char                       *p;
    ngx_uint_t                    n;
    ngx_uint_t                    skipped;
    ngx_time_t                   *tp;
    ngx_list_part_t              *part;
    ngx_table_elt_t              *h;
    ngx_pool_cleanup_t           *cln;
    tailor_header_t              *headers;
    tailor_preview_t              preview;
    tailor_eval_options_t         opts;
    ngx_http_tailor_ctx_t        *ctx;
    ngx_http_tailor_loc_conf_t   *tlcf;
    ngx_http_tailor_main_conf_t  *tmcf;

    ctx = ngx_http_tailor_find_ctx(r);
    if (ctx != NULL) {
        return ctx;
    }

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

    nheaders = 0;
    for (part = &r->headers_in.headers.part; part; part = part->next) {
        nheaders += part->nelts;
    }

    /*
     * One buffer from the worker's pool holds the evaluation and, after it, the request's
     * header views: a request allocates nothing, whatever its number of headers.
     */
    size = tmcf->engine ? ngx_align(tailor_eval_size(tmcf->engine, nheaders),
                                    TAILOR_EVAL_ALIGN)
                        : 0;

    p = ngx_http_tailor_buf_get(size + (nheaders ? nheaders : 1) * sizeof(tailor_header_t));
    if (p == NULL) {
        return ctx;
    }

    ctx->eval_buf = p;
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

    ctx->consent = ngx_http_tailor_consent(r, tlcf, ctx);
    ctx->secure = ngx_http_tailor_secure(r, tmcf, ctx);

    if (ctx->consent && ngx_http_tailor_visitor_init(r, tmcf, ctx) != NGX_OK) {
        return ctx;
    }

    if (tmcf->engine == NULL) {
        return ctx;
    }

    opts.visitor_id.len = ctx->visitor.len;
    opts.visitor_id.data = (const char *) ctx->visitor.data;
    opts.consent = ctx->consent;
    opts.visitor_cookie.len = tmcf->cookie_name.len;
    opts.visitor_cookie.data = (const char *) tmcf->cookie_name.data;
    /* no cookie support, nothing personal to show: the canonical page */
    opts.default_only = (r->method == NGX_HTTP_HEAD);

    ctx->eval = tailor_eval_init(tmcf->engine, &ctx->request, &opts, p, size);

    if (ctx->eval == NULL) {
        ctx->errors |= 1u << TAILOR_ERR_EVAL;

        if (ngx_http_tailor_log_due(TAILOR_ERR_EVAL, &skipped)) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "tailor: evaluation unavailable, serving the default "
                          "(%ui similar not logged)", skipped);
        }
        return ctx;
    }

    /* a reviewer's preview: ?tailor_preview=TOKEN, then the cookie it sets (the core
     * finds the token) */
    switch (tailor_eval_preview(ctx->eval, &preview)) {
    case 1:
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

    return ctx;
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


ngx_int_t
ngx_http_tailor_decide(ngx_http_request_t *r, ngx_http_tailor_ctx_t *ctx)
{
    ngx_uint_t         skipped;
    tailor_decision_t  d;

    if (ctx->decided) {
        return NGX_OK;
    }

    ctx->decided = 1;

    if (ctx->eval == NULL) {
        return NGX_OK;
    }

    if (tailor_eval_decide(ctx->eval, &d) != 0) {
        if (ngx_http_tailor_log_due(TAILOR_ERR_EVAL, &skipped)) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "tailor: rule evaluation failed, serving the default "
                          "(%ui similar not logged)", skipped);
        }
        return NGX_OK;
    }

    ctx->label = d.label;
    ctx->is_default = d.is_default ? 1 : 0;
    ctx->variant.len = d.variant.len;
    ctx->variant.data = (u_char *) d.variant.data;
    ctx->page.len = d.page.len;
    ctx->page.data = (u_char *) d.page.data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_tailor_handler(ngx_http_request_t *r)
{
    ngx_http_tailor_ctx_t       *ctx;
    ngx_http_tailor_loc_conf_t  *tlcf;

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_tailor_module);

    if (!tlcf->enable || r != r->main) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_tailor_get_ctx(r);
    if (ctx == NULL) {
        return NGX_DECLINED;
    }

    /* Decide on the URI as requested, before any rewrite in this location changes it. */
    (void) ngx_http_tailor_decide(r, ctx);

    if (tlcf->static_variants && !ctx->rewritten) {
        return ngx_http_tailor_static_variant(r, ctx);
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_tailor_header_filter(ngx_http_request_t *r)
{
    ngx_table_elt_t              *h;
    ngx_http_tailor_ctx_t        *ctx;
    ngx_http_tailor_loc_conf_t   *tlcf;
    ngx_http_tailor_main_conf_t  *tmcf;

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_tailor_module);

    /* after an internal redirect (a variant file) the context made where Tailor was on
     * still applies */
    ctx = tlcf->enable ? ngx_http_tailor_get_ctx(r) : ngx_http_tailor_find_ctx(r);
    if (ctx == NULL) {
        return ngx_http_next_header_filter(r);
    }

    (void) ngx_http_tailor_decide(r, ctx);

    tmcf = ngx_http_get_module_main_conf(r, ngx_http_tailor_module);

    if (ngx_http_tailor_set_cookies(r, tmcf, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    /*
     * A response chosen for a segment must not be replayed by a shared cache to another,
     * and one that sets a visitor's cookie must never be: a CDN would hand that ID to all.
     */
    if ((tlcf->private_cache && ctx->page.len) || ctx->cookies_out) {
        if (ngx_http_tailor_private(r) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (tlcf->debug_header && ctx->page.len) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }
        h->hash = 1;
#if (nginx_version >= 1023000)
        h->next = NULL;
#endif
        ngx_str_set(&h->key, "X-Tailor-Variant");
        h->value = ctx->variant;

        if (ctx->eval && !ctx->segments_done) {
            tailor_str_t  s;

            ctx->segments_done = 1;
            if (tailor_eval_segments(ctx->eval, &s) == 0) {
                ctx->segments.len = s.len;
                ctx->segments.data = (u_char *) s.data;
            }
        }

        if (ctx->segments.len) {
            h = ngx_list_push(&r->headers_out.headers);
            if (h == NULL) {
                return NGX_ERROR;
            }
            h->hash = 1;
#if (nginx_version >= 1023000)
            h->next = NULL;
#endif
            ngx_str_set(&h->key, "X-Tailor-Segments");
            h->value = ctx->segments;
        }
    }

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_http_tailor_log_handler(ngx_http_request_t *r)
{
    ngx_http_tailor_ctx_t        *ctx;
    ngx_http_tailor_main_conf_t  *tmcf;

    if (r != r->main) {
        return NGX_OK;
    }

    ctx = ngx_http_tailor_find_ctx(r);
    if (ctx == NULL) {
        return NGX_OK;
    }

    tmcf = ngx_http_get_module_main_conf(r, ngx_http_tailor_module);

    (void) ngx_http_tailor_decide(r, ctx);

    if (ctx->eval != NULL
        && (tailor_eval_errors(ctx->eval) & (1u << TAILOR_ERR_LUA)))
    {
        tailor_str_t  msg;
        uint64_t      n;

        /* one line per worker per interval, however many requests failed */
        if (tailor_engine_lua_log(tmcf->engine, (int64_t) ngx_current_msec,
                                  NGX_HTTP_TAILOR_LOG_INTERVAL, &msg, &n))
        {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "tailor: lua signal failed, served without its value "
                          "(%uL error(s) since the last message): %*s",
                          (uint64_t) n, msg.len, msg.data);
        }
    }

    return ngx_http_tailor_count(r, tmcf, ctx);
}


/* tailor_rules FILE, tailor_secret FILE, tailor_referrers FILE: relative to the prefix */
static char *
ngx_http_tailor_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t  *field, *value;

    field = (ngx_str_t *) (p + cmd->offset);

    if (field->data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "empty file name");
        return NGX_CONF_ERROR;
    }

    *field = value[1];

    /* ngx_conf_full_name() NUL-terminates the name it builds; nginx NUL-terminates
     * directive arguments, so an absolute path is a C string too */
    if (ngx_conf_full_name(cf->cycle, field, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* tailor_geoip2 PATH [auto_reload=INTERVAL] */
static char *
ngx_http_tailor_geoip2(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_tailor_main_conf_t *tmcf = conf;

    ngx_str_t          *value, path, s;
    ngx_msec_t          interval;
    tailor_geo_file_t  *geo;

    value = cf->args->elts;

    if (tmcf->geo == NULL) {
        tmcf->geo = ngx_array_create(cf->pool, 3, sizeof(tailor_geo_file_t));
        if (tmcf->geo == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    path = value[1];
    if (ngx_conf_full_name(cf->cycle, &path, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    interval = 0;

    if (cf->args->nelts == 3) {
        if (ngx_strncmp(value[2].data, "auto_reload=", 12) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[2]);
            return NGX_CONF_ERROR;
        }

        s.len = value[2].len - 12;
        s.data = value[2].data + 12;

        interval = ngx_parse_time(&s, 0);
        if (interval == (ngx_msec_t) NGX_ERROR || interval == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid auto_reload \"%V\"", &s);
            return NGX_CONF_ERROR;
        }
    }

    geo = ngx_array_push(tmcf->geo);
    if (geo == NULL) {
        return NGX_CONF_ERROR;
    }

    geo->path = (const char *) path.data;
    geo->auto_reload_ms = (int64_t) interval;

    return NGX_CONF_OK;
}


/*
 * tailor_lifecycle registered [unsigned:]cookie:NAME|header:NAME ...;
 * tailor_lifecycle orders [unsigned:]cookie:NAME|header:NAME ...;
 * where the site says who the visitor is (set at login) and how many orders they placed.
 */
static char *
ngx_http_tailor_lifecycle(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_tailor_main_conf_t  *tmcf = conf;

    ngx_str_t     *value;
    ngx_uint_t     i, n;
    const char   **s;
    ngx_array_t  **a;

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "registered") == 0) {
        a = &tmcf->lifecycle_registered;

    } else if (ngx_strcmp(value[1].data, "orders") == 0) {
        a = &tmcf->lifecycle_orders;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid lifecycle stage \"%V\", "
                           "it must be \"registered\" or \"orders\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (*a != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate lifecycle stage \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    *a = ngx_array_create(cf->pool, cf->args->nelts - 2, sizeof(char *));
    if (*a == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {
        /* "unsigned:" trusts the client's value; without it values are signed */
        n = (value[i].len > 9 && ngx_strncmp(value[i].data, "unsigned:", 9) == 0) ? 9 : 0;

        if (!((value[i].len > n + 7 && ngx_strncmp(value[i].data + n, "cookie:", 7) == 0)
              || (value[i].len > n + 7
                  && ngx_strncmp(value[i].data + n, "header:", 7) == 0)))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid lifecycle source \"%V\", it must be "
                               "\"cookie:NAME\" or \"header:NAME\", "
                               "or \"unsigned:\" before either", &value[i]);
            return NGX_CONF_ERROR;
        }

        s = ngx_array_push(*a);
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }

        *s = (const char *) value[i].data;
    }

    return NGX_CONF_OK;
}


/* tailor_languages fr en de ...; tailor_own_hosts example.com shop.example.com ... */
static char *
ngx_http_tailor_strings(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t     *value;
    ngx_uint_t     i;
    const char   **s;
    ngx_array_t  **a;

    a = (ngx_array_t **) (p + cmd->offset);

    if (*a != NULL) {
        return "is duplicate";
    }

    *a = ngx_array_create(cf->pool, cf->args->nelts - 1, sizeof(char *));
    if (*a == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "empty value");
            return NGX_CONF_ERROR;
        }

        s = ngx_array_push(*a);
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }

        *s = (const char *) value[i].data;
    }

    return NGX_CONF_OK;
}


/* Builds the engine once the whole http{} block is read: every file is checked now. */
static char *
ngx_http_tailor_engine(ngx_conf_t *cf, ngx_http_tailor_main_conf_t *tmcf)
{
    ngx_pool_cleanup_t    *cln;
    tailor_engine_conf_t   ecf;

    ngx_memzero(&ecf, sizeof(tailor_engine_conf_t));

    ecf.rules_path = (const char *) tmcf->rules_file.data;
    ecf.secret_path = (const char *) tmcf->secret_file.data;
    ecf.referrers_path = (const char *) tmcf->referrers_file.data;

    if (tmcf->geo) {
        ecf.geo = tmcf->geo->elts;
        ecf.ngeo = tmcf->geo->nelts;
    }

    if (tmcf->languages) {
        ecf.languages = tmcf->languages->elts;
        ecf.nlanguages = tmcf->languages->nelts;
    }

    if (tmcf->own_hosts) {
        ecf.own_hosts = tmcf->own_hosts->elts;
        ecf.nown_hosts = tmcf->own_hosts->nelts;
    }

    if (tmcf->lifecycle_registered) {
        ecf.lifecycle_registered = tmcf->lifecycle_registered->elts;
        ecf.nlifecycle_registered = tmcf->lifecycle_registered->nelts;
    }

    if (tmcf->lifecycle_orders) {
        ecf.lifecycle_orders = tmcf->lifecycle_orders->elts;
        ecf.nlifecycle_orders = tmcf->lifecycle_orders->nelts;
    }

    if (tmcf->profile_cookie.len) {
        ecf.profile_cookie = (const char *) tmcf->profile_cookie.data;
    }

    ecf.visit_timeout_ms = tmcf->visit_timeout;
    ecf.tables_reload_ms = tmcf->tables_reload == NGX_CONF_UNSET_MSEC
                           ? -1 : (int64_t) tmcf->tables_reload;
    ecf.bots_get_default = tmcf->bots_default ? 1 : 0;

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    /* set before the engine exists: a failed load still releases what it allocated */
    cln->handler = ngx_http_tailor_engine_cleanup;
    cln->data = NULL;

    tmcf->engine = tailor_engine_create(&ecf, ngx_http_tailor_conf_log, cf);
    if (tmcf->engine == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid tailor configuration%s%V%s",
                           tmcf->rules_file.len ? " (rules \"" : "",
                           &tmcf->rules_file, tmcf->rules_file.len ? "\")" : "");
        return NGX_CONF_ERROR;
    }

    cln->data = tmcf->engine;

    return NGX_CONF_OK;
}


static void
ngx_http_tailor_engine_cleanup(void *data)
{
    if (data != NULL) {
        tailor_engine_destroy(data);
    }

    ngx_http_tailor_release_memory();
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


static void
ngx_http_tailor_conf_log(void *ctx, int level, const char *msg, size_t len)
{
    ngx_conf_t  *cf = ctx;

    ngx_log_error(ngx_http_tailor_log_level(level), cf->log, 0, "%*s", len, msg);
}


static void
ngx_http_tailor_cycle_log(void *ctx, int level, const char *msg, size_t len)
{
    ngx_log_t  *log = ctx;

    ngx_uint_t  ngx_level;

    ngx_level = (level == TAILOR_LOG_ERR) ? NGX_LOG_ERR
                : (level == TAILOR_LOG_WARN) ? NGX_LOG_WARN : NGX_LOG_NOTICE;

    ngx_log_error(ngx_level, log, 0, "tailor: %*s", len, msg);
}


/*
 * Compiling the rules and the pattern databases allocates megabytes that are freed again
 * before the configuration is done; glibc keeps most of those pages (scattered below live
 * allocations, so the heap top cannot shrink), and every worker forked next inherits them:
 * measured, 2 to 4 MB per process that came and went at random from one reload to the next.
 * The master hands them back after each configuration load, good (init_module) or failed
 * (the engine's pool cleanup), and after freeing the previous configuration's engine.
 */
static void
ngx_http_tailor_release_memory(void)
{
#if (NGX_LINUX) && defined(__GLIBC__)
    if (ngx_process == NGX_PROCESS_MASTER || ngx_process == NGX_PROCESS_SINGLE) {
        (void) malloc_trim(0);
    }
#endif
}


static ngx_int_t
ngx_http_tailor_init_module(ngx_cycle_t *cycle)
{
    ngx_http_tailor_release_memory();
    return NGX_OK;
}


static ngx_int_t
ngx_http_tailor_init_process(ngx_cycle_t *cycle)
{
    int64_t                       interval;
    ngx_http_tailor_main_conf_t  *tmcf;

    tmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_tailor_module);
    if (tmcf == NULL || tmcf->engine == NULL) {
        return NGX_OK;
    }

    if (tailor_engine_worker_init(tmcf->engine, ngx_http_tailor_cycle_log,
                                  cycle->log)
        != 0)
    {
        /* the worker still serves: signals that need the missing state are missing */
        ngx_http_tailor_count_error(tmcf, TAILOR_ERR_EVAL);
    }

    interval = tailor_engine_poll_interval_ms(tmcf->engine);
    if (interval > 0) {
        ngx_http_tailor_poll_event.handler = ngx_http_tailor_poll;
        ngx_http_tailor_poll_event.log = cycle->log;
        ngx_http_tailor_poll_event.data = tmcf;
        ngx_http_tailor_poll_event.cancelable = 1;
        ngx_add_timer(&ngx_http_tailor_poll_event, (ngx_msec_t) interval);
    }

    return NGX_OK;
}


/* The worker's timer: reloads changed geo databases and tables, off the request path. */
static void
ngx_http_tailor_poll(ngx_event_t *ev)
{
    int                           rejected;
    ngx_http_tailor_main_conf_t  *tmcf = ev->data;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    rejected = tailor_engine_poll(tmcf->engine, ngx_http_tailor_cycle_log, ev->log);
    while (rejected-- > 0) {
        ngx_http_tailor_count_error(tmcf, TAILOR_ERR_RELOAD);
    }

    ngx_add_timer(ev, (ngx_msec_t) tailor_engine_poll_interval_ms(tmcf->engine));
}


static ngx_int_t
ngx_http_tailor_preconfiguration(ngx_conf_t *cf)
{
    return ngx_http_tailor_add_variables(cf);
}


static ngx_int_t
ngx_http_tailor_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_REWRITE_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_tailor_handler;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_tailor_log_handler;

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_tailor_header_filter;

    /* $tailor_experiment_NAME: resolved against the rules (variables.c) */
    if (ngx_http_tailor_experiment_variables(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void *
ngx_http_tailor_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_tailor_main_conf_t  *tmcf;

    tmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_tailor_main_conf_t));
    if (tmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     tmcf->rules_file = { 0, NULL };
     *     tmcf->geo = NULL;
     *     tmcf->secret_file = { 0, NULL };
     *     tmcf->referrers_file = { 0, NULL };
     *     tmcf->languages = NULL;
     *     tmcf->own_hosts = NULL;
     *     tmcf->lifecycle_registered = NULL;
     *     tmcf->lifecycle_orders = NULL;
     *     tmcf->profile_cookie = { 0, NULL };
     *     tmcf->engine = NULL;
     *     tmcf->cookie_name = { 0, NULL };
     *     tmcf->cookie_domain = { 0, NULL };
     *     tmcf->cookie_path = { 0, NULL };
     */

    tmcf->visit_timeout = NGX_CONF_UNSET_MSEC;
    tmcf->tables_reload = NGX_CONF_UNSET_MSEC;
    tmcf->bots_default = NGX_CONF_UNSET;
    tmcf->cookie_max_age = NGX_CONF_UNSET;
    tmcf->cookie_secure = NGX_CONF_UNSET_UINT;
    tmcf->status_zone_size = NGX_CONF_UNSET_SIZE;
    tmcf->realip_index = -1;

    return tmcf;
}


static char *
ngx_http_tailor_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_tailor_main_conf_t *tmcf = conf;

    ngx_uint_t  i;

    if (tmcf->cookie_name.data == NULL) {
        ngx_str_set(&tmcf->cookie_name, "tailor_id");
    }

    if (tmcf->cookie_path.data == NULL) {
        ngx_str_set(&tmcf->cookie_path, "/");
    }

    ngx_conf_init_value(tmcf->cookie_max_age, NGX_HTTP_TAILOR_COOKIE_MAX_AGE);
    ngx_conf_init_msec_value(tmcf->visit_timeout, 0);
    ngx_conf_init_value(tmcf->bots_default, 1);
    ngx_conf_init_uint_value(tmcf->cookie_secure, NGX_HTTP_TAILOR_SECURE_AUTO);
    ngx_conf_init_size_value(tmcf->status_zone_size, 1024 * 1024);

    /*
     * tailor_cookie_secure auto trusts X-Forwarded-Proto only from the proxies the realip
     * module trusts (set_real_ip_from): it puts its context on a request whose address it
     * replaced. Found by name, so the module loads into an nginx built without realip.
     */
    for (i = 0; cf->cycle->modules[i]; i++) {
        if (ngx_strcmp(cf->cycle->modules[i]->name, "ngx_http_realip_module") == 0) {
            tmcf->realip_index = cf->cycle->modules[i]->ctx_index;
            break;
        }
    }

    if (ngx_http_tailor_engine(cf, tmcf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_tailor_status_init_conf(cf, tmcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_tailor_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_tailor_loc_conf_t  *tlcf;

    tlcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_tailor_loc_conf_t));
    if (tlcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     tlcf->consent = NULL;
     */

    tlcf->consent_values = NGX_CONF_UNSET_PTR;

    tlcf->enable = NGX_CONF_UNSET;
    tlcf->gpc = NGX_CONF_UNSET;
    tlcf->debug_header = NGX_CONF_UNSET;
    tlcf->static_variants = NGX_CONF_UNSET;
    tlcf->private_cache = NGX_CONF_UNSET;

    return tlcf;
}


static char *
ngx_http_tailor_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_tailor_loc_conf_t *prev = parent;
    ngx_http_tailor_loc_conf_t *conf = child;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    if (conf->consent == NULL) {
        conf->consent = prev->consent;
    }
    ngx_conf_merge_value(conf->gpc, prev->gpc, 1);

    if (ngx_http_tailor_merge_consent_values(cf, prev, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }
    ngx_conf_merge_value(conf->debug_header, prev->debug_header, 0);
    ngx_conf_merge_value(conf->static_variants, prev->static_variants, 0);
    ngx_conf_merge_value(conf->private_cache, prev->private_cache, 1);

    return NGX_CONF_OK;
}


/* tailor_status_zone SIZE: the shared memory of the counters, at least 8 pages */
static char *
ngx_http_tailor_zone_size(ngx_conf_t *cf, void *post, void *data)
{
    size_t  *sp = data;

    if (*sp < 8 * ngx_pagesize) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "tailor_status_zone of %uz bytes is too small, "
                           "the least is %ui", *sp, 8 * ngx_pagesize);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}
