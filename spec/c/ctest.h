/* ctest.h -- a tiny test harness for the C tests of the core.
 * Each test binary ends by printing "N passed, N failed" and exits non-zero
 * when anything failed. */
#ifndef CTEST_H
#define CTEST_H
#include <stdio.h>
#include <string.h>

static int ct_passed, ct_failed;

#define CHECK(cond) do { if (cond) ct_passed++; else { ct_failed++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_STR(a, b) do { const char *ct_a = (a), *ct_b = (b); \
    if (ct_a && ct_b && strcmp(ct_a, ct_b) == 0) ct_passed++; else { ct_failed++; \
    fprintf(stderr, "%s:%d: CHECK_STR failed: \"%s\" != \"%s\"\n", __FILE__, __LINE__, \
            ct_a ? ct_a : "(null)", ct_b ? ct_b : "(null)"); } } while (0)
#define CHECK_INT(a, b) do { long long ct_a = (long long)(a), ct_b = (long long)(b); \
    if (ct_a == ct_b) ct_passed++; else { ct_failed++; \
    fprintf(stderr, "%s:%d: CHECK_INT failed: %lld != %lld (%s)\n", __FILE__, __LINE__, ct_a, ct_b, #a); } } while (0)

static inline int ct_report(const char *name) {
    printf("%s: %d passed, %d failed\n", name, ct_passed, ct_failed);
    return ct_failed ? 1 : 0;
}
#endif
