-- Injected faults: for each, the documented error kind (or success after the
-- documented retries), no hang past the timeout, nothing applied twice, and
-- the auth token (a canary) never shows up anywhere.
local verify = require "twilio.verify"
local emulator = require "support.emulator"

local SVC = "VA" .. string.rep("5a", 16)
local ID = "fault-user-0001"
local CANARY = "CANARY" .. string.format("%08x%08x", math.random(0, 0x7fffffff), os.time())

-- everything that could leak, as text
local captured = {}
local function dump(v, seen)
  seen = seen or {}
  if type(v) == "table" then
    if seen[v] then return "" end
    seen[v] = true
    local parts = { tostring(v) }
    for k, x in pairs(v) do parts[#parts + 1] = dump(k, seen) .. "=" .. dump(x, seen) end
    return table.concat(parts, " ")
  end
  return tostring(v)
end
local function capture(...) for i = 1, select("#", ...) do captured[#captured + 1] = dump((select(i, ...))) end end

local function now()
  local p = io.popen("date +%s.%N")
  local t = tonumber(p:read("l"))
  p:close()
  return t
end

describe("faults", function()
  local e, client, retries, events

  local function mkclient(extra)
    local o = { account_sid = e.account_sid, auth_token = e.auth_token, base_url = e.base_url,
                retry_base = 0.001, retry_cap = 0.01, retry_after_cap = 0.05, timeout = 2,
                on_retry = function(attempt, delay, err)
                  retries[#retries + 1] = { attempt = attempt, delay = delay, err = err }
                  capture(attempt, delay, err)
                end,
                log = function(ev) events[#events + 1] = ev; capture(ev) end }
    for k, v in pairs(extra or {}) do o[k] = v end
    local c = assert(verify.new(o))
    capture(c)
    return c
  end

  setup(function()
    e = emulator.start{ auth_token = CANARY, no_limits = true }
    retries, events = {}, {}
    client = mkclient()
  end)

  teardown(function()
    if client then client:close() end
    if e then e:stop() end
  end)

  local factor, base
  local function delta()
    local st = e:stats()
    local function d(k, sub) return (st[k][sub] or 0) - (base[k][sub] or 0) end
    return { total = st.total - base.total, update = d("applied", "update"), delete = d("applied", "delete") }
  end
  before_each(function()
    e:reset()
    retries, events = {}, {}
    factor = assert(client:create_factor(SVC, ID, { friendly_name = "fault target", factor_type = "totp" }))
    capture(factor)
    base = e:stats()
    retries, events = {}, {}
  end)

  local function fetch() return client:fetch_factor(SVC, ID, factor.sid) end
  local function update() return client:update_factor(SVC, ID, factor.sid, { friendly_name = "new name" }) end
  local function delete() return client:delete_factor(SVC, ID, factor.sid) end
  local function list() return client:list_factor(SVC, ID) end

  -- name, operation, faults, expected: kind (nil = success), tries (requests seen), applied (updates/deletes applied)
  local cases = {
    { "GET 503 once", fetch, { { action = "status", status = 503 } }, nil, 2 },
    { "GET 502 once", fetch, { { action = "status", status = 502, code = 20502 } }, nil, 2 },
    { "GET 504 twice", fetch, { { action = "status", status = 504, times = 2 } }, nil, 3 },
    { "GET 503 past max_retries", fetch, { { action = "status", status = 503, times = 9 } }, "http", 4 },
    { "GET 429 20429 with Retry-After", fetch, { { action = "status", status = 429, code = 20429, retry_after = "2" } }, nil, 2 },
    { "GET 429 (20429, the status fault's code)", fetch, { { action = "status", status = 429 } }, nil, 2 },
    { "GET 429 without a Twilio code", fetch, { { action = "html", status = 429 } }, nil, 2 },
    { "GET 429 HTTP-date Retry-After", list, { { action = "status", status = 429, retry_after = "Wed, 21 Oct 2015 07:28:00 GMT" } }, nil, 2 },
    { "GET 400 not retried", fetch, { { action = "status", status = 400, code = 60200 } }, "http", 1 },
    { "GET 404 not retried", fetch, { { action = "status", status = 404, code = 20404 } }, "http", 1 },
    { "GET 500 not retried", fetch, { { action = "status", status = 500, code = 20500 } }, "http", 1 },
    { "GET RFC 9457 503 retried", fetch, { { action = "rfc9457", status = 503, code = 20503 } }, nil, 2 },
    { "GET HTML 502 retried", fetch, { { action = "html", status = 502 } }, nil, 2 },
    { "GET HTML 502 past max_retries", list, { { action = "html", status = 502, times = 9 } }, "http", 4 },
    -- libcurl itself resends GET/DELETE once when a reused connection dies
    -- without a response (idempotent): two requests at the server, no retry of ours
    { "GET connection closed before headers", fetch, { { action = "close" } }, nil, 2, nil, 0 },
    { "GET connection closed mid-body", fetch, { { action = "close_mid_body" } }, nil, 2 },
    { "GET truncated JSON", fetch, { { action = "truncated" } }, "decode", 1 },
    { "GET not JSON", list, { { action = "not_json" } }, "decode", 1 },
    { "GET wrong shape", list, { { action = "wrong_shape" } }, "decode", 1 },
    { "GET deeply nested JSON", fetch, { { action = "deep", depth = 100000 } }, "decode", 1 },
    { "GET oversized body", fetch, { { action = "oversize", bytes = 17 * 1024 * 1024 } }, "decode", 1 },
    { "GET slow headers past timeout", function() return client:fetch_factor(SVC, ID, factor.sid, { timeout = 0.2 }) end,
      { { action = "delay", delay_ms = 1500 } }, "transport", 1 },
    { "GET slow body past timeout", function() return client:fetch_factor(SVC, ID, factor.sid, { timeout = 0.2 }) end,
      { { action = "delay_body", delay_ms = 1500 } }, "transport", 1 },
    { "GET small delay within timeout", fetch, { { action = "delay", delay_ms = 50 } }, nil, 1 },
    { "POST 429 20429 retried", update, { { action = "status", status = 429, code = 20429, retry_after = "0" } }, nil, 2, 1 },
    { "POST 503 not retried", update, { { action = "status", status = 503 } }, "http", 1, 0 },
    { "POST 502 HTML not retried", update, { { action = "html", status = 502 } }, "http", 1, 0 },
    { "POST 429 without a Twilio code not retried", update, { { action = "html", status = 429 } }, "http", 1, 0 },
    { "POST 500 after applying: not resent", update, { { action = "status", status = 500, apply = true } }, "http", 1, 1 },
    { "POST 429 60310 never retried", update, { { action = "status", status = 429, code = 60310 } }, "http", 1, 0 },
    { "POST connection closed: not resent", update, { { action = "close" } }, "transport", 1, 0 },
    { "POST closed mid-body: not resent", update, { { action = "close_mid_body", apply = true } }, "transport", 1, 1 },
    { "DELETE 503 once retried", delete, { { action = "status", status = 503 } }, nil, 2, 1 },
    { "DELETE connection closed retried", delete, { { action = "close" } }, nil, 2, 1, 0 },
    { "DELETE connection closed twice retried", delete, { { action = "close", times = 2 } }, nil, 3, 1, 1 },
  }

  for _, c in ipairs(cases) do
    local name, op, faults, kind, tries, applied, ours = c[1], c[2], c[3], c[4], c[5], c[6], c[7]
    it(name, function()
      for _, f in ipairs(faults) do e:fault(f) end
      local t0 = now()
      local v, err = op()
      local elapsed = now() - t0
      capture(v, err)
      if kind then
        assert.is_nil(v, name)
        assert.equal(kind, err.kind, name .. ": " .. tostring(err))
        assert.is_string(err.message)
        assert.matches("^twilio.verify: " .. kind, tostring(err))
        if kind == "http" then assert.is_number(err.status) end
        if kind == "transport" then assert.is_number(err.transport_code) end
        assert.is_string(err.method)
        assert.matches("^http://127%.0%.0%.1:%d+/v2/Services/", err.url)
      else
        assert.is_truthy(v, name .. ": " .. tostring(err))
      end
      assert.equal(ours or tries - 1, #retries, name)
      local st = delta()
      assert.equal(tries, st.total, name)
      assert.equal(applied or 0, st.update + st.delete, name) -- GETs apply nothing
      assert.is_true(elapsed < 5, name .. " took " .. elapsed .. " s")
      assert.equal((ours or tries - 1) + 1, #events)
      for i, ev in ipairs(events) do assert.equal(i, ev.attempt) end
    end)
  end

  it("honours Retry-After (seconds) and caps it", function()
    local c = mkclient{ retry_after_cap = 1.5 }
    e:fault{ action = "status", status = 429, code = 20429, retry_after = "1" }
    local t0 = now()
    assert(c:fetch_factor(SVC, ID, factor.sid))
    local elapsed = now() - t0
    assert.equal(1, retries[1].delay)
    assert.is_true(elapsed >= 0.95, "slept " .. elapsed)
    e:fault{ action = "status", status = 429, code = 20429, retry_after = "3600" }
    assert(c:fetch_factor(SVC, ID, factor.sid))
    assert.equal(1.5, retries[2].delay)
    c:close()
  end)

  it("retries connection refused, even for POST (never sent)", function()
    local c = assert(verify.new{ account_sid = e.account_sid, auth_token = CANARY, base_url = "http://127.0.0.1:9",
                                 retry_base = 0.001, max_retries = 2,
                                 on_retry = function(a, d, err) retries[#retries + 1] = a; capture(d, err) end })
    local v, err = c:update_factor(SVC, ID, factor.sid, { friendly_name = "x" })
    capture(v, err)
    assert.is_nil(v)
    assert.equal("transport", err.kind)
    assert.is_true(err.retryable)
    assert.same({ 2, 3 }, retries)
    c:close()
  end)

  it("caps the body size with max_body", function()
    local c = mkclient{ max_body = 64 * 1024 }
    e:fault{ action = "oversize", bytes = 200 * 1024 }
    local v, err = c:fetch_factor(SVC, ID, factor.sid)
    capture(v, err)
    assert.is_nil(v)
    assert.equal("decode", err.kind)
    assert.matches("size cap", err.message)
    assert(c:fetch_factor(SVC, ID, factor.sid)) -- the handle is still good
    c:close()
  end)

  it("a raising hook does not break the client and is reported after the call", function()
    -- the operation's result is kept; the hook's error is the third value
    local c = mkclient{ log = function() error("hook exploded") end }
    local v, err, herr = c:fetch_factor(SVC, ID, factor.sid)
    assert.equal(factor.sid, v.sid)
    assert.is_nil(err)
    assert.matches("hook exploded", tostring(herr))
    local c2 = mkclient{ on_retry = function() error({ custom = true }) end }
    e:fault{ action = "status", status = 503 }
    local v2, err2, herr2 = c2:fetch_factor(SVC, ID, factor.sid)
    assert.equal(factor.sid, v2.sid, tostring(err2))
    assert.is_true(herr2.custom)
    local v3, _, herr3 = c2:fetch_factor(SVC, ID, factor.sid)
    assert.equal(factor.sid, v3.sid)
    assert.is_nil(herr3) -- nothing carried into the next call
    c:close()
    c2:close()
  end)

  it("a hook that closes its client ends the operation cleanly", function()
    local c
    c = mkclient{ on_retry = function() c:close() end }
    e:fault{ action = "status", status = 503, times = 3 }
    local v, err = c:fetch_factor(SVC, ID, factor.sid)
    assert.is_nil(v)
    assert.equal(503, err.status)
    assert.is_true(c:is_closed())
    local _, err2 = c:fetch_factor(SVC, ID, factor.sid)
    assert.equal("closed", err2.kind)
  end)

  it("log events carry method, url, status, duration, attempt and a redacted body", function()
    assert(client:update_factor(SVC, ID, factor.sid, { auth_payload = "123456", friendly_name = "x" }))
    local ev = events[#events]
    assert.equal("POST", ev.method)
    assert.equal(200, ev.status)
    assert.equal(1, ev.attempt)
    assert.is_number(ev.duration)
    assert.equal("AuthPayload=[REDACTED]&FriendlyName=x", ev.body)
    assert.equal("[REDACTED]", ev.headers.Authorization)
  end)

  it("the auth token never appears in anything captured", function()
    capture(client, tostring(client))
    local all = table.concat(captured, "\n")
    assert.is_true(#captured > 100)
    assert.is_nil(all:find(CANARY, 1, true))
    -- nor its Basic-auth encoding
    local p = io.popen("printf '%s' '" .. e.account_sid .. ":" .. CANARY .. "' | base64 -w0")
    local b64 = p:read("a")
    p:close()
    assert.is_nil(all:find(b64, 1, true))
  end)
end)
