-- api/common.lua -- what several resources of the operation data share:
-- path parameters, the paging parameters, and the sources of rules the
-- description states only in prose.  Loaded by api/gen.lua before the
-- resource files, which see it as `common`.  Data only (see api/README.md).

local R = {
  FN64 = 'description: "It can be up to 64 characters"',
  FN64C = 'description: "any string up to 64 characters"',
  TIMESTEP = 'description: "Must be between 20 and 60 seconds, inclusive"',
  SKEW = 'description: "Must be between 0 and 2, inclusive"',
  CODELEN = 'description: "Must be between 3 and 8, inclusive"',
  TOKEN = 'description: "between 32 and 255 characters long"',
  SDK = "library: SDK version strings are bounded at 64 characters",
  META = 'description: "a stringified JSON with only strings values ... Can be up to 1024 characters in length"',
  PAGETOKEN = "library: page tokens are opaque; bounded at 512 characters",
  PAGE = "library: Page is an int32 page index; bounded at 2147483647",
  IDENTITY = 'seed: "length between 8 and 64 characters ... dash (-) separated alphanumeric characters"',
}

local paging = {
  { "PageSize", "int", min = 1, max = 1000, paging = true, metavar = "N",
    help = "items per page" },
  { "Page", "int", min = 0, max = 2147483647, paging = true, rule = R.PAGE, metavar = "N",
    help = "the page index (the API echoes it as meta.page)" },
  { "PageToken", "text", min = 1, max = 512, paging = true, rule = R.PAGETOKEN, metavar = "TOKEN",
    help = "the page token (from a page's next_page_token)" },
}

return {
  rules = R,
  paging = paging,
  -- path parameters by their key in the path template (a resource or an
  -- operation may give its own: `{Sid}` is a different SID everywhere)
  path_params = {
    ServiceSid = { "sid", prefix = "VA", help = "the Verify service" },
    Identity = { "identity", rule = R.IDENTITY,
                 help = "the entity's identity, 8..64 characters of dash-separated alphanumerics" },
  },
}
