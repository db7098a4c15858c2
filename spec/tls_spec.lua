-- Issue 16 item 12: TLS trust options.  `ca_file` (a PEM bundle,
-- CURLOPT_CAINFO) and `ca_path` (a directory of hashed certificates,
-- CURLOPT_CAPATH) say which CAs to trust; verification itself stays on
-- (there is no option to turn it off).  They are checked at verify.new
-- time, and every libcurl handle gets them: the single-call handle, the
-- batch engine's pool, and verify.curl_transport (client:_http).
--
-- The server is `openssl s_server -www` with a throwaway CA and a server
-- certificate for IP 127.0.0.1, all made here with the openssl command
-- line.  It answers any GET with an HTML status page (200): reaching it
-- gives a `decode` (or `http`) error, which proves the TLS handshake and
-- the certificate check passed; a failed check is a `transport` error.
local verify = require "twilio.verify"
local emulator = require "support.emulator"
local process = require "support.process"
local read_file, alive, sleep = process.read_file, process.alive, process.sleep

local shq = emulator.shell_quote
-- children run on this same Lua (lua5.4, or luajit under make spec-luajit)
local LUA = rawget(package.loaded._G, "jit") and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
local AC = "AC" .. string.rep("7", 32)
local SVC = "VA" .. string.rep("c4", 16)
local ID = "tls-user-0001"
local SID = "YF" .. string.rep("d5", 16)

local function sh(cmd)
  local p = io.popen("(" .. cmd .. ") 2>&1; echo \"rc=$?\"")
  local out = p:read("a")
  p:close()
  local rc = tonumber(out:match("rc=(%d+)%s*$"))
  return rc == 0, out
end

local function must(cmd)
  local ok, out = sh(cmd)
  if not ok then error("command failed: " .. cmd .. "\n" .. out, 2) end
  return out
end




-- A CA (cert + key) named `name` in dir.
local function make_ca(dir, name)
  must(string.format("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
    .. "-subj %s -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' "
    .. "-keyout %s -out %s", shq("/CN=twilio-verify test CA " .. name), shq(dir .. "/" .. name .. ".key"),
    shq(dir .. "/" .. name .. ".pem")))
  return dir .. "/" .. name .. ".pem"
end

-- Start s_server on a free port: ports from a random base, the next one
-- when the bind fails.  Returns pid, port.
local function start_server(dir)
  local base = 20000 + tonumber(emulator.random_hex(4), 16) % 30000
  for i = 0, 29 do
    local port = base + i * 7
    local log = dir .. "/server.log"
    os.remove(log)
    local p = io.popen(string.format("exec openssl s_server -accept 127.0.0.1:%d -cert %s -key %s -www "
      .. ">%s 2>&1 </dev/null & echo $!", port, shq(dir .. "/srv.pem"), shq(dir .. "/srv.key"), shq(log)))
    local pid = tonumber(p:read("l"))
    p:close()
    for _ = 1, 250 do -- up to ~5 s for "ACCEPT" (or the process to exit)
      local text = read_file(log) or ""
      if text:find("ACCEPT", 1, true) then return pid, port end
      if not alive(pid) then break end
      sleep(0.02)
    end
    os.execute("kill -TERM " .. pid .. " 2>/dev/null")
  end
  error("could not start openssl s_server on a free port")
end

local function stop_server(pid)
  if not pid then return end
  os.execute("kill -TERM " .. pid .. " 2>/dev/null")
  for _ = 1, 100 do
    if not alive(pid) then return end
    sleep(0.02)
  end
  os.execute("kill -KILL " .. pid .. " 2>/dev/null")
end

local function reached(v, err)
  assert.is_nil(v)
  assert.is_table(err)
  if err.kind ~= "decode" and err.kind ~= "http" then
    error("the server was not reached: " .. tostring(err.kind) .. ": " .. tostring(err.message), 2)
  end
end

local function refused(v, err)
  assert.is_nil(v)
  assert.is_table(err)
  assert.equal("transport", err.kind)
  assert.matches("certificate", err.message, 1, true)
end

local function fetch(c) return c:fetch_factor(SVC, ID, SID) end

local function batch_fetch(c)
  local res = c:batch({ { op = "fetch", service_sid = SVC, identity = ID, sid = SID },
                        { op = "fetch", service_sid = SVC, identity = ID, sid = SID } }, { concurrency = 2 })
  assert.is_table(res)
  assert.is_nil(res[2].ok)
  assert.equal(res[1].err.kind, res[2].err.kind)
  return res[1].ok, res[1].err
end

describe("TLS trust options", function()
  local dir, pid, port, ca, other_ca, hashed

  setup(function()
    assert(sh("command -v openssl"), "the openssl command line is needed (Debian package openssl)")
    dir = os.tmpname()
    os.remove(dir)
    must("mkdir -m 700 " .. shq(dir))
    ca = make_ca(dir, "ca")
    other_ca = make_ca(dir, "other")
    local ext = dir .. "/srv.ext"
    local f = assert(io.open(ext, "wb"))
    f:write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
      .. "keyUsage=critical,digitalSignature\n")
    f:close()
    must(string.format("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 "
      .. "-keyout %s -out %s", shq(dir .. "/srv.key"), shq(dir .. "/srv.csr")))
    must(string.format("openssl x509 -req -days 2 -in %s -CA %s -CAkey %s -CAcreateserial -extfile %s -out %s",
      shq(dir .. "/srv.csr"), shq(ca), shq(dir .. "/ca.key"), shq(ext), shq(dir .. "/srv.pem")))
    -- a ca_path directory: the CA under its subject hash
    hashed = dir .. "/hashed"
    must("mkdir " .. shq(hashed) .. " && cp " .. shq(ca) .. " " .. shq(hashed .. "/ca.pem"))
    if not sh("openssl rehash " .. shq(hashed)) then must("c_rehash " .. shq(hashed)) end
    pid, port = start_server(dir)
  end)

  teardown(function()
    stop_server(pid)
    if dir then os.execute("rm -rf " .. shq(dir)) end
  end)

  local function client(extra, host)
    local o = { account_sid = AC, auth_token = "tls-token", base_url = "https://" .. (host or "127.0.0.1") .. ":" .. port,
                max_retries = 0, timeout = 10, proxy = "" }
    for k, v in pairs(extra or {}) do o[k] = v end
    return assert(verify.new(o))
  end

  it("ca_file: the server is reached (single call, batch, curl_transport)", function()
    local c = client{ ca_file = ca }
    reached(fetch(c))
    reached(batch_fetch(c))
    c:close()
    c = client{ ca_file = ca, transport = verify.curl_transport }
    reached(fetch(c))
    reached(batch_fetch(c))
    c:close()
  end)

  it("without ca_file the throwaway CA is not trusted: a transport error about the certificate", function()
    local c = client()
    refused(fetch(c))
    refused(batch_fetch(c))
    c:close()
  end)

  it("ca_file replaces the trust store: another CA is refused", function()
    local c = client{ ca_file = other_ca }
    refused(fetch(c))
    refused(batch_fetch(c))
    c:close()
  end)

  it("the host name is still checked: the certificate is for 127.0.0.1, not localhost", function()
    local c = client({ ca_file = ca }, "localhost")
    local v, err = fetch(c)
    assert.is_nil(v)
    assert.equal("transport", err.kind)
    c:close()
  end)

  it("ca_path: a directory of hashed certificates (single call and batch)", function()
    local c = client{ ca_path = hashed, ca_file = other_ca } -- CAINFO + CAPATH: either may vouch
    reached(fetch(c))
    c:close()
    c = client{ ca_path = hashed }
    reached(fetch(c))
    reached(batch_fetch(c))
    c:close()
  end)

  -- libcurl's built-in defaults (Debian: the bundle and /etc/ssl/certs)
  -- would otherwise still be consulted next to ca_file: watched with
  -- strace in a child process (.ci/deps installs strace).
  it("given ca_file or ca_path, the system trust store is not read", function()
    assert.is_truthy(sh("command -v strace && strace -o /dev/null true"), "strace must run here (sh .ci/deps)")
    for _, o in ipairs{ { ca_file = other_ca }, { ca_path = hashed }, { ca_file = ca } } do
      local script, trace = dir .. "/child.lua", dir .. "/trace"
      local f = assert(io.open(script, "wb"))
      local k, v = next(o)
      f:write(string.format([[
        local verify = require "twilio.verify"
        local c = assert(verify.new{ %s = %q, account_sid = %q, auth_token = "t", base_url = %q, max_retries = 0,
                                     proxy = "" })
        local _, err = c:fetch_factor(%q, %q, %q)
        io.write(err.kind)
      ]], k, v, AC, "https://127.0.0.1:" .. port, SVC, ID, SID))
      f:close()
      -- (LeakSanitizer cannot run under ptrace: off in the traced child of `make asan`)
      local out = must(string.format("strace -f -e trace=openat,open,stat,newfstatat,lstat -o %s "
        .. "env \"ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\" LUA_PATH=%s LUA_CPATH=%s %s %s", shq(trace), shq(package.path),
        shq(package.cpath), LUA, shq(script)))
      local kinds = { ca_file = o.ca_file == other_ca and "transport" or "decode", ca_path = "decode" }
      assert.matches(kinds[k], out, 1, true)
      local text = read_file(trace) or ""
      assert.is_nil(text:find("/etc/ssl/certs", 1, true), k .. ": the system store was read")
      assert.is_nil(text:find("ca-certificates.crt", 1, true))
    end
  end)

  -- Clients of one process share libcurl's TLS session and DNS caches
  -- (curl_share): a second client resumes the session the first one got.
  -- s_server -www says on its page whether the handshake was "New" or
  -- "Reused"; the page is read through a wrapper of verify.curl_transport
  -- (the client's own libcurl handle).
  describe("TLS sessions shared between clients", function()
    local function handshake(extra, host)
      local seen
      local o = { ca_file = ca, transport = function(req, c)
        local resp, err = verify.curl_transport(req, c)
        seen = resp and resp.body
        return resp, err
      end }
      for k, v in pairs(extra or {}) do o[k] = v end
      local c = client(o, host)
      local v, err = fetch(c)
      c:close()
      return seen and seen:match("(%a+), TLSv"), v, err
    end

    it("a second client of the process resumes the first one's session", function()
      local first = handshake()
      assert.is_truthy(first == "New" or first == "Reused") -- (an earlier test may have left one)
      assert.equal("Reused", (handshake()))
      -- another credential on the same server: the same TLS session (credentials are per request)
      assert.equal("Reused", (handshake{ auth_token = "another-token" }))
    end)

    it("the single-call handle and the batch pool share it too", function()
      handshake()
      local c = client{ ca_file = ca }
      reached(batch_fetch(c)) -- the batch's handles resume: its requests succeed like the others
      c:close()
    end)

    it("never crosses trust stores or host names: a cached session does not skip verification", function()
      handshake()
      assert.equal("Reused", (handshake()))
      -- another CA, and no CA: still refused (libcurl matches sessions on the TLS configuration)
      refused(fetch(client{ ca_file = other_ca }))
      refused(fetch(client()))
      local c = client({ ca_file = other_ca, transport = verify.curl_transport })
      refused(fetch(c))
      c:close()
      -- another name for the same address: the certificate is still checked against it
      local v, err = fetch(client({ ca_file = ca }, "localhost"))
      assert.is_nil(v)
      assert.equal("transport", err.kind)
      -- and the trusted client still resumes afterwards
      assert.equal("Reused", (handshake()))
    end)
  end)

  it("bad values are refused at verify.new, naming the option", function()
    local cases = {
      { { ca_file = dir .. "/none.pem" }, "ca_file", "does not exist" },
      { { ca_file = dir }, "ca_file", "is a directory" },
      { { ca_file = "" }, "ca_file", "must not be empty" },
      { { ca_file = ca .. "\0x" }, "ca_file", "NUL" },
      { { ca_file = 1 }, "ca_file", "must be a string" },
      { { ca_path = dir .. "/none" }, "ca_path", "does not exist" },
      { { ca_path = ca }, "ca_path", "is not a directory" },
      { { ca_path = "" }, "ca_path", "must not be empty" },
      { { ca_path = true }, "ca_path", "must be a string" },
    }
    for _, case in ipairs(cases) do
      local o = { account_sid = AC, auth_token = "tls-token" }
      for k, v in pairs(case[1]) do o[k] = v end
      local c, err = verify.new(o)
      assert.is_nil(c)
      assert.equal("invalid_argument", err.kind)
      assert.equal(case[2], err.param)
      assert.matches(case[3], err.message, 1, true)
    end
  end)

  it("there is no option to turn verification off", function()
    for _, k in ipairs{ "insecure", "verify", "ssl_verify", "verify_peer", "ssl_verifypeer" } do
      local c, err = verify.new{ account_sid = AC, auth_token = "t", [k] = false }
      assert.is_nil(c)
      assert.equal(k, err.param)
    end
  end)
end)
