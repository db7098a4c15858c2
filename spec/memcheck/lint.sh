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
out=$(mktemp)
cpp() { # label, defines...
  label=$1
  shift
  echo "cppcheck ($label): csrc spec/fuzz spec/c"
  cppcheck --enable=warning,style,performance,portability --std=c11 --error-exitcode=1 --quiet \
    --inline-suppr --suppressions-list=spec/memcheck/cppcheck.supp \
    --library=posix,gnu,libcurl,openssl,lua -I csrc -I csrc/emulator -D__GNUC__ "$@" \
    --template='{file}:{line}:{column}: {severity}({id}): {message}' \
    csrc spec/fuzz spec/c >"$out" 2>&1 || fail=1
  cat "$out"
}
cpp "Lua 5.4" -DLUA_VERSION_NUM=504 -ULUAJIT_VERSION
cpp "LuaJIT" -DLUA_VERSION_NUM=501 '-DLUAJIT_VERSION="LuaJIT 2.1"'
rm -f "$out"
echo "luacheck: lua spec examples api bin/twilio-verify .luacheckrc"
luacheck --no-color --codes -q lua spec examples api bin/twilio-verify .luacheckrc || fail=1
if [ "$fail" -ne 0 ]; then
  echo "lint: FAILED"
  exit 1
fi
echo "lint: ok (cppcheck and luacheck clean)"
