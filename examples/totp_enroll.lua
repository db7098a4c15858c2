-- totp_enroll.lua -- the whole TOTP enrolment loop:
-- create a factor, show the otpauth URI (the QR code's content), compute the
-- current code from the secret (standing in for the authenticator app),
-- verify it through the API, then list and delete.
--
--   make demo-totp                      (against the emulator)
--   TWILIO_ACCOUNT_SID=AC... TWILIO_AUTH_TOKEN=... TWILIO_VERIFY_SERVICE_SID=VA... \
--     examples/run-demo.sh examples/totp_enroll.lua      (against real Twilio)
local verify = require "twilio.verify"

local service_sid = assert(os.getenv("TWILIO_VERIFY_SERVICE_SID"), "set TWILIO_VERIFY_SERVICE_SID")
local identity = os.getenv("TWILIO_VERIFY_IDENTITY") or "totp-enroll-user-0001"
local client = assert(verify.new{ base_url = os.getenv("TWILIO_VERIFY_BASE_URL") })

-- 1. enrol: Twilio generates the secret and returns it once, with the URI
local factor = assert(client:create_factor(service_sid, identity, {
  friendly_name = "Ann's authenticator", factor_type = "totp",
  config_code_length = 6, config_time_step = 30, config_skew = 1, config_alg = "sha1",
}))
print("factor    " .. factor.sid .. " (" .. factor.status .. ")")
print("scan this " .. factor.binding.uri)

-- the app scans the URI; parse it back to show what it learns
local u = assert(verify.totp.parse_uri(factor.binding.uri))
print(string.format("app sees  issuer=%s account=%s digits=%d period=%d alg=%s",
                    tostring(u.issuer), u.account, u.digits, u.period, u.alg))

-- 2. a wrong code leaves the factor unverified (200, not an error)
local ok, err = factor:verify("000000")
if ok == nil then error(tostring(err)) end
print("wrong code -> verified = " .. tostring(ok) .. ", status " .. factor.status)

-- 3. the user types the code the app shows now
local code = assert(verify.totp.code(u.secret, { alg = u.alg, digits = u.digits, step = u.period }))
print("app shows " .. code .. "  (local check: " .. tostring(verify.totp.check(u.secret, code,
      { alg = u.alg, digits = u.digits, step = u.period })) .. ")")
ok, err = factor:verify(code)
if ok == nil then error(tostring(err)) end
print("right code -> verified = " .. tostring(ok) .. ", status " .. factor.status)

-- 4. list this identity's factors, then clean up
for f in client:factors(service_sid, identity) do
  print(string.format("listed    %s %-6s %-10s %s", f.sid, f.factor_type, f.status, f.friendly_name))
end
assert(factor:delete())
print("deleted   " .. factor.sid)
client:close()
