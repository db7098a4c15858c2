/* test_engine.c -- the call engine (tv_engine.c) driven through every path
 * with fabricated responses and a fabricated clock: no network, no sleep.
 * The responses go through the real parser (tv_parse_response), so the
 * classification seen here is the one the adapters see. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "ctest.h"
#include "tv.h"

#define AC "AC0123456789abcdef0123456789abcdef"

static tv_client *client(int max_retries, long base_ms, long cap_ms, long ra_cap_ms) {
    tv_options o = {0};
    o.account_sid = AC;
    o.auth_token = "secret-token-never-shown";
    o.base_url = "http://127.0.0.1:9";
    o.max_retries = max_retries;
    o.retry_base_ms = base_ms;
    o.retry_cap_ms = cap_ms;
    o.retry_after_cap_ms = ra_cap_ms;
    tv_error err = TV_ERROR_INIT;
    tv_client *c = tv_client_new(&o, &err);
    if (!c) fprintf(stderr, "tv_client_new: %s\n", err.message);
    tv_error_clear(&err);
    return c;
}

/* A request of operation `name` (no validation needed: the engine reads
 * method, url and body). */
static void request(tv_request *req, const char *name, const char *body) {
    memset(req, 0, sizeof *req);
    req->op = tv_operation_by_name(name);
    req->method = req->op->method;
    tv_buf_adds(&req->url, "http://127.0.0.1:9/v2/Services/VA0/Entities/u/Factors/YF0");
    if (body) tv_buf_adds(&req->body, body);
}

/* Fabricated responses, parsed as an adapter parses them.  `fed` is what
 * the adapter would pass: the response (NULL for a transport failure) and
 * the error (NULL for a success). */
typedef struct fab {
    tv_response resp;
    tv_error err;
    cJSON *out;
    int failed;
} fab;

static void http(fab *f, const tv_request *req, long status, const char *body, double retry_after) {
    memset(f, 0, sizeof *f);
    tv_error init = TV_ERROR_INIT;
    f->err = init;
    f->resp.status = status;
    f->resp.retry_after = retry_after;
    if (body) tv_buf_adds(&f->resp.body, body);
    f->failed = tv_parse_response(req, &f->resp, &f->out, &f->err) != 0;
}

static void transport(fab *f, tv_kind kind, int timed_out, int unsent) {
    memset(f, 0, sizeof *f);
    tv_error init = TV_ERROR_INIT;
    f->err = init;
    f->resp.retry_after = -1;
    if (kind != TV_OK) tv_error_set(&f->err, kind, NULL, "connection reset");
    f->err.timed_out = timed_out;
    f->err.unsent = unsent;
    f->failed = -1; /* no response */
}

static void feed(tv_call *k, double now, fab *f) {
    tv_call_feed(k, now, f->failed < 0 ? NULL : &f->resp, f->failed ? &f->err : NULL);
    tv_error_clear(&f->err);
    tv_response_free(&f->resp);
    cJSON_Delete(f->out);
    f->out = NULL;
}

#define FACTOR "{\"sid\":\"YF0\",\"status\":\"verified\"}"
#define E503 "{\"code\":20503,\"message\":\"busy\",\"status\":503}"
#define E429 "{\"code\":20429,\"message\":\"Too Many Requests\",\"status\":429}"
#define E404 "{\"code\":20404,\"message\":\"not found\",\"status\":404}"

static void test_classify(void) {
    struct {
        tv_method m;
        tv_kind kind;
        long status, code;
        int timed_out, unsent, want;
    } cases[] = {
        {TV_GET, TV_EHTTP, 429, 20429, 0, 0, 1},  {TV_POST, TV_EHTTP, 429, 20429, 0, 0, 1},
        {TV_GET, TV_EHTTP, 429, 0, 0, 0, 1},      {TV_DELETE, TV_EHTTP, 429, 0, 0, 0, 1},
        {TV_POST, TV_EHTTP, 429, 0, 0, 0, 0},     {TV_GET, TV_EHTTP, 429, 60310, 0, 0, 0},
        {TV_POST, TV_EHTTP, 429, 60326, 0, 0, 0}, {TV_GET, TV_EHTTP, 503, 20503, 0, 0, 1},
        {TV_GET, TV_EHTTP, 502, 0, 0, 0, 1},      {TV_DELETE, TV_EHTTP, 504, 0, 0, 0, 1},
        {TV_POST, TV_EHTTP, 503, 0, 0, 0, 0},     {TV_GET, TV_EHTTP, 500, 20500, 0, 0, 0},
        {TV_GET, TV_EHTTP, 404, 20404, 0, 0, 0},  {TV_GET, TV_ETRANSPORT, 0, 0, 0, 0, 1},
        {TV_GET, TV_ETRANSPORT, 0, 0, 1, 0, 0},   {TV_POST, TV_ETRANSPORT, 0, 0, 0, 0, 0},
        {TV_POST, TV_ETRANSPORT, 0, 0, 0, 1, 1},  {TV_POST, TV_ETRANSPORT, 0, 0, 1, 1, 0},
        {TV_GET, TV_EDECODE, 200, 0, 0, 0, 0},    {TV_GET, TV_ENOMEM, 0, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        tv_error e = TV_ERROR_INIT;
        e.kind = cases[i].kind;
        e.status = cases[i].status;
        e.code = cases[i].code;
        e.timed_out = cases[i].timed_out;
        e.unsent = cases[i].unsent;
        tv_classify(cases[i].m, &e);
        if (e.retryable != cases[i].want) fprintf(stderr, "classify case %zu\n", i);
        CHECK_INT(e.retryable, cases[i].want);
    }
}

static void test_backoff(void) {
    tv_policy p = {3, 100, 800, 1500, 0x9e3779b97f4a7c15ull};
    CHECK(tv_backoff(&p, 1, 0) == 0);
    CHECK(tv_backoff(&p, 1, 1.0) == 1.0);
    CHECK(tv_backoff(&p, 4, 3600) == 1.5); /* Retry-After capped at retry_after_cap */
    const double ceil_s[] = {0, 0.1, 0.2, 0.4, 0.8, 0.8, 0.8};
    int in_range = 1, spread = 0;
    for (int a = 1; a <= 6; a++)
        for (int i = 0; i < 200; i++) {
            double d = tv_backoff(&p, a, -1);
            if (!(d >= 0 && d < ceil_s[a])) in_range = 0;
            if (d > ceil_s[a] / 2) spread = 1;
        }
    CHECK(in_range); /* full jitter below min(cap, base * 2^(attempt-1)) */
    CHECK(spread);
    tv_policy q = {3, 100, 800, 1500, 0}; /* seeded on first use */
    double d = tv_backoff(&q, 1, -1);
    CHECK(d >= 0 && d < 0.1);
    CHECK(q.rng != 0);
}

/* A success on the first attempt: SEND, DONE, nothing else (no hooks asked). */
static void test_success(tv_client *c) {
    tv_request req;
    request(&req, "fetch_factor", NULL);
    tv_call k;
    tv_call_init(&k, tv_client_env(c), &req, NULL, NULL, 0);
    CHECK(!tv_call_in_flight(&k));
    CHECK_INT(tv_call_next(&k, 10.0), TV_STEP_SEND);
    CHECK(tv_call_in_flight(&k));
    CHECK_INT(tv_call_next(&k, 10.0), TV_STEP_SEND); /* in flight: feed first */
    CHECK_INT(tv_call_attempt(&k), 1);
    fab f;
    http(&f, &req, 200, FACTOR, -1);
    feed(&k, 10.25, &f);
    CHECK(!tv_call_in_flight(&k));
    CHECK(tv_call_settled(&k));
    CHECK_INT(tv_call_next(&k, 10.25), TV_STEP_DONE);
    CHECK_INT(tv_call_next(&k, 11.0), TV_STEP_DONE); /* stays done */
    CHECK(tv_call_error(&k) == NULL);
    tv_error err = TV_ERROR_INIT;
    CHECK_INT(tv_call_take_error(&k, &err), 0);
    CHECK_INT(err.kind, TV_OK);
    /* a result fed while nothing is in flight is ignored (and its error freed) */
    transport(&f, TV_ETRANSPORT, 0, 0);
    tv_error_set_str(&f.err.url, "x");
    feed(&k, 12.0, &f);
    CHECK_INT(tv_call_next(&k, 12.0), TV_STEP_DONE);
    CHECK(tv_call_error(&k) == NULL);
    tv_call_release(&k);
    tv_call_release(&k); /* twice is fine */
    tv_request_free(&req);
}

/* GET 503, then 200, with both hooks: LOG, RETRY, SLEEP, SEND, LOG, DONE. */
static void test_retry_with_hooks(tv_client *c) {
    tv_request req;
    request(&req, "fetch_factor", NULL);
    tv_call k;
    tv_call_init(&k, tv_client_env(c), &req, NULL, NULL, TV_CALL_LOG | TV_CALL_ON_RETRY);
    CHECK_INT(tv_call_next(&k, 100.0), TV_STEP_SEND);
    fab f;
    http(&f, &req, 503, E503, -1);
    feed(&k, 100.5, &f);
    CHECK(!tv_call_settled(&k));
    CHECK_INT(tv_call_next(&k, 100.5), TV_STEP_LOG);
    tv_event ev;
    tv_call_event(&k, &ev);
    CHECK_STR(ev.method, "GET");
    CHECK_STR(ev.url, req.url.data);
    CHECK_STR(ev.body, "");
    CHECK_INT(ev.status, 503);
    CHECK_INT(ev.attempt, 1);
    CHECK(ev.duration == 0.5);
    CHECK(ev.err && ev.err->status == 503 && ev.err->retryable);
    CHECK_INT(tv_call_next(&k, 100.5), TV_STEP_RETRY);
    CHECK_INT(tv_call_attempt(&k) + 1, 2);
    double delay = tv_call_delay(&k);
    CHECK(delay >= 0 && delay < 0.1); /* attempt 1: below retry_base */
    CHECK(tv_call_error(&k) && tv_call_error(&k)->code == 20503);
    CHECK_INT(tv_call_next(&k, 100.5), TV_STEP_SLEEP);
    CHECK(tv_call_delay(&k) == delay);
    if (delay > 0.001) { /* asked again early: the time left */
        CHECK_INT(tv_call_next(&k, 100.5 + delay / 2), TV_STEP_SLEEP);
        CHECK(tv_call_delay(&k) > 0 && tv_call_delay(&k) < delay);
    }
    CHECK_INT(tv_call_next(&k, 100.5 + delay), TV_STEP_SEND);
    CHECK_INT(tv_call_attempt(&k), 2);
    http(&f, &req, 200, FACTOR, -1);
    feed(&k, 101.0, &f);
    CHECK(tv_call_settled(&k));
    CHECK_INT(tv_call_next(&k, 101.0), TV_STEP_LOG);
    tv_call_event(&k, &ev);
    CHECK_INT(ev.status, 200);
    CHECK_INT(ev.attempt, 2);
    CHECK(ev.err == NULL);
    CHECK_INT(tv_call_next(&k, 101.0), TV_STEP_DONE);
    CHECK(tv_call_error(&k) == NULL);
    tv_call_release(&k);
    tv_request_free(&req);
}

/* Attempts stop at max_retries + 1 (client default, or the call's own). */
static void test_max_retries(tv_client *c) {
    tv_request req;
    request(&req, "delete_factor", NULL);
    for (int override = -1; override <= 1; override++) {
        tv_call_opts co = {0, override};
        int want = override < 0 ? tv_client_max_retries(c) + 1 : override + 1;
        tv_call k;
        tv_call_init(&k, tv_client_env(c), &req, &co, NULL, 0);
        double now = 1.0;
        int sends = 0;
        tv_step st;
        while ((st = tv_call_next(&k, now)) != TV_STEP_DONE) {
            if (st == TV_STEP_SEND) {
                sends++;
                fab f;
                http(&f, &req, 503, E503, -1);
                feed(&k, now, &f);
            } else {
                CHECK_INT(st, TV_STEP_SLEEP);
                now += tv_call_delay(&k);
            }
            if (sends > 10) break;
        }
        CHECK_INT(sends, want);
        tv_error err = TV_ERROR_INIT;
        CHECK_INT(tv_call_take_error(&k, &err), -1);
        CHECK_INT(err.kind, TV_EHTTP);
        CHECK_INT(err.status, 503);
        CHECK(err.retryable); /* retryable, but out of attempts */
        CHECK_STR(err.method, "DELETE");
        CHECK(tv_call_error(&k) == NULL); /* moved out */
        tv_error_clear(&err);
        tv_call_release(&k);
    }
    tv_request_free(&req);
}

/* One attempt and its outcome: how many sends until DONE (at most 3). */
static int sends_until_done(tv_client *c, const char *op, int nfail, void (*fail)(fab *, const tv_request *),
                            tv_error *out) {
    tv_request req;
    request(&req, op, "FriendlyName=x");
    tv_call k;
    tv_call_init(&k, tv_client_env(c), &req, NULL, NULL, 0);
    double now = 5.0;
    int sends = 0;
    tv_step st;
    while ((st = tv_call_next(&k, now)) != TV_STEP_DONE && sends < 5) {
        if (st == TV_STEP_SLEEP) {
            now += tv_call_delay(&k);
            continue;
        }
        fab f;
        if (sends++ < nfail) fail(&f, &req);
        else http(&f, &req, 200, FACTOR, -1);
        feed(&k, now, &f);
    }
    tv_call_take_error(&k, out);
    tv_call_release(&k);
    tv_request_free(&req);
    return sends;
}

static void f503(fab *f, const tv_request *r) { http(f, r, 503, E503, -1); }
static void f429(fab *f, const tv_request *r) { http(f, r, 429, E429, 0); }
static void f429bare(fab *f, const tv_request *r) { http(f, r, 429, "<html>slow down</html>", -1); }
static void f60310(fab *f, const tv_request *r) {
    http(f, r, 429, "{\"code\":60310,\"message\":\"Max check attempts reached\",\"status\":429}", -1);
}
static void f404(fab *f, const tv_request *r) { http(f, r, 404, E404, -1); }
static void freset(fab *f, const tv_request *r) { (void)r, transport(f, TV_ETRANSPORT, 0, 0); }
static void frefused(fab *f, const tv_request *r) { (void)r, transport(f, TV_ETRANSPORT, 0, 1); }
static void ftimeout(fab *f, const tv_request *r) { (void)r, transport(f, TV_ETRANSPORT, 1, 0); }
static void fdecode(fab *f, const tv_request *r) { http(f, r, 200, "{\"sid\":", -1); }

/* The classification as the engine applies it: never a POST twice unless
 * it provably was not applied; timeouts never. */
static void test_outcomes(tv_client *c) {
    struct {
        const char *op;
        void (*fail)(fab *, const tv_request *);
        int sends;
        tv_kind kind; /* TV_OK: succeeded on the retry */
    } cases[] = {
        {"fetch_factor", f503, 2, TV_OK},         {"update_factor", f503, 1, TV_EHTTP},
        {"update_factor", f429, 2, TV_OK},        {"fetch_factor", f429bare, 2, TV_OK},
        {"update_factor", f429bare, 1, TV_EHTTP}, {"update_factor", f60310, 1, TV_EHTTP},
        {"fetch_factor", f404, 1, TV_EHTTP},      {"fetch_factor", freset, 2, TV_OK},
        {"update_factor", freset, 1, TV_ETRANSPORT}, {"update_factor", frefused, 2, TV_OK},
        {"fetch_factor", ftimeout, 1, TV_ETRANSPORT}, {"fetch_factor", fdecode, 1, TV_EDECODE},
        {"delete_factor", freset, 2, TV_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        tv_error err = TV_ERROR_INIT;
        int n = sends_until_done(c, cases[i].op, 1, cases[i].fail, &err);
        if (n != cases[i].sends || err.kind != cases[i].kind) fprintf(stderr, "outcome case %zu\n", i);
        CHECK_INT(n, cases[i].sends);
        CHECK_INT(err.kind, cases[i].kind);
        tv_error_clear(&err);
    }
}

/* A transport failure without a kind becomes TV_ETRANSPORT with the
 * request's context; a decode error after a 200 logs status 0. */
static void test_transport_context(tv_client *c) {
    tv_request req;
    request(&req, "update_factor", "AuthPayload=123456&FriendlyName=x");
    tv_call k;
    tv_call_init(&k, tv_client_env(c), &req, NULL, NULL, TV_CALL_LOG);
    CHECK_INT(tv_call_next(&k, 1.0), TV_STEP_SEND);
    fab f;
    transport(&f, TV_OK, 0, 0);
    feed(&k, 1.0, &f);
    CHECK_INT(tv_call_next(&k, 1.0), TV_STEP_LOG);
    tv_event ev;
    tv_call_event(&k, &ev);
    CHECK_STR(ev.body, "AuthPayload=[REDACTED]&FriendlyName=x");
    CHECK_INT(ev.status, 0);
    CHECK_STR(ev.method, "POST");
    CHECK_INT(tv_call_next(&k, 1.0), TV_STEP_DONE);
    const tv_error *e = tv_call_error(&k);
    CHECK(e != NULL);
    if (e) {
        CHECK_INT(e->kind, TV_ETRANSPORT);
        CHECK_STR(e->message, "the transport failed");
        CHECK_STR(e->method, "POST");
        CHECK_STR(e->url, req.url.data);
        CHECK(!e->retryable); /* a POST that may have been sent */
    }
    tv_call_release(&k);

    tv_call_init(&k, tv_client_env(c), &req, NULL, NULL, TV_CALL_LOG);
    CHECK_INT(tv_call_next(&k, 1.0), TV_STEP_SEND);
    fdecode(&f, &req);
    feed(&k, 1.0, &f);
    CHECK_INT(tv_call_next(&k, 1.0), TV_STEP_LOG);
    tv_call_event(&k, &ev);
    CHECK_INT(ev.status, 0);
    CHECK(ev.err && ev.err->kind == TV_EDECODE);
    CHECK_INT(tv_call_next(&k, 1.0), TV_STEP_DONE);
    tv_call_release(&k);
    tv_request_free(&req);
}

/* Retry-After: the delay announced and slept is the server's, capped. */
static void test_retry_after(void) {
    tv_client *c = client(3, 100, 800, 1500);
    tv_request req;
    request(&req, "fetch_factor", NULL);
    const double ras[] = {1.0, 3600.0}, want[] = {1.0, 1.5};
    for (int i = 0; i < 2; i++) {
        tv_call k;
        tv_call_init(&k, tv_client_env(c), &req, NULL, NULL, TV_CALL_ON_RETRY);
        CHECK_INT(tv_call_next(&k, 50.0), TV_STEP_SEND);
        fab f;
        http(&f, &req, 429, E429, ras[i]);
        feed(&k, 50.0, &f);
        CHECK_INT(tv_call_next(&k, 50.0), TV_STEP_RETRY);
        CHECK(tv_call_delay(&k) == want[i]);
        CHECK(tv_call_error(&k)->retry_after == ras[i]);
        CHECK_INT(tv_call_next(&k, 50.0), TV_STEP_SLEEP);
        CHECK_INT(tv_call_next(&k, 50.0 + want[i] - 0.01), TV_STEP_SLEEP);
        CHECK_INT(tv_call_next(&k, 50.0 + want[i]), TV_STEP_SEND);
        tv_call_release(&k);
    }
    tv_request_free(&req);
    tv_client_free(c);
}

/* A closed client: before the first send, after the log hook, after
 * on_retry, while sleeping.  Each ends the call; the last three with the
 * last attempt's error. */
static void test_closed(void) {
    for (int when = 0; when < 4; when++) {
        tv_client *c = client(3, 100, 800, 1500);
        tv_request req;
        request(&req, "fetch_factor", NULL);
        tv_call k;
        tv_call_init(&k, tv_client_env(c), &req, NULL, NULL, TV_CALL_LOG | TV_CALL_ON_RETRY);
        if (when == 0) {
            tv_client_close(c);
            CHECK_INT(tv_call_next(&k, 1.0), TV_STEP_DONE);
            CHECK(tv_call_error(&k) && tv_call_error(&k)->kind == TV_ECLOSED);
            CHECK_STR(tv_call_error(&k)->method, "GET");
        } else {
            CHECK_INT(tv_call_next(&k, 1.0), TV_STEP_SEND);
            fab f;
            http(&f, &req, 503, E503, -1);
            feed(&k, 1.0, &f);
            CHECK_INT(tv_call_next(&k, 1.0), TV_STEP_LOG);
            if (when == 1) tv_client_close(c); /* the log hook closes it */
            if (when >= 2) CHECK_INT(tv_call_next(&k, 1.0), TV_STEP_RETRY);
            if (when == 2) tv_client_close(c); /* on_retry closes it */
            if (when == 3) {
                CHECK_INT(tv_call_next(&k, 1.0), TV_STEP_SLEEP);
                tv_client_close(c); /* closed while waiting (another coroutine) */
            }
            CHECK_INT(tv_call_next(&k, 1.0), TV_STEP_DONE);
            CHECK(tv_call_error(&k) && tv_call_error(&k)->status == 503);
            CHECK_INT(tv_call_attempt(&k), 1);
        }
        tv_call_release(&k);
        tv_request_free(&req);
        tv_client_free(c);
    }
}

/* A 401 says which credential was used (never the secret). */
static void test_explain(tv_client *c) {
    tv_request req;
    request(&req, "fetch_factor", NULL);
    tv_call k;
    tv_call_init(&k, tv_client_env(c), &req, NULL, NULL, 0);
    CHECK_INT(tv_call_next(&k, 1.0), TV_STEP_SEND);
    fab f;
    http(&f, &req, 401, "{\"code\":20003,\"message\":\"Authenticate\",\"status\":401}", -1);
    feed(&k, 1.0, &f);
    CHECK_INT(tv_call_next(&k, 1.0), TV_STEP_DONE);
    const tv_error *e = tv_call_error(&k);
    CHECK(e && strstr(e->message, "(credentials: account " AC) != NULL);
    CHECK(e && strstr(e->message, "secret-token") == NULL);
    tv_call_release(&k);
    tv_request_free(&req);
}

/* A group with fail_fast: the first failure stops it; what never sent is
 * skipped, a waiting retry ends with its error, a list under way goes on. */
static void test_group_fail_fast(tv_client *c) {
    tv_group g;
    tv_group_init(&g, 1, 0);
    tv_request req;
    request(&req, "fetch_factor", NULL);
    tv_call a, b, w, l;
    tv_call_init(&a, tv_client_env(c), &req, NULL, &g, 0);
    tv_call_init(&b, tv_client_env(c), &req, NULL, &g, 0);
    tv_call_init(&w, tv_client_env(c), &req, NULL, &g, 0);
    tv_call_init(&l, tv_client_env(c), &req, NULL, &g, 0);
    fab f;
    /* w: a 503, waiting for its retry */
    CHECK_INT(tv_call_next(&w, 1.0), TV_STEP_SEND);
    http(&f, &req, 503, E503, 5.0);
    feed(&w, 1.0, &f);
    CHECK_INT(tv_call_next(&w, 1.0), TV_STEP_SLEEP);
    CHECK_INT(g.retries, 1);
    /* l: a list whose first page came back; its next page is a restart */
    CHECK_INT(tv_call_next(&l, 1.0), TV_STEP_SEND);
    http(&f, &req, 200, FACTOR, -1);
    feed(&l, 1.0, &f);
    CHECK_INT(tv_call_next(&l, 1.0), TV_STEP_DONE);
    tv_call_restart(&l);
    /* a: a 404 -- the group stops */
    CHECK(!g.stopped);
    CHECK_INT(tv_call_next(&a, 2.0), TV_STEP_SEND);
    http(&f, &req, 404, E404, -1);
    feed(&a, 2.0, &f);
    CHECK_INT(tv_call_next(&a, 2.0), TV_STEP_DONE);
    CHECK(g.stopped);
    CHECK_INT(tv_call_next(&b, 2.0), TV_STEP_DONE);
    CHECK(tv_call_error(&b) && tv_call_error(&b)->kind == TV_ESKIPPED);
    CHECK_STR(tv_call_error(&b)->message, "not run: an earlier operation failed (fail_fast)");
    CHECK_STR(tv_call_error(&b)->method, "GET");
    CHECK_INT(tv_call_next(&w, 2.0), TV_STEP_DONE); /* before its wait is over */
    CHECK(tv_call_error(&w) && tv_call_error(&w)->status == 503);
    CHECK_INT(tv_call_next(&l, 2.0), TV_STEP_SEND); /* its next page goes */
    http(&f, &req, 503, E503, -1);
    feed(&l, 2.0, &f);
    CHECK_INT(tv_call_next(&l, 2.0), TV_STEP_DONE); /* ... but is not retried */
    CHECK(tv_call_error(&l) && tv_call_error(&l)->status == 503);
    CHECK_INT(g.retries, 1);
    tv_call_release(&a);
    tv_call_release(&b);
    tv_call_release(&w);
    tv_call_release(&l);
    /* without fail_fast a failure stops nothing; tv_group_fail neither */
    tv_group_init(&g, 0, 0);
    tv_call_init(&a, tv_client_env(c), &req, NULL, &g, 0);
    CHECK_INT(tv_call_next(&a, 1.0), TV_STEP_SEND);
    http(&f, &req, 404, E404, -1);
    feed(&a, 1.0, &f);
    CHECK_INT(tv_call_next(&a, 1.0), TV_STEP_DONE);
    tv_group_fail(&g);
    CHECK(!g.stopped);
    tv_call_release(&a);
    tv_group_init(&g, 1, 0);
    tv_group_fail(&g); /* a failure outside any call (a list that loops) */
    CHECK(g.stopped);
    tv_request_free(&req);
}

/* The group's pause after a 429 with Retry-After, and max_rps spacing. */
static void test_group_pacing(tv_client *c) {
    tv_group g;
    tv_group_init(&g, 0, 0);
    tv_request req, post;
    request(&req, "fetch_factor", NULL);
    request(&post, "update_factor", "FriendlyName=x");
    tv_call a, b;
    tv_call_init(&a, tv_client_env(c), &post, NULL, &g, 0);
    tv_call_init(&b, tv_client_env(c), &req, NULL, &g, 0);
    CHECK_INT(tv_call_next(&a, 10.0), TV_STEP_SEND);
    fab f;
    http(&f, &post, 429, "<html>slow down</html>", 1.0); /* a bare 429: the POST is not retried ... */
    feed(&a, 10.0, &f);
    CHECK_INT(tv_call_next(&a, 10.0), TV_STEP_DONE);
    CHECK(g.pause_until == 11.0); /* ... but everyone waits */
    CHECK_INT(tv_call_next(&b, 10.5), TV_STEP_SLEEP);
    CHECK(tv_call_delay(&b) == 0.5);
    CHECK_INT(tv_call_next(&b, 11.0), TV_STEP_SEND);
    tv_call_release(&a);
    tv_call_release(&b);

    tv_group_init(&g, 0, 4); /* 4 per second: 0.25 s apart */
    tv_call_init(&a, tv_client_env(c), &req, NULL, &g, 0);
    tv_call_init(&b, tv_client_env(c), &req, NULL, &g, 0);
    CHECK_INT(tv_call_next(&a, 20.0), TV_STEP_SEND);
    CHECK_INT(tv_call_next(&b, 20.1), TV_STEP_SLEEP);
    CHECK(tv_call_delay(&b) > 0.149 && tv_call_delay(&b) < 0.151);
    CHECK_INT(tv_call_next(&b, 20.25), TV_STEP_SEND);
    CHECK(g.last_start == 20.25);
    tv_call_release(&a);
    tv_call_release(&b);
    tv_request_free(&req);
    tv_request_free(&post);
}

/* The batch's use: no hooks, a retry answered as SLEEP right after feed. */
static void test_no_hooks_retry(tv_client *c) {
    tv_request req;
    request(&req, "fetch_factor", NULL);
    tv_group g;
    tv_group_init(&g, 0, 0);
    tv_call k;
    tv_call_init(&k, tv_client_env(c), &req, NULL, &g, 0);
    CHECK_INT(tv_call_next(&k, 1.0), TV_STEP_SEND);
    fab f;
    freset(&f, &req);
    feed(&k, 1.0, &f);
    CHECK_INT(tv_call_next(&k, 1.0), TV_STEP_SLEEP);
    CHECK(tv_call_error(&k) && tv_call_error(&k)->kind == TV_ETRANSPORT); /* kept while it waits */
    CHECK_INT(tv_call_next(&k, 2.0), TV_STEP_SEND);
    CHECK_INT(tv_call_attempt(&k), 2);
    http(&f, &req, 200, FACTOR, -1);
    feed(&k, 2.0, &f);
    CHECK_INT(tv_call_next(&k, 2.0), TV_STEP_DONE);
    CHECK(tv_call_error(&k) == NULL);
    tv_call_release(&k);
    tv_request_free(&req);
}

int main(void) {
    test_classify();
    test_backoff();
    tv_client *c = client(3, 100, 800, 60000);
    if (!c) return ct_report("test_engine") | 1;
    test_success(c);
    test_retry_with_hooks(c);
    test_max_retries(c);
    test_outcomes(c);
    test_transport_context(c);
    test_retry_after();
    test_closed();
    test_explain(c);
    test_group_fail_fast(c);
    test_group_pacing(c);
    test_no_hooks_retry(c);
    tv_client_free(c);
    /* a zeroed call (a batch op that never got one) may be released */
    tv_call z;
    memset(&z, 0, sizeof z);
    tv_call_release(&z);
    return ct_report("test_engine");
}
