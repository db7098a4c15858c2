-- Webhooks and Notifications in the emulator: the Webhook resources' wire
-- format and validation, and delivery for real -- a loopback receiver
-- (build/hook-receiver, a child process) gets each event's POST; the spec
-- checks the form body and recomputes X-Twilio-Signature itself (HMAC-SHA1
-- by the openssl command line, Twilio's documented algorithm), and reads
-- the emulator's delivery records (GET /__emulator/webhooks): refused
-- non-loopback URLs, timeouts, failures and the queue bound.
-- See doc/emulator.md, "Webhooks", "Webhook delivery" and "Notifications".
local verify = require "twilio.verify"
local emulator = require "support.emulator"
local cjson = require "cjson"
local pushkeys = require "support.pushkeys"
local process = require "support.process"
local read_file, alive, sleep = process.read_file, process.alive, process.sleep

local SVC = "VA" .. string.rep("ef", 16)
local ID = "user-0001-hook"
local shq = emulator.shell_quote


-- Is process pid running (not a zombie)?

-- ------------------------------------------------------------ receiver

-- build/hook-receiver (next to $TV_EMULATOR; it does not depend on the Lua)
local function receiver_exe()
  local emu = os.getenv("TV_EMULATOR") or "build/twilio-verify-emulator"
  local exe = (emu:gsub("[^/]*$", "")) .. "hook-receiver"
  if read_file(exe) then return exe end
  return "build/hook-receiver"
end

local function start_receiver(opts)
  opts = opts or {}
  local r = { out = os.tmpname(), portfile = os.tmpname() }
  local args = { "--out", r.out, "--status", tostring(opts.status or 200), "--delay-ms", tostring(opts.delay_ms or 0) }
  local q = {}
  for i, a in ipairs(args) do q[i] = shq(a) end
  local p = io.popen(string.format("exec %s %s >%s 2>&1 </dev/null & echo $!", shq(receiver_exe()),
    table.concat(q, " "), shq(r.portfile)))
  r.pid = tonumber(p:read("*l"))
  p:close()
  assert(r.pid, "could not start the hook receiver")
  for _ = 1, 500 do
    local port = (read_file(r.portfile) or ""):match("^(%d+)\n")
    if port then
      r.port = tonumber(port)
      break
    end
    os.execute("sleep 0.01")
  end
  assert(r.port, "the hook receiver printed no port: " .. (read_file(r.portfile) or ""))
  r.url = "http://127.0.0.1:" .. r.port
  function r.records()
    local list = {}
    for line in (read_file(r.out) or ""):gmatch("[^\n]+") do list[#list + 1] = cjson.decode(line) end
    return list
  end
  function r.clear()
    local f = io.open(r.out, "wb")
    f:close()
  end
  function r.stop()
    if r.pid then
      os.execute("kill -TERM " .. r.pid .. " 2>/dev/null")
      for _ = 1, 200 do
        if not alive(r.pid) then break end
        os.execute("sleep 0.01")
      end
      r.pid = nil
    end
    os.remove(r.out)
    os.remove(r.portfile)
  end
  return r
end

-- ------------------------------------------------------------ helpers

local function unpct(s)
  return (s:gsub("+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function parse_form(body)
  local t, order = {}, {}
  for pair in body:gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=(.*)$")
    k, v = unpct(k), unpct(v)
    t[k] = v
    order[#order + 1] = k
  end
  return t, order
end

-- Twilio's X-Twilio-Signature, computed independently: Base64 of
-- HMAC-SHA1(auth token, URL .. key1 .. value1 .. key2 .. value2 ...) with
-- the keys sorted, by the openssl command line.
local function twilio_signature(token, url, params)
  local keys = {}
  for k in pairs(params) do keys[#keys + 1] = k end
  table.sort(keys)
  local data = { url }
  for _, k in ipairs(keys) do data[#data + 1] = k .. params[k] end
  local tmp = os.tmpname()
  local f = assert(io.open(tmp, "wb"))
  f:write(table.concat(data))
  f:close()
  local p = io.popen(string.format("openssl dgst -sha1 -hmac %s -binary < %s | base64", shq(token), shq(tmp)))
  local out = p:read("*a")
  p:close()
  os.remove(tmp)
  return (out:gsub("%s+$", ""))
end


-- a push challenge's AuthPayload, as the device makes it: the ES256 JWT of
-- the fields the challenge fetch names (Twilio-Verify-Signature-Fields)
local e_ref
local function answer(keyname, challenge_sid, status)
  local st, body, h = e_ref:request("GET", "/v2/Services/" .. SVC .. "/Entities/" .. ID .. "/Challenges/" .. challenge_sid)
  assert(st == 200, "challenge fetch: " .. tostring(st))
  return pushkeys.answer(keyname, body, h["twilio-verify-signature-fields"], status)
end

describe("emulator webhooks", function()
  local e, client, rx

  local function hooks_state()
    local status, body = e:json("GET", "/__emulator/webhooks", nil, { Authorization = false })
    assert.are.equal(200, status)
    return body
  end

  local function hooks_config(t)
    local status, body = e:json("POST", "/__emulator/webhooks", cjson.encode(t),
      { Authorization = false, ["Content-Type"] = "application/json" })
    assert.are.equal(200, status)
    return body
  end

  -- Wait until the emulator has recorded n deliveries (and none is queued or in flight).
  local function wait_deliveries(n, secs)
    local deadline = os.time() + (secs or 10)
    local st
    repeat
      st = hooks_state()
      if st and #st.deliveries >= n and st.queued == 0 and not st.sending then return st.deliveries end
      sleep(0.05)
    until os.time() > deadline
    error("expected " .. n .. " deliveries, have " .. (st and #st.deliveries or "?") .. ": " .. cjson.encode(st))
  end

  local function new_hook(params)
    local p = { friendly_name = "hook", event_types = { "*" }, webhook_url = rx.url .. "/hooks/verify?tenant=a%20b" }
    for k, v in pairs(params or {}) do p[k] = v end
    return assert(client:create_webhook(SVC, p))
  end

  local function totp_factor(name)
    local f = assert(client:create_factor(SVC, ID, { friendly_name = name or "phone", factor_type = "totp" }))
    return f
  end

  local function code_of(f)
    return verify.totp.code(f.binding.secret, { alg = "sha1", digits = 6, step = 30 }, os.time())
  end

  setup(function()
    e = emulator.start{ no_limits = true }
    e_ref = e
    client = e:client{ max_retries = 0 }
    rx = start_receiver{}
  end)

  teardown(function()
    if client then client:close() end
    if rx then rx.stop() end
    if e then e:stop() end
  end)

  before_each(function()
    e:reset()
    rx.clear()
  end)

  describe("resources", function()
    local SHAPE = { "url", "sid", "account_sid", "service_sid", "friendly_name", "event_types", "webhook_method",
                    "webhook_url", "status", "version", "date_created", "date_updated" }

    it("CreateWebhook sends repeated EventTypes and answers the description's shape", function()
      local w = assert(client:create_webhook(SVC, { friendly_name = "name",
        event_types = { "factor.deleted", "factor.verified" }, webhook_url = "https://owlbank.twilio.com" }))
      local req = e:last_request()
      assert.are.equal("POST", req.method)
      assert.are.equal("/v2/Services/" .. SVC .. "/Webhooks", req.path)
      assert.are.same({ { "FriendlyName", "name" }, { "EventTypes", "factor.deleted" },
                        { "EventTypes", "factor.verified" }, { "WebhookUrl", "https://owlbank.twilio.com" } }, req.form)
      local _, raw = e:json("GET", "/v2/Services/" .. SVC .. "/Webhooks/" .. w.sid)
      local keys = {}
      for k in pairs(raw) do keys[#keys + 1] = k end
      table.sort(keys)
      local want = {}
      for i, k in ipairs(SHAPE) do want[i] = k end
      table.sort(want)
      assert.are.same(want, keys)
      assert.truthy(w.sid:match("^YW%x+$") and #w.sid == 34)
      assert.are.equal(e.account_sid, w.account_sid)
      assert.are.equal(SVC, w.service_sid)
      assert.are.same({ "factor.deleted", "factor.verified" }, w.event_types)
      assert.are.equal("POST", w.webhook_method)
      assert.are.equal("enabled", w.status)   -- default
      assert.are.equal("v2", w.version)       -- default
      assert.truthy(w.date_created:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$"))
      assert.are.equal(e.base_url .. "/v2/Services/" .. SVC .. "/Webhooks/" .. w.sid, w.url)
    end)

    it("fetches, updates (only what is given), lists with pages and deletes", function()
      local a = new_hook{ friendly_name = "a" }
      local b = new_hook{ friendly_name = "b", status = "disabled", version = "v1" }
      assert.are.equal("disabled", b.status)
      assert.are.equal("v1", b.version)
      local f = assert(client:fetch_webhook(SVC, a.sid))
      assert.are.equal("a", f.friendly_name)
      local u = assert(client:update_webhook(SVC, a.sid, { event_types = { "challenge.approved" }, status = "disabled" }))
      assert.are.same({ "challenge.approved" }, u.event_types)
      assert.are.equal("disabled", u.status)
      assert.are.equal("a", u.friendly_name)
      assert.are.equal(a.webhook_url, u.webhook_url)
      local page = assert(client:list_webhook(SVC, { page_size = 1 }))
      assert.are.equal(1, #page.webhooks)
      assert.are.equal(a.sid, page.webhooks[1].sid)
      assert.are.equal("webhooks", page.meta.key)
      assert.truthy(page.meta.next_page_url)
      local _, p2 = e:json("GET", page.meta.next_page_url)
      assert.are.equal(b.sid, p2.webhooks[1].sid)
      assert.is_nil(p2.meta.next_page_url ~= cjson.null and p2.meta.next_page_url or nil)
      -- another service's list is empty
      local other = assert(client:list_webhook("VA" .. string.rep("01", 16)))
      assert.are.equal(0, #other.webhooks)
      assert.is_true(client:delete_webhook(SVC, a.sid))
      local none, err = client:fetch_webhook(SVC, a.sid)
      assert.is_nil(none)
      assert.are.equal(404, err.status)
      assert.are.equal(20404, err.code)
    end)

    it("answers Twilio's errors", function()
      local path = "/v2/Services/" .. SVC .. "/Webhooks"
      local cases = {
        { { { "EventTypes", "*" }, { "WebhookUrl", "http://127.0.0.1/" } }, 400, 60200, "FriendlyName" },
        { { { "FriendlyName", "x" }, { "WebhookUrl", "http://127.0.0.1/" } }, 400, 60200, "EventTypes" },
        { { { "FriendlyName", "x" }, { "EventTypes", "*" } }, 400, 60200, "WebhookUrl" },
        { { { "FriendlyName", "x" }, { "EventTypes", "factor.updated" }, { "WebhookUrl", "http://127.0.0.1/" } },
          400, 60200, "EventTypes" },
        { { { "FriendlyName", "x" }, { "EventTypes", "*" }, { "WebhookUrl", "not a url" } }, 400, 60200, "WebhookUrl" },
        { { { "FriendlyName", "x" }, { "EventTypes", "*" }, { "WebhookUrl", "ftp://127.0.0.1/x" } },
          400, 60200, "WebhookUrl" },
        { { { "FriendlyName", "x" }, { "EventTypes", "*" }, { "WebhookUrl", "http://127.0.0.1/" },
            { "Status", "on" } }, 400, 60200, "Status" },
        { { { "FriendlyName", "x" }, { "EventTypes", "*" }, { "WebhookUrl", "http://127.0.0.1/" },
            { "Version", "v3" } }, 400, 60200, "Version" },
      }
      for _, c in ipairs(cases) do
        local status, body = e:json("POST", path, c[1])
        assert.are.equal(c[2], status, cjson.encode(c[1]))
        assert.are.equal(c[3], body.code)
        assert.truthy(body.message:find(c[4], 1, true), body.message)
      end
      local yw = "YW" .. string.rep("0", 32)
      for _, m in ipairs{ "GET", "DELETE" } do
        local status, body = e:json(m, path .. "/" .. yw)
        assert.are.equal(404, status)
        assert.are.equal(20404, body.code)
      end
      local status, body = e:json("POST", path .. "/" .. yw, { FriendlyName = "x" })
      assert.are.equal(404, status)
      assert.are.equal(20404, body.code)
      status, body = e:json("GET", path .. "/YF" .. string.rep("0", 32))
      assert.are.equal(400, status)
      assert.are.equal(60200, body.code)
      assert.are.equal(0, #hooks_state().deliveries) -- nothing was delivered for any of it
    end)
  end)

  describe("delivery", function()
    it("POSTs every event, signed, to a loopback receiver", function()
      local hook = new_hook{}
      local f = totp_factor("Ann's phone ü")                                 -- factor.created
      assert.is_true(client:verify_factor(SVC, ID, f.sid, code_of(f)))        -- factor.verified
      local ch = assert(client:create_challenge(SVC, ID, { factor_sid = f.sid, auth_payload = code_of(f) }))
      assert.are.equal("approved", ch.status)                                  -- challenge.approved
      local push = assert(client:create_factor(SVC, ID, { friendly_name = "push", factor_type = "push",
        binding_alg = "ES256", binding_public_key = pushkeys.pub("hook-push"),
        config_app_id = "com.example.app", config_notification_platform = "none", config_sdk_version = "1.0" }))
      assert.equal("verified", assert(client:update_factor(SVC, ID, push.sid,
        { auth_payload = pushkeys.sign("hook-push", push.sid) })).status)
      local pch = assert(client:create_challenge(SVC, ID, { factor_sid = push.sid, details_message = "Log in?",
        details_fields = { { label = "IP", value = "203.0.113.7" } }, hidden_details = { ip = "203.0.113.7" } }))
      local denied = assert(client:update_challenge(SVC, ID, pch.sid, { auth_payload = answer("hook-push", pch.sid,
        "denied"), metadata = { os = "Android" } }))
      assert.are.equal("denied", denied.status)                                -- challenge.denied
      assert.is_true(client:delete_factor(SVC, ID, f.sid))                     -- factor.deleted

      local want = { "factor.created", "factor.verified", "challenge.approved", "factor.created",
                     "factor.verified", "challenge.denied", "factor.deleted" }
      local recs = wait_deliveries(#want)
      local got = rx.records()
      assert.are.equal(#want, #got)
      for i, ev in ipairs(want) do
        local rec, req = recs[i], got[i]
        assert.are.equal(ev, rec.event)
        assert.are.equal("delivered", rec.status)
        assert.are.equal(200, rec.response_status)
        assert.are.equal(hook.sid, rec.webhook_sid)
        assert.are.equal("POST", req.method)
        assert.are.equal("/hooks/verify?tenant=a%20b", req.target)
        assert.are.equal("application/x-www-form-urlencoded", req.headers["content-type"])
        assert.are.equal("TwilioProxy/1.1", req.headers["user-agent"])
        assert.are.equal(rec.body, req.body)
        local p = parse_form(req.body)
        assert.are.same(rec.params, p)
        assert.are.equal(ev, p.type)
        assert.are.equal(p.uuid, req.headers["i-twilio-idempotency-token"])
        assert.truthy(p.uuid:match("^%x+%-%x+%-4%x+%-[89ab]%x+%-%x+$"))
        assert.are.equal(e.account_sid, p.account_sid)
        assert.are.equal(SVC, p.service_sid)
        assert.are.equal(ID, p.entity_identity)
        assert.truthy(p.date_created:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$"))
        -- the signature, recomputed here, over the exact URL registered
        local sig = twilio_signature(e.auth_token, hook.webhook_url, p)
        assert.are.equal(sig, req.headers["x-twilio-signature"])
        assert.are.equal(sig, rec.signature)
        -- a body or URL changed after signing no longer matches
        local tampered = {}
        for k, v in pairs(p) do tampered[k] = v end
        tampered.type = "challenge.approved" == ev and "challenge.denied" or "challenge.approved"
        assert.are_not.equal(sig, twilio_signature(e.auth_token, hook.webhook_url, tampered))
        assert.are_not.equal(sig, twilio_signature(e.auth_token, hook.webhook_url .. "&x=1", p))
        assert.are_not.equal(sig, twilio_signature("other-token", hook.webhook_url, p))
        assert.truthy(rec.queued_at and rec.started_at and rec.finished_at)
      end
      local created, verified, approved = parse_form(got[1].body), parse_form(got[2].body), parse_form(got[3].body)
      assert.are.equal(f.sid, created.factor_sid)
      assert.are.equal("totp", created.factor_type)
      assert.are.equal("Ann's phone ü", created.factor_friendly_name)
      assert.are.equal("unverified", created.status)
      assert.are.equal("verified", verified.status)
      assert.are.equal(ch.sid, approved.challenge_sid)
      assert.are.equal("approved", approved.status)
      assert.are.equal(f.sid, approved.factor_sid)
      local pd = parse_form(got[6].body)
      assert.are.equal(pch.sid, pd.challenge_sid)
      assert.are.equal("push", pd.factor_type)
      assert.are.equal("denied", pd.status)
      local details = cjson.decode(pd.challenge_details)
      assert.are.equal("Log in?", details.message)
      assert.are.same({ { label = "IP", value = "203.0.113.7" } }, details.fields)
      assert.are.same({ ip = "203.0.113.7" }, cjson.decode(pd.hidden_details))
      assert.are.same({ os = "Android" }, cjson.decode(pd.metadata))
      assert.are.equal(f.sid, parse_form(got[7].body).factor_sid)
      assert.are.equal(7, hooks_state().delivered)
    end)

    it("honours EventTypes, Status and Version", function()
      new_hook{ friendly_name = "created only", event_types = { "factor.created" } }
      new_hook{ friendly_name = "off", status = "disabled" }
      local v1 = new_hook{ friendly_name = "v1", event_types = { "factor.verified" }, version = "v1" }
      local f = totp_factor()
      assert.is_true(client:verify_factor(SVC, ID, f.sid, code_of(f)))
      wait_deliveries(2)
      sleep(0.2)
      local recs = hooks_state().deliveries
      assert.are.equal(2, #recs)
      assert.are.equal("factor.created", recs[1].event)
      assert.are.equal("factor.verified", recs[2].event)
      assert.are.equal(v1.sid, recs[2].webhook_sid)
      assert.is_nil(recs[2].params.status)   -- v2 fields only in v2
      assert.is_nil(recs[2].params.metadata)
      assert.are.equal("unverified", recs[1].params.status)
      -- another service's events do not reach this service's webhooks
      rx.clear()
      assert(client:create_factor("VA" .. string.rep("02", 16), ID, { friendly_name = "x", factor_type = "totp" }))
      sleep(0.3)
      assert.are.equal(2, #hooks_state().deliveries)
      assert.are.equal(0, #rx.records())
    end)

    it("never contacts a non-loopback URL: refused and recorded", function()
      new_hook{ webhook_url = "http://192.0.2.1:" .. rx.port .. "/x" }
      new_hook{ webhook_url = "http://localhost.example.com:" .. rx.port .. "/x" }
      new_hook{ webhook_url = "https://[2001:db8::1]/x" }
      new_hook{ webhook_url = "http://localhost:" .. rx.port .. "/ok" }
      new_hook{ webhook_url = "http://[::1]:1/v6" }
      totp_factor()
      local recs = wait_deliveries(5)
      local by = {}
      for _, r in ipairs(recs) do by[r.url] = r end
      for _, u in ipairs{ "http://192.0.2.1:" .. rx.port .. "/x", "http://localhost.example.com:" .. rx.port .. "/x",
                          "https://[2001:db8::1]/x" } do
        assert.are.equal("refused", by[u].status, u)
        assert.truthy(by[u].error:find("loopback", 1, true))
        assert.are.equal(cjson.null, by[u].response_status)
      end
      assert.are.equal("delivered", by["http://localhost:" .. rx.port .. "/ok"].status)
      assert.are.equal("failed", by["http://[::1]:1/v6"].status) -- loopback, allowed, nobody listening
      local got = rx.records()
      assert.are.equal(1, #got)
      assert.are.equal("/ok", got[1].target)
      assert.are.equal(3, hooks_state().refused)
    end)

    it("records a slow receiver as a timeout and an error status as failed", function()
      local slow = start_receiver{ delay_ms = 3000 }
      local bad = start_receiver{ status = 500 }
      finally(function() slow.stop(); bad.stop() end) -- stop() is idempotent
      hooks_config{ timeout_ms = 300 }
      new_hook{ webhook_url = slow.url .. "/slow" }
      new_hook{ webhook_url = bad.url .. "/bad" }
      local t0 = os.time()
      totp_factor()
      local recs = wait_deliveries(2)
      assert.is_true(os.time() - t0 < 3, cjson.encode(recs))
      slow.stop()
      bad.stop()
      assert.are.equal("timeout", recs[1].status)
      assert.truthy(recs[1].duration_ms < 2500)
      assert.truthy(recs[1].error:find("300 ms", 1, true))
      assert.are.equal("failed", recs[2].status)
      assert.are.equal(500, recs[2].response_status)
      assert.are.equal("ok", recs[2].response_body)
    end)

    it("bounds the queue: a full queue drops and records the event", function()
      hooks_config{ paused = true, queue_max = 2 }
      new_hook{}
      for i = 1, 4 do totp_factor("f" .. i) end
      local st = hooks_state()
      assert.are.equal(2, st.queued)
      assert.are.equal(2, st.dropped)
      assert.are.equal(2, #st.deliveries)
      for _, r in ipairs(st.deliveries) do
        assert.are.equal("dropped", r.status)
        assert.truthy(r.error:find("full", 1, true))
      end
      assert.are.equal(0, #rx.records())
      hooks_config{ paused = false }
      local recs = wait_deliveries(4)
      local names = {}
      for _, r in ipairs(rx.records()) do names[#names + 1] = parse_form(r.body).factor_friendly_name end
      assert.are.same({ "f1", "f2" }, names)
      assert.are.equal("delivered", recs[3].status)
      -- the control endpoint checks what it is given, and DELETE clears the records
      local status = e:json("POST", "/__emulator/webhooks", '{"queue_max": -1}',
        { Authorization = false, ["Content-Type"] = "application/json" })
      assert.are.equal(400, status)
      assert.are.equal(204, (e:request("DELETE", "/__emulator/webhooks", nil, { Authorization = false })))
      assert.are.equal(0, #hooks_state().deliveries)
    end)

    it("the emulator stops cleanly on SIGTERM with deliveries queued and in flight", function()
      local e2 = emulator.start{}
      local slow = start_receiver{ delay_ms = 3000 }
      finally(function() e2:stop(); slow.stop() end)
      local c2 = e2:client{ max_retries = 0 }
      e2:json("POST", "/__emulator/webhooks", '{"timeout_ms": 20000}',
        { Authorization = false, ["Content-Type"] = "application/json" })
      assert(c2:create_webhook(SVC, { friendly_name = "x", event_types = { "*" }, webhook_url = slow.url }))
      for i = 1, 3 do assert(c2:create_factor(SVC, ID, { friendly_name = "f" .. i, factor_type = "totp" })) end
      sleep(0.2)
      c2:close()
      local t0 = os.time()
      assert.is_true(e2:stop())
      -- the delivery in flight (receiver answering after 3 s, timeout 20 s) is aborted
      assert.is_true(os.time() - t0 <= (os.getenv("TV_EMULATOR_PREFIX") and 60 or 2))
      slow.stop()
    end)
  end)

  describe("notifications", function()
    local nkeys = 0
    local function push_factor(platform)
      nkeys = nkeys + 1
      local opts = { friendly_name = "push", factor_type = "push", binding_alg = "ES256",
        binding_public_key = pushkeys.pub("hook-n" .. nkeys),
        config_app_id = "com.example.app", config_notification_platform = platform, config_sdk_version = "1.0" }
      if platform ~= "none" then opts.config_notification_token = string.rep("t", 64) end
      local f = assert(client:create_factor(SVC, ID, opts))
      f.key = "hook-n" .. nkeys
      assert.equal("verified", assert(client:update_factor(SVC, ID, f.sid, { auth_payload = pushkeys.sign(f.key, f.sid) })).status)
      return f
    end

    it("CreateNotification answers the notification shape", function()
      local f = push_factor("fcm")
      local ch = assert(client:create_challenge(SVC, ID, { factor_sid = f.sid, details_message = "Log in?" }))
      local path = "/v2/Services/" .. SVC .. "/Entities/" .. ID .. "/Challenges/" .. ch.sid .. "/Notifications"
      local status, n = e:json("POST", path, "")
      assert.are.equal(201, status)
      local keys = {}
      for k in pairs(n) do keys[#keys + 1] = k end
      table.sort(keys)
      assert.are.same({ "account_sid", "challenge_sid", "date_created", "entity_sid", "identity", "priority",
                        "service_sid", "sid", "ttl" }, keys)
      assert.truthy(n.sid:match("^NT%x+$") and #n.sid == 34)
      assert.are.equal(300, n.ttl)          -- default
      assert.are.equal("high", n.priority)
      assert.are.equal(ch.sid, n.challenge_sid)
      assert.are.equal(ch.entity_sid, n.entity_sid)
      assert.are.equal(ID, n.identity)
      assert.are.equal(e.account_sid, n.account_sid)
      local n2 = assert(client:create_notification(SVC, ID, ch.sid, { ttl = 150 }))
      assert.are.equal(150, n2.ttl)
      assert.are.same({ { "Ttl", "150" } }, e:last_request().form)
      status = e:json("POST", path, { Ttl = "0" })
      assert.are.equal(201, status)
      local bad
      status, bad = e:json("POST", path, { Ttl = "301" })
      assert.are.equal(400, status)
      assert.are.equal(60200, bad.code)
    end)

    it("answers Twilio's errors", function()
      local none = push_factor("none")
      local apn = push_factor("apn")
      local t = totp_factor()
      assert.is_true(client:verify_factor(SVC, ID, t.sid, code_of(t)))
      local ch_none = assert(client:create_challenge(SVC, ID, { factor_sid = none.sid, details_message = "x" }))
      local ch_done = assert(client:create_challenge(SVC, ID, { factor_sid = apn.sid, details_message = "x" }))
      assert.equal("approved", assert(client:update_challenge(SVC, ID, ch_done.sid,
        { auth_payload = answer(apn.key, ch_done.sid, "approved") })).status)
      local ch_totp = assert(client:create_challenge(SVC, ID, { factor_sid = t.sid }))
      local function post(sid)
        return e:json("POST", "/v2/Services/" .. SVC .. "/Entities/" .. ID .. "/Challenges/" .. sid .. "/Notifications", "")
      end
      local s, b = post(ch_none.sid)
      assert.are.equal(400, s)
      assert.are.equal(60307, b.code)
      s, b = post(ch_done.sid)
      assert.are.equal(403, s)
      assert.are.equal(60322, b.code)
      s, b = post(ch_totp.sid)
      assert.are.equal(400, s)
      assert.are.equal(60200, b.code)
      s, b = post("YC" .. string.rep("0", 32))
      assert.are.equal(404, s)
      assert.are.equal(20404, b.code)
      local ch_exp = assert(client:create_challenge(SVC, ID, { factor_sid = apn.sid, details_message = "x" }))
      e:set_clock(os.time() + 3600)
      s, b = post(ch_exp.sid)
      e:set_clock(nil)
      assert.are.equal(403, s)
      assert.are.equal(60323, b.code)
    end)
  end)
end)
