#include "emu.h"
void emu_h_create_passkey_factor(const emu_ctx *x, emu_response *out) { (void)x; emu_oom(out); }
void emu_h_update_passkey_factor(const emu_ctx *x, emu_response *out) { (void)x; emu_oom(out); }
void emu_h_create_passkey_challenge(const emu_ctx *x, emu_response *out) { (void)x; emu_oom(out); }
void emu_h_update_passkey_challenge(const emu_ctx *x, emu_response *out) { (void)x; emu_oom(out); }
