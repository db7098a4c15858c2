/*
 * tv_ec.c -- P-256 keys, ES256 signatures, base64 (see tv_ec.h).
 * OpenSSL 3 EVP interfaces only; no global mutable state.
 */
#include "tv_ec.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

struct tv_ec_key {
    EVP_PKEY *pkey;
    int priv;
};

static int crypto_fail(tv_error *err, const char *what) {
    ERR_clear_error();
    return tv_error_set(err, TV_EARG, NULL, "%s", what);
}

static int oom(tv_error *err) {
    ERR_clear_error();
    return tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
}

/* Is pkey an EC key on P-256?  1 / 0. */
static int is_p256(const EVP_PKEY *pkey) {
    char name[64];
    size_t n = 0;
    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC) return 0;
    if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &n)) return 0;
    return strcmp(name, SN_X9_62_prime256v1) == 0;
}

static tv_ec_key *wrap(EVP_PKEY *pkey, int priv, tv_error *err) {
    tv_ec_key *k = calloc(1, sizeof *k);
    if (!k) {
        EVP_PKEY_free(pkey);
        oom(err);
        return NULL;
    }
    k->pkey = pkey;
    k->priv = priv;
    return k;
}

tv_ec_key *tv_ec_generate(tv_error *err) {
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", SN_X9_62_prime256v1);
    if (!pkey) {
        crypto_fail(err, "P-256 key generation failed");
        return NULL;
    }
    return wrap(pkey, 1, err);
}

void tv_ec_free(tv_ec_key *k) {
    if (!k) return;
    EVP_PKEY_free(k->pkey); /* EC private scalars are cleared on free */
    OPENSSL_cleanse(k, sizeof *k);
    free(k);
}

int tv_ec_has_private(const tv_ec_key *k) { return k && k->priv; }

/* Without a callback, PEM_read_bio_PrivateKey asks for a passphrase on
 * the terminal (it blocked under a tty and read stdin otherwise): a
 * library must never prompt.  This one refuses, and notes that it was
 * asked (issue 23 item 4). */
static int refuse_passphrase(char *buf, int size, int rwflag, void *u) {
    (void)buf;
    (void)size;
    (void)rwflag;
    *(int *)u = 1;
    return -1;
}

static int pem_encrypted(const unsigned char *in, size_t len) {
    static const char *const marks[] = {"-----BEGIN ENCRYPTED PRIVATE KEY-----", "Proc-Type: 4,ENCRYPTED", NULL};
    for (const char *const *m = marks; *m; m++) {
        size_t ml = strlen(*m);
        for (size_t i = 0; i + ml <= len; i++)
            if (memcmp(in + i, *m, ml) == 0) return 1;
    }
    return 0;
}

tv_ec_key *tv_ec_private_import(const unsigned char *in, size_t len, tv_error *err) {
    EVP_PKEY *pkey = NULL;
    if (!in || len == 0 || len > 16384) {
        crypto_fail(err, "private key: empty or too long");
        return NULL;
    }
    if (len > 10 && memcmp(in, "-----BEGIN", 10) == 0) {
        int asked = pem_encrypted(in, len);
        BIO *b = asked ? NULL : BIO_new_mem_buf(in, (int)len);
        if (!asked && !b) {
            oom(err);
            return NULL;
        }
        if (b) pkey = PEM_read_bio_PrivateKey(b, NULL, refuse_passphrase, &asked);
        BIO_free(b);
        if (asked) {
            EVP_PKEY_free(pkey);
            crypto_fail(err, "private key: an encrypted PEM is not supported (nothing prompts for a passphrase): "
                             "decrypt it first, e.g. openssl pkey -in key.pem -out plain.pem");
            return NULL;
        }
    } else {
        const unsigned char *p = in;
        pkey = d2i_AutoPrivateKey(NULL, &p, (long)len);
        if (pkey && p != in + len) {
            EVP_PKEY_free(pkey);
            pkey = NULL;
        }
    }
    if (!pkey || !is_p256(pkey)) {
        EVP_PKEY_free(pkey);
        crypto_fail(err, "private key: not a P-256 (prime256v1) EC private key");
        return NULL;
    }
    return wrap(pkey, 1, err);
}

tv_ec_key *tv_ec_public_import(const unsigned char *der, size_t len, tv_error *err) {
    if (!der || len == 0 || len > 1024) {
        crypto_fail(err, "public key: empty or too long");
        return NULL;
    }
    const unsigned char *p = der;
    EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, (long)len);
    if (!pkey || p != der + len || !is_p256(pkey)) {
        EVP_PKEY_free(pkey);
        crypto_fail(err, "public key: not a DER SubjectPublicKeyInfo of a P-256 key");
        return NULL;
    }
    /* d2i_PUBKEY decodes the point; check it explicitly too. */
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    int ok = ctx && EVP_PKEY_public_check(ctx) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        EVP_PKEY_free(pkey);
        crypto_fail(err, "public key: the point is not on P-256");
        return NULL;
    }
    return wrap(pkey, 0, err);
}

tv_ec_key *tv_ec_public_import_b64(const char *b64, size_t len, tv_error *err) {
    unsigned char *der = NULL;
    size_t n = 0;
    if (tv_b64_decode(b64, len, 0, &der, &n, err) != 0) return NULL;
    tv_ec_key *k = tv_ec_public_import(der, n, err);
    free(der);
    return k;
}

int tv_ec_public_der(const tv_ec_key *k, unsigned char **out, size_t *len, tv_error *err) {
    *out = NULL;
    *len = 0;
    if (!k) return crypto_fail(err, "no key");
    int n = i2d_PUBKEY(k->pkey, NULL);
    if (n <= 0) return crypto_fail(err, "public key export failed");
    unsigned char *buf = malloc((size_t)n), *p = buf;
    if (!buf) return oom(err);
    if (i2d_PUBKEY(k->pkey, &p) != n) {
        free(buf);
        return crypto_fail(err, "public key export failed");
    }
    *out = buf;
    *len = (size_t)n;
    return 0;
}

char *tv_ec_public_b64(const tv_ec_key *k, tv_error *err) {
    unsigned char *der;
    size_t n;
    if (tv_ec_public_der(k, &der, &n, err) != 0) return NULL;
    char *s = tv_b64_encode(der, n, 0);
    free(der);
    if (!s) oom(err);
    return s;
}

char *tv_ec_private_pem(const tv_ec_key *k, tv_error *err) {
    if (!k->priv) {
        crypto_fail(err, "no private key");
        return NULL;
    }
    BIO *b = BIO_new(BIO_s_secmem());
    if (!b) b = BIO_new(BIO_s_mem());
    if (!b) {
        oom(err);
        return NULL;
    }
    char *s = NULL;
    if (PEM_write_bio_PKCS8PrivateKey(b, k->pkey, NULL, NULL, 0, NULL, NULL) == 1) {
        char *data = NULL;
        long n = BIO_get_mem_data(b, &data);
        if (n > 0 && (s = malloc((size_t)n + 1))) {
            memcpy(s, data, (size_t)n);
            s[n] = '\0';
        } else if (n > 0) {
            oom(err);
        }
    } else {
        crypto_fail(err, "private key export failed");
    }
    /* BIO_free of a mem BIO frees its buffer; wipe it first */
    BUF_MEM *bm = NULL;
    BIO_get_mem_ptr(b, &bm);
    if (bm && bm->data) OPENSSL_cleanse(bm->data, bm->max);
    BIO_free(b);
    return s;
}

int tv_ec_sign_der(const tv_ec_key *k, const void *msg, size_t len, unsigned char **sig, size_t *siglen,
                   tv_error *err) {
    *sig = NULL;
    *siglen = 0;
    if (!k->priv) return crypto_fail(err, "no private key");
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *buf = NULL;
    size_t n = 0;
    int rc = -1;
    if (!md) return oom(err);
    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k->pkey) != 1 ||
        EVP_DigestSign(md, NULL, &n, msg, len) != 1) {
        crypto_fail(err, "ECDSA signing failed");
        goto done;
    }
    if (!(buf = malloc(n))) {
        oom(err);
        goto done;
    }
    if (EVP_DigestSign(md, buf, &n, msg, len) != 1) {
        crypto_fail(err, "ECDSA signing failed");
        free(buf);
        goto done;
    }
    *sig = buf;
    *siglen = n;
    rc = 0;
done:
    EVP_MD_CTX_free(md);
    return rc;
}

int tv_ec_sign_raw(const tv_ec_key *k, const void *msg, size_t len, unsigned char sig64[64], tv_error *err) {
    unsigned char *der;
    size_t n;
    if (tv_ec_sign_der(k, msg, len, &der, &n, err) != 0) return -1;
    int rc = tv_ec_sig_der_to_raw(der, n, sig64, err);
    free(der);
    return rc;
}

int tv_ec_verify_der(const tv_ec_key *k, const void *msg, size_t len, const unsigned char *sig, size_t siglen,
                     tv_error *err) {
    if (!sig || siglen == 0 || siglen > 80) return 0;
    /* only a canonical DER ECDSA-Sig-Value: re-encode and compare */
    const unsigned char *p = sig;
    ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
    if (!s) {
        ERR_clear_error();
        return 0;
    }
    int canon = p == sig + siglen;
    unsigned char *re = NULL;
    int rl = canon ? i2d_ECDSA_SIG(s, &re) : 0;
    canon = canon && rl == (int)siglen && memcmp(re, sig, siglen) == 0;
    OPENSSL_free(re);
    ECDSA_SIG_free(s);
    if (!canon) {
        ERR_clear_error();
        return 0;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md) return oom(err);
    int rc;
    if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k->pkey) != 1) {
        rc = crypto_fail(err, "ECDSA verification could not start");
    } else {
        rc = EVP_DigestVerify(md, sig, siglen, msg, len) == 1;
    }
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    return rc;
}

int tv_ec_verify_raw(const tv_ec_key *k, const void *msg, size_t len, const unsigned char *sig, size_t siglen,
                     tv_error *err) {
    if (!sig || siglen != 64) return 0;
    unsigned char *der;
    size_t n;
    tv_error e2 = TV_ERROR_INIT;
    if (tv_ec_sig_raw_to_der(sig, &der, &n, &e2) != 0) {
        int nomem = e2.kind == TV_ENOMEM;
        tv_error_clear(&e2);
        return nomem ? oom(err) : 0;
    }
    int rc = tv_ec_verify_der(k, msg, len, der, n, err);
    OPENSSL_free(der);
    return rc;
}

int tv_ec_sig_der_to_raw(const unsigned char *der, size_t len, unsigned char raw[64], tv_error *err) {
    const unsigned char *p = der;
    if (!der || len == 0 || len > 80) return crypto_fail(err, "malformed ECDSA signature");
    ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)len);
    if (!s || p != der + len) {
        ECDSA_SIG_free(s);
        return crypto_fail(err, "malformed ECDSA signature");
    }
    const BIGNUM *r = NULL, *ss = NULL;
    ECDSA_SIG_get0(s, &r, &ss);
    int ok = BN_num_bytes(r) <= 32 && BN_num_bytes(ss) <= 32 && BN_bn2binpad(r, raw, 32) == 32 &&
             BN_bn2binpad(ss, raw + 32, 32) == 32;
    ECDSA_SIG_free(s);
    return ok ? 0 : crypto_fail(err, "malformed ECDSA signature");
}

/* *der is OPENSSL_malloc'd: free with OPENSSL_free. */
int tv_ec_sig_raw_to_der(const unsigned char raw[64], unsigned char **der, size_t *len, tv_error *err) {
    *der = NULL;
    *len = 0;
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, 32, NULL), *ss = BN_bin2bn(raw + 32, 32, NULL);
    if (!s || !r || !ss) {
        ECDSA_SIG_free(s);
        BN_free(r);
        BN_free(ss);
        return oom(err);
    }
    if (BN_is_zero(r) || BN_is_zero(ss)) {
        ECDSA_SIG_free(s);
        BN_free(r);
        BN_free(ss);
        return crypto_fail(err, "malformed ECDSA signature");
    }
    ECDSA_SIG_set0(s, r, ss); /* takes r, ss */
    unsigned char *out = NULL;
    int n = i2d_ECDSA_SIG(s, &out);
    ECDSA_SIG_free(s);
    if (n <= 0) return oom(err);
    *der = out;
    *len = (size_t)n;
    return 0;
}

/* ------------------------------------------------------------ base64 */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *tv_b64_encode(const void *in, size_t len, int url) {
    const unsigned char *s = in;
    const char *a = url ? B64URL : B64;
    if (len > ((size_t)-1) / 2) return NULL;
    char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;
    if (!out) return NULL;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 | s[i + 2];
        *o++ = a[v >> 18 & 63];
        *o++ = a[v >> 12 & 63];
        *o++ = a[v >> 6 & 63];
        *o++ = a[v & 63];
    }
    if (len - i == 1) {
        unsigned v = (unsigned)s[i] << 16;
        *o++ = a[v >> 18 & 63];
        *o++ = a[v >> 12 & 63];
        if (!url) *o++ = '=', *o++ = '=';
    } else if (len - i == 2) {
        unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8;
        *o++ = a[v >> 18 & 63];
        *o++ = a[v >> 12 & 63];
        *o++ = a[v >> 6 & 63];
        if (!url) *o++ = '=';
    }
    *o = '\0';
    return out;
}

static int b64val(unsigned char c, int url) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == (url ? '-' : '+')) return 62;
    if (c == (url ? '_' : '/')) return 63;
    return -1;
}

int tv_b64_decode(const char *in, size_t len, int url, unsigned char **out, size_t *outlen, tv_error *err) {
    *out = NULL;
    *outlen = 0;
    if (!in) return tv_error_set(err, TV_EARG, NULL, "invalid base64");
    size_t pad = 0;
    if (!url) {
        if (len % 4 != 0) return tv_error_set(err, TV_EARG, NULL, "invalid base64: length");
        if (len >= 1 && in[len - 1] == '=') pad++;
        if (len >= 2 && in[len - 2] == '=') pad++;
    } else if (len % 4 == 1) {
        return tv_error_set(err, TV_EARG, NULL, "invalid base64url: length");
    }
    size_t n = len - pad; /* significant characters */
    size_t bytes = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
    unsigned char *buf = malloc(bytes + 1);
    if (!buf) return oom(err);
    unsigned acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val((unsigned char)in[i], url);
        if (v < 0) {
            free(buf);
            return tv_error_set(err, TV_EARG, NULL, "invalid base64: character");
        }
        acc = (acc << 6 | (unsigned)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (unsigned char)(acc >> bits);
        }
    }
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
        free(buf);
        return tv_error_set(err, TV_EARG, NULL, "invalid base64: trailing bits");
    }
    buf[o] = '\0';
    *out = buf;
    *outlen = o;
    return 0;
}
