/*
 * spec/embed/embed_test.c -- an application that embeds Lua 5.4 and uses
 * twilio.verify from two threads at once, each thread with its own
 * lua_State (Lua states are independent; the C core keeps no global state
 * but libcurl's global init, which it does once under pthread_once).
 *
 * Both threads start together (a barrier), so both `require` the module --
 * and run curl_global_init through tv_http_global_init -- at the same
 * moment, then create, verify (TOTP), fetch, update, list and delete
 * factors on the emulator, each under its own identity.  Run it under
 * valgrind --tool=helgrind (spec/embed/run.sh does) to check for races.
 *
 * Environment: TV_BASE_URL, TV_ACCOUNT_SID, TV_AUTH_TOKEN (the emulator's),
 * TV_LUA_PATH, TV_LUA_CPATH (where twilio.verify and twilio.verify.core are:
 * the module is loaded from build/twilio/verify/core.so through
 * package.cpath, as any embedding application would), TV_ROUNDS (default 5).
 * Prints one line per thread and a closing "embed_test: N passed, N failed".
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NTHREADS 2

static const char SCRIPT[] =
    "local base_url, account_sid, auth_token, identity, rounds = ...\n"
    "local verify = require 'twilio.verify'\n"
    "local SVC = 'VA' .. string.rep('e1', 16)\n"
    "local c = assert(verify.new{ account_sid = account_sid, auth_token = auth_token, base_url = base_url })\n"
    "local done = 0\n"
    "for i = 1, rounds do\n"
    "  local f = assert(c:create_factor(SVC, identity, { friendly_name = 'embedded ' .. i, factor_type = 'totp' }))\n"
    "  assert(f:verify(verify.totp.code(f.binding.secret)) == true, 'verify')\n"
    "  local g = assert(c:fetch_factor(SVC, identity, f.sid))\n"
    "  assert(g.status == 'verified' and g.identity == identity, 'fetch')\n"
    "  assert(c:update_factor(SVC, identity, f.sid, { friendly_name = 'renamed ' .. i }).friendly_name == 'renamed ' .. i)\n"
    "  local n = 0\n"
    "  for x in c:factors(SVC, identity, { page_size = 1 }) do n = n + 1; assert(x.sid == f.sid) end\n"
    "  assert(n == 1, 'list')\n"
    "  assert(c:delete_factor(SVC, identity, f.sid) == true, 'delete')\n"
    "  local _, err = c:fetch_factor(SVC, identity, f.sid)\n"
    "  assert(err and err.status == 404, 'fetch after delete')\n"
    "  done = done + 1\n"
    "end\n"
    "c:close()\n"
    "collectgarbage()\n"
    "return done\n";

typedef struct job {
    int index;
    int rounds;
    int done;          /* rounds that passed */
    char error[512];   /* the Lua error, if any */
} job;

static pthread_barrier_t start_line;

static const char *env_or(const char *name, const char *dflt) {
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

/* package.path / package.cpath = value */
static void set_package_field(lua_State *L, const char *field, const char *value) {
    lua_getglobal(L, "package");
    lua_pushstring(L, value);
    lua_setfield(L, -2, field);
    lua_pop(L, 1);
}

static void *run(void *arg) {
    job *j = arg;
    lua_State *L = luaL_newstate();
    if (!L) {
        snprintf(j->error, sizeof j->error, "luaL_newstate failed");
        pthread_barrier_wait(&start_line);
        return NULL;
    }
    luaL_openlibs(L);
    set_package_field(L, "path", env_or("TV_LUA_PATH", "lua/?.lua"));
    set_package_field(L, "cpath", env_or("TV_LUA_CPATH", "build/?.so"));
    char identity[40];
    snprintf(identity, sizeof identity, "embed-thread-%d", j->index);
    if (luaL_loadbuffer(L, SCRIPT, sizeof SCRIPT - 1, "=embed") != LUA_OK) {
        snprintf(j->error, sizeof j->error, "%s", lua_tostring(L, -1));
        pthread_barrier_wait(&start_line);
        lua_close(L);
        return NULL;
    }
    lua_pushstring(L, env_or("TV_BASE_URL", "http://127.0.0.1:8080"));
    lua_pushstring(L, env_or("TV_ACCOUNT_SID", "AC00000000000000000000000000000000"));
    lua_pushstring(L, env_or("TV_AUTH_TOKEN", "emulator-auth-token"));
    lua_pushstring(L, identity);
    lua_pushinteger(L, j->rounds);
    pthread_barrier_wait(&start_line); /* both threads require the module at once */
    if (lua_pcall(L, 5, 1, 0) != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        snprintf(j->error, sizeof j->error, "%s", msg ? msg : "(error object is not a string)");
    } else {
        j->done = (int)lua_tointeger(L, -1);
    }
    lua_close(L);
    return NULL;
}

int main(void) {
    int rounds = atoi(env_or("TV_ROUNDS", "5"));
    if (rounds < 1) rounds = 1;
    job jobs[NTHREADS];
    pthread_t threads[NTHREADS];
    if (pthread_barrier_init(&start_line, NULL, NTHREADS) != 0) {
        fprintf(stderr, "pthread_barrier_init failed\n");
        return 2;
    }
    for (int i = 0; i < NTHREADS; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i].index = i + 1;
        jobs[i].rounds = rounds;
        if (pthread_create(&threads[i], NULL, run, &jobs[i]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            return 2;
        }
    }
    int passed = 0, failed = 0;
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(threads[i], NULL);
        printf("thread %d: %d of %d rounds%s%s\n", jobs[i].index, jobs[i].done, jobs[i].rounds,
               jobs[i].error[0] ? ": " : "", jobs[i].error);
        passed += jobs[i].done;
        failed += jobs[i].rounds - jobs[i].done;
    }
    pthread_barrier_destroy(&start_line);
    printf("embed_test: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
