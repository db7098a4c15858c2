-- spec/totp_spec.lua -- verify.totp: RFC 6238 vectors, 1,200 random cases
-- against oathtool(1), the check window, otpauth:// URIs, and argument errors.
local verify = require "twilio.verify"
local totp = verify.totp

local ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

-- Independent Base32 encoder (RFC 4648, no padding) for the test data.
local function b32(bytes)
  local out, acc, bits = {}, 0, 0
  for i = 1, #bytes do
    acc = (acc * 256 + bytes:byte(i)) % 65536 -- arithmetic, not bit operators: runs on 5.1/LuaJIT too
    bits = bits + 8
    while bits >= 5 do
      bits = bits - 5
      local v = math.floor(acc / 2 ^ bits) % 32
      out[#out + 1] = ALPHABET:sub(v + 1, v + 1)
    end
  end
  if bits > 0 then
    local v = math.floor(acc * 2 ^ (5 - bits)) % 32
    out[#out + 1] = ALPHABET:sub(v + 1, v + 1)
  end
  return table.concat(out)
end

local SEED20 = "12345678901234567890"
local SEED32 = "12345678901234567890123456789012"
local SEED64 = "1234567890123456789012345678901234567890123456789012345678901234"

local function expect_arg_error(param, ok, err)
  assert.is_nil(ok)
  assert.is_table(err)
  assert.are.equal("invalid_argument", err.kind)
  assert.are.equal(param, err.param)
  assert.is_truthy(tostring(err.message):find(param, 1, true),
    "message should name " .. param .. ": " .. tostring(err.message))
end

describe("verify.totp", function()
  it("has the four functions", function()
    assert.is_table(totp)
    for _, name in ipairs { "code", "check", "uri", "parse_uri" } do
      assert.is_function(totp[name], name)
    end
  end)

  describe("RFC 6238 Appendix B", function()
    local seeds = { sha1 = b32(SEED20), sha256 = b32(SEED32), sha512 = b32(SEED64) }
    local vectors = {
      { 59, "94287082", "46119246", "90693936" },
      { 1111111109, "07081804", "68084774", "25091201" },
      { 1111111111, "14050471", "67062674", "99943326" },
      { 1234567890, "89005924", "91819424", "93441116" },
      { 2000000000, "69279037", "90698825", "38618901" },
      { 20000000000, "65353130", "77737706", "47863826" },
    }
    for _, v in ipairs(vectors) do
      for i, alg in ipairs { "sha1", "sha256", "sha512" } do
        local want = v[i + 1]
        it(alg .. " at " .. v[1], function()
          local opts = { alg = alg, digits = 8, step = 30, time = v[1] }
          assert.are.equal(want, totp.code(seeds[alg], opts))
          local ok, off = totp.check(seeds[alg], want, { alg = alg, digits = 8, time = v[1] })
          assert.is_true(ok)
          assert.are.equal(0, off)
        end)
      end
    end

    it("encodes the seeds as oathtool's documentation does", function()
      assert.are.equal("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", b32(SEED20))
    end)
  end)

  describe("defaults", function()
    local secret = b32(SEED20)
    it("are sha1, 6 digits, 30 s steps", function()
      assert.are.equal("287082", totp.code(secret, { time = 59 }))
      assert.are.equal(totp.code(secret, { alg = "sha1", digits = 6, step = 30, time = 59 }),
        totp.code(secret, { time = 59 }))
    end)
    it("use the current time", function()
      local before = os.time()
      local c = totp.code(secret)
      local after = os.time()
      assert.is_truthy(c == totp.code(secret, { time = before }) or c == totp.code(secret, { time = after }))
      assert.is_true((totp.check(secret, c)))
    end)
    it("accept lower case, spaces, dashes and padding in the secret", function()
      assert.are.equal("287082", totp.code("gezd gnbv-gy3t\tqojq gezd gnbv gy3t qojq====", { time = 59 }))
    end)
    it("accept 3..8 digits and steps 20..60", function()
      assert.are.equal("082", totp.code(secret, { time = 59, digits = 3 }))
      assert.is_string(totp.code(secret, { step = 20 }))
      assert.is_string(totp.code(secret, { step = 60 }))
      assert.are.equal(7, #totp.code(secret, { digits = 7 }))
    end)
  end)

  describe("against oathtool", function()
    local OATHTOOL = "/usr/bin/oathtool"
    local have = io.open(OATHTOOL, "r")
    if have then have:close() end

    it("agrees on 1,200 random cases", function()
      -- a real failure, not a skip: make test installs oathtool (.ci/deps)
      assert(have, "oathtool is required: apt-get install oathtool")
      local seed = tonumber(os.getenv("TOTP_SPEC_SEED") or "") or os.time()
      math.randomseed(seed)
      local algs = { "sha1", "sha256", "sha512" }
      local cases, lines = {}, {}
      for i = 1, 1200 do
        local n = math.random(1, 64)
        local bytes = {}
        for j = 1, n do bytes[j] = string.char(math.random(0, 255)) end
        local c = {
          secret = b32(table.concat(bytes)),
          alg = algs[math.random(1, 3)],
          digits = math.random(6, 8),
          step = math.random(20, 60),
          -- mostly now-ish times, some near the epoch, some far future
          time = (i % 10 == 0) and math.random(0, 600)
            or (i % 10 == 1) and math.random(0, 2 ^ 34)
            or math.random(1500000000, 2200000000),
        }
        cases[i] = c
        lines[i] = string.format("%s --totp=%s --base32 --digits=%d --time-step-size=%ds --now=@%d %s || echo FAIL",
          OATHTOOL, c.alg:upper(), c.digits, c.step, c.time, c.secret)
      end
      local script = os.tmpname()
      local f = assert(io.open(script, "w"))
      f:write(table.concat(lines, "\n"), "\n")
      f:close()
      local p = assert(io.popen("sh " .. script, "r"))
      local got = {}
      for line in p:lines() do got[#got + 1] = line end
      p:close()
      os.remove(script)

      assert.are.equal(#cases, #got)
      local mismatches = {}
      for i, c in ipairs(cases) do
        local mine = totp.code(c.secret, { alg = c.alg, digits = c.digits, step = c.step, time = c.time })
        if mine ~= got[i] then
          mismatches[#mismatches + 1] = string.format("seed %d case %d: %s %s d=%d s=%d t=%d: %s vs oathtool %s",
            seed, i, c.secret, c.alg, c.digits, c.step, c.time, tostring(mine), tostring(got[i]))
        elseif i % 4 == 0 then
          -- oathtool's code also checks, at offset 0
          local ok, off = totp.check(c.secret:lower(), got[i],
            { alg = c.alg, digits = c.digits, step = c.step, time = c.time, skew = 0 })
          if not ok or off ~= 0 then
            mismatches[#mismatches + 1] = "check failed for case " .. i
          end
        end
      end
      assert.are.same({}, mismatches)
    end)
  end)

  describe("check", function()
    local secret = b32(SEED20)
    local t = 1234567890
    it("reports the offset of the matching step", function()
      for d = -2, 2 do
        local c = totp.code(secret, { time = t + 30 * d })
        local ok, off = totp.check(secret, c, { time = t, skew = 2 })
        assert.is_true(ok)
        assert.are.equal(d, off)
        assert.is_true(math.type == nil or math.type(off) == "integer") -- no math.type before 5.3
        ok, off = totp.check(secret, c, { time = t }) -- skew 1 by default
        if d >= -1 and d <= 1 then
          assert.is_true(ok)
          assert.are.equal(d, off)
        else
          assert.is_false(ok)
          assert.is_nil(off)
        end
        ok = totp.check(secret, c, { time = t, skew = 0 })
        assert.are.equal(d == 0, ok)
      end
    end)
    it("rejects a code three steps away and a wrong code", function()
      assert.is_false(totp.check(secret, totp.code(secret, { time = t + 90 }), { time = t, skew = 2 }))
      local c = totp.code(secret, { time = t })
      local wrong = c:sub(1, 5) .. tostring((tonumber(c:sub(6)) + 1) % 10)
      assert.is_false(totp.check(secret, wrong, { time = t }))
    end)
    it("honours alg, digits and step", function()
      local s512 = b32(SEED64)
      local c = totp.code(s512, { alg = "sha512", digits = 7, step = 45, time = t })
      local ok, off = totp.check(s512, c, { alg = "sha512", digits = 7, step = 45, time = t + 45 })
      assert.is_true(ok)
      assert.are.equal(-1, off)
      assert.is_false(totp.check(s512, c, { alg = "sha256", digits = 7, step = 45, time = t }))
    end)
  end)

  describe("otpauth URIs", function()
    local example = "otpauth://totp/test-issuer:John%E2%80%99s%20Account%20Name"
      .. "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=test-issuer&algorithm=SHA1&digits=6&period=30"

    it("parses the OpenAPI example", function()
      assert.are.same({
        issuer = "test-issuer", account = "John\u{2019}s Account Name",
        secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", alg = "sha1", digits = 6, period = 30,
        code_length = 6, time_step = 30, -- the canonical names, beside the URI's
      }, totp.parse_uri(example))
    end)

    it("builds the OpenAPI example byte for byte", function()
      assert.are.equal(example, totp.uri {
        issuer = "test-issuer", account = "John\u{2019}s Account Name",
        secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", alg = "sha1", digits = 6, period = 30,
      })
    end)

    it("round-trips reserved and non-ASCII characters", function()
      local cases = {
        { issuer = "Acme & Co: 100%", account = "alice+tag@example.com/?#=", alg = "sha512", digits = 8, period = 60 },
        { issuer = "Zoë's Café", account = "名前 user", alg = "sha256", digits = 7, period = 20 },
        { issuer = "a b", account = " leading?", alg = "sha1", digits = 6, period = 30 },
      }
      for _, c in ipairs(cases) do
        c.secret = b32(SEED20)
        local uri = totp.uri(c)
        assert.is_truthy(uri:match("^otpauth://totp/[%w%-%._~%%]+:[%w%-%._~%%]+%?secret="), uri)
        local back = totp.parse_uri(uri)
        if c.account:sub(1, 1) == " " then c.account = c.account:gsub("^ +", "") end
        c.code_length, c.time_step = c.digits, c.period
        assert.are.same(c, back)
        -- and the parsed record computes the same code
        assert.are.equal(totp.code(c.secret, { alg = c.alg, digits = c.digits, step = c.period, time = 1000000000 }),
          totp.code(back.secret, { alg = back.alg, digits = back.digits, step = back.period, time = 1000000000 }))
      end
    end)

    it("defaults alg/digits/period and leaves out a missing issuer", function()
      local uri = totp.uri { account = "bob", secret = "mzxw 6ytb oi" }
      assert.are.equal("otpauth://totp/bob?secret=MZXW6YTBOI&algorithm=SHA1&digits=6&period=30", uri)
      assert.are.same({ account = "bob", secret = "MZXW6YTBOI", alg = "sha1", digits = 6, period = 30,
                        code_length = 6, time_step = 30 }, totp.parse_uri(uri))
      assert.are.same({ account = "alice", secret = "JBSWY3DPEHPK3PXP", alg = "sha1", digits = 6, period = 30,
                        code_length = 6, time_step = 30 },
        totp.parse_uri("otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP"))
    end)

    it("takes the issuer from the label when the parameter is missing", function()
      local u = totp.parse_uri("otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&algorithm=SHA256")
      assert.are.equal("Example", u.issuer)
      assert.are.equal("alice@google.com", u.account)
      assert.are.equal("sha256", u.alg)
    end)
  end)

  describe("bad input returns nil, err", function()
    local s = b32(SEED20)
    local P = "otpauth://totp/a?secret=" .. s -- a valid URI to spoil
    local cases = {
      { "bad base32 character", "secret", function() return totp.code("GEZDG1BV") end, "position 6" },
      { "bad base32 in check", "secret", function() return totp.check("GE!Z", "123456") end, "position 3" },
      { "empty secret", "secret", function() return totp.code("") end },
      { "bad base32 length", "secret", function() return totp.code("GEZ") end },
      { "secret not a string", "secret", function() return totp.code(12345) end },
      { "secret missing", "secret", function() return totp.code() end },
      { "opts not a table", "opts", function() return totp.code(s, "sha1") end },
      { "digits too big", "digits", function() return totp.code(s, { digits = 9 }) end, "between 3 and 8" },
      { "digits too small", "digits", function() return totp.code(s, { digits = 2 }) end },
      { "digits not integer", "digits", function() return totp.code(s, { digits = 6.5 }) end },
      { "digits a string", "digits", function() return totp.code(s, { digits = "6" }) end },
      { "step too small", "step", function() return totp.code(s, { step = 19 }) end, "between 20 and 60" },
      { "step too big", "step", function() return totp.code(s, { step = 61 }) end },
      { "negative time", "time", function() return totp.code(s, { time = -1 }) end },
      { "unknown alg", "alg", function() return totp.code(s, { alg = "md5" }) end, "md5" },
      { "alg not a string", "alg", function() return totp.code(s, { alg = 1 }) end },
      { "unknown key", "digit", function() return totp.code(s, { digit = 6 }) end, "unknown option" },
      { "skew out of range on code", "skew", function() return totp.code(s, { skew = 3 }) end, "between 0 and 2" },
      { "skew too big", "skew", function() return totp.check(s, "123456", { skew = 3 }) end, "between 0 and 2" },
      { "negative skew", "skew", function() return totp.check(s, "123456", { skew = -1 }) end },
      { "unknown check key", "window", function() return totp.check(s, "123456", { window = 1 }) end },
      { "code a number", "code", function() return totp.check(s, 123456) end },
      { "code too short", "code", function() return totp.check(s, "12345") end, "6" },
      { "code not digits", "code", function() return totp.check(s, "12345a") end },
      { "code wrong length for digits", "code", function() return totp.check(s, "123456", { digits = 8 }) end },
      { "uri not a table", "opts", function() return totp.uri("x") end },
      { "uri without secret", "secret", function() return totp.uri { account = "a" } end },
      { "uri without account", "account", function() return totp.uri { secret = s } end },
      { "uri with bad secret", "secret", function() return totp.uri { account = "a", secret = "AB1" } end,
        "position 3" },
      { "uri with bad digits", "digits", function() return totp.uri { account = "a", secret = s, digits = 10 } end },
      { "uri with bad period", "period", function() return totp.uri { account = "a", secret = s, period = 0 } end },
      { "uri with bad alg", "alg", function() return totp.uri { account = "a", secret = s, alg = "sha3" } end },
      { "uri with unknown key", "label", function() return totp.uri { account = "a", secret = s, label = "x" } end },
      { "uri with a number account", "account", function() return totp.uri { account = 1, secret = s } end },
      { "parse non-string", "uri", function() return totp.parse_uri(42) end },
      { "parse non-otpauth", "uri", function() return totp.parse_uri("https://example.com/?secret=" .. s) end },
      { "parse hotp", "uri", function() return totp.parse_uri("otpauth://hotp/a?secret=" .. s .. "&counter=0") end,
        "totp" },
      { "parse without secret", "secret", function() return totp.parse_uri("otpauth://totp/a?issuer=b") end },
      { "parse bad secret", "secret", function() return totp.parse_uri("otpauth://totp/a?secret=AB1") end },
      { "parse bad digits", "digits", function() return totp.parse_uri(P .. "&digits=9") end },
      { "parse bad period", "period", function() return totp.parse_uri(P .. "&period=x") end },
      { "parse bad algorithm", "algorithm", function() return totp.parse_uri(P .. "&algorithm=MD5") end },
      { "parse without account", "account", function() return totp.parse_uri("otpauth://totp/?secret=" .. s) end },
    }
    for _, c in ipairs(cases) do
      it(c[1], function()
        local ok, err = c[3]()
        expect_arg_error(c[2], ok, err)
        if c[4] then
          assert.is_truthy(err.message:find(c[4], 1, true), "message: " .. err.message)
        end
      end)
    end
  end)

  it("leaves nothing behind after many calls and errors", function()
    local s = b32(SEED64)
    collectgarbage()
    collectgarbage()
    local before = collectgarbage("count")
    for i = 1, 2000 do
      totp.code(s, { time = i, alg = "sha512" })
      totp.check(s, "000000", { time = i })
      totp.code("BAD1")
      totp.parse_uri(totp.uri { issuer = "i", account = "a" .. i, secret = s })
      totp.parse_uri("otpauth://totp/a?secret=" .. s .. "&digits=9")
    end
    collectgarbage()
    collectgarbage()
    assert.is_true(collectgarbage("count") < before + 256)
  end)
end)
