/*
 * tv_ops.h -- the operation table: every operation of the API as one row
 * of data.
 *
 * A row says everything the library and the emulator need to know about an
 * operation: its name (`<verb>_<resource>`, the seed's convention), HTTP
 * method, path template with typed path parameters (SID pattern or the
 * identity rule), its query or form parameters (tv_param_spec: wire key,
 * Lua name, type, range/length, enum, required, secret, array), and what it
 * returns (an instance, a page with its list key, or nothing).
 *
 * Readers: request building, validation and redaction (tv_request.c), the
 * response shape checks (tv_response.c), the Lua methods, iterators,
 * objects and batches (lua_ops.c, lua/twilio/verify.lua), the emulator's
 * routing and parameter checks (csrc/emulator/api.c), the CLI and the
 * reference docs (through core.operations()).  spec/optable_openapi_spec.lua
 * holds every row against the vendored OpenAPI description
 * (spec/fixtures/twilio_verify_v2.json).
 *
 * Adding an endpoint = one row here (plus its behaviour in the emulator).
 * Everything is constant data: no mutable state.
 */
#ifndef TV_OPS_H
#define TV_OPS_H

#include <stddef.h>

#include "tv_validate.h"

typedef enum tv_method { TV_GET = 0, TV_POST, TV_DELETE } tv_method;

typedef enum tv_returns {
    TV_RET_INSTANCE, /* one resource object with a string `sid`            */
    TV_RET_PAGE,     /* { <list_key> = [...], meta = {...} }                 */
    TV_RET_NONE      /* 204 No Content (DELETE)                              */
} tv_returns;

/* A path parameter: `name` is its Lua name (and the field of a resource
 * object that holds it), `key` its name in the path template. */
typedef struct tv_path_param {
    const char *name;   /* "service_sid", "identity", "sid"                 */
    const char *key;    /* "ServiceSid", "Identity", "Sid"                  */
    const char *prefix; /* SID prefix ("VA", "YF", "YC"); NULL: identity rule */
    const char *rule;   /* where a rule the description leaves out comes from */
} tv_path_param;

#define TV_MAX_PATH_PARAMS 4

typedef struct tv_operation {
    const char *name;        /* "fetch_factor"                               */
    const char *verb;        /* "fetch", "list", "create", "update", "delete" */
    const char *resource;    /* "factor": the object kind it returns / acts on */
    const char *openapi_id;  /* the description's operationId: "FetchFactor" */
    tv_method method;
    const char *path;        /* "/v2/Services/{ServiceSid}/Entities/{Identity}/Factors/{Sid}" */
    const tv_path_param *path_params[TV_MAX_PATH_PARAMS + 1]; /* in path order, NULL-terminated */
    const tv_param_spec *params; /* query (GET) or form (POST); name == NULL ends it */
    tv_returns returns;
    const char *list_key;    /* TV_RET_PAGE: "factors"                        */
} tv_operation;

/* The table, in a stable order; tv_noperations rows. */
extern const tv_operation tv_operations[];
extern const size_t tv_noperations;

/* Row by name ("fetch_factor"), NULL when unknown. */
const tv_operation *tv_operation_by_name(const char *name);
/* Number of path parameters of op. */
size_t tv_operation_npath(const tv_operation *op);
/* A secret wire key of any operation (for redacting form bodies). */
int tv_secret_wire_key(const char *key, size_t len);

#endif
