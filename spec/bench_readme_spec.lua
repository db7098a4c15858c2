-- The README's performance table is generated from a `make bench` run's
-- bench/results.json (bench/readme.lua, `make bench-readme`): the committed
-- table is that file's, a changed figure makes it stale (--check fails),
-- regenerating writes the figure and each row's verdict, missed ones shown.
local process = require "support.process"
local cjson = require "cjson"
local sh, read, write = process.sh, process.read_file, process.write_file

local function copy()
  local dir = os.tmpname()
  os.remove(dir)
  assert(sh("mkdir -p " .. dir .. "/bench") == 0)
  write(dir .. "/README.md", read("README.md"))
  write(dir .. "/bench/results.json", read("bench/results.json"))
  return dir
end

local function run(args)
  return sh("lua5.4 bench/readme.lua " .. args)
end

local function table_of(readme)
  return readme:match("<!%-%- BEGIN bench: performance %-%->(.-)<!%-%- END bench: performance %-%->")
end

describe("bench/readme.lua", function()
  it("finds the committed README's table to be bench/results.json's", function()
    local rc, out = run("--check")
    assert.equal(0, rc, out)
    assert.matches("the performance table is bench/results.json's", out)
    local t = table_of(read("README.md"))
    assert.truthy(t, "README.md has the generated region")
    -- every target of the run has its row, with a verdict
    assert.matches("| nginx handler, fetch_factor %(OpenResty transport%) |", t)
    assert.matches("| list 1,000,000 vs 10,000 factors |", t)
    assert.matches("| memory of a 10,000%-fetch batch |", t)
    assert.matches("| startup: `require` %+ `new`, fresh process |", t)
    for line in t:gmatch("\n(| [^\n]+)") do
      if not line:find("^| |") and not line:find("^|%-") then
        assert.truthy(line:find("| ok |$") or line:find("| %*%*missed%*%* |$"), line)
      end
    end
  end)

  it("finds it stale when a figure changes, and rewrites it with the figure and verdict", function()
    local dir = copy()
    finally(function() sh("rm -rf " .. dir) end)
    local results = dir .. "/bench/results.json"
    local r = cjson.decode(read(results))
    local o = r.openresty.ops.list
    o.ratio, o.ok = 0.5, false
    write(results, cjson.encode(r))
    local rc, out = run("--check " .. results .. " " .. dir .. "/README.md")
    assert.equal(1, rc, out)
    assert.matches("is not .*results.json's: run make bench%-readme", out)
    rc, out = run(results .. " " .. dir .. "/README.md")
    assert.equal(0, rc, out)
    local t = table_of(read(dir .. "/README.md"))
    assert.matches("| nginx handler, a 1,000%-factor page, iterated | [^\n]* | 0%.50× %([^\n]*| %*%*missed%*%* |", t)
    rc, out = run("--check " .. results .. " " .. dir .. "/README.md")
    assert.equal(0, rc, out)
    -- the rest of the README is untouched
    local before, after = read("README.md"), read(dir .. "/README.md")
    assert.equal(before:match("^(.-)<!%-%- BEGIN bench"), after:match("^(.-)<!%-%- BEGIN bench"))
    assert.equal(before:match("<!%-%- END bench: performance %-%->(.*)$"), after:match("<!%-%- END bench: performance %-%->(.*)$"))
  end)

  it("refuses a README without the region", function()
    local dir = copy()
    finally(function() sh("rm -rf " .. dir) end)
    write(dir .. "/README.md", "# no table here\n")
    local rc, out = run(dir .. "/bench/results.json " .. dir .. "/README.md")
    assert.is_not.equal(0, rc)
    assert.matches("has no <!%-%- BEGIN bench: performance %-%->", out)
  end)
end)
