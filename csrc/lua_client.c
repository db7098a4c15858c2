/* lua_client.c -- the client userdata: options, the Factor operations,
 * close/__gc/__close/__tostring.
 *
 * Memory discipline: every C resource lives inside the userdata (request and
 * response scratch buffers, the parsed JSON tree being converted), so a Lua
 * error raised at any point leaves nothing unowned; __gc frees it all.
 * Arguments are checked before anything is acquired. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lua_tv.h"
#include "tv.h"

#define MAX_PARAMS 16

typedef struct lclient {
    tv_client *c;
    tv_request req;   /* scratch, reused */
    tv_response resp; /* scratch, reused */
    cJSON *pending;   /* tree being converted to Lua; freed on the next call or __gc */
    lua_State *L;     /* the state of the call in progress (for hooks) */
    int ref_on_retry, ref_log, ref_transport; /* registry refs or LUA_NOREF */
    int hook_failed;  /* a hook raised; its error is at registry ref hook_err */
    int hook_err;
    int busy;         /* an operation is running (hooks may call close) */
    int consumed;     /* the operation's value was pushed by consume() */
} lclient;

static lclient *check_client(lua_State *L) { return (lclient *)luaL_checkudata(L, 1, TV_LUA_CLIENT_MT); }

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
    lc->ref_on_retry = lc->ref_log = lc->hook_err = lc->ref_transport = LUA_NOREF;
}

/* close and __close: idempotent; wipes credentials and frees the
 * connection at once.  While an operation is running (a hook calling
 * close), the C client stays allocated until the operation returns. */
static int l_close(lua_State *L) {
    lclient *lc = check_client(L);
    if (lc->c) tv_client_close(lc->c);
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

static void hook_call(lclient *lc, lua_CFunction fn, hook_ctx *x) {
    lua_State *L = lc->L;
    if (lc->hook_failed) return; /* a hook already failed in this call: skip */
    lua_pushcfunction(L, fn);
    lua_pushlightuserdata(L, x);
    if (lua_pcall(L, 1, 0, 0) != 0) stash_hook_error(L, lc);
}

static int log_protected(lua_State *L) {
    const hook_ctx *x = (const hook_ctx *)lua_touserdata(L, 1);
    lclient *lc = x->lc;
    const tv_event *ev = x->ev;
    lua_rawgeti(L, LUA_REGISTRYINDEX, lc->ref_log);
    lua_createtable(L, 0, 6);
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
    if (strcmp(ev->method, "POST") == 0) {
        lua_pushliteral(L, "application/x-www-form-urlencoded");
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
    lua_call(L, 1, 0);
    return 0;
}

static void on_event(void *ud, const tv_event *ev) {
    lclient *lc = ud;
    if (lc->ref_log == LUA_NOREF || !lc->c || !lua_checkstack(lc->L, 4)) return;
    hook_ctx x = {lc, ev, 0, 0, NULL};
    hook_call(lc, log_protected, &x);
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
    hook_call(lc, retry_protected, &x);
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
static int push_body(lua_State *L, const tv_request *req, const tv_response *resp, cJSON **slot,
                     tv_error *err) {
    if (resp->status >= 200 && resp->status <= 299 && req->op != TV_OP_DELETE &&
        resp->body.len >= STREAM_MIN_BODY) {
        tv_jcursor cur;
        tv_jcursor_init(&cur, req->op, resp->body.data, resp->body.len);
        if (tv_lua_push_json_stream(L, &cur, slot) == 0) return 1;
    }
    if (tv_parse_response(req, resp, slot, err)) return -1;
    if (req->op == TV_OP_DELETE) lua_pushboolean(L, 1);
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
    x->rc = push_body(L, x->req, x->resp, &x->lc->pending, x->err);
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
    lua_pushcfunction(L, consume_protected);
    lua_pushlightuserdata(L, &x);
    if (lua_pcall(L, 1, 1, 0) != 0) {
        drop_pending(lc);
        if (lc->hook_failed) lua_pop(L, 1);
        else stash_hook_error(L, lc);
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

static int is_name(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-')) return 0;
    return 1;
}

/* core.new(opts) -> client | nil, err */
static int l_new(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    tv_options o;
    memset(&o, 0, sizeof o);
    o.max_retries = -1;
    const char *region = NULL, *edge = NULL;
    int on_retry_idx = 0, log_idx = 0, transport_idx = 0;
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
        else if (strcmp(k, "timeout") == 0) msp = &o.timeout_ms;
        else if (strcmp(k, "connect_timeout") == 0) msp = &o.connect_timeout_ms;
        else if (strcmp(k, "retry_base") == 0) msp = &o.retry_base_ms;
        else if (strcmp(k, "retry_cap") == 0) msp = &o.retry_cap_ms;
        else if (strcmp(k, "retry_after_cap") == 0) msp = &o.retry_after_cap_ms;
        if (sp) {
            if (t != LUA_TSTRING) return opt_fail(L, k, "option %s must be a string", k);
            *sp = lua_tostring(L, -1); /* kept alive by the opts table */
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
    char region_url[160];
    if (region || edge) {
        if (o.base_url)
            return opt_fail(L, "base_url", "give base_url or region/edge, not both%s", "");
        if (region && (!is_name(region) || strlen(region) > 32))
            return opt_fail(L, "region", "region must be lower-case letters, digits and dashes%s", "");
        if (edge && (!is_name(edge) || strlen(edge) > 32))
            return opt_fail(L, "edge", "edge must be lower-case letters, digits and dashes%s", "");
        if (edge)
            snprintf(region_url, sizeof region_url, "https://verify.%s.%s.twilio.com", edge,
                     region ? region : "us1");
        else
            snprintf(region_url, sizeof region_url, "https://verify.%s.twilio.com", region);
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
    luaL_getmetatable(L, TV_LUA_CLIENT_MT);
    lua_setmetatable(L, -2);
    /* a per-client table for the Lua layer (factor/page metatables that
     * point back at the client): owned by the userdata, so the cycle is
     * collected normally on every Lua (no ephemeron tables needed) */
    lua_newtable(L);
    tvL_setuv(L, -2);
    lua_pushboolean(L, 0); /* reserve the slot for a hook's error (stash_hook_error) */
    lc->hook_err = luaL_ref(L, LUA_REGISTRYINDEX);
    tv_error err = TV_ERROR_INIT;
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

/* ---- arguments ---------------------------------------------------------- */

typedef struct args {
    tv_kv kv[MAX_PARAMS];
    char nums[MAX_PARAMS][24];
    size_t n;
    tv_call_opts co;
} args;

static int str_arg(lua_State *L, int idx, const char *name, const char **s, size_t *len, tv_error *err) {
    if (lua_type(L, idx) != LUA_TSTRING)
        return tv_error_set(err, TV_EARG, name, "%s must be a string, got %s", name, luaL_typename(L, idx));
    *s = lua_tolstring(L, idx, len);
    return 0;
}

/* Read a params table against a parameter set.  Values stay owned by the
 * table (strings) or by `a` (numbers).  Also handles `metadata` tables:
 * encoded into JSON exactly once, kept on the Lua stack as a string. */
static int read_params(lua_State *L, int idx, const tv_param_spec *set, const char *op, args *a,
                       tv_error *err) {
    a->n = 0;
    if (lua_isnoneornil(L, idx)) return 0;
    if (!lua_istable(L, idx))
        return tv_error_set(err, TV_EARG, "params", "params (of %s) must be a table, got %s", op,
                            luaL_typename(L, idx));
    /* a metadata table is encoded to JSON once, here; the string stays on
     * the stack (slot json_slot) until the C function returns */
    int json_slot = 0;
    if (tv_param_by_name(set, "metadata")) {
        lua_getfield(L, idx, "metadata");
        if (lua_istable(L, -1)) {
            if (tv_lua_encode_json(L, -1, err)) {
                lua_pop(L, 1);
                return -1;
            }
            lua_remove(L, -2);
            json_slot = lua_gettop(L);
        } else {
            lua_pop(L, 1);
        }
    }
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            lua_pop(L, 2);
            return tv_error_set(err, TV_EARG, "params", "%s parameter names must be strings", op);
        }
        const char *k = lua_tostring(L, -2);
        const tv_param_spec *p = tv_param_by_name(set, k);
        if (!p) {
            tv_error_set(err, TV_EARG, k, "unknown parameter '%s' for %s", k, op);
            lua_pop(L, 2);
            return -1;
        }
        if (a->n == MAX_PARAMS) {
            lua_pop(L, 2);
            return tv_error_set(err, TV_EARG, k, "too many parameters");
        }
        tv_kv *kv = &a->kv[a->n];
        kv->spec = p;
        int t = lua_type(L, -1);
        if (p->type == TV_PT_INT) {
            int isnum = t == LUA_TNUMBER;
            double d = lua_tonumber(L, -1);
            if (!isnum || d != floor(d) || fabs(d) > 1e15) {
                lua_pop(L, 2);
                return tv_error_set(err, TV_EARG, p->name, "%s must be an integer", p->name);
            }
            snprintf(a->nums[a->n], sizeof a->nums[a->n], "%.0f", d);
            kv->val = a->nums[a->n];
            kv->len = strlen(kv->val);
        } else if (t == LUA_TSTRING) {
            kv->val = lua_tolstring(L, -1, &kv->len);
        } else if (p->type == TV_PT_JSON && t == LUA_TTABLE && json_slot) {
            kv->val = lua_tolstring(L, json_slot, &kv->len);
        } else {
            tv_error_set(err, TV_EARG, p->name, "%s must be a string, got %s", p->name, luaL_typename(L, -1));
            lua_pop(L, 2);
            return -1;
        }
        a->n++;
        lua_pop(L, 1);
    }
    return 0;
}

/* Per-call options {timeout = s, max_retries = n} at idx. */
static int read_call_opts(lua_State *L, int idx, args *a, tv_error *err) {
    a->co.timeout_ms = 0;
    a->co.max_retries = -1;
    if (lua_isnoneornil(L, idx)) return 0;
    if (!lua_istable(L, idx))
        return tv_error_set(err, TV_EARG, "opts", "call options must be a table, got %s", luaL_typename(L, idx));
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
        double d = lua_tonumber(L, -1);
        int isnum = lua_type(L, -1) == LUA_TNUMBER;
        if (strcmp(k, "timeout") == 0) {
            if (!isnum || !(d > 0) || d > 86400) {
                lua_pop(L, 2);
                return tv_error_set(err, TV_EARG, "timeout", "timeout must be a number of seconds > 0");
            }
            a->co.timeout_ms = (long)ceil(d * 1000);
        } else if (strcmp(k, "max_retries") == 0) {
            if (!isnum || d != floor(d) || d < 0 || d > 20) {
                lua_pop(L, 2);
                return tv_error_set(err, TV_EARG, "max_retries", "max_retries must be an integer between 0 and 20");
            }
            a->co.max_retries = (int)d;
        } else {
            tv_error_set(err, TV_EARG, k, "unknown call option '%s'", k);
            lua_pop(L, 2);
            return -1;
        }
        lua_pop(L, 1);
    }
    return 0;
}

/* Run the built request; push the result (or nil, err).  `nres` results. */
static int run(lua_State *L, lclient *lc, const args *a, tv_error *err) {
    drop_pending(lc);
    lc->L = L;
    lc->hook_failed = 0;
    lc->consumed = 0;
    cJSON *out = NULL;
    lc->busy = 1;
    int rc = tv_client_execute(lc->c, &lc->req, &a->co, &lc->resp, &out, err);
    lc->busy = 0;
    tv_buf_reset(&lc->req.body, 1); /* the body may hold AuthPayload: wipe now */
    if (lc->hook_failed) { /* report the hook's error after everything unwound */
        tv_error_clear(err);
        drop_pending(lc);
        cJSON_Delete(out);
        lua_rawgeti(L, LUA_REGISTRYINDEX, lc->hook_err);
        lua_pushboolean(L, 0); /* the slot stays reserved for the next call */
        lua_rawseti(L, LUA_REGISTRYINDEX, lc->hook_err);
        return lua_error(L);
    }
    if (rc) return tv_lua_fail(L, err);
    if (lc->consumed) return 1; /* consume() left the value on the stack */
    if (lc->req.op == TV_OP_DELETE) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lc->pending = out; /* boxed in the userdata while converting */
    tv_lua_push_json(L, out);
    drop_pending(lc);
    return 1;
}

static lclient *open_client(lua_State *L, tv_error *err) {
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

/* The operations, as the binding knows them. */
enum { OP_FETCH, OP_DELETE, OP_UPDATE, OP_CREATE, OP_LIST, OP_LIST_URL };
static const char *const op_names[] = {"fetch", "delete", "update", "create", "list", "list_url", NULL};

/* Read the arguments of `op` starting at stack index `base` (the first
 * argument after self / the op name), validate and build into `req`. */
static int build(lua_State *L, lclient *lc, int op, int base, tv_request *req, args *a, tv_error *err) {
    /* pin the argument slots (at most service, identity, sid, params, opts):
     * read_params pushes the metadata JSON above them, and without this a
     * call that leaves out opts would read that string as its opts */
    lua_settop(L, base + 4);
    const tv_origin *o = tv_client_origin(lc->c);
    const char *svc = NULL, *idn = NULL, *sid = NULL, *url = NULL;
    size_t svl = 0, idl = 0, sil = 0, ul = 0;
    if (op == OP_LIST_URL)
        return str_arg(L, base, "url", &url, &ul, err) || read_call_opts(L, base + 1, a, err) ||
                       tv_build_list_url(o, url, ul, req, err)
                   ? -1
                   : 0;
    if (str_arg(L, base, "service_sid", &svc, &svl, err) || str_arg(L, base + 1, "identity", &idn, &idl, err))
        return -1;
    switch (op) {
    case OP_FETCH:
    case OP_DELETE:
    case OP_UPDATE:
        if (str_arg(L, base + 2, "sid", &sid, &sil, err)) return -1;
        if (op == OP_UPDATE) {
            if (read_params(L, base + 3, tv_params_update, "update_factor", a, err) ||
                read_call_opts(L, base + 4, a, err))
                return -1;
            return tv_build_update(o, svc, svl, idn, idl, sid, sil, a->kv, a->n, req, err);
        }
        if (read_call_opts(L, base + 3, a, err)) return -1;
        return op == OP_FETCH ? tv_build_fetch(o, svc, svl, idn, idl, sid, sil, req, err)
                              : tv_build_delete(o, svc, svl, idn, idl, sid, sil, req, err);
    case OP_CREATE:
        if (read_params(L, base + 2, tv_params_create, "create_factor", a, err) ||
            read_call_opts(L, base + 3, a, err))
            return -1;
        return tv_build_create(o, svc, svl, idn, idl, a->kv, a->n, req, err);
    default: /* OP_LIST */
        if (read_params(L, base + 2, tv_params_list, "list_factor", a, err) || read_call_opts(L, base + 3, a, err))
            return -1;
        return tv_build_list(o, svc, svl, idn, idl, a->kv, a->n, req, err);
    }
}

static int op_call(lua_State *L, int op) {
    tv_error err = TV_ERROR_INIT;
    lclient *lc = open_client(L, &err);
    if (!lc) return tv_lua_fail(L, &err);
    args a;
    if (build(L, lc, op, 2, &lc->req, &a, &err)) return tv_lua_fail(L, &err);
    return run(L, lc, &a, &err);
}

static int l_fetch(lua_State *L) { return op_call(L, OP_FETCH); }
static int l_delete(lua_State *L) { return op_call(L, OP_DELETE); }
static int l_update(lua_State *L) { return op_call(L, OP_UPDATE); }
static int l_create(lua_State *L) { return op_call(L, OP_CREATE); }
static int l_list(lua_State *L) { return op_call(L, OP_LIST); }
/* client:list_page_url(url [, opts]) -- a page URL the API returned; only
 * followed when it is on the configured base URL's scheme/host/port. */
static int l_list_url(lua_State *L) { return op_call(L, OP_LIST_URL); }

/* ---- sans-I/O surface for Lua transports ---------------------------------
 * A Lua transport may yield (OpenResty cosockets), so the attempt loop for
 * it runs in Lua (lua/twilio/verify.lua) around these C steps; the rules
 * (validation, building, parsing, retry classification, backoff) are the
 * same C functions the libcurl path uses. */

static void push_request(lua_State *L, lclient *lc, int op, const tv_request *req, const args *a) {
    lua_createtable(L, 0, 8);
    lua_pushstring(L, op_names[op]);
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

/* client:_prepare(op, ...) -> request table | nil, err */
static int l_prepare(lua_State *L) {
    tv_error err = TV_ERROR_INIT;
    lclient *lc = open_client(L, &err);
    if (!lc) return tv_lua_fail(L, &err);
    int op = luaL_checkoption(L, 2, NULL, op_names);
    args a;
    if (build(L, lc, op, 3, &lc->req, &a, &err)) return tv_lua_fail(L, &err);
    push_request(L, lc, op, &lc->req, &a);
    tv_buf_reset(&lc->req.body, 1);
    return 1;
}

/* Case-insensitive header lookup in the table at idx; pushes value or nil. */
static void get_header(lua_State *L, int idx, const char *name) {
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) == LUA_TSTRING && strcasecmp(lua_tostring(L, -2), name) == 0 &&
            (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER)) {
            lua_remove(L, -2);
            if (lua_type(L, -1) == LUA_TNUMBER) (void)lua_tostring(L, -1); /* in place */
            return;
        }
        lua_pop(L, 1);
    }
    lua_pushnil(L);
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
 * (true for DELETE) or nil, err (push_body). */
static int parse_boxed(lua_State *L, pbox *b, const char *body, size_t blen) {
    tv_error err = TV_ERROR_INIT;
    tv_response view = b->resp;
    view.body.data = (char *)body; /* read only: the parsers take const */
    view.body.len = blen;
    view.body.cap = 0;
    if (push_body(L, &b->req, &view, &b->out, &err) < 0) return tv_lua_fail(L, &err);
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
    lua_getfield(L, 2, "op");
    int op = luaL_checkoption(L, -1, NULL, op_names);
    lua_getfield(L, 2, "url");
    size_t ul = 0;
    const char *url = luaL_checklstring(L, -1, &ul);
    pbox *b = (pbox *)tv_lua_box(L, sizeof *b, "twilio.verify.pbox", pbox_gc);
    b->resp.retry_after = -1;
    static const tv_op opv[] = {TV_OP_FETCH, TV_OP_DELETE, TV_OP_UPDATE, TV_OP_CREATE, TV_OP_LIST, TV_OP_LIST};
    static const tv_method mv[] = {TV_GET, TV_DELETE, TV_POST, TV_POST, TV_GET, TV_GET};
    b->req.op = opv[op];
    b->req.method = mv[op];
    if (tv_buf_add(&b->req.url, url, ul)) return luaL_error(L, "out of memory");
    if (!lua_istable(L, 3)) {
        const char *msg = "the transport failed";
        int timed_out = 0, unsent = 0, code = 0;
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
            lua_pop(L, 4); /* keep message on the stack */
        }
        tv_error_set(&err, kind, NULL, "%s", msg);
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
    lua_getfield(L, 3, "headers");
    if (lua_istable(L, -1)) {
        int h = lua_gettop(L);
        get_header(L, h, "Retry-After");
        if (lua_isstring(L, -1)) {
            size_t n;
            const char *v = lua_tolstring(L, -1, &n);
            b->resp.retry_after = tv_parse_retry_after(v, n, (int64_t)time(NULL));
        }
        get_header(L, h, "Twilio-Request-Id");
        if (lua_isstring(L, -1)) snprintf(b->resp.request_id, sizeof b->resp.request_id, "%s", lua_tostring(L, -1));
        lua_pop(L, 2);
    }
    return parse_boxed(L, b, body, bl);
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
    lua_getfield(L, 2, "op");
    int op = luaL_checkoption(L, -1, NULL, op_names);
    lua_getfield(L, 2, "url");
    size_t ul = 0;
    const char *url = luaL_checklstring(L, -1, &ul);
    lua_getfield(L, 2, "body");
    size_t bl = 0;
    const char *body = lua_isstring(L, -1) ? lua_tolstring(L, -1, &bl) : "";
    lua_getfield(L, 2, "timeout");
    double timeout = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : 0;
    static const tv_method mv[] = {TV_GET, TV_DELETE, TV_POST, TV_POST, TV_GET, TV_GET};
    tv_request *req = &lc->req;
    req->method = mv[op];
    tv_buf_reset(&req->url, 0);
    tv_buf_reset(&req->body, 1);
    if (tv_buf_add(&req->url, url, ul) || tv_buf_add(&req->body, body, bl)) return luaL_error(L, "out of memory");
    tv_call_opts co = {timeout > 0 ? (long)(timeout * 1000) : 0, 0};
    tv_client_set_call_opts(lc->c, &co);
    tv_response_reset(&lc->resp);
    lc->busy = 1;
    int rc = tv_http_perform(NULL, lc->c, req, &lc->resp, &err);
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
    if (lc->resp.request_id[0]) {
        lua_pushstring(L, lc->resp.request_id);
        lua_setfield(L, -2, "Twilio-Request-Id");
    }
    if (lc->resp.retry_after >= 0) { /* as delta-seconds, like the header */
        lua_pushinteger(L, (lua_Integer)ceil(lc->resp.retry_after));
        lua_setfield(L, -2, "Retry-After");
    }
    lua_setfield(L, -2, "headers");
    return 1;
}

/* ---- batches -------------------------------------------------------------- */

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

/* batch:results() -> { {ok = value} | {err = err}, ... } in input order */
static int lb_results(lua_State *L) {
    tv_batch *b = open_batch(L);
    size_t d, t, e;
    tv_batch_progress(b, &d, &t, &e);
    lua_createtable(L, (int)t, 0);
    for (size_t i = 0; i < t; i++) {
        const cJSON *out;
        const tv_error *err;
        lua_createtable(L, 0, 1);
        if (tv_batch_result(b, i, &out, &err) == 0) {
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

static const char *const batch_fields[] = {"op", "service_sid", "identity", "sid", "params", NULL};

/* client:_batch(ops, {concurrency =, max_rps =, fail_fast =}) -> batch | nil, err
 * Every op is validated and built now; an invalid op becomes that op's
 * invalid_argument result and the others still run. */
static int l_batch(lua_State *L) {
    tv_error err = TV_ERROR_INIT;
    lclient *lc = open_client(L, &err);
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
            if (lua_type(L, -1) != LUA_TNUMBER || !(d > 0) || d > 100000) {
                tv_error_set(&err, TV_EARG, "max_rps", "max_rps must be a number > 0");
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
    lb->b = tv_batch_new(lc->c, n, &bo, &err);
    if (!lb->b) return tv_lua_fail(L, &err);
    lua_pushvalue(L, 1);
    lb->client_ref = luaL_ref(L, LUA_REGISTRYINDEX); /* the client outlives the batch */
    for (size_t i = 0; i < n; i++) {
        lua_settop(L, ud);
        lua_rawgeti(L, 2, (int)i + 1);
        int t = lua_gettop(L);
        tv_request req;
        memset(&req, 0, sizeof req);
        args a;
        int op = -1, rc = 0;
        if (!lua_istable(L, t)) {
            rc = tv_error_set(&err, TV_EARG, "ops", "batch operation %d must be a table", (int)i + 1);
        } else {
            lua_pushnil(L);
            while (rc == 0 && lua_next(L, t)) {
                const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
                int known = 0;
                for (int f = 0; k && batch_fields[f]; f++) known |= strcmp(k, batch_fields[f]) == 0;
                if (!known) {
                    rc = tv_error_set(&err, TV_EARG, k ? k : "ops", "unknown field '%s' in batch operation %d",
                                      k ? k : "?", (int)i + 1);
                    lua_pop(L, 2);
                    break;
                }
                lua_pop(L, 1);
            }
        }
        if (rc == 0) {
            lua_getfield(L, t, "op");
            const char *name = lua_tostring(L, -1);
            op = !name                              ? -1
                 : strcmp(name, "fetch") == 0       ? OP_FETCH
                 : strcmp(name, "update") == 0      ? OP_UPDATE
                 : strcmp(name, "delete") == 0      ? OP_DELETE
                 : strcmp(name, "list") == 0        ? OP_LIST
                                                    : -1;
            if (op < 0) rc = tv_error_set(&err, TV_EARG, "op", "batch op must be fetch, update, delete or list");
        }
        if (rc == 0) {
            int base = lua_gettop(L) + 1;
            lua_getfield(L, t, "service_sid");
            lua_getfield(L, t, "identity");
            if (op != OP_LIST) lua_getfield(L, t, "sid");
            if (op == OP_UPDATE || op == OP_LIST) lua_getfield(L, t, "params");
            rc = build(L, lc, op, base, &req, &a, &err);
        }
        if (rc) {
            tv_request_free(&req);
            tv_batch_set_error(lb->b, i, &err);
        } else {
            tv_batch_set_request(lb->b, i, &req, op == OP_LIST);
        }
    }
    lua_settop(L, ud);
    return 1;
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

static int l_base_url(lua_State *L) {
    lclient *lc = check_client(L);
    if (tv_client_closed(lc->c)) return 0;
    lua_pushstring(L, tv_client_origin(lc->c)->base);
    return 1;
}

static int l_user_agent(lua_State *L) {
    lclient *lc = check_client(L);
    if (tv_client_closed(lc->c)) return 0;
    lua_pushstring(L, tv_client_user_agent(lc->c));
    return 1;
}

/* core.arg_error(param, message) -> error object (kind invalid_argument) */
static int l_arg_error(lua_State *L) {
    const char *param = luaL_checkstring(L, 1);
    const char *msg = luaL_checkstring(L, 2);
    tv_error err = TV_ERROR_INIT;
    tv_error_set(&err, TV_EARG, param, "%s", msg);
    tv_lua_push_error(L, &err);
    return 1;
}

/* core.check_params(op, service_sid, identity, params) -> true | nil, err
 * Validates without any I/O (same rules as the operation itself). */
static int l_check_params(lua_State *L) {
    const char *op = luaL_checkstring(L, 1);
    const tv_param_spec *set = strcmp(op, "list_factor") == 0     ? tv_params_list
                               : strcmp(op, "update_factor") == 0 ? tv_params_update
                               : strcmp(op, "create_factor") == 0 ? tv_params_create
                                                                  : NULL;
    if (!set) return luaL_argerror(L, 1, "unknown operation");
    tv_error err = TV_ERROR_INIT;
    const char *svc = NULL, *idn = NULL;
    size_t svl = 0, idl = 0;
    args a;
    if (str_arg(L, 2, "service_sid", &svc, &svl, &err) || str_arg(L, 3, "identity", &idn, &idl, &err) ||
        tv_check_service_sid(svc, svl, &err) || tv_check_identity(idn, idl, &err) ||
        read_params(L, 4, set, op, &a, &err))
        return tv_lua_fail(L, &err);
    for (size_t i = 0; i < a.n; i++)
        if (tv_param_check(a.kv[i].spec, a.kv[i].val, a.kv[i].len, &err)) return tv_lua_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

/* core.check_page_url(client, url) -> true | nil, err (no I/O) */
static int l_check_page_url(lua_State *L) {
    tv_error err = TV_ERROR_INIT;
    lclient *lc = open_client(L, &err);
    if (!lc) return tv_lua_fail(L, &err);
    const char *url = NULL;
    size_t ul = 0;
    tv_request scratch;
    memset(&scratch, 0, sizeof scratch);
    if (str_arg(L, 2, "url", &url, &ul, &err)) return tv_lua_fail(L, &err);
    int rc = tv_build_list_url(tv_client_origin(lc->c), url, ul, &scratch, &err);
    tv_request_free(&scratch);
    if (rc) return tv_lua_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

/* core.parse_response(op, status, body [, headers]) -> value | nil, err
 * The sans-I/O parser as used by every transport: op is "fetch", "delete",
 * "update", "create" or "list"; headers may carry Retry-After and
 * Twilio-Request-Id.  DELETE success gives true. */
static int l_parse_response(lua_State *L) {
    static const char *const ops[] = {"fetch", "delete", "update", "list", "create", NULL};
    static const tv_op opv[] = {TV_OP_FETCH, TV_OP_DELETE, TV_OP_UPDATE, TV_OP_LIST, TV_OP_CREATE};
    static const tv_method mv[] = {TV_GET, TV_DELETE, TV_POST, TV_GET, TV_POST};
    int i = luaL_checkoption(L, 1, NULL, ops);
    lua_Integer status = luaL_checkinteger(L, 2);
    size_t blen = 0;
    const char *body = luaL_optlstring(L, 3, "", &blen);
    /* everything C-owned lives in a box so raises cannot leak */
    pbox *b = (pbox *)tv_lua_box(L, sizeof *b, "twilio.verify.pbox", pbox_gc);
    b->resp.retry_after = -1;
    b->req.op = opv[i];
    b->req.method = mv[i];
    b->resp.status = (long)status;
    if (lua_istable(L, 4)) {
        lua_getfield(L, 4, "Retry-After");
        if (lua_isstring(L, -1)) {
            size_t n;
            const char *v = lua_tolstring(L, -1, &n);
            b->resp.retry_after = tv_parse_retry_after(v, n, (int64_t)time(NULL));
        }
        lua_getfield(L, 4, "Twilio-Request-Id");
        if (lua_isstring(L, -1)) snprintf(b->resp.request_id, sizeof b->resp.request_id, "%s", lua_tostring(L, -1));
        lua_pop(L, 2);
    }
    if (tv_buf_add(&b->req.url, "", 0)) return luaL_error(L, "out of memory");
    return parse_boxed(L, b, body, blen); /* body: argument 3, alive for the call */
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

/* core.now() -> monotonic seconds; core.sleep(s) blocks the thread */
static int l_now(lua_State *L) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + ts.tv_nsec / 1e9);
    return 1;
}

static int l_sleep(lua_State *L) {
    double s = luaL_checknumber(L, 1);
    if (s > 0) {
        struct timespec ts;
        ts.tv_sec = (time_t)s;
        ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
        while (nanosleep(&ts, &ts) != 0) {
        }
    }
    return 0;
}

static const luaL_Reg module_funcs[] = {
    {"now", l_now}, {"sleep", l_sleep},
    {"new", l_new}, {"parse_response", l_parse_response}, {"redact", l_redact}, {"arg_error", l_arg_error}, {"check_params", l_check_params},
    {"check_page_url", l_check_page_url}, {NULL, NULL}};

static const luaL_Reg client_methods[] = {
    {"fetch_factor", l_fetch},   {"delete_factor", l_delete}, {"update_factor", l_update},
    {"create_factor", l_create}, {"list_factor", l_list},     {"list_page_url", l_list_url},
    {"close", l_close},          {"is_closed", l_is_closed},  {"base_url", l_base_url},
    {"user_agent", l_user_agent}, {"_prepare", l_prepare},     {"_finish", l_finish},
    {"_backoff", l_backoff},     {"_http", l_http},           {"_transport", l_transport},
    {"_hooks", l_hooks},         {"_batch", l_batch},         {"_state", l_state},         {NULL, NULL}};

/* Push the methods table (also the metatable's __index) and register the
 * metatable.  The Lua layer may add methods to this table. */
int tv_lua_open_client(lua_State *L) {
    tv_lua_error_init(L);
    luaL_newmetatable(L, TV_LUA_CLIENT_MT);
    luaL_newlib(L, client_methods);
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
    return 1;
}

/* Add new, arg_error, check_params, check_page_url to the table on top. */
void tv_lua_client_funcs(lua_State *L) {
    if (luaL_newmetatable(L, TV_LUA_BATCH_MT)) {
        static const luaL_Reg bm[] = {{"step", lb_step}, {"progress", lb_progress}, {"results", lb_results},
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
    for (const luaL_Reg *r = module_funcs; r->name; r++) {
        lua_pushcfunction(L, r->func);
        lua_setfield(L, -2, r->name);
    }
}
