/*
 * oapi_prose.c -- the rules the OpenAPI description states only in prose.
 *
 * Many of Verify's limits have no schema keyword: "It can be up to 64
 * characters", "Must be between 20 and 60 seconds, inclusive". The
 * recogniser splits a parameter's description into sentences and matches
 * each, exactly, against a short list of forms (below).  A form is literal
 * text with holes: %n a number, %q one `backticked` value, %l a list of them
 * ("`a`", "`a` or `b`", "`a`, `b` or `c`"), %L one backticked,
 * comma-separated list ("`a, b, c`").  Its mode says where it must sit: W the
 * whole sentence, P the start of the sentence, A anywhere in it.  Case
 * matters and nothing is guessed: a sentence that fits no form is not a
 * rule (when it reads like one it is returned as a note, so the reference
 * can list what is left to behaviour).
 */
#include <string.h>

#include "oapi.h"

static const struct form {
    int kind;
    char mode;
    const char *text;
} forms[] = {
    /* conditional ones first: "For `TOTP` this value ..." */
    {OA_P_LENGTH_IF, 'P', "For %q this value must be between %n and %n characters long"},
    {OA_P_MAX_LENGTH_IF, 'P', "For %q this value can be up to %n characters in length"},
    {OA_P_ONLY_TYPE, 'P', "Only used with a Factor of type %q"},
    {OA_P_MAX_LENGTH, 'P', "It can be up to %n characters"},
    {OA_P_MAX_LENGTH, 'P', "Can be up to %n characters in length"},
    {OA_P_MAX_LENGTH, 'A', "any string up to %n characters"},
    {OA_P_LENGTH, 'P', "Must be between %n and %n characters long"},
    {OA_P_LENGTH, 'A', "this value must be between %n and %n characters long"},
    {OA_P_LENGTH, 'A', "length between %n and %n characters"},
    {OA_P_LENGTH, 'W', "The code can be between %n and %n characters, inclusive"},
    {OA_P_LENGTH, 'W', "The %n-%n character string being verified"},
    {OA_P_RANGE, 'W', "Must be between %n and %n, inclusive"},
    {OA_P_RANGE, 'W', "Must be between %n and %n seconds, inclusive"},
    {OA_P_RANGE, 'W', "Must be an integer value between %n and %n, inclusive"},
    {OA_P_RANGE, 'W', "Can be an integer between %n and %n"},
    {OA_P_DASH_ALNUM, 'W', "It can only contain dash (-) separated alphanumeric characters"},
    {OA_P_JSON_STRINGS, 'P', "It must be a stringified JSON with only strings values"},
    {OA_P_JSON_OBJECT, 'P', "A stringified JSON object"},
    {OA_P_JSON_OBJECT, 'P', "A string containing a JSON map"},
    {OA_P_LABEL_VALUE, 'W',
     "Each object contains the label and value of the field, the label can be up to %n characters in length "
     "and the value can be up to %n characters in length"},
    {OA_P_MAX_ITEMS, 'W', "There can be up to %n details fields"},
    {OA_P_MAX_MEMBERS, 'W', "The object may contain up to %n tags"},
    {OA_P_KV_LENGTH, 'W', "Keys and values can each be up to %n characters in length"},
    {OA_P_ENUM, 'W', "Can be %l"},
    {OA_P_ENUM, 'W', "Algorithm supported: %l"},
    {OA_P_ENUM, 'W', "Possible event types: %L"},
    {OA_P_ENUM_OR_EMPTY, 'W', "It can be empty or it can have the values %l"},
    {OA_P_ENUM, 'W', "One of: %l"},
    /* phone numbers, countries, addresses (issue 22) */
    {OA_P_OR_EMAIL, 'W', "The phone number or [email](https://www.twilio.com/docs/verify/email) to verify"},
    {OA_P_E164, 'W', "Phone numbers must be in [E.164 format](https://www.twilio.com/docs/glossary/what-e164)"},
    {OA_P_E164, 'W', "It is phone number in E.164 format"},
    {OA_P_E164_PREFIX, 'W', "It is the prefix of a phone number in E.164 format"},
    {OA_P_COUNTRY, 'W',
     "The [ISO-3166-1](https://en.wikipedia.org/wiki/ISO_3166-1_alpha-2) country code of the country this "
     "configuration will be applied to"},
    {OA_P_OR_ALL, 'W', "If this is a global configuration, Country will take the value `all`"},
    {OA_P_IP, 'W', "If provided, it has to be a valid IPv4 or IPv6 address"},
    {OA_P_JSON_OBJECT, 'W', "The custom key-value pairs of Programmable Rate Limits"},
    {OA_P_JSON_OBJECT, 'A', "channel configuration in json format"},
    {OA_P_JSON_EMAIL_FROM, 'W',
     "The fields 'from' and 'from_name' are optional but if included the 'from' field must have a valid email "
     "address"},
};

/* Words that make an unrecognised sentence worth a note. */
static const char *const rule_words[] = {"must",     "Must",   "up to", "between", "Required when", "Can be",
                                         "can be",   "can only", "at most", "max value", "Possible", "One of",
                                         "supported"};

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* One `value` at s[0..n): its length (backticks included), 0 when none. */
static size_t ticked(const char *s, size_t n, oa_span *v) {
    if (n < 3 || s[0] != '`') return 0;
    size_t i = 1;
    while (i < n && s[i] != '`') i++;
    if (i == n || i == 1) return 0;
    v->s = s + 1;
    v->n = i - 1;
    return i + 1;
}

static int add_val(oa_fact *f, const char *s, size_t n) {
    if (f->nvals == OA_FACT_MAX_VALUES || n == 0) return -1;
    f->vals[f->nvals].s = s;
    f->vals[f->nvals].n = n;
    f->nvals++;
    return 0;
}

/* One `value` of a list, bare or as a Markdown link "[`value`](url)" (the
 * description links some: "[`email`](https://www.twilio.com/docs/verify/email)").
 * Its length, 0 when none. */
static size_t list_item(const char *s, size_t n, oa_span *v) {
    if (n > 0 && s[0] == '[') {
        size_t t = ticked(s + 1, n - 1, v);
        if (!t || 1 + t + 2 > n || s[1 + t] != ']' || s[2 + t] != '(') return 0;
        size_t k = 3 + t;
        while (k < n && s[k] != ')' && s[k] != ' ') k++;
        return k < n && s[k] == ')' ? k + 1 : 0;
    }
    return ticked(s, n, v);
}

/* %l: "`a`", "`a` or `b`", "`a`, `b` or `c`" (also ", or").  Bytes used, 0 none. */
static size_t ticked_list(const char *s, size_t n, oa_fact *f) {
    oa_span v;
    size_t i = list_item(s, n, &v);
    if (!i || add_val(f, v.s, v.n)) return 0;
    for (;;) {
        size_t k = i;
        int last = 0;
        if (k + 5 <= n && memcmp(s + k, ", or ", 5) == 0) k += 5, last = 1;
        else if (k + 4 <= n && memcmp(s + k, " or ", 4) == 0) k += 4, last = 1;
        else if (k + 2 <= n && memcmp(s + k, ", ", 2) == 0) k += 2;
        else return i; /* no separator: the list ends here */
        size_t m = list_item(s + k, n - k, &v);
        if (!m) return last ? 0 : i; /* "`a`, then prose": the list was "`a`" */
        if (add_val(f, v.s, v.n)) return 0;
        i = k + m;
        if (last) return i;
    }
}

/* %L: "`a, b, c`".  Bytes used, 0 none. */
static size_t ticked_csv(const char *s, size_t n, oa_fact *f) {
    oa_span v;
    size_t used = ticked(s, n, &v);
    if (!used) return 0;
    size_t start = 0;
    for (size_t i = 0; i <= v.n; i++) {
        if (i < v.n && !(v.s[i] == ',' && i + 1 < v.n && v.s[i + 1] == ' ')) continue;
        if (add_val(f, v.s + start, i - start)) return 0;
        start = i + 2;
        i++;
    }
    return used;
}

/* %n: 1 to 9 digits (not followed by another).  Bytes used, 0 none. */
static size_t number(const char *s, size_t n, long long *out) {
    size_t used = 0;
    long long v = 0;
    while (used < n && is_digit(s[used]) && used < 9) v = v * 10 + (s[used++] - '0');
    if (!used || (used < n && is_digit(s[used]))) return 0;
    *out = v;
    return used;
}

/* Match form t against s[0..n) from its start.  The bytes of s it covers,
 * 0 when it does not fit. */
static size_t match_at(const char *t, const char *s, size_t n, oa_fact *f) {
    size_t i = 0;
    int nums = 0;
    f->nvals = 0;
    f->cond.s = NULL;
    f->cond.n = 0;
    while (*t) {
        if (t[0] == '%' && t[1]) {
            size_t used = 0;
            switch (t[1]) {
            case 'n': used = number(s + i, n - i, nums++ == 0 ? &f->n1 : &f->n2); break;
            case 'q': used = ticked(s + i, n - i, &f->cond); break;
            case 'l': used = ticked_list(s + i, n - i, f); break;
            case 'L': used = ticked_csv(s + i, n - i, f); break;
            default: return 0; /* not a hole of the forms above */
            }
            if (!used) return 0;
            i += used;
            t += 2;
            continue;
        }
        if (i >= n || s[i] != *t) return 0;
        i++;
        t++;
    }
    return i;
}

static int form_fits(const struct form *fm, const char *s, size_t n, oa_fact *f) {
    if (fm->mode == 'A') {
        for (size_t k = 0; k < n; k++)
            if ((k == 0 || s[k - 1] == ' ') && match_at(fm->text, s + k, n - k, f)) return 1;
        return 0;
    }
    size_t m = match_at(fm->text, s, n, f);
    if (!m) return 0;
    /* P: the form must end at a word boundary; W: it must be the sentence */
    return fm->mode == 'W' ? m == n : (m == n || s[m] == ' ' || s[m] == ',' || s[m] == '.');
}

static int rule_like(const char *s, size_t n) {
    for (size_t w = 0; w < sizeof rule_words / sizeof rule_words[0]; w++) {
        size_t wl = strlen(rule_words[w]);
        for (size_t k = 0; k + wl <= n; k++)
            if (memcmp(s + k, rule_words[w], wl) == 0) return 1;
    }
    return 0;
}

/* Does the '.' at text[i] end an abbreviation ("eg.", "e.g.", "i.e.")? */
static int abbreviation(const char *text, size_t start, size_t i) {
    static const char *const abbr[] = {"eg", "e.g", "E.g", "i.e", "I.e"};
    for (size_t k = 0; k < sizeof abbr / sizeof abbr[0]; k++) {
        size_t n = strlen(abbr[k]);
        if (i - start >= n && memcmp(text + i - n, abbr[k], n) == 0 && (i - start == n || text[i - n - 1] == ' '))
            return 1;
    }
    return 0;
}

/* The end of the sentence starting at text[i]: a '.' followed by a space
 * or the end (not after an abbreviation), or a line break -- never inside
 * `backticks`. */
static size_t sentence_end(const char *text, size_t i, size_t len) {
    int tick = 0;
    for (size_t start = i; i < len; i++) {
        char c = text[i];
        if (c == '`') tick = !tick;
        else if (c == '\n' && !tick) return i;
        else if (c == '.' && !tick && (i + 1 == len || text[i + 1] == ' ' || text[i + 1] == '\n') &&
                 !abbreviation(text, start, i))
            return i;
    }
    return len;
}

size_t oa_prose_scan(const char *text, oa_fact *facts, size_t max, oa_span *notes, size_t maxnotes,
                     size_t *nnotes) {
    size_t nf = 0, len = text ? strlen(text) : 0;
    *nnotes = 0;
    for (size_t i = 0; i < len;) {
        while (i < len && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t')) i++;
        if (i >= len) break;
        size_t end = sentence_end(text, i, len);
        const char *s = text + i;
        size_t n = end - i;
        while (n > 0 && s[n - 1] == ' ') n--;
        i = end + 1;
        if (n == 0) continue;
        oa_fact f;
        int hit = 0;
        for (size_t k = 0; k < sizeof forms / sizeof forms[0] && !hit; k++) {
            memset(&f, 0, sizeof f);
            if (form_fits(&forms[k], s, n, &f)) {
                hit = 1;
                f.kind = forms[k].kind;
            }
        }
        if (hit && nf < max) {
            f.quote.s = s;
            f.quote.n = n;
            facts[nf++] = f;
        } else if (!hit && rule_like(s, n) && *nnotes < maxnotes) {
            notes[*nnotes].s = s;
            notes[*nnotes].n = n;
            (*nnotes)++;
        }
    }
    return nf;
}
