-- twilio.verify.cli.ops -- the commands made from the operation table.
local io, string, table = io, string, table
local type, ipairs, tonumber = type, ipairs, tonumber
local pcall, require = pcall, require
local format, concat = string.format, table.concat
local unpack = table.unpack or unpack -- (also runs on 5.1-5.3 and LuaJIT)
local C = require "twilio.verify.cli.common"
local out = require "twilio.verify.cli.output"
local json = require "twilio.verify.cli.json"
local reg = require "twilio.verify.cli.commands"
local S, PROG, EXIT_OK, EXIT_CHECK = C.state, C.PROG, C.EXIT_OK, C.EXIT_CHECK
local say, die_usage, die_err, scalar, print_factor, print_table, plain, page_token, page_line =
  out.say, out.die_usage, out.die_err, out.scalar, out.print_object, out.print_table, out.plain, out.page_token,
  out.page_line
local to_json, array = json.encode, json.array
local GLOBAL_OPTS, CLIENT_OPTS, join, command, new_client = reg.GLOBAL_OPTS, reg.CLIENT_OPTS, reg.join, reg.command,
  reg.new_client
local verify

-- groups: the command groups made from the table, in order; loaded: whether
-- the library (and so the table) loaded
local M = { groups = {}, loaded = false }

-------------------------------------------------------------------------------
-- Commands made from the operation table: every row
--
-- Every row of require("twilio.verify").operations becomes `<list key>
-- <verb>`, e.g. `factors list`, `challenges create`: its path parameters
-- are the positional arguments (the service SID comes from --service,
-- except in the services commands), each parameter an option named after
-- it in kebab case, typed from the row (integers, enums, booleans as
-- --[no-]flag, JSON, date-times, repeatable arrays).  A row with a JSON
-- body (body = "json") takes the body from --body FILE ('-': standard
-- input), and each member as an option too, a nested one by its path
-- (config.relying_party.id: --config-relying-party-id; rawId: --raw-id),
-- which amends the file's body.  The library
-- validates the values, so a value the API would reject exits 2 with
-- nothing sent.  The words of the help (summaries, descriptions, examples,
-- each parameter's help and placeholder, the list columns) are the rows'
-- too (api/*.lua).
-------------------------------------------------------------------------------

local TYPE_METAVAR = { string = "TEXT", integer = "N", json = "JSON", ["date-time"] = "DATE", identity = "IDENTITY" }
-- the status an --auth-payload should leave behind (else exit 3)
local PASS_STATUS = { factor = "verified", challenge = "approved" }
local DEFAULT_COLUMNS = { { "SID", "sid" }, { "CREATED", "date_created" } }

local RESERVED = {} -- option names the client and global options take
for _, d in ipairs(join(CLIENT_OPTS, GLOBAL_OPTS, { { "limit" }, { "page" }, { "page-size" }, { "page-token" } })) do
  RESERVED[d[1]] = true
end

local function or_list(t)
  local shown = {}
  for i, v in ipairs(t) do shown[i] = v == "" and '""' or v end -- "" (an empty value) as such
  if #shown == 1 then return shown[1] end
  return concat(shown, ", ", 1, #shown - 1) .. " or " .. shown[#shown]
end

local function param_help(p)
  local h = p.help or (p.name:gsub("_", " "))
  if p.type == "enum" and p.enum then
    h = h .. ": " .. or_list(p.enum)
  elseif p.type == "integer" and p.min and p.max then
    h = h .. ", " .. p.min .. ".." .. p.max
  elseif p.type == "string" and p.max then
    h = h .. ", " .. (p.min or 0) .. ".." .. p.max .. " characters"
  elseif p.type == "json" and not p.pairs and not h:find("JSON", 1, true) then
    h = h .. " (a JSON object)"
  end
  if p.array then h = h .. (p.max_items and (" (repeatable, up to " .. p.max_items .. ")") or " (repeatable)") end
  if p.required then h = "required: " .. h end
  return h
end

-- value conversions of the options (nil, message: a usage error)
local function to_date(v)
  if v:match("^%d+$") then return tonumber(v) end
  return v
end

local function pair_converter(keys)
  return function(v)
    if v:match("^%s*{") then return v end -- a JSON object, as is
    local a, b = v:match("^([^=]+)=(.*)$")
    if not a then return nil, "must be " .. keys[1]:upper() .. "=" .. keys[2]:upper() .. " or a JSON object" end
    return { [keys[1]] = a, [keys[2]] = b }
  end
end

-- the --option of parameter p (of a JSON body: its members' path, camel
-- case split: config.relying_party.id -> config-relying-party-id, rawId ->
-- raw-id)
local function param_option(p, path)
  local name = path and concat(path, ".") or p.name
  if p.array and name:match("s$") then name = name:sub(1, -2) end -- details_fields -> --details-field
  if path then name = name:gsub("(%l)(%u)", "%1-%2"):lower():gsub("%.", "-") end
  name = name:gsub("_", "-")
  if RESERVED[name] then name = "param-" .. name end
  local d = { name, param = p, path = path, help = param_help(p), repeatable = p.array or nil }
  if p.type == "boolean" then
    d.bool = true
  else
    d.value = p.metavar or (p.type == "sid" and p.prefix and (p.prefix .. "..."))
    if not d.value and p.type == "enum" and p.enum and #concat(p.enum, "|") <= 24 then d.value = concat(p.enum, "|") end
    d.value = d.value or TYPE_METAVAR[p.type] or "VALUE"
    if p.type == "integer" then d.type = "int" end
    if p.type == "date-time" then d.convert = to_date end
    if p.pairs then d.convert = pair_converter(p.pairs) end
  end
  return d
end

-- JSON bodies: every member that is not an object, with its path of keys
local function json_leaves(params, prefix, acc)
  for _, p in ipairs(params) do
    if not p.positional then
      local path = {}
      for i, k in ipairs(prefix) do path[i] = k end
      path[#path + 1] = p.key
      if p.type == "object" and p.fields then json_leaves(p.fields, path, acc)
      else acc[#acc + 1] = param_option(p, path) end
    end
  end
  return acc
end

-- the body of --body FILE ('-': standard input): a JSON object, as a table
local function read_body(file, cmd)
  local text, why
  if file == "-" then
    text = io.stdin:read("*a")
  else
    local f, err = io.open(file, "rb")
    if not f then die_usage("--body: " .. tostring(err), cmd) end
    text = f:read("*a")
    f:close()
  end
  if type(text) ~= "string" or not text:match("^%s*{") then
    die_usage("--body " .. file .. ": not a JSON object", cmd)
  end
  local t
  t, why = require("twilio.verify.core").json_decode(text)
  if type(t) ~= "table" then die_usage("--body " .. file .. ": " .. tostring(why), cmd) end
  return t
end

-- t[path[1]][path[2]]... = v, making the objects on the way
local function set_path(t, path, v, cmd)
  for i = 1, #path - 1 do
    local k = path[i]
    if t[k] == nil then t[k] = {} end
    if type(t[k]) ~= "table" then die_usage(concat(path, ".", 1, i) .. " in --body is not an object", cmd) end
    t = t[k]
  end
  t[path[#path]] = v
end

local function list_options(noun)
  return {
    { "limit", value = "N", type = "int",
      help = "at most N " .. noun .. " (also the page size when --page-size is not given)" },
    { "page-size", value = "N", type = "int", help = noun .. " per request, 1..1000" },
    { "page-token", value = "TOKEN", help = "start at this page token (from a previous --page listing)" },
    { "page-index", value = "N", type = "int",
      help = "with --page-token: the index of that page (the API echoes it as meta.page)" },
    { "page", help = "print one page with its meta (next_page_token) instead of iterating" },
  }
end

local function print_list(op, items)
  local res = verify.resources and verify.resources[op.resource]
  local cols, header, rows = res and res.columns or DEFAULT_COLUMNS, {}, {}
  for i, c in ipairs(cols) do header[i] = c[1] end
  for i, it in ipairs(items) do
    local r = {}
    for j, c in ipairs(cols) do r[j] = scalar(it[c[2]]) end
    rows[i] = r
  end
  print_table(header, rows)
  say(format("(%d %s)", #items, #items == 1 and op.resource or op.list_key))
end

-- the command group of a resource: the data's (api/*.lua `cli_group`; by
-- default its list's key, else its name and "s", with dashes: access-tokens)
local function group_of(ops, resource)
  local r = verify.resources and verify.resources[resource]
  if r and r.group then return r.group end
  for _, o in ipairs(ops) do
    if o.resource == resource and o.list_key then return (o.list_key:gsub("_", "-")) end
  end
  return (resource:gsub("_", "-")) .. "s"
end

local function table_command(ops, op)
  local group = group_of(ops, op.resource)
  local examples
  if op.examples then
    examples = {}
    for i, e in ipairs(op.examples) do examples[i] = PROG .. " " .. e end
  end
  local args, slots = {}, {} -- slots: per Lua argument, "svc" | "arg" | "params"
  local uses_service = false
  for _, pp in ipairs(op.path_params) do
    if pp.name == "service_sid" and op.resource ~= "service" then
      slots[#slots + 1] = "svc"
      uses_service = true
    else
      slots[#slots + 1] = "arg"
      args[#args + 1] = pp.name:upper()
    end
  end
  local popts, filters = {}, {}
  local json_body = op.body == "json"
  for _, p in ipairs(op.params) do
    if p.positional then
      slots[#slots + 1] = "arg"
      args[#args + 1] = p.name:upper()
    elseif json_body then
      json_leaves({ p }, {}, popts)
    elseif not (op.returns == "page" and p.paging) then
      popts[#popts + 1] = param_option(p)
      if op.returns == "page" then filters[#filters + 1] = popts[#popts] end
    end
  end
  if json_body then
    table.insert(popts, 1, { "body", value = "FILE", body = true,
      help = "the JSON body from FILE ('-': standard input); the options below amend it" })
  end
  if op.has_params then slots[#slots + 1] = "params" end
  local client_opts = CLIENT_OPTS
  if not uses_service then
    client_opts = {}
    for _, d in ipairs(CLIENT_OPTS) do if d[1] ~= "service" then client_opts[#client_opts + 1] = d end end
  end
  local options = popts
  if op.returns == "page" then options = join(popts, list_options(op.list_key)) end
  local verb_words = { create = "create", fetch = "show", list = "list", update = "update", delete = "delete" }
  local def = {
    args = args,
    client = true,
    summary = op.summary or ((verb_words[op.verb] or op.verb) .. " " .. (op.returns == "page" and op.list_key
      or ("a " .. op.resource))),
    description = op.description,
    options = join(options, client_opts),
    examples = examples or { PROG .. " " .. group .. " " .. op.verb .. (#args > 0 and " " or "")
                             .. concat(args, " ") },
  }
  if op.returns == "page" and not def.description then
    def.description = format([[
Lists the %s in creation order.  Without --page it follows every page
through the library's lazy iterator (client:%s), stopping after --limit
%s; with --page it prints exactly one page and the token of the next
one (resume with --page-token).]], op.list_key, op.list_key, op.list_key)
  end

  def.run = function(o, ...)
    local pos = { ... }
    local params, any = {}, false
    if json_body then
      -- the body: --body FILE, amended by the member options
      if o.body then params, any = read_body(o.body, o._cmd), true end
      for _, d in ipairs(popts) do
        local v = o[d[1]]
        if v ~= nil and d.path then set_path(params, d.path, v, o._cmd) any = true end
      end
      if op.verb == "update" and not any then
        die_usage("nothing to update: give at least one parameter option or --body FILE", o._cmd)
      end
      for _, p in ipairs(op.params) do
        if p.required and not p.positional and params[p.key] == nil then
          die_usage(p.key .. " is required: give it in --body FILE"
            .. (p.type == "object" and (" or with the --" .. p.key:gsub("_", "-") .. "-* options")
                or (" or as --" .. param_option(p, { p.key })[1])), o._cmd)
        end
      end
    else
      for _, d in ipairs(popts) do
        local v = o[d[1]]
        if v ~= nil then params[d.param.name] = v any = true end
      end
      for _, d in ipairs(popts) do
        if d.param.required and params[d.param.name] == nil then die_usage("--" .. d[1] .. " is required", o._cmd) end
      end
    end
    if op.verb == "update" and op.has_params and not any then
      die_usage("nothing to update: give at least one parameter option", o._cmd)
    end
    local client, svc = new_client(o, not uses_service)
    local a, n, k = {}, 0, 0
    local function path_args()
      for i, s in ipairs(slots) do
        if s == "svc" then a[i] = svc elseif s == "arg" then k = k + 1 a[i] = pos[k] end
        if s ~= "params" then n = i end
      end
    end
    path_args()

    if op.returns == "page" then
      local lp = {}
      for _, d in ipairs(filters) do lp[d.param.name] = params[d.param.name] end
      lp.page_size, lp.page_token = o["page-size"], o["page-token"]
      if o.page then lp.page = o["page-index"] end
      if o.page then
        if o.limit then die_usage("--limit and --page do not go together (use --page-size)", o._cmd) end
        a[n + 1] = lp
        local page, err = client[op.name](client, unpack(a, 1, n + 1))
        if not page then die_err(err) end
        local items = array()
        for i, it in ipairs(page[op.list_key] or {}) do items[i] = plain(it) end
        local next_token = page_token(page.meta and page.meta.next_page_url)
        if S.json then
          say(to_json({ [op.list_key] = items, meta = page.meta, next_page_token = next_token }))
        else
          print_list(op, items)
          say(page_line(o, page.meta))
        end
        return EXIT_OK
      end
      lp.limit = o.limit
      a[n + 1] = lp
      local ok, it = pcall(client[op.list_key], client, unpack(a, 1, n + 1))
      if not ok then die_err(it) end
      local items = array()
      while true do
        local item, err = it:next()
        if item == nil then
          if err ~= nil then die_err(err) end
          break
        end
        items[#items + 1] = plain(item)
      end
      if S.json then say(to_json({ [op.list_key] = items })) else print_list(op, items) end
      return EXIT_OK
    end

    if op.has_params then
      n = n + 1
      a[n] = params
    end
    local v, err = client[op.name](client, unpack(a, 1, n))
    if v == nil or v == false then die_err(err) end
    if op.returns == "none" then
      local last = op.path_params[#op.path_params]
      local id = pos[#pos]
      if S.json then say(to_json({ deleted = true, [last and last.name or "sid"] = id })) else say("deleted " .. id) end
      return EXIT_OK
    end
    if S.json then say(to_json(plain(v))) else print_factor(v) end
    local want = PASS_STATUS[op.resource]
    if params.auth_payload ~= nil and want and v.status ~= want then
      io.stdout:flush()
      if not S.json then io.stderr:write(PROG, ": the ", op.resource, " is not ", want, " (wrong code?)\n") end
      return EXIT_CHECK
    end
    return EXIT_OK
  end
  return group .. " " .. op.verb, def
end

-- groups made from the table (for `help GROUP` and the dispatch), in order
local TABLE_GROUPS = M.groups
do
  local v = C.loaded()
  if v and type(v.operations) == "table" then
    verify = v
    M.loaded = true
    local ops, by_group, order = v.operations, {}, {}
    for _, op in ipairs(ops) do
      local name, def = table_command(ops, op)
      local g = name:match("^(%S+)")
      if not by_group[g] then by_group[g] = {} order[#order + 1] = g end
      local list = by_group[g]
      list[#list + 1] = { name, def }
    end
    -- each group's commands in the order create, fetch, list, update, delete, then others
    local rank = { create = 1, fetch = 2, list = 3, update = 4, delete = 5 }
    for _, g in ipairs(order) do
      local list = by_group[g]
      table.sort(list, function(x, y)
        local vx, vy = x[1]:match("%S+$"), y[1]:match("%S+$")
        local rx, ry = rank[vx] or 99, rank[vy] or 99
        if rx ~= ry then return rx < ry end
        return vx < vy
      end)
      TABLE_GROUPS[#TABLE_GROUPS + 1] = g
      for _, c in ipairs(list) do command(c[1], c[2]) end
    end
  end
end

return M
