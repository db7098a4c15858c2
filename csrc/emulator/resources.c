/*
 * resources.c -- the Entity, Challenge and Service operations.
 *
 * emu_api_handle (api.c) has already routed the request by the operation
 * table and checked its path and query/form parameters with the row's
 * rules; the handlers here add the semantics (existence, limits, TOTP
 * checks, expiry) and take the server lock themselves.  Error codes and
 * their sources are listed in doc/emulator.md.
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "tv_ops.h"
#include "tv_validate.h"

#define kvdup emu_kvdup
#define service_gone emu_service_gone

static void no_content(emu_response *out) {
    out->status = 204;
    out->content_type = NULL;
}

/* ------------------------------------------------------------ entities */

void emu_h_create_entity(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    const emu_call *c = x->c;
    const emu_kv *id = emu_val(x, "Identity");
    pthread_mutex_lock(&srv->lock);
    if (service_gone(srv, c->service_sid)) {
        pthread_mutex_unlock(&srv->lock);
        emu_not_found(out, c->raw_path);
        return;
    }
    if (emu_store_entity(&srv->store, c->service_sid, id->val)) {
        pthread_mutex_unlock(&srv->lock);
        emu_response_error(out, 409, 60301, "Entity already exists", NULL);
        return;
    }
    int64_t now = emu_now(srv);
    cJSON *j = NULL;
    if (x->commit) {
        emu_entity *e = emu_store_entity_get_or_create(&srv->store, c->service_sid, id->val, now);
        if (e) {
            emu_note_applied(srv, c);
            j = emu_render_entity(e, srv->cfg.account_sid, c->host);
        }
    } else {
        emu_entity tmp;
        memset(&tmp, 0, sizeof tmp);
        snprintf(tmp.service_sid, sizeof tmp.service_sid, "%s", c->service_sid);
        snprintf(tmp.identity, sizeof tmp.identity, "%s", id->val);
        emu_entity_sid(c->service_sid, id->val, tmp.sid);
        tmp.created = tmp.updated = now;
        j = emu_render_entity(&tmp, srv->cfg.account_sid, c->host);
    }
    pthread_mutex_unlock(&srv->lock);
    if (!j) emu_oom(out);
    else emu_response_json(out, 201, j);
}

void emu_h_fetch_entity(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    pthread_mutex_lock(&srv->lock);
    emu_entity *e = emu_store_entity(&srv->store, x->c->service_sid, x->c->identity);
    cJSON *j = e ? emu_render_entity(e, srv->cfg.account_sid, x->c->host) : NULL;
    pthread_mutex_unlock(&srv->lock);
    emu_answer(x, out, e != NULL, 200, j);
}

void emu_h_delete_entity(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    pthread_mutex_lock(&srv->lock);
    emu_entity *e = emu_store_entity(&srv->store, x->c->service_sid, x->c->identity);
    if (e && x->commit) {
        emu_store_entity_delete(&srv->store, e);
        emu_note_applied(srv, x->c);
    }
    pthread_mutex_unlock(&srv->lock);
    if (!e) emu_not_found(out, x->c->raw_path);
    else no_content(out);
}

typedef cJSON *(*render_fn)(const void *p, const emu_server *srv, const char *host, int64_t now);

static cJSON *r_entity(const void *p, const emu_server *srv, const char *host, int64_t now) {
    (void)now;
    return emu_render_entity(p, srv->cfg.account_sid, host);
}
static cJSON *r_challenge(const void *p, const emu_server *srv, const char *host, int64_t now) {
    return emu_render_challenge(p, srv->cfg.account_sid, host, now);
}
static cJSON *r_service(const void *p, const emu_server *srv, const char *host, int64_t now) {
    (void)now;
    return emu_render_service(p, srv->cfg.account_sid, host);
}

/* One page of the list `which` returns (lock taken here): which(srv, arg)
 * gives the list or NULL (empty page). */
static void list_page(const emu_ctx *x, emu_page *pg, const emu_seqlist *(*which)(emu_server *, const emu_call *),
                      int desc, render_fn render, int (*keep)(const void *, void *), void *kctx,
                      int64_t *nowp, emu_response *out) {
    emu_server *srv = x->srv;
    int before;
    uint64_t token;
    if (emu_page_params(x, pg, &before, &token, out) != 0) return;
    emu_seqitem *items = malloc((size_t)pg->size * sizeof *items);
    cJSON *arr = cJSON_CreateArray();
    if (!items || !arr) {
        free(items);
        cJSON_Delete(arr);
        emu_oom(out);
        return;
    }
    pthread_mutex_lock(&srv->lock);
    int64_t now = emu_now(srv);
    if (nowp) *nowp = now;
    const emu_seqlist *l = which(srv, x->c);
    size_t got = l ? emu_page_fetch(l, desc, before, token, (size_t)pg->size, items, pg, keep, kctx) : 0;
    int ok = 1;
    for (size_t i = 0; i < got && ok; i++) ok = emu_json_add(arr, NULL, render(items[i].p, srv, x->c->host, now)) == 0;
    pthread_mutex_unlock(&srv->lock);
    free(items);
    if (!ok) {
        cJSON_Delete(arr);
        emu_oom(out);
        return;
    }
    emu_page_answer(x, pg, arr, out);
}

static const emu_seqlist *entities_of(emu_server *srv, const emu_call *c) {
    emu_service *svc = emu_store_service(&srv->store, c->service_sid);
    return svc ? &svc->entities : NULL;
}

void emu_h_list_entity(const emu_ctx *x, emu_response *out) {
    emu_page pg;
    memset(&pg, 0, sizeof pg);
    list_page(x, &pg, entities_of, 0, r_entity, NULL, NULL, NULL, out);
}

/* ---------------------------------------------------------- challenges */

static const char *const status_names[] = {"pending", "approved", "denied", "expired"};

/* The challenge at the call's path (lock held). */
static emu_challenge *find_challenge(emu_server *srv, const emu_call *c) {
    emu_challenge *ch = emu_store_challenge(&srv->store, c->sid);
    if (!ch || strcmp(ch->entity->service_sid, c->service_sid) != 0 || strcmp(ch->entity->identity, c->identity) != 0)
        return NULL;
    return ch;
}

static void factor_not_found(emu_response *out, const emu_call *c, const char *factor_sid) {
    char path[300];
    const char *vals[] = {c->service_sid, c->identity, factor_sid};
    if (emu_row_url(path, sizeof path, NULL, "fetch_factor", vals) != 0) path[0] = '\0';
    emu_not_found(out, path);
}

/* Details.Fields: every repeated key is a JSON object {"label": <= 36
 * characters, "value": <= 128 characters}.  *res is the array (NULL when
 * none given).  0, or -1 with out set. */
static int details_fields(const emu_call *c, cJSON **res, emu_response *out) {
    *res = NULL;
    cJSON *arr = NULL;
    for (size_t i = 0; i < c->form.n; i++) {
        const emu_kv *kv = &c->form.items[i];
        if (strcmp(kv->key, "Details.Fields") != 0) continue;
        if (!arr && !(arr = cJSON_CreateArray())) goto nomem;
        cJSON *o = cJSON_ParseWithLength(kv->val, kv->vlen);
        if (!o) goto nomem; /* tv_param_check accepted it as a JSON object */
        const cJSON *label = cJSON_GetObjectItemCaseSensitive(o, "label");
        const cJSON *value = cJSON_GetObjectItemCaseSensitive(o, "value");
        int nkeys = cJSON_GetArraySize(o);
        tv_error err = TV_ERROR_INIT;
        const char *why = NULL;
        if (!cJSON_IsString(label) || !cJSON_IsString(value) || nkeys != 2)
            why = "each Details.Fields element must be {\"label\": string, \"value\": string}";
        else if (tv_check_text("label", label->valuestring, strlen(label->valuestring), &err) > 36)
            why = "a Details.Fields label can be up to 36 characters";
        else if (err.kind == TV_OK && tv_check_text("value", value->valuestring, strlen(value->valuestring), &err) > 128)
            why = "a Details.Fields value can be up to 128 characters";
        else if (err.kind != TV_OK)
            why = "Details.Fields labels and values must be text without control characters";
        tv_error_clear(&err);
        if (why) {
            cJSON_Delete(o);
            cJSON_Delete(arr);
            emu_param_error(out, "Details.Fields", "%s", why);
            return -1;
        }
        cJSON *item = cJSON_CreateObject();
        int ok = item && cJSON_AddStringToObject(item, "label", label->valuestring) &&
                 cJSON_AddStringToObject(item, "value", value->valuestring);
        cJSON_Delete(o);
        if (!ok) {
            cJSON_Delete(item);
            goto nomem;
        }
        if (emu_json_add(arr, NULL, item) != 0) goto nomem;
    }
    *res = arr;
    return 0;
nomem:
    cJSON_Delete(arr);
    emu_oom(out);
    return -1;
}


/* TOTP check of payload against factor f at now: 1 match, 0 not. */
static int totp_ok(const emu_factor *f, const emu_kv *payload, int64_t now) {
    tv_error err = TV_ERROR_INIT;
    int off = 0;
    int m = tv_totp_check(f->secret, f->secret_len, f->alg, now, f->step, f->digits, f->skew, payload->val,
                          payload->vlen, &off, &err) == 1;
    tv_error_clear(&err);
    return m;
}

void emu_h_create_challenge(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    const emu_call *c = x->c;
    const emu_kv *fsid = emu_val(x, "FactorSid"), *exp = emu_val(x, "ExpirationDate");
    const emu_kv *msg = emu_val(x, "Details.Message"), *payload = emu_val(x, "AuthPayload");
    emu_challenge *ch = calloc(1, sizeof *ch);
    if (!ch) {
        emu_oom(out);
        return;
    }
    int64_t exp_t = 0;
    if (exp && tv_parse_date(exp->val, exp->vlen, &exp_t) != 0) {
        emu_param_error(out, "ExpirationDate", "%s", "ExpirationDate is not an RFC 3339 date-time");
        goto done;
    }
    if (details_fields(c, &ch->details_fields, out) != 0) goto done;
    if (emu_string_map_param(emu_val(x, "HiddenDetails"), "HiddenDetails", &ch->hidden_details, out) != 0) goto done;
    if (msg && !(ch->details_message = kvdup(msg))) {
        emu_oom(out);
        goto done;
    }
    ch->has_details = msg || ch->details_fields;
    snprintf(ch->factor_sid, sizeof ch->factor_sid, "%s", fsid->val);

    pthread_mutex_lock(&srv->lock);
    int64_t now = emu_now(srv);
    emu_entity *e = service_gone(srv, c->service_sid) ? NULL
                                                       : emu_store_entity(&srv->store, c->service_sid, c->identity);
    emu_factor *f = e ? emu_store_factor(&srv->store, fsid->val) : NULL;
    if (!e) {
        pthread_mutex_unlock(&srv->lock);
        emu_not_found(out, c->raw_path);
        goto done;
    }
    if (!f || f->entity != e) {
        pthread_mutex_unlock(&srv->lock);
        factor_not_found(out, c, fsid->val);
        goto done;
    }
    if (!f->verified) {
        pthread_mutex_unlock(&srv->lock);
        emu_response_error(out, 403, 60318, "Factor is unverified", NULL);
        goto done;
    }
    if (f->type == EMU_PUSH && !msg) {
        pthread_mutex_unlock(&srv->lock);
        emu_response_error(out, 400, 60368, "Challenge details invalid or not provided: Details.Message is required "
                                            "for a push factor", NULL);
        goto done;
    }
    if (f->type == EMU_PUSH && payload) {
        pthread_mutex_unlock(&srv->lock);
        emu_param_error(out, "AuthPayload", "%s", "AuthPayload is only used with a factor of type totp");
        goto done;
    }
    if (exp && (exp_t <= now || exp_t > now + EMU_CH_MAX_TTL)) {
        pthread_mutex_unlock(&srv->lock);
        emu_param_error(out, "ExpirationDate", "%s",
                        "ExpirationDate must be in the future and at most 60 minutes after creation");
        goto done;
    }
    if (!srv->cfg.no_limits && !emu_factor_challenge_allowed(f, now)) {
        pthread_mutex_unlock(&srv->lock);
        emu_response_error(out, 429, 60312, "Challenge creation limit reached", NULL);
        goto done;
    }
    ch->factor_type = f->type;
    ch->created = ch->updated = now;
    ch->expires = exp ? exp_t : now + EMU_CH_DEFAULT_TTL;
    ch->status = EMU_CH_PENDING;
    if (payload) {
        if (totp_ok(f, payload, now)) {
            ch->status = EMU_CH_APPROVED;
            ch->responded = now;
        } else {
            ch->failures = 1;
        }
    }
    cJSON *j = NULL;
    if (x->commit) {
        if (emu_store_challenge_insert(&srv->store, e, ch) != 0 || emu_factor_note_challenge(f, now) != 0) {
            if (ch->entity) { /* inserted: the store owns it now */
                emu_seqlist_remove(&e->challenges, ch->seq, ch);
                emu_map_remove(&srv->store.challenges, ch->sid);
            }
            pthread_mutex_unlock(&srv->lock);
            emu_oom(out);
            goto done;
        }
        emu_note_applied(srv, c);
        emu_webhook_challenge_event(srv, ch);
        j = emu_render_challenge(ch, srv->cfg.account_sid, c->host, now);
        ch = NULL;
    } else {
        ch->entity = e;
        if (emu_random_sid("YC", ch->sid, 16) == 0) j = emu_render_challenge(ch, srv->cfg.account_sid, c->host, now);
    }
    pthread_mutex_unlock(&srv->lock);
    if (!j) emu_oom(out);
    else emu_response_json(out, 201, j);
done:
    emu_challenge_free(ch);
}

void emu_h_fetch_challenge(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    pthread_mutex_lock(&srv->lock);
    emu_challenge *ch = find_challenge(srv, x->c);
    cJSON *j = ch ? emu_render_challenge(ch, srv->cfg.account_sid, x->c->host, emu_now(srv)) : NULL;
    pthread_mutex_unlock(&srv->lock);
    int push = ch && ch->factor_type == EMU_PUSH;
    emu_answer(x, out, ch != NULL, 200, j);
    if (push && j) emu_response_header(out, "Twilio-Verify-Signature-Fields", emu_push_signature_fields);
}

typedef struct ch_filter {
    const char *factor_sid;
    int status; /* -1 any */
    int64_t now;
} ch_filter;

static int ch_keep(const void *p, void *ctx) {
    const emu_challenge *ch = p;
    const ch_filter *fl = ctx;
    if (fl->factor_sid && strcmp(ch->factor_sid, fl->factor_sid) != 0) return 0;
    if (fl->status >= 0 && emu_challenge_status(ch, fl->now) != fl->status) return 0;
    return 1;
}

static const emu_seqlist *challenges_of(emu_server *srv, const emu_call *c) {
    emu_entity *e = emu_store_entity(&srv->store, c->service_sid, c->identity);
    return e ? &e->challenges : NULL;
}

void emu_h_list_challenge(const emu_ctx *x, emu_response *out) {
    const emu_kv *fsid = emu_val(x, "FactorSid"), *st = emu_val(x, "Status"), *ord = emu_val(x, "Order");
    emu_page pg;
    memset(&pg, 0, sizeof pg);
    /* The filters travel in the page URLs (values are SIDs and enum words: URL-safe). */
    snprintf(pg.extra, sizeof pg.extra, "%s%s%s%s%s%s%s%s%s", fsid ? "FactorSid=" : "", fsid ? fsid->val : "",
             fsid ? "&" : "", st ? "Status=" : "", st ? st->val : "", st ? "&" : "", ord ? "Order=" : "",
             ord ? ord->val : "", ord ? "&" : "");
    ch_filter fl = {fsid ? fsid->val : NULL, -1, 0};
    for (int i = 0; st && i < 4; i++)
        if (strcmp(st->val, status_names[i]) == 0) fl.status = i;
    pthread_mutex_lock(&x->srv->lock);
    fl.now = emu_now(x->srv);
    pthread_mutex_unlock(&x->srv->lock);
    int desc = ord && strcmp(ord->val, "desc") == 0;
    list_page(x, &pg, challenges_of, desc, r_challenge, ch_keep, &fl, NULL, out);
}

void emu_h_update_challenge(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    const emu_call *c = x->c;
    const emu_kv *payload = emu_val(x, "AuthPayload");
    cJSON *md = NULL;
    if (emu_string_map_param(emu_val(x, "Metadata"), "Metadata", &md, out) != 0) return;
    pthread_mutex_lock(&srv->lock);
    int64_t now = emu_now(srv);
    emu_challenge *ch = find_challenge(srv, c);
    if (!ch) {
        pthread_mutex_unlock(&srv->lock);
        emu_not_found(out, c->raw_path);
        cJSON_Delete(md);
        return;
    }
    int status = emu_challenge_status(ch, now);
    long code = 0;
    int http = 0;
    const char *why = NULL;
    if (status == EMU_CH_EXPIRED) http = 403, code = 60323, why = "Challenge expired";
    else if (payload && status != EMU_CH_PENDING) http = 403, code = 60322, why = "Challenge already responded";
    else if (payload && ch->failures >= EMU_CH_MAX_FAILURES)
        http = 429, code = 60308, why = "Challenge verification attempts limit reached";
    emu_factor *f = payload && !why ? emu_store_factor(&srv->store, ch->factor_sid) : NULL;
    if (!why && payload && (!f || f->entity != ch->entity)) {
        pthread_mutex_unlock(&srv->lock);
        factor_not_found(out, c, ch->factor_sid);
        cJSON_Delete(md);
        return;
    }
    if (why) {
        pthread_mutex_unlock(&srv->lock);
        emu_response_error(out, http, code, why, NULL);
        cJSON_Delete(md);
        return;
    }
    emu_challenge tmp = *ch; /* the challenge as it will be */
    if (payload && f->type == EMU_PUSH) {
        /* a JWT over the signature fields + status, by the factor's key (push.c) */
        int st = emu_push_challenge_payload(srv, ch, f, payload, c->host, now);
        if (st < 0) {
            if (x->commit) ch->failures++;
            pthread_mutex_unlock(&srv->lock);
            emu_response_error(out, 403, 60324, "Challenge verification failed: the AuthPayload signature is invalid",
                               NULL);
            cJSON_Delete(md);
            return;
        }
        tmp.status = st;
        tmp.responded = now;
    } else if (payload) {
        if (totp_ok(f, payload, now)) {
            tmp.status = EMU_CH_APPROVED;
            tmp.responded = now;
        } else {
            tmp.failures++;
        }
    }
    if (md) tmp.metadata = md;
    tmp.updated = now;
    cJSON *j = emu_render_challenge(&tmp, srv->cfg.account_sid, c->host, now);
    if (j && x->commit) {
        if (tmp.status != ch->status) emu_webhook_challenge_event(srv, &tmp);
        if (md) {
            cJSON_Delete(ch->metadata);
            ch->metadata = md;
            md = NULL;
        }
        ch->status = tmp.status;
        ch->responded = tmp.responded;
        ch->failures = tmp.failures;
        ch->updated = now;
        emu_note_applied(srv, c);
    }
    pthread_mutex_unlock(&srv->lock);
    cJSON_Delete(md);
    if (!j) emu_oom(out);
    else emu_response_json(out, 200, j);
}

/* ------------------------------------------------------------ services */

/* The created, live service at the call's {Sid} (lock held). */
static emu_service *find_service(emu_server *srv, const emu_call *c) {
    emu_service *svc = emu_store_service(&srv->store, c->sid);
    return svc && svc->created && !svc->deleted ? svc : NULL;
}

/* New values of the settings given in the call (vals[i] by index in
 * create_service's params; NULL when not given).  0 / -1 OOM. */
static int service_vals(const emu_ctx *x, char **vals) {
    const tv_param_spec *set = tv_operation_by_name("create_service")->params;
    for (size_t i = 0; i < EMU_SERVICE_NVALS; i++) vals[i] = NULL;
    for (size_t i = 0; i < EMU_SERVICE_NVALS && set[i].name; i++) {
        const emu_kv *kv = emu_val(x, set[i].key);
        if (kv && !(vals[i] = kvdup(kv))) {
            for (size_t k = 0; k < i; k++) free(vals[k]);
            return -1;
        }
    }
    return 0;
}

void emu_h_create_service(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    emu_service *svc = calloc(1, sizeof *svc);
    if (!svc || service_vals(x, svc->vals) != 0) {
        free(svc);
        emu_oom(out);
        return;
    }
    pthread_mutex_lock(&srv->lock);
    do {
        if (emu_random_sid("VA", svc->sid, 16) != 0) svc->sid[0] = '\0';
    } while (svc->sid[0] && emu_store_service(&srv->store, svc->sid));
    svc->date_created = svc->date_updated = emu_now(srv);
    cJSON *j = NULL;
    if (!svc->sid[0]) {
        /* RAND_bytes failed: answered as out of memory below */
    } else if (x->commit) {
        if (emu_map_put(&srv->store.services, svc->sid, svc) == 0) {
            if (emu_store_service_publish(&srv->store, svc) == 0) {
                emu_note_applied(srv, x->c);
                j = emu_render_service(svc, srv->cfg.account_sid, x->c->host);
                svc = NULL; /* owned by the store */
            } else {
                emu_map_remove(&srv->store.services, svc->sid);
            }
        }
    } else {
        svc->created = 1;
        j = emu_render_service(svc, srv->cfg.account_sid, x->c->host);
    }
    pthread_mutex_unlock(&srv->lock);
    if (svc) {
        for (size_t i = 0; i < EMU_SERVICE_NVALS; i++) free(svc->vals[i]);
        free(svc);
    }
    if (!j) emu_oom(out);
    else emu_response_json(out, 201, j);
}

void emu_h_fetch_service(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    pthread_mutex_lock(&srv->lock);
    emu_service *svc = find_service(srv, x->c);
    cJSON *j = svc ? emu_render_service(svc, srv->cfg.account_sid, x->c->host) : NULL;
    pthread_mutex_unlock(&srv->lock);
    emu_answer(x, out, svc != NULL, 200, j);
}

static const emu_seqlist *services_all(emu_server *srv, const emu_call *c) {
    (void)c;
    return &srv->store.service_list;
}

void emu_h_list_service(const emu_ctx *x, emu_response *out) {
    emu_page pg;
    memset(&pg, 0, sizeof pg);
    list_page(x, &pg, services_all, 0, r_service, NULL, NULL, NULL, out);
}

void emu_h_update_service(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    char *vals[EMU_SERVICE_NVALS];
    if (service_vals(x, vals) != 0) {
        emu_oom(out);
        return;
    }
    pthread_mutex_lock(&srv->lock);
    emu_service *svc = find_service(srv, x->c);
    cJSON *j = NULL;
    if (svc) {
        emu_service tmp = *svc; /* the service as it will be (pointers borrowed) */
        for (size_t i = 0; i < EMU_SERVICE_NVALS; i++)
            if (vals[i]) tmp.vals[i] = vals[i];
        tmp.date_updated = emu_now(srv);
        j = emu_render_service(&tmp, srv->cfg.account_sid, x->c->host);
        if (j && x->commit) {
            for (size_t i = 0; i < EMU_SERVICE_NVALS; i++)
                if (vals[i]) {
                    free(svc->vals[i]);
                    svc->vals[i] = vals[i];
                    vals[i] = NULL;
                }
            svc->date_updated = tmp.date_updated;
            emu_note_applied(srv, x->c);
        }
    }
    pthread_mutex_unlock(&srv->lock);
    for (size_t i = 0; i < EMU_SERVICE_NVALS; i++) free(vals[i]);
    emu_answer(x, out, svc != NULL, 200, j);
}

void emu_h_delete_service(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    pthread_mutex_lock(&srv->lock);
    emu_service *svc = find_service(srv, x->c);
    if (svc && x->commit) {
        emu_store_service_delete(&srv->store, svc);
        emu_note_applied(srv, x->c);
    }
    pthread_mutex_unlock(&srv->lock);
    if (!svc) emu_not_found(out, x->c->raw_path);
    else no_content(out);
}
