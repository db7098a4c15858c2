-- api/attempts_summary.lua -- the Verification Attempts summary: how many
-- attempts were made and how many converted.  Format: api/README.md.
return {
  resource = "verification_attempts_summary",
  class = "VerificationAttemptsSummary",
  cli_group = "attempts-summary",
  describe = { "total_attempts", "total_converted" },
  doc = [[
VerificationAttemptsSummary objects, from
@{Client:fetch_verification_attempts_summary}: `total_attempts`,
`total_converted`, `total_unconverted`, `conversion_rate_percentage` (a
string), `url`.]],
  ops = {
    { "fetch_verification_attempts_summary", "FetchVerificationAttemptsSummary", "GET", "/v2/Attempts/Summary",
      id_key = "url",
      summary = "Count the verification attempts (filters: service, dates, country, channel, destination prefix).",
      cli_summary = "count the attempts made and converted",
      usage = [[
local s = assert(client:fetch_verification_attempts_summary{ verify_service_sid = SVC })
print(s.total_attempts, s.total_converted, s.conversion_rate_percentage)]],
      examples = { "attempts-summary fetch --verify-service-sid VA... --channel sms" },
      params = {
        { "VerifyServiceSid", "sid", prefix = "VA", help = "only attempts of this service" },
        { "DateCreatedAfter", "date", help = "only attempts created after this date-time" },
        { "DateCreatedBefore", "date", help = "only attempts created before this date-time" },
        { "Country", "text", format = "country", metavar = "CC",
          rule = "schema: format iso-country-code (ISO 3166-1 alpha-2: two capital letters)",
          help = "only attempts sent to this country (ISO 3166-1 alpha-2)" },
        { "Channel", "enum", enum = { "sms", "call", "email", "whatsapp", "rbm" }, help = "only this channel" },
        { "DestinationPrefix", "text", format = "e164_prefix", metavar = "PREFIX",
          rule = 'description: "It is the prefix of a phone number in E.164 format"',
          help = "only attempts to numbers starting so (+1, +4420...)" },
      } },
  },
}
