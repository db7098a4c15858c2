/* tv_engine.c -- the call engine: the attempt policy of one operation,
 * written once, as a sans-I/O state machine (see tv.h).  The blocking
 * libcurl loop (tv_client.c), the batch engine over curl_multi
 * (tv_batch.c) and the Lua-transport driver (lua_transport.c) are adapters
 * over it: they do the I/O, the sleeping and the hooks it asks for.
 *
 * The states of a call, and what tv_call_next answers in each:
 *
 *   READY  --SEND-->  SENT  --feed-->  FED  --LOG?-->  LOGGED
 *     ^                                                  |  settled: DONE
 *     |                                                  v
 *     +---- (wait over) ---- SLEEP <--SLEEP-- HOOKED <--RETRY?
 *
 * A closed client or a stopped group is checked at every edge a hook or a
 * wait may have changed it: before a request is first sent (TV_ECLOSED,
 * TV_ESKIPPED), after the log hook, after on_retry and while sleeping (the
 * call ends with the last attempt's error). */
#include <openssl/rand.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "tv.h"

enum { S_READY = 0, S_SENT, S_FED, S_LOGGED, S_HOOKED, S_SLEEP, S_DONE };

/* A wake-up this close to its time counts as on time: the adapters sleep
 * for the delay answered, and a clock read after the sleep may round to
 * just below it. */
#define WAKE_SLACK 1e-6

/* ---- the policy: what is retried, and how long to wait ------------------ */

void tv_classify(tv_method method, tv_error *err) {
    int r = 0;
    switch (err->kind) {
    case TV_EHTTP:
        /* 429: 20429 ("Too Many Requests": the request was not processed)
         * is retried for every method.  A bare 429 (no Twilio code: a
         * proxy's, a gateway's, anything that may sit behind the request
         * having been handled) only when the method is idempotent -- a POST
         * must never be applied twice.  Verify's own limits (60310,
         * 60326, other codes) never. */
        if (err->code == 60310 || err->code == 60326) r = 0;
        else if (err->status == 429 && err->code == 20429) r = 1;
        else if (err->status == 429 && err->code == 0) r = method != TV_POST;
        else if (err->status == 502 || err->status == 503 || err->status == 504) r = method != TV_POST;
        break;
    case TV_ETRANSPORT:
        /* Timeouts are the caller's budget: not retried.  POST only when the
         * request provably never left (connect/DNS failure). */
        r = !err->timed_out && (method != TV_POST || err->unsent);
        break;
    default: r = 0;
    }
    err->retryable = r;
}

static uint64_t next_rand(tv_policy *p) { /* xorshift64*, per client */
    /* seeded at the first jitter: RAND_bytes' first call sets up OpenSSL's
     * DRBG (~0.6 ms), which a client that never retries should not pay */
    if (p->rng == 0 && (RAND_bytes((unsigned char *)&p->rng, sizeof p->rng) != 1 || p->rng == 0))
        p->rng = (uint64_t)time(NULL) * 2654435761u + (uint64_t)(uintptr_t)p;
    uint64_t x = p->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    p->rng = x;
    return x * 2685821657736338717ull;
}

double tv_backoff(tv_policy *p, int attempt, double retry_after) {
    if (retry_after >= 0) {
        double cap = p->retry_after_cap_ms / 1000.0;
        return retry_after < cap ? retry_after : cap;
    }
    double ceil_ms = (double)p->retry_base_ms;
    for (int i = 1; i < attempt && ceil_ms < p->retry_cap_ms; i++) ceil_ms *= 2;
    if (ceil_ms > p->retry_cap_ms) ceil_ms = (double)p->retry_cap_ms;
    double u = (double)(next_rand(p) >> 11) / 9007199254740992.0; /* [0,1) */
    return u * ceil_ms / 1000.0;
}

/* ---- groups (a batch's shared state) ---------------------------------------- */

void tv_group_init(tv_group *g, int fail_fast, double max_rps) {
    memset(g, 0, sizeof *g);
    g->fail_fast = fail_fast != 0;
    g->max_rps = max_rps > 0 ? max_rps : 0;
}

void tv_group_fail(tv_group *g) {
    if (g && g->fail_fast) g->stopped = 1;
}

/* ---- calls -------------------------------------------------------------------- */

/* k->err is written only when it receives an error (has_err): a tv_error
 * is ~700 bytes, and the success path -- every call's -- never needs one. */
void tv_call_init(tv_call *k, const tv_call_env *env, const tv_request *req, const tv_call_opts *co, tv_group *g,
                  unsigned flags) {
    k->env = env;
    k->req = req;
    k->group = g;
    k->flags = flags;
    k->max_retries = co && co->max_retries >= 0 ? co->max_retries : env->policy->max_retries;
    k->state = S_READY;
    k->attempt = k->ok = k->settled = k->has_err = 0;
    k->status = 0;
    k->sent_at = k->duration = k->delay = k->wake = 0;
    k->redacted.data = NULL;
    k->redacted.len = k->redacted.cap = 0;
}

static void drop_error(tv_call *k) {
    if (k->has_err) tv_error_clear(&k->err);
    k->has_err = 0;
}

void tv_call_release(tv_call *k) {
    if (!k) return;
    drop_error(k);
    tv_buf_free(&k->redacted);
}

/* The call is over: with an error, a fail_fast group stops. */
static void settle(tv_call *k) {
    k->state = S_DONE;
    if (!k->ok) tv_group_fail(k->group);
}

/* End before sending (closed, skipped): an error of its own. */
static void refuse(tv_call *k, tv_kind kind, const char *why) {
    drop_error(k);
    k->err.more_info = k->err.details = k->err.body = k->err.url = NULL; /* for tv_error_set's clear */
    k->has_err = 1;
    tv_error_set(&k->err, kind, NULL, "%s", why);
    tv_error_context(&k->err, k->req, NULL);
    k->ok = 0;
    settle(k);
}

/* No more retries for this call: its client closed, or its group stopped. */
static int closed(const tv_call *k) { return *k->env->closed; }
static int halted(const tv_call *k) { return closed(k) || (k->group && k->group->stopped); }

tv_step tv_call_next(tv_call *k, double now) {
    tv_group *g = k->group;
    for (;;) {
        switch (k->state) {
        case S_READY:
            if (k->attempt == 0) { /* a request not sent yet */
                if (closed(k)) {
                    refuse(k, TV_ECLOSED, "the client is closed");
                    continue;
                }
                if (g && g->stopped && !(k->flags & TV_CALL_CONTINUES)) {
                    refuse(k, TV_ESKIPPED, "not run: an earlier operation failed (fail_fast)");
                    continue;
                }
            } else if (halted(k)) { /* a retry: ends with the last attempt's error */
                settle(k);
                continue;
            }
            if (g) { /* the batch's pause after a 429, and its max_rps spacing */
                double t = g->pause_until;
                if (g->max_rps > 0 && g->last_start > 0 && g->last_start + 1.0 / g->max_rps > t)
                    t = g->last_start + 1.0 / g->max_rps;
                if (now < t) {
                    k->delay = t - now;
                    return TV_STEP_SLEEP;
                }
                g->last_start = now;
            }
            k->attempt++;
            k->sent_at = now;
            k->state = S_SENT;
            return TV_STEP_SEND;
        case S_SENT: return TV_STEP_SEND; /* in flight: feed its result first */
        case S_FED:
            k->state = S_LOGGED;
            if (k->flags & TV_CALL_LOG) return TV_STEP_LOG;
            continue;
        case S_LOGGED: /* the log hook may have closed the client */
            if (k->settled || halted(k)) {
                settle(k);
                continue;
            }
            k->state = S_HOOKED;
            if (k->flags & TV_CALL_ON_RETRY) return TV_STEP_RETRY;
            continue;
        case S_HOOKED: /* ... and so may on_retry */
            if (halted(k)) {
                settle(k);
                continue;
            }
            k->wake = now + k->delay;
            k->state = S_SLEEP;
            if (g) g->retries++;
            return TV_STEP_SLEEP;
        case S_SLEEP:
            if (halted(k)) { /* closed or stopped while waiting: no retry */
                settle(k);
                continue;
            }
            if (now + WAKE_SLACK < k->wake) {
                k->delay = k->wake - now;
                return TV_STEP_SLEEP;
            }
            k->state = S_READY;
            continue;
        default: return TV_STEP_DONE;
        }
    }
}

void tv_call_feed(tv_call *k, double now, const tv_response *resp, tv_error *err) {
    if (k->state != S_SENT) {
        tv_error_clear(err);
        return;
    }
    drop_error(k);
    k->duration = now - k->sent_at;
    k->state = S_FED;
    if (!err) {
        k->ok = 1;
        k->settled = 1;
        k->status = resp ? resp->status : 0;
        return;
    }
    k->ok = 0;
    k->err = *err;
    k->has_err = 1;
    tv_error init = TV_ERROR_INIT;
    *err = init;
    tv_error *e = &k->err;
    if (!resp) { /* the transport failed: no response at all */
        if (e->kind == TV_OK) tv_error_set(e, TV_ETRANSPORT, NULL, "the transport failed");
        tv_error_context(e, k->req, NULL);
    }
    tv_classify(k->req->method, e);
    if (k->env->explain) k->env->explain(k->env->ud, e); /* a 401: which credential, from where */
    k->status = resp && e->kind == TV_EHTTP ? resp->status : 0;
    tv_policy *p = k->env->policy;
    tv_group *g = k->group;
    if (g && e->kind == TV_EHTTP && e->status == 429 && e->retry_after >= 0) {
        /* the server asked everyone to wait: pause the whole group */
        double until = now + tv_backoff(p, k->attempt, e->retry_after);
        if (until > g->pause_until) g->pause_until = until;
    }
    k->settled = !e->retryable || k->attempt > k->max_retries;
    if (!k->settled) k->delay = tv_backoff(p, k->attempt, e->retry_after);
}

int tv_call_in_flight(const tv_call *k) { return k->state == S_SENT; }
int tv_call_settled(const tv_call *k) { return k->state == S_DONE || (k->state >= S_FED && k->settled); }

void tv_call_restart(tv_call *k) {
    drop_error(k);
    k->state = S_READY;
    k->attempt = 0;
    k->ok = 0;
    k->settled = 0;
    k->flags |= TV_CALL_CONTINUES;
}

double tv_call_delay(const tv_call *k) { return k->delay; }
int tv_call_attempt(const tv_call *k) { return k->attempt; }
const tv_error *tv_call_error(const tv_call *k) { return k->ok || !k->has_err ? NULL : &k->err; }

int tv_call_take_error(tv_call *k, tv_error *err) {
    if (k->ok || !k->has_err) return 0;
    tv_error_clear(err);
    *err = k->err;
    k->has_err = 0;
    return -1;
}

void tv_call_event(tv_call *k, tv_event *ev) {
    const tv_request *req = k->req;
    const char *body = "";
    if (req->body.len && tv_redact_form(req->body.data, req->body.len, &k->redacted) == 0) body = k->redacted.data;
    ev->method = tv_method_name(req->method);
    ev->url = req->url.data ? req->url.data : "";
    ev->body = body;
    ev->status = k->status;
    ev->duration = k->duration;
    ev->attempt = k->attempt;
    ev->err = tv_call_error(k);
}
