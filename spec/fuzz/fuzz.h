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

#endif
