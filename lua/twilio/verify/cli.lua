-- twilio.verify.cli -- the command line (bin/twilio-verify is its launcher:
-- it finds the library, then calls run).  `twilio-verify --help` explains.
--
-- Credentials are read by the library from the environment (verify.new{}):
-- the command line never reads, prints or passes on the auth token or API
-- secret, except `webhook validate`, which hands TWILIO_AUTH_TOKEN to the
-- library.  Its parts, each a module of its own:
--   common    name, exit codes, environment, the library, --json
--   json      the JSON encoder            output    what commands print
--   commands  the registry, shared options, the client
--   ops       the commands made from the operation table
--   builtins  sign-in, totp, webhook validate
--   emulator  `emulator` and its supervisor
--   help      help texts                   args      argv parsing
local io, os, table = io, os, table
local type, tostring = type, tostring
local getmetatable, pcall, require = getmetatable, pcall, require
local format, concat = string.format, table.concat
local unpack = table.unpack or unpack -- (also runs on 5.1-5.3 and LuaJIT)
local C = require "twilio.verify.cli.common"
local out = require "twilio.verify.cli.output"
local reg = require "twilio.verify.cli.commands"
local ops = require "twilio.verify.cli.ops"
require "twilio.verify.cli.builtins"
local emulator = require "twilio.verify.cli.emulator"
local help = require "twilio.verify.cli.help"
local args = require "twilio.verify.cli.args"
local S, PROG, EXIT_OK, EXIT_API, EXIT_USAGE, lib = C.state, C.PROG, C.EXIT_OK, C.EXIT_API, C.EXIT_USAGE, C.lib
local say, die_usage, die_err = out.say, out.die_usage, out.die_err
local commands = reg.commands
local main_help, command_help, group_help, is_group = help.main, help.command, help.group, help.is_group
local parse, run_emulator = args.parse, emulator.run

local M = {}

local function main(argv)
  local i = 1
  -- global options before the command
  while argv[i] and argv[i]:sub(1, 1) == "-" do
    local a = argv[i]
    if a == "--json" then
      S.json = true
    elseif a == "--help" or a == "-h" then
      say(main_help())
      return EXIT_OK
    elseif a == "--version" then
      local ok, v = pcall(require, "twilio.verify")
      say(PROG .. " " .. (ok and tostring(v._VERSION) or "(library not found)") .. " (" .. _VERSION
        .. (ok and (", libcurl " .. tostring(v.curl_version)) or "") .. ")")
      return EXIT_OK
    else
      die_usage("unknown option '" .. a .. "'")
    end
    i = i + 1
  end
  local group = argv[i]
  if group == nil then
    io.stderr:write(main_help(), "\n")
    return EXIT_USAGE
  end
  if group == "help" then
    local name = concat(argv, " ", i + 1)
    if name == "" then say(main_help()) return EXIT_OK end
    if commands[name] then say(command_help(commands[name])) return EXIT_OK end
    if is_group(name) then say(group_help(name)) return EXIT_OK end
    die_usage("no such command: " .. name)
  end
  if group == "emulator" then return run_emulator(argv, i + 1) end
  local def, first
  if commands[group] then -- a command of one word (sign-in)
    def, first = commands[group], i + 1
  elseif is_group(group) then
    local action = argv[i + 1]
    if action == nil or action == "--help" or action == "-h" then
      if action == nil then
        io.stderr:write(group_help(group), "\n")
        return EXIT_USAGE
      end
      say(group_help(group))
      return EXIT_OK
    end
    def, first = commands[group .. " " .. action], i + 2
    if not def then die_usage("unknown command '" .. group .. " " .. action .. "'", group) end
  else
    if not ops.loaded then
      lib() -- says why the library does not load (most commands are made from its operation table)
    end
    die_usage("unknown command '" .. group .. "'")
  end
  local o, pos = parse(def, argv, first)
  if o.json then S.json = true end
  if o.help then say(command_help(def)) return EXIT_OK end
  if #pos ~= #def.args then
    local want = #def.args == 0 and "no arguments" or concat(def.args, " ")
    die_usage(format("'%s' takes %s (got %d argument%s)", def.name, want, #pos, #pos == 1 and "" or "s"), def.name)
  end
  return def.run(o, unpack(pos))
end

-- twilio.verify.cli.run(argv, script_dir): the command line; exits.
function M.run(argv, script_dir)
S.script_dir = script_dir or "."
local ok, rc = xpcall(function() return main(argv) end, function(e)
  if type(e) == "table" and getmetatable(e) and e.kind then return e end -- a library error object
  return debug.traceback(tostring(e), 2)
end)
if not ok then
  if type(rc) == "table" then die_err(rc) end
  io.stderr:write(PROG, ": internal error: ", tostring(rc), "\n")
  os.exit(EXIT_API)
end
io.stdout:flush()
os.exit(rc or EXIT_OK)
end
return M
