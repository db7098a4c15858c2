-- quickstart.lua -- the four Factor operations (plus create, to have one).
--
-- Against the emulator:   make demo
-- Against real Twilio:    TWILIO_ACCOUNT_SID=AC... TWILIO_AUTH_TOKEN=... \
--                         TWILIO_VERIFY_SERVICE_SID=VA... make demo
-- (TWILIO_VERIFY_BASE_URL overrides the base URL; make demo sets it to the
--  emulator's address when no real credentials are given.)
local verify = require "twilio.verify"

local service_sid = assert(os.getenv("TWILIO_VERIFY_SERVICE_SID"), "set TWILIO_VERIFY_SERVICE_SID")
local identity = os.getenv("TWILIO_VERIFY_IDENTITY") or "quickstart-user-0001"

-- account_sid / auth_token come from TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN
local client = assert(verify.new{ base_url = os.getenv("TWILIO_VERIFY_BASE_URL") })
print("client:   " .. tostring(client))

local function show(label, f)
  print(string.format("%-9s %s  %-8s %-10s %s", label, f.sid, f.factor_type, f.status, f.friendly_name))
end

-- create a TOTP factor (the API returns its secret only now)
local f = assert(client:create_factor(service_sid, identity, {
  friendly_name = "Quickstart phone", factor_type = "totp" }))
show("created", f)
print("otpauth:  " .. f.binding.uri)
local secret = f.binding.secret

-- list: one page of this identity's factors
local page = assert(client:list_factor(service_sid, identity, { page_size = 20 }))
print(string.format("listed    %d factor(s) on page %d", #page.factors, page.meta.page))
for _, x in ipairs(page.factors) do show("  -", x) end

-- fetch
show("fetched", assert(client:fetch_factor(service_sid, identity, f.sid)))

-- update: rename, then verify with the current TOTP code (the authenticator
-- app's job, computed here from the secret)
show("updated", assert(client:update_factor(service_sid, identity, f.sid, {
  friendly_name = "Quickstart phone (renamed)" })))
local code = verify.totp.code(secret, { alg = f.config.alg, digits = f.config.code_length,
                                        step = f.config.time_step })
local ok, err = client:verify_factor(service_sid, identity, f.sid, code)
print("verified  " .. tostring(ok) .. (err and ("  " .. tostring(err)) or ""))

-- errors are values: a factor that does not exist
local missing, nf = client:fetch_factor(service_sid, identity, "YF" .. string.rep("0", 32))
print("missing   " .. tostring(missing) .. "  " .. tostring(nf.kind) .. " " .. tostring(nf.status)
      .. " code " .. tostring(nf.code))

-- delete
print("deleted   " .. tostring(assert(client:delete_factor(service_sid, identity, f.sid))))
client:close()
