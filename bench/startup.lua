-- bench/startup.lua -- child process of bench.lua: time require
-- "twilio.verify" and verify.new{...} in a fresh process.  benchclock
-- depends on libc only, so it pre-loads nothing the library needs.
--   lua5.4 bench/startup.lua          the library: the C module (dlopen of
--                                     core.so with libcurl, OpenSSL, cJSON;
--                                     curl_global_init), the Lua modules, new{}
--                                     and a second new{} (a client's own cost)
--   lua5.4 bench/startup.lua curl     the floor: the plain libcurl module
--                                     (bench/plaincurl.c: dlopen of libcurl and
--                                     OpenSSL, curl_global_init) + one easy handle
-- Prints: require_ms=X core_ms=C lua_ms=L new_ms=Y new2_ms=Z total_ms=T
--     or: curl_ms=X
local clock = require "benchclock"
if arg[1] == "curl" then
  local t0 = clock.now()
  local plaincurl = require "plaincurl"
  local h = plaincurl.new({})
  local t1 = clock.now()
  print(string.format("curl_ms=%.3f", (t1 - t0) * 1e3))
  h:close()
  return
end
local t0 = clock.now()
require "twilio.verify.core"
local tc = clock.now()
local verify = require "twilio.verify"
local t1 = clock.now()
local opts = {
  account_sid = "AC0123456789abcdef0123456789abcdef", auth_token = "bench-auth-token-0123456789abcdef",
  base_url = "http://127.0.0.1:9",
}
local client = assert(verify.new(opts))
local t2 = clock.now()
local second = assert(verify.new(opts))
local t3 = clock.now()
print(string.format("require_ms=%.3f core_ms=%.3f lua_ms=%.3f new_ms=%.3f new2_ms=%.3f total_ms=%.3f",
  (t1 - t0) * 1e3, (tc - t0) * 1e3, (t1 - tc) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3, (t2 - t0) * 1e3))
client:close()
second:close()
