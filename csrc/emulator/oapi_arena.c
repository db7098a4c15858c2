/*
 * oapi_arena.c -- the oracle's arena: everything the compiled description
 * holds is allocated here and freed at once (oa_arena_free).  Below
 * oapi_check.c and oapi_load.c, which both use it.
 */
#include <stdlib.h>
#include <string.h>

#include "oapi.h"

struct oa_block {
    oa_block *next;
    size_t used, cap;
};

#define OA_HDR ((sizeof(oa_block) + 15) & ~(size_t)15)
#define OA_BLOCK_SIZE ((size_t)64 * 1024)

void *oa_alloc(oa_arena *a, size_t n) {
    n = (n + 15) & ~(size_t)15;
    oa_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > OA_BLOCK_SIZE ? n : OA_BLOCK_SIZE;
        if (!(b = malloc(OA_HDR + cap))) return NULL;
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    void *p = (char *)b + OA_HDR + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

char *oa_strndup(oa_arena *a, const char *s, size_t n) {
    char *d = oa_alloc(a, n + 1);
    if (d) memcpy(d, s, n);
    return d;
}

void oa_arena_free(oa_arena *a) {
    for (oa_block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    a->head = NULL;
}
