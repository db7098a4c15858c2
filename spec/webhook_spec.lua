-- spec/webhook_spec.lua -- verify.webhook: X-Twilio-Signature checked against
-- the published test vectors of Twilio's official helper libraries, and
-- against what those helpers answer on awkward inputs (recorded by running
-- them: spec/fixtures/webhook/gen_vectors.py).
--
-- Published vectors (token "12345" unless said), copied from:
--   twilio-python tests/unit/test_request_validator.py  (commit 306691e7)
--   twilio-node   spec/validation.spec.js                (commit 45d3d65a)
--   twilio-go     client/request_validator_test.go       (commit d858acdc)
local verify = require "twilio.verify"
local webhook = require "twilio.verify.webhook"
local cjson = require "cjson"

local TOKEN = "12345"
local URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
local PARAMS = { -- python/node defaultParams
  CallSid = "CA1234567890ABCDE", Caller = "+14158675309", Digits = "1234",
  From = "+14158675309", To = "+18005551212",
}
local GO_PARAMS = { -- twilio-go `params`
  Digits = "1234", CallSid = "CA1234567890ABCDE", To = "+18005551212", Caller = "+14158675309",
  From = "+14158675309", ReasonConferenceEnded = "test", Reason = "Participant",
}
local BODY = '{"property": "value", "boolean": true}'
local BODY_HASH = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"

local function with_port(u, port) return (u:gsub("%.com", ".com:" .. port, 1)) end
local function http(u) return (u:gsub("^https", "http")) end

local function valid(...)
  local ok, why = webhook.validate(...)
  assert.is_true(ok, "expected valid, got: " .. tostring(why))
end
local function invalid(reason, ...)
  local ok, why = webhook.validate(...)
  assert.is_false(ok)
  assert.is_string(why)
  if reason then assert.are.equal(reason, why) end
end

describe("verify.webhook", function()
  it("is reachable as require('twilio.verify').webhook", function()
    assert.are.equal(webhook, verify.webhook)
    assert.is_function(verify.webhook.validate)
    assert.is_function(verify.webhook.validate_request)
  end)

  describe("published vectors: twilio-python test_request_validator.py", function()
    it("test_compute_signature", function()
      assert.are.equal("RSOYDt4T1cUTdK1PDd93/VVr8B8=", webhook.sign(TOKEN, URL, PARAMS))
    end)
    it("test_compute_hash_unicode", function()
      assert.are.equal(BODY_HASH, webhook.body_sha256(BODY))
    end)
    it("test_compute_signature_duplicate_multi_dict / _query_dict", function()
      local p = { Sid = "CA123", SidAccount = "AC123", Digits = { "5678", "1234", "1234" } }
      assert.are.equal("IK+Dwps556ElfBT0I3Rgjkr1wJU=", webhook.sign(TOKEN, URL, p))
      -- the same as a raw form body (QueryDict("Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234"))
      local body = "Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234"
      assert.are.equal("IK+Dwps556ElfBT0I3Rgjkr1wJU=", webhook.sign(TOKEN, URL, body))
      valid(TOKEN, URL, body, "IK+Dwps556ElfBT0I3Rgjkr1wJU=")
    end)
    it("test_validation", function() valid(TOKEN, URL, PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8=") end)
    it("test_validation_removes_port_on_https", function()
      valid(TOKEN, with_port(URL, 1234), PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    end)
    it("test_validation_removes_port_on_http", function()
      valid(TOKEN, http(with_port(URL, 1234)), PARAMS, "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=")
    end)
    it("test_validation_adds_port_on_https", function() valid(TOKEN, URL, PARAMS, "kvajT1Ptam85bY51eRf/AJRuM3w=") end)
    it("test_validation_adds_port_on_http", function() valid(TOKEN, http(URL), PARAMS, "0ZXoZLH/DfblKGATFgpif+LLRf4=") end)
    it("test_validation_of_body_succeeds", function()
      valid(TOKEN, URL .. "&bodySHA256=" .. BODY_HASH, BODY, "a9nBmqA0ju/hNViExpshrM61xv4=")
    end)
  end)

  describe("published vectors: twilio-node spec/validation.spec.js", function()
    it("should succeed with the correct signature / fail when given the wrong signature", function()
      valid(TOKEN, URL, PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
      invalid("signature mismatch", TOKEN, URL, PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8")
    end)
    it("should validate request body when given / when empty", function()
      valid(TOKEN, URL .. "&bodySHA256=" .. BODY_HASH, BODY, "a9nBmqA0ju/hNViExpshrM61xv4=")
      local empty = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
      assert.are.equal(empty, webhook.body_sha256("{}"))
      valid(TOKEN, URL .. "&bodySHA256=" .. empty, "{}", "Ldidvp12m26NI7eqEvxnEpkd9Hc=")
    end)
    it("should validate request body with only sha param", function()
      valid(TOKEN, "https://mycompany.com/myapp.php?bodySHA256=" .. BODY_HASH, BODY, "y77kIzt2vzLz71DgmJGsen2scGs=")
    end)
    it("should fail validation if given body but no bodySHA256 param", function()
      invalid(nil, TOKEN, URL, BODY, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    end)
    it("should fail when signature undefined", function()
      invalid("missing signature", TOKEN, URL, PARAMS, nil)
      invalid("missing signature", TOKEN, URL, PARAMS, "")
    end)
    it("should validate https/http urls with ports, and without by adding 443 / 80", function()
      valid(TOKEN, with_port(URL, 1234), PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
      valid(TOKEN, http(with_port(URL, 1234)), PARAMS, "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=")
      valid(TOKEN, URL, PARAMS, "kvajT1Ptam85bY51eRf/AJRuM3w=")
      valid(TOKEN, http(URL), PARAMS, "0ZXoZLH/DfblKGATFgpif+LLRf4=")
    end)
    it("should validate urls with credentials / just username / credentials by adding port", function()
      valid(TOKEN, "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2", PARAMS, "CukzLTc1tT5dXEDIHm/tKBanW10=")
      valid(TOKEN, "https://user@mycompany.com/myapp.php?foo=1&bar=2", PARAMS, "2YRLlVAflCqxaNicjMpJcSTgzSs=")
      valid(TOKEN, "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2", PARAMS, "ZQFR1PTIZXF2MXB8ZnKCvnnA+rI=")
    end)
    it("should validate urls with special characters", function()
      valid(TOKEN, URL .. "&Body=It's+amazing", PARAMS, "TfZzewPq8wqrGlMfyAud8+/IvJ0=")
    end)
    it("should validate request body with an array parameter (in any order)", function()
      valid(TOKEN, URL, { ["MessagingBinding.Address"] = { "+1325xxxxxxx", "+1415xxxxxxx" } },
        "83O6e2vORAoJHUNzJjDWN1jz+BA=")
      valid(TOKEN, URL, { ["MessagingBinding.Address"] = { "+1415xxxxxxx", "+1325xxxxxxx" } },
        "83O6e2vORAoJHUNzJjDWN1jz+BA=")
    end)
    it("should validate request body with multiple params and values", function()
      valid(TOKEN, URL, { Sid = "CA123", SidAccount = "AC123", Digits = { "5678", "1234", "1234" } },
        "IK+Dwps556ElfBT0I3Rgjkr1wJU=")
    end)
  end)

  describe("published vectors: twilio-node spec/unit/webhooks/webhooks.spec.js (token s3cr3t)", function()
    local T = "s3cr3t"
    it("a signature over another URL is rejected", function()
      invalid(nil, T, "https://example.com/path?test=param2", {},
        webhook.sign(T, "https://example.com/path?test=param", {}))
    end)
    it("port or no port on either side", function()
      for _, signed in ipairs { "https://example.com:443/path?test=param", "https://example.com/path?test=param" } do
        for _, target in ipairs { "https://example.com:443/path?test=param", "https://example.com/path?test=param" } do
          valid(T, target, {}, webhook.sign(T, signed, {}))
        end
      end
    end)
    it("a single quote in the query, escaped or not, on either side", function()
      for _, signed in ipairs { "https://example.com/path?test=param'WithQuote",
        "https://example.com/path?test=param%27WithQuote" } do
        for _, target in ipairs { "https://example.com/path?test=param'WithQuote",
          "https://example.com/path?test=param%27WithQuote" } do
          -- node's validateRequest tries the WHATWG form ("%27") and the legacy
          -- querystring form ("'") of the target: all four pass
          valid(T, target, {}, webhook.sign(T, signed, {}))
        end
      end
    end)
  end)

  describe("published vectors: twilio-go client/request_validator_test.go", function()
    it("TestRequestValidator_Validate", function()
      valid(TOKEN, URL, GO_PARAMS, "vOEb5UThFn24KEfnOFLQY2AE5FY=")
      invalid("signature mismatch", TOKEN, URL, GO_PARAMS, "WRONG SIGNATURE")
      valid(TOKEN, with_port(URL, 1234), GO_PARAMS, "vOEb5UThFn24KEfnOFLQY2AE5FY=")
      valid(TOKEN, http(URL), GO_PARAMS, "n2xBNyzSW7rfYStDtOFiFMv7qNo=")
      valid(TOKEN, http(with_port(URL, 1234)), GO_PARAMS, "n2xBNyzSW7rfYStDtOFiFMv7qNo=")
      -- "return false when params are sorted incorrectly": ReasonConferenceEnded before Reason
      invalid("signature mismatch", TOKEN, URL, GO_PARAMS, "95+Bu0JVPi0r/SsESZCVf0dWAjw=")
    end)
    it("TestRequestValidator_ValidateBody", function()
      valid(TOKEN, URL .. "&bodySHA256=" .. BODY_HASH, BODY, "a9nBmqA0ju/hNViExpshrM61xv4=")
      valid(TOKEN, URL, "property=value&boolean=true", "NBdBDr/T/lgjI+tlgpXjKZQZs/k=")
      invalid(nil, TOKEN, URL, BODY, "vOEb5UThFn24KEfnOFLQY2AE5FY=")
      valid(TOKEN, "https://mycompany.com/myapp.php?bodySHA256=" .. BODY_HASH, BODY, "y77kIzt2vzLz71DgmJGsen2scGs=")
    end)
  end)

  describe("agrees with twilio-python and twilio-node on awkward inputs (spec/fixtures/webhook/vectors.json)", function()
    local f = assert(io.open("spec/fixtures/webhook/vectors.json", "rb"))
    local vectors = cjson.decode(f:read("*a"))
    f:close()
    it("has the cases", function() assert.is_true(#vectors >= 30) end)
    for _, v in ipairs(vectors) do
      it(v.name, function()
        local p = v.body
        if not p then
          p = {}
          for _, kv in ipairs(v.params) do
            local k, val = kv[1], kv[2]
            if p[k] == nil then p[k] = val
            elseif type(p[k]) == "table" then p[k][#p[k] + 1] = val
            else p[k] = { p[k], val } end
          end
        end
        -- both helpers compute the same signature, and so do we
        assert.are.equal(v.py_sig, v.node_sig)
        assert.are.equal(v.py_sig, webhook.sign(v.token, v.signed_url, p))
        -- we accept exactly what one of them accepts
        local ok = webhook.validate(v.token, v.url, p, v.py_sig)
        assert.are.equal(v.py_valid or v.node_valid, ok)
        -- the body as a raw form gives the same answer as the table
        if not v.body and #v.params > 0 then
          local parts = {}
          for _, kv in ipairs(v.params) do
            parts[#parts + 1] = (kv[1]:gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
              .. "=" .. (kv[2]:gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
          end
          assert.are.equal(ok, (webhook.validate(v.token, v.url, table.concat(parts, "&"), v.py_sig)))
        end
      end)
    end
  end)

  describe("changed after signing", function()
    local sig = webhook.sign(TOKEN, URL, PARAMS)
    it("a parameter value", function()
      local p = {}
      for k, v in pairs(PARAMS) do p[k] = v end
      p.Digits = "1235"
      invalid("signature mismatch", TOKEN, URL, p, sig)
    end)
    it("a parameter added or removed", function()
      local p = { Extra = "" }
      for k, v in pairs(PARAMS) do p[k] = v end
      invalid("signature mismatch", TOKEN, URL, p, sig)
      p.Extra, p.To = nil, nil
      invalid("signature mismatch", TOKEN, URL, p, sig)
    end)
    it("the URL: path, query, scheme, host, another non-default port", function()
      invalid(nil, TOKEN, URL:gsub("myapp", "myApp"), PARAMS, sig)
      invalid(nil, TOKEN, URL .. "&x=1", PARAMS, sig)
      invalid(nil, TOKEN, http(URL), PARAMS, sig)
      invalid(nil, TOKEN, URL:gsub("mycompany", "evil"), PARAMS, sig)
      local s8443 = webhook.sign(TOKEN, with_port(URL, 8443), PARAMS)
      valid(TOKEN, with_port(URL, 8443), PARAMS, s8443)
      invalid(nil, TOKEN, with_port(URL, 9443), PARAMS, s8443)
    end)
    it("a JSON body (bodySHA256 mismatch)", function()
      local u = URL .. "&bodySHA256=" .. BODY_HASH
      local s = webhook.sign(TOKEN, u, BODY)
      valid(TOKEN, u, BODY, s)
      invalid("bodySHA256 does not match the body", TOKEN, u, BODY .. " ", s)
      invalid("bodySHA256 does not match the body", TOKEN, u, "", s)
      -- no body at all: the hash vouches for nothing (issue 23 item 7; twilio-python says true)
      invalid("the URL has a bodySHA256 but no body was given", TOKEN, u, nil, s)
      invalid("the URL has a bodySHA256 but no body was given", TOKEN, u, {}, s)
      invalid("the URL has a bodySHA256 but no body was given", TOKEN, u, { property = "value" }, s)
      -- the hash in the URL changed to match a forged body: the URL signature fails
      local forged = '{"property": "evil"}'
      invalid("signature mismatch (the URL, with its bodySHA256, was not signed with this token)", TOKEN,
        URL .. "&bodySHA256=" .. webhook.body_sha256(forged), forged, s)
      -- upper-case hex is not what Twilio sends (the helpers compare exactly)
      invalid(nil, TOKEN, URL .. "&bodySHA256=" .. BODY_HASH:upper(), BODY,
        webhook.sign(TOKEN, URL .. "&bodySHA256=" .. BODY_HASH:upper(), BODY))
    end)
    it("a wrong token", function()
      invalid("signature mismatch", "54321", URL, PARAMS, sig)
      invalid(nil, "1234", URL, PARAMS, sig)
    end)
    it("a signature with trailing garbage, or truncated", function()
      invalid(nil, TOKEN, URL, PARAMS, sig .. " ")
      invalid(nil, TOKEN, URL, PARAMS, sig:sub(1, 27))
      invalid(nil, TOKEN, URL, PARAMS, sig:lower())
    end)
  end)

  describe("form bodies", function()
    local U = "https://example.com/hook"
    local function same(body, params)
      assert.are.equal(webhook.sign(TOKEN, U, params), webhook.sign(TOKEN, U, body))
    end
    it("decodes %XX (either case) and '+' as a space", function()
      same("Body=caf%C3%A9+%e2%98%95", { Body = "café ☕" })
      same("a%20b=c+d", { ["a b"] = "c d" })
    end)
    it("keeps repeated keys, empty values, keys without '=', an empty key", function()
      same("A=1&A=2&A=1", { A = { "2", "1" } })
      same("A=&B", { A = "", B = "" })
      same("=x&A=1", { [""] = "x", A = "1" })
      same("&&A=1&", { A = "1" })
    end)
    it("keeps a bad escape as it is; ';' is an ordinary character", function()
      same("A=%zz&B=%4", { A = "%zz", B = "%4" })
      same("A=1;B=2", { A = "1;B=2" })
    end)
    it("takes the first '=' as the separator", function()
      same("A=b=c", { A = "b=c" })
    end)
    it("no body and no parameters are the same", function()
      assert.are.equal(webhook.sign(TOKEN, U, {}), webhook.sign(TOKEN, U, ""))
      assert.are.equal(webhook.sign(TOKEN, U, nil), webhook.sign(TOKEN, U, ""))
    end)
    it("an empty bodySHA256 means a form body (as python's parse_qs and go's Query().Get see it)", function()
      local u = U .. "?bodySHA256="
      assert.are.equal(webhook.sign(TOKEN, u, { A = "1" }), webhook.sign(TOKEN, u, "A=1"))
    end)
  end)

  describe("argument errors raise, naming the parameter, never showing the token", function()
    local SECRET = "tok-s3cr3t-DO-NOT-PRINT"
    local function raises(pattern, fn, ...)
      local ok, err = pcall(fn, ...)
      assert.is_false(ok)
      err = tostring(err)
      assert.is_truthy(err:find(pattern, 1, true), "expected '" .. pattern .. "' in: " .. err)
      assert.is_nil(err:find(SECRET, 1, true))
    end
    it("point at the caller's line", function()
      local ok, err = pcall(function() local r = webhook.validate(SECRET, URL, { A = 1 }, "x"); return r end)
      assert.is_false(ok)
      assert.is_truthy(tostring(err):find("webhook_spec.lua:%d+: twilio.verify.webhook.validate"), tostring(err))
    end)
    it("validate", function()
      raises("auth_token must be a string (got nil)", webhook.validate, nil, URL, {}, "x")
      raises("auth_token must not be empty", webhook.validate, "", URL, {}, "x")
      raises("url must be a string (got number)", webhook.validate, SECRET, 42, {}, "x")
      raises("url must not be empty", webhook.validate, SECRET, "", {}, "x")
      raises("params_or_body must be a table of form parameters or a body string (got boolean)",
        webhook.validate, SECRET, URL, true, "x")
      raises('params_or_body["A"] must be a string or an array of strings (got number)',
        webhook.validate, SECRET, URL, { A = 1 }, "x")
      raises('params_or_body["A"][2] must be a string (got boolean)', webhook.validate, SECRET, URL,
        { A = { "x", false } }, "x")
      raises("params_or_body keys must be strings (got number)", webhook.validate, SECRET, URL, { "x" }, "x")
      raises("signature must be a string or nil (got table)", webhook.validate, SECRET, URL, {}, {})
    end)
    it("sign and body_sha256", function()
      raises("auth_token must be a string (got nil)", webhook.sign, nil, URL, {})
      raises("url must be a string (got nil)", webhook.sign, SECRET, nil, {})
      raises("body must be a string (got nil)", webhook.body_sha256, nil)
    end)
    it("validate_request outside nginx, and bad options", function()
      raises("auth_token must be a string", webhook.validate_request, nil)
      raises("opts must be a table (got string)", webhook.validate_request, SECRET, "https://x")
      raises("unknown option 'host'", webhook.validate_request, SECRET, { host = "x" })
      raises("opts.url must not be empty", webhook.validate_request, SECRET, { url = "" })
      -- the URL must be pinned: a Host header is the client's to choose (issue 23 item 6)
      raises("pass opts.url (the URL you registered with Twilio) or opts.hosts", webhook.validate_request, SECRET)
      raises("pass opts.url (the URL you registered with Twilio) or opts.hosts", webhook.validate_request, SECRET, {})
      raises("opts.hosts must be a non-empty array", webhook.validate_request, SECRET, { hosts = {} })
      raises("opts.hosts must be a non-empty array", webhook.validate_request, SECRET, { hosts = "x" })
      raises("opts.hosts[2] must be a non-empty string", webhook.validate_request, SECRET, { hosts = { "a", "" } })
      raises("give opts.url or opts.hosts, not both", webhook.validate_request, SECRET, { url = URL, hosts = { "a" } })
      if not rawget(_G, "ngx") then
        raises("only inside OpenResty", webhook.validate_request, SECRET, { url = URL })
        raises("only inside OpenResty", webhook.validate_request, SECRET, { hosts = { "example.com" } })
      end
    end)
    it("the core functions check too (no token in their errors either)", function()
      local core = require("twilio.verify.core").webhook
      local ok, err = pcall(core.validate, SECRET, nil, {}, "x")
      assert.is_false(ok)
      assert.is_truthy(tostring(err):find("url must be a string", 1, true))
      ok, err = pcall(core.sign, SECRET, URL, { A = { 1 } })
      assert.is_false(ok)
      assert.is_truthy(tostring(err):find('params_or_body["A"][1] must be a string', 1, true))
      assert.is_nil(tostring(err):find(SECRET, 1, true))
    end)
    it("reasons never contain the token", function()
      for _, sig in ipairs { "x", SECRET, webhook.sign(SECRET, URL, {}) .. "x" } do
        local ok, why = webhook.validate(SECRET, URL, {}, sig)
        assert.is_false(ok)
        assert.is_nil(why:find(SECRET, 1, true))
      end
    end)
  end)

  -- bin/twilio-verify webhook validate, as a process (a Lua 5.4 script that
  -- finds lua/ and build/ next to itself; skipped without the 5.4 build)
  local has_cli = io.open("build/twilio/verify/core.so") ~= nil
  describe("the CLI: twilio-verify webhook validate", function()
    local function shq(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
    local function cli(args, token, stdin)
      local parts = { "env -u LUA_PATH -u LUA_CPATH -u TWILIO_AUTH_TOKEN" }
      if token then parts[#parts + 1] = shq("TWILIO_AUTH_TOKEN=" .. token) end
      parts[#parts + 1] = "bin/twilio-verify webhook validate"
      for _, a in ipairs(args) do parts[#parts + 1] = shq(a) end
      local inf = os.tmpname()
      local f = assert(io.open(inf, "wb"))
      f:write(stdin or "")
      f:close()
      local rcf = os.tmpname()
      local p = assert(io.popen(table.concat(parts, " ") .. " <" .. shq(inf) .. " 2>&1; echo $? >" .. shq(rcf)))
      local out = p:read("*a")
      p:close()
      local rf = assert(io.open(rcf))
      local code = tonumber(rf:read("*a"):match("%d+"))
      rf:close()
      os.remove(inf)
      os.remove(rcf)
      return code, out
    end
    it("exit 0 'valid' for the published vectors (params, form body on stdin, JSON body)", function()
      if not has_cli then return end
      local code, out = cli({ "--url", URL, "--signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
        "--param", "CallSid=CA1234567890ABCDE", "--param", "Caller=+14158675309", "--param", "Digits=1234",
        "--param", "From=+14158675309", "--param", "To=+18005551212" }, TOKEN)
      assert.are.equal(0, code, out)
      assert.are.equal("valid\n", out)
      code, out = cli({ "--url", URL, "--signature", "IK+Dwps556ElfBT0I3Rgjkr1wJU=", "--param", "Sid=CA123",
        "--param", "SidAccount=AC123", "--param", "Digits=5678", "--param", "Digits=1234" }, TOKEN)
      assert.are.equal(0, code, out)
      code, out = cli({ "--url", URL, "--signature", "IK+Dwps556ElfBT0I3Rgjkr1wJU=", "--body", "-" }, TOKEN,
        "Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234")
      assert.are.equal(0, code, out)
      local bodyf = os.tmpname()
      local f = assert(io.open(bodyf, "wb"))
      f:write(BODY)
      f:close()
      code, out = cli({ "--url", URL .. "&bodySHA256=" .. BODY_HASH, "--signature", "a9nBmqA0ju/hNViExpshrM61xv4=",
        "--body", bodyf }, TOKEN)
      os.remove(bodyf)
      assert.are.equal(0, code, out)
    end)
    it("exit 1 with a one-line reason when invalid (and --json)", function()
      if not has_cli then return end
      local code, out = cli({ "--url", URL, "--signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8=" }, TOKEN)
      assert.are.equal(1, code)
      assert.are.equal("invalid: signature mismatch\n", out)
      code, out = cli({ "--url", URL .. "&bodySHA256=" .. BODY_HASH, "--signature", "a9nBmqA0ju/hNViExpshrM61xv4=",
        "--body", "-", "--json" }, TOKEN, BODY .. "x")
      assert.are.equal(1, code)
      assert.are.same({ valid = false, reason = "bodySHA256 does not match the body" }, cjson.decode(out))
    end)
    it("exit 2 on usage errors; the token never printed", function()
      if not has_cli then return end
      local secret = "cli-s3cr3t-token"
      for _, case in ipairs {
        { {}, "--url is required" },
        { { "--url", URL }, "--signature is required" },
        { { "--url", URL, "--signature", "x", "--param", "novalue" }, "--param takes KEY=VALUE" },
        { { "--url", URL, "--signature", "x", "--body", "/nonexistent/body" }, "cannot read --body" },
        { { "--url", URL, "--signature", "x", "--body", "-", "--param", "a=b" }, "do not go together" },
      } do
        local code, out = cli(case[1], secret)
        assert.are.equal(2, code, out)
        assert.is_truthy(out:find(case[2], 1, true), out)
        assert.is_nil(out:find(secret, 1, true))
      end
      local code, out = cli({ "--url", URL, "--signature", "x" }, nil)
      assert.are.equal(2, code)
      assert.is_truthy(out:find("TWILIO_AUTH_TOKEN is not set", 1, true))
      code, out = cli({ "--url", URL, "--signature", "x" }, secret)
      assert.are.equal(1, code)
      assert.is_nil(out:find(secret, 1, true))
    end)
  end)
end)
