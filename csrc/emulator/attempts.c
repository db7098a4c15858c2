/*
 * attempts.c -- Verification Attempts (ListVerificationAttempt,
 * FetchVerificationAttempt) and their summary
 * (FetchVerificationAttemptsSummary): one attempt per code sent (sms, call,
 * email, whatsapp), recorded by verifications.c, account-wide, `converted`
 * once its verification is approved.  Shapes: the description's
 * listVerificationAttempts and getAttemptsSummary examples.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "tv_validate.h"

/* channel_data.status (verification_attempt_enum_attempt_status) at now */
static const char *attempt_status(const emu_attempt *a, int64_t now) {
    if (a->converted) return "confirmed";
    return now >= a->expires ? "expired" : "unconfirmed";
}

static cJSON *render_attempt(const void *p, const emu_server *srv, const char *host, int64_t now) {
    const emu_attempt *a = p;
    char url[200], created[21], updated[21];
    const char *vals[] = {a->sid};
    if (emu_row_url(url, sizeof url, host, "fetch_verification_attempt", vals) != 0) return NULL;
    emu_iso8601(a->created, created);
    emu_iso8601(a->updated, updated);
    cJSON *j = cJSON_CreateObject(), *price = NULL, *cd = NULL;
    int call = strcmp(a->channel, "call") == 0, email = strcmp(a->channel, "email") == 0;
    int ok = j && cJSON_AddStringToObject(j, "sid", a->sid) && cJSON_AddStringToObject(j, "account_sid", srv->cfg.account_sid) &&
             cJSON_AddStringToObject(j, "service_sid", a->service_sid) &&
             cJSON_AddStringToObject(j, "verification_sid", a->verification_sid) &&
             cJSON_AddStringToObject(j, "date_created", created) && cJSON_AddStringToObject(j, "date_updated", updated) &&
             cJSON_AddStringToObject(j, "conversion_status", a->converted ? "converted" : "unconverted") &&
             cJSON_AddStringToObject(j, "channel", a->channel) && (price = cJSON_AddObjectToObject(j, "price")) &&
             cJSON_AddStringToObject(price, "value", "0.0000") && cJSON_AddStringToObject(price, "currency", "usd") &&
             (cd = cJSON_AddObjectToObject(j, "channel_data")) &&
             cJSON_AddStringToObject(cd, "verification_sid", a->verification_sid) &&
             cJSON_AddStringToObject(cd, "to", a->to) && cJSON_AddStringToObject(cd, "status", attempt_status(a, now)) &&
             (email ? 1
                    : cJSON_AddStringToObject(cd, call ? "call_status" : "message_status", call ? "completed" : "delivered") != NULL) &&
             (a->country[0] ? cJSON_AddStringToObject(cd, "country", a->country) != NULL
                            : cJSON_AddNullToObject(cd, "country") != NULL) &&
             cJSON_AddNumberToObject(cd, "code_length", a->code_length) && cJSON_AddStringToObject(cd, "locale", a->locale) &&
             cJSON_AddStringToObject(j, "url", url);
    if (!ok) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

/* The filters of a listing or a summary (NULL members: not given). */
typedef struct att_filter {
    int64_t after, before;
    int has_after, has_before;
    const char *to, *country, *channel, *service, *verification, *prefix;
    int status; /* -1 any, 0 unconverted, 1 converted */
} att_filter;

static int keep_attempt(const void *p, void *ctx) {
    const emu_attempt *a = p;
    const att_filter *f = ctx;
    if (f->has_after && !(a->created > f->after)) return 0;
    if (f->has_before && !(a->created < f->before)) return 0;
    if (f->to && strcmp(a->to, f->to) != 0) return 0;
    if (f->prefix && strncmp(a->to, f->prefix, strlen(f->prefix)) != 0) return 0;
    if (f->country && strcmp(a->country, f->country) != 0) return 0;
    if (f->channel && strcmp(a->channel, f->channel) != 0) return 0;
    if (f->service && strcmp(a->service_sid, f->service) != 0) return 0;
    if (f->verification && strcmp(a->verification_sid, f->verification) != 0) return 0;
    if (f->status >= 0 && a->converted != f->status) return 0;
    return 1;
}

static void read_filter(const emu_ctx *x, att_filter *f) {
    memset(f, 0, sizeof *f);
    const emu_kv *a = emu_val(x, "DateCreatedAfter"), *b = emu_val(x, "DateCreatedBefore");
    const emu_kv *to = emu_val(x, "ChannelData.To"), *cc = emu_val(x, "Country"), *ch = emu_val(x, "Channel");
    const emu_kv *svc = emu_val(x, "VerifyServiceSid"), *ve = emu_val(x, "VerificationSid"), *st = emu_val(x, "Status");
    const emu_kv *pre = emu_val(x, "DestinationPrefix");
    /* the oracle has checked the dates (format date-time) */
    f->has_after = a && tv_parse_date(a->val, a->vlen, &f->after) == 0;
    f->has_before = b && tv_parse_date(b->val, b->vlen, &f->before) == 0;
    f->to = to ? to->val : NULL;
    f->country = cc ? cc->val : NULL;
    f->channel = ch ? ch->val : NULL;
    f->service = svc ? svc->val : NULL;
    f->verification = ve ? ve->val : NULL;
    f->prefix = pre ? pre->val : NULL;
    f->status = st ? strcmp(st->val, "converted") == 0 : -1;
}

static const emu_seqlist *attempts_all(emu_server *srv, const emu_call *c, const void *arg) {
    (void)arg;
    (void)c;
    return &srv->store.otp.attempt_list;
}

void emu_h_list_verification_attempt(const emu_ctx *x, emu_response *out) {
    att_filter f;
    read_filter(x, &f);
    emu_page pg;
    memset(&pg, 0, sizeof pg);
    static const char *const keys[] = {"DateCreatedAfter", "DateCreatedBefore", "ChannelData.To", "Country", "Channel",
                                       "VerifyServiceSid", "VerificationSid",   "Status"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) emu_page_filter(&pg, keys[i], emu_val(x, keys[i]));
    emu_list_page(x, &pg, attempts_all, NULL, keep_attempt, &f, render_attempt, out);
}

void emu_h_fetch_verification_attempt(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    pthread_mutex_lock(&srv->lock);
    const emu_attempt *a = emu_map_get(&srv->store.otp.attempts, x->c->sid);
    cJSON *j = a ? render_attempt(a, srv, x->c->host, emu_now(srv)) : NULL;
    pthread_mutex_unlock(&srv->lock);
    emu_answer(x, out, a != NULL, 200, j);
}

void emu_h_fetch_verification_attempts_summary(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    att_filter f;
    read_filter(x, &f);
    long total = 0, converted = 0;
    pthread_mutex_lock(&srv->lock);
    const emu_seqlist *l = &srv->store.otp.attempt_list;
    for (size_t i = 0; i < l->n; i++) {
        const emu_attempt *a = l->items[i].p;
        if (!a || !keep_attempt(a, &f)) continue;
        total++;
        converted += a->converted;
    }
    pthread_mutex_unlock(&srv->lock);
    char url[200], rate[40];
    const char *vals[] = {NULL};
    if (emu_row_url(url, sizeof url, x->c->host, "fetch_verification_attempts_summary", vals) != 0) url[0] = '\0';
    /* (total_converted/total_attempts)*100, as the description defines it; its
     * example prints 9 of 11 as "81.818181818" */
    if (total) {
        snprintf(rate, sizeof rate, "%.9f", 100.0 * (double)converted / (double)total);
        char *e = rate + strlen(rate) - 1;
        while (e > rate && *e == '0') *e-- = '\0';
        if (*e == '.') *e = '\0';
    }
    cJSON *j = cJSON_CreateObject();
    int ok = j && cJSON_AddNumberToObject(j, "total_attempts", (double)total) &&
             cJSON_AddNumberToObject(j, "total_converted", (double)converted) &&
             cJSON_AddNumberToObject(j, "total_unconverted", (double)(total - converted)) &&
             (total ? cJSON_AddStringToObject(j, "conversion_rate_percentage", rate) != NULL
                    : cJSON_AddNullToObject(j, "conversion_rate_percentage") != NULL) &&
             cJSON_AddStringToObject(j, "url", url);
    if (!ok) {
        cJSON_Delete(j);
        j = NULL;
    }
    emu_answer(x, out, 1, 200, j);
}
