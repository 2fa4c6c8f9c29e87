/*
 * Variant delivery and the response's headers.
 *
 * Static sites: with `tailor_static_variants on`, a request whose chosen variant is not the
 * page's default is internally redirected to /_variants/VARIANT/URI when that file exists
 * under the location's root (URI ending in "/" looks for index.html); otherwise the default
 * page at its normal path is served — never a 404 because a variant file is missing, never
 * a redirect the visitor sees. The /_variants/ tree can be made `internal`.
 *
 * Shared caches: a response chosen for a segment carries Cache-Control "private", so a CDN or
 * proxy in front of Tailor never stores it and replays it to another segment.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_tailor_module.h"


#define NGX_HTTP_TAILOR_VARIANTS_DIR  "/_variants/"


static ngx_uint_t ngx_http_tailor_safe_name(ngx_str_t *name);
static ngx_table_elt_t *ngx_http_tailor_next_cache_control(ngx_http_request_t *r,
    ngx_table_elt_t *cc, ngx_uint_t *i);
static ngx_int_t ngx_http_tailor_add_cache_control(ngx_http_request_t *r);


/* Variant names become path components: letters, digits, '-', '_' and '.', no leading '.'. */
static ngx_uint_t
ngx_http_tailor_safe_name(ngx_str_t *name)
{
    u_char  *p, c;

    if (name->len == 0 || name->len > 128 || name->data[0] == '.') {
        return 0;
    }

    for (p = name->data; p < name->data + name->len; p++) {
        c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '-' || c == '_' || c == '.'))
        {
            return 0;
        }
    }

    return 1;
}


ngx_int_t
ngx_http_tailor_static_variant(ngx_http_request_t *r, ngx_http_tailor_ctx_t *ctx)
{
    u_char                    *p;
    size_t                     root, len;
    ngx_str_t                  uri, path, saved, args;
    ngx_open_file_info_t       of;
    ngx_http_core_loc_conf_t  *clcf;

    ctx->rewritten = 1;

    if (ctx->is_default || !ngx_http_tailor_safe_name(&ctx->variant)
        || r->uri.len == 0 || r->uri.data[0] != '/')
    {
        return NGX_DECLINED;
    }

    len = sizeof(NGX_HTTP_TAILOR_VARIANTS_DIR) - 1 + ctx->variant.len + r->uri.len;
    if (r->uri.data[r->uri.len - 1] == '/') {
        len += sizeof("index.html") - 1;
    }

    uri.data = ngx_pnalloc(r->pool, len);
    if (uri.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(uri.data, NGX_HTTP_TAILOR_VARIANTS_DIR,
                   sizeof(NGX_HTTP_TAILOR_VARIANTS_DIR) - 1);
    p = ngx_cpymem(p, ctx->variant.data, ctx->variant.len);
    p = ngx_cpymem(p, r->uri.data, r->uri.len);
    if (r->uri.data[r->uri.len - 1] == '/') {
        p = ngx_cpymem(p, "index.html", sizeof("index.html") - 1);
    }
    uri.len = p - uri.data;

    /* map the candidate URI to a file under this location's root */
    saved = r->uri;
    r->uri = uri;
    p = ngx_http_map_uri_to_path(r, &path, &root, 0);
    r->uri = saved;

    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    path.len = p - path.data;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    ngx_memzero(&of, sizeof(ngx_open_file_info_t));

    of.read_ahead = clcf->read_ahead;
    of.directio = clcf->directio;
    of.valid = clcf->open_file_cache_valid;
    of.min_uses = clcf->open_file_cache_min_uses;
    of.test_only = 1;
    of.errors = clcf->open_file_cache_errors;
    of.events = clcf->open_file_cache_events;

    if (ngx_http_set_disable_symlinks(r, clcf, &path, &of) != NGX_OK) {
        return NGX_DECLINED;
    }

    /* nginx's open file cache: repeated checks cost no syscall while it holds the entry */
    if (ngx_open_cached_file(clcf->open_file_cache, &path, &of, r->pool) != NGX_OK
        || !of.is_file)
    {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "tailor: no variant file \"%V\", serving the default", &path);
        return NGX_DECLINED;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "tailor: variant file \"%V\"", &uri);

    args = r->args;

    (void) ngx_http_internal_redirect(r, &uri, &args);
    ngx_http_finalize_request(r, NGX_DONE);

    return NGX_DONE;
}


/* Adds a response header; nginx 1.23 links headers of the same name through `next`. */
ngx_table_elt_t *
ngx_http_tailor_add_header(ngx_http_request_t *r, ngx_str_t *key, ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NULL;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    h->key = *key;
    h->value = *value;

    return h;
}


/*
 * The response's Cache-Control headers, one after the other: nginx 1.23 links them through
 * ngx_table_elt_t.next, older versions keep an array of pointers.
 */
static ngx_table_elt_t *
ngx_http_tailor_next_cache_control(ngx_http_request_t *r, ngx_table_elt_t *cc,
    ngx_uint_t *i)
{
#if (nginx_version >= 1023000)
    return cc ? cc->next : r->headers_out.cache_control;
#else
    ngx_table_elt_t  **ccp;

    if (r->headers_out.cache_control.elts == NULL
        || *i >= r->headers_out.cache_control.nelts)
    {
        return NULL;
    }

    ccp = r->headers_out.cache_control.elts;

    return ccp[(*i)++];
#endif
}


static ngx_int_t
ngx_http_tailor_add_cache_control(ngx_http_request_t *r)
{
    ngx_str_t          key, value;
    ngx_table_elt_t   *cc;
#if (nginx_version < 1023000)
    ngx_table_elt_t  **ccp;

    if (r->headers_out.cache_control.elts == NULL
        && ngx_array_init(&r->headers_out.cache_control, r->pool, 1,
                          sizeof(ngx_table_elt_t *))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    ccp = ngx_array_push(&r->headers_out.cache_control);
    if (ccp == NULL) {
        return NGX_ERROR;
    }
#endif

    ngx_str_set(&key, "Cache-Control");
    ngx_str_set(&value, "private");

    cc = ngx_http_tailor_add_header(r, &key, &value);
    if (cc == NULL) {
        return NGX_ERROR;
    }

#if (nginx_version >= 1023000)
    r->headers_out.cache_control = cc;
#else
    *ccp = cc;
#endif

    return NGX_OK;
}


/*
 * Makes the response private: keeps the origin's directives except "public" and "s-maxage"
 * (meant for shared caches), adds "private". "no-store" and "private" already suffice.
 */
ngx_int_t
ngx_http_tailor_private(ngx_http_request_t *r)
{
    u_char           *p, *start, *end, *item, *item_end;
    size_t            len;
    ngx_uint_t        i, live, added;
    ngx_table_elt_t  *cc;

    live = 0;

    for (i = 0, cc = NULL; (cc = ngx_http_tailor_next_cache_control(r, cc, &i)); /* void */) {
        if (cc->hash == 0) {
            continue;
        }

        live++;

        if (ngx_strlcasestrn(cc->value.data, cc->value.data + cc->value.len,
                             (u_char *) "no-store", 8 - 1) != NULL
            || ngx_strlcasestrn(cc->value.data, cc->value.data + cc->value.len,
                                (u_char *) "private", 7 - 1) != NULL)
        {
            return NGX_OK;
        }
    }

    if (live == 0) {
        return ngx_http_tailor_add_cache_control(r);
    }

    /* "private" goes into the first live header; every header drops shared-cache directives */
    added = 0;

    for (i = 0, cc = NULL; (cc = ngx_http_tailor_next_cache_control(r, cc, &i)); /* void */) {
        if (cc->hash == 0) {
            continue;
        }

        /*
         * The rewritten value holds "private" and, for every kept directive, its bytes and a
         * ", " before it: at most one directive per comma plus one.
         */
        len = sizeof("private") - 1 + cc->value.len + 2;
        for (item = cc->value.data; item < cc->value.data + cc->value.len; item++) {
            if (*item == ',') {
                len += 2;
            }
        }

        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        start = p;
        if (!added) {
            p = ngx_cpymem(p, "private", sizeof("private") - 1);
            added = 1;
        }

        end = cc->value.data + cc->value.len;

        for (item_end = cc->value.data; item_end < end; /* void */) {
            item = item_end;

            while (item < end && (*item == ' ' || *item == '\t' || *item == ',')) {
                item++;
            }

            item_end = item;
            while (item_end < end && *item_end != ',') {
                item_end++;
            }

            if (item == item_end) {
                continue;
            }

            if ((item_end - item >= 6 && ngx_strncasecmp(item, (u_char *) "public", 6) == 0)
                || (item_end - item >= 8
                    && ngx_strncasecmp(item, (u_char *) "s-maxage", 8) == 0))
            {
                continue;
            }

            if (p != start) {
                *p++ = ',';
                *p++ = ' ';
            }

            p = ngx_cpymem(p, item, item_end - item);
        }

        if (p == start) {
            /* nothing left of a header that only held shared-cache directives */
            cc->hash = 0;
            continue;
        }

        cc->value.data = start;
        cc->value.len = p - start;
    }

    return NGX_OK;
}
