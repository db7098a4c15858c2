/*
 * api.c -- authentication, routing and the five Factor operations.
 *
 * Every rule about what a request may contain comes from tv_validate (the
 * same tables the client checks arguments with); TOTP codes, Base32 and
 * otpauth URIs come from tv_totp.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emu.h"
#include "tv_validate.h"

#define MAX_PARAMS 32

/* ------------------------------------------------------------ routing */

static int seg_is(const char *s, size_t len, const char *lit) {
    return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

int emu_call_route(emu_call *c, const char *method, const char *raw_path) {
    const char *seg[8];
    size_t len[8];
    c->method = method;
    c->raw_path = raw_path;
    c->route = EMU_ROUTE_NONE;
    c->op = EMU_OP_OTHER;
    size_t n = emu_path_split(raw_path, strlen(raw_path), seg, len, 7);
    if ((n == 6 || n == 7) && seg_is(seg[0], len[0], "v2") && seg_is(seg[1], len[1], "Services") &&
        seg_is(seg[3], len[3], "Entities") && seg_is(seg[5], len[5], "Factors") && len[2] && len[4] &&
        (n == 6 || len[6]))
        c->route = n == 6 ? EMU_ROUTE_LIST : EMU_ROUTE_INSTANCE;
    if (c->route == EMU_ROUTE_NONE) return 0;
    int rc = emu_pct_decode(seg[2], len[2], 0, &c->service_sid, &c->service_len);
    if (rc == 0) rc = emu_pct_decode(seg[4], len[4], 0, &c->identity, &c->identity_len);
    if (rc == 0 && c->route == EMU_ROUTE_INSTANCE) rc = emu_pct_decode(seg[6], len[6], 0, &c->sid, &c->sid_len);
    if (rc == -1) return -1;
    if (rc == -2) c->bad_escape = 1;
    if (c->route == EMU_ROUTE_LIST) {
        if (strcmp(method, "GET") == 0) c->op = EMU_OP_LIST;
        else if (strcmp(method, "POST") == 0) c->op = EMU_OP_CREATE;
    } else {
        if (strcmp(method, "GET") == 0) c->op = EMU_OP_FETCH;
        else if (strcmp(method, "POST") == 0) c->op = EMU_OP_UPDATE;
        else if (strcmp(method, "DELETE") == 0) c->op = EMU_OP_DELETE;
    }
    return 0;
}

void emu_call_free(emu_call *c) {
    if (!c) return;
    free(c->service_sid);
    free(c->identity);
    free(c->sid);
    c->service_sid = c->identity = c->sid = NULL;
    emu_kvlist_free(&c->query);
    emu_kvlist_free(&c->form);
}

/* ---------------------------------------------------------- helpers */

static void param_error(emu_response *out, const char *key, const char *fmt, const char *arg) {
    char why[TV_ERR_MESSAGE_MAX + 64], msg[TV_ERR_MESSAGE_MAX + 160];
    snprintf(why, sizeof why, fmt, arg);
    snprintf(msg, sizeof msg, "Invalid parameter %s: %s", key, why);
    cJSON *details = cJSON_CreateObject();
    if (details && !cJSON_AddStringToObject(details, "parameter", key)) {
        cJSON_Delete(details);
        details = NULL;
    }
    emu_response_error(out, 400, 60200, msg, details);
}

static void oom(emu_response *out) {
    emu_response_error(out, 500, 20500, "Internal Server Error (out of memory)", NULL);
}

static void not_found(emu_response *out, const emu_call *c) {
    char msg[512];
    const char *p = c->raw_path;
    if (strncmp(p, "/v2/", 4) == 0) p += 3;
    snprintf(msg, sizeof msg, "The requested resource %.400s was not found", p);
    emu_response_error(out, 404, 20404, msg, NULL);
}

/* Validate every pair against `set`: unknown keys, repeats and values.
 * vals[i] is the pair of set[i] (NULL when absent).  0, or -1 with out set. */
static int collect(const tv_param_spec *set, const emu_kvlist *l, const emu_kv **vals, emu_response *out) {
    size_t nset = 0;
    while (set[nset].name) nset++;
    for (size_t i = 0; i < nset && i < MAX_PARAMS; i++) vals[i] = NULL;
    for (size_t i = 0; i < l->n; i++) {
        const emu_kv *kv = &l->items[i];
        const tv_param_spec *p = strlen(kv->key) == kv->klen ? tv_param_by_key(set, kv->key) : NULL;
        if (!p) {
            param_error(out, kv->key, "unknown parameter %s", kv->key);
            return -1;
        }
        size_t idx = (size_t)(p - set);
        if (vals[idx]) {
            param_error(out, kv->key, "%s is given more than once", kv->key);
            return -1;
        }
        tv_error err = TV_ERROR_INIT;
        if (tv_param_check(p, kv->val, kv->vlen, &err) != 0) {
            param_error(out, kv->key, "%s", err.message);
            tv_error_clear(&err);
            return -1;
        }
        vals[idx] = kv;
    }
    return 0;
}

static const emu_kv *val(const tv_param_spec *set, const emu_kv **vals, const char *key) {
    const tv_param_spec *p = tv_param_by_key(set, key);
    return p ? vals[p - set] : NULL;
}

static int ival(const emu_kv *kv, int def) {
    return kv ? (int)strtol(kv->val, NULL, 10) : def;
}

static int authenticated(const emu_server *srv, const char *h) {
    if (!h) return 0;
    while (*h == ' ') h++;
    if (strncasecmp(h, "Basic ", 6) != 0) return 0;
    h += 6;
    while (*h == ' ') h++;
    size_t len = strlen(h);
    while (len > 0 && h[len - 1] == ' ') len--;
    if (len == 0 || len % 4 != 0 || len > 2048) return 0;
    unsigned char buf[1540];
    int n = EVP_DecodeBlock(buf, (const unsigned char *)h, (int)len);
    if (n < 0) return 0;
    if (h[len - 1] == '=') n--;
    if (h[len - 2] == '=') n--;
    buf[n] = '\0';
    int ok = 0;
    unsigned char *colon = memchr(buf, ':', (size_t)n);
    if (colon) {
        size_t ulen = (size_t)(colon - buf), plen = (size_t)n - ulen - 1;
        const char *pass = (const char *)colon + 1;
        const char *pairs[2][2] = {{srv->cfg.account_sid, srv->cfg.auth_token},
                                   {srv->cfg.api_key, srv->cfg.api_secret}};
        for (int i = 0; i < 2; i++) {
            const char *u = pairs[i][0], *p = pairs[i][1];
            if (!u || !p || strlen(u) != ulen || strlen(p) != plen) continue;
            if (CRYPTO_memcmp(u, buf, ulen) == 0 && CRYPTO_memcmp(p, pass, plen) == 0) ok = 1;
        }
    }
    OPENSSL_cleanse(buf, sizeof buf);
    return ok;
}

/* Factor at the call's path (lock held); NULL when it or its entity is unknown. */
static emu_factor *find_factor(emu_server *srv, const emu_call *c) {
    emu_factor *f = emu_store_factor(&srv->store, c->sid);
    if (!f || strcmp(f->entity->service_sid, c->service_sid) != 0 ||
        strcmp(f->entity->identity, c->identity) != 0)
        return NULL;
    return f;
}

/* ----------------------------------------------------------- create */

static const char *const push_keys[] = {"Binding.Alg", "Binding.PublicKey", "Config.AppId",
                                        "Config.NotificationPlatform", "Config.NotificationToken",
                                        "Config.SdkVersion", NULL};
static const char *const totp_keys[] = {"Binding.Secret", "Config.TimeStep", "Config.Skew",
                                        "Config.CodeLength", "Config.Alg", NULL};
static const char *const push_update_keys[] = {"Config.NotificationToken", "Config.SdkVersion",
                                               "Config.NotificationPlatform", NULL};

static int forbid(const tv_param_spec *set, const emu_kv **vals, const char *const *keys,
                  const char *type, emu_response *out) {
    for (; *keys; keys++)
        if (val(set, vals, *keys)) {
            char why[128];
            snprintf(why, sizeof why, "%s is not valid for a %s factor", *keys, type);
            param_error(out, *keys, "%s", why);
            return -1;
        }
    return 0;
}

static int require(const tv_param_spec *set, const emu_kv **vals, const char *key, const char *type,
                   emu_response *out) {
    if (val(set, vals, key)) return 0;
    char why[128];
    snprintf(why, sizeof why, "%s is required%s%s", key, type ? " for a " : "", type ? type : "");
    if (type) strncat(why, " factor", sizeof why - strlen(why) - 1);
    param_error(out, key, "%s", why);
    return -1;
}

static char *kvdup(const emu_kv *kv) {
    return emu_strndup(kv->val, kv->vlen);
}

/* Build the push part of a new factor; binding out.  0, -1 (out set). */
static int create_push(const emu_kv **v, emu_factor *f, cJSON **binding, emu_response *out) {
    const tv_param_spec *S = tv_params_create;
    if (require(S, v, "Binding.PublicKey", "push", out) || require(S, v, "Binding.Alg", "push", out) ||
        require(S, v, "Config.AppId", "push", out) ||
        require(S, v, "Config.NotificationPlatform", "push", out) ||
        require(S, v, "Config.SdkVersion", "push", out))
        return -1;
    const emu_kv *alg = val(S, v, "Binding.Alg"), *plat = val(S, v, "Config.NotificationPlatform");
    if (strcmp(alg->val, "ES256") != 0) {
        param_error(out, "Binding.Alg", "%s", "Binding.Alg must be ES256");
        return -1;
    }
    if (strcmp(plat->val, "none") != 0 && require(S, v, "Config.NotificationToken", "push", out)) return -1;
    const emu_kv *tok = val(S, v, "Config.NotificationToken");
    f->app_id = kvdup(val(S, v, "Config.AppId"));
    f->platform = kvdup(plat);
    f->sdk_version = kvdup(val(S, v, "Config.SdkVersion"));
    f->token = tok ? kvdup(tok) : NULL;
    *binding = cJSON_CreateObject();
    if (!f->app_id || !f->platform || !f->sdk_version || (tok && !f->token) || !*binding ||
        !cJSON_AddStringToObject(*binding, "alg", alg->val) ||
        !cJSON_AddStringToObject(*binding, "public_key", val(S, v, "Binding.PublicKey")->val)) {
        oom(out);
        return -1;
    }
    return 0;
}

/* Build the TOTP part of a new factor; binding out.  0, -1 (out set). */
static int create_totp(const emu_kv **v, emu_factor *f, cJSON **binding, emu_response *out) {
    const tv_param_spec *S = tv_params_create;
    tv_error err = TV_ERROR_INIT;
    const emu_kv *secret = val(S, v, "Binding.Secret"), *alg = val(S, v, "Config.Alg");
    f->step = ival(val(S, v, "Config.TimeStep"), 30);
    f->skew = ival(val(S, v, "Config.Skew"), 1);
    f->digits = ival(val(S, v, "Config.CodeLength"), 6);
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
    tv_otpauth u = {(char *)EMU_ISSUER, f->friendly_name, b32, f->alg, f->digits, f->step};
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

static void op_create(emu_server *srv, const emu_call *c, int commit, emu_response *out) {
    const tv_param_spec *S = tv_params_create;
    const emu_kv *v[MAX_PARAMS];
    if (collect(S, &c->form, v, out) != 0) return;
    if (require(S, v, "FriendlyName", NULL, out) || require(S, v, "FactorType", NULL, out)) return;
    int type = strcmp(val(S, v, "FactorType")->val, "totp") == 0 ? EMU_TOTP : EMU_PUSH;
    if (forbid(S, v, type == EMU_TOTP ? push_keys : totp_keys, type == EMU_TOTP ? "totp" : "push", out))
        return;

    cJSON *binding = NULL;
    emu_factor *f = emu_factor_new();
    if (!f || !(f->friendly_name = kvdup(val(S, v, "FriendlyName")))) {
        oom(out);
        goto done;
    }
    f->type = type;
    const emu_kv *md = val(S, v, "Metadata");
    if (md && !(f->metadata = cJSON_ParseWithLength(md->val, md->vlen))) {
        oom(out);
        goto done;
    }
    if ((type == EMU_PUSH ? create_push : create_totp)(v, f, &binding, out) != 0) goto done;

    pthread_mutex_lock(&srv->lock);
    int64_t now = emu_now(srv);
    emu_entity tmp, *e = emu_store_entity(&srv->store, c->service_sid, c->identity);
    if (!e && commit) e = emu_store_entity_get_or_create(&srv->store, c->service_sid, c->identity);
    if (!e && !commit) {
        memset(&tmp, 0, sizeof tmp);
        snprintf(tmp.service_sid, sizeof tmp.service_sid, "%s", c->service_sid);
        snprintf(tmp.identity, sizeof tmp.identity, "%s", c->identity);
        emu_entity_sid(c->service_sid, c->identity, tmp.sid);
        e = &tmp;
    }
    if (!e) {
        pthread_mutex_unlock(&srv->lock);
        oom(out);
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
    if (commit) {
        if (emu_store_insert(&srv->store, e, f) != 0) {
            pthread_mutex_unlock(&srv->lock);
            oom(out);
            goto done;
        }
        emu_factor *mine = f;
        f = NULL; /* owned by the store now */
        emu_entity_note_create(e, now);
        srv->applied[EMU_OP_CREATE]++;
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
    cJSON_Delete(binding);
    emu_factor_free(f);
}

/* ------------------------------------------------------------ fetch */

static void op_fetch(emu_server *srv, const emu_call *c, emu_response *out) {
    pthread_mutex_lock(&srv->lock);
    emu_factor *f = find_factor(srv, c);
    cJSON *j = f ? emu_render_factor(f, srv->cfg.account_sid, c->host, NULL) : NULL;
    pthread_mutex_unlock(&srv->lock);
    if (!f) not_found(out, c);
    else emu_response_json(out, 200, j);
}

/* ----------------------------------------------------------- delete */

static void op_delete(emu_server *srv, const emu_call *c, int commit, emu_response *out) {
    pthread_mutex_lock(&srv->lock);
    emu_factor *f = find_factor(srv, c);
    if (f && commit) {
        emu_store_delete(&srv->store, f);
        srv->applied[EMU_OP_DELETE]++;
    }
    pthread_mutex_unlock(&srv->lock);
    if (!f) {
        not_found(out, c);
        return;
    }
    out->status = 204;
    out->content_type = NULL;
}

/* ----------------------------------------------------------- update */

static void op_update(emu_server *srv, const emu_call *c, int commit, emu_response *out) {
    const tv_param_spec *S = tv_params_update;
    const emu_kv *v[MAX_PARAMS];
    if (collect(S, &c->form, v, out) != 0) return;
    const emu_kv *payload = val(S, v, "AuthPayload"), *fn = val(S, v, "FriendlyName");
    const emu_kv *tok = val(S, v, "Config.NotificationToken"), *sdk = val(S, v, "Config.SdkVersion");
    const emu_kv *plat = val(S, v, "Config.NotificationPlatform"), *alg = val(S, v, "Config.Alg");
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
        not_found(out, c);
        goto done;
    }
    if (forbid(S, v, f->type == EMU_TOTP ? push_update_keys : totp_keys,
               f->type == EMU_TOTP ? "totp" : "push", out)) {
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
        emu_response_error(out, 429, 60310, "Max check attempts reached", d);
        goto done;
    }
    int match = -1; /* -1: no AuthPayload */
    if (payload && f->type == EMU_TOTP) {
        int off = 0;
        match = tv_totp_check(f->secret, f->secret_len, f->alg, now, f->step, f->digits, f->skew,
                              payload->val, payload->vlen, &off, &err) == 1;
        tv_error_clear(&err);
    } else if (payload) {
        match = strcmp(payload->val, "invalid") != 0;
    }

    emu_factor tmp = *f; /* the factor as it will be: rendered, then committed */
    if (new_fn) tmp.friendly_name = new_fn;
    if (new_tok) tmp.token = new_tok;
    if (new_sdk) tmp.sdk_version = new_sdk;
    if (new_plat) tmp.platform = new_plat;
    if (alg) tmp.alg = new_alg;
    tmp.step = ival(val(S, v, "Config.TimeStep"), f->step);
    tmp.skew = ival(val(S, v, "Config.Skew"), f->skew);
    tmp.digits = ival(val(S, v, "Config.CodeLength"), f->digits);
    if (match == 1) tmp.verified = 1;
    tmp.updated = now;
    cJSON *j = emu_render_factor(&tmp, srv->cfg.account_sid, c->host, NULL);
    if (commit && j) {
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
        if (match == 1) {
            f->failures = 0;
        } else if (match == 0) {
            if (f->failures >= EMU_MAX_FAILURES) f->failures = 0; /* lockout expired */
            if (++f->failures >= EMU_MAX_FAILURES) f->locked_until = now + EMU_LOCKOUT_SECONDS;
        }
        srv->applied[EMU_OP_UPDATE]++;
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

/* ------------------------------------------------------------- list */

/* "PA<hex>" (after seq) or "PB<hex>" (before seq).  0 / -1. */
static int parse_token(const char *s, size_t len, int *before, uint64_t *seq) {
    if (len < 3 || len > 18 || s[0] != 'P' || (s[1] != 'A' && s[1] != 'B')) return -1;
    uint64_t v = 0;
    for (size_t i = 2; i < len; i++) {
        char ch = s[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + (uint64_t)d;
    }
    *before = s[1] == 'B';
    *seq = v;
    return 0;
}

static int add_url(cJSON *meta, const char *name, const char *base, long size, long page, const char *tok,
                   char kind, uint64_t seq) {
    char buf[1024];
    if (kind) snprintf(buf, sizeof buf, "%s?PageSize=%ld&Page=%ld&PageToken=P%c%llx", base, size, page, kind,
                       (unsigned long long)seq);
    else if (tok) snprintf(buf, sizeof buf, "%s?PageSize=%ld&Page=%ld&PageToken=%s", base, size, page, tok);
    else snprintf(buf, sizeof buf, "%s?PageSize=%ld&Page=%ld", base, size, page);
    return cJSON_AddStringToObject(meta, name, buf) ? 0 : -1;
}

static void op_list(emu_server *srv, const emu_call *c, const char *next_url, emu_response *out) {
    const tv_param_spec *S = tv_params_list;
    const emu_kv *v[MAX_PARAMS];
    if (collect(S, &c->query, v, out) != 0) return;
    long size = ival(val(S, v, "PageSize"), 50), page = ival(val(S, v, "Page"), 0);
    const emu_kv *tk = val(S, v, "PageToken");
    int before = 0;
    uint64_t token = 0;
    if (tk && parse_token(tk->val, tk->vlen, &before, &token) != 0) {
        param_error(out, "PageToken", "%s", "PageToken is not a page token issued by this server");
        return;
    }
    emu_factor **items = malloc((size_t)size * sizeof *items);
    char base[512];
    snprintf(base, sizeof base, "http://%s/v2/Services/%s/Entities/%s/Factors", c->host, c->service_sid,
             c->identity);
    cJSON *j = cJSON_CreateObject(), *arr = cJSON_CreateArray(), *meta = cJSON_CreateObject();
    if (!items || !j || emu_json_add(j, "factors", arr) != 0 || emu_json_add(j, "meta", meta) != 0) {
        if (!j) {
            cJSON_Delete(arr);
            cJSON_Delete(meta);
        }
        free(items);
        cJSON_Delete(j);
        oom(out);
        return;
    }
    pthread_mutex_lock(&srv->lock);
    /* An entity without factors (never created) lists as empty, not 404. */
    emu_entity *e = emu_store_entity(&srv->store, c->service_sid, c->identity);
    int has_prev = 0, has_next = 0, ok = 1;
    size_t got = e ? emu_entity_page(e, before, token, (size_t)size, items, &has_prev, &has_next) : 0;
    for (size_t i = 0; i < got && ok; i++)
        ok = emu_json_add(arr, NULL, emu_render_factor(items[i], srv->cfg.account_sid, c->host, NULL)) == 0;
    uint64_t prev_seq = got ? items[0]->seq : token + 1;
    uint64_t next_seq = got ? items[got - 1]->seq : (token ? token - 1 : 0);
    pthread_mutex_unlock(&srv->lock);
    free(items);
    const char *tok = tk ? tk->val : NULL;
    ok = ok && cJSON_AddNumberToObject(meta, "page", (double)page) &&
         cJSON_AddNumberToObject(meta, "page_size", (double)size) &&
         add_url(meta, "first_page_url", base, size, 0, NULL, 0, 0) == 0 &&
         (has_prev ? add_url(meta, "previous_page_url", base, size, page > 0 ? page - 1 : 0, NULL, 'B', prev_seq) == 0
                   : cJSON_AddNullToObject(meta, "previous_page_url") != NULL) &&
         add_url(meta, "url", base, size, page, tok, 0, 0) == 0;
    if (ok && next_url) ok = cJSON_AddStringToObject(meta, "next_page_url", next_url) != NULL;
    else if (ok && has_next) ok = add_url(meta, "next_page_url", base, size, page + 1, NULL, 'A', next_seq) == 0;
    else if (ok) ok = cJSON_AddNullToObject(meta, "next_page_url") != NULL;
    ok = ok && cJSON_AddStringToObject(meta, "key", "factors");
    if (!ok) {
        cJSON_Delete(j);
        oom(out);
        return;
    }
    emu_response_json(out, 200, j);
}

/* ----------------------------------------------------------- entry */

void emu_api_handle(emu_server *srv, const emu_call *c, int commit, const char *next_url, emu_response *out) {
    if (!authenticated(srv, c->authorization)) {
        emu_response_error(out, 401, 20003, "Authenticate", NULL);
        emu_response_header(out, "WWW-Authenticate", "Basic realm=\"Twilio API\"");
        return;
    }
    if (c->too_big) {
        emu_response_error(out, 413, 20413, "Request body too large", NULL);
        return;
    }
    if (c->route == EMU_ROUTE_NONE) {
        not_found(out, c);
        return;
    }
    if (c->op == EMU_OP_OTHER) {
        char msg[96];
        snprintf(msg, sizeof msg, "Method %.16s not allowed on this resource", c->method);
        emu_response_error(out, 405, 20004, msg, NULL);
        emu_response_header(out, "Allow", c->route == EMU_ROUTE_LIST ? "GET, POST" : "GET, POST, DELETE");
        return;
    }
    if (c->bad_escape) {
        emu_response_error(out, 400, 60200, "Invalid percent-encoding in the request path", NULL);
        return;
    }
    tv_error err = TV_ERROR_INIT;
    const char *bad_key = NULL;
    if (tv_check_service_sid(c->service_sid, c->service_len, &err) != 0) bad_key = "ServiceSid";
    else if (tv_check_identity(c->identity, c->identity_len, &err) != 0) bad_key = "Identity";
    else if (c->route == EMU_ROUTE_INSTANCE && tv_check_factor_sid(c->sid, c->sid_len, &err) != 0)
        bad_key = "Sid";
    if (bad_key) {
        param_error(out, bad_key, "%s", err.message);
        tv_error_clear(&err);
        return;
    }
    if (c->bad_query) {
        emu_response_error(out, 400, 60200, "Invalid percent-encoding in the query string", NULL);
        return;
    }
    if (c->op != EMU_OP_LIST && c->query.n > 0) {
        param_error(out, c->query.items[0].key, "unknown query parameter %s", c->query.items[0].key);
        return;
    }
    if (c->op == EMU_OP_CREATE || c->op == EMU_OP_UPDATE) {
        if (!c->form_type_ok) {
            emu_response_error(out, 400, 60200,
                               "Content-Type must be application/x-www-form-urlencoded", NULL);
            return;
        }
        if (c->bad_form) {
            emu_response_error(out, 400, 60200, "Invalid percent-encoding in the form body", NULL);
            return;
        }
    }
    switch (c->op) {
    case EMU_OP_CREATE: op_create(srv, c, commit, out); break;
    case EMU_OP_FETCH: op_fetch(srv, c, out); break;
    case EMU_OP_UPDATE: op_update(srv, c, commit, out); break;
    case EMU_OP_DELETE: op_delete(srv, c, commit, out); break;
    case EMU_OP_LIST: op_list(srv, c, next_url, out); break;
    default: not_found(out, c); break;
    }
}
