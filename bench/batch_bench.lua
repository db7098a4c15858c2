-- bench/batch_bench.lua -- issue 10's row: 1,000 fetches with concurrency 8
-- vs one by one, on an emulator that adds 5 ms of latency per request.
-- BATCH_MEMORY=1: the batch only (no one-by-one run), for its memory: peak
-- RSS before and after, and the Lua heap its results hold (bench.lua's
-- 10,000-operation figure).
-- Prints one JSON line; run from the repo root:
--   LUA_PATH='lua/?.lua;spec/?.lua;;' LUA_CPATH='build/?.so;;' TV_EMULATOR=build/twilio-verify-emulator lua5.4 bench/batch_bench.lua
local verify = require "twilio.verify"
local emulator = require "support.emulator"
local now = require("twilio.verify.core").now

local N, LATENCY_MS, CONC = tonumber(os.getenv("BATCH_N") or 1000), 5, 8
local SVC, ID = "VA" .. string.rep("be", 16), "bench-batch-user"

local function rss_kb()
  local f = io.open("/proc/self/status")
  local s = f:read("a")
  f:close()
  return tonumber(s:match("VmHWM:%s*(%d+)"))
end

local e = emulator.start{ no_limits = true, seed = { factors = {
  { service_sid = SVC, identity = ID, factor_type = "totp", friendly_name = "bench", count = 100 } } } }
local client = assert(verify.new{ account_sid = e.account_sid, auth_token = e.auth_token, base_url = e.base_url })
local sids = {}
for f in client:factors(SVC, ID) do sids[#sids + 1] = f.sid end
local ops = {}
for i = 1, N do ops[i] = { op = "fetch", service_sid = SVC, identity = ID, sid = sids[(i - 1) % #sids + 1] } end

local function delayed() e:fault{ action = "delay", delay_ms = LATENCY_MS, times = N } end

local MEMORY = os.getenv("BATCH_MEMORY") == "1"
local t0, seq
if not MEMORY then
  delayed()
  t0 = now()
  for i = 1, N do assert(client:fetch_factor(SVC, ID, ops[i].sid)) end
  seq = now() - t0
  e:clear_faults()
end

delayed()
collectgarbage()
collectgarbage()
local rss0, heap0 = rss_kb(), collectgarbage("count")
t0 = now()
local res, stats = client:batch(ops, { concurrency = CONC })
local par = now() - t0
for i = 1, N do assert(res[i].ok, "op " .. i) end
collectgarbage()
collectgarbage()
local rss1, heap1 = rss_kb(), collectgarbage("count") -- heap1 - heap0: the results, still held
local peak_emu = e:stats().peak_concurrency
client:close()
e:stop()
if MEMORY then
  print(string.format('{"ops":%d,"latency_ms":%d,"concurrency":%d,"batch_s":%.3f,"peak_in_flight":%d,'
    .. '"peak_rss_kb_before":%d,"peak_rss_kb_after":%d,"results_heap_kb":%.0f}', N, LATENCY_MS, CONC, par,
    stats.peak, rss0, rss1, heap1 - heap0))
  return
end
print(string.format('{"ops":%d,"latency_ms":%d,"concurrency":%d,"sequential_s":%.3f,"batch_s":%.3f,'
  .. '"speedup":%.2f,"peak_in_flight":%d,"emulator_peak":%d,"peak_rss_kb_before":%d,"peak_rss_kb_after":%d}',
  N, LATENCY_MS, CONC, seq, par, seq / par, stats.peak, peak_emu, rss0, rss1))
