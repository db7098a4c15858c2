-- bench/longrun.lua -- long-run soak against the emulator (.ci/checks.d/longrun).
--
--   lua5.4 bench/longrun.lua [CALLS]      (default 200000; env TV_LONGRUN_CALLS)
--
-- Makes CALLS mixed calls on one client -- fetch/list/update/create/delete
-- of factors, create_challenge/fetch_challenge/list_challenge, list_entity,
-- fetch_entity -- against an emulator started with --no-limits, with a fault
-- injected every FAULT_EVERY calls (503, 429 + Retry-After, connection
-- closed, truncated body, in turn; retry backoff kept tiny).  After a
-- warm-up it checks that:
--   * the RSS (VmRSS of /proc/self/status) grew by less than 1 MB,
--   * the number of open file descriptors (/proc/self/fd) did not change,
--   * every call ended in a result or a structured error (a table with a
--     string `kind`): nothing raised, nothing came back as (nil, nil).
-- Prints the figures and exits 1 on a violation, 2 when it cannot run.
-- Run it from the repository root (the emulator is $TV_EMULATOR, default
-- build/twilio-verify-emulator; the module comes from build/ and lua/).
-- Bounded by TV_LONGRUN_MAX_SECONDS (default 170): past it the run stops
-- early, reports the rate it reached and fails.
local here = (arg and arg[0] or ""):match("^(.*)/bench/[^/]*$") or "."
package.path = here .. "/lua/?.lua;" .. here .. "/lua/?/init.lua;" .. here .. "/spec/?.lua;" .. package.path
package.cpath = here .. "/build/?.so;" .. package.cpath

local verify = require "twilio.verify"
local core = require "twilio.verify.core"
local emulator = require "support.emulator"

local CALLS = tonumber(arg and arg[1] or "") or tonumber(os.getenv("TV_LONGRUN_CALLS") or "") or 200000
local MAX_SECONDS = tonumber(os.getenv("TV_LONGRUN_MAX_SECONDS") or "") or 170
local WARMUP = math.min(20000, math.floor(CALLS / 10))
local FAULT_EVERY = 300
local MAX_RSS_GROWTH_KB = 1024
local SVC = "VA" .. string.rep("5a", 16)
local N_IDS = 8         -- identities, each with a small pool of factors
local POOL = 6          -- factors kept per identity (created and deleted around it)
local now = core.now

local function read(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function rss_kb()
  local s = read("/proc/self/status")
  return s and tonumber(s:match("VmRSS:%s*(%d+)"))
end

-- open file descriptors of this process: the entries of /proc/<pid>/fd, as
-- listed by ls (in the child, /proc/self would be ls itself, so the pid is
-- ours; the pipe to ls is one of them, the same one every time)
local PID = (read("/proc/self/stat") or ""):match("^(%d+)")
local function fd_count()
  local p = io.popen("ls /proc/" .. PID .. "/fd")
  local n = 0
  for _ in p:lines() do n = n + 1 end
  p:close()
  return n
end

local function full_gc()
  collectgarbage()
  collectgarbage()
end

if not (rss_kb() and PID) then
  io.stderr:write("longrun: /proc/self/status is needed\n")
  os.exit(2)
end

local e = emulator.start{ no_limits = true }
local client = e:client{ max_retries = 3, retry_base = 0.001, retry_cap = 0.002, retry_after_cap = 0.005 }

local function ident(i) return string.format("longrun-user-%04d", i) end

-- state: a pool of factor sids per identity, one verified TOTP factor (for
-- challenges) per identity, and the challenges created so far (a ring)
local pools, totp_of, challenges = {}, {}, {}
local deleted = {} -- recently deleted sids, fetched to get 404s
for u = 1, N_IDS do
  pools[u] = {}
  local f = assert(client:create_factor(SVC, ident(u), { friendly_name = "totp " .. u, factor_type = "totp" }))
  local code = verify.totp.code(f.binding.secret)
  assert(client:verify_factor(SVC, ident(u), f.sid, code), "could not verify the TOTP factor")
  totp_of[u] = { sid = f.sid, secret = f.binding.secret }
end

-- ------------------------------------------------------------ the calls
local stats = { calls = 0, ok = 0, errors = 0, raised = 0, bad = 0, by_kind = {}, by_op = {}, faults = 0,
                fault_ok = 0, fault_err = 0 }
local violations = {}
local function violation(msg)
  if #violations < 20 then violations[#violations + 1] = msg end
end

local ops -- name -> function(u) returning the call's results

local function check(name, ok, v, err)
  stats.calls = stats.calls + 1
  stats.by_op[name] = (stats.by_op[name] or 0) + 1
  if not ok then
    stats.raised = stats.raised + 1
    violation(name .. " raised: " .. tostring(v))
  elseif v ~= nil and v ~= false then
    stats.ok = stats.ok + 1
    if name:find("^faulted") then stats.fault_ok = stats.fault_ok + 1 end
  elseif type(err) == "table" and type(err.kind) == "string" then
    stats.errors = stats.errors + 1
    if name:find("^faulted") then stats.fault_err = stats.fault_err + 1 end
    local k = err.kind .. (err.status and ("/" .. err.status) or "")
    stats.by_kind[k] = (stats.by_kind[k] or 0) + 1
  else
    stats.bad = stats.bad + 1
    violation(name .. " returned " .. tostring(v) .. ", " .. tostring(err) .. " (no structured error)")
  end
  return ok and v
end

local function pick(t, i) return t[(i % #t) + 1] end

ops = {
  fetch = function(u, i)
    local pool = pools[u]
    local sid = #pool > 0 and pick(pool, i) or totp_of[u].sid
    return client:fetch_factor(SVC, ident(u), sid)
  end,
  fetch_deleted = function(u, i)
    local sid = #deleted > 0 and pick(deleted, i) or ("YF" .. string.rep("0", 32))
    return client:fetch_factor(SVC, ident(u), sid) -- 404
  end,
  list = function(u)
    return client:list_factor(SVC, ident(u), { page_size = 5 })
  end,
  iterate = function(u) -- it:next() rather than a for loop, which raises the error
    local it, n = client:factors(SVC, ident(u), { page_size = 3, limit = 7 }), 0
    while true do
      local f, err = it:next()
      if f == nil then
        if err ~= nil then return nil, err end
        return n
      end
      n = n + 1
    end
  end,
  update = function(u, i)
    local pool = pools[u]
    if #pool == 0 then return client:fetch_factor(SVC, ident(u), totp_of[u].sid) end
    return client:update_factor(SVC, ident(u), pick(pool, i), { friendly_name = "renamed " .. i % 1000 })
  end,
  create = function(u, i)
    local f, err = client:create_factor(SVC, ident(u), { friendly_name = "f" .. i % 1000, factor_type = "totp" })
    if f then
      local pool = pools[u]
      pool[#pool + 1] = f.sid
    end
    return f, err
  end,
  delete = function(u)
    local pool = pools[u]
    if #pool == 0 then return client:list_factor(SVC, ident(u), { page_size = 5 }) end
    local sid = table.remove(pool, 1)
    local ok, err = client:delete_factor(SVC, ident(u), sid)
    if ok or (err and err.status == 404) then
      deleted[#deleted % 64 + 1] = sid
    else
      pool[#pool + 1] = sid -- not deleted (a fault): keep it in the pool
    end
    return ok, err
  end,
  create_challenge = function(u)
    local t = totp_of[u]
    local ch, err = client:create_challenge(SVC, ident(u),
      { factor_sid = t.sid, auth_payload = verify.totp.code(t.secret) })
    if ch then challenges[#challenges % 64 + 1] = { u = u, sid = ch.sid } end
    return ch, err
  end,
  fetch_challenge = function(u, i)
    if #challenges == 0 then return client:fetch_entity(SVC, ident(u)) end
    local c = pick(challenges, i)
    return client:fetch_challenge(SVC, ident(c.u), c.sid)
  end,
  list_challenge = function(u)
    return client:list_challenge(SVC, ident(u), { page_size = 5 })
  end,
  list_entity = function()
    return client:list_entity(SVC, { page_size = 5 })
  end,
  fetch_entity = function(u)
    return client:fetch_entity(SVC, ident(u))
  end,
}

-- the mix: mostly reads, like an application's traffic; creates and deletes
-- balanced so the pools (and so the page sizes) stay bounded
local MIX = {
  "fetch", "fetch", "fetch", "fetch", "fetch", "fetch", "list", "list", "iterate", "update", "update",
  "fetch_deleted", "create_challenge", "fetch_challenge", "fetch_challenge", "list_challenge", "list_entity",
  "fetch_entity",
}

local FAULTS = {
  { action = "status", status = 503 },
  { action = "status", status = 429, code = 20429, retry_after = "1" },
  { action = "close" },
  { action = "truncated" },
  { action = "status", status = 503, times = 4 }, -- past max_retries: the error reaches the caller
  { action = "close_mid_body" },
}

-- Faults: the emulator takes the first queued fault whose `match` fits a
-- request, so each fault is queued for the path of one identity of its own
-- (longrun-fault-NNNNN) and fires on the one call (every FAULT_EVERY-th)
-- made for that identity, whatever is queued besides.  They are queued 50 at
-- a time: one control request (a curl process) per 15,000 calls, instead of
-- one per fault, which would cost more than the calls themselves.
local FAULT_OPS = { "fetch_entity", "list", "create", "list_challenge", "fetch", "create_challenge", "update" }
local function fault_ident(k) return string.format("longrun-fault-%05d", k) end
local queued_upto = 0
local function queue_faults(from)
  local list = {}
  for k = from, from + 49 do
    local f = {}
    for key, v in pairs(FAULTS[k % #FAULTS + 1]) do f[key] = v end
    f.match = { path_contains = "/Entities/" .. fault_ident(k) }
    list[#list + 1] = f
  end
  e:faults(list)
  queued_upto = from + 49
end

local fault_calls = {
  fetch_entity = function(id) return client:fetch_entity(SVC, id) end,
  list = function(id) return client:list_factor(SVC, id, { page_size = 5 }) end,
  create = function(id, k) return client:create_factor(SVC, id, { friendly_name = "f" .. k, factor_type = "totp" }) end,
  list_challenge = function(id) return client:list_challenge(SVC, id, { page_size = 5 }) end,
  fetch = function(id) return client:fetch_factor(SVC, id, "YF" .. string.rep("0", 32)) end,
  create_challenge = function(id)
    return client:create_challenge(SVC, id, { factor_sid = "YF" .. string.rep("0", 32) })
  end,
  update = function(id) return client:update_factor(SVC, id, "YF" .. string.rep("0", 32), { friendly_name = "x" }) end,
}

local last_k = 0
local op_time = {} -- name -> seconds spent
local function one(i)
  if i % FAULT_EVERY == 0 then
    local k = i // FAULT_EVERY
    if k > queued_upto then queue_faults(k) end
    last_k = k
    stats.faults = stats.faults + 1
    local name = FAULT_OPS[k % #FAULT_OPS + 1]
    -- a fault for several requests goes to a GET, which retries into all of them
    if FAULTS[k % #FAULTS + 1].times then name = "list" end
    check("faulted " .. name, pcall(fault_calls[name], fault_ident(k), k))
    return
  end
  local u = i % N_IDS + 1
  local name
  local pool = pools[u]
  if i % 17 == 0 then
    name = #pool < POOL and "create" or "delete"
  elseif i % 17 == 9 and #pool > POOL / 2 then
    name = "delete"
  else
    name = MIX[(i * 7) % #MIX + 1]
  end
  local t0 = now()
  check(name, pcall(ops[name], u, i))
  op_time[name] = (op_time[name] or 0) + (now() - t0)
end

-- ------------------------------------------------------------ the run
local t_start = now()
local function run(from, to)
  for i = from, to do
    one(i)
    if i % 1000 == 0 and now() - t_start > MAX_SECONDS then return i end
  end
  return to
end

local done = run(1, WARMUP)
full_gc()
local rss0, fds0, heap0 = rss_kb(), fd_count(), collectgarbage("count")
local t_measure = now()
if done == WARMUP then run(WARMUP + 1, CALLS) end
local pending = #e:pending_faults() -- every fault queued for a call made has fired
e:clear_faults()
full_gc()
local rss1, fds1, heap1 = rss_kb(), fd_count(), collectgarbage("count")
local t_end = now()

client:close()
e:stop()

local secs = t_end - t_start
print(string.format("longrun: %d calls in %.1f s (%.0f calls/s; %d after the %d-call warm-up, in %.1f s)",
  stats.calls, secs, stats.calls / secs, math.max(0, stats.calls - WARMUP), WARMUP, t_end - t_measure))
print(string.format("longrun: %d results, %d structured errors, %d raised, %d unstructured; %d faults injected",
  stats.ok, stats.errors, stats.raised, stats.bad, stats.faults))
print(string.format("longrun: faulted calls: %d results, %d errors", stats.fault_ok, stats.fault_err))
local kinds = {}
for k, n in pairs(stats.by_kind) do kinds[#kinds + 1] = k .. "=" .. n end
table.sort(kinds)
print("longrun: errors by kind: " .. table.concat(kinds, " "))
local names = {}
for k, n in pairs(stats.by_op) do
  local us = op_time[k] and string.format(" (%.0f us)", op_time[k] / n * 1e6) or ""
  names[#names + 1] = string.format("%s=%d%s", k, n, us)
end
table.sort(names)
print("longrun: calls by op: " .. table.concat(names, " "))
print(string.format("longrun: RSS %d kB -> %d kB (%+d kB), Lua heap %.0f kB -> %.0f kB, open fds %d -> %d",
  rss0, rss1, rss1 - rss0, heap0, heap1, fds0, fds1))

if stats.calls < CALLS then
  violation(string.format("stopped after %d of %d calls: the %d s bound was reached", stats.calls, CALLS, MAX_SECONDS))
end
if rss1 - rss0 >= MAX_RSS_GROWTH_KB then
  violation(string.format("RSS grew by %d kB after the warm-up (limit %d kB)", rss1 - rss0, MAX_RSS_GROWTH_KB))
end
if pending ~= queued_upto - last_k then
  violation(string.format("%d faults still queued, expected %d: some never fired", pending, queued_upto - last_k))
end
if fds1 ~= fds0 then violation(string.format("open file descriptors changed: %d -> %d", fds0, fds1)) end
if stats.ok == 0 or stats.errors == 0 then violation("the mix produced no results or no errors: not exercised") end

if #violations > 0 then
  for _, v in ipairs(violations) do io.stderr:write("longrun: FAIL: " .. v .. "\n") end
  os.exit(1)
end
print("longrun: ok")
