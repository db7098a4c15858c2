-- passkey_signin.lua -- a passkey registration and sign-in on one machine:
-- the backend (this library's client) and the user's browser with its
-- authenticator (twilio.verify.passkey, by the WebAuthn spec, with its own
-- P-256 key in C memory).
--
--   1. backend: a service whose passkeys settings name the relying party
--      (create_service with passkeys_*; against real Twilio: yours, from
--      TWILIO_VERIFY_SERVICE_SID, with PASSKEY_ORIGIN one of its origins)
--   2. backend: a passkey factor: its options are the WebAuthn creation
--      options                                       (create_passkey_factor)
--   3. browser: navigator.credentials.create()       (authenticator:create)
--   4. backend: the credential verifies the factor    (verify_passkey_factor)
--   5. sign-in in one call: the challenge's request options out, the
--      browser's assertion in, yes or no              (passkey_sign_in)
--   6. the same assertion again (a replay): no; a stolen key's clone with a
--      lower signature counter: no
--
--   examples/run-demo.sh examples/passkey_signin.lua   (against a fresh emulator)
local verify = require "twilio.verify"
local passkey = require "twilio.verify.passkey"

local client = assert(verify.new{ base_url = os.getenv("TWILIO_VERIFY_BASE_URL") })
local base = client:base_url()
local local_emulator = base:match("^http://127%.0%.0%.1") or base:match("^http://localhost")
local ORIGIN = os.getenv("PASSKEY_ORIGIN") or "http://localhost:8080"
local USER = "passkey-user-" .. string.format("%06d", os.time() % 1000000)

-- 1. the service
local service_sid = os.getenv("TWILIO_VERIFY_SERVICE_SID")
if local_emulator then
  local svc = assert(client:create_service{ friendly_name = "Passkeys example",
    passkeys_relying_party_id = "localhost", passkeys_relying_party_name = "Example",
    passkeys_relying_party_origins = ORIGIN, passkeys_authenticator_attachment = "platform",
    passkeys_discoverable_credentials = "preferred", passkeys_user_verification = "required" })
  service_sid = svc.sid
end
print("1. service " .. service_sid .. " (relying party localhost, origin " .. ORIGIN .. ")")

-- 2. the factor and its creation options
local factor = assert(client:create_passkey_factor(service_sid, USER, { friendly_name = "Ann's laptop" }))
local pk = factor.options.publicKey
print(("2. factor %s (%s), options: rp %s, challenge of %d bytes, user verification %s"):format(factor.sid,
  factor.status, pk.rp.id, #verify.passkey_b64url_decode(pk.challenge), pk.authenticatorSelection.userVerification))

-- 3. the browser's authenticator makes the credential
local authenticator = passkey.new()
local credential = assert(authenticator:create(factor.options, { origin = ORIGIN }))
print("3. credential " .. credential.id .. " (" .. credential.authenticatorAttachment .. ")")

-- 4. the registration completes
local verified = assert(client:verify_passkey_factor(service_sid, credential))
print("4. factor " .. verified.sid .. " is " .. verified.status)
assert(verified.status == "verified")

-- 5. sign-in: options out, assertion in
local last
local ok, res = client:passkey_sign_in(service_sid, { identity = USER }, function(options)
  last = assert(authenticator:get(options, { origin = ORIGIN }))
  return last
end)
print("5. signed in: " .. tostring(ok) .. " (challenge " .. tostring(res.sid) .. ", " .. tostring(res.status) .. ")")
assert(ok == true)

-- 6. a replayed assertion, and a clone whose counter is behind
local again, err = client:check_passkey(service_sid, last)
print("6. replayed assertion: " .. tostring(again) .. " (" .. tostring(err.code) .. ": "
  .. tostring(err.message) .. ")")
assert(again == false)
local clone = assert(passkey.import(authenticator:export()))
assert(client:passkey_sign_in(service_sid, { identity = USER }, function(o)
  return authenticator:get(o, { origin = ORIGIN }) end))
local cloned, cerr = client:passkey_sign_in(service_sid, { identity = USER }, function(o)
  return clone:get(o, { origin = ORIGIN }) end)
print("   the clone, counter behind: " .. tostring(cloned) .. " (" .. tostring(cerr and cerr.code) .. ")")
assert(cloned == false)

clone:close()
authenticator:close()
assert(client:delete_factor(service_sid, USER, factor.sid))
client:close()
print("done")
