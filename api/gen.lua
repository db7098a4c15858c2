#!/usr/bin/env lua5.4
-- api/gen.lua -- the generator of everything made from the operation data
-- (api/*.lua, format in api/README.md), in the manner of Redis's
-- utils/generate-command-code.py: it reads the data, refuses anything
-- malformed (an unknown field, a bad type, a path parameter nobody
-- defines), derives what the readers need once, and writes
--
--   csrc/tv_ops_table.h           the C operation table (tv_ops.c includes it)
--   csrc/emulator/ops_handlers.h  the emulator's handler of every row (a row
--                                 without a handler fails to link)
--   doc/operations.lua            the LDoc reference of every operation,
--                                 iterator, object method and parameter table
--   README.md, doc/emulator.md    the regions between "<!-- BEGIN generated:
--                                 NAME -->" and "<!-- END generated: NAME -->"
--
-- Usage (from the top of the tree):
--   lua5.4 api/gen.lua            write the files that changed
--   lua5.4 api/gen.lua --check    write nothing; exit 1 naming every file
--                                 that differs from what the data makes
-- Only Lua 5.4 (what the build already has) is needed.
local CHECK = arg and arg[1] == "--check"
local ROOT = (arg and arg[0] or "api/gen.lua"):match("^(.*)/api/[^/]*$") or "."

local format, concat = string.format, table.concat

local function fail(where, msg, ...)
  io.stderr:write("api/gen.lua: ", where, ": ", format(msg, ...), "\n")
  os.exit(2)
end

local function read(path)
  local f = io.open(ROOT .. "/" .. path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- A data file runs with an environment holding only `common` (once it is
-- loaded) and a few pure functions: data, not code with effects.
local function load_data(name, env)
  local path = "api/" .. name .. ".lua"
  local src = read(path) or fail(path, "cannot read")
  local base = { ipairs = ipairs, pairs = pairs, string = { format = format }, table = { concat = concat } }
  for k, v in pairs(env or {}) do base[k] = v end
  local chunk, err = load(src, "@" .. path, "t", base)
  if not chunk then fail(path, "%s", err) end
  local ok, v = pcall(chunk)
  if not ok then fail(path, "%s", v) end
  if type(v) ~= "table" then fail(path, "must return a table") end
  return v
end

-- ---------------------------------------------------------------- the data
local TYPES = { text = "TV_PT_TEXT", int = "TV_PT_INT", enum = "TV_PT_ENUM", json = "TV_PT_JSON",
                bool = "TV_PT_BOOL", date = "TV_PT_DATE", sid = "TV_PT_SID", identity = "TV_PT_IDENTITY" }
local METHODS = { GET = "TV_GET", POST = "TV_POST", DELETE = "TV_DELETE" }
local VERBS = { create = true, fetch = true, list = true, update = true, delete = true }

local PARAM_FIELDS = { [1] = "string", [2] = "string", name = "string", min = "number", max = "number",
  enum = "table", prefix = "string", required = "boolean", secret = "boolean", array = "boolean",
  positional = "boolean", paging = "boolean", csv = "boolean", max_items = "number", rule = "string",
  help = "string", metavar = "string", only = "string", required_for = "string", default = "string",
  pairs = "table" }
local OP_FIELDS = { [1] = "string", [2] = "string", [3] = "string", [4] = "string", verb = "string",
  returns = "string", alias = "string", device = "string", path = "table", params = "table",
  summary = "string", cli_summary = "string", doc = "string", cli_doc = "string", usage = "string",
  iter_usage = "string", examples = "table", errors = "string", returns_doc = "string", id_key = "string" }
local RES_FIELDS = { resource = "string", class = "string", list_key = "string", describe = "table",
  columns = "table", path = "table", doc = "string", ops = "table" }

local function check_fields(where, t, allowed)
  for k, v in pairs(t) do
    local want = allowed[k]
    if not want then fail(where, "unknown field '%s'", tostring(k)) end
    if type(v) ~= want then fail(where, "field '%s' must be a %s, got %s", tostring(k), want, type(v)) end
  end
end

-- "Config.TimeStep" -> "config_time_step" (DESIGN.md: snake case, dots as underscores)
local function snake(key)
  local s = key:gsub("%.", "_"):gsub("(%l)(%u)", "%1_%2"):gsub("(%d)(%u)", "%1_%2"):gsub("(%u)(%u%l)", "%1_%2")
  return s:lower()
end

-- a parameter row -> its normalised copy
local function param(where, p, in_query)
  check_fields(where, p, PARAM_FIELDS)
  local key, ty = p[1], p[2]
  if not key or not ty then fail(where, "a parameter is { WireKey, type, ... }") end
  if not TYPES[ty] then fail(where, "%s: unknown type '%s'", key, ty) end
  local q = {}
  for k, v in pairs(p) do q[k] = v end
  q.key, q.type, q[1], q[2] = key, ty, nil, nil
  q.name = p.name or snake(key)
  q.query = in_query
  where = where .. ": " .. key
  if ty == "enum" and not p.enum then fail(where, "an enum needs `enum`") end
  if p.enum and ty ~= "enum" then fail(where, "`enum` on a %s", ty) end
  if ty == "sid" and not (p.prefix and p.prefix:match("^%u%u$")) then fail(where, "a sid needs a two-letter `prefix`") end
  if p.prefix and ty ~= "sid" then fail(where, "`prefix` on a %s", ty) end
  if (p.min or p.max) and not (ty == "int" or ty == "text" or ty == "json") then fail(where, "min/max on a %s", ty) end
  if ty == "int" and not (p.min and p.max) then fail(where, "an int needs min and max") end
  if p.max_items and not p.array then fail(where, "max_items without array") end
  if p.only and p.only ~= "push" and p.only ~= "totp" then fail(where, "only must be push or totp") end
  if p.required_for and p.required_for ~= p.only then fail(where, "required_for must match only") end
  if p.pairs and not (p.array and ty == "json" and #p.pairs == 2) then fail(where, "pairs: an array of json, two names") end
  return q
end

local common = load_data("common")
local index = load_data("index")
local resources, ops, by_name = {}, {}, {}

for _, file in ipairs(index) do
  local r = load_data(file, { common = common })
  local where = "api/" .. file .. ".lua"
  check_fields(where, r, RES_FIELDS)
  if not (r.resource and r.class and r.ops) then fail(where, "a resource needs resource, class and ops") end
  r.file = file
  r.describe = r.describe or {}
  resources[#resources + 1] = r
  for _, o in ipairs(r.ops) do
    local name = o[1]
    local w = where .. ": " .. tostring(name)
    check_fields(w, o, OP_FIELDS)
    local op = { name = name, openapi_id = o[2], method = o[3], path = o[4], res = r }
    if not (name and op.openapi_id and op.method and op.path) then
      fail(w, "an operation is { name, operationId, METHOD, path, ... }")
    end
    if by_name[name] then fail(w, "a second row named %s", name) end
    if not METHODS[op.method] then fail(w, "unknown method %s", op.method) end
    for k, v in pairs(o) do if type(k) == "string" then op[k] = v end end
    op.verb = o.verb or name:match("^(%l+)_")
    if not VERBS[op.verb] then fail(w, "verb '%s' is not one of create, fetch, list, update, delete", tostring(op.verb)) end
    op.returns = o.returns or (op.verb == "list" and "page") or (op.method == "DELETE" and "none") or "instance"
    if op.returns == "page" and not r.list_key then fail(w, "a list operation of a resource without list_key") end
    op.resource, op.list_key = r.resource, op.returns == "page" and r.list_key or nil
    op.id_key = op.returns == "instance" and (o.id_key or "sid") or nil
    if op.device and op.device ~= "jwt" and op.device ~= "token" then fail(w, "device must be jwt or token") end
    -- path parameters, in path order: the op's own, else the resource's, else common's
    op.path_params = {}
    for key in op.path:gmatch("{(%w+)}") do
      local spec = (o.path and o.path[key]) or (r.path and r.path[key]) or common.path[key]
      if not spec then fail(w, "nobody defines the path parameter {%s}", key) end
      local t = { key }
      for k, v in pairs(spec) do t[k == 1 and 2 or k] = v end
      local pp = param(w .. ": path", t, false)
      op.path_params[#op.path_params + 1] = pp
    end
    if #op.path_params > 4 then fail(w, "more than TV_MAX_PATH_PARAMS (4) path parameters") end
    op.params = {}
    for _, p in ipairs(o.params or {}) do op.params[#op.params + 1] = param(w, p, op.method == "GET") end
    local npos, table_params = 0, false
    for _, p in ipairs(op.params) do
      if p.positional then npos = npos + 1 else table_params = true end
    end
    op.has_params = table_params
    op.nargs = #op.path_params + npos + (table_params and 1 or 0)
    by_name[name] = op
    ops[#ops + 1] = op
  end
end

-- The resource whose objects carry a list or create row as a method: the
-- one whose fetch row takes exactly this row's path parameters (so an
-- object's fields fill them: entity:factors(), service:create_entity()).
local fetch_of = {}
for _, op in ipairs(ops) do if op.verb == "fetch" then fetch_of[op.resource] = fetch_of[op.resource] or op end end
for _, op in ipairs(ops) do
  if op.returns == "page" or op.verb == "create" then
    for _, r in ipairs(resources) do
      local f = fetch_of[r.resource]
      if f and r.resource ~= op.resource and #f.path_params == #op.path_params then
        local same = true
        for i, p in ipairs(op.path_params) do
          local q = f.path_params[i]
          same = same and p.type == q.type and p.prefix == q.prefix
        end
        if same then op.parent = r.resource end
      end
    end
  end
end
for _, op in ipairs(ops) do
  if op.alias and by_name[op.alias] then fail(op.name, "alias %s is an operation's name", op.alias) end
end

-- ------------------------------------------------------------------ output
local outputs = {} -- path -> text

local function cstr(s)
  if s == nil then return "NULL" end
  return '"' .. s:gsub('[\\"]', "\\%0"):gsub("\n", "\\n") .. '"'
end

local function c_table()
  local L = {}
  local function out(...) L[#L + 1] = concat({ ... }) end
  out("/* csrc/tv_ops_table.h -- GENERATED by api/gen.lua from the api/ data files: do not edit.")
  out(" * Change the data and run `make gen` (make test checks it is current).")
  out(" * Included once, by tv_ops.c. */")
  -- string arrays (enums, pairs, describe, examples), deduplicated
  local arrays, array_names = {}, {}
  local function array(list)
    local body = {}
    for _, v in ipairs(list) do body[#body + 1] = cstr(v) end
    body[#body + 1] = "NULL"
    local text = concat(body, ", ")
    if not arrays[text] then
      arrays[text] = "S" .. #array_names
      array_names[#array_names + 1] = text
      out("static const char *const ", arrays[text], "[] = {", text, "};")
    end
    return arrays[text]
  end
  local function spec(p)
    local f = { ".name = " .. cstr(p.name), ".key = " .. cstr(p.key), ".type = " .. TYPES[p.type] }
    if p.min then f[#f + 1] = ".min = " .. format("%dL", p.min) end
    if p.max then f[#f + 1] = ".max = " .. format("%dL", p.max) end
    if p.enum then f[#f + 1] = ".enums = " .. array(p.enum) end
    local flags = {}
    if p.secret then flags[#flags + 1] = "TV_PF_SECRET" end
    if p.query then flags[#flags + 1] = "TV_PF_QUERY" end
    if p.required then flags[#flags + 1] = "TV_PF_REQUIRED" end
    if p.array then flags[#flags + 1] = "TV_PF_ARRAY" end
    if p.positional then flags[#flags + 1] = "TV_PF_POSITIONAL" end
    if p.paging then flags[#flags + 1] = "TV_PF_PAGING" end
    if p.csv then flags[#flags + 1] = "TV_PF_CSV" end
    if #flags > 0 then f[#f + 1] = ".flags = " .. concat(flags, " | ") end
    if p.prefix then f[#f + 1] = ".prefix = " .. cstr(p.prefix) end
    if p.max_items then f[#f + 1] = ".max_items = " .. p.max_items end
    if p.rule then f[#f + 1] = ".rule = " .. cstr(p.rule) end
    if p.help then f[#f + 1] = ".help = " .. cstr(p.help) end
    if p.metavar then f[#f + 1] = ".metavar = " .. cstr(p.metavar) end
    if p.only then f[#f + 1] = ".only = " .. cstr(p.only) end
    if p.required_for then f[#f + 1] = ".required_for = " .. cstr(p.required_for) end
    if p.default then f[#f + 1] = ".def = " .. cstr(p.default) end
    if p.pairs then f[#f + 1] = ".pairs = " .. array(p.pairs) end
    return "    {" .. concat(f, ", ") .. "},"
  end
  local function spec_list(cname, list)
    out("static const tv_param_spec ", cname, "[] = {")
    for _, p in ipairs(list) do out(spec(p)) end
    out("    {.name = NULL},")
    out("};")
  end
  for _, op in ipairs(ops) do
    spec_list("PATH_" .. op.name, op.path_params)
    spec_list("PARAMS_" .. op.name, op.params)
  end
  out("")
  out("const tv_operation tv_operations[] = {")
  for _, op in ipairs(ops) do
    local flags = {}
    if op.device == "jwt" then flags[#flags + 1] = "TV_OPF_DEVICE_JWT" end
    if op.device == "token" then flags[#flags + 1] = "TV_OPF_DEVICE_TOKEN" end
    if op.has_params then flags[#flags + 1] = "TV_OPF_PARAMS" end
    local ret = op.returns == "page" and "TV_RET_PAGE" or op.returns == "none" and "TV_RET_NONE" or "TV_RET_INSTANCE"
    local summary = op.cli_summary or (op.summary and op.summary:gsub("^%u", string.lower):gsub("%.$", ""))
    out("    {.name = ", cstr(op.name), ", .verb = ", cstr(op.verb), ", .resource = ", cstr(op.resource),
        ", .openapi_id = ", cstr(op.openapi_id), ",")
    out("     .method = ", METHODS[op.method], ", .path = ", cstr(op.path), ",")
    out("     .path_params = PATH_", op.name, ", .npath = ", #op.path_params, ", .params = PARAMS_", op.name,
        ", .returns = ", ret, ",")
    out("     .list_key = ", cstr(op.list_key), ", .id_key = ", cstr(op.id_key), ", .alias = ", cstr(op.alias),
        ", .parent = ", cstr(op.parent), ", .nargs = ", op.nargs, ", .flags = ", #flags > 0 and concat(flags, " | ") or "0",
        ",")
    out("     .summary = ", cstr(summary), ",")
    out("     .description = ", cstr(op.cli_doc or op.doc), ",")
    local ex = {}
    for i, e in ipairs(op.examples or {}) do ex[i] = e end
    out("     .examples = ", array(ex), "},")
  end
  out("};")
  out("const size_t tv_noperations = ", #ops, ";")
  out("")
  out("const tv_resource tv_resources[] = {")
  for _, r in ipairs(resources) do
    local cols = {}
    for _, c in ipairs(r.columns or {}) do cols[#cols + 1] = c[1]; cols[#cols + 1] = c[2] end
    out("    {.name = ", cstr(r.resource), ", .class_name = ", cstr(r.class), ", .list_key = ", cstr(r.list_key),
        ", .describe = ", array(r.describe), ", .columns = ", r.columns and array(cols) or "NULL", "},")
  end
  out("};")
  out("const size_t tv_nresources = ", #resources, ";")
  -- arrays were written as they were met: move them above their first use
  local head, decls, body = {}, {}, {}
  for i, l in ipairs(L) do
    if i <= 3 then head[#head + 1] = l
    elseif l:match("^static const char %*const S%d+%[%]") then decls[#decls + 1] = l
    else body[#body + 1] = l end
  end
  return concat(head, "\n") .. "\n" .. concat(decls, "\n") .. "\n" .. concat(body, "\n") .. "\n"
end

local function c_handlers()
  local L = { "/* csrc/emulator/ops_handlers.h -- GENERATED by api/gen.lua from the api/ data files: do not edit.",
              " * Every row of the operation table, in table order, as an X-macro: emu.h",
              " * declares the handler of each (emu_h_<name>) and api.c's registry lists",
              " * them, so a row whose handler nobody wrote fails to link. */",
              "#define EMU_OPERATIONS(X) \\" }
  for i, op in ipairs(ops) do L[#L + 1] = "    X(" .. op.name .. ")" .. (i < #ops and " \\" or "") end
  L[#L + 1] = "#define EMU_NOPERATIONS " .. #ops
  return concat(L, "\n") .. "\n"
end

outputs["csrc/tv_ops_table.h"] = c_table()
outputs["csrc/emulator/ops_handlers.h"] = c_handlers()

-- docs (doc/operations.lua and the generated regions): api/gendoc.lua
local gendoc = assert(loadfile(ROOT .. "/api/gendoc.lua"))
gendoc({ ops = ops, resources = resources, by_name = by_name, common = common, outputs = outputs, read = read,
         fail = fail })

-- ------------------------------------------------------------------ write
local names = {}
for path in pairs(outputs) do names[#names + 1] = path end
table.sort(names)
local stale = 0
for _, path in ipairs(names) do
  local want = outputs[path]
  if type(want) == "function" then want = want(read(path)) end
  if read(path) ~= want then
    stale = stale + 1
    if CHECK then
      io.stderr:write("api/gen.lua: ", path, " is not what api/*.lua makes: run `make gen`\n")
    else
      local f = assert(io.open(ROOT .. "/" .. path, "wb"))
      f:write(want)
      f:close()
      print("wrote " .. path)
    end
  end
end
if CHECK then
  if stale > 0 then os.exit(1) end
  print(format("api/gen.lua: %d generated files are current (%d operations, %d resources)", #names, #ops, #resources))
end
