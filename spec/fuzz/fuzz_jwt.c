/* fuzz_jwt.c -- libFuzzer harness: the Verify Push parsers and signature
 * checks that see outside data (tv_jwt.c, tv_ec.c): compact JWS parsing,
 * ES256 / HS256 verification, base64 / base64url, SPKI public keys and
 * DER / raw ECDSA signatures.
 *
 * Input fields (fuzz.h): a JWT, a base64 SPKI public key, a signature
 * (bytes), a message, a base64url string.
 * Invariants: a parsed JWT has object header and payload and its signing
 * input is the text before the last dot; verification answers 0 or 1 (never
 * -1 for bad input) and never accepts a fuzzed signature of the harness key
 * unless it is a re-encoding of a real one; base64 and base64url decode to
 * what re-encodes to the input; a DER signature that converts to raw
 * converts back to a DER that converts to the same raw.
 * The harness key (one P-256 key, made on the first input) signs the
 * message: that signature must verify, and must stop verifying when the
 * message changes. */
#include "fuzz.h"
#include "tv_ec.h"
#include "tv_jwt.h"

#include <openssl/crypto.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static tv_ec_key *fz_jwt_key(void) {
    static tv_ec_key *k; /* harness-only state: one key for every input */
    if (!k) {
        tv_error err = TV_ERROR_INIT;
        k = tv_ec_generate(&err);
        FZ_ASSERT(k != NULL);
    }
    return k;
}

static void fz_b64_roundtrip(const char *s, size_t n, int url) {
    tv_error err = TV_ERROR_INIT;
    unsigned char *out = NULL;
    size_t on = 0;
    if (tv_b64_decode(s, n, url, &out, &on, &err) == 0) {
        char *re = tv_b64_encode(out, on, url);
        FZ_ASSERT(re != NULL);
        FZ_ASSERT(strlen(re) == n && memcmp(re, s, n) == 0);
        free(re);
        free(out);
    } else {
        FZ_ASSERT(out == NULL && (err.kind == TV_EARG || err.kind == TV_ENOMEM));
    }
    tv_error_clear(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in in = {data, size};
    size_t jl, kl, sl, ml, ul;
    char *jwt = fz_take(&in, &jl, 0);
    char *pk = fz_take(&in, &kl, 0);
    char *sig = fz_take(&in, &sl, 0);
    char *msg = fz_take(&in, &ml, 0);
    char *u = fz_rest(&in, &ul, 0);
    tv_error err = TV_ERROR_INIT;
    tv_ec_key *me = fz_jwt_key();

    /* JWT parse + verification with the harness key and an HMAC key */
    tv_jwt j;
    if (tv_jwt_parse(jwt, jl, &j, &err) == 0) {
        FZ_ASSERT(cJSON_IsObject(j.header) && cJSON_IsObject(j.payload));
        FZ_ASSERT(j.signing_len < jl && memcmp(j.signing_input, jwt, j.signing_len) == 0);
        FZ_ASSERT(jwt[j.signing_len] == '.');
        int r = tv_jwt_verify_es256(&j, me, &err);
        FZ_ASSERT(r == 0 || r == 1);
        r = tv_jwt_verify_hs256(&j, (const unsigned char *)msg, ml, &err);
        FZ_ASSERT(r == 0 || r == 1);
        long long t;
        (void)tv_jwt_time(j.payload, "exp", &t);
        (void)tv_jwt_str(j.header, "kid");
        tv_jwt_free(&j);
    } else {
        FZ_ASSERT(err.kind == TV_EARG || err.kind == TV_ENOMEM);
        FZ_ASSERT(j.header == NULL && j.payload == NULL && j.sig == NULL);
    }
    tv_error_clear(&err);

    /* a fuzzed public key: import, and verify the fuzzed signature with it */
    tv_ec_key *other = tv_ec_public_import_b64(pk, kl, &err);
    if (other) {
        FZ_ASSERT(!tv_ec_has_private(other));
        char *b64 = tv_ec_public_b64(other, &err);
        FZ_ASSERT(b64 != NULL);
        free(b64);
        int r = tv_ec_verify_der(other, msg, ml, (const unsigned char *)sig, sl, &err);
        FZ_ASSERT(r == 0 || r == 1);
        r = tv_ec_verify_raw(other, msg, ml, (const unsigned char *)sig, sl, &err);
        FZ_ASSERT(r == 0 || r == 1);
        tv_ec_free(other);
    }
    tv_error_clear(&err);

    /* fuzzed signatures against the harness key: accepted only if genuine */
    int r = tv_ec_verify_der(me, msg, ml, (const unsigned char *)sig, sl, &err);
    FZ_ASSERT(r == 0 || r == 1);
    r = tv_ec_verify_raw(me, msg, ml, (const unsigned char *)sig, sl, &err);
    FZ_ASSERT(r == 0 || r == 1);
    unsigned char raw[64];
    if (tv_ec_sig_der_to_raw((const unsigned char *)sig, sl, raw, &err) == 0) {
        unsigned char *der = NULL;
        size_t dl = 0;
        if (tv_ec_sig_raw_to_der(raw, &der, &dl, &err) == 0) {
            unsigned char raw2[64];
            FZ_ASSERT(tv_ec_sig_der_to_raw(der, dl, raw2, &err) == 0);
            FZ_ASSERT(memcmp(raw, raw2, 64) == 0);
            OPENSSL_free(der);
        }
    }
    tv_error_clear(&err);

    /* a genuine signature verifies; a changed message does not */
    unsigned char good[64];
    FZ_ASSERT(tv_ec_sign_raw(me, msg, ml, good, &err) == 0);
    FZ_ASSERT(tv_ec_verify_raw(me, msg, ml, good, 64, &err) == 1);
    char *msg2 = malloc(ml + 1);
    FZ_ASSERT(msg2 != NULL);
    memcpy(msg2, msg, ml);
    msg2[ml] = 'x';
    FZ_ASSERT(tv_ec_verify_raw(me, msg2, ml + 1, good, 64, &err) == 0);
    free(msg2);

    fz_b64_roundtrip(u, ul, 1);
    fz_b64_roundtrip(u, ul, 0);
    tv_error_clear(&err);
    free(jwt);
    free(pk);
    free(sig);
    free(msg);
    free(u);
    return 0;
}
