#!/bin/sh
# spec/browser/run.sh -- `make passkeys-browser`: the passkey page of the
# OpenResty example in headless Chromium with its virtual authenticator
# (spec/browser/passkeys_browser.js says what it checks).
#
#   1. puppeteer-core and @simplewebauthn/server (pinned below) from npm into
#      build/passkeys-browser/ (kept: skipped when those versions are there;
#      puppeteer-core never downloads a browser, and the download of the
#      full puppeteer is switched off anyway)
#   2. `sh examples/openresty/run.sh start` with the prefix
#      build/passkeys-browser/example: the emulator, the passkeys service,
#      nginx on 127.0.0.1; the page's URL is the line it prints
#   3. node spec/browser/passkeys_browser.js against that URL, Debian's
#      Chromium (/usr/bin/chromium) with a fresh --user-data-dir; the
#      screenshot goes to build/passkeys-browser/signed-in.png
#   4. `run.sh stop` (also on failure), and nothing of ours left running
#
# Needs node >= 20 and npm, chromium, and what run.sh needs (nginx-light,
# libnginx-mod-http-lua, luajit2; .ci/checks.d/passkeys-browser installs
# the Debian packages).  Env: CHROMIUM, NODE, NPM, PUPPETEER_CORE_VERSION,
# SIMPLEWEBAUTHN_VERSION, TV_BROWSER_TIMEOUT (seconds for the browser part,
# default 90).
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$(pwd)
DIR=build/passkeys-browser
PREFIX=$DIR/example
PUPPETEER_CORE_VERSION=${PUPPETEER_CORE_VERSION:-24.43.1}
SIMPLEWEBAUTHN_VERSION=${SIMPLEWEBAUTHN_VERSION:-13.3.3}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
NODE=${NODE:-node}
NPM=${NPM:-npm}
die() { echo "passkeys-browser: $*" >&2; exit 1; }

command -v "$NODE" >/dev/null 2>&1 || die "node is not installed (>= 20)"
command -v "$NPM" >/dev/null 2>&1 || die "npm is not installed"
major=$("$NODE" -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || die "node $("$NODE" --version) is too old (@simplewebauthn/server $SIMPLEWEBAUTHN_VERSION needs >= 20)"
[ -x "$CHROMIUM" ] || die "no Chromium at $CHROMIUM (apt-get install chromium)"

# ---- 1. the npm packages
version_of() { # PACKAGE: its installed version under $DIR, or nothing
  "$NODE" -p "try { require('./$DIR/node_modules/$1/package.json').version } catch (e) { '' }" 2>/dev/null
}
mkdir -p "$DIR" || die "cannot create $DIR"
if [ "$(version_of puppeteer-core)" != "$PUPPETEER_CORE_VERSION" ] ||
   [ "$(version_of @simplewebauthn/server)" != "$SIMPLEWEBAUTHN_VERSION" ]; then
  echo "installing puppeteer-core@$PUPPETEER_CORE_VERSION @simplewebauthn/server@$SIMPLEWEBAUTHN_VERSION into $DIR"
  [ -f "$DIR/package.json" ] || printf '{"name":"passkeys-browser-check","private":true}\n' >"$DIR/package.json"
  PUPPETEER_SKIP_DOWNLOAD=1 PUPPETEER_SKIP_CHROME_DOWNLOAD=1 \
    "$NPM" install --prefix "$DIR" --no-audit --no-fund --loglevel=error \
    "puppeteer-core@$PUPPETEER_CORE_VERSION" "@simplewebauthn/server@$SIMPLEWEBAUTHN_VERSION" ||
    die "npm install failed"
else
  echo "puppeteer-core@$PUPPETEER_CORE_VERSION and @simplewebauthn/server@$SIMPLEWEBAUTHN_VERSION already in $DIR"
fi

# ---- 2. the example
udd=
stop_all() {
  TV_EXAMPLE_PREFIX=$PREFIX sh examples/openresty/run.sh stop >/dev/null 2>&1
  if [ -n "$udd" ]; then
    # a Chromium left behind (node killed by the timeout): ours have the
    # fresh profile directory on their command line
    for p in $(grep -lF -- "$udd" /proc/[0-9]*/cmdline 2>/dev/null | sed 's|/proc/\([0-9]*\)/cmdline|\1|'); do
      kill -KILL "$p" 2>/dev/null
    done
    rm -rf "$udd"
    udd=
  fi
}
trap stop_all EXIT
trap 'exit 1' INT TERM
rm -f "$DIR/signed-in.png"
TV_EXAMPLE_PREFIX=$PREFIX sh examples/openresty/run.sh start >"$DIR/start.out" 2>&1 ||
  { cat "$DIR/start.out"; die "run.sh start failed"; }
url=$(sed -n 's|^  \(http://localhost:[0-9]*/passkey/\)$|\1|p' "$DIR/start.out" | head -n 1)
[ -n "$url" ] || { cat "$DIR/start.out"; die "run.sh start printed no passkey page"; }
echo "page $url"
npid=$(head -n 1 "$PREFIX/nginx.pid")
epid=$(head -n 1 "$PREFIX/emulator.pid")

# ---- 3. the browser
udd=$(mktemp -d /tmp/tv-chromium.XXXXXX) || die "mktemp failed"
PAGE_URL=$url NODE_DIR="$ROOT/$DIR" CHROMIUM=$CHROMIUM SCREENSHOT="$ROOT/$DIR/signed-in.png" USER_DATA_DIR=$udd \
  LOGS="$ROOT/$PREFIX/logs/error.log:$ROOT/$PREFIX/logs/access.log:$ROOT/$PREFIX/emulator.log:$ROOT/$PREFIX/nginx.out" \
  timeout "${TV_BROWSER_TIMEOUT:-90}" "$NODE" spec/browser/passkeys_browser.js </dev/null
rc=$?
if [ $rc -ne 0 ]; then
  echo "-- nginx error log:"
  grep -v '\[notice\]' "$PREFIX/logs/error.log" | tail -n 20
  echo "-- emulator log:"
  tail -n 20 "$PREFIX/emulator.log"
  die "the browser test failed (exit $rc)"
fi
[ -s "$DIR/signed-in.png" ] || die "no screenshot"

# ---- 4. stopped, nothing left (a zombie is gone: dead, only not reaped yet)
alive() {
  state=$(sed -n 's/^[0-9]* ([^)]*) \([A-Z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null)
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}
stop_all
for p in $npid $epid; do
  i=0
  while alive "$p" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
  alive "$p" && die "pid $p still runs after run.sh stop"
done
echo "passkeys-browser OK (screenshot $DIR/signed-in.png)"
