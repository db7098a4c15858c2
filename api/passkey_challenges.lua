-- api/passkey_challenges.lua -- Passkeys challenges: a WebAuthn sign-in
-- (CreateChallengePasskeys, UpdateChallengePasskeys).  JSON bodies
-- (body = "json").  Format: api/README.md.
local R = common.rules
local PASSKEYS = "/v2/Services/{ServiceSid}/Passkeys"

return {
  resource = "passkey_challenge",
  class = "PasskeyChallenge",
  describe = { "status" },
  doc = [[
Passkey challenge objects, from @{Client:create_passkey_challenge} and
@{Client:update_passkey_challenge} (@{Client:approve_passkey_challenge}):
`sid`, `status`, `identity`, `factor_sid`, `factor_type = "passkeys"`,
`expiration_date`, ... and `options`: the WebAuthn
`PublicKeyCredentialRequestOptions` for `navigator.credentials.get()`.]],
  ops = {
    { "create_passkey_challenge", "CreateChallengePasskeys", "POST", PASSKEYS .. "/Challenges", body = "json",
      summary = "Create a passkey challenge: the answer's `options` are the WebAuthn request options.",
      cli_summary = "create a passkey challenge (the answer's options are the WebAuthn request options)",
      doc = [[
With an `identity` (and a `factor_sid`) the options name the user's
credentials (`allowCredentials`); with neither they are for a
discoverable credential, and the assertion says whose it is. The service
needs its passkeys settings (code 60394 otherwise).]],
      usage = [[
local ch = assert(client:create_passkey_challenge(SVC, { identity = "user-0001" }))
send_to_browser(ch.options.publicKey)]],
      examples = { "passkey-challenges create --identity user-0001 --json | jq .options" },
      params = {
        { "identity", "identity", rule = R.IDENTITY, help = "the entity signing in (none: a discoverable credential)" },
        { "factor_sid", "sid", prefix = "YF", rule = "library: a factor SID, ^YF[0-9a-fA-F]{32}$",
          help = "the passkey factor to sign in with" },
      } },

    { "update_passkey_challenge", "UpdateChallengePasskeys", "POST", PASSKEYS .. "/ApproveChallenge", body = "json",
      summary = "Approve a passkey challenge with the authenticator's assertion.",
      cli_summary = "approve a passkey challenge with the authenticator's assertion (--body FILE)",
      doc = [[
The sign-in's second step (also @{Client:approve_passkey_challenge}): the
params table is the `PublicKeyCredential` that `navigator.credentials.get()`
(or @{twilio.verify.passkey.new}) made from the request options (`id`,
`rawId`, `authenticatorAttachment`, `response.authenticatorData`,
`response.clientDataJSON`, `response.signature`, `response.userHandle`,
base64url). Twilio checks the signature with the factor's key and answers
the challenge, `status = "approved"`, or an error (60381 signature, 60379
authenticator data, 60380 client data...) with nothing changed. `response`
is never logged.]],
      usage = [[
local assertion = assert(authenticator:get(ch.options, { origin = "https://example.com" }))
local done = assert(client:update_passkey_challenge(SVC, assertion))   -- done.status == "approved"]],
      examples = { "passkey-challenges update --body assertion.json" },
      params = {
        { "id", "text", required = true, min = 1, max = 1366, metavar = "B64URL",
          rule = "library: a credential id is at most 1023 bytes (WebAuthn L2 6.5.1), 1366 base64url characters",
          help = "the credential id, base64url" },
        { "rawId", "text", required = true, min = 1, max = 2048, metavar = "B64URL",
          rule = "library: the credential id again (base64url; hex in the description's example)",
          help = "the raw credential id" },
        { "authenticatorAttachment", "enum", required = true, enum = { "platform", "cross-platform" },
          help = "how the authenticator was attached" },
        { "type", "enum", enum = { "public-key" }, default = "public-key", help = "the credential type" },
        { "response", "object", required = true, secret = true,
          help = "the AuthenticatorAssertionResponse (never logged)", fields = {
            { "authenticatorData", "text", required = true, min = 37, max = 65536, metavar = "B64URL",
              rule = "library: authenticator data is at least 37 bytes (WebAuthn L2 6.1); bounded at 64 KiB",
              help = "the authenticator data, base64url" },
            { "clientDataJSON", "text", required = true, min = 1, max = 16384, metavar = "B64URL",
              rule = "library: bounded at 16 KiB", help = "the client data JSON, base64url" },
            { "signature", "text", required = true, min = 1, max = 1024, metavar = "B64URL",
              rule = "library: an ES256 DER signature is at most 72 bytes; bounded at 1024 characters",
              help = "the assertion signature, base64url" },
            { "userHandle", "text", min = 1, max = 1366, metavar = "B64URL",
              rule = "library: a user handle is at most 64 bytes (WebAuthn L2 5.4.3); bounded like an id",
              help = "the user handle (base64url of the entity SID)" },
          } },
      } },
  },
}
