-- bench/bench.lua -- `make bench`: what the client adds on top of the wire,
-- measured side by side with baselines run in this same script.
--
--   fetch    sequential client:fetch_factor calls/s    vs a plain libcurl loop + lua-cjson (>= 1.00x);
--            wrk -t1 -c1 on the same URL and headers, and libcurl alone, for information
--   update   sequential client:update_factor calls/s   the same, same POST body
--   challenge sequential client:create_challenge{factor_sid, auth_payload} (the sign-in hot path)
--   nginx    a handler calling the client through the OpenResty transport vs a handler doing
--            ngx.location.capture + cjson.decode of the same request (wrk -t1 -c8, 1 worker)
--   tls      fetch on a kept-alive TLS connection vs plain libcurl over the same server; the first
--            call of a new client (full handshake) vs of a second client (resumed session)
--   optable  fetch/update instructions per call (callgrind) vs bench/baseline.json
--   list     client:factors over 10 pages x 1,000      vs a plain libcurl loop + lua-cjson
--   decode   core.parse_response("list", ...) of a 1,000-factor page  vs cjson.decode
--   memory   peak RSS / Lua heap iterating 1k vs 100k factors (emulator, page_size 1000)
--   batch    1,000 fetches at 5 ms latency, client:batch vs one by one (>= 6x); the memory of
--            a 1,000- and a 10,000-op batch (per op, bounded)
--   scale    list 10,000 vs 1,000,000 factors: RSS growth <= 2 MB, time per factor linear
--   startup  require "twilio.verify" + verify.new{...}, in a fresh process, vs the plain
--            libcurl module's load and init
--
-- Targets: nginx serving canned, spec-shaped files with keep-alive (the
-- main figures), and the emulator (second target).  Every figure is the
-- median of several runs with min and max; ratios compare medians.
--
-- Usage (from the repository root, after make): see mk/bench.mk.
--   lua5.4 bench/bench.lua [--runs N] [--seconds S] [--out FILE] [--emulator PATH]
--                          [--only fetch,list,...] [--no-emulator]

local verify = require "twilio.verify"
local core = require "twilio.verify.core"
local cjson = require "cjson"
local plaincurl = require "plaincurl"
local clock = require "benchclock"
local fixtures = require "fixtures"
local servers = require "servers"

local format, concat, sort = string.format, table.concat, table.sort
local now = clock.now

-------------------------------------------------------------------------------
-- options
-------------------------------------------------------------------------------
local opt = {
  runs = tonumber(os.getenv("BENCH_RUNS") or "") or 5,
  seconds = tonumber(os.getenv("BENCH_SECONDS") or "") or 1,
  out = "bench/results.json",
  emulator = os.getenv("TV_EMULATOR") or "build/twilio-verify-emulator",
  lua = os.getenv("LUA") or "lua5.4",
  only = nil,
  with_emulator = true,
  -- same: client, wrk and servers share one CPU (stable: a round trip costs
  -- CPU only, the strictest setting for client overhead); cross: client on
  -- one CPU, servers on another (adds the VM's cross-CPU wakeup latency);
  -- none: leave it to the scheduler
  pin = os.getenv("BENCH_PIN") or "same",
}
do
  local i = 1
  while arg[i] do
    local a = arg[i]
    if a == "--runs" then opt.runs = assert(tonumber(arg[i + 1]), "--runs N"); i = i + 1
    elseif a == "--seconds" then opt.seconds = assert(tonumber(arg[i + 1]), "--seconds S"); i = i + 1
    elseif a == "--out" then opt.out = arg[i + 1]; i = i + 1
    elseif a == "--emulator" then opt.emulator = arg[i + 1]; i = i + 1
    elseif a == "--lua" then opt.lua = arg[i + 1]; i = i + 1
    elseif a == "--only" then
      opt.only = {}
      for w in arg[i + 1]:gmatch("[^,]+") do opt.only[w] = true end
      i = i + 1
    elseif a == "--no-emulator" then opt.with_emulator = false
    elseif a == "--pin" then opt.pin = arg[i + 1]; i = i + 1
    else error("unknown argument " .. a) end
    i = i + 1
  end
end
local function wanted(name) return opt.only == nil or opt.only[name] end
local WRK_SECONDS = math.max(1, math.floor(opt.seconds + 0.5))

-------------------------------------------------------------------------------
-- statistics
-------------------------------------------------------------------------------
local function stats(samples, unit, better)
  local s = {}
  for i, v in ipairs(samples) do s[i] = v end
  sort(s)
  local n = #s
  local med = n % 2 == 1 and s[(n + 1) // 2] or (s[n // 2] + s[n // 2 + 1]) / 2
  return { median = med, min = s[1], max = s[n], unit = unit, better = better, runs = samples }
end

local function fmt_num(v)
  if v == nil then return "-" end
  local a = math.abs(v)
  if a >= 1000 then
    local s = format("%.0f", v)
    return (s:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", ""):gsub("^%-,", "-"))
  elseif a >= 100 then return format("%.0f", v)
  elseif a >= 10 then return format("%.1f", v)
  else return format("%.2f", v) end
end

local function fmt_stat(st)
  if not st then return "-" end
  return format("%s %s [%s .. %s]", fmt_num(st.median), st.unit, fmt_num(st.min), fmt_num(st.max))
end

-------------------------------------------------------------------------------
-- the machine
-------------------------------------------------------------------------------
local function cmd_out(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local s = p:read("a") or ""
  p:close()
  return (s:gsub("%s+$", ""))
end

-- CPU pinning (taskset, util-linux); returns a description.
local function pin()
  local ncpu = tonumber(cmd_out("nproc")) or 1
  if opt.pin == "none" or ncpu < 2 or not os.execute("command -v taskset >/dev/null 2>&1") then
    opt.pin = "none"
    return "not pinned"
  end
  local pid = (servers.read("/proc/self/stat") or ""):match("^(%d+)")
  -- the idlest CPU over 0.5 s (others may be busy on a shared machine)
  local function idle()
    local t = {}
    for n, v in (servers.read("/proc/stat") or ""):gmatch("cpu(%d+)%s+%d+%s+%d+%s+%d+%s+(%d+)") do
      t[tonumber(n)] = tonumber(v)
    end
    return t
  end
  local a = idle()
  os.execute("sleep 0.5")
  local b = idle()
  local client_cpu, best = ncpu - 1, -1
  for n, v in pairs(b) do
    if a[n] and v - a[n] > best then client_cpu, best = n, v - a[n] end
  end
  assert(pid and os.execute(format("taskset -pc %d %s >/dev/null", client_cpu, pid)), "taskset failed")
  if opt.pin == "cross" then
    local other = client_cpu == 0 and 1 or 0
    servers.cpu_prefix = format("taskset -c %d ", other)
    return format("client and wrk on CPU %d, servers on CPU %d", client_cpu, other)
  end
  opt.pin = "same"
  return format("client, wrk and servers all pinned to CPU %d", client_cpu)
end

local function machine()
  local cpu = (servers.read("/proc/cpuinfo") or ""):match("model name%s*:%s*([^\n]+)") or "unknown"
  local mem = (servers.read("/proc/meminfo") or ""):match("MemTotal:%s*(%d+)")
  return {
    cpu = cpu,
    cores = tonumber(cmd_out("nproc")),
    memory_gib = mem and math.floor(tonumber(mem) / 1048576 + 0.5) or nil,
    kernel = cmd_out("uname -sr"),
    os = "Debian " .. (servers.read("/etc/debian_version") or "?"):gsub("%s+$", ""),
    lua = _VERSION,
    libcurl = verify.curl_version,
    cjson = cmd_out("dpkg-query -W -f '${Version}' libcjson1"),
    lua_cjson = cjson._VERSION,
    nginx = cmd_out("nginx -v"):match("nginx/(%S+)"),
    wrk = cmd_out("dpkg-query -W -f '${Version}' wrk"),
    library = verify._VERSION,
  }
end

-------------------------------------------------------------------------------
-- wrk
-------------------------------------------------------------------------------
local function header_args(headers)
  local out = {}
  for k, v in pairs(headers) do out[#out + 1] = "-H " .. servers.shq(k .. ": " .. v) end
  sort(out)
  return concat(out, " ")
end

-- wrk -t1 -c1: one connection, one request at a time (keep-alive).
local function wrk(url, headers, script, env)
  local cmd = format("%swrk -t1 -c1 -d%ds %s %s %s", env or "", WRK_SECONDS,
    script and ("-s " .. servers.shq(script)) or "", header_args(headers), servers.shq(url))
  local out = cmd_out(cmd)
  local rate = tonumber(out:match("Requests/sec:%s*([%d%.]+)"))
  if not rate then error("wrk failed: " .. cmd .. "\n" .. out) end
  if out:match("Non%-2xx") or out:match("Socket errors") then error("wrk saw errors:\n" .. out) end
  return rate
end

-------------------------------------------------------------------------------
-- helpers
-------------------------------------------------------------------------------
local function new_client(server)
  return assert(verify.new{
    account_sid = fixtures.ACCOUNT_SID, auth_token = fixtures.AUTH_TOKEN,
    base_url = server.base_url, max_retries = 0, ca_file = server.ca_file,
  })
end

-- The exact headers (and body) the client sends, from the sans-I/O surface.
local function wire(client, op, ...)
  local req = assert(client:_prepare(op, ...))
  return req.url, req.headers, req.body
end

-- Calls per second of fn() over about opt.seconds.
local function rate_of(fn)
  collectgarbage()
  local n, t0 = 0, now()
  local t
  repeat
    for _ = 1, 50 do fn() end
    n = n + 50
    t = now() - t0
  until t >= opt.seconds
  return n / t
end

-- Seconds taken by fn() (one run), after a full collection.
local function time_of(fn)
  collectgarbage()
  collectgarbage()
  local t0 = now()
  fn()
  return now() - t0
end

local UPDATE_PARAMS = { friendly_name = "Pixel 8 (work)", auth_payload = "bench-signed-challenge-0123456789" }
local UPDATE_PARAMS_EMULATOR = { friendly_name = "Pixel 8 (work)" }

-------------------------------------------------------------------------------
-- fetch / update: ours vs wrk (and a plain libcurl + lua-cjson loop, for information)
-------------------------------------------------------------------------------
local function bench_call(server, op)
  local c = new_client(server)
  local S, ID, SID = server.service_sid, server.fetch_identity, server.factor_sid
  local url, headers, body
  local ours, plain_fn
  if op == "fetch" then
    url, headers = wire(c, "fetch", S, ID, SID)
    ours = function()
      local f, err = c:fetch_factor(S, ID, SID)
      if not f then error(tostring(err)) end
    end
  elseif op == "update" then
    -- the emulator checks a push factor's AuthPayload signature: a rename there
    local params = server.name == "emulator" and UPDATE_PARAMS_EMULATOR or UPDATE_PARAMS
    url, headers, body = wire(c, "update", S, ID, SID, params)
    ours = function()
      local f, err = c:update_factor(S, ID, SID, params)
      if not f then error(tostring(err)) end
    end
  else -- challenge: create_challenge with auth_payload (a TOTP sign-in)
    local params = { factor_sid = SID, auth_payload = "123456" }
    url, headers, body = wire(c, "create_challenge", S, server.identity, params)
    ours = function()
      local ch, err = c:create_challenge(S, server.identity, params)
      if not ch then error(tostring(err)) end
    end
  end
  local hl = {}
  for k, v in pairs(headers) do hl[#hl + 1] = k .. ": " .. v end
  if op ~= "fetch" then hl[#hl + 1] = "Expect:" end
  local h = plaincurl.new(hl, server.ca_file)
  plain_fn = function()
    local status, b
    if op == "fetch" then status, b = h:get(url) else status, b = h:post(url, body) end
    if status ~= 200 then error("plain libcurl: " .. tostring(status) .. " " .. tostring(b)) end
    local t = cjson.decode(b)
    if not t.sid then error("plain: no sid") end
  end
  if server.ca_file then -- TLS: ours vs the plain loop only (wrk has no TLS trust option)
    for _ = 1, 200 do ours(); plain_fn() end
    local r_ours, r_plain = {}, {}
    for i = 1, opt.runs do
      r_ours[i] = rate_of(ours)
      r_plain[i] = rate_of(plain_fn)
    end
    c:close()
    h:close()
    local res = { ours = stats(r_ours, "calls/s", "higher"), plain = stats(r_plain, "calls/s", "higher") }
    res.ratio_plain = res.ours.median / res.plain.median
    res.target = 0.95
    res.ok = res.ratio_plain >= res.target
    return res
  end
  -- libcurl alone, no JSON: the ceiling of any libcurl easy-handle client
  local curl_only = function()
    local status
    if op == "fetch" then status = h:get(url) else status = h:post(url, body) end
    if status ~= 200 then error("plain libcurl: " .. tostring(status)) end
  end
  local script, env
  if op ~= "fetch" then
    script = "bench/wrk_post.lua"
    env = "BENCH_WRK_BODY=" .. servers.shq(body) .. " "
  end
  -- warm up: connections open, caches warm
  for _ = 1, 200 do ours(); plain_fn() end
  local r_ours, r_plain, r_curl, r_wrk = {}, {}, {}, {}
  for i = 1, opt.runs do
    r_ours[i] = rate_of(ours)
    r_wrk[i] = wrk(url, headers, script, env)
    r_plain[i] = rate_of(plain_fn)
    r_curl[i] = rate_of(curl_only)
  end
  c:close()
  h:close()
  local res = {
    ours = stats(r_ours, "calls/s", "higher"),
    plain = stats(r_plain, "calls/s", "higher"),
    curl_only = stats(r_curl, "calls/s", "higher"),
    wrk = stats(r_wrk, "req/s", "higher"),
  }
  res.ratio = res.ours.median / res.wrk.median
  res.ratio_plain = res.ours.median / res.plain.median
  res.ratio_curl_only = res.curl_only.median / res.wrk.median
  -- the target (issue 17): no overhead over doing it by hand with libcurl + lua-cjson
  res.target = 1.00
  res.ok = res.ratio_plain >= res.target
  return res
end

-------------------------------------------------------------------------------
-- list: 10 x 1,000 factors through the iterator vs libcurl loop + lua-cjson
-------------------------------------------------------------------------------
local TOTAL = fixtures.PAGES * fixtures.PAGE_SIZE

local function bench_list(server)
  local c = new_client(server)
  local S, ID = server.service_sid, server.identity
  local first_url, headers = wire(c, "list", S, ID, { page_size = fixtures.PAGE_SIZE })
  local hl = {}
  for k, v in pairs(headers) do hl[#hl + 1] = k .. ": " .. v end
  local h = plaincurl.new(hl)
  local null = cjson.null
  local function ours()
    local n = 0
    for f in c:factors(S, ID, { page_size = fixtures.PAGE_SIZE }) do
      if f.sid then n = n + 1 end
    end
    assert(n == TOTAL, "ours: iterated " .. n)
  end
  local function plain()
    local n, url = 0, first_url
    while url and url ~= null do
      local status, body = h:get(url)
      assert(status == 200, "plain: status " .. tostring(status))
      local page = cjson.decode(body)
      local factors = page.factors
      for i = 1, #factors do
        if factors[i].sid then n = n + 1 end
      end
      url = page.meta.next_page_url
    end
    assert(n == TOTAL, "plain: iterated " .. n)
  end
  ours(); plain() -- warm up
  local t_ours, t_plain = {}, {}
  for i = 1, opt.runs do
    t_ours[i] = time_of(ours) * 1000
    t_plain[i] = time_of(plain) * 1000
  end
  c:close()
  h:close()
  local res = { ours = stats(t_ours, "ms", "lower"), plain = stats(t_plain, "ms", "lower") }
  res.ratio = res.ours.median / res.plain.median
  res.target = 1.25
  res.ok = res.ratio <= res.target
  return res
end

-------------------------------------------------------------------------------
-- decode: a 1,000-factor page -> Lua tables
-------------------------------------------------------------------------------
local function bench_decode(body)
  local parse, decode = core.parse_response, cjson.decode
  local K = 20 -- decodes per run
  local function ours() for _ = 1, K do assert(parse("list", 200, body)) end end
  local function theirs() for _ = 1, K do assert(decode(body)) end end
  ours(); theirs()
  local t_ours, t_cjson = {}, {}
  for i = 1, math.max(opt.runs, 7) do
    t_ours[i] = time_of(ours) * 1000 / K
    t_cjson[i] = time_of(theirs) * 1000 / K
  end
  local res = { ours = stats(t_ours, "ms", "lower"), cjson = stats(t_cjson, "ms", "lower"), bytes = #body }
  res.ratio = res.ours.median / res.cjson.median
  res.target = 1.2
  res.ok = res.ratio <= res.target
  return res
end

-------------------------------------------------------------------------------
-- memory and startup: fresh processes (bench/mem.lua, bench/startup.lua)
-------------------------------------------------------------------------------
local function child(script, args)
  local cmd = format("%s %s %s", servers.shq(opt.lua), script, args)
  local out = cmd_out(cmd)
  local t = {}
  for k, v in out:gmatch("([%w_]+)=(%S+)") do t[k] = tonumber(v) or v end
  if not next(t) then error(cmd .. " failed:\n" .. out) end
  return t
end

local function bench_memory(server)
  local function run(count)
    return child("bench/mem.lua", concat({
      servers.shq(server.base_url), fixtures.ACCOUNT_SID, servers.shq(fixtures.AUTH_TOKEN),
      server.service_sid, server.mem_identity, count }, " "))
  end
  local small = { rss = {}, heap = {}, heap_end = {}, secs = {} }
  local big = { rss = {}, heap = {}, heap_end = {}, secs = {} }
  local runs = math.max(3, math.min(opt.runs, 5))
  for i = 1, runs do
    local a, b = run(1000), run(100000)
    assert(a.count == 1000 and b.count == 100000, "memory: wrong counts")
    small.rss[i], small.heap[i], small.heap_end[i], small.secs[i] = a.peak_rss_kb / 1024, a.peak_heap_kb / 1024,
      a.heap_kb / 1024, a.seconds
    big.rss[i], big.heap[i], big.heap_end[i], big.secs[i] = b.peak_rss_kb / 1024, b.peak_heap_kb / 1024,
      b.heap_kb / 1024, b.seconds
  end
  local res = {
    k1 = { peak_rss = stats(small.rss, "MB", "lower"), peak_heap = stats(small.heap, "MB", "lower"),
           heap_after = stats(small.heap_end, "MB", "lower") },
    k100 = { peak_rss = stats(big.rss, "MB", "lower"), peak_heap = stats(big.heap, "MB", "lower"),
             heap_after = stats(big.heap_end, "MB", "lower"), seconds = stats(big.secs, "s", "lower") },
  }
  res.rss_delta = res.k100.peak_rss.median - res.k1.peak_rss.median
  res.heap_delta = res.k100.peak_heap.median - res.k1.peak_heap.median
  res.target = 10
  res.ok = res.rss_delta <= res.target and res.heap_delta <= res.target
  return res
end

-- startup: ours (require + new) and, interleaved, the plain libcurl module
-- (dlopen of libcurl and OpenSSL + curl_global_init + one easy handle), the
-- floor of any libcurl client; the verdict is on what the library adds to it
local function bench_startup()
  local t_req, t_core, t_lua, t_new, t_new2, t_all, t_curl, t_over = {}, {}, {}, {}, {}, {}, {}, {}
  for i = 1, math.max(opt.runs * 4, 20) do
    local r = child("bench/startup.lua", "")
    local c = child("bench/startup.lua", "curl")
    t_req[i], t_core[i], t_lua[i], t_new[i], t_new2[i], t_all[i] = r.require_ms, r.core_ms, r.lua_ms, r.new_ms,
      r.new2_ms, r.total_ms
    t_curl[i], t_over[i] = c.curl_ms, r.total_ms - c.curl_ms
  end
  local res = {
    require = stats(t_req, "ms", "lower"), core = stats(t_core, "ms", "lower"), lua = stats(t_lua, "ms", "lower"),
    new = stats(t_new, "ms", "lower"), new2 = stats(t_new2, "ms", "lower"), total = stats(t_all, "ms", "lower"),
    curl = stats(t_curl, "ms", "lower"), over_curl = stats(t_over, "ms", "lower"),
  }
  res.curl_share = res.curl.median / res.total.median
  res.target = 5 -- ms the library adds to libcurl's own load and init
  res.ok = res.over_curl.median < res.target
  return res
end

-- batch (issue 10's row, bench/batch_bench.lua): 1,000 fetches with
-- concurrency 8 vs one by one, the emulator adding 5 ms per request.
local function bench_batch()
  local sp, bt, sx = {}, {}, {}
  for i = 1, 3 do
    local out = cmd_out(format("%s bench/batch_bench.lua", servers.shq(opt.lua)))
    local ok, r = pcall(cjson.decode, out:match("(%b{})%s*$") or "")
    if not ok or type(r) ~= "table" or not r.speedup then error("bench/batch_bench.lua failed:\n" .. out) end
    sp[i], bt[i], sx[i] = r.sequential_s, r.batch_s, r.speedup
  end
  return { sequential = stats(sp, "s", "lower"), batch = stats(bt, "s", "lower"), speedup = stats(sx, "x", "higher") }
end

-- the memory of a batch (bench/batch_bench.lua BATCH_MEMORY=1, the batch
-- only): peak RSS growth while it runs and the Lua heap its results hold,
-- for 1,000 and 10,000 fetches (5 ms latency, concurrency 8), interleaved;
-- bounded = what it costs per op does not grow with the batch (<= 1.25x)
local function bench_batch_memory()
  local g = { [1000] = {}, [10000] = {} }
  local h = { [1000] = {}, [10000] = {} }
  for i = 1, 3 do
    for _, n in ipairs({ 1000, 10000 }) do
      local out = cmd_out(format("BATCH_MEMORY=1 BATCH_N=%d %s bench/batch_bench.lua", n, servers.shq(opt.lua)))
      local ok, r = pcall(cjson.decode, out:match("(%b{})%s*$") or "")
      if not ok or type(r) ~= "table" or not r.peak_rss_kb_after then
        error("bench/batch_bench.lua (memory) failed:\n" .. out)
      end
      g[n][i] = (r.peak_rss_kb_after - r.peak_rss_kb_before) / 1024
      h[n][i] = r.results_heap_kb / 1024
    end
  end
  local res = { k1 = { rss_growth = stats(g[1000], "MB", "lower"), results_heap = stats(h[1000], "MB", "lower") },
                k10 = { rss_growth = stats(g[10000], "MB", "lower"), results_heap = stats(h[10000], "MB", "lower") } }
  res.per_op_kb_1k = res.k1.rss_growth.median * 1024 / 1000
  res.per_op_kb_10k = res.k10.rss_growth.median * 1024 / 10000
  res.growth = res.per_op_kb_10k / res.per_op_kb_1k
  res.target = 1.25
  res.ok = res.growth <= res.target
  return res
end

-- scale: list 10,000 and 1,000,000 factors (pages of 1,000 made in memory by
-- the OpenResty nginx, openresty_app.pages), a fresh process each
-- (bench/mem.lua), interleaved: peak RSS growth <= 2 MB, and time linear
-- (the time per factor at 1,000,000 within 1.25x of that at 10,000)
local SCALE_SMALL, SCALE_BIG = 10000, 1000000
local function bench_scale(upstream, dir)
  local front = servers.start_openresty(dir, "bench/openresty.conf.in", upstream, { AUTH = "-" })
  local rs, rb, ts, tb, hs, hb = {}, {}, {}, {}, {}, {}
  local ok, err = pcall(function()
    local function run(count)
      local r = child("bench/mem.lua", concat({ servers.shq(front.base_url), fixtures.ACCOUNT_SID,
        servers.shq(fixtures.AUTH_TOKEN), fixtures.SERVICE_SID, fixtures.IDENTITY, count }, " "))
      if r.count ~= count then error("scale: iterated " .. tostring(r.count) .. " of " .. count) end
      return r
    end
    run(SCALE_SMALL) -- warm up the page server
    for i = 1, tonumber(os.getenv("BENCH_SCALE_RUNS") or "") or 3 do
      local a, b = run(SCALE_SMALL), run(SCALE_BIG)
      rs[i], rb[i], ts[i], tb[i] = a.peak_rss_kb / 1024, b.peak_rss_kb / 1024, a.seconds, b.seconds
      hs[i], hb[i] = a.peak_heap_kb / 1024, b.peak_heap_kb / 1024
    end
  end)
  servers.stop(front)
  if not ok then error(err, 0) end
  local res = { small = { count = SCALE_SMALL, peak_rss = stats(rs, "MB", "lower"), seconds = stats(ts, "s", "lower"),
                          peak_heap = stats(hs, "MB", "lower") },
                big = { count = SCALE_BIG, peak_rss = stats(rb, "MB", "lower"), seconds = stats(tb, "s", "lower"),
                        peak_heap = stats(hb, "MB", "lower") } }
  res.rss_delta = res.big.peak_rss.median - res.small.peak_rss.median
  res.us_small = res.small.seconds.median / SCALE_SMALL * 1e6
  res.us_big = res.big.seconds.median / SCALE_BIG * 1e6
  res.time_ratio = res.us_big / res.us_small
  res.rss_target, res.time_target = 2, 1.25
  res.ok = res.rss_delta <= res.rss_target and res.time_ratio <= res.time_target
  return res
end

-------------------------------------------------------------------------------
-- nginx: the OpenResty transport inside a request handler vs the bare
-- subrequest + cjson.decode (bench/openresty.conf.in, 1 worker, wrk -t1 -c8)
-------------------------------------------------------------------------------
local function wrk_c8(url)
  local cmd = format("wrk -t1 -c8 -d%ds %s", WRK_SECONDS, servers.shq(url))
  local o = cmd_out(cmd)
  local rate = tonumber(o:match("Requests/sec:%s*([%d%.]+)"))
  if not rate then error("wrk failed: " .. cmd .. "\n" .. o) end
  if o:match("Non%-2xx") or o:match("Socket errors") then error("wrk saw errors:\n" .. cmd .. "\n" .. o) end
  return rate
end

-- Per-round ratios: each round runs ours and the bare handler back to back
-- (the order alternating), and the verdict is the median of the rounds'
-- ratios, so a loaded machine shows as spread, not as a verdict.
local NGINX_OPS = { "fetch", "update", "challenge", "list" }
local NGINX_TARGET = 0.95

local function bench_openresty(upstream, dir)
  local c = new_client(upstream)
  local _, headers = wire(c, "fetch", upstream.service_sid, upstream.identity, upstream.factor_sid)
  c:close()
  local front = servers.start_openresty(dir, "bench/openresty.conf.in", upstream,
    { AUTH = headers.Authorization })
  local res = { ops = {}, rounds = math.max(opt.runs, 5) }
  local ok, err = pcall(function()
    for _, op in ipairs(NGINX_OPS) do
      local ours_url, bare_url = front.base_url .. "/ours/" .. op, front.base_url .. "/bare/" .. op
      for _, u in ipairs({ ours_url, bare_url }) do -- warm up (and fail early)
        local o = cmd_out("curl -s " .. servers.shq(u))
        if o ~= "ok" then error("nginx handler " .. u .. " answered: " .. o) end
        wrk_c8(u)
      end
      local r_ours, r_bare, ratios = {}, {}, {}
      for i = 1, res.rounds do
        if i % 2 == 1 then
          r_ours[i] = wrk_c8(ours_url)
          r_bare[i] = wrk_c8(bare_url)
        else
          r_bare[i] = wrk_c8(bare_url)
          r_ours[i] = wrk_c8(ours_url)
        end
        ratios[i] = r_ours[i] / r_bare[i]
      end
      local r = { ours = stats(r_ours, "req/s", "higher"), bare = stats(r_bare, "req/s", "higher"),
                  ratios = stats(ratios, "x", "higher"), target = NGINX_TARGET }
      r.ratio = r.ratios.median
      r.ok = r.ratio >= r.target
      res.ops[op] = r
    end
    res.jit_aborts = cmd_out("curl -s " .. servers.shq(front.base_url .. "/jit/"))
  end)
  servers.stop(front)
  if not ok then error(err, 0) end
  return res
end

-------------------------------------------------------------------------------
-- TLS: the first call of a new client vs of a second one (bench/tls_first.lua,
-- a fresh process per sample), and whether the second resumed
-------------------------------------------------------------------------------
local function bench_tls_first(server)
  local t1, t2 = {}, {}
  local logf = server.dir .. "/tls-access.log"
  local function reused_counts()
    local r, n = 0, 0
    for line in (servers.read(logf) or ""):gmatch("[^\n]+") do
      n = n + 1
      if line:match("^r ") then r = r + 1 end
    end
    return r, n
  end
  local r0, n0 = reused_counts()
  local samples = math.max(opt.runs * 3, 15)
  for i = 1, samples do
    local r = child("bench/tls_first.lua", concat({ servers.shq(server.base_url), servers.shq(server.ca_file),
      fixtures.ACCOUNT_SID, servers.shq(fixtures.AUTH_TOKEN), server.service_sid, server.fetch_identity,
      server.factor_sid }, " "))
    t1[i], t2[i] = r.first_ms, r.second_ms
  end
  os.execute("sleep 0.2") -- nginx writes its access log when a connection's request ends
  local r1, n1 = reused_counts()
  local res = { first = stats(t1, "ms", "lower"), second = stats(t2, "ms", "lower"), target = 1.5,
                requests = n1 - n0, reused = r1 - r0 }
  res.ratio = res.first.median / res.second.median
  res.ok = res.ratio >= res.target
  return res
end

-------------------------------------------------------------------------------
-- optable: instructions per call under callgrind (bench/profile.lua's
-- children) against bench/baseline.json, the commit before the operation table
-------------------------------------------------------------------------------
local function bench_optable(server)
  local base = cjson.decode((assert(servers.read("bench/baseline.json"), "bench/baseline.json is missing")))
  local res = { baseline_commit = base.commit, paths = {} }
  local outdir = server.dir .. "/callgrind"
  os.execute("mkdir -p " .. servers.shq(outdir))
  for _, p in ipairs({ "fetch", "plain_fetch", "update", "plain_update", "challenge", "plain_challenge" }) do
    local n = 1000
    local cg = format("%s/callgrind.%s.out", outdir, p)
    local cmd = format("valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=%s %s bench/profile.lua "
      .. "--child %s %s %d >/dev/null 2>&1", servers.shq(cg), servers.shq(opt.lua), p, server.base_url, n)
    if not os.execute(cmd) then error("callgrind failed: " .. cmd) end
    local ann = cmd_out(format("callgrind_annotate --threshold=100 %s", servers.shq(cg)))
    local total = tonumber(((ann:match("([%d,]+)%s+%(?[%d.%%]*%)?%s*PROGRAM TOTALS") or ""):gsub(",", "")), 10)
    local r = { ir = total and total / n, baseline = base.ir_per_call[p] }
    if r.ir and r.baseline then
      r.ratio = r.ir / r.baseline
      if p == "fetch" or p == "update" then
        r.target = 1.02
        r.ok = r.ratio <= r.target
      end
    end
    res.paths[p] = r
  end
  return res
end

-------------------------------------------------------------------------------
-- report
-------------------------------------------------------------------------------
local lines = {}
local function out(s)
  lines[#lines + 1] = s
  print(s)
  io.stdout:flush()
end

local function verdict(ok) return ok and "ok" or "MISSED" end

local function print_rows(rows)
  if #rows == 0 then return end
  local w = { 0, 0, 0, 0, 0, 0 }
  local head = { "figure", "ours", "baseline", "ratio", "target", "" }
  for _, row in ipairs({ head, table.unpack(rows) }) do
    for i, c in ipairs(row) do if #c > w[i] then w[i] = #c end end
  end
  for _, row in ipairs({ head, table.unpack(rows) }) do
    local cells = {}
    for i, c in ipairs(row) do cells[i] = c .. string.rep(" ", w[i] - #c) end
    out(("  " .. concat(cells, "  ")):gsub("%s+$", ""))
  end
end

local OP_LABEL = { fetch = "fetch", update = "update", challenge = "create_challenge" }

local function report_target(name, r)
  out(format("-- %s at %s", name, r.base_url))
  local rows = {}
  for _, op in ipairs({ "fetch", "update", "challenge" }) do
    local x = r[op]
    if x and x.wrk then
      rows[#rows + 1] = { OP_LABEL[op], fmt_stat(x.ours), "libcurl+lua-cjson " .. fmt_stat(x.plain),
        format("%.2fx", x.ratio_plain), ">= 1.00x", verdict(x.ok) }
      rows[#rows + 1] = { "", "", "wrk -t1 -c1 " .. fmt_stat(x.wrk), format("%.2fx", x.ratio), "(info)", "" }
      rows[#rows + 1] = { "", "", "libcurl alone, no JSON " .. fmt_stat(x.curl_only),
        format("%.2fx", x.ours.median / x.curl_only.median), "(info)", "" }
    elseif x then -- TLS
      rows[#rows + 1] = { OP_LABEL[op] .. " (TLS, kept alive)", fmt_stat(x.ours),
        "libcurl+lua-cjson, same TLS " .. fmt_stat(x.plain), format("%.2fx", x.ratio_plain), ">= 0.95x",
        verdict(x.ok) }
    end
  end
  if r.first then
    rows[#rows + 1] = { "TLS first call, 2nd client", fmt_stat(r.first.second),
      "1st client (full handshake) " .. fmt_stat(r.first.first), format("%.2fx", r.first.ratio), ">= 1.5x",
      verdict(r.first.ok) }
  end
  if r.list then
    rows[#rows + 1] = { "list 10k", fmt_stat(r.list.ours), "libcurl+lua-cjson " .. fmt_stat(r.list.plain),
      format("%.2fx", r.list.ratio), "<= 1.25x", verdict(r.list.ok) }
  end
  print_rows(rows)
  for _, op in ipairs({ "fetch", "update" }) do
    if r[op] and r[op].ratio_curl_only then
      out(format("  %s: libcurl alone (no JSON, no Lua tables) reaches %.2fx wrk: the ceiling for a libcurl client",
        op, r[op].ratio_curl_only))
    end
  end
  if r.first then
    out(format("  TLS: %d of the server's %d handshakes in the first-call samples were resumed ($ssl_session_reused)",
      r.first.reused, r.first.requests))
  end
end

-------------------------------------------------------------------------------
-- main
-------------------------------------------------------------------------------
local results = {
  date = os.date("!%Y-%m-%dT%H:%M:%SZ"),
  runs = opt.runs, seconds_per_run = opt.seconds,
  machine = machine(),
  targets = {},
}

local dir = servers.tmpdir()
local started = {}
local function cleanup()
  for _, s in ipairs(started) do servers.stop(s) end
  os.execute("rm -rf " .. servers.shq(dir))
end

local ok, err = xpcall(function()
  local m = results.machine
  results.pinning = pin()
  out(format("twilio-verify %s benchmarks: median of %d runs [min .. max]", m.library, opt.runs))
  out(format("machine: %s, %d cores, %s GiB; %s; %s; %s; libcurl %s; cJSON %s; lua-cjson %s; nginx %s; wrk %s",
    m.cpu, m.cores or 0, tostring(m.memory_gib), m.os, m.kernel, m.lua, m.libcurl, m.cjson, m.lua_cjson,
    tostring(m.nginx), m.wrk))
  out("pinning: " .. results.pinning .. " (BENCH_PIN=same|cross|none)")

  local nginx = servers.start_nginx(dir, "bench/nginx.conf.in")
  started[#started + 1] = nginx
  local targets = { nginx }
  local emulator
  if opt.with_emulator and (wanted("fetch") or wanted("update") or wanted("list") or wanted("memory")) then
    emulator = servers.start_emulator(dir, opt.emulator)
    started[#started + 1] = emulator
    targets[2] = emulator
  end

  for _, s in ipairs(targets) do
    local r = { base_url = s.base_url }
    results.targets[s.name] = r
    if wanted("fetch") then r.fetch = bench_call(s, "fetch") end
    if wanted("update") then r.update = bench_call(s, "update") end
    if wanted("challenge") and s.name == "nginx" then r.challenge = bench_call(s, "challenge") end
    if wanted("list") then r.list = bench_list(s) end
    report_target(s.name == "nginx" and "nginx (canned files)" or "emulator", r)
  end

  if wanted("tls") then
    local tdir = servers.tmpdir()
    local tls_nginx = servers.start_nginx(tdir, "bench/nginx.conf.in", true)
    started[#started + 1] = tls_nginx
    local r = { base_url = tls_nginx.base_url }
    results.targets.tls = r
    r.fetch = bench_call(tls_nginx, "fetch")
    r.first = bench_tls_first(tls_nginx)
    report_target("nginx over TLS (test CA made now, ca_file, verification on)", r)
    servers.stop(tls_nginx)
    os.execute("rm -rf " .. servers.shq(tdir))
  end

  if wanted("openresty") then
    local odir = servers.tmpdir()
    local ok_or, r = pcall(bench_openresty, nginx, odir)
    if not ok_or then
      out("-- nginx rows: could not run (" .. tostring(r):gsub("\n.*", "") .. ") MISSED")
    else
      results.openresty = r
      out(format("-- nginx (1 worker, LuaJIT, wrk -t1 -c8): handler calling the client (OpenResty transport) vs "
        .. "ngx.location.capture + cjson.decode of the same request; ratio = median of %d interleaved rounds' "
        .. "ratios [min .. max]", r.rounds))
      local rows = {}
      for _, op in ipairs(NGINX_OPS) do
        local x = r.ops[op]
        rows[#rows + 1] = { op == "list" and "list 1k page" or OP_LABEL[op] or op, fmt_stat(x.ours),
          "bare capture+decode " .. fmt_stat(x.bare),
          format("%.2fx [%.2f .. %.2f]", x.ratio, x.ratios.min, x.ratios.max),
          format(">= %.2fx", x.target), verdict(x.ok) }
      end
      print_rows(rows)
      local aborts = r.jit_aborts or ""
      out("  LuaJIT trace aborts in the worker: " .. (aborts == "" and "none" or ("\n    " .. aborts:gsub("\n", "\n    "))))
    end
    os.execute("rm -rf " .. servers.shq(odir))
  end

  if wanted("optable") and os.execute("command -v valgrind >/dev/null 2>&1") then
    local o = bench_optable(nginx)
    results.optable = o
    out(format("-- instructions per call (callgrind, bench/profile.lua) vs bench/baseline.json (commit %s, "
      .. "before the operation table)", tostring(o.baseline_commit)))
    local rows = {}
    for _, p in ipairs({ "fetch", "plain_fetch", "update", "plain_update", "challenge", "plain_challenge" }) do
      local x = o.paths[p]
      rows[#rows + 1] = { p, x.ir and format("%s Ir", fmt_num(x.ir)) or "?",
        x.baseline and format("before %s Ir", fmt_num(x.baseline)) or "(new: no figure before)",
        x.ratio and format("%.3fx", x.ratio) or "", x.target and "<= 1.02x" or "(info)",
        x.target and verdict(x.ok) or "" }
    end
    print_rows(rows)
    for _, p in ipairs({ "fetch", "update", "challenge" }) do
      local f, pf = o.paths[p], o.paths["plain_" .. p]
      if f.ir and pf.ir then
        out(format("  %s: %s Ir over the plain libcurl + lua-cjson floor (%.3fx its instructions)",
          p, fmt_num(f.ir - pf.ir), f.ir / pf.ir))
      end
    end
  end

  if wanted("decode") then
    local body = assert(servers.read(nginx.dir .. "/www/pages/PT0.json"))
    local d = bench_decode(body)
    results.decode = d
    out(format("-- decode a 1,000-factor page (%d KB)", #body // 1024))
    out(format("  ours (parse_response)  %s", fmt_stat(d.ours)))
    out(format("  lua-cjson decode       %s", fmt_stat(d.cjson)))
    out(format("  ratio %.2fx (target <= 1.2x) %s", d.ratio, verdict(d.ok)))
  end

  if wanted("memory") and emulator then
    local mres = bench_memory(emulator)
    results.memory = mres
    out("-- memory: iterating with page_size 1000 (emulator, fresh process each)")
    out(format("  1k factors    peak RSS %s   peak Lua heap %s", fmt_stat(mres.k1.peak_rss),
      fmt_stat(mres.k1.peak_heap)))
    out(format("  100k factors  peak RSS %s   peak Lua heap %s   (%s)", fmt_stat(mres.k100.peak_rss),
      fmt_stat(mres.k100.peak_heap), fmt_stat(mres.k100.seconds)))
    out(format("  delta  RSS %+.2f MB  heap %+.2f MB (target within 10 MB) %s", mres.rss_delta, mres.heap_delta,
      verdict(mres.ok)))
  end

  if wanted("batch") and io.open("bench/batch_bench.lua") then
    local b = bench_batch()
    results.batch = b
    out("-- batch: 1,000 fetches, emulator with 5 ms latency per request (bench/batch_bench.lua)")
    b.target = 6
    b.ok = b.speedup.median >= b.target
    out(format("  one by one %s   client:batch concurrency 8 %s   speedup %s (target >= 6x) %s",
      fmt_stat(b.sequential), fmt_stat(b.batch), fmt_stat(b.speedup), verdict(b.ok)))
    local bm = bench_batch_memory()
    b.memory = bm
    out(format("  memory (the batch only): 1,000 ops  peak RSS +%s, results %s of Lua heap", fmt_stat(bm.k1.rss_growth),
      fmt_stat(bm.k1.results_heap)))
    out(format("                          10,000 ops peak RSS +%s, results %s of Lua heap", fmt_stat(bm.k10.rss_growth),
      fmt_stat(bm.k10.results_heap)))
    out(format("  per op %.2f KB at 1,000, %.2f KB at 10,000: %.2fx (bounded: target <= %.2fx) %s", bm.per_op_kb_1k,
      bm.per_op_kb_10k, bm.growth, bm.target, verdict(bm.ok)))
  end

  if wanted("scale") then
    local sdir = servers.tmpdir()
    local ok_sc, sc = pcall(bench_scale, nginx, sdir)
    os.execute("rm -rf " .. servers.shq(sdir))
    if not ok_sc then
      out("-- scale: could not run (" .. tostring(sc):gsub("\n.*", "") .. ") MISSED")
    else
      results.scale = sc
      out("-- scale: list 10,000 vs 1,000,000 factors (page_size 1000, pages made in memory by nginx; "
        .. "fresh process each, bench/mem.lua)")
      out(format("  10,000     peak RSS %s   peak Lua heap %s   %s (%.2f us/factor)", fmt_stat(sc.small.peak_rss),
        fmt_stat(sc.small.peak_heap), fmt_stat(sc.small.seconds), sc.us_small))
      out(format("  1,000,000  peak RSS %s   peak Lua heap %s   %s (%.2f us/factor)", fmt_stat(sc.big.peak_rss),
        fmt_stat(sc.big.peak_heap), fmt_stat(sc.big.seconds), sc.us_big))
      out(format("  RSS growth %+.2f MB (target <= %d MB); time per factor %.2fx (linear: target <= %.2fx) %s",
        sc.rss_delta, sc.rss_target, sc.time_ratio, sc.time_target, verdict(sc.ok)))
    end
  end

  if wanted("startup") then
    local st = bench_startup()
    results.startup = st
    out("-- startup (fresh process): require \"twilio.verify\" + verify.new{...}, interleaved with the plain "
      .. "libcurl module (dlopen of libcurl + OpenSSL, curl_global_init, one easy handle)")
    out(format("  require %s (the C module %s, the Lua modules %s)   new %s   a second new %s", fmt_stat(st.require),
      fmt_stat(st.core), fmt_stat(st.lua), fmt_stat(st.new), fmt_stat(st.new2)))
    out(format("  total %s   libcurl alone %s (%.0f%% of ours)", fmt_stat(st.total), fmt_stat(st.curl),
      st.curl_share * 100))
    out(format("  ours over libcurl's own load and init %s (target < %d ms) %s", fmt_stat(st.over_curl), st.target,
      verdict(st.ok)))
  end
end, debug.traceback)
cleanup()
if not ok then
  io.stderr:write("bench failed: ", tostring(err), "\n")
  os.exit(1)
end

results.report = concat(lines, "\n")
local f = assert(io.open(opt.out, "wb"))
f:write(cjson.encode(results), "\n")
f:close()
print("wrote " .. opt.out)
