-- Issue 16 item 7: a 401 says which credential was used and where it came
-- from.  The server's message alone ("Authenticate") leaves the caller
-- guessing which of the account's tokens or API keys went out; the error
-- now names the account SID (auth token) or the API key SID and its
-- account -- never the secret -- and whether they came from the options
-- or from TWILIO_* environment variables (the internal option
-- `_credential_source`, which verify.new sets).  The explanation is made
-- in C (tv_client_explain) on every path that produces an http error: a
-- single call over libcurl, the Lua-transport loop over the call engine
-- (client:_next) with verify.curl_transport or any transport, and both batch
-- engines.
local verify = require "twilio.verify"
local core = require "twilio.verify.core"
local emulator = require "support.emulator"
local fixture = require "support.fixture"
-- children run on this same Lua (lua5.4, or luajit under make spec-luajit)
local LUA = rawget(package.loaded._G, "jit") and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))

local SVC = "VA" .. string.rep("a1", 16)
local ID = "auth-user-0001"
local SID = "YF" .. string.rep("b2", 16)
local KEY = "SK" .. emulator.random_hex(32)
local KEY_SECRET = "key-secret-" .. emulator.random_hex(16)
local WRONG_TOKEN = "wrong-token-" .. emulator.random_hex(16)
local WRONG_SECRET = "wrong-secret-" .. emulator.random_hex(16)


-- the ways an operation reaches the server: one call and a batch, over
-- libcurl and over the Lua loop with verify.curl_transport
local PATHS = {
  { name = "libcurl", extra = {} },
  { name = "curl_transport", extra = { transport = verify.curl_transport } },
}

local function fetch(c)
  return c:fetch_factor(SVC, ID, SID)
end

local function batch_fetch(c)
  local res = c:batch({ { op = "fetch", service_sid = SVC, identity = ID, sid = SID } })
  assert.is_table(res)
  assert.is_nil(res[1].ok)
  return nil, res[1].err
end

describe("a 401 names the credential used", function()
  local e

  fixture.emulator({ reset = false, api_key = KEY, api_secret = KEY_SECRET }, false, function(em) e = em end)

  -- options for a client of this emulator with the given credentials
  local function opts(cred, extra)
    local o = { account_sid = e.account_sid, base_url = e.base_url, max_retries = 0 }
    for k, v in pairs(cred) do o[k] = v end
    for k, v in pairs(extra or {}) do o[k] = v end
    return o
  end

  local function check_401(err, secret)
    assert.is_table(err)
    assert.equal("http", err.kind)
    assert.equal(401, err.status)
    assert.equal(20003, err.code)
    assert.matches("^Authenticate", err.message) -- the server's message first
    assert.is_nil(err.message:find(secret, 1, true))
    assert.is_nil(tostring(err):find(secret, 1, true))
    assert.is_false(err.retryable)
  end

  for _, p in ipairs(PATHS) do
    describe("over " .. p.name, function()
      it("a wrong auth token: the account SID, from the options", function()
        local c = assert(verify.new(opts({ auth_token = WRONG_TOKEN }, p.extra)))
        for _, run in ipairs{ fetch, batch_fetch } do
          local v, err = run(c)
          assert.is_nil(v)
          check_401(err, WRONG_TOKEN)
          assert.matches("(credentials: account " .. e.account_sid .. " with its auth token, from the options)",
            err.message, 1, true)
          assert.is_nil(err.message:find("SK", 1, true))
        end
        c:close()
      end)

      it("a wrong API secret: the API key SID and its account, from the options", function()
        local c = assert(verify.new(opts({ api_key = KEY, api_secret = WRONG_SECRET }, p.extra)))
        for _, run in ipairs{ fetch, batch_fetch } do
          local v, err = run(c)
          assert.is_nil(v)
          check_401(err, WRONG_SECRET)
          assert.matches("(credentials: API key " .. KEY .. " for account " .. e.account_sid .. ", from the options)",
            err.message, 1, true)
        end
        c:close()
      end)

      it("credentials from the environment say so and name the variables", function()
        -- core.new: the option verify.new sets when it read TWILIO_*
        local c = assert(core.new(opts({ auth_token = WRONG_TOKEN, _credential_source = "environment" }, p.extra)))
        for _, run in ipairs{ fetch, batch_fetch } do
          local _, err = run(c)
          check_401(err, WRONG_TOKEN)
          assert.matches("from the environment: TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN)", err.message, 1, true)
          assert.matches(e.account_sid, err.message, 1, true)
        end
        c:close()
        c = assert(core.new(opts({ api_key = KEY, api_secret = WRONG_SECRET, _credential_source = "environment" },
          p.extra)))
        for _, run in ipairs{ fetch, batch_fetch } do
          local _, err = run(c)
          check_401(err, WRONG_SECRET)
          assert.matches("(credentials: API key " .. KEY .. " for account " .. e.account_sid
            .. ", from the environment: TWILIO_API_KEY / TWILIO_API_SECRET)", err.message, 1, true)
        end
        c:close()
      end)
    end)
  end

  it("the log event and on_retry's error carry the explanation too", function()
    local events = {}
    local c = assert(verify.new(opts({ auth_token = WRONG_TOKEN }, { log = function(ev) events[#events + 1] = ev end })))
    local _, err = fetch(c)
    check_401(err, WRONG_TOKEN)
    assert.equal(1, #events)
    assert.equal(err.message, events[1].error.message)
    c:close()
  end)

  it("any Lua transport: the 401 it returns is explained by _finish", function()
    local c = assert(verify.new(opts({ auth_token = WRONG_TOKEN }, {
      transport = function()
        return { status = 401, headers = {},
                 body = '{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}' }
      end,
    })))
    local _, err = fetch(c)
    check_401(err, WRONG_TOKEN)
    assert.matches("with its auth token, from the options)", err.message, 1, true)
    -- other statuses are left as the server said them
    c = assert(verify.new(opts({ auth_token = WRONG_TOKEN }, {
      transport = function()
        return { status = 403, headers = {}, body = '{"code":20403,"message":"Forbidden","status":403}' }
      end,
    })))
    _, err = fetch(c)
    assert.equal(403, err.status)
    assert.equal("Forbidden", err.message)
  end)

  it("the right credentials still work (and other errors are not explained)", function()
    local c = assert(verify.new(opts({ api_key = KEY, api_secret = KEY_SECRET })))
    local v, err = fetch(c)
    assert.is_nil(v)
    assert.equal(404, err.status)
    assert.is_nil(err.message:find("credentials:", 1, true))
    c:close()
  end)

  it("_credential_source is internal, checked, and other unknown keys are still refused", function()
    local c, err = core.new(opts({ auth_token = "x", _credential_source = "somewhere" }))
    assert.is_nil(c)
    assert.equal("invalid_argument", err.kind)
    assert.equal("_credential_source", err.param)
    c, err = core.new(opts({ auth_token = "x", _credential_source = 1 }))
    assert.is_nil(c)
    assert.equal("_credential_source", err.param)
    c, err = core.new(opts({ auth_token = "x", _credential_sourc = "options" }))
    assert.is_nil(c)
    assert.equal("_credential_sourc", err.param)
    assert.matches("unknown option", err.message, 1, true)
    c = assert(core.new(opts({ auth_token = "x", _credential_source = "options" })))
    c:close()
  end)

  -- verify.new itself: credentials read from TWILIO_* say "environment"
  -- (the Lua layer passes _credential_source).  Run in a child process so
  -- this one's environment stays as it is.
  it("verify.new with credentials from TWILIO_* variables says environment", function()
    local script = os.tmpname()
    local f = assert(io.open(script, "wb"))
    f:write(string.format([[
      local verify = require "twilio.verify"
      local c = assert(verify.new{ base_url = %q, max_retries = 0 })
      local _, err = c:fetch_factor(%q, %q, %q)
      io.write(err.message)
    ]], e.base_url, SVC, ID, SID))
    f:close()
    local shq = emulator.shell_quote
    local cmd = table.concat({ "env -u TWILIO_AUTH_TOKEN -u TWILIO_API_KEY -u TWILIO_API_SECRET",
      shq("TWILIO_ACCOUNT_SID=" .. e.account_sid), shq("TWILIO_AUTH_TOKEN=" .. WRONG_TOKEN),
      "LUA_PATH=" .. shq(package.path), "LUA_CPATH=" .. shq(package.cpath), LUA, shq(script), "2>&1" }, " ")
    local p = io.popen(cmd)
    local out = p:read("a")
    p:close()
    os.remove(script)
    assert.matches("^Authenticate", out)
    assert.matches("from the environment: TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN)", out, 1, true)
    assert.is_nil(out:find(WRONG_TOKEN, 1, true))
  end)
end)
