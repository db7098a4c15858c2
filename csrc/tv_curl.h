/*
 * tv_curl.h -- private: one libcurl easy handle with its I/O state, shared
 * by the single-request transport (tv_http.c) and the batch engine
 * (tv_batch.c) so both set the same options, callbacks and error mapping.
 */
#ifndef TV_CURL_H
#define TV_CURL_H

#include <curl/curl.h>
#include <stdint.h>

#include "tv.h"

#if defined(__GNUC__) /* internal to the module: only luaopen_twilio_verify_core is exported, */
#pragma GCC visibility push(hidden) /* so calls between files are direct, with no PLT */
#endif

typedef struct tv_easy {
    CURL *easy;
    tv_response *resp;     /* being received */
    const char *up;        /* POST body being sent (read callback) */
    size_t up_len, up_pos;
    size_t max_body;
    int over_cap;
    int is_post, sends;    /* request sends in this transfer (prereq callback) */
    int resend_refused;    /* libcurl tried to send a POST a second time */
    int raw_headers;       /* this answer is a 2xx: its header lines are kept raw (resp->raw) */
    uint64_t tracked_lengths; /* bit n: a tracked header name has n bytes */
    long applied_timeout_ms;
    struct curl_slist *h_get, *h_post, *h_json; /* borrowed: owned by the caller */
    char errbuf[CURL_ERROR_SIZE];
} tv_easy;

/* The client's constant header lists (Authorization, Accept, User-Agent,
 * Content-Type for POST, "Expect:"), and the POST list of a JSON body
 * (Content-Type: application/json).  0, or -1 with err (OOM). */
int tv_curl_headers(const tv_http_conf *conf, struct curl_slist **get, struct curl_slist **post,
                    struct curl_slist **json, tv_error *err);
/* Wipe (they hold the Authorization header) and free.  Accepts NULL. */
void tv_curl_headers_free(struct curl_slist *l);

/* Create the handle and set every constant option once.  0 or -1. */
int tv_easy_init(tv_easy *x, const tv_http_conf *conf, struct curl_slist *h_get, struct curl_slist *h_post,
                 struct curl_slist *h_json, tv_error *err);
void tv_easy_cleanup(tv_easy *x);
/* Per request: URL, method, headers, body, timeout. */
void tv_easy_prepare(tv_easy *x, const tv_http_conf *conf, const tv_request *req, tv_response *resp);
/* After the transfer: forget the body pointer; map rc (CURLE_OK: fill
 * resp->status, return 0) or fill err and return -1. */
int tv_easy_finish(tv_easy *x, CURLcode rc, tv_error *err);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#endif
