-- GC and lifetime: clients, factors, pages and iterators come and go without
-- leaking, closing is idempotent, a closed client fails clearly, and the
-- paths that unwind early (raising hooks, abandoned iterators, errors while
-- a response is being converted) leave nothing behind.
--
-- The memory checks here are coarse on purpose (Lua heap and RSS before and
-- after, generous bounds); `make valgrind` and `make asan` run this file too
-- and prove the exact part: zero definite/indirect leaks, no invalid access.
-- Sizes (environment): TV_LIFETIME_CLIENTS (default 100000) clients created
-- and dropped, with and without a request over a stub transport;
-- TV_LIFETIME_CURL_CLIENTS (default 5000) clients each making one real
-- libcurl request to the emulator (about 0.6 ms each).
local verify = require "twilio.verify"
local core = require "twilio.verify.core"
local emulator = require "support.emulator"
local rows = require "support.rows"

local SVC = "VA" .. string.rep("cd", 16)
local ID = "user-0001-lifetime"
local N = tonumber(os.getenv("TV_LIFETIME_CLIENTS") or "") or 100000
local N_CURL = tonumber(os.getenv("TV_LIFETIME_CURL_CLIENTS") or "") or 5000

local function page_size()
  local p = io.popen("getconf PAGESIZE 2>/dev/null")
  local v = p and tonumber(p:read("a"))
  if p then p:close() end
  return v or 4096
end
local PAGE = page_size()

-- Under valgrind and ASan the allocator is theirs (ASan keeps freed memory
-- in quarantine, valgrind never reuses it soon): the RSS says nothing there,
-- while their leak checkers say everything.  make valgrind / make asan set these.
local RSS_MEANINGFUL = not (os.getenv("TV_UNDER_VALGRIND") or os.getenv("TV_UNDER_ASAN"))

-- resident set size in KiB (second field of /proc/self/statm), nil without /proc
local function rss_kb()
  if not RSS_MEANINGFUL then return nil end
  local f = io.open("/proc/self/statm")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return tonumber(s:match("^%d+%s+(%d+)")) * PAGE / 1024
end

local function full_gc()
  collectgarbage()
  collectgarbage()
end

-- Run fn(i) n times (after a warm-up of min(n, 1000) rounds) and return the
-- growth of the Lua heap and of the RSS, in KiB.  A full collection every
-- 1,000 rounds stands in for a long-running program's GC: the collector
-- cannot see the C memory (a libcurl handle, some KB) behind a small client
-- userdata, so on LuaJIT unreachable clients otherwise pile up between
-- cycles and push the RSS high-water mark up (freed, but not given back).
local function growth(n, fn)
  for i = 1, math.min(n, 1000) do fn(i) end
  full_gc()
  local kb0, rss0 = collectgarbage("count"), rss_kb()
  for i = 1, n do
    fn(i)
    if i % 1000 == 0 then collectgarbage() end
  end
  full_gc()
  local kb1, rss1 = collectgarbage("count"), rss_kb()
  return kb1 - kb0, rss0 and (rss1 - rss0) or 0
end

-- Generous: a leak of ~100 bytes per client over 100,000 clients is 10 MB.
local MAX_HEAP_KB, MAX_RSS_KB = 1024, 8 * 1024

local FACTOR_JSON = '{"sid":"YF' .. string.rep("0", 32) .. '","account_sid":"AC' .. string.rep("0", 32)
  .. '","service_sid":"' .. SVC .. '","identity":"' .. ID .. '","status":"unverified","factor_type":"totp",'
  .. '"config":{"alg":"sha1","skew":1,"code_length":6,"time_step":30},"metadata":null}'
-- A stub transport: every request answers with FACTOR_JSON.
local function stub_transport()
  return { status = 200, headers = { ["Twilio-Request-Id"] = "RQ1" }, body = FACTOR_JSON }
end

describe("lifetime", function()
  local e, opts

  setup(function()
    e = emulator.start{ no_limits = true }
    opts = { account_sid = e.account_sid, auth_token = e.auth_token, base_url = e.base_url, max_retries = 0 }
  end)

  teardown(function()
    if e then e:stop() end
  end)

  before_each(function() e:reset() end)

  local function new(extra)
    local o = {}
    for k, v in pairs(opts) do o[k] = v end
    for k, v in pairs(extra or {}) do o[k] = v end
    return assert(verify.new(o))
  end

  local function totp(c, name)
    return assert(c:create_factor(SVC, ID, { friendly_name = name or "phone", factor_type = "totp" }))
  end

  describe("creating and dropping clients returns memory", function()
    it(N .. " clients without a request", function()
      local heap, rss = growth(N, function() new() end)
      assert.is_true(heap < MAX_HEAP_KB, "Lua heap grew by " .. heap .. " KiB")
      assert.is_true(rss < MAX_RSS_KB, "RSS grew by " .. rss .. " KiB")
    end)

    it(N .. " clients, each closed explicitly", function()
      local heap, rss = growth(N, function() new():close() end)
      assert.is_true(heap < MAX_HEAP_KB, "Lua heap grew by " .. heap .. " KiB")
      assert.is_true(rss < MAX_RSS_KB, "RSS grew by " .. rss .. " KiB")
    end)

    it(N .. " clients, each making a request (stub transport: build, parse, convert)", function()
      local heap, rss = growth(N, function()
        local c = new{ transport = stub_transport }
        local f = assert(c:fetch_factor(SVC, ID, "YF" .. string.rep("0", 32)))
        assert(f.config.skew == 1)
      end)
      assert.is_true(heap < MAX_HEAP_KB, "Lua heap grew by " .. heap .. " KiB")
      assert.is_true(rss < MAX_RSS_KB, "RSS grew by " .. rss .. " KiB")
    end)

    it(N_CURL .. " clients, each making a libcurl request to the emulator", function()
      local sid = totp(new(), "kept").sid
      local heap, rss = growth(N_CURL, function(i)
        local c = new()
        if i % 2 == 0 then
          assert(c:fetch_factor(SVC, ID, sid))
        else
          local f, err = c:fetch_factor(SVC, ID, "YF" .. string.rep("0", 32))
          assert(f == nil and err.status == 404)
        end
        if i % 3 == 0 then c:close() end
      end)
      assert.is_true(heap < MAX_HEAP_KB, "Lua heap grew by " .. heap .. " KiB")
      assert.is_true(rss < MAX_RSS_KB, "RSS grew by " .. rss .. " KiB")
    end)

    it("a dropped client is collected (__gc runs) and nothing keeps it alive", function()
      local weak = setmetatable({}, { __mode = "v" })
      do
        local c = new()
        totp(c)
        weak[1] = c
      end
      full_gc()
      assert.is_nil(weak[1])
    end)
  end)

  describe("close", function()
    it("is idempotent: close, __close and __gc in any order", function()
      local c = new()
      assert.is_false(c:is_closed())
      c:close()
      c:close()
      assert.is_true(c:is_closed())
      if _VERSION == "Lua 5.4" then
        -- compiled at run time: `<close>` does not parse on 5.1/LuaJIT
        assert(load([[
          local new, SVC, ID = ...
          do
            local d <close> = new()
            d:close()
          end -- __close after close
          do
            local d <close> = new()
            assert(d:list_factor(SVC, ID))
          end -- __close only
        ]]))(new, SVC, ID)
      else -- no to-be-closed variables: call the metamethod as 5.4 would
        local d = new()
        d:close()
        getmetatable(d).__close(d)
        d = new()
        assert(d:list_factor(SVC, ID))
        getmetatable(d).__close(d)
        assert.is_true(d:is_closed())
      end
      c = nil -- luacheck: ignore 311
      full_gc() -- __gc after close
    end)

    it("wipes the state: tostring shows no credentials, accessors give nil", function()
      local c = new()
      c:close()
      local s = tostring(c)
      assert.matches("closed", s)
      assert.is_nil(s:find(e.auth_token, 1, true))
      assert.is_nil(s:find(e.account_sid, 1, true))
      assert.is_nil(c:base_url())
      assert.is_nil(c:user_agent())
    end)

    -- Every public method of a client, with valid arguments: every row of
    -- the operation table and its iterator (support/rows.lua makes their
    -- arguments from the row), and the methods the Lua layer adds, listed
    -- here.  A method added to the client without an entry fails the
    -- "covers" test below.
    local SID = "YF" .. string.rep("0", 32)
    local calls = {
      verify_factor = { SVC, ID, SID, "123456" },
      list_page = { "http://127.0.0.1:1/v2/Services/" .. SVC .. "/Entities/" .. ID .. "/Factors" },
      list_page_url = { "http://127.0.0.1:1/v2/Services/" .. SVC .. "/Entities/" .. ID .. "/Factors" },
      batch = { { { op = "fetch", service_sid = SVC, identity = ID, sid = SID } } },
      sign_in = { SVC, ID, SID, "123456" },
      verify_passkey_factor = { SVC, { response = { attestationObject = "o2Nm", clientDataJSON = "e30" } } },
      approve_passkey_challenge = { SVC, { id = "aWQ", rawId = "aWQ", authenticatorAttachment = "platform",
        response = { authenticatorData = string.rep("A", 50), clientDataJSON = "e30", signature = "c2ln" } } },
      check_passkey = { SVC, { id = "aWQ", rawId = "aWQ", authenticatorAttachment = "platform",
        response = { authenticatorData = string.rep("A", 50), clientDataJSON = "e30", signature = "c2ln" } } },
      passkey_sign_in = { SVC, {}, function() return nil end },
      send_code = { SVC, "+15551234567", { channel = "sms" } },
      check_code = { SVC, "+15551234567", "123456" },
    }
    local iterator_args = {}
    for _, op in ipairs(verify.operations) do
      calls[op.name] = rows.call_args(op, { service_sid = SVC, identity = ID })
      if op.list_key then
        calls[op.list_key] = "iterator"
        iterator_args[op.list_key] = rows.path_args(op, { service_sid = SVC, identity = ID })
      end
    end
    local not_operations = { close = true, is_closed = true, base_url = true, user_agent = true }

    it("covers every public method of the client", function()
      local methods = getmetatable(new()).__index
      for name in pairs(methods) do
        if type(name) == "string" and name:sub(1, 1) ~= "_" and not not_operations[name] then
          assert.is_not_nil(calls[name], "client method '" .. name .. "' is not covered by lifetime_spec")
        end
      end
    end)

    for _, transport in ipairs{ "libcurl", "lua" } do
      it("makes every method fail with kind 'closed' (" .. transport .. " transport)", function()
        local c = new{ transport = transport == "lua" and verify.curl_transport or nil }
        c:close()
        for name, args in pairs(calls) do
          local v, err
          if args == "iterator" then
            local a = iterator_args[name]
            local it = c[name](c, table.unpack(a))
            v, err = it:next()
            assert.is_nil(v, name)
            local ok, raised = pcall(function() for _ in c[name](c, table.unpack(a)) do end end)
            assert.is_false(ok, name)
            assert.equal("closed", raised.kind, name)
          else
            v, err = c[name](c, table.unpack(args))
          end
          assert.is_nil(v, name)
          assert.is_table(err, name)
          assert.equal("closed", err.kind, name)
          assert.is_false(err.retryable, name)
          assert.is_truthy(tostring(err):find("closed", 1, true), name)
          assert.is_nil(e:last_request(), name .. " sent a request")
        end
      end)
    end
  end)

  describe("objects outliving their client", function()
    -- three factors, listed one per page
    local function fixture()
      local c = new()
      for i = 1, 3 do totp(c, "f" .. i) end
      local page = assert(c:list_factor(SVC, ID, { page_size = 1 }))
      local it = c:factors(SVC, ID, { page_size = 1 })
      local first = assert(it:next())
      return c, page, it, page.factors[1], first
    end

    it("keep an unreferenced client alive and usable until they go", function()
      local weak = setmetatable({}, { __mode = "v" })
      local c, page, it, f = fixture()
      weak[1] = c
      c = nil -- luacheck: ignore 311
      full_gc()
      assert.is_not_nil(weak[1]) -- held by the factor/page/iterator, as documented
      assert.equal(f, f:fetch())
      assert(page:next_page())
      assert(it:next())
      f, page, it = nil, nil, nil -- luacheck: ignore 311
      full_gc()
      assert.is_nil(weak[1]) -- and collected once they are gone
    end)

    it("fail with 'closed' once the client is closed (README: factor objects)", function()
      local c, page, it, f, first = fixture()
      c:close()
      e:clear_requests()
      for name, call in pairs{
        fetch = function() return f:fetch() end,
        update = function() return f:update{ friendly_name = "y" } end,
        delete = function() return f:delete() end,
        verify = function() return f:verify("123456") end,
        iterated_factor = function() return first:fetch() end,
        next_page = function() return page:next_page() end,
        iterator = function() return it:next() end,
      } do
        local v, err = call()
        assert.is_nil(v, name)
        assert.equal("closed", err and err.kind, name)
      end
      assert.is_nil(page:previous_page()) -- the first page has none: nil, no error
      assert.is_nil(it:next()) -- after an error the iterator stays finished
      assert.is_nil(e:last_request())
    end)

    it("raise the closed error from a for loop over a closed client's iterator", function()
      local c = new()
      totp(c)
      local it = c:factors(SVC, ID)
      c:close()
      local ok, err = pcall(function() for _ in it do end end)
      assert.is_false(ok)
      assert.equal("closed", err.kind)
    end)
  end)

  describe("early exits leave nothing behind", function()
    for _, transport in ipairs{ "libcurl", "lua" } do
      local tr = transport == "lua" and verify.curl_transport or nil

      it("a raising log hook, many times (" .. transport .. ")", function()
        local raising = true
        local c = new{ transport = tr, log = function() if raising then error({ hook = true }) end end }
        local heap = growth(300, function()
          local v, err, herr = c:list_factor(SVC, ID)
          assert(v and err == nil and type(herr) == "table" and herr.hook)
        end)
        assert.is_true(heap < MAX_HEAP_KB, "Lua heap grew by " .. heap .. " KiB")
        raising = false
        assert(c:list_factor(SVC, ID)) -- the client is fine afterwards
      end)

      it("a raising on_retry hook during retries (" .. transport .. ")", function()
        local c = new{ transport = tr, max_retries = 3, retry_base = 0.001, retry_cap = 0.002,
                       on_retry = function() error("retry hook") end }
        e:fault{ action = "status", status = 503, times = 2 }
        local v, err, herr = c:list_factor(SVC, ID)
        assert.is_table(v, tostring(err))
        assert.matches("retry hook", tostring(herr))
        e:clear_faults()
        assert(c:list_factor(SVC, ID))
      end)

      it("a hook that closes the client mid-operation (" .. transport .. ")", function()
        local c
        c = new{ transport = tr, log = function() c:close() end }
        -- the log hook runs once the response is in: the operation in
        -- progress still returns its (empty) page; the close takes effect
        -- from the next call on
        local page, perr = c:list_factor(SVC, ID)
        assert.is_nil(perr)
        assert.equal("twilio.verify.page", getmetatable(page).__name)
        assert.same({}, page.factors)
        assert.is_true(c:is_closed())
        local v, err = c:list_factor(SVC, ID)
        assert.is_nil(v)
        assert.equal("closed", err.kind)
      end)

      it("iterators abandoned mid-way (" .. transport .. ")", function()
        local c = new{ transport = tr }
        for i = 1, 7 do totp(c, "f" .. i) end
        local heap = growth(100, function(i)
          local n = 0
          for _ in c:factors(SVC, ID, { page_size = 2 }) do
            n = n + 1
            if n == 1 + i % 5 then break end
          end
          local it = c:factors(SVC, ID, { page_size = 3 })
          it:next() -- one page fetched, then dropped with the iterator
        end)
        assert.is_true(heap < MAX_HEAP_KB, "Lua heap grew by " .. heap .. " KiB")
      end)
    end

    it("a batch whose progress callback raises", function()
      local c = new()
      local f = totp(c)
      local ops = {}
      for i = 1, 20 do ops[i] = { op = "fetch", service_sid = SVC, identity = ID, sid = f.sid } end
      for _ = 1, 20 do
        local ok, err = pcall(c.batch, c, ops, { concurrency = 4, on_progress = function() error("stop") end })
        assert.is_false(ok)
        assert.matches("stop", tostring(err))
      end
      assert(c:fetch_factor(SVC, ID, f.sid))
    end)

    -- Failures while a response is decoded or converted: truncated and
    -- oversized bodies, nesting at and past the limits, a body cut mid-way.
    -- (Memory errors in the middle of the JSON -> Lua walk are driven by the
    -- json_lua fuzz harness's allocation budget; its inputs are replayed by
    -- spec/c/test_fuzz_replay.c under make asan and make valgrind.)
    it("responses that fail while being decoded or converted", function()
      local c = new{ max_body = 4096 }
      local f = totp(c)
      local cases = {
        { action = "truncated" }, { action = "not_json" }, { action = "deep", depth = 100000 },
        { action = "deep", depth = 999 }, { action = "oversize", bytes = 100000 },
        { action = "close_mid_body" }, { action = "wrong_shape" },
      }
      for _ = 1, 5 do
        for _, fault in ipairs(cases) do
          e:fault(fault)
          local v, err = c:fetch_factor(SVC, ID, f.sid)
          assert.is_nil(v, fault.action)
          if fault.action == "close_mid_body" then
            -- a body cut mid-way is a transport error (not retried: max_retries = 0)
            assert.equal("transport", err.kind, fault.action .. ": " .. tostring(err))
          else
            -- everything else is a complete 200 that cannot become a factor
            assert.equal("decode", err.kind, fault.action .. ": " .. tostring(err))
          end
        end
      end
      for _, depth in ipairs{ 998, 999, 1000, 1001, 5000 } do
        local body = string.rep('{"a":', depth) .. "1" .. string.rep("}", depth)
        for _, op in ipairs{ "fetch", "list" } do
          -- a 200 of nested {"a":...}: never raises, always a decode error
          -- (not a factor / not a page at any depth; too deep past the limit)
          local ok, v, err = pcall(core.parse_response, op, 200, body)
          assert.is_true(ok, tostring(v))
          assert.is_nil(v, op .. " " .. depth)
          assert.equal("decode", err.kind, op .. " " .. depth)
          -- a 400 whose details nest that deep: still the http error of the
          -- status (the body only adds what it can: its code while the
          -- nesting is within the limit)
          ok, v, err = pcall(core.parse_response, op, 400, '{"code":1,"details":' .. body .. "}")
          assert.is_true(ok, tostring(v))
          assert.is_nil(v, op .. " 400 " .. depth)
          assert.equal("http", err.kind, op .. " 400 " .. depth)
          assert.equal(400, err.status, op .. " 400 " .. depth)
          if depth < 1000 then assert.equal(1, err.code, op .. " 400 " .. depth) end
        end
      end
      full_gc()
    end)
  end)
end)
