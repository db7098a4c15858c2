/* test_lua_oom.c -- out-of-memory in the middle of real client calls.
 *
 * A lua_State whose allocator refuses to grow past a budget runs the
 * binding's client (libcurl transport, the emulator in-process on
 * 127.0.0.1) through fetch, a list page big enough to be converted
 * streaming (> 16 KiB), an HTTP error, a retried request and an update,
 * with a log and an on_retry hook, and fetch, list and an HTTP error on a
 * client without hooks.  For every budget from 0 bytes up to "enough", a call
 * must either finish (value or nil, err) or raise a memory error -- and
 * afterwards the same client must work (not left busy by a longjmp through
 * the core's attempt loop, nothing pending).  Under make asan and make
 * valgrind the same run proves that nothing leaks on any of those paths
 * (lua_close at the end frees every boxed tree; whatever is left is ours).
 * Linked like test_fuzz_replay (mk/memcheck.mk).  Builds and runs on every
 * Lua the module supports (5.1, 5.3, 5.4, LuaJIT 2.1): only API common to
 * all of them, the few differences in the compat block below. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>

#include "ctest.h"
#include "emulator/emu.h"

/* Lua 5.1 / LuaJIT compat: no LUA_OK before 5.2 (LuaJIT 2.1 has it), no
 * luaL_loadbufferx in 5.1, no luaL_tolstring before 5.2. */
#ifndef LUA_OK
#define LUA_OK 0
#endif
#if LUA_VERSION_NUM >= 502
#define load_text(L, s, n, name) luaL_loadbufferx(L, s, n, name, "t")
#else
#define load_text(L, s, n, name) luaL_loadbuffer(L, s, n, name)
#endif

/* the error value on top of the stack, as text (it is not always a string) */
static const char *error_text(lua_State *L) {
    const char *s = lua_tostring(L, -1);
    return s ? s : luaL_typename(L, -1);
}

int luaopen_twilio_verify_core(lua_State *L);

static struct {
    size_t used, limit;
} heap = {0, (size_t)-1};

static void *budget_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    (void)ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        heap.used -= old;
        return NULL;
    }
    if (nsize > old && heap.used - old + nsize > heap.limit) return NULL;
    void *p = realloc(ptr, nsize);
    if (p) heap.used = heap.used - old + nsize;
    return p;
}

static emu_server srv;

/* limit(bytes | nil): allow `bytes` more from now on, or no limit */
static int l_limit(lua_State *L) {
    heap.limit = lua_isnoneornil(L, 1) ? (size_t)-1 : heap.used + (size_t)luaL_checkinteger(L, 1);
    return 0;
}

/* fault(json): queue emulator faults (the control API, in-process) */
static int l_fault(lua_State *L) {
    size_t n;
    const char *body = luaL_checklstring(L, 1, &n);
    emu_response r;
    memset(&r, 0, sizeof r);
    r.status = 200;
    emu_control_handle(&srv, "POST", "/__emulator/faults", body, n, &r);
    int status = r.status;
    emu_response_free(&r);
    lua_pushboolean(L, status >= 200 && status <= 299);
    return 1;
}

static const char script[] =
    "local core, port = ...\n"
    "local SVC, ID = 'VA' .. string.rep('ab', 16), 'user-oom-0001'\n"
    "local retries, logs = 0, 0\n"
    "local c = assert(core.new{ account_sid = 'AC' .. string.rep('0', 32), auth_token = 'oom-token',\n"
    "  base_url = 'http://127.0.0.1:' .. port, max_retries = 1, retry_base = 0.001, retry_cap = 0.001,\n"
    "  log = function(ev) logs = logs + 1; local _ = ev.url .. ev.method end,\n"
    "  on_retry = function(n, d, e) retries = retries + 1; local _ = tostring(e) end })\n"
    "local plain = assert(core.new{ account_sid = 'AC' .. string.rep('0', 32), auth_token = 'oom-token',\n"
    "  base_url = 'http://127.0.0.1:' .. port, max_retries = 0 })\n" /* no hooks: errors reach tv_lua_fail */
    "local f = assert(c:create_factor(SVC, ID, { friendly_name = 'kept', factor_type = 'totp' }))\n"
    "for i = 1, 40 do\n" /* a page of 41 factors: over the 16 KiB streaming threshold
                            (Metadata: string values only, as the API and the emulator require) */
    "  assert(c:create_factor(SVC, ID, { friendly_name = string.rep('n', 60) .. i, factor_type = 'totp',\n"
    "    metadata = { os = 'Android', model = 'Pixel ' .. i, list = '1,2,deep' } }))\n"
    "end\n"
    "local dk = core.device.generate()\n" /* the virtual device's key primitives (lua_device.c) */
    "local dpub = dk:public_key()\n"
    "local ops = {\n"
    "  device_key = function() local k = core.device.generate(); local p = k:public_key(); k:close(); return p end,\n"
    "  device_sign = function() return core.device.verify(dpub, 'YF1', dk:sign('YF1')) end,\n"
    "  device_jwt = function() return core.device.verify_jwt(dpub, dk:jwt('{\"alg\":\"ES256\"}', '{\"a\":1}')) end,\n"
    "  device_payload = function() return core.device.challenge_payload(\n"
    "    '{\"sid\":\"YC1\",\"details\":{\"message\":\"x\",\"fields\":[]},\"n\":null}', 'sid,details,n', 'approved') end,\n"
    "  device_export = function() return core.device.import(dk:export()) end,\n"
    "  fetch = function() return c:fetch_factor(SVC, ID, f.sid) end,\n"
    "  list = function() return c:list_factor(SVC, ID, { page_size = 100 }) end,\n"
    "  http_error = function() return c:fetch_factor(SVC, ID, 'YF' .. string.rep('0', 32)) end,\n"
    "  retried = function() return c:fetch_factor(SVC, ID, f.sid) end,\n"
    "  update = function() return c:update_factor(SVC, ID, f.sid, { friendly_name = 'renamed' }) end,\n"
    "  plain_fetch = function() return plain:fetch_factor(SVC, ID, f.sid) end,\n"
    "  plain_list = function() return plain:list_factor(SVC, ID, { page_size = 100 }) end,\n"
    "  plain_error = function() return plain:fetch_factor(SVC, ID, 'YF' .. string.rep('0', 32)) end,\n"
    "}\n"
    "local function memory_error(e)\n"
    "  e = tostring(e)\n"
    "  return e:find('not enough memory', 1, true) or e:find('out of memory', 1, true)\n"
    "    or e:find('stack overflow', 1, true)\n"
    "end\n"
    "local budgets = {}\n"
    "for b = 0, 4096, 64 do budgets[#budgets + 1] = b end\n"
    "for b = 5120, 65536, 1024 do budgets[#budgets + 1] = b end\n"
    "for b = 73728, 524288, 8192 do budgets[#budgets + 1] = b end\n"
    "local raised, finished = 0, 0\n"
    "for _, name in ipairs{ 'fetch', 'list', 'http_error', 'retried', 'update', 'plain_fetch', 'plain_list',\n"
    "                       'plain_error', 'device_key', 'device_sign', 'device_jwt', 'device_payload',\n"
    "                       'device_export' } do\n"
    "  local op = ops[name]\n"
    "  for _, b in ipairs(budgets) do\n"
    "    if name == 'retried' then assert(fault('{\"faults\":[{\"action\":\"status\",\"status\":503,\"times\":1}]}')) end\n"
    "    collectgarbage()\n" /* no garbage for the emergency collection to free: the budget is real */
    "    limit(b)\n"
    "    local ok, v, err = pcall(op)\n"
    "    limit(nil)\n"
    "    if ok then\n"
    "      finished = finished + 1\n"
    "      assert(v ~= nil or type(err) == 'table', name)\n"
    "    else\n"
    "      raised = raised + 1\n"
    "      assert(memory_error(v), name .. ' at ' .. b .. ' bytes raised: ' .. tostring(v))\n"
    "    end\n"
    "    local g, e = c:fetch_factor(SVC, ID, f.sid)\n" /* the client is fine */
    "    assert(g, name .. ' at ' .. b .. ' bytes left the client broken: ' .. tostring(e))\n"
    "    if name == 'retried' then c:fetch_factor(SVC, ID, f.sid) end\n" /* an unused fault */
    "    collectgarbage()\n"
    "  end\n"
    "end\n"
    "assert(raised > 0 and finished > 0, 'budgets too small or too large')\n"
    "assert(retries > 0 and logs > 0, 'hooks never ran')\n"
    "c:close()\n"
    "plain:close()\n"
    "return raised, finished\n";

int main(void) {
    emu_config cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.account_sid, sizeof cfg.account_sid, "AC%032d", 0);
    cfg.auth_token = strdup("oom-token");
    if (!cfg.auth_token || emu_server_init(&srv, &cfg) != 0 || emu_server_start(&srv) != 0) {
        fprintf(stderr, "lua_oom: cannot start the emulator\n");
        return 1;
    }
    lua_State *L = lua_newstate(budget_alloc, NULL);
    CHECK(L != NULL);
    if (!L) return ct_report("lua_oom");
    luaL_openlibs(L);
    lua_register(L, "limit", l_limit);
    lua_register(L, "fault", l_fault);
    int rc = load_text(L, script, sizeof script - 1, "=test_lua_oom");
    CHECK(rc == LUA_OK);
    lua_pushcfunction(L, luaopen_twilio_verify_core);
    lua_pushliteral(L, "twilio.verify.core");
    CHECK(lua_pcall(L, 1, 1, 0) == LUA_OK);
    lua_pushinteger(L, (lua_Integer)srv.bound_port);
    rc = lua_pcall(L, 2, 2, 0);
    if (rc != LUA_OK) fprintf(stderr, "lua_oom: %s\n", error_text(L));
    CHECK(rc == LUA_OK);
    if (rc == LUA_OK)
        printf("  %lld calls raised a memory error, %lld finished; the client worked after each\n",
               (long long)lua_tointeger(L, -2), (long long)lua_tointeger(L, -1));
    lua_close(L);
    emu_server_stop(&srv);
    emu_server_free(&srv);
    return ct_report("lua_oom");
}
