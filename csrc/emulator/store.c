/*
 * store.c -- services, entities, factors and challenges; ordered lists
 * for paging; per-entity and per-factor limits.
 *
 * Ownership: a service record owns its entities (through its entity list),
 * an entity owns its factors and challenges.  The maps (entities, factors,
 * challenges, bindings) only index them.  Every function here is called
 * with the server lock held (or before the server starts).
 *
 * Ordered lists (emu_seqlist) keep items by creation sequence.  Deletion
 * leaves a tombstone; the array is compacted when tombstones outnumber live
 * items, so space and scans stay linear in the live count.  Page tokens
 * carry a sequence number, so a page position is found by binary search
 * and stays stable when items are deleted.
 */
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "tv_ops.h"

/* ------------------------------------------------------------ seqlist */

int emu_seqlist_push(emu_seqlist *l, uint64_t seq, void *p) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        emu_seqitem *items = realloc(l->items, cap * sizeof *items);
        if (!items) return -1;
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n].seq = seq;
    l->items[l->n].p = p;
    l->n++;
    l->live++;
    return 0;
}

/* Lowest index whose seq is > seq (or >= seq when inclusive). */
static size_t lower_bound(const emu_seqlist *l, uint64_t seq, int inclusive) {
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int before = inclusive ? l->items[mid].seq < seq : l->items[mid].seq <= seq;
        if (before) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static void compact(emu_seqlist *l) {
    size_t o = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->items[i].p) l->items[o++] = l->items[i];
    l->n = o;
}

void emu_seqlist_remove(emu_seqlist *l, uint64_t seq, const void *p) {
    size_t i = lower_bound(l, seq, 1);
    if (i < l->n && l->items[i].p == p) {
        l->items[i].p = NULL;
        l->live--;
        size_t dead = l->n - l->live;
        if (dead > 64 && dead > l->live) compact(l);
    }
}

void emu_seqlist_free(emu_seqlist *l) {
    free(l->items);
    memset(l, 0, sizeof *l);
}

static int kept(const emu_seqitem *it, int (*keep)(const void *, void *), void *ctx) {
    return it->p && (!keep || keep(it->p, ctx));
}

static int any_before(const emu_seqlist *l, size_t idx, int (*keep)(const void *, void *), void *ctx) {
    while (idx > 0)
        if (kept(&l->items[--idx], keep, ctx)) return 1;
    return 0;
}

static int any_from(const emu_seqlist *l, size_t idx, int (*keep)(const void *, void *), void *ctx) {
    for (; idx < l->n; idx++)
        if (kept(&l->items[idx], keep, ctx)) return 1;
    return 0;
}

size_t emu_seqlist_page(const emu_seqlist *l, int before, uint64_t token, size_t n, emu_seqitem *out,
                        int *has_prev, int *has_next, int (*keep)(const void *p, void *ctx), void *ctx) {
    size_t got = 0;
    if (!before) {
        size_t i = lower_bound(l, token, 0), first = i, last = i;
        for (; i < l->n && got < n; i++) {
            if (!kept(&l->items[i], keep, ctx)) continue;
            if (got == 0) first = i;
            out[got++] = l->items[i];
            last = i + 1;
        }
        if (got == 0) last = i;
        *has_prev = any_before(l, first, keep, ctx);
        *has_next = any_from(l, last, keep, ctx);
        return got;
    }
    size_t j = lower_bound(l, token, 1), first = j, i = j;
    while (i > 0 && got < n) {
        i--;
        if (!kept(&l->items[i], keep, ctx)) continue;
        out[got++] = l->items[i];
        first = i;
    }
    for (size_t a = 0, b = got; a + 1 < b; a++, b--) { /* ascending order */
        emu_seqitem t = out[a];
        out[a] = out[b - 1];
        out[b - 1] = t;
    }
    *has_prev = any_before(l, first, keep, ctx);
    *has_next = any_from(l, j, keep, ctx);
    return got;
}

/* ------------------------------------------------------------ objects */

emu_factor *emu_factor_new(void) {
    emu_factor *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->alg = TV_TOTP_SHA1;
    f->skew = 1;
    f->digits = 6;
    f->step = 30;
    return f;
}

static void free_secret_str(char *s) {
    if (!s) return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

void emu_factor_free(emu_factor *f) {
    if (!f) return;
    free(f->friendly_name);
    cJSON_Delete(f->metadata);
    if (f->secret) {
        OPENSSL_cleanse(f->secret, f->secret_len);
        free(f->secret);
    }
    free_secret_str(f->bind_key);
    free(f->ch_creates);
    free(f->sdk_version);
    free(f->app_id);
    free(f->platform);
    free(f->public_key);
    free_secret_str(f->token);
    emu_passkey_free(f->pk);
    free(f);
}

void emu_passkey_free(emu_passkey *pk) {
    if (!pk) return;
    free(pk->rp_id);
    free(pk->rp_name);
    cJSON_Delete(pk->origins);
    cJSON_Delete(pk->transports);
    free(pk->cred_id);
    free(pk);
}

const char *emu_factor_type_name(int type) {
    return type == EMU_TOTP ? "totp" : type == EMU_PASSKEYS ? "passkeys" : "push";
}

void emu_challenge_free(emu_challenge *ch) {
    if (!ch) return;
    free(ch->details_message);
    cJSON_Delete(ch->details_fields);
    cJSON_Delete(ch->hidden_details);
    cJSON_Delete(ch->metadata);
    free(ch);
}

/* Free e and everything it owns (the maps are not touched). */
static void entity_free(emu_entity *e) {
    if (!e) return;
    for (size_t i = 0; i < e->factors.n; i++) emu_factor_free(e->factors.items[i].p);
    for (size_t i = 0; i < e->challenges.n; i++) emu_challenge_free(e->challenges.items[i].p);
    emu_seqlist_free(&e->factors);
    emu_seqlist_free(&e->challenges);
    free(e);
}

static void service_free(void *p) {
    emu_service *svc = p;
    if (!svc) return;
    for (size_t i = 0; i < svc->entities.n; i++) entity_free(svc->entities.items[i].p);
    emu_seqlist_free(&svc->entities);
    for (size_t i = 0; i < EMU_SERVICE_NVALS; i++) free(svc->vals[i]);
    free(svc);
}

/* -------------------------------------------------------------- store */

int emu_store_init(emu_store *s) {
    memset(s, 0, sizeof *s);
    s->next_seq = 1;
    emu_map *maps[] = {&s->services, &s->entities, &s->factors,       &s->challenges,
                       &s->bindings, &s->access_tokens, &s->pk_challenges};
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
        if (emu_map_init(maps[i]) != 0) {
            for (size_t k = 0; k < i; k++) emu_map_free(maps[k], NULL);
            return -1;
        }
    }
    if (emu_otp_init(&s->otp) != 0) {
        for (size_t k = 0; k < sizeof maps / sizeof maps[0]; k++) emu_map_free(maps[k], NULL);
        return -1;
    }
    return 0;
}

void emu_store_clear(emu_store *s) {
    emu_map_clear(&s->pk_challenges, free);
    emu_otp_clear(&s->otp);
    emu_map_clear(&s->access_tokens, emu_access_token_free);
    emu_map_clear(&s->bindings, NULL);
    emu_map_clear(&s->challenges, NULL);
    emu_map_clear(&s->factors, NULL);
    emu_map_clear(&s->entities, NULL);
    emu_map_clear(&s->services, service_free); /* owns everything */
    emu_seqlist_free(&s->service_list);
    s->next_seq = 1;
}

void emu_store_free(emu_store *s) {
    emu_map_free(&s->pk_challenges, free);
    emu_otp_free(&s->otp);
    emu_map_free(&s->access_tokens, emu_access_token_free);
    emu_map_free(&s->bindings, NULL);
    emu_map_free(&s->challenges, NULL);
    emu_map_free(&s->factors, NULL);
    emu_map_free(&s->entities, NULL);
    emu_map_free(&s->services, service_free);
    emu_seqlist_free(&s->service_list);
}

static void entity_key(const char *service_sid, const char *identity, char *out, size_t n) {
    snprintf(out, n, "%s/%s", service_sid, identity);
}

void emu_entity_sid(const char *service_sid, const char *identity, char out[35]) {
    static const char hex[] = "0123456789abcdef";
    unsigned char md[SHA256_DIGEST_LENGTH];
    char key[128];
    entity_key(service_sid, identity, key, sizeof key);
    SHA256((const unsigned char *)key, strlen(key), md);
    out[0] = 'Y';
    out[1] = 'E';
    for (int i = 0; i < 16; i++) {
        out[2 + 2 * i] = hex[md[i] >> 4];
        out[3 + 2 * i] = hex[md[i] & 15];
    }
    out[34] = '\0';
}

/* ----------------------------------------------------------- services */

emu_service *emu_store_service(emu_store *s, const char *sid) {
    return emu_map_get(&s->services, sid);
}

emu_service *emu_store_service_get_or_create(emu_store *s, const char *sid) {
    emu_service *svc = emu_store_service(s, sid);
    if (svc) return svc;
    if (!(svc = calloc(1, sizeof *svc))) return NULL;
    snprintf(svc->sid, sizeof svc->sid, "%s", sid);
    if (emu_map_put(&s->services, sid, svc) != 0) {
        free(svc);
        return NULL;
    }
    return svc;
}

int emu_store_service_publish(emu_store *s, emu_service *svc) {
    uint64_t seq = s->next_seq;
    if (emu_seqlist_push(&s->service_list, seq, svc) != 0) return -1;
    s->next_seq++;
    svc->seq = seq;
    svc->created = 1;
    return 0;
}

void emu_store_service_delete(emu_store *s, emu_service *svc) {
    emu_seqlist l = svc->entities; /* detached: deleting an entity edits svc->entities */
    memset(&svc->entities, 0, sizeof svc->entities);
    for (size_t i = 0; i < l.n; i++)
        if (l.items[i].p) emu_store_entity_delete(s, l.items[i].p);
    emu_seqlist_free(&l);
    if (svc->created) emu_seqlist_remove(&s->service_list, svc->seq, svc);
    emu_otp_service_delete(&s->otp, svc->sid);
    svc->deleted = 1;
}

const char *emu_service_val(const emu_service *svc, const char *key) {
    if (!svc) return NULL;
    const tv_param_spec *set = tv_operation_by_name("create_service")->params;
    const tv_param_spec *p = tv_param_by_key(set, key);
    size_t i = p ? (size_t)(p - set) : EMU_SERVICE_NVALS;
    return i < EMU_SERVICE_NVALS ? svc->vals[i] : NULL;
}

/* ----------------------------------------------------------- entities */

emu_entity *emu_store_entity(emu_store *s, const char *service_sid, const char *identity) {
    char key[128];
    entity_key(service_sid, identity, key, sizeof key);
    return emu_map_get(&s->entities, key);
}

emu_entity *emu_store_entity_get_or_create(emu_store *s, const char *service_sid, const char *identity,
                                           int64_t now) {
    emu_entity *e = emu_store_entity(s, service_sid, identity);
    if (e) return e;
    emu_service *svc = emu_store_service_get_or_create(s, service_sid);
    if (!svc) return NULL;
    if (!(e = calloc(1, sizeof *e))) return NULL;
    snprintf(e->service_sid, sizeof e->service_sid, "%s", service_sid);
    snprintf(e->identity, sizeof e->identity, "%s", identity);
    emu_entity_sid(service_sid, identity, e->sid);
    e->created = e->updated = now;
    e->seq = s->next_seq;
    char key[128];
    entity_key(service_sid, identity, key, sizeof key);
    if (emu_seqlist_push(&svc->entities, e->seq, e) != 0) {
        free(e);
        return NULL;
    }
    if (emu_map_put(&s->entities, key, e) != 0) {
        svc->entities.n--;
        svc->entities.live--;
        free(e);
        return NULL;
    }
    s->next_seq++;
    return e;
}

static void unbind(emu_store *s, emu_factor *f) {
    if (!f->bind_key) return;
    if (emu_map_get(&s->bindings, f->bind_key) == f) emu_map_remove(&s->bindings, f->bind_key);
    free_secret_str(f->bind_key);
    f->bind_key = NULL;
}

void emu_store_entity_delete(emu_store *s, emu_entity *e) {
    for (size_t i = 0; i < e->factors.n; i++) {
        emu_factor *f = e->factors.items[i].p;
        if (!f) continue;
        unbind(s, f);
        emu_map_remove(&s->factors, f->sid);
    }
    for (size_t i = 0; i < e->challenges.n; i++) {
        emu_challenge *ch = e->challenges.items[i].p;
        if (ch) emu_map_remove(&s->challenges, ch->sid);
    }
    char key[128];
    entity_key(e->service_sid, e->identity, key, sizeof key);
    emu_map_remove(&s->entities, key);
    emu_service *svc = emu_store_service(s, e->service_sid);
    if (svc) emu_seqlist_remove(&svc->entities, e->seq, e);
    entity_free(e);
}

/* ------------------------------------------------------------ factors */

emu_factor *emu_store_factor(emu_store *s, const char *sid) {
    return emu_map_get(&s->factors, sid);
}

int emu_store_insert(emu_store *s, emu_entity *e, emu_factor *f) {
    if (f->sid[0]) {
        if (emu_store_factor(s, f->sid)) return -2;
    } else {
        do {
            if (emu_random_sid("YF", f->sid, 16) != 0) return -1;
        } while (emu_store_factor(s, f->sid));
    }
    if (emu_seqlist_push(&e->factors, s->next_seq, f) != 0) return -1;
    if (emu_map_put(&s->factors, f->sid, f) != 0) {
        e->factors.n--;
        e->factors.live--;
        return -1;
    }
    f->seq = s->next_seq++;
    f->entity = e;
    if (f->type == EMU_PUSH) e->n_push++;
    else if (f->type == EMU_TOTP) e->n_totp++;
    return 0;
}

void emu_store_delete(emu_store *s, emu_factor *f) {
    emu_entity *e = f->entity;
    size_t before = e->factors.live;
    emu_seqlist_remove(&e->factors, f->seq, f);
    if (e->factors.live < before) {
        if (f->type == EMU_PUSH) e->n_push--;
        else if (f->type == EMU_TOTP) e->n_totp--;
    }
    unbind(s, f);
    emu_map_remove(&s->factors, f->sid);
    emu_factor_free(f);
}

char *emu_binding_key(const emu_entity *e, const emu_factor *f) {
    static const char hex[] = "0123456789abcdef";
    size_t n;
    char *k;
    if (f->type == EMU_PASSKEYS) { /* its credential, service-wide: an assertion names only the credential */
        if (!f->pk || !f->pk->cred_id) return NULL;
        char *id = emu_b64url_encode(f->pk->cred_id, f->pk->cred_len);
        if (!id) return NULL;
        n = strlen(e->service_sid) + 3 + strlen(id) + 1;
        if ((k = malloc(n))) snprintf(k, n, "%s/K:%s", e->service_sid, id);
        free(id);
        return k;
    }
    if (f->type == EMU_PUSH) {
        if (!f->public_key) return NULL;
        n = strlen(e->sid) + 3 + strlen(f->public_key) + 1;
        if (!(k = malloc(n))) return NULL;
        snprintf(k, n, "%s/P:%s", e->sid, f->public_key);
        return k;
    }
    if (!f->secret) return NULL;
    n = strlen(e->sid) + 3 + 2 * f->secret_len + 1;
    if (!(k = malloc(n))) return NULL;
    size_t o = (size_t)snprintf(k, n, "%s/T:", e->sid);
    for (size_t i = 0; i < f->secret_len; i++) {
        k[o++] = hex[f->secret[i] >> 4];
        k[o++] = hex[f->secret[i] & 15];
    }
    k[o] = '\0';
    return k;
}

int emu_store_bind(emu_store *s, emu_factor *f, char *key) {
    if (emu_map_put(&s->bindings, key, f) != 0) {
        free_secret_str(key);
        return -1;
    }
    f->bind_key = key;
    return 0;
}

int emu_entity_create_allowed(const emu_entity *e, int64_t now) {
    if (e->ncreates < EMU_DAILY_CREATES) return 1;
    int64_t oldest = e->creates[e->creates_head]; /* head = oldest once full */
    return now - oldest >= 86400;
}

void emu_entity_note_create(emu_entity *e, int64_t now) {
    if (e->ncreates < EMU_DAILY_CREATES) {
        e->creates[e->ncreates++] = now;
        return;
    }
    e->creates[e->creates_head] = now;
    e->creates_head = (e->creates_head + 1) % EMU_DAILY_CREATES;
}

/* --------------------------------------------------------- challenges */

emu_challenge *emu_store_challenge(emu_store *s, const char *sid) {
    return emu_map_get(&s->challenges, sid);
}

int emu_store_challenge_insert(emu_store *s, emu_entity *e, emu_challenge *ch) {
    if (!ch->sid[0] || emu_store_challenge(s, ch->sid)) {
        do {
            if (emu_random_sid("YC", ch->sid, 16) != 0) return -1;
        } while (emu_store_challenge(s, ch->sid));
    }
    if (emu_seqlist_push(&e->challenges, s->next_seq, ch) != 0) return -1;
    if (emu_map_put(&s->challenges, ch->sid, ch) != 0) {
        e->challenges.n--;
        e->challenges.live--;
        return -1;
    }
    ch->seq = s->next_seq++;
    ch->entity = e;
    return 0;
}

int emu_challenge_status(const emu_challenge *ch, int64_t now) {
    if (ch->status == EMU_CH_PENDING && now >= ch->expires) return EMU_CH_EXPIRED;
    return ch->status;
}

/* Creations of f's challenges in (now - window, now]. */
static size_t created_within(const emu_factor *f, int64_t now, int64_t window) {
    size_t n = 0;
    for (size_t i = 0; i < f->ch_n; i++)
        if (now - f->ch_creates[i] < window) n++;
    return n;
}

int emu_factor_challenge_allowed(const emu_factor *f, int64_t now) {
    if (!f->ch_creates) return 1;
    if (f->type == EMU_TOTP && f->digits <= 4) return created_within(f, now, 86400) < EMU_CH_DAILY_SHORT;
    return created_within(f, now, 3600) < EMU_CH_HOURLY && created_within(f, now, 86400) < EMU_CH_DAILY;
}

int emu_factor_note_challenge(emu_factor *f, int64_t now) {
    if (!f->ch_creates && !(f->ch_creates = calloc(EMU_CH_DAILY, sizeof *f->ch_creates))) return -1;
    if (f->ch_n < EMU_CH_DAILY) {
        f->ch_creates[f->ch_n++] = now;
        return 0;
    }
    f->ch_creates[f->ch_head] = now;
    f->ch_head = (f->ch_head + 1) % EMU_CH_DAILY;
    return 0;
}

void emu_access_token_free(void *p) {
    emu_access_token *t = p;
    if (!t) return;
    free(t->identity);
    free(t->friendly_name);
    if (t->token) {
        OPENSSL_cleanse(t->token, strlen(t->token));
        free(t->token);
    }
    free(t);
}

void emu_push_credential_sid(const emu_factor *f, char out[35]) {
    snprintf(out, 35, "CR%s", f->sid[0] ? f->sid + 2 : "00000000000000000000000000000000");
}

/* ------------------------------------------------- one-time codes (issue 22)
 * Verifications (owned by otp.verifications, indexed by (service, channel,
 * to) while live), the outbox, the attempts, rate limits with their
 * buckets, messaging configurations and the SafeList.  Semantics and their
 * sources: doc/emulator.md, "Verifications". */

void emu_verification_free(emu_verification *v) {
    if (!v) return;
    free(v->to);
    free(v->amount);
    free(v->payee);
    OPENSSL_cleanse(v->code, sizeof v->code);
    OPENSSL_cleanse(v->sna_token, sizeof v->sna_token);
    free(v);
}

static void ve_free(void *p) { emu_verification_free(p); }

void emu_message_free(emu_message *m) {
    if (!m) return;
    free(m->to);
    free(m->from);
    if (m->body) {
        OPENSSL_cleanse(m->body, strlen(m->body));
        free(m->body);
    }
    free(m);
}

void emu_attempt_free(emu_attempt *a) {
    if (!a) return;
    free(a->to);
    free(a);
}

static void attempt_free(void *p) { emu_attempt_free(p); }

static void hits_free(void *p) {
    emu_hits *h = p;
    if (!h) return;
    free(h->t);
    free(h);
}

void emu_bucket_free(emu_bucket *b) {
    if (!b) return;
    emu_map_free(&b->hits, hits_free);
    free(b);
}

void emu_rate_limit_free(emu_rate_limit *rl) {
    if (!rl) return;
    for (size_t i = 0; i < rl->buckets.n; i++) emu_bucket_free(rl->buckets.items[i].p);
    emu_seqlist_free(&rl->buckets);
    free(rl->unique_name);
    free(rl->description);
    free(rl);
}

static void rate_limit_free(void *p) { emu_rate_limit_free(p); }

static void safe_free(void *p) {
    emu_safe *e = p;
    if (!e) return;
    free(e->phone);
    free(e);
}

int emu_otp_init(emu_otp *o) {
    memset(o, 0, sizeof *o);
    o->next_message = 1;
    emu_map *maps[] = {&o->verifications, &o->live,    &o->attempts, &o->rate_limits,
                       &o->buckets,       &o->msgcfgs, &o->safelist};
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
        if (emu_map_init(maps[i]) != 0) {
            for (size_t k = 0; k < i; k++) emu_map_free(maps[k], NULL);
            return -1;
        }
    }
    return 0;
}

static void outbox_clear(emu_otp *o) {
    for (size_t i = 0; i < o->outbox_n; i++) {
        size_t at = (o->outbox_head + i) % EMU_OUTBOX_MAX;
        emu_message_free(o->outbox[at]);
        o->outbox[at] = NULL;
    }
    o->outbox_head = o->outbox_n = 0;
}

static void otp_release(emu_otp *o, void (*clear)(emu_map *, void (*)(void *))) {
    clear(&o->live, NULL);
    clear(&o->verifications, ve_free);
    clear(&o->attempts, attempt_free);
    clear(&o->buckets, NULL);
    clear(&o->rate_limits, rate_limit_free); /* owns the buckets */
    clear(&o->msgcfgs, free);
    clear(&o->safelist, safe_free);
    emu_seqlist_free(&o->ve_list);
    emu_seqlist_free(&o->attempt_list);
    emu_seqlist_free(&o->rate_limit_list);
    emu_seqlist_free(&o->msgcfg_list);
    outbox_clear(o);
    for (size_t i = 0; i < o->nfraud; i++) free(o->fraud[i]);
    o->nfraud = 0;
    o->safelist_n = o->safelist_head = 0;
}

void emu_otp_clear(emu_otp *o) {
    otp_release(o, emu_map_clear);
    o->next_message = 1;
}

void emu_otp_free(emu_otp *o) { otp_release(o, emu_map_free); }

static void live_key(const char *service_sid, const char *channel, const char *to, char *out, size_t n) {
    snprintf(out, n, "%s/%s/%s", service_sid, channel, to);
}

int emu_verification_status(const emu_verification *v, int64_t now) {
    if ((v->status == EMU_VE_PENDING || v->status == EMU_VE_MAX_ATTEMPTS) && now >= v->expires) return EMU_VE_EXPIRED;
    return v->status;
}

void emu_otp_remove(emu_otp *o, emu_verification *v) {
    char key[512];
    live_key(v->service_sid, v->channel, v->to, key, sizeof key);
    if (emu_map_get(&o->live, key) == v) emu_map_remove(&o->live, key);
    emu_map_remove(&o->verifications, v->sid);
    emu_seqlist_remove(&o->ve_list, v->seq, v);
    emu_verification_free(v);
}

emu_verification *emu_otp_live(emu_otp *o, const char *service_sid, const char *channel, const char *to,
                               int64_t now) {
    char key[512];
    live_key(service_sid, channel, to, key, sizeof key);
    emu_verification *v = emu_map_get(&o->live, key);
    if (v && emu_verification_status(v, now) == EMU_VE_EXPIRED) {
        emu_otp_remove(o, v);
        return NULL;
    }
    return v;
}

emu_verification *emu_otp_live_to(emu_otp *o, const char *service_sid, const char *to, int64_t now) {
    static const char *const channels[] = {"sms", "call", "email", "whatsapp", "sna"};
    emu_verification *best = NULL;
    for (size_t i = 0; i < sizeof channels / sizeof channels[0]; i++) {
        emu_verification *v = emu_otp_live(o, service_sid, channels[i], to, now);
        if (v && (!best || v->seq > best->seq)) best = v;
    }
    return best;
}

emu_verification *emu_otp_find(emu_otp *o, const char *service_sid, const char *sid, int64_t now) {
    emu_verification *v = emu_map_get(&o->verifications, sid);
    if (!v || strcmp(v->service_sid, service_sid) != 0) return NULL;
    if (emu_verification_status(v, now) == EMU_VE_EXPIRED) {
        emu_otp_remove(o, v);
        return NULL;
    }
    return v;
}

int emu_otp_insert(emu_otp *o, uint64_t seq, emu_verification *v) {
    do {
        if (emu_random_sid("VE", v->sid, 16) != 0) return -1;
    } while (emu_map_get(&o->verifications, v->sid));
    char key[512];
    live_key(v->service_sid, v->channel, v->to, key, sizeof key);
    if (emu_seqlist_push(&o->ve_list, seq, v) != 0) return -1;
    if (emu_map_put(&o->verifications, v->sid, v) != 0) {
        o->ve_list.n--;
        o->ve_list.live--;
        return -1;
    }
    if (emu_map_put(&o->live, key, v) != 0) {
        emu_map_remove(&o->verifications, v->sid);
        o->ve_list.n--;
        o->ve_list.live--;
        return -1;
    }
    v->seq = seq;
    return 0;
}

void emu_otp_sweep(emu_otp *o, int64_t now) {
    /* creation order is expiry order (one TTL): stop at the first live one */
    for (size_t i = 0, done = 0; i < o->ve_list.n && done < 64; i++) {
        emu_verification *v = o->ve_list.items[i].p;
        if (!v) continue;
        if (emu_verification_status(v, now) != EMU_VE_EXPIRED) break;
        emu_otp_remove(o, v); /* may compact the list: at worst the sweep stops early */
        done++;
    }
}

void emu_otp_outbox_add(emu_otp *o, emu_message *m) {
    if (o->outbox_n == EMU_OUTBOX_MAX) {
        emu_message_free(o->outbox[o->outbox_head]);
        o->outbox[o->outbox_head] = NULL;
        o->outbox_head = (o->outbox_head + 1) % EMU_OUTBOX_MAX;
        o->outbox_n--;
    }
    m->id = o->next_message++;
    o->outbox[(o->outbox_head + o->outbox_n) % EMU_OUTBOX_MAX] = m;
    o->outbox_n++;
}

int emu_otp_attempt_add(emu_otp *o, uint64_t seq, emu_attempt *a) {
    while (o->attempt_list.live >= EMU_ATTEMPTS_MAX) { /* the oldest go first */
        emu_attempt *old = NULL;
        for (size_t i = 0; i < o->attempt_list.n && !old; i++) old = o->attempt_list.items[i].p;
        if (!old) break;
        emu_seqlist_remove(&o->attempt_list, old->seq, old);
        emu_map_remove(&o->attempts, old->sid);
        emu_attempt_free(old);
    }
    a->seq = seq;
    if (emu_seqlist_push(&o->attempt_list, seq, a) != 0) {
        emu_attempt_free(a);
        return -1;
    }
    if (emu_map_put(&o->attempts, a->sid, a) != 0) {
        o->attempt_list.n--;
        o->attempt_list.live--;
        emu_attempt_free(a);
        return -1;
    }
    return 0;
}

/* The hits of key in b younger than the bucket's interval (pruned). */
static size_t hits_within(emu_hits *h, long interval, int64_t now) {
    size_t k = 0;
    for (size_t i = 0; i < h->n; i++)
        if (now - h->t[i] < interval) h->t[k++] = h->t[i];
    h->n = k;
    return k;
}

const emu_bucket *emu_bucket_refuses(const emu_rate_limit *rl, const char *key, int64_t now) {
    for (size_t i = 0; i < rl->buckets.n; i++) {
        const emu_bucket *b = rl->buckets.items[i].p;
        if (!b) continue;
        emu_hits *h = emu_map_get(&b->hits, key);
        if (h && (long)hits_within(h, b->interval, now) >= b->max) return b;
    }
    return NULL;
}

int emu_bucket_note(emu_rate_limit *rl, const char *key, int64_t now) {
    for (size_t i = 0; i < rl->buckets.n; i++) {
        emu_bucket *b = rl->buckets.items[i].p;
        if (!b) continue;
        emu_hits *h = emu_map_get(&b->hits, key);
        if (!h) {
            if (!(h = calloc(1, sizeof *h))) return -1;
            if (emu_map_put(&b->hits, key, h) != 0) {
                free(h);
                return -1;
            }
        }
        hits_within(h, b->interval, now);
        if (h->n == h->cap) {
            size_t cap = h->cap ? h->cap * 2 : 4;
            int64_t *t = realloc(h->t, cap * sizeof *t);
            if (!t) return -1;
            h->t = t;
            h->cap = cap;
        }
        h->t[h->n++] = now;
    }
    return 0;
}

emu_rate_limit *emu_otp_rate_limit_named(emu_otp *o, const char *service_sid, const char *unique_name) {
    for (size_t i = 0; i < o->rate_limit_list.n; i++) {
        emu_rate_limit *rl = o->rate_limit_list.items[i].p;
        if (rl && strcmp(rl->service_sid, service_sid) == 0 && strcmp(rl->unique_name, unique_name) == 0) return rl;
    }
    return NULL;
}

void emu_otp_rate_limit_delete(emu_otp *o, emu_rate_limit *rl) {
    for (size_t i = 0; i < rl->buckets.n; i++) {
        emu_bucket *b = rl->buckets.items[i].p;
        if (b) emu_map_remove(&o->buckets, b->sid);
    }
    emu_seqlist_remove(&o->rate_limit_list, rl->seq, rl);
    emu_map_remove(&o->rate_limits, rl->sid);
    emu_rate_limit_free(rl);
}

void emu_otp_msgcfg_delete(emu_otp *o, emu_msgcfg *m) {
    char key[64];
    snprintf(key, sizeof key, "%s/%s", m->service_sid, m->country);
    emu_seqlist_remove(&o->msgcfg_list, m->seq, m);
    emu_map_remove(&o->msgcfgs, key);
    free(m);
}

/* The first item of l whose service_sid (at offset `off` of the item) is sid. */
static void *first_of_service(const emu_seqlist *l, size_t off, const char *sid) {
    for (size_t i = 0; i < l->n; i++) {
        const char *p = l->items[i].p;
        if (p && strcmp(p + off, sid) == 0) return l->items[i].p;
    }
    return NULL;
}

void emu_otp_service_delete(emu_otp *o, const char *service_sid) {
    /* one at a time: a removal may compact the list under the scan */
    void *p;
    while ((p = first_of_service(&o->ve_list, offsetof(emu_verification, service_sid), service_sid)))
        emu_otp_remove(o, p);
    while ((p = first_of_service(&o->rate_limit_list, offsetof(emu_rate_limit, service_sid), service_sid)))
        emu_otp_rate_limit_delete(o, p);
    while ((p = first_of_service(&o->msgcfg_list, offsetof(emu_msgcfg, service_sid), service_sid)))
        emu_otp_msgcfg_delete(o, p);
}

int emu_otp_safelist_allow(emu_otp *o, int64_t now) {
    if (o->safelist_n == EMU_SAFELIST_RPM) {
        if (now - o->safelist_hits[o->safelist_head] < 60) return 0;
        o->safelist_hits[o->safelist_head] = now;
        o->safelist_head = (o->safelist_head + 1) % EMU_SAFELIST_RPM;
        return 1;
    }
    o->safelist_hits[o->safelist_n++] = now;
    return 1;
}

int emu_otp_fraud_blocks(const emu_otp *o, const char *to) {
    if (emu_map_get(&o->safelist, to)) return 0;
    for (size_t i = 0; i < o->nfraud; i++)
        if (strncmp(to, o->fraud[i], strlen(o->fraud[i])) == 0) return 1;
    return 0;
}

/* Calling codes of E.164 (ITU-T E.164 assignments), the longest match wins:
 * the emulator's short table (a number of another code has no country). */
static const struct { const char *code, *cc, *locale; } calling_codes[] = {
    {"1", "US", "en"},   {"7", "RU", "ru"},   {"20", "EG", "ar"},  {"27", "ZA", "en"},  {"30", "GR", "el"},
    {"31", "NL", "nl"},  {"32", "BE", "nl"},  {"33", "FR", "fr"},  {"34", "ES", "es"},  {"36", "HU", "hu"},
    {"39", "IT", "it"},  {"40", "RO", "ro"},  {"41", "CH", "de"},  {"43", "AT", "de"},  {"44", "GB", "en-GB"},
    {"45", "DK", "da"},  {"46", "SE", "sv"},  {"47", "NO", "nb"},  {"48", "PL", "pl"},  {"49", "DE", "de"},
    {"51", "PE", "es"},  {"52", "MX", "es"},  {"54", "AR", "es"},  {"55", "BR", "pt-BR"}, {"56", "CL", "es"},
    {"57", "CO", "es"},  {"60", "MY", "ms"},  {"61", "AU", "en"},  {"62", "ID", "id"},  {"63", "PH", "tl"},
    {"64", "NZ", "en"},  {"65", "SG", "en"},  {"66", "TH", "th"},  {"81", "JP", "ja"},  {"82", "KR", "ko"},
    {"84", "VN", "vi"},  {"86", "CN", "zh"},  {"90", "TR", "tr"},  {"91", "IN", "hi"},  {"351", "PT", "pt"},
    {"353", "IE", "en"}, {"358", "FI", "fi"}, {"385", "HR", "hr"}, {"420", "CZ", "cs"}, {"852", "HK", "zh-HK"},
    {"966", "SA", "ar"}, {"971", "AE", "ar"}, {"972", "IL", "he"},
};

static int calling_code(const char *to) {
    int best = -1;
    size_t blen = 0;
    if (!to || to[0] != '+') return -1;
    for (size_t i = 0; i < sizeof calling_codes / sizeof calling_codes[0]; i++) {
        size_t n = strlen(calling_codes[i].code);
        if (n > blen && strncmp(to + 1, calling_codes[i].code, n) == 0) best = (int)i, blen = n;
    }
    return best;
}

const char *emu_e164_country(const char *to) {
    int i = calling_code(to);
    return i < 0 ? "" : calling_codes[i].cc;
}

const char *emu_country_locale(const char *country) {
    for (size_t i = 0; country && *country && i < sizeof calling_codes / sizeof calling_codes[0]; i++)
        if (strcmp(calling_codes[i].cc, country) == 0) return calling_codes[i].locale;
    return "en";
}
