-- api/verification_checks.lua -- VerificationCheck: does the code the user
-- typed match the pending verification?  Format: api/README.md.
local TO_RULE = 'description: "The phone number or [email](https://www.twilio.com/docs/verify/email) to verify'
  .. ' ... Phone numbers must be in [E.164 format](https://www.twilio.com/docs/glossary/what-e164)"'

return {
  resource = "verification_check",
  class = "VerificationCheck",
  describe = { "to", "status" },
  doc = [[
VerificationCheck objects, from @{Client:create_verification_check} (or
@{Client:check_code}): `sid` (the verification's `VE...`), `to`, `channel`,
`status` (`approved` when the code matched, else still `pending`), `valid`,
`amount`, `payee`, `sna_attempts_error_codes`, dates.]],
  ops = {
    { "create_verification_check", "CreateVerificationCheck", "POST", "/v2/Services/{ServiceSid}/VerificationCheck",
      one_of = { "To", "VerificationSid" }, success = 200,
      summary = "Check a code against a pending verification (by its to or its sid).",
      cli_summary = "check a code (--code CODE with --to TO or --verification-sid VE...)",
      doc = [[
A wrong code is no error: the answer's `status` stays `pending` (5 checks at
most, then 429 code 60202). An approved, canceled or expired verification
is gone: 404 code 20404. @{Client:check_code} returns `true, check` /
`false, check` / `nil, err`.]],
      usage = [[
local c = assert(client:create_verification_check(SVC, { to = "+15551234567", code = "123456" }))
if c.status == "approved" then print("verified") end]],
      examples = { "verification-checks create --to +15551234567 --code 123456",
                   "verification-checks create --verification-sid VE... --code 123456 --json" },
      params = {
        { "Code", "text", min = 4, max = 10, secret = true, metavar = "CODE",
          rule = 'description: "The 4-10 character string being verified"', help = "the code the user typed" },
        { "To", "text", format = "e164_or_email", rule = TO_RULE, metavar = "TO",
          help = "the phone number or email address of the verification" },
        { "VerificationSid", "sid", prefix = "VE", help = "the verification (instead of to)" },
        { "Amount", "text", metavar = "AMOUNT", help = "PSD2: the transaction's amount" },
        { "Payee", "text", metavar = "PAYEE", help = "PSD2: the transaction's payee" },
        { "SnaClientToken", "text", secret = true, metavar = "TOKEN", help = "sna: the client token of the SNA URL" },
      } },
  },
}
