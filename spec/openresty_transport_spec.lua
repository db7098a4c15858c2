-- twilio.verify.openresty without nginx: a scripted `ngx` stands in for
-- lua-nginx-module, so the subrequest shape, the two location hooks and the
-- mapping of nginx's own errors are pinned in every Lua the suite runs on.
-- spec/openresty/nginx_test.lua runs the same transport in a real nginx.
local verify = require "twilio.verify"
local openresty = require "twilio.verify.openresty"

local AC = "AC" .. string.rep("1", 32)
local SVC = "VA" .. string.rep("2", 32)
local SID = "YF" .. string.rep("3", 32)
local ID = "openresty-user-1"
local FACTOR = '{"sid":"' .. SID .. '","service_sid":"' .. SVC .. '","status":"verified","factor_type":"totp"}'

-- A fake ngx.  capture() plays the subrequest: ngx.ctx = opts.ctx, the
-- location's rewrite hook (unless hooks.rewrite == false), then `upstream`
-- decides what nginx saw, then the header_filter hook.
local function fake_ngx(phase, upstream, hooks)
  hooks = hooks or {}
  local ngx = {
    HTTP_GET = 2, HTTP_POST = 8, HTTP_DELETE = 32, HTTP_FORBIDDEN = 403, WARN = 5,
    logs = {}, subrequests = {},
  }
  ngx.get_phase = function() return phase end
  ngx.log = function(_, ...) ngx.logs[#ngx.logs + 1] = table.concat({ ... }) end
  ngx.sleep = function() end
  ngx.exit = function(status) ngx.exited = status end
  ngx.location = {
    capture = function(uri, opts)
      -- the headers the client's own request carried, inherited by the subrequest
      local headers = { Cookie = "session=1", Authorization = "Bearer client", ["User-Agent"] = "browser",
                        ["Content-Length"] = tostring(opts.body and #opts.body or 0) }
      local sub = { uri = uri, method = opts.method, body = opts.body, headers = headers }
      ngx.subrequests[#ngx.subrequests + 1] = sub
      ngx.ctx = opts.ctx
      ngx.req = {
        get_headers = function(max, raw)
          assert(max == 0 and raw == true)
          local copy = {}
          for k, v in pairs(headers) do copy[k] = v end
          return copy
        end,
        clear_header = function(name) headers[name] = nil end,
        set_header = function(name, value) headers[name] = value end,
      }
      if hooks.rewrite ~= false then openresty.rewrite() end
      local res, vars = upstream(sub)
      ngx.var = vars or {}
      if hooks.header_filter ~= false then openresty.header_filter() end
      ngx.ctx = nil
      return res
    end,
  }
  return ngx
end

-- upstream answers: what the Verify API said, or what nginx made of a failure
local function api(status, body, headers)
  return function()
    return { status = status, body = body, header = headers or {} },
      { upstream_status = tostring(status), upstream_connect_time = "0.001", upstream_header_time = "0.002" }
  end
end

local function nginx_error(status, connect_time)
  return function()
    return { status = status, body = "<html>" .. status .. "</html>", header = { ["Content-Type"] = "text/html" } },
      { upstream_status = tostring(status), upstream_connect_time = connect_time, upstream_header_time = "-" }
  end
end

local function sequence(list)
  local i = 0
  return function(sub)
    i = i + 1
    return list[i](sub)
  end
end

describe("twilio.verify.openresty", function()
  local saved

  before_each(function() saved = rawget(_G, "ngx") end)
  after_each(function() rawset(_G, "ngx", saved) end)

  local function client(extra)
    local o = { account_sid = AC, auth_token = "secret-token", retry_base = 0.001, retry_cap = 0.002 }
    for k, v in pairs(extra or {}) do o[k] = v end
    return assert(verify.new(o))
  end

  it("has the library's version (the core's), not one of its own", function()
    assert.equal(require("twilio.verify.core")._VERSION, openresty._VERSION)
    assert.equal(verify._VERSION, openresty._VERSION)
  end)

  describe("selection by verify.new", function()
    it("picks the OpenResty transport when ngx.location.capture exists", function()
      rawset(_G, "ngx", fake_ngx("content", api(200, FACTOR)))
      assert.equal(openresty.transport, client():_transport())
    end)

    it("keeps libcurl with transport = false, and a given transport as it is", function()
      rawset(_G, "ngx", fake_ngx("content", api(200, FACTOR)))
      assert.is_nil(client{ transport = false }:_transport())
      local fn = function() end
      assert.equal(fn, client{ transport = fn }:_transport())
    end)

    it("outside nginx is libcurl", function()
      rawset(_G, "ngx", nil)
      assert.is_nil(client():_transport())
    end)
  end)

  describe("the subrequest", function()
    it("goes to the internal location with the method, path, query and body the core built", function()
      local ngx = fake_ngx("content", sequence{
        api(200, '{"factors":[],"meta":{"page":0,"page_size":2,"key":"factors"}}'),
        api(200, FACTOR), api(204, ""),
      })
      rawset(_G, "ngx", ngx)
      local c = client()
      assert(c:list_factor(SVC, ID, { page_size = 2, page_token = "PA1f" }))
      assert(c:update_factor(SVC, ID, SID, { friendly_name = "a b" }))
      assert.is_true(c:delete_factor(SVC, ID, SID))
      local s = ngx.subrequests
      assert.equal("/_twilio_verify/v2/Services/" .. SVC .. "/Entities/" .. ID .. "/Factors?PageSize=2&PageToken=PA1f",
        s[1].uri)
      assert.same({ ngx.HTTP_GET, ngx.HTTP_POST, ngx.HTTP_DELETE }, { s[1].method, s[2].method, s[3].method })
      assert.is_nil(s[1].body)
      assert.equal("FriendlyName=a%20b", s[2].body)
      assert.equal("/_twilio_verify/v2/Services/" .. SVC .. "/Entities/" .. ID .. "/Factors/" .. SID, s[3].uri)
    end)

    it("carries the core's headers only: the client's own are dropped by rewrite()", function()
      local ngx = fake_ngx("content", api(200, FACTOR))
      rawset(_G, "ngx", ngx)
      assert(client():update_factor(SVC, ID, SID, { auth_payload = "123456" }))
      local h = ngx.subrequests[1].headers
      assert.is_nil(h.Cookie)
      assert.matches("^Basic ", h.Authorization)
      assert.matches("^twilio%-verify%-lua/", h["User-Agent"])
      assert.equal("application/x-www-form-urlencoded", h["Content-Type"])
      assert.equal("application/json", h.Accept)
      assert.equal("18", h["Content-Length"]) -- set by nginx for the body: kept
    end)

    it("uses another location with openresty.new{ location = ... }", function()
      local ngx = fake_ngx("access", api(200, FACTOR))
      rawset(_G, "ngx", ngx)
      assert(client{ transport = openresty.new{ location = "/internal/verify" } }:fetch_factor(SVC, ID, SID))
      assert.matches("^/internal/verify/v2/Services/", ngx.subrequests[1].uri)
    end)

    it("rejects bad options", function()
      local ok, msg = pcall(openresty.new, { locaton = "/x" })
      assert.is_false(ok)
      assert.matches("openresty.new: unknown option 'locaton'", msg, 1, true)
      assert.has_error(function() openresty.new{ location = "no-slash" } end)
      assert.has_error(function() openresty.new{ location = "/x/" } end)
    end)

    it("rewrite() refuses a subrequest that is not one of ours", function()
      local ngx = fake_ngx("content", api(200, FACTOR))
      rawset(_G, "ngx", ngx)
      ngx.ctx = {}
      openresty.rewrite()
      assert.equal(403, ngx.exited)
    end)
  end)

  describe("answers", function()
    it("passes the API's answers, errors included, to the core's parser", function()
      rawset(_G, "ngx", fake_ngx("content", sequence{
        api(404, '{"code":20404,"message":"nope","status":404}', { ["Twilio-Request-Id"] = "RQ1" }),
        api(503, '{"code":20503,"message":"busy","status":503}'), api(200, FACTOR),
      }))
      local c = client()
      local v, err = c:fetch_factor(SVC, ID, SID)
      assert.is_nil(v)
      assert.same({ "http", 404, 20404, "RQ1" }, { err.kind, err.status, err.code, err.request_id })
      local retries = 0
      c = client{ on_retry = function() retries = retries + 1 end }
      assert(c:fetch_factor(SVC, ID, SID)) -- 503 on GET: retried
      assert.equal(1, retries)
    end)

    it("maps nginx's 502 before connecting to an unsent transport error (POST retried)", function()
      rawset(_G, "ngx", fake_ngx("content", sequence{ nginx_error(502, "-"), api(200, FACTOR) }))
      assert(client():update_factor(SVC, ID, SID, { friendly_name = "x" }))
    end)

    it("maps nginx's 502 after connecting to a transport error (POST not retried)", function()
      rawset(_G, "ngx", fake_ngx("content", nginx_error(502, "0.001")))
      local v, err = client():update_factor(SVC, ID, SID, { friendly_name = "x" })
      assert.is_nil(v)
      assert.equal("transport", err.kind)
      assert.matches("closed the connection early", err.message)
      assert.is_false(err.retryable)
    end)

    it("maps nginx's 504 to a timeout, never retried", function()
      rawset(_G, "ngx", fake_ngx("content", sequence{ nginx_error(504, "0.001, 0.002"), api(200, FACTOR) }))
      local v, err = client():fetch_factor(SVC, ID, SID)
      assert.is_nil(v)
      assert.same({ "transport", false }, { err.kind, err.retryable })
      assert.matches("timed out waiting for the Verify API", err.message)
    end)

    it("reports a truncated body as a transport error", function()
      rawset(_G, "ngx", fake_ngx("content", function()
        local res, vars = api(200, '{"sid":')()
        res.truncated = true
        return res, vars
      end))
      local v, err = client{ max_retries = 0 }:fetch_factor(SVC, ID, SID)
      assert.is_nil(v)
      assert.equal("transport", err.kind)
      assert.matches("cut short", err.message)
    end)

    it("says which hook is missing", function()
      rawset(_G, "ngx", fake_ngx("content", api(200, FACTOR), { header_filter = false }))
      local v, err = client{ max_retries = 0 }:fetch_factor(SVC, ID, SID)
      assert.is_nil(v)
      assert.matches("header_filter_by_lua_block", err.message)
      rawset(_G, "ngx", fake_ngx("content", api(200, FACTOR), { header_filter = false }))
      v, err = client():update_factor(SVC, ID, SID, { friendly_name = "x" })
      assert.is_nil(v)
      assert.is_false(err.retryable) -- nothing known: a POST may have been applied
      rawset(_G, "ngx", fake_ngx("content", api(200, FACTOR), { rewrite = false }))
      local ok, msg = pcall(client().fetch_factor, client(), SVC, ID, SID)
      assert.is_false(ok)
      assert.matches("doc/openresty.md", msg)
    end)
  end)

  describe("phases without subrequests", function()
    it("fall back to libcurl (blocking) and warn once", function()
      local ngx = fake_ngx("timer", api(200, FACTOR))
      rawset(_G, "ngx", ngx)
      local c = client{ base_url = "http://127.0.0.1:9", max_retries = 0 }
      local v, err = c:fetch_factor(SVC, ID, SID)
      assert.is_nil(v)
      assert.equal("transport", err.kind) -- from libcurl: nothing listens on port 9
      assert.equal(0, #ngx.subrequests)
      c:fetch_factor(SVC, ID, SID)
      assert.equal(1, #ngx.logs)
      assert.matches("no subrequests in the 'timer' phase", ngx.logs[1])
    end)
  end)
end)
