/*
 * lua_device.c -- core.device: the key and signing primitives of the
 * virtual Verify Push device (lua/twilio/verify/device.lua), over tv_ec /
 * tv_jwt (OpenSSL).
 *
 *   core.device.generate()          -> key          a fresh P-256 key pair
 *   core.device.import(pem_or_der)  -> key | nil, err
 *   key:public_key()                -> base64 SPKI DER (Binding.PublicKey)
 *   key:sign(msg)                   -> base64 DER ECDSA signature (factor verification)
 *   key:jwt(header_json, payload_json) -> compact ES256 JWS (raw r||s)
 *   key:export()                    -> PKCS#8 PEM (the explicit export)
 *   key:close()                     wipes the key; also __gc
 *   tostring(key)                   "twilio.verify.device.key (P-256)" -- no key material
 *   core.device.verify(spki_b64, msg, der_sig_b64) -> bool   (tests, tools)
 *   core.device.verify_jwt(spki_b64, jwt) -> bool, header_json, payload_json | nil, err
 *
 * Memory discipline (a Lua error may longjmp out of any Lua API call): the
 * EVP key lives only inside its userdata (created before the key), and
 * every C buffer a function gets from the core is parked in a scratch box
 * userdata whose __gc wipes and frees it before any Lua call that may raise.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "lua_tv.h"
#include "tv_ec.h"
#include "tv_jwt.h"

#define KEY_MT "twilio.verify.device.key"
#define SCRATCH_MT "twilio.verify.device.scratch"

typedef struct dkey {
    tv_ec_key *k;
} dkey;

typedef struct scratch {
    void *p;
    size_t len;      /* bytes to wipe */
    int openssl;     /* 1: OPENSSL_free */
} scratch;

static void scratch_release(scratch *s) {
    if (!s->p) return;
    OPENSSL_cleanse(s->p, s->len);
    if (s->openssl) OPENSSL_free(s->p);
    else free(s->p);
    s->p = NULL;
    s->len = 0;
}

static int scratch_gc(lua_State *L) {
    scratch_release((scratch *)luaL_checkudata(L, 1, SCRATCH_MT));
    return 0;
}

/* A new scratch box on the stack (raises only here, before any C buffer exists). */
static scratch *new_scratch(lua_State *L) {
    return (scratch *)tv_lua_box(L, sizeof(scratch), SCRATCH_MT, scratch_gc);
}

static int key_gc(lua_State *L) {
    dkey *d = (dkey *)luaL_checkudata(L, 1, KEY_MT);
    tv_ec_free(d->k);
    d->k = NULL;
    return 0;
}

static dkey *new_key(lua_State *L) {
    dkey *d = (dkey *)lua_newuserdata(L, sizeof *d);
    d->k = NULL;
    luaL_getmetatable(L, KEY_MT);
    lua_setmetatable(L, -2);
    return d;
}

static dkey *check_key(lua_State *L) {
    dkey *d = (dkey *)luaL_checkudata(L, 1, KEY_MT);
    if (!d->k) luaL_error(L, "the device key is closed");
    return d;
}

static int l_generate(lua_State *L) {
    dkey *d = new_key(L);
    tv_error err = TV_ERROR_INIT;
    if (!(d->k = tv_ec_generate(&err))) return tv_lua_fail(L, &err);
    return 1;
}

static int l_import(lua_State *L) {
    size_t n = 0;
    const char *s = luaL_checklstring(L, 1, &n);
    dkey *d = new_key(L);
    tv_error err = TV_ERROR_INIT;
    if (!(d->k = tv_ec_private_import((const unsigned char *)s, n, &err))) return tv_lua_fail(L, &err);
    return 1;
}

/* Push the NUL-terminated string parked in s, then release it. */
static void push_scratch(lua_State *L, scratch *s) {
    lua_pushstring(L, (const char *)s->p); /* may raise: s still owns the buffer */
    scratch_release(s);
}

static int l_public_key(lua_State *L) {
    dkey *d = check_key(L);
    scratch *s = new_scratch(L);
    tv_error err = TV_ERROR_INIT;
    if (!(s->p = tv_ec_public_b64(d->k, &err))) return tv_lua_fail(L, &err);
    s->len = strlen(s->p);
    push_scratch(L, s);
    return 1;
}

static int l_sign(lua_State *L) {
    dkey *d = check_key(L);
    size_t n = 0;
    const char *msg = luaL_checklstring(L, 2, &n);
    scratch *sig = new_scratch(L), *b64 = new_scratch(L);
    tv_error err = TV_ERROR_INIT;
    unsigned char *der = NULL;
    size_t dl = 0;
    if (tv_ec_sign_der(d->k, msg, n, &der, &dl, &err) != 0) return tv_lua_fail(L, &err);
    sig->p = der;
    sig->len = dl;
    if (!(b64->p = tv_b64_encode(der, dl, 0))) {
        tv_error_set(&err, TV_ENOMEM, NULL, "out of memory");
        return tv_lua_fail(L, &err);
    }
    b64->len = strlen(b64->p);
    scratch_release(sig);
    push_scratch(L, b64);
    return 1;
}

static int l_jwt(lua_State *L) {
    dkey *d = check_key(L);
    const char *h = luaL_checkstring(L, 2), *p = luaL_checkstring(L, 3);
    scratch *s = new_scratch(L);
    tv_error err = TV_ERROR_INIT;
    if (!(s->p = tv_jwt_sign_es256(d->k, h, p, &err))) return tv_lua_fail(L, &err);
    s->len = strlen(s->p);
    push_scratch(L, s);
    return 1;
}

static int l_export(lua_State *L) {
    dkey *d = check_key(L);
    scratch *s = new_scratch(L);
    tv_error err = TV_ERROR_INIT;
    if (!(s->p = tv_ec_private_pem(d->k, &err))) return tv_lua_fail(L, &err);
    s->len = strlen(s->p);
    push_scratch(L, s);
    return 1;
}

static int l_close(lua_State *L) {
    dkey *d = (dkey *)luaL_checkudata(L, 1, KEY_MT);
    tv_ec_free(d->k);
    d->k = NULL;
    return 0;
}

static int l_is_closed(lua_State *L) {
    dkey *d = (dkey *)luaL_checkudata(L, 1, KEY_MT);
    lua_pushboolean(L, d->k == NULL);
    return 1;
}

static int l_tostring(lua_State *L) {
    dkey *d = (dkey *)luaL_checkudata(L, 1, KEY_MT);
    lua_pushstring(L, d->k ? "twilio.verify.device.key (P-256)" : "twilio.verify.device.key (closed)");
    return 1;
}

/* A public key from base64 SPKI, parked in a key box on the stack. */
static dkey *public_arg(lua_State *L, int idx, tv_error *err) {
    size_t n = 0;
    const char *b64 = luaL_checklstring(L, idx, &n);
    dkey *d = new_key(L);
    d->k = tv_ec_public_import_b64(b64, n, err);
    return d->k ? d : NULL;
}

static int l_verify(lua_State *L) {
    size_t ml = 0, sl = 0;
    const char *msg = luaL_checklstring(L, 2, &ml), *sig = luaL_checklstring(L, 3, &sl);
    tv_error err = TV_ERROR_INIT;
    scratch *s = new_scratch(L);
    dkey *d = public_arg(L, 1, &err);
    if (!d) return tv_lua_fail(L, &err);
    unsigned char *der = NULL;
    size_t dl = 0;
    int ok = 0;
    if (tv_b64_decode(sig, sl, 0, &der, &dl, &err) == 0) {
        s->p = der;
        s->len = dl;
        ok = tv_ec_verify_der(d->k, msg, ml, der, dl, &err);
    } else if (err.kind != TV_ENOMEM) {
        tv_error_clear(&err);
    } else {
        ok = -1;
    }
    scratch_release(s);
    if (ok < 0) return tv_lua_fail(L, &err);
    lua_pushboolean(L, ok == 1);
    return 1;
}

/* A parsed JWT parked in a box (its members freed by __gc). */
#define JWT_MT "twilio.verify.device.jwt"
static int jwt_gc(lua_State *L) {
    tv_jwt_free((tv_jwt *)luaL_checkudata(L, 1, JWT_MT));
    return 0;
}

static int l_verify_jwt(lua_State *L) {
    size_t jl = 0;
    const char *jwt = luaL_checklstring(L, 2, &jl);
    tv_error err = TV_ERROR_INIT;
    tv_jwt *j = (tv_jwt *)tv_lua_box(L, sizeof(tv_jwt), JWT_MT, jwt_gc);
    scratch *hs = new_scratch(L), *ps = new_scratch(L);
    dkey *d = public_arg(L, 1, &err);
    if (!d) return tv_lua_fail(L, &err);
    if (tv_jwt_parse(jwt, jl, j, &err) != 0) return tv_lua_fail(L, &err);
    int ok = tv_jwt_verify_es256(j, d->k, &err);
    if (ok < 0) return tv_lua_fail(L, &err);
    if (!(hs->p = cJSON_PrintUnformatted(j->header)) || !(ps->p = cJSON_PrintUnformatted(j->payload))) {
        tv_error_set(&err, TV_ENOMEM, NULL, "out of memory");
        return tv_lua_fail(L, &err);
    }
    hs->len = strlen(hs->p);
    ps->len = strlen(ps->p);
    lua_pushboolean(L, ok == 1);
    push_scratch(L, hs);
    push_scratch(L, ps);
    return 3;
}

/* A cJSON tree parked in a box (deleted by __gc). */
#define TREE_MT "twilio.verify.device.tree"
static int tree_gc(lua_State *L) {
    cJSON **t = (cJSON **)luaL_checkudata(L, 1, TREE_MT);
    cJSON_Delete(*t);
    *t = NULL;
    return 0;
}

/* core.device.challenge_payload(body_json, fields_csv, status) -> payload_json | nil, err
 * The JSON object the mobile SDKs sign to answer a challenge: each field
 * the Twilio-Verify-Signature-Fields header names, with its value exactly
 * as the challenge fetch returned it, then "status". */
static int l_challenge_payload(lua_State *L) {
    size_t bl = 0, fl = 0;
    const char *body = luaL_checklstring(L, 1, &bl), *fields = luaL_checklstring(L, 2, &fl);
    const char *status = luaL_checkstring(L, 3);
    tv_error err = TV_ERROR_INIT;
    cJSON **src = (cJSON **)tv_lua_box(L, sizeof(cJSON *), TREE_MT, tree_gc);
    cJSON **dst = (cJSON **)tv_lua_box(L, sizeof(cJSON *), TREE_MT, tree_gc);
    scratch *out = new_scratch(L);
    *src = cJSON_ParseWithLength(body, bl);
    if (!cJSON_IsObject(*src)) {
        tv_error_set(&err, TV_EDECODE, NULL, "the challenge is not a JSON object");
        return tv_lua_fail(L, &err);
    }
    if (!(*dst = cJSON_CreateObject())) goto oom;
    const char *p = fields, *end = fields + fl;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        size_t n = (size_t)((comma ? comma : end) - p);
        char name[64];
        while (n > 0 && *p == ' ') p++, n--;
        while (n > 0 && p[n - 1] == ' ') n--;
        if (n == 0 || n >= sizeof name) {
            tv_error_set(&err, TV_EDECODE, NULL, "Twilio-Verify-Signature-Fields: an empty or overlong field name");
            return tv_lua_fail(L, &err);
        }
        memcpy(name, p, n);
        name[n] = '\0';
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(*src, name);
        if (!v) {
            tv_error_set(&err, TV_EDECODE, NULL, "the challenge has no field '%s' named by Twilio-Verify-Signature-Fields",
                         name);
            return tv_lua_fail(L, &err);
        }
        cJSON *copy = cJSON_Duplicate(v, 1);
        if (!copy) goto oom;
        cJSON_DeleteItemFromObjectCaseSensitive(*dst, name);
        if (!cJSON_AddItemToObject(*dst, name, copy)) {
            cJSON_Delete(copy);
            goto oom;
        }
        p = comma ? comma + 1 : end;
    }
    if (!cJSON_AddStringToObject(*dst, "status", status) || !(out->p = cJSON_PrintUnformatted(*dst))) goto oom;
    out->len = strlen(out->p);
    push_scratch(L, out);
    return 1;
oom:
    tv_error_set(&err, TV_ENOMEM, NULL, "out of memory");
    return tv_lua_fail(L, &err);
}

int tv_lua_open_device(lua_State *L) {
    if (luaL_newmetatable(L, KEY_MT)) {
        static const luaL_Reg m[] = {{"public_key", l_public_key}, {"sign", l_sign}, {"jwt", l_jwt},
                                     {"export", l_export},         {"close", l_close}, {"is_closed", l_is_closed},
                                     {NULL, NULL}};
        lua_createtable(L, 0, 8);
        for (const luaL_Reg *r = m; r->name; r++) {
            lua_pushcfunction(L, r->func);
            lua_setfield(L, -2, r->name);
        }
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, key_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, l_tostring);
        lua_setfield(L, -2, "__tostring");
        lua_pushliteral(L, "twilio.verify.device.key");
        lua_setfield(L, -2, "__name");
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);
    lua_createtable(L, 0, 4);
    lua_pushcfunction(L, l_generate);
    lua_setfield(L, -2, "generate");
    lua_pushcfunction(L, l_import);
    lua_setfield(L, -2, "import");
    lua_pushcfunction(L, l_verify);
    lua_setfield(L, -2, "verify");
    lua_pushcfunction(L, l_verify_jwt);
    lua_setfield(L, -2, "verify_jwt");
    lua_pushcfunction(L, l_challenge_payload);
    lua_setfield(L, -2, "challenge_payload");
    return 1;
}
