/*
 * push.c -- the device side of Verify Push in the emulator (doc/push.md):
 * enrolment access tokens, device authentication (access token for factor
 * creation, a device-signed ES256 JWT afterwards), binding public keys,
 * factor verification and challenge approval by signature.  Every ECDSA
 * signature is verified with OpenSSL (tv_ec / tv_jwt, the core's code).
 *
 * Locking as in api.c: handlers take srv->lock themselves; the helpers
 * called from api.c / resources.c document whether it is held.
 */
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emu.h"
#include "tv_ec.h"
#include "tv_jwt.h"
#include "tv_ops.h"

/* ------------------------------------------------------ access tokens */

static cJSON *render_token(const emu_access_token *t, const char *account_sid, const char *host) {
    char url[512], created[21];
    const char *vals[] = {t->service_sid, t->sid};
    if (emu_row_url(url, sizeof url, host, "fetch_access_token", vals) != 0) return NULL;
    emu_iso8601(t->created, created);
    cJSON *j = cJSON_CreateObject();
    int ok = j && cJSON_AddStringToObject(j, "sid", t->sid) && cJSON_AddStringToObject(j, "account_sid", account_sid) &&
             cJSON_AddStringToObject(j, "service_sid", t->service_sid) &&
             cJSON_AddStringToObject(j, "entity_identity", t->identity) &&
             cJSON_AddStringToObject(j, "factor_type", "push") &&
             (t->friendly_name ? cJSON_AddStringToObject(j, "factor_friendly_name", t->friendly_name) != NULL
                               : cJSON_AddNullToObject(j, "factor_friendly_name") != NULL) &&
             cJSON_AddStringToObject(j, "token", t->token) && cJSON_AddStringToObject(j, "url", url) &&
             cJSON_AddNumberToObject(j, "ttl", t->ttl) && cJSON_AddStringToObject(j, "date_created", created);
    if (!ok) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

/* The token: an HS256 JWS keyed with the account's auth token, laid out as
 * Twilio's IAM access tokens (header cty "twilio-fpa;v=1"; jti, iss, sub,
 * iat, nbf, exp, grants).  Twilio's own Verify token is an encrypted JWE
 * that clients treat as opaque; so does the device. */
static char *mint(const emu_server *srv, const emu_access_token *t) {
    cJSON *p = cJSON_CreateObject(), *g = NULL, *v = NULL;
    char *payload = NULL, *jwt = NULL;
    char jti[64];
    snprintf(jti, sizeof jti, "%s-%lld", t->sid, (long long)t->created);
    int ok = p && cJSON_AddStringToObject(p, "jti", jti) && cJSON_AddStringToObject(p, "iss", srv->cfg.account_sid) &&
             cJSON_AddStringToObject(p, "sub", srv->cfg.account_sid) &&
             cJSON_AddNumberToObject(p, "iat", (double)t->created) &&
             cJSON_AddNumberToObject(p, "nbf", (double)t->created) &&
             cJSON_AddNumberToObject(p, "exp", (double)(t->created + t->ttl)) &&
             (g = cJSON_AddObjectToObject(p, "grants")) && cJSON_AddStringToObject(g, "identity", t->identity) &&
             (v = cJSON_AddObjectToObject(g, "verify")) && cJSON_AddStringToObject(v, "sid", t->sid) &&
             cJSON_AddStringToObject(v, "service_sid", t->service_sid) &&
             cJSON_AddStringToObject(v, "entity_identity", t->identity) &&
             cJSON_AddStringToObject(v, "factor_type", "push") &&
             (!t->friendly_name || cJSON_AddStringToObject(v, "factor_friendly_name", t->friendly_name));
    if (ok && (payload = cJSON_PrintUnformatted(p))) {
        tv_error err = TV_ERROR_INIT;
        const char *tok = srv->cfg.auth_token;
        jwt = tv_jwt_sign_hs256((const unsigned char *)tok, strlen(tok),
                                "{\"typ\":\"JWT\",\"alg\":\"HS256\",\"cty\":\"twilio-fpa;v=1\"}", payload, &err);
        tv_error_clear(&err);
    }
    free(payload);
    cJSON_Delete(p);
    return jwt;
}

void emu_h_create_access_token(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    const emu_call *c = x->c;
    const emu_kv *id = emu_val(x, "Identity"), *fn = emu_val(x, "FactorFriendlyName"), *ttl = emu_val(x, "Ttl");
    emu_access_token *t = calloc(1, sizeof *t);
    if (!t) {
        emu_oom(out);
        return;
    }
    t->ttl = emu_ival(ttl, 60);
    if (t->ttl < 60 || t->ttl > 300) {
        emu_param_error(out, "Ttl", "%s", "Ttl must be an integer between 60 and 300");
        emu_access_token_free(t);
        return;
    }
    snprintf(t->service_sid, sizeof t->service_sid, "%s", c->service_sid);
    if (!(t->identity = emu_strdup(id->val)) || (fn && !(t->friendly_name = emu_strdup(fn->val))) ||
        emu_random_sid("YK", t->sid, 16) != 0) {
        emu_access_token_free(t);
        emu_oom(out);
        return;
    }
    pthread_mutex_lock(&srv->lock);
    t->created = emu_now(srv);
    cJSON *j = NULL;
    if ((t->token = mint(srv, t)) && (j = render_token(t, srv->cfg.account_sid, c->host))) {
        if (x->commit) {
            if (emu_map_put(&srv->store.access_tokens, t->sid, t) == 0) {
                t = NULL;
                emu_note_applied(srv, c);
            } else {
                cJSON_Delete(j);
                j = NULL;
            }
        }
    }
    pthread_mutex_unlock(&srv->lock);
    emu_access_token_free(t);
    if (!j) emu_oom(out);
    else emu_response_json(out, 201, j);
}

void emu_h_fetch_access_token(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    pthread_mutex_lock(&srv->lock);
    emu_access_token *t = emu_map_get(&srv->store.access_tokens, x->c->sid);
    if (t && strcmp(t->service_sid, x->c->service_sid) != 0) t = NULL;
    cJSON *j = t ? render_token(t, srv->cfg.account_sid, x->c->host) : NULL;
    pthread_mutex_unlock(&srv->lock);
    emu_answer(x, out, t != NULL, 200, j);
}

/* ---------------------------------------------------- binding keys */

int emu_push_check_key(const emu_kv *pk, emu_response *out) {
    tv_error err = TV_ERROR_INIT;
    tv_ec_key *k = tv_ec_public_import_b64(pk->val, pk->vlen, &err);
    int nomem = !k && err.kind == TV_ENOMEM;
    tv_error_clear(&err);
    if (k) {
        tv_ec_free(k);
        return 0;
    }
    if (nomem) emu_oom(out);
    else
        emu_response_error(out, 400, 60306,
                           "Invalid Binding.PublicKey: not the base64 of a DER SubjectPublicKeyInfo of a P-256 key",
                           NULL);
    return -1;
}

/* The factor's key; NULL when it has none usable. */
static tv_ec_key *factor_key(const emu_factor *f) {
    if (!f->public_key) return NULL;
    tv_error err = TV_ERROR_INIT;
    tv_ec_key *k = tv_ec_public_import_b64(f->public_key, strlen(f->public_key), &err);
    tv_error_clear(&err);
    return k;
}

int emu_push_verify_factor(const emu_factor *f, const emu_kv *payload) {
    tv_ec_key *k = factor_key(f);
    if (!k) return 0;
    tv_error err = TV_ERROR_INIT;
    unsigned char *sig = NULL;
    size_t n = 0;
    int ok = 0;
    if (tv_b64_decode(payload->val, payload->vlen, 0, &sig, &n, &err) == 0)
        ok = tv_ec_verify_der(k, f->sid, strlen(f->sid), sig, n, &err) == 1;
    tv_error_clear(&err);
    free(sig);
    tv_ec_free(k);
    return ok;
}

/* --------------------------------------------------- challenge payload */

const char *const emu_push_signature_fields =
    "sid,account_sid,service_sid,entity_sid,identity,factor_sid,date_created,expiration_date,details,hidden_details";

int emu_push_challenge_payload(const emu_server *srv, const emu_challenge *ch, const emu_factor *f,
                               const emu_kv *payload, const char *host, int64_t now) {
    tv_jwt j;
    tv_error err = TV_ERROR_INIT;
    if (tv_jwt_parse(payload->val, payload->vlen, &j, &err) != 0) {
        tv_error_clear(&err);
        return -1;
    }
    int result = -1;
    tv_ec_key *k = factor_key(f);
    cJSON *cur = NULL;
    if (!k || tv_jwt_verify_es256(&j, k, &err) != 1) goto done;
    /* every named field, as the challenge is now */
    if (!(cur = emu_render_challenge(ch, srv->cfg.account_sid, host, now))) goto done;
    char fields[256];
    snprintf(fields, sizeof fields, "%s", emu_push_signature_fields);
    char *save = NULL;
    for (char *name = strtok_r(fields, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        const cJSON *want = cJSON_GetObjectItemCaseSensitive(cur, name);
        const cJSON *got = cJSON_GetObjectItemCaseSensitive(j.payload, name);
        if (!got || !want || !cJSON_Compare(want, got, 1)) goto done;
    }
    const char *st = tv_jwt_str(j.payload, "status");
    if (st && strcmp(st, "approved") == 0) result = EMU_CH_APPROVED;
    else if (st && strcmp(st, "denied") == 0) result = EMU_CH_DENIED;
done:
    tv_error_clear(&err);
    cJSON_Delete(cur);
    tv_ec_free(k);
    tv_jwt_free(&j);
    return result;
}

/* ------------------------------------------------ device authentication */

/* Decode "Basic base64(token:<jwt>)": the JWT into a malloc'd *jwt.
 * 1: not a device credential, 0: got it, -1: OOM. */
static int device_credential(const char *h, char **jwt, size_t *len) {
    *jwt = NULL;
    if (!h) return 1;
    while (*h == ' ') h++;
    if (strncasecmp(h, "Basic ", 6) != 0) return 1;
    h += 6;
    while (*h == ' ') h++;
    size_t n = strlen(h);
    while (n > 0 && h[n - 1] == ' ') n--;
    unsigned char *plain = NULL;
    size_t plen = 0;
    tv_error err = TV_ERROR_INIT;
    if (n > 4 * TV_JWT_MAX || tv_b64_decode(h, n, 0, &plain, &plen, &err) != 0) {
        int nomem = err.kind == TV_ENOMEM;
        tv_error_clear(&err);
        return nomem ? -1 : 1;
    }
    if (plen < 6 || memcmp(plain, "token:", 6) != 0) {
        tv_secret_free(plain, plen);
        return 1;
    }
    memmove(plain, plain + 6, plen - 6 + 1);
    *jwt = (char *)plain;
    *len = plen - 6;
    return 0;
}

static int deny(emu_response *out, const char *why) {
    char msg[160];
    snprintf(msg, sizeof msg, "Authenticate: %s", why);
    emu_response_error(out, 401, 20003, msg, NULL);
    emu_response_header(out, "WWW-Authenticate", "Basic realm=\"Twilio API\"");
    return -1;
}

static int same(const char *a, const char *b, size_t blen) {
    return a && b && strlen(a) == blen && memcmp(a, b, blen) == 0;
}

/* create_factor with an enrolment access token (lock NOT held).  The token
 * may be used more than once while it lives: Twilio documents a lifetime
 * ("How long, in seconds, the access token is valid. Can be an integer
 * between 60 and 300. Default is 60.": CreateAccessToken's Ttl in the
 * vendored spec/fixtures/twilio_verify_v2.json and
 * https://www.twilio.com/docs/verify/api/access-token), not a single use,
 * so the emulator does not invent one; the short TTL is the bound.  Its
 * exp is the emulator's own (HS256 with the auth token), so it cannot be
 * stretched. */
static int access_token_auth(emu_server *srv, const emu_call *c, const tv_jwt *j, emu_response *out) {
    tv_error err = TV_ERROR_INIT;
    const char *tok = srv->cfg.auth_token;
    int v = tv_jwt_verify_hs256(j, (const unsigned char *)tok, strlen(tok), &err);
    tv_error_clear(&err);
    if (v != 1) return deny(out, "the access token's signature is invalid");
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(j->payload, "grants");
    const cJSON *vg = cJSON_GetObjectItemCaseSensitive(g, "verify");
    const char *sid = tv_jwt_str(vg, "sid");
    long long exp = 0;
    if (!sid || tv_jwt_time(j->payload, "exp", &exp) != 0) return deny(out, "not a Verify access token");
    for (size_t i = 0; i < c->form.n; i++)
        if (strcmp(c->form.items[i].key, "FactorType") == 0 && strcmp(c->form.items[i].val, "push") != 0)
            return deny(out, "an access token only creates push factors");
    pthread_mutex_lock(&srv->lock);
    int64_t now = emu_now(srv);
    const emu_access_token *t = emu_map_get(&srv->store.access_tokens, sid);
    int known = t != NULL, scope = t && same(t->service_sid, c->service_sid, c->service_len) &&
                                       same(t->identity, c->identity, c->identity_len);
    pthread_mutex_unlock(&srv->lock);
    if (!known) return deny(out, "unknown access token");
    if (exp <= now) return deny(out, "the access token has expired");
    if (!scope) return deny(out, "the access token is for another service or identity");
    return 0;
}

/* Every other device call: the JWT signed with the factor's key (lock NOT held). */
static int factor_jwt_auth(emu_server *srv, const emu_call *c, const tv_jwt *j, emu_response *out) {
    const char *kid = tv_jwt_str(j->header, "kid"), *cty = tv_jwt_str(j->header, "cty");
    const char *sub = tv_jwt_str(j->payload, "sub");
    long long exp = 0, nbf = 0;
    if (!kid || strlen(kid) != 34 || strncmp(kid, "CR", 2) != 0) return deny(out, "the JWT has no credential kid");
    if (!cty || strcmp(cty, "twilio-pba;v=1") != 0) return deny(out, "the JWT's cty is not twilio-pba;v=1");
    if (tv_jwt_time(j->payload, "exp", &exp) != 0) return deny(out, "the JWT has no exp");
    char fsid[35];
    snprintf(fsid, sizeof fsid, "YF%s", kid + 2);
    const char *name = c->row->name;
    pthread_mutex_lock(&srv->lock);
    int64_t now = emu_now(srv);
    emu_factor *f = emu_store_factor(&srv->store, fsid);
    char *pk = f && f->type == EMU_PUSH && f->public_key ? emu_strdup(f->public_key) : NULL;
    int scope = f && same(f->entity->service_sid, c->service_sid, c->service_len) &&
                same(f->entity->identity, c->identity, c->identity_len);
    if (scope && strstr(name, "_factor")) scope = same(f->sid, c->sid, c->sid_len);
    if (scope && c->sid && strstr(name, "_challenge")) {
        char sid[35];
        snprintf(sid, sizeof sid, "%.*s", (int)c->sid_len, c->sid);
        const emu_challenge *ch = emu_store_challenge(&srv->store, sid);
        scope = !ch || strcmp(ch->factor_sid, f->sid) == 0; /* unknown: the handler's 404 */
    }
    pthread_mutex_unlock(&srv->lock);
    if (!pk) return deny(out, "no push factor has this credential");
    tv_error err = TV_ERROR_INIT;
    tv_ec_key *k = tv_ec_public_import_b64(pk, strlen(pk), &err);
    free(pk);
    int v = k ? tv_jwt_verify_es256(j, k, &err) : 0;
    tv_error_clear(&err);
    tv_ec_free(k);
    if (v != 1) return deny(out, "the JWT's signature does not verify with the factor's key");
    if (!sub || strcmp(sub, srv->cfg.account_sid) != 0) return deny(out, "the JWT's sub is not the account");
    if (exp <= now) return deny(out, "the JWT has expired");
    int has_nbf = tv_jwt_time(j->payload, "nbf", &nbf) == 0;
    if (has_nbf && nbf > now + EMU_JWT_LEEWAY) return deny(out, "the JWT is not valid yet");
    /* no longer-lived than the SDKs make it (EMU_JWT_MAX_TTL): a leaked
     * JWT is good for 10 minutes, not for ever */
    if (exp > now + EMU_JWT_MAX_TTL + EMU_JWT_LEEWAY || (has_nbf && exp - nbf > EMU_JWT_MAX_TTL))
        return deny(out, "the JWT lives longer than the 10 minutes the Verify SDKs give it (exp - nbf <= 600)");
    if (!scope) return deny(out, "the factor may not act on this resource");
    return 0;
}

int emu_push_authenticate(emu_server *srv, const emu_call *c, emu_response *out) {
    char *jwt = NULL;
    size_t len = 0;
    int r = device_credential(c->authorization, &jwt, &len);
    if (r == 1) return 1;
    if (r < 0) {
        emu_oom(out);
        return -1;
    }
    tv_jwt j;
    tv_error err = TV_ERROR_INIT;
    int rc;
    if (tv_jwt_parse(jwt, len, &j, &err) != 0) {
        rc = err.kind == TV_ENOMEM ? (emu_oom(out), -1) : deny(out, "the token is not a JWT");
    } else if (c->route != EMU_ROUTE_MATCH) {
        rc = deny(out, "a device credential cannot call this operation"); /* nothing verified it */
    } else if (c->row->flags & TV_OPF_DEVICE_TOKEN) { /* the operation table says which (`device`) */
        rc = access_token_auth(srv, c, &j, out);
    } else if (c->row->flags & TV_OPF_DEVICE_JWT) {
        rc = factor_jwt_auth(srv, c, &j, out);
    } else {
        rc = deny(out, "a device credential cannot call this operation");
    }
    tv_error_clear(&err);
    tv_jwt_free(&j);
    tv_secret_free((unsigned char *)jwt, len);
    return rc;
}
