-- spec/support/rows.lua -- valid arguments for any row of the operation
-- table, made from the row itself (types, prefixes, enums, bounds), so a
-- spec that covers every operation needs no line per operation.
local M = {}

M.IDENTITY = "user-0001-rows"

-- A valid value of each text format (a parameter's `format`: E.164, country...).
M.FORMATS = { e164 = "+15551234567", e164_or_email = "+15551234567", e164_prefix = "+1555", country = "US",
              country_or_all = "US", ip = "127.0.0.1", unique_name = "rows-unique_1" }

-- A valid Lua value of parameter (or path parameter) p.
function M.valid(p)
  local v
  if p.type == "sid" then v = p.prefix .. string.rep("0", 32)
  elseif p.type == "identity" then v = M.IDENTITY
  elseif p.type == "enum" then v = p.enum[1]
  elseif p.type == "integer" then v = p.min
  elseif p.type == "boolean" then v = true
  elseif p.type == "json" then v = { label = "x", value = "y" }
  elseif p.type == "date-time" then v = "2030-01-01T00:00:00Z"
  elseif p.type == "object" then -- a JSON body's nested object: its required members, by JSON name
    v = {}
    for _, f in ipairs(p.fields or {}) do if f.required then v[f.key] = M.valid(f) end end
  elseif p.format and M.FORMATS[p.format] then v = M.FORMATS[p.format]
  else v = string.rep("x", math.max(p.min or 1, 1)) end
  if p.array then v = { v } end
  return v
end

-- The arguments of a call of row op: its path values (by name in
-- `paths`, else valid ones), its positional parameters, and a params table
-- with every required parameter (plus `params`, which wins) when it takes one.
function M.call_args(op, paths, params)
  local a = {}
  for k, pp in ipairs(op.path_params) do
    local v = M.valid(pp)
    if paths and paths[pp.name] ~= nil then v = paths[pp.name] end
    a[k] = v
  end
  for _, p in ipairs(op.params) do
    if p.positional then
      local v = M.valid(p)
      if params and params[p.name] ~= nil then v = params[p.name] end
      a[#a + 1] = v
    end
  end
  if op.has_params then
    local t = {}
    for _, p in ipairs(op.params) do
      if p.required and not p.positional then t[p.name] = M.valid(p) end
    end
    -- one of several optional parameters must be given (VerificationCheck's To or VerificationSid): the first
    if op.one_of then
      for _, p in ipairs(op.params) do
        if p.key == op.one_of[1] then t[p.name] = M.valid(p) end
      end
    end
    for k, v in pairs(params or {}) do
      local positional = false
      for _, p in ipairs(op.params) do positional = positional or (p.name == k and p.positional) end
      if not positional then t[k] = v end
    end
    a[#a + 1] = t
  end
  return a
end

-- The path arguments of a list row's iterator.
function M.path_args(op, paths)
  local a = {}
  for k, pp in ipairs(op.path_params) do a[k] = (paths and paths[pp.name]) or M.valid(pp) end
  return a
end

return M
