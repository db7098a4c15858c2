/*
 * lua_totp.c -- the `totp` table of twilio.verify.core:
 *
 *   totp.code(secret_b32 [, opts])        -> "123456"
 *       opts: alg = "sha1"|"sha256"|"sha512" (default "sha1"),
 *             digits = 3..8 (default 6),
 *             step = 20..60 seconds (default 30; Twilio's Config.TimeStep range),
 *             time = unix seconds >= 0 (default now)
 *   totp.check(secret_b32, code [, opts]) -> true, offset | false
 *       opts: as code, plus skew = 0..2 steps (default 1; Twilio's Config.Skew).
 *       offset is the matching step relative to `time` (-skew..skew).
 *       A code that is not exactly `digits` decimal digits is an error.
 *   totp.uri{ issuer=, account=, secret=, alg=, digits=, period= } -> "otpauth://totp/..."
 *       account and secret required; digits 3..8 (default 6); period
 *       1..3600 (default 30; the URI format is not limited to Twilio's range).
 *   totp.parse_uri(uri) -> { issuer=, account=, secret=, alg="sha1", digits=6, period=30 }
 *
 * Bad input (bad Base32, out-of-range or unknown options, wrong types)
 * returns nil, err with err.kind == "invalid_argument" and err.param naming
 * the parameter (for an unknown option key, the key itself).
 *
 * Memory: a decoded key lives only between the last Lua call that can raise
 * and the first one after; URI strings and parsed records are boxed in a
 * userdata whose __gc wipes and frees them.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "lua_tv.h"
#include "tv_totp.h"

#define TOTP_BOX_MT "twilio.verify.totp.box"

#define TWILIO_MIN_STEP TV_TOTP_MIN_STEP
#define TWILIO_MAX_STEP TV_TOTP_MAX_STEP
#define URI_MAX_PERIOD 3600

/* ---- the box: heap memory owned by a userdata -------------------------- */

typedef struct totp_box {
    tv_otpauth u;
    char *str;
} totp_box;

static void box_release(totp_box *b) {
    tv_otpauth_free(&b->u);
    if (b->str) {
        OPENSSL_cleanse(b->str, strlen(b->str));
        free(b->str);
        b->str = NULL;
    }
}

static int box_gc(lua_State *L) {
    totp_box *b = (totp_box *)luaL_checkudata(L, 1, TOTP_BOX_MT);
    box_release(b);
    return 0;
}

/* Push a new empty box (may raise: call before allocating anything). */
static totp_box *box_new(lua_State *L) {
    totp_box *b = (totp_box *)lua_newuserdata(L, sizeof *b);
    memset(b, 0, sizeof *b);
    luaL_getmetatable(L, TOTP_BOX_MT);
    lua_setmetatable(L, -2);
    return b;
}

/* ---- argument readers (never raise) ------------------------------------ */

static int get_int(lua_State *L, int idx, const char *name, long long lo, long long hi,
                   long long *out, tv_error *err) {
    if (lua_type(L, idx) != LUA_TNUMBER)
        return tv_error_set(err, TV_EARG, name, "%s must be an integer (got %s)", name,
                            luaL_typename(L, idx));
    long long v;
#if LUA_VERSION_NUM >= 503
    int isint = 0;
    lua_Integer i = lua_tointegerx(L, idx, &isint);
    if (!isint) return tv_error_set(err, TV_EARG, name, "%s must be an integer", name);
    v = (long long)i;
#else
    lua_Number d = lua_tonumber(L, idx);
    if (!(d >= -9.2e18 && d <= 9.2e18) || (lua_Number)(long long)d != d)
        return tv_error_set(err, TV_EARG, name, "%s must be an integer", name);
    v = (long long)d;
#endif
    if (v < lo || v > hi) {
        if (hi == LLONG_MAX)
            return tv_error_set(err, TV_EARG, name, "%s must be >= %lld (got %lld)", name, lo, v);
        return tv_error_set(err, TV_EARG, name, "%s must be between %lld and %lld (got %lld)", name,
                            lo, hi, v);
    }
    *out = v;
    return 0;
}

/* A string without embedded NULs (or nil when optional). */
static int get_str(lua_State *L, int idx, const char *name, int optional, const char **out,
                   size_t *outlen, tv_error *err) {
    int t = lua_type(L, idx);
    if (t == LUA_TNIL && optional) {
        *out = NULL;
        if (outlen) *outlen = 0;
        return 0;
    }
    if (t != LUA_TSTRING)
        return tv_error_set(err, TV_EARG, name, "%s must be a string (got %s)", name,
                            luaL_typename(L, idx));
    size_t len = 0;
    const char *s = lua_tolstring(L, idx, &len);
    if (!outlen && strlen(s) != len)
        return tv_error_set(err, TV_EARG, name, "%s must not contain NUL bytes", name);
    *out = s;
    if (outlen) *outlen = len;
    return 0;
}

static int get_alg(lua_State *L, int idx, const char *name, tv_totp_alg *out, tv_error *err) {
    const char *s;
    size_t len;
    if (get_str(L, idx, name, 0, &s, &len, err)) return -1;
    if (tv_totp_alg_parse(s, len, out, err)) {
        if (len <= 16 && strlen(s) == len)
            return tv_error_set(err, TV_EARG, name, "%s must be \"sha1\", \"sha256\" or \"sha512\" (got \"%s\")",
                                name, s);
        return tv_error_set(err, TV_EARG, name, "%s must be \"sha1\", \"sha256\" or \"sha512\"", name);
    }
    return 0;
}

static int unknown_key(lua_State *L, int key, const char *where, const char *expected,
                       tv_error *err) {
    if (lua_type(L, key) == LUA_TSTRING) {
        size_t len = 0;
        const char *k = lua_tolstring(L, key, &len);
        if (len <= 40 && strlen(k) == len)
            return tv_error_set(err, TV_EARG, k, "unknown option '%s' for %s (expected %s)", k, where,
                                expected);
        return tv_error_set(err, TV_EARG, "opts", "unknown option key for %s (expected %s)", where,
                            expected);
    }
    return tv_error_set(err, TV_EARG, "opts", "option keys of %s must be strings (got %s)", where,
                        luaL_typename(L, key));
}

typedef struct totp_opts {
    tv_totp_alg alg;
    int digits, step, skew;
    int64_t t;
} totp_opts;

/* Read the optional opts table at idx into o (defaults first).  Leaves the
 * stack as it found it on success. */
static int read_opts(lua_State *L, int idx, int with_skew, const char *where, totp_opts *o,
                     tv_error *err) {
    o->alg = TV_TOTP_SHA1;
    o->digits = 6;
    o->step = 30;
    o->skew = 1;
    o->t = (int64_t)time(NULL);
    int t = lua_type(L, idx);
    if (t == LUA_TNIL || t == LUA_TNONE) return 0;
    if (t != LUA_TTABLE)
        return tv_error_set(err, TV_EARG, "opts", "opts must be a table (got %s)", luaL_typename(L, idx));
    const char *expected = with_skew ? "alg, digits, step, time, skew" : "alg, digits, step, time";
    idx = tvL_absindex(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        long long v = 0;
        int rc = 0;
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
        if (lua_type(L, -2) != LUA_TSTRING) {
            rc = unknown_key(L, -2, where, expected, err);
        } else if (strcmp(k, "alg") == 0) {
            rc = get_alg(L, -1, "alg", &o->alg, err);
        } else if (strcmp(k, "digits") == 0) {
            rc = get_int(L, -1, "digits", TV_TOTP_MIN_DIGITS, TV_TOTP_MAX_DIGITS, &v, err);
            o->digits = (int)v;
        } else if (strcmp(k, "step") == 0) {
            rc = get_int(L, -1, "step", TWILIO_MIN_STEP, TWILIO_MAX_STEP, &v, err);
            o->step = (int)v;
        } else if (strcmp(k, "time") == 0) {
            rc = get_int(L, -1, "time", 0, LLONG_MAX, &v, err);
            o->t = (int64_t)v;
        } else if (with_skew && strcmp(k, "skew") == 0) {
            rc = get_int(L, -1, "skew", 0, TV_TOTP_MAX_SKEW, &v, err);
            o->skew = (int)v;
        } else {
            rc = unknown_key(L, -2, where, expected, err);
        }
        lua_pop(L, 1);
        if (rc) {
            lua_pop(L, 1);
            return -1;
        }
    }
    return 0;
}

/* ---- totp.code / totp.check -------------------------------------------- */

static int l_code(lua_State *L) {
    tv_error err = TV_ERROR_INIT;
    const char *secret;
    size_t slen;
    totp_opts o;
    if (get_str(L, 1, "secret", 0, &secret, &slen, &err)) return tv_lua_fail(L, &err);
    if (read_opts(L, 2, 0, "totp.code", &o, &err)) return tv_lua_fail(L, &err);

    /* No Lua call between decode and free. */
    unsigned char *key = NULL;
    size_t keylen = 0;
    char out[TV_TOTP_MAX_DIGITS + 1];
    if (tv_base32_decode(secret, slen, &key, &keylen, &err)) return tv_lua_fail(L, &err);
    int rc = tv_totp_code(key, keylen, o.alg, o.t, o.step, o.digits, out, &err);
    tv_secret_free(key, keylen);
    if (rc) return tv_lua_fail(L, &err);
    lua_pushstring(L, out);
    OPENSSL_cleanse(out, sizeof out);
    return 1;
}

static int l_check(lua_State *L) {
    tv_error err = TV_ERROR_INIT;
    const char *secret, *code;
    size_t slen, clen;
    totp_opts o;
    if (get_str(L, 1, "secret", 0, &secret, &slen, &err)) return tv_lua_fail(L, &err);
    if (get_str(L, 2, "code", 0, &code, &clen, &err)) return tv_lua_fail(L, &err);
    if (read_opts(L, 3, 1, "totp.check", &o, &err)) return tv_lua_fail(L, &err);

    unsigned char *key = NULL;
    size_t keylen = 0;
    int offset = 0;
    if (tv_base32_decode(secret, slen, &key, &keylen, &err)) return tv_lua_fail(L, &err);
    int rc = tv_totp_check(key, keylen, o.alg, o.t, o.step, o.digits, o.skew, code, clen, &offset,
                           &err);
    tv_secret_free(key, keylen);
    if (rc < 0) return tv_lua_fail(L, &err);
    if (rc == 0) {
        lua_pushboolean(L, 0);
        return 1;
    }
    lua_pushboolean(L, 1);
    lua_pushinteger(L, (lua_Integer)offset);
    return 2;
}

/* ---- totp.uri / totp.parse_uri ----------------------------------------- */

static int l_uri(lua_State *L) {
    tv_error err = TV_ERROR_INIT;
    static const char *const expected = "issuer, account, secret, alg, digits, period";
    if (lua_type(L, 1) != LUA_TTABLE) {
        tv_error_set(&err, TV_EARG, "opts", "opts of totp.uri must be a table (got %s)",
                     luaL_typename(L, 1));
        return tv_lua_fail(L, &err);
    }
    const char *issuer = NULL, *account = NULL, *secret = NULL;
    tv_totp_alg alg = TV_TOTP_SHA1;
    long long digits = 6, period = 30;
    int have_account = 0, have_secret = 0;
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        int rc;
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
        if (lua_type(L, -2) != LUA_TSTRING) {
            rc = unknown_key(L, -2, "totp.uri", expected, &err);
        } else if (strcmp(k, "issuer") == 0) {
            rc = get_str(L, -1, "issuer", 0, &issuer, NULL, &err);
        } else if (strcmp(k, "account") == 0) {
            rc = get_str(L, -1, "account", 0, &account, NULL, &err);
            have_account = 1;
        } else if (strcmp(k, "secret") == 0) {
            rc = get_str(L, -1, "secret", 0, &secret, NULL, &err);
            have_secret = 1;
        } else if (strcmp(k, "alg") == 0) {
            rc = get_alg(L, -1, "alg", &alg, &err);
        } else if (strcmp(k, "digits") == 0) {
            rc = get_int(L, -1, "digits", TV_TOTP_MIN_DIGITS, TV_TOTP_MAX_DIGITS, &digits, &err);
        } else if (strcmp(k, "period") == 0) {
            rc = get_int(L, -1, "period", 1, URI_MAX_PERIOD, &period, &err);
        } else {
            rc = unknown_key(L, -2, "totp.uri", expected, &err);
        }
        lua_pop(L, 1);
        if (rc) return tv_lua_fail(L, &err);
    }
    /* The strings stay alive: they are values of the table at index 1. */
    if (!have_account || !*account) {
        tv_error_set(&err, TV_EARG, "account", "account is required");
        return tv_lua_fail(L, &err);
    }
    if (!have_secret) {
        tv_error_set(&err, TV_EARG, "secret", "secret is required");
        return tv_lua_fail(L, &err);
    }

    totp_box *b = box_new(L); /* may raise: nothing allocated yet */
    tv_otpauth u;
    u.issuer = (char *)issuer;
    u.account = (char *)account;
    u.secret = (char *)secret;
    u.alg = alg;
    u.digits = (int)digits;
    u.period = (int)period;
    b->str = tv_otpauth_build(&u, &err);
    if (!b->str) return tv_lua_fail(L, &err);
    lua_pushstring(L, b->str); /* may raise: the box frees b->str */
    box_release(b);
    return 1;
}

static int l_parse_uri(lua_State *L) {
    tv_error err = TV_ERROR_INIT;
    const char *uri;
    size_t len;
    if (get_str(L, 1, "uri", 0, &uri, &len, &err)) return tv_lua_fail(L, &err);
    totp_box *b = box_new(L);
    if (tv_otpauth_parse(uri, len, &b->u, &err)) return tv_lua_fail(L, &err);
    lua_createtable(L, 0, 6);
    if (b->u.issuer) {
        lua_pushstring(L, b->u.issuer);
        lua_setfield(L, -2, "issuer");
    }
    lua_pushstring(L, b->u.account);
    lua_setfield(L, -2, "account");
    lua_pushstring(L, b->u.secret);
    lua_setfield(L, -2, "secret");
    lua_pushstring(L, tv_totp_alg_name(b->u.alg));
    lua_setfield(L, -2, "alg");
    lua_pushinteger(L, (lua_Integer)b->u.digits);
    lua_setfield(L, -2, "digits");
    lua_pushinteger(L, (lua_Integer)b->u.period);
    lua_setfield(L, -2, "period");
    box_release(b);
    return 1;
}

int tv_lua_open_totp(lua_State *L) {
    if (luaL_newmetatable(L, TOTP_BOX_MT)) {
        lua_pushcfunction(L, box_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);
    lua_createtable(L, 0, 4);
    lua_pushcfunction(L, l_code);
    lua_setfield(L, -2, "code");
    lua_pushcfunction(L, l_check);
    lua_setfield(L, -2, "check");
    lua_pushcfunction(L, l_uri);
    lua_setfield(L, -2, "uri");
    lua_pushcfunction(L, l_parse_uri);
    lua_setfield(L, -2, "parse_uri");
    return 1;
}
