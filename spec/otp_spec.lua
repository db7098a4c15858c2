-- One-time codes end to end against the emulator: client:send_code /
-- check_code / verification:check over the libcurl and the Lua transports,
-- the outbox (GET /__emulator/messages), and the emulator's Verify
-- semantics (doc/emulator.md, "Verifications"): code length, the life of a
-- verification (pending -> approved | canceled | expired after 10 minutes),
-- 5 checks (60202), 5 sends (60203), the pending one returned again, rate
-- limits and buckets (20429), Fraud Guard and the SafeList, attempts and
-- their summary, templates and CustomMessage in the outbox.
local verify = require "twilio.verify"
local fixture = require "support.fixture"
local cjson = require "cjson"

local TO = "+15551234567"
local T = 1800000000 -- a fixed emulator clock

describe("one-time codes", function()
  local e, client

  fixture.emulator({}, { max_retries = 0 }, function(em, c) e, client = em, c end)

  local function pct(s) return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end)) end

  -- the outbox, as the user would read it
  local function messages(to)
    local status, body = e:request("GET", "/__emulator/messages" .. (to and ("?to=" .. pct(to)) or ""), nil,
      { Authorization = false })
    assert.equal(200, status, body)
    return cjson.decode(body).messages
  end
  local function last_code(to)
    local m = messages(to)
    assert.is_true(#m > 0, "no message to " .. to)
    return m[#m].body:match("(%d%d%d%d+)"), m[#m]
  end
  local function wrong(code) return code == "000000" and "111111" or "000000" end
  local function service(params)
    return assert(client:create_service(params or { friendly_name = "Acme" })).sid
  end

  for _, transport in ipairs({ "libcurl", "lua" }) do
    it("sends, checks a wrong code (false), then the right one (true), then 20404 (" .. transport .. ")", function()
      local c = e:client{ max_retries = 0, transport = transport == "lua" and verify.curl_transport or nil }
      local svc = assert(c:create_service{ friendly_name = "Acme" }).sid
      local v = assert(c:send_code(svc, TO, { channel = "sms" }))
      assert.equal("twilio.verify.verification", getmetatable(v).__name)
      assert.equal("pending", v.status)
      assert.equal("sms", v.channel)
      assert.is_nil(v.code) -- the code reaches the user only
      local code, m = last_code(TO)
      assert.equal("Your Acme verification code is: " .. code, m.body)
      assert.equal(v.sid, m.verification_sid)
      local ok, ch = c:check_code(svc, TO, wrong(code))
      assert.is_false(ok)
      assert.equal("pending", ch.status)
      assert.is_false(ch.valid)
      assert.equal("twilio.verify.verification_check", getmetatable(ch).__name)
      ok, ch = c:check_code(svc, TO, code)
      assert.is_true(ok)
      assert.equal("approved", ch.status)
      assert.is_true(ch.valid)
      -- approved: gone
      local err
      ok, err = c:check_code(svc, TO, code)
      assert.is_nil(ok)
      assert.equal(404, err.status)
      assert.equal(20404, err.code)
      assert.truthy(err.message:find("no pending verification", 1, true), err.message)
      assert.truthy(err.message:find("send a new code", 1, true), err.message)
      c:close()
    end)
  end

  it("refuses wrong arguments before any I/O, naming the parameter", function()
    local before = #e:requests()
    local cases = {
      { "send_code", { "VA" .. string.rep("0", 32), 15551234567 }, "to" },
      { "send_code", { "VA" .. string.rep("0", 32), TO, "sms" }, "params" },
      { "send_code", { "VA" .. string.rep("0", 32), TO, { to = TO } }, "to" },
      { "send_code", { "VA" .. string.rep("0", 32), "5551234567" }, "to" },
      { "send_code", { "VA" .. string.rep("0", 32), TO, { channel = "pigeon" } }, "channel" },
      { "send_code", { "XX", TO }, "service_sid" },
      { "check_code", { "VA" .. string.rep("0", 32), TO, 123456 }, "code" },
      { "check_code", { "VA" .. string.rep("0", 32), nil, "123456" }, "to" },
      { "check_code", { "VA" .. string.rep("0", 32), "not a number", "123456" }, "to" },
    }
    for _, k in ipairs(cases) do
      local v, err = client[k[1]](client, table.unpack(k[2], 1, 3))
      assert.is_nil(v, k[1] .. " " .. k[3])
      assert.equal("invalid_argument", err.kind, tostring(err))
      assert.equal(k[3], err.param, tostring(err))
    end
    assert.equal(before, #e:requests())
  end)

  it("the channel: email for an address (the outbox shows it), sms otherwise; checks by the VE sid", function()
    local svc = service()
    local v = assert(client:send_code(svc, "ann@example.com"))
    assert.equal("email", v.channel)
    local code, m = last_code("ann@example.com")
    assert.equal("email", m.channel)
    assert.is_false((v:check(wrong(code))))
    local ok, ch = v:check(code)
    assert.is_true(ok)
    assert.equal(v.sid, ch.sid)
  end)

  it("takes the code's length from the service's CodeLength, or CustomCode where the service allows it", function()
    local svc = service{ friendly_name = "Eight", code_length = 8 }
    assert(client:send_code(svc, TO))
    local code = last_code(TO)
    assert.equal(8, #code)
    -- CustomCode needs CustomCodeEnabled (60204), then it is the code
    local _, err = client:send_code(svc, "+15550000001", { custom_code = "4242" })
    assert.equal(60204, err.code)
    local svc2 = service{ friendly_name = "Custom", custom_code_enabled = true }
    assert(client:send_code(svc2, "+15550000002", { custom_code = "4242" }))
    assert.equal("4242", (last_code("+15550000002")))
    assert.is_true((client:check_code(svc2, "+15550000002", "4242")))
  end)

  it("re-sends the pending verification to the same To and channel, at most 5 times (60203)", function()
    local svc = service()
    local first = assert(client:send_code(svc, TO))
    local code = last_code(TO)
    for i = 2, 5 do
      local v = assert(client:send_code(svc, TO))
      assert.equal(first.sid, v.sid)
      assert.equal(i, #v.send_code_attempts)
      assert.equal(code, (last_code(TO)))
    end
    assert.equal(5, #messages(TO))
    local v, err = client:send_code(svc, TO)
    assert.is_nil(v)
    assert.equal(429, err.status)
    assert.equal(60203, err.code)
    assert.truthy(err.message:find("too many codes sent", 1, true), err.message)
    assert.equal(5, #messages(TO))
    -- another channel is another verification
    local call = assert(client:send_code(svc, TO, { channel = "call" }))
    assert.are_not.equal(first.sid, call.sid)
    -- canceled: gone (20404), and a new send starts a new one
    assert.equal("canceled", assert(client:update_verification(svc, first.sid, { status = "canceled" })).status)
    local _, cerr = client:check_code(svc, first.sid, code)
    assert.equal(20404, cerr.code)
    assert.are_not.equal(first.sid, assert(client:send_code(svc, TO)).sid)
  end)

  it("takes 5 checks: the fifth wrong one leaves max_attempts_reached, a sixth is 60202", function()
    local svc = service()
    assert(client:send_code(svc, TO))
    local code = last_code(TO)
    local ok, ch
    for _ = 1, 4 do
      ok, ch = client:check_code(svc, TO, wrong(code))
      assert.is_false(ok)
      assert.equal("pending", ch.status)
    end
    ok, ch = client:check_code(svc, TO, wrong(code))
    assert.is_false(ok)
    assert.equal("max_attempts_reached", ch.status)
    local err
    ok, err = client:check_code(svc, TO, code) -- even the right code
    assert.is_nil(ok)
    assert.equal(429, err.status)
    assert.equal(60202, err.code)
    assert.truthy(err.message:find("too many wrong codes", 1, true), err.message)
    -- and no new code until it expires
    local _, serr = client:send_code(svc, TO)
    assert.equal(60202, serr.code)
  end)

  it("expires a verification after 10 minutes (then 20404, and a new send is a new verification)", function()
    e:set_clock(T)
    local svc = service()
    local v = assert(client:send_code(svc, TO))
    local code = last_code(TO)
    e:set_clock(T + 599)
    assert.equal("pending", assert(client:fetch_verification(svc, v.sid)).status)
    e:set_clock(T + 601)
    local ok, err = client:check_code(svc, TO, code)
    assert.is_nil(ok)
    assert.equal(20404, err.code)
    assert.are_not.equal(v.sid, assert(client:send_code(svc, TO)).sid)
    e:set_clock(nil)
  end)

  it("enforces the service's rate limits and buckets on a verification's RateLimits (429, 20429)", function()
    e:set_clock(T)
    local svc = service()
    local rl = assert(client:create_rate_limit(svc, { unique_name = "per_user", description = "sends per user" }))
    assert.matches("^RK%x+$", rl.sid)
    local b = assert(client:create_bucket(svc, rl.sid, { max = 2, interval = 60 }))
    assert.equal(2, b.max)
    assert.equal(1, #verify.collect(client:buckets(svc, rl.sid)))
    assert(client:send_code(svc, "+15550000011", { rate_limits = { per_user = "u1" } }))
    assert(client:send_code(svc, "+15550000012", { rate_limits = { per_user = "u1" } }))
    local v, err = client:send_code(svc, "+15550000013", { rate_limits = { per_user = "u1" } })
    assert.is_nil(v)
    assert.equal(429, err.status)
    assert.equal(20429, err.code)
    assert.truthy(err.message:find("rate limit", 1, true), err.message)
    assert.equal(0, #messages("+15550000013")) -- nothing sent
    -- another key's value has its own count; the window passes
    assert(client:send_code(svc, "+15550000014", { rate_limits = { per_user = "u2" } }))
    e:set_clock(T + 61)
    assert(client:send_code(svc, "+15550000013", { rate_limits = { per_user = "u1" } }))
    -- a bucket raised takes more; a name the service lacks is refused
    assert(client:update_bucket(svc, rl.sid, b.sid, { max = 3 }))
    assert(client:send_code(svc, "+15550000015", { rate_limits = { per_user = "u1" } }))
    local _, nerr = client:send_code(svc, "+15550000016", { rate_limits = { per_ip = "10.0.0.1" } })
    assert.equal(400, nerr.status)
    e:set_clock(nil)
  end)

  it("Fraud Guard blocks a prefix's SMS (60410); the SafeList lets a number through", function()
    local svc = service()
    local status = e:request("POST", "/__emulator/fraud", '{"blocked_prefixes":["+1555"]}',
      { Authorization = false, ["Content-Type"] = "application/json" })
    assert.equal(200, status)
    local _, err = client:send_code(svc, TO)
    assert.equal(60410, err.code)
    local sl = assert(client:create_safelist{ phone_number = TO })
    assert.equal(TO, sl.phone_number)
    assert.equal(TO, assert(client:fetch_safelist(TO)).phone_number)
    local _, dup = client:create_safelist{ phone_number = TO } -- Twilio: "HTTP 400 with Error Code 60411"
    assert.equal(400, dup.status)
    assert.equal(60411, dup.code)
    assert(client:send_code(svc, TO))
    assert.is_true(assert(client:delete_safelist(TO)))
    _, err = client:send_code(svc, "+15550000021")
    assert.equal(60410, err.code)
  end)

  it("records an attempt per send, listed with filters, fetched, and counted in the summary", function()
    local svc = service()
    local v = assert(client:send_code(svc, TO))
    assert(client:send_code(svc, TO))
    assert(client:send_code(svc, "+447700900123"))
    assert(client:send_code(svc, "bob@example.com"))
    assert.equal(4, #verify.collect(client:attempts{ verify_service_sid = svc }))
    local mine = verify.collect(client:attempts{ verification_sid = v.sid })
    assert.equal(2, #mine)
    assert.equal("unconverted", mine[1].conversion_status)
    assert.equal(1, #verify.collect(client:attempts{ country = "GB", verify_service_sid = svc }))
    assert.equal(1, #verify.collect(client:attempts{ channel = "email", verify_service_sid = svc }))
    assert.equal(2, #verify.collect(client:attempts{ channel_data_to = TO }))
    local a = assert(client:fetch_verification_attempt(mine[1].sid))
    assert.equal(mine[1].sid, a.sid)
    assert.equal(v.sid, a.verification_sid)
    assert.is_true((client:check_code(svc, TO, (last_code(TO)))))
    local conv = verify.collect(client:attempts{ verification_sid = v.sid, status = "converted" })
    assert.equal(2, #conv)
    local s = assert(client:fetch_verification_attempts_summary{ verify_service_sid = svc })
    assert.equal(4, s.total_attempts) -- the summary counts attempts: both sends of v converted
    assert.equal(2, s.total_converted)
    assert.equal(2, s.total_unconverted)
  end)

  it("renders templates, CustomFriendlyName and CustomMessage into the outbox", function()
    local svc = service()
    local ts = verify.collect(client:templates())
    assert.is_true(#ts >= 2)
    local greet
    for _, t in ipairs(ts) do if t.friendly_name == "Greeting Template" then greet = t end end
    assert.is_table(greet)
    assert(client:send_code(svc, TO, { template_sid = greet.sid, template_custom_substitutions = { username = "Ann" } }))
    local code, m = last_code(TO)
    assert.equal("Hi Ann, your Acme code is " .. code, m.body)
    assert.equal(greet.sid, m.template_sid)
    assert(client:send_code(svc, "+15550000031", { custom_friendly_name = "Shop" }))
    assert.equal("Your Shop verification code is: " .. last_code("+15550000031"), messages("+15550000031")[1].body)
    assert(client:send_code(svc, "+15550000032", { custom_message = "Code {{code}} for Acme" }))
    local code3, m3 = last_code("+15550000032")
    assert.equal("Code " .. code3 .. " for Acme", m3.body)
    assert(client:send_code(svc, "+15550000033", { locale = "fr" }))
    local _, m4 = last_code("+15550000033")
    assert.equal("fr", m4.locale)
    assert.truthy(m4.body:find("Votre code", 1, true), m4.body)
  end)

  it("stores and lists messaging configurations; an SMS comes from the country's Messaging Service", function()
    local svc = service()
    local MG = "MG" .. string.rep("ab", 16)
    local mc = assert(client:create_messaging_configuration(svc, { country = "US", messaging_service_sid = MG }))
    assert.equal("US", mc.country)
    assert.equal(1, #verify.collect(client:messaging_configurations(svc)))
    assert.equal(MG, assert(client:fetch_messaging_configuration(svc, "US")).messaging_service_sid)
    assert(client:send_code(svc, TO))
    assert.equal(MG, messages(TO)[1].from)
    assert.is_true(assert(client:delete_messaging_configuration(svc, "US")))
    local _, err = client:fetch_messaging_configuration(svc, "US")
    assert.equal(404, err.status)
  end)
end)
