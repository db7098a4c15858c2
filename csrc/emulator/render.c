/* render.c -- JSON of factors and errors; the emu_response helpers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emu.h"

/* config.credential_sid: the kid of the factor's JWTs (push.c) */
static int add_credential_sid(cJSON *c, const emu_factor *f) {
    char cr[35];
    emu_push_credential_sid(f, cr);
    return cJSON_AddStringToObject(c, "credential_sid", cr) ? 0 : -1;
}

static cJSON *config_json(const emu_factor *f) {
    cJSON *c = cJSON_CreateObject();
    if (!c) return NULL;
    int ok;
    if (f->type == EMU_TOTP) {
        ok = cJSON_AddStringToObject(c, "alg", tv_totp_alg_name(f->alg)) &&
             cJSON_AddNumberToObject(c, "skew", f->skew) &&
             cJSON_AddNumberToObject(c, "code_length", f->digits) &&
             cJSON_AddNumberToObject(c, "time_step", f->step);
    } else {
        ok = cJSON_AddStringToObject(c, "sdk_version", f->sdk_version ? f->sdk_version : "") &&
             cJSON_AddStringToObject(c, "app_id", f->app_id ? f->app_id : "") &&
             cJSON_AddStringToObject(c, "notification_platform", f->platform ? f->platform : "none") &&
             (f->token ? cJSON_AddStringToObject(c, "notification_token", f->token) != NULL
                       : cJSON_AddNullToObject(c, "notification_token") != NULL) &&
             add_credential_sid(c, f) == 0;
    }
    if (!ok) {
        cJSON_Delete(c);
        return NULL;
    }
    return c;
}

cJSON *emu_render_factor(const emu_factor *f, const char *account_sid, const char *host, cJSON *binding) {
    const emu_entity *e = f->entity;
    char created[21], updated[21];
    emu_iso8601(f->created, created);
    emu_iso8601(f->updated, updated);
    size_t ulen = strlen(host) + strlen(e->identity) + 128;
    char *url = malloc(ulen);
    cJSON *j = cJSON_CreateObject();
    cJSON *config = config_json(f);
    cJSON *meta = f->metadata ? cJSON_Duplicate(f->metadata, 1) : cJSON_CreateNull();
    if (!url || !j || !config || !meta) goto fail;
    const char *vals[] = {e->service_sid, e->identity, f->sid};
    if (emu_row_url(url, ulen, host, "fetch_factor", vals) != 0) goto fail;
    if (!cJSON_AddStringToObject(j, "sid", f->sid) ||
        !cJSON_AddStringToObject(j, "account_sid", account_sid) ||
        !cJSON_AddStringToObject(j, "service_sid", e->service_sid) ||
        !cJSON_AddStringToObject(j, "entity_sid", e->sid) ||
        !cJSON_AddStringToObject(j, "identity", e->identity))
        goto fail;
    if (binding) {
        cJSON *b = binding;
        binding = NULL;
        if (emu_json_add(j, "binding", b) != 0 || !cJSON_AddNullToObject(j, "options")) goto fail;
    }
    if (!cJSON_AddStringToObject(j, "date_created", created) ||
        !cJSON_AddStringToObject(j, "date_updated", updated) ||
        !cJSON_AddStringToObject(j, "friendly_name", f->friendly_name ? f->friendly_name : "") ||
        !cJSON_AddStringToObject(j, "status", f->verified ? "verified" : "unverified") ||
        !cJSON_AddStringToObject(j, "factor_type", f->type == EMU_TOTP ? "totp" : "push"))
        goto fail;
    cJSON *c = config, *m = meta;
    config = meta = NULL;
    if (emu_json_add(j, "config", c) != 0) {
        cJSON_Delete(m);
        goto fail;
    }
    if (emu_json_add(j, "metadata", m) != 0 || !cJSON_AddStringToObject(j, "url", url)) goto fail;
    free(url);
    return j;
fail:
    free(url);
    cJSON_Delete(j);
    cJSON_Delete(config);
    cJSON_Delete(meta);
    cJSON_Delete(binding);
    return NULL;
}

/* ------------------------------------------------ entities, challenges, services */

cJSON *emu_render_entity(const emu_entity *e, const char *account_sid, const char *host) {
    char created[21], updated[21], url[512], fac[560], chl[560];
    emu_iso8601(e->created, created);
    emu_iso8601(e->updated, updated);
    const char *vals[] = {e->service_sid, e->identity};
    if (emu_row_url(url, sizeof url, host, "fetch_entity", vals) != 0) return NULL;
    snprintf(fac, sizeof fac, "%s/Factors", url);
    snprintf(chl, sizeof chl, "%s/Challenges", url);
    cJSON *j = cJSON_CreateObject(), *links = cJSON_CreateObject();
    if (!j || !links || !cJSON_AddStringToObject(j, "sid", e->sid) ||
        !cJSON_AddStringToObject(j, "identity", e->identity) ||
        !cJSON_AddStringToObject(j, "account_sid", account_sid) ||
        !cJSON_AddStringToObject(j, "service_sid", e->service_sid) ||
        !cJSON_AddStringToObject(j, "date_created", created) ||
        !cJSON_AddStringToObject(j, "date_updated", updated) || !cJSON_AddStringToObject(j, "url", url) ||
        !cJSON_AddStringToObject(links, "factors", fac) || !cJSON_AddStringToObject(links, "challenges", chl)) {
        cJSON_Delete(j);
        cJSON_Delete(links);
        return NULL;
    }
    if (emu_json_add(j, "links", links) != 0) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

static int add_date(cJSON *j, const char *name, int64_t t, int present) {
    char buf[21];
    if (!present) return cJSON_AddNullToObject(j, name) ? 0 : -1;
    emu_iso8601(t, buf);
    return cJSON_AddStringToObject(j, name, buf) ? 0 : -1;
}

static int add_copy(cJSON *j, const char *name, const cJSON *v) {
    return emu_json_add(j, name, v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
}

static const char *const challenge_status_names[] = {"pending", "approved", "denied", "expired"};

cJSON *emu_render_challenge(const emu_challenge *ch, const char *account_sid, const char *host, int64_t now) {
    const emu_entity *e = ch->entity;
    char url[512], notif[560];
    const char *vals[] = {e->service_sid, e->identity, ch->sid};
    if (emu_row_url(url, sizeof url, host, "fetch_challenge", vals) != 0) return NULL;
    snprintf(notif, sizeof notif, "%s/Notifications", url);
    int status = emu_challenge_status(ch, now);
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    int ok = cJSON_AddStringToObject(j, "sid", ch->sid) && cJSON_AddStringToObject(j, "account_sid", account_sid) &&
             cJSON_AddStringToObject(j, "service_sid", e->service_sid) &&
             cJSON_AddStringToObject(j, "entity_sid", e->sid) && cJSON_AddStringToObject(j, "identity", e->identity) &&
             cJSON_AddStringToObject(j, "factor_sid", ch->factor_sid) &&
             add_date(j, "date_created", ch->created, 1) == 0 && add_date(j, "date_updated", ch->updated, 1) == 0 &&
             add_date(j, "date_responded", ch->responded, ch->responded != 0) == 0 &&
             add_date(j, "expiration_date", ch->expires, 1) == 0 &&
             cJSON_AddStringToObject(j, "status", challenge_status_names[status]) &&
             (ch->responded ? cJSON_AddStringToObject(j, "responded_reason", "none") != NULL
                            : cJSON_AddNullToObject(j, "responded_reason") != NULL);
    if (ok && ch->has_details) {
        cJSON *d = cJSON_CreateObject();
        ok = emu_json_add(j, "details", d) == 0 &&
             (ch->details_message ? cJSON_AddStringToObject(d, "message", ch->details_message) != NULL
                                  : cJSON_AddNullToObject(d, "message") != NULL) &&
             (ch->details_fields ? add_copy(d, "fields", ch->details_fields) == 0
                                 : emu_json_add(d, "fields", cJSON_CreateArray()) == 0) &&
             add_date(d, "date", ch->created, 1) == 0;
    } else if (ok) {
        ok = cJSON_AddNullToObject(j, "details") != NULL;
    }
    ok = ok && add_copy(j, "hidden_details", ch->hidden_details) == 0 && add_copy(j, "metadata", ch->metadata) == 0 &&
         cJSON_AddStringToObject(j, "factor_type", ch->factor_type == EMU_TOTP ? "totp" : "push") &&
         cJSON_AddStringToObject(j, "url", url);
    cJSON *links = ok ? cJSON_CreateObject() : NULL;
    ok = ok && emu_json_add(j, "links", links) == 0 && cJSON_AddStringToObject(links, "notifications", notif);
    if (!ok) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

/* Service settings: every parameter of UpdateService (the operation table)
 * is a field of the service's JSON: "Push.IncludeDate" -> push.include_date,
 * "Passkeys.RelyingParty.Id" -> passkeys.relying_party.id; typed by the
 * parameter (booleans, integers, comma-separated lists as arrays), with the
 * value Twilio answers for a setting never given (the parameter's `def`;
 * none: null). */

/* "RelyingParty" -> "relying_party" (the generator's rule for Lua names:
 * api/gen.lua snake()) into out[cap]. */
static void snake(const char *seg, size_t n, char *out, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < n && o + 2 < cap; i++) {
        char ch = seg[i], prev = i ? seg[i - 1] : 0, next = i + 1 < n ? seg[i + 1] : 0;
        int up = ch >= 'A' && ch <= 'Z';
        int lower_prev = (prev >= 'a' && prev <= 'z') || (prev >= '0' && prev <= '9');
        int up_prev = prev >= 'A' && prev <= 'Z', lower_next = next >= 'a' && next <= 'z';
        if (i && up && (lower_prev || (up_prev && lower_next))) out[o++] = '_';
        out[o++] = up ? (char)(ch - 'A' + 'a') : ch;
    }
    out[o] = '\0';
}

/* Comma-separated list -> array of trimmed strings. */
static cJSON *split_list(const char *s) {
    cJSON *a = cJSON_CreateArray();
    while (a && *s) {
        const char *end = strchr(s, ',');
        size_t n = end ? (size_t)(end - s) : strlen(s);
        const char *b = s;
        size_t m = n;
        while (m && *b == ' ') b++, m--;
        while (m && b[m - 1] == ' ') m--;
        if (m) {
            char *t = emu_strndup(b, m);
            if (!t || emu_json_add(a, NULL, cJSON_CreateString(t)) != 0) {
                free(t);
                cJSON_Delete(a);
                return NULL;
            }
            free(t);
        }
        s += n + (end ? 1 : 0);
    }
    return a;
}

static int sv_add(cJSON *obj, const tv_param_spec *p, const char *name, const char *v) {
    if (!v) return cJSON_AddNullToObject(obj, name) ? 0 : -1;
    if (p->flags & TV_PF_CSV) return emu_json_add(obj, name, split_list(v));
    switch (p->type) {
    case TV_PT_BOOL: return cJSON_AddBoolToObject(obj, name, strcasecmp(v, "true") == 0) ? 0 : -1;
    case TV_PT_INT: return cJSON_AddNumberToObject(obj, name, (double)strtol(v, NULL, 10)) ? 0 : -1;
    default: return cJSON_AddStringToObject(obj, name, v) ? 0 : -1;
    }
}

/* obj[name], made as an object when missing; NULL on OOM. */
static cJSON *group(cJSON *obj, const char *name) {
    cJSON *g = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (g) return g;
    g = cJSON_CreateObject();
    return emu_json_add(obj, name, g) == 0 ? g : NULL;
}

cJSON *emu_render_service(const emu_service *svc, const char *account_sid, const char *host) {
    static const char *const link_names[][2] = {
        {"verification_checks", "VerificationCheck"}, {"verifications", "Verifications"},
        {"access_tokens", "AccessTokens"},          {"rate_limits", "RateLimits"},
        {"messaging_configurations", "MessagingConfigurations"}, {"entities", "Entities"},
        {"webhooks", "Webhooks"}};
    char url[300], link[360];
    const char *vals[] = {svc->sid};
    if (emu_row_url(url, sizeof url, host, "fetch_service", vals) != 0) return NULL;
    cJSON *j = cJSON_CreateObject();
    int ok = j && cJSON_AddStringToObject(j, "sid", svc->sid) && cJSON_AddStringToObject(j, "account_sid", account_sid);
    const tv_operation *update = tv_operation_by_name("update_service");
    for (const tv_param_spec *p = update ? update->params : NULL; ok && p && p->name; p++) {
        const char *v = emu_service_val(svc, p->key);
        if (!v) v = p->def;
        if (!v && strcmp(p->key, "Totp.Issuer") == 0) v = emu_service_val(svc, "FriendlyName");
        /* each dotted segment but the last is a nested object */
        cJSON *obj = j;
        char name[64];
        const char *seg = p->key;
        for (const char *dot; ok && (dot = strchr(seg, '.')); seg = dot + 1) {
            snake(seg, (size_t)(dot - seg), name, sizeof name);
            ok = (obj = group(obj, name)) != NULL;
        }
        snake(seg, strlen(seg), name, sizeof name);
        ok = ok && sv_add(obj, p, name, v) == 0;
    }
    ok = ok && add_date(j, "date_created", svc->date_created, 1) == 0 &&
         add_date(j, "date_updated", svc->date_updated, 1) == 0 && cJSON_AddStringToObject(j, "url", url);
    cJSON *links = ok ? cJSON_CreateObject() : NULL;
    ok = ok && emu_json_add(j, "links", links) == 0;
    for (size_t i = 0; ok && i < sizeof link_names / sizeof link_names[0]; i++) {
        snprintf(link, sizeof link, "%s/%s", url, link_names[i][1]);
        ok = cJSON_AddStringToObject(links, link_names[i][0], link) != NULL;
    }
    if (!ok) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}
