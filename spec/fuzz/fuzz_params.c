/* fuzz_params.c -- libFuzzer harness: the value rules of every parameter of
 * the operation table (tv_param_check, tv_check_date, tv_check_sid,
 * tv_check_identity; tv_validate.c) and their use by tv_build.
 *
 * Input: byte 0 picks a row of tv_operations (modulo their number), byte 1
 * one of its parameters (modulo their number; bit 0x80 with a row that has
 * path parameters: one of those instead); the rest is the value, in an
 * exact-size buffer without a NUL.
 *
 * Invariants: a refusal is TV_EARG naming the parameter; booleans, dates,
 * SIDs, identities, integers and enums are accepted exactly when an
 * independent reference check here accepts them; tv_build with that value
 * (and valid values for the path and the other required parameters)
 * succeeds exactly when the check does, refusing with the same parameter,
 * and puts the value percent-encoded under its key in the query (TV_PF_QUERY)
 * or in the form body. */
#include "fuzz.h"
#include "tv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fz_pa_digit(char c) { return c >= '0' && c <= '9'; }
static int fz_pa_hex(char c) { return fz_hex((unsigned char)c) >= 0; }
static int fz_pa_alnum(char c) { return fz_pa_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

static int fz_pa_num(const char *s, size_t n) {
    int v = 0;
    for (size_t i = 0; i < n; i++) v = v * 10 + (s[i] - '0');
    return v;
}

/* RFC 3339 date-time as tv_validate.h states it: a shape, then calendar
 * ranges (years from 1970, a leap second allowed, offsets up to 23:59). */
static int fz_pa_date(const char *s, size_t n) {
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    if (n < 20) return 0;
    for (size_t i = 0; i < 19; i++) {
        if (shape[i] == 'd') {
            if (!fz_pa_digit(s[i])) return 0;
        } else if (shape[i] == 'T') {
            if (s[i] != 'T' && s[i] != 't') return 0;
        } else if (s[i] != shape[i]) {
            return 0;
        }
    }
    size_t i = 19;
    if (s[i] == '.') {
        size_t f = ++i;
        while (i < n && fz_pa_digit(s[i])) i++;
        if (i == f || i - f > 9) return 0;
    }
    int oh = 0, om = 0;
    if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z')) {
    } else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && fz_pa_digit(s[i + 1]) && fz_pa_digit(s[i + 2]) &&
               s[i + 3] == ':' && fz_pa_digit(s[i + 4]) && fz_pa_digit(s[i + 5])) {
        oh = fz_pa_num(s + i + 1, 2);
        om = fz_pa_num(s + i + 4, 2);
    } else {
        return 0;
    }
    int y = fz_pa_num(s, 4), mo = fz_pa_num(s + 5, 2), d = fz_pa_num(s + 8, 2);
    int h = fz_pa_num(s + 11, 2), mi = fz_pa_num(s + 14, 2), se = fz_pa_num(s + 17, 2);
    if (y < 1970 || mo < 1 || mo > 12 || d < 1) return 0;
    int dim = mo == 2 ? ((y % 400 == 0 || (y % 100 != 0 && y % 4 == 0)) ? 29 : 28)
                      : (mo == 4 || mo == 6 || mo == 9 || mo == 11) ? 30 : 31;
    return d <= dim && h < 24 && mi < 60 && se <= 60 && oh < 24 && om < 60;
}

static int fz_pa_sid(const char *prefix, const char *s, size_t n) {
    if (n != 34 || s[0] != prefix[0] || s[1] != prefix[1]) return 0;
    for (size_t i = 2; i < n; i++)
        if (!fz_pa_hex(s[i])) return 0;
    return 1;
}

static int fz_pa_identity(const char *s, size_t n) {
    if (n < 8 || n > 64) return 0;
    int prev_dash = 1; /* no leading dash */
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '-') {
            if (prev_dash) return 0;
            prev_dash = 1;
        } else if (fz_pa_alnum(s[i])) {
            prev_dash = 0;
        } else {
            return 0;
        }
    }
    return !prev_dash;
}

static int fz_pa_bool(const char *s, size_t n) {
    static const char *const words[] = {"true", "false"};
    for (int w = 0; w < 2; w++) {
        size_t k = strlen(words[w]);
        if (n != k) continue;
        size_t i = 0;
        while (i < k && (s[i] | 0x20) == words[w][i]) i++;
        if (i == k) return 1;
    }
    return 0;
}

/* -1: no reference for this type (text, JSON). */
static int fz_pa_reference(const tv_param_spec *p, const char *s, size_t n) {
    switch (p->type) {
    case TV_PT_BOOL: return fz_pa_bool(s, n);
    case TV_PT_DATE: return fz_pa_date(s, n);
    case TV_PT_SID: return fz_pa_sid(p->prefix, s, n);
    case TV_PT_IDENTITY: return fz_pa_identity(s, n);
    case TV_PT_ENUM:
        for (const char *const *e = p->enums; *e; e++)
            if (strlen(*e) == n && memcmp(*e, s, n) == 0) return 1;
        return 0;
    case TV_PT_INT: {
        size_t i = n && s[0] == '-';
        if (i == n || n - i > 18) return 0;
        long long v = 0;
        for (size_t k = i; k < n; k++) {
            if (!fz_pa_digit(s[k])) return 0;
            v = v * 10 + (s[k] - '0');
        }
        if (i) v = -v;
        return v >= p->min && v <= p->max;
    }
    default: return -1;
    }
}

/* A value every rule of p accepts (static storage). */
static const char *fz_pa_valid(const tv_param_spec *p) {
    static char buf[8][300];
    static int slot;
    char *b = buf[slot++ & 7];
    switch (p->type) {
    case TV_PT_INT: snprintf(b, 300, "%ld", p->min); return b;
    case TV_PT_ENUM: return p->enums[0];
    case TV_PT_JSON: return "{}";
    case TV_PT_BOOL: return "true";
    case TV_PT_DATE: return "2026-01-31T12:00:00Z";
    case TV_PT_SID: snprintf(b, 300, "%s0123456789abcdef0123456789abcdef", p->prefix); return b;
    case TV_PT_IDENTITY: return "user-0123-abcd";
    default: {
        switch (p->format) { /* a text format's own valid value */
        case TV_FMT_E164: case TV_FMT_E164_OR_EMAIL: return "+15551234567";
        case TV_FMT_E164_PREFIX: return "+1555";
        case TV_FMT_COUNTRY: case TV_FMT_COUNTRY_OR_ALL: return "US";
        case TV_FMT_IP: return "192.0.2.1";
        case TV_FMT_UNIQUE_NAME: return "name-1";
        default: break;
        }
        size_t k = p->min > 1 ? (size_t)p->min : 1;
        if (k > 299) k = 299;
        memset(b, 'a', k);
        b[k] = '\0';
        return b;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    const tv_operation *op = &tv_operations[data[0] % tv_noperations];
    size_t np = 0, npath = tv_operation_npath(op);
    while (op->params[np].name) np++;
    size_t len = size - 2;
    char *val = malloc(len ? len : 1); /* exact size, no NUL */
    FZ_ASSERT(val != NULL);
    memcpy(val, data + 2, len);
    tv_error err = TV_ERROR_INIT;

    if ((np == 0 || (data[1] & 0x80)) && npath) { /* a path parameter's rule */
        const tv_param_spec *pp = &op->path_params[(data[1] & 0x7f) % npath];
        /* a path parameter is a whole tv_param_spec (a SID, an identity, FetchForm's enum) */
        int rc = tv_param_check(pp, val, len, &err);
        int ref = fz_pa_reference(pp, val, len);
        FZ_ASSERT(rc == 0 || rc == -1);
        if (ref >= 0) FZ_ASSERT((rc == 0) == ref); /* text formats (a PhoneNumber, a Country): no reference here */
        if (rc) {
            fz_check_arg_err(&err);
            FZ_ASSERT(strcmp(err.param, pp->name) == 0);
        }
        tv_error_clear(&err);
        free(val);
        return 0;
    }
    if (np == 0) { /* list_service and friends have params; create_service has no path */
        free(val);
        return 0;
    }
    const tv_param_spec *p = &op->params[(data[1] & 0x7f) % np];
    int rc = tv_param_check(p, val, len, &err);
    FZ_ASSERT(rc == 0 || rc == -1);
    if (rc) {
        fz_check_arg_err(&err);
        FZ_ASSERT(strcmp(err.param, p->name) == 0);
    } else {
        FZ_ASSERT(err.kind == TV_OK);
    }
    int ref = fz_pa_reference(p, val, len);
    if (ref >= 0) {
        if ((rc == 0) != ref)
            fprintf(stderr, "%s.%s: check %d, reference %d for \"%.*s\"\n", op->name, p->name, rc, ref,
                    (int)(len > 80 ? 80 : len), val);
        FZ_ASSERT((rc == 0) == ref);
    }
    tv_error_clear(&err);

    /* the same value through tv_build (a form or query pair; a JSON body's
     * members are nested objects, which fuzz_request's JSON check covers) */
    if (op->flags & TV_OPF_JSON_BODY) {
        free(val);
        return 0;
    }
    tv_origin o;
    FZ_ASSERT(tv_origin_parse(TV_DEFAULT_BASE_URL, strlen(TV_DEFAULT_BASE_URL), &o, &err) == 0);
    tv_str path[TV_MAX_PATH_PARAMS];
    char pbuf[TV_MAX_PATH_PARAMS][40];
    for (size_t k = 0; k < npath; k++) {
        const tv_param_spec *pp = &op->path_params[k];
        snprintf(pbuf[k], sizeof pbuf[k], "%s", fz_pa_valid(pp));
        path[k].s = pbuf[k];
        path[k].len = strlen(pbuf[k]);
    }
    tv_kv kv[64];
    size_t n = 0;
    /* of a one_of set (VerificationCheck's To or VerificationSid) the first is
     * given, unless p is one of the set */
    const char *first_of = op->one_of ? op->one_of[0] : NULL;
    for (const char *const *k = op->one_of; k && *k; k++)
        if (strcmp(*k, p->key) == 0) first_of = NULL;
    for (const tv_param_spec *q = op->params; q->name && n < 63; q++)
        if (((q->flags & TV_PF_REQUIRED) || (first_of && strcmp(first_of, q->key) == 0)) && q != p) {
            kv[n].spec = q;
            kv[n].val = fz_pa_valid(q);
            kv[n].len = strlen(kv[n].val);
            n++;
        }
    kv[n].spec = p;
    kv[n].val = val;
    kv[n].len = len;
    n++;
    tv_request req;
    memset(&req, 0, sizeof req);
    int brc = tv_build(&o, op, path, kv, n, &req, &err);
    FZ_ASSERT(brc == rc);
    if (brc) {
        fz_check_arg_err(&err);
        if (strcmp(err.param, p->name) != 0)
            fprintf(stderr, "%s: build refused %s, not %s: %s\n", op->name, err.param, p->name, err.message);
        FZ_ASSERT(strcmp(err.param, p->name) == 0);
    } else {
        /* "Key=value" percent-encoded, in the right place */
        tv_buf want = {NULL, 0, 0};
        FZ_ASSERT(tv_buf_add_pct(&want, p->key, strlen(p->key)) == 0 && tv_buf_add(&want, "=", 1) == 0 &&
                  tv_buf_add_pct(&want, val, len) == 0);
        const char *q = strchr(req.url.data, '?');
        const char *where = (p->flags & TV_PF_QUERY) ? (q ? q + 1 : "") : (req.body.data ? req.body.data : "");
        const char *other = (p->flags & TV_PF_QUERY) ? (req.body.data ? req.body.data : "") : (q ? q + 1 : "");
        int found = 0;
        for (const char *s = where; *s;) { /* as a whole pair */
            const char *e = strchr(s, '&');
            size_t l = e ? (size_t)(e - s) : strlen(s);
            if (l == want.len && memcmp(s, want.data, l) == 0) found = 1;
            s += l + (e ? 1 : 0);
        }
        FZ_ASSERT(found);
        FZ_ASSERT(strstr(other, want.data) == NULL || want.len < 4);
        if (p->flags & TV_PF_SECRET) { /* and hidden from the log copy */
            tv_buf red = {NULL, 0, 0};
            FZ_ASSERT(tv_redact_form(req.body.data, req.body.len, &red) == 0);
            FZ_ASSERT(strstr(red.data, "[REDACTED]") != NULL);
            tv_buf_free(&red);
        }
        tv_buf_free(&want);
    }
    tv_error_clear(&err);
    tv_request_free(&req);
    free(val);
    return 0;
}
