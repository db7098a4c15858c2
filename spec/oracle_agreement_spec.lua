-- spec/oracle_agreement_spec.lua -- the client's validation and the
-- emulator's oracle agree on what is valid.
--
-- The emulator checks requests against the OpenAPI description itself
-- (csrc/emulator/oapi_*.c), the client with its operation table
-- (csrc/tv_ops.c, tv_validate.c): two independent readings of one contract.
-- This spec generates requests for every parameter of every operation of the
-- client's table -- valid values, boundary lengths and ranges (taken from
-- both the table and the emulator's --oracle-rules), bad enums, patterns,
-- identities and dates, wrong types, NUL and control characters, bad UTF-8,
-- JSON that is not an object or not the right one, unknown keys, missing
-- required ones -- and gives each to both:
--
--   client    core.check_params(client, op, ...): validation and request
--             building, no I/O (the wire values mapped to the Lua values the
--             client takes: integers, booleans, arrays);
--   emulator  the same request as raw form / query bytes over HTTP (one
--             emulator, one keep-alive libcurl connection: client:_http);
--             refused by the oracle = 400 with details.rule (a refusal of
--             the emulator's behaviour afterwards, e.g. an unknown factor,
--             has none: the parameters were valid).
--
-- Every disagreement must be one of KNOWN (below): each says why the two
-- readings differ and is matched by a predicate; every KNOWN entry must
-- still occur (no stale excuses).  Requests the Lua API cannot express (a
-- repeated key, a key on an operation without parameters) go to the
-- emulator only, which must refuse them.
local cjson = require "cjson"
local verify = require "twilio.verify"
local core = require "twilio.verify.core"
local emulator = require "support.emulator"

local unpack = table.unpack or unpack -- luacheck: ignore 143
local pct, form = emulator.pct, emulator.form
local HEX = "0123456789abcdef0123456789abcdef"

-- ------------------------------------------------------------ known differences
-- Each: id, why, and match(case) -> true when this disagreement is that one.
-- case: op (row), key (the parameter probed, wire name), value, client_ok,
-- emu_ok, p (the client's row parameter, may be nil), emu_rule (details.rule).
local function client_stricter(c) return not c.client_ok and c.emu_ok end

local function chars(s)
  local n = 0
  for _ in s:gmatch("[^\128-\191]") do n = n + 1 end
  return n
end

-- Is the probed value outside the bounds of the client's own row (length,
-- range or enum)?  Only then does a library rule explain a refusal.
local function outside_client_row(c)
  local p, v = c.p, c.value
  if not p then return false end
  if p.type == "integer" then
    local n = tonumber(v)
    return n ~= nil and (n < p.min or n > p.max)
  end
  if p.type == "enum" then
    for _, e in ipairs(p.enum) do if e == v then return false end end
    return true
  end
  return p.max ~= nil and (chars(v) < p.min or chars(v) > p.max)
end

local KNOWN = {
  { id = "library-bound",
    why = "the client bounds the value by a rule of its own, marked 'library:' in its table (tv_ops.c); "
      .. "the description states no such bound",
    match = function(c)
      return client_stricter(c) and c.p and (c.p.rule or ""):match("^library:") ~= nil and outside_client_row(c)
    end },
  { id = "empty-text",
    why = "the client wants text it bounds to be non-empty (min 1 in tv_ops.c); the description gives only a "
      .. "maximum ('It can be up to 64 characters') or no bound, so an empty string is valid for the oracle",
    match = function(c) return client_stricter(c) and c.value == "" and c.p and (c.p.min or 0) >= 1 end },
  { id = "date-years",
    why = "tv_check_date (client) takes years from 1970 and at most 9 fraction digits; RFC 3339 (format "
      .. "date-time) has years 0000-9999 and any number of fraction digits",
    match = function(c)
      local y, frac = c.value:match("^(%d%d%d%d)%-%d%d%-%d%dT%d%d:%d%d:%d%d%.?(%d*)")
      return client_stricter(c) and c.p and c.p.type == "date-time" and y ~= nil and
        (tonumber(y) < 1970 or #frac > 9)
    end },
  { id = "docs-rule",
    why = "the client applies a rule of Twilio's documentation (marked 'docs:' in its table: a Locale of the "
      .. "supported-languages page, a UniqueName's characters of error 60209); the description does not state "
      .. "it, so the oracle takes the value, and the emulator then answers as Twilio does (404 for the locale, "
      .. "400 code 60209 for the name: the operation's errors, without details.rule)",
    match = function(c)
      return client_stricter(c) and c.p and (c.p.rule or ""):match("^docs:") ~= nil and outside_client_row(c)
        or (client_stricter(c) and c.p and c.p.format == "unique_name" and (c.p.rule or ""):match("^docs:") ~= nil)
    end },
  { id = "verification-sid",
    why = "the client takes a verification's {Sid} as a VE SID (its table's library: rule: the verification's "
      .. "sid is ^VE[0-9a-fA-F]{32}$); the description types the path parameter as a plain string, so the "
      .. "oracle takes any value and the emulator answers 404 for a verification it does not have",
    match = function(c)
      return client_stricter(c) and c.key == "Sid" and c.op.path:find("/Verifications/{Sid}", 1, true) ~= nil
    end },
  { id = "either-to-or-sid",
    why = "a VerificationCheck needs To or VerificationSid (the description: \"Either this parameter or the "
      .. "`verification_sid` must be specified\"): the client refuses it before any I/O (the row's one_of); the "
      .. "oracle has no rule across parameters, and the emulator answers 400 code 60221 \"No target verification "
      .. "specified\" (the operation's error)",
    match = function(c) return client_stricter(c) and c.value == "(neither)" end },
  { id = "details-fields-1024",
    why = "the client bounds each Details.Fields element's JSON text at 1024 characters (tv_ops.c R_DFIELDS, "
      .. "'1024 bounds its JSON'); the description bounds its label and value, not the text",
    match = function(c) return c.key == "Details.Fields" and client_stricter(c) and #c.value > 1024 end },
}

-- ------------------------------------------------------------------ values

local function rep(s, n) return n > 0 and string.rep(s, n) or "" end

local TEXT_JUNK = { "a\nb", "a\0b", "tab\there", "del\127x", "\255\254", "\192\175", "\237\160\128", "ünïcödé" }
local INT_JUNK = { "abc", "1.5", "", " 5", "+5", "007", "-0", "1e3", "99999999999999999999", "9223372036854775807",
  "-9223372036854775809", "0x10" }
local BOOL_VALUES = { "true", "false", "True", "FALSE", "yes", "1", "0", "" }
local DATES = { "2030-01-01T00:00:00Z", "2030-01-01T00:00:00+02:00", "2030-01-01T00:00:00.123Z", "2030-01-01t00:00:00z",
  "2030-02-30T00:00:00Z", "2028-02-29T00:00:00Z", "2030-02-29T00:00:00Z", "2030-01-01T24:00:00Z",
  "2030-01-01T00:00:60Z", "1969-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2030-01-01",
  "2030-01-01T00:00:00.1234567891Z", "2030-01-01 00:00:00Z", "2030-01-01T00:00:00+2:00", "not a date", "" }
local JSON_VALUES = { '{"a":"b"}', "{}", '{"a":1}', '{"a":{"b":"c"}}', "[1]", '"s"', "null", "not json", '{"a":"b"} x',
  ' {"a":"b"} ', '{"a":"b"', '{"a":"b\\nc"}' }

-- Boundaries of a parameter: the client's (min/max) and the oracle's rules.
local function bounds(p, orules, kind)
  local set = {}
  local function add(n) if n and n >= -1 then set[n] = true end end
  if p and p.min then add(p.min - 1); add(p.min); add(p.max); add(p.max + 1) end
  for _, r in ipairs(orules or {}) do
    local a, b
    if kind == "length" then a, b = r.rule:match("^length (%d+)%.%.(%-?%d+)") end
    if kind == "range" then a, b = r.rule:match("^range (%-?%d+)%.%.(%-?%d+)") end
    if not a and kind == "range" then a = r.rule:match("^range >= (%-?%d+)") end
    if a then add(tonumber(a) - 1); add(tonumber(a)) end
    if b and tonumber(b) >= 0 then add(tonumber(b)); add(tonumber(b) + 1) end
    for alt_a, alt_b in r.rule:gmatch("(%d+)%.%.(%d+) %(") do
      add(tonumber(alt_a) - 1); add(tonumber(alt_a)); add(tonumber(alt_b)); add(tonumber(alt_b) + 1)
    end
  end
  local out = {}
  for n in pairs(set) do out[#out + 1] = n end
  table.sort(out)
  return out
end

local function enums(p, orules)
  local seen, out = {}, {}
  local function add(v) if not seen[v] then seen[v] = true; out[#out + 1] = v end end
  for _, v in ipairs(p and p.enum or {}) do add(v) end
  for _, r in ipairs(orules or {}) do
    local list = r.rule:match("^enum %(or empty%) (.*)$") or r.rule:match("^enum (.*)$")
    for v in (list or ""):gmatch("[^|]+") do add(v) end
  end
  return out
end

local function field(label, value) return cjson.encode({ label = label, value = value }) end

-- The wire values to try for one parameter (p: the client's row entry; wire
-- type from the client, bounds from both sides).
local function values_for(p, orules)
  local v, seen = {}, {}
  local function add(x, extra)
    if not seen[x] then seen[x] = true; v[#v + 1] = { x, extra } end
  end
  local t = p.type
  if t == "integer" then
    for _, n in ipairs(bounds(p, orules, "range")) do add(tostring(n)) end
    add("-1"); add("0")
    for _, x in ipairs(INT_JUNK) do add(x) end
  elseif t == "boolean" then
    for _, x in ipairs(BOOL_VALUES) do add(x) end
  elseif t == "date-time" then
    for _, x in ipairs(DATES) do add(x) end
  elseif t == "sid" then
    add(p.prefix .. HEX); add(p.prefix:lower() .. HEX); add("ZZ" .. HEX); add(p.prefix .. HEX:sub(2))
    add(p.prefix .. HEX .. "0"); add(p.prefix .. HEX:sub(2) .. "g"); add(p.prefix .. HEX .. "\n"); add("")
  elseif t == "identity" then
    for _, x in ipairs({ "user-0001", rep("a", 7), rep("a", 8), rep("b", 64), rep("c", 65), "a--b-cdef", "-abcdefgh",
      "abcdefgh-", "abc_defgh", "ünïcödé-user", "abcdefgh\0", "user 0001", "" }) do add(x) end
  elseif t == "enum" then
    for _, x in ipairs(enums(p, orules)) do add(x) end
    add("bogus"); add(""); add((p.enum[1] or "x"):upper() .. "X")
  elseif t == "json" and p.key == "Details.Fields" then
    add(field("a", "b")); add(field(rep("l", 36), "v")); add(field(rep("l", 37), "v"))
    add(field("l", rep("v", 128))); add(field("l", rep("v", 129))); add(field("é", rep("é", 128)))
    add('{"label":"a"}'); add('{"label":"a","value":"b","x":"c"}'); add('{"label":1,"value":"b"}')
    add('{"label":"a","value":"b"' .. rep(" ", 1000) .. "}")
    add('{"label":"a","value":"b"} x', { trailing = true })
    for _, x in ipairs({ "[1]", "not json", "{}" }) do add(x) end
  elseif t == "json" then
    for _, x in ipairs(JSON_VALUES) do add(x, x:match("^{[^}]*} x$") and { trailing = true } or nil) end
    for _, n in ipairs(bounds(p, orules, "length")) do
      if n >= 10 then add('{"k":"' .. rep("v", n - 8) .. '"}') end
    end
  elseif t == "json" and p.email_member then -- ChannelConfiguration
    for _, x in ipairs({ '{"from":"ann@example.com","from_name":"Ann"}', '{"from":"not an address"}', '{"from":1}',
      '{"from_name":"Ann"}', "{}", "[1]", "not json" }) do add(x) end
  elseif t == "json" and p.max_members then -- Tags
    local many = {}
    for i = 1, p.max_members + 1 do many[i] = '"k' .. i .. '":"v"' end
    add("{" .. table.concat(many, ",", 1, p.max_members) .. "}"); add("{" .. table.concat(many, ",") .. "}")
    add('{"' .. rep("k", p.kv_max) .. '":"v"}'); add('{"' .. rep("k", p.kv_max + 1) .. '":"v"}')
    add('{"k":"' .. rep("v", p.kv_max + 1) .. '"}'); add('{"k":1}'); add("[1]"); add("{}")
  elseif p.format then
    local FORMAT_VALUES = {
      e164 = { "+15005550006", "+1", "+12", "+123456789012345", "+1234567890123456", "15005550006", "+0123",
               "+1555 1234", "+1555-1234", "+", "" },
      e164_prefix = { "+1", "+4420", "+", "1", "+0", "+123456789012345", "+1234567890123456", "+1a", "" },
      country = { "US", "GB", "us", "USA", "U", "1A", "all", "" },
      ip = { "203.0.113.7", "::1", "2001:db8::1", "::ffff:1.2.3.4", "1.2.3", "256.1.1.1", "1.2.3.4.5", "01.2.3.4",
             "::g", "1.2.3.4 ", "" },
      unique_name = { "per_user", "per.user-1", "PerUser9", "per user", "per/user", "per+user", "ünïcödé", "" },
    }
    FORMAT_VALUES.country_or_all = FORMAT_VALUES.country
    FORMAT_VALUES.e164_or_email = { "+15005550006", "15005550006", "+1", "ann@example.com", "ann.o'neil+tag@example.co.uk",
      "ann@", "@example.com", "ann@localhost", "a@b.c", "ann@@example.com", "ann@exa mple.com", "ann@-example.com",
      "ann@example.com.", "ann@" .. rep("a", 64) .. ".com", rep("a", 65) .. "@example.com", "" }
    for _, x in ipairs(FORMAT_VALUES[p.format] or {}) do add(x) end
    for _, x in ipairs(TEXT_JUNK) do add(x) end
  else -- text
    for _, n in ipairs(bounds(p, orules, "length")) do
      if n >= 0 then add(rep("x", n)) end
    end
    for _, n in ipairs(bounds(p, orules, "length")) do
      if n >= 1 and n <= 300 then add(rep("é", n)) end
    end
    add(""); add("x"); add("hello world")
    for _, x in ipairs(enums(p, orules)) do add(x) end
    for _, x in ipairs(TEXT_JUNK) do add(x) end
  end
  return v
end

-- A valid value of p (for the base request).
local function valid(p)
  local t = p.type
  if t == "sid" then return p.prefix .. HEX end
  if t == "identity" then return "user-0001" end
  if t == "enum" then return p.enum[1] end
  if t == "integer" then return tostring(p.min) end
  if t == "boolean" then return "true" end
  if t == "date-time" then return "2030-01-01T00:00:00Z" end
  if t == "json" then return p.key == "Details.Fields" and field("a", "b") or '{"a":"b"}' end
  local by_format = { e164 = "+15005550006", e164_or_email = "+15005550006", e164_prefix = "+1", country = "US",
                      country_or_all = "US", ip = "203.0.113.7", unique_name = "per_user" }
  if p.format then return by_format[p.format] end
  return rep("x", math.max(p.min or 1, 1))
end

-- ------------------------------------------------------------------ cases

local function path_values(row, override)
  local vals = {}
  for i, pp in ipairs(row.path_params) do vals[i] = (override and override[i]) or valid(pp) end
  return vals
end

-- the required parameters, and the first of a one_of set (To of a check)
local function base_pairs(row, skip, neither)
  local pairs_ = {}
  local first = not neither and row.one_of and row.one_of[1]
  for _, p in ipairs(row.params) do
    if (p.required or p.key == first) and p.key ~= skip then pairs_[#pairs_ + 1] = { p.key, valid(p) } end
  end
  return pairs_
end

local function generate(orules)
  local cases, emu_only = {}, {}
  for _, row in ipairs(verify.operations) do
    -- (the JSON bodies of the Passkeys rows are held against the oracle by
    -- emulator_oracle_spec's JSON body test and passkeys_spec; this one
    -- speaks forms and queries)
    if row.body == "json" then goto next_row end
    local where = row.method == "GET" and "query" or "form"
    local function orule(key, place)
      local j = orules[row.openapi_id .. " " .. (place or where) .. " " .. key]
      return j and j.rules or {}
    end
    -- the base request, valid
    cases[#cases + 1] = { op = row, path = path_values(row), pairs = base_pairs(row), key = "(base)", value = "" }
    -- none of a one_of set (a check without To or VerificationSid)
    if row.one_of then
      cases[#cases + 1] = { op = row, path = path_values(row), pairs = base_pairs(row, nil, true), key = "(one_of)",
                            value = "(neither)" }
    end
    -- path parameters
    for i, pp in ipairs(row.path_params) do
      local p = pp
      for _, v in ipairs(values_for(p, orule(pp.key, "path"))) do
        local o = {}
        o[i] = v[1]
        cases[#cases + 1] = { op = row, path = path_values(row, o), pairs = base_pairs(row), key = pp.key, p = pp,
                              value = v[1] }
      end
    end
    -- each parameter
    for _, p in ipairs(row.params) do
      for _, v in ipairs(values_for(p, orule(p.key))) do
        local pr = base_pairs(row, p.key)
        pr[#pr + 1] = { p.key, v[1] }
        cases[#cases + 1] = { op = row, path = path_values(row), pairs = pr, key = p.key, value = v[1], p = p,
                              trailing = v[2] and v[2].trailing }
      end
      if p.array then -- 2, max and max + 1 elements, and a bad one among good ones
        for _, n in ipairs({ 2, p.max_items or 3, (p.max_items or 3) + 1 }) do
          local pr = base_pairs(row, p.key)
          for _ = 1, n do pr[#pr + 1] = { p.key, valid(p) } end
          cases[#cases + 1] = { op = row, path = path_values(row), pairs = pr, key = p.key, value = n .. " values",
                                p = p }
        end
        local pr = base_pairs(row, p.key)
        pr[#pr + 1] = { p.key, valid(p) }
        pr[#pr + 1] = { p.key, "bogus" }
        cases[#cases + 1] = { op = row, path = path_values(row), pairs = pr, key = p.key, value = "good, bogus", p = p }
      elseif row.has_params and not p.positional then -- a repeated key: the Lua API holds a key once
        local pr = base_pairs(row, p.key)
        pr[#pr + 1] = { p.key, valid(p) }
        pr[#pr + 1] = { p.key, valid(p) }
        emu_only[#emu_only + 1] = { op = row, path = path_values(row), pairs = pr, key = p.key, value = "repeated" }
      end
      if p.required then -- missing
        cases[#cases + 1] = { op = row, path = path_values(row), pairs = base_pairs(row, p.key), key = p.key,
                              value = "(missing)", p = p }
      end
    end
    -- unknown keys
    for _, k in ipairs({ "Colour", "friendlyname", "FriendlyName2" }) do
      local pr = base_pairs(row)
      pr[#pr + 1] = { k, "x" }
      local c = { op = row, path = path_values(row), pairs = pr, key = k, value = "x" }
      if row.has_params then cases[#cases + 1] = c else emu_only[#emu_only + 1] = c end
    end
    ::next_row::
  end
  return cases, emu_only
end

-- ------------------------------------------------------------------ verdicts

local function lua_value(p, v)
  if p.type == "integer" and v:match("^%-?%d+$") then return tonumber(v) end
  if p.type == "boolean" and v:lower() == "true" then return true end
  if p.type == "boolean" and v:lower() == "false" then return false end
  return v
end

local function snake(key) return (key:gsub("%.", "_"):gsub("(%l)(%u)", "%1_%2"):lower()) end

local function client_verdict(client, c)
  local row = c.op
  local args, n = {}, 0
  for i = 1, #row.path_params do n = n + 1; args[n] = c.path[i] end
  local by_key = {}
  for _, p in ipairs(row.params) do by_key[p.key] = p end
  for _, p in ipairs(row.params) do
    if p.positional then
      n = n + 1
      for _, kv in ipairs(c.pairs) do if kv[1] == p.key then args[n] = kv[2] end end
    end
  end
  if row.has_params then
    local t = {}
    for _, kv in ipairs(c.pairs) do
      local p = by_key[kv[1]]
      if not p then
        t[snake(kv[1])] = kv[2]
      elseif p.array then
        t[p.name] = t[p.name] or {}
        table.insert(t[p.name], lua_value(p, kv[2]))
      elseif not p.positional then
        t[p.name] = lua_value(p, kv[2])
      end
    end
    n = n + 1
    args[n] = t
  end
  local ok, err = core.check_params(client, row.name, unpack(args, 1, n))
  return ok == true, err
end

local function emu_verdict(client, base_url, c)
  local row = c.op
  local keys = {}
  for i, pp in ipairs(row.path_params) do keys[pp.key] = c.path[i] end
  local path = row.path:gsub("{(%w+)}", function(k) return pct(keys[k]) end)
  local enc = form(c.pairs)
  local url, body = base_url .. path, nil
  if row.method == "POST" then body = enc elseif enc ~= "" then url = url .. "?" .. enc end
  local resp, err = client:_http({ op = row.name, url = url, body = body, timeout = 30 })
  assert(resp, "emulator request failed: " .. tostring(err and err.message))
  local empty_segment = false
  for i = 1, #row.path_params do empty_segment = empty_segment or c.path[i] == "" end
  -- an empty path value leaves an empty segment: no path of the description fits (404)
  if empty_segment and resp.status == 404 then return false, "routing: no path has an empty segment", 404 end
  if resp.status ~= 400 then return true, nil, resp.status end
  local ok, j = pcall(cjson.decode, resp.body)
  local rule = ok and type(j) == "table" and type(j.details) == "table" and j.details.rule
  return not rule, rule or nil, resp.status, ok and j or nil
end

local function show(v)
  v = tostring(v)
  if #v > 60 then v = v:sub(1, 40) .. "...(" .. #v .. " bytes)" end
  return (v:gsub("[%z\1-\31\127-\255]", function(ch) return string.format("\\%d", ch:byte()) end))
end

-- ------------------------------------------------------------------ the spec

describe("the client's validation and the emulator's oracle", function()
  local e, client, orules

  setup(function()
    e = emulator.start({ no_limits = true })
    client = e:client({ allow_http = true, max_retries = 0 })
    orules = {}
    local exe = os.getenv("TV_EMULATOR") or "build/twilio-verify-emulator"
    local p = assert(io.popen(emulator.shell_quote(exe) .. " --oracle-rules"))
    for line in p:lines() do
      local j = cjson.decode(line)
      if j.rules then orules[j.operation .. " " .. j["in"] .. " " .. j.parameter] = j end
    end
    p:close()
  end)

  teardown(function()
    if client then client:close() end
    if e then e:stop() end
  end)

  it("agree on what is valid, but for the listed, justified differences", function()
    local cases, emu_only = generate(orules)
    local agree, hits, unlisted, valid_n = 0, {}, {}, 0
    for _, c in ipairs(cases) do
      c.client_ok, c.client_err = client_verdict(client, c)
      c.emu_ok, c.emu_rule = emu_verdict(client, e.base_url, c)
      if c.client_ok then valid_n = valid_n + 1 end
      if c.client_ok == c.emu_ok then
        agree = agree + 1
      else
        local known
        for _, k in ipairs(KNOWN) do
          if k.match(c) then known = k; break end
        end
        if known and os.getenv("ORACLE_VERBOSE") then
          print(string.format("  [%s] %s %s = %s: client %s, emulator %s", known.id, c.op.name, c.key, show(c.value),
            tostring(c.client_ok), tostring(c.emu_ok)))
        end
        if known then
          hits[known.id] = hits[known.id] or { n = 0, example = c }
          hits[known.id].n = hits[known.id].n + 1
        else
          unlisted[#unlisted + 1] = c
        end
      end
    end
    local refused_only = 0
    for _, c in ipairs(emu_only) do
      local ok = emu_verdict(client, e.base_url, c)
      if not ok then refused_only = refused_only + 1 else unlisted[#unlisted + 1] = c end
      c.client_ok, c.emu_ok = "n/a (not expressible in Lua)", ok
    end

    local total, listed = #cases + #emu_only, 0
    for _, h in pairs(hits) do listed = listed + h.n end
    print(string.format("\noracle agreement: %d requests; %d to both the client and the emulator (%d valid for the "
      .. "client): %d agree, %d listed differences, %d unlisted; %d to the emulator only (not expressible in Lua): "
      .. "%d refused", total, #cases, valid_n, agree, listed, #unlisted - (#emu_only - refused_only), #emu_only,
      refused_only))
    for _, k in ipairs(KNOWN) do
      local h = hits[k.id]
      print(string.format("  %-22s %4d  e.g. %s %s = %s (client %s, emulator %s)", k.id, h and h.n or 0,
        h and h.example.op.name or "-", h and h.example.key or "", h and show(h.example.value) or "",
        h and tostring(h.example.client_ok) or "", h and tostring(h.example.emu_ok) or ""))
    end
    for _, c in ipairs(unlisted) do
      print(string.format("  UNLISTED %s %s = %s: client %s (%s), emulator %s (%s)", c.op.name, c.key, show(c.value),
        tostring(c.client_ok), c.client_err and show(c.client_err.message) or "", tostring(c.emu_ok),
        show(c.emu_rule or "")))
    end
    assert.is_true(total >= 1000, "at least 1000 requests, got " .. total)
    assert.equal(0, #unlisted, "disagreements that no KNOWN entry explains (listed above)")
    for _, k in ipairs(KNOWN) do
      assert.is_truthy(hits[k.id], "KNOWN difference '" .. k.id .. "' no longer occurs: remove it")
    end
  end)
end)
