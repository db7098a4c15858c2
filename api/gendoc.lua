-- api/gendoc.lua -- the documentation made from the operation data, called
-- by api/gen.lua with { ops, resources, by_name, common, outputs, read, fail }:
--
--   doc/operations.lua   LDoc stubs (never loaded) for every operation as a
--                        client method, every list's iterator, every object
--                        method the Lua layer makes from the rows, every
--                        parameter table and every kind's method table
--   README.md            the region "operations": one line per row
--   doc/emulator.md      the region "routes": what the emulator serves
local g = ...
local ops, resources, outputs, fail = g.ops, g.resources, g.outputs, g.fail
local format, concat = string.format, table.concat

local res_of = {}
for _, r in ipairs(resources) do res_of[r.resource] = r end
local fetch_of = {}
for _, op in ipairs(ops) do if op.verb == "fetch" then fetch_of[op.resource] = fetch_of[op.resource] or op end end

local function human(name) return (name:gsub("_", " ")) end

-- the words of a path parameter: its help and rule
local function path_words(p)
  local t = p.help or human(p.name)
  if p.type == "sid" then t = t .. ", `^" .. p.prefix .. "[0-9a-fA-F]{32}$`"
  elseif p.type == "enum" then t = t .. ": " .. concat((function()
      local q = {}
      for i, e in ipairs(p.enum) do q[i] = '`"' .. e .. '"`' end
      return q
    end)(), ", ") end
  return t
end

-- the constraints of a parameter as words
local function constraint(p)
  if p.type == "enum" then
    local q = {}
    for i, e in ipairs(p.enum) do q[i] = '`"' .. e .. '"`' end
    return "one of " .. concat(q, ", ")
  elseif p.type == "int" then
    if p.max == 2147483647 then return ">= " .. p.min end
    return p.min .. ".." .. p.max
  elseif (p.type == "text" or p.type == "json") and p.max then
    return (p.min or 0) .. ".." .. p.max .. " characters"
  elseif p.type == "sid" then
    return "`" .. p.prefix .. "...` (`^" .. p.prefix .. "[0-9a-fA-F]{32}$`)"
  elseif p.type == "identity" then
    return "8..64 dash-separated alphanumerics"
  elseif p.type == "date" then
    return "an RFC 3339 date-time string, or Unix seconds"
  end
end

local function tag_of(p)
  if p.array and p.type == "json" then return "@tparam {table,...}" end
  if p.array then return "@tparam {string,...}" end
  if p.csv then return "@tparam string|{string,...}" end
  if p.type == "int" then return "@int" end
  if p.type == "bool" then return "@bool" end
  if p.type == "date" then return "@tparam string|number" end
  if p.type == "json" then return "@tparam table|string" end
  return "@string"
end

local function param_words(p)
  local w = {}
  if p.required then w[#w + 1] = "**required**" end
  w[#w + 1] = p.help or human(p.name)
  local c = constraint(p)
  if c then w[#w + 1] = c end
  if p.type == "json" and not p.array then w[#w + 1] = "a table (JSON-encoded once) or a JSON object as a string" end
  if p.array then
    w[#w + 1] = "an array" .. (p.max_items and (" of at most " .. p.max_items) or "")
      .. ", each element sent as its own repeated key"
  end
  if p.csv then w[#w + 1] = "a comma-separated string, or an array of strings" end
  if p.default then w[#w + 1] = "the API's default: `" .. p.default .. "`" end
  if p.secret then w[#w + 1] = "redacted in the `log` hook" end
  return concat(w, ", ") .. " (`" .. p.key .. "`)"
end

-- a sample Lua value of a parameter (for the generated usage lines)
local function sample(p)
  local v
  if p.type == "enum" then v = format("%q", p.enum[#p.enum > 1 and 2 or 1])
  elseif p.type == "int" then v = tostring(p.default and tonumber(p.default) or p.min)
  elseif p.type == "bool" then v = "true"
  elseif p.type == "date" then v = "os.time() + 300"
  elseif p.type == "sid" then v = format("%q", p.prefix .. "0123456789abcdef0123456789abcdef")
  elseif p.type == "identity" then v = '"user-0001"'
  elseif p.type == "json" then v = p.pairs and format("{ %s = \"IP\", %s = \"203.0.113.7\" }", p.pairs[1], p.pairs[2])
                                        or '{ note = "..." }'
  else v = p.max and p.max < 8 and '"123456"' or '"..."' end
  if p.array then v = "{ " .. v .. " }" end
  return v
end

local SAMPLE_PATH = { service_sid = "SVC", identity = "USER", sid = "SID", challenge_sid = "CHALLENGE_SID" }
local function path_args(op)
  local a = {}
  for i, p in ipairs(op.path_params) do a[i] = SAMPLE_PATH[p.name] or p.name:upper() end
  for _, p in ipairs(op.params) do if p.positional then a[#a + 1] = sample(p) end end
  return a
end

-- the names of the Lua arguments of a row (`params` optional for lists)
local function signature(op)
  local a = {}
  for i, p in ipairs(op.path_params) do a[i] = p.name end
  for _, p in ipairs(op.params) do if p.positional then a[#a + 1] = p.name end end
  local s = concat(a, ", ")
  if op.has_params then
    if op.returns == "page" then s = s .. (s == "" and "[params]" or " [, params]")
    else s = s .. (s == "" and "params" or ", params") end
  end
  return s .. (s == "" and "[opts]" or " [, opts]")
end

local function returns_word(op)
  if op.returns == "page" then return "page" end
  if op.returns == "none" then return "true" end
  return op.resource
end

local function comment(text, L)
  for line in (text .. "\n"):gmatch("(.-)\n") do L[#L + 1] = line == "" and "--" or ("-- " .. line) end
end

local function params_table_name(op) return op.name .. "_params" end

-- ------------------------------------------------------ doc/operations.lua
local function operations_doc()
  local L = {}
  local function out(s) L[#L + 1] = s end
  out("--- The operations of `twilio.verify`, one entry per row of the operation")
  out("-- table: GENERATED by api/gen.lua from the api/ data files (do not edit;")
  out("-- change the data and run `make gen`). Never loaded: LDoc comments only,")
  out("-- merged into the `twilio.verify` module (config.ld).")
  out("-- @module twilio.verify")
  out("")
  for _, r in ipairs(resources) do
    out("--- The method table of " .. r.resource:gsub("_", " ") .. " objects (see @{" .. r.class .. "}).")
    out("-- Add methods here to extend every " .. human(r.resource) .. ".")
    out("-- @usage function verify." .. r.class .. ":label() return tostring(self." .. (fetch_of[r.resource]
      and fetch_of[r.resource].id_key or "sid") .. ") end")
    out("-- @field " .. r.class)
    out("")
  end
  out("--- @type Client")
  out("")
  for _, op in ipairs(ops) do
    local r = res_of[op.resource]
    out("--- " .. op.summary)
    out("--")
    out("-- **syntax:** `client:" .. op.name .. "(" .. signature(op) .. ") -> " .. returns_word(op) .. " | nil, err`")
    out("--")
    local sends = "Sends `" .. op.method .. " " .. op.path .. "`"
    if op.has_params and op.method == "POST" then sends = sends .. " with only the parameters given" end
    sends = sends .. "."
    if op.returns == "page" then sends = sends .. " The " .. human(op.list_key) .. " are in `page." .. op.list_key .. "`." end
    comment(sends .. (op.doc and ("\n" .. op.doc) or ""), L)
    for _, p in ipairs(op.path_params) do out("-- @string " .. p.name .. " " .. path_words(p)) end
    for _, p in ipairs(op.params) do
      if p.positional then out("-- @string " .. p.name .. " " .. (p.help or human(p.name)) .. ", " .. constraint(p)) end
    end
    if op.has_params then
      out("-- @tparam" .. (op.returns == "page" and "[opt]" or "") .. " table params @{" .. params_table_name(op) .. "}")
    end
    out("-- @tparam[opt] table opts @{call_options}" .. (op.returns == "page" and " (also used by the page's navigation)" or ""))
    if op.returns == "page" then
      out("-- @treturn[1] page the @{page}, with @{" .. r.class .. "} objects in `page." .. op.list_key .. "`")
    elseif op.returns == "none" then
      out("-- @treturn[1] boolean `true`")
    else
      out("-- @treturn[1] " .. r.class .. " the " .. human(op.resource) .. " (a @{" .. r.class .. "} object)"
        .. (op.returns_doc and (", " .. op.returns_doc) or ""))
    end
    out("-- @return[2] `nil`")
    out("-- @treturn[2] table an @{error}" .. (op.errors and (" (" .. op.errors .. ")") or ""))
    out("-- @usage")
    if op.usage then comment(op.usage, L)
    else out("-- local v, err = client:" .. op.name .. "(" .. concat(path_args(op), ", ") .. ")") end
    out("-- @function Client:" .. op.name)
    out("")
    if op.returns == "page" then
      local lk = op.list_key
      out("--- Iterate lazily over " .. human(lk) .. ", page by page (@{Client:" .. op.name .. "}).")
      out("--")
      local a = {}
      for i, p in ipairs(op.path_params) do a[i] = p.name end
      local s = concat(a, ", ")
      out("-- **syntax:** `client:" .. lk .. "(" .. s .. (s == "" and "[params]" or " [, params]")
        .. " [, opts]) -> iterator [, err]`")
      out("--")
      comment([[
An argument error is never raised: it is the second value, and the
iterator's first step gives it (`it:next()` returns `nil, err`; a `for`
loop raises it -- as the message string inside nginx and on Lua 5.1,
where `verify.error_of(raised)` gives the structured error back).

The @{Iterator} is callable (use it in a generic `for`: it raises the
error object on failure) and has `it:next()` for non-raising use.
Nothing is sent until the first item is asked for; breaking out early
leaves nothing pending.]], L)
      for _, p in ipairs(op.path_params) do out("-- @string " .. p.name .. " " .. path_words(p)) end
      out("-- @tparam[opt] table params @{iterator_params}, and the parameters of @{" .. params_table_name(op) .. "}")
      out("-- @tparam[opt] table opts @{call_options}")
      out("-- @treturn Iterator the @{Iterator}, yielding @{" .. r.class .. "} objects")
      out("-- @usage")
      if op.iter_usage then comment(op.iter_usage, L)
      else out("-- for v in client:" .. lk .. "(" .. concat(path_args(op), ", ") .. ") do print(v.sid) end") end
      out("-- @function Client:" .. lk)
      out("")
    end
  end
  -- the kinds and their methods
  for _, r in ipairs(resources) do
    local first = true
    for line in ((r.doc or (r.class .. " objects.")) .. "\n"):gmatch("(.-)\n") do
      out((first and "--- " or "-- ") .. line)
      first = false
    end
    out("-- @type " .. r.class)
    out("")
    local obj = r.resource
    local idk = fetch_of[obj] and fetch_of[obj].id_key or "sid"
    local shown = { "`" .. idk .. "`" }
    for _, f in ipairs(r.describe) do shown[#shown + 1] = "`" .. f .. "`" end
    out("--- `tostring(" .. obj .. ")` shows " .. concat(shown, ", ") .. ".")
    out("--")
    out("-- **syntax:** `tostring(" .. obj .. ") -> string`")
    out("--")
    out("-- @treturn string `\"twilio.verify." .. obj .. " <" .. idk .. ">" .. (#r.describe > 0 and " (...)" or "") .. "\"`")
    out("-- @usage print(" .. obj .. ")")
    out("-- @function " .. r.class .. ":__tostring")
    out("")
    for _, op in ipairs(ops) do
      local np = #op.path_params
      if op.resource == obj and np > 0 and op.returns ~= "page" and op.verb ~= "create" then
        local m = op.verb
        local refresh = op.verb == "fetch" or op.verb == "update"
        out("--- " .. op.summary:gsub("%.$", "") .. " (@{Client:" .. op.name .. "} for this " .. human(obj) .. ")"
          .. (refresh and ", refreshing this table in place." or "."))
        out("--")
        local sig = op.has_params and "params [, opts]" or "[opts]"
        local ret = op.returns == "none" and "true" or (obj .. " (" .. (op.verb == "fetch" and "refreshed" or "updated")
          .. " in place)")
        out("-- **syntax:** `" .. obj .. ":" .. m .. "(" .. sig .. ") -> " .. ret .. " | nil, err`")
        out("--")
        if op.verb == "fetch" and obj == "factor" then out("-- `binding` (returned only at creation) is kept.") end
        if op.has_params then out("-- @tparam table params @{" .. params_table_name(op) .. "}") end
        out("-- @tparam[opt] table opts @{call_options}")
        if op.returns == "none" then out("-- @treturn[1] boolean `true`")
        else out("-- @treturn[1] " .. r.class .. " this object, " .. (op.verb == "fetch" and "refreshed" or "updated")) end
        out("-- @return[2] `nil`")
        out("-- @treturn[2] table an @{error}")
        local p1 = op.params[1]
        out("-- @usage assert(" .. obj .. ":" .. m .. "(" .. (op.has_params and ("{ " .. p1.name .. " = " .. sample(p1) .. " }") or "")
          .. "))")
        out("-- @function " .. r.class .. ":" .. m)
        out("")
      end
    end
    for _, op in ipairs(ops) do
      if op.parent == obj then
        local fr = fetch_of[obj]
        local np = #op.path_params
        local rest = {}
        for _, p in ipairs(op.params) do if p.positional then rest[#rest + 1] = p.name end end
        if op.returns == "page" then
          local lk = op.list_key
          out("--- Iterate over the " .. human(obj) .. "'s " .. human(lk) .. " (@{Client:" .. lk .. "} for this "
            .. human(obj) .. ").")
          out("--")
          out("-- **syntax:** `" .. obj .. ":" .. lk .. "([params] [, opts]) -> iterator [, err]`")
          out("--")
          out("-- @tparam[opt] table params @{iterator_params}")
          out("-- @tparam[opt] table opts @{call_options}")
          out("-- @treturn Iterator the @{Iterator}, yielding @{" .. res_of[op.resource].class .. "} objects")
          out("-- @usage for v in " .. obj .. ":" .. lk .. "() do print(v.sid) end")
          out("-- @function " .. r.class .. ":" .. lk)
        else
          local sig = concat(rest, ", ")
          if op.has_params then sig = sig .. (sig == "" and "params" or ", params") end
          sig = sig .. (sig == "" and "[opts]" or " [, opts]")
          out("--- " .. op.summary:gsub("%.$", "") .. " (@{Client:" .. op.name .. "} for this " .. human(obj) .. ").")
          out("--")
          out("-- **syntax:** `" .. obj .. ":" .. op.name .. "(" .. sig .. ") -> " .. op.resource .. " | nil, err`")
          out("--")
          for _, n in ipairs(rest) do out("-- @string " .. n .. " " .. human(n)) end
          if op.has_params then out("-- @tparam table params @{" .. params_table_name(op) .. "}") end
          out("-- @tparam[opt] table opts @{call_options}")
          out("-- @treturn[1] " .. res_of[op.resource].class .. " the new " .. human(op.resource))
          out("-- @return[2] `nil`")
          out("-- @treturn[2] table an @{error}")
          local a = {}
          for _, p in ipairs(op.params) do if p.positional then a[#a + 1] = sample(p) end end
          local req = {}
          for _, p in ipairs(op.params) do
            if p.required and not p.positional then req[#req + 1] = p.name .. " = " .. sample(p) end
          end
          if op.has_params then a[#a + 1] = "{ " .. concat(req, ", ") .. (#req > 0 and " " or "") .. "}" end
          out("-- @usage local v = assert(" .. obj .. ":" .. op.name .. "(" .. concat(a, ", ") .. "))")
          out("-- @function " .. r.class .. ":" .. op.name)
        end
        out("")
        local _ = fr and np
      end
    end
  end
  -- the parameter tables
  out("--- The parameter tables of the operations (one per row that takes a params table).")
  out("-- @section params")
  out("")
  for _, op in ipairs(ops) do
    if op.has_params then
      local users = { "@{Client:" .. op.name .. "}" }
      if op.parent then
        local m = op.returns == "page" and op.list_key or op.name
        users[#users + 1] = "@{" .. res_of[op.parent].class .. ":" .. m .. "}"
      end
      if #op.path_params > 0 and op.verb == "update" then users[#users + 1] = "@{" .. res_of[op.resource].class .. ":update}" end
      out("--- Parameters of " .. concat(users, " and ") .. ".")
      out("-- " .. (op.method == "GET" and "Sent as query parameters" or "Sent as form keys") ..
        " (the wire key of each in brackets), only those given, in this order.")
      for _, p in ipairs(op.params) do
        if not p.positional then out("-- " .. tag_of(p) .. " " .. p.name .. " " .. param_words(p)) end
      end
      local a = path_args(op)
      local given = {}
      for _, p in ipairs(op.params) do
        if not p.positional and (p.required or #given == 0) then given[#given + 1] = p.name .. " = " .. sample(p) end
      end
      a[#a + 1] = "{ " .. concat(given, ", ") .. " }"
      out("-- @usage local v, err = client:" .. op.name .. "(" .. concat(a, ", ") .. ")")
      out("-- @table " .. params_table_name(op))
      out("")
    end
  end
  return concat(L, "\n") .. "\n"
end

-- -------------------------------------------------------- generated regions
local function region(text, name, body, path)
  local b, e = "<!-- BEGIN generated: " .. name .. " -->", "<!-- END generated: " .. name .. " -->"
  local i = text and text:find(b, 1, true)
  local j = text and text:find(e, 1, true)
  if not (i and j and j > i) then fail(path, "no region %s (%s ... %s)", name, b, e) end
  return text:sub(1, i - 1) .. b .. "\n" .. body .. e .. text:sub(j + #e)
end

local function readme_ops()
  local L = { "| operation | method | path | returns |", "|---|---|---|---|" }
  for _, op in ipairs(ops) do
    local a = {}
    for i, p in ipairs(op.path_params) do a[i] = p.name end
    for _, p in ipairs(op.params) do if p.positional then a[#a + 1] = p.name end end
    if op.has_params then a[#a + 1] = "{...}" end
    local ret = op.returns == "page" and ("page (`" .. op.list_key .. "`)") or op.returns == "none" and "`true`"
      or human(op.resource)
    L[#L + 1] = format("| `%s(%s)` | %s | `%s` | %s |", op.name, concat(a, ", "), op.method, op.path, ret)
  end
  return concat(L, "\n") .. "\n"
end

local function emulator_routes()
  local L = { "| method | path | operation (table row) | success |", "|---|---|---|---|" }
  for _, op in ipairs(ops) do
    local status = op.returns == "none" and "`204`"
      or (op.success and ("`" .. op.success .. "`")) or (op.verb == "create" and "`201`" or "`200`")
    local what = op.returns == "page" and (", page, key `" .. op.list_key .. "`") or op.returns == "instance"
      and (", " .. human(op.resource)) or ""
    L[#L + 1] = format("| `%s` | `%s` | `%s` (%s) | %s%s |", op.method, op.path, op.name, op.openapi_id, status, what)
  end
  return concat(L, "\n") .. "\n"
end

outputs["doc/operations.lua"] = operations_doc()
outputs["README.md"] = function(text) return region(text, "operations", readme_ops(), "README.md") end
outputs["doc/emulator.md"] = function(text) return region(text, "routes", emulator_routes(), "doc/emulator.md") end
return g
