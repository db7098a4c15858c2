/* tv_error.c -- the one helper that fills a tv_error. */
#include "tv_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tv_error_clear(tv_error *err) {
    if (!err) return;
    free(err->more_info);
    free(err->details);
    free(err->body);
    free(err->url);
    tv_error init = TV_ERROR_INIT;
    *err = init;
}

int tv_error_set(tv_error *err, tv_kind kind, const char *param, const char *fmt, ...) {
    if (!err) return -1;
    tv_error_clear(err);
    err->kind = kind;
    if (param) snprintf(err->param, sizeof err->param, "%s", param);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    tv_error_clean(err->message); /* a server's or transport's text may be in it */
    return -1;
}

void tv_error_clean(char *s) {
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) *s = ' ';
}

int tv_error_set_str(char **dst, const char *src) {
    char *copy = NULL;
    if (src) {
        size_t n = strlen(src);
        copy = malloc(n + 1);
        if (!copy) return -1;
        memcpy(copy, src, n + 1);
    }
    free(*dst);
    *dst = copy;
    return 0;
}

int tv_error_set_body(tv_error *err, const char *body, size_t len) {
    if (len > TV_ERR_BODY_MAX) len = TV_ERR_BODY_MAX;
    char *copy = malloc(len + 1);
    if (!copy) return -1;
    for (size_t i = 0; i < len; i++) copy[i] = body[i] ? body[i] : '?';
    copy[len] = '\0';
    free(err->body);
    err->body = copy;
    return 0;
}

const char *tv_kind_name(tv_kind kind) {
    switch (kind) {
    case TV_OK: return "ok";
    case TV_EARG: return "invalid_argument";
    case TV_EHTTP: return "http";
    case TV_ETRANSPORT: return "transport";
    case TV_EDECODE: return "decode";
    case TV_ECLOSED: return "closed";
    case TV_ESKIPPED: return "skipped";
    case TV_ENOMEM: return "memory";
    }
    return "unknown";
}
