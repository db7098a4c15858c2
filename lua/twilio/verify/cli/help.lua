-- twilio.verify.cli.help -- the help texts: of the program, of a group,
-- of a command.
local math = math
local ipairs = ipairs
local require = require
local format, concat = string.format, table.concat
local C = require "twilio.verify.cli.common"
local reg = require "twilio.verify.cli.commands"
local ops = require "twilio.verify.cli.ops"
local PROG = C.PROG
local GLOBAL_OPTS, join, commands, command_order = reg.GLOBAL_OPTS, reg.join, reg.commands, reg.order
local TABLE_GROUPS = ops.groups

-------------------------------------------------------------------------------
-- Help
-------------------------------------------------------------------------------
local function option_lines(opts)
  local lines, w = {}, 0
  local function label(o)
    local l = (o.short and ("-" .. o.short .. ", ") or "    ") .. (o.bool and "--[no-]" or "--") .. o[1]
    if o.value then l = l .. " " .. o.value end
    if o.repeatable then l = l .. " ..." end
    return l
  end
  for _, o in ipairs(opts) do w = math.max(w, #label(o)) end
  for _, o in ipairs(opts) do lines[#lines + 1] = format("  %-" .. w .. "s  %s", label(o), o.help) end
  return concat(lines, "\n")
end

local EXIT_HELP = [[
Exit status:
  0  success
  1  the API or the network failed (HTTP error, connection, timeout, bad answer)
  2  usage error: unknown command or option, a bad or missing argument,
     missing credentials or service SID, a value the API would reject
  3  verification failed: `totp check` did not match, `sign-in` got a wrong
     code, or --auth-payload left the factor unverified (`factors update`)
     or the challenge not approved (`challenges create|update`)]]

local ENV_HELP = [[
Environment:
  TWILIO_ACCOUNT_SID         account SID (AC...)
  TWILIO_AUTH_TOKEN          auth token, or instead:
  TWILIO_API_KEY, TWILIO_API_SECRET   an API key SID (SK...) and its secret
  TWILIO_VERIFY_SERVICE_SID  default for --service (VA...)
  TWILIO_VERIFY_BASE_URL     default for --base-url (e.g. the emulator's http://127.0.0.1:PORT)
  TWILIO_VERIFY_EMULATOR     path of twilio-verify-emulator (for `emulator`)
Credentials are read by the library; they never appear in output or errors.]]

local function command_help(def)
  local usage = PROG .. " " .. def.name .. " [options]"
  for _, a in ipairs(def.args) do usage = usage .. " " .. a end
  if def.rest then usage = PROG .. " " .. def.name .. " [" .. def.rest .. "...]" end
  local out = { "Usage: " .. usage, "", def.summary:sub(1, 1):upper() .. def.summary:sub(2) .. "." }
  if def.description then out[#out + 1] = "" out[#out + 1] = def.description end
  local opts = join(def.options, GLOBAL_OPTS)
  if def.rest then opts = { GLOBAL_OPTS[2] } end
  out[#out + 1] = ""
  out[#out + 1] = "Options:"
  out[#out + 1] = option_lines(opts)
  if def.examples then
    out[#out + 1] = ""
    out[#out + 1] = "Examples:"
    for _, e in ipairs(def.examples) do out[#out + 1] = "  " .. e end
  end
  out[#out + 1] = ""
  out[#out + 1] = "Environment variables and exit statuses: see '" .. PROG .. " --help'."
  return concat(out, "\n")
end

local function is_group(name)
  if name == "factors" or name == "totp" or name == "webhook" then return true end
  for _, g in ipairs(TABLE_GROUPS) do if g == name then return true end end
  return false
end

local function group_help(group)
  local out = { "Usage: " .. PROG .. " " .. group .. " COMMAND [options] ARGS...", "", "Commands:" }
  for _, name in ipairs(command_order) do
    if name:sub(1, #group + 1) == group .. " " then
      out[#out + 1] = format("  %-16s %s", name:sub(#group + 2), commands[name].summary)
    end
  end
  out[#out + 1] = ""
  out[#out + 1] = "Run '" .. PROG .. " " .. group .. " COMMAND --help' for a command's options."
  return concat(out, "\n")
end

local function main_help()
  local out = {
    "Usage: " .. PROG .. " [--json] COMMAND [options] ARGS...",
    "",
    "Twilio Verify v2 from the command line (one-time codes, Factors, Entities, Challenges, Services and the rest),",
    "TOTP helpers and a local emulator.",
    "",
    "Commands:",
  }
  local w = 16
  for _, name in ipairs(command_order) do w = math.max(w, #name + 1) end
  for _, name in ipairs(command_order) do
    out[#out + 1] = format("  %-" .. w .. "s %s", name, commands[name].summary)
  end
  out[#out + 1] = ""
  out[#out + 1] = "Options:"
  out[#out + 1] = option_lines(join(GLOBAL_OPTS, { { "version", help = "print the version and exit" } }))
  out[#out + 1] = ""
  out[#out + 1] = "Run '" .. PROG .. " COMMAND --help' (e.g. '" .. PROG .. " factors list --help') for details."
  out[#out + 1] = ""
  out[#out + 1] = ENV_HELP
  out[#out + 1] = ""
  out[#out + 1] = EXIT_HELP
  return concat(out, "\n")
end

return { command = command_help, group = group_help, main = main_help, is_group = is_group }
