/*
 * faults.c -- fault specifications (parse, match, copy) and the streamed
 * bodies some faults send (oversize, deep, delayed body, cut body).
 */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emu.h"
#include "tv_ops.h"

static const char *const op_names[EMU_OP_COUNT] = {"create", "fetch", "list", "update", "delete", "other"};

const char *emu_op_name(int op) {
    return op >= 0 && op < EMU_OP_COUNT ? op_names[op] : "other";
}

static const char *const action_names[] = {
    "delay", "delay_body", "close", "close_mid_body", "status", "rfc9457", "html",
    "truncated", "not_json", "oversize", "deep", "wrong_shape", "next_page_url", NULL};

static const char *const fault_fields[] = {
    "action", "times", "match", "delay_ms", "status", "code", "message", "detail", "retry_after",
    "details", "request_id", "apply", "bytes", "depth", "url", NULL};

void emu_fault_free(emu_fault *f) {
    if (!f) return;
    free(f->m_method);
    free(f->m_path);
    free(f->message);
    free(f->detail);
    free(f->retry_after);
    free(f->request_id);
    free(f->url);
    cJSON_Delete(f->details);
    memset(f, 0, sizeof *f);
}

static int bad(char *errbuf, size_t errlen, const char *fmt, const char *what) {
    snprintf(errbuf, errlen, fmt, what);
    return -2;
}

/* Integer field in [min, max]; absent -> def.  0 / -2. */
static int get_int(const cJSON *j, const char *name, double min, double max, double def, double *out,
                   char *errbuf, size_t errlen) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long long)v->valuedouble ||
        v->valuedouble < min || v->valuedouble > max)
        return bad(errbuf, errlen, "fault field \"%s\" must be an integer in range", name);
    *out = v->valuedouble;
    return 0;
}

/* String field; absent -> NULL.  0 / -1 / -2. */
static int get_str(const cJSON *j, const char *name, char **out, char *errbuf, size_t errlen) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    *out = NULL;
    if (!v) return 0;
    if (!cJSON_IsString(v)) return bad(errbuf, errlen, "fault field \"%s\" must be a string", name);
    *out = emu_strdup(v->valuestring);
    return *out ? 0 : -1;
}

int emu_fault_parse(const cJSON *j, emu_fault *out, char *errbuf, size_t errlen) {
    memset(out, 0, sizeof *out);
    out->m_op = -1;
    out->m_opidx = -1;
    if (!cJSON_IsObject(j)) return bad(errbuf, errlen, "%s", "each fault must be a JSON object");
    for (const cJSON *c = j->child; c; c = c->next) {
        int known = 0;
        for (const char *const *k = fault_fields; *k && !known; k++) known = strcmp(*k, c->string) == 0;
        if (!known) return bad(errbuf, errlen, "unknown fault field \"%s\"", c->string);
    }
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "action");
    if (!cJSON_IsString(a)) return bad(errbuf, errlen, "%s", "fault field \"action\" is required (a string)");
    int action = -1;
    for (int i = 0; action_names[i]; i++)
        if (strcmp(action_names[i], a->valuestring) == 0) action = i;
    if (action < 0) return bad(errbuf, errlen, "unknown fault action \"%s\"", a->valuestring);
    out->action = action;

    int rc;
    double d;
    if ((rc = get_int(j, "times", 1, 1e9, 1, &d, errbuf, errlen)) != 0) goto fail;
    out->times = (long)d;
    double def_status = action == EMU_F_HTML ? 502 : action == EMU_F_RFC9457 ? 500 : 0;
    if ((rc = get_int(j, "status", 200, 599, def_status, &d, errbuf, errlen)) != 0) goto fail;
    out->status = (int)d;
    if (action == EMU_F_STATUS && out->status == 0) {
        rc = bad(errbuf, errlen, "%s", "fault \"status\" needs a \"status\" (200..599)");
        goto fail;
    }
    if ((rc = get_int(j, "code", 0, 1e9, 0, &d, errbuf, errlen)) != 0) goto fail;
    out->code = (long)d;
    if ((rc = get_int(j, "delay_ms", 0, 3600000, -1, &d, errbuf, errlen)) != 0) goto fail;
    out->delay_ms = (long)d;
    if ((action == EMU_F_DELAY || action == EMU_F_DELAY_BODY) && out->delay_ms < 0) {
        rc = bad(errbuf, errlen, "fault \"%s\" needs \"delay_ms\"", action_names[action]);
        goto fail;
    }
    if ((rc = get_int(j, "bytes", 8, 1099511627776.0, 0, &d, errbuf, errlen)) != 0) goto fail;
    out->bytes = (uint64_t)d;
    if (action == EMU_F_OVERSIZE && out->bytes == 0) {
        rc = bad(errbuf, errlen, "%s", "fault \"oversize\" needs \"bytes\" (>= 8)");
        goto fail;
    }
    if ((rc = get_int(j, "depth", 1, 100000000, 0, &d, errbuf, errlen)) != 0) goto fail;
    out->depth = (long)d;
    if (action == EMU_F_DEEP && out->depth == 0) {
        rc = bad(errbuf, errlen, "%s", "fault \"deep\" needs \"depth\" (>= 1)");
        goto fail;
    }
    if ((rc = get_str(j, "message", &out->message, errbuf, errlen)) != 0) goto fail;
    if ((rc = get_str(j, "detail", &out->detail, errbuf, errlen)) != 0) goto fail;
    if ((rc = get_str(j, "request_id", &out->request_id, errbuf, errlen)) != 0) goto fail;
    if ((rc = get_str(j, "url", &out->url, errbuf, errlen)) != 0) goto fail;
    if (action == EMU_F_NEXT_PAGE_URL && !out->url) {
        rc = bad(errbuf, errlen, "%s", "fault \"next_page_url\" needs \"url\"");
        goto fail;
    }
    const cJSON *ra = cJSON_GetObjectItemCaseSensitive(j, "retry_after");
    if (cJSON_IsNumber(ra)) {
        char tmp[32];
        snprintf(tmp, sizeof tmp, "%g", ra->valuedouble);
        if (!(out->retry_after = emu_strdup(tmp))) { rc = -1; goto fail; }
    } else if ((rc = get_str(j, "retry_after", &out->retry_after, errbuf, errlen)) != 0) {
        goto fail;
    }
    const cJSON *det = cJSON_GetObjectItemCaseSensitive(j, "details");
    if (det) {
        if (!cJSON_IsObject(det)) {
            rc = bad(errbuf, errlen, "%s", "fault field \"details\" must be an object");
            goto fail;
        }
        if (!(out->details = cJSON_Duplicate(det, 1))) { rc = -1; goto fail; }
    }
    const cJSON *ap = cJSON_GetObjectItemCaseSensitive(j, "apply");
    if (ap && !cJSON_IsBool(ap)) {
        rc = bad(errbuf, errlen, "%s", "fault field \"apply\" must be a boolean");
        goto fail;
    }
    out->apply = cJSON_IsTrue(ap);

    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "match");
    if (m) {
        if (!cJSON_IsObject(m)) {
            rc = bad(errbuf, errlen, "%s", "fault field \"match\" must be an object");
            goto fail;
        }
        for (const cJSON *c = m->child; c; c = c->next)
            if (strcmp(c->string, "method") && strcmp(c->string, "op") && strcmp(c->string, "path_contains") &&
                strcmp(c->string, "operation")) {
                rc = bad(errbuf, errlen, "unknown match field \"%s\"", c->string);
                goto fail;
            }
        if ((rc = get_str(m, "method", &out->m_method, errbuf, errlen)) != 0) goto fail;
        if ((rc = get_str(m, "path_contains", &out->m_path, errbuf, errlen)) != 0) goto fail;
        char *op = NULL;
        if ((rc = get_str(m, "op", &op, errbuf, errlen)) != 0) goto fail;
        if (op) {
            for (int i = 0; i < EMU_OP_COUNT; i++)
                if (strcmp(op, op_names[i]) == 0) out->m_op = i;
            if (out->m_op < 0) {
                rc = bad(errbuf, errlen, "unknown match op \"%s\" (create|fetch|list|update|delete|other)", op);
                free(op);
                goto fail;
            }
            free(op);
        }
        char *name = NULL;
        if ((rc = get_str(m, "operation", &name, errbuf, errlen)) != 0) goto fail;
        if (name) {
            const tv_operation *row = tv_operation_by_name(name);
            if (!row) {
                rc = bad(errbuf, errlen, "unknown match operation \"%s\" (an operation name such as create_challenge)",
                         name);
                free(name);
                goto fail;
            }
            out->m_opidx = (int)(row - tv_operations);
            free(name);
        }
    }
    return 0;
fail:
    emu_fault_free(out);
    return rc;
}

static int dup_str(char **dst, const char *src) {
    *dst = NULL;
    if (!src) return 0;
    *dst = emu_strdup(src);
    return *dst ? 0 : -1;
}

int emu_fault_copy(const emu_fault *src, emu_fault *dst) {
    *dst = *src;
    dst->m_method = dst->m_path = dst->message = dst->detail = NULL;
    dst->retry_after = dst->request_id = dst->url = NULL;
    dst->details = NULL;
    if (dup_str(&dst->m_method, src->m_method) || dup_str(&dst->m_path, src->m_path) ||
        dup_str(&dst->message, src->message) || dup_str(&dst->detail, src->detail) ||
        dup_str(&dst->retry_after, src->retry_after) || dup_str(&dst->request_id, src->request_id) ||
        dup_str(&dst->url, src->url))
        goto fail;
    if (src->details && !(dst->details = cJSON_Duplicate(src->details, 1))) goto fail;
    return 0;
fail:
    emu_fault_free(dst);
    return -1;
}

int emu_fault_matches(const emu_fault *f, const char *method, int op, int opidx, const char *raw_path) {
    if (f->m_method && strcasecmp(f->m_method, method) != 0) return 0;
    if (f->m_op >= 0 && f->m_op != op) return 0;
    if (f->m_opidx >= 0 && f->m_opidx != opidx) return 0;
    if (f->m_path && !strstr(raw_path, f->m_path)) return 0;
    return 1;
}

cJSON *emu_fault_to_json(const emu_fault *f) {
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    int ok = cJSON_AddStringToObject(j, "action", action_names[f->action]) &&
             cJSON_AddNumberToObject(j, "times", (double)f->times);
    if (ok && (f->m_method || f->m_op >= 0 || f->m_opidx >= 0 || f->m_path)) {
        cJSON *m = cJSON_CreateObject();
        ok = emu_json_add(j, "match", m) == 0 &&
             (!f->m_method || cJSON_AddStringToObject(m, "method", f->m_method)) &&
             (f->m_op < 0 || cJSON_AddStringToObject(m, "op", op_names[f->m_op])) &&
             (f->m_opidx < 0 || cJSON_AddStringToObject(m, "operation", tv_operations[f->m_opidx].name)) &&
             (!f->m_path || cJSON_AddStringToObject(m, "path_contains", f->m_path));
    }
    if (ok && f->status) ok = cJSON_AddNumberToObject(j, "status", f->status) != NULL;
    if (ok && f->delay_ms >= 0 && (f->action == EMU_F_DELAY || f->action == EMU_F_DELAY_BODY))
        ok = cJSON_AddNumberToObject(j, "delay_ms", (double)f->delay_ms) != NULL;
    if (ok && f->apply) ok = cJSON_AddTrueToObject(j, "apply") != NULL;
    if (!ok) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

/* ---------------------------------------------------------- streams */

enum { ST_OVERSIZE, ST_DEEP, ST_DELAYED, ST_CUT };

struct emu_stream {
    int kind;
    uint64_t total;
    long depth;
    uint64_t open_len;       /* deep: bytes of the opening run */
    char *body;              /* delayed / cut */
    size_t cut;
    emu_server *srv;
    long delay_ms;
    int waited;
};

static emu_stream *stream_new(int kind) {
    emu_stream *st = calloc(1, sizeof *st);
    if (st) st->kind = kind;
    return st;
}

emu_stream *emu_stream_oversize(uint64_t bytes) {
    emu_stream *st = stream_new(ST_OVERSIZE);
    if (st) st->total = bytes < 8 ? 8 : bytes;
    return st;
}

emu_stream *emu_stream_deep(long depth) {
    emu_stream *st = stream_new(ST_DEEP);
    if (!st) return NULL;
    st->depth = depth;
    st->open_len = (uint64_t)(depth / 2) * 6 + (uint64_t)(depth % 2) * 5;
    st->total = st->open_len + 1 + (uint64_t)depth;
    return st;
}

emu_stream *emu_stream_delayed(emu_server *srv, char *body, size_t len, long delay_ms) {
    emu_stream *st = stream_new(ST_DELAYED);
    if (!st) {
        free(body);
        return NULL;
    }
    st->srv = srv;
    st->body = body;
    st->total = len;
    st->delay_ms = delay_ms;
    return st;
}

emu_stream *emu_stream_cut(char *body, size_t len, size_t cut) {
    emu_stream *st = stream_new(ST_CUT);
    if (!st) {
        free(body);
        return NULL;
    }
    st->body = body;
    st->total = len;
    st->cut = cut;
    return st;
}

uint64_t emu_stream_size(const emu_stream *st) {
    return st->total;
}

void emu_stream_free(void *cls) {
    emu_stream *st = cls;
    if (!st) return;
    free(st->body);
    free(st);
}

static void fill_oversize(const emu_stream *st, uint64_t pos, char *buf, size_t n) {
    static const char head[] = "{\"x\":\"";
    for (size_t i = 0; i < n; i++) {
        uint64_t p = pos + i;
        if (p < 6) buf[i] = head[p];
        else if (p == st->total - 2) buf[i] = '"';
        else if (p == st->total - 1) buf[i] = '}';
        else {
            uint64_t stop = st->total - 2; /* fast path: run of 'x' */
            size_t run = (size_t)((stop - p) < (uint64_t)(n - i) ? (stop - p) : (uint64_t)(n - i));
            memset(buf + i, 'x', run);
            i += run - 1;
        }
    }
}

static void fill_deep(const emu_stream *st, uint64_t pos, char *buf, size_t n) {
    static const char pair[] = "{\"d\":[";
    for (size_t i = 0; i < n; i++) {
        uint64_t p = pos + i;
        if (p < st->open_len) {
            buf[i] = pair[p % 6];
        } else if (p == st->open_len) {
            buf[i] = '0';
        } else {
            uint64_t level = (uint64_t)st->depth - 1 - (p - st->open_len - 1);
            buf[i] = level % 2 == 0 ? '}' : ']';
        }
    }
}

ssize_t emu_stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
    emu_stream *st = cls;
    if (pos >= st->total) return MHD_CONTENT_READER_END_OF_STREAM;
    uint64_t left = st->total - pos;
    size_t n = left < max ? (size_t)left : max;
    switch (st->kind) {
    case ST_OVERSIZE:
        fill_oversize(st, pos, buf, n);
        return (ssize_t)n;
    case ST_DEEP:
        fill_deep(st, pos, buf, n);
        return (ssize_t)n;
    case ST_DELAYED:
        if (!st->waited) {
            st->waited = 1;
            emu_sleep_ms(st->srv, st->delay_ms);
        }
        memcpy(buf, st->body + pos, n);
        return (ssize_t)n;
    case ST_CUT:
        if (pos >= st->cut) return MHD_CONTENT_READER_END_WITH_ERROR;
        if (n > st->cut - pos) n = (size_t)(st->cut - pos);
        memcpy(buf, st->body + pos, n);
        return (ssize_t)n;
    }
    return MHD_CONTENT_READER_END_WITH_ERROR;
}
