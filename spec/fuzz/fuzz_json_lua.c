/* fuzz_json_lua.c -- libFuzzer harness: JSON -> Lua conversion inside a
 * real lua_State, through the binding's own entry point
 * core.parse_response(op, status, body [, headers]) (lua_client.c ->
 * tv_parse_response -> lua_json.c -> lua_error.c).
 *
 * Input: byte 0 = operation (low 3 bits) and flags, byte 1 = status, byte 2
 * = out-of-memory budget: when flag 0x80 is set the Lua allocator refuses
 * to grow the heap beyond (byte 2 * 64) bytes more during the call, so
 * memory errors are raised in the middle of the conversion; the rest is the
 * body.  Flag 0x20 puts 16 KiB of blanks in front of the body, which makes
 * the binding convert 2xx bodies straight from the text (tv_jcursor,
 * tv_lua_push_json_stream) instead of from a cJSON tree; 0x40 adds
 * Retry-After and Twilio-Request-Id headers.
 * Any raise other than a memory error is a finding; leaks are found by
 * LeakSanitizer (everything C-owned must be boxed in a userdata).  The
 * result is walked and error objects are converted with tostring(). */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "fuzz.h"

#ifndef LUA_OK /* Lua 5.1 */
#define LUA_OK 0
#endif

int luaopen_twilio_verify_core(lua_State *L);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fz_lua_heap {
    size_t used, limit;
} fz_lua_heap;

static fz_lua_heap fz_heap = {0, (size_t)-1};
static lua_State *fz_L;
static unsigned long fz_runs;

static void *fz_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    fz_lua_heap *h = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        h->used -= old;
        return NULL;
    }
    if (nsize > old && h->used - old + nsize > h->limit) return NULL;
    void *p = realloc(ptr, nsize);
    if (p) h->used = h->used - old + nsize;
    return p;
}

/* Under the allocation budget a raise is fine when it is the memory error,
 * or Lua's "stack overflow" from luaL_checkstack, which is how Lua reports a
 * stack it could not grow (also a refused allocation). */
static int fz_oom_raise(int oom, int rc, const char *msg) {
    if (!oom) return 0;
    return rc == LUA_ERRMEM || (rc == LUA_ERRRUN && msg && strncmp(msg, "stack overflow", 14) == 0);
}

static void fz_lua_init(void) {
    fz_L = lua_newstate(fz_lua_alloc, &fz_heap);
    FZ_ASSERT(fz_L != NULL);
    luaL_openlibs(fz_L);
    lua_pushcfunction(fz_L, luaopen_twilio_verify_core); /* luaL_requiref is 5.2+ */
    lua_pushliteral(fz_L, "twilio.verify.core");
    lua_call(fz_L, 1, 1);
    lua_getfield(fz_L, -1, "parse_response");
    lua_setfield(fz_L, LUA_REGISTRYINDEX, "fz.parse_response");
    lua_getfield(fz_L, -1, "null");
    lua_setfield(fz_L, LUA_REGISTRYINDEX, "fz.null");
    lua_settop(fz_L, 0);
}

/* Walk a converted value: keys are strings (objects) or 1..n (arrays),
 * leaves are strings, numbers, booleans or the null sentinel. */
static void fz_walk(lua_State *L, int depth) {
    FZ_ASSERT(depth <= 1001);
    int t = lua_type(L, -1);
    if (t == LUA_TTABLE) {
        FZ_ASSERT(lua_checkstack(L, 3));
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            int kt = lua_type(L, -2);
            FZ_ASSERT(kt == LUA_TSTRING || kt == LUA_TNUMBER);
            fz_walk(L, depth + 1);
            lua_pop(L, 1);
        }
    } else if (t == LUA_TLIGHTUSERDATA) {
        FZ_ASSERT(lua_touserdata(L, -1) == NULL);
    } else {
        FZ_ASSERT(t == LUA_TSTRING || t == LUA_TNUMBER || t == LUA_TBOOLEAN);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const ops[] = {"fetch", "delete", "update", "list", "create", "list", "fetch", "create"};
    static const int statuses[] = {200, 201, 204, 400, 401, 404, 429, 500, 503, 302, 299, 199};
    if (size < 3) return 0;
    if (!fz_L) fz_lua_init();
    lua_State *L = fz_L;
    const char *op = ops[data[0] & 7];
    int status = statuses[data[1] % (sizeof statuses / sizeof statuses[0])];
    int oom = (data[0] & 0x80) != 0;

    lua_getfield(L, LUA_REGISTRYINDEX, "fz.parse_response");
    lua_pushstring(L, op);
    lua_pushinteger(L, status);
    if (data[0] & 0x20) { /* over the binding's streaming threshold */
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        for (int i = 0; i < 16 * 1024 / 64; i++)
            luaL_addlstring(&b, "                                                                ", 64);
        luaL_addlstring(&b, (const char *)data + 3, size - 3);
        luaL_pushresult(&b);
    } else {
        lua_pushlstring(L, (const char *)data + 3, size - 3);
    }
    if (data[0] & 0x40) {
        lua_createtable(L, 0, 2);
        lua_pushliteral(L, "7");
        lua_setfield(L, -2, "Retry-After");
        lua_pushliteral(L, "RQ00000000000000000000000000000000");
        lua_setfield(L, -2, "Twilio-Request-Id");
    } else {
        lua_pushnil(L);
    }
    if (oom) { /* from a collected heap, so an input fails at the same place when replayed */
        lua_gc(L, LUA_GCCOLLECT, 0);
        fz_heap.limit = fz_heap.used + (size_t)data[2] * 64;
    }
    int rc = lua_pcall(L, 4, 2, 0);
    if (rc == LUA_OK && lua_isnil(L, -2)) {
        /* nil, err: stringify the error under the same budget */
        FZ_ASSERT(lua_istable(L, -1));
        lua_getglobal(L, "tostring");
        lua_pushvalue(L, -2);
        int r2 = lua_pcall(L, 1, 1, 0);
        if (r2 == LUA_OK) {
            size_t n;
            const char *s = lua_tolstring(L, -1, &n);
            FZ_ASSERT(s && n > 15 && memcmp(s, "twilio.verify: ", 15) == 0);
        } else {
            FZ_ASSERT(fz_oom_raise(oom, r2, lua_tostring(L, -1)));
        }
        lua_pop(L, 1);
    }
    fz_heap.limit = (size_t)-1;
    if (rc != LUA_OK) {
        /* only a refused allocation may raise */
        if (!fz_oom_raise(oom, rc, lua_tostring(L, -1))) {
            fprintf(stderr, "parse_response raised (%d): %s\n", rc, lua_tostring(L, -1));
            FZ_ASSERT(fz_oom_raise(oom, rc, lua_tostring(L, -1)));
        }
    } else if (lua_isnil(L, -2)) { /* nil, err */
        fz_walk(L, 0);
        lua_getfield(L, -1, "kind");
        FZ_ASSERT(lua_type(L, -1) == LUA_TSTRING);
        lua_pop(L, 1);
    } else if (strcmp(op, "delete") == 0) {
        FZ_ASSERT(lua_toboolean(L, -2));
    } else {
        FZ_ASSERT(lua_istable(L, -2));
        lua_pushvalue(L, -2);
        fz_walk(L, 0);
        lua_pop(L, 1);
    }
    lua_settop(L, 0);
    /* collect now and then: the boxes' __gc must free every C tree */
    if (++fz_runs % 64 == 0 || oom) lua_gc(L, LUA_GCCOLLECT, 0);
    return 0;
}
