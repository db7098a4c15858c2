/*
 * tv_error.h -- the one error record of the twilio-verify core.
 *
 * Every fallible core function takes a `tv_error *err` and on failure fills
 * it through tv_error_set() (or the HTTP/transport helpers) and returns
 * non-zero / NULL.  A tv_error never contains a credential: callers must not
 * pass auth tokens or API secrets into any message.
 *
 * Ownership: the heap members (more_info, details, body, url) belong to the
 * tv_error; tv_error_clear() frees them and resets the record.  A zeroed
 * tv_error (TV_ERROR_INIT) is a valid empty record.
 */
#ifndef TV_ERROR_H
#define TV_ERROR_H

#include <stddef.h>

#if defined(__GNUC__) /* internal to the module: only luaopen_twilio_verify_core is exported, */
#pragma GCC visibility push(hidden) /* so calls between files are direct, with no PLT */
#endif

typedef enum tv_kind {
    TV_OK = 0,
    TV_EARG,       /* invalid argument: caught before any I/O            */
    TV_EHTTP,      /* the server answered with a non-2xx status          */
    TV_ETRANSPORT, /* connect, DNS, TLS, timeout, reset (libcurl reason)  */
    TV_EDECODE,    /* invalid/truncated JSON, wrong shape, body too big   */
    TV_ECLOSED,    /* the client was closed                              */
    TV_ESKIPPED,   /* a batch operation not run (fail_fast)              */
    TV_ENOMEM      /* out of memory                                      */
} tv_kind;

#define TV_ERR_MESSAGE_MAX 512
#define TV_ERR_BODY_MAX 512 /* bound on the raw body excerpt kept in errors */

typedef struct tv_error {
    tv_kind kind;
    int retryable;             /* 1 when the same request may succeed later   */
    long status;               /* HTTP status, 0 when none                    */
    long code;                 /* Twilio error code, 0 when none              */
    int transport_code;        /* CURLcode for TV_ETRANSPORT, else 0          */
    int unsent;                /* 1: provably never reached the server        */
    int timed_out;             /* 1: the transport hit a timeout              */
    double retry_after;        /* seconds from Retry-After, < 0 when absent   */
    char param[48];            /* TV_EARG: the parameter at fault             */
    char method[8];            /* request method, "" before a request exists  */
    char request_id[72];       /* Twilio-Request-Id when the server sent one  */
    char message[TV_ERR_MESSAGE_MAX];
    char *more_info;           /* heap or NULL                                */
    char *details;             /* heap JSON text of `details`, or NULL        */
    char *body;                /* heap excerpt of the raw body (bounded), NULL */
    char *url;                 /* heap request URL (never has credentials)    */
} tv_error;

#define TV_ERROR_INIT {TV_OK, 0, 0, 0, 0, 0, 0, -1.0, "", "", "", "", NULL, NULL, NULL, NULL}

/* Reset to TV_ERROR_INIT, freeing heap members.  Accepts NULL. */
void tv_error_clear(tv_error *err);

/* Clear err, then set kind, param (may be NULL) and a printf-style message.
 * Always returns -1 so callers can `return tv_error_set(...)`. */
int tv_error_set(tv_error *err, tv_kind kind, const char *param, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Copy at most TV_ERR_BODY_MAX bytes of body into err->body (NUL-safe: NULs
 * become '?').  Returns 0, or -1 on out of memory (err->body stays NULL). */
int tv_error_set_body(tv_error *err, const char *body, size_t len);

/* Replace every control character (0x00-0x1f, 0x7f) of the NUL-terminated
 * s with a space, in place: what a server or a transport said cannot put a
 * CR/LF into an error message, a log line or tostring(err).  Accepts NULL.
 * tv_error_set applies it to the message it formats. */
void tv_error_clean(char *s);

/* strdup into *dst (freeing what was there); -1 on out of memory. */
int tv_error_set_str(char **dst, const char *src);

/* Stable lower-case name of a kind: "invalid_argument", "http", "transport",
 * "decode", "closed", "memory", "ok". */
const char *tv_kind_name(tv_kind kind);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#endif
