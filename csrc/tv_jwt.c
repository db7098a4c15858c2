/*
 * tv_jwt.c -- compact JWS build / parse / verify (see tv_jwt.h).
 */
#include "tv_jwt.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

static char *join3(const char *a, const char *b, const char *c) {
    size_t la = strlen(a), lb = strlen(b), lc = c ? strlen(c) : 0;
    char *s = malloc(la + lb + lc + 3);
    if (!s) return NULL;
    memcpy(s, a, la);
    s[la] = '.';
    memcpy(s + la + 1, b, lb);
    if (c) {
        s[la + 1 + lb] = '.';
        memcpy(s + la + 2 + lb, c, lc);
        s[la + lb + lc + 2] = '\0';
    } else {
        s[la + 1 + lb] = '\0';
    }
    return s;
}

/* "<b64url(h)>.<b64url(p)>" */
static char *signing_input(const char *h, const char *p, tv_error *err) {
    char *eh = tv_b64_encode(h, strlen(h), 1), *ep = tv_b64_encode(p, strlen(p), 1);
    char *s = eh && ep ? join3(eh, ep, NULL) : NULL;
    free(eh);
    free(ep);
    if (!s) tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
    return s;
}

static char *finish(char *input, const unsigned char *sig, size_t siglen, tv_error *err) {
    char *es = tv_b64_encode(sig, siglen, 1);
    char *s = es ? join3(input, es, NULL) : NULL;
    free(es);
    free(input);
    if (!s) tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
    return s;
}

char *tv_jwt_sign_es256(const tv_ec_key *k, const char *header_json, const char *payload_json, tv_error *err) {
    char *in = signing_input(header_json, payload_json, err);
    if (!in) return NULL;
    unsigned char sig[64];
    if (tv_ec_sign_raw(k, in, strlen(in), sig, err) != 0) {
        free(in);
        return NULL;
    }
    return finish(in, sig, sizeof sig, err);
}

char *tv_jwt_sign_hs256(const unsigned char *key, size_t keylen, const char *header_json, const char *payload_json,
                        tv_error *err) {
    char *in = signing_input(header_json, payload_json, err);
    if (!in) return NULL;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (keylen > 0x7fffffff ||
        !HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)in, strlen(in), mac, &maclen)) {
        free(in);
        tv_error_set(err, TV_ENOMEM, NULL, "HMAC computation failed");
        return NULL;
    }
    char *s = finish(in, mac, maclen, err);
    OPENSSL_cleanse(mac, sizeof mac);
    return s;
}

void tv_jwt_free(tv_jwt *j) {
    if (!j) return;
    cJSON_Delete(j->header);
    cJSON_Delete(j->payload);
    free(j->sig);
    free(j->signing_input);
    memset(j, 0, sizeof *j);
}

static int json_part(const char *s, size_t len, cJSON **out, const char *what, tv_error *err) {
    unsigned char *raw = NULL;
    size_t n = 0;
    tv_error e2 = TV_ERROR_INIT;
    if (tv_b64_decode(s, len, 1, &raw, &n, &e2) != 0) {
        int nomem = e2.kind == TV_ENOMEM;
        tv_error_clear(&e2);
        return nomem ? tv_error_set(err, TV_ENOMEM, NULL, "out of memory")
                     : tv_error_set(err, TV_EARG, NULL, "malformed JWT: %s is not base64url", what);
    }
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts((const char *)raw, n, &end, 0);
    int whole = j && end == (const char *)raw + n;
    free(raw);
    if (!j || !whole || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return tv_error_set(err, TV_EARG, NULL, "malformed JWT: %s is not a JSON object", what);
    }
    *out = j;
    return 0;
}

int tv_jwt_parse(const char *s, size_t len, tv_jwt *out, tv_error *err) {
    memset(out, 0, sizeof *out);
    if (!s || len == 0) return tv_error_set(err, TV_EARG, NULL, "malformed JWT: empty");
    if (len > TV_JWT_MAX) return tv_error_set(err, TV_EARG, NULL, "malformed JWT: longer than %d", TV_JWT_MAX);
    const char *d1 = memchr(s, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - s)) : NULL;
    if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - s)))
        return tv_error_set(err, TV_EARG, NULL, "malformed JWT: not three dot-separated parts");
    if (d1 == s || d2 == d1 + 1) return tv_error_set(err, TV_EARG, NULL, "malformed JWT: empty part");
    if (json_part(s, (size_t)(d1 - s), &out->header, "header", err) != 0) goto fail;
    if (json_part(d1 + 1, (size_t)(d2 - d1 - 1), &out->payload, "payload", err) != 0) goto fail;
    tv_error e2 = TV_ERROR_INIT;
    if (tv_b64_decode(d2 + 1, len - (size_t)(d2 + 1 - s), 1, &out->sig, &out->siglen, &e2) != 0) {
        int nomem = e2.kind == TV_ENOMEM;
        tv_error_clear(&e2);
        if (nomem) tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
        else tv_error_set(err, TV_EARG, NULL, "malformed JWT: signature is not base64url");
        goto fail;
    }
    out->signing_len = (size_t)(d2 - s);
    if (!(out->signing_input = malloc(out->signing_len + 1))) {
        tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
        goto fail;
    }
    memcpy(out->signing_input, s, out->signing_len);
    out->signing_input[out->signing_len] = '\0';
    return 0;
fail:
    tv_jwt_free(out);
    return -1;
}

const char *tv_jwt_str(const cJSON *obj, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int tv_jwt_time(const cJSON *obj, const char *name, long long *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsNumber(v)) return -1;
    double d = v->valuedouble;
    if (!(d >= -9.0e15 && d <= 9.0e15) || (double)(long long)d != d) return -1;
    *out = (long long)d;
    return 0;
}

static int alg_is(const tv_jwt *j, const char *alg) {
    const char *a = tv_jwt_str(j->header, "alg");
    return a && strcmp(a, alg) == 0;
}

int tv_jwt_verify_es256(const tv_jwt *j, const tv_ec_key *k, tv_error *err) {
    if (!alg_is(j, "ES256")) return 0;
    return tv_ec_verify_raw(k, j->signing_input, j->signing_len, j->sig, j->siglen, err);
}

int tv_jwt_verify_hs256(const tv_jwt *j, const unsigned char *key, size_t keylen, tv_error *err) {
    if (!alg_is(j, "HS256") || j->siglen != 32) return 0;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (keylen > 0x7fffffff || !HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)j->signing_input,
                                     j->signing_len, mac, &maclen))
        return tv_error_set(err, TV_ENOMEM, NULL, "HMAC computation failed");
    int ok = maclen == 32 && CRYPTO_memcmp(mac, j->sig, 32) == 0;
    OPENSSL_cleanse(mac, sizeof mac);
    return ok;
}
