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
-- Env: TV_NGINX, TV_NGINX_MODULES, TV_NGINX_BUILD (spec/support/nginx.lua).
local webhook = require "twilio.verify.webhook"

local format, concat = string.format, table.concat

local process = require "support.process"
local nginx = require "support.nginx"
local sh, shq, read_file, write_file = process.output, process.shq, process.read_file, process.write_file
local ROOT, BUILD, MODULES = nginx.ROOT, nginx.BUILD, nginx.MODULES
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

local function start() return nginx.start(conf, { name = "wh" }) end
local stop = nginx.stop

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
