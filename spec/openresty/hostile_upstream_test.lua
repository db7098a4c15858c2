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
-- Env: TV_NGINX, TV_NGINX_MODULES, TV_NGINX_BUILD (spec/support/nginx.lua).
local cjson = require "cjson"
local hostile = require "openresty.tv_hostile_upstream"

local format = string.format

local process = require "support.process"
local nginx = require "support.nginx"
local sh, shq, read_file = process.output, process.shq, process.read_file
local ROOT, BUILD, MODULES = nginx.ROOT, nginx.BUILD, nginx.MODULES

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

local function start() return nginx.start(conf, { name = "hostile" }) end
local stop = nginx.stop

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
