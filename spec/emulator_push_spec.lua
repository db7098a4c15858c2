-- The emulator's Verify Push device side over raw HTTP (doc/push.md): the
-- access token JWT, device credentials (Basic token:<jwt>), binding keys,
-- factor verification and challenge answers -- and every way a signature or
-- a credential can be wrong: tampered field, other key, expired token,
-- replayed approval, wrong factor signature, missing or garbage JWT, bad
-- public key.  Each signature is checked by OpenSSL in the emulator.
local emulator = require "support.emulator"
local fixture = require "support.fixture"
local pushkeys = require "support.pushkeys"
local cjson = require "cjson"
local dcore = require("twilio.verify.core").device

local SVC = "VA" .. string.rep("0123456789abcdef", 2)
local T = 1800000000

local function b64(s)
  local p = io.popen("printf %s '" .. s .. "' | base64 -w0")
  local out = p:read("*a")
  p:close()
  return out
end

local function b64url_decode(s)
  s = s:gsub("-", "+"):gsub("_", "/")
  s = s .. string.rep("=", (4 - #s % 4) % 4)
  local p = io.popen("printf %s '" .. s .. "' | base64 -d")
  local out = p:read("*a")
  p:close()
  return out
end

local function basic(token) return { Authorization = "Basic " .. b64("token:" .. token) } end

describe("emulator push", function()
  local e
  local n = 0
  local function identity()
    n = n + 1
    return string.format("push-user-%04d", n)
  end
  local function factors(id, sid) return emulator.factors_path(SVC, id, sid) end
  local function challenges(id, sid)
    return "/v2/Services/" .. SVC .. "/Entities/" .. id .. "/Challenges" .. (sid and ("/" .. sid) or "")
  end

  fixture.emulator({ reset = false }, false, function(em) e = em end)
  before_each(function() e:set_clock(T) end)

  local function assert_error(status, body, want_status, want_code)
    assert.equal(want_status, status, cjson.encode(body or {}))
    assert.equal(want_code, body.code)
  end

  local function access_token(id, ttl)
    local form = { { "Identity", id }, { "FactorType", "push" }, { "FactorFriendlyName", "phone" } }
    if ttl then form[#form + 1] = { "Ttl", tostring(ttl) } end
    local status, body = e:json("POST", "/v2/Services/" .. SVC .. "/AccessTokens", form)
    assert.equal(201, status)
    return body
  end

  local function push_form(key)
    return { { "FriendlyName", "phone" }, { "FactorType", "push" }, { "Binding.Alg", "ES256" },
             { "Binding.PublicKey", pushkeys.pub(key) }, { "Config.AppId", "com.example" },
             { "Config.NotificationPlatform", "none" }, { "Config.SdkVersion", "1.0" } }
  end

  -- an enrolled, verified factor: id, factor, its device JWT maker
  local function enrolled(key)
    local id = identity()
    local at = access_token(id)
    local status, f = e:json("POST", factors(id), push_form(key), basic(at.token))
    assert.equal(201, status)
    local jwt = function(now, ttl) return pushkeys.factor_jwt(key, f.config.credential_sid, e.account_sid, now or T, ttl) end
    local st, v = e:json("POST", factors(id, f.sid), { { "AuthPayload", pushkeys.sign(key, f.sid) } }, basic(jwt()))
    assert.equal(200, st)
    assert.equal("verified", v.status)
    return id, f, jwt
  end

  local function challenge(id, f)
    local status, ch = e:json("POST", challenges(id), { { "FactorSid", f.sid }, { "Details.Message", "Log in?" },
      { "Details.Fields", '{"label":"IP","value":"10.0.0.1"}' }, { "HiddenDetails", '{"ip":"10.0.0.1"}' } })
    assert.equal(201, status)
    return ch
  end

  local function fetch(id, sid, jwt)
    local status, body, h, _, text = e:json("GET", challenges(id, sid), nil, basic(jwt()))
    assert.equal(200, status)
    return body, text, h["twilio-verify-signature-fields"]
  end

  describe("access tokens", function()
    it("creates a YK token: an HS256 JWT keyed with the auth token, ttl default 60", function()
      local id = identity()
      local at = access_token(id)
      assert.matches("^YK%x+$", at.sid)
      assert.equal(60, at.ttl)
      assert.equal(id, at.entity_identity)
      assert.equal("push", at.factor_type)
      assert.equal("phone", at.factor_friendly_name)
      assert.equal(e.account_sid, at.account_sid)
      assert.equal(SVC, at.service_sid)
      assert.equal(e.base_url .. "/v2/Services/" .. SVC .. "/AccessTokens/" .. at.sid, at.url)
      local h, p = at.token:match("^([%w_-]+)%.([%w_-]+)%.[%w_-]+$")
      local header, payload = cjson.decode(b64url_decode(h)), cjson.decode(b64url_decode(p))
      assert.same({ typ = "JWT", alg = "HS256", cty = "twilio-fpa;v=1" }, header)
      assert.equal(T + 60, payload.exp)
      assert.equal(T, payload.iat)
      assert.equal(e.account_sid, payload.iss)
      assert.equal(id, payload.grants.identity)
      assert.same({ sid = at.sid, service_sid = SVC, entity_identity = id, factor_type = "push",
                    factor_friendly_name = "phone" }, payload.grants.verify)
      local status, again = e:json("GET", "/v2/Services/" .. SVC .. "/AccessTokens/" .. at.sid)
      assert.equal(200, status)
      assert.same(at, again)
    end)

    it("honours ttl 60..300 and rejects others", function()
      assert.equal(300, access_token(identity(), 300).ttl)
      local status, body = e:json("POST", "/v2/Services/" .. SVC .. "/AccessTokens",
        { { "Identity", identity() }, { "FactorType", "push" }, { "Ttl", "301" } })
      assert.equal(400, status)
      assert.is_truthy(body.message:find("Ttl", 1, true))
    end)
  end)

  describe("factor creation", function()
    it("accepts a valid access token and renders config.credential_sid", function()
      local id = identity()
      local at = access_token(id)
      local status, f = e:json("POST", factors(id), push_form("c1"), basic(at.token))
      assert.equal(201, status)
      assert.equal("unverified", f.status)
      assert.equal("CR" .. f.sid:sub(3), f.config.credential_sid)
      assert.equal(pushkeys.pub("c1"), f.binding.public_key)
    end)

    it("rejects an expired access token (401 20003)", function()
      local id = identity()
      local at = access_token(id, 60)
      e:set_clock(T + 60)
      local status, body = e:json("POST", factors(id), push_form("c2"), basic(at.token))
      assert_error(status, body, 401, 20003)
      assert.is_truthy(body.message:find("expired", 1, true))
    end)

    it("rejects a tampered, forged, foreign or missing access token", function()
      local id = identity()
      local at = access_token(id)
      local h, p, s = at.token:match("^(.-)%.(.-)%.(.*)$")
      -- payload changed (identity), signature kept
      local forged = cjson.decode(b64url_decode(p))
      forged.exp = forged.exp + 3600
      local fp = b64(cjson.encode(forged)):gsub("+", "-"):gsub("/", "_"):gsub("=", "")
      for _, tok in ipairs({ h .. "." .. fp .. "." .. s, h .. "." .. p .. "." .. s:reverse(), "garbage",
                             "a.b.c", access_token(identity()).token }) do
        local status, body = e:json("POST", factors(id), push_form("c3"), basic(tok))
        assert_error(status, body, 401, 20003)
      end
      -- no credential at all
      local status, body = e:json("POST", factors(id), push_form("c3"), { Authorization = false })
      assert_error(status, body, 401, 20003)
      -- an access token does not authenticate anything else
      status, body = e:json("GET", factors(id), nil, basic(at.token))
      assert_error(status, body, 401, 20003)
    end)

    it("validates Binding.PublicKey as a P-256 SubjectPublicKeyInfo (400 60306)", function()
      local id = identity()
      local at = access_token(id)
      local p384 = "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAE" .. string.rep("A", 96 + 32)
      for _, bad in ipairs({ "dGVzdF9rZXk=", "not base64!", p384,
                             pushkeys.pub("c4"):sub(1, -6) .. "AAAA=" }) do
        local form = push_form("c4")
        form[4] = { "Binding.PublicKey", bad }
        local status, body = e:json("POST", factors(id), form, basic(at.token))
        assert_error(status, body, 400, 60306)
      end
    end)
  end)

  describe("factor verification", function()
    it("stays unverified on a wrong signature (403 60311)", function()
      local id = identity()
      local at = access_token(id)
      local _, f = e:json("POST", factors(id), push_form("v1"), basic(at.token))
      local jwt = pushkeys.factor_jwt("v1", f.config.credential_sid, e.account_sid, T)
      for _, payload in ipairs({ pushkeys.sign("v1", f.sid .. "x"), pushkeys.sign("other-key", f.sid), "AAAA",
                                 "not base64" }) do
        local status, body = e:json("POST", factors(id, f.sid), { { "AuthPayload", payload } }, basic(jwt))
        assert_error(status, body, 403, 60311)
      end
      local _, g = e:json("GET", factors(id, f.sid))
      assert.equal("unverified", g.status)
      local status, v = e:json("POST", factors(id, f.sid), { { "AuthPayload", pushkeys.sign("v1", f.sid) } }, basic(jwt))
      assert.equal(200, status)
      assert.equal("verified", v.status)
    end)
  end)

  describe("device JWT", function()
    it("authenticates the factor's own calls", function()
      local id, f, jwt = enrolled("j1")
      local status, g = e:json("GET", factors(id, f.sid), nil, basic(jwt()))
      assert.equal(200, status)
      assert.equal(f.sid, g.sid)
      status = e:json("GET", challenges(id) .. "?FactorSid=" .. f.sid .. "&Status=pending", nil, basic(jwt()))
      assert.equal(200, status)
    end)

    it("rejects another key, an expired, future, tampered, garbage or mis-scoped JWT (401 20003)", function()
      local id, f, jwt = enrolled("j2")
      local cr = f.config.credential_sid
      local good = jwt()
      local h, p, s = good:match("^(.-)%.(.-)%.(.*)$")
      local bad = {
        pushkeys.factor_jwt("j2-other", cr, e.account_sid, T),                  -- another key
        pushkeys.factor_jwt("j2", cr, e.account_sid, T - 700),                  -- expired
        pushkeys.factor_jwt("j2", cr, e.account_sid, T + 3600),                 -- nbf far ahead
        pushkeys.factor_jwt("j2", cr, e.account_sid, T, 601),                   -- lives longer than 10 min
        pushkeys.factor_jwt("j2", cr, e.account_sid, T, 7258118400 - T),        -- exp in the year 2200
        pushkeys.jwt("j2", '{"cty":"twilio-pba;v=1","kid":"' .. cr .. '","typ":"JWT","alg":"ES256"}', -- no nbf,
          '{"sub":"' .. e.account_sid .. '","exp":7258118400}'),                --   exp in 2200
        pushkeys.factor_jwt("j2", cr, "AC" .. string.rep("1", 32), T),          -- other account
        pushkeys.factor_jwt("j2", "CR" .. string.rep("2", 32), e.account_sid, T), -- unknown credential
        pushkeys.jwt("j2", '{"kid":"' .. cr .. '","typ":"JWT","alg":"ES256"}',  -- no cty
          '{"sub":"' .. e.account_sid .. '","exp":' .. (T + 600) .. ',"nbf":' .. T .. '}'),
        h .. "." .. p .. "." .. s:sub(1, -3) .. (s:sub(-2) == "AA" and "BA" or "AA"), -- signature bit flip
        h .. "." .. p .. ".",                                                    -- no signature
        "garbage", "",
      }
      for i, tok in ipairs(bad) do
        local status, body = e:json("GET", factors(id, f.sid), nil, basic(tok))
        assert.equal(401, status, "case " .. i)
        assert.equal(20003, body.code, "case " .. i)
      end
      -- the factor's JWT does not reach another factor or entity
      local id2, f2 = enrolled("j3")
      local status, body = e:json("GET", factors(id2, f2.sid), nil, basic(good))
      assert_error(status, body, 401, 20003)
      -- nor backend-only operations
      status, body = e:json("POST", challenges(id), { { "FactorSid", f.sid }, { "Details.Message", "x" } }, basic(good))
      assert_error(status, body, 401, 20003)
    end)
  end)

  describe("challenges", function()
    it("names the signature fields on a push challenge fetch", function()
      local id, f, jwt = enrolled("s1")
      local ch = challenge(id, f)
      local _, _, fields = fetch(id, ch.sid, jwt)
      assert.equal("sid,account_sid,service_sid,entity_sid,identity,factor_sid,date_created,expiration_date," ..
                   "details,hidden_details", fields)
    end)

    it("approves with a JWT over exactly those fields + status; the status decides", function()
      local id, f, jwt = enrolled("s2")
      local a, d = challenge(id, f), challenge(id, f)
      local _, text, fields = fetch(id, a.sid, jwt)
      local status, body = e:json("POST", challenges(id, a.sid),
        { { "AuthPayload", pushkeys.answer("s2", text, fields, "approved") } }, basic(jwt()))
      assert.equal(200, status)
      assert.equal("approved", body.status)
      _, text, fields = fetch(id, d.sid, jwt)
      status, body = e:json("POST", challenges(id, d.sid),
        { { "AuthPayload", pushkeys.answer("s2", text, fields, "denied") } }, basic(jwt()))
      assert.equal(200, status)
      assert.equal("denied", body.status)
    end)

    it("rejects a tampered field, another key, another challenge's payload, a bad status (403 60324)", function()
      local id, f, jwt = enrolled("s3")
      local cases = {
        function(text, _, fields) return pushkeys.answer("s3", (text:gsub("Log in%?", "Pay 1000 EUR?")), fields, "approved") end,
        function(text, _, fields) return pushkeys.answer("s3-other", text, fields, "approved") end,
        function(_, other, fields) return pushkeys.answer("s3", other, fields, "approved") end,
        function(text, _, fields) return pushkeys.answer("s3", text, fields, "maybe") end,
        function(text) return pushkeys.answer("s3", text, "sid", "approved") end,
        function(text, _, fields)
          return pushkeys.jwt("s3", '{"typ":"JWT","alg":"HS256"}', assert(dcore.challenge_payload(text, fields, "approved")))
        end,
        function() return "not-a-jwt" end,
      }
      for i, make in ipairs(cases) do
        local ch, other = challenge(id, f), challenge(id, f)
        local _, text, fields = fetch(id, ch.sid, jwt)
        local _, other_text = fetch(id, other.sid, jwt)
        local status, body = e:json("POST", challenges(id, ch.sid), { { "AuthPayload", make(text, other_text, fields) } },
          basic(jwt()))
        assert.equal(403, status, "case " .. i)
        assert.equal(60324, body.code, "case " .. i)
        local _, now = e:json("GET", challenges(id, ch.sid))
        assert.equal("pending", now.status, "case " .. i)
      end
    end)

    it("rejects a replayed approval: the challenge is no longer pending (403 60322)", function()
      local id, f, jwt = enrolled("s4")
      local ch = challenge(id, f)
      local _, text, fields = fetch(id, ch.sid, jwt)
      local auth = pushkeys.answer("s4", text, fields, "approved")
      local status = e:json("POST", challenges(id, ch.sid), { { "AuthPayload", auth } }, basic(jwt()))
      assert.equal(200, status)
      local body
      status, body = e:json("POST", challenges(id, ch.sid), { { "AuthPayload", auth } }, basic(jwt()))
      assert_error(status, body, 403, 60322)
    end)

    it("an expired challenge takes no answer (403 60323)", function()
      local id, f, jwt = enrolled("s5")
      local ch = challenge(id, f)
      local _, text, fields = fetch(id, ch.sid, jwt)
      e:set_clock(T + 301)
      local status, body = e:json("POST", challenges(id, ch.sid),
        { { "AuthPayload", pushkeys.answer("s5", text, fields, "approved") } }, basic(jwt(T + 301)))
      assert_error(status, body, 403, 60323)
    end)
  end)
end)
