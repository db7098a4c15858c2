/*
 * tv_webhook.c -- X-Twilio-Signature: compute and validate (tv_webhook.h).
 *
 * Sources (read at these paths; behaviour reproduced, code not copied):
 *   twilio-python  twilio/request_validator.py        (RequestValidator)
 *   twilio-node    src/webhooks/webhooks.ts            (validateRequest,
 *                  getExpectedTwilioSignature, validateRequestWithBody)
 *   twilio-go      client/request_validator.go         (Validate, ValidateBody)
 *
 * Parameters: keys sorted bytewise (= code point order for UTF-8, as Python
 * and Go sort; JavaScript's UTF-16 order differs only between astral
 * characters and U+E000..U+FFFF), the values of one key sorted, an exact
 * (key, value) duplicate counted once -- python `sorted(set(values))`, node
 * `Array.from(new Set(v)).sort()`.  (twilio-go's ValidateBody keeps only
 * the first value of a repeated key; we follow Python and Node, which are
 * also the ones that publish vectors for repeated keys.)
 *
 * URL variants tried by tv_webhook_validate: the URL exactly as given, and
 * these, each with the port removed and
 * with the port present (the scheme's default, 443 for https, else 80, added
 * when the URL has none) -- all three helpers try these two:
 *   1. the URL as given (Python, Go);
 *   2. twilio-node's `new URL(url).toString()`: scheme and host lower-cased,
 *      an empty path becomes "/", and the bytes the WHATWG URL standard
 *      percent-encodes are encoded (path: C0, space, " # < > ? ` { } and
 *      non-ASCII; query: C0, space, " # < > ' and non-ASCII);
 *   3. twilio-node's withLegacyQuerystring: 2. with its query replaced by
 *      querystring.stringify(querystring.parse(query)) -- decoded ('+' is a
 *      space) and re-encoded with everything but A-Z a-z 0-9 - _ . ! ~ * ' ( )
 *      escaped, repeated keys grouped at their first place, array-index keys
 *      ("0", "17") first in numeric order as JavaScript objects order them;
 *      node appends it after the fragment, and so do we.
 * Candidates that come out equal are compared once.
 */
#include "tv_webhook.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "tv.h"

#define MAX_CANDIDATES 7

/* ---- small helpers ------------------------------------------------------ */

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int lower(int c) { return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c; }

/* Decode s[0..n) ('+' a space, %XX, a bad escape kept) into out; returns
 * the decoded length (<= n). */
static size_t form_decode(const char *s, size_t n, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 &&
                   hexval((unsigned char)s[i + 2]) >= 0) {
            c = (unsigned char)(hexval((unsigned char)s[i + 1]) * 16 + hexval((unsigned char)s[i + 2]));
            i += 2;
        }
        out[o++] = (char)c;
    }
    return o;
}

static int add_hex(tv_buf *b, unsigned char c) {
    static const char hex[] = "0123456789ABCDEF";
    char e[3] = {'%', hex[c >> 4], hex[c & 15]};
    return tv_buf_add(b, e, 3);
}

/* ---- form bodies -------------------------------------------------------- */

void tv_webhook_form_free(tv_webhook_form *f) {
    if (!f) return;
    free(f->params);
    free(f->store);
    f->params = NULL;
    f->store = NULL;
    f->n = 0;
}

int tv_webhook_parse_form(const char *body, size_t len, tv_webhook_form *out, tv_error *err) {
    memset(out, 0, sizeof *out);
    size_t segs = 1;
    for (size_t i = 0; i < len; i++)
        if (body[i] == '&') segs++;
    out->store = malloc(len ? len : 1);
    out->params = malloc(segs * sizeof *out->params);
    if (!out->store || !out->params) {
        tv_webhook_form_free(out);
        return tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
    }
    size_t w = 0, start = 0;
    while (start <= len) {
        const char *seg = body ? body + start : "";
        const char *amp = memchr(seg, '&', len - start);
        size_t slen = amp ? (size_t)(amp - seg) : len - start;
        if (slen > 0) {
            const char *eq = memchr(seg, '=', slen);
            size_t kl = eq ? (size_t)(eq - seg) : slen;
            tv_webhook_param *p = &out->params[out->n++];
            p->key = out->store + w;
            p->klen = form_decode(seg, kl, out->store + w);
            w += p->klen;
            p->val = out->store + w;
            p->vlen = eq ? form_decode(eq + 1, slen - kl - 1, out->store + w) : 0;
            w += p->vlen;
        }
        start += slen + 1;
    }
    return 0;
}

/* ---- the signature ------------------------------------------------------ */

static int bytes_cmp(const char *a, size_t al, const char *b, size_t bl) {
    size_t m = al < bl ? al : bl;
    int c = m ? memcmp(a, b, m) : 0;
    if (c) return c;
    return al < bl ? -1 : al > bl;
}

static int param_cmp(const void *pa, const void *pb) {
    const tv_webhook_param *a = *(const tv_webhook_param *const *)pa;
    const tv_webhook_param *b = *(const tv_webhook_param *const *)pb;
    int c = bytes_cmp(a->key, a->klen, b->key, b->klen);
    return c ? c : bytes_cmp(a->val, a->vlen, b->val, b->vlen);
}

/* The signed data after the URL: sorted k..v, duplicates once. */
static int params_data(const tv_webhook_param *params, size_t n, tv_buf *out) {
    if (n == 0) return 0;
    if (n > ((size_t)-1) / sizeof(void *)) return -1;
    const tv_webhook_param **s = malloc(n * sizeof *s);
    if (!s) return -1;
    for (size_t i = 0; i < n; i++) s[i] = &params[i];
    qsort(s, n, sizeof *s, param_cmp);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i > 0 && param_cmp(&s[i - 1], &s[i]) == 0) continue;
        if (tv_buf_add(out, s[i]->key, s[i]->klen) || tv_buf_add(out, s[i]->val, s[i]->vlen)) rc = -1;
    }
    free(s);
    return rc;
}

/* base64(HMAC-SHA1(token, url .. data)) into out. */
static int hmac_b64(const char *token, size_t tlen, const char *url, size_t ulen, const char *data, size_t dlen,
                    tv_buf *scratch, char out[TV_WEBHOOK_SIG_LEN + 1]) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    tv_buf_reset(scratch, 0);
    if (tv_buf_add(scratch, url, ulen) || tv_buf_add(scratch, data, dlen)) return -1;
    if (tlen > INT32_MAX) return -1;
    if (!HMAC(EVP_sha1(), token, (int)tlen, (const unsigned char *)scratch->data, scratch->len, mac, &maclen) ||
        maclen != 20)
        return -1;
    EVP_EncodeBlock((unsigned char *)out, mac, 20);
    out[TV_WEBHOOK_SIG_LEN] = '\0';
    OPENSSL_cleanse(mac, sizeof mac);
    return 0;
}

static int check_common(const char *token, size_t tlen, const char *url, size_t ulen, tv_error *err) {
    if (!token || tlen == 0) return tv_error_set(err, TV_EARG, "auth_token", "auth_token must be a non-empty string");
    if (!url || ulen == 0) return tv_error_set(err, TV_EARG, "url", "url must be a non-empty string");
    return 0;
}

int tv_webhook_sign(const char *token, size_t tlen, const char *url, size_t ulen, const tv_webhook_param *params,
                    size_t n, char out[TV_WEBHOOK_SIG_LEN + 1], tv_error *err) {
    if (check_common(token, tlen, url, ulen, err)) return -1;
    tv_buf data = {0}, scratch = {0};
    int rc = 0;
    if (params_data(params, n, &data) || hmac_b64(token, tlen, url, ulen, data.data ? data.data : "", data.len,
                                                  &scratch, out))
        rc = tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
    tv_buf_free(&data);
    tv_buf_free(&scratch);
    return rc;
}

int tv_webhook_body_sha256(const char *body, size_t len, char out[TV_WEBHOOK_SHA256_HEX + 1]) {
    static const char hex[] = "0123456789abcdef";
    unsigned char md[SHA256_DIGEST_LENGTH];
    unsigned int mdlen = 0;
    if (!EVP_Digest(body ? body : "", len, md, &mdlen, EVP_sha256(), NULL) || mdlen != SHA256_DIGEST_LENGTH)
        return -1;
    for (unsigned i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[TV_WEBHOOK_SHA256_HEX] = '\0';
    return 0;
}

/* ---- URLs ---------------------------------------------------------------- */

/* Offsets into one URL: [0,scheme) scheme, host [host,hend), port digits
 * [pcolon+1, aend) when pcolon != 0, path [aend, q), query (after '?')
 * [q+1, f) when has_q, fragment [f, len). ok == 0: not a URL we can
 * take apart (no "://", bad port...): only the URL as given is tried. */
typedef struct url_parts {
    int ok, https, special, has_q;
    size_t scheme, host, hend, pcolon, aend, q, f, len;
} url_parts;

static void url_split(const char *u, size_t n, url_parts *p) {
    memset(p, 0, sizeof *p);
    p->len = n;
    const char *sep = NULL;
    for (size_t i = 0; i + 2 < n; i++) {
        if (u[i] == ':' && u[i + 1] == '/' && u[i + 2] == '/') {
            sep = u + i;
            break;
        }
        if (u[i] == '/' || u[i] == '?' || u[i] == '#') break;
    }
    if (!sep || sep == u) return;
    p->scheme = (size_t)(sep - u);
    p->https = p->scheme == 5 && lower(u[0]) == 'h' && lower(u[1]) == 't' && lower(u[2]) == 't' &&
               lower(u[3]) == 'p' && lower(u[4]) == 's';
    p->special = p->https || (p->scheme == 4 && lower(u[0]) == 'h' && lower(u[1]) == 't' && lower(u[2]) == 't' &&
                              lower(u[3]) == 'p');
    size_t a = p->scheme + 3, e = a;
    while (e < n && u[e] != '/' && u[e] != '?' && u[e] != '#') e++;
    p->aend = e;
    size_t h = a;
    for (size_t i = a; i < e; i++)
        if (u[i] == '@') h = i + 1;
    p->host = h;
    size_t hend;
    if (h < e && u[h] == '[') {
        const char *rb = memchr(u + h, ']', e - h);
        if (!rb) return;
        hend = (size_t)(rb - u) + 1;
        if (hend < e && u[hend] != ':') return;
    } else {
        const char *c = memchr(u + h, ':', e - h);
        hend = c ? (size_t)(c - u) : e;
    }
    if (hend == h) return; /* no host */
    p->hend = hend;
    if (hend < e) {
        p->pcolon = hend;
        for (size_t i = hend + 1; i < e; i++)
            if (u[i] < '0' || u[i] > '9') return;
    }
    size_t q = e;
    while (q < n && u[q] != '?' && u[q] != '#') q++;
    p->q = q;
    size_t f = q;
    if (q < n && u[q] == '?') {
        p->has_q = 1;
        f = q + 1;
        while (f < n && u[f] != '#') f++;
    }
    p->f = f;
    p->ok = 1;
}

/* u with the port removed (with_port 0) or present (1: the default added
 * when there is none, an empty ":" replaced). */
static int url_port(const char *u, const url_parts *p, int with_port, tv_buf *out) {
    tv_buf_reset(out, 0);
    int has_digits = p->pcolon && p->pcolon + 1 < p->aend;
    if (with_port && has_digits) return tv_buf_add(out, u, p->len);
    if (tv_buf_add(out, u, p->hend)) return -1;
    if (with_port && tv_buf_adds(out, p->https ? ":443" : ":80")) return -1;
    return tv_buf_add(out, u + p->aend, p->len - p->aend);
}

/* Append s[0..n) percent-encoding the bytes of `set` (plus C0, DEL and
 * non-ASCII); existing %XX escapes are left alone, as WHATWG does. */
static int add_encoded(tv_buf *b, const char *s, size_t n, const char *set) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int enc = c < 0x20 || c >= 0x7F || (c && strchr(set, c));
        if (enc ? add_hex(b, c) : tv_buf_add(b, (const char *)&c, 1)) return -1;
    }
    return 0;
}

/* twilio-node's `new URL(u).toString()` (see the file comment). */
static int url_whatwg(const char *u, const url_parts *p, int with_query, tv_buf *out) {
    tv_buf_reset(out, 0);
    for (size_t i = 0; i < p->host; i++) {
        char c = (char)(i < p->scheme ? lower((unsigned char)u[i]) : u[i]);
        if (tv_buf_add(out, &c, 1)) return -1;
    }
    for (size_t i = p->host; i < p->aend; i++) {
        char c = (char)(i < p->hend ? lower((unsigned char)u[i]) : u[i]);
        if (tv_buf_add(out, &c, 1)) return -1;
    }
    if (p->q == p->aend && p->special && tv_buf_add(out, "/", 1)) return -1;
    if (add_encoded(out, u + p->aend, p->q - p->aend, " \"<>`{}")) return -1;
    if (with_query && p->has_q) {
        if (tv_buf_add(out, "?", 1) || add_encoded(out, u + p->q + 1, p->f - p->q - 1, " \"<>'")) return -1;
    }
    return add_encoded(out, u + p->f, p->len - p->f, " \"<>`");
}

/* node querystring.escape: all but A-Z a-z 0-9 - _ . ! ~ * ' ( ) */
static int add_qs_escaped(tv_buf *b, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                   (c && strchr("-_.!~*'()", c));
        if (keep ? tv_buf_add(b, (const char *)&c, 1) : add_hex(b, c)) return -1;
    }
    return 0;
}

/* A JavaScript array index: "0" or [1-9][0-9]* below 2^32 - 1. */
static int js_index(const char *k, size_t n, unsigned long long *v) {
    if (n == 0 || n > 10 || (n > 1 && k[0] == '0')) return 0;
    unsigned long long x = 0;
    for (size_t i = 0; i < n; i++) {
        if (k[i] < '0' || k[i] > '9') return 0;
        x = x * 10 + (unsigned)(k[i] - '0');
    }
    if (x >= 4294967295ULL) return 0;
    *v = x;
    return 1;
}

typedef struct qs_key {
    size_t first; /* index of its first parameter */
    int is_index;
    unsigned long long index;
} qs_key;

static int qs_key_cmp(const void *pa, const void *pb) {
    const qs_key *a = pa, *b = pb;
    if (a->is_index != b->is_index) return a->is_index ? -1 : 1;
    if (a->is_index) return a->index < b->index ? -1 : a->index > b->index;
    return a->first < b->first ? -1 : a->first > b->first;
}

/* querystring.stringify(querystring.parse(q)) appended to out. */
static int legacy_query(const char *q, size_t n, tv_buf *out) {
    tv_webhook_form f;
    tv_error e = TV_ERROR_INIT;
    if (tv_webhook_parse_form(q, n, &f, &e)) return -1;
    int rc = 0;
    qs_key *keys = malloc((f.n ? f.n : 1) * sizeof *keys);
    if (!keys) {
        tv_webhook_form_free(&f);
        return -1;
    }
    size_t nk = 0;
    for (size_t i = 0; i < f.n; i++) {
        size_t j = 0;
        while (j < i && bytes_cmp(f.params[j].key, f.params[j].klen, f.params[i].key, f.params[i].klen) != 0) j++;
        if (j < i) continue; /* not the first of its key */
        keys[nk].first = i;
        keys[nk].is_index = js_index(f.params[i].key, f.params[i].klen, &keys[nk].index);
        nk++;
    }
    qsort(keys, nk, sizeof *keys, qs_key_cmp);
    int first = 1;
    for (size_t k = 0; k < nk && rc == 0; k++) {
        const tv_webhook_param *kp = &f.params[keys[k].first];
        for (size_t i = keys[k].first; i < f.n && rc == 0; i++) {
            const tv_webhook_param *p = &f.params[i];
            if (bytes_cmp(p->key, p->klen, kp->key, kp->klen) != 0) continue;
            if ((!first && tv_buf_add(out, "&", 1)) || add_qs_escaped(out, p->key, p->klen) ||
                tv_buf_add(out, "=", 1) || add_qs_escaped(out, p->val, p->vlen))
                rc = -1;
            first = 0;
        }
    }
    free(keys);
    tv_webhook_form_free(&f);
    return rc;
}

/* twilio-node's withLegacyQuerystring(whatwg): the URL without its query,
 * then "?" and the re-encoded query, when the query is not empty. */
static int url_legacy(const char *u, const url_parts *p, tv_buf *w, tv_buf *out) {
    tv_buf_reset(out, 0);
    if (!p->has_q || p->f == p->q + 1) return url_whatwg(u, p, 1, out);
    if (url_whatwg(u, p, 0, out) || tv_buf_add(out, "?", 1)) return -1;
    /* the query as WHATWG serialised it, then parsed and re-encoded */
    tv_buf_reset(w, 0);
    if (add_encoded(w, u + p->q + 1, p->f - p->q - 1, " \"<>'")) return -1;
    return legacy_query(w->data ? w->data : "", w->len, out);
}

/* ---- query parameters of the URL ------------------------------------------ */

int tv_webhook_query_get(const char *url, size_t ulen, const char *name, char **out, size_t *outlen) {
    *out = NULL;
    *outlen = 0;
    size_t qi = 0;
    while (qi < ulen && url[qi] != '?' && url[qi] != '#') qi++;
    if (qi == ulen || url[qi] != '?') return 0; /* no query (a '?' in the fragment is not one) */
    size_t start = qi + 1;
    const char *hash = memchr(url + start, '#', ulen - start);
    size_t end = hash ? (size_t)(hash - url) : ulen;
    tv_webhook_form f;
    tv_error e = TV_ERROR_INIT;
    if (tv_webhook_parse_form(url + start, end - start, &f, &e)) return -1;
    size_t nl = strlen(name);
    int rc = 0;
    for (size_t i = 0; i < f.n; i++) {
        if (f.params[i].klen != nl || memcmp(f.params[i].key, name, nl) != 0) continue;
        if (f.params[i].vlen == 0) continue; /* parse_qs drops blank values */
        char *v = malloc(f.params[i].vlen + 1);
        if (!v) {
            rc = -1;
            break;
        }
        memcpy(v, f.params[i].val, f.params[i].vlen);
        v[f.params[i].vlen] = '\0';
        *out = v;
        *outlen = f.params[i].vlen;
        rc = 1;
        break;
    }
    tv_webhook_form_free(&f);
    return rc;
}

/* ---- validation ------------------------------------------------------------ */

int tv_webhook_validate(const tv_webhook_input *in, const char **reason, tv_error *err) {
    if (reason) *reason = NULL;
    if (check_common(in->token, in->tlen, in->url, in->ulen, err)) return -1;
    tv_webhook_form form = {0};
    tv_buf data = {0}, scratch = {0}, w = {0};
    tv_buf cand[MAX_CANDIDATES];
    memset(cand, 0, sizeof cand);
    char *hash = NULL;
    size_t hashlen = 0;
    int rc = -1, body_ok = 1, json = 0, no_body = 0;
    const tv_webhook_param *params = in->params;
    size_t n = in->n;

    if (in->body) {
        int got = tv_webhook_query_get(in->url, in->ulen, "bodySHA256", &hash, &hashlen);
        if (got < 0) goto oom;
        if (got) {
            char hex[TV_WEBHOOK_SHA256_HEX + 1];
            json = 1;
            if (tv_webhook_body_sha256(in->body, in->blen, hex)) goto oom;
            body_ok = hashlen == TV_WEBHOOK_SHA256_HEX && CRYPTO_memcmp(hex, hash, TV_WEBHOOK_SHA256_HEX) == 0;
            params = NULL;
            n = 0;
        } else {
            if (tv_webhook_parse_form(in->body, in->blen, &form, err)) goto done;
            params = form.params;
            n = form.n;
        }
    } else {
        /* A URL carrying bodySHA256 was signed for a body: without one
         * there is nothing the hash vouches for, so it cannot validate
         * (twilio-python would say true: issue 23 item 7). */
        int got = tv_webhook_query_get(in->url, in->ulen, "bodySHA256", &hash, &hashlen);
        if (got < 0) goto oom;
        if (got) {
            json = 1;
            body_ok = 0;
            no_body = 1;
        }
    }
    if (params_data(params, n, &data)) goto oom;

    /* the candidate URLs */
    size_t nc = 0;
    url_parts p;
    url_split(in->url, in->ulen, &p);
    if (tv_buf_add(&cand[nc++], in->url, in->ulen)) goto oom; /* the URL as given, always */
    if (p.ok) {
        for (int form_i = 0; form_i < 3; form_i++) {
            tv_buf *base = &w;
            tv_buf_reset(&w, 0);
            if (form_i == 0) {
                if (tv_buf_add(&w, in->url, in->ulen)) goto oom;
            } else {
                tv_buf tmp = {0};
                int r = form_i == 1 ? url_whatwg(in->url, &p, 1, &tmp) : url_legacy(in->url, &p, &scratch, &tmp);
                if (r) {
                    tv_buf_free(&tmp);
                    goto oom;
                }
                tv_buf_free(&w);
                w = tmp;
            }
            url_parts bp;
            url_split(base->data, base->len, &bp);
            for (int port = 0; port < 2; port++) {
                tv_buf *c = &cand[nc];
                if (bp.ok ? url_port(base->data, &bp, port, c) : tv_buf_add(c, base->data, base->len)) goto oom;
                int dup = 0;
                for (size_t j = 0; j < nc; j++)
                    if (cand[j].len == c->len && memcmp(cand[j].data, c->data, c->len) == 0) dup = 1;
                if (dup)
                    tv_buf_reset(c, 0);
                else
                    nc++;
            }
        }
    }

    /* compare every candidate; constant-time per comparison */
    int match = 0;
    const char *sig = in->sig ? in->sig : "";
    size_t siglen = in->sig ? in->siglen : 0;
    for (size_t i = 0; i < nc; i++) {
        char mine[TV_WEBHOOK_SIG_LEN + 1];
        if (hmac_b64(in->token, in->tlen, cand[i].data, cand[i].len, data.data ? data.data : "", data.len, &scratch,
                     mine))
            goto oom;
        if (siglen == TV_WEBHOOK_SIG_LEN && CRYPTO_memcmp(mine, sig, TV_WEBHOOK_SIG_LEN) == 0) match = 1;
    }
    if (siglen == 0) {
        rc = 0;
        if (reason) *reason = "missing signature";
    } else if (!body_ok) {
        rc = 0;
        if (reason) *reason = no_body ? "the URL has a bodySHA256 but no body was given" : "bodySHA256 does not match the body";
    } else if (!match) {
        rc = 0;
        if (reason) *reason = json ? "signature mismatch (the URL, with its bodySHA256, was not signed with this token)"
                                   : "signature mismatch";
    } else {
        rc = 1;
    }
    goto done;
oom:
    rc = tv_error_set(err, TV_ENOMEM, NULL, "out of memory");
done:
    for (size_t i = 0; i < MAX_CANDIDATES; i++) tv_buf_free(&cand[i]);
    tv_buf_free(&data);
    tv_buf_free(&scratch);
    tv_buf_free(&w);
    free(hash);
    tv_webhook_form_free(&form);
    return rc;
}
