-- Every example response of the official OpenAPI description parses into the
-- expected Lua table (JSON null -> absent key), through the same sans-I/O
-- parser every transport uses.  No network.
local core = require "twilio.verify.core"
local cjson = require "cjson"
local process = require "support.process"
local function read(path) return (assert(process.read_file(path), path)) end

-- lua-cjson's null -> absent (objects) / verify.null (arrays), like ours
local function normalize(v)
  if type(v) ~= "table" then
    if v == cjson.null then return core.null end
    return v
  end
  local out = {}
  local n = #v
  if n > 0 then
    for i = 1, n do out[i] = normalize(v[i]) end
    return out
  end
  for k, x in pairs(v) do
    if x ~= cjson.null then out[k] = normalize(x) end
  end
  return out
end

-- the Factor paths of the vendored description (its only copy)
local spec = cjson.decode(read("spec/fixtures/twilio_verify_v2.json"))
local ops = { get = "fetch", post = "update", delete = "delete" }

local cases = {}
for path, item in pairs(spec.paths) do
  if path:find("/Factors", 1, true) and not path:find("Passkeys", 1, true) then
    for method, op in pairs(item) do
      if ops[method] then
        local kind = ops[method]
        if path:sub(-8) == "/Factors" then kind = method == "get" and "list" or "create" end
        for status, resp in pairs(op.responses) do
          local content = resp.content and resp.content["application/json"]
          for name, ex in pairs(content and content.examples or {}) do
            -- lua-cjson 2.1 re-encodes an empty array as {}: put it back
            local body = cjson.encode(ex.value):gsub('"factors":{}', '"factors":[]')
            cases[#cases + 1] = { name = method .. " " .. name, op = kind, status = tonumber(status),
                                  body = body, value = ex.value }
          end
        end
      end
    end
  end
end
table.sort(cases, function(a, b) return a.name < b.name end)

describe("OpenAPI examples", function()
  it("has examples for fetch, update, list and create", function()
    local seen = {}
    for _, c in ipairs(cases) do seen[c.op] = true end
    assert.is_true(seen.fetch and seen.update and seen.list and seen.create)
    assert.is_true(#cases >= 10)
  end)

  for _, c in ipairs(cases) do
    it("parses " .. c.name .. " into the expected table", function()
      local v, err = core.parse_response(c.op, c.status, c.body)
      assert.is_nil(err)
      assert.same(normalize(c.value), v)
      if c.op == "list" then
        assert.is_table(v.factors)
        assert.equal("factors", v.meta.key)
        assert.is_nil(v.meta.previous_page_url) -- JSON null -> absent
      else
        assert.matches("^YF%x+$", v.sid)
      end
    end)
  end

  it("parses a 204 delete", function()
    assert.is_true(core.parse_response("delete", 204, ""))
  end)

  it("keeps unknown fields and JSON null positions inside arrays", function()
    local v = assert(core.parse_response("fetch", 200,
      '{"sid":"YF0","new_field":{"x":[1,null,3]},"metadata":null}'))
    assert.same({ 1, core.null, 3 }, v.new_field.x)
    assert.is_nil(v.metadata)
    assert.equal(core.null, v.new_field.x[2])
  end)

  it("turns both error shapes into structured errors", function()
    local _, e1 = core.parse_response("fetch", 404,
      '{"code":20404,"message":"The requested resource was not found","more_info":"https://www.twilio.com/docs/errors/20404","status":404}',
      { ["Twilio-Request-Id"] = "RQ123" })
    assert.same({ "http", 404, 20404, "The requested resource was not found", "RQ123" },
                { e1.kind, e1.status, e1.code, e1.message, e1.request_id })
    assert.equal("https://www.twilio.com/docs/errors/20404", e1.more_info)
    local _, e2 = core.parse_response("update", 400,
      '{"type":"https://www.twilio.com/docs/errors/60200","title":"Invalid parameter","status":400,"code":60200,"detail":"FriendlyName is too long"}')
    assert.same({ "http", 400, 60200, "FriendlyName is too long" }, { e2.kind, e2.status, e2.code, e2.message })
    assert.equal("https://www.twilio.com/docs/errors/60200", e2.more_info)
    local _, e3 = core.parse_response("list", 502, "<html><body>Bad gateway</body></html>")
    assert.same({ "http", 502 }, { e3.kind, e3.status })
    assert.is_nil(e3.code)
    assert.equal("<html><body>Bad gateway</body></html>", e3.body)
    assert.is_true(e3.retryable)
    assert.matches("http error 502", tostring(e3))
    local _, e4 = core.parse_response("fetch", 200, '{"sid": "YF')
    assert.equal("decode", e4.kind)
  end)
end)
