-- The emulator itself, driven over raw HTTP (no client library involved):
-- auth, the five Factor operations, pagination, errors in Twilio's shape,
-- limits, TOTP verification, every fault action and the control API.
local emulator = require "support.emulator"
local cjson = require "cjson"

local SVC = "VA" .. string.rep("0123456789abcdef", 2)
local ID = "emu-user-0001"
local SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
local T = 1700000000 -- a fixed emulator clock
local P = emulator.factors_path

local FACTOR_KEYS = { "sid", "account_sid", "service_sid", "entity_sid", "identity", "date_created", "date_updated",
                      "friendly_name", "status", "factor_type", "config", "metadata", "url" }
local NEW_FACTOR_KEYS = { "sid", "account_sid", "service_sid", "entity_sid", "identity", "binding", "options",
                          "date_created", "date_updated", "friendly_name", "status", "factor_type", "config",
                          "metadata", "url" }

-- the top-level keys of a JSON object text, in order
local function key_order(text)
  local keys, depth, i = {}, 0, 1
  while i <= #text do
    local c = text:sub(i, i)
    if c == '"' then
      local j = i + 1
      while text:sub(j, j) ~= '"' do j = j + (text:sub(j, j) == "\\" and 2 or 1) end
      if depth == 1 and text:sub(j + 1, j + 1) == ":" then keys[#keys + 1] = text:sub(i + 1, j - 1) end
      i = j
    elseif c == "{" or c == "[" then
      depth = depth + 1
    elseif c == "}" or c == "]" then
      depth = depth - 1
    end
    i = i + 1
  end
  return keys
end

local function assert_error(status, body, want_status, want_code, message_part)
  assert.equal(want_status, status)
  assert.is_table(body, "error body is JSON")
  assert.equal(want_code, body.code)
  assert.equal(want_status, body.status)
  assert.equal("https://www.twilio.com/docs/errors/" .. want_code, body.more_info)
  assert.is_string(body.message)
  if message_part then
    assert.is_truthy(body.message:find(message_part, 1, true), "message: " .. body.message)
  end
end

local pushkeys = require "support.pushkeys"

local function push_form(name, extra)
  local f = { { "FriendlyName", name or "my phone" }, { "FactorType", "push" }, { "Binding.Alg", "ES256" },
              { "Binding.PublicKey", pushkeys.pub(name) }, { "Config.AppId", "com.example.myapp" },
              { "Config.NotificationPlatform", "fcm" }, { "Config.SdkVersion", "1.0" },
              { "Config.NotificationToken", string.rep("t", 40) } }
  for _, kv in ipairs(extra or {}) do f[#f + 1] = kv end
  return f
end

-- stop an emulator and check it exited on SIGTERM with nothing on stderr
-- (sanitizer reports land there)
local function stop_clean(x)
  assert.is_true(x:stop())
  assert.equal("", x.stderr)
end

describe("emulator", function()
  local e

  setup(function() e = emulator.start{} end)
  teardown(function()
    if e then stop_clean(e) end
  end)
  before_each(function() e:reset() end)

  local function create_totp(name, extra, id)
    local form = { { "FriendlyName", name or "phone" }, { "FactorType", "totp" } }
    for _, kv in ipairs(extra or {}) do form[#form + 1] = kv end
    local status, body, _, _, text = e:json("POST", P(SVC, id or ID), form)
    assert.equal(201, status, text)
    return body, text
  end

  local function create_push(name, extra, id)
    local status, body, _, _, text = e:json("POST", P(SVC, id or ID), push_form(name, extra))
    assert.equal(201, status, text)
    return body, text
  end

  describe("authentication", function()
    it("answers 401 in Twilio's shape without credentials", function()
      local status, body, h = e:json("GET", P(SVC, ID), nil, { Authorization = false })
      assert_error(status, body, 401, 20003)
      assert.same({ code = 20003, message = "Authenticate", more_info = "https://www.twilio.com/docs/errors/20003",
                    status = 401 }, body)
      assert.equal('Basic realm="Twilio API"', h["www-authenticate"])
      assert.equal("application/json", h["content-type"])
    end)

    it("rejects a wrong token, a wrong account and a non-Basic scheme", function()
      local bad = {
        "Basic " .. "QUMxMjM6eHl6", -- AC123:xyz
        "Bearer " .. e.auth_token,
        "Basic !!!!",
      }
      for _, a in ipairs(bad) do
        local status, body = e:json("GET", P(SVC, ID), nil, { Authorization = a })
        assert_error(status, body, 401, 20003)
      end
      local e2 = emulator.start{}
      e2.auth_token = e.auth_token
      local status = e2:json("GET", P(SVC, ID))
      assert.equal(401, status)
      stop_clean(e2)
    end)

    it("accepts an API key and secret when configured", function()
      local key = "SK" .. string.rep("ab", 16)
      local e2 = emulator.start{ api_key = key, api_secret = "s3cret" }
      local acct, token = e2.account_sid, e2.auth_token
      e2.account_sid, e2.auth_token = key, "s3cret"
      local status = e2:json("POST", P(SVC, ID), { { "FriendlyName", "k" }, { "FactorType", "totp" } })
      assert.equal(201, status)
      e2.auth_token = "wrong"
      assert.equal(401, (e2:json("GET", P(SVC, ID))))
      e2.account_sid, e2.auth_token = acct, token
      assert.equal(200, (e2:json("GET", P(SVC, ID))))
      stop_clean(e2)
    end)

    it("counts unauthenticated requests but applies nothing", function()
      e:json("POST", P(SVC, ID), { { "FriendlyName", "x" }, { "FactorType", "totp" } }, { Authorization = false })
      local st = e:stats()
      assert.equal(1, st.requests.create)
      assert.equal(0, st.applied.create)
    end)
  end)

  describe("create", function()
    it("creates a TOTP factor with a generated secret and the new_factor shape", function()
      local f, text = create_totp("John's phone")
      assert.same(NEW_FACTOR_KEYS, key_order(text))
      assert.matches("^YF%x+$", f.sid)
      assert.equal(34, #f.sid)
      assert.equal(e.account_sid, f.account_sid)
      assert.equal(SVC, f.service_sid)
      assert.matches("^YE%x+$", f.entity_sid)
      assert.equal(34, #f.entity_sid)
      assert.equal(ID, f.identity)
      assert.equal(cjson.null, f.options)
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$", f.date_created)
      assert.equal(f.date_created, f.date_updated)
      assert.equal("John's phone", f.friendly_name)
      assert.equal("unverified", f.status)
      assert.equal("totp", f.factor_type)
      assert.same({ alg = "sha1", skew = 1, code_length = 6, time_step = 30 }, f.config)
      assert.equal(cjson.null, f.metadata)
      assert.equal(e.base_url .. P(SVC, ID, f.sid), f.url)
      assert.matches("^[A-Z2-7]+$", f.binding.secret)
      assert.equal(32, #f.binding.secret) -- 20 random bytes
      assert.equal("otpauth://totp/twilio-verify-emulator:John%27s%20phone?secret=" .. f.binding.secret ..
                   "&issuer=twilio-verify-emulator&algorithm=SHA1&digits=6&period=30", f.binding.uri)
      local g = create_totp("second")
      assert.equal(f.entity_sid, g.entity_sid) -- stable per entity
      assert.not_equal(f.sid, g.sid)
      assert.not_equal(f.binding.secret, g.binding.secret)
    end)

    it("uses a given secret and TOTP config", function()
      local f = create_totp("cfg", { { "Binding.Secret", SECRET:lower() }, { "Config.Alg", "sha256" },
                                     { "Config.TimeStep", "60" }, { "Config.CodeLength", "8" },
                                     { "Config.Skew", "2" } })
      assert.equal(SECRET, f.binding.secret)
      assert.same({ alg = "sha256", skew = 2, code_length = 8, time_step = 60 }, f.config)
      assert.matches("algorithm=SHA256&digits=8&period=60$", f.binding.uri)
    end)

    it("creates a push factor with binding, config and metadata", function()
      local f, text = create_push("Pixel", { { "Metadata", '{"os":"Android"}' } })
      assert.same(NEW_FACTOR_KEYS, key_order(text))
      assert.same({ alg = "ES256", public_key = pushkeys.pub("Pixel") }, f.binding)
      assert.same({ sdk_version = "1.0", app_id = "com.example.myapp", notification_platform = "fcm",
                    notification_token = string.rep("t", 40), credential_sid = "CR" .. f.sid:sub(3) }, f.config)
      assert.same({ os = "Android" }, f.metadata)
      assert.equal("push", f.factor_type)
    end)

    it("allows a push factor without a token on platform none", function()
      local form = push_form("no token")
      form[6] = { "Config.NotificationPlatform", "none" }
      table.remove(form, 8)
      local status, f = e:json("POST", P(SVC, ID), form)
      assert.equal(201, status)
      assert.equal("none", f.config.notification_platform)
      assert.equal(cjson.null, f.config.notification_token)
    end)

    local bad_creates = {
      { "missing FriendlyName", { { "FactorType", "totp" } }, "FriendlyName" },
      { "missing FactorType", { { "FriendlyName", "x" } }, "FactorType" },
      { "bad FactorType", { { "FriendlyName", "x" }, { "FactorType", "sms" } }, "FactorType" },
      { "unknown key", { { "FriendlyName", "x" }, { "FactorType", "totp" }, { "Colour", "red" } }, "Colour" },
      { "repeated key", { { "FriendlyName", "x" }, { "FriendlyName", "y" }, { "FactorType", "totp" } },
        "FriendlyName" },
      { "FriendlyName too long", { { "FriendlyName", string.rep("x", 65) }, { "FactorType", "totp" } },
        "FriendlyName" },
      { "empty FriendlyName", { { "FriendlyName", "" }, { "FactorType", "totp" } }, "FriendlyName" },
      { "control character", { { "FriendlyName", "a\nb" }, { "FactorType", "totp" } }, "FriendlyName" },
      { "Metadata not an object", { { "FriendlyName", "x" }, { "FactorType", "totp" }, { "Metadata", "[1]" } },
        "Metadata" },
      { "TimeStep out of range", { { "FriendlyName", "x" }, { "FactorType", "totp" }, { "Config.TimeStep", "61" } },
        "Config.TimeStep" },
      { "Skew not a number", { { "FriendlyName", "x" }, { "FactorType", "totp" }, { "Config.Skew", "one" } },
        "Config.Skew" },
      { "CodeLength too small", { { "FriendlyName", "x" }, { "FactorType", "totp" }, { "Config.CodeLength", "2" } },
        "Config.CodeLength" },
      { "bad Alg", { { "FriendlyName", "x" }, { "FactorType", "totp" }, { "Config.Alg", "md5" } }, "Config.Alg" },
      { "bad Base32 secret", { { "FriendlyName", "x" }, { "FactorType", "totp" },
                               { "Binding.Secret", "not base32 at all 1!" } }, "Binding.Secret" },
      { "push field on totp", { { "FriendlyName", "x" }, { "FactorType", "totp" }, { "Config.AppId", "a" } },
        "Config.AppId" },
      { "totp field on push", push_form("x", { { "Config.Skew", "1" } }), "Config.Skew" },
      { "push without public key", { { "FriendlyName", "x" }, { "FactorType", "push" }, { "Binding.Alg", "ES256" },
                                     { "Config.AppId", "a" }, { "Config.NotificationPlatform", "none" },
                                     { "Config.SdkVersion", "1" } }, "Binding.PublicKey" },
      { "push with RS256", (function()
          local f = push_form("x")
          f[3] = { "Binding.Alg", "RS256" }
          return f
        end)(), "Binding.Alg" },
      { "push fcm without token", (function()
          local f = push_form("x")
          table.remove(f, 8)
          return f
        end)(), "Config.NotificationToken" },
      { "token too short", (function()
          local f = push_form("x")
          f[8] = { "Config.NotificationToken", "short" }
          return f
        end)(), "Config.NotificationToken" },
    }
    for _, c in ipairs(bad_creates) do
      it("answers 400 60200 for " .. c[1], function()
        local status, body = e:json("POST", P(SVC, ID), c[2])
        assert_error(status, body, 400, 60200, c[3])
        assert.equal(c[3], body.details.parameter)
      end)
    end

    it("answers 400 for a body that is not form-encoded", function()
      local status, body = e:json("POST", P(SVC, ID), '{"FriendlyName":"x"}', { ["Content-Type"] = "application/json" })
      assert_error(status, body, 400, 60200, "Content-Type")
      status, body = e:json("POST", P(SVC, ID), "FriendlyName=%zz&FactorType=totp")
      assert_error(status, body, 400, 60200, "percent")
      assert.equal(0, e:stats().applied.create)
    end)

    it("decodes '+' and percent escapes in the form", function()
      local status, f = e:json("POST", P(SVC, ID), "FriendlyName=my+phone%20%C3%A9&FactorType=totp")
      assert.equal(201, status)
      assert.equal("my phone é", f.friendly_name)
    end)
  end)

  describe("fetch", function()
    it("returns the factor shape without binding", function()
      local f = create_push("p", { { "Metadata", '{"os":"iOS"}' } })
      local status, g, h, _, text = e:json("GET", P(SVC, ID, f.sid))
      assert.equal(200, status)
      assert.equal("application/json", h["content-type"])
      assert.matches("^RQ%x+$", h["twilio-request-id"])
      assert.same(FACTOR_KEYS, key_order(text))
      for _, k in ipairs(FACTOR_KEYS) do assert.same(f[k], g[k], k) end
      assert.is_nil(g.binding)
    end)

    it("answers 404 20404 for an unknown factor, a wrong identity or service", function()
      local f = create_totp()
      local missing = "YF" .. string.rep("0", 32)
      local status, body = e:json("GET", P(SVC, ID, missing))
      assert_error(status, body, 404, 20404, missing)
      status, body = e:json("GET", P(SVC, "other-user-0001", f.sid))
      assert_error(status, body, 404, 20404)
      status, body = e:json("GET", P("VA" .. string.rep("f", 32), ID, f.sid))
      assert_error(status, body, 404, 20404)
    end)

    it("percent-decodes path segments and logs the raw path", function()
      local f = create_totp()
      local raw = "/v2/Services/" .. SVC .. "/Entities/emu%2Duser%2D0001/Factors/" .. f.sid
      local status, g = e:json("GET", raw)
      assert.equal(200, status)
      assert.equal(ID, g.identity)
      assert.equal(raw, e:last_request().path)
    end)
  end)

  describe("path and method errors", function()
    local sid = "YF" .. string.rep("a", 32)
    local cases = {
      { "bad ServiceSid", "/v2/Services/VA123/Entities/" .. ID .. "/Factors", "ServiceSid" },
      { "lower-case prefix", "/v2/Services/va" .. string.rep("0", 32) .. "/Entities/" .. ID .. "/Factors",
        "ServiceSid" },
      { "short Identity", P(SVC, "short"), "Identity" },
      { "Identity with a double dash", P(SVC, "emu--user-01"), "Identity" },
      { "Identity with an encoded slash", "/v2/Services/" .. SVC .. "/Entities/emu%2Fuser-0001/Factors", "Identity" },
      { "bad factor Sid", P(SVC, ID, "YF123"), "Sid" },
      { "factor Sid with a wrong prefix", P(SVC, ID, "YE" .. string.rep("a", 32)), "Sid" },
    }
    for _, c in ipairs(cases) do
      it("answers 400 60200 for " .. c[1], function()
        local status, body = e:json("GET", c[2])
        assert_error(status, body, 400, 60200, c[3])
        assert.equal(c[3], body.details.parameter)
      end)
    end

    it("answers 405 20004 with Allow for a wrong method", function()
      local status, body, h = e:json("PUT", P(SVC, ID, sid))
      assert_error(status, body, 405, 20004)
      assert.equal("GET, POST, DELETE", h.allow)
      status, body, h = e:json("DELETE", P(SVC, ID))
      assert_error(status, body, 405, 20004)
      assert.equal("GET, POST", h.allow)
      assert.equal(2, e:stats().requests.other)
    end)

    it("answers 404 20404 for unknown paths", function()
      -- (/v2/Services is ListService and /v2/Services/{Sid} FetchService now: a
      -- service never created is 404 20404 too)
      for _, path in ipairs{ "/", "/v2/Servicez", "/v1/Services/" .. SVC .. "/Entities/" .. ID .. "/Factors",
                             P(SVC, ID) .. "/", P(SVC, ID, sid) .. "/extra", "/v2/Services/" .. SVC } do
        local status, body = e:json("GET", path)
        assert_error(status, body, 404, 20404)
      end
    end)

    it("answers 400 for query parameters an operation does not take", function()
      local f = create_totp()
      local status, body = e:json("GET", P(SVC, ID, f.sid) .. "?PageSize=5")
      assert_error(status, body, 400, 60200, "PageSize")
    end)
  end)

  describe("list", function()
    local function make(n, id)
      local sids = {}
      for i = 1, n do sids[i] = create_totp("f" .. i, nil, id).sid end
      return sids
    end

    local function sids_of(page)
      local out = {}
      for i, f in ipairs(page.factors) do out[i] = f.sid end
      return out
    end

    it("returns an empty first page after the last factor is deleted", function()
      local f = create_totp()
      assert.equal(204, (e:request("DELETE", P(SVC, ID, f.sid))))
      local status, page, _, _, text = e:json("GET", P(SVC, ID))
      assert.equal(200, status)
      assert.same({ "factors", "meta" }, key_order(text))
      assert.same({}, page.factors)
      local base = e.base_url .. P(SVC, ID)
      assert.same({ page = 0, page_size = 50, first_page_url = base .. "?PageSize=50&Page=0",
                    previous_page_url = cjson.null, url = base .. "?PageSize=50&Page=0",
                    next_page_url = cjson.null, key = "factors" }, page.meta)
      assert.same({ "page", "page_size", "first_page_url", "previous_page_url", "url", "next_page_url", "key" },
        key_order(text:match('"meta":(%b{})')))
    end)

    it("lists an entity that never had factors as empty", function()
      local status, page = e:json("GET", P(SVC, "nobody-0001"))
      assert.equal(200, status)
      assert.same({}, page.factors)
      assert.equal(cjson.null, page.meta.next_page_url)
    end)

    it("walks pages with next and previous URLs", function()
      local all = make(7)
      local status, p1 = e:json("GET", P(SVC, ID) .. "?PageSize=3")
      assert.equal(200, status)
      assert.same({ all[1], all[2], all[3] }, sids_of(p1))
      assert.equal(0, p1.meta.page)
      assert.equal(3, p1.meta.page_size)
      assert.equal(cjson.null, p1.meta.previous_page_url)
      assert.matches("^" .. e.base_url:gsub("%p", "%%%0") .. "/v2/Services/", p1.meta.next_page_url)
      assert.matches("PageSize=3&Page=1&PageToken=", p1.meta.next_page_url, 1, true)

      local _, p2 = e:json("GET", p1.meta.next_page_url)
      assert.same({ all[4], all[5], all[6] }, sids_of(p2))
      assert.equal(1, p2.meta.page)
      assert.equal(p1.meta.next_page_url, p2.meta.url)
      local _, p3 = e:json("GET", p2.meta.next_page_url)
      assert.same({ all[7] }, sids_of(p3))
      assert.equal(2, p3.meta.page)
      assert.equal(cjson.null, p3.meta.next_page_url)

      local _, back = e:json("GET", p3.meta.previous_page_url)
      assert.same({ all[4], all[5], all[6] }, sids_of(back))
      assert.equal(1, back.meta.page)
      local _, first = e:json("GET", back.meta.previous_page_url)
      assert.same({ all[1], all[2], all[3] }, sids_of(first))
      assert.equal(cjson.null, first.meta.previous_page_url)
      assert.equal(p1.meta.first_page_url, p3.meta.first_page_url)
    end)

    it("keeps page tokens stable when factors are deleted", function()
      local all = make(6)
      local _, p1 = e:json("GET", P(SVC, ID) .. "?PageSize=2")
      -- delete the last of page 1 and the first of page 2
      assert.equal(204, (e:request("DELETE", P(SVC, ID, all[2]))))
      assert.equal(204, (e:request("DELETE", P(SVC, ID, all[3]))))
      local _, p2 = e:json("GET", p1.meta.next_page_url)
      assert.same({ all[4], all[5] }, sids_of(p2))
      local _, prev = e:json("GET", p2.meta.previous_page_url)
      assert.same({ all[1] }, sids_of(prev))
    end)

    it("builds absolute URLs from the Host header (one of its loopback names)", function()
      make(2)
      local host = "localhost:" .. e.port
      local _, p = e:json("GET", P(SVC, ID) .. "?PageSize=1", nil, { Host = host })
      assert.equal("http://" .. host .. P(SVC, ID) .. "?PageSize=1&Page=0", p.meta.url)
      assert.equal("http://" .. host .. "/", p.meta.next_page_url:sub(1, #host + 8))
      assert.equal("http://" .. host .. "/", p.factors[1].url:sub(1, #host + 8))
      -- any other name is refused (DNS rebinding: issue 23 item 3)
      local status = e:json("GET", P(SVC, ID) .. "?PageSize=1", nil, { Host = "verify.example.test:8443" })
      assert.equal(403, status)
    end)

    it("validates PageSize, Page, PageToken and unknown query keys", function()
      make(1)
      local cases = {
        { "?PageSize=0", "PageSize" }, { "?PageSize=1001", "PageSize" }, { "?PageSize=x", "PageSize" },
        { "?Page=-1", "Page" }, { "?PageToken=bogus", "PageToken" }, { "?PageToken=PAzz", "PageToken" },
        { "?Limit=5", "Limit" }, { "?PageSize=2&PageSize=3", "PageSize" },
      }
      for _, c in ipairs(cases) do
        local status, body = e:json("GET", P(SVC, ID) .. c[1])
        assert_error(status, body, 400, 60200, c[2])
      end
      local status, p = e:json("GET", P(SVC, ID) .. "?PageSize=1000&Page=7")
      assert.equal(200, status)
      assert.equal(7, p.meta.page)
      assert.equal(1000, p.meta.page_size)
    end)

    -- TV_EMULATOR_LIST_FACTORS (default 10,000: ten full pages) sets the
    -- size; .ci/checks.d/scale runs it with 100,000
    local BULK = tonumber(os.getenv("TV_EMULATOR_LIST_FACTORS") or "") or 10000
    it("lists " .. BULK .. " factors in pages of 1000 (its speed is a make bench figure, not asserted here)", function()
      local big = emulator.start{ seed = { factors = { { service_sid = SVC, identity = ID, factor_type = "totp",
                                                         friendly_name = "bulk", count = BULK } } } }
      local url, n, pages, seen = P(SVC, ID) .. "?PageSize=1000", 0, 0, {}
      while url do
        local status, page = big:json("GET", url)
        assert.equal(200, status)
        pages = pages + 1
        for _, f in ipairs(page.factors) do
          assert.is_nil(seen[f.sid])
          seen[f.sid] = true
          n = n + 1
        end
        url = page.meta.next_page_url ~= cjson.null and page.meta.next_page_url or nil
      end
      assert.equal(BULK, n)
      assert.equal(math.ceil(BULK / 1000), pages)
      stop_clean(big)
    end)
  end)

  describe("update", function()
    it("updates every TOTP parameter and bumps date_updated", function()
      e:set_clock(T)
      local f = create_totp("old")
      e:set_clock(T + 3600)
      local status, g, _, _, text = e:json("POST", P(SVC, ID, f.sid), {
        { "FriendlyName", "new" }, { "Config.TimeStep", "20" }, { "Config.Skew", "0" },
        { "Config.CodeLength", "8" }, { "Config.Alg", "sha512" } })
      assert.equal(200, status)
      assert.same(FACTOR_KEYS, key_order(text))
      assert.equal("new", g.friendly_name)
      assert.same({ alg = "sha512", skew = 0, code_length = 8, time_step = 20 }, g.config)
      assert.equal("2023-11-14T22:13:20Z", g.date_created)
      assert.equal("2023-11-14T23:13:20Z", g.date_updated)
      local _, h = e:json("GET", P(SVC, ID, f.sid))
      assert.same(g, h)
      assert.equal(1, e:stats().applied.update)
    end)

    it("updates every push parameter", function()
      local f = create_push()
      local status, g = e:json("POST", P(SVC, ID, f.sid), {
        { "FriendlyName", "renamed" }, { "Config.NotificationToken", string.rep("n", 64) },
        { "Config.SdkVersion", "2.1.0" }, { "Config.NotificationPlatform", "apn" } })
      assert.equal(200, status)
      assert.equal("renamed", g.friendly_name)
      assert.same({ sdk_version = "2.1.0", app_id = "com.example.myapp", notification_platform = "apn",
                    notification_token = string.rep("n", 64), credential_sid = "CR" .. f.sid:sub(3) }, g.config)
    end)

    it("accepts an empty update and answers 404 for an unknown factor", function()
      local f = create_totp()
      local status, g = e:json("POST", P(SVC, ID, f.sid), "")
      assert.equal(200, status)
      assert.equal(f.friendly_name, g.friendly_name)
      local body
      status, body = e:json("POST", P(SVC, ID, "YF" .. string.rep("1", 32)), { { "FriendlyName", "x" } })
      assert_error(status, body, 404, 20404)
    end)

    local bad_updates = {
      { "unknown key", "totp", { { "FactorType", "push" } }, "FactorType" },
      { "TOTP key on a push factor", "push", { { "Config.Skew", "1" } }, "Config.Skew" },
      { "push key on a TOTP factor", "totp", { { "Config.SdkVersion", "1" } }, "Config.SdkVersion" },
      { "bad platform", "push", { { "Config.NotificationPlatform", "sms" } }, "Config.NotificationPlatform" },
      { "empty AuthPayload", "totp", { { "AuthPayload", "" } }, "AuthPayload" },
      { "FriendlyName too long", "totp", { { "FriendlyName", string.rep("é", 65) } }, "FriendlyName" },
    }
    for _, c in ipairs(bad_updates) do
      it("answers 400 60200 for " .. c[1], function()
        local f = c[2] == "push" and create_push() or create_totp()
        local status, body = e:json("POST", P(SVC, ID, f.sid), c[3])
        assert_error(status, body, 400, 60200, c[4])
        assert.equal(0, e:stats().applied.update)
      end)
    end
  end)

  describe("TOTP verification", function()
    local function verify(sid, code)
      return e:json("POST", P(SVC, ID, sid), { { "AuthPayload", code } })
    end

    it("verifies the code of the fixed clock (oathtool) and rejects others", function()
      e:set_clock(T)
      local f = create_totp("v", { { "Binding.Secret", SECRET } })
      local code = emulator.oathtool(SECRET, T)
      local wrong = code == "000000" and "111111" or "000000"
      local status, g = verify(f.sid, wrong)
      assert.equal(200, status)
      assert.equal("unverified", g.status)
      status, g = verify(f.sid, code)
      assert.equal(200, status)
      assert.equal("verified", g.status)
      local _, h = e:json("GET", P(SVC, ID, f.sid))
      assert.equal("verified", h.status)
    end)

    it("honours skew, code length, time step and algorithm", function()
      e:set_clock(T)
      local f = create_totp("v", { { "Binding.Secret", SECRET }, { "Config.Alg", "sha256" },
                                   { "Config.CodeLength", "8" }, { "Config.TimeStep", "60" } })
      local opts = { alg = "sha256", digits = 8, step = 60 }
      -- skew 1: two steps back is outside the window, one step back inside
      local _, g = verify(f.sid, emulator.oathtool(SECRET, T - 120, opts))
      assert.equal("unverified", g.status)
      _, g = verify(f.sid, emulator.oathtool(SECRET, T - 60, opts))
      assert.equal("verified", g.status)
    end)

    it("answers 429 60310 after five wrong codes in a row, until the lockout ends", function()
      e:set_clock(T)
      local f = create_totp("v", { { "Binding.Secret", SECRET } })
      local code = emulator.oathtool(SECRET, T)
      local wrong = code == "000000" and "111111" or "000000"
      for _ = 1, 5 do assert.equal(200, (verify(f.sid, wrong))) end
      local status, body = verify(f.sid, code)
      assert_error(status, body, 429, 60310)
      assert.equal(5, e:stats().applied.update)
      -- other updates still work while locked
      assert.equal(200, (e:json("POST", P(SVC, ID, f.sid), { { "FriendlyName", "still" } })))
      e:set_clock(T + 301)
      local _, g = verify(f.sid, emulator.oathtool(SECRET, T + 301))
      assert.equal("verified", g.status)
    end)

    it("resets the failure count on success", function()
      e:set_clock(T)
      local f = create_totp("v", { { "Binding.Secret", SECRET } })
      local code = emulator.oathtool(SECRET, T)
      local wrong = code == "000000" and "111111" or "000000"
      for _ = 1, 4 do verify(f.sid, wrong) end
      assert.equal(200, (verify(f.sid, code)))
      for _ = 1, 4 do assert.equal(200, (verify(f.sid, wrong))) end
      assert.equal(200, (verify(f.sid, code)))
    end)

    it("verifies a push factor by the signature of its sid (403 60311 otherwise)", function()
      local f = create_push("sig")
      local status, g = verify(f.sid, "invalid")
      assert_error(status, g, 403, 60311)
      status, g = verify(f.sid, pushkeys.sign(pushkeys.pub("other"), f.sid))
      assert_error(status, g, 403, 60311)
      local _, h = e:json("GET", P(SVC, ID, f.sid))
      assert.equal("unverified", h.status)
      _, g = verify(f.sid, pushkeys.sign(pushkeys.pub("sig"), f.sid))
      assert.equal("verified", g.status)
    end)
  end)

  describe("delete", function()
    it("answers 204 with an empty body, then 404", function()
      local f = create_totp()
      local status, body, h = e:request("DELETE", P(SVC, ID, f.sid))
      assert.equal(204, status)
      assert.equal("", body)
      assert.is_nil(h["content-type"])
      local b
      status, b = e:json("GET", P(SVC, ID, f.sid))
      assert_error(status, b, 404, 20404)
      status, b = e:json("DELETE", P(SVC, ID, f.sid))
      assert_error(status, b, 404, 20404)
      local st = e:stats()
      assert.equal(2, st.requests.delete)
      assert.equal(1, st.applied.delete)
    end)
  end)

  describe("limits", function()
    it("allows 20 push factors per entity (60315)", function()
      for i = 1, 20 do create_push("p" .. i) end
      local status, body = e:json("POST", P(SVC, ID), push_form("p21"))
      assert_error(status, body, 400, 60315)
      -- another entity is unaffected; deleting one frees a slot
      create_push("other", nil, "emu-user-0002")
      local _, page = e:json("GET", P(SVC, ID))
      assert.equal(204, (e:request("DELETE", P(SVC, ID, page.factors[1].sid))))
      create_push("p21")
    end)

    it("allows 100 creations per entity per day (60326)", function()
      e:set_clock(T)
      for i = 1, 100 do
        local f = create_totp("t" .. i)
        assert.equal(204, (e:request("DELETE", P(SVC, ID, f.sid))))
      end
      local status, body = e:json("POST", P(SVC, ID), { { "FriendlyName", "x" }, { "FactorType", "totp" } })
      assert_error(status, body, 429, 60326)
      e:set_clock(T + 86400)
      create_totp("next day")
    end)

    it("allows 100 TOTP factors per entity (60315)", function()
      e:set_clock(T)
      for i = 1, 100 do create_totp("t" .. i) end
      e:set_clock(T + 86400)
      local status, body = e:json("POST", P(SVC, ID), { { "FriendlyName", "x" }, { "FactorType", "totp" } })
      assert_error(status, body, 400, 60315)
    end)

    it("are lifted by --no-limits", function()
      local free = emulator.start{ no_limits = true }
      for i = 1, 21 do
        assert.equal(201, (free:json("POST", P(SVC, ID), push_form("p" .. i))))
      end
      for i = 1, 101 do
        assert.equal(201, (free:json("POST", P(SVC, ID), { { "FriendlyName", "t" .. i }, { "FactorType", "totp" } })))
      end
      stop_clean(free)
    end)
  end)

  describe("faults", function()
    local f
    before_each(function() f = create_totp("target") end)

    it("delay: waits, then answers normally", function()
      e:fault{ action = "delay", delay_ms = 300 }
      local status, g, _, info = e:json("GET", P(SVC, ID, f.sid))
      assert.equal(200, status)
      assert.equal(f.sid, g.sid)
      assert.is_true(info.time_total >= 0.29, "total " .. info.time_total)
      assert.is_true(info.time_starttransfer >= 0.29)
    end)

    it("delay_body: sends headers first, the body after the delay", function()
      e:fault{ action = "delay_body", delay_ms = 400 }
      local status, g, _, info = e:json("GET", P(SVC, ID, f.sid))
      assert.equal(200, status)
      assert.equal(f.sid, g.sid)
      -- the body came a delay after the headers (no upper bound on when the
      -- headers came: a loaded machine may be slow to answer at all)
      assert.is_true(info.time_total - info.time_starttransfer >= 0.3,
        "headers at " .. info.time_starttransfer .. ", body at " .. info.time_total)
      assert.is_true(info.time_total >= 0.39, "total " .. info.time_total)
    end)

    it("close: drops the connection without an answer and applies nothing", function()
      e:fault{ action = "close" }
      local status, _, _, info = e:request("POST", P(SVC, ID, f.sid), { { "FriendlyName", "lost" } })
      assert.equal(0, status)
      assert.equal(52, info.curl_exit) -- empty reply
      local _, g = e:json("GET", P(SVC, ID, f.sid))
      assert.equal("target", g.friendly_name)
      assert.equal(0, e:stats().applied.update)
    end)

    it("close with apply: applies, then drops the connection", function()
      e:fault{ action = "close", apply = true }
      local status = e:request("POST", P(SVC, ID, f.sid), { { "FriendlyName", "applied" } })
      assert.equal(0, status)
      local _, g = e:json("GET", P(SVC, ID, f.sid))
      assert.equal("applied", g.friendly_name)
    end)

    it("close_mid_body: 200 headers, part of the body, then a reset", function()
      e:fault{ action = "close_mid_body" }
      local status, body, h, info = e:request("GET", P(SVC, ID, f.sid))
      assert.equal(200, status)
      assert.equal(18, info.curl_exit) -- partial file
      assert.is_true(tonumber(h["content-length"]) > #body)
      assert.is_true(#body > 0)
      assert.equal("{", body:sub(1, 1))
    end)

    it("status: Twilio error with code, message, details, Retry-After and request id", function()
      e:fault{ action = "status", status = 503, code = 20503, message = "Service down", retry_after = "7",
               details = { more = "x" }, request_id = "RQ" .. string.rep("9", 32) }
      local status, body, h = e:json("GET", P(SVC, ID, f.sid))
      assert_error(status, body, 503, 20503, "Service down")
      assert.same({ more = "x" }, body.details)
      assert.equal("7", h["retry-after"])
      assert.equal("RQ" .. string.rep("9", 32), h["twilio-request-id"])
      -- defaults: code 20000 + status, the reason phrase as message
      e:fault{ action = "status", status = 429 }
      status, body, h = e:json("GET", P(SVC, ID, f.sid))
      assert_error(status, body, 429, 20429, "Too Many Requests")
      assert.is_nil(h["retry-after"])
    end)

    it("status: applies nothing unless apply is true", function()
      e:fault{ action = "status", status = 500 }
      e:json("POST", P(SVC, ID, f.sid), { { "FriendlyName", "no" } })
      local _, g = e:json("GET", P(SVC, ID, f.sid))
      assert.equal("target", g.friendly_name)
      e:fault{ action = "status", status = 500, apply = true }
      local status = e:json("POST", P(SVC, ID, f.sid), { { "FriendlyName", "yes" } })
      assert.equal(500, status)
      _, g = e:json("GET", P(SVC, ID, f.sid))
      assert.equal("yes", g.friendly_name)
      assert.equal(1, e:stats().applied.update)
    end)

    it("rfc9457: a problem+json body", function()
      e:fault{ action = "rfc9457", status = 403, code = 20403, message = "Forbidden here", detail = "why" }
      local status, body, h = e:json("GET", P(SVC, ID, f.sid))
      assert.equal(403, status)
      assert.equal("application/problem+json", h["content-type"])
      assert.same({ type = "https://www.twilio.com/docs/errors/20403", title = "Forbidden here", status = 403,
                    code = 20403, detail = "why" }, body)
    end)

    it("html: a proxy error page", function()
      e:fault{ action = "html" }
      local status, body, h = e:request("GET", P(SVC, ID, f.sid))
      assert.equal(502, status)
      assert.equal("text/html", h["content-type"])
      assert.matches("<h1>502 Bad Gateway</h1>", body, 1, true)
      e:fault{ action = "html", status = 504 }
      status = e:request("GET", P(SVC, ID, f.sid))
      assert.equal(504, status)
    end)

    it("truncated: the first half of the real JSON, nothing applied", function()
      e:fault{ action = "truncated" }
      local status, body, h = e:request("POST", P(SVC, ID), { { "FriendlyName", "half" }, { "FactorType", "totp" } })
      assert.equal(200, status)
      assert.equal("application/json", h["content-type"])
      assert.equal(tonumber(h["content-length"]), #body)
      assert.matches('^{"sid":"YF', body)
      assert.is_false((pcall(cjson.decode, body)))
      local _, page = e:json("GET", P(SVC, ID))
      assert.equal(1, #page.factors)
      assert.equal(0, e:stats().applied.create - 1) -- only the before_each factor
    end)

    it("not_json and wrong_shape", function()
      e:faults{ { action = "not_json" }, { action = "wrong_shape" } }
      local status, body, h = e:request("GET", P(SVC, ID, f.sid))
      assert.equal(200, status)
      assert.equal("not json at all", body)
      assert.equal("application/json", h["content-type"])
      status, body = e:request("GET", P(SVC, ID, f.sid))
      assert.equal(200, status)
      assert.equal("[1,2,3]", body)
    end)

    it("oversize: a valid JSON body of exactly that many bytes, streamed", function()
      e:fault{ action = "oversize", bytes = 3 * 1024 * 1024 + 5 }
      local status, body, h = e:request("GET", P(SVC, ID, f.sid))
      assert.equal(200, status)
      assert.equal(3 * 1024 * 1024 + 5, #body)
      assert.equal(tostring(#body), h["content-length"])
      local j = cjson.decode(body)
      assert.equal(#body - 8, #j.x)
    end)

    it("oversize: 100 MB without allocating it", function()
      e:fault{ action = "oversize", bytes = 100 * 1024 * 1024 }
      local p = io.popen("curl -s -o /dev/null -w '%{http_code} %{size_download}' --max-time 60 -u " ..
        emulator.shell_quote(e.account_sid .. ":" .. e.auth_token) .. " " .. e.base_url .. P(SVC, ID, f.sid))
      local out = p:read("a")
      p:close()
      assert.equal("200 " .. 100 * 1024 * 1024, out)
      local rss = not os.getenv("TV_EMULATOR_PREFIX") and io.open("/proc/" .. e.pid .. "/status")
      if rss then -- (not under valgrind, whose own footprint is larger)
        local kb = tonumber(rss:read("a"):match("VmHWM:%s*(%d+)"))
        rss:close()
        assert.is_number(kb, "no VmHWM in /proc/<pid>/status")
        assert.is_true(kb < 64 * 1024, "peak RSS " .. kb .. " kB")
      end
    end)

    it("deep: nested objects and arrays", function()
      e:fault{ action = "deep", depth = 5 }
      local status, body = e:request("GET", P(SVC, ID, f.sid))
      assert.equal(200, status)
      assert.equal('{"d":[{"d":[{"d":0}]}]}', body)
      e:fault{ action = "deep", depth = 100000 }
      status, body = e:request("GET", P(SVC, ID, f.sid))
      assert.equal(200, status)
      assert.equal(50000 * 6 + 1 + 100000, #body)
      assert.equal("]}", body:sub(-2))
    end)

    it("next_page_url: replaces meta.next_page_url of a list answer", function()
      e:fault{ action = "next_page_url", url = "https://evil.example/steal", match = { op = "list" } }
      local status, g = e:json("GET", P(SVC, ID, f.sid)) -- not a list: untouched, fault kept
      assert.equal(200, status)
      assert.equal(f.sid, g.sid)
      local _, page = e:json("GET", P(SVC, ID))
      assert.equal("https://evil.example/steal", page.meta.next_page_url)
      _, page = e:json("GET", P(SVC, ID))
      assert.equal(cjson.null, page.meta.next_page_url)
    end)

    it("match and times select the requests a fault applies to", function()
      e:faults{
        { action = "status", status = 500, times = 2, match = { method = "POST", path_contains = f.sid } },
        { action = "status", status = 502, match = { op = "delete" } },
      }
      assert.equal(2, #e:pending_faults())
      assert.equal(200, (e:json("GET", P(SVC, ID, f.sid))))
      assert.equal(500, (e:json("POST", P(SVC, ID, f.sid), { { "FriendlyName", "a" } })))
      assert.equal(500, (e:json("POST", P(SVC, ID, f.sid), { { "FriendlyName", "b" } })))
      assert.equal(200, (e:json("POST", P(SVC, ID, f.sid), { { "FriendlyName", "c" } })))
      assert.equal(502, (e:json("DELETE", P(SVC, ID, f.sid))))
      assert.equal(0, #e:pending_faults())
      local st = e:stats()
      assert.equal(3, st.requests.update)
      assert.equal(1, st.applied.update)
      assert.equal(1, st.requests.delete)
      assert.equal(0, st.applied.delete)
    end)

    it("faults apply before authentication", function()
      e:fault{ action = "status", status = 503 }
      assert.equal(503, (e:json("GET", P(SVC, ID, f.sid), nil, { Authorization = false })))
    end)

    it("clear_faults empties the queue", function()
      e:faults{ { action = "close" }, { action = "close" } }
      e:clear_faults()
      assert.equal(200, (e:json("GET", P(SVC, ID, f.sid))))
    end)

    it("rejects invalid fault specifications", function()
      for _, bad in ipairs{
        '{"faults":[{"action":"explode"}]}', '{"faults":[{"action":"status"}]}', '{"faults":[{"action":"delay"}]}',
        '{"faults":[{"action":"close","colour":1}]}', '{"faults":[{"action":"close","match":{"op":"x"}}]}',
        '{"faults":[{"action":"close","times":0}]}', '{"faults":{}}', 'not json',
      } do
        local status, body = e:json("POST", "/__emulator/faults", bad, { Authorization = false,
          ["Content-Type"] = "application/json" })
        assert.equal(400, status, bad)
        assert.is_string(body.message)
      end
      assert.equal(0, #e:pending_faults())
    end)
  end)

  describe("control endpoints", function()
    it("count requests by operation, applied changes and concurrency", function()
      local f = create_totp()
      e:json("GET", P(SVC, ID, f.sid))
      e:json("GET", P(SVC, ID))
      e:json("POST", P(SVC, ID, f.sid), { { "FriendlyName", "x" } })
      e:json("GET", "/nowhere")
      e:request("DELETE", P(SVC, ID, f.sid))
      local st = e:stats()
      assert.same({ create = 1, fetch = 1, list = 1, update = 1, delete = 1, other = 1 }, st.requests)
      assert.same({ create = 1, update = 1, delete = 1 }, st.applied)
      assert.equal(6, st.total)
      assert.equal(0, st.in_flight)
      assert.is_true(st.peak_concurrency >= 1)
    end)

    it("serve 10 delayed requests concurrently", function()
      local f = create_totp()
      e:fault{ action = "delay", delay_ms = 500, times = 10 }
      local _, statuses = e:concurrent(10, "GET", P(SVC, ID, f.sid))
      for i = 1, 10 do assert.equal(200, statuses[i]) end
      -- all ten were in the server at once (no wall-clock bound: machines are shared)
      assert.equal(10, e:stats().peak_concurrency)
    end)

    it("keep connections alive", function()
      local f = create_totp()
      local url = e.base_url .. P(SVC, ID, f.sid)
      local p = io.popen("curl -s -o /dev/null -o /dev/null -w '%{num_connects}\\n' -u " ..
        emulator.shell_quote(e.account_sid .. ":" .. e.auth_token) .. " " .. url .. " " .. url)
      local out = p:read("a")
      p:close()
      assert.equal("1\n0\n", out)
    end)

    it("log the last 200 API requests, raw and without credentials", function()
      e:request("POST", P(SVC, ID) .. "?x=%41", "FriendlyName=a%20b&FactorType=totp&FriendlyName=c",
        { ["User-Agent"] = "spec-agent/1.0" })
      local r = e:last_request()
      assert.equal("POST", r.method)
      assert.equal(P(SVC, ID), r.path)
      assert.equal("x=%41", r.query)
      assert.equal("application/x-www-form-urlencoded", r.content_type)
      assert.equal("spec-agent/1.0", r.user_agent)
      assert.equal("Basic", r.authorization_scheme)
      assert.same({ { "FriendlyName", "a b" }, { "FactorType", "totp" }, { "FriendlyName", "c" } }, r.form)
      assert.equal("FriendlyName=a%20b&FactorType=totp&FriendlyName=c", r.body)
      assert.equal("create", r.op)
      e:stats() -- control requests are not logged
      assert.equal(1, #e:requests())

      local p = io.popen("curl -s -o /dev/null -u " .. emulator.shell_quote(e.account_sid .. ":" .. e.auth_token) ..
        " '" .. e.base_url .. P(SVC, ID) .. "?n=[1-205]'")
      p:read("a")
      p:close()
      local log = e:requests()
      assert.equal(200, #log)
      assert.equal("n=6", log[1].query)
      assert.equal("n=205", log[200].query)
      local all = cjson.encode(log)
      assert.is_nil(all:find(e.auth_token, 1, true))
      e:clear_requests()
      assert.equal(0, #e:requests())
    end)

    it("reset clears factors, faults, clock and counters", function()
      create_totp()
      e:fault{ action = "close" }
      e:set_clock(T)
      e:reset()
      local _, page = e:json("GET", P(SVC, ID))
      assert.same({}, page.factors)
      local st = e:stats()
      assert.equal(1, st.total)
      assert.equal(0, st.applied.create)
      local f = create_totp()
      assert.is_not.equal("2023-11-14T22:13:20Z", f.date_created)
    end)

    it("set the clock and return to real time", function()
      local r = e:set_clock(T)
      assert.equal(T, r.time)
      assert.equal("2023-11-14T22:13:20Z", create_totp().date_created)
      r = e:set_clock(nil)
      assert.equal(cjson.null, r.time)
      assert.is_true(math.abs(r.now - os.time()) < 5)
      local status = e:json("POST", "/__emulator/clock", '{"time":"soon"}',
        { Authorization = false, ["Content-Type"] = "application/json" })
      assert.equal(400, status)
    end)

    it("answer 404 and 405 for unknown control paths and methods", function()
      assert.equal(404, (e:json("GET", "/__emulator/nothing", nil, { Authorization = false })))
      local status, _, h = e:json("GET", "/__emulator/reset", nil, { Authorization = false })
      assert.equal(405, status)
      assert.equal("POST", h.allow)
    end)
  end)

  describe("seed", function()
    local seed = { factors = {
      { service_sid = SVC, identity = ID, sid = "YF" .. string.rep("5", 32), factor_type = "totp",
        friendly_name = "seeded", status = "verified", binding = { secret = SECRET },
        config = { alg = "sha256", skew = 0, code_length = 8, time_step = 60 }, metadata = { os = "x" } },
      { service_sid = SVC, identity = ID, factor_type = "push", friendly_name = "pushy",
        config = { sdk_version = "3.0", app_id = "a.b", notification_platform = "apn",
                   notification_token = string.rep("k", 32) } },
      { service_sid = SVC, identity = "emu-user-0002", factor_type = "totp", friendly_name = "many", count = 30 },
    } }

    it("preloads factors, and reset restores them", function()
      local s = emulator.start{ seed = seed }
      local function check()
        local status, f = s:json("GET", P(SVC, ID, "YF" .. string.rep("5", 32)))
        assert.equal(200, status)
        assert.equal("verified", f.status)
        assert.same({ alg = "sha256", skew = 0, code_length = 8, time_step = 60 }, f.config)
        assert.same({ os = "x" }, f.metadata)
        local _, page = s:json("GET", P(SVC, ID))
        assert.equal(2, #page.factors)
        assert.equal("apn", page.factors[2].config.notification_platform)
        _, page = s:json("GET", P(SVC, "emu-user-0002") .. "?PageSize=1000")
        assert.equal(30, #page.factors)
        assert.equal("many 30", page.factors[30].friendly_name)
      end
      check()
      s:request("DELETE", P(SVC, ID, "YF" .. string.rep("5", 32)))
      s:reset()
      check()
      -- the seeded secret verifies
      s:set_clock(T)
      local _, f = s:json("POST", P(SVC, ID, "YF" .. string.rep("5", 32)), {
        { "AuthPayload", emulator.oathtool(SECRET, T, { alg = "sha256", digits = 8, step = 60 }) } })
      assert.equal("verified", f.status)
      stop_clean(s)
    end)

    it("refuses an invalid seed file with a message", function()
      local ok, err = pcall(emulator.start, { seed = { factors = { { service_sid = "VA1", identity = ID,
        factor_type = "totp", friendly_name = "x" } } } })
      assert.is_false(ok)
      assert.matches("service_sid", err)
    end)
  end)

  describe("command line", function()
    local exe = os.getenv("TV_EMULATOR") or "build/twilio-verify-emulator"
    local function run(args)
      local p = io.popen(emulator.shell_quote(exe) .. " " .. args .. " 2>&1; echo \"rc=$?\"")
      local out = p:read("a")
      p:close()
      return out
    end

    it("prints usage for --help", function()
      local out = run("--help")
      assert.matches("usage: twilio%-verify%-emulator", out)
      assert.matches("rc=0", out)
    end)

    it("refuses bad options", function()
      for _, args in ipairs{ "--bogus", "--port 70000", "--account-sid XX1", "--api-key SK1",
                             "--api-key SK" .. string.rep("a", 32) .. " --api-secret ''", "--port" } do
        assert.matches("rc=2", run(args), 1, true)
      end
      assert.matches("rc=1", run("--port 0 --seed /nonexistent/seed.json"), 1, true)
    end)

    -- The listening sockets on `port`, from the kernel's own tables
    -- (/proc/net/tcp and tcp6: no tool needed): a list of { file, address }
    -- with the address as the kernel prints it (hex, host byte order).
    local function listeners(port)
      local found = {}
      for _, file in ipairs{ "/proc/net/tcp", "/proc/net/tcp6" } do
        local f = io.open(file)
        if f then
          for line in f:lines() do
            local addr, hexport, st = line:match("^%s*%d+:%s+(%x+):(%x+)%s+%x+:%x+%s+(%x+)")
            if addr and st == "0A" and tonumber(hexport, 16) == port then -- 0A = TCP_LISTEN
              found[#found + 1] = { file = file, address = addr }
            end
          end
          f:close()
        end
      end
      return found
    end

    it("binds 127.0.0.1 only and stops on SIGTERM", function()
      local s = emulator.start{}
      local socks = listeners(s.port)
      -- exactly one listening socket on the port, IPv4 loopback (0100007F on
      -- little-endian hosts, 7F000001 on big-endian ones); nothing on :: or 0.0.0.0
      assert.equal(1, #socks, "listening sockets on port " .. s.port .. ": " .. #socks)
      assert.equal("/proc/net/tcp", socks[1].file)
      assert.is_truthy(socks[1].address == "0100007F" or socks[1].address == "7F000001",
        "bound to " .. socks[1].address)
      assert.is_true(s:alive())
      stop_clean(s)
      assert.is_false(s:alive())
    end)
  end)
end)
