/* lua_json.c -- the one place JSON becomes Lua (and Lua tables become JSON
 * for Metadata).  Guarded: luaL_checkstack per level, a depth limit; the
 * caller keeps the cJSON tree boxed (owned by a userdata) while this runs,
 * so a raise (out of memory) leaks nothing. */
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "lua_tv.h"
#include "tv.h"

#define TV_JSON_MAX_DEPTH 1000

static void push_value(lua_State *L, const cJSON *it, int depth) {
    if (depth > TV_JSON_MAX_DEPTH) luaL_error(L, "JSON nested deeper than %d levels", TV_JSON_MAX_DEPTH);
    luaL_checkstack(L, 4, "JSON nested too deeply");
    if (cJSON_IsString(it)) {
        lua_pushstring(L, it->valuestring);
    } else if (cJSON_IsNumber(it)) {
        double d = it->valuedouble;
#if LUA_VERSION_NUM >= 503
        if (d == floor(d) && d >= -9007199254740992.0 && d <= 9007199254740992.0)
            lua_pushinteger(L, (lua_Integer)d);
        else
#endif
            lua_pushnumber(L, d);
    } else if (cJSON_IsObject(it)) {
        int n = 0;
        for (const cJSON *c = it->child; c; c = c->next) n++;
        lua_createtable(L, 0, n);
        for (const cJSON *c = it->child; c; c = c->next) {
            if (cJSON_IsNull(c) || !c->string) continue; /* null -> absent key */
            lua_pushstring(L, c->string);
            push_value(L, c, depth + 1);
            lua_rawset(L, -3);
        }
    } else if (cJSON_IsArray(it)) {
        int n = 0;
        for (const cJSON *c = it->child; c; c = c->next) n++;
        lua_createtable(L, n, 0);
        int i = 1;
        for (const cJSON *c = it->child; c; c = c->next) {
            push_value(L, c, depth + 1);
            lua_rawseti(L, -2, i++);
        }
    } else if (cJSON_IsBool(it)) {
        lua_pushboolean(L, cJSON_IsTrue(it));
    } else { /* null inside an array: the sentinel keeps positions */
        lua_pushlightuserdata(L, NULL);
    }
}

void tv_lua_push_json(lua_State *L, const cJSON *item) {
    if (!item) {
        lua_pushnil(L);
        return;
    }
    push_value(L, item, 0);
}
