/*
 * tv_webhook.h -- Twilio webhook signatures (X-Twilio-Signature).
 *
 * The algorithm (https://www.twilio.com/docs/usage/webhooks/webhooks-security,
 * and the official helpers: twilio-python twilio/request_validator.py,
 * twilio-node src/webhooks/webhooks.ts, twilio-go client/request_validator.go):
 *
 *   signature = base64(HMAC-SHA1(auth_token, url .. k1 .. v1 .. k2 .. v2 ...))
 *
 * where url is the full URL Twilio requested (query string included) and the
 * (k, v) are the POST form parameters sorted by key, the values of a
 * repeated key sorted, and exact duplicate (key, value) pairs counted once
 * (python: `sorted(set(values))`, node: `Array.from(new Set(v)).sort()`).
 * For a JSON body the URL carries bodySHA256 = hex(SHA-256(raw body)); the
 * signature then covers the URL alone and the body must hash to that value.
 *
 * tv_webhook_validate accepts the URL as given and the variants the helpers try (see
 * tv_webhook.c): the port removed, the default port added, and the forms
 * twilio-node's WHATWG URL serialisation and legacy querystring produce.
 *
 * No I/O, no global state.  The auth token is never copied into an error
 * message; no function here keeps it.  Errors: TV_EARG (param named) or
 * TV_ENOMEM, return -1.
 */
#ifndef TV_WEBHOOK_H
#define TV_WEBHOOK_H

#include <stddef.h>

#include "tv_error.h"

#if defined(__GNUC__) /* internal to the module: only luaopen_twilio_verify_core is exported, */
#pragma GCC visibility push(hidden) /* so calls between files are direct, with no PLT */
#endif

#define TV_WEBHOOK_SIG_LEN 28    /* base64 of a 20-byte SHA-1 HMAC */
#define TV_WEBHOOK_SHA256_HEX 64 /* hex SHA-256 */

/* One form parameter: borrowed bytes (not NUL-terminated; may hold any
 * byte).  key may be "" (klen 0), val may be "" (vlen 0). */
typedef struct tv_webhook_param {
    const char *key;
    size_t klen;
    const char *val;
    size_t vlen;
} tv_webhook_param;

/* Parameters decoded from an application/x-www-form-urlencoded body. */
typedef struct tv_webhook_form {
    tv_webhook_param *params; /* point into `store` */
    size_t n;
    char *store; /* the decoded bytes */
} tv_webhook_form;

/* Parse `body` as application/x-www-form-urlencoded, the way the
 * frameworks the helpers sit on (Django QueryDict, Express, Go
 * url.ParseQuery) do: pairs split at '&', key and value at the first '=';
 * '+' is a space; %XX decoded (hex case-insensitive); a '%' not followed by
 * two hex digits is kept as it is (Python/Node; Go refuses the body); an
 * empty segment ("a&&b") is skipped; a segment without '=' is a key with
 * an empty value; ';' is an ordinary character.  Repeated keys stay
 * separate parameters in body order.  Bytes are kept as decoded (no UTF-8
 * check).  On success *out owns its memory (tv_webhook_form_free); -1 only
 * on out of memory (err TV_ENOMEM) with *out empty. */
int tv_webhook_parse_form(const char *body, size_t len, tv_webhook_form *out, tv_error *err);
/* Free and zero.  Accepts NULL. */
void tv_webhook_form_free(tv_webhook_form *f);

/* Compute the signature of url + params (sorted, duplicates once, as
 * above) into out (28 base64 characters + NUL).  token must be non-empty
 * (TV_EARG "auth_token"); url non-empty (TV_EARG "url").  params may be
 * NULL when n == 0.  0, or -1 with err. */
int tv_webhook_sign(const char *token, size_t tlen, const char *url, size_t ulen, const tv_webhook_param *params,
                    size_t n, char out[TV_WEBHOOK_SIG_LEN + 1], tv_error *err);

/* Lower-case hex SHA-256 of body into out (64 characters + NUL). 0 or -1 (OOM). */
int tv_webhook_body_sha256(const char *body, size_t len, char out[TV_WEBHOOK_SHA256_HEX + 1]);

/* The value of query parameter `name` in url (the first occurrence,
 * percent-decoded, '+' a space), copied into a malloc'd NUL-terminated
 * *out (*outlen bytes).  1 found, 0 not found (or found empty: python's
 * parse_qs drops blank values), -1 out of memory. */
int tv_webhook_query_get(const char *url, size_t ulen, const char *name, char **out, size_t *outlen);

/* What tv_webhook_validate checks. */
typedef struct tv_webhook_input {
    const char *token; /* the account's auth token; required, non-empty */
    size_t tlen;
    const char *url; /* the full URL Twilio requested; required, non-empty */
    size_t ulen;
    /* Either a raw body (body != NULL) or form parameters (body == NULL):
     *   body with a bodySHA256 query parameter in url: a JSON (or any raw)
     *     body; the signature covers the URL alone and the body's SHA-256
     *     must equal bodySHA256 (hex, compared in constant time);
     *   body without bodySHA256: parsed as application/x-www-form-urlencoded
     *     (tv_webhook_parse_form);
     *   no body: params[0..n) are the form parameters (n may be 0); a url
     *     with a (non-empty) bodySHA256 then never validates ("the URL has
     *     a bodySHA256 but no body was given"). */
    const char *body;
    size_t blen;
    const tv_webhook_param *params;
    size_t n;
    const char *sig; /* the X-Twilio-Signature header; NULL counts as "" */
    size_t siglen;
} tv_webhook_input;

/* Returns 1 when the signature is valid, 0 when it is not (*reason, when
 * reason is non-NULL, a static one-line explanation: "missing signature",
 * "signature mismatch", "bodySHA256 does not match the body"), -1 on bad
 * arguments (TV_EARG naming "auth_token" or "url") or out of memory.
 * Every candidate URL's signature is computed and compared with
 * CRYPTO_memcmp, and the body hash is checked even when the signature
 * fails, so the time taken does not depend on which part matched. */
int tv_webhook_validate(const tv_webhook_input *in, const char **reason, tv_error *err);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#endif
