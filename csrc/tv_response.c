/* tv_response.c -- sans-I/O response parsing: status + body -> cJSON or
 * a structured tv_error.  Knows nothing of the transport. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tv.h"

/* Sources: the description's response headers (Twilio-Verify-Signature-Fields
 * on FetchChallenge, Twilio-Verify-Challenge-Signature on UpdateChallenge,
 * Twilio-Verify-Factor-Signature on UpdateFactor, Twilio-Reached-Rate-Limit
 * and Retry-After), Twilio-Request-Id (every response), the request
 * duration and concurrency headers Twilio's REST API sends
 * (Twilio-Request-Duration, Twilio-Concurrent-Requests: "Monitor the ...
 * response headers", https://www.twilio.com/docs/api/errors/45780) and the
 * X-Rate-Limit-* headers of rate-limited endpoints
 * (https://support.twilio.com/hc/en-us/articles/37736751264283). */
const char *const tv_meta_header_names[TV_NMETA_HEADERS] = {
    "Twilio-Request-Id",
    "Twilio-Request-Duration",
    "Twilio-Concurrent-Requests",
    "Twilio-Reached-Rate-Limit",
    "Retry-After",
    "Twilio-Verify-Signature-Fields",
    "Twilio-Verify-Challenge-Signature",
    "Twilio-Verify-Factor-Signature",
    "X-Rate-Limit-Limit",
    "X-Rate-Limit-Remaining",
    "X-Rate-Limit-Config",
};

int tv_meta_header_index(const char *name, size_t len) {
    for (int i = 0; i < TV_NMETA_HEADERS; i++) {
        const char *n = tv_meta_header_names[i];
        if (strlen(n) == len && strncasecmp(n, name, len) == 0) return i;
    }
    return -1;
}

int tv_response_meta_set(tv_response *resp, int idx, const char *v, size_t len) {
    if (idx < 0 || idx >= TV_NMETA_HEADERS) return 0;
    while (len && (*v == ' ' || *v == '\t')) v++, len--;
    while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' ' || v[len - 1] == '\t')) len--;
    resp->meta_off[idx] = 0;
    if (len > 8192 || resp->meta.len > 65536) return 0; /* bounded: a hostile server cannot grow it */
    size_t at = resp->meta.len;
    if (tv_buf_reserve(&resp->meta, len + 1)) return -1;
    char *d = resp->meta.data + at;
    size_t k = 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)v[i] >= 0x20 && v[i] != 0x7f) d[k++] = v[i];
    d[k] = '\0';
    resp->meta.len = at + k + 1;
    resp->meta_off[idx] = (unsigned)at + 1;
    return 0;
}

void tv_response_set_request_id(tv_response *resp, const char *v, size_t len) {
    size_t k = 0;
    for (size_t i = 0; i < len && k + 1 < sizeof resp->request_id; i++)
        if ((unsigned char)v[i] > 0x20 && (unsigned char)v[i] < 0x7f) resp->request_id[k++] = v[i];
    resp->request_id[k] = '\0';
}

const char *tv_response_meta(const tv_response *resp, int idx) {
    if (idx < 0 || idx >= TV_NMETA_HEADERS || !resp->meta_off[idx] || !resp->meta.data) return NULL;
    return resp->meta.data + resp->meta_off[idx] - 1;
}

void tv_response_meta_reset(tv_response *resp) {
    resp->meta.len = 0;
    memset(resp->meta_off, 0, sizeof resp->meta_off);
}

void tv_response_reset(tv_response *resp) {
    resp->status = 0;
    tv_buf_reset(&resp->body, 0);
    resp->retry_after = -1;
    resp->request_id[0] = '\0';
    tv_response_meta_reset(resp);
    tv_buf_reset(&resp->raw, 0);
}

void tv_response_free(tv_response *resp) {
    if (!resp) return;
    tv_buf_free(&resp->body);
    tv_buf_free(&resp->meta);
    tv_buf_free(&resp->raw);
    memset(resp->meta_off, 0, sizeof resp->meta_off);
    resp->status = 0;
}

/* n decimal digits at *p (exactly n), value in *out; 0 when not. */
static int fixed_digits(const char **p, const char *end, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        const char *q = *p + i;
        if (q >= end || *q < '0' || *q > '9') return 0;
        v = v * 10 + (*q - '0');
    }
    *p += n;
    *out = v;
    return 1;
}

static int lit(const char **p, const char *end, const char *s) {
    size_t n = strlen(s);
    if ((size_t)(end - *p) < n || memcmp(*p, s, n) != 0) return 0;
    *p += n;
    return 1;
}

double tv_parse_retry_after(const char *v, size_t len, int64_t now) {
    while (len && (*v == ' ' || *v == '\t')) { v++; len--; }
    while (len && (v[len - 1] == ' ' || v[len - 1] == '\t' || v[len - 1] == '\r' || v[len - 1] == '\n'))
        len--;
    if (len == 0 || len > 64) return -1;
    int digits = 1;
    for (size_t i = 0; i < len; i++)
        if (v[i] < '0' || v[i] > '9') digits = 0;
    if (digits) {
        if (len > 9) return 1e9;
        double s = 0;
        for (size_t i = 0; i < len; i++) s = s * 10 + (v[i] - '0');
        return s;
    }
    /* IMF-fixdate only (RFC 9110 5.6.7), parsed field by field with fixed
     * widths: "Sun, 06 Nov 1994 08:49:37 GMT".  No sscanf("%d"): that
     * overflows on long digit strings and accepts signs and spaces.  Every
     * field is range-checked, the day against its month (leap years
     * included), so no impossible date is normalised into a real one. */
    static const char wdays[] = "MonTueWedThuFriSatSun";
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    const char *p = v, *end = v + len;
    int wd = -1, mon = -1, d, y, hh, mm, ss;
    for (int i = 0; i < 7 && wd < 0; i++)
        if (len >= 3 && memcmp(p, wdays + 3 * i, 3) == 0) wd = i;
    if (wd < 0) return -1;
    p += 3;
    if (!lit(&p, end, ", ") || !fixed_digits(&p, end, 2, &d) || !lit(&p, end, " ")) return -1;
    for (int i = 0; i < 12 && mon < 0; i++)
        if (end - p >= 3 && memcmp(p, months + 3 * i, 3) == 0) mon = i;
    if (mon < 0) return -1;
    p += 3;
    if (!lit(&p, end, " ") || !fixed_digits(&p, end, 4, &y) || !lit(&p, end, " ") ||
        !fixed_digits(&p, end, 2, &hh) || !lit(&p, end, ":") || !fixed_digits(&p, end, 2, &mm) ||
        !lit(&p, end, ":") || !fixed_digits(&p, end, 2, &ss) || !lit(&p, end, " GMT") || p != end)
        return -1;
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    int dim = mdays[mon] + (mon == 1 && leap);
    /* ss == 60: a leap second, which the format allows */
    if (y < 1900 || d < 1 || d > dim || hh > 23 || mm > 59 || ss > 60) return -1;
    int64_t days = tv_days_from_civil(y, mon + 1, d);
    /* the weekday must agree with the date (1970-01-01 was a Thursday) */
    if ((int)(((days % 7) + 7 + 3) % 7) != wd) return -1;
    int64_t t = days * 86400 + hh * 3600 + mm * 60 + ss;
    double delta = (double)t - (double)now; /* no int64 overflow for any `now` */
    return delta < 0 ? 0 : delta;
}

static const char *reason(long status) {
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    }
    return "";
}

/* The header-line parsing both transports' answers share (tv_http.c's
 * header callback, a raw block kept for verify.response_of): here, below
 * tv_http.c and tv_error_context. */
static int header_is(const char *line, size_t len, const char *name, const char **val, size_t *vlen) {
    size_t n = strlen(name);
    if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0) return 0;
    const char *v = line + n + 1;
    const char *e = line + len;
    while (v < e && (*v == ' ' || *v == '\t')) v++;
    while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ')) e--;
    *val = v;
    *vlen = (size_t)(e - v);
    return 1;
}

/* One header line of an answer into resp's tracked headers (the names of
 * tv_meta_header_names; the rest is ignored).  0, or -1 on OOM. */
int tv_response_header_line(tv_response *resp, const char *line, size_t len) {
    const char *v;
    size_t vlen;
    /* the names that matter (tv_meta_header_names) start with R, T or X: skip the rest cheaply */
    char c0 = len ? (char)(line[0] | 0x20) : 0;
    if (c0 != 'r' && c0 != 't' && c0 != 'x') return 0;
    const char *colon = memchr(line, ':', len);
    if (!colon) return 0;
    int idx = tv_meta_header_index(line, (size_t)(colon - line));
    if (idx < 0) return 0;
    if (!header_is(line, len, tv_meta_header_names[idx], &v, &vlen)) return 0;
    if (tv_response_meta_set(resp, idx, v, vlen)) return -1;
    if (idx == TV_META_RETRY_AFTER) {
        resp->retry_after = tv_parse_retry_after(v, vlen, (int64_t)time(NULL));
    } else if (idx == TV_META_REQUEST_ID) {
        if (vlen >= sizeof resp->request_id) vlen = sizeof resp->request_id - 1;
        size_t k = 0;
        for (size_t i = 0; i < vlen; i++)
            if (v[i] > 0x20 && v[i] < 0x7f) resp->request_id[k++] = v[i];
        resp->request_id[k] = '\0';
    }
    return 0;
}

int tv_response_headers_parse(const char *raw, size_t len, tv_response *resp) {
    const char *p = raw, *end = raw + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl + 1 : end;
        if (((size_t)(e - p) < 5 || memcmp(p, "HTTP/", 5) != 0) && tv_response_header_line(resp, p, (size_t)(e - p))) return -1;
        p = e;
    }
    return 0;
}

int tv_response_meta_load(tv_response *resp) {
    if (!resp->raw.len) return 0;
    int rc = tv_response_headers_parse(resp->raw.data, resp->raw.len, resp);
    tv_buf_reset(&resp->raw, 0);
    return rc;
}

void tv_error_context(tv_error *err, const tv_request *req, const tv_response *resp) {
    snprintf(err->method, sizeof err->method, "%s", tv_method_name(req->method));
    if (req->url.data) tv_error_set_str(&err->url, req->url.data); /* OOM: url stays NULL */
    if (resp) {
        snprintf(err->request_id, sizeof err->request_id, "%s", resp->request_id);
        if (resp->raw.len && !err->request_id[0]) { /* a 2xx whose headers were kept raw (a decode error) */
            tv_response t;
            memset(&t, 0, sizeof t);
            t.retry_after = -1;
            if (tv_response_headers_parse(resp->raw.data, resp->raw.len, &t) == 0)
                snprintf(err->request_id, sizeof err->request_id, "%s", t.request_id);
            tv_response_free(&t);
        }
        tv_error_clean(err->request_id); /* kept printable by both transports; once more here */
        err->retry_after = resp->retry_after;
    }
}

static const char *jstr(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static long jlong(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    /* out-of-range doubles (and NaN) would make the cast undefined */
    if (cJSON_IsNumber(v))
        return v->valuedouble > -2147483648.0 && v->valuedouble < 2147483648.0 ? (long)v->valuedouble : 0;
    if (cJSON_IsString(v)) return strtol(v->valuestring, NULL, 10);
    return 0;
}

static int http_error(const tv_request *req, const tv_response *resp, tv_error *err) {
    const char *b = resp->body.data ? resp->body.data : "";
    size_t blen = resp->body.len;
    tv_error_set(err, TV_EHTTP, NULL, "HTTP %ld %s", resp->status, reason(resp->status));
    err->status = resp->status;
    cJSON *j = blen ? cJSON_ParseWithLength(b, blen) : NULL;
    if (cJSON_IsObject(j)) {
        const char *msg = jstr(j, "message");
        const char *detail = jstr(j, "detail");
        const char *title = jstr(j, "title");
        const char *more = jstr(j, "more_info");
        const char *type = jstr(j, "type");
        err->code = jlong(j, "code");
        /* an empty text (or one starting with \u0000) keeps "HTTP nnn ..." */
        if (msg && *msg) snprintf(err->message, sizeof err->message, "%s", msg);
        else if (detail && *detail) snprintf(err->message, sizeof err->message, "%s", detail);
        else if (title && *title) snprintf(err->message, sizeof err->message, "%s", title);
        tv_error_clean(err->message); /* the server's text: no CR/LF into logs or tostring */
        if (more) tv_error_set_str(&err->more_info, more);
        else if (type) tv_error_set_str(&err->more_info, type);
        tv_error_clean(err->more_info);
        const cJSON *details = cJSON_GetObjectItemCaseSensitive(j, "details");
        if (details && !cJSON_IsNull(details)) err->details = cJSON_PrintUnformatted(details);
    }
    cJSON_Delete(j);
    if (blen) tv_error_set_body(err, b, blen);
    tv_error_context(err, req, resp);
    return -1; /* retryable: the call engine classifies it (tv_classify) */
}

static int decode_error(const tv_request *req, const tv_response *resp, tv_error *err, const char *why) {
    tv_error_set(err, TV_EDECODE, NULL, "could not decode the %ld response: %s", resp->status, why);
    err->status = resp->status;
    if (resp->body.len) tv_error_set_body(err, resp->body.data, resp->body.len);
    tv_error_context(err, req, resp);
    return -1;
}

int tv_parse_response(const tv_request *req, const tv_response *resp, cJSON **out, tv_error *err) {
    *out = NULL;
    if (resp->status < 200 || resp->status > 299) return http_error(req, resp, err);
    if (req->op->returns == TV_RET_NONE) return 0;
    if (resp->body.len == 0) return decode_error(req, resp, err, "empty body");
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(resp->body.data, resp->body.len, &end, 0);
    if (!j) {
        char why[96];
        size_t at = end && end >= resp->body.data ? (size_t)(end - resp->body.data) : 0;
        if (at >= resp->body.len)
            snprintf(why, sizeof why, "truncated or invalid JSON (ends at byte %zu)", resp->body.len);
        else
            snprintf(why, sizeof why, "invalid JSON near byte %zu", at);
        return decode_error(req, resp, err, why);
    }
    const char *shape = NULL;
    if (!cJSON_IsObject(j)) {
        shape = "expected a JSON object";
    } else if (req->op->returns == TV_RET_PAGE) {
        if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, req->op->list_key)))
            shape = "a list page must have a `%s` array";
        else if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "meta")))
            shape = "a list page must have a `meta` object";
    } else if (req->op->id_key && !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, req->op->id_key))) {
        shape = "a %s must have a string `%s`";
    }
    if (shape) {
        char why[128];
        snprintf(why, sizeof why, shape, req->op->returns == TV_RET_PAGE ? req->op->list_key : req->op->resource,
                 req->op->id_key ? req->op->id_key : "sid");
        cJSON_Delete(j);
        return decode_error(req, resp, err, why);
    }
    *out = j;
    return 0;
}

/* tv_classify, the retry policy's half of a failed response, lives with the
 * rest of the policy in tv_engine.c. */

/* ---- streaming 2xx bodies (tv_jcursor, see tv.h) -------------------------
 * The grammar mirrors cJSON 1.7's parse_object/parse_array byte for byte
 * (whitespace is every byte <= 32, a UTF-8 BOM is skipped at offset 0 only
 * when the body is longer than 4 bytes, no trailing commas, anything after
 * the closing brace is ignored as tv_parse_response ignores it); every key
 * and value is parsed by cJSON itself. */
enum { J_OPEN, J_MEMBER, J_AFTER, J_ARR_FIRST, J_ARR_ELEM, J_ARR_AFTER, J_DONE };

static const char *jws(const char *p, const char *e) {
    while (p < e && (unsigned char)*p <= 32) p++;
    return p;
}

void tv_jcursor_init(tv_jcursor *cur, const tv_operation *op, const char *body, size_t len) {
    memset(cur, 0, sizeof *cur);
    cur->op = op;
    cur->p = body ? body : "";
    cur->end = cur->p + (body ? len : 0);
    if (len > 4 && memcmp(cur->p, "\xEF\xBB\xBF", 3) == 0) cur->p += 3;
    cur->p = jws(cur->p, cur->end);
    if (cur->p < cur->end && *cur->p == '{') {
        cur->p++;
        cur->state = J_OPEN;
    } else {
        cur->state = J_DONE;
    }
}

/* The op's shape, from each key's first occurrence (as
 * cJSON_GetObjectItemCaseSensitive sees it). */
static void jshape(tv_jcursor *cur, const char *key, int type) {
    if (cur->op->returns == TV_RET_PAGE) {
        if (!cur->has_list && strcmp(key, cur->op->list_key) == 0) cur->has_list = type == cJSON_Array ? 1 : -1;
        else if (!cur->has_meta && strcmp(key, "meta") == 0) cur->has_meta = type == cJSON_Object ? 1 : -1;
    } else if (!cur->has_sid && cur->op->id_key && strcmp(key, cur->op->id_key) == 0) {
        cur->has_sid = type == cJSON_String ? 1 : -1;
    }
}

/* Parse one value at cur->p with cJSON; NULL when cJSON refuses it (or it
 * starts with a BOM, which cJSON would skip here but not in a document). */
static cJSON *jvalue(tv_jcursor *cur) {
    const char *p = jws(cur->p, cur->end), *e = NULL;
    if (p >= cur->end || (unsigned char)*p == 0xEF) return NULL;
    cJSON *v = cJSON_ParseWithLengthOpts(p, (size_t)(cur->end - p), &e, 0);
    if (v) cur->p = e;
    return v;
}

tv_jev tv_jcursor_next(tv_jcursor *cur, cJSON **item) {
    *item = NULL;
    for (;;) {
        switch (cur->state) {
        case J_OPEN:
            cur->p = jws(cur->p, cur->end);
            if (cur->p < cur->end && *cur->p == '}') goto close;
            /* fall through */
        case J_MEMBER: {
            cur->p = jws(cur->p, cur->end);
            if (cur->p >= cur->end || *cur->p != '"') goto fallback;
            cJSON *key = jvalue(cur);
            if (!key) goto fallback;
            cur->p = jws(cur->p, cur->end);
            if (!cJSON_IsString(key) || cur->p >= cur->end || *cur->p != ':') {
                cJSON_Delete(key);
                goto fallback;
            }
            cur->p = jws(cur->p + 1, cur->end);
            cJSON *v;
            int array = cur->p < cur->end && *cur->p == '[';
            if (array) {
                v = cJSON_CreateArray();
                cur->p++;
            } else {
                v = jvalue(cur);
            }
            if (!v) {
                cJSON_Delete(key);
                goto fallback;
            }
            v->string = key->valuestring; /* the key moves to the member, as in an object */
            key->valuestring = NULL;
            cJSON_Delete(key);
            jshape(cur, v->string, v->type & 0xFF);
            cur->state = array ? J_ARR_FIRST : J_AFTER;
            *item = v;
            return array ? TV_JEV_ARRAY : TV_JEV_MEMBER;
        }
        case J_AFTER:
            cur->p = jws(cur->p, cur->end);
            if (cur->p < cur->end && *cur->p == ',') {
                cur->p++;
                cur->state = J_MEMBER;
                continue;
            }
            if (cur->p < cur->end && *cur->p == '}') goto close;
            goto fallback;
        case J_ARR_FIRST:
            cur->p = jws(cur->p, cur->end);
            if (cur->p < cur->end && *cur->p == ']') {
                cur->p++;
                cur->state = J_AFTER;
                return TV_JEV_ARRAY_END;
            }
            /* fall through */
        case J_ARR_ELEM:
            if (!(*item = jvalue(cur))) goto fallback;
            cur->state = J_ARR_AFTER;
            return TV_JEV_ELEMENT;
        case J_ARR_AFTER:
            cur->p = jws(cur->p, cur->end);
            if (cur->p < cur->end && *cur->p == ',') {
                cur->p++;
                cur->state = J_ARR_ELEM;
                continue;
            }
            if (cur->p < cur->end && *cur->p == ']') {
                cur->p++;
                cur->state = J_AFTER;
                return TV_JEV_ARRAY_END;
            }
            goto fallback;
        default: goto fallback;
        }
    }
close:
    cur->p++;
    cur->state = J_DONE;
    if (cur->op->returns == TV_RET_PAGE ? cur->has_list == 1 && cur->has_meta == 1 : cur->has_sid == 1)
        return TV_JEV_END;
fallback:
    cur->state = J_DONE;
    return TV_JEV_FALLBACK;
}
