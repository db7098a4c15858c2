/* tv_ops.c -- the operation table (see tv_ops.h).  The rows themselves
 * are generated (tv_ops_table.h, from api/ data files by api/gen.lua): rules
 * come from the OpenAPI description (spec/fixtures/twilio_verify_v2.json)
 * unless a parameter's `rule` says where else, and the spec holds each
 * such rule against that prose. */
#include "tv_ops.h"

#include <string.h>

#include "tv_ops_table.h"

_Static_assert(sizeof tv_operations / sizeof tv_operations[0] > 0, "the operation table is empty");

const tv_operation *tv_operation_by_name(const char *name) {
    for (size_t i = 0; i < tv_noperations; i++)
        if (strcmp(tv_operations[i].name, name) == 0) return &tv_operations[i];
    for (size_t i = 0; i < tv_noperations; i++)
        if (tv_operations[i].alias && strcmp(tv_operations[i].alias, name) == 0) return &tv_operations[i];
    return NULL;
}

size_t tv_operation_npath(const tv_operation *op) { return op->npath; }

int tv_secret_wire_key(const char *key, size_t len) {
    for (size_t i = 0; i < tv_noperations; i++)
        for (const tv_param_spec *p = tv_operations[i].params; p->name; p++)
            if ((p->flags & TV_PF_SECRET) && strlen(p->key) == len && memcmp(p->key, key, len) == 0) return 1;
    return 0;
}

/* p in set, or below one of its OBJECT members (depth-first). */
static const tv_param_spec *set_of(const tv_param_spec *set, const tv_param_spec *p, const tv_param_spec *holder,
                                   const tv_param_spec **parent, int depth) {
    if (depth > 8) return NULL; /* the data nests two levels; a cycle cannot be written in it */
    for (const tv_param_spec *q = set; q->name; q++)
        if (q == p) {
            *parent = holder;
            return set;
        }
    for (const tv_param_spec *q = set; q->name; q++)
        if (q->type == TV_PT_OBJECT && q->fields) {
            const tv_param_spec *s = set_of(q->fields, p, q, parent, depth + 1);
            if (s) return s;
        }
    return NULL;
}

const tv_param_spec *tv_param_set_of(const tv_operation *op, const tv_param_spec *p, const tv_param_spec **parent) {
    *parent = NULL;
    return set_of(op->params, p, NULL, parent, 0);
}
