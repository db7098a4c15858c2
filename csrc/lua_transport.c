/* lua_transport.c -- the sans-I/O surface for Lua transports.
 *
 * A Lua transport may yield (OpenResty cosockets), so the attempt loop for
 * it runs in Lua (lua/twilio/verify.lua) around these C steps; the rules
 * (validation, building, parsing, retry classification, backoff) are the
 * same C functions the libcurl path uses:
 *   client:_prepare(op_name, ...)   validate + build -> request table
 *   client:_finish(request, response | nil, transport_error) -> value | nil, err
 *   client:_backoff(attempt, err)   seconds before the next attempt
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
    const tv_operation *op = tv_lua_op_by_name(name);
    if (!op) luaL_error(L, "unknown operation '%s' in the request table", name);
    lua_pop(L, 1);
    return op;
}

static void push_request(lua_State *L, lclient *lc, const tv_request *req, const tv_lua_args *a) {
    lua_createtable(L, 0, 8);
    lua_pushstring(L, req->op->name);
    lua_setfield(L, -2, "op");
    lua_pushstring(L, tv_method_name(req->method));
    lua_setfield(L, -2, "method");
    lua_pushlstring(L, req->url.data, req->url.len);
    lua_setfield(L, -2, "url");
    if (req->method == TV_POST) {
        lua_pushlstring(L, req->body.data ? req->body.data : "", req->body.len);
        lua_setfield(L, -2, "body");
    }
    const char *h[4];
    int n = tv_client_headers(lc->c, req->method, h);
    lua_createtable(L, 0, n);
    for (int i = 0; i < n; i++) {
        const char *colon = strchr(h[i], ':');
        lua_pushlstring(L, h[i], (size_t)(colon - h[i]));
        lua_pushstring(L, colon + 2);
        lua_rawset(L, -3);
    }
    lua_setfield(L, -2, "headers");
    long t = a->co.timeout_ms > 0 ? a->co.timeout_ms : tv_client_timeout_ms(lc->c);
    lua_pushnumber(L, t / 1000.0);
    lua_setfield(L, -2, "timeout");
    lua_pushnumber(L, tv_client_connect_timeout_ms(lc->c) / 1000.0);
    lua_setfield(L, -2, "connect_timeout");
    lua_pushinteger(L, a->co.max_retries >= 0 ? a->co.max_retries : tv_client_max_retries(lc->c));
    lua_setfield(L, -2, "max_retries");
    lua_pushinteger(L, (lua_Integer)tv_client_max_body(lc->c));
    lua_setfield(L, -2, "max_body");
}

/* client:_prepare(op_name, ...) -> request table | nil, err
 * op_name "list_page_url" takes (url [, opts]): a page URL of any list. */
static int l_prepare(lua_State *L) {
    tv_error err = TV_ERROR_INIT;
    lclient *lc = open_client(L, &err);
    if (!lc) return tv_lua_fail(L, &err);
    const char *name = luaL_checkstring(L, 2);
    const tv_operation *op = NULL;
    if (strcmp(name, "list_page_url") != 0 && !(op = tv_lua_op_by_name(name)))
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
 * (true for DELETE) or nil, err (push_body).  With a client `c`, a 401 is
 * explained as tv_client_execute explains it (tv_client_explain). */
static int parse_boxed(lua_State *L, pbox *b, const char *body, size_t blen, const tv_client *c) {
    tv_error err = TV_ERROR_INIT;
    tv_response view = b->resp;
    view.body.data = (char *)body; /* read only: the parsers take const */
    view.body.len = blen;
    view.body.cap = 0;
    if (push_body(L, &b->req, &view, &b->out, &err) < 0) {
        tv_client_explain(c, &err);
        return tv_lua_fail(L, &err);
    }
    return 1;
}

/* client:_finish(request, response | nil, transport_error) -> value | nil, err
 * response = { status = n, body = s, headers = { [name] = value } }.  A nil
 * response means the transport failed: transport_error is a message string
 * or a table { message =, timeout = bool, unsent = bool }. */
static int l_finish(lua_State *L) {
    tv_error err = TV_ERROR_INIT;
    lclient *lc = check_client(L);
    if (!lc->c) return luaL_error(L, "client is closed");
    luaL_checktype(L, 2, LUA_TTABLE);
    const tv_operation *op = request_op(L, 2);
    lua_getfield(L, 2, "url");
    size_t ul = 0;
    const char *url = luaL_checklstring(L, -1, &ul);
    pbox *b = (pbox *)tv_lua_box(L, sizeof *b, "twilio.verify.pbox", pbox_gc);
    b->resp.retry_after = -1;
    b->req.op = op;
    b->req.method = op->method;
    if (tv_buf_add(&b->req.url, url, ul)) return luaL_error(L, "out of memory");
    if (!lua_istable(L, 3)) {
        const char *msg = "the transport failed";
        int timed_out = 0, unsent = 0, code = 0;
        const char *param = NULL;
        tv_kind kind = TV_ETRANSPORT;
        if (lua_isstring(L, 4)) {
            msg = lua_tostring(L, 4);
        } else if (lua_istable(L, 4)) {
            lua_getfield(L, 4, "message");
            if (lua_isstring(L, -1)) msg = lua_tostring(L, -1);
            lua_getfield(L, 4, "timeout");
            timed_out = lua_toboolean(L, -1);
            lua_getfield(L, 4, "unsent");
            unsent = lua_toboolean(L, -1);
            lua_getfield(L, 4, "code");
            code = (int)lua_tointeger(L, -1);
            lua_getfield(L, 4, "kind");
            if (lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), "decode") == 0) kind = TV_EDECODE;
            /* verify.curl_transport's refusal of another origin: nothing was sent */
            if (lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), "invalid_argument") == 0) {
                kind = TV_EARG;
                unsent = 1;
            }
            lua_getfield(L, 4, "param");
            if (lua_isstring(L, -1)) param = lua_tostring(L, -1);
            lua_pop(L, 5); /* keep message and param on the stack */
        }
        tv_error_set(&err, kind, kind == TV_EARG ? param : NULL, "%s", msg);
        err.timed_out = timed_out;
        err.unsent = unsent;
        err.transport_code = code;
        tv_error_context(&err, &b->req, NULL);
        tv_classify(b->req.method, &err);
        return tv_lua_fail(L, &err);
    }
    lua_getfield(L, 3, "status");
    b->resp.status = (long)luaL_checkinteger(L, -1);
    lua_getfield(L, 3, "body");
    size_t bl = 0;
    const char *body = lua_isstring(L, -1) ? lua_tolstring(L, -1, &bl) : "";
    if (bl > tv_client_max_body(lc->c)) {
        tv_error_set(&err, TV_EDECODE, NULL, "response body exceeds the size cap of %zu bytes (max_body)",
                     tv_client_max_body(lc->c));
        tv_error_context(&err, &b->req, NULL);
        return tv_lua_fail(L, &err);
    }
    /* the body string stays on the stack: parse_boxed reads it in place */
    lua_getfield(L, 3, "headers"); /* whatever the transport gave: only a table is read */
    int base = tv_lua_headers_collect(L, -1);
    read_core_headers(L, base, &b->resp);
    int n = parse_boxed(L, b, body, bl, lc->c);
    if (n == 1) tv_lua_meta_record_slots(L, -1, b->resp.status, base);
    return n;
}

/* client:_backoff(attempt, err) -> seconds to wait before the next attempt */
static int l_backoff(lua_State *L) {
    lclient *lc = check_client(L);
    if (!lc->c) return luaL_error(L, "client is closed");
    int attempt = (int)luaL_checkinteger(L, 2);
    double ra = -1;
    if (lua_istable(L, 3)) {
        lua_getfield(L, 3, "retry_after");
        if (lua_isnumber(L, -1)) ra = lua_tonumber(L, -1);
        lua_pop(L, 1);
    }
    lua_pushnumber(L, tv_client_backoff(lc->c, attempt, ra));
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
    const tv_operation *op = tv_lua_op_by_name(luaL_checkstring(L, 1));
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
    static const luaL_Reg m[] = {{"_prepare", l_prepare}, {"_finish", l_finish}, {"_backoff", l_backoff},
                                 {"_http", l_http},       {NULL, NULL}};
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
