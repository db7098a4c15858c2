-- bench/profile_nginx.lua -- instructions per request of the nginx rows
-- (issue 24): the nginx of bench/openresty.conf.in (one worker, no master)
-- runs under callgrind; for each handler, wrk -t1 -c1 sends requests for a
-- while, and the instructions the worker ran in that while (callgrind_control
-- zeroes the counters before, dumps after) are divided by the requests wrk
-- counted.  Deterministic where req/s are not: a loaded machine changes how
-- long a request takes, not the instructions it runs.
--
--   lua5.4 bench/profile_nginx.lua [OUTDIR]        (make bench-profile runs it)
-- Prints one line per handler and writes OUTDIR/profile-nginx.json, and
-- OUTDIR/callgrind.nginx-<handler>.out (callgrind_annotate them).
-- PROFILE_NGINX_OPS="fetch,update" profiles a subset; PROFILE_NGINX_CONF
-- another nginx template (e.g. the internal location's rewrite() form, to
-- compare); PROFILE_NGINX_SECONDS the length of each run (3).
-- With fetch, the floors too (openresty_app.floor): a raw cosocket GET, a
-- handler that only decodes the body, and our client over a canned
-- transport -- so the fetch gap splits into the client's own work and the
-- transport's (PROFILE_NGINX_NO_FLOORS=1 skips them).
local servers = require "servers"
local fixtures = require "fixtures"
local format = string.format

local OPS = { "fetch", "update", "challenge", "list" }
if os.getenv("PROFILE_NGINX_OPS") then
  OPS = {}
  for p in os.getenv("PROFILE_NGINX_OPS"):gmatch("[%w_]+") do OPS[#OPS + 1] = p end
end

local function cmd_out(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local s = p:read("a") or ""
  p:close()
  return s
end

local function total_ir(file)
  local ann = cmd_out(format("callgrind_annotate --threshold=100 %s", servers.shq(file)))
  return tonumber(((ann:match("([%d,]+)%s+%(?[%d.%%]*%)?%s*PROGRAM TOTALS") or ""):gsub(",", "")), 10)
end

local _M = {}

-- -> { [op] = { ours = Ir/request, bare = Ir/request, ratio = bare/ours } }
function _M.run(outdir, seconds)
  seconds = seconds or tonumber(os.getenv("PROFILE_NGINX_SECONDS") or "") or 3
  os.execute("mkdir -p " .. servers.shq(outdir))
  local dir = servers.tmpdir()
  local up, front
  local res = {}
  local ok, err = pcall(function()
    up = servers.start_nginx(dir, "bench/nginx.conf.in")
    local verify = require "twilio.verify"
    local c = assert(verify.new{ account_sid = fixtures.ACCOUNT_SID, auth_token = fixtures.AUTH_TOKEN,
                                 base_url = up.base_url, max_retries = 0 })
    local auth = assert(c:_prepare("fetch", fixtures.SERVICE_SID, fixtures.IDENTITY, fixtures.FACTOR_SID))
      .headers.Authorization
    c:close()
    local fdir = dir .. "/front"
    os.execute("mkdir -p " .. servers.shq(fdir))
    local cg = outdir .. "/callgrind.nginx.out"
    front = servers.start_openresty(fdir, os.getenv("PROFILE_NGINX_CONF") or "bench/openresty.conf.in", up, { AUTH = auth },
      format("valgrind --tool=callgrind --compress-strings=no --compress-pos=no --callgrind-out-file=%s ", servers.shq(cg)))
    -- instructions per request of one URL of the front nginx
    local function measure(url)
      local o = cmd_out("curl -s " .. servers.shq(url))
      if o ~= "ok" then error("nginx handler " .. url .. " answered: " .. o) end
      cmd_out(format("wrk -t1 -c1 -d%ds %s", seconds, servers.shq(url))) -- warm up: JIT traces, connections
      cmd_out("callgrind_control -z " .. front.pid)
      local w = cmd_out(format("wrk -t1 -c1 -d%ds %s", seconds, servers.shq(url)))
      local n = tonumber(w:match("(%d+) requests in"))
      local name = url:sub(#front.base_url + 2):gsub("/", "-")
      local file = format("%s/callgrind.nginx-%s.out", outdir, name)
      cmd_out(format("callgrind_control -d %s %d", name, front.pid))
      -- the dump goes next to the output file, named with a part number: take the newest
      local newest = cmd_out(format("ls -t %s.* 2>/dev/null | head -1", servers.shq(cg))):gsub("%s+$", "")
      if newest ~= "" then os.rename(newest, file) end
      local ir = total_ir(file)
      if not (n and n > 0 and ir) then error("no figure for " .. url .. ": " .. w) end
      return ir / n, n
    end
    for _, op in ipairs(OPS) do
      local r = {}
      for _, side in ipairs{ "ours", "bare" } do
        r[side], r[side .. "_requests"] = measure(front.base_url .. "/" .. side .. "/" .. op)
      end
      r.ratio = r.bare / r.ours
      r.jit_aborts = cmd_out("curl -s " .. servers.shq(front.base_url .. "/jit/")):gsub("%s+$", "")
      res[op] = r
      print(format("  nginx %-10s ours %9.0f Ir/request  bare %9.0f Ir/request  bare/ours %.3f", op, r.ours, r.bare,
        r.ratio))
      io.stdout:flush()
    end
    -- the floors of a fetch (openresty_app.floor): where the bare handler's
    -- instructions go, and how much of ours is the client's own work
    if res.fetch and not os.getenv("PROFILE_NGINX_NO_FLOORS") then
      local f = {}
      for _, what in ipairs{ "cosocket", "canned", "decode" } do
        f[what] = measure(front.base_url .. "/floor/" .. what)
      end
      f.subrequest = res.fetch.bare - f.decode -- capture + proxying, beyond a handler that only decodes
      f.client = f.canned - f.decode           -- our client beyond cjson.decode, no I/O
      f.transport = res.fetch.ours - res.fetch.bare - f.client -- the OpenResty transport beyond a bare capture
      f.target = res.fetch.bare / 0.95 - res.fetch.bare -- what the >= 0.95x row allows on top of bare
      res.fetch_floors = f
      print(format("  nginx fetch floors: raw cosocket %.0f Ir/request (bare capture %.0f); decode-only handler %.0f;"
        .. " client with a canned transport %.0f", f.cosocket, res.fetch.bare, f.decode, f.canned))
      print(format("  nginx fetch: ours - bare = %.0f Ir = client %.0f + transport %.0f; a 0.95x row allows %.0f",
        res.fetch.ours - res.fetch.bare, f.client, f.transport, f.target))
      io.stdout:flush()
    end
  end)
  if front then servers.stop(front) end
  if up then servers.stop(up) end
  os.execute("rm -rf " .. servers.shq(dir))
  if not ok then error(err, 0) end
  return res
end

if arg and arg[0] and arg[0]:match("profile_nginx%.lua$") then
  local outdir = arg[1] or "build/bench"
  local cjson = require "cjson"
  local res = _M.run(outdir)
  local f = assert(io.open(outdir .. "/profile-nginx.json", "wb"))
  f:write(cjson.encode(res), "\n")
  f:close()
end

return _M
