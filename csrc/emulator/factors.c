/*
 * factors.c -- the Factor operations (CreateNewFactor, FetchFactor,
 * UpdateFactor, DeleteFactor, ListFactor): TOTP secrets and codes from
 * tv_totp, push keys and signatures from push.c.  Which parameters a push
 * or a TOTP factor takes is the operation table's (`only`,
 * `required_for`: the description's "Required when `factor_type` is
 * `push`" / "Used when `factor_type` is `totp`").
 */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "tv_ops.h"

#define val(x, key) emu_val(x, key)
#define ival emu_ival
#define param_error emu_param_error
#define oom emu_oom

/* Factor at the call's path (lock held); NULL when it or its entity is unknown. */
static emu_factor *find_factor(emu_server *srv, const emu_call *c) {
    emu_factor *f = emu_store_factor(&srv->store, c->sid);
    if (!f || strcmp(f->entity->service_sid, c->service_sid) != 0 ||
        strcmp(f->entity->identity, c->identity) != 0)
        return NULL;
    return f;
}

#define service_gone emu_service_gone
#define kvdup emu_kvdup

/* The row's parameters for one factor type only: any given for a factor of
 * another type is refused; those required for this type must be there. */
static int factor_type_params(const emu_ctx *x, const char *type, emu_response *out) {
    char why[128];
    for (const tv_param_spec *p = x->c->row->params; p->name; p++) {
        if (p->only && strcmp(p->only, type) != 0 && val(x, p->key)) {
            snprintf(why, sizeof why, "%s is not valid for a %s factor", p->key, type);
            param_error(out, p->key, "%s", why);
            return -1;
        }
    }
    for (const tv_param_spec *p = x->c->row->params; p->name; p++) {
        if (p->required_for && strcmp(p->required_for, type) == 0 && !val(x, p->key)) {
            snprintf(why, sizeof why, "%s is required for a %s factor", p->key, type);
            param_error(out, p->key, "%s", why);
            return -1;
        }
    }
    return 0;
}

/* Build the push part of a new factor; binding out.  0, -1 (out set). */
static int create_push(const emu_ctx *x, emu_factor *f, cJSON **binding, emu_response *out) {
    const emu_kv *alg = val(x, "Binding.Alg"), *plat = val(x, "Config.NotificationPlatform");
    if (strcmp(alg->val, "ES256") != 0) {
        param_error(out, "Binding.Alg", "%s", "Binding.Alg must be ES256");
        return -1;
    }
    if (strcmp(plat->val, "none") != 0 && !val(x, "Config.NotificationToken")) {
        param_error(out, "Config.NotificationToken", "%s", "Config.NotificationToken is required for a push factor");
        return -1;
    }
    if (emu_push_check_key(val(x, "Binding.PublicKey"), out) != 0) return -1;
    const emu_kv *tok = val(x, "Config.NotificationToken");
    f->app_id = kvdup(val(x, "Config.AppId"));
    f->platform = kvdup(plat);
    f->sdk_version = kvdup(val(x, "Config.SdkVersion"));
    f->public_key = kvdup(val(x, "Binding.PublicKey"));
    f->token = tok ? kvdup(tok) : NULL;
    *binding = cJSON_CreateObject();
    if (!f->app_id || !f->platform || !f->sdk_version || !f->public_key || (tok && !f->token) || !*binding ||
        !cJSON_AddStringToObject(*binding, "alg", alg->val) ||
        !cJSON_AddStringToObject(*binding, "public_key", f->public_key)) {
        oom(out);
        return -1;
    }
    return 0;
}

/* The service settings TOTP factors default to (lock NOT held: copies). */
typedef struct totp_defaults {
    int step, digits, skew;
    char issuer[256];
} totp_defaults;

static void service_totp_defaults(emu_server *srv, const char *service_sid, totp_defaults *d) {
    d->step = 30;
    d->digits = 6;
    d->skew = 1;
    snprintf(d->issuer, sizeof d->issuer, "%s", EMU_ISSUER);
    pthread_mutex_lock(&srv->lock);
    const emu_service *svc = emu_store_service(&srv->store, service_sid);
    if (svc && svc->created) {
        const char *v;
        if ((v = emu_service_val(svc, "Totp.TimeStep"))) d->step = (int)strtol(v, NULL, 10);
        if ((v = emu_service_val(svc, "Totp.CodeLength"))) d->digits = (int)strtol(v, NULL, 10);
        if ((v = emu_service_val(svc, "Totp.Skew"))) d->skew = (int)strtol(v, NULL, 10);
        if ((v = emu_service_val(svc, "Totp.Issuer")) || (v = emu_service_val(svc, "FriendlyName")))
            snprintf(d->issuer, sizeof d->issuer, "%s", v);
    }
    pthread_mutex_unlock(&srv->lock);
}

/* Build the TOTP part of a new factor; binding out.  0, -1 (out set). */
static int create_totp(const emu_ctx *x, emu_factor *f, cJSON **binding, emu_response *out) {
    tv_error err = TV_ERROR_INIT;
    const emu_kv *secret = val(x, "Binding.Secret"), *alg = val(x, "Config.Alg");
    totp_defaults d;
    service_totp_defaults(x->srv, x->c->service_sid, &d);
    f->step = ival(val(x, "Config.TimeStep"), d.step);
    f->skew = ival(val(x, "Config.Skew"), d.skew);
    f->digits = ival(val(x, "Config.CodeLength"), d.digits);
    if (alg && tv_totp_alg_parse(alg->val, alg->vlen, &f->alg, &err) != 0) {
        param_error(out, "Config.Alg", "%s", err.message);
        tv_error_clear(&err);
        return -1;
    }
    if (secret) {
        if (tv_base32_decode(secret->val, secret->vlen, &f->secret, &f->secret_len, &err) != 0) {
            if (err.kind == TV_ENOMEM) oom(out);
            else param_error(out, "Binding.Secret", "%s", err.message);
            tv_error_clear(&err);
            return -1;
        }
    } else {
        f->secret_len = 20;
        if (!(f->secret = malloc(f->secret_len))) {
            oom(out);
            return -1;
        }
        if (RAND_bytes(f->secret, (int)f->secret_len) != 1) {
            emu_response_error(out, 500, 20500, "Internal Server Error (RAND_bytes failed)", NULL);
            return -1;
        }
    }
    char *b32 = tv_base32_encode(f->secret, f->secret_len);
    if (!b32) {
        oom(out);
        return -1;
    }
    tv_otpauth u = {d.issuer, f->friendly_name, b32, f->alg, f->digits, f->step};
    char *uri = tv_otpauth_build(&u, &err);
    int rc = 0;
    *binding = cJSON_CreateObject();
    if (!uri) {
        if (err.kind == TV_ENOMEM) oom(out);
        else param_error(out, "FriendlyName", "%s", err.message);
        rc = -1;
    } else if (!*binding || !cJSON_AddStringToObject(*binding, "secret", b32) ||
               !cJSON_AddStringToObject(*binding, "uri", uri)) {
        oom(out);
        rc = -1;
    }
    tv_error_clear(&err);
    OPENSSL_cleanse(b32, strlen(b32));
    free(b32);
    if (uri) {
        OPENSSL_cleanse(uri, strlen(uri));
        free(uri);
    }
    return rc;
}

void emu_h_create_factor(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    const emu_call *c = x->c;
    int type = strcmp(val(x, "FactorType")->val, "totp") == 0 ? EMU_TOTP : EMU_PUSH;
    if (factor_type_params(x, type == EMU_TOTP ? "totp" : "push", out)) return;

    cJSON *binding = NULL;
    char *bkey = NULL;
    emu_factor *f = emu_factor_new();
    if (!f || !(f->friendly_name = kvdup(val(x, "FriendlyName")))) {
        oom(out);
        goto done;
    }
    f->type = type;
    if (emu_string_map_param(val(x, "Metadata"), "Metadata", &f->metadata, out) != 0) goto done;
    if ((type == EMU_PUSH ? create_push : create_totp)(x, f, &binding, out) != 0) goto done;

    pthread_mutex_lock(&srv->lock);
    if (service_gone(srv, c->service_sid)) {
        pthread_mutex_unlock(&srv->lock);
        emu_not_found(out, c->raw_path);
        goto done;
    }
    int64_t now = emu_now(srv);
    emu_entity tmp, *e = emu_store_entity(&srv->store, c->service_sid, c->identity);
    if (!e && x->commit) e = emu_store_entity_get_or_create(&srv->store, c->service_sid, c->identity, now);
    if (!e && !x->commit) {
        memset(&tmp, 0, sizeof tmp);
        snprintf(tmp.service_sid, sizeof tmp.service_sid, "%s", c->service_sid);
        snprintf(tmp.identity, sizeof tmp.identity, "%s", c->identity);
        emu_entity_sid(c->service_sid, c->identity, tmp.sid);
        e = &tmp;
    }
    if (!e || !(bkey = emu_binding_key(e, f))) {
        pthread_mutex_unlock(&srv->lock);
        oom(out);
        goto done;
    }
    /* 60317: the binding of a verified factor of this entity (bindings are
     * registered when a factor is verified, see update_factor). */
    if (emu_map_get(&srv->store.bindings, bkey)) {
        pthread_mutex_unlock(&srv->lock);
        emu_response_error(out, 409, 60317,
                           type == EMU_PUSH ? "A factor with this Binding.PublicKey already exists for this entity"
                                            : "A factor with this Binding.Secret already exists for this entity",
                           NULL);
        goto done;
    }
    if (!srv->cfg.no_limits) {
        if (type == EMU_PUSH ? e->n_push >= EMU_MAX_PUSH : e->n_totp >= EMU_MAX_TOTP) {
            pthread_mutex_unlock(&srv->lock);
            char msg[160];
            snprintf(msg, sizeof msg, "Maximum number of %s factors (%d) reached for this entity",
                     type == EMU_PUSH ? "push" : "totp", type == EMU_PUSH ? EMU_MAX_PUSH : EMU_MAX_TOTP);
            emu_response_error(out, 400, 60315, msg, NULL);
            goto done;
        }
        if (!emu_entity_create_allowed(e, now)) {
            pthread_mutex_unlock(&srv->lock);
            char msg[160];
            snprintf(msg, sizeof msg, "Too many factors created for this entity: at most %d a day",
                     EMU_DAILY_CREATES);
            emu_response_error(out, 429, 60326, msg, NULL);
            goto done;
        }
    }
    f->created = f->updated = now;
    cJSON *j = NULL;
    if (x->commit) {
        if (emu_store_insert(&srv->store, e, f) != 0) {
            pthread_mutex_unlock(&srv->lock);
            oom(out);
            goto done;
        }
        emu_factor *mine = f;
        f = NULL; /* owned by the store now */
        emu_entity_note_create(e, now);
        emu_note_applied(srv, c);
        emu_webhook_factor_event(srv, "factor.created", mine);
        j = emu_render_factor(mine, srv->cfg.account_sid, c->host, binding);
    } else {
        f->entity = e;
        if (emu_random_sid("YF", f->sid, 16) == 0)
            j = emu_render_factor(f, srv->cfg.account_sid, c->host, binding);
        else
            cJSON_Delete(binding);
    }
    binding = NULL;
    pthread_mutex_unlock(&srv->lock);
    emu_response_json(out, 201, j);
done:
    if (bkey) {
        OPENSSL_cleanse(bkey, strlen(bkey));
        free(bkey);
    }
    cJSON_Delete(binding);
    emu_factor_free(f);
}

void emu_h_fetch_factor(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    pthread_mutex_lock(&srv->lock);
    emu_factor *f = find_factor(srv, x->c);
    cJSON *j = f ? emu_render_factor(f, srv->cfg.account_sid, x->c->host, NULL) : NULL;
    pthread_mutex_unlock(&srv->lock);
    emu_answer(x, out, f != NULL, 200, j);
}

void emu_h_delete_factor(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    pthread_mutex_lock(&srv->lock);
    emu_factor *f = find_factor(srv, x->c);
    if (f && x->commit) {
        emu_webhook_factor_event(srv, "factor.deleted", f);
        emu_store_delete(&srv->store, f);
        emu_note_applied(srv, x->c);
    }
    pthread_mutex_unlock(&srv->lock);
    if (!f) {
        emu_not_found(out, x->c->raw_path);
        return;
    }
    out->status = 204;
    out->content_type = NULL;
}

void emu_h_update_factor(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    const emu_call *c = x->c;
    const emu_kv *payload = val(x, "AuthPayload"), *fn = val(x, "FriendlyName");
    const emu_kv *tok = val(x, "Config.NotificationToken"), *sdk = val(x, "Config.SdkVersion");
    const emu_kv *plat = val(x, "Config.NotificationPlatform"), *alg = val(x, "Config.Alg");
    char *new_fn = fn ? kvdup(fn) : NULL, *new_tok = tok ? kvdup(tok) : NULL;
    char *new_sdk = sdk ? kvdup(sdk) : NULL, *new_plat = plat ? kvdup(plat) : NULL;
    if ((fn && !new_fn) || (tok && !new_tok) || (sdk && !new_sdk) || (plat && !new_plat)) {
        oom(out);
        goto done;
    }
    tv_totp_alg new_alg = TV_TOTP_SHA1;
    tv_error err = TV_ERROR_INIT;
    if (alg && tv_totp_alg_parse(alg->val, alg->vlen, &new_alg, &err) != 0) {
        param_error(out, "Config.Alg", "%s", err.message);
        tv_error_clear(&err);
        goto done;
    }

    pthread_mutex_lock(&srv->lock);
    emu_factor *f = find_factor(srv, c);
    if (!f) {
        pthread_mutex_unlock(&srv->lock);
        emu_not_found(out, c->raw_path);
        goto done;
    }
    if (factor_type_params(x, f->type == EMU_TOTP ? "totp" : "push", out)) {
        pthread_mutex_unlock(&srv->lock);
        goto done;
    }
    int64_t now = emu_now(srv);
    int locked = f->failures >= EMU_MAX_FAILURES && now < f->locked_until;
    if (payload && locked) {
        int64_t wait = f->locked_until - now;
        pthread_mutex_unlock(&srv->lock);
        cJSON *d = cJSON_CreateObject();
        if (d && !cJSON_AddNumberToObject(d, "retry_after_seconds", (double)wait)) {
            cJSON_Delete(d);
            d = NULL;
        }
        emu_response_error(out, 429, 60310, "Factor verification attempts reached", d);
        goto done;
    }
    int match = -1; /* -1: no AuthPayload */
    if (payload && f->type == EMU_TOTP) {
        int off = 0;
        match = tv_totp_check(f->secret, f->secret_len, f->alg, now, f->step, f->digits, f->skew, payload->val,
                              payload->vlen, &off, &err) == 1;
        tv_error_clear(&err);
    } else if (payload) {
        match = emu_push_verify_factor(f, payload); /* signature of the factor sid (push.c) */
        if (!match) {
            pthread_mutex_unlock(&srv->lock);
            emu_response_error(out, 403, 60311, "Factor verification failed: the AuthPayload signature is invalid",
                               NULL);
            goto done;
        }
    }

    emu_factor tmp = *f; /* the factor as it will be: rendered, then committed */
    if (new_fn) tmp.friendly_name = new_fn;
    if (new_tok) tmp.token = new_tok;
    if (new_sdk) tmp.sdk_version = new_sdk;
    if (new_plat) tmp.platform = new_plat;
    if (alg) tmp.alg = new_alg;
    tmp.step = ival(val(x, "Config.TimeStep"), f->step);
    tmp.skew = ival(val(x, "Config.Skew"), f->skew);
    tmp.digits = ival(val(x, "Config.CodeLength"), f->digits);
    if (match == 1) tmp.verified = 1;
    tmp.updated = now;
    cJSON *j = emu_render_factor(&tmp, srv->cfg.account_sid, c->host, NULL);
    if (x->commit && j) {
        if (tmp.verified && !f->verified) emu_webhook_factor_event(srv, "factor.verified", &tmp);
        if (new_fn) { free(f->friendly_name); f->friendly_name = new_fn; new_fn = NULL; }
        if (new_sdk) { free(f->sdk_version); f->sdk_version = new_sdk; new_sdk = NULL; }
        if (new_plat) { free(f->platform); f->platform = new_plat; new_plat = NULL; }
        if (new_tok) {
            if (f->token) {
                OPENSSL_cleanse(f->token, strlen(f->token));
                free(f->token);
            }
            f->token = new_tok;
            new_tok = NULL;
        }
        f->alg = tmp.alg;
        f->step = tmp.step;
        f->skew = tmp.skew;
        f->digits = tmp.digits;
        f->verified = tmp.verified;
        f->updated = now;
        if (f->verified && !f->bind_key) {
            /* register the binding for the 60317 check; a verified twin
             * already registered keeps it (best effort on OOM) */
            char *k = emu_binding_key(f->entity, f);
            if (k && !emu_map_get(&srv->store.bindings, k)) (void)emu_store_bind(&srv->store, f, k);
            else if (k) {
                OPENSSL_cleanse(k, strlen(k));
                free(k);
            }
        }
        if (match == 1) {
            f->failures = 0;
        } else if (match == 0) {
            if (f->failures >= EMU_MAX_FAILURES) f->failures = 0; /* lockout expired */
            if (++f->failures >= EMU_MAX_FAILURES) f->locked_until = now + EMU_LOCKOUT_SECONDS;
        }
        emu_note_applied(srv, c);
    }
    pthread_mutex_unlock(&srv->lock);
    emu_response_json(out, 200, j);
done:
    free(new_fn);
    free(new_sdk);
    free(new_plat);
    if (new_tok) {
        OPENSSL_cleanse(new_tok, strlen(new_tok));
        free(new_tok);
    }
}

void emu_h_list_factor(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    const emu_call *c = x->c;
    emu_page pg = {.key = NULL};
    int before;
    uint64_t token;
    if (emu_page_params(x, &pg, &before, &token, out) != 0) return;
    emu_seqitem *items = malloc((size_t)pg.size * sizeof *items);
    cJSON *arr = cJSON_CreateArray();
    if (!items || !arr) {
        free(items);
        cJSON_Delete(arr);
        oom(out);
        return;
    }
    pthread_mutex_lock(&srv->lock);
    /* An entity without factors (or never created) lists as empty, not 404. */
    emu_entity *e = emu_store_entity(&srv->store, c->service_sid, c->identity);
    size_t got = e ? emu_page_fetch(&e->factors, 0, before, token, (size_t)pg.size, items, &pg, NULL, NULL) : 0;
    int ok = 1;
    for (size_t i = 0; i < got && ok; i++)
        ok = emu_json_add(arr, NULL, emu_render_factor(items[i].p, srv->cfg.account_sid, c->host, NULL)) == 0;
    pthread_mutex_unlock(&srv->lock);
    free(items);
    if (!ok) {
        cJSON_Delete(arr);
        oom(out);
        return;
    }
    emu_page_answer(x, &pg, arr, out);
}
