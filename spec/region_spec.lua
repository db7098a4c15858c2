-- Issue 16 item 10: region and edge build Twilio's current domain scheme,
-- {product}.{edge}.{region}.twilio.com.  The older verify.{region}.twilio.com
-- is retired, so a region alone takes its default edge (au1 sydney, ie1
-- dublin, jp1 tokyo, us1 ashburn), any other region needs `edge`, and an
-- edge alone goes with region us1 (as twilio-python's get_hostname does).
local verify = require "twilio.verify"
local core = require "twilio.verify.core"

local AC = "AC" .. string.rep("5", 32)

-- core.new: verify.new also reads TWILIO_REGION / TWILIO_EDGE /
-- TWILIO_VERIFY_BASE_URL, which must not change what is tested here
local function new(o)
  o.account_sid, o.auth_token = AC, "region-token"
  return core.new(o)
end

local function base_url(o)
  local c, err = new(o)
  if not c then return nil, err end
  local url = c:base_url()
  c:close()
  return url
end

describe("region and edge", function()
  it("a region alone takes its default edge", function()
    assert.equal("https://verify.dublin.ie1.twilio.com", base_url{ region = "ie1" })
    assert.equal("https://verify.sydney.au1.twilio.com", base_url{ region = "au1" })
    assert.equal("https://verify.tokyo.jp1.twilio.com", base_url{ region = "jp1" })
    assert.equal("https://verify.ashburn.us1.twilio.com", base_url{ region = "us1" })
  end)

  it("any other region without edge is refused, naming edge", function()
    local url, err = base_url{ region = "xx9" }
    assert.is_nil(url)
    assert.equal("invalid_argument", err.kind)
    assert.equal("edge", err.param)
    assert.matches("give edge with region 'xx9'", err.message, 1, true)
    -- with its edge it is accepted as given
    assert.equal("https://verify.frankfurt.xx9.twilio.com", base_url{ region = "xx9", edge = "frankfurt" })
  end)

  it("an edge alone goes with us1; both are used as given", function()
    assert.equal("https://verify.sydney.us1.twilio.com", base_url{ edge = "sydney" })
    assert.equal("https://verify.dublin.ie1.twilio.com", base_url{ region = "ie1", edge = "dublin" })
    assert.equal("https://verify.umatilla.us1.twilio.com", base_url{ region = "us1", edge = "umatilla" })
  end)

  it("still checked: names, base_url together with region/edge", function()
    local url, err = base_url{ region = "IE1" }
    assert.is_nil(url)
    assert.equal("region", err.param)
    url, err = base_url{ edge = "dub lin" }
    assert.is_nil(url)
    assert.equal("edge", err.param)
    url, err = base_url{ region = "ie1", base_url = "https://verify.twilio.com" }
    assert.is_nil(url)
    assert.equal("base_url", err.param)
  end)

  it("through verify.new as well", function()
    local c = assert(verify.new{ account_sid = AC, auth_token = "t", region = "ie1" })
    assert.equal("https://verify.dublin.ie1.twilio.com", c:base_url())
    c:close()
    local v, err = verify.new{ account_sid = AC, auth_token = "t", region = "xx9" }
    assert.is_nil(v)
    assert.equal("edge", err.param)
  end)
end)
