-- api/webhooks.lua -- Webhooks: a service's event subscriptions.
-- Format: api/README.md.
local WEBHOOKS = "/v2/Services/{ServiceSid}/Webhooks"
local events = { "*", "factor.deleted", "factor.created", "factor.verified", "challenge.approved",
                 "challenge.denied" }

local function params(required)
  return {
    { "FriendlyName", "text", min = 1, max = 64, required = required, metavar = "NAME",
      rule = "library: friendly names are bounded at 64 characters, as the Factor's",
      help = "a name for the webhook" },
    { "EventTypes", "enum", enum = events, array = true, required = required, metavar = "EVENT",
      rule = 'description: "Possible event types: `*, factor.deleted, factor.created, factor.verified, challenge.approved, challenge.denied`"',
      help = "an event to send (repeat for more)" },
    { "WebhookUrl", "text", min = 1, max = 2048, required = required, metavar = "URL",
      rule = "library: an absolute http(s) URL, bounded at 2048 characters",
      help = "where the events are sent" },
    { "Status", "enum", enum = { "enabled", "disabled" }, help = "whether events are sent" },
    { "Version", "enum", enum = { "v1", "v2" }, help = "the payload version" },
  }
end

return {
  resource = "webhook",
  class = "Webhook",
  list_key = "webhooks",
  describe = { "status", "webhook_url" },
  columns = { { "SID", "sid" }, { "STATUS", "status" }, { "URL", "webhook_url" }, { "NAME", "friendly_name" } },
  path_params = { Sid = { "sid", prefix = "YW", help = "the webhook" } },
  doc = [[
Webhook objects: `sid` (`YW...`), `friendly_name`, `event_types`,
`webhook_url`, `webhook_method`, `status`, `version`, dates, `url`. Check
each delivery's `X-Twilio-Signature` with `verify.webhook`.]],
  ops = {
    { "create_webhook", "CreateWebhook", "POST", WEBHOOKS,
      summary = "Create a webhook: subscribe a URL to the service's factor and challenge events.",
      cli_summary = "subscribe a URL to the service's events (factor.*, challenge.*)",
      doc = "`event_types` goes as repeated `EventTypes` keys.",
      usage = [[
local wh = assert(client:create_webhook(SVC, { friendly_name = "app",
  event_types = { "challenge.approved", "challenge.denied" }, webhook_url = "https://example.com/twilio" }))]],
      examples = { "webhooks create --friendly-name app --event-type challenge.approved "
                   .. "--event-type challenge.denied --webhook-url https://example.com/twilio" },
      params = params(true) },

    { "fetch_webhook", "FetchWebhook", "GET", WEBHOOKS .. "/{Sid}",
      summary = "Fetch a webhook.",
      cli_summary = "show one webhook",
      usage = "local wh = assert(client:fetch_webhook(SVC, wh_sid))",
      examples = { "webhooks fetch YW0123456789abcdef0123456789abcdef" } },

    { "list_webhook", "ListWebhook", "GET", WEBHOOKS,
      summary = "List one page of a service's webhooks.",
      cli_summary = "list the service's webhooks (every page, lazily; --limit stops early)",
      usage = [[
local page = assert(client:list_webhook(SVC, { page_size = 20 }))
for _, w in ipairs(page.webhooks) do print(w.sid, w.webhook_url) end]],
      iter_usage = "for w in client:webhooks(SVC) do print(w.sid, w.status, w.webhook_url) end",
      examples = { "webhooks list --json" },
      params = common.paging },

    { "update_webhook", "UpdateWebhook", "POST", WEBHOOKS .. "/{Sid}",
      summary = "Update a webhook (only the parameters given are sent).",
      usage = 'assert(client:update_webhook(SVC, wh_sid, { status = "disabled" }))',
      examples = { "webhooks update YW0123456789abcdef0123456789abcdef --status disabled" },
      params = params(false) },

    { "delete_webhook", "DeleteWebhook", "DELETE", WEBHOOKS .. "/{Sid}",
      summary = "Delete a webhook.",
      usage = "assert(client:delete_webhook(SVC, wh_sid))",
      examples = { "webhooks delete YW0123456789abcdef0123456789abcdef" } },
  },
}
