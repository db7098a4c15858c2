-- The twilio-verify command (bin/twilio-verify), run as a process against the
-- emulator: help texts, every subcommand, table and --json output, exit
-- statuses (0 ok, 1 API/transport, 2 usage, 3 check failed), and that the
-- auth token never shows in anything it prints.
--
-- The command is a Lua 5.4 script that finds lua/ and build/ next to itself
-- (LUA_PATH / LUA_CPATH are removed from its environment, except in the test
-- of the README's way).  This file also runs when the suite runs on another
-- interpreter (make spec-luajit); it needs the Lua 5.4 build/ then, and is
-- skipped without it.
local cjson = require "cjson"
local emulator = require "support.emulator"

if _VERSION ~= "Lua 5.4" and not io.open("build/twilio/verify/core.so") then return end
local unpack = table.unpack or unpack

local CLI = "bin/twilio-verify"
local SVC = "VA" .. string.rep("c1", 16)
local RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" -- RFC 6238 SHA-1 key
local shq = emulator.shell_quote
local _ -- the ignored stdout of some runs
local YF0, YC0, VA0 = "YF" .. string.rep("0", 32), "YC" .. string.rep("0", 32), "VA" .. string.rep("0", 32)

-- every command the CLI has (the entities, challenges and services ones are
-- made from the operation table)
local COMMANDS = { "factors list", "factors fetch", "factors update", "factors delete", "factors create",
                   "entities create", "entities fetch", "entities list", "entities delete",
                   "challenges create", "challenges fetch", "challenges list", "challenges update",
                   "services create", "services fetch", "services list", "services update", "services delete",
                   "access-tokens create", "access-tokens fetch", "notifications create",
                   "webhooks create", "webhooks fetch", "webhooks list", "webhooks update", "webhooks delete",
                   "passkey-factors create", "passkey-factors update", "passkey-challenges create",
                   "passkey-challenges update",
                   "sign-in", "send-code", "check-code", "totp code", "totp check", "totp uri", "webhook validate",
                   "emulator", "emulator messages" }

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("*a")
  f:close()
  return s
end

-- Everything the CLI printed in this spec file, to look for the token in.
local all_output = {}

-- run(args [, env [, stdin]]) -> exit code, stdout, stderr
-- args: a list of arguments; env: name -> value (false: unset); LUA_PATH and
-- LUA_CPATH are unset unless env gives them.
local function run(args, env, stdin)
  local parts = { "env" }
  env = env or {}
  for _, k in ipairs{ "LUA_PATH", "LUA_CPATH", "LUA_PATH_5_4", "LUA_CPATH_5_4" } do
    if env[k] == nil then parts[#parts + 1] = "-u " .. k end
  end
  for k, v in pairs(env or {}) do -- env wants every -u before the assignments
    if v == false then parts[#parts + 1] = "-u " .. k end
  end
  for k, v in pairs(env or {}) do
    if v ~= false then parts[#parts + 1] = shq(k .. "=" .. v) end
  end
  parts[#parts + 1] = CLI
  for _, a in ipairs(args) do parts[#parts + 1] = shq(a) end
  local errf, rcf, inf = os.tmpname(), os.tmpname(), nil
  local cmd = table.concat(parts, " ") .. " 2>" .. shq(errf)
  if stdin then
    inf = os.tmpname()
    local f = assert(io.open(inf, "wb"))
    f:write(stdin)
    f:close()
    cmd = cmd .. " <" .. shq(inf)
  else
    cmd = cmd .. " </dev/null"
  end
  local p = assert(io.popen(cmd .. "; echo $? >" .. shq(rcf)))
  local out = p:read("*a")
  p:close()
  local code = tonumber(read_file(rcf):match("%d+"))
  local err = read_file(errf)
  os.remove(errf)
  os.remove(rcf)
  if inf then os.remove(inf) end
  all_output[#all_output + 1] = out
  all_output[#all_output + 1] = err
  return code, out, err
end

local function json(text)
  local ok, v = pcall(cjson.decode, text)
  assert(ok, "not JSON: " .. tostring(text))
  return v
end

local function lines(s)
  local t = {}
  for l in s:gmatch("[^\n]+") do t[#t + 1] = l end
  return t
end

describe("twilio-verify CLI", function()
  local e, env

  setup(function()
    e = emulator.start{}
    env = {
      TWILIO_ACCOUNT_SID = e.account_sid,
      TWILIO_AUTH_TOKEN = e.auth_token,
      TWILIO_VERIFY_SERVICE_SID = SVC,
      TWILIO_VERIFY_BASE_URL = e.base_url,
      TWILIO_API_KEY = false,
      TWILIO_API_SECRET = false,
    }
  end)
  teardown(function()
    if e then e:stop() end
  end)

  local function with(extra)
    local t = {}
    for k, v in pairs(env) do t[k] = v end
    for k, v in pairs(extra or {}) do t[k] = v end
    return t
  end

  local n = 0
  local function identity()
    n = n + 1
    return ("cli-user-%04d"):format(n)
  end

  local function create(id, name, extra)
    local args = { "factors", "create", id, "--factor-type", "totp", "--friendly-name", name or "phone", "--json" }
    for _, a in ipairs(extra or {}) do args[#args + 1] = a end
    local code, out, err = run(args, env)
    assert.equal(0, code, err)
    return json(out)
  end

  describe("help", function()
    it("prints the overview with every command and the exit statuses", function()
      local code, out, err = run({ "--help" })
      assert.equal(0, code)
      assert.equal("", err)
      assert.matches("^Usage: twilio%-verify", out)
      for _, c in ipairs(COMMANDS) do
        assert.truthy(out:find("  " .. c .. " ", 1, true), c)
      end
      assert.truthy(out:find("Exit status:", 1, true))
      assert.truthy(out:find("TWILIO_VERIFY_SERVICE_SID", 1, true))
    end)

    it("has --help for every command (and `help COMMAND`)", function()
      for _, c in ipairs(COMMANDS) do
        local args = {}
        for w in c:gmatch("%S+") do args[#args + 1] = w end
        args[#args + 1] = "--help"
        local code, out = run(args)
        assert.equal(0, code, c)
        assert.matches("^Usage: twilio%-verify " .. c:gsub("%-", "%%-"), out)
        -- the environment and exit-status blocks are in the top-level help only
        assert.is_nil(out:find("Exit status:", 1, true), c)
        assert.is_nil(out:find("\nEnvironment:", 1, true), c)
        assert.truthy(out:find("Environment variables and exit statuses: see 'twilio-verify --help'.", 1, true), c)
        local hcode, hout = run({ "help", unpack(args, 1, #args - 1) })
        assert.equal(0, hcode)
        assert.equal(out, hout)
      end
      local code, out = run({ "factors", "list", "-h" })
      assert.equal(0, code)
      assert.truthy(out:find("--limit N", 1, true))
      assert.truthy(out:find("--page-token TOKEN", 1, true))
      code, out = run({ "factors", "--help" })
      assert.equal(0, code)
      assert.truthy(out:find("create", 1, true))
      code, out = run({ "totp", "--help" })
      assert.equal(0, code)
      assert.truthy(out:find("check", 1, true))
      for _, g in ipairs{ "entities", "challenges", "services" } do
        code, out = run({ g, "--help" })
        assert.equal(0, code, g)
        assert.matches("^Usage: twilio%-verify " .. g .. " COMMAND", out)
        assert.truthy(out:find("\n  list ", 1, true), g)
        local hcode, hout = run({ "help", g })
        assert.equal(0, hcode)
        assert.equal(out, hout)
      end
      code, out = run({ "sign-in", "--help" })
      assert.equal(0, code)
      assert.truthy(out:find("Usage: twilio-verify sign-in [options] IDENTITY FACTOR_SID CODE", 1, true))
      assert.truthy(out:find("TWILIO_VERIFY_SERVICE_SID", 1, true))
    end)

    it("has a command per row of the operation table, and an option per parameter", function()
      local ops = require("twilio.verify").operations
      local plural = {}
      for _, op in ipairs(ops) do if op.list_key then plural[op.resource] = op.list_key end end
      local seen = 0
      for _, op in ipairs(ops) do
        if op.resource ~= "factor" then
          seen = seen + 1
          -- the group: the data's cli_group (by default the list's key, else the resource + "s", with dashes:
          -- access-tokens)
          local r = require("twilio.verify").resources[op.resource]
          local group = (r and r.group) or (plural[op.resource] or (op.resource .. "s")):gsub("_", "-")
          local name = group .. " " .. op.verb
          local code, out = run({ group, op.verb, "--help" })
          assert.equal(0, code, name)
          local usage = out:match("^Usage: ([^\n]*)")
          for _, pp in ipairs(op.path_params) do
            if not (pp.name == "service_sid" and op.resource ~= "service") then
              assert.truthy(usage:find(" " .. pp.name:upper(), 1, true), name .. ": " .. pp.name)
            end
          end
          -- a JSON body's members: --body FILE and an option per member that
          -- is not an object, by its path (config.relying_party.id:
          -- --config-relying-party-id, rawId: --raw-id)
          local function members(params, prefix)
            for _, p in ipairs(params) do
              local path = prefix .. (prefix == "" and "" or "-") .. p.key:gsub("(%l)(%u)", "%1-%2"):lower():gsub("_", "-")
              if p.positional then
                assert.truthy(usage:find(" " .. p.name:upper(), 1, true), name .. ": " .. p.name)
              elseif p.type == "object" then
                members(p.fields, path)
              else
                if p.array then path = path:gsub("s$", "") end
                assert.truthy(out:find("  --" .. path .. " ", 1, true), name .. ": --" .. path)
              end
            end
          end
          if op.body == "json" then
            assert.truthy(out:find("  --body FILE ", 1, true), name .. ": --body")
            members(op.params, "")
          end
          for _, p in ipairs(op.body ~= "json" and op.params or {}) do
            if p.positional then
              assert.truthy(usage:find(" " .. p.name:upper(), 1, true), name .. ": " .. p.name)
            elseif not (op.returns == "page" and p.key == "Page") then
              local opt = p.name:gsub("_", "-")
              if p.array then opt = opt:gsub("s$", "") end
              if p.type == "boolean" then opt = "[no-]" .. opt end
              assert.truthy(out:find("  --" .. opt .. " ", 1, true), name .. ": --" .. opt)
            end
          end
          local uses_service = false
          for _, pp in ipairs(op.path_params) do
            if pp.name == "service_sid" then uses_service = true end
          end
          assert.equal(uses_service, out:find("--service VA...", 1, true) ~= nil, name)
        end
      end
      assert.is_true(seen >= 13)
    end)

    it("runs from the checkout with the README's LUA_PATH / LUA_CPATH, and from elsewhere", function()
      local code, out, err = run({ "totp", "code", RFC_SECRET, "--time", "59" },
        { LUA_PATH = "lua/?.lua;;", LUA_CPATH = "build/?.so;;" })
      assert.equal(0, code, err)
      assert.equal("287082\n", out)
      local here = assert(io.popen("pwd")):read("*l")
      local p = assert(io.popen("cd / && env -u LUA_PATH -u LUA_CPATH " .. shq(here .. "/" .. CLI)
        .. " totp code " .. RFC_SECRET .. " --time 59 2>&1"))
      out = p:read("*a")
      p:close()
      assert.equal("287082\n", out)
    end)

    it("prints the version", function()
      local code, out = run({ "--version" })
      assert.equal(0, code)
      assert.matches("^twilio%-verify %d+%.%d+%.%d+ %(Lua 5%.4, libcurl", out)
    end)
  end)

  describe("usage errors exit 2", function()
    local cases = {
      { {}, "Usage:" },
      { { "frobnicate" }, "unknown command 'frobnicate'" },
      { { "factors" }, "Usage: twilio-verify factors" },
      { { "factors", "lst" }, "unknown command 'factors lst'" },
      { { "factors", "list" }, "'factors list' takes IDENTITY (got 0 arguments)" },
      { { "factors", "fetch", "cli-user-0001" }, "takes IDENTITY SID" },
      { { "factors", "list", "cli-user-0001", "--bogus" }, "unknown option '--bogus'" },
      { { "factors", "list", "cli-user-0001", "--limit", "many" }, "--limit must be an integer" },
      { { "factors", "list", "cli-user-0001", "--limit" }, "--limit needs a value" },
      { { "factors", "list", "cli-user-0001", "--page=yes" }, "--page takes no value" },
      { { "factors", "update", "cli-user-0001", "YF" .. string.rep("0", 32) }, "nothing to update" },
      { { "factors", "create", "cli-user-0001", "--friendly-name", "x" }, "--factor-type is required" },
      { { "factors", "fetch", "cli-user-0001", "YFnope" }, "sid must match" },
      { { "factors", "list", "bad id!" }, "identity" },
      { { "factors", "create", "cli-user-0001", "--factor-type", "sms", "--friendly-name", "x" }, "factor_type" },
      { { "totp", "code", "not base32!" }, "not valid Base32" },
      { { "totp", "code", RFC_SECRET, "--digits", "12" }, "digits" },
      { { "totp", "uri", RFC_SECRET }, "--account is required" },
      { { "--frob" }, "unknown option '--frob'" },
      { { "entities" }, "Usage: twilio-verify entities" },
      { { "entities", "frob" }, "unknown command 'entities frob'" },
      { { "entities", "fetch" }, "'entities fetch' takes IDENTITY (got 0 arguments)" },
      { { "entities", "list", "cli-user-0001" }, "'entities list' takes no arguments (got 1 argument)" },
      { { "entities", "create", "bad id!" }, "identity" },
      { { "entities", "list", "--service", "VAnope" }, "service_sid must match" },
      { { "challenges", "create", "cli-user-0001" }, "--factor-sid is required" },
      { { "challenges", "create", "cli-user-0001", "--factor-sid", "YFnope" }, "factor_sid must match" },
      { { "challenges", "create", "cli-user-0001", "--factor-sid", YF0, "--details-field", "nolabel" },
        "option --details-field must be LABEL=VALUE or a JSON object, got 'nolabel'" },
      { { "challenges", "create", "cli-user-0001", "--factor-sid", YF0, "--hidden-details", "[1]" },
        "hidden_details must be a JSON object" },
      { { "challenges", "create", "cli-user-0001", "--factor-sid", YF0, "--expiration-date", "soon" },
        "expiration_date must be an RFC 3339 date-time" },
      { { "challenges", "create", "cli-user-0001", "--factor-sid", YF0, "--auth-payload", "1" }, "auth_payload" },
      { { "challenges", "fetch", "cli-user-0001", YF0 }, "sid must match ^YC" },
      { { "challenges", "list", "cli-user-0001", "--status", "nope" }, "status must be one of" },
      { { "challenges", "list", "cli-user-0001", "--order", "up" }, "order must be one of" },
      { { "challenges", "update", "cli-user-0001", YC0 }, "nothing to update" },
      { { "services", "create" }, "--friendly-name is required" },
      { { "services", "create", "--friendly-name", "x", "--totp-skew", "7" }, "totp_skew must be between 0 and 2" },
      { { "services", "create", "--friendly-name", "x", "--code-length", "four" }, "--code-length must be an integer" },
      { { "services", "fetch", "VAnope" }, "sid must match" },
      { { "services", "fetch", "--service", VA0 }, "unknown option '--service'" },
      { { "services", "update", VA0 }, "nothing to update" },
      { { "services", "update", VA0, "--psd2-enabled=maybe" }, "option --psd2-enabled takes true or false, got 'maybe'" },
      { { "services", "update", VA0, "--no-psd2-enabled=true" }, "option --no-psd2-enabled takes no value" },
      { { "services", "list", "--page", "--limit", "2" }, "--limit and --page do not go together" },
      { { "services", "delete" }, "'services delete' takes SID (got 0 arguments)" },
      { { "sign-in", "cli-user-0001", YF0 }, "'sign-in' takes IDENTITY FACTOR_SID CODE (got 2 arguments)" },
      { { "sign-in", "cli-user-0001", "YFnope", "123456" }, "factor_sid must match" },
      { { "sign-in", "cli-user-0001", YF0, "1" }, "auth_payload must be between 3 and 8 characters" },
    }
    for _, c in ipairs(cases) do
      it(table.concat(c[1], " "), function()
        local code, out, err = run(c[1], env)
        assert.equal(2, code)
        assert.equal("", out)
        assert.truthy(err:find(c[2], 1, true), err)
      end)
    end

    it("sends nothing for a usage error of the new commands", function()
      e:clear_requests()
      for _, args in ipairs{ { "challenges", "create", "cli-user-0001", "--factor-sid", "YFnope" },
                             { "services", "update", VA0 }, { "sign-in", "cli-user-0001", YF0, "1" } } do
        assert.equal(2, (run(args, env)))
      end
      assert.same({}, e:requests())
    end)

    it("needs a service SID and credentials", function()
      local code, _, err = run({ "factors", "list", "cli-user-0001" }, with{ TWILIO_VERIFY_SERVICE_SID = false })
      assert.equal(2, code)
      assert.truthy(err:find("TWILIO_VERIFY_SERVICE_SID", 1, true))
      code, _, err = run({ "factors", "list", "cli-user-0001" }, with{ TWILIO_AUTH_TOKEN = false })
      assert.equal(2, code)
      assert.truthy(err:find("auth_token", 1, true))
      code, _, err = run({ "factors", "list", "cli-user-0001" }, with{ TWILIO_ACCOUNT_SID = false })
      assert.equal(2, code)
      assert.truthy(err:find("account_sid", 1, true))
      for _, args in ipairs{ { "entities", "list" }, { "challenges", "list", "cli-user-0001" },
                             { "sign-in", "cli-user-0001", YF0, "123456" } } do
        code, _, err = run(args, with{ TWILIO_VERIFY_SERVICE_SID = false })
        assert.equal(2, code, args[1])
        assert.truthy(err:find("TWILIO_VERIFY_SERVICE_SID", 1, true), args[1])
      end
      code, _, err = run({ "services", "list" }, with{ TWILIO_AUTH_TOKEN = false })
      assert.equal(2, code)
      assert.truthy(err:find("auth_token", 1, true))
    end)

    it("reports usage errors as JSON with --json", function()
      local code, out, err = run({ "--json", "factors", "list" }, env)
      assert.equal(2, code)
      assert.equal("", out)
      local j = json(err)
      assert.equal("usage", j.error.kind)
      code, out, err = run({ "factors", "fetch", "cli-user-0001", "YFnope", "--json" }, env)
      assert.equal(2, code)
      assert.equal("", out)
      j = json(err)
      assert.equal("invalid_argument", j.error.kind)
      assert.equal("sid", j.error.param)
    end)
  end)

  describe("factors", function()
    it("creates a TOTP factor (table and JSON output)", function()
      local id = identity()
      local code, out, err = run({ "factors", "create", id, "--factor-type", "totp", "--friendly-name", "Ann's phone",
                                   "--config-code-length", "8", "--metadata", '{"os":"Android"}' }, env)
      assert.equal(0, code, err)
      assert.matches("\nfriendly_name%s+Ann's phone\n", "\n" .. out)
      assert.matches("\nconfig%.code_length%s+8\n", "\n" .. out)
      assert.matches("\nmetadata%.os%s+Android\n", "\n" .. out)
      assert.matches("\nbinding%.uri%s+otpauth://totp/", "\n" .. out)
      local f = create(id, "second", { "--binding-secret", RFC_SECRET })
      assert.equal("totp", f.factor_type)
      assert.equal("unverified", f.status)
      assert.equal(RFC_SECRET, f.binding.secret)
      assert.equal(id, f.identity)
      assert.equal(SVC, f.service_sid)
      assert.matches("^YF%x+$", f.sid)
      local req = e:last_request()
      assert.equal("POST", req.method)
      assert.same({ "FriendlyName", "second" }, req.form[1])
    end)

    it("lists every factor by default, with a table", function()
      local id = identity()
      for i = 1, 3 do create(id, "phone " .. i) end
      local code, out, err = run({ "factors", "list", id }, env)
      assert.equal(0, code, err)
      local l = lines(out)
      assert.matches("^SID%s+TYPE%s+STATUS%s+CREATED%s+NAME$", l[1])
      assert.matches("^YF%x+%s+totp%s+unverified%s+%d+%-%d+%-%d+T[%d:]+Z%s+phone 1$", l[2])
      assert.matches("phone 3$", l[4])
      assert.equal("(3 factors)", l[5])
    end)

    it("uses the lazy iterator for --limit (page size from the limit, stops early)", function()
      local id = identity()
      for i = 1, 5 do create(id, "f" .. i) end
      e:clear_requests()
      local code, out, err = run({ "factors", "list", id, "--limit", "3", "--json" }, env)
      assert.equal(0, code, err)
      local j = json(out)
      assert.equal(3, #j.factors)
      assert.same({ "f1", "f2", "f3" }, { j.factors[1].friendly_name, j.factors[2].friendly_name,
                                         j.factors[3].friendly_name })
      local reqs = e:requests()
      assert.equal(1, #reqs)
      assert.equal("PageSize=3", reqs[1].query)
      e:clear_requests()
      code, out = run({ "factors", "list", id, "--limit", "5", "--page-size", "2", "--json" }, env)
      assert.equal(0, code)
      assert.equal(5, #json(out).factors)
      assert.equal(3, #e:requests()) -- pages of 2, 2 and 1
      code, out = run({ "factors", "list", id, "--limit", "0", "--json" }, env)
      assert.equal(0, code)
      assert.equal("[]", out:match('"factors":(%[%])'))
    end)

    it("prints one page with --page and resumes with --page-token", function()
      local id = identity()
      for i = 1, 5 do create(id, "p" .. i) end
      local code, out, err = run({ "factors", "list", id, "--page", "--page-size", "2", "--json" }, env)
      assert.equal(0, code, err)
      local j = json(out)
      assert.equal(2, #j.factors)
      assert.equal(0, j.meta.page)
      assert.equal(2, j.meta.page_size)
      assert.is_string(j.next_page_token)
      code, out = run({ "factors", "list", id, "--page", "--page-size", "2", "--page-token", j.next_page_token,
                        "--json" }, env)
      assert.equal(0, code)
      local j2 = json(out)
      assert.same({ "p3", "p4" }, { j2.factors[1].friendly_name, j2.factors[2].friendly_name })
      code, out = run({ "factors", "list", id, "--page-token", j.next_page_token, "--json" }, env)
      assert.equal(0, code)
      assert.equal(3, #json(out).factors) -- the iterator from that token: p3, p4, p5
      code, out = run({ "factors", "list", id, "--page", "--page-size", "2" }, env)
      assert.equal(0, code)
      assert.truthy(out:find("next page: --page-token " .. j.next_page_token, 1, true), out)
      code, _, err = run({ "factors", "list", id, "--page", "--limit", "2" }, env)
      assert.equal(2, code)
      assert.truthy(err:find("--limit and --page", 1, true))
    end)

    it("numbers the pages it prints: the hint carries --page-index, and a token alone says page ?", function()
      local id = identity()
      for i = 1, 5 do create(id, "q" .. i) end
      local code, out, err = run({ "factors", "list", id, "--page", "--page-size", "2" }, env)
      assert.equal(0, code, err)
      local tok, idx = out:match("\npage 0; next page: %-%-page%-token (%S+) %-%-page%-index (%d+)\n$")
      assert.is_not_nil(tok, out)
      assert.equal("1", idx)
      -- following the hint word for word: page 1, then page 2 (the last)
      code, out, err = run({ "factors", "list", id, "--page", "--page-size", "2", "--page-token", tok,
                             "--page-index", idx }, env)
      assert.equal(0, code, err)
      assert.truthy(out:find("q3", 1, true) and out:find("q4", 1, true), out)
      local tok2, idx2 = out:match("\npage 1; next page: %-%-page%-token (%S+) %-%-page%-index (%d+)\n$")
      assert.is_not_nil(tok2, out)
      assert.equal("2", idx2)
      code, out = run({ "factors", "list", id, "--page", "--page-size", "2", "--page-token", tok2,
                        "--page-index", idx2, "--json" }, env)
      assert.equal(0, code)
      local j = json(out)
      assert.equal(2, j.meta.page)
      assert.is_nil(j.next_page_token)
      code, out = run({ "factors", "list", id, "--page", "--page-size", "2", "--page-token", tok2,
                        "--page-index", idx2 }, env)
      assert.equal(0, code)
      assert.truthy(out:find("\npage 2; next page: none\n$"), out)
      -- a token without its index: not "page 0"
      code, out = run({ "factors", "list", id, "--page", "--page-size", "2", "--page-token", tok }, env)
      assert.equal(0, code)
      assert.truthy(out:find("\npage ? (after --page-token; give --page-index to number it); next page: "
        .. "--page-token " .. tok2 .. "\n", 1, true), out)
      -- the generic list commands do the same
      code, out, err = run({ "entities", "list", "--page", "--page-size", "1" }, env)
      assert.equal(0, code, err)
      local etok = out:match("\npage 0; next page: %-%-page%-token (%S+) %-%-page%-index 1\n$")
      assert.is_not_nil(etok, out)
      code, out = run({ "entities", "list", "--page", "--page-size", "1", "--page-token", etok,
                        "--page-index", "1" }, env)
      assert.equal(0, code)
      assert.truthy(out:find("\npage 1; next page: ", 1, true), out)
    end)

    it("its help examples are shell commands that do what they say (Ann's phone)", function()
      local code, out = run({ "factors", "create", "--help" })
      assert.equal(0, code)
      assert.is_nil(out:find("''", 1, true), out)
      local example = out:match("\n  (twilio%-verify factors create [^\n]*Ann[^\n]*)\n")
      assert.is_not_nil(example, out)
      example = example:gsub("^twilio%-verify", CLI) .. " --json"
      local parts = { "env -u LUA_PATH -u LUA_CPATH" }
      for k, v in pairs(env) do
        if v then parts[#parts + 1] = shq(k .. "=" .. v) end
      end
      local p = assert(io.popen(table.concat(parts, " ") .. " " .. example .. " 2>&1 </dev/null"))
      local got = p:read("*a")
      p:close()
      all_output[#all_output + 1] = got
      assert.equal("Ann's phone", json(got).friendly_name)
    end)

    it("lists an identity without factors as empty", function()
      local code, out = run({ "factors", "list", identity(), "--json" }, env)
      assert.equal(0, code)
      assert.same({ factors = {} }, json(out))
      code, out = run({ "factors", "list", identity() }, env)
      assert.equal(0, code)
      assert.truthy(out:find("(0 factors)", 1, true))
    end)

    it("fetches a factor", function()
      local id = identity()
      local f = create(id, "fetch me")
      local code, out, err = run({ "factors", "fetch", id, f.sid, "--json" }, env)
      assert.equal(0, code, err)
      local j = json(out)
      assert.equal(f.sid, j.sid)
      assert.equal("fetch me", j.friendly_name)
      assert.is_nil(j.binding) -- only create returns it
      code, out = run({ "factors", "fetch", id, f.sid }, env)
      assert.equal(0, code)
      assert.matches("^sid%s+" .. f.sid .. "\n", out)
    end)

    it("updates a factor, and verifies it with --auth-payload (exit 3 when wrong)", function()
      local id = identity()
      local f = create(id, "to update", { "--binding-secret", RFC_SECRET })
      local code, out, err = run({ "factors", "update", id, f.sid, "--friendly-name", "renamed",
                                   "--config-skew", "0", "--json" }, env)
      assert.equal(0, code, err)
      local j = json(out)
      assert.equal("renamed", j.friendly_name)
      assert.equal(0, j.config.skew)
      code, out, err = run({ "factors", "update", id, f.sid, "--auth-payload", "000000", "--json" }, env)
      assert.equal(3, code)
      assert.equal("unverified", json(out).status)
      assert.equal("", err) -- --json: the factor on stdout, nothing else
      code, _, err = run({ "factors", "update", id, f.sid, "--auth-payload", "000000" }, env)
      assert.equal(3, code)
      assert.truthy(err:find("not verified", 1, true))
      local _, totp = run({ "totp", "code", RFC_SECRET })
      code, out, err = run({ "factors", "update", id, f.sid, "--auth-payload", totp:match("%d+") }, env)
      assert.equal(0, code, err)
      assert.matches("\nstatus%s+verified\n", "\n" .. out)
    end)

    it("deletes a factor; a second delete is an API error (exit 1)", function()
      local id = identity()
      local f = create(id, "doomed")
      local code, out, err = run({ "factors", "delete", id, f.sid }, env)
      assert.equal(0, code, err)
      assert.equal("deleted " .. f.sid .. "\n", out)
      code, out, err = run({ "factors", "delete", id, f.sid, "--json" }, env)
      assert.equal(1, code)
      assert.equal("", out)
      local j = json(err)
      assert.equal("http", j.error.kind)
      assert.equal(404, j.error.status)
      assert.equal(20404, j.error.code)
      local g = create(id, "doomed too")
      code, out = run({ "factors", "delete", id, g.sid, "--json" }, env)
      assert.equal(0, code)
      assert.same({ deleted = true, sid = g.sid }, json(out))
    end)

    it("exits 1 on API and transport errors, with the error on stderr", function()
      local code, out, err = run({ "factors", "fetch", "cli-user-0001", "YF" .. string.rep("0", 32) }, env)
      assert.equal(1, code)
      assert.equal("", out)
      assert.matches("^twilio%-verify: http error 404 %(code 20404%)", err)
      assert.truthy(err:find("https://www.twilio.com/docs/errors/20404", 1, true))
      code, _, err = run({ "factors", "list", "cli-user-0001" }, with{ TWILIO_AUTH_TOKEN = "wrong-token-" .. n })
      assert.equal(1, code)
      assert.truthy(err:find("401", 1, true))
      code, _, err = run({ "factors", "list", "cli-user-0001", "--base-url", "http://127.0.0.1:1",
                          "--max-retries", "0", "--json" }, env)
      assert.equal(1, code)
      assert.equal("transport", json(err).error.kind)
      e:fault{ action = "delay", delay_ms = 2000, match = { op = "list" } }
      code, _, err = run({ "factors", "list", "cli-user-0001", "--timeout", "0.3" }, env)
      assert.equal(1, code)
      assert.truthy(err:find("transport error", 1, true), err)
      e:clear_faults()
    end)

    it("retries and logs attempts with --verbose (credentials redacted)", function()
      e:fault{ action = "status", status = 503, times = 1, match = { op = "list" } }
      local code, out, err = run({ "factors", "list", "cli-user-0001", "-v", "--json" }, env)
      assert.equal(0, code, err)
      json(out)
      local l = lines(err)
      assert.equal(2, #l)
      assert.matches("^GET http://127%.0%.0%.1:%d+/v2/Services/" .. SVC
        .. "/Entities/cli%-user%-0001/Factors %-> 503", l[1])
      assert.matches("%-> 200 in [%d.]+ s %(attempt 2%)$", l[2])
    end)

    it("takes --service over TWILIO_VERIFY_SERVICE_SID", function()
      local other = "VA" .. string.rep("d2", 16)
      local code, out = run({ "factors", "create", "cli-other-0001", "-s", other, "--factor-type", "totp",
                              "--friendly-name", "elsewhere", "--json" }, env)
      assert.equal(0, code)
      assert.equal(other, json(out).service_sid)
      code, out = run({ "factors", "list", "cli-other-0001", "--service=" .. other, "--json" }, env)
      assert.equal(0, code)
      assert.equal(1, #json(out).factors)
    end)

    it("uses an API key pair from the environment", function()
      local k = emulator.start{ api_key = "SK" .. string.rep("ab", 16), api_secret = "key-secret-" .. n }
      local code, out, err = run({ "factors", "list", "cli-user-0001", "--json" }, {
        TWILIO_ACCOUNT_SID = k.account_sid, TWILIO_AUTH_TOKEN = false, TWILIO_API_KEY = k.api_key,
        TWILIO_API_SECRET = k.api_secret, TWILIO_VERIFY_SERVICE_SID = SVC, TWILIO_VERIFY_BASE_URL = k.base_url })
      k:stop()
      assert.equal(0, code, err)
      assert.same({ factors = {} }, json(out))
      assert.is_nil((out .. err):find(k.api_secret, 1, true))
    end)
  end)

  describe("push commands", function()
    it("access-tokens create/fetch, webhooks create/list/update/fetch/delete", function()
      local id = identity()
      local code, out, err = run({ "access-tokens", "create", id, "--factor-type", "push", "--ttl", "120",
        "--factor-friendly-name", "Ann's phone", "--json" }, env)
      assert.equal(0, code, err)
      local at = json(out)
      assert.matches("^YK%x+$", at.sid)
      assert.equal(id, at.entity_identity)
      assert.equal(120, at.ttl)
      assert.matches("^[%w_-]+%.[%w_-]+%.[%w_-]+$", at.token) -- the JWT: what the command is for
      code, out, err = run({ "access-tokens", "fetch", at.sid, "--json" }, env)
      assert.equal(0, code, err)
      assert.equal(at.sid, json(out).sid)
      code, _, err = run({ "access-tokens", "create", id, "--factor-type", "totp" }, env)
      assert.equal(2, code)
      assert.truthy(err:find("factor", 1, true), err)

      code, out, err = run({ "webhooks", "create", "--friendly-name", "cli hook", "--event-type", "factor.created",
        "--event-type", "challenge.approved", "--webhook-url", "http://127.0.0.1:9/hook", "--json" }, env)
      assert.equal(0, code, err)
      local wh = json(out)
      assert.matches("^YW%x+$", wh.sid)
      assert.same({ "factor.created", "challenge.approved" }, wh.event_types)
      code, out, err = run({ "webhooks", "list" }, env)
      assert.equal(0, code, err)
      assert.truthy(out:find(wh.sid, 1, true), out)
      assert.truthy(out:find("http://127.0.0.1:9/hook", 1, true), out)
      code, out, err = run({ "webhooks", "update", wh.sid, "--status", "disabled", "--json" }, env)
      assert.equal(0, code, err)
      assert.equal("disabled", json(out).status)
      code, out, err = run({ "webhooks", "fetch", wh.sid, "--json" }, env)
      assert.equal(0, code, err)
      assert.equal("disabled", json(out).status)
      code, _, err = run({ "webhooks", "create", "--friendly-name", "x", "--event-type", "factor.nope",
        "--webhook-url", "http://127.0.0.1:9/" }, env)
      assert.equal(2, code)
      assert.truthy(err:find("event", 1, true), err)
      code, _, err = run({ "webhooks", "delete", wh.sid }, env)
      assert.equal(0, code, err)
      code = run({ "webhooks", "fetch", wh.sid, "--json" }, env)
      assert.equal(1, code)
    end)
  end)

  describe("passkeys (JSON bodies)", function()
    local passkey = require "twilio.verify.passkey"
    local ORIGIN = "http://localhost:8080"
    local penv, auth

    setup(function()
      local code, out, err = run({ "services", "create", "--friendly-name", "CLI passkeys",
        "--passkeys-relying-party-id", "localhost", "--passkeys-relying-party-name", "Example",
        "--passkeys-relying-party-origins", ORIGIN, "--passkeys-authenticator-attachment", "platform",
        "--passkeys-discoverable-credentials", "preferred", "--passkeys-user-verification", "required", "--json" },
        with{ TWILIO_VERIFY_SERVICE_SID = false })
      assert.equal(0, code, err)
      penv = with{ TWILIO_VERIFY_SERVICE_SID = json(out).sid }
      auth = passkey.new()
    end)
    teardown(function() if auth then auth:close() end end)

    local function file_of(text)
      local path = os.tmpname()
      local f = assert(io.open(path, "wb"))
      f:write(text)
      f:close()
      return path
    end

    -- a registered passkey: create with the nested options, verify with --body FILE
    local function register(id)
      local code, out, err = run({ "passkey-factors", "create", id, "--friendly-name", "laptop",
        "--config-relying-party-id", "localhost", "--config-relying-party-name", "Example",
        "--config-relying-party-origin", ORIGIN, "--config-relying-party-origin", "http://localhost:8081",
        "--config-authenticator-attachment", "platform", "--config-discoverable-credentials", "required",
        "--config-user-verification", "required", "--json" }, penv)
      assert.equal(0, code, err)
      local f = json(out)
      local cred = assert(auth:create(f.options, { origin = ORIGIN }))
      local path = file_of(cjson.encode(cred))
      code, out, err = run({ "passkey-factors", "update", "--body", path, "--json" }, penv)
      os.remove(path)
      assert.equal(0, code, err)
      return f, json(out), cred
    end

    it("creates a factor from nested options and verifies it with --body FILE", function()
      local id = identity()
      local f, v = register(id)
      -- the options became the nested members of one JSON body, in the row's order
      assert.same({ relying_party = { id = "localhost", name = "Example", origins = { ORIGIN, "http://localhost:8081" } },
                    authenticator_attachment = "platform", discoverable_credentials = "required",
                    user_verification = "required" }, f.config)
      assert.equal("required", f.options.publicKey.authenticatorSelection.residentKey)
      assert.equal("passkeys", v.factor_type)
      assert.equal("verified", v.status)
      assert.equal(f.sid, v.sid)
      assert.equal(id, v.identity)
    end)

    it("signs in with --body - (stdin), and options amend the body", function()
      local id = identity()
      register(id)
      local code, out, err = run({ "passkey-challenges", "create", "--identity", id, "--json" }, penv)
      assert.equal(0, code, err)
      local assertion = assert(auth:get(json(out).options, { origin = ORIGIN }))
      code, out, err = run({ "passkey-challenges", "update", "--body", "-", "--json" }, penv, cjson.encode(assertion))
      assert.equal(0, code, err)
      assert.equal("approved", json(out).status)
      -- the same assertion again: Verify refuses the replay (an API error, exit 1)
      code, _, err = run({ "passkey-challenges", "update", "--body", "-" }, penv, cjson.encode(assertion))
      assert.equal(1, code)
      assert.truthy(err:find("60322", 1, true), err)

      -- a body without id and authenticatorAttachment: the options give them
      code, out, err = run({ "passkey-challenges", "create", "--identity", id, "--json" }, penv)
      assert.equal(0, code, err)
      local a2 = assert(auth:get(json(out).options, { origin = ORIGIN }))
      local cred_id, attachment = a2.id, a2.authenticatorAttachment
      a2.id, a2.authenticatorAttachment = nil, nil
      code, out, err = run({ "passkey-challenges", "update", "--body", "-", "--id", cred_id,
        "--authenticator-attachment", attachment, "-v", "--json" }, penv, cjson.encode(a2))
      assert.equal(0, code, err)
      assert.equal("approved", json(out).status)
      -- -v logs the request, never the assertion's response
      assert.truthy(err:find("ApproveChallenge", 1, true), err)
      assert.is_nil(err:find(a2.response.signature, 1, true))
      assert.is_nil(err:find(a2.response.authenticatorData, 1, true))
      -- and whole members from the options alone (no --body)
      code, out, err = run({ "passkey-challenges", "create", "--identity", id, "--json" }, penv)
      assert.equal(0, code, err)
      local a3 = assert(auth:get(json(out).options, { origin = ORIGIN }))
      code, out, err = run({ "passkey-challenges", "update", "--id", a3.id, "--raw-id", a3.rawId,
        "--authenticator-attachment", a3.authenticatorAttachment,
        "--response-authenticator-data", a3.response.authenticatorData,
        "--response-client-data-json", a3.response.clientDataJSON,
        "--response-signature", a3.response.signature, "--json" }, penv)
      assert.equal(0, code, err)
      assert.equal("approved", json(out).status)
    end)

    it("refuses bad bodies and missing members with exit 2, sending nothing", function()
      e:clear_requests()
      local missing = os.tmpname()
      os.remove(missing)
      local cases = {
        { { "passkey-factors", "update", "--body", missing }, nil, "--body: " },
        { { "passkey-factors", "update", "--body", "-" }, "[1, 2]", "not a JSON object" },
        { { "passkey-factors", "update", "--body", "-" }, '{"id": ', "not valid JSON" },
        { { "passkey-factors", "update", "--body", "-" }, '{"id": "x"} {', "bytes after the JSON value" },
        { { "passkey-factors", "update", "--body", "-" }, '{"response": "x"}', "response" },
        { { "passkey-factors", "update", "--body", "-" }, '{"id": "x", "response": {}, "extra": 1}', "extra" },
        { { "passkey-factors", "update", "--response-client-data-json", "x", "--body", "-" },
          '{"response": 5}', "response in --body is not an object" },
        { { "passkey-factors", "update" }, nil, "nothing to update: give at least one parameter option or --body FILE" },
        { { "passkey-factors", "update", "--id", "x" }, nil,
          "response is required: give it in --body FILE or with the --response-* options" },
        { { "passkey-factors", "create", "user-0001" }, nil,
          "friendly_name is required: give it in --body FILE or as --friendly-name" },
        { { "passkey-factors", "create", "user-0001", "--friendly-name", "k", "--config-authenticator-attachment",
            "usb" }, nil, "authenticator_attachment" },
        { { "passkey-challenges", "update", "--body", "-" }, '{"id": "x"}', "rawId is required" },
      }
      for _, c in ipairs(cases) do
        local code, out, err = run(c[1], penv, c[2])
        assert.equal(2, code, table.concat(c[1], " ") .. ": " .. err)
        assert.equal("", out)
        assert.truthy(err:find(c[3], 1, true), table.concat(c[1], " ") .. ": " .. err)
      end
      assert.same({}, e:requests())
    end)
  end)

  describe("entities", function()
    it("creates, fetches, lists and deletes entities", function()
      local id = identity()
      local code, out, err = run({ "entities", "create", id }, env)
      assert.equal(0, code, err)
      assert.matches("^sid%s+YE%x+\nidentity%s+" .. id:gsub("%-", "%%-") .. "\n", out)
      assert.matches("\nlinks%.factors%s+http", out)
      code, out, err = run({ "entities", "fetch", id, "--json" }, env)
      assert.equal(0, code, err)
      local ent = json(out)
      assert.equal(id, ent.identity)
      assert.equal(SVC, ent.service_sid)
      assert.matches("^YE%x+$", ent.sid)
      -- a second create of the same identity is the API's answer (Twilio: 409)
      code, out, err = run({ "entities", "create", id, "--json" }, env)
      assert.equal(1, code)
      assert.equal("", out)
      assert.equal("http", json(err).error.kind)
      code, out, err = run({ "entities", "delete", id }, env)
      assert.equal(0, code, err)
      assert.equal("deleted " .. id .. "\n", out)
      code, out, err = run({ "entities", "fetch", id, "--json" }, env)
      assert.equal(1, code)
      assert.equal("", out)
      assert.equal(404, json(err).error.status)
      code, out, err = run({ "entities", "delete", id, "--json" }, env)
      assert.equal(1, code)
      assert.equal("", out)
      assert.equal(404, json(err).error.status)
      local other = identity()
      assert.equal(0, (run({ "entities", "create", other, "--json" }, env)))
      code, out = run({ "entities", "delete", other, "--json" }, env)
      assert.equal(0, code)
      assert.same({ deleted = true, identity = other }, json(out))
    end)

    it("lists entities: a table, --limit, --page and --page-token (in its own service)", function()
      local svc = "VA" .. string.rep("e4", 16)
      local senv = with{ TWILIO_VERIFY_SERVICE_SID = svc }
      local ids = {}
      for i = 1, 3 do
        ids[i] = identity()
        assert.equal(0, (run({ "entities", "create", ids[i] }, senv)))
      end
      local code, out, err = run({ "entities", "list" }, senv)
      assert.equal(0, code, err)
      local l = lines(out)
      assert.matches("^SID%s+IDENTITY%s+CREATED$", l[1])
      assert.matches("^YE%x+%s+" .. ids[1]:gsub("%-", "%%-") .. "%s+%d+%-%d+%-%d+T[%d:]+Z$", l[2])
      assert.equal("(3 entities)", l[5])
      e:clear_requests()
      code, out = run({ "entities", "list", "--limit", "2", "--json" }, senv)
      assert.equal(0, code)
      local j = json(out)
      assert.same({ ids[1], ids[2] }, { j.entities[1].identity, j.entities[2].identity })
      local reqs = e:requests()
      assert.equal(1, #reqs)
      assert.equal("PageSize=2", reqs[1].query)
      code, out = run({ "entities", "list", "--page", "--page-size", "2", "--json" }, senv)
      assert.equal(0, code)
      j = json(out)
      assert.equal(2, #j.entities)
      assert.equal(2, j.meta.page_size)
      assert.is_string(j.next_page_token)
      code, out = run({ "entities", "list", "--page", "--page-size", "2", "--page-token", j.next_page_token,
                        "--json" }, senv)
      assert.equal(0, code)
      local j2 = json(out)
      assert.equal(1, #j2.entities)
      assert.equal(ids[3], j2.entities[1].identity)
      assert.is_nil(j2.next_page_token)
      code, out = run({ "entities", "list", "--page", "--page-size", "2", "-s", svc }, env)
      assert.equal(0, code)
      assert.truthy(out:find("(2 entities)\npage 0; next page: --page-token " .. j.next_page_token, 1, true), out)
      code, out = run({ "entities", "list", "--limit", "0", "--json" }, senv)
      assert.equal(0, code)
      assert.equal("[]", out:match('"entities":(%[%])'))
    end)
  end)

  -- One-time codes: send-code, check-code and the outbox (emulator messages).
  describe("one-time codes", function()
    local otp_env
    setup(function()
      local code, out, err = run({ "services", "create", "--friendly-name", "Acme", "--json" }, env)
      assert.equal(0, code, err)
      otp_env = with({ TWILIO_VERIFY_SERVICE_SID = json(out).sid })
    end)
    local function outbox(to)
      local code, out, err = run({ "emulator", "messages", "--to", to, "--json" }, otp_env)
      assert.equal(0, code, err)
      return json(out).messages
    end

    it("sends a code (send-code), reads it from the outbox, checks it (exit 3 wrong, 0 right, 1 gone)", function()
      local to = "+15557650001"
      local code, out, err = run({ "send-code", to, "--channel", "sms" }, otp_env)
      assert.equal(0, code, err)
      local ve = out:match("^sent %(verification (VE%x+), sms, pending%)\n$")
      assert.is_string(ve, out)
      code, out, err = run({ "emulator", "messages", "--to", to }, otp_env)
      assert.equal(0, code, err)
      local otp = out:match("Your Acme verification code is: (%d+)\n$")
      assert.is_string(otp, out)
      local m = outbox(to)
      assert.equal(1, #m)
      assert.equal(ve, m[1].verification_sid)
      local bad = otp == "000000" and "111111" or "000000"
      code, out, err = run({ "check-code", to, bad }, otp_env)
      assert.equal(3, code, err)
      assert.equal("wrong code (verification " .. ve .. " is pending)\n", out)
      code, out, err = run({ "check-code", to, "-", "--json" }, otp_env, otp .. "\n")
      assert.equal(0, code, err)
      local j = json(out)
      assert.is_true(j.ok)
      assert.equal("approved", j.check.status)
      code, out, err = run({ "check-code", to, otp }, otp_env)
      assert.equal(1, code)
      assert.equal("", out)
      assert.truthy(err:find("20404", 1, true) and err:find("send a new code", 1, true), err)
      -- the outbox is empty after --clear, and --to filters
      code, out = run({ "emulator", "messages", "--to", "+15557650999" }, otp_env)
      assert.equal(0, code)
      assert.equal("(no messages)\n", out)
      code = run({ "emulator", "messages", "--clear" }, otp_env)
      assert.equal(0, code)
      assert.equal(0, #outbox(to))
    end)

    it("send-code takes --rate-limit NAME=VALUE (a service's rate limit: then 20429) and refuses bad input", function()
      local svc = otp_env.TWILIO_VERIFY_SERVICE_SID
      local code, out, err = run({ "rate-limits", "create", "--unique-name", "per_user", "--json" }, otp_env)
      assert.equal(0, code, err)
      local rk = json(out).sid
      code, out, err = run({ "buckets", "create", rk, "--max", "1", "--interval", "600", "--json" }, otp_env)
      assert.equal(0, code, err)
      assert.equal(1, json(out).max)
      code, _, err = run({ "send-code", "+15557650002", "--rate-limit", "per_user=u-9" }, otp_env)
      assert.equal(0, code, err)
      code, out, err = run({ "send-code", "+15557650003", "--rate-limit", "per_user=u-9", "--json" }, otp_env)
      assert.equal(1, code)
      assert.equal("", out)
      assert.equal(20429, json(err).error.code)
      code, _, err = run({ "send-code", "+15557650003", "--rate-limit", "per_user" }, otp_env)
      assert.equal(2, code)
      assert.truthy(err:find("NAME=VALUE", 1, true), err)
      code, _, err = run({ "send-code", "5557650003" }, otp_env)
      assert.equal(2, code)
      assert.truthy(err:find("to must be a phone number", 1, true), err)
      assert.equal(0, #outbox("+15557650003"))
      code, out, err = run({ "attempts", "list", "--verify-service-sid", svc, "--json" }, otp_env)
      assert.equal(0, code, err)
      assert.equal(2, #json(out).attempts, out) -- one per code sent: the refused send is none
    end)

    it("emulator messages needs an emulator: --base-url or TWILIO_VERIFY_BASE_URL", function()
      local code, _, err = run({ "emulator", "messages" }, with({ TWILIO_VERIFY_BASE_URL = false }))
      assert.equal(2, code)
      assert.truthy(err:find("--base-url", 1, true), err)
      code, _, err = run({ "emulator", "messages", "--base-url", "http://127.0.0.1:1" }, otp_env)
      assert.equal(1, code)
      assert.truthy(err:find("cannot reach the emulator", 1, true), err)
    end)
  end)

  -- Challenges and sign-in, at a fixed emulator clock (codes from `totp code --time`).
  describe("challenges and sign-in", function()
    local T = 1700000010 -- 2023-11-14T22:13:30Z
    local function totp_at(t, secret)
      local code, out = run({ "totp", "code", secret or RFC_SECRET, "--time", tostring(t) })
      assert.equal(0, code)
      return (out:match("%d+"))
    end
    -- a code that is none of those accepted around t (skew 1)
    local function wrong_at(t)
      local near = { [totp_at(t - 30)] = true, [totp_at(t)] = true, [totp_at(t + 30)] = true }
      for i = 0, 9 do
        local c = string.rep(tostring(i), 6)
        if not near[c] then return c end
      end
    end
    -- an identity with a TOTP factor (RFC_SECRET), verified at T unless `unverified`
    local function enrolled(unverified)
      local id = identity()
      local f = create(id, "app", { "--binding-secret", RFC_SECRET })
      if not unverified then
        local code, out, err = run({ "factors", "update", id, f.sid, "--auth-payload", totp_at(T), "--json" }, env)
        assert.equal(0, code, err)
        assert.equal("verified", json(out).status)
      end
      return id, f.sid
    end

    before_each(function() e:set_clock(T) end)
    after_each(function() e:set_clock(nil) end)

    it("signs in with the right code (exit 0) and not with a wrong one (exit 3)", function()
      local id, fsid = enrolled()
      e:set_clock(T + 60)
      local code, out, err = run({ "sign-in", id, fsid, totp_at(T + 60) }, env)
      assert.equal(0, code, err)
      assert.matches("^approved %(challenge YC%x+%)\n$", out)
      local req = e:last_request()
      assert.equal("POST", req.method)
      assert.equal("/v2/Services/" .. SVC .. "/Entities/" .. id .. "/Challenges", req.path)
      code, out, err = run({ "sign-in", id, fsid, wrong_at(T + 60) }, env)
      assert.equal(3, code)
      assert.matches("^wrong code %(challenge YC%x+ is pending%)\n$", out)
      assert.equal("", err)
      code, out, err = run({ "sign-in", id, fsid, wrong_at(T + 60), "--json" }, env)
      assert.equal(3, code)
      assert.equal("", err)
      local j = json(out)
      assert.is_false(j.ok)
      assert.equal("pending", j.challenge.status)
      assert.equal(fsid, j.challenge.factor_sid)
      code, out, err = run({ "--json", "sign-in", id, fsid, "-" }, env, totp_at(T + 60) .. "\n")
      assert.equal(0, code, err)
      j = json(out)
      assert.is_true(j.ok)
      assert.equal("approved", j.challenge.status)
      assert.matches("^YC%x+$", j.challenge.sid)
    end)

    it("sign-in fails (exit 1) for a factor whose enrolment was never confirmed, or an unknown one", function()
      local id, fsid = enrolled(true)
      local code, out, err = run({ "sign-in", id, fsid, totp_at(T) }, env)
      assert.equal(1, code)
      assert.equal("", out)
      assert.truthy(err:find("verified", 1, true), err) -- "not verified" / "unverified"
      assert.truthy(err:find("\n  confirm the enrolment first: twilio-verify factors update " .. id .. " " .. fsid
        .. " --auth-payload CODE\n", 1, true), err)
      code, out, err = run({ "sign-in", id, fsid, totp_at(T), "--json" }, env)
      assert.equal(1, code)
      assert.equal("", out)
      assert.equal("http", json(err).error.kind)
      assert.equal(403, json(err).error.status)
      code, out, err = run({ "sign-in", id, YF0, "123456", "--json" }, env)
      assert.equal(1, code)
      assert.equal("", out)
      assert.equal("http", json(err).error.kind)
    end)

    it("sign-in exits 1, not 3, when the API refuses (too many attempts: 429) or the network fails", function()
      local id, fsid = enrolled()
      e:fault{ action = "status", status = 429, code = 60310, message = "Max check attempts reached",
               match = { operation = "create_challenge" } }
      local code, out, err = run({ "sign-in", id, fsid, totp_at(T), "--max-retries", "0", "--json" }, env)
      assert.equal(1, code)
      assert.equal("", out)
      local j = json(err)
      assert.equal(429, j.error.status)
      assert.equal(60310, j.error.code)
      code, out, err = run({ "sign-in", id, fsid, totp_at(T), "--base-url", "http://127.0.0.1:1",
                             "--max-retries", "0" }, env)
      assert.equal(1, code)
      assert.equal("", out)
      assert.truthy(err:find("transport error", 1, true), err)
      e:clear_faults()
    end)

    it("creates challenges with details, hidden details and an expiration date", function()
      local id, fsid = enrolled()
      local code, out, err = run({ "challenges", "create", id, "--factor-sid", fsid,
                                   "--details-message", "Log in to Example?",
                                   "--details-field", "IP=192.0.2.1",
                                   "--details-field", '{"label":"City","value":"Lyon"}',
                                   "--hidden-details", '{"ip":"192.0.2.1"}',
                                   "--expiration-date", tostring(T + 600), "--json" }, env)
      assert.equal(0, code, err)
      local ch = json(out)
      assert.matches("^YC%x+$", ch.sid)
      assert.equal("pending", ch.status)
      assert.equal(fsid, ch.factor_sid)
      assert.equal(id, ch.identity)
      assert.equal("Log in to Example?", ch.details.message)
      assert.same({ { label = "IP", value = "192.0.2.1" }, { label = "City", value = "Lyon" } }, ch.details.fields)
      assert.same({ ip = "192.0.2.1" }, ch.hidden_details)
      assert.equal("2023-11-14T22:23:30Z", ch.expiration_date)
      local req = e:last_request()
      local fields, keys = {}, {}
      for _, kv in ipairs(req.form) do
        keys[#keys + 1] = kv[1]
        if kv[1] == "Details.Fields" then fields[#fields + 1] = json(kv[2]) end
      end
      assert.same({ { label = "IP", value = "192.0.2.1" }, { label = "City", value = "Lyon" } }, fields)
      assert.truthy(table.concat(keys, " "):find("ExpirationDate", 1, true))
      -- the table output
      code, out, err = run({ "challenges", "create", id, "--factor-sid", fsid, "--details-message", "again" }, env)
      assert.equal(0, code, err)
      assert.matches("^sid%s+YC%x+\n", out)
      assert.matches("\nstatus%s+pending\n", out)
      assert.matches("\ndetails%.message%s+again\n", out)
    end)

    it("create --auth-payload approves at once; a wrong code exits 3", function()
      local id, fsid = enrolled()
      e:set_clock(T + 90)
      local code, out, err = run({ "challenges", "create", id, "--factor-sid", fsid,
                                   "--auth-payload", wrong_at(T + 90) }, env)
      assert.equal(3, code)
      assert.matches("\nstatus%s+pending\n", out)
      assert.truthy(err:find("the challenge is not approved (wrong code?)", 1, true), err)
      code, out, err = run({ "challenges", "create", id, "--factor-sid", fsid, "--auth-payload", wrong_at(T + 90),
                             "--json" }, env)
      assert.equal(3, code)
      assert.equal("pending", json(out).status)
      assert.equal("", err)
      code, out, err = run({ "challenges", "create", id, "--factor-sid", fsid, "--auth-payload", totp_at(T + 90),
                             "--json" }, env)
      assert.equal(0, code, err)
      assert.equal("approved", json(out).status)
    end)

    it("fetches a challenge and approves it with update --auth-payload (exit 3 when wrong)", function()
      local id, fsid = enrolled()
      local code, out, err = run({ "challenges", "create", id, "--factor-sid", fsid, "--json" }, env)
      assert.equal(0, code, err)
      local ch = json(out)
      code, out, err = run({ "challenges", "fetch", id, ch.sid, "--json" }, env)
      assert.equal(0, code, err)
      local f = json(out)
      assert.equal(ch.sid, f.sid)
      assert.equal("pending", f.status)
      code, out = run({ "challenges", "fetch", id, ch.sid }, env)
      assert.equal(0, code)
      assert.matches("^sid%s+" .. ch.sid .. "\n", out)
      e:set_clock(T + 120)
      code, out, err = run({ "challenges", "update", id, ch.sid, "--auth-payload", wrong_at(T + 120) }, env)
      assert.equal(3, code)
      assert.matches("\nstatus%s+pending\n", out)
      assert.truthy(err:find("not approved", 1, true))
      code, out, err = run({ "challenges", "update", id, ch.sid, "--auth-payload", totp_at(T + 120), "--json" }, env)
      assert.equal(0, code, err)
      assert.equal("approved", json(out).status)
      code, out, err = run({ "challenges", "fetch", id, YC0, "--json" }, env)
      assert.equal(1, code)
      assert.equal("", out)
      assert.equal(404, json(err).error.status)
    end)

    it("lists challenges with filters, --limit and --page", function()
      local id, fsid = enrolled()
      local other_secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
      local other = create(id, "second app", { "--binding-secret", other_secret }).sid
      assert.equal(0, (run({ "factors", "update", id, other, "--auth-payload", totp_at(T, other_secret) }, env)))
      local sids = {}
      for i = 1, 3 do
        local code, out, err = run({ "challenges", "create", id, "--factor-sid", i == 3 and other or fsid,
                                     "--details-message", "c" .. i, "--json" }, env)
        assert.equal(0, code, err)
        sids[i] = json(out).sid
      end
      assert.equal(0, (run({ "sign-in", id, fsid, totp_at(T) }, env))) -- a fourth, approved
      local code, out, err = run({ "challenges", "list", id }, env)
      assert.equal(0, code, err)
      local l = lines(out)
      assert.matches("^SID%s+STATUS%s+FACTOR%s+CREATED%s+EXPIRES$", l[1])
      assert.matches("^YC%x+%s+pending%s+YF%x+%s+2023%-11%-14T22:13:30Z%s+2023%-11%-14T22:18:30Z$", l[2])
      assert.equal("(4 challenges)", l[6])
      e:clear_requests()
      code, out, err = run({ "challenges", "list", id, "--status", "pending", "--factor-sid", fsid, "--json" }, env)
      assert.equal(0, code, err)
      local j = json(out)
      assert.same({ sids[1], sids[2] }, { j.challenges[1].sid, j.challenges[2].sid })
      local q = e:requests()[1].query
      assert.truthy(q:find("Status=pending", 1, true), q)
      assert.truthy(q:find("FactorSid=" .. fsid, 1, true), q)
      code, out = run({ "challenges", "list", id, "--status", "approved", "--json" }, env)
      assert.equal(0, code)
      j = json(out)
      assert.equal(1, #j.challenges)
      assert.equal("approved", j.challenges[1].status)
      code, out = run({ "challenges", "list", id, "--limit", "2", "--json" }, env)
      assert.equal(0, code)
      assert.equal(2, #json(out).challenges)
      code, out = run({ "challenges", "list", id, "--page", "--page-size", "3", "--json" }, env)
      assert.equal(0, code)
      j = json(out)
      assert.equal(3, #j.challenges)
      assert.is_string(j.next_page_token)
      code, out = run({ "challenges", "list", id, "--page-token", j.next_page_token, "--page-size", "3",
                        "--json" }, env)
      assert.equal(0, code)
      assert.equal(1, #json(out).challenges)
      code, out = run({ "challenges", "list", id, "--order", "desc", "--status", "pending", "--json" }, env)
      assert.equal(0, code)
      j = json(out)
      assert.equal(3, #j.challenges)
      assert.truthy(e:last_request().query:find("Order=desc", 1, true))
      code, out = run({ "challenges", "list", identity(), "--json" }, env)
      assert.equal(0, code)
      assert.same({ challenges = {} }, json(out))
    end)
  end)

  describe("services", function()
    local senv -- no default service: the services commands take the SID as an argument

    setup(function() senv = with{ TWILIO_VERIFY_SERVICE_SID = false } end)

    local function svc_create(name, extra)
      local args = { "services", "create", "--friendly-name", name, "--json" }
      for _, a in ipairs(extra or {}) do args[#args + 1] = a end
      local code, out, err = run(args, senv)
      assert.equal(0, code, err)
      return json(out)
    end

    it("creates a service: options from the operation table (booleans, integers, nested keys)", function()
      local code, out, err = run({ "services", "create", "--friendly-name", "CLI app", "--totp-issuer", "CLI Co",
                                   "--totp-skew", "0", "--totp-code-length", "8", "--psd2-enabled",
                                   "--no-lookup-enabled", "--do-not-share-warning-enabled=true" }, senv)
      assert.equal(0, code, err)
      assert.matches("^sid%s+VA%x+\nfriendly_name%s+CLI app\n", out)
      assert.matches("\ntotp%.issuer%s+CLI Co\n", out)
      local form = {}
      for _, kv in ipairs(e:last_request().form) do form[kv[1]] = kv[2] end
      assert.same({ FriendlyName = "CLI app", ["Totp.Issuer"] = "CLI Co", ["Totp.Skew"] = "0",
                    ["Totp.CodeLength"] = "8", Psd2Enabled = "true", LookupEnabled = "false",
                    DoNotShareWarningEnabled = "true" }, form)
      local s = svc_create("json app", { "--totp-time-step", "60" })
      assert.matches("^VA%x+$", s.sid)
      assert.equal("json app", s.friendly_name)
      assert.equal(60, s.totp.time_step)
    end)

    it("fetches, updates and deletes a service", function()
      local s = svc_create("to update", { "--psd2-enabled" })
      assert.is_true(s.psd2_enabled)
      local code, out, err = run({ "services", "fetch", s.sid, "--json" }, senv)
      assert.equal(0, code, err)
      assert.equal("to update", json(out).friendly_name)
      code, out = run({ "services", "fetch", s.sid }, senv)
      assert.equal(0, code)
      assert.matches("^sid%s+" .. s.sid .. "\n", out)
      code, out, err = run({ "services", "update", s.sid, "--friendly-name", "renamed", "--no-psd2-enabled",
                             "--totp-skew", "2", "--json" }, senv)
      assert.equal(0, code, err)
      local u = json(out)
      assert.equal("renamed", u.friendly_name)
      assert.is_false(u.psd2_enabled)
      assert.equal(2, u.totp.skew)
      local form = {}
      for _, kv in ipairs(e:last_request().form) do form[kv[1]] = kv[2] end
      assert.same({ FriendlyName = "renamed", Psd2Enabled = "false", ["Totp.Skew"] = "2" }, form)
      code, out, err = run({ "services", "delete", s.sid }, senv)
      assert.equal(0, code, err)
      assert.equal("deleted " .. s.sid .. "\n", out)
      code, out, err = run({ "services", "delete", s.sid, "--json" }, senv)
      assert.equal(1, code)
      assert.equal("", out)
      assert.equal(404, json(err).error.status)
      code, _, err = run({ "services", "fetch", s.sid }, senv)
      assert.equal(1, code)
      assert.matches("^twilio%-verify: http error 404", err)
      local t = svc_create("doomed")
      code, out = run({ "services", "delete", t.sid, "--json" }, senv)
      assert.equal(0, code)
      assert.same({ deleted = true, sid = t.sid }, json(out))
    end)

    it("lists services: a table, --limit, --page", function()
      local mine = {}
      for i = 1, 3 do mine[svc_create("list " .. i).sid] = true end
      local code, out, err = run({ "services", "list", "--json" }, senv)
      assert.equal(0, code, err)
      local all = json(out).services
      local found = 0
      for _, s in ipairs(all) do if mine[s.sid] then found = found + 1 end end
      assert.equal(3, found)
      code, out = run({ "services", "list" }, senv)
      assert.equal(0, code)
      local l = lines(out)
      assert.matches("^SID%s+CREATED%s+NAME$", l[1])
      assert.equal(("(%d services)"):format(#all), l[#l])
      code, out = run({ "services", "list", "--limit", "2", "--json" }, senv)
      assert.equal(0, code)
      assert.equal(2, #json(out).services)
      code, out = run({ "services", "list", "--page", "--page-size", "1", "--json" }, senv)
      assert.equal(0, code)
      local j = json(out)
      assert.equal(1, #j.services)
      assert.is_string(j.next_page_token)
      code, out = run({ "services", "list", "--page", "--page-size", "1", "--page-token", j.next_page_token,
                        "--json" }, senv)
      assert.equal(0, code)
      assert.are_not.equal(j.services[1].sid, json(out).services[1].sid)
    end)

    it("retries and logs with --verbose; API errors exit 1", function()
      e:fault{ action = "status", status = 503, times = 1, match = { operation = "list_service" } }
      local code, out, err = run({ "services", "list", "-v", "--json" }, senv)
      assert.equal(0, code, err)
      json(out)
      local l = lines(err)
      assert.equal(2, #l)
      assert.matches("^GET http://127%.0%.0%.1:%d+/v2/Services %-> 503", l[1])
      assert.matches("%-> 200 in [%d.]+ s %(attempt 2%)$", l[2])
      code, out, err = run({ "services", "list" }, with{ TWILIO_AUTH_TOKEN = "wrong-token-" .. n,
                                                        TWILIO_VERIFY_SERVICE_SID = false })
      assert.equal(1, code)
      assert.equal("", out)
      assert.truthy(err:find("401", 1, true))
    end)

    it("a service made here holds entities and factors for the other commands", function()
      local s = svc_create("holder")
      local id = identity()
      local code, out, err = run({ "entities", "create", id, "--service", s.sid, "--json" }, env)
      assert.equal(0, code, err)
      assert.equal(s.sid, json(out).service_sid)
      code, out = run({ "entities", "list", "-s", s.sid, "--json" }, env)
      assert.equal(0, code)
      assert.equal(1, #json(out).entities)
    end)
  end)

  describe("totp", function()
    it("computes codes (RFC 6238 vectors, options, stdin)", function()
      local code, out = run({ "totp", "code", RFC_SECRET, "--time", "59", "--digits", "8" })
      assert.equal(0, code)
      assert.equal("94287082\n", out)
      code, out = run({ "totp", "code", "-", "--time=1111111109", "--digits", "8", "--json" }, nil, RFC_SECRET .. "\n")
      assert.equal(0, code)
      assert.same({ code = "07081804" }, json(out))
      local s256 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA" -- 32-byte key
      code, out = run({ "totp", "code", s256, "--alg", "sha256", "--time", "59", "--digits", "8" })
      assert.equal(0, code)
      assert.equal("46119246\n", out)
      code, out = run({ "totp", "code", RFC_SECRET, "--time", "59", "--step", "60" })
      assert.equal(0, code)
      assert.equal(emulator.oathtool(RFC_SECRET, 59, { step = 60 }) .. "\n", out)
    end)

    it("checks codes: exit 0 with the offset, 3 for no match", function()
      local code, out = run({ "totp", "check", RFC_SECRET, "94287082", "--time", "59", "--digits", "8" })
      assert.equal(0, code)
      assert.equal("match (offset 0)\n", out)
      code, out = run({ "totp", "check", RFC_SECRET, "94287082", "--time", "89", "--digits", "8", "--json" })
      assert.equal(0, code)
      assert.same({ ok = true, offset = -1 }, json(out))
      code, out = run({ "totp", "check", RFC_SECRET, "94287082", "--time", "89", "--digits", "8", "--skew", "0" })
      assert.equal(3, code)
      assert.equal("no match\n", out)
      code, out = run({ "totp", "check", RFC_SECRET, "12345678", "--time", "59", "--digits", "8", "--json" })
      assert.equal(3, code)
      assert.same({ ok = false }, json(out))
      code = run({ "totp", "check", RFC_SECRET, "12ab", "--time", "59" })
      assert.equal(2, code)
    end)

    it("builds otpauth URIs", function()
      local code, out = run({ "totp", "uri", RFC_SECRET, "--account", "ann@example.com", "--issuer", "Example Co" })
      assert.equal(0, code)
      assert.equal("otpauth://totp/Example%20Co:ann%40example.com?secret=" .. RFC_SECRET
        .. "&issuer=Example%20Co&algorithm=SHA1&digits=6&period=30\n", out)
      code, out = run({ "totp", "uri", RFC_SECRET, "--account", "bob", "--digits", "8", "--alg", "sha512", "--json" })
      assert.equal(0, code)
      local uri = json(out).uri
      assert.matches("digits=8", uri)
      assert.matches("algorithm=SHA512", uri)
    end)
  end)

  describe("emulator", function()
    local exe = os.getenv("TV_EMULATOR") or "build/twilio-verify-emulator"

    local function procs()
      local p = io.popen("cat /proc/[0-9]*/stat 2>/dev/null")
      local all = p:read("*a")
      p:close()
      local t = {}
      for line in all:gmatch("[^\n]+") do
        local pid, comm, state, ppid = line:match("^(%d+) (%b()) (%a) (%d+)")
        if pid then t[#t + 1] = { pid = tonumber(pid), comm = comm:sub(2, -2), state = state, ppid = tonumber(ppid) } end
      end
      return t
    end
    local function child_of(pid, comm)
      for _, p in ipairs(procs()) do
        if p.ppid == pid and (not comm or p.comm:find(comm, 1, true)) then return p.pid end
      end
    end
    -- the emulator process under pid (at any depth)
    local function emulator_under(pid)
      local all, seen = procs(), { [pid] = true }
      for _ = 1, 4 do
        for _, p in ipairs(all) do
          if seen[p.ppid] then
            if p.comm:find("twilio-verify-e", 1, true) then return p.pid end
            seen[p.pid] = true
          end
        end
      end
    end
    local function gone(pid)
      local f = io.open("/proc/" .. pid .. "/stat")
      if not f then return true end
      local st = f:read("*a"):match("^%d+ %b() (%a)")
      f:close()
      return st == "Z" or st == nil
    end
    local function wait_for(pred, secs)
      for _ = 1, secs * 50 do
        if pred() then return true end
        os.execute("sleep 0.02")
      end
      return pred()
    end

    -- start `twilio-verify emulator --port 0` in a background subshell; returns
    -- a handle with the port, the CLI's pid (lua) and the emulator's pid
    local function start_cli_emulator(extra)
      local h = { portf = os.tmpname(), errf = os.tmpname(), rcf = os.tmpname() }
      h.ac, h.tok = "AC" .. string.rep("e3", 16), "emu-cli-token-" .. n
      -- its own output goes to /dev/null so it never holds busted's pipes
      local p = io.popen(("(env -u LUA_PATH -u LUA_CPATH TWILIO_VERIFY_EMULATOR=%s %s emulator --port 0 "
        .. "--account-sid %s --auth-token %s %s >%s 2>%s; echo $? >%s) </dev/null >/dev/null 2>&1 & echo $!"):format(
        shq(exe), CLI, h.ac, shq(h.tok), extra or "", shq(h.portf), shq(h.errf), shq(h.rcf)))
      h.sub = tonumber(p:read("*l"))
      p:close()
      wait_for(function()
        h.port = read_file(h.portf):match("^(%d+)\n")
        return h.port ~= nil
      end, 30)
      h.cli = child_of(h.sub)
      h.emu = h.cli and emulator_under(h.cli)
      return h
    end
    -- whatever happened, leave no process behind
    local function cleanup(h)
      h.cli = h.cli or child_of(h.sub)
      h.emu = h.emu or (h.cli and emulator_under(h.cli))
      if h.emu then os.execute("kill -TERM " .. h.emu .. " 2>/dev/null") end
      wait_for(function() return read_file(h.rcf) ~= "" end, 10)
      if read_file(h.rcf) == "" then
        for _, pid in ipairs{ h.emu, h.cli, h.sub } do os.execute("kill -KILL " .. pid .. " 2>/dev/null") end
      end
      os.remove(h.portf); os.remove(h.errf); os.remove(h.rcf)
    end
    local function list_against(h)
      return run({ "factors", "list", "cli-emu-0001", "--json", "--max-retries", "0" }, {
        TWILIO_ACCOUNT_SID = h.ac, TWILIO_AUTH_TOKEN = h.tok, TWILIO_VERIFY_SERVICE_SID = SVC,
        TWILIO_VERIFY_BASE_URL = "http://127.0.0.1:" .. h.port })
    end

    it("starts the emulator, which the factors commands can use, and stops on SIGTERM", function()
      local h = start_cli_emulator()
      finally(function() cleanup(h) end)
      assert.is_not_nil(h.port, read_file(h.errf))
      assert.is_not_nil(h.emu)
      local code, out, err = list_against(h)
      assert.equal(0, code, err)
      assert.same({ factors = {} }, json(out))
      os.execute("kill -TERM " .. h.emu)
      assert.is_true(wait_for(function() return read_file(h.rcf):match("^%d+") ~= nil end, 30))
      assert.equal("0", read_file(h.rcf):match("^(%d+)")) -- the emulator's status
    end)

    it("passes SIGTERM sent to its shell on, and reports the emulator's own status", function()
      -- a stand-in that exits 0 at once on SIGTERM: the shell often reaps it
      -- before it looks again, which once made the command exit 143
      local dir = os.tmpname()
      os.remove(dir)
      assert(os.execute("mkdir -m 700 " .. shq(dir)))
      local fast = dir .. "/twilio-verify-emulator"
      local f = assert(io.open(fast, "w"))
      f:write("#!/bin/sh\ntrap 'exit 0' TERM\necho 4242\nwhile :; do sleep 1 & wait $!; done\n")
      f:close()
      assert(os.execute("chmod 700 " .. shq(fast)))
      -- one finally per test (busted keeps only the last one)
      local saved, handles = exe, {}
      finally(function()
        for _, h in ipairs(handles) do cleanup(h) end
        exe = saved
        os.remove(fast); os.remove(dir)
      end)
      exe = fast
      for round = 1, 8 do
        local h = start_cli_emulator()
        handles[#handles + 1] = h
        assert.equal("4242", h.port, read_file(h.errf))
        assert.is_not_nil(h.emu)
        local shell = child_of(h.cli)
        assert.is_not_nil(shell)
        os.execute("kill -TERM " .. shell)
        assert.is_true(wait_for(function() return read_file(h.rcf):match("^%d+") ~= nil end, 10))
        assert.equal("0", read_file(h.rcf):match("^(%d+)"), "round " .. round)
      end
    end)

    for _, c in ipairs{ { "TERM", "143" }, { "INT", "130" }, { "KILL", "137" } } do
      local sig, status = c[1], c[2]
      it("stops the emulator when the command itself gets SIG" .. sig, function()
        local h = start_cli_emulator()
        finally(function() cleanup(h) end)
        assert.is_not_nil(h.port, read_file(h.errf))
        assert.is_not_nil(h.cli)
        assert.is_not_nil(h.emu)
        assert.equal(0, (list_against(h)))
        os.execute("kill -" .. sig .. " " .. h.cli)
        local emu = h.emu
        assert.is_true(wait_for(function() return gone(emu) end, 5), "the emulator outlived the command")
        assert.is_true(wait_for(function() return read_file(h.rcf):match("^%d+") ~= nil end, 5))
        assert.equal(status, read_file(h.rcf):match("^(%d+)"))
        local code, _, err = list_against(h) -- the port is closed
        assert.equal(1, code)
        assert.truthy(err:lower():find("connect", 1, true), err)
        -- and nothing of it is left: no shell, no watcher, no FIFO
        assert.is_nil(child_of(h.cli))
        for _, p in ipairs(procs()) do
          assert.is_false(p.ppid == 1 and p.comm:find("twilio-verify-e", 1, true) ~= nil and p.pid == emu)
        end
      end)
    end

    it("passes --help through only as its own help, and says when the binary is missing", function()
      local code, out = run({ "emulator", "--help" })
      assert.equal(0, code)
      assert.truthy(out:find("--no-limits", 1, true))
      assert.truthy(out:find("TWILIO_VERIFY_EMULATOR", 1, true))
      local err
      code, out, err = run({ "emulator", "--port", "0" }, { TWILIO_VERIFY_EMULATOR = "/nonexistent/emu" })
      assert.equal(1, code)
      assert.equal("", out)
      assert.truthy(err:find("/nonexistent/emu", 1, true))
      code = run({ "emulator", "--port", "not-a-port" }, { TWILIO_VERIFY_EMULATOR = exe })
      assert.equal(2, code) -- the emulator's own usage status
    end)
  end)

  it("never prints the auth token", function()
    -- a last sweep through error paths with the token in the environment
    run({ "factors", "list", "cli-user-0001", "-v", "--base-url", "http://127.0.0.1:1", "--max-retries", "1" }, env)
    run({ "factors", "update", "cli-user-0001", "YF" .. string.rep("1", 32), "--auth-payload", "123456", "-v" }, env)
    run({ "--json", "factors", "create", "cli-user-0001", "--factor-type", "totp", "--friendly-name", "t", "-v" }, env)
    local everything = table.concat(all_output, "\n")
    assert.truthy(#everything > 10000)
    assert.is_nil(everything:find(e.auth_token, 1, true))
    -- nor the Basic credentials built from it
    local b64 = "(not computed)"
    local ok, mime = pcall(require, "mime")
    if ok then b64 = mime.b64(e.account_sid .. ":" .. e.auth_token) end
    assert.is_nil(everything:find(b64, 1, true))
  end)
end)
