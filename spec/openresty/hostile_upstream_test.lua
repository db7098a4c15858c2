-- spec/openresty/hostile_upstream_test.lua -- the OpenResty transport in a
-- real nginx (Debian's nginx-light + libnginx-mod-http-lua, LuaJIT 2.1)
-- against a hostile upstream (issue 23): 1,000 and 3,000 header lines, 300
-- case spellings of one header (the heap corruption of item 1, which an
-- upstream could cause through ngx.location.capture's res.header), 500
-- duplicates, a 1 MiB and a 32 KiB header value, bare CR and LF in values,
-- a NUL in a name, an error body with CR/LF, a garbage status line.
-- The upstream is a location of the same nginx answering on the raw socket
-- (spec/openresty/tv_hostile_upstream.lua).  For every case the caller gets
-- a result or a structured error without control characters, the one
-- worker never dies (same pid throughout, no "exited on signal" in
-- error.log), and nginx answers afterwards.
--
-- nginx binds 127.0.0.1 only and is stopped by pid.  Not a *_spec.lua file
-- (it needs nginx and a LuaJIT build): `make openresty-test`, or
--   LUA_PATH='lua/?.lua;spec/?.lua;;' busted --lua=luajit --cpath='build-luajit/?.so' \
--     spec/openresty/hostile_upstream_test.lua
-- Env: TV_NGINX, TV_NGINX_MODULES, TV_NGINX_BUILD as for nginx_test.lua.
local cjson = require "cjson"
local hostile = require "openresty.tv_hostile_upstream"

local format = string.format

local function sh(cmd)
  local p = io.popen(cmd)
  local out = p:read("*a")
  p:close()
  return out
end
local function shq(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end
local function write_file(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end
local function alive(pid)
  local stat = read_file("/proc/" .. pid .. "/stat")
  local state = stat and stat:match("^%d+ %b() (%a)")
  return state ~= nil and state ~= "Z" and state ~= "X"
end

local ROOT = os.getenv("TV_ROOT") or sh("pwd"):gsub("%s+$", "")
local BUILD = os.getenv("TV_NGINX_BUILD") or "build-luajit"
local NGINX = os.getenv("TV_NGINX") or "/usr/sbin/nginx"
local MODULES = os.getenv("TV_NGINX_MODULES") or "/usr/lib/nginx/modules"
local IS_ROOT = sh("id -u"):match("^0%s") ~= nil

-- doc/openresty.md's internal location, proxying to the hostile one; the
-- proxy buffer is large enough for 3,000 short header lines to reach Lua
local function conf(port)
  return format([[
load_module %s/ndk_http_module.so;
load_module %s/ngx_http_lua_module.so;
worker_processes 1;
daemon off;
error_log logs/error.log info;
pid logs/nginx.pid;
events { worker_connections 256; }
http {
    access_log logs/access.log;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    lua_package_path  "%s/lua/?.lua;%s/spec/openresty/?.lua;;";
    lua_package_cpath "%s/%s/?.so;;";
    server {
        listen 127.0.0.1:%d;
        location = /__ready { return 200 "ok"; }
        location /_twilio_verify/ {
            internal;
            rewrite_by_lua_block       { require("twilio.verify.openresty").rewrite() }
            header_filter_by_lua_block { require("twilio.verify.openresty").header_filter() }
            proxy_pass http://127.0.0.1:%d/hostile/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host 127.0.0.1:%d;
            proxy_buffer_size 64k;
            proxy_buffers 8 64k;
            proxy_connect_timeout 5s;
            proxy_read_timeout 10s;
        }
        location /hostile/ {
            content_by_lua_block { require("tv_hostile_upstream").serve() }
        }
        location = /run {
            content_by_lua_block { require("tv_hostile_upstream").run() }
        }
    }
}
]], MODULES, MODULES, ROOT, ROOT, ROOT, BUILD, port, port, port)
end

local function start()
  assert(read_file(ROOT .. "/" .. BUILD .. "/twilio/verify/core.so"),
    "no LuaJIT build of the module in " .. BUILD .. " (make LUA=luajit BUILD=" .. BUILD .. ")")
  local dir = sh("mktemp -d /tmp/tv-nginx-hostile.XXXXXX"):gsub("%s+$", "")
  os.execute("mkdir -p " .. shq(dir .. "/logs") .. " " .. shq(dir .. "/tmp") .. " && chmod 755 " .. shq(dir))
  local last
  for _ = 1, 8 do
    local port = math.random(20000, 59999)
    os.remove(dir .. "/logs/error.log") -- a try that found its port taken logged [emerg]: not this one's
    write_file(dir .. "/nginx.conf", conf(port))
    local pipe = io.popen(format("%s -p %s -c %s %s >%s 2>&1 </dev/null & echo $!; wait", shq(NGINX),
      shq(dir .. "/"), shq(dir .. "/nginx.conf"), IS_ROOT and "-g 'user root;'" or "", shq(dir .. "/stderr")))
    local pid = tonumber(pipe:read("*l"))
    local n = { pid = pid, pipe = pipe, port = port, dir = dir, base = "http://127.0.0.1:" .. port }
    for _ = 1, 200 do
      if not alive(pid) then break end
      local code = sh(format("curl -s -o /dev/null -w '%%{http_code}' --max-time 1 %s/__ready", n.base))
      if code == "200" then return n end
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

local function stop(n)
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

local function run(n, case)
  local out = sh(format("curl -s --max-time 30 -w '\\n%%{http_code}' %s", shq(n.base .. "/run?case=" .. case)))
  local text, code = out:match("^(.*)\n(%d%d%d)$")
  local ok, json = pcall(cjson.decode, text or "")
  return tonumber(code), ok and json or nil, text or out
end

local function error_log(n) return read_file(n.dir .. "/logs/error.log") or "" end

math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)

describe("the OpenResty transport against a hostile upstream", function()
  local n, pid
  setup(function() n = start() end)
  teardown(function() stop(n) end)

  local function outcome(case)
    local code, r, text = run(n, case)
    assert.equal(200, code, case .. ": " .. tostring(text) .. "\n" .. error_log(n):sub(-3000))
    assert.is_table(r, case .. ": " .. tostring(text))
    pid = pid or r.pid
    assert.equal(pid, r.pid, case .. ": the worker was replaced (it died)")
    assert.is_true(r.transport, case .. ": not the OpenResty transport")
    assert.is_true(r.clean, case .. ": a control character reached the caller")
    if not r.ok then assert.is_string(r.kind, case .. ": not a structured error") end
    return r
  end

  it("1,000 and 3,000 header lines: a result (3,000 entries are too many to read: no headers)", function()
    local r = outcome("lines-1000")
    assert.is_true(r.ok)
    assert.same({}, r.headers) -- 1,001 entries: over the 256 a table may have
    r = outcome("lines-3000")
    assert.is_true(r.ok)
    assert.same({}, r.headers)
  end)

  it("300 spellings of Retry-After, 200 of Twilio-Request-Duration: the worker survives", function()
    local r = outcome("variants-300")
    assert.is_true(r.ok)
    assert.same({}, r.headers)
    r = outcome("variants-200")
    assert.is_true(r.ok)
    -- the smallest spelling in byte order wins, whatever nginx's table order
    local names = hostile.spellings("Twilio-Request-Duration", 200)
    local best, at = nil, nil
    for i, k in ipairs(names) do if not best or k < best then best, at = k, i end end
    assert.equal("0." .. at, r.headers["twilio-request-duration"])
  end)

  it("500 duplicates of one header: its last value", function()
    local r = outcome("duplicates-500")
    assert.is_true(r.ok)
    assert.equal("500", r.headers["twilio-concurrent-requests"])
  end)

  it("a 1 MiB header value is a transport error; a 32 KiB one is kept, cut at 8 KiB", function()
    local r = outcome("value-1mib")
    assert.is_false(r.ok)
    assert.equal("transport", r.kind)
    r = outcome("value-32k")
    assert.is_true(r.ok)
    assert.equal(8192, #r.headers["twilio-verify-signature-fields"])
  end)

  it("bare CR or LF in a value, a NUL in a name, a garbage status line: a result or a structured error", function()
    for _, case in ipairs{ "bare-cr-line", "bare-lf-line", "nul-in-name", "status-garbage", "no-status" } do
      outcome(case)
    end
  end)

  it("an error body with CR/LF in its message: the message and request id reach the caller clean", function()
    local r = outcome("error-crlf")
    assert.is_false(r.ok)
    assert.equal("http", r.kind)
    assert.equal(400, r.status)
    assert.truthy(r.message:find("bad  Set-Cookie: x=1", 1, true), r.message)
  end)

  it("the worker never crashed, and nginx still answers", function()
    -- nginx retries a bind() whose port another process held a moment
    -- ([emerg] ... Address already in use, then it binds): not a crash
    local log = error_log(n):gsub("[^\n]*%[emerg%][^\n]*bind%(%) to [^\n]*Address already in use%)\n?", "")
    for _, bad in ipairs{ "exited on signal", "double free", "corrupted", "segfault", "[alert]", "[emerg]" } do
      local at = log:find(bad, 1, true)
      assert.is_nil(at, bad .. " in error.log:\n" .. (at and log:sub(math.max(1, at - 300), at + 700) or ""))
    end
    local r = outcome("variants-200")
    assert.is_true(r.ok)
  end)
end)
