-- spec/support/process.lua -- the shell-side helpers specs share: run a
-- command, quote for the shell, read and write files, a process's
-- liveness, sleep, temporary directories.  Lua 5.1-5.4 and LuaJIT.
local M = {}

-- Shell quoting of s (single quotes).
function M.shq(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- Run cmd (stderr joined to stdout): rc, output.
function M.sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1; echo \" rc=$?\""))
  local out = p:read("*a")
  p:close()
  local rc = tonumber(out:match(" rc=(%d+)%s*$"))
  return rc, (out:gsub(" rc=%d+%s*$", ""))
end

-- Run cmd; its output (stdout only), as io.popen gives it.
function M.output(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  return out
end

function M.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

function M.write_file(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

-- Is process pid alive (not a zombie)?
function M.alive(pid)
  local stat = M.read_file("/proc/" .. tostring(pid) .. "/stat")
  local state = stat and stat:match("^%d+ %b() (%a)")
  return state ~= nil and state ~= "Z" and state ~= "X"
end

function M.sleep(s) os.execute("sleep " .. tostring(s)) end

-- A new empty directory (mktemp -d); the caller removes it (M.rm_rf).
function M.tmpdir()
  return (M.output("mktemp -d"):gsub("%s+$", ""))
end

function M.rm_rf(dir)
  if dir and dir:match("^/tmp/") then os.execute("rm -rf " .. M.shq(dir)) end
end

return M
