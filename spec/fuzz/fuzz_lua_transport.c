/* fuzz_lua_transport.c -- libFuzzer harness: the Lua-transport response
 * path (lua_transport.c _finish, lua_meta.c tv_lua_headers_collect and
 * the response_of record, lua_error.c) with response tables of the
 * fuzzer's making, and the OpenResty transport (lua/twilio/verify/
 * openresty.lua) with an `ngx.location.capture` result `res` of its making.
 * Written after issue 23 item 1 (150 spellings of one header corrupted
 * the heap): the headers are the point.
 *
 * One lua_State with the standard libraries, the binding (linked in, as
 * package.preload) and the Lua module from $TV_LUA_DIR (default "lua").
 *
 * Input: byte 0 = mode (bits 0-1: 0 a custom transport's response table,
 * 1 the OpenResty transport over a mock ngx whose location.capture returns
 * the fuzzed res, 2 core.parse_response(op, status, body, headers), 3 a
 * transport failing with a fuzzed error; bit 2: the body is a valid entity
 * instead of the data; bit 3: 64 times as many header entries; bit 4:
 * values repeated up to 64 KiB; bits 5-6: the operation (fetch, create,
 * delete, list of entities)); byte 1 = status (an index into a list with
 * 2xx, 4xx, 5xx, 0, negative and huge ones); byte 2 = number of header
 * entries; the rest (D) seeds the entries -- each key is a spelling of a
 * kept header name (upper/lower case by a mask), a near miss (a byte more,
 * a NUL inside), a slice of D (controls, NULs) or not a string at all, and
 * each value a slice of D, a number (NaN, inf, huge), a repeated header
 * (an array: empty, with holes, nested), a boolean, a function or a table
 * with a raising metatable -- and is the body unless bit 2 is set.
 *
 * The driver (below) checks, independently of the C code:
 *  - every call returns a value or (nil, err) with err an error table
 *    whose kind is a string; nothing raises;
 *  - on success, verify.response_of(value) holds exactly the headers the
 *    rules of lua_tv.h say: for each kept name, the value of the smallest
 *    spelling in byte order (a number converted, a table's last element),
 *    its first 8192 bytes without control characters -- and none at all
 *    from a table of more than 256 entries;
 *  - on failure, err.request_id is the kept Twilio-Request-Id with only
 *    printable non-space ASCII, and neither err.message nor tostring(err)
 *    holds a control character.
 * Anything else is a finding: the driver names it and the harness aborts.
 * Leaks are found by LeakSanitizer (the boxes' __gc). */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "fuzz.h"

#ifndef LUA_OK /* Lua 5.1 */
#define LUA_OK 0
#endif

int luaopen_twilio_verify_core(lua_State *L);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lua_State *flt_L;

static const char flt_driver[] =
    "local verify = require 'twilio.verify'\n"
    "local openresty = require 'twilio.verify.openresty'\n"
    "local core = require 'twilio.verify.core'\n"
    "local byte, sub, rep, char = string.byte, string.sub, string.rep, string.char\n"
    "local rawlen = rawlen or function(t) return #t end\n"
    "local SVC, ID = 'VA' .. rep('ab', 16), 'fuzz-user-0001'\n"
    "local ACCOUNT = 'AC' .. rep('0', 32)\n"
    "local ENTITY = '{\"sid\":\"YE' .. rep('4', 32) .. '\",\"identity\":\"' .. ID .. '\",\"account_sid\":\"' .. ACCOUNT\n"
    "  .. '\",\"service_sid\":\"' .. SVC .. '\",\"url\":\"https://verify.twilio.com/x\",\"links\":{}}'\n"
    "local PAGE = '{\"entities\":[' .. ENTITY .. '],\"meta\":{\"page\":0,\"page_size\":50,\"key\":\"entities\"}}'\n"
    "local NAMES = core.response_headers\n"
    "local STATUS = { 200, 201, 204, 299, 400, 401, 403, 404, 429, 500, 502, 503, 504, 0, -1, 99, 100, 300, 999,\n"
    "                 2147483647, -2147483648, 2 ^ 53 }\n"
    "local OPS = { 'fetch_entity', 'create_entity', 'delete_entity', 'list_entity' }\n"
    "local state = {}\n"
    "local findings\n"
    "local function fail(what) if #findings < 8 then findings[#findings + 1] = what end end\n"
    "local function show(v) return type(v) == 'string' and string.format('%q', v:sub(1, 200)) or tostring(v) end\n"
    "local function clean(s) return type(s) == 'string' and not s:find('[%c\\127]') end\n"
    /* the byte order of two strings (not strcoll) */
    "local function less(a, b)\n"
    "  local n = math.min(#a, #b)\n"
    "  for i = 1, n do local x, y = byte(a, i), byte(b, i) if x ~= y then return x < y end end\n"
    "  return #a < #b\n"
    "end\n"
    /* ---- building the headers table from D */
    "local function slice(D, at, n)\n"
    "  if #D == 0 then return '' end\n"
    "  at = at % #D + 1\n"
    "  return sub(D, at, at + n - 1)\n"
    "end\n"
    "local spellings = {}\n"
    "local function spelling(name, mask)\n"
    "  mask = mask % 256\n"
    "  local ck = name .. mask\n"
    "  local s = spellings[ck]\n"
    "  if s then return s end\n"
    "  local b = { byte(name:lower(), 1, -1) }\n"
    "  local bit = 0\n"
    "  for i = 1, #b do\n"
    "    if b[i] >= 97 and b[i] <= 122 then\n"
    "      if math.floor(mask / 2 ^ (bit % 24)) % 2 == 1 then b[i] = b[i] - 32 end\n"
    "      bit = bit + 1\n"
    "    end\n"
    "  end\n"
    "  s = char((table.unpack or unpack)(b))\n"
    "  spellings[ck] = s\n"
    "  return s\n"
    "end\n"
    "local raising = setmetatable({}, { __index = function() error('metatable consulted') end,\n"
    "                                    __len = function() error('__len consulted') end })\n"
    "local function key_of(D, i, c)\n"
    "  local k = c % 10\n"
    "  local name = NAMES[(c + i) % #NAMES + 1]\n"
    "  if k <= 4 then return spelling(name, i * 7 + c) end\n"
    "  if k == 5 then return spelling(name, c) .. slice(D, i, 1) end\n"
    "  if k == 6 then local s = spelling(name, i) return sub(s, 1, 3) .. '\\0' .. sub(s, 5) end\n"
    "  if k == 7 then return slice(D, i * 3, c % 32) end\n"
    "  if k == 8 then return (c % 2 == 0) and i or (i + 0.5) end\n"
    "  return (c % 2 == 0) and (i % 2 == 0) or { i }\n"
    "end\n"
    "local NUMBERS = { 0, -0.0, 1, -1, 0.5, 1 / 0, -1 / 0, 0 / 0, 2 ^ 63, -2 ^ 63, 1e308, 3, 42 }\n"
    "local function value_of(D, i, c, long)\n"
    "  local k = c % 12\n"
    "  if k <= 3 then\n"
    "    local s = slice(D, i * 5 + c, c % 40)\n"
    "    if long and #s > 0 then s = rep(s, math.floor(65536 / #s)) end\n"
    "    return s\n"
    "  end\n"
    "  if k == 4 then return NUMBERS[c % #NUMBERS + 1] end\n"
    "  if k == 5 then return { slice(D, i, 3), slice(D, i + 1, c % 9) } end\n"
    "  if k == 6 then return {} end\n"
    "  if k == 7 then return { 'a', nil, 'c' } end\n"
    "  if k == 8 then return { { 'nested' } } end\n"
    "  if k == 9 then return c % 2 == 0 end\n"
    "  if k == 10 then return function() end end\n"
    "  return raising\n"
    "end\n"
    "local function build_headers(D, n, long)\n"
    "  local h = {}\n"
    "  for i = 1, n do\n"
    "    local c = #D > 0 and byte(D, (i * 3) % #D + 1) or i\n"
    "    local k = key_of(D, i, c)\n"
    "    if k ~= nil and k == k then h[k] = value_of(D, i, (c * 31 + i) % 256, long and i <= 16) end\n"
    "  end\n"
    "  return h\n"
    "end\n"
    /* ---- the oracle: what the rules of lua_tv.h give */
    "local function expected(h)\n"
    "  local out = {}\n"
    "  if type(h) ~= 'table' then return out end\n"
    "  local count = 0\n"
    "  for _ in next, h do count = count + 1 end\n"
    "  if count > 256 then return out end\n"
    "  for _, name in ipairs(NAMES) do\n"
    "    local lname, best = name:lower(), nil\n"
    "    for k in next, h do\n"
    "      if type(k) == 'string' and #k == #name and k:lower() == lname and (not best or less(k, best)) then best = k end\n"
    "    end\n"
    "    if best then\n"
    "      local v = rawget(h, best)\n"
    "      if type(v) == 'table' then v = rawget(v, rawlen(v)) end\n"
    "      if type(v) == 'number' then v = tostring(v) end\n"
    "      if type(v) == 'string' then out[lname] = (sub(v, 1, 8192):gsub('[%c\\127]', '')) end\n"
    "    end\n"
    "  end\n"
    "  return out\n"
    "end\n"
    "local function same(a, b)\n"
    "  for k, v in pairs(a) do if b[k] ~= v then return false, k end end\n"
    "  for k in pairs(b) do if a[k] == nil then return false, k end end\n"
    "  return true\n"
    "end\n"
    "local function check_error(what, err, want)\n"
    "  if type(err) ~= 'table' or type(err.kind) ~= 'string' then fail(what .. ': not an error table: ' .. show(err)) return end\n"
    "  if not clean(err.message) then fail(what .. ': err.message ' .. show(err.message)) end\n"
    "  local ok, s = pcall(tostring, err)\n"
    "  if not ok or not clean(s) then fail(what .. ': tostring(err) ' .. show(s)) end\n"
    "  if err.request_id ~= nil then\n"
    "    if not err.request_id:match('^[\\33-\\126]+$') then fail(what .. ': err.request_id ' .. show(err.request_id)) end\n"
    "    if want then\n"
    "      local rid = want['twilio-request-id']\n"
    "      rid = rid and rid:gsub('[^\\33-\\126]', ''):sub(1, 71)\n"
    "      if rid ~= err.request_id then fail(what .. ': request_id ' .. show(err.request_id) .. ' expected ' .. show(rid)) end\n"
    "    end\n"
    "  end\n"
    "end\n"
    /* ---- the transports */
    "local function custom(req)\n"
    "  if state.fail then return nil, state.fail end\n"
    "  return { status = state.status, body = state.body, headers = state.headers }\n"
    "end\n"
    "local client = assert(verify.new{ account_sid = ACCOUNT, auth_token = 'fuzz-token',\n"
    "  base_url = 'http://127.0.0.1:9', transport = custom, max_retries = 0 })\n"
    "local mock_ngx = { HTTP_GET = 2, HTTP_POST = 8, HTTP_DELETE = 32, WARN = 5,\n"
    "  get_phase = function() return 'content' end, log = function() end, sleep = function() end,\n"
    "  location = { capture = function(uri, opts)\n"
    "    local t = opts.ctx.twilio_verify\n"
    "    t.hooked, t.filtered = true, state.filtered\n"
    "    t.upstream_header_time, t.upstream_status, t.upstream_connect_time = state.uht, '502', state.uct\n"
    "    return state.res\n"
    "  end } }\n"
    "local or_client = assert(verify.new{ account_sid = ACCOUNT, auth_token = 'fuzz-token',\n"
    "  base_url = 'https://verify.twilio.com', transport = openresty.new(), max_retries = 0 })\n"
    "local function call(c, op)\n"
    "  if op == 'fetch_entity' or op == 'create_entity' or op == 'delete_entity' then return c[op](c, SVC, ID) end\n"
    "  return c[op](c, SVC, { page_size = 50 })\n"
    "end\n"
    "return function(input)\n"
    "  findings = {}\n"
    "  local b0, b1, b2 = byte(input, 1, 3)\n"
    "  b0, b1, b2 = b0 or 0, b1 or 0, b2 or 0\n"
    "  local D = sub(input, 4)\n"
    "  local mode, valid, amplify, long = b0 % 4, math.floor(b0 / 4) % 2 == 1, math.floor(b0 / 8) % 2 == 1,\n"
    "    math.floor(b0 / 16) % 2 == 1\n"
    "  local op = OPS[math.floor(b0 / 32) % 4 + 1]\n"
    "  local n = b2 * (amplify and 64 or 1)\n"
    "  local headers = build_headers(D, n, long)\n"
    "  local want = expected(headers)\n"
    "  state.status = STATUS[b1 % #STATUS + 1]\n"
    "  state.body = valid and (op == 'list_entity' and PAGE or ENTITY) or D\n"
    "  state.headers = headers\n"
    "  state.fail = nil\n"
    "  local ok, v, err\n"
    "  if mode == 0 then\n"
    "    ok, v, err = pcall(call, client, op)\n"
    "  elseif mode == 1 then\n"
    "    state.res = { status = state.status, header = (b1 % 7 ~= 3) and headers or nil, body = state.body,\n"
    "                  truncated = b1 % 11 == 5 }\n"
    "    state.filtered = b1 % 13 ~= 7\n"
    "    state.uht = (b1 % 5 == 1) and '-' or (b1 % 5 == 2) and '0.01, 0.02 : -' or '0.001'\n"
    "    state.uct = (b1 % 3 == 0) and '-' or '0.001'\n"
    "    rawset(_G, 'ngx', mock_ngx)\n"
    "    ok, v, err = pcall(call, or_client, op)\n"
    "    rawset(_G, 'ngx', nil)\n"
    "    if not state.res.header then want = {} end\n"
    "  elseif mode == 2 then\n"
    "    ok, v, err = pcall(core.parse_response, op, state.status, state.body, headers)\n"
    "    want = nil\n"
    "  else\n"
    "    local kind = b1 % 4\n"
    "    state.fail = kind == 0 and D or kind == 1 and { message = D, timeout = b1 % 8 > 3, unsent = b1 % 3 == 0 }\n"
    "      or kind == 2 and { message = D, kind = 'decode', code = b2 } or { kind = 'invalid_argument', param = D }\n"
    "    ok, v, err = pcall(call, client, op)\n"
    "  end\n"
    "  if not ok then\n"
    /* a non-integer status from a fuzzed custom table cannot happen (STATUS holds integers) */
    "    fail('mode ' .. mode .. ' ' .. op .. ' raised ' .. show(v))\n"
    "  elseif v == nil then\n"
    "    check_error('mode ' .. mode .. ' ' .. op, err, mode ~= 3 and want or nil)\n"
    "  elseif type(v) == 'table' and mode ~= 2 then\n"
    "    local r = verify.response_of(v)\n"
    "    if not r then fail(op .. ': no response_of record')\n"
    "    else\n"
    "      if r.status ~= state.status then fail(op .. ': status ' .. show(r.status)) end\n"
    "      for k, hv in pairs(r.headers) do\n"
    "        if not clean(hv) then fail(op .. ': header ' .. k .. ' ' .. show(hv)) end\n"
    "      end\n"
    "      local eq, k = same(r.headers, want)\n"
    "      if not eq then fail(op .. ': header ' .. tostring(k) .. ' = ' .. show(r.headers[k]) .. ', expected ' .. show(want[k])) end\n"
    "    end\n"
    "  elseif v ~= true and type(v) ~= 'table' then\n"
    "    fail(op .. ': returned ' .. show(v))\n"
    "  end\n"
    "  if #findings > 0 then return table.concat(findings, '\\n  ') end\n"
    "end\n";

static void flt_init(void) {
    flt_L = luaL_newstate();
    FZ_ASSERT(flt_L != NULL);
    lua_State *L = flt_L;
    luaL_openlibs(L);
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
    if (luaL_loadbuffer(L, flt_driver, sizeof flt_driver - 1, "=fuzz_lua_transport") != LUA_OK ||
        lua_pcall(L, 0, 1, 0) != LUA_OK) {
        fprintf(stderr, "fuzz_lua_transport: could not load the driver (is %s/twilio/verify.lua there?): %s\n", dir,
                lua_tostring(L, -1));
        abort();
    }
    FZ_ASSERT(lua_isfunction(L, -1));
    lua_setfield(L, LUA_REGISTRYINDEX, "flt.driver");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!flt_L) flt_init();
    lua_State *L = flt_L;
    int top = lua_gettop(L);
    lua_getfield(L, LUA_REGISTRYINDEX, "flt.driver");
    lua_pushlstring(L, (const char *)data, size);
    int rc = lua_pcall(L, 1, 1, 0);
    if (rc != LUA_OK) {
        fprintf(stderr, "fuzz_lua_transport: the driver itself raised: %s\n", lua_tostring(L, -1));
        FZ_ASSERT(rc == LUA_OK);
    }
    if (!lua_isnil(L, -1)) {
        fprintf(stderr, "fuzz_lua_transport: finding: %s\n", lua_tostring(L, -1));
        FZ_ASSERT(lua_isnil(L, -1));
    }
    lua_settop(L, top);
    FZ_ASSERT(lua_gettop(L) == 0);
    lua_gc(L, LUA_GCCOLLECT, 0); /* the boxes' __gc now: see fuzz_lua_pages.c */
    return 0;
}
