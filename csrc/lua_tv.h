/*
 * lua_tv.h -- private header of the Lua binding (csrc/lua_*.c), grouped by
 * file.  Compat: LuaJIT-safe macros only; never define unprefixed lua_* or
 * luaL_* functions.
 */
#ifndef LUA_TV_H
#define LUA_TV_H

#include <lauxlib.h>
#include <lua.h>

#include "tv_error.h"

#if defined(__GNUC__) /* internal to the module: only luaopen_twilio_verify_core is exported, */
#pragma GCC visibility push(hidden) /* so calls between files are direct, with no PLT */
#endif

/* ---- compat (after lauxlib.h) ---------------------------------------- */
#if LUA_VERSION_NUM >= 502
#define tvL_rawlen(L, i) lua_rawlen((L), (i))
#else
#define tvL_rawlen(L, i) lua_objlen((L), (i))
#endif
#if LUA_VERSION_NUM >= 502
#define tvL_absindex(L, i) lua_absindex((L), (i))
#else
#define tvL_absindex(L, i) (((i) > 0 || (i) <= LUA_REGISTRYINDEX) ? (i) : lua_gettop(L) + (i) + 1)
#endif
#if LUA_VERSION_NUM < 502 && !defined(luaL_newlib)
#define luaL_newlib(L, l) (lua_newtable(L), luaL_register((L), NULL, (l)))
#endif

/* One user value per userdata (a table): 5.4 user values, 5.2/5.3 the
 * uservalue, 5.1/LuaJIT the environment table. */
#if LUA_VERSION_NUM >= 504
#define tvL_setuv(L, idx) lua_setiuservalue((L), (idx), 1)
#define tvL_getuv(L, idx) ((void)lua_getiuservalue((L), (idx), 1))
#elif LUA_VERSION_NUM >= 502
#define tvL_setuv(L, idx) lua_setuservalue((L), (idx))
#define tvL_getuv(L, idx) ((void)lua_getuservalue((L), (idx)))
#else
#define tvL_setuv(L, idx) lua_setfenv((L), (idx))
#define tvL_getuv(L, idx) lua_getfenv((L), (idx))
#endif

#define TV_LUA_ERROR_MT "twilio.verify.error"
#define TV_LUA_CLIENT_MT "twilio.verify.client"

/* ---- lua_error.c -------------------------------------------------------
 * tv_lua_box: push a new zeroed userdata of `size` bytes whose metatable
 * `mt` (created on first use) has __gc = gc, and return it.  The one way
 * the binding keeps C memory owned by Lua while calls that can raise run:
 * fill the box first, and __gc frees whatever a raise left in it. */
void *tv_lua_box(lua_State *L, size_t size, const char *mt, lua_CFunction gc);

/* Push a new error table for `err`: fields kind, message, and where set:
 * param, status, code, more_info, details (decoded JSON -> Lua), method,
 * url, request_id, body, retryable, retry_after, transport_code.  Metatable
 * TV_LUA_ERROR_MT gives __tostring.  Never raises except on out of memory
 * (and `err` owns nothing the caller must free across that raise: callers
 * copy err into a stack record and clear it after this returns). */
void tv_lua_push_error(lua_State *L, const tv_error *err);
/* Push nil, error; returns 2 (for `return tv_lua_fail(L, &err)`), and clears
 * the error's heap members (so nothing leaks). */
int tv_lua_fail(lua_State *L, tv_error *err);
/* Register TV_LUA_ERROR_MT (idempotent). */
void tv_lua_error_init(lua_State *L);

/* ---- lua_json.c --------------------------------------------------------
 * cJSON tree -> Lua value.  JSON null becomes nil in objects (key absent)
 * and the `null` sentinel (lightuserdata NULL) in arrays.  Depth-limited;
 * raises on out of memory / stack overflow, so callers box the tree first. */
struct cJSON;
void tv_lua_push_json(lua_State *L, const struct cJSON *item);
/* Convert a 2xx body straight from text with a tv_jcursor (see tv.h),
 * one top-level member or array element at a time.  The item being
 * converted is kept in *slot, owned by the caller's box, so a raise (out of
 * memory) leaks nothing.  Pushes the value and returns 0, or returns -1
 * with nothing pushed: the caller then uses tv_parse_response (which gives
 * the error, or in corner cases the tree for tv_lua_push_json). */
struct tv_jcursor;
int tv_lua_push_json_stream(lua_State *L, struct tv_jcursor *cur, struct cJSON **slot);
/* Decode a JSON object `s` (n bytes) straight into a Lua table, with
 * tv_lua_push_json's semantics: 0 with the table pushed, or -1 with nothing
 * pushed when the text needs cJSON's judgement (escapes, odd numbers,
 * trailing bytes, invalid JSON...): the caller then parses with cJSON. */
int tv_lua_push_json_direct(lua_State *L, const char *s, size_t n);
/* Encode the Lua table at idx as JSON text (string keys -> objects,
 * sequences -> arrays; a table mixing both is refused; strings must be
 * valid text).  Pushes the string and returns 0, or returns -1 with err
 * (TV_EARG, param `name`) and pushes nothing. */
int tv_lua_encode_json(lua_State *L, int idx, const char *name, tv_error *err);
/* Set core.json_decode (text -> value | nil, message) in the table on top. */
void tv_lua_json_funcs(lua_State *L);

/* ---- lua_client.c ------------------------------------------------------
 * The client userdata: options, credentials (in the C client only), hooks,
 * close/__gc/__close/__tostring and the run step every operation shares.
 *
 * Memory discipline: every C resource lives inside the userdata (request and
 * response scratch buffers, the parsed JSON tree being converted), so a Lua
 * error raised at any point leaves nothing unowned; __gc frees it all. */
#include "tv.h"

#define TV_LUA_POOL_MAX 16

typedef struct lclient {
    tv_client *c;
    tv_request req;   /* scratch, reused */
    tv_response resp; /* scratch, reused */
    struct cJSON *pending; /* tree being converted to Lua; freed on the next call or __gc */
    lua_State *L;     /* the state of the call in progress (for hooks) */
    int ref_on_retry, ref_log, ref_transport; /* registry refs or LUA_NOREF */
    /* The C functions run under lua_pcall inside the core's attempt loop,
     * made once per client: pushing a C function allocates on Lua 5.1 and
     * LuaJIT, and a memory error there must not jump through the core. */
    int ref_log_fn, ref_retry_fn, ref_consume_fn;
    /* The request headers a Lua transport gets ({ name, value, ... } of
     * GET/DELETE and of POST), made once (lua_transport.c) and dropped by
     * _set_token and close: registry refs or LUA_NOREF */
    int ref_hdrs[2];
    int hook_failed;  /* a hook raised; its error is at registry ref hook_err */
    int hook_err;
    /* Lua-transport call boxes (lua_transport.c): the first TV_LUA_POOL_MAX
     * are anchored in the state table's array part when made (slots
     * 1..nboxes); idle[] holds those whose call ended, ready for the next */
    void *idle[TV_LUA_POOL_MAX];
    int nidle, nboxes;
    int busy;         /* an operation is running (hooks may call close) */
    int consumed;     /* the operation's value was pushed by consume() */
} lclient;

/* Forget the client's cached request headers (ref_hdrs). */
void tv_lua_drop_headers(lua_State *L, lclient *lc);
/* Argument 1 as a client (raises when it is not one). */
lclient *tv_lua_check_client(lua_State *L);
/* Argument 1 as an open, idle client; NULL with err (closed / busy). */
lclient *tv_lua_open_client_arg(lua_State *L, tv_error *err);
/* Run lc->req (built) with per-call options co; push the value (true for
 * nothing) or nil, err.  Raises a hook's error once everything unwound. */
int tv_lua_run(lua_State *L, lclient *lc, const tv_call_opts *co, tv_error *err);
/* Push the log hook's event table: method, url, body (redacted), headers
 * (as sent, the credential redacted), status, duration, attempt, error. */
void tv_lua_push_event(lua_State *L, const lclient *lc, const tv_event *ev);
/* Push the Lua value of a response (see lua_client.c); 1, or -1 with err. */
int tv_lua_push_body(lua_State *L, const tv_request *req, const tv_response *resp, struct cJSON **slot,
                     tv_error *err);
/* The client's metatable: tv_lua_client_open registers it and pushes it
 * and a methods table with the client's own methods; lua_core.c adds the
 * other methods, then tv_lua_client_seal makes the table its __index and
 * leaves it on top.  tv_lua_client_funcs adds the module-level new, now and
 * sleep to the table on top. */
void tv_lua_client_open(lua_State *L);
void tv_lua_client_seal(lua_State *L);
void tv_lua_client_funcs(lua_State *L);

/* ---- lua_ops.c ---------------------------------------------------------
 * The operations of the table (tv_ops.h) as client methods, the argument
 * conventions (path parameters positional in path order, then positional
 * form parameters, then a params table, then per-call options), and
 * core.operations() -- the table as Lua data for the Lua layer, the CLI and
 * the docs. */
#define TV_LUA_MAX_PARAMS 64

typedef struct tv_lua_args {
    tv_kv kv[TV_LUA_MAX_PARAMS];
    char nums[TV_LUA_MAX_PARAMS][32]; /* integers, dates made from numbers */
    size_t n;
    tv_call_opts co;
} tv_lua_args;

/* Read the arguments of op from stack index `base` on, validate and build
 * into req.  op == NULL: a page URL (url [, opts]) of any list operation.
 * 0, or -1 with err. */
int tv_lua_build(lua_State *L, lclient *lc, const tv_operation *op, int base, tv_request *req, tv_lua_args *a,
                 tv_error *err);
void tv_lua_ops_methods(lua_State *L); /* adds the op methods to the table on top */
void tv_lua_ops_funcs(lua_State *L);   /* operations, check_params, check_page_url, arg_error */

/* ---- lua_transport.c ---------------------------------------------------
 * The Lua-transport path: the call engine (tv_engine.c) driven from Lua
 * (_call, _next, _group), _prepare, _http, and core.parse_response /
 * core.redact. */
void tv_lua_transport_methods(lua_State *L);
void tv_lua_transport_funcs(lua_State *L);

/* ---- lua_meta.c --------------------------------------------------------
 * verify.response_of(value): the status and kept headers
 * (tv_meta_header_names) of the response a value came from, recorded in a
 * weak-keyed table (core._responses) as one compact string per value:
 * "<status>\n<letter>:<value>\n..." ('a' + index; values hold no controls);
 * the Lua layer expands it on demand.  Only tables are recorded. */
void tv_lua_meta_open(lua_State *L); /* sets core._responses and core.response_headers on the table on top */
void tv_lua_meta_record(lua_State *L, int vidx, const tv_response *resp);
/* The headers of tv_meta_header_names in a Lua transport's response
 * headers table at hidx (anything: only a table is read), pushed as
 * TV_NMETA_HEADERS stack slots in that order, each a string or nil.  A
 * name matches any key of the same length, case-insensitively; of several
 * spellings the smallest key in byte order wins (deterministic, whatever
 * lua_next's order); a number value is converted, a table (a repeated
 * header) gives its last element, any other value counts as absent.  A
 * table with more than TV_LUA_MAX_HEADERS entries is not read at all (all
 * nil).  Uses a bounded number of stack slots (luaL_checkstack: raises
 * only a memory error).  Returns the index of the first slot. */
#define TV_LUA_MAX_HEADERS 256
int tv_lua_headers_collect(lua_State *L, int hidx);
/* tv_lua_meta_record from the slots tv_lua_headers_collect pushed at base */
void tv_lua_meta_record_slots(lua_State *L, int vidx, long status, int base);
/* A 2xx of a Lua transport: keep { status, its headers table (at hidx) }
 * for value vidx, read (tv_lua_headers_collect) only if response_of asks */
void tv_lua_meta_record_lazy(lua_State *L, int vidx, long status, int hidx);

/* ---- lua_batch.c -------------------------------------------------------
 * client:_batch over tv_batch (libcurl multi). */
void tv_lua_batch_methods(lua_State *L);
void tv_lua_batch_funcs(lua_State *L); /* batch_args */

/* ---- lua_totp.c --------------------------------------------------------
 * Push the `totp` table: code, check, uri, parse_uri. */
int tv_lua_open_totp(lua_State *L);

/* ---- lua_webhook.c -----------------------------------------------------
 * Push the `webhook` table: sign, validate, body_sha256 (tv_webhook.h). */
int tv_lua_open_webhook(lua_State *L);
/* ---- lua_device.c ------------------------------------------------------
 * core.device: P-256 keys, signatures and JWTs of the virtual device. */
int tv_lua_open_device(lua_State *L);

/* ---- lua_passkey.c -----------------------------------------------------
 * core.passkey: the credentials of the virtual WebAuthn authenticator. */
int tv_lua_open_passkey(lua_State *L);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#endif
