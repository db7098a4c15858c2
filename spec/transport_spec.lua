-- The pluggable transport: verify.new{ transport = fn } runs the attempt loop
-- in Lua around the C core's build/parse/retry rules.  These use scripted
-- transports (no network) to pin the request shape and the loop's behaviour.
local verify = require "twilio.verify"

local AC = "AC" .. string.rep("1", 32)
local SVC = "VA" .. string.rep("2", 32)
local SID = "YF" .. string.rep("3", 32)
local ID = "transport-user-1"
local FACTOR = '{"sid":"' .. SID .. '","service_sid":"' .. SVC .. '","status":"verified","factor_type":"totp","identity":"' .. ID .. '"}'
local UNVERIFIED = FACTOR:gsub('"verified"', '"unverified"')

local function scripted(responses)
  local calls = {}
  local fn = function(req, client)
    calls[#calls + 1] = req
    -- the transport is handed the client making the request
    assert(type(client) == "userdata" and client.is_closed ~= nil, "transport got " .. tostring(client))
    local r = table.remove(responses, 1)
    if type(r) == "function" then return r(req) end
    return r[1], r[2]
  end
  return fn, calls
end

local function client_with(fn, extra)
  local o = { account_sid = AC, auth_token = "secret-token", transport = fn, retry_base = 0.001, retry_cap = 0.002 }
  for k, v in pairs(extra or {}) do o[k] = v end
  return assert(verify.new(o))
end

describe("Lua transport", function()
  it("receives the request the C core built", function()
    local fn, calls = scripted{ { { status = 200, body = FACTOR, headers = {} } },
                                { { status = 200, body = UNVERIFIED, headers = {} } } }
    local c = client_with(fn)
    local f = assert(c:update_factor(SVC, ID, SID, { auth_payload = "123456", friendly_name = "a b" }))
    assert.equal("verified", f.status)
    local req = calls[1]
    assert.equal("POST", req.method)
    assert.equal("update_factor", req.op)
    assert.equal("https://verify.twilio.com/v2/Services/" .. SVC .. "/Entities/" .. ID .. "/Factors/" .. SID, req.url)
    assert.equal("AuthPayload=123456&FriendlyName=a%20b", req.body)
    assert.matches("^Basic ", req.headers.Authorization)
    assert.equal("application/x-www-form-urlencoded", req.headers["Content-Type"])
    assert.equal("application/json", req.headers.Accept)
    assert.matches("^twilio%-verify%-lua/", req.headers["User-Agent"])
    assert.equal(10, req.timeout)
    assert.is_false(f:verify("654321")) -- factor methods route through the transport too
    assert.equal(2, #calls)
    assert.equal("AuthPayload=654321", calls[2].body)
  end)

  it("validates before calling the transport", function()
    local fn, calls = scripted{}
    local c = client_with(fn)
    local v, err = c:fetch_factor(SVC, "bad/identity", SID)
    assert.is_nil(v)
    assert.equal("identity", err.param)
    assert.equal(0, #calls)
  end)

  it("retries with the same rules: 503 then 200 on GET, not on POST", function()
    local retries = {}
    local fn, calls = scripted{
      { { status = 503, body = "", headers = {} } },
      { { status = 200, body = FACTOR, headers = {} } },
      { { status = 503, body = "", headers = {} } },
    }
    local c = client_with(fn, { on_retry = function(a, d) retries[#retries + 1] = { a, d } end })
    assert(c:fetch_factor(SVC, ID, SID))
    assert.equal(2, #calls)
    assert.equal(1, #retries)
    local v, err = c:update_factor(SVC, ID, SID, { friendly_name = "x" })
    assert.is_nil(v)
    assert.same({ "http", 503, false }, { err.kind, err.status, err.retryable })
    assert.equal(3, #calls)
  end)

  it("honours Retry-After from the transport's headers (any case)", function()
    local delays = {}
    local fn = scripted{
      { { status = 429, body = '{"code":20429,"message":"slow down","status":429}', headers = { ["retry-after"] = "0" } } },
      { { status = 200, body = FACTOR, headers = { ["twilio-request-id"] = "RQ1" } } },
    }
    local c = client_with(fn, { on_retry = function(_, d) delays[#delays + 1] = d end })
    assert(c:fetch_factor(SVC, ID, SID))
    assert.same({ 0 }, delays)
  end)

  it("maps transport failures: retried when idempotent or unsent, kept otherwise", function()
    local fn, calls = scripted{
      { nil, "connection reset by peer" },
      { { status = 200, body = FACTOR, headers = {} } },
      { nil, { message = "connect refused", unsent = true } },
      { { status = 200, body = FACTOR, headers = {} } },
      { nil, { message = "read timed out", timeout = true } },
    }
    local c = client_with(fn)
    assert(c:fetch_factor(SVC, ID, SID))
    assert(c:update_factor(SVC, ID, SID, { friendly_name = "x" })) -- unsent: POST retried
    local v, err = c:fetch_factor(SVC, ID, SID)                      -- timeouts are not retried
    assert.is_nil(v)
    assert.equal("transport", err.kind)
    assert.matches("read timed out", err.message)
    assert.equal(5, #calls)
  end)

  it("parses errors and bad bodies with the same parser", function()
    local fn = scripted{
      { { status = 404, body = '{"code":20404,"message":"nope","more_info":"https://x","status":404}',
          headers = { ["Twilio-Request-Id"] = "RQ9" } } },
      { { status = 200, body = "{truncated", headers = {} } },
      { { status = 204, body = "", headers = {} } },
    }
    local c = client_with(fn)
    local _, e1 = c:fetch_factor(SVC, ID, SID)
    assert.same({ "http", 404, 20404, "nope", "RQ9" }, { e1.kind, e1.status, e1.code, e1.message, e1.request_id })
    local _, e2 = c:fetch_factor(SVC, ID, SID)
    assert.equal("decode", e2.kind)
    assert.is_true(c:delete_factor(SVC, ID, SID))
  end)

  it("refuses foreign page URLs before calling the transport", function()
    local fn, calls = scripted{}
    local c = client_with(fn)
    local v, err = c:list_page("https://evil.example/v2/Services/" .. SVC .. "/Entities/" .. ID .. "/Factors")
    assert.is_nil(v)
    assert.matches("refusing", err.message)
    assert.equal(0, #calls)
  end)

  it("a transport that raises propagates its error and leaves the client usable", function()
    local fn = scripted{
      function() error("transport bug") end,
      { { status = 200, body = FACTOR, headers = {} } },
    }
    local c = client_with(fn)
    local ok, msg = pcall(c.fetch_factor, c, SVC, ID, SID)
    assert.is_false(ok)
    assert.matches("transport bug", msg)
    assert(c:fetch_factor(SVC, ID, SID))
  end)

  it("log events are redacted on this path too", function()
    local events = {}
    local fn = scripted{ { { status = 200, body = FACTOR, headers = {} } } }
    local c = client_with(fn, { log = function(ev) events[#events + 1] = ev end })
    assert(c:update_factor(SVC, ID, SID, { auth_payload = "999999", config_notification_token = string.rep("t", 40) }))
    assert.equal("AuthPayload=[REDACTED]&Config.NotificationToken=[REDACTED]", events[1].body)
    assert.equal("[REDACTED]", events[1].headers.Authorization)
    assert.equal(200, events[1].status)
  end)

  it("runs batches through the transport with the same result shape", function()
    local fn, calls = scripted{
      { { status = 200, body = FACTOR, headers = {} } },
      { { status = 404, body = '{"code":20404,"message":"nope","status":404}', headers = {} } },
      { { status = 204, body = "", headers = {} } },
    }
    local c = client_with(fn)
    local res, stats = c:batch({
      { op = "fetch", service_sid = SVC, identity = ID, sid = SID },
      { op = "fetch", service_sid = SVC, identity = ID, sid = SID },
      { op = "delete", service_sid = SVC, identity = ID, sid = SID },
      { op = "fetch", service_sid = SVC, identity = ID, sid = "bad" },
      { op = "fetch", service_sid = SVC, identity = ID, sid = SID, typo = 1 },
    })
    assert.equal("verified", res[1].ok.status)
    assert.equal(404, res[2].err.status)
    assert.is_true(res[3].ok)
    assert.equal("sid", res[4].err.param)
    assert.equal("typo", res[5].err.param)
    assert.equal(3, #calls)
    assert.same({ 5, 5, 3 }, { stats.done, stats.total, stats.errors })
    local v, err = c:batch({}, { concurrency = 0 })
    assert.is_nil(v)
    assert.equal("concurrency", err.param)
  end)

  it("rejects a non-function transport", function()
    local c, err = verify.new{ account_sid = AC, auth_token = "x", transport = "curl" }
    assert.is_nil(c)
    assert.equal("transport", err.param)
  end)
end)

-- A call's engine state lives in a box the client keeps for the next call
-- once the call ends (lua_transport.c's pool, in the array part of the
-- client's state table): no state of one call reaches the next, a box in
-- flight is never handed to a second call, and an idle box refuses _next.
describe("Lua transport: call boxes", function()
  local NOT_FOUND = '{"code":20404,"message":"The requested resource was not found","status":404}'

  it("are kept by the client when a call ends, one per call in flight at most", function()
    local fn = scripted{ { { status = 200, body = FACTOR, headers = {} } }, { { status = 200, body = FACTOR, headers = {} } } }
    local c = client_with(fn)
    assert.equal(0, #c:_state())
    assert(c:fetch_factor(SVC, ID, SID))
    assert.equal(1, #c:_state()) -- one box, anchored in the client when made
    assert(c:fetch_factor(SVC, ID, SID))
    assert.equal(1, #c:_state()) -- and was used again, not a second one
  end)

  it("carry nothing from a failed call into the next", function()
    local fn, calls = scripted{
      { { status = 404, body = NOT_FOUND, headers = { ["Twilio-Request-Id"] = "RQ" .. string.rep("a", 32) } } },
      { { status = 200, body = UNVERIFIED, headers = {} } } }
    local c = client_with(fn, { max_retries = 0 })
    local v, err = c:update_factor(SVC, ID, SID, { auth_payload = "123456" })
    assert.is_nil(v)
    assert.equal(20404, err.code)
    local f, err2 = c:fetch_factor(SVC, ID, SID)
    assert.is_nil(err2)
    assert.equal("unverified", f.status)
    assert.equal("GET", calls[2].method)
    assert.is_nil(calls[2].body) -- the update's body is not the fetch's
    assert.is_nil(verify.response_of(f).request_id) -- nor its request id
  end)

  it("are never shared by two calls in flight", function()
    local pending = {}
    local c = client_with(function(req)
      local co = coroutine.running()
      pending[#pending + 1] = co
      coroutine.yield()
      local sid = req.url:match("(YF%x+)$")
      return { status = 200, body = FACTOR:gsub(SID, sid), headers = {} }
    end)
    local SID2 = "YF" .. string.rep("4", 32)
    local got = {}
    local a = coroutine.create(function() got.a = assert(c:fetch_factor(SVC, ID, SID)) end)
    local b = coroutine.create(function() got.b = assert(c:fetch_factor(SVC, ID, SID2)) end)
    assert(coroutine.resume(a))
    assert(coroutine.resume(b)) -- both in flight now
    assert(coroutine.resume(pending[2]))
    assert(coroutine.resume(pending[1]))
    assert.equal(SID2, got.b.sid)
    assert.equal(SID, got.a.sid)
    assert.equal(2, #c:_state()) -- two boxes, both idle again
  end)

  it("refuse _next once their call is over", function()
    local c = client_with(scripted{ { { status = 200, body = FACTOR, headers = {} } } })
    local k, req, step = c:_call("fetch_factor", nil, nil, SVC, ID, SID)
    assert.equal("send", step)
    local s2 = c:_next(k, { status = 200, body = FACTOR, headers = {} })
    assert.equal("done", s2)
    assert.is_table(req)
    assert.has_error(function() c:_next(k) end, "_next: not a call of this client")
  end)
end)
