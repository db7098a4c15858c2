#!/bin/sh
# spec/memcheck/deps.sh PACKAGE... -- the extra Debian packages of a
# memory-safety gate (clang libclang-rt-14-dev, valgrind, cppcheck,
# lua-check), installed by .ci/deps (see there).
exec sh "$(dirname "$0")/../../.ci/deps" "$@"
