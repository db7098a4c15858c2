-- bench/openresty_app.lua -- handlers of bench/openresty.conf.in (the nginx
-- rows of `make bench`).  /ours/<op>: the client through the OpenResty
-- transport; /bare/<op>: ngx.location.capture of the same request +
-- cjson.decode.  <op>: fetch, update, challenge (create_challenge with
-- auth_payload: a TOTP sign-in), list (one 1,000-factor page, iterated).
-- /jit/: LuaJIT trace aborts seen so far (jit.v-like), to keep the hot path
-- free of NYI.  /v2/...: the scale row's list pages (pages() below).
-- luacheck: globals ngx BENCH_BASE
local verify = require "twilio.verify"
local cjson = require "cjson"
local fixtures = require "fixtures"

local _M = {}
local S, ID, SID = fixtures.SERVICE_SID, fixtures.IDENTITY, fixtures.FACTOR_SID
local UPDATE = { friendly_name = "Pixel 8 (work)", auth_payload = "bench-signed-challenge-0123456789" }
local LIST = { page_size = fixtures.PAGE_SIZE }
local FACTOR = fixtures.factors_path(S, ID) .. "/" .. SID
local LIST_URL = fixtures.factors_path(S, ID) .. "?PageSize=" .. fixtures.PAGE_SIZE
local CHALLENGE = { factor_sid = SID, auth_payload = "123456" }
local CHALLENGES = fixtures.challenges_path(S, ID)
local UPDATE_BODY, CHALLENGE_BODY -- the form bodies the client sends (from _prepare)
local AUTH -- the Authorization value the client sends (from _prepare)

local client
local function get_client()
  if not client then
    client = assert(verify.new{ account_sid = fixtures.ACCOUNT_SID, auth_token = fixtures.AUTH_TOKEN,
                                base_url = BENCH_BASE, max_retries = 0 })
    UPDATE_BODY = assert(client:_prepare("update", S, ID, SID, UPDATE)).body
    CHALLENGE_BODY = assert(client:_prepare("create_challenge", S, ID, CHALLENGE)).body
    AUTH = assert(client:_prepare("fetch", S, ID, SID)).headers.Authorization
  end
  return client
end

local function fail(what) ngx.status = 500; ngx.say(what); return ngx.exit(500) end

function _M.ours()
  local c = get_client()
  local op = ngx.var.uri:sub(7)
  if op == "fetch" then
    local f, err = c:fetch_factor(S, ID, SID)
    if not f then return fail(tostring(err)) end
  elseif op == "update" then
    local f, err = c:update_factor(S, ID, SID, UPDATE)
    if not f then return fail(tostring(err)) end
  elseif op == "challenge" then
    local ch, err = c:create_challenge(S, ID, CHALLENGE)
    if not ch then return fail(tostring(err)) end
  elseif op == "list" then
    local p, err = c:list_factor(S, ID, LIST)
    if not p then return fail(tostring(err)) end
    local n, fs = 0, p.factors
    for i = 1, #fs do if fs[i].sid then n = n + 1 end end
    if n ~= fixtures.PAGE_SIZE then return fail("list: " .. n) end
  else
    return fail("unknown op")
  end
  ngx.print("ok")
end

local GET, POST = ngx.HTTP_GET, ngx.HTTP_POST
local capture, decode = ngx.location.capture, cjson.decode
local get_opts = { method = GET }
function _M.bare()
  get_client()
  local op = ngx.var.uri:sub(7)
  local res
  if op == "fetch" then
    res = capture("/_bare" .. FACTOR, get_opts)
    if res.status ~= 200 or not decode(res.body).sid then return fail("bare fetch") end
  elseif op == "update" then
    res = capture("/_bare" .. FACTOR, { method = POST, body = UPDATE_BODY })
    if res.status ~= 200 or not decode(res.body).sid then return fail("bare update") end
  elseif op == "challenge" then
    res = capture("/_bare" .. CHALLENGES, { method = POST, body = CHALLENGE_BODY })
    if res.status ~= 200 or not decode(res.body).sid then return fail("bare challenge") end
  elseif op == "list" then
    res = capture("/_bare" .. LIST_URL, get_opts)
    if res.status ~= 200 then return fail("bare list") end
    local n, fs = 0, decode(res.body).factors
    for i = 1, #fs do if fs[i].sid then n = n + 1 end end
    if n ~= fixtures.PAGE_SIZE then return fail("bare list: " .. n) end
  else
    return fail("unknown op")
  end
  ngx.print("ok")
end

-- The floors of a fetch in nginx, for bench/profile_nginx.lua (what any
-- client of this shape must pay, and what ours adds to it):
-- /floor/cosocket: the same GET written by hand over a kept-alive
--   ngx.socket.tcp (no subrequest, no header table, no validation) +
--   cjson.decode: what a transport other than subrequests could save.
-- /floor/canned: our client whose transport answers a canned 200 with the
--   factor's body: the client's own work (validation, URL, request,
--   parse, object) without any I/O.
-- /floor/decode: cjson.decode of that body alone (the canned row's floor).
local FACTOR_BODY = fixtures.factor_json(BENCH_BASE, 1, { sid = SID })
local CANNED = { status = 200, headers = { ["Content-Type"] = "application/json" }, body = FACTOR_BODY }
local canned_client
local up_host, up_port, COSOCKET_REQ
function _M.floor()
  get_client()
  local what = ngx.var.uri:sub(8)
  if what == "cosocket" then
    if not COSOCKET_REQ then
      local hp = BENCH_BASE:match("^http://([^/]+)")
      up_host, up_port = hp:match("^(.-):(%d+)$")
      up_port = tonumber(up_port)
      COSOCKET_REQ = "GET " .. FACTOR .. " HTTP/1.1\r\nHost: " .. hp .. "\r\nAuthorization: " .. AUTH
        .. "\r\nAccept: application/json\r\n\r\n"
    end
    local sock = ngx.socket.tcp()
    local ok, err = sock:connect(up_host, up_port)
    if not ok then return fail("cosocket: " .. tostring(err)) end
    assert(sock:send(COSOCKET_REQ))
    local status = tonumber((assert(sock:receive("*l"))):sub(10, 12))
    local len
    while true do
      local line = assert(sock:receive("*l"))
      if line == "" then break end
      local c = line:find(":", 1, true)
      if c and line:sub(1, c - 1):lower() == "content-length" then len = tonumber(line:sub(c + 1)) end
    end
    if not len then return fail("cosocket: no Content-Length") end
    local body = assert(sock:receive(len))
    sock:setkeepalive(60000, 16)
    if status ~= 200 or not decode(body).sid then return fail("cosocket fetch") end
  elseif what == "canned" then
    if not canned_client then
      canned_client = assert(verify.new{ account_sid = fixtures.ACCOUNT_SID, auth_token = fixtures.AUTH_TOKEN,
                                         base_url = BENCH_BASE, max_retries = 0,
                                         transport = function() return CANNED end })
    end
    local f, err = canned_client:fetch_factor(S, ID, SID)
    if not f then return fail(tostring(err)) end
  elseif what == "decode" then
    if not decode(FACTOR_BODY).sid then return fail("decode") end
  else
    return fail("unknown floor")
  end
  ngx.print("ok")
end

-- /v2/.../Factors: list pages made in memory for the scale row (bench.lua's
-- list 1,000,000 factors): SCALE_PAGES pages of 1,000, each the same 1,000
-- factors with its own meta (next_page_url: PageToken=PT<n+1>), so a
-- million factors need no 600 MB of files.  Any other path: 404.
local SCALE_PAGES = 1000
local scale_head, scale_base
function _M.pages()
  local base = "http://127.0.0.1:" .. ngx.var.server_port
  if scale_base ~= base then
    local items = {}
    for j = 1, fixtures.PAGE_SIZE do items[j] = fixtures.factor_json(base, j) end
    scale_head, scale_base = '{"factors":[' .. table.concat(items, ",") .. '],', base
  end
  if ngx.var.uri ~= fixtures.factors_path(S, ID) then return ngx.exit(404) end
  local n = tonumber((ngx.var.arg_PageToken or ""):match("^PT(%d+)$")) or 0
  ngx.header["Content-Type"] = "application/json"
  ngx.print({ scale_head, fixtures.page_meta(base, n, SCALE_PAGES, fixtures.PAGE_SIZE) })
end

-- trace aborts (NYI and others) recorded since the worker started
local aborts = {}
do
  local ok, jutil = pcall(require, "jit.util")
  local jit = rawget(_G, "jit")
  if ok and jit and jit.attach then
    jit.attach(function(what, _, func, pc, otr, oex)
      if what == "abort" then
        local info = jutil.funcinfo(func, pc)
        local where = tostring(info.source) .. ":" .. tostring(info.currentline)
        local msg = tostring(otr)
        if type(otr) == "number" then
          local vmdef = package.loaded["jit.vmdef"] or select(2, pcall(require, "jit.vmdef"))
          local fmt = type(vmdef) == "table" and vmdef.traceerr and vmdef.traceerr[otr]
          if fmt then msg = fmt:gsub("%%d", tostring(oex)):gsub("%%s", tostring(oex)) end
        end
        local k = where .. " " .. msg
        aborts[k] = (aborts[k] or 0) + 1
      end
    end, "trace")
  end
end

function _M.jit_report()
  local keys = {}
  for k, n in pairs(aborts) do keys[#keys + 1] = n .. " " .. k end
  table.sort(keys)
  ngx.say(table.concat(keys, "\n"))
end

return _M
