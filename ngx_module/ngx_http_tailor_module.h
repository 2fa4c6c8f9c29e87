/*
 * Tailor's nginx glue: shared types of the module's files. The work is done by the core
 * library behind api/tailor.h; these files only translate between nginx and that API.
 *
 * The files, and which calls which (an arrow: calls or names a function of; no file calls
 * back into one that calls it):
 *
 *   ngx_http_tailor_module.c     module definition, directives table, create/merge/init
 *                                conf, pre/postconfiguration
 *     -> engine, filter, variables, visitor, status
 *   ngx_http_tailor_filter.c     the request's phases: rewrite handler, header filter, log
 *     -> ctx, visitor, delivery, status, log
 *   ngx_http_tailor_variables.c  $tailor_* variables
 *     -> ctx
 *   ngx_http_tailor_ctx.c        the per-request context: find, create, evaluate lazily,
 *                                clean up; the evaluation buffer pool
 *     -> visitor, log
 *   ngx_http_tailor_visitor.c    consent, the visitor and profile cookies, their directives
 *     -> delivery, log
 *   ngx_http_tailor_engine.c     the engine's directives, building the engine, the
 *                                worker's init and reload timer
 *     -> status, log
 *   ngx_http_tailor_delivery.c   variant files, Cache-Control, response headers
 *   ngx_http_tailor_status.c     counters in shared memory, the tailor_status page
 *   ngx_http_tailor_log.c        the error log: rate-limited lines, the core's log callbacks
 */
#ifndef NGX_HTTP_TAILOR_MODULE_H
#define NGX_HTTP_TAILOR_MODULE_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "tailor.h"


typedef struct ngx_http_tailor_counters_s  ngx_http_tailor_counters_t;


/*
 * 13 months: the longest visitor-cookie lifetime European regulators accept by default, and
 * the default; a longer max_age needs an explicit allow_long=on.
 */
#define NGX_HTTP_TAILOR_COOKIE_MAX_AGE  (395 * 86400)


typedef struct {
    ngx_str_t                  rules_file;
    ngx_array_t               *sources;         /* tailor_source_line_t */
    ngx_str_t                  secret_file;
    ngx_str_t                  referrers_file;
    ngx_array_t               *languages;       /* char * */
    ngx_array_t               *own_hosts;       /* char * */
    ngx_array_t               *lifecycle_registered;  /* char *: "cookie:N" / "header:N" */
    ngx_array_t               *lifecycle_orders;      /* char * */
    ngx_str_t                  profile_cookie;
    ngx_msec_t                 visit_timeout;
    ngx_msec_t                 tables_reload;
    ngx_flag_t                 bots_default;

    tailor_engine_t           *engine;

    ngx_shm_zone_t            *counters_zone;
    size_t                     status_zone_size;
    ngx_http_tailor_counters_t  *counters;
    ngx_uint_t                 requests_slot;
    ngx_uint_t                 reloads_slot;
    ngx_uint_t                 error_slots[TAILOR_ERR_MAX];
    ngx_uint_t                 status_full_slot;
    ngx_uint_t                *variant_slots;
    ngx_uint_t                 nvariant_slots;
    ngx_uint_t                *exposure_slots;
    ngx_uint_t                 nexposure_slots;

    ngx_str_t                  cookie_name;
    time_t                     cookie_max_age;
    ngx_str_t                  cookie_domain;
    ngx_str_t                  cookie_path;
    ngx_uint_t                 cookie_secure;   /* NGX_HTTP_TAILOR_SECURE_* */
    ngx_int_t                  realip_index;    /* ctx_index of the realip module, or -1 */
} ngx_http_tailor_main_conf_t;


#define NGX_HTTP_TAILOR_SECURE_OFF   0
#define NGX_HTTP_TAILOR_SECURE_ON    1
#define NGX_HTTP_TAILOR_SECURE_AUTO  2


typedef struct {
    ngx_flag_t                 enable;
    ngx_http_complex_value_t  *consent;
    ngx_array_t               *consent_values;  /* ngx_str_t: the values that mean yes */
    ngx_flag_t                 gpc;
    ngx_flag_t                 debug_header;
    ngx_flag_t                 static_variants;
    ngx_flag_t                 private_cache;
} ngx_http_tailor_loc_conf_t;


/* Per-request state, kept on the main request and across internal redirects. */
typedef struct {
    tailor_eval_t             *eval;
    void                      *eval_buf;   /* from the worker's free list, or NULL */
    tailor_request_t           request;
    u_char                     visitor_buf[TAILOR_VISITOR_ID_LEN];
    u_char                     hash_buf[TAILOR_VISITOR_ID_LEN];
    ngx_str_t                  visitor;
    ngx_str_t                  variant;
    ngx_str_t                  page;
    ngx_str_t                  segments;
    ngx_str_t                  goals;
    ngx_str_t                  experiments;
    ngx_str_t                  preview;    /* a valid token from the query: set its cookie */
    time_t                     preview_expires;
    size_t                     label;
    uint32_t                   errors;     /* TAILOR_ERR_* bits seen by the glue */

    unsigned                   consent:1;
    unsigned                   visitor_new:1;
    unsigned                   is_default:1;
    unsigned                   decided:1;
    unsigned                   segments_done:1;
    unsigned                   goals_done:1;
    unsigned                   experiments_done:1;
    unsigned                   cookie_sent:1;
    unsigned                   rewritten:1;
    unsigned                   counted:1;
    unsigned                   no_exposure:1;
    unsigned                   secure:1;        /* cookies get Secure */
    unsigned                   cookies_out:1;   /* the response sets Tailor cookies */
} ngx_http_tailor_ctx_t;


extern ngx_module_t  ngx_http_tailor_module;


/* ngx_http_tailor_engine.c */
char *ngx_http_tailor_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_tailor_add_source_commands(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_uint_t n);
char *ngx_http_tailor_source(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_tailor_strings(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_tailor_lifecycle(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_tailor_create_engine(ngx_conf_t *cf, ngx_http_tailor_main_conf_t *tmcf);
ngx_int_t ngx_http_tailor_init_module(ngx_cycle_t *cycle);
ngx_int_t ngx_http_tailor_init_process(ngx_cycle_t *cycle);

/* ngx_http_tailor_filter.c */
ngx_int_t ngx_http_tailor_filter_init(ngx_conf_t *cf);

/* ngx_http_tailor_variables.c */
ngx_int_t ngx_http_tailor_add_variables(ngx_conf_t *cf);
/* postconfiguration: resolves the $tailor_experiment_NAME the configuration uses */
ngx_int_t ngx_http_tailor_experiment_variables(ngx_conf_t *cf);

/* ngx_http_tailor_ctx.c */
ngx_http_tailor_ctx_t *ngx_http_tailor_find_ctx(ngx_http_request_t *r);
ngx_http_tailor_ctx_t *ngx_http_tailor_evaluate(ngx_http_request_t *r);
void ngx_http_tailor_decide(ngx_http_request_t *r, ngx_http_tailor_ctx_t *ctx);
void ngx_http_tailor_eval_segments(ngx_http_tailor_ctx_t *ctx);
void ngx_http_tailor_eval_goals(ngx_http_tailor_ctx_t *ctx);
void ngx_http_tailor_eval_experiments(ngx_http_request_t *r,
    ngx_http_tailor_ctx_t *ctx);

/* ngx_http_tailor_visitor.c */
ngx_int_t ngx_http_tailor_visitor_init(ngx_http_request_t *r,
    ngx_http_tailor_main_conf_t *tmcf, ngx_http_tailor_ctx_t *ctx);
ngx_uint_t ngx_http_tailor_consent(ngx_http_request_t *r,
    ngx_http_tailor_loc_conf_t *tlcf, ngx_http_tailor_ctx_t *ctx);
ngx_uint_t ngx_http_tailor_secure(ngx_http_request_t *r,
    ngx_http_tailor_main_conf_t *tmcf, ngx_http_tailor_ctx_t *ctx);
ngx_int_t ngx_http_tailor_set_cookies(ngx_http_request_t *r,
    ngx_http_tailor_main_conf_t *tmcf, ngx_http_tailor_ctx_t *ctx);
char *ngx_http_tailor_visitor_cookie(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_tailor_consent_values(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_tailor_merge_consent_values(ngx_conf_t *cf,
    ngx_http_tailor_loc_conf_t *prev, ngx_http_tailor_loc_conf_t *conf);

/* ngx_http_tailor_delivery.c */
ngx_int_t ngx_http_tailor_static_variant(ngx_http_request_t *r,
    ngx_http_tailor_ctx_t *ctx);
ngx_int_t ngx_http_tailor_private(ngx_http_request_t *r);
ngx_table_elt_t *ngx_http_tailor_add_header(ngx_http_request_t *r, ngx_str_t *key,
    ngx_str_t *value);

/* ngx_http_tailor_status.c */
ngx_int_t ngx_http_tailor_status_init_conf(ngx_conf_t *cf,
    ngx_http_tailor_main_conf_t *tmcf);
ngx_int_t ngx_http_tailor_count(ngx_http_request_t *r,
    ngx_http_tailor_main_conf_t *tmcf, ngx_http_tailor_ctx_t *ctx);
void ngx_http_tailor_count_error(ngx_http_tailor_main_conf_t *tmcf, ngx_uint_t kind);
char *ngx_http_tailor_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

/* ngx_http_tailor_log.c */
ngx_uint_t ngx_http_tailor_log_due(ngx_uint_t kind, ngx_uint_t *suppressed);
void ngx_http_tailor_log_lua(ngx_http_request_t *r, ngx_http_tailor_main_conf_t *tmcf,
    ngx_http_tailor_ctx_t *ctx);
void ngx_http_tailor_conf_log(void *ctx, int level, const char *msg, size_t len);
void ngx_http_tailor_cycle_log(void *ctx, int level, const char *msg, size_t len);


#endif /* NGX_HTTP_TAILOR_MODULE_H */
