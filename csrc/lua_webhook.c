/*
 * lua_webhook.c -- the `webhook` table of twilio.verify.core (tv_webhook.h):
 *
 *   webhook.sign(auth_token, url, params_or_body)            -> "base64..."
 *   webhook.validate(auth_token, url, params_or_body, sig)   -> true | false, reason
 *   webhook.body_sha256(body)                                -> "64 hex digits"
 *
 * params_or_body: a table of form parameters (string keys; each value a
 * string or an array of strings for a repeated key) or a raw body string:
 * with a bodySHA256 query parameter in url it is a JSON body (sign: the URL
 * alone is signed; validate: its SHA-256 must match too), else it is parsed
 * as application/x-www-form-urlencoded.  nil means no parameters.
 * sig: the X-Twilio-Signature header (nil: false, "missing signature").
 *
 * Bad arguments raise an error naming the parameter; no message ever
 * contains the auth token.  Memory: the parameter array is a userdata (the
 * strings it points to stay on the stack), so nothing malloc'd is held
 * across a call that can raise; the core call itself never raises.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua_tv.h"
#include "tv_webhook.h"

static const char *str_arg(lua_State *L, int idx, const char *fn, const char *name, size_t *len) {
    if (lua_type(L, idx) != LUA_TSTRING)
        luaL_error(L, "twilio.verify.webhook.%s: %s must be a string (got %s)", fn, name, luaL_typename(L, idx));
    const char *s = lua_tolstring(L, idx, len);
    if (*len == 0) luaL_error(L, "twilio.verify.webhook.%s: %s must not be empty", fn, name);
    return s;
}

/* Read argument idx (nil, string body or params table).  For a table,
 * pushes a userdata holding the tv_webhook_param array (*params, *n); for
 * a string sets *body.  Raises on a bad shape, naming the key. */
static void read_params(lua_State *L, int idx, const char *fn, const tv_webhook_param **params, size_t *n,
                        const char **body, size_t *blen) {
    *params = NULL;
    *n = 0;
    *body = NULL;
    *blen = 0;
    int t = lua_type(L, idx);
    if (t == LUA_TNIL || t == LUA_TNONE) return;
    if (t == LUA_TSTRING) {
        *body = lua_tolstring(L, idx, blen);
        return;
    }
    if (t != LUA_TTABLE)
        luaL_error(L, "twilio.verify.webhook.%s: params_or_body must be a table of form parameters or a body string "
                      "(got %s)", fn, luaL_typename(L, idx));
    /* pass 1: check and count */
    size_t count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "twilio.verify.webhook.%s: params_or_body keys must be strings (got %s)", fn,
                       luaL_typename(L, -2));
        const char *k = lua_tostring(L, -2);
        if (lua_type(L, -1) == LUA_TSTRING) {
            count++;
        } else if (lua_type(L, -1) == LUA_TTABLE) {
            size_t len = tvL_rawlen(L, -1);
            for (size_t i = 1; i <= len; i++) {
                lua_rawgeti(L, -1, (lua_Integer)i);
                if (lua_type(L, -1) != LUA_TSTRING)
                    luaL_error(L, "twilio.verify.webhook.%s: params_or_body[\"%s\"][%d] must be a string (got %s)", fn,
                               k, (int)i, luaL_typename(L, -1));
                lua_pop(L, 1);
            }
            count += len;
        } else {
            luaL_error(L, "twilio.verify.webhook.%s: params_or_body[\"%s\"] must be a string or an array of strings "
                          "(got %s)", fn, k, luaL_typename(L, -1));
        }
        lua_pop(L, 1);
    }
    tv_webhook_param *p = (tv_webhook_param *)lua_newuserdata(L, (count ? count : 1) * sizeof *p);
    int ud = lua_gettop(L);
    /* pass 2: fill (the strings are the table's own: they live while it is
     * on the stack, and nothing runs between here and the core call) */
    size_t w = 0;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        size_t kl = 0;
        const char *k = lua_tolstring(L, -2, &kl);
        if (lua_type(L, -1) == LUA_TSTRING) {
            p[w].key = k;
            p[w].klen = kl;
            p[w].val = lua_tolstring(L, -1, &p[w].vlen);
            w++;
        } else {
            size_t len = tvL_rawlen(L, -1);
            for (size_t i = 1; i <= len && w < count; i++) {
                lua_rawgeti(L, -1, (lua_Integer)i);
                p[w].key = k;
                p[w].klen = kl;
                p[w].val = lua_tolstring(L, -1, &p[w].vlen);
                w++;
                lua_pop(L, 1); /* the array keeps the string alive */
            }
        }
        lua_pop(L, 1);
    }
    lua_settop(L, ud);
    *params = p;
    *n = w;
}

static int raise_err(lua_State *L, const char *fn, tv_error *err) {
    char msg[TV_ERR_MESSAGE_MAX];
    snprintf(msg, sizeof msg, "%s", err->message);
    tv_error_clear(err);
    return luaL_error(L, "twilio.verify.webhook.%s: %s", fn, msg);
}

static int l_sign(lua_State *L) {
    size_t tlen, ulen, blen;
    const char *token = str_arg(L, 1, "sign", "auth_token", &tlen);
    const char *url = str_arg(L, 2, "sign", "url", &ulen);
    const tv_webhook_param *params;
    size_t n;
    const char *body;
    read_params(L, 3, "sign", &params, &n, &body, &blen);
    tv_error err = TV_ERROR_INIT;
    char sig[TV_WEBHOOK_SIG_LEN + 1];
    int rc;
    if (body) {
        char *h = NULL;
        size_t hl = 0;
        int got = tv_webhook_query_get(url, ulen, "bodySHA256", &h, &hl);
        free(h);
        if (got < 0) return luaL_error(L, "twilio.verify.webhook.sign: out of memory");
        if (got) {
            rc = tv_webhook_sign(token, tlen, url, ulen, NULL, 0, sig, &err);
        } else {
            tv_webhook_form f;
            if (tv_webhook_parse_form(body, blen, &f, &err)) return raise_err(L, "sign", &err);
            rc = tv_webhook_sign(token, tlen, url, ulen, f.params, f.n, sig, &err);
            tv_webhook_form_free(&f);
        }
    } else {
        rc = tv_webhook_sign(token, tlen, url, ulen, params, n, sig, &err);
    }
    if (rc) return raise_err(L, "sign", &err);
    lua_pushstring(L, sig);
    return 1;
}

static int l_validate(lua_State *L) {
    tv_webhook_input in;
    memset(&in, 0, sizeof in);
    in.token = str_arg(L, 1, "validate", "auth_token", &in.tlen);
    in.url = str_arg(L, 2, "validate", "url", &in.ulen);
    int st = lua_type(L, 4);
    if (st != LUA_TNIL && st != LUA_TNONE && st != LUA_TSTRING)
        return luaL_error(L, "twilio.verify.webhook.validate: signature must be a string or nil (got %s)",
                          luaL_typename(L, 4));
    read_params(L, 3, "validate", &in.params, &in.n, &in.body, &in.blen);
    if (st == LUA_TSTRING) in.sig = lua_tolstring(L, 4, &in.siglen);
    const char *reason = NULL;
    tv_error err = TV_ERROR_INIT;
    int rc = tv_webhook_validate(&in, &reason, &err);
    if (rc < 0) return raise_err(L, "validate", &err);
    if (rc == 1) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushboolean(L, 0);
    lua_pushstring(L, reason ? reason : "signature mismatch");
    return 2;
}

static int l_body_sha256(lua_State *L) {
    if (lua_type(L, 1) != LUA_TSTRING)
        return luaL_error(L, "twilio.verify.webhook.body_sha256: body must be a string (got %s)",
                          luaL_typename(L, 1));
    size_t len;
    const char *b = lua_tolstring(L, 1, &len);
    char hex[TV_WEBHOOK_SHA256_HEX + 1];
    if (tv_webhook_body_sha256(b, len, hex)) return luaL_error(L, "twilio.verify.webhook.body_sha256: out of memory");
    lua_pushstring(L, hex);
    return 1;
}

int tv_lua_open_webhook(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"sign", l_sign}, {"validate", l_validate}, {"body_sha256", l_body_sha256}, {NULL, NULL}};
    luaL_newlib(L, fns);
    return 1;
}
