-- spec/emulator_oracle_spec.lua -- the emulator validates against the OpenAPI
-- description it carries (csrc/emulator/oapi_*.c): every operation of the
-- description is recognised, JSON bodies are checked, every refusal names its
-- rule, the rules are the documented ones (doc/emulator.md, "How requests
-- are validated"), and the description is inside the binary.
local cjson = require "cjson"
local emulator = require "support.emulator"
local fixture = require "support.fixture"
local process = require "support.process"
local function read(path) return (assert(process.read_file(path), path)) end

local SVC = "VA" .. string.rep("ab", 16)
local ID = "oracle-user-01"
local EXE = os.getenv("TV_EMULATOR") or "build/twilio-verify-emulator"


local function rules_of(cmd)
  local p = assert(io.popen(cmd))
  local out = {}
  for line in p:lines() do out[#out + 1] = cjson.decode(line) end
  local ok = p:close()
  return out, ok
end

describe("the emulator's oracle", function()
  local e
  fixture.emulator({ reset = false }, false, function(em) e = em end)

  local function refused(status, body, param, rule_part)
    assert.equal(400, status)
    assert.equal(60200, body.code)
    assert.is_table(body.details, "details")
    if param then assert.equal(param, body.details.parameter) end
    assert.is_string(body.details.rule)
    if rule_part then
      assert.is_truthy(body.details.rule:find(rule_part, 1, true), body.details.rule)
      assert.is_truthy(body.message:find(param or "", 1, true), body.message)
    end
  end

  it("routes every operation of the description to its row and handler", function()
    local oc = require "support.optable_check"
    local doc = oc.load("spec/fixtures/twilio_verify_v2.json")
    -- a value for every path parameter, by its schema (a SID pattern's prefix) or name
    local function value(name, schema)
      local pre = schema and schema.pattern and schema.pattern:match("^%^(%u%u)%[")
      if pre then return pre .. string.rep("0", 32) end
      return ({ Identity = ID, FormType = "form-push", Country = "US", PhoneNumber = "%2B15005550006",
                Sid = "VE" .. string.rep("0", 32) })[name] or "x"
    end
    local seen = {}
    for path, item in pairs(doc.paths) do
      for _, m in ipairs({ "get", "post", "delete" }) do
        local op = item[m]
        if op then
          local schemas = {}
          for _, p in ipairs(op.parameters or {}) do schemas[p.name] = p.schema end
          for _, p in ipairs(item.parameters or {}) do schemas[p.name] = p.schema end
          local url = path:gsub("{(%w+)}", function(k) return value(k, schemas[k]) end)
          local status, body = e:json(m:upper(), url, m == "post" and "" or nil)
          local unimplemented = type(body) == "table" and type(body.message) == "string"
            and body.message:find("not implemented by the emulator", 1, true)
          assert.is_falsy(unimplemented, op.operationId .. " " .. m:upper() .. " " .. url .. ": "
            .. tostring(body and body.message))
          seen[op.operationId] = status
        end
      end
    end
    local n = 0
    for _ in pairs(seen) do n = n + 1 end
    assert.equal(57, n, "every operation of the description")
    -- and each went to its own row of the table, by the emulator's counters
    local stats = e:stats()
    for _, row in ipairs(require("twilio.verify").operations) do
      assert.is_true(stats.operations[row.name].requests >= 1, row.name .. " (" .. row.openapi_id .. ") was routed")
    end
  end)

  it("validates every operation against the description, cites its rules", function()
    local status, body = e:json("GET", "/v2/Forms/form-pull")
    refused(status, body, "FormType", "schema: enum of form_enum_form_types")
    status, body = e:json("GET", "/v2/Attempts/Summary?Channel=fax")
    refused(status, body, "Channel", "verification_attempts_summary_enum_channels")
    status, body = e:json("GET", "/v2/Attempts/Summary?DateCreatedAfter=2024-02-30T00:00:00Z")
    refused(status, body, "DateCreatedAfter", "schema: format date-time")
    status, body = e:json("GET", "/v2/Attempts/Summary?Country=usa")
    refused(status, body, "Country", "schema: format iso-country-code")
    status, body = e:json("GET", "/v2/Attempts?ChannelData.To=5551234")
    refused(status, body, "ChannelData.To", 'description: "It is phone number in E.164 format"')
    status = e:json("GET", "/v2/Attempts/" .. "VL" .. string.rep("0", 32))
    assert.equal(404, status)
    local st405, _, h = e:json("POST", "/v2/Attempts/Summary", "")
    assert.equal(405, st405)
    assert.equal("GET", h.allow)
    status, body = e:json("POST", "/v2/Services/" .. SVC .. "/RateLimits", { { "Description", "x" } })
    refused(status, body, "UniqueName", "schema: required")
    local ve = "/v2/Services/" .. SVC .. "/Verifications"
    status = e:json("POST", ve, { { "To", "+15005550006" }, { "Channel", "sms" }, { "Tags", '{"a":1}' } })
    assert.equal(404, status, "valid (Tags is JSON), then the service is unknown")
    status, body = e:json("POST", ve, { { "To", "+15005550006" }, { "Channel", "sms" }, { "CustomCode", "123" } })
    refused(status, body, "CustomCode", 'description: "The code can be between 4 and 10 characters, inclusive"')
    status, body = e:json("POST", ve, { { "To", "5005550006" }, { "Channel", "sms" } })
    refused(status, body, "To", 'description: "The phone number or [email](https://www.twilio.com/docs/verify/email) to verify"')
    status, body = e:json("POST", ve, { { "To", "ann@example.com" }, { "Channel", "fax" } })
    refused(status, body, "Channel", "One of: [`email`](https://www.twilio.com/docs/verify/email), `sms`")
    status, body = e:json("POST", ve, { { "To", "+15005550006" }, { "Channel", "sms" }, { "DeviceIp", "1.2.3" } })
    refused(status, body, "DeviceIp", "IPv4 or IPv6")
    status, body = e:json("POST", ve, { { "To", "+15005550006" }, { "Channel", "sms" }, { "RateLimits", "[1]" } })
    refused(status, body, "RateLimits", "The custom key-value pairs of Programmable Rate Limits")
    status, body = e:json("POST", ve, { { "To", "a@example.com" }, { "Channel", "email" },
      { "ChannelConfiguration", '{"from":"not an address"}' } })
    refused(status, body, "ChannelConfiguration", "the 'from' field must have a valid email address")
    status, body = e:json("POST", "/v2/Services/" .. SVC .. "/MessagingConfigurations",
      { { "Country", "usa" }, { "MessagingServiceSid", "MG" .. string.rep("0", 32) } })
    refused(status, body, "Country", "ISO-3166-1")
    status, body = e:json("GET", "/v2/SafeList/Numbers/12345")
    refused(status, body, "PhoneNumber", "E.164 format")
  end)

  it("checks JSON bodies against their schema", function()
    local path = "/v2/Services/" .. SVC .. "/Passkeys/Factors"
    local json = { ["Content-Type"] = "application/json" }
    local status, body = e:json("POST", path, '{"friendly_name":"x"}', json)
    refused(status, body, "identity", "schema: required")
    status, body = e:json("POST", path, '{"friendly_name":"x","identity":"u","config":{"authenticator_attachment":"usb"}}',
      json)
    refused(status, body, "config.authenticator_attachment", "schema: enum")
    status, body = e:json("POST", path, '{"friendly_name":1,"identity":"u"}', json)
    refused(status, body, "friendly_name", "schema: type")
    status, body = e:json("POST", path, '{"friendly_name":"x",', json)
    refused(status, body, nil, "application/json")
    status, body = e:json("POST", path, "friendly_name=x&identity=u")
    refused(status, body, nil, "application/json")
    status, body = e:json("POST", path, '{"friendly_name":"x","identity":"user-0001","extra":true,'
      .. '"config":{"relying_party":{"id":"example.com","origins":["https://example.com"]}}}', json)
    assert.equal(400, status, "valid (members the schema does not list are allowed), then the handler's")
    assert.equal(60393, body.code) -- passkeys.c: no authenticator criteria (issue 21)
    status, body = e:json("POST", "/v2/Services/" .. SVC .. "/Passkeys/ApproveChallenge",
      '{"id":"a","rawId":"b","authenticatorAttachment":"platform","response":{"authenticatorData":"x"}}', json)
    refused(status, body, "response.clientDataJSON", "schema: required")
  end)

  it("cites the rule it applied; the operations' own errors have no details.rule", function()
    local factors = emulator.factors_path(SVC, ID)
    local status, body = e:json("POST", factors, { { "FriendlyName", "x" }, { "FactorType", "totp" },
      { "Config.Skew", "3" } })
    refused(status, body, "Config.Skew", 'description: "Must be between 0 and 2, inclusive"')
    assert.matches("must be between 0 and 2, got 3", body.message, 1, true)
    status, body = e:json("POST", factors, { { "FriendlyName", "x" }, { "FactorType", "totp" },
      { "Metadata", '{"os":7}' } })
    refused(status, body, "Metadata", "only strings values")
    status, body = e:json("POST", factors, { { "FriendlyName", "x" }, { "FactorType", "passkeys" } })
    refused(status, body, "FactorType", "emulator: passkeys factors are created with CreateNewFactorPasskey")
    status, body = e:json("POST", factors, { { "FriendlyName", "x" }, { "FactorType", "totp" }, { "Config.AppId", "a" } })
    assert.equal(400, status)
    assert.equal("Config.AppId", body.details.parameter)
    assert.is_nil(body.details.rule, "a push key on a TOTP factor is the operation's rule, not the description's")
    status, body = e:json("POST", "/v2/Services/" .. SVC .. "/AccessTokens", { { "Identity", "no" },
      { "FactorType", "push" } })
    refused(status, body, "Identity", "emulator: the token is for a factor of the Entity this Identity names")
    status, body = e:json("POST", factors, { { "FriendlyName", "x" }, { "FactorType", "totp" },
      { "Config.TimeStep", "99999999999999999999" } })
    refused(status, body, "Config.TimeStep", "emulator: integers are 64-bit")
    status, body = e:json("POST", factors, "FriendlyName=%C0%AF&FactorType=totp")
    refused(status, body, "FriendlyName", "UTF-8")
    -- a challenge's AuthPayload: the cases the description lists (TOTP 3-8, Push up to 5456)
    local ch = "/v2/Services/" .. SVC .. "/Entities/" .. ID .. "/Challenges/YC" .. string.rep("0", 32)
    status, body = e:json("POST", ch, { { "AuthPayload", string.rep("x", 5457) } })
    refused(status, body, "AuthPayload", '"For `Push` this value can be up to 5456 characters in length"')
    status = e:json("POST", ch, { { "AuthPayload", string.rep("x", 100) } })
    assert.equal(404, status, "valid for the Push case: the challenge is unknown")
  end)

  it("prints the documented rules (--oracle-rules), from the description inside the binary", function()
    local abs = EXE:sub(1, 1) == "/" and EXE or (os.getenv("PWD") .. "/" .. EXE)
    local list, ok = rules_of("cd / && " .. emulator.shell_quote(abs) .. " --oracle-rules")
    assert.is_true(ok)
    local doc = read("doc/emulator.md")
    local ops, checked = {}, 0
    for _, j in ipairs(list) do
      if j.operation and j.method then ops[j.operation] = true end
      for _, r in ipairs(j.rules or {}) do
        if r.origin ~= "schema" then
          -- the doc's row: | `Param` in | rule | operations | origin: cite |
          local rule = r.rule:gsub("|", "\\|") .. (r.applies_to and " (each value)" or "")
          local head = "| `" .. j.parameter .. "` " .. j["in"] .. " | " .. rule .. " |"
          local cite = r.origin .. ": " .. r.cite:gsub("|", "\\|")
          local row
          for line in doc:gmatch("[^\n]+") do
            if line:find(head, 1, true) and line:find(cite, 1, true) and line:find(j.operation, 1, true) then
              row = line
            end
          end
          assert.is_truthy(row, "doc/emulator.md lists " .. j.operation .. " " .. j.parameter .. ": " .. rule ..
            " (" .. cite .. ")")
          checked = checked + 1
        end
      end
    end
    local n = 0
    for _ in pairs(ops) do n = n + 1 end
    assert.equal(57, n, "every operation of the description")
    assert.is_true(checked >= 70, "prose and emulator rules: " .. checked)
  end)
end)
