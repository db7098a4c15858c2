-- examples/openresty/push_login.lua -- module "push_login": sign-in approved
-- on the user's phone with Twilio Verify Push, for nginx + lua-nginx-module.
-- The same users as login.lua (its check_password), and its client.
--
--   POST /push/enroll   username=ann&password=...
--       The backend creates an access token for the user's identity
--       (create_access_token, factor_type push) and hands it to the user's
--       device, which creates and verifies its push factor with it (here the
--       virtual device, device.lua; a real app uses Twilio's mobile SDK and
--       reads this answer from a QR code). The only place a token is shown.
--                              -> 200 {"step":"enroll_device","identity":...,
--                                      "service_sid":...,"access_token":...}
--   POST /push/login    username=ann&password=...
--       The password first; then the user's verified push factor (the newest
--       one) gets a challenge ("Log in to Example?", with the client's IP)
--       that Twilio pushes to the device. The browser then polls /push/status.
--                              -> 200 {"step":"push","challenge_sid":"YC..."}
--       no verified push factor-> 409 {"error":"no push factor"}
--   POST /push/webhook  (from Twilio)
--       The challenge.approved / challenge.denied events of the webhook
--       run.sh registers. The X-Twilio-Signature is checked with the auth
--       token against the registered URL ($push_webhook_url in nginx.conf;
--       twilio.verify.webhook.validate_request) before anything else:
--       invalid                -> 403, nothing recorded
--       valid                  -> 200; the answer is kept in the shared dict
--                                 `push_challenges`, by challenge SID, when
--                                 the challenge is one /push/login made (for
--                                 this account, service and identity)
--   GET  /push/status?challenge_sid=YC...
--       What the browser polls until the answer is not "pending":
--       the webhook came       -> 200 {"status":"approved"|"denied","source":"webhook"}
--       otherwise Verify is asked (fetch_challenge), so it works without a
--       webhook too           -> 200 {"status":"pending"|"approved"|"denied"|"expired","source":"api"}
--       not a challenge SID    -> 400; not one /push/login made (or too old) -> 404
--       On "approved", start the user's session here. In a real app the
--       challenge SID belongs to the browser's session (a cookie): only the
--       browser that typed the password may pick up its approval.
local webhook = require "twilio.verify.webhook"
local login = require "login"

local ngx = ngx -- luacheck: ignore
local _M = {}

local SERVICE_SID = os.getenv("TWILIO_VERIFY_SERVICE_SID")
local ACCOUNT_SID = os.getenv("TWILIO_ACCOUNT_SID")
-- (only ever handed to validate_request: never logged, never answered)
local AUTH_TOKEN = os.getenv("TWILIO_AUTH_TOKEN")

-- How long a challenge is remembered (Verify's push challenges expire after
-- 5 minutes by default; then the poll answers "expired" from the API).
local KEEP = 15 * 60

local function dict()
  return ngx.shared.push_challenges -- lua_shared_dict push_challenges 1m; in nginx.conf
end

local reply = login.reply

local function unavailable(err)
  ngx.log(ngx.ERR, "twilio verify: ", tostring(err)) -- errors never carry credentials
  return reply(503, { error = "second factor temporarily unavailable" })
end

local function challenge_sid_ok(sid)
  return type(sid) == "string" and #sid == 34 and sid:match("^YC%x+$") ~= nil
end

-- username and password of a POST form, checked: the Verify identity, or
-- nil after answering the error.
local function signed_in_by_password()
  if ngx.req.get_method() ~= "POST" then return reply(405, { error = "POST only" }) end
  ngx.req.read_body()
  local args = ngx.req.get_post_args(10)
  local username, password = args.username, args.password
  if type(username) ~= "string" or type(password) ~= "string" then
    return reply(400, { error = "username and password are required" })
  end
  local identity = login.check_password(username, password)
  if not identity then return reply(401, { error = "wrong username or password" }) end
  return identity, username
end

function _M.enroll()
  local identity, username = signed_in_by_password()
  if not identity then return end
  local token, err = login.client():create_access_token(SERVICE_SID, identity, {
    factor_type = "push", factor_friendly_name = username .. "'s phone", ttl = 300 })
  if not token then return unavailable(err) end
  return reply(200, { step = "enroll_device", identity = identity, service_sid = SERVICE_SID,
                      access_token = token.token })
end

-- The user's newest verified push factor, or nil; nil, err when Verify failed.
local function push_factor(c, identity)
  local it = c:factors(SERVICE_SID, identity, { limit = 100 })
  local best
  while true do
    local f, err = it:next()
    if f == nil then
      if err then return nil, err end
      return best
    end
    if f.factor_type == "push" and f.status == "verified" and
       (best == nil or tostring(f.date_created) >= tostring(best.date_created)) then
      best = f
    end
  end
end

function _M.login()
  local identity = signed_in_by_password()
  if not identity then return end
  local c = login.client()
  local factor, err = push_factor(c, identity)
  if err then return unavailable(err) end
  if not factor then return reply(409, { error = "no push factor" }) end
  local ch, cerr = c:create_challenge(SERVICE_SID, identity, {
    factor_sid = factor.sid, details_message = "Log in to Example?",
    details_fields = { { label = "IP", value = ngx.var.remote_addr } } })
  if not ch then return unavailable(cerr) end
  local ok, serr = dict():set("identity:" .. ch.sid, identity, KEEP)
  if not ok then
    ngx.log(ngx.ERR, "push_challenges: ", serr)
    return reply(503, { error = "second factor temporarily unavailable" })
  end
  return reply(200, { step = "push", challenge_sid = ch.sid })
end

local ANSWERS = { ["challenge.approved"] = "approved", ["challenge.denied"] = "denied" }

function _M.webhook()
  if ngx.req.get_method() ~= "POST" then return reply(405, { error = "POST only" }) end
  if type(AUTH_TOKEN) ~= "string" or AUTH_TOKEN == "" then
    ngx.log(ngx.ERR, "push webhook: no TWILIO_AUTH_TOKEN in the environment (env TWILIO_AUTH_TOKEN;)")
    return reply(500, { error = "not configured" })
  end
  -- the URL the webhook is registered with (nginx.conf's $push_webhook_url),
  -- never one rebuilt from the Host header: a webhook Twilio signed for
  -- another of the account's hosts would validate here too
  local url = ngx.var.push_webhook_url
  if type(url) ~= "string" or url == "" then
    ngx.log(ngx.ERR, "push webhook: set $push_webhook_url in the location (the URL registered with Twilio)")
    return reply(500, { error = "not configured" })
  end
  local ok, why = webhook.validate_request(AUTH_TOKEN, { url = url })
  if not ok then
    ngx.log(ngx.WARN, "push webhook refused: ", why, " (from ", ngx.var.remote_addr, ")")
    return reply(403, { error = "invalid signature" })
  end
  local args = ngx.req.get_post_args(64) -- the body validate_request read
  local answer, sid = ANSWERS[args.type], args.challenge_sid
  if answer and challenge_sid_ok(sid) and args.account_sid == ACCOUNT_SID and args.service_sid == SERVICE_SID then
    local d = dict()
    local identity = d:get("identity:" .. sid)
    if identity and identity == args.entity_identity then
      -- add: the first answer stays (Twilio may deliver an event twice)
      d:add("webhook:" .. sid, answer, KEEP)
    end
  end
  return reply(200, { ok = true })
end

function _M.status()
  if ngx.req.get_method() ~= "GET" then return reply(405, { error = "GET only" }) end
  local sid = ngx.var.arg_challenge_sid
  if not challenge_sid_ok(sid) then
    return reply(400, { error = "challenge_sid must be YC and 32 hex digits" })
  end
  local d = dict()
  local identity = d:get("identity:" .. sid)
  if not identity then return reply(404, { error = "unknown challenge" }) end
  local answer = d:get("webhook:" .. sid)
  if answer then return reply(200, { status = answer, source = "webhook" }) end
  -- no webhook (yet, or none configured): ask Verify
  local ch, err = login.client():fetch_challenge(SERVICE_SID, identity, sid)
  if not ch then return unavailable(err) end
  return reply(200, { status = ch.status, source = "api" })
end

return _M
