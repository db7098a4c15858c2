/* util.c -- sids, dates and strings. */
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

char *emu_kvdup(const emu_kv *kv) {
    return emu_strndup(kv->val, kv->vlen);
}

int emu_service_gone(emu_server *srv, const char *sid) {
    const emu_service *svc = sid ? emu_store_service(&srv->store, sid) : NULL;
    return svc && svc->deleted;
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

void emu_answer(const emu_ctx *x, emu_response *out, int found, int status, cJSON *j) {
    if (!found) {
        cJSON_Delete(j);
        emu_not_found(out, x->c->raw_path);
    } else {
        emu_response_json(out, status, j); /* NULL j: out of memory */
    }
}
