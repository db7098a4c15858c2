/*
 * tv_passkey.h -- a virtual WebAuthn authenticator's credentials (the
 * authenticator side: twilio.verify.passkey, csrc/lua_passkey.c).  Sources,
 * W3C Web Authentication Level 2 (https://www.w3.org/TR/webauthn-2/):
 *   6.1    authenticator data: rpIdHash (SHA-256 of the RP ID), flags (UP
 *          bit 0, UV bit 2, AT bit 6), signCount (32-bit big-endian),
 *          attested credential data
 *   6.5.1  attested credential data: AAGUID (16 bytes), credentialIdLength
 *          (16-bit big-endian), credentialId, credentialPublicKey (COSE_Key)
 *   6.5.4  the attestation object: CBOR map {"fmt", "attStmt", "authData"}
 *   8.7    the "none" attestation statement format: attStmt is an empty map
 *   6.3.3  authenticatorGetAssertion step 11: the signature is over
 *          authenticatorData || clientDataHash
 *   6.5.6  an ES256 signature is an ASN.1 DER Ecdsa-Sig-Value
 * and RFC 9053 sec. 7.1.1 / RFC 9052 sec. 7 for the COSE EC2 key (kty 2,
 * alg -7 ES256, crv 1 P-256, x, y).  Keys are P-256 key pairs made by
 * OpenSSL (tv_ec.h), freed (and so cleared) with the credential.  No global
 * mutable state; every allocation checked; errors never hold key material.
 */
#ifndef TV_PASSKEY_H
#define TV_PASSKEY_H

#include <stddef.h>
#include <stdint.h>

#include "tv_error.h"

#if defined(__GNUC__) /* internal to the module: only luaopen_twilio_verify_core is exported, */
#pragma GCC visibility push(hidden) /* so calls between files are direct, with no PLT */
#endif

#define TV_PASSKEY_ID_LEN 32       /* bytes of a credential id this authenticator makes */
#define TV_PASSKEY_USER_MAX 64     /* a user handle is at most 64 bytes (WebAuthn L2 5.4.3) */
#define TV_PASSKEY_RP_MAX 253

/* authenticator data flags (WebAuthn L2 6.1) */
#define TV_WA_UP 0x01u
#define TV_WA_UV 0x04u
#define TV_WA_AT 0x40u
#define TV_WA_ED 0x80u

typedef struct tv_passkey tv_passkey;

/* A new credential for rp_id and the user handle user[0..ulen): a fresh
 * P-256 key and 32 random bytes of id.  NULL on failure (err). */
tv_passkey *tv_passkey_new(const char *rp_id, const unsigned char *user, size_t ulen, tv_error *err);
void tv_passkey_free(tv_passkey *p); /* frees (clears) the key; accepts NULL */

const unsigned char *tv_passkey_id(const tv_passkey *p, size_t *len);
const char *tv_passkey_rp_id(const tv_passkey *p);
const unsigned char *tv_passkey_user(const tv_passkey *p, size_t *len);
uint32_t tv_passkey_sign_count(const tv_passkey *p);

/* The attestation object (fmt "none") of a registration, flags UP|AT plus
 * UV when uv, signCount as it is: a malloc'd *out.  0 / -1 (err). */
int tv_passkey_attestation(const tv_passkey *p, int uv, unsigned char **out, size_t *len, tv_error *err);
/* An assertion over client_data_hash (32 bytes): the sign count goes up by
 * one first, then the authenticator data (flags UP, plus UV when uv) and its
 * DER signature, both malloc'd.  0 / -1 (err; the count is unchanged). */
int tv_passkey_assert(tv_passkey *p, const unsigned char client_data_hash[32], int uv, unsigned char **auth,
                      size_t *auth_len, unsigned char **sig, size_t *sig_len, tv_error *err);

/* Export: a CBOR map {1: id (bytes), 2: rp id (text), 3: user handle
 * (bytes), 4: sign count, 5: the private key (PKCS#8 PEM, text)} in a
 * malloc'd *out (a secret: wipe it).  Import reads the same, and refuses
 * anything else (a truncated or altered export, another curve, trailing
 * bytes).  0 / -1, NULL (err). */
int tv_passkey_export(const tv_passkey *p, unsigned char **out, size_t *len, tv_error *err);
tv_passkey *tv_passkey_import(const unsigned char *in, size_t len, size_t *used, tv_error *err);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#endif
