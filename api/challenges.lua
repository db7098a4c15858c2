-- api/challenges.lua -- Challenges: a sign-in with a factor (a TOTP code
-- to check, or a push request the device answers).  Format: api/README.md.
local R = common.rules
local CHALLENGES = "/v2/Services/{ServiceSid}/Entities/{Identity}/Challenges"
local status = { "pending", "expired", "approved", "denied" }

return {
  resource = "challenge",
  class = "Challenge",
  list_key = "challenges",
  describe = { "status" },
  columns = { { "SID", "sid" }, { "STATUS", "status" }, { "FACTOR", "factor_sid" },
              { "CREATED", "date_created" }, { "EXPIRES", "expiration_date" } },
  path_params = { Sid = { "sid", prefix = "YC", help = "the challenge" } },
  doc = [[
Challenge objects, from @{Client:create_challenge}, @{Client:sign_in},
@{Client:fetch_challenge}, lists and iterators.
Plain tables (fields: @{challenge}) with methods bound to their client,
like @{Factor} objects.]],
  ops = {
    { "create_challenge", "CreateChallenge", "POST", CHALLENGES,
      summary = "Create a challenge for a factor: a TOTP code to check, or a push request.",
      cli_summary = "create a challenge for a factor (exit 3 when --auth-payload does not approve it)",
      doc = [[
For a TOTP factor, `auth_payload` carries the code and the answer says at
once whether it was right (`status` `"approved"`, or still `"pending"`);
@{Client:sign_in} is that in one call. For a push factor,
`details_message` (and `details_fields`) are what the device shows; the
challenge stays `"pending"` until the device answers. The factor must be
verified (enrolment confirmed). A challenge expires after 5 minutes by
default (`expiration_date`, at most 60 minutes after creation).]],
      cli_doc = [[
With --auth-payload (a TOTP factor's code) the challenge is checked at once:
the exit status is 3 when it is not "approved" afterwards (a wrong code: the
API answers 201 and the challenge stays pending).  `sign-in` does this and
says yes or no.  Without it, a push challenge waits for the device.]],
      usage = [[
local ch = assert(client:create_challenge(SVC, USER, {
  factor_sid = FACTOR_SID,
  details_message = "Log in to Example?",
  details_fields = { { label = "IP", value = "203.0.113.7" }, { label = "Browser", value = "Firefox" } },
  hidden_details = { ip = "203.0.113.7" },
  expiration_date = os.time() + 120,      -- or "2030-01-01T00:02:00Z"
}))
print(ch.sid, ch.status)                  -- YC... pending]],
      examples = { "challenges create user-0001 --factor-sid YF... --auth-payload 123456",
                   "challenges create user-0001 --factor-sid YF... --details-message 'Log in?' "
                     .. "--details-field 'IP=192.0.2.1' --json" },
      params = {
        { "FactorSid", "sid", prefix = "YF", required = true, help = "the factor to challenge" },
        { "ExpirationDate", "date",
          help = "when the challenge expires: RFC 3339 (2030-01-01T00:00:00Z) or unix seconds" },
        { "Details.Message", "text", min = 1, max = 256,
          rule = 'description: "Can be up to 256 characters in length"',
          help = "push: the message shown on the device" },
        { "Details.Fields", "json", min = 2, max = 1024, array = true, max_items = 20, pairs = { "label", "value" },
          pair_max = { 36, 128 }, -- "the label can be up to 36 characters in length and the value can be up to 128"
          metavar = "LABEL=VALUE|JSON",
          rule = 'description: "There can be up to 20 details fields" (each a {label, value} object of at most 36 + 128 characters: 1024 bounds its JSON)',
          help = "push: a detail shown with the message" },
        { "HiddenDetails", "json", min = 2, max = 1024, string_values = true, rule = R.META,
          help = "a JSON object kept with the challenge, not shown to the user" },
        { "AuthPayload", "text", min = 3, max = 8, secret = true, metavar = "CODE",
          rule = 'description: "For TOTP this value must be between 3 and 8 characters long"',
          help = "the TOTP code: the challenge is approved at once when it is right" },
      } },

    { "fetch_challenge", "FetchChallenge", "GET", CHALLENGES .. "/{Sid}", device = "jwt",
      summary = "Fetch a challenge (e.g. to poll a push challenge's status).",
      cli_summary = "show one challenge",
      usage = [[
local ch = assert(client:fetch_challenge(SVC, USER, "YC0123456789abcdef0123456789abcdef"))
if ch.status == "approved" then print("approved on the device") end]],
      examples = { "challenges fetch user-0001 YC0123456789abcdef0123456789abcdef" } },

    { "list_challenge", "ListChallenge", "GET", CHALLENGES, device = "jwt",
      summary = "List one page of an identity's challenges, optionally filtered by factor and status.",
      cli_summary = "list an identity's challenges (every page, lazily; --limit stops early)",
      usage = [[
local page = assert(client:list_challenge(SVC, USER, { status = "pending", order = "desc", page_size = 20 }))
for _, ch in ipairs(page.challenges) do print(ch.sid, ch.factor_sid, ch.date_created) end]],
      iter_usage = [[
for ch in client:challenges(SVC, USER, { factor_sid = FACTOR_SID, status = "approved", limit = 10 }) do
  print(ch.sid, ch.date_responded)
end]],
      examples = { "challenges list user-0001 --status pending",
                   "challenges list user-0001 --factor-sid YF... --order desc --limit 5 --json" },
      params = {
        { "FactorSid", "sid", prefix = "YF", help = "only the challenges of this factor" },
        { "Status", "enum", enum = status, help = "only the challenges in this status" },
        { "Order", "enum", enum = { "asc", "desc" }, help = "creation order" },
        common.paging[1], common.paging[2], common.paging[3],
      } },

    { "update_challenge", "UpdateChallenge", "POST", CHALLENGES .. "/{Sid}", device = "jwt",
      summary = "Update a challenge: answer it with a code or a push signature.",
      cli_summary = "update (or approve, with --auth-payload) a challenge",
      doc = "The answer's `status` says whether it is now `\"approved\"`.",
      cli_doc = [[
Sends only the parameters given.  With --auth-payload the exit status is 3
when the challenge is not "approved" afterwards.]],
      usage = [[
local ch = assert(client:update_challenge(SVC, USER, CHALLENGE_SID, { auth_payload = "123456" }))
print(ch.status)   -- "approved" for a right code]],
      examples = { "challenges update user-0001 YC... --auth-payload 123456" },
      params = {
        { "AuthPayload", "text", min = 1, max = 5456, secret = true, metavar = "CODE",
          rule = 'description: "For Push this value can be up to 5456 characters in length"',
          help = "the TOTP code or the push signature that approves the challenge" },
        { "Metadata", "json", min = 2, max = 1024, string_values = true, rule = R.META, help = "a JSON object stored with it" },
      } },
  },
}
