#!/bin/sh
# spec/memcheck/lint.sh -- the body of `make lint`.
#
#   cppcheck  csrc/ (core, binding, emulator) and the C of spec/ (fuzz
#             harnesses, C tests), twice: as built for Lua 5.4 and as built
#             for LuaJIT (the binding's compat paths).  Checks: warning,
#             style, performance, portability; suppressions with reasons in
#             spec/memcheck/cppcheck.supp; any finding fails the gate.
#   luacheck  lua/, spec/, examples/ with the committed .luacheckrc.
set -u
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cpp() { # name, label, defines...: output in $tmp/NAME.out, status in $tmp/NAME.rc
  name=$1 label=$2
  shift 2
  echo "cppcheck ($label): csrc spec/fuzz spec/c spec/soak" >"$tmp/$name.out"
  cppcheck --enable=warning,style,performance,portability --std=c11 --error-exitcode=1 --quiet \
    --inline-suppr --suppressions-list=spec/memcheck/cppcheck.supp \
    --library=posix,gnu,libcurl,openssl,lua -I csrc -I csrc/emulator -D__GNUC__ "$@" \
    --template='{file}:{line}:{column}: {severity}({id}): {message}' \
    csrc spec/fuzz spec/c spec/soak >>"$tmp/$name.out" 2>&1
  echo $? >"$tmp/$name.rc"
}
# the two configurations at once (one a core), luacheck meanwhile
cpp lua54 "Lua 5.4" -DLUA_VERSION_NUM=504 -ULUAJIT_VERSION &
cpp luajit "LuaJIT" -DLUA_VERSION_NUM=501 '-DLUAJIT_VERSION="LuaJIT 2.1"' &
echo "luacheck: lua spec examples api bin/twilio-verify .luacheckrc" >"$tmp/luacheck.out"
luacheck --no-color --codes -q lua spec examples api bin/twilio-verify .luacheckrc >>"$tmp/luacheck.out" 2>&1 || fail=1
wait
for n in lua54 luajit; do
  cat "$tmp/$n.out"
  [ "$(cat "$tmp/$n.rc" 2>/dev/null)" = 0 ] || fail=1
done
cat "$tmp/luacheck.out"
if [ "$fail" -ne 0 ]; then
  echo "lint: FAILED"
  exit 1
fi
echo "lint: ok (cppcheck and luacheck clean)"
