-- twilio.verify.cli.commands -- the registry of commands (name, args,
-- options, summary, description, examples, run), the options every command
-- shares, and the client a command makes from its options.
local io = io
local ipairs, tostring, select = ipairs, tostring, select
local require = require
local format = string.format
local C = require "twilio.verify.cli.common"
local output = require "twilio.verify.cli.output"
local PROG, getenv, lib = C.PROG, C.getenv, C.lib
local die_err, die_usage = output.die_err, output.die_usage

-- An option: { name, value = "METAVAR" (nil: a flag), type = "int"|"number"|nil,
--              short = "s", help = "..." }
local GLOBAL_OPTS = {
  { "json", help = "machine-readable JSON on stdout (errors as JSON on stderr)" },
  { "help", short = "h", help = "show this help and exit" },
}
local CLIENT_OPTS = {
  { "service", value = "VA...", short = "s", help = "Verify service SID (default $TWILIO_VERIFY_SERVICE_SID)" },
  { "base-url", value = "URL", help = "API base URL (default $TWILIO_VERIFY_BASE_URL or https://verify.twilio.com)" },
  { "timeout", value = "SECONDS", type = "number", help = "per-attempt timeout (default 10)" },
  { "max-retries", value = "N", type = "int", help = "retries of retryable failures (default 3)" },
  { "verbose", short = "v", help = "log each HTTP attempt on stderr (credentials redacted)" },
}

local function join(...)
  local out = {}
  for i = 1, select("#", ...) do
    for _, o in ipairs(select(i, ...)) do out[#out + 1] = o end
  end
  return out
end

local TOTP_OPTS = {
  { "alg", value = "ALG", help = "sha1 (default), sha256 or sha512" },
  { "digits", value = "N", type = "int", help = "code length, 3..8 (default 6)" },
  { "step", value = "SECONDS", type = "int", help = "time step, 20..60 (default 30)" },
  { "time", value = "UNIX", type = "int", help = "the time to use, in unix seconds (default now)" },
}

local commands = {}
local command_order = {}
local function command(name, def)
  def.name = name
  commands[name] = def
  command_order[#command_order + 1] = name
end

-- The client, and the service SID from --service / $TWILIO_VERIFY_SERVICE_SID
-- (required unless `no_service`: the services commands take it positionally).
local function new_client(o, no_service)
  local v = lib()
  local opts = {
    base_url = o["base-url"] or getenv("TWILIO_VERIFY_BASE_URL"),
    timeout = o.timeout,
    max_retries = o["max-retries"],
    user_agent = PROG .. "/" .. tostring(v._VERSION),
  }
  if o.verbose then
    opts.log = function(ev)
      io.stderr:write(format("%s %s -> %s in %.3f s (attempt %d)%s\n", ev.method, ev.url,
        ev.status ~= 0 and tostring(ev.status) or "no response", ev.duration or 0, ev.attempt or 1,
        ev.error and (": " .. tostring(ev.error.message)) or ""))
    end
  end
  local client, err = v.new(opts)
  if not client then die_err(err) end
  if no_service then return client end
  local svc = o.service or getenv("TWILIO_VERIFY_SERVICE_SID")
  if not svc then die_usage("no service SID: give --service VA... or set TWILIO_VERIFY_SERVICE_SID", o._cmd) end
  return client, svc
end

return { GLOBAL_OPTS = GLOBAL_OPTS, CLIENT_OPTS = CLIENT_OPTS, TOTP_OPTS = TOTP_OPTS, join = join,
         commands = commands, order = command_order, command = command, new_client = new_client }
