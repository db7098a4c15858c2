/* fuzz_emu_form.c -- libFuzzer harness: the emulator's request parsing,
 * without sockets: percent-decoding, form/query parsing and path routing
 * (csrc/emulator/form.c, api.c's emu_call_route) and then the request
 * handler itself (emu_api_handle: validation with the core's rules, the
 * store, TOTP checks, rendering) on an in-process emu_server.
 *
 * Input: byte 0 = flags: method (bits 0-1: GET, POST, DELETE, PUT), 0x04 a
 * valid Authorization header (else the next field is the header), 0x08 a
 * form Content-Type, 0x10 a canned path to a live factor (0x20: its list
 * route instead; the body length's parity picks
 * the factor), 0x40 commit, 0x80 the control API (/__emulator/...)
 * instead; then fields (see fuzz.h): [authorization], [path], query, and
 * the rest is the body.
 * Invariants: the parsers' outputs are NUL-terminated copies of the given
 * lengths; every answer has a status 100..599 and a JSON body that parses.
 * The store is reset every 256 inputs so state stays small. */
#include <openssl/evp.h>

#include "emulator/emu.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static emu_server fz_srv;
static int fz_srv_ready;
static char fz_authz[128];
static char fz_paths[2][160]; /* instance routes of a TOTP and a push factor */
static unsigned long fz_emu_runs;

#define FZ_SVC "VA0123456789abcdef0123456789abcdef"
#define FZ_IDN "user-0123-abcd"

static void fz_emu_call(const char *method, const char *path, const char *body, emu_response *r) {
    emu_call c;
    memset(&c, 0, sizeof c);
    FZ_ASSERT(emu_call_route(&c, method, path) == 0);
    c.host = "127.0.0.1:8080";
    c.authorization = fz_authz;
    c.form_type_ok = 1;
    if (body) FZ_ASSERT(emu_form_parse(body, strlen(body), &c.form) == 0);
    memset(r, 0, sizeof *r);
    r->status = 200;
    r->content_type = "application/json";
    emu_api_handle(&fz_srv, &c, 1, NULL, r);
    emu_call_free(&c);
}

/* Create the two live factors the canned paths point at. */
static void fz_emu_populate(void) {
    static const char *const forms[2] = {
        "FactorType=totp&FriendlyName=fuzz+totp",
        /* a real P-256 SubjectPublicKeyInfo: the emulator validates it */
        "FactorType=push&FriendlyName=fuzz+push&Binding.Alg=ES256&Binding.PublicKey="
        "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEgppAKlmrc7GMX7nEKq9%2BRy"
        "WZ4IO%2FSoqKN4z%2FczUxzePAKNfezM7zU90PnAfZoLq7XxgmHxr9d4S64Kkdm8lmkQ%3D%3D"
        "&Config.SdkVersion=1.0&Config.AppId=com.example.app&Config.NotificationPlatform=none"};
    for (int i = 0; i < 2; i++) {
        emu_response r;
        fz_emu_call("POST", "/v2/Services/" FZ_SVC "/Entities/" FZ_IDN "/Factors", forms[i], &r);
        FZ_ASSERT(r.status == 201 && r.body);
        cJSON *j = cJSON_ParseWithLength(r.body, r.len);
        const cJSON *sid = cJSON_GetObjectItemCaseSensitive(j, "sid");
        FZ_ASSERT(cJSON_IsString(sid));
        snprintf(fz_paths[i], sizeof fz_paths[i], "/v2/Services/%s/Entities/%s/Factors/%s", FZ_SVC, FZ_IDN,
                 sid->valuestring);
        cJSON_Delete(j);
        emu_response_free(&r);
    }
}

static void fz_emu_init(void) {
    emu_config cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.account_sid, sizeof cfg.account_sid, "%s", "AC0123456789abcdef0123456789abcdef");
    cfg.auth_token = strdup("fuzz-token");
    FZ_ASSERT(cfg.auth_token != NULL);
    FZ_ASSERT(emu_server_init(&fz_srv, &cfg) == 0);
    unsigned char b64[96];
    static const char cred[] = "AC0123456789abcdef0123456789abcdef:fuzz-token";
    EVP_EncodeBlock(b64, (const unsigned char *)cred, (int)(sizeof cred - 1));
    snprintf(fz_authz, sizeof fz_authz, "Basic %s", (const char *)b64);
    fz_emu_populate();
    fz_srv_ready = 1;
}

static void fz_check_kvlist(const emu_kvlist *l) {
    for (size_t i = 0; i < l->n; i++) {
        FZ_ASSERT(l->items[i].key && l->items[i].key[l->items[i].klen] == '\0');
        FZ_ASSERT(l->items[i].val && l->items[i].val[l->items[i].vlen] == '\0');
    }
}

static void fz_check_response(const emu_response *r) {
    FZ_ASSERT(r->status >= 100 && r->status <= 599);
    if (r->body) {
        cJSON *j = cJSON_ParseWithLength(r->body, r->len);
        FZ_ASSERT(j != NULL);
        cJSON_Delete(j);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const methods[] = {"GET", "POST", "DELETE", "PUT"};
    if (!fz_srv_ready) fz_emu_init();
    fz_in in = {data, size};
    int flags = fz_byte(&in);
    const char *method = methods[flags & 3];
    size_t alen = 0, plen = 0, qlen = 0, blen = 0;
    char *authz = (flags & 0x04) ? NULL : fz_take(&in, &alen, 1);
    char *path = (flags & 0x10) ? NULL : fz_take(&in, &plen, 1);
    char *query = fz_take(&in, &qlen, 0);
    char *body = fz_rest(&in, &blen, 0);

    /* the parsers on their own */
    char *dec = NULL;
    size_t dlen = 0;
    int rc = emu_pct_decode(body, blen, flags & 1, &dec, &dlen);
    FZ_ASSERT(rc == 0 || rc == -2);
    if (rc == 0) {
        FZ_ASSERT(dlen <= blen && dec[dlen] == '\0');
        free(dec);
    }

    if (flags & 0x80) { /* the control API: JSON bodies (faults, clock, seed) */
        char cpath[96];
        static const char *const cp[] = {"faults", "clock", "requests", "stats", "reset", "seed", "x", ""};
        snprintf(cpath, sizeof cpath, "/__emulator/%s", cp[(flags >> 3) & 7]);
        emu_response r;
        memset(&r, 0, sizeof r);
        r.status = 200;
        r.content_type = "application/json";
        emu_control_handle(&fz_srv, method, cpath, body, blen, &r);
        fz_check_response(&r);
        emu_response_free(&r);
    } else {
        emu_call c;
        memset(&c, 0, sizeof c);
        const char *p = path ? path : (flags & 0x20) ? "/v2/Services/" FZ_SVC "/Entities/" FZ_IDN "/Factors"
                                                       : fz_paths[blen & 1];
        const char *seg[9];
        size_t seglen[9];
        size_t nseg = emu_path_split(p, strlen(p), seg, seglen, 8);
        FZ_ASSERT(nseg <= 9);
        for (size_t i = 0; i < nseg && i < 8; i++) FZ_ASSERT(seg[i] >= p && seg[i] + seglen[i] <= p + strlen(p));
        FZ_ASSERT(emu_call_route(&c, method, p) == 0);
        c.host = "127.0.0.1:8080";
        c.authorization = authz ? authz : fz_authz;
        rc = emu_form_parse(query, qlen, &c.query);
        FZ_ASSERT(rc == 0 || rc == -2 || rc == -3);
        FZ_ASSERT(rc != -3 || c.query.n == 0); /* too many pairs: nothing appended */
        FZ_ASSERT(c.query.n <= EMU_FORM_MAX_PAIRS);
        fz_check_kvlist(&c.query);
        c.bad_query = rc == -2;
        if (rc == -3) c.too_big = 1;
        c.form_type_ok = blen == 0 || (flags & 0x08);
        if (blen > 0 && (flags & 0x08)) {
            rc = emu_form_parse(body, blen, &c.form);
            FZ_ASSERT(rc == 0 || rc == -2 || rc == -3);
            FZ_ASSERT(rc != -3 || c.form.n == 0);
            FZ_ASSERT(c.form.n <= EMU_FORM_MAX_PAIRS);
            fz_check_kvlist(&c.form);
            if (rc == -3) c.too_big = 1;
            if (rc == -2) c.bad_form = 1;
            if (rc != 0) emu_kvlist_free(&c.form);
        }
        emu_response r;
        memset(&r, 0, sizeof r);
        r.status = 200;
        r.content_type = "application/json";
        emu_api_handle(&fz_srv, &c, (flags & 0x40) != 0, NULL, &r);
        fz_check_response(&r);
        emu_response_free(&r);
        emu_call_free(&c);
    }

    if (++fz_emu_runs % 256 == 0) {
        pthread_mutex_lock(&fz_srv.lock);
        emu_reset(&fz_srv);
        pthread_mutex_unlock(&fz_srv.lock);
        fz_emu_populate();
    }
    free(authz);
    free(path);
    free(query);
    free(body);
    return 0;
}
