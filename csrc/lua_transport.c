/* lua_transport.c -- the Lua-transport path.
 *
 * A Lua transport may yield (OpenResty cosockets), and so may the hooks and
 * the sleep inside nginx, so for it the loop runs in Lua
 * (lua/twilio/verify.lua's lua_execute): a thin driver of the call engine
 * (tv_engine.c), the same state machine tv_client_execute and tv_batch.c
 * drive.  Lua does the I/O, the sleeping and the hooks; C builds, parses
 * and decides every step:
 *   client:_call(op_name, group, continues, ...) -> call, request, step...
 *   client:_next(call [, response | nil, transport_error]) -> step...
 *     steps: "send" | "sleep", seconds | "log", hook, event |
 *            "retry", hook, next_attempt, delay, err |
 *            "done", value | nil, err [, hook, event (the last attempt's log)]
 *   client:_group(fail_fast, max_rps) -> a batch's shared state (tv_group)
 *   client:_prepare(op_name, ...)   validate + build -> request table
 *   client:_http(request)           one libcurl attempt (verify.curl_transport)
 *   core.parse_response(op_name, status, body [, headers])
 *   core.redact(form_body) */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lua_tv.h"

#define check_client tv_lua_check_client
#define open_client tv_lua_open_client_arg
#define push_body tv_lua_push_body

/* The row a request table names (its `op` field); raises when unknown. */
static const tv_operation *request_op(lua_State *L, int idx) {
    lua_getfield(L, idx, "op");
    const char *name = luaL_checkstring(L, -1);
    const tv_operation *op = tv_operation_by_name(name);
    if (!op) luaL_error(L, "unknown operation '%s' in the request table", name);
    lua_pop(L, 1);
    return op;
}

/* A new table of the headers the C core built for method m's requests.
 * Their names and values are Lua strings made once per client (the
 * registry's ref_hdrs; dropped by close and _set_token), so a call
 * creates one small table, not eight strings (one of them the
 * credential, hashed each time on LuaJIT). */
static void push_headers(lua_State *L, lclient *lc, tv_method m) {
    int slot = m == TV_POST;
    if (lc->ref_hdrs[slot] == LUA_NOREF) {
        const char *h[4];
        int n = tv_client_headers(lc->c, m, h);
        lua_createtable(L, 2 * n, 0);
        for (int i = 0; i < n; i++) {
            const char *colon = strchr(h[i], ':');
            lua_pushlstring(L, h[i], (size_t)(colon - h[i]));
            lua_rawseti(L, -2, 2 * i + 1);
            lua_pushstring(L, colon + 2);
            lua_rawseti(L, -2, 2 * i + 2);
        }
        lc->ref_hdrs[slot] = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, lc->ref_hdrs[slot]);
    int c = lua_gettop(L), n = (int)tvL_rawlen(L, c) / 2;
    lua_createtable(L, 0, n);
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, c, 2 * i + 1);
        lua_rawgeti(L, c, 2 * i + 2);
        lua_rawset(L, -3);
    }
    lua_remove(L, c);
}

/* t[key] = the value on top (popped), t at -2: a raw set with the key's
 * length known (lua_setfield's strlen and metamethod check are not needed
 * on a table made here) */
#define SET_TOP(L, key)                               \
    do {                                              \
        lua_pushlstring((L), "" key, sizeof key - 1); \
        lua_insert((L), -2);                          \
        lua_rawset((L), -3);                          \
    } while (0)

static void push_request(lua_State *L, lclient *lc, const tv_request *req, const tv_lua_args *a) {
    lua_createtable(L, 0, 9);
    lua_pushliteral(L, "op");
    lua_pushstring(L, req->op->name);
    lua_rawset(L, -3);
    lua_pushliteral(L, "method");
    lua_pushstring(L, tv_method_name(req->method));
    lua_rawset(L, -3);
    lua_pushliteral(L, "url");
    lua_pushlstring(L, req->url.data, req->url.len);
    lua_rawset(L, -3);
    if (req->method == TV_POST) {
        lua_pushliteral(L, "body");
        lua_pushlstring(L, req->body.data ? req->body.data : "", req->body.len);
        lua_rawset(L, -3);
    }
    lua_pushliteral(L, "headers");
    push_headers(L, lc, req->method);
    /* a JSON body's own media type (the client's lines are the form's) */
    if (tv_request_content_type(req)) {
        lua_pushstring(L, tv_request_content_type(req));
        SET_TOP(L, "Content-Type");
    }
    lua_rawset(L, -3);
    long t = a->co.timeout_ms > 0 ? a->co.timeout_ms : tv_client_timeout_ms(lc->c);
    lua_pushliteral(L, "timeout");
    lua_pushnumber(L, t / 1000.0);
    lua_rawset(L, -3);
    lua_pushliteral(L, "connect_timeout");
    lua_pushnumber(L, tv_client_connect_timeout_ms(lc->c) / 1000.0);
    lua_rawset(L, -3);
    lua_pushliteral(L, "max_retries");
    lua_pushinteger(L, a->co.max_retries >= 0 ? a->co.max_retries : tv_client_max_retries(lc->c));
    lua_rawset(L, -3);
    lua_pushliteral(L, "max_body");
    lua_pushinteger(L, (lua_Integer)tv_client_max_body(lc->c));
    lua_rawset(L, -3);
}
#undef SET_TOP

/* client:_prepare(op_name, ...) -> request table | nil, err
 * op_name "list_page_url" takes (url [, opts]): a page URL of any list. */
static int l_prepare(lua_State *L) {
    tv_error err = TV_ERROR_INIT;
    lclient *lc = open_client(L, &err);
    if (!lc) return tv_lua_fail(L, &err);
    const char *name = luaL_checkstring(L, 2);
    const tv_operation *op = NULL;
    if (strcmp(name, "list_page_url") != 0 && !(op = tv_operation_by_name(name)))
        return luaL_argerror(L, 2, "unknown operation");
    tv_lua_args a;
    if (tv_lua_build(L, lc, op, 3, &lc->req, &a, &err)) return tv_lua_fail(L, &err);
    push_request(L, lc, &lc->req, &a);
    tv_buf_reset(&lc->req.body, 1);
    return 1;
}

/* Retry-After and Twilio-Request-Id from the slots tv_lua_headers_collect
 * pushed at base. */
static void read_core_headers(lua_State *L, int base, tv_response *resp) {
    size_t n;
    const char *v;
    if (lua_isstring(L, base + TV_META_RETRY_AFTER)) {
        v = lua_tolstring(L, base + TV_META_RETRY_AFTER, &n);
        resp->retry_after = tv_parse_retry_after(v, n, (int64_t)time(NULL));
    }
    if (lua_isstring(L, base + TV_META_REQUEST_ID)) {
        v = lua_tolstring(L, base + TV_META_REQUEST_ID, &n);
        tv_response_set_request_id(resp, v, n);
    }
}

static int pbox_gc(lua_State *L);
static int bufbox_gc(lua_State *L);

/* What core.parse_response and client:_finish own while they run, boxed
 * in a userdata (__gc pbox_gc) so a raise cannot leak. */
typedef struct pbox {
    tv_request req;
    tv_response resp; /* status and headers; the body is never copied here */
    cJSON *out;
} pbox;

/* Parse `body` (a Lua string the caller keeps on the stack: read in place,
 * not copied) with the status and headers in b->resp, and push the value
 * (true for DELETE) or nil, err (push_body; the error classified as the
 * call engine classifies it).  With a client `c`, a 401 is
 * explained as tv_client_execute explains it (tv_client_explain). */
static int parse_boxed(lua_State *L, pbox *b, const char *body, size_t blen, const tv_client *c) {
    tv_error err = TV_ERROR_INIT;
    tv_response view = b->resp;
    view.body.data = (char *)body; /* read only: the parsers take const */
    view.body.len = blen;
    view.body.cap = 0;
    if (push_body(L, &b->req, &view, &b->out, &err) < 0) {
        tv_classify(b->req.method, &err); /* retryable, as the call engine would say */
        tv_client_explain(c, &err);
        return tv_lua_fail(L, &err);
    }
    return 1;
}

/* ---- the call engine, driven from Lua ------------------------------------- */

#define TV_LUA_CALL_MT "twilio.verify.call"
#define TV_LUA_GROUP_MT "twilio.verify.group"

/* One operation on the Lua-transport path: its engine state and everything
 * C-owned it needs, boxed (__gc lcall_gc) so a raise -- a transport, a
 * converter out of memory -- leaks nothing. */
typedef struct lcall {
    tv_call call;
    tv_request req;       /* built by _call, owned */
    tv_response resp;     /* status and headers of the last response (its body is read in place) */
    cJSON *out;           /* a tree being converted */
    const lclient *owner; /* the client that made it (_next checks it) */
    int group_ref;        /* registry ref of its group's userdata (kept alive), or LUA_NOREF */
    int slot;             /* its index in the client's state table, or 0: not anchored */
} lcall;

static void lcall_drop_group(lua_State *L, lcall *k) {
    if (k->group_ref != LUA_NOREF) {
        luaL_unref(L, LUA_REGISTRYINDEX, k->group_ref);
        k->group_ref = LUA_NOREF;
        k->call.group = NULL;
    }
}

static int lcall_gc(lua_State *L) {
    lcall *k = (lcall *)lua_touserdata(L, 1);
    lcall_drop_group(L, k);
    tv_call_release(&k->call);
    tv_request_free(&k->req);
    tv_response_free(&k->resp);
    cJSON_Delete(k->out);
    k->out = NULL;
    return 0;
}

static double mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The transport failed (no response): its error, a message string or a
 * table { message =, timeout =, unsent =, code =, kind =, param =,
 * retry_after = } at idx,
 * into err.  The engine adds the request's context and classifies it. */
static void transport_error(lua_State *L, int idx, tv_error *err) {
    const char *msg = "the transport failed";
    int timed_out = 0, unsent = 0, code = 0;
    double retry_after = -1;
    const char *param = NULL;
    tv_kind kind = TV_ETRANSPORT;
    if (lua_isstring(L, idx)) {
        msg = lua_tostring(L, idx);
    } else if (lua_istable(L, idx)) {
        lua_getfield(L, idx, "message");
        if (lua_isstring(L, -1)) msg = lua_tostring(L, -1);
        lua_getfield(L, idx, "timeout");
        timed_out = lua_toboolean(L, -1);
        lua_getfield(L, idx, "unsent");
        unsent = lua_toboolean(L, -1);
        lua_getfield(L, idx, "code");
        code = (int)lua_tointeger(L, -1);
        lua_getfield(L, idx, "kind");
        if (lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), "decode") == 0) kind = TV_EDECODE;
        /* verify.curl_transport's refusal of another origin: nothing was sent */
        if (lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), "invalid_argument") == 0) {
            kind = TV_EARG;
            unsent = 1;
        }
        lua_getfield(L, idx, "param");
        if (lua_isstring(L, -1)) param = lua_tostring(L, -1);
        lua_getfield(L, idx, "retry_after"); /* a shared budget's wait left (twilio.verify.openresty) */
        if (lua_type(L, -1) == LUA_TNUMBER) retry_after = lua_tonumber(L, -1);
        lua_pop(L, 6); /* keep message and param on the stack */
    }
    tv_error_set(err, kind, kind == TV_EARG ? param : NULL, "%s", msg);
    if (retry_after >= 0 && retry_after < 86400) err->retry_after = retry_after;
    err->timed_out = timed_out;
    err->unsent = unsent;
    err->transport_code = code;
}

/* The transport's response table at idx ({ status =, body =, headers = }):
 * parse it against the call's request and feed the engine.  On success the
 * value is pushed and its index returned; on failure nothing stays pushed
 * and 0 is returned. */
static int feed_response(lua_State *L, const lclient *lc, lcall *k, int idx) {
    tv_error err = TV_ERROR_INIT;
    int top = lua_gettop(L);
    tv_response *resp = &k->resp;
    resp->retry_after = -1;
    resp->request_id[0] = '\0';
    lua_getfield(L, idx, "status");
    resp->status = (long)luaL_checkinteger(L, -1);
    lua_getfield(L, idx, "body");
    size_t bl = 0;
    const char *body = lua_isstring(L, -1) ? lua_tolstring(L, -1, &bl) : "";
    if (bl > tv_client_max_body(lc->c)) {
        tv_error_set(&err, TV_EDECODE, NULL, "response body exceeds the size cap of %zu bytes (max_body)",
                     tv_client_max_body(lc->c));
        tv_error_context(&err, &k->req, NULL);
        tv_call_feed(&k->call, mono(), resp, &err);
        lua_settop(L, top);
        return 0;
    }
    /* the body string stays on the stack: it is parsed in place */
    lua_getfield(L, idx, "headers"); /* whatever the transport gave: only a table is read */
    int hidx = lua_gettop(L);
    if (resp->status >= 200 && resp->status <= 299) {
        /* a success: nothing in the headers matters to the engine, so they
         * are not read now -- only if response_of asks (tv_lua_meta_record_lazy) */
        tv_response view = *resp;
        view.body.data = (char *)body;
        view.body.len = bl;
        view.body.cap = 0;
        if (push_body(L, &k->req, &view, &k->out, &err) < 0) {
            read_core_headers(L, tv_lua_headers_collect(L, hidx), resp); /* the error names the request id */
            snprintf(err.request_id, sizeof err.request_id, "%s", resp->request_id);
            tv_call_feed(&k->call, mono(), resp, &err);
            lua_settop(L, top);
            return 0;
        }
        tv_lua_meta_record_lazy(L, -1, resp->status, hidx);
        tv_call_feed(&k->call, mono(), resp, NULL);
        return lua_gettop(L);
    }
    int base = tv_lua_headers_collect(L, hidx);
    read_core_headers(L, base, resp);
    tv_response view = *resp;
    view.body.data = (char *)body; /* read only: the parsers take const */
    view.body.len = bl;
    view.body.cap = 0;
    if (push_body(L, &k->req, &view, &k->out, &err) < 0) {
        tv_call_feed(&k->call, mono(), resp, &err);
        lua_settop(L, top);
        return 0;
    }
    tv_lua_meta_record_slots(L, -1, resp->status, base);
    tv_call_feed(&k->call, mono(), resp, NULL);
    return lua_gettop(L);
}

static void push_hook(lua_State *L, int ref) {
    if (ref == LUA_NOREF) lua_pushnil(L);
    else lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
}

static void push_event(lua_State *L, const lclient *lc, lcall *k) {
    tv_event ev;
    tv_call_event(&k->call, &ev);
    tv_lua_push_event(L, lc, &ev);
}

/* Ask the engine and push its step (see the top of the file).  vidx: the
 * stack index of the value of a success just fed, or 0.  The last
 * attempt's LOG is folded into DONE (its hook and event come after the
 * value), so the driver gets the value in the same answer. */
/* Call boxes are kept for the client's next _call, so the hot path makes
 * no userdata, no finalizer and no request buffers of its own.  The first
 * TV_LUA_POOL_MAX boxes of a client are anchored in the array part of its
 * state table (client:_state(), whose Lua users key it by string) when
 * they are made -- before anything is sent, so a memory error there loses
 * nothing -- and kept by pointer in lc->idle once their call ends: handing
 * a box back allocates nothing, so it cannot raise over a call's value.
 * A box whose call raised (a transport error thrown) is not handed back;
 * one beyond the anchored ones is collected (lcall_gc) as before. */

/* The call is over: let go of what it held (its body is wiped already);
 * owner NULL marks it idle, so a stray _next on it is refused. */
static void lcall_pool(lclient *lc, lcall *k) {
    tv_call_release(&k->call);
    memset(&k->call, 0, sizeof k->call);
    tv_response_free(&k->resp);
    memset(&k->resp, 0, sizeof k->resp);
    cJSON_Delete(k->out);
    k->out = NULL;
    k->owner = NULL;
    if (k->slot && lc->nidle < TV_LUA_POOL_MAX) lc->idle[lc->nidle++] = k;
}

/* A box for a new call of the client at stack index 1: an idle one, or a
 * new one (anchored while the client has fewer than TV_LUA_POOL_MAX);
 * pushed. */
static lcall *lcall_take(lua_State *L, lclient *lc) {
    lcall *k;
    if (lc->nidle > 0) {
        k = (lcall *)lc->idle[--lc->nidle];
        tvL_getuv(L, 1);
        lua_rawgeti(L, -1, k->slot);
        lua_remove(L, -2); /* the state table */
    } else {
        k = (lcall *)tv_lua_box(L, sizeof *k, TV_LUA_CALL_MT, lcall_gc);
        if (lc->nboxes < TV_LUA_POOL_MAX) {
            tvL_getuv(L, 1);
            lua_pushvalue(L, -2);
            lua_rawseti(L, -2, lc->nboxes + 1); /* may raise: nothing is under way yet */
            lua_pop(L, 1);
            k->slot = ++lc->nboxes;
        }
    }
    k->group_ref = LUA_NOREF;
    k->owner = lc;
    k->resp.retry_after = -1;
    return k;
}

static int push_step(lua_State *L, lclient *lc, lcall *k, int vidx) {
    tv_step st = tv_call_next(&k->call, mono());
    int logged = 0;
    if (st == TV_STEP_LOG && tv_call_settled(&k->call)) {
        logged = 1;
        st = tv_call_next(&k->call, mono()); /* DONE */
    }
    switch (st) {
    case TV_STEP_SEND: lua_pushliteral(L, "send"); return 1;
    case TV_STEP_SLEEP:
        lua_pushliteral(L, "sleep");
        lua_pushnumber(L, tv_call_delay(&k->call));
        return 2;
    case TV_STEP_LOG:
        lua_pushliteral(L, "log");
        push_hook(L, lc->ref_log);
        push_event(L, lc, k);
        return 3;
    case TV_STEP_RETRY:
        lua_pushliteral(L, "retry");
        push_hook(L, lc->ref_on_retry);
        lua_pushinteger(L, tv_call_attempt(&k->call) + 1);
        lua_pushnumber(L, tv_call_delay(&k->call));
        tv_lua_push_error(L, tv_call_error(&k->call));
        return 5;
    case TV_STEP_DONE: break;
    }
    const tv_error *e = tv_call_error(&k->call);
    lua_pushliteral(L, "done");
    if (e) {
        lua_pushnil(L);
        tv_lua_push_error(L, e);
    } else {
        if (vidx) lua_pushvalue(L, vidx);
        else lua_pushboolean(L, 1);
        lua_pushnil(L);
    }
    if (logged) {
        push_hook(L, lc->ref_log);
        push_event(L, lc, k);
    }
    /* over: the body may hold AuthPayload (wiped now), the group is let go */
    tv_buf_reset(&k->req.body, 1);
    lcall_drop_group(L, k);
    lcall_pool(lc, k);
    return logged ? 5 : 3;
}

/* client:_call(op_name, group | nil, continues, ...) -> call, request, step...
 * | nil, err.  Validates and builds op_name's request from `...` (the
 * method's arguments; "list_page_url" takes (url [, opts])) and starts its
 * engine: `group` (from _group) for a batch's ops, `continues` for a later
 * page of a list under way in it.  The request table is what the transport
 * gets for every attempt. */
static int l_call(lua_State *L) {
    tv_error err = TV_ERROR_INIT;
    lclient *lc = open_client(L, &err);
    if (!lc) return tv_lua_fail(L, &err);
    const char *name = luaL_checkstring(L, 2);
    const tv_operation *op = NULL;
    if (strcmp(name, "list_page_url") != 0 && !(op = tv_operation_by_name(name)))
        return luaL_argerror(L, 2, "unknown operation");
    tv_group *g = lua_isnoneornil(L, 3) ? NULL : (tv_group *)luaL_checkudata(L, 3, TV_LUA_GROUP_MT);
    unsigned flags = lua_toboolean(L, 4) ? TV_CALL_CONTINUES : 0;
    if (lc->ref_log != LUA_NOREF) flags |= TV_CALL_LOG;
    if (lc->ref_on_retry != LUA_NOREF) flags |= TV_CALL_ON_RETRY;
    if (lua_gettop(L) < 4) lua_settop(L, 4);
    lcall *k = lcall_take(L, lc);
    lua_insert(L, 5); /* the box below the operation's arguments (6...) */
    tv_lua_args a;
    if (tv_lua_build(L, lc, op, 6, &k->req, &a, &err)) return tv_lua_fail(L, &err);
    tv_call_init(&k->call, tv_client_env(lc->c), &k->req, &a.co, g, flags);
    if (g) {
        lua_pushvalue(L, 3);
        k->group_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    lua_pushvalue(L, 5);
    push_request(L, lc, &k->req, &a);
    if (!(flags & TV_CALL_LOG)) tv_buf_reset(&k->req.body, 1); /* no event needs it: wipe it now */
    return 2 + push_step(L, lc, k, 0);
}

/* client:_next(call [, response | nil, transport_error]) -> step...
 * After "send": the transport's two results (fed to the engine); after any
 * other step: nothing. */
static int l_next(lua_State *L) {
    lclient *lc = check_client(L);
    lcall *k = (lcall *)luaL_checkudata(L, 2, TV_LUA_CALL_MT);
    if (k->owner != lc || !lc->c) return luaL_error(L, "_next: not a call of this client");
    k->call.env = tv_client_env(lc->c);
    int vidx = 0;
    if (tv_call_in_flight(&k->call)) {
        if (lua_istable(L, 3)) {
            vidx = feed_response(L, lc, k, 3);
        } else {
            tv_error err = TV_ERROR_INIT;
            transport_error(L, 4, &err);
            tv_call_feed(&k->call, mono(), NULL, &err);
        }
    }
    return push_step(L, lc, k, vidx);
}

/* group:fail(): an op of the batch failed (fail_fast stops the group) */
static int lg_fail(lua_State *L) {
    tv_group_fail((tv_group *)luaL_checkudata(L, 1, TV_LUA_GROUP_MT));
    return 0;
}

/* group:retries() -> attempts repeated by its calls */
static int lg_retries(lua_State *L) {
    const tv_group *g = (const tv_group *)luaL_checkudata(L, 1, TV_LUA_GROUP_MT);
    lua_pushinteger(L, (lua_Integer)g->retries);
    return 1;
}

/* client:_group(fail_fast, max_rps | nil) -> group: what the ops of one
 * Lua-transport batch share (fail_fast, the 429 pause, max_rps). */
static int l_group(lua_State *L) {
    check_client(L);
    int fail_fast = lua_toboolean(L, 2);
    double rps = luaL_optnumber(L, 3, 0);
    tv_group *g = (tv_group *)lua_newuserdata(L, sizeof *g);
    tv_group_init(g, fail_fast, rps);
    luaL_getmetatable(L, TV_LUA_GROUP_MT);
    lua_setmetatable(L, -2);
    return 1;
}

/* client:_http(request) -> response | nil, transport_error_table
 * One attempt over the client's libcurl handle (no retries): the libcurl
 * transport offered as a Lua transport function. */
static int l_http(lua_State *L) {
    tv_error err = TV_ERROR_INIT;
    lclient *lc = open_client(L, &err);
    if (!lc) return tv_lua_fail(L, &err);
    luaL_checktype(L, 2, LUA_TTABLE);
    const tv_operation *op = request_op(L, 2);
    lua_getfield(L, 2, "url");
    size_t ul = 0;
    const char *url = luaL_checklstring(L, -1, &ul);
    lua_getfield(L, 2, "body");
    size_t bl = 0;
    const char *body = lua_isstring(L, -1) ? lua_tolstring(L, -1, &bl) : "";
    lua_getfield(L, 2, "timeout");
    double timeout = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : 0;
    tv_request *req = &lc->req;
    req->op = op;
    req->method = op->method;
    tv_buf_reset(&req->url, 0);
    tv_buf_reset(&req->body, 1);
    if (tv_buf_add(&req->url, url, ul) || tv_buf_add(&req->body, body, bl)) return luaL_error(L, "out of memory");
    /* the credentials go only to the configured origin, whatever the
     * request table (or a transport wrapping this one) says */
    tv_origin to;
    if (tv_url_origin(url, ul, &to, &err) || !tv_origin_equal(&to, tv_client_origin(lc->c))) {
        if (err.kind == TV_OK)
            tv_error_set(&err, TV_EARG, "url", "refusing to send the request to %s://%s:%d: it is not the configured "
                         "base URL %s (credentials are only sent there)", to.scheme, to.host, to.port,
                         tv_client_origin(lc->c)->base);
        return tv_lua_fail(L, &err);
    }
    tv_response_reset(&lc->resp);
    lc->busy = 1;
    int rc = tv_client_http(lc->c, req, timeout > 0 ? (long)ceil(timeout * 1000) : 0, &lc->resp, &err);
    lc->busy = 0;
    tv_buf_reset(&req->body, 1);
    if (rc) {
        lua_pushnil(L);
        lua_createtable(L, 0, 4);
        lua_pushstring(L, err.message);
        lua_setfield(L, -2, "message");
        lua_pushboolean(L, err.timed_out);
        lua_setfield(L, -2, "timeout");
        lua_pushboolean(L, err.unsent);
        lua_setfield(L, -2, "unsent");
        lua_pushstring(L, tv_kind_name(err.kind));
        lua_setfield(L, -2, "kind");
        lua_pushinteger(L, err.transport_code);
        lua_setfield(L, -2, "code");
        tv_error_clear(&err);
        return 2;
    }
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, (lua_Integer)lc->resp.status);
    lua_setfield(L, -2, "status");
    lua_pushlstring(L, lc->resp.body.data ? lc->resp.body.data : "", lc->resp.body.len);
    lua_setfield(L, -2, "body");
    if (tv_response_meta_load(&lc->resp)) return luaL_error(L, "out of memory");
    lua_createtable(L, 0, 2);
    for (int i = 0; i < TV_NMETA_HEADERS; i++) { /* the headers the library keeps, as received */
        const char *v = tv_response_meta(&lc->resp, i);
        if (!v) continue;
        if (i == TV_META_RETRY_AFTER && lc->resp.retry_after >= 0) /* as delta-seconds */
            lua_pushinteger(L, (lua_Integer)ceil(lc->resp.retry_after));
        else
            lua_pushstring(L, v);
        lua_setfield(L, -2, tv_meta_header_names[i]);
    }
    lua_setfield(L, -2, "headers");
    return 1;
}

/* core.redact(form_body) -> the body with secret values "[REDACTED]" */
static int l_redact(lua_State *L) {
    size_t n;
    const char *body = luaL_checklstring(L, 1, &n);
    tv_buf *tmp = (tv_buf *)tv_lua_box(L, sizeof *tmp, "twilio.verify.bufbox", bufbox_gc);
    if (tv_redact_form(body, n, tmp)) return luaL_error(L, "out of memory");
    lua_pushlstring(L, tmp->data, tmp->len);
    tv_buf_free(tmp);
    return 1;
}

/* core.parse_response(op_name, status, body [, headers]) -> value | nil, err
 * The sans-I/O parser as used by every transport: op_name is a row of the
 * operation table ("fetch_challenge"; "fetch", "delete", "update", "create",
 * "list" mean the factor ones); headers may carry Retry-After and
 * Twilio-Request-Id.  Success of an operation returning nothing gives true. */
static int l_parse_response(lua_State *L) {
    const tv_operation *op = tv_operation_by_name(luaL_checkstring(L, 1));
    if (!op) return luaL_argerror(L, 1, "unknown operation");
    lua_Integer status = luaL_checkinteger(L, 2);
    size_t blen = 0;
    const char *body = luaL_optlstring(L, 3, "", &blen);
    /* everything C-owned lives in a box so raises cannot leak */
    pbox *b = (pbox *)tv_lua_box(L, sizeof *b, "twilio.verify.pbox", pbox_gc);
    b->resp.retry_after = -1;
    b->req.op = op;
    b->req.method = op->method;
    b->resp.status = (long)status;
    read_core_headers(L, tv_lua_headers_collect(L, 4), &b->resp); /* headers: any case */
    if (tv_buf_add(&b->req.url, "", 0)) return luaL_error(L, "out of memory");
    return parse_boxed(L, b, body, blen, NULL); /* body: argument 3, alive for the call */
}

static int bufbox_gc(lua_State *L) {
    tv_buf_free((tv_buf *)lua_touserdata(L, 1));
    return 0;
}

static int pbox_gc(lua_State *L) {
    pbox *b = (pbox *)lua_touserdata(L, 1);
    tv_request_free(&b->req);
    tv_response_free(&b->resp);
    cJSON_Delete(b->out);
    b->out = NULL;
    return 0;
}

void tv_lua_transport_methods(lua_State *L) {
    static const luaL_Reg m[] = {{"_prepare", l_prepare}, {"_call", l_call}, {"_next", l_next},
                                 {"_group", l_group},     {"_http", l_http},  {NULL, NULL}};
    if (luaL_newmetatable(L, TV_LUA_GROUP_MT)) {
        static const luaL_Reg gm[] = {{"fail", lg_fail}, {"retries", lg_retries}, {NULL, NULL}};
        lua_newtable(L);
        for (const luaL_Reg *r = gm; r->name; r++) {
            lua_pushcfunction(L, r->func);
            lua_setfield(L, -2, r->name);
        }
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
    for (const luaL_Reg *r = m; r->name; r++) {
        lua_pushcfunction(L, r->func);
        lua_setfield(L, -2, r->name);
    }
}

void tv_lua_transport_funcs(lua_State *L) {
    lua_pushcfunction(L, l_parse_response);
    lua_setfield(L, -2, "parse_response");
    lua_pushcfunction(L, l_redact);
    lua_setfield(L, -2, "redact");
}
