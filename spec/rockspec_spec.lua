-- The rockspec builds twilio.verify.core from every C file of the core and
-- the binding: a file added to csrc/ but not to the rockspec would build
-- with make and fail to load after `luarocks make` (undefined symbol).
describe("rockspec", function()
  it("lists every csrc/tv_*.c and csrc/lua_*.c, and nothing else", function()
    local env = {}
    local chunk = assert(loadfile("twilio-verify-scm-1.rockspec", "t", env))
    chunk()
    local listed = {}
    for _, src in ipairs(env.build.modules["twilio.verify.core"].sources) do listed[#listed + 1] = src end
    table.sort(listed)
    local found = {}
    local p = assert(io.popen("ls csrc/tv_*.c csrc/lua_*.c"))
    for line in p:lines() do found[#found + 1] = line end
    p:close()
    table.sort(found)
    assert.is_true(#found > 10)
    assert.same(found, listed)
  end)

  it("installs every Lua module under lua/ by its module name", function()
    local env = {}
    assert(loadfile("twilio-verify-scm-1.rockspec", "t", env))()
    local listed = {}
    for name, src in pairs(env.build.modules) do
      if type(src) == "string" then listed[#listed + 1] = name .. "=" .. src end
    end
    table.sort(listed)
    local found = {}
    local p = assert(io.popen("find lua -name '*.lua' | sort"))
    for line in p:lines() do
      found[#found + 1] = line:gsub("^lua/", ""):gsub("%.lua$", ""):gsub("/", ".") .. "=" .. line
    end
    p:close()
    table.sort(found)
    assert.same(found, listed)
  end)

  -- csrc's headers declare everything hidden (#pragma GCC visibility): the
  -- module's own calls between files are then direct, not through the PLT
  -- (fewer indirect branches and cache misses on every call), and no tv_*
  -- symbol can clash with another library loaded in the same process.
  it("exports luaopen_twilio_verify_core from the module and nothing else", function()
    local so = assert(package.searchpath("twilio.verify.core", package.cpath))
    local p = assert(io.popen("nm -D --defined-only " .. so .. " 2>&1"))
    local names = {}
    for line in p:lines() do
      local kind, name = line:match("^%x+%s+(%a)%s+(%S+)$")
      assert(kind, "nm: " .. line)
      if kind:match("[TDBRVW]") then names[#names + 1] = name end
    end
    p:close()
    assert.same({ "luaopen_twilio_verify_core" }, names)
  end)
end)
