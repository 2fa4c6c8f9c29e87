/*
 * The engine: the directives that describe it (files, data sources such as the geo
 * databases, languages, hosts, lifecycle sources), building it once the http{} block is read (every file is checked
 * then, so `nginx -t` reports every error), the worker's start and the timer that reloads
 * changed data source files and tables off the request path.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_tailor_module.h"

#if (NGX_LINUX) && defined(__GLIBC__)
#include <malloc.h>
#endif


static char *ngx_http_tailor_args(ngx_conf_t *cf, ngx_array_t **a, ngx_uint_t first);
static void ngx_http_tailor_engine_cleanup(void *data);
static void ngx_http_tailor_release_memory(void);
static void ngx_http_tailor_poll(ngx_event_t *ev);


/* The worker's reload timer (data sources and tables). */
static ngx_event_t  ngx_http_tailor_poll_event;


/* tailor_rules FILE, tailor_secret FILE, tailor_referrers FILE: relative to the prefix */
char *
ngx_http_tailor_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t  *field, *value;

    field = (ngx_str_t *) (p + cmd->offset);

    if (field->data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "empty file name");
        return NGX_CONF_ERROR;
    }

    *field = value[1];

    /* ngx_conf_full_name() NUL-terminates the name it builds; nginx NUL-terminates
     * directive arguments, so an absolute path is a C string too */
    if (ngx_conf_full_name(cf->cycle, field, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * The data sources' directives (tailor_geoip2, ...) are declared by the core
 * (tailor_source_count()), not written in the directives table: preconfiguration, which
 * runs before the http{} block's directives are read, fills the table's spare slots with
 * them, each parsed by ngx_http_tailor_source() below. A new source changes nothing here.
 */
ngx_int_t
ngx_http_tailor_add_source_commands(ngx_conf_t *cf, ngx_command_t *cmd, ngx_uint_t n)
{
    static ngx_uint_t  takes[] = {
        NGX_CONF_TAKE1, NGX_CONF_TAKE2, NGX_CONF_TAKE3, NGX_CONF_TAKE4,
        NGX_CONF_TAKE5, NGX_CONF_TAKE6, NGX_CONF_TAKE7
    };

    size_t       i, nsources, k, noptions;
    ngx_uint_t   type;
    const char  *name;

    nsources = tailor_source_count();

    if (nsources > n) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%uz data sources, room for %ui directives",
                           nsources, n);
        return NGX_ERROR;
    }

    for (i = 0; i < nsources; i++) {
        name = tailor_source_directive(i);

        noptions = 0;
        while (tailor_source_option(i, noptions, NULL) != NULL) {
            noptions++;
        }

        /* the path, then each option at most once */
        type = 0;
        for (k = 0; k <= noptions && k < sizeof(takes) / sizeof(takes[0]); k++) {
            type |= takes[k];
        }

        cmd[i].name.len = ngx_strlen(name);
        cmd[i].name.data = (u_char *) name;
        cmd[i].type = NGX_HTTP_MAIN_CONF|type;
        cmd[i].set = ngx_http_tailor_source;
        cmd[i].conf = NGX_HTTP_MAIN_CONF_OFFSET;
        cmd[i].offset = 0;
        cmd[i].post = NULL;
    }

    return NGX_OK;
}


/* SOURCE PATH [NAME=VALUE]..., e.g. tailor_geoip2 PATH [auto_reload=INTERVAL] */
char *
ngx_http_tailor_source(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_tailor_main_conf_t *tmcf = conf;

    int                      kind;
    size_t                   source, k, nsources;
    u_char                  *eq;
    ngx_str_t               *value, path, name, s;
    ngx_msec_t               ms;
    ngx_uint_t               i, j;
    const char              *option;
    tailor_source_line_t    *line;
    tailor_source_option_t  *options;

    value = cf->args->elts;

    nsources = tailor_source_count();
    for (source = 0; source < nsources; source++) {
        if (ngx_strcmp(tailor_source_directive(source), cmd->name.data) == 0) {
            break;
        }
    }

    if (source == nsources) {
        return "is not a data source";
    }

    if (tmcf->sources == NULL) {
        tmcf->sources = ngx_array_create(cf->pool, 4, sizeof(tailor_source_line_t));
        if (tmcf->sources == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    path = value[1];
    if (ngx_conf_full_name(cf->cycle, &path, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    options = ngx_pcalloc(cf->pool,
                          cf->args->nelts * sizeof(tailor_source_option_t));
    if (options == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {
        eq = ngx_strlchr(value[i].data, value[i].data + value[i].len, '=');

        option = NULL;
        kind = TAILOR_SOURCE_OPTION_TEXT;

        if (eq != NULL) {
            for (k = 0; (option = tailor_source_option(source, k, &kind)); k++) {
                if ((size_t) (eq - value[i].data) == ngx_strlen(option)
                    && ngx_strncmp(value[i].data, option, eq - value[i].data) == 0)
                {
                    break;
                }
            }
        }

        if (option == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        name.len = eq - value[i].data;
        name.data = value[i].data;
        s.len = value[i].data + value[i].len - (eq + 1);
        s.data = eq + 1;

        for (j = 2; j < i; j++) {
            if (options[j - 2].name.data == (const char *) option) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "duplicate parameter \"%V\"", &name);
                return NGX_CONF_ERROR;
            }
        }

        options[i - 2].name.data = option;
        options[i - 2].name.len = name.len;
        options[i - 2].text.data = (const char *) s.data;
        options[i - 2].text.len = s.len;

        if (kind == TAILOR_SOURCE_OPTION_DURATION) {
            ms = ngx_parse_time(&s, 0);
            if (ms == (ngx_msec_t) NGX_ERROR || ms == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid %V \"%V\"", &name, &s);
                return NGX_CONF_ERROR;
            }

            options[i - 2].ms = (int64_t) ms;
        }
    }

    line = ngx_array_push(tmcf->sources);
    if (line == NULL) {
        return NGX_CONF_ERROR;
    }

    line->directive.data = (const char *) cmd->name.data;
    line->directive.len = cmd->name.len;
    line->path.data = (const char *) path.data;
    line->path.len = path.len;
    line->options = options;
    line->noptions = cf->args->nelts - 2;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, cf->log, 0,
                   "tailor: data source \"%V\" \"%V\", %ui options",
                   &cmd->name, &path, cf->args->nelts - 2);

    return NGX_CONF_OK;
}


/*
 * tailor_lifecycle registered [unsigned:]cookie:NAME|header:NAME ...;
 * tailor_lifecycle orders [unsigned:]cookie:NAME|header:NAME ...;
 * where the site says who the visitor is (set at login) and how many orders they placed.
 */
char *
ngx_http_tailor_lifecycle(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_tailor_main_conf_t  *tmcf = conf;

    ngx_str_t     *value;
    ngx_uint_t     i, n;
    ngx_array_t  **a;

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "registered") == 0) {
        a = &tmcf->lifecycle_registered;

    } else if (ngx_strcmp(value[1].data, "orders") == 0) {
        a = &tmcf->lifecycle_orders;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid lifecycle stage \"%V\", "
                           "it must be \"registered\" or \"orders\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (*a != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate lifecycle stage \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {
        /* "unsigned:" trusts the client's value; without it values are signed */
        n = (value[i].len > 9 && ngx_strncmp(value[i].data, "unsigned:", 9) == 0) ? 9 : 0;

        if (!((value[i].len > n + 7 && ngx_strncmp(value[i].data + n, "cookie:", 7) == 0)
              || (value[i].len > n + 7
                  && ngx_strncmp(value[i].data + n, "header:", 7) == 0)))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid lifecycle source \"%V\", it must be "
                               "\"cookie:NAME\" or \"header:NAME\", "
                               "or \"unsigned:\" before either", &value[i]);
            return NGX_CONF_ERROR;
        }
    }

    return ngx_http_tailor_args(cf, a, 2);
}


/* tailor_languages fr en de ...; tailor_own_hosts example.com shop.example.com ... */
char *
ngx_http_tailor_strings(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_array_t  **a;

    a = (ngx_array_t **) (p + cmd->offset);

    if (*a != NULL) {
        return "is duplicate";
    }

    return ngx_http_tailor_args(cf, a, 1);
}


/* The directive's arguments from the first-th on, as C strings (nginx NUL-terminates them). */
static char *
ngx_http_tailor_args(ngx_conf_t *cf, ngx_array_t **a, ngx_uint_t first)
{
    ngx_str_t    *value;
    ngx_uint_t    i;
    const char  **s;

    *a = ngx_array_create(cf->pool, cf->args->nelts - first, sizeof(char *));
    if (*a == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = first; i < cf->args->nelts; i++) {
        if (value[i].len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "empty value");
            return NGX_CONF_ERROR;
        }

        s = ngx_array_push(*a);
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }

        *s = (const char *) value[i].data;
    }

    return NGX_CONF_OK;
}


/* Builds the engine once the whole http{} block is read: every file is checked now. */
char *
ngx_http_tailor_create_engine(ngx_conf_t *cf, ngx_http_tailor_main_conf_t *tmcf)
{
    ngx_pool_cleanup_t    *cln;
    tailor_engine_conf_t   ecf;

    ngx_memzero(&ecf, sizeof(tailor_engine_conf_t));

    ecf.rules_path = (const char *) tmcf->rules_file.data;
    ecf.secret_path = (const char *) tmcf->secret_file.data;
    ecf.referrers_path = (const char *) tmcf->referrers_file.data;

    if (tmcf->sources) {
        ecf.sources = tmcf->sources->elts;
        ecf.nsources = tmcf->sources->nelts;
    }

    if (tmcf->languages) {
        ecf.languages = tmcf->languages->elts;
        ecf.nlanguages = tmcf->languages->nelts;
    }

    if (tmcf->own_hosts) {
        ecf.own_hosts = tmcf->own_hosts->elts;
        ecf.nown_hosts = tmcf->own_hosts->nelts;
    }

    if (tmcf->lifecycle_registered) {
        ecf.lifecycle_registered = tmcf->lifecycle_registered->elts;
        ecf.nlifecycle_registered = tmcf->lifecycle_registered->nelts;
    }

    if (tmcf->lifecycle_orders) {
        ecf.lifecycle_orders = tmcf->lifecycle_orders->elts;
        ecf.nlifecycle_orders = tmcf->lifecycle_orders->nelts;
    }

    if (tmcf->profile_cookie.len) {
        ecf.profile_cookie = (const char *) tmcf->profile_cookie.data;
    }

    ecf.visit_timeout_ms = tmcf->visit_timeout;
    ecf.tables_reload_ms = tmcf->tables_reload == NGX_CONF_UNSET_MSEC
                           ? -1 : (int64_t) tmcf->tables_reload;
    ecf.bots_get_default = tmcf->bots_default ? 1 : 0;

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    /* set before the engine exists: a failed load still releases what it allocated */
    cln->handler = ngx_http_tailor_engine_cleanup;
    cln->data = NULL;

    tmcf->engine = tailor_engine_create(&ecf, ngx_http_tailor_conf_log, cf);
    if (tmcf->engine == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid tailor configuration%s%V%s",
                           tmcf->rules_file.len ? " (rules \"" : "",
                           &tmcf->rules_file, tmcf->rules_file.len ? "\")" : "");
        return NGX_CONF_ERROR;
    }

    cln->data = tmcf->engine;

    return NGX_CONF_OK;
}


static void
ngx_http_tailor_engine_cleanup(void *data)
{
    if (data != NULL) {
        tailor_engine_destroy(data);
    }

    ngx_http_tailor_release_memory();
}


/*
 * Compiling the rules and the pattern databases allocates megabytes that are freed again
 * before the configuration is done; glibc keeps most of those pages (scattered below live
 * allocations, so the heap top cannot shrink), and every worker forked next inherits them:
 * measured, 2 to 4 MB per process that came and went at random from one reload to the next.
 * The master hands them back after each configuration load, good (init_module) or failed
 * (the engine's pool cleanup), and after freeing the previous configuration's engine.
 */
static void
ngx_http_tailor_release_memory(void)
{
#if (NGX_LINUX) && defined(__GLIBC__)
    if (ngx_process == NGX_PROCESS_MASTER || ngx_process == NGX_PROCESS_SINGLE) {
        (void) malloc_trim(0);
    }
#endif
}


ngx_int_t
ngx_http_tailor_init_module(ngx_cycle_t *cycle)
{
    ngx_http_tailor_release_memory();
    return NGX_OK;
}


ngx_int_t
ngx_http_tailor_init_process(ngx_cycle_t *cycle)
{
    int64_t                       interval;
    ngx_http_tailor_main_conf_t  *tmcf;

    tmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_tailor_module);
    if (tmcf == NULL || tmcf->engine == NULL) {
        return NGX_OK;
    }

    if (tailor_engine_worker_init(tmcf->engine, ngx_http_tailor_cycle_log,
                                  cycle->log)
        != 0)
    {
        /* the worker still serves: signals that need the missing state are missing */
        ngx_http_tailor_count_error(tmcf, TAILOR_ERR_EVAL);
    }

    interval = tailor_engine_poll_interval_ms(tmcf->engine);
    if (interval > 0) {
        ngx_http_tailor_poll_event.handler = ngx_http_tailor_poll;
        ngx_http_tailor_poll_event.log = cycle->log;
        ngx_http_tailor_poll_event.data = tmcf;
        ngx_http_tailor_poll_event.cancelable = 1;
        ngx_add_timer(&ngx_http_tailor_poll_event, (ngx_msec_t) interval);
    }

    return NGX_OK;
}


/* The worker's timer: reloads changed data source files and tables, off the request path. */
static void
ngx_http_tailor_poll(ngx_event_t *ev)
{
    int                           rejected;
    ngx_http_tailor_main_conf_t  *tmcf = ev->data;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    rejected = tailor_engine_poll(tmcf->engine, ngx_http_tailor_cycle_log, ev->log);
    while (rejected-- > 0) {
        ngx_http_tailor_count_error(tmcf, TAILOR_ERR_RELOAD);
    }

    ngx_add_timer(ev, (ngx_msec_t) tailor_engine_poll_interval_ms(tmcf->engine));
}
