/* test_jcursor.c -- the streaming cursor (tv_jcursor, tv_response.c) agrees
 * with tv_parse_response: whenever the cursor completes (TV_JEV_END), the
 * whole-document parse succeeds too and the members and elements it handed
 * out rebuild exactly the same tree (same order, duplicates included).
 * Hand-written edge cases, then many deterministic random mutations of a
 * small page and of a factor. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>

#include "ctest.h"
#include "tv.h"

#define OP_FETCH tv_operation_by_name("fetch_factor")
#define OP_LIST tv_operation_by_name("list_factor")

/* Structural equality: types, keys, values and child order. */
static int same(const cJSON *a, const cJSON *b) {
    if (!a || !b) return a == b;
    if ((a->type & 0xFF) != (b->type & 0xFF)) return 0;
    if ((a->string == NULL) != (b->string == NULL)) return 0;
    if (a->string && strcmp(a->string, b->string) != 0) return 0;
    switch (a->type & 0xFF) {
    case cJSON_String:
        if (strcmp(a->valuestring, b->valuestring) != 0) return 0;
        break;
    case cJSON_Number:
        if (memcmp(&a->valuedouble, &b->valuedouble, sizeof a->valuedouble) != 0) return 0;
        break;
    default: break;
    }
    const cJSON *x = a->child, *y = b->child;
    for (; x && y; x = x->next, y = y->next)
        if (!same(x, y)) return 0;
    return x == NULL && y == NULL;
}

static int depth_of(const cJSON *j) {
    int d = 0;
    for (const cJSON *c = j ? j->child : NULL; c; c = c->next) {
        int k = depth_of(c);
        if (k > d) d = k;
    }
    return j && ((j->type & 0xFF) == cJSON_Array || (j->type & 0xFF) == cJSON_Object) ? d + 1 : d;
}

static int n_end, n_fallback, n_fallback_valid, n_bad;

/* One failed expectation of a case (counted; the group CHECKs the count). */
#define EXPECT(cond) do { if (!(cond)) { n_bad++; \
    if (verbose) fprintf(stderr, "%s:%d: EXPECT failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)

/* Run the cursor over body; 1 when it completed. */
static int run_case(const tv_operation *op, const char *body, size_t len, int verbose) {
    tv_jcursor cur;
    tv_jcursor_init(&cur, op, body, len);
    cJSON *rebuilt = cJSON_CreateObject(), *arr = NULL;
    tv_jev ev;
    int steps = 0;
    for (;;) {
        cJSON *it = NULL;
        ev = tv_jcursor_next(&cur, &it);
        if (++steps > 1000000) break;
        if (ev == TV_JEV_MEMBER) cJSON_AddItemToArray(rebuilt, it); /* keeps it->string: a member */
        else if (ev == TV_JEV_ARRAY) cJSON_AddItemToArray(rebuilt, arr = it);
        else if (ev == TV_JEV_ELEMENT) EXPECT(arr && cJSON_AddItemToArray(arr, it));
        else if (ev == TV_JEV_ARRAY_END) arr = NULL;
        else break;
    }
    EXPECT(ev == TV_JEV_END || ev == TV_JEV_FALLBACK);
    cJSON *it = (cJSON *)1;
    EXPECT(tv_jcursor_next(&cur, &it) == TV_JEV_FALLBACK && it == NULL); /* stays finished */

    tv_request req;
    memset(&req, 0, sizeof req);
    req.op = op;
    req.method = op->method;
    tv_response resp;
    memset(&resp, 0, sizeof resp);
    resp.status = 200;
    resp.retry_after = -1;
    resp.body.data = (char *)body;
    resp.body.len = len;
    cJSON *tree = NULL;
    tv_error err = TV_ERROR_INIT;
    int rc = tv_parse_response(&req, &resp, &tree, &err);
    if (ev == TV_JEV_END) {
        n_end++;
        if (rc != 0) {
            /* only the nesting limit, which the cursor leaves to its caller */
            EXPECT(depth_of(rebuilt) >= 999);
        } else {
            int ok = same(tree, rebuilt);
            EXPECT(ok);
            if (!ok) fprintf(stderr, "differs: %.*s\n", (int)(len > 300 ? 300 : len), body);
        }
    } else {
        n_fallback++;
        if (rc == 0) n_fallback_valid++;
    }
    cJSON_Delete(tree);
    cJSON_Delete(rebuilt);
    tv_error_clear(&err);
    return ev == TV_JEV_END;
}

#define RUN(op, s) run_case(op, s, sizeof(s) - 1, 1)

static const char factor[] =
    "{\"sid\":\"YF0123456789abcdef0123456789abcdef\",\"account_sid\":\"AC0123456789abcdef0123456789abcdef\","
    "\"friendly_name\":\"Pixel \\u00e9 \\\"8\\\"\",\"status\":\"verified\",\"factor_type\":\"push\","
    "\"config\":{\"sdk_version\":\"1.0\",\"notification_platform\":\"fcm\",\"time_step\":30,\"skew\":-1.5e2},"
    "\"metadata\":null,\"tags\":[1,true,false,null,\"x\",[],{}],\"url\":\"https://verify.twilio.com/v2/x\"}";

static void edge_cases(void) {
    int bad0 = n_bad;
    CHECK(RUN(OP_FETCH, "{\"sid\":\"YF1\"}"));
    CHECK(RUN(OP_FETCH, " \t\r\n{ \"sid\" : \"YF1\" , \"x\" : [ ] } trailing garbage"));
    CHECK(RUN(OP_FETCH, "\x01{\x02\"sid\"\x1f:\"a\"}")); /* cJSON: every byte <= 32 is whitespace */
    CHECK(RUN(OP_FETCH, "\xEF\xBB\xBF{\"sid\":\"a\"}"));
    CHECK(!RUN(OP_FETCH, "\xEF\xBB\xBF{}"));  /* the BOM is skipped, but {} has no sid */
    CHECK(!RUN(OP_FETCH, "{\"sid\":\xEF\xBB\xBF\"a\"}")); /* a BOM is not whitespace inside */
    CHECK(!RUN(OP_FETCH, "{\"x\":[\xEF\xBB\xBF 1],\"sid\":\"a\"}"));
    CHECK(!RUN(OP_FETCH, ""));
    CHECK(!RUN(OP_FETCH, "{}"));
    CHECK(!RUN(OP_FETCH, "[1,2,3]"));
    CHECK(!RUN(OP_FETCH, "{\"sid\":\"a\",}"));
    CHECK(!RUN(OP_FETCH, "{\"sid\":\"a\",\"x\":[1,]}"));
    CHECK(!RUN(OP_FETCH, "{\"sid\" \"a\"}"));
    CHECK(!RUN(OP_FETCH, "{\"sid\":\"a\""));
    CHECK(!RUN(OP_FETCH, "{\"sid\":\"a\",\"x\":[1,2"));
    CHECK(!RUN(OP_FETCH, "{sid:\"a\"}"));
    CHECK(!RUN(OP_FETCH, "{\"sid\":1}"));
    CHECK(!RUN(OP_FETCH, "{\"sid\":null}"));
    CHECK(RUN(OP_FETCH, "{\"sid\":\"a\",\"sid\":1}"));    /* the first occurrence decides, as cJSON's lookup */
    CHECK(!RUN(OP_FETCH, "{\"sid\":1,\"sid\":\"a\"}"));
    CHECK(RUN(OP_FETCH, "{\"\\u0073id\":\"a\"}"));        /* escapes in keys */
    CHECK(RUN(OP_FETCH, "{\"sid\\u0000x\":\"a\"}"));      /* a NUL ends the key, in both */
    CHECK(RUN(OP_FETCH, factor));
    CHECK(RUN(OP_LIST, "{\"factors\":[],\"meta\":{}}"));
    CHECK(RUN(OP_LIST, "{\"meta\":{\"page\":0},\"factors\":[{\"a\":1},[2],3,null,\"s\"],\"extra\":[[1],[2]]}"));
    CHECK(!RUN(OP_LIST, "{\"factors\":{},\"meta\":{}}"));
    CHECK(!RUN(OP_LIST, "{\"factors\":[]}"));
    CHECK(!RUN(OP_LIST, "{\"factors\":null,\"meta\":{}}"));
    CHECK(!RUN(OP_LIST, "{\"factors\":[] ,\"meta\":[]}"));
    CHECK(RUN(OP_LIST, "{\"factors\":[1],\"factors\":{},\"meta\":{}}"));
    /* nesting: elements start two levels down; the whole parse stops at 1000 */
    for (int d = 990; d <= 1003; d += 1) {
        size_t n = (size_t)d * 2 + 64;
        char *b = malloc(n);
        size_t k = (size_t)snprintf(b, n, "{\"meta\":{},\"factors\":[");
        for (int i = 0; i < d; i++) b[k++] = '[';
        for (int i = 0; i < d; i++) b[k++] = ']';
        k += (size_t)snprintf(b + k, n - k, "]}");
        run_case(OP_LIST, b, k, 1);
        free(b);
    }
    CHECK_INT(n_bad - bad0, 0);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void mutations(const tv_operation *op, const char *seed, int count) {
    static const char alphabet[] = "{}[],:\"\\ \t\n0123456789.-+eEtruefalsn\x01\xEF\xBB\xBF";
    size_t slen = strlen(seed);
    char *buf = malloc(slen * 2 + 64);
    for (int i = 0; i < count; i++) {
        memcpy(buf, seed, slen);
        size_t len = slen;
        int edits = 1 + (int)(next() % 3);
        for (int e = 0; e < edits; e++) {
            size_t at = len ? next() % len : 0;
            switch (next() % 4) {
            case 0: /* delete */
                if (len) {
                    memmove(buf + at, buf + at + 1, len - at - 1);
                    len--;
                }
                break;
            case 1: /* insert */
                if (len < slen * 2) {
                    memmove(buf + at + 1, buf + at, len - at);
                    buf[at] = alphabet[next() % (sizeof alphabet - 1)];
                    len++;
                }
                break;
            case 2: /* replace */
                if (len) buf[at] = alphabet[next() % (sizeof alphabet - 1)];
                break;
            default: /* truncate */
                len = at;
                break;
            }
        }
        run_case(op, buf, len, 0);
    }
    free(buf);
}

int main(void) {
    edge_cases();
    char page[4096];
    snprintf(page, sizeof page, "{\"factors\":[%s,%s,{\"sid\":\"YF2\",\"n\":[[1,2],{\"a\":null}]}],"
                                "\"meta\":{\"page\":0,\"next_page_url\":null,\"key\":\"factors\"}}",
             factor, factor);
    int ends0 = n_end, bad0 = n_bad;
    mutations(OP_LIST, page, 100000);
    CHECK_INT(n_bad - bad0, 0);
    bad0 = n_bad;
    mutations(OP_FETCH, factor, 100000);
    CHECK_INT(n_bad - bad0, 0);
    CHECK(n_end - ends0 > 1000); /* the mutations did exercise completed streams */
    CHECK_INT(n_fallback_valid, 0); /* and never handed back a body that parses as a whole */
    printf("(cursor completed %d, handed back %d of which %d parse as a whole)\n", n_end, n_fallback,
           n_fallback_valid);
    return ct_report("test_jcursor");
}
