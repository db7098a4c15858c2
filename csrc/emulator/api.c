/*
 * api.c -- authentication, the checks every request goes through, and the
 * dispatch to the handler of its row.
 *
 * Every request is first checked against the OpenAPI description itself
 * (emu_oracle_check, oapi_check.c: routing, path, query and form
 * parameters), never with the client's rules.  It is then dispatched by
 * tv_operations (csrc/tv_ops.c): the row whose method and path template
 * fit, with the validated values indexed by the row's parameter set
 * (emu_val), to the row's handler (the generated list, ops_handlers.h):
 * factors.c, resources.c, webhooks.c, push.c, forms.c.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emu.h"
#include "tv_ops.h"
#include "tv_validate.h"

#define MAX_PARAMS 40
#define MAX_SEGS 8

static const char *const method_names[] = {"GET", "POST", "DELETE"};

/* ------------------------------------------------------------ routing */

static int verb_op(const char *verb) {
    static const char *const verbs[] = {"create", "fetch", "list", "update", "delete"};
    for (int i = 0; i < 5; i++)
        if (strcmp(verb, verbs[i]) == 0) return i; /* EMU_OP_CREATE.. in this order */
    return EMU_OP_OTHER;
}

/* Does raw path seg[0..n) fit template `tpl`?  Placeholders ("{X}") are
 * written to ph[] (segment indexes).  1 / 0. */
static int path_fits(const char *tpl, const char **seg, const size_t *len, size_t n, size_t *ph, size_t *nph) {
    const char *t = tpl;
    size_t i = 0;
    *nph = 0;
    while (*t == '/') {
        t++;
        const char *end = strchr(t, '/');
        size_t tl = end ? (size_t)(end - t) : strlen(t);
        if (i >= n) return 0;
        if (tl >= 2 && t[0] == '{' && t[tl - 1] == '}') {
            if (len[i] == 0 || *nph >= TV_MAX_PATH_PARAMS) return 0;
            ph[(*nph)++] = i;
        } else if (tl != len[i] || memcmp(t, seg[i], tl) != 0) {
            return 0;
        }
        i++;
        t += tl;
    }
    return i == n;
}

int emu_call_route(emu_call *c, const char *method, const char *raw_path) {
    const char *seg[MAX_SEGS];
    size_t len[MAX_SEGS], ph[TV_MAX_PATH_PARAMS], nph = 0;
    c->method = method;
    c->raw_path = raw_path;
    c->route = EMU_ROUTE_NONE;
    c->op = EMU_OP_OTHER;
    c->opidx = -1;
    c->row = NULL;
    c->allow[0] = '\0';
    size_t n = emu_path_split(raw_path, strlen(raw_path), seg, len, MAX_SEGS);
    if (n == 0 || n > MAX_SEGS) return 0;
    /* When two templates fit, the one with more literal segments wins, as
     * in the oracle: /v2/Attempts/Summary over /v2/Attempts/{Sid}. */
    unsigned allowed = 0;
    const tv_operation *hit = NULL;
    size_t hit_ph[TV_MAX_PATH_PARAMS], hit_nph = 0, best = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t r = 0; r < tv_noperations; r++) {
            const tv_operation *row = &tv_operations[r];
            if (!path_fits(row->path, seg, len, n, ph, &nph)) continue;
            size_t literals = n - nph;
            if (pass == 0) { /* the most literal template(s) that fit */
                if (literals > best) best = literals;
                continue;
            }
            if (literals != best) continue;
            allowed |= 1u << row->method;
            if (!hit && strcmp(method_names[row->method], method) == 0) {
                hit = row;
                hit_nph = nph;
                memcpy(hit_ph, ph, sizeof ph);
            }
        }
    }
    if (!allowed) return 0;
    if (!hit) {
        c->route = EMU_ROUTE_METHOD;
        for (int m = 0; m < 3; m++)
            if (allowed & (1u << m)) {
                if (c->allow[0]) strcat(c->allow, ", ");
                strcat(c->allow, method_names[m]);
            }
        return 0;
    }
    c->route = EMU_ROUTE_MATCH;
    c->row = hit;
    c->opidx = (int)(hit - tv_operations);
    c->op = verb_op(hit->verb);
    size_t npp = tv_operation_npath(hit);
    for (size_t k = 0; k < hit_nph && k < npp; k++) {
        int rc = emu_pct_decode(seg[hit_ph[k]], len[hit_ph[k]], 0, &c->pv[k], &c->pvlen[k]);
        if (rc == -1) return -1;
        if (rc == -2) {
            c->bad_escape = 1;
            if (!(c->pv[k] = emu_strdup(""))) return -1;
            c->pvlen[k] = 0;
        }
        c->npv = k + 1;
        const char *name = hit->path_params[k].name;
        if (strcmp(name, "service_sid") == 0) c->service_sid = c->pv[k], c->service_len = c->pvlen[k];
        else if (strcmp(name, "identity") == 0) c->identity = c->pv[k], c->identity_len = c->pvlen[k];
        else if (strcmp(name, "sid") == 0) c->sid = c->pv[k], c->sid_len = c->pvlen[k];
    }
    return 0;
}

void emu_call_free(emu_call *c) {
    if (!c) return;
    for (size_t i = 0; i < 4; i++) {
        free(c->pv[i]);
        c->pv[i] = NULL;
    }
    c->npv = 0;
    c->service_sid = c->identity = c->sid = NULL;
    emu_kvlist_free(&c->query);
    emu_kvlist_free(&c->form);
}

/* ---------------------------------------------------------- helpers */

#define param_error emu_param_error

#define oom emu_oom

#define val(x, key) emu_val(x, key)

#define ival emu_ival

/* The handlers' view of the validated parameters: vals[i] is the first pair
 * of set[i] in l (NULL when absent or l is NULL).  The oracle has already
 * refused unknown and repeated keys.  0, or -1 with out set. */
static int row_values(const tv_param_spec *set, const emu_kvlist *l, const emu_kv **vals, emu_response *out) {
    size_t nset = 0;
    while (set[nset].name) nset++;
    if (nset > MAX_PARAMS) {
        emu_response_error(out, 500, 20500, "Internal Server Error (parameter set too large)", NULL);
        return -1;
    }
    for (size_t i = 0; i < nset; i++) vals[i] = NULL;
    for (size_t i = 0; l && i < l->n; i++) {
        const emu_kv *kv = &l->items[i];
        const tv_param_spec *p = strlen(kv->key) == kv->klen ? tv_param_by_key(set, kv->key) : NULL;
        if (p && !vals[p - set]) vals[p - set] = kv;
    }
    return 0;
}

/* An operation of the description the emulator has no row for (yet). */
static void not_implemented(emu_response *out, const char *raw_path, const char *op_id) {
    char msg[600];
    const char *p = raw_path;
    if (strncmp(p, "/v2/", 4) == 0) p += 3;
    snprintf(msg, sizeof msg, "The requested resource %.400s was not found (%.64s: not implemented by the emulator)",
             p, op_id);
    emu_response_error(out, 404, 20404, msg, NULL);
}

static int authenticated(const emu_server *srv, const char *h) {
    if (!h) return 0;
    while (*h == ' ') h++;
    if (strncasecmp(h, "Basic ", 6) != 0) return 0;
    h += 6;
    while (*h == ' ') h++;
    size_t len = strlen(h);
    while (len > 0 && h[len - 1] == ' ') len--;
    if (len == 0 || len % 4 != 0 || len > 2048) return 0;
    unsigned char buf[1540];
    int n = EVP_DecodeBlock(buf, (const unsigned char *)h, (int)len);
    if (n < 0) return 0;
    if (h[len - 1] == '=') n--;
    if (h[len - 2] == '=') n--;
    buf[n] = '\0';
    int ok = 0;
    unsigned char *colon = memchr(buf, ':', (size_t)n);
    if (colon) {
        size_t ulen = (size_t)(colon - buf), plen = (size_t)n - ulen - 1;
        const char *pass = (const char *)colon + 1;
        const char *pairs[2][2] = {{srv->cfg.account_sid, srv->cfg.auth_token},
                                   {srv->cfg.api_key, srv->cfg.api_secret}};
        for (int i = 0; i < 2; i++) {
            const char *u = pairs[i][0], *p = pairs[i][1];
            if (!u || !p || strlen(u) != ulen || strlen(p) != plen) continue;
            if (CRYPTO_memcmp(u, buf, ulen) == 0 && CRYPTO_memcmp(p, pass, plen) == 0) ok = 1;
        }
    }
    OPENSSL_cleanse(buf, sizeof buf);
    return ok;
}

/* ----------------------------------------------------------- entry */

/* Every row's handler, in table order (the list is generated). */
#define EMU_HANDLER_ENTRY(name) emu_h_##name,
static const emu_handler handlers[] = {EMU_OPERATIONS(EMU_HANDLER_ENTRY)};
#undef EMU_HANDLER_ENTRY
_Static_assert(sizeof handlers / sizeof handlers[0] == EMU_NOPERATIONS, "a handler per row");

emu_handler emu_row_handler(const tv_operation *row) {
    size_t i = (size_t)(row - tv_operations);
    return i < tv_noperations && i < EMU_NOPERATIONS ? handlers[i] : NULL;
}

void emu_api_handle(emu_server *srv, const emu_call *c, int commit, const char *next_url, emu_response *out) {
    int device = authenticated(srv, c->authorization) ? 0 : emu_push_authenticate(srv, c, out);
    if (device < 0) return; /* a device credential, rejected (push.c) */
    if (device > 0) {
        emu_response_error(out, 401, 20003, "Authenticate", NULL);
        emu_response_header(out, "WWW-Authenticate", "Basic realm=\"Twilio API\"");
        return;
    }
    if (c->too_big) {
        emu_response_error(out, 413, 20413, "Request body too large", NULL);
        return;
    }
    /* Routing and every parameter against the OpenAPI description itself
     * (oapi_check.c), not with the client's rules: 404, 405 and 400 are
     * answered there. */
    const char *op_id = NULL;
    if (emu_oracle_check(srv->oracle, c, &op_id, out) != 0) return;
    const tv_operation *row = c->route == EMU_ROUTE_MATCH ? c->row : NULL;
    if (!row || strcmp(row->openapi_id, op_id) != 0) {
        not_implemented(out, c->raw_path, op_id);
        return;
    }
    int get = row->method == TV_GET, post = row->method == TV_POST;
    const emu_kv *v[MAX_PARAMS];
    if (row_values(row->params, get ? &c->query : post ? &c->form : NULL, v, out) != 0) return;
    /* Requests on a service removed by DeleteService are 404, whatever they are. */
    const char *svc_sid = c->service_sid ? c->service_sid : strcmp(row->resource, "service") == 0 ? c->sid : NULL;
    pthread_mutex_lock(&srv->lock);
    int gone = emu_service_gone(srv, svc_sid);
    pthread_mutex_unlock(&srv->lock);
    if (gone) {
        emu_not_found(out, c->raw_path);
        return;
    }
    emu_handler h = emu_row_handler(row);
    emu_ctx x = {srv, c, v, commit, next_url};
    h(&x, out);
}
