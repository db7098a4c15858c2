/*
 * seed.c -- preload factors from a JSON file (--seed FILE).
 *
 * Shape (see doc/emulator.md): {"factors": [FACTOR, ...]} or a bare array.
 * FACTOR: service_sid, identity, factor_type, friendly_name (required);
 * sid, status, config, binding.secret (totp), metadata, count (optional).
 * Values are checked with the same tv_validate rules as API requests.
 */
#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "tv_ops.h"
#include "tv_validate.h"

cJSON *emu_seed_read(const char *path, char *errbuf, size_t errlen) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(errbuf, errlen, "cannot open seed file %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, cap);
            if (!nb) {
                snprintf(errbuf, errlen, "out of memory reading %s", path);
                free(buf);
                fclose(fp);
                return NULL;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, fp);
        len += n;
        if (n == 0) break;
    }
    int rd_err = ferror(fp);
    fclose(fp);
    if (rd_err) {
        snprintf(errbuf, errlen, "cannot read seed file %s", path);
        free(buf);
        return NULL;
    }
    cJSON *j = cJSON_ParseWithLength(buf, len);
    free(buf);
    if (!j) snprintf(errbuf, errlen, "seed file %s is not valid JSON", path);
    return j;
}

static const char *str(const cJSON *o, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Check a seed value with the CreateNewFactor rule of wire key `key`. */
static int check(const char *key, const cJSON *v, char *out, size_t outlen, size_t idx, char *errbuf,
                 size_t errlen) {
    const tv_param_spec *p = tv_param_by_key(tv_operation_by_name("create_factor")->params, key);
    if (cJSON_IsNumber(v)) snprintf(out, outlen, "%.0f", v->valuedouble);
    else if (cJSON_IsString(v)) snprintf(out, outlen, "%s", v->valuestring);
    else {
        snprintf(errbuf, errlen, "seed factor %zu: %s must be a string or number", idx, key);
        return -1;
    }
    tv_error err = TV_ERROR_INIT;
    if (tv_param_check(p, out, strlen(out), &err) != 0) {
        snprintf(errbuf, errlen, "seed factor %zu: %s", idx, err.message);
        tv_error_clear(&err);
        return -1;
    }
    return 0;
}

static int dupset(char **dst, const char *src) {
    if (!src) return 0;
    *dst = emu_strdup(src);
    return *dst ? 0 : -1;
}

static int seed_one(emu_server *srv, const cJSON *o, size_t idx, long copy, long count, char *errbuf,
                    size_t errlen) {
    tv_error err = TV_ERROR_INIT;
    const char *service = str(o, "service_sid"), *identity = str(o, "identity");
    const char *type = str(o, "factor_type"), *name = str(o, "friendly_name");
    const char *sid = count == 1 ? str(o, "sid") : NULL, *status = str(o, "status");
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(o, "config");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(o, "metadata");
    const cJSON *binding = cJSON_GetObjectItemCaseSensitive(o, "binding");
    if (!service || !identity || !type || !name) {
        snprintf(errbuf, errlen, "seed factor %zu: service_sid, identity, factor_type and friendly_name are required", idx);
        return -1;
    }
    if (tv_check_sid("service_sid", "VA", service, strlen(service), &err) || tv_check_identity(identity, strlen(identity), &err) ||
        (sid && tv_check_sid("sid", "YF", sid, strlen(sid), &err))) {
        snprintf(errbuf, errlen, "seed factor %zu: %s", idx, err.message);
        tv_error_clear(&err);
        return -1;
    }
    if (strcmp(type, "totp") != 0 && strcmp(type, "push") != 0) {
        snprintf(errbuf, errlen, "seed factor %zu: factor_type must be push or totp", idx);
        return -1;
    }
    if (status && strcmp(status, "verified") != 0 && strcmp(status, "unverified") != 0) {
        snprintf(errbuf, errlen, "seed factor %zu: status must be verified or unverified", idx);
        return -1;
    }
    if (config && !cJSON_IsObject(config)) {
        snprintf(errbuf, errlen, "seed factor %zu: config must be an object", idx);
        return -1;
    }
    if (meta && !cJSON_IsObject(meta) && !cJSON_IsNull(meta)) {
        snprintf(errbuf, errlen, "seed factor %zu: metadata must be an object or null", idx);
        return -1;
    }
    char fname[96], tmp[300];
    if (count > 1) snprintf(fname, sizeof fname, "%.50s %ld", name, copy + 1);
    else snprintf(fname, sizeof fname, "%s", name);
    cJSON fn_json = {0};
    fn_json.type = cJSON_String;
    fn_json.valuestring = fname;
    if (check("FriendlyName", &fn_json, tmp, sizeof tmp, idx, errbuf, errlen)) return -1;

    emu_factor *f = emu_factor_new();
    if (!f || dupset(&f->friendly_name, fname)) goto oom;
    f->type = strcmp(type, "totp") == 0 ? EMU_TOTP : EMU_PUSH;
    f->verified = status && strcmp(status, "verified") == 0;
    if (sid) snprintf(f->sid, sizeof f->sid, "%s", sid);
    if (cJSON_IsObject(meta) && !(f->metadata = cJSON_Duplicate(meta, 1))) goto oom;
    if (f->type == EMU_TOTP) {
        static const char *const keys[][2] = {{"alg", "Config.Alg"}, {"skew", "Config.Skew"},
                                              {"code_length", "Config.CodeLength"}, {"time_step", "Config.TimeStep"}};
        for (size_t k = 0; config && k < 4; k++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(config, keys[k][0]);
            if (!v) continue;
            if (check(keys[k][1], v, tmp, sizeof tmp, idx, errbuf, errlen)) goto fail;
            if (k == 0) tv_totp_alg_parse(tmp, strlen(tmp), &f->alg, &err);
            else if (k == 1) f->skew = atoi(tmp);
            else if (k == 2) f->digits = atoi(tmp);
            else f->step = atoi(tmp);
        }
        const char *secret = cJSON_IsObject(binding) ? str(binding, "secret") : NULL;
        if (secret) {
            if (tv_base32_decode(secret, strlen(secret), &f->secret, &f->secret_len, &err) != 0) {
                snprintf(errbuf, errlen, "seed factor %zu: %s", idx, err.message);
                tv_error_clear(&err);
                goto fail;
            }
        } else {
            f->secret_len = 20;
            if (!(f->secret = malloc(20))) goto oom;
            if (RAND_bytes(f->secret, 20) != 1) {
                snprintf(errbuf, errlen, "RAND_bytes failed");
                goto fail;
            }
        }
    } else {
        static const char *const keys[][2] = {{"sdk_version", "Config.SdkVersion"}, {"app_id", "Config.AppId"},
                                              {"notification_platform", "Config.NotificationPlatform"},
                                              {"notification_token", "Config.NotificationToken"}};
        char **dst[] = {&f->sdk_version, &f->app_id, &f->platform, &f->token};
        for (size_t k = 0; k < 4; k++) {
            const cJSON *v = config ? cJSON_GetObjectItemCaseSensitive(config, keys[k][0]) : NULL;
            if (!v || cJSON_IsNull(v)) continue;
            if (check(keys[k][1], v, tmp, sizeof tmp, idx, errbuf, errlen)) goto fail;
            if (dupset(dst[k], tmp)) goto oom;
        }
        if (!f->sdk_version && dupset(&f->sdk_version, "1.0")) goto oom;
        if (!f->app_id && dupset(&f->app_id, "com.example.app")) goto oom;
        if (!f->platform && dupset(&f->platform, "none")) goto oom;
    }
    int64_t now = emu_now(srv);
    f->created = f->updated = now;
    emu_entity *e = emu_store_entity_get_or_create(&srv->store, service, identity, now);
    if (!e) goto oom;
    int rc = emu_store_insert(&srv->store, e, f);
    if (rc == -2) {
        snprintf(errbuf, errlen, "seed factor %zu: duplicate sid %s", idx, f->sid);
        goto fail;
    }
    if (rc != 0) goto oom;
    return 0;
oom:
    snprintf(errbuf, errlen, "out of memory loading the seed");
fail:
    emu_factor_free(f);
    return -1;
}

int emu_seed_apply(emu_server *srv, const cJSON *seed, char *errbuf, size_t errlen) {
    const cJSON *list = cJSON_IsArray(seed) ? seed : cJSON_GetObjectItemCaseSensitive(seed, "factors");
    if (!cJSON_IsArray(list)) {
        snprintf(errbuf, errlen, "seed must be {\"factors\": [...]} or an array of factors");
        return -1;
    }
    size_t idx = 0;
    for (const cJSON *o = list->child; o; o = o->next, idx++) {
        if (!cJSON_IsObject(o)) {
            snprintf(errbuf, errlen, "seed factor %zu is not an object", idx);
            return -1;
        }
        static const char *const fields[] = {"service_sid", "identity", "sid", "friendly_name", "factor_type",
                                             "status", "config", "binding", "metadata", "count", NULL};
        for (const cJSON *c = o->child; c; c = c->next) {
            int known = 0;
            for (const char *const *k = fields; *k && !known; k++) known = strcmp(*k, c->string) == 0;
            if (!known) {
                snprintf(errbuf, errlen, "seed factor %zu: unknown field \"%s\"", idx, c->string);
                return -1;
            }
        }
        const cJSON *cnt = cJSON_GetObjectItemCaseSensitive(o, "count");
        long count = 1;
        if (cnt) {
            if (!cJSON_IsNumber(cnt) || cnt->valuedouble < 1 || cnt->valuedouble > 10000000) {
                snprintf(errbuf, errlen, "seed factor %zu: count must be 1..10000000", idx);
                return -1;
            }
            count = (long)cnt->valuedouble;
        }
        for (long k = 0; k < count; k++)
            if (seed_one(srv, o, idx, k, count, errbuf, errlen) != 0) return -1;
    }
    return 0;
}
