-- bench/servers.lua -- start and stop the benchmark's HTTP servers on
-- 127.0.0.1: nginx serving canned files (bench/nginx.conf.in) and the
-- emulator.  Each runs as one process started here and stopped by its pid.

local fixtures = require "fixtures"

local _M = {}
local format = string.format

local function shq(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
_M.shq = shq

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end
_M.read = read

local function sh(cmd) return os.execute(cmd) == true end

local function sleep(s) os.execute("sleep " .. s) end

local function alive(pid)
  local stat = read("/proc/" .. pid .. "/stat")
  if not stat then return false end
  local state = stat:match("^%d+ %b() (%a)")
  return state ~= nil and state ~= "Z" and state ~= "X"
end

-- Start `cmd` in the background (exec'd, so the pid is its own); returns pid.
_M.cpu_prefix = "" -- e.g. "taskset -c 1 " to pin the servers
local function spawn(cmd, stdout, stderr)
  local p = io.popen(format("sh -c %s", shq(format("exec %s%s >%s 2>%s </dev/null & echo $!", _M.cpu_prefix, cmd,
    shq(stdout), shq(stderr)))))
  local pid = tonumber(p:read("l"))
  p:close()
  assert(pid, "could not start: " .. cmd)
  return pid
end

local function stop(pid)
  if not pid or not alive(pid) then return end
  os.execute("kill -TERM " .. pid .. " 2>/dev/null")
  for _ = 1, 100 do
    if not alive(pid) then return end
    sleep(0.05)
  end
  os.execute("kill -KILL " .. pid .. " 2>/dev/null")
end

-- Is http://127.0.0.1:port answering?
local function answers(port)
  return sh(format("curl -s -o /dev/null --max-time 1 http://127.0.0.1:%d/ 2>/dev/null", port))
end

function _M.tmpdir()
  local p = io.popen("mktemp -d /tmp/tv-bench.XXXXXX")
  local d = p:read("l")
  p:close()
  assert(d and d ~= "", "mktemp failed")
  os.execute("chmod 755 " .. shq(d)) -- nginx may run its worker as another user
  return d
end

-- nginx on a free port: try random ports until one binds.
function _M.start_nginx(dir, template)
  local tpl = assert(read(template), "cannot read " .. template)
  os.execute(format("mkdir -p %s/tmp", shq(dir)))
  local list_path = fixtures.factors_path(fixtures.SERVICE_SID, fixtures.IDENTITY)
  math.randomseed() -- Lua 5.4: a random seed
  for _ = 1, 30 do
    local port = math.random(20000, 60000)
    if not answers(port) then
      local base = "http://127.0.0.1:" .. port
      fixtures.write_docroot(dir, base)
      local conf = tpl:gsub("@(%u+_?%u*)@", {
        DIR = dir, PORT = tostring(port), LIST_PATH = list_path,
        FACTOR_PATH = list_path .. "/" .. fixtures.FACTOR_SID,
      })
      fixtures.write(dir .. "/nginx.conf", conf)
      os.remove(dir .. "/nginx.pid")
      local pid = spawn(format("nginx -p %s -c %s -e %s", shq(dir), shq(dir .. "/nginx.conf"),
        shq(dir .. "/nginx-start.log")), dir .. "/nginx.out", dir .. "/nginx.err")
      for _ = 1, 100 do
        if not alive(pid) then break end
        if read(dir .. "/nginx.pid") and answers(port) then
          return { name = "nginx", pid = pid, port = port, base_url = base, dir = dir,
                   service_sid = fixtures.SERVICE_SID, identity = fixtures.IDENTITY,
                   fetch_identity = fixtures.IDENTITY, factor_sid = fixtures.FACTOR_SID }
        end
        sleep(0.05)
      end
      stop(pid)
    end
  end
  error("could not start nginx; see " .. dir .. "/nginx-start.log: " .. (read(dir .. "/nginx-start.log") or ""))
end

function _M.start_emulator(dir, exe)
  local seed = dir .. "/seed.json"
  fixtures.write(seed, fixtures.seed_json())
  local out, err = dir .. "/emulator.out", dir .. "/emulator.err"
  local pid = spawn(format("%s --port 0 --no-limits --account-sid %s --auth-token %s --seed %s", shq(exe),
    fixtures.ACCOUNT_SID, shq(fixtures.AUTH_TOKEN), shq(seed)), out, err)
  for _ = 1, 600 do -- the seed (110,001 factors) takes a moment
    local port = tonumber((read(out) or ""):match("^(%d+)"))
    if port then
      return { name = "emulator", pid = pid, port = port, base_url = "http://127.0.0.1:" .. port, dir = dir,
               service_sid = fixtures.SERVICE_SID, identity = fixtures.IDENTITY,
               fetch_identity = "bench-fetch-0001", factor_sid = fixtures.FACTOR_SID,
               mem_identity = fixtures.MEM_IDENTITY }
    end
    if not alive(pid) then break end
    sleep(0.05)
  end
  stop(pid)
  error("the emulator did not start: " .. (read(err) or ""))
end

function _M.stop(server)
  if server then stop(server.pid) end
end

return _M
