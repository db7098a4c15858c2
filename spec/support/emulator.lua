-- spec/support/emulator.lua -- start, drive and stop twilio-verify-emulator
-- from busted specs.
--
--   local emulator = require "support.emulator"
--   local e = emulator.start{ no_limits = true }     -- e.base_url, e.port, e.pid ...
--   local status, body, headers = e:request("GET", "/v2/Services/.../Factors")
--   e:fault{ action = "status", status = 503 }
--   e:stop()
--
-- The emulator binary is $TV_EMULATOR (default build/twilio-verify-emulator);
-- $TV_EMULATOR_PREFIX, when set, is put in front of the command line (e.g.
-- "valgrind --leak-check=full --log-file=/tmp/vg.%p").  HTTP goes through
-- a keep-alive client in this process (LuaSocket; see request() below),
-- JSON through lua-cjson.  Every request has a time limit, so a dead
-- emulator fails a spec instead of hanging it.

local cjson = require "cjson"

local _M = { _VERSION = "0.1.0" }
local mt = { __index = {} }
local methods = mt.__index

local io_open, io_popen, os_execute, os_remove, os_tmpname, os_getenv =
  io.open, io.popen, os.execute, os.remove, os.tmpname, os.getenv
local concat, format, tostring, type, pairs, ipairs, error = table.concat, string.format, tostring, type, pairs,
  ipairs, error

local START_TIMEOUT = tonumber(os_getenv("TV_EMULATOR_START_TIMEOUT") or "") or 30
local CURL_TIMEOUT = 60

-- ------------------------------------------------------------- helpers

local function shq(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
_M.shell_quote = shq

-- LuaSocket (Debian lua-socket) when it is there: request()'s HTTP client
-- and sleep() without a process each
local has_socket, socket = pcall(require, "socket")
local has_mime, mime = pcall(require, "mime")
if not (has_socket and has_mime) then socket = nil end

local function sleep(sec)
  if socket then socket.sleep(sec) else os_execute("sleep " .. sec) end
end

local function read_file(path)
  local f = io_open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function write_file(path, data)
  local f = assert(io_open(path, "wb"))
  f:write(data)
  f:close()
end

local function random_hex(n)
  local f = io_open("/dev/urandom", "rb")
  local raw = f and f:read(n) or tostring(os.time()) .. tostring({})
  if f then f:close() end
  local out = {}
  for i = 1, n do out[i] = format("%02x", raw:byte((i - 1) % #raw + 1)) end
  return concat(out):sub(1, n)
end
_M.random_hex = random_hex

-- Is process `pid` running (not a zombie)?  Without /proc, fall back to kill -0.
local function alive(pid)
  local stat = read_file("/proc/" .. pid .. "/stat")
  if stat then
    local state = stat:match("^%d+ %b() (%a)")
    return state ~= nil and state ~= "Z" and state ~= "X"
  end
  if read_file("/proc/self/stat") then return false end
  return os_execute("kill -0 " .. pid .. " 2>/dev/null") == true
end

local function pct(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return format("%%%02X", c:byte()) end))
end
_M.pct = pct

-- Form-encode a table: an array of {key, value} pairs (order kept) or a map
-- (keys sorted).
local function form(t)
  local parts = {}
  if t[1] ~= nil then
    for _, kv in ipairs(t) do parts[#parts + 1] = pct(kv[1]) .. "=" .. pct(kv[2]) end
  else
    local keys = {}
    for k in pairs(t) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do parts[#parts + 1] = pct(k) .. "=" .. pct(t[k]) end
  end
  return concat(parts, "&")
end
_M.form = form

-- The TOTP code of a Base32 secret at unix time t, computed by oathtool
-- (independent of the code under test).  opts: digits, step, alg.
function _M.oathtool(secret, t, opts)
  opts = opts or {}
  local cmd = format("oathtool --totp=%s --digits=%d --time-step-size=%ds --base32 -N %s %s 2>&1",
    opts.alg or "sha1", opts.digits or 6, opts.step or 30, shq("@" .. t), shq(secret))
  local p = io_popen(cmd)
  local out = p:read("*a")
  p:close()
  local code = out:match("^(%d+)%s*$")
  if not code then error("oathtool failed: " .. out, 2) end
  return code
end

-- ------------------------------------------------------------- start

local function cleanup(self)
  for _, f in ipairs(self._tmp or {}) do os_remove(f) end
  self._tmp = {}
end

function _M.start(opts)
  opts = opts or {}
  local exe = os_getenv("TV_EMULATOR") or "build/twilio-verify-emulator"
  local prefix = os_getenv("TV_EMULATOR_PREFIX") or ""
  local self = setmetatable({
    account_sid = opts.account_sid or ("AC" .. random_hex(32)),
    auth_token = opts.auth_token or ("token-" .. random_hex(24)),
    api_key = opts.api_key,
    api_secret = opts.api_secret,
    _tmp = {},
  }, mt)
  local out, err = os_tmpname(), os_tmpname()
  self._out, self._err = out, err
  self._tmp = { out, err }
  local args = { "--port", "0", "--account-sid", self.account_sid, "--auth-token", self.auth_token }
  if opts.api_key then
    args[#args + 1] = "--api-key"; args[#args + 1] = opts.api_key
    args[#args + 1] = "--api-secret"; args[#args + 1] = opts.api_secret
  end
  if opts.no_limits then args[#args + 1] = "--no-limits" end
  if opts.seed then
    local path = opts.seed
    if type(path) == "table" then
      path = os_tmpname()
      self._tmp[#self._tmp + 1] = path
      write_file(path, cjson.encode(opts.seed))
    end
    args[#args + 1] = "--seed"; args[#args + 1] = path
  end
  for _, a in ipairs(opts.args or {}) do args[#args + 1] = a end
  local quoted = {}
  for i, a in ipairs(args) do quoted[i] = shq(a) end
  -- `exec` keeps the pid of the background job that of the emulator itself
  local cmd = format("exec %s %s %s >%s 2>%s </dev/null & echo $!", prefix, shq(exe), concat(quoted, " "),
    shq(out), shq(err))
  local p = io_popen(cmd)
  self.pid = tonumber(p:read("*l"))
  p:close()
  if not self.pid then
    cleanup(self)
    error("emulator: could not start " .. exe, 2)
  end
  local deadline = os.time() + START_TIMEOUT
  while true do
    local text = read_file(out) or ""
    local port = text:match("^(%d+)\n")
    if port then
      self.port = tonumber(port)
      break
    end
    if not alive(self.pid) then
      local msg = read_file(err) or ""
      cleanup(self)
      error("emulator exited before printing its port: " .. msg, 2)
    end
    if os.time() > deadline then
      os_execute("kill -KILL " .. self.pid .. " 2>/dev/null")
      cleanup(self)
      error("emulator did not print its port within " .. START_TIMEOUT .. " s", 2)
    end
    sleep(0.02)
  end
  self.base_url = "http://127.0.0.1:" .. self.port
  return self
end

-- Stop with SIGTERM and wait for the process to go (SIGKILL after a while).
-- Returns true when it exited on SIGTERM.
function methods:stop()
  if not self.pid then return true end
  local pid = self.pid
  self.pid = nil
  self:close_connections()
  os_execute("kill -TERM " .. pid .. " 2>/dev/null")
  local clean = false
  for _ = 1, 3000 do -- up to ~60 s (valgrind is slow to exit)
    if not alive(pid) then
      clean = true
      break
    end
    sleep(0.02)
  end
  if not clean then os_execute("kill -KILL " .. pid .. " 2>/dev/null") end
  self.stderr = read_file(self._err)
  cleanup(self)
  return clean
end

-- A twilio.verify client for this emulator (credentials and base URL filled
-- in); `extra` adds or overrides options.
function methods:client(extra)
  local o = { account_sid = self.account_sid, auth_token = self.auth_token, base_url = self.base_url }
  for k, v in pairs(extra or {}) do o[k] = v end
  return assert(require("twilio.verify").new(o))
end

function methods:alive()
  return self.pid ~= nil and alive(self.pid)
end

mt.__gc = function(self) if self.pid then self:stop() end end
mt.__close = mt.__gc

-- ------------------------------------------------------------- HTTP

local function parse_headers(text)
  -- keep the last header block (after 100 Continue and the like)
  local blocks = {}
  for block in (text or ""):gsub("\r", ""):gmatch("(HTTP/[^\n]*\n.-)\n\n") do blocks[#blocks + 1] = block end
  local h, status_line = {}, nil
  local last = blocks[#blocks]
  if last then
    for line in last:gmatch("[^\n]+") do
      if not status_line then
        status_line = line
      else
        local k, v = line:match("^([^:]+):%s*(.-)%s*$")
        if k then h[k:lower()] = v end
      end
    end
  end
  return h
end

-- Raw HTTP request.  body: string (sent as is) or table (form-encoded).
-- headers: table of name -> value; Authorization defaults to Basic with
-- the emulator's credentials (false: none).  Content-Type defaults to form
-- encoding when there is a body.
-- Returns status (0 when no response), body, headers (lower-case names),
-- info { curl_exit, error, time_starttransfer, time_total, num_connects }.
--
-- http:// URLs go through an HTTP/1.1 client in this process (LuaSocket,
-- Debian's lua-socket, which .ci/deps installs) that keeps one connection
-- per host:port alive between requests: no process per request, which is
-- what made the specs that drive the emulator directly slow.  It shares no
-- code with the library under test (the emulator stays an independent
-- oracle).  info.curl_exit keeps curl's exit codes for what happened (0,
-- 7 refused, 18 body cut short, 28 timeout, 52 nothing answered, 56 a
-- receive error), num_connects is 1 when the request opened a connection
-- and 0 when it reused one.  Anything else (https://, or no LuaSocket)
-- goes through the curl command-line tool as before.

local function curl_request(self, method, url, body, headers, opts)
  local outf, hdrf, inf = os_tmpname(), os_tmpname(), nil
  local parts = { "curl", "-sS", "-g", "--max-time", tostring(opts.timeout or CURL_TIMEOUT), "-X", shq(method), "-o",
    shq(outf), "-D", shq(hdrf), "-H", "'Expect:'",
    "-w", shq("%{http_code} %{time_starttransfer} %{time_total} %{num_connects}") }
  if headers.Authorization == nil then
    parts[#parts + 1] = "-u"
    parts[#parts + 1] = shq(self.account_sid .. ":" .. self.auth_token)
  end
  for k, v in pairs(headers) do
    if v ~= false then
      parts[#parts + 1] = "-H"
      parts[#parts + 1] = shq(k .. ": " .. v)
    end
  end
  if body ~= nil then
    inf = os_tmpname()
    write_file(inf, body)
    if headers["Content-Type"] == nil then
      parts[#parts + 1] = "-H"
      parts[#parts + 1] = "'Content-Type: application/x-www-form-urlencoded'"
    end
    parts[#parts + 1] = "--data-binary"
    parts[#parts + 1] = shq("@" .. inf)
  end
  parts[#parts + 1] = shq(url)
  local p = io_popen(concat(parts, " ") .. " 2>&1; echo \" $?\"")
  local out = p:read("*a")
  p:close()
  local resp_body = read_file(outf) or ""
  local resp_headers = parse_headers(read_file(hdrf))
  os_remove(outf)
  os_remove(hdrf)
  if inf then os_remove(inf) end
  local code, t1, t2, nc, rc = out:match("(%d%d%d) ([%d%.]+) ([%d%.]+) (%d+)%s+(%d+)%s*$")
  local info = { curl_exit = tonumber(rc), time_starttransfer = tonumber(t1), time_total = tonumber(t2),
                 num_connects = tonumber(nc) }
  if not code then info.curl_exit = tonumber(out:match("(%d+)%s*$")) end
  if info.curl_exit ~= 0 then info.error = out end
  return tonumber(code) or 0, resp_body, resp_headers, info
end

local IDLE_MAX = 60 -- s; the emulator closes a connection idle for 120 s

local function b64(s) return (mime.b64(s)) end

-- A connection of self's pool to host:port that is still open (nothing to
-- read on an idle connection: readable means the server closed it), or a
-- new one.  Returns sock, connects (0 or 1) | nil, curl_exit, message.
local function connection(self, host, port, deadline)
  local key = host .. ":" .. port
  self._conns = self._conns or {}
  local c = self._conns[key]
  if c then
    self._conns[key] = nil
    local readable = socket.select({ c.sock }, nil, 0)
    if #readable == 0 and socket.gettime() - c.used < IDLE_MAX then return c.sock, 0 end
    c.sock:close()
  end
  local sock = socket.tcp()
  sock:settimeout(math.max(deadline - socket.gettime(), 0.001))
  local ok, err = sock:connect(host, port)
  if not ok then
    sock:close()
    return nil, err == "timeout" and 28 or 7, "Failed to connect to " .. key .. ": " .. tostring(err)
  end
  sock:setoption("tcp-nodelay", true)
  return sock, 1
end

local function socket_request(self, method, host, port, target, body, headers, opts)
  local t0 = socket.gettime()
  local deadline = t0 + (opts.timeout or CURL_TIMEOUT)
  local info = { curl_exit = 0, num_connects = 0 }
  local function finish(status, rbody, rh, code, msg, sock, keep)
    local now = socket.gettime()
    info.time_total = now - t0
    info.time_starttransfer = info.time_starttransfer or 0
    if code ~= 0 then
      info.curl_exit, info.error = code, msg
    end
    if sock then
      if keep and code == 0 then
        self._conns[host .. ":" .. port] = { sock = sock, used = now }
      else
        sock:close()
      end
    end
    return status, rbody, rh, info
  end
  local sock, nc, why = connection(self, host, port, deadline)
  if not sock then return finish(0, "", {}, nc, why) end
  info.num_connects = nc
  local lines = { method .. " " .. target .. " HTTP/1.1" }
  local given = {}
  for k, v in pairs(headers) do given[k:lower()] = v end
  local function add(k, v) if given[k:lower()] == nil then lines[#lines + 1] = k .. ": " .. v end end
  add("Host", (port == 80) and host or (host .. ":" .. port))
  if headers.Authorization == nil then add("Authorization", "Basic " .. b64(self.account_sid .. ":" .. self.auth_token)) end
  add("User-Agent", "spec-support-emulator/1.0")
  add("Accept", "*/*")
  if body ~= nil then
    add("Content-Type", "application/x-www-form-urlencoded")
    add("Content-Length", tostring(#body))
  end
  for k, v in pairs(headers) do
    if v ~= false then lines[#lines + 1] = k .. ": " .. tostring(v) end
  end
  local req = concat(lines, "\r\n") .. "\r\n\r\n" .. (body or "")

  local function left() return math.max(deadline - socket.gettime(), 0.001) end
  sock:settimeout(left())
  local sent, serr = sock:send(req)
  if not sent then
    return finish(0, "", {}, serr == "timeout" and 28 or 55, "Failed sending data to the peer: " .. tostring(serr),
      sock, false)
  end
  -- status line and headers, past any 1xx block
  local status, rh
  local got_any = false
  local function recv(pattern)
    sock:settimeout(left())
    local data, err, partial = sock:receive(pattern)
    if data and not got_any then info.time_starttransfer = socket.gettime() - t0 end
    if data or (partial and partial ~= "") then got_any = true end
    return data, err, partial
  end
  local function recv_error(err, what)
    if err == "timeout" then return 28, "Operation timed out (" .. what .. ")" end
    if not got_any then return err == "closed" and 52 or 56, "Empty reply from server (" .. tostring(err) .. ")" end
    return 56, "Failure when receiving data from the peer (" .. what .. ": " .. tostring(err) .. ")"
  end
  local version
  while true do
    local line, err = recv("*l")
    if not line then
      local code, msg = recv_error(err, "status line")
      return finish(0, "", {}, code, msg, sock, false)
    end
    local v, code = line:match("^HTTP/(%d%.%d) (%d%d%d)")
    if not code then return finish(0, "", {}, 8, "Weird server reply: " .. line, sock, false) end
    version, status, rh = v, tonumber(code), {}
    while true do
      local hl, herr = recv("*l")
      if not hl then
        local c, msg = recv_error(herr, "headers")
        return finish(status, "", rh, c, msg, sock, false)
      end
      if hl == "" then break end
      local k, val = hl:match("^([^:]+):%s*(.-)%s*$")
      if k then rh[k:lower()] = val end
    end
    if status >= 200 or status == 101 then break end
  end
  -- the body: none, Content-Length bytes, chunked, or up to the close
  local keep = version == "1.1" and not (rh.connection or ""):lower():find("close", 1, true)
  local cl = tonumber(rh["content-length"] or "")
  local te = (rh["transfer-encoding"] or ""):lower()
  if method == "HEAD" or status == 204 or status == 304 then
    return finish(status, "", rh, 0, nil, sock, keep)
  elseif te:find("chunked", 1, true) then
    local parts = {}
    while true do
      local szl, err = recv("*l")
      if not szl then
        local code, msg = recv_error(err, "chunk size")
        return finish(status, concat(parts), rh, code == 56 and 18 or code, msg, sock, false)
      end
      local n = tonumber(szl:match("^%x+"), 16)
      if not n then return finish(status, concat(parts), rh, 56, "bad chunk size: " .. szl, sock, false) end
      if n == 0 then
        repeat local tl = recv("*l") until not tl or tl == ""
        return finish(status, concat(parts), rh, 0, nil, sock, keep)
      end
      local data, derr, partial = recv(n)
      if not data then
        parts[#parts + 1] = partial or ""
        local code, msg = recv_error(derr, "chunk")
        return finish(status, concat(parts), rh, code == 56 and 18 or code, msg, sock, false)
      end
      parts[#parts + 1] = data
      recv("*l")
    end
  elseif cl then
    if cl == 0 then return finish(status, "", rh, 0, nil, sock, keep) end
    local data, err, partial = recv(cl)
    if not data then
      local code, msg = recv_error(err, "body")
      if code ~= 28 then
        code, msg = 18, "transfer closed with " .. (cl - #(partial or "")) .. " bytes remaining to read"
      end
      return finish(status, partial or "", rh, code, msg, sock, false)
    end
    return finish(status, data, rh, 0, nil, sock, keep)
  else
    local data, err, partial = recv("*a")
    if not data and err ~= "closed" then
      local code, msg = recv_error(err, "body")
      return finish(status, partial or "", rh, code, msg, sock, false)
    end
    return finish(status, data or partial or "", rh, 0, nil, sock, false)
  end
end

function methods:request(method, path, body, headers, opts)
  headers = headers or {}
  opts = opts or {}
  local url = path:match("^https?://") and path or (self.base_url .. path)
  if type(body) == "table" then body = form(body) end
  local host, port, target
  if socket then
    local authority, rest = url:match("^http://([^/?#]+)(.*)$")
    if authority then
      host, port = authority:match("^(%d+%.%d+%.%d+%.%d+):(%d+)$")
      if not host then host, port = authority:match("^([%w%.%-]+):(%d+)$") end
      if not host and authority:match("^[%w%.%-]+$") then host, port = authority, 80 end
      target = rest:gsub("#.*$", "")
      if target == "" or target:sub(1, 1) == "?" then target = "/" .. target end
    end
  end
  if host then return socket_request(self, method, host, tonumber(port), target, body, headers, opts) end
  return curl_request(self, method, url, body, headers, opts)
end

-- Close the kept-alive connections (stop() does it too).
function methods:close_connections()
  for k, c in pairs(self._conns or {}) do
    c.sock:close()
    self._conns[k] = nil
  end
end

-- request() + JSON decoding of the body (nil when it is not JSON).
function methods:json(method, path, body, headers, opts)
  local status, text, h, info = self:request(method, path, body, headers, opts)
  local ok, decoded = pcall(cjson.decode, text)
  return status, ok and decoded or nil, h, info, text
end

-- n identical requests at once (one curl process each); returns the wall
-- time in seconds and the list of statuses.
function methods:concurrent(n, method, path)
  local url = self.base_url .. path
  local cmd = { "start=$(date +%s%N)" }
  for i = 1, n do
    cmd[#cmd + 1] = format("curl -s -o /dev/null --max-time %d -X %s -u %s -w '%%{http_code}\\n' %s > %s.%d &",
      CURL_TIMEOUT, shq(method), shq(self.account_sid .. ":" .. self.auth_token), shq(url), "$tmp", i)
  end
  cmd[#cmd + 1] = "wait; end=$(date +%s%N); echo $(( (end - start) / 1000000 ))"
  for i = 1, n do cmd[#cmd + 1] = format("cat %s.%d; rm -f %s.%d", "$tmp", i, "$tmp", i) end
  local tmp = os_tmpname()
  local p = io_popen("tmp=" .. shq(tmp) .. "; " .. concat(cmd, "\n"))
  local out = p:read("*a")
  p:close()
  os_remove(tmp)
  local lines = {}
  for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
  local ms = tonumber(table.remove(lines, 1))
  local statuses = {}
  for i, l in ipairs(lines) do statuses[i] = tonumber(l) end
  return ms / 1000, statuses
end

-- ------------------------------------------------------------- control API

local function control(self, method, path, payload)
  local body = payload
  if type(payload) == "table" then body = cjson.encode(payload) end
  local status, text = self:request(method, "/__emulator/" .. path, body,
    { Authorization = false, ["Content-Type"] = body and "application/json" or nil })
  if status < 200 or status > 299 then
    error(format("emulator control %s %s failed: %d %s", method, path, status, text), 3)
  end
  if text == "" then return true end
  return cjson.decode(text)
end

function methods:reset() return control(self, "POST", "reset") end
function methods:stats() return control(self, "GET", "stats") end
function methods:requests() return control(self, "GET", "requests").requests end
function methods:clear_requests() return control(self, "DELETE", "requests") end

function methods:last_request()
  local r = self:requests()
  return r[#r]
end

-- Queue one fault (a table, see doc/emulator.md) / several.
function methods:fault(f) return control(self, "POST", "faults", { faults = { f } }) end
function methods:faults(list)
  if #list == 0 then return control(self, "POST", "faults", '{"faults":[]}') end
  return control(self, "POST", "faults", { faults = list })
end
function methods:pending_faults() return control(self, "GET", "faults").faults end
function methods:clear_faults() return control(self, "DELETE", "faults") end

-- Fix the emulator clock at unix time t (nil: back to real time).
function methods:set_clock(t)
  return control(self, "POST", "clock", { time = t == nil and cjson.null or t })
end

-- /v2/Services/{svc}/Entities/{identity}/Factors[/{sid}]
function _M.factors_path(svc, identity, sid)
  local p = "/v2/Services/" .. svc .. "/Entities/" .. identity .. "/Factors"
  if sid then p = p .. "/" .. sid end
  return p
end

return _M
