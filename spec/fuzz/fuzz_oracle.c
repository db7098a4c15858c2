/* fuzz_oracle.c -- libFuzzer harness: the emulator's OpenAPI oracle on
 * request data (csrc/emulator/oapi_check.c, oapi_prose.c): routing a raw
 * path, the checks of path, query, form and JSON values, and its two small
 * parsers (patterns, prose).
 *
 * Input: byte 0 = mode (bits 0-1) and flags, then by mode:
 *   0 a request: bits 2-3 the method (GET, POST, DELETE, PUT), 0x10 a form
 *     Content-Type (else application/json); fields path and query, the
 *     rest is the body.  emu_oracle_check on it.  Invariants: 0 or -1; on
 *     -1 the answer is 400, 404, 405 or 500 with a JSON body, a 400 carries
 *     details.rule; on 0 the operation found has the request's method.
 *   1 one value: byte 1 picks an operation of the description, byte 2 one
 *     of its parameters, the rest is the value (oa_check_text on it, or on
 *     the items of an array).  Invariants: 0, -1 with a reason and an
 *     origin, or -2.
 *   2 a pattern: a field is the source, the rest a subject: compiled (it
 *     may be refused), then matched (0 or 1).  Also "^<the subject's
 *     letters and digits>$" must compile and match exactly those.
 *   3 prose: the rest as a description: every fact and note lies inside
 *     the text, enum facts have values.
 * The oracle is compiled once (the embedded description) and kept. */
#include "emulator/oapi.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static emu_oracle *fz_oracle;

static void fz_oracle_request(fz_in *in, int flags) {
    static const char *const methods[] = {"GET", "POST", "DELETE", "PUT"};
    size_t plen = 0, qlen = 0, blen = 0;
    char *path = fz_take(in, &plen, 1);
    char *query = fz_take(in, &qlen, 0);
    char *body = fz_rest(in, &blen, 1);
    emu_call c;
    memset(&c, 0, sizeof c);
    c.method = methods[(flags >> 2) & 3];
    c.raw_path = path;
    int form = (flags & 0x10) != 0;
    int rc = emu_form_parse(query, qlen, &c.query);
    FZ_ASSERT(rc == 0 || rc == -2);
    c.bad_query = rc == -2;
    c.form_type_ok = form || blen == 0;
    c.content_type = form ? "application/x-www-form-urlencoded" : "application/json";
    c.body = body;
    c.body_len = blen;
    if (form) {
        rc = emu_form_parse(body, blen, &c.form);
        FZ_ASSERT(rc == 0 || rc == -2);
        c.bad_form = rc == -2;
    }
    emu_response r;
    memset(&r, 0, sizeof r);
    const char *op_id = NULL;
    rc = emu_oracle_check(fz_oracle, &c, &op_id, &r);
    FZ_ASSERT(rc == 0 || rc == -1);
    if (rc == 0) {
        FZ_ASSERT(op_id != NULL && r.body == NULL);
        oa_route route;
        FZ_ASSERT(oa_route_find(fz_oracle, c.method, c.raw_path, &route) == 0);
        FZ_ASSERT(strcmp(route.op->id, op_id) == 0);
    } else {
        FZ_ASSERT(r.status == 400 || r.status == 404 || r.status == 405 || r.status == 500);
        if (r.body) {
            cJSON *j = cJSON_ParseWithLength(r.body, r.len);
            FZ_ASSERT(j != NULL);
            if (r.status == 400) {
                const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "details");
                FZ_ASSERT(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(d, "rule")));
            }
            cJSON_Delete(j);
        }
    }
    emu_response_free(&r);
    emu_kvlist_free(&c.query);
    emu_kvlist_free(&c.form);
    free(path);
    free(query);
    free(body);
}

static void fz_oracle_value(fz_in *in) {
    const oa_op *op = &fz_oracle->ops[(size_t)fz_byte(in) % fz_oracle->nops];
    int pick = fz_byte(in);
    size_t vlen = 0;
    char *v = fz_rest(in, &vlen, 0);
    if (op->nparams) {
        const oa_param *p = &op->params[(size_t)pick % op->nparams];
        const oa_schema *s = p->schema->type == OA_ARRAY && p->schema->items ? p->schema->items : p->schema;
        oa_fail f = {.origin = NULL};
        memset(&f, 0, sizeof f);
        int rc = oa_check_text(s, v, vlen, &f);
        FZ_ASSERT(rc == 0 || rc == -1 || rc == -2);
        if (rc == -1) FZ_ASSERT(f.why[0] && f.origin && f.cite && memchr(f.why, 0, sizeof f.why));
        if (p->schema->type == OA_ARRAY) {
            rc = oa_check_count(p->schema, vlen, &f);
            FZ_ASSERT(rc == 0 || rc == -1);
        }
    } else if (op->json) { /* a JSON body operation: the value as its body */
        int oom = 0;
        cJSON *j = oa_parse_json(v, vlen, &oom);
        if (j) {
            char name[256] = "";
            oa_fail f = {.origin = NULL};
            int rc = oa_check_json(op->json, j, name, sizeof name, &f);
            FZ_ASSERT(rc == 0 || rc == -1 || rc == -2);
            FZ_ASSERT(memchr(name, 0, sizeof name) != NULL);
            cJSON_Delete(j);
        }
    }
    free(v);
}

static void fz_oracle_pattern(fz_in *in) {
    size_t slen = 0, tlen = 0;
    char *src = fz_take(in, &slen, 1);
    char *subject = fz_rest(in, &tlen, 0);
    oa_arena a = {NULL};
    char why[256];
    const oa_pattern *p = oa_pattern_compile(&a, src, why, sizeof why);
    if (p) {
        int m = oa_pattern_match(p, subject, tlen);
        FZ_ASSERT(m == 0 || m == 1);
    } else {
        FZ_ASSERT(memchr(why, 0, sizeof why) != NULL && why[0]);
    }
    /* an anchored literal pattern matches exactly its own text */
    char lit[OA_PATTERN_MAX_ITEMS + 3];
    size_t n = 0;
    lit[n++] = '^';
    for (size_t i = 0; i < tlen && n < OA_PATTERN_MAX_ITEMS; i++) {
        char ch = subject[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')) lit[n++] = ch;
    }
    size_t litlen = n - 1;
    lit[n++] = '$';
    lit[n] = '\0';
    const oa_pattern *q = oa_pattern_compile(&a, lit, why, sizeof why);
    FZ_ASSERT(q != NULL);
    FZ_ASSERT(oa_pattern_match(q, lit + 1, litlen) == 1);
    if (litlen) FZ_ASSERT(oa_pattern_match(q, lit + 1, litlen - 1) == 0);
    oa_arena_free(&a);
    free(src);
    free(subject);
}

static void fz_oracle_prose(fz_in *in) {
    size_t tlen = 0;
    char *text = fz_rest(in, &tlen, 1);
    oa_fact facts[8];
    oa_span notes[8];
    size_t nnotes = 0;
    size_t nf = oa_prose_scan(text, facts, 8, notes, 8, &nnotes);
    size_t len = strlen(text); /* the scanner reads a C string */
    FZ_ASSERT(nf <= 8 && nnotes <= 8);
    for (size_t i = 0; i < nf; i++) {
        const oa_fact *f = &facts[i];
        FZ_ASSERT(f->quote.s >= text && f->quote.s + f->quote.n <= text + len && f->quote.n > 0);
        FZ_ASSERT(f->nvals <= OA_FACT_MAX_VALUES);
        if (f->kind == OA_P_ENUM || f->kind == OA_P_ENUM_OR_EMPTY) FZ_ASSERT(f->nvals >= 1);
        for (size_t k = 0; k < f->nvals; k++)
            FZ_ASSERT(f->vals[k].n > 0 && f->vals[k].s >= f->quote.s &&
                      f->vals[k].s + f->vals[k].n <= f->quote.s + f->quote.n);
    }
    for (size_t i = 0; i < nnotes; i++)
        FZ_ASSERT(notes[i].n > 0 && notes[i].s >= text && notes[i].s + notes[i].n <= text + len);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!fz_oracle) {
        char err[512];
        fz_oracle = emu_oracle_new(err, sizeof err);
        if (!fz_oracle) fprintf(stderr, "fuzz_oracle: %s\n", err);
        FZ_ASSERT(fz_oracle != NULL);
    }
    fz_in in = {data, size};
    int flags = fz_byte(&in);
    switch (flags & 3) {
    case 0: fz_oracle_request(&in, flags); break;
    case 1: fz_oracle_value(&in); break;
    case 2: fz_oracle_pattern(&in); break;
    default: fz_oracle_prose(&in); break;
    }
    return 0;
}
