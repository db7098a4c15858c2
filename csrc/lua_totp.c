/*
 * lua_totp.c -- the `totp` table of twilio.verify.core:
 *
 *   totp.code(secret_b32 [, opts])        -> "123456"
 *       opts: alg = "sha1"|"sha256"|"sha512" (default "sha1"),
 *             code_length = 3..8 (default 6; alias digits),
 *             time_step = 20..60 seconds (default 30; Twilio's Config.TimeStep
 *                 range; aliases step, period),
 *             time = unix seconds >= 0 (default now),
 *             skew = 0..2 (checked, not used by code),
 *             issuer, account, secret = strings (ignored: a parse_uri record)
 *   totp.check(secret_b32, code [, opts]) -> true, offset | false
 *       opts: as code; skew = 0..2 steps (default 1; Twilio's Config.Skew).
 *       offset is the matching step relative to `time` (-skew..skew).
 *       A code that is not exactly `code_length` decimal digits is an error.
 *   totp.uri{ issuer=, account=, secret=, alg=, code_length=, time_step= } -> "otpauth://totp/..."
 *       account and secret required; code_length 3..8 (default 6); time_step
 *       1..3600 (default 30; the URI format is not limited to Twilio's range);
 *       the same aliases, and skew (ignored).
 *   totp.parse_uri(uri) -> { issuer=, account=, secret=, alg="sha1", code_length=6, time_step=30,
 *                            digits=6, period=30 }
 *
 * So a factor's `config` and a parse_uri record are opts for all of them.
 * A setting given under two names must have one value (else an error naming
 * both).
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

/* One vocabulary for every totp function, the factor config's
 * (Factor.config: alg, code_length, time_step, skew), with the older names
 * as aliases: digits = code_length, step = period = time_step.  Giving a
 * setting twice under different names is fine when the values agree and an
 * error naming both otherwise.  totp.code and totp.check also take (and
 * ignore, after a type check) the informational keys of a parse_uri record
 * (issuer, account, secret), and totp.code takes skew (checked, unused), so
 * that both a factor's config and a parse_uri result can be passed as is. */
enum { FOR_CODE, FOR_CHECK, FOR_URI };

typedef struct totp_opts {
    tv_totp_alg alg;
    int digits, step, skew;
    int64_t t;
    const char *digits_key, *step_key; /* the name that set it, or NULL */
    const char *issuer, *account, *secret; /* FOR_URI */
    int have_account, have_secret;
} totp_opts;

static const char *const EXPECTED_CODE =
    "alg, code_length (or digits), time_step (or step, period), skew, time, issuer, account, secret";
static const char *const EXPECTED_URI =
    "issuer, account, secret, alg, code_length (or digits), time_step (or period, step), skew";

/* Set an aliased integer setting: *slot_key records which name set it. */
static int set_alias(lua_State *L, int idx, const char *key, long long lo, long long hi, int *slot,
                     const char **slot_key, tv_error *err) {
    long long v = 0;
    if (get_int(L, idx, key, lo, hi, &v, err)) return -1;
    if (*slot_key && (int)v != *slot)
        return tv_error_set(err, TV_EARG, key, "%s = %lld conflicts with %s = %d (they name the same setting)",
                            key, v, *slot_key, *slot);
    *slot = (int)v;
    if (!*slot_key) *slot_key = key;
    return 0;
}

/* Read the opts table at idx into o (defaults first).  Leaves the stack as it
 * found it on success.  for: FOR_CODE, FOR_CHECK or FOR_URI. */
static int read_opts(lua_State *L, int idx, int for_, const char *where, totp_opts *o, tv_error *err) {
    memset(o, 0, sizeof *o);
    o->alg = TV_TOTP_SHA1;
    o->digits = 6;
    o->step = 30;
    o->skew = 1;
    o->t = (int64_t)time(NULL);
    int t = lua_type(L, idx);
    if (for_ != FOR_URI && (t == LUA_TNIL || t == LUA_TNONE)) return 0;
    if (t != LUA_TTABLE) {
        if (for_ == FOR_URI)
            return tv_error_set(err, TV_EARG, "opts", "opts of %s must be a table (got %s)", where,
                                luaL_typename(L, idx));
        return tv_error_set(err, TV_EARG, "opts", "opts must be a table (got %s)", luaL_typename(L, idx));
    }
    const char *expected = for_ == FOR_URI ? EXPECTED_URI : EXPECTED_CODE;
    long long step_lo = for_ == FOR_URI ? 1 : TWILIO_MIN_STEP;
    long long step_hi = for_ == FOR_URI ? URI_MAX_PERIOD : TWILIO_MAX_STEP;
    idx = tvL_absindex(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        long long v = 0;
        int rc = 0;
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
        const char *sv = NULL;
        if (lua_type(L, -2) != LUA_TSTRING) {
            rc = unknown_key(L, -2, where, expected, err);
        } else if (strcmp(k, "alg") == 0) {
            rc = get_alg(L, -1, "alg", &o->alg, err);
        } else if (strcmp(k, "code_length") == 0 || strcmp(k, "digits") == 0) {
            rc = set_alias(L, -1, k[0] == 'c' ? "code_length" : "digits", TV_TOTP_MIN_DIGITS,
                           TV_TOTP_MAX_DIGITS, &o->digits, &o->digits_key, err);
        } else if (strcmp(k, "time_step") == 0 || strcmp(k, "step") == 0 || strcmp(k, "period") == 0) {
            rc = set_alias(L, -1, k[0] == 't' ? "time_step" : k[0] == 's' ? "step" : "period", step_lo,
                           step_hi, &o->step, &o->step_key, err);
        } else if (strcmp(k, "skew") == 0) {
            rc = get_int(L, -1, "skew", 0, TV_TOTP_MAX_SKEW, &v, err);
            o->skew = (int)v;
        } else if (for_ != FOR_URI && strcmp(k, "time") == 0) {
            rc = get_int(L, -1, "time", 0, LLONG_MAX, &v, err);
            o->t = (int64_t)v;
        } else if (strcmp(k, "issuer") == 0) {
            rc = get_str(L, -1, "issuer", 0, &sv, NULL, err);
            o->issuer = sv;
        } else if (strcmp(k, "account") == 0) {
            rc = get_str(L, -1, "account", 0, &sv, NULL, err);
            o->account = sv;
            o->have_account = 1;
        } else if (strcmp(k, "secret") == 0) {
            rc = get_str(L, -1, "secret", 0, &sv, NULL, err);
            o->secret = sv;
            o->have_secret = 1;
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
    if (read_opts(L, 2, FOR_CODE, "totp.code", &o, &err)) return tv_lua_fail(L, &err);

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
    if (read_opts(L, 3, FOR_CHECK, "totp.check", &o, &err)) return tv_lua_fail(L, &err);

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
    totp_opts o;
    if (read_opts(L, 1, FOR_URI, "totp.uri", &o, &err)) return tv_lua_fail(L, &err);
    const char *issuer = o.issuer, *account = o.account, *secret = o.secret;
    tv_totp_alg alg = o.alg;
    long long digits = o.digits, period = o.step;
    int have_account = o.have_account, have_secret = o.have_secret;
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
    lua_createtable(L, 0, 8);
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
    /* the canonical names (as in a factor's config) */
    lua_pushinteger(L, (lua_Integer)b->u.digits);
    lua_setfield(L, -2, "code_length");
    lua_pushinteger(L, (lua_Integer)b->u.period);
    lua_setfield(L, -2, "time_step");
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
