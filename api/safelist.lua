-- api/safelist.lua -- the SafeList: phone numbers the account's fraud
-- guards never block.  Format: api/README.md.
local PHONE_RULE = 'description: "Phone numbers must be in [E.164 format](https://www.twilio.com/docs/glossary/what-e164)"'

return {
  resource = "safelist",
  class = "Safelist",
  cli_group = "safelist",
  describe = { "phone_number" },
  path_params = { PhoneNumber = { "text", format = "e164", rule = PHONE_RULE,
                                  help = "the phone number, in E.164 format (+15551234567)" } },
  doc = [[
Safelist objects: `sid` (`GN...`), `phone_number`, `url`. A number on the
SafeList is never blocked by Fraud Guard or geo permissions.]],
  ops = {
    { "create_safelist", "CreateSafelist", "POST", "/v2/SafeList/Numbers",
      summary = "Add a phone number to the SafeList.",
      cli_summary = "add a phone number to the SafeList (--phone-number +15551234567)",
      usage = 'local n = assert(client:create_safelist{ phone_number = "+15551234567" })',
      examples = { "safelist create --phone-number +15551234567" },
      params = {
        { "PhoneNumber", "text", required = true, format = "e164", rule = PHONE_RULE, metavar = "PHONE",
          help = "the phone number, in E.164 format (+15551234567)" },
      } },
    { "fetch_safelist", "FetchSafelist", "GET", "/v2/SafeList/Numbers/{PhoneNumber}",
      summary = "Is a phone number on the SafeList? (404 when not).",
      cli_summary = "show a SafeList number (exit 1 when it is not on the list)",
      usage = 'local n, err = client:fetch_safelist("+15551234567")   -- err.status == 404: not listed',
      examples = { "safelist fetch +15551234567" } },
    { "delete_safelist", "DeleteSafelist", "DELETE", "/v2/SafeList/Numbers/{PhoneNumber}",
      summary = "Remove a phone number from the SafeList.",
      usage = 'assert(client:delete_safelist("+15551234567"))',
      examples = { "safelist delete +15551234567" } },
  },
}
