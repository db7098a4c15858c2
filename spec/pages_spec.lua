-- Pages, lazy iterators, limits, resumption, same-origin page URLs and
-- factor objects, against the emulator.
local verify = require "twilio.verify"
local emulator = require "support.emulator"

local SVC = "VA" .. string.rep("cd", 16)

describe("pages and iterators", function()
  local e, other, client
  local n_ident = 0

  setup(function()
    e = emulator.start{ no_limits = true }
    other = emulator.start{}
    client = e:client{ max_retries = 0 }
  end)

  teardown(function()
    if client then client:close() end
    if e then e:stop() end
    if other then other:stop() end
  end)

  -- a fresh identity with n TOTP factors; returns identity and sids in order
  local function entity(n)
    n_ident = n_ident + 1
    local id = string.format("iter-user-%04d", n_ident)
    local sids = {}
    for i = 1, n do
      sids[i] = assert(client:create_factor(SVC, id, { friendly_name = "f" .. i, factor_type = "totp" })).sid
    end
    return id, sids
  end

  local function all(id, params)
    local got = {}
    for f in client:factors(SVC, id, params) do got[#got + 1] = f.sid end
    return got
  end

  local function list_requests()
    return e:stats().requests.list
  end

  it("iterates 0, 1, exactly one page, several pages and a partial last page", function()
    local id0 = entity(0)
    assert.same({}, all(id0))
    local id1, s1 = entity(1)
    assert.same(s1, all(id1))
    local id5, s5 = entity(5)
    local before = list_requests()
    assert.same(s5, all(id5, { page_size = 5 }))
    assert.equal(1, list_requests() - before) -- exactly one page: no extra request
    local id11, s11 = entity(11)
    before = list_requests()
    assert.same(s11, all(id11, { page_size = 4 })) -- 4 + 4 + 3
    assert.equal(3, list_requests() - before)
  end)

  it("applies limit smaller than, equal to and larger than the total", function()
    local id, sids = entity(9)
    assert.same({ sids[1], sids[2], sids[3], sids[4] }, all(id, { limit = 4, page_size = 3 }))
    assert.same(sids, all(id, { limit = 9, page_size = 3 }))
    assert.same(sids, all(id, { limit = 100, page_size = 3 }))
    -- only limit given: page_size = min(limit, 1000), so one request
    local before = list_requests()
    assert.same({ sids[1], sids[2] }, all(id, { limit = 2 }))
    assert.equal(1, list_requests() - before)
    assert.matches("PageSize=2", e:last_request().query)
  end)

  it("limit = 0 yields nothing and sends no request", function()
    local id = entity(3)
    local before = e:stats().total
    assert.same({}, all(id, { limit = 0 }))
    assert.equal(before, e:stats().total)
  end)

  it("rejects bad iterator arguments before any request", function()
    local before = e:stats().total
    for _, p in ipairs{ { page_size = 0 }, { page_size = 1001 }, { limit = -1 }, { limit = 1.5 }, { lmit = 3 } } do
      -- no raise: the error as a second value, and the iterator's first step
      local it, err = client:factors(SVC, "iter-user-x", p)
      assert.equal("invalid_argument", err.kind)
      local f, ierr = it:next()
      assert.is_nil(f)
      assert.equal(err, ierr)
    end
    assert.equal(before, e:stats().total)
  end)

  it("fetches pages lazily and holds at most one page", function()
    local id, sids = entity(10)
    local before = list_requests()
    local it = client:factors(SVC, id, { page_size = 2 })
    assert.equal(0, list_requests() - before)
    assert.equal(sids[1], it:next().sid)
    assert.equal(1, list_requests() - before)
    assert.equal(sids[2], it:next().sid)
    assert.equal(1, list_requests() - before)
    assert.equal(sids[3], it:next().sid)
    assert.equal(2, list_requests() - before)
    assert.is_true(#it.items <= 2)
  end)

  it("leaves nothing referenced after an early break", function()
    local id = entity(6)
    local weak = setmetatable({}, { __mode = "v" })
    do
      local it = client:factors(SVC, id, { page_size = 2 })
      weak.it = it
      for f in it do
        weak.f = f
        break
      end
    end
    collectgarbage()
    collectgarbage()
    assert.is_nil(weak.it)
    assert.is_nil(weak.f)
    -- the client is still usable: nothing pending
    assert.is_table(client:list_factor(SVC, id))
  end)

  it("raises the structured error when page 3 fails (loop form)", function()
    local id = entity(7)
    local n = 0
    local ok, raised = pcall(function()
      for _ in client:factors(SVC, id, { page_size = 2 }) do
        n = n + 1
        if n == 4 then e:fault{ action = "status", status = 500, code = 20500, match = { op = "list" } } end
      end
    end)
    assert.is_false(ok)
    assert.equal(4, n)
    local err = verify.error_of(raised) -- (Lua 5.1 raises the message string)
    assert.equal("http", err.kind)
    assert.equal(500, err.status)
    assert.matches("http error 500", tostring(err))
  end)

  it("returns nil, err from :next() on failure and stops", function()
    local id = entity(5)
    local it = client:factors(SVC, id, { page_size = 2 })
    assert.is_table(it:next())
    assert.is_table(it:next())
    e:fault{ action = "not_json", match = { op = "list" } }
    local f, err = it:next()
    assert.is_nil(f)
    assert.equal("decode", err.kind)
    assert.is_nil(it:next()) -- stays finished
  end)

  it("collects with the same limit semantics", function()
    local id, sids = entity(5)
    assert.same(sids, (function()
      local out = {}
      for i, f in ipairs(assert(verify.collect(client:factors(SVC, id, { page_size = 2 })))) do out[i] = f.sid end
      return out
    end)())
    assert.equal(3, #assert(verify.collect(client:factors(SVC, id, { limit = 3 }))))
    assert.equal(2, #assert(verify.collect(client:factors(SVC, id), 2)))
    e:fault{ action = "status", status = 503, match = { op = "list" } }
    local v, err = verify.collect(client:factors(SVC, id))
    assert.is_nil(v)
    assert.equal(503, err.status)
  end)

  it("navigates next and previous pages and resumes from a token or URL", function()
    local id, sids = entity(5)
    local p1 = assert(client:list_factor(SVC, id, { page_size = 2 }))
    assert.equal(sids[1], p1.factors[1].sid)
    assert.is_nil(p1:previous_page())
    local p2 = assert(p1:next_page())
    assert.equal(sids[3], p2.factors[1].sid)
    local p3 = assert(p2:next_page())
    assert.same({ sids[5] }, { p3.factors[1].sid, p3.factors[2] and p3.factors[2].sid })
    assert.is_nil(p3:next_page())
    local back = assert(p3:previous_page())
    assert.equal(sids[3], back.factors[1].sid)
    -- resume from a saved token
    local token = p1.meta.next_page_url:match("PageToken=([^&]+)")
    local r = assert(client:list_factor(SVC, id, { page_size = 2, page_token = token }))
    assert.equal(sids[3], r.factors[1].sid)
    -- resume from a saved page URL (page object or iterator)
    local saved = p2.meta.url
    assert.equal(sids[3], assert(client:list_page(saved)).factors[1].sid)
    local rest = {}
    for f in client:factors(SVC, id, { page_url = saved }) do rest[#rest + 1] = f.sid end
    assert.same({ sids[3], sids[4], sids[5] }, rest)
  end)

  it("refuses a next_page_url on another host without contacting it", function()
    local id = entity(4)
    local foreign = other.base_url .. "/v2/Services/" .. SVC .. "/Entities/" .. id .. "/Factors?PageSize=2&Page=1"
    e:fault{ action = "next_page_url", url = foreign, match = { op = "list" } }
    local p1 = assert(client:list_factor(SVC, id, { page_size = 2 }))
    assert.equal(foreign, p1.meta.next_page_url)
    local p2, err = p1:next_page()
    assert.is_nil(p2)
    assert.equal("invalid_argument", err.kind)
    assert.matches("refusing", err.message)
    -- the iterator refuses it too, raising
    e:fault{ action = "next_page_url", url = foreign, match = { op = "list" } }
    local ok, ierr = pcall(function() for _ in client:factors(SVC, id, { page_size = 2 }) do end end)
    assert.is_false(ok)
    assert.matches("refusing", verify.error_of(ierr).message) -- (Lua 5.1 raises the message string)
    local _, err2 = client:factors(SVC, id, { page_url = foreign })
    assert.equal("invalid_argument", err2.kind)
    assert.equal(0, other:stats().total)
  end)

  describe("factor objects", function()
    it("are plain tables with methods bound to the client", function()
      local id = entity(1)
      local f = assert(client:list_factor(SVC, id)).factors[1]
      local keys = {}
      for k in pairs(f) do keys[#keys + 1] = k end
      assert.is_true(#keys >= 12)
      assert.is_nil(rawget(f, "fetch"))
      assert.is_nil(rawget(f, "client"))
      -- fetch refreshes in place and returns the same table
      assert(client:update_factor(SVC, id, f.sid, { friendly_name = "changed elsewhere" }))
      assert.equal(f, assert(f:fetch()))
      assert.equal("changed elsewhere", f.friendly_name)
      assert.equal(f, assert(f:update{ friendly_name = "via object" }))
      assert.equal("via object", f.friendly_name)
      assert.matches("^twilio.verify.factor YF", tostring(f))
      assert.is_true(f:delete())
      local _, err = f:fetch()
      assert.equal(404, err.status)
    end)

    it("verify() is true for the right code and false (not an error) for a wrong one", function()
      local id = string.format("verify-user-%04d", n_ident + 100)
      local created = assert(client:create_factor(SVC, id, { friendly_name = "app", factor_type = "totp" }))
      local f = assert(client:fetch_factor(SVC, id, created.sid))
      local t = 1700000000
      e:set_clock(t)
      local wrong = verify.totp.code(created.binding.secret, { time = t - 3600 })
      assert.is_false(f:verify(wrong))
      assert.equal("unverified", f.status)
      assert.is_true(f:verify(verify.totp.code(created.binding.secret, { time = t })))
      assert.equal("verified", f.status)
      e:set_clock(nil)
    end)

    it("fail clearly once their client is closed", function()
      local c2 = e:client()
      local id = entity(1)
      local f = assert(c2:list_factor(SVC, id)).factors[1]
      c2:close()
      local v, err = f:fetch()
      assert.is_nil(v)
      assert.equal("closed", err.kind)
      local it_ok, it_err = pcall(function() for _ in c2:factors(SVC, id) do end end)
      assert.is_false(it_ok)
      assert.equal("closed", verify.error_of(it_err).kind) -- (Lua 5.1 raises the message string)
    end)
  end)
end)
