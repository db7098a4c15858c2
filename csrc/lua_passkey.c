/*
 * lua_passkey.c -- core.passkey: the C half of the virtual WebAuthn
 * authenticator (lua/twilio/verify/passkey.lua), over tv_passkey (keys by
 * OpenSSL, structures in CBOR by libcbor).
 *
 *   core.passkey.new()                  -> auth   an authenticator without credentials
 *   core.passkey.import(export)         -> auth | nil, err
 *   auth:make(rp_id, user_handle)       -> index, credential id (bytes)
 *   auth:attest(index, uv)              -> attestationObject (bytes, fmt "none")
 *   auth:assert(index, client_data_json, uv) -> authenticatorData, signature (DER), user handle, sign count
 *   auth:count()                        -> number of credentials
 *   auth:info(index)                    -> id (bytes), rp id, user handle (bytes), sign count
 *   auth:export()                       -> the credentials with their private keys (a CBOR sequence: a secret)
 *   auth:close()                        wipes every key; also __gc
 *   tostring(auth)                      "twilio.verify.passkey.authenticator (N credentials)" -- no key material
 *   core.passkey.b64url(bytes)          -> base64url without padding
 *   core.passkey.unb64url(text)         -> bytes | nil  (base64url or base64, padding optional)
 *   core.passkey.sha256(bytes)          -> 32 bytes
 *   core.passkey.client_data(type, challenge, origin) -> clientDataJSON text (WebAuthn L2 5.8.1.1's order)
 *
 * Memory discipline as lua_device.c: the credentials live only inside the
 * authenticator's userdata; every C buffer handed out by the core is parked
 * in a scratch box (wiped and freed by its __gc) before a Lua call that may
 * raise.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "lua_tv.h"
#include "tv_ec.h"
#include "tv_passkey.h"

#define AUTH_MT "twilio.verify.passkey.authenticator"
#define SCRATCH_MT "twilio.verify.passkey.scratch"
#define MAX_CREDS 256

typedef struct pauth {
    tv_passkey **creds;
    size_t n, cap;
    int closed;
} pauth;

typedef struct scratch {
    void *p;
    size_t len;
    int openssl; /* 1: OPENSSL_free, 2: cJSON_free */
} scratch;

static void scratch_release(scratch *s) {
    if (!s->p) return;
    OPENSSL_cleanse(s->p, s->len);
    if (s->openssl == 1) OPENSSL_free(s->p);
    else if (s->openssl == 2) cJSON_free(s->p);
    else free(s->p);
    s->p = NULL;
    s->len = 0;
}

static int scratch_gc(lua_State *L) {
    scratch_release((scratch *)luaL_checkudata(L, 1, SCRATCH_MT));
    return 0;
}

static scratch *new_scratch(lua_State *L) {
    return (scratch *)tv_lua_box(L, sizeof(scratch), SCRATCH_MT, scratch_gc);
}

static void auth_release(pauth *a) {
    for (size_t i = 0; i < a->n; i++) tv_passkey_free(a->creds[i]);
    free(a->creds);
    a->creds = NULL;
    a->n = a->cap = 0;
    a->closed = 1;
}

static int auth_gc(lua_State *L) {
    auth_release((pauth *)luaL_checkudata(L, 1, AUTH_MT));
    return 0;
}

static pauth *new_auth(lua_State *L) {
    pauth *a = (pauth *)lua_newuserdata(L, sizeof *a);
    memset(a, 0, sizeof *a);
    luaL_getmetatable(L, AUTH_MT);
    lua_setmetatable(L, -2);
    return a;
}

static pauth *check_auth(lua_State *L) {
    pauth *a = (pauth *)luaL_checkudata(L, 1, AUTH_MT);
    if (a->closed) luaL_error(L, "the authenticator is closed");
    return a;
}

/* Take p (NULL: a failure in err) into a; 0 or -1 (p freed, err set). */
static int add_cred(pauth *a, tv_passkey *p, tv_error *err) {
    if (!p) return -1;
    if (a->n == MAX_CREDS) {
        tv_passkey_free(p);
        return tv_error_set(err, TV_EARG, NULL, "the authenticator holds at most %d credentials", MAX_CREDS);
    }
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 4;
        tv_passkey **c = realloc(a->creds, cap * sizeof *c);
        if (!c) {
            tv_passkey_free(p);
            return tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
        }
        a->creds = c;
        a->cap = cap;
    }
    a->creds[a->n++] = p;
    return 0;
}

static tv_passkey *cred_arg(lua_State *L, pauth *a, int idx) {
    lua_Integer i = luaL_checkinteger(L, idx);
    if (i < 1 || (size_t)i > a->n) luaL_argerror(L, idx, "no such credential");
    return a->creds[i - 1];
}

static int l_new(lua_State *L) {
    new_auth(L);
    return 1;
}

static int l_import(lua_State *L) {
    size_t n = 0;
    const char *s = luaL_checklstring(L, 1, &n);
    pauth *a = new_auth(L);
    tv_error err = TV_ERROR_INIT;
    size_t pos = 0;
    while (pos < n) {
        size_t used = 0;
        tv_passkey *p = tv_passkey_import((const unsigned char *)s + pos, n - pos, &used, &err);
        if (add_cred(a, p, &err)) {
            auth_release(a);
            return tv_lua_fail(L, &err);
        }
        pos += used;
    }
    return 1;
}

static int l_make(lua_State *L) {
    pauth *a = check_auth(L);
    const char *rp = luaL_checkstring(L, 2);
    size_t ulen = 0;
    const char *user = luaL_checklstring(L, 3, &ulen);
    tv_error err = TV_ERROR_INIT;
    if (add_cred(a, tv_passkey_new(rp, (const unsigned char *)user, ulen, &err), &err)) return tv_lua_fail(L, &err);
    size_t idl = 0;
    const unsigned char *id = tv_passkey_id(a->creds[a->n - 1], &idl);
    lua_pushinteger(L, (lua_Integer)a->n);
    lua_pushlstring(L, (const char *)id, idl);
    return 2;
}

static int l_attest(lua_State *L) {
    pauth *a = check_auth(L);
    tv_passkey *p = cred_arg(L, a, 2);
    int uv = lua_toboolean(L, 3);
    scratch *s = new_scratch(L);
    tv_error err = TV_ERROR_INIT;
    unsigned char *out = NULL;
    if (tv_passkey_attestation(p, uv, &out, &s->len, &err)) return tv_lua_fail(L, &err);
    s->p = out;
    lua_pushlstring(L, (const char *)s->p, s->len);
    scratch_release(s);
    return 1;
}

static int l_assert(lua_State *L) {
    pauth *a = check_auth(L);
    tv_passkey *p = cred_arg(L, a, 2);
    size_t cl = 0;
    const char *cd = luaL_checklstring(L, 3, &cl);
    int uv = lua_toboolean(L, 4);
    scratch *sa = new_scratch(L), *ss = new_scratch(L);
    unsigned char hash[32];
    unsigned int hl = 0;
    tv_error err = TV_ERROR_INIT;
    if (!EVP_Digest(cd, cl, hash, &hl, EVP_sha256(), NULL) || hl != 32) {
        tv_error_set(&err, TV_EARG, NULL, "SHA-256 failed");
        return tv_lua_fail(L, &err);
    }
    unsigned char *auth = NULL, *sig = NULL;
    if (tv_passkey_assert(p, hash, uv, &auth, &sa->len, &sig, &ss->len, &err)) return tv_lua_fail(L, &err);
    sa->p = auth;
    ss->p = sig;
    ss->openssl = 0;
    size_t ul = 0;
    const unsigned char *user = tv_passkey_user(p, &ul);
    lua_pushlstring(L, (const char *)sa->p, sa->len);
    lua_pushlstring(L, (const char *)ss->p, ss->len);
    lua_pushlstring(L, (const char *)user, ul);
    lua_pushinteger(L, (lua_Integer)tv_passkey_sign_count(p));
    scratch_release(sa);
    scratch_release(ss);
    return 4;
}

static int l_count(lua_State *L) {
    pauth *a = check_auth(L);
    lua_pushinteger(L, (lua_Integer)a->n);
    return 1;
}

static int l_info(lua_State *L) {
    pauth *a = check_auth(L);
    tv_passkey *p = cred_arg(L, a, 2);
    size_t idl = 0, ul = 0;
    const unsigned char *id = tv_passkey_id(p, &idl), *user = tv_passkey_user(p, &ul);
    lua_pushlstring(L, (const char *)id, idl);
    lua_pushstring(L, tv_passkey_rp_id(p));
    lua_pushlstring(L, (const char *)user, ul);
    lua_pushinteger(L, (lua_Integer)tv_passkey_sign_count(p));
    return 4;
}

static int l_export(lua_State *L) {
    pauth *a = check_auth(L);
    scratch *all = new_scratch(L), *one = new_scratch(L);
    tv_error err = TV_ERROR_INIT;
    size_t used = 0;
    for (size_t i = 0; i < a->n; i++) {
        unsigned char *out = NULL;
        if (tv_passkey_export(a->creds[i], &out, &one->len, &err)) return tv_lua_fail(L, &err);
        one->p = out;
        unsigned char *grown = malloc(used + one->len);
        if (!grown) {
            tv_error_set(&err, TV_ENOMEM, NULL, "out of memory");
            return tv_lua_fail(L, &err);
        }
        if (used) memcpy(grown, all->p, used);
        memcpy(grown + used, one->p, one->len);
        used += one->len;
        scratch_release(all);
        all->p = grown;
        all->len = used;
        scratch_release(one);
    }
    lua_pushlstring(L, all->p ? (const char *)all->p : "", used);
    scratch_release(all);
    return 1;
}

static int l_close(lua_State *L) {
    pauth *a = (pauth *)luaL_checkudata(L, 1, AUTH_MT);
    auth_release(a);
    return 0;
}

static int l_is_closed(lua_State *L) {
    pauth *a = (pauth *)luaL_checkudata(L, 1, AUTH_MT);
    lua_pushboolean(L, a->closed);
    return 1;
}

static int l_tostring(lua_State *L) {
    pauth *a = (pauth *)luaL_checkudata(L, 1, AUTH_MT);
    if (a->closed) lua_pushliteral(L, "twilio.verify.passkey.authenticator (closed)");
    else lua_pushfstring(L, "twilio.verify.passkey.authenticator (%d credentials)", (int)a->n);
    return 1;
}

static int l_b64url(lua_State *L) {
    size_t n = 0;
    const char *s = luaL_checklstring(L, 1, &n);
    scratch *sc = new_scratch(L);
    if (!(sc->p = tv_b64_encode(s, n, 1))) return luaL_error(L, "out of memory");
    sc->len = strlen(sc->p);
    lua_pushstring(L, (const char *)sc->p);
    scratch_release(sc);
    return 1;
}

/* base64url (WebAuthn's encoding) or standard base64, padding optional */
static int l_unb64url(lua_State *L) {
    size_t n = 0;
    const char *s = luaL_checklstring(L, 1, &n);
    scratch *in = new_scratch(L), *out = new_scratch(L);
    if (!(in->p = malloc(n + 3))) return luaL_error(L, "out of memory");
    in->len = n + 3;
    char *t = in->p;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') c = '-';
        else if (c == '/') c = '_';
        else if (c == '=') break;
        t[m++] = c;
    }
    tv_error err = TV_ERROR_INIT;
    unsigned char *dec = NULL;
    if (m % 4 == 1 || tv_b64_decode(t, m, 1, &dec, &out->len, &err)) {
        tv_error_clear(&err);
        lua_pushnil(L);
        return 1;
    }
    out->p = dec;
    lua_pushlstring(L, (const char *)out->p, out->len);
    scratch_release(out);
    scratch_release(in);
    return 1;
}

static int l_sha256(lua_State *L) {
    size_t n = 0;
    const char *s = luaL_checklstring(L, 1, &n);
    unsigned char h[32];
    unsigned int hl = 0;
    if (!EVP_Digest(s, n, h, &hl, EVP_sha256(), NULL) || hl != 32) return luaL_error(L, "SHA-256 failed");
    lua_pushlstring(L, (const char *)h, 32);
    return 1;
}

/* CollectedClientData in the order of WebAuthn L2 5.8.1.1 (type, challenge,
 * origin, crossOrigin), encoded by cJSON. */
static int l_client_data(lua_State *L) {
    const char *type = luaL_checkstring(L, 1), *challenge = luaL_checkstring(L, 2), *origin = luaL_checkstring(L, 3);
    scratch *sc = new_scratch(L);
    cJSON *j = cJSON_CreateObject();
    if (!j || !cJSON_AddStringToObject(j, "type", type) || !cJSON_AddStringToObject(j, "challenge", challenge) ||
        !cJSON_AddStringToObject(j, "origin", origin) || !cJSON_AddFalseToObject(j, "crossOrigin") ||
        !(sc->p = cJSON_PrintUnformatted(j))) {
        cJSON_Delete(j);
        return luaL_error(L, "out of memory");
    }
    cJSON_Delete(j);
    sc->openssl = 2;
    sc->len = strlen(sc->p);
    lua_pushstring(L, (const char *)sc->p);
    scratch_release(sc);
    return 1;
}

int tv_lua_open_passkey(lua_State *L) {
    if (luaL_newmetatable(L, AUTH_MT)) {
        static const luaL_Reg m[] = {{"make", l_make},     {"attest", l_attest}, {"assert", l_assert},
                                     {"count", l_count},   {"info", l_info},     {"export", l_export},
                                     {"close", l_close},   {"is_closed", l_is_closed}, {NULL, NULL}};
        lua_createtable(L, 0, 9);
        for (const luaL_Reg *r = m; r->name; r++) {
            lua_pushcfunction(L, r->func);
            lua_setfield(L, -2, r->name);
        }
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, auth_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, l_tostring);
        lua_setfield(L, -2, "__tostring");
        lua_pushliteral(L, AUTH_MT);
        lua_setfield(L, -2, "__name");
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);
    static const luaL_Reg f[] = {{"new", l_new},       {"import", l_import}, {"b64url", l_b64url},
                                 {"unb64url", l_unb64url}, {"sha256", l_sha256}, {"client_data", l_client_data},
                                 {NULL, NULL}};
    lua_createtable(L, 0, 6);
    for (const luaL_Reg *r = f; r->name; r++) {
        lua_pushcfunction(L, r->func);
        lua_setfield(L, -2, r->name);
    }
    return 1;
}
