-- twilio.verify.cli.args -- a command's options and arguments from argv.
local ipairs, tonumber = ipairs, tonumber
local require = require
local C = require "twilio.verify.cli.common"
local out = require "twilio.verify.cli.output"
local reg = require "twilio.verify.cli.commands"
local to_integer, die_usage, join, GLOBAL_OPTS = C.to_integer, out.die_usage, reg.join, reg.GLOBAL_OPTS

-------------------------------------------------------------------------------
-- Argument parsing
-------------------------------------------------------------------------------
local function parse(def, argv, first)
  local opts = join(def.options, GLOBAL_OPTS)
  local by_long, by_short, negated = {}, {}, {}
  for _, o in ipairs(opts) do
    by_long[o[1]] = o
    if o.short then by_short[o.short] = o end
    if o.bool then negated["no-" .. o[1]] = o end
  end
  local o, pos = { _cmd = def.name }, {}
  local i, only_pos = first, false
  while i <= #argv do
    local a = argv[i]
    if only_pos or a == "-" or a:sub(1, 1) ~= "-" then
      pos[#pos + 1] = a
    elseif a == "--" then
      only_pos = true
    else
      local name, value = a:match("^%-%-([^=]+)=(.*)$")
      local spec
      local negate = false
      if name then
        spec = by_long[name]
        if not spec and negated[name] then spec, negate = negated[name], true end
      elseif a:sub(1, 2) == "--" then
        name = a:sub(3)
        spec = by_long[name]
        if not spec and negated[name] then spec, negate = negated[name], true end
      else
        name = a:sub(2)
        spec = by_short[name]
      end
      if not spec then die_usage("unknown option '" .. a .. "' for '" .. def.name .. "'", def.name) end
      if spec.value then
        if value == nil then
          i = i + 1
          value = argv[i]
          if value == nil then
            die_usage("option --" .. spec[1] .. " needs a value (" .. spec.value .. ")", def.name)
          end
        end
        if spec.type == "int" then
          local n = to_integer(tonumber(value))
          if not n then die_usage("option --" .. spec[1] .. " must be an integer, got '" .. value .. "'", def.name) end
          value = n
        elseif spec.type == "number" then
          local n = tonumber(value)
          if not n then die_usage("option --" .. spec[1] .. " must be a number, got '" .. value .. "'", def.name) end
          value = n
        end
        if spec.convert then
          local v, why = spec.convert(value)
          if v == nil then die_usage("option --" .. spec[1] .. " " .. why .. ", got '" .. value .. "'", def.name) end
          value = v
        end
        if spec.repeatable then
          local list = o[spec[1]] or {}
          list[#list + 1] = value
          value = list
        end
        o[spec[1]] = value
      elseif spec.bool then
        if value == nil then
          value = not negate
        elseif negate then
          die_usage("option --no-" .. spec[1] .. " takes no value", def.name)
        elseif value == "true" or value == "false" then
          value = value == "true"
        else
          die_usage("option --" .. spec[1] .. " takes true or false, got '" .. value .. "'", def.name)
        end
        o[spec[1]] = value
      else
        if value ~= nil then die_usage("option --" .. spec[1] .. " takes no value", def.name) end
        o[spec[1]] = true
      end
    end
    i = i + 1
  end
  return o, pos
end

return { parse = parse }
