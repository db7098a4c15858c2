-- api/passkey_factors.lua -- Passkeys factors: a WebAuthn credential as a
-- factor (CreateNewFactorPasskey, UpdatePasskeysFactor).  JSON bodies
-- (body = "json"): the Lua names are the JSON names, and the table is the
-- body.  Format: api/README.md.
local R = common.rules
local PASSKEYS = "/v2/Services/{ServiceSid}/Passkeys"

local attachment = { "platform", "cross-platform", "any" }
local requirement = { "required", "preferred", "discouraged" }

return {
  resource = "passkey_factor",
  class = "PasskeyFactor",
  describe = { "factor_type", "status" },
  doc = [[
Passkey factor objects, from @{Client:create_passkey_factor} and
@{Client:update_passkey_factor} (@{Client:verify_passkey_factor}).
Plain tables with the fields of a factor (`sid`, `identity`, `status`,
`factor_type = "passkeys"`, `config` with `relying_party`,
`authenticator_attachment`, `discoverable_credentials`,
`user_verification`, ...) and, from creation only, `options`: the WebAuthn
`PublicKeyCredentialCreationOptions` to hand to
`navigator.credentials.create()` (or `twilio.verify.passkey`), exactly as
the API gave them. The factor is a factor like the others: @{Client:fetch_factor}
and @{Client:delete_factor} reach it by its identity.]],
  ops = {
    { "create_passkey_factor", "CreateNewFactorPasskey", "POST", PASSKEYS .. "/Factors", body = "json",
      summary = "Create (start registering) a passkey factor: the answer's `options` are the WebAuthn creation options.",
      cli_summary = "create a passkey factor (the answer's options are the WebAuthn creation options)",
      doc = [[
The entity is created with its first factor. The answer carries `options`
(`{ publicKey = PublicKeyCredentialCreationOptions }`), which the API
returns only here: the browser's `navigator.credentials.create()` (or
@{twilio.verify.passkey.new}) makes the credential from them, and
@{Client:verify_passkey_factor} completes the registration. `config` may
be left out when the service has its `passkeys_*` settings (codes 60371
relying party, 60393 authenticator criteria when neither gives them).]],
      returns_doc = "with `options`",
      usage = [[
local f = assert(client:create_passkey_factor(SVC, "user-0001", { friendly_name = "Ann's laptop",
  config = { relying_party = { id = "example.com", name = "Example", origins = { "https://example.com" } },
             authenticator_attachment = "platform", discoverable_credentials = "preferred",
             user_verification = "preferred" } }))
send_to_browser(f.options.publicKey)]],
      examples = { "passkey-factors create user-0001 --friendly-name laptop --json",
                   "passkey-factors create user-0001 --friendly-name laptop --config-relying-party-id example.com "
                     .. "--config-relying-party-origin https://example.com --json | jq .options" },
      params = {
        { "friendly_name", "text", required = true, min = 1, max = 64, metavar = "NAME",
          rule = 'library: as a factor\'s FriendlyName ("It can be up to 64 characters", CreateNewFactor)',
          help = "a name for the factor" },
        { "identity", "identity", required = true, positional = true, rule = R.IDENTITY,
          help = "the entity's identity (created with its first factor)" },
        { "config", "object", help = "the WebAuthn settings of the factor (default: the service's passkeys_* settings)",
          fields = {
            { "relying_party", "object", help = "the relying party: your site", fields = {
              { "id", "text", min = 1, max = 253, metavar = "DOMAIN",
                rule = "library: a relying party id is a domain (WebAuthn L2 5.4.2), at most 253 characters",
                help = "the relying party id: your domain, without scheme or port" },
              { "name", "text", min = 1, max = 255, metavar = "NAME",
                rule = "library: bounded at 255 characters", help = "the relying party's name, as authenticators show it" },
              { "origins", "text", array = true, min = 1, max = 2048, max_items = 32, metavar = "ORIGIN",
                rule = "library: origins are URLs (at most 2048 characters, 32 of them)",
                help = "an origin the credential may be used from (https://example.com)" },
            } },
            { "authenticator_attachment", "enum", enum = attachment, help = "which authenticators may register" },
            { "discoverable_credentials", "enum", enum = requirement,
              help = "whether the credential must be discoverable (resident)" },
            { "user_verification", "enum", enum = requirement, help = "whether the authenticator must verify the user" },
          } },
      } },

    { "update_passkey_factor", "UpdatePasskeysFactor", "POST", PASSKEYS .. "/VerifyFactor", body = "json",
      summary = "Verify a passkey factor: the credential the authenticator made from the creation options.",
      cli_summary = "verify a passkey factor with the authenticator's credential (--body FILE)",
      doc = [[
The registration's second step (also @{Client:verify_passkey_factor}): the
params table is the `PublicKeyCredential` that
`navigator.credentials.create()` (or @{twilio.verify.passkey.new}) made from
the creation options, its binary fields base64url (`id`, `rawId`,
`response.attestationObject`, `response.clientDataJSON`). Twilio checks the
attestation and answers the factor, `status = "verified"`; `response` is
never logged (it is redacted like a secret).]],
      usage = [[
local cred = assert(authenticator:create(f.options, { origin = "https://example.com" }))
local f2 = assert(client:update_passkey_factor(SVC, cred))   -- f2.status == "verified"]],
      examples = { "passkey-factors update --body credential.json" },
      params = {
        { "id", "text", min = 1, max = 1366, metavar = "B64URL",
          rule = "library: a credential id is at most 1023 bytes (WebAuthn L2 6.5.1), 1366 base64url characters",
          help = "the credential id, base64url" },
        { "rawId", "text", min = 1, max = 2048, metavar = "B64URL",
          rule = "library: the credential id again (base64url; hex in the description's example)",
          help = "the raw credential id" },
        { "authenticatorAttachment", "enum", enum = { "platform", "cross-platform" },
          help = "how the authenticator was attached" },
        { "type", "enum", enum = { "public-key" }, default = "public-key", help = "the credential type" },
        { "response", "object", required = true, secret = true,
          help = "the AuthenticatorAttestationResponse (never logged)", fields = {
            { "attestationObject", "text", min = 1, max = 65536, metavar = "B64URL",
              rule = "library: bounded at 64 KiB (an attestation object with `none` is some 200 bytes)",
              help = "the CBOR attestation object, base64url" },
            { "clientDataJSON", "text", min = 1, max = 16384, metavar = "B64URL",
              rule = "library: bounded at 16 KiB", help = "the client data JSON, base64url" },
            { "transports", "enum", array = true, enum = { "usb", "nfc", "ble", "smart-card", "internal", "hybrid" },
              help = "how the client may reach the authenticator" },
          } },
      } },
  },
}
