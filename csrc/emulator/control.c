/*
 * control.c -- the /__emulator/ endpoints (no auth) for tests: reset,
 * stats, the request log, the clock and the fault queue.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "tv_ops.h"

static void log_drop_oldest(emu_server *srv) {
    cJSON_Delete(srv->log[srv->log_head]);
    srv->log[srv->log_head] = NULL;
    srv->log_bytes -= srv->log_cost[srv->log_head];
    srv->log_head = (srv->log_head + 1) % EMU_LOG_MAX;
    srv->log_n--;
}

void emu_log_append(emu_server *srv, cJSON *rec, size_t cost) {
    if (!rec) return;
    while (srv->log_n > 0 && (srv->log_n == EMU_LOG_MAX || srv->log_bytes + cost > EMU_LOG_BYTES))
        log_drop_oldest(srv);
    size_t at = (srv->log_head + srv->log_n) % EMU_LOG_MAX;
    srv->log[at] = rec;
    srv->log_cost[at] = cost;
    srv->log_bytes += cost;
    srv->log_n++;
}

static void log_clear(emu_server *srv) {
    while (srv->log_n > 0) log_drop_oldest(srv);
    srv->log_head = 0;
    srv->log_bytes = 0;
}

static void faults_clear(emu_server *srv) {
    for (size_t i = 0; i < srv->nfaults; i++) emu_fault_free(&srv->faults[i]);
    srv->nfaults = 0;
}

void emu_reset(emu_server *srv) {
    emu_store_clear(&srv->store);
    emu_hooks_reset(srv);
    faults_clear(srv);
    log_clear(srv);
    memset(srv->requests, 0, sizeof srv->requests);
    memset(srv->applied, 0, sizeof srv->applied);
    memset(srv->op_requests, 0, sizeof srv->op_requests);
    memset(srv->op_applied, 0, sizeof srv->op_applied);
    srv->peak = srv->in_flight;
    srv->clock_fixed = 0;
    srv->clock_time = 0;
    if (srv->seed) {
        char errbuf[256];
        if (emu_seed_apply(srv, srv->seed, errbuf, sizeof errbuf) != 0)
            fprintf(stderr, "twilio-verify-emulator: reset: %s\n", errbuf);
    }
}

static void ok_empty(emu_response *out) {
    out->status = 204;
    out->content_type = NULL;
}

static void stats(emu_server *srv, emu_response *out) {
    cJSON *j = cJSON_CreateObject(), *req = cJSON_CreateObject(), *app = cJSON_CreateObject();
    int ok = j && emu_json_add(j, "requests", req) == 0 && emu_json_add(j, "applied", app) == 0;
    if (!j) {
        cJSON_Delete(req);
        cJSON_Delete(app);
    }
    pthread_mutex_lock(&srv->lock);
    unsigned long total = 0;
    for (int op = 0; ok && op < EMU_OP_COUNT; op++) {
        ok = cJSON_AddNumberToObject(req, emu_op_name(op), (double)srv->requests[op]) != NULL;
        total += srv->requests[op];
    }
    int applied_ops[] = {EMU_OP_CREATE, EMU_OP_UPDATE, EMU_OP_DELETE};
    for (int i = 0; ok && i < 3; i++)
        ok = cJSON_AddNumberToObject(app, emu_op_name(applied_ops[i]), (double)srv->applied[applied_ops[i]]) != NULL;
    cJSON *ops = ok ? cJSON_CreateObject() : NULL;
    ok = ok && emu_json_add(j, "operations", ops) == 0;
    for (size_t i = 0; ok && i < tv_noperations && i < EMU_MAX_OPS; i++) {
        cJSON *o = cJSON_CreateObject();
        ok = emu_json_add(ops, tv_operations[i].name, o) == 0 &&
             cJSON_AddNumberToObject(o, "requests", (double)srv->op_requests[i]) &&
             cJSON_AddNumberToObject(o, "applied", (double)srv->op_applied[i]);
    }
    ok = ok && cJSON_AddNumberToObject(j, "total", (double)total) &&
         cJSON_AddNumberToObject(j, "peak_concurrency", (double)srv->peak) &&
         cJSON_AddNumberToObject(j, "in_flight", (double)srv->in_flight) &&
         cJSON_AddNumberToObject(j, "faults_queued", (double)srv->nfaults);
    pthread_mutex_unlock(&srv->lock);
    if (!ok) {
        cJSON_Delete(j);
        j = NULL;
    }
    emu_response_json(out, 200, j);
}

/* Print the log under the lock (records are referenced, not copied). */
static void requests(emu_server *srv, emu_response *out) {
    cJSON *j = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    if (!j || emu_json_add(j, "requests", arr) != 0) {
        if (!j) cJSON_Delete(arr);
        cJSON_Delete(j);
        emu_response_json(out, 500, NULL);
        return;
    }
    pthread_mutex_lock(&srv->lock);
    int ok = 1;
    for (size_t i = 0; i < srv->log_n && ok; i++)
        ok = cJSON_AddItemReferenceToArray(arr, srv->log[(srv->log_head + i) % EMU_LOG_MAX]);
    char *text = ok ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j); /* deletes the references only */
    pthread_mutex_unlock(&srv->lock);
    if (!text) {
        emu_response_json(out, 500, NULL);
        return;
    }
    free(out->body);
    out->status = 200;
    out->body = text;
    out->len = strlen(text);
    out->content_type = "application/json";
}

static void clock_set(emu_server *srv, const char *body, size_t len, emu_response *out) {
    cJSON *j = cJSON_ParseWithLength(body, len);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "time");
    if (!cJSON_IsObject(j) || !t || !(cJSON_IsNull(t) || (cJSON_IsNumber(t) && t->valuedouble >= 0))) {
        cJSON_Delete(j);
        emu_response_error(out, 400, 60200, "expected {\"time\": <unix seconds> | null}", NULL);
        return;
    }
    pthread_mutex_lock(&srv->lock);
    srv->clock_fixed = cJSON_IsNumber(t);
    srv->clock_time = srv->clock_fixed ? (int64_t)t->valuedouble : 0;
    int64_t now = emu_now(srv);
    int fixed = srv->clock_fixed;
    pthread_mutex_unlock(&srv->lock);
    cJSON_Delete(j);
    cJSON *r = cJSON_CreateObject();
    if (r && (!cJSON_AddNumberToObject(r, "now", (double)now) ||
              !(fixed ? cJSON_AddNumberToObject(r, "time", (double)now) : cJSON_AddNullToObject(r, "time")))) {
        cJSON_Delete(r);
        r = NULL;
    }
    emu_response_json(out, 200, r);
}

static void faults_add(emu_server *srv, const char *body, size_t len, emu_response *out) {
    cJSON *j = cJSON_ParseWithLength(body, len);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "faults");
    if (!cJSON_IsArray(list)) {
        cJSON_Delete(j);
        emu_response_error(out, 400, 60200, "expected {\"faults\": [FAULT, ...]}", NULL);
        return;
    }
    size_t n = (size_t)cJSON_GetArraySize(list);
    emu_fault *parsed = calloc(n ? n : 1, sizeof *parsed);
    if (!parsed) {
        cJSON_Delete(j);
        emu_response_json(out, 500, NULL);
        return;
    }
    size_t got = 0;
    char errbuf[256] = "";
    int rc = 0;
    for (const cJSON *f = list->child; f && rc == 0; f = f->next) {
        rc = emu_fault_parse(f, &parsed[got], errbuf, sizeof errbuf);
        if (rc == 0) got++;
    }
    cJSON_Delete(j);
    size_t total = 0;
    if (rc == 0) {
        pthread_mutex_lock(&srv->lock);
        if (srv->nfaults + got > srv->fcap) {
            size_t cap = (srv->nfaults + got) * 2;
            emu_fault *nf = realloc(srv->faults, cap * sizeof *nf);
            if (nf) {
                srv->faults = nf;
                srv->fcap = cap;
            } else {
                rc = -1;
            }
        }
        if (rc == 0) {
            memcpy(srv->faults + srv->nfaults, parsed, got * sizeof *parsed);
            srv->nfaults += got;
            got = 0; /* moved */
        }
        total = srv->nfaults;
        pthread_mutex_unlock(&srv->lock);
    }
    for (size_t i = 0; i < got; i++) emu_fault_free(&parsed[i]);
    free(parsed);
    if (rc == -2) {
        emu_response_error(out, 400, 60200, errbuf, NULL);
        return;
    }
    if (rc == -1) {
        emu_response_json(out, 500, NULL);
        return;
    }
    cJSON *r = cJSON_CreateObject();
    if (r && !cJSON_AddNumberToObject(r, "queued", (double)total)) {
        cJSON_Delete(r);
        r = NULL;
    }
    emu_response_json(out, 200, r);
}

static void faults_list(emu_server *srv, emu_response *out) {
    cJSON *j = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    int ok = j && emu_json_add(j, "faults", arr) == 0;
    if (!j) cJSON_Delete(arr);
    pthread_mutex_lock(&srv->lock);
    for (size_t i = 0; ok && i < srv->nfaults; i++)
        ok = emu_json_add(arr, NULL, emu_fault_to_json(&srv->faults[i])) == 0;
    pthread_mutex_unlock(&srv->lock);
    if (!ok) {
        cJSON_Delete(j);
        j = NULL;
    }
    emu_response_json(out, 200, j);
}

static void not_allowed(emu_response *out, const char *allow) {
    emu_response_error(out, 405, 20004, "Method not allowed", NULL);
    emu_response_header(out, "Allow", allow);
}

/* ------------------------------------------------ one-time codes (issue 22) */

static cJSON *message_json(const emu_message *m) {
    char date[21];
    emu_iso8601(m->created, date);
    cJSON *j = cJSON_CreateObject();
    int ok = j && cJSON_AddNumberToObject(j, "id", (double)m->id) && cJSON_AddStringToObject(j, "sid", m->sid) &&
             cJSON_AddStringToObject(j, "date_created", date) && cJSON_AddStringToObject(j, "service_sid", m->service_sid) &&
             cJSON_AddStringToObject(j, "verification_sid", m->verification_sid) &&
             cJSON_AddStringToObject(j, "attempt_sid", m->attempt_sid) && cJSON_AddStringToObject(j, "channel", m->channel) &&
             cJSON_AddStringToObject(j, "to", m->to) &&
             (m->from ? cJSON_AddStringToObject(j, "from", m->from) : cJSON_AddNullToObject(j, "from")) &&
             cJSON_AddStringToObject(j, "locale", m->locale) &&
             (m->template_sid[0] ? cJSON_AddStringToObject(j, "template_sid", m->template_sid)
                                 : cJSON_AddNullToObject(j, "template_sid")) &&
             cJSON_AddStringToObject(j, "body", m->body);
    if (!ok) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

/* The value of key in the decoded query l, or NULL. */
static const char *qval(const emu_kvlist *l, const char *key) {
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i].key, key) == 0) return l->items[i].val;
    return NULL;
}

/* GET /__emulator/messages[?to=&verification_sid=&channel=]: the outbox, oldest first. */
static void messages(emu_server *srv, const char *query, emu_response *out) {
    emu_kvlist q = {0};
    int rc = emu_form_parse(query, strlen(query), &q);
    if (rc != 0) {
        emu_kvlist_free(&q);
        if (rc == -1) emu_response_json(out, 500, NULL);
        else emu_response_error(out, 400, 60200, "bad query: expected to=, verification_sid=, channel=", NULL);
        return;
    }
    for (size_t i = 0; i < q.n; i++) {
        const char *k = q.items[i].key;
        if (strcmp(k, "to") != 0 && strcmp(k, "verification_sid") != 0 && strcmp(k, "channel") != 0) {
            emu_kvlist_free(&q);
            emu_response_error(out, 400, 60200, "unknown filter: the outbox takes to=, verification_sid=, channel=", NULL);
            return;
        }
    }
    const char *to = qval(&q, "to"), *ve = qval(&q, "verification_sid"), *ch = qval(&q, "channel");
    cJSON *j = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    int ok = j && emu_json_add(j, "messages", arr) == 0;
    if (!j) cJSON_Delete(arr);
    pthread_mutex_lock(&srv->lock);
    const emu_otp *o = &srv->store.otp;
    for (size_t i = 0; ok && i < o->outbox_n; i++) {
        const emu_message *m = o->outbox[(o->outbox_head + i) % EMU_OUTBOX_MAX];
        if ((to && strcmp(m->to, to) != 0) || (ve && strcmp(m->verification_sid, ve) != 0) ||
            (ch && strcmp(m->channel, ch) != 0))
            continue;
        ok = emu_json_add(arr, NULL, message_json(m)) == 0;
    }
    pthread_mutex_unlock(&srv->lock);
    emu_kvlist_free(&q);
    if (!ok) {
        cJSON_Delete(j);
        j = NULL;
    }
    emu_response_json(out, 200, j);
}

/* GET/POST/DELETE /__emulator/fraud: Fraud Guard's blocked prefixes. */
static void fraud(emu_server *srv, const char *method, const char *body, size_t len, emu_response *out) {
    int post = strcmp(method, "POST") == 0, del = strcmp(method, "DELETE") == 0;
    emu_otp *o = &srv->store.otp;
    if (post) {
        cJSON *j = cJSON_ParseWithLength(body, len);
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "blocked_prefixes");
        int ok = cJSON_IsObject(j) && cJSON_IsArray(list) && cJSON_GetArraySize(list) <= EMU_FRAUD_MAX;
        for (const cJSON *e = ok ? list->child : NULL; e && ok; e = e->next) {
            const char *v = cJSON_IsString(e) ? e->valuestring : NULL;
            ok = v && v[0] == '+' && strlen(v) >= 2 && strlen(v) <= 16 && strspn(v + 1, "0123456789") == strlen(v) - 1;
        }
        if (!ok) {
            cJSON_Delete(j);
            emu_response_error(out, 400, 60200, "expected {\"blocked_prefixes\": [\"+<digits>\", ...]} (at most 64)", NULL);
            return;
        }
        char *copy[EMU_FRAUD_MAX] = {0};
        size_t n = 0;
        for (const cJSON *e = list->child; e; e = e->next) {
            if (!(copy[n] = emu_strdup(e->valuestring))) {
                for (size_t i = 0; i < n; i++) free(copy[i]);
                cJSON_Delete(j);
                emu_response_json(out, 500, NULL);
                return;
            }
            n++;
        }
        cJSON_Delete(j);
        pthread_mutex_lock(&srv->lock);
        for (size_t i = 0; i < o->nfraud; i++) free(o->fraud[i]);
        memcpy(o->fraud, copy, n * sizeof copy[0]);
        o->nfraud = n;
        pthread_mutex_unlock(&srv->lock);
    } else if (del) {
        pthread_mutex_lock(&srv->lock);
        for (size_t i = 0; i < o->nfraud; i++) free(o->fraud[i]);
        o->nfraud = 0;
        pthread_mutex_unlock(&srv->lock);
        out->status = 204;
        out->content_type = NULL;
        return;
    } else if (strcmp(method, "GET") != 0) {
        emu_response_error(out, 405, 20004, "Method not allowed", NULL);
        emu_response_header(out, "Allow", "GET, POST, DELETE");
        return;
    }
    cJSON *r = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    int ok = r && emu_json_add(r, "blocked_prefixes", arr) == 0;
    if (!r) cJSON_Delete(arr);
    pthread_mutex_lock(&srv->lock);
    for (size_t i = 0; ok && i < o->nfraud; i++) ok = emu_json_add(arr, NULL, cJSON_CreateString(o->fraud[i])) == 0;
    pthread_mutex_unlock(&srv->lock);
    if (!ok) {
        cJSON_Delete(r);
        r = NULL;
    }
    emu_response_json(out, 200, r);
}

/* GET /__emulator/sna/VE...: the SNA URL a device fetches over its mobile
 * network; marks the verification's number as seen. */
static void sna(emu_server *srv, const char *sid, emu_response *out) {
    pthread_mutex_lock(&srv->lock);
    int64_t now = emu_now(srv);
    emu_verification *v = emu_map_get(&srv->store.otp.verifications, sid);
    if (v && (strcmp(v->channel, "sna") != 0 || emu_verification_status(v, now) != EMU_VE_PENDING)) v = NULL;
    cJSON *j = NULL;
    if (v) {
        v->sna_invoked = 1;
        j = cJSON_CreateObject();
        if (j && (!cJSON_AddStringToObject(j, "status", "verified") ||
                  (v->sna_token_required && !cJSON_AddStringToObject(j, "sna_client_token", v->sna_token)))) {
            cJSON_Delete(j);
            j = NULL;
        }
    }
    pthread_mutex_unlock(&srv->lock);
    if (!v) {
        emu_response_error(out, 404, 20404, "no pending sna verification of that sid", NULL);
        return;
    }
    emu_response_json(out, 200, j);
}

void emu_control_handle(emu_server *srv, const char *method, const char *path, const char *body, size_t len,
                        emu_response *out) {
    emu_control_handle_q(srv, method, path, "", body, len, out);
}

void emu_control_handle_q(emu_server *srv, const char *method, const char *path, const char *query, const char *body,
                          size_t len, emu_response *out) {
    int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    int del = strcmp(method, "DELETE") == 0;
    if (strcmp(path, "/__emulator/messages") == 0) {
        if (del) {
            pthread_mutex_lock(&srv->lock);
            emu_otp *o = &srv->store.otp;
            for (size_t i = 0; i < o->outbox_n; i++) {
                size_t at = (o->outbox_head + i) % EMU_OUTBOX_MAX;
                emu_message_free(o->outbox[at]);
                o->outbox[at] = NULL;
            }
            o->outbox_head = o->outbox_n = 0;
            pthread_mutex_unlock(&srv->lock);
            ok_empty(out);
        } else if (get) {
            messages(srv, query ? query : "", out);
        } else {
            not_allowed(out, "GET, DELETE");
        }
        return;
    }
    if (strcmp(path, "/__emulator/fraud") == 0) {
        fraud(srv, method, body, len, out);
        return;
    }
    if (strncmp(path, "/__emulator/sna/", 16) == 0) {
        if (!get) not_allowed(out, "GET");
        else sna(srv, path + 16, out);
        return;
    }
    if (strcmp(path, "/__emulator/reset") == 0) {
        if (!post) {
            not_allowed(out, "POST");
            return;
        }
        pthread_mutex_lock(&srv->lock);
        emu_reset(srv);
        pthread_mutex_unlock(&srv->lock);
        {
            ok_empty(out);
            return;
        }
    }
    if (strcmp(path, "/__emulator/stats") == 0) {
        if (!get) {
            not_allowed(out, "GET");
            return;
        }
        {
            stats(srv, out);
            return;
        }
    }
    if (strcmp(path, "/__emulator/requests") == 0) {
        if (del) {
            pthread_mutex_lock(&srv->lock);
            log_clear(srv);
            pthread_mutex_unlock(&srv->lock);
            {
            ok_empty(out);
            return;
        }
        }
        if (!get) {
            not_allowed(out, "GET, DELETE");
            return;
        }
        {
            requests(srv, out);
            return;
        }
    }
    if (strcmp(path, "/__emulator/clock") == 0) {
        if (!post) {
            not_allowed(out, "POST");
            return;
        }
        {
            clock_set(srv, body, len, out);
            return;
        }
    }
    if (strcmp(path, "/__emulator/faults") == 0) {
        if (post) {
            faults_add(srv, body, len, out);
            return;
        }
        if (get) {
            faults_list(srv, out);
            return;
        }
        if (del) {
            pthread_mutex_lock(&srv->lock);
            faults_clear(srv);
            pthread_mutex_unlock(&srv->lock);
            {
            ok_empty(out);
            return;
        }
        }
        {
            not_allowed(out, "GET, POST, DELETE");
            return;
        }
    }
    if (strcmp(path, "/__emulator/webhooks") == 0) {
        emu_hooks_control(srv, method, body, len, out);
        return;
    }
    char msg[160];
    snprintf(msg, sizeof msg, "Unknown control endpoint %.100s", path);
    emu_response_error(out, 404, 20404, msg, NULL);
}
