/* test_totp.c -- RFC 6238 / RFC 4226 vectors, RFC 4648 Base32, the check
 * window and otpauth:// URIs (csrc/tv_totp.c). */
#include <stdlib.h>
#include <string.h>

#include "ctest.h"
#include "tv_totp.h"

static const char seed20[] = "12345678901234567890";
static const char seed32[] = "12345678901234567890123456789012";
static const char seed64[] = "1234567890123456789012345678901234567890123456789012345678901234";

static void test_rfc6238(void) {
    static const struct {
        long long t;
        const char *sha1, *sha256, *sha512;
    } v[] = {
        {59LL, "94287082", "46119246", "90693936"},
        {1111111109LL, "07081804", "68084774", "25091201"},
        {1111111111LL, "14050471", "67062674", "99943326"},
        {1234567890LL, "89005924", "91819424", "93441116"},
        {2000000000LL, "69279037", "90698825", "38618901"},
        {20000000000LL, "65353130", "77737706", "47863826"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char out[TV_TOTP_MAX_DIGITS + 1];
        tv_error err = TV_ERROR_INIT;
        CHECK_INT(tv_totp_code((const unsigned char *)seed20, 20, TV_TOTP_SHA1, v[i].t, 30, 8, out, &err), 0);
        CHECK_STR(out, v[i].sha1);
        CHECK_INT(tv_totp_code((const unsigned char *)seed32, 32, TV_TOTP_SHA256, v[i].t, 30, 8, out, &err), 0);
        CHECK_STR(out, v[i].sha256);
        CHECK_INT(tv_totp_code((const unsigned char *)seed64, 64, TV_TOTP_SHA512, v[i].t, 30, 8, out, &err), 0);
        CHECK_STR(out, v[i].sha512);
        /* the 8-digit codes also check at their own time, offset 0 */
        int off = 99;
        CHECK_INT(tv_totp_check((const unsigned char *)seed64, 64, TV_TOTP_SHA512, v[i].t, 30, 8, 1,
                                v[i].sha512, 8, &off, &err), 1);
        CHECK_INT(off, 0);
    }
}

static void test_rfc4226(void) {
    static const char *const want[] = {"755224", "287082", "359152", "969429", "338314",
                                       "254676", "287922", "162583", "399871", "520489"};
    for (int i = 0; i < 10; i++) {
        char out[TV_TOTP_MAX_DIGITS + 1];
        tv_error err = TV_ERROR_INIT;
        CHECK_INT(tv_hotp((const unsigned char *)seed20, 20, TV_TOTP_SHA1, (uint64_t)i, 6, out, &err), 0);
        CHECK_STR(out, want[i]);
    }
    /* fewer digits are the low digits of the same truncation */
    char out[TV_TOTP_MAX_DIGITS + 1];
    tv_error err = TV_ERROR_INIT;
    CHECK_INT(tv_hotp((const unsigned char *)seed20, 20, TV_TOTP_SHA1, 0, 3, out, &err), 0);
    CHECK_STR(out, "224");
    CHECK_INT(tv_hotp((const unsigned char *)seed20, 20, TV_TOTP_SHA1, 0, 2, out, &err), -1);
    CHECK_INT(err.kind, TV_EARG);
    CHECK_STR(err.param, "digits");
    CHECK_INT(tv_hotp((const unsigned char *)seed20, 20, TV_TOTP_SHA1, 0, 9, out, &err), -1);
    CHECK_STR(err.param, "digits");
    CHECK_INT(tv_hotp((const unsigned char *)seed20, 0, TV_TOTP_SHA1, 0, 6, out, &err), -1);
    CHECK_STR(err.param, "secret");
    CHECK_INT(tv_hotp((const unsigned char *)seed20, 20, (tv_totp_alg)7, 0, 6, out, &err), -1);
    CHECK_STR(err.param, "alg");
    CHECK_INT(tv_totp_code((const unsigned char *)seed20, 20, TV_TOTP_SHA1, -1, 30, 6, out, &err), -1);
    CHECK_STR(err.param, "time");
    CHECK_INT(tv_totp_code((const unsigned char *)seed20, 20, TV_TOTP_SHA1, 0, 0, 6, out, &err), -1);
    CHECK_STR(err.param, "step");
    CHECK_INT(tv_totp_code((const unsigned char *)seed20, 20, TV_TOTP_SHA1, 0, 3601, 6, out, &err), -1);
    CHECK_STR(err.param, "step");
}

static void test_alg(void) {
    tv_totp_alg a = TV_TOTP_SHA1;
    tv_error err = TV_ERROR_INIT;
    CHECK_INT(tv_totp_alg_parse("SHA256", 6, &a, &err), 0);
    CHECK_INT(a, TV_TOTP_SHA256);
    CHECK_INT(tv_totp_alg_parse("sha512", 6, &a, &err), 0);
    CHECK_INT(a, TV_TOTP_SHA512);
    CHECK_INT(tv_totp_alg_parse("Sha1", 4, &a, &err), 0);
    CHECK_INT(a, TV_TOTP_SHA1);
    CHECK_INT(tv_totp_alg_parse("md5", 3, &a, &err), -1);
    CHECK_INT(err.kind, TV_EARG);
    CHECK_STR(err.param, "alg");
    CHECK(strstr(err.message, "md5") != NULL);
    CHECK_INT(tv_totp_alg_parse("sha1x", 5, &a, &err), -1);
    CHECK_INT(tv_totp_alg_parse("sha1x", 4, &a, &err), 0); /* length-bounded */
    CHECK_STR(tv_totp_alg_name(TV_TOTP_SHA1), "sha1");
    CHECK_STR(tv_totp_alg_name(TV_TOTP_SHA256), "sha256");
    CHECK_STR(tv_totp_alg_name(TV_TOTP_SHA512), "sha512");
}

static void check_decode(const char *in, const char *want) {
    unsigned char *key = NULL;
    size_t n = 0;
    tv_error err = TV_ERROR_INIT;
    int rc = tv_base32_decode(in, strlen(in), &key, &n, &err);
    CHECK_INT(rc, 0);
    if (rc) {
        fprintf(stderr, "  decoding \"%s\": %s\n", in, err.message);
        return;
    }
    CHECK_INT(n, strlen(want));
    CHECK(n == strlen(want) && memcmp(key, want, n) == 0);
    tv_secret_free(key, n);
}

static void check_bad(const char *in, const char *needle) {
    unsigned char *key = (unsigned char *)1;
    size_t n = 99;
    tv_error err = TV_ERROR_INIT;
    CHECK_INT(tv_base32_decode(in, strlen(in), &key, &n, &err), -1);
    CHECK(key == NULL);
    CHECK_INT(n, 0);
    CHECK_INT(err.kind, TV_EARG);
    CHECK_STR(err.param, "secret");
    if (!strstr(err.message, needle)) {
        ct_failed++;
        fprintf(stderr, "  \"%s\": message \"%s\" lacks \"%s\"\n", in, err.message, needle);
    } else {
        ct_passed++;
    }
}

static void test_base32(void) {
    /* RFC 4648 section 10 */
    static const struct { const char *plain, *enc; } v[] = {
        {"f", "MY======"},       {"fo", "MZXQ===="},       {"foo", "MZXW6==="},
        {"foob", "MZXW6YQ="},    {"fooba", "MZXW6YTB"},    {"foobar", "MZXW6YTBOI======"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        check_decode(v[i].enc, v[i].plain);
        char *e = tv_base32_encode((const unsigned char *)v[i].plain, strlen(v[i].plain));
        CHECK(e != NULL);
        /* encoder emits no padding: compare with the padding stripped */
        size_t want = strcspn(v[i].enc, "=");
        CHECK(e && strlen(e) == want && strncmp(e, v[i].enc, want) == 0);
        if (e) check_decode(e, v[i].plain); /* unpadded decodes too */
        free(e);
    }
    char *e = tv_base32_encode((const unsigned char *)"", 0);
    CHECK_STR(e, "");
    free(e);

    /* case, whitespace and dashes */
    check_decode("mzxw6ytboi", "foobar");
    check_decode("MZXW 6YTB\tOI\n", "foobar");
    check_decode("mzxw-6ytb-oi==", "foobar");
    check_decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", seed20);

    /* round trips over every length 1..64 and every byte value */
    unsigned char buf[64];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)(i * 37 + 11);
    int rt_ok = 1;
    for (size_t len = 1; len <= sizeof buf; len++) {
        char *s = tv_base32_encode(buf, len);
        unsigned char *key = NULL;
        size_t n = 0;
        tv_error err = TV_ERROR_INIT;
        if (!s || tv_base32_decode(s, strlen(s), &key, &n, &err) || n != len || memcmp(key, buf, len))
            rt_ok = 0;
        tv_secret_free(key, n);
        free(s);
    }
    CHECK(rt_ok);
    unsigned char all[256];
    for (int i = 0; i < 256; i++) all[i] = (unsigned char)i;
    char *s = tv_base32_encode(all, sizeof all);
    unsigned char *key = NULL;
    size_t n = 0;
    tv_error err = TV_ERROR_INIT;
    CHECK(s && tv_base32_decode(s, strlen(s), &key, &n, &err) == 0);
    CHECK(n == 256 && key && memcmp(key, all, 256) == 0);
    tv_secret_free(key, n);
    free(s);

    /* errors name "secret" and the 1-based position */
    check_bad("MZXW1YTB", "'1' at position 5");
    check_bad("MZXW6YT!", "'!' at position 8");
    check_bad("MZ\x01W6YTB", "0x01 at position 3");
    check_bad("MZ\xC3\xA9W6YTB", "0xC3 at position 3");
    check_bad("MZXW6===YQ", "after '=' padding at position 9");
    check_bad("", "empty");
    check_bad("  ==== ", "empty");
    check_bad("M", "not a valid length");
    check_bad("MZX", "not a valid length");
    check_bad("MZXW6Y", "not a valid length");
    CHECK_INT(tv_base32_decode(NULL, 0, &key, &n, &err), -1);
    CHECK_STR(err.param, "secret");
    tv_secret_free(NULL, 0);
}

static void test_check(void) {
    const unsigned char *k = (const unsigned char *)seed20;
    char c[TV_TOTP_MAX_DIGITS + 1];
    tv_error err = TV_ERROR_INIT;
    const long long t = 1234567890; /* counter 41152263, 0 s into... */
    int off = 42;
    /* every offset in the window matches with its own code */
    for (int d = -2; d <= 2; d++) {
        CHECK_INT(tv_totp_code(k, 20, TV_TOTP_SHA1, t + 30LL * d, 30, 6, c, &err), 0);
        off = 42;
        CHECK_INT(tv_totp_check(k, 20, TV_TOTP_SHA1, t, 30, 6, 2, c, 6, &off, &err), 1);
        CHECK_INT(off, d);
        off = 42;
        int in1 = d >= -1 && d <= 1;
        CHECK_INT(tv_totp_check(k, 20, TV_TOTP_SHA1, t, 30, 6, 1, c, 6, &off, &err), in1);
        CHECK_INT(off, in1 ? d : 0);
        off = 42;
        CHECK_INT(tv_totp_check(k, 20, TV_TOTP_SHA1, t, 30, 6, 0, c, 6, &off, &err), d == 0);
    }
    /* three steps away: outside even skew 2 */
    CHECK_INT(tv_totp_code(k, 20, TV_TOTP_SHA1, t + 90, 30, 6, c, &err), 0);
    CHECK_INT(tv_totp_check(k, 20, TV_TOTP_SHA1, t, 30, 6, 2, c, 6, &off, &err), 0);
    /* a wrong code */
    CHECK_INT(tv_totp_code(k, 20, TV_TOTP_SHA1, t, 30, 6, c, &err), 0);
    c[5] = c[5] == '9' ? '0' : (char)(c[5] + 1);
    CHECK_INT(tv_totp_check(k, 20, TV_TOTP_SHA1, t, 30, 6, 2, c, 6, &off, &err), 0);
    /* near the epoch: negative counters are skipped, not an error */
    CHECK_INT(tv_totp_code(k, 20, TV_TOTP_SHA1, 0, 30, 6, c, &err), 0);
    CHECK_INT(tv_totp_check(k, 20, TV_TOTP_SHA1, 10, 30, 6, 2, c, 6, &off, &err), 1);
    CHECK_INT(off, 0);
    CHECK_INT(tv_totp_check(k, 20, TV_TOTP_SHA1, 40, 30, 6, 2, c, 6, &off, &err), 1);
    CHECK_INT(off, -1);
    /* other algorithms and lengths */
    CHECK_INT(tv_totp_check((const unsigned char *)seed32, 32, TV_TOTP_SHA256, 59, 30, 8, 1,
                            "46119246", 8, &off, &err), 1);
    CHECK_INT(tv_totp_check((const unsigned char *)seed32, 32, TV_TOTP_SHA256, 89, 30, 8, 1,
                            "46119246", 8, &off, &err), 1);
    CHECK_INT(off, -1);
    CHECK_INT(tv_totp_check((const unsigned char *)seed32, 32, TV_TOTP_SHA256, 59, 30, 7, 1,
                            "6119246", 7, &off, &err), 1);
    /* bad arguments */
    CHECK_INT(tv_totp_check(k, 20, TV_TOTP_SHA1, t, 30, 6, 3, "123456", 6, &off, &err), -1);
    CHECK_STR(err.param, "skew");
    CHECK_INT(tv_totp_check(k, 20, TV_TOTP_SHA1, t, 30, 6, -1, "123456", 6, &off, &err), -1);
    CHECK_STR(err.param, "skew");
    CHECK_INT(tv_totp_check(k, 20, TV_TOTP_SHA1, t, 30, 6, 1, "12345", 5, &off, &err), -1);
    CHECK_STR(err.param, "code");
    CHECK_INT(tv_totp_check(k, 20, TV_TOTP_SHA1, t, 30, 6, 1, "12345a", 6, &off, &err), -1);
    CHECK_STR(err.param, "code");
    CHECK_INT(tv_totp_check(k, 20, TV_TOTP_SHA1, t, 30, 6, 1, NULL, 0, &off, &err), -1);
    CHECK_STR(err.param, "code");
    CHECK_INT(tv_totp_check(k, 20, TV_TOTP_SHA1, t, 30, 2, 1, "12", 2, &off, &err), -1);
    CHECK_STR(err.param, "digits");
    CHECK_INT(tv_totp_check(k, 20, TV_TOTP_SHA1, t, 0, 6, 1, "123456", 6, &off, &err), -1);
    CHECK_STR(err.param, "step");
    CHECK_INT(err.kind, TV_EARG);
}

static const char example_uri[] =
    "otpauth://totp/test-issuer:John%E2%80%99s%20Account%20Name"
    "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=test-issuer&algorithm=SHA1&digits=6&period=30";

static void check_parse_err(const char *uri, const char *param) {
    tv_otpauth u;
    tv_error err = TV_ERROR_INIT;
    int rc = tv_otpauth_parse(uri, strlen(uri), &u, &err);
    CHECK_INT(rc, -1);
    CHECK_INT(err.kind, TV_EARG);
    if (strcmp(err.param, param) != 0) {
        ct_failed++;
        fprintf(stderr, "  parsing \"%s\": param \"%s\" != \"%s\" (%s)\n", uri, err.param, param,
                err.message);
    } else {
        ct_passed++;
    }
    CHECK(u.issuer == NULL && u.account == NULL && u.secret == NULL);
}

static void test_uri(void) {
    tv_error err = TV_ERROR_INIT;
    tv_otpauth u;
    /* the OpenAPI example parses ... */
    CHECK_INT(tv_otpauth_parse(example_uri, strlen(example_uri), &u, &err), 0);
    CHECK_STR(u.issuer, "test-issuer");
    CHECK_STR(u.account, "John\xE2\x80\x99s Account Name");
    CHECK_STR(u.secret, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    CHECK_INT(u.alg, TV_TOTP_SHA1);
    CHECK_INT(u.digits, 6);
    CHECK_INT(u.period, 30);
    /* ... and builds back byte for byte */
    char *s = tv_otpauth_build(&u, &err);
    CHECK_STR(s, example_uri);
    free(s);
    tv_otpauth_free(&u);
    CHECK(u.account == NULL && u.secret == NULL);
    tv_otpauth_free(&u); /* idempotent */
    tv_otpauth_free(NULL);

    /* reserved characters are percent-encoded and round-trip */
    tv_otpauth in = {"Acme & Co: 100%", "alice+tag@example.com/?#=", "gezd gnbv-gy3t qojq",
                     TV_TOTP_SHA512, 8, 60};
    s = tv_otpauth_build(&in, &err);
    CHECK(s != NULL);
    CHECK_STR(s, "otpauth://totp/Acme%20%26%20Co%3A%20100%25:alice%2Btag%40example.com%2F%3F%23%3D"
                 "?secret=GEZDGNBVGY3TQOJQ&issuer=Acme%20%26%20Co%3A%20100%25"
                 "&algorithm=SHA512&digits=8&period=60");
    CHECK_INT(tv_otpauth_parse(s, strlen(s), &u, &err), 0);
    CHECK_STR(u.issuer, in.issuer);
    CHECK_STR(u.account, in.account);
    CHECK_STR(u.secret, "GEZDGNBVGY3TQOJQ");
    CHECK_INT(u.alg, TV_TOTP_SHA512);
    CHECK_INT(u.digits, 8);
    CHECK_INT(u.period, 60);
    tv_otpauth_free(&u);
    free(s);

    /* no issuer; zero digits/period take the defaults */
    tv_otpauth noiss = {NULL, "bob", "MZXW6YTBOI", TV_TOTP_SHA256, 0, 0};
    s = tv_otpauth_build(&noiss, &err);
    CHECK_STR(s, "otpauth://totp/bob?secret=MZXW6YTBOI&algorithm=SHA256&digits=6&period=30");
    CHECK_INT(tv_otpauth_parse(s, strlen(s), &u, &err), 0);
    CHECK(u.issuer == NULL);
    CHECK_STR(u.account, "bob");
    CHECK_INT(u.alg, TV_TOTP_SHA256);
    tv_otpauth_free(&u);
    free(s);

    /* lenient parsing: defaults, case, '+' spaces, %3A separator, label
     * issuer only, leading spaces before the account, unknown params */
    const char *lenient = "OTPAUTH://TOTP/Example:%20alice@google.com?secret=JBSWY3DPEHPK3PXP";
    CHECK_INT(tv_otpauth_parse(lenient, strlen(lenient), &u, &err), 0);
    CHECK_STR(u.issuer, "Example");
    CHECK_STR(u.account, "alice@google.com");
    CHECK_INT(u.alg, TV_TOTP_SHA1);
    CHECK_INT(u.digits, 6);
    CHECK_INT(u.period, 30);
    tv_otpauth_free(&u);
    const char *enc_colon =
        "otpauth://totp/Big%20Co%3Aalice?issuer=Big+Co&secret=jbswy3dpehpk3pxp&image=x&algorithm=sha256#frag";
    CHECK_INT(tv_otpauth_parse(enc_colon, strlen(enc_colon), &u, &err), 0);
    CHECK_STR(u.issuer, "Big Co");
    CHECK_STR(u.account, "alice");
    CHECK_STR(u.secret, "jbswy3dpehpk3pxp");
    CHECK_INT(u.alg, TV_TOTP_SHA256);
    tv_otpauth_free(&u);
    const char *no_issuer = "otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP&digits=8&period=45";
    CHECK_INT(tv_otpauth_parse(no_issuer, strlen(no_issuer), &u, &err), 0);
    CHECK(u.issuer == NULL);
    CHECK_STR(u.account, "alice");
    CHECK_INT(u.digits, 8);
    CHECK_INT(u.period, 45);
    tv_otpauth_free(&u);

    /* rejections name the parameter */
    check_parse_err("https://totp/a?secret=JBSWY3DP", "uri");
    check_parse_err("otpauth://hotp/a?secret=JBSWY3DP&counter=1", "uri");
    check_parse_err("otpauth://totp", "uri");
    check_parse_err("otpauth://totp/a?issuer=x", "secret");
    check_parse_err("otpauth://totp/a?secret=", "secret");
    check_parse_err("otpauth://totp/a?secret=JBSW1", "secret");
    check_parse_err("otpauth://totp/a?secret=JBSWY3DP&digits=9", "digits");
    check_parse_err("otpauth://totp/a?secret=JBSWY3DP&digits=2", "digits");
    check_parse_err("otpauth://totp/a?secret=JBSWY3DP&digits=six", "digits");
    check_parse_err("otpauth://totp/a?secret=JBSWY3DP&digits=", "digits");
    check_parse_err("otpauth://totp/a?secret=JBSWY3DP&period=0", "period");
    check_parse_err("otpauth://totp/a?secret=JBSWY3DP&period=-30", "period");
    check_parse_err("otpauth://totp/a?secret=JBSWY3DP&period=99999999999999999999", "period");
    check_parse_err("otpauth://totp/a?secret=JBSWY3DP&algorithm=MD5", "algorithm");
    check_parse_err("otpauth://totp/a?secret=JBSWY3DP&secret=MZXW6YTB", "secret");
    check_parse_err("otpauth://totp/?secret=JBSWY3DP", "account");
    check_parse_err("otpauth://totp/Issuer:?secret=JBSWY3DP", "account");
    check_parse_err("otpauth://totp/a%2?secret=JBSWY3DP", "account");
    check_parse_err("otpauth://totp/a%zz?secret=JBSWY3DP", "account");
    check_parse_err("otpauth://totp/a%00b?secret=JBSWY3DP", "account");
    check_parse_err("otpauth://totp/a?secret=JBSWY3DP&issuer=%4", "issuer");

    /* build rejections */
    tv_otpauth bad = {"i", "a", "JBSWY3DP", TV_TOTP_SHA1, 9, 30};
    CHECK(tv_otpauth_build(&bad, &err) == NULL);
    CHECK_STR(err.param, "digits");
    bad.digits = 6;
    bad.period = -1;
    CHECK(tv_otpauth_build(&bad, &err) == NULL);
    CHECK_STR(err.param, "period");
    bad.period = 30;
    bad.secret = "JBSW!";
    CHECK(tv_otpauth_build(&bad, &err) == NULL);
    CHECK_STR(err.param, "secret");
    CHECK(strstr(err.message, "position 5") != NULL);
    bad.secret = NULL;
    CHECK(tv_otpauth_build(&bad, &err) == NULL);
    CHECK_STR(err.param, "secret");
    bad.secret = "JBSWY3DP";
    bad.account = "";
    CHECK(tv_otpauth_build(&bad, &err) == NULL);
    CHECK_STR(err.param, "account");
    bad.account = "a";
    bad.alg = (tv_totp_alg)5;
    CHECK(tv_otpauth_build(&bad, &err) == NULL);
    CHECK_STR(err.param, "alg");
    CHECK_INT(err.kind, TV_EARG);
    tv_error_clear(&err);
}

int main(void) {
    test_rfc6238();
    test_rfc4226();
    test_alg();
    test_base32();
    test_check();
    test_uri();
    return ct_report("test_totp");
}
