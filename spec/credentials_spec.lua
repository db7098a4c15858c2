-- Issue 15: where the credentials may go, and what may be sent twice.
--
--   * plain http only to loopback *addresses* (never a name that starts
--     like one);
--   * plain http never through a proxy the environment names (the proxy
--     would read the Basic credentials); only an explicit `proxy` option;
--   * a POST is never retried on a bare 429 (no Twilio code: it may have
--     been processed), only on 20429.
--
-- The "proxy" is a second emulator: it logs any request it receives, also
-- an absolute-form one ("GET http://host:port/v2/..."), which is what a
-- client sends to an http proxy.  Proxy variables are set only in a child
-- lua5.4 process, so this process (and the curl tool the emulator helper
-- runs) never sees them.
local verify = require "twilio.verify"
local emulator = require "support.emulator"
local rows = require "support.rows"

local SVC = "VA" .. string.rep("c3", 16)
local ID = "cred-user-0001"
local shq = emulator.shell_quote
-- children run on this same Lua (lua5.4, or luajit under make spec-luajit)
local LUA = rawget(package.loaded._G, "jit") and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))

local function run_child(env, script)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(script)
  f:close()
  local parts = { "env" }
  for _, name in ipairs{ "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
                         "no_proxy", "NO_PROXY" } do
    parts[#parts + 1] = "-u " .. name
  end
  for k, v in pairs(env) do parts[#parts + 1] = shq(k .. "=" .. v) end
  parts[#parts + 1] = "LUA_PATH=" .. shq(package.path)
  parts[#parts + 1] = "LUA_CPATH=" .. shq(package.cpath)
  parts[#parts + 1] = LUA .. " " .. shq(path) .. " 2>&1"
  local p = io.popen(table.concat(parts, " "))
  local out = p:read("a")
  p:close()
  os.remove(path)
  return out
end

local function proxy_env(url)
  return { http_proxy = url, HTTP_PROXY = url, https_proxy = url, HTTPS_PROXY = url, all_proxy = url, ALL_PROXY = url }
end

-- The child: one fetch, one list over the batch engine, both to `target`;
-- prints "fetch=<kind|ok> batch=<kind|ok>".
local function child_script(target, extra)
  return string.format([[
local verify = require "twilio.verify"
local o = { account_sid = %q, auth_token = %q, base_url = %q, max_retries = 0, timeout = 3 }
for k, v in pairs(%s) do o[k] = v end
local c = assert(verify.new(o))
local v, err = c:fetch_factor(%q, %q, "YF" .. string.rep("0", 32))
local r = c:batch({ { op = "list", service_sid = %q, identity = %q } })
local b = r[1].ok and "ok" or r[1].err.kind
io.write("fetch=", v and "ok" or err.kind, " status=", tostring(err and err.status), " batch=", b, "\n")
c:close()
]], target.account_sid, target.auth_token, target.base_url, extra or "{}", SVC, ID, SVC, ID)
end

describe("credentials", function()
  local e, p

  setup(function()
    e = emulator.start{ no_limits = true }
    -- the "proxy": it sees the target's Host, which it must accept (it
    -- refuses other names against DNS rebinding)
    p = emulator.start{ no_limits = true, args = { "--allow-host", "127.0.0.1:" .. e.port } }
  end)

  teardown(function()
    if e then e:stop() end
    if p then p:stop() end
  end)

  before_each(function()
    e:reset()
    p:reset()
  end)

  describe("loopback is an address, not a name prefix", function()
    local function new(base_url, extra)
      local o = { base_url = base_url, account_sid = e.account_sid, auth_token = e.auth_token }
      for k, v in pairs(extra or {}) do o[k] = v end
      return verify.new(o)
    end

    for _, url in ipairs{ "http://127.attacker.example", "http://127.0.0.1.nip.io:8080", "http://127.1:8080",
                          "http://127.0.0.01", "http://0x7f.0.0.1", "http://localhost.attacker.example",
                          "http://[::2]" } do
      it("refuses " .. url .. " over plain http", function()
        local c, err = new(url)
        assert.is_nil(c)
        assert.equal("invalid_argument", err.kind)
        assert.equal("base_url", err.param)
        assert.matches("base_url", err.message)
        assert.matches("https", err.message)
        local ok = assert(new(url, { allow_http = true }), url .. " with allow_http")
        ok:close()
      end)
    end

    for _, url in ipairs{ "http://127.0.0.1:8080", "http://127.10.20.30", "http://localhost:1",
                          "http://[::1]:8080", "http://[0:0:0:0:0:0:0:1]" } do
      it("accepts " .. url, function()
        local c = assert(new(url))
        c:close()
      end)
    end
  end)

  describe("proxies", function()
    it("plain http ignores http_proxy / HTTP_PROXY / ALL_PROXY (single call and batch)", function()
      local out = run_child(proxy_env(p.base_url), child_script(e))
      assert.matches("fetch=http status=404 batch=ok", out, 1, true)
      assert.same({}, p:requests(), "the proxy received a request (with the credentials): " .. out)
      assert.equal(0, p:stats().total)
      local seen = e:requests()
      assert.equal(2, #seen)
      assert.equal("GET", seen[1].method)
      assert.matches("^/v2/Services/", seen[1].path)
    end)

    it("the environment does not reach the proxy through localhost either", function()
      local target = setmetatable({ base_url = "http://localhost:" .. e.port }, { __index = e })
      local out = run_child(proxy_env(p.base_url), child_script(target))
      assert.matches("fetch=http status=404 batch=ok", out, 1, true)
      assert.equal(0, p:stats().total)
      assert.equal(2, #e:requests())
    end)

    -- the Lua option `proxy` is parsed by csrc/lua_client.c
    local function proxy_option_supported()
      local c, err = verify.new{ base_url = e.base_url, account_sid = e.account_sid, auth_token = e.auth_token,
                                 proxy = "" }
      if c then c:close() return true end
      return not (err and err.param == "proxy" and tostring(err.message):find("unknown option"))
    end

    it("an explicit proxy option is used (single call and batch)", function()
      assert.is_true(proxy_option_supported())
      local out = run_child({}, child_script(e, string.format("{ proxy = %q }", p.base_url)))
      assert.matches("fetch=http", out, 1, true) -- whatever the "proxy" answers
      local seen = p:requests()
      assert.equal(2, #seen, out)
      for _, r in ipairs(seen) do
        assert.equal("GET", r.method)
        assert.equal("http://127.0.0.1:" .. e.port .. "/v2/Services/", r.path:sub(1, #("http://127.0.0.1:" .. e.port) + 13))
      end
      assert.equal(0, #e:requests())
    end)

    it("no_proxy and proxy = \"\" bypass an explicit / environment proxy", function()
      assert.is_true(proxy_option_supported())
      local out = run_child({}, child_script(e, string.format("{ proxy = %q, no_proxy = \"127.0.0.1\" }", p.base_url)))
      assert.matches("fetch=http status=404 batch=ok", out, 1, true)
      out = run_child(proxy_env(p.base_url), child_script(e, "{ proxy = \"\" }"))
      assert.matches("fetch=http status=404 batch=ok", out, 1, true)
      assert.equal(0, p:stats().total)
      assert.equal(4, #e:requests())
    end)
  end)

  describe("POST on a 429 without a Twilio code", function()
    -- a valid value for every parameter rule the POST operations use
    local function value(prm)
      if prm.enum then return prm.enum[1] end
      if prm.type == "sid" then return (prm.pattern:match("%^(%u%u)") or "YF") .. string.rep("0", 32) end
      if prm.type == "identity" then return ID end
      if prm.type == "integer" then return prm.min or 1 end
      if prm.type == "boolean" then return true end
      if prm.format then return require("support.rows").FORMATS[prm.format] end
      if prm.type == "string" or prm.type == "secret" then return string.rep("1", math.max(prm.min or 1, 6)) end
      return nil
    end
    local function value_of(prm) -- an array parameter takes a list of one
      local v = value(prm)
      if prm.array and v ~= nil then return { v } end
      return v
    end

    local function args_for(op)
      local args = {}
      for _, pp in ipairs(op.path_params) do args[#args + 1] = value(pp) end
      for _, prm in ipairs(op.params) do -- create_entity's identity
        if prm.positional then args[#args + 1] = value(prm) end
      end
      local params, any = {}, false
      for _, prm in ipairs(op.params) do
        if prm.required and not prm.positional then
          -- a JSON body's object: its required members (support/rows.lua)
          params[prm.name] = prm.type == "object" and rows.valid(prm) or value_of(prm)
          any = true
        end
        if op.one_of and prm.key == op.one_of[1] then params[prm.name] = value_of(prm); any = true end
      end
      if not any then -- an update needs something to change
        for _, prm in ipairs(op.params) do
          if not prm.positional and (prm.name == "friendly_name" or prm.type == "string") then
            params[prm.name] = value(prm)
            break
          end
        end
      end
      args[#args + 1] = params
      return args
    end

    local posts = {}
    for _, op in ipairs(verify.operations) do
      if op.method == "POST" then posts[#posts + 1] = op end
    end

    it("covers every POST of the operation table", function()
      assert.is_true(#posts >= 7, "POST operations: " .. #posts)
    end)

    for _, op in ipairs(posts) do
      it(op.name .. " is sent exactly once (max_retries = 3)", function()
        local retries = 0
        local c = e:client{ max_retries = 3, retry_base = 0.001, retry_cap = 0.002,
                            on_retry = function() retries = retries + 1 end }
        -- html: a gateway's 429 page, no JSON, no Twilio code
        e:faults{ { action = "html", status = 429, times = 5, match = { method = "POST" } } }
        local v, err = c[op.name](c, table.unpack(args_for(op)))
        c:close()
        assert.is_nil(v)
        assert.equal("http", err.kind, tostring(err))
        assert.equal(429, err.status)
        assert.is_true(err.code == nil or err.code == 0, "code " .. tostring(err.code))
        assert.is_false(err.retryable)
        assert.equal(0, retries)
        local seen = e:requests()
        assert.equal(1, #seen, op.name .. " was sent " .. #seen .. " times")
        assert.equal("POST", seen[1].method)
      end)
    end

    it("a POST is still retried on 20429 (not processed), a GET on a bare 429", function()
      local c = e:client{ max_retries = 3, retry_base = 0.001, retry_cap = 0.002 }
      e:faults{ { action = "status", status = 429, code = 20429, retry_after = "0", times = 2,
                  match = { method = "POST" } } }
      assert(c:create_factor(SVC, ID, { friendly_name = "after 20429", factor_type = "totp" }))
      assert.equal(3, #e:requests())
      e:clear_requests()
      e:faults{ { action = "html", status = 429, times = 2, match = { method = "GET" } } }
      local v, err = c:list_factor(SVC, ID)
      assert.is_truthy(v, tostring(err))
      assert.equal(3, #e:requests())
      c:close()
    end)
  end)
end)
