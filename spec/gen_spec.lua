-- The generator of the operation data (api/gen.lua): the committed
-- generated files are what the data makes, a change to the data makes them
-- stale (the check fails), and malformed data is refused with a message
-- naming the file, the row and the field.
local process = require "support.process"
local sh, read, write = process.sh, process.read_file, process.write_file



-- a copy of what the generator reads and writes, to break
local FILES = { "README.md", "doc/emulator.md", "doc/operations.lua", "csrc/tv_ops_table.h",
                "csrc/emulator/ops_handlers.h" }
local function copy_tree()
  local dir = os.tmpname()
  os.remove(dir)
  assert(sh("mkdir -p " .. dir .. "/doc " .. dir .. "/csrc/emulator && cp -r api " .. dir .. "/") == 0)
  for _, f in ipairs(FILES) do write(dir .. "/" .. f, read(f)) end
  return dir
end

describe("api/gen.lua", function()
  it("finds the committed generated files current", function()
    local rc, out = sh("lua5.4 api/gen.lua --check")
    assert.equal(0, rc, out)
    assert.matches("generated files are current", out)
  end)

  it("finds them stale after a change to the data, and rewrites them", function()
    local dir = copy_tree()
    finally(function() sh("rm -rf " .. dir) end)
    local path = dir .. "/api/entities.lua"
    write(path, (read(path):gsub("an immutable id of your user", "an unchanging id of your user")))
    local rc, out = sh("lua5.4 " .. dir .. "/api/gen.lua --check")
    assert.equal(1, rc, out)
    assert.matches("csrc/tv_ops_table.h is not what", out)
    assert.matches("doc/operations.lua is not what", out)
    rc, out = sh("lua5.4 " .. dir .. "/api/gen.lua")
    assert.equal(0, rc, out)
    assert.matches("an unchanging id of your user", read(dir .. "/doc/operations.lua"))
    assert.matches("an unchanging id of your user", read(dir .. "/csrc/tv_ops_table.h"))
    assert.equal(0, (sh("lua5.4 " .. dir .. "/api/gen.lua --check")))
  end)

  local malformed = {
    { "an unknown field", 'summary = "Fetch an entity."', 'sumary = "Fetch an entity."',
      "fetch_entity: unknown field 'sumary'" },
    { "a bad type", '{ "Identity", "identity",', '{ "Identity", "identifier",', "unknown type 'identifier'" },
    { "an undefined path parameter", 'ENTITIES .. "/{Identity}",\n      summary = "Fetch',
      'ENTITIES .. "/{Who}",\n      summary = "Fetch', "nobody defines the path parameter {Who}" },
    { "a second row of the same name", '{ "delete_entity",', '{ "fetch_entity",', "a second row named fetch_entity" },
    { "an unknown verb", '{ "delete_entity",', '{ "remove_entity",', "verb 'remove'" },
  }
  for _, case in ipairs(malformed) do
    it("refuses " .. case[1], function()
      local dir = copy_tree()
      finally(function() sh("rm -rf " .. dir) end)
      local path = dir .. "/api/entities.lua"
      local src = read(path)
      local a, b = src:find(case[2], 1, true)
      assert(a, "the case's text is not in api/entities.lua: " .. case[2])
      write(path, src:sub(1, a - 1) .. case[3] .. src:sub(b + 1))
      local rc, out = sh("lua5.4 " .. dir .. "/api/gen.lua --check")
      assert.equal(2, rc, out)
      assert.matches("api/entities.lua", out, 1, true)
      assert.matches(case[4], out, 1, true)
    end)
  end
end)
