/* util.c -- sids, dates, strings, the clock. */
#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emu.h"
#include "tv_ops.h"

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

int emu_row_url(char *buf, size_t size, const char *host, const char *op_name, const char *const *vals) {
    const tv_operation *op = tv_operation_by_name(op_name);
    size_t used = 0;
    int n = snprintf(buf, size, "%s%s", host ? "http://" : "", host ? host : "");
    if (!op || n < 0 || (size_t)n >= size) return -1;
    used = (size_t)n;
    size_t k = 0;
    for (const char *t = op->path; *t;) {
        const char *open = strchr(t, '{');
        size_t lit = open ? (size_t)(open - t) : strlen(t);
        const char *v = NULL;
        if (open) {
            if (k >= op->npath || !vals[k]) return -1;
            v = vals[k++];
        }
        n = snprintf(buf + used, size - used, "%.*s%s", (int)lit, t, v ? v : "");
        if (n < 0 || (size_t)n >= size - used) return -1;
        used += (size_t)n;
        if (!open) break;
        t = strchr(open, '}') + 1;
    }
    return 0;
}

/* The emulator's clock (fixed by POST /__emulator/clock, else real time),
 * and a sleep that SIGTERM (srv->stopping) cuts short. */
int64_t emu_now(const emu_server *srv) {
    return srv->clock_fixed ? srv->clock_time : (int64_t)time(NULL);
}

void emu_sleep_ms(emu_server *srv, long ms) {
    if (ms <= 0) return;
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += ms / 1000;
    dl.tv_nsec += (ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&srv->lock);
    while (!srv->stopping)
        if (pthread_cond_timedwait(&srv->wake, &srv->lock, &dl) == ETIMEDOUT) break;
    pthread_mutex_unlock(&srv->lock);
}
