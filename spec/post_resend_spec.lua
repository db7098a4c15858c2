-- A POST is never resent by libcurl: on a kept-alive connection the server
-- drops without answering, libcurl's own transparent retry would send the
-- update a second time.  csrc/tv_http.c refuses that second send (the
-- pre-request callback with libcurl >= 7.80, a refused rewind before), so
-- the server sees the request once and the caller gets a transport error
-- that is not retryable.  A GET in the same situation is resent (idempotent).
-- (The message is "...not resent" until libcurl's per-handle count of dead
-- reused connections reaches 5; it then gives up before the callback runs,
-- with "Connection died" (curl 55): still one request, still not retried.)
local fixture = require "support.fixture"

local SVC = "VA" .. string.rep("7e", 16)
local ID = "resend-user-0001"
local SID = "YF" .. string.rep("0", 31) .. "1"

describe("POST on a dropped keep-alive connection", function()
  local e, client

  fixture.emulator({ reset = false, no_limits = true, seed = { factors = {
      { service_sid = SVC, identity = ID, factor_type = "push", friendly_name = "phone", sid = SID,
        config = { notification_platform = "none" } } } } }, { max_retries = 3, retry_base = 0.001, retry_cap = 0.01 }, function(em, c) e, client = em, c end)

  local function warm() assert(client:fetch_factor(SVC, ID, SID)) end

  for _, case in ipairs({
    { "update_factor", function() return client:update_factor(SVC, ID, SID, { friendly_name = "x" }) end },
    { "verify_factor", function() return client:verify_factor(SVC, ID, SID, "signed") end },
    { "create_factor", function()
        return client:create_factor(SVC, ID, { friendly_name = "t", factor_type = "totp" })
      end },
  }) do
    it(case[1] .. " is sent once and fails as not retryable", function()
      for _ = 1, 3 do
        warm() -- the next request goes out on a reused connection
        local before = #e:requests()
        e:fault{ action = "close" }
        local v, err = case[2]()
        assert.is_nil(v)
        assert.equal("transport", err.kind)
        assert.is_false(err.retryable)
        assert.equal("POST", err.method)
        assert.equal(1, #e:requests() - before)
      end
      assert(client:fetch_factor(SVC, ID, SID)) -- the client is still usable
    end)
  end

  it("a GET on the same dropped connection is resent by libcurl and succeeds", function()
    warm()
    local before = #e:requests()
    e:fault{ action = "close" }
    assert(client:fetch_factor(SVC, ID, SID))
    assert.equal(2, #e:requests() - before)
  end)
end)
