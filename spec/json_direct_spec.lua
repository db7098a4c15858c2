-- The direct JSON -> Lua decoder of instance answers (lua_json.c,
-- tv_lua_push_json_direct, issue 17) gives what the cJSON path gives: the
-- same values for plain text, and for everything it leaves to cJSON
-- (escapes, trailing bytes, invalid JSON) the cJSON path's answer.  The
-- cJSON path is what a list page's items go through, so each body is also
-- decoded as the one item of a page and compared.
local core = require "twilio.verify.core"
local verify = require "twilio.verify"

local function as_instance(body) return core.parse_response("fetch", 200, body) end
local function as_page_item(body)
  local page = assert(core.parse_response("list", 200, '{"factors":[' .. body .. '],"meta":{"key":"factors"}}'))
  return page.factors[1]
end

local function same(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) == "number" then return a == b and (not math.type or math.type(a) == math.type(b)) end
  if type(a) ~= "table" then return a == b end
  for k, v in pairs(a) do if not same(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

describe("the direct decoder of instance answers", function()
  local bodies = {
    '{"sid":"YF1","n":1,"f":1.5,"neg":-2,"e":1e3,"t":true,"no":false,"a":[1,null,"x",[],{}],"o":{"k":"v"}}',
    '{"sid":"YF1","dup":"first","dup":"second"}',
    '{"sid":"YF1","gone":null,"gone":"later"}',
    '{"sid":"first","sid":"second"}',
    '{"sid":"YF1","q":"a \\"quoted\\" \\\\ \\/ \\n\\t\\r\\b\\f"}',
    '{"sid":"YF1","u":"caf\\u00e9 \\ud83d\\ude00"}',
    '{"sid":"YF1","z":"a\\u0000b"}',
    ' \n {"sid":"YF1","config":{"alg":"sha1","skew":1},"metadata":null} \n ',
    '{"sid":"YF1","big":12345678901234567890,"small":0.000001,"i":9007199254740993}',
    '{"sid":"YF1","deep":' .. string.rep("[", 80) .. string.rep("]", 80) .. '}',
  }
  for i, body in ipairs(bodies) do
    it("body " .. i .. " decodes as the cJSON path decodes it", function()
      local a, err = as_instance(body)
      assert.is_table(a, tostring(err))
      local b = as_page_item(body)
      assert.is_true(same(a, b), body)
    end)
  end

  it("accepts trailing bytes after the object, as cJSON does", function()
    assert.equal("YF1", assert(as_instance('{"sid":"YF1"} trailing')).sid)
  end)

  it("keeps the semantics: first duplicate wins, null members are absent, null in arrays is verify.null", function()
    local v = assert(as_instance('{"sid":"YF1","d":1,"d":2,"n":null,"n":3,"a":[null,1]}'))
    assert.equal(1, v.d)
    assert.is_nil(v.n)
    assert.equal(verify.null, v.a[1])
    assert.equal(1, v.a[2])
    assert.equal("first", as_instance('{"sid":"first","sid":"second"}').sid)
  end)

  it("leaves every refusal to the cJSON path (same errors)", function()
    for _, body in ipairs{ '{"sid":"YF1",}', '{"sid":1}', '{"nosid":"x"}', '[1]', '{"sid":"YF1"', '{"sid":"a\001b"}',
                           '{"sid":"YF1","x":01}', '{"sid":"YF1","x":1.2.3}', '{"sid":"YF1","x":nul}', '' } do
      local v, err = as_instance(body)
      if v == nil then
        assert.equal("decode", err.kind)
      else -- what cJSON accepts is accepted the same way
        assert.is_true(same(v, as_page_item(body)), body)
      end
    end
    local _, err = as_instance('{"sid":1}')
    assert.matches("must have a string `sid`", err.message, 1, true)
    _, err = as_instance('{"sid":"YF1",}')
    assert.matches("invalid JSON near byte", err.message, 1, true)
  end)
end)
