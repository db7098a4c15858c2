/*
 * store.c -- entities and factors, pagination, per-entity limits.
 *
 * Each entity keeps its factors in an array of slots ordered by creation
 * sequence.  Deletion leaves a tombstone (f == NULL); the array is compacted
 * when tombstones outnumber live factors, so space and scans stay linear in
 * the live count.  Page tokens carry a sequence number, so a page position
 * is found by binary search and stays stable when factors are deleted.
 */
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"

static void entity_free(void *p) {
    emu_entity *e = p;
    if (!e) return;
    for (size_t i = 0; i < e->nslots; i++) emu_factor_free(e->slots[i].f);
    free(e->slots);
    free(e);
}

int emu_store_init(emu_store *s) {
    memset(s, 0, sizeof *s);
    s->next_seq = 1;
    if (emu_map_init(&s->entities) != 0) return -1;
    if (emu_map_init(&s->factors) != 0) {
        emu_map_free(&s->entities, NULL);
        return -1;
    }
    return 0;
}

void emu_store_clear(emu_store *s) {
    emu_map_clear(&s->factors, NULL); /* factors are owned by their entity */
    emu_map_clear(&s->entities, entity_free);
    s->next_seq = 1;
}

void emu_store_free(emu_store *s) {
    emu_map_free(&s->factors, NULL);
    emu_map_free(&s->entities, entity_free);
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

emu_entity *emu_store_entity(emu_store *s, const char *service_sid, const char *identity) {
    char key[128];
    entity_key(service_sid, identity, key, sizeof key);
    return emu_map_get(&s->entities, key);
}

emu_entity *emu_store_entity_get_or_create(emu_store *s, const char *service_sid, const char *identity) {
    emu_entity *e = emu_store_entity(s, service_sid, identity);
    if (e) return e;
    e = calloc(1, sizeof *e);
    if (!e) return NULL;
    snprintf(e->service_sid, sizeof e->service_sid, "%s", service_sid);
    snprintf(e->identity, sizeof e->identity, "%s", identity);
    emu_entity_sid(service_sid, identity, e->sid);
    char key[128];
    entity_key(service_sid, identity, key, sizeof key);
    if (emu_map_put(&s->entities, key, e) != 0) {
        free(e);
        return NULL;
    }
    return e;
}

emu_factor *emu_store_factor(emu_store *s, const char *sid) {
    return emu_map_get(&s->factors, sid);
}

emu_factor *emu_factor_new(void) {
    emu_factor *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->alg = TV_TOTP_SHA1;
    f->skew = 1;
    f->digits = 6;
    f->step = 30;
    return f;
}

void emu_factor_free(emu_factor *f) {
    if (!f) return;
    free(f->friendly_name);
    cJSON_Delete(f->metadata);
    if (f->secret) {
        OPENSSL_cleanse(f->secret, f->secret_len);
        free(f->secret);
    }
    free(f->sdk_version);
    free(f->app_id);
    free(f->platform);
    if (f->token) {
        OPENSSL_cleanse(f->token, strlen(f->token));
        free(f->token);
    }
    free(f);
}

int emu_store_insert(emu_store *s, emu_entity *e, emu_factor *f) {
    if (f->sid[0]) {
        if (emu_store_factor(s, f->sid)) return -2;
    } else {
        do {
            if (emu_random_sid("YF", f->sid, 16) != 0) return -1;
        } while (emu_store_factor(s, f->sid));
    }
    if (e->nslots == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 8;
        emu_slot *slots = realloc(e->slots, cap * sizeof *slots);
        if (!slots) return -1;
        e->slots = slots;
        e->cap = cap;
    }
    if (emu_map_put(&s->factors, f->sid, f) != 0) return -1;
    f->seq = s->next_seq++;
    f->entity = e;
    e->slots[e->nslots].seq = f->seq;
    e->slots[e->nslots].f = f;
    e->nslots++;
    e->live++;
    if (f->type == EMU_PUSH) e->n_push++;
    else e->n_totp++;
    return 0;
}

/* Lowest index whose seq is > seq (or >= seq when inclusive). */
static size_t lower_bound(const emu_entity *e, uint64_t seq, int inclusive) {
    size_t lo = 0, hi = e->nslots;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int before = inclusive ? e->slots[mid].seq < seq : e->slots[mid].seq <= seq;
        if (before) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static void compact(emu_entity *e) {
    size_t o = 0;
    for (size_t i = 0; i < e->nslots; i++)
        if (e->slots[i].f) e->slots[o++] = e->slots[i];
    e->nslots = o;
}

void emu_store_delete(emu_store *s, emu_factor *f) {
    emu_entity *e = f->entity;
    size_t i = lower_bound(e, f->seq, 1);
    if (i < e->nslots && e->slots[i].f == f) {
        e->slots[i].f = NULL;
        e->live--;
        if (f->type == EMU_PUSH) e->n_push--;
        else e->n_totp--;
        size_t dead = e->nslots - e->live;
        if (dead > 64 && dead > e->live) compact(e);
    }
    emu_map_remove(&s->factors, f->sid);
    emu_factor_free(f);
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

static int live_before(const emu_entity *e, size_t idx) {
    while (idx > 0)
        if (e->slots[--idx].f) return 1;
    return 0;
}

static int live_from(const emu_entity *e, size_t idx) {
    for (; idx < e->nslots; idx++)
        if (e->slots[idx].f) return 1;
    return 0;
}

size_t emu_entity_page(const emu_entity *e, int before, uint64_t token, size_t n, emu_factor **out,
                       int *has_prev, int *has_next) {
    size_t got = 0;
    if (!before) {
        size_t i = lower_bound(e, token, 0), first = i, last = i;
        for (; i < e->nslots && got < n; i++) {
            if (!e->slots[i].f) continue;
            if (got == 0) first = i;
            out[got++] = e->slots[i].f;
            last = i + 1;
        }
        if (got == 0) last = i;
        *has_prev = live_before(e, first);
        *has_next = live_from(e, last);
        return got;
    }
    size_t j = lower_bound(e, token, 1), first = j, i = j;
    while (i > 0 && got < n) {
        i--;
        if (!e->slots[i].f) continue;
        out[got++] = e->slots[i].f;
        first = i;
    }
    for (size_t a = 0, b = got; a + 1 < b; a++, b--) { /* ascending order */
        emu_factor *t = out[a];
        out[a] = out[b - 1];
        out[b - 1] = t;
    }
    *has_prev = live_before(e, first);
    *has_next = live_from(e, j);
    return got;
}
