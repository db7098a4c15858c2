/* fuzz_totp.c -- libFuzzer harness: the TOTP helpers that see outside data
 * (tv_totp.c): Base32 secrets, otpauth:// URIs and codes.
 *
 * Input: byte 0 = flags (alg, digits, skew), then fields (see fuzz.h):
 * a Base32 secret, an otpauth URI, a code.
 * Invariants: decode(encode(decode(s))) == decode(s); a parsed URI builds
 * into a URI that parses back to the same record; a code computed from a
 * key is accepted by tv_totp_check at offset 0; errors are TV_EARG with a
 * parameter name. */
#include "fuzz.h"
#include "tv_totp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_totp_err(const tv_error *err) {
    FZ_ASSERT(err->kind == TV_EARG);
    FZ_ASSERT(err->param[0] != '\0' && err->message[0] != '\0');
}

static int fz_streq(const char *a, const char *b) {
    if (!a || !b) return a == b;
    return strcmp(a, b) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in in = {data, size};
    int flags = fz_byte(&in);
    size_t slen, ulen, clen;
    char *secret = fz_take(&in, &slen, 0);
    char *uri = fz_take(&in, &ulen, 0);
    char *code = fz_take(&in, &clen, 0);
    tv_error err = TV_ERROR_INIT;
    tv_totp_alg alg = (tv_totp_alg)((flags & 3) % 3);
    int digits = TV_TOTP_MIN_DIGITS + ((flags >> 2) & 7) % (TV_TOTP_MAX_DIGITS - TV_TOTP_MIN_DIGITS + 1);
    int skew = (flags >> 5) % (TV_TOTP_MAX_SKEW + 1);

    /* Base32: decode, re-encode, decode again */
    unsigned char *key = NULL;
    size_t keylen = 0;
    if (tv_base32_decode(secret, slen, &key, &keylen, &err) == 0) {
        FZ_ASSERT(key != NULL && keylen >= 1 && keylen <= slen);
        char *enc = tv_base32_encode(key, keylen);
        FZ_ASSERT(enc != NULL);
        unsigned char *key2 = NULL;
        size_t keylen2 = 0;
        FZ_ASSERT(tv_base32_decode(enc, strlen(enc), &key2, &keylen2, &err) == 0);
        FZ_ASSERT(keylen2 == keylen && memcmp(key, key2, keylen) == 0);
        tv_secret_free(key2, keylen2);
        free(enc);
        /* a code of this key verifies, and the fuzzed one does not crash */
        char out[TV_TOTP_MAX_DIGITS + 1];
        int64_t t = 1700000000 + (int64_t)(flags * 7919);
        FZ_ASSERT(tv_totp_code(key, keylen, alg, t, 30, digits, out, &err) == 0);
        FZ_ASSERT(strlen(out) == (size_t)digits);
        int off = 99;
        FZ_ASSERT(tv_totp_check(key, keylen, alg, t, 30, digits, skew, out, strlen(out), &off, &err) == 1);
        FZ_ASSERT(off == 0);
        int r = tv_totp_check(key, keylen, alg, t, 30, digits, skew, code, clen, &off, &err);
        FZ_ASSERT(r == 0 || r == 1 || r == -1);
        if (r == -1) fz_totp_err(&err);
        if (r == 1) FZ_ASSERT(off >= -skew && off <= skew);
        tv_error_clear(&err);
        tv_secret_free(key, keylen);
    } else {
        fz_totp_err(&err);
        FZ_ASSERT(key == NULL && keylen == 0);
    }
    tv_error_clear(&err);

    /* otpauth URIs: parse, build, parse again */
    tv_otpauth u;
    if (tv_otpauth_parse(uri, ulen, &u, &err) == 0) {
        FZ_ASSERT(u.account != NULL && u.secret != NULL);
        FZ_ASSERT(u.digits >= TV_TOTP_MIN_DIGITS && u.digits <= TV_TOTP_MAX_DIGITS);
        char *built = tv_otpauth_build(&u, &err);
        if (built) {
            tv_otpauth v;
            FZ_ASSERT(tv_otpauth_parse(built, strlen(built), &v, &err) == 0);
            FZ_ASSERT(fz_streq(u.account, v.account));
            FZ_ASSERT(fz_streq(u.issuer && *u.issuer ? u.issuer : NULL, v.issuer && *v.issuer ? v.issuer : NULL));
            FZ_ASSERT(u.alg == v.alg && u.digits == v.digits && u.period == v.period);
            tv_otpauth_free(&v);
            free(built);
        } else {
            fz_totp_err(&err);
        }
        tv_otpauth_free(&u);
    } else {
        fz_totp_err(&err);
    }
    tv_error_clear(&err);

    /* algorithm names as they come from users */
    tv_totp_alg a;
    if (tv_totp_alg_parse(code, clen, &a, &err) == 0) FZ_ASSERT((int)a >= 0 && (int)a <= 2);
    else fz_totp_err(&err);
    tv_error_clear(&err);

    free(secret);
    free(uri);
    free(code);
    return 0;
}
