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
    size_t blen, bcap;
    int too_big;
} emu_req;

/* ------------------------------------------------------------ clock */

int64_t emu_now(const emu_server *srv) {
    return srv->clock_fixed ? srv->clock_time : (int64_t)time(NULL);
}

void emu_sleep_ms(emu_server *srv, long ms) {
    if (ms <= 0) return;
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += ms / 1000;
    dl.tv_nsec += (ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&srv->lock);
    while (!srv->stopping)
        if (pthread_cond_timedwait(&srv->wake, &srv->lock, &dl) == ETIMEDOUT) break;
    pthread_mutex_unlock(&srv->lock);
}

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

static cJSON *make_record(const emu_req *rq, const emu_call *c, const char *ctype, const char *ua,
                          const char *authz) {
    cJSON *j = cJSON_CreateObject(), *form = NULL;
    if (!j) return NULL;
    char scheme[33] = "";
    if (authz) {
        size_t n = strcspn(authz, " ");
        snprintf(scheme, sizeof scheme, "%.*s", (int)(n < 32 ? n : 32), authz);
    }
    int ok = cJSON_AddStringToObject(j, "method", rq->method) && cJSON_AddStringToObject(j, "path", rq->path) &&
             cJSON_AddStringToObject(j, "query", rq->query) &&
             (ctype ? cJSON_AddStringToObject(j, "content_type", ctype) : cJSON_AddNullToObject(j, "content_type")) &&
             (ua ? cJSON_AddStringToObject(j, "user_agent", ua) : cJSON_AddNullToObject(j, "user_agent")) &&
             (authz ? cJSON_AddStringToObject(j, "authorization_scheme", scheme)
                    : cJSON_AddNullToObject(j, "authorization_scheme")) &&
             (form = cJSON_AddArrayToObject(j, "form")) &&
             cJSON_AddStringToObject(j, "body", rq->body ? rq->body : "") &&
             cJSON_AddStringToObject(j, "op", emu_op_name(c->op)) &&
             (c->row ? cJSON_AddStringToObject(j, "operation", c->row->name) != NULL
                     : cJSON_AddNullToObject(j, "operation") != NULL);
    for (size_t i = 0; ok && i < c->form.n; i++) {
        cJSON *pair = cJSON_CreateArray();
        ok = emu_json_add(form, NULL, pair) == 0 &&
             emu_json_add(pair, NULL, cJSON_CreateString(c->form.items[i].key)) == 0 &&
             emu_json_add(pair, NULL, cJSON_CreateString(c->form.items[i].val)) == 0;
    }
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
    c.form_type_ok = rq->blen == 0 || is_form_type(ctype);
    c.content_type = ctype;
    c.body = rq->body;
    c.body_len = rq->too_big ? 0 : rq->blen;
    if (rq->blen > 0 && is_form_type(ctype) && !rq->too_big) {
        rc = emu_form_parse(rq->body, rq->blen, &c.form);
        if (rc == -1) goto oom;
        if (rc == -2) {
            c.bad_form = 1;
            emu_kvlist_free(&c.form);
        }
    }

    cJSON *rec = make_record(rq, &c, ctype, ua, authz);
    pthread_mutex_lock(&srv->lock);
    srv->requests[c.op]++;
    if (c.opidx >= 0 && c.opidx < EMU_MAX_OPS) srv->op_requests[c.opidx]++;
    emu_log_append(srv, rec);
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

/* ------------------------------------------------------ MHD callbacks */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *con) {
    (void)con;
    emu_req *rq = calloc(1, sizeof *rq);
    if (!rq) return NULL;
    rq->srv = cls;
    if (!(rq->uri = emu_strdup(uri))) {
        free(rq);
        return NULL;
    }
    return rq;
}

static void on_completed(void *cls, struct MHD_Connection *con, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)con;
    (void)toe;
    emu_server *srv = cls;
    emu_req *rq = *con_cls;
    if (!rq) return;
    if (rq->inflight) {
        pthread_mutex_lock(&srv->lock);
        srv->in_flight--;
        pthread_mutex_unlock(&srv->lock);
    }
    free(rq->uri);
    free(rq->path);
    free(rq->body);
    free(rq);
    *con_cls = NULL;
}

static int body_append(emu_req *rq, const char *data, size_t n) {
    if (rq->too_big) return 0;
    if (rq->blen + n > EMU_BODY_MAX) {
        rq->too_big = 1;
        return 0;
    }
    if (rq->blen + n + 1 > rq->bcap) {
        size_t cap = rq->bcap ? rq->bcap : 1024;
        while (cap < rq->blen + n + 1) cap *= 2;
        char *b = realloc(rq->body, cap);
        if (!b) return -1;
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
        if (!rq->control) {
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
    if (!rq->control) return api_final(rq, con);
    emu_response r = {0};
    r.status = 200;
    r.content_type = "application/json";
    if (rq->too_big) emu_response_error(&r, 413, 20413, "Request body too large", NULL);
    else emu_control_handle(srv, rq->method, rq->path, rq->body ? rq->body : "", rq->blen, &r);
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
