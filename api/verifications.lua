-- api/verifications.lua -- Verifications: one-time codes sent by SMS, call,
-- email, WhatsApp or silent network auth to a phone number or an email
-- address.  Format: api/README.md.
local V = "/v2/Services/{ServiceSid}/Verifications"

-- The language tags of Twilio's "Verify supported languages" page
-- (https://www.twilio.com/docs/verify/supported-languages): "If an
-- unsupported override locale is given, a 404 error will be returned"
-- (the emulator answers so; the client refuses it before any I/O).
local LOCALES = { "af", "ar", "ca", "zh", "zh-CN", "zh-HK", "hr", "cs", "da", "nl", "en", "en-GB", "fi", "fr", "de",
                  "el", "he", "hi", "hu", "id", "it", "ja", "ko", "ms", "nb", "pl", "pt-BR", "pt", "ro", "ru", "es",
                  "sv", "tl", "th", "tr", "vi" }

local TO_RULE = 'description: "The phone number or [email](https://www.twilio.com/docs/verify/email) to verify'
  .. ' ... Phone numbers must be in [E.164 format](https://www.twilio.com/docs/glossary/what-e164)"'

return {
  resource = "verification",
  class = "Verification",
  describe = { "to", "channel", "status" },
  columns = { { "SID", "sid" }, { "TO", "to" }, { "CHANNEL", "channel" }, { "STATUS", "status" } },
  path_params = { Sid = { "sid", prefix = "VE", help = "the verification",
    rule = "library: a verification is named by its sid, `^VE[0-9a-fA-F]{32}$` (verify.v2.service.verification's "
      .. "sid; the path parameter itself is typed as a plain string)" } },
  doc = [[
Verification objects, from @{Client:create_verification} (or
@{Client:send_code}): `sid` (`VE...`), `to`, `channel`, `status`
(`pending`, `approved`, `canceled`, `expired`...), `valid`, `lookup`,
`amount`, `payee`, `send_code_attempts`, `sna`, dates, `url`.  The code
itself is never in them: it goes to the user (the emulator's outbox:
`GET /__emulator/messages`).]],
  ops = {
    { "create_verification", "CreateVerification", "POST", V,
      summary = "Start a verification: send a one-time code to a phone number or an email address.",
      cli_summary = "send a one-time code (--to +15551234567 --channel sms|call|email|whatsapp|sna|auto)",
      doc = [[
A second verification to the same `to` and channel while one is pending
re-sends the same code (at most 5 sends, then 429 code 60203).
`rate_limits` holds the values of the service's Rate Limits by their
`unique_name`; `channel_configuration`, `template_custom_substitutions` and
`tags` are tables (JSON-encoded once). @{Client:send_code} is a shortcut.]],
      usage = [[
local v = assert(client:create_verification(SVC, { to = "+15551234567", channel = "sms",
  rate_limits = { per_user = "user-7f3a9c" } }))
print(v.sid, v.status)   -- VE... pending]],
      examples = { "verifications create --to +15551234567 --channel sms",
                   "verifications create --to ann@example.com --channel email --json" },
      params = {
        { "To", "text", required = true, format = "e164_or_email", rule = TO_RULE, metavar = "TO",
          help = "the phone number (E.164: +15551234567) or email address to verify" },
        { "Channel", "enum", enum = { "sms", "call", "email", "whatsapp", "sna", "auto" }, required = true,
          rule = 'description: "One of: [`email`](https://www.twilio.com/docs/verify/email), `sms`, `whatsapp`, '
            .. '`call`, `sna` or `auto`"',
          help = "how the code is sent" },
        { "CustomFriendlyName", "text", metavar = "NAME", help = "the name in the message, instead of the service's" },
        { "CustomMessage", "text", metavar = "TEXT", help = "deprecated: the text of the message" },
        { "SendDigits", "text", metavar = "DIGITS", help = "call: the digits to dial once answered (an extension)" },
        { "Locale", "enum", enum = LOCALES, metavar = "LOCALE",
          rule = "docs: the language tags of https://www.twilio.com/docs/verify/supported-languages (\"If an "
            .. "unsupported override locale is given, a 404 error will be returned\")",
          help = "the message's language (default: from the number's country)" },
        { "CustomCode", "text", min = 4, max = 10, secret = true, metavar = "CODE",
          rule = 'description: "The code can be between 4 and 10 characters, inclusive"',
          help = "a code of your own (the service needs custom_code_enabled)" },
        { "Amount", "text", metavar = "AMOUNT", help = "PSD2: the transaction's amount" },
        { "Payee", "text", metavar = "PAYEE", help = "PSD2: the transaction's payee" },
        { "RateLimits", "json", rule = 'description: "The custom key-value pairs of Programmable Rate Limits"',
          help = "the values of the service's rate limits, by unique_name" },
        { "ChannelConfiguration", "json", email_member = "from",
          rule = 'description: "channel configuration in json format ... if included the \'from\' field must '
            .. 'have a valid email address"',
          help = "email: the sender and template (from, from_name, template_id, substitutions)" },
        { "AppHash", "text", metavar = "HASH", help = "SMS: the app hash appended to the message (Android)" },
        { "TemplateSid", "sid", prefix = "HJ", help = "the message template (default: the service's)" },
        { "TemplateCustomSubstitutions", "json",
          rule = 'description: "A stringified JSON object in which the keys are the template\'s special variables"',
          help = "the values of the template's variables" },
        { "DeviceIp", "text", format = "ip", metavar = "IP",
          rule = 'description: "If provided, it has to be a valid IPv4 or IPv6 address"',
          help = "the user's device IP (the auto channel)" },
        { "EnableSnaClientToken", "bool", help = "sna: require the client token in the check" },
        { "RiskCheck", "enum", enum = { "enable", "disable" }, help = "SMS: Fraud Guard for this verification" },
        { "Tags", "json", max_members = 10, kv_max = 128,
          rule = 'description: "A string containing a JSON map of key value pairs ... The object may contain up '
            .. 'to 10 tags. Keys and values can each be up to 128 characters in length"',
          help = "tags recorded with the message (no PII)" },
      } },

    { "fetch_verification", "FetchVerification", "GET", V .. "/{Sid}",
      summary = "Fetch a verification.",
      cli_summary = "show one verification",
      errors = "404 once it was approved, canceled or expired",
      usage = [[
local v = assert(client:fetch_verification(SVC, "VE..."))
print(v.status, #v.send_code_attempts)]],
      examples = { "verifications fetch VE0123456789abcdef0123456789abcdef" } },

    { "update_verification", "UpdateVerification", "POST", V .. "/{Sid}",
      summary = "Cancel or approve a pending verification.",
      cli_summary = "cancel or approve a verification (--status canceled|approved)",
      usage = [[
assert(client:update_verification(SVC, "VE...", { status = "canceled" }))]],
      examples = { "verifications update VE0123456789abcdef0123456789abcdef --status canceled" },
      params = {
        { "Status", "enum", enum = { "canceled", "approved" }, required = true, help = "the new status" },
      } },
  },
}
