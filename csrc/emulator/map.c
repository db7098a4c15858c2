/* map.c -- a small string-keyed hash map (chaining, FNV-1a, doubling). */
#include <stdlib.h>
#include <string.h>

#include "emu.h"

static size_t hash(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return (size_t)h;
}

int emu_map_init(emu_map *m) {
    m->nbuckets = 64;
    m->count = 0;
    m->buckets = calloc(m->nbuckets, sizeof *m->buckets);
    return m->buckets ? 0 : -1;
}

static emu_map_node *find(const emu_map *m, const char *key, emu_map_node ***link) {
    emu_map_node **p = &m->buckets[hash(key) & (m->nbuckets - 1)];
    for (; *p; p = &(*p)->next)
        if (strcmp((*p)->key, key) == 0) break;
    if (link) *link = p;
    return *p;
}

void *emu_map_get(const emu_map *m, const char *key) {
    emu_map_node *n = find(m, key, NULL);
    return n ? n->val : NULL;
}

static void grow(emu_map *m) {
    size_t nb = m->nbuckets * 2;
    emu_map_node **b = calloc(nb, sizeof *b);
    if (!b) return; /* keep the old table: slower, still correct */
    for (size_t i = 0; i < m->nbuckets; i++) {
        emu_map_node *n = m->buckets[i];
        while (n) {
            emu_map_node *next = n->next;
            size_t h = hash(n->key) & (nb - 1);
            n->next = b[h];
            b[h] = n;
            n = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = nb;
}

int emu_map_put(emu_map *m, const char *key, void *val) {
    emu_map_node **link;
    emu_map_node *n = find(m, key, &link);
    if (n) {
        n->val = val;
        return 0;
    }
    n = malloc(sizeof *n);
    if (!n) return -1;
    n->key = emu_strdup(key);
    if (!n->key) {
        free(n);
        return -1;
    }
    n->val = val;
    n->next = NULL;
    *link = n;
    m->count++;
    if (m->count > m->nbuckets) grow(m);
    return 0;
}

void *emu_map_remove(emu_map *m, const char *key) {
    emu_map_node **link;
    emu_map_node *n = find(m, key, &link);
    if (!n) return NULL;
    void *val = n->val;
    *link = n->next;
    free(n->key);
    free(n);
    m->count--;
    return val;
}

void emu_map_clear(emu_map *m, void (*free_val)(void *)) {
    if (!m->buckets) return;
    for (size_t i = 0; i < m->nbuckets; i++) {
        emu_map_node *n = m->buckets[i];
        while (n) {
            emu_map_node *next = n->next;
            if (free_val) free_val(n->val);
            free(n->key);
            free(n);
            n = next;
        }
        m->buckets[i] = NULL;
    }
    m->count = 0;
}

void emu_map_free(emu_map *m, void (*free_val)(void *)) {
    emu_map_clear(m, free_val);
    free(m->buckets);
    m->buckets = NULL;
    m->nbuckets = 0;
}
