-- spec/openresty/nginx_test.lua -- the library inside a real nginx (Debian's
-- nginx-light + libnginx-mod-http-lua, LuaJIT 2.1) against the emulator:
-- the OpenResty transport (twilio.verify.openresty) for every operation, its
-- error mapping, the login example of examples/openresty/ (enrolment, and
-- sign-in of a verified user with a challenge), its push sign-in (a device
-- enrolled with the access token, approvals and denials seen through the
-- validated webhook or by polling, forged webhooks refused), and the point of
-- it all: a single worker serves 10 concurrent slow requests at once, where
-- the libcurl transport serves them one after the other.
--
-- Not a *_spec.lua file on purpose (it needs nginx and a LuaJIT build): run
-- it with `make openresty-test` or .ci/checks.d/openresty, i.e.
--   LUA_PATH='lua/?.lua;spec/?.lua;;' TV_EMULATOR=build/twilio-verify-emulator \
--     busted --lua=luajit --cpath='build-luajit/?.so' spec/openresty/nginx_test.lua
-- Env: TV_NGINX (default /usr/sbin/nginx), TV_NGINX_MODULES (default
-- /usr/lib/nginx/modules), TV_NGINX_BUILD (the LuaJIT build dir nginx loads
-- the C module from, default build-luajit).
local emulator = require "support.emulator"
local cjson = require "cjson"
local verify = require "twilio.verify"

local shq = emulator.shell_quote
local format, concat = string.format, table.concat

local process = require "support.process"
local nginx = require "support.nginx"
local sh, read_file, sleep = process.output, process.read_file, process.sleep
local ROOT, BUILD, MODULES = nginx.ROOT, nginx.BUILD, nginx.MODULES
local SVC = "VA" .. string.rep("5e", 16)

-- ------------------------------------------------------------- nginx

-- nginx with the config `render(port)` on a free port (spec/support/nginx.lua);
-- env: table of variables.
local function start_nginx(render, env) return nginx.start(render, { env = env }) end
local stop_nginx, error_log = nginx.stop, nginx.error_log

-- One HTTP request with curl: status, decoded JSON (or nil), raw body, and
-- the response headers (lower-cased names).
local function http(method, url, body, headers)
  local hfile = os.tmpname()
  local parts = { "curl -s --max-time 60 -X", shq(method), "-D", shq(hfile), "-w", shq("\n%{http_code}") }
  for k, v in pairs(headers or {}) do parts[#parts + 1] = "-H " .. shq(k .. ": " .. v) end
  if body then parts[#parts + 1] = "--data-binary " .. shq(body) end
  parts[#parts + 1] = shq(url)
  local out = sh(concat(parts, " "))
  local rh = {}
  for line in (read_file(hfile) or ""):gmatch("[^\r\n]+") do
    local k, v = line:match("^([^:%s]+):%s*(.-)%s*$")
    if k then rh[k:lower()] = v end
  end
  os.remove(hfile)
  local text, code = out:match("^(.*)\n(%d%d%d)$")
  local ok, json = pcall(cjson.decode, text or "")
  return tonumber(code) or 0, ok and json or nil, text or out, rh
end

-- n identical GETs at once (one curl each): wall time in seconds, statuses.
local function concurrent(n, url)
  local lines = { "start=$(date +%s%N)" }
  for _ = 1, n do
    lines[#lines + 1] = format("curl -s -o /dev/null --max-time 60 -w '%%{http_code}\\n' %s &", shq(url))
  end
  lines[#lines + 1] = "wait; end=$(date +%s%N); echo ms=$(( (end - start) / 1000000 ))"
  local out = sh(concat(lines, "\n"))
  local statuses = {}
  for line in out:gmatch("[^\n]+") do
    if line:match("^%d%d%d$") then statuses[#statuses + 1] = tonumber(line) end
  end
  return tonumber(out:match("ms=(%d+)")) / 1000, statuses
end

-- ------------------------------------------------------------- configs

-- The internal location of doc/openresty.md, for upstream `upstream`
-- (hostile_upstream_test.lua runs the older rewrite_by_lua form).
local function verify_location(name, upstream, host, read_timeout)
  return format([[
        location /%s/ {
            internal;
            set $twilio_verify_user_agent "";
            set $twilio_verify_content_type "";
            set_by_lua_block $twilio_verify_authorization { return require("twilio.verify.openresty").authorization() }
            if ($twilio_verify_authorization = "") { return 403; }
            header_filter_by_lua_block { require("twilio.verify.openresty").header_filter() }
            proxy_pass http://%s/;
            proxy_pass_request_headers off;
            proxy_set_header Authorization $twilio_verify_authorization;
            proxy_set_header User-Agent $twilio_verify_user_agent;
            proxy_set_header Accept application/json;
            proxy_set_header Content-Type $twilio_verify_content_type;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host %s;
            proxy_ssl_server_name on;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;
            proxy_connect_timeout 5s;
            proxy_read_timeout %s;
        }
]], name, upstream, host, read_timeout or "10s")
end

local function test_conf(e)
  local host = "127.0.0.1:" .. e.port
  return function(port)
    return concat{ format([[
load_module %s/ndk_http_module.so;
load_module %s/ngx_http_lua_module.so;
worker_processes 1;
daemon off;
error_log logs/error.log info;
pid logs/nginx.pid;
env TV_BASE_URL;
env TV_SERVICE_SID;
env TWILIO_ACCOUNT_SID;
env TWILIO_AUTH_TOKEN;
events { worker_connections 1024; }
http {
    access_log logs/access.log;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    lua_package_path  "%s/lua/?.lua;%s/spec/openresty/?.lua;;";
    lua_package_cpath "%s/%s/?.so;;";


    upstream twilio_verify {
        server %s;
        keepalive 16;
    }
    upstream tv_dead {
        server 127.0.0.1:9;
    }
    server {
        listen 127.0.0.1:%d;
]], MODULES, MODULES, ROOT, ROOT, ROOT, BUILD, host, port),
      verify_location("_twilio_verify", "twilio_verify", host),
      verify_location("_tv_slow", "twilio_verify", host, "1s"),
      verify_location("_tv_dead", "tv_dead", host),
      [[
        location /ops/ {
            content_by_lua_block { require("tv_nginx_app").run() }
        }
        location /raise/ {
            content_by_lua_block { require("tv_nginx_app").raise() }
        }
    }
}
]] }
  end
end

-- examples/openresty/nginx.conf with its @TOKENS@ filled in for the emulator.
local function example_conf(e)
  local template = assert(read_file(ROOT .. "/examples/openresty/nginx.conf"))
  return function(port)
    local vars = { ROOT = ROOT, BUILD = BUILD, PORT = tostring(port), VERIFY_SCHEME = "http",
                   VERIFY_SERVER = "127.0.0.1:" .. e.port, VERIFY_HOST = "127.0.0.1:" .. e.port }
    local conf = template:gsub("@([%u_]+)@", function(k) return assert(vars[k], "unknown token " .. k) end)
    return (conf:gsub("/usr/lib/nginx/modules", MODULES))
  end
end

local function env_for(e)
  return { TV_BASE_URL = e.base_url, TV_SERVICE_SID = SVC, TWILIO_ACCOUNT_SID = e.account_sid,
           TWILIO_AUTH_TOKEN = e.auth_token, TWILIO_VERIFY_SERVICE_SID = SVC,
           TWILIO_VERIFY_BASE_URL = e.base_url }
end

math.randomseed(tonumber(emulator.random_hex(7), 16))

-- ------------------------------------------------------------- specs

describe("OpenResty transport in a real nginx", function()
  local e, n
  local ID = "nginx-user-0001"

  local function op(name, args, method, body, headers)
    local q = {}
    for k, v in pairs(args or {}) do q[#q + 1] = k .. "=" .. emulator.pct(v) end
    table.sort(q)
    local url = n.url .. "/ops/" .. name .. (#q > 0 and ("?" .. concat(q, "&")) or "")
    local status, json, raw = http(method or "GET", url, body, headers)
    assert.equal(200, status, raw .. "\n" .. error_log(n):sub(-2000))
    assert.is_table(json, raw)
    return json
  end

  setup(function()
    e = emulator.start{ no_limits = true }
    n = start_nginx(test_conf(e), env_for(e))
  end)

  teardown(function()
    stop_nginx(n)
    if e then e:stop() end
  end)

  it("is selected by verify.new inside nginx; transport = false keeps libcurl", function()
    assert.equal("openresty", op("which").result)
    assert.equal("libcurl", op("which", { via = "curl" }).result)
  end)

  it("creates, lists (every page), fetches, updates and deletes through nginx subrequests", function()
    e:clear_requests()
    local sids = {}
    for i = 1, 3 do
      local r = op("create", { identity = ID, friendly_name = "phone " .. i })
      assert.is_true(r.ok, cjson.encode(r))
      assert.equal("openresty", r.transport)
      assert.matches("^YF%x+$", r.result.sid)
      assert.equal("unverified", r.result.status)
      sids[i] = r.result.sid
    end
    local r = op("list", { identity = ID, page_size = 2 })
    assert.is_true(r.ok, cjson.encode(r))
    assert.same(sids, r.result.sids)
    assert.equal(2, r.result.pages)

    r = op("fetch", { identity = ID, sid = sids[2] })
    assert.is_true(r.ok, cjson.encode(r))
    assert.same({ sids[2], "phone 2", ID, SVC, e.account_sid },
      { r.result.sid, r.result.friendly_name, r.result.identity, r.result.service_sid, r.result.account_sid })

    r = op("update", { identity = ID, sid = sids[2], friendly_name = "renamed in nginx" })
    assert.is_true(r.ok, cjson.encode(r))
    assert.equal("renamed in nginx", r.result.friendly_name)

    r = op("delete", { identity = ID, sid = sids[2] })
    assert.same({ true, true }, { r.ok, r.result })
    r = op("fetch", { identity = ID, sid = sids[2] })
    assert.is_false(r.ok)
    assert.same({ "http", 404, 20404, false }, { r.err.kind, r.err.status, r.err.code, r.err.retryable })

    -- every request reached the emulator as the C core built it
    local reqs = e:requests()
    assert.equal(3 + 2 + 1 + 1 + 1 + 1, #reqs)
    for _, q in ipairs(reqs) do
      assert.equal("Basic", q.authorization_scheme)
      assert.matches("^twilio%-verify%-lua/", q.user_agent)
    end
    assert.equal("FriendlyName=renamed%20in%20nginx", reqs[7].body)
    assert.equal("DELETE", reqs[8].method)
  end)

  it("signs in through nginx subrequests: a challenge carrying the code", function()
    local T = 1800000000
    e:set_clock(T)
    finally(function() e:set_clock(nil) end)
    local f = op("create", { identity = ID, friendly_name = "sign-in" }).result
    local secret = f.binding.secret
    assert.is_true(op("verify", { identity = ID, sid = f.sid, code = verify.totp.code(secret, { time = T }) }).result)

    e:set_clock(T + 30)
    e:clear_requests()
    local r = op("sign_in", { identity = ID, sid = f.sid, code = verify.totp.code(secret, { time = T + 30 }) })
    assert.is_true(r.ok, cjson.encode(r))
    assert.equal("openresty", r.transport)
    assert.same({ true, "approved", f.sid }, { r.result.approved, r.result.status, r.result.factor_sid })
    assert.matches("^YC%x+$", r.result.sid)

    local valid = {}
    for d = -1, 3 do valid[verify.totp.code(secret, { time = T + 30 * d })] = true end
    local wrong = "000000"
    while valid[wrong] do wrong = format("%06d", tonumber(wrong) + 1) end
    r = op("sign_in", { identity = ID, sid = f.sid, code = wrong })
    assert.is_true(r.ok, cjson.encode(r))
    assert.same({ false, "pending" }, { r.result.approved, r.result.status })

    local reqs = e:requests()
    assert.equal(2, #reqs)
    for _, q in ipairs(reqs) do
      assert.equal("POST", q.method)
      assert.matches("/Entities/[^/]+/Challenges$", q.path)
    end

    -- a factor whose enrolment was never confirmed: Verify refuses it
    -- (403, code 60318 "Factor is unverified")
    local g = op("create", { identity = ID, friendly_name = "unconfirmed" }).result
    r = op("sign_in", { identity = ID, sid = g.sid, code = verify.totp.code(g.binding.secret, { time = T + 30 }) })
    assert.is_false(r.ok)
    assert.same({ "http", 403, 60318, false }, { r.err.kind, r.err.status, r.err.code, r.err.retryable })
  end)

  it("passes none of the client's request headers on to Verify", function()
    e:clear_requests()
    op("list", { identity = ID }, "POST", "username=ann&password=secret",
      { ["Content-Type"] = "application/x-www-form-urlencoded", Authorization = "Bearer client-token",
        Cookie = "session=abc", ["User-Agent"] = "browser/1.0" })
    local q = e:last_request()
    assert.equal("GET", q.method)
    assert.equal("Basic", q.authorization_scheme)
    assert.matches("^twilio%-verify%-lua/", q.user_agent)
    assert.equal(cjson.null, q.content_type)
    assert.equal("", q.body)
  end)

  it("keeps the retry rules: a 503 on GET is retried through nginx", function()
    local r = op("create", { identity = ID })
    e:fault{ action = "status", status = 503, match = { op = "fetch" } }
    r = op("fetch", { identity = ID, sid = r.result.sid })
    assert.is_true(r.ok, cjson.encode(r))
    assert.equal(1, r.retries)
  end)

  it("turns nginx's own 502 (connection refused) into a retryable transport error", function()
    local r = op("fetch", { via = "dead", identity = ID, sid = "YF" .. string.rep("0", 32) })
    assert.is_false(r.ok)
    assert.equal("transport", r.err.kind)
    assert.matches("could not connect to the Verify API", r.err.message)
    assert.is_true(r.err.retryable)
    assert.equal(3, r.retries) -- max_retries, with ngx.sleep between attempts
  end)

  it("turns nginx's 504 (proxy_read_timeout) into a transport timeout, not retried", function()
    local c = op("create", { identity = ID })
    e:fault{ action = "delay", delay_ms = 3000, match = { op = "fetch" } }
    local r = op("fetch", { via = "slow", identity = ID, sid = c.result.sid })
    assert.is_false(r.ok)
    assert.equal("transport", r.err.kind)
    assert.matches("timed out waiting for the Verify API", r.err.message)
    assert.is_false(r.err.retryable)
    assert.equal(0, r.retries)
  end)

  it("raises a clear error when the internal location is missing, and sends no credentials", function()
    e:clear_requests()
    local r = op("fetch", { via = "missing", identity = ID, sid = "YF" .. string.rep("0", 32) })
    assert.is_false(r.ok)
    assert.matches("doc/openresty.md", r.raised)
    assert.equal(0, #e:requests())
  end)

  it("errors read as strings: `\"failed: \" .. err`, ngx.log(err), a caught for loop, argument errors", function()
    local sid = "YF" .. string.rep("0", 32)
    e:fault{ action = "status", status = 404, code = 20404, message = "no such entity", match = { op = "list" } }
    local r = op("error_strings", { identity = ID, sid = sid })
    assert.is_true(r.ok, cjson.encode(r))
    local res = r.result
    assert.matches("^failed: twilio%.verify: http error 404 %(code 20404%): .*%[GET http://", res.said)
    assert.matches("^twilio%.verify: http error 404 .* %(fetch%)$", res.suffixed)
    -- the loop raised the message string inside nginx; error_of gives the object back
    assert.same({ false, "string", 404, true, 404 },
      { res.loop_ok, res.raised_type, res.back_status, res.same, res.it_error_status })
    assert.matches("^twilio%.verify: http error 404 %(code 20404%): no such entity", res.raised)
    assert.matches("^bad: twilio%.verify: invalid_argument error: identity", res.arg_error)
    assert.is_true(res.arg_first_step)
    local log = error_log(n)
    assert.matches("tv%-log%-object: twilio%.verify: http error 404", log)
    assert.matches("tv%-log%-concat: twilio%.verify: http error 404", log)
  end)

  it("a failing for loop nobody catches: nginx's error log shows the message, not \"unknown reason\"", function()
    for _, via in ipairs{ "auto", "curl" } do
      e:fault{ action = "status", status = 404, code = 20404, message = "no such entity " .. via,
               match = { op = "list" } }
      local before = #error_log(n)
      local status = http("GET", n.url .. "/raise/loop?identity=" .. ID .. (via == "curl" and "&via=curl" or ""))
      assert.equal(500, status)
      local log = error_log(n):sub(before + 1)
      assert.matches("lua entry thread aborted: runtime error: twilio%.verify: http error 404 %(code 20404%): "
        .. "no such entity " .. via, log)
      assert.is_nil(log:find("unknown reason", 1, true), log)
      assert.same({}, e:pending_faults())
    end
  end)

  it("falls back to libcurl in an ngx.timer (no subrequests there) and says so in the log", function()
    local r = op("timer", { identity = ID })
    assert.is_true(r.ok, cjson.encode(r))
    assert.is_number(r.result.n)
    assert.is_truthy(error_log(n):find("no subrequests in the 'timer' phase", 1, true))
  end)

  it("does not block the worker: 10 concurrent requests, each delayed 500 ms", function()
    local c = op("create", { identity = ID }).result
    op("which", { via = "curl" }) -- both clients exist before the clock starts
    local url = n.url .. "/ops/fetch?identity=" .. ID .. "&sid=" .. c.sid
    local times = {}
    for _, via in ipairs{ "openresty", "curl" } do
      e:fault{ action = "delay", delay_ms = 500, times = 10 }
      local before = e:stats().requests.fetch
      local t, statuses = concurrent(10, url .. (via == "curl" and "&via=curl" or ""))
      assert.same({ 200, 200, 200, 200, 200, 200, 200, 200, 200, 200 }, statuses)
      assert.equal(before + 10, e:stats().requests.fetch)
      assert.same({}, e:pending_faults()) -- all ten were delayed
      times[via] = t
    end
    print(format("\nconcurrency: 10 concurrent requests, each delayed 500 ms by the emulator, one nginx worker:"
      .. "\n  OpenResty transport (subrequests): %.2f s\n  libcurl transport (blocking):      %.2f s",
      times.openresty, times.curl))
    assert.is_true(times.openresty < 1.5, "OpenResty transport took " .. times.openresty .. " s")
    assert.is_true(times.curl >= 4.5, "libcurl transport took only " .. times.curl .. " s")
  end)
end)

describe("examples/openresty: sign-in with a TOTP second factor", function()
  local e, n
  local URL

  local function login(form)
    local parts = {}
    for _, kv in ipairs(form) do parts[#parts + 1] = kv[1] .. "=" .. emulator.pct(kv[2]) end
    return http("POST", URL, concat(parts, "&"), { ["Content-Type"] = "application/x-www-form-urlencoded" })
  end

  setup(function()
    e = emulator.start{}
    n = start_nginx(example_conf(e), env_for(e))
    URL = n.url .. "/login"
  end)

  teardown(function()
    stop_nginx(n)
    if e then e:stop() end
  end)

  it("enrols, rejects a wrong code, accepts the right one, then asks for a code", function()
    local PW = "demo password for ann"
    assert.equal(405, (http("GET", URL)))
    local status, body = login{ { "username", "ann" }, { "password", "wrong" } }
    assert.same({ 401, "wrong username or password" }, { status, body and body.error })
    assert.equal(0, #e:requests()) -- the password is checked before any Verify call

    -- no factor yet: one is created, its otpauth:// URI returned
    status, body = login{ { "username", "ann" }, { "password", PW } }
    assert.equal(200, status)
    assert.equal("enroll", body.step)
    local uri = assert(verify.totp.parse_uri(body.otpauth_uri))

    -- a wrong code (none of the codes of the accepted window)
    local now = os.time()
    local valid = {}
    for d = -1, 1 do valid[verify.totp.code(uri.secret, { time = now + 30 * d })] = true end
    local wrong = "000000"
    while valid[wrong] do wrong = format("%06d", tonumber(wrong) + 1) end
    status, body = login{ { "username", "ann" }, { "password", PW }, { "code", wrong } }
    assert.same({ 401, "wrong code" }, { status, body.error })

    -- the right code verifies the factor: signed in
    status, body = login{ { "username", "ann" }, { "password", PW }, { "code", verify.totp.code(uri.secret) } }
    assert.same({ 200, "done", "ann" }, { status, body.step, body.user })
    local page = assert(verify.new{ account_sid = e.account_sid, auth_token = e.auth_token, base_url = e.base_url })
      :list_factor(SVC, "user-ann-0001")
    assert.equal(1, #page.factors)
    assert.equal("verified", page.factors[1].status)

    -- later sign-ins: the factor is verified, the password alone is not enough
    status, body = login{ { "username", "ann" }, { "password", PW } }
    assert.same({ 401, "code" }, { status, body.step })

    for _, q in ipairs(e:requests()) do
      assert.equal("Basic", q.authorization_scheme)
      assert.matches("^twilio%-verify%-lua/", q.user_agent)
    end
  end)

  it("signs a verified user in with a challenge: right code 200, wrong 401, Verify's limit 429", function()
    e:reset()
    local PW = "demo password for ann"
    local T = 1800000000 -- the emulator clock, at the start of a 30 s step
    e:set_clock(T)
    finally(function() e:set_clock(nil) end)

    -- enrol, then confirm the enrolment with the code of step T
    local status, body = login{ { "username", "ann" }, { "password", PW } }
    assert.same({ 200, "enroll" }, { status, body.step })
    local uri = assert(verify.totp.parse_uri(body.otpauth_uri))
    local function code_at(t)
      return assert(verify.totp.code(uri.secret, { alg = uri.alg, digits = uri.digits, step = uri.period, time = t }))
    end
    status, body = login{ { "username", "ann" }, { "password", PW }, { "code", code_at(T) } }
    assert.same({ 200, "done" }, { status, body.step })
    local c = assert(verify.new{ account_sid = e.account_sid, auth_token = e.auth_token, base_url = e.base_url })
    local factors = assert(c:list_factor(SVC, "user-ann-0001")).factors
    assert.equal(1, #factors)
    assert.equal("verified", factors[1].status)
    local factor_sid = factors[1].sid

    -- a later sign-in, one step on: the app shows a new code
    e:set_clock(T + uri.period)
    e:clear_requests()
    local right = code_at(T + uri.period)
    status, body = login{ { "username", "ann" }, { "password", PW }, { "code", right } }
    assert.same({ 200, "done", "ann" }, { status, body.step, body.user }, cjson.encode(body or {}))

    -- a wrong code: none of the codes of the accepted window
    local valid = {}
    for d = -2, 2 do valid[code_at(T + uri.period * (1 + d))] = true end
    local wrong = "000000"
    while valid[wrong] do wrong = format("%06d", tonumber(wrong) + 1) end
    status, body = login{ { "username", "ann" }, { "password", PW }, { "code", wrong } }
    assert.same({ 401, "code", "wrong code" }, { status, body.step, body.error })

    -- both codes reached Verify as new challenges: POST .../Challenges with
    -- the factor and the code as AuthPayload (and never as a factor update)
    local posts = {}
    for _, q in ipairs(e:requests()) do
      if q.method == "POST" then posts[#posts + 1] = q end
      assert.equal("Basic", q.authorization_scheme)
    end
    assert.equal(2, #posts)
    for i = 1, 2 do
      local q = posts[i]
      assert.matches("^/v2/Services/" .. SVC .. "/Entities/[^/]+/Challenges$", q.path)
      assert.equal("application/x-www-form-urlencoded", q.content_type)
      local form = {}
      for _, kv in ipairs(q.form) do form[kv[1]] = kv[2] end
      -- the emulator's log keeps no AuthPayload (the answers above show which code went)
      assert.same({ FactorSid = factor_sid, AuthPayload = "[REDACTED]" }, form)
    end
    local challenges = assert(c:list_challenge(SVC, "user-ann-0001")).challenges
    local statuses = {}
    for _, ch in ipairs(challenges) do statuses[#statuses + 1] = ch.status end
    table.sort(statuses)
    assert.same({ "approved", "pending" }, statuses)

    -- Verify's "too many attempts" (here its challenge-creation limit) is a
    -- 429 for the user, with Verify's Retry-After
    e:fault{ action = "status", status = 429, code = 60312, message = "Challenge creation limit reached",
             retry_after = 120, match = { method = "POST", path_contains = "/Challenges" } }
    local raw, headers
    status, body, raw, headers = login{ { "username", "ann" }, { "password", PW }, { "code", right } }
    assert.equal(429, status, raw)
    assert.equal("too many attempts, try again later", body.error)
    assert.equal("120", headers["retry-after"])
    assert.same({}, e:pending_faults())

    -- no code at all: asked for one, no challenge made
    e:clear_requests()
    status, body = login{ { "username", "ann" }, { "password", PW } }
    assert.same({ 401, "code" }, { status, body.step })
    for _, q in ipairs(e:requests()) do assert.equal("GET", q.method) end
    c:close()
  end)

  it("starts an unfinished enrolment over (delete, create)", function()
    e:reset()
    local PW = "demo password for ann"
    local status, body = login{ { "username", "ann" }, { "password", PW } }
    assert.same({ 200, "enroll" }, { status, body.step })
    local first = body.otpauth_uri
    status, body = login{ { "username", "ann" }, { "password", PW } }
    assert.same({ 200, "enroll" }, { status, body.step })
    assert.are_not.equal(first, body.otpauth_uri)
    local ops = {}
    for _, q in ipairs(e:requests()) do ops[#ops + 1] = q.op end
    assert.same({ "list", "create", "list", "delete", "create" }, ops)
  end)
end)

describe("examples/openresty: push sign-in, the webhook's signature checked", function()
  local device = require "twilio.verify.device"
  local webhook = require "twilio.verify.webhook"
  local e, n, backend
  local PW = "demo password for ann"
  local ID = "user-ann-0001"
  local FORM = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  local CREDS = "username=ann&password=" .. emulator.pct(PW)

  local function post(path, body, headers)
    return http("POST", n.url .. path, body, headers or FORM)
  end
  local function status_of(sid) return http("GET", n.url .. "/push/status?challenge_sid=" .. sid) end
  -- poll until the answer is not `pending` (or 5 s): what the browser does
  local function poll(sid, source)
    local code, body
    for _ = 1, 100 do
      code, body = status_of(sid)
      if code ~= 200 or (body.status ~= "pending" and (source == nil or body.source == source)) then break end
      sleep(0.05)
    end
    return code, body
  end
  local function form_body(t)
    local keys, parts = {}, {}
    for k in pairs(t) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. emulator.pct(t[k]) end
    return concat(parts, "&")
  end
  local function deliveries()
    local _, body = http("GET", e.base_url .. "/__emulator/webhooks")
    return body.deliveries
  end

  setup(function()
    e = emulator.start{}
    n = start_nginx(example_conf(e), env_for(e))
    backend = assert(verify.new{ account_sid = e.account_sid, auth_token = e.auth_token, base_url = e.base_url })
  end)

  teardown(function()
    if backend then backend:close() end
    stop_nginx(n)
    if e then e:stop() end
  end)

  it("enrols the device, signs in on approval and denial; forged or tampered webhooks change nothing", function()
    local hook = assert(backend:create_webhook(SVC, { friendly_name = "example",
      event_types = { "challenge.approved", "challenge.denied" }, webhook_url = n.url .. "/push/webhook" }))

    -- the password first, then a verified push factor
    assert.same({ 401 }, { (post("/push/login", "username=ann&password=wrong")) })
    local code, body = post("/push/login", CREDS)
    assert.same({ 409, "no push factor" }, { code, body.error })
    assert.equal(405, (http("GET", n.url .. "/push/enroll")))

    -- enrolment: the access token goes to the device, nowhere else
    code, body = post("/push/enroll", CREDS)
    assert.same({ 200, "enroll_device", ID, SVC }, { code, body.step, body.identity, body.service_sid })
    local token = body.access_token
    assert.matches("^[%w_-]+%.[%w_-]+%.[%w_-]+$", token)
    local dev = assert(device.new{ base_url = e.base_url, service_sid = SVC, identity = ID })
    finally(function() dev:close() end)
    assert(dev:enroll(token))
    assert.equal("verified", assert(dev:verify()).status)

    -- a sign-in: a challenge with the message and the IP, pending
    code, body = post("/push/login", CREDS)
    assert.same({ 200, "push" }, { code, body.step })
    local sid = body.challenge_sid
    assert.matches("^YC%x+$", sid)
    local ch = assert(backend:fetch_challenge(SVC, ID, sid))
    assert.equal("Log in to Example?", ch.details.message)
    assert.same({ { label = "IP", value = "127.0.0.1" } }, ch.details.fields)
    code, body = status_of(sid)
    assert.same({ 200, "pending", "api" }, { code, body.status, body.source })

    -- forged webhooks for it: another key, a tampered body, no signature -> 403, nothing recorded
    local url = n.url .. "/push/webhook"
    local params = { uuid = "00000000-0000-4000-8000-000000000000", type = "challenge.approved",
                     account_sid = e.account_sid, service_sid = SVC, entity_identity = ID,
                     challenge_sid = sid, factor_sid = dev.factor_sid, status = "approved" }
    local good = webhook.sign(e.auth_token, url, params)
    local other = webhook.sign("another-auth-token-0123456789abcdef", url, params)
    local tampered = {}
    for k, v in pairs(params) do tampered[k] = v end
    tampered.type = "challenge.denied"
    for _, forged in ipairs{ { form_body(params), other }, { form_body(tampered), good }, { form_body(params) } } do
      local h = { ["Content-Type"] = FORM["Content-Type"], ["X-Twilio-Signature"] = forged[2] }
      assert.equal(403, (post("/push/webhook", forged[1], h)))
    end
    -- signed, but for another identity: accepted (200) and not recorded
    local wrong_id = {}
    for k, v in pairs(params) do wrong_id[k] = v end
    wrong_id.entity_identity = "user-bob-0002"
    assert.equal(200, (post("/push/webhook", form_body(wrong_id),
      { ["Content-Type"] = FORM["Content-Type"], ["X-Twilio-Signature"] = webhook.sign(e.auth_token, url, wrong_id) })))
    code, body = status_of(sid)
    assert.same({ 200, "pending", "api" }, { code, body.status, body.source })
    assert.matches("push webhook refused: signature mismatch", error_log(n), 1, true)

    -- the device approves: the emulator's signed webhook says so
    assert.equal("approved", assert(dev:approve(sid)).status)
    code, body = poll(sid, "webhook")
    assert.same({ 200, "approved", "webhook" }, { code, body.status, body.source })

    -- another sign-in, denied
    code, body = post("/push/login", CREDS)
    assert.equal(200, code)
    local sid2 = body.challenge_sid
    assert.equal("denied", assert(dev:deny(sid2)).status)
    code, body = poll(sid2, "webhook")
    assert.same({ 200, "denied", "webhook" }, { code, body.status, body.source })
    local events = {}
    for _, d in ipairs(deliveries()) do
      events[#events + 1] = d.event .. " " .. d.response_status
      assert.equal(url, d.url)
    end
    assert.same({ "challenge.approved 200", "challenge.denied 200" }, events)

    -- without the webhook, the poll asks Verify
    assert(backend:delete_webhook(SVC, hook.sid))
    code, body = post("/push/login", CREDS)
    assert.equal(200, code)
    local sid3 = body.challenge_sid
    assert.equal("approved", assert(dev:approve(sid3)).status)
    code, body = status_of(sid3)
    assert.same({ 200, "approved", "api" }, { code, body.status, body.source })

    -- the SID's shape is checked before any call; unknown challenges are 404
    e:clear_requests()
    assert.equal(400, (status_of("YC123")))
    assert.equal(400, (status_of(sid:sub(1, 33) .. "%20")))
    assert.equal(404, (status_of("YC" .. string.rep("0", 32))))
    assert.equal(405, (post("/push/status?challenge_sid=" .. sid, "")))
    assert.same({}, e:requests())

    -- no credential in nginx's logs: not the auth token, not the access token
    local logs = error_log(n) .. (read_file(n.dir .. "/logs/access.log") or "")
    assert.is_nil(logs:find(e.auth_token, 1, true))
    assert.is_nil(logs:find(token, 1, true))
  end)
end)

-- Outside nginx: a for loop nobody catches, in the standalone interpreters
-- whose uncaught-error printing ignores or honours __tostring (Lua 5.1 prints
-- "(error object is not a string)" for a table; LuaJIT prints __tostring).
-- The Lua 5.1 build is made here when absent (make or-build-lua5.1: its
-- packages too, as root); a missing interpreter fails, never skips.
describe("uncaught iterator errors in standalone interpreters", function()
  local e
  setup(function() e = emulator.start{} end)
  teardown(function() if e then e:stop() end end)

  local SCRIPT = [[
local verify = require "twilio.verify"
local c = assert(verify.new{ max_retries = 0 })
local ok, raised = pcall(function() for _ in c:factors(os.getenv("TV_SVC"), "standalone-user-1") do end end)
local err = verify.error_of(raised)
io.stdout:write("caught ", type(raised), " ", tostring(err and err.status), " ", tostring(ok), "\n")
for _ in c:factors(os.getenv("TV_SVC"), "standalone-user-1") do end
]]

  for _, case in ipairs{ { "luajit", BUILD, "table" }, { "lua5.1", "build-lua5.1", "string" } } do
    local lua, build, caught = case[1], case[2], case[3]
    it(lua .. " prints the error's message", function()
      if lua == "lua5.1" then
        local out = sh("make --no-print-directory or-build-lua5.1 >/dev/null 2>&1 && echo built")
        assert.equal("built\n", out, "make or-build-lua5.1 failed")
      end
      assert(read_file(ROOT .. "/" .. build .. "/twilio/verify/core.so"), "no " .. build .. " build")
      e:fault{ action = "status", status = 404, code = 20404, message = "no such entity", match = { op = "list" },
               times = 2 }
      local out = sh(format("cd %s && env LUA_PATH=%s LUA_CPATH=%s TWILIO_ACCOUNT_SID=%s TWILIO_AUTH_TOKEN=%s "
        .. "TWILIO_VERIFY_BASE_URL=%s TV_SVC=%s %s -e %s 2>&1; echo \"exit=$?\"", shq(ROOT),
        shq("lua/?.lua;;"), shq(build .. "/?.so;;"), shq(e.account_sid), shq(e.auth_token), shq(e.base_url),
        shq(SVC), lua, shq(SCRIPT)))
      assert.matches("caught " .. caught .. " 404 false\n", out, 1, true)
      assert.matches(lua .. ": twilio.verify: http error 404 (code 20404): no such entity [GET http://", out, 1, true)
      assert.is_nil(out:find("not a string", 1, true), out)
      assert.matches("exit=1\n$", out)
    end)
  end
end)
