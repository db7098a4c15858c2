/* tv_batch.c -- many operations at once over libcurl's multi interface:
 * bounded concurrency on keep-alive connections (one curl_multi and a pool
 * of easy handles per client, reused across batches).  An adapter over the
 * call engine (tv_engine.c): every op has its own tv_call, all in one
 * tv_group, so retries follow the single-call rules and the group holds the
 * fail_fast stop, the shared pause when the server rate-limits and the
 * requests-per-second cap; this file only starts what the engine says may
 * start, and feeds it what libcurl brought back.  No threads; the caller
 * drives it with tv_batch_step() and may run its own code (progress)
 * between steps. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tv.h"
#include "tv_curl.h"

struct tv_multi {
    CURLM *multi;
    struct curl_slist *h_get, *h_post, *h_json;
    tv_easy *easy; /* pool */
    int n_easy;
    tv_batch *active; /* the batch using the pool, if any */
};

enum { OP_QUEUED = 0, OP_RUNNING, OP_DONE };

/* Not in tv.h yet: the cap on the pages one list_all op follows (the Lua
 * client option max_pages); TV_BATCH_DEFAULT_MAX_PAGES until set.  Over
 * the cap the op fails with a decode error, as on a next_page_url that
 * repeats a page of the same listing. */
#define TV_BATCH_DEFAULT_MAX_PAGES 10000

typedef struct bop {
    tv_request req;
    tv_call call;  /* its attempts (tv_engine.c); holds the last attempt's error while a retry waits */
    int list_all;
    int state;
    cJSON *result; /* ok value (list_all: array of factors) */
    int taken;     /* its result went to the caller (tv_batch_drop_done) */
    tv_error err;  /* the outcome when failed */
    int failed;
    size_t pages;  /* list_all: pages received */
    char **seen;   /* list_all: page URLs met (meta.url, next_page_url followed) */
    size_t nseen, capseen;
} bop;

typedef struct slot {
    size_t op;
    int busy;
    tv_response resp;
} slot;

struct tv_batch {
    tv_client *c;
    struct tv_multi *m; /* NULL once the client closed (aborted) */
    bop *ops;
    size_t n, done, errors;
    size_t *queue; /* ring of op indices waiting to start */
    size_t *succeeded; /* op indices in the order they succeeded; [0, ntaken) already taken */
    size_t nsucceeded, ntaken;
    size_t qhead, qlen;
    slot *slots;
    int concurrency, running, peak;
    tv_group group; /* fail_fast, the 429 pause, max_rps, retries: the engine's */
    size_t max_pages; /* the most pages one list follows (tv_batch_set_max_pages) */
    tv_http_conf conf; /* header lines and limits: the client's, for the whole batch */
};

static double mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the per-client pool ------------------------------------------------- */

static void abort_batch(tv_batch *b);

static void tv_multi_free(struct tv_multi *m) {
    if (!m) return;
    if (m->active) abort_batch(m->active);
    for (int i = 0; i < m->n_easy; i++) tv_easy_cleanup(&m->easy[i]);
    free(m->easy);
    if (m->multi) curl_multi_cleanup(m->multi);
    tv_curl_headers_free(m->h_get);
    tv_curl_headers_free(m->h_post);
    tv_curl_headers_free(m->h_json);
    free(m);
}

static void free_pool(void *m) { tv_multi_free((struct tv_multi *)m); }

/* The credential is in the pool's header lists only while a batch runs:
 * they are built from the client's headers of the moment when a batch
 * starts -- so a credential changed since (tv_client_set_token) reaches
 * every handle -- and wiped when it ends (issue 23 item 5). */
static void pool_headers_drop(struct tv_multi *m) {
    for (int i = 0; i < m->n_easy; i++) {
        m->easy[i].h_get = m->easy[i].h_post = m->easy[i].h_json = NULL;
        if (m->easy[i].easy) curl_easy_setopt(m->easy[i].easy, CURLOPT_HTTPHEADER, NULL);
    }
    tv_curl_headers_free(m->h_get); /* wipes the lines */
    tv_curl_headers_free(m->h_post);
    tv_curl_headers_free(m->h_json);
    m->h_get = m->h_post = m->h_json = NULL;
}

static int pool_headers_attach(struct tv_multi *m, const tv_http_conf *conf, tv_error *err) {
    pool_headers_drop(m);
    if (tv_curl_headers(conf, &m->h_get, &m->h_post, &m->h_json, err)) return -1;
    for (int i = 0; i < m->n_easy; i++) {
        m->easy[i].h_get = m->h_get;
        m->easy[i].h_post = m->h_post;
        m->easy[i].h_json = m->h_json;
    }
    return 0;
}

static struct tv_multi *pool(tv_client *c, const tv_http_conf *conf, int want, tv_error *err) {
    struct tv_multi *m = (struct tv_multi *)tv_client_pool(c);
    if (!m) {
        if (tv_http_global_init() != 0) {
            tv_error_set(err, TV_ETRANSPORT, NULL, "curl_global_init failed");
            return NULL;
        }
        m = calloc(1, sizeof *m);
        if (!m || !(m->multi = curl_multi_init())) {
            if (err->kind == TV_OK) tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
            tv_multi_free(m);
            return NULL;
        }
        curl_multi_setopt(m->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 64L);
        tv_client_set_pool(c, m, free_pool);
    }
    if (m->n_easy < want) {
        tv_easy *grown = realloc(m->easy, (size_t)want * sizeof *grown);
        if (!grown) {
            tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
            return NULL;
        }
        /* handles keep a pointer to their tv_easy (callbacks): re-point the
         * moved ones */
        m->easy = grown;
        for (int i = 0; i < m->n_easy; i++) {
            tv_easy *x = &m->easy[i];
            curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
            curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
            curl_easy_setopt(x->easy, CURLOPT_READDATA, x);
            curl_easy_setopt(x->easy, CURLOPT_SEEKDATA, x);
            curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
            curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
#if LIBCURL_VERSION_NUM >= 0x075000 /* tv_http.c's pre-request callback (TV_POST_PREREQ) */
            curl_easy_setopt(x->easy, CURLOPT_PREREQDATA, x);
#endif
        }
        while (m->n_easy < want) {
            if (tv_easy_init(&m->easy[m->n_easy], conf, m->h_get, m->h_post, m->h_json, err)) return NULL;
            m->n_easy++;
        }
    }
    if (!m->active && pool_headers_attach(m, conf, err)) return NULL;
    return m;
}

/* ---- batches --------------------------------------------------------------- */

tv_batch *tv_batch_new(tv_client *c, size_t n, const tv_batch_opts *o, tv_error *err) {
    if (tv_client_closed(c)) {
        tv_error_set(err, TV_ECLOSED, NULL, "the client is closed");
        return NULL;
    }
    int conc = o && o->concurrency > 0 ? o->concurrency : 8;
    if (conc > 64) {
        tv_error_set(err, TV_EARG, "concurrency", "concurrency must be between 1 and 64");
        return NULL;
    }
    tv_http_conf conf;
    tv_client_http_conf(c, 0, &conf);
    struct tv_multi *m = pool(c, &conf, conc, err);
    if (!m) return NULL;
    if (m->active) {
        tv_error_set(err, TV_EARG, "batch", "another batch is running on this client");
        return NULL;
    }
    tv_batch *b = calloc(1, sizeof *b);
    if (!b || !(b->ops = calloc(n ? n : 1, sizeof *b->ops)) || !(b->queue = calloc(n ? n : 1, sizeof *b->queue)) ||
        !(b->succeeded = calloc(n ? n : 1, sizeof *b->succeeded)) ||
        !(b->slots = calloc((size_t)conc, sizeof *b->slots))) {
        tv_batch_free(b);
        tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        tv_error init = TV_ERROR_INIT;
        b->ops[i].err = init;
        b->ops[i].state = OP_DONE; /* until set */
    }
    for (int i = 0; i < conc; i++) b->slots[i].resp.retry_after = -1;
    b->c = c;
    b->conf = conf;
    b->m = m;
    b->n = n;
    b->concurrency = conc;
    tv_group_init(&b->group, o ? o->fail_fast : 0, o ? o->max_rps : 0);
    b->max_pages = TV_BATCH_DEFAULT_MAX_PAGES;
    m->active = b;
    return b;
}

void tv_batch_set_max_pages(tv_batch *b, size_t max_pages) { b->max_pages = max_pages ? max_pages : 1; }

static void enqueue(tv_batch *b, size_t i) {
    b->queue[(b->qhead + b->qlen) % b->n] = i;
    b->qlen++;
    b->ops[i].state = OP_QUEUED;
}

void tv_batch_set_request(tv_batch *b, size_t i, tv_request *req, int list_all) {
    bop *op = &b->ops[i];
    op->req = *req;
    memset(req, 0, sizeof *req);
    op->list_all = list_all;
    tv_call_init(&op->call, tv_client_env(b->c), &op->req, NULL, &b->group, 0); /* no hooks: the libcurl batch runs none */
    enqueue(b, i);
}

static void finish_error(tv_batch *b, bop *op, tv_error *err) {
    tv_error_clear(&op->err);
    op->err = *err;
    tv_error init = TV_ERROR_INIT;
    *err = init;
    op->failed = 1;
    op->state = OP_DONE;
    b->done++;
    b->errors++;
}

void tv_batch_set_error(tv_batch *b, size_t i, tv_error *err) {
    b->ops[i].state = OP_QUEUED; /* so finish_error counts it once */
    finish_error(b, &b->ops[i], err);
}

static void stop_queued(tv_batch *b, tv_kind kind, const char *why) {
    while (b->qlen) {
        size_t i = b->queue[b->qhead];
        b->qhead = (b->qhead + 1) % b->n;
        b->qlen--;
        tv_error e = TV_ERROR_INIT;
        tv_error_set(&e, kind, NULL, "%s", why);
        tv_error_context(&e, &b->ops[i].req, NULL);
        finish_error(b, &b->ops[i], &e);
    }
}

/* The engine ended op's call with an error (its last attempt's, or
 * skipped / closed before it was sent). */
static void finish_call(tv_batch *b, bop *op) {
    tv_error e = TV_ERROR_INIT;
    tv_call_take_error(&op->call, &e);
    finish_error(b, op, &e);
}

static void abort_batch(tv_batch *b) {
    struct tv_multi *m = b->m;
    if (!m) return;
    for (int s = 0; s < b->concurrency; s++) {
        if (!b->slots[s].busy) continue;
        curl_multi_remove_handle(m->multi, m->easy[s].easy);
        m->easy[s].up = NULL;
        m->easy[s].resp = NULL;
        b->slots[s].busy = 0;
        bop *op = &b->ops[b->slots[s].op];
        tv_error e = TV_ERROR_INIT;
        tv_error_set(&e, TV_ECLOSED, NULL, "the client was closed during the batch");
        tv_error_context(&e, &op->req, NULL);
        finish_error(b, op, &e);
    }
    b->running = 0;
    m->active = NULL;
    b->m = NULL;
    stop_queued(b, TV_ECLOSED, "the client was closed during the batch");
}

void tv_batch_free(tv_batch *b) {
    if (!b) return;
    if (b->m) {
        for (int s = 0; s < b->concurrency; s++)
            if (b->slots[s].busy) {
                curl_multi_remove_handle(b->m->multi, b->m->easy[s].easy);
                b->m->easy[s].up = NULL;
                b->m->easy[s].resp = NULL;
            }
        b->m->active = NULL;
        pool_headers_drop(b->m);
    }
    if (b->ops)
        for (size_t i = 0; i < b->n; i++) {
            tv_request_free(&b->ops[i].req);
            tv_call_release(&b->ops[i].call);
            cJSON_Delete(b->ops[i].result);
            tv_error_clear(&b->ops[i].err);
            for (size_t k = 0; k < b->ops[i].nseen; k++) free(b->ops[i].seen[k]);
            free(b->ops[i].seen);
        }
    if (b->slots)
        for (int s = 0; s < b->concurrency; s++) tv_response_free(&b->slots[s].resp);
    free(b->ops);
    free(b->queue);
    free(b->succeeded);
    free(b->slots);
    free(b);
}

/* Pop the first queued op whose engine says SEND (rotating the others to
 * the back).  Ops the engine ends on the way (fail_fast: skipped, or a
 * waiting retry given up) are finished; the soonest wait among the others
 * lowers *wait (seconds). */
static int pick(tv_batch *b, double now, size_t *out, double *wait) {
    for (size_t k = 0, len = b->qlen; k < len; k++) {
        size_t i = b->queue[b->qhead];
        b->qhead = (b->qhead + 1) % b->n;
        b->qlen--;
        bop *op = &b->ops[i];
        switch (tv_call_next(&op->call, now)) {
        case TV_STEP_SEND: *out = i; return 1;
        case TV_STEP_DONE: finish_call(b, op); break;
        default: /* SLEEP: a retry's back-off, the group's 429 pause or max_rps */
            if (tv_call_delay(&op->call) < *wait) *wait = tv_call_delay(&op->call);
            b->queue[(b->qhead + b->qlen) % b->n] = i; /* back of the line */
            b->qlen++;
        }
    }
    return 0;
}

static void start(tv_batch *b, int s, size_t i) {
    slot *sl = &b->slots[s];
    tv_easy *x = &b->m->easy[s];
    bop *op = &b->ops[i];
    tv_response_reset(&sl->resp);
    tv_easy_prepare(x, &b->conf, &op->req, &sl->resp);
    op->state = OP_RUNNING;
    sl->op = i;
    sl->busy = 1;
    curl_multi_add_handle(b->m->multi, x->easy);
    b->running++;
    if (b->running > b->peak) b->peak = b->running;
}

static int seen_url(const bop *op, const char *url) {
    for (size_t k = 0; k < op->nseen; k++)
        if (strcmp(op->seen[k], url) == 0) return 1;
    return 0;
}

static int add_seen(bop *op, const char *url, tv_error *err) {
    if (seen_url(op, url)) return 0;
    if (op->nseen == op->capseen) {
        size_t cap = op->capseen ? op->capseen * 2 : 8;
        char **grown = realloc(op->seen, cap * sizeof *grown);
        if (!grown) return tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
        op->seen = grown;
        op->capseen = cap;
    }
    size_t len = strlen(url);
    char *copy = malloc(len + 1);
    if (!copy) return tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
    memcpy(copy, url, len + 1);
    op->seen[op->nseen++] = copy;
    return 0;
}

/* A list_all op got a page: keep its items, queue the next page.  The
 * Lua layer's iterators follow the same rules (lua/twilio/verify.lua):
 * every element must be an object; a next_page_url already met in this
 * listing (a page's meta.url or a URL followed) is a loop, and more than
 * max_pages pages is too many -- both a decode error, nothing more sent. */
static int next_page(tv_batch *b, bop *op, cJSON *page, tv_error *err) {
    const tv_operation *lop = op->req.op;
    cJSON *factors = cJSON_DetachItemFromObjectCaseSensitive(page, lop->list_key);
    size_t idx = 0;
    for (const cJSON *f = factors ? factors->child : NULL; f; f = f->next) {
        idx++;
        if (!cJSON_IsObject(f)) {
            cJSON_Delete(factors);
            return tv_error_set(err, TV_EDECODE, NULL, "malformed list page: %s[%zu] is %s, not an object",
                                lop->list_key, idx,
                                cJSON_IsNull(f) ? "null" : cJSON_IsNumber(f) ? "a number"
                                : cJSON_IsString(f) ? "a string" : cJSON_IsBool(f) ? "a boolean" : "an array");
        }
    }
    if (!op->result) {
        op->result = factors;
    } else {
        cJSON *f;
        while ((f = cJSON_DetachItemFromArray(factors, 0)) != NULL) cJSON_AddItemToArray(op->result, f);
        cJSON_Delete(factors);
    }
    op->pages++;
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(page, "meta");
    const cJSON *self_url = cJSON_GetObjectItemCaseSensitive(meta, "url");
    const cJSON *next = cJSON_GetObjectItemCaseSensitive(meta, "next_page_url");
    if (cJSON_IsString(self_url) && add_seen(op, self_url->valuestring, err)) return -1;
    if (!cJSON_IsString(next)) return 0; /* the last page */
    if (seen_url(op, next->valuestring))
        return tv_error_set(err, TV_EDECODE, NULL,
                            "next_page_url repeats a page of this listing (after %zu pages): the list would loop",
                            op->pages);
    if (op->pages >= b->max_pages)
        return tv_error_set(err, TV_EDECODE, NULL,
                            "the list has more than max_pages (%zu) pages: stopped (raise the client's max_pages)",
                            b->max_pages);
    if (add_seen(op, next->valuestring, err)) return -1;
    tv_request req = {0};
    if (tv_build_page_url(tv_client_origin(b->c), lop, next->valuestring, strlen(next->valuestring), &req, err)) {
        tv_request_free(&req);
        return -1;
    }
    tv_request_free(&op->req);
    op->req = req;
    return 1;
}

static void complete(tv_batch *b, int s, CURLcode code, double now) {
    slot *sl = &b->slots[s];
    tv_easy *x = &b->m->easy[s];
    bop *op = &b->ops[sl->op];
    size_t i = sl->op;
    curl_multi_remove_handle(b->m->multi, x->easy);
    sl->busy = 0;
    b->running--;
    tv_error e = TV_ERROR_INIT;
    cJSON *out = NULL;
    if (tv_easy_finish(x, code, &e) != 0)
        tv_call_feed(&op->call, now, NULL, &e);
    else
        tv_call_feed(&op->call, now, &sl->resp, tv_parse_response(&op->req, &sl->resp, &out, &e) ? &e : NULL);
    tv_buf_reset(&sl->resp.body, 0);
    if (tv_call_next(&op->call, now) != TV_STEP_DONE) { /* SLEEP: a retry, back in the queue */
        enqueue(b, i);
        return;
    }
    if (tv_call_error(&op->call)) {
        finish_call(b, op);
        return;
    }
    if (op->list_all) {
        int more = next_page(b, op, out, &e);
        cJSON_Delete(out);
        if (more < 0) {
            tv_error_context(&e, &op->req, NULL);
            finish_error(b, op, &e);
            tv_group_fail(&b->group);
            return;
        }
        if (more) { /* its next page: the same op, under way */
            tv_call_restart(&op->call);
            enqueue(b, i);
            return;
        }
        if (!op->result) op->result = cJSON_CreateArray();
    } else {
        op->result = out;
    }
    op->state = OP_DONE;
    b->done++;
    b->succeeded[b->nsucceeded++] = i; /* each op succeeds once: at most n */
}

/* Start what the engine lets start, while there are free slots; *wait:
 * the soonest a queued op that had to wait may start (seconds). */
static void start_ready(tv_batch *b, double now, double *wait) {
    while (b->running < b->concurrency && b->qlen) {
        size_t i;
        if (!pick(b, now, &i, wait)) break;
        int s = 0;
        while (b->slots[s].busy) s++;
        start(b, s, i);
    }
}

int tv_batch_step(tv_batch *b, int wait_ms, tv_error *err) {
    if (!b->m) {
        stop_queued(b, TV_ECLOSED, "the client was closed during the batch");
        return 1;
    }
    double wait = wait_ms / 1000.0;
    start_ready(b, mono(), &wait);
    int still = 0;
    if (curl_multi_perform(b->m->multi, &still) != CURLM_OK)
        return tv_error_set(err, TV_ETRANSPORT, NULL, "curl_multi_perform failed");
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(b->m->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE) continue;
        tv_easy *x = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        if (!x) continue;
        complete(b, (int)(x - b->m->easy), msg->data.result, mono());
    }
    if (b->done == b->n) return 1;
    /* what the completions freed or queued (a next page, a retry) starts
     * now; then wait for sockets, but not past the next moment something
     * may start (a new transfer's timeout ends curl_multi_poll at once) */
    wait = wait_ms / 1000.0;
    start_ready(b, mono(), &wait);
    if (b->done == b->n) return 1;
    int ms = wait > 0 ? (int)ceil(wait * 1000.0) : 0;
    if (ms > wait_ms) ms = wait_ms;
    if (b->running) {
        curl_multi_poll(b->m->multi, NULL, 0, ms, NULL);
    } else if (ms > 0) {
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    return b->done == b->n;
}

void tv_batch_progress(const tv_batch *b, size_t *done, size_t *total, size_t *errors) {
    *done = b->done;
    *total = b->n;
    *errors = b->errors;
}

int tv_batch_result(const tv_batch *b, size_t i, const cJSON **out, const tv_error **err) {
    const bop *op = &b->ops[i];
    *out = op->result;
    if (op->taken) {
        *err = NULL;
        return 1;
    }
    *err = op->failed ? &op->err : NULL;
    return op->failed ? -1 : 0;
}

int tv_batch_peak(const tv_batch *b) { return b->peak; }
size_t tv_batch_retries(const tv_batch *b) { return b->group.retries; }

int tv_batch_peek_done(const tv_batch *b, size_t *i, const cJSON **out) {
    if (b->ntaken == b->nsucceeded) return 0;
    *i = b->succeeded[b->ntaken];
    *out = b->ops[*i].result;
    return 1;
}

void tv_batch_drop_done(tv_batch *b) {
    if (b->ntaken == b->nsucceeded) return;
    bop *op = &b->ops[b->succeeded[b->ntaken++]];
    cJSON_Delete(op->result);
    op->result = NULL;
    op->taken = 1;
}
