/* tv_validate.c -- the rules of the OpenAPI description and the seed (the
 * parameter sets they apply to are rows of tv_ops.c). */
#include "tv_validate.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const tv_param_spec *tv_param_by_name(const tv_param_spec *set, const char *name) {
    for (; set->name; set++)
        if (strcmp(set->name, name) == 0) return set;
    return NULL;
}

const tv_param_spec *tv_param_by_key(const tv_param_spec *set, const char *key) {
    for (; set->name; set++)
        if (strcmp(set->key, key) == 0) return set;
    return NULL;
}

/* Decode one UTF-8 sequence; returns its length or 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t avail) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t n;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) { n = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; cp = c & 0x07; }
    else return 0;
    if (avail < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
    if (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
    return n;
}

long tv_check_text(const char *name, const char *s, size_t len, tv_error *err) {
    const unsigned char *u = (const unsigned char *)s;
    long chars = 0;
    for (size_t i = 0; i < len;) {
        unsigned c = u[i];
        if (c >= 0x20 && c < 0x7F) { /* printable ASCII: the common case, no decoding */
            i++;
            chars++;
            continue;
        }
        if (c == 0)
            return tv_error_set(err, TV_EARG, name, "%s must not contain NUL bytes", name);
        if (c < 0x20 || c == 0x7F)
            return tv_error_set(err, TV_EARG, name,
                                "%s must not contain control characters (CR, LF, TAB, ...)", name);
        size_t n = utf8_len(u + i, len - i);
        if (n == 0) return tv_error_set(err, TV_EARG, name, "%s must be valid UTF-8", name);
        i += n;
        chars++;
    }
    return chars;
}

static int parse_long(const char *s, size_t len, long *out) {
    size_t i = 0;
    int neg = 0;
    if (len > 0 && s[0] == '-') { neg = 1; i = 1; }
    if (i == len || len - i > 18) return -1;
    long v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = neg ? -v : v;
    return 0;
}

/* Code points of a NUL-terminated UTF-8 string (the bytes that do not continue one). */
static long utf8_chars(const char *s) {
    long n = 0;
    for (; s && *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* A JSON parameter: one JSON object and nothing after it but whitespace;
 * with TV_PF_STRING_MAP only string values; with `pairs`, exactly those two
 * string members, each within its pair_max characters. */
static int check_json(const tv_param_spec *p, const char *val, size_t len, tv_error *err) {
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(val, len, &end, 0);
    int ok = j && cJSON_IsObject(j);
    for (const char *e = end; ok && e && e < val + len; e++) ok = *e == ' ' || *e == '\t' || *e == '\n' || *e == '\r';
    int rc = 0;
    if (!ok) {
        rc = tv_error_set(err, TV_EARG, p->name, "%s must be a JSON object", p->name);
    } else if (p->flags & TV_PF_STRING_MAP) {
        for (const cJSON *c = j->child; c && rc == 0; c = c->next)
            if (!cJSON_IsString(c))
                rc = tv_error_set(err, TV_EARG, p->name, "%s must be a JSON object of string values", p->name);
    }
    if (ok && rc == 0 && p->max_members) {
        int n = 0;
        for (const cJSON *c = j->child; c; c = c->next) n++;
        if (n > p->max_members)
            rc = tv_error_set(err, TV_EARG, p->name, "%s may hold at most %d members, got %d", p->name, p->max_members,
                              n);
    }
    for (const cJSON *c = ok && rc == 0 && p->kv_max ? j->child : NULL; c && rc == 0; c = c->next) {
        /* characters (code points) of a key and of a string value: JSON text may hold any of them */
        long kc = utf8_chars(c->string), vc = cJSON_IsString(c) ? utf8_chars(c->valuestring) : 0;
        if (kc > p->kv_max || vc > p->kv_max)
            rc = tv_error_set(err, TV_EARG, p->name, "%s keys and values may be at most %d characters", p->name,
                              p->kv_max);
    }
    if (ok && rc == 0 && p->email_member) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, p->email_member);
        if (m && !(cJSON_IsString(m) && tv_is_email(m->valuestring, strlen(m->valuestring))))
            rc = tv_error_set(err, TV_EARG, p->name, "%s: %s must be an email address", p->name, p->email_member);
    }
    if (ok && rc == 0 && p->pairs) {
        int n = 0;
        for (const cJSON *c = j->child; c; c = c->next) n++;
        for (int k = 0; k < 2 && rc == 0; k++) {
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, p->pairs[k]);
            if (!cJSON_IsString(m) || n != 2) {
                rc = tv_error_set(err, TV_EARG, p->name, "%s must be a JSON object of two strings, %s and %s", p->name,
                                  p->pairs[0], p->pairs[1]);
                break;
            }
            long chars = tv_check_text(p->name, m->valuestring, strlen(m->valuestring), err);
            if (chars < 0) rc = -1;
            else if (p->pair_max[k] && chars > p->pair_max[k])
                rc = tv_error_set(err, TV_EARG, p->name, "%s: %s must be at most %d characters, got %ld", p->name,
                                  p->pairs[k], p->pair_max[k], chars);
        }
    }
    cJSON_Delete(j);
    return rc;
}

static int check_identity(const char *name, const char *s, size_t len, tv_error *err);

int tv_param_check(const tv_param_spec *p, const char *val, size_t len, tv_error *err) {
    switch (p->type) {
    case TV_PT_INT: {
        long v;
        if (parse_long(val, len, &v) != 0)
            return tv_error_set(err, TV_EARG, p->name, "%s must be an integer", p->name);
        if (v < p->min || v > p->max) {
            if (p->max == 2147483647L)
                return tv_error_set(err, TV_EARG, p->name, "%s must be >= %ld, got %ld", p->name,
                                    p->min, v);
            return tv_error_set(err, TV_EARG, p->name, "%s must be between %ld and %ld, got %ld",
                                p->name, p->min, p->max, v);
        }
        return 0;
    }
    case TV_PT_ENUM:
        for (const char *const *e = p->enums; *e; e++)
            if (strlen(*e) == len && memcmp(*e, val, len) == 0) return 0;
        {
            char allowed[128] = "";
            size_t used = 0;
            for (const char *const *e = p->enums; *e; e++) {
                size_t n = strlen(*e);
                if (used + n + 3 >= sizeof allowed) break;
                if (used) { memcpy(allowed + used, ", ", 2); used += 2; }
                memcpy(allowed + used, *e, n);
                used += n;
                allowed[used] = '\0';
            }
            return tv_error_set(err, TV_EARG, p->name, "%s must be one of: %s", p->name, allowed);
        }
    case TV_PT_BOOL:
        if ((len == 4 && strncasecmp(val, "true", 4) == 0) || (len == 5 && strncasecmp(val, "false", 5) == 0))
            return 0;
        return tv_error_set(err, TV_EARG, p->name, "%s must be a boolean (true or false)", p->name);
    case TV_PT_DATE:
        return tv_check_date(p->name, val, len, err);
    case TV_PT_SID:
        return tv_check_sid(p->name, p->prefix, val, len, err);
    case TV_PT_IDENTITY:
        return check_identity(p->name, val, len, err);
    case TV_PT_TEXT:
    case TV_PT_JSON: {
        long chars = tv_check_text(p->name, val, len, err);
        if (chars < 0) return -1;
        int bounded = p->max != 0 || p->min != 0; /* 0, 0: no bound stated */
        if (bounded && (chars < p->min || chars > p->max)) {
            if (p->min <= 1 && chars == 0)
                return tv_error_set(err, TV_EARG, p->name, "%s must not be empty", p->name);
            if (p->min <= 1)
                return tv_error_set(err, TV_EARG, p->name, "%s must be at most %ld characters, got %ld",
                                    p->name, p->max, chars);
            return tv_error_set(err, TV_EARG, p->name,
                                "%s must be between %ld and %ld characters, got %ld", p->name, p->min,
                                p->max, chars);
        }
        if (p->type == TV_PT_JSON) return check_json(p, val, len, err);
        if (p->format) return tv_check_format(p->name, p->format, val, len, err);
        return 0;
    }
    case TV_PT_OBJECT:
        (void)val;
        (void)len;
        return tv_error_set(err, TV_EARG, p->name, "%s must be a table (a JSON object of its members)", p->name);
    }
    return tv_error_set(err, TV_EARG, p->name, "%s has an unknown type", p->name);
}

static int is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int tv_check_sid(const char *name, const char *prefix, const char *s, size_t len, tv_error *err) {
    int ok = len == 34 && s[0] == prefix[0] && s[1] == prefix[1];
    for (size_t i = 2; ok && i < 34; i++) ok = is_hex(s[i]);
    if (ok) return 0; /* a prefix and 32 hex digits: printable ASCII, no text check left to do */
    if (tv_check_text(name, s, len, err) < 0) return -1; /* NUL, control, bad UTF-8 say so first */
    return tv_error_set(err, TV_EARG, name, "%s must match ^%s[0-9a-fA-F]{32}$ (34 characters)", name, prefix);
}

int tv_check_account_sid(const char *s, size_t len, tv_error *err) {
    return tv_check_sid("account_sid", "AC", s, len, err);
}

int tv_check_api_key(const char *s, size_t len, tv_error *err) {
    return tv_check_sid("api_key", "SK", s, len, err);
}

static int is_alnum(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int check_identity(const char *name, const char *s, size_t len, tv_error *err) {
    if (tv_check_text(name, s, len, err) < 0) return -1;
    if (len < 8 || len > 64)
        return tv_error_set(err, TV_EARG, name, "%s must be between 8 and 64 characters, got %zu", name, len);
    int ok = is_alnum(s[0]) && is_alnum(s[len - 1]);
    for (size_t i = 0; ok && i < len; i++)
        ok = is_alnum(s[i]) || (s[i] == '-' && i + 1 < len && s[i + 1] != '-');
    if (!ok)
        return tv_error_set(err, TV_EARG, name, "%s must be dash (-) separated alphanumeric characters", name);
    return 0;
}

int tv_check_identity(const char *s, size_t len, tv_error *err) { return check_identity("identity", s, len, err); }

static int digits(const char *s, size_t n, int *out) {
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int64_t tv_days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int tv_parse_date(const char *s, size_t len, int64_t *out) {
    /* YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm) */
    int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
    int ok = len >= 20 && len <= 40 && s[4] == '-' && s[7] == '-' && (s[10] == 'T' || s[10] == 't') &&
             s[13] == ':' && s[16] == ':' && digits(s, 4, &y) == 0 && digits(s + 5, 2, &mo) == 0 &&
             digits(s + 8, 2, &d) == 0 && digits(s + 11, 2, &h) == 0 && digits(s + 14, 2, &mi) == 0 &&
             digits(s + 17, 2, &se) == 0;
    size_t i = 19;
    if (ok && i < len && s[i] == '.') {
        size_t f = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9') i++;
        ok = i > f && i - f <= 9;
    }
    if (ok) {
        if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z')) {
        } else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':' &&
                   digits(s + i + 1, 2, &oh) == 0 && digits(s + i + 4, 2, &om) == 0) {
            sign = s[i] == '-' ? -1 : 1;
        } else {
            ok = 0;
        }
    }
    if (ok) {
        static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        ok = y >= 1970 && mo >= 1 && mo <= 12 && d >= 1 && d <= mdays[mo - 1] && !(mo == 2 && d == 29 && !leap) &&
             h <= 23 && mi <= 59 && se <= 60 && oh <= 23 && om <= 59;
    }
    if (!ok) return -1;
    if (out) *out = tv_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - sign * (oh * 3600 + om * 60);
    return 0;
}

int tv_check_date(const char *name, const char *s, size_t len, tv_error *err) {
    if (tv_parse_date(s, len, NULL) != 0)
        return tv_error_set(err, TV_EARG, name,
                            "%s must be an RFC 3339 date-time (2026-01-31T12:00:00Z) or a number of Unix seconds",
                            name);
    return 0;
}

/* ---- formats -------------------------------------------------------------
 * Sources: E.164 (ITU-T E.164: a country code and subscriber number of at
 * most 15 digits, written with a leading '+', the form Twilio documents at
 * https://www.twilio.com/docs/glossary/what-e164); ISO 3166-1 alpha-2;
 * HTML's "valid e-mail address"; Twilio error 60209 ("UniqueName only
 * supports alphanumeric characters and -, _ or ."). */

static int digits_run(const char *s, size_t len, size_t lo, size_t hi) {
    if (len < lo || len > hi) return 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

static int is_e164(const char *s, size_t len, size_t min_digits) {
    return len >= 2 && s[0] == '+' && s[1] >= '1' && s[1] <= '9' && digits_run(s + 1, len - 1, min_digits, 15);
}

int tv_is_email(const char *s, size_t len) {
    static const char local_extra[] = ".!#$%&'*+/=?^_`{|}~-";
    const char *at = memchr(s, '@', len);
    if (!at || memchr(at + 1, '@', len - (size_t)(at - s) - 1)) return 0;
    size_t ll = (size_t)(at - s), dl = len - ll - 1;
    if (ll < 1 || ll > 64 || dl < 3 || dl > 253) return 0;
    for (size_t i = 0; i < ll; i++)
        if (!is_alnum(s[i]) && !strchr(local_extra, s[i])) return 0;
    const char *d = at + 1;
    size_t labels = 0;
    for (size_t i = 0; i < dl;) {
        size_t e = i;
        while (e < dl && d[e] != '.') e++;
        size_t n = e - i;
        if (n < 1 || n > 63 || !is_alnum(d[i]) || !is_alnum(d[e - 1])) return 0;
        for (size_t k = i; k < e; k++)
            if (!is_alnum(d[k]) && d[k] != '-') return 0;
        labels++;
        if (e == dl) break;
        i = e + 1;
        if (i == dl) return 0; /* a trailing dot */
    }
    return labels >= 2;
}

static int is_ip(const char *s, size_t len) {
    char buf[64];
    unsigned char addr[16];
    if (len == 0 || len >= sizeof buf) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return inet_pton(AF_INET, buf, addr) == 1 || inet_pton(AF_INET6, buf, addr) == 1;
}

int tv_check_format(const char *name, tv_format f, const char *s, size_t len, tv_error *err) {
    int ok = 1;
    const char *want = "";
    switch (f) {
    case TV_FMT_NONE: return 0;
    case TV_FMT_E164:
        ok = is_e164(s, len, 2);
        want = "a phone number in E.164 format (+ and 2 to 15 digits, e.g. +15551234567)";
        break;
    case TV_FMT_E164_OR_EMAIL:
        ok = memchr(s, '@', len) ? tv_is_email(s, len) : is_e164(s, len, 2);
        want = "a phone number in E.164 format (+15551234567) or an email address";
        break;
    case TV_FMT_E164_PREFIX:
        ok = is_e164(s, len, 1);
        want = "the prefix of an E.164 phone number (+ and 1 to 15 digits, e.g. +1)";
        break;
    case TV_FMT_COUNTRY_OR_ALL:
        if (len == 3 && memcmp(s, "all", 3) == 0) return 0;
        /* fall through */
    case TV_FMT_COUNTRY:
        ok = len == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
        want = f == TV_FMT_COUNTRY ? "an ISO 3166-1 alpha-2 country code (two capital letters, e.g. US)"
                                   : "an ISO 3166-1 alpha-2 country code (two capital letters, e.g. US) or all";
        break;
    case TV_FMT_IP:
        ok = is_ip(s, len);
        want = "an IPv4 or IPv6 address";
        break;
    case TV_FMT_UNIQUE_NAME:
        ok = len > 0;
        for (size_t i = 0; ok && i < len; i++) ok = is_alnum(s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.';
        want = "alphanumeric characters, '-', '_' or '.'";
        break;
    }
    if (!ok) return tv_error_set(err, TV_EARG, name, "%s must be %s", name, want);
    return 0;
}
