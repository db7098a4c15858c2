/* fuzz.h -- shared helpers of the libFuzzer harnesses in spec/fuzz/.
 *
 * Each harness (spec/fuzz/fuzz_<name>.c) defines LLVMFuzzerTestOneInput
 * and, when it needs one-time set-up, does it lazily on the first input, so
 * the same file also builds into the plain C replay test
 * (spec/c/test_fuzz_replay.c) that runs the committed corpora and
 * regression inputs without libFuzzer.
 *
 * Inputs are split into fields with fz_take(): a field ends at a single
 * backslash followed by any byte other than a backslash ("\\\\" stands for
 * one backslash), like LLVM's FuzzedDataProvider::ConsumeRandomLengthString.
 * Fields come back in exact-size heap buffers so AddressSanitizer sees any
 * read past their end.
 */
#ifndef TV_FUZZ_H
#define TV_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fz_in {
    const uint8_t *p;
    size_t n;
} fz_in;

/* A finding: print what broke and abort (libFuzzer saves the input). */
#define FZ_ASSERT(cond)                                                                       \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

static inline int fz_byte(fz_in *in) {
    if (!in->n) return 0;
    in->n--;
    return *in->p++;
}

/* The next field as a malloc'd buffer of exactly *len bytes, plus a NUL
 * byte only when `nul` (for APIs that take C strings).  Never NULL. */
static inline char *fz_take(fz_in *in, size_t *len, int nul) {
    char *out = malloc(in->n + 1);
    if (!out) abort();
    size_t o = 0;
    while (in->n) {
        uint8_t c = *in->p++;
        in->n--;
        if (c == '\\' && in->n) {
            uint8_t d = *in->p++;
            in->n--;
            if (d != '\\') break;
        }
        out[o++] = (char)c;
    }
    /* shrink to the exact size: reads past the field's end are caught */
    char *exact = malloc(o + (nul ? 1 : 0) + (o == 0 && !nul));
    if (!exact) abort();
    memcpy(exact, out, o);
    if (nul) exact[o] = '\0';
    free(out);
    *len = o;
    return exact;
}

/* The rest of the input, exact size (plus a NUL when `nul`). */
static inline char *fz_rest(fz_in *in, size_t *len, int nul) {
    char *out = malloc(in->n + (nul ? 1 : 0) + (in->n == 0 && !nul));
    if (!out) abort();
    memcpy(out, in->p, in->n);
    if (nul) out[in->n] = '\0';
    *len = in->n;
    in->p += in->n;
    in->n = 0;
    return out;
}

static inline int fz_hex(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decode s[0..n) ('+' is a space) into out (cap bytes); the decoded
 * length, or (size_t)-1 on a bad escape or overflow.  Independent of the
 * code under test, for round-trip checks. */
static inline size_t fz_pct_decode(const char *s, size_t n, char *out, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n) return (size_t)-1;
            int hi = fz_hex((unsigned char)s[i + 1]), lo = fz_hex((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0) return (size_t)-1;
            c = hi * 16 + lo;
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (o == cap) return (size_t)-1;
        out[o++] = (char)c;
    }
    return o;
}

/* ---- shared invariants of request building (tv.h) ------------------------ */
#include "tv.h"

/* Characters a built URL or form body may hold: unreserved, '%' escapes and
 * the delimiters the builder itself writes. */
static inline int fz_url_char(int c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("-._~%/:?&=[]", c) != NULL);
}

/* A request tv_build_page_url built from a page URL for `op` (NULL: any
 * list operation): a GET of a list operation on o's base, only URL
 * characters, and idempotent -- the built URL is itself a page URL that
 * rebuilds byte for byte, with op given and with NULL. */
static inline void fz_check_page_request(const tv_origin *o, const tv_operation *op, const tv_request *req) {
    FZ_ASSERT(req->op != NULL && req->op->returns == TV_RET_PAGE);
    FZ_ASSERT(op == NULL || req->op == op);
    FZ_ASSERT(req->method == TV_GET && req->body.len == 0);
    FZ_ASSERT(req->url.data && strlen(req->url.data) == req->url.len);
    size_t bl = strlen(o->base);
    FZ_ASSERT(req->url.len > bl && memcmp(req->url.data, o->base, bl) == 0 && req->url.data[bl] == '/');
    /* the list operation's own path (/v2/Services..., /v2/Attempts, /v2/Templates...) */
    const char *brace = strchr(req->op->path, '{');
    size_t lit = brace ? (size_t)(brace - req->op->path) : strlen(req->op->path);
    FZ_ASSERT(strncmp(req->url.data + bl, req->op->path, lit) == 0);
    for (size_t i = 0; i < req->url.len; i++) FZ_ASSERT(fz_url_char((unsigned char)req->url.data[i]));
    for (int pass = 0; pass < 2; pass++) {
        tv_request again;
        memset(&again, 0, sizeof again);
        tv_error e2 = TV_ERROR_INIT;
        int rc = tv_build_page_url(o, pass ? NULL : req->op, req->url.data, req->url.len, &again, &e2);
        if (rc != 0) fprintf(stderr, "re-parse of %s failed: %s\n", req->url.data, e2.message);
        FZ_ASSERT(rc == 0);
        FZ_ASSERT(again.op == req->op && again.method == TV_GET);
        FZ_ASSERT(again.url.len == req->url.len && memcmp(again.url.data, req->url.data, req->url.len) == 0);
        tv_request_free(&again);
        tv_error_clear(&e2);
    }
}

/* A failure of the builders: TV_EARG naming a parameter, a message. */
static inline void fz_check_arg_err(const tv_error *err) {
    FZ_ASSERT(err->kind == TV_EARG);
    FZ_ASSERT(err->param[0] != '\0');
    FZ_ASSERT(err->message[0] != '\0');
    FZ_ASSERT(memchr(err->message, '\0', sizeof err->message) != NULL);
}

#endif
