/*
 * handler.c -- what every operation's handler shares: the validated
 * parameters of its call (emu_val by wire key, emu_ival), the counters of
 * applied operations, string-valued JSON parameters, a service removed by
 * DeleteService, and the answer of a fetch-like handler.  Below the
 * handlers (factors.c, resources.c, webhooks.c, push.c, forms.c) and
 * api.c; above response.c, store.c and util.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emu.h"
#include "tv_ops.h"

#define param_error emu_param_error
#define oom emu_oom

void emu_note_applied(emu_server *srv, const emu_call *c) {
    srv->applied[c->op]++;
    if (c->opidx >= 0 && c->opidx < EMU_MAX_OPS) srv->op_applied[c->opidx]++;
}

int emu_string_map(const cJSON *j) {
    if (!cJSON_IsObject(j)) return 0;
    for (const cJSON *c = j->child; c; c = c->next)
        if (!cJSON_IsString(c)) return 0;
    return 1;
}

const emu_kv *emu_val(const emu_ctx *x, const char *key) {
    const tv_param_spec *set = x->c->row->params;
    const tv_param_spec *p = tv_param_by_key(set, key);
    return p ? x->v[p - set] : NULL;
}

int emu_ival(const emu_kv *kv, int def) {
    return kv ? (int)strtol(kv->val, NULL, 10) : def;
}

char *emu_kvdup(const emu_kv *kv) {
    return emu_strndup(kv->val, kv->vlen);
}

int emu_service_gone(emu_server *srv, const char *sid) {
    const emu_service *svc = sid ? emu_store_service(&srv->store, sid) : NULL;
    return svc && svc->deleted;
}

emu_service *emu_live_service(emu_server *srv, const char *sid) {
    emu_service *svc = sid ? emu_store_service(&srv->store, sid) : NULL;
    return svc && svc->created && !svc->deleted ? svc : NULL;
}

int emu_service_flag(const emu_service *svc, const char *key) {
    const char *v = emu_service_val(svc, key);
    if (!v) {
        const tv_operation *op = tv_operation_by_name("create_service");
        const tv_param_spec *p = op ? tv_param_by_key(op->params, key) : NULL;
        v = p ? p->def : NULL;
    }
    return v && strcasecmp(v, "true") == 0;
}

void emu_answer(const emu_ctx *x, emu_response *out, int found, int status, cJSON *j) {
    if (!found) {
        cJSON_Delete(j);
        emu_not_found(out, x->c->raw_path);
    } else {
        emu_response_json(out, status, j); /* NULL j: out of memory */
    }
}

/* Parse a Metadata-like value: a JSON object whose values are strings.
 * *out NULL when kv is NULL.  0, or -1 with out set. */
int emu_string_map_param(const emu_kv *kv, const char *key, cJSON **res, emu_response *out) {
    *res = NULL;
    if (!kv) return 0;
    cJSON *j = cJSON_ParseWithLength(kv->val, kv->vlen);
    if (!j) {
        oom(out); /* the oracle accepted it as a JSON object (its description says so) */
        return -1;
    }
    if (!emu_string_map(j)) {
        cJSON_Delete(j);
        char why[96];
        snprintf(why, sizeof why, "%s values must be strings", key);
        param_error(out, key, "%s", why);
        return -1;
    }
    *res = j;
    return 0;
}
