-- twilio.verify.cli.builtins -- the commands that are behaviours, not rows
-- of the operation table: sign-in, send-code, check-code, totp code|check|uri,
-- webhook validate.
local io, string = io, string
local type, pairs, ipairs, tostring = type, pairs, ipairs, tostring
local require = require
local format = string.format
local C = require "twilio.verify.cli.common"
local out = require "twilio.verify.cli.output"
local json = require "twilio.verify.cli.json"
local reg = require "twilio.verify.cli.commands"
local S, PROG, EXIT_OK, EXIT_API, EXIT_CHECK, getenv, lib = C.state, C.PROG, C.EXIT_OK, C.EXIT_API, C.EXIT_CHECK,
  C.getenv, C.lib
local say, die_usage, die_err, scalar, plain = out.say, out.die_usage, out.die_err, out.scalar, out.plain
local to_json = json.encode
local CLIENT_OPTS, TOTP_OPTS, join, command, new_client = reg.CLIENT_OPTS, reg.TOTP_OPTS, reg.join, reg.command,
  reg.new_client

-- Twilio's code for a challenge of a factor whose enrolment was never
-- confirmed ("Factor is unverified", 403).
local UNVERIFIED = 60318

local function read_code(s)
  if s ~= "-" then return s end
  local line = io.stdin:read("*l")
  if not line then die_usage("no code on stdin", "sign-in") end
  return (line:gsub("^%s+", ""):gsub("%s+$", ""))
end

command("sign-in", {
  args = { "IDENTITY", "FACTOR_SID", "CODE" },
  client = true,
  summary = "sign a user in with a verified TOTP factor's code (exit 3 when the code is wrong)",
  description = [[
Creates a challenge for the factor with CODE as its AuthPayload
(client:sign_in): exit 0 when Twilio approves it, 3 when it does not (a
wrong or stale code; the challenge stays pending), 1 when the API refuses,
e.g. a factor whose enrolment was never confirmed (verify it first with
`factors update IDENTITY SID --auth-payload CODE`) or too many wrong codes
(429).  CODE '-' reads the code from stdin.]],
  options = CLIENT_OPTS,
  examples = {
    PROG .. " sign-in user-0001 YF0123456789abcdef0123456789abcdef 123456 && echo welcome",
    "echo \"$CODE\" | " .. PROG .. " sign-in user-0001 YF... - --json",
  },
  run = function(o, identity, factor_sid, code)
    code = read_code(code)
    local client, svc = new_client(o)
    local ok, ch = client:sign_in(svc, identity, factor_sid, code)
    if ok == nil then
      local unverified = type(ch) == "table" and (ch.code == UNVERIFIED or ch.code == 60311)
      die_err(ch, unverified and ("confirm the enrolment first: " .. PROG .. " factors update " .. identity .. " "
        .. factor_sid .. " --auth-payload CODE") or nil)
    end
    local c = type(ch) == "table" and plain(ch) or nil
    if S.json then
      say(to_json({ ok = ok, challenge = c }))
    elseif ok then
      say(format("approved (challenge %s)", scalar(c and c.sid)))
    else
      say(format("wrong code (challenge %s is %s)", scalar(c and c.sid), scalar(c and c.status)))
    end
    return ok and EXIT_OK or EXIT_CHECK
  end,
})

-- One-time codes: send-code, check-code (client:send_code / client:check_code)
local function pairs_option(list, what)
  local t
  for _, kv in ipairs(list or {}) do
    local k, v = kv:match("^([^=]+)=(.*)$")
    if not k then die_usage(what .. " takes NAME=VALUE, got '" .. kv .. "'") end
    t = t or {}
    t[k] = v
  end
  return t
end

command("send-code", {
  args = { "TO" },
  client = true,
  summary = "send a one-time code to a phone number (E.164) or an email address",
  description = [[
Starts a verification (client:send_code): TO is a phone number in E.164
format (+15551234567) or an email address; --channel defaults to email for
an address, sms otherwise.  Sending again while the verification is pending
re-sends the same code (at most 5 times: then exit 1, code 60203).  The code
is not printed: it reaches the user (with the emulator: `twilio-verify
emulator messages --to TO`).  --rate-limit NAME=VALUE (repeatable) gives the
value of the service's rate limit NAME (its unique_name).  Prints the
verification (its sid, status pending).]],
  options = join({
    { "channel", value = "sms|call|email|whatsapp|sna|auto", help = "how to send the code" },
    { "locale", value = "LOCALE", help = "the message's language (default: from the number's country)" },
    { "custom-friendly-name", value = "NAME", help = "the name in the message, instead of the service's" },
    { "template-sid", value = "HJ...", help = "the message template" },
    { "rate-limit", value = "NAME=VALUE", repeatable = true, help = "a rate limit's value (repeatable)" },
    { "substitution", value = "NAME=VALUE", repeatable = true,
      help = "a template variable's value (repeatable; TemplateCustomSubstitutions)" },
  }, CLIENT_OPTS),
  examples = {
    PROG .. " send-code +15551234567 --channel sms",
    PROG .. " send-code ann@example.com --json",
    PROG .. " send-code +15551234567 --rate-limit per_user=user-7f3a9c",
  },
  run = function(o, to)
    local client, svc = new_client(o)
    local params = { channel = o.channel, locale = o.locale, custom_friendly_name = o["custom-friendly-name"],
                     template_sid = o["template-sid"], rate_limits = pairs_option(o["rate-limit"], "--rate-limit"),
                     template_custom_substitutions = pairs_option(o.substitution, "--substitution") }
    local v, err = client:send_code(svc, to, params)
    if not v then die_err(err) end
    if S.json then say(to_json(plain(v)))
    else say(format("sent (verification %s, %s, %s)", scalar(v.sid), scalar(v.channel), scalar(v.status))) end
    return EXIT_OK
  end,
})

command("check-code", {
  args = { "TO", "CODE" },
  client = true,
  summary = "check a one-time code (exit 0 approved, 3 wrong code, 1 error)",
  description = [[
Checks CODE against the pending verification of TO (a phone number, an
email address, or the verification's VE... sid) with client:check_code:
exit 0 when it matches (the verification is approved), 3 for a wrong code
(it stays pending; after 5 wrong codes it takes no more), 1 when the API
refuses: no pending verification (404, code 20404: approved, canceled,
expired or never sent) or a check after 5 wrong codes (429, code 60202).
CODE '-' reads the code from stdin.]],
  options = CLIENT_OPTS,
  examples = {
    PROG .. " check-code +15551234567 123456 && echo verified",
    "echo \"$CODE\" | " .. PROG .. " check-code ann@example.com - --json",
  },
  run = function(o, to, code)
    code = read_code(code)
    local client, svc = new_client(o)
    local ok, c = client:check_code(svc, to, code)
    if ok == nil then die_err(c) end
    local p = type(c) == "table" and plain(c) or nil
    if S.json then
      say(to_json({ ok = ok, check = p }))
    elseif ok then
      say(format("approved (verification %s)", scalar(p and p.sid)))
    else
      say(format("wrong code (verification %s is %s)", scalar(p and p.sid), scalar(p and p.status)))
    end
    return ok and EXIT_OK or EXIT_CHECK
  end,
})

local function read_secret(s)
  if s ~= "-" then return s end
  local line = io.stdin:read("*l")
  if not line then die_usage("no secret on stdin") end
  return (line:gsub("^%s+", ""):gsub("%s+$", ""))
end

local function totp_opts(o, extra)
  local t = { alg = o.alg, digits = o.digits, step = o.step, time = o.time }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

command("totp code", {
  args = { "SECRET" },
  summary = "print the current TOTP code of a Base32 secret ('-': read it from stdin)",
  options = TOTP_OPTS,
  examples = {
    PROG .. " totp code JBSWY3DPEHPK3PXP",
    "echo \"$SECRET\" | " .. PROG .. " totp code - --digits 8 --alg sha256",
  },
  run = function(o, secret)
    local code, err = lib().totp.code(read_secret(secret), totp_opts(o))
    if not code then die_err(err) end
    if S.json then say(to_json({ code = code })) else say(code) end
    return EXIT_OK
  end,
})

command("totp check", {
  args = { "SECRET", "CODE" },
  summary = "check a code against a Base32 secret (exit 3 when it does not match)",
  options = join(TOTP_OPTS, {
    { "skew", value = "N", type = "int", help = "steps accepted either side, 0..2 (default 1)" },
  }),
  examples = { PROG .. " totp check JBSWY3DPEHPK3PXP 123456 --skew 0" },
  run = function(o, secret, code)
    local ok, offset = lib().totp.check(read_secret(secret), code, totp_opts(o, { skew = o.skew }))
    if ok == nil then die_err(offset) end
    if S.json then
      say(to_json({ ok = ok, offset = ok and offset or nil }))
    else
      say(ok and format("match (offset %d)", offset) or "no match")
    end
    return ok and EXIT_OK or EXIT_CHECK
  end,
})

command("totp uri", {
  args = { "SECRET" },
  summary = "print the otpauth:// URI (the QR code's content) for a Base32 secret",
  options = {
    { "account", value = "NAME", help = "required: the account name shown in the app" },
    { "issuer", value = "NAME", help = "the issuer shown in the app" },
    { "alg", value = "ALG", help = "sha1 (default), sha256 or sha512" },
    { "digits", value = "N", type = "int", help = "code length, 3..8 (default 6)" },
    { "period", value = "SECONDS", type = "int", help = "time step, 1..3600 (default 30)" },
  },
  examples = { PROG .. " totp uri JBSWY3DPEHPK3PXP --account ann@example.com --issuer Example" },
  run = function(o, secret)
    if not o.account then die_usage("--account is required", o._cmd) end
    local uri, err = lib().totp.uri{ secret = read_secret(secret), account = o.account, issuer = o.issuer,
                                     alg = o.alg, digits = o.digits, period = o.period }
    if not uri then die_err(err) end
    if S.json then say(to_json({ uri = uri })) else say(uri) end
    return EXIT_OK
  end,
})

-- webhook validate: the one command that reads the auth token itself
-- (TWILIO_AUTH_TOKEN), and only to hand it to verify.webhook.validate.
local function read_body(path)
  if path == "-" then return io.stdin:read("*a") end
  local f, err = io.open(path, "rb")
  if not f then die_usage("cannot read --body: " .. tostring(err), "webhook validate") end
  local s = f:read("*a")
  f:close()
  return s
end

command("webhook validate", {
  args = {},
  summary = "check a webhook's X-Twilio-Signature (exit 0 valid, 1 invalid)",
  description = [[
Checks the signature Twilio sent in X-Twilio-Signature for a request to URL
(verify.webhook.validate; doc/webhooks.md).  The auth token comes from
TWILIO_AUTH_TOKEN.  The request is either a raw body (--body FILE, '-' for
stdin: a JSON body when URL has a bodySHA256 query parameter, else an
application/x-www-form-urlencoded one) or form parameters (--param k=v,
repeatable; a repeated key is a repeated parameter; the value is taken as
it is, not percent-decoded); neither: no parameters.  Exit 0 and "valid"
when the signature is valid; exit 1 and "invalid: REASON" when it is not
(with --json: {"valid":...,"reason":...}); 2 on a usage error.]],
  options = {
    { "url", value = "URL", help = "required: the full URL Twilio requested, query string included" },
    { "signature", value = "SIG", help = "required: the X-Twilio-Signature header" },
    { "body", value = "FILE", help = "the raw request body ('-': stdin)" },
    { "param", value = "KEY=VALUE", repeatable = true, help = "a form parameter" },
  },
  examples = {
    PROG .. " webhook validate --url 'https://example.com/hook' --signature \"$SIG\" --body body.txt",
    PROG .. " webhook validate --url 'https://example.com/hook?x=1' --signature \"$SIG\" --param Digits=1234",
  },
  run = function(o)
    local cmd = "webhook validate"
    if not o.url then die_usage("--url is required", cmd) end
    if not o.signature then die_usage("--signature is required", cmd) end
    if o.body and o.param then die_usage("--body and --param do not go together", cmd) end
    local token = getenv("TWILIO_AUTH_TOKEN")
    if not token then die_usage("TWILIO_AUTH_TOKEN is not set", cmd) end
    local input
    if o.body then
      input = read_body(o.body)
    else
      input = {}
      for _, kv in ipairs(o.param or {}) do
        local k, v = kv:match("^([^=]*)=(.*)$")
        if not k then die_usage("--param takes KEY=VALUE, got '" .. kv .. "'", cmd) end
        local cur = input[k]
        if cur == nil then input[k] = v
        elseif type(cur) == "table" then cur[#cur + 1] = v
        else input[k] = { cur, v } end
      end
    end
    local ok, why = lib().webhook.validate(token, o.url, input, o.signature)
    if S.json then
      say(to_json({ valid = ok, reason = why }))
    else
      say(ok and "valid" or ("invalid: " .. tostring(why)))
    end
    return ok and EXIT_OK or EXIT_API
  end,
})
