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

-- Is http(s)://127.0.0.1:port answering? (ca: trust this CA file, https)
local function answers(port, ca)
  if ca then
    return sh(format("curl -s -o /dev/null --max-time 1 --cacert %s https://127.0.0.1:%d/ 2>/dev/null", shq(ca), port))
  end
  return sh(format("curl -s -o /dev/null --max-time 1 http://127.0.0.1:%d/ 2>/dev/null", port))
end

-- A throwaway CA and a server certificate for 127.0.0.1 / localhost under
-- dir/tls, made with the openssl command line (RSA 2048, as public CAs
-- issue them).  Returns the CA file, the certificate and the key.
function _M.make_tls(dir)
  local t = dir .. "/tls"
  local q = function(n) return shq(t .. "/" .. n) end
  assert(sh("mkdir -p " .. shq(t)))
  local steps = {
    format("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=twilio-verify bench CA' "
      .. "-addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' "
      .. "-keyout %s -out %s", q("ca.key"), q("ca.pem")),
    format("printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nbasicConstraints=CA:FALSE\\n"
      .. "extendedKeyUsage=serverAuth\\nkeyUsage=critical,digitalSignature,keyEncipherment\\n' > %s", q("srv.ext")),
    format("openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout %s -out %s", q("srv.key"), q("srv.csr")),
    format("openssl x509 -req -days 2 -in %s -CA %s -CAkey %s -CAcreateserial -extfile %s -out %s",
      q("srv.csr"), q("ca.pem"), q("ca.key"), q("srv.ext"), q("srv.pem")),
  }
  for _, c in ipairs(steps) do
    assert(sh(c .. " >/dev/null 2>&1"), "openssl failed: " .. c)
  end
  os.execute("chmod 644 " .. q("srv.key"))
  return t .. "/ca.pem", t .. "/srv.pem", t .. "/srv.key"
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
-- tls: serve https with a throwaway CA (make_tls); the server's ca_file
-- field names the CA, and @DIR@/tls-access.log logs $ssl_session_reused.
function _M.start_nginx(dir, template, tls)
  local tpl = assert(read(template), "cannot read " .. template)
  local ca, cert, key
  if tls then ca, cert, key = _M.make_tls(dir) end
  os.execute(format("mkdir -p %s/tmp", shq(dir)))
  local list_path = fixtures.factors_path(fixtures.SERVICE_SID, fixtures.IDENTITY)
  math.randomseed() -- Lua 5.4: a random seed
  for _ = 1, 30 do
    local port = math.random(20000, 60000)
    if not answers(port) and not answers(port, ca) then
      local base = (tls and "https" or "http") .. "://127.0.0.1:" .. port
      fixtures.write_docroot(dir, base)
      local conf = tpl:gsub("@(%u+_?%u*)@", {
        DIR = dir, PORT = tostring(port), LIST_PATH = list_path,
        FACTOR_PATH = list_path .. "/" .. fixtures.FACTOR_SID,
        CHALLENGES_PATH = fixtures.challenges_path(fixtures.SERVICE_SID, fixtures.IDENTITY),
        LISTEN = tls and " ssl" or "",
        TLS = tls and format("        ssl_certificate %s;\n        ssl_certificate_key %s;\n"
          .. "        ssl_session_cache shared:tvbench:1m;\n        access_log %s/tls-access.log tls;", cert, key, dir) or "",
      })
      fixtures.write(dir .. "/nginx.conf", conf)
      os.remove(dir .. "/nginx.pid")
      local pid = spawn(format("nginx -p %s -c %s -e %s", shq(dir), shq(dir .. "/nginx.conf"),
        shq(dir .. "/nginx-start.log")), dir .. "/nginx.out", dir .. "/nginx.err")
      for _ = 1, 100 do
        if not alive(pid) then break end
        if read(dir .. "/nginx.pid") and answers(port, ca) then
          return { name = tls and "nginx-tls" or "nginx", pid = pid, port = port, base_url = base, dir = dir, ca_file = ca,
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

-- A second nginx (one worker) with the lua module (Debian
-- libnginx-mod-http-lua, LuaJIT) in front of `upstream` (a started
-- server): bench/openresty.conf.in, handlers in bench/openresty_app.lua.
-- prefix: a command the nginx runs under (e.g. valgrind's), which also
-- gives it longer to start
function _M.start_openresty(dir, template, upstream, vars, prefix)
  local tpl = assert(read(template), "cannot read " .. template)
  os.execute(format("mkdir -p %s/tmp %s/logs", shq(dir), shq(dir)))
  local root = (io.popen("pwd"):read("l"))
  math.randomseed()
  for _ = 1, 30 do
    local port = math.random(20000, 60000)
    if not answers(port) then
      local v = { DIR = dir, PORT = tostring(port), ROOT = root, UPSTREAM = "127.0.0.1:" .. upstream.port,
                  BASE = upstream.base_url, MODULES = "/usr/lib/nginx/modules" }
      for k, x in pairs(vars or {}) do v[k] = x end
      local conf = tpl:gsub("@(%u+_?%u*)@", v)
      fixtures.write(dir .. "/openresty.conf", conf)
      os.remove(dir .. "/openresty.pid")
      local pid = spawn(format("%snginx -p %s -c %s -e %s", prefix or "", shq(dir), shq(dir .. "/openresty.conf"),
        shq(dir .. "/openresty-start.log")), dir .. "/openresty.out", dir .. "/openresty.err")
      for _ = 1, prefix and 1200 or 100 do
        if not alive(pid) then break end
        if read(dir .. "/openresty.pid") and answers(port) then
          return { name = "openresty", pid = pid, port = port, base_url = "http://127.0.0.1:" .. port, dir = dir }
        end
        sleep(0.05)
      end
      stop(pid)
    end
  end
  error("could not start the OpenResty nginx; see " .. dir .. "/openresty-start.log: "
    .. (read(dir .. "/openresty-start.log") or "") .. (read(dir .. "/error.log") or ""))
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
