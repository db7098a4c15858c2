/* fuzz_passkey_cbor.c -- libFuzzer harness: the CBOR / COSE parsing of the
 * passkeys (issue 21), both sides: the emulator's relying-party parsers
 * (webauthn.c: the attestation object, authenticator data with its COSE_Key,
 * clientDataJSON) and the virtual authenticator's import of an export
 * (tv_passkey.c), all on libcbor through tv_cbor.c's bounded loader.
 *
 * Input: the first byte picks the target, the rest is its bytes.
 * Invariants: every parser answers 0 or -1 (never crashes, never leaks);
 * an attestation object that parses has authenticator data that
 * emu_wa_auth_data reads as a registration or refuses; a COSE key it
 * accepts is an uncompressed point (04 || x || y); an import that succeeds
 * exports to bytes that import again to the same credential. */
#include "fuzz.h"
#include "emulator/emu.h"
#include "tv_cbor.h"
#include "tv_passkey.h"

#include <openssl/crypto.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int which = data[0] % 4;
    const unsigned char *d = data + 1;
    size_t n = size - 1;
    char why[256];
    if (which == 0) { /* an attestation object, then its authenticator data */
        unsigned char *auth = NULL;
        size_t alen = 0;
        int rc = emu_wa_attestation(d, n, &auth, &alen, why, sizeof why);
        FZ_ASSERT(rc == 0 || rc == -1 || rc == -2);
        if (rc == 0) {
            emu_wa_auth a;
            if (emu_wa_auth_data(auth, alen, 1, &a, why, sizeof why) == 0) {
                FZ_ASSERT(a.pub[0] == 0x04 && a.cred_len >= 1 && a.cred_len <= 1023);
                FZ_ASSERT(a.flags & EMU_WA_AT);
            }
            free(auth);
        } else {
            FZ_ASSERT(auth == NULL);
        }
    } else if (which == 1) { /* authenticator data: an assertion's, then a registration's */
        emu_wa_auth a;
        int rc = emu_wa_auth_data(d, n, 0, &a, why, sizeof why);
        FZ_ASSERT(rc == 0 || rc == -1);
        if (rc == 0) FZ_ASSERT(!(a.flags & EMU_WA_AT) && n >= 37);
        rc = emu_wa_auth_data(d, n, 1, &a, why, sizeof why);
        FZ_ASSERT(rc == 0 || rc == -1);
    } else if (which == 2) { /* clientDataJSON as base64url text, and a bare CBOR item */
        emu_wa_client cd;
        int rc = emu_wa_client_data((const char *)d, n, &cd, why, sizeof why);
        FZ_ASSERT(rc == 0 || rc == -1 || rc == -2);
        size_t len = 0;
        if (tv_cbor_item_len(d, n, &len) == 0) FZ_ASSERT(len >= 1 && len <= n);
        size_t used = 0;
        cbor_item_t *item = tv_cbor_load(d, n, &used);
        if (item) {
            FZ_ASSERT(used == len);
            cbor_decref(&item);
        }
    } else { /* the virtual authenticator's import */
        tv_error err = TV_ERROR_INIT;
        size_t used = 0;
        tv_passkey *p = tv_passkey_import(d, n, &used, &err);
        if (p) {
            FZ_ASSERT(used >= 1 && used <= n);
            unsigned char *out = NULL;
            size_t olen = 0;
            FZ_ASSERT(tv_passkey_export(p, &out, &olen, &err) == 0);
            tv_passkey *q = tv_passkey_import(out, olen, NULL, &err);
            FZ_ASSERT(q != NULL);
            size_t l1, l2;
            const unsigned char *i1 = tv_passkey_id(p, &l1), *i2 = tv_passkey_id(q, &l2);
            FZ_ASSERT(l1 == l2 && memcmp(i1, i2, l1) == 0);
            FZ_ASSERT(tv_passkey_sign_count(p) == tv_passkey_sign_count(q));
            OPENSSL_cleanse(out, olen);
            free(out);
            tv_passkey_free(q);
            tv_passkey_free(p);
        } else {
            FZ_ASSERT(err.kind == TV_EARG || err.kind == TV_ENOMEM);
        }
        tv_error_clear(&err);
    }
    return 0;
}
