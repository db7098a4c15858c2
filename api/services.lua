-- api/services.lua -- Services: the Verify services of the account.
-- Format: api/README.md.
local R = common.rules
local SERVICES = "/v2/Services"

-- CreateService and UpdateService share every parameter; only FriendlyName
-- is required on create.  `default` is the value Twilio answers for a
-- setting never given.  In the order of the service's answer
-- (verify.v2.service), which the emulator renders from these rows.
local function params(required)
  return {
    { "FriendlyName", "text", min = 1, max = 32, required = required, metavar = "NAME",
      rule = 'description: "It can be up to 32 characters long"',
      help = required and "a name for the service" or "new friendly name" },
    { "CodeLength", "int", min = 4, max = 10, default = "6",
      rule = 'description: "Must be an integer value between 4 and 10, inclusive"',
      help = "length of SMS and call codes" },
    { "LookupEnabled", "bool", default = "false", help = "look up the carrier of a phone number first" },
    { "Psd2Enabled", "bool", default = "false", help = "PSD2: send the amount and payee" },
    { "SkipSmsToLandlines", "bool", default = "false", help = "skip SMS to landlines" },
    { "DtmfInputRequired", "bool", default = "true", help = "calls: ask for a key press before the code" },
    { "TtsName", "text", help = "calls: the name spoken in the message" },
    { "DoNotShareWarningEnabled", "bool", default = "false", help = "add a do-not-share warning to the SMS" },
    { "CustomCodeEnabled", "bool", default = "false", help = "allow custom verification codes" },
    { "Push.IncludeDate", "bool", default = "false", help = "push: include the date in the challenge's details" },
    { "Push.ApnCredentialSid", "sid", prefix = "CR", help = "push: the APN credential" },
    { "Push.FcmCredentialSid", "sid", prefix = "CR", help = "push: the FCM credential" },
    { "Totp.Issuer", "text", help = "TOTP: the issuer shown in authenticator apps (default: the friendly name)" },
    { "Totp.TimeStep", "int", min = 20, max = 60, rule = R.TIMESTEP, default = "30", metavar = "SECONDS",
      help = "TOTP: time step in seconds" },
    { "Totp.CodeLength", "int", min = 3, max = 8, rule = R.CODELEN, default = "6", help = "TOTP: code length" },
    { "Totp.Skew", "int", min = 0, max = 2, rule = R.SKEW, default = "1", help = "TOTP: steps accepted either side" },
    { "DefaultTemplateSid", "sid", prefix = "HJ", help = "the default message template" },
    { "Whatsapp.MsgServiceSid", "sid", prefix = "MG", help = "WhatsApp: the messaging service" },
    { "Whatsapp.From", "text", help = "WhatsApp: the sender number" },
    { "Passkeys.RelyingParty.Id", "text", help = "passkeys: the relying party id (a domain)" },
    { "Passkeys.RelyingParty.Name", "text", help = "passkeys: the relying party's name" },
    { "Passkeys.RelyingParty.Origins", "text", csv = true, help = "passkeys: the allowed origins, comma-separated" },
    { "Passkeys.AuthenticatorAttachment", "enum", enum = { "platform", "cross-platform", "any", "" },
      rule = 'description: "It can be empty or it can have the values `platform`, `cross-platform` or `any`"',
      help = "passkeys: which authenticators" },
    { "Passkeys.DiscoverableCredentials", "enum", enum = { "required", "preferred", "discouraged", "" },
      rule = 'description: "It can be empty or it can have the values `required`, `preferred` or `discouraged`"',
      help = "passkeys: whether the credential must be discoverable" },
    { "Passkeys.UserVerification", "enum", enum = { "required", "preferred", "discouraged", "" },
      rule = 'description: "It can be empty or it can have the values `required`, `preferred` or `discouraged`"',
      help = "passkeys: whether the authenticator must verify the user" },
    { "VerifyEventSubscriptionEnabled", "bool", default = "false", help = "publish Verify events to Event Streams" },
  }
end

return {
  resource = "service",
  class = "Service",
  list_key = "services",
  describe = { "friendly_name" },
  columns = { { "SID", "sid" }, { "CREATED", "date_created" }, { "NAME", "friendly_name" } },
  path_params = { Sid = { "sid", prefix = "VA", help = "the service" } },
  doc = [[
Service objects, from @{Client:create_service}, @{Client:fetch_service},
lists and iterators.
Plain tables (fields: @{service}) with methods bound to their client, like
@{Factor} objects.]],
  ops = {
    { "create_service", "CreateService", "POST", SERVICES,
      summary = "Create a Verify service.",
      cli_summary = "create a Verify service (--friendly-name NAME)",
      doc = "Booleans are Lua booleans (sent as `true`/`false`).",
      usage = [[
local svc = assert(client:create_service{
  friendly_name = "Example", totp_issuer = "Example", totp_time_step = 30,
  totp_code_length = 6, totp_skew = 1, lookup_enabled = false })
print(svc.sid)   -- VA...]],
      examples = { "services create --friendly-name 'My app' --totp-issuer 'My app'",
                   "services create --friendly-name Bank --psd2-enabled --json | jq -r .sid" },
      params = params(true) },

    { "fetch_service", "FetchService", "GET", SERVICES .. "/{Sid}",
      summary = "Fetch a service.",
      cli_summary = "show one service",
      usage = [[
local svc = assert(client:fetch_service(SVC))
print(svc.friendly_name, svc.totp and svc.totp.issuer)]],
      examples = { "services fetch VA0123456789abcdef0123456789abcdef" } },

    { "list_service", "ListService", "GET", SERVICES,
      summary = "List one page of the account's services.",
      cli_summary = "list the account's services (every page, lazily; --limit stops early)",
      usage = [[
local page = assert(client:list_service{ page_size = 20 })
for _, s in ipairs(page.services) do print(s.sid, s.friendly_name) end]],
      iter_usage = [[
for s in client:services() do print(s.sid, s.friendly_name) end]],
      examples = { "services list", "services list --limit 10 --json" },
      params = common.paging },

    { "update_service", "UpdateService", "POST", SERVICES .. "/{Sid}",
      summary = "Update a service (only the parameters given are sent).",
      usage = [[
local svc = assert(client:update_service(SVC, { friendly_name = "Example (staging)", totp_skew = 0 }))]],
      examples = { "services update VA... --totp-skew 0 --no-psd2-enabled" },
      params = params(false) },

    { "delete_service", "DeleteService", "DELETE", SERVICES .. "/{Sid}",
      summary = "Delete a service, with everything in it.",
      usage = "assert(client:delete_service(svc.sid))",
      examples = { "services delete VA0123456789abcdef0123456789abcdef" } },
  },
}
