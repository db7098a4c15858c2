-- spec/openresty/tv_hostile_upstream.lua -- module tv_hostile_upstream, for
-- spec/openresty/hostile_upstream_test.lua (issue 23): a hostile "Verify
-- API" and the app that calls it, in one real nginx.
--
--   serve()  location /hostile/: answers any request on the raw downstream
--            socket (ngx.req.socket(true)), so nothing of nginx's own header
--            handling stands between the bytes and the proxy: the case is
--            the identity in the path (/hostile/v2/Services/VA.../Entities/
--            <case>), one of CASES below.
--   run()    location /run/: client:fetch_entity(SVC, <case>) through the
--            OpenResty transport (a subrequest to /_twilio_verify/, proxied to
--            /hostile/), answered as JSON: { pid, ok, kind, status, message,
--            request_id, clean, headers }.
local verify = require "twilio.verify"
local cjson = require "cjson.safe"

local ngx = ngx -- luacheck: ignore
local rep, concat = string.rep, table.concat
local _M = {}

local SVC = "VA" .. rep("5e", 16)
local ACCOUNT = "AC" .. rep("0", 32)
_M.SVC = SVC

local function entity(id)
  return '{"sid":"YE' .. rep("4", 32) .. '","identity":"' .. id .. '","account_sid":"' .. ACCOUNT
    .. '","service_sid":"' .. SVC .. '","url":"https://verify.twilio.com/x","links":{}}'
end

-- The spellings of `name` with its letters in upper or lower case, n of them.
local function spellings(name, n)
  local out, letters = {}, {}
  for i = 1, #name do if name:sub(i, i):match("%a") then letters[#letters + 1] = i end end
  for m = 0, n - 1 do
    local b = { name:lower():byte(1, -1) }
    for bit, pos in ipairs(letters) do
      if math.floor(m / 2 ^ (bit - 1)) % 2 == 1 then b[pos] = b[pos] - 32 end
    end
    out[#out + 1] = string.char(unpack(b))
  end
  return out
end
_M.spellings = spellings

-- case -> function(id) -> status line, header lines (raw, without CRLF), body
local CASES = {}
_M.CASES = CASES

CASES["lines-1000"] = function(id)
  local h = {}
  for i = 1, 1000 do h[i] = "X-Junk-" .. i .. ": v" .. i end
  h[#h + 1] = "Twilio-Request-Id: RQ" .. rep("1", 32)
  return "HTTP/1.1 200 OK", h, entity(id)
end
CASES["lines-3000"] = function(id)
  local h = {}
  for i = 1, 3000 do h[i] = "A" .. i .. ": x" end
  return "HTTP/1.1 200 OK", h, entity(id)
end
-- the heap corruption of issue 23 item 1, from an upstream
CASES["variants-300"] = function(id)
  local h = {}
  for i, k in ipairs(spellings("Retry-After", 300)) do h[i] = k .. ": " .. i end
  return "HTTP/1.1 200 OK", h, entity(id)
end
CASES["variants-200"] = function(id)
  local h = {}
  for i, k in ipairs(spellings("Twilio-Request-Duration", 200)) do h[i] = k .. ": 0." .. i end
  return "HTTP/1.1 200 OK", h, entity(id)
end
CASES["duplicates-500"] = function(id)
  local h = {}
  for i = 1, 500 do h[i] = "Twilio-Concurrent-Requests: " .. i end
  return "HTTP/1.1 200 OK", h, entity(id)
end
CASES["value-1mib"] = function(id)
  return "HTTP/1.1 200 OK", { "Twilio-Request-Id: RQ" .. rep("9", 1024 * 1024) }, entity(id)
end
CASES["value-32k"] = function(id)
  return "HTTP/1.1 200 OK", { "Twilio-Verify-Signature-Fields: " .. rep("f,", 16 * 1024) }, entity(id)
end
CASES["bare-cr-line"] = function(id)
  return "HTTP/1.1 200 OK", { "Twilio-Request-Id: RQ1\rX-Injected: 1", "X-Rate-Limit-Remaining: 5\r" }, entity(id)
end
CASES["bare-lf-line"] = function(id)
  return "HTTP/1.1 200 OK", { "Twilio-Request-Id: RQ2\nX-Injected: 2" }, entity(id)
end
CASES["nul-in-name"] = function(id)
  return "HTTP/1.1 200 OK", { "Retry-After\0X: 1", "Twilio-Request-Id: RQ3" }, entity(id)
end
CASES["error-crlf"] = function()
  return "HTTP/1.1 400 Bad Request", { "Twilio-Request-Id: RQ4\tX", "Retry-After: 1" },
    '{"code":60200,"message":"bad\\r\\nSet-Cookie: x=1\\u0000","more_info":"https://x\\r\\ny","status":400}'
end
CASES["status-garbage"] = function(id)
  return "HTTP/1.1 2000000 OK", {}, entity(id)
end
CASES["no-status"] = function()
  return "Retry-After: 1", {}, ""
end

function _M.serve()
  local id = ngx.var.uri:match("/Entities/([^/?]+)") or ""
  local case = CASES[id]
  ngx.req.discard_body()
  local sock = assert(ngx.req.socket(true))
  local status, headers, body = "HTTP/1.1 404 Not Found", {}, '{"code":20404,"message":"no such case"}'
  if case then status, headers, body = case(id) end
  local out = { status, "\r\n" }
  for _, line in ipairs(headers) do out[#out + 1] = line; out[#out + 1] = "\r\n" end
  out[#out + 1] = "Content-Type: application/json\r\nConnection: close\r\nContent-Length: " .. #body .. "\r\n\r\n"
  out[#out + 1] = body
  sock:send(concat(out))
end

local client
local function clean(s) return type(s) ~= "string" or not s:find("[%c\127]") end

function _M.run()
  client = client or assert(verify.new{ account_sid = ACCOUNT, auth_token = "hostile-upstream-token",
    base_url = "https://verify.twilio.com", max_retries = 0 })
  local case = ngx.var.arg_case or ""
  local v, err = client:fetch_entity(SVC, case)
  local r = { pid = ngx.worker.pid(), ok = v ~= nil, transport = client:_transport() ~= nil }
  if v then
    local meta = verify.response_of(v)
    r.headers = meta and meta.headers or cjson.null
    r.clean = true
    for _, hv in pairs(meta and meta.headers or {}) do r.clean = r.clean and clean(hv) end
  else
    r.kind, r.status, r.message, r.request_id = err.kind, err.status, err.message, err.request_id
    r.clean = clean(err.message) and clean(err.request_id) and clean(err.more_info) and clean(tostring(err))
  end
  ngx.header["Content-Type"] = "application/json"
  ngx.say(cjson.encode(r))
end


return _M
