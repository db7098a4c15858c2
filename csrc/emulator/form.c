/* form.c -- percent-decoding, form/query parsing and path splitting. */
#include <stdlib.h>
#include <string.h>

#include "emu.h"

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int emu_pct_decode(const char *in, size_t len, int plus_is_space, char **out, size_t *outlen) {
    char *buf = malloc(len + 1);
    if (!buf) return -1;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '%') {
            int hi = i + 1 < len ? hexval(in[i + 1]) : -1;
            int lo = i + 2 < len ? hexval(in[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                free(buf);
                return -2;
            }
            buf[o++] = (char)(hi * 16 + lo);
            i += 2;
            continue;
        }
        buf[o++] = (plus_is_space && c == '+') ? ' ' : c;
    }
    buf[o] = '\0';
    *out = buf;
    if (outlen) *outlen = o;
    return 0;
}

static int kvlist_push(emu_kvlist *l, emu_kv kv) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        emu_kv *items = realloc(l->items, cap * sizeof *items);
        if (!items) return -1;
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n++] = kv;
    return 0;
}

int emu_form_parse(const char *s, size_t len, emu_kvlist *out) {
    size_t i = 0;
    while (i < len) {
        const char *amp = memchr(s + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - s) : len;
        if (end > i) {
            const char *eq = memchr(s + i, '=', end - i);
            size_t kend = eq ? (size_t)(eq - s) : end;
            emu_kv kv = {NULL, 0, NULL, 0};
            int rc = emu_pct_decode(s + i, kend - i, 1, &kv.key, &kv.klen);
            if (rc == 0) {
                size_t vstart = eq ? kend + 1 : end;
                rc = emu_pct_decode(s + vstart, end - vstart, 1, &kv.val, &kv.vlen);
                if (rc != 0) free(kv.key);
            }
            if (rc == 0 && kvlist_push(out, kv) != 0) {
                free(kv.key);
                free(kv.val);
                rc = -1;
            }
            if (rc != 0) return rc;
        }
        i = end + 1;
    }
    return 0;
}

void emu_kvlist_free(emu_kvlist *l) {
    if (!l) return;
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].key);
        free(l->items[i].val);
    }
    free(l->items);
    l->items = NULL;
    l->n = l->cap = 0;
}

size_t emu_path_split(const char *path, size_t len, const char **seg, size_t *seglen, size_t max) {
    if (len == 0 || path[0] != '/') return 0;
    size_t n = 0, i = 1;
    for (;;) {
        const char *slash = memchr(path + i, '/', len - i);
        size_t end = slash ? (size_t)(slash - path) : len;
        if (n == max) return max + 1;
        seg[n] = path + i;
        seglen[n] = end - i;
        n++;
        if (!slash) break;
        i = end + 1;
    }
    return n;
}
