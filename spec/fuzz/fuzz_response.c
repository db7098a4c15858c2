/* fuzz_response.c -- libFuzzer harness: the sans-I/O response parser.
 *
 * Input: byte 0 picks the operation (low 6 bits: a row of tv_operations,
 * modulo their number; 0-4 are fetch/delete/update/list/create_factor),
 * byte 1 the HTTP status (2xx -> factor/page shape checks; others -> both
 * error shapes, Twilio's and RFC 9457), the rest is the body (2xx -> the
 * op's shape: an instance with a string sid, a page with its list key and
 * meta, or nothing).  The body is
 * given in an exact-size buffer (plus the NUL that tv_buf guarantees), so a
 * read past it is caught.  Also fuzzes tv_parse_retry_after and tv_classify
 * with the same bytes.  Invariants are the contract of tv.h. */
#include <cjson/cJSON.h>
#include <time.h>

#include "fuzz.h"
#include "tv.h"

static const long fz_resp_statuses[] = {200, 201, 204, 299, 400, 401, 403, 404, 405, 409, 413, 429,
                                        500, 502, 503, 504, 100, 199, 302, 300, 0,   999, -1,  600};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    const tv_operation *op = &tv_operations[(data[0] & 0x3f) % tv_noperations];
    long status = fz_resp_statuses[data[1] % (sizeof fz_resp_statuses / sizeof fz_resp_statuses[0])];
    size_t blen = size - 2;

    tv_request req;
    memset(&req, 0, sizeof req);
    req.op = op;
    req.method = op->method;
    FZ_ASSERT(tv_buf_adds(&req.url, "https://verify.twilio.com/v2/Services/"
                                    "VA00000000000000000000000000000000/Entities/user-1234/Factors") == 0);

    tv_response resp;
    memset(&resp, 0, sizeof resp);
    resp.status = status;
    resp.retry_after = (data[0] & 0x80) ? 2.5 : -1;
    if (data[0] & 0x40) snprintf(resp.request_id, sizeof resp.request_id, "RQ%s", "0123456789abcdef");
    /* exact-size body buffer, NUL-terminated like every tv_buf */
    resp.body.data = malloc(blen + 1);
    FZ_ASSERT(resp.body.data != NULL);
    memcpy(resp.body.data, data + 2, blen);
    resp.body.data[blen] = '\0';
    resp.body.len = blen;
    resp.body.cap = blen + 1;

    cJSON *out = (cJSON *)(uintptr_t)1; /* must be overwritten */
    tv_error err = TV_ERROR_INIT;
    int rc = tv_parse_response(&req, &resp, &out, &err);
    int is2xx = status >= 200 && status <= 299;
    if (rc == 0) {
        FZ_ASSERT(is2xx);
        FZ_ASSERT(err.kind == TV_OK);
        FZ_ASSERT(op->returns == TV_RET_NONE ? out == NULL : out != NULL);
        if (out) {
            FZ_ASSERT(cJSON_IsObject(out));
            if (op->returns == TV_RET_PAGE) {
                FZ_ASSERT(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(out, op->list_key)));
                FZ_ASSERT(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(out, "meta")));
            } else {
                FZ_ASSERT(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(out, "sid")));
            }
        }
    } else {
        FZ_ASSERT(rc == -1);
        FZ_ASSERT(out == NULL);
        FZ_ASSERT(err.kind == (is2xx ? TV_EDECODE : TV_EHTTP));
        FZ_ASSERT(err.status == status);
        FZ_ASSERT(memchr(err.message, '\0', sizeof err.message) != NULL);
        FZ_ASSERT(err.message[0] != '\0');
        FZ_ASSERT(strcmp(err.method, tv_method_name(req.method)) == 0);
        FZ_ASSERT(err.url && strcmp(err.url, req.url.data) == 0);
        if (blen) FZ_ASSERT(err.body && strlen(err.body) == (blen < TV_ERR_BODY_MAX ? blen : TV_ERR_BODY_MAX));
        else FZ_ASSERT(err.body == NULL);
        if (err.kind == TV_EHTTP) {
            if (err.code == 60310 || err.code == 60326) FZ_ASSERT(!err.retryable);
            if (status == 400 || status == 401 || status == 404) FZ_ASSERT(!err.retryable);
        }
        if (err.details) {
            cJSON *d = cJSON_Parse(err.details);
            FZ_ASSERT(d != NULL); /* details are re-encoded JSON */
            cJSON_Delete(d);
        }
        /* the retry policy on the same record, for every method */
        tv_classify(TV_POST, &err);
        if (err.kind == TV_EDECODE) FZ_ASSERT(!err.retryable);
        tv_classify(TV_GET, &err);
    }
    cJSON_Delete(out == (cJSON *)(uintptr_t)1 ? NULL : out);
    tv_error_clear(&err);

    /* Retry-After: delta-seconds or an HTTP date, relative to a fixed now */
    size_t rlen = blen < 80 ? blen : 80;
    char *ra = malloc(rlen + 1);
    FZ_ASSERT(ra != NULL);
    memcpy(ra, data + 2, rlen);
    ra[rlen] = '\0';
    double secs = tv_parse_retry_after(ra, rlen, (int64_t)784111777);
    FZ_ASSERT(secs == -1 || secs >= 0);
    free(ra);

    tv_request_free(&req);
    tv_response_free(&resp);
    return 0;
}
