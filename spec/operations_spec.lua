-- The four Factor operations (plus create) end to end against the emulator:
-- what reaches the wire, what comes back, every error shape.
local verify = require "twilio.verify"
local emulator = require "support.emulator"
local fixture = require "support.fixture"

local SVC = "VA" .. string.rep("ab", 16)
local ID = "user-0001-ops"

describe("operations", function()
  local e, client

  fixture.emulator({}, { max_retries = 0 }, function(em, c) e, client = em, c end)

  local function new_totp(name)
    return assert(client:create_factor(SVC, ID, { friendly_name = name or "phone", factor_type = "totp" }))
  end

  it("creates, fetches, lists, updates and deletes", function()
    local f = new_totp("my phone")
    assert.matches("^YF%x+$", f.sid)
    assert.equal("unverified", f.status)
    assert.equal("totp", f.factor_type)
    assert.is_string(f.binding.secret)
    local req = e:last_request()
    assert.equal("POST", req.method)
    assert.equal("/v2/Services/" .. SVC .. "/Entities/" .. ID .. "/Factors", req.path)
    assert.same({ { "FriendlyName", "my phone" }, { "FactorType", "totp" } }, req.form)

    local g = assert(client:fetch_factor(SVC, ID, f.sid))
    assert.equal(f.sid, g.sid)
    assert.equal(ID, g.identity)
    assert.equal(SVC, g.service_sid)
    assert.equal(e.account_sid, g.account_sid)
    assert.equal("my phone", g.friendly_name)
    assert.same({ alg = "sha1", skew = 1, code_length = 6, time_step = 30 }, g.config)
    assert.is_nil(g.binding) -- only returned on create
    assert.is_nil(g.metadata) -- JSON null -> absent
    for _, k in ipairs{ "sid", "account_sid", "service_sid", "entity_sid", "identity", "date_created",
                        "date_updated", "friendly_name", "status", "factor_type", "config", "url" } do
      assert.is_not_nil(g[k], k)
    end
    req = e:last_request()
    assert.equal("GET", req.method)
    assert.equal("/v2/Services/" .. SVC .. "/Entities/" .. ID .. "/Factors/" .. f.sid, req.path)

    local page = assert(client:list_factor(SVC, ID))
    assert.equal(1, #page.factors)
    assert.equal(f.sid, page.factors[1].sid)
    assert.equal(0, page.meta.page)
    assert.equal(50, page.meta.page_size)
    assert.equal("factors", page.meta.key)

    local u = assert(client:update_factor(SVC, ID, f.sid, { friendly_name = "renamed" }))
    assert.equal("renamed", u.friendly_name)
    req = e:last_request()
    assert.same({ { "FriendlyName", "renamed" } }, req.form)

    assert.is_true(client:delete_factor(SVC, ID, f.sid))
    req = e:last_request()
    assert.equal("DELETE", req.method)
    local gone, err = client:fetch_factor(SVC, ID, f.sid)
    assert.is_nil(gone)
    assert.equal("http", err.kind)
    assert.equal(404, err.status)
    assert.equal(20404, err.code)
    assert.is_string(err.more_info)
    assert.equal("GET", err.method)
    assert.matches("/Factors/" .. f.sid .. "$", err.url)
  end)

  it("sends every update parameter under its exact form key", function()
    local f = new_totp()
    assert(client:update_factor(SVC, ID, f.sid, {
      friendly_name = "all of them", config_time_step = 60, config_skew = 2,
      config_code_length = 8, config_alg = "sha512" }))
    local req = e:last_request()
    assert.equal("application/x-www-form-urlencoded", req.content_type:match("^[^;]+"))
    assert.equal("Basic", req.authorization_scheme)
    assert.same({ { "FriendlyName", "all of them" }, { "Config.TimeStep", "60" }, { "Config.Skew", "2" },
                  { "Config.CodeLength", "8" }, { "Config.Alg", "sha512" } }, req.form)
    local g = assert(client:fetch_factor(SVC, ID, f.sid))
    assert.same({ alg = "sha512", skew = 2, code_length = 8, time_step = 60 }, g.config)

    -- push-side keys, and AuthPayload (the device key's signature of the sid)
    local pushkeys = require "support.pushkeys"
    local p = assert(client:create_factor(SVC, ID, {
      friendly_name = "pixel", factor_type = "push", binding_alg = "ES256",
      binding_public_key = pushkeys.pub("ops-pixel"),
      config_app_id = "com.example.myapp", config_notification_platform = "fcm",
      config_notification_token = string.rep("t", 40), config_sdk_version = "1.0" }))
    local sig = pushkeys.sign("ops-pixel", p.sid)
    assert(client:update_factor(SVC, ID, p.sid, {
      config_notification_token = string.rep("n", 64), config_sdk_version = "2.1",
      config_notification_platform = "apn", auth_payload = sig }))
    req = e:last_request()
    -- the emulator's log keeps no secret value (issue 23 item 3)
    assert.same({ { "AuthPayload", "[REDACTED]" }, { "Config.NotificationToken", "[REDACTED]" },
                  { "Config.SdkVersion", "2.1" }, { "Config.NotificationPlatform", "apn" } }, req.form)
    local q = assert(client:fetch_factor(SVC, ID, p.sid))
    assert.equal("apn", q.config.notification_platform)
    assert.equal("2.1", q.config.sdk_version)
  end)

  it("percent-encodes the request exactly as built and sends a User-Agent", function()
    local f = new_totp("Ann's phone & tablet = 1/2")
    local req = e:last_request()
    assert.matches("FriendlyName=Ann%%27s%%20phone%%20%%26%%20tablet%%20%%3D%%201%%2F2", req.body)
    assert.equal("Ann's phone & tablet = 1/2", f.friendly_name)
    assert.matches("^twilio%-verify%-lua/%d+%.%d+%.%d+ %(.+%) Lua/5%.%d ", req.user_agent)
    assert.matches(" libcurl/[%d.]+$", req.user_agent)
    if rawget(_G, "jit") then assert.matches(" LuaJIT/2%.", req.user_agent) end
  end)

  it("paginates over several pages with page_token", function()
    local sids = {}
    for i = 1, 7 do sids[i] = new_totp("f" .. i).sid end
    local seen, token, pages = {}, nil, 0
    repeat
      local page = assert(client:list_factor(SVC, ID, { page_size = 3, page_token = token }))
      pages = pages + 1
      for _, f in ipairs(page.factors) do seen[#seen + 1] = f.sid end
      local next_url = page.meta.next_page_url
      token = next_url and next_url:match("PageToken=([^&]+)")
    until not token
    assert.equal(3, pages)
    assert.same(sids, seen)
    local req = e:last_request()
    assert.matches("PageSize=3", req.query)
    assert.matches("PageToken=", req.query)
  end)

  it("rejects bad arguments before any request", function()
    local before = e:stats().total
    local cases = {
      { function() return client:fetch_factor("VA123", ID, "YF" .. string.rep("0", 32)) end, "service_sid" },
      { function() return client:fetch_factor(SVC, "short", "YF" .. string.rep("0", 32)) end, "identity" },
      { function() return client:fetch_factor(SVC, "a/b/../c-long", "YF" .. string.rep("0", 32)) end, "identity" },
      { function() return client:delete_factor(SVC, ID, "YF%2F") end, "sid" },
      { function() return client:update_factor(SVC, ID, "YF" .. string.rep("0", 32), { frendly_name = "x" }) end,
        "frendly_name" },
      { function() return client:update_factor(SVC, ID, "YF" .. string.rep("0", 32), { config_skew = 3 }) end,
        "config_skew" },
      { function() return client:list_factor(SVC, ID, { page_size = 0 }) end, "page_size" },
      { function() return client:fetch_factor(SVC, ID, 42) end, "sid" },
    }
    for i, c in ipairs(cases) do
      local v, err = c[1]()
      assert.is_nil(v, "case " .. i)
      assert.equal("invalid_argument", err.kind, "case " .. i)
      assert.equal(c[2], err.param, "case " .. i)
      assert.matches(c[2], err.message, 1, true)
    end
    assert.equal(before, e:stats().total)
  end)

  it("reports auth failure as a structured 401", function()
    local bad = assert(verify.new{ account_sid = e.account_sid, auth_token = "wrong-token",
                                   base_url = e.base_url, max_retries = 0 })
    local v, err = bad:list_factor(SVC, ID)
    assert.is_nil(v)
    assert.same({ "http", 401, 20003 }, { err.kind, err.status, err.code })
    assert.is_false(err.retryable)
    assert.not_matches("wrong%-token", tostring(err))
    bad:close()
  end)

  it("authenticates with an API key and secret", function()
    local key, secret = "SK" .. string.rep("4b", 16), "api-secret-value"
    local e2 = emulator.start{ api_key = key, api_secret = secret }
    local c = assert(verify.new{ account_sid = e2.account_sid, api_key = key, api_secret = secret,
                                 base_url = e2.base_url })
    local page = assert(c:list_factor(SVC, ID))
    assert.same({}, page.factors)
    local bad = assert(verify.new{ account_sid = e2.account_sid, api_key = key, api_secret = "wrong",
                                   base_url = e2.base_url, max_retries = 0 })
    local _, err = bad:list_factor(SVC, ID)
    assert.equal(401, err.status)
    c:close()
    bad:close()
    e2:stop()
  end)

  it("rejects unknown option keys and bad options", function()
    local c, err = verify.new{ account_sid = e.account_sid, auth_token = "x", base_url = e.base_url, timout = 5 }
    assert.is_nil(c)
    assert.equal("invalid_argument", err.kind)
    assert.equal("timout", err.param)
    c, err = verify.new{ account_sid = "nope", auth_token = "x" }
    assert.is_nil(c)
    assert.equal("account_sid", err.param)
    c, err = verify.new{ account_sid = e.account_sid, auth_token = "x", base_url = "http://example.com" }
    assert.is_nil(c)
    assert.equal("base_url", err.param)
    c, err = verify.new{ account_sid = e.account_sid, api_key = "SK123", api_secret = "s" }
    assert.is_nil(c)
    assert.equal("api_key", err.param)
    c, err = verify.new{ account_sid = e.account_sid, api_key = "SK" .. string.rep("a", 32) }
    assert.is_nil(c)
    assert.equal("api_secret", err.param)
    c, err = verify.new{ account_sid = e.account_sid, auth_token = "x", api_key = "SK" .. string.rep("a", 32),
                         api_secret = "s" }
    assert.is_nil(c)
    assert.equal("auth_token", err.param)
  end)

  it("turns each error shape into a structured error", function()
    local f = new_totp()
    e:fault{ action = "status", status = 400, code = 60200, message = "Invalid parameter: FriendlyName",
             details = { field = "FriendlyName" }, request_id = "RQ0123456789" }
    local _, err = client:fetch_factor(SVC, ID, f.sid)
    assert.same({ "http", 400, 60200, "Invalid parameter: FriendlyName", "RQ0123456789" },
                { err.kind, err.status, err.code, err.message, err.request_id })
    assert.same({ field = "FriendlyName" }, err.details)

    e:fault{ action = "rfc9457", status = 403, code = 20403, message = "Forbidden here" }
    _, err = client:fetch_factor(SVC, ID, f.sid)
    assert.same({ "http", 403, 20403 }, { err.kind, err.status, err.code })
    assert.is_string(err.more_info)

    e:fault{ action = "html", status = 502 }
    _, err = client:fetch_factor(SVC, ID, f.sid)
    assert.same({ "http", 502 }, { err.kind, err.status })
    assert.is_nil(err.code)
    assert.matches("<", err.body)
    assert.is_true(#err.body <= 512)

    e:fault{ action = "truncated" }
    _, err = client:fetch_factor(SVC, ID, f.sid)
    assert.equal("decode", err.kind)

    e:fault{ action = "not_json" }
    _, err = client:list_factor(SVC, ID)
    assert.equal("decode", err.kind)

    e:fault{ action = "wrong_shape" }
    _, err = client:list_factor(SVC, ID)
    assert.equal("decode", err.kind)
    assert.matches("JSON object", err.message)
  end)
end)
