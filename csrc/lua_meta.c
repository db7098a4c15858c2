/* lua_meta.c -- what a success answer said besides its body: the status and
 * the headers of tv_meta_header_names, for verify.response_of(value).
 *
 * Recorded per value in a weak-keyed table (the registry's META_KEY, also
 * core._responses) as one string, so a call that nobody asks about costs
 * one string and one table slot.  Format: "<status>\n" then one
 * "<letter>:<value>\n" per header present ('a' + its index); or, for a
 * 2xx answer of the libcurl transport, its raw header lines (status line
 * first), and for a Lua transport's, { status, the headers table it
 * returned }: turned into that form only when asked (core._meta_expand),
 * by the same rules and bounds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lua_tv.h"
#include "tv.h"

static const char META_KEY[] = "twilio.verify.responses";

static int l_meta_expand(lua_State *L);
static void push_compact_slots(lua_State *L, long status, int base);

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
    lua_pushcfunction(L, l_meta_expand);
    lua_setfield(L, -2, "_meta_expand");
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

/* The compact form of resp's tracked headers, pushed */
static void push_compact(lua_State *L, const tv_response *resp) {
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
    luaL_pushresult(&b);
}

/* A 2xx answer of the libcurl transport keeps its header lines raw
 * (tv_response.raw, starting with the status line): they are stored as
 * they are, one string, and parsed only if verify.response_of asks
 * (l_meta_expand).  Otherwise the compact form. */
void tv_lua_meta_record(lua_State *L, int vidx, const tv_response *resp) {
    vidx = tvL_absindex(L, vidx);
    if (!lua_istable(L, vidx)) return;
    lua_getfield(L, LUA_REGISTRYINDEX, META_KEY);
    lua_pushvalue(L, vidx);
    if (resp->raw.len) lua_pushlstring(L, resp->raw.data, resp->raw.len);
    else push_compact(L, resp);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

static int rbox_gc(lua_State *L) {
    tv_response_free((tv_response *)lua_touserdata(L, 1));
    return 0;
}

/* core._meta_expand(s) -> the compact form of a raw block that
 * tv_lua_meta_record stored ("HTTP/..." first), parsed by the libcurl
 * transport's own header rules (tv_response_meta_load); s itself otherwise. */
static int l_meta_expand(lua_State *L) {
    if (lua_istable(L, 1)) { /* { status, headers }: a Lua transport's 2xx (tv_lua_meta_record_lazy) */
        lua_settop(L, 1);
        lua_rawgeti(L, 1, 1);
        long status = (long)lua_tointeger(L, 2);
        lua_rawgeti(L, 1, 2);
        int base = tv_lua_headers_collect(L, 3);
        push_compact_slots(L, status, base);
        return 1;
    }
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    if (n < 5 || memcmp(s, "HTTP/", 5) != 0) {
        lua_settop(L, 1);
        return 1;
    }
    tv_response *r = (tv_response *)tv_lua_box(L, sizeof *r, "twilio.verify.rbox", rbox_gc);
    r->retry_after = -1;
    const char *sp = memchr(s, ' ', n);
    r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
    if (tv_buf_add(&r->raw, s, n) || tv_response_meta_load(r)) return luaL_error(L, "out of memory");
    push_compact(L, r);
    tv_response_free(r);
    return 1;
}

/* A hostile transport (or upstream: ngx.location.capture keeps the case of
 * the names it received) may send any number of spellings of one name.
 * One fixed stack slot per tracked name holds the winning key while the
 * table is walked -- of several spellings, the smallest in byte order, so
 * the choice does not depend on lua_next's order -- and then its value. */
int tv_lua_headers_collect(lua_State *L, int hidx) {
    hidx = tvL_absindex(L, hidx);
    luaL_checkstack(L, TV_NMETA_HEADERS + 6, "response headers");
    int base = lua_gettop(L) + 1;
    for (int i = 0; i < TV_NMETA_HEADERS; i++) lua_pushnil(L);
    if (!lua_istable(L, hidx)) return base;
    int seen = 0, over = 0;
    lua_pushnil(L);
    while (lua_next(L, hidx)) {
        if (++seen > TV_LUA_MAX_HEADERS) { /* too many: none of them is read */
            lua_pop(L, 2);
            over = 1;
            break;
        }
        if (lua_type(L, -2) == LUA_TSTRING) {
            size_t kl;
            const char *k = lua_tolstring(L, -2, &kl);
            int idx = tv_meta_header_index(k, kl); /* exact length: "Retry-After\0x" is no match */
            if (idx >= 0) {
                int slot = base + idx;
                size_t ol = 0;
                const char *old = lua_isnil(L, slot) ? NULL : lua_tolstring(L, slot, &ol);
                if (!old || (ol == kl && memcmp(k, old, kl) < 0)) {
                    lua_pushvalue(L, -2);
                    lua_replace(L, slot);
                }
            }
        }
        lua_pop(L, 1); /* the value; the key stays for lua_next */
    }
    for (int i = 0; i < TV_NMETA_HEADERS; i++) {
        int slot = base + i;
        if (over || lua_isnil(L, slot)) {
            lua_pushnil(L);
            lua_replace(L, slot);
            continue;
        }
        lua_pushvalue(L, slot);
        lua_rawget(L, hidx);
        if (lua_type(L, -1) == LUA_TTABLE) { /* a repeated header (ngx): its last value */
            lua_rawgeti(L, -1, (lua_Integer)tvL_rawlen(L, -1));
            lua_remove(L, -2);
        }
        int t = lua_type(L, -1);
        if (t == LUA_TNUMBER) (void)lua_tostring(L, -1); /* a copy: converted in place */
        else if (t != LUA_TSTRING) {
            lua_pop(L, 1);
            lua_pushnil(L);
        }
        lua_replace(L, slot);
    }
    return base;
}

/* The compact form from the slots tv_lua_headers_collect pushed at base, pushed */
static void push_compact_slots(lua_State *L, long status, int base) {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    add_status(&b, status);
    for (int i = 0; i < TV_NMETA_HEADERS; i++) {
        size_t vl = 0;
        const char *v = lua_isstring(L, base + i) ? lua_tolstring(L, base + i, &vl) : NULL;
        if (v) add_header(&b, i, v, vl);
    }
    luaL_pushresult(&b);
}

void tv_lua_meta_record_slots(lua_State *L, int vidx, long status, int base) {
    vidx = tvL_absindex(L, vidx);
    if (!lua_istable(L, vidx)) return;
    lua_getfield(L, LUA_REGISTRYINDEX, META_KEY);
    lua_pushvalue(L, vidx);
    push_compact_slots(L, status, base);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

void tv_lua_meta_record_lazy(lua_State *L, int vidx, long status, int hidx) {
    vidx = tvL_absindex(L, vidx);
    hidx = tvL_absindex(L, hidx);
    if (!lua_istable(L, vidx)) return;
    lua_getfield(L, LUA_REGISTRYINDEX, META_KEY);
    lua_pushvalue(L, vidx);
    lua_createtable(L, 2, 0);
    lua_pushinteger(L, (lua_Integer)status);
    lua_rawseti(L, -2, 1);
    lua_pushvalue(L, hidx);
    lua_rawseti(L, -2, 2);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}
