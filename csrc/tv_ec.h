/*
 * tv_ec.h -- P-256 keys and ES256 signatures for Verify Push (OpenSSL
 * libcrypto), and the base64 / base64url codecs the push protocol uses.
 *
 * Used by the virtual device (csrc/lua_device.c) and by the emulator
 * (csrc/emulator/push.c).  No global mutable state.  Every function checks
 * its allocations; on failure it fills err and returns -1 / NULL.
 *
 * A tv_ec_key owns an OpenSSL EVP_PKEY.  A private key is freed with
 * EVP_PKEY_free, which clears the private scalar (OpenSSL's EC key free
 * path uses BN_clear_free); the DER/PEM export buffers this file hands out
 * are wiped by tv_secret_free.
 *
 * Wire forms (doc/push.md): Binding.PublicKey is the standard base64 (with
 * padding, no line breaks) of the DER SubjectPublicKeyInfo; a JWS ES256
 * signature is the raw 64-byte r||s; the factor-verification AuthPayload is
 * the standard base64 of the DER ECDSA-Sig-Value.
 */
#ifndef TV_EC_H
#define TV_EC_H

#include <stddef.h>

#include "tv_error.h"
#include "tv_totp.h"

#if defined(__GNUC__) /* internal to the module: only luaopen_twilio_verify_core is exported, */
#pragma GCC visibility push(hidden) /* so calls between files are direct, with no PLT */
#endif

typedef struct tv_ec_key tv_ec_key;

/* A fresh P-256 key pair.  NULL on failure (err set). */
tv_ec_key *tv_ec_generate(tv_error *err);
/* Import a private key: PKCS#8 or SEC1 DER, or PEM of either.  NULL on
 * failure.  An encrypted key (PEM or DER) is refused with a clear error:
 * nothing ever prompts for a passphrase (no terminal, no stdin). */
tv_ec_key *tv_ec_private_import(const unsigned char *in, size_t len, tv_error *err);
/* Import a public P-256 key from DER SubjectPublicKeyInfo; anything else
 * (other curve, other algorithm, trailing bytes, point not on the curve) is
 * rejected.  NULL on failure. */
tv_ec_key *tv_ec_public_import(const unsigned char *der, size_t len, tv_error *err);
/* The same from the base64 of the DER (Binding.PublicKey). */
tv_ec_key *tv_ec_public_import_b64(const char *b64, size_t len, tv_error *err);
void tv_ec_free(tv_ec_key *k); /* accepts NULL */
int tv_ec_has_private(const tv_ec_key *k);

/* DER SubjectPublicKeyInfo into a malloc'd *out.  0 / -1. */
int tv_ec_public_der(const tv_ec_key *k, unsigned char **out, size_t *len, tv_error *err);
/* base64 of the SPKI DER (NUL-terminated, malloc'd).  NULL on failure. */
char *tv_ec_public_b64(const tv_ec_key *k, tv_error *err);
/* PKCS#8 PEM of the private key (malloc'd, NUL-terminated; free with
 * tv_secret_free).  NULL on failure. */
char *tv_ec_private_pem(const tv_ec_key *k, tv_error *err);

/* ECDSA P-256 / SHA-256 over msg.  der: DER signature (malloc'd *sig);
 * raw: 64 bytes r||s into sig64. */
int tv_ec_sign_der(const tv_ec_key *k, const void *msg, size_t len, unsigned char **sig, size_t *siglen,
                   tv_error *err);
int tv_ec_sign_raw(const tv_ec_key *k, const void *msg, size_t len, unsigned char sig64[64], tv_error *err);
/* Verify: 1 valid, 0 invalid (including malformed signatures), -1 error (err set). */
int tv_ec_verify_der(const tv_ec_key *k, const void *msg, size_t len, const unsigned char *sig, size_t siglen,
                     tv_error *err);
int tv_ec_verify_raw(const tv_ec_key *k, const void *msg, size_t len, const unsigned char *sig, size_t siglen,
                     tv_error *err);

/* DER <-> raw r||s (64 bytes).  0, -1 malformed / OOM (err set).  The DER
 * of tv_ec_sig_raw_to_der is OPENSSL_malloc'd: release it with OPENSSL_free. */
int tv_ec_sig_der_to_raw(const unsigned char *der, size_t len, unsigned char raw[64], tv_error *err);
int tv_ec_sig_raw_to_der(const unsigned char raw[64], unsigned char **der, size_t *len, tv_error *err);

/* ---- base64 (RFC 4648 sec. 4) and base64url (sec. 5) ---- */

/* Encode into a malloc'd NUL-terminated string; url: '-' '_' and no padding
 * (JWS), else '+' '/' with padding.  NULL on out of memory. */
char *tv_b64_encode(const void *in, size_t len, int url);
/* Decode strictly: url selects the alphabet; padding is required for the
 * standard alphabet and refused for base64url; no whitespace; non-zero
 * trailing bits refused.  malloc'd *out (NUL-terminated, *outlen bytes).
 * 0, -1 invalid (err TV_EARG) or OOM. */
int tv_b64_decode(const char *in, size_t len, int url, unsigned char **out, size_t *outlen, tv_error *err);

/* Secrets handed out here (PEM) are released with tv_secret_free (tv_totp.h). */

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#endif
