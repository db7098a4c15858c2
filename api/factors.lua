-- api/factors.lua -- Factors: an entity's TOTP apps and push devices (the
-- seed's four operations, and creation).  Format: api/README.md.
local R = common.rules

local alg = { "sha1", "sha256", "sha512" }
local platform = { "apn", "fcm", "none" }
local FACTORS = "/v2/Services/{ServiceSid}/Entities/{Identity}/Factors"

local PAYLOAD = 'library: bounded as UpdateChallenge\'s AuthPayload ("up to 5456 characters" for Push)'
local PLATFORM = 'description: "Can be `apn`, `fcm` or `none`" (typed as a plain string on update)'
local TOTP_CONFIG = {
  { "Config.TimeStep", "int", min = 20, max = 60, rule = R.TIMESTEP, only = "totp", metavar = "SECONDS",
    help = "TOTP: time step in seconds" },
  { "Config.Skew", "int", min = 0, max = 2, rule = R.SKEW, only = "totp", help = "TOTP: steps accepted either side" },
  { "Config.CodeLength", "int", min = 3, max = 8, rule = R.CODELEN, only = "totp", help = "TOTP: code length" },
  { "Config.Alg", "enum", enum = alg, only = "totp", help = "TOTP: the HMAC algorithm" },
}

return {
  resource = "factor",
  class = "Factor",
  list_key = "factors",
  describe = { "factor_type", "status" },
  columns = { { "SID", "sid" }, { "TYPE", "factor_type" }, { "STATUS", "status" }, { "CREATED", "date_created" },
              { "NAME", "friendly_name" } },
  path_params = { Sid = { "sid", prefix = "YF", help = "the factor" } },
  doc = [[
Factor objects: what every factor-returning call gives.
Plain tables (fields: @{factor}) with a metatable of methods bound to the
client that produced them; the client is kept in the metatable (one per
client and kind), never in the factor's own fields. Challenge, entity and
service objects share this one implementation. Methods on an object
whose client was closed return a `closed` error. Besides the methods
below: @{Factor:verify} (confirm the enrolment) and @{Factor:sign_in}.]],
  ops = {
    { "fetch_factor", "FetchFactor", "GET", FACTORS .. "/{Sid}", alias = "fetch", device = "jwt",
      summary = "Fetch a factor.",
      cli_summary = "show one factor",
      errors = "an unknown sid: `http`, status 404, code 20404",
      usage = [[
local f, err = client:fetch_factor(SVC, "user-0001", "YF0123456789abcdef0123456789abcdef")
if f then print(f.friendly_name, f.status) else print(err) end]],
      examples = { "factors fetch user-0001 YF0123456789abcdef0123456789abcdef --json" } },

    { "delete_factor", "DeleteFactor", "DELETE", FACTORS .. "/{Sid}", alias = "delete", device = "jwt",
      summary = "Delete a factor.",
      errors = "an unknown sid: `http`, status 404, code 20404",
      usage = [[
local ok, err = client:delete_factor(SVC, "user-0001", "YF0123456789abcdef0123456789abcdef")
if not ok then print(err.kind, err.status, err.code, err.message) end]],
      examples = { "factors delete user-0001 YF0123456789abcdef0123456789abcdef" } },

    { "update_factor", "UpdateFactor", "POST", FACTORS .. "/{Sid}", alias = "update", device = "jwt",
      summary = "Update a factor: rename it, change its config, or confirm its enrolment (`auth_payload`).",
      cli_summary = "update (or verify, with --auth-payload) a factor",
      doc = [[
A code in `auth_payload` confirms an enrolment; it does not sign anyone in
(see @{Client:sign_in}): a wrong code is no error (the status stays
`"unverified"`), and once verified Twilio answers 200 for any code.]],
      cli_doc = [[
With --auth-payload the exit status is 3 when the factor is not "verified"
afterwards (a wrong code: the API answers 200 and leaves it unverified).]],
      usage = [[
local f = assert(client:update_factor(SVC, USER, SID, { friendly_name = "Work phone", config_skew = 1 }))]],
      examples = { "factors update user-0001 YF... --friendly-name 'Work phone'",
                   "factors update user-0001 YF... --auth-payload 123456" },
      params = {
        { "AuthPayload", "text", min = 1, max = 5456, secret = true, rule = PAYLOAD, metavar = "CODE",
          help = "verify the factor: the TOTP code (or the push signature)" },
        { "FriendlyName", "text", min = 1, max = 64, rule = R.FN64, metavar = "NAME", help = "new friendly name" },
        { "Config.NotificationToken", "text", min = 32, max = 255, secret = true, rule = R.TOKEN, only = "push",
          metavar = "TOKEN", help = "push: the device's notification token" },
        { "Config.SdkVersion", "text", min = 1, max = 64, rule = R.SDK, only = "push", metavar = "VERSION",
          help = "push: the Verify SDK version" },
        TOTP_CONFIG[1], TOTP_CONFIG[2], TOTP_CONFIG[3], TOTP_CONFIG[4],
        { "Config.NotificationPlatform", "enum", enum = platform, rule = PLATFORM, only = "push",
          help = "push: the notification platform" },
      } },

    { "list_factor", "ListFactor", "GET", FACTORS, alias = "list", device = "jwt",
      summary = "List one page of an identity's factors (in creation order).",
      cli_summary = "list an identity's factors (every page, lazily; --limit stops early)",
      usage = [[
local page = assert(client:list_factor(SVC, USER, { page_size = 50 }))
for _, f in ipairs(page.factors) do print(f.sid) end
-- resume later from the token of the next page
page = client:list_factor(SVC, USER, { page_size = 50, page_token = page.next_page_token })]],
      iter_usage = [[
for f in client:factors(SVC, USER, { limit = 250 }) do print(f.sid, f.status) end
local all = assert(verify.collect(client:factors(SVC, USER)))]],
      examples = { "factors list user-0001", "factors list user-0001 --limit 10 --json",
                   "factors list user-0001 --page --page-size 20" },
      params = common.paging },

    { "create_factor", "CreateNewFactor", "POST", FACTORS, alias = "create", device = "token",
      summary = "Create (enrol) a factor.",
      cli_summary = "create a factor (the answer includes a TOTP factor's secret and otpauth URI, once)",
      doc = [[
The entity is created with its first factor. The answer carries `binding`
(a TOTP factor's `secret` and otpauth `uri`), which the API returns only
here. The new factor is `"unverified"` until @{Factor:verify} confirms it.
Per entity the API allows 20 push and 100 TOTP factors (code 60315) and
100 creations a day (code 60326).]],
      returns_doc = "with `binding`",
      usage = [[
local f = assert(client:create_factor(SVC, USER, { friendly_name = "Ann's phone", factor_type = "totp" }))
print(f.binding.uri)  -- show it as a QR code]],
      examples = { "factors create user-0001 --factor-type totp --friendly-name \"Ann's phone\"",
                   "factors create user-0001 --factor-type totp --friendly-name app --json | jq -r .binding.uri" },
      params = {
        { "FriendlyName", "text", min = 1, max = 64, required = true, rule = R.FN64C, metavar = "NAME",
          help = "a name for the factor" },
        { "FactorType", "enum", enum = { "push", "totp" }, required = true, metavar = "TYPE",
          rule = "library: passkeys factors are created through the Passkeys endpoints (CreateNewFactorPasskey), not this one",
          help = "the kind of factor" },
        { "Binding.Alg", "enum", enum = { "ES256" }, rule = 'description: "Algorithm supported: `ES256`"',
          only = "push", required_for = "push", help = "push: the key's algorithm" },
        { "Binding.PublicKey", "text", min = 1, max = 4096, only = "push", required_for = "push", metavar = "KEY",
          rule = "library: a Base64 DER P-256 public key is ~124 characters; 4096 bounds it",
          help = "push: the device's public key (Base64 DER)" },
        { "Binding.Secret", "text", min = 16, max = 256, secret = true, only = "totp", metavar = "BASE32",
          rule = "library: a Base32 shared secret of 80 to 1280 bits (16-256 characters)",
          help = "TOTP: the shared secret (default: generated)" },
        { "Config.AppId", "text", min = 1, max = 100, only = "push", required_for = "push", metavar = "ID",
          rule = "library: store app ids are bounded at 100 characters",
          help = "push: the app id, e.g. com.example.app" },
        { "Config.NotificationPlatform", "enum", enum = platform, only = "push", required_for = "push",
          help = "push: the notification platform" },
        { "Config.NotificationToken", "text", min = 32, max = 255, secret = true, rule = R.TOKEN, only = "push",
          metavar = "TOKEN", help = "push: the device's notification token" },
        { "Config.SdkVersion", "text", min = 1, max = 64, rule = R.SDK, only = "push", required_for = "push",
          metavar = "VERSION", help = "push: the Verify SDK version" },
        TOTP_CONFIG[1], TOTP_CONFIG[2], TOTP_CONFIG[3], TOTP_CONFIG[4],
        { "Metadata", "json", min = 2, max = 1024, string_values = true, rule = R.META, help = "a JSON object stored with the factor" },
      } },
  },
}
