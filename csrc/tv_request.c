/* tv_request.c -- sans-I/O request building: validate -> URL, query, form. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

int tv_origin_is_loopback(const tv_origin *o) {
    return strcmp(o->host, "localhost") == 0 || strncmp(o->host, "127.", 4) == 0 ||
           strcmp(o->host, "::1") == 0;
}

int tv_origin_equal(const tv_origin *a, const tv_origin *b) {
    return strcmp(a->scheme, b->scheme) == 0 && strcmp(a->host, b->host) == 0 && a->port == b->port;
}

/* ---- building ------------------------------------------------------------ */

static int oom(tv_error *err) { return tv_error_set(err, TV_ENOMEM, NULL, "out of memory"); }

static int begin(tv_request *req, tv_op op, tv_method m) {
    req->op = op;
    req->method = m;
    tv_buf_reset(&req->url, 0);
    tv_buf_reset(&req->body, 1);
    return 0;
}

/* {base}/v2/Services/{service}/Entities/{identity}/Factors[/{sid}] */
static int add_path(const tv_origin *o, tv_request *req, const char *service, size_t slen,
                    const char *identity, size_t ilen, const char *sid, size_t sidlen) {
    tv_buf *u = &req->url;
    if (tv_buf_adds(u, o->base) || tv_buf_adds(u, "/v2/Services/") || tv_buf_add_pct(u, service, slen) ||
        tv_buf_adds(u, "/Entities/") || tv_buf_add_pct(u, identity, ilen) || tv_buf_adds(u, "/Factors"))
        return -1;
    if (sid && (tv_buf_adds(u, "/") || tv_buf_add_pct(u, sid, sidlen))) return -1;
    return 0;
}

static int check_path(const char *service, size_t slen, const char *identity, size_t ilen,
                      const char *sid, size_t sidlen, tv_error *err) {
    if (tv_check_service_sid(service, slen, err)) return -1;
    if (tv_check_identity(identity, ilen, err)) return -1;
    if (sid && tv_check_factor_sid(sid, sidlen, err)) return -1;
    return 0;
}

/* Validate every parameter, then encode them in the set's order (so the
 * wire format does not depend on Lua's table order). */
static int add_params(const tv_param_spec *set, const tv_kv *params, size_t n, tv_buf *out,
                      char first_sep, tv_error *err) {
    for (size_t i = 0; i < n; i++) {
        if (tv_param_check(params[i].spec, params[i].val, params[i].len, err)) return -1;
        for (size_t j = 0; j < i; j++)
            if (params[j].spec == params[i].spec)
                return tv_error_set(err, TV_EARG, params[i].spec->name, "%s given twice",
                                    params[i].spec->name);
    }
    char sep = first_sep;
    for (const tv_param_spec *p = set; p->name; p++) {
        for (size_t i = 0; i < n; i++) {
            if (params[i].spec != p) continue;
            if ((sep && tv_buf_add(out, &sep, 1)) || tv_buf_add_pct(out, p->key, strlen(p->key)) ||
                tv_buf_add(out, "=", 1) || tv_buf_add_pct(out, params[i].val, params[i].len))
                return oom(err);
            sep = '&';
        }
    }
    for (size_t i = 0; i < n; i++) {
        const tv_param_spec *p = set;
        while (p->name && p != params[i].spec) p++;
        if (!p->name)
            return tv_error_set(err, TV_EARG, params[i].spec->name, "%s is not a parameter of this operation",
                                params[i].spec->name);
    }
    return 0;
}

int tv_build_fetch(const tv_origin *o, const char *service, size_t slen, const char *identity,
                   size_t ilen, const char *sid, size_t sidlen, tv_request *req, tv_error *err) {
    if (check_path(service, slen, identity, ilen, sid, sidlen, err)) return -1;
    begin(req, TV_OP_FETCH, TV_GET);
    if (add_path(o, req, service, slen, identity, ilen, sid, sidlen)) return oom(err);
    return 0;
}

int tv_build_delete(const tv_origin *o, const char *service, size_t slen, const char *identity,
                    size_t ilen, const char *sid, size_t sidlen, tv_request *req, tv_error *err) {
    if (check_path(service, slen, identity, ilen, sid, sidlen, err)) return -1;
    begin(req, TV_OP_DELETE, TV_DELETE);
    if (add_path(o, req, service, slen, identity, ilen, sid, sidlen)) return oom(err);
    return 0;
}

int tv_build_update(const tv_origin *o, const char *service, size_t slen, const char *identity,
                    size_t ilen, const char *sid, size_t sidlen, const tv_kv *params, size_t n,
                    tv_request *req, tv_error *err) {
    if (check_path(service, slen, identity, ilen, sid, sidlen, err)) return -1;
    begin(req, TV_OP_UPDATE, TV_POST);
    if (add_params(tv_params_update, params, n, &req->body, 0, err)) return -1;
    if (add_path(o, req, service, slen, identity, ilen, sid, sidlen)) return oom(err);
    return 0;
}

int tv_build_create(const tv_origin *o, const char *service, size_t slen, const char *identity,
                    size_t ilen, const tv_kv *params, size_t n, tv_request *req, tv_error *err) {
    if (check_path(service, slen, identity, ilen, NULL, 0, err)) return -1;
    int have_name = 0, have_type = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(params[i].spec->name, "friendly_name") == 0) have_name = 1;
        if (strcmp(params[i].spec->name, "factor_type") == 0) have_type = 1;
    }
    if (!have_name) return tv_error_set(err, TV_EARG, "friendly_name", "friendly_name is required");
    if (!have_type) return tv_error_set(err, TV_EARG, "factor_type", "factor_type is required");
    begin(req, TV_OP_CREATE, TV_POST);
    if (add_params(tv_params_create, params, n, &req->body, 0, err)) return -1;
    if (add_path(o, req, service, slen, identity, ilen, NULL, 0)) return oom(err);
    return 0;
}

int tv_build_list(const tv_origin *o, const char *service, size_t slen, const char *identity,
                  size_t ilen, const tv_kv *params, size_t n, tv_request *req, tv_error *err) {
    if (check_path(service, slen, identity, ilen, NULL, 0, err)) return -1;
    begin(req, TV_OP_LIST, TV_GET);
    if (add_path(o, req, service, slen, identity, ilen, NULL, 0)) return oom(err);
    if (add_params(tv_params_list, params, n, &req->url, '?', err)) return -1;
    return 0;
}

static int contains(const char *hay, size_t n, const char *needle) {
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0) return 1;
    return 0;
}

int tv_build_list_url(const tv_origin *o, const char *url, size_t len, tv_request *req, tv_error *err) {
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
    /* path must be /v2/Services/<sid>/Entities/<identity>/Factors */
    const char *p = url + strlen(other.scheme) + 3;
    const char *end = url + len;
    while (p < end && *p != '/' && *p != '?') p++;
    const char *q = p;
    while (q < end && *q != '?') q++;
    size_t plen = (size_t)(q - p);
    static const char pre[] = "/v2/Services/";
    static const char suf[] = "/Factors";
    if (plen < sizeof pre - 1 + sizeof suf - 1 || memcmp(p, pre, sizeof pre - 1) != 0 ||
        memcmp(q - (sizeof suf - 1), suf, sizeof suf - 1) != 0 ||
        !contains(p, plen, "/Entities/"))
        return tv_error_set(err, TV_EARG, "url", "url is not a Factors list URL");
    begin(req, TV_OP_LIST, TV_GET);
    if (tv_buf_add(&req->url, url, len)) return oom(err);
    return 0;
}

/* ---- redaction ----------------------------------------------------------- */

static int secret_key(const char *k, size_t n) {
    const tv_param_spec *sets[] = {tv_params_update, tv_params_create};
    for (size_t s = 0; s < 2; s++)
        for (const tv_param_spec *p = sets[s]; p->name; p++)
            if ((p->flags & TV_PF_SECRET) && strlen(p->key) == n && memcmp(p->key, k, n) == 0) return 1;
    return 0;
}

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
        if (eq && secret_key(body + i, klen)) {
            if (tv_buf_add(out, body + i, klen + 1) || tv_buf_adds(out, "[REDACTED]")) return -1;
        } else if (tv_buf_add(out, body + i, e - i)) {
            return -1;
        }
        i = e + 1;
    }
    return 0;
}
