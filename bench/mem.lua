-- bench/mem.lua -- child process of bench.lua: iterate COUNT factors of one
-- entity with page_size 1000 and report peak RSS and Lua heap.
--   lua5.4 bench/mem.lua BASE_URL ACCOUNT_SID AUTH_TOKEN SERVICE_SID IDENTITY COUNT
-- Prints: count=N seconds=S peak_rss_kb=K peak_heap_kb=K heap_kb=K
local clock = require "benchclock"
local verify = require "twilio.verify"

local base, account, token, service, identity, count = arg[1], arg[2], arg[3], arg[4], arg[5], tonumber(arg[6])
local client = assert(verify.new{ account_sid = account, auth_token = token, base_url = base, max_retries = 0 })

local peak_heap = collectgarbage("count")
local n, t0 = 0, clock.now()
for f in client:factors(service, identity, { page_size = 1000, limit = count }) do
  n = n + 1
  if n % 100 == 0 then -- sampled: a page is 1,000 factors
    local h = collectgarbage("count")
    if h > peak_heap then peak_heap = h end
  end
  if not f.sid then error("factor without sid") end
end
local secs = clock.now() - t0
local h = collectgarbage("count")
if h > peak_heap then peak_heap = h end
collectgarbage()
collectgarbage()
local _, peak_rss = clock.rss()
print(string.format("count=%d seconds=%.3f peak_rss_kb=%d peak_heap_kb=%.0f heap_kb=%.0f", n, secs, peak_rss,
  peak_heap, collectgarbage("count")))
client:close()
