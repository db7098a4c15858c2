/* tv_passkey.c -- a virtual authenticator's credentials (see tv_passkey.h). */
#include "tv_passkey.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "tv_cbor.h"
#include "tv_ec.h"

struct tv_passkey {
    unsigned char id[TV_PASSKEY_ID_LEN];
    size_t id_len;
    char rp_id[TV_PASSKEY_RP_MAX + 1];
    unsigned char user[TV_PASSKEY_USER_MAX];
    size_t user_len;
    uint32_t sign_count;
    tv_ec_key *key;
};

static int oom(tv_error *err) { return tv_error_set(err, TV_ENOMEM, NULL, "out of memory"); }

void tv_passkey_free(tv_passkey *p) {
    if (!p) return;
    tv_ec_free(p->key);
    OPENSSL_cleanse(p, sizeof *p);
    free(p);
}

static tv_passkey *blank(const char *rp_id, size_t rlen, const unsigned char *user, size_t ulen, tv_error *err) {
    if (rlen == 0 || rlen > TV_PASSKEY_RP_MAX || memchr(rp_id, 0, rlen)) {
        tv_error_set(err, TV_EARG, "rp_id", "the relying party id must be 1..%d characters", TV_PASSKEY_RP_MAX);
        return NULL;
    }
    if (ulen == 0 || ulen > TV_PASSKEY_USER_MAX) {
        tv_error_set(err, TV_EARG, "user", "the user handle must be 1..%d bytes (WebAuthn L2 5.4.3)",
                     TV_PASSKEY_USER_MAX);
        return NULL;
    }
    tv_passkey *p = calloc(1, sizeof *p);
    if (!p) {
        oom(err);
        return NULL;
    }
    memcpy(p->rp_id, rp_id, rlen);
    memcpy(p->user, user, ulen);
    p->user_len = ulen;
    return p;
}

tv_passkey *tv_passkey_new(const char *rp_id, const unsigned char *user, size_t ulen, tv_error *err) {
    tv_passkey *p = blank(rp_id, strlen(rp_id), user, ulen, err);
    if (!p) return NULL;
    p->id_len = TV_PASSKEY_ID_LEN;
    if (RAND_bytes(p->id, (int)p->id_len) != 1) {
        tv_error_set(err, TV_EARG, NULL, "RAND_bytes failed");
        tv_passkey_free(p);
        return NULL;
    }
    if (!(p->key = tv_ec_generate(err))) {
        tv_passkey_free(p);
        return NULL;
    }
    return p;
}

const unsigned char *tv_passkey_id(const tv_passkey *p, size_t *len) {
    *len = p->id_len;
    return p->id;
}
const char *tv_passkey_rp_id(const tv_passkey *p) { return p->rp_id; }
const unsigned char *tv_passkey_user(const tv_passkey *p, size_t *len) {
    *len = p->user_len;
    return p->user;
}
uint32_t tv_passkey_sign_count(const tv_passkey *p) { return p->sign_count; }

/* rpIdHash || flags || signCount: the 37 bytes every authenticator data starts with */
static int head(const tv_passkey *p, unsigned flags, uint32_t count, unsigned char out[37], tv_error *err) {
    unsigned int hl = 0;
    if (!EVP_Digest(p->rp_id, strlen(p->rp_id), out, &hl, EVP_sha256(), NULL) || hl != 32)
        return tv_error_set(err, TV_EARG, NULL, "SHA-256 failed");
    out[32] = (unsigned char)flags;
    out[33] = (unsigned char)(count >> 24);
    out[34] = (unsigned char)(count >> 16);
    out[35] = (unsigned char)(count >> 8);
    out[36] = (unsigned char)count;
    return 0;
}

/* The COSE_Key of the public key (RFC 9053 7.1.1): {1: 2, 3: -7, -1: 1, -2: x, -3: y}. */
static int cose_key(const tv_passkey *p, unsigned char **out, size_t *len, tv_error *err) {
    unsigned char *der = NULL;
    size_t dl = 0;
    if (tv_ec_public_der(p->key, &der, &dl, err)) return -1;
    /* a P-256 SubjectPublicKeyInfo ends with the uncompressed point 04||x||y */
    if (dl < 65 || der[dl - 65] != 0x04) {
        free(der);
        return tv_error_set(err, TV_EARG, NULL, "unexpected public key encoding");
    }
    const unsigned char *pt = der + dl - 65;
    int rc = -1;
    cbor_item_t *m = cbor_new_definite_map(5);
    cbor_item_t *k[5] = {cbor_build_uint8(1), cbor_build_uint8(3), cbor_build_negint8(0), cbor_build_negint8(1),
                         cbor_build_negint8(2)};
    cbor_item_t *v[5] = {cbor_build_uint8(2), cbor_build_negint8(6), cbor_build_uint8(1),
                         cbor_build_bytestring(pt + 1, 32), cbor_build_bytestring(pt + 33, 32)};
    int ok = m != NULL;
    for (int i = 0; i < 5; i++) ok = ok && k[i] && v[i];
    for (int i = 0; i < 5 && ok; i++) ok = cbor_map_add(m, (struct cbor_pair){.key = k[i], .value = v[i]});
    if (ok) {
        unsigned char *buf = NULL;
        size_t cap = 0, n = cbor_serialize_alloc(m, &buf, &cap);
        if (n) {
            *out = buf;
            *len = n;
            rc = 0;
        } else {
            free(buf);
        }
    }
    for (int i = 0; i < 5; i++) {
        if (k[i]) cbor_decref(&k[i]);
        if (v[i]) cbor_decref(&v[i]);
    }
    if (m) cbor_decref(&m);
    free(der);
    return rc ? oom(err) : 0;
}

int tv_passkey_attestation(const tv_passkey *p, int uv, unsigned char **out, size_t *len, tv_error *err) {
    unsigned char *cose = NULL, *auth = NULL;
    size_t clen = 0;
    if (cose_key(p, &cose, &clen, err)) return -1;
    size_t alen = 37 + 16 + 2 + p->id_len + clen;
    int rc = -1;
    if (!(auth = malloc(alen))) {
        oom(err);
        goto done;
    }
    if (head(p, TV_WA_UP | TV_WA_AT | (uv ? TV_WA_UV : 0u), p->sign_count, auth, err)) goto done;
    memset(auth + 37, 0, 16); /* AAGUID: none ("none" attestation, WebAuthn L2 6.5.1) */
    auth[53] = (unsigned char)(p->id_len >> 8);
    auth[54] = (unsigned char)p->id_len;
    memcpy(auth + 55, p->id, p->id_len);
    memcpy(auth + 55 + p->id_len, cose, clen);
    cbor_item_t *m = cbor_new_definite_map(3);
    cbor_item_t *k[3] = {cbor_build_string("fmt"), cbor_build_string("attStmt"), cbor_build_string("authData")};
    cbor_item_t *v[3] = {cbor_build_string("none"), cbor_new_definite_map(0), cbor_build_bytestring(auth, alen)};
    int ok = m != NULL;
    for (int i = 0; i < 3; i++) ok = ok && k[i] && v[i];
    for (int i = 0; i < 3 && ok; i++) ok = cbor_map_add(m, (struct cbor_pair){.key = k[i], .value = v[i]});
    if (ok) {
        unsigned char *buf = NULL;
        size_t cap = 0, n = cbor_serialize_alloc(m, &buf, &cap);
        if (n) {
            *out = buf;
            *len = n;
            rc = 0;
        } else {
            free(buf);
        }
    }
    for (int i = 0; i < 3; i++) {
        if (k[i]) cbor_decref(&k[i]);
        if (v[i]) cbor_decref(&v[i]);
    }
    if (m) cbor_decref(&m);
    if (rc) oom(err);
done:
    free(cose);
    free(auth);
    return rc;
}

int tv_passkey_assert(tv_passkey *p, const unsigned char client_data_hash[32], int uv, unsigned char **auth,
                      size_t *auth_len, unsigned char **sig, size_t *sig_len, tv_error *err) {
    if (p->sign_count == UINT32_MAX) return tv_error_set(err, TV_EARG, NULL, "the signature counter is exhausted");
    uint32_t count = p->sign_count + 1;
    unsigned char msg[37 + 32];
    if (head(p, TV_WA_UP | (uv ? TV_WA_UV : 0u), count, msg, err)) return -1;
    memcpy(msg + 37, client_data_hash, 32);
    unsigned char *a = malloc(37);
    if (!a) return oom(err);
    if (tv_ec_sign_der(p->key, msg, sizeof msg, sig, sig_len, err)) {
        free(a);
        return -1;
    }
    memcpy(a, msg, 37);
    *auth = a;
    *auth_len = 37;
    p->sign_count = count;
    return 0;
}

int tv_passkey_export(const tv_passkey *p, unsigned char **out, size_t *len, tv_error *err) {
    char *pem = tv_ec_private_pem(p->key, err);
    if (!pem) return -1;
    int rc = -1;
    cbor_item_t *m = cbor_new_definite_map(5);
    cbor_item_t *k[5] = {cbor_build_uint8(1), cbor_build_uint8(2), cbor_build_uint8(3), cbor_build_uint8(4),
                         cbor_build_uint8(5)};
    cbor_item_t *v[5] = {cbor_build_bytestring(p->id, p->id_len), cbor_build_string(p->rp_id),
                         cbor_build_bytestring(p->user, p->user_len), cbor_build_uint32(p->sign_count),
                         cbor_build_string(pem)};
    int ok = m != NULL;
    for (int i = 0; i < 5; i++) ok = ok && k[i] && v[i];
    for (int i = 0; i < 5 && ok; i++) ok = cbor_map_add(m, (struct cbor_pair){.key = k[i], .value = v[i]});
    if (ok) {
        unsigned char *buf = NULL;
        size_t cap = 0, n = cbor_serialize_alloc(m, &buf, &cap);
        if (n) {
            *out = buf;
            *len = n;
            rc = 0;
        } else {
            free(buf);
        }
    }
    for (int i = 0; i < 5; i++) {
        if (k[i]) cbor_decref(&k[i]);
        if (v[i]) {
            if (i == 4 && cbor_string_handle(v[i])) OPENSSL_cleanse(cbor_string_handle(v[i]), cbor_string_length(v[i]));
            cbor_decref(&v[i]);
        }
    }
    if (m) cbor_decref(&m);
    tv_secret_free((unsigned char *)pem, strlen(pem));
    return rc ? oom(err) : 0;
}

static tv_passkey *bad_export(tv_error *err) {
    tv_error_set(err, TV_EARG, "export", "not an export of twilio.verify.passkey (malformed or altered)");
    return NULL;
}

tv_passkey *tv_passkey_import(const unsigned char *in, size_t len, size_t *used, tv_error *err) {
    size_t n = 0;
    cbor_item_t *m = tv_cbor_load(in, len, &n);
    if (!m) return bad_export(err);
    tv_passkey *p = NULL;
    const unsigned char *id, *user;
    const char *rp, *pem;
    size_t idl, ul, rl, pl;
    int64_t count;
    if (!tv_cbor_map_keys_ok(m) || cbor_map_size(m) != 5 || tv_cbor_bytes(tv_cbor_map_int(m, 1), &id, &idl) ||
        tv_cbor_text(tv_cbor_map_int(m, 2), &rp, &rl) || tv_cbor_bytes(tv_cbor_map_int(m, 3), &user, &ul) ||
        tv_cbor_int(tv_cbor_map_int(m, 4), &count) || tv_cbor_text(tv_cbor_map_int(m, 5), &pem, &pl) || idl == 0 ||
        idl > TV_PASSKEY_ID_LEN || count < 0 || count > (int64_t)UINT32_MAX) {
        bad_export(err);
        goto done;
    }
    if (!(p = blank(rp, rl, user, ul, err))) goto done;
    memcpy(p->id, id, idl);
    p->id_len = idl;
    p->sign_count = (uint32_t)count;
    if (!(p->key = tv_ec_private_import((const unsigned char *)pem, pl, err))) {
        tv_passkey_free(p);
        p = NULL;
        goto done;
    }
    if (used) *used = n;
done:
    {
        cbor_item_t *k5 = tv_cbor_map_int(m, 5);
        if (k5 && cbor_isa_string(k5) && cbor_string_is_definite(k5) && cbor_string_handle(k5))
            OPENSSL_cleanse(cbor_string_handle(k5), cbor_string_length(k5));
    }
    cbor_decref(&m);
    return p;
}
