/*
 * Tailor: directives, configuration, the request context, the phase handler and the header
 * filter. Rules are compiled by the core library at configuration time (so `nginx -t` reports
 * every rule error); requests only evaluate them.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_tailor_module.h"


static ngx_int_t ngx_http_tailor_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_tailor_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_tailor_log_handler(ngx_http_request_t *r);
static void ngx_http_tailor_ctx_cleanup(void *data);

static ngx_int_t ngx_http_tailor_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_tailor_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_tailor_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_tailor_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_tailor_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_tailor_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);

static char *ngx_http_tailor_rules(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_http_tailor_engine_cleanup(void *data);
static void ngx_http_tailor_conf_log(void *ctx, int level, const char *msg,
    size_t len);


static ngx_command_t  ngx_http_tailor_commands[] = {

    { ngx_string("tailor"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tailor_loc_conf_t, enable),
      NULL },

    { ngx_string("tailor_rules"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_tailor_rules,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("tailor_visitor_cookie"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_tailor_visitor_cookie,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

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
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;

/* 13 months: the longest visitor-cookie lifetime European regulators accept by default. */
#define NGX_HTTP_TAILOR_COOKIE_MAX_AGE  (395 * 86400)


/*
 * The context lives on the main request. nginx clears module contexts on internal redirects
 * (try_files, rewrites to a variant file): a pool cleanup entry finds it again, so the
 * decision and the visitor ID stay the same for the whole request.
 */
ngx_http_tailor_ctx_t *
ngx_http_tailor_get_ctx(ngx_http_request_t *r)
{
    size_t                        size, nheaders, i;
    u_char                       *p;
    ngx_uint_t                    n;
    ngx_list_part_t              *part;
    ngx_table_elt_t              *h;
    ngx_time_t                   *tp;
    ngx_pool_cleanup_t           *cln;
    tailor_header_t              *headers;
    ngx_http_tailor_ctx_t        *ctx;
    ngx_http_tailor_main_conf_t  *tmcf;

    r = r->main;

    ctx = ngx_http_get_module_ctx(r, ngx_http_tailor_module);
    if (ctx != NULL) {
        return ctx;
    }

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_tailor_ctx_cleanup) {
            ctx = cln->data;
            ngx_http_set_ctx(r, ctx, ngx_http_tailor_module);
            return ctx;
        }
    }

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

    headers = ngx_palloc(r->pool, (nheaders ? nheaders : 1) * sizeof(tailor_header_t));
    if (headers == NULL) {
        return ctx;
    }

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

    if (ngx_http_tailor_visitor_init(r, tmcf, ctx) != NGX_OK) {
        return ctx;
    }

    if (tmcf->engine == NULL) {
        return ctx;
    }

    size = tailor_eval_size(tmcf->engine, nheaders);
    p = ngx_palloc(r->pool, size + TAILOR_EVAL_ALIGN);
    if (p == NULL) {
        return ctx;
    }
    p = ngx_align_ptr(p, TAILOR_EVAL_ALIGN);

    {
        tailor_str_t  visitor;

        visitor.len = ctx->visitor.len;
        visitor.data = (const char *) ctx->visitor.data;

        ctx->eval = tailor_eval_init(tmcf->engine, &ctx->request, visitor, p, size);
    }

    if (ctx->eval == NULL) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "tailor: evaluation unavailable, serving the default");
    }

    return ctx;
}


static void
ngx_http_tailor_ctx_cleanup(void *data)
{
    /* Marker only: the context memory belongs to the request pool. */
}


ngx_int_t
ngx_http_tailor_decide(ngx_http_request_t *r, ngx_http_tailor_ctx_t *ctx)
{
    tailor_decision_t  d;

    if (ctx->decided) {
        return NGX_OK;
    }

    ctx->decided = 1;

    if (ctx->eval == NULL) {
        return NGX_OK;
    }

    if (tailor_eval_decide(ctx->eval, &d) != 0) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "tailor: rule evaluation failed, serving the default");
        return NGX_OK;
    }

    ctx->label = d.label;
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

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_tailor_log_handler(ngx_http_request_t *r)
{
    ngx_http_tailor_ctx_t        *ctx;
    ngx_http_tailor_main_conf_t  *tmcf;

    if (r != r->main) {
        return NGX_OK;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_tailor_module);
    if (ctx == NULL) {
        /* Tailor was not used by this request (or its context was reset: find it) */
        ngx_pool_cleanup_t  *cln;

        for (cln = r->pool->cleanup; cln; cln = cln->next) {
            if (cln->handler == ngx_http_tailor_ctx_cleanup) {
                ctx = cln->data;
                break;
            }
        }

        if (ctx == NULL) {
            return NGX_OK;
        }
    }

    tmcf = ngx_http_get_module_main_conf(r, ngx_http_tailor_module);

    (void) ngx_http_tailor_decide(r, ctx);

    return ngx_http_tailor_count(r, tmcf, ctx);
}


static ngx_int_t
ngx_http_tailor_header_filter(ngx_http_request_t *r)
{
    ngx_http_tailor_ctx_t        *ctx;
    ngx_http_tailor_loc_conf_t   *tlcf;
    ngx_http_tailor_main_conf_t  *tmcf;

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_tailor_module);
    if (!tlcf->enable) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_tailor_get_ctx(r);
    if (ctx != NULL && ctx->visitor_new && !ctx->cookie_sent) {
        tmcf = ngx_http_get_module_main_conf(r, ngx_http_tailor_module);
        if (ngx_http_tailor_visitor_set_cookie(r, tmcf, ctx) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return ngx_http_next_header_filter(r);
}


static char *
ngx_http_tailor_rules(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_tailor_main_conf_t *tmcf = conf;

    ngx_str_t             *value;
    ngx_pool_cleanup_t    *cln;
    tailor_engine_conf_t   ecf;

    if (tmcf->rules_file.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    tmcf->rules_file = value[1];

    if (ngx_conf_full_name(cf->cycle, &tmcf->rules_file, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    /* ngx_conf_full_name() NUL-terminates the name it builds; a plain absolute path is the
     * argument itself, which nginx also NUL-terminates. */
    ngx_memzero(&ecf, sizeof(tailor_engine_conf_t));
    ecf.rules_path = (const char *) tmcf->rules_file.data;

    tmcf->engine = tailor_engine_create(&ecf, ngx_http_tailor_conf_log, cf);
    if (tmcf->engine == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid rules in \"%V\"",
                           &tmcf->rules_file);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_tailor_engine_cleanup;
    cln->data = tmcf->engine;

    return NGX_CONF_OK;
}


static void
ngx_http_tailor_engine_cleanup(void *data)
{
    tailor_engine_destroy(data);
}


static void
ngx_http_tailor_conf_log(void *ctx, int level, const char *msg, size_t len)
{
    ngx_conf_t  *cf = ctx;

    ngx_uint_t   ngx_level;

    switch (level) {
    case TAILOR_LOG_ERR:
        ngx_level = NGX_LOG_EMERG;
        break;
    case TAILOR_LOG_WARN:
        ngx_level = NGX_LOG_WARN;
        break;
    default:
        ngx_level = NGX_LOG_INFO;
    }

    ngx_log_error(ngx_level, cf->log, 0, "%*s", len, msg);
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
     *     tmcf->engine = NULL;
     *     tmcf->cookie_name = { 0, NULL };
     *     tmcf->cookie_domain = { 0, NULL };
     *     tmcf->cookie_path = { 0, NULL };
     */

    tmcf->cookie_max_age = NGX_CONF_UNSET;

    return tmcf;
}


static char *
ngx_http_tailor_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_tailor_main_conf_t *tmcf = conf;

    if (tmcf->cookie_name.data == NULL) {
        ngx_str_set(&tmcf->cookie_name, "tailor_id");
    }

    if (tmcf->cookie_path.data == NULL) {
        ngx_str_set(&tmcf->cookie_path, "/");
    }

    ngx_conf_init_value(tmcf->cookie_max_age, NGX_HTTP_TAILOR_COOKIE_MAX_AGE);

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

    tlcf->enable = NGX_CONF_UNSET;

    return tlcf;
}


static char *
ngx_http_tailor_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_tailor_loc_conf_t *prev = parent;
    ngx_http_tailor_loc_conf_t *conf = child;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);

    return NGX_CONF_OK;
}
