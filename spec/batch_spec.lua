-- Concurrent batches over libcurl's multi interface, against the emulator.
local verify = require "twilio.verify"
local fixture = require "support.fixture"

local SVC = "VA" .. string.rep("ba", 16)
local N_IDS, PER_ID = 40, 12 -- 480 seeded factors

local function sid(i) return string.format("YF%032x", i) end
local function ident(i) return string.format("batch-user-%04d", i) end

local function seed()
  local factors = {}
  for u = 1, N_IDS do
    for k = 1, PER_ID do
      local i = (u - 1) * PER_ID + k
      factors[#factors + 1] = { service_sid = SVC, identity = ident(u), factor_type = "totp",
                                friendly_name = "seeded " .. i, sid = sid(i) }
    end
  end
  return { factors = factors }
end

-- 1,000 operations touching disjoint factors, so any interleaving must give
-- the same results as running them one by one
local function mixed_ops()
  local ops = {}
  local i = 0
  for u = 1, N_IDS do
    for k = 1, PER_ID do
      i = i + 1
      local s = sid(i)
      if u <= 10 then
        -- identities 1..10 are only listed (below)
      elseif k <= 4 then
        ops[#ops + 1] = { op = "fetch", service_sid = SVC, identity = ident(u), sid = s }
      elseif k <= 8 then
        ops[#ops + 1] = { op = "update", service_sid = SVC, identity = ident(u), sid = s,
                          params = { friendly_name = "renamed " .. i } }
      else
        ops[#ops + 1] = { op = "delete", service_sid = SVC, identity = ident(u), sid = s }
      end
    end
  end
  for u = 1, 10 do ops[#ops + 1] = { op = "list", service_sid = SVC, identity = ident(u), params = { page_size = 5 } } end
  -- fetches of factors that do not exist (404s), and invalid ops
  while #ops < 990 do
    ops[#ops + 1] = { op = "fetch", service_sid = SVC, identity = ident(1), sid = sid(100000 + #ops) }
  end
  for j = 1, 10 do
    ops[#ops + 1] = { op = "fetch", service_sid = SVC, identity = ident(1), sid = "YF-bad-" .. j }
  end
  return ops
end

local function strip(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do
    if k ~= "date_created" and k ~= "date_updated" and k ~= "request_id" then out[k] = strip(x) end
  end
  return out
end

describe("batch", function()
  local e, client

  fixture.emulator({ no_limits = true, seed = seed() }, { retry_base = 0.001, retry_cap = 0.005, retry_after_cap = 2 },
                   function(em, c) e, client = em, c end)

  it("1,000 mixed operations with concurrency 8 equal running them one by one", function()
    local ops = mixed_ops()
    assert.equal(1000, #ops)
    local progress = {}
    local res, stats = client:batch(ops, { concurrency = 8, on_progress = function(d, t, err)
      progress[#progress + 1] = { d, t, err }
    end })
    assert.equal(1000, #res)
    local st = e:stats()
    assert.is_true(st.peak_concurrency > 1, "peak " .. st.peak_concurrency)
    assert.is_true(st.peak_concurrency <= 8, "peak " .. st.peak_concurrency)
    assert.is_true(stats.peak > 1 and stats.peak <= 8)
    assert.equal(1000, progress[#progress][1])
    assert.equal(1000, progress[#progress][2])
    for k = 2, #progress do assert.is_true(progress[k][1] >= progress[k - 1][1]) end
    -- the invalid ops never reached the server
    assert.equal(990 - 10 + 10 * 3, st.total) -- 980 single requests + 10 lists of 3 pages

    e:reset()
    local seq = {}
    for k, o in ipairs(ops) do
      local v, err
      if o.op == "fetch" then v, err = client:fetch_factor(o.service_sid, o.identity, o.sid)
      elseif o.op == "update" then v, err = client:update_factor(o.service_sid, o.identity, o.sid, o.params)
      elseif o.op == "delete" then v, err = client:delete_factor(o.service_sid, o.identity, o.sid)
      else v, err = verify.collect(client:factors(o.service_sid, o.identity, o.params)) end
      seq[k] = v ~= nil and { ok = v } or { err = err }
    end
    for k = 1, #ops do
      assert.same(strip(seq[k]), strip(res[k]), "op " .. k .. " (" .. ops[k].op .. ")")
    end
    -- spot checks of the shapes
    assert.equal("renamed " .. (10 * PER_ID + 5), res[5].ok.friendly_name)
    assert.is_true(res[9].ok)
    assert.equal("list", ops[361].op)
    assert.equal(PER_ID, #res[361].ok)
    assert.equal(404, res[990].err.status)
    assert.equal("invalid_argument", res[1000].err.kind)
    assert.equal("sid", res[1000].err.param)
    -- results are factor objects bound to the client
    assert.equal(res[1].ok, assert(res[1].ok:fetch()))
  end)

  -- The pause is measured, not inferred from the total time (each 429'd op's
  -- own retry also waits Retry-After, so a batch without the shared pause
  -- takes >= 1 s as well).  Concurrency 3 and three 429s: the first three
  -- requests are all rate-limited, so with the pause nothing at all can
  -- succeed until Retry-After (1 s) after the first 429 came back -- which is
  -- after t0.  Without the pause the freed slots start ops 4.. at once and
  -- they finish within milliseconds.  The clock only ever gives a lower
  -- bound (a loaded machine makes everything later, never earlier), and
  -- 0.9 s leaves 100 ms against clock rounding.
  it("pauses the whole batch on 429 + Retry-After and still completes", function()
    local ops = {}
    for i = 1, 40 do ops[i] = { op = "fetch", service_sid = SVC, identity = ident(20), sid = sid(19 * PER_ID + 1 + (i % PER_ID)) } end
    e:fault{ action = "status", status = 429, code = 20429, retry_after = "1", times = 3 }
    local now = require("twilio.verify.core").now
    local first_done -- seconds after t0 at which the first op had finished
    local t0 = now()
    local res, stats = client:batch(ops, { concurrency = 3, on_progress = function(d)
      if d > 0 and not first_done then first_done = now() - t0 end
    end })
    for i = 1, 40 do assert.is_table(res[i].ok, "op " .. i) end
    assert.equal(3, stats.retries)
    assert.equal(43, e:stats().total)
    assert.is_number(first_done)
    assert.is_true(first_done >= 0.9, "an op finished " .. first_done .. " s in, during the Retry-After pause")
    -- every request the server saw was one of the fetches: 40 + 3 retries
    local log = e:requests()
    assert.equal(43, #log)
    for i = 1, 43 do assert.equal("fetch", log[i].op, "request " .. i) end
  end)

  it("a reset fails only the affected POST and retries the affected GET", function()
    local ops = {}
    for i = 1, 10 do ops[#ops + 1] = { op = "fetch", service_sid = SVC, identity = ident(30), sid = sid(29 * PER_ID + i) } end
    ops[#ops + 1] = { op = "update", service_sid = SVC, identity = ident(31), sid = sid(30 * PER_ID + 1),
                      params = { friendly_name = "x" } }
    e:faults{ { action = "close", match = { op = "fetch" } }, { action = "close", match = { op = "update" } } }
    local res = client:batch(ops, { concurrency = 3 })
    for i = 1, 10 do assert.is_table(res[i].ok, "op " .. i) end
    assert.equal("transport", res[11].err.kind)
    assert.equal(0, e:stats().applied.update)
  end)

  it("reports an invalid op without side effects; others still run", function()
    local res = client:batch({
      { op = "fetch", service_sid = SVC, identity = ident(33), sid = sid(32 * PER_ID + 1) },
      { op = "update", service_sid = SVC, identity = ident(33), sid = sid(32 * PER_ID + 2), params = { frendly_name = "x" } },
      { op = "delete", service_sid = "VA123", identity = ident(33), sid = sid(32 * PER_ID + 3) },
      { op = "rename", service_sid = SVC },
      "not a table",
      { op = "fetch", service_sid = SVC, identity = ident(33), sid = sid(32 * PER_ID + 4), extra = 1 },
    })
    assert.is_table(res[1].ok)
    assert.same({ "invalid_argument", "frendly_name" }, { res[2].err.kind, res[2].err.param })
    assert.same({ "invalid_argument", "service_sid" }, { res[3].err.kind, res[3].err.param })
    assert.equal("op", res[4].err.param)
    assert.equal("ops", res[5].err.param)
    assert.equal("extra", res[6].err.param)
    local st = e:stats()
    assert.equal(1, st.total)
    assert.equal(0, st.applied.update + st.applied.delete)
  end)

  it("fail_fast skips what has not started", function()
    local ops = { { op = "fetch", service_sid = SVC, identity = ident(34), sid = sid(999999) } }
    for _ = 1, 20 do ops[#ops + 1] = { op = "fetch", service_sid = SVC, identity = ident(34), sid = sid(33 * PER_ID + 1) } end
    local res = client:batch(ops, { concurrency = 1, fail_fast = true })
    assert.equal(404, res[1].err.status)
    for i = 2, 21 do assert.equal("skipped", res[i].err.kind) end
    assert.equal(1, e:stats().total)
  end)

  it("spaces requests with max_rps", function()
    local ops = {}
    for i = 1, 11 do ops[i] = { op = "fetch", service_sid = SVC, identity = ident(35), sid = sid(34 * PER_ID + 1) } end
    local now = require("twilio.verify.core").now
    local t0 = now()
    local res = client:batch(ops, { concurrency = 8, max_rps = 50 })
    assert.is_true(now() - t0 >= 0.19, "took " .. (now() - t0))
    for i = 1, 11 do assert.is_table(res[i].ok) end
  end)

  it("validates its options", function()
    for _, o in ipairs{ { concurrency = 0 }, { concurrency = 65 }, { max_rps = -1 }, { concurency = 2 },
                        { on_progress = 5 } } do
      local v, err = client:batch({}, o)
      assert.is_nil(v)
      assert.equal("invalid_argument", err.kind)
    end
    assert.same({}, (client:batch({})))
  end)

  it("abandoned mid-way (callback raises, client closed) leaves the client sane", function()
    local ops = {}
    for i = 1, 50 do ops[i] = { op = "fetch", service_sid = SVC, identity = ident(36), sid = sid(35 * PER_ID + 1) } end
    e:fault{ action = "delay", delay_ms = 30, times = 50 }
    local ok, msg = pcall(client.batch, client, ops, { concurrency = 4, on_progress = function(d)
      if d >= 5 then error("stop here") end
    end })
    assert.is_false(ok)
    assert.matches("stop here", msg)
    e:clear_faults()
    assert.is_table((client:batch(ops, { concurrency = 4 }))[50].ok) -- usable again

    local c2 = e:client()
    e:fault{ action = "delay", delay_ms = 30, times = 50 }
    local res = c2:batch(ops, { concurrency = 2, on_progress = function(d) if d >= 3 then c2:close() end end })
    local closed = 0
    for i = 1, 50 do if res[i].err and res[i].err.kind == "closed" then closed = closed + 1 end end
    assert.is_true(closed > 0)
    local v, err = c2:batch(ops)
    assert.is_nil(v)
    assert.equal("closed", err.kind)
  end)
end)
