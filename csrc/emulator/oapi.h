/*
 * oapi.h -- the emulator's oracle: every API request is checked against the
 * OpenAPI description itself (spec/fixtures/twilio_verify_v2.json, Twilio's,
 * embedded in the binary at build time by mk/embed.lua), never with the
 * client's rules: the oapi_*.c files do not include tv_ops.h or
 * tv_validate.h, so a validation bug of the client cannot hide in the
 * emulator's answers (doc/emulator.md, "How requests are validated").
 *
 *   oapi_load.c   parses the description once (cJSON) and compiles each of
 *                 its operations: method, path template, path / query /
 *                 form parameters and JSON bodies, each parameter's schema
 *                 as a list of rules that say where they come from (a
 *                 schema keyword, a sentence of the description, or the
 *                 emulator's own short list); the cJSON tree is freed.
 *   oapi_prose.c  a small, strict recogniser of the prose forms in which the
 *                 description states rules it has no keyword for ("It can
 *                 be up to 64 characters").
 *   oapi_check.c  values against rules (UTF-8 text, integers, booleans,
 *                 date-time, patterns, JSON text), a method and raw path to
 *                 an operation, and emu_oracle_check (emu.h).
 *
 * Everything compiled lives in the oracle's arena (freed at once), is
 * read-only after load and is shared by the connection threads without a
 * lock.  Nothing here is global or mutable.
 */
#ifndef EMU_OAPI_H
#define EMU_OAPI_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>

#include "emu.h"

/* ------------------------------------------------------------ arena */

typedef struct oa_block oa_block;
typedef struct oa_arena {
    oa_block *head;
} oa_arena;

void *oa_alloc(oa_arena *a, size_t n);                    /* zeroed; NULL on OOM */
char *oa_strndup(oa_arena *a, const char *s, size_t n);  /* NUL-terminated copy */
void oa_arena_free(oa_arena *a);

/* ---------------------------------------------------------- patterns */

/* `pattern` keywords: the subset of ECMA-262 the description uses, made
 * strict -- optional ^ and $ anchors; literal characters (letters, digits,
 * '-', '_', and any metacharacter escaped with '\'); bracket classes of
 * ASCII characters and ranges, not negated; each atom optionally followed by
 * ?, *, + or {n}, {n,}, {n,m}.  Anything else (groups, alternation, '.',
 * \d ...) is refused when the description is loaded, so a new construct
 * fails loudly instead of being misread.  Matching simulates the automaton
 * (linear in the input, no backtracking). */
#define OA_PATTERN_MAX_ITEMS 256

typedef struct oa_pattern oa_pattern;
/* NULL with why set (unsupported syntax, or "out of memory"). */
const oa_pattern *oa_pattern_compile(oa_arena *a, const char *src, char *why, size_t whylen);
int oa_pattern_match(const oa_pattern *p, const char *s, size_t len); /* 1 match, 0 not */

/* ------------------------------------------------------------- rules */

enum oa_type { OA_ANY, OA_STRING, OA_INTEGER, OA_NUMBER, OA_BOOLEAN, OA_ARRAY, OA_OBJECT };

enum oa_rule_kind {
    OA_R_LENGTH,          /* a <= characters <= b (b < 0: no maximum)                 */
    OA_R_LENGTH_ANY,      /* characters within one of alts[0..nalts)                    */
    OA_R_PATTERN,         /* pat                                                        */
    OA_R_ENUM,            /* one of strs[0..nstrs); a == 1: "" too                      */
    OA_R_NOT_ENUM,        /* none of strs[0..nstrs)                                     */
    OA_R_DASH_ALNUM,      /* [A-Za-z0-9]+(-[A-Za-z0-9]+)*                               */
    OA_R_RANGE,           /* integers: a <= value <= b (has_a / has_b)                  */
    OA_R_DATE_TIME,       /* RFC 3339 section 5.6 date-time                             */
    OA_R_JSON_OBJECT,     /* the text is a JSON object                                  */
    OA_R_JSON_STRINGS,    /* ... whose member values are all strings                    */
    OA_R_JSON_LABEL_VALUE,/* ... of exactly "label" (<= a chars) and "value" (<= b)      */
    OA_R_JSON_MEMBERS,    /* ... of at most a members                                   */
    OA_R_JSON_KV_LENGTH,  /* ... whose keys and (string) values have at most a chars    */
    OA_R_MAX_ITEMS,       /* arrays: at most a elements                                 */
    OA_R_PHONE,           /* a == 0: an E.164 number; 1: or an email address; 2: an E.164 prefix */
    OA_R_COUNTRY,         /* ISO 3166-1 alpha-2 (two capital letters); a == 1: or `all` */
    OA_R_IP,              /* an IPv4 or IPv6 address                                    */
    OA_R_JSON_EMAIL_MEMBER/* JSON: member strs[0], when present, is an email address    */
};

typedef struct oa_alt {
    long lo, hi;          /* characters (hi < 0: no maximum) */
    const char *label;    /* the condition ("TOTP") */
} oa_alt;

/* One rule and where it comes from.  origin: "schema" (cite: the keyword,
 * "pattern ^VA[0-9a-fA-F]{32}$"), "description" (cite: the sentence(s) the
 * recogniser matched, quoted) or "emulator" (cite: its source). */
typedef struct oa_rule {
    int kind;
    long long a, b;
    int has_a, has_b;
    const char *const *strs;
    size_t nstrs;
    const oa_alt *alts;
    size_t nalts;
    const oa_pattern *pat;
    const char *origin;
    const char *cite;
} oa_rule;

typedef struct oa_schema oa_schema;

typedef struct oa_prop {
    const char *name;
    oa_schema *schema;
    int required;
} oa_prop;

struct oa_schema {
    int type;             /* OA_* (OA_ANY: the description gives none, `{}`) */
    int int64;            /* format int64 */
    oa_rule *rules;
    size_t nrules;
    oa_schema *items;     /* OA_ARRAY */
    oa_prop *props;       /* OA_OBJECT (JSON bodies) */
    size_t nprops;
};

enum { OA_IN_PATH, OA_IN_QUERY, OA_IN_FORM };
enum { OA_GET, OA_POST, OA_DELETE, OA_NMETHODS };
enum { OA_BODY_NONE, OA_BODY_FORM, OA_BODY_JSON };

typedef struct oa_param {
    const char *name;     /* the wire key ("Config.TimeStep") or template name ("ServiceSid") */
    int in;               /* OA_IN_* */
    int required;
    oa_schema *schema;
} oa_param;

#define OA_MAX_SEGS 8

typedef struct oa_op {
    const char *id;       /* operationId ("CreateNewFactor") */
    int method;           /* OA_GET / OA_POST / OA_DELETE */
    const char *path;     /* template ("/v2/Services/{ServiceSid}/Entities") */
    const char *segs[OA_MAX_SEGS]; /* literal segments; NULL for a placeholder */
    int seg_param[OA_MAX_SEGS];    /* placeholder: index into params; -1 literal */
    size_t nsegs, nliterals;
    oa_param *params;     /* path (template order), query, form */
    size_t nparams;
    int body;             /* OA_BODY_* */
    oa_schema *json;      /* OA_BODY_JSON: the body's schema */
} oa_op;

/* A sentence of a parameter's description that reads like a rule but that
 * the recogniser does not know: listed (--oracle-rules), not enforced (the
 * emulator's behaviour may still implement it, e.g. "Required when
 * `factor_type` is `push`"). */
typedef struct oa_note {
    const char *op, *param, *sentence;
} oa_note;

typedef struct oa_patcache {
    const char *src;
    const oa_pattern *pat;
} oa_patcache;

struct emu_oracle {
    oa_arena arena;
    oa_op *ops;
    size_t nops;
    oa_note *notes;
    size_t nnotes, capnotes;
    oa_patcache *pats;    /* compiled patterns by source (load time only) */
    size_t npats, cappats;
};

/* ----------------------------------------------------------- checking */

/* Why a value was refused: `why` is the rule broken, without the parameter
 * name ("must be at most 64 characters, got 65"); origin / cite are the
 * rule's.  Values are never quoted (they may be secrets). */
typedef struct oa_fail {
    char why[256];
    const char *origin;
    const char *cite;
} oa_fail;

/* A form, query or path value (bytes) against s: 0 valid, -1 refused (f
 * filled), -2 out of memory. */
int oa_check_text(const oa_schema *s, const char *v, size_t len, oa_fail *f);
/* Parse exactly v[0..len) as one JSON text (nothing but whitespace after
 * it, no NUL in it); NULL when it is not JSON (*oom 0) or on out of memory
 * (*oom 1).  The caller deletes the tree. */
cJSON *oa_parse_json(const char *v, size_t len, int *oom);
/* The rules on an array of n values (s the array's schema): 0 / -1. */
int oa_check_count(const oa_schema *s, size_t n, oa_fail *f);
/* A JSON value against s; name (cap bytes, NUL-terminated) holds the member
 * path on entry ("" for the body) and names the member at fault on -1.
 * 0 / -1 / -2 (out of memory). */
int oa_check_json(const oa_schema *s, const cJSON *j, char *name, size_t cap, oa_fail *f);

/* Routing: the operation for method + raw path.  0 found (r->op; r->seg
 * holds the raw segments), 404 no path of the description fits, 405 a path
 * fits but not with this method (r->allow: "GET, POST"). */
typedef struct oa_route {
    const oa_op *op;
    const char *seg[OA_MAX_SEGS];
    size_t seglen[OA_MAX_SEGS];
    char allow[32];
} oa_route;
int oa_route_find(const emu_oracle *o, const char *method, const char *raw_path, oa_route *r);

/* ------------------------------------------------------------- prose */

enum oa_fact_kind {
    OA_P_MAX_LENGTH,      /* n1 characters at most                          */
    OA_P_LENGTH,          /* n1..n2 characters                              */
    OA_P_MAX_LENGTH_IF,   /* cond: n1 characters at most                    */
    OA_P_LENGTH_IF,       /* cond: n1..n2 characters                        */
    OA_P_ONLY_TYPE,       /* "Only used with a Factor of type `cond`"      */
    OA_P_RANGE,           /* integers n1..n2                                */
    OA_P_DASH_ALNUM,
    OA_P_JSON_STRINGS,    /* stringified JSON object with string values     */
    OA_P_JSON_OBJECT,
    OA_P_LABEL_VALUE,     /* items: {label <= n1, value <= n2}              */
    OA_P_MAX_ITEMS,       /* n1 elements at most                            */
    OA_P_MAX_MEMBERS,     /* n1 JSON members at most                        */
    OA_P_KV_LENGTH,       /* JSON keys and values of n1 characters at most  */
    OA_P_ENUM,            /* vals                                           */
    OA_P_ENUM_OR_EMPTY,   /* vals, or ""                                    */
    OA_P_E164,            /* a phone number in E.164 format                 */
    OA_P_OR_EMAIL,        /* "The phone number or [email](...) to verify"   */
    OA_P_E164_PREFIX,     /* the prefix of an E.164 number                  */
    OA_P_COUNTRY,         /* an ISO-3166-1 country code                     */
    OA_P_OR_ALL,          /* "... Country will take the value `all`"        */
    OA_P_IP,              /* an IPv4 or IPv6 address                        */
    OA_P_JSON_EMAIL_FROM  /* JSON: 'from', when included, an email address  */
};

#define OA_FACT_MAX_VALUES 16

typedef struct oa_span {
    const char *s;
    size_t n;
} oa_span;

typedef struct oa_fact {
    int kind;
    long long n1, n2;
    oa_span cond;
    oa_span vals[OA_FACT_MAX_VALUES];
    size_t nvals;
    oa_span quote;        /* the whole sentence (without its final '.') */
} oa_fact;

/* Split `text` into sentences and recognise each against the known forms
 * (one fact per sentence, the first form that fits).  Writes at most `max`
 * facts and returns their number; sentences that read like a rule but fit
 * no form go to notes[0..maxnotes) (*nnotes, at most maxnotes).  Spans
 * point into text.  Pure: no allocation. */
size_t oa_prose_scan(const char *text, oa_fact *facts, size_t max, oa_span *notes, size_t maxnotes,
                     size_t *nnotes);

#endif
