/* benchclock.c -- a monotonic wall clock and the process's peak RSS for the
 * benchmark scripts.  Depends on libc only, so loading it before
 * `require "twilio.verify"` does not pre-load anything the library needs
 * (the startup figure stays honest). */
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define HAVE_CALLGRIND 1
#endif
#endif

/* now() -> seconds (CLOCK_MONOTONIC) */
static int l_now(lua_State *L) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
    return 1;
}

/* cpu() -> user + system seconds of this process */
static int l_cpu(lua_State *L) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
    return 1;
}

/* rss() -> current RSS in KiB, peak RSS (VmHWM) in KiB, from /proc/self/status */
static int l_rss(lua_State *L) {
    FILE *f = fopen("/proc/self/status", "r");
    long cur = -1, peak = -1;
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) sscanf(line + 6, "%ld", &cur);
        else if (strncmp(line, "VmHWM:", 6) == 0) sscanf(line + 6, "%ld", &peak);
    }
    if (f) fclose(f);
    if (peak < 0) {
        struct rusage ru;
        if (getrusage(RUSAGE_SELF, &ru) == 0) peak = ru.ru_maxrss;
    }
    lua_pushinteger(L, cur);
    lua_pushinteger(L, peak);
    return 2;
}

/* callgrind(on) -- start/stop callgrind's instrumentation (a no-op outside
 * valgrind); run under --instr-atstart=no to profile only the loop. */
static int l_callgrind(lua_State *L) {
    int on = lua_toboolean(L, 1);
#ifdef HAVE_CALLGRIND
    if (on) {
        CALLGRIND_ZERO_STATS;
        CALLGRIND_START_INSTRUMENTATION;
    } else {
        CALLGRIND_STOP_INSTRUMENTATION;
    }
#else
    (void)on;
#endif
    return 0;
}

int luaopen_benchclock(lua_State *L);
int luaopen_benchclock(lua_State *L) {
    static const luaL_Reg f[] = {{"now", l_now}, {"cpu", l_cpu}, {"rss", l_rss}, {"callgrind", l_callgrind}, {NULL, NULL}};
    luaL_newlib(L, f);
    return 1;
}
