/*
 * oapi_check.c -- requests against the compiled description (oapi.h):
 * what a value of each schema type looks like on the wire, the rules,
 * patterns, routing, and emu_oracle_check.
 *
 * Wire forms (form bodies, query strings and path segments carry text):
 *   string / no type  UTF-8 text (a JSON string is Unicode, RFC 8259 8.1),
 *                     without NUL or control characters (the emulator's
 *                     rule: see EMU_TEXT_RULE); length in characters
 *                     (code points), as JSON Schema counts it
 *   integer           an optional '-' and decimal digits, within 64 bits
 *   boolean           true or false, any case
 *   array             one key per element, each element its items' schema
 *   date-time         RFC 3339 section 5.6 (format date-time)
 */
#include <arpa/inet.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "oapi.h"

#define EMU_TEXT_RULE                                                                                   \
    "no NUL or control characters (U+0000-U+001F, U+007F) in text: the emulator keeps values as C " \
    "strings and writes them into URLs, otpauth URIs, logs and webhook bodies (the description is silent)"
#define EMU_UTF8_RULE "type string: Unicode text, sent as UTF-8 (RFC 8259 section 8.1)"

/* ----------------------------------------------------------- patterns */

enum { PI_ONE, PI_OPT, PI_STAR };

typedef struct pitem {
    unsigned char set[32]; /* bitmap of the bytes this atom matches */
    int kind;
} pitem;

struct oa_pattern {
    int anchored_start, anchored_end;
    size_t n;
    pitem items[];
};

static void set_bit(unsigned char *set, unsigned c) { set[c >> 3] |= (unsigned char)(1u << (c & 7)); }
static int has_bit(const unsigned char *set, unsigned c) { return (set[c >> 3] >> (c & 7)) & 1; }

static int printable(unsigned c) { return c > 0x20 && c < 0x7f; }
static int alnum(unsigned c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
/* "\X": a metacharacter X taken literally (\d, \w, \1 ... are refused) */
static int escaped(const char *p) { return p[0] == '\\' && printable((unsigned char)p[1]) && !alnum((unsigned char)p[1]); }

static int plain_literal(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '/' || c == ':' || c == '@' || c == '#' || c == '%' || c == '&' || c == '=' || c == '~' ||
           c == ',' || c == ';' || c == '\'' || c == '"' || c == '<' || c == '>' || c == '!';
}

/* The end of a class range lo-hi: printable, not a backslash, not below lo. */
static int range_end(unsigned hi, unsigned lo) { return printable(hi) && hi != '\\' && hi >= lo; }

static int read_count(const char **p, long *out) {
    const char *s = *p;
    long v = 0;
    int nd = 0;
    while (*s >= '0' && *s <= '9' && nd < 4) v = v * 10 + (*s++ - '0'), nd++;
    if (!nd || (*s >= '0' && *s <= '9')) return -1;
    *p = s;
    *out = v;
    return 0;
}

const oa_pattern *oa_pattern_compile(oa_arena *a, const char *src, char *why, size_t whylen) {
    pitem tmp[OA_PATTERN_MAX_ITEMS];
    size_t n = 0;
    int anch_s = 0, anch_e = 0;
    const char *p = src;
    if (*p == '^') anch_s = 1, p++;
    while (*p) {
        if (p[0] == '$' && p[1] == '\0') {
            anch_e = 1;
            break;
        }
        pitem atom;
        memset(&atom, 0, sizeof atom);
        if (*p == '[') {
            p++;
            if (*p == '^' || *p == ']') goto bad;
            while (*p && *p != ']') {
                unsigned lo = (unsigned char)*p;
                if (escaped(p)) lo = (unsigned char)*++p;
                else if (!printable(lo) || lo == '[' || lo == '\\') goto bad;
                p++;
                unsigned hi = lo;
                if (p[0] == '-' && p[1] && p[1] != ']') { /* a range lo-hi */
                    if (!range_end((unsigned char)p[1], lo)) goto bad;
                    hi = (unsigned char)p[1];
                    p += 2;
                }
                for (unsigned c = lo; c <= hi; c++) set_bit(atom.set, c);
            }
            if (*p != ']') goto bad;
            p++;
        } else if (escaped(p)) {
            set_bit(atom.set, (unsigned char)p[1]);
            p += 2;
        } else if (plain_literal(*p)) {
            set_bit(atom.set, (unsigned char)*p++);
        } else {
            goto bad;
        }
        long lo = 1, hi = 1; /* hi < 0: unbounded */
        if (*p == '?') lo = 0, hi = 1, p++;
        else if (*p == '*') lo = 0, hi = -1, p++;
        else if (*p == '+') lo = 1, hi = -1, p++;
        else if (*p == '{') {
            p++;
            if (read_count(&p, &lo) != 0) goto bad;
            hi = lo;
            if (*p == ',') {
                p++;
                if (*p == '}') hi = -1;
                else if (read_count(&p, &hi) != 0 || hi < lo) goto bad;
            }
            if (*p++ != '}') goto bad;
        }
        size_t copies = (size_t)lo + (hi < 0 ? 1 : (size_t)(hi - lo));
        if (n + copies > OA_PATTERN_MAX_ITEMS) {
            snprintf(why, whylen, "pattern %s is longer than %d atoms", src, OA_PATTERN_MAX_ITEMS);
            return NULL;
        }
        for (long i = 0; i < lo; i++) tmp[n] = atom, tmp[n++].kind = PI_ONE;
        if (hi < 0) tmp[n] = atom, tmp[n++].kind = PI_STAR;
        else
            for (long i = lo; i < hi; i++) tmp[n] = atom, tmp[n++].kind = PI_OPT;
    }
    oa_pattern *pat = oa_alloc(a, sizeof *pat + n * sizeof pat->items[0]);
    if (!pat) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    pat->anchored_start = anch_s;
    pat->anchored_end = anch_e;
    pat->n = n;
    memcpy(pat->items, tmp, n * sizeof tmp[0]);
    return pat;
bad:
    snprintf(why, whylen, "pattern %s uses syntax outside the supported subset (near offset %d)", src,
             (int)(p - src));
    return NULL;
}

/* Add state k and what it reaches without input (optional items). */
static void closure(const oa_pattern *p, unsigned char *st, size_t k) {
    for (; k <= p->n && !st[k]; k++) {
        st[k] = 1;
        if (k == p->n || p->items[k].kind == PI_ONE) break;
    }
}

int oa_pattern_match(const oa_pattern *p, const char *s, size_t len) {
    unsigned char cur[OA_PATTERN_MAX_ITEMS + 1], next[OA_PATTERN_MAX_ITEMS + 1];
    memset(cur, 0, p->n + 1);
    closure(p, cur, 0);
    for (size_t i = 0;; i++) {
        if (cur[p->n] && (!p->anchored_end || i == len)) return 1;
        if (i == len) return 0;
        unsigned c = (unsigned char)s[i];
        memset(next, 0, p->n + 1);
        int any = 0;
        for (size_t k = 0; k < p->n; k++) {
            if (!cur[k] || !has_bit(p->items[k].set, c)) continue;
            closure(p, next, p->items[k].kind == PI_STAR ? k : k + 1);
            any = 1;
        }
        if (!p->anchored_start) closure(p, next, 0), any = 1;
        if (!any) return 0;
        memcpy(cur, next, p->n + 1);
    }
}

/* ------------------------------------------------------------- values */

static void fail(oa_fail *f, const char *origin, const char *cite, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(oa_fail *f, const char *origin, const char *cite, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->why, sizeof f->why, fmt, ap);
    va_end(ap);
    f->origin = origin;
    f->cite = cite;
}

static int rule_fail(oa_fail *f, const oa_rule *r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int rule_fail(oa_fail *f, const oa_rule *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->why, sizeof f->why, fmt, ap);
    va_end(ap);
    f->origin = r->origin;
    f->cite = r->cite;
    return -1;
}

/* Length of the UTF-8 sequence at s (RFC 3629: no overlongs, surrogates or
 * code points above U+10FFFF), 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t avail) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t n;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) n = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) n = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) n = 4, cp = c & 0x07;
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

/* Characters of text v, or -1 (f filled) when it is not text. */
static long text_chars(const char *v, size_t len, oa_fail *f) {
    const unsigned char *u = (const unsigned char *)v;
    long chars = 0;
    for (size_t i = 0; i < len; chars++) {
        if (u[i] < 0x20 || u[i] == 0x7F) {
            fail(f, "emulator", EMU_TEXT_RULE, "must not contain NUL or control characters");
            return -1;
        }
        size_t n = utf8_seq(u + i, len - i);
        if (!n) {
            fail(f, "schema", EMU_UTF8_RULE, "must be valid UTF-8 text");
            return -1;
        }
        i += n;
    }
    return chars;
}

static long utf8_chars(const char *s) {
    long n = 0;
    for (const unsigned char *u = (const unsigned char *)s; *u; u++) n += (*u & 0xC0) != 0x80;
    return n;
}

/* -?[0-9]+ within int64.  0, -1 not an integer, -2 out of range. */
static int parse_int64(const char *v, size_t len, long long *out) {
    size_t i = 0;
    int neg = 0;
    if (len > 0 && v[0] == '-') neg = 1, i = 1;
    if (i == len) return -1;
    unsigned long long acc = 0, lim = neg ? 9223372036854775808ULL : 9223372036854775807ULL;
    for (; i < len; i++) {
        if (v[i] < '0' || v[i] > '9') return -1;
        unsigned d = (unsigned)(v[i] - '0');
        if (acc > (lim - d) / 10) {
            for (i++; i < len; i++)
                if (v[i] < '0' || v[i] > '9') return -1;
            return -2;
        }
        acc = acc * 10 + d;
    }
    *out = neg ? (acc == 9223372036854775808ULL ? INT64_MIN : -(long long)acc) : (long long)acc;
    return 0;
}

static int digits(const char *s, size_t n, int *out) {
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* RFC 3339 section 5.6 date-time: full-date "T" full-time, T and Z in
 * either case (its NOTE), seconds up to 60 (leap second), real calendar
 * days, offset hours 00-23 and minutes 00-59. */
static int is_date_time(const char *s, size_t len) {
    int y, mo, d, h, mi, se, oh = 0, om = 0;
    if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
        s[16] != ':' || digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
        digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &se))
        return 0;
    size_t i = 19;
    if (s[i] == '.') {
        size_t f = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9') i++;
        if (i == f) return 0;
    }
    if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z')) {
    } else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':' && !digits(s + i + 1, 2, &oh) &&
               !digits(s + i + 4, 2, &om)) {
    } else {
        return 0;
    }
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return mo >= 1 && mo <= 12 && d >= 1 && d <= mdays[mo - 1] && !(mo == 2 && d == 29 && !leap) && h <= 23 &&
           mi <= 59 && se <= 60 && oh <= 23 && om <= 59;
}

static int dash_alnum(const char *s, size_t len) {
    int prev_dash = 1; /* no leading dash */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '-') {
            if (prev_dash) return 0;
            prev_dash = 1;
        } else if (alnum(c)) {
            prev_dash = 0;
        } else {
            return 0;
        }
    }
    return len > 0 && !prev_dash;
}

static int in_list(const char *const *strs, size_t n, const char *v, size_t len) {
    for (size_t i = 0; i < n; i++)
        if (strlen(strs[i]) == len && memcmp(strs[i], v, len) == 0) return 1;
    return 0;
}

static void list_text(const char *const *strs, size_t n, char *out, size_t cap) {
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && used + 8 < cap; i++) {
        int w = snprintf(out + used, cap - used, "%s%s", i ? ", " : "", strs[i]);
        if (w < 0 || (size_t)w >= cap - used) {
            snprintf(out + (cap > 4 ? cap - 4 : 0), 4, "...");
            return;
        }
        used += (size_t)w;
    }
}

static const char *range_text(const oa_rule *r, char *buf, size_t cap) {
    if (r->has_a && r->has_b) snprintf(buf, cap, "between %lld and %lld", r->a, r->b);
    else if (r->has_a) snprintf(buf, cap, "at least %lld", r->a);
    else snprintf(buf, cap, "at most %lld", r->b);
    return buf;
}

cJSON *oa_parse_json(const char *v, size_t len, int *oom) {
    *oom = 0;
    if (memchr(v, 0, len)) return NULL; /* not JSON text */
    char *buf = malloc(len + 1);
    if (!buf) {
        *oom = 1;
        return NULL;
    }
    memcpy(buf, v, len);
    buf[len] = '\0';
    const char *end = NULL;
    /* require_null_terminated: nothing but whitespace after the value (cJSON
     * wants the terminator inside the given length) */
    cJSON *j = cJSON_ParseWithLengthOpts(buf, len + 1, &end, 1);
    free(buf);
    return j;
}

/* ---- phone numbers, email addresses, countries, IP addresses (issue 22)
 * The oracle's own reading of the description's sentences ("Phone numbers
 * must be in E.164 format"): E.164 as ITU-T E.164 writes it, '+' and at
 * most 15 digits, the first not 0 (2 at least for a number, 1 for a
 * prefix); an email address as HTML's "valid e-mail address" with a dot in
 * its domain; ISO 3166-1 alpha-2 as two capital letters. */

static int e164(const char *v, size_t len, size_t min_digits) {
    if (len < 2 || v[0] != '+' || v[1] < '1' || v[1] > '9' || len - 1 < min_digits || len - 1 > 15) return 0;
    for (size_t i = 1; i < len; i++)
        if (v[i] < '0' || v[i] > '9') return 0;
    return 1;
}

static int alnum_char(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

static int email(const char *v, size_t len) {
    const char *at = memchr(v, '@', len);
    if (!at) return 0;
    size_t local = (size_t)(at - v), dom = len - local - 1;
    if (local == 0 || local > 64 || dom < 3 || dom > 253 || memchr(at + 1, '@', dom)) return 0;
    for (size_t i = 0; i < local; i++)
        if (!alnum_char(v[i]) && !strchr(".!#$%&'*+/=?^_`{|}~-", v[i])) return 0;
    size_t labels = 0, start = 0;
    const char *d = at + 1;
    for (size_t i = 0; i <= dom; i++) {
        if (i < dom && d[i] != '.') {
            if (!alnum_char(d[i]) && d[i] != '-') return 0;
            continue;
        }
        size_t n = i - start;
        if (n < 1 || n > 63 || !alnum_char(d[start]) || !alnum_char(d[i - 1])) return 0;
        labels++;
        start = i + 1;
    }
    return labels >= 2;
}

static int ip_address(const char *v, size_t len) {
    char buf[64];
    unsigned char a[16];
    if (len == 0 || len >= sizeof buf) return 0;
    memcpy(buf, v, len);
    buf[len] = '\0';
    return inet_pton(AF_INET, buf, a) == 1 || inet_pton(AF_INET6, buf, a) == 1;
}

/* The JSON rules on parsed text j. */
static int json_rule(const oa_rule *r, const cJSON *j, oa_fail *f) {
    switch (r->kind) {
    case OA_R_JSON_EMAIL_MEMBER: {
        if (!cJSON_IsObject(j)) return rule_fail(f, r, "must be a JSON object");
        const cJSON *m = r->nstrs ? cJSON_GetObjectItemCaseSensitive(j, r->strs[0]) : NULL;
        if (m && !(cJSON_IsString(m) && email(m->valuestring, strlen(m->valuestring))))
            return rule_fail(f, r, "its %s must be an email address", r->strs[0]);
        return 0;
    }
    case OA_R_JSON_OBJECT:
        if (!cJSON_IsObject(j)) return rule_fail(f, r, "must be a JSON object");
        return 0;
    case OA_R_JSON_STRINGS:
        if (!cJSON_IsObject(j)) return rule_fail(f, r, "must be a JSON object");
        for (const cJSON *m = j->child; m; m = m->next)
            if (!cJSON_IsString(m)) return rule_fail(f, r, "must be a JSON object whose values are all strings");
        return 0;
    case OA_R_JSON_LABEL_VALUE: {
        const cJSON *l = cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, "label") : NULL;
        const cJSON *v = cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, "value") : NULL;
        if (!cJSON_IsString(l) || !cJSON_IsString(v) || cJSON_GetArraySize(j) != 2)
            return rule_fail(f, r, "each element must be a JSON object of a \"label\" and a \"value\" string");
        if (utf8_chars(l->valuestring) > r->a || utf8_chars(v->valuestring) > r->b)
            return rule_fail(f, r, "labels can be up to %lld characters and values up to %lld", r->a, r->b);
        return 0;
    }
    case OA_R_JSON_MEMBERS:
        if (!cJSON_IsObject(j)) return rule_fail(f, r, "must be a JSON object");
        if (cJSON_GetArraySize(j) > r->a) return rule_fail(f, r, "must have at most %lld members", r->a);
        return 0;
    case OA_R_JSON_KV_LENGTH:
        if (!cJSON_IsObject(j)) return rule_fail(f, r, "must be a JSON object");
        for (const cJSON *m = j->child; m; m = m->next)
            if ((m->string && utf8_chars(m->string) > r->a) ||
                (cJSON_IsString(m) && utf8_chars(m->valuestring) > r->a))
                return rule_fail(f, r, "keys and values can each be up to %lld characters", r->a);
        return 0;
    }
    return 0;
}

static int is_json_rule(int kind) {
    return kind == OA_R_JSON_OBJECT || kind == OA_R_JSON_STRINGS || kind == OA_R_JSON_LABEL_VALUE ||
           kind == OA_R_JSON_MEMBERS || kind == OA_R_JSON_KV_LENGTH || kind == OA_R_JSON_EMAIL_MEMBER;
}

int oa_check_text(const oa_schema *s, const char *v, size_t len, oa_fail *f) {
    long chars = 0;
    long long num = 0;
    int type = s->type;
    if (type == OA_INTEGER) {
        int rc = parse_int64(v, len, &num);
        if (rc == -1) {
            fail(f, "schema", "type integer", "must be an integer (decimal digits, optionally after '-')");
            return -1;
        }
        if (rc == -2) {
            fail(f, "emulator", "integers are 64-bit (format int64 where the description says; it gives no other bound)",
                 "must be an integer within 64 bits");
            return -1;
        }
    } else if (type == OA_NUMBER) {
        char *end = NULL, buf[64];
        if (len == 0 || len >= sizeof buf || strspn(v, "0123456789+-.eE") != len) {
            fail(f, "schema", "type number", "must be a number");
            return -1;
        }
        memcpy(buf, v, len);
        buf[len] = '\0';
        double d = strtod(buf, &end);
        if (*end || !isfinite(d)) {
            fail(f, "schema", "type number", "must be a number");
            return -1;
        }
    } else if (type == OA_BOOLEAN) {
        if (!((len == 4 && strncasecmp(v, "true", 4) == 0) || (len == 5 && strncasecmp(v, "false", 5) == 0))) {
            fail(f, "schema", "type boolean", "must be true or false");
            return -1;
        }
        return 0;
    } else if ((chars = text_chars(v, len, f)) < 0) {
        return -1;
    }
    cJSON *json = NULL;
    int rc = 0;
    char buf[200];
    for (size_t i = 0; i < s->nrules && rc == 0; i++) {
        const oa_rule *r = &s->rules[i];
        switch (r->kind) {
        case OA_R_LENGTH:
            if (chars < r->a || (r->b >= 0 && chars > r->b)) {
                if (r->b < 0) rc = rule_fail(f, r, "must be at least %lld characters, got %ld", r->a, chars);
                else if (r->a <= 0) rc = rule_fail(f, r, "must be at most %lld characters, got %ld", r->b, chars);
                else if (r->a == r->b) rc = rule_fail(f, r, "must be %lld characters, got %ld", r->a, chars);
                else rc = rule_fail(f, r, "must be between %lld and %lld characters, got %ld", r->a, r->b, chars);
            }
            break;
        case OA_R_LENGTH_ANY: {
            int ok = 0;
            size_t used = 0;
            buf[0] = '\0';
            for (size_t k = 0; k < r->nalts; k++) {
                const oa_alt *a = &r->alts[k];
                ok |= chars >= a->lo && (a->hi < 0 || chars <= a->hi);
                int w = a->lo > 0 ? snprintf(buf + used, sizeof buf - used, "%s%ld to %ld characters (%s)",
                                             k ? " or " : "", a->lo, a->hi, a->label)
                                  : snprintf(buf + used, sizeof buf - used, "%sat most %ld characters (%s)",
                                             k ? " or " : "", a->hi, a->label);
                if (w > 0 && (size_t)w < sizeof buf - used) used += (size_t)w;
            }
            if (!ok) rc = rule_fail(f, r, "must be %s, got %ld", buf, chars);
            break;
        }
        case OA_R_PATTERN:
            if (!oa_pattern_match(r->pat, v, len)) rc = rule_fail(f, r, "must match %s", r->nstrs ? r->strs[0] : "its pattern");
            break;
        case OA_R_ENUM:
            if (!in_list(r->strs, r->nstrs, v, len) && !(r->a == 1 && len == 0)) {
                list_text(r->strs, r->nstrs, buf, sizeof buf);
                rc = rule_fail(f, r, "must be one of: %s%s", buf, r->a == 1 ? " (or empty)" : "");
            }
            break;
        case OA_R_NOT_ENUM:
            if (in_list(r->strs, r->nstrs, v, len)) rc = rule_fail(f, r, "is not accepted here");
            break;
        case OA_R_DASH_ALNUM:
            if (!dash_alnum(v, len)) rc = rule_fail(f, r, "must be dash (-) separated alphanumeric characters");
            break;
        case OA_R_RANGE:
            if (type == OA_INTEGER && ((r->has_a && num < r->a) || (r->has_b && num > r->b)))
                rc = rule_fail(f, r, "must be %s, got %lld", range_text(r, buf, sizeof buf), num);
            break;
        case OA_R_DATE_TIME:
            if (!is_date_time(v, len))
                rc = rule_fail(f, r, "must be an RFC 3339 date-time, e.g. 2026-01-31T12:00:00Z");
            break;
        case OA_R_MAX_ITEMS:
            break; /* oa_check_count */
        case OA_R_PHONE:
            if (r->a == 2 ? !e164(v, len, 1)
                          : !(e164(v, len, 2) || (r->a == 1 && memchr(v, '@', len) && email(v, len))))
                rc = rule_fail(f, r, "%s", r->a == 2   ? "must be the prefix of an E.164 phone number (+ and digits)"
                                           : r->a == 1 ? "must be a phone number in E.164 format (+15017122661) or an email address"
                                                       : "must be a phone number in E.164 format (+15017122661)");
            break;
        case OA_R_COUNTRY:
            if (!((len == 2 && v[0] >= 'A' && v[0] <= 'Z' && v[1] >= 'A' && v[1] <= 'Z') ||
                  (r->a == 1 && len == 3 && memcmp(v, "all", 3) == 0)))
                rc = rule_fail(f, r, "must be an ISO 3166-1 alpha-2 country code (two capital letters, e.g. US)%s",
                               r->a == 1 ? " or all" : "");
            break;
        case OA_R_IP:
            if (!ip_address(v, len)) rc = rule_fail(f, r, "must be an IPv4 or IPv6 address");
            break;
        default:
            if (!is_json_rule(r->kind)) break;
            if (!json) {
                int oom = 0;
                if (!(json = oa_parse_json(v, len, &oom))) {
                    rc = oom ? -2 : rule_fail(f, r, "must be a JSON object (not valid JSON)");
                    break;
                }
            }
            rc = json_rule(r, json, f);
        }
    }
    cJSON_Delete(json);
    return rc;
}

int oa_check_count(const oa_schema *s, size_t n, oa_fail *f) {
    for (size_t i = 0; i < s->nrules; i++) {
        const oa_rule *r = &s->rules[i];
        if (r->kind == OA_R_MAX_ITEMS && (long long)n > r->a)
            return rule_fail(f, r, "takes at most %lld values, got %zu", r->a, n);
    }
    return 0;
}

/* name += "[index]" / name += ".member" (the path of a JSON member). */
static void name_index(char *name, size_t cap, long index) {
    size_t used = strlen(name);
    snprintf(name + used, cap - used, "[%ld]", index);
}

static void name_member(char *name, size_t cap, const char *member) {
    size_t used = strlen(name);
    snprintf(name + used, cap - used, "%s%s", used ? "." : "", member);
}

int oa_check_json(const oa_schema *s, const cJSON *j, char *name, size_t cap, oa_fail *f) {
    size_t mark = strlen(name);
    const char *want = NULL;
    switch (s->type) {
    case OA_ANY: return 0;
    case OA_STRING:
        if (!cJSON_IsString(j)) want = "a string";
        else return oa_check_text(s, j->valuestring, strlen(j->valuestring), f);
        break;
    case OA_INTEGER:
    case OA_NUMBER: {
        if (!cJSON_IsNumber(j)) {
            want = s->type == OA_INTEGER ? "an integer" : "a number";
            break;
        }
        char num[64];
        if (s->type == OA_INTEGER && j->valuedouble != floor(j->valuedouble)) {
            want = "an integer";
            break;
        }
        snprintf(num, sizeof num, s->type == OA_INTEGER ? "%.0f" : "%.17g", j->valuedouble);
        return oa_check_text(s, num, strlen(num), f);
    }
    case OA_BOOLEAN:
        if (!cJSON_IsBool(j)) want = "true or false";
        break;
    case OA_ARRAY: {
        if (!cJSON_IsArray(j)) {
            want = "an array";
            break;
        }
        int n = cJSON_GetArraySize(j);
        if (oa_check_count(s, (size_t)n, f) != 0) return -1;
        long i = 0;
        for (const cJSON *e = j->child; e; e = e->next, i++) {
            name_index(name, cap, i);
            int rc = s->items ? oa_check_json(s->items, e, name, cap, f) : 0;
            if (rc) return rc;
            name[mark] = '\0';
        }
        return 0;
    }
    case OA_OBJECT:
        if (!cJSON_IsObject(j)) {
            want = "a JSON object";
            break;
        }
        for (size_t k = 0; k < s->nprops; k++) {
            const oa_prop *p = &s->props[k];
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, p->name);
            name_member(name, cap, p->name);
            if (!m) {
                if (p->required) {
                    fail(f, "schema", "required", "is required");
                    return -1;
                }
            } else {
                int rc = oa_check_json(p->schema, m, name, cap, f);
                if (rc) return rc;
            }
            name[mark] = '\0';
        }
        return 0;
    }
    if (want) {
        fail(f, "schema", "type", "must be %s", want);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ routing */

static const char *const method_names[OA_NMETHODS] = {"GET", "POST", "DELETE"};

int oa_route_find(const emu_oracle *o, const char *method, const char *raw_path, oa_route *r) {
    memset(r, 0, sizeof *r);
    size_t n = emu_path_split(raw_path, strlen(raw_path), r->seg, r->seglen, OA_MAX_SEGS);
    if (n == 0 || n > OA_MAX_SEGS) return 404;
    long best = -1;
    for (int pass = 0; pass < 2; pass++) {
        unsigned allowed = 0;
        for (size_t i = 0; i < o->nops; i++) {
            const oa_op *op = &o->ops[i];
            if (op->nsegs != n || (pass == 1 && (long)op->nliterals != best)) continue;
            int fits = 1;
            for (size_t k = 0; k < n && fits; k++)
                fits = op->segs[k] ? strlen(op->segs[k]) == r->seglen[k] &&
                                         memcmp(op->segs[k], r->seg[k], r->seglen[k]) == 0
                                   : r->seglen[k] > 0;
            if (!fits) continue;
            if (pass == 0) {
                if ((long)op->nliterals > best) best = (long)op->nliterals;
                continue;
            }
            allowed |= 1u << op->method;
            if (!r->op && strcmp(method_names[op->method], method) == 0) r->op = op;
        }
        if (pass == 0 && best < 0) return 404;
        if (pass == 1 && !r->op) {
            for (int m = 0; m < OA_NMETHODS; m++)
                if (allowed & (1u << m)) {
                    if (r->allow[0]) strcat(r->allow, ", ");
                    strcat(r->allow, method_names[m]);
                }
            return 405;
        }
    }
    return 0;
}

/* -------------------------------------------------------- the requests */

/* 400 60200 naming key, with the rule broken. */
static void refuse(emu_response *out, const char *key, const oa_fail *f) {
    char msg[TV_ERR_MESSAGE_MAX], rule[1024];
    size_t cl = strlen(f->cite);
    snprintf(msg, sizeof msg, "Invalid parameter %s: %s (%s: %.*s%s)", key, f->why, f->origin,
             (int)(cl > 160 ? 157 : cl), f->cite, cl > 160 ? "..." : "");
    snprintf(rule, sizeof rule, "%s: %s", f->origin, f->cite);
    cJSON *details = cJSON_CreateObject();
    if (details && (!cJSON_AddStringToObject(details, "parameter", key) || !cJSON_AddStringToObject(details, "rule", rule))) {
        cJSON_Delete(details);
        details = NULL;
    }
    emu_response_error(out, 400, 60200, msg, details);
}

/* 400 60200 for a request that is not well formed (no parameter to name). */
static void refuse_request(emu_response *out, const char *msg, const char *rule) {
    cJSON *details = cJSON_CreateObject();
    if (details && !cJSON_AddStringToObject(details, "rule", rule)) {
        cJSON_Delete(details);
        details = NULL;
    }
    emu_response_error(out, 400, 60200, msg, details);
}

#define OA_MAX_OP_PARAMS 64

/* Pairs of `in` (query or form) against op's parameters of that place. */
static int check_pairs(const oa_op *op, int in, const emu_kvlist *l, emu_response *out) {
    size_t count[OA_MAX_OP_PARAMS] = {0};
    oa_fail f = {.origin = NULL};
    for (size_t i = 0; i < l->n; i++) {
        const emu_kv *kv = &l->items[i];
        size_t idx = op->nparams;
        if (strlen(kv->key) == kv->klen)
            for (size_t k = 0; k < op->nparams && idx == op->nparams; k++)
                if (op->params[k].in == in && strcmp(op->params[k].name, kv->key) == 0) idx = k;
        if (idx == op->nparams) {
            fail(&f, "schema", in == OA_IN_QUERY ? "parameters (in: query)" : "requestBody properties",
                 "%s (%s has no such parameter)", in == OA_IN_QUERY ? "unknown query parameter" : "unknown parameter",
                 op->id);
            refuse(out, kv->key, &f);
            return -1;
        }
        const oa_param *p = &op->params[idx];
        if (count[idx] && p->schema->type != OA_ARRAY) {
            fail(&f, "schema", "only arrays repeat a key", "is given more than once");
            refuse(out, kv->key, &f);
            return -1;
        }
        count[idx]++;
        const oa_schema *s = p->schema->type == OA_ARRAY && p->schema->items ? p->schema->items : p->schema;
        int rc = oa_check_text(s, kv->val, kv->vlen, &f);
        if (rc == 0 && p->schema->type == OA_ARRAY) rc = oa_check_count(p->schema, count[idx], &f);
        if (rc == -2) {
            emu_oom(out);
            return -1;
        }
        if (rc) {
            refuse(out, p->name, &f);
            return -1;
        }
    }
    for (size_t k = 0; k < op->nparams; k++)
        if (op->params[k].in == in && op->params[k].required && !count[k]) {
            fail(&f, "schema", "required", "is required");
            refuse(out, op->params[k].name, &f);
            return -1;
        }
    return 0;
}

static int is_json_type(const char *ct) {
    static const char json[] = "application/json";
    if (!ct) return 0;
    while (*ct == ' ') ct++;
    if (strncasecmp(ct, json, sizeof json - 1) != 0) return 0;
    ct += sizeof json - 1;
    while (*ct == ' ') ct++;
    return *ct == '\0' || *ct == ';';
}

static int check_json_body(const oa_op *op, const emu_call *c, emu_response *out) {
    cJSON *j = NULL;
    if (c->body_len > 0) {
        if (!is_json_type(c->content_type)) {
            refuse_request(out, "Content-Type must be application/json",
                           "schema: requestBody content application/json");
            return -1;
        }
        int oom = 0;
        j = oa_parse_json(c->body ? c->body : "", c->body_len, &oom);
        if (oom) {
            emu_oom(out);
            return -1;
        }
        if (!j) {
            refuse_request(out, "The request body is not valid JSON", "schema: requestBody content application/json");
            return -1;
        }
    } else if (!(j = cJSON_CreateObject())) { /* no body: as an empty object */
        emu_oom(out);
        return -1;
    }
    char name[256] = "";
    oa_fail f = {.origin = NULL};
    int rc = oa_check_json(op->json, j, name, sizeof name, &f);
    cJSON_Delete(j);
    if (rc == -2) emu_oom(out);
    else if (rc) refuse(out, name[0] ? name : "body", &f);
    return rc ? -1 : 0;
}

int emu_oracle_check(const emu_oracle *o, const emu_call *c, const char **op_id, emu_response *out) {
    oa_route r;
    *op_id = NULL;
    int st = oa_route_find(o, c->method, c->raw_path, &r);
    if (st == 404) {
        emu_not_found(out, c->raw_path);
        return -1;
    }
    if (st == 405) {
        char msg[96];
        snprintf(msg, sizeof msg, "Method %.16s not allowed on this resource", c->method);
        emu_response_error(out, 405, 20004, msg, NULL);
        emu_response_header(out, "Allow", r.allow);
        return -1;
    }
    const oa_op *op = r.op;
    *op_id = op->id;

    /* path parameters: all decoded first (a bad escape anywhere is 400), then checked */
    char *pv[OA_MAX_SEGS] = {NULL};
    size_t pvlen[OA_MAX_SEGS] = {0};
    int rc = 0, bad = 0;
    for (size_t k = 0; k < op->nsegs && rc == 0; k++) {
        if (op->seg_param[k] < 0) continue;
        int d = emu_pct_decode(r.seg[k], r.seglen[k], 0, &pv[k], &pvlen[k]);
        if (d == -1) rc = -2;
        else if (d == -2) bad = 1;
    }
    if (rc == 0 && bad) {
        refuse_request(out, "Invalid percent-encoding in the request path", "RFC 3986 section 2.1: %XX escapes");
        rc = -1;
    }
    for (size_t k = 0; k < op->nsegs && rc == 0; k++) {
        if (op->seg_param[k] < 0) continue;
        const oa_param *p = &op->params[op->seg_param[k]];
        oa_fail f = {.origin = NULL};
        rc = oa_check_text(p->schema, pv[k], pvlen[k], &f);
        if (rc == -1) refuse(out, p->name, &f);
    }
    for (size_t k = 0; k < OA_MAX_SEGS; k++) free(pv[k]);
    if (rc == -2) emu_oom(out);
    if (rc) return -1;

    if (c->bad_query) {
        refuse_request(out, "Invalid percent-encoding in the query string", "RFC 3986 section 2.1: %XX escapes");
        return -1;
    }
    if (check_pairs(op, OA_IN_QUERY, &c->query, out) != 0) return -1;
    if (op->body == OA_BODY_FORM) {
        if (!c->form_type_ok) {
            refuse_request(out, "Content-Type must be application/x-www-form-urlencoded",
                           "schema: requestBody content application/x-www-form-urlencoded");
            return -1;
        }
        if (c->bad_form) {
            refuse_request(out, "Invalid percent-encoding in the form body",
                           "application/x-www-form-urlencoded: %XX escapes");
            return -1;
        }
        return check_pairs(op, OA_IN_FORM, &c->form, out);
    }
    if (op->body == OA_BODY_JSON) return check_json_body(op, c, out);
    return 0;
}
