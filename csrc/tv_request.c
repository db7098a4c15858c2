/* tv_request.c -- sans-I/O request building: validate -> URL, query, form. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "tv.h"

void tv_request_free(tv_request *req) {
    if (!req) return;
    tv_buf_reset(&req->body, 1);
    tv_buf_free(&req->url);
    tv_buf_free(&req->body);
}

const char *tv_method_name(tv_method m) {
    switch (m) {
    case TV_GET: return "GET";
    case TV_POST: return "POST";
    case TV_DELETE: return "DELETE";
    }
    return "GET";
}

/* ---- origins ------------------------------------------------------------ */

static int parse_origin(const char *url, size_t len, tv_origin *o, int path_allowed, tv_error *err) {
    memset(o, 0, sizeof *o);
    if (tv_check_text("url", url, len, err) < 0) return -1;
    size_t i = 0;
    while (i < len && url[i] != ':') i++;
    if (i + 2 >= len || url[i + 1] != '/' || url[i + 2] != '/')
        return tv_error_set(err, TV_EARG, "url", "url must be an absolute http(s) URL");
    if (i == 5 && strncasecmp(url, "https", 5) == 0) {
        strcpy(o->scheme, "https");
        o->port = 443;
    } else if (i == 4 && strncasecmp(url, "http", 4) == 0) {
        strcpy(o->scheme, "http");
        o->port = 80;
    } else {
        return tv_error_set(err, TV_EARG, "url", "url scheme must be http or https");
    }
    size_t a = i + 3, e = a;
    while (e < len && url[e] != '/' && url[e] != '?' && url[e] != '#') e++;
    const char *auth = url + a;
    size_t alen = e - a;
    if (alen == 0) return tv_error_set(err, TV_EARG, "url", "url has no host");
    if (memchr(auth, '@', alen))
        return tv_error_set(err, TV_EARG, "url", "url must not contain user information");
    size_t hs = 0, he, ps;
    if (auth[0] == '[') {
        const char *close = memchr(auth, ']', alen);
        if (!close) return tv_error_set(err, TV_EARG, "url", "url has a malformed IPv6 host");
        hs = 1;
        he = (size_t)(close - auth);
        ps = he + 1;
        for (size_t k = hs; k < he; k++)
            if (!isxdigit((unsigned char)auth[k]) && auth[k] != ':' && auth[k] != '.')
                return tv_error_set(err, TV_EARG, "url", "url has a malformed IPv6 host");
    } else {
        he = 0;
        while (he < alen && auth[he] != ':') he++;
        ps = he;
        for (size_t k = 0; k < he; k++)
            if (!isalnum((unsigned char)auth[k]) && auth[k] != '-' && auth[k] != '.')
                return tv_error_set(err, TV_EARG, "url", "url has an invalid host name");
    }
    if (he <= hs || he - hs >= sizeof o->host)
        return tv_error_set(err, TV_EARG, "url", "url has an invalid host");
    for (size_t k = hs; k < he; k++) o->host[k - hs] = (char)tolower((unsigned char)auth[k]);
    if (ps < alen) {
        if (auth[ps] != ':' || ps + 1 == alen || alen - ps - 1 > 5)
            return tv_error_set(err, TV_EARG, "url", "url has an invalid port");
        long port = 0;
        for (size_t k = ps + 1; k < alen; k++) {
            if (!isdigit((unsigned char)auth[k]))
                return tv_error_set(err, TV_EARG, "url", "url has an invalid port");
            port = port * 10 + (auth[k] - '0');
        }
        if (port < 1 || port > 65535)
            return tv_error_set(err, TV_EARG, "url", "url port must be between 1 and 65535");
        o->port = (int)port;
    }
    if (!path_allowed && e < len && !(e + 1 == len && url[e] == '/'))
        return tv_error_set(err, TV_EARG, "url",
                            "base_url must be scheme://host[:port] without a path, query or fragment");
    if (memchr(url, '#', len))
        return tv_error_set(err, TV_EARG, "url", "url must not contain a fragment");
    int v6 = strchr(o->host, ':') != NULL;
    int deflt = (o->port == 443 && o->scheme[4] == 's') || (o->port == 80 && o->scheme[4] == '\0');
    if (deflt)
        snprintf(o->base, sizeof o->base, "%s://%s%s%s", o->scheme, v6 ? "[" : "", o->host, v6 ? "]" : "");
    else
        snprintf(o->base, sizeof o->base, "%s://%s%s%s:%d", o->scheme, v6 ? "[" : "", o->host,
                 v6 ? "]" : "", o->port);
    return 0;
}

int tv_origin_parse(const char *url, size_t len, tv_origin *out, tv_error *err) {
    return parse_origin(url, len, out, 0, err);
}

int tv_url_origin(const char *url, size_t len, tv_origin *out, tv_error *err) {
    return parse_origin(url, len, out, 1, err);
}

/* A literal IPv4 address in canonical dotted-decimal form: exactly four
 * decimal octets 0..255, no leading zeros (they read as octal to some
 * resolvers), no hex, no short forms ("127.1"), no trailing dot.  The first
 * octet in *first.  1 when it is one. */
static int ipv4_literal(const char *s, int *first) {
    for (int part = 0; part < 4; part++) {
        if (part > 0 && *s++ != '.') return 0;
        if (*s < '0' || *s > '9') return 0;
        int v = 0, n = 0;
        while (*s >= '0' && *s <= '9') {
            if (++n > 3) return 0;
            v = v * 10 + (*s++ - '0');
        }
        if ((n > 1 && s[-n] == '0') || v > 255) return 0;
        if (part == 0) *first = v;
    }
    return *s == '\0';
}

/* A literal IPv6 address (no brackets, no zone) equal to ::1, in any of its
 * spellings ("::1", "0:0:0:0:0:0:0:1", "0000::0001", ...).  Parsed here,
 * strictly: groups of 1..4 hex digits, at most one "::", no embedded IPv4
 * (an IPv4-mapped address is not ::1). */
static int ipv6_is_loopback(const char *s) {
    unsigned g[8];
    int n = 0, gap = -1;
    if (s[0] == ':') {
        if (s[1] != ':') return 0;
        gap = 0;
        s += 2;
        if (*s == '\0') return 0; /* "::" is the unspecified address */
    }
    for (;;) {
        unsigned v = 0;
        int d = 0;
        for (; d < 5; d++, s++) {
            int c = (unsigned char)*s, x;
            if (c >= '0' && c <= '9') x = c - '0';
            else if (c >= 'a' && c <= 'f') x = c - 'a' + 10;
            else if (c >= 'A' && c <= 'F') x = c - 'A' + 10;
            else break;
            v = v * 16 + (unsigned)x;
        }
        if (d == 0 || d > 4 || n == 8) return 0;
        g[n++] = v;
        if (*s == '\0') break;
        if (*s != ':') return 0;
        s++;
        if (*s == ':') {
            if (gap >= 0) return 0;
            gap = n;
            s++;
            if (*s == '\0') break;
        }
    }
    if (gap < 0 ? n != 8 : n > 7) return 0;
    /* expand: groups before the gap, zeros, groups after */
    unsigned full[8] = {0};
    int tail = gap < 0 ? 0 : n - gap;
    int head = n - tail;
    for (int i = 0; i < head; i++) full[i] = g[i];
    for (int i = 0; i < tail; i++) full[8 - tail + i] = g[head + i];
    for (int i = 0; i < 7; i++)
        if (full[i] != 0) return 0;
    return full[7] == 1;
}

/* Loopback by address, never by name prefix: "localhost", a literal IPv4
 * address in 127.0.0.0/8 (canonical dotted decimal only) or ::1.  Names
 * such as "127.attacker.example" or "127.0.0.1.nip.io" resolve through DNS
 * to wherever their owner likes. */
int tv_origin_is_loopback(const tv_origin *o) {
    if (strcmp(o->host, "localhost") == 0) return 1;
    if (strchr(o->host, ':')) return ipv6_is_loopback(o->host);
    int first = -1;
    return ipv4_literal(o->host, &first) && first == 127;
}

int tv_origin_equal(const tv_origin *a, const tv_origin *b) {
    return strcmp(a->scheme, b->scheme) == 0 && strcmp(a->host, b->host) == 0 && a->port == b->port;
}

/* ---- building ------------------------------------------------------------
 * One builder for every row of the operation table (tv_ops.c). */

static int oom(tv_error *err) { return tv_error_set(err, TV_ENOMEM, NULL, "out of memory"); }

static void begin(tv_request *req, const tv_operation *op) {
    req->op = op;
    req->method = op->method;
    tv_buf_reset(&req->url, 0);
    tv_buf_reset(&req->body, 1);
}

static int check_path_param(const tv_param_spec *pp, const char *s, size_t len, tv_error *err) {
    return tv_param_check(pp, s, len, err);
}

/* base + the op's path template with each {Key} replaced by its value,
 * percent-encoded. */
static int add_path(const tv_origin *o, const tv_operation *op, const tv_str *path, tv_buf *u) {
    if (tv_buf_adds(u, o->base)) return -1;
    size_t k = 0;
    for (const char *t = op->path; *t;) {
        const char *open = strchr(t, '{');
        if (!open) return tv_buf_adds(u, t);
        if (tv_buf_add(u, t, (size_t)(open - t))) return -1;
        const char *close = strchr(open, '}');
        if (tv_buf_add_pct(u, path[k].s, path[k].len)) return -1;
        k++;
        t = close + 1;
    }
    return 0;
}

static int in_set(const tv_param_spec *set, const tv_param_spec *p) {
    for (; set->name; set++)
        if (set == p) return 1;
    return 0;
}

/* Validate every parameter (known to the operation, no repeats unless an
 * array, required ones present, values by their rules), then encode them
 * in the set's order, array elements in their order -- so the wire format
 * does not depend on Lua's table order. */
static int add_params(const tv_operation *op, const tv_kv *params, size_t n, tv_buf *url, tv_buf *body,
                      tv_error *err) {
    const tv_param_spec *set = op->params;
    for (size_t i = 0; i < n; i++)
        if (!in_set(set, params[i].spec))
            return tv_error_set(err, TV_EARG, params[i].spec->name, "%s is not a parameter of %s",
                                params[i].spec->name, op->name);
    for (const tv_param_spec *p = set; p->name; p++) {
        if (!(p->flags & TV_PF_REQUIRED)) continue;
        size_t i = 0;
        while (i < n && params[i].spec != p) i++;
        if (i == n) return tv_error_set(err, TV_EARG, p->name, "%s is required", p->name);
    }
    if (op->one_of) {
        int any = 0;
        for (size_t i = 0; i < n && !any; i++)
            for (const char *const *k = op->one_of; *k && !any; k++) any = strcmp(params[i].spec->key, *k) == 0;
        if (!any) {
            const tv_param_spec *a = tv_param_by_key(set, op->one_of[0]), *b = tv_param_by_key(set, op->one_of[1]);
            return tv_error_set(err, TV_EARG, a ? a->name : NULL, "%s needs %s or %s", op->name, a ? a->name : "?",
                                b ? b->name : "?");
        }
    }
    for (size_t i = 0; i < n; i++) {
        const tv_param_spec *p = params[i].spec;
        if (tv_param_check(p, params[i].val, params[i].len, err)) return -1;
        int count = 0;
        for (size_t j = 0; j <= i; j++) count += params[j].spec == p;
        if (count > 1 && !(p->flags & TV_PF_ARRAY))
            return tv_error_set(err, TV_EARG, p->name, "%s given twice", p->name);
        if (p->max_items && count > p->max_items)
            return tv_error_set(err, TV_EARG, p->name, "%s has more than %d elements", p->name, p->max_items);
    }
    char qsep = '?';
    int first_form = 1;
    for (const tv_param_spec *p = set; p->name; p++) {
        for (size_t i = 0; i < n; i++) {
            if (params[i].spec != p) continue;
            tv_buf *out = (p->flags & TV_PF_QUERY) ? url : body;
            int sep = (p->flags & TV_PF_QUERY) ? 1 : !first_form;
            char c = (p->flags & TV_PF_QUERY) ? qsep : '&';
            if ((sep && tv_buf_add(out, &c, 1)) || tv_buf_add_pct(out, p->key, strlen(p->key)) ||
                tv_buf_add(out, "=", 1) || tv_buf_add_pct(out, params[i].val, params[i].len))
                return oom(err);
            if (p->flags & TV_PF_QUERY) qsep = '&';
            else first_form = 0;
        }
    }
    return 0;
}

/* ---- JSON bodies (TV_OPF_JSON_BODY) ----------------------------------------
 * The parameters are the members of one JSON object.  In the kv list an
 * OBJECT parameter, and an ARRAY one, is marked present by a kv with val ==
 * NULL (so `config = {}` is sent as "config":{} and an empty array as []);
 * the values of an array follow in their order.  Validated like a form
 * (members of the row's tree only, each once unless an array, required
 * members present -- a nested one only when its object is --, values by
 * their rules), then encoded once, in the row's order, whatever the order
 * of the list. */

static int json_str(tv_buf *b, const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    if (tv_buf_add(b, "\"", 1)) return -1;
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        if (tv_buf_add(b, s + run, i - run)) return -1;
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        if (c == '"' || c == '\\') {
            esc[1] = (char)c;
            if (tv_buf_add(b, esc, 2)) return -1;
        } else if (tv_buf_add(b, esc, 6)) {
            return -1;
        }
        run = i + 1;
    }
    if (tv_buf_add(b, s + run, len - run)) return -1;
    return tv_buf_add(b, "\"", 1);
}

static int json_value(tv_buf *b, const tv_param_spec *p, const char *v, size_t len) {
    switch (p->type) {
    case TV_PT_INT:
    case TV_PT_JSON: return tv_buf_add(b, v, len); /* validated: digits / a JSON object */
    case TV_PT_BOOL: return tv_buf_adds(b, (v[0] == 't' || v[0] == 'T') ? "true" : "false");
    default: return json_str(b, v, len);
    }
}

static size_t count_of(const tv_kv *params, size_t n, const tv_param_spec *p, int markers) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += params[i].spec == p && ((params[i].val == NULL) == (markers != 0));
    return c;
}

/* Members of `set` present in the list, as one JSON object. */
static int json_object(tv_buf *b, const tv_param_spec *set, const tv_kv *params, size_t n, int depth) {
    if (depth > 8 || tv_buf_add(b, "{", 1)) return -1;
    int first = 1;
    for (const tv_param_spec *p = set; p->name; p++) {
        int container = p->type == TV_PT_OBJECT || (p->flags & TV_PF_ARRAY);
        if (!(container ? count_of(params, n, p, 1) : count_of(params, n, p, 0))) continue;
        if ((!first && tv_buf_add(b, ",", 1)) || json_str(b, p->key, strlen(p->key)) || tv_buf_add(b, ":", 1))
            return -1;
        first = 0;
        if (p->type == TV_PT_OBJECT) {
            if (json_object(b, p->fields, params, n, depth + 1)) return -1;
        } else if (p->flags & TV_PF_ARRAY) {
            int efirst = 1;
            if (tv_buf_add(b, "[", 1)) return -1;
            for (size_t i = 0; i < n; i++) {
                if (params[i].spec != p || !params[i].val) continue;
                if ((!efirst && tv_buf_add(b, ",", 1)) || json_value(b, p, params[i].val, params[i].len)) return -1;
                efirst = 0;
            }
            if (tv_buf_add(b, "]", 1)) return -1;
        } else {
            for (size_t i = 0; i < n; i++)
                if (params[i].spec == p && params[i].val) {
                    if (json_value(b, p, params[i].val, params[i].len)) return -1;
                    break;
                }
        }
    }
    return tv_buf_add(b, "}", 1);
}

/* The required members of `set` (an object that is present) are there. */
static int json_required(const tv_param_spec *set, const tv_kv *params, size_t n, tv_error *err, int depth) {
    for (const tv_param_spec *p = set; p->name && depth <= 8; p++) {
        int container = p->type == TV_PT_OBJECT || (p->flags & TV_PF_ARRAY);
        size_t here = count_of(params, n, p, container);
        if ((p->flags & TV_PF_REQUIRED) && !here) return tv_error_set(err, TV_EARG, p->name, "%s is required", p->name);
        if (p->type == TV_PT_OBJECT && here && json_required(p->fields, params, n, err, depth + 1)) return -1;
    }
    return 0;
}

static int add_json_params(const tv_operation *op, const tv_kv *params, size_t n, tv_buf *body, tv_error *err) {
    for (size_t i = 0; i < n; i++) {
        const tv_param_spec *p = params[i].spec, *parent;
        if (!tv_param_set_of(op, p, &parent))
            return tv_error_set(err, TV_EARG, p->name, "%s is not a parameter of %s", p->name, op->name);
        int container = p->type == TV_PT_OBJECT || (p->flags & TV_PF_ARRAY);
        if (!params[i].val && !container)
            return tv_error_set(err, TV_EARG, p->name, "%s has no value", p->name);
        if (params[i].val && tv_param_check(p, params[i].val, params[i].len, err)) return -1;
        if (container && count_of(params, n, p, 1) > 1)
            return tv_error_set(err, TV_EARG, p->name, "%s given twice", p->name);
        if (!container && count_of(params, n, p, 0) > 1)
            return tv_error_set(err, TV_EARG, p->name, "%s given twice", p->name);
        if ((p->flags & TV_PF_ARRAY) && params[i].val && !count_of(params, n, p, 1))
            return tv_error_set(err, TV_EARG, p->name, "%s: an element without its array", p->name);
        if (p->max_items && count_of(params, n, p, 0) > (size_t)p->max_items)
            return tv_error_set(err, TV_EARG, p->name, "%s has more than %d elements", p->name, p->max_items);
        if (parent && !count_of(params, n, parent, 1))
            return tv_error_set(err, TV_EARG, p->name, "%s given without %s", p->name, parent->name);
    }
    if (json_required(op->params, params, n, err, 0)) return -1;
    if (json_object(body, op->params, params, n, 0)) return oom(err);
    return 0;
}

int tv_build(const tv_origin *o, const tv_operation *op, const tv_str *path, const tv_kv *params, size_t n,
             tv_request *req, tv_error *err) {
    size_t np = tv_operation_npath(op);
    for (size_t k = 0; k < np; k++)
        if (check_path_param(&op->path_params[k], path[k].s, path[k].len, err)) return -1;
    begin(req, op);
    if (add_path(o, op, path, &req->url)) return oom(err);
    int rc = (op->flags & TV_OPF_JSON_BODY) ? add_json_params(op, params, n, &req->body, err)
                                            : add_params(op, params, n, &req->url, &req->body, err);
    if (rc) {
        tv_buf_reset(&req->body, 1); /* a refusal builds nothing */
        tv_buf_reset(&req->url, 0);
        req->op = NULL;
        return -1;
    }
    if (req->method == TV_POST && tv_buf_add(&req->body, "", 0)) return oom(err);
    return 0;
}

/* ---- page URLs ------------------------------------------------------------
 * A next/previous_page_url is parsed into the list operation's path
 * parameters and query parameters, each checked by its rule, and the
 * request rebuilt from them: nothing of the raw URL reaches the transport,
 * so dot segments (plain or percent-encoded), extra path segments and
 * foreign query keys cannot redirect the credentials elsewhere. */

static int hexval(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decode s[0..n) into out (room for n bytes); -1 on a bad escape. */
static int pct_decode(const char *s, size_t n, int plus_space, char *out, size_t *outlen) {
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            if (i + 2 >= n) return -1;
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0) return -1;
            out[j++] = (char)(h * 16 + l);
            i += 2;
        } else {
            out[j++] = plus_space && s[i] == '+' ? ' ' : s[i];
        }
    }
    *outlen = j;
    return 0;
}

static int bad_url(tv_error *err, const tv_operation *op) {
    return tv_error_set(err, TV_EARG, "url", "url is not a page URL of %s (%s)", op->name, op->path);
}

/* Match url's path and query against op (a TV_RET_PAGE row); on success the
 * request is rebuilt.  1: matched and built; 0: the path is not op's; -1:
 * error (err). */
static int match_page_url(const tv_origin *o, const tv_operation *op, const char *path, size_t plen,
                          const char *query, size_t qlen, char *scratch, tv_request *req, tv_error *err) {
    tv_str pv[TV_MAX_PATH_PARAMS];
    size_t k = 0, used = 0, pi = 0;
    const char *t = op->path;
    while (*t) {
        if (*t != '/' || pi >= plen || path[pi] != '/') return 0;
        t++;
        pi++;
        const char *te = strchr(t, '/');
        size_t tl = te ? (size_t)(te - t) : strlen(t);
        size_t se = pi;
        while (se < plen && path[se] != '/') se++;
        if (t[0] == '{') {
            size_t dl;
            if (se == pi || pct_decode(path + pi, se - pi, 0, scratch + used, &dl)) return 0;
            pv[k].s = scratch + used;
            pv[k].len = dl;
            used += dl + 1;
            k++;
        } else if (se - pi != tl || memcmp(path + pi, t, tl) != 0) {
            return 0;
        }
        pi = se;
        t += tl;
    }
    if (pi != plen) return 0;
    for (size_t j = 0; j < k; j++)
        if (check_path_param(&op->path_params[j], pv[j].s, pv[j].len, err)) {
            char why[TV_ERR_MESSAGE_MAX];
            snprintf(why, sizeof why, "%s", err->message);
            return tv_error_set(err, TV_EARG, "url", "url is not a valid page URL of %s: %s", op->name, why);
        }
    tv_kv kv[32];
    size_t n = 0;
    for (size_t i = 0; i < qlen;) {
        size_t e = i;
        while (e < qlen && query[e] != '&') e++;
        if (e > i) {
            const char *eq = memchr(query + i, '=', e - i);
            size_t kl = eq ? (size_t)(eq - (query + i)) : e - i;
            size_t dk, dv;
            char *key = scratch + used;
            if (pct_decode(query + i, kl, 1, key, &dk)) return bad_url(err, op);
            key[dk] = '\0';
            used += dk + 1;
            const tv_param_spec *p = NULL;
            for (const tv_param_spec *q = op->params; q->name && !p; q++)
                if ((q->flags & TV_PF_QUERY) && strlen(q->key) == dk && memcmp(q->key, key, dk) == 0) p = q;
            if (!p || n == sizeof kv / sizeof kv[0])
                return tv_error_set(err, TV_EARG, "url", "url has a query parameter %s that %s does not take",
                                    dk < 64 ? key : "(long)", op->name);
            char *v = scratch + used;
            if (pct_decode(eq ? eq + 1 : query + e, eq ? (size_t)(query + e - eq - 1) : 0, 1, v, &dv))
                return bad_url(err, op);
            used += dv + 1;
            kv[n].spec = p;
            kv[n].val = v;
            kv[n].len = dv;
            n++;
        }
        i = e + 1;
    }
    if (tv_build(o, op, pv, kv, n, req, err)) {
        if (err->kind == TV_EARG) {
            char why[TV_ERR_MESSAGE_MAX];
            snprintf(why, sizeof why, "%s", err->message);
            tv_error_set(err, TV_EARG, "url", "url is not a valid page URL of %s: %s", op->name, why);
        }
        return -1;
    }
    return 1;
}

int tv_build_page_url(const tv_origin *o, const tv_operation *op, const char *url, size_t len, tv_request *req,
                      tv_error *err) {
    tv_origin other;
    if (tv_url_origin(url, len, &other, err)) return -1;
    if (!tv_origin_equal(o, &other))
        return tv_error_set(err, TV_EARG, "url",
                            "refusing to follow a page URL on %s://%s:%d: it is not the configured "
                            "base URL %s (credentials are only sent there)",
                            other.scheme, other.host, other.port, o->base);
    for (size_t i = 0; i < len; i++)
        if (url[i] == ' ' || url[i] == '\\')
            return tv_error_set(err, TV_EARG, "url", "url contains characters not allowed in a URL");
    const char *p = url + strlen(other.scheme) + 3;
    const char *end = url + len;
    while (p < end && *p != '/' && *p != '?') p++;
    const char *q = p;
    while (q < end && *q != '?') q++;
    const char *query = q < end ? q + 1 : end;
    char *scratch = malloc(len * 2 + 16);
    if (!scratch) return oom(err);
    int rc = 0;
    for (size_t i = 0; i < tv_noperations && rc == 0; i++) {
        const tv_operation *cand = &tv_operations[i];
        if (cand->returns != TV_RET_PAGE || (op && cand != op)) continue;
        rc = match_page_url(o, cand, p, (size_t)(q - p), query, (size_t)(end - query), scratch, req, err);
    }
    free(scratch);
    if (rc == 0) {
        if (op) return bad_url(err, op);
        return tv_error_set(err, TV_EARG, "url", "url is not a page URL of any list operation");
    }
    return rc < 0 ? -1 : 0;
}

/* ---- redaction ----------------------------------------------------------- */

int tv_redact_form(const char *body, size_t len, tv_buf *out) {
    tv_buf_reset(out, 0);
    if (tv_buf_add(out, "", 0)) return -1;
    size_t i = 0;
    while (i < len) {
        size_t e = i;
        while (e < len && body[e] != '&') e++;
        const char *eq = memchr(body + i, '=', e - i);
        size_t klen = eq ? (size_t)(eq - (body + i)) : e - i;
        if (i && tv_buf_add(out, "&", 1)) return -1;
        if (eq && tv_secret_wire_key(body + i, klen)) {
            if (tv_buf_add(out, body + i, klen + 1) || tv_buf_adds(out, "[REDACTED]")) return -1;
        } else if (tv_buf_add(out, body + i, e - i)) {
            return -1;
        }
        i = e + 1;
    }
    return 0;
}

/* A JSON body's secret members (TV_PF_SECRET, at any depth: a passkey's
 * whole `response`) replaced by "[REDACTED]". */
static int redact_members(cJSON *obj, const tv_param_spec *set, int depth) {
    if (depth > 8 || !cJSON_IsObject(obj)) return 0;
    for (const tv_param_spec *p = set; p->name; p++) {
        cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, p->key);
        if (!m) continue;
        if (p->flags & TV_PF_SECRET) {
            cJSON *r = cJSON_CreateString("[REDACTED]");
            if (!r || !cJSON_ReplaceItemInObjectCaseSensitive(obj, p->key, r)) {
                cJSON_Delete(r);
                return -1;
            }
        } else if (p->type == TV_PT_OBJECT && redact_members(m, p->fields, depth + 1)) {
            return -1;
        }
    }
    return 0;
}

/* Wipe the strings of a cJSON tree (it held secrets) before it is freed. */
static void wipe_json(cJSON *j, int depth) {
    for (; j && depth < 64; j = j->next) {
        if (j->valuestring) OPENSSL_cleanse(j->valuestring, strlen(j->valuestring));
        if (j->child) wipe_json(j->child, depth + 1);
    }
}

int tv_redact_body(const tv_request *req, tv_buf *out) {
    if (!req->op || !(req->op->flags & TV_OPF_JSON_BODY)) return tv_redact_form(req->body.data, req->body.len, out);
    tv_buf_reset(out, 0);
    cJSON *j = cJSON_ParseWithLength(req->body.data, req->body.len);
    if (!j) return tv_buf_adds(out, "[REDACTED]"); /* ours, so never; nothing of it shown if so */
    char *text = NULL;
    int rc = redact_members(j, req->op->params, 0) == 0 && (text = cJSON_PrintUnformatted(j)) ? 0 : -1;
    if (rc == 0) rc = tv_buf_adds(out, text);
    if (text) {
        OPENSSL_cleanse(text, strlen(text));
        cJSON_free(text);
    }
    wipe_json(j, 0);
    cJSON_Delete(j);
    return rc;
}

const char *tv_request_content_type(const tv_request *req) {
    if (req->method != TV_POST) return NULL;
    if (req->op && (req->op->flags & TV_OPF_JSON_BODY)) return "application/json";
    return "application/x-www-form-urlencoded";
}
