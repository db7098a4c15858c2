-- examples/openresty/passkey_login.lua -- module "passkey_login": a passkey
-- registration and sign-in for the page passkey.html, on Twilio Verify
-- Passkeys, for nginx + lua-nginx-module.  The same users as login.lua (its
-- check_password), and its client (the OpenResty transport).
--
-- The page (GET /passkey/) asks for the options here, hands them to the
-- browser's navigator.credentials.create() / .get(), and posts what the
-- authenticator made back here, which Verify checks.  Every body is JSON.
--
--   POST /passkey/register/options   {"username":"ann","password":"..."}
--       The password first (a passkey is added to an account someone is
--       signed in to); then a passkey factor for the user's identity
--       (create_passkey_factor).  The answer's options are the WebAuthn
--       PublicKeyCredentialCreationOptions, as Verify made them.
--                              -> 200 {"step":"create","options":{"publicKey":{...}}}
--       wrong password         -> 401 {"error":"wrong username or password"}
--   POST /passkey/register/verify    the PublicKeyCredential, base64url fields
--       Verify checks the attestation (verify_passkey_factor).
--                              -> 200 {"step":"registered","user":"ann","factor_sid":"YF..."}
--       refused by Verify      -> 400 {"error":"...","code":NNNNN}
--   POST /passkey/login/options      {"username":"ann"} or {}
--       A passkey challenge (create_passkey_challenge) for the user's
--       passkeys, or, without a username, for any discoverable one.
--                              -> 200 {"step":"get","options":{"publicKey":{...}}}
--       unknown user           -> 404 {"error":"no passkey for that user"}
--   POST /passkey/login/verify       the assertion (a PublicKeyCredential)
--       Verify checks the signature with the factor's key (check_passkey);
--       approved: the user is signed in (start your session here)
--                              -> 200 {"step":"done","user":"ann"}
--       refused (a replay, another origin, a bad signature...)
--                              -> 401 {"error":"passkey refused","code":NNNNN}
--
-- Verify's errors go to nginx's error log (never with credentials, nor the
-- `response` of a credential: the library redacts it); the answers give the
-- browser only Verify's code.  The service is TWILIO_VERIFY_PASSKEYS_SERVICE_SID
-- (else TWILIO_VERIFY_SERVICE_SID): it must have passkeys settings (relying
-- party id, name and origins: the page's origin, e.g. http://localhost:PORT;
-- run.sh makes one on the emulator).
local login = require "login"
local cjson = require "cjson.safe"

local ngx = ngx -- luacheck: ignore
local type = type
local _M = {}

local SERVICE_SID = os.getenv("TWILIO_VERIFY_PASSKEYS_SERVICE_SID") or os.getenv("TWILIO_VERIFY_SERVICE_SID")

local reply = login.reply

local function unavailable(err)
  ngx.log(ngx.ERR, "twilio verify: ", tostring(err))
  return reply(503, { error = "passkeys temporarily unavailable" })
end

-- The JSON object of a POST, or nil after answering the error.
local function json_body()
  if ngx.req.get_method() ~= "POST" then return reply(405, { error = "POST only" }) end
  ngx.req.read_body()
  local body = ngx.req.get_body_data() -- in memory: client_body_buffer_size in nginx.conf
  local t = body and cjson.decode(body)
  if type(t) ~= "table" then return reply(400, { error = "the body must be a JSON object" }) end
  return t
end

-- The WebAuthn options as the browser gets them: the library's tables as
-- they came (cjson writes an empty list as {}; the page reads either).
local function options(o)
  return { publicKey = o.publicKey }
end

local function register_options()
  local t = json_body()
  if not t then return end
  local identity = type(t.username) == "string" and type(t.password) == "string"
    and login.check_password(t.username, t.password)
  if not identity then return reply(401, { error = "wrong username or password" }) end
  local f, err = login.client():create_passkey_factor(SERVICE_SID, identity, {
    friendly_name = t.username .. "'s passkey" })
  if not f then return unavailable(err) end
  return reply(200, { step = "create", options = options(f.options) })
end

-- A refusal of Verify's (an http error with a code, 4xx): the browser may
-- know the code; anything else is an outage.
local function refused(err, status, what)
  if type(err) == "table" and err.kind == "http" and err.code and err.status and err.status < 500 then
    ngx.log(ngx.WARN, what, ": ", tostring(err))
    return reply(status, { error = what, code = err.code })
  end
  return unavailable(err)
end

local function register_verify()
  local cred = json_body()
  if not cred then return end
  local f, err = login.client():verify_passkey_factor(SERVICE_SID, cred)
  if not f then
    if type(err) == "table" and err.kind == "invalid_argument" then
      return reply(400, { error = "not a credential: " .. tostring(err.message) })
    end
    return refused(err, 400, "passkey registration refused")
  end
  return reply(200, { step = "registered", user = login.username_of(f.identity) or f.identity, factor_sid = f.sid })
end

local function login_options()
  local t = json_body()
  if not t then return end
  local params = {}
  if t.username ~= nil and t.username ~= "" then
    params.identity = type(t.username) == "string" and login.identity_of(t.username)
    if not params.identity then return reply(404, { error = "no passkey for that user" }) end
  end
  local ch, err = login.client():create_passkey_challenge(SERVICE_SID, params)
  if not ch then
    if type(err) == "table" and err.status == 404 then return reply(404, { error = "no passkey for that user" }) end
    return unavailable(err)
  end
  return reply(200, { step = "get", options = options(ch.options) })
end

local function login_verify()
  local assertion = json_body()
  if not assertion then return end
  local ok, res = login.client():check_passkey(SERVICE_SID, assertion)
  if ok == nil then
    if type(res) == "table" and res.kind == "invalid_argument" then
      return reply(400, { error = "not an assertion: " .. tostring(res.message) })
    end
    return unavailable(res)
  end
  if not ok then return refused(res, 401, "passkey refused") end
  -- signed in: start the user's session here
  return reply(200, { step = "done", user = login.username_of(res.identity) or res.identity })
end

local ROUTES = {
  ["/passkey/register/options"] = register_options,
  ["/passkey/register/verify"] = register_verify,
  ["/passkey/login/options"] = login_options,
  ["/passkey/login/verify"] = login_verify,
}

function _M.handler()
  local route = ROUTES[ngx.var.uri]
  if not route then return reply(404, { error = "not found" }) end
  if type(SERVICE_SID) ~= "string" or SERVICE_SID == "" then
    ngx.log(ngx.ERR, "passkeys: no TWILIO_VERIFY_PASSKEYS_SERVICE_SID or TWILIO_VERIFY_SERVICE_SID (env ...;)")
    return reply(500, { error = "not configured" })
  end
  return route()
end

return _M
