#!/bin/sh
# examples/openresty/run.sh start|stop|status -- the sign-in example of
# examples/openresty/ in a local nginx, against the emulator.
#
#   sh examples/openresty/run.sh start   builds what is missing (the LuaJIT
#       module and emulator: make LUA=luajit BUILD=build-luajit; the Debian
#       packages nginx-light libnginx-mod-http-lua lua-cjson curl are
#       installed as root, otherwise the apt-get line is printed), starts the
#       emulator on a free port, fills examples/openresty/nginx.conf into the
#       prefix directory build/openresty-example/ (with its logs/ and tmp/),
#       starts nginx -p on a free port of 127.0.0.1 and prints what to curl.
#   sh examples/openresty/run.sh stop    stops both, by the pids in the
#       prefix directory (nginx.pid, emulator.pid), and waits until they
#       are gone.
#   sh examples/openresty/run.sh status  says whether they run.
#   sh examples/openresty/run.sh device enroll|approve|deny|show
#       the virtual push device of the push sign-in (device.lua next to
#       this script), against the running emulator, its key kept in the
#       prefix directory (device.state, mode 0600).
#
# When the configuration has the push sign-in (/push/webhook), start also
# registers that location as the service's webhook for challenge.approved
# and challenge.denied (bin/twilio-verify webhooks create), so the emulator
# POSTs the signed events to nginx.  When it has the passkey page
# (passkey_login), start also makes a service whose passkeys settings name
# the page's origin, http://localhost:PORT (bin/twilio-verify services
# create), for nginx as TWILIO_VERIFY_PASSKEYS_SERVICE_SID.
#
# Env: NGINX (default /usr/sbin/nginx), TV_NGINX_MODULES (default
# /usr/lib/nginx/modules), TV_EXAMPLE_PREFIX (default build/openresty-example),
# TV_EXAMPLE_TEMPLATE (another config with the same @TOKENS@; the CI check
# runs doc/openresty.md's emulator variant through it).
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$(pwd)
BUILD=build-luajit
NGINX=${NGINX:-/usr/sbin/nginx}
MODULES=${TV_NGINX_MODULES:-/usr/lib/nginx/modules}
PREFIX=${TV_EXAMPLE_PREFIX:-$ROOT/build/openresty-example}
TEMPLATE=${TV_EXAMPLE_TEMPLATE:-$ROOT/examples/openresty/nginx.conf}
case $PREFIX in /*) ;; *) PREFIX=$ROOT/$PREFIX ;; esac
case $TEMPLATE in /*) ;; *) TEMPLATE=$ROOT/$TEMPLATE ;; esac

die() { echo "run.sh: $*" >&2; exit 1; }

# alive PID NAME: PID is a live process whose command line mentions NAME
alive() {
  [ -n "$1" ] && [ -r "/proc/$1/cmdline" ] || return 1
  state=$(sed -n 's/^[0-9]* ([^)]*) \([A-Z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null)
  [ "$state" != Z ] && [ "$state" != X ] && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q "$2"
}
pid_of() { [ -s "$PREFIX/$1" ] && head -n 1 "$PREFIX/$1"; }

# stop_pid FILE NAME SIGNAL: signal the process, wait up to 10 s, then KILL
stop_pid() {
  pid=$(pid_of "$1")
  if alive "$pid" "$2"; then
    kill "-$3" "$pid" 2>/dev/null
    i=0
    while alive "$pid" "$2" && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
    if alive "$pid" "$2"; then kill -KILL "$pid" 2>/dev/null; sleep 0.1; fi
    echo "stopped $2 (pid $pid)"
  fi
  rm -f "$PREFIX/$1"
}

urls() {
  port=$(cat "$PREFIX/nginx.port")
  eport=$(cat "$PREFIX/emulator.port")
  cat <<EOF
emulator  http://127.0.0.1:$eport (pid $(pid_of emulator.pid))
nginx     http://127.0.0.1:$port (pid $(pid_of nginx.pid)), prefix $PREFIX
Try it (user ann, password "demo password for ann"):
  curl -s -X POST http://127.0.0.1:$port/login -d username=ann -d 'password=demo password for ann'
    -> {"step":"enroll","otpauth_uri":"otpauth:\/\/totp\/twilio-verify-emulator:ann?secret=SECRET&..."}
  curl -s -X POST http://127.0.0.1:$port/login -d username=ann -d 'password=demo password for ann' -d code=CODE
    with CODE from the secret of that URI: oathtool --totp -b SECRET,
    or LUA_PATH='lua/?.lua;;' LUA_CPATH='build/?.so;;' bin/twilio-verify totp code SECRET
    -> {"step":"done","user":"ann"}
EOF
  if [ -s "$PREFIX/webhook.sid" ]; then
    run="${TV_EXAMPLE_PREFIX:+TV_EXAMPLE_PREFIX=$TV_EXAMPLE_PREFIX }sh examples/openresty/run.sh"
    cat <<EOF
Push sign-in (webhook $(cat "$PREFIX/webhook.sid") -> http://127.0.0.1:$port/push/webhook; the device stands in for a phone):
  curl -s -X POST http://127.0.0.1:$port/push/enroll -d username=ann -d 'password=demo password for ann'
    -> {"step":"enroll_device","identity":"user-ann-0001","service_sid":"$(cat "$PREFIX/service.sid")","access_token":"..."}
  curl -s -X POST http://127.0.0.1:$port/push/enroll -d username=ann -d 'password=demo password for ann' | $run device enroll
    -> enrolled factor YF... for user-ann-0001 (verified)
  curl -s -X POST http://127.0.0.1:$port/push/login -d username=ann -d 'password=demo password for ann'
    -> {"step":"push","challenge_sid":"YC..."}
  $run device approve
    -> approved YC...: "Log in to Example?" (IP 127.0.0.1)
  curl -s 'http://127.0.0.1:$port/push/status?challenge_sid=CHALLENGE_SID'
    with CHALLENGE_SID from the login answer
    -> {"status":"approved","source":"webhook"}
  $run device deny
    (after another login: the status is then {"status":"denied","source":"webhook"})
  curl -s -o /dev/null -w '%{http_code}\n' -X POST http://127.0.0.1:$port/push/webhook -H 'X-Twilio-Signature: forged' -d account_sid=$(cat "$PREFIX/account.sid") -d service_sid=$(cat "$PREFIX/service.sid") -d entity_identity=user-ann-0001 -d type=challenge.approved -d challenge_sid=CHALLENGE_SID
    a webhook Twilio did not sign -> 403, nothing recorded
EOF
  fi
  if [ -s "$PREFIX/passkeys-service.sid" ]; then
    cat <<EOF
Passkeys (service $(cat "$PREFIX/passkeys-service.sid"), relying party localhost): open in a browser
  http://localhost:$port/passkey/
    as ann with "demo password for ann": "Create a passkey", then "Sign in with a passkey"
EOF
  fi
  if [ -s "$PREFIX/otp-service.sid" ]; then
    run="${TV_EXAMPLE_PREFIX:+TV_EXAMPLE_PREFIX=$TV_EXAMPLE_PREFIX }sh examples/openresty/run.sh"
    cat <<EOF
One-time code by SMS (service $(cat "$PREFIX/otp-service.sid"); the emulator's outbox stands in for the phone):
  curl -s -X POST http://127.0.0.1:$port/otp/send -d user=ann --data-urlencode phone=+15551234567
    -> {"step":"sent","to":"+15551234567"}
  $run messages --to +15551234567 --last
    -> the SMS with the code (the emulator's outbox: bin/twilio-verify emulator messages)
  curl -s -X POST http://127.0.0.1:$port/otp/check --data-urlencode phone=+15551234567 -d code=CODE
    -> {"step":"done","to":"+15551234567"}  (a wrong code: 401 {"error":"wrong code"})
EOF
  fi
  echo "Stop: ${TV_EXAMPLE_PREFIX:+TV_EXAMPLE_PREFIX=$TV_EXAMPLE_PREFIX }sh examples/openresty/run.sh stop"
}

# cli ARGS: bin/twilio-verify on LuaJIT (the build made above) against the
# emulator; the credentials reach it through the environment only
cli() {
  env TWILIO_ACCOUNT_SID="$account_sid" TWILIO_AUTH_TOKEN="$auth_token" \
    TWILIO_VERIFY_SERVICE_SID="$service_sid" TWILIO_VERIFY_BASE_URL="http://127.0.0.1:$eport" \
    LUA_PATH="$ROOT/lua/?.lua;;" LUA_CPATH="$ROOT/$BUILD/?.so;;" luajit bin/twilio-verify "$@" </dev/null
}

# cli_svc SID ARGS: cli on another service of the emulator
cli_svc() {
  sid=$1; shift
  env TWILIO_ACCOUNT_SID="$account_sid" TWILIO_AUTH_TOKEN="$auth_token" \
    TWILIO_VERIFY_SERVICE_SID="$sid" TWILIO_VERIFY_BASE_URL="http://127.0.0.1:$eport" \
    LUA_PATH="$ROOT/lua/?.lua;;" LUA_CPATH="$ROOT/$BUILD/?.so;;" luajit bin/twilio-verify "$@" </dev/null
}

# register_webhook PORT: /push/webhook of nginx as the service's webhook for
# the challenge answers
register_webhook() {
  rm -f "$PREFIX/webhook.sid"
  grep -q '/push/webhook' "$PREFIX/nginx.conf" || return 0
  if ! cli webhooks create --friendly-name openresty-example \
        --event-type challenge.approved --event-type challenge.denied \
        --webhook-url "http://127.0.0.1:$1/push/webhook" >"$PREFIX/webhook.out" 2>&1; then
    why=$(cat "$PREFIX/webhook.out")
    stop >/dev/null
    die "registering the webhook failed: $why"
  fi
  sed -n 's/.*\(YW[0-9a-f]\{32\}\).*/\1/p' "$PREFIX/webhook.out" | head -n 1 >"$PREFIX/webhook.sid"
  [ -s "$PREFIX/webhook.sid" ] || { why=$(cat "$PREFIX/webhook.out"); stop >/dev/null; die "no webhook SID in: $why"; }
}

# passkeys_service PORT: when the configuration has the passkey page, a
# service whose passkeys settings name the page's origin: relying party
# localhost, origin http://localhost:PORT (WebAuthn takes plain http only
# from localhost).  Made with `services create`; on another try's port,
# updated.  Its SID goes to nginx as TWILIO_VERIFY_PASSKEYS_SERVICE_SID.
passkeys_service() {
  if ! grep -q 'passkey_login' "$PREFIX/nginx.conf"; then
    rm -f "$PREFIX/passkeys-service.sid"
    return 0
  fi
  if [ -s "$PREFIX/passkeys-service.sid" ]; then
    set -- services update "$(cat "$PREFIX/passkeys-service.sid")" --passkeys-relying-party-origins "http://localhost:$1"
  else
    set -- services create --friendly-name "Passkeys example" --passkeys-relying-party-id localhost \
      --passkeys-relying-party-name Example --passkeys-relying-party-origins "http://localhost:$1" \
      --passkeys-authenticator-attachment platform --passkeys-discoverable-credentials required \
      --passkeys-user-verification required
  fi
  if ! cli --json "$@" >"$PREFIX/passkeys.out" 2>&1; then
    why=$(cat "$PREFIX/passkeys.out")
    stop >/dev/null
    die "the passkeys service: $why"
  fi
  sed -n 's/.*"sid":"\(VA[0-9a-f]\{32\}\)".*/\1/p' "$PREFIX/passkeys.out" | head -n 1 >"$PREFIX/passkeys-service.sid"
  [ -s "$PREFIX/passkeys-service.sid" ] || { why=$(cat "$PREFIX/passkeys.out"); stop >/dev/null; die "no service SID in: $why"; }
}

# otp_service: when the configuration has the one-time-code sign-in, a
# service for it (made once, with `services create`), its RateLimit
# `per_user` and a Bucket of 3 codes per 10 minutes; its SID goes to nginx
# as TWILIO_VERIFY_OTP_SERVICE_SID.
otp_service() {
  if ! grep -q 'otp_login' "$PREFIX/nginx.conf"; then
    rm -f "$PREFIX/otp-service.sid"
    return 0
  fi
  [ -s "$PREFIX/otp-service.sid" ] && return 0
  if ! cli --json services create --friendly-name "OTP example" >"$PREFIX/otp.out" 2>&1; then
    why=$(cat "$PREFIX/otp.out"); stop >/dev/null; die "the one-time-code service: $why"
  fi
  osid=$(sed -n 's/.*"sid":"\(VA[0-9a-f]\{32\}\)".*/\1/p' "$PREFIX/otp.out" | head -n 1)
  [ -n "$osid" ] || { why=$(cat "$PREFIX/otp.out"); stop >/dev/null; die "no service SID in: $why"; }
  if ! cli_svc "$osid" --json rate-limits create --unique-name per_user \
        --description "codes per user" >"$PREFIX/otp.out" 2>&1; then
    why=$(cat "$PREFIX/otp.out"); stop >/dev/null; die "the per_user rate limit: $why"
  fi
  rk=$(sed -n 's/.*"sid":"\(RK[0-9a-f]\{32\}\)".*/\1/p' "$PREFIX/otp.out" | head -n 1)
  if [ -z "$rk" ] || ! cli_svc "$osid" --json buckets create "$rk" --max 3 --interval 600 >"$PREFIX/otp.out" 2>&1; then
    why=$(cat "$PREFIX/otp.out"); stop >/dev/null; die "the per_user bucket: $why"
  fi
  echo "$osid" >"$PREFIX/otp-service.sid"
}

# device ARGS: examples/openresty/device.lua against the running emulator
device() {
  alive "$(pid_of emulator.pid)" twilio-verify-emulator && [ -s "$PREFIX/emulator.port" ] ||
    die "the emulator is not running (sh examples/openresty/run.sh start)"
  TWILIO_VERIFY_BASE_URL="http://127.0.0.1:$(cat "$PREFIX/emulator.port")" TV_DEVICE_STATE="$PREFIX/device.state" \
    LUA_PATH="$ROOT/lua/?.lua;;" LUA_CPATH="$ROOT/$BUILD/?.so;;" exec luajit examples/openresty/device.lua "$@"
}

# messages ARGS: the emulator's outbox (bin/twilio-verify emulator messages)
messages() {
  alive "$(pid_of emulator.pid)" twilio-verify-emulator && [ -s "$PREFIX/emulator.port" ] ||
    die "the emulator is not running (sh examples/openresty/run.sh start)"
  TWILIO_VERIFY_BASE_URL="http://127.0.0.1:$(cat "$PREFIX/emulator.port")" \
    LUA_PATH="$ROOT/lua/?.lua;;" LUA_CPATH="$ROOT/$BUILD/?.so;;" exec luajit bin/twilio-verify emulator messages "$@"
}

start() {
  if alive "$(pid_of nginx.pid)" nginx && alive "$(pid_of emulator.pid)" twilio-verify-emulator; then
    echo "already running"
    urls
    return 0
  fi
  stop >/dev/null # whatever half is left of an earlier start
  sh .ci/deps nginx-light libnginx-mod-http-lua lua-cjson curl || die "missing packages (above)"
  [ -x "$NGINX" ] || die "no nginx at $NGINX"
  mkdir -p "$PREFIX" || die "cannot create $PREFIX"
  if ! make --no-print-directory LUA=luajit BUILD=$BUILD >"$PREFIX/build.log" 2>&1; then
    cat "$PREFIX/build.log" >&2
    die "make LUA=luajit BUILD=$BUILD failed"
  fi
  # nginx -p needs these before it starts: the logs and the temp paths of the config
  rm -rf "$PREFIX/logs" "$PREFIX/tmp"
  mkdir -p "$PREFIX/logs" "$PREFIX/tmp" && chmod 755 "$PREFIX" || die "cannot create $PREFIX/logs"

  # the emulator, with throwaway credentials, on a port it picks itself
  hex() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }
  account_sid=AC$(hex)
  auth_token=$(hex)
  service_sid=VA$(hex)
  rm -f "$PREFIX/emulator.out" "$PREFIX/emulator.port" "$PREFIX/nginx.port"
  "$ROOT/$BUILD/twilio-verify-emulator" --port 0 --account-sid "$account_sid" --auth-token "$auth_token" \
    >"$PREFIX/emulator.out" 2>"$PREFIX/emulator.log" </dev/null &
  echo $! >"$PREFIX/emulator.pid"
  i=0
  while [ ! -s "$PREFIX/emulator.out" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
  eport=$(head -n 1 "$PREFIX/emulator.out")
  case $eport in
    '' | *[!0-9]*)
      why=$(cat "$PREFIX/emulator.out" "$PREFIX/emulator.log" 2>/dev/null)
      stop >/dev/null
      die "the emulator did not start: $why" ;;
  esac
  echo "$eport" >"$PREFIX/emulator.port"
  echo "$account_sid" >"$PREFIX/account.sid"
  echo "$service_sid" >"$PREFIX/service.sid"

  # nginx on a free port: a random one, another when it is taken
  globals=
  [ "$(id -u)" = 0 ] && globals="user root;" # workers keep root's access to the checkout (local demo only)
  tries=0
  while :; do
    tries=$((tries + 1))
    port=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000))
    sed -e "s|@ROOT@|$ROOT|g" -e "s|@BUILD@|$BUILD|g" -e "s|@PORT@|$port|g" \
      -e "s|@VERIFY_SCHEME@|http|g" -e "s|@VERIFY_SERVER@|127.0.0.1:$eport|g" \
      -e "s|@VERIFY_HOST@|127.0.0.1:$eport|g" -e "s|/usr/lib/nginx/modules|$MODULES|g" \
      "$TEMPLATE" >"$PREFIX/nginx.conf"
    if grep -q '@[A-Z_]*@' "$PREFIX/nginx.conf"; then
      stop >/dev/null
      die "unknown @TOKEN@ left in $PREFIX/nginx.conf: $(grep -o '@[A-Z_]*@' "$PREFIX/nginx.conf" | head -n 1)"
    fi
    passkeys_service "$port"
    otp_service
    : >"$PREFIX/logs/error.log"
    # in the foreground of this shell's background job: $! is the master
    g=$globals
    grep -Eq '^[[:space:]]*daemon[[:space:]]' "$PREFIX/nginx.conf" || g="$g daemon off;"
    set -- -p "$PREFIX/" -c "$PREFIX/nginx.conf"
    [ -n "$g" ] && set -- "$@" -g "$g"
    env TWILIO_ACCOUNT_SID="$account_sid" TWILIO_AUTH_TOKEN="$auth_token" \
      TWILIO_VERIFY_SERVICE_SID="$service_sid" TWILIO_VERIFY_BASE_URL="http://127.0.0.1:$eport" \
      TWILIO_VERIFY_PASSKEYS_SERVICE_SID="$(cat "$PREFIX/passkeys-service.sid" 2>/dev/null)" \
      TWILIO_VERIFY_OTP_SERVICE_SID="$(cat "$PREFIX/otp-service.sid" 2>/dev/null)" \
      "$NGINX" "$@" >"$PREFIX/nginx.out" 2>&1 </dev/null &
    echo $! >"$PREFIX/nginx.pid"
    echo "$port" >"$PREFIX/nginx.port"
    pid=$(pid_of nginx.pid)
    # until the background job has exec'd env and nginx, its cmdline is this
    # script's: wait for that (at most 1 s) before reading "not alive" as an end
    i=0
    while [ $i -lt 20 ] && [ -r "/proc/$pid/cmdline" ] && ! alive "$pid" nginx; do sleep 0.05; i=$((i + 1)); done
    i=0
    while alive "$pid" nginx && [ $i -lt 200 ]; do
      code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$port/__ready" 2>/dev/null)
      case $code in [1-5][0-9][0-9]) register_webhook "$port"; urls; return 0 ;; esac
      sleep 0.05
      i=$((i + 1))
    done
    why=$(cat "$PREFIX/nginx.out" "$PREFIX/logs/error.log" 2>/dev/null)
    stop_pid nginx.pid nginx KILL >/dev/null
    if [ $tries -ge 8 ] || ! echo "$why" | grep -q "Address already in use"; then
      stop >/dev/null
      die "nginx did not start: $why"
    fi
  done
}

stop() {
  stop_pid nginx.pid nginx QUIT
  stop_pid emulator.pid twilio-verify-emulator TERM
  # (device.state too: its factor was the stopped emulator's)
  rm -f "$PREFIX/nginx.port" "$PREFIX/emulator.port" "$PREFIX/webhook.sid" "$PREFIX/webhook.out" \
    "$PREFIX/account.sid" "$PREFIX/service.sid" "$PREFIX/device.state" "$PREFIX/passkeys-service.sid" \
    "$PREFIX/passkeys.out" "$PREFIX/otp-service.sid" "$PREFIX/otp.out"
}

status() {
  rc=0
  if alive "$(pid_of nginx.pid)" nginx; then echo "nginx running (pid $(pid_of nginx.pid))"
  else echo "nginx not running"; rc=1; fi
  if alive "$(pid_of emulator.pid)" twilio-verify-emulator; then
    echo "emulator running (pid $(pid_of emulator.pid))"
  else echo "emulator not running"; rc=1; fi
  return $rc
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  device) shift; device "$@" ;;
  messages) shift; messages "$@" ;;
  *) echo "usage: sh examples/openresty/run.sh start|stop|status|device enroll|approve|deny|show|messages [--to N]" >&2; exit 2 ;;
esac
