/*
 * oapi_load.c -- compile the embedded OpenAPI description (oapi.h).
 *
 * The description (build/gen/openapi_json.c, made by mk/embed.lua from
 * spec/fixtures/twilio_verify_v2.json) is parsed once with cJSON.  Every
 * operation of its `paths` becomes an oa_op; every parameter (path and
 * query `parameters`, the properties of an application/x-www-form-urlencoded
 * requestBody) and every JSON body becomes an oa_schema whose rules come
 * from, in this order:
 *
 *   1. the schema's keywords: type, format, minLength/maxLength, pattern,
 *      enum (inline or through a $ref to components/schemas), minimum/
 *      maximum, maxItems, items, properties/required.  A keyword that
 *      constrains values and is not supported here stops the load: the
 *      oracle never ignores a rule silently;
 *   2. the parameter's description, read by the prose recogniser
 *      (oapi_prose.c);
 *   3. the emulator's own short list (emulator_rules below), each with its
 *      source, for what neither states.
 *
 * Then the cJSON tree is freed: only the compiled data stays (the arena).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "oapi.h"

extern const char emu_openapi_json[];
extern const size_t emu_openapi_json_len;

static char *oa_strdup(oa_arena *a, const char *s) { return oa_strndup(a, s, strlen(s)); }


/* ------------------------------------------------------------- loader */

typedef struct loader {
    emu_oracle *o;
    const cJSON *schemas; /* components.schemas */
    const char *op;       /* operationId being compiled (messages, notes) */
    const char *param;
    char *err;
    size_t errlen;
} loader;

#define OA_MAX_RULES 24

/* The rules of one schema while it is compiled. */
typedef struct rules {
    oa_rule r[OA_MAX_RULES];
    size_t n;
} rules;

static int load_fail(loader *L, const char *what) {
    snprintf(L->err, L->errlen, "the OpenAPI description, %s %s: %s", L->op ? L->op : "", L->param ? L->param : "",
             what);
    return -1;
}

static int oom(loader *L) { return load_fail(L, "out of memory"); }

static oa_rule *add_rule(loader *L, rules *rs, int kind, const char *origin, const char *cite) {
    if (rs->n == OA_MAX_RULES) {
        load_fail(L, "too many rules for one parameter");
        return NULL;
    }
    oa_rule *r = &rs->r[rs->n++];
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->origin = origin;
    r->cite = cite;
    r->b = -1;
    return r;
}

static int finish_rules(loader *L, oa_schema *s, const rules *rs) {
    if (rs->n == 0) return 0;
    oa_rule *r = oa_alloc(&L->o->arena, rs->n * sizeof *r);
    if (!r) return oom(L);
    memcpy(r, rs->r, rs->n * sizeof *r);
    s->rules = r;
    s->nrules = rs->n;
    return 0;
}

static char *fmt(loader *L, const char *f, ...) __attribute__((format(printf, 2, 3)));
static char *fmt(loader *L, const char *f, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    char *s = oa_strdup(&L->o->arena, buf);
    if (!s) oom(L);
    return s;
}

static int add_note(loader *L, const char *sentence, size_t n) {
    emu_oracle *o = L->o;
    if (o->nnotes == o->capnotes) {
        size_t cap = o->capnotes ? o->capnotes * 2 : 64;
        oa_note *nn = oa_alloc(&o->arena, cap * sizeof *nn);
        if (!nn) return oom(L);
        if (o->nnotes) memcpy(nn, o->notes, o->nnotes * sizeof *nn);
        o->notes = nn;
        o->capnotes = cap;
    }
    oa_note *note = &o->notes[o->nnotes];
    if (!(note->op = oa_strdup(&o->arena, L->op ? L->op : "")) ||
        !(note->param = oa_strdup(&o->arena, L->param ? L->param : "")) ||
        !(note->sentence = oa_strndup(&o->arena, sentence, n)))
        return oom(L);
    o->nnotes++;
    return 0;
}

static const oa_pattern *pattern(loader *L, const char *src) {
    emu_oracle *o = L->o;
    for (size_t i = 0; i < o->npats; i++)
        if (strcmp(o->pats[i].src, src) == 0) return o->pats[i].pat;
    char why[256];
    const oa_pattern *p = oa_pattern_compile(&o->arena, src, why, sizeof why);
    if (!p) {
        load_fail(L, why);
        return NULL;
    }
    if (o->npats == o->cappats) {
        size_t cap = o->cappats ? o->cappats * 2 : 16;
        oa_patcache *np = oa_alloc(&o->arena, cap * sizeof *np);
        if (!np) {
            oom(L);
            return NULL;
        }
        if (o->npats) memcpy(np, o->pats, o->npats * sizeof *np);
        o->pats = np;
        o->cappats = cap;
    }
    if (!(o->pats[o->npats].src = oa_strdup(&o->arena, src))) {
        oom(L);
        return NULL;
    }
    o->pats[o->npats++].pat = p;
    return p;
}

static const char *const *strlist(loader *L, const oa_span *v, size_t n) {
    const char **out = oa_alloc(&L->o->arena, (n ? n : 1) * sizeof *out);
    if (!out) {
        oom(L);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (!(out[i] = oa_strndup(&L->o->arena, v[i].s, v[i].n))) {
            oom(L);
            return NULL;
        }
    return out;
}

/* ------------------------------------------------------ schema keywords */

static oa_schema *compile_schema(loader *L, const cJSON *j, const char *desc, int depth);

/* Keywords that only annotate. */
static int annotation(const char *k) {
    static const char *const ok[] = {"description", "deprecated", "default", "title", "example", "examples",
                                     "x-twilio", "nullable", "readOnly", "writeOnly", "type", "format", "items",
                                     "properties", "required", "$ref", "enum", "pattern", "minLength",
                                     "maxLength", "minimum", "maximum", "maxItems"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp(k, ok[i]) == 0) return 1;
    return 0;
}

static int keyword_rules(loader *L, const cJSON *j, const char *refname, oa_schema *s, rules *rs) {
    oa_arena *a = &L->o->arena;
    const cJSON *mn = cJSON_GetObjectItemCaseSensitive(j, "minLength");
    const cJSON *mx = cJSON_GetObjectItemCaseSensitive(j, "maxLength");
    if ((mn && !cJSON_IsNumber(mn)) || (mx && !cJSON_IsNumber(mx))) return load_fail(L, "minLength/maxLength");
    if (mn || mx) {
        const char *cite = mn && mx ? fmt(L, "minLength %d, maxLength %d", mn->valueint, mx->valueint)
                           : mn     ? fmt(L, "minLength %d", mn->valueint)
                                    : fmt(L, "maxLength %d", mx->valueint);
        oa_rule *r = cite ? add_rule(L, rs, OA_R_LENGTH, "schema", cite) : NULL;
        if (!r) return -1;
        r->a = mn ? mn->valueint : 0;
        r->b = mx ? mx->valueint : -1;
    }
    const cJSON *pat = cJSON_GetObjectItemCaseSensitive(j, "pattern");
    if (pat) {
        if (!cJSON_IsString(pat)) return load_fail(L, "pattern is not a string");
        const char *cite = fmt(L, "pattern %s", pat->valuestring);
        oa_rule *r = cite ? add_rule(L, rs, OA_R_PATTERN, "schema", cite) : NULL;
        if (!r || !(r->pat = pattern(L, pat->valuestring))) return -1;
        const char **src = oa_alloc(a, sizeof *src);
        if (!src || !(src[0] = oa_strdup(a, pat->valuestring))) return oom(L);
        r->strs = src;
        r->nstrs = 1;
    }
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(j, "enum");
    if (en) {
        int n = cJSON_GetArraySize(en);
        if (!cJSON_IsArray(en) || n < 1) return load_fail(L, "enum is not a list");
        const char **v = oa_alloc(a, (size_t)n * sizeof *v);
        if (!v) return oom(L);
        int i = 0;
        for (const cJSON *e = en->child; e; e = e->next, i++) {
            if (!cJSON_IsString(e)) return load_fail(L, "enum with a value that is not a string");
            if (!(v[i] = oa_strdup(a, e->valuestring))) return oom(L);
        }
        const char *cite = refname ? fmt(L, "enum of %s", refname) : fmt(L, "enum");
        oa_rule *r = cite ? add_rule(L, rs, OA_R_ENUM, "schema", cite) : NULL;
        if (!r) return -1;
        r->strs = v;
        r->nstrs = (size_t)n;
    }
    const cJSON *lo = cJSON_GetObjectItemCaseSensitive(j, "minimum");
    const cJSON *hi = cJSON_GetObjectItemCaseSensitive(j, "maximum");
    if ((lo && !cJSON_IsNumber(lo)) || (hi && !cJSON_IsNumber(hi))) return load_fail(L, "minimum/maximum");
    if (lo || hi) {
        const char *cite = lo && hi ? fmt(L, "minimum %.0f, maximum %.0f", lo->valuedouble, hi->valuedouble)
                           : lo     ? fmt(L, "minimum %.0f", lo->valuedouble)
                                    : fmt(L, "maximum %.0f", hi->valuedouble);
        oa_rule *r = cite ? add_rule(L, rs, OA_R_RANGE, "schema", cite) : NULL;
        if (!r) return -1;
        r->has_a = lo != NULL;
        r->has_b = hi != NULL;
        r->a = lo ? (long long)lo->valuedouble : 0;
        r->b = hi ? (long long)hi->valuedouble : 0;
    }
    const cJSON *mi = cJSON_GetObjectItemCaseSensitive(j, "maxItems");
    if (mi) {
        oa_rule *r = cJSON_IsNumber(mi) ? add_rule(L, rs, OA_R_MAX_ITEMS, "schema", fmt(L, "maxItems %d", mi->valueint))
                                        : NULL;
        if (!r || !r->cite) return -1;
        r->a = mi->valueint;
    }
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, "format");
    if (f) {
        if (!cJSON_IsString(f)) return load_fail(L, "format is not a string");
        if (strcmp(f->valuestring, "date-time") == 0) {
            if (!add_rule(L, rs, OA_R_DATE_TIME, "schema", "format date-time")) return -1;
        } else if (strcmp(f->valuestring, "int64") == 0) {
            s->int64 = 1; /* integers are 64-bit anyway */
        }
        else if (strcmp(f->valuestring, "iso-country-code") == 0) {
            /* the format's name says what it is: ISO 3166-1 alpha-2 */
            if (!add_rule(L, rs, OA_R_COUNTRY, "schema", "format iso-country-code")) return -1;
        }
        /* other formats (uri, ...) annotate only, as in JSON Schema */
    }
    return 0;
}

static int type_of(loader *L, const cJSON *t, int *type) {
    static const struct {
        const char *name;
        int type;
    } types[] = {{"string", OA_STRING}, {"integer", OA_INTEGER}, {"number", OA_NUMBER},
                 {"boolean", OA_BOOLEAN}, {"array", OA_ARRAY}, {"object", OA_OBJECT}};
    *type = OA_ANY;
    if (!t) return 0;
    for (size_t i = 0; cJSON_IsString(t) && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(t->valuestring, types[i].name) == 0) {
            *type = types[i].type;
            return 0;
        }
    return load_fail(L, "unsupported type");
}

/* ------------------------------------------------------------- prose */

#define OA_MAX_FACTS 16
#define OA_MAX_NOTES 16

static const char *quote(loader *L, const oa_span *q) { return fmt(L, "\"%.*s\"", (int)q->n, q->s); }

static int span_ieq(const oa_span *a, const oa_span *b) {
    return a->n == b->n && strncasecmp(a->s, b->s, a->n) == 0;
}

/* Apply the description's facts to s (whose own rules are in rs; its
 * items' in irs).  Facts that do not fit the type are kept as notes. */
static int prose_rules(loader *L, const char *desc, oa_schema *s, rules *rs, rules *irs) {
    oa_fact facts[OA_MAX_FACTS];
    oa_span notes[OA_MAX_NOTES];
    size_t nnotes = 0;
    size_t nf = oa_prose_scan(desc, facts, OA_MAX_FACTS, notes, OA_MAX_NOTES, &nnotes);
    for (size_t i = 0; i < nnotes; i++)
        if (add_note(L, notes[i].s, notes[i].n) != 0) return -1;
    int array = s->type == OA_ARRAY;
    /* element rules go to the items of an array */
    int elem_type = array ? (s->items ? s->items->type : OA_ANY) : s->type;
    rules *ers = array ? irs : rs;
    int text = elem_type == OA_STRING || elem_type == OA_ANY;
    const oa_fact *only = NULL;
    const oa_fact *cond[OA_MAX_FACTS];
    size_t ncond = 0;
    const oa_fact *or_email = NULL, *or_all = NULL;
    for (size_t i = 0; i < nf; i++) {
        if (facts[i].kind == OA_P_ONLY_TYPE) only = &facts[i];
        if (facts[i].kind == OA_P_OR_EMAIL) or_email = &facts[i];
        if (facts[i].kind == OA_P_OR_ALL) or_all = &facts[i];
    }
    for (size_t i = 0; i < nf; i++) {
        const oa_fact *f = &facts[i];
        const char *cite = quote(L, &f->quote);
        if (!cite) return -1;
        oa_rule *r = NULL;
        int fits = 1;
        switch (f->kind) {
        case OA_P_ONLY_TYPE: continue;
        case OA_P_OR_EMAIL: /* with the E.164 sentence: the rule is both */
        case OA_P_OR_ALL:
            continue;
        case OA_P_E164:
        case OA_P_E164_PREFIX:
        case OA_P_COUNTRY:
        case OA_P_IP: {
            if (!text) {
                fits = 0;
                break;
            }
            const oa_fact *with = f->kind == OA_P_E164 ? or_email : f->kind == OA_P_COUNTRY ? or_all : NULL;
            /* both sentences, in the description's order */
            const char *c2 = !with ? cite
                             : with->quote.s < f->quote.s
                                 ? fmt(L, "\"%.*s\" ... %s", (int)with->quote.n, with->quote.s, cite)
                                 : fmt(L, "%s ... \"%.*s\"", cite, (int)with->quote.n, with->quote.s);
            int kind = f->kind == OA_P_COUNTRY ? OA_R_COUNTRY : f->kind == OA_P_IP ? OA_R_IP : OA_R_PHONE;
            if (!c2 || !(r = add_rule(L, ers, kind, "description", c2))) return -1;
            r->a = f->kind == OA_P_E164_PREFIX ? 2 : with ? 1 : 0;
            break;
        }
        case OA_P_JSON_EMAIL_FROM: {
            static const char *const from[] = {"from"};
            if (!text) fits = 0;
            else if ((r = add_rule(L, ers, OA_R_JSON_EMAIL_MEMBER, "description", cite))) {
                r->strs = from;
                r->nstrs = 1;
            } else return -1;
            break;
        }
        case OA_P_MAX_LENGTH_IF:
        case OA_P_LENGTH_IF:
            if (!text) fits = 0;
            else if (only && span_ieq(&only->cond, &f->cond)) { /* the only case there is */
                const char *both = fmt(L, "\"%.*s\" %s", (int)only->quote.n, only->quote.s, cite);
                if (!both || !(r = add_rule(L, ers, OA_R_LENGTH, "description", both))) return -1;
                r->a = f->kind == OA_P_LENGTH_IF ? f->n1 : 0;
                r->b = f->kind == OA_P_LENGTH_IF ? f->n2 : f->n1;
            } else if (!only) {
                cond[ncond++] = f;
            } else {
                fits = 0;
            }
            break;
        case OA_P_MAX_LENGTH:
        case OA_P_LENGTH:
            if (!text) fits = 0;
            else if ((r = add_rule(L, ers, OA_R_LENGTH, "description", cite))) {
                r->a = f->kind == OA_P_LENGTH ? f->n1 : 0;
                r->b = f->kind == OA_P_LENGTH ? f->n2 : f->n1;
            } else return -1;
            break;
        case OA_P_RANGE:
            if (elem_type != OA_INTEGER) fits = 0;
            else if ((r = add_rule(L, ers, OA_R_RANGE, "description", cite))) {
                r->has_a = r->has_b = 1;
                r->a = f->n1;
                r->b = f->n2;
            } else return -1;
            break;
        case OA_P_DASH_ALNUM:
            if (!text) fits = 0;
            else if (!add_rule(L, ers, OA_R_DASH_ALNUM, "description", cite)) return -1;
            break;
        case OA_P_JSON_STRINGS:
        case OA_P_JSON_OBJECT:
            if (!text) fits = 0;
            else if (!add_rule(L, ers, f->kind == OA_P_JSON_STRINGS ? OA_R_JSON_STRINGS : OA_R_JSON_OBJECT,
                               "description", cite))
                return -1;
            break;
        case OA_P_LABEL_VALUE:
            if (!text) fits = 0;
            else if ((r = add_rule(L, ers, OA_R_JSON_LABEL_VALUE, "description", cite))) {
                r->a = f->n1;
                r->b = f->n2;
            } else return -1;
            break;
        case OA_P_MAX_MEMBERS:
        case OA_P_KV_LENGTH:
            if (!text) fits = 0;
            else if ((r = add_rule(L, ers, f->kind == OA_P_MAX_MEMBERS ? OA_R_JSON_MEMBERS : OA_R_JSON_KV_LENGTH,
                                   "description", cite)))
                r->a = f->n1;
            else return -1;
            break;
        case OA_P_MAX_ITEMS:
            if (!array) fits = 0;
            else if ((r = add_rule(L, rs, OA_R_MAX_ITEMS, "description", cite))) r->a = f->n1;
            else return -1;
            break;
        case OA_P_ENUM:
        case OA_P_ENUM_OR_EMPTY:
            if (!text) fits = 0;
            else if ((r = add_rule(L, ers, OA_R_ENUM, "description", cite))) {
                if (!(r->strs = strlist(L, f->vals, f->nvals))) return -1;
                r->nstrs = f->nvals;
                r->a = f->kind == OA_P_ENUM_OR_EMPTY;
            } else return -1;
            break;
        }
        if (!fits && add_note(L, f->quote.s, f->quote.n) != 0) return -1;
    }
    if (ncond == 1) return add_note(L, cond[0]->quote.s, cond[0]->quote.n); /* one case of several: unknowable */
    if (ncond > 1) {
        /* the description lists the cases: the value fits one of them */
        oa_alt *alts = oa_alloc(&L->o->arena, ncond * sizeof *alts);
        if (!alts) return oom(L);
        char cite[900] = "";
        size_t used = 0;
        for (size_t k = 0; k < ncond; k++) {
            alts[k].lo = cond[k]->kind == OA_P_LENGTH_IF ? (long)cond[k]->n1 : 0;
            alts[k].hi = (long)(cond[k]->kind == OA_P_LENGTH_IF ? cond[k]->n2 : cond[k]->n1);
            if (!(alts[k].label = oa_strndup(&L->o->arena, cond[k]->cond.s, cond[k]->cond.n))) return oom(L);
            int w = snprintf(cite + used, sizeof cite - used, "%s\"%.*s\"", k ? " ... " : "", (int)cond[k]->quote.n,
                             cond[k]->quote.s);
            if (w > 0 && (size_t)w < sizeof cite - used) used += (size_t)w;
        }
        const char *c = fmt(L, "%s", cite);
        oa_rule *r = c ? add_rule(L, ers, OA_R_LENGTH_ANY, "description", c) : NULL;
        if (!r) return -1;
        r->alts = alts;
        r->nalts = ncond;
    }
    return 0;
}

/* ------------------------------------------------------------ schemas */

static oa_schema *compile_schema(loader *L, const cJSON *j, const char *desc, int depth) {
    oa_arena *a = &L->o->arena;
    if (depth > 8) {
        load_fail(L, "schema nested too deeply");
        return NULL;
    }
    if (!cJSON_IsObject(j)) {
        load_fail(L, "a schema is not an object");
        return NULL;
    }
    const char *refname = NULL;
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(j, "$ref");
    if (ref) {
        static const char prefix[] = "#/components/schemas/";
        if (!cJSON_IsString(ref) || strncmp(ref->valuestring, prefix, sizeof prefix - 1) != 0) {
            load_fail(L, "unsupported $ref");
            return NULL;
        }
        refname = ref->valuestring + sizeof prefix - 1;
        j = cJSON_GetObjectItemCaseSensitive(L->schemas, refname);
        if (!cJSON_IsObject(j)) {
            load_fail(L, "$ref to a schema that does not exist");
            return NULL;
        }
    }
    for (const cJSON *k = j->child; k; k = k->next)
        if (!annotation(k->string)) {
            char why[160];
            snprintf(why, sizeof why, "unsupported schema keyword %.60s", k->string);
            load_fail(L, why);
            return NULL;
        }
    oa_schema *s = oa_alloc(a, sizeof *s);
    if (!s) {
        oom(L);
        return NULL;
    }
    if (type_of(L, cJSON_GetObjectItemCaseSensitive(j, "type"), &s->type) != 0) return NULL;
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(j, "items");
    if (s->type == OA_ARRAY) {
        s->items = items ? compile_schema(L, items, NULL, depth + 1) : oa_alloc(a, sizeof *s->items);
        if (!s->items) {
            if (!items) oom(L);
            return NULL;
        }
    }
    if (s->type == OA_OBJECT) {
        const cJSON *props = cJSON_GetObjectItemCaseSensitive(j, "properties");
        const cJSON *req = cJSON_GetObjectItemCaseSensitive(j, "required");
        size_t n = (size_t)cJSON_GetArraySize(props);
        if (n && !(s->props = oa_alloc(a, n * sizeof *s->props))) {
            oom(L);
            return NULL;
        }
        for (const cJSON *p = props ? props->child : NULL; p; p = p->next) {
            oa_prop *op = &s->props[s->nprops++];
            const cJSON *d = cJSON_GetObjectItemCaseSensitive(p, "description");
            if (!(op->name = oa_strdup(a, p->string)) ||
                !(op->schema = compile_schema(L, p, cJSON_IsString(d) ? d->valuestring : NULL, depth + 1)))
                return NULL;
            for (const cJSON *r = req ? req->child : NULL; r; r = r->next)
                if (cJSON_IsString(r) && strcmp(r->valuestring, p->string) == 0) op->required = 1;
        }
    }
    rules rs = {.n = 0}, irs = {.n = 0};
    if (keyword_rules(L, j, refname, s, &rs) != 0) return NULL;
    if (desc && prose_rules(L, desc, s, &rs, &irs) != 0) return NULL;
    if (finish_rules(L, s, &rs) != 0) return NULL;
    if (irs.n) {
        /* prose rules of the elements come after the items' own keywords */
        rules all = {.n = 0};
        for (size_t i = 0; i < s->items->nrules; i++) all.r[all.n++] = s->items->rules[i];
        for (size_t i = 0; i < irs.n && all.n < OA_MAX_RULES; i++) all.r[all.n++] = irs.r[i];
        if (finish_rules(L, s->items, &all) != 0) return NULL;
    }
    return s;
}

/* ----------------------------------------------------- the emulator's list */

/* Rules the description states neither with a keyword nor in a form the
 * recogniser reads, each with its source.  A listed operation or parameter
 * that is not in the description stops the load (the list stays true). */
static const char *const passkeys[] = {"passkeys"};
static const struct emulator_rule {
    const char *op, *param;
    int kind;          /* OA_R_NOT_ENUM, OA_R_LENGTH (a..b), or -1: the rules of from_op's from_param */
    long a, b;
    const char *from_op, *from_param;
    const char *const *strs;
    size_t nstrs;
    const char *cite;
} emulator_rules[] = {
    {"CreateAccessToken", "Identity", -1, 0, 0, "CreateEntity", "Identity", NULL, 0,
     "the token is for a factor of the Entity this Identity names, so it follows the Identity rule the "
     "description gives the entity operations (CreateEntity's Identity)"},
    {"CreateNewFactor", "FactorType", OA_R_NOT_ENUM, 0, 0, NULL, NULL, passkeys, 1,
     "passkeys factors are created with CreateNewFactorPasskey (POST "
     "/v2/Services/{ServiceSid}/Passkeys/Factors), not here; the emulator makes push and totp factors"},
    {"UpdateFactor", "AuthPayload", OA_R_LENGTH, 1, -1, NULL, NULL, NULL, 0,
     "the payload is the code or signature that verifies the factor (the description: \"The optional payload "
     "needed to verify the Factor for the first time\"): an empty one has nothing to verify"},
};

static oa_param *find_param(emu_oracle *o, const char *op, const char *name, int in) {
    for (size_t i = 0; i < o->nops; i++) {
        if (strcmp(o->ops[i].id, op) != 0) continue;
        for (size_t k = 0; k < o->ops[i].nparams; k++)
            if (o->ops[i].params[k].in == in && strcmp(o->ops[i].params[k].name, name) == 0)
                return &o->ops[i].params[k];
    }
    return NULL;
}

static int apply_emulator_rules(loader *L) {
    for (size_t i = 0; i < sizeof emulator_rules / sizeof emulator_rules[0]; i++) {
        const struct emulator_rule *e = &emulator_rules[i];
        L->op = e->op;
        L->param = e->param;
        oa_param *p = find_param(L->o, e->op, e->param, OA_IN_FORM);
        if (!p) return load_fail(L, "the emulator's rule names a parameter the description does not have");
        rules rs = {.n = 0};
        for (size_t k = 0; k < p->schema->nrules; k++) rs.r[rs.n++] = p->schema->rules[k];
        if (e->kind == OA_R_NOT_ENUM || e->kind == OA_R_LENGTH) {
            oa_rule *r = add_rule(L, &rs, e->kind, "emulator", e->cite);
            if (!r) return -1;
            r->strs = e->strs;
            r->nstrs = e->nstrs;
            r->a = e->a;
            r->b = e->b;
        } else {
            const oa_param *from = find_param(L->o, e->from_op, e->from_param, OA_IN_FORM);
            if (!from) return load_fail(L, "the emulator's rule copies a parameter the description does not have");
            for (size_t k = 0; k < from->schema->nrules; k++) {
                const oa_rule *src = &from->schema->rules[k];
                if (strcmp(src->origin, "description") != 0) continue;
                const char *cite = fmt(L, "%s: %s", e->cite, src->cite);
                oa_rule *r = cite ? add_rule(L, &rs, src->kind, "emulator", cite) : NULL;
                if (!r) return -1;
                const char *keep_cite = r->cite;
                *r = *src;
                r->origin = "emulator";
                r->cite = keep_cite;
            }
        }
        if (finish_rules(L, p->schema, &rs) != 0) return -1;
    }
    return 0;
}

/* --------------------------------------------------------- operations */

static int add_param(loader *L, oa_op *op, size_t cap, const char *name, int in, int required, const cJSON *schema,
                     const char *desc) {
    if (op->nparams == cap) return load_fail(L, "too many parameters");
    oa_param *p = &op->params[op->nparams];
    L->param = name;
    if (!(p->name = oa_strdup(&L->o->arena, name))) return oom(L);
    p->in = in;
    p->required = required;
    if (!(p->schema = compile_schema(L, schema, desc, 0))) return -1;
    op->nparams++;
    return 0;
}

static int param_list(loader *L, oa_op *op, size_t cap, const cJSON *list) {
    for (const cJSON *p = list ? list->child : NULL; p; p = p->next) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(p, "name");
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(p, "in");
        const cJSON *req = cJSON_GetObjectItemCaseSensitive(p, "required");
        const cJSON *sch = cJSON_GetObjectItemCaseSensitive(p, "schema");
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(p, "description");
        if (!cJSON_IsString(name) || !cJSON_IsString(in) || !sch) return load_fail(L, "a parameter without name/in/schema");
        int where = strcmp(in->valuestring, "path") == 0    ? OA_IN_PATH
                    : strcmp(in->valuestring, "query") == 0 ? OA_IN_QUERY
                                                            : -1;
        if (where < 0) return load_fail(L, "a parameter in a place the oracle does not read (header, cookie)");
        if (add_param(L, op, cap, name->valuestring, where, cJSON_IsTrue(req) || where == OA_IN_PATH, sch,
                      cJSON_IsString(d) ? d->valuestring : NULL) != 0)
            return -1;
    }
    return 0;
}

static int compile_op(loader *L, const char *path, const cJSON *common, int method, const cJSON *j, oa_op *op) {
    oa_arena *a = &L->o->arena;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "operationId");
    if (!cJSON_IsString(id)) return load_fail(L, "an operation without operationId");
    L->op = id->valuestring;
    L->param = NULL;
    if (!(op->id = oa_strdup(a, id->valuestring)) || !(op->path = oa_strdup(a, path))) return oom(L);
    op->method = method;
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(j, "parameters");
    const cJSON *rb = cJSON_GetObjectItemCaseSensitive(j, "requestBody");
    const cJSON *content = rb ? cJSON_GetObjectItemCaseSensitive(rb, "content") : NULL;
    const cJSON *form = content ? cJSON_GetObjectItemCaseSensitive(content, "application/x-www-form-urlencoded") : NULL;
    const cJSON *json = content ? cJSON_GetObjectItemCaseSensitive(content, "application/json") : NULL;
    if (rb && !form && !json) return load_fail(L, "a requestBody that is neither form-encoded nor JSON");
    const cJSON *fschema = form ? cJSON_GetObjectItemCaseSensitive(form, "schema") : NULL;
    const cJSON *props = fschema ? cJSON_GetObjectItemCaseSensitive(fschema, "properties") : NULL;
    size_t cap = (size_t)cJSON_GetArraySize(common) + (size_t)cJSON_GetArraySize(params) +
                 (size_t)cJSON_GetArraySize(props);
    if (cap > 64) return load_fail(L, "more than 64 parameters");
    if (cap && !(op->params = oa_alloc(a, cap * sizeof *op->params))) return oom(L);
    if (param_list(L, op, cap, common) != 0 || param_list(L, op, cap, params) != 0) return -1;
    if (form) {
        op->body = OA_BODY_FORM;
        const cJSON *req = cJSON_GetObjectItemCaseSensitive(fschema, "required");
        for (const cJSON *p = props ? props->child : NULL; p; p = p->next) {
            int required = 0;
            for (const cJSON *r = req ? req->child : NULL; r; r = r->next)
                if (cJSON_IsString(r) && strcmp(r->valuestring, p->string) == 0) required = 1;
            const cJSON *d = cJSON_GetObjectItemCaseSensitive(p, "description");
            if (add_param(L, op, cap, p->string, OA_IN_FORM, required, p, cJSON_IsString(d) ? d->valuestring : NULL))
                return -1;
        }
    } else if (json) {
        op->body = OA_BODY_JSON;
        L->param = "(JSON body)";
        if (!(op->json = compile_schema(L, cJSON_GetObjectItemCaseSensitive(json, "schema"), NULL, 0))) return -1;
    }
    /* the template: literal segments and placeholders */
    L->param = NULL;
    const char *t = path;
    while (*t == '/') {
        t++;
        const char *end = strchr(t, '/');
        size_t n = end ? (size_t)(end - t) : strlen(t);
        if (op->nsegs == OA_MAX_SEGS || n == 0) return load_fail(L, "a path template the oracle cannot route");
        size_t k = op->nsegs++;
        op->seg_param[k] = -1;
        if (n >= 2 && t[0] == '{' && t[n - 1] == '}') {
            for (size_t i = 0; i < op->nparams; i++)
                if (op->params[i].in == OA_IN_PATH && strlen(op->params[i].name) == n - 2 &&
                    memcmp(op->params[i].name, t + 1, n - 2) == 0)
                    op->seg_param[k] = (int)i;
            if (op->seg_param[k] < 0) return load_fail(L, "a path placeholder without its parameter");
        } else {
            if (!(op->segs[k] = oa_strndup(a, t, n))) return oom(L);
            op->nliterals++;
        }
        t += n;
    }
    if (*t) return load_fail(L, "a path template that does not start with /");
    return 0;
}

static int compile_doc(loader *L, const cJSON *doc) {
    const cJSON *paths = cJSON_GetObjectItemCaseSensitive(doc, "paths");
    const cJSON *comp = cJSON_GetObjectItemCaseSensitive(doc, "components");
    L->schemas = comp ? cJSON_GetObjectItemCaseSensitive(comp, "schemas") : NULL;
    if (!cJSON_IsObject(paths)) return load_fail(L, "no paths");
    static const char *const methods[OA_NMETHODS] = {"get", "post", "delete"};
    size_t n = 0;
    for (const cJSON *p = paths->child; p; p = p->next)
        for (const cJSON *m = p->child; m; m = m->next) n++;
    if (!(L->o->ops = oa_alloc(&L->o->arena, (n ? n : 1) * sizeof *L->o->ops))) return oom(L);
    for (const cJSON *p = paths->child; p; p = p->next) {
        const cJSON *common = cJSON_GetObjectItemCaseSensitive(p, "parameters");
        for (const cJSON *m = p->child; m; m = m->next) {
            int method = -1;
            for (int k = 0; k < OA_NMETHODS; k++)
                if (strcmp(m->string, methods[k]) == 0) method = k;
            if (method < 0) {
                static const char *const ignore[] = {"parameters", "servers", "description", "summary"};
                int skip = 0;
                for (size_t k = 0; k < sizeof ignore / sizeof ignore[0]; k++) skip |= strcmp(m->string, ignore[k]) == 0;
                skip |= strncmp(m->string, "x-", 2) == 0;
                if (skip) continue;
                L->op = p->string;
                return load_fail(L, "a method the oracle does not route");
            }
            if (compile_op(L, p->string, common, method, m, &L->o->ops[L->o->nops]) != 0) return -1;
            L->o->nops++;
        }
    }
    return apply_emulator_rules(L);
}

emu_oracle *emu_oracle_new(char *errbuf, size_t errlen) {
    emu_oracle *o = calloc(1, sizeof *o);
    if (!o) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    loader L = {.o = o, .err = errbuf, .errlen = errlen};
    cJSON *doc = cJSON_ParseWithLength(emu_openapi_json, emu_openapi_json_len);
    int rc = doc ? compile_doc(&L, doc) : (snprintf(errbuf, errlen, "the embedded OpenAPI description does not parse "
                                                                    "(or out of memory)"), -1);
    cJSON_Delete(doc);
    if (rc != 0) {
        emu_oracle_free(o);
        return NULL;
    }
    return o;
}

void emu_oracle_free(emu_oracle *o) {
    if (!o) return;
    oa_arena_free(&o->arena);
    free(o);
}

/* --------------------------------------------------------------- dump */

static const char *const type_names[] = {"any", "string", "integer", "number", "boolean", "array", "object"};
static const char *const in_names[] = {"path", "query", "form"};
static const char *const method_names[] = {"GET", "POST", "DELETE"};

static void rule_text(const oa_rule *r, char *buf, size_t cap) {
    size_t used = 0;
    switch (r->kind) {
    case OA_R_LENGTH:
        if (r->b < 0) snprintf(buf, cap, "length >= %lld", r->a);
        else snprintf(buf, cap, "length %lld..%lld", r->a, r->b);
        return;
    case OA_R_LENGTH_ANY:
        used = (size_t)snprintf(buf, cap, "length any of");
        for (size_t i = 0; i < r->nalts && used < cap; i++)
            used += (size_t)snprintf(buf + used, cap - used, " %ld..%ld (%s)", r->alts[i].lo, r->alts[i].hi,
                                     r->alts[i].label);
        return;
    case OA_R_PATTERN: snprintf(buf, cap, "pattern %s", r->nstrs ? r->strs[0] : "?"); return;
    case OA_R_ENUM:
    case OA_R_NOT_ENUM:
        used = (size_t)snprintf(buf, cap, "%s", r->kind == OA_R_ENUM ? (r->a == 1 ? "enum (or empty)" : "enum") : "not");
        for (size_t i = 0; i < r->nstrs && used < cap; i++)
            used += (size_t)snprintf(buf + used, cap - used, "%s%s", i ? "|" : " ", r->strs[i]);
        return;
    case OA_R_DASH_ALNUM: snprintf(buf, cap, "dash-separated alphanumerics"); return;
    case OA_R_RANGE:
        if (r->has_a && r->has_b) snprintf(buf, cap, "range %lld..%lld", r->a, r->b);
        else if (r->has_a) snprintf(buf, cap, "range >= %lld", r->a);
        else snprintf(buf, cap, "range <= %lld", r->b);
        return;
    case OA_R_DATE_TIME: snprintf(buf, cap, "RFC 3339 date-time"); return;
    case OA_R_JSON_OBJECT: snprintf(buf, cap, "JSON object"); return;
    case OA_R_JSON_STRINGS: snprintf(buf, cap, "JSON object of string values"); return;
    case OA_R_JSON_LABEL_VALUE: snprintf(buf, cap, "JSON {label <= %lld, value <= %lld}", r->a, r->b); return;
    case OA_R_JSON_MEMBERS: snprintf(buf, cap, "JSON object of <= %lld members", r->a); return;
    case OA_R_JSON_KV_LENGTH: snprintf(buf, cap, "JSON keys and values <= %lld characters", r->a); return;
    case OA_R_MAX_ITEMS: snprintf(buf, cap, "at most %lld values", r->a); return;
    case OA_R_PHONE:
        snprintf(buf, cap, "%s", r->a == 2 ? "E.164 prefix" : r->a == 1 ? "E.164 phone number or email address"
                                                                         : "E.164 phone number");
        return;
    case OA_R_COUNTRY: snprintf(buf, cap, "ISO 3166-1 alpha-2 country code%s", r->a == 1 ? " or all" : ""); return;
    case OA_R_IP: snprintf(buf, cap, "IPv4 or IPv6 address"); return;
    case OA_R_JSON_EMAIL_MEMBER: snprintf(buf, cap, "JSON member %s: email address", r->nstrs ? r->strs[0] : "?"); return;
    }
    snprintf(buf, cap, "?");
}

static int dump_rules(cJSON *arr, const oa_schema *s, const char *scope) {
    char buf[512];
    for (size_t i = 0; i < s->nrules; i++) {
        const oa_rule *r = &s->rules[i];
        cJSON *j = cJSON_CreateObject();
        rule_text(r, buf, sizeof buf);
        if (emu_json_add(arr, NULL, j) != 0 || !cJSON_AddStringToObject(j, "rule", buf) ||
            (scope && !cJSON_AddStringToObject(j, "applies_to", scope)) ||
            !cJSON_AddStringToObject(j, "origin", r->origin) || !cJSON_AddStringToObject(j, "cite", r->cite))
            return -1;
    }
    return 0;
}

static int dump_line(FILE *out, cJSON *j) {
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!text) return -1;
    int rc = fprintf(out, "%s\n", text) < 0 ? -1 : 0;
    free(text);
    return rc;
}

static int dump_schema(FILE *out, const oa_op *op, const char *in, const char *name, int required,
                       const oa_schema *s) {
    cJSON *j = cJSON_CreateObject(), *rules = NULL;
    int ok = j && cJSON_AddStringToObject(j, "operation", op->id) &&
             cJSON_AddStringToObject(j, "method", method_names[op->method]) &&
             cJSON_AddStringToObject(j, "path", op->path) && cJSON_AddStringToObject(j, "in", in) &&
             cJSON_AddStringToObject(j, "parameter", name) &&
             cJSON_AddStringToObject(j, "type", type_names[s->type]) &&
             (s->type != OA_ARRAY || cJSON_AddStringToObject(j, "items", type_names[s->items->type])) &&
             cJSON_AddBoolToObject(j, "required", required) && (rules = cJSON_AddArrayToObject(j, "rules")) &&
             dump_rules(rules, s, NULL) == 0 && (!s->items || dump_rules(rules, s->items, "each value") == 0);
    if (!ok) {
        cJSON_Delete(j);
        return -1;
    }
    if (dump_line(out, j) != 0) return -1;
    for (size_t k = 0; k < s->nprops; k++) {
        char sub[256];
        snprintf(sub, sizeof sub, "%s%s%s", strcmp(name, "(body)") == 0 ? "" : name,
                 strcmp(name, "(body)") == 0 ? "" : ".", s->props[k].name);
        if (dump_schema(out, op, in, sub, s->props[k].required, s->props[k].schema) != 0) return -1;
    }
    return 0;
}

int emu_oracle_dump(const emu_oracle *o, FILE *out) {
    for (size_t i = 0; i < o->nops; i++) {
        const oa_op *op = &o->ops[i];
        for (size_t k = 0; k < op->nparams; k++)
            if (dump_schema(out, op, in_names[op->params[k].in], op->params[k].name, op->params[k].required,
                            op->params[k].schema) != 0)
                return -1;
        if (op->json && dump_schema(out, op, "json", "(body)", 1, op->json) != 0) return -1;
    }
    for (size_t i = 0; i < o->nnotes; i++) {
        cJSON *j = cJSON_CreateObject();
        if (!j || !cJSON_AddStringToObject(j, "operation", o->notes[i].op) ||
            !cJSON_AddStringToObject(j, "parameter", o->notes[i].param) ||
            !cJSON_AddStringToObject(j, "not_enforced", o->notes[i].sentence)) {
            cJSON_Delete(j);
            return -1;
        }
        if (dump_line(out, j) != 0) return -1;
    }
    return 0;
}
