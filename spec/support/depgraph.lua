-- spec/support/depgraph.lua -- the dependency graph of a set of files and
-- its circles (strongly connected components of more than one file).
--   objects(paths): C object files; A depends on B when A uses a symbol B
--                   defines (nm).  Returns graph, edges' witness symbols.
--   lua_modules(root): Lua modules under root/ by their require()s.
--   circles(graph): { {file, ...}, ... }, each sorted.
local M = {}

function M.objects(paths)
  local defs, uses, files = {}, {}, {}
  for _, f in ipairs(paths) do
    local name = f:match("([^/]+)%.o$")
    files[#files + 1] = name
    uses[name] = {}
    local p = assert(io.popen("nm " .. f))
    for line in p:lines() do
      local t, sym = line:match("^%x*%s+(%a)%s+(%S+)$")
      if t == "U" then uses[name][sym] = true
      elseif t and t:match("[TDRB]") then defs[sym] = name end
    end
    p:close()
  end
  local g = {}
  for _, a in ipairs(files) do
    g[a] = {}
    for sym in pairs(uses[a]) do
      local b = defs[sym]
      if b and b ~= a then g[a][b] = g[a][b] or sym end
    end
  end
  return g
end

function M.lua_modules(root)
  local g = {}
  local p = assert(io.popen("cd " .. root .. " && find . -name '*.lua' | sort"))
  for path in p:lines() do
    local mod = path:gsub("^%./", ""):gsub("%.lua$", ""):gsub("/", ".")
    g[mod] = g[mod] or {}
    local f = assert(io.open(root .. "/" .. path:gsub("^%./", "")))
    for line in f:lines() do
      if not line:match("^%s*%-%-") then
        for dep in line:gmatch("require%s*%(?%s*[\"']([%w%._]+)[\"']") do
          if dep ~= mod then g[mod][dep] = "require" end
        end
      end
    end
    f:close()
  end
  p:close()
  return g
end

function M.circles(g)
  local index, low, onstack, stack, idx, out = {}, {}, {}, {}, 0, {}
  local function strong(v)
    idx = idx + 1
    index[v], low[v] = idx, idx
    stack[#stack + 1] = v
    onstack[v] = true
    for w in pairs(g[v] or {}) do
      if g[w] then
        if not index[w] then
          strong(w)
          low[v] = math.min(low[v], low[w])
        elseif onstack[w] then
          low[v] = math.min(low[v], index[w])
        end
      end
    end
    if low[v] == index[v] then
      local c = {}
      repeat
        local w = table.remove(stack)
        onstack[w] = nil
        c[#c + 1] = w
      until w == v
      if #c > 1 then
        table.sort(c)
        out[#out + 1] = c
      end
    end
  end
  local names = {}
  for v in pairs(g) do names[#names + 1] = v end
  table.sort(names)
  for _, v in ipairs(names) do if not index[v] then strong(v) end end
  return out
end

-- "a -> b (sym)" lines of the edges inside a circle
function M.explain(g, circle)
  local inside, lines = {}, {}
  for _, v in ipairs(circle) do inside[v] = true end
  for _, a in ipairs(circle) do
    for b, why in pairs(g[a]) do
      if inside[b] then lines[#lines + 1] = a .. " -> " .. b .. " (" .. why .. ")" end
    end
  end
  table.sort(lines)
  return table.concat(lines, "\n")
end

return M
