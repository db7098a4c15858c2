-- Regressions of the second hardening round (issue 23): what a hostile
-- server, upstream or caller could do to the Lua-transport path, the
-- webhooks helpers, the device credentials and the emulator.  Each test
-- failed (or crashed the process) before its fix; the commit that added it
-- says how that was checked.
local verify = require "twilio.verify"
local emulator = require "support.emulator"
local fixture = require "support.fixture"

local unpack = table.unpack or unpack

local SVC = "VA" .. string.rep("ef", 16)
local ID = "user-0001-host"
local ACCOUNT = "AC" .. string.rep("0", 32)
local ENTITY = '{"sid":"YE' .. string.rep("4", 32) .. '","identity":"' .. ID .. '","account_sid":"' .. ACCOUNT
  .. '","service_sid":"' .. SVC .. '","date_created":"2024-01-01T00:00:00Z","date_updated":"2024-01-01T00:00:00Z",'
  .. '"url":"https://verify.twilio.com/x","links":{}}'

-- A client whose Lua transport answers every request with `resp` (a table,
-- or a function of the request returning one).
local function scripted(resp)
  return assert(verify.new{ account_sid = ACCOUNT, auth_token = "hostile-test-token",
    base_url = "http://127.0.0.1:9", max_retries = 0,
    transport = function(req) if type(resp) == "function" then return resp(req) end return resp end })
end

-- The first n spellings of `name` with letters in upper or lower case.
local function spellings(name, n)
  local letters = {}
  for i = 1, #name do if name:sub(i, i):match("%a") then letters[#letters + 1] = i end end
  local out = {}
  for m = 0, n - 1 do
    local b = { name:lower():byte(1, -1) }
    for bit, pos in ipairs(letters) do
      if math.floor(m / 2 ^ (bit - 1)) % 2 == 1 then b[pos] = b[pos] - 32 end
    end
    out[#out + 1] = string.char(unpack(b))
  end
  return out
end

describe("a Lua transport's response headers (issue 23 item 1)", function()
  it("survives 255 spellings of one kept header and keeps the smallest key's value, whatever the order", function()
    local names = spellings("Twilio-Request-Duration", 255)
    local smallest = names[1]
    for _, k in ipairs(names) do if k < smallest then smallest = k end end
    local values = {}
    for i, k in ipairs(names) do values[k] = "0.0" .. i end
    -- the same headers inserted in two orders: the winner is the same
    local results = {}
    for round = 1, 2 do
      local h = {}
      for i = 1, #names do
        local k = round == 1 and names[i] or names[#names + 1 - i]
        h[k] = values[k]
      end
      local c = scripted{ status = 200, body = ENTITY, headers = h }
      local ent = assert(c:fetch_entity(SVC, ID))
      results[round] = verify.response_of(ent).headers["twilio-request-duration"]
      c:close()
    end
    assert.equal(values[smallest], results[1])
    assert.equal(results[1], results[2])
  end)

  it("reads no header of a table with more than 256 entries, and still returns the value", function()
    for _, n in ipairs{ 257, 1000, 20000 } do
      local h = {}
      for _, k in ipairs(spellings("Retry-After", math.min(n, 1024))) do h[k] = "1" end
      for i = 1, n - 1024 do h["X-Junk-" .. i] = "x" end
      h["Twilio-Request-Id"] = "RQ" .. string.rep("1", 32)
      local c = scripted{ status = 200, body = ENTITY, headers = h }
      local ent = assert(c:fetch_entity(SVC, ID))
      local r = assert(verify.response_of(ent))
      assert.equal(200, r.status)
      assert.same({}, r.headers)
      c:close()
    end
  end)

  it("ignores keys and values that are not headers (booleans, functions, nested tables, NUL in a name)", function()
    local h = {
      [1] = "Retry-After", [true] = "x", [2.5] = "y",
      ["Retry-After\0X"] = "99",                     -- not the name: longer
      ["Twilio-Request-Id"] = function() end,
      ["Twilio-Request-Duration"] = { { "nested" } }, -- a repeated header whose last value is a table
      ["Twilio-Concurrent-Requests"] = {},             -- a repeated header with no value
      ["Twilio-Reached-Rate-Limit"] = true,
      ["X-Rate-Limit-Remaining"] = 0 / 0,              -- a number: converted
      ["X-Rate-Limit-Limit"] = { "a", "b\r\nInjected: 1" },
    }
    setmetatable(h, { __index = function() error("the headers' metatable was consulted") end })
    local c = scripted{ status = 200, body = ENTITY, headers = h }
    local ent = assert(c:fetch_entity(SVC, ID))
    local r = verify.response_of(ent).headers
    c:close()
    assert.is_nil(r["retry-after"])
    assert.is_nil(r["twilio-request-id"])
    assert.is_nil(r["twilio-request-duration"])
    assert.is_nil(r["twilio-concurrent-requests"])
    assert.is_nil(r["twilio-reached-rate-limit"])
    assert.is_string(r["x-rate-limit-remaining"])
    assert.equal("bInjected: 1", r["x-rate-limit-limit"])
  end)

  it("reads Retry-After and Twilio-Request-Id in any case, the request id without control characters", function()
    local c = scripted{ status = 429, body = '{"code":20429,"message":"Too Many Requests"}',
      headers = { ["retry-after"] = "7", ["TWILIO-REQUEST-ID"] = "RQ12\r\nSet-Cookie: x" } }
    local v, err = c:fetch_entity(SVC, ID)
    c:close()
    assert.is_nil(v)
    assert.equal(7, err.retry_after)
    assert.equal("RQ12Set-Cookie:x", err.request_id)
  end)
end)

describe("control characters from a server or transport (issue 23 item 9)", function()
  local function clean(s) return type(s) == "string" and not s:find("[%c\127]") end

  it("are not copied into err.message, err.more_info, err.request_id or tostring(err)", function()
    local c = scripted{ status = 400,
      body = '{"code":60200,"message":"Invalid\\r\\nX-Injected: 1\\u0000tail","more_info":"https://x\\r\\n/y"}',
      headers = { ["Twilio-Request-Id"] = "RQ\r\n1" } }
    local v, err = c:fetch_entity(SVC, ID)
    assert.is_nil(v)
    assert.equal(60200, err.code)
    assert.truthy(clean(err.message), err.message)
    assert.truthy(err.message:find("Invalid  X-Injected: 1", 1, true), err.message)
    assert.truthy(clean(err.more_info), err.more_info)
    assert.equal("RQ1", err.request_id)
    assert.truthy(clean(tostring(err)))
    c:close()
  end)

  it("a transport's error message and an error table edited by Lua code print on one line", function()
    local c = scripted(function() return nil, { message = "reset\r\nby peer\n" } end)
    local v, err = c:fetch_entity(SVC, ID)
    c:close()
    assert.is_nil(v)
    assert.equal("transport", err.kind)
    assert.truthy(clean(err.message), err.message)
    err.message = "edited\r\nSet-Cookie: x"
    err.url = "http://x/\n"
    assert.truthy(clean(tostring(err)), tostring(err))
    assert.truthy(clean("prefix: " .. err), "prefix: " .. err)
  end)
end)

describe("a credential change and the batch pool (issue 23 item 5)", function()
  local e
  fixture.emulator({ reset = false }, false, function(em) e = em end)

  it("_set_token reaches the handles of a batch made before it", function()
    local c = e:client{ max_retries = 0 }
    assert(c:create_entity(SVC, ID))
    local ops = { { op = "fetch_entity", service_sid = SVC, identity = ID },
                  { op = "fetch_entity", service_sid = SVC, identity = ID } }
    local r1 = assert(c:batch(ops, { concurrency = 2 }))
    assert.is_table(r1[1].ok)
    assert.is_table(r1[2].ok)
    -- not a JWT: the emulator refuses it, so a 401 shows the token was sent
    assert(c:_set_token("DEVICE-JWT"))
    local v, err = c:fetch_entity(SVC, ID)
    assert.is_nil(v)
    assert.equal(401, err.status)
    local r2 = assert(c:batch(ops, { concurrency = 2 }))
    for i = 1, 2 do
      assert.is_nil(r2[i].ok)
      assert.equal(401, r2[i].err.status, "batch op " .. i .. " went out with the account's credential")
    end
    c:close()
  end)
end)

-- The emulator's RSS in kB (VmHWM: the peak), or nil without /proc.
local function peak_kb(pid)
  local f = io.open("/proc/" .. pid .. "/status", "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return tonumber(s:match("VmHWM:%s*(%d+)"))
end

describe("the emulator before authentication (issue 23 item 2)", function()
  local e
  fixture.emulator({}, false, function(em) e = em end)

  it("logs a 1 MiB body of empty pairs within budget, and its memory stays bounded", function()
    local body = string.rep("a=&", 349525) -- 1 MiB - 1
    for _ = 1, 5 do
      local status = e:request("POST", "/v2/Nope", body, { Authorization = false })
      assert.equal(401, status)
    end
    local log = e:requests()
    assert.equal(5, #log)
    for _, r in ipairs(log) do
      assert.is_true(r.body_truncated)
      assert.equal(#body, r.body_bytes)
      assert.is_true(#r.body <= 64 * 1024)
      -- more pairs than a form may hold: none parsed, none logged
      assert.equal(0, #r.form)
    end
    -- the RSS peak: about 112 MB a request before (574 MB after these 5);
    -- allocators under ASan and valgrind keep freed memory: no bound there
    local kb = peak_kb(e.pid)
    if kb and not os.getenv("ASAN_OPTIONS") and not os.getenv("TV_EMULATOR_PREFIX") then
      assert.is_true(kb < 64 * 1024, "emulator peak RSS " .. kb .. " kB")
    end
  end)

  it("keeps at most 64 pairs and 8 KiB of a value per record, and 8 MiB of records in all", function()
    local pairs_ = {}
    for i = 1, 1000 do pairs_[i] = "K" .. i .. "=" .. string.rep("v", 1000) end
    local status = e:request("POST", "/v2/Nope", table.concat(pairs_, "&"), { Authorization = false })
    assert.equal(401, status)
    local r = e:last_request()
    assert.equal(64, #r.form)
    assert.is_true(r.form_truncated)
    assert.equal(1000, r.form_pairs)
    local long = string.rep("x", 100000)
    e:request("POST", "/v2/Nope", "FriendlyName=" .. long, { Authorization = false })
    r = e:last_request()
    assert.equal(8192, #r.form[1][2])
    -- 20 records of about 590 KB each (body and pairs cut): the oldest go
    -- so that the log stays within its 8 MiB
    local big = {}
    for i = 1, 64 do big[i] = "P" .. i .. "=" .. string.rep("w", 16000) end
    big = table.concat(big, "&")
    for _ = 1, 20 do e:request("POST", "/v2/Nope", big, { Authorization = false }) end
    local _, _, _, _, text = e:json("GET", "/__emulator/requests", nil, { Authorization = false })
    assert.is_true(#text < 9 * 1024 * 1024, "log of " .. #text .. " bytes")
    local n = #e:requests()
    assert.is_true(n >= 10 and n < 16, n .. " records")
  end)

  it("a request line too big for the connection: closed, its context freed (LeakSanitizer under make asan)", function()
    for _ = 1, 3 do
      local status = e:request("GET", "/v2/Services?" .. string.rep("PageSize=1&", 10000))
      assert.is_true(status == 0 or status >= 400, "status " .. status)
    end
    assert.equal(200, (e:request("GET", "/v2/Services?PageSize=1"))) -- still answering
  end)

  it("refuses a form of more than 1024 pairs with 413, before allocating it", function()
    local body = string.rep("FriendlyName=x&", 1025)
    local status, json = e:json("POST", "/v2/Services", body)
    assert.equal(413, status)
    assert.equal(20413, json.code)
  end)
end)

describe("the emulator's Host and control API (issue 23 item 3)", function()
  local e
  fixture.emulator({}, false, function(em) e = em end)

  local function control(method, path, body, headers)
    headers = headers or {}
    headers.Authorization = false
    return e:json(method, "/__emulator/" .. path, body, headers)
  end

  it("a cross-origin or non-JSON control request is refused and does nothing", function()
    assert(e:client{}:create_entity(SVC, ID))
    local status = control("POST", "reset", "x", { Origin = "http://evil.example", ["Content-Type"] = "text/plain" })
    assert.equal(403, status)
    status = control("POST", "reset", "x", { ["Content-Type"] = "text/plain" })
    assert.equal(415, status)
    status = control("POST", "faults", '{"faults":[{"action":"close"}]}', { ["Content-Type"] = "text/plain" })
    assert.equal(415, status)
    status = control("DELETE", "requests", nil, { ["Sec-Fetch-Site"] = "cross-site" })
    assert.equal(403, status)
    status = control("POST", "reset", nil, { Origin = "null" })
    assert.equal(403, status)
    assert.equal(0, #e:pending_faults())
    assert.is_true(#e:requests() > 0) -- nothing was reset or cleared
    -- the same requests from the emulator's own origin, or from curl, work
    assert.equal(204, (control("POST", "reset", nil, { Origin = "http://127.0.0.1:" .. e.port })))
    assert.equal(204, (control("POST", "reset", nil)))
    assert.equal(200, (control("POST", "clock", '{"time":null}', { ["Content-Type"] = "application/json; charset=utf-8" })))
  end)

  it("accepts only loopback Host values on its port (and --allow-host's)", function()
    local c = e:client{}
    assert(c:create_entity(SVC, ID))
    local path = "/v2/Services/" .. SVC .. "/Entities/" .. ID
    for _, host in ipairs{ "127.0.0.1:" .. e.port, "localhost:" .. e.port, "LOCALHOST:" .. e.port, "[::1]:" .. e.port } do
      assert.equal(200, (e:json("GET", path, nil, { Host = host })), host)
    end
    for _, host in ipairs{ "evil.example", "evil.example:" .. e.port, "127.0.0.1", "127.0.0.1:" .. (e.port + 1),
                           "localhost.evil.example:" .. e.port, "127.0.0.1:" .. e.port .. ".evil", "127.0.0.2:" .. e.port } do
      local status, body = e:json("GET", path, nil, { Host = host })
      assert.equal(403, status, host)
      assert.equal(20403, body.code, host)
      assert.equal(403, (control("GET", "stats", nil, { Host = host })), host)
    end
    local e2 = emulator.start{ args = { "--allow-host", "verify.test:9000" } }
    finally(function() e2:stop() end)
    assert.equal(200, (e2:json("GET", "/v2/Services?PageSize=1", nil, { Host = "Verify.Test:9000" })))
    assert.equal(403, (e2:json("GET", "/v2/Services?PageSize=1", nil, { Host = "verify.test" })))
  end)

  it("keeps no raw secret value in the request log, even with a percent-encoded key", function()
    local body = "AuthPayload=123456&Auth%50ayload=654321&Binding.Secret=JBSWY3DPEHPK3PXP&FriendlyName=x"
    e:request("POST", "/v2/Services/" .. SVC .. "/Entities/" .. ID .. "/Factors/YF" .. string.rep("0", 32), body)
    local r = e:last_request()
    assert.equal("AuthPayload=[REDACTED]&Auth%50ayload=[REDACTED]&Binding.Secret=[REDACTED]&FriendlyName=x", r.body)
    for _, kv in ipairs(r.form) do
      if kv[1] ~= "FriendlyName" then assert.equal("[REDACTED]", kv[2], kv[1]) end
    end
    local _, _, _, _, text = e:json("GET", "/__emulator/requests", nil, { Authorization = false })
    for _, secret in ipairs{ "123456", "654321", "JBSWY3DPEHPK3PXP" } do
      assert.is_nil(text:find(secret, 1, true), secret)
    end
  end)
end)
