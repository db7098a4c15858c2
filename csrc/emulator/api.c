/*
 * api.c -- authentication, routing by the operation table, the checks
 * every request goes through, paging, and the Factor operations.
 *
 * Every request is first checked against the OpenAPI description itself
 * (emu_oracle_check, oapi_check.c: routing, path, query and form
 * parameters), never with the client's rules.  It is then dispatched by
 * tv_operations (csrc/tv_ops.c): the row whose method and path template
 * fit, with the validated values indexed by the row's parameter set
 * (emu_val).  TOTP
 * codes, Base32 and otpauth URIs come from tv_totp.  The other resources
 * (entities, challenges, services) are in resources.c.
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
    unsigned allowed = 0;
    const tv_operation *hit = NULL;
    size_t hit_ph[TV_MAX_PATH_PARAMS], hit_nph = 0;
    for (size_t r = 0; r < tv_noperations; r++) {
        const tv_operation *row = &tv_operations[r];
        if (!path_fits(row->path, seg, len, n, ph, &nph)) continue;
        allowed |= 1u << row->method;
        if (!hit && strcmp(method_names[row->method], method) == 0) {
            hit = row;
            hit_nph = nph;
            memcpy(hit_ph, ph, sizeof ph);
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
        const char *name = hit->path_params[k]->name;
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

void emu_param_error(emu_response *out, const char *key, const char *fmt, const char *arg) {
    char why[TV_ERR_MESSAGE_MAX + 64], msg[TV_ERR_MESSAGE_MAX + 160];
    snprintf(why, sizeof why, fmt, arg);
    snprintf(msg, sizeof msg, "Invalid parameter %s: %s", key, why);
    cJSON *details = cJSON_CreateObject();
    if (details && !cJSON_AddStringToObject(details, "parameter", key)) {
        cJSON_Delete(details);
        details = NULL;
    }
    emu_response_error(out, 400, 60200, msg, details);
}
#define param_error emu_param_error

void emu_oom(emu_response *out) {
    emu_response_error(out, 500, 20500, "Internal Server Error (out of memory)", NULL);
}
#define oom emu_oom

void emu_not_found(emu_response *out, const char *raw_path) {
    char msg[512];
    const char *p = raw_path;
    if (strncmp(p, "/v2/", 4) == 0) p += 3;
    snprintf(msg, sizeof msg, "The requested resource %.400s was not found", p);
    emu_response_error(out, 404, 20404, msg, NULL);
}

void emu_note_applied(emu_server *srv, const emu_call *c) {
    srv->applied[c->op]++;
    if (c->opidx >= 0 && c->opidx < EMU_MAX_OPS) srv->op_applied[c->opidx]++;
}

int emu_string_map(const cJSON *j) {
    if (!cJSON_IsObject(j)) return 0;
    for (const cJSON *c = j->child; c; c = c->next)
        if (!cJSON_IsString(c)) return 0;
    return 1;
}

const emu_kv *emu_val(const emu_ctx *x, const char *key) {
    const tv_param_spec *set = x->c->row->params;
    const tv_param_spec *p = tv_param_by_key(set, key);
    return p ? x->v[p - set] : NULL;
}
#define val(x, key) emu_val(x, key)

int emu_ival(const emu_kv *kv, int def) {
    return kv ? (int)strtol(kv->val, NULL, 10) : def;
}
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

/* ------------------------------------------------------------- dates */

static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int emu_parse_date(const char *s, int64_t *out) {
    int y, mo, d, h, mi, se;
    char t = 0;
    /* RFC 3339 allows a lower-case "t" (and "z"), as the oracle does */
    if (sscanf(s, "%4d-%2d-%2d%c%2d:%2d:%2d", &y, &mo, &d, &t, &h, &mi, &se) != 7 || (t != 'T' && t != 't') ||
        strlen(s) < 19)
        return -1;
    const char *p = s + 19;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++) {}
    int64_t off = 0;
    if (*p == '+' || *p == '-') {
        int oh, om;
        if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2) return -1;
        off = (int64_t)(oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
    } else if (*p != 'Z' && *p != 'z') {
        return -1;
    }
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off;
    return 0;
}

/* ------------------------------------------------------------ paging */

/* "PA<hex>" (after seq) or "PB<hex>" (before seq).  0 / -1. */
static int parse_token(const char *s, size_t len, int *before, uint64_t *seq) {
    if (len < 3 || len > 18 || s[0] != 'P' || (s[1] != 'A' && s[1] != 'B')) return -1;
    uint64_t v = 0;
    for (size_t i = 2; i < len; i++) {
        char ch = s[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + (uint64_t)d;
    }
    *before = s[1] == 'B';
    *seq = v;
    return 0;
}

int emu_page_params(const emu_ctx *x, emu_page *pg, int *before, uint64_t *token, emu_response *out) {
    pg->size = ival(val(x, "PageSize"), 50);
    pg->page = ival(val(x, "Page"), 0);
    const emu_kv *tk = val(x, "PageToken");
    pg->token = tk ? tk->val : NULL;
    *before = 0;
    *token = 0;
    if (tk && parse_token(tk->val, tk->vlen, before, token) != 0) {
        param_error(out, "PageToken", "%s", "PageToken is not a page token issued by this server");
        return -1;
    }
    return 0;
}

size_t emu_page_fetch(const emu_seqlist *l, int desc, int before, uint64_t token, size_t n, emu_seqitem *out,
                      emu_page *pg, int (*keep)(const void *p, void *ctx), void *ctx) {
    size_t got;
    pg->prev_kind = 'B';
    pg->next_kind = 'A';
    if (!desc) {
        got = emu_seqlist_page(l, before, token, n, out, &pg->has_prev, &pg->has_next, keep, ctx);
        pg->prev_seq = got ? out[0].seq : token + 1;
        pg->next_seq = got ? out[got - 1].seq : (token ? token - 1 : 0);
        return got;
    }
    /* Descending: the next page holds the highest seqs below the token,
     * the previous one the lowest above it. */
    int ap = 0, an = 0;
    if (!before) got = emu_seqlist_page(l, 1, token ? token : UINT64_MAX, n, out, &ap, &an, keep, ctx);
    else got = emu_seqlist_page(l, 0, token, n, out, &ap, &an, keep, ctx);
    pg->has_prev = an;
    pg->has_next = ap;
    for (size_t a = 0, b = got; a + 1 < b; a++, b--) {
        emu_seqitem t = out[a];
        out[a] = out[b - 1];
        out[b - 1] = t;
    }
    pg->prev_seq = got ? out[0].seq : token;
    pg->next_seq = got ? out[got - 1].seq : token;
    return got;
}

static int add_url(cJSON *meta, const char *name, const emu_page *pg, long page, const char *tok, char kind,
                   uint64_t seq) {
    char buf[1400];
    if (kind)
        snprintf(buf, sizeof buf, "%s?%sPageSize=%ld&Page=%ld&PageToken=P%c%llx", pg->base, pg->extra, pg->size,
                 page, kind, (unsigned long long)seq);
    else if (tok)
        snprintf(buf, sizeof buf, "%s?%sPageSize=%ld&Page=%ld&PageToken=%s", pg->base, pg->extra, pg->size, page,
                 tok);
    else snprintf(buf, sizeof buf, "%s?%sPageSize=%ld&Page=%ld", pg->base, pg->extra, pg->size, page);
    return cJSON_AddStringToObject(meta, name, buf) ? 0 : -1;
}

void emu_page_answer(const emu_ctx *x, const emu_page *pg, cJSON *arr, emu_response *out) {
    cJSON *j = cJSON_CreateObject(), *meta = cJSON_CreateObject();
    if (!j || emu_json_add(j, pg->key, arr) != 0 || emu_json_add(j, "meta", meta) != 0) {
        if (!j) {
            cJSON_Delete(arr);
            cJSON_Delete(meta);
        }
        cJSON_Delete(j);
        oom(out);
        return;
    }
    long page = pg->page;
    int ok = cJSON_AddNumberToObject(meta, "page", (double)page) &&
             cJSON_AddNumberToObject(meta, "page_size", (double)pg->size) &&
             add_url(meta, "first_page_url", pg, 0, NULL, 0, 0) == 0 &&
             (pg->has_prev ? add_url(meta, "previous_page_url", pg, page > 0 ? page - 1 : 0, NULL, pg->prev_kind,
                                     pg->prev_seq) == 0
                           : cJSON_AddNullToObject(meta, "previous_page_url") != NULL) &&
             add_url(meta, "url", pg, page, pg->token, 0, 0) == 0;
    if (ok && x->next_url) ok = cJSON_AddStringToObject(meta, "next_page_url", x->next_url) != NULL;
    else if (ok && pg->has_next) ok = add_url(meta, "next_page_url", pg, page + 1, NULL, pg->next_kind, pg->next_seq) == 0;
    else if (ok) ok = cJSON_AddNullToObject(meta, "next_page_url") != NULL;
    ok = ok && cJSON_AddStringToObject(meta, "key", pg->key);
    if (!ok) {
        cJSON_Delete(j);
        oom(out);
        return;
    }
    emu_response_json(out, 200, j);
}

/* ----------------------------------------------------------- factors */

/* Factor at the call's path (lock held); NULL when it or its entity is unknown. */
static emu_factor *find_factor(emu_server *srv, const emu_call *c) {
    emu_factor *f = emu_store_factor(&srv->store, c->sid);
    if (!f || strcmp(f->entity->service_sid, c->service_sid) != 0 ||
        strcmp(f->entity->identity, c->identity) != 0)
        return NULL;
    return f;
}

/* Was the call's service deleted by DeleteService?  (lock held) */
static int service_gone(emu_server *srv, const char *sid) {
    const emu_service *svc = sid ? emu_store_service(&srv->store, sid) : NULL;
    return svc && svc->deleted;
}

static const char *const push_keys[] = {"Binding.Alg", "Binding.PublicKey", "Config.AppId",
                                        "Config.NotificationPlatform", "Config.NotificationToken",
                                        "Config.SdkVersion", NULL};
static const char *const totp_keys[] = {"Binding.Secret", "Config.TimeStep", "Config.Skew",
                                        "Config.CodeLength", "Config.Alg", NULL};
static const char *const push_update_keys[] = {"Config.NotificationToken", "Config.SdkVersion",
                                               "Config.NotificationPlatform", NULL};

static int forbid(const emu_ctx *x, const char *const *keys, const char *type, emu_response *out) {
    for (; *keys; keys++)
        if (val(x, *keys)) {
            char why[128];
            snprintf(why, sizeof why, "%s is not valid for a %s factor", *keys, type);
            param_error(out, *keys, "%s", why);
            return -1;
        }
    return 0;
}

static int require(const emu_ctx *x, const char *key, const char *type, emu_response *out) {
    if (val(x, key)) return 0;
    char why[128];
    snprintf(why, sizeof why, "%s is required for a %s factor", key, type);
    param_error(out, key, "%s", why);
    return -1;
}

static char *kvdup(const emu_kv *kv) {
    return emu_strndup(kv->val, kv->vlen);
}

/* Parse a Metadata-like value: a JSON object whose values are strings.
 * *out NULL when kv is NULL.  0, or -1 with out set. */
int emu_string_map_param(const emu_kv *kv, const char *key, cJSON **res, emu_response *out) {
    *res = NULL;
    if (!kv) return 0;
    cJSON *j = cJSON_ParseWithLength(kv->val, kv->vlen);
    if (!j) {
        oom(out); /* the oracle accepted it as a JSON object (its description says so) */
        return -1;
    }
    if (!emu_string_map(j)) {
        cJSON_Delete(j);
        char why[96];
        snprintf(why, sizeof why, "%s values must be strings", key);
        param_error(out, key, "%s", why);
        return -1;
    }
    *res = j;
    return 0;
}

/* Build the push part of a new factor; binding out.  0, -1 (out set). */
static int create_push(const emu_ctx *x, emu_factor *f, cJSON **binding, emu_response *out) {
    if (require(x, "Binding.PublicKey", "push", out) || require(x, "Binding.Alg", "push", out) ||
        require(x, "Config.AppId", "push", out) || require(x, "Config.NotificationPlatform", "push", out) ||
        require(x, "Config.SdkVersion", "push", out))
        return -1;
    const emu_kv *alg = val(x, "Binding.Alg"), *plat = val(x, "Config.NotificationPlatform");
    if (strcmp(alg->val, "ES256") != 0) {
        param_error(out, "Binding.Alg", "%s", "Binding.Alg must be ES256");
        return -1;
    }
    if (strcmp(plat->val, "none") != 0 && require(x, "Config.NotificationToken", "push", out)) return -1;
    if (emu_push_check_key(val(x, "Binding.PublicKey"), out) != 0) return -1;
    const emu_kv *tok = val(x, "Config.NotificationToken");
    f->app_id = kvdup(val(x, "Config.AppId"));
    f->platform = kvdup(plat);
    f->sdk_version = kvdup(val(x, "Config.SdkVersion"));
    f->public_key = kvdup(val(x, "Binding.PublicKey"));
    f->token = tok ? kvdup(tok) : NULL;
    *binding = cJSON_CreateObject();
    if (!f->app_id || !f->platform || !f->sdk_version || !f->public_key || (tok && !f->token) || !*binding ||
        !cJSON_AddStringToObject(*binding, "alg", alg->val) ||
        !cJSON_AddStringToObject(*binding, "public_key", f->public_key)) {
        oom(out);
        return -1;
    }
    return 0;
}

/* The service settings TOTP factors default to (lock NOT held: copies). */
typedef struct totp_defaults {
    int step, digits, skew;
    char issuer[256];
} totp_defaults;

static void service_totp_defaults(emu_server *srv, const char *service_sid, totp_defaults *d) {
    d->step = 30;
    d->digits = 6;
    d->skew = 1;
    snprintf(d->issuer, sizeof d->issuer, "%s", EMU_ISSUER);
    pthread_mutex_lock(&srv->lock);
    const emu_service *svc = emu_store_service(&srv->store, service_sid);
    if (svc && svc->created) {
        const char *v;
        if ((v = emu_service_val(svc, "Totp.TimeStep"))) d->step = (int)strtol(v, NULL, 10);
        if ((v = emu_service_val(svc, "Totp.CodeLength"))) d->digits = (int)strtol(v, NULL, 10);
        if ((v = emu_service_val(svc, "Totp.Skew"))) d->skew = (int)strtol(v, NULL, 10);
        if ((v = emu_service_val(svc, "Totp.Issuer")) || (v = emu_service_val(svc, "FriendlyName")))
            snprintf(d->issuer, sizeof d->issuer, "%s", v);
    }
    pthread_mutex_unlock(&srv->lock);
}

/* Build the TOTP part of a new factor; binding out.  0, -1 (out set). */
static int create_totp(const emu_ctx *x, emu_factor *f, cJSON **binding, emu_response *out) {
    tv_error err = TV_ERROR_INIT;
    const emu_kv *secret = val(x, "Binding.Secret"), *alg = val(x, "Config.Alg");
    totp_defaults d;
    service_totp_defaults(x->srv, x->c->service_sid, &d);
    f->step = ival(val(x, "Config.TimeStep"), d.step);
    f->skew = ival(val(x, "Config.Skew"), d.skew);
    f->digits = ival(val(x, "Config.CodeLength"), d.digits);
    if (alg && tv_totp_alg_parse(alg->val, alg->vlen, &f->alg, &err) != 0) {
        param_error(out, "Config.Alg", "%s", err.message);
        tv_error_clear(&err);
        return -1;
    }
    if (secret) {
        if (tv_base32_decode(secret->val, secret->vlen, &f->secret, &f->secret_len, &err) != 0) {
            if (err.kind == TV_ENOMEM) oom(out);
            else param_error(out, "Binding.Secret", "%s", err.message);
            tv_error_clear(&err);
            return -1;
        }
    } else {
        f->secret_len = 20;
        if (!(f->secret = malloc(f->secret_len))) {
            oom(out);
            return -1;
        }
        if (RAND_bytes(f->secret, (int)f->secret_len) != 1) {
            emu_response_error(out, 500, 20500, "Internal Server Error (RAND_bytes failed)", NULL);
            return -1;
        }
    }
    char *b32 = tv_base32_encode(f->secret, f->secret_len);
    if (!b32) {
        oom(out);
        return -1;
    }
    tv_otpauth u = {d.issuer, f->friendly_name, b32, f->alg, f->digits, f->step};
    char *uri = tv_otpauth_build(&u, &err);
    int rc = 0;
    *binding = cJSON_CreateObject();
    if (!uri) {
        if (err.kind == TV_ENOMEM) oom(out);
        else param_error(out, "FriendlyName", "%s", err.message);
        rc = -1;
    } else if (!*binding || !cJSON_AddStringToObject(*binding, "secret", b32) ||
               !cJSON_AddStringToObject(*binding, "uri", uri)) {
        oom(out);
        rc = -1;
    }
    tv_error_clear(&err);
    OPENSSL_cleanse(b32, strlen(b32));
    free(b32);
    if (uri) {
        OPENSSL_cleanse(uri, strlen(uri));
        free(uri);
    }
    return rc;
}

static void create_factor(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    const emu_call *c = x->c;
    int type = strcmp(val(x, "FactorType")->val, "totp") == 0 ? EMU_TOTP : EMU_PUSH;
    if (forbid(x, type == EMU_TOTP ? push_keys : totp_keys, type == EMU_TOTP ? "totp" : "push", out)) return;

    cJSON *binding = NULL;
    char *bkey = NULL;
    emu_factor *f = emu_factor_new();
    if (!f || !(f->friendly_name = kvdup(val(x, "FriendlyName")))) {
        oom(out);
        goto done;
    }
    f->type = type;
    if (emu_string_map_param(val(x, "Metadata"), "Metadata", &f->metadata, out) != 0) goto done;
    if ((type == EMU_PUSH ? create_push : create_totp)(x, f, &binding, out) != 0) goto done;

    pthread_mutex_lock(&srv->lock);
    if (service_gone(srv, c->service_sid)) {
        pthread_mutex_unlock(&srv->lock);
        emu_not_found(out, c->raw_path);
        goto done;
    }
    int64_t now = emu_now(srv);
    emu_entity tmp, *e = emu_store_entity(&srv->store, c->service_sid, c->identity);
    if (!e && x->commit) e = emu_store_entity_get_or_create(&srv->store, c->service_sid, c->identity, now);
    if (!e && !x->commit) {
        memset(&tmp, 0, sizeof tmp);
        snprintf(tmp.service_sid, sizeof tmp.service_sid, "%s", c->service_sid);
        snprintf(tmp.identity, sizeof tmp.identity, "%s", c->identity);
        emu_entity_sid(c->service_sid, c->identity, tmp.sid);
        e = &tmp;
    }
    if (!e || !(bkey = emu_binding_key(e, f))) {
        pthread_mutex_unlock(&srv->lock);
        oom(out);
        goto done;
    }
    /* 60317: the binding of a verified factor of this entity (bindings are
     * registered when a factor is verified, see update_factor). */
    if (emu_map_get(&srv->store.bindings, bkey)) {
        pthread_mutex_unlock(&srv->lock);
        emu_response_error(out, 409, 60317,
                           type == EMU_PUSH ? "A factor with this Binding.PublicKey already exists for this entity"
                                            : "A factor with this Binding.Secret already exists for this entity",
                           NULL);
        goto done;
    }
    if (!srv->cfg.no_limits) {
        if (type == EMU_PUSH ? e->n_push >= EMU_MAX_PUSH : e->n_totp >= EMU_MAX_TOTP) {
            pthread_mutex_unlock(&srv->lock);
            char msg[160];
            snprintf(msg, sizeof msg, "Maximum number of %s factors (%d) reached for this entity",
                     type == EMU_PUSH ? "push" : "totp", type == EMU_PUSH ? EMU_MAX_PUSH : EMU_MAX_TOTP);
            emu_response_error(out, 400, 60315, msg, NULL);
            goto done;
        }
        if (!emu_entity_create_allowed(e, now)) {
            pthread_mutex_unlock(&srv->lock);
            char msg[160];
            snprintf(msg, sizeof msg, "Too many factors created for this entity: at most %d a day",
                     EMU_DAILY_CREATES);
            emu_response_error(out, 429, 60326, msg, NULL);
            goto done;
        }
    }
    f->created = f->updated = now;
    cJSON *j = NULL;
    if (x->commit) {
        if (emu_store_insert(&srv->store, e, f) != 0) {
            pthread_mutex_unlock(&srv->lock);
            oom(out);
            goto done;
        }
        emu_factor *mine = f;
        f = NULL; /* owned by the store now */
        emu_entity_note_create(e, now);
        emu_note_applied(srv, c);
        emu_webhook_factor_event(srv, "factor.created", mine);
        j = emu_render_factor(mine, srv->cfg.account_sid, c->host, binding);
    } else {
        f->entity = e;
        if (emu_random_sid("YF", f->sid, 16) == 0)
            j = emu_render_factor(f, srv->cfg.account_sid, c->host, binding);
        else
            cJSON_Delete(binding);
    }
    binding = NULL;
    pthread_mutex_unlock(&srv->lock);
    emu_response_json(out, 201, j);
done:
    if (bkey) {
        OPENSSL_cleanse(bkey, strlen(bkey));
        free(bkey);
    }
    cJSON_Delete(binding);
    emu_factor_free(f);
}

static void fetch_factor(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    pthread_mutex_lock(&srv->lock);
    emu_factor *f = find_factor(srv, x->c);
    cJSON *j = f ? emu_render_factor(f, srv->cfg.account_sid, x->c->host, NULL) : NULL;
    pthread_mutex_unlock(&srv->lock);
    if (!f) emu_not_found(out, x->c->raw_path);
    else emu_response_json(out, 200, j);
}

static void delete_factor(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    pthread_mutex_lock(&srv->lock);
    emu_factor *f = find_factor(srv, x->c);
    if (f && x->commit) {
        emu_webhook_factor_event(srv, "factor.deleted", f);
        emu_store_delete(&srv->store, f);
        emu_note_applied(srv, x->c);
    }
    pthread_mutex_unlock(&srv->lock);
    if (!f) {
        emu_not_found(out, x->c->raw_path);
        return;
    }
    out->status = 204;
    out->content_type = NULL;
}

static void update_factor(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    const emu_call *c = x->c;
    const emu_kv *payload = val(x, "AuthPayload"), *fn = val(x, "FriendlyName");
    const emu_kv *tok = val(x, "Config.NotificationToken"), *sdk = val(x, "Config.SdkVersion");
    const emu_kv *plat = val(x, "Config.NotificationPlatform"), *alg = val(x, "Config.Alg");
    char *new_fn = fn ? kvdup(fn) : NULL, *new_tok = tok ? kvdup(tok) : NULL;
    char *new_sdk = sdk ? kvdup(sdk) : NULL, *new_plat = plat ? kvdup(plat) : NULL;
    if ((fn && !new_fn) || (tok && !new_tok) || (sdk && !new_sdk) || (plat && !new_plat)) {
        oom(out);
        goto done;
    }
    tv_totp_alg new_alg = TV_TOTP_SHA1;
    tv_error err = TV_ERROR_INIT;
    if (alg && tv_totp_alg_parse(alg->val, alg->vlen, &new_alg, &err) != 0) {
        param_error(out, "Config.Alg", "%s", err.message);
        tv_error_clear(&err);
        goto done;
    }

    pthread_mutex_lock(&srv->lock);
    emu_factor *f = find_factor(srv, c);
    if (!f) {
        pthread_mutex_unlock(&srv->lock);
        emu_not_found(out, c->raw_path);
        goto done;
    }
    if (forbid(x, f->type == EMU_TOTP ? push_update_keys : totp_keys, f->type == EMU_TOTP ? "totp" : "push",
               out)) {
        pthread_mutex_unlock(&srv->lock);
        goto done;
    }
    int64_t now = emu_now(srv);
    int locked = f->failures >= EMU_MAX_FAILURES && now < f->locked_until;
    if (payload && locked) {
        int64_t wait = f->locked_until - now;
        pthread_mutex_unlock(&srv->lock);
        cJSON *d = cJSON_CreateObject();
        if (d && !cJSON_AddNumberToObject(d, "retry_after_seconds", (double)wait)) {
            cJSON_Delete(d);
            d = NULL;
        }
        emu_response_error(out, 429, 60310, "Factor verification attempts reached", d);
        goto done;
    }
    int match = -1; /* -1: no AuthPayload */
    if (payload && f->type == EMU_TOTP) {
        int off = 0;
        match = tv_totp_check(f->secret, f->secret_len, f->alg, now, f->step, f->digits, f->skew, payload->val,
                              payload->vlen, &off, &err) == 1;
        tv_error_clear(&err);
    } else if (payload) {
        match = emu_push_verify_factor(f, payload); /* signature of the factor sid (push.c) */
        if (!match) {
            pthread_mutex_unlock(&srv->lock);
            emu_response_error(out, 403, 60311, "Factor verification failed: the AuthPayload signature is invalid",
                               NULL);
            goto done;
        }
    }

    emu_factor tmp = *f; /* the factor as it will be: rendered, then committed */
    if (new_fn) tmp.friendly_name = new_fn;
    if (new_tok) tmp.token = new_tok;
    if (new_sdk) tmp.sdk_version = new_sdk;
    if (new_plat) tmp.platform = new_plat;
    if (alg) tmp.alg = new_alg;
    tmp.step = ival(val(x, "Config.TimeStep"), f->step);
    tmp.skew = ival(val(x, "Config.Skew"), f->skew);
    tmp.digits = ival(val(x, "Config.CodeLength"), f->digits);
    if (match == 1) tmp.verified = 1;
    tmp.updated = now;
    cJSON *j = emu_render_factor(&tmp, srv->cfg.account_sid, c->host, NULL);
    if (x->commit && j) {
        if (tmp.verified && !f->verified) emu_webhook_factor_event(srv, "factor.verified", &tmp);
        if (new_fn) { free(f->friendly_name); f->friendly_name = new_fn; new_fn = NULL; }
        if (new_sdk) { free(f->sdk_version); f->sdk_version = new_sdk; new_sdk = NULL; }
        if (new_plat) { free(f->platform); f->platform = new_plat; new_plat = NULL; }
        if (new_tok) {
            if (f->token) {
                OPENSSL_cleanse(f->token, strlen(f->token));
                free(f->token);
            }
            f->token = new_tok;
            new_tok = NULL;
        }
        f->alg = tmp.alg;
        f->step = tmp.step;
        f->skew = tmp.skew;
        f->digits = tmp.digits;
        f->verified = tmp.verified;
        f->updated = now;
        if (f->verified && !f->bind_key) {
            /* register the binding for the 60317 check; a verified twin
             * already registered keeps it (best effort on OOM) */
            char *k = emu_binding_key(f->entity, f);
            if (k && !emu_map_get(&srv->store.bindings, k)) (void)emu_store_bind(&srv->store, f, k);
            else if (k) {
                OPENSSL_cleanse(k, strlen(k));
                free(k);
            }
        }
        if (match == 1) {
            f->failures = 0;
        } else if (match == 0) {
            if (f->failures >= EMU_MAX_FAILURES) f->failures = 0; /* lockout expired */
            if (++f->failures >= EMU_MAX_FAILURES) f->locked_until = now + EMU_LOCKOUT_SECONDS;
        }
        emu_note_applied(srv, c);
    }
    pthread_mutex_unlock(&srv->lock);
    emu_response_json(out, 200, j);
done:
    free(new_fn);
    free(new_sdk);
    free(new_plat);
    if (new_tok) {
        OPENSSL_cleanse(new_tok, strlen(new_tok));
        free(new_tok);
    }
}

static void list_factor(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    const emu_call *c = x->c;
    emu_page pg = {.key = "factors"};
    int before;
    uint64_t token;
    if (emu_page_params(x, &pg, &before, &token, out) != 0) return;
    snprintf(pg.base, sizeof pg.base, "http://%s/v2/Services/%s/Entities/%s/Factors", c->host, c->service_sid,
             c->identity);
    emu_seqitem *items = malloc((size_t)pg.size * sizeof *items);
    cJSON *arr = cJSON_CreateArray();
    if (!items || !arr) {
        free(items);
        cJSON_Delete(arr);
        oom(out);
        return;
    }
    pthread_mutex_lock(&srv->lock);
    /* An entity without factors (or never created) lists as empty, not 404. */
    emu_entity *e = emu_store_entity(&srv->store, c->service_sid, c->identity);
    size_t got = e ? emu_page_fetch(&e->factors, 0, before, token, (size_t)pg.size, items, &pg, NULL, NULL) : 0;
    int ok = 1;
    for (size_t i = 0; i < got && ok; i++)
        ok = emu_json_add(arr, NULL, emu_render_factor(items[i].p, srv->cfg.account_sid, c->host, NULL)) == 0;
    pthread_mutex_unlock(&srv->lock);
    free(items);
    if (!ok) {
        cJSON_Delete(arr);
        oom(out);
        return;
    }
    emu_page_answer(x, &pg, arr, out);
}

/* ----------------------------------------------------------- entry */

static const struct {
    const char *name;
    emu_handler fn;
} handlers[] = {
    {"create_factor", create_factor},
    {"fetch_factor", fetch_factor},
    {"update_factor", update_factor},
    {"delete_factor", delete_factor},
    {"list_factor", list_factor},
    {"create_entity", emu_h_create_entity},
    {"fetch_entity", emu_h_fetch_entity},
    {"list_entity", emu_h_list_entity},
    {"delete_entity", emu_h_delete_entity},
    {"create_challenge", emu_h_create_challenge},
    {"fetch_challenge", emu_h_fetch_challenge},
    {"list_challenge", emu_h_list_challenge},
    {"update_challenge", emu_h_update_challenge},
    {"create_service", emu_h_create_service},
    {"fetch_service", emu_h_fetch_service},
    {"list_service", emu_h_list_service},
    {"update_service", emu_h_update_service},
    {"delete_service", emu_h_delete_service},
    {"create_webhook", emu_h_create_webhook},
    {"fetch_webhook", emu_h_fetch_webhook},
    {"list_webhook", emu_h_list_webhook},
    {"update_webhook", emu_h_update_webhook},
    {"delete_webhook", emu_h_delete_webhook},
    {"create_notification", emu_h_create_notification},
    {"create_access_token", emu_h_create_access_token},
    {"fetch_access_token", emu_h_fetch_access_token},
};

emu_handler emu_resource_handler(const char *name) {
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
        if (strcmp(handlers[i].name, name) == 0) return handlers[i].fn;
    return NULL;
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
    int gone = service_gone(srv, svc_sid);
    pthread_mutex_unlock(&srv->lock);
    if (gone) {
        emu_not_found(out, c->raw_path);
        return;
    }
    emu_handler h = emu_resource_handler(row->name);
    if (!h) {
        emu_not_found(out, c->raw_path);
        return;
    }
    emu_ctx x = {srv, c, v, commit, next_url};
    h(&x, out);
}
