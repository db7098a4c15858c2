-- verify.new and the environment: TWILIO_VERIFY_BASE_URL, TWILIO_REGION /
-- TWILIO_EDGE (as the official SDKs read them) and the credentials'
-- variables, with options always first and an empty variable counting as
-- unset.  Each case is a child process of this same Lua (lua5.4 under
-- `make test`) with exactly the variables of the case set.
local emulator = require "support.emulator"
local fixture = require "support.fixture"

local shq = emulator.shell_quote
local LUA = rawget(package.loaded._G, "jit") and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
local VARS = { "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_KEY", "TWILIO_API_SECRET",
               "TWILIO_VERIFY_BASE_URL", "TWILIO_REGION", "TWILIO_EDGE" }
local SID = "AC" .. string.rep("0", 32)

-- a Lua table constructor for a table of strings / booleans
local function literal(t)
  local parts = {}
  for k, v in pairs(t or {}) do parts[#parts + 1] = string.format("[%q] = %s", k, type(v) == "string"
    and string.format("%q", v) or tostring(v)) end
  return "{ " .. table.concat(parts, ", ") .. " }"
end

-- run `body` (Lua, with `verify` and `opts` in scope) in a child with the
-- environment `env` (every other TWILIO_* variable unset); its output
local function child(env, opts, body)
  local cmd = { "env" }
  for _, v in ipairs(VARS) do cmd[#cmd + 1] = "-u " .. v end
  for k, v in pairs(env) do cmd[#cmd + 1] = k .. "=" .. shq(v) end
  cmd[#cmd + 1] = "LUA_PATH=" .. shq(package.path)
  cmd[#cmd + 1] = "LUA_CPATH=" .. shq(package.cpath)
  local script = 'local verify = require "twilio.verify"\nlocal opts = ' .. literal(opts) .. "\n" .. body
  cmd[#cmd + 1] = LUA .. " -e " .. shq(script) .. " 2>&1"
  local p = io.popen(table.concat(cmd, " "))
  local out = p:read("*a")
  p:close()
  return out
end

-- the client's base URL, or "error <param>: <message>"
local function base_url(env, opts)
  local out = child(env, opts, [[
local c, err = verify.new(opts)
if c then io.write(c:base_url()) else io.write("error ", tostring(err.param), ": ", tostring(err.message)) end
]])
  return out
end

local CREDS = { TWILIO_ACCOUNT_SID = SID, TWILIO_AUTH_TOKEN = "token" }
local function with(t)
  local env = {}
  for k, v in pairs(CREDS) do env[k] = v end
  for k, v in pairs(t) do env[k] = v end
  return env
end

describe("verify.new reads the environment", function()
  it("the child processes see no other TWILIO_* variable", function()
    assert.equal("https://verify.twilio.com", base_url(CREDS))
  end)

  it("TWILIO_VERIFY_BASE_URL sets the base URL", function()
    assert.equal("http://127.0.0.1:8080", base_url(with{ TWILIO_VERIFY_BASE_URL = "http://127.0.0.1:8080" }))
  end)

  it("TWILIO_REGION / TWILIO_EDGE, as region / edge (a region alone takes its edge)", function()
    assert.equal("https://verify.dublin.ie1.twilio.com", base_url(with{ TWILIO_REGION = "ie1" }))
    assert.equal("https://verify.sydney.au1.twilio.com", base_url(with{ TWILIO_REGION = "au1", TWILIO_EDGE = "sydney" }))
    assert.equal("https://verify.tokyo.us1.twilio.com", base_url(with{ TWILIO_EDGE = "tokyo" }))
  end)

  it("TWILIO_VERIFY_BASE_URL before TWILIO_REGION / TWILIO_EDGE", function()
    assert.equal("http://127.0.0.1:8080", base_url(with{ TWILIO_VERIFY_BASE_URL = "http://127.0.0.1:8080",
      TWILIO_REGION = "ie1", TWILIO_EDGE = "dublin" }))
  end)

  it("options before the environment", function()
    local env = with{ TWILIO_VERIFY_BASE_URL = "http://127.0.0.1:8080", TWILIO_REGION = "au1", TWILIO_EDGE = "sydney" }
    assert.equal("http://127.0.0.1:9090", base_url(env, { base_url = "http://127.0.0.1:9090" }))
    assert.equal("https://verify.tokyo.jp1.twilio.com", base_url(env, { region = "jp1", edge = "tokyo" }))
    -- region or edge given: never TWILIO_VERIFY_BASE_URL; the other one from
    -- its variable (as the SDKs' `region or TWILIO_REGION`)
    assert.equal("https://verify.sydney.jp1.twilio.com", base_url(env, { region = "jp1" }))
    assert.equal("https://verify.tokyo.au1.twilio.com", base_url(env, { edge = "tokyo" }))
    assert.equal("https://verify.dublin.ie1.twilio.com",
      base_url(with{ TWILIO_VERIFY_BASE_URL = "http://127.0.0.1:8080" }, { region = "ie1" }))
  end)

  it("an empty variable counts as unset", function()
    assert.equal("https://verify.twilio.com", base_url(with{ TWILIO_VERIFY_BASE_URL = "", TWILIO_REGION = "",
      TWILIO_EDGE = "" }))
    assert.equal("https://verify.dublin.ie1.twilio.com", base_url(with{ TWILIO_VERIFY_BASE_URL = "",
      TWILIO_REGION = "ie1" }))
    assert.equal("https://verify.twilio.com",
      base_url({ TWILIO_ACCOUNT_SID = SID, TWILIO_AUTH_TOKEN = "token", TWILIO_API_KEY = "", TWILIO_API_SECRET = "" }))
  end)

  it("a bad value from the environment names its variable", function()
    local out = base_url(with{ TWILIO_REGION = "IE1" })
    assert.matches("^error region: .*%(read from TWILIO_REGION%)$", out)
    out = base_url(with{ TWILIO_VERIFY_BASE_URL = "http://example.com" })
    assert.matches("^error base_url: .*%(read from TWILIO_VERIFY_BASE_URL%)$", out)
    out = base_url({ TWILIO_ACCOUNT_SID = "not-a-sid", TWILIO_AUTH_TOKEN = "token" })
    assert.matches("^error account_sid: .*%(read from TWILIO_ACCOUNT_SID%)$", out)
    -- the same bad value as an option: no such note
    out = base_url(CREDS, { region = "IE1" })
    assert.matches("^error region: ", out)
    assert.is_nil(out:find("read from", 1, true), out)
  end)

  it("missing credentials are still an error (an empty TWILIO_AUTH_TOKEN is none)", function()
    assert.matches("^error ", base_url({ TWILIO_ACCOUNT_SID = SID, TWILIO_AUTH_TOKEN = "" }))
    assert.matches("^error ", base_url({}))
  end)

  describe("the credentials' source (named when Twilio answers 401)", function()
    local e
    fixture.emulator({ reset = false }, false, function(em) e = em end)

    -- the 401 message of a call made with a wrong auth token
    local function unauthorized(env, opts)
      return child(env, opts, [[
local c = assert(verify.new(opts))
local v, err = c:list_service()
io.write(v and "no error" or tostring(err.status) .. " " .. tostring(err.message))
]])
    end

    it("the environment, or the options", function()
      local env = { TWILIO_ACCOUNT_SID = e.account_sid, TWILIO_AUTH_TOKEN = "wrong-token",
                    TWILIO_VERIFY_BASE_URL = e.base_url }
      assert.matches("^401 .*from the environment", unauthorized(env))
      local opts = { account_sid = e.account_sid, auth_token = "wrong-token", base_url = e.base_url }
      assert.matches("^401 .*from the options", unauthorized({}, opts))
      -- options win over the variables; a credential from the environment
      -- makes the source the environment
      assert.matches("^401 .*from the options", unauthorized(env, opts))
      assert.matches("^401 .*from the environment",
        unauthorized({ TWILIO_ACCOUNT_SID = e.account_sid }, { auth_token = "wrong-token", base_url = e.base_url }))
      -- and the right token from the environment works
      assert.equal("no error", unauthorized({ TWILIO_ACCOUNT_SID = e.account_sid, TWILIO_AUTH_TOKEN = e.auth_token,
                                              TWILIO_VERIFY_BASE_URL = e.base_url }))
    end)

    it("a caller cannot set _credential_source", function()
      local out = unauthorized({}, { account_sid = e.account_sid, auth_token = "wrong-token", base_url = e.base_url,
                                     _credential_source = "environment" })
      assert.matches("^401 .*from the options", out)
    end)
  end)
end)
