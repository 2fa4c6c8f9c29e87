/*
 * The request's phases: the rewrite-phase handler decides on the URI as requested (and
 * serves a static variant file), the header filter sets Tailor's cookies and the response's
 * caching and debug headers, the log-phase handler counts the request.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_tailor_module.h"


static ngx_int_t ngx_http_tailor_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_tailor_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_tailor_log_handler(ngx_http_request_t *r);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;


/* Postconfiguration: the phase handlers and the header filter. */
ngx_int_t
ngx_http_tailor_filter_init(ngx_conf_t *cf)
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


static ngx_int_t
ngx_http_tailor_handler(ngx_http_request_t *r)
{
    ngx_http_tailor_ctx_t       *ctx;
    ngx_http_tailor_loc_conf_t  *tlcf;

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_tailor_module);

    if (!tlcf->enable || r != r->main) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_tailor_evaluate(r);
    if (ctx == NULL) {
        return NGX_DECLINED;
    }

    /* Decide on the URI as requested, before any rewrite in this location changes it. */
    ngx_http_tailor_decide(r, ctx);

    if (tlcf->static_variants && !ctx->rewritten) {
        return ngx_http_tailor_static_variant(r, ctx);
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_tailor_header_filter(ngx_http_request_t *r)
{
    ngx_str_t                     key;
    ngx_http_tailor_ctx_t        *ctx;
    ngx_http_tailor_loc_conf_t   *tlcf;
    ngx_http_tailor_main_conf_t  *tmcf;

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    /* after an internal redirect (a variant file) the context made where Tailor was on
     * still applies */
    ctx = ngx_http_tailor_evaluate(r);
    if (ctx == NULL) {
        return ngx_http_next_header_filter(r);
    }

    ngx_http_tailor_decide(r, ctx);

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_tailor_module);
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
        ngx_str_set(&key, "X-Tailor-Variant");
        if (ngx_http_tailor_add_header(r, &key, &ctx->variant) == NULL) {
            return NGX_ERROR;
        }

        ngx_http_tailor_eval_segments(ctx);

        if (ctx->segments.len) {
            ngx_str_set(&key, "X-Tailor-Segments");
            if (ngx_http_tailor_add_header(r, &key, &ctx->segments) == NULL) {
                return NGX_ERROR;
            }
        }
    }

    return ngx_http_next_header_filter(r);
}


/* Log phase: one count per main request served with Tailor on. */
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

    ngx_http_tailor_decide(r, ctx);

    ngx_http_tailor_log_lua(r, tmcf, ctx);

    return ngx_http_tailor_count(r, tmcf, ctx);
}
