/* lua_ops.c -- every row of the operation table (tv_ops.h) as a client
 * method, with one argument reader for all of them, and the table itself
 * as Lua data (core.operations()).
 *
 * Arguments (the seed's convention): the path parameters positionally in
 * path order, then the positional form parameters (create_entity's
 * identity), then a params table when the operation has other parameters,
 * then a table of per-call options.  Lua values by parameter type: strings;
 * integers from Lua integers; booleans from Lua booleans; dates from an
 * RFC 3339 string or a number of Unix seconds; JSON values from a Lua table
 * (encoded once) or a JSON string; arrays from a Lua sequence, one wire key
 * per element. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lua_tv.h"

static int str_arg(lua_State *L, int idx, const char *name, const char **s, size_t *len, tv_error *err) {
    if (lua_type(L, idx) != LUA_TSTRING)
        return tv_error_set(err, TV_EARG, name, "%s must be a string, got %s", name, luaL_typename(L, idx));
    *s = lua_tolstring(L, idx, len);
    return 0;
}

/* Strings made here (encoded JSON) are anchored in the table at stack index
 * `anchor` (nil until the first one), so their bytes stay valid until the C
 * function returns. */
typedef struct reader {
    lua_State *L;
    tv_lua_args *a;
    int anchor;
    int nanchored;
    tv_error *err;
} reader;

static int add_kv(reader *r, const tv_param_spec *p, const char *v, size_t len) {
    tv_lua_args *a = r->a;
    if (a->n == TV_LUA_MAX_PARAMS)
        return tv_error_set(r->err, TV_EARG, p->name, "too many parameters (at most %d values)", TV_LUA_MAX_PARAMS);
    a->kv[a->n].spec = p;
    a->kv[a->n].val = v;
    a->kv[a->n].len = len;
    a->n++;
    return 0;
}

/* One value (the Lua value on top of the stack; left there) of parameter p. */
static int read_value(reader *r, const tv_param_spec *p, const char *what) {
    lua_State *L = r->L;
    tv_lua_args *a = r->a;
    tv_error *err = r->err;
    int t = lua_type(L, -1);
    char *num = a->nums[a->n < TV_LUA_MAX_PARAMS ? a->n : 0];
    switch (p->type) {
    case TV_PT_INT: {
        double d = lua_tonumber(L, -1);
        if (t != LUA_TNUMBER || d != floor(d) || fabs(d) > 1e15)
            return tv_error_set(err, TV_EARG, p->name, "%s must be an integer", what);
        snprintf(num, sizeof a->nums[0], "%.0f", d);
        return add_kv(r, p, num, strlen(num));
    }
    case TV_PT_BOOL:
        if (t != LUA_TBOOLEAN)
            return tv_error_set(err, TV_EARG, p->name, "%s must be a boolean, got %s", what, luaL_typename(L, -1));
        return lua_toboolean(L, -1) ? add_kv(r, p, "true", 4) : add_kv(r, p, "false", 5);
    case TV_PT_DATE:
        if (t == LUA_TNUMBER) {
            double d = lua_tonumber(L, -1);
            if (!(d >= 0 && d < 253402300800.0)) /* 0000..9999 */
                return tv_error_set(err, TV_EARG, p->name, "%s must be a number of Unix seconds >= 0", what);
            time_t tt = (time_t)floor(d);
            struct tm tm;
            if (!gmtime_r(&tt, &tm)) return tv_error_set(err, TV_EARG, p->name, "%s is out of range", what);
            strftime(num, sizeof a->nums[0], "%Y-%m-%dT%H:%M:%SZ", &tm);
            return add_kv(r, p, num, strlen(num));
        }
        break;
    case TV_PT_JSON:
        if (t == LUA_TTABLE) {
            if (tv_lua_encode_json(L, -1, p->name, err)) return -1;
            size_t len;
            const char *s = lua_tolstring(L, -1, &len);
            if (r->nanchored == 0) { /* the anchor table, made on first need (most calls anchor nothing) */
                lua_newtable(L);
                lua_replace(L, r->anchor);
            }
            lua_rawseti(L, r->anchor, ++r->nanchored); /* pops it; the table keeps it alive */
            return add_kv(r, p, s, len);
        }
        break;
    default: break;
    }
    if (t != LUA_TSTRING)
        return tv_error_set(err, TV_EARG, p->name, "%s must be a %s, got %s", what,
                            p->type == TV_PT_JSON ? "table or JSON string"
                            : p->type == TV_PT_DATE ? "date string (RFC 3339) or number"
                                                    : "string",
                            luaL_typename(L, -1));
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    return add_kv(r, p, s, len);
}

/* An array parameter: a Lua sequence and nothing else. */
static int read_array(reader *r, const tv_param_spec *p) {
    lua_State *L = r->L;
    if (!lua_istable(L, -1))
        return tv_error_set(r->err, TV_EARG, p->name, "%s must be an array (a Lua sequence), got %s", p->name,
                            luaL_typename(L, -1));
    int t = lua_gettop(L);
    size_t n = tvL_rawlen(L, t), keys = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        keys++;
        lua_pop(L, 1);
    }
    if (keys != n) return tv_error_set(r->err, TV_EARG, p->name, "%s must be an array (a Lua sequence)", p->name);
    char what[80];
    for (size_t i = 1; i <= n; i++) {
        snprintf(what, sizeof what, "%s[%zu]", p->name, i);
        lua_rawgeti(L, t, (int)i);
        int rc = read_value(r, p, what);
        lua_pop(L, 1);
        if (rc) return -1;
    }
    return 0;
}

/* A JSON body's members: the table at idx against `set` (the row's
 * parameters, or an OBJECT's fields; `what` names the table in errors).
 * An OBJECT or ARRAY member is marked present by a kv without a value
 * (tv_request.c), then its contents follow. */
static int read_members(reader *r, const tv_operation *op, const tv_param_spec *set, int idx, const char *what,
                        int depth) {
    lua_State *L = r->L;
    if (depth > 8) return tv_error_set(r->err, TV_EARG, what, "%s nests too deeply", what);
    luaL_checkstack(L, 4, "twilio.verify: params");
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            lua_pop(L, 2);
            return tv_error_set(r->err, TV_EARG, what, "%s: member names must be strings", what);
        }
        const char *k = lua_tostring(L, -2);
        const tv_param_spec *p = tv_param_by_key(set, k);
        if (!p || (p->flags & TV_PF_POSITIONAL)) {
            if (p) tv_error_set(r->err, TV_EARG, k, "%s is a positional argument of %s, not a params key", k, op->name);
            else if (depth == 0) tv_error_set(r->err, TV_EARG, k, "unknown parameter '%s' for %s", k, op->name);
            else tv_error_set(r->err, TV_EARG, what, "unknown member '%s' of %s (%s)", k, what, op->name);
            lua_pop(L, 2);
            return -1;
        }
        int rc;
        if (p->type == TV_PT_OBJECT) {
            rc = !lua_istable(L, -1) ? tv_error_set(r->err, TV_EARG, p->name, "%s must be a table, got %s", p->name,
                                                    luaL_typename(L, -1))
                                     : add_kv(r, p, NULL, 0) ||
                                           read_members(r, op, p->fields, lua_gettop(L), p->name, depth + 1);
        } else if (p->flags & TV_PF_ARRAY) {
            rc = add_kv(r, p, NULL, 0) || read_array(r, p);
        } else {
            rc = read_value(r, p, p->name);
        }
        lua_pop(L, rc ? 2 : 1);
        if (rc) return -1;
    }
    return 0;
}

/* The params table at idx against op's non-positional parameters. */
static int read_params(reader *r, const tv_operation *op, int idx) {
    lua_State *L = r->L;
    if (lua_isnoneornil(L, idx)) return 0;
    if ((op->flags & TV_OPF_JSON_BODY) && lua_istable(L, idx)) return read_members(r, op, op->params, idx, "params", 0);
    if (!lua_istable(L, idx))
        return tv_error_set(r->err, TV_EARG, "params", "params (of %s) must be a table, got %s", op->name,
                            luaL_typename(L, idx));
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            lua_pop(L, 2);
            return tv_error_set(r->err, TV_EARG, "params", "%s parameter names must be strings", op->name);
        }
        const char *k = lua_tostring(L, -2);
        const tv_param_spec *p = tv_param_by_name(op->params, k);
        if (!p || (p->flags & TV_PF_POSITIONAL)) {
            tv_error_set(r->err, TV_EARG, k, p ? "%s is a positional argument of %s, not a params key"
                                               : "unknown parameter '%s' for %s",
                         k, op->name);
            lua_pop(L, 2);
            return -1;
        }
        int rc = (p->flags & TV_PF_ARRAY) ? read_array(r, p) : read_value(r, p, p->name);
        lua_pop(L, rc ? 2 : 1);
        if (rc) return -1;
    }
    return 0;
}

/* Per-call options {timeout = s, max_retries = n} at idx. */
static int read_call_opts(lua_State *L, int idx, tv_lua_args *a, tv_error *err) {
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

int tv_lua_build(lua_State *L, lclient *lc, const tv_operation *op, int base, tv_request *req, tv_lua_args *a,
                 tv_error *err) {
    const tv_origin *o = tv_client_origin(lc->c);
    a->n = 0;
    if (!op) { /* a page URL of any list operation */
        const char *url;
        size_t ul;
        lua_settop(L, base + 1);
        return str_arg(L, base, "url", &url, &ul, err) || read_call_opts(L, base + 1, a, err) ||
                       tv_build_page_url(o, NULL, url, ul, req, err)
                   ? -1
                   : 0;
    }
    /* pin the argument slots: strings made while reading are anchored in a
     * table above them, and a call that leaves out opts must not read that
     * table as its opts */
    int nargs = (op->nargs + 1);
    lua_settop(L, base + nargs - 1);
    lua_pushnil(L); /* the anchor's slot (a table once a string needs it) */
    reader r = {L, a, lua_gettop(L), 0, err};
    tv_str path[TV_MAX_PATH_PARAMS];
    size_t np = tv_operation_npath(op);
    int idx = base;
    for (size_t k = 0; k < np; k++, idx++)
        if (str_arg(L, idx, op->path_params[k].name, &path[k].s, &path[k].len, err)) return -1;
    for (const tv_param_spec *p = op->params; p->name; p++) {
        if (!(p->flags & TV_PF_POSITIONAL)) continue;
        const char *s;
        size_t len;
        if (str_arg(L, idx++, p->name, &s, &len, err) || add_kv(&r, p, s, len)) return -1;
    }
    if ((op->flags & TV_OPF_PARAMS) && read_params(&r, op, idx++)) return -1;
    if (read_call_opts(L, idx, a, err)) return -1;
    return tv_build(o, op, path, a->kv, a->n, req, err);
}

static int is_client(lua_State *L, int idx) {
    if (!lua_touserdata(L, idx) || !lua_getmetatable(L, idx)) return 0;
    luaL_getmetatable(L, TV_LUA_CLIENT_MT);
    int eq = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return eq;
}

/* client:<op>(...) -> value | nil, err (upvalue 1: the row) */
static int l_op(lua_State *L) {
    const tv_operation *op = (const tv_operation *)lua_touserdata(L, lua_upvalueindex(1));
    if (!is_client(L, 1))
        return luaL_error(L, "%s: call it as a method, client:%s(...) (with a colon), got %s for self", op->name,
                          op->name, luaL_typename(L, 1));
    tv_error err = TV_ERROR_INIT;
    lclient *lc = tv_lua_open_client_arg(L, &err);
    if (!lc) return tv_lua_fail(L, &err);
    tv_lua_args a;
    if (tv_lua_build(L, lc, op, 2, &lc->req, &a, &err)) return tv_lua_fail(L, &err);
    return tv_lua_run(L, lc, &a.co, &err);
}

/* client:list_page_url(url [, opts]) -- a page URL the API returned; only
 * followed when it is on the configured base URL and names a list
 * operation's path exactly. */
static int l_list_url(lua_State *L) {
    tv_error err = TV_ERROR_INIT;
    lclient *lc = tv_lua_open_client_arg(L, &err);
    if (!lc) return tv_lua_fail(L, &err);
    tv_lua_args a;
    if (tv_lua_build(L, lc, NULL, 2, &lc->req, &a, &err)) return tv_lua_fail(L, &err);
    return tv_lua_run(L, lc, &a.co, &err);
}

void tv_lua_ops_methods(lua_State *L) {
    for (size_t i = 0; i < tv_noperations; i++) {
        lua_pushlightuserdata(L, (void *)&tv_operations[i]);
        lua_pushcclosure(L, l_op, 1);
        lua_setfield(L, -2, tv_operations[i].name);
    }
    lua_pushcfunction(L, l_list_url);
    lua_setfield(L, -2, "list_page_url");
}

/* ---- the table as data ---------------------------------------------------- */

static const char *type_name(tv_ptype t) {
    switch (t) {
    case TV_PT_TEXT: return "string";
    case TV_PT_INT: return "integer";
    case TV_PT_ENUM: return "enum";
    case TV_PT_JSON: return "json";
    case TV_PT_BOOL: return "boolean";
    case TV_PT_DATE: return "date-time";
    case TV_PT_SID: return "sid";
    case TV_PT_IDENTITY: return "identity";
    case TV_PT_OBJECT: return "object";
    }
    return "string";
}

static void set_str(lua_State *L, const char *k, const char *v) {
    if (!v) return;
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

static void set_bool(lua_State *L, const char *k, int v) {
    lua_pushboolean(L, v);
    lua_setfield(L, -2, k);
}

static void set_int(lua_State *L, const char *k, long v) {
    lua_pushinteger(L, v);
    lua_setfield(L, -2, k);
}

/* a NULL-terminated string list as a sequence, at field k (nothing when NULL) */
static void set_list(lua_State *L, const char *k, const char *const *list) {
    if (!list) return;
    lua_newtable(L);
    int i = 0;
    for (const char *const *e = list; *e; e++) {
        lua_pushstring(L, *e);
        lua_rawseti(L, -2, ++i);
    }
    lua_setfield(L, -2, k);
}

/* one parameter (query, form or path: `location`) as a table */
static void push_param(lua_State *L, const tv_param_spec *p, const char *location) {
    lua_createtable(L, 0, 24);
    set_str(L, "name", p->name);
    set_str(L, "key", p->key);
    set_str(L, "type", type_name(p->type));
    if (p->type == TV_PT_INT || ((p->type == TV_PT_TEXT || p->type == TV_PT_JSON) && (p->min || p->max))) {
        set_int(L, "min", p->min);
        set_int(L, "max", p->max);
    }
    set_list(L, "enum", p->enums);
    if (p->prefix) {
        char pat[48];
        snprintf(pat, sizeof pat, "^%s[0-9a-fA-F]{32}$", p->prefix);
        set_str(L, "pattern", pat);
        set_str(L, "prefix", p->prefix);
    }
    set_bool(L, "required", (p->flags & TV_PF_REQUIRED) != 0 || (location && strcmp(location, "path") == 0));
    set_bool(L, "secret", (p->flags & TV_PF_SECRET) != 0);
    set_bool(L, "array", (p->flags & TV_PF_ARRAY) != 0);
    set_bool(L, "positional", (p->flags & TV_PF_POSITIONAL) != 0);
    set_bool(L, "paging", (p->flags & TV_PF_PAGING) != 0);
    set_bool(L, "csv", (p->flags & TV_PF_CSV) != 0);
    set_str(L, "location", location ? location : (p->flags & TV_PF_QUERY) ? "query" : "form");
    if (p->max_items) set_int(L, "max_items", p->max_items);
    set_str(L, "rule", p->rule);
    set_str(L, "help", p->help);
    set_str(L, "metavar", p->metavar);
    set_str(L, "only", p->only);
    set_str(L, "required_for", p->required_for);
    set_str(L, "default", p->def);
    set_list(L, "pairs", p->pairs);
    if (p->type == TV_PT_OBJECT && p->fields) { /* a JSON body's nested object: its members */
        luaL_checkstack(L, 4, "twilio.verify: operations");
        lua_newtable(L);
        int j = 0;
        for (const tv_param_spec *f = p->fields; f->name; f++) {
            push_param(L, f, location);
            lua_rawseti(L, -2, ++j);
        }
        lua_setfield(L, -2, "fields");
    }
    static const char *const formats[] = {NULL,      "e164", "e164_or_email", "e164_prefix", "country", "country_or_all",
                                          "ip", "unique_name"};
    if (p->format > 0 && (size_t)p->format < sizeof formats / sizeof formats[0]) set_str(L, "format", formats[p->format]);
    if (p->max_members) set_int(L, "max_members", p->max_members);
    if (p->kv_max) set_int(L, "kv_max", p->kv_max);
    set_str(L, "email_member", p->email_member);
}

/* core.operations() -> { {name=, verb=, resource=, openapi_id=, method=,
 * path=, returns = "instance"|"page"|"none", list_key=, id_key=, alias=,
 * parent=, nargs=, has_params=, device = "jwt"|"token"|nil, summary=,
 * description=, examples = {...}, one_of = {...} | nil, path_params = {...}, params = {...}},
 * ... } in table order; also indexed by name (and by alias). */
static int l_operations(lua_State *L) {
    lua_createtable(L, (int)tv_noperations, (int)tv_noperations);
    for (size_t i = 0; i < tv_noperations; i++) {
        const tv_operation *op = &tv_operations[i];
        lua_createtable(L, 0, 24);
        set_str(L, "name", op->name);
        set_str(L, "verb", op->verb);
        set_str(L, "resource", op->resource);
        set_str(L, "openapi_id", op->openapi_id);
        set_str(L, "method", tv_method_name(op->method));
        set_str(L, "path", op->path);
        set_str(L, "returns", op->returns == TV_RET_PAGE ? "page" : op->returns == TV_RET_NONE ? "none" : "instance");
        set_str(L, "list_key", op->list_key);
        set_str(L, "id_key", op->id_key);
        set_str(L, "alias", op->alias);
        set_str(L, "parent", op->parent);
        set_int(L, "nargs", op->nargs);
        set_bool(L, "has_params", (op->flags & TV_OPF_PARAMS) != 0);
        set_str(L, "body", op->method != TV_POST ? NULL : (op->flags & TV_OPF_JSON_BODY) ? "json" : "form");
        set_str(L, "device", (op->flags & TV_OPF_DEVICE_JWT) ? "jwt" : (op->flags & TV_OPF_DEVICE_TOKEN) ? "token" : NULL);
        set_str(L, "summary", op->summary);
        set_str(L, "description", op->description);
        set_list(L, "examples", op->examples);
        set_list(L, "one_of", op->one_of);
        lua_newtable(L);
        for (size_t k = 0; k < op->npath; k++) {
            push_param(L, &op->path_params[k], "path");
            lua_rawseti(L, -2, (int)k + 1);
        }
        lua_setfield(L, -2, "path_params");
        lua_newtable(L);
        int j = 0;
        for (const tv_param_spec *p = op->params; p->name; p++) {
            push_param(L, p, (op->flags & TV_OPF_JSON_BODY) ? "json" : NULL);
            lua_rawseti(L, -2, ++j);
        }
        lua_setfield(L, -2, "params");
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, op->name);
        if (op->alias) {
            lua_pushvalue(L, -1);
            lua_setfield(L, -3, op->alias);
        }
        lua_rawseti(L, -2, (int)i + 1);
    }
    return 1;
}

/* core.resources() -> { {name=, class=, list_key=, group=, describe = {...},
 * columns = { {title, field}, ... }}, ... } in table order; also by name. */
static int l_resources(lua_State *L) {
    lua_createtable(L, (int)tv_nresources, (int)tv_nresources);
    for (size_t i = 0; i < tv_nresources; i++) {
        const tv_resource *r = &tv_resources[i];
        lua_createtable(L, 0, 6);
        set_str(L, "name", r->name);
        set_str(L, "class", r->class_name);
        set_str(L, "list_key", r->list_key);
        set_list(L, "describe", r->describe);
        set_str(L, "group", r->group);
        if (r->columns) {
            lua_newtable(L);
            int n = 0;
            for (const char *const *c = r->columns; c[0] && c[1]; c += 2) {
                lua_createtable(L, 2, 0);
                lua_pushstring(L, c[0]);
                lua_rawseti(L, -2, 1);
                lua_pushstring(L, c[1]);
                lua_rawseti(L, -2, 2);
                lua_rawseti(L, -2, ++n);
            }
            lua_setfield(L, -2, "columns");
        }
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, r->name);
        lua_rawseti(L, -2, (int)i + 1);
    }
    return 1;
}

/* ---- checks without I/O ----------------------------------------------------- */

/* The client of a check without I/O: a closed client still checks (its
 * origin stays until __gc), so iterators of a closed client fail on their
 * first step with the `closed` error, as every operation does. */
static lclient *idle_client(lua_State *L, tv_error *err) {
    lclient *lc = tv_lua_check_client(L);
    if (!lc->c) {
        tv_error_set(err, TV_ECLOSED, NULL, "the client is closed");
        return NULL;
    }
    return lc;
}

static int reqbox_gc(lua_State *L) {
    tv_request_free((tv_request *)lua_touserdata(L, 1));
    return 0;
}

/* core.check_params(client, op_name, <the op's arguments>) -> true | nil, err
 * Validates exactly as the operation does, without any I/O. */
static int l_check_params(lua_State *L) {
    tv_error err = TV_ERROR_INIT;
    const char *name = luaL_checkstring(L, 2);
    const tv_operation *op = tv_operation_by_name(name);
    if (!op) return luaL_argerror(L, 2, "unknown operation");
    lclient *lc = idle_client(L, &err);
    if (!lc) return tv_lua_fail(L, &err);
    int nargs = (op->nargs + 1);
    lua_settop(L, 2 + nargs);
    tv_request *req = (tv_request *)tv_lua_box(L, sizeof *req, "twilio.verify.reqbox", reqbox_gc);
    lua_replace(L, 2); /* the box takes the name's slot: the arguments stay at 3.. */
    tv_lua_args a;
    int rc = tv_lua_build(L, lc, op, 3, req, &a, &err);
    tv_request_free(req);
    if (rc) return tv_lua_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

/* core.check_page_url(client, url [, op_name]) -> op_name | nil, err (no I/O) */
static int l_check_page_url(lua_State *L) {
    tv_error err = TV_ERROR_INIT;
    lclient *lc = idle_client(L, &err);
    if (!lc) return tv_lua_fail(L, &err);
    const tv_operation *op = NULL;
    if (!lua_isnoneornil(L, 3)) {
        op = tv_operation_by_name(luaL_checkstring(L, 3));
        if (!op || op->returns != TV_RET_PAGE) return luaL_argerror(L, 3, "not a list operation");
    }
    const char *url = NULL;
    size_t ul = 0;
    if (str_arg(L, 2, "url", &url, &ul, &err)) return tv_lua_fail(L, &err);
    tv_request *req = (tv_request *)tv_lua_box(L, sizeof *req, "twilio.verify.reqbox", reqbox_gc);
    int rc = tv_build_page_url(tv_client_origin(lc->c), op, url, ul, req, &err);
    const char *matched = rc == 0 ? req->op->name : NULL;
    tv_request_free(req);
    if (rc) return tv_lua_fail(L, &err);
    lua_pushstring(L, matched);
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

static int jtree_gc(lua_State *L) {
    cJSON **t = (cJSON **)lua_touserdata(L, 1);
    if (t && *t) {
        cJSON_Delete(*t);
        *t = NULL;
    }
    return 0;
}

/* core.json_decode(text) -> table | nil: a JSON object or array as Lua
 * values (the responses' semantics: null members absent, null in arrays the
 * verify.null sentinel), nil when it is not one.  For the command line's
 * reading of the emulator's control API. */
static int l_json_decode(lua_State *L) {
    size_t n = 0;
    const char *s = luaL_checklstring(L, 1, &n);
    if (tv_lua_push_json_direct(L, s, n) == 0) return 1;
    cJSON **box = (cJSON **)tv_lua_box(L, sizeof *box, "twilio.verify.jtree", jtree_gc);
    *box = cJSON_ParseWithLength(s, n);
    if (!cJSON_IsObject(*box) && !cJSON_IsArray(*box)) {
        lua_pushnil(L);
        return 1;
    }
    tv_lua_push_json(L, *box); /* may raise: the box frees the tree */
    return 1;
}

void tv_lua_ops_funcs(lua_State *L) {
    static const luaL_Reg f[] = {{"operations", l_operations},
                                 {"resources", l_resources},
                                 {"check_params", l_check_params},
                                 {"check_page_url", l_check_page_url},
                                 {"arg_error", l_arg_error},
                                 {"json_decode", l_json_decode},
                                 {NULL, NULL}};
    for (const luaL_Reg *r = f; r->name; r++) {
        lua_pushcfunction(L, r->func);
        lua_setfield(L, -2, r->name);
    }
}
