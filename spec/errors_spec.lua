-- Errors where Lua code puts them: raised from a `for` loop over an iterator
-- (readable everywhere, structured for pcall callers through
-- verify.error_of and it.error), concatenated like a string, and the one
-- contract for argument errors of the iterator constructors (no raise: the
-- error as a second value and as the iterator's first step).
-- The standalone interpreters are checked here for the Lua running this spec
-- (lua5.4 under `make test`, luajit under `make spec-luajit`); Lua 5.1's and
-- LuaJIT's, and nginx's error log, in spec/openresty/nginx_test.lua (the
-- check that has those builds).
local verify = require "twilio.verify"
local emulator = require "support.emulator"

local SVC = "VA" .. string.rep("e7", 16)
local ID = "errors-user-0001"
local G = package.loaded._G -- the global table the module sees
local PUC51 = _VERSION == "Lua 5.1" and rawget(G, "jit") == nil

-- run fn with a stand-in `ngx` global: the module then behaves as inside
-- nginx where it matters here (what a for loop raises)
local function as_in_nginx(fn)
  local saved = rawget(G, "ngx")
  rawset(G, "ngx", {})
  local ok, e = pcall(fn)
  rawset(G, "ngx", saved)
  if not ok then error(e, 0) end
end

-- what a for loop over `it` raised (it must raise)
local function raised_by(it)
  local ok, raised = pcall(function() for _ in it do end end)
  assert.is_false(ok)
  return raised
end

describe("errors", function()
  local e, client

  setup(function()
    e = emulator.start{ no_limits = true }
    client = e:client{ max_retries = 0 }
    assert(client:create_factor(SVC, ID, { friendly_name = "f", factor_type = "totp" }))
  end)

  teardown(function()
    if client then client:close() end
    if e then e:stop() end
  end)

  local function failing_listing()
    e:fault{ action = "status", status = 404, code = 20404, message = "no such entity", match = { op = "list" } }
    return client:factors(SVC, ID)
  end

  describe("raised by a for loop", function()
    it("reach pcall callers structured: verify.error_of(raised) and it.error", function()
      local it = failing_listing()
      local raised = raised_by(it)
      local err = verify.error_of(raised)
      assert.is_table(err)
      assert.same({ "http", 404, 20404, "no such entity" }, { err.kind, err.status, err.code, err.message })
      assert.equal(err, it.error)
      assert.is_nil(it:next()) -- finished, the error kept
      assert.equal(err, it.error)
      -- this runtime prints a raised table's __tostring (5.2+, LuaJIT): the
      -- object itself is raised; Lua 5.1 raises its message string
      if PUC51 then assert.equal(tostring(err), raised) else assert.equal(err, raised) end
    end)

    it("are the message string where a table would print as 'unknown reason' (nginx)", function()
      as_in_nginx(function()
        local it = failing_listing()
        local raised = raised_by(it)
        assert.equal("string", type(raised))
        assert.equal(tostring(it.error), raised)
        assert.matches("^twilio%.verify: http error 404 %(code 20404%): no such entity %[GET http://", raised)
        assert.equal(it.error, verify.error_of(raised))
        -- re-raised with error(e), which prefixes a position: still found
        local ok, again = pcall(function() error(raised) end)
        assert.is_false(ok)
        assert.matches("^.-errors_spec%.lua:%d+: twilio%.verify: ", again)
        assert.equal(it.error, verify.error_of(again))
      end)
    end)

    it("are remembered per coroutine: one request (an nginx coroutine) never sees another's", function()
      as_in_nginx(function()
        -- two coroutines raise errors of the same text (the same bad parameter)
        local function request(k)
          return coroutine.create(function()
            local it = client:factors(SVC, ID, { [k] = 1 })
            local raised = raised_by(it)
            coroutine.yield(raised, it.error)
            coroutine.yield(verify.error_of(raised))
          end)
        end
        local a, b = request("same"), request("same")
        local _, ra, ea = coroutine.resume(a)
        local _, rb, eb = coroutine.resume(b)
        assert.equal(ra, rb) -- the same text
        assert.are_not.equal(ea, eb) -- two error objects
        assert.equal(ea, select(2, coroutine.resume(a))) -- each finds its own
        assert.equal(eb, select(2, coroutine.resume(b)))
        -- one that raised nothing finds neither, even by the same text
        local c = coroutine.create(function() return verify.error_of(ra) end)
        assert.is_nil(select(2, coroutine.resume(c)))
        assert.is_nil(verify.error_of(ra)) -- nor the main thread
      end)
    end)

    it("are looked up among the last 16 raised strings only; error_of(anything else) is nil", function()
      as_in_nginx(function()
        local function raise_unknown(k) return raised_by((client:factors(SVC, ID, { [k] = 1 }))) end
        local first = raise_unknown("k0")
        local first_err = verify.error_of(first)
        assert.equal("k0", first_err.param)
        local last
        for i = 1, 15 do last = raise_unknown("k" .. i) end
        assert.equal(first_err, verify.error_of(first)) -- 16 remembered
        assert.equal("k15", verify.error_of(last).param)
        raise_unknown("k16")
        assert.is_nil(verify.error_of(first)) -- the oldest went
        -- the same text raised twice: the later error
        local a = client:factors(SVC, ID, { k16 = 1 })
        local s = raised_by(a)
        assert.equal(a.error, verify.error_of(s))
      end)
      assert.is_nil(verify.error_of("twilio.verify: http error 404: never raised"))
      assert.is_nil(verify.error_of("some other error"))
      assert.is_nil(verify.error_of(nil))
      assert.is_nil(verify.error_of(42))
      assert.is_nil(verify.error_of({ kind = "http" }))
      local _, err = client:fetch_factor(SVC, ID, "YF" .. string.rep("0", 32))
      assert.equal(err, verify.error_of(err)) -- an error object is itself
    end)

    it("print readably when nobody catches them (this interpreter, standalone)", function()
      local lua = rawget(G, "jit") and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
      local script = table.concat({
        'local verify = require "twilio.verify"',
        'local c = assert(verify.new{ base_url = "http://127.0.0.1:1", max_retries = 0,',
        '  account_sid = "AC00000000000000000000000000000000", auth_token = "t" })',
        'for _ in c:factors("' .. SVC .. '", "' .. ID .. '") do end',
      }, "\n")
      local p = io.popen(string.format("env LUA_PATH=%s LUA_CPATH=%s %s -e %s 2>&1; echo \"exit=$?\"",
        emulator.shell_quote(package.path), emulator.shell_quote(package.cpath), lua, emulator.shell_quote(script)))
      local out = p:read("*a")
      p:close()
      assert.matches(lua .. ": twilio.verify: transport error: ", out, 1, true)
      assert.is_nil(out:find("not a string", 1, true), out)
      assert.matches("exit=1\n$", out)
    end)
  end)

  describe("concatenate like strings", function()
    local err
    setup(function()
      local v
      v, err = client:fetch_factor(SVC, ID, "YF" .. string.rep("0", 32))
      assert.is_nil(v)
    end)

    it("on either side of .., with strings and numbers", function()
      local s = tostring(err)
      assert.matches("^twilio%.verify: http error 404", s)
      assert.equal("failed: " .. s, "failed: " .. err)
      assert.equal(s .. " (fetch)", err .. " (fetch)")
      assert.equal("[" .. s .. "]", "[" .. err .. "]")
      assert.equal("7" .. s, 7 .. err)
      assert.equal(s .. "2.5", err .. 2.5)
      assert.equal(s .. s, err .. err)
      local line = "verify: " .. err .. "\n"
      assert.equal("verify: " .. s .. "\n", line)
    end)

    it("for every error object: made in C, made in Lua, from verify.new", function()
      local _, arg_err = verify.new{ account_sid = "AC00000000000000000000000000000000", auth_token = "t", nope = 1 }
      assert.equal("x " .. tostring(arg_err), "x " .. arg_err)
      -- a decode error made by the Lua layer: a listing whose next page repeats itself
      local p = assert(client:list_factor(SVC, ID))
      e:fault{ action = "next_page_url", url = p.meta.url, match = { op = "list" } }
      local it = client:factors(SVC, ID)
      while it:next() do end
      assert.equal("decode", it.error.kind)
      assert.equal("x " .. tostring(it.error), "x " .. it.error)
    end)

    it("and raise Lua's own error for what cannot be concatenated", function()
      for _, bad in ipairs{ function() return err .. nil end, function() return {} .. err end,
                            function() return true .. err end, function() return err .. print end } do
        local ok, msg = pcall(bad)
        assert.is_false(ok)
        assert.matches("attempt to concatenate a %a+ value", msg)
      end
    end)
  end)

  describe("argument errors of the iterators", function()
    local cases = {
      { "factors", { SVC, ID, { page_size = 0 } }, "page_size" },
      { "factors", { SVC, ID, { limit = -1 } }, "limit" },
      { "factors", { SVC, ID, { lmit = 3 } }, "lmit" },
      { "factors", { SVC, "x" }, "identity" },
      { "factors", { SVC, ID, "not a table" }, "params" },
      { "challenges", { SVC, ID, { page_size = 1001 } }, "page_size" },
      { "challenges", { SVC, ID, { status = "nope" } }, "status" },
      { "entities", { SVC, { limit = 1.5 } }, "limit" },
      { "entities", { "VAnot-a-sid" }, "service_sid" },
      { "services", { { page_size = 0 } }, "page_size" },
      { "services", { { page_url = "https://evil.example/v2/Services" } }, "url" },
    }

    for _, case in ipairs(cases) do
      local name, args, param = case[1], case[2], case[3]
      it(name .. " with a bad " .. param .. ": no raise, the error as a second value and as the first step",
        function()
          local before = e:stats().total
          local it, err = client[name](client, (table.unpack or unpack)(args))
          assert.equal("invalid_argument", err and err.kind)
          assert.equal(param, err.param)
          assert.equal(err, it.error)
          local v, ierr = it:next()
          assert.is_nil(v)
          assert.equal(err, ierr)
          assert.is_nil(it:next()) -- finished
          local it2, err2 = client[name](client, (table.unpack or unpack)(args))
          assert.equal(err2, verify.error_of(raised_by(it2))) -- a for loop raises it
          local all, cerr = verify.collect(client[name](client, (table.unpack or unpack)(args)))
          assert.is_nil(all)
          assert.equal("invalid_argument", cerr.kind)
          assert.equal(before, e:stats().total) -- nothing sent
        end)
    end

    it("the same from resource objects (entity:factors, service:entities)", function()
      local ent = assert(client:fetch_entity(SVC, ID))
      local it, err = ent:factors{ page_size = 0 }
      assert.equal("page_size", err.param)
      assert.equal(err, select(2, it:next()))
    end)

    it("good arguments: one value, the iterator", function()
      assert.equal(1, select("#", client:factors(SVC, ID, { limit = 1 })))
      assert.equal(1, #assert(verify.collect(client:factors(SVC, ID, { limit = 1 }))))
    end)

    it("a call with a dot (no client) still raises, clearly", function()
      local ok, msg = pcall(client.factors, SVC, ID)
      assert.is_false(ok)
      assert.matches("factors: call it as a method, client:factors%(...%) %(with a colon%)", msg)
    end)
  end)
end)
