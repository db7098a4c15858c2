/*
 * forms.c -- FetchForm (GET /v2/Forms/{FormType}): the JSON Schemas of
 * what a push factor's operations take.  The description says only
 * "Object that contains the available forms for this type ... in the
 * standard JSON Schema format" and shows `create_factor`, `verify_factor`
 * and `create_challenge` (empty) with an empty `form_meta`; the emulator
 * fills each with a JSON Schema made from the operation's parameters
 * (CreateNewFactor's push parameters, UpdateFactor's AuthPayload,
 * CreateChallenge's): our choice, said in doc/emulator.md.
 */
#include <stdio.h>
#include <string.h>

#include "emu.h"
#include "tv_ops.h"

static const char *json_type(const tv_param_spec *p) {
    switch (p->type) {
    case TV_PT_INT: return "integer";
    case TV_PT_BOOL: return "boolean";
    case TV_PT_JSON: return "object";
    default: return "string";
    }
}

/* One property of a form: its JSON Schema type and rules. */
static cJSON *property(const tv_param_spec *p) {
    cJSON *s = cJSON_CreateObject();
    int ok = s && cJSON_AddStringToObject(s, "type", json_type(p));
    if (ok && p->help) ok = cJSON_AddStringToObject(s, "description", p->help) != NULL;
    if (ok && p->type == TV_PT_INT)
        ok = cJSON_AddNumberToObject(s, "minimum", (double)p->min) && cJSON_AddNumberToObject(s, "maximum", (double)p->max);
    if (ok && p->type == TV_PT_TEXT && p->max)
        ok = cJSON_AddNumberToObject(s, "minLength", (double)p->min) &&
             cJSON_AddNumberToObject(s, "maxLength", (double)p->max);
    if (ok && p->type == TV_PT_DATE) ok = cJSON_AddStringToObject(s, "format", "date-time") != NULL;
    if (ok && p->type == TV_PT_SID) {
        char pat[48];
        snprintf(pat, sizeof pat, "^%s[0-9a-fA-F]{32}$", p->prefix);
        ok = cJSON_AddStringToObject(s, "pattern", pat) != NULL;
    }
    if (ok && p->enums) {
        cJSON *e = cJSON_AddArrayToObject(s, "enum");
        for (const char *const *v = p->enums; ok && e && *v; v++) ok = emu_json_add(e, NULL, cJSON_CreateString(*v)) == 0;
        ok = ok && e;
    }
    if (ok && (p->flags & TV_PF_ARRAY)) { /* an array of such items */
        cJSON *a = cJSON_CreateObject();
        if (!a || !cJSON_AddStringToObject(a, "type", "array")) {
            cJSON_Delete(a);
            cJSON_Delete(s);
            return NULL;
        }
        return emu_json_add(a, "items", s) == 0 ? a : (cJSON_Delete(a), NULL); /* s is gone either way */
    }
    if (!ok) {
        cJSON_Delete(s);
        return NULL;
    }
    return s;
}

/* The form of operation `op_name`: its parameters valid for a push factor,
 * required as the row says; with `keys`, only those, all required (the
 * verify_factor form is UpdateFactor's AuthPayload). */
static cJSON *form(const char *op_name, const char *const *keys) {
    const tv_operation *op = tv_operation_by_name(op_name);
    cJSON *f = cJSON_CreateObject(), *props = NULL, *req = NULL;
    int ok = op && f && cJSON_AddStringToObject(f, "type", "object") && (props = cJSON_AddObjectToObject(f, "properties")) &&
             (req = cJSON_AddArrayToObject(f, "required"));
    for (const tv_param_spec *p = ok ? op->params : NULL; ok && p && p->name; p++) {
        if (p->only && strcmp(p->only, "push") != 0) continue;
        int wanted = !keys;
        for (const char *const *k = keys; k && *k; k++) wanted |= strcmp(*k, p->key) == 0;
        if (!wanted) continue;
        ok = emu_json_add(props, p->key, property(p)) == 0;
        if (ok && (keys || (p->flags & TV_PF_REQUIRED) || (p->required_for && strcmp(p->required_for, "push") == 0)))
            ok = emu_json_add(req, NULL, cJSON_CreateString(p->key)) == 0;
    }
    if (!ok) {
        cJSON_Delete(f);
        return NULL;
    }
    return f;
}

void emu_h_fetch_form(const emu_ctx *x, emu_response *out) {
    static const char *const verify_keys[] = {"AuthPayload", NULL};
    const emu_call *c = x->c;
    char url[512];
    const char *vals[] = {c->pv[0]};
    cJSON *j = cJSON_CreateObject(), *forms = NULL;
    int ok = j && emu_row_url(url, sizeof url, c->host, c->row->name, vals) == 0 &&
             cJSON_AddStringToObject(j, "form_type", c->pv[0]) && (forms = cJSON_AddObjectToObject(j, "forms")) &&
             emu_json_add(forms, "create_factor", form("create_factor", NULL)) == 0 &&
             emu_json_add(forms, "verify_factor", form("update_factor", verify_keys)) == 0 &&
             emu_json_add(forms, "create_challenge", form("create_challenge", NULL)) == 0 &&
             cJSON_AddObjectToObject(j, "form_meta") && cJSON_AddStringToObject(j, "url", url);
    if (!ok) {
        cJSON_Delete(j);
        j = NULL;
    }
    emu_answer(x, out, 1, 200, j);
}
