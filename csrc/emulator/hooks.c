/*
 * hooks.c -- the delivery of webhook events (the Webhook resources and
 * push Notifications are webhooks.c's).
 *
 * Webhooks (CreateWebhook ... DeleteWebhook) are stored per service under
 * the server lock, like every other resource.  When a subscribed event
 * happens (emu_webhook_factor_event / emu_webhook_challenge_event, called
 * with the server lock held from the factor and challenge handlers), the
 * event is rendered as the form parameters Twilio sends, signed with
 * X-Twilio-Signature (HMAC-SHA1 of the URL followed by the sorted
 * key/value pairs, keyed with the auth token, Base64) and queued.  One
 * worker thread POSTs the queue with libcurl, never on a request thread:
 *   - the queue is bounded (a full queue drops the event and records it);
 *   - only loopback URLs are contacted (127.0.0.0/8, ::1, localhost); any
 *     other is refused before a socket is opened (and every socket libcurl
 *     opens is checked again), and recorded;
 *   - each POST has a timeout, no redirects and no proxy.
 * Every delivery is recorded and shown by GET /__emulator/webhooks.
 *
 * Locks: the store part takes emu_server.lock; the queue and the delivery
 * records have their own lock (hooks->qlock), always taken after the
 * server lock when both are held and never held while a POST runs.
 * Payload fields, headers and error codes (with their sources): see
 * doc/emulator.md, "Webhooks" and "Notifications".
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "emu.h"
#include "hooks.h"
#include "tv_ops.h"

#define RESP_KEEP 512        /* bytes of a receiver's answer kept in the record */
#define MAX_PARAMS 16

/* ------------------------------------------------------------- helpers */

static double now_real(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void iso_ms(double t, char out[32]) {
    char base[21];
    int64_t s = (int64_t)t;
    emu_iso8601(s, base);
    int ms = (int)((t - (double)s) * 1000.0);
    if (ms < 0) ms = 0;
    if (ms > 999) ms = 999;
    base[19] = '\0'; /* drop the Z */
    snprintf(out, 32, "%s.%03dZ", base, ms);
}

static void delivery_free(delivery *d) {
    if (!d) return;
    free(d->event);
    free(d->uuid);
    free(d->url);
    free(d->webhook_sid);
    free(d->body);
    free(d->signature);
    cJSON_Delete(d->params);
    free(d);
}

void emu_webhook_free(void *p) {
    emu_webhook *w = p;
    if (!w) return;
    free(w->friendly_name);
    free(w->url);
    for (size_t i = 0; i < w->nevents; i++) free(w->events[i]);
    free(w->events);
    free(w);
}

static void log_append(emu_hooks *h, cJSON *rec) {
    if (!rec) return;
    if (h->log_n == EMU_HOOK_LOG_MAX) {
        cJSON_Delete(h->log[h->log_head]);
        h->log[h->log_head] = rec;
        h->log_head = (h->log_head + 1) % EMU_HOOK_LOG_MAX;
        return;
    }
    h->log[(h->log_head + h->log_n) % EMU_HOOK_LOG_MAX] = rec;
    h->log_n++;
}

static void log_clear(emu_hooks *h) {
    for (size_t i = 0; i < h->log_n; i++) {
        cJSON_Delete(h->log[(h->log_head + i) % EMU_HOOK_LOG_MAX]);
        h->log[(h->log_head + i) % EMU_HOOK_LOG_MAX] = NULL;
    }
    h->log_head = h->log_n = 0;
}

static void queue_clear(emu_hooks *h) {
    for (size_t i = 0; i < h->qn; i++) delivery_free(h->queue[(h->qhead + i) % QUEUE_HARD_MAX]);
    h->qhead = h->qn = 0;
}

/* ----------------------------------------------------------- lifecycle */

int emu_hooks_init(emu_server *srv) {
    emu_hooks *h = calloc(1, sizeof *h);
    if (!h) return -1;
    h->queue = calloc(QUEUE_HARD_MAX, sizeof *h->queue);
    if (!h->queue || emu_map_init(&h->by_sid) != 0) {
        free(h->queue);
        free(h);
        return -1;
    }
    if (pthread_mutex_init(&h->qlock, NULL) != 0) goto fail;
    if (pthread_cond_init(&h->qcond, NULL) != 0) {
        pthread_mutex_destroy(&h->qlock);
        goto fail;
    }
    h->queue_max = EMU_HOOK_QUEUE_MAX;
    h->timeout_ms = EMU_HOOK_TIMEOUT_MS;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    srv->hooks = h;
    return 0;
fail:
    emu_map_free(&h->by_sid, NULL);
    free(h->queue);
    free(h);
    return -1;
}

static void *worker(void *arg);

int emu_hooks_start(emu_server *srv) {
    emu_hooks *h = srv->hooks;
    if (!h || h->started) return 0;
    if (pthread_create(&h->thread, NULL, worker, srv) != 0) return -1;
    h->started = 1;
    return 0;
}

void emu_hooks_stop(emu_server *srv) {
    emu_hooks *h = srv->hooks;
    if (!h) return;
    pthread_mutex_lock(&h->qlock);
    h->stop = 1;
    pthread_cond_broadcast(&h->qcond);
    pthread_mutex_unlock(&h->qlock);
    if (h->started) pthread_join(h->thread, NULL);
    h->started = 0;
}

void emu_hooks_free(emu_server *srv) {
    emu_hooks *h = srv->hooks;
    if (!h) return;
    queue_clear(h);
    log_clear(h);
    free(h->queue);
    emu_seqlist_free(&h->list);
    emu_map_free(&h->by_sid, emu_webhook_free);
    pthread_cond_destroy(&h->qcond);
    pthread_mutex_destroy(&h->qlock);
    free(h);
    srv->hooks = NULL;
    curl_global_cleanup();
}

void emu_hooks_reset(emu_server *srv) {
    emu_hooks *h = srv->hooks;
    if (!h) return;
    emu_seqlist_free(&h->list);
    emu_map_clear(&h->by_sid, emu_webhook_free);
    pthread_mutex_lock(&h->qlock);
    queue_clear(h);
    log_clear(h);
    h->queue_max = EMU_HOOK_QUEUE_MAX;
    h->timeout_ms = EMU_HOOK_TIMEOUT_MS;
    h->paused = 0;
    h->gen++;
    h->n_delivered = h->n_failed = h->n_refused = h->n_dropped = h->n_timeout = 0;
    pthread_cond_broadcast(&h->qcond);
    pthread_mutex_unlock(&h->qlock);
}

/* ------------------------------------------------------------- signing */

/* Base64 HMAC-SHA1 over url + the sorted key/value pairs of params
 * (Twilio's X-Twilio-Signature).  malloc'd, NULL on OOM. */
static int cmp_keys(const void *a, const void *b) {
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    return strcmp(x->string, y->string);
}

static char *sign(const char *token, const char *url, const cJSON *params) {
    const cJSON *items[MAX_PARAMS] = {0};
    size_t n = 0, len = strlen(url);
    for (const cJSON *c = params->child; c && n < MAX_PARAMS; c = c->next) {
        items[n++] = c;
        len += strlen(c->string) + strlen(c->valuestring);
    }
    qsort(items, n, sizeof items[0], cmp_keys);
    char *data = malloc(len + 1);
    if (!data) return NULL;
    size_t off = strlen(url);
    memcpy(data, url, off);
    for (size_t i = 0; i < n; i++) {
        size_t kl = strlen(items[i]->string), vl = strlen(items[i]->valuestring);
        memcpy(data + off, items[i]->string, kl);
        off += kl;
        memcpy(data + off, items[i]->valuestring, vl);
        off += vl;
    }
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    unsigned char *ok = HMAC(EVP_sha1(), token, (int)strlen(token), (const unsigned char *)data, off, mac, &maclen);
    free(data);
    if (!ok) return NULL;
    char *b64 = malloc(4 * ((maclen + 2) / 3) + 1);
    if (b64) EVP_EncodeBlock((unsigned char *)b64, mac, (int)maclen);
    return b64;
}

/* application/x-www-form-urlencoded text of params (in their order). */
static char *form_encode(const cJSON *params) {
    size_t cap = 64;
    for (const cJSON *c = params->child; c; c = c->next) cap += 3 * (strlen(c->string) + strlen(c->valuestring)) + 2;
    char *out = malloc(cap), *p = out;
    if (!out) return NULL;
    static const char hex[] = "0123456789ABCDEF";
    for (const cJSON *c = params->child; c; c = c->next) {
        if (p != out) *p++ = '&';
        for (int part = 0; part < 2; part++) {
            const unsigned char *s = (const unsigned char *)(part ? c->valuestring : c->string);
            for (; *s; s++) {
                if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' ||
                    *s == '.' || *s == '_' || *s == '~') {
                    *p++ = (char)*s;
                } else {
                    *p++ = '%';
                    *p++ = hex[*s >> 4];
                    *p++ = hex[*s & 15];
                }
            }
            if (!part) *p++ = '=';
        }
    }
    *p = '\0';
    return out;
}

static int random_uuid(char out[37]) {
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1) return -1;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
             b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    return 0;
}

/* ------------------------------------------------------------- queueing */

static int subscribed(const emu_webhook *w, const char *type) {
    if (!w->enabled) return 0;
    for (size_t i = 0; i < w->nevents; i++)
        if (strcmp(w->events[i], "*") == 0 || strcmp(w->events[i], type) == 0) return 1;
    return 0;
}

static cJSON *record_of(const delivery *d) {
    cJSON *j = cJSON_CreateObject();
    char q[32];
    iso_ms(d->queued_at, q);
    int ok = j && cJSON_AddNumberToObject(j, "id", (double)d->id) && cJSON_AddStringToObject(j, "event", d->event) &&
             cJSON_AddStringToObject(j, "uuid", d->uuid) && cJSON_AddStringToObject(j, "webhook_sid", d->webhook_sid) &&
             cJSON_AddStringToObject(j, "url", d->url) && cJSON_AddStringToObject(j, "body", d->body) &&
             emu_json_add(j, "params", cJSON_Duplicate(d->params, 1)) == 0 &&
             cJSON_AddStringToObject(j, "signature", d->signature) && cJSON_AddStringToObject(j, "queued_at", q);
    if (!ok) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

/* Queue one delivery of params to webhook w (lock held: srv + takes qlock). */
static void enqueue(emu_server *srv, const emu_webhook *w, const char *type, cJSON *params) {
    emu_hooks *h = srv->hooks;
    delivery *d = calloc(1, sizeof *d);
    if (!d) {
        cJSON_Delete(params);
        return;
    }
    d->params = params;
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(params, "uuid");
    d->event = emu_strdup(type);
    d->uuid = emu_strdup(u ? u->valuestring : "");
    d->url = emu_strdup(w->url);
    d->webhook_sid = emu_strdup(w->sid);
    d->body = form_encode(params);
    d->signature = sign(srv->cfg.auth_token, w->url, params);
    d->queued_at = now_real();
    if (!d->event || !d->uuid || !d->url || !d->webhook_sid || !d->body || !d->signature) {
        delivery_free(d);
        return;
    }
    pthread_mutex_lock(&h->qlock);
    d->id = ++h->next_id;
    if (h->qn >= h->queue_max) {
        cJSON *rec = record_of(d);
        if (rec && (!cJSON_AddStringToObject(rec, "status", "dropped") ||
                    !cJSON_AddStringToObject(rec, "error", "the delivery queue is full") ||
                    !cJSON_AddNullToObject(rec, "response_status"))) {
            cJSON_Delete(rec);
            rec = NULL;
        }
        log_append(h, rec);
        h->n_dropped++;
        pthread_mutex_unlock(&h->qlock);
        delivery_free(d);
        return;
    }
    h->queue[(h->qhead + h->qn) % QUEUE_HARD_MAX] = d;
    h->qn++;
    pthread_cond_signal(&h->qcond);
    pthread_mutex_unlock(&h->qlock);
}

static int add_str(cJSON *o, const char *k, const char *v) {
    return v ? cJSON_AddStringToObject(o, k, v) != NULL : 1;
}

static int add_json(cJSON *o, const char *k, const cJSON *v) {
    if (!v || cJSON_IsNull(v)) return 1;
    char *t = cJSON_PrintUnformatted(v);
    if (!t) return 0;
    int ok = cJSON_AddStringToObject(o, k, t) != NULL;
    free(t);
    return ok;
}

/* The parameters of one event for webhook w (Twilio's names). */
static cJSON *event_params(emu_server *srv, const emu_webhook *w, const char *type, const emu_factor *f,
                           const char *factor_sid, const emu_entity *e, const emu_challenge *ch, int64_t now) {
    char uuid[37], date[21];
    if (random_uuid(uuid) != 0) return NULL;
    emu_iso8601(now, date);
    cJSON *p = cJSON_CreateObject();
    const char *ftype = ch ? (ch->factor_type == EMU_TOTP ? "totp" : "push") : (f->type == EMU_TOTP ? "totp" : "push");
    int ok = p && add_str(p, "uuid", uuid) && add_str(p, "type", type) &&
             add_str(p, "account_sid", srv->cfg.account_sid) && add_str(p, "service_sid", e->service_sid) &&
             add_str(p, "entity_identity", e->identity) && add_str(p, "factor_sid", factor_sid) &&
             add_str(p, "factor_type", ftype) && add_str(p, "factor_friendly_name", f ? f->friendly_name : NULL);
    if (ok && ch) {
        cJSON *r = emu_render_challenge(ch, srv->cfg.account_sid, "127.0.0.1", now);
        ok = r && add_str(p, "challenge_sid", ch->sid) &&
             add_json(p, "challenge_details", cJSON_GetObjectItemCaseSensitive(r, "details")) &&
             add_json(p, "hidden_details", cJSON_GetObjectItemCaseSensitive(r, "hidden_details"));
        if (ok && !w->v1)
            ok = add_json(p, "metadata", cJSON_GetObjectItemCaseSensitive(r, "metadata")) &&
                 add_str(p, "status", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "status")));
        cJSON_Delete(r);
    } else if (ok && !w->v1) {
        ok = add_json(p, "metadata", f->metadata) && add_str(p, "status", f->verified ? "verified" : "unverified");
    }
    ok = ok && add_str(p, "date_created", date);
    if (!ok) {
        cJSON_Delete(p);
        return NULL;
    }
    return p;
}

static void fire(emu_server *srv, const char *service_sid, const char *type, const emu_factor *f,
                 const char *factor_sid, const emu_entity *e, const emu_challenge *ch) {
    emu_hooks *h = srv->hooks;
    if (!h) return;
    int64_t now = emu_now(srv);
    for (size_t i = 0; i < h->list.n; i++) {
        const emu_webhook *w = h->list.items[i].p;
        if (!w || strcmp(w->service_sid, service_sid) != 0 || !subscribed(w, type)) continue;
        cJSON *p = event_params(srv, w, type, f, factor_sid, e, ch, now);
        if (p) enqueue(srv, w, type, p);
    }
}

void emu_webhook_factor_event(emu_server *srv, const char *type, const emu_factor *f) {
    if (!f || !f->entity) return;
    fire(srv, f->entity->service_sid, type, f, f->sid, f->entity, NULL);
}

void emu_webhook_challenge_event(emu_server *srv, const emu_challenge *ch) {
    if (!ch || !ch->entity) return;
    const char *type = ch->status == EMU_CH_APPROVED ? "challenge.approved"
                       : ch->status == EMU_CH_DENIED ? "challenge.denied"
                                                     : NULL;
    if (!type) return;
    const emu_factor *f = emu_store_factor(&srv->store, ch->factor_sid);
    fire(srv, ch->entity->service_sid, type, f, ch->factor_sid, ch->entity, ch);
}

/* ------------------------------------------------------------- delivery */

/* Is host (as libcurl gives it: "[::1]" for IPv6) a loopback name or address? */
static int loopback_host(const char *host) {
    if (strcasecmp(host, "localhost") == 0) return 1;
    char buf[64];
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof buf) {
        memcpy(buf, host + 1, n - 2);
        buf[n - 2] = '\0';
        struct in6_addr a6;
        return inet_pton(AF_INET6, buf, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
    }
    struct in_addr a4;
    if (inet_pton(AF_INET, host, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    return 0;
}

/* 0: a loopback http(s) URL; else -1 with why (hooks.h). */
int emu_hook_check_url(const char *url, char *why, size_t wlen) {
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    int rc = -1;
    if (!u) {
        snprintf(why, wlen, "out of memory");
        return -1;
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        snprintf(why, wlen, "not an absolute URL");
    } else if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
        snprintf(why, wlen, "scheme %.16s is not http or https", scheme);
    } else if (!loopback_host(host)) {
        snprintf(why, wlen, "%.200s is not a loopback host (127.0.0.0/8, ::1, localhost)", host);
    } else {
        rc = 0;
    }
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

/* Every socket libcurl opens must go to a loopback address. */
static curl_socket_t open_socket(void *cls, curlsocktype purpose, struct curl_sockaddr *a) {
    (void)cls;
    (void)purpose;
    int ok = 0;
    if (a->family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)&a->addr;
        ok = (ntohl(s->sin_addr.s_addr) >> 24) == 127;
    } else if (a->family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&a->addr;
        ok = IN6_IS_ADDR_LOOPBACK(&s->sin6_addr);
    }
    if (!ok) return CURL_SOCKET_BAD;
    return socket(a->family, a->socktype, a->protocol);
}

typedef struct sink {
    char buf[RESP_KEEP + 1];
    size_t len;
} sink;

static size_t on_body(char *p, size_t size, size_t n, void *cls) {
    sink *s = cls;
    size_t total = size * n, room = RESP_KEEP - s->len;
    size_t take = total < room ? total : room;
    memcpy(s->buf + s->len, p, take);
    s->len += take;
    s->buf[s->len] = '\0';
    return total;
}

static int on_progress(void *cls, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d) {
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    emu_hooks *h = cls;
    pthread_mutex_lock(&h->qlock);
    int stop = h->stop;
    pthread_mutex_unlock(&h->qlock);
    return stop;
}

/* POST d; returns its record (NULL on OOM).  No lock held. */
static cJSON *deliver(emu_hooks *h, const delivery *d, long timeout_ms) {
    cJSON *rec = record_of(d);
    if (!rec) return NULL;
    char started[32], finished[32], why[300] = "";
    double t0 = now_real();
    iso_ms(t0, started);
    const char *status = "failed";
    long code = 0;
    sink body = {.len = 0};
    body.buf[0] = '\0';
    if (emu_hook_check_url(d->url, why, sizeof why) != 0) {
        status = "refused";
    } else {
        CURL *c = curl_easy_init();
        struct curl_slist *hd = NULL, *t;
        char sig[96], idem[96];
        snprintf(sig, sizeof sig, "X-Twilio-Signature: %s", d->signature);
        snprintf(idem, sizeof idem, "I-Twilio-Idempotency-Token: %s", d->uuid);
        const char *lines[] = {"Content-Type: application/x-www-form-urlencoded", sig, idem, "Expect:",
                               "Accept: */*"};
        for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
            t = curl_slist_append(hd, lines[i]);
            if (!t) break;
            hd = t;
        }
        if (!c || !hd) {
            snprintf(why, sizeof why, "out of memory");
        } else {
            char errbuf[CURL_ERROR_SIZE] = "";
            curl_easy_setopt(c, CURLOPT_URL, d->url);
            curl_easy_setopt(c, CURLOPT_POST, 1L);
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, d->body);
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(d->body));
            curl_easy_setopt(c, CURLOPT_HTTPHEADER, hd);
            curl_easy_setopt(c, CURLOPT_USERAGENT, "TwilioProxy/1.1");
            curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
            curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
            curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
            curl_easy_setopt(c, CURLOPT_PROXY, "");
            curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
            curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
            curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
            curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket);
            curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
            curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
            curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
            curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
            curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
            curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
            CURLcode rc = curl_easy_perform(c);
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
            if (rc == CURLE_OK) {
                status = code >= 200 && code < 300 ? "delivered" : "failed";
                if (strcmp(status, "failed") == 0) snprintf(why, sizeof why, "the receiver answered %ld", code);
            } else if (rc == CURLE_OPERATION_TIMEDOUT) {
                status = "timeout";
                snprintf(why, sizeof why, "no answer within %ld ms: %.200s", timeout_ms,
                         errbuf[0] ? errbuf : curl_easy_strerror(rc));
            } else if (rc == CURLE_COULDNT_CONNECT && code == 0 && strstr(errbuf, "socket") != NULL) {
                snprintf(why, sizeof why, "%.250s", errbuf);
            } else {
                snprintf(why, sizeof why, "%.250s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
            }
        }
        curl_slist_free_all(hd);
        if (c) curl_easy_cleanup(c);
    }
    double t1 = now_real();
    iso_ms(t1, finished);
    int ok = cJSON_AddStringToObject(rec, "status", status) &&
             (code ? cJSON_AddNumberToObject(rec, "response_status", (double)code)
                   : cJSON_AddNullToObject(rec, "response_status")) &&
             (why[0] ? cJSON_AddStringToObject(rec, "error", why) : cJSON_AddNullToObject(rec, "error")) &&
             (code ? cJSON_AddStringToObject(rec, "response_body", body.buf)
                   : cJSON_AddNullToObject(rec, "response_body")) &&
             cJSON_AddStringToObject(rec, "started_at", started) && cJSON_AddStringToObject(rec, "finished_at", finished) &&
             cJSON_AddNumberToObject(rec, "duration_ms", (t1 - t0) * 1000.0) &&
             cJSON_AddStringToObject(rec, "user_agent", "TwilioProxy/1.1");
    if (!ok) {
        cJSON_Delete(rec);
        return NULL;
    }
    return rec;
}

static void *worker(void *arg) {
    emu_server *srv = arg;
    emu_hooks *h = srv->hooks;
    pthread_mutex_lock(&h->qlock);
    for (;;) {
        while (!h->stop && (h->paused || h->qn == 0)) pthread_cond_wait(&h->qcond, &h->qlock);
        if (h->stop) break;
        delivery *d = h->queue[h->qhead];
        h->queue[h->qhead] = NULL;
        h->qhead = (h->qhead + 1) % QUEUE_HARD_MAX;
        h->qn--;
        long timeout = h->timeout_ms;
        unsigned long gen = h->gen;
        h->current = d;
        pthread_mutex_unlock(&h->qlock);
        cJSON *rec = deliver(h, d, timeout);
        pthread_mutex_lock(&h->qlock);
        h->current = NULL;
        if (gen != h->gen) { /* reset while it was sent */
            cJSON_Delete(rec);
            delivery_free(d);
            continue;
        }
        const char *st = rec ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "status")) : NULL;
        if (st && strcmp(st, "delivered") == 0) h->n_delivered++;
        else if (st && strcmp(st, "refused") == 0) h->n_refused++;
        else if (st && strcmp(st, "timeout") == 0) h->n_timeout++;
        else h->n_failed++;
        log_append(h, rec);
        delivery_free(d);
    }
    pthread_mutex_unlock(&h->qlock);
    return NULL;
}

/* --------------------------------------------------------- control */

static void control_get(emu_hooks *h, emu_response *out) {
    cJSON *j = cJSON_CreateObject(), *arr = cJSON_CreateArray(), *cfg = cJSON_CreateObject();
    int ok = j && emu_json_add(j, "deliveries", arr) == 0 && emu_json_add(j, "config", cfg) == 0;
    if (!j) {
        cJSON_Delete(arr);
        cJSON_Delete(cfg);
    }
    pthread_mutex_lock(&h->qlock);
    for (size_t i = 0; ok && i < h->log_n; i++)
        ok = emu_json_add(arr, NULL, cJSON_Duplicate(h->log[(h->log_head + i) % EMU_HOOK_LOG_MAX], 1)) == 0;
    ok = ok && cJSON_AddNumberToObject(cfg, "queue_max", (double)h->queue_max) &&
         cJSON_AddNumberToObject(cfg, "timeout_ms", (double)h->timeout_ms) &&
         cJSON_AddBoolToObject(cfg, "paused", h->paused) && cJSON_AddNumberToObject(j, "queued", (double)h->qn) &&
         cJSON_AddBoolToObject(j, "sending", h->current != NULL) &&
         cJSON_AddNumberToObject(j, "delivered", (double)h->n_delivered) &&
         cJSON_AddNumberToObject(j, "failed", (double)h->n_failed) &&
         cJSON_AddNumberToObject(j, "timeouts", (double)h->n_timeout) &&
         cJSON_AddNumberToObject(j, "refused", (double)h->n_refused) &&
         cJSON_AddNumberToObject(j, "dropped", (double)h->n_dropped);
    pthread_mutex_unlock(&h->qlock);
    if (!ok) {
        cJSON_Delete(j);
        j = NULL;
    }
    emu_response_json(out, 200, j);
}

static void control_set(emu_hooks *h, const char *body, size_t len, emu_response *out) {
    cJSON *j = cJSON_ParseWithLength(body, len);
    const cJSON *qm = cJSON_GetObjectItemCaseSensitive(j, "queue_max");
    const cJSON *tm = cJSON_GetObjectItemCaseSensitive(j, "timeout_ms");
    const cJSON *pa = cJSON_GetObjectItemCaseSensitive(j, "paused");
    int bad = !cJSON_IsObject(j) || (qm && (!cJSON_IsNumber(qm) || qm->valuedouble < 0 || qm->valuedouble > QUEUE_HARD_MAX)) ||
              (tm && (!cJSON_IsNumber(tm) || tm->valuedouble < 1 || tm->valuedouble > 600000)) ||
              (pa && !cJSON_IsBool(pa));
    if (bad) {
        cJSON_Delete(j);
        emu_response_error(out, 400, 60200,
                           "expected {\"queue_max\": 0..4096, \"timeout_ms\": 1..600000, \"paused\": true|false}", NULL);
        return;
    }
    pthread_mutex_lock(&h->qlock);
    if (qm) h->queue_max = (size_t)qm->valuedouble;
    if (tm) h->timeout_ms = (long)tm->valuedouble;
    if (pa) h->paused = cJSON_IsTrue(pa);
    pthread_cond_broadcast(&h->qcond);
    pthread_mutex_unlock(&h->qlock);
    cJSON_Delete(j);
    control_get(h, out);
}

void emu_hooks_control(emu_server *srv, const char *method, const char *body, size_t len, emu_response *out) {
    emu_hooks *h = srv->hooks;
    if (strcmp(method, "GET") == 0) {
        control_get(h, out);
    } else if (strcmp(method, "POST") == 0) {
        control_set(h, body, len, out);
    } else if (strcmp(method, "DELETE") == 0) {
        pthread_mutex_lock(&h->qlock);
        log_clear(h);
        h->n_delivered = h->n_failed = h->n_refused = h->n_dropped = h->n_timeout = 0;
        pthread_mutex_unlock(&h->qlock);
        out->status = 204;
        out->content_type = NULL;
    } else {
        emu_response_error(out, 405, 20004, "Method not allowed", NULL);
        emu_response_header(out, "Allow", "GET, POST, DELETE");
    }
}
