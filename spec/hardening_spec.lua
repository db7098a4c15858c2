-- Regressions for the ways credentials could leave and state could leak
-- between calls, fixed with the operation table: page URLs are parsed and
-- rebuilt (no dot segments, no other path), the libcurl transport offered
-- to Lua refuses another origin, a per-call timeout does not stick, and a
-- mixed Lua table is refused as JSON.
local verify = require "twilio.verify"
local emulator = require "support.emulator"
local fixture = require "support.fixture"

local SVC = "VA" .. string.rep("ef", 16)
local ID = "user-0001-hard"

describe("hardening", function()
  local e

  fixture.emulator({}, false, function(em) e = em end)

  for _, transport in ipairs{ "libcurl", "lua" } do
    describe("(" .. transport .. " transport)", function()
      local client
      before_each(function()
        client = e:client{ max_retries = 0, transport = transport == "lua" and verify.curl_transport or nil }
      end)
      after_each(function() client:close() end)

      it("refuses page URLs that climb out of a list path, sending nothing", function()
        local base = client:base_url()
        local bad = {
          base .. "/v2/Services/../../../2010-04-01/Accounts/AC00000000000000000000000000000000/Entities/../Calls/Factors",
          base .. "/v2/Services/" .. SVC .. "/Entities/%2e%2e/Factors",
          base .. "/v2/Services/" .. SVC .. "/Entities/" .. ID .. "/Factors/../../../../Calls",
          base .. "/v2/Services/" .. SVC .. "/Entities/" .. ID .. "/%2E%2E/Factors",
          base .. "/v2/Services/" .. SVC .. "/Entities/" .. ID .. "/Factors/extra",
          base .. "/v2/Services/" .. SVC .. "/Entities/" .. ID .. "/Factors?Foo=1",
          base .. "/v2/Services/" .. SVC .. "/Entities/" .. ID .. "/Factors?PageSize=5000",
        }
        e:clear_requests()
        for _, url in ipairs(bad) do
          local p, err = client:list_page(url)
          assert.is_nil(p, url)
          assert.equal("invalid_argument", err.kind, url)
          assert.equal("url", err.param, url)
          local _, ierr = client:factors(SVC, ID, { page_url = url })
          assert.equal("url", ierr.param, url)
        end
        assert.equal(0, #e:requests())
      end)

      it("follows a valid page URL of each list, rebuilt from its parameters", function()
        local base = client:base_url()
        for _, case in ipairs{
          { "/v2/Services/" .. SVC .. "/Entities/" .. ID .. "/Factors?PageSize=2&Page=0", "factors" },
          { "/v2/Services/" .. SVC .. "/Entities/" .. ID .. "/Challenges?Status=pending&PageSize=2", "challenges" },
          { "/v2/Services/" .. SVC .. "/Entities?PageSize=2", "entities" },
          { "/v2/Services?PageSize=2", "services" },
        } do
          e:clear_requests()
          client:list_page(base .. case[1])
          local req = e:last_request()
          assert.is_table(req, case[1])
          assert.equal("GET", req.method)
          assert.equal(case[1], req.path .. "?" .. req.query)
        end
      end)

      it("a per-call timeout applies to that call only", function()
        local f = assert(client:create_factor(SVC, ID, { friendly_name = "t", factor_type = "totp" }))
        e:faults{ { action = "delay", delay_ms = 700, times = 2, match = { op = "fetch" } } }
        local v, err = client:fetch_factor(SVC, ID, f.sid, { timeout = 0.3 })
        assert.is_nil(v)
        assert.equal("transport", err.kind)
        -- the next call has the client's own timeout (10 s): the same delay passes
        local g, err2 = client:fetch_factor(SVC, ID, f.sid)
        assert.is_table(g, tostring(err2))
        assert.equal(f.sid, g.sid)
      end)
    end)
  end

  it("verify.curl_transport refuses a request table pointing at another origin", function()
    local other = emulator.start{}
    local client = e:client{ max_retries = 0 }
    local wrapped = e:client{ max_retries = 0, transport = function(req, c)
      req.url = req.url:gsub("^http://[^/]+", other:client():base_url())
      return verify.curl_transport(req, c)
    end }
    local v, err = wrapped:fetch_factor(SVC, ID, "YF" .. string.rep("0", 32))
    assert.is_nil(v)
    assert.equal("invalid_argument", err.kind)
    assert.equal("url", err.param)
    assert.equal(0, #other:requests())
    wrapped:close()
    client:close()
    other:stop()
  end)

  it("refuses a JSON value mixing array elements and keys, naming the parameter", function()
    local client = e:client{ max_retries = 0 }
    e:clear_requests()
    local v, err = client:create_factor(SVC, ID, { friendly_name = "m", factor_type = "totp",
      metadata = { 1, os = "x" } })
    assert.is_nil(v)
    assert.equal("invalid_argument", err.kind)
    assert.equal("metadata", err.param)
    v, err = client:create_challenge(SVC, ID, { factor_sid = "YF" .. string.rep("0", 32),
      hidden_details = { "a", ip = "1" } })
    assert.is_nil(v)
    assert.equal("hidden_details", err.param)
    assert.equal(0, #e:requests())
    client:close()
  end)
end)
