/*
 * ratelimits.c -- Service Rate Limits and their Buckets (CreateRateLimit
 * ... DeleteBucket).  Enforcement lives with the verifications
 * (verifications.c, through store.c's emu_bucket_refuses/emu_bucket_note).
 * Errors and their sources (doc/emulator.md, "Rate limits and buckets"):
 * 60207 too many rate limits, 60208 a UniqueName taken, 60209 a bad
 * UniqueName, 60210 too many buckets, 60211 an Interval taken; 20404.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "tv_ops.h"

static cJSON *render_rate_limit(const void *p, const emu_server *srv, const char *host, int64_t now) {
    (void)now;
    const emu_rate_limit *rl = p;
    char url[300], buckets[340], created[21], updated[21];
    const char *vals[] = {rl->service_sid, rl->sid};
    if (emu_row_url(url, sizeof url, host, "fetch_rate_limit", vals) != 0) return NULL;
    snprintf(buckets, sizeof buckets, "%s/Buckets", url);
    emu_iso8601(rl->created, created);
    emu_iso8601(rl->updated, updated);
    cJSON *j = cJSON_CreateObject(), *links = NULL;
    int ok = j && cJSON_AddStringToObject(j, "sid", rl->sid) && cJSON_AddStringToObject(j, "service_sid", rl->service_sid) &&
             cJSON_AddStringToObject(j, "account_sid", srv->cfg.account_sid) &&
             cJSON_AddStringToObject(j, "unique_name", rl->unique_name) &&
             (rl->description ? cJSON_AddStringToObject(j, "description", rl->description)
                              : cJSON_AddNullToObject(j, "description")) &&
             cJSON_AddStringToObject(j, "date_created", created) && cJSON_AddStringToObject(j, "date_updated", updated) &&
             cJSON_AddStringToObject(j, "url", url) && (links = cJSON_AddObjectToObject(j, "links")) &&
             cJSON_AddStringToObject(links, "buckets", buckets);
    if (!ok) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

static cJSON *render_bucket(const void *p, const emu_server *srv, const char *host, int64_t now) {
    (void)now;
    const emu_bucket *b = p;
    char url[340], created[21], updated[21];
    const char *vals[] = {b->service_sid, b->rate_limit_sid, b->sid};
    if (emu_row_url(url, sizeof url, host, "fetch_bucket", vals) != 0) return NULL;
    emu_iso8601(b->created, created);
    emu_iso8601(b->updated, updated);
    cJSON *j = cJSON_CreateObject();
    int ok = j && cJSON_AddStringToObject(j, "sid", b->sid) && cJSON_AddStringToObject(j, "rate_limit_sid", b->rate_limit_sid) &&
             cJSON_AddStringToObject(j, "service_sid", b->service_sid) &&
             cJSON_AddStringToObject(j, "account_sid", srv->cfg.account_sid) &&
             cJSON_AddNumberToObject(j, "max", (double)b->max) && cJSON_AddNumberToObject(j, "interval", (double)b->interval) &&
             cJSON_AddStringToObject(j, "date_created", created) && cJSON_AddStringToObject(j, "date_updated", updated) &&
             cJSON_AddStringToObject(j, "url", url);
    if (!ok) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

static void gone(emu_response *out, const emu_call *c) { emu_not_found(out, c->raw_path); }

/* The rate limit {Sid} / {RateLimitSid} of the call's live service (lock held). */
static emu_rate_limit *find_rl(emu_server *srv, const emu_call *c, const char *sid) {
    if (!emu_live_service(srv, c->service_sid)) return NULL;
    emu_rate_limit *rl = emu_map_get(&srv->store.otp.rate_limits, sid);
    return rl && strcmp(rl->service_sid, c->service_sid) == 0 ? rl : NULL;
}

/* 60209: "UniqueName only supports alphanumeric characters and -, _ or ." */
static int unique_name_ok(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' ||
              *s == '_' || *s == '.'))
            return 0;
    return 1;
}

static size_t rate_limits_of(const emu_otp *o, const char *svc) {
    size_t n = 0;
    for (size_t i = 0; i < o->rate_limit_list.n; i++) {
        const emu_rate_limit *rl = o->rate_limit_list.items[i].p;
        if (rl && strcmp(rl->service_sid, svc) == 0) n++;
    }
    return n;
}

void emu_h_create_rate_limit(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    const emu_call *c = x->c;
    const emu_kv *un = emu_val(x, "UniqueName"), *desc = emu_val(x, "Description");
    if (!unique_name_ok(un->val)) {
        emu_response_error(out, 400, 60209, "UniqueName format is invalid: it only supports alphanumeric characters "
                                            "and -, _ or .", NULL);
        return;
    }
    emu_rate_limit *rl = calloc(1, sizeof *rl);
    if (!rl || emu_random_sid("RK", rl->sid, 16) != 0 || !(rl->unique_name = emu_kvdup(un)) ||
        (desc && !(rl->description = emu_kvdup(desc)))) {
        emu_rate_limit_free(rl);
        emu_oom(out);
        return;
    }
    snprintf(rl->service_sid, sizeof rl->service_sid, "%s", c->service_sid);
    cJSON *j = NULL;
    pthread_mutex_lock(&srv->lock);
    emu_otp *o = &srv->store.otp;
    rl->created = rl->updated = emu_now(srv);
    if (!emu_live_service(srv, c->service_sid)) {
        gone(out, c);
    } else if (emu_otp_rate_limit_named(o, c->service_sid, rl->unique_name)) {
        emu_response_error(out, 400, 60208, "Rate limit with that UniqueName already exists", NULL);
    } else if (rate_limits_of(o, c->service_sid) >= EMU_RATE_LIMITS_MAX) {
        emu_response_error(out, 400, 60207, "Max rate limits per service reached", NULL);
    } else if (!(j = render_rate_limit(rl, srv, c->host, 0))) {
        emu_oom(out);
    } else if (x->commit) {
        rl->seq = srv->store.next_seq;
        if (emu_map_put(&o->rate_limits, rl->sid, rl) != 0) {
            cJSON_Delete(j);
            j = NULL;
            emu_oom(out);
        } else if (emu_seqlist_push(&o->rate_limit_list, rl->seq, rl) != 0) {
            emu_map_remove(&o->rate_limits, rl->sid);
            cJSON_Delete(j);
            j = NULL;
            emu_oom(out);
        } else {
            srv->store.next_seq++;
            rl = NULL;
            emu_note_applied(srv, c);
        }
    }
    pthread_mutex_unlock(&srv->lock);
    emu_rate_limit_free(rl);
    if (j) emu_response_json(out, 201, j);
}

void emu_h_fetch_rate_limit(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    pthread_mutex_lock(&srv->lock);
    emu_rate_limit *rl = find_rl(srv, x->c, x->c->sid);
    cJSON *j = rl ? render_rate_limit(rl, srv, x->c->host, 0) : NULL;
    pthread_mutex_unlock(&srv->lock);
    emu_answer(x, out, rl != NULL, 200, j);
}

static int keep_service_rl(const void *p, void *ctx) { return strcmp(((const emu_rate_limit *)p)->service_sid, ctx) == 0; }

static const emu_seqlist *rate_limits_all(emu_server *srv, const emu_call *c, const void *arg) {
    (void)arg;
    (void)c;
    return &srv->store.otp.rate_limit_list;
}

void emu_h_list_rate_limit(const emu_ctx *x, emu_response *out) {
    emu_page pg;
    memset(&pg, 0, sizeof pg);
    emu_list_page(x, &pg, rate_limits_all, NULL, keep_service_rl, (void *)x->c->service_sid, render_rate_limit, out);
}

void emu_h_update_rate_limit(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    const emu_kv *desc = emu_val(x, "Description");
    char *d = desc ? emu_kvdup(desc) : NULL;
    if (desc && !d) {
        emu_oom(out);
        return;
    }
    pthread_mutex_lock(&srv->lock);
    emu_rate_limit *rl = find_rl(srv, x->c, x->c->sid);
    cJSON *j = NULL;
    if (rl) {
        emu_rate_limit tmp = *rl;
        if (d) tmp.description = d;
        tmp.updated = emu_now(srv);
        j = render_rate_limit(&tmp, srv, x->c->host, 0);
        if (j && x->commit) {
            if (d) {
                free(rl->description);
                rl->description = d;
                d = NULL;
            }
            rl->updated = tmp.updated;
            emu_note_applied(srv, x->c);
        }
    }
    pthread_mutex_unlock(&srv->lock);
    free(d);
    emu_answer(x, out, rl != NULL, 200, j);
}

void emu_h_delete_rate_limit(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    pthread_mutex_lock(&srv->lock);
    emu_rate_limit *rl = find_rl(srv, x->c, x->c->sid);
    if (rl && x->commit) {
        emu_otp_rate_limit_delete(&srv->store.otp, rl);
        emu_note_applied(srv, x->c);
    }
    pthread_mutex_unlock(&srv->lock);
    if (!rl) {
        gone(out, x->c);
        return;
    }
    out->status = 204;
    out->content_type = NULL;
}

/* -------------------------------------------------------------- buckets */

static const char *rl_sid_of(const emu_call *c) { return c->npv >= 2 ? c->pv[1] : ""; }

/* The bucket {Sid} of the call's rate limit (lock held). */
static emu_bucket *find_bucket(emu_server *srv, const emu_call *c, emu_rate_limit **rlp) {
    emu_rate_limit *rl = find_rl(srv, c, rl_sid_of(c));
    emu_bucket *b = rl ? emu_map_get(&srv->store.otp.buckets, c->sid) : NULL;
    if (b && strcmp(b->rate_limit_sid, rl->sid) != 0) b = NULL;
    if (rlp) *rlp = rl;
    return b;
}

static int interval_taken(const emu_rate_limit *rl, long interval, const emu_bucket *except) {
    for (size_t i = 0; i < rl->buckets.n; i++) {
        const emu_bucket *b = rl->buckets.items[i].p;
        if (b && b != except && b->interval == interval) return 1;
    }
    return 0;
}

void emu_h_create_bucket(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    const emu_call *c = x->c;
    long max = strtol(emu_val(x, "Max")->val, NULL, 10), interval = strtol(emu_val(x, "Interval")->val, NULL, 10);
    if (max < 1 || interval < 1) {
        emu_param_error(out, max < 1 ? "Max" : "Interval", "%s",
                        max < 1 ? "Max must be at least 1" : "Interval must be at least 1 second");
        return;
    }
    emu_bucket *b = calloc(1, sizeof *b);
    if (!b || emu_map_init(&b->hits) != 0 || emu_random_sid("BL", b->sid, 16) != 0) {
        if (b) emu_bucket_free(b);
        emu_oom(out);
        return;
    }
    b->max = max;
    b->interval = interval;
    snprintf(b->service_sid, sizeof b->service_sid, "%s", c->service_sid);
    snprintf(b->rate_limit_sid, sizeof b->rate_limit_sid, "%s", rl_sid_of(c));
    cJSON *j = NULL;
    pthread_mutex_lock(&srv->lock);
    emu_otp *o = &srv->store.otp;
    emu_rate_limit *rl = find_rl(srv, c, rl_sid_of(c));
    b->created = b->updated = emu_now(srv);
    if (!rl) {
        char path[200];
        snprintf(path, sizeof path, "/v2/Services/%s/RateLimits/%s", c->service_sid, rl_sid_of(c));
        emu_not_found(out, path);
    } else if (rl->buckets.live >= EMU_BUCKETS_MAX) {
        emu_response_error(out, 400, 60210, "Max Buckets per Rate limit reached", NULL);
    } else if (interval_taken(rl, interval, NULL)) {
        emu_response_error(out, 400, 60211, "Bucket with the given Interval already exists", NULL);
    } else if (!(j = render_bucket(b, srv, c->host, 0))) {
        emu_oom(out);
    } else if (x->commit) {
        b->seq = srv->store.next_seq;
        if (emu_map_put(&o->buckets, b->sid, b) != 0) {
            cJSON_Delete(j);
            j = NULL;
            emu_oom(out);
        } else if (emu_seqlist_push(&rl->buckets, b->seq, b) != 0) {
            emu_map_remove(&o->buckets, b->sid);
            cJSON_Delete(j);
            j = NULL;
            emu_oom(out);
        } else {
            srv->store.next_seq++;
            b = NULL;
            emu_note_applied(srv, c);
        }
    }
    pthread_mutex_unlock(&srv->lock);
    emu_bucket_free(b);
    if (j) emu_response_json(out, 201, j);
}

void emu_h_fetch_bucket(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    pthread_mutex_lock(&srv->lock);
    emu_bucket *b = find_bucket(srv, x->c, NULL);
    cJSON *j = b ? render_bucket(b, srv, x->c->host, 0) : NULL;
    pthread_mutex_unlock(&srv->lock);
    emu_answer(x, out, b != NULL, 200, j);
}

/* a rate limit's buckets; an unknown rate limit lists as empty (as an unknown entity's factors do) */
static const emu_seqlist *buckets_of(emu_server *srv, const emu_call *c, const void *arg) {
    (void)arg;
    emu_rate_limit *rl = find_rl(srv, c, rl_sid_of(c));
    return rl ? &rl->buckets : NULL;
}

void emu_h_list_bucket(const emu_ctx *x, emu_response *out) {
    emu_page pg;
    memset(&pg, 0, sizeof pg);
    emu_list_page(x, &pg, buckets_of, NULL, NULL, NULL, render_bucket, out);
}

void emu_h_update_bucket(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    const emu_kv *mk = emu_val(x, "Max"), *ik = emu_val(x, "Interval");
    long max = mk ? strtol(mk->val, NULL, 10) : 0, interval = ik ? strtol(ik->val, NULL, 10) : 0;
    if ((mk && max < 1) || (ik && interval < 1)) {
        emu_param_error(out, mk && max < 1 ? "Max" : "Interval", "%s",
                        mk && max < 1 ? "Max must be at least 1" : "Interval must be at least 1 second");
        return;
    }
    pthread_mutex_lock(&srv->lock);
    emu_rate_limit *rl = NULL;
    emu_bucket *b = find_bucket(srv, x->c, &rl);
    cJSON *j = NULL;
    int taken = b && ik && interval_taken(rl, interval, b);
    if (b && !taken) {
        emu_bucket tmp = *b;
        if (mk) tmp.max = max;
        if (ik) tmp.interval = interval;
        tmp.updated = emu_now(srv);
        j = render_bucket(&tmp, srv, x->c->host, 0);
        if (j && x->commit) {
            b->max = tmp.max;
            b->interval = tmp.interval;
            b->updated = tmp.updated;
            emu_note_applied(srv, x->c);
        }
    }
    pthread_mutex_unlock(&srv->lock);
    if (taken) emu_response_error(out, 400, 60211, "Bucket with the given Interval already exists", NULL);
    else emu_answer(x, out, b != NULL, 200, j);
}

void emu_h_delete_bucket(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    pthread_mutex_lock(&srv->lock);
    emu_rate_limit *rl = NULL;
    emu_bucket *b = find_bucket(srv, x->c, &rl);
    if (b && x->commit) {
        emu_seqlist_remove(&rl->buckets, b->seq, b);
        emu_map_remove(&srv->store.otp.buckets, b->sid);
        emu_bucket_free(b);
        emu_note_applied(srv, x->c);
    }
    pthread_mutex_unlock(&srv->lock);
    if (!b) {
        gone(out, x->c);
        return;
    }
    out->status = 204;
    out->content_type = NULL;
}
