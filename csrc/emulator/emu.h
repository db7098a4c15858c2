/*
 * emu.h -- private header of twilio-verify-emulator, grouped by file.
 *
 * The emulator is a local, stateful stand-in for the Services, Entities,
 * Factors and Challenges endpoints of verify.twilio.com (see
 * doc/emulator.md).  It validates every request against the OpenAPI
 * description itself, embedded at build time (oapi_*.c, oapi.h): never with
 * the client's rules, so it is an independent oracle for them.  It reuses the
 * operation table (tv_ops) to dispatch valid requests to its handlers,
 * tv_error (error records) and tv_totp (TOTP codes, Base32, otpauth URIs).
 * It never uses the client's request path or transport.
 *
 * Threading: libmicrohttpd runs one thread per connection.  All mutable
 * state lives in one emu_server and is guarded by emu_server.lock; functions
 * documented "lock held" must be called with it held.  Every store.c
 * function is "lock held" (or called before the server starts); the
 * operation handlers (api.c, resources.c) take the lock themselves and
 * never keep a store pointer after releasing it.
 *
 * Memory: every allocation is checked.  Functions returning int give 0 on
 * success and -1 on out of memory unless documented otherwise.
 */
#ifndef EMU_H
#define EMU_H

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>

#include "tv_error.h"
#include "tv_ops.h"
#include "ops_handlers.h"
#include "tv_totp.h"

#define EMU_ISSUER "twilio-verify-emulator"
#define EMU_DEFAULT_ACCOUNT_SID "AC00000000000000000000000000000000"
#define EMU_DEFAULT_AUTH_TOKEN "emulator-auth-token"
#define EMU_BODY_MAX (1024u * 1024u) /* largest request body accepted       */
#define EMU_LOG_MAX 200              /* requests kept by /__emulator/requests */
/* The request log is budgeted in bytes too (issue 23 item 2: every request
 * is logged before authentication, so its size is the sender's choice). */
#define EMU_LOG_BYTES (8u * 1024u * 1024u) /* all records together, at most   */
#define EMU_LOG_BODY_MAX (64u * 1024u)     /* bytes of one body kept             */
#define EMU_LOG_PAIRS 64                   /* form pairs kept per record         */
#define EMU_LOG_VALUE_MAX (8u * 1024u)     /* bytes of one key or value kept     */
/* Request bodies being received, all connections together: past it a body
 * is answered 413 like one over EMU_BODY_MAX. */
#define EMU_BODY_BUDGET (64u * 1024u * 1024u)
#define EMU_MAX_PUSH 20              /* live push factors per entity  (60315) */
#define EMU_MAX_TOTP 100             /* live TOTP factors per entity  (60315) */
#define EMU_DAILY_CREATES 100        /* creations per entity per day  (60326) */
#define EMU_MAX_FAILURES 5           /* wrong AuthPayloads in a row   (60310) */
#define EMU_LOCKOUT_SECONDS 300      /* lockout after EMU_MAX_FAILURES        */
#define EMU_CH_MAX_FAILURES 5        /* wrong AuthPayloads per challenge (60308) */
#define EMU_CH_DEFAULT_TTL 300       /* challenge expiration: creation + 5 min  */
#define EMU_CH_MAX_TTL 3600          /* ExpirationDate at most creation + 60 min */
#define EMU_MAX_OPS EMU_NOPERATIONS /* rows of tv_operations counted in stats */

/* ------------------------------------------------------------ form.c */

/* One decoded key/value pair.  Both strings are NUL-terminated copies;
 * klen/vlen give the real lengths (a decoded %00 stays in the value). */
typedef struct emu_kv {
    char *key;
    size_t klen;
    char *val;
    size_t vlen;
} emu_kv;

/* The pairs' strings live in blocks, one per emu_form_parse call, each
 * sized from its input (never more than twice it): the memory of a parse
 * is proportional to what was received, not one malloc per string. */
typedef struct emu_kvblock emu_kvblock;

typedef struct emu_kvlist {
    emu_kv *items;
    size_t n, cap;
    emu_kvblock *blocks;
} emu_kvlist;

/* The most pairs one form or query string may hold: more is refused before
 * anything is allocated (the API's largest operation takes a few dozen). */
#define EMU_FORM_MAX_PAIRS 1024

/* Percent-decode in[0..len) into a malloc'd NUL-terminated *out ('+' is a
 * space when plus_is_space).  0, -1 on out of memory, -2 on a bad escape. */
int emu_pct_decode(const char *in, size_t len, int plus_is_space, char **out, size_t *outlen);

/* Parse application/x-www-form-urlencoded text (also used for query
 * strings), appending pairs in received order.  Empty pieces ("a=1&&b=2")
 * are skipped; a key without '=' has the value "".  0, -1 OOM, -2 bad
 * escape, -3 more than EMU_FORM_MAX_PAIRS pairs (nothing appended).  On
 * -1/-2 the list may hold part of the pairs: free it. */
int emu_form_parse(const char *s, size_t len, emu_kvlist *out);

void emu_kvlist_free(emu_kvlist *l); /* frees the pairs; the list is reusable */

/* Split a raw path ("/v2/Services/..") into at most `max` raw segments
 * (pointers into `path`, not decoded).  Returns the number of segments, or
 * max + 1 when there are more.  The leading '/' is required (else 0). */
size_t emu_path_split(const char *path, size_t len, const char **seg, size_t *seglen, size_t max);

/* ------------------------------------------------------------- map.c */

typedef struct emu_map_node {
    char *key;
    void *val;
    struct emu_map_node *next;
} emu_map_node;

/* A string-keyed hash map with chaining; keys are copied, values borrowed. */
typedef struct emu_map {
    emu_map_node **buckets;
    size_t nbuckets, count;
} emu_map;

int emu_map_init(emu_map *m);
void *emu_map_get(const emu_map *m, const char *key);
int emu_map_put(emu_map *m, const char *key, void *val); /* replaces an existing value */
void *emu_map_remove(emu_map *m, const char *key);       /* returns the value or NULL */
/* Remove every entry, calling free_val (may be NULL) on each value. */
void emu_map_clear(emu_map *m, void (*free_val)(void *));
void emu_map_free(emu_map *m, void (*free_val)(void *)); /* clear + release buckets */

/* ------------------------------------------------------------ util.c */

/* Fill out with `nbytes` random bytes as lower-case hex after `prefix`
 * (e.g. "YF" + 16 bytes -> 34 chars + NUL).  0, or -1 if RAND_bytes failed. */
int emu_random_sid(const char *prefix, char *out, size_t nbytes);
/* "2015-07-30T20:00:00Z" for unix time t; out must hold 21 bytes. */
void emu_iso8601(int64_t t, char out[21]);
/* malloc'd copy (NULL only on out of memory or when s is NULL). */
char *emu_strdup(const char *s);
char *emu_strndup(const char *s, size_t n);

/* --------------------------------------------------------- template.c */

/* A name and a value, both malloc'd NUL-terminated strings. */
typedef struct emu_pair {
    char *name;
    char *value;
} emu_pair;

/* A JSON object text of at most `max` members whose values are strings,
 * numbers or booleans, as pairs (numbers and booleans as their JSON text).
 * 0; -1 out of memory; -2 not such an object (why says what is wrong).
 * *out is freed with emu_pairs_free. */
int emu_pairs_parse(const char *text, size_t len, size_t max, emu_pair **out, size_t *n, char *why, size_t whylen);
void emu_pairs_free(emu_pair *p, size_t n); /* accepts NULL */
/* tpl[0..len) with every {{name}} (spaces inside the braces allowed) of a
 * pair replaced by its value (the first pair of that name); anything else,
 * unknown placeholders included, is kept as it is.  At most `max` bytes,
 * cut at a UTF-8 boundary.  A malloc'd NUL-terminated string, NULL on OOM. */
char *emu_template_render(const char *tpl, size_t len, const emu_pair *subs, size_t nsubs, size_t max);

/* ----------------------------------------------------------- store.c */

enum { EMU_PUSH = 0, EMU_TOTP = 1, EMU_PASSKEYS = 2 };
/* "push", "totp", "passkeys": a factor type's name in answers and events. */
const char *emu_factor_type_name(int type);
enum { EMU_CH_PENDING = 0, EMU_CH_APPROVED, EMU_CH_DENIED, EMU_CH_EXPIRED };

/* An ordered list of objects by creation sequence, for real paging.
 * Removal leaves a tombstone (p == NULL); the array is compacted when
 * tombstones outnumber live items, so space and scans stay linear in the
 * live count and a position is found by binary search. */
typedef struct emu_seqitem {
    uint64_t seq;
    void *p;                 /* NULL once removed (tombstone) */
} emu_seqitem;

typedef struct emu_seqlist {
    emu_seqitem *items;      /* ordered by seq */
    size_t n, cap, live;
} emu_seqlist;

/* Append (seq must exceed every seq in l).  0 / -1 OOM. */
int emu_seqlist_push(emu_seqlist *l, uint64_t seq, void *p);
void emu_seqlist_remove(emu_seqlist *l, uint64_t seq, const void *p);
void emu_seqlist_free(emu_seqlist *l);
/* One page of live items that `keep` accepts (keep NULL: all).
 * before == 0: the first `n` items with seq > token (token 0 = start);
 * before == 1: the last `n` items with seq < token.
 * Writes at most n items into out (ascending seq) and returns the count;
 * *has_prev / *has_next say whether kept items exist before / after. */
size_t emu_seqlist_page(const emu_seqlist *l, int before, uint64_t token, size_t n, emu_seqitem *out,
                        int *has_prev, int *has_next, int (*keep)(const void *p, void *ctx), void *ctx);

typedef struct emu_entity emu_entity;
typedef struct emu_service emu_service;

/* A passkeys factor's WebAuthn state (passkeys.c; freed with its factor). */
typedef struct emu_passkey {
    char *rp_id, *rp_name;
    cJSON *origins;          /* array of strings: the origins its ceremonies may come from */
    char attachment[16], discoverable[16], uv[16]; /* config: platform..., required... */
    char reg_challenge[48];  /* base64url of the registration challenge */
    unsigned char *cred_id;  /* the credential, once verified (NULL before) */
    size_t cred_len;
    unsigned char pub[65];   /* its COSE key as an uncompressed P-256 point 04||x||y */
    uint32_t sign_count;
    cJSON *transports;       /* as the registration gave them, or NULL */
} emu_passkey;
void emu_passkey_free(emu_passkey *pk); /* store.c; accepts NULL */

typedef struct emu_factor {
    char sid[35];
    uint64_t seq;            /* creation order, unique, never reused */
    emu_entity *entity;
    int64_t created, updated;
    char *friendly_name;
    int type;                /* EMU_PUSH / EMU_TOTP */
    int verified;
    cJSON *metadata;         /* object or NULL (JSON null) */
    char *bind_key;          /* key in emu_store.bindings (60317), NULL when not registered */
    /* totp */
    unsigned char *secret;   /* wiped on free */
    size_t secret_len;
    tv_totp_alg alg;
    int skew, digits, step;
    int failures;            /* wrong AuthPayloads in a row */
    int64_t locked_until;    /* 60310 until this time (emulator clock) */
    /* challenge creations (60312): ring of the latest EMU_CH_DAILY times, lazily allocated */
    int64_t *ch_creates;
    size_t ch_n, ch_head;
    /* push */
    char *sdk_version, *app_id, *platform, *token, *public_key;
    /* passkeys */
    emu_passkey *pk;
} emu_factor;

typedef struct emu_challenge {
    char sid[35];
    uint64_t seq;
    emu_entity *entity;
    char factor_sid[35];
    int factor_type;         /* EMU_PUSH / EMU_TOTP */
    int64_t created, updated, responded, expires; /* responded 0 = not yet */
    int status;              /* EMU_CH_PENDING / APPROVED / DENIED (EXPIRED is computed) */
    int failures;            /* wrong AuthPayloads (60308) */
    char *details_message;   /* NULL when not given */
    cJSON *details_fields;   /* array or NULL */
    int has_details;
    cJSON *hidden_details;   /* object or NULL */
    cJSON *metadata;         /* object or NULL */
} emu_challenge;

struct emu_entity {
    char service_sid[35];
    char identity[65];
    char sid[35];            /* YE..., derived from (service, identity) */
    uint64_t seq;            /* position in its service's entity list */
    int64_t created, updated;
    emu_seqlist factors;     /* of emu_factor */
    emu_seqlist challenges;  /* of emu_challenge (owned) */
    size_t n_push, n_totp;
    int64_t creates[EMU_DAILY_CREATES]; /* ring of the latest creation times */
    size_t ncreates, creates_head;
};

/* Number of stored service settings: one per parameter of create_service. */
#define EMU_SERVICE_NVALS 40

/* A service SID the emulator has seen.  Requests on a never-created
 * service work (an implicit record holds its entities); `created` marks
 * one made by CreateService (fetchable, listed); `deleted` one removed by
 * DeleteService (every request on it is 404). */
struct emu_service {
    char sid[35];
    uint64_t seq;
    int created, deleted;
    int64_t date_created, date_updated;
    char *vals[EMU_SERVICE_NVALS]; /* raw wire values by index in create_service's params; NULL = default */
    emu_seqlist entities;          /* of emu_entity */
};

/* ------------------------------------------ store.c: one-time codes (issue 22)
 * Verifications, the outbox of what the emulator would have sent, the
 * attempts, service rate limits and buckets, messaging configurations, the
 * SafeList and the Fraud Guard settings.  Sources and semantics:
 * doc/emulator.md, "Verifications". */
#define EMU_VE_TTL 600            /* a verification lives 10 minutes ("Rate Limits and Timeouts")   */
#define EMU_VE_MAX_CHECKS 5       /* wrong codes per verification, then 60202                      */
#define EMU_VE_MAX_SENDS 5        /* sends per verification, then 60203                            */
#define EMU_OUTBOX_MAX 1000       /* messages kept by /__emulator/messages (the oldest go first)  */
#define EMU_ATTEMPTS_MAX 100000   /* attempts kept (the oldest go first)                           */
#define EMU_RATE_LIMITS_MAX 100   /* rate limits per service (60207: the emulator's number)        */
#define EMU_BUCKETS_MAX 10        /* buckets per rate limit (60210: the emulator's number)         */
#define EMU_SAFELIST_RPM 30       /* SafeList API requests per minute ("Safe List": 429)          */
#define EMU_FRAUD_MAX 64          /* Fraud Guard prefixes (/__emulator/fraud)                      */
#define EMU_MSG_MAX 4096          /* characters of a rendered message (longer: cut)                */

/* Stored status; EMU_VE_EXPIRED is computed (emu_verification_status). */
enum { EMU_VE_PENDING = 0, EMU_VE_APPROVED, EMU_VE_CANCELED, EMU_VE_MAX_ATTEMPTS, EMU_VE_EXPIRED };

typedef struct emu_ve_attempt {
    char sid[35];             /* VL... */
    int64_t time;
} emu_ve_attempt;

typedef struct emu_verification {
    char sid[35];             /* VE... */
    char service_sid[35];
    uint64_t seq;
    char *to;
    char channel[12];         /* sms, call, email, whatsapp, sna (auto resolved) */
    char code[11];            /* the code sent (wiped on free) */
    int status;               /* EMU_VE_PENDING / APPROVED / CANCELED / MAX_ATTEMPTS */
    int checks;               /* wrong codes so far */
    int64_t created, updated, expires;
    char *amount, *payee;     /* PSD2, NULL when not given */
    char locale[8];
    int lookup;               /* the service had LookupEnabled */
    int sna_invoked;          /* sna: its URL was fetched (/__emulator/sna/VE...) */
    int sna_token_required;   /* EnableSnaClientToken */
    char sna_token[33];       /* the client token the SNA URL hands out (wiped) */
    emu_ve_attempt attempts[EMU_VE_MAX_SENDS];
    size_t nattempts;
} emu_verification;

/* One message the emulator would have sent (GET /__emulator/messages). */
typedef struct emu_message {
    uint64_t id;
    char sid[35];             /* SM... (sms, whatsapp), CA... (call), EM... (email), the transaction's */
    int64_t created;
    char service_sid[35], verification_sid[35], attempt_sid[35];
    char channel[12];
    char *to;
    char *from;               /* the Messaging Service (messaging configurations) or WhatsApp sender, or NULL */
    char locale[8];
    char template_sid[35];    /* "" when none */
    char *body;               /* the rendered text, with the code */
} emu_message;

typedef struct emu_attempt {
    char sid[35];             /* VL... */
    uint64_t seq;
    char service_sid[35], verification_sid[35];
    char channel[12];
    char *to;
    char country[3];          /* "" when unknown */
    char locale[8];
    int code_length;
    int64_t created, updated, expires;
    int converted;            /* the verification was approved by a right code */
} emu_attempt;

typedef struct emu_hits {     /* accepted requests of one key, by time */
    int64_t *t;
    size_t n, cap;
} emu_hits;

typedef struct emu_bucket {
    char sid[35];             /* BL... */
    char rate_limit_sid[35], service_sid[35];
    uint64_t seq;
    long max, interval;
    int64_t created, updated;
    emu_map hits;             /* key value -> emu_hits (owned) */
} emu_bucket;

typedef struct emu_rate_limit {
    char sid[35];             /* RK... */
    char service_sid[35];
    uint64_t seq;
    char *unique_name, *description;
    int64_t created, updated;
    emu_seqlist buckets;      /* of emu_bucket (owned) */
} emu_rate_limit;

typedef struct emu_msgcfg {
    char service_sid[35];
    char country[4];          /* ISO 3166-1 alpha-2, or "all" */
    char messaging_service_sid[35];
    uint64_t seq;
    int64_t created, updated;
} emu_msgcfg;

typedef struct emu_safe {
    char sid[35];             /* GN... */
    char *phone;
} emu_safe;

typedef struct emu_otp {
    emu_map verifications;    /* "VE..." -> emu_verification (owned) */
    emu_map live;             /* "VA.../channel/to" -> its verification (index) */
    emu_seqlist ve_list;      /* verifications by creation (the expiry sweep) */
    emu_message *outbox[EMU_OUTBOX_MAX]; /* ring, oldest at outbox_head */
    size_t outbox_head, outbox_n;
    uint64_t next_message;
    emu_map attempts;         /* "VL..." -> emu_attempt (owned) */
    emu_seqlist attempt_list; /* account-wide, creation order */
    emu_map rate_limits;      /* "RK..." -> emu_rate_limit (owned) */
    emu_seqlist rate_limit_list;
    emu_map buckets;          /* "BL..." -> emu_bucket (owned by its rate limit) */
    emu_map msgcfgs;          /* "VA.../CC" -> emu_msgcfg (owned) */
    emu_seqlist msgcfg_list;
    emu_map safelist;         /* "+1555..." -> emu_safe (owned) */
    int64_t safelist_hits[EMU_SAFELIST_RPM]; /* ring of the latest SafeList requests */
    size_t safelist_n, safelist_head;
    char *fraud[EMU_FRAUD_MAX]; /* Fraud Guard: SMS to these prefixes is blocked (60410) */
    size_t nfraud;
} emu_otp;

/* A message template of the account (ListVerificationTemplate): constant data. */
typedef struct emu_template_tr {
    const char *locale, *text;
} emu_template_tr;
typedef struct emu_template {
    const char *sid, *friendly_name;
    const char *const *channels;
    const emu_template_tr *translations; /* NULL-terminated by locale */
} emu_template;
extern const emu_template emu_templates[];
extern const size_t emu_ntemplates;
const emu_template *emu_template_find(const char *sid);
/* The text of t for locale (its default translation, the first, when it has
 * none for locale); *used: the locale of the text. */
const char *emu_template_text(const emu_template *t, const char *locale, const char **used);

typedef struct emu_store {
    emu_map services;        /* "VA..." -> emu_service (owns its entities) */
    emu_seqlist service_list;/* created, not deleted services */
    emu_map entities;        /* "VA.../identity" -> emu_entity */
    emu_map factors;         /* "YF..." -> emu_factor (owned by the entity) */
    emu_map challenges;      /* "YC..." -> emu_challenge (owned by the entity) */
    emu_map bindings;        /* "YE.../P:<public key>" or "YE.../T:<secret hex>" -> emu_factor */
    emu_map access_tokens;   /* "YK..." -> emu_access_token (owned; push.c) */
    emu_map pk_challenges;   /* WebAuthn challenge (base64url) -> emu_pk_challenge (owned; passkeys.c) */
    uint64_t next_seq;
    emu_otp otp;             /* one-time codes: verifications and the rest */
} emu_store;

int emu_store_init(emu_store *s);
void emu_store_free(emu_store *s);
void emu_store_clear(emu_store *s);

/* Deterministic YE sid of (service, identity). */
void emu_entity_sid(const char *service_sid, const char *identity, char out[35]);
emu_service *emu_store_service(emu_store *s, const char *sid);
/* The service record of sid, made (implicit) when missing.  NULL on OOM. */
emu_service *emu_store_service_get_or_create(emu_store *s, const char *sid);
/* Mark the record created (CreateService) and list it.  0 / -1 OOM. */
int emu_store_service_publish(emu_store *s, emu_service *svc);
/* DeleteService: delete its entities (factors, challenges), unlist it, mark it deleted. */
void emu_store_service_delete(emu_store *s, emu_service *svc);
/* The value of setting `key` of svc (NULL: default or svc NULL). */
const char *emu_service_val(const emu_service *svc, const char *key);

emu_entity *emu_store_entity(emu_store *s, const char *service_sid, const char *identity);
/* The entity, created at `now` (with its service record) when missing.  NULL on OOM. */
emu_entity *emu_store_entity_get_or_create(emu_store *s, const char *service_sid, const char *identity,
                                           int64_t now);
/* Delete e with its factors and challenges. */
void emu_store_entity_delete(emu_store *s, emu_entity *e);
emu_factor *emu_store_factor(emu_store *s, const char *sid);
emu_challenge *emu_store_challenge(emu_store *s, const char *sid);

/* A new zeroed factor (type defaults), NULL on OOM. */
emu_factor *emu_factor_new(void);
void emu_factor_free(emu_factor *f); /* accepts NULL */
void emu_challenge_free(emu_challenge *ch); /* accepts NULL */

/* Give `f` a fresh random sid (unless f->sid is set) and the next seq, and
 * insert it into entity `e`.  Takes ownership of f on success only.
 * 0, -1 OOM, -2 duplicate sid. */
int emu_store_insert(emu_store *s, emu_entity *e, emu_factor *f);
/* Remove and free f. */
void emu_store_delete(emu_store *s, emu_factor *f);
/* Binding key of f ("P:<public key>" / "T:<secret hex>" under its entity)
 * into a malloc'd string; NULL on OOM or when f has no binding. */
char *emu_binding_key(const emu_entity *e, const emu_factor *f);
/* Register f (inserted) under key (ownership taken).  0 / -1 OOM (key freed). */
int emu_store_bind(emu_store *s, emu_factor *f, char *key);
/* A WebAuthn challenge the emulator issued (passkeys.c): a registration
 * (CreateNewFactorPasskey, for factor_sid) or a sign-in
 * (CreateChallengePasskeys, challenge sid `sid`). */
typedef struct emu_pk_challenge {
    int kind;                /* EMU_PK_REG / EMU_PK_AUTH */
    char service_sid[35];
    char factor_sid[35];     /* REG: the factor; AUTH: the one asked for, or "" */
    char identity[65];       /* AUTH: the identity asked for, or "" */
    char sid[35];            /* AUTH: the challenge's YC sid */
    char uv[16];             /* AUTH: the service's user verification when it was made */
    int64_t created, expires;
    int used;                /* answered once: never again */
} emu_pk_challenge;
enum { EMU_PK_REG = 1, EMU_PK_AUTH = 2 };

/* Give ch a fresh sid (unless ch->sid is set and free) and the next seq and
 * insert it into e (ownership taken on success only).  0 / -1 OOM. */
int emu_store_challenge_insert(emu_store *s, emu_entity *e, emu_challenge *ch);

/* Creation-rate ring (60326): 1 when another creation at `now` is allowed. */
int emu_entity_create_allowed(const emu_entity *e, int64_t now);
void emu_entity_note_create(emu_entity *e, int64_t now);

/* Challenge-creation limits of a factor (60312). */
#define EMU_CH_DAILY 100         /* CodeLength >= 5: per 24 hours */
#define EMU_CH_HOURLY 50         /* CodeLength >= 5: per hour     */
#define EMU_CH_DAILY_SHORT 10    /* CodeLength <= 4: per 24 hours */
int emu_factor_challenge_allowed(const emu_factor *f, int64_t now);
int emu_factor_note_challenge(emu_factor *f, int64_t now); /* 0 / -1 OOM */

/* Status of ch at `now` (pending turns expired at expires). */
int emu_challenge_status(const emu_challenge *ch, int64_t now);

/* One-time codes (lock held, like every store function). */
int emu_otp_init(emu_otp *o);          /* 0 / -1 OOM */
void emu_otp_clear(emu_otp *o);        /* everything (reset), keeps the maps usable */
void emu_otp_free(emu_otp *o);
/* DeleteService: drop the service's verifications, rate limits and configurations. */
void emu_otp_service_delete(emu_otp *o, const char *service_sid);
int emu_verification_status(const emu_verification *v, int64_t now);
void emu_verification_free(emu_verification *v); /* accepts NULL */
/* The live (pending or max_attempts_reached, unexpired) verification of
 * (service, channel, to); expired ones found on the way are dropped. */
emu_verification *emu_otp_live(emu_otp *o, const char *service_sid, const char *channel, const char *to,
                               int64_t now);
/* The newest live verification of (service, to), any channel. */
emu_verification *emu_otp_live_to(emu_otp *o, const char *service_sid, const char *to, int64_t now);
/* The verification sid of the service, live or NULL (expired ones are dropped). */
emu_verification *emu_otp_find(emu_otp *o, const char *service_sid, const char *sid, int64_t now);
/* Give v a fresh sid and the next seq and index it (ownership taken on success).  0 / -1 OOM. */
int emu_otp_insert(emu_otp *o, uint64_t seq, emu_verification *v);
void emu_otp_remove(emu_otp *o, emu_verification *v); /* unindex and free */
/* Drop the verifications that expired, oldest first (bounded work). */
void emu_otp_sweep(emu_otp *o, int64_t now);
/* Append m to the outbox (ownership taken; the oldest goes when full). */
void emu_otp_outbox_add(emu_otp *o, emu_message *m);
void emu_message_free(emu_message *m);
/* Record an attempt (ownership taken).  0 / -1 OOM (a freed). */
int emu_otp_attempt_add(emu_otp *o, uint64_t seq, emu_attempt *a);
void emu_attempt_free(emu_attempt *a);
/* Rate limits: the bucket of (rl, key) refusing a request at now, or NULL
 * when every bucket allows it; note: count an accepted request.  -1 OOM. */
const emu_bucket *emu_bucket_refuses(const emu_rate_limit *rl, const char *key, int64_t now);
int emu_bucket_note(emu_rate_limit *rl, const char *key, int64_t now);
emu_rate_limit *emu_otp_rate_limit_named(emu_otp *o, const char *service_sid, const char *unique_name);
void emu_otp_rate_limit_delete(emu_otp *o, emu_rate_limit *rl); /* with its buckets */
void emu_otp_msgcfg_delete(emu_otp *o, emu_msgcfg *m);
void emu_rate_limit_free(emu_rate_limit *rl);
void emu_bucket_free(emu_bucket *b);
/* SafeList API: 1 when another request at now is within EMU_SAFELIST_RPM a minute (and counts it). */
int emu_otp_safelist_allow(emu_otp *o, int64_t now);
/* Fraud Guard: 1 when SMS to `to` is blocked (a prefix of the list; the SafeList wins). */
int emu_otp_fraud_blocks(const emu_otp *o, const char *to);
/* The ISO 3166-1 alpha-2 country of an E.164 number by its calling code
 * (the emulator's table; "" when unknown), and its usual locale ("en"). */
const char *emu_e164_country(const char *to);
const char *emu_country_locale(const char *country);

/* ---------------------------------------------------------- faults.c */

enum emu_op { EMU_OP_CREATE, EMU_OP_FETCH, EMU_OP_LIST, EMU_OP_UPDATE, EMU_OP_DELETE, EMU_OP_OTHER, EMU_OP_COUNT };
const char *emu_op_name(int op);

enum emu_action {
    EMU_F_DELAY, EMU_F_DELAY_BODY, EMU_F_CLOSE, EMU_F_CLOSE_MID_BODY, EMU_F_STATUS, EMU_F_RFC9457,
    EMU_F_HTML, EMU_F_TRUNCATED, EMU_F_NOT_JSON, EMU_F_OVERSIZE, EMU_F_DEEP, EMU_F_WRONG_SHAPE,
    EMU_F_NEXT_PAGE_URL
};

typedef struct emu_fault {
    int action;
    long times;               /* requests left */
    char *m_method;           /* match: NULL = any */
    int m_op;                 /* match: verb, -1 = any */
    int m_opidx;              /* match: row of tv_operations, -1 = any */
    char *m_path;             /* match: path_contains, NULL = any */
    long delay_ms;
    int status;
    long code;                /* 0 = derived from status */
    char *message, *detail, *retry_after, *request_id, *url;
    cJSON *details;
    int apply;
    uint64_t bytes;
    long depth;
} emu_fault;

/* Parse one FAULT object.  0, -1 OOM, -2 invalid (msg in errbuf). */
int emu_fault_parse(const cJSON *j, emu_fault *out, char *errbuf, size_t errlen);
int emu_fault_copy(const emu_fault *src, emu_fault *dst); /* deep copy */
void emu_fault_free(emu_fault *f);                        /* members; accepts NULL */
int emu_fault_matches(const emu_fault *f, const char *method, int op, int opidx, const char *raw_path);
cJSON *emu_fault_to_json(const emu_fault *f);             /* NULL on OOM */

/* Bodies of the streamed faults.  Each returns a malloc'd stream handed to
 * emu_stream_response (server.c), NULL on OOM. */
typedef struct emu_stream emu_stream;
struct emu_server;
emu_stream *emu_stream_oversize(uint64_t bytes);
emu_stream *emu_stream_deep(long depth);
/* Sends body[0..len) after waiting delay_ms before the first byte (takes
 * ownership of body even on failure). */
emu_stream *emu_stream_delayed(struct emu_server *srv, char *body, size_t len, long delay_ms);
/* Announces len bytes, sends body[0..cut), then aborts the connection
 * (takes ownership of body even on failure). */
emu_stream *emu_stream_cut(char *body, size_t len, size_t cut);
uint64_t emu_stream_size(const emu_stream *st);
/* MHD content reader / free callbacks for an emu_stream. */
ssize_t emu_stream_read(void *cls, uint64_t pos, char *buf, size_t max);
void emu_stream_free(void *cls);

/* ------------------------------------------------- response.c, render.c */

typedef struct emu_header {
    const char *name;
    char *value;
} emu_header;

/* A complete answer, before it becomes an MHD response. */
typedef struct emu_response {
    int status;
    const char *content_type;  /* static string, NULL for none */
    char *body;                /* malloc'd or NULL */
    size_t len;
    emu_header headers[4];
    size_t nheaders;
} emu_response;

void emu_response_free(emu_response *r);
/* Replace body and status; takes ownership of j (deleted).  On OOM the
 * response becomes a bodiless 500. */
void emu_response_json(emu_response *r, int status, cJSON *j);
/* Twilio's error shape; takes ownership of details (may be NULL). */
void emu_response_error(emu_response *r, int status, long code, const char *message, cJSON *details);
/* Add or replace a header (value copied).  On out of memory r becomes a
 * bodiless 500 and -1 is returned. */
int emu_response_header(emu_response *r, const char *name, const char *value);
/* The HTTP reason phrase of a status ("Too Many Requests"...). */
const char *emu_reason(int status);

/* Attach item (may be NULL: fails) to object obj under name, or append it
 * to array obj when name is NULL.  On failure item is deleted.  0 / -1. */
int emu_json_add(cJSON *obj, const char *name, cJSON *item);

/* JSON of a factor (fetch/update/list shape); binding != NULL gives the
 * new_factor shape with that binding (ownership taken).  host is the
 * request's Host (used for url).  NULL on OOM. */
cJSON *emu_render_factor(const emu_factor *f, const char *account_sid, const char *host, cJSON *binding);
/* verify.v2.service.entity.  NULL on OOM. */
cJSON *emu_render_entity(const emu_entity *e, const char *account_sid, const char *host);
/* verify.v2.service.entity.challenge at emulator time now.  NULL on OOM. */
cJSON *emu_render_challenge(const emu_challenge *ch, const char *account_sid, const char *host, int64_t now);
/* verify.v2.service.  NULL on OOM. */
cJSON *emu_render_service(const emu_service *svc, const char *account_sid, const char *host);

/* ---------------------------------------------------------- server.c */

typedef struct emu_config {
    unsigned port;
    char account_sid[35];
    char *auth_token;
    char *api_key, *api_secret;
    const char *seed_path;
    int no_limits;
    int verbose;
    char allow_host[256];      /* --allow-host: one more Host value accepted ("" none) */
} emu_config;

struct emu_hooks;

typedef struct emu_server {
    emu_config cfg;
    pthread_mutex_t lock;
    pthread_cond_t wake;       /* broadcast on stop (interrupts delays) */
    int stopping;
    emu_store store;
    cJSON *seed;               /* parsed seed file, re-applied by reset */
    int clock_fixed;
    int64_t clock_time;
    emu_fault *faults;
    size_t nfaults, fcap;
    unsigned long requests[EMU_OP_COUNT];
    unsigned long applied[EMU_OP_COUNT];
    unsigned long op_requests[EMU_MAX_OPS]; /* by row of tv_operations */
    unsigned long op_applied[EMU_MAX_OPS];
    long in_flight, peak;
    cJSON *log[EMU_LOG_MAX];   /* ring of request records */
    size_t log_cost[EMU_LOG_MAX]; /* their sizes, as emu_log_append was told */
    size_t log_head, log_n, log_bytes;
    size_t body_bytes;         /* request body buffers allocated now (EMU_BODY_BUDGET) */
    unsigned bound_port;
    struct MHD_Daemon *daemon;
    struct emu_hooks *hooks;   /* webhooks and their delivery (webhooks.c) */
    struct emu_oracle *oracle; /* the OpenAPI description, compiled (oapi_*.c); read-only */
} emu_server;

/* Initialise srv from cfg (ownership of cfg's strings moves to srv).  The
 * seed (if any) is loaded.  -1 with a message on stderr on failure. */
int emu_server_init(emu_server *srv, const emu_config *cfg);
int emu_server_start(emu_server *srv);   /* bind 127.0.0.1:cfg.port; -1 on failure */
void emu_server_stop(emu_server *srv);   /* stop MHD, wake delayed handlers */
void emu_server_free(emu_server *srv);   /* after stop; frees everything */

/* util.c: the emulator clock (lock held). */
int64_t emu_now(const emu_server *srv);
/* util.c: sleep up to ms, returning early when the server stops (lock NOT held). */
void emu_sleep_ms(emu_server *srv, long ms);

/* ------------------------------------------------------------ seed.c */

/* Load the seed factors of `seed` into the store (lock held or before
 * start).  0, or -1 with a message in errbuf. */
int emu_seed_apply(emu_server *srv, const cJSON *seed, char *errbuf, size_t errlen);
/* Read and parse a seed file; NULL with a message in errbuf. */
cJSON *emu_seed_read(const char *path, char *errbuf, size_t errlen);

/* ------------------------------------------------------------- api.c */

enum { EMU_ROUTE_NONE, EMU_ROUTE_MATCH, EMU_ROUTE_METHOD };

struct tv_operation;

/* One API request, parsed but not yet validated. */
typedef struct emu_call {
    const char *method;
    int op;                             /* verb (EMU_OP_*) of the matched row */
    int route;                          /* EMU_ROUTE_NONE / MATCH / METHOD (path known, method not) */
    const struct tv_operation *row;     /* the matched row of tv_operations (MATCH only) */
    int opidx;                          /* its index, -1 when none */
    char allow[32];                     /* METHOD: the methods of the path ("GET, POST") */
    char *pv[4];                        /* percent-decoded path parameters, in path order */
    size_t pvlen[4];
    size_t npv;
    /* aliases into pv (not owned): the values of service_sid / identity / sid */
    const char *service_sid, *identity, *sid;
    size_t service_len, identity_len, sid_len;
    int bad_escape;                     /* a path segment had a bad %-escape */
    const char *raw_path;
    emu_kvlist query;
    int bad_query;                      /* bad %-escape in the query */
    emu_kvlist form;
    int bad_form;                       /* body is not valid form encoding */
    int form_type_ok;                   /* Content-Type is form-urlencoded (or no body) */
    const char *content_type;           /* the Content-Type header, may be NULL */
    const char *body;                   /* the raw body (NUL-terminated), may be NULL */
    size_t body_len;
    const char *host;                   /* sanitised Host header, never NULL */
    const char *authorization;          /* may be NULL */
    int too_big;                        /* body over EMU_BODY_MAX */
} emu_call;

/* Match method + raw path against the rows of tv_operations and decode the
 * path parameters.  0 or -1 OOM. */
int emu_call_route(emu_call *c, const char *method, const char *raw_path);
void emu_call_free(emu_call *c);

/* Authenticate and perform one API request.  commit == 0 computes the
 * answer without changing any state (used by body faults).  next_url, when
 * not NULL, replaces meta.next_page_url of a list answer. */
void emu_api_handle(emu_server *srv, const emu_call *c, int commit, const char *next_url, emu_response *out);

/* ------------------------------------------------ handler.c, the handlers */

/* The per-operation context handed to a handler by emu_api_handle: the
 * validated parameters (v[i] is the first pair of row->params[i], NULL
 * when absent; array parameters are read from the call's list). */
typedef struct emu_ctx {
    emu_server *srv;
    const emu_call *c;
    const emu_kv **v;
    int commit;
    const char *next_url;
} emu_ctx;

typedef void (*emu_handler)(const emu_ctx *x, emu_response *out);
/* The handler of every row: emu_h_<name>, one per operation (the list is
 * generated from the operation data; a row without one fails to link).
 * Handlers take the lock themselves. */
#define EMU_DECLARE_HANDLER(name) void emu_h_##name(const emu_ctx *x, emu_response *out);
EMU_OPERATIONS(EMU_DECLARE_HANDLER)
#undef EMU_DECLARE_HANDLER
/* The handler of row `row` of tv_operations. */
emu_handler emu_row_handler(const tv_operation *row);

/* Shared by the handlers: a malloc'd copy of a pair's value (NULL on OOM);
 * was service `sid` removed by DeleteService (lock held); the URL of
 * operation `op_name`'s path with its placeholders filled by vals[] in path
 * order, after "http://<host>" when host is given (0, or -1 when it does
 * not fit); the answer of a fetch-like handler: 404 when !found, else j
 * with `status` (NULL j: out of memory). */
char *emu_kvdup(const emu_kv *kv);
int emu_service_gone(emu_server *srv, const char *sid);
/* The service sid made by CreateService and not deleted, or NULL (lock held). */
emu_service *emu_live_service(emu_server *srv, const char *sid);
/* Is the service's boolean setting `key` true (its default when never given)? */
int emu_service_flag(const emu_service *svc, const char *key);
int emu_row_url(char *buf, size_t size, const char *host, const char *op_name, const char *const *vals);
void emu_answer(const emu_ctx *x, emu_response *out, int found, int status, cJSON *j);

/* The common answers (response.c) and the call's values (handler.c). */
void emu_param_error(emu_response *out, const char *key, const char *fmt, const char *arg);
void emu_oom(emu_response *out);
void emu_not_found(emu_response *out, const char *raw_path);
const emu_kv *emu_val(const emu_ctx *x, const char *key);
int emu_ival(const emu_kv *kv, int def);
/* Applied-state counters of the call's verb and operation (lock held). */
void emu_note_applied(emu_server *srv, const emu_call *c);
/* Is a JSON object text whose every value is a string?  1 / 0. */
int emu_string_map(const cJSON *j);
/* Parse a Metadata-like parameter (a JSON object of string values) into
 * *res (NULL when kv is NULL).  0, or -1 with out set (400 naming key, or OOM). */
int emu_string_map_param(const emu_kv *kv, const char *key, cJSON **res, emu_response *out);
/* A page answer: items rendered by the caller into arr; fills meta. */
typedef struct emu_page {
    const char *key;          /* list key ("factors") */
    char base[600];           /* absolute URL of the list, without query */
    char extra[256];          /* extra query parameters ("Status=pending&"), may be "" */
    long size, page;
    const char *token;        /* PageToken of this request, NULL when none */
    int has_prev, has_next;
    char prev_kind, next_kind;  /* 'A' / 'B' */
    uint64_t prev_seq, next_seq;
} emu_page;
/* Parse the paging parameters of the call (PageSize, Page, PageToken), and
 * set the page's key and base URL from the call's row and path.  0, or -1
 * with out set. */
int emu_page_params(const emu_ctx *x, emu_page *pg, int *before, uint64_t *token, emu_response *out);
/* Answer {key: arr, meta: {...}} (arr ownership taken). */
void emu_page_answer(const emu_ctx *x, const emu_page *pg, cJSON *arr, emu_response *out);
/* Map one page of l in ascending (desc == 0) or descending order, with the
 * page tokens of the answer.  Returns the count written to out. */
size_t emu_page_fetch(const emu_seqlist *l, int desc, int before, uint64_t token, size_t n, emu_seqitem *out,
                      emu_page *pg, int (*keep)(const void *p, void *ctx), void *ctx);
/* One page of the list which(srv, call, arg) gives (called with the lock held;
 * NULL: an empty page), ascending, of the items `keep` accepts, each
 * rendered by render(item, srv, host, now) (NULL: out of memory); the lock
 * is taken here.  pg->extra may hold the filters already (URL-encoded). */
typedef cJSON *(*emu_render_fn)(const void *p, const emu_server *srv, const char *host, int64_t now);
typedef const emu_seqlist *(*emu_list_fn)(emu_server *srv, const emu_call *c, const void *arg);
void emu_list_page(const emu_ctx *x, emu_page *pg, emu_list_fn which, const void *arg,
                   int (*keep)(const void *, void *), void *kctx, emu_render_fn render, emu_response *out);
/* Append "Key=value&" (value percent-encoded) to pg->extra when kv is given. */
void emu_page_filter(emu_page *pg, const char *key, const emu_kv *kv);

/* ------------------------------------------------------------ push.c */

/* An enrolment access token (CreateAccessToken). */
typedef struct emu_access_token {
    char sid[35];
    char service_sid[35];
    char *identity;
    char *friendly_name;     /* NULL when not given */
    int ttl;                 /* 60..300 seconds */
    int64_t created;         /* emulator clock */
    char *token;             /* the JWT (secret: wiped on free) */
} emu_access_token;

#define EMU_JWT_LEEWAY 300   /* seconds a device JWT's nbf may be ahead of the emulator clock */
/* The longest a device JWT may live: the Verify SDKs make exp = nbf + 10
 * minutes (twilio-verify-android eac791e9
 * verify/src/main/java/com/twilio/verify/networking/AuthenticationProvider.kt
 * jwtValidFor = 10L, TimeUnit.MINUTES; twilio-verify-ios 18aba1ed
 * TwilioVerifySDK/TwilioVerify/Sources/Networking/Authentication.swift
 * jwtValidFor = 10 * 60).  A longer one (exp in 2200) is refused. */
#define EMU_JWT_MAX_TTL 600

void emu_access_token_free(void *p); /* store.c */
/* Device credentials (Basic "token:<jwt>").  1: the Authorization is not
 * one (the caller answers 20003), 0: authenticated for this call, -1:
 * rejected (out set: 401 20003).  Lock NOT held. */
int emu_push_authenticate(emu_server *srv, const emu_call *c, emu_response *out);
/* Binding.PublicKey must be the base64 of a P-256 SubjectPublicKeyInfo:
 * 0, or -1 with out set (400 60306). */
int emu_push_check_key(const emu_kv *pk, emu_response *out);
/* config.credential_sid of a push factor ("CR" + the hex of its sid; store.c). */
void emu_push_credential_sid(const emu_factor *f, char out[35]);
/* Factor verification: AuthPayload = base64 of the DER ECDSA signature of
 * the factor sid.  1 valid, 0 not.  Lock held or not (reads f only). */
int emu_push_verify_factor(const emu_factor *f, const emu_kv *payload);
/* The Twilio-Verify-Signature-Fields of a challenge fetch. */
extern const char *const emu_push_signature_fields;
/* A challenge AuthPayload (ES256 JWT of the signature fields + status):
 * EMU_CH_APPROVED / EMU_CH_DENIED when valid, -1 when not (lock held). */
int emu_push_challenge_payload(const emu_server *srv, const emu_challenge *ch, const emu_factor *f,
                               const emu_kv *payload, const char *host, int64_t now);

/* ------------------------------------------------------------ webauthn.c */

/* The relying-party checks of WebAuthn (W3C Web Authentication Level 2,
 * https://www.w3.org/TR/webauthn-2/), pure functions of their bytes:
 * passkeys.c decides with them.  `why` (may be NULL) gets a sentence for
 * the error message, never a value from the request. */
typedef struct emu_wa_client {   /* CollectedClientData (5.8.1) */
    char type[32];
    char challenge[256];
    char origin[512];
    int cross_origin;
    unsigned char hash[32];      /* SHA-256 of the clientDataJSON bytes (7.1 step 11, 7.2 step 19) */
} emu_wa_client;

typedef struct emu_wa_auth {     /* authenticator data (6.1), pointing into its bytes */
    const unsigned char *rp_id_hash;
    unsigned flags;
    uint32_t sign_count;
    const unsigned char *cred_id; /* attested credential data (6.5.1), when AT */
    size_t cred_len;
    unsigned char pub[65];       /* its COSE_Key: ES256 on P-256, as 04||x||y */
} emu_wa_auth;

#define EMU_WA_UP 0x01u
#define EMU_WA_UV 0x04u
#define EMU_WA_AT 0x40u
#define EMU_WA_ED 0x80u

/* base64url (RFC 4648 sec. 5; '=' padding tolerated) into a malloc'd *out.
 * 0, -1 not base64url, -2 out of memory. */
int emu_b64url_decode(const char *s, size_t n, unsigned char **out, size_t *len);
/* base64url without padding, malloc'd; NULL on out of memory. */
char *emu_b64url_encode(const unsigned char *b, size_t n);
/* The clientDataJSON (base64url) decoded and parsed: 0, -1 (why), -2 OOM. */
int emu_wa_client_data(const char *b64, size_t n, emu_wa_client *cd, char *why, size_t wl);
/* Authenticator data d[0..n): `attested` 1 requires the AT flag and its
 * credential data (a registration), 0 refuses it (an assertion).  The COSE
 * key must be EC2 / ES256 (-7) / P-256 with a point on the curve.  0 or -1. */
int emu_wa_auth_data(const unsigned char *d, size_t n, int attested, emu_wa_auth *a, char *why, size_t wl);
/* An attestation object (6.5.4): a CBOR map whose fmt is "none" with an
 * empty attStmt (8.7) -- the emulator's creation options ask for
 * attestation "none" -- and its authData copied into a malloc'd *auth.
 * 0, -1 malformed (why), -2 OOM. */
int emu_wa_attestation(const unsigned char *d, size_t n, unsigned char **auth, size_t *alen, char *why, size_t wl);
/* SHA-256 of a relying party id (6.1 rpIdHash). */
void emu_wa_rp_hash(const char *rp_id, unsigned char out[32]);
/* ES256 (DER) over auth || client_data_hash with the point pub (7.2 step
 * 20): 1 valid, 0 not. */
int emu_wa_verify(const unsigned char pub[65], const unsigned char *auth, size_t alen,
                  const unsigned char client_data_hash[32], const unsigned char *sig, size_t siglen);

/* --------------------------------------------------------- control.c */

/* Handle /__emulator/...; fills out.  _q: with the raw query string (the
 * outbox's filters, GET /__emulator/messages?to=...); the other form gives "". */
void emu_control_handle(emu_server *srv, const char *method, const char *path, const char *body,
                        size_t len, emu_response *out);
void emu_control_handle_q(emu_server *srv, const char *method, const char *path, const char *query, const char *body,
                          size_t len, emu_response *out);
/* Record a request to an API route in the log (lock held; takes ownership
 * of rec, which takes about `cost` bytes).  The oldest records go first
 * while there are EMU_LOG_MAX of them or they would take more than
 * EMU_LOG_BYTES. */
void emu_log_append(emu_server *srv, cJSON *rec, size_t cost);
/* Clear faults, counters, log, clock and store, then re-apply the seed (lock held). */
void emu_reset(emu_server *srv);

/* ------------------------------------------------ hooks.c, webhooks.c */

#define EMU_HOOK_QUEUE_MAX 64        /* deliveries waiting (default; a full queue drops) */
#define EMU_HOOK_TIMEOUT_MS 5000     /* per delivery (default)                           */
#define EMU_HOOK_LOG_MAX 200         /* delivery records kept by /__emulator/webhooks    */

typedef struct emu_hooks emu_hooks;
int emu_hooks_init(emu_server *srv);   /* in emu_server_init; -1 OOM */
int emu_hooks_start(emu_server *srv);  /* start the delivery thread; -1 on failure */
void emu_hooks_stop(emu_server *srv);  /* stop and join it (pending deliveries are dropped) */
void emu_hooks_free(emu_server *srv);
void emu_hooks_reset(emu_server *srv); /* lock held: webhooks, queue, records, settings */
/* GET/POST/DELETE /__emulator/webhooks (no lock held). */
void emu_hooks_control(emu_server *srv, const char *method, const char *body, size_t len, emu_response *out);
/* Fire an event to the subscribed, enabled webhooks of the factor's /
 * challenge's service (lock held; returns at once, delivery is queued).
 * type: "factor.created" / "factor.verified" / "factor.deleted"; a
 * challenge event's type follows its status (approved / denied). */
void emu_webhook_factor_event(emu_server *srv, const char *type, const emu_factor *f);
void emu_webhook_challenge_event(emu_server *srv, const emu_challenge *ch);

/* ------------------------------------------------ oapi_*.c (the oracle) */

/* Every API request is checked against Twilio's OpenAPI description itself,
 * embedded in the binary and compiled once at start-up (oapi.h has the
 * details; doc/emulator.md "How requests are validated"). */
typedef struct emu_oracle emu_oracle;
/* Parse and compile the embedded description.  NULL with a message in
 * errbuf (out of memory, or a construct the oracle does not support). */
emu_oracle *emu_oracle_new(char *errbuf, size_t errlen);
void emu_oracle_free(emu_oracle *o); /* accepts NULL */
/* Check request c against the description: routing (404, 405 with Allow),
 * path parameters, the query, the body (form or JSON).  0: valid, *op_id is
 * the operation's operationId; -1: refused (400 60200 with details.parameter
 * and details.rule, or 404 / 405) or out of memory, out holds the answer.
 * Needs no lock (the oracle is read-only). */
int emu_oracle_check(const emu_oracle *o, const emu_call *c, const char **op_id, emu_response *out);
/* Every rule of every operation, then the prose left unenforced, as JSON
 * lines (twilio-verify-emulator --oracle-rules).  0, -1 on a write error. */
int emu_oracle_dump(const emu_oracle *o, FILE *out);

#endif
