/*
 * template.c -- message templates and their rendering (the text of the
 * outbox), and the JSON objects of name/value pairs a verification carries
 * (RateLimits, TemplateCustomSubstitutions).  Pure functions on bytes, no
 * state: at the bottom of the emulator's files, with response.c and util.c
 * (spec/fuzz/fuzz_emu_template.c feeds them hostile input).
 *
 * The templates are the emulator account's (ListVerificationTemplate), in
 * the shape and with the texts of the description's example
 * (listVerificationTemplates: "Your {{friendly_name}} verification code is:
 * {{code}}. Do not share this code with anyone.", "Your verification code
 * is: {{code}}. Do not share it."), plus the default text and one with a
 * custom variable.  Placeholders are {{name}}: `code`, `friendly_name`, and
 * the keys of TemplateCustomSubstitutions ("keys are the template's special
 * variables", the description).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emu.h"

static const char *const sms_voice[] = {"sms", "voice", NULL};
static const char *const sms_only[] = {"sms", NULL};

static const emu_template_tr tr_default[] = {
    {"en", "Your {{friendly_name}} verification code is: {{code}}"},
    {"es", "Tu código de verificación de {{friendly_name}} es: {{code}}"},
    {"fr", "Votre code de vérification {{friendly_name}} est : {{code}}"},
    {"de", "Ihr {{friendly_name}} Verifizierungscode lautet: {{code}}"},
    {NULL, NULL}};
static const emu_template_tr tr_share[] = {
    {"en", "Your {{friendly_name}} verification code is: {{code}}. Do not share this code with anyone."}, {NULL, NULL}};
static const emu_template_tr tr_short[] = {{"en", "Your verification code is: {{code}}. Do not share it."},
                                           {NULL, NULL}};
static const emu_template_tr tr_custom[] = {
    {"en", "Hi {{username}}, your {{friendly_name}} code is {{code}}"}, {NULL, NULL}};

const emu_template emu_templates[] = {
    {"HJ00000000000000000000000000000001", "Base Verification Template", sms_voice, tr_default},
    {"HJ00000000000000000000000000000002", "Base Verification Template 2 with do not share", sms_only, tr_share},
    {"HJ00000000000000000000000000000003", "Base Verification Template 3", sms_voice, tr_short},
    {"HJ00000000000000000000000000000004", "Greeting Template", sms_only, tr_custom},
};
const size_t emu_ntemplates = sizeof emu_templates / sizeof emu_templates[0];

const emu_template *emu_template_find(const char *sid) {
    for (size_t i = 0; sid && i < emu_ntemplates; i++)
        if (strcasecmp(emu_templates[i].sid, sid) == 0) return &emu_templates[i];
    return NULL;
}

const char *emu_template_text(const emu_template *t, const char *locale, const char **used) {
    const emu_template_tr *best = &t->translations[0];
    for (const emu_template_tr *tr = t->translations; locale && tr->locale; tr++)
        if (strcmp(tr->locale, locale) == 0) best = tr;
    if (used) *used = best->locale;
    return best->text;
}

/* ------------------------------------------------------------- rendering */

typedef struct out_buf {
    char *p;
    size_t n, cap, max; /* max: bytes kept (the rest is cut) */
} out_buf;

static int put(out_buf *o, const char *s, size_t n) {
    if (o->n + n > o->max) n = o->max - o->n;
    if (o->n + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 64;
        while (cap < o->n + n + 1) cap *= 2;
        char *q = realloc(o->p, cap);
        if (!q) return -1;
        o->p = q;
        o->cap = cap;
    }
    memcpy(o->p + o->n, s, n);
    o->n += n;
    o->p[o->n] = '\0';
    return 0;
}

/* Cut at a UTF-8 boundary: the bytes kept never end inside a character. */
static void cut_utf8(out_buf *o) {
    size_t n = o->n;
    size_t i = n;
    while (i > 0 && ((unsigned char)o->p[i - 1] & 0xC0) == 0x80) i--;
    if (i > 0 && (unsigned char)o->p[i - 1] >= 0xC0) {
        unsigned char lead = (unsigned char)o->p[i - 1];
        size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
        if (n - (i - 1) < want) n = i - 1;
    }
    o->n = n;
    o->p[n] = '\0';
}

char *emu_template_render(const char *tpl, size_t len, const emu_pair *subs, size_t nsubs, size_t max) {
    out_buf o = {NULL, 0, 0, max};
    if (put(&o, "", 0) != 0) return NULL;
    size_t i = 0;
    while (i < len && o.n < o.max) {
        const char *open = len - i >= 4 ? memchr(tpl + i, '{', len - i) : NULL;
        while (open && !((size_t)(open - tpl) + 1 < len && open[1] == '{')) {
            size_t at = (size_t)(open - tpl) + 1;
            open = at < len ? memchr(tpl + at, '{', len - at) : NULL;
        }
        size_t lit = open ? (size_t)(open - (tpl + i)) : len - i;
        if (put(&o, tpl + i, lit) != 0) goto oom;
        i += lit;
        if (!open) break;
        /* {{ name }}: a name of letters, digits, '_', '-', '.', spaces around it allowed */
        size_t s = i + 2, e = s;
        while (e < len && tpl[e] == ' ') e++;
        size_t ns = e;
        while (e < len && e - ns < 64 &&
               ((tpl[e] >= 'a' && tpl[e] <= 'z') || (tpl[e] >= 'A' && tpl[e] <= 'Z') ||
                (tpl[e] >= '0' && tpl[e] <= '9') || tpl[e] == '_' || tpl[e] == '-' || tpl[e] == '.'))
            e++;
        size_t ne = e;
        while (e < len && tpl[e] == ' ') e++;
        const emu_pair *hit = NULL;
        if (ne > ns && e + 1 < len && tpl[e] == '}' && tpl[e + 1] == '}')
            for (size_t k = 0; k < nsubs && !hit; k++)
                if (strlen(subs[k].name) == ne - ns && memcmp(subs[k].name, tpl + ns, ne - ns) == 0) hit = &subs[k];
        if (hit) {
            if (put(&o, hit->value, strlen(hit->value)) != 0) goto oom;
            i = e + 2;
        } else { /* not a placeholder we know: the braces stay as text */
            if (put(&o, tpl + i, 2) != 0) goto oom;
            i = s;
        }
    }
    cut_utf8(&o);
    return o.p;
oom:
    free(o.p);
    return NULL;
}

/* ------------------------------------------------------ name/value pairs */

void emu_pairs_free(emu_pair *p, size_t n) {
    for (size_t i = 0; p && i < n; i++) {
        free(p[i].name);
        free(p[i].value);
    }
    free(p);
}

int emu_pairs_parse(const char *text, size_t len, size_t max, emu_pair **out, size_t *n, char *why, size_t whylen) {
    *out = NULL;
    *n = 0;
    cJSON *j = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        snprintf(why, whylen, "must be a JSON object");
        return -2;
    }
    size_t count = 0;
    for (const cJSON *c = j->child; c; c = c->next) count++;
    if (count > max) {
        cJSON_Delete(j);
        snprintf(why, whylen, "may hold at most %zu members", max);
        return -2;
    }
    emu_pair *p = calloc(count ? count : 1, sizeof *p);
    if (!p) {
        cJSON_Delete(j);
        return -1;
    }
    size_t k = 0;
    int rc = 0;
    for (const cJSON *c = j->child; c && rc == 0; c = c->next) {
        char num[64];
        const char *v = NULL;
        if (cJSON_IsString(c)) v = c->valuestring;
        else if (cJSON_IsNumber(c)) {
            double d = c->valuedouble;
            if (d == (double)(long long)d && d > -1e15 && d < 1e15) snprintf(num, sizeof num, "%lld", (long long)d);
            else snprintf(num, sizeof num, "%.17g", d);
            v = num;
        } else if (cJSON_IsBool(c)) v = cJSON_IsTrue(c) ? "true" : "false";
        if (!v || !c->string) {
            snprintf(why, whylen, "values must be strings, numbers or booleans");
            rc = -2;
            break;
        }
        if (!(p[k].name = emu_strdup(c->string)) || !(p[k].value = emu_strdup(v))) {
            k++;
            rc = -1;
            break;
        }
        k++;
    }
    cJSON_Delete(j);
    if (rc != 0) {
        emu_pairs_free(p, k);
        return rc;
    }
    *out = p;
    *n = k;
    return 0;
}
