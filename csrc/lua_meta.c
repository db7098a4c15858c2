/* lua_meta.c -- what a success answer said besides its body: the status and
 * the headers of tv_meta_header_names, for verify.response_of(value).
 *
 * Recorded per value in a weak-keyed table (the registry's META_KEY, also
 * core._responses) as one string, so a call that nobody asks about costs
 * one short string and one table slot.  Format: "<status>\n" then one
 * "<letter>:<value>\n" per header present ('a' + its index). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lua_tv.h"
#include "tv.h"

static const char META_KEY[] = "twilio.verify.responses";

void tv_lua_meta_open(lua_State *L) {
    lua_newtable(L); /* the weak table */
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, META_KEY);
    lua_setfield(L, -2, "_responses");
    lua_createtable(L, TV_NMETA_HEADERS, 0);
    for (int i = 0; i < TV_NMETA_HEADERS; i++) {
        lua_pushstring(L, tv_meta_header_names[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "response_headers");
}

/* the buffer holds the string being built; store it under the value */
static void store(lua_State *L, int vidx, luaL_Buffer *b) {
    luaL_pushresult(b);
    lua_getfield(L, LUA_REGISTRYINDEX, META_KEY);
    lua_pushvalue(L, vidx);
    lua_pushvalue(L, -3);
    lua_rawset(L, -3);
    lua_pop(L, 2);
}

static void add_status(luaL_Buffer *b, long status) {
    char s[24];
    int n = snprintf(s, sizeof s, "%ld\n", status);
    luaL_addlstring(b, s, (size_t)n);
}

/* one "<letter>:<value>\n", control characters dropped */
static void add_header(luaL_Buffer *b, int i, const char *v, size_t len) {
    luaL_addchar(b, (char)('a' + i));
    luaL_addchar(b, ':');
    for (size_t k = 0; k < len && k < 8192; k++)
        if ((unsigned char)v[k] >= 0x20 && v[k] != 0x7f) luaL_addchar(b, v[k]);
    luaL_addchar(b, '\n');
}

void tv_lua_meta_record(lua_State *L, int vidx, const tv_response *resp) {
    vidx = tvL_absindex(L, vidx);
    if (!lua_istable(L, vidx)) return;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    add_status(&b, resp->status);
    for (int i = 0; i < TV_NMETA_HEADERS; i++) {
        const char *v = tv_response_meta(resp, i);
        if (!v) continue;
        /* tv_response_meta_set kept no control characters: copy at once */
        luaL_addchar(&b, (char)('a' + i));
        luaL_addchar(&b, ':');
        luaL_addstring(&b, v);
        luaL_addchar(&b, '\n');
    }
    store(L, vidx, &b);
}

void tv_lua_meta_record_headers(lua_State *L, int vidx, long status, int hidx) {
    vidx = tvL_absindex(L, vidx);
    hidx = tvL_absindex(L, hidx);
    if (!lua_istable(L, vidx)) return;
    /* collect first (the buffer must own the stack top while it is built) */
    const char *val[TV_NMETA_HEADERS] = {0};
    size_t vlen[TV_NMETA_HEADERS] = {0};
    int top0 = lua_gettop(L), base = top0;
    if (lua_istable(L, hidx)) {
        lua_pushnil(L);
        while (lua_next(L, hidx)) {
            int idx = -1;
            if (lua_type(L, -2) == LUA_TSTRING) {
                size_t kl;
                const char *k = lua_tolstring(L, -2, &kl);
                idx = tv_meta_header_index(k, kl);
            }
            int t = lua_type(L, -1);
            if (idx >= 0 && t == LUA_TTABLE) { /* a repeated header (ngx): its last value */
                lua_rawgeti(L, -1, (lua_Integer)tvL_rawlen(L, -1));
                lua_remove(L, -2);
                t = lua_type(L, -1);
            }
            if (idx >= 0 && (t == LUA_TSTRING || t == LUA_TNUMBER)) {
                lua_pushvalue(L, -1);
                val[idx] = lua_tolstring(L, -1, &vlen[idx]); /* the copy stays on the stack: alive */
                lua_insert(L, base + 1);                     /* below the iteration's key */
                base++;
            }
            lua_pop(L, 1);
        }
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    add_status(&b, status);
    for (int i = 0; i < TV_NMETA_HEADERS; i++)
        if (val[i]) add_header(&b, i, val[i], vlen[i]);
    store(L, vidx, &b);
    lua_settop(L, top0); /* drop the kept copies */
}
