-- twilio.verify.cli.output -- what the commands print: lines, tables, the
-- vertical view of an object, page lines, and the two ways out (a usage
-- error: exit 2; a library error: exit 1, or 2 for invalid_argument).
local io, os, string, table = io, os, string, table
local type, pairs, ipairs, tostring, tonumber = type, pairs, ipairs, tostring, tonumber
local require = require
local format, concat = string.format, table.concat
local C = require "twilio.verify.cli.common"
local json = require "twilio.verify.cli.json"
local S, PROG, EXIT_API, EXIT_USAGE = C.state, C.PROG, C.EXIT_API, C.EXIT_USAGE
local to_json, to_integer, is_array = json.encode, C.to_integer, json.is_array


local function say(...) io.stdout:write(...) io.stdout:write("\n") end

-- The fields of an error worth showing (never credentials: the library
-- keeps them out of every error).
local ERROR_FIELDS = { "kind", "message", "param", "status", "code", "more_info", "details", "request_id",
                       "method", "url", "retryable", "retry_after", "transport_code" }

local function die_usage(msg, cmd)
  io.stdout:flush()
  if S.json then
    io.stderr:write(to_json({ error = { kind = "usage", message = msg } }), "\n")
  else
    io.stderr:write(PROG, ": ", msg, "\n")
    io.stderr:write("Run '", PROG, cmd and (" " .. cmd) or "", " --help' for usage.\n")
  end
  os.exit(EXIT_USAGE)
end

-- A library error: invalid_argument -> 2 (nothing was sent), anything the
-- server or network did -> 1.  `hint`: a line of advice after it (not with --json).
local function die_err(err, hint)
  local code = (type(err) == "table" and err.kind == "invalid_argument") and EXIT_USAGE or EXIT_API
  io.stdout:flush()
  if S.json then
    local e = {}
    if type(err) == "table" then
      for _, k in ipairs(ERROR_FIELDS) do e[k] = err[k] end
    else
      e.kind, e.message = "error", tostring(err)
    end
    io.stderr:write(to_json({ error = e }), "\n")
  else
    io.stderr:write(PROG, ": ", (tostring(err):gsub("^twilio%.verify: ", "")), "\n")
    if type(err) == "table" and err.more_info then io.stderr:write("  see ", err.more_info, "\n") end
    if hint then io.stderr:write("  ", hint, "\n") end
  end
  os.exit(code)
end

-- Flatten a factor into { {key, value}, ... } for the vertical table.
-- (Also a challenge, an entity or a service: the fields one has not are skipped.)
local FIELD_ORDER = { "sid", "friendly_name", "factor_type", "status", "identity", "service_sid", "entity_sid",
                      "factor_sid", "account_sid", "date_created", "date_updated", "expiration_date",
                      "date_responded", "responded_reason", "config", "details", "hidden_details", "metadata",
                      "binding", "url" }

local function scalar(v)
  if v == nil or (C.loaded() and v == C.loaded().null) then return "" end
  if type(v) == "table" then return to_json(v) end
  return tostring(v)
end

local function flatten(f)
  local rows, seen = {}, {}
  local function add(k, v)
    if type(v) == "table" and not is_array(v) and next(v) ~= nil then
      local keys = {}
      for kk in pairs(v) do keys[#keys + 1] = tostring(kk) end
      table.sort(keys)
      for _, kk in ipairs(keys) do add(k .. "." .. kk, v[kk]) end
    else
      rows[#rows + 1] = { k, scalar(v) }
    end
  end
  for _, k in ipairs(FIELD_ORDER) do
    if f[k] ~= nil then add(k, f[k]) seen[k] = true end
  end
  local rest = {}
  for k in pairs(f) do if not seen[k] then rest[#rest + 1] = tostring(k) end end
  table.sort(rest)
  for _, k in ipairs(rest) do add(k, f[k]) end
  return rows
end

local function print_factor(f)
  local rows, w = flatten(f), 0
  for _, r in ipairs(rows) do if #r[1] > w then w = #r[1] end end
  for _, r in ipairs(rows) do say(format("%-" .. w .. "s  %s", r[1], r[2])) end
end

local function print_table(header, rows)
  local w = {}
  for i, h in ipairs(header) do w[i] = #h end
  for _, r in ipairs(rows) do
    for i, c in ipairs(r) do if #c > w[i] then w[i] = #c end end
  end
  local function line(r)
    local parts = {}
    for i, c in ipairs(r) do parts[i] = i < #r and format("%-" .. w[i] .. "s", c) or c end
    say(concat(parts, "  "))
  end
  line(header)
  for _, r in ipairs(rows) do line(r) end
end

-- A plain copy of a factor (no methods), for JSON.
local function plain(f)
  local t = {}
  for k, v in pairs(f) do t[k] = v end
  return t
end

local function unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function page_token(url)
  local tok = url and url:match("[?&]PageToken=([^&#]+)")
  return tok and unescape(tok) or nil
end

-- "page N; next page: --page-token T --page-index N+1" under a --page
-- listing.  The API answers meta.page with the Page it was sent: without
-- --page-index a --page-token listing does not know its index.
local function page_line(o, meta)
  meta = meta or {}
  local known = not (o["page-token"] and not o["page-index"])
  local here = "page ? (after --page-token; give --page-index to number it)"
  if known then here = "page " .. tostring(meta.page or o["page-index"] or 0) end
  local tok = page_token(meta.next_page_url)
  local nxt = "none"
  if tok then
    nxt = "--page-token " .. tok
    -- the next Page in next_page_url is the sent one + 1: right only when known
    local idx = to_integer(tonumber(meta.next_page_url:match("[?&]Page=(%d+)") or ""))
    if idx and known then nxt = nxt .. " --page-index " .. idx end
  end
  return here .. "; next page: " .. nxt
end

return { say = say, die_usage = die_usage, die_err = die_err, scalar = scalar, flatten = flatten,
         print_object = print_factor, print_table = print_table, plain = plain, page_token = page_token,
         page_line = page_line }
