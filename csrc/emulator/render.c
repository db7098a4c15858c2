/* render.c -- JSON of factors and errors; the emu_response helpers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"

int emu_json_add(cJSON *obj, const char *name, cJSON *item) {
    if (!item) return -1;
    if (!(name ? cJSON_AddItemToObject(obj, name, item) : cJSON_AddItemToArray(obj, item))) {
        cJSON_Delete(item);
        return -1;
    }
    return 0;
}

void emu_response_free(emu_response *r) {
    if (!r) return;
    free(r->body);
    r->body = NULL;
    r->len = 0;
    for (size_t i = 0; i < r->nheaders; i++) free(r->headers[i].value);
    r->nheaders = 0;
}

/* Out of memory while building r: it becomes a bodiless 500 (the server
 * sends a static Twilio error body). */
static int to_oom(emu_response *r) {
    emu_response_free(r);
    r->status = 500;
    r->content_type = "application/json";
    return -1;
}

int emu_response_header(emu_response *r, const char *name, const char *value) {
    size_t i = 0;
    while (i < r->nheaders && strcmp(r->headers[i].name, name) != 0) i++;
    if (i == sizeof r->headers / sizeof r->headers[0]) return to_oom(r);
    char *v = emu_strdup(value);
    if (!v) return to_oom(r);
    if (i < r->nheaders) {
        free(r->headers[i].value);
    } else {
        r->headers[i].name = name;
        r->nheaders++;
    }
    r->headers[i].value = v;
    return 0;
}

void emu_response_json(emu_response *r, int status, cJSON *j) {
    free(r->body);
    r->body = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!r->body) {
        r->status = 500; /* out of memory: the server sends a static body */
        r->len = 0;
        r->content_type = "application/json";
        return;
    }
    r->status = status;
    r->len = strlen(r->body);
    r->content_type = "application/json";
}

void emu_response_error(emu_response *r, int status, long code, const char *message, cJSON *details) {
    char more[96];
    snprintf(more, sizeof more, "https://www.twilio.com/docs/errors/%ld", code);
    cJSON *j = cJSON_CreateObject();
    if (j && cJSON_AddNumberToObject(j, "code", (double)code) &&
        cJSON_AddStringToObject(j, "message", message) && cJSON_AddStringToObject(j, "more_info", more) &&
        cJSON_AddNumberToObject(j, "status", status)) {
        if (details) {
            cJSON *d = details;
            details = NULL;
            if (emu_json_add(j, "details", d) != 0) {
                cJSON_Delete(j);
                j = NULL;
            }
        }
    }
    cJSON_Delete(details);
    emu_response_json(r, status, j);
}

const char *emu_reason(int status) {
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    }
    if (status >= 500) return "Server Error";
    if (status >= 400) return "Client Error";
    return "Unknown";
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
                       : cJSON_AddNullToObject(c, "notification_token") != NULL);
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
    snprintf(url, ulen, "http://%s/v2/Services/%s/Entities/%s/Factors/%s", host, e->service_sid,
             e->identity, f->sid);
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
