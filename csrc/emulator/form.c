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

/* Decode in[0..len) into dst (room for len + 1 bytes), NUL-terminated.
 * 0, or -2 on a bad escape. */
static int pct_decode_into(const char *in, size_t len, int plus_is_space, char *dst, size_t *outlen) {
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '%') {
            int hi = i + 1 < len ? hexval(in[i + 1]) : -1;
            int lo = i + 2 < len ? hexval(in[i + 2]) : -1;
            if (hi < 0 || lo < 0) return -2;
            dst[o++] = (char)(hi * 16 + lo);
            i += 2;
            continue;
        }
        dst[o++] = (plus_is_space && c == '+') ? ' ' : c;
    }
    dst[o] = '\0';
    if (outlen) *outlen = o;
    return 0;
}

int emu_pct_decode(const char *in, size_t len, int plus_is_space, char **out, size_t *outlen) {
    char *buf = malloc(len + 1);
    if (!buf) return -1;
    if (pct_decode_into(in, len, plus_is_space, buf, outlen) != 0) {
        free(buf);
        return -2;
    }
    *out = buf;
    return 0;
}

struct emu_kvblock {
    emu_kvblock *next;
    char data[];
};

int emu_form_parse(const char *s, size_t len, emu_kvlist *out) {
    /* count the pairs first: refuse too many before allocating anything */
    size_t np = 0;
    for (size_t i = 0; i < len;) {
        const char *amp = memchr(s + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - s) : len;
        if (end > i && ++np > EMU_FORM_MAX_PAIRS) return -3;
        i = end + 1;
    }
    if (np == 0) return 0;
    if (out->n + np > out->cap) {
        emu_kv *items = realloc(out->items, (out->n + np) * sizeof *items);
        if (!items) return -1;
        out->items = items;
        out->cap = out->n + np;
    }
    /* decoding never grows a piece; each pair adds two NULs (a key
     * without '=' decodes to itself plus an empty value) */
    emu_kvblock *b = malloc(sizeof *b + len + 2 * np);
    if (!b) return -1;
    b->next = out->blocks;
    out->blocks = b;
    char *w = b->data;
    size_t i = 0;
    while (i < len) {
        const char *amp = memchr(s + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - s) : len;
        if (end > i) {
            const char *eq = memchr(s + i, '=', end - i);
            size_t kend = eq ? (size_t)(eq - s) : end;
            size_t vstart = eq ? kend + 1 : end;
            emu_kv kv = {NULL, 0, NULL, 0};
            kv.key = w;
            if (pct_decode_into(s + i, kend - i, 1, kv.key, &kv.klen) != 0) return -2;
            w += kv.klen + 1;
            kv.val = w;
            if (pct_decode_into(s + vstart, end - vstart, 1, kv.val, &kv.vlen) != 0) return -2;
            w += kv.vlen + 1;
            out->items[out->n++] = kv;
        }
        i = end + 1;
    }
    return 0;
}

void emu_kvlist_free(emu_kvlist *l) {
    if (!l) return;
    while (l->blocks) {
        emu_kvblock *next = l->blocks->next;
        free(l->blocks);
        l->blocks = next;
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
