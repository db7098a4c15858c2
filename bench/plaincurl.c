/* plaincurl.c -- the benchmark's baseline transport: a plain libcurl loop,
 * written the way anyone would without a client library.  One reused easy
 * handle (keep-alive), constant headers set once, the body appended to one
 * reused buffer and returned as a Lua string.  No retries, no validation,
 * no header parsing: what is left is libcurl's own cost.
 *
 *   local pc = require "plaincurl"
 *   local h = pc.new{ "Authorization: Basic ...", "Accept: application/json" }
 *   local status, body = h:get(url)
 *   pc.new(headers, ca_file)   -- https: trust only ca_file (verification on)
 *
 * It is independent of the library under test (it does not use
 * twilio.verify.core), so it cannot hide or share that library's costs. */
#include <curl/curl.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>

#define MT "bench.plaincurl"

typedef struct pc {
    CURL *easy;
    struct curl_slist *headers;
    char *buf;
    size_t len, cap;
} pc;

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
    pc *h = ud;
    size_t len = size * n;
    if (h->len + len > h->cap) {
        size_t cap = h->cap ? h->cap : 65536;
        while (cap < h->len + len) cap *= 2;
        char *nb = realloc(h->buf, cap);
        if (!nb) return 0;
        h->buf = nb;
        h->cap = cap;
    }
    memcpy(h->buf + h->len, p, len);
    h->len += len;
    return len;
}

static int l_gc(lua_State *L) {
    pc *h = luaL_checkudata(L, 1, MT);
    if (h->easy) curl_easy_cleanup(h->easy);
    curl_slist_free_all(h->headers);
    free(h->buf);
    memset(h, 0, sizeof *h);
    return 0;
}

static int l_new(lua_State *L) {
    pc *h = lua_newuserdata(L, sizeof *h);
    memset(h, 0, sizeof *h);
    luaL_setmetatable(L, MT);
    if (lua_istable(L, 1)) {
        for (lua_Integer i = 1;; i++) {
            if (lua_rawgeti(L, 1, i) != LUA_TSTRING) {
                lua_pop(L, 1);
                break;
            }
            struct curl_slist *l = curl_slist_append(h->headers, lua_tostring(L, -1));
            lua_pop(L, 1);
            if (!l) return luaL_error(L, "out of memory");
            h->headers = l;
        }
    }
    h->easy = curl_easy_init();
    if (!h->easy) return luaL_error(L, "curl_easy_init failed");
    curl_easy_setopt(h->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->easy, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(h->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h->easy, CURLOPT_WRITEDATA, h);
    if (lua_isstring(L, 2)) { /* the same trust setup as the client's ca_file */
        curl_easy_setopt(h->easy, CURLOPT_CAINFO, lua_tostring(L, 2));
        curl_easy_setopt(h->easy, CURLOPT_CAPATH, NULL);
    }
    return 1;
}

static int perform(lua_State *L, pc *h) {
    h->len = 0;
    CURLcode rc = curl_easy_perform(h->easy);
    if (rc != CURLE_OK) {
        lua_pushnil(L);
        lua_pushstring(L, curl_easy_strerror(rc));
        return 2;
    }
    long status = 0;
    curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
    lua_pushinteger(L, status);
    lua_pushlstring(L, h->buf ? h->buf : "", h->len);
    return 2;
}

/* h:get(url) -> status, body | nil, message */
static int l_get(lua_State *L) {
    pc *h = luaL_checkudata(L, 1, MT);
    const char *url = luaL_checkstring(L, 2);
    curl_easy_setopt(h->easy, CURLOPT_URL, url);
    curl_easy_setopt(h->easy, CURLOPT_HTTPGET, 1L);
    return perform(L, h);
}

/* h:post(url, body) -> status, body | nil, message */
static int l_post(lua_State *L) {
    pc *h = luaL_checkudata(L, 1, MT);
    const char *url = luaL_checkstring(L, 2);
    size_t bl;
    const char *body = luaL_checklstring(L, 3, &bl);
    curl_easy_setopt(h->easy, CURLOPT_URL, url);
    curl_easy_setopt(h->easy, CURLOPT_POSTFIELDSIZE, (long)bl);
    curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, body);
    return perform(L, h);
}

int luaopen_plaincurl(lua_State *L);
int luaopen_plaincurl(lua_State *L) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (luaL_newmetatable(L, MT)) {
        static const luaL_Reg m[] = {{"get", l_get}, {"post", l_post}, {"close", l_gc}, {NULL, NULL}};
        luaL_newlib(L, m);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushcfunction(L, l_new);
    lua_setfield(L, -2, "new");
    return 1;
}
