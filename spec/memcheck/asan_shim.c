/* asan_shim.c -- test-only helper of `make asan` (see doc/memory-safety.md),
 * LD_PRELOADed into lua5.4 right after the ASan runtime.
 *
 * 1. The ASan runtime is preloaded into the uninstrumented lua5.4 so that
 *    the ASan-built twilio/verify/core.so can load.  busted and the specs
 *    start child processes (sh, curl, oathtool, the emulator); they must not
 *    inherit LD_PRELOAD: uninstrumented tools would run under the ASan
 *    allocator (and LeakSanitizer would judge their exits), and the
 *    emulator, which links the ASan runtime statically, refuses a second
 *    copy.  So LD_PRELOAD is removed from the environment once the dynamic
 *    loader has used it.  (Lua children get it back through the lua5.4
 *    wrapper first on PATH; ASAN_OPTIONS and UBSAN_OPTIONS stay for all.)
 *
 * 2. lua_close() dlclose()s C modules before the process exits, and
 *    LeakSanitizer runs at exit: frames in an unloaded core.so would print
 *    as "<unknown module>".  dlclose is made a no-op here so every report
 *    names our functions and lines.  (Nothing in the suite unloads and
 *    reloads a module; the memory of a mapped library is not a leak.) */
#define _GNU_SOURCE
#include <stdlib.h>

__attribute__((constructor)) static void tv_asan_shim_init(void) { unsetenv("LD_PRELOAD"); }

int dlclose(void *handle);
int dlclose(void *handle) {
    (void)handle;
    return 0;
}
