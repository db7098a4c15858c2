/*
 * tv_totp.h -- RFC 4226 HOTP, RFC 6238 TOTP, RFC 4648 Base32 and
 * otpauth:// URIs.  HMAC through OpenSSL only; no I/O, no global state.
 *
 * Secrets: every buffer that held key material is wiped with
 * OPENSSL_cleanse before it is freed.  Decoded keys returned to the caller
 * must be released with tv_secret_free().
 *
 * Errors: functions that can fail take `tv_error *err`, fill it with kind
 * TV_EARG (bad input, message names the parameter: "secret", "digits",
 * "step", "skew", "alg", "code", "uri", ...) or TV_ENOMEM, and return -1 /
 * NULL.
 */
#ifndef TV_TOTP_H
#define TV_TOTP_H

#include <stddef.h>
#include <stdint.h>

#include "tv_error.h"

#if defined(__GNUC__) /* internal to the module: only luaopen_twilio_verify_core is exported, */
#pragma GCC visibility push(hidden) /* so calls between files are direct, with no PLT */
#endif

typedef enum tv_totp_alg { TV_TOTP_SHA1 = 0, TV_TOTP_SHA256, TV_TOTP_SHA512 } tv_totp_alg;

#define TV_TOTP_MIN_DIGITS 3
#define TV_TOTP_MAX_DIGITS 8
#define TV_TOTP_MIN_STEP 20   /* Twilio's Config.TimeStep range */
#define TV_TOTP_MAX_STEP 60
#define TV_TOTP_MAX_SKEW 2

/* "sha1" / "sha256" / "sha512", case-insensitive.  0 or -1 (err: param "alg"). */
int tv_totp_alg_parse(const char *name, size_t len, tv_totp_alg *out, tv_error *err);
/* "sha1" / "sha256" / "sha512" */
const char *tv_totp_alg_name(tv_totp_alg alg);

/* Base32 (RFC 4648 alphabet), case-insensitive, '=' padding optional,
 * spaces/tabs/newlines/dashes ignored.  On success *out is a malloc'd key
 * (free with tv_secret_free) of *outlen >= 1 bytes.  Bad characters give a
 * TV_EARG error with param "secret" naming the offending position. */
int tv_base32_decode(const char *in, size_t len, unsigned char **out, size_t *outlen, tv_error *err);

/* Upper-case Base32 without padding; malloc'd NUL-terminated, NULL on OOM. */
char *tv_base32_encode(const unsigned char *in, size_t len);

/* Wipe and free a key from tv_base32_decode.  Accepts NULL. */
void tv_secret_free(unsigned char *key, size_t len);

/* HOTP (RFC 4226): writes `digits` (3..8) decimal digits + NUL into out. */
int tv_hotp(const unsigned char *key, size_t keylen, tv_totp_alg alg, uint64_t counter, int digits,
            char out[TV_TOTP_MAX_DIGITS + 1], tv_error *err);

/* TOTP (RFC 6238) at unix time `t` (>= 0) with time step `step` seconds
 * (1..3600 accepted here; Twilio's API range 20..60 is enforced by
 * tv_validate), T0 = 0. */
int tv_totp_code(const unsigned char *key, size_t keylen, tv_totp_alg alg, int64_t t, int step,
                 int digits, char out[TV_TOTP_MAX_DIGITS + 1], tv_error *err);

/* Check `code` against the window [-skew, +skew] steps around `t`.
 * Returns 1 on a match (and *offset = matched step offset, e.g. -1, 0, 1),
 * 0 when no step matches, -1 on bad arguments.  Compares in constant time and
 * always computes every step of the window. */
int tv_totp_check(const unsigned char *key, size_t keylen, tv_totp_alg alg, int64_t t, int step,
                  int digits, int skew, const char *code, size_t codelen, int *offset, tv_error *err);

/* otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=...&algorithm=SHA1&digits=6&period=30 */
typedef struct tv_otpauth {
    char *issuer;   /* may be NULL */
    char *account;  /* required */
    char *secret;   /* Base32, required */
    tv_totp_alg alg;
    int digits;     /* default 6 */
    int period;     /* default 30 */
} tv_otpauth;

/* Build a URI with every component percent-encoded (RFC 3986 unreserved kept).
 * Returns malloc'd string or NULL with err filled. */
char *tv_otpauth_build(const tv_otpauth *u, tv_error *err);

/* Parse; fills *out with malloc'd strings (free with tv_otpauth_free).
 * Missing algorithm/digits/period take the defaults SHA1/6/30. */
int tv_otpauth_parse(const char *uri, size_t len, tv_otpauth *out, tv_error *err);

/* Free members (secret wiped) and zero the struct.  Accepts NULL. */
void tv_otpauth_free(tv_otpauth *u);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#endif
