-- iterate.lua -- listing an identity's factors: lazily across pages with a
-- limit, one page at a time, resuming from a saved token or URL, collecting.
--
--   examples/run-demo.sh examples/iterate.lua      (a fresh emulator, or real
--   Twilio when TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and
--   TWILIO_VERIFY_SERVICE_SID are set)
local verify = require "twilio.verify"

local service_sid = assert(os.getenv("TWILIO_VERIFY_SERVICE_SID"), "set TWILIO_VERIFY_SERVICE_SID")
local identity = os.getenv("TWILIO_VERIFY_IDENTITY") or "iterate-user-0001"

-- the log hook sees every HTTP attempt (credentials redacted): count requests
local requests = 0
local client = assert(verify.new{
  base_url = os.getenv("TWILIO_VERIFY_BASE_URL"),
  log = function() requests = requests + 1 end,
})
local function counting(label, fn)
  local before = requests
  fn()
  print(("          (%s: %d request%s)"):format(label, requests - before, requests - before == 1 and "" or "s"))
end

-- seed: seven TOTP factors for this identity (deleted at the end)
local seeded = {}
for i = 1, 7 do
  seeded[i] = assert(client:create_factor(service_sid, identity, {
    friendly_name = ("Iterate phone %d"):format(i), factor_type = "totp" }))
end
print(("seeded    %d factors for %s"):format(#seeded, identity))

-- 1. lazy iteration with a limit: page_size defaults to min(limit, 1000),
--    so five factors cost one request
counting("limit = 5", function()
  local n = 0
  for f in client:factors(service_sid, identity, { limit = 5 }) do
    n = n + 1
    print(("  %d.      %s  %s"):format(n, f.sid, f.friendly_name))
  end
  assert(n == 5)
end)

-- 2. a small page size: the iterator fetches pages as the loop needs them
--    (at most one page in memory); limit = 5 with pages of 2 takes 3 requests
counting("page_size = 2, limit = 5", function()
  local names = {}
  for f in client:factors(service_sid, identity, { page_size = 2, limit = 5 }) do
    names[#names + 1] = f.friendly_name
  end
  print("  got     " .. table.concat(names, ", "))
end)

-- 3. one page at a time, as the API pages: factors + meta, next/previous
local page = assert(client:list_factor(service_sid, identity, { page_size = 3 }))
local last
while page do
  print(("page %d    %d factor(s), next page: %s"):format(page.meta.page, #page.factors,
    page.meta.next_page_url and "yes" or "no"))
  last = page
  local err
  page, err = page:next_page() -- nil at the end, nil + err on a failure
  if err then error(tostring(err)) end
end
local prev = assert(last:previous_page())
print(("back to   page %d (%d factors)"):format(prev.meta.page, #prev.factors))

-- 4. resume later: save the next page's token (or its URL) now...
local first = assert(client:list_factor(service_sid, identity, { page_size = 3 }))
local saved_url = first.meta.next_page_url
local saved_token = saved_url:match("PageToken=([^&]+)"):gsub("%%(%x%x)", function(h)
  return string.char(tonumber(h, 16))
end)
print("saved     token " .. saved_token)
-- ...and continue from there, in another request or another process
local rest, names = {}, {}
for f in client:factors(service_sid, identity, { page_size = 3, page_token = saved_token }) do
  rest[#rest + 1] = f
  names[#names + 1] = f.friendly_name
end
print("resumed   " .. table.concat(names, ", "))
local again = assert(client:list_page(saved_url)) -- the same page, from its URL
assert(again.factors[1].sid == rest[1].sid)
print("from URL  page " .. again.meta.page .. " starts with " .. again.factors[1].friendly_name)

-- 5. without raising: it:next() returns factor, or nil at the end, or nil, err
local it = client:factors(service_sid, identity, { page_size = 4 })
local count = 0
while true do
  local f, err = it:next()
  if not f then
    if err then error(tostring(err)) end
    break
  end
  count = count + 1
end
print(("next()    walked %d factors"):format(count))

-- 6. collect into an array (nil, err on a failure)
local three = assert(verify.collect(client:factors(service_sid, identity), 3))
print(("collect   %d factors, the first is %s"):format(#three, three[1].friendly_name))

-- clean up
for _, f in ipairs(seeded) do assert(f:delete()) end
print(("deleted   the %d seeded factors; %d requests in all"):format(#seeded, requests))
client:close()
