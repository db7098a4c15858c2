-- Local validation: hundreds of bad arguments, each an invalid_argument error
-- naming the parameter, with zero requests reaching the emulator.
local fixture = require "support.fixture"

local SVC = "VA" .. string.rep("0123456789abcdef", 2)
local SID = "YF" .. string.rep("fedcba9876543210", 2)
local ID = "valid-user-0001"

local hostile = {
  "", "../", "../../etc/passwd", "%2F", "a%2Fb", "#frag", "?q=1", "a b", "line\r\nX-Evil: 1", "cr\rcr", "lf\nlf",
  "nul\0byte", "\255\254", "\192\175", "\237\160\128", string.rep("x", 10240), "tab\there", "\127del",
}

local function bad_path_values(kind)
  local vals = {}
  for _, h in ipairs(hostile) do vals[#vals + 1] = h end
  if kind == "service_sid" then
    for _, v in ipairs{ "VA", "VA" .. string.rep("a", 31), "VA" .. string.rep("a", 33), "XX" .. string.rep("a", 32),
                        "va" .. string.rep("a", 32), "VA" .. string.rep("g", 32), "YF" .. string.rep("a", 32),
                        "VA" .. string.rep("a", 31) .. "\n" } do vals[#vals + 1] = v end
  elseif kind == "sid" then
    for _, v in ipairs{ "YF", "YF" .. string.rep("a", 31), "YF" .. string.rep("a", 33), "VA" .. string.rep("a", 32),
                        "yf" .. string.rep("a", 32), "YF" .. string.rep("z", 32), "YF" .. string.rep("a", 30) .. "/x" } do
      vals[#vals + 1] = v
    end
  else -- identity
    for _, v in ipairs{ "short12", string.rep("a", 65), "a--bcdefgh", "-abcdefgh", "abcdefgh-", "abc_defgh",
                        "abc.defgh", "abc/defgh", "ünïcödé-user", "abcdefgh\0" } do vals[#vals + 1] = v end
  end
  return vals
end

local wrong_types = { 42, true, {}, function() end }

local cases = {}
local function add(name, param, fn) cases[#cases + 1] = { name = name, param = param, fn = fn } end

-- path parameters, for every operation
local ops = {
  fetch = function(c, s, i, f) return c:fetch_factor(s, i, f) end,
  delete = function(c, s, i, f) return c:delete_factor(s, i, f) end,
  update = function(c, s, i, f) return c:update_factor(s, i, f, { friendly_name = "x" }) end,
  list = function(c, s, i) return c:list_factor(s, i) end,
  create = function(c, s, i) return c:create_factor(s, i, { friendly_name = "x", factor_type = "totp" }) end,
}
for opname, op in pairs(ops) do
  for _, v in ipairs(bad_path_values("service_sid")) do
    add(opname .. " service_sid " .. #v, "service_sid", function(c) return op(c, v, ID, SID) end)
  end
  for _, v in ipairs(bad_path_values("identity")) do
    add(opname .. " identity " .. #v, "identity", function(c) return op(c, SVC, v, SID) end)
  end
  for _, t in ipairs(wrong_types) do
    add(opname .. " service_sid type " .. type(t), "service_sid", function(c) return op(c, t, ID, SID) end)
    add(opname .. " identity type " .. type(t), "identity", function(c) return op(c, SVC, t, SID) end)
  end
  if opname == "fetch" or opname == "delete" or opname == "update" then
    for _, v in ipairs(bad_path_values("sid")) do
      add(opname .. " sid " .. #v, "sid", function(c) return op(c, SVC, ID, v) end)
    end
    for _, t in ipairs(wrong_types) do
      add(opname .. " sid type " .. type(t), "sid", function(c) return op(c, SVC, ID, t) end)
    end
  end
end

-- update parameters
local function upd(p) return function(c) return c:update_factor(SVC, ID, SID, p) end end
for _, h in ipairs(hostile) do
  if h ~= "" and #h < 64 and not h:find("^[%w%p ]*$") then
    add("friendly_name hostile " .. #h, "friendly_name", upd{ friendly_name = h })
    add("auth_payload hostile " .. #h, "auth_payload", upd{ auth_payload = h })
    add("config_sdk_version hostile " .. #h, "config_sdk_version", upd{ config_sdk_version = h })
  end
end
for name, bads in pairs{
  friendly_name = { "", string.rep("n", 65), string.rep("é", 65), 12, true, {} },
  auth_payload = { "", string.rep("1", 5457), 123456, false },
  config_notification_token = { "short", string.rep("t", 31), string.rep("t", 256), 5 },
  config_sdk_version = { "", string.rep("v", 65), 1.0 },
  config_time_step = { 19, 61, 0, -30, 30.5, "30", true, 1e300 },
  config_skew = { -1, 3, 1.5, "1" },
  config_code_length = { 2, 9, 6.5, "6" },
  config_alg = { "md5", "SHA1", "sha1 ", "", 1 },
  config_notification_platform = { "gcm", "APN", "", false },
} do
  for i, v in ipairs(bads) do
    add("update " .. name .. " #" .. i, name, upd{ [name] = v })
  end
end
for _, k in ipairs{ "frendly_name", "FriendlyName", "AuthPayload", "config", "sid", "page_size", "binding_secret" } do
  add("update unknown key " .. k, k, upd{ [k] = "x" })
end
add("update params not a table", "params", function(c) return c:update_factor(SVC, ID, SID, "friendly_name=x") end)

-- list parameters
local function lst(p) return function(c) return c:list_factor(SVC, ID, p) end end
for name, bads in pairs{
  page_size = { 0, 1001, -1, 2.5, "50", true },
  page = { -1, 0.5, "1", {} },
  page_token = { "", "tok\r\nen", "tok\0", 7, string.rep("p", 513) },
} do
  for i, v in ipairs(bads) do add("list " .. name .. " #" .. i, name, lst{ [name] = v }) end
end
for _, k in ipairs{ "pagesize", "PageSize", "limit", "page_url" } do
  add("list unknown key " .. k, k, lst{ [k] = 1 })
end

-- create parameters
local function crt(p) return function(c) return c:create_factor(SVC, ID, p) end end
add("create without friendly_name", "friendly_name", crt{ factor_type = "totp" })
add("create without factor_type", "factor_type", crt{ friendly_name = "x" })
for name, bads in pairs{
  factor_type = { "sms", "TOTP", "passkeys", 1 },
  metadata = { "not json", "[1,2]", "\"str\"", string.rep(" ", 1025) },
  config_app_id = { "", string.rep("a", 101) },
  binding_secret = { "short", 123 },
  binding_alg = { "RS256", "es256", "" },
  config_time_step = { 10, 99 },
} do
  for i, v in ipairs(bads) do
    local p = { friendly_name = "x", factor_type = "totp" }
    p[name] = v
    add("create " .. name .. " #" .. i, name, crt(p))
  end
end
add("create unknown key", "friendlyname", crt{ friendly_name = "x", factor_type = "totp", friendlyname = "y" })

-- per-call options
add("call option unknown", "timout", function(c) return c:fetch_factor(SVC, ID, SID, { timout = 1 }) end)
add("call option timeout", "timeout", function(c) return c:fetch_factor(SVC, ID, SID, { timeout = -1 }) end)
add("call option retries", "max_retries", function(c) return c:fetch_factor(SVC, ID, SID, { max_retries = 99 }) end)

describe("validation", function()
  local e, client

  fixture.emulator({ reset = false }, {}, function(em, c) e, client = em, c end)

  it("has at least 200 bad-argument cases", function()
    assert.is_true(#cases >= 200, "only " .. #cases .. " cases")
  end)

  it("rejects every bad argument locally, naming the parameter, with zero requests", function()
    local before = e:stats().total
    for _, c in ipairs(cases) do
      local v, err = c.fn(client)
      assert.is_nil(v, c.name)
      assert.is_table(err, c.name)
      assert.equal("invalid_argument", err.kind, c.name)
      assert.equal(c.param, err.param, c.name)
      assert.is_truthy(err.message:find(c.param, 1, true), c.name .. ": " .. err.message)
      assert.is_false(err.retryable, c.name)
      assert.matches("^twilio.verify: invalid_argument error: ", tostring(err), nil, false)
    end
    assert.equal(before, e:stats().total)
  end)

  it("accepts the boundaries of every range", function()
    local f = assert(client:create_factor(SVC, ID, { friendly_name = string.rep("é", 64), factor_type = "totp" }))
    for _, p in ipairs{ { config_time_step = 20 }, { config_time_step = 60 }, { config_skew = 0 },
                        { config_skew = 2 }, { config_code_length = 3 }, { config_code_length = 8 },
                        { config_alg = "sha256" }, { friendly_name = "x" } } do
      assert(client:update_factor(SVC, ID, f.sid, p))
    end
    assert(client:list_factor(SVC, ID, { page_size = 1 }))
    assert(client:list_factor(SVC, ID, { page_size = 1000, page = 0 }))
  end)
end)
