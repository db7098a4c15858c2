-- bench/profile.lua -- `make bench-profile`: callgrind profiles of the hot
-- paths against the canned nginx server (instruction counts, which stay
-- reliable on a noisy machine).  Only the measured loop is instrumented
-- (--instr-atstart=no + benchclock.callgrind), not startup.
--
--   lua5.4 bench/profile.lua [OUTDIR]                 driver: all paths
--   lua5.4 bench/profile.lua --child PATH BASE N      one path, N iterations
--
-- Paths: fetch (client:fetch_factor), fetch_lua (the same over the Lua-transport
-- path: transport = verify.curl_transport), plain_fetch (libcurl + lua-cjson),
-- list (client:factors over 10 x 1,000), plain_list, decode (parse_response
-- of a 1,000-factor page), cjson_decode.  Per path: OUTDIR/callgrind.PATH.out
-- and OUTDIR/profile-PATH.txt (callgrind_annotate, inclusive), plus a
-- summary of instructions per iteration in OUTDIR/profile-summary.txt.
-- PROFILE_ONLY="fetch,fetch_lua" profiles a subset.

local fixtures = require "fixtures"
local servers = require "servers"
local format = string.format

local PATHS = { "fetch", "fetch_lua", "plain_fetch", "update", "plain_update", "challenge", "plain_challenge", "list", "plain_list",
                "decode", "cjson_decode" }
local ITER = { fetch = 2000, fetch_lua = 2000, plain_fetch = 2000, update = 2000, plain_update = 2000, challenge = 2000,
               plain_challenge = 2000, list = 3, plain_list = 3, decode = 10, cjson_decode = 10 }
local UNIT = { fetch = "call", fetch_lua = "call", plain_fetch = "call", update = "call", plain_update = "call", challenge = "call",
               plain_challenge = "call", list = "10k list", plain_list = "10k list", decode = "page",
               cjson_decode = "page" }

if arg[1] == "--child" then
  local what, base, n = arg[2], arg[3], tonumber(arg[4])
  local clock = require "benchclock"
  local verify = require "twilio.verify"
  local core = require "twilio.verify.core"
  local cjson = require "cjson"
  local plaincurl = require "plaincurl"
  local c = assert(verify.new{ account_sid = fixtures.ACCOUNT_SID, auth_token = fixtures.AUTH_TOKEN,
                               base_url = base, max_retries = 0 })
  local cl = assert(verify.new{ account_sid = fixtures.ACCOUNT_SID, auth_token = fixtures.AUTH_TOKEN,
                                base_url = base, max_retries = 0, transport = verify.curl_transport })
  local S, ID, SID = fixtures.SERVICE_SID, fixtures.IDENTITY, fixtures.FACTOR_SID
  local hl = {}
  local req = assert(c:_prepare("fetch", S, ID, SID))
  for k, v in pairs(req.headers) do hl[#hl + 1] = k .. ": " .. v end
  local h = plaincurl.new(hl)
  local body = arg[5] and servers.read(arg[5])
  local first = assert(c:_prepare("list", S, ID, { page_size = 1000 })).url
  local params = { friendly_name = "Pixel 8 (work)", auth_payload = "bench-signed-challenge-0123456789" }
  local ch_params = { factor_sid = SID, auth_payload = "123456" }
  local upd = assert(c:_prepare("update", S, ID, SID, params))
  local chq = assert(c:_prepare("create_challenge", S, ID, ch_params))
  local hp = {}
  for k, v in pairs(upd.headers) do hp[#hp + 1] = k .. ": " .. v end
  hp[#hp + 1] = "Expect:"
  local hpost = plaincurl.new(hp)
  local fn = ({
    fetch = function() assert(c:fetch_factor(S, ID, SID)) end,
    fetch_lua = function() assert(cl:fetch_factor(S, ID, SID)) end,
    update = function() assert(c:update_factor(S, ID, SID, params)) end,
    plain_update = function()
      local _, b = hpost:post(upd.url, upd.body)
      assert(cjson.decode(b).sid)
    end,
    challenge = function() assert(c:create_challenge(S, ID, ch_params)) end,
    plain_challenge = function()
      local _, b = hpost:post(chq.url, chq.body)
      assert(cjson.decode(b).sid)
    end,
    plain_fetch = function()
      local _, b = h:get(req.url)
      assert(cjson.decode(b).sid)
    end,
    list = function()
      local k = 0
      for _ in c:factors(S, ID, { page_size = 1000 }) do k = k + 1 end
      assert(k == 10000)
    end,
    plain_list = function()
      local k, url = 0, first
      while url and url ~= cjson.null do
        local _, b = h:get(url)
        local p = cjson.decode(b)
        for _ in ipairs(p.factors) do k = k + 1 end
        url = p.meta.next_page_url
      end
      assert(k == 10000)
    end,
    decode = function() assert(core.parse_response("list", 200, body)) end,
    cjson_decode = function() assert(cjson.decode(body)) end,
  })[what]
  assert(fn, "unknown path " .. tostring(what))
  for _ = 1, math.max(1, n // 10) do fn() end -- warm up (connection, caches)
  collectgarbage()
  clock.callgrind(true)
  for _ = 1, n do fn() end
  clock.callgrind(false)
  c:close()
  cl:close()
  h:close()
  hpost:close()
  return
end

local outdir = arg[1] or os.getenv("BENCH_OUT") or "build/bench"
if os.getenv("PROFILE_ONLY") then
  local only = {}
  for p in os.getenv("PROFILE_ONLY"):gmatch("[%w_]+") do only[#only + 1] = p end
  PATHS = only
end
local lua = os.getenv("LUA") or "lua5.4"
os.execute("mkdir -p " .. servers.shq(outdir))
local dir = servers.tmpdir()
local nginx
local ok, err = pcall(function()
  nginx = servers.start_nginx(dir, "bench/nginx.conf.in")
  local page = dir .. "/www/pages/PT0.json"
  local summary = { format("callgrind, instructions per iteration (Ir), nginx at %s", nginx.base_url) }
  for _, p in ipairs(PATHS) do
    local cg = format("%s/callgrind.%s.out", outdir, p)
    local cmd = format("valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=%s %s bench/profile.lua "
      .. "--child %s %s %d %s 2>%s/valgrind.%s.log", servers.shq(cg), lua, p, nginx.base_url, ITER[p],
      servers.shq(page), servers.shq(outdir), p)
    assert(os.execute(cmd), "valgrind failed: " .. cmd)
    local txt = format("%s/profile-%s.txt", outdir, p)
    os.execute(format("callgrind_annotate --inclusive=yes --threshold=99 %s > %s 2>&1", servers.shq(cg),
      servers.shq(txt)))
    local ann = servers.read(txt) or ""
    local total = tonumber((ann:match("([%d,]+)%s+%(?[%d.%%]*%)?%s*PROGRAM TOTALS") or ""):gsub(",", ""), 10)
    summary[#summary + 1] = format("  %-13s %12s Ir / %s", p, total and format("%.0f", total / ITER[p]) or "?", UNIT[p])
    print(summary[#summary])
  end
  local f = assert(io.open(outdir .. "/profile-summary.txt", "wb"))
  f:write(table.concat(summary, "\n"), "\n")
  f:close()
end)
if nginx then servers.stop(nginx) end
os.execute("rm -rf " .. servers.shq(dir))
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
print("profiles in " .. outdir .. " (profile-*.txt, callgrind.*.out)")
