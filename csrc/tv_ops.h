/*
 * tv_ops.h -- the operation table: every operation of the API as one row
 * of data.
 *
 * The rows are made by api/gen.lua from the operation data in api/ data files
 * (one file per resource, format in api/README.md) into tv_ops_table.h;
 * nobody writes them here.  A row says everything the library and the
 * emulator need to know about an operation: its name (`<verb>_<resource>`,
 * the seed's convention), HTTP method, path template with typed path
 * parameters (SID pattern, the identity rule, an enum...), its query or
 * form parameters (tv_param_spec: wire key, Lua name, type, range/length,
 * enum, required, secret, array), what it returns (an instance, a page with
 * its list key, or nothing), and what the generator derived once for the
 * readers (the number of Lua arguments, the resource whose objects carry
 * it as a method, the batch's short name, the device credentials that may
 * call it, the CLI's words).
 *
 * Readers: request building, validation and redaction (tv_request.c), the
 * response shape checks (tv_response.c), the Lua methods, iterators,
 * objects and batches (lua_ops.c, lua/twilio/verify.lua), the emulator's
 * routing, checks and handler registry (csrc/emulator/), the CLI and the
 * reference docs.  spec/optable_openapi_spec.lua holds every row against
 * the vendored OpenAPI description (spec/fixtures/twilio_verify_v2.json).
 *
 * Adding an endpoint = one row in api/<resource>.lua, `make gen`, and its
 * behaviour in the emulator (emu_h_<name>).  Everything is constant data:
 * no mutable state.
 */
#ifndef TV_OPS_H
#define TV_OPS_H

#include <stddef.h>

#include "tv_validate.h"

#if defined(__GNUC__) /* internal to the module: only luaopen_twilio_verify_core is exported, */
#pragma GCC visibility push(hidden) /* so calls between files are direct, with no PLT */
#endif

typedef enum tv_method { TV_GET = 0, TV_POST, TV_DELETE } tv_method;

typedef enum tv_returns {
    TV_RET_INSTANCE, /* one resource object with a string `id_key` (`sid`)  */
    TV_RET_PAGE,     /* { <list_key> = [...], meta = {...} }                 */
    TV_RET_NONE      /* 204 No Content (DELETE)                              */
} tv_returns;

#define TV_MAX_PATH_PARAMS 4

/* operation flags */
#define TV_OPF_DEVICE_JWT 0x1u   /* a device's signed JWT may call it (push.c)   */
#define TV_OPF_DEVICE_TOKEN 0x2u /* an enrolment access token may call it        */
#define TV_OPF_PARAMS 0x4u       /* takes a params table (non-positional params)  */
/* The body is JSON (application/json), not a form: the row's parameters are
 * the members of one JSON object (OBJECT parameters nest; ARRAY members are
 * JSON arrays), encoded once by tv_build in the row's order (the Passkeys
 * operations).  Its Lua names are the JSON names as they are. */
#define TV_OPF_JSON_BODY 0x8u

typedef struct tv_operation {
    const char *name;        /* "fetch_factor"                               */
    const char *verb;        /* "fetch", "list", "create", "update", "delete" */
    const char *resource;    /* "factor": the object kind it returns / acts on */
    const char *openapi_id;  /* the description's operationId: "FetchFactor" */
    tv_method method;
    const char *path;        /* "/v2/Services/{ServiceSid}/Entities/{Identity}/Factors/{Sid}" */
    /* In path order; name == NULL ends it.  `name` is the Lua name (and the
     * field of a resource object that holds it), `key` its name in the
     * path template; type, prefix, enums and rule as for any parameter. */
    const tv_param_spec *path_params;
    size_t npath;
    const tv_param_spec *params; /* query (GET) or form (POST); name == NULL ends it */
    tv_returns returns;
    const char *list_key;    /* TV_RET_PAGE: "factors"                        */
    const char *id_key;      /* TV_RET_INSTANCE: the string field naming it ("sid") */
    const char *alias;       /* the batch's short name ("fetch"), or NULL      */
    const char *parent;      /* list/create rows: the resource whose objects
                                carry it as a method (entity:factors()), or NULL */
    int nargs;               /* Lua arguments before the per-call options      */
    unsigned flags;          /* TV_OPF_*                                        */
    const char *summary;     /* one line, for the CLI's help                   */
    const char *description; /* a paragraph, or NULL                           */
    const char *const *examples; /* CLI command lines (without the program name) */
    /* Wire keys of which at least one must be given (none of them is
     * required alone: CreateVerificationCheck's To / VerificationSid), or NULL. */
    const char *const *one_of;
} tv_operation;

/* A resource: the kind of object some rows return. */
typedef struct tv_resource {
    const char *name;        /* "factor"                                      */
    const char *class_name;  /* "Factor": verify.Factor, the reference's @type */
    const char *list_key;    /* "factors" (its iterator), or NULL              */
    const char *const *describe; /* the fields tostring() shows after the id    */
    const char *const *columns;  /* the CLI's list columns: title, field, ...   */
    const char *group;           /* the CLI's command group ("factors", "safelist") */
} tv_resource;

/* The tables, in a stable order. */
extern const tv_operation tv_operations[];
extern const size_t tv_noperations;
extern const tv_resource tv_resources[];
extern const size_t tv_nresources;

/* Row by name ("fetch_factor") or short name ("fetch"), NULL when unknown. */
const tv_operation *tv_operation_by_name(const char *name);
/* Number of path parameters of op. */
size_t tv_operation_npath(const tv_operation *op);
/* A secret wire key of any operation (for redacting form bodies). */
int tv_secret_wire_key(const char *key, size_t len);
/* The parameter set of op's body that directly holds p (op->params, or an
 * OBJECT parameter's fields), and that OBJECT in *parent (NULL at the top).
 * NULL when p is not in op's tree. */
const tv_param_spec *tv_param_set_of(const tv_operation *op, const tv_param_spec *p, const tv_param_spec **parent);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#endif
