/*
 * webhooks.c -- the Webhook resources of a service (CreateWebhook ...
 * DeleteWebhook, stored per service under the server lock like every other
 * resource), and push Notifications (CreateNotification).  Their delivery
 * is hooks.c's.  Sources: doc/emulator.md, "Webhooks" and "Notifications".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "hooks.h"
#include "tv_ops.h"

/* ------------------------------------------------------------ resources */

static cJSON *render_hook(const emu_webhook *w, const char *account_sid, const char *host) {
    char url[700], created[21], updated[21];
    const char *vals[] = {w->service_sid, w->sid};
    if (emu_row_url(url, sizeof url, host, "fetch_webhook", vals) != 0) return NULL;
    emu_iso8601(w->created, created);
    emu_iso8601(w->updated, updated);
    cJSON *j = cJSON_CreateObject(), *ev = cJSON_CreateArray();
    int ok = j && ev && cJSON_AddStringToObject(j, "url", url) && cJSON_AddStringToObject(j, "sid", w->sid) &&
             cJSON_AddStringToObject(j, "account_sid", account_sid) &&
             cJSON_AddStringToObject(j, "service_sid", w->service_sid) &&
             cJSON_AddStringToObject(j, "friendly_name", w->friendly_name);
    for (size_t i = 0; ok && i < w->nevents; i++) ok = emu_json_add(ev, NULL, cJSON_CreateString(w->events[i])) == 0;
    if (ok) {
        ok = emu_json_add(j, "event_types", ev) == 0;
        ev = NULL;
    }
    ok = ok && cJSON_AddStringToObject(j, "webhook_method", "POST") &&
         cJSON_AddStringToObject(j, "webhook_url", w->url) &&
         cJSON_AddStringToObject(j, "status", w->enabled ? "enabled" : "disabled") &&
         cJSON_AddStringToObject(j, "version", w->v1 ? "v1" : "v2") &&
         cJSON_AddStringToObject(j, "date_created", created) && cJSON_AddStringToObject(j, "date_updated", updated);
    cJSON_Delete(ev);
    if (!ok) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

/* The values the call gives (NULL members: not given).  0, -1 (out set). */
typedef struct hook_vals {
    char *friendly_name, *url;
    char **events;
    size_t nevents;
    int has_events, enabled, v1; /* -1: not given */
} hook_vals;

static void vals_free(hook_vals *v) {
    free(v->friendly_name);
    free(v->url);
    for (size_t i = 0; i < v->nevents; i++) free(v->events[i]);
    free(v->events);
}

static int hook_vals_get(const emu_ctx *x, hook_vals *v, emu_response *out) {
    memset(v, 0, sizeof *v);
    v->enabled = v->v1 = -1;
    const emu_kv *fn = emu_val(x, "FriendlyName"), *url = emu_val(x, "WebhookUrl");
    const emu_kv *st = emu_val(x, "Status"), *ver = emu_val(x, "Version");
    if (url) {
        char why[300];
        if (emu_hook_check_url(url->val, why, sizeof why) != 0 && strstr(why, "loopback") == NULL) {
            emu_param_error(out, "WebhookUrl", "WebhookUrl must be an absolute http or https URL (%s)", why);
            return -1;
        }
        if (!(v->url = emu_strndup(url->val, url->vlen))) goto oom;
    }
    if (fn && !(v->friendly_name = emu_strndup(fn->val, fn->vlen))) goto oom;
    if (st) v->enabled = strcmp(st->val, "enabled") == 0;
    if (ver) v->v1 = strcmp(ver->val, "v1") == 0;
    const emu_kvlist *form = &x->c->form;
    for (size_t i = 0; i < form->n; i++) {
        if (strcmp(form->items[i].key, "EventTypes") != 0) continue;
        v->has_events = 1;
        char **ne = realloc(v->events, (v->nevents + 1) * sizeof *ne);
        if (!ne) goto oom;
        v->events = ne;
        if (!(v->events[v->nevents] = emu_strdup(form->items[i].val))) goto oom;
        v->nevents++;
    }
    return 0;
oom:
    vals_free(v);
    emu_oom(out);
    return -1;
}

static emu_webhook *find_hook(emu_server *srv, const emu_call *c) {
    emu_webhook *w = emu_map_get(&srv->hooks->by_sid, c->sid);
    return w && strcmp(w->service_sid, c->service_sid) == 0 ? w : NULL;
}

void emu_h_create_webhook(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    hook_vals v;
    if (hook_vals_get(x, &v, out) != 0) return;
    emu_webhook *w = calloc(1, sizeof *w);
    if (!w || emu_random_sid("YW", w->sid, 16) != 0) {
        free(w);
        vals_free(&v);
        emu_oom(out);
        return;
    }
    snprintf(w->service_sid, sizeof w->service_sid, "%s", x->c->service_sid);
    w->friendly_name = v.friendly_name;
    w->url = v.url;
    w->events = v.events;
    w->nevents = v.nevents;
    w->enabled = v.enabled != 0; /* default enabled */
    w->v1 = v.v1 == 1;           /* default v2 */
    pthread_mutex_lock(&srv->lock);
    w->created = w->updated = emu_now(srv);
    emu_hooks *h = srv->hooks;
    cJSON *j = render_hook(w, srv->cfg.account_sid, x->c->host);
    if (j && x->commit) {
        w->seq = ++h->next_seq;
        if (emu_map_put(&h->by_sid, w->sid, w) != 0) {
            cJSON_Delete(j);
            j = NULL;
        } else if (emu_seqlist_push(&h->list, w->seq, w) != 0) {
            emu_map_remove(&h->by_sid, w->sid);
            cJSON_Delete(j);
            j = NULL;
        } else {
            w = NULL; /* stored */
            emu_note_applied(srv, x->c);
        }
    }
    pthread_mutex_unlock(&srv->lock);
    emu_webhook_free(w);
    if (!j) emu_oom(out);
    else emu_response_json(out, 201, j);
}

void emu_h_fetch_webhook(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    pthread_mutex_lock(&srv->lock);
    emu_webhook *w = find_hook(srv, x->c);
    cJSON *j = w ? render_hook(w, srv->cfg.account_sid, x->c->host) : NULL;
    pthread_mutex_unlock(&srv->lock);
    emu_answer(x, out, w != NULL, 200, j);
}

void emu_h_update_webhook(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    hook_vals v;
    if (hook_vals_get(x, &v, out) != 0) return;
    pthread_mutex_lock(&srv->lock);
    emu_webhook *w = find_hook(srv, x->c);
    cJSON *j = NULL;
    if (w) {
        emu_webhook tmp = *w; /* as it will be (pointers borrowed) */
        if (v.friendly_name) tmp.friendly_name = v.friendly_name;
        if (v.url) tmp.url = v.url;
        if (v.has_events) tmp.events = v.events, tmp.nevents = v.nevents;
        if (v.enabled >= 0) tmp.enabled = v.enabled;
        if (v.v1 >= 0) tmp.v1 = v.v1;
        tmp.updated = emu_now(srv);
        j = render_hook(&tmp, srv->cfg.account_sid, x->c->host);
        if (j && x->commit) {
            if (v.friendly_name) free(w->friendly_name), w->friendly_name = v.friendly_name, v.friendly_name = NULL;
            if (v.url) free(w->url), w->url = v.url, v.url = NULL;
            if (v.has_events) {
                for (size_t i = 0; i < w->nevents; i++) free(w->events[i]);
                free(w->events);
                w->events = v.events;
                w->nevents = v.nevents;
                v.events = NULL;
                v.nevents = 0;
            }
            w->enabled = tmp.enabled;
            w->v1 = tmp.v1;
            w->updated = tmp.updated;
            emu_note_applied(srv, x->c);
        }
    }
    pthread_mutex_unlock(&srv->lock);
    vals_free(&v);
    emu_answer(x, out, w != NULL, 200, j);
}

void emu_h_delete_webhook(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    pthread_mutex_lock(&srv->lock);
    emu_webhook *w = find_hook(srv, x->c);
    if (w && x->commit) {
        emu_seqlist_remove(&srv->hooks->list, w->seq, w);
        emu_map_remove(&srv->hooks->by_sid, w->sid);
        emu_webhook_free(w);
        emu_note_applied(srv, x->c);
    }
    pthread_mutex_unlock(&srv->lock);
    if (!w) {
        emu_not_found(out, x->c->raw_path);
        return;
    }
    out->status = 204;
    out->content_type = NULL;
}

static int keep_service(const void *p, void *ctx) {
    return strcmp(((const emu_webhook *)p)->service_sid, ctx) == 0;
}

void emu_h_list_webhook(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    emu_page pg;
    memset(&pg, 0, sizeof pg);
    int before;
    uint64_t token;
    if (emu_page_params(x, &pg, &before, &token, out) != 0) return;
    emu_seqitem *items = malloc((size_t)pg.size * sizeof *items);
    cJSON *arr = cJSON_CreateArray();
    if (!items || !arr) {
        free(items);
        cJSON_Delete(arr);
        emu_oom(out);
        return;
    }
    pthread_mutex_lock(&srv->lock);
    size_t got = emu_page_fetch(&srv->hooks->list, 0, before, token, (size_t)pg.size, items, &pg, keep_service,
                                (void *)x->c->service_sid);
    int ok = 1;
    for (size_t i = 0; i < got && ok; i++)
        ok = emu_json_add(arr, NULL, render_hook(items[i].p, srv->cfg.account_sid, x->c->host)) == 0;
    pthread_mutex_unlock(&srv->lock);
    free(items);
    if (!ok) {
        cJSON_Delete(arr);
        emu_oom(out);
        return;
    }
    emu_page_answer(x, &pg, arr, out);
}

/* -------------------------------------------------------- notifications */

void emu_h_create_notification(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    const emu_call *c = x->c;
    const char *ch_sid = c->npv >= 3 ? c->pv[2] : "";
    int ttl = emu_ival(emu_val(x, "Ttl"), 300);
    char nt[35];
    if (emu_random_sid("NT", nt, 16) != 0) {
        emu_oom(out);
        return;
    }
    pthread_mutex_lock(&srv->lock);
    int64_t now = emu_now(srv);
    emu_challenge *ch = emu_store_challenge(&srv->store, ch_sid);
    if (ch && (strcmp(ch->entity->service_sid, c->service_sid) != 0 || strcmp(ch->entity->identity, c->identity) != 0))
        ch = NULL;
    if (!ch) {
        pthread_mutex_unlock(&srv->lock);
        char path[300];
        const char *vals[] = {c->service_sid, c->identity, ch_sid};
        if (emu_row_url(path, sizeof path, NULL, "fetch_challenge", vals) != 0) path[0] = '\0';
        emu_not_found(out, path);
        return;
    }
    const emu_factor *f = emu_store_factor(&srv->store, ch->factor_sid);
    int status = emu_challenge_status(ch, now);
    int http = 0;
    long code = 0;
    const char *why = NULL;
    if (ch->factor_type != EMU_PUSH)
        http = 400, code = 60200, why = "Invalid parameter ChallengeSid: notifications are sent for challenges of "
                                        "push factors only";
    else if (status == EMU_CH_EXPIRED) http = 403, code = 60323, why = "Challenge expired";
    else if (status != EMU_CH_PENDING) http = 403, code = 60322, why = "Challenge already responded";
    else if (f && f->platform && strcmp(f->platform, "none") == 0)
        http = 400, code = 60307, why = "Cannot resend push notifications to 'none' notification platform";
    if (why) {
        pthread_mutex_unlock(&srv->lock);
        emu_response_error(out, http, code, why, NULL);
        return;
    }
    char date[21];
    emu_iso8601(now, date);
    cJSON *j = cJSON_CreateObject();
    int ok = j && cJSON_AddStringToObject(j, "sid", nt) && cJSON_AddStringToObject(j, "account_sid", srv->cfg.account_sid) &&
             cJSON_AddStringToObject(j, "service_sid", ch->entity->service_sid) &&
             cJSON_AddStringToObject(j, "entity_sid", ch->entity->sid) &&
             cJSON_AddStringToObject(j, "identity", ch->entity->identity) &&
             cJSON_AddStringToObject(j, "challenge_sid", ch->sid) && cJSON_AddStringToObject(j, "priority", "high") &&
             cJSON_AddNumberToObject(j, "ttl", ttl) && cJSON_AddStringToObject(j, "date_created", date);
    if (ok && x->commit) emu_note_applied(srv, c);
    pthread_mutex_unlock(&srv->lock);
    if (!ok) {
        cJSON_Delete(j);
        emu_oom(out);
        return;
    }
    emu_response_json(out, 201, j);
}
