-- api/messaging_configurations.lua -- Messaging Configurations: the
-- Messaging Service a service's SMS go through, by country (or `all`).
-- Format: api/README.md.
local MC = "/v2/Services/{ServiceSid}/MessagingConfigurations"
local COUNTRY_RULE = 'description: "The [ISO-3166-1](https://en.wikipedia.org/wiki/ISO_3166-1_alpha-2) country code'
  .. ' of the country this configuration will be applied to ... Country will take the value `all`"'
local MG = { "MessagingServiceSid", "sid", prefix = "MG", required = true,
             help = "the Messaging Service that sends the SMS of this country" }

return {
  resource = "messaging_configuration",
  class = "MessagingConfiguration",
  list_key = "messaging_configurations",
  describe = { "messaging_service_sid" },
  columns = { { "COUNTRY", "country" }, { "MESSAGING SERVICE", "messaging_service_sid" }, { "CREATED", "date_created" } },
  path_params = { Country = { "text", format = "country_or_all", rule = COUNTRY_RULE,
                              help = "the country (ISO 3166-1 alpha-2, e.g. US) or all" } },
  doc = [[
MessagingConfiguration objects, named by their `country` (ISO 3166-1
alpha-2, or `all`): `messaging_service_sid` (`MG...`), `service_sid`, dates,
`url`.]],
  ops = {
    { "create_messaging_configuration", "CreateMessagingConfiguration", "POST", MC, id_key = "country",
      summary = "Route a country's SMS through a Messaging Service.",
      cli_summary = "route a country's SMS through a Messaging Service (--country CC --messaging-service-sid MG...)",
      errors = "400 code 60213: the country has one already",
      usage = [[
assert(client:create_messaging_configuration(SVC, { country = "US",
  messaging_service_sid = "MG0123456789abcdef0123456789abcdef" }))]],
      examples = { "messaging-configurations create --country US --messaging-service-sid MG0123456789abcdef0123456789abcdef" },
      params = {
        { "Country", "text", required = true, format = "country_or_all", rule = COUNTRY_RULE, metavar = "CC",
          help = "the country (ISO 3166-1 alpha-2, e.g. US) or all" },
        MG,
      } },
    { "fetch_messaging_configuration", "FetchMessagingConfiguration", "GET", MC .. "/{Country}", id_key = "country",
      summary = "Fetch a country's messaging configuration.", cli_summary = "show one country's configuration",
      usage = 'local mc = assert(client:fetch_messaging_configuration(SVC, "US"))',
      examples = { "messaging-configurations fetch US" } },
    { "list_messaging_configuration", "ListMessagingConfiguration", "GET", MC,
      summary = "List one page of a service's messaging configurations.",
      cli_summary = "list the service's messaging configurations (every page, lazily)",
      usage = [[
local page = assert(client:list_messaging_configuration(SVC))
for _, mc in ipairs(page.messaging_configurations) do print(mc.country, mc.messaging_service_sid) end]],
      iter_usage = "for mc in client:messaging_configurations(SVC) do print(mc.country) end",
      examples = { "messaging-configurations list" },
      params = common.paging },
    { "update_messaging_configuration", "UpdateMessagingConfiguration", "POST", MC .. "/{Country}", id_key = "country",
      summary = "Change the Messaging Service of a country.",
      usage = 'assert(client:update_messaging_configuration(SVC, "US", { messaging_service_sid = "MG..." }))',
      examples = { "messaging-configurations update US --messaging-service-sid MG0123456789abcdef0123456789abcdef" },
      params = { MG } },
    { "delete_messaging_configuration", "DeleteMessagingConfiguration", "DELETE", MC .. "/{Country}",
      summary = "Delete a country's messaging configuration.",
      usage = 'assert(client:delete_messaging_configuration(SVC, "US"))',
      examples = { "messaging-configurations delete US" } },
  },
}
