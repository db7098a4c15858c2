-- TOTP end to end against the emulator: create -> otpauth URI -> code ->
-- verify; wrong codes -> unverified, then 60310 after 5 in a row; create with
-- every form parameter; metadata tables encoded exactly once.
local verify = require "twilio.verify"
local fixture = require "support.fixture"

local SVC = "VA" .. string.rep("7e", 16)
local T = 1800000000 -- a fixed emulator clock

describe("TOTP flow", function()
  local e, client
  local n = 0
  local function identity() n = n + 1; return string.format("totp-flow-%04d", n) end

  fixture.emulator({ reset = false }, { max_retries = 0 }, function(em, c) e, client = em, c end)
  before_each(function() e:set_clock(T) end)
  after_each(function() e:set_clock(nil) end)

  it("creates, shows the URI, and verifies the current code", function()
    local id = identity()
    local f = assert(client:create_factor(SVC, id, { friendly_name = "Ann's phone", factor_type = "totp" }))
    assert.equal("unverified", f.status)
    local b = f.binding
    assert.matches("^[A-Z2-7]+$", b.secret)
    local u = assert(verify.totp.parse_uri(b.uri))
    assert.equal(b.secret, u.secret)
    assert.equal("Ann's phone", u.account)
    assert.same({ "sha1", 6, 30 }, { u.alg, u.digits, u.period })
    local code = assert(verify.totp.code(b.secret, { time = T }))
    assert.is_true(client:verify_factor(SVC, id, f.sid, code))
    assert.equal("verified", assert(client:fetch_factor(SVC, id, f.sid)).status)
    local req = e:last_request()
    assert.equal("GET", req.method)
  end)

  it("accepts codes within the skew window and rejects others", function()
    local id = identity()
    local f = assert(client:create_factor(SVC, id, { friendly_name = "skewed", factor_type = "totp",
                                                     config_skew = 1, config_time_step = 30 }))
    local late = verify.totp.code(f.binding.secret, { time = T - 30 })
    assert.is_true(client:verify_factor(SVC, id, f.sid, late))
    local id2 = identity()
    local g = assert(client:create_factor(SVC, id2, { friendly_name = "strict", factor_type = "totp",
                                                      config_skew = 0 }))
    assert.is_false(client:verify_factor(SVC, id2, g.sid, verify.totp.code(g.binding.secret, { time = T - 30 })))
    assert.is_true(client:verify_factor(SVC, id2, g.sid, verify.totp.code(g.binding.secret, { time = T })))
  end)

  it("honours sha256/sha512, 8 digits and a 60 s step end to end", function()
    for _, alg in ipairs{ "sha256", "sha512" } do
      local id = identity()
      local f = assert(client:create_factor(SVC, id, { friendly_name = alg, factor_type = "totp",
        config_alg = alg, config_code_length = 8, config_time_step = 60 }))
      assert.same({ alg = alg, code_length = 8, time_step = 60, skew = 1 }, f.config)
      local u = assert(verify.totp.parse_uri(f.binding.uri))
      assert.same({ alg, 8, 60 }, { u.alg, u.digits, u.period })
      local code = verify.totp.code(f.binding.secret, { alg = alg, digits = 8, step = 60, time = T })
      assert.equal(8, #code)
      assert.is_true(client:verify_factor(SVC, id, f.sid, code))
    end
  end)

  it("a wrong code is false (200, unverified); after 5 in a row the API answers 60310", function()
    local id = identity()
    local f = assert(client:create_factor(SVC, id, { friendly_name = "guessing", factor_type = "totp" }))
    local right = verify.totp.code(f.binding.secret, { time = T })
    local wrong = right == "000000" and "111111" or "000000"
    for _ = 1, 5 do
      local ok, err = client:verify_factor(SVC, id, f.sid, wrong)
      assert.is_false(ok)
      assert.is_nil(err)
    end
    local before = e:stats().total
    local ok, err = client:verify_factor(SVC, id, f.sid, right)
    assert.is_nil(ok)
    assert.same({ "http", 429, 60310, false }, { err.kind, err.status, err.code, err.retryable })
    assert.equal(before + 1, e:stats().total) -- never retried
    assert.equal("unverified", assert(client:fetch_factor(SVC, id, f.sid)).status)
  end)

  it("creates with a caller-supplied secret and every TOTP form key", function()
    local id = identity()
    local secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    local f = assert(client:create_factor(SVC, id, {
      friendly_name = "own secret", factor_type = "totp", binding_secret = secret,
      config_time_step = 45, config_skew = 2, config_code_length = 7, config_alg = "sha256",
      metadata = { os = "Linux", app = "cli" } }))
    local req = e:last_request()
    local keys = {}
    for i, kv in ipairs(req.form) do keys[i] = kv[1] end
    assert.same({ "FriendlyName", "FactorType", "Binding.Secret", "Config.TimeStep", "Config.Skew",
                  "Config.CodeLength", "Config.Alg", "Metadata" }, keys)
    assert.equal(secret, f.binding.secret)
    assert.same({ os = "Linux", app = "cli" }, f.metadata)
    local code = verify.totp.code(secret, { alg = "sha256", digits = 7, step = 45, time = T })
    assert.is_true(client:verify_factor(SVC, id, f.sid, code))
  end)

  it("encodes a metadata table exactly once and sends a string as is", function()
    local id = identity()
    assert(client:create_factor(SVC, id, { friendly_name = "m1", factor_type = "totp",
                                           metadata = { os = "Android", note = "a \"quoted\" value" } }))
    local sent
    for _, kv in ipairs(e:last_request().form) do if kv[1] == "Metadata" then sent = kv[2] end end
    local cjson = require "cjson"
    assert.same({ os = "Android", note = 'a "quoted" value' }, cjson.decode(sent))
    local raw = '{"os":"iOS"}'
    assert(client:create_factor(SVC, id, { friendly_name = "m2", factor_type = "totp", metadata = raw }))
    for _, kv in ipairs(e:last_request().form) do if kv[1] == "Metadata" then sent = kv[2] end end
    assert.equal(raw, sent)
    local v, err = client:create_factor(SVC, id, { friendly_name = "m3", factor_type = "totp",
                                                   metadata = { bad = function() end } })
    assert.is_nil(v)
    assert.equal("metadata", err.param)
  end)

  it("creates a push factor with every push form key", function()
    local id = identity()
    local f = assert(client:create_factor(SVC, id, {
      friendly_name = "Pixel 9", factor_type = "push", binding_alg = "ES256",
      binding_public_key = require("support.pushkeys").pub("pixel9"),
      config_app_id = "com.example.app", config_notification_platform = "fcm",
      config_notification_token = string.rep("f", 64), config_sdk_version = "2.0" }))
    assert.equal("push", f.factor_type)
    assert.equal("ES256", f.binding.alg)
    assert.same({ sdk_version = "2.0", app_id = "com.example.app", notification_platform = "fcm",
                  notification_token = string.rep("f", 64), credential_sid = "CR" .. f.sid:sub(3) }, f.config)
    -- the push AuthPayload: the device key's signature of the factor sid
    local pushkeys = require "support.pushkeys"
    assert.is_true(client:verify_factor(SVC, id, f.sid, pushkeys.sign(pushkeys.pub("pixel9"), f.sid)))
  end)

  it("rejects bad TOTP input locally", function()
    local v, err = verify.totp.code("not base32!")
    assert.is_nil(v)
    assert.equal("invalid_argument", err.kind)
    assert.equal("secret", err.param)
    v, err = verify.totp.code("JBSWY3DPEHPK3PXP", { digits = 9 })
    assert.is_nil(v)
    assert.equal("digits", err.param)
    v, err = verify.totp.check("JBSWY3DPEHPK3PXP", "123456", { skew = 3 })
    assert.is_nil(v)
    assert.equal("skew", err.param)
    v, err = verify.totp.parse_uri("https://example.com/")
    assert.is_nil(v)
    assert.equal("uri", err.param)
  end)
end)
