-- errors.lua -- what failures look like and how to handle them: argument
-- errors (nothing sent), API errors, the log hook, retries with on_retry,
-- Retry-After, timeouts, a failing iterator, a closed client.
--
--   examples/run-demo.sh examples/errors.lua
-- Against the emulator, faults are injected through its control endpoint
-- (/__emulator/faults, see doc/emulator.md); against real Twilio those
-- steps are skipped.
local verify = require "twilio.verify"

local service_sid = assert(os.getenv("TWILIO_VERIFY_SERVICE_SID"), "set TWILIO_VERIFY_SERVICE_SID")
local identity = os.getenv("TWILIO_VERIFY_IDENTITY") or "errors-user-0001"
local base_url = os.getenv("TWILIO_VERIFY_BASE_URL")
local emulator = base_url and base_url:match("^http://127%.0%.0%.1:%d+$") ~= nil

-- Queue a fault on the emulator (a JSON object, see doc/emulator.md "Faults").
local function fault(json)
  local cmd = ("curl -sS --max-time 10 -o /dev/null -w '%%{http_code}' -X POST -H 'Content-Type: application/json' "
    .. "--data-binary '{\"faults\":[%s]}' %s/__emulator/faults"):format(json, base_url)
  local p = assert(io.popen(cmd))
  local status = p:read("a")
  p:close()
  assert(status == "200", "could not queue a fault: " .. status)
end

local function section(title) print("\n== " .. title) end

-- 1. a bad option or argument: nil, err with kind "invalid_argument" and the
--    parameter's name; nothing is sent
section("invalid arguments")
local c, err = verify.new{ timout = 5 }
print(c, err.kind, err.param, err.message)

-- the log hook sees every attempt: method, url, status, duration, attempt,
-- and the headers with Authorization redacted
local client = assert(verify.new{
  base_url = base_url,
  retry_base = 0.05, retry_cap = 0.5, -- short backoff for the demo (defaults: 0.25 s doubling to 8 s)
  log = function(ev)
    print(("  log: %s %s -> %d (attempt %d, %.3f s, Authorization %s)"):format(ev.method,
      ev.url:gsub("^https?://[^/]+", ""), ev.status, ev.attempt, ev.duration, ev.headers.Authorization))
  end,
  on_retry = function(attempt, delay, e)
    print(("  on_retry: attempt %d in %.2f s after %s"):format(attempt, delay, tostring(e)))
  end,
})

local f, e = client:fetch_factor(service_sid, identity, "YF-not-a-sid")
print(f, e.kind, e.param, e.message)
e = select(2, client:update_factor(service_sid, identity, "YF" .. string.rep("0", 32), { frendly_name = "x" }))
print("typo:", e.kind, e.message)

-- 2. the API says no: kind "http" with Twilio's status, code and more_info
section("an HTTP error")
local factor = assert(client:create_factor(service_sid, identity, {
  friendly_name = "Errors demo", factor_type = "totp" }))
e = select(2, client:fetch_factor(service_sid, identity, "YF" .. string.rep("0", 32)))
print(tostring(e))
print("fields:", e.kind, e.status, e.code, e.more_info, e.request_id, e.retryable)

-- 3. a wrong TOTP code is not an error: false, and the factor stays unverified
section("a wrong code")
local ok = factor:verify("000000")
print("verified:", ok, factor.status)

if emulator then
  -- 4. a flaky server: two 503s on GET, then success; on_retry runs before each sleep
  section("retries (503, 503, then 200)")
  fault('{"action":"status","status":503,"times":2,"match":{"op":"fetch"}}')
  f = assert(client:fetch_factor(service_sid, identity, factor.sid))
  print("fetched after retries:", f.sid)

  -- 5. rate limited: 429 with Retry-After, which wins over the backoff
  section("429 with Retry-After: 1")
  fault('{"action":"status","status":429,"code":20429,"retry_after":1,"match":{"op":"fetch"}}')
  f = assert(client:fetch_factor(service_sid, identity, factor.sid))
  print("fetched after waiting:", f.sid)

  -- 6. a POST that may have been applied is never resent: 503 on an update fails at once
  section("no retry for a POST that may have been applied")
  fault('{"action":"status","status":503,"match":{"op":"update"}}')
  f, e = client:update_factor(service_sid, identity, factor.sid, { friendly_name = "renamed" })
  print(f, e.kind, e.status, "retryable: " .. tostring(e.retryable))

  -- 7. a timeout (per call here; `timeout` in verify.new sets the default):
  --    kind "transport", not retried (the timeout is your budget)
  section("a timeout")
  fault('{"action":"delay","delay_ms":1500,"match":{"op":"fetch"}}')
  f, e = client:fetch_factor(service_sid, identity, factor.sid, { timeout = 0.5 })
  print(f, e.kind, e.transport_code, e.message)

  -- 8. an iterator that fails on page 2 raises its error object in a for loop
  --    (catch it with pcall); it never looks like the end of the list
  section("a failure in the middle of an iteration")
  assert(client:create_factor(service_sid, identity, { friendly_name = "Errors demo 2", factor_type = "totp" }))
  local seen = 0
  local okay, ierr = pcall(function()
    for _ in client:factors(service_sid, identity, { page_size = 1 }) do
      seen = seen + 1
      if seen == 1 then fault('{"action":"status","status":500,"match":{"op":"list"}}') end
    end
  end)
  print(("after %d factor(s): ok=%s, %s"):format(seen, tostring(okay), tostring(ierr)))
  -- on 5.1 and inside nginx the loop raises the message string (readable in
  -- logs); verify.error_of gives the structured error back everywhere
  local structured = verify.error_of(ierr)
  print("the error object:", type(structured), structured.kind, structured.status)
  for x in client:factors(service_sid, identity) do
    if x.sid ~= factor.sid then assert(x:delete()) end
  end
else
  section("retries, Retry-After, timeouts, a failing iterator")
  print("(skipped: fault injection needs the emulator)")
end

-- 9. a closed client: every call returns a "closed" error
section("a closed client")
assert(factor:delete())
client:close()
f, e = client:fetch_factor(service_sid, identity, factor.sid)
print(f, e.kind, e.message)
f, e = factor:fetch()
print("factor method:", f, e.kind)
