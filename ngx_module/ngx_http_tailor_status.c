/*
 * Live counters in shared memory and the `tailor_status` handler (JSON, or Prometheus text
 * with ?format=prometheus).
 *
 * The zone holds a fixed table of named counters. Every name a request can touch — each
 * (page, variant) and (experiment, variant) of the rules, each error kind — is resolved to a
 * slot once, when the zone is initialized for a configuration; requests only do an atomic
 * add on a known slot (no lock, no lookup). The zone is reused across reloads, so counters
 * survive them; names of a previous configuration keep their totals until the table is full:
 * then a new name takes the slot of a name no configuration has used for two reloads (older
 * workers may still count into the previous configuration's slots while they finish).
 *
 * Sizing (tailor_status_zone, default 1m): 1 MB holds about 7,700 counters (136 bytes each):
 * the variant and exposure pairs of the rules plus the fixed ones, over every configuration
 * still kept. A name that gets no
 * slot (the table full of current names, or a label over 121 bytes) is logged once per load,
 * and each request it would have counted counts tailor_errors_total{kind="status_full"}.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_tailor_module.h"


#define NGX_HTTP_TAILOR_KEY_LEN       121
/* a name that got no slot (table full, name too long): not counted */
#define NGX_HTTP_TAILOR_NO_SLOT       ((ngx_uint_t) -1)
/* the longest line one counter can print (escaped labels and fixed text) */
#define NGX_HTTP_TAILOR_LINE_MAX      (6 * NGX_HTTP_TAILOR_KEY_LEN + 128)

enum {
    NGX_HTTP_TAILOR_C_FREE = 0,
    NGX_HTTP_TAILOR_C_REQUESTS,
    NGX_HTTP_TAILOR_C_RELOADS,
    NGX_HTTP_TAILOR_C_VARIANT,
    NGX_HTTP_TAILOR_C_EXPOSURE,
    NGX_HTTP_TAILOR_C_ERROR
};


typedef struct {
    ngx_atomic_t               value;
    uint32_t                   generation;  /* the last configuration that used the name */
    u_char                     kind;
    u_char                     len1;     /* key = label1 '\0' label2 */
    u_char                     len2;
    u_char                     key[NGX_HTTP_TAILOR_KEY_LEN];
} ngx_http_tailor_counter_t;


struct ngx_http_tailor_counters_s {
    ngx_uint_t                 nslots;
    ngx_uint_t                 used;
    uint32_t                   generation;  /* one more with every configuration loaded */
    ngx_http_tailor_counter_t  slots[1];
};


static ngx_int_t ngx_http_tailor_init_zone(ngx_shm_zone_t *shm_zone, void *data);
static ngx_uint_t ngx_http_tailor_slot(ngx_http_tailor_counters_t *c,
    ngx_uint_t kind, tailor_str_t l1, tailor_str_t l2, ngx_uint_t *missed,
    tailor_str_t *missed_l1, tailor_str_t *missed_l2);
static ngx_uint_t ngx_http_tailor_add(ngx_http_tailor_counters_t *c, ngx_uint_t slot);
static ngx_int_t ngx_http_tailor_status_handler(ngx_http_request_t *r);
static u_char *ngx_http_tailor_escape(u_char *p, u_char *s, size_t len,
    ngx_uint_t prometheus);


ngx_int_t
ngx_http_tailor_status_init_conf(ngx_conf_t *cf, ngx_http_tailor_main_conf_t *tmcf)
{
    ngx_str_t        name = ngx_string("tailor_counters");
    ngx_shm_zone_t  *zone;

    zone = ngx_shared_memory_add(cf, &name, tmcf->status_zone_size,
                                 &ngx_http_tailor_module);
    if (zone == NULL) {
        return NGX_ERROR;
    }

    zone->init = ngx_http_tailor_init_zone;
    zone->data = tmcf;
    tmcf->counters_zone = zone;

    if (tmcf->engine) {
        tmcf->nvariant_slots = tailor_engine_variant_labels(tmcf->engine);
        tmcf->nexposure_slots = tailor_engine_exposure_labels(tmcf->engine);
    }

    if (tmcf->nvariant_slots) {
        tmcf->variant_slots = ngx_palloc(cf->pool,
                                         tmcf->nvariant_slots * sizeof(ngx_uint_t));
        if (tmcf->variant_slots == NULL) {
            return NGX_ERROR;
        }
    }

    if (tmcf->nexposure_slots) {
        tmcf->exposure_slots = ngx_palloc(cf->pool,
                                          tmcf->nexposure_slots * sizeof(ngx_uint_t));
        if (tmcf->exposure_slots == NULL) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_tailor_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_tailor_main_conf_t *tmcf = shm_zone->data;

    size_t                       n, i;
    ngx_uint_t                   missed;
    tailor_str_t                 l1, l2, none, missed_l1, missed_l2;
    ngx_slab_pool_t             *shpool;
    ngx_http_tailor_counters_t  *c;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists || data != NULL) {
        c = shpool->data;

    } else {
        n = (shm_zone->shm.size - 4 * ngx_pagesize)
            / sizeof(ngx_http_tailor_counter_t);

        c = ngx_slab_alloc(shpool, sizeof(ngx_http_tailor_counters_t)
                                   + (n - 1) * sizeof(ngx_http_tailor_counter_t));
        if (c == NULL) {
            return NGX_ERROR;
        }

        c->nslots = n;
        c->used = 0;
        c->generation = 0;
        shpool->data = c;
    }

    tmcf->counters = c;
    c->generation++;

    none.len = 0;
    none.data = "";
    missed = 0;

#define ngx_http_tailor_slot_of(kind, l1, l2)                                  \
    ngx_http_tailor_slot(c, kind, l1, l2, &missed, &missed_l1, &missed_l2)

    tmcf->requests_slot = ngx_http_tailor_slot_of(NGX_HTTP_TAILOR_C_REQUESTS, none, none);
    tmcf->reloads_slot = ngx_http_tailor_slot_of(NGX_HTTP_TAILOR_C_RELOADS, none, none);

    l1.len = sizeof("status_full") - 1;
    l1.data = "status_full";
    tmcf->status_full_slot = ngx_http_tailor_slot_of(NGX_HTTP_TAILOR_C_ERROR, l1, none);

    if (data != NULL) {
        /* init_zone with the previous cycle's data: this configuration is a reload */
        (void) ngx_http_tailor_add(c, tmcf->reloads_slot);
    }

    for (i = 0; i < TAILOR_ERR_MAX; i++) {
        l1.data = tailor_error_kind_name((int) i);
        l1.len = ngx_strlen(l1.data);
        tmcf->error_slots[i] = ngx_http_tailor_slot_of(NGX_HTTP_TAILOR_C_ERROR, l1, none);
    }

    if (tmcf->engine == NULL) {
        goto done;
    }

    /* the slot arrays were sized at configuration time (cf->pool of this cycle) */
    for (i = 0; i < tmcf->nvariant_slots; i++) {
        tailor_engine_variant_label(tmcf->engine, i, &l1, &l2);
        tmcf->variant_slots[i] = ngx_http_tailor_slot_of(NGX_HTTP_TAILOR_C_VARIANT, l1, l2);
    }

    for (i = 0; i < tmcf->nexposure_slots; i++) {
        tailor_engine_exposure_label(tmcf->engine, i, &l1, &l2);
        tmcf->exposure_slots[i] = ngx_http_tailor_slot_of(NGX_HTTP_TAILOR_C_EXPOSURE, l1, l2);
    }

done:

#undef ngx_http_tailor_slot_of

    if (missed) {
        ngx_log_error(NGX_LOG_WARN, shm_zone->shm.log, 0,
                      "tailor: %ui counter(s) not kept (the status zone holds %ui, or a "
                      "label is over %d bytes), e.g. \"%*s\" \"%*s\"; their requests "
                      "count as tailor_errors_total{kind=\"status_full\"}",
                      missed, c->nslots, NGX_HTTP_TAILOR_KEY_LEN - 1,
                      missed_l1.len, missed_l1.data, missed_l2.len, missed_l2.data);
    }

    return NGX_OK;
}


/*
 * Finds or creates the slot of a name and marks it used by this configuration. When no slot
 * is free, a name no configuration has used for two loads gives its slot up. Returns
 * NGX_HTTP_TAILOR_NO_SLOT (and counts it in *missed) when the table is full of live names or
 * the name is too long. Runs at configuration time only (in the master, one at a time).
 */
static ngx_uint_t
ngx_http_tailor_slot(ngx_http_tailor_counters_t *c, ngx_uint_t kind,
    tailor_str_t l1, tailor_str_t l2, ngx_uint_t *missed, tailor_str_t *missed_l1,
    tailor_str_t *missed_l2)
{
    uint32_t                    hash;
    ngx_uint_t                  i, n, stale;
    ngx_http_tailor_counter_t  *s;

    if (l1.len + 1 + l2.len > NGX_HTTP_TAILOR_KEY_LEN || l1.len > 255 || l2.len > 255) {
        goto missed;
    }

    hash = ngx_crc32_short((u_char *) l1.data, l1.len) ^ (uint32_t) (kind * 0x9e3779b1)
           ^ ngx_crc32_short((u_char *) l2.data, l2.len) * 31;

    stale = NGX_HTTP_TAILOR_NO_SLOT;

    for (n = 0; n < c->nslots; n++) {
        i = (hash + n) % c->nslots;
        s = &c->slots[i];

        if (s->kind == NGX_HTTP_TAILOR_C_FREE) {
            c->used++;
            goto take;
        }

        if (s->kind == kind && s->len1 == l1.len && s->len2 == l2.len
            && ngx_memcmp(s->key, l1.data, l1.len) == 0
            && ngx_memcmp(s->key + l1.len + 1, l2.data, l2.len) == 0)
        {
            s->generation = c->generation;
            return i;
        }

        if (stale == NGX_HTTP_TAILOR_NO_SLOT
            && c->generation - s->generation >= 2
            && s->kind != NGX_HTTP_TAILOR_C_REQUESTS
            && s->kind != NGX_HTTP_TAILOR_C_RELOADS
            && s->kind != NGX_HTTP_TAILOR_C_ERROR)
        {
            stale = i;
        }
    }

    if (stale == NGX_HTTP_TAILOR_NO_SLOT) {
        goto missed;
    }

    /*
     * Taken over in place, not freed: the probe sequences through this slot stay whole. The
     * old name's total goes with it.
     */
    i = stale;
    s = &c->slots[i];
    s->kind = NGX_HTTP_TAILOR_C_FREE;
    ngx_memory_barrier();

take:

    ngx_memcpy(s->key, l1.data, l1.len);
    s->key[l1.len] = '\0';
    ngx_memcpy(s->key + l1.len + 1, l2.data, l2.len);
    s->len1 = (u_char) l1.len;
    s->len2 = (u_char) l2.len;
    s->value = 0;
    s->generation = c->generation;
    ngx_memory_barrier();
    s->kind = (u_char) kind;

    return i;

missed:

    if ((*missed)++ == 0) {
        *missed_l1 = l1;
        *missed_l2 = l2;
    }

    return NGX_HTTP_TAILOR_NO_SLOT;
}


/* Log phase: one count per main request served with Tailor on. */
ngx_int_t
ngx_http_tailor_count(ngx_http_request_t *r, ngx_http_tailor_main_conf_t *tmcf,
    ngx_http_tailor_ctx_t *ctx)
{
    size_t                       ids[32], n, i;
    uint32_t                     errors;
    ngx_uint_t                   full;
    ngx_http_tailor_counters_t  *c;

    c = tmcf->counters;
    if (c == NULL || ctx->counted) {
        return NGX_OK;
    }

    ctx->counted = 1;

    errors = ctx->errors;

    if (ctx->eval != NULL) {
        errors |= tailor_eval_errors(ctx->eval);
    }

    for (i = 0; i < TAILOR_ERR_MAX; i++) {
        if (errors & (1u << i)) {
            (void) ngx_http_tailor_add(c, tmcf->error_slots[i]);
        }
    }

    if (ctx->no_exposure) {
        /* a preview: a reviewer's request is neither traffic nor exposure */
        return NGX_OK;
    }

    (void) ngx_http_tailor_add(c, tmcf->requests_slot);

    full = 0;

    if (ctx->label < tmcf->nvariant_slots
        && !ngx_http_tailor_add(c, tmcf->variant_slots[ctx->label]))
    {
        full = 1;
    }

    n = ctx->eval ? tailor_eval_exposures(ctx->eval, ids, 32) : 0;

    for (i = 0; i < n; i++) {
        if (ids[i] < tmcf->nexposure_slots
            && !ngx_http_tailor_add(c, tmcf->exposure_slots[ids[i]]))
        {
            full = 1;
        }
    }

    if (full) {
        (void) ngx_http_tailor_add(c, tmcf->status_full_slot);
    }

    return NGX_OK;
}


/* Counts a failure outside any request (a rejected reload). */
void
ngx_http_tailor_count_error(ngx_http_tailor_main_conf_t *tmcf, ngx_uint_t kind)
{
    if (tmcf->counters && kind < TAILOR_ERR_MAX) {
        (void) ngx_http_tailor_add(tmcf->counters, tmcf->error_slots[kind]);
    }
}


/* One more on a slot; 0 for a name that got none (not counted). */
static ngx_uint_t
ngx_http_tailor_add(ngx_http_tailor_counters_t *c, ngx_uint_t slot)
{
    if (slot == NGX_HTTP_TAILOR_NO_SLOT) {
        return 0;
    }

    (void) ngx_atomic_fetch_add(&c->slots[slot].value, 1);

    return 1;
}


char *
ngx_http_tailor_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_tailor_status_handler;

    return NGX_CONF_OK;
}


static u_char *
ngx_http_tailor_escape(u_char *p, u_char *s, size_t len, ngx_uint_t prometheus)
{
    u_char  ch;

    while (len--) {
        ch = *s++;
        if (ch == '"' || ch == '\\') {
            *p++ = '\\';
            *p++ = ch;
        } else if (ch == '\n') {
            *p++ = '\\';
            *p++ = 'n';
        } else if (ch < 0x20) {
            p = ngx_sprintf(p, prometheus ? "?" : "\\u%04xd", (ngx_uint_t) ch);
        } else {
            *p++ = ch;
        }
    }

    return p;
}


static ngx_int_t
ngx_http_tailor_status_handler(ngx_http_request_t *r)
{
    size_t                        size;
    u_char                       *p, *l1, *l2;
    ngx_int_t                     rc;
    ngx_buf_t                    *b;
    ngx_str_t                     fmt;
    ngx_uint_t                    i, n, prometheus, kind, first, end_of_room;
    ngx_atomic_uint_t             total[3];
    ngx_chain_t                   out;
    ngx_http_tailor_counter_t    *s;
    ngx_http_tailor_counters_t   *c;
    ngx_http_tailor_main_conf_t  *tmcf;

    static const char  *names[] = { "", "tailor_requests_total", "tailor_reloads_total",
                                     "tailor_variant_total", "tailor_exposures_total",
                                     "tailor_errors_total" };
    static const char  *json_keys[] = { "", "requests_total", "reloads_total", "variants",
                                        "exposures", "errors" };
    static const char  *help[] = { "",
        "Requests served with Tailor on.",
        "Configuration reloads since the counters zone was created.",
        "Responses per page and chosen variant.",
        "Enrolled experiment units exposed, per experiment and variant.",
        "Failures a request survived (default served), per kind." };

    if (r->method != NGX_HTTP_GET && r->method != NGX_HTTP_HEAD) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    tmcf = ngx_http_get_module_main_conf(r, ngx_http_tailor_module);
    c = tmcf->counters;
    if (c == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    prometheus = 0;
    if (ngx_http_arg(r, (u_char *) "format", 6, &fmt) == NGX_OK
        && fmt.len == 10 && ngx_strncmp(fmt.data, "prometheus", 10) == 0)
    {
        prometheus = 1;
    }

    n = 0;
    for (i = 0; i < c->nslots; i++) {
        n += c->slots[i].kind != NGX_HTTP_TAILOR_C_FREE;
    }

    /* escaping can make a key six times longer; a reload may add names meanwhile: margin */
    size = 2048 + (n + 64) * NGX_HTTP_TAILOR_LINE_MAX;
    end_of_room = 0;

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = b->last;
    total[0] = total[1] = total[2] = 0;

    for (i = 0; i < c->nslots; i++) {
        s = &c->slots[i];
        if (s->kind == NGX_HTTP_TAILOR_C_REQUESTS) {
            total[0] = s->value;
        } else if (s->kind == NGX_HTTP_TAILOR_C_RELOADS) {
            total[1] = s->value;
        }
    }

    if (prometheus) {
        p = ngx_sprintf(p, "# HELP %s %s\n# TYPE %s counter\n%s %uA\n",
                        names[1], help[1], names[1], names[1], total[0]);
        p = ngx_sprintf(p, "# HELP %s %s\n# TYPE %s counter\n%s %uA\n",
                        names[2], help[2], names[2], names[2], total[1]);
    } else {
        p = ngx_sprintf(p, "{\"%s\":%uA,\"%s\":%uA", json_keys[1], total[0],
                        json_keys[2], total[1]);
    }

    for (kind = NGX_HTTP_TAILOR_C_VARIANT; kind <= NGX_HTTP_TAILOR_C_ERROR; kind++) {

        if (prometheus) {
            p = ngx_sprintf(p, "# HELP %s %s\n# TYPE %s counter\n",
                            names[kind], help[kind], names[kind]);
        } else {
            p = ngx_sprintf(p, kind == NGX_HTTP_TAILOR_C_ERROR ? ",\"%s\":{" : ",\"%s\":[",
                            json_keys[kind]);
        }

        first = 1;

        for (i = 0; i < c->nslots; i++) {
            s = &c->slots[i];
            if (s->kind != kind) {
                continue;
            }

            if ((size_t) (b->end - p) < NGX_HTTP_TAILOR_LINE_MAX + 64) {
                end_of_room = 1;
                break;
            }

            l1 = s->key;
            l2 = s->key + s->len1 + 1;

            if (prometheus) {
                p = ngx_sprintf(p, "%s{", names[kind]);
                if (kind == NGX_HTTP_TAILOR_C_VARIANT) {
                    p = ngx_cpymem(p, "page=\"", 6);
                } else if (kind == NGX_HTTP_TAILOR_C_EXPOSURE) {
                    p = ngx_cpymem(p, "experiment=\"", 12);
                } else {
                    p = ngx_cpymem(p, "kind=\"", 6);
                }
                p = ngx_http_tailor_escape(p, l1, s->len1, 1);
                if (kind != NGX_HTTP_TAILOR_C_ERROR) {
                    p = ngx_cpymem(p, "\",variant=\"", 11);
                    p = ngx_http_tailor_escape(p, l2, s->len2, 1);
                }
                p = ngx_sprintf(p, "\"} %uA\n", (ngx_atomic_uint_t) s->value);
                continue;
            }

            if (!first) {
                *p++ = ',';
            }
            first = 0;

            if (kind == NGX_HTTP_TAILOR_C_ERROR) {
                *p++ = '"';
                p = ngx_http_tailor_escape(p, l1, s->len1, 0);
                p = ngx_sprintf(p, "\":%uA", (ngx_atomic_uint_t) s->value);
                continue;
            }

            p = ngx_cpymem(p, kind == NGX_HTTP_TAILOR_C_VARIANT ? "{\"page\":\""
                                                               : "{\"experiment\":\"",
                           kind == NGX_HTTP_TAILOR_C_VARIANT ? 9 : 15);
            p = ngx_http_tailor_escape(p, l1, s->len1, 0);
            p = ngx_cpymem(p, "\",\"variant\":\"", 13);
            p = ngx_http_tailor_escape(p, l2, s->len2, 0);
            p = ngx_sprintf(p, "\",\"count\":%uA}", (ngx_atomic_uint_t) s->value);
        }

        if (!prometheus) {
            *p++ = kind == NGX_HTTP_TAILOR_C_ERROR ? '}' : ']';
        }
    }

    if (!prometheus) {
        *p++ = '}';
        *p++ = '\n';
    }

    if (end_of_room) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "tailor: status output truncated");
    }

    b->last = p;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;

    if (prometheus) {
        ngx_str_set(&r->headers_out.content_type, "text/plain; version=0.0.4");
    } else {
        ngx_str_set(&r->headers_out.content_type, "application/json");
    }
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
