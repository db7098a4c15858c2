/* fuzz_request.c -- libFuzzer harness: URL and form building from arbitrary
 * parameter values (tv_request.c, tv_buf.c, tv_validate.c).
 *
 * Input: byte 0 = mode (low 3 bits: fetch, delete, update, list, create,
 * list_url, redact, url_origin) and flags (0x08 canned service SID, 0x10
 * canned identity, 0x20 canned factor SID); then fields (see fuzz.h):
 * base URL, service SID, identity, factor SID, then key/value pairs (the
 * key is looked up by wire name, e.g. "FriendlyName"; an unknown key picks
 * a parameter of the set by its first byte).  Every field is an exact-size
 * buffer without a NUL.
 *
 * Invariants: failures are TV_EARG naming a parameter; a built URL starts
 * with the origin and holds only URL characters; the query/form decode back
 * to exactly the given values in the set's order; redaction hides secret
 * values only; a built list URL is accepted by tv_build_list_url. */
#include "fuzz.h"
#include "tv.h"

#define FZ_MAX_KV 20

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fz_svc[] = "VA0123456789abcdef0123456789ABCDEF";
static const char fz_idn[] = "user-0123-abcd";
static const char fz_sid[] = "YF0123456789abcdef0123456789ABCDEF";

static int fz_url_char(int c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           strchr("-._~%/:?&=[]", c) != NULL;
}

static size_t fz_set_len(const tv_param_spec *set) {
    size_t n = 0;
    while (set[n].name) n++;
    return n;
}

/* Decode "k=v&k=v" (text of len n) and check it is exactly the given
 * parameters, in the set's order; `redacted`: secret values are
 * "[REDACTED]" (unencoded). */
static void fz_check_form(const char *s, size_t n, const tv_param_spec *set, const tv_kv *kv, size_t nkv,
                          int redacted) {
    size_t expect = 0, pos = 0;
    const tv_param_spec *last = NULL;
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
        const tv_param_spec *p = tv_param_by_key(set, buf);
        FZ_ASSERT(p != NULL);
        FZ_ASSERT(last == NULL || last < p); /* set order, each once */
        last = p;
        const tv_kv *given = NULL;
        for (size_t i = 0; i < nkv; i++)
            if (kv[i].spec == p) given = &kv[i];
        FZ_ASSERT(given != NULL);
        const char *v = eq + 1;
        size_t vraw = (size_t)(s + end - v);
        if (redacted && (p->flags & TV_PF_SECRET)) {
            FZ_ASSERT(vraw == 10 && memcmp(v, "[REDACTED]", 10) == 0);
        } else {
            size_t vlen = fz_pct_decode(v, vraw, buf, n);
            FZ_ASSERT(vlen == given->len && memcmp(buf, given->val, vlen) == 0);
        }
        expect++;
        pos = end + 1;
    }
    FZ_ASSERT(expect == nkv);
    free(buf);
}

static void fz_check_err(const tv_error *err) {
    FZ_ASSERT(err->kind == TV_EARG);
    FZ_ASSERT(err->param[0] != '\0');
    FZ_ASSERT(err->message[0] != '\0');
    FZ_ASSERT(memchr(err->message, '\0', sizeof err->message) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in in = {data, size};
    int flags = fz_byte(&in);
    int mode = flags & 7;
    size_t blen, slen, ilen, sidlen;
    char *base = fz_take(&in, &blen, 0);
    char *svc = fz_take(&in, &slen, 0);
    char *idn = fz_take(&in, &ilen, 0);
    char *sid = fz_take(&in, &sidlen, 0);
    if (flags & 0x08) { free(svc); svc = strdup(fz_svc); slen = sizeof fz_svc - 1; }
    if (flags & 0x10) { free(idn); idn = strdup(fz_idn); ilen = sizeof fz_idn - 1; }
    if (flags & 0x20) { free(sid); sid = strdup(fz_sid); sidlen = sizeof fz_sid - 1; }
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
        fz_check_err(&err);
        tv_error_clear(&err);
        FZ_ASSERT(tv_origin_parse(TV_DEFAULT_BASE_URL, strlen(TV_DEFAULT_BASE_URL), &o, &err) == 0);
    }

    const tv_param_spec *set = mode == 3 ? tv_params_list : mode == 4 ? tv_params_create : tv_params_update;
    size_t setn = fz_set_len(set);
    tv_kv kv[FZ_MAX_KV];
    char *vals[FZ_MAX_KV];
    size_t nkv = 0;
    while (in.n && nkv < FZ_MAX_KV) {
        size_t klen;
        char *key = fz_take(&in, &klen, 1);
        const tv_param_spec *p = tv_param_by_key(set, key);
        if (!p) p = &set[(klen ? (unsigned char)key[0] : 0) % setn];
        free(key);
        kv[nkv].spec = p;
        vals[nkv] = fz_take(&in, &kv[nkv].len, 0);
        kv[nkv].val = vals[nkv];
        nkv++;
    }

    tv_request req;
    memset(&req, 0, sizeof req);
    int rc = 0;
    switch (mode) {
    case 0: rc = tv_build_fetch(&o, svc, slen, idn, ilen, sid, sidlen, &req, &err); break;
    case 1: rc = tv_build_delete(&o, svc, slen, idn, ilen, sid, sidlen, &req, &err); break;
    case 2: rc = tv_build_update(&o, svc, slen, idn, ilen, sid, sidlen, kv, nkv, &req, &err); break;
    case 3: rc = tv_build_list(&o, svc, slen, idn, ilen, kv, nkv, &req, &err); break;
    case 4: rc = tv_build_create(&o, svc, slen, idn, ilen, kv, nkv, &req, &err); break;
    case 5: rc = tv_build_list_url(&o, sid, sidlen, &req, &err); break;
    case 6: { /* redaction of an arbitrary form body */
        tv_buf red = {NULL, 0, 0};
        FZ_ASSERT(tv_redact_form(sid, sidlen, &red) == 0);
        FZ_ASSERT(red.data != NULL && strlen(red.data) <= red.len);
        tv_buf_free(&red);
        rc = 1;
        break;
    }
    default: { /* any absolute URL's origin, and comparisons */
        tv_origin u;
        if (tv_url_origin(sid, sidlen, &u, &err) == 0) {
            (void)tv_origin_equal(&o, &u);
            (void)tv_origin_is_loopback(&u);
        } else {
            fz_check_err(&err);
        }
        rc = 1;
        break;
    }
    }

    if (rc == 0) {
        FZ_ASSERT(err.kind == TV_OK);
        FZ_ASSERT(req.url.data && strlen(req.url.data) == req.url.len);
        if (mode != 5) { /* a page URL is kept as given (scheme/host case and all) */
            FZ_ASSERT(strncmp(req.url.data, o.base, strlen(o.base)) == 0);
            for (size_t i = 0; i < req.url.len; i++) FZ_ASSERT(fz_url_char((unsigned char)req.url.data[i]));
        }
        FZ_ASSERT(req.method == (mode == 1 ? TV_DELETE : (mode == 2 || mode == 4) ? TV_POST : TV_GET));
        if (mode == 2 || mode == 4) {
            for (size_t i = 0; i < req.body.len; i++) FZ_ASSERT(fz_url_char((unsigned char)req.body.data[i]));
            fz_check_form(req.body.data ? req.body.data : "", req.body.len, set, kv, nkv, 0);
            tv_buf red = {NULL, 0, 0};
            FZ_ASSERT(tv_redact_form(req.body.data ? req.body.data : "", req.body.len, &red) == 0);
            fz_check_form(red.data, red.len, set, kv, nkv, 1);
            tv_buf_free(&red);
        } else {
            FZ_ASSERT(req.body.len == 0);
        }
        if (mode == 3) {
            const char *q = strchr(req.url.data, '?');
            if (q) fz_check_form(q + 1, req.url.len - (size_t)(q + 1 - req.url.data), set, kv, nkv, 0);
            else FZ_ASSERT(nkv == 0);
            /* the API's own next_page_url of this shape must be followable */
            tv_request again;
            memset(&again, 0, sizeof again);
            tv_error e2 = TV_ERROR_INIT;
            FZ_ASSERT(tv_build_list_url(&o, req.url.data, req.url.len, &again, &e2) == 0);
            FZ_ASSERT(again.url.len == req.url.len && memcmp(again.url.data, req.url.data, req.url.len) == 0);
            tv_request_free(&again);
            tv_error_clear(&e2);
        }
    } else if (rc < 0) {
        fz_check_err(&err);
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
