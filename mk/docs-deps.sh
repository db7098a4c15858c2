#!/bin/sh
# The Debian packages `make docs` needs (LDoc and the discount Markdown
# processor it uses): installed as root, otherwise the apt-get line is printed.
PKGS="lua-ldoc lua-discount"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
# shellcheck disable=SC2086 # $missing is a list of package names
if [ "$(id -u)" = 0 ]; then
  echo "installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq $missing >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq $missing >/dev/null; } || {
      echo "apt-get install failed for:$missing" >&2; exit 1; }
else
  echo "missing Debian packages for make docs; run as root:" >&2
  echo "  apt-get update && apt-get install -y$missing" >&2
  exit 1
fi
