/* tv_cbor.c -- bounded CBOR loading on libcbor (see tv_cbor.h). */
#include "tv_cbor.h"

#include <string.h>

typedef struct walk {
    int kind; /* 0 scalar, 1 array, 2 map */
    size_t size;
    int bad;  /* an item the WebAuthn structures never hold */
} walk;

static void on_array(void *c, size_t n) { ((walk *)c)->kind = 1, ((walk *)c)->size = n; }
static void on_map(void *c, size_t n) { ((walk *)c)->kind = 2, ((walk *)c)->size = n; }
static void on_bad(void *c) { ((walk *)c)->bad = 1; }
static void on_tag(void *c, uint64_t t) {
    (void)t;
    ((walk *)c)->bad = 1;
}

int tv_cbor_item_len(const unsigned char *d, size_t n, size_t *len) {
    struct cbor_callbacks cb = cbor_empty_callbacks;
    cb.array_start = on_array;
    cb.map_start = on_map;
    cb.indef_array_start = cb.indef_map_start = cb.byte_string_start = cb.string_start = cb.indef_break = on_bad;
    cb.tag = on_tag;
    size_t left[TV_CBOR_MAX_DEPTH]; /* items still due in each open container */
    int depth = 0;
    size_t pos = 0;
    do {
        walk w = {0, 0, 0};
        if (pos >= n) return -1;
        struct cbor_decoder_result r = cbor_stream_decode(d + pos, n - pos, &cb, &w);
        if (r.status != CBOR_DECODER_FINISHED || w.bad || r.read == 0) return -1;
        pos += r.read;
        if (depth > 0) left[depth - 1]--;
        if (w.kind) {
            size_t room = n - pos; /* every item takes at least one byte */
            if (w.size > room || (w.kind == 2 && w.size > room / 2)) return -1;
            size_t due = w.kind == 2 ? w.size * 2 : w.size;
            if (due) {
                if (depth == TV_CBOR_MAX_DEPTH) return -1;
                left[depth++] = due;
            }
        }
        while (depth > 0 && left[depth - 1] == 0) depth--;
    } while (depth > 0);
    *len = pos;
    return 0;
}

cbor_item_t *tv_cbor_load(const unsigned char *d, size_t n, size_t *used) {
    size_t len;
    if (!d || tv_cbor_item_len(d, n, &len) != 0) return NULL;
    struct cbor_load_result r;
    cbor_item_t *item = cbor_load(d, len, &r);
    if (!item) return NULL;
    if (r.error.code != CBOR_ERR_NONE || r.read != len) {
        cbor_decref(&item);
        return NULL;
    }
    if (used) *used = len;
    return item;
}

int tv_cbor_int(const cbor_item_t *i, int64_t *out) {
    if (!i) return -1;
    if (cbor_isa_uint(i)) {
        uint64_t v = cbor_get_int(i);
        if (v > (uint64_t)INT64_MAX) return -1;
        *out = (int64_t)v;
        return 0;
    }
    if (cbor_isa_negint(i)) {
        uint64_t v = cbor_get_int(i); /* the value is -1 - v */
        if (v > (uint64_t)INT64_MAX) return -1;
        *out = -1 - (int64_t)v;
        return 0;
    }
    return -1;
}

int tv_cbor_bytes(const cbor_item_t *i, const unsigned char **p, size_t *n) {
    if (!i || !cbor_isa_bytestring(i) || !cbor_bytestring_is_definite(i)) return -1;
    *p = cbor_bytestring_handle(i);
    *n = cbor_bytestring_length(i);
    if (!*p) *p = (const unsigned char *)"";
    return 0;
}

int tv_cbor_text(const cbor_item_t *i, const char **p, size_t *n) {
    if (!i || !cbor_isa_string(i) || !cbor_string_is_definite(i)) return -1;
    *p = (const char *)cbor_string_handle(i);
    *n = cbor_string_length(i);
    if (!*p) *p = "";
    return 0;
}

cbor_item_t *tv_cbor_map_int(const cbor_item_t *m, int64_t key) {
    if (!m || !cbor_isa_map(m) || !cbor_map_is_definite(m)) return NULL;
    struct cbor_pair *pairs = cbor_map_handle(m);
    for (size_t i = 0; i < cbor_map_size(m); i++) {
        int64_t k;
        if (tv_cbor_int(pairs[i].key, &k) == 0 && k == key) return pairs[i].value;
    }
    return NULL;
}

cbor_item_t *tv_cbor_map_str(const cbor_item_t *m, const char *key) {
    if (!m || !cbor_isa_map(m) || !cbor_map_is_definite(m)) return NULL;
    struct cbor_pair *pairs = cbor_map_handle(m);
    size_t kl = strlen(key);
    for (size_t i = 0; i < cbor_map_size(m); i++) {
        const char *s;
        size_t n;
        if (tv_cbor_text(pairs[i].key, &s, &n) == 0 && n == kl && memcmp(s, key, kl) == 0) return pairs[i].value;
    }
    return NULL;
}

static int same_key(const cbor_item_t *a, const cbor_item_t *b) {
    int64_t x, y;
    const char *s, *t;
    size_t n, m;
    if (tv_cbor_int(a, &x) == 0) return tv_cbor_int(b, &y) == 0 && x == y;
    if (tv_cbor_text(a, &s, &n) == 0) return tv_cbor_text(b, &t, &m) == 0 && n == m && memcmp(s, t, n) == 0;
    return 0;
}

int tv_cbor_map_keys_ok(const cbor_item_t *m) {
    if (!m || !cbor_isa_map(m) || !cbor_map_is_definite(m)) return 0;
    struct cbor_pair *pairs = cbor_map_handle(m);
    size_t n = cbor_map_size(m);
    for (size_t i = 0; i < n; i++) {
        int64_t k;
        const char *s;
        size_t l;
        if (tv_cbor_int(pairs[i].key, &k) != 0 && tv_cbor_text(pairs[i].key, &s, &l) != 0) return 0;
        for (size_t j = 0; j < i; j++)
            if (same_key(pairs[i].key, pairs[j].key)) return 0;
    }
    return 1;
}
