-- api/buckets.lua -- Service Rate Limit Buckets: at most `max` verifications
-- per key in `interval` seconds.  Format: api/README.md.
local B = "/v2/Services/{ServiceSid}/RateLimits/{RateLimitSid}/Buckets"

local function params(required)
  return {
    { "Max", "int", min = 1, max = 2147483647, required = required, metavar = "N",
      rule = "library: a bucket lets at least one request through (the description gives no bound)",
      help = "the most verifications a key may start in the interval" },
    { "Interval", "int", min = 1, max = 2147483647, required = required, metavar = "SECONDS",
      rule = "library: an interval of at least one second (the description gives no bound)",
      help = "the interval, in seconds" },
  }
end

return {
  resource = "bucket",
  class = "Bucket",
  list_key = "buckets",
  describe = { "max", "interval" },
  columns = { { "SID", "sid" }, { "MAX", "max" }, { "INTERVAL", "interval" }, { "CREATED", "date_created" } },
  path_params = { RateLimitSid = { "sid", prefix = "RK", help = "the rate limit" },
                  Sid = { "sid", prefix = "BL", help = "the bucket" } },
  doc = [[
Bucket objects: `sid` (`BL...`), `rate_limit_sid`, `max`, `interval`
(seconds), dates, `url`. A verification whose `rate_limits` value has
already started `max` verifications in the last `interval` seconds is
refused (429).]],
  ops = {
    { "create_bucket", "CreateBucket", "POST", B,
      summary = "Create a bucket of a rate limit: at most max verifications per key in interval seconds.",
      cli_summary = "create a bucket (--max N --interval SECONDS)",
      errors = "400 code 60211: a bucket of that interval exists",
      usage = 'local b = assert(client:create_bucket(SVC, "RK...", { max = 3, interval = 600 }))',
      examples = { "buckets create RK0123456789abcdef0123456789abcdef --max 3 --interval 600" },
      params = params(true) },
    { "fetch_bucket", "FetchBucket", "GET", B .. "/{Sid}",
      summary = "Fetch a bucket.", cli_summary = "show one bucket",
      usage = 'local b = assert(client:fetch_bucket(SVC, "RK...", "BL..."))',
      examples = { "buckets fetch RK0123456789abcdef0123456789abcdef BL0123456789abcdef0123456789abcdef" } },
    { "list_bucket", "ListBucket", "GET", B,
      summary = "List one page of a rate limit's buckets.",
      cli_summary = "list a rate limit's buckets (every page, lazily; --limit stops early)",
      usage = [[
local page = assert(client:list_bucket(SVC, "RK..."))
for _, b in ipairs(page.buckets) do print(b.sid, b.max, b.interval) end]],
      iter_usage = 'for b in client:buckets(SVC, "RK...") do print(b.max, b.interval) end',
      examples = { "buckets list RK0123456789abcdef0123456789abcdef" },
      params = common.paging },
    { "update_bucket", "UpdateBucket", "POST", B .. "/{Sid}",
      summary = "Update a bucket (only the parameters given are sent).",
      usage = 'assert(client:update_bucket(SVC, "RK...", "BL...", { max = 5 }))',
      examples = { "buckets update RK0123456789abcdef0123456789abcdef BL0123456789abcdef0123456789abcdef --max 5" },
      params = params(false) },
    { "delete_bucket", "DeleteBucket", "DELETE", B .. "/{Sid}",
      summary = "Delete a bucket.",
      usage = 'assert(client:delete_bucket(SVC, "RK...", "BL..."))',
      examples = { "buckets delete RK0123456789abcdef0123456789abcdef BL0123456789abcdef0123456789abcdef" } },
  },
}
