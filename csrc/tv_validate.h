/*
 * tv_validate.h -- every rule of what the Factor API accepts, in one place.
 *
 * The client validates arguments with these before any I/O; the emulator
 * validates incoming requests with the same functions, so both agree on what
 * is valid.  Parameter sets are constant tables (no mutable state).
 *
 * All checks take a byte string with an explicit length (embedded NULs are
 * detected) and on failure fill `err` with kind TV_EARG, `err->param` set to
 * the parameter's Lua-side name, and a message naming the parameter and the
 * rule; they return 0 when valid and -1 otherwise.
 */
#ifndef TV_VALIDATE_H
#define TV_VALIDATE_H

#include <stddef.h>

#include "tv_error.h"

typedef enum tv_ptype {
    TV_PT_TEXT,   /* UTF-8 text, no control characters, length in characters */
    TV_PT_INT,    /* decimal integer within [min, max]                      */
    TV_PT_ENUM,   /* one of `enums`                                          */
    TV_PT_JSON    /* text that must be a JSON object (Metadata)              */
} tv_ptype;

/* flags */
#define TV_PF_SECRET 0x1u   /* value is redacted in logs (AuthPayload, tokens) */
#define TV_PF_QUERY 0x2u    /* travels in the query string, not the form body  */

typedef struct tv_param_spec {
    const char *name;             /* Lua-side name, e.g. "friendly_name"       */
    const char *key;              /* wire key, e.g. "FriendlyName"             */
    tv_ptype type;
    long min, max;                /* INT: value range; TEXT: length range       */
    const char *const *enums;     /* ENUM: NULL-terminated list                 */
    unsigned flags;
} tv_param_spec;

/* The parameter sets, each terminated by an entry whose name is NULL. */
extern const tv_param_spec tv_params_update[];  /* UpdateFactor form body  */
extern const tv_param_spec tv_params_create[];  /* CreateNewFactor form    */
extern const tv_param_spec tv_params_list[];    /* ListFactor query        */

/* Look a parameter up by Lua name / by wire key; NULL when not in the set. */
const tv_param_spec *tv_param_by_name(const tv_param_spec *set, const char *name);
const tv_param_spec *tv_param_by_key(const tv_param_spec *set, const char *key);

/* Validate a value given as a string (integers in decimal).  For TV_PT_INT
 * the string must be an optional '-' and 1..18 digits, nothing else. */
int tv_param_check(const tv_param_spec *p, const char *val, size_t len, tv_error *err);

/* Path parameters. */
int tv_check_service_sid(const char *s, size_t len, tv_error *err); /* ^VA[0-9a-fA-F]{32}$ */
int tv_check_factor_sid(const char *s, size_t len, tv_error *err);  /* ^YF[0-9a-fA-F]{32}$ */
int tv_check_identity(const char *s, size_t len, tv_error *err);    /* 8-64, [A-Za-z0-9]+(-[A-Za-z0-9]+)* */
int tv_check_account_sid(const char *s, size_t len, tv_error *err); /* ^AC[0-9a-fA-F]{32}$ */
int tv_check_api_key(const char *s, size_t len, tv_error *err);     /* ^SK[0-9a-fA-F]{32}$ */

/* Generic text rule shared by all of the above: no NUL, no control
 * characters (CR/LF/TAB...), valid UTF-8 (no overlongs, no surrogates).
 * Returns the number of characters, or -1 with err filled (param `name`). */
long tv_check_text(const char *name, const char *s, size_t len, tv_error *err);

#endif
