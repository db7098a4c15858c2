-- twilio-verify: Twilio Verify v2 Factors for Lua (C core on libcurl + cJSON).
-- Build offline with:  luarocks --lua-version=5.4 make --tree=DIR
rockspec_format = "3.0"
package = "twilio-verify"
version = "scm-1"
source = {
   url = "git+https://github.com/twilio-verify/twilio-verify-lua.git",
}
description = {
   summary = "Twilio Verify v2 Factors (TOTP, push) for Lua, with a C core",
   detailed = [[
Fetch, list, update (verify) and delete Twilio Verify v2 Factors from Lua:
lazy paginated iterators, factor objects, structured errors, retries that
honour Retry-After, TOTP helpers, and a local emulator for offline work.
]],
   license = "MIT",
   homepage = "https://github.com/twilio-verify/twilio-verify-lua",
   labels = { "twilio", "verify", "2fa", "totp", "http" },
}
dependencies = {
   "lua >= 5.1",
}
external_dependencies = {
   CURL = { library = "curl" }, -- header lives in the multiarch include dir on Debian
   CJSON = { header = "cjson/cJSON.h", library = "cjson" },
   OPENSSL = { header = "openssl/hmac.h", library = "crypto" },
   CBOR = { header = "cbor.h", library = "cbor" }, -- libcbor (Debian libcbor-dev): the passkeys' CBOR
}
build = {
   type = "builtin",
   modules = {
      ["twilio.verify"] = "lua/twilio/verify.lua",
      ["twilio.verify.openresty"] = "lua/twilio/verify/openresty.lua",
      ["twilio.verify.webhook"] = "lua/twilio/verify/webhook.lua",
      ["twilio.verify.device"] = "lua/twilio/verify/device.lua",
      ["twilio.verify.passkey"] = "lua/twilio/verify/passkey.lua",
      ["twilio.verify.call"] = "lua/twilio/verify/call.lua",
      ["twilio.verify.objects"] = "lua/twilio/verify/objects.lua",
      ["twilio.verify.pages"] = "lua/twilio/verify/pages.lua",
      ["twilio.verify.batch"] = "lua/twilio/verify/batch.lua",
      ["twilio.verify.cli"] = "lua/twilio/verify/cli.lua",
      ["twilio.verify.cli.args"] = "lua/twilio/verify/cli/args.lua",
      ["twilio.verify.cli.builtins"] = "lua/twilio/verify/cli/builtins.lua",
      ["twilio.verify.cli.commands"] = "lua/twilio/verify/cli/commands.lua",
      ["twilio.verify.cli.common"] = "lua/twilio/verify/cli/common.lua",
      ["twilio.verify.cli.emulator"] = "lua/twilio/verify/cli/emulator.lua",
      ["twilio.verify.cli.help"] = "lua/twilio/verify/cli/help.lua",
      ["twilio.verify.cli.json"] = "lua/twilio/verify/cli/json.lua",
      ["twilio.verify.cli.ops"] = "lua/twilio/verify/cli/ops.lua",
      ["twilio.verify.cli.output"] = "lua/twilio/verify/cli/output.lua",
      ["twilio.verify.core"] = {
         -- keep in sync with csrc/tv_*.c and csrc/lua_*.c (spec/rockspec_spec.lua checks)
         sources = {
            "csrc/tv_batch.c", "csrc/tv_buf.c", "csrc/tv_cbor.c", "csrc/tv_client.c", "csrc/tv_ec.c", "csrc/tv_engine.c",
            "csrc/tv_error.c", "csrc/tv_http.c", "csrc/tv_jwt.c", "csrc/tv_ops.c", "csrc/tv_passkey.c", "csrc/tv_request.c",
            "csrc/tv_response.c",
            "csrc/tv_totp.c", "csrc/tv_validate.c", "csrc/tv_webhook.c",
            "csrc/lua_batch.c", "csrc/lua_box.c", "csrc/lua_client.c", "csrc/lua_core.c", "csrc/lua_device.c", "csrc/lua_error.c",
            "csrc/lua_json.c", "csrc/lua_meta.c", "csrc/lua_ops.c", "csrc/lua_passkey.c", "csrc/lua_totp.c",
            "csrc/lua_transport.c",
            "csrc/lua_webhook.c",
         },
         defines = { "_POSIX_C_SOURCE=200809L", "_DEFAULT_SOURCE" },
         incdirs = { "csrc", "$(CURL_INCDIR)", "$(CJSON_INCDIR)", "$(OPENSSL_INCDIR)", "$(CBOR_INCDIR)" },
         libdirs = { "$(CURL_LIBDIR)", "$(CJSON_LIBDIR)", "$(OPENSSL_LIBDIR)", "$(CBOR_LIBDIR)" },
         libraries = { "curl", "cjson", "crypto", "cbor", "pthread", "m" },
      },
   },
   -- the command; the emulator needs libmicrohttpd and is not built here
   -- (`make` builds it; the command finds it as doc/cli.md says)
   install = {
      bin = { ["twilio-verify"] = "bin/twilio-verify" },
   },
}
