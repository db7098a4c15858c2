/* lua_core.c -- luaopen_twilio_verify_core: the module table, made of the
 * parts of the binding.  The only file that knows all of them: each other
 * lua_*.c file depends on those below it (lua_client <- lua_ops <-
 * lua_transport, lua_batch), never on this one. */
#include "lua_tv.h"
#include "tv.h"

int luaopen_twilio_verify_core(lua_State *L);

int luaopen_twilio_verify_core(lua_State *L) {
    if (tv_http_global_init() != 0) return luaL_error(L, "twilio.verify: curl_global_init failed");
    lua_newtable(L);
    lua_pushliteral(L, TV_VERSION);
    lua_setfield(L, -2, "_VERSION");
    lua_pushstring(L, tv_http_curl_version());
    lua_setfield(L, -2, "curl_version");
    lua_pushlightuserdata(L, NULL); /* the JSON null sentinel inside arrays */
    lua_setfield(L, -2, "null");
    /* the client's methods: its own, then one per row of the operation
     * table, the Lua-transport steps and the batch */
    tv_lua_error_init(L);
    tv_lua_client_open(L);
    tv_lua_ops_methods(L);
    tv_lua_transport_methods(L);
    tv_lua_batch_methods(L);
    tv_lua_client_seal(L);
    lua_setfield(L, -2, "Client");
    tv_lua_client_funcs(L);
    tv_lua_ops_funcs(L);
    tv_lua_batch_funcs(L);
    tv_lua_transport_funcs(L);
    tv_lua_meta_open(L);
    tv_lua_open_totp(L);
    lua_setfield(L, -2, "totp");
    tv_lua_open_webhook(L);
    lua_setfield(L, -2, "webhook");
    tv_lua_open_device(L);
    lua_setfield(L, -2, "device");
    return 1;
}
