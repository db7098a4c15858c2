-- One vocabulary for the TOTP settings (issue 16, item 9): a factor's
-- `config` (alg, code_length, time_step, skew) and a totp.parse_uri record
-- are opts of totp.code / totp.check as they are; digits, step and period
-- are aliases; one setting under two names must have one value.
local verify = require "twilio.verify"
local fixture = require "support.fixture"
local totp = verify.totp

local SVC = "VA" .. string.rep("5a", 16)
local T = 1800000000 -- a fixed emulator clock
local SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

-- arg_error(param, [text,] ok, err)
local function arg_error(param, ...)
  local text, ok, err
  if type((...)) == "string" then text, ok, err = ... else ok, err = ... end
  assert.is_nil(ok)
  assert.is_table(err)
  assert.equal("invalid_argument", err.kind)
  assert.equal(param, err.param)
  if text then assert.truthy(err.message:find(text, 1, true), err.message) end
end

describe("TOTP option names", function()
  describe("against the emulator", function()
    local e, client
    local n = 0
    local function identity() n = n + 1; return string.format("totp-names-%04d", n) end

    fixture.emulator({ reset = false }, { max_retries = 0 }, function(em, c) e, client = em, c end)
    before_each(function() e:set_clock(T) end)
    after_each(function() e:set_clock(nil) end)

    local cases = {
      { name = "defaults" },
      { name = "sha256, 8 digits, 60 s", config_alg = "sha256", config_code_length = 8, config_time_step = 60 },
      { name = "sha512, 7 digits, 45 s, skew 0", config_alg = "sha512", config_code_length = 7,
        config_time_step = 45, config_skew = 0 },
    }
    for _, c in ipairs(cases) do
      it("a factor's config and its parse_uri record give the code it accepts (" .. c.name .. ")", function()
        local params = { friendly_name = c.name, factor_type = "totp" }
        for k, v in pairs(c) do if k ~= "name" then params[k] = v end end
        local id = identity()
        local f = assert(client:create_factor(SVC, id, params))
        local u = assert(totp.parse_uri(f.binding.uri))
        -- parse_uri answers the factor config's names too
        assert.same({ f.config.alg, f.config.code_length, f.config.time_step },
                    { u.alg, u.code_length, u.time_step })
        assert.same({ u.code_length, u.time_step }, { u.digits, u.period })

        local opts_cfg, opts_uri = {}, {}
        for k, v in pairs(f.config) do opts_cfg[k] = v end
        for k, v in pairs(u) do opts_uri[k] = v end
        opts_cfg.time, opts_uri.time = T, T
        local from_config = assert(totp.code(f.binding.secret, opts_cfg))
        local from_uri = assert(totp.code(u.secret, opts_uri))
        assert.equal(from_config, from_uri)
        assert.equal(f.config.code_length, #from_config)
        -- totp.check takes both as well
        assert.is_true((totp.check(f.binding.secret, from_config, opts_cfg)))
        assert.is_true((totp.check(u.secret, from_uri, opts_uri)))
        -- and the emulator accepts that code
        assert.is_true(client:verify_factor(SVC, id, f.sid, from_config))
        assert.equal("verified", assert(client:fetch_factor(SVC, id, f.sid)).status)
      end)
    end

    it("takes a parse_uri record and a factor config as they are (time = now)", function()
      e:set_clock(nil)
      local id = identity()
      local f = assert(client:create_factor(SVC, id, { friendly_name = "now", factor_type = "totp" }))
      local code = assert(totp.code(f.binding.secret, totp.parse_uri(f.binding.uri)))
      assert.equal(code, assert(totp.code(f.binding.secret, f.config)))
      assert.is_true((totp.check(f.binding.secret, code, f.config)))
      assert.is_true((totp.check(f.binding.secret, code, totp.parse_uri(f.binding.uri))))
    end)
  end)

  describe("aliases", function()
    it("digits = code_length, step = period = time_step", function()
      local want = totp.code(SECRET, { alg = "sha256", code_length = 8, time_step = 60, time = 1234567890 })
      assert.equal(8, #want)
      for _, o in ipairs{
        { alg = "sha256", digits = 8, step = 60 },
        { alg = "sha256", digits = 8, period = 60 },
        { alg = "sha256", code_length = 8, step = 60, digits = 8 },
        { alg = "sha256", code_length = 8, time_step = 60, step = 60, period = 60, digits = 8 },
      } do
        o.time = 1234567890
        assert.equal(want, totp.code(SECRET, o))
        assert.is_true((totp.check(SECRET, want, o)))
      end
    end)

    it("totp.uri takes the canonical names too, and round-trips through parse_uri", function()
      local a = totp.uri { account = "ann", secret = SECRET, alg = "sha512", code_length = 7, time_step = 45 }
      local b = totp.uri { account = "ann", secret = SECRET, alg = "sha512", digits = 7, period = 45 }
      assert.equal(b, a)
      local u = totp.parse_uri(a)
      assert.equal(a, totp.uri(u)) -- the record, with both sets of names, is a valid input
      -- a factor config merged into the URI options (skew is ignored)
      assert.equal(a, totp.uri { account = "ann", secret = SECRET, alg = "sha512", code_length = 7,
                                 time_step = 45, skew = 1 })
    end)

    -- which of the two keys is reported depends on the table's order: either,
    -- and the message names both
    local function conflict(a, b, ok, err)
      assert.is_nil(ok)
      assert.equal("invalid_argument", err.kind)
      assert.truthy(err.param == a or err.param == b, err.param)
      assert.truthy(err.message:find(a, 1, true) and err.message:find(b, 1, true), err.message)
      assert.truthy(err.message:find("conflicts with", 1, true), err.message)
    end

    it("a setting under two names with different values is an error naming both", function()
      conflict("code_length", "digits", totp.code(SECRET, { code_length = 6, digits = 8 }))
      conflict("time_step", "step", totp.code(SECRET, { time_step = 30, step = 60 }))
      conflict("time_step", "period", totp.check(SECRET, "123456", { time_step = 30, period = 20 }))
      conflict("step", "period", totp.code(SECRET, { step = 30, period = 60 }))
      conflict("code_length", "digits", totp.uri { account = "a", secret = SECRET, code_length = 6, digits = 7 })
      conflict("time_step", "period", totp.uri { account = "a", secret = SECRET, time_step = 30, period = 31 })
      -- a parse_uri record edited under one name only conflicts with its other name
      local u = totp.parse_uri(totp.uri { account = "a", secret = SECRET })
      u.code_length = 8
      conflict("code_length", "digits", totp.code(SECRET, u))
    end)

    it("checks every name's range and type, under its own name", function()
      arg_error("code_length", totp.code(SECRET, { code_length = 9 }))
      arg_error("digits", totp.code(SECRET, { digits = 2 }))
      arg_error("time_step", "between 20 and 60", totp.code(SECRET, { time_step = 61 }))
      arg_error("period", "between 20 and 60", totp.code(SECRET, { period = 10 }))
      arg_error("time_step", "between 1 and 3600", totp.uri { account = "a", secret = SECRET, time_step = 0 })
      arg_error("skew", totp.code(SECRET, { skew = 3 }))
      arg_error("issuer", totp.code(SECRET, { issuer = 1 }))
      arg_error("account", totp.check(SECRET, "123456", { account = {} }))
      arg_error("secret", totp.code(SECRET, { secret = false }))
      arg_error("time", "unknown option", totp.uri { account = "a", secret = SECRET, time = 1 })
      arg_error("digit", "unknown option 'digit'", totp.code(SECRET, { digit = 6 }))
      local _, err = totp.code(SECRET, { digit = 6 })
      assert.truthy(err.message:find("code_length (or digits)", 1, true), err.message)
    end)

    it("a parse_uri record's informational keys are ignored (its secret does not replace the argument)", function()
      local other = "JBSWY3DPEHPK3PXP"
      local u = totp.parse_uri(totp.uri { issuer = "Acme", account = "a", secret = other })
      u.time = 59
      assert.equal(totp.code(SECRET, { time = 59 }), totp.code(SECRET, u))
    end)
  end)
end)
