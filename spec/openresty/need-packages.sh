#!/bin/sh
# spec/openresty/need-packages.sh PKG... -- the Debian packages of the
# LuaJIT / Lua-versions / nginx / embedding checks, installed by .ci/deps
# (see there; it also keeps nginx-light from starting the system nginx).
exec sh "$(dirname "$0")/../../.ci/deps" "$@"
