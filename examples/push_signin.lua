-- push_signin.lua -- the whole Push loop on one machine: the backend (this
-- library's client), a phone (twilio.verify.device, speaking the mobile
-- SDKs' wire protocol with its own P-256 key) and a webhook receiver.
--
--   1. backend: an access token for the user's device   (create_access_token)
--   2. device: enrol a push factor with it, then verify the factor with its
--      signature                                        (device:enroll, :verify)
--   3. backend: a push challenge "Log in to Example?"   (create_challenge)
--   4. device: its pending challenges; approve by signing exactly the fields
--      Twilio-Verify-Signature-Fields names             (device:pending, :approve)
--   5. backend: polls the challenge until it is approved (fetswappedchallenge),
--      and a local receiver gets the signed `challenge.approved` webhook,
--      checked with verify.webhook.validate
--   6. a second challenge denied; a third whose approval is tampered with on
--      the way (one signature byte changed): refused, it stays pending
--
--   examples/run-demo.sh examples/push_signin.lua    (against a fresh emulator)
--
-- Against real Twilio (TWILIO_* in the environment; a service with push
-- enabled), steps 1-6 run the same; the webhook part needs a public URL,
-- so it runs only against a loopback base URL (the emulator).  The
-- receiver is build/hook-receiver (from `make`; $TV_HOOK_RECEIVER elsewhere).
local verify = require "twilio.verify"
local device = require "twilio.verify.device"
local webhook = require "twilio.verify.webhook"
local cjson = require "cjson"

local service_sid = assert(os.getenv("TWILIO_VERIFY_SERVICE_SID"), "set TWILIO_VERIFY_SERVICE_SID")
local auth_token = os.getenv("TWILIO_AUTH_TOKEN")
local client = assert(verify.new{ base_url = os.getenv("TWILIO_VERIFY_BASE_URL") })
local base_url = client:base_url()
local offline = base_url:match("^http://127%.0%.0%.1[:/]") ~= nil or base_url:match("^http://localhost[:/]") ~= nil

local function hex(n)
  local f = assert(io.open("/dev/urandom", "rb"))
  local s = f:read(n)
  f:close()
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end
local identity = "push-user-" .. hex(4)
local function sleep(s) os.execute("sleep " .. s) end
local function shq(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

-- ---------------------------------------------------- the webhook receiver
-- build/hook-receiver: binds 127.0.0.1 on a free port (printed first) and
-- appends each request it gets to a file as a JSON line.
local receiver
local function start_receiver()
  local exe = os.getenv("TV_HOOK_RECEIVER") or ((os.getenv("BUILD") or "build") .. "/hook-receiver")
  if not read_file(exe) then return nil, exe .. " not found (run `make`)" end
  local r = { out = os.tmpname(), portfile = os.tmpname() }
  local p = io.popen(string.format("exec %s --out %s >%s 2>&1 </dev/null & echo $!", shq(exe), shq(r.out),
    shq(r.portfile)))
  r.pid = tonumber(p:read("*l"))
  p:close()
  for _ = 1, 500 do
    r.port = tonumber((read_file(r.portfile) or ""):match("^(%d+)\n"))
    if r.port then break end
    sleep(0.01)
  end
  if not r.port then return nil, "the receiver did not start" end
  r.url = "http://127.0.0.1:" .. r.port .. "/twilio/verify-events"
  function r.requests()
    local list = {}
    for line in (read_file(r.out) or ""):gmatch("[^\n]+") do list[#list + 1] = cjson.decode(line) end
    return list
  end
  function r.stop()
    if r.pid then os.execute("kill -TERM " .. r.pid .. " 2>/dev/null") end
    r.pid = nil
    os.remove(r.out)
    os.remove(r.portfile)
  end
  return r
end

local function unpct(s)
  return (s:gsub("+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end
local function form_params(body)
  local p = {}
  for pair in body:gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    p[unpct(k)] = unpct(v)
  end
  return p
end

-- wait for the webhook of `event` about challenge `sid`; validate it
local function webhook_for(event, sid)
  for _ = 1, 300 do
    for _, req in ipairs(receiver.requests()) do
      local p = form_params(req.body or "")
      if p.type == event and p.challenge_sid == sid then
        local ok, why = webhook.validate(auth_token, receiver.url, p, req.headers["x-twilio-signature"])
        return p, ok, why, req
      end
    end
    sleep(0.02)
  end
  error("no " .. event .. " webhook for " .. sid)
end

local webhook_sid
if offline and auth_token then
  receiver = assert(start_receiver())
  local wh = assert(client:create_webhook(service_sid, { friendly_name = "push sign-in demo",
    event_types = { "challenge.approved", "challenge.denied" }, webhook_url = receiver.url }))
  webhook_sid = wh.sid
  print("webhook    " .. wh.sid .. " -> " .. wh.webhook_url)
else
  print("webhook    skipped (needs a public URL; polling only)")
end

local dev
local ok_run, run_err = pcall(function()
  -- 1. the backend makes an access token for this user's device
  local at = assert(client:create_access_token(service_sid, identity, {
    factor_type = "push", factor_friendly_name = "Ann's phone", ttl = 300 }))
  print("token      " .. at.sid .. " for " .. at.entity_identity .. " (ttl " .. at.ttl .. " s)")

  -- 2. the device enrols a push factor with it, and verifies it
  dev = assert(device.new{ base_url = base_url, service_sid = service_sid, identity = identity })
  local factor = assert(dev:enroll(at.token, { friendly_name = "Ann's phone" }))
  print("enrolled   " .. factor.sid .. " (" .. factor.status .. ")")
  local verified = assert(dev:verify())
  assert(verified.status == "verified", "the factor's signature must verify it")
  print("verified   " .. verified.sid .. " (" .. verified.status .. ")")

  -- 3. the backend asks the user to approve a sign-in
  local function challenge(msg)
    return assert(client:create_challenge(service_sid, identity, { factor_sid = factor.sid,
      details_message = msg, details_fields = { { label = "IP", value = "203.0.113.7" } },
      hidden_details = { ip = "203.0.113.7" } }))
  end
  local ch = challenge("Log in to Example?")
  print("challenge  " .. ch.sid .. " (" .. ch.status .. "): " .. ch.details.message)

  -- 4. the device sees it and approves it
  local pending = assert(dev:pending())
  assert(#pending == 1 and pending[1].sid == ch.sid, "the device must see the challenge")
  local fetched, fields = assert(dev:fetch(ch.sid))
  print("device     signs " .. tostring(fields) .. " of " .. fetched.sid)
  assert(dev:approve(ch.sid))

  -- 5. the backend polls until it is answered...
  local function poll(sid)
    for _ = 1, 100 do
      local c = assert(client:fetswappedchallenge(service_sid, identity, sid))
      if c.status ~= "pending" then return c end
      sleep(0.05)
    end
    return assert(client:fetswappedchallenge(service_sid, identity, sid))
  end
  local answered = poll(ch.sid)
  assert(answered.status == "approved", "expected approved, got " .. tostring(answered.status))
  print("polled     " .. answered.sid .. " -> " .. answered.status .. " (request "
    .. tostring(verify.response_of(answered).request_id) .. ")")
  -- ...and learns it from the signed webhook too
  if receiver then
    local p, valid, why = webhook_for("challenge.approved", ch.sid)
    assert(valid, "the webhook's X-Twilio-Signature must validate: " .. tostring(why))
    print("webhook    " .. p.type .. " for " .. p.challenge_sid .. ": signature valid")
    local forged = {}
    for k, v in pairs(p) do forged[k] = v end
    forged.challenge_sid = "YC" .. hex(16)
    local fok, fwhy = webhook.validate(auth_token, receiver.url, forged, nil)
    local _, _, _, req = webhook_for("challenge.approved", ch.sid)
    local tok, twhy = webhook.validate(auth_token, receiver.url, forged, req.headers["x-twilio-signature"])
    assert(not fok and not tok, "a changed webhook must not validate")
    print("webhook    the same body with another challenge_sid: " .. tostring(twhy) .. "; unsigned: "
      .. tostring(fwhy))
  end

  -- 6a. a second sign-in, denied on the device
  local ch2 = challenge("Log in to Example (2)?")
  assert(dev:deny(ch2.sid))
  local denied = poll(ch2.sid)
  assert(denied.status == "denied", "expected denied, got " .. tostring(denied.status))
  print("denied     " .. denied.sid .. " -> " .. denied.status)
  if receiver then
    local _, valid = webhook_for("challenge.denied", ch2.sid)
    assert(valid, "the challenge.denied webhook must validate")
    print("webhook    challenge.denied for " .. ch2.sid .. ": signature valid")
  end

  -- 6b. a third, whose approval is tampered with on the way: the same
  -- device (its key restored from an export) behind a transport that
  -- changes one byte of the signed AuthPayload
  local ch3 = challenge("Log in to Example (3)?")
  local function tamper(req, c)
    if req.body and req.body:find("AuthPayload=", 1, true) then
      req.body = req.body:gsub("AuthPayload=([^&]*)", function(v)
        local i = #v - 10 -- inside the signature (the last characters may carry padding bits)
        local swapped = v:sub(i, i) == "A" and "B" or "A"
        return "AuthPayload=" .. v:sub(1, i - 1) .. swapped .. v:sub(i + 1)
      end, 1)
    end
    return verify.curl_transport(req, c)
  end
  local mitm = assert(device.new{ base_url = base_url, service_sid = service_sid, identity = identity,
    key = dev:export_key(), factor_sid = dev.factor_sid, credential_sid = dev.credential_sid,
    account_sid = dev.account_sid, transport = tamper })
  local r3, err3 = mitm:approve(ch3.sid)
  mitm:close()
  assert(r3 == nil, "a tampered approval must be refused")
  local still = assert(client:fetswappedchallenge(service_sid, identity, ch3.sid))
  assert(still.status == "pending", "the tampered approval must leave it pending")
  print("tampered   " .. ch3.sid .. " refused: " .. tostring(err3.code) .. " " .. tostring(err3.message)
    .. "; still " .. still.status)
end)

-- clean up whatever ran
if dev then dev:close() end
if webhook_sid then client:delete_webhook(service_sid, webhook_sid) end
client:delete_entity(service_sid, identity)
if receiver then receiver.stop() end
client:close()
if not ok_run then error(run_err, 0) end
print("done")
