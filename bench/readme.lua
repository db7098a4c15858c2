-- bench/readme.lua -- the README's performance table, from a `make bench`
-- run's bench/results.json: rewrites the region of README.md between
-- "<!-- BEGIN bench: performance -->" and "<!-- END bench: performance -->".
--   lua5.4 bench/readme.lua [RESULTS [README]]       (make bench-readme)
--   lua5.4 bench/readme.lua --check [RESULTS [README]]  fails when the table
--                                                   is not results.json's
-- A row whose figure the run did not make (make bench BENCH_ARGS="--only
-- ...") is left out.  Needs lua-cjson only (no build).
local cjson = require "cjson"

local check = arg[1] == "--check"
local a = check and 2 or 1
local RESULTS, README = arg[a] or "bench/results.json", arg[a + 1] or "README.md"
local BEGIN, END = "<!-- BEGIN bench: performance -->", "<!-- END bench: performance -->"
local format, concat = string.format, table.concat

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function num(v)
  if v == nil then return "-" end
  local x = math.abs(v)
  if x >= 1000 then
    local s = format("%.0f", v)
    return (s:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", ""))
  elseif x >= 100 then return format("%.0f", v)
  elseif x >= 10 then return format("%.1f", v)
  else return format("%.2f", v) end
end
local function med(st, unit) return num(st.median) .. " " .. (unit or st.unit) end
local function spread(st) return format("%s–%s", num(st.min), num(st.max)) end
local function x(v) return format("%.2f×", v) end
local function verdict(ok) return ok and "ok" or "**missed**" end

local r = cjson.decode(read(RESULTS))
local rows = {}
local function row(...) rows[#rows + 1] = "| " .. concat({ ... }, " | ") .. " |" end

local nginx = r.targets and r.targets.nginx or {}
local LABEL = { fetch = "fetch_factor, sequential", update = "update_factor, sequential",
                challenge = "create_challenge with auth_payload" }
for _, op in ipairs({ "fetch", "update", "challenge" }) do
  local o = nginx[op]
  if o and o.plain then
    row(LABEL[op], med(o.ours), "libcurl + lua-cjson loop: " .. med(o.plain),
      format("%s (runs: %s / %s)", x(o.ratio_plain), spread(o.ours), spread(o.plain)), "≥ 1.00×", verdict(o.ok))
  end
end
local NLABEL = { fetch = "nginx handler, fetch_factor (OpenResty transport)", update = "nginx handler, update_factor",
                 challenge = "nginx handler, create_challenge", list = "nginx handler, a 1,000-factor page, iterated" }
if r.openresty and r.openresty.ops then
  for _, op in ipairs({ "fetch", "update", "challenge", "list" }) do
    local o = r.openresty.ops[op]
    if o then
      row(NLABEL[op], med(o.ours), "`ngx.location.capture` + `cjson.decode`: " .. med(o.bare),
        format("%s (%s, %d rounds)", x(o.ratio), spread(o.ratios), #o.ratios.runs), format("≥ %.2f×", o.target),
        verdict(o.ok))
    end
  end
end
local tls = r.targets and r.targets.tls
if tls and tls.fetch then
  row("fetch over TLS, kept alive", med(tls.fetch.ours), "libcurl + lua-cjson, same server: " .. med(tls.fetch.plain),
    x(tls.fetch.ratio_plain), "≥ 0.95×", verdict(tls.fetch.ok))
end
if tls and tls.first then
  row("first call over TLS, second client (resumed session)", med(tls.first.second),
    "first client (full handshake): " .. med(tls.first.first), format("%.2f× faster", tls.first.ratio), "≥ 1.5×",
    verdict(tls.first.ok))
end
if nginx.list then
  row("iterate 10,000 factors (10 × 1,000)", med(nginx.list.ours), "libcurl loop + lua-cjson: " .. med(nginx.list.plain),
    x(nginx.list.ratio), "≤ 1.25×", verdict(nginx.list.ok))
end
if r.decode then
  row("decode a 1,000-factor page into Lua", med(r.decode.ours), "lua-cjson: " .. med(r.decode.cjson), x(r.decode.ratio),
    "≤ 1.2×", verdict(r.decode.ok))
end
if r.memory then
  local m = r.memory
  row("iterate 1k vs 100k factors (emulator)", format("peak RSS %s / %s MB, Lua heap %s / %s MB",
    num(m.k1.peak_rss.median), num(m.k100.peak_rss.median), num(m.k1.peak_heap.median), num(m.k100.peak_heap.median)),
    "", format("%+.1f MB", m.rss_delta), "within 10 MB", verdict(m.ok))
end
if r.scale then
  local s = r.scale
  row("list 1,000,000 vs 10,000 factors", format("peak RSS %s vs %s MB; %s vs %s µs a factor (%s s)",
    num(s.big.peak_rss.median), num(s.small.peak_rss.median), num(s.us_big), num(s.us_small), num(s.big.seconds.median)),
    "", format("%+.2f MB; time %s", s.rss_delta, x(s.time_ratio)),
    format("≤ %d MB; linear (≤ %.2f×)", s.rss_target, s.time_target), verdict(s.ok))
end
if r.batch then
  local b = r.batch
  row("1,000 fetches, 5 ms latency, `client:batch` (concurrency 8)", med(b.batch), "one by one: " .. med(b.sequential),
    format("%.1f× (%s)", b.speedup.median, spread(b.speedup)), "≥ 6×", verdict(b.ok))
  if b.memory then
    local m = b.memory
    row("memory of a 10,000-fetch batch", format("peak RSS +%s MB (results: %s MB of Lua heap)",
      num(m.k10.rss_growth.median), num(m.k10.results_heap.median)),
      format("1,000 fetches: +%s MB", num(m.k1.rss_growth.median)),
      format("%.2f KB / %.2f KB an op (%s)", m.per_op_kb_10k, m.per_op_kb_1k, x(m.growth)),
      format("bounded (≤ %.2f×)", m.target), verdict(m.ok))
  end
end
if r.startup then
  local s = r.startup
  row("startup: `require` + `new`, fresh process", med(s.total),
    format("libcurl + OpenSSL load and init alone: %s (%.0f%%)", med(s.curl), s.curl_share * 100),
    "ours beyond it: " .. med(s.over_curl), format("< %d ms beyond libcurl", s.target), verdict(s.ok))
end
if r.optable and r.optable.paths then
  for _, p in ipairs({ "fetch", "update" }) do
    local o, plain = r.optable.paths[p], r.optable.paths["plain_" .. p]
    if o and o.ir and o.baseline then
      row(p .. ", instructions per call (callgrind)", num(o.ir),
        format("before the operation table (%s): %s; libcurl + lua-cjson floor: %s", tostring(r.optable.baseline_commit),
          num(o.baseline), plain and plain.ir and num(plain.ir) or "-"),
        format("%s (floor: %s)", x(o.ratio), plain and plain.ir and x(o.ir / plain.ir) or "-"), "≤ 1.02×", verdict(o.ok))
    end
  end
end

local m = r.machine or {}
local missed = 0
for _, l in ipairs(rows) do if l:find("**missed**", 1, true) then missed = missed + 1 end end
local text = concat({
  BEGIN,
  format("Generated by `make bench-readme` from `bench/results.json` (`make bench` of %s: %s; median of %d runs, "
    .. "%s; %s, %d cores; %s; libcurl %s; nginx %s). %s",
    tostring(r.date), "the spread is the runs' min–max", r.runs or 0, tostring(r.pinning), tostring(m.cpu),
    m.cores or 0, tostring(m.os), tostring(m.libcurl), tostring(m.nginx),
    missed == 0 and "Every row met its target in this run." or (missed .. " row(s) missed in this run.")),
  "",
  "| | twilio-verify | baseline | ratio | target | |",
  "|---|---|---|---|---|---|",
  concat(rows, "\n"),
  END,
}, "\n")

local doc = read(README)
local b, e = doc:find(BEGIN, 1, true), select(2, doc:find(END, 1, true))
assert(b and e, README .. " has no " .. BEGIN .. " ... " .. END .. " region")
local new = doc:sub(1, b - 1) .. text .. doc:sub(e + 1)
if check then
  if new ~= doc then
    io.stderr:write(README .. "'s performance table is not " .. RESULTS .. "'s: run make bench-readme\n")
    os.exit(1)
  end
  print(README .. ": the performance table is " .. RESULTS .. "'s")
  return
end
if new ~= doc then
  local f = assert(io.open(README, "wb"))
  f:write(new)
  f:close()
end
print(format("%s: the performance table from %s (%d rows)", README, RESULTS, #rows))
