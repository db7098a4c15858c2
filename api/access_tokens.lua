-- api/access_tokens.lua -- AccessTokens: what a device (the mobile SDK,
-- or twilio.verify.device) enrols a push factor with.  Format: api/README.md.
local AT = "/v2/Services/{ServiceSid}/AccessTokens"

return {
  resource = "access_token",
  class = "AccessToken",
  describe = { "entity_identity", "ttl" }, -- never the token itself: it enrols a factor for whoever holds it
  path_params = { Sid = { "sid", prefix = "YK", help = "the access token" } },
  doc = [[
Access token objects, from @{Client:create_access_token} and
@{Client:fetch_access_token}: `sid` (`YK...`), `token`, `ttl`,
`entity_identity`, `factor_type`, `factor_friendly_name`, `date_created`,
`url`. `tostring` never shows the token.]],
  ops = {
    { "create_access_token", "CreateAccessToken", "POST", AT,
      summary = "Create an access token: what the mobile SDK (or `twilio.verify.device`) enrols a push factor with.",
      cli_summary = "create an access token: the mobile SDK (or a device) enrols a push factor with it",
      doc = [[
The answer's `token` is a short-lived JWT that lets whoever holds it create
one push factor for `identity`: hand it to that user's device only. It
never appears in `tostring` of the object, in errors or in the `log` hook.]],
      cli_doc = [[
The answer's `token` is a short-lived JWT (--ttl 60-300 s) that lets its
holder create one push factor for IDENTITY: hand it to that user's device
only.  It is printed because that is what the command is for.]],
      usage = [[
local at = assert(client:create_access_token(SVC, USER, { factor_type = "push", ttl = 300 }))
send_to_the_device(at.token)]],
      examples = { "access-tokens create user-0001 --factor-type push --ttl 300 --json" },
      params = {
        { "Identity", "identity", required = true, positional = true, rule = common.rules.IDENTITY,
          help = "the entity's identity" },
        { "FactorType", "enum", enum = { "push" }, required = true, metavar = "TYPE", help = "the kind of factor" },
        { "FactorFriendlyName", "text", min = 1, max = 64, metavar = "NAME",
          rule = 'library: the factor\'s FriendlyName to come ("up to 64 characters")',
          help = "the friendly name of the factor to come" },
        { "Ttl", "int", min = 60, max = 300, rule = 'description: "Can be an integer between 60 and 300"',
          metavar = "SECONDS", help = "how long the token is valid" },
      } },

    { "fetch_access_token", "FetchAccessToken", "GET", AT .. "/{Sid}",
      summary = "Fetch an access token.",
      cli_summary = "show an access token (its metadata and token)",
      usage = [[
local at = assert(client:fetch_access_token(SVC, at_sid))
print(at.ttl, at.entity_identity)]],
      examples = { "access-tokens fetch YK0123456789abcdef0123456789abcdef" } },
  },
}
