/* lua_error.c -- tv_error -> Lua error table with __tostring and __concat. */
#include <cjson/cJSON.h>
#include <string.h>

#include "lua_tv.h"

static void set_str(lua_State *L, const char *k, const char *v) {
    if (!v || !*v) return;
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

static void set_int(lua_State *L, const char *k, long v) {
    if (!v) return;
    lua_pushinteger(L, (lua_Integer)v);
    lua_setfield(L, -2, k);
}

/* err.details is JSON text; decode it so callers get a table.  The tree is
 * freed before anything that can raise runs on it... except the push itself,
 * so details are bounded and pushing them is done from a boxed tree. */
static int box_gc(lua_State *L) {
    cJSON **box = (cJSON **)lua_touserdata(L, 1);
    if (box && *box) {
        cJSON_Delete(*box);
        *box = NULL;
    }
    return 0;
}

static void set_details(lua_State *L, const char *json) {
    if (!json) return;
    cJSON **box = (cJSON **)tv_lua_box(L, sizeof *box, "twilio.verify.jsonbox", box_gc);
    *box = cJSON_Parse(json);
    if (*box) {
        tv_lua_push_json(L, *box);
        lua_setfield(L, -3, "details");
        cJSON_Delete(*box);
        *box = NULL;
    }
    lua_pop(L, 1);
}

void tv_lua_push_error(lua_State *L, const tv_error *err) {
    lua_createtable(L, 0, 12);
    set_str(L, "kind", tv_kind_name(err->kind));
    set_str(L, "message", err->message[0] ? err->message : tv_kind_name(err->kind));
    set_str(L, "param", err->param);
    set_int(L, "status", err->status);
    set_int(L, "code", err->code);
    set_str(L, "more_info", err->more_info);
    set_str(L, "method", err->method);
    set_str(L, "url", err->url);
    set_str(L, "request_id", err->request_id);
    set_str(L, "body", err->body);
    set_int(L, "transport_code", err->transport_code);
    lua_pushboolean(L, err->retryable);
    lua_setfield(L, -2, "retryable");
    if (err->retry_after >= 0) {
        lua_pushnumber(L, err->retry_after);
        lua_setfield(L, -2, "retry_after");
    }
    set_details(L, err->details);
    luaL_getmetatable(L, TV_LUA_ERROR_MT);
    lua_setmetatable(L, -2);
}

static int errbox_gc(lua_State *L) {
    tv_error_clear((tv_error *)lua_touserdata(L, 1));
    return 0;
}

static int errbox_new(lua_State *L) {
    tv_error *boxed = (tv_error *)tv_lua_box(L, sizeof *boxed, "twilio.verify.errbox", errbox_gc);
    tv_error init = TV_ERROR_INIT;
    *boxed = init;
    return 1;
}

int tv_lua_fail(lua_State *L, tv_error *err) {
    tv_error init = TV_ERROR_INIT;
    /* Move the record into a Lua-owned box first: if a push below raises
     * (out of memory), __gc still frees the heap members.  The box itself
     * is made under lua_pcall, so when even that fails the record is freed
     * here before the memory error goes on. */
    if (!lua_checkstack(L, 4)) {
        tv_error_clear(err);
        return luaL_error(L, "out of memory");
    }
    lua_pushnil(L);
    lua_pushcfunction(L, errbox_new);
    if (lua_pcall(L, 0, 1, 0) != 0) {
        tv_error_clear(err);
        return lua_error(L);
    }
    tv_error *boxed = (tv_error *)lua_touserdata(L, -1);
    *boxed = *err;
    *err = init;
    tv_lua_push_error(L, boxed);
    tv_error_clear(boxed);
    lua_remove(L, -2); /* the box */
    return 2;
}

/* s without control characters (each becomes a space): an error's fields
 * may have been set by Lua code (a transport's message, a caller's edit),
 * and tostring(err) goes into log lines. */
static void add_clean(luaL_Buffer *b, const char *s) {
    for (; s && *s; s++) luaL_addchar(b, ((unsigned char)*s < 0x20 || *s == 0x7f) ? ' ' : *s);
}

static int error_tostring(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_Buffer b;
    lua_getfield(L, 1, "kind");
    lua_getfield(L, 1, "message");
    lua_getfield(L, 1, "status");
    lua_getfield(L, 1, "code");
    lua_getfield(L, 1, "method");
    lua_getfield(L, 1, "url");
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "twilio.verify: ");
    const char *kind = lua_tostring(L, 2);
    add_clean(&b, kind ? kind : "error");
    luaL_addstring(&b, " error");
    if (lua_isnumber(L, 4)) {
        lua_pushfstring(L, " %d", (int)lua_tointeger(L, 4));
        luaL_addvalue(&b);
    }
    if (lua_isnumber(L, 5)) {
        lua_pushfstring(L, " (code %d)", (int)lua_tointeger(L, 5));
        luaL_addvalue(&b);
    }
    luaL_addstring(&b, ": ");
    add_clean(&b, lua_tostring(L, 3));
    if (lua_isstring(L, 6) && lua_isstring(L, 7)) {
        luaL_addstring(&b, " [");
        add_clean(&b, lua_tostring(L, 6));
        luaL_addchar(&b, ' ');
        add_clean(&b, lua_tostring(L, 7));
        luaL_addchar(&b, ']');
    }
    luaL_pushresult(&b);
    return 1;
}

/* Is the value at idx an error object (a table with this metatable)? */
static int is_error(lua_State *L, int idx) {
    if (lua_type(L, idx) != LUA_TTABLE || !lua_getmetatable(L, idx)) return 0;
    luaL_getmetatable(L, TV_LUA_ERROR_MT);
    int same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return same;
}

/* Push operand idx of a concatenation as a string: an error object as its
 * __tostring text, a string or number as Lua's `..` would convert it. */
static void concat_operand(lua_State *L, int idx) {
    int t = lua_type(L, idx);
    if (t == LUA_TSTRING || t == LUA_TNUMBER) {
        lua_pushvalue(L, idx);
        (void)lua_tostring(L, -1); /* converts the copy, never the operand */
    } else if (is_error(L, idx)) {
        lua_pushcfunction(L, error_tostring);
        lua_pushvalue(L, idx);
        lua_call(L, 1, 1);
    } else {
        luaL_error(L, "attempt to concatenate a %s value", luaL_typename(L, idx));
    }
}

/* "failed: " .. err, err .. "\n", 1 .. err, err .. err: the error reads as
 * tostring(err) where lua-resty code expects a string error. */
static int error_concat(lua_State *L) {
    lua_settop(L, 2);
    concat_operand(L, 1);
    concat_operand(L, 2);
    lua_concat(L, 2);
    return 1;
}

void tv_lua_error_init(lua_State *L) {
    if (luaL_newmetatable(L, TV_LUA_ERROR_MT)) {
        lua_pushcfunction(L, error_tostring);
        lua_setfield(L, -2, "__tostring");
        lua_pushcfunction(L, error_concat);
        lua_setfield(L, -2, "__concat");
        lua_pushstring(L, "twilio.verify.error");
        lua_setfield(L, -2, "__name");
    }
    lua_pop(L, 1);
}
