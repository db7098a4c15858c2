/*
 * passkeys.c -- the Passkeys operations (CreateNewFactorPasskey,
 * UpdatePasskeysFactor = VerifyFactor, CreateChallengePasskeys,
 * UpdateChallengePasskeys = ApproveChallenge): a passkey is a factor
 * (factor_type "passkeys", fetched, listed and deleted like the others)
 * whose credential a WebAuthn registration binds and whose sign-ins are
 * WebAuthn assertions.  The bodies are JSON, already checked against the
 * description by the oracle; the WebAuthn checks are webauthn.c's, applied
 * here in the order of the relying party's steps (W3C Web Authentication
 * Level 2, 7.1 "Registering a New Credential" and 7.2 "Verifying an
 * Authentication Assertion"), each refusal answered with Twilio's error for
 * it and nothing changed.  Sources of the codes (Twilio's error pages,
 * https://www.twilio.com/docs/api/errors/NNNNN): 60371 relying party invalid
 * or not provided, 60372 relying party id invalid, 60376 invalid rawId,
 * 60379 authenticator data invalid, 60380 client data invalid, 60381
 * signature invalid, 60382 factor does not match the relying party, 60386
 * attestation object invalid, 60391 challenge not found, 60393 authenticator
 * criteria missing, 60394 service passkeys configuration missing, 60420
 * invalid contact id (userHandle), 60318 factor unverified, 60322 challenge
 * already responded, 60323 challenge expired, 60317 duplicate binding.
 * The shapes of the answers and options: the description's examples
 * (createPasskeys, verifyPasskeys, createChallengeResponse,
 * approvedChallengeResponse) and twilio-verify-passkeys-web (its mappers
 * read options.publicKey and send base64url ids).
 */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "tv_validate.h"

#define PK_TIMEOUT 600       /* seconds: options.timeout 600000 ms (the description's examples) */
#define PK_SWEEP_AT 4096     /* issued challenges kept before the spent and expired ones are dropped */

/* ------------------------------------------------------------ helpers */

static const char *jstr(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void fail(emu_response *out, int status, long code, const char *title, const char *why) {
    char msg[600];
    snprintf(msg, sizeof msg, "%s%s%s", title, why && *why ? ": " : "", why ? why : "");
    emu_response_error(out, status, code, msg, NULL);
}

static cJSON *body_json(const emu_ctx *x, emu_response *out) {
    cJSON *j = x->c->body ? cJSON_ParseWithLength(x->c->body, x->c->body_len) : cJSON_CreateObject();
    if (!j) emu_oom(out); /* the oracle accepted it as a JSON object */
    return j;
}

/* a fresh WebAuthn challenge: 32 random bytes (at least 16: WebAuthn L2 13.4.3), base64url */
static int new_challenge(char out[48]) {
    unsigned char b[32];
    if (RAND_bytes(b, sizeof b) != 1) return -1;
    char *s = emu_b64url_encode(b, sizeof b);
    if (!s) return -1;
    snprintf(out, 48, "%s", s);
    free(s);
    return 0;
}

/* Drop the spent and expired challenges once many are kept (lock held). */
static void sweep(emu_store *st, int64_t now) {
    if (st->pk_challenges.count < PK_SWEEP_AT) return;
    for (size_t b = 0; b < st->pk_challenges.nbuckets; b++) {
        emu_map_node *nd = st->pk_challenges.buckets[b];
        while (nd) {
            emu_map_node *next = nd->next;
            emu_pk_challenge *pc = nd->val;
            if (pc->used || now > pc->expires) free(emu_map_remove(&st->pk_challenges, nd->key));
            nd = next;
        }
    }
}

static int remember(emu_store *st, const char *challenge, emu_pk_challenge *pc) {
    if (emu_map_put(&st->pk_challenges, challenge, pc) != 0) {
        free(pc);
        return -1;
    }
    return 0;
}

/* The service's passkeys settings (lock held): copies, "" when not set. */
typedef struct svc_pk {
    char rp_id[256], rp_name[256], origins[4096], attachment[16], discoverable[16], uv[16];
} svc_pk;

static void service_pk(emu_server *srv, const char *sid, svc_pk *p) {
    memset(p, 0, sizeof *p);
    const emu_service *svc = emu_store_service(&srv->store, sid);
    if (!svc || !svc->created) return;
    const char *v;
#define COPY(field, key)                                                                                      \
    if ((v = emu_service_val(svc, key))) snprintf(p->field, sizeof p->field, "%s", v);
    COPY(rp_id, "Passkeys.RelyingParty.Id")
    COPY(rp_name, "Passkeys.RelyingParty.Name")
    COPY(origins, "Passkeys.RelyingParty.Origins")
    COPY(attachment, "Passkeys.AuthenticatorAttachment")
    COPY(discoverable, "Passkeys.DiscoverableCredentials")
    COPY(uv, "Passkeys.UserVerification")
#undef COPY
}

/* An RP ID is a domain (WebAuthn L2 5.4.2, 13.4.7 "Relying Party ID"): no
 * scheme, port, path or spaces (Twilio 60372: "without a scheme or port"). */
static int rp_id_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 253) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
            return 0;
    }
    return s[0] != '.' && s[n - 1] != '.';
}

/* An origin: scheme "://" host [":" port], nothing after (RFC 6454). */
static int origin_ok(const char *s) {
    const char *p = strstr(s, "://");
    if (!p || p == s || strlen(s) > 2048) return 0;
    p += 3;
    if (!*p || strchr(p, '/') || strchr(p, '?') || strchr(p, '#') || strchr(p, '@') || strchr(p, ' ')) return 0;
    return 1;
}

static int origin_allowed(const cJSON *origins, const char *origin) {
    const cJSON *o;
    cJSON_ArrayForEach(o, origins) if (cJSON_IsString(o) && strcmp(o->valuestring, origin) == 0) return 1;
    return 0;
}

/* ---------------------------------------------------------- the factor */

static cJSON *creation_options(const emu_factor *f, const emu_entity *e, const char *user_id) {
    const emu_passkey *pk = f->pk;
    cJSON *o = cJSON_CreateObject(), *k = cJSON_CreateObject(), *rp = cJSON_CreateObject(),
          *user = cJSON_CreateObject(), *params = cJSON_CreateArray(), *param = cJSON_CreateObject(),
          *excl = cJSON_CreateArray(), *sel = cJSON_CreateObject();
    int ok = o && k && rp && user && params && param && excl && sel;
    if (ok) ok = emu_json_add(o, "publicKey", k) == 0;
    else cJSON_Delete(k);
    k = ok ? k : NULL;
    ok = ok && cJSON_AddStringToObject(rp, "id", pk->rp_id) && cJSON_AddStringToObject(rp, "name", pk->rp_name);
    ok = ok && emu_json_add(k, "rp", rp) == 0;
    rp = NULL;
    /* user.id: the base64url of the entity SID (ApproveChallenge's userHandle "should contain a
     * base64url-encoded entity SID"); name and displayName: the friendly name (createPasskeys) */
    ok = ok && cJSON_AddStringToObject(user, "id", user_id) &&
         cJSON_AddStringToObject(user, "name", f->friendly_name) &&
         cJSON_AddStringToObject(user, "displayName", f->friendly_name);
    ok = ok && emu_json_add(k, "user", user) == 0;
    user = NULL;
    ok = ok && cJSON_AddStringToObject(k, "challenge", pk->reg_challenge);
    /* a sequence of PublicKeyCredentialParameters (WebAuthn L2 5.4): ES256 only */
    ok = ok && cJSON_AddStringToObject(param, "type", "public-key") && cJSON_AddNumberToObject(param, "alg", -7);
    ok = ok && emu_json_add(params, NULL, param) == 0;
    param = NULL;
    ok = ok && emu_json_add(k, "pubKeyCredParams", params) == 0;
    params = NULL;
    ok = ok && cJSON_AddNumberToObject(k, "timeout", PK_TIMEOUT * 1000.0);
    /* the entity's registered credentials: not again on the same authenticator (5.4.3 excludeCredentials) */
    for (size_t i = 0; ok && i < e->factors.n; i++) {
        const emu_factor *g = e->factors.items[i].p;
        if (!g || g->type != EMU_PASSKEYS || !g->pk || !g->pk->cred_id) continue;
        char *id = emu_b64url_encode(g->pk->cred_id, g->pk->cred_len);
        cJSON *d = cJSON_CreateObject();
        ok = id && d && cJSON_AddStringToObject(d, "type", "public-key") && cJSON_AddStringToObject(d, "id", id);
        free(id);
        ok = ok ? emu_json_add(excl, NULL, d) == 0 : (cJSON_Delete(d), 0);
    }
    ok = ok && emu_json_add(k, "excludeCredentials", excl) == 0;
    excl = NULL;
    if (ok && strcmp(pk->attachment, "any") != 0)
        ok = cJSON_AddStringToObject(sel, "authenticatorAttachment", pk->attachment) != NULL;
    ok = ok && cJSON_AddBoolToObject(sel, "requireResidentKey", strcmp(pk->discoverable, "required") == 0) &&
         cJSON_AddStringToObject(sel, "residentKey", pk->discoverable) &&
         cJSON_AddStringToObject(sel, "userVerification", pk->uv);
    ok = ok && emu_json_add(k, "authenticatorSelection", sel) == 0;
    sel = NULL;
    ok = ok && cJSON_AddStringToObject(k, "attestation", "none");
    cJSON_Delete(rp);
    cJSON_Delete(user);
    cJSON_Delete(param);
    cJSON_Delete(params);
    cJSON_Delete(excl);
    cJSON_Delete(sel);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* The factor's config from the request's `config`, member by member, else
 * from the service's passkeys settings (Twilio 60393: "Verify takes them
 * from the config object of the request or, when the request has no config,
 * from the passkeys settings of the Verify Service"; per member is the
 * emulator's reading).  0, or -1 with out set. */
static int factor_config(emu_passkey *pk, const cJSON *config, const svc_pk *s, emu_response *out) {
    const cJSON *rp = cJSON_GetObjectItemCaseSensitive(config, "relying_party");
    const char *id = jstr(rp, "id"), *name = jstr(rp, "name");
    const cJSON *origins = cJSON_GetObjectItemCaseSensitive(rp, "origins");
    if (!id && s->rp_id[0]) id = s->rp_id;
    if (!id) {
        fail(out, 400, 60371, "Relying party invalid or not provided",
             "config.relying_party.id is missing and the service has no Passkeys.RelyingParty.Id");
        return -1;
    }
    if (!rp_id_ok(id)) {
        fail(out, 400, 60372, "Relying party id invalid or not provided",
             "the relying party id is a domain, without a scheme, port or path");
        return -1;
    }
    if (!name) name = s->rp_name[0] ? s->rp_name : id;
    if (!(pk->rp_id = emu_strdup(id)) || !(pk->rp_name = emu_strdup(name))) goto oom;
    if (cJSON_IsArray(origins)) {
        if (!(pk->origins = cJSON_Duplicate(origins, 1))) goto oom;
    } else {
        if (!(pk->origins = cJSON_CreateArray())) goto oom;
        char buf[sizeof s->origins];
        snprintf(buf, sizeof buf, "%s", s->origins);
        char *save = NULL; /* strtok_r: the emulator answers on several threads */
        for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            while (*tok == ' ') tok++;
            if (*tok && emu_json_add(pk->origins, NULL, cJSON_CreateString(tok)) != 0) goto oom;
        }
    }
    if (cJSON_GetArraySize(pk->origins) == 0) {
        fail(out, 400, 60371, "Relying party invalid or not provided",
             "no relying party origins (config.relying_party.origins or Passkeys.RelyingParty.Origins)");
        return -1;
    }
    const cJSON *o;
    cJSON_ArrayForEach(o, pk->origins) if (!cJSON_IsString(o) || !origin_ok(o->valuestring)) {
        fail(out, 400, 60371, "Relying party invalid or not provided",
             "a relying party origin is not scheme://host[:port]");
        return -1;
    }
    struct {
        const char *key;
        const char *svc;
        char *dst;
    } crit[] = {{"authenticator_attachment", s->attachment, pk->attachment},
                {"discoverable_credentials", s->discoverable, pk->discoverable},
                {"user_verification", s->uv, pk->uv}};
    char missing[128] = "";
    for (size_t i = 0; i < 3; i++) {
        const char *v = jstr(config, crit[i].key);
        if (!v && crit[i].svc[0]) v = crit[i].svc;
        if (!v) {
            size_t l = strlen(missing);
            snprintf(missing + l, sizeof missing - l, "%s%s", l ? ", " : "", crit[i].key);
        } else {
            snprintf(crit[i].dst, 16, "%s", v);
        }
    }
    if (missing[0]) {
        fail(out, 400, 60393, "Authenticator criteria are missing from the request", missing);
        return -1;
    }
    return 0;
oom:
    emu_oom(out);
    return -1;
}

void emu_h_create_passkey_factor(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    const emu_call *c = x->c;
    cJSON *body = body_json(x, out);
    if (!body) return;
    emu_factor *f = NULL;
    const char *name = jstr(body, "friendly_name"), *identity = jstr(body, "identity");
    tv_error err = TV_ERROR_INIT;
    if (!identity || tv_check_identity(identity, strlen(identity), &err) != 0) {
        tv_error_clear(&err);
        emu_param_error(out, "identity", "%s", "identity must be 8 to 64 dash-separated alphanumerics");
        goto done;
    }
    if (!name || !*name || tv_check_text("friendly_name", name, strlen(name), &err) < 0 || strlen(name) > 255) {
        tv_error_clear(&err);
        emu_param_error(out, "friendly_name", "%s", "friendly_name must be 1 to 64 characters of text");
        goto done;
    }
    if (!(f = emu_factor_new()) || !(f->pk = calloc(1, sizeof *f->pk)) || !(f->friendly_name = emu_strdup(name))) {
        emu_oom(out);
        goto done;
    }
    f->type = EMU_PASSKEYS;
    if (new_challenge(f->pk->reg_challenge) != 0) {
        emu_oom(out);
        goto done;
    }
    pthread_mutex_lock(&srv->lock);
    svc_pk s;
    service_pk(srv, c->service_sid, &s);
    if (factor_config(f->pk, cJSON_GetObjectItemCaseSensitive(body, "config"), &s, out) != 0) {
        pthread_mutex_unlock(&srv->lock);
        goto done;
    }
    int64_t now = emu_now(srv);
    emu_entity tmp, *e = emu_store_entity(&srv->store, c->service_sid, identity);
    if (!e && x->commit) e = emu_store_entity_get_or_create(&srv->store, c->service_sid, identity, now);
    if (!e && !x->commit) {
        memset(&tmp, 0, sizeof tmp);
        snprintf(tmp.service_sid, sizeof tmp.service_sid, "%s", c->service_sid);
        snprintf(tmp.identity, sizeof tmp.identity, "%s", identity);
        emu_entity_sid(c->service_sid, identity, tmp.sid);
        e = &tmp;
    }
    char *uid = e ? emu_b64url_encode((const unsigned char *)e->sid, strlen(e->sid)) : NULL;
    emu_pk_challenge *pc = calloc(1, sizeof *pc);
    f->created = f->updated = now;
    cJSON *j = NULL, *opts = NULL;
    if (!uid || !pc) {
        free(pc);
        pc = NULL;
    } else if (x->commit) {
        if (emu_store_insert(&srv->store, e, f) == 0) {
            emu_factor *mine = f;
            f = NULL;
            pc->kind = EMU_PK_REG;
            snprintf(pc->service_sid, sizeof pc->service_sid, "%s", c->service_sid);
            snprintf(pc->factor_sid, sizeof pc->factor_sid, "%s", mine->sid);
            pc->created = now;
            pc->expires = now + PK_TIMEOUT;
            sweep(&srv->store, now);
            if (remember(&srv->store, mine->pk->reg_challenge, pc) == 0) {
                emu_note_applied(srv, c);
                emu_webhook_factor_event(srv, "factor.created", mine);
                opts = creation_options(mine, e, uid);
                j = opts ? emu_render_factor(mine, srv->cfg.account_sid, c->host, cJSON_CreateNull()) : NULL;
            }
            pc = NULL;
        }
    } else {
        f->entity = e;
        if (emu_random_sid("YF", f->sid, 16) == 0 && (opts = creation_options(f, e, uid)))
            j = emu_render_factor(f, srv->cfg.account_sid, c->host, cJSON_CreateNull());
    }
    free(pc);
    pthread_mutex_unlock(&srv->lock);
    free(uid);
    /* `options` only at creation, as the Passkey Factor resource says */
    if (j && opts && cJSON_ReplaceItemInObjectCaseSensitive(j, "options", opts)) opts = NULL;
    else if (j) {
        cJSON_Delete(j);
        j = NULL;
    }
    cJSON_Delete(opts);
    emu_response_json(out, 201, j);
done:
    emu_factor_free(f);
    cJSON_Delete(body);
}

/* The credential's id in bytes from `id` (base64url) and `rawId` (the same
 * bytes as base64url, as twilio-verify-passkeys-web sends it, or as hex, as
 * the description's example has it).  0, or -1 with out set (60376). */
static int credential_id(const cJSON *body, int required, unsigned char **id, size_t *len, emu_response *out) {
    const char *sid = jstr(body, "id"), *raw = jstr(body, "rawId");
    *id = NULL;
    *len = 0;
    if (!sid) {
        if (!required) return 0;
        fail(out, 400, 60376, "Invalid rawId", "the credential id is missing");
        return -1;
    }
    int rc = emu_b64url_decode(sid, strlen(sid), id, len);
    if (rc == -2) {
        emu_oom(out);
        return -1;
    }
    if (rc || *len == 0) {
        fail(out, 400, 60376, "Invalid rawId", "id is not base64url");
        return -1;
    }
    if (raw) {
        unsigned char *r = NULL;
        size_t rl = 0;
        int same = 0;
        if (emu_b64url_decode(raw, strlen(raw), &r, &rl) == 0) same = rl == *len && memcmp(r, *id, rl) == 0;
        free(r);
        if (!same && strlen(raw) == 2 * *len) {
            same = 1;
            for (size_t i = 0; same && i < *len; i++) {
                unsigned v;
                same = sscanf(raw + 2 * i, "%2x", &v) == 1 && v == (*id)[i];
            }
        }
        if (!same) {
            free(*id);
            *id = NULL;
            fail(out, 400, 60376, "Invalid rawId", "rawId is not the credential id that id encodes");
            return -1;
        }
    }
    return 0;
}

void emu_h_update_passkey_factor(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    const emu_call *c = x->c;
    cJSON *body = body_json(x, out);
    if (!body) return;
    const cJSON *resp = cJSON_GetObjectItemCaseSensitive(body, "response");
    const char *cdj = jstr(resp, "clientDataJSON"), *att = jstr(resp, "attestationObject");
    unsigned char *attb = NULL, *auth = NULL, *cid = NULL;
    size_t attl = 0, authl = 0, cidl = 0;
    char why[256] = "";
    emu_wa_client cd;
    emu_wa_auth a;
    if (!cdj) {
        fail(out, 400, 60380, "Client data invalid or not provided", "response.clientDataJSON is missing");
        goto done;
    }
    int rc = emu_wa_client_data(cdj, strlen(cdj), &cd, why, sizeof why);
    if (rc == -2) { emu_oom(out); goto done; }
    if (rc) { fail(out, 400, 60380, "Client data invalid or not provided", why); goto done; }
    if (strcmp(cd.type, "webauthn.create") != 0) { /* 7.1 step 7 */
        fail(out, 400, 60380, "Client data invalid or not provided",
             "clientDataJSON type is not webauthn.create (WebAuthn L2 7.1 step 7)");
        goto done;
    }
    if (cd.cross_origin) {
        fail(out, 400, 60380, "Client data invalid or not provided", "a cross-origin ceremony is not accepted");
        goto done;
    }
    if (!att) {
        fail(out, 400, 60386, "Attestation object invalid or not provided", "response.attestationObject is missing");
        goto done;
    }
    rc = emu_b64url_decode(att, strlen(att), &attb, &attl);
    if (rc == -2) { emu_oom(out); goto done; }
    if (rc) { fail(out, 400, 60386, "Attestation object invalid or not provided", "it is not base64url"); goto done; }
    rc = emu_wa_attestation(attb, attl, &auth, &authl, why, sizeof why);
    if (rc == -2) { emu_oom(out); goto done; }
    if (rc || emu_wa_auth_data(auth, authl, 1, &a, why, sizeof why) != 0) {
        fail(out, 400, 60386, "Attestation object invalid or not provided", why);
        goto done;
    }
    if (credential_id(body, 0, &cid, &cidl, out) != 0) goto done;
    if (cid && (cidl != a.cred_len || memcmp(cid, a.cred_id, cidl) != 0)) {
        fail(out, 400, 60376, "Invalid rawId", "id is not the credential id of the attested credential data");
        goto done;
    }

    pthread_mutex_lock(&srv->lock);
    int64_t now = emu_now(srv);
    emu_pk_challenge *pc = emu_map_get(&srv->store.pk_challenges, cd.challenge);
    emu_factor *f = pc && pc->kind == EMU_PK_REG ? emu_store_factor(&srv->store, pc->factor_sid) : NULL;
    long code = 0;
    int status = 400;
    const char *title = NULL, *because = NULL;
    char rp_hash[32];
    if (!pc || pc->kind != EMU_PK_REG || strcmp(pc->service_sid, c->service_sid) != 0) {
        /* 7.1 step 8: the challenge must be one this relying party issued */
        status = 404, code = 60391, title = "Challenge not found", because = "no passkey registration has this challenge";
    } else if (pc->used) {
        status = 403, code = 60322, title = "Challenge already responded", because = "this registration challenge was used";
    } else if (now > pc->expires) {
        status = 403, code = 60323, title = "Challenge expired", because = "the registration options timed out";
    } else if (!f || f->type != EMU_PASSKEYS || !f->pk || strcmp(f->entity->service_sid, c->service_sid) != 0) {
        status = 404, code = 20404, title = "The requested resource was not found", because = "the factor is gone";
    } else if (!origin_allowed(f->pk->origins, cd.origin)) { /* 7.1 step 9 */
        code = 60380, title = "Client data invalid or not provided",
        because = "the origin is not one of the relying party's origins (WebAuthn L2 7.1 step 9)";
    } else if (emu_wa_rp_hash(f->pk->rp_id, (unsigned char *)rp_hash), memcmp(rp_hash, a.rp_id_hash, 32) != 0) {
        code = 60382, title = "Factor does not match the relying party of the challenge",
        because = "rpIdHash is not the SHA-256 of the relying party id (WebAuthn L2 7.1 step 13)";
    } else if (!(a.flags & EMU_WA_UP)) {
        code = 60386, title = "Attestation object invalid or not provided",
        because = "the user was not present: UP is not set (WebAuthn L2 7.1 step 14)";
    } else if (strcmp(f->pk->uv, "required") == 0 && !(a.flags & EMU_WA_UV)) {
        code = 60386, title = "Attestation object invalid or not provided",
        because = "user verification is required and UV is not set (WebAuthn L2 7.1 step 15)";
    } else if (f->verified || f->pk->cred_id) {
        status = 403, code = 60322, title = "Challenge already responded", because = "the factor is already verified";
    }
    char *key = NULL;
    if (!title) {
        emu_factor probe = *f;
        emu_passkey ppk = *f->pk;
        ppk.cred_id = (unsigned char *)a.cred_id;
        ppk.cred_len = a.cred_len;
        probe.pk = &ppk;
        key = emu_binding_key(f->entity, &probe);
        if (!key) {
            pthread_mutex_unlock(&srv->lock);
            emu_oom(out);
            goto done;
        }
        if (emu_map_get(&srv->store.bindings, key)) /* 7.1 step 22: a credential registered once */
            status = 409, code = 60317, title = "A factor with this credential already exists",
            because = "the credential id is registered (WebAuthn L2 7.1 step 22)";
    }
    if (title) {
        pthread_mutex_unlock(&srv->lock);
        free(key);
        fail(out, status, code, title, because);
        goto done;
    }
    emu_factor tmp = *f;
    tmp.verified = 1;
    tmp.updated = now;
    cJSON *j = emu_render_factor(&tmp, srv->cfg.account_sid, c->host, NULL);
    if (j && x->commit) {
        unsigned char *copy = malloc(a.cred_len);
        cJSON *tr = cJSON_GetObjectItemCaseSensitive(resp, "transports");
        cJSON *trc = cJSON_IsArray(tr) ? cJSON_Duplicate(tr, 1) : NULL;
        if (!copy || (tr && cJSON_IsArray(tr) && !trc)) {
            free(copy);
            cJSON_Delete(trc);
            cJSON_Delete(j);
            j = NULL;
        } else {
            memcpy(copy, a.cred_id, a.cred_len);
            f->pk->cred_id = copy;
            f->pk->cred_len = a.cred_len;
            memcpy(f->pk->pub, a.pub, 65);
            f->pk->sign_count = a.sign_count;
            f->pk->transports = trc;
            f->verified = 1;
            f->updated = now;
            pc->used = 1;
            if (emu_store_bind(&srv->store, f, key) == 0) key = NULL;
            else key = NULL; /* freed by emu_store_bind */
            emu_note_applied(srv, c);
            emu_webhook_factor_event(srv, "factor.verified", f);
        }
    }
    pthread_mutex_unlock(&srv->lock);
    free(key);
    emu_response_json(out, 200, j);
done:
    free(attb);
    free(auth);
    free(cid);
    cJSON_Delete(body);
}

/* --------------------------------------------------------- challenges */

static int add_nullable(cJSON *j, const char *k, const char *v) {
    return v ? cJSON_AddStringToObject(j, k, v) != NULL : cJSON_AddNullToObject(j, k) != NULL;
}

/* A passkeys challenge in the shape of the description's examples
 * (createChallengeResponse, approvedChallengeResponse). */
static cJSON *render_pk_challenge(emu_server *srv, const emu_call *c, const emu_pk_challenge *pc,
                                  const emu_factor *f, int status, int64_t responded, cJSON *options,
                                  const char *path_tail) {
    char created[21], expires[21], resp[21], url[512];
    emu_iso8601(pc->created, created);
    emu_iso8601(pc->expires, expires);
    if (responded) emu_iso8601(responded, resp);
    snprintf(url, sizeof url, "http://%s/v2/Services/%s/Passkeys/%s", c->host, pc->service_sid, path_tail);
    char esid[35] = "";
    const char *ident = f ? f->entity->identity : pc->identity;
    if (f) snprintf(esid, sizeof esid, "%s", f->entity->sid);
    else if (pc->identity[0]) emu_entity_sid(pc->service_sid, pc->identity, esid);
    static const char *const names[] = {"pending", "approved", "denied", "expired"};
    cJSON *j = cJSON_CreateObject();
    int ok = j && cJSON_AddStringToObject(j, "sid", pc->sid) &&
             cJSON_AddStringToObject(j, "account_sid", srv->cfg.account_sid) &&
             cJSON_AddStringToObject(j, "service_sid", pc->service_sid) && cJSON_AddStringToObject(j, "entity_sid", esid) &&
             cJSON_AddStringToObject(j, "identity", ident) &&
             cJSON_AddStringToObject(j, "factor_sid", f ? f->sid : pc->factor_sid) &&
             cJSON_AddStringToObject(j, "factor_type", "passkeys") &&
             cJSON_AddStringToObject(j, "status", names[status]) && cJSON_AddStringToObject(j, "date_created", created) &&
             cJSON_AddStringToObject(j, "date_updated", responded ? resp : created) &&
             add_nullable(j, "date_responded", responded ? resp : NULL) && cJSON_AddNullToObject(j, "details") &&
             cJSON_AddStringToObject(j, "expiration_date", expires) && cJSON_AddNullToObject(j, "hidden_details") &&
             cJSON_AddNullToObject(j, "links") && cJSON_AddNullToObject(j, "metadata") &&
             cJSON_AddStringToObject(j, "responded_reason", "none") && cJSON_AddStringToObject(j, "url", url);
    if (ok) {
        ok = emu_json_add(j, "options", options ? options : cJSON_CreateNull()) == 0;
        options = NULL;
    }
    cJSON_Delete(options);
    if (!ok) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

static int add_allowed(cJSON *allow, const emu_factor *g) {
    if (!g || g->type != EMU_PASSKEYS || !g->verified || !g->pk || !g->pk->cred_id) return 0;
    char *id = emu_b64url_encode(g->pk->cred_id, g->pk->cred_len);
    cJSON *d = cJSON_CreateObject();
    int ok = id && d && cJSON_AddStringToObject(d, "type", "public-key") && cJSON_AddStringToObject(d, "id", id) &&
             (!g->pk->transports || emu_json_add(d, "transports", cJSON_Duplicate(g->pk->transports, 1)) == 0);
    free(id);
    if (!ok) {
        cJSON_Delete(d);
        return -1;
    }
    return emu_json_add(allow, NULL, d) == 0 ? 1 : -1;
}

void emu_h_create_passkey_challenge(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    const emu_call *c = x->c;
    cJSON *body = body_json(x, out);
    if (!body) return;
    const char *identity = jstr(body, "identity"), *fsid = jstr(body, "factor_sid");
    tv_error err = TV_ERROR_INIT;
    char chal[48];
    cJSON *allow = cJSON_CreateArray(), *opts = NULL;
    emu_pk_challenge *pc = calloc(1, sizeof *pc);
    emu_challenge *ch = calloc(1, sizeof *ch);
    if (!allow || !pc || !ch || new_challenge(chal) != 0 || emu_random_sid("YC", pc->sid, 16) != 0) {
        emu_oom(out);
        goto done;
    }
    if (identity && tv_check_identity(identity, strlen(identity), &err) != 0) {
        tv_error_clear(&err);
        emu_param_error(out, "identity", "%s", "identity must be 8 to 64 dash-separated alphanumerics");
        goto done;
    }
    if (fsid && tv_check_sid("factor_sid", "YF", fsid, strlen(fsid), &err) != 0) {
        tv_error_clear(&err);
        emu_param_error(out, "factor_sid", "%s", "factor_sid must match ^YF[0-9a-fA-F]{32}$");
        goto done;
    }
    pthread_mutex_lock(&srv->lock);
    int64_t now = emu_now(srv);
    svc_pk s;
    service_pk(srv, c->service_sid, &s);
    emu_factor *f = fsid ? emu_store_factor(&srv->store, fsid) : NULL;
    emu_entity *e = identity ? emu_store_entity(&srv->store, c->service_sid, identity) : NULL;
    const char *problem = NULL;
    int status = 404;
    long code = 20404;
    if (!s.rp_id[0]) {
        status = 400, code = 60394, problem = "Service passkeys configuration is missing";
    } else if (fsid && (!f || f->type != EMU_PASSKEYS || strcmp(f->entity->service_sid, c->service_sid) != 0 ||
                        (identity && strcmp(f->entity->identity, identity) != 0))) {
        problem = "The requested resource was not found: no passkeys factor has this factor_sid (for this identity)";
    } else if (f && !f->verified) {
        status = 403, code = 60318, problem = "Factor is unverified";
    } else if (identity && !f) {
        int n = 0;
        for (size_t i = 0; e && i < e->factors.n && n >= 0; i++) {
            int r = add_allowed(allow, e->factors.items[i].p);
            n = r < 0 ? -1 : n + r;
        }
        if (n < 0) status = 500, code = 20500, problem = "Internal Server Error (out of memory)";
        else if (n == 0) problem = "The requested resource was not found: the identity has no verified passkeys factor";
    } else if (f && add_allowed(allow, f) < 0) {
        status = 500, code = 20500, problem = "Internal Server Error (out of memory)";
    }
    if (problem) {
        pthread_mutex_unlock(&srv->lock);
        emu_response_error(out, status, code, problem, NULL);
        goto done;
    }
    pc->kind = EMU_PK_AUTH;
    snprintf(pc->service_sid, sizeof pc->service_sid, "%s", c->service_sid);
    if (f) snprintf(pc->factor_sid, sizeof pc->factor_sid, "%s", f->sid);
    if (identity) snprintf(pc->identity, sizeof pc->identity, "%s", identity);
    snprintf(pc->uv, sizeof pc->uv, "%s", f ? f->pk->uv : s.uv[0] ? s.uv : "preferred");
    pc->created = now;
    pc->expires = now + PK_TIMEOUT;
    /* PublicKeyCredentialRequestOptions (WebAuthn L2 5.5), under publicKey as the Twilio web SDK reads them */
    cJSON *k = cJSON_CreateObject();
    opts = cJSON_CreateObject();
    int ok = k && opts && emu_json_add(opts, "publicKey", k) == 0;
    if (!ok) cJSON_Delete(k);
    ok = ok && cJSON_AddStringToObject(k, "challenge", chal) && cJSON_AddNumberToObject(k, "timeout", PK_TIMEOUT * 1000.0) &&
         cJSON_AddStringToObject(k, "rpId", s.rp_id) && emu_json_add(k, "allowCredentials", allow) == 0;
    allow = NULL;
    ok = ok && cJSON_AddStringToObject(k, "userVerification", pc->uv);
    cJSON *j = NULL;
    if (ok) {
        j = render_pk_challenge(srv, c, pc, f, EMU_CH_PENDING, 0, opts, "Challenges");
        opts = NULL;
    }
    if (j && x->commit) {
        /* listed and fetched under its entity when the entity is known now */
        emu_entity *owner = f ? f->entity : e;
        if (owner) {
            snprintf(ch->sid, sizeof ch->sid, "%s", pc->sid);
            snprintf(ch->factor_sid, sizeof ch->factor_sid, "%s", pc->factor_sid);
            ch->factor_type = EMU_PASSKEYS;
            ch->created = ch->updated = now;
            ch->expires = pc->expires;
            ch->status = EMU_CH_PENDING;
            if (emu_store_challenge_insert(&srv->store, owner, ch) == 0) ch = NULL;
        }
        sweep(&srv->store, now);
        if (remember(&srv->store, chal, pc) != 0) {
            cJSON_Delete(j);
            j = NULL;
        } else {
            emu_note_applied(srv, c);
        }
        pc = NULL;
    }
    pthread_mutex_unlock(&srv->lock);
    emu_response_json(out, 201, j);
done:
    free(pc);
    emu_challenge_free(ch);
    cJSON_Delete(allow);
    cJSON_Delete(opts);
    cJSON_Delete(body);
}

static int b64_field(const cJSON *resp, const char *k, unsigned char **out, size_t *len) {
    const char *v = jstr(resp, k);
    if (!v) return -1;
    int rc = emu_b64url_decode(v, strlen(v), out, len);
    return rc == 0 ? 0 : rc == -2 ? -2 : -1;
}

void emu_h_update_passkey_challenge(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    const emu_call *c = x->c;
    cJSON *body = body_json(x, out);
    if (!body) return;
    const cJSON *resp = cJSON_GetObjectItemCaseSensitive(body, "response");
    const char *cdj = jstr(resp, "clientDataJSON"), *uh = jstr(resp, "userHandle");
    unsigned char *auth = NULL, *sig = NULL, *cid = NULL, *user = NULL;
    size_t authl = 0, sigl = 0, cidl = 0, userl = 0;
    char why[256] = "";
    emu_wa_client cd;
    emu_wa_auth a;
    int rc = cdj ? emu_wa_client_data(cdj, strlen(cdj), &cd, why, sizeof why) : -1;
    if (rc == -2) { emu_oom(out); goto done; }
    if (rc) { fail(out, 400, 60380, "Client data invalid or not provided", cdj ? why : "response.clientDataJSON is missing"); goto done; }
    if (strcmp(cd.type, "webauthn.get") != 0 || cd.cross_origin) { /* 7.2 step 11 */
        fail(out, 400, 60380, "Client data invalid or not provided",
             "clientDataJSON type is not webauthn.get, or the ceremony is cross-origin (WebAuthn L2 7.2 step 11)");
        goto done;
    }
    rc = b64_field(resp, "authenticatorData", &auth, &authl);
    if (rc == -2) { emu_oom(out); goto done; }
    if (rc || emu_wa_auth_data(auth, authl, 0, &a, why, sizeof why) != 0) {
        fail(out, 400, 60379, "Authenticator data invalid or not provided", rc ? "it is not base64url" : why);
        goto done;
    }
    rc = b64_field(resp, "signature", &sig, &sigl);
    if (rc == -2) { emu_oom(out); goto done; }
    if (rc || sigl == 0) { fail(out, 400, 60381, "Signature invalid or not provided", "it is not base64url"); goto done; }
    if (credential_id(body, 1, &cid, &cidl, out) != 0) goto done;
    if (uh) {
        rc = emu_b64url_decode(uh, strlen(uh), &user, &userl);
        if (rc == -2) { emu_oom(out); goto done; }
        if (rc) { fail(out, 400, 60420, "Invalid Contact ID format", "userHandle is not base64url"); goto done; }
    }
    char *cidb64 = emu_b64url_encode(cid, cidl);
    if (!cidb64) { emu_oom(out); goto done; }
    char key[1500];
    snprintf(key, sizeof key, "%s/K:%s", c->service_sid, cidb64);
    free(cidb64);

    pthread_mutex_lock(&srv->lock);
    int64_t now = emu_now(srv);
    emu_pk_challenge *pc = emu_map_get(&srv->store.pk_challenges, cd.challenge);
    emu_factor *f = emu_map_get(&srv->store.bindings, key);
    unsigned char rp_hash[32];
    int status = 400;
    long code = 0;
    const char *title = NULL, *because = NULL;
    if (!pc || pc->kind != EMU_PK_AUTH || strcmp(pc->service_sid, c->service_sid) != 0) { /* 7.2 step 12 */
        status = 404, code = 60391, title = "Challenge not found", because = "no passkeys challenge has this challenge";
    } else if (pc->used) {
        status = 403, code = 60322, title = "Challenge already responded", because = "the assertion was replayed";
    } else if (now > pc->expires) {
        status = 403, code = 60323, title = "Challenge expired", because = NULL;
    } else if (!f || f->type != EMU_PASSKEYS || !f->pk || !f->pk->cred_id) {
        status = 404, code = 20404, title = "The requested resource was not found",
        because = "no passkeys factor of this service has this credential";
    } else if ((pc->factor_sid[0] && strcmp(pc->factor_sid, f->sid) != 0) ||
               (pc->identity[0] && strcmp(pc->identity, f->entity->identity) != 0)) {
        code = 60376, title = "Invalid rawId",
        because = "the credential is not one the challenge allows (WebAuthn L2 7.2 step 5)";
    } else if (user && (userl != strlen(f->entity->sid) || memcmp(user, f->entity->sid, userl) != 0)) {
        code = 60420, title = "Invalid Contact ID format",
        because = "userHandle is not the credential's user, the base64url of its entity SID (WebAuthn L2 7.2 step 6)";
    } else if (!origin_allowed(f->pk->origins, cd.origin)) {
        code = 60380, title = "Client data invalid or not provided",
        because = "the origin is not one of the relying party's origins (WebAuthn L2 7.2 step 13)";
    } else if (emu_wa_rp_hash(f->pk->rp_id, rp_hash), memcmp(rp_hash, a.rp_id_hash, 32) != 0) {
        code = 60382, title = "Factor does not match the relying party of the challenge",
        because = "rpIdHash is not the SHA-256 of the relying party id (WebAuthn L2 7.2 step 15)";
    } else if (!(a.flags & EMU_WA_UP)) {
        code = 60379, title = "Authenticator data invalid or not provided",
        because = "the user was not present: UP is not set (WebAuthn L2 7.2 step 16)";
    } else if ((strcmp(pc->uv, "required") == 0 || strcmp(f->pk->uv, "required") == 0) && !(a.flags & EMU_WA_UV)) {
        code = 60379, title = "Authenticator data invalid or not provided",
        because = "user verification is required and UV is not set (WebAuthn L2 7.2 step 17)";
    } else if (!emu_wa_verify(f->pk->pub, auth, authl, cd.hash, sig, sigl)) {
        status = 403, code = 60381, title = "Signature invalid or not provided",
        because = "the signature is not the credential's over authenticatorData and the client data hash "
                  "(WebAuthn L2 7.2 step 20)";
    } else if ((a.sign_count || f->pk->sign_count) && a.sign_count <= f->pk->sign_count) {
        code = 60379, title = "Authenticator data invalid or not provided",
        because = "the signature counter did not increase: a cloned authenticator? (WebAuthn L2 6.1.1, 7.2 step 21)";
    }
    if (title) {
        pthread_mutex_unlock(&srv->lock);
        fail(out, status, code, title, because);
        goto done;
    }
    cJSON *j = render_pk_challenge(srv, c, pc, f, EMU_CH_APPROVED, now, NULL, "ApproveChallenge");
    if (j && x->commit) {
        pc->used = 1;
        f->pk->sign_count = a.sign_count;
        emu_challenge *ch = emu_store_challenge(&srv->store, pc->sid);
        if (!ch && (ch = calloc(1, sizeof *ch))) { /* a discoverable sign-in: its entity is known only now */
            snprintf(ch->sid, sizeof ch->sid, "%s", pc->sid);
            ch->factor_type = EMU_PASSKEYS;
            ch->created = ch->updated = pc->created;
            ch->expires = pc->expires;
            if (emu_store_challenge_insert(&srv->store, f->entity, ch) != 0) {
                emu_challenge_free(ch);
                ch = NULL;
            }
        }
        if (ch) {
            snprintf(ch->factor_sid, sizeof ch->factor_sid, "%s", f->sid);
            ch->status = EMU_CH_APPROVED;
            ch->responded = ch->updated = now;
            emu_webhook_challenge_event(srv, ch);
        }
        emu_note_applied(srv, c);
    }
    pthread_mutex_unlock(&srv->lock);
    emu_response_json(out, 200, j);
done:
    free(auth);
    free(sig);
    free(cid);
    free(user);
    cJSON_Delete(body);
}
