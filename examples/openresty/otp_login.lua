-- examples/openresty/otp_login.lua -- module "otp_login": a sign-in by a
-- one-time code sent by SMS (Twilio Verify's Verifications), for nginx +
-- lua-nginx-module, on the library's OpenResty transport.
--
--   POST /otp/send    user=ann&phone=+15551234567
--       A code to the phone (client:send_code, channel sms), at most 3 per
--       user in 10 minutes: the service's RateLimit `per_user` with its
--       Bucket (run.sh makes them), keyed by the user.
--                              -> 200 {"step":"sent","to":"+15551234567"}
--       over the user's limit  -> 429 {"error":"too many codes: wait, then try again","code":20429}
--       a number Verify refuses-> 400 {"error":"...","code":NNNNN}
--   POST /otp/check   phone=+15551234567&code=123456
--       client:check_code: the code the user typed.
--                              -> 200 {"step":"done","to":"+15551234567"}   (start your session here)
--       wrong code             -> 401 {"error":"wrong code"}
--       nothing to check (approved, expired, never sent, too many tries)
--                              -> 410 {"error":"...","code":NNNNN}
--
-- Verify's errors go to nginx's error log (never with credentials); the
-- answers give the browser only Verify's code.  The service is
-- TWILIO_VERIFY_OTP_SERVICE_SID (else TWILIO_VERIFY_SERVICE_SID).
local login = require "login"

local ngx = ngx -- luacheck: ignore
local type = type
local _M = {}

local SERVICE_SID = os.getenv("TWILIO_VERIFY_OTP_SERVICE_SID") or os.getenv("TWILIO_VERIFY_SERVICE_SID")

local reply = login.reply

-- The form of a POST, or nil after answering the error.
local function form()
  if ngx.req.get_method() ~= "POST" then return reply(405, { error = "POST only" }) end
  ngx.req.read_body()
  local args = ngx.req.get_post_args(16)
  if type(args) ~= "table" then return reply(400, { error = "a form body is required" }) end
  return args
end

local function verify_error(status, err)
  ngx.log(ngx.WARN, "twilio verify: ", tostring(err))
  return reply(status, { error = err.message, code = err.code })
end

function _M.send()
  local args = form()
  if not args then return end
  local user, phone = args.user, args.phone
  if type(user) ~= "string" or user == "" or type(phone) ~= "string" then
    return reply(400, { error = "user and phone are required" })
  end
  local v, err = login.client():send_code(SERVICE_SID, phone, { channel = "sms", rate_limits = { per_user = user } })
  if v then return reply(200, { step = "sent", to = v.to }) end
  if err.kind == "invalid_argument" then return reply(400, { error = err.message }) end
  if err.code == 20429 then
    ngx.log(ngx.WARN, "twilio verify: ", tostring(err))
    return reply(429, { error = "too many codes: wait, then try again", code = err.code })
  end
  if err.kind == "http" and err.status and err.status < 500 then return verify_error(400, err) end
  ngx.log(ngx.ERR, "twilio verify: ", tostring(err))
  return reply(503, { error = "codes temporarily unavailable" })
end

function _M.check()
  local args = form()
  if not args then return end
  local phone, code = args.phone, args.code
  if type(phone) ~= "string" or type(code) ~= "string" then
    return reply(400, { error = "phone and code are required" })
  end
  local ok, res = login.client():check_code(SERVICE_SID, phone, code)
  if ok then return reply(200, { step = "done", to = phone }) end
  if ok == false then return reply(401, { error = "wrong code" }) end
  if res.kind == "invalid_argument" then return reply(400, { error = res.message }) end
  if res.kind == "http" and res.status and res.status < 500 then return verify_error(410, res) end
  ngx.log(ngx.ERR, "twilio verify: ", tostring(res))
  return reply(503, { error = "codes temporarily unavailable" })
end

return _M
