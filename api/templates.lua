-- api/templates.lua -- Verification Templates: the account's message
-- templates (their sids go in TemplateSid / DefaultTemplateSid).
-- Format: api/README.md.
return {
  resource = "verification_template",
  class = "VerificationTemplate",
  list_key = "templates",
  describe = { "friendly_name" },
  columns = { { "SID", "sid" }, { "NAME", "friendly_name" }, { "CHANNELS", "channels" } },
  doc = [[
VerificationTemplate objects, from @{Client:list_verification_template}
and @{Client:templates}: `sid` (`HJ...`), `friendly_name`, `channels`,
`translations` (by language: `text`, `status`, ...).]],
  ops = {
    { "list_verification_template", "ListVerificationTemplate", "GET", "/v2/Templates",
      summary = "List one page of the account's message templates.",
      cli_summary = "list the account's message templates (every page, lazily)",
      usage = [[
local page = assert(client:list_verification_template{ friendly_name = "otp" })
for _, t in ipairs(page.templates) do print(t.sid, t.friendly_name) end]],
      iter_usage = "for t in client:templates() do print(t.sid, t.friendly_name) end",
      examples = { "templates list", "templates list --friendly-name otp --json" },
      params = {
        { "FriendlyName", "text", metavar = "NAME", help = "only templates of this friendly name" },
        common.paging[1], common.paging[2], common.paging[3],
      } },
  },
}
