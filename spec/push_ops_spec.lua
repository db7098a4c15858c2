-- The Push operations of the table (access tokens, notifications, webhooks):
-- their exact wire format and validation (an error naming the parameter,
-- nothing sent), and verify.response_of: the status and the headers the
-- library keeps of the response a value came from, on the libcurl path and
-- through a Lua transport.
local verify = require "twilio.verify"
local fixture = require "support.fixture"

local unpack = unpack or table.unpack
local SVC = "VA" .. string.rep("ab", 16)
local ID = "user-0001-push"
local YC = "YC" .. string.rep("1", 32)
local YK = "YK" .. string.rep("2", 32)
local YW = "YW" .. string.rep("3", 32)
local ACCESS_TOKENS = "/v2/Services/" .. SVC .. "/AccessTokens"
local WEBHOOKS = "/v2/Services/" .. SVC .. "/Webhooks"

describe("push operations", function()
  local e, client

  fixture.emulator({}, { max_retries = 0 }, function(em, c) e, client = em, c end)

  describe("wire format", function()
    local cases = {
      { "create_access_token", { SVC, ID, { factor_type = "push", factor_friendly_name = "Ann's phone", ttl = 300 } },
        "POST", ACCESS_TOKENS, "",
        { { "Identity", ID }, { "FactorType", "push" }, { "FactorFriendlyName", "Ann's phone" }, { "Ttl", "300" } } },
      { "create_access_token", { SVC, ID, { factor_type = "push" } }, "POST", ACCESS_TOKENS, "",
        { { "Identity", ID }, { "FactorType", "push" } } },
      { "fetch_access_token", { SVC, YK }, "GET", ACCESS_TOKENS .. "/" .. YK, "", {} },
      { "create_notification", { SVC, ID, YC, { ttl = 0 } }, "POST",
        "/v2/Services/" .. SVC .. "/Entities/" .. ID .. "/Challenges/" .. YC .. "/Notifications", "",
        { { "Ttl", "0" } } },
      { "create_webhook", { SVC, { friendly_name = "app", webhook_url = "https://example.com/hook?a=1",
          event_types = { "factor.created", "challenge.approved", "challenge.denied" }, status = "disabled",
          version = "v2" } },
        "POST", WEBHOOKS, "",
        { { "FriendlyName", "app" }, { "EventTypes", "factor.created" }, { "EventTypes", "challenge.approved" },
          { "EventTypes", "challenge.denied" }, { "WebhookUrl", "https://example.com/hook?a=1" },
          { "Status", "disabled" }, { "Version", "v2" } } },
      { "fetch_webhook", { SVC, YW }, "GET", WEBHOOKS .. "/" .. YW, "", {} },
      { "list_webhook", { SVC, { page_size = 5 } }, "GET", WEBHOOKS, "PageSize=5", {} },
      { "update_webhook", { SVC, YW, { event_types = { "*" }, status = "enabled" } }, "POST", WEBHOOKS .. "/" .. YW,
        "", { { "EventTypes", "*" }, { "Status", "enabled" } } },
      { "delete_webhook", { SVC, YW }, "DELETE", WEBHOOKS .. "/" .. YW, "", {} },
    }
    for i, c in ipairs(cases) do
      local name, args, method, path, query, form = c[1], c[2], c[3], c[4], c[5], c[6]
      it(name .. " #" .. i .. " sends " .. method .. " " .. path:gsub(SVC, "{svc}"), function()
        e:clear_requests()
        client[name](client, unpack(args))
        local req = e:last_request()
        assert.is_table(req, name .. " sent nothing")
        assert.equal(method, req.method)
        assert.equal(path, req.path)
        assert.equal(query, req.query or "")
        assert.same(form, req.form)
        if method == "POST" then assert.equal("application/x-www-form-urlencoded", req.content_type) end
      end)
    end

    it("an iterator over webhooks: client:webhooks", function()
      local it = client:webhooks(SVC, { limit = 3 })
      assert.is_table(it)
      local n = 0
      for _ in it do n = n + 1 end
      assert.is_true(n <= 3)
      local req = e:last_request()
      assert.equal(WEBHOOKS, req.path)
      assert.equal("PageSize=3", req.query)
    end)
  end)

  describe("validation: an error naming the parameter, nothing sent", function()
    local bad = {
      { "create_access_token", { SVC, ID, { factor_type = "totp" } }, "factor_type" },
      { "create_access_token", { SVC, ID, {} }, "factor_type" },
      { "create_access_token", { SVC, ID, { factor_type = "push", ttl = 59 } }, "ttl" },
      { "create_access_token", { SVC, ID, { factor_type = "push", ttl = 301 } }, "ttl" },
      { "create_access_token", { SVC, "no", { factor_type = "push" } }, "identity" },
      { "create_access_token", { SVC, ID, { factor_type = "push", factor_friendly_name = string.rep("x", 65) } },
        "factor_friendly_name" },
      { "fetch_access_token", { SVC, "YF" .. string.rep("2", 32) }, "sid" },
      { "create_notification", { SVC, ID, YC, { ttl = 301 } }, "ttl" },
      { "create_notification", { SVC, ID, YC, { ttl = -1 } }, "ttl" },
      { "create_notification", { SVC, ID, "YF" .. string.rep("1", 32), {} }, "challenge_sid" },
      { "create_webhook", { SVC, { friendly_name = "a", webhook_url = "https://x", event_types = { "factor.nope" } } },
        "event_types" },
      { "create_webhook", { SVC, { friendly_name = "a", webhook_url = "https://x" } }, "event_types" },
      { "create_webhook", { SVC, { friendly_name = "a", event_types = { "*" } } }, "webhook_url" },
      { "create_webhook", { SVC, { webhook_url = "https://x", event_types = { "*" } } }, "friendly_name" },
      { "create_webhook", { SVC, { friendly_name = "a", webhook_url = "https://x", event_types = "factor.created" } },
        "event_types" },
      { "update_webhook", { SVC, YW, { status = "paused" } }, "status" },
      { "update_webhook", { SVC, YW, { version = "v3" } }, "version" },
      { "update_webhook", { SVC, YW, { url = "https://x" } }, "url" },
      { "delete_webhook", { SVC, "YK" .. string.rep("3", 32) }, "sid" },
    }
    for i, c in ipairs(bad) do
      local name, args, param = c[1], c[2], c[3]
      it(name .. " #" .. i .. ": " .. param, function()
        e:clear_requests()
        local ok, v, err = pcall(client[name], client, unpack(args))
        if ok then err = select(2, client[name](client, unpack(args))) or err end
        if not ok then err = verify.error_of(v) or v end
        assert.is_table(err, tostring(err))
        assert.equal(param, err.param)
        assert.equal(0, #e:requests())
      end)
    end
  end)

  describe("verify.response_of", function()
    it("gives the status and Twilio-Request-Id of the answer a value came from (libcurl)", function()
      local ent = assert(client:create_entity(SVC, ID))
      local r = assert(verify.response_of(ent))
      assert.equal(201, r.status)
      assert.truthy(tostring(r.request_id):match("^RQ%x+$"), tostring(r.request_id))
      assert.equal(r.request_id, r.headers["twilio-request-id"])
      local again = assert(client:fetch_entity(SVC, ID))
      local r2 = assert(verify.response_of(again))
      assert.equal(200, r2.status)
      assert.is_not.equal(r.request_id, r2.request_id)
      -- an object refreshed in place takes its new answer's
      assert(ent:fetch())
      local r3 = assert(verify.response_of(ent))
      assert.equal(200, r3.status)
      assert.is_not.equal(r.request_id, r3.request_id)
    end)

    it("is nil for what came from no response", function()
      assert.is_nil(verify.response_of(nil))
      assert.is_nil(verify.response_of({}))
      assert.is_nil(verify.response_of("x"))
      assert(client:create_entity(SVC, "user-0009-gone"))
      local ok = assert(client:delete_entity(SVC, "user-0009-gone"))
      assert.is_true(ok)
      assert.is_nil(verify.response_of(ok)) -- a delete's `true` carries nothing
    end)

    it("keeps exactly the headers of core.response_headers, from a Lua transport too", function()
      local body = '{"sid":"YE' .. string.rep("4", 32) .. '","identity":"' .. ID .. '","account_sid":"AC'
        .. string.rep("0", 32) .. '","service_sid":"' .. SVC .. '","date_created":"2024-01-01T00:00:00Z",'
        .. '"date_updated":"2024-01-01T00:00:00Z","url":"https://verify.twilio.com/x","links":{}}'
      local headers = {
        ["Twilio-Request-Id"] = "RQ" .. string.rep("5", 32),
        ["twilio-verify-signature-fields"] = "factor_sid,status,details.message",
        ["TWILIO-CONCURRENT-REQUESTS"] = 3,
        ["Twilio-Request-Duration"] = "0.012",
        ["Twilio-Verify-Challenge-Signature"] = "sig\r\nInjected: yes",
        ["Twilio-Reached-Rate-Limit"] = { "a", "b" }, -- a repeated header: its last value
        ["x-rate-limit-remaining"] = "99",
        ["X-Other"] = "not kept",
        ["Set-Cookie"] = "not kept",
      }
      local c = verify.new{ account_sid = e.account_sid, auth_token = e.auth_token, base_url = e.base_url,
        max_retries = 0, transport = function() return { status = 200, body = body, headers = headers } end }
      local ent = assert(c:fetch_entity(SVC, ID))
      local r = assert(verify.response_of(ent))
      c:close()
      assert.equal(200, r.status)
      assert.same({
        ["twilio-request-id"] = "RQ" .. string.rep("5", 32),
        ["twilio-verify-signature-fields"] = "factor_sid,status,details.message",
        ["twilio-concurrent-requests"] = "3",
        ["twilio-request-duration"] = "0.012",
        ["twilio-verify-challenge-signature"] = "sigInjected: yes",
        ["twilio-reached-rate-limit"] = "b",
        ["x-rate-limit-remaining"] = "99",
      }, r.headers)
      assert.equal("RQ" .. string.rep("5", 32), r.request_id)
      -- the list is data the docs name
      local names = verify.response_headers or require("twilio.verify.core").response_headers
      assert.equal(11, #names)
    end)

    it("the libcurl transport offered to Lua passes the kept headers on", function()
      local seen
      local c = verify.new{ account_sid = e.account_sid, auth_token = e.auth_token, base_url = e.base_url,
        max_retries = 0, transport = function(req, cl)
          local resp, err = verify.curl_transport(req, cl)
          seen = resp
          return resp, err
        end }
      local ent = assert(c:create_entity(SVC, ID))
      c:close()
      assert.is_table(seen)
      assert.truthy(tostring(seen.headers["Twilio-Request-Id"]):match("^RQ%x+$"))
      assert.equal(seen.headers["Twilio-Request-Id"], verify.response_of(ent).request_id)
    end)
  end)
end)
