/* test_webhook.c -- the core of webhook signatures (csrc/tv_webhook.c):
 * the published vectors of twilio-python tests/unit/test_request_validator.py,
 * twilio-node spec/validation.spec.js and twilio-go
 * client/request_validator_test.go (token "12345"), form parsing, the
 * bodySHA256 lookup, the reasons and the argument errors. */
#include <stdlib.h>
#include <string.h>

#include "ctest.h"
#include "tv_webhook.h"

#define TOKEN "12345"
#define URL "https://mycompany.com/myapp.php?foo=1&bar=2"
#define BODY "{\"property\": \"value\", \"boolean\": true}"
#define BODY_HASH "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"

#define P(k, v) {k, sizeof k - 1, v, sizeof v - 1}
static const tv_webhook_param params[] = {
    P("CallSid", "CA1234567890ABCDE"), P("Caller", "+14158675309"), P("Digits", "1234"),
    P("From", "+14158675309"), P("To", "+18005551212"),
};
#define NP (sizeof params / sizeof params[0])

static int check(const char *url, const tv_webhook_param *p, size_t n, const char *body, const char *sig,
                 const char **reason) {
    tv_webhook_input in;
    memset(&in, 0, sizeof in);
    in.token = TOKEN;
    in.tlen = strlen(TOKEN);
    in.url = url;
    in.ulen = strlen(url);
    in.params = p;
    in.n = n;
    in.body = body;
    in.blen = body ? strlen(body) : 0;
    in.sig = sig;
    in.siglen = sig ? strlen(sig) : 0;
    tv_error err = TV_ERROR_INIT;
    int rc = tv_webhook_validate(&in, reason, &err);
    tv_error_clear(&err);
    return rc;
}

static void test_sign(void) {
    char sig[TV_WEBHOOK_SIG_LEN + 1];
    tv_error err = TV_ERROR_INIT;
    CHECK_INT(tv_webhook_sign(TOKEN, 5, URL, strlen(URL), params, NP, sig, &err), 0);
    CHECK_STR(sig, "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
    /* python test_compute_signature_duplicate_*: sorted, duplicates once */
    const tv_webhook_param dup[] = {P("Sid", "CA123"), P("SidAccount", "AC123"), P("Digits", "5678"),
                                    P("Digits", "1234"), P("Digits", "1234")};
    CHECK_INT(tv_webhook_sign(TOKEN, 5, URL, strlen(URL), dup, 5, sig, &err), 0);
    CHECK_STR(sig, "IK+Dwps556ElfBT0I3Rgjkr1wJU=");
    char hex[TV_WEBHOOK_SHA256_HEX + 1];
    CHECK_INT(tv_webhook_body_sha256(BODY, strlen(BODY), hex), 0);
    CHECK_STR(hex, BODY_HASH);
    /* arguments */
    CHECK_INT(tv_webhook_sign("", 0, URL, strlen(URL), NULL, 0, sig, &err), -1);
    CHECK_STR(err.param, "auth_token");
    CHECK(strstr(err.message, TOKEN) == NULL);
    CHECK_INT(tv_webhook_sign(TOKEN, 5, "", 0, NULL, 0, sig, &err), -1);
    CHECK_STR(err.param, "url");
    tv_error_clear(&err);
}

static void test_validate(void) {
    const char *why = NULL;
    CHECK_INT(check(URL, params, NP, NULL, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", &why), 1);
    CHECK(why == NULL);
    CHECK_INT(check("https://mycompany.com:1234/myapp.php?foo=1&bar=2", params, NP, NULL,
                    "RSOYDt4T1cUTdK1PDd93/VVr8B8=", NULL), 1);
    CHECK_INT(check(URL, params, NP, NULL, "kvajT1Ptam85bY51eRf/AJRuM3w=", NULL), 1);           /* :443 */
    CHECK_INT(check("http://mycompany.com/myapp.php?foo=1&bar=2", params, NP, NULL,
                    "0ZXoZLH/DfblKGATFgpif+LLRf4=", NULL), 1);                                   /* :80 */
    CHECK_INT(check("http://mycompany.com:1234/myapp.php?foo=1&bar=2", params, NP, NULL,
                    "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=", NULL), 1);
    CHECK_INT(check(URL, params, NP - 1, NULL, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", &why), 0);
    CHECK_STR(why, "signature mismatch");
    CHECK_INT(check(URL, params, NP, NULL, NULL, &why), 0);
    CHECK_STR(why, "missing signature");
    /* JSON bodies */
    CHECK_INT(check(URL "&bodySHA256=" BODY_HASH, NULL, 0, BODY, "a9nBmqA0ju/hNViExpshrM61xv4=", NULL), 1);
    CHECK_INT(check(URL "&bodySHA256=" BODY_HASH, NULL, 0, BODY " ", "a9nBmqA0ju/hNViExpshrM61xv4=", &why), 0);
    CHECK_STR(why, "bodySHA256 does not match the body");
    CHECK_INT(check("https://mycompany.com/myapp.php?bodySHA256=" BODY_HASH, NULL, 0, BODY,
                    "y77kIzt2vzLz71DgmJGsen2scGs=", NULL), 1);
    /* form bodies: twilio-go "returns true when validation succeeds with form body" */
    CHECK_INT(check(URL, NULL, 0, "property=value&boolean=true", "NBdBDr/T/lgjI+tlgpXjKZQZs/k=", NULL), 1);
    CHECK_INT(check(URL, NULL, 0, "Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234",
                    "IK+Dwps556ElfBT0I3Rgjkr1wJU=", NULL), 1);
    /* not URLs we can take apart: only the string as given */
    CHECK_INT(check("mycompany.com/x", NULL, 0, NULL, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", NULL), 0);
    CHECK_INT(check("https://[::1/x", NULL, 0, NULL, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", NULL), 0);
}

static void test_form(void) {
    tv_webhook_form f;
    tv_error err = TV_ERROR_INIT;
    const char *body = "a=1&&b&c=x%41+%zz&=e&a=2&";
    CHECK_INT(tv_webhook_parse_form(body, strlen(body), &f, &err), 0);
    CHECK_INT(f.n, 5);
    if (f.n == 5) {
        CHECK(f.params[0].klen == 1 && memcmp(f.params[0].key, "a", 1) == 0 && f.params[0].vlen == 1);
        CHECK(f.params[1].klen == 1 && f.params[1].vlen == 0);
        CHECK(f.params[2].vlen == 6 && memcmp(f.params[2].val, "xA %zz", 6) == 0);
        CHECK(f.params[3].klen == 0 && f.params[3].vlen == 1);
        CHECK(f.params[4].vlen == 1 && f.params[4].val[0] == '2');
    }
    tv_webhook_form_free(&f);
    tv_webhook_form_free(&f); /* idempotent */
    tv_webhook_form_free(NULL);
    CHECK_INT(tv_webhook_parse_form(NULL, 0, &f, &err), 0);
    CHECK_INT(f.n, 0);
    tv_webhook_form_free(&f);

    char *v = NULL;
    size_t vl = 0;
    const char *u = "https://x/p?a=1&bodySHA256=&bodySHA256=ab%2Bc+d#bodySHA256=zz";
    CHECK_INT(tv_webhook_query_get(u, strlen(u), "bodySHA256", &v, &vl), 1);
    CHECK_STR(v, "ab+c d");
    CHECK_INT(vl, 6);
    free(v);
    CHECK_INT(tv_webhook_query_get("https://x/p#?bodySHA256=1", 25, "bodySHA256", &v, &vl), 0);
    CHECK_INT(tv_webhook_query_get("https://x/p", 11, "bodySHA256", &v, &vl), 0);
    CHECK(v == NULL);
}

int main(void) {
    test_sign();
    test_validate();
    test_form();
    return ct_report("test_webhook");
}
