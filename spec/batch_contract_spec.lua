-- One contract for client:batch, whichever engine runs it: the libcurl
-- multi engine (no transport) and the Lua engine (a Lua transport, here
-- verify.curl_transport).  Every case runs on both against a freshly reset
-- emulator and must give the same results and send the same requests.
local verify = require "twilio.verify"
local fixture = require "support.fixture"

local SVC = "VA" .. string.rep("c0", 16)
local ID = "contract-user-0001"

local function sid(i) return string.format("YF%032x", i) end

local function seed()
  local factors = {}
  for i = 1, 6 do
    factors[i] = { service_sid = SVC, identity = ID, factor_type = "totp", friendly_name = "f" .. i, sid = sid(i) }
  end
  return { factors = factors }
end

local function strip(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do
    if k ~= "date_created" and k ~= "date_updated" then out[k] = strip(x) end
  end
  return out
end

local function norm(res)
  local out = {}
  for i, r in ipairs(res) do
    if r.err then
      local e = r.err
      out[i] = { err = { kind = e.kind, param = e.param, status = e.status, code = e.code, message = e.message } }
    else
      out[i] = { ok = strip(r.ok) }
    end
  end
  return out
end

local ENGINES = { { "libcurl", nil }, { "lua", verify.curl_transport } }

describe("batch contract (both engines)", function()
  local e

  fixture.emulator({ reset = false, no_limits = true, seed = seed() }, false, function(em) e = em end)

  -- run(client) -> anything comparable; returns { [engine] = { value, requests } }
  local function both(run, extra)
    local got = {}
    for _, eng in ipairs(ENGINES) do
      e:reset()
      local o = { retry_base = 0.001, retry_cap = 0.002, transport = eng[2] }
      for k, v in pairs(extra or {}) do o[k] = v end
      local c = e:client(o)
      local v = run(c)
      got[eng[1]] = { v, e:stats().total }
      c:close()
    end
    assert.same(got.libcurl, got.lua)
    return got.libcurl[1], got.libcurl[2]
  end

  it("an invalid op is its own invalid_argument result and does not trigger fail_fast", function()
    local res, total = both(function(c)
      return norm(assert(c:batch({
        { op = "fetch", service_sid = SVC, identity = ID, sid = sid(1) },
        { op = "fetch", service_sid = SVC, identity = ID, sid = "YF-bad" },
        { op = "rename", service_sid = SVC },
        "not a table",
        { op = "fetch", service_sid = SVC, identity = ID, sid = sid(2), extra = 1 },
        { op = "update", service_sid = SVC, identity = ID, sid = sid(3), params = { frendly_name = "x" } },
        { op = "fetch", service_sid = SVC, identity = ID, sid = sid(4) },
      }, { concurrency = 1, fail_fast = true })))
    end)
    assert.equal(sid(1), res[1].ok.sid)
    assert.same({ "invalid_argument", "sid" }, { res[2].err.kind, res[2].err.param })
    assert.equal("op", res[3].err.param)
    assert.equal("ops", res[4].err.param)
    assert.equal("extra", res[5].err.param)
    assert.equal("frendly_name", res[6].err.param)
    assert.equal(sid(4), res[7].ok.sid)
    assert.equal(2, total)
  end)

  it("validates every op before anything is sent: a raise while reading sends nothing", function()
    local _, total = both(function(c)
      local ok, msg = pcall(c.batch, c, {
        { op = "fetch", service_sid = SVC, identity = ID, sid = sid(1) },
        setmetatable({}, { __index = function() error("boom") end }),
      })
      local after = c:batch({ { op = "fetch", service_sid = SVC, identity = ID, sid = sid(1) } })
      return { ok, tostring(msg):match("boom"), after and after[1].ok and after[1].ok.sid }
    end)
    assert.equal(1, total) -- only the batch after it
  end)

  it("fail_fast: a real failure skips what was never sent", function()
    local res, total = both(function(c)
      return norm(assert(c:batch({
        { op = "fetch", service_sid = SVC, identity = ID, sid = sid(999) },
        { op = "fetch", service_sid = SVC, identity = ID, sid = sid(1) },
        { op = "fetch", service_sid = SVC, identity = ID, sid = sid(2) },
      }, { concurrency = 1, fail_fast = true })))
    end)
    assert.equal(404, res[1].err.status)
    assert.equal("skipped", res[2].err.kind)
    assert.equal("skipped", res[3].err.kind)
    assert.equal(1, total)
  end)

  it("fail_fast: a list that has started finishes its pages", function()
    local res, total = both(function(c)
      return norm(assert(c:batch({
        { op = "list", service_sid = SVC, identity = ID, params = { page_size = 1 } },
        { op = "fetch", service_sid = SVC, identity = ID, sid = sid(999) },
        { op = "fetch", service_sid = SVC, identity = ID, sid = sid(1) },
      }, { concurrency = 1, fail_fast = true })))
    end)
    assert.equal(6, #res[1].ok)
    assert.equal(404, res[2].err.status)
    assert.equal("skipped", res[3].err.kind)
    assert.equal(7, total)
  end)

  it("list ops take the list operation's parameters, checked by the same rules", function()
    for _, params in ipairs{
      { page = 0 }, { page_size = 2 }, { page_size = 2, page = 0 }, { limit = 1 }, { page_size = 0 },
      { page_size = "2" }, { factor_type = "totp" }, { page_url = "x" }, {},
    } do
      both(function(c)
        return norm(assert(c:batch({ { op = "list", service_sid = SVC, identity = ID, params = params } })))
      end)
    end
    local res = both(function(c)
      return norm(assert(c:batch({
        { op = "list", service_sid = SVC, identity = ID, params = { page = 0 } },
        { op = "list", service_sid = SVC, identity = ID, params = { limit = 1 } },
        { op = "list_entity", service_sid = SVC, params = { page_size = 1 } },
      })))
    end)
    assert.equal(6, #res[1].ok)
    assert.same({ "invalid_argument", "limit" }, { res[2].err.kind, res[2].err.param })
    assert.equal(1, #res[3].ok)
  end)

  it("mixed operations give the same values", function()
    both(function(c)
      return norm(assert(c:batch({
        { op = "fetch", service_sid = SVC, identity = ID, sid = sid(1) },
        { op = "update", service_sid = SVC, identity = ID, sid = sid(2), params = { friendly_name = "renamed" } },
        { op = "delete", service_sid = SVC, identity = ID, sid = sid(3) },
        { op = "list", service_sid = SVC, identity = ID, params = { page_size = 4 } },
        { op = "fetch_entity", service_sid = SVC, identity = ID },
        { op = "fetch", service_sid = SVC, identity = ID, sid = sid(3) },
      }, { concurrency = 1 })))
    end)
  end)

  it("a looping next_page_url is a decode error in both", function()
    local res, total = both(function(c)
      local p = assert(c:list_factor(SVC, ID, { page_size = 2 }))
      e:fault{ action = "next_page_url", url = p.meta.url, times = 100000, match = { op = "list" } }
      return norm(assert(c:batch({ { op = "list", service_sid = SVC, identity = ID, params = { page_size = 2 } } })))
    end)
    assert.equal("decode", res[1].err.kind)
    assert.equal(2, total)
  end)

  it("max_pages caps a batch list in both", function()
    local res = both(function(c)
      return norm(assert(c:batch({ { op = "list", service_sid = SVC, identity = ID, params = { page_size = 2 } } })))
    end, { max_pages = 2 })
    assert.matches("max_pages", res[1].err.message)
  end)

  it("options are checked the same way", function()
    both(function(c)
      local out = {}
      for i, o in ipairs{ { concurrency = 0 }, { concurrency = 65 }, { max_rps = 0 }, { max_rps = 0.0001 },
                          { max_rps = 1e6 }, { concurency = 1 }, { on_progress = 1 } } do
        local v, err = c:batch({ { op = "fetch", service_sid = SVC, identity = ID, sid = sid(1) } }, o)
        out[i] = { v == nil, err and err.kind, err and err.param }
      end
      return out
    end)
  end)

  describe("#9 fail_fast keeps the error of an op that was sent", function()
    it("libcurl: an op waiting for its retry ends with its 503, not skipped", function()
      e:reset()
      local c = e:client{ retry_after_cap = 5 }
      e:faults{
        { action = "status", status = 503, retry_after = "1", match = { path_contains = sid(1) } },
        { action = "delay", delay_ms = 200, match = { path_contains = sid(999) } },
      }
      local res = assert(c:batch({
        { op = "fetch", service_sid = SVC, identity = ID, sid = sid(1) },
        { op = "fetch", service_sid = SVC, identity = ID, sid = sid(999) },
      }, { concurrency = 2, fail_fast = true }))
      assert.equal("http", res[1].err.kind)
      assert.equal(503, res[1].err.status)
      assert.equal(404, res[2].err.status)
      assert.equal(2, e:stats().total)
      c:close()
    end)

    it("lua engine (threads): an op waiting for its retry ends with its 503, not retried", function()
      -- a minimal ngx.thread / ngx.sleep on coroutines (round robin)
      local threads = {}
      local function step_all()
        for _, t in ipairs(threads) do
          if coroutine.status(t) == "suspended" then assert(coroutine.resume(t)) end
        end
      end
      local fake = {
        get_phase = function() return "content" end,
        sleep = function() coroutine.yield() end,
        thread = {
          spawn = function(f)
            local co = coroutine.create(f)
            threads[#threads + 1] = co
            assert(coroutine.resume(co))
            return co
          end,
          wait = function(co)
            while coroutine.status(co) ~= "dead" do step_all() end
            return true
          end,
        },
      }
      local calls = {}
      local c = assert(verify.new{ account_sid = "AC" .. string.rep("0", 32), auth_token = "t",
        base_url = "http://127.0.0.1:9", transport = function(req)
          calls[#calls + 1] = req.url
          if req.url:find(sid(1), 1, true) and #calls == 1 then
            return { status = 503, headers = { ["Retry-After"] = "1" }, body = '{"code":20503,"message":"busy"}' }
          end
          if req.url:find(sid(999), 1, true) then
            return { status = 404, headers = {}, body = '{"code":20404,"message":"not found","status":404}' }
          end
          return { status = 200, headers = {}, body = '{"sid":"' .. sid(1) .. '"}' }
        end })
      rawset(_G, "ngx", fake)
      local ok, res = pcall(c.batch, c, {
        { op = "fetch", service_sid = SVC, identity = ID, sid = sid(1) },
        { op = "fetch", service_sid = SVC, identity = ID, sid = sid(999) },
        { op = "fetch", service_sid = SVC, identity = ID, sid = sid(2) },
      }, { concurrency = 2, fail_fast = true })
      rawset(_G, "ngx", nil)
      assert(ok, res)
      assert.equal(503, res[1].err.status)
      assert.equal(404, res[2].err.status)
      assert.equal("skipped", res[3].err.kind)
      assert.equal(2, #calls)
    end)
  end)
end)
