/* fuzz_lua_pages.c -- libFuzzer harness: the Lua layer's response handling
 * (lua/twilio/verify.lua: pages, resource objects, iterators, batches) with
 * server bodies of the fuzzer's choosing, through a Lua transport.
 *
 * One lua_State with the standard libraries, the binding
 * (luaopen_twilio_verify_core, linked in, as package.preload) and the Lua
 * module from $TV_LUA_DIR (default "lua": run from the repository root).
 * One client whose transport is a Lua function answering every request
 * with { status = 200, headers = {...}, body = <the input> } -- at most
 * FLP_CALLS times per input, then a transport error, so a body whose
 * next_page_url leads back to itself cannot loop forever.
 *
 * Per input, a Lua driver (below) calls, each under pcall:
 * list_factor, page:next_page() / previous_page(), the factors iterator
 * (it:next() and a for loop), fetch_factor and obj:fetch(), list_challenge,
 * list_entity, fetch_challenge, list_page(url) and a batch (fetch + list)
 * -- converting every object and page it gets with tostring().
 * The invariant: every call returns a value or (nil, err) with err a table
 * whose `kind` is a string; a for loop over an iterator may raise, but only
 * such an error table.  Anything else -- a raise of a plain string ("bad
 * argument #1 to 'setmetatable'", "attempt to index a nil value") or
 * (nil, nil) -- is a finding: the driver names each (up to 8 per input,
 * one line each) and the harness aborts.
 * Leaks of C memory are found by LeakSanitizer (the boxes' __gc). */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "fuzz.h"

#ifndef LUA_OK /* Lua 5.1 */
#define LUA_OK 0
#endif

int luaopen_twilio_verify_core(lua_State *L);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lua_State *flp_L;

/* The driver: a chunk returning function(body) -> nil | finding (string). */
static const char flp_driver[] =
    "local verify = require 'twilio.verify'\n"
    "local SVC, ID = 'VA' .. string.rep('ab', 16), 'fuzz-user-0001'\n"
    "local SID, CH = 'YF' .. string.rep('cd', 16), 'YC' .. string.rep('ef', 16)\n"
    "local BASE = 'http://127.0.0.1:9'\n"
    "local MAX_CALLS = 8\n"
    "local state = { body = '', calls = 0 }\n"
    "local function transport(req)\n"
    "  state.calls = state.calls + 1\n"
    "  if state.calls > MAX_CALLS then\n"
    "    return nil, { message = 'fuzz: request budget spent', unsent = true }\n"
    "  end\n"
    "  return { status = 200, body = state.body,\n"
    "           headers = { ['Content-Type'] = 'application/json', ['Twilio-Request-Id'] = 'RQ' .. string.rep('0', 32) } }\n"
    "end\n"
    "local client = assert(verify.new{ account_sid = 'AC' .. string.rep('0', 32), auth_token = 'fuzz-token',\n"
    "  base_url = BASE, transport = transport, max_retries = 0 })\n"
    "local findings\n"
    "local function fail(what, msg)\n"
    "  if #findings < 8 then findings[#findings + 1] = what .. ': ' .. msg end\n"
    "end\n"
    "local function structured(e) return type(e) == 'table' and type(e.kind) == 'string' end\n"
    "local function show(v) return type(v) == 'string' and string.format('%q', v) or tostring(v) end\n"
    /* a value the library handed out must convert with tostring() */
    "local function stringify(what, v)\n"
    "  local ok, s = pcall(tostring, v)\n"
    "  if not ok then fail(what .. ' tostring', 'raised ' .. show(s)) elseif type(s) ~= 'string' then\n"
    "    fail(what .. ' tostring', 'returned ' .. type(s)) end\n"
    "end\n"
    /* call fn(...) fresh (request budget reset); returns the value or nil */
    "local function call(what, fn, ...)\n"
    "  state.calls = 0\n"
    "  local ok, v, err = pcall(fn, ...)\n"
    "  if not ok then fail(what, 'raised ' .. show(v)) return nil end\n"
    "  if v == nil then\n"
    "    if not structured(err) then fail(what, 'returned nil, ' .. show(err) .. ' (not an error table with a kind)') end\n"
    "    stringify(what .. ' error', err)\n"
    "    return nil\n"
    "  end\n"
    "  stringify(what, v)\n"
    "  return v\n"
    "end\n"
    "local function walk_page(what, page, key)\n"
    "  if type(page) ~= 'table' then fail(what, 'page is a ' .. type(page)) return end\n"
    "  local items = rawget(page, key)\n"
    "  if type(items) == 'table' then\n"
    "    for i = 1, #items do if type(items[i]) == 'table' then stringify(what .. ' item', items[i]) end end\n"
    "  end\n"
    "  for _, nav in ipairs{ 'next_page', 'previous_page' } do\n"
    "    if type(page[nav]) == 'function' then\n"
    "      state.calls = 0\n"
    "      local ok, p, err = pcall(page[nav], page)\n"
    "      if not ok then fail(what .. ':' .. nav, 'raised ' .. show(p))\n"
    "      elseif p == nil and err ~= nil and not structured(err) then fail(what .. ':' .. nav, 'error ' .. show(err))\n"
    "      elseif p ~= nil then stringify(what .. ':' .. nav, p) end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return function(body)\n"
    "  findings = {}\n"
    "  state.body = body\n"
    "  local page = call('list_factor', client.list_factor, client, SVC, ID, { page_size = 3 })\n"
    "  if page then walk_page('list_factor', page, 'factors') end\n"
    "  page = call('list_challenge', client.list_challenge, client, SVC, ID)\n"
    "  if page then walk_page('list_challenge', page, 'challenges') end\n"
    "  page = call('list_entity', client.list_entity, client, SVC)\n"
    "  if page then walk_page('list_entity', page, 'entities') end\n"
    "  page = call('list_page', client.list_page, client,\n"
    "    BASE .. '/v2/Services/' .. SVC .. '/Entities/' .. ID .. '/Factors?PageSize=2&Page=1&PageToken=PA1')\n"
    "  if page then walk_page('list_page', page, 'factors') end\n"
    /* the iterator, by hand: nil (the end), an object, or nil + error */
    "  state.calls = 0\n"
    "  local okit, it = pcall(client.factors, client, SVC, ID, { page_size = 2, limit = 40 })\n"
    "  if not okit then fail('factors', 'raised ' .. show(it)) else\n"
    "    for _ = 1, 41 do\n"
    "      local ok, f, err = pcall(it.next, it)\n"
    "      if not ok then fail('factors:next', 'raised ' .. show(f)) break end\n"
    "      if f == nil then\n"
    "        if err ~= nil and not structured(err) then fail('factors:next', 'error ' .. show(err)) end\n"
    "        break\n"
    "      end\n"
    "      stringify('factors:next item', f)\n"
    "    end\n"
    "  end\n"
    /* ... and in a for loop, which raises the error table itself */
    "  state.calls = 0\n"
    "  local ok, err = pcall(function()\n"
    "    for f in client:challenges(SVC, ID, { limit = 40 }) do stringify('challenges loop item', f) end\n"
    "  end)\n"
    "  if not ok and not structured(err) then fail('challenges loop', 'raised ' .. show(err)) end\n"
    "  local f = call('fetch_factor', client.fetch_factor, client, SVC, ID, SID)\n"
    "  if type(f) == 'table' and type(f.fetch) == 'function' then call('factor:fetch', f.fetch, f) end\n"
    "  call('fetch_challenge', client.fetch_challenge, client, SVC, ID, CH)\n"
    "  call('fetch_entity', client.fetch_entity, client, SVC, ID)\n"
    "  state.calls = 0\n"
    "  local okb, res = pcall(client.batch, client, {\n"
    "    { op = 'fetch', service_sid = SVC, identity = ID, sid = SID },\n"
    "    { op = 'list', service_sid = SVC, identity = ID },\n"
    "    { op = 'list_challenge', service_sid = SVC, identity = ID },\n"
    "  }, { concurrency = 1 })\n"
    "  if not okb then fail('batch', 'raised ' .. show(res))\n"
    "  elseif type(res) ~= 'table' then fail('batch', 'returned ' .. show(res))\n"
    "  else\n"
    "    for i = 1, 3 do\n"
    "      local r = res[i]\n"
    "      if type(r) ~= 'table' or (r.ok == nil and not structured(r.err)) then\n"
    "        fail('batch', 'result ' .. i .. ' is neither ok nor a structured error')\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  if #findings > 0 then return table.concat(findings, '\\n  ') end\n"
    "end\n";

static void flp_init(void) {
    flp_L = luaL_newstate();
    FZ_ASSERT(flp_L != NULL);
    lua_State *L = flp_L;
    luaL_openlibs(L);
    /* the binding from this binary, the Lua module from the source tree */
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "preload");
    lua_pushcfunction(L, luaopen_twilio_verify_core);
    lua_setfield(L, -2, "twilio.verify.core");
    lua_pop(L, 1);
    const char *dir = getenv("TV_LUA_DIR");
    if (!dir || !*dir) dir = "lua";
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua", dir, dir);
    lua_setfield(L, -2, "path");
    lua_pushliteral(L, "");
    lua_setfield(L, -2, "cpath");
    lua_pop(L, 1);
    if (luaL_loadbuffer(L, flp_driver, sizeof flp_driver - 1, "=fuzz_lua_pages") != LUA_OK ||
        lua_pcall(L, 0, 1, 0) != LUA_OK) {
        fprintf(stderr, "fuzz_lua_pages: could not load the driver (is %s/twilio/verify.lua there?): %s\n", dir,
                lua_tostring(L, -1));
        abort();
    }
    FZ_ASSERT(lua_isfunction(L, -1));
    lua_setfield(L, LUA_REGISTRYINDEX, "flp.driver");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!flp_L) flp_init();
    lua_State *L = flp_L;
    lua_getfield(L, LUA_REGISTRYINDEX, "flp.driver");
    lua_pushlstring(L, (const char *)data, size);
    int rc = lua_pcall(L, 1, 1, 0);
    if (rc != LUA_OK) {
        fprintf(stderr, "fuzz_lua_pages: the driver itself raised: %s\n", lua_tostring(L, -1));
        FZ_ASSERT(rc == LUA_OK);
    }
    if (!lua_isnil(L, -1)) {
        fprintf(stderr, "fuzz_lua_pages: finding: %s\n", lua_tostring(L, -1));
        FZ_ASSERT(lua_isnil(L, -1));
    }
    lua_settop(L, 0);
    /* a full collection after every input: the boxes' __gc free the C side
     * now, and the heap ends each input where it began -- otherwise
     * libFuzzer sees more mallocs than frees and runs LeakSanitizer's
     * (slow) check after nearly every input */
    lua_gc(L, LUA_GCCOLLECT, 0);
    return 0;
}
