-- examples/openresty/login.lua -- module "login": a sign-in endpoint with a
-- TOTP second factor kept by Twilio Verify, for nginx + lua-nginx-module.
--
--   POST /login   username=ann&password=...[&code=123456]
--
-- 1. The password is checked first (check_password below: plug in yours).
-- 2. The user's TOTP factor is looked up with client:factors().
-- 3. No factor yet: one is created and its otpauth:// URI returned, for the
--    user to scan into an authenticator app        -> 200 {"step":"enroll"}
-- 4. An unverified factor without a code: enrolment was left unfinished, so
--    the factor is deleted and a new one created     -> 200 {"step":"enroll"}
--    An unverified factor and a code: the enrolment is confirmed by Twilio
--    Verify (factor:verify, update_factor with AuthPayload); right: the
--    factor is now verified and the user is signed in -> 200 {"step":"done"}
--    wrong                                           -> 401 {"error":"wrong code"}
--    too many wrong codes (Verify error 60310)       -> 429
-- 5. A verified factor (every later sign-in): without a code
--                                                    -> 401 {"step":"code"}
--    with a code, Verify checks it on a new challenge (factor:sign_in: POST
--    .../Challenges with FactorSid and AuthPayload); approved: signed in
--                                                    -> 200 {"step":"done"}
--    not approved (a wrong or stale code)            -> 401 {"error":"wrong code"}
--    too many attempts (60308 on a challenge, 60310 on the factor, 60312:
--    too many challenges for the factor)             -> 429 (with Retry-After when Verify sent one)
--    Each attempt is a new challenge, so the per-challenge limit never
--    applies here: Verify's own brake is 60312 (50 challenges an hour per
--    factor). Throttle attempts per user yourself as well.
--    Never use factor:verify for this: on a verified factor Verify answers
--    200 with the status unchanged ("verified") for any code.
--
-- Every call goes through the OpenResty transport (chosen by verify.new
-- inside nginx): the worker keeps serving other requests while Verify answers.
local verify = require "twilio.verify"
local cjson = require "cjson.safe"

local ngx = ngx -- luacheck: ignore
local _M = {}

local SERVICE_SID = os.getenv("TWILIO_VERIFY_SERVICE_SID")

-- One client per worker, created on the first request (the credentials come
-- from TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN, passed by nginx's `env`).
local client
local function get_client() -- (shared with push_login.lua, as _M.client)
  if not client then
    client = assert(verify.new{ base_url = os.getenv("TWILIO_VERIFY_BASE_URL") })
  end
  return client
end

-- Demo only: your user store and password hashing go here.  Returns the
-- Verify identity of the user (8-64 characters, dash-separated alphanumerics).
local DEMO_USERS = { ann = { password = "demo password for ann", identity = "user-ann-0001" } }
local function check_password(username, password)
  local u = DEMO_USERS[username]
  if u and password == u.password then return u.identity end
  return nil
end
_M.check_password = check_password -- (push_login.lua signs in the same users)
-- (passkey_login.lua: who a username is without a password, and back)
function _M.identity_of(username)
  local u = DEMO_USERS[username]
  return u and u.identity
end
function _M.username_of(identity)
  for name, u in pairs(DEMO_USERS) do
    if u.identity == identity then return name end
  end
  return nil
end
_M.client = get_client

local function reply(status, body)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.header["Cache-Control"] = "no-store"
  ngx.say(cjson.encode(body))
end
_M.reply = reply -- (the JSON answer of every handler of the example: push, passkey, otp)

-- The first TOTP factor of `identity`, or nil; nil, err when Verify failed.
local function totp_factor(c, identity)
  local it = c:factors(SERVICE_SID, identity, { limit = 100 })
  while true do
    local f, err = it:next()
    if f == nil then return nil, err end
    if f.factor_type == "totp" then return f end
  end
end

-- Verify's "too many attempts" codes (all HTTP 429): a challenge's 5 wrong
-- codes, a factor's 5 wrong codes in a row, a factor's challenge-creation
-- limit.
local TOO_MANY = { [60308] = true, [60310] = true, [60312] = true }

local function unavailable(err)
  ngx.log(ngx.ERR, "twilio verify: ", tostring(err)) -- errors never carry credentials
  if err.kind == "http" and TOO_MANY[err.code] then
    if err.retry_after then ngx.header["Retry-After"] = tostring(math.ceil(err.retry_after)) end
    return reply(429, { error = "too many attempts, try again later" })
  end
  return reply(503, { error = "second factor temporarily unavailable" })
end

local function well_formed(code)
  return type(code) == "string" and code:match("^%d%d%d%d%d%d?%d?%d?$") ~= nil
end

function _M.handler()
  if ngx.req.get_method() ~= "POST" then return reply(405, { error = "POST only" }) end
  ngx.req.read_body()
  local args = ngx.req.get_post_args(10)
  local username, password, code = args.username, args.password, args.code
  if type(username) ~= "string" or type(password) ~= "string" then
    return reply(400, { error = "username and password are required" })
  end
  local identity = check_password(username, password)
  if not identity then return reply(401, { error = "wrong username or password" }) end

  local c = get_client()
  local factor, err = totp_factor(c, identity)
  if err then return unavailable(err) end

  if not factor then -- enrol: show binding.uri as a QR code
    local f, cerr = c:create_factor(SERVICE_SID, identity, { factor_type = "totp", friendly_name = username })
    if not f then return unavailable(cerr) end
    return reply(200, { step = "enroll", otpauth_uri = f.binding.uri })
  end

  if factor.status ~= "verified" then
    if code == nil or code == "" then -- enrolment was left unfinished: start it over
      local ok, derr = factor:delete()
      if not ok then return unavailable(derr) end
      local f, cerr = c:create_factor(SERVICE_SID, identity, { factor_type = "totp", friendly_name = username })
      if not f then return unavailable(cerr) end
      return reply(200, { step = "enroll", otpauth_uri = f.binding.uri })
    end
    if not well_formed(code) then
      return reply(401, { step = "code", error = "the code is 6 to 8 digits" })
    end
    local ok, verr = factor:verify(code) -- AuthPayload, checked by Verify
    if ok == nil then return unavailable(verr) end
    if not ok then return reply(401, { step = "code", error = "wrong code" }) end
    -- signed in: start your session here
    return reply(200, { step = "done", user = username })
  end

  -- a verified factor: the code is checked on a new challenge
  if code == nil or code == "" then
    return reply(401, { step = "code", error = "enter the code from your authenticator app" })
  end
  if not well_formed(code) then
    return reply(401, { step = "code", error = "the code is 6 to 8 digits" })
  end
  local ok, serr = factor:sign_in(code) -- POST .../Challenges, AuthPayload = code
  if ok == nil then return unavailable(serr) end
  if not ok then return reply(401, { step = "code", error = "wrong code" }) end
  -- signed in: start your session here
  return reply(200, { step = "done", user = username })
end

return _M
