/*
 * tv_validate.h -- the rules of what the API accepts, in one place (the
 * operations and their parameter sets are data: tv_ops.h).
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
#include <stdint.h>

#include "tv_error.h"

#if defined(__GNUC__) /* internal to the module: only luaopen_twilio_verify_core is exported, */
#pragma GCC visibility push(hidden) /* so calls between files are direct, with no PLT */
#endif

typedef enum tv_ptype {
    TV_PT_TEXT,     /* UTF-8 text, no control characters, length in characters
                       (min/max; max 0 = no bound stated)                      */
    TV_PT_INT,      /* decimal integer within [min, max]                      */
    TV_PT_ENUM,     /* one of `enums`                                          */
    TV_PT_JSON,     /* text that must be a JSON object (Metadata, ...)         */
    TV_PT_BOOL,     /* "true" / "false" (any case on the wire; Lua booleans)   */
    TV_PT_DATE,     /* RFC 3339 date-time (Lua: that string or Unix seconds)   */
    TV_PT_SID,      /* ^{prefix}[0-9a-fA-F]{32}$                                */
    TV_PT_IDENTITY, /* 8-64 dash-separated alphanumerics (tv_check_identity)   */
    TV_PT_OBJECT    /* a JSON body's nested object: its members are `fields`
                       (a JSON-body row only; see tv_ops.h TV_OPF_JSON_BODY) */
} tv_ptype;

/* What a text value must look like beyond its length (a row's `format`;
 * the row's `rule` says where each comes from). */
typedef enum tv_format {
    TV_FMT_NONE = 0,
    TV_FMT_E164,          /* ^\+[1-9][0-9]{1,14}$: "+15551234567"                     */
    TV_FMT_E164_OR_EMAIL, /* an E.164 number, or (with an '@') an email address       */
    TV_FMT_E164_PREFIX,   /* ^\+[1-9][0-9]{0,14}$: the start of an E.164 number       */
    TV_FMT_COUNTRY,       /* ISO 3166-1 alpha-2: two upper-case ASCII letters ("US")  */
    TV_FMT_COUNTRY_OR_ALL,/* ... or "all"                                              */
    TV_FMT_IP,            /* an IPv4 or IPv6 address (inet_pton)                      */
    TV_FMT_UNIQUE_NAME    /* alphanumerics and '-', '_', '.' (Twilio error 60209)     */
} tv_format;

/* flags */
#define TV_PF_SECRET 0x1u     /* value is redacted in logs (AuthPayload, tokens) */
#define TV_PF_QUERY 0x2u      /* travels in the query string, not the form body  */
#define TV_PF_REQUIRED 0x4u   /* the operation fails without it                 */
#define TV_PF_ARRAY 0x8u      /* a list: each element is its own repeated key   */
#define TV_PF_POSITIONAL 0x10u /* Lua: a positional argument after the path ones */
#define TV_PF_PAGING 0x20u    /* PageSize, Page, PageToken: a list's paging       */
#define TV_PF_CSV 0x40u       /* a comma-separated list (Lua: a string or a sequence) */
#define TV_PF_STRING_MAP 0x80u /* JSON: an object whose values are all strings      */

typedef struct tv_param_spec {
    const char *name;             /* Lua-side name, e.g. "friendly_name"       */
    const char *key;              /* wire key, e.g. "FriendlyName"             */
    tv_ptype type;
    long min, max;                /* INT: value range; TEXT/JSON: length range  */
    const char *const *enums;     /* ENUM: NULL-terminated list                 */
    unsigned flags;
    const char *prefix;           /* SID: the two-letter prefix                 */
    int max_items;                /* ARRAY: most elements (0 = no bound)        */
    /* Where a rule the OpenAPI description does not state comes from (its
     * prose, Twilio's docs): the table-vs-OpenAPI spec accepts a range, an
     * enum or a pattern that differs from the description only when this
     * says why.  NULL when every rule is the description's own. */
    const char *rule;
    /* Words for people (the CLI's help, the reference): what it is, the
     * placeholder of its value. */
    const char *help;
    const char *metavar;
    /* Factor parameters valid for one factor type only ("push" / "totp"),
     * and required for it (the description's "Required when `factor_type`
     * is `push`"). */
    const char *only;
    const char *required_for;
    const char *def;             /* the value the API answers when never given */
    const char *const *pairs;    /* JSON array items that are two-field objects:
                                    their names ({"label", "value"})          */
    int pair_max[2];             /* their lengths in characters (0: unbounded) */
    /* OBJECT: the members of the nested object, name == NULL ends them.
     * A member's `key` is its JSON name, its `name` the dotted path of Lua
     * names from the top ("config.relying_party.id"), for errors, the
     * reference and the CLI.  In a JSON body an ARRAY member is a JSON
     * array of values of its type. */
    const struct tv_param_spec *fields;
    tv_format format;            /* TEXT: TV_FMT_* (0: any text)                  */
    int max_members;             /* JSON: most members of the object (0: any)     */
    int kv_max;                  /* JSON: most characters of a key or string value */
    const char *email_member;    /* JSON: this member, when present, is an email address */
} tv_param_spec;

/* Look a parameter up by Lua name / by wire key; NULL when not in the set. */
const tv_param_spec *tv_param_by_name(const tv_param_spec *set, const char *name);
const tv_param_spec *tv_param_by_key(const tv_param_spec *set, const char *key);

/* Validate a value given as a string (integers in decimal).  For TV_PT_INT
 * the string must be an optional '-' and 1..18 digits, nothing else.  An
 * OBJECT has no value of its own (its members are checked one by one): a
 * value given for one is refused. */
int tv_param_check(const tv_param_spec *p, const char *val, size_t len, tv_error *err);

/* Path parameters. */
/* ^{prefix}[0-9a-fA-F]{32}$ (34 characters); `name` is the parameter named
 * in the error. */
int tv_check_sid(const char *name, const char *prefix, const char *s, size_t len, tv_error *err);
int tv_check_identity(const char *s, size_t len, tv_error *err);    /* 8-64, [A-Za-z0-9]+(-[A-Za-z0-9]+)* */
int tv_check_account_sid(const char *s, size_t len, tv_error *err); /* ^AC[0-9a-fA-F]{32}$ */
int tv_check_api_key(const char *s, size_t len, tv_error *err);     /* ^SK[0-9a-fA-F]{32}$ */

/* RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm), with
 * real calendar ranges. */
int tv_check_date(const char *name, const char *s, size_t len, tv_error *err);
/* The same grammar, parsed: *out (when not NULL) the Unix seconds it names.
 * 0, or -1 when it is no such date-time. */
int tv_parse_date(const char *s, size_t len, int64_t *out);
/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil). */
int64_t tv_days_from_civil(int64_t y, int m, int d);

/* The formats of tv_format, on text already checked by tv_check_text:
 * 0, or -1 with err naming `name` and what was expected. */
int tv_check_format(const char *name, tv_format f, const char *s, size_t len, tv_error *err);
/* An email address as HTML's "valid e-mail address" (local@domain: the
 * local part 1-64 of A-Za-z0-9.!#$%&'*+/=?^_`{|}~-, the domain labels of
 * alphanumerics and inner dashes, at least two of them): 1 / 0. */
int tv_is_email(const char *s, size_t len);

/* Generic text rule shared by all of the above: no NUL, no control
 * characters (CR/LF/TAB...), valid UTF-8 (no overlongs, no surrogates).
 * Returns the number of characters, or -1 with err filled (param `name`). */
long tv_check_text(const char *name, const char *s, size_t len, tv_error *err);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#endif
