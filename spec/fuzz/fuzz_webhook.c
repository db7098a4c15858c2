/* fuzz_webhook.c -- libFuzzer harness: webhook signatures (tv_webhook.c):
 * form-body parsing, the bodySHA256 lookup, the URL variants and
 * validation.
 *
 * Input: fields (fuzz.h) token, url, then the rest is the body.  The
 * token's empty field becomes "t" (an empty token is an argument error,
 * checked once).
 *
 * Invariants:
 *   - parsing never fails (only on OOM), gives at most one parameter per
 *     '&'-separated segment, each decoded no longer than its text; parsing
 *     the parameters re-encoded (every byte %XX) gives them back;
 *   - sign(url, params) does not depend on the order of the parameters;
 *   - a form body (url without a non-empty bodySHA256) validates against
 *     sign(url, parsed body), and not against that signature with a
 *     character changed, nor against another token;
 *   - with bodySHA256 in url, no body (nil or a parameter table) never
 *     validates, whatever the signature;
 *   - with bodySHA256 in url, sign(url, no params) validates iff the
 *     body's SHA-256 is that value;
 *   - validate answers 0 or 1 with a reason on 0, never -1 (no OOM here).
 * Never crashes or leaks.  The seeds (spec/fuzz/corpus/webhook/) are
 * hand-written: the published vectors' shapes, an awkward URL and body,
 * JSON bodies with a matching and a wrong bodySHA256, a URL without scheme. */
#include "fuzz.h"
#include "tv_webhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fz_wh_validate(const char *tok, size_t tl, const char *url, size_t ul, const char *body, size_t bl,
                          const tv_webhook_param *p, size_t n, const char *sig, size_t sl) {
    tv_webhook_input in;
    memset(&in, 0, sizeof in);
    in.token = tok;
    in.tlen = tl;
    in.url = url;
    in.ulen = ul;
    in.body = body;
    in.blen = bl;
    in.params = p;
    in.n = n;
    in.sig = sig;
    in.siglen = sl;
    const char *why = NULL;
    tv_error err = TV_ERROR_INIT;
    int rc = tv_webhook_validate(&in, &why, &err);
    FZ_ASSERT(rc == 0 || rc == 1);
    FZ_ASSERT(rc == 1 ? why == NULL : (why != NULL && why[0] != '\0'));
    FZ_ASSERT(err.kind == TV_OK);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in in = {data, size};
    size_t tl, ul, bl;
    char *tok = fz_take(&in, &tl, 0);
    char *url = fz_take(&in, &ul, 0);
    char *body = fz_rest(&in, &bl, 0);
    const char *token = tl ? tok : "t";
    if (!tl) tl = 1;
    tv_error err = TV_ERROR_INIT;
    char sig[TV_WEBHOOK_SIG_LEN + 1], sig2[TV_WEBHOOK_SIG_LEN + 1];

    /* parsing */
    tv_webhook_form f;
    FZ_ASSERT(tv_webhook_parse_form(body, bl, &f, &err) == 0);
    size_t segs = 1;
    for (size_t i = 0; i < bl; i++) segs += body[i] == '&';
    FZ_ASSERT(f.n <= segs);
    size_t total = 0;
    for (size_t i = 0; i < f.n; i++) total += f.params[i].klen + f.params[i].vlen;
    FZ_ASSERT(total <= bl);
    /* round trip: every byte %XX-encoded */
    size_t cap = total * 3 + 2 * f.n + 1, o = 0;
    char *enc = malloc(cap);
    FZ_ASSERT(enc != NULL);
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < f.n; i++) {
        if (i) enc[o++] = '&';
        for (int part = 0; part < 2; part++) {
            const char *s = part ? f.params[i].val : f.params[i].key;
            size_t n = part ? f.params[i].vlen : f.params[i].klen;
            if (part) enc[o++] = '=';
            for (size_t j = 0; j < n; j++) {
                enc[o++] = '%';
                enc[o++] = hx[(unsigned char)s[j] >> 4];
                enc[o++] = hx[(unsigned char)s[j] & 15];
            }
        }
    }
    FZ_ASSERT(o <= cap);
    tv_webhook_form g;
    FZ_ASSERT(tv_webhook_parse_form(enc, o, &g, &err) == 0);
    /* "=" alone (empty key and value) re-encodes to "=": one parameter */
    FZ_ASSERT(g.n == f.n);
    for (size_t i = 0; i < f.n; i++) {
        FZ_ASSERT(g.params[i].klen == f.params[i].klen && g.params[i].vlen == f.params[i].vlen);
        FZ_ASSERT(!f.params[i].klen || memcmp(g.params[i].key, f.params[i].key, f.params[i].klen) == 0);
        FZ_ASSERT(!f.params[i].vlen || memcmp(g.params[i].val, f.params[i].val, f.params[i].vlen) == 0);
    }
    tv_webhook_form_free(&g);
    free(enc);

    if (ul == 0) {
        FZ_ASSERT(tv_webhook_sign(token, tl, url, 0, f.params, f.n, sig, &err) == -1);
        FZ_ASSERT(err.kind == TV_EARG && strcmp(err.param, "url") == 0);
        tv_error_clear(&err);
        goto out;
    }
    FZ_ASSERT(tv_webhook_sign("", 0, url, ul, NULL, 0, sig, &err) == -1 && strcmp(err.param, "auth_token") == 0);
    tv_error_clear(&err);

    /* order does not matter */
    FZ_ASSERT(tv_webhook_sign(token, tl, url, ul, f.params, f.n, sig, &err) == 0);
    FZ_ASSERT(strlen(sig) == TV_WEBHOOK_SIG_LEN);
    if (f.n > 1) {
        tv_webhook_param *rev = malloc(f.n * sizeof *rev);
        FZ_ASSERT(rev != NULL);
        for (size_t i = 0; i < f.n; i++) rev[i] = f.params[f.n - 1 - i];
        FZ_ASSERT(tv_webhook_sign(token, tl, url, ul, rev, f.n, sig2, &err) == 0);
        FZ_ASSERT(memcmp(sig, sig2, TV_WEBHOOK_SIG_LEN) == 0);
        free(rev);
    }

    char *h = NULL;
    size_t hl = 0;
    int got = tv_webhook_query_get(url, ul, "bodySHA256", &h, &hl);
    FZ_ASSERT(got == 0 || got == 1);
    FZ_ASSERT(got == 0 ? h == NULL : (h != NULL && hl > 0 && strlen(h) <= hl));
    if (!got) {
        FZ_ASSERT(fz_wh_validate(token, tl, url, ul, body, bl, NULL, 0, sig, TV_WEBHOOK_SIG_LEN) == 1);
        FZ_ASSERT(fz_wh_validate(token, tl, url, ul, NULL, 0, f.params, f.n, sig, TV_WEBHOOK_SIG_LEN) == 1);
        memcpy(sig2, sig, sizeof sig);
        sig2[data[0] % TV_WEBHOOK_SIG_LEN] ^= 1;
        FZ_ASSERT(fz_wh_validate(token, tl, url, ul, body, bl, NULL, 0, sig2, TV_WEBHOOK_SIG_LEN) == 0);
        FZ_ASSERT(fz_wh_validate(token, tl, url, ul, body, bl, NULL, 0, sig, TV_WEBHOOK_SIG_LEN - 1) == 0);
        /* a token whose first byte differs is another HMAC key */
        const char *other = token[0] == 'x' ? "y" : "x";
        FZ_ASSERT(fz_wh_validate(other, 1, url, ul, body, bl, NULL, 0, sig, TV_WEBHOOK_SIG_LEN) == 0);
    } else {
        char hex[TV_WEBHOOK_SHA256_HEX + 1];
        FZ_ASSERT(tv_webhook_body_sha256(body, bl, hex) == 0);
        FZ_ASSERT(tv_webhook_sign(token, tl, url, ul, NULL, 0, sig2, &err) == 0);
        int match = hl == TV_WEBHOOK_SHA256_HEX && memcmp(h, hex, TV_WEBHOOK_SHA256_HEX) == 0;
        FZ_ASSERT(fz_wh_validate(token, tl, url, ul, body, bl, NULL, 0, sig2, TV_WEBHOOK_SIG_LEN) == match);
        /* no body: nothing the hash vouches for, never valid (issue 23 item 7) */
        FZ_ASSERT(fz_wh_validate(token, tl, url, ul, NULL, 0, NULL, 0, sig2, TV_WEBHOOK_SIG_LEN) == 0);
        FZ_ASSERT(fz_wh_validate(token, tl, url, ul, NULL, 0, f.params, f.n, sig, TV_WEBHOOK_SIG_LEN) == 0);
    }
    free(h);
    /* whatever the signature: an answer */
    (void)fz_wh_validate(token, tl, url, ul, body, bl, NULL, 0, body, bl);
out:
    tv_webhook_form_free(&f);
    free(tok);
    free(url);
    free(body);
    return 0;
}
