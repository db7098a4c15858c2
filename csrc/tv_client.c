/* tv_client.c -- client configuration, credentials and the blocking
 * adapter over the call engine (tv_client_execute: libcurl or a C
 * transport, sleeping in the calling thread).  The only place that ever
 * holds a credential (inside the Authorization header line, wiped on
 * close). */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>

#include "tv.h"

struct tv_client {
    int closed;
    tv_origin origin;
    char account_sid[40];
    char api_key[40];   /* the API key SID (SK...) when one is used, else "" -- not a secret */
    int cred_source;    /* TV_CRED_OPTIONS or TV_CRED_ENVIRONMENT (tv_client_explain) */
    int device_token;   /* tv_client_set_token: a device credential replaced the account's */
    char *auth_header; /* "Authorization: Basic ..." -- secret */
    char ua_header[256];
    long timeout_ms, connect_timeout_ms;
    tv_policy policy; /* retries and their jitter (tv_engine.c) */
    tv_call_env env;  /* what the call engine needs of it: &policy, &closed, explain */
    size_t max_body;
    char *proxy, *no_proxy; /* copies of the options (NULL: not set); proxy may hold credentials */
    char *ca_file, *ca_path; /* copies of the options (NULL: libcurl's defaults) */
    tv_share *share; /* a reference, or NULL (tv_options.share) */
    tv_http *http;
    void *pool;                     /* the batch engine's, freed by close */
    void (*free_pool)(void *);
    tv_transport_fn transport;
    void *transport_ud;
    void (*on_event)(void *ud, const tv_event *ev);
    void (*on_retry)(void *ud, int next_attempt, double delay, const tv_error *err);
    void *hook_ud;
    tv_consume_fn consume; /* the success path's body consumer, or NULL */
    void *consume_ud;
};

static const char accept_header[] = "Accept: application/json";
static const char form_header[] = "Content-Type: application/x-www-form-urlencoded";

static int is_set(const char *s) { return s && *s; }

static int check_secret(const char *name, const char *s, tv_error *err) {
    size_t n = strlen(s);
    if (n > 256) return tv_error_set(err, TV_EARG, name, "%s is too long (at most 256 bytes)", name);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return tv_error_set(err, TV_EARG, name, "%s must not contain control characters", name);
    return 0;
}

/* Copy an optional string option (a proxy URL, a no_proxy list, a CA
 * path): at most `max` bytes, no control characters.  NULL stays NULL; ""
 * is kept. */
static int copy_opt(const char *name, const char *s, size_t max, char **out, tv_error *err) {
    *out = NULL;
    if (!s) return 0;
    size_t n = strlen(s);
    if (n > max) return tv_error_set(err, TV_EARG, name, "%s is too long (at most %zu bytes)", name, max);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return tv_error_set(err, TV_EARG, name, "%s must not contain control characters", name);
    if (!(*out = malloc(n + 1))) return tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
    memcpy(*out, s, n + 1);
    return 0;
}

/* Why a path could not be used, without strerror (not thread-safe). */
static const char *errno_text(int e) {
    switch (e) {
    case ENOENT: return "it does not exist";
    case EACCES: return "permission denied";
    case ENOTDIR: return "a component of the path is not a directory";
    case ELOOP: return "too many symbolic links";
    case ENAMETOOLONG: return "the path is too long";
    case EISDIR: return "it is a directory";
    default: return "it cannot be opened";
    }
}

/* TLS trust options, checked now rather than at the first request (where
 * they would surface as a TLS failure of every call): ca_file must be a
 * file that can be opened for reading, ca_path a directory that can be
 * listed.  Whether the contents are certificates is libcurl's to say. */
static int check_ca_file(const char *path, tv_error *err) {
    if (!*path) return tv_error_set(err, TV_EARG, "ca_file", "ca_file must not be empty");
    struct stat st;
    if (stat(path, &st) != 0)
        return tv_error_set(err, TV_EARG, "ca_file", "ca_file '%s' cannot be used: %s", path, errno_text(errno));
    if (S_ISDIR(st.st_mode))
        return tv_error_set(err, TV_EARG, "ca_file",
                            "ca_file '%s' is a directory (a directory of hashed certificates is ca_path)", path);
    FILE *f = fopen(path, "rb");
    if (!f) return tv_error_set(err, TV_EARG, "ca_file", "ca_file '%s' cannot be read: %s", path, errno_text(errno));
    fclose(f);
    return 0;
}

static int check_ca_path(const char *path, tv_error *err) {
    if (!*path) return tv_error_set(err, TV_EARG, "ca_path", "ca_path must not be empty");
    struct stat st;
    if (stat(path, &st) != 0)
        return tv_error_set(err, TV_EARG, "ca_path", "ca_path '%s' cannot be used: %s", path, errno_text(errno));
    if (!S_ISDIR(st.st_mode))
        return tv_error_set(err, TV_EARG, "ca_path",
                            "ca_path '%s' is not a directory (a file of certificates is ca_file)", path);
    DIR *d = opendir(path);
    if (!d) return tv_error_set(err, TV_EARG, "ca_path", "ca_path '%s' cannot be read: %s", path, errno_text(errno));
    closedir(d);
    return 0;
}

static void free_secret(char **s) {
    if (*s) {
        OPENSSL_cleanse(*s, strlen(*s));
        free(*s);
        *s = NULL;
    }
}

static int build_auth(tv_client *c, const char *user, const char *secret, tv_error *err) {
    size_t ul = strlen(user), sl = strlen(secret);
    size_t plain_len = ul + 1 + sl;
    unsigned char *plain = malloc(plain_len + 1);
    size_t enc_cap = 4 * ((plain_len + 2) / 3) + 1;
    static const char prefix[] = "Authorization: Basic ";
    char *hdr = malloc(sizeof prefix + enc_cap);
    if (!plain || !hdr) {
        free(plain);
        free(hdr);
        return tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
    }
    memcpy(plain, user, ul);
    plain[ul] = ':';
    memcpy(plain + ul + 1, secret, sl);
    memcpy(hdr, prefix, sizeof prefix - 1);
    EVP_EncodeBlock((unsigned char *)hdr + sizeof prefix - 1, plain, (int)plain_len);
    OPENSSL_cleanse(plain, plain_len);
    free(plain);
    c->auth_header = hdr;
    return 0;
}

int tv_client_set_token(tv_client *c, const char *token, tv_error *err) {
    if (!token || !*token || strlen(token) > 16384)
        return tv_error_set(err, TV_EARG, "token", "a device token must be a non-empty string of at most 16384 bytes");
    char *old = c->auth_header;
    c->auth_header = NULL;
    if (build_auth(c, "token", token, err) != 0) {
        c->auth_header = old;
        return -1;
    }
    free_secret(&old);
    c->device_token = 1;
    /* the libcurl handle holds the header lines: the next request makes a
     * new one with the new credential (the old lines are wiped on free) */
    tv_http_free(c->http);
    c->http = NULL;
    return 0;
}

static void explain_401(const void *ud, tv_error *err) { tv_client_explain((const tv_client *)ud, err); }

tv_client *tv_client_new(const tv_options *opt, tv_error *err) {
    tv_client *c = calloc(1, sizeof *c);
    if (!c) {
        tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
        return NULL;
    }
    const char *base = is_set(opt->base_url) ? opt->base_url : TV_DEFAULT_BASE_URL;
    if (tv_origin_parse(base, strlen(base), &c->origin, err)) {
        snprintf(err->param, sizeof err->param, "base_url");
        goto fail;
    }
    if (strcmp(c->origin.scheme, "http") == 0 && !tv_origin_is_loopback(&c->origin) && !opt->allow_http) {
        tv_error_set(err, TV_EARG, "base_url",
                     "base_url must use https (plain http is only allowed to loopback addresses "
                     "or with allow_http = true)");
        goto fail;
    }
    if (!is_set(opt->account_sid)) {
        tv_error_set(err, TV_EARG, "account_sid",
                     "account_sid is required (or set TWILIO_ACCOUNT_SID)");
        goto fail;
    }
    if (tv_check_account_sid(opt->account_sid, strlen(opt->account_sid), err)) goto fail;
    snprintf(c->account_sid, sizeof c->account_sid, "%s", opt->account_sid);
    if (is_set(opt->api_key) || is_set(opt->api_secret)) {
        if (is_set(opt->auth_token)) {
            tv_error_set(err, TV_EARG, "auth_token", "give either auth_token or api_key + api_secret, not both");
            goto fail;
        }
        if (!is_set(opt->api_key) || !is_set(opt->api_secret)) {
            tv_error_set(err, TV_EARG, is_set(opt->api_key) ? "api_secret" : "api_key",
                         "api_key and api_secret must be given together");
            goto fail;
        }
        if (tv_check_api_key(opt->api_key, strlen(opt->api_key), err)) goto fail;
        if (check_secret("api_secret", opt->api_secret, err)) goto fail;
        if (build_auth(c, opt->api_key, opt->api_secret, err)) goto fail;
        snprintf(c->api_key, sizeof c->api_key, "%s", opt->api_key);
    } else {
        if (!is_set(opt->auth_token)) {
            tv_error_set(err, TV_EARG, "auth_token",
                         "auth_token (or api_key + api_secret) is required (or set TWILIO_AUTH_TOKEN)");
            goto fail;
        }
        if (check_secret("auth_token", opt->auth_token, err)) goto fail;
        if (build_auth(c, opt->account_sid, opt->auth_token, err)) goto fail;
    }
    c->timeout_ms = opt->timeout_ms > 0 ? opt->timeout_ms : TV_DEFAULT_TIMEOUT_MS;
    c->connect_timeout_ms = opt->connect_timeout_ms > 0 ? opt->connect_timeout_ms : TV_DEFAULT_CONNECT_TIMEOUT_MS;
    if (c->connect_timeout_ms > c->timeout_ms) c->connect_timeout_ms = c->timeout_ms;
    c->env.policy = &c->policy;
    c->env.closed = &c->closed;
    c->env.explain = explain_401;
    c->env.ud = c;
    c->policy.max_retries = opt->max_retries >= 0 ? opt->max_retries : TV_DEFAULT_MAX_RETRIES;
    c->policy.retry_base_ms = opt->retry_base_ms > 0 ? opt->retry_base_ms : TV_DEFAULT_RETRY_BASE_MS;
    c->policy.retry_cap_ms = opt->retry_cap_ms > 0 ? opt->retry_cap_ms : TV_DEFAULT_RETRY_CAP_MS;
    c->policy.retry_after_cap_ms =
        opt->retry_after_cap_ms > 0 ? opt->retry_after_cap_ms : TV_DEFAULT_RETRY_AFTER_CAP_MS;
    c->max_body = opt->max_body > 0 ? opt->max_body : TV_DEFAULT_MAX_BODY;
    if (opt->credential_source != TV_CRED_OPTIONS && opt->credential_source != TV_CRED_ENVIRONMENT) {
        tv_error_set(err, TV_EARG, "credential_source", "credential_source must be TV_CRED_OPTIONS or "
                     "TV_CRED_ENVIRONMENT");
        goto fail;
    }
    c->cred_source = opt->credential_source;
    if (copy_opt("proxy", opt->proxy, 2048, &c->proxy, err) ||
        copy_opt("no_proxy", opt->no_proxy, 2048, &c->no_proxy, err))
        goto fail;
    if (opt->ca_file && check_ca_file(opt->ca_file, err)) goto fail;
    if (opt->ca_path && check_ca_path(opt->ca_path, err)) goto fail;
    if (copy_opt("ca_file", opt->ca_file, 4096, &c->ca_file, err) ||
        copy_opt("ca_path", opt->ca_path, 4096, &c->ca_path, err))
        goto fail;
    c->share = tv_share_ref(opt->share);
    struct utsname un;
    const char *os = "unknown", *arch = "unknown";
    if (uname(&un) == 0) {
        os = un.sysname;
        arch = un.machine;
    }
    snprintf(c->ua_header, sizeof c->ua_header, "User-Agent: twilio-verify-lua/%s (%s %s) Lua/%s libcurl/%s%s%s",
             TV_VERSION, os, arch, is_set(opt->lua_version) ? opt->lua_version : "unknown",
             tv_http_curl_version(), is_set(opt->ua_suffix) ? " " : "",
             is_set(opt->ua_suffix) ? opt->ua_suffix : "");
    for (char *p = c->ua_header; *p; p++)
        if ((unsigned char)*p < 0x20) *p = ' ';
    /* c->policy.rng is seeded at the first backoff (tv_engine.c): not in
     * verify.new */
    return c;
fail:
    tv_client_free(c);
    return NULL;
}

void tv_client_close(tv_client *c) {
    if (!c || c->closed) return;
    c->closed = 1;
    tv_http_free(c->http);
    c->http = NULL;
    if (c->pool && c->free_pool) c->free_pool(c->pool);
    c->pool = NULL;
    tv_share_unref(c->share); /* after every easy handle using it is gone */
    c->share = NULL;
    free_secret(&c->auth_header);
    free_secret(&c->proxy); /* a proxy URL may carry user:password */
    free_secret(&c->no_proxy);
}

int tv_client_closed(const tv_client *c) { return !c || c->closed; }

void tv_client_free(tv_client *c) {
    if (!c) return;
    tv_client_close(c);
    free(c->ca_file);
    free(c->ca_path);
    free(c);
}

const tv_origin *tv_client_origin(const tv_client *c) { return &c->origin; }
const char *tv_client_account_sid(const tv_client *c) { return c->account_sid; }
const char *tv_client_user_agent(const tv_client *c) { return c->ua_header + sizeof "User-Agent: " - 1; }

#define EXPLAIN_MARK " (credentials: "

void tv_client_explain(const tv_client *c, tv_error *err) {
    if (!c || !err || err->kind != TV_EHTTP || err->status != 401) return;
    if (strstr(err->message, EXPLAIN_MARK)) return; /* once */
    char add[256];
    int env = c->cred_source == TV_CRED_ENVIRONMENT;
    if (c->device_token)
        snprintf(add, sizeof add, EXPLAIN_MARK "a Verify Push device token: Basic token:<JWT>)");
    else if (c->api_key[0])
        snprintf(add, sizeof add, EXPLAIN_MARK "API key %s for account %s, from %s)", c->api_key, c->account_sid,
                 env ? "the environment: TWILIO_API_KEY / TWILIO_API_SECRET" : "the options");
    else
        snprintf(add, sizeof add, EXPLAIN_MARK "account %s with its auth token, from %s)", c->account_sid,
                 env ? "the environment: TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN" : "the options");
    size_t al = strlen(add), ml = strlen(err->message);
    if (ml + al >= sizeof err->message) {
        ml = sizeof err->message - 1 - al; /* keep the explanation whole */
        while (ml > 0 && ((unsigned char)err->message[ml] & 0xC0) == 0x80) ml--; /* not inside a character */
    }
    memcpy(err->message + ml, add, al + 1);
}
void *tv_client_pool(const tv_client *c) { return c->pool; }
void tv_client_set_pool(tv_client *c, void *pool, void (*free_pool)(void *)) {
    c->pool = pool;
    c->free_pool = free_pool;
}
long tv_client_timeout_ms(const tv_client *c) { return c->timeout_ms; }
long tv_client_connect_timeout_ms(const tv_client *c) { return c->connect_timeout_ms; }
size_t tv_client_max_body(const tv_client *c) { return c->max_body; }

int tv_client_headers(const tv_client *c, tv_method m, const char *out[4]) {
    int n = 0;
    if (c->auth_header) out[n++] = c->auth_header;
    out[n++] = accept_header;
    out[n++] = c->ua_header;
    if (m == TV_POST) out[n++] = form_header;
    return n;
}

void tv_client_set_transport(tv_client *c, tv_transport_fn fn, void *ud) {
    c->transport = fn;
    c->transport_ud = ud;
}

void tv_client_set_hooks(tv_client *c, void (*on_event)(void *ud, const tv_event *ev),
                         void (*on_retry)(void *ud, int next_attempt, double delay, const tv_error *err),
                         void *ud) {
    c->on_event = on_event;
    c->on_retry = on_retry;
    c->hook_ud = ud;
}

void tv_client_set_consumer(tv_client *c, tv_consume_fn consume, void *ud) {
    c->consume = consume;
    c->consume_ud = ud;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double tv_client_backoff(tv_client *c, int attempt, double retry_after) {
    return tv_backoff(&c->policy, attempt, retry_after);
}

tv_policy *tv_client_policy(tv_client *c) { return &c->policy; }
const tv_call_env *tv_client_env(tv_client *c) { return &c->env; }
int tv_client_max_retries(const tv_client *c) { return c->policy.max_retries; }

void tv_client_http_conf(const tv_client *c, long timeout_ms, tv_http_conf *out) {
    out->nget = tv_client_headers(c, TV_GET, out->get_lines);
    out->npost = tv_client_headers(c, TV_POST, out->post_lines);
    out->timeout_ms = timeout_ms > 0 ? timeout_ms : c->timeout_ms;
    out->connect_timeout_ms = c->connect_timeout_ms;
    out->max_body = c->max_body;
    /* Plain http never goes through a proxy the environment names
     * (http_proxy, ALL_PROXY...): the proxy would see the Basic credentials
     * in cleartext.  Only an explicit `proxy` option sends it there.  https
     * keeps libcurl's environment handling (a CONNECT tunnel) unless
     * `proxy` is given ("" = none). */
    if (c->proxy) out->proxy = c->proxy;
    else out->proxy = strcmp(c->origin.scheme, "https") == 0 ? NULL : "";
    out->no_proxy = c->no_proxy;
    out->ca_file = c->ca_file;
    out->ca_path = c->ca_path;
    out->share = c->share;
}

int tv_client_http(tv_client *c, const tv_request *req, long timeout_ms, tv_response *resp, tv_error *err) {
    if (c->closed) return tv_error_set(err, TV_ECLOSED, NULL, "the client is closed");
    tv_http_conf conf;
    tv_client_http_conf(c, timeout_ms, &conf);
    if (!c->http && !(c->http = tv_http_new(&conf, err))) return -1;
    return tv_http_perform(c->http, &conf, req, resp, err);
}

static void sleep_s(double s) {
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* The blocking adapter over the call engine: each SEND is one attempt over
 * the client's transport (libcurl, or a C transport), parsed -- or handed
 * to the consumer -- here; the engine decides the rest. */
int tv_client_execute(tv_client *c, const tv_request *req, const tv_call_opts *co, tv_response *resp,
                      cJSON **out, tv_error *err) {
    *out = NULL;
    long timeout_ms = co && co->timeout_ms > 0 ? co->timeout_ms : 0; /* this call only */
    tv_call k;
    tv_call_init(&k, &c->env, req, co, NULL, (c->on_event ? TV_CALL_LOG : 0) | (c->on_retry ? TV_CALL_ON_RETRY : 0));
    double now = now_s();
    for (;;) {
        switch (tv_call_next(&k, now)) {
        case TV_STEP_SEND: { /* err is the attempt's scratch: a failure is moved into the call */
            tv_error_clear(err);
            tv_response_reset(resp);
            int rc = c->transport ? c->transport(c->transport_ud, c, req, resp, err)
                                  : tv_client_http(c, req, timeout_ms, resp, err);
            if (rc != 0) {
                tv_call_feed(&k, now = now_s(), NULL, err);
                continue; /* the engine's next step, at the same time */
            }
            if (c->consume && resp->status >= 200 && resp->status <= 299 && req->op->returns != TV_RET_NONE)
                rc = c->consume(c->consume_ud, req, resp, err);
            else
                rc = tv_parse_response(req, resp, out, err);
            tv_call_feed(&k, now = now_s(), resp, rc ? err : NULL);
            continue;
        }
        case TV_STEP_LOG: {
            tv_event ev;
            tv_call_event(&k, &ev);
            if (c->on_event) c->on_event(c->hook_ud, &ev);
            break;
        }
        case TV_STEP_RETRY:
            if (c->on_retry) c->on_retry(c->hook_ud, tv_call_attempt(&k) + 1, tv_call_delay(&k), tv_call_error(&k));
            break;
        case TV_STEP_SLEEP: sleep_s(tv_call_delay(&k)); break;
        case TV_STEP_DONE: {
            int rc = tv_call_take_error(&k, err);
            tv_call_release(&k);
            return rc;
        }
        }
        now = now_s(); /* after a hook or a sleep */
    }
}
