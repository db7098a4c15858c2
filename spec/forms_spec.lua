-- FetchForm (GET /v2/Forms/{FormType}): the row added to show that an
-- operation is one row of the data plus its behaviour in the emulator.
-- Everything else -- the client method, its validation, the object and its
-- tostring, the batch op, the CLI command, the reference, the route -- came
-- from the row.
local verify = require "twilio.verify"
local fixture = require "support.fixture"

describe("fetch_form", function()
  local e, client

  fixture.emulator({}, { max_retries = 0 }, function(em, c) e, client = em, c end)

  it("sends GET /v2/Forms/form-push and answers the push forms as JSON Schemas", function()
    e:clear_requests()
    local form = assert(client:fetch_form("form-push"))
    local req = e:last_request()
    assert.equal("GET", req.method)
    assert.equal("/v2/Forms/form-push", req.path)
    assert.equal("", req.query or "")
    assert.equal("form-push", form.form_type)
    assert.equal(e.base_url .. "/v2/Forms/form-push", form.url)
    assert.same({}, form.form_meta)
    -- the forms of a push factor's operations (doc/emulator.md)
    local f = form.forms
    assert.equal("object", f.create_factor.type)
    assert.equal("string", f.create_factor.properties["Binding.PublicKey"].type)
    assert.is_nil(f.create_factor.properties["Binding.Secret"]) -- TOTP only
    local req_keys = {}
    for _, k in ipairs(f.create_factor.required) do req_keys[k] = true end
    for _, k in ipairs { "FriendlyName", "FactorType", "Binding.Alg", "Binding.PublicKey", "Config.AppId",
                         "Config.NotificationPlatform", "Config.SdkVersion" } do
      assert.is_true(req_keys[k], k .. " is required for a push factor")
    end
    assert.same({ "AuthPayload" }, f.verify_factor.required)
    assert.equal("^YF[0-9a-fA-F]{32}$", f.create_challenge.properties.FactorSid.pattern)
    assert.equal("array", f.create_challenge.properties["Details.Fields"].type)
  end)

  it("is a Form object: tostring names it, form:fetch() refreshes it in place", function()
    local form = assert(client:fetch_form("form-push"))
    assert.equal("twilio.verify.form form-push", tostring(form))
    assert.equal(verify.Form, getmetatable(form).__index)
    form.forms = nil
    assert.equal(form, assert(form:fetch()))
    assert.is_table(form.forms)
  end)

  it("refuses a form type the description does not have, before any I/O", function()
    e:clear_requests()
    local v, err = client:fetch_form("form-sms")
    assert.is_nil(v)
    assert.equal("invalid_argument", err.kind)
    assert.equal("form_type", err.param)
    assert.matches("form_type must be one of: form-push", err.message, 1, true)
    assert.is_nil(e:last_request())
    v, err = client:fetch_form(42)
    assert.is_nil(v)
    assert.equal("form_type", err.param)
  end)

  it("the emulator refuses it too (400, 60200), and wants the credentials", function()
    local status, body = e:json("GET", "/v2/Forms/form-sms")
    assert.equal(400, status)
    assert.equal(60200, body.code)
    assert.equal("FormType", body.details.parameter)
    status = e:request("GET", "/v2/Forms/form-push", nil, { Authorization = false })
    assert.equal(401, status)
  end)

  it("runs in a batch, as a Form object", function()
    local results = assert(client:batch({ { op = "fetch_form", form_type = "form-push" } }))
    assert.equal("form-push", results[1].ok.form_type)
    assert.equal("twilio.verify.form form-push", tostring(results[1].ok))
    assert.same({}, verify.operations.fetch_form.params)
    assert.equal("form_type", verify.operations.fetch_form.id_key)
  end)

  it("has a CLI command made from the row: forms fetch", function()
    local env = ("TWILIO_VERIFY_BASE_URL=%s TWILIO_ACCOUNT_SID=%s TWILIO_AUTH_TOKEN=%s"):format(e.base_url,
      e.account_sid, e.auth_token)
    local function cli(args)
      -- the CLI finds the checkout's build itself (whatever Lua runs this spec)
      local p = assert(io.popen("env -u LUA_PATH -u LUA_CPATH " .. env .. " lua5.4 bin/twilio-verify " .. args
        .. " 2>&1; echo \"rc=$?\""))
      local out = p:read("a")
      p:close()
      return out
    end
    local out = cli("forms fetch form-push --json")
    assert.matches("rc=0", out, 1, true)
    assert.matches('"form_type":"form-push"', out, 1, true)
    e:clear_requests()
    out = cli("forms fetch form-sms")
    assert.is_nil(e:last_request())
    assert.matches("rc=2", out, 1, true) -- a usage error, nothing sent
    assert.matches("form_type must be one of: form-push", out, 1, true)
  end)
end)
