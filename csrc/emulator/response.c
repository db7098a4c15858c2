/*
 * response.c -- the emulator's answers: JSON bodies, Twilio's error shape
 * (code, message, more_info, status, details), headers, and the three
 * answers every part gives (400 60200 naming a parameter, 404 20404, 500
 * out of memory).  The lowest layer of the emulator with util.c, form.c and
 * map.c: it uses none of the others.
 */
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

void emu_oom(emu_response *out) {
    emu_response_error(out, 500, 20500, "Internal Server Error (out of memory)", NULL);
}

void emu_not_found(emu_response *out, const char *raw_path) {
    char msg[512];
    const char *p = raw_path;
    if (strncmp(p, "/v2/", 4) == 0) p += 3;
    snprintf(msg, sizeof msg, "The requested resource %.400s was not found", p);
    emu_response_error(out, 404, 20404, msg, NULL);
}
