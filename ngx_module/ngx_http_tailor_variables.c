/*
 * Tailor's variables: computed on first use and then cached by nginx for the request, so a
 * configuration that reads none of them pays nothing.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_tailor_module.h"


static ngx_int_t ngx_http_tailor_variant_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_tailor_segments_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_tailor_visitor_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_http_tailor_ctx_t *ngx_http_tailor_variable_ctx(ngx_http_request_t *r);
static void ngx_http_tailor_set_value(ngx_http_variable_value_t *v, ngx_str_t *s);


static ngx_http_variable_t  ngx_http_tailor_vars[] = {

    { ngx_string("tailor_variant"), NULL,
      ngx_http_tailor_variant_variable, 0, 0, 0 },

    { ngx_string("tailor_segments"), NULL,
      ngx_http_tailor_segments_variable, 0, 0, 0 },

    { ngx_string("tailor_visitor"), NULL,
      ngx_http_tailor_visitor_variable, 0, 0, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_tailor_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_tailor_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_http_tailor_ctx_t *
ngx_http_tailor_variable_ctx(ngx_http_request_t *r)
{
    ngx_http_tailor_loc_conf_t  *tlcf;

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_tailor_module);
    if (!tlcf->enable) {
        return NULL;
    }

    return ngx_http_tailor_get_ctx(r);
}


static void
ngx_http_tailor_set_value(ngx_http_variable_value_t *v, ngx_str_t *s)
{
    v->len = s->len;
    v->data = s->data;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
}


static ngx_int_t
ngx_http_tailor_variant_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_tailor_ctx_t  *ctx;

    ctx = ngx_http_tailor_variable_ctx(r);
    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    (void) ngx_http_tailor_decide(r, ctx);
    ngx_http_tailor_set_value(v, &ctx->variant);

    return NGX_OK;
}


static ngx_int_t
ngx_http_tailor_segments_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    tailor_str_t            s;
    ngx_http_tailor_ctx_t  *ctx;

    ctx = ngx_http_tailor_variable_ctx(r);
    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    if (!ctx->segments_done) {
        ctx->segments_done = 1;
        if (ctx->eval && tailor_eval_segments(ctx->eval, &s) == 0) {
            ctx->segments.len = s.len;
            ctx->segments.data = (u_char *) s.data;
        }
    }

    ngx_http_tailor_set_value(v, &ctx->segments);

    return NGX_OK;
}


static ngx_int_t
ngx_http_tailor_visitor_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_tailor_ctx_t  *ctx;

    ctx = ngx_http_tailor_variable_ctx(r);
    if (ctx == NULL || ctx->visitor.len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    ngx_http_tailor_set_value(v, &ctx->visitor);

    return NGX_OK;
}
