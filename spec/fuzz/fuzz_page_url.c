/* fuzz_page_url.c -- libFuzzer harness: following a page URL the API
 * returned (tv_build_page_url, tv_request.c): the URL is parsed into a list
 * operation's path and query parameters, each checked, and the request
 * rebuilt -- so no dot segment, extra segment, foreign key or other origin
 * may ever reach the transport with the credentials.
 *
 * Input: byte 0 = op (low 3 bits modulo 5: 0 NULL, 1-4 list_factor,
 * list_challenge, list_entity, list_service), origin (bits 3-4: the default
 * https://verify.twilio.com, http://127.0.0.1:8080, http://[::1]:9,
 * https://verify.twilio.com:8443) and how the rest makes the URL: 0x20
 * tokens (each byte picks a piece of a URL from fz_pu_tokens after the
 * origin's base; 0xFF takes the next byte as it is), 0x40 the origin's base
 * followed by the rest, neither: the rest is the whole URL.  The URL is
 * given in an exact-size buffer without a NUL.
 *
 * Invariants: a refusal is TV_EARG with param "url"; a success is a GET of
 * a list operation (the one given, when given) on the origin's base, whose
 * input URL had that origin, only URL characters, and idempotent: the
 * built URL parses again into the same URL (fz_check_page_request); the
 * results with op NULL and with the op given agree.  Never crashes or
 * leaks. */
#include "fuzz.h"
#include "tv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fz_pu_origins[] = {"https://verify.twilio.com", "http://127.0.0.1:8080", "http://[::1]:9",
                                             "https://verify.twilio.com:8443"};
static const char *const fz_pu_lists[] = {"list_factor", "list_challenge", "list_entity", "list_service"};

static const char *const fz_pu_tokens[] = {
    "/", "/v2", "/Services", "/Entities", "/Factors", "/Challenges", "/VA0123456789abcdef0123456789abcdef",
    "/user-0123-abcd", "/YF0123456789abcdef0123456789abcdef", "?", "&", "=", "PageSize=", "Page=",
    "PageToken=", "Status=", "Order=", "FactorSid=", "50", "0", "1001", "-1", "pending", "asc", "..", ".",
    "%2e", "%2E", "%2F", "%", "%zz", "+", "%20", "#", "@", ":443", ":8443", "https://verify.twilio.com",
    "http://127.0.0.1:8080", "//", "\\", " ", "Foo=1", "YF0123456789abcdef0123456789abcdef", "%59F",
    "/Identity", "/../", "/./", "PT", "%00", "\xc3\xa9", "\r\n", "/2010-04-01", "/Accounts",
    "/AC00000000000000000000000000000000", "/Calls", "%2e%2e", "%2E.", "VA", "/v2/Services", "expired",
    "desc", "PageSize=1000&Page=2147483647", "/Entities/../Calls", "HTTPS://VERIFY.TWILIO.COM", "\xff",
};
#define FZ_PU_NTOK (sizeof fz_pu_tokens / sizeof fz_pu_tokens[0])

static int fz_pu_add(char **buf, size_t *len, size_t *cap, const char *s, size_t n) {
    if (n == 0) return 0;
    if (*len + n > *cap) {
        size_t nc = (*len + n) * 2 + 16;
        char *nb = realloc(*buf, nc);
        FZ_ASSERT(nb != NULL);
        *buf = nb;
        *cap = nc;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int b0 = data[0];
    int which = (b0 & 7) % 5;
    const tv_operation *op = which ? tv_operation_by_name(fz_pu_lists[which - 1]) : NULL;
    FZ_ASSERT(which == 0 || (op && op->returns == TV_RET_PAGE));
    const char *base = fz_pu_origins[(b0 >> 3) & 3];
    tv_origin o;
    tv_error err = TV_ERROR_INIT;
    FZ_ASSERT(tv_origin_parse(base, strlen(base), &o, &err) == 0);

    /* the URL, in an exact-size copy */
    char *tmp = NULL;
    size_t len = 0, cap = 0;
    if (b0 & 0x20) {
        fz_pu_add(&tmp, &len, &cap, o.base, strlen(o.base));
        for (size_t i = 1; i < size; i++) {
            if (data[i] == 0xFF && i + 1 < size) {
                fz_pu_add(&tmp, &len, &cap, (const char *)data + i + 1, 1);
                i++;
            } else {
                const char *t = fz_pu_tokens[data[i] % FZ_PU_NTOK];
                fz_pu_add(&tmp, &len, &cap, t, strlen(t));
            }
        }
    } else {
        if (b0 & 0x40) fz_pu_add(&tmp, &len, &cap, o.base, strlen(o.base));
        fz_pu_add(&tmp, &len, &cap, (const char *)data + 1, size - 1);
    }
    char *url = malloc(len ? len : 1);
    FZ_ASSERT(url != NULL);
    if (len) memcpy(url, tmp, len);
    free(tmp);

    tv_request any, one;
    memset(&any, 0, sizeof any);
    memset(&one, 0, sizeof one);
    tv_error e1 = TV_ERROR_INIT;
    int rc_any = tv_build_page_url(&o, NULL, url, len, &any, &err);
    int rc_one = op ? tv_build_page_url(&o, op, url, len, &one, &e1) : -1;

    if (rc_any == 0) {
        FZ_ASSERT(err.kind == TV_OK);
        fz_check_page_request(&o, NULL, &any);
        tv_origin in;
        tv_error e2 = TV_ERROR_INIT;
        FZ_ASSERT(tv_url_origin(url, len, &in, &e2) == 0 && tv_origin_equal(&in, &o));
        tv_error_clear(&e2);
    } else {
        FZ_ASSERT(rc_any == -1);
        fz_check_arg_err(&err);
        FZ_ASSERT(strcmp(err.param, "url") == 0);
    }
    if (op) {
        if (rc_one == 0) {
            FZ_ASSERT(e1.kind == TV_OK);
            fz_check_page_request(&o, op, &one);
            /* the op given changes which rows are tried, not the result */
            FZ_ASSERT(rc_any == 0 && any.op == op && any.url.len == one.url.len &&
                      memcmp(any.url.data, one.url.data, one.url.len) == 0);
        } else {
            FZ_ASSERT(rc_one == -1);
            fz_check_arg_err(&e1);
            FZ_ASSERT(strcmp(e1.param, "url") == 0);
            FZ_ASSERT(rc_any != 0 || any.op != op);
        }
    }
    tv_error_clear(&err);
    tv_error_clear(&e1);
    tv_request_free(&any);
    tv_request_free(&one);
    free(url);
    return 0;
}
