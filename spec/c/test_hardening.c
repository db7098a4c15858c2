/* test_hardening.c -- issue 15: where the credentials may go.
 *
 * Proxies: a plain-http client never sends its request (and its Basic
 * credentials) to a proxy named by the environment; only an explicit
 * tv_options.proxy does that.  https keeps the environment's proxy, through
 * a CONNECT tunnel (no Authorization in the clear).  The "proxy" here is a
 * listening socket that never accepts during the call: libcurl's connection
 * lands in its backlog, its request bytes wait in the socket buffer, the
 * transfer times out, and afterwards the test accepts and reads what it
 * would have seen.  No threads, no external processes.
 *
 * Issue 16: a 401 names the credential used (never its secret) and where it
 * came from (tv_client_explain); the TLS trust options ca_file / ca_path
 * are checked when the client is made and reach every libcurl handle
 * through tv_http_conf. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "ctest.h"
#include "tv.h"

#define AC "AC0123456789abcdef0123456789abcdef"
#define SVC "VAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define YF "YFaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define TOKEN "hardening-secret-token"

/* A listening socket on 127.0.0.1, port in *port. */
static int listener(int *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 16) ||
        getsockname(fd, (struct sockaddr *)&a, &len)) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* A port where nothing listens (bound, then closed). */
static int dead_port(void) {
    int port = 0, fd = listener(&port);
    if (fd >= 0) close(fd);
    return port;
}

/* Accept a pending connection (if any, without waiting) and read what it
 * sent into buf.  Returns the number of connections taken (0 or 1). */
static int take(int lfd, char *buf, size_t cap) {
    buf[0] = '\0';
    struct pollfd p = {lfd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) return 0;
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0) return 0;
    size_t n = 0;
    for (;;) {
        struct pollfd q = {fd, POLLIN, 0};
        if (n + 1 >= cap || poll(&q, 1, 100) <= 0) break;
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0) break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    close(fd);
    return 1;
}

static void set_proxy_env(const char *url) {
    const char *names[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        if (url) setenv(names[i], url, 1);
        else unsetenv(names[i]);
    }
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
}

static tv_client *client(const char *base, const char *proxy, const char *no_proxy) {
    tv_options o = {0};
    o.account_sid = AC;
    o.auth_token = TOKEN;
    o.base_url = base;
    o.max_retries = 0;
    o.timeout_ms = 400;
    o.connect_timeout_ms = 400;
    o.proxy = proxy;
    o.no_proxy = no_proxy;
    tv_error err = TV_ERROR_INIT;
    tv_client *c = tv_client_new(&o, &err);
    if (!c) fprintf(stderr, "tv_client_new(%s): %s\n", base, err.message);
    tv_error_clear(&err);
    return c;
}

static int build_fetch(tv_client *c, tv_request *req) {
    const tv_str path[] = {{SVC, strlen(SVC)}, {"user-0001", 9}, {YF, strlen(YF)}};
    tv_error err = TV_ERROR_INIT;
    int rc = tv_build(tv_client_origin(c), tv_operation_by_name("fetch_factor"), path, NULL, 0, req, &err);
    tv_error_clear(&err);
    return rc;
}

/* One fetch over the single-call path; the error kind (TV_OK on success). */
static int fetch(tv_client *c) {
    tv_request req = {0};
    tv_response resp = {0};
    tv_error err = TV_ERROR_INIT;
    cJSON *out = NULL;
    int kind = TV_EARG;
    if (build_fetch(c, &req) == 0) {
        kind = tv_client_execute(c, &req, NULL, &resp, &out, &err) == 0 ? TV_OK : (int)err.kind;
    }
    cJSON_Delete(out);
    tv_error_clear(&err);
    tv_response_free(&resp);
    tv_request_free(&req);
    return kind;
}

/* The same fetch through the batch engine (its own easy handles). */
static int batch_fetch(tv_client *c) {
    tv_error err = TV_ERROR_INIT;
    tv_batch *b = tv_batch_new(c, 1, NULL, &err);
    if (!b) {
        tv_error_clear(&err);
        return -1;
    }
    tv_request req = {0};
    if (build_fetch(c, &req)) {
        tv_batch_free(b);
        return -1;
    }
    tv_batch_set_request(b, 0, &req, 0);
    int rc;
    while ((rc = tv_batch_step(b, 100, &err)) == 0) {
    }
    int kind = -1;
    const cJSON *out = NULL;
    const tv_error *e = NULL;
    if (rc == 1) kind = tv_batch_result(b, 0, &out, &e) == 0 ? TV_OK : (int)e->kind;
    tv_batch_free(b);
    tv_request_free(&req);
    tv_error_clear(&err);
    return kind;
}

/* What tv_client_http_conf hands to tv_easy_init: 1 when conf.proxy and
 * conf.no_proxy are as expected (NULL: NULL).  The strings point into the
 * client, so they are compared before it is freed. */
static int conf_is(const char *base, const char *proxy, const char *no_proxy, const char *want_proxy,
                   const char *want_no_proxy) {
    tv_client *c = client(base, proxy, no_proxy);
    if (!c) return 0;
    tv_http_conf conf;
    memset(&conf, 0, sizeof conf);
    tv_client_http_conf(c, 0, &conf);
    int ok = (want_proxy ? conf.proxy && strcmp(conf.proxy, want_proxy) == 0 : conf.proxy == NULL) &&
             (want_no_proxy ? conf.no_proxy && strcmp(conf.no_proxy, want_no_proxy) == 0 : conf.no_proxy == NULL);
    if (!ok)
        fprintf(stderr, "%s: proxy %s, no_proxy %s\n", base, conf.proxy ? conf.proxy : "(null)",
                conf.no_proxy ? conf.no_proxy : "(null)");
    tv_client_free(c);
    return ok;
}

static void test_conf(void) {
    /* plain http: never the environment's proxy */
    CHECK(conf_is("http://127.0.0.1:9", NULL, NULL, "", NULL));
    CHECK(conf_is("http://localhost:9", NULL, "x", "", "x"));
    /* https: libcurl's environment handling (CONNECT) */
    CHECK(conf_is("https://verify.twilio.com", NULL, NULL, NULL, NULL));
    /* explicit: used as given, "" = none */
    CHECK(conf_is("https://verify.twilio.com", "", "example.com", "", "example.com"));
    CHECK(conf_is("http://localhost:9", "http://proxy.example:3128", NULL, "http://proxy.example:3128", NULL));
    /* a bad option after a good one: nothing left behind (ASan/valgrind) */
    tv_options o = {0};
    o.account_sid = AC;
    o.auth_token = TOKEN;
    o.max_retries = -1;
    o.proxy = "http://user:pw@proxy.example:3128";
    o.no_proxy = "a\nb";
    tv_error err = TV_ERROR_INIT;
    CHECK(tv_client_new(&o, &err) == NULL);
    CHECK_STR(err.param, "no_proxy");
    o.no_proxy = NULL;
    o.proxy = "http://proxy\r\n.example";
    CHECK(tv_client_new(&o, &err) == NULL);
    CHECK_STR(err.param, "proxy");
    CHECK(strstr(err.message, "proxy.example") == NULL);
    tv_error_clear(&err);
}

/* http_proxy & co. in the environment, plain-http client to 127.0.0.1:
 * nothing reaches the proxy, over either path. */
static void test_env_proxy_ignored_for_http(int lfd, const char *purl) {
    char seen[4096], base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", dead_port());
    set_proxy_env(purl);
    tv_client *c = client(base, NULL, NULL);
    CHECK(c != NULL);
    if (!c) return;
    CHECK_INT(fetch(c), TV_ETRANSPORT); /* connection refused: went direct */
    int n = take(lfd, seen, sizeof seen);
    if (n) fprintf(stderr, "the proxy received:\n%s\n", seen);
    CHECK_INT(n, 0);
    CHECK(strstr(seen, "Authorization") == NULL);
    CHECK_INT(batch_fetch(c), TV_ETRANSPORT);
    n = take(lfd, seen, sizeof seen);
    if (n) fprintf(stderr, "the proxy received (batch):\n%s\n", seen);
    CHECK_INT(n, 0);
    tv_client_free(c);
    /* localhost too */
    snprintf(base, sizeof base, "http://localhost:%d", dead_port());
    c = client(base, NULL, NULL);
    CHECK(c != NULL);
    if (c) {
        fetch(c);
        CHECK_INT(take(lfd, seen, sizeof seen), 0);
        tv_client_free(c);
    }
    set_proxy_env(NULL);
}

/* An explicit proxy option is used, for http too, on both paths. */
static void test_explicit_proxy_used(int lfd, const char *purl) {
    char seen[4096], base[64];
    int port = dead_port();
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    set_proxy_env(NULL);
    tv_client *c = client(base, purl, NULL);
    CHECK(c != NULL);
    if (!c) return;
    fetch(c); /* times out: the "proxy" never answers */
    CHECK_INT(take(lfd, seen, sizeof seen), 1);
    char line[128];
    snprintf(line, sizeof line, "GET http://127.0.0.1:%d/v2/Services/" SVC "/", port);
    CHECK(strncmp(seen, line, strlen(line)) == 0);
    batch_fetch(c);
    CHECK_INT(take(lfd, seen, sizeof seen), 1);
    CHECK(strncmp(seen, line, strlen(line)) == 0);
    tv_client_free(c);
    /* no_proxy names the host: direct again */
    c = client(base, purl, "127.0.0.1");
    CHECK(c != NULL);
    if (c) {
        CHECK_INT(fetch(c), TV_ETRANSPORT);
        CHECK_INT(take(lfd, seen, sizeof seen), 0);
        tv_client_free(c);
    }
}

/* https: the environment's proxy is used through CONNECT (the
 * Authorization header is not in what the proxy sees); proxy = "" turns
 * it off. */
static void test_https(int lfd, const char *purl) {
    char seen[4096], base[64];
    int port = dead_port();
    snprintf(base, sizeof base, "https://127.0.0.1:%d", port);
    set_proxy_env(purl);
    tv_client *c = client(base, NULL, NULL);
    CHECK(c != NULL);
    if (c) {
        fetch(c);
        CHECK_INT(take(lfd, seen, sizeof seen), 1);
        char line[96];
        snprintf(line, sizeof line, "CONNECT 127.0.0.1:%d HTTP/1.", port);
        CHECK(strncmp(seen, line, strlen(line)) == 0);
        CHECK(strstr(seen, "Authorization") == NULL);
        CHECK(strstr(seen, "Basic") == NULL);
        tv_client_free(c);
    }
    c = client(base, "", NULL);
    CHECK(c != NULL);
    if (c) {
        CHECK_INT(fetch(c), TV_ETRANSPORT);
        CHECK_INT(take(lfd, seen, sizeof seen), 0);
        batch_fetch(c);
        CHECK_INT(take(lfd, seen, sizeof seen), 0);
        tv_client_free(c);
    }
    set_proxy_env(NULL);
}

#define SK "SK0123456789abcdef0123456789abcdef"
#define KEY_SECRET "hardening-api-secret"

static tv_client *cred_client(const char *api_key, int source) {
    tv_options o = {0};
    o.account_sid = AC;
    o.max_retries = -1;
    if (api_key) {
        o.api_key = api_key;
        o.api_secret = KEY_SECRET;
    } else {
        o.auth_token = TOKEN;
    }
    o.credential_source = source;
    tv_error err = TV_ERROR_INIT;
    tv_client *c = tv_client_new(&o, &err);
    if (!c) fprintf(stderr, "tv_client_new: %s\n", err.message);
    tv_error_clear(&err);
    return c;
}

/* err: an http error with `status` and message `msg`, as tv_parse_response
 * leaves it. */
static void http_error(tv_error *err, long status, const char *msg) {
    tv_error_set(err, TV_EHTTP, NULL, "%s", msg);
    err->status = status;
    err->code = 20003;
}

static void test_explain(void) {
    tv_error err = TV_ERROR_INIT;
    /* auth token, from the options */
    tv_client *c = cred_client(NULL, TV_CRED_OPTIONS);
    CHECK(c != NULL);
    if (!c) return;
    http_error(&err, 401, "Authenticate");
    tv_client_explain(c, &err);
    CHECK_STR(err.message, "Authenticate (credentials: account " AC " with its auth token, from the options)");
    CHECK(strstr(err.message, TOKEN) == NULL);
    /* once: a second call changes nothing */
    tv_client_explain(c, &err);
    CHECK_STR(err.message, "Authenticate (credentials: account " AC " with its auth token, from the options)");
    /* only a 401 http error */
    http_error(&err, 403, "Forbidden");
    tv_client_explain(c, &err);
    CHECK_STR(err.message, "Forbidden");
    tv_error_set(&err, TV_ETRANSPORT, NULL, "timed out");
    err.status = 401; /* not an http error: untouched whatever the status says */
    tv_client_explain(c, &err);
    CHECK_STR(err.message, "timed out");
    /* NULL-safe */
    tv_client_explain(NULL, &err);
    tv_client_explain(c, NULL);
    /* a message that fills the record: shortened (at a character boundary),
     * the explanation whole */
    char longmsg[TV_ERR_MESSAGE_MAX + 8];
    size_t k = 0;
    while (k + 2 < sizeof longmsg) { /* "é" (2 bytes) repeated */
        longmsg[k++] = (char)0xc3;
        longmsg[k++] = (char)0xa9;
    }
    longmsg[k] = '\0';
    http_error(&err, 401, longmsg);
    tv_client_explain(c, &err);
    const char *tail = " (credentials: account " AC " with its auth token, from the options)";
    size_t ml = strlen(err.message), tl = strlen(tail);
    CHECK(ml < sizeof err.message);
    CHECK(ml > tl && strcmp(err.message + ml - tl, tail) == 0);
    CHECK((ml - tl) % 2 == 0); /* no half character before the explanation */
    tv_client_free(c);
    /* auth token, from the environment */
    c = cred_client(NULL, TV_CRED_ENVIRONMENT);
    CHECK(c != NULL);
    if (c) {
        http_error(&err, 401, "Authenticate");
        tv_client_explain(c, &err);
        CHECK_STR(err.message, "Authenticate (credentials: account " AC " with its auth token, from the "
                               "environment: TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN)");
        tv_client_free(c);
    }
    /* API key: its SID and the account, never the secret */
    c = cred_client(SK, TV_CRED_OPTIONS);
    CHECK(c != NULL);
    if (c) {
        http_error(&err, 401, "Authenticate");
        tv_client_explain(c, &err);
        CHECK_STR(err.message, "Authenticate (credentials: API key " SK " for account " AC ", from the options)");
        CHECK(strstr(err.message, KEY_SECRET) == NULL);
        /* after close (credentials wiped) the SIDs are still there to name */
        tv_client_close(c);
        http_error(&err, 401, "Authenticate");
        tv_client_explain(c, &err);
        CHECK(strstr(err.message, SK) != NULL);
        tv_client_free(c);
    }
    c = cred_client(SK, TV_CRED_ENVIRONMENT);
    CHECK(c != NULL);
    if (c) {
        http_error(&err, 401, "Authenticate");
        tv_client_explain(c, &err);
        CHECK_STR(err.message, "Authenticate (credentials: API key " SK " for account " AC ", from the "
                               "environment: TWILIO_API_KEY / TWILIO_API_SECRET)");
        tv_client_free(c);
    }
    /* an unknown source is refused */
    tv_options o = {0};
    o.account_sid = AC;
    o.auth_token = TOKEN;
    o.max_retries = -1;
    o.credential_source = 7;
    CHECK(tv_client_new(&o, &err) == NULL);
    CHECK_INT(err.kind, TV_EARG);
    CHECK_STR(err.param, "credential_source");
    tv_error_clear(&err);
}

/* ca_file / ca_path: checked by tv_client_new, handed to libcurl through
 * tv_http_conf (NULL when not set). */
static tv_client *ca_client(const char *ca_file, const char *ca_path, tv_error *err) {
    tv_options o = {0};
    o.account_sid = AC;
    o.auth_token = TOKEN;
    o.max_retries = -1;
    o.ca_file = ca_file;
    o.ca_path = ca_path;
    return tv_client_new(&o, err);
}

static void test_ca_options(void) {
    char dir[] = "/tmp/tv-ca-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char file[64], missing[64];
    snprintf(file, sizeof file, "%s/ca.pem", dir);
    snprintf(missing, sizeof missing, "%s/none.pem", dir);
    FILE *f = fopen(file, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("not checked here: libcurl reads it\n", f);
        fclose(f);
    }
    tv_error err = TV_ERROR_INIT;
    tv_http_conf conf;
    /* not set: libcurl's defaults */
    tv_client *c = ca_client(NULL, NULL, &err);
    CHECK(c != NULL);
    if (c) {
        memset(&conf, 0xff, sizeof conf);
        tv_client_http_conf(c, 0, &conf);
        CHECK(conf.ca_file == NULL && conf.ca_path == NULL);
        tv_client_free(c);
    }
    /* both set: copied, handed on */
    c = ca_client(file, dir, &err);
    CHECK(c != NULL);
    if (c) {
        memset(&conf, 0, sizeof conf);
        tv_client_http_conf(c, 0, &conf);
        CHECK_STR(conf.ca_file, file);
        CHECK_STR(conf.ca_path, dir);
        CHECK(conf.ca_file != file && conf.ca_path != dir); /* copies */
        tv_client_free(c);
    }
    /* refused: each names its option */
    struct {
        const char *ca_file, *ca_path, *param, *says;
    } bad[] = {
        {missing, NULL, "ca_file", "does not exist"},
        {dir, NULL, "ca_file", "is a directory"},
        {"", NULL, "ca_file", "must not be empty"},
        {"/tmp/a\nb", NULL, "ca_file", NULL},
        {NULL, missing, "ca_path", "does not exist"},
        {NULL, file, "ca_path", "is not a directory"},
        {NULL, "", "ca_path", "must not be empty"},
        {file, missing, "ca_path", "does not exist"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK(ca_client(bad[i].ca_file, bad[i].ca_path, &err) == NULL);
        CHECK_INT(err.kind, TV_EARG);
        CHECK_STR(err.param, bad[i].param);
        if (bad[i].says && !strstr(err.message, bad[i].says))
            fprintf(stderr, "case %zu: %s\n", i, err.message);
        CHECK(!bad[i].says || strstr(err.message, bad[i].says) != NULL);
        tv_error_clear(&err);
    }
    /* unreadable (when not root: root reads anything) */
    if (geteuid() != 0 && chmod(file, 0) == 0) {
        CHECK(ca_client(file, NULL, &err) == NULL);
        CHECK_STR(err.param, "ca_file");
        CHECK(strstr(err.message, "permission denied") != NULL);
        tv_error_clear(&err);
    }
    remove(file);
    rmdir(dir);
}

int main(void) {
    int pport = 0, lfd = listener(&pport);
    CHECK(lfd >= 0);
    if (lfd < 0) return ct_report("test_hardening");
    char purl[64];
    snprintf(purl, sizeof purl, "http://127.0.0.1:%d", pport);
    test_conf();
    test_env_proxy_ignored_for_http(lfd, purl);
    test_explicit_proxy_used(lfd, purl);
    test_https(lfd, purl);
    test_explain();
    test_ca_options();
    close(lfd);
    return ct_report("test_hardening");
}
