/*
 * webauthn.c -- the relying party's checks of WebAuthn, as pure functions
 * of the bytes a ceremony sends (emu.h has the API; passkeys.c applies them
 * with the stored state and answers Twilio's errors).  Sources: W3C Web
 * Authentication Level 2, https://www.w3.org/TR/webauthn-2/ --
 *   5.8.1   CollectedClientData: type, challenge, origin, crossOrigin
 *   6.1     authenticator data: rpIdHash(32) flags(1) signCount(4, big-endian)
 *           [attested credential data] [extensions]
 *   6.5.1   attested credential data: aaguid(16) credentialIdLength(2)
 *           credentialId credentialPublicKey (a COSE_Key)
 *   6.5.4   attestation object: CBOR map {fmt, attStmt, authData}
 *   8.7     "none" attestation: attStmt is an empty map
 *   6.5.6   ES256 signatures are DER Ecdsa-Sig-Value
 * and RFC 9052 sec. 7 / RFC 9053 sec. 7.1.1 for the EC2 COSE_Key (kty 2, alg
 * -7, crv 1, x -2, y -3).  CBOR is decoded by libcbor through the core's
 * bounded loader (tv_cbor.h); signatures and points by OpenSSL (tv_ec.h).
 * Below passkeys.c and store.c; above util.c.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "tv_cbor.h"
#include "tv_ec.h"

#define WHY(...) (why ? (void)snprintf(why, wl, __VA_ARGS__) : (void)0)

static int b64v(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

int emu_b64url_decode(const char *s, size_t n, unsigned char **out, size_t *len) {
    while (n > 0 && s[n - 1] == '=') n--; /* padding tolerated, never required */
    if (n % 4 == 1) return -1;
    unsigned char *b = malloc(n * 3 / 4 + 3);
    if (!b) return -2;
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64v((unsigned char)s[i]);
        if (v < 0) {
            free(b);
            return -1;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            b[o++] = (unsigned char)(acc >> bits);
        }
    }
    if (bits && (acc & ((1u << bits) - 1))) { /* non-zero trailing bits: not a canonical encoding */
        free(b);
        return -1;
    }
    *out = b;
    *len = o;
    return 0;
}

char *emu_b64url_encode(const unsigned char *b, size_t n) { return tv_b64_encode(b, n, 1); }

void emu_wa_rp_hash(const char *rp_id, unsigned char out[32]) {
    unsigned int hl = 0;
    if (!EVP_Digest(rp_id, strlen(rp_id), out, &hl, EVP_sha256(), NULL)) memset(out, 0, 32);
}

static int copy_str(const cJSON *j, const char *name, char *dst, size_t cap) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= cap) return -1;
    memcpy(dst, v->valuestring, strlen(v->valuestring) + 1);
    return 0;
}

int emu_wa_client_data(const char *b64, size_t n, emu_wa_client *cd, char *why, size_t wl) {
    memset(cd, 0, sizeof *cd);
    unsigned char *raw = NULL;
    size_t len = 0;
    int rc = emu_b64url_decode(b64, n, &raw, &len);
    if (rc == -2) return -2;
    if (rc) {
        WHY("clientDataJSON is not base64url");
        return -1;
    }
    unsigned int hl = 0;
    if (!EVP_Digest(raw, len, cd->hash, &hl, EVP_sha256(), NULL)) {
        free(raw);
        return -2;
    }
    cJSON *j = cJSON_ParseWithLength((const char *)raw, len);
    free(raw);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        WHY("clientDataJSON is not a JSON object (WebAuthn L2 5.8.1)");
        return -1;
    }
    const cJSON *co = cJSON_GetObjectItemCaseSensitive(j, "crossOrigin");
    rc = 0;
    if (copy_str(j, "type", cd->type, sizeof cd->type) || copy_str(j, "challenge", cd->challenge, sizeof cd->challenge) ||
        copy_str(j, "origin", cd->origin, sizeof cd->origin)) {
        WHY("clientDataJSON lacks its type, challenge or origin (WebAuthn L2 5.8.1)");
        rc = -1;
    } else if (co && !cJSON_IsBool(co)) {
        WHY("clientDataJSON crossOrigin is not a boolean (WebAuthn L2 5.8.1)");
        rc = -1;
    }
    cd->cross_origin = cJSON_IsTrue(co);
    cJSON_Delete(j);
    return rc;
}

/* 04||x||y of an EC2 / ES256 / P-256 COSE_Key, checked on the curve by OpenSSL. */
static int cose_p256(const cbor_item_t *k, unsigned char pub[65], char *why, size_t wl) {
    int64_t kty, alg, crv;
    const unsigned char *x, *y;
    size_t xl, yl;
    if (!tv_cbor_map_keys_ok(k)) {
        WHY("credentialPublicKey is not a COSE_Key map (RFC 9052 7)");
        return -1;
    }
    if (tv_cbor_int(tv_cbor_map_int(k, 3), &alg) || alg != -7) {
        WHY("credentialPublicKey alg is not ES256 (-7), the only pubKeyCredParams offered (WebAuthn L2 7.1 step 16)");
        return -1;
    }
    if (tv_cbor_int(tv_cbor_map_int(k, 1), &kty) || kty != 2 || tv_cbor_int(tv_cbor_map_int(k, -1), &crv) || crv != 1 ||
        tv_cbor_bytes(tv_cbor_map_int(k, -2), &x, &xl) || tv_cbor_bytes(tv_cbor_map_int(k, -3), &y, &yl) || xl != 32 ||
        yl != 32) {
        WHY("credentialPublicKey is not an EC2 P-256 key (RFC 9053 7.1.1)");
        return -1;
    }
    static const unsigned char spki_head[26] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                                0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                                0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};
    unsigned char der[91];
    memcpy(der, spki_head, 26);
    der[26] = 0x04;
    memcpy(der + 27, x, 32);
    memcpy(der + 59, y, 32);
    tv_error err = TV_ERROR_INIT;
    tv_ec_key *key = tv_ec_public_import(der, sizeof der, &err);
    tv_error_clear(&err);
    if (!key) {
        WHY("credentialPublicKey is not a point on P-256");
        return -1;
    }
    tv_ec_free(key);
    memcpy(pub, der + 26, 65);
    return 0;
}

int emu_wa_auth_data(const unsigned char *d, size_t n, int attested, emu_wa_auth *a, char *why, size_t wl) {
    memset(a, 0, sizeof *a);
    if (n < 37) {
        WHY("authenticator data is shorter than 37 bytes (WebAuthn L2 6.1)");
        return -1;
    }
    a->rp_id_hash = d;
    a->flags = d[32];
    a->sign_count = (uint32_t)d[33] << 24 | (uint32_t)d[34] << 16 | (uint32_t)d[35] << 8 | d[36];
    size_t pos = 37;
    if (a->flags & EMU_WA_AT) {
        if (!attested) {
            WHY("an assertion's authenticator data carries attested credential data (WebAuthn L2 6.1)");
            return -1;
        }
        if (n < pos + 18) {
            WHY("attested credential data is truncated (WebAuthn L2 6.5.1)");
            return -1;
        }
        size_t idl = (size_t)d[pos + 16] << 8 | d[pos + 17];
        pos += 18;
        if (idl == 0 || idl > 1023 || n < pos + idl) {
            WHY("the credential id length is out of range (WebAuthn L2 6.5.1: at most 1023 bytes)");
            return -1;
        }
        a->cred_id = d + pos;
        a->cred_len = idl;
        pos += idl;
        size_t used = 0;
        cbor_item_t *k = tv_cbor_load(d + pos, n - pos, &used);
        if (!k) {
            WHY("credentialPublicKey is not well-formed CBOR");
            return -1;
        }
        int rc = cose_p256(k, a->pub, why, wl);
        cbor_decref(&k);
        if (rc) return -1;
        pos += used;
    } else if (attested) {
        WHY("the AT flag is not set: no attested credential data (WebAuthn L2 7.1 step 12)");
        return -1;
    }
    if (a->flags & EMU_WA_ED) { /* one CBOR map of extension outputs */
        size_t used = 0;
        cbor_item_t *e = tv_cbor_load(d + pos, n - pos, &used);
        int ok = e && cbor_isa_map(e);
        if (e) cbor_decref(&e);
        if (!ok) {
            WHY("the extensions of the authenticator data are not a CBOR map (WebAuthn L2 6.1)");
            return -1;
        }
        pos += used;
    }
    if (pos != n) {
        WHY("the authenticator data has trailing bytes (WebAuthn L2 6.1)");
        return -1;
    }
    return 0;
}

int emu_wa_attestation(const unsigned char *d, size_t n, unsigned char **auth, size_t *alen, char *why, size_t wl) {
    size_t used = 0;
    cbor_item_t *m = tv_cbor_load(d, n, &used);
    if (!m) {
        WHY("the attestation object is not well-formed CBOR (WebAuthn L2 7.1 step 12)");
        return -1;
    }
    int rc = -1;
    const char *fmt;
    size_t fl;
    const unsigned char *ad;
    size_t adl;
    cbor_item_t *st = tv_cbor_map_str(m, "attStmt");
    if (used != n || !tv_cbor_map_keys_ok(m)) {
        WHY("the attestation object is not one CBOR map (WebAuthn L2 6.5.4)");
    } else if (tv_cbor_text(tv_cbor_map_str(m, "fmt"), &fmt, &fl) || fl != 4 || memcmp(fmt, "none", 4) != 0) {
        WHY("the attestation statement format is not \"none\", which the creation options ask for "
            "(WebAuthn L2 5.4.7, 8.7)");
    } else if (!st || !cbor_isa_map(st) || cbor_map_size(st) != 0) {
        WHY("a \"none\" attestation statement is an empty map (WebAuthn L2 8.7)");
    } else if (tv_cbor_bytes(tv_cbor_map_str(m, "authData"), &ad, &adl)) {
        WHY("the attestation object has no authData byte string (WebAuthn L2 6.5.4)");
    } else if (!(*auth = malloc(adl ? adl : 1))) {
        rc = -2;
    } else {
        memcpy(*auth, ad, adl);
        *alen = adl;
        rc = 0;
    }
    cbor_decref(&m);
    return rc;
}

int emu_wa_verify(const unsigned char pub[65], const unsigned char *auth, size_t alen,
                  const unsigned char client_data_hash[32], const unsigned char *sig, size_t siglen) {
    static const unsigned char spki_head[26] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                                0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                                0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};
    unsigned char der[91];
    memcpy(der, spki_head, 26);
    memcpy(der + 26, pub, 65);
    tv_error err = TV_ERROR_INIT;
    tv_ec_key *key = tv_ec_public_import(der, sizeof der, &err);
    if (!key) {
        tv_error_clear(&err);
        return 0;
    }
    unsigned char *msg = malloc(alen + 32);
    int ok = 0;
    if (msg) {
        memcpy(msg, auth, alen);
        memcpy(msg + alen, client_data_hash, 32);
        ok = tv_ec_verify_der(key, msg, alen + 32, sig, siglen, &err) == 1;
        free(msg);
    }
    tv_error_clear(&err);
    tv_ec_free(key);
    return ok;
}
