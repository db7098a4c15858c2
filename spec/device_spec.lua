-- twilio.verify.device against the emulator: the whole Verify Push loop of
-- the mobile SDKs (doc/push.md) -- access token, enrolment, verification,
-- pending challenges, approve / deny by signature -- through the library's
-- client, with the key kept inside the device.
local fixture = require "support.fixture"
local verify = require "twilio.verify"
local device = require "twilio.verify.device"

local SVC = "VA" .. string.rep("0123456789abcdef", 2)

describe("twilio.verify.device", function()
  local e, backend
  local n = 0
  local function identity()
    n = n + 1
    return string.format("device-user-%04d", n)
  end

  fixture.emulator({ reset = false }, {}, function(em, c) e, backend = em, c end)

  local function token(id, ttl)
    local at = assert(backend:create_access_token(SVC, id, { factor_type = "push", ttl = ttl }))
    return at.token, at
  end

  local function enrolled(id, opts)
    id = id or identity()
    local dev = assert(device.new{ base_url = e.base_url, service_sid = SVC, identity = id })
    local f = assert(dev:enroll((token(id)), opts))
    assert(dev:verify())
    return dev, f, id
  end

  it("enrols like the SDKs: access token, Binding.*, Config.*, then verifies by signature", function()
    local id = identity()
    local dev = assert(device.new{ base_url = e.base_url, service_sid = SVC, identity = id })
    e:clear_requests()
    local f = assert(dev:enroll((token(id)), { friendly_name = "Pixel 9" }))
    assert.equal("unverified", f.status)
    assert.equal("push", f.factor_type)
    assert.equal("ES256", f.binding.alg)
    assert.equal(dev:public_key(), f.binding.public_key)
    assert.equal("none", f.config.notification_platform)
    assert.equal(device.SDK_VERSION, f.config.sdk_version)
    assert.equal("CR" .. f.sid:sub(3), f.config.credential_sid)
    local reqs = e:requests()
    local create = reqs[#reqs]
    assert.equal("POST", create.method)
    local v = assert(dev:verify())
    assert.equal("verified", v.status)
    assert.equal("verified", assert(backend:fetch_factor(SVC, id, f.sid)).status)
    assert.equal("verified", assert(dev:factor()).status)
    dev:close()
  end)

  it("lists pending challenges and approves one by signing the fields the API names", function()
    local dev, f, id = enrolled()
    local ch = assert(backend:create_challenge(SVC, id, { factor_sid = f.sid, details_message = "Log in?",
      details_fields = { { label = "IP", value = "127.0.0.1" } }, hidden_details = { ip = "127.0.0.1" } }))
    local p = assert(dev:pending())
    assert.equal(1, #p)
    assert.equal(ch.sid, p[1].sid)
    local got, fields = assert(dev:fetch(ch.sid))
    assert.equal("pending", got.status)
    assert.is_string(fields)
    assert.is_truthy(fields:find("details", 1, true))
    local a = assert(dev:approve(ch.sid))
    assert.equal("approved", a.status)
    -- the backend sees it by polling
    assert.equal("approved", assert(backend:fetch_challenge(SVC, id, ch.sid)).status)
    assert.equal(0, #assert(dev:pending()))
    dev:close()
  end)

  it("denies a challenge", function()
    local dev, f, id = enrolled()
    local ch = assert(backend:create_challenge(SVC, id, { factor_sid = f.sid, details_message = "Pay 10 EUR?" }))
    assert.equal("denied", assert(dev:deny(ch.sid)).status)
    assert.equal("denied", assert(backend:fetch_challenge(SVC, id, ch.sid)).status)
    dev:close()
  end)

  it("a replayed approval is rejected (60322): the challenge is no longer pending", function()
    local dev, f, id = enrolled()
    local ch = assert(backend:create_challenge(SVC, id, { factor_sid = f.sid, details_message = "Log in?" }))
    assert(dev:approve(ch.sid))
    local v, err = dev:deny(ch.sid)
    assert.is_nil(v)
    assert.equal("http", err.kind)
    assert.equal(60322, err.code)
    assert.equal("approved", assert(backend:fetch_challenge(SVC, id, ch.sid)).status)
    dev:close()
  end)

  it("another device's key cannot answer the challenge (401 20003)", function()
    local dev, f, id = enrolled()
    local ch = assert(backend:create_challenge(SVC, id, { factor_sid = f.sid, details_message = "Log in?" }))
    -- a device with the same factor and credential but another key
    local other = assert(device.new{ base_url = e.base_url, service_sid = SVC, identity = id })
    other:public_key() -- makes its key
    local thief = assert(device.new{ base_url = e.base_url, service_sid = SVC, identity = id, factor_sid = f.sid,
      credential_sid = f.config.credential_sid, account_sid = f.account_sid, key = other:export_key() })
    other:close()
    local v, err = thief:approve(ch.sid)
    assert.is_nil(v)
    assert.equal(401, err.status)
    assert.equal(20003, err.code)
    assert.equal("pending", assert(backend:fetch_challenge(SVC, id, ch.sid)).status)
    thief:close()
    dev:close()
  end)

  it("an expired access token cannot enrol (401 20003)", function()
    local id = identity()
    local t0 = os.time()
    e:set_clock(t0)
    local tok = token(id, 60)
    e:set_clock(t0 + 61)
    local dev = assert(device.new{ base_url = e.base_url, service_sid = SVC, identity = id })
    local f, err = dev:enroll(tok)
    assert.is_nil(f)
    assert.equal(401, err.status)
    assert.equal(20003, err.code)
    e:set_clock(nil)
    dev:close()
  end)

  it("an access token of another identity cannot enrol", function()
    local dev = assert(device.new{ base_url = e.base_url, service_sid = SVC, identity = identity() })
    local f, err = dev:enroll((token(identity())))
    assert.is_nil(f)
    assert.equal(20003, err.code)
    dev:close()
  end)

  it("restores a device from its exported key", function()
    local dev, f, id = enrolled()
    local pem = dev:export_key()
    assert.matches("^%-%-%-%-%-BEGIN PRIVATE KEY%-%-%-%-%-", pem)
    local again = assert(device.new{ base_url = e.base_url, service_sid = SVC, identity = id, key = pem,
      factor_sid = f.sid, credential_sid = f.config.credential_sid, account_sid = f.account_sid })
    assert.equal(dev:public_key(), again:public_key())
    local ch = assert(backend:create_challenge(SVC, id, { factor_sid = f.sid, details_message = "Again?" }))
    assert.equal("approved", assert(again:approve(ch.sid)).status)
    again:close()
    dev:close()
  end)

  it("runs over a Lua transport too (the OpenResty path)", function()
    local id = identity()
    local seen = 0
    local dev = assert(device.new{ base_url = e.base_url, service_sid = SVC, identity = id,
      transport = function(req, c)
        seen = seen + 1
        return verify.curl_transport(req, c)
      end })
    assert(dev:enroll((token(id))))
    assert(dev:verify())
    local f = assert(dev:factor())
    local ch = assert(backend:create_challenge(SVC, id, { factor_sid = f.sid, details_message = "Log in?" }))
    assert.equal("approved", assert(dev:approve(ch.sid)).status)
    assert.is_true(seen >= 5)
    dev:close()
  end)

  it("keeps its key and credentials out of tostring, errors and log events", function()
    local id = identity()
    local events = {}
    local dev = assert(device.new{ base_url = e.base_url, service_sid = SVC, identity = id,
      log = function(ev) events[#events + 1] = ev end })
    local tok = token(id)
    local f = assert(dev:enroll(tok))
    assert(dev:verify())
    local pem = dev:export_key()
    local body = pem:match("%-%-%-%-%-\n(.-)\n%-%-%-%-%-END")
    local jwt = dev:jwt()
    local ch = assert(backend:create_challenge(SVC, id, { factor_sid = f.sid, details_message = "Log in?" }))
    assert(dev:approve(ch.sid))
    local _, err = dev:approve(ch.sid)
    local function clean(s)
      s = tostring(s)
      assert.is_falsy(s:find(body:sub(1, 40), 1, true), s)
      assert.is_falsy(s:find(tok, 1, true), s)
      assert.is_falsy(s:find(jwt:sub(1, 60), 1, true), s)
      assert.is_falsy(s:find(e.auth_token, 1, true), s)
    end
    clean(dev)
    clean(err)
    clean(err.message)
    assert.is_true(#events > 0)
    for _, ev in ipairs(events) do
      for _, v in pairs(ev) do
        if type(v) == "table" then for _, w in pairs(v) do clean(w) end else clean(v) end
      end
    end
    assert.equal(1, (tostring(dev):find("twilio.verify.device (identity " .. id, 1, true)))
    dev:close()
    assert.matches("closed", tostring(dev))
    local v, cerr = dev:verify()
    assert.is_nil(v)
    assert.equal("closed", cerr.kind)
    assert.is_nil((dev:export_key()))
  end)

  it("validates its options", function()
    local d, err = device.new{ base_url = e.base_url, service_sid = SVC }
    assert.is_nil(d)
    assert.equal("identity", err.param)
    d, err = device.new{ base_url = e.base_url, service_sid = SVC, identity = "x-user-0001", bogus = 1 }
    assert.is_nil(d)
    assert.equal("bogus", err.param)
    d = assert(device.new{ base_url = e.base_url, service_sid = SVC, identity = "x-user-0001" })
    local f
    f, err = d:enroll("")
    assert.is_nil(f)
    assert.equal("access_token", err.param)
    f, err = d:verify()
    assert.is_nil(f)
    assert.equal("invalid_argument", err.kind)
    d:close()
  end)
end)
