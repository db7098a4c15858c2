-- twilio.verify.cli.emulator -- `twilio-verify emulator`: find
-- twilio-verify-emulator and run it so that stopping this command stops it.
local io, os = io, os
local ipairs, tostring, tonumber = ipairs, tostring, tonumber
local pcall, require = pcall, require
local concat = table.concat
local C = require "twilio.verify.cli.common"
local out = require "twilio.verify.cli.output"
local reg = require "twilio.verify.cli.commands"
local help = require "twilio.verify.cli.help"
local S, PROG, EXIT_OK, EXIT_API, getenv, file_exists = C.state, C.PROG, C.EXIT_OK, C.EXIT_API, C.getenv,
  C.file_exists
local say, command, commands = out.say, reg.command, reg.commands
local command_help = help.command

-- The emulator binary: $TWILIO_VERIFY_EMULATOR, next to this script (make
-- install), the checkout's build/, then $PATH.
local function find_emulator()
  local env = getenv("TWILIO_VERIFY_EMULATOR")
  if env then
    if file_exists(env) then return env end
    return nil, "TWILIO_VERIFY_EMULATOR=" .. env .. " does not exist"
  end
  local here = S.script_dir
  for _, p in ipairs({ here .. "/twilio-verify-emulator", here .. "/../build/twilio-verify-emulator" }) do
    if file_exists(p) then return p end
  end
  for dir in (os.getenv("PATH") or ""):gmatch("[^:]+") do
    local p = dir .. "/twilio-verify-emulator"
    if file_exists(p) then return p end
  end
  return nil
end

local function shell_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

command("emulator", {
  args = {},
  rest = "EMULATOR-OPTIONS",
  summary = "run the local emulator (arguments are passed to twilio-verify-emulator)",
  description = [[
Runs twilio-verify-emulator in the foreground; every argument after
`emulator` is passed to it unchanged.  It binds to 127.0.0.1, prints the port
it listens on as the first line of stdout, and runs until it gets SIGINT
(Ctrl-C) or SIGTERM.  Stopping this command stops the emulator too, however
it stops (SIGINT, SIGTERM, SIGKILL); the emulator's exit status becomes this
command's (130 after a SIGINT).  Its options:

  --port N              TCP port (0, the default, picks a free one)
  --account-sid AC...   basic-auth user (default AC00000000000000000000000000000000)
  --auth-token TOKEN    basic-auth password (default emulator-auth-token)
  --api-key SK... --api-secret SECRET   also accept this API key pair
  --seed FILE           preload factors from a JSON file
  --no-limits           lift the per-entity factor limits
  --verbose             log the listening address and errors on stderr

The binary is looked for in $TWILIO_VERIFY_EMULATOR, next to this command
(make install puts it there), in the checkout's build/ directory, then on
$PATH.  The rock does not build it (it needs libmicrohttpd): build it with
`make` in a checkout and `make install`, or point TWILIO_VERIFY_EMULATOR at it.
Then, in another shell:

  export TWILIO_ACCOUNT_SID=AC00000000000000000000000000000000
  export TWILIO_AUTH_TOKEN=emulator-auth-token
  export TWILIO_VERIFY_SERVICE_SID=VA00000000000000000000000000000000
  export TWILIO_VERIFY_BASE_URL=http://127.0.0.1:PORT]],
  options = {},
  examples = { PROG .. " emulator --port 8080", PROG .. " emulator --port 0 --no-limits --seed factors.json" },
})

-- Run the emulator so that stopping this command stops it.  Plain Lua can
-- neither exec nor catch SIGTERM, and os.execute (system(3)) ignores SIGINT
-- while it waits, so the emulator runs under a small shell instead:
--   * the shell's stdin is a pipe from this process (io.popen "w"); a watcher
--     reads it and sends the emulator SIGTERM on a line ("stop") or on EOF,
--     which comes whenever this process exits, however it dies (SIGTERM,
--     SIGKILL, a crash);
--   * this process waits by reading the emulator's exit status from a FIFO,
--     a read that SIGINT interrupts (lua.c's handler): then it writes "stop",
--     waits for the status and exits 130;
--   * SIGTERM / SIGHUP sent to the shell are passed on to the emulator, and
--     the emulator's own exit status is still the one reported.
local function os_ok(...)
  local r = ...
  return r == true or r == 0
end

local function supervise(exe, rest)
  local fifo = os.tmpname()
  os.remove(fifo)
  if not os_ok(os.execute("mkfifo -m 600 " .. shell_quote(fifo))) then
    io.stderr:write(PROG, ": cannot create a FIFO at ", fifo, "\n")
    return EXIT_API
  end
  -- O_RDWR: opening a FIFO so does not wait for a writer (Linux, the BSDs)
  local status = io.open(fifo, "r+")
  if not status then
    os.remove(fifo)
    io.stderr:write(PROG, ": cannot open the FIFO ", fifo, "\n")
    return EXIT_API
  end
  local script = concat({
    "trap '' INT",                   -- SIGINT reaches this process's Lua; it says "stop"
    "exec 4<&0 </dev/null",
    shell_quote(exe) .. " " .. concat(rest, " ") .. " 4<&- &",
    "emu=$!",
    "{ read -r _ <&4; kill -TERM \"$emu\" 2>/dev/null; } &",
    "watch=$!",
    "exec 4<&-",
    -- a trapped signal ends `wait` early with 128+signal: wait again for the
    -- real status (the shell may have reaped the emulator already, so not
    -- `kill -0`; 127 means that status was reported by the wait before)
    "sig=0",
    "trap 'sig=1; kill -TERM \"$emu\" 2>/dev/null' TERM HUP",
    "wait \"$emu\"; st=$?",
    "while [ \"$sig\" = 1 ]; do sig=0; wait \"$emu\"; s=$?; [ \"$s\" = 127 ] || st=$s; done",
    "kill \"$watch\" 2>/dev/null",
    "printf '%s\\n' \"$st\" 1<>" .. shell_quote(fifo),
    "rm -f " .. shell_quote(fifo), -- also when this process is gone
  }, "\n")
  io.stdout:flush()
  local shell = io.popen(script, "w")
  if not shell then
    status:close()
    os.remove(fifo)
    io.stderr:write(PROG, ": cannot start a shell for the emulator\n")
    return EXIT_API
  end
  -- a Lua function around the read: lua.c raises "interrupted!" in the hook
  -- that runs when the interrupted read returns, and pcall must catch it there
  local function wait_status()
    local line = status:read("*l")
    return line
  end
  local interrupted = false
  local ok, line = pcall(wait_status)
  if not ok then
    if not tostring(line):find("interrupted", 1, true) then error(line, 0) end
    interrupted = true
    shell:write("stop\n")
    shell:flush()
    line = status:read("*l") -- a second SIGINT kills this process (the watcher still stops the emulator)
  end
  status:close()
  os.remove(fifo)
  shell:close()
  if interrupted then return 130 end
  local st = tonumber(line)
  if not st then return EXIT_API end
  return st
end

-- `emulator messages`: the outbox of a running emulator (GET
-- /__emulator/messages): every code it would have sent, as the user would
-- read it.  Its base URL is --base-url, else TWILIO_VERIFY_BASE_URL.
local json = require "twilio.verify.cli.json"
local args = require "twilio.verify.cli.args"

command("emulator messages", {
  args = {},
  summary = "print the messages a running emulator would have sent (its outbox: the codes, as users read them)",
  description = [[
Reads GET /__emulator/messages of the emulator at --base-url (default
$TWILIO_VERIFY_BASE_URL): every SMS, call, email and WhatsApp message its
verifications sent, oldest first, each with its channel, to, locale,
template and text (the code in it).  --to, --verification-sid and
--channel filter; --clear empties the outbox afterwards.  One line per
message, or --json: {"messages": [...]}.]],
  options = {
    { "base-url", value = "URL", help = "the emulator's base URL (default $TWILIO_VERIFY_BASE_URL)" },
    { "to", value = "TO", help = "only messages to this number or address" },
    { "verification-sid", value = "VE...", help = "only messages of this verification" },
    { "channel", value = "CHANNEL", help = "only messages of this channel" },
    { "last", help = "only the newest message" },
    { "clear", help = "empty the outbox after printing it" },
  },
  examples = {
    PROG .. " emulator messages --to +15551234567 --last",
    PROG .. " emulator messages --base-url http://127.0.0.1:8080 --json",
  },
})

local function pct(v) return (tostring(v):gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end)) end

local function messages(argv, first)
  local def = commands["emulator messages"]
  local o = args.parse(def, argv, first)
  if o.json then S.json = true end
  if o.help then say(command_help(def)) return EXIT_OK end
  local base = o["base-url"] or getenv("TWILIO_VERIFY_BASE_URL")
  if not base then out.die_usage("no emulator: give --base-url URL or set TWILIO_VERIFY_BASE_URL", def.name) end
  local verify = C.lib()
  -- the control API needs no credentials; the client wants some (the emulator's defaults serve)
  local client, err = verify.new{ base_url = base, account_sid = getenv("TWILIO_ACCOUNT_SID") or
    "AC00000000000000000000000000000000", auth_token = "-", max_retries = 0 }
  if not client then out.die_err(err) end
  local q = {}
  for _, k in ipairs({ "to", "verification-sid", "channel" }) do
    if o[k] then q[#q + 1] = k:gsub("-", "_") .. "=" .. pct(o[k]) end
  end
  local url = client:base_url() .. "/__emulator/messages" .. (#q > 0 and ("?" .. concat(q, "&")) or "")
  local resp, terr = client:_http({ op = "list_verification_template", url = url, timeout = 10 })
  if not resp then
    io.stderr:write(PROG, ": cannot reach the emulator at ", base, ": ", tostring(terr and terr.message), "\n")
    return EXIT_API
  end
  local ok, body = pcall(require("twilio.verify.core").json_decode, resp.body)
  if resp.status ~= 200 or not ok or type(body) ~= "table" or type(body.messages) ~= "table" then
    io.stderr:write(PROG, ": ", base, " answered ", tostring(resp.status), ": is it a twilio-verify-emulator?\n")
    return EXIT_API
  end
  local list = body.messages
  if o.last then list = { list[#list] } end
  if S.json then
    say(json.encode({ messages = json.array(list) }))
  else
    for _, m in ipairs(list) do
      say(("%s  %-8s %-20s %-6s %s"):format(tostring(m.date_created), tostring(m.channel), tostring(m.to),
        tostring(m.locale), tostring(m.body)))
    end
    if #list == 0 then say("(no messages)") end
  end
  if o.clear then
    client:_http({ op = "delete_safelist", url = client:base_url() .. "/__emulator/messages", timeout = 10 })
  end
  client:close()
  return EXIT_OK
end

local function run_emulator(argv, first)
  if argv[first] == "messages" then return messages(argv, first + 1) end
  local rest = {}
  for i = first, #argv do
    if argv[i] == "--help" or argv[i] == "-h" then
      say(command_help(commands.emulator))
      return EXIT_OK
    end
    rest[#rest + 1] = shell_quote(argv[i])
  end
  local exe, why = find_emulator()
  if not exe then
    io.stderr:write(PROG, ": ", why or "twilio-verify-emulator not found (set TWILIO_VERIFY_EMULATOR, or run "
      .. "`make` in a checkout)", "; see '", PROG, " emulator --help'\n")
    return EXIT_API
  end
  return supervise(exe, rest)
end

return { run = run_emulator }
