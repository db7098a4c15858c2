-- signin.lua -- the whole TOTP loop: enrol, confirm, sign in, get refused,
-- get locked out.
--
--   1. enrol: create a TOTP factor (Twilio returns its secret once)
--   2. confirm the enrolment with a right code     (factor:verify -> true)
--   3. sign in with a right code                   (client:sign_in -> true)
--   4. sign in with a wrong code                   (factor:sign_in -> false)
--   5. keep guessing on that challenge until the API locks it
--      (Twilio: 5 wrong AuthPayloads per challenge, 429 code 60308)
-- The codes the authenticator app would show are computed here from
-- factor.binding.secret with verify.totp.code and the factor's config.
--
--   examples/run-demo.sh examples/signin.lua       (against a fresh emulator)
--   TWILIO_ACCOUNT_SID=AC... TWILIO_AUTH_TOKEN=... TWILIO_VERIFY_SERVICE_SID=VA... \
--     examples/run-demo.sh examples/signin.lua     (against real Twilio)
local verify = require "twilio.verify"

local service_sid = assert(os.getenv("TWILIO_VERIFY_SERVICE_SID"), "set TWILIO_VERIFY_SERVICE_SID")
local identity = os.getenv("TWILIO_VERIFY_IDENTITY") or "signin-user-0001"
local client = assert(verify.new{ base_url = os.getenv("TWILIO_VERIFY_BASE_URL") })

local function fail(what, err)
  error(what .. ": " .. tostring(err), 2)
end

-- 1. enrol (the user scans binding.uri into an authenticator app)
local factor = assert(client:create_factor(service_sid, identity, {
  friendly_name = "Ann's authenticator", factor_type = "totp",
  config_code_length = 6, config_time_step = 30, config_skew = 1, config_alg = "sha1",
}))
print("enrolled   " .. factor.sid .. " (" .. factor.status .. ")")
print("scan this  " .. factor.binding.uri)

-- what the app computes: the factor's config gives the code's parameters
local secret, cfg = factor.binding.secret, factor.config
local function app_code(t)
  return assert(verify.totp.code(secret, { alg = cfg.alg, digits = cfg.code_length, step = cfg.time_step,
                                           time = t or os.time() }))
end
local function step_of(t) return math.floor((t or os.time()) / cfg.time_step) end

-- the app's next code, once the one of step `used` has expired
local function wait_for_next_code(used)
  while step_of() <= used do
    os.execute("sleep " .. (cfg.time_step - os.time() % cfg.time_step))
  end
  return app_code()
end

-- an unverified factor cannot sign anyone in: refused before any request
local ok, err = factor:sign_in(app_code())
assert(ok == nil and err.kind == "invalid_argument", "sign_in on an unverified factor must fail")
print("sign in before confirming -> " .. err.message)

-- 2. confirm the enrolment: the user types the code the app shows now
local t0 = os.time()
local enrol_step, enrol_code = step_of(t0), app_code(t0)
ok, err = factor:verify(enrol_code)
if ok == nil then fail("verify", err) end
assert(ok, "the current code must confirm the enrolment")
print("confirmed  with " .. enrol_code .. " -> status " .. factor.status)

-- 3. sign in with a right code.  Verify may refuse a code already used (the
-- one that confirmed the enrolment: not approved, or error 60324 "Challenge
-- verification failed"): then the user waits for the app's next code.
local code = app_code()
local challenge
ok, challenge = client:sign_in(service_sid, identity, factor.sid, code)
if ok ~= true and code == enrol_code and (ok == false or challenge.code == 60324) then
  print("sign in    with " .. code .. " -> refused (" .. (ok == false and "not approved" or tostring(challenge.code))
        .. "): the code was already used; waiting for the next one")
  code = wait_for_next_code(enrol_step)
  ok, challenge = client:sign_in(service_sid, identity, factor.sid, code)
end
if ok == nil then fail("sign_in", challenge) end
assert(ok, "a right code must sign the user in")
print("sign in    with " .. code .. " -> " .. tostring(ok) .. "  (challenge " .. challenge.sid .. ", "
      .. challenge.status .. ")")

-- 4. a wrong code: none of the codes the skew window accepts
local valid, now = {}, os.time()
for d = -cfg.skew - 1, cfg.skew + 1 do valid[app_code(now + d * cfg.time_step)] = true end
local wrong = string.rep("0", cfg.code_length)
while valid[wrong] do wrong = string.format("%0" .. cfg.code_length .. "d", tonumber(wrong) + 1) end
ok, challenge = factor:sign_in(wrong)
if ok == nil then fail("sign_in", challenge) end
assert(ok == false, "a wrong code must be refused")
print("sign in    with " .. wrong .. " -> " .. tostring(ok) .. " (challenge " .. challenge.sid .. " stays "
      .. challenge.status .. ")")

-- 5. an attacker keeps guessing on that challenge: the API stops it
local lockout
for attempt = 2, 10 do
  local ch, uerr = challenge:update{ auth_payload = wrong }
  if not ch then
    lockout = uerr
    print(string.format("attempt %-2d with %s -> error: HTTP %s, code %s: %s", attempt, wrong,
                        tostring(uerr.status), tostring(uerr.code), tostring(uerr.message)))
    break
  end
  print(string.format("attempt %-2d with %s -> %s", attempt, wrong, ch.status))
  assert(ch.status ~= "approved", "a wrong code approved the challenge")
end
assert(lockout, "the API never refused the wrong codes")
assert(lockout.kind == "http", "expected an API error, got " .. tostring(lockout))
if lockout.status == 429 then
  print("locked out (" .. tostring(lockout.code) .. (lockout.code == 60308 and ": this challenge" or "")
        .. (lockout.code == 60310 and ": this factor" or "") .. "): a new sign-in needs a new challenge")
end

-- clean up
assert(factor:delete())
print("deleted    " .. factor.sid)
client:close()
