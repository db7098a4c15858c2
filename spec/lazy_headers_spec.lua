-- The libcurl transport records a 2xx answer's headers lazily (issue 24):
-- its status line and the lines that may be tracked headers are kept raw,
-- and parsed only when verify.response_of asks (core._meta_expand), by the
-- same rules the header callback applies to every other answer.  These
-- hold the lazy form to the eager one: same status, same headers, same
-- cleaning (trimmed, control characters dropped, the last of repeated
-- lines, values over 8 KiB dropped), a decode error of a 2xx keeps its
-- request id, and a value asked twice answers the same.
local verify = require "twilio.verify"
local core = require "twilio.verify.core"
local emulator = require "support.emulator"

local SVC = "VA" .. string.rep("ad", 16)
local ID = "user-0001-lazy"

describe("lazy response headers (libcurl)", function()
  local e, client
  setup(function()
    e = emulator.start()
    client = assert(verify.new{ account_sid = e.account_sid, auth_token = e.auth_token, base_url = e.base_url,
                                max_retries = 0 })
  end)
  teardown(function()
    if client then client:close() end
    if e then e:stop() end
  end)

  it("core._meta_expand parses a raw block as the header callback does", function()
    local raw = "HTTP/1.1 201 Created\r\n"
      .. "Twilio-Request-Id:   RQ1  \r\n"
      .. "twilio-request-id: RQ" .. string.rep("2", 32) .. "\r\n" -- the last one wins
      .. "Retry-After:\t7\r\n"
      .. "X-Rate-Limit-Limit: a\1b\127c\r\n"                     -- control characters dropped
      .. "Twilio-Request-Duration: " .. string.rep("9", 8193) .. "\r\n" -- over 8 KiB: dropped
      .. "Transfer-Encoding: chunked\r\n"                         -- not tracked
      .. "Twilio-Reached-Rate-Limit:\r\n"                         -- empty: kept empty
      .. "\r\n"
    local s = core._meta_expand(raw)
    assert.equal("201\na:RQ" .. string.rep("2", 32) .. "\nd:\ne:7\ni:abc\n", s)
    assert.equal("200\na:x\n", core._meta_expand("200\na:x\n")) -- the compact form as it is
  end)

  it("gives the same status and headers as the eager path (verify.curl_transport)", function()
    local lazy = assert(client:create_entity(SVC, ID))
    local seen
    local eager_client = assert(verify.new{ account_sid = e.account_sid, auth_token = e.auth_token,
      base_url = e.base_url, max_retries = 0, transport = function(req, cl)
        local resp, err = verify.curl_transport(req, cl)
        seen = resp
        return resp, err
      end })
    local eager = assert(eager_client:fetch_entity(SVC, ID))
    eager_client:close()
    local rl, re = assert(verify.response_of(lazy)), assert(verify.response_of(eager))
    assert.equal(201, rl.status)
    assert.equal(200, re.status)
    local kl, ke = {}, {}
    for k in pairs(rl.headers) do kl[#kl + 1] = k end
    for k in pairs(re.headers) do ke[#ke + 1] = k end
    table.sort(kl)
    table.sort(ke)
    assert.same(ke, kl)
    assert.truthy(tostring(rl.request_id):match("^RQ%x+$"))
    assert.equal(seen.headers["Twilio-Request-Id"], re.request_id)
    -- asked again: the same answer (parsed once, then kept in the compact form)
    assert.same(rl, verify.response_of(lazy))
    assert.equal("201\n", core._responses[lazy]:sub(1, 4))
  end)

  it("keeps what each value's own answer said", function()
    local a = assert(client:fetch_entity(SVC, ID))
    local b = assert(client:fetch_entity(SVC, ID))
    local ra, rb = verify.response_of(a), verify.response_of(b)
    assert.is_not.equal(ra.request_id, rb.request_id)
    assert.same(ra, verify.response_of(a))
  end)

  it("a 2xx that does not decode still names its request id in the error", function()
    e:fault{ action = "html", times = 1, status = 200 }
    local v, err = client:fetch_entity(SVC, ID)
    assert.is_nil(v)
    assert.equal("decode", err.kind)
    assert.truthy(tostring(err.request_id):match("^RQ%x+$"), tostring(err.request_id))
  end)
end)
