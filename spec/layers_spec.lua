-- No circles between files: the core (csrc/tv_*.c), the binding
-- (csrc/lua_*.c), the emulator (csrc/emulator/*.c), by the symbols their
-- objects use and define; the Lua modules (lua/), by their require()s.  A
-- file may depend on those below it, never on one that depends on it.
local dg = require "support.depgraph"
local BUILD = os.getenv("TV_BUILD") or "build"

local function objects(glob)
  local p = assert(io.popen("ls " .. BUILD .. "/obj/" .. glob .. " 2>/dev/null"))
  local list = {}
  for line in p:lines() do list[#list + 1] = line end
  p:close()
  return list
end

local function no_circles(g, what)
  local circles = dg.circles(g)
  local text = {}
  for _, c in ipairs(circles) do text[#text + 1] = table.concat(c, " ") .. "\n" .. dg.explain(g, c) end
  assert.equal(0, #circles, what .. " has circles:\n" .. table.concat(text, "\n"))
end

describe("layers", function()
  for _, case in ipairs{ { "the core", "tv_*.o" }, { "the binding", "lua_*.o" },
                         { "the emulator", "emulator/*.o" } } do
    it(case[1] .. " has no circles between its files", function()
      local objs = objects(case[2])
      assert.is_true(#objs > 3, "no objects for " .. case[2] .. " in " .. BUILD .. " (make first)")
      no_circles(dg.objects(objs), case[1])
    end)
  end

  it("the Lua modules have no require() circles", function()
    local g = dg.lua_modules("lua")
    assert.is_table(g["twilio.verify"])
    assert.is_table(g["twilio.verify.cli"])
    no_circles(g, "lua/")
  end)

  it("finds a circle when there is one (the checker works)", function()
    local g = { a = { b = "x" }, b = { c = "y" }, c = { a = "z" }, d = { a = "w" } }
    local c = dg.circles(g)
    assert.equal(1, #c)
    assert.same({ "a", "b", "c" }, c[1])
  end)
end)
