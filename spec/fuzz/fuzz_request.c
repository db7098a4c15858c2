/* fuzz_request.c -- libFuzzer harness: URL and form building from arbitrary
 * path and parameter values for any row of the operation table
 * (tv_request.c, tv_ops.c, tv_buf.c, tv_validate.c).
 *
 * Input: byte 0 = mode (low 3 bits) and flags.  Modes 0-4 build rows 0-4 of
 * tv_operations (fetch, delete, update, list, create_factor) -- with flag
 * 0x40 the next byte picks any row instead (modulo their number); 5 builds a
 * page URL (the sid field) -- with 0x40 the next byte picks the op passed
 * (0: NULL, k: row k-1, which may be no list operation); 6 redacts a form
 * body (the sid field); 7 parses any URL's origin (the sid field).  Flags
 * 0x08 canned service SID, 0x10 canned identity, 0x20 canned `sid` (of the
 * prefix the op's Sid path parameter takes).  Then fields (see fuzz.h): base
 * URL, service SID, identity, sid -- the values of the path parameters
 * ServiceSid, Identity and Sid -- then key/value pairs: the key is looked
 * up by wire name in the op's parameters ("FriendlyName"); "!" + 2 bytes
 * picks a parameter of any op (row by byte 1, parameter by byte 2), usually
 * one the op does not take; any other key picks one of the op's by its first
 * byte.  Every field is an exact-size buffer without a NUL.
 *
 * Invariants: failures are TV_EARG naming a parameter; a parameter of
 * another operation never builds; a build has every required parameter, a
 * URL on the origin of only URL characters, and query and form decode back
 * to exactly the given values (set order, array elements in their order),
 * the query ones in the URL and the others in the body; redaction hides the
 * secret values only; a built list request's URL is a page URL that
 * rebuilds byte for byte (fz_check_page_request). */
#include "fuzz.h"
#include "tv.h"

#include <cJSON.h>

#define FZ_MAX_KV 24

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fz_svc[] = "VA0123456789abcdef0123456789ABCDEF";
static const char fz_idn[] = "user-0123-abcd";

static size_t fz_set_len(const tv_param_spec *set) {
    size_t n = 0;
    while (set[n].name) n++;
    return n;
}

static int fz_rq_in_set(const tv_param_spec *set, const tv_param_spec *p) {
    for (; set->name; set++)
        if (set == p) return 1;
    return 0;
}

/* Decode "k=v&k=v" (text of len n) and check it is exactly the given
 * parameters whose placement is `query` (TV_PF_QUERY set or not), in the
 * set's order and, for an array, the elements in their order; `redacted`:
 * secret values are "[REDACTED]" (unencoded). */
static void fz_check_form(const char *s, size_t n, const tv_param_spec *set, const tv_kv *kv, size_t nkv,
                          int query, int redacted) {
    /* the expected sequence */
    const tv_kv *want[FZ_MAX_KV];
    size_t nwant = 0;
    for (const tv_param_spec *p = set; p->name; p++) {
        if (!(p->flags & TV_PF_QUERY) != !query) continue;
        for (size_t i = 0; i < nkv; i++)
            if (kv[i].spec == p) want[nwant++] = &kv[i];
    }
    size_t got = 0, pos = 0;
    char *buf = malloc(n + 1);
    FZ_ASSERT(buf != NULL);
    while (pos < n) {
        const char *amp = memchr(s + pos, '&', n - pos);
        size_t end = amp ? (size_t)(amp - s) : n;
        const char *eq = memchr(s + pos, '=', end - pos);
        FZ_ASSERT(eq != NULL);
        size_t klen = fz_pct_decode(s + pos, (size_t)(eq - (s + pos)), buf, n);
        FZ_ASSERT(klen != (size_t)-1);
        buf[klen] = '\0';
        FZ_ASSERT(got < nwant);
        const tv_kv *given = want[got];
        FZ_ASSERT(strcmp(buf, given->spec->key) == 0);
        const char *v = eq + 1;
        size_t vraw = (size_t)(s + end - v);
        if (redacted && (given->spec->flags & TV_PF_SECRET)) {
            FZ_ASSERT(vraw == 10 && memcmp(v, "[REDACTED]", 10) == 0);
        } else {
            size_t vlen = fz_pct_decode(v, vraw, buf, n);
            FZ_ASSERT(vlen == given->len && memcmp(buf, given->val, vlen) == 0);
        }
        got++;
        pos = end + 1;
    }
    FZ_ASSERT(got == nwant);
    free(buf);
}

/* The field holding the value of path parameter pp. */
static const tv_str *fz_rq_path_field(const tv_param_spec *pp, const tv_str *svc, const tv_str *idn,
                                      const tv_str *sid) {
    if (strcmp(pp->key, "ServiceSid") == 0) return svc;
    if (strcmp(pp->key, "Identity") == 0) return idn;
    return sid;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in in = {data, size};
    int flags = fz_byte(&in);
    int mode = flags & 7;
    const tv_operation *op = &tv_operations[mode < 5 ? mode : 0];
    const tv_operation *page_op = NULL;
    if (flags & 0x40) {
        int b = fz_byte(&in);
        if (mode < 5) op = &tv_operations[(size_t)b % tv_noperations];
        else if (b) page_op = &tv_operations[(size_t)(b - 1) % tv_noperations];
    }
    size_t blen, slen, ilen, sidlen;
    char *base = fz_take(&in, &blen, 0);
    char *svc = fz_take(&in, &slen, 0);
    char *idn = fz_take(&in, &ilen, 0);
    char *sid = fz_take(&in, &sidlen, 0);
    if (flags & 0x08) { free(svc); svc = strdup(fz_svc); slen = sizeof fz_svc - 1; }
    if (flags & 0x10) { free(idn); idn = strdup(fz_idn); ilen = sizeof fz_idn - 1; }
    if (flags & 0x20) {
        const char *prefix = "YF";
        for (size_t k = 0; k < tv_operation_npath(op); k++)
            if (strcmp(op->path_params[k].key, "Sid") == 0) prefix = op->path_params[k].prefix;
        free(sid);
        sid = malloc(35);
        FZ_ASSERT(sid != NULL);
        snprintf(sid, 35, "%s0123456789abcdef0123456789ABCDEF", prefix);
        sidlen = 34;
    }
    FZ_ASSERT(svc && idn && sid);

    tv_error err = TV_ERROR_INIT;
    tv_origin o;
    if (tv_origin_parse(base, blen, &o, &err) == 0) {
        FZ_ASSERT(strncmp(o.base, o.scheme, strlen(o.scheme)) == 0);
        FZ_ASSERT(o.port >= 1 && o.port <= 65535);
        /* the normalised base parses to the same origin */
        tv_origin again;
        FZ_ASSERT(tv_origin_parse(o.base, strlen(o.base), &again, &err) == 0);
        FZ_ASSERT(tv_origin_equal(&o, &again) && strcmp(o.base, again.base) == 0);
        (void)tv_origin_is_loopback(&o);
    } else {
        fz_check_arg_err(&err);
        tv_error_clear(&err);
        FZ_ASSERT(tv_origin_parse(TV_DEFAULT_BASE_URL, strlen(TV_DEFAULT_BASE_URL), &o, &err) == 0);
    }

    const tv_param_spec *set = op->params;
    size_t setn = fz_set_len(set);
    tv_kv kv[FZ_MAX_KV];
    char *vals[FZ_MAX_KV];
    size_t nkv = 0;
    int foreign = 0;
    while (in.n && nkv < FZ_MAX_KV) {
        size_t klen;
        char *key = fz_take(&in, &klen, 1);
        const tv_param_spec *p = tv_param_by_key(set, key);
        if (!p && (klen >= 3 && key[0] == '!')) {
            const tv_operation *other = &tv_operations[(unsigned char)key[1] % tv_noperations];
            size_t on = fz_set_len(other->params);
            if (on) p = &other->params[(unsigned char)key[2] % on];
        }
        if (!p && setn) p = &set[(klen ? (unsigned char)key[0] : 0) % setn];
        if (!p) p = &tv_operation_by_name("update_factor")->params[0];
        free(key);
        if (!fz_rq_in_set(set, p)) foreign = 1;
        kv[nkv].spec = p;
        vals[nkv] = fz_take(&in, &kv[nkv].len, 0);
        kv[nkv].val = vals[nkv];
        nkv++;
    }

    tv_request req;
    memset(&req, 0, sizeof req);
    int rc = 0;
    switch (mode) {
    case 5: rc = tv_build_page_url(&o, page_op, sid, sidlen, &req, &err); break;
    case 6: { /* redaction of an arbitrary form body */
        tv_buf red = {NULL, 0, 0};
        FZ_ASSERT(tv_redact_form(sid, sidlen, &red) == 0);
        FZ_ASSERT(red.data != NULL && strlen(red.data) <= red.len);
        tv_buf_free(&red);
        rc = 1;
        break;
    }
    case 7: { /* any absolute URL's origin, and comparisons */
        tv_origin u;
        if (tv_url_origin(sid, sidlen, &u, &err) == 0) {
            (void)tv_origin_equal(&o, &u);
            (void)tv_origin_is_loopback(&u);
        } else {
            fz_check_arg_err(&err);
        }
        rc = 1;
        break;
    }
    default: {
        tv_str sv = {svc, slen}, iv = {idn, ilen}, xv = {sid, sidlen};
        tv_str path[TV_MAX_PATH_PARAMS];
        for (size_t k = 0; k < tv_operation_npath(op); k++)
            path[k] = *fz_rq_path_field(&op->path_params[k], &sv, &iv, &xv);
        rc = tv_build(&o, op, path, kv, nkv, &req, &err);
        if (foreign) FZ_ASSERT(rc == -1); /* a parameter of another operation */
        break;
    }
    }

    if (rc == 0 && mode == 5) {
        FZ_ASSERT(err.kind == TV_OK);
        fz_check_page_request(&o, page_op, &req);
    } else if (rc == 0) {
        FZ_ASSERT(err.kind == TV_OK);
        FZ_ASSERT(req.op == op && req.method == op->method);
        FZ_ASSERT(req.url.data && strlen(req.url.data) == req.url.len);
        FZ_ASSERT(strncmp(req.url.data, o.base, strlen(o.base)) == 0);
        for (size_t i = 0; i < req.url.len; i++) FZ_ASSERT(fz_url_char((unsigned char)req.url.data[i]));
        for (const tv_param_spec *p = set; p->name; p++) { /* required ones were given */
            if (!(p->flags & TV_PF_REQUIRED)) continue;
            size_t i = 0;
            while (i < nkv && kv[i].spec != p) i++;
            FZ_ASSERT(i < nkv);
        }
        const char *q = strchr(req.url.data, '?');
        if (q) fz_check_form(q + 1, req.url.len - (size_t)(q + 1 - req.url.data), set, kv, nkv, 1, 0);
        else fz_check_form("", 0, set, kv, nkv, 1, 0);
        if (op->method == TV_POST && (op->flags & TV_OPF_JSON_BODY)) {
            /* a JSON body (the Passkeys rows): one JSON object, nothing in the query */
            cJSON *j = cJSON_ParseWithLength(req.body.data ? req.body.data : "", req.body.len);
            FZ_ASSERT(j != NULL && cJSON_IsObject(j));
            cJSON_Delete(j);
            tv_buf red = {NULL, 0, 0}; /* what a log shows: JSON too */
            FZ_ASSERT(tv_redact_body(&req, &red) == 0);
            j = cJSON_ParseWithLength(red.data ? red.data : "", red.len);
            FZ_ASSERT(j != NULL && cJSON_IsObject(j));
            cJSON_Delete(j);
            tv_buf_free(&red);
        } else if (op->method == TV_POST) {
            for (size_t i = 0; i < req.body.len; i++) FZ_ASSERT(fz_url_char((unsigned char)req.body.data[i]));
            fz_check_form(req.body.data ? req.body.data : "", req.body.len, set, kv, nkv, 0, 0);
            tv_buf red = {NULL, 0, 0};
            FZ_ASSERT(tv_redact_form(req.body.data ? req.body.data : "", req.body.len, &red) == 0);
            fz_check_form(red.data, red.len, set, kv, nkv, 0, 1);
            tv_buf_free(&red);
        } else {
            FZ_ASSERT(req.body.len == 0);
            fz_check_form("", 0, set, kv, nkv, 0, 0); /* nothing was meant for a body */
        }
        /* the API's own next_page_url of this shape must be followable */
        if (op->returns == TV_RET_PAGE) fz_check_page_request(&o, op, &req);
    } else if (rc < 0) {
        fz_check_arg_err(&err);
        FZ_ASSERT(rc == -1);
    }
    tv_error_clear(&err);
    tv_request_free(&req);
    for (size_t i = 0; i < nkv; i++) free(vals[i]);
    free(base);
    free(svc);
    free(idn);
    free(sid);
    return 0;
}
