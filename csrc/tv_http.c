/* tv_http.c -- the libcurl transport: one easy handle per client, reused for
 * keep-alive; constant options and header lists set once. */
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tv.h"
#include "tv_curl.h"

struct tv_http {
    tv_easy x;
    struct curl_slist *h_get, *h_post, *h_json;
};

/* The one piece of global state: libcurl's global init, done once.  A mutex
 * rather than pthread_once, so that race checkers (helgrind, DRD, TSan) see
 * the values it publishes as ordered. */
static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;
static int global_state;                       /* 0 not yet, 1 ok, -1 failed */
static char curl_version_text[48] = "unknown"; /* set once, with global_state */

int tv_http_global_init(void) {
    pthread_mutex_lock(&global_lock);
    if (global_state == 0) {
        global_state = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 1 : -1;
        /* curl_version_info() rewrites static data on every call (not
         * thread-safe in libcurl 7.x): called once, here */
        const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
        if (v && v->version) snprintf(curl_version_text, sizeof curl_version_text, "%s", v->version);
    }
    int rc = global_state > 0 ? 0 : -1;
    pthread_mutex_unlock(&global_lock);
    return rc;
}

const char *tv_http_curl_version(void) {
    tv_http_global_init();
    return curl_version_text;
}

/* ---- the share ---------------------------------------------------------- */

struct tv_share {
    CURLSH *sh;
    pthread_mutex_t ref_lock;
    int refs;
    pthread_mutex_t locks[CURL_LOCK_DATA_LAST]; /* one per curl_lock_data */
};

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ud) {
    tv_share *s = ud;
    (void)h, (void)access;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST) pthread_mutex_lock(&s->locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ud) {
    tv_share *s = ud;
    (void)h;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST) pthread_mutex_unlock(&s->locks[data]);
}

static void share_destroy(tv_share *s, int nlocks) {
    if (s->sh) curl_share_cleanup(s->sh);
    for (int i = 0; i < nlocks; i++) pthread_mutex_destroy(&s->locks[i]);
    pthread_mutex_destroy(&s->ref_lock);
    free(s);
}

tv_share *tv_share_new(tv_error *err) {
    if (tv_http_global_init() != 0) {
        tv_error_set(err, TV_ETRANSPORT, NULL, "curl_global_init failed");
        return NULL;
    }
    tv_share *s = calloc(1, sizeof *s);
    if (!s || pthread_mutex_init(&s->ref_lock, NULL) != 0) {
        free(s);
        tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
        return NULL;
    }
    int n = 0;
    while (n < CURL_LOCK_DATA_LAST && pthread_mutex_init(&s->locks[n], NULL) == 0) n++;
    if (n < CURL_LOCK_DATA_LAST || !(s->sh = curl_share_init())) {
        share_destroy(s, n);
        tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
        return NULL;
    }
    int bad = 0;
    bad |= curl_share_setopt(s->sh, CURLSHOPT_LOCKFUNC, share_lock) != CURLSHE_OK;
    bad |= curl_share_setopt(s->sh, CURLSHOPT_UNLOCKFUNC, share_unlock) != CURLSHE_OK;
    bad |= curl_share_setopt(s->sh, CURLSHOPT_USERDATA, s) != CURLSHE_OK;
    bad |= curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK;
    /* a TLS backend without session sharing just does not resume */
    (void)curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    if (bad) {
        share_destroy(s, n);
        tv_error_set(err, TV_ETRANSPORT, NULL, "could not configure a libcurl share");
        return NULL;
    }
    s->refs = 1;
    return s;
}

tv_share *tv_share_ref(tv_share *s) {
    if (!s) return NULL;
    pthread_mutex_lock(&s->ref_lock);
    s->refs++;
    pthread_mutex_unlock(&s->ref_lock);
    return s;
}

void tv_share_unref(tv_share *s) {
    if (!s) return;
    pthread_mutex_lock(&s->ref_lock);
    int left = --s->refs;
    pthread_mutex_unlock(&s->ref_lock);
    if (left == 0) share_destroy(s, CURL_LOCK_DATA_LAST);
}

/* ---- header lists ---------------------------------------------------------- */

static void wipe(char *s) {
    if (s) OPENSSL_cleanse(s, strlen(s));
}

void tv_curl_headers_free(struct curl_slist *l) {
    for (struct curl_slist *p = l; p; p = p->next) wipe(p->data);
    curl_slist_free_all(l);
}

int tv_curl_headers(const tv_http_conf *conf, struct curl_slist **get, struct curl_slist **post,
                    struct curl_slist **json, tv_error *err) {
    *get = *post = *json = NULL;
    for (int i = 0; i < conf->nget; i++) {
        struct curl_slist *l = curl_slist_append(*get, conf->get_lines[i]);
        if (!l) goto oom;
        *get = l;
    }
    for (int i = 0; i <= conf->npost; i++) {
        /* "Expect:" stops curl from waiting for 100-continue on larger bodies */
        const char *line = i < conf->npost ? conf->post_lines[i] : "Expect:";
        struct curl_slist *l = curl_slist_append(*post, line);
        if (!l) goto oom;
        *post = l;
        /* a JSON body's POST (TV_OPF_JSON_BODY): the same lines, its own Content-Type */
        if (strncasecmp(line, "Content-Type:", 13) == 0) line = "Content-Type: application/json";
        if (!(l = curl_slist_append(*json, line))) goto oom;
        *json = l;
    }
    return 0;
oom:
    tv_curl_headers_free(*get);
    tv_curl_headers_free(*post);
    tv_curl_headers_free(*json);
    *get = *post = *json = NULL;
    return tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
}

void tv_easy_cleanup(tv_easy *x) {
    if (x->easy) curl_easy_cleanup(x->easy);
    x->easy = NULL;
}

void tv_http_free(struct tv_http *h) {
    if (!h) return;
    tv_easy_cleanup(&h->x);
    tv_curl_headers_free(h->h_get);
    tv_curl_headers_free(h->h_post);
    tv_curl_headers_free(h->h_json);
    free(h);
}

static size_t on_body(char *ptr, size_t size, size_t n, void *ud) {
    tv_easy *h = ud;
    size_t len = size * n;
    if (h->resp->body.len + len > h->max_body) {
        h->over_cap = 1;
        return 0; /* abort: CURLE_WRITE_ERROR */
    }
    if (tv_buf_add(&h->resp->body, ptr, len)) return 0;
    return len;
}

/* A POST is never resent by libcurl on its own (its transparent retry when
 * a reused connection turns out dead could apply an update twice).
 *
 * libcurl >= 7.80: the body is given as POSTFIELDS, so the request line,
 * headers and body leave in one write (one segment, one server wakeup),
 * and the pre-request callback, which runs before every send of the
 * request, refuses a second send within one transfer.
 *
 * Older libcurl: the body goes through a read callback; the retry needs a
 * rewind, which on_seek refuses once any byte was handed out (headers and
 * body then leave in two writes). */
#if LIBCURL_VERSION_NUM >= 0x075000
#define TV_POST_PREREQ 1
static int on_prereq(void *ud, char *primary_ip, char *local_ip, int primary_port, int local_port) {
    tv_easy *h = ud;
    (void)primary_ip, (void)local_ip, (void)primary_port, (void)local_port;
    if (h->is_post && h->sends++ > 0) {
        h->resend_refused = 1;
        return CURL_PREREQFUNC_ABORT;
    }
    return CURL_PREREQFUNC_OK;
}
#endif

static size_t on_read(char *buf, size_t size, size_t n, void *ud) {
    tv_easy *h = ud;
    size_t want = size * n, left = h->up_len - h->up_pos;
    if (want > left) want = left;
    memcpy(buf, h->up + h->up_pos, want);
    h->up_pos += want;
    return want;
}

static int on_seek(void *ud, curl_off_t offset, int origin) {
    tv_easy *h = ud;
    if (origin == SEEK_SET && offset == 0 && h->up_pos == 0) return CURL_SEEKFUNC_OK;
    return CURL_SEEKFUNC_CANTSEEK;
}

/* Name lengths of tv_meta_header_names, as a bit set (all < 64): a line
 * whose name has none of them cannot be a tracked header. */
static uint64_t tracked_lengths(void) {
    uint64_t m = 0;
    for (int i = 0; i < TV_NMETA_HEADERS; i++) m |= (uint64_t)1 << (strlen(tv_meta_header_names[i]) & 63);
    return m;
}

/* A 2xx answer's raw block stays below this; past it, what was kept is
 * parsed and the rest of the answer's lines are parsed as they come (a
 * hostile server cannot grow it, and the result is the same). */
#define TV_RAW_HEADERS_MAX 65536

/* The header callback.  An answer that is a 2xx (most of them) keeps its
 * status line and the lines that may be tracked headers in resp->raw, as
 * they are: parsing waits until someone asks (verify.response_of,
 * tv_response_meta_load).  Any other answer -- where the call engine reads
 * Retry-After and the request id -- is parsed line by line. */
static size_t on_header(char *line, size_t size, size_t n, void *ud) {
    tv_easy *h = ud;
    size_t len = size * n;
    tv_response *resp = h->resp;
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) { /* a new response (e.g. after 100) */
        resp->retry_after = -1;
        resp->request_id[0] = '\0';
        tv_response_meta_reset(resp);
        tv_buf_reset(&resp->raw, 0);
        const char *sp = memchr(line, ' ', len); /* "HTTP/1.1 200 OK", "HTTP/2 200" */
        h->raw_headers = sp && (size_t)(sp - line) + 1 < len && sp[1] == '2';
        if (h->raw_headers && tv_buf_add(&resp->raw, line, len)) return 0; /* out of memory: fail the transfer */
        return len;
    }
    if (!h->raw_headers) return tv_response_header_line(resp, line, len) ? 0 : len;
    char c0 = len ? (char)(line[0] | 0x20) : 0;
    if (c0 != 'r' && c0 != 't' && c0 != 'x') return len;
    const char *colon = memchr(line, ':', len);
    if (!colon || (size_t)(colon - line) >= 64 || !((h->tracked_lengths >> (colon - line)) & 1)) return len;
    if (resp->raw.len + len > TV_RAW_HEADERS_MAX) { /* parse what was kept, then the rest as it comes */
        h->raw_headers = 0;
        if (tv_response_meta_load(resp)) return 0;
        return tv_response_header_line(resp, line, len) ? 0 : len;
    }
    if (tv_buf_add(&resp->raw, line, len)) return 0;
    return len;
}

int tv_easy_init(tv_easy *x, const tv_http_conf *conf, struct curl_slist *h_get, struct curl_slist *h_post,
                 struct curl_slist *h_json, tv_error *err) {
    memset(x, 0, sizeof *x);
    if (tv_http_global_init() != 0) return tv_error_set(err, TV_ETRANSPORT, NULL, "curl_global_init failed");
    x->easy = curl_easy_init();
    if (!x->easy) return tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
    x->h_get = h_get;
    x->h_post = h_post;
    x->h_json = h_json;
    CURL *e = x->easy;
    x->max_body = conf->max_body;
    x->tracked_lengths = tracked_lengths();
    x->applied_timeout_ms = conf->timeout_ms;
    int bad = 0;
    bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, x->applied_timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, conf->connect_timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L) != CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075500
    bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
#else
    bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) != CURLE_OK;
#endif
    bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, x) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_HEADERDATA, x) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_READDATA, x) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_SEEKDATA, x) != CURLE_OK;
#ifdef TV_POST_PREREQ
    bad |= curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_PREREQDATA, x) != CURLE_OK;
#endif
    bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, x) != CURLE_OK;
    /* Proxies (see tv_client_http_conf): NULL keeps libcurl's environment
     * handling, "" turns every proxy off (environment included).  Here, so
     * the single-call handle and every batch handle get the same rule. */
    if (conf->proxy) bad |= curl_easy_setopt(e, CURLOPT_PROXY, conf->proxy) != CURLE_OK;
    if (conf->no_proxy) bad |= curl_easy_setopt(e, CURLOPT_NOPROXY, conf->no_proxy) != CURLE_OK;
    /* TLS sessions and DNS answers shared with the process's other clients */
    if (conf->share) bad |= curl_easy_setopt(e, CURLOPT_SHARE, conf->share->sh) != CURLE_OK;
    /* TLS trust (tv_options.ca_file / ca_path): given either, the two are
     * the whole trust store -- libcurl's built-in defaults for the other
     * (Debian: both /etc/ssl/certs/ca-certificates.crt and /etc/ssl/certs)
     * are set to NULL, which disables them, so a private CA pins the
     * server instead of adding to the public ones.  Verification itself
     * (VERIFYPEER/VERIFYHOST above) never turns off.  A TLS backend
     * without CAPATH support is refused when ca_path is given. */
    if (conf->ca_file || conf->ca_path) {
        bad |= curl_easy_setopt(e, CURLOPT_CAINFO, conf->ca_file) != CURLE_OK;
        CURLcode prc = curl_easy_setopt(e, CURLOPT_CAPATH, conf->ca_path);
        if (prc != CURLE_OK && conf->ca_path) {
            tv_easy_cleanup(x);
            return tv_error_set(err, TV_ETRANSPORT, NULL, "ca_path is not supported by this libcurl's TLS backend");
        }
    }
#if LIBCURL_VERSION_NUM >= 0x074100
    /* do not reuse connections idle for long: servers close them, and a
     * request racing that close is the one case libcurl would resend */
    bad |= curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, 30L) != CURLE_OK;
#endif
    if (bad) {
        tv_easy_cleanup(x);
        return tv_error_set(err, TV_ETRANSPORT, NULL, "could not configure libcurl");
    }
    return 0;
}

tv_http *tv_http_new(const tv_http_conf *conf, tv_error *err) {
    struct tv_http *h = calloc(1, sizeof *h);
    if (!h) {
        tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
        return NULL;
    }
    if (tv_curl_headers(conf, &h->h_get, &h->h_post, &h->h_json, err) ||
        tv_easy_init(&h->x, conf, h->h_get, h->h_post, h->h_json, err)) {
        tv_http_free(h);
        return NULL;
    }
    return h;
}

static int transport_error(tv_easy *h, CURLcode rc, tv_error *err) {
    if (rc == CURLE_WRITE_ERROR && h->over_cap) {
        tv_error_set(err, TV_EDECODE, NULL, "response body exceeds the size cap of %zu bytes (max_body)",
                     h->max_body);
        return -1;
    }
    if (rc == CURLE_WRITE_ERROR) return tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
    const char *what;
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: what = "DNS resolution failed"; break;
    case CURLE_COULDNT_CONNECT: what = "connection refused or unreachable"; break;
    case CURLE_OPERATION_TIMEDOUT: what = "timed out"; break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE: what = "TLS failure"; break;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE: what = "connection reset or closed early"; break;
    case CURLE_SEND_FAIL_REWIND:
        what = "connection closed before any response; the POST may have been received, so it was not resent";
        break;
    default: what = "transfer failed"; break;
    }
    if (h->resend_refused) /* CURLE_ABORTED_BY_CALLBACK from on_prereq */
        what = "connection closed before any response; the POST may have been received, so it was not resent";
    const char *detail = h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc);
    tv_error_set(err, TV_ETRANSPORT, NULL, "%s: %s (curl %d)", what, detail, (int)rc);
    err->transport_code = (int)rc;
    err->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
    err->unsent = rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY ||
                  rc == CURLE_COULDNT_CONNECT;
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        curl_off_t connect_us = 0;
        if (curl_easy_getinfo(h->easy, CURLINFO_CONNECT_TIME_T, &connect_us) == CURLE_OK && connect_us == 0)
            err->unsent = 1; /* timed out while connecting */
    }
    return -1;
}

void tv_easy_prepare(tv_easy *x, const tv_http_conf *conf, const tv_request *req, tv_response *resp) {
    CURL *e = x->easy;
    x->resp = resp;
    x->over_cap = 0;
    x->is_post = req->method == TV_POST;
    x->sends = x->resend_refused = 0;
    x->errbuf[0] = '\0';
    long timeout = conf->timeout_ms;
    if (timeout != x->applied_timeout_ms) {
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
        x->applied_timeout_ms = timeout;
    }
    curl_easy_setopt(e, CURLOPT_URL, req->url.data);
    switch (req->method) {
    case TV_GET:
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->h_get);
        break;
    case TV_DELETE:
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->h_get);
        break;
    case TV_POST:
        x->up = req->body.data ? req->body.data : "";
        x->up_len = req->body.len;
        x->up_pos = 0;
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
        curl_easy_setopt(e, CURLOPT_POST, 1L);
#ifdef TV_POST_PREREQ
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->up); /* not copied; reset in tv_easy_finish */
#else
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
#endif
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body.len);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER,
                         req->op && (req->op->flags & TV_OPF_JSON_BODY) ? x->h_json : x->h_post);
        break;
    }
}

int tv_easy_finish(tv_easy *x, CURLcode rc, tv_error *err) {
    /* never keep a pointer to the (secret-bearing) body after the call */
#ifdef TV_POST_PREREQ
    if (x->is_post) curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, NULL); /* the next prepare sets the method */
#endif
    x->up = NULL;
    x->up_len = x->up_pos = 0;
    tv_response *resp = x->resp;
    x->resp = NULL;
    if (rc != CURLE_OK) return transport_error(x, rc, err);
    long status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    resp->status = status;
    return 0;
}

int tv_http_perform(tv_http *h, const tv_http_conf *conf, const tv_request *req, tv_response *resp, tv_error *err) {
    tv_easy *x = &h->x;
    tv_easy_prepare(x, conf, req, resp);
    return tv_easy_finish(x, curl_easy_perform(x->easy), err);
}
