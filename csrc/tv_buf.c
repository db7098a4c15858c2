/* tv_buf.c -- growable byte buffer used by request building and transport. */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "tv.h"

void tv_buf_free(tv_buf *b) {
    if (!b) return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int tv_buf_reserve(tv_buf *b, size_t extra) {
    if (extra > ((size_t)-1) / 2 - b->len) return -1;
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int tv_buf_add(tv_buf *b, const char *s, size_t n) {
    if (tv_buf_reserve(b, n) != 0) return -1;
    if (n) memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int tv_buf_adds(tv_buf *b, const char *s) { return tv_buf_add(b, s, strlen(s)); }

/* RFC 3986 unreserved characters: A-Z a-z 0-9 - . _ ~ (a table: one load a
 * byte on the path of every URL) */
#define TV_UR4(c) [c] = 1, [c + 1] = 1, [c + 2] = 1, [c + 3] = 1
#define TV_UR8(c) TV_UR4(c), TV_UR4(c + 4)
static const unsigned char unreserved[256] = {
    TV_UR8('0'), ['8'] = 1, ['9'] = 1, TV_UR8('A'), TV_UR8('I'), TV_UR8('Q'), ['Y'] = 1, ['Z'] = 1,
    TV_UR8('a'), TV_UR8('i'), TV_UR8('q'), ['y'] = 1, ['z'] = 1, ['-'] = 1, ['.'] = 1, ['_'] = 1, ['~'] = 1,
};
#undef TV_UR8
#undef TV_UR4

int tv_buf_add_pct(tv_buf *b, const char *s, size_t n) {
    static const char hex[] = "0123456789ABCDEF";
    if (n > ((size_t)-1) / 4 || tv_buf_reserve(b, n * 3) != 0) return -1;
    char *w = b->data + b->len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved[c]) {
            *w++ = (char)c;
        } else {
            *w++ = '%';
            *w++ = hex[c >> 4];
            *w++ = hex[c & 15];
        }
    }
    b->len = (size_t)(w - b->data);
    b->data[b->len] = '\0';
    return 0;
}

void tv_buf_reset(tv_buf *b, int wipe) {
    if (b->data) {
        if (wipe) OPENSSL_cleanse(b->data, b->len);
        b->data[0] = '\0';
    }
    b->len = 0;
}
