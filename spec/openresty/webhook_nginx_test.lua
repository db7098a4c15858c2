-- spec/openresty/webhook_nginx_test.lua -- verify.webhook.validate_request
-- inside a real nginx (Debian's nginx-light + libnginx-mod-http-lua, LuaJIT
-- 2.1): the signed webhook requests a receiver gets -- form bodies, JSON
-- bodies with bodySHA256, a body nginx buffered to a file, the URL rebuilt
-- from the request or given as the public URL -- accepted, and every
-- tampered one rejected.  nginx binds 127.0.0.1 only and is stopped by pid.
--
-- Not a *_spec.lua file (it needs nginx and a LuaJIT build): run with
-- `make openresty-test` (with nginx_test.lua) or
--   LUA_PATH='lua/?.lua;spec/?.lua;;' busted --lua=luajit --cpath='build-luajit/?.so' \
--     spec/openresty/webhook_nginx_test.lua
-- Env: TV_NGINX, TV_NGINX_MODULES, TV_NGINX_BUILD as for nginx_test.lua.
local webhook = require "twilio.verify.webhook"

local format, concat = string.format, table.concat

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
local TOKEN = "webhook-test-token-0123456789abcdef"
local PUBLIC = "https://hooks.example.com/twilio/events"

local function conf(port)
  return format([[
load_module %s/ndk_http_module.so;
load_module %s/ngx_http_lua_module.so;
worker_processes 1;
daemon off;
error_log logs/error.log info;
pid logs/nginx.pid;
events { worker_connections 64; }
http {
    access_log logs/access.log;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    lua_package_path  "%s/lua/?.lua;;";
    lua_package_cpath "%s/%s/?.so;;";
    server {
        listen 127.0.0.1:%d;
        location = /__ready { return 200 "ok"; }
        # the receiver: the URL rebuilt from the request, for the Host
        # values it serves webhooks on
        location /hook {
            client_body_buffer_size 1k;   # bigger bodies go to a file
            content_by_lua_block {
                local ok, why = require("twilio.verify.webhook").validate_request("%s",
                    { hosts = { "127.0.0.1:%d", "receiver.example", "Receiver.Example:80" } })
                ngx.status = ok and 200 or 403
                ngx.say(ok and "valid" or why)
            }
        }
        # neither url nor hosts: a configuration error, raised
        location /unpinned {
            content_by_lua_block {
                local ok, err = pcall(require("twilio.verify.webhook").validate_request, "%s")
                ngx.say(ok and "no error" or tostring(err))
            }
        }
        # behind a proxy: the public URL Twilio was configured with
        location /behind-proxy {
            access_by_lua_block {
                local args = ngx.var.is_args .. (ngx.var.args or "")
                local ok, why = require("twilio.verify.webhook").validate_request("%s", { url = "%s" .. args })
                if not ok then ngx.status = 403; ngx.say(why); return ngx.exit(403) end
            }
            content_by_lua_block { ngx.say("valid") }
        }
        location /bad-args {
            content_by_lua_block {
                local ok, err = pcall(require("twilio.verify.webhook").validate_request, nil)
                ngx.say(tostring(err))
            }
        }
    }
}
]], MODULES, MODULES, ROOT, ROOT, BUILD, port, TOKEN, port, TOKEN, TOKEN, PUBLIC)
end

local function start()
  assert(read_file(ROOT .. "/" .. BUILD .. "/twilio/verify/core.so"),
    "no LuaJIT build of the module in " .. BUILD .. " (make LUA=luajit BUILD=" .. BUILD .. ")")
  local dir = sh("mktemp -d /tmp/tv-nginx-wh.XXXXXX"):gsub("%s+$", "")
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

-- POST body to path with headers (a list of "Name: value"); status, text.
local function post(n, path, body, headers, host)
  local parts = { "curl -s --max-time 20 -w '\\n%{http_code}'" }
  for _, h in ipairs(headers or {}) do parts[#parts + 1] = "-H " .. shq(h) end
  if host then parts[#parts + 1] = "-H " .. shq("Host: " .. host) end
  local bf = os.tmpname()
  write_file(bf, body or "")
  parts[#parts + 1] = "--data-binary @" .. shq(bf)
  parts[#parts + 1] = shq(n.base .. path)
  local out = sh(concat(parts, " "))
  os.remove(bf)
  local text, code = out:match("^(.*)\n(%d%d%d)$")
  return tonumber(code), (text or out):gsub("\n$", "")
end

local FORM = "Content-Type: application/x-www-form-urlencoded"
local JSONCT = "Content-Type: application/json"

describe("verify.webhook.validate_request in a real nginx", function()
  local n
  setup(function() n = start() end)
  teardown(function() stop(n) end)

  local function url(path) return "http://127.0.0.1:" .. n.port .. path end

  it("accepts a signed form webhook, rejects it changed after signing", function()
    local body = "uuid=YE0123&type=challenge.approved&challenge_sid=YC0123&metadata=%7B%22a%22%3A1%7D&x=a+b"
    local sig = webhook.sign(TOKEN, url("/hook?event=1"), body)
    local code, text = post(n, "/hook?event=1", body, { FORM, "X-Twilio-Signature: " .. sig })
    assert.are.equal(200, code, text)
    assert.are.equal("valid", text)
    code, text = post(n, "/hook?event=1", body:gsub("approved", "denied"), { FORM, "X-Twilio-Signature: " .. sig })
    assert.are.equal(403, code)
    assert.are.equal("signature mismatch", text)
    code = post(n, "/hook?event=2", body, { FORM, "X-Twilio-Signature: " .. sig })
    assert.are.equal(403, code)
    -- a signature made with another token
    code = post(n, "/hook?event=1", body, { FORM, "X-Twilio-Signature: " .. webhook.sign("other", url("/hook?event=1"), body) })
    assert.are.equal(403, code)
  end)

  it("rebuilds the URL from an allowed Host header as sent (a default port or none both work)", function()
    local body = "A=1"
    local sig = webhook.sign(TOKEN, "http://receiver.example/hook", body)
    local code, text = post(n, "/hook", body, { FORM, "X-Twilio-Signature: " .. sig }, "receiver.example")
    assert.are.equal(200, code, text)
    code, text = post(n, "/hook", body, { FORM, "X-Twilio-Signature: " .. sig }, "receiver.example:80")
    assert.are.equal(200, code, text)
    code = post(n, "/hook", body, { FORM, "X-Twilio-Signature: " .. sig }, "evil.example")
    assert.are.equal(403, code)
  end)

  it("a webhook signed for another host of the account, replayed with that Host, is refused (issue 23 item 6)", function()
    local body = "type=challenge.approved&challenge_sid=YC0123"
    local sig = webhook.sign(TOKEN, "http://staging.example/hook", body)
    local code, text = post(n, "/hook", body, { FORM, "X-Twilio-Signature: " .. sig }, "staging.example")
    assert.are.equal(403, code)
    assert.are.equal("Host header not among opts.hosts", text)
    -- and a receiver that pins neither the URL nor the hosts does not run at all
    code, text = post(n, "/unpinned", "", {})
    assert.are.equal(200, code)
    assert.is_truthy(text:find("pass opts.url", 1, true), text)
  end)

  it("JSON bodies: bodySHA256 in the URL, the body must match it", function()
    local body = '{"uuid":"YE0123","type":"factor.verified","factor_sid":"YF0123"}'
    local path = "/hook?bodySHA256=" .. webhook.body_sha256(body)
    local sig = webhook.sign(TOKEN, url(path), body)
    local code, text = post(n, path, body, { JSONCT, "X-Twilio-Signature: " .. sig })
    assert.are.equal(200, code, text)
    code, text = post(n, path, body:gsub("verified", "deleted"), { JSONCT, "X-Twilio-Signature: " .. sig })
    assert.are.equal(403, code)
    assert.are.equal("bodySHA256 does not match the body", text)
  end)

  it("reads a body nginx buffered to a temporary file", function()
    local parts = {}
    for i = 1, 400 do parts[#parts + 1] = "Field" .. i .. "=" .. ("v"):rep(10) .. i end
    local body = concat(parts, "&") -- about 8 KB, over client_body_buffer_size 1k
    local sig = webhook.sign(TOKEN, url("/hook"), body)
    local code, text = post(n, "/hook", body, { FORM, "X-Twilio-Signature: " .. sig })
    assert.are.equal(200, code, text)
    code = post(n, "/hook", body .. "&extra=1", { FORM, "X-Twilio-Signature: " .. sig })
    assert.are.equal(403, code)
  end)

  it("missing or repeated X-Twilio-Signature headers", function()
    local code, text = post(n, "/hook", "A=1", { FORM })
    assert.are.equal(403, code)
    assert.are.equal("missing signature", text)
    local sig = webhook.sign(TOKEN, url("/hook"), "A=1")
    code, text = post(n, "/hook", "A=1", { FORM, "X-Twilio-Signature: " .. sig, "X-Twilio-Signature: " .. sig })
    assert.are.equal(403, code)
    assert.are.equal("more than one X-Twilio-Signature header", text)
  end)

  it("behind a proxy: the configured public URL (plus the request's query string)", function()
    local body = "A=1&B=2"
    local sig = webhook.sign(TOKEN, PUBLIC .. "?x=1", body)
    local code, text = post(n, "/behind-proxy?x=1", body, { FORM, "X-Twilio-Signature: " .. sig })
    assert.are.equal(200, code, text)
    -- signed for the URL nginx sees, not the public one: rejected
    sig = webhook.sign(TOKEN, url("/behind-proxy?x=1"), body)
    code = post(n, "/behind-proxy?x=1", body, { FORM, "X-Twilio-Signature: " .. sig })
    assert.are.equal(403, code)
  end)

  it("argument errors name the parameter; nothing about the token in the error log", function()
    local code, text = post(n, "/bad-args", "")
    assert.are.equal(200, code)
    assert.is_truthy(text:find("auth_token must be a string (got nil)", 1, true), text)
    local log = read_file(n.dir .. "/logs/error.log") or ""
    assert.is_nil(log:find(TOKEN, 1, true))
  end)
end)
