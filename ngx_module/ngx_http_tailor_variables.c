/*
 * Tailor's variables: computed on first use and then cached by nginx for the request, so a
 * configuration that reads none of them pays nothing. Besides the fixed ones, every signal
 * of the core that takes no argument is a variable: geo.country is $tailor_geo_country.
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
static ngx_int_t ngx_http_tailor_visitor_hash_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_tailor_experiments_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_tailor_cache_key_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_tailor_signal_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_http_tailor_ctx_t *ngx_http_tailor_variable_ctx(ngx_http_request_t *r);
static void ngx_http_tailor_set_value(ngx_http_variable_value_t *v, u_char *data,
    size_t len);


static ngx_http_variable_t  ngx_http_tailor_vars[] = {

    { ngx_string("tailor_variant"), NULL,
      ngx_http_tailor_variant_variable, 0, 0, 0 },

    { ngx_string("tailor_segments"), NULL,
      ngx_http_tailor_segments_variable, 0, 0, 0 },

    { ngx_string("tailor_visitor"), NULL,
      ngx_http_tailor_visitor_variable, 0, 0, 0 },

    { ngx_string("tailor_visitor_hash"), NULL,
      ngx_http_tailor_visitor_hash_variable, 0, 0, 0 },

    { ngx_string("tailor_experiments"), NULL,
      ngx_http_tailor_experiments_variable, 0, 0, 0 },

    { ngx_string("tailor_cache_key"), NULL,
      ngx_http_tailor_cache_key_variable, 0, 0, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_tailor_add_variables(ngx_conf_t *cf)
{
    u_char               *p;
    size_t                i, n, len;
    ngx_str_t             name;
    const char           *signal;
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_tailor_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    n = tailor_signal_count();

    for (i = 0; i < n; i++) {
        signal = tailor_signal_name(i);
        len = ngx_strlen(signal);

        /* nginx has $uri, $host and $request_method already */
        if ((len == 4 && ngx_strcmp(signal, "path") == 0)
            || (len == 4 && ngx_strcmp(signal, "host") == 0)
            || (len == 6 && ngx_strcmp(signal, "method") == 0))
        {
            continue;
        }

        name.len = sizeof("tailor_") - 1 + len;
        name.data = ngx_pnalloc(cf->pool, name.len);
        if (name.data == NULL) {
            return NGX_ERROR;
        }

        p = ngx_cpymem(name.data, "tailor_", sizeof("tailor_") - 1);
        for ( /* void */ ; *signal; signal++) {
            *p++ = (*signal == '.') ? '_' : (u_char) *signal;
        }

        var = ngx_http_add_variable(cf, &name, NGX_HTTP_VAR_NOHASH);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = ngx_http_tailor_signal_variable;
        var->data = i;
    }

    return NGX_OK;
}


static ngx_http_tailor_ctx_t *
ngx_http_tailor_variable_ctx(ngx_http_request_t *r)
{
    ngx_http_tailor_loc_conf_t  *tlcf;

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_tailor_module);
    if (!tlcf->enable) {
        /* a context made where Tailor is on stays valid after a redirect */
        return ngx_http_tailor_find_ctx(r);
    }

    return ngx_http_tailor_get_ctx(r);
}


static void
ngx_http_tailor_set_value(ngx_http_variable_value_t *v, u_char *data, size_t len)
{
    v->len = len;
    v->data = data;
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
    ngx_http_tailor_set_value(v, ctx->variant.data, ctx->variant.len);

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

    ngx_http_tailor_set_value(v, ctx->segments.data, ctx->segments.len);

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

    ngx_http_tailor_set_value(v, ctx->visitor.data, ctx->visitor.len);

    return NGX_OK;
}


static ngx_int_t
ngx_http_tailor_visitor_hash_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    tailor_str_t                  id;
    ngx_http_tailor_ctx_t        *ctx;
    ngx_http_tailor_main_conf_t  *tmcf;

    tmcf = ngx_http_get_module_main_conf(r, ngx_http_tailor_module);
    ctx = ngx_http_tailor_variable_ctx(r);

    if (ctx == NULL || ctx->visitor.len == 0 || tmcf->engine == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    id.len = ctx->visitor.len;
    id.data = (const char *) ctx->visitor.data;

    if (tailor_visitor_hash(tmcf->engine, id, (char *) ctx->hash_buf) != 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    ngx_http_tailor_set_value(v, ctx->hash_buf, TAILOR_VISITOR_ID_LEN);

    return NGX_OK;
}


static ngx_int_t
ngx_http_tailor_experiments_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    tailor_str_t            s;
    ngx_http_tailor_ctx_t  *ctx;

    ctx = ngx_http_tailor_variable_ctx(r);
    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    /* the experiments read while choosing the variant */
    (void) ngx_http_tailor_decide(r, ctx);

    if (!ctx->experiments_done) {
        ctx->experiments_done = 1;
        if (ctx->eval && !ctx->no_exposure && tailor_eval_experiments(ctx->eval, &s) == 0) {
            ctx->experiments.len = s.len;
            ctx->experiments.data = (u_char *) s.data;
        }
    }

    ngx_http_tailor_set_value(v, ctx->experiments.data, ctx->experiments.len);

    return NGX_OK;
}


static ngx_int_t
ngx_http_tailor_cache_key_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                 *p;
    ngx_http_tailor_ctx_t  *ctx;

    ctx = ngx_http_tailor_variable_ctx(r);
    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    (void) ngx_http_tailor_decide(r, ctx);

    if (ctx->page.len == 0) {
        ngx_http_tailor_set_value(v, (u_char *) "", 0);
        return NGX_OK;
    }

    /* "|variant=NAME": appended to a URL-based key, one cache entry per (URL, variant) */
    p = ngx_pnalloc(r->pool, sizeof("|variant=") - 1 + ctx->variant.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_http_tailor_set_value(v, p, sizeof("|variant=") - 1 + ctx->variant.len);
    p = ngx_cpymem(p, "|variant=", sizeof("|variant=") - 1);
    ngx_memcpy(p, ctx->variant.data, ctx->variant.len);

    return NGX_OK;
}


static ngx_int_t
ngx_http_tailor_signal_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    tailor_str_t            s;
    ngx_http_tailor_ctx_t  *ctx;

    ctx = ngx_http_tailor_variable_ctx(r);
    if (ctx == NULL || ctx->eval == NULL
        || !tailor_eval_signal(ctx->eval, (size_t) data, &s))
    {
        v->not_found = 1;
        return NGX_OK;
    }

    ngx_http_tailor_set_value(v, (u_char *) s.data, s.len);

    return NGX_OK;
}
