#!/bin/sh
# spec/embed/run.sh BUILD TSAN_BUILD -- run spec/embed/embed_test.c (two
# threads, a lua_State each, requests at once) against a fresh emulator:
#   1. as built (gcc, BUILD/embed/embed_test, module BUILD/twilio/verify/core.so)
#   2. the same binary under valgrind --tool=helgrind (spec/embed/helgrind.supp
#      lists what is reported inside OpenSSL, libcurl, cJSON and p11-kit, and why)
#   3. TSAN_BUILD/embed/embed_test: test, core and binding built with
#      -fsanitize=thread (clang)
# Any race report, failed round or crash fails.  Ends "embed: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
BUILD=${1:-build-embed}
TSAN_BUILD=${2:-build-tsan}
ROUNDS=${TV_ROUNDS:-5}
out=$(mktemp -d)
emu_pid=
cleanup() {
  [ -n "$emu_pid" ] && kill -TERM "$emu_pid" 2>/dev/null && wait "$emu_pid" 2>/dev/null
  rm -rf "$out"
}
trap cleanup EXIT

AC=AC$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
TOKEN=token-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')
"$BUILD/twilio-verify-emulator" --port 0 --account-sid "$AC" --auth-token "$TOKEN" --no-limits \
  >"$out/emu.out" 2>"$out/emu.err" </dev/null &
emu_pid=$!
port=
for _ in $(seq 1 300); do
  port=$(head -n 1 "$out/emu.out" 2>/dev/null)
  [ -n "$port" ] && break
  kill -0 "$emu_pid" 2>/dev/null || break
  sleep 0.02
done
if [ -z "$port" ]; then
  echo "the emulator did not start: $(cat "$out/emu.err")"
  echo "embed: 0 passed, 1 failed"
  exit 1
fi
export TV_BASE_URL="http://127.0.0.1:$port" TV_ACCOUNT_SID="$AC" TV_AUTH_TOKEN="$TOKEN" TV_ROUNDS="$ROUNDS"
export TV_LUA_PATH='lua/?.lua'

pass=0
fail=0
step() { # name, command...
  name=$1
  shift
  echo "== $name"
  if "$@" >"$out/log" 2>&1 && grep -q "^embed_test: $((2 * ROUNDS)) passed, 0 failed$" "$out/log"; then
    pass=$((pass + 1))
    grep -v '^==[0-9]*== ' "$out/log"
  else
    fail=$((fail + 1))
    cat "$out/log"
    echo "FAILED: $name"
  fi
}

TV_LUA_CPATH="$BUILD/?.so" step "two threads, two lua_States (module $BUILD/twilio/verify/core.so)" \
  "$BUILD/embed/embed_test"
TV_LUA_CPATH="$BUILD/?.so" step "the same under valgrind --tool=helgrind" \
  valgrind --tool=helgrind --error-exitcode=99 --suppressions=spec/embed/helgrind.supp "$BUILD/embed/embed_test"
# TSan's shadow memory needs a fixed layout: without ASLR where setarch can
no_aslr=
setarch "$(uname -m)" -R true 2>/dev/null && no_aslr="setarch $(uname -m) -R"
TV_LUA_CPATH="$TSAN_BUILD/?.so" TSAN_OPTIONS="halt_on_error=1 exitcode=66" step \
  "built with -fsanitize=thread ($TSAN_BUILD)" $no_aslr "$TSAN_BUILD/embed/embed_test"

echo "embed: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
