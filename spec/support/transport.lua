-- busted --helper: with TV_TRANSPORT=lua every client the specs create uses
-- the Lua-transport path (attempt loop in Lua, I/O via verify.curl_transport),
-- so the same specs prove both paths behave identically.
if os.getenv("TV_TRANSPORT") == "lua" then
  local verify = require "twilio.verify"
  local new = verify.new
  verify.new = function(opts)
    if type(opts) == "table" and opts.transport == nil then
      local o = {}
      for k, v in pairs(opts) do o[k] = v end
      o.transport = verify.curl_transport
      opts = o
    end
    return new(opts)
  end
end
