/*
 * messaging.c -- what decides how a code is sent: a service's Messaging
 * Configurations (the Messaging Service of a country's SMS, 60213 when the
 * country has one), the account's SafeList (numbers Fraud Guard never
 * blocks; 30 requests a minute, "Safe List" page) and its message
 * Templates (the constant list of template.c).  Sources: doc/emulator.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emu.h"
#include "tv_ops.h"

/* ------------------------------------------------ messaging configurations */

static cJSON *render_msgcfg(const void *p, const emu_server *srv, const char *host, int64_t now) {
    (void)now;
    const emu_msgcfg *m = p;
    char url[300], created[21], updated[21];
    const char *vals[] = {m->service_sid, m->country};
    if (emu_row_url(url, sizeof url, host, "fetch_messaging_configuration", vals) != 0) return NULL;
    emu_iso8601(m->created, created);
    emu_iso8601(m->updated, updated);
    cJSON *j = cJSON_CreateObject();
    int ok = j && cJSON_AddStringToObject(j, "account_sid", srv->cfg.account_sid) &&
             cJSON_AddStringToObject(j, "service_sid", m->service_sid) && cJSON_AddStringToObject(j, "country", m->country) &&
             cJSON_AddStringToObject(j, "messaging_service_sid", m->messaging_service_sid) &&
             cJSON_AddStringToObject(j, "date_created", created) && cJSON_AddStringToObject(j, "date_updated", updated) &&
             cJSON_AddStringToObject(j, "url", url);
    if (!ok) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

static void cfg_key(const char *svc, const char *country, char *out, size_t n) { snprintf(out, n, "%s/%s", svc, country); }

static const char *country_of(const emu_call *c) { return c->npv >= 2 ? c->pv[1] : ""; }

static emu_msgcfg *find_cfg(emu_server *srv, const emu_call *c) {
    if (!emu_live_service(srv, c->service_sid)) return NULL;
    char key[64];
    cfg_key(c->service_sid, country_of(c), key, sizeof key);
    return emu_map_get(&srv->store.otp.msgcfgs, key);
}

void emu_h_create_messaging_configuration(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    const emu_call *c = x->c;
    const emu_kv *cc = emu_val(x, "Country"), *mg = emu_val(x, "MessagingServiceSid");
    emu_msgcfg *m = calloc(1, sizeof *m);
    if (!m) {
        emu_oom(out);
        return;
    }
    snprintf(m->service_sid, sizeof m->service_sid, "%s", c->service_sid);
    snprintf(m->country, sizeof m->country, "%s", cc->val);
    snprintf(m->messaging_service_sid, sizeof m->messaging_service_sid, "%s", mg->val);
    char key[64];
    cfg_key(m->service_sid, m->country, key, sizeof key);
    cJSON *j = NULL;
    pthread_mutex_lock(&srv->lock);
    emu_otp *o = &srv->store.otp;
    m->created = m->updated = emu_now(srv);
    if (!emu_live_service(srv, c->service_sid)) {
        emu_not_found(out, c->raw_path);
    } else if (emu_map_get(&o->msgcfgs, key)) {
        emu_response_error(out, 400, 60213, "A Messaging Configuration already exists for the given country", NULL);
    } else if (!(j = render_msgcfg(m, srv, c->host, 0))) {
        emu_oom(out);
    } else if (x->commit) {
        m->seq = srv->store.next_seq;
        if (emu_map_put(&o->msgcfgs, key, m) != 0) {
            cJSON_Delete(j);
            j = NULL;
            emu_oom(out);
        } else if (emu_seqlist_push(&o->msgcfg_list, m->seq, m) != 0) {
            emu_map_remove(&o->msgcfgs, key);
            cJSON_Delete(j);
            j = NULL;
            emu_oom(out);
        } else {
            srv->store.next_seq++;
            m = NULL;
            emu_note_applied(srv, c);
        }
    }
    pthread_mutex_unlock(&srv->lock);
    free(m);
    if (j) emu_response_json(out, 201, j);
}

void emu_h_fetch_messaging_configuration(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    pthread_mutex_lock(&srv->lock);
    emu_msgcfg *m = find_cfg(srv, x->c);
    cJSON *j = m ? render_msgcfg(m, srv, x->c->host, 0) : NULL;
    pthread_mutex_unlock(&srv->lock);
    emu_answer(x, out, m != NULL, 200, j);
}

static int keep_service_cfg(const void *p, void *ctx) { return strcmp(((const emu_msgcfg *)p)->service_sid, ctx) == 0; }

static const emu_seqlist *cfgs_all(emu_server *srv, const emu_call *c, const void *arg) {
    (void)arg;
    (void)c;
    return &srv->store.otp.msgcfg_list;
}

void emu_h_list_messaging_configuration(const emu_ctx *x, emu_response *out) {
    emu_page pg;
    memset(&pg, 0, sizeof pg);
    emu_list_page(x, &pg, cfgs_all, NULL, keep_service_cfg, (void *)x->c->service_sid, render_msgcfg, out);
}

void emu_h_update_messaging_configuration(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    const emu_kv *mg = emu_val(x, "MessagingServiceSid");
    pthread_mutex_lock(&srv->lock);
    emu_msgcfg *m = find_cfg(srv, x->c);
    cJSON *j = NULL;
    if (m) {
        emu_msgcfg tmp = *m;
        snprintf(tmp.messaging_service_sid, sizeof tmp.messaging_service_sid, "%s", mg->val);
        tmp.updated = emu_now(srv);
        j = render_msgcfg(&tmp, srv, x->c->host, 0);
        if (j && x->commit) {
            *m = tmp;
            emu_note_applied(srv, x->c);
        }
    }
    pthread_mutex_unlock(&srv->lock);
    emu_answer(x, out, m != NULL, 200, j);
}

void emu_h_delete_messaging_configuration(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    pthread_mutex_lock(&srv->lock);
    emu_msgcfg *m = find_cfg(srv, x->c);
    if (m && x->commit) {
        emu_otp_msgcfg_delete(&srv->store.otp, m);
        emu_note_applied(srv, x->c);
    }
    pthread_mutex_unlock(&srv->lock);
    if (!m) {
        emu_not_found(out, x->c->raw_path);
        return;
    }
    out->status = 204;
    out->content_type = NULL;
}

/* ------------------------------------------------------------- SafeList */

static cJSON *render_safe(const emu_safe *e, const char *host) {
    char url[200];
    const char *vals[] = {e->phone};
    if (emu_row_url(url, sizeof url, host, "fetch_safelist", vals) != 0) return NULL;
    cJSON *j = cJSON_CreateObject();
    if (!j || !cJSON_AddStringToObject(j, "sid", e->sid) || !cJSON_AddStringToObject(j, "phone_number", e->phone) ||
        !cJSON_AddStringToObject(j, "url", url)) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

/* The SafeList API's own rate limit ("Safe List": "a built-in rate limit of
 * 30 requests per minute ... HTTP 429"), unless --no-limits (lock held).
 * 0, or -1 with out set. */
static int safelist_rate(emu_server *srv, emu_response *out) {
    if (srv->cfg.no_limits || emu_otp_safelist_allow(&srv->store.otp, emu_now(srv))) return 0;
    emu_response_error(out, 429, 20429, "Too many requests: the SafeList API takes 30 requests a minute", NULL);
    return -1;
}

void emu_h_create_safelist(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    const emu_kv *ph = emu_val(x, "PhoneNumber");
    emu_safe *e = calloc(1, sizeof *e);
    if (!e || emu_random_sid("GN", e->sid, 16) != 0 || !(e->phone = emu_kvdup(ph))) {
        if (e) free(e->phone);
        free(e);
        emu_oom(out);
        return;
    }
    cJSON *j = NULL;
    pthread_mutex_lock(&srv->lock);
    emu_otp *o = &srv->store.otp;
    const emu_safe *have = emu_map_get(&o->safelist, e->phone);
    if (safelist_rate(srv, out) != 0) {
        /* out set */
    } else if (have) { /* https://www.twilio.com/docs/verify/api/safe-list: "HTTP 400 with Error Code 60411" */
        emu_response_error(out, 400, 60411, "The phone number is already in the Safe List", NULL);
    } else if (!(j = render_safe(e, x->c->host))) {
        emu_oom(out);
    } else if (x->commit) {
        if (emu_map_put(&o->safelist, e->phone, e) != 0) {
            cJSON_Delete(j);
            j = NULL;
            emu_oom(out);
        } else {
            e = NULL;
            emu_note_applied(srv, x->c);
        }
    }
    pthread_mutex_unlock(&srv->lock);
    if (e) free(e->phone);
    free(e);
    if (j) emu_response_json(out, 201, j);
}

static const char *phone_of(const emu_call *c) { return c->npv >= 1 ? c->pv[0] : ""; }

void emu_h_fetch_safelist(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    pthread_mutex_lock(&srv->lock);
    if (safelist_rate(srv, out) != 0) {
        pthread_mutex_unlock(&srv->lock);
        return;
    }
    const emu_safe *e = emu_map_get(&srv->store.otp.safelist, phone_of(x->c));
    cJSON *j = e ? render_safe(e, x->c->host) : NULL;
    pthread_mutex_unlock(&srv->lock);
    emu_answer(x, out, e != NULL, 200, j);
}

void emu_h_delete_safelist(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    pthread_mutex_lock(&srv->lock);
    if (safelist_rate(srv, out) != 0) {
        pthread_mutex_unlock(&srv->lock);
        return;
    }
    emu_otp *o = &srv->store.otp;
    emu_safe *e = emu_map_get(&o->safelist, phone_of(x->c));
    if (e && x->commit) {
        emu_map_remove(&o->safelist, e->phone);
        free(e->phone);
        free(e);
        emu_note_applied(srv, x->c);
    }
    pthread_mutex_unlock(&srv->lock);
    if (!e) {
        emu_not_found(out, x->c->raw_path);
        return;
    }
    out->status = 204;
    out->content_type = NULL;
}

/* ------------------------------------------------------------ Templates */

static cJSON *render_template(const void *p, const emu_server *srv, const char *host, int64_t now) {
    (void)host;
    (void)now;
    const emu_template *t = p;
    cJSON *j = cJSON_CreateObject(), *ch = NULL, *tr = NULL;
    int ok = j && cJSON_AddStringToObject(j, "sid", t->sid) && cJSON_AddStringToObject(j, "account_sid", srv->cfg.account_sid) &&
             cJSON_AddStringToObject(j, "friendly_name", t->friendly_name) && (ch = cJSON_AddArrayToObject(j, "channels")) &&
             (tr = cJSON_AddObjectToObject(j, "translations"));
    for (const char *const *c = t->channels; ok && *c; c++) ok = emu_json_add(ch, NULL, cJSON_CreateString(*c)) == 0;
    for (const emu_template_tr *x = t->translations; ok && x->locale; x++) {
        cJSON *o = cJSON_AddObjectToObject(tr, x->locale);
        ok = o && cJSON_AddBoolToObject(o, "is_default_translation", x == t->translations) &&
             cJSON_AddStringToObject(o, "status", "approved") && cJSON_AddStringToObject(o, "locale", x->locale) &&
             cJSON_AddStringToObject(o, "text", x->text) &&
             cJSON_AddStringToObject(o, "date_updated", "2021-07-29T20:38:28Z") &&
             cJSON_AddStringToObject(o, "date_created", "2021-07-29T20:38:28Z");
    }
    if (!ok) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

/* The templates as a list in sid order (seq = index + 1), made per request
 * on its stack: they are constant. */
typedef struct tpl_list {
    emu_seqlist l;
    emu_seqitem items[16];
} tpl_list;

static int keep_name(const void *p, void *ctx) {
    const char *name = ctx;
    return !name || strcmp(((const emu_template *)p)->friendly_name, name) == 0;
}

static const emu_seqlist *templates_all(emu_server *srv, const emu_call *c, const void *arg) {
    (void)srv;
    (void)c;
    return &((const tpl_list *)arg)->l;
}

void emu_h_list_verification_template(const emu_ctx *x, emu_response *out) {
    tpl_list t;
    memset(&t, 0, sizeof t);
    for (size_t i = 0; i < emu_ntemplates && i < 16; i++) {
        t.items[i].seq = i + 1;
        t.items[i].p = (void *)&emu_templates[i];
    }
    t.l.items = t.items;
    t.l.n = t.l.live = t.l.cap = emu_ntemplates < 16 ? emu_ntemplates : 16;
    const emu_kv *fn = emu_val(x, "FriendlyName");
    emu_page pg;
    memset(&pg, 0, sizeof pg);
    emu_page_filter(&pg, "FriendlyName", fn);
    emu_list_page(x, &pg, templates_all, &t, keep_name, fn ? (void *)fn->val : NULL, render_template, out);
}
