#!/bin/sh
# spec/openresty/need-packages.sh PKG... -- install the Debian packages that
# are missing (as root; otherwise print the apt-get line and fail).
# Idempotent and quick when all are present.  Used by .ci/checks.d/{luajit,
# lua-versions,openresty,embed}.  Service start-up is suppressed while
# installing (nginx-light would otherwise start the system nginx).
missing=""
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing Debian packages; run as root:" >&2
  echo "  apt-get update && apt-get install -y$missing" >&2
  exit 1
fi
echo "installing:$missing"
policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then # no services started by the install
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && policy=1
fi
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
apt-get install -y -qq $missing >/dev/null 2>&1 ||
  { apt-get update -qq >/dev/null 2>&1; apt-get install -y -qq $missing >/dev/null; }
rc=$?
[ -n "$policy" ] && rm -f /usr/sbin/policy-rc.d
[ $rc -eq 0 ] || echo "apt-get install failed for:$missing" >&2
exit $rc
