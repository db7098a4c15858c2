/*
 * tv.h -- public API of the twilio-verify core (C11).
 *
 * Layers, each in its own file:
 *   tv_validate.c   rules (shared with the emulator)
 *   tv_request.c    sans-I/O request building: validate -> URL, query, form
 *   tv_response.c   sans-I/O response parsing: status + body -> cJSON / tv_error
 *   tv_http.c       the libcurl transport (one reused easy handle per client)
 *   tv_engine.c     sans-I/O call engine: the attempt/retry/back-off/hook
 *                   policy of one operation, written once (tv_call)
 *   tv_client.c     client configuration, credentials, the blocking adapter
 *                   over the engine (tv_client_execute)
 *
 * Conventions (hiredis style): functions returning int give 0 on success and
 * -1 on failure with `err` filled; functions returning pointers give NULL on
 * failure with `err` filled.  Nothing here ever writes a credential into an
 * error, a URL or a log event.  All free functions accept NULL.
 */
#ifndef TV_H
#define TV_H

#include <stddef.h>
#include <stdint.h>

#include "tv_error.h"
#include "tv_ops.h"
#include "tv_validate.h"

#if defined(__GNUC__) /* internal to the module: only luaopen_twilio_verify_core is exported, */
#pragma GCC visibility push(hidden) /* so calls between files are direct, with no PLT */
#endif

#define TV_VERSION "0.1.0"
#define TV_DEFAULT_BASE_URL "https://verify.twilio.com"
#define TV_DEFAULT_TIMEOUT_MS 10000L
#define TV_DEFAULT_CONNECT_TIMEOUT_MS 5000L
#define TV_DEFAULT_MAX_RETRIES 3
#define TV_DEFAULT_RETRY_BASE_MS 250L
#define TV_DEFAULT_RETRY_CAP_MS 8000L
#define TV_DEFAULT_RETRY_AFTER_CAP_MS 60000L
#define TV_DEFAULT_MAX_BODY (16u * 1024u * 1024u)

/* ---- growable byte buffer (tv_buf.c) ------------------------------------ */
typedef struct tv_buf {
    char *data; /* NUL-terminated when non-NULL */
    size_t len, cap;
} tv_buf;

void tv_buf_free(tv_buf *b);                               /* frees and zeroes */
int tv_buf_reserve(tv_buf *b, size_t extra);               /* -1 on OOM */
int tv_buf_add(tv_buf *b, const char *s, size_t n);        /* -1 on OOM */
int tv_buf_adds(tv_buf *b, const char *s);                 /* -1 on OOM */
/* Append s percent-encoded: RFC 3986 unreserved kept, everything else %XX
 * (so '/', '?', '#', '%', '&', '=', '+' and spaces are always encoded). */
int tv_buf_add_pct(tv_buf *b, const char *s, size_t n);
/* Reset length to 0, keep capacity.  When `wipe`, zero the old contents. */
void tv_buf_reset(tv_buf *b, int wipe);

/* ---- requests (tv_request.c) -------------------------------------------- */
/* A parameter given by the caller: spec from its operation's parameter set
 * (tv_ops.h), value as a string (integers in decimal, booleans "true" /
 * "false").  The value is borrowed, not copied.  An array parameter is one
 * tv_kv per element. */
typedef struct tv_kv {
    const tv_param_spec *spec;
    const char *val;
    size_t len;
} tv_kv;

/* A request ready for any transport.  url and body are owned buffers; the
 * url never contains credentials.  Headers are the client's constant set
 * (tv_client_headers). */
/* A borrowed byte string (path parameter values). */
typedef struct tv_str {
    const char *s;
    size_t len;
} tv_str;

typedef struct tv_request {
    const tv_operation *op; /* its row of the operation table */
    tv_method method;
    tv_buf url;
    tv_buf body; /* form body (POST) or a JSON body (TV_OPF_JSON_BODY), empty otherwise */
} tv_request;

void tv_request_free(tv_request *req); /* frees buffers, wipes the body */
const char *tv_method_name(tv_method m);

/* Copy a form body with the values of secret parameters (TV_PF_SECRET:
 * AuthPayload, Config.NotificationToken, Binding.Secret) replaced by
 * "[REDACTED]".  For logs.  -1 on OOM. */
int tv_redact_form(const char *body, size_t len, tv_buf *out);
/* The body of req as a log shows it: a form through tv_redact_form; a JSON
 * body (TV_OPF_JSON_BODY) re-encoded with every secret member (at any
 * depth) replaced by "[REDACTED]" -- a passkey's `response`, so no
 * attestation or assertion reaches a log.  -1 on OOM. */
int tv_redact_body(const tv_request *req, tv_buf *out);
/* The Content-Type of req's body: "application/json" for a JSON body,
 * "application/x-www-form-urlencoded" for any other POST, NULL without a
 * body (GET, DELETE). */
const char *tv_request_content_type(const tv_request *req);

/* The base URL, parsed once by the client. */
typedef struct tv_origin {
    char scheme[8]; /* "https" or "http" */
    char host[256]; /* lower-case; IPv6 without brackets */
    int port;       /* explicit or the scheme's default */
    char base[300]; /* scheme://host[:port] normalised, no trailing slash */
} tv_origin;

/* Parse an absolute http(s) URL's origin.  Rejects userinfo, fragments,
 * non-http(s) schemes; the path part must be empty or "/". */
int tv_origin_parse(const char *url, size_t len, tv_origin *out, tv_error *err);
/* Origin of any absolute URL (path allowed); used to compare next_page_url. */
int tv_url_origin(const char *url, size_t len, tv_origin *out, tv_error *err);
/* "localhost", a literal IPv4 address in 127.0.0.0/8 (four decimal octets
 * 0..255 without leading zeros) or ::1 (any spelling); never by prefix. */
int tv_origin_is_loopback(const tv_origin *o);
int tv_origin_equal(const tv_origin *a, const tv_origin *b);

/* Validate and build any operation of the table: `path` holds one value
 * per path parameter of op (in path order); `params` the query/form
 * parameters (may be NULL when n == 0).  Unknown specs cannot occur (the
 * caller resolves names with tv_param_by_name on op->params); a parameter
 * of another operation, a repeated non-array parameter, a missing required
 * one and any value breaking its rule are TV_EARG naming the parameter. */
int tv_build(const tv_origin *o, const tv_operation *op, const tv_str *path, const tv_kv *params, size_t n,
             tv_request *req, tv_error *err);
/* A list request for a page URL the API returned (next/previous_page_url)
 * of list operation `op` (NULL: whichever list operation's path it has).
 * Refused (TV_EARG, param "url") unless scheme, host and port equal `o`'s
 * and the URL parses into exactly that operation's path parameters and
 * query parameters, each valid by its rule; the request is rebuilt from
 * them, so credentials never go to another path or host. */
int tv_build_page_url(const tv_origin *o, const tv_operation *op, const char *url, size_t len, tv_request *req,
                      tv_error *err);

/* ---- responses (tv_response.c) ----------------------------------------- */
/* The response headers a caller can read after a success
 * (verify.response_of): the ones the API description defines for these
 * operations, and Twilio's request id and concurrency headers.  One list:
 * the libcurl header callback, the Lua transports and the docs read it. */
#define TV_NMETA_HEADERS 11
#define TV_META_REQUEST_ID 0 /* indexes of tv_meta_header_names the core reads itself */
#define TV_META_RETRY_AFTER 4
extern const char *const tv_meta_header_names[TV_NMETA_HEADERS];
/* Index of `name` (len bytes, any case) in tv_meta_header_names, or -1. */
int tv_meta_header_index(const char *name, size_t len);

typedef struct tv_response {
    long status;
    tv_buf body;
    double retry_after;  /* seconds from Retry-After, < 0 when absent */
    char request_id[72]; /* Twilio-Request-Id, "" when absent */
    tv_buf meta;         /* values of tv_meta_header_names, NUL-separated */
    unsigned meta_off[TV_NMETA_HEADERS]; /* offset + 1 in meta; 0 = absent */
    /* The libcurl transport keeps a 2xx answer's header lines raw (its
     * status line, then the lines that may be tracked ones, as received):
     * nothing is parsed unless asked -- verify.response_of, or
     * tv_response_meta_load for the fields above.  Empty otherwise. */
    tv_buf raw;
} tv_response;

/* Keep header `idx`'s value (trimmed, controls dropped; the last one wins).
 * -1 on OOM (the response is still usable). */
int tv_response_meta_set(tv_response *resp, int idx, const char *v, size_t len);
/* Set request_id from a Twilio-Request-Id value: printable ASCII without
 * spaces only (CR, LF and other controls dropped), truncated to fit. */
void tv_response_set_request_id(tv_response *resp, const char *v, size_t len);
/* Forget the kept headers (a new response, e.g. after a 100). */
void tv_response_meta_reset(tv_response *resp);
/* The value of header `idx`, or NULL when the response had none. */
const char *tv_response_meta(const tv_response *resp, int idx);

/* Parse the header lines kept raw in resp->raw (tv_http.c: a 2xx answer
 * of the libcurl transport, or a block recorded for verify.response_of)
 * into the tracked headers (meta, retry_after, request_id) exactly as the
 * header callback parses any other answer's, then forget them.  Nothing
 * to do when resp->raw is empty.  0, or -1 on OOM. */
int tv_response_meta_load(tv_response *resp);
/* The same parse of `len` bytes of header lines into resp (raw untouched). */
int tv_response_headers_parse(const char *raw, size_t len, tv_response *resp);
/* One header line into resp's tracked headers (the rest ignored).  0, or -1 on OOM. */
int tv_response_header_line(tv_response *resp, const char *line, size_t len);
void tv_response_reset(tv_response *resp); /* keep capacity */
void tv_response_free(tv_response *resp);
/* Parse a Retry-After value (delta-seconds or IMF-fixdate relative to
 * `now`).  Returns seconds >= 0, or -1 when unparseable or an impossible
 * date (day past its month's end, hour 24, a weekday that does not match). */
double tv_parse_retry_after(const char *v, size_t len, int64_t now);

/* Turn a response into a result.  2xx: *out = parsed JSON checked for the
 * op's shape (factor object; list page with `factors` array and `meta`
 * object); DELETE's 204 gives *out = NULL.  Non-2xx: TV_EHTTP error from
 * either Twilio's shape (code, message, more_info, status, details) or RFC
 * 9457 (type, title, status, code, detail), or a bounded body excerpt when
 * the body is not JSON.  Bad JSON / shape: TV_EDECODE.  The caller owns *out
 * (cJSON_Delete).  Also fills err->method/url/request_id on failure. */
struct cJSON;
int tv_parse_response(const tv_request *req, const tv_response *resp, struct cJSON **out,
                      tv_error *err);

/* Streaming alternative for a 2xx body (not DELETE): a pull cursor over the
 * top-level object.  Each member's value is parsed by cJSON on its own, and
 * a member whose value is an array comes element by element, so no tree
 * bigger than one element (one factor) exists at a time: on a 1,000-factor
 * page the data stays in cache and the memory is reused, where one tree of
 * the whole page (a few MB) is built, walked and freed by separate passes.
 * It accepts exactly what tv_parse_response accepts as a success; on
 * anything else (bad JSON, the wrong shape, an escape it does not mirror)
 * it gives TV_JEV_FALLBACK and the caller uses tv_parse_response, which
 * gives the error -- or, in rare corner cases, the tree.  Nesting is not
 * checked here: an item parsed on its own may be nested up to `depth` (1
 * for members, 2 for elements) levels deeper than in the whole document,
 * so callers converting it refuse containers at depth >= 1000 (cJSON's
 * limit) and fall back. */
typedef enum tv_jev {
    TV_JEV_MEMBER,    /* *item: a member's value (not an array); item->string is its key */
    TV_JEV_ARRAY,     /* *item: an empty array; item->string is the member's key; elements follow */
    TV_JEV_ELEMENT,   /* *item: the next element of that array */
    TV_JEV_ARRAY_END, /* the array is complete */
    TV_JEV_END,       /* the object is complete and has the op's shape */
    TV_JEV_FALLBACK   /* not handled: use tv_parse_response */
} tv_jev;

typedef struct tv_jcursor {
    const char *p, *end;
    const tv_operation *op;
    int state;                        /* internal */
    int has_list, has_meta, has_sid;  /* first occurrence (has_sid: of the row's id_key):
                                         1 right type, -1 wrong */
} tv_jcursor;

void tv_jcursor_init(tv_jcursor *cur, const tv_operation *op, const char *body, size_t len);
/* The next event.  For MEMBER, ARRAY and ELEMENT *item is a new tree owned
 * by the caller (cJSON_Delete); otherwise *item is NULL.  After END or
 * FALLBACK every further call gives FALLBACK. */
tv_jev tv_jcursor_next(tv_jcursor *cur, struct cJSON **item);

/* Decide err->retryable for a failed request (the retry policy, one place:
 * tv_engine.c): GET and DELETE: 429 with code 20429 or no code, 502/503/504
 * and transport failures other than timeouts.  POST (never applied twice):
 * only 429 with code 20429 or a failure before the connection was made --
 * not a bare 429, not 5xx.  Never 60310/60326. */
void tv_classify(tv_method method, tv_error *err);
/* Record the request's method and URL (and the response's request id and
 * Retry-After when resp != NULL) in err. */
void tv_error_context(tv_error *err, const tv_request *req, const tv_response *resp);

/* ---- client (tv_client.c) ------------------------------------------------ */
typedef struct tv_client tv_client;

/* Observability: called for every attempt after it completes (never with
 * credentials; URL is the request URL, body is not given). */
typedef struct tv_event {
    const char *method;
    const char *url;
    const char *body;   /* the body with secrets redacted (tv_redact_body), "" when none */
    const char *content_type; /* the body's media type (POST), NULL without one */
    long status;      /* 0 when the transport failed */
    double duration;  /* seconds */
    int attempt;      /* 1-based */
    const tv_error *err; /* NULL on success */
} tv_event;

/* A transport: perform `req` (with the client's headers) and fill `resp`.
 * Return 0 when a response (any status) was received, -1 with a
 * TV_ETRANSPORT/TV_EDECODE error otherwise.  `ud` is the transport's own. */
typedef int (*tv_transport_fn)(void *ud, tv_client *c, const tv_request *req, tv_response *resp,
                               tv_error *err);

enum { TV_CRED_OPTIONS = 0, TV_CRED_ENVIRONMENT = 1 };

typedef struct tv_options {
    const char *account_sid;   /* required (AC...) */
    const char *auth_token;    /* either auth_token ... */
    const char *api_key;       /* ... or api_key (SK...) + api_secret */
    const char *api_secret;
    const char *base_url;      /* default TV_DEFAULT_BASE_URL */
    int allow_http;            /* permit http:// to non-loopback hosts */
    long timeout_ms;           /* total per attempt; 0 = default */
    long connect_timeout_ms;   /* 0 = default */
    int max_retries;           /* < 0 = default */
    long retry_base_ms, retry_cap_ms, retry_after_cap_ms; /* 0 = default */
    size_t max_body;           /* 0 = default 16 MiB */
    /* Proxies.  Plain-http traffic never goes through a proxy unless `proxy`
     * is set explicitly; https uses `proxy`, or else the environment
     * (https_proxy/HTTPS_PROXY/ALL_PROXY, no_proxy) -- through a CONNECT
     * tunnel, so the credentials stay encrypted.  proxy = "" disables
     * proxies for https too.  no_proxy: hosts that bypass the proxy. */
    const char *proxy;
    const char *no_proxy;
    /* TLS trust (verification is always on; there is no switch to turn it
     * off): ca_file, a PEM bundle (CURLOPT_CAINFO); ca_path, a directory of
     * hashed certificates (CURLOPT_CAPATH, `openssl rehash`).  Given either,
     * the two are the whole trust store: libcurl's default bundle and
     * directory are not used.  Checked by tv_client_new: a ca_file that cannot be
     * opened for reading, or a ca_path that is not a readable directory, is
     * TV_EARG naming the option.  NULL: libcurl's defaults. */
    const char *ca_file;
    const char *ca_path;
    /* libcurl caches shared with other clients of the process (TLS
     * sessions, DNS; see tv_share_new), or NULL.  The client takes a
     * reference (tv_share_ref) and drops it when it closes. */
    struct tv_share *share;
    /* Where the credentials came from, for tv_client_explain: 0
     * (TV_CRED_OPTIONS, given by the caller) or TV_CRED_ENVIRONMENT
     * (TWILIO_* variables read by the Lua layer). */
    int credential_source;
    const char *lua_version;   /* for the User-Agent, e.g. "5.4" */
    const char *ua_suffix;     /* appended to the User-Agent, may be NULL */
} tv_options;

/* Validate options and create a client (curl handle created lazily).
 * Credentials are copied into the Authorization header only; the copies of
 * the secret are wiped.  NULL with err on bad options / OOM. */
tv_client *tv_client_new(const tv_options *opt, tv_error *err);
/* Close: frees the curl handle and wipes the credentials.  Idempotent. */
void tv_client_close(tv_client *c);
int tv_client_closed(const tv_client *c);
void tv_client_free(tv_client *c);

const tv_origin *tv_client_origin(const tv_client *c);
const char *tv_client_account_sid(const tv_client *c);
const char *tv_client_user_agent(const tv_client *c);
/* Explain an authentication failure: for a TV_EHTTP error with status 401,
 * append to err->message which credential was used -- the account SID, or
 * the API key SID and its account (never a secret) -- and where it came
 * from (the options, or the environment variables), e.g.
 *   " (credentials: API key SK... for account AC..., from the environment:
 *    TWILIO_API_KEY / TWILIO_API_SECRET)".
 * The original message is shortened (at a UTF-8 boundary) when both do not
 * fit.  Anything else, and an error already explained, is left as it is.
 * Called by the call engine (tv_call_feed) for every failed attempt, on
 * every path. */
void tv_client_explain(const tv_client *c, tv_error *err);
/* The constant headers of a request: Authorization (secret!), Accept,
 * User-Agent and, for POST, Content-Type.  Lines "Name: value" into out[];
 * returns the count (<= 4).  For transports only; never log these. */
int tv_client_headers(const tv_client *c, tv_method m, const char *out[4]);

/* Override the transport (NULL restores libcurl). */
void tv_client_set_transport(tv_client *c, tv_transport_fn fn, void *ud);
/* Event hooks: on_event after every attempt; on_retry before sleeping
 * `delay` seconds for attempt `next_attempt`.  Both may be NULL. */
/* Device credential (Verify Push): from now on every request of c carries
 * "Authorization: Basic base64(token:<token>)" -- the mobile SDKs' form
 * for an enrolment access token or a factor-signed JWT -- instead of the
 * account's credentials, which are wiped.  Like every credential it only
 * goes to the client's base URL and never appears in errors or events.
 * The single-request handle (whose header list held the old credential)
 * is freed at once; the batch pool holds the credential only while a
 * batch runs (tv_batch.c builds its header lists from the client's when a
 * batch starts and wipes them when it ends), so the next batch carries the
 * new one and a batch running now finishes with the one it started with.
 * 0, -1 (err: TV_EARG, TV_ENOMEM; the previous credential stays). */
int tv_client_set_token(tv_client *c, const char *token, tv_error *err);
void tv_client_set_hooks(tv_client *c, void (*on_event)(void *ud, const tv_event *ev),
                         void (*on_retry)(void *ud, int next_attempt, double delay, const tv_error *err),
                         void *ud);

/* Take over the success path: on a 2xx response to anything but DELETE,
 * execute calls consume(ud, req, resp, err) instead of tv_parse_response,
 * and *out stays NULL.  consume returns 0 (it has taken the body), or -1
 * with err filled as tv_parse_response fills it (TV_EDECODE with the
 * request's context, or TV_ENOMEM); execute then goes on as after a parse
 * (the log event, no retry).  NULL restores tv_parse_response.  The Lua
 * binding converts bodies straight to Lua this way (tv_jcursor). */
typedef int (*tv_consume_fn)(void *ud, const tv_request *req, const tv_response *resp, tv_error *err);
void tv_client_set_consumer(tv_client *c, tv_consume_fn consume, void *ud);

/* Per-call overrides (0 / < 0 = the client's). */
typedef struct tv_call_opts {
    long timeout_ms;
    int max_retries;
} tv_call_opts;

/* Execute with retries: transport -> parse.  On success *out is the parsed
 * JSON (NULL for DELETE).  `resp` is scratch owned by the caller (reused
 * across calls to avoid allocations). */
int tv_client_execute(tv_client *c, const tv_request *req, const tv_call_opts *co, tv_response *resp,
                      struct cJSON **out, tv_error *err);

/* Backoff before attempt `attempt + 1` after a failure: tv_backoff with the
 * client's policy. */
double tv_client_backoff(tv_client *c, int attempt, double retry_after);
int tv_client_max_retries(const tv_client *c);
/* The client's retry policy (its jitter state changes with every backoff).
 * Never NULL for a client. */
struct tv_policy *tv_client_policy(tv_client *c);
/* What the call engine needs of the client (tv_call_init); lives as long
 * as the client. */
const struct tv_call_env *tv_client_env(tv_client *c);
long tv_client_timeout_ms(const tv_client *c);         /* the client's default */
long tv_client_connect_timeout_ms(const tv_client *c);
size_t tv_client_max_body(const tv_client *c);
/* What the libcurl layer needs for one call: the client's header lines and
 * limits, with the timeout of this call (timeout_ms > 0) or the client's.
 * Nothing is kept between calls. */
struct tv_http_conf;
void tv_client_http_conf(const tv_client *c, long timeout_ms, struct tv_http_conf *out);
/* One attempt over the client's own libcurl handle (created on first use),
 * no retries: the default transport, also offered to Lua transports. */
int tv_client_http(tv_client *c, const tv_request *req, long timeout_ms, tv_response *resp, tv_error *err);
/* A resource owned by the client and freed by tv_client_close (the batch
 * engine's connection pool): the client knows only how to free it. */
void *tv_client_pool(const tv_client *c);
void tv_client_set_pool(tv_client *c, void *pool, void (*free_pool)(void *));

/* ---- the call engine (tv_engine.c) ---------------------------------------
 * The attempt policy of one operation, written once as a sans-I/O state
 * machine (the way hiredis' reader is fed bytes and asked for replies):
 * the adapter -- the blocking libcurl loop (tv_client_execute), the batch
 * engine over curl_multi (tv_batch.c, one tv_call per op), the Lua-transport
 * driver (lua_transport.c + lua/twilio/verify.lua) -- asks tv_call_next what
 * to do, does it, feeds what happened back with tv_call_feed, and asks
 * again.  The engine decides everything else: attempt counting against
 * max_retries (the client's, or the call's override), which outcomes are
 * retried (tv_classify: a POST that may have been applied is never resent,
 * a bare 429 only for idempotent methods, timeouts never), Retry-After
 * (capped) or full-jitter exponential back-off (tv_backoff), the hooks'
 * events (TV_STEP_LOG after every attempt, TV_STEP_RETRY before a retry's
 * sleep), a closed client, and -- for a call in a tv_group -- the batch's
 * fail_fast stop, its shared 429 pause and its max_rps spacing.  No I/O, no
 * clock (the adapter passes `now`, monotonic seconds), no libcurl, no Lua;
 * it allocates only for a log event's redacted body and for errors.
 *
 *   tv_call k;
 *   tv_call_init(&k, tv_client_env(client), &req, &opts, NULL, TV_CALL_LOG | TV_CALL_ON_RETRY);
 *   for (;;) switch (tv_call_next(&k, now())) {
 *   case TV_STEP_SEND:  rc = send(&req, &resp, &e);  (then parse into value / e)
 *                       tv_call_feed(&k, now(), rc ? NULL : &resp, failed ? &e : NULL); break;
 *   case TV_STEP_SLEEP: sleep(tv_call_delay(&k)); break;
 *   case TV_STEP_LOG:   tv_call_event(&k, &ev); log(&ev); break;
 *   case TV_STEP_RETRY: on_retry(tv_call_attempt(&k) + 1, tv_call_delay(&k), tv_call_error(&k)); break;
 *   case TV_STEP_DONE:  rc = tv_call_take_error(&k, err); tv_call_release(&k); return rc;
 *   }
 */
typedef enum tv_step {
    TV_STEP_SEND,  /* send the request now, then tv_call_feed what came of it */
    TV_STEP_SLEEP, /* wait tv_call_delay() seconds (or poll), then ask again */
    TV_STEP_LOG,   /* the attempt's log event (tv_call_event) for the log hook; then ask again */
    TV_STEP_RETRY, /* before the retry's sleep: on_retry(tv_call_attempt() + 1, tv_call_delay(),
                    * tv_call_error()); then ask again (a hook may close the client) */
    TV_STEP_DONE   /* finished: tv_call_error() is NULL (success) or the outcome */
} tv_step;

/* The retry settings of a client (tv_options) and its jitter state. */
typedef struct tv_policy {
    int max_retries;
    long retry_base_ms, retry_cap_ms, retry_after_cap_ms;
    uint64_t rng; /* xorshift64* state; 0 = seeded (RAND_bytes) at the first jitter */
} tv_policy;

/* Seconds to wait before attempt `attempt + 1` after a failure: the
 * server's Retry-After (`retry_after` >= 0) capped at retry_after_cap, or
 * full jitter in [0, min(retry_cap, retry_base * 2^(attempt-1))). */
double tv_backoff(tv_policy *p, int attempt, double retry_after);

/* What a call needs of its client, handed in (the engine depends on no
 * client code): the retry policy, the client's closed flag (read before
 * every send and after every hook), and the explanation of a 401 (which
 * credential, from where).  The client owns it (tv_client_env). */
typedef struct tv_call_env {
    tv_policy *policy;
    const int *closed;
    void (*explain)(const void *ud, tv_error *err);
    const void *ud;
} tv_call_env;

/* What the calls of one batch share.  Plain data: zero it or
 * tv_group_init it; it owns nothing. */
typedef struct tv_group {
    int fail_fast;      /* the first failed call stops the group */
    int stopped;        /* set: no call starts (skipped) or retries */
    double max_rps;     /* > 0: sends at least 1/max_rps apart */
    double last_start;  /* when a call of the group last sent (0: never) */
    double pause_until; /* a 429 with Retry-After: nothing sends before */
    size_t retries;     /* attempts repeated, over all its calls */
} tv_group;

void tv_group_init(tv_group *g, int fail_fast, double max_rps);
/* An operation of the group failed outside its calls (e.g. a list whose
 * next_page_url loops): with fail_fast, the group stops.  Calls ending in
 * an error do this themselves. */
void tv_group_fail(tv_group *g);

enum {
    TV_CALL_LOG = 1,       /* answer TV_STEP_LOG after every attempt */
    TV_CALL_ON_RETRY = 2,  /* answer TV_STEP_RETRY before every retry */
    TV_CALL_CONTINUES = 4  /* a later request of an operation already under way (the
                            * next page of a list): a stopped group lets it start */
};

/* One operation's state.  Caller-allocated (on the stack, in a batch op, in
 * a Lua userdata); fields are private.  tv_call_release frees what it holds;
 * a zeroed tv_call may be released. */
typedef struct tv_call {
    const tv_call_env *env; /* borrowed: policy, closed state, 401 explanations */
    const tv_request *req; /* borrowed: method (classification), url and body (events, errors) */
    tv_group *group;       /* borrowed, or NULL */
    unsigned flags;
    int max_retries;
    int state, attempt, ok, settled, has_err;
    long status;           /* of the last attempt, for its event (0: no HTTP status) */
    double sent_at, duration, delay, wake;
    tv_error err;          /* the last attempt's error, then the outcome (when has_err) */
    tv_buf redacted;       /* the log event's body */
} tv_call;

/* Start the policy of one operation for `req` (which must stay valid and
 * unchanged while the call runs, except through tv_call_restart).  co may
 * be NULL (the client's max_retries); g may be NULL; flags TV_CALL_*. */
void tv_call_init(tv_call *k, const tv_call_env *env, const tv_request *req, const tv_call_opts *co, tv_group *g,
                  unsigned flags);
/* What to do now (`now`: monotonic seconds).  SEND starts an attempt: the
 * next result fed is its result.  Asked again while an attempt is in flight
 * it answers SEND again (feed first).  SLEEP may be asked again at any time
 * (a poller): it answers SLEEP with the time left until the wait is over.
 * Before a request is sent: a closed client ends the call with TV_ECLOSED,
 * a stopped group with TV_ESKIPPED (not for TV_CALL_CONTINUES); before a
 * retry, either ends it with the last attempt's error. */
tv_step tv_call_next(tv_call *k, double now);
/* The result of the attempt in flight: `resp` the response when the
 * transport got one (any status; NULL when it failed), `err` NULL for a
 * success or the failure (moved into the call: *err is left empty) as the
 * parser or the transport filled it.  A transport failure gets its kind
 * (TV_ETRANSPORT when unset) and the request's method and URL; every
 * failure is classified (tv_classify) and a 401 explained
 * (tv_client_explain).  Ignored (and *err cleared) when nothing is in
 * flight. */
void tv_call_feed(tv_call *k, double now, const tv_response *resp, tv_error *err);
/* 1 between a SEND and its feed. */
int tv_call_in_flight(const tv_call *k);
/* 1 when the attempt fed last ended the call whatever its hooks do (a
 * success, or a failure that is not retried): after its LOG comes DONE. */
int tv_call_settled(const tv_call *k);
/* The next request of the same operation (a list's next page: req now
 * holds it), after a DONE with success: attempts count from 0 again, and
 * the call continues (TV_CALL_CONTINUES). */
void tv_call_restart(tv_call *k);
/* The wait of the last SLEEP, or the delay a RETRY announces (seconds). */
double tv_call_delay(const tv_call *k);
/* Attempts of the current request so far (1 after the first SEND). */
int tv_call_attempt(const tv_call *k);
/* NULL after a success; else the last attempt's error (at RETRY, DONE and
 * while waiting for a retry) -- owned by the call. */
const tv_error *tv_call_error(const tv_call *k);
/* At DONE: 0 on success (err untouched), or -1 with the outcome moved into
 * *err (which is cleared first). */
int tv_call_take_error(tv_call *k, tv_error *err);
/* The last attempt's event (at LOG; valid until the call is asked again):
 * method, url, the form body with secrets redacted ("" when none, or when
 * redacting ran out of memory), status (0 when the attempt got no HTTP
 * status or failed to decode), duration, attempt, error. */
void tv_call_event(tv_call *k, tv_event *ev);
/* Free what the call holds (its error, the event buffer).  Accepts a
 * zeroed call; the call may be tv_call_init'ed again.  tv_call_init does
 * not release: an initialised call is released before it is reused. */
void tv_call_release(tv_call *k);

/* ---- batches (tv_batch.c) -------------------------------------------------
 * Many operations at once over libcurl's multi interface: at most
 * `concurrency` transfers in flight on keep-alive connections (one curl_multi
 * and a pool of easy handles per client, reused across batches).  Retries
 * follow the single-call rules per operation; a 429 with Retry-After pauses
 * every new start until it has passed; max_rps spaces starts.  The caller
 * drives it with tv_batch_step() and runs its own code between steps. */
typedef struct tv_batch tv_batch;
typedef struct tv_batch_opts {
    int concurrency; /* 1..64, 0 = 8 */
    double max_rps;  /* <= 0: no cap */
    int fail_fast;   /* on the first failure, skip what has not started */
} tv_batch_opts;

/* One batch per client at a time.  NULL with err (closed, busy, OOM). */
tv_batch *tv_batch_new(tv_client *c, size_t n, const tv_batch_opts *o, tv_error *err);
/* Every op i in [0, n) must be set exactly once, before the first step:
 * with its built request (moved in; list_all follows next_page_url and
 * gathers all factors into one array) or with an error (moved in). */
void tv_batch_set_request(tv_batch *b, size_t i, tv_request *req, int list_all);
void tv_batch_set_error(tv_batch *b, size_t i, tv_error *err);
/* Run for up to wait_ms.  1 when every op has finished, 0 if not yet, -1
 * on a libcurl failure (err). */
int tv_batch_step(tv_batch *b, int wait_ms, tv_error *err);
void tv_batch_progress(const tv_batch *b, size_t *done, size_t *total, size_t *errors);
/* Op i's outcome (owned by the batch): 0 with *out (NULL for DELETE), -1
 * with *err, or 1 when its result was taken (tv_batch_drop_done). */
int tv_batch_result(const tv_batch *b, size_t i, const struct cJSON **out, const tv_error **err);
/* The ops that succeeded and were not taken yet, oldest first: peek gives
 * the next one's index and result (1; 0 when none), drop frees that result
 * and marks it taken.  The caller converts a result between the two, so
 * that a batch holds the parsed answers of what it has not handed over
 * only, never of all its ops at once. */
int tv_batch_peek_done(const tv_batch *b, size_t *i, const struct cJSON **out);
void tv_batch_drop_done(tv_batch *b);
int tv_batch_peak(const tv_batch *b);       /* most transfers in flight at once */
size_t tv_batch_retries(const tv_batch *b); /* attempts repeated */
/* The most pages one list_all op follows (a longer listing ends with a
 * TV_EDECODE error, as a repeated page URL does).  0 means 1. */
void tv_batch_set_max_pages(tv_batch *b, size_t max_pages);
/* Frees the batch (removing its transfers).  Accepts NULL. */
void tv_batch_free(tv_batch *b);
/* ---- the libcurl transport (tv_http.c) ---------------------------------
 * Knows nothing of the client: each call gets a tv_http_conf.  Layering,
 * one direction only: tv_http <- tv_client <- tv_batch. */
typedef struct tv_http_conf {
    const char *get_lines[4];  /* header lines "Name: value" (Authorization is secret) */
    int nget;
    const char *post_lines[4];
    int npost;
    long timeout_ms, connect_timeout_ms;
    size_t max_body;
    /* CURLOPT_PROXY: NULL leaves libcurl's environment handling (https
     * only: tv_client_http_conf gives "" for http origins unless a proxy
     * was set explicitly), "" disables proxies, else the proxy URL. */
    const char *proxy;
    const char *no_proxy; /* CURLOPT_NOPROXY when non-NULL */
    const char *ca_file;  /* CURLOPT_CAINFO when non-NULL */
    const char *ca_path;  /* CURLOPT_CAPATH when non-NULL */
    struct tv_share *share; /* CURLOPT_SHARE when non-NULL */
} tv_http_conf;

/* A libcurl share (curl_share) of TLS sessions and DNS answers, so that a
 * second client of the process resumes the TLS session the first one got
 * instead of a full handshake.  Thread-safe: libcurl's lock callbacks take
 * pthread mutexes owned by the share (one per kind of data), so clients
 * using it may run on different threads.  Reference-counted: tv_share_new
 * returns one reference, every client holding it takes its own;
 * curl_share_cleanup runs when the last one is dropped (every easy handle
 * using it is gone by then).  libcurl keys both caches by host and port,
 * and a TLS session also by the TLS configuration (CA file/path,
 * verification): nothing crosses to another host or another trust store,
 * and credentials are not part of either cache (they travel in each
 * request's Authorization header).  NULL with err on OOM. */
typedef struct tv_share tv_share;
tv_share *tv_share_new(tv_error *err);
tv_share *tv_share_ref(tv_share *s); /* returns s; accepts NULL */
void tv_share_unref(tv_share *s);    /* accepts NULL */

typedef struct tv_http tv_http;
tv_http *tv_http_new(const tv_http_conf *conf, tv_error *err);
int tv_http_perform(tv_http *h, const tv_http_conf *conf, const tv_request *req, tv_response *resp, tv_error *err);
void tv_http_free(tv_http *h);
const char *tv_http_curl_version(void); /* e.g. "7.88.1" */
/* curl_global_init exactly once (thread-safe); 0 or -1. */
int tv_http_global_init(void);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#endif
