-- The emulator's sign-in loop over raw HTTP: Services, Entities and
-- Challenges (with TOTP AuthPayloads), routing by the operation table,
-- per-operation stats and faults, and the Factor fidelity fixes (60310
-- message, 60317 duplicate bindings, string-valued Metadata).
local emulator = require "support.emulator"
local pushkeys = require "support.pushkeys"
local cjson = require "cjson"

local SVC = "VA" .. string.rep("0123456789abcdef", 2)
local ID = "signin-user-0001"
local SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
local T = 1700000000 -- a fixed emulator clock
local pct = emulator.pct

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
  if message_part then
    assert.is_truthy(body.message:find(message_part, 1, true), "message: " .. body.message)
  end
end

local function entities(svc) return "/v2/Services/" .. (svc or SVC) .. "/Entities" end
local function entity(id, svc) return entities(svc) .. "/" .. (id or ID) end
local function factors(id, svc) return entity(id, svc) .. "/Factors" end
local function challenges(id, svc) return entity(id, svc) .. "/Challenges" end

local ENTITY_KEYS = { "sid", "identity", "account_sid", "service_sid", "date_created", "date_updated", "url", "links" }
local CHALLENGE_KEYS = { "sid", "account_sid", "service_sid", "entity_sid", "identity", "factor_sid", "date_created",
                         "date_updated", "date_responded", "expiration_date", "status", "responded_reason",
                         "details", "hidden_details", "metadata", "factor_type", "url", "links" }
local SERVICE_KEYS = { "sid", "account_sid", "friendly_name", "code_length", "lookup_enabled", "psd2_enabled",
                       "skip_sms_to_landlines", "dtmf_input_required", "tts_name", "do_not_share_warning_enabled",
                       "custom_code_enabled", "push", "totp", "default_template_sid", "whatsapp", "passkeys",
                       "verify_event_subscription_enabled", "date_created", "date_updated", "url", "links" }

local function iso(t) return os.date("!%Y-%m-%dT%H:%M:%SZ", t) end

-- JSON null decodes as cjson.null
local function null(v) return v == nil or v == cjson.null end
local function nn(v) if v == cjson.null then return nil end return v end

describe("emulator sign-in resources", function()
  local e

  setup(function() e = emulator.start{} end)
  teardown(function()
    if e then
      assert.is_true(e:stop())
      assert.equal("", e.stderr)
    end
  end)
  before_each(function()
    e:reset()
    e:set_clock(T)
  end)

  local function post(path, form, want)
    local status, body, h, _, text = e:json("POST", path, form)
    assert.equal(want or 201, status, text)
    return body, text, h
  end

  -- a TOTP factor of ID with SECRET, verified at T unless verify == false
  local function totp_factor(verify, id, svc, extra, secret)
    secret = secret or SECRET
    local form = { { "FriendlyName", "phone" }, { "FactorType", "totp" }, { "Binding.Secret", secret } }
    for _, kv in ipairs(extra or {}) do form[#form + 1] = kv end
    local f = post(factors(id, svc), form)
    if verify ~= false then
      local code = emulator.oathtool(secret, T, { step = f.config.time_step, digits = f.config.code_length })
      local v = post(factors(id, svc) .. "/" .. f.sid, { { "AuthPayload", code } }, 200)
      assert.equal("verified", v.status)
    end
    return f
  end

  -- real P-256 keys, one per name (the emulator validates and verifies)
  local function push_form(key, name)
    return { { "FriendlyName", name or "device" }, { "FactorType", "push" }, { "Binding.Alg", "ES256" },
             { "Binding.PublicKey", pushkeys.pub(key or "a2V5LW9uZQ==") }, { "Config.AppId", "com.example.app" },
             { "Config.NotificationPlatform", "none" }, { "Config.SdkVersion", "1.0" } }
  end

  local function push_factor(key)
    local f = post(factors(), push_form(key))
    local v = post(factors() .. "/" .. f.sid, { { "AuthPayload", pushkeys.sign(key or "a2V5LW9uZQ==", f.sid) } }, 200)
    assert.equal("verified", v.status)
    return f
  end

  describe("entities", function()
    it("creates an entity explicitly in the OpenAPI shape", function()
      local body, text = post(entities(), { { "Identity", ID } })
      assert.same(ENTITY_KEYS, key_order(text))
      assert.matches("^YE%x+$", body.sid)
      assert.equal(34, #body.sid)
      assert.equal(ID, body.identity)
      assert.equal(e.account_sid, body.account_sid)
      assert.equal(SVC, body.service_sid)
      assert.equal(iso(T), body.date_created)
      assert.equal(iso(T), body.date_updated)
      assert.equal(e.base_url .. entity(), body.url)
      assert.equal(e.base_url .. factors(), body.links.factors)
      assert.equal(e.base_url .. challenges(), body.links.challenges)
      local status, fetched = e:json("GET", entity())
      assert.equal(200, status)
      assert.same(body, fetched)
    end)

    it("answers 409 60301 for an identity that already exists", function()
      post(entities(), { { "Identity", ID } })
      local status, body = e:json("POST", entities(), { { "Identity", ID } })
      assert_error(status, body, 409, 60301, "Entity already exists")
      -- an entity made by its first factor also exists
      totp_factor(false, "signin-user-0002")
      status, body = e:json("POST", entities(), { { "Identity", "signin-user-0002" } })
      assert_error(status, body, 409, 60301)
    end)

    it("validates Identity (required, rule) and rejects unknown keys", function()
      local status, body = e:json("POST", entities(), {})
      assert_error(status, body, 400, 60200, "Identity")
      assert.equal("Identity", body.details.parameter)
      status, body = e:json("POST", entities(), { { "Identity", "short" } })
      assert_error(status, body, 400, 60200)
      status, body = e:json("POST", entities(), { { "Identity", ID }, { "Bogus", "1" } })
      assert_error(status, body, 400, 60200, "Bogus")
    end)

    it("fetches an entity made implicitly by its first factor", function()
      local f = totp_factor(false)
      local status, body = e:json("GET", entity())
      assert.equal(200, status)
      assert.equal(f.entity_sid, body.sid)
      assert.equal(ID, body.identity)
    end)

    it("answers 404 20404 for an unknown entity (fetch and delete)", function()
      local status, body = e:json("GET", entity())
      assert_error(status, body, 404, 20404)
      status, body = e:json("DELETE", entity())
      assert_error(status, body, 404, 20404)
      -- listing factors of an unknown entity stays an empty page
      local st, page = e:json("GET", factors())
      assert.equal(200, st)
      assert.same({}, page.factors)
    end)

    it("lists entities with real paging", function()
      for i = 1, 5 do post(entities(), { { "Identity", string.format("signin-page-%04d", i) } }) end
      local status, page = e:json("GET", entities() .. "?PageSize=2")
      assert.equal(200, status)
      assert.equal("entities", page.meta.key)
      assert.equal(2, #page.entities)
      assert.equal("signin-page-0001", page.entities[1].identity)
      assert.is_true(null(page.meta.previous_page_url))
      local seen = { page.entities[1].identity, page.entities[2].identity }
      local url = nn(page.meta.next_page_url)
      assert.matches("^http://127%.0%.0%.1:%d+/v2/Services/" .. SVC .. "/Entities%?PageSize=2&Page=1&PageToken=", url)
      local last
      while url do
        status, page = e:json("GET", url)
        assert.equal(200, status)
        for _, x in ipairs(page.entities) do seen[#seen + 1] = x.identity end
        last = page
        url = nn(page.meta.next_page_url)
      end
      assert.equal(5, #seen)
      for i = 1, 5 do assert.equal(string.format("signin-page-%04d", i), seen[i]) end
      assert.is_string(last.meta.previous_page_url)
      status, page = e:json("GET", last.meta.previous_page_url)
      assert.equal(200, status)
      assert.equal("signin-page-0003", page.entities[1].identity)
    end)

    it("deletes an entity with its factors and challenges", function()
      local f = totp_factor()
      local ch = post(challenges(), { { "FactorSid", f.sid } })
      assert.equal(204, (e:request("DELETE", entity())))
      assert.equal(404, (e:json("GET", entity())))
      assert.equal(404, (e:json("GET", factors() .. "/" .. f.sid)))
      assert.equal(404, (e:json("GET", challenges() .. "/" .. ch.sid)))
      local _, page = e:json("GET", entities())
      assert.same({}, page.entities)
      -- the identity can be used again
      post(entities(), { { "Identity", ID } })
    end)
  end)

  describe("challenges", function()
    it("creates a pending challenge in the OpenAPI shape", function()
      local f = totp_factor()
      local body, text = post(challenges(), {
        { "FactorSid", f.sid }, { "Details.Message", "Sign in?" },
        { "Details.Fields", '{"label":"Action","value":"Sign in"}' },
        { "Details.Fields", '{"label":"Location","value":"Lisbon"}' },
        { "HiddenDetails", '{"ip":"172.168.1.234"}' } })
      assert.same(CHALLENGE_KEYS, key_order(text))
      assert.matches("^YC%x+$", body.sid)
      assert.equal(34, #body.sid)
      assert.equal(e.account_sid, body.account_sid)
      assert.equal(SVC, body.service_sid)
      assert.equal(f.entity_sid, body.entity_sid)
      assert.equal(ID, body.identity)
      assert.equal(f.sid, body.factor_sid)
      assert.equal("pending", body.status)
      assert.is_true(null(body.date_responded))
      assert.is_true(null(body.responded_reason))
      assert.equal(iso(T), body.date_created)
      assert.equal(iso(T + 300), body.expiration_date)
      assert.equal("Sign in?", body.details.message)
      assert.same({ { label = "Action", value = "Sign in" }, { label = "Location", value = "Lisbon" } },
        body.details.fields)
      assert.equal(iso(T), body.details.date)
      assert.same({ ip = "172.168.1.234" }, body.hidden_details)
      assert.is_true(null(body.metadata))
      assert.equal("totp", body.factor_type)
      assert.equal(e.base_url .. challenges() .. "/" .. body.sid, body.url)
      assert.equal(body.url .. "/Notifications", body.links.notifications)
      local status, fetched = e:json("GET", challenges() .. "/" .. body.sid)
      assert.equal(200, status)
      assert.same(body, fetched)
    end)

    it("approves at creation with a right TOTP AuthPayload, stays pending with a wrong one", function()
      local f = totp_factor()
      local code = emulator.oathtool(SECRET, T)
      local ok = post(challenges(), { { "FactorSid", f.sid }, { "AuthPayload", code } })
      assert.equal("approved", ok.status)
      assert.equal("none", ok.responded_reason)
      assert.equal(iso(T), ok.date_responded)
      local wrong = code == "000000" and "111111" or "000000"
      local bad = post(challenges(), { { "FactorSid", f.sid }, { "AuthPayload", wrong } })
      assert.equal("pending", bad.status)
      assert.is_true(null(bad.date_responded))
    end)

    it("approves on update with a right code and honours the factor's config", function()
      local f = totp_factor(true, nil, nil, { { "Config.CodeLength", "8" }, { "Config.TimeStep", "60" } })
      local ch = post(challenges(), { { "FactorSid", f.sid } })
      e:set_clock(T + 90)
      local code = emulator.oathtool(SECRET, T + 90, { digits = 8, step = 60 })
      -- a code that is none of the steps the skew accepts (one either side)
      local near = {}
      for d = -2, 2 do near[emulator.oathtool(SECRET, T + 90 + 60 * d, { digits = 8, step = 60 })] = true end
      local bad_code = near["12345678"] and "87654321" or "12345678"
      assert.is_nil(near[bad_code])
      local wrong = post(challenges() .. "/" .. ch.sid, { { "AuthPayload", bad_code } }, 200)
      assert.equal("pending", wrong.status)
      local body = post(challenges() .. "/" .. ch.sid,
        { { "AuthPayload", code }, { "Metadata", '{"os":"Android"}' } }, 200)
      assert.equal("approved", body.status)
      assert.equal(iso(T + 90), body.date_responded)
      assert.equal(iso(T + 90), body.date_updated)
      assert.same({ os = "Android" }, body.metadata)
      -- a responded challenge takes no further AuthPayload (60322)
      local status, err = e:json("POST", challenges() .. "/" .. ch.sid, { { "AuthPayload", code } })
      assert_error(status, err, 403, 60322)
    end)

    it("locks a challenge after 5 wrong codes (429 60308)", function()
      local f = totp_factor()
      local ch = post(challenges(), { { "FactorSid", f.sid } })
      local right = emulator.oathtool(SECRET, T)
      local wrong = right == "000000" and "111111" or "000000"
      for _ = 1, 5 do
        local b = post(challenges() .. "/" .. ch.sid, { { "AuthPayload", wrong } }, 200)
        assert.equal("pending", b.status)
      end
      local status, err = e:json("POST", challenges() .. "/" .. ch.sid, { { "AuthPayload", right } })
      assert_error(status, err, 429, 60308)
      local _, fetched = e:json("GET", challenges() .. "/" .. ch.sid)
      assert.equal("pending", fetched.status)
    end)

    it("expires after 5 minutes by default, and after ExpirationDate when given", function()
      local f = totp_factor()
      local ch = post(challenges(), { { "FactorSid", f.sid } })
      local long = post(challenges(), { { "FactorSid", f.sid }, { "ExpirationDate", iso(T + 1800) } })
      assert.equal(iso(T + 1800), long.expiration_date)
      e:set_clock(T + 299)
      assert.equal("pending", select(2, e:json("GET", challenges() .. "/" .. ch.sid)).status)
      e:set_clock(T + 300)
      assert.equal("expired", select(2, e:json("GET", challenges() .. "/" .. ch.sid)).status)
      assert.equal("pending", select(2, e:json("GET", challenges() .. "/" .. long.sid)).status)
      local status, err = e:json("POST", challenges() .. "/" .. ch.sid,
        { { "AuthPayload", emulator.oathtool(SECRET, T + 300) } })
      assert_error(status, err, 403, 60323, "Challenge expired")
      local _, page = e:json("GET", challenges() .. "?Status=expired")
      assert.equal(1, #page.challenges)
      assert.equal(ch.sid, page.challenges[1].sid)
    end)

    it("rejects an ExpirationDate in the past or more than 60 minutes ahead", function()
      local f = totp_factor()
      local status, err = e:json("POST", challenges(), { { "FactorSid", f.sid }, { "ExpirationDate", iso(T + 3601) } })
      assert_error(status, err, 400, 60200, "ExpirationDate")
      status, err = e:json("POST", challenges(), { { "FactorSid", f.sid }, { "ExpirationDate", iso(T - 1) } })
      assert_error(status, err, 400, 60200, "ExpirationDate")
      status, err = e:json("POST", challenges(), { { "FactorSid", f.sid }, { "ExpirationDate", "tomorrow" } })
      assert_error(status, err, 400, 60200, "ExpirationDate")
      assert.equal("2023-11-14T22:13:20Z", iso(T))
      local ok = post(challenges(), { { "FactorSid", f.sid }, { "ExpirationDate", "2023-11-14T23:23:20+01:00" } })
      assert.equal("2023-11-14T22:23:20Z", ok.expiration_date)
      ok = post(challenges(), { { "FactorSid", f.sid }, { "ExpirationDate", "2023-11-14T23:13:20.5Z" } })
      assert.equal(iso(T + 3600), ok.expiration_date)
    end)

    it("requires a FactorSid of a verified factor of the entity", function()
      local status, err = e:json("POST", challenges(), {})
      assert_error(status, err, 400, 60200, "FactorSid")
      local f = totp_factor(false)
      status, err = e:json("POST", challenges(), { { "FactorSid", f.sid } })
      assert_error(status, err, 403, 60318, "Factor is unverified")
      local other = totp_factor(true, "signin-user-0002")
      status, err = e:json("POST", challenges(), { { "FactorSid", other.sid } })
      assert_error(status, err, 404, 20404)
      status, err = e:json("POST", challenges(), { { "FactorSid", "YF" .. string.rep("ab", 16) } })
      assert_error(status, err, 404, 20404)
      status, err = e:json("POST", challenges(), { { "FactorSid", "YX" .. string.rep("ab", 16) } })
      assert_error(status, err, 400, 60200, "FactorSid")
    end)

    it("checks Details.Fields elements and HiddenDetails values", function()
      local f = totp_factor()
      local bad = {
        '{"label":"' .. string.rep("l", 37) .. '","value":"v"}',
        '{"label":"l","value":"' .. string.rep("v", 129) .. '"}',
        '{"label":"l"}',
        '{"label":"l","value":1}',
      }
      for _, fld in ipairs(bad) do
        local status, err = e:json("POST", challenges(), { { "FactorSid", f.sid }, { "Details.Fields", fld } })
        assert_error(status, err, 400, 60200, "Details.Fields")
      end
      post(challenges(), { { "FactorSid", f.sid },
        { "Details.Fields", '{"label":"' .. string.rep("l", 36) .. '","value":"' .. string.rep("v", 128) .. '"}' } })
      local many = { { "FactorSid", f.sid } }
      for i = 1, 21 do many[#many + 1] = { "Details.Fields", '{"label":"l' .. i .. '","value":"v"}' } end
      local status, err = e:json("POST", challenges(), many)
      assert_error(status, err, 400, 60200, "Details.Fields")
      status, err = e:json("POST", challenges(), { { "FactorSid", f.sid }, { "HiddenDetails", '{"n":1}' } })
      assert_error(status, err, 400, 60200, "HiddenDetails")
      -- a non-array key given twice is still rejected
      status, err = e:json("POST", challenges(), { { "FactorSid", f.sid }, { "FactorSid", f.sid } })
      assert_error(status, err, 400, 60200, "more than once")
    end)

    it("approves and denies push challenges by the factor's signature (60324 otherwise)", function()
      local f = push_factor("a2V5LXR3bw==")
      local status, err = e:json("POST", challenges(), { { "FactorSid", f.sid } })
      assert_error(status, err, 400, 60368)
      local a = post(challenges(), { { "FactorSid", f.sid }, { "Details.Message", "Approve?" } })
      assert.equal("push", a.factor_type)
      local d = post(challenges(), { { "FactorSid", f.sid }, { "Details.Message", "Deny?" } })
      local function answer(sid, st)
        local _, _, h, _, text = e:json("GET", challenges() .. "/" .. sid)
        return pushkeys.answer("a2V5LXR3bw==", text, h["twilio-verify-signature-fields"], st)
      end
      status, err = e:json("POST", challenges() .. "/" .. a.sid, { { "AuthPayload", "c2lnbmF0dXJl" } })
      assert_error(status, err, 403, 60324)
      local ra = post(challenges() .. "/" .. a.sid, { { "AuthPayload", answer(a.sid, "approved") } }, 200)
      assert.equal("approved", ra.status)
      local rd = post(challenges() .. "/" .. d.sid, { { "AuthPayload", answer(d.sid, "denied") } }, 200)
      assert.equal("denied", rd.status)
      assert.equal(iso(T), rd.date_responded)
    end)

    it("lists challenges with FactorSid, Status and Order filters and real paging", function()
      local f1 = totp_factor()
      local f2 = totp_factor(true, nil, nil, {}, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
      local sids = {}
      for i = 1, 5 do
        e:set_clock(T + i)
        local f = i % 2 == 1 and f1 or f2
        sids[i] = post(challenges(), { { "FactorSid", f.sid } }).sid
      end
      e:set_clock(T + 10)
      post(challenges() .. "/" .. sids[3], { { "AuthPayload", emulator.oathtool(SECRET, T + 10) } }, 200)
      -- ascending (default), pages of 2
      local got, url = {}, challenges() .. "?PageSize=2"
      while url do
        local status, page = e:json("GET", url)
        assert.equal(200, status)
        assert.equal("challenges", page.meta.key)
        for _, c in ipairs(page.challenges) do got[#got + 1] = c.sid end
        url = nn(page.meta.next_page_url)
      end
      assert.same(sids, got)
      -- descending
      got, url = {}, challenges() .. "?Order=desc&PageSize=2"
      local pages = 0
      while url do
        local status, page = e:json("GET", url)
        assert.equal(200, status)
        pages = pages + 1
        for _, c in ipairs(page.challenges) do got[#got + 1] = c.sid end
        url = nn(page.meta.next_page_url)
        if url then assert.matches("Order=desc", url) end
      end
      assert.equal(3, pages)
      assert.same({ sids[5], sids[4], sids[3], sids[2], sids[1] }, got)
      -- FactorSid
      local _, page = e:json("GET", challenges() .. "?FactorSid=" .. f1.sid)
      assert.equal(3, #page.challenges)
      for _, c in ipairs(page.challenges) do assert.equal(f1.sid, c.factor_sid) end
      -- Status
      _, page = e:json("GET", challenges() .. "?Status=approved")
      assert.equal(1, #page.challenges)
      assert.equal(sids[3], page.challenges[1].sid)
      _, page = e:json("GET", challenges() .. "?Status=pending&PageSize=1")
      assert.equal(1, #page.challenges)
      assert.matches("Status=pending", page.meta.next_page_url)
      local status, err = e:json("GET", challenges() .. "?Status=bogus")
      assert_error(status, err, 400, 60200, "Status")
      status, err = e:json("GET", challenges() .. "?Order=sideways")
      assert_error(status, err, 400, 60200, "Order")
    end)

    it("limits challenge creations per factor (429 60312)", function()
      local f = totp_factor()
      for _ = 1, 50 do post(challenges(), { { "FactorSid", f.sid } }) end
      local status, err = e:json("POST", challenges(), { { "FactorSid", f.sid } })
      assert_error(status, err, 429, 60312)
      e:set_clock(T + 3600)
      post(challenges(), { { "FactorSid", f.sid } })
    end)

    it("answers 404 for unknown challenges and a wrong entity", function()
      local f = totp_factor()
      local ch = post(challenges(), { { "FactorSid", f.sid } })
      assert.equal(404, (e:json("GET", challenges("signin-user-0002") .. "/" .. ch.sid)))
      assert.equal(404, (e:json("GET", challenges() .. "/YC" .. string.rep("0", 32))))
      local status, err = e:json("GET", challenges() .. "/YF" .. string.rep("0", 32))
      assert_error(status, err, 400, 60200, "Sid")
      status, err = e:json("POST", challenges() .. "/" .. ch.sid, { { "Metadata", '{"n":1}' } })
      assert_error(status, err, 400, 60200, "Metadata")
    end)
  end)

  describe("services", function()
    it("creates, fetches, updates, lists and deletes services in the OpenAPI shape", function()
      local svc, text = post("/v2/Services", { { "FriendlyName", "My App" } })
      assert.same(SERVICE_KEYS, key_order(text))
      assert.matches("^VA%x+$", svc.sid)
      assert.equal(34, #svc.sid)
      assert.equal("My App", svc.friendly_name)
      assert.equal(6, svc.code_length)
      assert.is_false(svc.psd2_enabled)
      assert.is_false(svc.lookup_enabled)
      assert.same({ issuer = "My App", time_step = 30, code_length = 6, skew = 1 }, svc.totp)
      assert.is_false(svc.push.include_date)
      assert.equal(e.base_url .. "/v2/Services/" .. svc.sid, svc.url)
      assert.equal(svc.url .. "/Entities", svc.links.entities)
      local status, fetched = e:json("GET", "/v2/Services/" .. svc.sid)
      assert.equal(200, status)
      assert.same(svc, fetched)
      e:set_clock(T + 5)
      local up = post("/v2/Services/" .. svc.sid, { { "Psd2Enabled", "true" }, { "CodeLength", "8" },
        { "Totp.Issuer", "Acme" }, { "Totp.TimeStep", "60" } }, 200)
      assert.is_true(up.psd2_enabled)
      assert.equal(8, up.code_length)
      assert.equal("My App", up.friendly_name)
      assert.same({ issuer = "Acme", time_step = 60, code_length = 6, skew = 1 }, up.totp)
      assert.equal(iso(T + 5), up.date_updated)
      assert.equal(iso(T), up.date_created)
      local _, page = e:json("GET", "/v2/Services")
      assert.equal("services", page.meta.key)
      assert.equal(1, #page.services)
      assert.equal(svc.sid, page.services[1].sid)
      assert.is_true(page.services[1].psd2_enabled)
      assert.equal(204, (e:request("DELETE", "/v2/Services/" .. svc.sid)))
      assert.equal(404, (e:json("GET", "/v2/Services/" .. svc.sid)))
      _, page = e:json("GET", "/v2/Services")
      assert.same({}, page.services)
    end)

    it("validates service parameters", function()
      local status, err = e:json("POST", "/v2/Services", {})
      assert_error(status, err, 400, 60200, "FriendlyName")
      status, err = e:json("POST", "/v2/Services", { { "FriendlyName", string.rep("n", 33) } })
      assert_error(status, err, 400, 60200, "FriendlyName")
      status, err = e:json("POST", "/v2/Services", { { "FriendlyName", "x" }, { "Psd2Enabled", "maybe" } })
      assert_error(status, err, 400, 60200, "Psd2Enabled")
      status, err = e:json("POST", "/v2/Services", { { "FriendlyName", "x" }, { "CodeLength", "11" } })
      assert_error(status, err, 400, 60200, "CodeLength")
    end)

    it("pages services", function()
      local made = {}
      for i = 1, 3 do made[i] = post("/v2/Services", { { "FriendlyName", "s" .. i } }).sid end
      local got, url = {}, "/v2/Services?PageSize=2"
      while url do
        local _, page = e:json("GET", url)
        for _, s in ipairs(page.services) do got[#got + 1] = s.sid end
        url = nn(page.meta.next_page_url)
      end
      assert.same(made, got)
    end)

    it("gives TOTP factors the service's totp defaults and issuer", function()
      local svc = post("/v2/Services", { { "FriendlyName", "Acme Bank" }, { "Totp.TimeStep", "60" },
        { "Totp.CodeLength", "8" }, { "Totp.Skew", "2" } })
      local f = post(factors(ID, svc.sid), { { "FriendlyName", "phone" }, { "FactorType", "totp" },
        { "Binding.Secret", SECRET } })
      assert.same({ alg = "sha1", skew = 2, code_length = 8, time_step = 60 }, f.config)
      assert.equal("otpauth://totp/Acme%20Bank:phone?secret=" .. SECRET ..
                   "&issuer=Acme%20Bank&algorithm=SHA1&digits=8&period=60", f.binding.uri)
      -- explicit config still wins
      local g = post(factors("signin-user-0002", svc.sid), { { "FriendlyName", "p" }, { "FactorType", "totp" },
        { "Config.TimeStep", "30" } })
      assert.equal(30, g.config.time_step)
      assert.equal(8, g.config.code_length)
      -- Totp.Issuer overrides the friendly name
      post("/v2/Services/" .. svc.sid, { { "Totp.Issuer", "Acme" } }, 200)
      local h = post(factors("signin-user-0003", svc.sid), { { "FriendlyName", "p" }, { "FactorType", "totp" } })
      assert.matches("^otpauth://totp/Acme:p%?", h.binding.uri)
      assert.matches("&issuer=Acme&", h.binding.uri)
    end)

    it("deletes a service with its entities; the deleted sid answers 404 everywhere", function()
      local svc = post("/v2/Services", { { "FriendlyName", "Gone" } })
      local f = post(factors(ID, svc.sid), { { "FriendlyName", "p" }, { "FactorType", "totp" } })
      post(entities(svc.sid), { { "Identity", "signin-user-0002" } })
      assert.equal(204, (e:request("DELETE", "/v2/Services/" .. svc.sid)))
      assert.equal(404, (e:json("GET", factors(ID, svc.sid) .. "/" .. f.sid)))
      assert.equal(404, (e:json("GET", factors(ID, svc.sid))))
      assert.equal(404, (e:json("GET", entities(svc.sid))))
      assert.equal(404, (e:json("GET", entity("signin-user-0002", svc.sid))))
      assert.equal(404, (e:json("POST", factors(ID, svc.sid), { { "FriendlyName", "p" }, { "FactorType", "totp" } })))
      assert.equal(404, (e:json("POST", entities(svc.sid), { { "Identity", "signin-user-0003" } })))
      assert.equal(404, (e:json("POST", "/v2/Services/" .. svc.sid, { { "FriendlyName", "back" } })))
      assert.equal(404, (e:json("DELETE", "/v2/Services/" .. svc.sid)))
    end)

    it("keeps never-created service sids working, but 404 for the service itself", function()
      totp_factor(false)
      assert.equal(200, (e:json("GET", entity())))
      assert.equal(200, (e:json("GET", entities())))
      local status, err = e:json("GET", "/v2/Services/" .. SVC)
      assert_error(status, err, 404, 20404)
      assert.equal(404, (e:json("POST", "/v2/Services/" .. SVC, { { "FriendlyName", "x" } })))
      assert.equal(404, (e:json("DELETE", "/v2/Services/" .. SVC)))
      local _, page = e:json("GET", "/v2/Services")
      assert.same({}, page.services)
    end)
  end)

  describe("routing by the operation table", function()
    it("answers 405 with the Allow of the path's rows", function()
      local cases = {
        { "DELETE", entities(), "GET, POST" },
        { "POST", entity(), "GET, DELETE" },
        { "DELETE", challenges(), "GET, POST" },
        { "DELETE", challenges() .. "/YC" .. string.rep("0", 32), "GET, POST" },
        { "DELETE", "/v2/Services", "GET, POST" },
        { "PUT", "/v2/Services/" .. SVC, "GET, POST, DELETE" },
      }
      for _, c in ipairs(cases) do
        local status, body, h = e:json(c[1], c[2])
        assert_error(status, body, 405, 20004)
        assert.equal(c[3], h.allow)
      end
    end)

    it("percent-decodes and checks path parameters with the row's rules", function()
      local f = totp_factor(false)
      local status = e:json("GET", entities() .. "/" .. pct(ID):gsub("%-", "%%2D"))
      assert.equal(200, status)
      assert.equal(200, (e:json("GET", factors():gsub("/Services/VA", "/Services/%%56A") .. "/" .. f.sid)))
      local st, err = e:json("GET", entities() .. "/bad%21identity")
      assert_error(st, err, 400, 60200, "Identity")
      st, err = e:json("GET", "/v2/Services/VA123")
      assert_error(st, err, 400, 60200, "Sid")
      st, err = e:json("GET", entities() .. "/a%zz")
      assert_error(st, err, 400, 60200)
      st, err = e:json("POST", entities(), "Identity=" .. ID, { ["Content-Type"] = "application/json" })
      assert_error(st, err, 400, 60200, "Content-Type")
      st, err = e:json("GET", entities() .. "?Bogus=1")
      assert_error(st, err, 400, 60200, "Bogus")
    end)

    it("counts requests per verb and per operation name", function()
      local f = totp_factor()
      post(challenges(), { { "FactorSid", f.sid } })
      e:json("POST", challenges(), {}) -- 400: counted as a request, not applied
      e:json("GET", challenges())
      post(entities(), { { "Identity", "signin-user-0002" } })
      e:json("DELETE", entities()) -- 405: other
      local st = e:stats()
      assert.same({ requests = 2, applied = 1 }, st.operations.create_challenge)
      assert.same({ requests = 1, applied = 0 }, st.operations.list_challenge)
      assert.same({ requests = 1, applied = 1 }, st.operations.create_entity)
      assert.same({ requests = 1, applied = 1 }, st.operations.create_factor)
      assert.same({ requests = 1, applied = 1 }, st.operations.update_factor)
      assert.same({ requests = 0, applied = 0 }, st.operations.delete_service)
      assert.equal(4, st.requests.create)
      assert.equal(1, st.requests.list)
      assert.equal(1, st.requests.other)
      assert.equal(3, st.applied.create)
      local recs = e:requests()
      assert.equal("update_factor", recs[2].operation)
      assert.equal("create_challenge", recs[3].operation)
      assert.equal("create", recs[3].op)
      assert.equal(cjson.null, recs[#recs].operation)
    end)

    it("matches faults by operation name (and still by verb)", function()
      local f = totp_factor()
      e:fault{ action = "status", status = 503, match = { operation = "create_challenge" } }
      -- a create of another resource is not matched
      post(entities(), { { "Identity", "signin-user-0002" } })
      local status, body = e:json("POST", challenges(), { { "FactorSid", f.sid } })
      assert_error(status, body, 503, 20503)
      post(challenges(), { { "FactorSid", f.sid } })
      e:fault{ action = "status", status = 500, match = { op = "list" } }
      assert.equal(500, (e:json("GET", entities())))
      local pending = e:pending_faults()
      assert.same({}, pending)
      e:fault{ action = "status", status = 502, times = 2, match = { operation = "fetch_entity" } }
      assert.equal("fetch_entity", e:pending_faults()[1].match.operation)
      local ok, msg = pcall(e.fault, e, { action = "status", status = 500, match = { operation = "nope" } })
      assert.is_false(ok)
      assert.matches("unknown match operation", msg)
    end)
  end)

  describe("factor fidelity", function()
    it("answers 60310 with Twilio's title after 5 wrong codes", function()
      local f = totp_factor(false)
      local right = emulator.oathtool(SECRET, T)
      local wrong = right == "000000" and "111111" or "000000"
      for _ = 1, 5 do post(factors() .. "/" .. f.sid, { { "AuthPayload", wrong } }, 200) end
      local status, err = e:json("POST", factors() .. "/" .. f.sid, { { "AuthPayload", right } })
      assert_error(status, err, 429, 60310)
      assert.equal("Factor verification attempts reached", err.message)
    end)

    it("answers 409 60317 for the binding of a verified factor of the entity", function()
      push_factor("ZHVwLWtleQ==")
      local status, err = e:json("POST", factors(), push_form("ZHVwLWtleQ==", "again"))
      assert_error(status, err, 409, 60317)
      -- another entity may use the same key
      assert.equal(201, (e:json("POST", factors("signin-user-0002"), push_form("ZHVwLWtleQ=="))))
      totp_factor(true)
      status, err = e:json("POST", factors(), { { "FriendlyName", "again" }, { "FactorType", "totp" },
        { "Binding.Secret", SECRET } })
      assert_error(status, err, 409, 60317)
      -- the same secret in another spelling (lower case) is the same binding
      status, err = e:json("POST", factors(), { { "FriendlyName", "again" }, { "FactorType", "totp" },
        { "Binding.Secret", SECRET:lower() } })
      assert_error(status, err, 409, 60317)
    end)

    it("frees the binding when the factor is deleted", function()
      local f = push_factor("ZnJlZS1rZXk=")
      assert.equal(204, (e:request("DELETE", factors() .. "/" .. f.sid)))
      assert.equal(201, (e:json("POST", factors(), push_form("ZnJlZS1rZXk="))))
    end)

    it("requires string Metadata values", function()
      local status, err = e:json("POST", factors(), { { "FriendlyName", "p" }, { "FactorType", "totp" },
        { "Metadata", '{"n":1}' } })
      assert_error(status, err, 400, 60200, "Metadata")
      assert.equal("Metadata", err.details.parameter)
      status, err = e:json("POST", factors(), { { "FriendlyName", "p" }, { "FactorType", "totp" },
        { "Metadata", '{"o":{"a":"b"}}' } })
      assert_error(status, err, 400, 60200, "Metadata")
      local f = post(factors(), { { "FriendlyName", "p" }, { "FactorType", "totp" }, { "Metadata", '{"os":"ios"}' } })
      assert.same({ os = "ios" }, f.metadata)
    end)
  end)
end)
