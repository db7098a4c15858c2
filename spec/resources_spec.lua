-- Entities, Challenges and Services end to end against the emulator: the
-- exact wire format of every new operation (method, path, query, every
-- form key in order, repeated keys for arrays), table-driven validation of
-- every parameter of every operation (an error naming it, nothing sent),
-- objects, iterators, batches and sign-in.
local verify = require "twilio.verify"
local fixture = require "support.fixture"
local rows = require "support.rows"
local cjson = require "cjson"

local SVC = "VA" .. string.rep("cd", 16)
local ID = "user-0001-res"
local YF = "YF" .. string.rep("0", 32)
local YC = "YC" .. string.rep("0", 32)

local function pct(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

describe("resources", function()
  local e, client

  fixture.emulator({}, { max_retries = 0 }, function(em, c) e, client = em, c end)

  local function sent() return #e:requests() end

  describe("wire format", function()
    -- each case: the call, then what must reach the emulator
    local cases = {
      { "create_entity", { SVC, ID }, "POST", "/v2/Services/" .. SVC .. "/Entities", "", { { "Identity", ID } } },
      { "fetch_entity", { SVC, ID }, "GET", "/v2/Services/" .. SVC .. "/Entities/" .. ID, "", {} },
      { "list_entity", { SVC, { page_size = 7, page = 0, page_token = "PA1" } }, "GET",
        "/v2/Services/" .. SVC .. "/Entities", "PageSize=7&Page=0&PageToken=PA1", {} },
      { "delete_entity", { SVC, ID }, "DELETE", "/v2/Services/" .. SVC .. "/Entities/" .. ID, "", {} },
      { "create_challenge", { SVC, ID, {
          factor_sid = YF, auth_payload = "123456", expiration_date = "2030-01-02T03:04:05Z",
          details_message = "Sign in?", hidden_details = { ip = "10.0.0.1" },
          details_fields = { { label = "Action", value = "Login" }, { label = "Where", value = "Paris" } } } },
        "POST", "/v2/Services/" .. SVC .. "/Entities/" .. ID .. "/Challenges", "",
        { { "FactorSid", YF }, { "ExpirationDate", "2030-01-02T03:04:05Z" }, { "Details.Message", "Sign in?" },
          { "Details.Fields", '{"label":"Action","value":"Login"}' },
          { "Details.Fields", '{"label":"Where","value":"Paris"}' },
          { "HiddenDetails", '{"ip":"10.0.0.1"}' }, { "AuthPayload", "[REDACTED]" } } }, -- the log keeps no secret
      { "create_challenge", { SVC, ID, { factor_sid = YF, expiration_date = 1893553445 } },
        "POST", "/v2/Services/" .. SVC .. "/Entities/" .. ID .. "/Challenges", "",
        { { "FactorSid", YF }, { "ExpirationDate", "2030-01-02T03:04:05Z" } } },
      { "fetch_challenge", { SVC, ID, YC }, "GET", "/v2/Services/" .. SVC .. "/Entities/" .. ID .. "/Challenges/" .. YC,
        "", {} },
      { "list_challenge", { SVC, ID, { factor_sid = YF, status = "pending", order = "desc", page_size = 3 } }, "GET",
        "/v2/Services/" .. SVC .. "/Entities/" .. ID .. "/Challenges",
        "FactorSid=" .. YF .. "&Status=pending&Order=desc&PageSize=3", {} },
      { "update_challenge", { SVC, ID, YC, { auth_payload = "654321", metadata = { os = "Android" } } }, "POST",
        "/v2/Services/" .. SVC .. "/Entities/" .. ID .. "/Challenges/" .. YC, "",
        { { "AuthPayload", "[REDACTED]" }, { "Metadata", '{"os":"Android"}' } } },
      { "create_service", { { friendly_name = "Acme", totp_issuer = "Acme Inc", totp_time_step = 30,
          totp_code_length = 6, totp_skew = 1, psd2_enabled = true, lookup_enabled = false,
          push_include_date = false, code_length = 6 } },
        "POST", "/v2/Services", "",
        { { "FriendlyName", "Acme" }, { "CodeLength", "6" }, { "LookupEnabled", "false" }, { "Psd2Enabled", "true" },
          { "Push.IncludeDate", "false" }, { "Totp.Issuer", "Acme Inc" }, { "Totp.TimeStep", "30" },
          { "Totp.CodeLength", "6" }, { "Totp.Skew", "1" } } },
      { "fetch_service", { SVC }, "GET", "/v2/Services/" .. SVC, "", {} },
      { "list_service", { { page_size = 20 } }, "GET", "/v2/Services", "PageSize=20", {} },
      { "update_service", { SVC, { friendly_name = "Acme 2", push_apn_credential_sid = "CR" .. string.rep("1", 32),
          whatsapp_msg_service_sid = "MG" .. string.rep("2", 32), verify_event_subscription_enabled = true } },
        "POST", "/v2/Services/" .. SVC, "",
        { { "FriendlyName", "Acme 2" }, { "Push.ApnCredentialSid", "CR" .. string.rep("1", 32) },
          { "Whatsapp.MsgServiceSid", "MG" .. string.rep("2", 32) }, { "VerifyEventSubscriptionEnabled", "true" } } },
      { "delete_service", { SVC }, "DELETE", "/v2/Services/" .. SVC, "", {} },
    }
    for i, c in ipairs(cases) do
      local name, args, method, path, query, form = c[1], c[2], c[3], c[4], c[5], c[6]
      it(name .. " #" .. i .. " sends " .. method .. " " .. path:gsub(SVC, "{svc}"), function()
        e:clear_requests()
        client[name](client, table.unpack(args))
        local req = e:last_request()
        assert.is_table(req, name .. " sent nothing")
        assert.equal(method, req.method)
        assert.equal(path, req.path)
        assert.equal(query, req.query or "")
        -- JSON values compare as JSON (a Lua table's key order is not fixed)
        local got = {}
        for k, pair in ipairs(req.form) do
          local v = pair[2]
          if type(v) == "string" and v:sub(1, 1) == "{" then v = cjson.decode(v) end
          got[k] = { pair[1], v }
        end
        local want = {}
        for k, pair in ipairs(form) do
          local v = pair[2]
          if v:sub(1, 1) == "{" then v = cjson.decode(v) end
          want[k] = { pair[1], v }
        end
        assert.same(want, got)
        if method == "POST" then assert.equal("application/x-www-form-urlencoded", req.content_type) end
      end)
    end

    it("percent-encodes path values and form values", function()
      e:clear_requests()
      client:create_challenge(SVC, ID, { factor_sid = YF, details_message = "a&b=c +é" })
      local req = e:last_request()
      assert.matches("Details.Message=" .. pct("a&b=c +é"):gsub("%%", "%%%%"), req.body)
      assert.same({ "Details.Message", "a&b=c +é" }, req.form[2])
    end)
  end)

  describe("validation, from the table", function()
    -- a bad value of each kind; every parameter of every operation gets the
    -- ones of its type, and each must fail before any I/O naming it
    local function bad_values(p)
      local v = { { 12, "a number for a " .. p.type } }
      if p.type == "integer" then
        v = { { "5", "a string" }, { 1.5, "a fraction" } }
        if p.min then v[#v + 1] = { p.min - 1, "below min" } end
        if p.max and p.max < 2147483647 then v[#v + 1] = { p.max + 1, "above max" } end
      elseif p.type == "boolean" then
        v = { { "true", "a string" }, { 1, "a number" } }
      elseif p.type == "enum" then
        v = { { "nope", "not a member" }, { 1, "a number" } }
      elseif p.type == "sid" then
        v = { { "XX" .. string.rep("0", 32), "wrong prefix" }, { p.prefix .. string.rep("0", 31), "too short" },
              { p.prefix .. string.rep("g", 32), "not hex" } }
      elseif p.type == "date-time" then
        v = { { "2030-02-30T00:00:00Z", "no such day" }, { "2030-01-01T00:00:00", "no zone" },
              { "2030-01-01 00:00:00Z", "no T" }, { "2030-01-01T25:00:00Z", "hour 25" }, { -5, "negative" },
              { true, "a boolean" } }
      elseif p.type == "json" then
        v = { { "[1]", "not an object" }, { "{bad", "not JSON" }, { true, "a boolean" } }
      elseif p.type == "identity" then
        v = { { "short", "too short" }, { "has space here", "a space" }, { 12345678, "a number" } }
      elseif p.type == "string" then
        v = { { 12, "a number" }, { "a\0b", "a NUL" }, { "a\nb", "a newline" } }
        if p.max and p.max > 0 then v[#v + 1] = { string.rep("x", p.max + 1), "too long" } end
        if p.min and p.min > 1 then v[#v + 1] = { string.rep("x", p.min - 1), "too short" } end
      end
      if p.array then
        local els = {}
        for i, b in ipairs(v) do els[i] = { { b[1] }, b[2] .. " in the array" } end
        if p.type == "json" then els[#els + 1] = { { { label = "x" }, "x" }, "a string element" } end
        if p.max_items then
          local many = {}
          for i = 1, p.max_items + 1 do many[i] = { label = "l" .. i, value = "v" } end
          els[#els + 1] = { many, "too many elements" }
        end
        els[#els + 1] = { "x", "not an array" }
        els[#els + 1] = { { a = 1 }, "not a sequence" }
        v = els
      end
      return v
    end

    -- valid arguments for every operation (support/rows.lua), from which each case changes one
    local call_args = rows.call_args

    local function expect_arg_error(op, args, param, what)
      local before = sent()
      local v, err = client[op.name](client, table.unpack(args, 1, #args))
      local label = op.name .. " " .. param .. ": " .. what
      assert.is_nil(v, label)
      assert.is_table(err, label)
      assert.equal("invalid_argument", err.kind, label .. ": " .. tostring(err))
      assert.equal(param, err.param, label .. ": " .. tostring(err))
      assert.truthy(tostring(err.message):find(param, 1, true), label .. ": " .. tostring(err.message))
      assert.equal(before, sent(), label .. " sent a request")
    end

    local n = 0
    for _, op in ipairs(verify.operations) do
      for _, pp in ipairs(op.path_params) do
        local bads = pp.type == "sid" and { "XX" .. string.rep("0", 32), pp.prefix .. "0", 42 }
                     or { "ab", "a b c d e f g h", "a--bcdefgh", 42 }
        for _, b in ipairs(bads) do
          n = n + 1
          it(op.name .. " path " .. pp.name .. " = " .. tostring(b), function()
            expect_arg_error(op, call_args(op, { [pp.name] = b }), pp.name, tostring(b))
          end)
        end
      end
      for _, p in ipairs(op.params) do
        for _, b in ipairs(bad_values(p)) do
          n = n + 1
          it(op.name .. " " .. p.name .. ": " .. b[2], function()
            expect_arg_error(op, call_args(op, nil, { [p.name] = b[1] }), p.name, b[2])
          end)
        end
        if p.required and not p.positional then
          it(op.name .. " " .. p.name .. " is required", function()
            local a = call_args(op)
            a[#a][p.name] = nil
            expect_arg_error(op, a, p.name, "missing")
          end)
        end
      end
      if op.has_params then
        it(op.name .. " refuses an unknown parameter", function()
          local a = call_args(op)
          a[#a].no_such_param = "x"
          expect_arg_error(op, a, "no_such_param", "unknown")
        end)
      end
    end

    it("covers every parameter of every operation (" .. n .. " cases)", function()
      assert.is_true(n > 200, "only " .. n .. " cases")
    end)

    it("accepts each case's valid base arguments (the cases fail for the reason they name)", function()
      for _, op in ipairs(verify.operations) do
        local ok, err = require("twilio.verify.core").check_params(client, op.name, table.unpack(call_args(op)))
        assert.is_true(ok, op.name .. ": " .. tostring(err))
      end
    end)
  end)

  describe("objects, iterators, batches and sign-in", function()
    local function totp_factor(identity)
      local f = assert(client:create_factor(SVC, identity, { friendly_name = "app", factor_type = "totp" }))
      local cfg = f.config
      local function code(at)
        return verify.totp.code(f.binding.secret, { alg = cfg.alg, digits = cfg.code_length, step = cfg.time_step,
                                                    time = at })
      end
      return f, code
    end

    it("signs a verified user in with a right code, refuses a wrong one, and needs enrolment first", function()
      local f, code = totp_factor(ID)
      -- not enrolled yet: refused before any I/O by the object, by the API via the client
      local before = sent()
      local ok, err = f:sign_in(code())
      assert.is_nil(ok)
      assert.equal("invalid_argument", err.kind)
      assert.truthy(err.message:find("verify", 1, true))
      assert.equal(before, sent())
      ok, err = client:sign_in(SVC, ID, f.sid, code())
      assert.is_nil(ok)
      assert.equal(60318, err.code)
      assert.truthy(err.message:find("not verified", 1, true))
      assert.is_true(f:verify(code()))
      assert.equal("verified", f.status)
      assert.is_string(f.binding.secret) -- the one-time secret survives the refresh
      local ch
      ok, ch = f:sign_in(code())
      assert.is_true(ok)
      assert.equal("approved", ch.status)
      assert.equal("twilio.verify.challenge", getmetatable(ch).__name)
      local req = e:last_request()
      assert.equal("POST", req.method)
      assert.equal("/v2/Services/" .. SVC .. "/Entities/" .. ID .. "/Challenges", req.path)
      local wrong = code() == "000000" and "111111" or "000000"
      ok, ch = client:sign_in(SVC, ID, f.sid, wrong)
      assert.is_false(ok)
      assert.equal("pending", ch.status)
      -- the challenge object refreshes itself and lists under its entity
      assert.equal(ch, ch:fetch())
      assert.equal("pending", ch.status)
      local ent = assert(client:fetch_entity(SVC, ID))
      assert.equal("twilio.verify.entity", getmetatable(ent).__name)
      local seen = {}
      for c in ent:challenges{ status = "pending" } do seen[#seen + 1] = c.sid end
      assert.same({ ch.sid }, seen)
      local fs = verify.collect(ent:factors())
      assert.equal(1, #fs)
      assert.equal(f.sid, fs[1].sid)
      assert.equal("twilio.verify.factor", getmetatable(fs[1]).__name)
    end)

    it("creates, pages and deletes entities and services through objects and iterators", function()
      for i = 1, 5 do assert(client:create_entity(SVC, string.format("ent-user-%04d", i))) end
      local page = assert(client:list_entity(SVC, { page_size = 2 }))
      assert.equal(2, #page.entities)
      assert.is_string(page.next_page_token)
      local all = verify.collect(client:entities(SVC, { page_size = 2 }))
      assert.equal(5, #all)
      assert.is_true(all[1]:delete())
      assert.equal(4, #verify.collect(client:entities(SVC)))
      local svc = assert(client:create_service{ friendly_name = "Acme", totp_issuer = "Acme Inc" })
      assert.matches("^VA%x+$", svc.sid)
      assert.equal("twilio.verify.service", getmetatable(svc).__name)
      assert.equal(svc, svc:update{ friendly_name = "Acme 2" })
      assert.equal("Acme 2", svc.friendly_name)
      local ent = assert(svc:create_entity("svc-user-0001"))
      assert.equal(svc.sid, ent.service_sid)
      assert.equal(1, #verify.collect(svc:entities()))
      local found = false
      for s in client:services() do found = found or s.sid == svc.sid end
      assert.is_true(found)
      assert.is_true(svc:delete())
      local gone, err = client:fetch_service(svc.sid)
      assert.is_nil(gone)
      assert.equal(404, err.status)
    end)

    it("runs any operation of the table in a batch, with the results of sequential calls", function()
      local f = totp_factor("batch-user-0001")
      local ops = {
        { op = "create_entity", service_sid = SVC, identity = "batch-user-0002" },
        { op = "fetch_entity", service_sid = SVC, identity = "batch-user-0001" },
        { op = "list_entity", service_sid = SVC, params = { page_size = 1 } },
        { op = "create_challenge", service_sid = SVC, identity = "batch-user-0001",
          params = { factor_sid = f.sid, details_message = "hi" } },
        { op = "list_challenge", service_sid = SVC, identity = "batch-user-0001" },
        { op = "fetch_challenge", service_sid = SVC, identity = "batch-user-0001", sid = YC },
        { op = "fetch_entity", service_sid = SVC, identity = "batch-user-0001", bogus = 1 },
        { op = "list_service" },
      }
      -- one at a time: the list must see the entity the first op creates
      local res = assert(client:batch(ops, { concurrency = 1 }))
      assert.equal(#ops, #res)
      assert.equal("batch-user-0002", res[1].ok.identity)
      assert.equal("twilio.verify.entity", getmetatable(res[2].ok).__name)
      assert.equal(2, #res[3].ok) -- every page gathered
      -- the factor was never verified: Twilio's 403 60318, like the sequential call
      assert.equal(60318, res[4].err.code)
      local _, seq = client:create_challenge(SVC, "batch-user-0001", { factor_sid = f.sid, details_message = "hi" })
      assert.equal(seq.code, res[4].err.code)
      assert.same({}, res[5].ok)
      assert.equal(404, res[6].err.status)
      assert.equal("invalid_argument", res[7].err.kind)
      assert.equal("bogus", res[7].err.param)
      assert.is_table(res[8].ok)
    end)
  end)
end)
