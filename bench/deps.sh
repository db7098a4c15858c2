#!/bin/sh
# The Debian packages `make bench` needs beyond .ci/deps (see there).
exec sh "$(dirname "$0")/../.ci/deps" nginx-light wrk lua-cjson curl valgrind openssl \
  libnginx-mod-http-lua luajit2 libluajit2-5.1-dev # the nginx rows (OpenResty transport, LuaJIT)
