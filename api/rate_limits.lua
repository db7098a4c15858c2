-- api/rate_limits.lua -- Service Rate Limits: the keys a service meters when
-- verifications start (their limits are Buckets).  Format: api/README.md.
local RL = "/v2/Services/{ServiceSid}/RateLimits"

return {
  resource = "rate_limit",
  class = "RateLimit",
  list_key = "rate_limits",
  describe = { "unique_name" },
  columns = { { "SID", "sid" }, { "UNIQUE NAME", "unique_name" }, { "DESCRIPTION", "description" } },
  path_params = { Sid = { "sid", prefix = "RK", help = "the rate limit" } },
  doc = [[
RateLimit objects: `sid` (`RK...`), `unique_name` (the key of a
verification's `rate_limits`), `description`, dates, `url`, `links`
(`buckets`). `rate_limit:buckets()` and `rate_limit:create_bucket{...}` reach
its Buckets.]],
  ops = {
    { "create_rate_limit", "CreateRateLimit", "POST", RL,
      summary = "Create a rate limit: a key the service meters when verifications start.",
      cli_summary = "create a rate limit (--unique-name NAME)",
      errors = "400 code 60208: a rate limit of that unique_name exists; 60209: a bad unique_name",
      usage = [[
local rl = assert(client:create_rate_limit(SVC, { unique_name = "per_user", description = "per user id" }))
assert(rl:create_bucket{ max = 3, interval = 600 })]],
      examples = { "rate-limits create --unique-name per_user --description 'per user id'" },
      params = {
        { "UniqueName", "text", required = true, format = "unique_name", metavar = "NAME",
          rule = "docs: https://www.twilio.com/docs/api/errors/60209 (\"UniqueName only supports alphanumeric "
            .. "characters and -, _ or .\")",
          help = "the key's name in a verification's rate_limits (no PII)" },
        { "Description", "text", metavar = "TEXT", help = "what the key is" },
      } },
    { "fetch_rate_limit", "FetchRateLimit", "GET", RL .. "/{Sid}",
      summary = "Fetch a rate limit.", cli_summary = "show one rate limit",
      usage = 'local rl = assert(client:fetch_rate_limit(SVC, "RK..."))',
      examples = { "rate-limits fetch RK0123456789abcdef0123456789abcdef" } },
    { "list_rate_limit", "ListRateLimit", "GET", RL,
      summary = "List one page of a service's rate limits.",
      cli_summary = "list the service's rate limits (every page, lazily; --limit stops early)",
      usage = [[
local page = assert(client:list_rate_limit(SVC))
for _, rl in ipairs(page.rate_limits) do print(rl.sid, rl.unique_name) end]],
      iter_usage = "for rl in client:rate_limits(SVC) do print(rl.unique_name) end",
      examples = { "rate-limits list" },
      params = common.paging },
    { "update_rate_limit", "UpdateRateLimit", "POST", RL .. "/{Sid}",
      summary = "Update a rate limit's description.",
      usage = 'assert(client:update_rate_limit(SVC, "RK...", { description = "per account" }))',
      examples = { "rate-limits update RK0123456789abcdef0123456789abcdef --description 'per account'" },
      params = { { "Description", "text", metavar = "TEXT", help = "what the key is" } } },
    { "delete_rate_limit", "DeleteRateLimit", "DELETE", RL .. "/{Sid}",
      summary = "Delete a rate limit, with its buckets.",
      usage = 'assert(client:delete_rate_limit(SVC, "RK..."))',
      examples = { "rate-limits delete RK0123456789abcdef0123456789abcdef" } },
  },
}
