/* lua_json.c -- the one place JSON becomes Lua (and Lua tables become JSON
 * for Metadata).  Guarded: luaL_checkstack per level, a depth limit; the
 * caller keeps the cJSON tree boxed (owned by a userdata) while this runs,
 * so a raise (out of memory) leaks nothing. */
#include <cjson/cJSON.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lua_tv.h"
#include "tv.h"

#define TV_JSON_MAX_DEPTH 1000

/* This walk is the hot path of every response (a 1,000-factor page is
 * ~20,000 values), so: one switch on the type byte instead of a chain of
 * cJSON_Is* calls into the shared library, scalars pushed inline instead of
 * one recursive call each, lua_pushlstring (Lua's pushstring also probes its
 * per-pointer string cache, useless for freshly parsed strings), and
 * luaL_checkstack once per container. */
static inline void push_number(lua_State *L, double d) {
#if LUA_VERSION_NUM >= 503
    if (d >= -9007199254740992.0 && d <= 9007199254740992.0) { /* false for NaN */
        lua_Integer i = (lua_Integer)d;
        if ((double)i == d) {
            lua_pushinteger(L, i);
            return;
        }
    }
#endif
    lua_pushnumber(L, d);
}

static inline void push_text(lua_State *L, const char *s) {
    if (s) lua_pushlstring(L, s, strlen(s)); /* cJSON text ends at its first NUL, as before */
    else lua_pushnil(L);
}

static int push_container(lua_State *L, const cJSON *it, int depth, int limit);

/* Push any value; containers recurse.  -1 (nothing left pushed by the
 * failing level) when a container is nested deeper than `limit`. */
static inline int push_value(lua_State *L, const cJSON *it, int depth, int limit) {
    switch (it->type & 0xFF) {
    case cJSON_String: push_text(L, it->valuestring); return 0;
    case cJSON_Number: push_number(L, it->valuedouble); return 0;
    case cJSON_True: lua_pushboolean(L, 1); return 0;
    case cJSON_False: lua_pushboolean(L, 0); return 0;
    case cJSON_Object:
    case cJSON_Array: return push_container(L, it, depth, limit);
    default: lua_pushlightuserdata(L, NULL); return 0; /* null inside an array: the sentinel keeps positions */
    }
}

/* Duplicate keys in an object: the FIRST occurrence wins, everywhere --
 * as cJSON_GetObjectItem (the shape checks, tv_batch's next_page_url) and
 * the streaming cursor read them.  Members are set last to first, so the
 * first one is set last; a null member (an absent key) clears what a later
 * duplicate set.  The walk back uses `prev`, valid on every member but the
 * first in every cJSON version. */
static int push_container(lua_State *L, const cJSON *it, int depth, int limit) {
    if (depth > limit) return -1;
    luaL_checkstack(L, 4, "JSON nested too deeply");
    int n = 0;
    const cJSON *last = NULL;
    for (const cJSON *c = it->child; c; c = c->next) {
        n++;
        last = c;
    }
    if ((it->type & 0xFF) == cJSON_Object) {
        lua_createtable(L, 0, n);
        for (const cJSON *c = last; c; c = c == it->child ? NULL : c->prev) {
            if (!c->string) continue;
            lua_pushlstring(L, c->string, strlen(c->string));
            if ((c->type & 0xFF) == cJSON_NULL) { /* null -> absent key */
                if (c != last) {
                    lua_pushnil(L);
                    lua_rawset(L, -3);
                } else {
                    lua_pop(L, 1);
                }
                continue;
            }
            if (push_value(L, c, depth + 1, limit)) {
                lua_pop(L, 2);
                return -1;
            }
            lua_rawset(L, -3);
        }
    } else {
        lua_createtable(L, n, 0);
        int i = 1;
        for (const cJSON *c = it->child; c; c = c->next) {
            if (push_value(L, c, depth + 1, limit)) {
                lua_pop(L, 1);
                return -1;
            }
            lua_rawseti(L, -2, i++);
        }
    }
    return 0;
}

void tv_lua_push_json(lua_State *L, const cJSON *item) {
    if (!item) {
        lua_pushnil(L);
        return;
    }
    if (push_value(L, item, 0, TV_JSON_MAX_DEPTH))
        luaL_error(L, "JSON nested deeper than %d levels", TV_JSON_MAX_DEPTH);
}

/* cJSON refuses to enter a container at depth >= CJSON_NESTING_LIMIT (1000)
 * of the document; items from the cursor are parsed on their own, so the
 * walk refuses those containers itself and the caller falls back. */
#define TV_JSON_STREAM_LIMIT 999

/* Has a top-level key been seen (a value in the result, or a null recorded
 * in `nulls`)?  The key is on top; it stays. */
static int seen_key(lua_State *L, int res, int nulls) {
    lua_pushvalue(L, -1);
    lua_rawget(L, res);
    int seen = !lua_isnil(L, -1);
    lua_pop(L, 1);
    if (!seen) {
        lua_pushvalue(L, -1);
        lua_rawget(L, nulls);
        seen = !lua_isnil(L, -1);
        lua_pop(L, 1);
    }
    return seen;
}

int tv_lua_push_json_stream(lua_State *L, tv_jcursor *cur, cJSON **slot) {
    int top = lua_gettop(L);
    luaL_checkstack(L, 8, "JSON");
    lua_createtable(L, 0, cur->op->returns == TV_RET_PAGE ? 2 : 16);
    int res = top + 1;
    /* top-level keys whose first occurrence was null: a duplicate key keeps
     * its first occurrence (as the cursor's shape check and the tree walk) */
    lua_createtable(L, 0, 0);
    int nulls = top + 2;
    lua_Integer n = 0;
    int skip = 0;    /* the current array is a later duplicate: dropped */
    int in_list = 0; /* the current array is the page's list: its elements must be objects */
    for (;;) {
        cJSON *it = NULL;
        tv_jev ev = tv_jcursor_next(cur, &it);
        *slot = it; /* boxed by the caller while converting */
        switch (ev) {
        case TV_JEV_MEMBER:
            lua_pushlstring(L, it->string, strlen(it->string));
            if (seen_key(L, res, nulls)) {
                lua_pop(L, 1);
            } else if ((it->type & 0xFF) == cJSON_NULL) { /* null -> absent key */
                lua_pushboolean(L, 1);
                lua_rawset(L, nulls);
            } else {
                if (push_value(L, it, 1, TV_JSON_STREAM_LIMIT)) goto fallback;
                lua_rawset(L, res);
            }
            break;
        case TV_JEV_ARRAY:
            lua_pushlstring(L, it->string, strlen(it->string));
            skip = seen_key(L, res, nulls);
            in_list = cur->op->returns == TV_RET_PAGE && strcmp(it->string, cur->op->list_key) == 0;
            if (skip) lua_pop(L, 1);
            else lua_createtable(L, 0, 0); /* the size is not known yet: grows as Lua arrays do */
            n = 0;
            break;
        case TV_JEV_ELEMENT:
            if (skip) break;
            if (in_list && (it->type & 0xFF) != cJSON_Object) goto fallback; /* the tree path reports it */
            if (push_value(L, it, 2, TV_JSON_STREAM_LIMIT)) goto fallback;
            lua_rawseti(L, -2, ++n);
            break;
        case TV_JEV_ARRAY_END:
            if (!skip) lua_rawset(L, res);
            skip = 0;
            break;
        case TV_JEV_END:
            lua_settop(L, res); /* drop `nulls` */
            return 0;
        default: goto fallback;
        }
        cJSON_Delete(it);
        *slot = NULL;
    }
fallback:
    cJSON_Delete(*slot);
    *slot = NULL;
    lua_settop(L, top);
    return -1;
}

/* ---- Lua table -> JSON text (Metadata) ----------------------------------- */

typedef struct jbox {
    cJSON *tree;
    char *text;
} jbox;

static int jbox_gc(lua_State *L) {
    jbox *b = (jbox *)lua_touserdata(L, 1);
    cJSON_Delete(b->tree);
    free(b->text);
    b->tree = NULL;
    b->text = NULL;
    return 0;
}

/* Build the cJSON value for the Lua value at idx; NULL with err set. */
static cJSON *to_json(lua_State *L, int idx, const char *name, int depth, tv_error *err) {
    idx = tvL_absindex(L, idx);
    switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        if (tv_check_text(name, s, n, err) < 0) return NULL;
        cJSON *v = cJSON_CreateString(s);
        if (!v) tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
        return v;
    }
    case LUA_TNUMBER: {
        double d = lua_tonumber(L, idx);
        if (d != d || d == HUGE_VAL || d == -HUGE_VAL) {
            tv_error_set(err, TV_EARG, name, "%s numbers must be finite", name);
            return NULL;
        }
        cJSON *v = cJSON_CreateNumber(d);
        if (!v) tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
        return v;
    }
    case LUA_TBOOLEAN: {
        cJSON *v = cJSON_CreateBool(lua_toboolean(L, idx));
        if (!v) tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
        return v;
    }
    case LUA_TTABLE: break;
    default:
        tv_error_set(err, TV_EARG, name, "%s values must be strings, numbers, booleans or tables, got %s",
                     name, luaL_typename(L, idx));
        return NULL;
    }
    if (depth > 32) {
        tv_error_set(err, TV_EARG, name, "%s is nested deeper than 32 levels", name);
        return NULL;
    }
    luaL_checkstack(L, 4, name);
    size_t n = tvL_rawlen(L, idx);
    int is_array = n > 0;
    if (is_array) { /* a sequence must be nothing else: string keys would be dropped */
        size_t keys = 0;
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            keys++;
            lua_pop(L, 1);
        }
        if (keys != n) {
            tv_error_set(err, TV_EARG, name, "%s mixes array elements and other keys: use one or the other", name);
            return NULL;
        }
    }
    cJSON *out = is_array ? cJSON_CreateArray() : cJSON_CreateObject();
    if (!out) {
        tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
        return NULL;
    }
    if (is_array) {
        for (size_t i = 1; i <= n; i++) {
            lua_rawgeti(L, idx, (int)i);
            cJSON *v = to_json(L, -1, name, depth + 1, err);
            lua_pop(L, 1);
            if (!v || !cJSON_AddItemToArray(out, v)) {
                if (v) cJSON_Delete(v);
                else if (err->kind == TV_OK) tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
                cJSON_Delete(out);
                return NULL;
            }
        }
        return out;
    }
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            lua_pop(L, 2);
            cJSON_Delete(out);
            tv_error_set(err, TV_EARG, name, "%s keys must be strings", name);
            return NULL;
        }
        size_t kl;
        const char *k = lua_tolstring(L, -2, &kl);
        cJSON *v = NULL;
        if (tv_check_text(name, k, kl, err) >= 0) v = to_json(L, -1, name, depth + 1, err);
        if (!v || !cJSON_AddItemToObject(out, k, v)) {
            if (v) {
                cJSON_Delete(v);
                tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
            }
            lua_pop(L, 2);
            cJSON_Delete(out);
            return NULL;
        }
        lua_pop(L, 1);
    }
    return out;
}

int tv_lua_encode_json(lua_State *L, int idx, const char *name, tv_error *err) {
    idx = tvL_absindex(L, idx);
    jbox *b = (jbox *)tv_lua_box(L, sizeof *b, "twilio.verify.jbox", jbox_gc);
    /* the tree is built outside the box (to_json may raise only on stack
     * overflow / OOM inside Lua), then handed to it at once */
    b->tree = to_json(L, idx, name, 0, err);
    if (!b->tree) {
        lua_pop(L, 1);
        return -1;
    }
    b->text = cJSON_PrintUnformatted(b->tree);
    if (!b->text) {
        lua_pop(L, 1);
        return tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
    }
    lua_pushstring(L, b->text);
    lua_remove(L, -2); /* the box: freed by __gc */
    return 0;
}

/* ---- the direct decoder: JSON text -> Lua, no cJSON tree ------------------
 * The success path of an instance (a factor, a challenge: a few hundred
 * bytes) was cJSON_Parse + the walk above + cJSON_Delete, about 1.3x the
 * instructions of lua-cjson's decode.  This decodes the text straight into
 * Lua values, with the walk's semantics (first duplicate key wins, a null
 * member is an absent key, null in an array is the sentinel, integral
 * numbers as integers), and gives up -- nothing left on the stack -- on
 * anything it does not handle exactly as cJSON would (\u escapes, control
 * characters, NUL, odd numbers, deep nesting, trailing bytes, another
 * decimal point): the caller then takes the cJSON path, which decides (and
 * words the error) as before.  It allocates no C memory, so a raise (out of
 * memory) in the middle leaks nothing. */
#define FAST_MAX_DEPTH 64
static char fast_null_member; /* address only: marks a null member until its object ends */

typedef struct jfast {
    const char *p, *e;
} jfast;

static inline void fast_ws(jfast *j) {
    while (j->p < j->e && (unsigned char)*j->p <= 32) j->p++; /* as cJSON's skip_whitespace */
}

static int fast_value(lua_State *L, jfast *j, int depth);

static int fast_string(lua_State *L, jfast *j) {
    const char *s = ++j->p, *p = s, *e = j->e;
    while (p < e && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20) p++;
    if (p >= e) return -1;
    if (*p == '"') {
        lua_pushlstring(L, s, (size_t)(p - s));
        j->p = p + 1;
        return 0;
    }
    if (*p != '\\') return -1; /* a control character or NUL */
    char buf[512];
    size_t n = (size_t)(p - s);
    if (n > sizeof buf) return -1;
    memcpy(buf, s, n);
    while (p < e && *p != '"') {
        char c = *p++;
        if ((unsigned char)c < 0x20) return -1;
        if (c == '\\') {
            if (p >= e) return -1;
            switch (*p++) {
            case '"': c = '"'; break;
            case '\\': c = '\\'; break;
            case '/': c = '/'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            default: return -1; /* \u: cJSON's UTF-16 handling decides */
            }
        }
        if (n >= sizeof buf) return -1;
        buf[n++] = c;
    }
    if (p >= e) return -1;
    lua_pushlstring(L, buf, n);
    j->p = p + 1;
    return 0;
}

static int fast_number(lua_State *L, jfast *j) {
    char buf[64];
    size_t n = 0;
    const char *p = j->p;
    while (p < j->e && ((*p >= '0' && *p <= '9') || *p == '-' || *p == '+' || *p == '.' || *p == 'e' || *p == 'E')) {
        if (n >= sizeof buf - 1) return -1;
        buf[n++] = *p++;
    }
    buf[n] = '\0';
    char *end = NULL;
    double d = strtod(buf, &end);
    if (n == 0 || end != buf + n) return -1;
    push_number(L, d);
    j->p = p;
    return 0;
}

static int fast_lit(jfast *j, const char *word, size_t n) {
    if ((size_t)(j->e - j->p) < n || memcmp(j->p, word, n) != 0) return -1;
    j->p += n;
    return 0;
}

static int fast_object(lua_State *L, jfast *j, int depth) {
    luaL_checkstack(L, 4, "JSON nested too deeply");
    j->p++; /* '{' */
    lua_createtable(L, 0, depth == 0 ? 16 : 4);
    int t = lua_gettop(L), nulls = 0;
    fast_ws(j);
    if (j->p < j->e && *j->p == '}') {
        j->p++;
        return 0;
    }
    for (;;) {
        fast_ws(j);
        if (j->p >= j->e || *j->p != '"' || fast_string(L, j)) goto fail;
        fast_ws(j);
        if (j->p >= j->e || *j->p != ':') goto fail;
        j->p++;
        fast_ws(j);
        lua_pushvalue(L, -1);
        lua_rawget(L, t);
        int seen = !lua_isnil(L, -1); /* a duplicate: the first one stays */
        lua_pop(L, 1);
        if (j->p < j->e && *j->p == 'n') {
            if (fast_lit(j, "null", 4)) goto fail;
            lua_pushlightuserdata(L, &fast_null_member);
            nulls = 1;
        } else if (fast_value(L, j, depth + 1)) {
            goto fail;
        }
        if (seen) lua_pop(L, 2);
        else lua_rawset(L, t);
        fast_ws(j);
        if (j->p >= j->e) goto fail;
        if (*j->p == ',') {
            j->p++;
            continue;
        }
        if (*j->p != '}') goto fail;
        j->p++;
        break;
    }
    if (nulls) { /* null members: absent keys */
        lua_pushnil(L);
        while (lua_next(L, t)) {
            int is_null = lua_touserdata(L, -1) == &fast_null_member;
            lua_pop(L, 1);
            if (is_null) {
                lua_pushvalue(L, -1);
                lua_pushnil(L);
                lua_rawset(L, t); /* clearing a field while traversing is allowed */
            }
        }
    }
    return 0;
fail:
    lua_settop(L, t - 1);
    return -1;
}

static int fast_array(lua_State *L, jfast *j, int depth) {
    luaL_checkstack(L, 3, "JSON nested too deeply");
    j->p++; /* '[' */
    lua_createtable(L, 4, 0);
    int t = lua_gettop(L), i = 0;
    fast_ws(j);
    if (j->p < j->e && *j->p == ']') {
        j->p++;
        return 0;
    }
    for (;;) {
        fast_ws(j);
        if (j->p < j->e && *j->p == 'n') {
            if (fast_lit(j, "null", 4)) goto fail;
            lua_pushlightuserdata(L, NULL); /* the sentinel keeps positions */
        } else if (fast_value(L, j, depth + 1)) {
            goto fail;
        }
        lua_rawseti(L, t, ++i);
        fast_ws(j);
        if (j->p >= j->e) goto fail;
        if (*j->p == ',') {
            j->p++;
            continue;
        }
        if (*j->p != ']') goto fail;
        j->p++;
        return 0;
    }
fail:
    lua_settop(L, t - 1);
    return -1;
}

static int fast_value(lua_State *L, jfast *j, int depth) {
    if (j->p >= j->e || depth > FAST_MAX_DEPTH) return -1;
    switch (*j->p) {
    case '"': return fast_string(L, j);
    case '{': return fast_object(L, j, depth);
    case '[': return fast_array(L, j, depth);
    case 't':
        if (fast_lit(j, "true", 4)) return -1;
        lua_pushboolean(L, 1);
        return 0;
    case 'f':
        if (fast_lit(j, "false", 5)) return -1;
        lua_pushboolean(L, 0);
        return 0;
    default:
        if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9')) return fast_number(L, j);
        return -1; /* null at the top, or not JSON: the cJSON path */
    }
}

int tv_lua_push_json_direct(lua_State *L, const char *s, size_t n) {
    static const char dot = '.';
    const struct lconv *lc = localeconv(); /* strtod follows the locale; cJSON adapts, this gives up */
    if (!lc || !lc->decimal_point || lc->decimal_point[0] != dot || lc->decimal_point[1]) return -1;
    jfast j = {s, s + n};
    int top = lua_gettop(L);
    fast_ws(&j);
    if (j.p >= j.e || *j.p != '{' || fast_value(L, &j, 0)) {
        lua_settop(L, top);
        return -1;
    }
    fast_ws(&j);
    if (j.p != j.e) { /* trailing bytes: cJSON (which allows them) decides */
        lua_settop(L, top);
        return -1;
    }
    return 0;
}

/* ---- core.json_decode ------------------------------------------------------
 * core.json_decode(text) -> value | nil, message: JSON text (an object or an
 * array, whitespace around it allowed) as Lua, with the answers'
 * conversion (tv_lua_push_json: a null member is an absent key, null in an
 * array the `null` sentinel, integral numbers as integers).  The message
 * gives a byte offset, never the text (it may hold a credential).  For the
 * CLI's --body FILE; the tree is boxed while it is walked. */
static int l_json_decode(lua_State *L) {
    size_t n = 0;
    const char *s = luaL_checklstring(L, 1, &n);
    jbox *b = (jbox *)tv_lua_box(L, sizeof *b, "twilio.verify.jbox", jbox_gc);
    const char *end = NULL; /* the end of the value, or where parsing failed */
    b->tree = cJSON_ParseWithLengthOpts(s, n, &end, 0);
    size_t at = end && end >= s && end <= s + n ? (size_t)(end - s) : 0;
    if (b->tree)
        while (at < n && (s[at] == ' ' || s[at] == '\t' || s[at] == '\n' || s[at] == '\r')) at++;
    if (!b->tree || at != n || !(cJSON_IsObject(b->tree) || cJSON_IsArray(b->tree))) {
        const char *what = !b->tree   ? "not valid JSON"
                           : at != n ? "bytes after the JSON value"
                                     : "not a JSON object or array";
        lua_pushnil(L);
        lua_pushfstring(L, "%s (at byte %d)", what, (int)(at > 2147483647u ? 2147483647u : at));
        return 2;
    }
    tv_lua_push_json(L, b->tree);
    cJSON_Delete(b->tree);
    b->tree = NULL;
    return 1;
}

void tv_lua_json_funcs(lua_State *L) {
    lua_pushcfunction(L, l_json_decode);
    lua_setfield(L, -2, "json_decode");
}
