/* fuzz_jcursor.c -- libFuzzer harness: the streaming reader of 2xx bodies
 * (tv_jcursor, tv_response.c), which the binding uses to convert large
 * pages straight from their text.
 *
 * Input: byte 0 picks the operation (a row of tv_operations, modulo their
 * number; 0-4 are fetch/delete/update/list/create_factor),
 * the rest is the body, given to the cursor in an exact-size buffer without
 * a terminating NUL (a read past the end is caught).
 * Invariants (tv.h): events come in a valid order and every item is the
 * caller's; after END or FALLBACK every call gives FALLBACK; when the cursor
 * completes (END), tv_parse_response accepts the body too and the members
 * and elements rebuild exactly its tree -- unless an item is nested so deep
 * that the whole document is over cJSON's limit (the documented case where
 * callers refuse and fall back). */
#include <cjson/cJSON.h>

#include "fuzz.h"
#include "tv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fz_jc_same(const cJSON *a, const cJSON *b) {
    if (!a || !b) return a == b;
    if ((a->type & 0xFF) != (b->type & 0xFF)) return 0;
    if ((a->string == NULL) != (b->string == NULL)) return 0;
    if (a->string && strcmp(a->string, b->string) != 0) return 0;
    if ((a->type & 0xFF) == cJSON_String && strcmp(a->valuestring, b->valuestring) != 0) return 0;
    if ((a->type & 0xFF) == cJSON_Number && memcmp(&a->valuedouble, &b->valuedouble, sizeof(double)) != 0)
        return 0;
    const cJSON *x = a->child, *y = b->child;
    for (; x && y; x = x->next, y = y->next)
        if (!fz_jc_same(x, y)) return 0;
    return x == NULL && y == NULL;
}

static int fz_jc_depth(const cJSON *j) {
    int d = 0;
    for (const cJSON *c = j->child; c; c = c->next) {
        int k = fz_jc_depth(c);
        if (k > d) d = k;
    }
    return ((j->type & 0xFF) == cJSON_Array || (j->type & 0xFF) == cJSON_Object) ? d + 1 : d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const tv_operation *op = &tv_operations[data[0] % tv_noperations];
    size_t len = size - 1;
    char *body = malloc(len ? len : 1); /* exact size, no NUL */
    FZ_ASSERT(body != NULL);
    memcpy(body, data + 1, len);

    tv_jcursor cur;
    tv_jcursor_init(&cur, op, body, len);
    cJSON *rebuilt = cJSON_CreateObject(), *arr = NULL;
    FZ_ASSERT(rebuilt != NULL);
    int too_deep = 0;
    tv_jev ev;
    for (;;) {
        cJSON *it = (cJSON *)(uintptr_t)1;
        ev = tv_jcursor_next(&cur, &it);
        if (ev == TV_JEV_MEMBER || ev == TV_JEV_ARRAY || ev == TV_JEV_ELEMENT) FZ_ASSERT(it != NULL);
        else FZ_ASSERT(it == NULL);
        if (ev == TV_JEV_MEMBER) {
            FZ_ASSERT(arr == NULL && it->string != NULL && (it->type & 0xFF) != cJSON_Array);
            if (fz_jc_depth(it) + 1 >= 1000) too_deep = 1;
            FZ_ASSERT(cJSON_AddItemToArray(rebuilt, it)); /* keeps it->string: a member */
        } else if (ev == TV_JEV_ARRAY) {
            FZ_ASSERT(arr == NULL && it->string != NULL && (it->type & 0xFF) == cJSON_Array && !it->child);
            FZ_ASSERT(cJSON_AddItemToArray(rebuilt, arr = it));
        } else if (ev == TV_JEV_ELEMENT) {
            FZ_ASSERT(arr != NULL);
            if (fz_jc_depth(it) + 2 >= 1000) too_deep = 1;
            FZ_ASSERT(cJSON_AddItemToArray(arr, it));
        } else if (ev == TV_JEV_ARRAY_END) {
            FZ_ASSERT(arr != NULL);
            arr = NULL;
        } else {
            break;
        }
    }
    FZ_ASSERT(ev == TV_JEV_END || ev == TV_JEV_FALLBACK);
    cJSON *again = (cJSON *)(uintptr_t)1;
    FZ_ASSERT(tv_jcursor_next(&cur, &again) == TV_JEV_FALLBACK && again == NULL); /* stays finished */

    if (ev == TV_JEV_END) {
        FZ_ASSERT(arr == NULL);
        tv_request req;
        memset(&req, 0, sizeof req);
        req.op = op;
        req.method = op->method;
        tv_response resp;
        memset(&resp, 0, sizeof resp);
        resp.status = 200;
        resp.retry_after = -1;
        resp.body.data = malloc(len + 1); /* a tv_buf: NUL-terminated */
        FZ_ASSERT(resp.body.data != NULL);
        memcpy(resp.body.data, body, len);
        resp.body.data[len] = '\0';
        resp.body.len = len;
        resp.body.cap = len + 1;
        cJSON *tree = NULL;
        tv_error err = TV_ERROR_INIT;
        int rc = tv_parse_response(&req, &resp, &tree, &err);
        /* (the binding never streams a DELETE: its 2xx has no body to convert) */
        if (!too_deep && op->returns != TV_RET_NONE) {
            FZ_ASSERT(rc == 0 && tree != NULL);
            FZ_ASSERT(fz_jc_same(rebuilt, tree));
        }
        cJSON_Delete(tree);
        tv_error_clear(&err);
        tv_response_free(&resp);
    }
    cJSON_Delete(rebuilt);
    free(body);
    return 0;
}
