-- spec/openresty/tv_budget_app.lua -- module tv_budget_app: the nginx side of
-- spec/openresty/budget_nginx_test.lua (4 workers).
--
--   /up/...        the upstream: counts the requests in flight in the
--                  lua_shared_dict tv_up (every worker's), answers 429
--                  (code 20429, Retry-After) to each one over K in flight,
--                  each held until `storm_at` are in flight or `hold` s pass,
--                  and in "force429" mode opens one Retry-After window (the
--                  first request gets the 429) and counts what arrives in it
--   /call?mode=    one fetch_factor through the OpenResty transport: mode
--                  "none" (no budget), "wait" or "fail" (the shared budget
--                  in lua_shared_dict tv_budget, max_in_flight = K)
--   /state         both dicts as JSON;  /reset?...  a new round's settings
--   /foreign       a subrequest to the internal location not made by the
--                  transport (doc/openresty.md's form answers it 403)
local verify = require "twilio.verify"
local openresty = require "twilio.verify.openresty"
local cjson = require "cjson.safe"

local ngx = ngx -- luacheck: ignore
local _M = {}

_M.ACCOUNT = "AC" .. string.rep("b0", 16)
_M.TOKEN = "budget-test-auth-token-0123456789"
local SVC, ID, SID = "VA" .. string.rep("c1", 16), "user-budget", "YF" .. string.rep("d2", 16)
local FACTOR = cjson.encode{ sid = SID, account_sid = _M.ACCOUNT, service_sid = SVC, identity = ID,
                             status = "verified", factor_type = "totp", friendly_name = "budget" }

local function up() return ngx.shared.tv_up end
local function now() ngx.update_time(); return ngx.now() end

function _M.upstream()
  local d = up()
  local t = now()
  local k = d:get("k") or 2
  local n = d:incr("inflight", 1, 0)
  d:set("hit:" .. n, true)      -- the highest n with a hit is the most in flight at once
  d:incr("requests", 1, 0)
  local ws, we = d:get("win_start"), d:get("win_end")
  if ws and t >= ws and t < we then d:incr("in_window", 1, 0) end
  local function answer(status, body, retry_after)
    d:incr("inflight", -1)      -- before the answer leaves: the caller cannot see it still counted
    ngx.status = status
    ngx.header["Content-Type"] = "application/json"
    ngx.header["Twilio-Request-Id"] = "RQ" .. string.rep("e3", 16)
    if retry_after then ngx.header["Retry-After"] = tostring(retry_after) end
    ngx.print(body)
    return ngx.exit(status)
  end
  local ra = d:get("retry_after") or 1
  local limited = '{"code":20429,"message":"Too Many Requests","more_info":"https://www.twilio.com/docs/errors/20429","status":429}'
  if d:get("force429") and d:add("opened", true) then -- the first one: opens the window
    d:set("win_start", t)
    d:set("win_end", t + ra)
    d:incr("limited", 1, 0)
    return answer(429, limited, ra)
  end
  -- held until `storm_at` were in flight at once (the storm shows) or `hold` s passed
  local hold, storm_at = d:get("hold") or 0, d:get("storm_at") or 8
  while not d:get("hit:" .. storm_at) and now() - t < hold do ngx.sleep(0.005) end
  if n > k then
    d:incr("limited", 1, 0)
    return answer(429, limited, ra)
  end
  return answer(200, FACTOR)
end

local clients = {}
local function client(mode)
  local c = clients[mode]
  if c then return c end
  local transport
  if mode ~= "none" then
    transport = openresty.new{ budget = { dict = "tv_budget", on_limit = mode, max_wait = 30,
                                          max_in_flight = up():get("k") or 2 } }
  end
  c = assert(verify.new{ account_sid = _M.ACCOUNT, auth_token = _M.TOKEN, base_url = os.getenv("TV_BUDGET_BASE"),
                         max_retries = 10, retry_base = 0.01, retry_cap = 0.05, transport = transport })
  clients[mode] = c
  return c
end

function _M.call()
  local mode = ngx.var.arg_mode or "none"
  local f, err = client(mode):fetch_factor(SVC, ID, SID)
  if f then
    ngx.say("ok ", ngx.worker.pid())
  else
    ngx.say("err ", err.kind, " ", ngx.worker.pid(), " ", tostring(err.retry_after), " ", tostring(err))
  end
end

-- a subrequest to the internal location that is not the transport's: 403, nothing sent
function _M.foreign()
  local res = ngx.location.capture("/_twilio_verify/v2/Services")
  ngx.say(res.status)
end

function _M.state()
  local out = {}
  for _, name in ipairs{ "tv_up", "tv_budget" } do
    local d, t = ngx.shared[name], {}
    for _, key in ipairs(d:get_keys(0)) do t[key] = d:get(key) end
    out[name] = t
  end
  local max = 0
  for key in pairs(out.tv_up) do
    local n = tonumber(key:match("^hit:(%d+)$"))
    if n and n > max then max = n end
  end
  out.max_in_flight = max
  out.now = now()
  ngx.say(cjson.encode(out))
end

function _M.reset()
  ngx.shared.tv_up:flush_all()
  ngx.shared.tv_budget:flush_all()
  local a = ngx.req.get_uri_args()
  local d = up()
  d:set("k", tonumber(a.k) or 2)
  d:set("hold", tonumber(a.hold) or 0)
  d:set("retry_after", tonumber(a.retry_after) or 1)
  if a.force429 then d:set("force429", true) end
  ngx.say("ok")
end

return _M
