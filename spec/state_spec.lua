-- Issue 15 regressions: client and batch state that a raise, a hook, a
-- malformed body or a looping list must not corrupt.  Each `it` names the
-- item of the issue it holds.
local verify = require "twilio.verify"
local core = require "twilio.verify.core"
local emulator = require "support.emulator"
local fixture = require "support.fixture"

local SVC = "VA" .. string.rep("5e", 16)
local ID = "state-user-0001"
local AC = "AC" .. string.rep("0", 32)

local function sid(i) return string.format("YF%032x", i) end

local function seed()
  local factors = {}
  for i = 1, 6 do
    factors[i] = { service_sid = SVC, identity = ID, factor_type = "totp", friendly_name = "f" .. i, sid = sid(i) }
  end
  return { factors = factors }
end

-- a client whose transport answers `body` (a string or a function(req) -> string)
local function canned(body, status)
  local calls = 0
  local c = assert(verify.new{ account_sid = AC, auth_token = "t", base_url = "http://127.0.0.1:9",
    transport = function(req)
      calls = calls + 1
      local b = type(body) == "function" and body(req) or body
      return { status = status or 200, headers = {}, body = b }
    end })
  return c, function() return calls end
end

local META = '"meta":{"page":0,"page_size":50,"first_page_url":"x","previous_page_url":null,'
  .. '"url":"x","next_page_url":null,"key":"%s"}'
local function page_body(key, items, pad)
  local extra = pad and (',"x_pad":"' .. string.rep("p", 20000) .. '"') or ""
  return '{"' .. key .. '":' .. items .. ',' .. META:format(key) .. extra .. '}'
end

local FACTOR = '{"sid":"' .. sid(1) .. '","service_sid":"' .. SVC .. '","identity":"' .. ID .. '",'
  .. '"factor_type":"totp","status":"verified"}'

describe("state (issue 15)", function()
  local e

  fixture.emulator({ no_limits = true, seed = seed() }, false, function(em) e = em end)

  -- #5 ----------------------------------------------------------------------
  describe("#5 string options", function()
    it("refuses a NUL inside any string option, naming the option", function()
      local base = { account_sid = AC, auth_token = "secret", base_url = "http://127.0.0.1:8080" }
      for _, case in ipairs{
        { "auth_token", "secret\0rest" },
        { "base_url", "http://127.0.0.1:8080\0.evil" },
        { "account_sid", AC .. "\0x" },
        { "user_agent", "app/1\0x" },
        { "proxy", "http://proxy:3128\0x" },
        { "no_proxy", "localhost\0x" },
      } do
        local o = {}
        for k, v in pairs(base) do o[k] = v end
        o[case[1]] = case[2]
        local c, err = verify.new(o)
        assert.is_nil(c, case[1])
        assert.equal("invalid_argument", err.kind)
        assert.equal(case[1], err.param)
        assert.matches("NUL", err.message)
      end
      local c, err = verify.new{ account_sid = AC, api_key = "SK" .. string.rep("1", 32), api_secret = "s\0t",
                                 base_url = "http://127.0.0.1:8080" }
      assert.is_nil(c)
      assert.equal("api_secret", err.param)
      c, err = verify.new{ account_sid = AC, auth_token = "t", region = "ie1\0x" }
      assert.is_nil(c)
      assert.equal("region", err.param)
    end)

    it("takes proxy and no_proxy as strings; other types are refused", function()
      local c = assert(verify.new{ account_sid = AC, auth_token = "t", proxy = "", no_proxy = "example.com" })
      c:close()
      local _, err = verify.new{ account_sid = AC, auth_token = "t", proxy = 5 }
      assert.equal("proxy", err.param)
      _, err = verify.new{ account_sid = AC, auth_token = "t", no_proxy = true }
      assert.equal("no_proxy", err.param)
      _, err = verify.new{ account_sid = AC, auth_token = "t", proxxy = "x" }
      assert.matches("unknown option 'proxxy'", err.message)
    end)
  end)

  -- #7 ----------------------------------------------------------------------
  describe("#7 a raise while a batch reads its ops", function()
    it("releases the batch at once: the next batch runs without a collection", function()
      local c = e:client{}
      collectgarbage("stop")
      local ok, msg = pcall(c.batch, c, { setmetatable({}, { __index = function() error("boom") end }) })
      assert.is_false(ok)
      assert.matches("boom", tostring(msg))
      local res = c:batch({ { op = "fetch", service_sid = SVC, identity = ID, sid = sid(1) } })
      collectgarbage("restart")
      assert.is_table(res, "the next batch failed")
      assert.equal(sid(1), res[1].ok.sid)
      -- a raise in a later op's field, after earlier ops were built
      ok = pcall(c.batch, c, {
        { op = "fetch", service_sid = SVC, identity = ID, sid = sid(1) },
        setmetatable({ op = "update", service_sid = SVC, identity = ID, params = { friendly_name = "x" } },
          { __index = function(_, k) if k == "sid" then error("boom 2") end end }),
      })
      assert.is_false(ok)
      assert.is_table((c:batch({})))
      assert.equal(0, e:stats().applied.update)
      c:close()
    end)
  end)

  -- #8 ----------------------------------------------------------------------
  describe("#8 a raising hook keeps the result", function()
    for _, path in ipairs{ "libcurl", "lua" } do
      local tr = path == "lua" and verify.curl_transport or nil

      it("a created TOTP factor comes back with its secret; the hook error is the third value (" .. path .. ")",
        function()
          local c = e:client{ transport = tr, log = function() error("log hook exploded") end }
          local f, err, hook_err = c:create_factor(SVC, ID, { friendly_name = "phone", factor_type = "totp" })
          assert.is_nil(err)
          assert.is_table(f, "the factor was lost")
          assert.is_string(f.binding.secret)
          assert.matches("log hook exploded", tostring(hook_err))
          assert.equal(f.sid, assert(c:fetch_factor(SVC, ID, f.sid)).sid) -- a factor object, bound
          c:close()
        end)

      it("a failed operation returns nil, err with the hook's error attached (" .. path .. ")", function()
        local c = e:client{ transport = tr, log = function() error({ custom = true }) end }
        local v, err = c:fetch_factor(SVC, ID, sid(999))
        assert.is_nil(v)
        assert.equal(404, err.status)
        assert.is_true(err.hook_error.custom)
        c:close()
      end)

      it("an on_retry hook that raises during retries keeps the retried success (" .. path .. ")", function()
        local c = e:client{ transport = tr, retry_base = 0.001, retry_cap = 0.002,
                            on_retry = function() error("retry hook") end }
        e:fault{ action = "status", status = 503, times = 2 }
        local v, err, hook_err = c:list_factor(SVC, ID)
        assert.is_nil(err)
        assert.equal(6, #v.factors)
        assert.matches("retry hook", tostring(hook_err))
        assert(c:list_factor(SVC, ID))
        c:close()
      end)
    end
  end)

  -- #10 ---------------------------------------------------------------------
  describe("#10 malformed list bodies", function()
    for _, pad in ipairs{ false, true } do
      local how = pad and " (streamed)" or " (tree)"

      it("an element that is not an object is a decode error naming the key and index" .. how, function()
        for _, items in ipairs{ "[null]", "[1,2]", "[" .. FACTOR .. ",\"x\"]", "[" .. FACTOR .. ",[]]" } do
          local c = canned(page_body("factors", items, pad))
          local v, err = c:list_factor(SVC, ID)
          assert.is_nil(v, items)
          assert.equal("decode", err.kind)
          assert.matches("factors%[%d%]", err.message)
          -- the iterator: nil, err from next, the error object from a for loop
          local f, ierr = c:factors(SVC, ID):next()
          assert.is_nil(f)
          assert.equal("decode", ierr.kind)
          local ok, lerr = pcall(function() for _ in c:factors(SVC, ID) do end end)
          assert.is_false(ok)
          assert.equal("decode", lerr.kind)
          local all, cerr = verify.collect(c:factors(SVC, ID))
          assert.is_nil(all)
          assert.equal("decode", cerr.kind)
        end
        local ch = canned(page_body("challenges", "[null]", pad))
        local v, err = ch:list_challenge(SVC, ID)
        assert.is_nil(v)
        assert.equal("decode", err.kind)
        assert.matches("challenges%[1%]", err.message)
      end)

      it("a duplicated list key: the first occurrence, as the shape check reads it" .. how, function()
        local body = '{"factors":[' .. FACTOR .. '],"factors":[1,2],' .. META:format("factors")
          .. (pad and (',"x_pad":"' .. string.rep("p", 20000) .. '"') or "") .. '}'
        local c = canned(body)
        local p = assert(c:list_factor(SVC, ID))
        assert.equal(1, #p.factors)
        assert.equal(sid(1), p.factors[1].sid)
        local n = 0
        for f in c:factors(SVC, ID) do n = n + 1; assert.equal(sid(1), f.sid) end
        assert.equal(1, n)
        -- wrong type first: refused by the shape check, whatever follows
        local c2 = canned('{"factors":"x","factors":[],' .. META:format("factors") .. '}')
        local v, err = c2:list_factor(SVC, ID)
        assert.is_nil(v)
        assert.equal("decode", err.kind)
      end)
    end

    it("a duplicated sid in an instance: the first occurrence everywhere", function()
      local c = canned('{"sid":"' .. sid(7) .. '","sid":12345,"service_sid":"' .. SVC .. '","identity":"' .. ID
        .. '","factor_type":"totp"}')
      local f = assert(c:fetch_factor(SVC, ID, sid(7)))
      assert.equal(sid(7), f.sid)
      -- and a duplicate whose first occurrence is null: absent, not the later value
      local c2 = canned('{"sid":"' .. sid(7) .. '","friendly_name":null,"friendly_name":"later"}')
      local f2 = assert(c2:fetch_factor(SVC, ID, sid(7)))
      assert.is_nil(f2.friendly_name)
      -- nested objects inside list elements too
      local item = '{"sid":"' .. sid(8) .. '","status":"verified","status":"unverified"}'
      local c3 = canned(page_body("factors", "[" .. item .. "]", true))
      assert.equal("verified", assert(c3:list_factor(SVC, ID)).factors[1].status)
    end)
  end)

  -- #11 ---------------------------------------------------------------------
  describe("#11 pagination loops", function()
    local function loop_fault(c)
      local p = assert(c:list_factor(SVC, ID, { page_size = 2 }))
      e:clear_requests()
      e:fault{ action = "next_page_url", url = p.meta.url, times = 100000, match = { op = "list" } }
    end

    for _, path in ipairs{ "libcurl", "lua" } do
      local tr = path == "lua" and verify.curl_transport or nil

      it("a next_page_url that repeats a page stops the iterator and collect with a decode error (" .. path .. ")",
        function()
          local c = e:client{ transport = tr }
          loop_fault(c)
          local it = c:factors(SVC, ID, { page_size = 2 })
          local n, err = 0
          while true do
            local f, ierr = it:next()
            if not f then err = ierr break end
            n = n + 1
            assert.is_true(n < 100, "the iterator loops")
          end
          assert.equal(2, n)
          assert.equal("decode", err.kind)
          assert.matches("repeats", err.message)
          assert.equal(1, #e:requests())
          local all, cerr = verify.collect(c:factors(SVC, ID, { page_size = 2 }))
          assert.is_nil(all)
          assert.equal("decode", cerr.kind)
          c:close()
        end)

      it("a batch list stops on a repeated page (" .. path .. ")", function()
        local c = e:client{ transport = tr }
        loop_fault(c)
        local res = assert(c:batch({ { op = "list", service_sid = SVC, identity = ID, params = { page_size = 2 } } }))
        assert.equal("decode", res[1].err.kind)
        assert.matches("repeats", res[1].err.message)
        assert.equal(1, #e:requests())
        c:close()
      end)

      it("max_pages caps the pages one list follows (" .. path .. ")", function()
        local c = e:client{ transport = tr, max_pages = 2 }
        local n, err = 0
        local it = c:factors(SVC, ID, { page_size = 1 })
        while true do
          local f, ierr = it:next()
          if not f then err = ierr break end
          n = n + 1
        end
        assert.equal(2, n)
        assert.equal("decode", err.kind)
        assert.matches("max_pages", err.message)
        local res = assert(c:batch({ { op = "list", service_sid = SVC, identity = ID, params = { page_size = 1 } } }))
        assert.matches("max_pages", res[1].err.message)
        -- page:next_page() chains are the caller's: not capped
        local p, pages = assert(c:list_factor(SVC, ID, { page_size = 1 })), 1
        while true do
          local nxt, perr = p:next_page()
          assert.is_nil(perr)
          if not nxt then break end
          p, pages = nxt, pages + 1
        end
        assert.equal(6, pages)
        -- enough pages: no error
        local c6 = e:client{ transport = tr, max_pages = 6 }
        assert.equal(6, #assert(verify.collect(c6:factors(SVC, ID, { page_size = 1 }))))
        c:close()
        c6:close()
      end)
    end

    it("max_pages must be an integer >= 1", function()
      for _, v in ipairs{ 0, -1, 1.5, "10", 1e12 } do
        local c, err = verify.new{ account_sid = AC, auth_token = "t", max_pages = v }
        assert.is_nil(c)
        assert.equal("max_pages", err.param)
      end
    end)
  end)

  -- #13 ---------------------------------------------------------------------
  describe("#13 sleeping", function()
    -- run `code` in a fresh Lua with a time limit: a spin shows up as a timeout
    local function run(code)
      local cmd = "LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;' timeout 5 lua5.4 -e "
        .. emulator.shell_quote(code) .. " 2>&1; echo \"rc=$?\""
      local p = io.popen(cmd)
      local out = p:read("a")
      p:close()
      return out
    end

    it("core.sleep refuses huge values instead of spinning; negative and NaN do not sleep", function()
      for _, v in ipairs{ "math.huge", "1e300", "2^63", "86400.5" } do
        local out = run("local ok, e = pcall(require('twilio.verify.core').sleep, " .. v .. ") print(ok, e)")
        assert.matches("^false", out)
        assert.matches("86400", out)
        assert.matches("rc=0", out)
      end
      local t0 = core.now()
      core.sleep(-1)
      core.sleep(0 / 0)
      core.sleep(-math.huge)
      core.sleep(0.01)
      assert.is_true(core.now() - t0 < 1)
    end)

    it("max_rps below 0.001 (or above 100000) is refused by both engines", function()
      for _, tr in ipairs{ false, verify.curl_transport } do
        local c = e:client{ transport = tr or nil }
        for _, rps in ipairs{ 0.0001, 1e-300, 2e5 } do
          local v, err = c:batch({ { op = "fetch", service_sid = SVC, identity = ID, sid = sid(1) } }, { max_rps = rps })
          assert.is_nil(v)
          assert.equal("max_rps", err.param)
        end
        c:close()
      end
      assert.equal(0, e:stats().total)
    end)
  end)
end)
