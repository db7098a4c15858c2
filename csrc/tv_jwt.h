/*
 * tv_jwt.h -- compact JWS (RFC 7515) build and parse, ES256 and HS256.
 *
 * Verify Push uses JWTs three ways (doc/push.md): the device authenticates
 * every call after enrolment with an ES256 JWT it signs with its factor key
 * (header {cty, kid, typ, alg}, payload {sub, exp, nbf}); it approves or
 * denies a challenge with an ES256 JWT over the signed fields plus status;
 * and the emulator issues its enrolment access tokens as HS256 JWTs.
 *
 * tv_jwt_parse is a parser of untrusted input (fuzzed by
 * spec/fuzz/fuzz_jwt.c): bounded length, strict base64url, header and
 * payload must be JSON objects.  Parsing never verifies; the verify
 * functions check the header's alg and the signature.
 */
#ifndef TV_JWT_H
#define TV_JWT_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "tv_ec.h"
#include "tv_error.h"

#if defined(__GNUC__) /* internal to the module: only luaopen_twilio_verify_core is exported, */
#pragma GCC visibility push(hidden) /* so calls between files are direct, with no PLT */
#endif

#define TV_JWT_MAX 8192 /* longest compact JWS accepted by tv_jwt_parse */

typedef struct tv_jwt {
    cJSON *header;          /* JSON object */
    cJSON *payload;         /* JSON object */
    unsigned char *sig;     /* decoded signature bytes */
    size_t siglen;
    char *signing_input;    /* "<b64 header>.<b64 payload>" (NUL-terminated) */
    size_t signing_len;
} tv_jwt;

/* Build "<b64url(header)>.<b64url(payload)>.<b64url(sig)>" from JSON texts
 * (used verbatim: the caller chooses the serialisation).  malloc'd, NULL on
 * failure (err set). */
char *tv_jwt_sign_es256(const tv_ec_key *k, const char *header_json, const char *payload_json, tv_error *err);
char *tv_jwt_sign_hs256(const unsigned char *key, size_t keylen, const char *header_json, const char *payload_json,
                        tv_error *err);

/* Parse a compact JWS.  0, -1 (err: TV_EARG malformed, TV_ENOMEM). */
int tv_jwt_parse(const char *s, size_t len, tv_jwt *out, tv_error *err);
void tv_jwt_free(tv_jwt *j); /* members; accepts a zeroed record */

/* The header's "alg" is the expected one and the signature verifies:
 * 1 valid, 0 not, -1 error (err set). */
int tv_jwt_verify_es256(const tv_jwt *j, const tv_ec_key *k, tv_error *err);
int tv_jwt_verify_hs256(const tv_jwt *j, const unsigned char *key, size_t keylen, tv_error *err);

/* String member of obj (NULL when absent or not a string). */
const char *tv_jwt_str(const cJSON *obj, const char *name);
/* Integer NumericDate member: 0 and *out, or -1 when absent/not an integer. */
int tv_jwt_time(const cJSON *obj, const char *name, long long *out);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#endif
