#!/bin/sh
# spec/memcheck/deps.sh PACKAGE... -- install the extra Debian packages of a
# memory-safety gate (clang libclang-rt-14-dev, valgrind, cppcheck, lua-check)
# when running as root; otherwise print the apt-get line and fail.
# Idempotent and quick when everything is installed (like .ci/deps).
missing=""
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086
  apt-get install -y -qq $missing >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq $missing >/dev/null; } || {
      echo "apt-get install failed for:$missing" >&2
      exit 1
    }
else
  echo "missing Debian packages; run as root:" >&2
  echo "  apt-get update && apt-get install -y$missing" >&2
  exit 1
fi
