/* util.c -- sids, dates and strings. */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emu.h"

int emu_random_sid(const char *prefix, char *out, size_t nbytes) {
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[32];
    if (nbytes > sizeof raw || RAND_bytes(raw, (int)nbytes) != 1) return -1;
    size_t p = strlen(prefix);
    memcpy(out, prefix, p);
    for (size_t i = 0; i < nbytes; i++) {
        out[p + 2 * i] = hex[raw[i] >> 4];
        out[p + 2 * i + 1] = hex[raw[i] & 15];
    }
    out[p + 2 * nbytes] = '\0';
    return 0;
}

void emu_iso8601(int64_t t, char out[21]) {
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 21, "1970-01-01T00:00:00Z");
}

char *emu_strndup(const char *s, size_t n) {
    if (!s) return NULL;
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *emu_strdup(const char *s) {
    return s ? emu_strndup(s, strlen(s)) : NULL;
}
