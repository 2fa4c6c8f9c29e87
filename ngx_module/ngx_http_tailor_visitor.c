/*
 * The visitor: consent, the visitor ID cookie and the profile cookie.
 *
 * Consent is explicit: tailor_consent must evaluate to one of tailor_consent_values
 * (default "1 yes true granted accept accepted", any case); anything else, and Sec-GPC: 1
 * with tailor_gpc on, is no consent. Without consent Tailor reads no cookie of its own, sets
 * none, and expires (Max-Age=0) the ones the browser still sends, so a visitor who withdraws
 * consent loses them on the next request. Cookies are sent from a header filter, after any
 * cache, so a cached response never carries one visitor's cookie to another, and a response
 * that sets one is made private for shared caches.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_tailor_module.h"


/* A profile cookie value is under 400 bytes by design; this leaves room. */
#define NGX_HTTP_TAILOR_PROFILE_MAX    512


static ngx_int_t ngx_http_tailor_push_cookie(ngx_http_request_t *r,
    ngx_http_tailor_main_conf_t *tmcf, ngx_http_tailor_ctx_t *ctx, ngx_str_t *name,
    u_char *value, size_t len, time_t max_age);
static ngx_int_t ngx_http_tailor_expire_cookies(ngx_http_request_t *r,
    ngx_http_tailor_main_conf_t *tmcf, ngx_http_tailor_ctx_t *ctx);
static const tailor_header_t *ngx_http_tailor_find_header(ngx_http_tailor_ctx_t *ctx,
    const char *name, size_t len);


static ngx_str_t  ngx_http_tailor_default_consent_values[] = {
    ngx_string("1"),
    ngx_string("yes"),
    ngx_string("true"),
    ngx_string("granted"),
    ngx_string("accept"),
    ngx_string("accepted"),
};


static const tailor_header_t *
ngx_http_tailor_find_header(ngx_http_tailor_ctx_t *ctx, const char *name, size_t len)
{
    size_t                  i;
    const tailor_header_t  *h;

    h = ctx->request.headers;
    for (i = 0; i < ctx->request.nheaders; i++) {
        if (h[i].name.len == len
            && ngx_strncasecmp((u_char *) h[i].name.data, (u_char *) name, len) == 0)
        {
            return &h[i];
        }
    }

    return NULL;
}


ngx_uint_t
ngx_http_tailor_consent(ngx_http_request_t *r, ngx_http_tailor_loc_conf_t *tlcf,
    ngx_http_tailor_ctx_t *ctx)
{
    ngx_str_t              *yes, v;
    ngx_uint_t              i;
    const tailor_header_t  *h;

    if (tlcf->gpc) {
        h = ngx_http_tailor_find_header(ctx, "Sec-GPC", sizeof("Sec-GPC") - 1);
        if (h != NULL && h->value.len == 1 && h->value.data[0] == '1') {
            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "tailor: no consent (Sec-GPC)");
            return 0;
        }
    }

    if (tlcf->consent == NULL) {
        /* consent handled elsewhere */
        return 1;
    }

    if (ngx_http_complex_value(r, tlcf->consent, &v) != NGX_OK) {
        return 0;
    }

    yes = tlcf->consent_values->elts;
    for (i = 0; i < tlcf->consent_values->nelts; i++) {
        if (v.len == yes[i].len && ngx_strncasecmp(v.data, yes[i].data, v.len) == 0) {
            return 1;
        }
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "tailor: no consent (\"%V\")", &v);

    return 0;
}


/*
 * Cookies get Secure over TLS, and with "auto" also when a proxy the realip module trusts
 * (set_real_ip_from) says the visitor's connection was https.
 */
ngx_uint_t
ngx_http_tailor_secure(ngx_http_request_t *r, ngx_http_tailor_main_conf_t *tmcf,
    ngx_http_tailor_ctx_t *ctx)
{
    const tailor_header_t  *h;

    switch (tmcf->cookie_secure) {
    case NGX_HTTP_TAILOR_SECURE_OFF:
        return 0;
    case NGX_HTTP_TAILOR_SECURE_ON:
        return 1;
    default:
        break;
    }

#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        return 1;
    }
#endif

    if (tmcf->realip_index < 0 || r->ctx[tmcf->realip_index] == NULL) {
        return 0;
    }

    h = ngx_http_tailor_find_header(ctx, "X-Forwarded-Proto",
                                    sizeof("X-Forwarded-Proto") - 1);

    return h != NULL && h->value.len == sizeof("https") - 1
           && ngx_strncasecmp((u_char *) h->value.data, (u_char *) "https",
                              sizeof("https") - 1) == 0;
}


ngx_int_t
ngx_http_tailor_visitor_init(ngx_http_request_t *r,
    ngx_http_tailor_main_conf_t *tmcf, ngx_http_tailor_ctx_t *ctx)
{
    ngx_uint_t    skipped;
    tailor_str_t  name, value;

    name.len = tmcf->cookie_name.len;
    name.data = (const char *) tmcf->cookie_name.data;

    if (tailor_find_cookie(&ctx->request, name, &value)) {
        if (tailor_visitor_id_valid(value)) {
            ctx->visitor.len = value.len;
            ctx->visitor.data = (u_char *) value.data;
            return NGX_OK;
        }

        ctx->errors |= 1u << TAILOR_ERR_VISITOR_COOKIE;

        if (ngx_http_tailor_log_due(TAILOR_ERR_VISITOR_COOKIE, &skipped)) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "tailor: malformed visitor cookie replaced "
                          "(%ui similar not logged)", skipped);
        }
    }

    if (tailor_visitor_id_generate((char *) ctx->visitor_buf) != 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "tailor: random generator failed, no visitor ID");
        return NGX_ERROR;
    }

    ctx->visitor.len = TAILOR_VISITOR_ID_LEN;
    ctx->visitor.data = ctx->visitor_buf;
    ctx->visitor_new = 1;

    return NGX_OK;
}


ngx_int_t
ngx_http_tailor_set_cookies(ngx_http_request_t *r, ngx_http_tailor_main_conf_t *tmcf,
    ngx_http_tailor_ctx_t *ctx)
{
    u_char        *p;
    size_t         len;
    ngx_str_t      name;
    tailor_str_t   pname;

    if (ctx->cookie_sent) {
        return NGX_OK;
    }

    ctx->cookie_sent = 1;

    /* again now: the realip module may have handled the request after Tailor's handler
     * (realip in a location runs in the preaccess phase) */
    if (!ctx->secure) {
        ctx->secure = ngx_http_tailor_secure(r, tmcf, ctx);
    }

    if (!ctx->consent) {
        return ngx_http_tailor_expire_cookies(r, tmcf, ctx);
    }

    if (ctx->visitor_new
        && ngx_http_tailor_push_cookie(r, tmcf, ctx, &tmcf->cookie_name, ctx->visitor.data,
                                       ctx->visitor.len, tmcf->cookie_max_age)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ctx->preview.len && ctx->preview_expires > ngx_time()) {
        ngx_str_set(&name, TAILOR_PREVIEW_NAME);
        if (ngx_http_tailor_push_cookie(r, tmcf, ctx, &name, ctx->preview.data,
                                        ctx->preview.len,
                                        ctx->preview_expires - ngx_time())
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (ctx->eval == NULL || tmcf->engine == NULL) {
        return NGX_OK;
    }

    pname = tailor_engine_profile_cookie(tmcf->engine);
    if (pname.len == 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, NGX_HTTP_TAILOR_PROFILE_MAX);
    if (p == NULL) {
        return NGX_ERROR;
    }

    len = tailor_eval_profile_cookie(ctx->eval, (char *) p, NGX_HTTP_TAILOR_PROFILE_MAX);
    if (len == 0) {
        return NGX_OK;
    }

    name.len = pname.len;
    name.data = (u_char *) pname.data;

    return ngx_http_tailor_push_cookie(r, tmcf, ctx, &name, p, len, tmcf->cookie_max_age);
}


/* Without consent: the visitor, profile and preview cookies the browser sent expire now. */
static ngx_int_t
ngx_http_tailor_expire_cookies(ngx_http_request_t *r, ngx_http_tailor_main_conf_t *tmcf,
    ngx_http_tailor_ctx_t *ctx)
{
    ngx_str_t     names[3];
    ngx_uint_t    i, n;
    tailor_str_t  name, value;

    n = 0;
    names[n++] = tmcf->cookie_name;
    ngx_str_set(&names[n], TAILOR_PREVIEW_NAME);
    n++;

    if (tmcf->engine != NULL) {
        name = tailor_engine_profile_cookie(tmcf->engine);
        if (name.len) {
            names[n].len = name.len;
            names[n].data = (u_char *) name.data;
            n++;
        }
    }

    for (i = 0; i < n; i++) {
        name.len = names[i].len;
        name.data = (const char *) names[i].data;

        if (!tailor_find_cookie(&ctx->request, name, &value)) {
            continue;
        }

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "tailor: no consent, expiring cookie \"%V\"", &names[i]);

        if (ngx_http_tailor_push_cookie(r, tmcf, ctx, &names[i], (u_char *) "", 0, 0)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * Set-Cookie: NAME=VALUE; HttpOnly; SameSite=Lax; Path=P; Max-Age=N; Expires=DATE
 * [; Domain=D][; Secure]. Max-Age 0 expires the cookie (Expires then is the epoch).
 */
static ngx_int_t
ngx_http_tailor_push_cookie(ngx_http_request_t *r, ngx_http_tailor_main_conf_t *tmcf,
    ngx_http_tailor_ctx_t *ctx, ngx_str_t *name, u_char *value, size_t value_len,
    time_t max_age)
{
    size_t            len;
    u_char           *cookie, *p, *last;
    u_char            expires[sizeof("; Expires=Thu, 31-Dec-2037 23:55:55 GMT") + 16];
    ngx_str_t         key, header;

    /* the date is formatted first, so the buffer is sized from it, whatever the year */
    last = ngx_cpymem(expires, "; Expires=", sizeof("; Expires=") - 1);
    if (max_age > 0) {
        last = ngx_http_cookie_time(last, ngx_time() + max_age);
    } else {
        last = ngx_cpymem(last, "Thu, 01 Jan 1970 00:00:00 GMT",
                          sizeof("Thu, 01 Jan 1970 00:00:00 GMT") - 1);
    }

    len = name->len + 1 + value_len
          + sizeof("; HttpOnly; SameSite=Lax; Path=") - 1 + tmcf->cookie_path.len
          + sizeof("; Max-Age=") - 1 + NGX_TIME_T_LEN
          + (last - expires);

    if (tmcf->cookie_domain.len) {
        len += sizeof("; Domain=") - 1 + tmcf->cookie_domain.len;
    }

    if (ctx->secure) {
        len += sizeof("; Secure") - 1;
    }

    cookie = ngx_pnalloc(r->pool, len);
    if (cookie == NULL) {
        return NGX_ERROR;
    }

    p = ngx_copy(cookie, name->data, name->len);
    *p++ = '=';
    p = ngx_copy(p, value, value_len);
    p = ngx_cpymem(p, "; HttpOnly; SameSite=Lax; Path=",
                   sizeof("; HttpOnly; SameSite=Lax; Path=") - 1);
    p = ngx_copy(p, tmcf->cookie_path.data, tmcf->cookie_path.len);
    p = ngx_sprintf(p, "; Max-Age=%T", max_age);
    p = ngx_cpymem(p, expires, last - expires);

    if (tmcf->cookie_domain.len) {
        p = ngx_cpymem(p, "; Domain=", sizeof("; Domain=") - 1);
        p = ngx_copy(p, tmcf->cookie_domain.data, tmcf->cookie_domain.len);
    }

    if (ctx->secure) {
        p = ngx_cpymem(p, "; Secure", sizeof("; Secure") - 1);
    }

    ngx_str_set(&key, "Set-Cookie");
    header.len = p - cookie;
    header.data = cookie;

    if (ngx_http_tailor_add_header(r, &key, &header) == NULL) {
        return NGX_ERROR;
    }

    ctx->cookies_out = 1;

    return NGX_OK;
}


/* tailor_visitor_cookie NAME [max_age=TIME] [domain=D] [path=P] [allow_long=on] */
char *
ngx_http_tailor_visitor_cookie(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_tailor_main_conf_t *tmcf = conf;

    u_char      *c;
    time_t       max_age;
    ngx_str_t   *value, s;
    ngx_uint_t   i, allow_long;

    if (tmcf->cookie_name.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "empty cookie name");
        return NGX_CONF_ERROR;
    }

    /* RFC 6265 token characters only. */
    for (c = value[1].data; c < value[1].data + value[1].len; c++) {
        if (*c <= 0x20 || *c >= 0x7f || ngx_strchr("()<>@,;:\\\"/[]?={}", *c)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid cookie name \"%V\"", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    tmcf->cookie_name = value[1];
    max_age = NGX_CONF_UNSET;
    allow_long = 0;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "max_age=", 8) == 0) {
            s.len = value[i].len - 8;
            s.data = value[i].data + 8;
            max_age = ngx_parse_time(&s, 1);
            if (max_age == (time_t) NGX_ERROR || max_age <= 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid max_age \"%V\"", &s);
                return NGX_CONF_ERROR;
            }
            continue;
        }

        if (ngx_strncmp(value[i].data, "domain=", 7) == 0) {
            tmcf->cookie_domain.len = value[i].len - 7;
            tmcf->cookie_domain.data = value[i].data + 7;
            continue;
        }

        if (ngx_strncmp(value[i].data, "path=", 5) == 0) {
            tmcf->cookie_path.len = value[i].len - 5;
            tmcf->cookie_path.data = value[i].data + 5;
            if (tmcf->cookie_path.len == 0 || tmcf->cookie_path.data[0] != '/') {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid path \"%V\"", &tmcf->cookie_path);
                return NGX_CONF_ERROR;
            }
            continue;
        }

        if (ngx_strcmp(value[i].data, "allow_long=on") == 0) {
            allow_long = 1;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (max_age != NGX_CONF_UNSET) {
        if (max_age > NGX_HTTP_TAILOR_COOKIE_MAX_AGE && !allow_long) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "max_age longer than 13 months (395d) needs "
                               "\"allow_long=on\"");
            return NGX_CONF_ERROR;
        }

        tmcf->cookie_max_age = max_age;
    }

    return NGX_CONF_OK;
}


/* tailor_consent_values VALUE ...: the values of tailor_consent that mean yes */
char *
ngx_http_tailor_consent_values(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_tailor_loc_conf_t *tlcf = conf;

    ngx_str_t   *value, *s;
    ngx_uint_t   i;

    if (tlcf->consent_values != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    tlcf->consent_values = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                            sizeof(ngx_str_t));
    if (tlcf->consent_values == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "empty consent value");
            return NGX_CONF_ERROR;
        }

        s = ngx_array_push(tlcf->consent_values);
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }

        *s = value[i];
    }

    return NGX_CONF_OK;
}


char *
ngx_http_tailor_merge_consent_values(ngx_conf_t *cf, ngx_http_tailor_loc_conf_t *prev,
    ngx_http_tailor_loc_conf_t *conf)
{
    ngx_str_t   *s;
    ngx_uint_t   i, n;

    ngx_conf_merge_ptr_value(conf->consent_values, prev->consent_values, NULL);

    if (conf->consent_values != NULL) {
        return NGX_CONF_OK;
    }

    n = sizeof(ngx_http_tailor_default_consent_values) / sizeof(ngx_str_t);

    conf->consent_values = ngx_array_create(cf->pool, n, sizeof(ngx_str_t));
    if (conf->consent_values == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < n; i++) {
        s = ngx_array_push(conf->consent_values);
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }
        *s = ngx_http_tailor_default_consent_values[i];
    }

    /* the parent gets the same array, so each location does not build its own */
    if (prev->consent_values == NGX_CONF_UNSET_PTR) {
        prev->consent_values = conf->consent_values;
    }

    return NGX_CONF_OK;
}
