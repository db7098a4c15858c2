/* test_request.c -- request building and response parsing, no network. */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "ctest.h"
#include "tv.h"

#define SVC "VAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define YF "YFaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID "ff483d1ff591898a9942916050d2ca3f"
#define S(x) x, strlen(x)

static tv_origin origin(const char *url) {
    tv_origin o;
    tv_error err = TV_ERROR_INIT;
    if (tv_origin_parse(url, strlen(url), &o, &err)) fprintf(stderr, "origin: %s\n", err.message);
    tv_error_clear(&err);
    return o;
}

static const tv_operation *OP(const char *n) { return tv_operation_by_name(n); }
static const tv_param_spec *U(const char *n) { return tv_param_by_name(OP("update_factor")->params, n); }

/* path values, as tv_build takes them */
#define P3(a, b, c) ((const tv_str[]){{S(a)}, {S(b)}, {S(c)}})
#define P2(a, b) ((const tv_str[]){{S(a)}, {S(b)}})

static void test_origin(void) {
    tv_origin o = origin("https://verify.twilio.com");
    CHECK_STR(o.base, "https://verify.twilio.com");
    CHECK_INT(o.port, 443);
    o = origin("HTTP://LocalHost:8080/");
    CHECK_STR(o.base, "http://localhost:8080");
    CHECK(tv_origin_is_loopback(&o));
    o = origin("http://[::1]:9");
    CHECK_STR(o.base, "http://[::1]:9");
    tv_error err = TV_ERROR_INIT;
    tv_origin x;
    CHECK(tv_origin_parse(S("ftp://x"), &x, &err) == -1);
    CHECK_STR(err.param, "url");
    CHECK(tv_origin_parse(S("https://user:pw@host"), &x, &err) == -1);
    CHECK(tv_origin_parse(S("https://host/path"), &x, &err) == -1);
    CHECK(tv_origin_parse(S("https://host:99999"), &x, &err) == -1);
    CHECK(tv_origin_parse(S("https://ho st"), &x, &err) == -1);
    tv_error_clear(&err);
}

static void test_fetch_delete(void) {
    tv_origin o = origin("https://verify.twilio.com");
    tv_request req = {0};
    tv_error err = TV_ERROR_INIT;
    CHECK(tv_build(&o, OP("fetch_factor"), ((const tv_str[]){{S(SVC)}, {S(ID)}, {S(YF)}}), NULL, 0, &req, &err) == 0);
    CHECK_STR(req.url.data, "https://verify.twilio.com/v2/Services/" SVC "/Entities/" ID "/Factors/" YF);
    CHECK_INT(req.method, TV_GET);
    CHECK_INT(req.body.len, 0);
    CHECK(tv_build(&o, OP("delete_factor"), ((const tv_str[]){{S(SVC)}, {S("user-0001-abc")}, {S(YF)}}), NULL, 0, &req, &err) == 0);
    CHECK_INT(req.method, TV_DELETE);
    CHECK_STR(req.url.data, "https://verify.twilio.com/v2/Services/" SVC "/Entities/user-0001-abc/Factors/" YF);
    /* bad path parameters never build */
    CHECK(tv_build(&o, OP("fetch_factor"), ((const tv_str[]){{S("VAxyz")}, {S(ID)}, {S(YF)}}), NULL, 0, &req, &err) == -1);
    CHECK_STR(err.param, "service_sid");
    CHECK(tv_build(&o, OP("fetch_factor"), ((const tv_str[]){{S(SVC)}, {S("../../etc")}, {S(YF)}}), NULL, 0, &req, &err) == -1);
    CHECK_STR(err.param, "identity");
    CHECK(tv_build(&o, OP("fetch_factor"), ((const tv_str[]){{S(SVC)}, {S(ID)}, {S("YF%2F")}}), NULL, 0, &req, &err) == -1);
    CHECK_STR(err.param, "sid");
    CHECK(tv_build(&o, OP("fetch_factor"), ((const tv_str[]){{S(SVC)}, {"abcdefgh\0ij", 11}, {S(YF)}}), NULL, 0, &req, &err) == -1);
    CHECK_STR(err.param, "identity");
    tv_error_clear(&err);
    tv_request_free(&req);
}

static void test_update(void) {
    tv_origin o = origin("http://127.0.0.1:1234");
    tv_request req = {0};
    tv_error err = TV_ERROR_INIT;
    tv_kv kv[] = {
        {U("config_alg"), S("sha256")},
        {U("friendly_name"), S("Ann's phone & tablet=1")},
        {U("auth_payload"), S("123456")},
        {U("config_time_step"), S("30")},
        {U("config_skew"), S("1")},
        {U("config_code_length"), S("6")},
        {U("config_notification_token"), S("0123456789abcdef0123456789abcdef")},
        {U("config_sdk_version"), S("1.0")},
        {U("config_notification_platform"), S("fcm")},
    };
    CHECK(tv_build(&o, OP("update_factor"), P3(SVC, ID, YF), kv, 9, &req, &err) == 0);
    CHECK_INT(req.method, TV_POST);
    /* spec order, exact keys, percent-encoded */
    CHECK_STR(req.body.data,
              "AuthPayload=123456&FriendlyName=Ann%27s%20phone%20%26%20tablet%3D1"
              "&Config.NotificationToken=0123456789abcdef0123456789abcdef&Config.SdkVersion=1.0"
              "&Config.TimeStep=30&Config.Skew=1&Config.CodeLength=6&Config.Alg=sha256"
              "&Config.NotificationPlatform=fcm");
    /* only what was given */
    CHECK(tv_build(&o, OP("update_factor"), P3(SVC, ID, YF), kv + 1, 1, &req, &err) == 0);
    CHECK_STR(req.body.data, "FriendlyName=Ann%27s%20phone%20%26%20tablet%3D1");
    /* range and enum rules name the parameter */
    tv_kv bad1[] = {{U("config_time_step"), S("61")}};
    CHECK(tv_build(&o, OP("update_factor"), P3(SVC, ID, YF), bad1, 1, &req, &err) == -1);
    CHECK_STR(err.param, "config_time_step");
    CHECK(strstr(err.message, "between 20 and 60") != NULL);
    tv_kv bad2[] = {{U("config_alg"), S("md5")}};
    CHECK(tv_build(&o, OP("update_factor"), P3(SVC, ID, YF), bad2, 1, &req, &err) == -1);
    CHECK_STR(err.param, "config_alg");
    tv_kv bad3[] = {{U("friendly_name"), S("line\r\nX-Injected: 1")}};
    CHECK(tv_build(&o, OP("update_factor"), P3(SVC, ID, YF), bad3, 1, &req, &err) == -1);
    CHECK_STR(err.param, "friendly_name");
    tv_kv bad4[] = {{U("config_notification_token"), S("short")}};
    CHECK(tv_build(&o, OP("update_factor"), P3(SVC, ID, YF), bad4, 1, &req, &err) == -1);
    tv_kv bad5[] = {{U("friendly_name"), "\xff\xfe", 2}};
    CHECK(tv_build(&o, OP("update_factor"), P3(SVC, ID, YF), bad5, 1, &req, &err) == -1);
    CHECK(strstr(err.message, "UTF-8") != NULL);
    tv_error_clear(&err);
    tv_request_free(&req);
}

static void test_list(void) {
    tv_origin o = origin("https://verify.twilio.com");
    tv_request req = {0};
    tv_error err = TV_ERROR_INIT;
    const tv_param_spec *ps = tv_param_by_name(OP("list_factor")->params, "page_size");
    const tv_param_spec *pg = tv_param_by_name(OP("list_factor")->params, "page");
    const tv_param_spec *pt = tv_param_by_name(OP("list_factor")->params, "page_token");
    tv_kv kv[] = {{pt, S("PT a/b")}, {pg, S("2")}, {ps, S("50")}};
    CHECK(tv_build(&o, OP("list_factor"), P2(SVC, ID), kv, 3, &req, &err) == 0);
    CHECK_STR(req.url.data, "https://verify.twilio.com/v2/Services/" SVC "/Entities/" ID
                            "/Factors?PageSize=50&Page=2&PageToken=PT%20a%2Fb");
    CHECK(tv_build(&o, OP("list_factor"), P2(SVC, ID), NULL, 0, &req, &err) == 0);
    CHECK_STR(req.url.data, "https://verify.twilio.com/v2/Services/" SVC "/Entities/" ID "/Factors");
    tv_kv bad[] = {{ps, S("1001")}};
    CHECK(tv_build(&o, OP("list_factor"), P2(SVC, ID), bad, 1, &req, &err) == -1);
    CHECK_STR(err.param, "page_size");
    /* page URLs: same origin only */
    const char *good = "https://verify.twilio.com/v2/Services/" SVC "/Entities/" ID "/Factors?PageSize=50&Page=1&PageToken=PT1";
    CHECK(tv_build_page_url(&o, NULL, S(good), &req, &err) == 0);
    CHECK_STR(req.url.data, good);
    const char *evil = "https://evil.example.com/v2/Services/" SVC "/Entities/" ID "/Factors?Page=1";
    CHECK(tv_build_page_url(&o, NULL, S(evil), &req, &err) == -1);
    CHECK(strstr(err.message, "refusing") != NULL);
    const char *port = "https://verify.twilio.com:8443/v2/Services/" SVC "/Entities/" ID "/Factors";
    CHECK(tv_build_page_url(&o, NULL, S(port), &req, &err) == -1);
    const char *scheme = "http://verify.twilio.com/v2/Services/" SVC "/Entities/" ID "/Factors";
    CHECK(tv_build_page_url(&o, NULL, S(scheme), &req, &err) == -1);
    const char *userinfo = "https://verify.twilio.com@evil.com/v2/Services/" SVC "/Entities/" ID "/Factors";
    CHECK(tv_build_page_url(&o, NULL, S(userinfo), &req, &err) == -1);
    tv_error_clear(&err);
    tv_request_free(&req);
}

static int parse(const char *opname, tv_method m, long status, const char *body, cJSON **out, tv_error *err) {
    tv_request req = {0};
    req.op = OP(opname);
    req.method = m;
    tv_buf_adds(&req.url, "https://verify.twilio.com/v2/x");
    tv_response resp = {0};
    resp.retry_after = -1;
    resp.status = status;
    tv_buf_adds(&resp.body, body);
    int rc = tv_parse_response(&req, &resp, out, err);
    if (rc) tv_classify(m, err); /* as the call engine does with every failed answer */
    tv_request_free(&req);
    tv_response_free(&resp);
    return rc;
}

static void test_parse(void) {
    cJSON *out = NULL;
    tv_error err = TV_ERROR_INIT;
    CHECK(parse("fetch_factor", TV_GET, 200, "{\"sid\":\"" YF "\",\"status\":\"verified\"}", &out, &err) == 0);
    CHECK_STR(cJSON_GetObjectItem(out, "status")->valuestring, "verified");
    cJSON_Delete(out);
    CHECK(parse("delete_factor", TV_DELETE, 204, "", &out, &err) == 0);
    CHECK(out == NULL);
    /* Twilio error shape */
    CHECK(parse("fetch_factor", TV_GET, 404,
                "{\"code\":20404,\"message\":\"The requested resource was not found\",\"more_info\":"
                "\"https://www.twilio.com/docs/errors/20404\",\"status\":404,\"details\":{\"a\":1}}",
                &out, &err) == -1);
    CHECK_INT(err.kind, TV_EHTTP);
    CHECK_INT(err.status, 404);
    CHECK_INT(err.code, 20404);
    CHECK_STR(err.message, "The requested resource was not found");
    CHECK_STR(err.more_info, "https://www.twilio.com/docs/errors/20404");
    CHECK_STR(err.details, "{\"a\":1}");
    CHECK_STR(err.method, "GET");
    CHECK(!err.retryable);
    /* RFC 9457 shape */
    CHECK(parse("fetch_factor", TV_GET, 400,
                "{\"type\":\"https://www.twilio.com/docs/errors/60200\",\"title\":\"Invalid parameter\","
                "\"status\":400,\"code\":60200,\"detail\":\"Sid is invalid\"}",
                &out, &err) == -1);
    CHECK_INT(err.code, 60200);
    CHECK_STR(err.message, "Sid is invalid");
    CHECK_STR(err.more_info, "https://www.twilio.com/docs/errors/60200");
    /* non-JSON error keeps status and a bounded excerpt */
    char big[4000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    memcpy(big, "<html>", 6);
    CHECK(parse("fetch_factor", TV_GET, 502, big, &out, &err) == -1);
    CHECK_INT(err.status, 502);
    CHECK_INT(err.code, 0);
    CHECK(strncmp(err.body, "<html>", 6) == 0);
    CHECK_INT(strlen(err.body), TV_ERR_BODY_MAX);
    CHECK(err.retryable);
    CHECK(parse("update_factor", TV_POST, 502, big, &out, &err) == -1);
    CHECK(!err.retryable); /* POST may have been applied */
    CHECK(parse("update_factor", TV_POST, 429, "{\"code\":20429,\"message\":\"Too many\",\"status\":429}", &out, &err) == -1);
    CHECK(err.retryable);
    CHECK(parse("update_factor", TV_POST, 429, "{\"code\":60310,\"message\":\"Max attempts\",\"status\":429}", &out, &err) == -1);
    CHECK(!err.retryable);
    /* decode errors */
    CHECK(parse("fetch_factor", TV_GET, 200, "{\"sid\":\"YF", &out, &err) == -1);
    CHECK_INT(err.kind, TV_EDECODE);
    CHECK(parse("fetch_factor", TV_GET, 200, "[1,2,3]", &out, &err) == -1);
    CHECK_INT(err.kind, TV_EDECODE);
    CHECK(parse("list_factor", TV_GET, 200, "{\"factors\":{},\"meta\":{}}", &out, &err) == -1);
    CHECK_INT(err.kind, TV_EDECODE);
    CHECK(parse("fetch_factor", TV_GET, 200, "", &out, &err) == -1);
    CHECK_INT(err.kind, TV_EDECODE);
    tv_error_clear(&err);
}

static void test_retry_after(void) {
    CHECK(tv_parse_retry_after(S("3"), 0) == 3);
    CHECK(tv_parse_retry_after(S(" 120 "), 0) == 120);
    CHECK(tv_parse_retry_after(S("Sun, 06 Nov 1994 08:49:37 GMT"), 784111770) == 7);
    CHECK(tv_parse_retry_after(S("Sun, 06 Nov 1994 08:49:37 GMT"), 784111790) == 0);
    CHECK(tv_parse_retry_after(S("soon"), 0) < 0);
}

/* Issue 15, item 1: loopback is an address, never a name prefix. */
static int loopback(const char *url) {
    tv_origin o;
    tv_error err = TV_ERROR_INIT;
    int rc = tv_origin_parse(url, strlen(url), &o, &err);
    tv_error_clear(&err);
    return rc == 0 ? tv_origin_is_loopback(&o) : -1;
}

static void test_loopback_strict(void) {
    /* loopback */
    const char *yes[] = {"http://127.0.0.1", "http://127.0.0.1:8080", "http://127.255.255.254:1",
                         "http://127.0.0.0", "http://127.1.2.3/", "http://localhost:9", "http://LOCALHOST",
                         "http://[::1]:8080", "http://[0:0:0:0:0:0:0:1]", "http://[0000:0000::0001]",
                         "http://[::0:1]", "http://[0::1]", "http://[0:0:0:0:0:0::1]"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        int r = loopback(yes[i]);
        if (r != 1) fprintf(stderr, "expected loopback: %s (%d)\n", yes[i], r);
        CHECK(r == 1);
    }
    /* names that merely start like a loopback address, and non-canonical
     * numeric spellings (a resolver may read them as anything) */
    const char *no[] = {"http://127.attacker.example", "http://127.0.0.1.nip.io:8080", "http://127.0.0.1.",
                        "http://127.0.0.1x", "http://127.", "http://127", "http://127.1", "http://127.0.1",
                        "http://127.0.0.1.5", "http://127.0.0.01", "http://0177.0.0.1", "http://127.0.0.256",
                        "http://127.000.0.1", "http://127.0.0.1000", "http://0x7f.0.0.1", "http://0x7f000001",
                        "http://2130706433", "http://128.0.0.1", "http://126.0.0.1", "http://localhost.",
                        "http://localhost.attacker.example", "http://mylocalhost", "http://127-0-0-1.example",
                        "http://[::2]", "http://[::]", "http://[1::1]", "http://[::1:0]", "http://[::ffff:127.0.0.1]",
                        "http://[0:0:0:0:0:0:0:0:1]", "http://[:::1]", "http://[::1::]", "http://[00000::1]",
                        "http://[0:0:0:0:0:0:0:1:]", "http://[1:0:0:0:0:0:0:1]", "http://10.0.0.1"};
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
        int r = loopback(no[i]);
        if (r == 1) fprintf(stderr, "wrongly loopback: %s\n", no[i]);
        CHECK(r != 1);
    }
    /* and the client refuses them over plain http unless allow_http */
    tv_options opt = {0};
    opt.account_sid = "AC" "0123456789abcdef0123456789abcdef";
    opt.auth_token = "token";
    opt.max_retries = -1;
    const char *bad[] = {"http://127.attacker.example", "http://127.0.0.1.nip.io:8080"};
    for (size_t i = 0; i < 2; i++) {
        tv_error err = TV_ERROR_INIT;
        opt.base_url = bad[i];
        opt.allow_http = 0;
        tv_client *c = tv_client_new(&opt, &err);
        CHECK(c == NULL);
        CHECK_INT(err.kind, TV_EARG);
        CHECK_STR(err.param, "base_url");
        tv_client_free(c);
        tv_error_clear(&err);
        opt.allow_http = 1;
        c = tv_client_new(&opt, &err);
        CHECK(c != NULL);
        tv_client_free(c);
        tv_error_clear(&err);
    }
}

/* Issue 15, item 3: a POST is never retried on a bare 429 (it may have been
 * processed); 20429 means it was not, so that one is. */
static void test_classify_post_429(void) {
    cJSON *out = NULL;
    tv_error err = TV_ERROR_INIT;
    const char *posts[] = {"create_factor", "update_factor", "create_challenge", "update_challenge",
                           "create_entity", "create_service", "update_service"};
    for (size_t i = 0; i < sizeof posts / sizeof *posts; i++) {
        CHECK(OP(posts[i]) != NULL);
        if (!OP(posts[i])) continue;
        CHECK(parse(posts[i], TV_POST, 429, "<html>Too Many Requests</html>", &out, &err) == -1);
        CHECK_INT(err.code, 0);
        CHECK(!err.retryable);
        CHECK(parse(posts[i], TV_POST, 429, "", &out, &err) == -1);
        CHECK(!err.retryable);
        CHECK(parse(posts[i], TV_POST, 429, "{\"message\":\"slow down\",\"status\":429}", &out, &err) == -1);
        CHECK(!err.retryable);
        CHECK(parse(posts[i], TV_POST, 429, "{\"code\":20429,\"message\":\"Too many\",\"status\":429}", &out,
                    &err) == -1);
        CHECK(err.retryable);
    }
    /* idempotent methods keep retrying a bare 429 */
    CHECK(parse("fetch_factor", TV_GET, 429, "<html>Too Many Requests</html>", &out, &err) == -1);
    CHECK(err.retryable);
    CHECK(parse("delete_factor", TV_DELETE, 429, "", &out, &err) == -1);
    CHECK(err.retryable);
    CHECK(parse("fetch_factor", TV_GET, 429, "{\"code\":60310,\"status\":429}", &out, &err) == -1);
    CHECK(!err.retryable);
    tv_error_clear(&err);
}

/* Issue 15, item 4: hostile Retry-After values.  Run under
 * -fsanitize=address,undefined (make asan) this must report nothing. */
static void test_retry_after_hostile(void) {
    /* impossible dates and times */
    const char *bad[] = {
        "Sun, 31 Feb 2026 00:00:00 GMT", "Mon, 30 Feb 2026 00:00:00 GMT", "Sat, 29 Feb 2025 00:00:00 GMT",
        "Thu, 31 Apr 2026 00:00:00 GMT", "Thu, 00 Jan 2026 00:00:00 GMT", "Thu, 32 Jan 2026 00:00:00 GMT",
        "Thu, 01 Jan 2026 25:00:00 GMT", "Thu, 01 Jan 2026 24:00:00 GMT", "Thu, 01 Jan 2026 23:60:00 GMT",
        "Thu, 01 Jan 2026 23:59:61 GMT", "Thu, 01 Jan 2026 99:99:99 GMT", "Fri, 01 Jan 2026 00:00:00 GMT",
        /* overflow bait: huge, negative and INT_MIN-ish years and fields */
        "Sun, 06 Nov -2147483648 08:49:37 GMT", "Sun, 06 Nov -2147483647 08:49:37 GMT",
        "Sun, 06 Nov 2147483647 08:49:37 GMT", "Sun, 06 Nov 99999999999999999999 08:49:37 GMT",
        "Sun, 06 Nov 1994 -2147483648:49:37 GMT", "Sun, 06 Nov 1994 08:-1:37 GMT",
        "Sun, -2147483648 Nov 1994 08:49:37 GMT", "Sun, 06 Nov -1994 08:49:37 GMT", "Sun, 06 Nov +1994 08:49:37 GMT",
        "Sun, 06 Nov 0000 08:49:37 GMT", "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun, 06 Nov 1994 8:49:37 GMT", "Sun, 06 Nov  1994 08:49:37 GMT", "Sun,06 Nov 1994 08:49:37 GMT",
        /* wrong words, zones, trailing bytes, other formats */
        "Xyz, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Nox 1994 08:49:37 GMT", "Sun, 06 nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 1994 08:49:37 GMTX", "Sun, 06 Nov 1994 08:49:37",
        "Sun, 06 Nov 1994 08:49:37 GMT junk", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
        "Sun, 06 Nov 1994 08:49:37 +0000", "-1", "-2147483648", "+5", "1.5", "0x10", " ", "", "GMT"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        double r = tv_parse_retry_after(bad[i], strlen(bad[i]), 784111770);
        if (r >= 0) fprintf(stderr, "accepted Retry-After: \"%s\" -> %g\n", bad[i], r);
        CHECK(r < 0);
    }
    /* embedded NUL bytes given by length */
    CHECK(tv_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT\0", 30, 784111770) < 0);
    CHECK(tv_parse_retry_after("12\0" "3", 4, 0) < 0);
    CHECK(tv_parse_retry_after("Sun, 06 Nov 1994 08:4\0" "9:37 GMT", 30, 784111770) < 0);
    /* valid ones, including the edges */
    CHECK(tv_parse_retry_after(S("Sun, 06 Nov 1994 08:49:37 GMT"), 784111770) == 7);
    CHECK(tv_parse_retry_after(S("Thu, 29 Feb 2024 00:00:00 GMT"), 1709164800 - 10) == 10);
    CHECK(tv_parse_retry_after(S("Tue, 29 Feb 2000 23:59:59 GMT"), 951868799) == 0);
    CHECK(tv_parse_retry_after(S("Wed, 31 Dec 2025 23:59:59 GMT"), 1767225599 - 1) == 1);
    CHECK(tv_parse_retry_after(S("Thu, 01 Jan 1970 00:00:00 GMT"), 0) == 0);
    CHECK(tv_parse_retry_after(S("Wed, 21 Oct 2015 07:28:00 GMT"), 1445412480) == 0);
    /* a far-future date is a large delay (capped by the client), no overflow */
    double far = tv_parse_retry_after(S("Fri, 31 Dec 9999 23:59:59 GMT"), 0);
    CHECK(far == 253402300799.0);
    CHECK(tv_parse_retry_after(S("Fri, 31 Dec 9999 23:59:59 GMT"), INT64_MIN) > 0);
    CHECK(tv_parse_retry_after(S("Thu, 01 Jan 1970 00:00:00 GMT"), INT64_MAX) == 0);
    /* delta-seconds: long digit strings saturate, never overflow */
    CHECK(tv_parse_retry_after(S("99999999999999999999999999999999"), 0) == 1e9);
    CHECK(tv_parse_retry_after(S("0"), 0) == 0);
}

int main(void) {
    test_origin();
    test_fetch_delete();
    test_update();
    test_list();
    test_parse();
    test_retry_after();
    test_loopback_strict();
    test_classify_post_429();
    test_retry_after_hostile();
    return ct_report("test_request");
}
