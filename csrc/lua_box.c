/* lua_box.c -- tv_lua_box: C memory owned by a Lua userdata (freed by its
 * __gc), so a raise never leaks it (LPeg's way).  The lowest part of the
 * binding: every other lua_*.c file may use it, it uses none of them. */
#include <string.h>

#include "lua_tv.h"

void *tv_lua_box(lua_State *L, size_t size, const char *mt, lua_CFunction gc) {
    void *p = lua_newuserdata(L, size);
    memset(p, 0, size);
    if (luaL_newmetatable(L, mt)) {
        lua_pushcfunction(L, gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    return p;
}
