/*
 * Tailor: the module's definition, its directives and its configuration. Everything is
 * compiled by the core library when the configuration loads (so `nginx -t` reports every
 * error); requests only evaluate. The file list and which file calls which are in
 * ngx_http_tailor_module.h.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_tailor_module.h"


static ngx_int_t ngx_http_tailor_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_tailor_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_tailor_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_tailor_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_tailor_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_tailor_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_tailor_zone_size(ngx_conf_t *cf, void *post, void *data);


static ngx_conf_num_bounds_t  ngx_http_tailor_msec_bounds = {
    ngx_conf_check_num_bounds, 0, 86400000
};


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

    /* spare slots: the data sources' directives (tailor_geoip2, ...), installed by
     * preconfiguration from the core's list (ngx_http_tailor_add_source_commands) */
    ngx_null_command, ngx_null_command, ngx_null_command, ngx_null_command,
    ngx_null_command, ngx_null_command, ngx_null_command, ngx_null_command,

      ngx_null_command
};

#define NGX_HTTP_TAILOR_SOURCE_SLOTS  8


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


static ngx_int_t
ngx_http_tailor_preconfiguration(ngx_conf_t *cf)
{
    ngx_uint_t  n;

    /* before the http{} block is read: the data sources' directives go into the spare
     * slots at the end of the table (the last entry stays the terminator) */
    n = sizeof(ngx_http_tailor_commands) / sizeof(ngx_command_t) - 1
        - NGX_HTTP_TAILOR_SOURCE_SLOTS;

    if (ngx_http_tailor_add_source_commands(cf, &ngx_http_tailor_commands[n],
                                            NGX_HTTP_TAILOR_SOURCE_SLOTS)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_tailor_add_variables(cf);
}


static ngx_int_t
ngx_http_tailor_postconfiguration(ngx_conf_t *cf)
{
    /* the phase handlers and the header filter (filter.c) */
    if (ngx_http_tailor_filter_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

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
     *     tmcf->sources = NULL;
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

    if (ngx_http_tailor_create_engine(cf, tmcf) != NGX_CONF_OK) {
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
