-- twilio.verify.cli.json -- JSON output (the rock depends on nothing but
-- Lua, so a small encoder here): sorted keys, arrays by shape or by the
-- ARRAY mark, verify.null as null.
local string, table, math = string, table, math
local type, pairs, ipairs, tostring, tonumber = type, pairs, ipairs, tostring, tonumber
local getmetatable, setmetatable, require = getmetatable, setmetatable, require
local format, concat = string.format, table.concat
local C = require "twilio.verify.cli.common"

local M = {}
local ARRAY = {} -- metatable marking a table as a JSON array (even when empty)
local function array(t) return setmetatable(t or {}, ARRAY) end

local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n",
                  ["\r"] = "\\r", ["\t"] = "\\t" }
local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or format("\\u%04x", c:byte())
  end) .. '"'
end

local function is_array(t)
  if getmetatable(t) == ARRAY then return true end
  local n = #t
  if n == 0 then return false end
  local count = 0
  for _ in pairs(t) do count = count + 1 end
  return count == n
end

local function json_encode(v, out, depth)
  depth = depth or 0
  if depth > 64 then error("json: nesting too deep") end
  local t = type(v)
  if v == nil or (C.loaded() and v == C.loaded().null) then
    out[#out + 1] = "null"
  elseif t == "boolean" then
    out[#out + 1] = tostring(v)
  elseif t == "number" then
    if C.to_integer(v) and math.abs(v) < 2 ^ 53 then
      out[#out + 1] = format("%d", v)
    elseif v ~= v or v == math.huge or v == -math.huge then
      out[#out + 1] = "null"
    else
      local s = format("%.14g", v)
      if tonumber(s) ~= v then s = format("%.17g", v) end
      out[#out + 1] = s
    end
  elseif t == "string" then
    out[#out + 1] = json_string(v)
  elseif t == "table" then
    if is_array(v) then
      out[#out + 1] = "["
      for i = 1, #v do
        if i > 1 then out[#out + 1] = "," end
        json_encode(v[i], out, depth + 1)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = tostring(k) end
      table.sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        local val = v[k]
        if val == nil then val = v[tonumber(k)] end
        out[#out + 1] = json_string(k)
        out[#out + 1] = ":"
        json_encode(val, out, depth + 1)
      end
      out[#out + 1] = "}"
    end
  else
    out[#out + 1] = json_string(tostring(v))
  end
  return out
end

local function to_json(v) return concat(json_encode(v, {})) end

M.ARRAY, M.array, M.encode, M.is_array = ARRAY, array, to_json, is_array
return M
