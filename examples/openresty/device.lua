-- examples/openresty/device.lua -- the user's phone for the push sign-in of
-- push_login.lua: a virtual Verify Push device (twilio.verify.device), which
-- speaks the wire protocol of Twilio's mobile SDKs, as a command.
--
--   device.lua enroll [FILE]   reads the answer of POST /push/enroll (JSON:
--                              identity, service_sid, access_token) from FILE
--                              or stdin, creates a push factor with a new
--                              P-256 key and verifies it by signature
--   device.lua approve         approves every pending challenge of the factor
--   device.lua deny            denies them
--   device.lua show            the factor as Verify has it
--
-- The device's state (its private key and the SIDs of its factor) is kept in
-- a file, mode 0600: TV_DEVICE_STATE or --state FILE (run.sh: the prefix
-- directory's device.state). The API is TWILIO_VERIFY_BASE_URL or
-- --base-url URL (default https://verify.twilio.com). The access token is
-- used once, to enrol, and never written or printed; the device needs no
-- account credentials.
--
-- Run with the checkout's library on the paths (LuaJIT or Lua 5.1-5.4, with
-- the C module of the same Lua), e.g.
--   LUA_PATH='lua/?.lua;;' LUA_CPATH='build-luajit/?.so;;' luajit examples/openresty/device.lua approve
-- or, against run.sh's emulator, `sh examples/openresty/run.sh device approve`.
local device = require "twilio.verify.device"
local cjson = require "cjson.safe"

local PROG = "device.lua"

local function die(msg, code)
  io.stderr:write(PROG, ": ", msg, "\n")
  os.exit(code or 1)
end

local function usage()
  die("usage: " .. PROG .. " [--base-url URL] [--state FILE] enroll [FILE] | approve | deny | show", 2)
end

-- ------------------------------------------------------------- arguments
local opts = { base_url = os.getenv("TWILIO_VERIFY_BASE_URL"), state = os.getenv("TV_DEVICE_STATE") }
local words = {}
do
  local i = 1
  while i <= #arg do
    local a = arg[i]
    if a == "--base-url" or a == "--state" then
      if not arg[i + 1] then usage() end
      opts[a == "--base-url" and "base_url" or "state"] = arg[i + 1]
      i = i + 2
    elseif a:sub(1, 2) == "--" then
      usage()
    else
      words[#words + 1] = a
      i = i + 1
    end
  end
end
if opts.base_url == "" then opts.base_url = nil end
if not opts.state or opts.state == "" then opts.state = "device.state" end

-- ------------------------------------------------------------- the state file
local function sh_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function ran(r, _, code) -- os.execute's result, in Lua 5.1 and 5.2+
  if type(r) == "number" then return r == 0 end
  return r == true and (code == nil or code == 0)
end

local STATE_KEYS = { "service_sid", "identity", "factor_sid", "credential_sid", "account_sid" }

local function save(dev)
  local pem = assert(dev:export_key())
  -- created (or truncated) with mode 0600 before the key is written to it
  if not ran(os.execute("umask 077 && : >" .. sh_quote(opts.state) .. " && chmod 600 " .. sh_quote(opts.state))) then
    die("cannot create " .. opts.state)
  end
  local f, err = io.open(opts.state, "w")
  if not f then die("cannot write " .. tostring(err)) end
  for _, k in ipairs(STATE_KEYS) do f:write(k, "=", tostring(dev[k]), "\n") end
  f:write(pem)
  f:close()
end

local function restore()
  local f = io.open(opts.state, "r")
  if not f then die("no device state in " .. opts.state .. ": enrol first (" .. PROG .. " enroll)") end
  local text = f:read("*a")
  f:close()
  local st = {}
  for k, v in text:gmatch("([%a_]+)=([^\n]*)\n") do st[k] = v end
  st.key = text:match("%-%-%-%-%-BEGIN.*$")
  for _, k in ipairs(STATE_KEYS) do
    if not st[k] or st[k] == "" then die(opts.state .. " has no " .. k) end
  end
  if not st.key then die(opts.state .. " has no key") end
  st.base_url = opts.base_url
  local dev, err = device.new(st)
  if not dev then die("cannot restore the device: " .. tostring(err)) end
  return dev
end

-- ------------------------------------------------------------- commands
local function enroll(file)
  local text
  if file and file ~= "-" then
    local f, err = io.open(file, "r")
    if not f then die("cannot read " .. tostring(err)) end
    text = f:read("*a")
    f:close()
  else
    text = io.read("*a")
  end
  local answer = cjson.decode(text or "")
  if type(answer) ~= "table" or type(answer.access_token) ~= "string" or type(answer.identity) ~= "string"
     or type(answer.service_sid) ~= "string" then
    die("expected the JSON answer of POST /push/enroll (identity, service_sid, access_token)")
  end
  local dev, err = device.new{ base_url = opts.base_url, service_sid = answer.service_sid,
                               identity = answer.identity }
  if not dev then die(tostring(err)) end
  local f, eerr = dev:enroll(answer.access_token, { friendly_name = "Demo phone" })
  answer.access_token = nil
  if not f then die("enrolment failed: " .. tostring(eerr)) end
  local v, verr = dev:verify()
  if not v then die("verification failed: " .. tostring(verr)) end
  save(dev)
  print(string.format("enrolled factor %s for %s (%s)", v.sid, dev.identity, v.status))
  dev:close()
end

local function describe(ch)
  local d = type(ch.details) == "table" and ch.details or {}
  local parts = {}
  for _, fld in ipairs(type(d.fields) == "table" and d.fields or {}) do
    parts[#parts + 1] = tostring(fld.label) .. " " .. tostring(fld.value)
  end
  local s = '"' .. tostring(d.message or "") .. '"'
  if #parts > 0 then s = s .. " (" .. table.concat(parts, ", ") .. ")" end
  return s
end

local function answer(how)
  local dev = restore()
  local list, err = dev:pending()
  if not list then die("cannot list the pending challenges: " .. tostring(err)) end
  if #list == 0 then die("no pending challenge (sign in with POST /push/login first)") end
  local failed = false
  for _, ch in ipairs(list) do
    local done, aerr = dev[how == "approved" and "approve" or "deny"](dev, ch.sid)
    if done then
      print(string.format("%s %s: %s", done.status, ch.sid, describe(ch)))
    else
      io.stderr:write(PROG, ": ", ch.sid, ": ", tostring(aerr), "\n")
      failed = true
    end
  end
  dev:close()
  if failed then os.exit(1) end
end

local function show()
  local dev = restore()
  local f, err = dev:factor()
  if not f then die(tostring(err)) end
  print(string.format("factor %s of %s: %s, %s", f.sid, dev.identity, f.factor_type, f.status))
  dev:close()
end

local cmd = words[1]
if cmd == "enroll" and #words <= 2 then enroll(words[2])
elseif cmd == "approve" and #words == 1 then answer("approved")
elseif cmd == "deny" and #words == 1 then answer("denied")
elseif cmd == "show" and #words == 1 then show()
else usage() end
