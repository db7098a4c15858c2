/*
 * tv_totp.c -- RFC 4226 HOTP, RFC 6238 TOTP, RFC 4648 Base32 and
 * otpauth://totp/ URIs (Google Authenticator "Key Uri Format").
 *
 * HMAC comes from OpenSSL (HMAC()); comparisons use CRYPTO_memcmp; every
 * buffer that held key material is wiped with OPENSSL_cleanse.  No I/O, no
 * global mutable state.
 *
 * Choices this file makes where the header leaves room:
 *   - Base32: '=' padding may only trail the data; a data length that no
 *     encoder can produce (1, 3 or 6 characters mod 8) is an error; the
 *     unused low bits of the last character are ignored.  Error positions
 *     are 1-based character offsets into the caller's string.
 *   - tv_totp_check: a code that is not exactly `digits` ASCII digits is a
 *     TV_EARG error (param "code"), not a mismatch.  Steps before the epoch
 *     (counter < 0) are skipped.  When several steps match, the smallest
 *     |offset| wins, the past before the future (0, -1, +1, -2, +2).
 *   - tv_otpauth_build: digits/period 0 mean the defaults 6/30; digits must
 *     be 3..8, period 1..3600; an issuer of NULL or "" is left out; the
 *     secret is normalised (upper case, no padding/spaces).
 *   - tv_otpauth_parse: scheme and type are case-insensitive; the label is
 *     split at the first literal ':' (a "%3A" separator is honoured when it
 *     matches the issuer parameter); the issuer parameter wins over the
 *     label prefix; '+' in the query means a space; unknown parameters
 *     (image, ...) are ignored, repeated known ones are an error.
 */
#include "tv_totp.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define TV_TOTP_MAX_STEP_ACCEPTED 3600
#define TV_OTPAUTH_DEFAULT_DIGITS 6
#define TV_OTPAUTH_DEFAULT_PERIOD 30

/* ---- algorithms ------------------------------------------------------- */

static const char *const alg_names[] = {"sha1", "sha256", "sha512"};

static int ascii_lower(int c) {
    return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

static int ascii_ieq(const char *a, size_t alen, const char *b) {
    size_t blen = strlen(b);
    if (alen != blen) return 0;
    for (size_t i = 0; i < alen; i++)
        if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i])) return 0;
    return 1;
}

int tv_totp_alg_parse(const char *name, size_t len, tv_totp_alg *out, tv_error *err) {
    if (!name) return tv_error_set(err, TV_EARG, "alg", "alg is required (sha1, sha256 or sha512)");
    for (int i = 0; i < 3; i++) {
        if (ascii_ieq(name, len, alg_names[i])) {
            if (out) *out = (tv_totp_alg)i;
            return 0;
        }
    }
    if (len > 32 || memchr(name, '\0', len))
        return tv_error_set(err, TV_EARG, "alg", "alg must be sha1, sha256 or sha512");
    return tv_error_set(err, TV_EARG, "alg", "alg must be sha1, sha256 or sha512 (got '%.*s')",
                        (int)len, name);
}

const char *tv_totp_alg_name(tv_totp_alg alg) {
    if ((int)alg < 0 || (int)alg > 2) return "sha1";
    return alg_names[alg];
}

static const EVP_MD *alg_md(tv_totp_alg alg) {
    switch (alg) {
    case TV_TOTP_SHA1: return EVP_sha1();
    case TV_TOTP_SHA256: return EVP_sha256();
    case TV_TOTP_SHA512: return EVP_sha512();
    }
    return NULL;
}

/* ---- Base32 ----------------------------------------------------------- */

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static int b32_value(int c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a';
    if (c >= '2' && c <= '7') return c - '2' + 26;
    return -1;
}

static int b32_ignored(int c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '-';
}

static int b32_bad_char(tv_error *err, const char *in, size_t pos) {
    unsigned char c = (unsigned char)in[pos];
    if (c >= 0x21 && c < 0x7f)
        return tv_error_set(err, TV_EARG, "secret",
                            "secret is not valid Base32: invalid character '%c' at position %zu", c,
                            pos + 1);
    return tv_error_set(err, TV_EARG, "secret",
                        "secret is not valid Base32: invalid byte 0x%02X at position %zu", c,
                        pos + 1);
}

int tv_base32_decode(const char *in, size_t len, unsigned char **out, size_t *outlen, tv_error *err) {
    if (out) *out = NULL;
    if (outlen) *outlen = 0;
    if (!out || !outlen) return tv_error_set(err, TV_EARG, "secret", "no output buffer");
    if (!in) return tv_error_set(err, TV_EARG, "secret", "secret is required");
    if (len > SIZE_MAX / 5 - 8) return tv_error_set(err, TV_EARG, "secret", "secret is too long");

    /* Validate first (no allocation on bad input), counting data chars. */
    size_t nchars = 0;
    int padding = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)in[i];
        if (b32_ignored(c)) continue;
        if (c == '=') {
            padding = 1;
            continue;
        }
        if (b32_value(c) < 0) return b32_bad_char(err, in, i);
        if (padding)
            return tv_error_set(err, TV_EARG, "secret",
                                "secret is not valid Base32: data after '=' padding at position %zu",
                                i + 1);
        nchars++;
    }
    if (nchars == 0) return tv_error_set(err, TV_EARG, "secret", "secret is empty");
    size_t rem = nchars % 8;
    if (rem == 1 || rem == 3 || rem == 6)
        return tv_error_set(err, TV_EARG, "secret",
                            "secret is not valid Base32: %zu characters is not a valid length",
                            nchars);

    size_t n = nchars * 5 / 8;
    unsigned char *buf = malloc(n ? n : 1);
    if (!buf) return tv_error_set(err, TV_ENOMEM, "secret", "out of memory decoding secret");
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < len && o < n; i++) {
        int v = b32_value((unsigned char)in[i]);
        if (v < 0) continue; /* ignored characters and padding */
        acc = ((acc << 5) | (uint32_t)v) & 0xFFFu;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (unsigned char)(acc >> bits);
        }
    }
    OPENSSL_cleanse(&acc, sizeof acc);
    *out = buf;
    *outlen = n;
    return 0;
}

char *tv_base32_encode(const unsigned char *in, size_t len) {
    if (!in && len) return NULL;
    if (len > SIZE_MAX / 8 - 1) return NULL;
    size_t n = (len * 8 + 4) / 5;
    char *s = malloc(n + 1);
    if (!s) return NULL;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        acc = ((acc << 8) | in[i]) & 0xFFFFu;
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            s[o++] = b32_alphabet[(acc >> bits) & 31];
        }
    }
    if (bits > 0) s[o++] = b32_alphabet[(acc << (5 - bits)) & 31];
    s[o] = '\0';
    OPENSSL_cleanse(&acc, sizeof acc);
    return s;
}

void tv_secret_free(unsigned char *key, size_t len) {
    if (!key) return;
    OPENSSL_cleanse(key, len);
    free(key);
}

static void wipe_free_str(char *s) {
    if (!s) return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

/* ---- HOTP / TOTP ------------------------------------------------------ */

static int check_common(const unsigned char *key, size_t keylen, tv_totp_alg alg, int digits,
                        tv_error *err) {
    if (!key || keylen == 0) return tv_error_set(err, TV_EARG, "secret", "secret is empty");
    if (keylen > INT_MAX) return tv_error_set(err, TV_EARG, "secret", "secret is too long");
    if (!alg_md(alg)) return tv_error_set(err, TV_EARG, "alg", "alg must be sha1, sha256 or sha512");
    if (digits < TV_TOTP_MIN_DIGITS || digits > TV_TOTP_MAX_DIGITS)
        return tv_error_set(err, TV_EARG, "digits", "digits must be between %d and %d (got %d)",
                            TV_TOTP_MIN_DIGITS, TV_TOTP_MAX_DIGITS, digits);
    return 0;
}

/* HOTP without argument checks (callers validated). */
static int hotp_raw(const unsigned char *key, size_t keylen, tv_totp_alg alg, uint64_t counter,
                    int digits, char out[TV_TOTP_MAX_DIGITS + 1], tv_error *err) {
    unsigned char msg[8];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    for (int i = 7; i >= 0; i--) {
        msg[i] = (unsigned char)(counter & 0xFF);
        counter >>= 8;
    }
    if (!HMAC(alg_md(alg), key, (int)keylen, msg, sizeof msg, mac, &maclen) || maclen < 20) {
        OPENSSL_cleanse(mac, sizeof mac);
        return tv_error_set(err, TV_ENOMEM, NULL, "HMAC computation failed");
    }
    unsigned off = mac[maclen - 1] & 0x0F;
    uint32_t bin = ((uint32_t)(mac[off] & 0x7F) << 24) | ((uint32_t)mac[off + 1] << 16) |
                   ((uint32_t)mac[off + 2] << 8) | (uint32_t)mac[off + 3];
    static const uint32_t pow10[] = {1u, 10u, 100u, 1000u, 10000u, 100000u, 1000000u,
                                     10000000u, 100000000u};
    uint32_t code = bin % pow10[digits];
    for (int i = digits - 1; i >= 0; i--) {
        out[i] = (char)('0' + code % 10);
        code /= 10;
    }
    out[digits] = '\0';
    OPENSSL_cleanse(mac, sizeof mac);
    OPENSSL_cleanse(&bin, sizeof bin);
    return 0;
}

int tv_hotp(const unsigned char *key, size_t keylen, tv_totp_alg alg, uint64_t counter, int digits,
            char out[TV_TOTP_MAX_DIGITS + 1], tv_error *err) {
    if (!out) return tv_error_set(err, TV_EARG, "code", "no output buffer");
    out[0] = '\0';
    if (check_common(key, keylen, alg, digits, err)) return -1;
    return hotp_raw(key, keylen, alg, counter, digits, out, err);
}

static int check_time(int64_t t, int step, tv_error *err) {
    if (t < 0) return tv_error_set(err, TV_EARG, "time", "time must be >= 0 (got %lld)", (long long)t);
    if (step < 1 || step > TV_TOTP_MAX_STEP_ACCEPTED)
        return tv_error_set(err, TV_EARG, "step", "step must be between 1 and %d seconds (got %d)",
                            TV_TOTP_MAX_STEP_ACCEPTED, step);
    return 0;
}

int tv_totp_code(const unsigned char *key, size_t keylen, tv_totp_alg alg, int64_t t, int step,
                 int digits, char out[TV_TOTP_MAX_DIGITS + 1], tv_error *err) {
    if (!out) return tv_error_set(err, TV_EARG, "code", "no output buffer");
    out[0] = '\0';
    if (check_common(key, keylen, alg, digits, err)) return -1;
    if (check_time(t, step, err)) return -1;
    return hotp_raw(key, keylen, alg, (uint64_t)(t / step), digits, out, err);
}

int tv_totp_check(const unsigned char *key, size_t keylen, tv_totp_alg alg, int64_t t, int step,
                  int digits, int skew, const char *code, size_t codelen, int *offset, tv_error *err) {
    if (offset) *offset = 0;
    if (check_common(key, keylen, alg, digits, err)) return -1;
    if (check_time(t, step, err)) return -1;
    if (skew < 0 || skew > TV_TOTP_MAX_SKEW)
        return tv_error_set(err, TV_EARG, "skew", "skew must be between 0 and %d (got %d)",
                            TV_TOTP_MAX_SKEW, skew);
    if (!code) return tv_error_set(err, TV_EARG, "code", "code is required");
    /* The code's shape is not secret: checking it early leaks nothing. */
    int shape_ok = codelen == (size_t)digits;
    for (size_t i = 0; shape_ok && i < codelen; i++)
        if (code[i] < '0' || code[i] > '9') shape_ok = 0;
    if (!shape_ok)
        return tv_error_set(err, TV_EARG, "code", "code must be exactly %d decimal digits", digits);

    int64_t counter = t / step;
    int found = 0, found_off = 0;
    char want[TV_TOTP_MAX_DIGITS + 1];
    /* Order 0, -1, +1, -2, +2: the first match (smallest |offset|) wins.
     * Every step of the window is computed and compared. */
    for (int k = 0; k <= 2 * skew; k++) {
        int off = (k + 1) / 2 * ((k % 2) ? -1 : 1);
        if (counter + off < 0) continue; /* before the epoch: public, skip */
        if (hotp_raw(key, keylen, alg, (uint64_t)(counter + off), digits, want, err)) {
            OPENSSL_cleanse(want, sizeof want);
            return -1;
        }
        int eq = CRYPTO_memcmp(want, code, (size_t)digits) == 0;
        int take = eq & (found ^ 1);     /* 0 or 1 */
        int mask = -take;                /* 0 or all ones */
        found_off = (found_off & ~mask) | (off & mask);
        found |= eq;
    }
    OPENSSL_cleanse(want, sizeof want);
    if (offset) *offset = found ? found_off : 0;
    return found ? 1 : 0;
}

/* ---- otpauth:// URIs -------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_grow(sbuf *b, size_t need) {
    if (b->oom) return;
    if (b->len + need + 1 <= b->cap) return;
    if (need > SIZE_MAX / 2 - b->len - 1) {
        b->oom = 1;
        return;
    }
    size_t cap = b->cap ? b->cap : 128;
    while (cap < b->len + need + 1) cap *= 2;
    char *p = malloc(cap);
    if (!p) {
        b->oom = 1;
        return;
    }
    if (b->p) {
        memcpy(p, b->p, b->len);
        OPENSSL_cleanse(b->p, b->cap); /* the URI carries the secret */
        free(b->p);
    }
    b->p = p;
    b->cap = cap;
}

static void sb_add(sbuf *b, const char *s, size_t n) {
    sb_grow(b, n);
    if (b->oom) return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_adds(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static int unreserved(int c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

static void sb_pct(sbuf *b, const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (unreserved(*p)) {
            sb_add(b, (const char *)p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            sb_add(b, e, 3);
        }
    }
}

char *tv_otpauth_build(const tv_otpauth *u, tv_error *err) {
    if (!u) {
        tv_error_set(err, TV_EARG, "uri", "no otpauth record");
        return NULL;
    }
    if (!u->account || !*u->account) {
        tv_error_set(err, TV_EARG, "account", "account is required");
        return NULL;
    }
    if (!u->secret) {
        tv_error_set(err, TV_EARG, "secret", "secret is required");
        return NULL;
    }
    if (!alg_md(u->alg)) {
        tv_error_set(err, TV_EARG, "alg", "alg must be sha1, sha256 or sha512");
        return NULL;
    }
    int digits = u->digits ? u->digits : TV_OTPAUTH_DEFAULT_DIGITS;
    int period = u->period ? u->period : TV_OTPAUTH_DEFAULT_PERIOD;
    if (digits < TV_TOTP_MIN_DIGITS || digits > TV_TOTP_MAX_DIGITS) {
        tv_error_set(err, TV_EARG, "digits", "digits must be between %d and %d (got %d)",
                     TV_TOTP_MIN_DIGITS, TV_TOTP_MAX_DIGITS, digits);
        return NULL;
    }
    if (period < 1 || period > TV_TOTP_MAX_STEP_ACCEPTED) {
        tv_error_set(err, TV_EARG, "period", "period must be between 1 and %d seconds (got %d)",
                     TV_TOTP_MAX_STEP_ACCEPTED, period);
        return NULL;
    }

    /* Validate and normalise the secret. */
    unsigned char *key = NULL;
    size_t keylen = 0;
    if (tv_base32_decode(u->secret, strlen(u->secret), &key, &keylen, err)) return NULL;
    char *secret = tv_base32_encode(key, keylen);
    tv_secret_free(key, keylen);
    if (!secret) {
        tv_error_set(err, TV_ENOMEM, NULL, "out of memory building otpauth URI");
        return NULL;
    }

    const char *alg_upper[] = {"SHA1", "SHA256", "SHA512"};
    char num[32];
    int has_issuer = u->issuer && *u->issuer;
    sbuf b = {NULL, 0, 0, 0};
    sb_adds(&b, "otpauth://totp/");
    if (has_issuer) {
        sb_pct(&b, u->issuer);
        sb_adds(&b, ":");
    }
    sb_pct(&b, u->account);
    sb_adds(&b, "?secret=");
    sb_adds(&b, secret);
    if (has_issuer) {
        sb_adds(&b, "&issuer=");
        sb_pct(&b, u->issuer);
    }
    sb_adds(&b, "&algorithm=");
    sb_adds(&b, alg_upper[u->alg]);
    snprintf(num, sizeof num, "&digits=%d&period=%d", digits, period);
    sb_adds(&b, num);
    wipe_free_str(secret);
    if (b.oom) {
        if (b.p) {
            OPENSSL_cleanse(b.p, b.cap);
            free(b.p);
        }
        tv_error_set(err, TV_ENOMEM, NULL, "out of memory building otpauth URI");
        return NULL;
    }
    return b.p;
}

void tv_otpauth_free(tv_otpauth *u) {
    if (!u) return;
    free(u->issuer);
    free(u->account);
    wipe_free_str(u->secret);
    memset(u, 0, sizeof *u);
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decode s[0..n) into a new string; '+' is a space when plus_space.
 * Returns 0, or -1 with err (param `param`). */
static int pct_decode(const char *s, size_t n, int plus_space, const char *param, char **out,
                      tv_error *err) {
    *out = NULL;
    char *d = malloc(n + 1);
    if (!d) return tv_error_set(err, TV_ENOMEM, NULL, "out of memory parsing otpauth URI");
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n) {
                OPENSSL_cleanse(d, n + 1);
                free(d);
                return tv_error_set(err, TV_EARG, param,
                                    "uri has a truncated percent-escape in %s", param);
            }
            int h = hexval((unsigned char)s[i + 1]), l = hexval((unsigned char)s[i + 2]);
            if (h < 0 || l < 0) {
                OPENSSL_cleanse(d, n + 1);
                free(d);
                return tv_error_set(err, TV_EARG, param, "uri has an invalid percent-escape in %s",
                                    param);
            }
            c = h * 16 + l;
            if (c == 0) {
                OPENSSL_cleanse(d, n + 1);
                free(d);
                return tv_error_set(err, TV_EARG, param, "uri has an encoded NUL in %s", param);
            }
            i += 2;
        } else if (c == '+' && plus_space) {
            c = ' ';
        }
        d[o++] = (char)c;
    }
    d[o] = '\0';
    *out = d;
    return 0;
}

/* Strict decimal in [lo, hi]. */
static int parse_small_int(const char *s, int lo, int hi, int *out) {
    if (!*s) return -1;
    long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return -1;
        v = v * 10 + (*p - '0');
        if (v > hi) return -1;
    }
    if (v < lo) return -1;
    *out = (int)v;
    return 0;
}

static int has_prefix_ci(const char *s, size_t n, const char *prefix) {
    size_t pn = strlen(prefix);
    return n >= pn && ascii_ieq(s, pn, prefix);
}

int tv_otpauth_parse(const char *uri, size_t len, tv_otpauth *out, tv_error *err) {
    if (!out) return tv_error_set(err, TV_EARG, "uri", "no output record");
    memset(out, 0, sizeof *out);
    if (!uri) return tv_error_set(err, TV_EARG, "uri", "uri is required");
    if (memchr(uri, '\0', len)) return tv_error_set(err, TV_EARG, "uri", "uri contains a NUL byte");
    if (!has_prefix_ci(uri, len, "otpauth://"))
        return tv_error_set(err, TV_EARG, "uri", "uri must start with otpauth://");
    const char *p = uri + 10, *end = uri + len;
    const char *hash = memchr(p, '#', (size_t)(end - p));
    if (hash) end = hash;
    const char *slash = memchr(p, '/', (size_t)(end - p));
    if (!slash) return tv_error_set(err, TV_EARG, "uri", "uri has no type (expected otpauth://totp/)");
    if (!ascii_ieq(p, (size_t)(slash - p), "totp")) {
        if ((size_t)(slash - p) <= 16 && !memchr(p, '%', (size_t)(slash - p)))
            return tv_error_set(err, TV_EARG, "uri", "uri type must be totp (got '%.*s')",
                                (int)(slash - p), p);
        return tv_error_set(err, TV_EARG, "uri", "uri type must be totp");
    }
    const char *label = slash + 1;
    const char *q = memchr(label, '?', (size_t)(end - label));
    const char *label_end = q ? q : end;

    char *secret = NULL, *issuer_q = NULL, *issuer_l = NULL, *account = NULL, *tmp = NULL;
    int seen_secret = 0, seen_issuer = 0, seen_alg = 0, seen_digits = 0, seen_period = 0;
    tv_totp_alg alg = TV_TOTP_SHA1;
    int digits = TV_OTPAUTH_DEFAULT_DIGITS, period = TV_OTPAUTH_DEFAULT_PERIOD;

    /* Query: name=value pairs separated by '&'. */
    if (q) {
        const char *s = q + 1;
        while (s < end) {
            const char *amp = memchr(s, '&', (size_t)(end - s));
            const char *pe = amp ? amp : end;
            const char *eq = memchr(s, '=', (size_t)(pe - s));
            const char *ne = eq ? eq : pe;
            const char *v = eq ? eq + 1 : pe;
            size_t nlen = (size_t)(ne - s), vlen = (size_t)(pe - v);
            const char *param = NULL;
            int *seen = NULL;
            if (ascii_ieq(s, nlen, "secret")) param = "secret", seen = &seen_secret;
            else if (ascii_ieq(s, nlen, "issuer")) param = "issuer", seen = &seen_issuer;
            else if (ascii_ieq(s, nlen, "algorithm")) param = "algorithm", seen = &seen_alg;
            else if (ascii_ieq(s, nlen, "digits")) param = "digits", seen = &seen_digits;
            else if (ascii_ieq(s, nlen, "period")) param = "period", seen = &seen_period;
            if (param) {
                if (*seen) {
                    tv_error_set(err, TV_EARG, param, "uri repeats the %s parameter", param);
                    goto fail;
                }
                *seen = 1;
                if (pct_decode(v, vlen, 1, param, &tmp, err)) goto fail;
                if (param[0] == 's') {
                    secret = tmp, tmp = NULL;
                } else if (param[0] == 'i') {
                    issuer_q = tmp, tmp = NULL;
                } else if (param[0] == 'a') {
                    if (tv_totp_alg_parse(tmp, strlen(tmp), &alg, err)) {
                        if (strlen(tmp) <= 16)
                            tv_error_set(err, TV_EARG, "algorithm",
                                         "uri algorithm must be SHA1, SHA256 or SHA512 (got '%s')",
                                         tmp);
                        else
                            tv_error_set(err, TV_EARG, "algorithm",
                                         "uri algorithm must be SHA1, SHA256 or SHA512");
                        goto fail;
                    }
                } else if (param[0] == 'd') {
                    if (parse_small_int(tmp, TV_TOTP_MIN_DIGITS, TV_TOTP_MAX_DIGITS, &digits)) {
                        tv_error_set(err, TV_EARG, "digits",
                                     "uri digits must be an integer between %d and %d",
                                     TV_TOTP_MIN_DIGITS, TV_TOTP_MAX_DIGITS);
                        goto fail;
                    }
                } else {
                    if (parse_small_int(tmp, 1, TV_TOTP_MAX_STEP_ACCEPTED, &period)) {
                        tv_error_set(err, TV_EARG, "period",
                                     "uri period must be an integer between 1 and %d seconds",
                                     TV_TOTP_MAX_STEP_ACCEPTED);
                        goto fail;
                    }
                }
                free(tmp);
                tmp = NULL;
            }
            s = amp ? amp + 1 : end;
        }
    }
    if (!secret || !*secret) {
        tv_error_set(err, TV_EARG, "secret", "uri has no secret parameter");
        goto fail;
    }
    {
        unsigned char *key = NULL;
        size_t keylen = 0;
        if (tv_base32_decode(secret, strlen(secret), &key, &keylen, err)) goto fail;
        tv_secret_free(key, keylen);
    }

    /* Label: [issuer ":"] account, split at the first literal ':'. */
    {
        const char *colon = memchr(label, ':', (size_t)(label_end - label));
        if (colon) {
            if (pct_decode(label, (size_t)(colon - label), 0, "issuer", &issuer_l, err)) goto fail;
            if (pct_decode(colon + 1, (size_t)(label_end - colon - 1), 0, "account", &account, err))
                goto fail;
        } else {
            if (pct_decode(label, (size_t)(label_end - label), 0, "account", &account, err)) goto fail;
            /* "Issuer%3Aaccount": honour the encoded colon only when it
             * matches the issuer parameter. */
            size_t il = issuer_q ? strlen(issuer_q) : 0;
            if (il && strncmp(account, issuer_q, il) == 0 && account[il] == ':') {
                memmove(account, account + il + 1, strlen(account + il + 1) + 1);
            }
        }
        /* The key URI format allows spaces before the account name. */
        size_t sp = 0;
        while (account[sp] == ' ') sp++;
        if (sp) memmove(account, account + sp, strlen(account + sp) + 1);
        if (!*account) {
            tv_error_set(err, TV_EARG, "account", "uri has no account name in its label");
            goto fail;
        }
    }

    if (issuer_q && *issuer_q) {
        out->issuer = issuer_q, issuer_q = NULL;
    } else if (issuer_l && *issuer_l) {
        out->issuer = issuer_l, issuer_l = NULL;
    }
    free(issuer_q);
    free(issuer_l);
    out->account = account;
    out->secret = secret;
    out->alg = alg;
    out->digits = digits;
    out->period = period;
    return 0;

fail:
    wipe_free_str(tmp);
    wipe_free_str(secret);
    free(issuer_q);
    free(issuer_l);
    free(account);
    memset(out, 0, sizeof *out);
    return -1;
}
