-- api/attempts.lua -- Verification Attempts: every message or call a
-- verification sent, account-wide.  Format: api/README.md.
local CHANNELS = { "sms", "call", "email", "whatsapp", "rbm" }

return {
  resource = "verification_attempt",
  class = "VerificationAttempt",
  list_key = "attempts",
  describe = { "channel", "conversion_status" },
  columns = { { "SID", "sid" }, { "CHANNEL", "channel" }, { "STATUS", "conversion_status" },
              { "VERIFICATION", "verification_sid" }, { "CREATED", "date_created" } },
  path_params = { Sid = { "sid", prefix = "VL", help = "the attempt" } },
  doc = [[
VerificationAttempt objects, from @{Client:list_verification_attempt} and
@{Client:attempts}: `sid` (`VL...`), `service_sid`, `verification_sid`,
`channel`, `conversion_status` (`converted` once the code was checked
right), `channel_data` (`to`, ...), `price`, dates, `url`.]],
  ops = {
    { "list_verification_attempt", "ListVerificationAttempt", "GET", "/v2/Attempts",
      summary = "List one page of the account's verification attempts (filters: dates, to, country, channel, "
        .. "service, verification, status).",
      cli_summary = "list the account's verification attempts (every page, lazily; --limit stops early)",
      usage = [[
local page = assert(client:list_verification_attempt{ channel_data_to = "+15551234567", page_size = 20 })
for _, a in ipairs(page.attempts) do print(a.sid, a.channel, a.conversion_status) end]],
      iter_usage = [[
for a in client:attempts{ verify_service_sid = SVC, status = "unconverted" } do print(a.sid) end]],
      examples = { "attempts list --channel-data-to +15551234567",
                   "attempts list --verify-service-sid VA... --status converted --json" },
      params = {
        { "DateCreatedAfter", "date", help = "only attempts created after this date-time" },
        { "DateCreatedBefore", "date", help = "only attempts created before this date-time" },
        { "ChannelData.To", "text", format = "e164", metavar = "PHONE",
          rule = 'description: "It is phone number in E.164 format"', help = "only attempts sent to this number" },
        { "Country", "text", format = "country", metavar = "CC",
          rule = "schema: format iso-country-code (ISO 3166-1 alpha-2: two capital letters)",
          help = "only attempts sent to this country (ISO 3166-1 alpha-2)" },
        { "Channel", "enum", enum = CHANNELS, help = "only attempts of this channel" },
        { "VerifyServiceSid", "sid", prefix = "VA", help = "only attempts of this service" },
        { "VerificationSid", "sid", prefix = "VE", help = "only attempts of this verification" },
        { "Status", "enum", enum = { "converted", "unconverted" }, help = "only attempts of this conversion status" },
        common.paging[1], common.paging[2], common.paging[3],
      } },

    { "fetch_verification_attempt", "FetchVerificationAttempt", "GET", "/v2/Attempts/{Sid}",
      summary = "Fetch a verification attempt.",
      cli_summary = "show one verification attempt",
      usage = 'local a = assert(client:fetch_verification_attempt("VL..."))',
      examples = { "attempts fetch VL0123456789abcdef0123456789abcdef" } },
  },
}
