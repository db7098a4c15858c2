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
end)
