-- bench/tls_first.lua -- one sample of the TLS first-call row (a fresh
-- process each): the first call of a new client (full handshake: nothing
-- cached yet), then the first call of a second client in the same process
-- (resumes the TLS session the first one got, through the clients' shared
-- libcurl caches).  Prints first_ms=... second_ms=...
--   lua bench/tls_first.lua BASE_URL CA_FILE ACCOUNT_SID AUTH_TOKEN SERVICE IDENTITY SID
local clock = require "benchclock"
local verify = require "twilio.verify"
local base, ca, ac, token, S, ID, SID = table.unpack(arg, 1, 7)
local function first_call()
  local c = assert(verify.new{ account_sid = ac, auth_token = token, base_url = base, ca_file = ca,
                               max_retries = 0, proxy = "" })
  local t0 = clock.now()
  local f, err = c:fetch_factor(S, ID, SID)
  local t = clock.now() - t0
  if not f then error(tostring(err)) end
  return t, c
end
local t1, c1 = first_call()
local t2, c2 = first_call()
c1:close()
c2:close()
io.write(string.format("first_ms=%.4f second_ms=%.4f\n", t1 * 1000, t2 * 1000))
