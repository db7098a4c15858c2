-- twilio.verify.cli.common -- what every part of the command line shares:
-- its name and exit codes, the environment, the library (loaded lazily: help
-- and `emulator` work without it) and the --json switch.
local io, os, math = io, os, math
local type, tostring = type, tostring
local pcall, require = pcall, require

local M = {}
M.PROG = "twilio-verify"
-- Exit codes (documented in `twilio-verify --help` and the README).
M.EXIT_OK, M.EXIT_API, M.EXIT_USAGE, M.EXIT_CHECK = 0, 1, 2, 3
M.state = { json = false, script_dir = "." } -- --json given; the directory of bin/twilio-verify

function M.to_integer(n)
  if type(n) ~= "number" or n ~= n or n % 1 ~= 0 or n >= 2 ^ 63 or n < -2 ^ 63 then return nil end
  return math.floor(n)
end

function M.file_exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

function M.getenv(name)
  local v = os.getenv(name)
  if v == "" then return nil end
  return v
end

-- The library: loaded at start when it loads (the commands made from the
-- operation table need it); without it, help and `emulator` still work and
-- the other commands say why it did not load.
local verify
function M.loaded()
  if verify == nil then
    local ok, m = pcall(require, "twilio.verify")
    verify = ok and type(m) == "table" and m or false
  end
  return verify or nil
end

function M.lib()
  if not M.loaded() then
    local ok, m = pcall(require, "twilio.verify")
    io.stderr:write(M.PROG, ": cannot load the twilio.verify library: ", tostring(ok and "no module table" or m), "\n",
      "Set LUA_PATH and LUA_CPATH (see the README) or install the rock.\n")
    os.exit(M.EXIT_API)
  end
  return verify
end

return M
