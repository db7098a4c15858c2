/* lua_batch.c -- client:_batch: many operations of the table at once over
 * libcurl's multi interface (tv_batch).  Every op is validated and built
 * before anything is sent. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lua_tv.h"

#define TV_LUA_BATCH_MT "twilio.verify.batch"

typedef struct lbatch {
    tv_batch *b;
    int client_ref;
} lbatch;

static lbatch *check_batch(lua_State *L) { return (lbatch *)luaL_checkudata(L, 1, TV_LUA_BATCH_MT); }

/* The batch of a step/progress/results call; raises once it was closed. */
static tv_batch *open_batch(lua_State *L) {
    lbatch *lb = check_batch(L);
    if (!lb->b) luaL_error(L, "the batch is closed");
    return lb->b;
}

static int lb_close(lua_State *L) {
    lbatch *lb = check_batch(L);
    tv_batch_free(lb->b);
    lb->b = NULL;
    luaL_unref(L, LUA_REGISTRYINDEX, lb->client_ref);
    lb->client_ref = LUA_NOREF;
    return 0;
}

/* batch:step(wait_ms) -> done (boolean) | nil, err */
static int lb_step(lua_State *L) {
    tv_batch *b = open_batch(L);
    int ms = (int)luaL_optinteger(L, 2, 50);
    tv_error err = TV_ERROR_INIT;
    int rc = tv_batch_step(b, ms < 0 ? 0 : ms, &err);
    if (rc < 0) return tv_lua_fail(L, &err);
    lua_pushboolean(L, rc);
    return 1;
}

/* batch:progress() -> done, total, errors, peak, retries */
static int lb_progress(lua_State *L) {
    tv_batch *b = open_batch(L);
    size_t d, t, e;
    tv_batch_progress(b, &d, &t, &e);
    lua_pushinteger(L, (lua_Integer)d);
    lua_pushinteger(L, (lua_Integer)t);
    lua_pushinteger(L, (lua_Integer)e);
    lua_pushinteger(L, tv_batch_peak(b));
    lua_pushinteger(L, (lua_Integer)tv_batch_retries(b));
    return 5;
}

/* batch:take(results) -> n: each op that succeeded since the last take
 * into results[i] = {ok = value}, its parsed answer freed in C (the batch
 * then holds only what it has not handed over).  The result stays the
 * batch's until it is in the table: a memory error raised meanwhile loses
 * nothing. */
static int lb_take(lua_State *L) {
    tv_batch *b = open_batch(L);
    luaL_checktype(L, 2, LUA_TTABLE);
    size_t i;
    const cJSON *out;
    lua_Integer n = 0;
    while (tv_batch_peek_done(b, &i, &out)) {
        lua_createtable(L, 0, 1);
        if (out) tv_lua_push_json(L, out);
        else lua_pushboolean(L, 1); /* delete */
        lua_setfield(L, -2, "ok");
        lua_rawseti(L, 2, (lua_Integer)i + 1);
        tv_batch_drop_done(b);
        n++;
    }
    lua_pushinteger(L, n);
    return 1;
}

/* batch:results([results]) -> { {ok = value} | {err = err}, ... } in input
 * order: into `results` when given (what batch:take put there stays),
 * else a new table */
static int lb_results(lua_State *L) {
    tv_batch *b = open_batch(L);
    size_t d, t, e;
    tv_batch_progress(b, &d, &t, &e);
    if (lua_istable(L, 2)) lua_settop(L, 2);
    else lua_createtable(L, (int)t, 0);
    for (size_t i = 0; i < t; i++) {
        const cJSON *out;
        const tv_error *err;
        int rc = tv_batch_result(b, i, &out, &err);
        if (rc == 1) continue; /* taken: already in the table */
        lua_createtable(L, 0, 1);
        if (rc == 0) {
            if (out) tv_lua_push_json(L, out);
            else lua_pushboolean(L, 1); /* delete */
            lua_setfield(L, -2, "ok");
        } else {
            tv_lua_push_error(L, err);
            lua_setfield(L, -2, "err");
        }
        lua_rawseti(L, -2, (int)i + 1);
    }
    return 1;
}

/* Is k a field a batch op of `op` may have?  "op", "params", and the
 * names of its path and positional parameters. */
static int batch_field(const tv_operation *op, const char *k) {
    if (strcmp(k, "op") == 0) return 1;
    if (strcmp(k, "params") == 0) return (op->flags & TV_OPF_PARAMS) != 0;
    for (size_t i = 0; i < tv_operation_npath(op); i++)
        if (strcmp(k, op->path_params[i].name) == 0) return 1;
    for (const tv_param_spec *p = op->params; p->name; p++)
        if ((p->flags & TV_PF_POSITIONAL) && strcmp(k, p->name) == 0) return 1;
    return 0;
}

/* Read batch op i (1-based; the table at stack index t): its row, its
 * fields checked (only "op", "params" and the names of its path and
 * positional parameters), then its method arguments pushed in order (path,
 * positional, params when the row takes them).  Returns the number pushed,
 * or -1 with err set (nothing pushed).  Reading may run metamethods, which
 * may raise: nothing C-owned is held here. */
static int read_batch_op(lua_State *L, int t, int i, const tv_operation **opp, tv_error *err) {
    const tv_operation *op = NULL;
    *opp = NULL;
    if (!lua_istable(L, t)) return tv_error_set(err, TV_EARG, "ops", "batch operation %d must be a table", i);
    lua_getfield(L, t, "op");
    const char *name = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    op = name ? tv_operation_by_name(name) : NULL;
    lua_pop(L, 1);
    if (!op)
        return tv_error_set(err, TV_EARG, "op",
                            "batch operation %d: op must name an operation (fetch_factor, create_challenge, "
                            "...; fetch, update, delete, list, create mean the factor ones)",
                            i);
    lua_pushnil(L);
    while (lua_next(L, t)) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        if (!k || !batch_field(op, k)) {
            tv_error_set(err, TV_EARG, k ? k : "ops", "unknown field '%s' in batch operation %d", k ? k : "?", i);
            lua_pop(L, 2);
            return -1;
        }
        lua_pop(L, 1);
    }
    /* lay the op's fields out as the method's arguments */
    luaL_checkstack(L, op->nargs + 2, "batch operation arguments");
    for (size_t k = 0; k < op->npath; k++) lua_getfield(L, t, op->path_params[k].name);
    for (const tv_param_spec *p = op->params; p->name; p++)
        if (p->flags & TV_PF_POSITIONAL) lua_getfield(L, t, p->name);
    if (op->flags & TV_OPF_PARAMS) lua_getfield(L, t, "params");
    *opp = op;
    return op->nargs;
}

/* core.batch_args(o, i) -> op_name, { args... }, n | nil, err: what the Lua
 * transport's batch runs for op i (the same reading as client:_batch). */
static int l_batch_args(lua_State *L) {
    int i = (int)luaL_checkinteger(L, 2);
    lua_settop(L, 1);
    tv_error err = TV_ERROR_INIT;
    const tv_operation *op;
    int n = read_batch_op(L, 1, i, &op, &err);
    if (n < 0) return tv_lua_fail(L, &err);
    lua_createtable(L, n, 0);
    lua_insert(L, 2);
    for (int k = n; k >= 1; k--) lua_rawseti(L, 2, k);
    lua_pushstring(L, op->name);
    lua_insert(L, 2);
    lua_pushinteger(L, n);
    return 3;
}

typedef struct fill_ctx {
    lclient *lc;
    tv_batch *b;
    size_t n;
} fill_ctx;

/* Read, validate and build every op into the batch (under lua_pcall, from
 * l_batch: arguments ctx, ops).  Reading runs the ops' metamethods, which
 * may raise; nothing C-owned is outside the batch when they do (a request
 * is built only after its op was read, and moved into the batch at once). */
static int fill_protected(lua_State *L) {
    fill_ctx *x = (fill_ctx *)lua_touserdata(L, 1);
    lclient *lc = x->lc;
    tv_error err = TV_ERROR_INIT;
    int ud = lua_gettop(L); /* 2: the ops table */
    for (size_t i = 0; i < x->n; i++) {
        lua_settop(L, ud);
        lua_rawgeti(L, 2, (int)i + 1);
        int t = lua_gettop(L);
        tv_request req;
        memset(&req, 0, sizeof req);
        tv_lua_args a;
        const tv_operation *op = NULL;
        int rc = read_batch_op(L, t, (int)i + 1, &op, &err) < 0 ? -1 : 0;
        if (rc == 0) rc = tv_lua_build(L, lc, op, t + 1, &req, &a, &err);
        if (rc) {
            tv_request_free(&req);
            tv_batch_set_error(x->b, i, &err);
        } else {
            tv_batch_set_request(x->b, i, &req, op->returns == TV_RET_PAGE);
        }
    }
    return 0;
}

/* client:_batch(ops, {concurrency =, max_rps =, fail_fast =}) -> batch | nil, err
 * Every op is validated and built now, before anything is sent; an invalid
 * op becomes that op's invalid_argument result (it does not trigger
 * fail_fast) and the others still run.  A raise while reading the ops (a
 * metamethod) frees the batch at once and goes on: the client is free for
 * the next batch without waiting for a collection. */
static int l_batch(lua_State *L) {
    tv_error err = TV_ERROR_INIT;
    lclient *lc = tv_lua_open_client_arg(L, &err);
    if (!lc) return tv_lua_fail(L, &err);
    luaL_checktype(L, 2, LUA_TTABLE);
    tv_batch_opts bo = {8, 0, 0};
    if (lua_istable(L, 3)) {
        lua_getfield(L, 3, "concurrency");
        if (!lua_isnil(L, -1)) {
            double d = lua_tonumber(L, -1);
            if (lua_type(L, -1) != LUA_TNUMBER || d != floor(d) || d < 1 || d > 64) {
                tv_error_set(&err, TV_EARG, "concurrency", "concurrency must be an integer between 1 and 64");
                return tv_lua_fail(L, &err);
            }
            bo.concurrency = (int)d;
        }
        lua_getfield(L, 3, "max_rps");
        if (!lua_isnil(L, -1)) {
            double d = lua_tonumber(L, -1);
            if (lua_type(L, -1) != LUA_TNUMBER || !(d >= 0.001) || d > 100000) {
                tv_error_set(&err, TV_EARG, "max_rps", "max_rps must be a number between 0.001 and 100000");
                return tv_lua_fail(L, &err);
            }
            bo.max_rps = d;
        }
        lua_getfield(L, 3, "fail_fast");
        bo.fail_fast = lua_toboolean(L, -1);
        lua_pop(L, 3);
    }
    size_t n = tvL_rawlen(L, 2);
    lbatch *lb = (lbatch *)lua_newuserdata(L, sizeof *lb);
    lb->b = NULL;
    lb->client_ref = LUA_NOREF;
    luaL_getmetatable(L, TV_LUA_BATCH_MT);
    lua_setmetatable(L, -2);
    int ud = lua_gettop(L);
    tvL_getuv(L, 1); /* the client's state: max_pages (lua_client.c) */
    lua_getfield(L, -1, "max_pages");
    lua_Integer max_pages = lua_isnumber(L, -1) ? lua_tointeger(L, -1) : 0;
    lua_settop(L, ud);
    lb->b = tv_batch_new(lc->c, n, &bo, &err);
    if (!lb->b) return tv_lua_fail(L, &err);
    if (max_pages > 0) tv_batch_set_max_pages(lb->b, (size_t)max_pages);
    lua_pushvalue(L, 1);
    lb->client_ref = luaL_ref(L, LUA_REGISTRYINDEX); /* the client outlives the batch */
    fill_ctx x = {lc, lb->b, n};
    lua_pushcfunction(L, fill_protected);
    lua_pushlightuserdata(L, &x);
    lua_pushvalue(L, 2);
    if (lua_pcall(L, 2, 0, 0) != 0) {
        /* the batch goes now, not at the collection of its userdata: until
         * then the client would refuse every other batch */
        tv_batch_free(lb->b);
        lb->b = NULL;
        luaL_unref(L, LUA_REGISTRYINDEX, lb->client_ref);
        lb->client_ref = LUA_NOREF;
        return lua_error(L);
    }
    lua_settop(L, ud);
    return 1;
}

void tv_lua_batch_methods(lua_State *L) {
    if (luaL_newmetatable(L, TV_LUA_BATCH_MT)) {
        static const luaL_Reg bm[] = {{"step", lb_step}, {"progress", lb_progress}, {"results", lb_results}, {"take", lb_take},
                                      {"close", lb_close}, {NULL, NULL}};
        lua_newtable(L);
        for (const luaL_Reg *r = bm; r->name; r++) {
            lua_pushcfunction(L, r->func);
            lua_setfield(L, -2, r->name);
        }
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, lb_close);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    lua_pushcfunction(L, l_batch);
    lua_setfield(L, -2, "_batch");
}

void tv_lua_batch_funcs(lua_State *L) {
    lua_pushcfunction(L, l_batch_args);
    lua_setfield(L, -2, "batch_args");
}
