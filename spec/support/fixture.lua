-- spec/support/fixture.lua -- the emulator-and-client preamble of the
-- specs, once.  Inside a describe block:
--
--   local e, client
--   fixture.emulator({ no_limits = true }, { max_retries = 0 },
--                    function(em, c) e, client = em, c end)
--
-- starts an emulator (support/emulator.lua's options) and a client of it
-- (client options; false: none) in setup, resets the emulator before each
-- test (opts.reset = false: not), and closes and stops both in teardown,
-- even when a test failed.  `bind(em, c)` hands them to the spec's locals.
local emulator = require "support.emulator"
local busted = require "busted" -- its DSL (setup, teardown, ...), for a module

local M = {}

function M.emulator(opts, client_opts, bind)
  opts = opts or {}
  local env = {}
  local start_opts = {}
  for k, v in pairs(opts) do if k ~= "reset" then start_opts[k] = v end end
  busted.setup(function()
    env.e = emulator.start(start_opts)
    if client_opts ~= false then env.client = env.e:client(client_opts or {}) end
    if bind then bind(env.e, env.client) end
  end)
  busted.teardown(function()
    if env.client then env.client:close() end
    if env.e then env.e:stop() end
  end)
  if opts.reset ~= false then busted.before_each(function() env.e:reset() end) end
  return env
end

return M
