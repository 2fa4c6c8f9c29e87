/*
 * Tailor's variables: computed on first use and then cached by nginx for the request, so a
 * configuration that reads none of them pays nothing. Besides the fixed ones, every signal
 * of the core that takes no argument is a variable: geo.country is $tailor_geo_country, and
 * every experiment of the rules is one: $tailor_experiment_NAME, the visitor's variant.
 *
 * Experiment variables: the rules are compiled after the http block is parsed, so the names
 * cannot be known when variables are declared. "tailor_experiment_" is declared as a prefix
 * variable; after the block is parsed (postconfiguration, before nginx resolves variables)
 * every variable the configuration uses with that prefix is resolved against the rules: an
 * unknown experiment fails nginx -t naming it, a known one becomes an exact variable whose
 * data is the experiment's index (no name lookup per request).
 */

#define NGX_HTTP_TAILOR_EXPERIMENT_PREFIX  "tailor_experiment_"

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_tailor_module.h"


static ngx_int_t ngx_http_tailor_variant_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_tailor_segments_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_tailor_goals_variable(ngx_http_request_t *r,
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
static ngx_int_t ngx_http_tailor_experiment_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_tailor_experiment_prefix_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_tailor_experiment_value(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, size_t index);
static void ngx_http_tailor_set_value(ngx_http_variable_value_t *v, u_char *data,
    size_t len);


static ngx_http_variable_t  ngx_http_tailor_vars[] = {

    { ngx_string("tailor_variant"), NULL,
      ngx_http_tailor_variant_variable, 0, 0, 0 },

    { ngx_string("tailor_segments"), NULL,
      ngx_http_tailor_segments_variable, 0, 0, 0 },

    { ngx_string("tailor_goals"), NULL,
      ngx_http_tailor_goals_variable, 0, 0, 0 },

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

    /* $tailor_experiment_NAME read by name at run time (SSI echo and the like); the names
     * the configuration uses are resolved in ngx_http_tailor_experiment_variables() */
    name.len = sizeof(NGX_HTTP_TAILOR_EXPERIMENT_PREFIX) - 1;
    name.data = (u_char *) NGX_HTTP_TAILOR_EXPERIMENT_PREFIX;

    var = ngx_http_add_variable(cf, &name, NGX_HTTP_VAR_PREFIX);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_tailor_experiment_prefix_variable;
    var->data = 0;

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

    ctx = ngx_http_tailor_evaluate(r);
    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    ngx_http_tailor_decide(r, ctx);
    ngx_http_tailor_set_value(v, ctx->variant.data, ctx->variant.len);

    return NGX_OK;
}


static ngx_int_t
ngx_http_tailor_segments_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_tailor_ctx_t  *ctx;

    ctx = ngx_http_tailor_evaluate(r);
    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    ngx_http_tailor_eval_segments(ctx);

    ngx_http_tailor_set_value(v, ctx->segments.data, ctx->segments.len);

    return NGX_OK;
}


static ngx_int_t
ngx_http_tailor_goals_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_tailor_ctx_t  *ctx;

    ctx = ngx_http_tailor_evaluate(r);
    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    ngx_http_tailor_eval_goals(ctx);

    ngx_http_tailor_set_value(v, ctx->goals.data, ctx->goals.len);

    return NGX_OK;
}


static ngx_int_t
ngx_http_tailor_visitor_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_tailor_ctx_t  *ctx;

    ctx = ngx_http_tailor_evaluate(r);
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
    ctx = ngx_http_tailor_evaluate(r);

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
    ngx_http_tailor_ctx_t  *ctx;

    ctx = ngx_http_tailor_evaluate(r);
    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    ngx_http_tailor_eval_experiments(r, ctx);

    ngx_http_tailor_set_value(v, ctx->experiments.data, ctx->experiments.len);

    return NGX_OK;
}


static ngx_int_t
ngx_http_tailor_cache_key_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                 *p;
    ngx_http_tailor_ctx_t  *ctx;

    ctx = ngx_http_tailor_evaluate(r);
    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    ngx_http_tailor_decide(r, ctx);

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

    ctx = ngx_http_tailor_evaluate(r);
    if (ctx == NULL || ctx->eval == NULL
        || !tailor_eval_signal(ctx->eval, (size_t) data, &s))
    {
        v->not_found = 1;
        return NGX_OK;
    }

    ngx_http_tailor_set_value(v, (u_char *) s.data, s.len);

    return NGX_OK;
}


/*
 * Postconfiguration: every $tailor_experiment_NAME the configuration uses (nginx's indexed
 * variables) names an experiment of the rules, or nginx -t fails naming it. Each becomes an
 * exact variable that reads its experiment by index, and is marked as used so that
 * $tailor_experiments lists it whatever the order in which variables are read.
 */
ngx_int_t
ngx_http_tailor_experiment_variables(ngx_conf_t *cf)
{
    size_t                        plen;
    ngx_int_t                     index;
    ngx_uint_t                    i, n;
    ngx_str_t                     exp;
    tailor_str_t                  s;
    ngx_http_variable_t          *v, *var;
    ngx_http_core_main_conf_t    *cmcf;
    ngx_http_tailor_main_conf_t  *tmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    tmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_tailor_module);

    plen = sizeof(NGX_HTTP_TAILOR_EXPERIMENT_PREFIX) - 1;
    v = cmcf->variables.elts;
    n = cmcf->variables.nelts;

    for (i = 0; i < n; i++) {
        if (v[i].name.len <= plen
            || ngx_strncmp(v[i].name.data, NGX_HTTP_TAILOR_EXPERIMENT_PREFIX, plen) != 0
            || v[i].get_handler != NULL)
        {
            continue;
        }

        exp.len = v[i].name.len - plen;
        exp.data = v[i].name.data + plen;

        if (tmcf->engine == NULL || tmcf->rules_file.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "variable \"$%V\" reads experiment \"%V\", but there "
                               "are no rules (tailor_rules)", &v[i].name, &exp);
            return NGX_ERROR;
        }

        s.len = exp.len;
        s.data = (const char *) exp.data;
        index = tailor_engine_experiment_index(tmcf->engine, s);

        if (index == -2) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "variable \"$%V\": several experiments of %V are named "
                               "\"%V\" once lower-cased with '-' and '.' read as '_'",
                               &v[i].name, &tmcf->rules_file, &exp);
            return NGX_ERROR;
        }

        if (index < 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown experiment \"%V\" in variable \"$%V\": %V "
                               "declares no experiment of that name",
                               &exp, &v[i].name, &tmcf->rules_file);
            return NGX_ERROR;
        }

        var = ngx_http_add_variable(cf, &v[i].name, 0);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = ngx_http_tailor_experiment_variable;
        var->data = (uintptr_t) index;

        if (tailor_engine_use_experiment(tmcf->engine, (size_t) index) != 0) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_tailor_experiment_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    return ngx_http_tailor_experiment_value(r, v, (size_t) data);
}


/* a name not resolved at configuration time (read through ngx_http_get_variable) */
static ngx_int_t
ngx_http_tailor_experiment_prefix_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    size_t                        plen;
    ngx_int_t                     index;
    ngx_str_t                    *name;
    tailor_str_t                  s;
    ngx_http_tailor_main_conf_t  *tmcf;

    name = (ngx_str_t *) data;
    plen = sizeof(NGX_HTTP_TAILOR_EXPERIMENT_PREFIX) - 1;
    tmcf = ngx_http_get_module_main_conf(r, ngx_http_tailor_module);

    if (name == NULL || name->len <= plen || tmcf->engine == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    s.len = name->len - plen;
    s.data = (const char *) name->data + plen;
    index = tailor_engine_experiment_index(tmcf->engine, s);

    if (index < 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    return ngx_http_tailor_experiment_value(r, v, (size_t) index);
}


/*
 * The visitor's variant, or empty when not enrolled (audience, dates, holdout, layer,
 * traffic, bot, no consent). The core computes it at most once per request and counts it as
 * one of the request's exposures; nothing is allocated: the value points into the rules.
 */
static ngx_int_t
ngx_http_tailor_experiment_value(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    size_t index)
{
    tailor_str_t            s;
    ngx_http_tailor_ctx_t  *ctx;

    ctx = ngx_http_tailor_evaluate(r);
    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    if (ctx->eval == NULL || tailor_eval_experiment(ctx->eval, index, &s) != 1) {
        ngx_http_tailor_set_value(v, (u_char *) "", 0);
        return NGX_OK;
    }

    ngx_http_tailor_set_value(v, (u_char *) s.data, s.len);

    return NGX_OK;
}
