-- spec/openresty/budget_nginx_test.lua -- the shared rate-limit budget of the
-- OpenResty transport (issue 24) in a real nginx with 4 workers (Debian's
-- nginx-light + libnginx-mod-http-lua, LuaJIT 2.1).
--
-- The upstream is a location of the same nginx (spec/openresty/
-- tv_budget_app.lua) that counts the requests in flight across all workers
-- in a lua_shared_dict and answers 429 (code 20429, Retry-After) to each one
-- over K = 2.  Everything asserted is a count the upstream kept, never a
-- duration:
--   in flight   32 concurrent fetches spread over the 4 workers (reuseport).
--               The upstream holds every request until 8 are in flight at
--               once (or 5 s pass), so without the budget it sees the storm
--               (8 or more in flight, the ones over K answered 429); with
--               max_in_flight = K it never sees more than K.
--   Retry-After one request gets a 429 with Retry-After: 2, which opens a
--               window at the upstream; once the caller's worker has seen
--               it, 31 more fetches start.  Without the budget they all
--               arrive inside the window; with it none does (on_limit =
--               "wait": they wait, then succeed; "fail": they fail at once
--               with a transport error carrying retry_after, nothing sent).
-- The budget's dict holds account SIDs only, never the token.
--
-- nginx binds 127.0.0.1 only and is stopped by pid.  `make openresty-test`,
-- or:  LUA_PATH='lua/?.lua;spec/?.lua;;' busted --lua=luajit \
--        --cpath='build-luajit/?.so' spec/openresty/budget_nginx_test.lua
-- Env: TV_NGINX, TV_NGINX_MODULES, TV_NGINX_BUILD (spec/support/nginx.lua).
local cjson = require "cjson"
local app = require "openresty.tv_budget_app"

local format = string.format

local process = require "support.process"
local nginx = require "support.nginx"
local sh, shq, read_file = process.output, process.shq, process.read_file
local ROOT, BUILD, MODULES = nginx.ROOT, nginx.BUILD, nginx.MODULES
local K, N = 2, 32

local function conf(port)
  return format([[
load_module %s/ndk_http_module.so;
load_module %s/ngx_http_lua_module.so;
worker_processes 4;
daemon off;
error_log logs/error.log warn;
pid logs/nginx.pid;
env TV_BUDGET_BASE;
events { worker_connections 1024; accept_mutex off; }
http {
    access_log off;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    lua_shared_dict tv_budget 1m;
    lua_shared_dict tv_up 1m;
    lua_package_path  "%s/lua/?.lua;%s/spec/openresty/?.lua;;";
    lua_package_cpath "%s/%s/?.so;;";

    upstream tv_budget_up {
        server 127.0.0.1:%d;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:%d reuseport;
        location = /__ready { return 200 "ok"; }
        location /_twilio_verify/ {
            internal;
            set $twilio_verify_user_agent "";
            set $twilio_verify_content_type "";
            set_by_lua_block $twilio_verify_authorization { return require("twilio.verify.openresty").authorization() }
            if ($twilio_verify_authorization = "") { return 403; }
            header_filter_by_lua_block { require("twilio.verify.openresty").header_filter() }
            proxy_pass http://tv_budget_up/up/;
            proxy_pass_request_headers off;
            proxy_set_header Authorization $twilio_verify_authorization;
            proxy_set_header User-Agent $twilio_verify_user_agent;
            proxy_set_header Accept application/json;
            proxy_set_header Content-Type $twilio_verify_content_type;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host 127.0.0.1:%d;
            proxy_connect_timeout 5s;
            proxy_read_timeout 30s;
        }
        location /up/  { content_by_lua_block { require("tv_budget_app").upstream() } }
        location = /call  { content_by_lua_block { require("tv_budget_app").call() } }
        location = /state { content_by_lua_block { require("tv_budget_app").state() } }
        location = /reset { content_by_lua_block { require("tv_budget_app").reset() } }
        location = /foreign { content_by_lua_block { require("tv_budget_app").foreign() } }
    }
}
]], MODULES, MODULES, ROOT, ROOT, ROOT, BUILD, port, port, port)
end

local function start() return nginx.start(conf, { name = "budget", env = function(_, base) return { TV_BUDGET_BASE = base } end }) end
local stop = nginx.stop

local function get(n, path) return sh(format("curl -s --max-time 60 %s", shq(n.base .. path))) end
local function state(n) return cjson.decode(get(n, "/state")) end

-- `count` concurrent /call?mode=... requests (curl --parallel); their answer lines
local function calls(n, mode, count)
  local urls = {}
  for i = 1, count do urls[i] = shq(n.base .. "/call?mode=" .. mode .. "&i=" .. i) end
  local out = sh(format("curl -s --max-time 90 -Z --parallel-immediate --parallel-max %d %s", count,
    table.concat(urls, " ") .. " 2>/dev/null"))
  local lines = {}
  for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
  return lines
end

local function tally(lines)
  local t = { ok = 0, err = 0, pids = {}, npids = 0, kinds = {}, retry_after = {} }
  for _, l in ipairs(lines) do
    local what, a, b, c = l:match("^(%a+) (%S+) ?(%S*) ?(%S*)")
    if what == "ok" then
      t.ok = t.ok + 1
      if not t.pids[a] then t.pids[a], t.npids = true, t.npids + 1 end
    elseif what == "err" then
      t.err = t.err + 1
      t.kinds[a] = (t.kinds[a] or 0) + 1
      if not t.pids[b] then t.pids[b], t.npids = true, t.npids + 1 end
      t.retry_after[#t.retry_after + 1] = tonumber(c)
    end
  end
  return t
end

local function wait_for(n, pred, what)
  for _ = 1, 600 do
    local s = state(n)
    if pred(s) then return s end
    os.execute("sleep 0.02")
  end
  error("timed out waiting for " .. what .. ": " .. cjson.encode(state(n)))
end

math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)

describe("the OpenResty transport's shared rate-limit budget (4 nginx workers)", function()
  local n
  local figures = {}
  setup(function() n = start() end)
  teardown(function()
    stop(n)
    for _, f in ipairs(figures) do print(f) end
  end)

  local function error_log() return (read_file(n.dir .. "/logs/error.log") or ""):sub(-3000) end

  -- in flight at the upstream: `mode` with 32 concurrent fetches
  local function in_flight(mode, hold)
    assert.equal("ok\n", get(n, format("/reset?k=%d&hold=%s&retry_after=1", K, hold)))
    local t = tally(calls(n, mode, N))
    local s = state(n)
    return s, t
  end

  it("without the budget, the workers storm the upstream: more than K in flight, 429s", function()
    local s, t = in_flight("none", 5) -- held until the storm shows
    figures[#figures + 1] = format("budget test: without the budget, the upstream saw %d in flight at most (K = %d), "
      .. "answered %d requests, %d of them 429; %d workers served the %d calls", s.max_in_flight, K,
      s.tv_up.requests or 0, s.tv_up.limited or 0, t.npids, N)
    assert.is_true(s.max_in_flight > K, cjson.encode(s))
    assert.is_true((s.tv_up.limited or 0) > 0)
    assert.equal(N, t.ok, error_log()) -- the client's own retries get there in the end
  end)

  it("with max_in_flight = K, the upstream never sees more than K in flight, and no 429", function()
    local s, t = in_flight("wait", 0.05)
    figures[#figures + 1] = format("budget test: with the budget (max_in_flight = %d), the upstream saw %d in flight "
      .. "at most, answered %d requests, %d of them 429; %d workers served the %d calls", K, s.max_in_flight,
      s.tv_up.requests or 0, s.tv_up.limited or 0, t.npids, N)
    assert.equal(N, t.ok, error_log())
    assert.is_true(t.npids > 1, "one worker served every call: the budget was not shared") -- reuseport spreads them
    assert.is_true(s.max_in_flight <= K, cjson.encode(s))
    assert.is_true(s.max_in_flight >= 1)
    assert.is_nil(s.tv_up.limited)
    assert.equal(N, s.tv_up.requests)
    for key, v in pairs(s.tv_budget) do -- account SIDs only: never the token
      assert.is_nil(tostring(key):find(app.TOKEN, 1, true))
      assert.is_nil(tostring(v):find(app.TOKEN, 1, true))
      assert.truthy(key:find(app.ACCOUNT, 1, true), key)
    end
  end)

  it("answers 403 to a subrequest of the internal location that the transport did not make", function()
    assert.equal("ok\n", get(n, "/reset"))
    assert.equal("403\n", get(n, "/foreign"))
    assert.is_nil(state(n).tv_up.requests)
  end)

  -- one 429 with Retry-After: 2, then 31 fetches once the caller's worker saw it
  local function window(mode)
    assert.equal("ok\n", get(n, format("/reset?k=%d&hold=0&retry_after=2&force429=1", 1000)))
    local first = n.dir .. "/first-" .. mode
    os.execute(format("curl -s --max-time 60 %s > %s 2>&1 &", shq(n.base .. "/call?mode=" .. mode), shq(first)))
    wait_for(n, function(s)
      return s.tv_up.win_end and (mode == "none" or s.tv_budget["tv:ra:" .. app.ACCOUNT] ~= nil)
    end, "the 429")
    local t = tally(calls(n, mode, N - 1))
    for _ = 1, 300 do
      if (read_file(first) or "") ~= "" then break end
      os.execute("sleep 0.02")
    end
    local s = state(n)
    local ft = tally({ (read_file(first) or ""):match("[^\n]*") })
    return s, t, ft
  end

  it("without the budget, the other workers send inside a Retry-After window", function()
    local s, t = window("none")
    figures[#figures + 1] = format("budget test: without the budget, %d of %d requests reached the upstream inside "
      .. "the Retry-After window", s.tv_up.in_window or 0, N - 1)
    assert.is_true((s.tv_up.in_window or 0) > 0, cjson.encode(s))
    assert.equal(N - 1, t.ok + t.err)
  end)

  it("with the budget (on_limit = \"wait\"), no request reaches the upstream inside the window; all succeed", function()
    local s, t, first = window("wait")
    figures[#figures + 1] = format("budget test: with the budget (wait), %d requests reached the upstream inside the "
      .. "Retry-After window; %d of %d succeeded after it", s.tv_up.in_window or 0, t.ok, N - 1)
    assert.is_nil(s.tv_up.in_window, cjson.encode(s))
    assert.equal(N - 1, t.ok, error_log())
    assert.is_true(t.npids > 1, "one worker served every call: the budget was not shared")
    assert.equal(1, first.ok) -- the one that got the 429 retried after the window
    assert.equal(1, s.tv_up.limited)
  end)

  it("with the budget (on_limit = \"fail\"), requests inside the window fail at once, nothing sent", function()
    local s, t = window("fail")
    figures[#figures + 1] = format("budget test: with the budget (fail), %d requests reached the upstream inside the "
      .. "Retry-After window; %d of %d failed fast", s.tv_up.in_window or 0, t.err, N - 1)
    assert.is_nil(s.tv_up.in_window, cjson.encode(s))
    assert.equal(N - 1, t.err, error_log())
    assert.equal(N - 1, t.kinds.transport)
    assert.is_true(t.npids > 1, "one worker served every call: the budget was not shared")
    for _, ra in ipairs(t.retry_after) do assert.is_true(ra > 0 and ra <= 2, tostring(ra)) end
    -- the one that got the 429, and its own retry once the window passed
    assert.is_true(s.tv_up.requests <= 2, cjson.encode(s))
  end)
end)
