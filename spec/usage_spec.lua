-- First-hour surprises (issue 16): calling a method with a dot says how to
-- call it; a factor's one-time binding survives refreshes; pages carry
-- their tokens and an iterator can save its position and resume from it.
local fixture = require "support.fixture"

local SVC = "VA" .. string.rep("9a", 16)
local ID = "user-0001-usage"

describe("usage", function()
  local client

  fixture.emulator({}, { max_retries = 0 }, function(_, c) client = c end)

  it("says 'use client:name(...)' when a method is called with a dot", function()
    for _, name in ipairs{ "list_factor", "fetch_challenge", "create_service" } do
      local ok, msg = pcall(client[name], SVC, ID)
      assert.is_false(ok)
      assert.truthy(tostring(msg):find("client:" .. name .. "(", 1, true), tostring(msg))
    end
  end)

  it("keeps binding (the one-time secret) through verify, update and fetch", function()
    local f = assert(client:create_factor(SVC, ID, { friendly_name = "app", factor_type = "totp" }))
    local secret = f.binding.secret
    assert.is_string(secret)
    assert(f:update{ friendly_name = "renamed" })
    assert.equal("renamed", f.friendly_name)
    assert(f:fetch())
    assert.is_false(f:verify("000000") and f:verify("111111")) -- at most one of them can be right
    assert.equal(secret, f.binding.secret)
  end)

  it("gives pages their tokens and lets an iterator resume from a saved position", function()
    local sids = {}
    for i = 1, 5 do
      sids[i] = assert(client:create_factor(SVC, ID, { friendly_name = "f" .. i, factor_type = "totp" })).sid
    end
    local page = assert(client:list_factor(SVC, ID, { page_size = 2 }))
    assert.is_string(page.next_page_token)
    assert.is_nil(page.previous_page_token)
    local again = assert(client:list_factor(SVC, ID, { page_size = 2, page_token = page.next_page_token }))
    assert.equal(sids[3], again.factors[1].sid)
    local it = client:factors(SVC, ID, { page_size = 2 })
    for _ = 1, 3 do assert(it:next()) end -- the third item is on the second page
    local saved = it.position
    assert.is_string(saved)
    local rest = {}
    for f in client:factors(SVC, ID, { page_url = saved }) do rest[#rest + 1] = f.sid end
    assert.same({ sids[3], sids[4], sids[5] }, rest) -- from the start of the page it was on
  end)
end)
