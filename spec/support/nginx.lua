-- spec/support/nginx.lua -- a real nginx for the OpenResty tests
-- (spec/openresty/*_test.lua): Debian's nginx with libnginx-mod-http-lua,
-- started in a fresh prefix directory on a free 127.0.0.1 port (a random
-- one, retried when taken) and stopped by pid.  LuaJIT and Lua 5.1-5.4.
-- Env: TV_ROOT (the checkout, default the working directory), TV_NGINX
-- (/usr/sbin/nginx), TV_NGINX_MODULES (/usr/lib/nginx/modules: the configs
-- need absolute load_module paths), TV_NGINX_BUILD (build-luajit: where
-- the module the workers load is).
local process = require "support.process"

local output, shq, read_file, write_file, alive = process.output, process.shq, process.read_file,
  process.write_file, process.alive
local format, concat = string.format, table.concat

local M = {}
M.ROOT = os.getenv("TV_ROOT") or output("pwd"):gsub("%s+$", "")
M.BUILD = os.getenv("TV_NGINX_BUILD") or "build-luajit"
M.NGINX = os.getenv("TV_NGINX") or "/usr/sbin/nginx"
M.MODULES = os.getenv("TV_NGINX_MODULES") or "/usr/lib/nginx/modules"
M.IS_ROOT = output("id -u"):match("^0%s") ~= nil

-- Start nginx with the config render(port) (a string).  opts: name (of
-- the prefix directory, /tmp/tv-nginx-<name>.XXXXXX), env (a table of
-- variables, or a function of the port giving one).  nginx is up when it
-- answers GET /__ready with any status.  Returns { pid, port, dir, base,
-- url (= base) }; raises with nginx's own words when it does not start.
function M.start(render, opts)
  opts = opts or {}
  assert(read_file(M.ROOT .. "/" .. M.BUILD .. "/twilio/verify/core.so"),
    "no LuaJIT build of the module in " .. M.BUILD .. " (make LUA=luajit BUILD=" .. M.BUILD .. ")")
  local dir = output("mktemp -d /tmp/tv-nginx-" .. (opts.name or "test") .. ".XXXXXX"):gsub("%s+$", "")
  os.execute("mkdir -p " .. shq(dir .. "/logs") .. " " .. shq(dir .. "/tmp") .. " && chmod 755 " .. shq(dir))
  local last
  for _ = 1, 8 do
    local port = math.random(20000, 59999)
    local base = "http://127.0.0.1:" .. port
    os.remove(dir .. "/logs/error.log") -- a try that found its port taken logged [emerg]: not this one's
    write_file(dir .. "/nginx.conf", render(port))
    local env = type(opts.env) == "function" and opts.env(port, base) or opts.env or {}
    local envs = {}
    for k, v in pairs(env) do envs[#envs + 1] = k .. "=" .. shq(v) end
    -- as root the workers would run as nobody: keep them as root in tests.
    -- The shell waits for nginx, and closing the pipe waits for the shell:
    -- the master is reaped, not left a zombie.
    local pipe = io.popen(format("env %s %s -p %s -c %s %s >%s 2>&1 </dev/null & echo $!; wait", concat(envs, " "),
      shq(M.NGINX), shq(dir .. "/"), shq(dir .. "/nginx.conf"), M.IS_ROOT and "-g 'user root;'" or "",
      shq(dir .. "/stderr")))
    local pid = tonumber(pipe:read("*l"))
    local n = { pid = pid, pipe = pipe, port = port, dir = dir, base = base, url = base }
    for _ = 1, 200 do
      if not alive(pid) then break end
      local code = output(format("curl -s -o /dev/null -w '%%{http_code}' --max-time 1 %s/__ready", base))
      if code:match("^%d%d%d$") and code ~= "000" then return n end
      os.execute("sleep 0.05")
    end
    last = (read_file(dir .. "/stderr") or "") .. (read_file(dir .. "/logs/error.log") or "")
    if alive(pid) then os.execute("kill -KILL " .. pid) end
    pipe:close()
    if not last:find("Address already in use", 1, true) then break end
  end
  os.execute("rm -rf " .. shq(dir))
  error("nginx did not start: " .. tostring(last))
end

-- Stop it by pid (QUIT, then KILL after 10 s) and remove its directory.
function M.stop(n)
  if not n or not n.pid then return end
  os.execute("kill -QUIT " .. n.pid .. " 2>/dev/null")
  for _ = 1, 200 do
    if not alive(n.pid) then break end
    os.execute("sleep 0.05")
  end
  if alive(n.pid) then os.execute("kill -KILL " .. n.pid .. " 2>/dev/null") end
  n.pipe:close()
  n.pid = nil
  os.execute("rm -rf " .. shq(n.dir))
end

function M.error_log(n) return read_file(n.dir .. "/logs/error.log") or "" end

return M
