#!/bin/sh
# Run an example against real Twilio when TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN
# and TWILIO_VERIFY_SERVICE_SID are set; otherwise against a fresh emulator on
# 127.0.0.1 that is stopped (by pid) afterwards.
# Usage: examples/run-demo.sh examples/quickstart.lua   (env: EMULATOR, LUA, BUILD)
set -u
script=$1
LUA=${LUA:-lua5.4}
BUILD=${BUILD:-build}
EMULATOR=${EMULATOR:-$BUILD/twilio-verify-emulator}
export LUA_PATH="lua/?.lua;lua/?/init.lua;${LUA_PATH:-;}"
export LUA_CPATH="$BUILD/?.so;${LUA_CPATH:-;}"
if [ -n "${TWILIO_ACCOUNT_SID:-}" ] && [ -n "${TWILIO_AUTH_TOKEN:-}" ] && [ -n "${TWILIO_VERIFY_SERVICE_SID:-}" ]; then
  echo "== $script against ${TWILIO_VERIFY_BASE_URL:-https://verify.twilio.com}"
  exec "$LUA" "$script"
fi
TWILIO_ACCOUNT_SID=AC$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
TWILIO_AUTH_TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
TWILIO_VERIFY_SERVICE_SID=VA$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export TWILIO_ACCOUNT_SID TWILIO_AUTH_TOKEN TWILIO_VERIFY_SERVICE_SID
portfile=$(mktemp)
"$EMULATOR" --port 0 --account-sid "$TWILIO_ACCOUNT_SID" --auth-token "$TWILIO_AUTH_TOKEN" >"$portfile" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -f "$portfile"' EXIT INT TERM
i=0
while [ ! -s "$portfile" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
port=$(head -n 1 "$portfile")
[ -n "$port" ] || { echo "the emulator did not start" >&2; exit 1; }
export TWILIO_VERIFY_BASE_URL="http://127.0.0.1:$port"
echo "== $script against the emulator at $TWILIO_VERIFY_BASE_URL (pid $pid)"
"$LUA" "$script"
