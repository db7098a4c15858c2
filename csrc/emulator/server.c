/*
 * server.c -- libmicrohttpd glue: request lifecycle, the request log and
 * stats, fault dispatch and turning emu_responses into MHD responses.
 *
 * MHD runs one thread per connection, so a delayed answer blocks only its
 * own connection.  The raw URI (still percent-encoded, with the query) is
 * captured by the URI log callback, which also allocates the per-request
 * context; the completion callback frees it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "emu.h"
#include "tv.h"
#include "tv_ops.h"

static const char oom_body[] =
    "{\"code\":20500,\"message\":\"Internal Server Error\",\"more_info\":"
    "\"https://www.twilio.com/docs/errors/20500\",\"status\":500}";

static const char html_body[] =
    "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d %s</h1></center>\r\n"
    "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

typedef struct emu_req {
    emu_server *srv;
    char *uri;           /* raw URI as received */
    char *path;          /* raw path, before '?' */
    const char *query;   /* raw query (into uri), "" when none */
    char method[16];
    int started, control, inflight;
    char *body;          /* NUL-terminated */
    size_t blen, bcap;   /* bcap is counted in srv->body_bytes */
    int too_big;
    int refused;         /* a status: Host, Origin or Content-Type refused (refuse()) */
    const char *refused_why;
} emu_req;

/* ------------------------------------------------------------ clock */

/* ------------------------------------------------------ MHD helpers */

static int add_headers(struct MHD_Response *resp, const emu_response *r, const char *request_id) {
    if (r->content_type && MHD_add_response_header(resp, "Content-Type", r->content_type) != MHD_YES) return -1;
    for (size_t i = 0; i < r->nheaders; i++)
        if (MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value) != MHD_YES) return -1;
    if (request_id && MHD_add_response_header(resp, "Twilio-Request-Id", request_id) != MHD_YES) return -1;
    return 0;
}

/* Queue r (consumed) on con. */
static enum MHD_Result queue(struct MHD_Connection *con, emu_response *r, const char *request_id) {
    struct MHD_Response *resp;
    if (r->body) {
        resp = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
        if (resp) r->body = NULL; /* MHD frees it */
    } else if (r->status == 500 && r->content_type) {
        resp = MHD_create_response_from_buffer(sizeof oom_body - 1, (void *)oom_body, MHD_RESPMEM_PERSISTENT);
    } else {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    enum MHD_Result ret = MHD_NO;
    if (resp && add_headers(resp, r, request_id) == 0) ret = MHD_queue_response(con, (unsigned)r->status, resp);
    if (resp) MHD_destroy_response(resp);
    emu_response_free(r);
    return ret;
}

/* Queue a streamed body (st consumed) with r's status and headers. */
static enum MHD_Result queue_stream(struct MHD_Connection *con, emu_response *r, emu_stream *st,
                                    const char *request_id) {
    enum MHD_Result ret = MHD_NO;
    if (!st) {
        emu_response_free(r);
        return MHD_NO;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_callback(emu_stream_size(st), 64 * 1024, emu_stream_read, st, emu_stream_free);
    if (!resp) {
        emu_stream_free(st);
        emu_response_free(r);
        return MHD_NO;
    }
    if (add_headers(resp, r, request_id) == 0) ret = MHD_queue_response(con, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    emu_response_free(r);
    return ret;
}

static void set_body(emu_response *r, int status, const char *ctype, const char *text, size_t len) {
    free(r->body);
    r->body = emu_strndup(text, len);
    r->len = r->body ? len : 0;
    r->status = r->body ? status : 500;
    r->content_type = r->body ? ctype : "application/json";
}

/* ------------------------------------------------------ request log */

/* The record of a request, within budget (EMU_LOG_*: its size is the
 * sender's choice, and it is made before authentication) and without the
 * secret values (AuthPayload, Binding.Secret, Config.NotificationToken:
 * tv_secret_wire_key), in the form pairs and in the body.  *cost: about
 * the bytes it takes. */

/* s[0..n) cut at max bytes, as a JSON string under name (a NUL ends it). */
static int add_cut(cJSON *obj, const char *name, const char *s, size_t n, size_t max, size_t *cost) {
    if (n > max) n = max;
    char *t = emu_strndup(s, n);
    cJSON *v = t ? cJSON_CreateString(t) : NULL;
    free(t);
    *cost += n + 96; /* the node and its copy */
    return emu_json_add(obj, name, v);
}

static int secret_raw_key(const char *k, size_t n) {
    if (n == 0 || n > 192) return 0;
    char *d = NULL;
    size_t dl = 0;
    int secret = emu_pct_decode(k, n, 1, &d, &dl) == 0 && tv_secret_wire_key(d, dl);
    free(d);
    return secret;
}

/* The body with every secret value "[REDACTED]" (keys decoded to tell),
 * cut at EMU_LOG_BODY_MAX.  0 / -1 OOM. */
static int redacted_body(const char *b, size_t len, tv_buf *out, int *cut) {
    size_t i = 0;
    *cut = 0;
    if (tv_buf_add(out, "", 0)) return -1;
    while (i < len && out->len < EMU_LOG_BODY_MAX) {
        const char *amp = memchr(b + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - b) : len;
        const char *eq = memchr(b + i, '=', end - i);
        if (i && tv_buf_add(out, "&", 1)) return -1;
        if (eq && secret_raw_key(b + i, (size_t)(eq - (b + i)))) {
            if (tv_buf_add(out, b + i, (size_t)(eq - (b + i)) + 1) || tv_buf_adds(out, "[REDACTED]")) return -1;
        } else if (tv_buf_add(out, b + i, end - i)) {
            return -1;
        }
        i = end + 1;
    }
    int clamped = out->len > EMU_LOG_BODY_MAX;
    if (clamped) out->len = EMU_LOG_BODY_MAX;
    if (out->data) out->data[out->len] = '\0';
    *cut = i < len || clamped;
    return 0;
}

static cJSON *make_record(const emu_req *rq, const emu_call *c, const char *ctype, const char *ua,
                          const char *authz, size_t *cost) {
    cJSON *j = cJSON_CreateObject(), *form = NULL;
    if (!j) return NULL;
    *cost = 512;
    char scheme[33] = "";
    if (authz) {
        size_t n = strcspn(authz, " ");
        snprintf(scheme, sizeof scheme, "%.*s", (int)(n < 32 ? n : 32), authz);
    }
    tv_buf body = {0};
    int cut = 0;
    int ok = redacted_body(rq->body ? rq->body : "", rq->blen, &body, &cut) == 0;
    ok = ok && cJSON_AddStringToObject(j, "method", rq->method) &&
         add_cut(j, "path", rq->path, strlen(rq->path), EMU_LOG_VALUE_MAX, cost) == 0 &&
         add_cut(j, "query", rq->query, strlen(rq->query), EMU_LOG_VALUE_MAX, cost) == 0 &&
         (ctype ? add_cut(j, "content_type", ctype, strlen(ctype), 256, cost) == 0
                : cJSON_AddNullToObject(j, "content_type") != NULL) &&
         (ua ? add_cut(j, "user_agent", ua, strlen(ua), 512, cost) == 0
             : cJSON_AddNullToObject(j, "user_agent") != NULL) &&
         (authz ? cJSON_AddStringToObject(j, "authorization_scheme", scheme)
                : cJSON_AddNullToObject(j, "authorization_scheme")) &&
         (form = cJSON_AddArrayToObject(j, "form")) &&
         add_cut(j, "body", body.data, body.len, EMU_LOG_BODY_MAX, cost) == 0 &&
         cJSON_AddStringToObject(j, "op", emu_op_name(c->op)) &&
         (c->row ? cJSON_AddStringToObject(j, "operation", c->row->name) != NULL
                 : cJSON_AddNullToObject(j, "operation") != NULL);
    tv_buf_free(&body);
    if (ok && cut) ok = cJSON_AddTrueToObject(j, "body_truncated") && cJSON_AddNumberToObject(j, "body_bytes", (double)rq->blen);
    for (size_t i = 0; ok && i < c->form.n && i < EMU_LOG_PAIRS; i++) {
        const emu_kv *kv = &c->form.items[i];
        cJSON *pair = cJSON_CreateArray();
        int secret = tv_secret_wire_key(kv->key, kv->klen);
        ok = emu_json_add(form, NULL, pair) == 0 && add_cut(pair, NULL, kv->key, kv->klen, EMU_LOG_VALUE_MAX, cost) == 0 &&
             (secret ? add_cut(pair, NULL, "[REDACTED]", 10, 10, cost)
                     : add_cut(pair, NULL, kv->val, kv->vlen, EMU_LOG_VALUE_MAX, cost)) == 0;
        *cost += 64;
    }
    if (ok && c->form.n > EMU_LOG_PAIRS)
        ok = cJSON_AddTrueToObject(j, "form_truncated") && cJSON_AddNumberToObject(j, "form_pairs", (double)c->form.n);
    if (!ok) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

/* ------------------------------------------------------ API requests */

static int is_form_type(const char *ct) {
    static const char form[] = "application/x-www-form-urlencoded";
    if (!ct) return 0;
    while (*ct == ' ') ct++;
    if (strncasecmp(ct, form, sizeof form - 1) != 0) return 0;
    ct += sizeof form - 1;
    while (*ct == ' ') ct++;
    return *ct == '\0' || *ct == ';';
}

static void sanitize_host(const char *h, unsigned port, char *out, size_t outlen) {
    int ok = h && *h && strlen(h) < outlen;
    for (const char *p = h; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
             strchr(".-:[]_", *p) != NULL;
    if (ok) snprintf(out, outlen, "%s", h);
    else snprintf(out, outlen, "127.0.0.1:%u", port);
}

/* Take the first queued fault matching this request (lock held). */
static int take_fault(emu_server *srv, const emu_call *c, emu_fault *out) {
    for (size_t i = 0; i < srv->nfaults; i++) {
        emu_fault *f = &srv->faults[i];
        if (!emu_fault_matches(f, c->method, c->op, c->opidx, c->raw_path)) continue;
        if (--f->times > 0) return emu_fault_copy(f, out) == 0;
        *out = *f;
        memmove(f, f + 1, (srv->nfaults - i - 1) * sizeof *f);
        srv->nfaults--;
        return 1;
    }
    return 0;
}

/* Run the real operation; with keep == 0 its answer is dropped. */
static void run_real(emu_server *srv, const emu_call *c, int commit, const char *next_url, emu_response *r) {
    emu_response_free(r);
    r->status = 200;
    r->content_type = "application/json";
    emu_api_handle(srv, c, commit, next_url, r);
}

static void apply_only(emu_server *srv, const emu_call *c, const emu_fault *f) {
    if (!f->apply) return;
    emu_response tmp = {0};
    run_real(srv, c, 1, NULL, &tmp);
    emu_response_free(&tmp);
}

static void status_fault(const emu_fault *f, emu_response *r) {
    long code = f->code ? f->code : 20000 + f->status;
    const char *msg = f->message ? f->message : emu_reason(f->status);
    cJSON *details = f->details ? cJSON_Duplicate(f->details, 1) : NULL;
    emu_response_error(r, f->status, code, msg, details);
    if (f->retry_after) emu_response_header(r, "Retry-After", f->retry_after);
}

static void rfc9457_fault(const emu_fault *f, emu_response *r) {
    long code = f->code ? f->code : 20000 + f->status;
    char type[96];
    snprintf(type, sizeof type, "https://www.twilio.com/docs/errors/%ld", code);
    const char *title = f->message ? f->message : emu_reason(f->status);
    cJSON *j = cJSON_CreateObject();
    if (j && (!cJSON_AddStringToObject(j, "type", type) || !cJSON_AddStringToObject(j, "title", title) ||
              !cJSON_AddNumberToObject(j, "status", f->status) || !cJSON_AddNumberToObject(j, "code", (double)code) ||
              !cJSON_AddStringToObject(j, "detail", f->detail ? f->detail : title))) {
        cJSON_Delete(j);
        j = NULL;
    }
    emu_response_json(r, f->status, j);
    if (r->body) r->content_type = "application/problem+json";
    if (f->retry_after) emu_response_header(r, "Retry-After", f->retry_after);
}

static enum MHD_Result api_final(emu_req *rq, struct MHD_Connection *con) {
    emu_server *srv = rq->srv;
    emu_call c = {0};
    emu_response r = {0};
    emu_fault fault = {0};
    int has_fault = 0;
    enum MHD_Result ret = MHD_NO;
    char host[256], request_id[40];

    const char *ctype = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Type");
    const char *ua = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "User-Agent");
    const char *authz = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Authorization");
    sanitize_host(MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Host"), srv->bound_port, host, sizeof host);
    if (emu_random_sid("RQ", request_id, 16) != 0) snprintf(request_id, sizeof request_id, "RQ0");

    if (emu_call_route(&c, rq->method, rq->path) != 0) goto oom;
    c.host = host;
    c.authorization = authz;
    c.too_big = rq->too_big;
    int rc = emu_form_parse(rq->query, strlen(rq->query), &c.query);
    if (rc == -1) goto oom;
    c.bad_query = rc == -2;
    if (rc == -3) c.too_big = 1; /* more than EMU_FORM_MAX_PAIRS pairs: 413 */
    if (rc != 0) emu_kvlist_free(&c.query);
    c.form_type_ok = rq->blen == 0 || is_form_type(ctype);
    c.content_type = ctype;
    c.body = rq->body;
    c.body_len = rq->too_big ? 0 : rq->blen;
    if (rq->blen > 0 && is_form_type(ctype) && !c.too_big) {
        rc = emu_form_parse(rq->body, rq->blen, &c.form);
        if (rc == -1) goto oom;
        if (rc == -2) c.bad_form = 1;
        if (rc == -3) c.too_big = 1;
        if (rc != 0) emu_kvlist_free(&c.form);
    }

    size_t cost = 0;
    cJSON *rec = make_record(rq, &c, ctype, ua, authz, &cost);
    pthread_mutex_lock(&srv->lock);
    srv->requests[c.op]++;
    if (c.opidx >= 0 && c.opidx < EMU_MAX_OPS) srv->op_requests[c.opidx]++;
    emu_log_append(srv, rec, cost);
    has_fault = take_fault(srv, &c, &fault);
    pthread_mutex_unlock(&srv->lock);

    if (!has_fault) {
        run_real(srv, &c, 1, NULL, &r);
        ret = queue(con, &r, request_id);
        goto done;
    }
    const char *rid = fault.request_id ? fault.request_id : request_id;
    switch (fault.action) {
    case EMU_F_DELAY:
        emu_sleep_ms(srv, fault.delay_ms);
        run_real(srv, &c, 1, NULL, &r);
        ret = queue(con, &r, rid);
        break;
    case EMU_F_DELAY_BODY: {
        run_real(srv, &c, 1, NULL, &r);
        emu_stream *st = emu_stream_delayed(srv, r.body, r.len, fault.delay_ms);
        r.body = NULL;
        ret = queue_stream(con, &r, st, rid);
        break;
    }
    case EMU_F_CLOSE:
        apply_only(srv, &c, &fault);
        ret = MHD_NO;
        break;
    case EMU_F_CLOSE_MID_BODY:
    case EMU_F_TRUNCATED: {
        run_real(srv, &c, fault.apply, NULL, &r);
        if (!r.body || r.len < 2) {
            static const char filler[] = "{\"sid\":\"YF00000000000000000000000000000000\",\"status\":\"unverified\"}";
            set_body(&r, 200, "application/json", filler, sizeof filler - 1);
        }
        r.status = 200;
        r.content_type = "application/json";
        if (fault.action == EMU_F_TRUNCATED) {
            r.len /= 2;
            ret = queue(con, &r, rid);
        } else {
            emu_stream *st = emu_stream_cut(r.body, r.len, r.len / 2);
            r.body = NULL;
            ret = queue_stream(con, &r, st, rid);
        }
        break;
    }
    case EMU_F_STATUS:
        apply_only(srv, &c, &fault);
        status_fault(&fault, &r);
        ret = queue(con, &r, rid);
        break;
    case EMU_F_RFC9457:
        apply_only(srv, &c, &fault);
        rfc9457_fault(&fault, &r);
        ret = queue(con, &r, rid);
        break;
    case EMU_F_HTML: {
        apply_only(srv, &c, &fault);
        char page[512];
        int n = snprintf(page, sizeof page, html_body, fault.status, emu_reason(fault.status), fault.status,
                         emu_reason(fault.status));
        set_body(&r, fault.status, "text/html", page, (size_t)n);
        ret = queue(con, &r, rid);
        break;
    }
    case EMU_F_NOT_JSON:
        apply_only(srv, &c, &fault);
        set_body(&r, 200, "application/json", "not json at all", 15);
        ret = queue(con, &r, rid);
        break;
    case EMU_F_WRONG_SHAPE:
        apply_only(srv, &c, &fault);
        set_body(&r, 200, "application/json", "[1,2,3]", 7);
        ret = queue(con, &r, rid);
        break;
    case EMU_F_OVERSIZE:
    case EMU_F_DEEP:
        apply_only(srv, &c, &fault);
        r.status = 200;
        r.content_type = "application/json";
        ret = queue_stream(con, &r,
                           fault.action == EMU_F_OVERSIZE ? emu_stream_oversize(fault.bytes) : emu_stream_deep(fault.depth),
                           rid);
        break;
    case EMU_F_NEXT_PAGE_URL:
        run_real(srv, &c, 1, c.op == EMU_OP_LIST ? fault.url : NULL, &r);
        ret = queue(con, &r, rid);
        break;
    }
    goto done;
oom:
    r.status = 500;
    r.content_type = "application/json";
    ret = queue(con, &r, request_id);
done:
    emu_fault_free(&fault);
    emu_response_free(&r);
    emu_call_free(&c);
    return ret;
}

/* ------------------------------------------------------ who may ask */

/* DNS rebinding (issue 23 item 3): a web page whose host name an attacker
 * points at 127.0.0.1 reaches the emulator from the browser with its own
 * name in Host.  Accepted: the loopback names on the bound port (without a
 * port only when it is 80), and --allow-host's value.  No Host at all
 * (HTTP/1.0) is accepted: a browser always sends one. */
static int host_ok(const emu_server *srv, const char *h, size_t n) {
    if (srv->cfg.allow_host[0] && strlen(srv->cfg.allow_host) == n && strncasecmp(h, srv->cfg.allow_host, n) == 0)
        return 1;
    static const char *const names[] = {"127.0.0.1", "localhost", "[::1]", NULL};
    char port[8];
    snprintf(port, sizeof port, "%u", srv->bound_port);
    for (const char *const *name = names; *name; name++) {
        size_t nl = strlen(*name);
        if (n < nl || strncasecmp(h, *name, nl) != 0) continue;
        if (n == nl) return srv->bound_port == 80;
        if (h[nl] == ':' && n - nl - 1 == strlen(port) && memcmp(h + nl + 1, port, n - nl - 1) == 0) return 1;
    }
    return 0;
}

/* CSRF (issue 23 item 3): the control API has no authentication, so a page
 * of another origin must not drive it.  Browsers send Origin (and
 * Sec-Fetch-Site) on cross-origin requests; a POST or DELETE must also be
 * JSON or bodiless, which no cross-origin form or "simple" fetch can be
 * without a CORS preflight the emulator never grants. */
static int control_ok(emu_req *rq, struct MHD_Connection *con) {
    const emu_server *srv = rq->srv;
    const char *origin = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Origin");
    if (origin) {
        int same = strncasecmp(origin, "http://", 7) == 0 && host_ok(srv, origin + 7, strlen(origin + 7));
        if (!same) {
            rq->refused_why = "cross-origin request to the control API (Origin is not this emulator)";
            return 0;
        }
    }
    const char *site = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Sec-Fetch-Site");
    if (site && strcasecmp(site, "same-origin") != 0 && strcasecmp(site, "none") != 0) {
        rq->refused_why = "cross-site request to the control API (Sec-Fetch-Site)";
        return 0;
    }
    if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0) {
        const char *ct = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Type");
        const char *len = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Length");
        const char *te = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Transfer-Encoding");
        int bodiless = !te && (!len || strcmp(len, "0") == 0);
        static const char json[] = "application/json";
        int is_json = ct && strncasecmp(ct, json, sizeof json - 1) == 0 &&
                      (ct[sizeof json - 1] == '\0' || ct[sizeof json - 1] == ';' || ct[sizeof json - 1] == ' ');
        if (!is_json && (ct || !bodiless)) {
            rq->refused_why = "control requests with a body must be Content-Type: application/json";
            rq->refused = 415;
            return 0;
        }
    }
    return 1;
}

/* The answer to a refused request: Twilio's error shape, nothing run. */
static enum MHD_Result refuse(emu_req *rq, struct MHD_Connection *con) {
    emu_response r = {0};
    emu_response_error(&r, rq->refused, rq->refused == 415 ? 20415 : 20403, rq->refused_why, NULL);
    return queue(con, &r, NULL);
}

/* ------------------------------------------------------ MHD callbacks */

/* The request context is made in the URI log callback (the raw URI is only
 * seen there), but libmicrohttpd calls the completion callback only for a
 * request that reached the access handler: one refused earlier (a request
 * line or headers too big for the connection's memory, a malformed one)
 * leaked its context and its URI copy -- 100 KiB a request with a long
 * query (found by make emulator-soak, issue 23).  So each connection parks
 * the context it has not handed over yet in its socket context, and the
 * connection's close frees what is still parked. */
typedef struct emu_conn {
    emu_req *pending; /* made by on_uri, not yet seen by on_completed */
} emu_conn;

static emu_conn *conn_of(struct MHD_Connection *con) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? (emu_conn *)ci->socket_context : NULL;
}

static void req_free(emu_server *srv, emu_req *rq) {
    if (rq->inflight || rq->bcap) {
        pthread_mutex_lock(&srv->lock);
        if (rq->inflight) srv->in_flight--;
        srv->body_bytes -= rq->bcap;
        pthread_mutex_unlock(&srv->lock);
    }
    free(rq->uri);
    free(rq->path);
    free(rq->body);
    free(rq);
}

static void on_connection(void *cls, struct MHD_Connection *con, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe) {
    (void)con;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        *socket_context = calloc(1, sizeof(emu_conn)); /* NULL on OOM: nothing parked, as before */
        return;
    }
    emu_conn *c = *socket_context;
    if (!c) return;
    if (c->pending) req_free(cls, c->pending);
    free(c);
    *socket_context = NULL;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *con) {
    emu_req *rq = calloc(1, sizeof *rq);
    if (!rq) return NULL;
    rq->srv = cls;
    if (!(rq->uri = emu_strdup(uri))) {
        free(rq);
        return NULL;
    }
    emu_conn *c = conn_of(con);
    if (c) {
        if (c->pending) req_free(cls, c->pending); /* the last request never completed */
        c->pending = rq;
    }
    return rq;
}

static void on_completed(void *cls, struct MHD_Connection *con, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)toe;
    emu_server *srv = cls;
    emu_req *rq = *con_cls;
    if (!rq) return;
    emu_conn *c = conn_of(con);
    if (c && c->pending == rq) c->pending = NULL;
    req_free(srv, rq);
    *con_cls = NULL;
}

static int body_append(emu_req *rq, const char *data, size_t n) {
    if (rq->too_big || rq->refused) return 0; /* read and dropped */
    if (rq->blen + n > EMU_BODY_MAX) {
        rq->too_big = 1;
        return 0;
    }
    if (rq->blen + n + 1 > rq->bcap) {
        size_t cap = rq->bcap ? rq->bcap : 1024;
        while (cap < rq->blen + n + 1) cap *= 2;
        if (cap > EMU_BODY_MAX + 1) cap = EMU_BODY_MAX + 1;
        /* all connections' bodies together stay within EMU_BODY_BUDGET */
        emu_server *srv = rq->srv;
        pthread_mutex_lock(&srv->lock);
        int over = srv->body_bytes + (cap - rq->bcap) > EMU_BODY_BUDGET;
        if (!over) srv->body_bytes += cap - rq->bcap;
        pthread_mutex_unlock(&srv->lock);
        if (over) {
            rq->too_big = 1;
            return 0;
        }
        char *b = realloc(rq->body, cap);
        if (!b) {
            pthread_mutex_lock(&srv->lock);
            srv->body_bytes -= cap - rq->bcap;
            pthread_mutex_unlock(&srv->lock);
            return -1;
        }
        rq->body = b;
        rq->bcap = cap;
    }
    memcpy(rq->body + rq->blen, data, n);
    rq->blen += n;
    rq->body[rq->blen] = '\0';
    return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
    (void)url;
    (void)version;
    emu_server *srv = cls;
    emu_req *rq = *con_cls;
    if (!rq) return MHD_NO; /* out of memory in on_uri */
    if (!rq->started) {
        rq->started = 1;
        snprintf(rq->method, sizeof rq->method, "%s", method);
        const char *q = strchr(rq->uri, '?');
        rq->path = q ? emu_strndup(rq->uri, (size_t)(q - rq->uri)) : emu_strdup(rq->uri);
        rq->query = q ? q + 1 : "";
        if (!rq->path) return MHD_NO;
        rq->control = strncmp(rq->path, "/__emulator/", 12) == 0;
        const char *host = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Host");
        if (host && !host_ok(srv, host, strlen(host))) {
            rq->refused = 403;
            rq->refused_why = "the Host header is not this emulator's (127.0.0.1, localhost or [::1] on its port; "
                              "--allow-host adds one): refused against DNS rebinding";
        } else if (rq->control && !control_ok(rq, con)) {
            if (!rq->refused) rq->refused = 403;
        }
        if (!rq->control && !rq->refused) {
            pthread_mutex_lock(&srv->lock);
            if (++srv->in_flight > srv->peak) srv->peak = srv->in_flight;
            pthread_mutex_unlock(&srv->lock);
            rq->inflight = 1;
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (body_append(rq, upload_data, *upload_data_size) != 0) return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (rq->refused) return refuse(rq, con);
    if (!rq->control) return api_final(rq, con);
    emu_response r = {0};
    r.status = 200;
    r.content_type = "application/json";
    if (rq->too_big) emu_response_error(&r, 413, 20413, "Request body too large", NULL);
    else emu_control_handle_q(srv, rq->method, rq->path, rq->query, rq->body ? rq->body : "", rq->blen, &r);
    return queue(con, &r, NULL);
}

/* ------------------------------------------------------ lifecycle */

int emu_server_init(emu_server *srv, const emu_config *cfg) {
    memset(srv, 0, sizeof *srv);
    srv->cfg = *cfg;
    pthread_condattr_t ca;
    if (pthread_mutex_init(&srv->lock, NULL) != 0) goto fail;
    if (pthread_condattr_init(&ca) != 0 || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&srv->wake, &ca) != 0) {
        pthread_mutex_destroy(&srv->lock);
        goto fail;
    }
    pthread_condattr_destroy(&ca);
    if (tv_noperations > EMU_MAX_OPS) {
        fprintf(stderr, "twilio-verify-emulator: the operation table has more than %d rows\n", EMU_MAX_OPS);
        pthread_cond_destroy(&srv->wake);
        pthread_mutex_destroy(&srv->lock);
        goto fail;
    }
    if (emu_store_init(&srv->store) != 0 || emu_hooks_init(srv) != 0) {
        fprintf(stderr, "twilio-verify-emulator: out of memory\n");
        emu_server_free(srv);
        return -1;
    }
    char oerr[512];
    if (!(srv->oracle = emu_oracle_new(oerr, sizeof oerr))) { /* the OpenAPI description (oapi_load.c) */
        fprintf(stderr, "twilio-verify-emulator: %s\n", oerr);
        emu_server_free(srv);
        return -1;
    }
    if (cfg->seed_path) {
        char errbuf[512];
        srv->seed = emu_seed_read(cfg->seed_path, errbuf, sizeof errbuf);
        if (!srv->seed || emu_seed_apply(srv, srv->seed, errbuf, sizeof errbuf) != 0) {
            fprintf(stderr, "twilio-verify-emulator: %s\n", errbuf);
            emu_server_free(srv);
            return -1;
        }
    }
    return 0;
fail:
    fprintf(stderr, "twilio-verify-emulator: cannot initialise threads\n");
    free(srv->cfg.auth_token);
    free(srv->cfg.api_key);
    free(srv->cfg.api_secret);
    return -1;
}

/* Bind and listen on 127.0.0.1:port ourselves, so the bound port is known
 * before any connection thread can read it.  The fd, or -1 (message out). */
static int listen_loopback(unsigned port, unsigned *bound) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fprintf(stderr, "twilio-verify-emulator: socket: %s\n", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof addr;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 256) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &alen) != 0) {
        fprintf(stderr, "twilio-verify-emulator: cannot listen on 127.0.0.1:%u: %s\n", port, strerror(errno));
        close(fd);
        return -1;
    }
    *bound = ntohs(addr.sin_port);
    return fd;
}

int emu_server_start(emu_server *srv) {
    int fd = listen_loopback(srv->cfg.port, &srv->bound_port);
    if (fd < 0) return -1;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
    if (srv->cfg.verbose) flags |= MHD_USE_ERROR_LOG;
    srv->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv,
                                   MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
                                   MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
                                   MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
                                   MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
                                   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
                                   MHD_OPTION_CONNECTION_LIMIT, (unsigned)2000,
                                   MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024),
                                   MHD_OPTION_END);
    if (!srv->daemon) {
        fprintf(stderr, "twilio-verify-emulator: cannot start the HTTP server\n");
        close(fd);
        return -1;
    }
    if (emu_hooks_start(srv) != 0) {
        fprintf(stderr, "twilio-verify-emulator: cannot start the webhook delivery thread\n");
        MHD_stop_daemon(srv->daemon);
        srv->daemon = NULL;
        return -1;
    }
    return 0; /* MHD owns fd now and closes it on stop */
}

void emu_server_stop(emu_server *srv) {
    pthread_mutex_lock(&srv->lock);
    srv->stopping = 1;
    pthread_cond_broadcast(&srv->wake);
    pthread_mutex_unlock(&srv->lock);
    if (srv->daemon) MHD_stop_daemon(srv->daemon);
    srv->daemon = NULL;
    emu_hooks_stop(srv);
}

void emu_server_free(emu_server *srv) {
    emu_oracle_free(srv->oracle);
    srv->oracle = NULL;
    emu_hooks_free(srv);
    emu_store_free(&srv->store);
    for (size_t i = 0; i < srv->nfaults; i++) emu_fault_free(&srv->faults[i]);
    free(srv->faults);
    for (size_t i = 0; i < srv->log_n; i++) cJSON_Delete(srv->log[(srv->log_head + i) % EMU_LOG_MAX]);
    cJSON_Delete(srv->seed);
    free(srv->cfg.auth_token);
    free(srv->cfg.api_key);
    free(srv->cfg.api_secret);
    pthread_cond_destroy(&srv->wake);
    pthread_mutex_destroy(&srv->lock);
}
