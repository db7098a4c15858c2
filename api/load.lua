-- api/load.lua -- reads the operation data (api/index.lua and the resource
-- files it names; format in api/README.md), refuses anything malformed, and
-- derives once what every reader needs.  Used by api/gen.lua (the generated
-- files) and by the checks that read the data directly (.ci/checks.d/docs).
--
--   local model = assert(loadfile("api/load.lua"))(root [, fail])
--   model.ops        the rows, in table order (each with name, openapi_id,
--                    method, path, verb, returns, resource, list_key, id_key,
--                    path_params, params, has_params, nargs, parent, alias,
--                    device, and the words: summary, doc, usage, ...)
--   model.by_name    the rows by name
--   model.resources  the resource files' tables, in table order
--   model.common     api/common.lua
-- `fail(where, fmt, ...)` reports a malformed file (default: raise).
local ROOT, fail = ...
ROOT = ROOT or "."
local format, concat = string.format, table.concat
fail = fail or function(where, msg, ...) error(where .. ": " .. format(msg, ...), 0) end

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
                bool = "TV_PT_BOOL", date = "TV_PT_DATE", sid = "TV_PT_SID", identity = "TV_PT_IDENTITY",
                object = "TV_PT_OBJECT" }
local METHODS = { GET = "TV_GET", POST = "TV_POST", DELETE = "TV_DELETE" }
local VERBS = { create = true, fetch = true, list = true, update = true, delete = true }
-- `format`: what a text value must look like beyond its length (tv_validate.c
-- tv_check_format; each row that uses one says where the rule comes from)
local FORMATS = { e164 = "TV_FMT_E164", e164_or_email = "TV_FMT_E164_OR_EMAIL", e164_prefix = "TV_FMT_E164_PREFIX",
                  country = "TV_FMT_COUNTRY", country_or_all = "TV_FMT_COUNTRY_OR_ALL", ip = "TV_FMT_IP",
                  unique_name = "TV_FMT_UNIQUE_NAME" }

local PARAM_FIELDS = { [1] = "string", [2] = "string", name = "string", min = "number", max = "number",
  enum = "table", prefix = "string", required = "boolean", secret = "boolean", array = "boolean",
  positional = "boolean", paging = "boolean", csv = "boolean", max_items = "number", rule = "string",
  help = "string", metavar = "string", only = "string", required_for = "string", default = "string",
  pairs = "table", pair_max = "table", string_values = "boolean", fields = "table", format = "string", max_members = "number",
  kv_max = "number", email_member = "string" }
local OP_FIELDS = { [1] = "string", [2] = "string", [3] = "string", [4] = "string", verb = "string",
  returns = "string", alias = "string", device = "string", path_params = "table", params = "table",
  summary = "string", cli_summary = "string", doc = "string", cli_doc = "string", usage = "string",
  iter_usage = "string", examples = "table", errors = "string", returns_doc = "string", id_key = "string",
  body = "string", one_of = "table", success = "number" }
local RES_FIELDS = { resource = "string", class = "string", list_key = "string", describe = "table",
  columns = "table", path_params = "table", doc = "string", ops = "table", cli_group = "string" }

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

-- a parameter row -> its normalised copy.  `json`: a member of a JSON body
-- (TV_OPF_JSON_BODY), whose Lua name is its JSON name as it is -- the
-- table is the body -- and, nested in an OBJECT, the dotted path of names
-- from the top (`parent`: the enclosing object's name).
local function param(where, p, in_query, json, parent)
  check_fields(where, p, PARAM_FIELDS)
  local key, ty = p[1], p[2]
  if not key or not ty then fail(where, "a parameter is { WireKey, type, ... }") end
  if not TYPES[ty] then fail(where, "%s: unknown type '%s'", key, ty) end
  local q = {}
  for k, v in pairs(p) do q[k] = v end
  q.key, q.type, q[1], q[2] = key, ty, nil, nil
  if json then
    q.name = p.name or (parent and (parent .. "." .. key) or key)
  else
    q.name = p.name or snake(key)
  end
  q.query = in_query
  q.json = json or nil
  where = where .. ": " .. key
  if ty == "object" then
    if not json then fail(where, "an object parameter belongs to a JSON body (body = \"json\")") end
    if type(p.fields) ~= "table" or #p.fields == 0 then fail(where, "an object needs `fields`") end
    if p.array then fail(where, "an array of objects is not supported") end
    q.fields = {}
    for i, f in ipairs(p.fields) do q.fields[i] = param(where, f, false, true, q.name) end
  elseif p.fields then
    fail(where, "`fields` on a %s", ty)
  end
  if p.positional and parent then fail(where, "a nested member cannot be positional") end
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
  if p.pair_max and not (p.pairs and #p.pair_max == 2) then fail(where, "pair_max: the two pairs' lengths") end
  if p.string_values and ty ~= "json" then fail(where, "string_values on a %s", ty) end
  if p.format and not (FORMATS[p.format] and ty == "text") then fail(where, "format %s on a %s", p.format, ty) end
  if p.format and not p.rule then fail(where, "format %s without the rule it comes from", p.format) end
  if (p.max_members or p.kv_max or p.email_member) and ty ~= "json" then
    fail(where, "max_members/kv_max/email_member on a %s", ty)
  end
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
    for k, v in pairs(o) do if type(k) == "string" and k ~= "path_params" then op[k] = v end end
    op.verb = o.verb or name:match("^(%l+)_")
    if not VERBS[op.verb] then fail(w, "verb '%s' is not one of create, fetch, list, update, delete", tostring(op.verb)) end
    op.returns = o.returns or (op.verb == "list" and "page") or (op.method == "DELETE" and "none") or "instance"
    if op.returns == "page" and not r.list_key then fail(w, "a list operation of a resource without list_key") end
    op.resource, op.list_key = r.resource, op.returns == "page" and r.list_key or nil
    op.id_key = op.returns == "instance" and (o.id_key or "sid") or nil
    if op.success and not (op.success >= 200 and op.success <= 299) then fail(w, "success must be a 2xx status") end
    if op.device and op.device ~= "jwt" and op.device ~= "token" then fail(w, "device must be jwt or token") end
    -- path parameters, in path order: the op's own, else the resource's, else common's
    op.path_params = {}
    for key in op.path:gmatch("{(%w+)}") do
      local spec = (o.path_params and o.path_params[key]) or (r.path_params and r.path_params[key])
        or common.path_params[key]
      if not spec then fail(w, "nobody defines the path parameter {%s}", key) end
      local t = { key }
      for k, v in pairs(spec) do t[k == 1 and 2 or k] = v end
      local pp = param(w .. ": path", t, false)
      op.path_params[#op.path_params + 1] = pp
    end
    if #op.path_params > 4 then fail(w, "more than TV_MAX_PATH_PARAMS (4) path parameters") end
    if o.body and not (o.body == "json" and op.method == "POST") then fail(w, "body must be \"json\" (a POST's)") end
    op.body = op.method == "POST" and (o.body or "form") or nil
    local json = op.body == "json"
    op.params = {}
    for _, p in ipairs(o.params or {}) do op.params[#op.params + 1] = param(w, p, op.method == "GET", json) end
    local npos, table_params = 0, false
    for _, p in ipairs(op.params) do
      if p.positional then npos = npos + 1 else table_params = true end
    end
    op.has_params = table_params
    -- one_of: wire keys of which at least one must be given (none of them required)
    for _, key in ipairs(o.one_of or {}) do
      local found
      for _, p in ipairs(op.params) do if p.key == key then found = p end end
      if not found or found.required or found.positional then
        fail(w, "one_of names %s, which is not an optional parameter of the row", tostring(key))
      end
    end
    if o.one_of and #o.one_of < 2 then fail(w, "one_of needs two keys or more") end
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
      -- (a row without path parameters belongs to no object: create_service, list_service)
      if f and r.resource ~= op.resource and #op.path_params > 0 and #f.path_params == #op.path_params then
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

-- the command line's group of each resource: its own, else its list key,
-- else its name and "s" (with dashes: access-tokens)
for _, r in ipairs(resources) do
  r.cli_group = r.cli_group or ((r.list_key or (r.resource .. "s")):gsub("_", "-"))
end

return { ops = ops, by_name = by_name, resources = resources, common = common, TYPES = TYPES, METHODS = METHODS,
         FORMATS = FORMATS }
