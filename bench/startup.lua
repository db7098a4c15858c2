-- bench/startup.lua -- child process of bench.lua: time require
-- "twilio.verify" and verify.new{...} in a fresh process.  benchclock
-- depends on libc only, so it pre-loads nothing the library needs.
-- Prints: require_ms=X new_ms=Y total_ms=Z
local clock = require "benchclock"
local t0 = clock.now()
local verify = require "twilio.verify"
local t1 = clock.now()
local client = assert(verify.new{
  account_sid = "AC0123456789abcdef0123456789abcdef", auth_token = "bench-auth-token-0123456789abcdef",
  base_url = "http://127.0.0.1:9",
})
local t2 = clock.now()
print(string.format("require_ms=%.3f new_ms=%.3f total_ms=%.3f", (t1 - t0) * 1e3, (t2 - t1) * 1e3, (t2 - t0) * 1e3))
client:close()
