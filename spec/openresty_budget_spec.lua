-- The OpenResty transport's shared budget (issue 24): its options are
-- checked when the transport is made (a configuration error raises, as any
-- bad openresty.new option does), and Retry-After is read from a 429's
-- headers in any case, bounded.  The budget itself runs in a real nginx
-- with 4 workers: spec/openresty/budget_nginx_test.lua (make openresty-test).
local openresty = require "twilio.verify.openresty"

describe("openresty.new{ budget = ... }", function()
  it("accepts a budget and makes a transport", function()
    assert.is_function(openresty.new{ budget = { dict = "tv_budget" } })
    assert.is_function(openresty.new{ budget = { dict = "tv_budget", on_limit = "fail", max_wait = 0,
      max_in_flight = 8, slot_ttl = 30, retry_after_cap = 5 } })
  end)

  for _, case in ipairs{
    { "not a table", "x", "budget must be a table" },
    { "no dict", {}, "budget.dict must name a lua_shared_dict" },
    { "an unknown key", { dict = "d", max_inflight = 3 }, "unknown budget option 'max_inflight'" },
    { "a bad on_limit", { dict = "d", on_limit = "drop" }, 'budget.on_limit must be "wait" or "fail"' },
    { "a fractional max_in_flight", { dict = "d", max_in_flight = 1.5 }, "budget.max_in_flight must be an integer" },
    { "a zero max_in_flight", { dict = "d", max_in_flight = 0 }, "budget.max_in_flight must be an integer" },
    { "a negative max_wait", { dict = "d", max_wait = -1 }, "budget.max_wait must be a number" },
    { "a NaN slot_ttl", { dict = "d", slot_ttl = 0 / 0 }, "budget.slot_ttl must be a number" },
  } do
    it("refuses " .. case[1], function()
      local ok, err = pcall(openresty.new, { budget = case[2] })
      assert.is_false(ok)
      assert.truthy(tostring(err):find(case[3], 1, true), tostring(err))
    end)
  end

  it("reads Retry-After in any case, a repeated one's last value, and at most 256 headers", function()
    local ra = openresty._retry_after_of
    assert.equal(3, ra{ ["Retry-After"] = "3" })
    assert.equal(4, ra{ ["retry-after"] = " 4 " })
    assert.equal(5, ra{ ["RETRY-AFTER"] = { "1", "5" } })
    assert.equal(7, ra{ ["Retry-After"] = 7 })
    assert.is_nil(ra{ ["Retry-After"] = "soon" })
    assert.is_nil(ra{})
    assert.is_nil(ra(nil))
    local many = {}
    for i = 1, 1000 do many["X-Junk-" .. i] = "x" end
    many["RETRY-after"] = "9"
    local v = ra(many) -- found or not depending on the walk's order, but bounded and never an error
    assert.is_true(v == nil or v == 9)
  end)
end)
