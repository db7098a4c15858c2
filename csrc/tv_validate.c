/* tv_validate.c -- the rules of the OpenAPI description and the seed. */
#include "tv_validate.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const char *const alg_enum[] = {"sha1", "sha256", "sha512", NULL};
static const char *const platform_enum[] = {"apn", "fcm", "none", NULL};
static const char *const factor_type_enum[] = {"push", "totp", NULL};
static const char *const binding_alg_enum[] = {"ES256", NULL}; /* "Algorithm supported: ES256" */

/* UpdateFactor (seed + OpenAPI UpdateFactorRequest). */
const tv_param_spec tv_params_update[] = {
    {"auth_payload", "AuthPayload", TV_PT_TEXT, 1, 1024, NULL, TV_PF_SECRET},
    {"friendly_name", "FriendlyName", TV_PT_TEXT, 1, 64, NULL, 0},
    {"config_notification_token", "Config.NotificationToken", TV_PT_TEXT, 32, 255, NULL, TV_PF_SECRET},
    {"config_sdk_version", "Config.SdkVersion", TV_PT_TEXT, 1, 64, NULL, 0},
    {"config_time_step", "Config.TimeStep", TV_PT_INT, 20, 60, NULL, 0},
    {"config_skew", "Config.Skew", TV_PT_INT, 0, 2, NULL, 0},
    {"config_code_length", "Config.CodeLength", TV_PT_INT, 3, 8, NULL, 0},
    {"config_alg", "Config.Alg", TV_PT_ENUM, 0, 0, alg_enum, 0},
    {"config_notification_platform", "Config.NotificationPlatform", TV_PT_ENUM, 0, 0, platform_enum, 0},
    {NULL, NULL, TV_PT_TEXT, 0, 0, NULL, 0},
};

/* CreateNewFactor (OpenAPI CreateNewFactorRequest). */
const tv_param_spec tv_params_create[] = {
    {"friendly_name", "FriendlyName", TV_PT_TEXT, 1, 64, NULL, 0},
    {"factor_type", "FactorType", TV_PT_ENUM, 0, 0, factor_type_enum, 0},
    {"binding_alg", "Binding.Alg", TV_PT_ENUM, 0, 0, binding_alg_enum, 0},
    {"binding_public_key", "Binding.PublicKey", TV_PT_TEXT, 1, 4096, NULL, 0},
    {"binding_secret", "Binding.Secret", TV_PT_TEXT, 16, 256, NULL, TV_PF_SECRET},
    {"config_app_id", "Config.AppId", TV_PT_TEXT, 1, 100, NULL, 0},
    {"config_notification_platform", "Config.NotificationPlatform", TV_PT_ENUM, 0, 0, platform_enum, 0},
    {"config_notification_token", "Config.NotificationToken", TV_PT_TEXT, 32, 255, NULL, TV_PF_SECRET},
    {"config_sdk_version", "Config.SdkVersion", TV_PT_TEXT, 1, 64, NULL, 0},
    {"config_time_step", "Config.TimeStep", TV_PT_INT, 20, 60, NULL, 0},
    {"config_skew", "Config.Skew", TV_PT_INT, 0, 2, NULL, 0},
    {"config_code_length", "Config.CodeLength", TV_PT_INT, 3, 8, NULL, 0},
    {"config_alg", "Config.Alg", TV_PT_ENUM, 0, 0, alg_enum, 0},
    {"metadata", "Metadata", TV_PT_JSON, 2, 1024, NULL, 0},
    {NULL, NULL, TV_PT_TEXT, 0, 0, NULL, 0},
};

/* ListFactor query. */
const tv_param_spec tv_params_list[] = {
    {"page_size", "PageSize", TV_PT_INT, 1, 1000, NULL, TV_PF_QUERY},
    {"page", "Page", TV_PT_INT, 0, 2147483647L, NULL, TV_PF_QUERY},
    {"page_token", "PageToken", TV_PT_TEXT, 1, 512, NULL, TV_PF_QUERY},
    {NULL, NULL, TV_PT_TEXT, 0, 0, NULL, 0},
};

const tv_param_spec *tv_param_by_name(const tv_param_spec *set, const char *name) {
    for (; set->name; set++)
        if (strcmp(set->name, name) == 0) return set;
    return NULL;
}

const tv_param_spec *tv_param_by_key(const tv_param_spec *set, const char *key) {
    for (; set->name; set++)
        if (strcmp(set->key, key) == 0) return set;
    return NULL;
}

/* Decode one UTF-8 sequence; returns its length or 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t avail) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t n;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) { n = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; cp = c & 0x07; }
    else return 0;
    if (avail < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
    if (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
    return n;
}

long tv_check_text(const char *name, const char *s, size_t len, tv_error *err) {
    const unsigned char *u = (const unsigned char *)s;
    long chars = 0;
    for (size_t i = 0; i < len;) {
        unsigned c = u[i];
        if (c == 0)
            return tv_error_set(err, TV_EARG, name, "%s must not contain NUL bytes", name);
        if (c < 0x20 || c == 0x7F)
            return tv_error_set(err, TV_EARG, name,
                                "%s must not contain control characters (CR, LF, TAB, ...)", name);
        size_t n = utf8_len(u + i, len - i);
        if (n == 0) return tv_error_set(err, TV_EARG, name, "%s must be valid UTF-8", name);
        i += n;
        chars++;
    }
    return chars;
}

static int parse_long(const char *s, size_t len, long *out) {
    size_t i = 0;
    int neg = 0;
    if (len > 0 && s[0] == '-') { neg = 1; i = 1; }
    if (i == len || len - i > 18) return -1;
    long v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = neg ? -v : v;
    return 0;
}

int tv_param_check(const tv_param_spec *p, const char *val, size_t len, tv_error *err) {
    switch (p->type) {
    case TV_PT_INT: {
        long v;
        if (parse_long(val, len, &v) != 0)
            return tv_error_set(err, TV_EARG, p->name, "%s must be an integer", p->name);
        if (v < p->min || v > p->max) {
            if (p->max == 2147483647L)
                return tv_error_set(err, TV_EARG, p->name, "%s must be >= %ld, got %ld", p->name,
                                    p->min, v);
            return tv_error_set(err, TV_EARG, p->name, "%s must be between %ld and %ld, got %ld",
                                p->name, p->min, p->max, v);
        }
        return 0;
    }
    case TV_PT_ENUM:
        for (const char *const *e = p->enums; *e; e++)
            if (strlen(*e) == len && memcmp(*e, val, len) == 0) return 0;
        {
            char allowed[128] = "";
            size_t used = 0;
            for (const char *const *e = p->enums; *e; e++) {
                size_t n = strlen(*e);
                if (used + n + 3 >= sizeof allowed) break;
                if (used) { memcpy(allowed + used, ", ", 2); used += 2; }
                memcpy(allowed + used, *e, n);
                used += n;
                allowed[used] = '\0';
            }
            return tv_error_set(err, TV_EARG, p->name, "%s must be one of: %s", p->name, allowed);
        }
    case TV_PT_TEXT:
    case TV_PT_JSON: {
        long chars = tv_check_text(p->name, val, len, err);
        if (chars < 0) return -1;
        if (chars < p->min || chars > p->max) {
            if (p->min <= 1 && chars == 0)
                return tv_error_set(err, TV_EARG, p->name, "%s must not be empty", p->name);
            if (p->min <= 1)
                return tv_error_set(err, TV_EARG, p->name, "%s must be at most %ld characters, got %ld",
                                    p->name, p->max, chars);
            return tv_error_set(err, TV_EARG, p->name,
                                "%s must be between %ld and %ld characters, got %ld", p->name, p->min,
                                p->max, chars);
        }
        if (p->type == TV_PT_JSON) {
            cJSON *j = cJSON_ParseWithLength(val, len);
            int ok = j && cJSON_IsObject(j);
            cJSON_Delete(j);
            if (!ok)
                return tv_error_set(err, TV_EARG, p->name, "%s must be a JSON object", p->name);
        }
        return 0;
    }
    }
    return tv_error_set(err, TV_EARG, p->name, "%s has an unknown type", p->name);
}

static int is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int check_sid(const char *name, const char *prefix, const char *s, size_t len, tv_error *err) {
    if (tv_check_text(name, s, len, err) < 0) return -1;
    int ok = len == 34 && s[0] == prefix[0] && s[1] == prefix[1];
    for (size_t i = 2; ok && i < 34; i++) ok = is_hex(s[i]);
    if (!ok)
        return tv_error_set(err, TV_EARG, name,
                            "%s must match ^%s[0-9a-fA-F]{32}$ (34 characters)", name, prefix);
    return 0;
}

int tv_check_service_sid(const char *s, size_t len, tv_error *err) {
    return check_sid("service_sid", "VA", s, len, err);
}

int tv_check_factor_sid(const char *s, size_t len, tv_error *err) {
    return check_sid("sid", "YF", s, len, err);
}

int tv_check_account_sid(const char *s, size_t len, tv_error *err) {
    return check_sid("account_sid", "AC", s, len, err);
}

int tv_check_api_key(const char *s, size_t len, tv_error *err) {
    return check_sid("api_key", "SK", s, len, err);
}

static int is_alnum(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int tv_check_identity(const char *s, size_t len, tv_error *err) {
    if (tv_check_text("identity", s, len, err) < 0) return -1;
    if (len < 8 || len > 64)
        return tv_error_set(err, TV_EARG, "identity",
                            "identity must be between 8 and 64 characters, got %zu", len);
    int ok = is_alnum(s[0]) && is_alnum(s[len - 1]);
    for (size_t i = 0; ok && i < len; i++)
        ok = is_alnum(s[i]) || (s[i] == '-' && i + 1 < len && s[i + 1] != '-');
    if (!ok)
        return tv_error_set(err, TV_EARG, "identity",
                            "identity must be dash (-) separated alphanumeric characters");
    return 0;
}
