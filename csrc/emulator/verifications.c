/*
 * verifications.c -- one-time codes: CreateVerification, FetchVerification,
 * UpdateVerification and CreateVerificationCheck, with the outbox (what the
 * emulator would have sent) and the attempts they record.
 *
 * Twilio's semantics, each with its source in doc/emulator.md
 * ("Verifications"): a code per verification (the service's CodeLength, or
 * CustomCode where the service allows it), valid 10 minutes; a new
 * verification to the same To and channel while one is live re-sends the
 * same code, at most 5 sends (60203); 5 wrong checks (then 60202); checks
 * by To or VerificationSid; an approved, canceled or expired verification
 * is gone (20404); the service's rate limits (20429), Fraud Guard (60410)
 * and the SafeList.  The handlers take the server lock themselves.
 */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emu.h"
#include "tv_ops.h"

#define RATE_KEYS_MAX 32   /* RateLimits members read */
#define SUBST_MAX 64       /* TemplateCustomSubstitutions members read */

/* The language tags of https://www.twilio.com/docs/verify/supported-languages
 * ("If an unsupported override locale is given, a 404 error will be
 * returned").  The emulator's own copy: it never reads the client's table
 * for what is valid. */
static const char *const locales[] = {"af", "ar", "ca", "zh", "zh-CN", "zh-HK", "hr", "cs", "da", "nl", "en", "en-GB",
                                      "fi", "fr", "de", "el", "he", "hi", "hu", "id", "it", "ja", "ko", "ms", "nb",
                                      "pl", "pt-BR", "pt", "ro", "ru", "es", "sv", "tl", "th", "tr", "vi"};

static int locale_ok(const char *l) {
    for (size_t i = 0; i < sizeof locales / sizeof locales[0]; i++)
        if (strcmp(locales[i], l) == 0) return 1;
    return 0;
}

static const char *const status_names[] = {"pending", "approved", "canceled", "max_attempts_reached", "expired"};

/* ------------------------------------------------------------ rendering */

/* send_code_attempts[].channel as the description's examples spell it
 * (createVerification "SMS", createVerificationEmail "EMAIL",
 * createVerificationWhatsapp "whatsapp", createVerificationSna "sna"). */
static const char *attempt_channel(const char *ch) {
    if (strcmp(ch, "sms") == 0) return "SMS";
    if (strcmp(ch, "email") == 0) return "EMAIL";
    if (strcmp(ch, "call") == 0) return "CALL";
    return ch;
}

static int add_str_or_null(cJSON *j, const char *name, const char *v) {
    return (v ? cJSON_AddStringToObject(j, name, v) : cJSON_AddNullToObject(j, name)) ? 0 : -1;
}

static int add_date(cJSON *j, const char *name, int64_t t) {
    char d[21];
    emu_iso8601(t, d);
    return cJSON_AddStringToObject(j, name, d) ? 0 : -1;
}

/* lookup: {} unless the service has LookupEnabled and To is a phone number;
 * then a carrier shaped like the description's createVerificationSna
 * example (the emulator's network: MCC 001, MNC 01, the ITU test network). */
static cJSON *lookup_json(const emu_verification *v) {
    cJSON *l = cJSON_CreateObject();
    if (!l || !v->lookup || strchr(v->to, '@')) return l;
    cJSON *c = cJSON_CreateObject();
    if (emu_json_add(l, "carrier", c) != 0 || !cJSON_AddStringToObject(c, "mobile_country_code", "001") ||
        !cJSON_AddStringToObject(c, "type", "mobile") || !cJSON_AddNullToObject(c, "error_code") ||
        !cJSON_AddStringToObject(c, "mobile_network_code", "01") ||
        !cJSON_AddStringToObject(c, "name", "Twilio Verify Emulator Mobile")) {
        cJSON_Delete(l);
        return NULL;
    }
    return l;
}

static cJSON *render_verification(const emu_verification *v, int status, const char *account_sid, const char *host) {
    char url[300];
    const char *vals[] = {v->service_sid, v->sid};
    if (emu_row_url(url, sizeof url, host, "fetch_verification", vals) != 0) return NULL;
    cJSON *j = cJSON_CreateObject();
    int ok = j && cJSON_AddStringToObject(j, "sid", v->sid) && cJSON_AddStringToObject(j, "service_sid", v->service_sid) &&
             cJSON_AddStringToObject(j, "account_sid", account_sid) && cJSON_AddStringToObject(j, "to", v->to) &&
             cJSON_AddStringToObject(j, "channel", v->channel) &&
             cJSON_AddStringToObject(j, "status", status_names[status]) &&
             cJSON_AddBoolToObject(j, "valid", status == EMU_VE_APPROVED) && add_date(j, "date_created", v->created) == 0 &&
             add_date(j, "date_updated", v->updated) == 0 && emu_json_add(j, "lookup", lookup_json(v)) == 0 &&
             add_str_or_null(j, "amount", v->amount) == 0 && add_str_or_null(j, "payee", v->payee) == 0;
    cJSON *arr = ok ? cJSON_CreateArray() : NULL;
    ok = ok && emu_json_add(j, "send_code_attempts", arr) == 0;
    for (size_t i = 0; ok && i < v->nattempts; i++) {
        cJSON *a = cJSON_CreateObject();
        ok = emu_json_add(arr, NULL, a) == 0 && add_date(a, "time", v->attempts[i].time) == 0 &&
             cJSON_AddStringToObject(a, "channel", attempt_channel(v->channel)) &&
             cJSON_AddStringToObject(a, "attempt_sid", v->attempts[i].sid);
    }
    if (ok && strcmp(v->channel, "sna") == 0) {
        /* the URL the device fetches over its mobile network: here, the emulator's own */
        char sna[400];
        snprintf(sna, sizeof sna, "http://%s/__emulator/sna/%s", host, v->sid);
        cJSON *o = cJSON_CreateObject();
        ok = emu_json_add(j, "sna", o) == 0 && cJSON_AddStringToObject(o, "url", sna);
    } else if (ok) {
        ok = cJSON_AddNullToObject(j, "sna") != NULL;
    }
    ok = ok && cJSON_AddStringToObject(j, "url", url);
    if (!ok) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

static cJSON *render_check(const emu_verification *v, int status, const char *account_sid, int64_t now) {
    cJSON *j = cJSON_CreateObject();
    int ok = j && cJSON_AddStringToObject(j, "sid", v->sid) && cJSON_AddStringToObject(j, "service_sid", v->service_sid) &&
             cJSON_AddStringToObject(j, "account_sid", account_sid) && cJSON_AddStringToObject(j, "to", v->to) &&
             cJSON_AddStringToObject(j, "channel", v->channel) &&
             cJSON_AddStringToObject(j, "status", status_names[status]) &&
             cJSON_AddBoolToObject(j, "valid", status == EMU_VE_APPROVED) &&
             add_str_or_null(j, "amount", v->amount) == 0 && add_str_or_null(j, "payee", v->payee) == 0 &&
             emu_json_add(j, "sna_attempts_error_codes", cJSON_CreateArray()) == 0 &&
             add_date(j, "date_created", v->created) == 0 && add_date(j, "date_updated", now) == 0;
    if (!ok) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

/* ------------------------------------------------------------- the text */

static const char share_warning[] = ". Don\xE2\x80\x99" "t share this code with anyone; our employees will never ask for the code";

/* The message's text (malloc'd, NULL on OOM), from, in this order: the
 * CustomMessage ({{code}} replaced; without it the code is appended), the
 * template (TemplateSid, else the service's DefaultTemplateSid; SMS and
 * voice only, as the description says), else Twilio's default text
 * ("Your AppName verification code is: 1234", the description's examples),
 * with the service's do-not-share warning and the AppHash (SMS: "<#> ... He42w354ol9"). */
static char *message_text(const emu_verification *v, const char *friendly, const emu_kv *custom, const emu_template *t,
                          const emu_pair *subs, size_t nsubs, int warn, const emu_kv *app_hash) {
    emu_pair base[2] = {{(char *)"code", (char *)v->code}, {(char *)"friendly_name", (char *)friendly}};
    size_t n = 2 + nsubs;
    emu_pair *all = malloc(n * sizeof *all);
    if (!all) return NULL;
    memcpy(all, base, sizeof base);
    for (size_t i = 0; i < nsubs; i++) all[2 + i] = subs[i];
    char *text = NULL;
    int sms = strcmp(v->channel, "sms") == 0;
    if (custom) {
        text = emu_template_render(custom->val, custom->vlen, all, n, EMU_MSG_MAX);
        if (text && !strstr(custom->val, "{{code}}")) {
            size_t tl = strlen(text), cl = strlen(v->code);
            char *t2 = realloc(text, tl + cl + 2);
            if (!t2) {
                free(text);
                text = NULL;
            } else {
                text = t2;
                snprintf(text + tl, cl + 2, " %s", v->code);
            }
        }
    } else {
        const char *tpl = t ? emu_template_text(t, v->locale, NULL) : NULL;
        if (!tpl) {
            const emu_template *def = emu_template_find("HJ00000000000000000000000000000001");
            tpl = def ? emu_template_text(def, v->locale, NULL) : "Your {{friendly_name}} verification code is: {{code}}";
        }
        text = emu_template_render(tpl, strlen(tpl), all, n, EMU_MSG_MAX);
        if (text && warn && sms && !t) {
            size_t tl = strlen(text);
            char *t2 = realloc(text, tl + sizeof share_warning);
            if (!t2) {
                free(text);
                text = NULL;
            } else {
                text = t2;
                memcpy(text + tl, share_warning, sizeof share_warning);
            }
        }
    }
    free(all);
    if (text && sms && app_hash) {
        size_t need = strlen(text) + app_hash->vlen + 8;
        char *t2 = malloc(need);
        if (t2) snprintf(t2, need, "<#> %s %s", text, app_hash->val);
        OPENSSL_cleanse(text, strlen(text));
        free(text);
        text = t2;
    }
    return text;
}

/* ------------------------------------------------------------- creation */

/* What one CreateVerification asks for, read before the lock. */
typedef struct ve_req {
    const emu_kv *to, *channel, *friendly, *custom_msg, *locale, *custom_code, *amount, *payee, *app_hash, *tpl_sid,
        *sna_token, *risk;
    emu_pair *rate, *subs;
    size_t nrate, nsubs;
    char *from_email;      /* ChannelConfiguration.from */
} ve_req;

static void req_free(ve_req *r) {
    emu_pairs_free(r->rate, r->nrate);
    emu_pairs_free(r->subs, r->nsubs);
    free(r->from_email);
}

static int read_pairs(const emu_kv *kv, const char *key, size_t max, emu_pair **out, size_t *n, emu_response *res) {
    if (!kv) return 0;
    char why[160];
    int rc = emu_pairs_parse(kv->val, kv->vlen, max, out, n, why, sizeof why);
    if (rc == -1) emu_oom(res);
    if (rc == -2) emu_param_error(res, key, "%s", why);
    return rc;
}

static void random_code(char *out, int digits) {
    unsigned char raw[16];
    if (RAND_bytes(raw, digits) != 1) memset(raw, 7, sizeof raw);
    for (int i = 0; i < digits; i++) out[i] = (char)('0' + raw[i] % 10);
    out[digits] = '\0';
    OPENSSL_cleanse(raw, sizeof raw);
}

static void not_found(emu_response *out, const char *service_sid, const char *what, const char *extra) {
    char msg[400];
    snprintf(msg, sizeof msg, "The requested resource /Services/%s/%s was not found%s", service_sid, what,
             extra ? extra : "");
    emu_response_error(out, 404, 20404, msg, NULL);
}

/* The rate limits the request names: refused (out set) when a name is not
 * the service's, or one of its buckets is full for the value.  0 / -1. */
static int rate_limits_allow(emu_server *srv, const char *svc, const ve_req *r, int64_t now, emu_response *out) {
    for (size_t i = 0; i < r->nrate; i++) {
        emu_rate_limit *rl = emu_otp_rate_limit_named(&srv->store.otp, svc, r->rate[i].name);
        if (!rl) {
            char why[200];
            snprintf(why, sizeof why, "RateLimits names %.64s, which is not a rate limit of the service",
                     r->rate[i].name);
            emu_param_error(out, "RateLimits", "%s", why);
            return -1;
        }
        const emu_bucket *b = emu_bucket_refuses(rl, r->rate[i].value, now);
        if (b) {
            /* the description's createVerificationRateLimitExceeded example */
            cJSON *d = cJSON_CreateObject();
            if (d && (!cJSON_AddStringToObject(d, "rate_limit", rl->unique_name) ||
                      !cJSON_AddStringToObject(d, "bucket_sid", b->sid) || !cJSON_AddNumberToObject(d, "max", (double)b->max) ||
                      !cJSON_AddNumberToObject(d, "interval", (double)b->interval))) {
                cJSON_Delete(d);
                d = NULL;
            }
            emu_response_error(out, 429, 20429, "Too many requests", d);
            return -1;
        }
    }
    return 0;
}

/* The Messaging Service of the To's country (else `all`), or NULL (lock held). */
static const char *messaging_service(emu_server *srv, const char *svc, const char *country) {
    char key[64];
    snprintf(key, sizeof key, "%s/%s", svc, country && *country ? country : "all");
    const emu_msgcfg *m = emu_map_get(&srv->store.otp.msgcfgs, key);
    if (!m && country && *country) {
        snprintf(key, sizeof key, "%s/all", svc);
        m = emu_map_get(&srv->store.otp.msgcfgs, key);
    }
    return m ? m->messaging_service_sid : NULL;
}

/* Send v's code once more: an attempt, and (but for sna) a message in the
 * outbox.  0 / -1 OOM (nothing recorded then). */
static int record_send(emu_server *srv, emu_verification *v, const emu_service *svc, const ve_req *r,
                       const emu_template *t, int64_t now) {
    emu_otp *o = &srv->store.otp;
    emu_attempt *a = calloc(1, sizeof *a);
    emu_message *m = NULL;
    if (!a || emu_random_sid("VL", a->sid, 16) != 0 || !(a->to = emu_strdup(v->to))) goto oom;
    snprintf(a->service_sid, sizeof a->service_sid, "%s", v->service_sid);
    snprintf(a->verification_sid, sizeof a->verification_sid, "%s", v->sid);
    snprintf(a->channel, sizeof a->channel, "%s", v->channel);
    snprintf(a->country, sizeof a->country, "%s", strchr(v->to, '@') ? "" : emu_e164_country(v->to));
    snprintf(a->locale, sizeof a->locale, "%s", v->locale);
    a->code_length = (int)strlen(v->code);
    a->created = a->updated = now;
    a->expires = v->expires;
    if (strcmp(v->channel, "sna") != 0) {
        const char *friendly = r->friendly ? r->friendly->val : emu_service_val(svc, "FriendlyName");
        if (!(m = calloc(1, sizeof *m))) goto oom;
        const char *prefix = strcmp(v->channel, "call") == 0 ? "CA" : strcmp(v->channel, "email") == 0 ? "EM" : "SM";
        if (emu_random_sid(prefix, m->sid, 16) != 0 || !(m->to = emu_strdup(v->to))) goto oom;
        m->created = now;
        snprintf(m->service_sid, sizeof m->service_sid, "%s", v->service_sid);
        snprintf(m->verification_sid, sizeof m->verification_sid, "%s", v->sid);
        snprintf(m->attempt_sid, sizeof m->attempt_sid, "%s", a->sid);
        snprintf(m->channel, sizeof m->channel, "%s", v->channel);
        snprintf(m->locale, sizeof m->locale, "%s", v->locale);
        int tpl_channel = strcmp(v->channel, "sms") == 0 || strcmp(v->channel, "call") == 0;
        const emu_template *tt = tpl_channel ? t : NULL;
        if (tt) snprintf(m->template_sid, sizeof m->template_sid, "%s", tt->sid);
        const char *from = NULL;
        if (strcmp(v->channel, "sms") == 0) from = messaging_service(srv, v->service_sid, a->country);
        else if (strcmp(v->channel, "whatsapp") == 0) from = emu_service_val(svc, "Whatsapp.From");
        else if (strcmp(v->channel, "email") == 0) from = r->from_email;
        if (from && !(m->from = emu_strdup(from))) goto oom;
        if (!(m->body = message_text(v, friendly ? friendly : "", r->custom_msg, tt, r->subs, r->nsubs,
                                     emu_service_flag(svc, "DoNotShareWarningEnabled"), r->app_hash)))
            goto oom;
    }
    if (v->nattempts == EMU_VE_MAX_SENDS) goto oom; /* checked by the caller */
    if (strcmp(v->channel, "sna") == 0) {
        /* the Attempts API lists sms, call, email, whatsapp (its enum): an sna
         * attempt is the verification's only */
        snprintf(v->attempts[v->nattempts].sid, sizeof v->attempts[0].sid, "%s", a->sid);
        v->attempts[v->nattempts++].time = now;
        emu_attempt_free(a);
        return 0;
    }
    char sid[35];
    snprintf(sid, sizeof sid, "%s", a->sid);
    if (emu_otp_attempt_add(o, srv->store.next_seq++, a) != 0) { /* a freed */
        emu_message_free(m);
        return -1;
    }
    snprintf(v->attempts[v->nattempts].sid, sizeof v->attempts[0].sid, "%s", sid);
    v->attempts[v->nattempts++].time = now;
    emu_otp_outbox_add(o, m);
    return 0;
oom:
    emu_attempt_free(a);
    emu_message_free(m);
    return -1;
}

static int ve_read(const emu_ctx *x, ve_req *r, emu_response *out) {
    memset(r, 0, sizeof *r);
    r->to = emu_val(x, "To");
    r->channel = emu_val(x, "Channel");
    r->friendly = emu_val(x, "CustomFriendlyName");
    r->custom_msg = emu_val(x, "CustomMessage");
    r->locale = emu_val(x, "Locale");
    r->custom_code = emu_val(x, "CustomCode");
    r->amount = emu_val(x, "Amount");
    r->payee = emu_val(x, "Payee");
    r->app_hash = emu_val(x, "AppHash");
    r->tpl_sid = emu_val(x, "TemplateSid");
    r->sna_token = emu_val(x, "EnableSnaClientToken");
    r->risk = emu_val(x, "RiskCheck");
    if (read_pairs(emu_val(x, "RateLimits"), "RateLimits", RATE_KEYS_MAX, &r->rate, &r->nrate, out) != 0 ||
        read_pairs(emu_val(x, "TemplateCustomSubstitutions"), "TemplateCustomSubstitutions", SUBST_MAX, &r->subs,
                   &r->nsubs, out) != 0)
        return -1;
    const emu_kv *cc = emu_val(x, "ChannelConfiguration");
    if (cc) {
        cJSON *j = cJSON_ParseWithLength(cc->val, cc->vlen);
        const cJSON *from = cJSON_GetObjectItemCaseSensitive(j, "from");
        int bad = cc && !cJSON_IsObject(j);
        if (!bad && cJSON_IsString(from) && !(r->from_email = emu_strdup(from->valuestring))) {
            cJSON_Delete(j);
            emu_oom(out);
            return -1;
        }
        cJSON_Delete(j);
        if (bad) {
            emu_param_error(out, "ChannelConfiguration", "%s", "ChannelConfiguration must be a JSON object");
            return -1;
        }
    }
    return 0;
}

void emu_h_create_verification(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    const emu_call *c = x->c;
    ve_req r;
    if (ve_read(x, &r, out) != 0) {
        req_free(&r);
        return;
    }
    char channel[12];
    snprintf(channel, sizeof channel, "%s", strcmp(r.channel->val, "auto") == 0 ? "sms" : r.channel->val);
    int email = strchr(r.to->val, '@') != NULL;
    if (email != (strcmp(channel, "email") == 0)) {
        emu_param_error(out, "To", "%s", email ? "To is an email address: only the email channel sends to one"
                                               : "the email channel needs an email address in To");
        req_free(&r);
        return;
    }
    emu_verification *nv = NULL;
    cJSON *j = NULL;
    int status = 201;
    pthread_mutex_lock(&srv->lock);
    int64_t now = emu_now(srv);
    emu_otp *o = &srv->store.otp;
    emu_otp_sweep(o, now);
    emu_service *svc = emu_live_service(srv, c->service_sid);
    const char *tsid = r.tpl_sid ? r.tpl_sid->val : emu_service_val(svc, "DefaultTemplateSid");
    const emu_template *t = tsid ? emu_template_find(tsid) : NULL;
    int psd2 = emu_service_flag(svc, "Psd2Enabled");
    if (!svc) {
        not_found(out, c->service_sid, "Verifications", NULL);
        goto done;
    }
    if (psd2 && (!r.amount || !r.payee)) {
        emu_response_error(out, 400, 60206, "'Amount' & 'Payee' params are required", NULL);
        goto done;
    }
    if (psd2 && strcmp(channel, "call") == 0) {
        emu_response_error(out, 400, 60214, "Call channel is not supported when using PSD2", NULL);
        goto done;
    }
    if (!psd2 && (r.amount || r.payee)) {
        emu_response_error(out, 400, 60204,
                           "Service does not support this feature: Amount and Payee need the service's Psd2Enabled",
                           NULL);
        goto done;
    }
    if (r.custom_code && !emu_service_flag(svc, "CustomCodeEnabled")) {
        emu_response_error(out, 400, 60204,
                           "Service does not support this feature: CustomCode needs the service's CustomCodeEnabled",
                           NULL);
        goto done;
    }
    if (r.locale && !locale_ok(r.locale->val)) {
        not_found(out, c->service_sid, "Verifications", " (Locale: an unsupported override locale)");
        goto done;
    }
    if (tsid && !t) {
        char msg[200];
        snprintf(msg, sizeof msg, "The requested resource /Templates/%.40s was not found", tsid);
        emu_response_error(out, 404, 20404, msg, NULL);
        goto done;
    }
    if (!srv->cfg.no_limits && rate_limits_allow(srv, c->service_sid, &r, now, out) != 0) goto done;
    if (strcmp(channel, "sms") == 0 && !(r.risk && strcmp(r.risk->val, "disable") == 0) &&
        emu_otp_fraud_blocks(o, r.to->val)) {
        emu_response_error(out, 403, 60410, "Verification delivery attempt blocked (Fraud Guard: the prefix is "
                                            "blocked; the SafeList or RiskCheck=disable lets a number through)",
                           NULL);
        goto done;
    }
    emu_verification *v = emu_otp_live(o, c->service_sid, channel, r.to->val, now);
    if (v && v->status == EMU_VE_MAX_ATTEMPTS) {
        emu_response_error(out, 429, 60202, "Max check attempts reached: wait until the verification expires "
                                            "(10 minutes) to start a new one", NULL);
        goto done;
    }
    if (v && v->nattempts >= EMU_VE_MAX_SENDS && !srv->cfg.no_limits) {
        emu_response_error(out, 429, 60203, "Max send attempts reached: check the code, cancel the verification, "
                                            "or wait until it expires (10 minutes)", NULL);
        goto done;
    }
    if (v && v->nattempts >= EMU_VE_MAX_SENDS) { /* --no-limits: the oldest attempt makes room */
        memmove(v->attempts, v->attempts + 1, (EMU_VE_MAX_SENDS - 1) * sizeof v->attempts[0]);
        v->nattempts--;
    }
    if (!v) {
        if (!(nv = calloc(1, sizeof *nv)) || !(nv->to = emu_kvdup(r.to)) ||
            (r.amount && !(nv->amount = emu_kvdup(r.amount))) || (r.payee && !(nv->payee = emu_kvdup(r.payee)))) {
            emu_oom(out);
            goto done;
        }
        snprintf(nv->service_sid, sizeof nv->service_sid, "%s", c->service_sid);
        snprintf(nv->channel, sizeof nv->channel, "%s", channel);
        if (r.custom_code) snprintf(nv->code, sizeof nv->code, "%s", r.custom_code->val);
        else {
            const char *cl = emu_service_val(svc, "CodeLength");
            int digits = cl ? atoi(cl) : 6;
            random_code(nv->code, digits >= 4 && digits <= 10 ? digits : 6);
        }
        const char *country = email ? "" : emu_e164_country(r.to->val);
        const char *loc = r.locale ? r.locale->val : emu_country_locale(country);
        snprintf(nv->locale, sizeof nv->locale, "%s", locale_ok(loc) ? loc : "en");
        nv->created = nv->updated = now;
        nv->expires = now + EMU_VE_TTL;
        nv->lookup = emu_service_flag(svc, "LookupEnabled");
        nv->sna_token_required = r.sna_token && strcasecmp(r.sna_token->val, "true") == 0;
        if (nv->sna_token_required && emu_random_sid("", nv->sna_token, 16) != 0) {
            emu_oom(out);
            goto done;
        }
        if (!x->commit) {
            if (emu_random_sid("VE", nv->sid, 16) == 0) j = render_verification(nv, EMU_VE_PENDING, srv->cfg.account_sid, c->host);
            if (!j) emu_oom(out);
            goto done;
        }
        if (emu_otp_insert(o, srv->store.next_seq++, nv) != 0) {
            emu_oom(out);
            goto done;
        }
        v = nv;
        nv = NULL;
    } else if (!x->commit) {
        j = render_verification(v, EMU_VE_PENDING, srv->cfg.account_sid, c->host);
        if (!j) emu_oom(out);
        goto done;
    }
    if (record_send(srv, v, svc, &r, t, now) != 0) {
        if (v->nattempts == 0) emu_otp_remove(o, v); /* a new one that sent nothing */
        emu_oom(out);
        goto done;
    }
    for (size_t i = 0; !srv->cfg.no_limits && i < r.nrate; i++) {
        emu_rate_limit *rl = emu_otp_rate_limit_named(o, c->service_sid, r.rate[i].name);
        if (rl && emu_bucket_note(rl, r.rate[i].value, now) != 0) break; /* OOM: this send is not counted */
    }
    v->updated = now;
    emu_note_applied(srv, c);
    j = render_verification(v, EMU_VE_PENDING, srv->cfg.account_sid, c->host);
    if (!j) emu_oom(out);
done:
    pthread_mutex_unlock(&srv->lock);
    emu_verification_free(nv);
    req_free(&r);
    if (j) emu_response_json(out, status, j);
}

/* --------------------------------------------------------- fetch, update */

void emu_h_fetch_verification(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    pthread_mutex_lock(&srv->lock);
    int64_t now = emu_now(srv);
    emu_verification *v = emu_live_service(srv, x->c->service_sid)
                              ? emu_otp_find(&srv->store.otp, x->c->service_sid, x->c->sid, now)
                              : NULL;
    cJSON *j = v ? render_verification(v, emu_verification_status(v, now), srv->cfg.account_sid, x->c->host) : NULL;
    pthread_mutex_unlock(&srv->lock);
    emu_answer(x, out, v != NULL, 200, j);
}

/* Mark the attempts of verification sid converted (approved). */
static void convert_attempts(emu_otp *o, const emu_verification *v, int64_t now) {
    for (size_t i = 0; i < v->nattempts; i++) {
        emu_attempt *a = emu_map_get(&o->attempts, v->attempts[i].sid);
        if (a) {
            a->converted = 1;
            a->updated = now;
        }
    }
}

void emu_h_update_verification(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    const emu_kv *st = emu_val(x, "Status");
    int to = strcmp(st->val, "approved") == 0 ? EMU_VE_APPROVED : EMU_VE_CANCELED;
    pthread_mutex_lock(&srv->lock);
    int64_t now = emu_now(srv);
    emu_otp *o = &srv->store.otp;
    emu_verification *v = emu_live_service(srv, x->c->service_sid) ? emu_otp_find(o, x->c->service_sid, x->c->sid, now)
                                                                    : NULL;
    cJSON *j = NULL;
    if (v) {
        emu_verification tmp = *v;
        tmp.updated = now;
        j = render_verification(&tmp, to, srv->cfg.account_sid, x->c->host);
        if (j && x->commit) {
            if (to == EMU_VE_APPROVED) convert_attempts(o, v, now);
            emu_otp_remove(o, v); /* approved or canceled: gone (20404 from now on) */
            emu_note_applied(srv, x->c);
        }
    }
    pthread_mutex_unlock(&srv->lock);
    emu_answer(x, out, v != NULL, 200, j);
}

/* ----------------------------------------------------------------- check */

static int same(const char *a, const emu_kv *b) {
    return b && strlen(a) == b->vlen && CRYPTO_memcmp(a, b->val, b->vlen) == 0;
}

void emu_h_create_verification_check(const emu_ctx *x, emu_response *out) {
    emu_server *srv = x->srv;
    const emu_call *c = x->c;
    const emu_kv *code = emu_val(x, "Code"), *to = emu_val(x, "To"), *vsid = emu_val(x, "VerificationSid");
    const emu_kv *amount = emu_val(x, "Amount"), *payee = emu_val(x, "Payee"), *token = emu_val(x, "SnaClientToken");
    if (!to && !vsid) {
        /* the description: "Either this parameter or the `verification_sid` must be specified" */
        emu_response_error(out, 400, 60221, "No target verification specified: give To or VerificationSid", NULL);
        return;
    }
    cJSON *j = NULL;
    pthread_mutex_lock(&srv->lock);
    int64_t now = emu_now(srv);
    emu_otp *o = &srv->store.otp;
    emu_service *svc = emu_live_service(srv, c->service_sid);
    emu_verification *v = !svc ? NULL
                           : vsid ? emu_otp_find(o, c->service_sid, vsid->val, now)
                                  : emu_otp_live_to(o, c->service_sid, to ? to->val : "", now);
    if (v && vsid && to && strcmp(v->to, to->val) != 0) v = NULL;
    if (!v) {
        pthread_mutex_unlock(&srv->lock);
        not_found(out, c->service_sid, "VerificationCheck", NULL);
        return;
    }
    if (v->status == EMU_VE_MAX_ATTEMPTS) {
        pthread_mutex_unlock(&srv->lock);
        emu_response_error(out, 429, 60202, "Max check attempts reached: the verification takes no more codes; "
                                            "start a new one once it expires (10 minutes)", NULL);
        return;
    }
    int sna = strcmp(v->channel, "sna") == 0;
    if (!sna && !code) {
        pthread_mutex_unlock(&srv->lock);
        emu_param_error(out, "Code", "%s", "Code is required to check a verification of this channel");
        return;
    }
    int right;
    if (sna) right = v->sna_invoked && (!v->sna_token_required || same(v->sna_token, token));
    else right = same(v->code, code);
    if (emu_service_flag(svc, "Psd2Enabled")) /* PSD2: the transaction must be the one the code was sent for */
        right = right && v->amount && v->payee && same(v->amount, amount) && same(v->payee, payee);
    emu_verification tmp = *v;
    int status = right ? EMU_VE_APPROVED : (v->checks + 1 >= EMU_VE_MAX_CHECKS ? EMU_VE_MAX_ATTEMPTS : EMU_VE_PENDING);
    if (sna && !right) status = EMU_VE_PENDING; /* an SNA check before the URL was fetched is no wrong code */
    j = render_check(&tmp, status, srv->cfg.account_sid, now);
    if (j && x->commit) {
        if (right) {
            convert_attempts(o, v, now);
            emu_otp_remove(o, v); /* approved: gone */
        } else if (!sna) {
            v->checks++;
            v->status = status;
            v->updated = now;
        }
        emu_note_applied(srv, c);
    }
    pthread_mutex_unlock(&srv->lock);
    if (!j) emu_oom(out);
    else emu_response_json(out, 200, j);
}
