#!/bin/sh
# spec/openresty/rocks.sh -- `luarocks make` of twilio-verify-scm-1.rockspec
# for Lua 5.1, 5.3, 5.4 and LuaJIT 2.1, each from a copy of the sources into
# a throwaway tree (nothing is written to the checkout), then the installed
# rock is loaded by that interpreter.  LuaJIT is luarocks' Lua 5.1 with the
# LuaJIT headers (LUA_INCDIR).  Ends "rocks: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
# the files git knows about (tracked or new, not ignored): no build output
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -co --exclude-standard -z | xargs -0 tar -cf - 2>/dev/null | tar -xf - -C "$src"
else # an export without .git
  tar --exclude='./build*' --exclude='./.git' -cf - . | tar -xf - -C "$src"
fi
pass=0
fail=0
for lua in lua5.1 lua5.3 lua5.4 luajit; do
  case $lua in
    luajit) ver=5.1; extra="LUA_INCDIR=$(pkg-config --cflags-only-I luajit | sed "s/^ *-I//; s/ .*//")" ;;
    *) ver=${lua#lua}; extra= ;;
  esac
  tree=$(mktemp -d)
  echo "== luarocks --lua-version=$ver make ($lua) $extra"
  # shellcheck disable=SC2086
  if (cd "$src" && luarocks --lua-version="$ver" make --tree="$tree" twilio-verify-scm-1.rockspec $extra >"$tree.log" 2>&1) &&
    (cd / && TREE="$tree" LUA_PATH="$tree/share/lua/$ver/?.lua;;" LUA_CPATH="$tree/lib/lua/$ver/?.so;;" "$lua" -e '
      local v = require "twilio.verify"
      local tree = os.getenv("TREE")
      local function from_tree(name, path) -- package.searchpath (5.2+) by hand
        for t in path:gmatch("[^;]+") do
          local f = io.open((t:gsub("%?", (name:gsub("%.", "/")))), "rb")
          if f then f:close() return t:find(tree, 1, true) ~= nil end
        end
        return false
      end
      assert(from_tree("twilio.verify.core", package.cpath), "core.so not from the tree")
      assert(from_tree("twilio.verify.openresty", package.path), "openresty.lua not installed")
      assert(v.totp.code("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", { time = 59, digits = 8 }) == "94287082")
      local c = assert(v.new{ account_sid = "AC" .. string.rep("0", 32), auth_token = "t" })
      assert(tostring(c):find("https://verify.twilio.com", 1, true))
      print(_VERSION .. (jit and (" / " .. jit.version) or "") .. ": rock OK")'); then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    cat "$tree.log"
    echo "FAILED: $lua"
  fi
  rm -rf "$tree" "$tree.log"
done
echo "rocks: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
