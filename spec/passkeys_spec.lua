-- Passkeys end to end against the emulator (issue 21): the four operations
-- through the library, the virtual authenticator twilio.verify.passkey as
-- the browser, and every refusal of doc/emulator.md's Passkeys section --
-- each answered with Twilio's code and nothing changed.
local fixture = require "support.fixture"
local passkey = require "twilio.verify.passkey"
local core = require "twilio.verify.core"
local cjson = require "cjson"

local P = core.passkey
local ORIGIN = "http://localhost:8080"

local function copy(t)
  if type(t) ~= "table" then return t end
  local o = {}
  for k, v in pairs(t) do o[k] = copy(v) end
  return o
end

describe("passkeys", function()
  local e, client, svc
  local n = 0
  local function identity()
    n = n + 1
    return string.format("pk-user-%04d", n)
  end

  -- one emulator for the file (no reset: the service below is made once)
  fixture.emulator({ reset = false }, {}, function(em, c) e, client = em, c end)
  setup(function()
    svc = assert(client:create_service{ friendly_name = "Passkeys", passkeys_relying_party_id = "localhost",
      passkeys_relying_party_name = "Example", passkeys_relying_party_origins = ORIGIN .. ",http://app.localhost:8080",
      passkeys_authenticator_attachment = "platform", passkeys_discoverable_credentials = "preferred",
      passkeys_user_verification = "required" }).sid
  end)

  -- a registered passkey: the authenticator, the factor, the identity
  local function registered(id, auth)
    id = id or identity()
    auth = auth or passkey.new()
    local f = assert(client:create_passkey_factor(svc, id, { friendly_name = "laptop" }))
    local cred = assert(auth:create(f.options, { origin = ORIGIN }))
    local v = assert(client:verify_passkey_factor(svc, cred))
    assert.equal("verified", v.status)
    return auth, v, id
  end

  local function refused(code, status, v, err)
    assert.is_nil(v)
    assert.equal("http", err.kind, tostring(err))
    assert.equal(code, err.code, tostring(err))
    if status then assert.equal(status, err.status) end
  end

  describe("registration", function()
    it("answers the creation options, once, and verifies the attestation", function()
      local id = identity()
      local f = assert(client:create_passkey_factor(svc, id, { friendly_name = "laptop" }))
      assert.equal("passkeys", f.factor_type)
      assert.equal("unverified", f.status)
      local pk = f.options.publicKey
      assert.same({ id = "localhost", name = "Example" }, pk.rp)
      assert.equal(P.b64url(f.entity_sid), pk.user.id)          -- base64url of the entity SID
      assert.equal(32, #P.unb64url(pk.challenge))                  -- fresh random bytes
      assert.same({ { type = "public-key", alg = -7 } }, pk.pubKeyCredParams)
      assert.equal("required", pk.authenticatorSelection.userVerification)
      assert.equal("none", pk.attestation)
      assert.same({ relying_party = { id = "localhost", name = "Example",
                                      origins = { ORIGIN, "http://app.localhost:8080" } },
                    authenticator_attachment = "platform", discoverable_credentials = "preferred",
                    user_verification = "required" }, f.config)
      local f2 = assert(client:create_passkey_factor(svc, id, { friendly_name = "phone" }))
      assert.are_not.equal(pk.challenge, f2.options.publicKey.challenge)
      local auth = passkey.new()
      local v = assert(client:verify_passkey_factor(svc, assert(auth:create(f.options, { origin = ORIGIN }))))
      assert.equal("verified", v.status)
      assert.is_nil(v.options)                                     -- only at creation
      local fetched = assert(client:fetch_factor(svc, id, f.sid))
      assert.equal("verified", fetched.status)
      assert.is_nil(fetched.options)
      local listed = assert(client:list_factor(svc, id))
      assert.equal(2, #listed.factors)
    end)

    it("takes the request's config before the service's", function()
      local f = assert(client:create_passkey_factor(svc, identity(), { friendly_name = "k",
        config = { relying_party = { id = "app.localhost", name = "App", origins = { "http://app.localhost:8080" } },
                   authenticator_attachment = "cross-platform", user_verification = "discouraged" } }))
      assert.equal("app.localhost", f.options.publicKey.rp.id)
      assert.equal("cross-platform", f.options.publicKey.authenticatorSelection.authenticatorAttachment)
      assert.equal("preferred", f.config.discoverable_credentials)   -- the service's
      local auth = passkey.new{ attachment = "cross-platform" }
      assert(client:verify_passkey_factor(svc, assert(auth:create(f.options, { origin = "http://app.localhost:8080",
        user_verified = false }))))
    end)

    it("refuses a service and a request without a relying party (60371) or criteria (60393), a bad rp id (60372)", function()
      local bare = assert(client:create_service{ friendly_name = "Bare" }).sid
      refused(60371, 400, client:create_passkey_factor(bare, identity(), { friendly_name = "k" }))
      refused(60393, 400, client:create_passkey_factor(bare, identity(), { friendly_name = "k",
        config = { relying_party = { id = "example.com", origins = { "https://example.com" } } } }))
      local _, err = client:create_passkey_factor(bare, identity(), { friendly_name = "k",
        config = { relying_party = { id = "example.com", origins = { "https://example.com" } },
                   authenticator_attachment = "platform" } })
      assert.truthy(err.message:find("discoverable_credentials, user_verification", 1, true))
      refused(60372, 400, client:create_passkey_factor(bare, identity(), { friendly_name = "k",
        config = { relying_party = { id = "https://example.com:443", origins = { "https://example.com" } } } }))
    end)

    local function fresh()
      local f = assert(client:create_passkey_factor(svc, identity(), { friendly_name = "k" }))
      return f, passkey.new()
    end

    it("refuses a wrong origin (60380), and the factor stays unverified", function()
      local f, auth = fresh()
      local cred = assert(auth:create(f.options, { origin = "http://evil.localhost:8080" }))
      refused(60380, 400, client:verify_passkey_factor(svc, cred))
      assert.equal("unverified", assert(client:fetch_factor(svc, f.identity, f.sid)).status)
    end)

    it("refuses a wrong rp id (60382)", function()
      local f, auth = fresh()
      local o = copy(f.options)
      o.publicKey.rp.id = "app.localhost"                          -- an origin the service allows, another RP
      refused(60382, 400, client:verify_passkey_factor(svc,
        assert(auth:create(o, { origin = "http://app.localhost:8080" }))))
    end)

    it("refuses a tampered clientDataJSON: another type, challenge or no JSON (60380)", function()
      local f, auth = fresh()
      local cred = assert(auth:create(f.options, { origin = ORIGIN }))
      local cd = cjson.decode(P.unb64url(cred.response.clientDataJSON))
      for _, change in ipairs{ { type = "webauthn.get" }, { challenge = P.b64url("other") } } do
        local c2, t = copy(cred), copy(cd)
        for k, v in pairs(change) do t[k] = v end
        c2.response.clientDataJSON = P.b64url(cjson.encode(t))
        local v, err = client:verify_passkey_factor(svc, c2)
        assert.is_nil(v)
        assert.truthy(err.code == 60380 or err.code == 60391, tostring(err))
      end
      local c3 = copy(cred)
      c3.response.clientDataJSON = P.b64url("not json")
      refused(60380, 400, client:verify_passkey_factor(svc, c3))
    end)

    it("refuses malformed CBOR, another fmt, an id that is not the credential's (60386, 60376)", function()
      local f, auth = fresh()
      local cred = assert(auth:create(f.options, { origin = ORIGIN }))
      local att = P.unb64url(cred.response.attestationObject)
      for _, bad in ipairs{ att:sub(1, #att - 5), "\xa1\x63", "\xbf\xff", att .. "\x00", att:gsub("none", "nope", 1) } do
        local c2 = copy(cred)
        c2.response.attestationObject = P.b64url(bad)
        refused(60386, 400, client:verify_passkey_factor(svc, c2))
      end
      local c4 = copy(cred)
      c4.id, c4.rawId = P.b64url("another id"), P.b64url("another id")
      refused(60376, 400, client:verify_passkey_factor(svc, c4))
      local c5 = copy(cred)
      c5.rawId = P.b64url("x")
      refused(60376, 400, client:verify_passkey_factor(svc, c5))
      -- rawId as hex (the description's example) is the same id
      local hex = P.unb64url(cred.id):gsub(".", function(ch) return string.format("%02x", ch:byte()) end)
      local c6 = copy(cred)
      c6.rawId = hex
      assert(client:verify_passkey_factor(svc, c6))
    end)

    it("refuses UV missing where required (60386) and a reused registration challenge (60322)", function()
      local f, auth = fresh()
      local o = copy(f.options)
      o.publicKey.authenticatorSelection.userVerification = "preferred"   -- past the browser's own check
      refused(60386, 400, client:verify_passkey_factor(svc, assert(auth:create(o, { origin = ORIGIN,
        user_verified = false }))))
      local cred = assert(auth:create(f.options, { origin = ORIGIN }))
      assert(client:verify_passkey_factor(svc, cred))
      refused(60322, 403, client:verify_passkey_factor(svc, assert(passkey.new():create(f.options, { origin = ORIGIN }))))
    end)

    it("lets the registration options expire (60323)", function()
      local f, auth = fresh()
      e:set_clock(os.time() + 601)
      local v, err = client:verify_passkey_factor(svc, assert(auth:create(f.options, { origin = ORIGIN })))
      e:set_clock(nil)
      refused(60323, 403, v, err)
    end)
  end)

  describe("sign-in", function()
    it("answers request options and approves the assertion; the sign count goes up", function()
      local auth, f, id = registered()
      local ch = assert(client:create_passkey_challenge(svc, { identity = id }))
      assert.equal("pending", ch.status)
      local pk = ch.options.publicKey
      assert.equal("localhost", pk.rpId)
      assert.equal("required", pk.userVerification)
      assert.equal(1, #pk.allowCredentials)
      assert.equal(auth:credentials()[1].id, pk.allowCredentials[1].id)
      local a = assert(auth:get(ch.options, { origin = ORIGIN }))
      assert.equal(P.b64url(f.entity_sid), a.response.userHandle)
      local done = assert(client:approve_passkey_challenge(svc, a))
      assert.equal("approved", done.status)
      assert.equal(f.sid, done.factor_sid)
      assert.equal(id, done.identity)
      assert.equal(1, auth:credentials()[1].sign_count)
      assert.equal("approved", assert(client:fetch_challenge(svc, id, ch.sid)).status)
      local ok, res = client:passkey_sign_in(svc, { identity = id, factor_sid = f.sid },
        function(o) return auth:get(o, { origin = ORIGIN }) end)
      assert.is_true(ok, tostring(res))
      assert.equal(2, auth:credentials()[1].sign_count)
    end)

    it("signs a discoverable credential in without an identity", function()
      local auth, f = registered()
      local ok, ch = client:passkey_sign_in(svc, {}, function(o)
        assert.same({}, o.publicKey.allowCredentials)
        return auth:get(o, { origin = ORIGIN })
      end)
      assert.is_true(ok, tostring(ch))
      assert.equal(f.sid, ch.factor_sid)
    end)

    local function challenge(id)
      return assert(client:create_passkey_challenge(svc, { identity = id }))
    end

    it("refuses another credential's signature (60381) and a tampered clientDataJSON (60381)", function()
      local id = identity()
      local a1 = registered(id)
      local a2 = registered(id)
      local ch = challenge(id)
      local good = assert(a1:get(ch.options, { origin = ORIGIN }))
      local other = assert(a2:get(ch.options, { origin = ORIGIN }))
      other.id, other.rawId = good.id, good.rawId                    -- a2's signature, a1's credential
      local ok, err = client:check_passkey(svc, other)
      assert.is_false(ok)
      assert.equal(60381, err.code)
      local t = copy(good)
      local cd = cjson.decode(P.unb64url(t.response.clientDataJSON))
      cd.extra = "tampered"
      t.response.clientDataJSON = P.b64url(cjson.encode(cd))
      ok, err = client:check_passkey(svc, t)
      assert.is_false(ok)
      assert.equal(60381, err.code)
      assert.is_true((client:check_passkey(svc, good)))             -- nothing changed: the real one passes
    end)

    it("refuses a replayed assertion (60322), a wrong origin (60380), a wrong rp id (60382)", function()
      local auth, _, id = registered()
      local ch = challenge(id)
      local a = assert(auth:get(ch.options, { origin = ORIGIN }))
      local w = assert(auth:get(ch.options, { origin = "http://evil.localhost:8080" }))
      refused(60380, 400, client:approve_passkey_challenge(svc, w))
      assert(client:approve_passkey_challenge(svc, a))
      refused(60322, 403, client:approve_passkey_challenge(svc, a))
      -- an authenticator data for another RP ID (checked before the signature: 7.2 step 15)
      local t = assert(auth:get(challenge(id).options, { origin = ORIGIN }))
      local ad = P.unb64url(t.response.authenticatorData)
      t.response.authenticatorData = P.b64url(P.sha256("app.localhost") .. ad:sub(33))
      refused(60382, 400, client:approve_passkey_challenge(svc, t))
    end)

    it("refuses UV missing where required (60379) and a lower sign count (60379)", function()
      local auth, _, id = registered()
      local o = copy(challenge(id).options)
      o.publicKey.userVerification = "preferred"
      refused(60379, 400, client:approve_passkey_challenge(svc, assert(auth:get(o, { origin = ORIGIN, user_verified = false }))))
      local clone = assert(passkey.import(auth:export()))          -- the same key, its own counter
      assert(client:approve_passkey_challenge(svc, assert(auth:get(challenge(id).options, { origin = ORIGIN }))))
      assert(client:approve_passkey_challenge(svc, assert(auth:get(challenge(id).options, { origin = ORIGIN }))))
      local v, err = client:approve_passkey_challenge(svc, assert(clone:get(challenge(id).options, { origin = ORIGIN })))
      refused(60379, 400, v, err)
      assert.truthy(err.message:find("counter", 1, true))
      clone:close()
    end)

    it("refuses malformed authenticator data, signature, user handle; unknown challenges; expiry", function()
      local auth, _, id = registered()
      local a = assert(auth:get(challenge(id).options, { origin = ORIGIN }))
      local t = copy(a)
      t.response.authenticatorData = P.b64url(P.unb64url(a.response.authenticatorData):sub(1, 36))
      refused(60379, 400, client:approve_passkey_challenge(svc, t))
      t = copy(a)
      t.response.signature = P.b64url("\x30\x02\x00\x00")
      refused(60381, 403, client:approve_passkey_challenge(svc, t))
      t = copy(a)
      t.response.userHandle = P.b64url("YE" .. string.rep("0", 32))
      refused(60420, 400, client:approve_passkey_challenge(svc, t))
      t = copy(a)
      local cd = cjson.decode(P.unb64url(t.response.clientDataJSON))
      cd.challenge = P.b64url("never issued")
      t.response.clientDataJSON = P.b64url(cjson.encode(cd))
      refused(60391, 404, client:approve_passkey_challenge(svc, t))
      local ch = challenge(id)
      e:set_clock(os.time() + 601)
      local v, err = client:approve_passkey_challenge(svc, assert(auth:get(ch.options, { origin = ORIGIN })))
      e:set_clock(nil)
      refused(60323, 403, v, err)
    end)

    it("refuses a service without passkeys settings (60394), an unverified factor (60318)", function()
      local bare = assert(client:create_service{ friendly_name = "Bare2" }).sid
      refused(60394, 400, client:create_passkey_challenge(bare, {}))
      local f = assert(client:create_passkey_factor(svc, identity(), { friendly_name = "k" }))
      refused(60318, 403, client:create_passkey_challenge(svc, { factor_sid = f.sid }))
    end)
  end)

  describe("the wire", function()
    it("sends JSON bodies, and logs neither the attestation nor the assertion", function()
      local events = {}
      local c = e:client{ log = function(ev) events[#events + 1] = ev end }
      local auth = passkey.new()
      local f = assert(c:create_passkey_factor(svc, identity(), { friendly_name = "k" }))
      local cred = assert(auth:create(f.options, { origin = ORIGIN }))
      assert(c:verify_passkey_factor(svc, cred))
      c:close()
      assert.equal("application/json", events[1].headers["Content-Type"])
      assert.equal("k", cjson.decode(events[1].body).friendly_name)
      assert.equal('"[REDACTED]"', events[2].body:match('"response":("[^"]*")'))
      assert.is_nil(events[2].body:find(cred.response.attestationObject, 1, true))
      local r = e:last_request()
      assert.truthy(r)
    end)

    it("keeps keys out of tostring and errors; close wipes", function()
      local auth = registered()
      assert.equal("twilio.verify.passkey (platform, 1 credentials)", tostring(auth))
      local ex = auth:export()
      assert.is_nil(tostring(auth):find(ex:sub(1, 12), 1, true))
      auth:close()
      assert.equal("twilio.verify.passkey (closed)", tostring(auth))
      local v, err = auth:get({ publicKey = { challenge = "AAAA" } }, { origin = ORIGIN })
      assert.is_nil(v)
      assert.equal("InvalidStateError", err.name)
      assert.is_nil(passkey.import(P.b64url("garbage")))
    end)

    it("plays the browser's refusals", function()
      local f = assert(client:create_passkey_factor(svc, identity(), { friendly_name = "k" }))
      local auth = passkey.new()
      local v, err = auth:create(f.options, { origin = "https://example.com" })
      assert.is_nil(v)
      assert.equal("SecurityError", err.name)
      local _
      _, err = auth:create(f.options, { origin = ORIGIN, user_verified = false })
      assert.equal("NotAllowedError", err.name)
      _, err = passkey.new{ attachment = "cross-platform" }:create(f.options, { origin = ORIGIN })
      assert.equal("NotAllowedError", err.name)
      local o = copy(f.options)
      o.publicKey.pubKeyCredParams = { { type = "public-key", alg = -257 } }
      _, err = auth:create(o, { origin = ORIGIN })
      assert.equal("NotSupportedError", err.name)
    end)
  end)

  describe("webhooks", function()
    -- doc/emulator.md, "Passkeys": the factor and challenge events fire as for
    -- Push. The hook's URL is a loopback port with nothing behind it: the
    -- emulator records each delivery (and its refused connection) at
    -- GET /__emulator/webhooks, with the body it would have posted.
    it("fires factor.created, factor.verified and challenge.approved for a passkey", function()
      local hook = assert(client:create_webhook(svc, { friendly_name = "passkeys", event_types = { "*" },
        webhook_url = "http://127.0.0.1:9/hooks" }))
      local auth, f, id = registered()
      local ok, res = client:passkey_sign_in(svc, { identity = id, factor_sid = f.sid },
        function(o) return auth:get(o, { origin = ORIGIN }) end)
      assert.is_true(ok, tostring(res))
      local mine
      local deadline = os.time() + 10
      repeat
        local status, st = e:json("GET", "/__emulator/webhooks", nil, { Authorization = false })
        assert.equal(200, status)
        mine = {}
        for _, d in ipairs(st.deliveries) do
          if type(d.body) == "string" and d.body:find("factor_sid=" .. f.sid, 1, true) then
            mine[#mine + 1] = d
          end
        end
        if #mine >= 3 and st.queued == 0 and not st.sending then break end
        os.execute("sleep 0.05")
      until os.time() > deadline
      local events = {}
      for i, d in ipairs(mine) do
        events[i] = d.event
        assert.truthy(d.body:find("factor_type=passkeys", 1, true), d.body)
        assert.falsy(d.body:find("attestation", 1, true), "no attestation in an event")
      end
      assert.same({ "factor.created", "factor.verified", "challenge.approved" }, events)
      assert(client:delete_webhook(svc, hook.sid))
    end)
  end)
end)
