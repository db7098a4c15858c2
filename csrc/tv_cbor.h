/*
 * tv_cbor.h -- bounded CBOR (RFC 8949) loading on libcbor, for the WebAuthn
 * structures: an attestation object (a map), a COSE_Key (RFC 9052 sec. 7)
 * inside authenticator data, a virtual authenticator's export.  libcbor does
 * the decoding; this file only refuses, before libcbor allocates anything,
 * what the WebAuthn structures never are and what would make a small input
 * cost a large allocation: a declared array or map longer than the bytes
 * left could hold, indefinite lengths (CTAP2's canonical CBOR has none),
 * tags, nesting deeper than TV_CBOR_MAX_DEPTH.  No global state.
 */
#ifndef TV_CBOR_H
#define TV_CBOR_H

#include <stddef.h>
#include <stdint.h>

#include <cbor.h>

#if defined(__GNUC__) /* internal to the module: only luaopen_twilio_verify_core is exported, */
#pragma GCC visibility push(hidden) /* so calls between files are direct, with no PLT */
#endif

#define TV_CBOR_MAX_DEPTH 8

/* The length in bytes of the first CBOR item of d[0..n) into *len, walking
 * it with libcbor's streaming decoder (no allocation).  0, or -1 when it is
 * malformed, truncated, or breaks one of the limits above. */
int tv_cbor_item_len(const unsigned char *d, size_t n, size_t *len);

/* The first item of d[0..n), loaded by libcbor after tv_cbor_item_len
 * accepted it; *used (may be NULL) its length.  NULL when malformed or on
 * out of memory.  Release with cbor_decref. */
cbor_item_t *tv_cbor_load(const unsigned char *d, size_t n, size_t *used);

/* A definite map's value for an integer key / a text key; NULL when absent
 * (or m is no map). */
cbor_item_t *tv_cbor_map_int(const cbor_item_t *m, int64_t key);
cbor_item_t *tv_cbor_map_str(const cbor_item_t *m, const char *key);
/* 1 when the map's keys are all integers or text strings and none repeats
 * (CTAP2 canonical CBOR), else 0. */
int tv_cbor_map_keys_ok(const cbor_item_t *m);
/* An integer item's value (major types 0 and 1).  0, or -1 when it is none
 * or out of int64_t range. */
int tv_cbor_int(const cbor_item_t *i, int64_t *out);
/* A definite byte string / text string: its bytes.  0, or -1 when it is not one. */
int tv_cbor_bytes(const cbor_item_t *i, const unsigned char **p, size_t *n);
int tv_cbor_text(const cbor_item_t *i, const char **p, size_t *n);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#endif
