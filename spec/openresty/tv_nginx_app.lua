-- spec/openresty/tv_nginx_app.lua -- module tv_nginx_app: the small Lua app that
-- spec/openresty/nginx_test.lua serves from a real nginx.  GET or POST
-- /ops/<op>?via=<transport>&identity=...&sid=... answers JSON:
--   { ok = true, result = ..., transport = "openresty" | "libcurl" | "other" }
--   { ok = false, err = { kind, status, code, message, retryable, ... }, retries = n }
-- Clients (one per transport, per worker) are created on first use; the
-- account, token and base URL come from the environment (nginx `env`).
local verify = require "twilio.verify"
local openresty = require "twilio.verify.openresty"
local cjson = require "cjson.safe"

local ngx = ngx -- luacheck: ignore
local _M = {}

local SERVICE_SID = os.getenv("TV_SERVICE_SID")
local clients, retries = {}, {}

-- via: nil (auto-selected), "curl" (transport = false: libcurl, blocking),
-- "dead" / "slow" / "missing": the OpenResty transport on other locations.
local function client(via)
  via = via or "auto"
  local c = clients[via]
  if c then return c end
  local o = { base_url = os.getenv("TV_BASE_URL"), retry_base = 0.01, retry_cap = 0.02,
              on_retry = function() retries[via] = (retries[via] or 0) + 1 end }
  if via == "curl" then
    o.transport = false
  elseif via ~= "auto" then
    o.transport = openresty.new{ location = "/_tv_" .. via }
  end
  c = assert(verify.new(o))
  clients[via] = c
  return c
end

local function transport_name(c)
  local t = c:_transport()
  if t == openresty.transport then return "openresty" end
  if t == nil then return "libcurl" end
  return "other"
end

local function err_table(err)
  if type(err) ~= "table" then return { message = tostring(err) } end
  return { kind = err.kind, status = err.status, code = err.code, message = err.message,
           retryable = err.retryable, param = err.param, url = err.url, method = err.method }
end

local function plain(f) -- a factor object as a plain table (for JSON)
  local t = {}
  for k, v in pairs(f) do t[k] = v end
  return t
end

local results = {} -- timer results, by key (same worker, same Lua VM)

local ops = {}

function ops.which(c) return transport_name(c) end

function ops.create(c, a)
  return c:create_factor(SERVICE_SID, a.identity, { friendly_name = a.friendly_name or "nginx", factor_type = "totp" })
end

function ops.fetch(c, a) return c:fetch_factor(SERVICE_SID, a.identity, a.sid) end

function ops.update(c, a)
  return c:update_factor(SERVICE_SID, a.identity, a.sid, { friendly_name = a.friendly_name })
end

function ops.verify(c, a) return c:verify_factor(SERVICE_SID, a.identity, a.sid, a.code) end

-- a sign-in code checked by Verify on a new challenge (client:sign_in)
function ops.sign_in(c, a)
  local ok, ch = c:sign_in(SERVICE_SID, a.identity, a.sid, a.code)
  if ok == nil then return nil, ch end
  return { approved = ok, sid = ch.sid, status = ch.status, factor_sid = ch.factor_sid }
end

function ops.delete(c, a) return c:delete_factor(SERVICE_SID, a.identity, a.sid) end

-- every page, following next_page_url through nginx
function ops.list(c, a)
  local page, err = c:list_factor(SERVICE_SID, a.identity, { page_size = tonumber(a.page_size) })
  if not page then return nil, err end
  local sids, pages = {}, 0
  while page do
    pages = pages + 1
    for _, f in ipairs(page.factors) do sids[#sids + 1] = f.sid end
    page, err = page:next_page()
    if err then return nil, err end
  end
  return { sids = sids, pages = pages }
end

-- the same list from an ngx.timer (no subrequests there: libcurl is used)
function ops.timer(c, a)
  local key = tostring(ngx.now()) .. ":" .. tostring(math.random())
  local ok, terr = ngx.timer.at(0, function()
    local page, err = c:list_factor(SERVICE_SID, a.identity)
    results[key] = page and { n = #page.factors } or { err = err_table(err) }
  end)
  if not ok then return nil, terr end
  for _ = 1, 500 do
    local r = results[key]
    if r then
      results[key] = nil
      if r.err then return nil, r.err end
      return r
    end
    ngx.sleep(0.01)
  end
  return nil, "the timer did not finish"
end

-- errors where lua-resty code puts a string: `"failed: " .. err`, ngx.log
-- with the error object, and a failing for loop caught by pcall (inside
-- nginx the loop raises the message string; verify.error_of maps it back)
function ops.error_strings(c, a)
  local f, err = c:fetch_factor(SERVICE_SID, a.identity, a.sid)
  if f then return nil, "the fetch succeeded" end
  local said = "failed: " .. err
  ngx.log(ngx.ERR, "tv-log-object: ", err)
  ngx.log(ngx.ERR, "tv-log-concat: " .. err)
  local it = c:factors(SERVICE_SID, a.identity)
  local ok, raised = pcall(function() for _ in it do end end)
  local back = verify.error_of(raised)
  local bad_it, arg_err = c:factors(SERVICE_SID, "x") -- an argument error: no raise
  return { said = said, suffixed = err .. " (fetch)", loop_ok = ok, raised_type = type(raised),
           raised = tostring(raised), back_status = back and back.status, same = back == it.error,
           it_error_status = it.error and it.error.status, arg_error = arg_err and ("bad: " .. arg_err),
           arg_first_step = select(2, bad_it:next()) == arg_err }
end

-- GET /raise/loop?identity=...: a for loop over a failing listing, not
-- caught -- nginx logs what it raised ("lua entry thread aborted: ...")
function _M.raise()
  local a = ngx.req.get_uri_args()
  for f in client(a.via):factors(SERVICE_SID, a.identity) do ngx.say(f.sid) end
  ngx.say("no error")
end

function _M.run()
  local op = ngx.var.uri:match("^/ops/([%w_]+)$")
  local a = ngx.req.get_uri_args()
  local c = client(a.via)
  local fn = ops[op]
  local out
  if not fn then
    ngx.status = 404
    out = { ok = false, err = { message = "no such op" } }
  else
    retries[a.via or "auto"] = 0
    local ok, v, err = pcall(fn, c, a)
    if not ok then
      out = { ok = false, raised = tostring(v) }
    elseif v == nil then
      out = { ok = false, err = err_table(err) }
    else
      if type(v) == "table" and getmetatable(v) then v = plain(v) end
      out = { ok = true, result = v }
    end
    out.transport = transport_name(c)
    out.retries = retries[a.via or "auto"]
  end
  ngx.header["Content-Type"] = "application/json"
  ngx.say(cjson.encode(out))
end

return _M
