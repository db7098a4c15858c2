/* lua_client.c -- the client userdata: options, hooks, the run step of
 * every operation, close/__gc/__close/__tostring.  The operations
 * themselves are rows of the table (lua_ops.c); the Lua-transport surface
 * is lua_transport.c, batches lua_batch.c.
 *
 * Memory discipline: every C resource lives inside the userdata (request and
 * response scratch buffers, the parsed JSON tree being converted), so a Lua
 * error raised at any point leaves nothing unowned; __gc frees it all.
 * Arguments are checked before anything is acquired. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lua_tv.h"
#include "tv.h"

lclient *tv_lua_check_client(lua_State *L) { return (lclient *)luaL_checkudata(L, 1, TV_LUA_CLIENT_MT); }
#define check_client tv_lua_check_client

static void drop_pending(lclient *lc) {
    if (lc->pending) {
        cJSON_Delete(lc->pending);
        lc->pending = NULL;
    }
}

static void release(lua_State *L, lclient *lc) {
    drop_pending(lc);
    if (lc->c) {
        tv_client_free(lc->c);
        lc->c = NULL;
    }
    tv_request_free(&lc->req);
    tv_response_free(&lc->resp);
    luaL_unref(L, LUA_REGISTRYINDEX, lc->ref_on_retry);
    luaL_unref(L, LUA_REGISTRYINDEX, lc->ref_log);
    luaL_unref(L, LUA_REGISTRYINDEX, lc->hook_err);
    luaL_unref(L, LUA_REGISTRYINDEX, lc->ref_transport);
    luaL_unref(L, LUA_REGISTRYINDEX, lc->ref_log_fn);
    luaL_unref(L, LUA_REGISTRYINDEX, lc->ref_retry_fn);
    luaL_unref(L, LUA_REGISTRYINDEX, lc->ref_consume_fn);
    lc->ref_on_retry = lc->ref_log = lc->hook_err = lc->ref_transport = LUA_NOREF;
    lc->ref_log_fn = lc->ref_retry_fn = lc->ref_consume_fn = LUA_NOREF;
    tv_lua_drop_headers(L, lc);
}

void tv_lua_drop_headers(lua_State *L, lclient *lc) {
    for (int i = 0; i < 2; i++) {
        luaL_unref(L, LUA_REGISTRYINDEX, lc->ref_hdrs[i]);
        lc->ref_hdrs[i] = LUA_NOREF;
    }
}

/* close and __close: idempotent; wipes credentials and frees the
 * connection at once.  While an operation is running (a hook calling
 * close), the C client stays allocated until the operation returns. */
static int l_close(lua_State *L) {
    lclient *lc = check_client(L);
    if (lc->c) tv_client_close(lc->c);
    tv_lua_drop_headers(L, lc); /* they hold the credential */
    if (!lc->busy) {
        drop_pending(lc);
        tv_request_free(&lc->req);
        tv_response_free(&lc->resp);
    }
    return 0;
}

/* __gc: everything (never runs during an operation: self is on the stack) */
static int l_gc(lua_State *L) {
    release(L, check_client(L));
    return 0;
}

static int l_is_closed(lua_State *L) {
    lclient *lc = check_client(L);
    lua_pushboolean(L, tv_client_closed(lc->c));
    return 1;
}

/* client:_set_token(token): the device credential of every later request
 * (tv_client_set_token; used by twilio.verify.device).  true | nil, err */
static int l_set_token(lua_State *L) {
    tv_error err = TV_ERROR_INIT;
    lclient *lc = tv_lua_open_client_arg(L, &err);
    if (!lc) return tv_lua_fail(L, &err);
    const char *tok = luaL_checkstring(L, 2);
    if (tv_client_set_token(lc->c, tok, &err) != 0) return tv_lua_fail(L, &err);
    tv_lua_drop_headers(L, lc); /* the Authorization changed */
    lua_pushboolean(L, 1);
    return 1;
}

static int l_tostring(lua_State *L) {
    lclient *lc = check_client(L);
    if (tv_client_closed(lc->c)) {
        lua_pushfstring(L, "twilio.verify.client (closed): %p", (void *)lc);
        return 1;
    }
    lua_pushfstring(L, "twilio.verify.client (%s, %s): %p", tv_client_account_sid(lc->c),
                    tv_client_origin(lc->c)->base, (void *)lc);
    return 1;
}

/* ---- hooks: run under lua_pcall, never across libcurl ------------------
 * The hook's arguments are built inside the protected call too: a memory
 * error while building them must not longjmp through the core's attempt
 * loop (which would leave the client busy and its scratch unreleased). */

typedef struct hook_ctx {
    lclient *lc;
    const tv_event *ev;   /* log */
    int next_attempt;     /* on_retry */
    double delay;
    const tv_error *err;
} hook_ctx;

/* Keep the error value on top of the stack (and pop it) for run() to
 * raise once the core has unwound.  It goes into the registry slot reserved
 * when the client was made: overwriting a slot never allocates, so no
 * memory error can be raised here, inside the core's attempt loop. */
static void stash_hook_error(lua_State *L, lclient *lc) {
    lc->hook_failed = 1;
    if (lc->hook_err > 0) lua_rawseti(L, LUA_REGISTRYINDEX, lc->hook_err);
    else lua_pop(L, 1);
}

static void hook_call(lclient *lc, int fn_ref, hook_ctx *x) {
    lua_State *L = lc->L;
    if (lc->hook_failed) return; /* a hook already failed in this call: skip */
    lua_rawgeti(L, LUA_REGISTRYINDEX, fn_ref); /* made by core.new: no allocation here */
    lua_pushlightuserdata(L, x);
    if (lua_pcall(L, 1, 0, 0) != 0) stash_hook_error(L, lc);
}

void tv_lua_push_event(lua_State *L, const lclient *lc, const tv_event *ev) {
    lua_createtable(L, 0, 8);
    lua_pushstring(L, ev->method);
    lua_setfield(L, -2, "method");
    lua_pushstring(L, ev->url);
    lua_setfield(L, -2, "url");
    lua_pushstring(L, ev->body);
    lua_setfield(L, -2, "body");
    /* the request's headers as sent, with the credential redacted */
    lua_createtable(L, 0, 4);
    lua_pushliteral(L, "[REDACTED]");
    lua_setfield(L, -2, "Authorization");
    lua_pushstring(L, tv_client_user_agent(lc->c));
    lua_setfield(L, -2, "User-Agent");
    lua_pushliteral(L, "application/json");
    lua_setfield(L, -2, "Accept");
    if (ev->content_type) {
        lua_pushstring(L, ev->content_type);
        lua_setfield(L, -2, "Content-Type");
    }
    lua_setfield(L, -2, "headers");
    lua_pushinteger(L, (lua_Integer)ev->status);
    lua_setfield(L, -2, "status");
    lua_pushnumber(L, ev->duration);
    lua_setfield(L, -2, "duration");
    lua_pushinteger(L, ev->attempt);
    lua_setfield(L, -2, "attempt");
    if (ev->err) {
        tv_lua_push_error(L, ev->err);
        lua_setfield(L, -2, "error");
    }
}

static int log_protected(lua_State *L) {
    const hook_ctx *x = (const hook_ctx *)lua_touserdata(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, x->lc->ref_log);
    tv_lua_push_event(L, x->lc, x->ev);
    lua_call(L, 1, 0);
    return 0;
}

static void on_event(void *ud, const tv_event *ev) {
    lclient *lc = ud;
    if (lc->ref_log == LUA_NOREF || !lc->c || !lua_checkstack(lc->L, 4)) return;
    hook_ctx x = {lc, ev, 0, 0, NULL};
    hook_call(lc, lc->ref_log_fn, &x);
}

static int retry_protected(lua_State *L) {
    const hook_ctx *x = (const hook_ctx *)lua_touserdata(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, x->lc->ref_on_retry);
    lua_pushinteger(L, x->next_attempt);
    lua_pushnumber(L, x->delay);
    tv_lua_push_error(L, x->err);
    lua_call(L, 3, 0);
    return 0;
}

static void on_retry(void *ud, int next_attempt, double delay, const tv_error *err) {
    lclient *lc = ud;
    if (lc->ref_on_retry == LUA_NOREF || !lua_checkstack(lc->L, 4)) return;
    hook_ctx x = {lc, NULL, next_attempt, delay, err};
    hook_call(lc, lc->ref_retry_fn, &x);
}

/* ---- response bodies -> Lua -------------------------------------------- */

/* Push the Lua value of a response: a large 2xx body (a list page) is
 * converted straight from its text (tv_lua_push_json_stream: one factor at
 * a time, never a tree of the whole page, which outgrows the CPU caches);
 * when the cursor hands it back, for small bodies (one factor: a tree is
 * cheaper there) and for every other status, tv_parse_response decides (the
 * error, or a tree converted whole).  The item or tree being converted
 * lives in *slot, owned by the caller's box.  Returns 1 (value pushed; true
 * for DELETE) or -1 with err. */
#define STREAM_MIN_BODY (16 * 1024)

/* Every element of a page's list must be an object: a list of nulls,
 * numbers or arrays passes the shape check (which looks at the list, not
 * its elements) and broke every caller that binds factor objects.  Checked
 * on the tree (first occurrence of the list key, as the shape check reads
 * it), where an array and an object still differ; the streaming converter
 * falls back to the tree on such an element (lua_json.c).  Same message as
 * tv_batch.c's next_page.  0, or -1 with a decode error. */
static int check_list(const tv_request *req, const tv_response *resp, const cJSON *page, tv_error *err) {
    if (req->op->returns != TV_RET_PAGE) return 0;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(page, req->op->list_key);
    size_t i = 0;
    for (const cJSON *f = cJSON_IsArray(list) ? list->child : NULL; f; f = f->next) {
        i++;
        if (cJSON_IsObject(f)) continue;
        tv_error_set(err, TV_EDECODE, NULL, "malformed list page: %s[%zu] is %s, not an object", req->op->list_key,
                     i, cJSON_IsNull(f) ? "null" : cJSON_IsNumber(f) ? "a number" : cJSON_IsString(f) ? "a string"
                        : cJSON_IsBool(f) ? "a boolean" : "an array");
        tv_error_context(err, req, resp);
        return -1;
    }
    return 0;
}

int tv_lua_push_body(lua_State *L, const tv_request *req, const tv_response *resp, cJSON **slot,
                     tv_error *err) {
    /* an instance (the hot path: fetch, update, create_challenge): straight
     * to Lua when the text is plain, then the shape check of
     * tv_parse_response (an object with a string `id_key`, `sid`); anything else takes
     * the cJSON path below, which decides and words the error */
    if (resp->status >= 200 && resp->status <= 299 && req->op->returns == TV_RET_INSTANCE &&
        resp->body.len < STREAM_MIN_BODY && resp->body.len > 0 &&
        tv_lua_push_json_direct(L, resp->body.data, resp->body.len) == 0) {
        lua_getfield(L, -1, req->op->id_key);
        int ok = lua_type(L, -1) == LUA_TSTRING;
        lua_pop(L, ok ? 1 : 2);
        if (ok) return 1;
    }
    if (resp->status >= 200 && resp->status <= 299 && req->op->returns != TV_RET_NONE &&
        resp->body.len >= STREAM_MIN_BODY) {
        tv_jcursor cur;
        tv_jcursor_init(&cur, req->op, resp->body.data, resp->body.len);
        if (tv_lua_push_json_stream(L, &cur, slot) == 0) return 1;
    }
    if (tv_parse_response(req, resp, slot, err)) return -1;
    if (check_list(req, resp, *slot, err)) {
        cJSON_Delete(*slot);
        *slot = NULL;
        return -1;
    }
    if (req->op->returns == TV_RET_NONE) lua_pushboolean(L, 1);
    else tv_lua_push_json(L, *slot);
    cJSON_Delete(*slot);
    *slot = NULL;
    return 1;
}

typedef struct consume_ctx {
    lclient *lc;
    const tv_request *req;
    const tv_response *resp;
    tv_error *err;
    int rc;
} consume_ctx;

static int consume_protected(lua_State *L) {
    consume_ctx *x = (consume_ctx *)lua_touserdata(L, 1);
    x->rc = tv_lua_push_body(L, x->req, x->resp, &x->lc->pending, x->err);
    return x->rc > 0 ? 1 : 0;
}

/* The client's success-path consumer (tv_client_set_consumer): the value
 * is left on the stack for run().  Runs under lua_pcall, as hooks do: an
 * out-of-memory raise is kept and raised by run() once execute unwound. */
static int consume(void *ud, const tv_request *req, const tv_response *resp, tv_error *err) {
    lclient *lc = ud;
    lua_State *L = lc->L;
    consume_ctx x = {lc, req, resp, err, -1};
    if (!lua_checkstack(L, 4)) return tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
    lua_rawgeti(L, LUA_REGISTRYINDEX, lc->ref_consume_fn); /* no allocation here */
    lua_pushlightuserdata(L, &x);
    if (lua_pcall(L, 1, 1, 0) != 0) {
        drop_pending(lc);
        if (lc->hook_failed) {
            lua_pop(L, 1);
        } else {
            stash_hook_error(L, lc);
            lc->hook_failed = 2; /* not a hook: the converter's (memory) error, raised by run() */
        }
        return tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
    }
    if (x.rc < 0) {
        lua_pop(L, 1);
        return -1;
    }
    lc->consumed = 1;
    return 0;
}

/* ---- options ------------------------------------------------------------ */

static int opt_fail(lua_State *L, const char *key, const char *fmt, const char *a) {
    tv_error err = TV_ERROR_INIT;
    tv_error_set(&err, TV_EARG, key, fmt, a);
    return tv_lua_fail(L, &err);
}

/* max_pages: the most pages one listing (an iterator, verify.collect, a
 * batch list) follows before it stops with a decode error.  Kept in the
 * client's state table (client:_state().max_pages). */
#define TV_LUA_DEFAULT_MAX_PAGES 10000
#define TV_LUA_MAX_PAGES_LIMIT 1000000000.0

/* A region's default edge, for `region` given without `edge`.  Twilio's
 * REST API domains are {product}.{edge}.{region}.twilio.com; the older
 * {product}.{region}.twilio.com pattern (api.ie1.twilio.com) is retired
 * (Twilio: it stops working on 2026-04-28).  The pairs are Twilio's documented
 * combinations -- "Global Infrastructure": Understanding Edge Locations,
 * https://www.twilio.com/docs/global-infrastructure/understanding-edge-locations ;
 * Legacy Edge Location IDs (the edge that replaces each legacy region ID),
 * https://www.twilio.com/docs/global-infrastructure/edge-locations/legacy-regions ;
 * the CLI's valid region/edge pairs au1/sydney, ie1/dublin, jp1/tokyo,
 * https://www.twilio.com/docs/twilio-cli/general-usage/regional -- and
 * us1 (Twilio's default region) with its edge ashburn.  Any other region
 * needs its edge spelled out.  NULL when unknown. */
static const char *default_edge(const char *region) {
    static const char *const pairs[][2] = {
        {"au1", "sydney"}, {"ie1", "dublin"}, {"jp1", "tokyo"}, {"us1", "ashburn"}};
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++)
        if (strcmp(region, pairs[i][0]) == 0) return pairs[i][1];
    return NULL;
}

static int is_name(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-')) return 0;
    return 1;
}

/* The libcurl share of this Lua state's clients (TLS sessions, DNS: see
 * tv_share_new), created at the first client and kept in the registry; the
 * box's __gc drops the state's reference, each client holds its own. */
#define SHARE_KEY "twilio.verify.share"
typedef struct sharebox {
    tv_share *s;
} sharebox;

static int sharebox_gc(lua_State *L) {
    sharebox *b = (sharebox *)lua_touserdata(L, 1);
    tv_share_unref(b->s);
    b->s = NULL;
    return 0;
}

static tv_share *state_share(lua_State *L, tv_error *err) {
    lua_getfield(L, LUA_REGISTRYINDEX, SHARE_KEY);
    sharebox *b = (sharebox *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (b && b->s) return b->s;
    b = (sharebox *)tv_lua_box(L, sizeof *b, "twilio.verify.sharebox", sharebox_gc);
    if (!(b->s = tv_share_new(err))) {
        lua_pop(L, 1);
        return NULL;
    }
    lua_setfield(L, LUA_REGISTRYINDEX, SHARE_KEY); /* the registry keeps it (and its reference) */
    return b->s;
}

/* core.new(opts) -> client | nil, err */
static int l_new(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    tv_options o;
    memset(&o, 0, sizeof o);
    o.max_retries = -1;
    const char *region = NULL, *edge = NULL, *cred_source = NULL;
    int on_retry_idx = 0, log_idx = 0, transport_idx = 0;
    lua_Integer max_pages = TV_LUA_DEFAULT_MAX_PAGES;
    lua_settop(L, 1);
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        if (lua_type(L, -2) != LUA_TSTRING) return opt_fail(L, NULL, "option keys must be strings%s", "");
        const char *k = lua_tostring(L, -2);
        int t = lua_type(L, -1);
        const char **sp = NULL;
        long *msp = NULL;
        if (strcmp(k, "account_sid") == 0) sp = &o.account_sid;
        else if (strcmp(k, "auth_token") == 0) sp = &o.auth_token;
        else if (strcmp(k, "api_key") == 0) sp = &o.api_key;
        else if (strcmp(k, "api_secret") == 0) sp = &o.api_secret;
        else if (strcmp(k, "base_url") == 0) sp = &o.base_url;
        else if (strcmp(k, "user_agent") == 0) sp = &o.ua_suffix;
        else if (strcmp(k, "region") == 0) sp = &region;
        else if (strcmp(k, "edge") == 0) sp = &edge;
        else if (strcmp(k, "proxy") == 0) sp = &o.proxy;
        else if (strcmp(k, "no_proxy") == 0) sp = &o.no_proxy;
        else if (strcmp(k, "ca_file") == 0) sp = &o.ca_file;
        else if (strcmp(k, "ca_path") == 0) sp = &o.ca_path;
        /* internal (leading underscore): set by verify.new, which knows
         * whether the credentials came from TWILIO_* variables */
        else if (strcmp(k, "_credential_source") == 0) sp = &cred_source;
        else if (strcmp(k, "timeout") == 0) msp = &o.timeout_ms;
        else if (strcmp(k, "connect_timeout") == 0) msp = &o.connect_timeout_ms;
        else if (strcmp(k, "retry_base") == 0) msp = &o.retry_base_ms;
        else if (strcmp(k, "retry_cap") == 0) msp = &o.retry_cap_ms;
        else if (strcmp(k, "retry_after_cap") == 0) msp = &o.retry_after_cap_ms;
        if (sp) {
            if (t != LUA_TSTRING) return opt_fail(L, k, "option %s must be a string", k);
            size_t len;
            *sp = lua_tolstring(L, -1, &len); /* kept alive by the opts table */
            /* C reads up to the first NUL: "secret\0rest" would be taken as
             * "secret", "http://127.0.0.1:8080\0.evil" as the loopback URL */
            if (strlen(*sp) != len) return opt_fail(L, k, "option %s must not contain a NUL byte", k);
        } else if (msp) {
            double d = lua_tonumber(L, -1);
            if (t != LUA_TNUMBER || !(d > 0) || d > 86400)
                return opt_fail(L, k, "option %s must be a number of seconds > 0 and <= 86400", k);
            *msp = (long)ceil(d * 1000.0);
        } else if (strcmp(k, "max_retries") == 0) {
            double d = lua_tonumber(L, -1);
            if (t != LUA_TNUMBER || d != floor(d) || d < 0 || d > 20)
                return opt_fail(L, k, "option %s must be an integer between 0 and 20", k);
            o.max_retries = (int)d;
        } else if (strcmp(k, "max_pages") == 0) {
            double d = lua_tonumber(L, -1);
            if (t != LUA_TNUMBER || d != floor(d) || d < 1 || d > TV_LUA_MAX_PAGES_LIMIT)
                return opt_fail(L, k, "option %s must be an integer between 1 and 1000000000", k);
            max_pages = (lua_Integer)d;
        } else if (strcmp(k, "max_body") == 0) {
            double d = lua_tonumber(L, -1);
            if (t != LUA_TNUMBER || d != floor(d) || d < 1024 || d > 1073741824.0)
                return opt_fail(L, k, "option %s must be an integer number of bytes (1024 .. 1 GiB)", k);
            o.max_body = (size_t)d;
        } else if (strcmp(k, "allow_http") == 0) {
            if (t != LUA_TBOOLEAN) return opt_fail(L, k, "option %s must be a boolean", k);
            o.allow_http = lua_toboolean(L, -1);
        } else if (strcmp(k, "on_retry") == 0 || strcmp(k, "log") == 0 || strcmp(k, "transport") == 0) {
            if (t != LUA_TFUNCTION) return opt_fail(L, k, "option %s must be a function", k);
            if (k[0] == 'o') on_retry_idx = 1;
            else if (k[0] == 'l') log_idx = 1;
            else transport_idx = 1;
        } else {
            return opt_fail(L, k, "unknown option '%s'", k);
        }
        lua_pop(L, 1);
    }
    /* cppcheck-suppress knownConditionTrueFalse ; set through sp in the loop above */
    if (cred_source) {
        if (strcmp(cred_source, "options") == 0) o.credential_source = TV_CRED_OPTIONS;
        else if (strcmp(cred_source, "environment") == 0) o.credential_source = TV_CRED_ENVIRONMENT;
        else
            return opt_fail(L, "_credential_source", "option _credential_source must be \"options\" or "
                            "\"environment\"%s", "");
    }
    char region_url[160];
    /* cppcheck-suppress knownConditionTrueFalse ; set through sp in the loop above */
    if (region || edge) {
        if (o.base_url)
            return opt_fail(L, "base_url", "give base_url or region/edge, not both%s", "");
        if (region && (!is_name(region) || strlen(region) > 32))
            return opt_fail(L, "region", "region must be lower-case letters, digits and dashes%s", "");
        if (edge && (!is_name(edge) || strlen(edge) > 32))
            return opt_fail(L, "edge", "edge must be lower-case letters, digits and dashes%s", "");
        /* {product}.{edge}.{region}.twilio.com: a region alone takes its
         * default edge (default_edge), an edge alone region us1 (as
         * twilio-python's ClientBase.get_hostname does) */
        if (region && !edge && !(edge = default_edge(region)))
            return opt_fail(L, "edge", "give edge with region '%s' (a default edge is known only for au1, "
                            "ie1, jp1 and us1)", region);
        snprintf(region_url, sizeof region_url, "https://verify.%s.%s.twilio.com", edge, region ? region : "us1");
        o.base_url = region_url;
    }
    lua_getglobal(L, "_VERSION"); /* "Lua 5.4" */
    const char *ver = lua_tostring(L, -1);
    o.lua_version = ver && strncmp(ver, "Lua ", 4) == 0 ? ver + 4 : ver;
    char jit_ver[64];
    lua_getglobal(L, "jit"); /* LuaJIT: jit.version = "LuaJIT 2.1.0-beta3" */
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "version");
        const char *jv = lua_tostring(L, -1);
        if (jv && strncmp(jv, "LuaJIT ", 7) == 0) { /* User-Agent: "Lua/5.1 LuaJIT/2.1.0-beta3" */
            snprintf(jit_ver, sizeof jit_ver, "%s LuaJIT/%s", o.lua_version ? o.lua_version : "5.1", jv + 7);
            o.lua_version = jit_ver;
        }
    }
    /* acquire: the userdata first, so __gc owns everything from here on */
    lclient *lc = (lclient *)lua_newuserdata(L, sizeof *lc);
    memset(lc, 0, sizeof *lc);
    lc->ref_on_retry = lc->ref_log = lc->hook_err = lc->ref_transport = LUA_NOREF;
    lc->ref_log_fn = lc->ref_retry_fn = lc->ref_consume_fn = LUA_NOREF;
    lc->ref_hdrs[0] = lc->ref_hdrs[1] = LUA_NOREF;
    luaL_getmetatable(L, TV_LUA_CLIENT_MT);
    lua_setmetatable(L, -2);
    /* a per-client table for the Lua layer (factor/page metatables that
     * point back at the client): owned by the userdata, so the cycle is
     * collected normally on every Lua (no ephemeron tables needed) */
    lua_newtable(L);
    lua_pushinteger(L, max_pages); /* read by the iterators and both batch engines */
    lua_setfield(L, -2, "max_pages");
    tvL_setuv(L, -2);
    lua_pushboolean(L, 0); /* reserve the slot for a hook's error (stash_hook_error) */
    lc->hook_err = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushcfunction(L, log_protected);
    lc->ref_log_fn = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushcfunction(L, retry_protected);
    lc->ref_retry_fn = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushcfunction(L, consume_protected);
    lc->ref_consume_fn = luaL_ref(L, LUA_REGISTRYINDEX);
    tv_error err = TV_ERROR_INIT;
    if (!(o.share = state_share(L, &err))) return tv_lua_fail(L, &err);
    lc->c = tv_client_new(&o, &err);
    if (!lc->c) return tv_lua_fail(L, &err);
    if (on_retry_idx) {
        lua_getfield(L, 1, "on_retry");
        lc->ref_on_retry = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    if (log_idx) {
        lua_getfield(L, 1, "log");
        lc->ref_log = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    if (transport_idx) {
        lua_getfield(L, 1, "transport");
        lc->ref_transport = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    tv_client_set_hooks(lc->c, on_event, on_retry, lc);
    tv_client_set_consumer(lc->c, consume, lc);
    return 1;
}

/* Push the stashed hook error and free its registry slot (kept reserved:
 * overwriting it never allocates). */
static void take_hook_error(lua_State *L, lclient *lc) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, lc->hook_err);
    lua_pushboolean(L, 0);
    lua_rawseti(L, LUA_REGISTRYINDEX, lc->hook_err);
}

/* Run the built request; push the result: value, or value, nil, hook_error
 * when a hook raised during an operation that succeeded; nil, err on
 * failure (err.hook_error = the hook's error when one raised).  A hook's
 * error never throws away what the server did (a created TOTP factor's
 * binding.secret comes only once).  Only the body converter's own error
 * (out of memory) is raised, once everything unwound. */
int tv_lua_run(lua_State *L, lclient *lc, const tv_call_opts *co, tv_error *err) {
    drop_pending(lc);
    lc->L = L;
    lc->hook_failed = 0;
    lc->consumed = 0;
    cJSON *out = NULL;
    lc->busy = 1;
    int rc = tv_client_execute(lc->c, &lc->req, co, &lc->resp, &out, err);
    lc->busy = 0;
    tv_buf_reset(&lc->req.body, 1); /* the body may hold AuthPayload: wipe now */
    int hooked = lc->hook_failed;
    lc->hook_failed = 0;
    if (hooked == 2) { /* the converter raised (memory): raise it now that the core unwound */
        tv_error_clear(err);
        drop_pending(lc);
        cJSON_Delete(out);
        take_hook_error(L, lc);
        return lua_error(L);
    }
    if (rc) {
        tv_lua_fail(L, err); /* nil, err */
        if (hooked) {
            take_hook_error(L, lc);
            lua_setfield(L, -2, "hook_error");
        }
        return 2;
    }
    if (!lc->consumed) { /* else consume() left the value on the stack */
        if (lc->req.op->returns == TV_RET_NONE) {
            lua_pushboolean(L, 1);
        } else {
            lc->pending = out; /* boxed in the userdata while converting */
            tv_lua_push_json(L, out);
            drop_pending(lc);
        }
    }
    tv_lua_meta_record(L, -1, &lc->resp);
    if (!hooked) return 1;
    lua_pushnil(L);
    take_hook_error(L, lc);
    return 3;
}

lclient *tv_lua_open_client_arg(lua_State *L, tv_error *err) {
    lclient *lc = check_client(L);
    if (!lc->c || tv_client_closed(lc->c)) {
        tv_error_set(err, TV_ECLOSED, NULL, "the client is closed");
        return NULL;
    }
    if (lc->busy) {
        tv_error_set(err, TV_EARG, "client",
                     "the client is busy: an operation cannot be started from its own hook");
        return NULL;
    }
    return lc;
}

/* client:_state() -> the client's private table for the Lua layer */
static int l_state(lua_State *L) {
    check_client(L);
    tvL_getuv(L, 1);
    return 1;
}

/* client:_transport() -> the Lua transport function, or nil (libcurl) */
static int l_transport(lua_State *L) {
    lclient *lc = check_client(L);
    if (lc->ref_transport == LUA_NOREF) return 0;
    lua_rawgeti(L, LUA_REGISTRYINDEX, lc->ref_transport);
    return 1;
}

/* client:_hooks() -> on_retry, log (functions or nil) */
static int l_hooks(lua_State *L) {
    lclient *lc = check_client(L);
    if (lc->ref_on_retry == LUA_NOREF) lua_pushnil(L);
    else lua_rawgeti(L, LUA_REGISTRYINDEX, lc->ref_on_retry);
    if (lc->ref_log == LUA_NOREF) lua_pushnil(L);
    else lua_rawgeti(L, LUA_REGISTRYINDEX, lc->ref_log);
    return 2;
}

static int l_base_url(lua_State *L) {
    lclient *lc = check_client(L);
    if (tv_client_closed(lc->c)) return 0;
    lua_pushstring(L, tv_client_origin(lc->c)->base);
    return 1;
}

/* client:_account_sid() -> the account SID (AC...): not a secret; what a
 * shared rate-limit budget is keyed by (twilio.verify.openresty) */
static int l_account_sid(lua_State *L) {
    lclient *lc = check_client(L);
    if (!lc->c) return 0;
    lua_pushstring(L, tv_client_account_sid(lc->c));
    return 1;
}

static int l_user_agent(lua_State *L) {
    lclient *lc = check_client(L);
    if (tv_client_closed(lc->c)) return 0;
    lua_pushstring(L, tv_client_user_agent(lc->c));
    return 1;
}

/* core.now() -> monotonic seconds; core.sleep(s) blocks the thread */
static int l_now(lua_State *L) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + ts.tv_nsec / 1e9);
    return 1;
}

/* core.sleep(seconds): at most TV_LUA_MAX_SLEEP (24 h; more raises: a
 * longer wait is a bug, not a plan); 0, negative and NaN do not sleep.
 * Resumes only after a signal (EINTR); any other failure ends the wait. */
#define TV_LUA_MAX_SLEEP 86400.0
static int l_sleep(lua_State *L) {
    double s = luaL_checknumber(L, 1);
    if (!(s > 0)) return 0; /* also NaN */
    if (s > TV_LUA_MAX_SLEEP) return luaL_argerror(L, 1, "seconds must be <= 86400 (24 h)");
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec > 999999999L) ts.tv_nsec = 999999999L;
    if (ts.tv_nsec < 0) ts.tv_nsec = 0;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    return 0;
}

static const luaL_Reg module_funcs[] = {{"now", l_now}, {"sleep", l_sleep}, {"new", l_new}, {NULL, NULL}};

static const luaL_Reg client_methods[] = {
    {"close", l_close},           {"is_closed", l_is_closed}, {"base_url", l_base_url},
    {"user_agent", l_user_agent}, {"_account_sid", l_account_sid}, {"_transport", l_transport}, {"_hooks", l_hooks},
    {"_state", l_state},          {"_set_token", l_set_token}, {NULL, NULL}};

/* Register the client metatable with the client's own methods in a new
 * methods table; leaves metatable, methods on the stack (lua_core.c adds
 * the other files' methods, then tv_lua_client_seal). */
void tv_lua_client_open(lua_State *L) {
    luaL_newmetatable(L, TV_LUA_CLIENT_MT);
    luaL_newlib(L, client_methods);
}

/* Finish the metatable below the methods table (on top), which becomes its
 * __index; pops the metatable, leaves the methods table. */
void tv_lua_client_seal(lua_State *L) {
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "__index");
    lua_pushcfunction(L, l_gc);
    lua_setfield(L, -3, "__gc");
    lua_pushcfunction(L, l_close);
    lua_setfield(L, -3, "__close");
    lua_pushcfunction(L, l_tostring);
    lua_setfield(L, -3, "__tostring");
    lua_pushliteral(L, "twilio.verify.client");
    lua_setfield(L, -3, "__name");
    lua_remove(L, -2);
}

/* Add the module-level functions of this file (new, now, sleep) to the
 * table on top. */
void tv_lua_client_funcs(lua_State *L) {
    for (const luaL_Reg *r = module_funcs; r->name; r++) {
        lua_pushcfunction(L, r->func);
        lua_setfield(L, -2, r->name);
    }
}
