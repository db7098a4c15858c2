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

int main(void) {
    test_origin();
    test_fetch_delete();
    test_update();
    test_list();
    test_parse();
    test_retry_after();
    return ct_report("test_request");
}
