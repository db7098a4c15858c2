--- Twilio Verify v2 factor authentication for Lua.
-- Enrol TOTP apps and push devices as second factors (Factors), sign users
-- in with them (Challenges, @{Client:sign_in}), and manage the Entities and
-- Services they live in: lazy pages, resource objects, structured errors,
-- retries that honour `Retry-After`, batches and TOTP helpers.
-- The C core (twilio.verify.core) holds the operation table -- every
-- operation of the API as one row of data -- and validates, builds
-- requests, runs the transport and parses responses; this layer adds
-- environment defaults, pages with navigation, lazy iterators and objects,
-- all made from that table.
--
-- Every failure returns `nil, err` (see @{error}), argument errors found
-- before any I/O included; only a `self` that is no client (a call made with
-- a dot) raises. The list iterators return an iterator even then: `it, err`,
-- and its first step fails with `err` (a `for` loop raises it: see
-- @{error_of}). No credential ever appears in an error, a log line or
-- `tostring` of anything.
-- @module twilio.verify
-- @license MIT
-- @usage
-- local verify = require "twilio.verify"
-- local client = assert(verify.new{})   -- TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN
-- local SVC, USER = "VA0123456789abcdef0123456789abcdef", "user-7f3a9c"
-- for factor in client:factors(SVC, USER, { limit = 100 }) do
--   print(factor.sid, factor.factor_type, factor.status, factor.friendly_name)
-- end
-- local f, err = client:fetch_factor(SVC, USER, "YF0123456789abcdef0123456789abcdef")
-- if not f then print(err.kind, err.status, err.code, err.message) end
local core = require "twilio.verify.core"

local type, error, getmetatable, pairs, tostring = type, error, getmetatable, pairs, tostring
local os_getenv = os.getenv

local _M = {
    _VERSION = core._VERSION,
    null = core.null,       -- JSON null inside arrays
    totp = core.totp,       -- verify.totp.code/check/uri/parse_uri
    webhook = require("twilio.verify.webhook"), -- X-Twilio-Signature: validate/sign/validate_request
    curl_version = core.curl_version,
    -- base64url (WebAuthn's encoding of binary fields) both ways: bytes -> text, text -> bytes | nil
    passkey_b64url_encode = core.passkey.b64url,
    passkey_b64url_decode = core.passkey.unb64url,
}

local Client = core.Client -- methods of the client userdata (C), extended here
local callm = require "twilio.verify.call"
local objects = require "twilio.verify.objects"
local pages = require "twilio.verify.pages"
require "twilio.verify.batch" -- client:batch
local OPS, raw, err_mt = callm.OPS, callm.raw, callm.err_mt
local RESOURCES, bind, client_of = objects.RESOURCES, objects.bind, objects.client_of
local make_page, list_ops = pages.make_page, pages.list_ops
local Factor = objects.kinds.factor
local Verification = objects.kinds.verification
local ipairs, select = ipairs, select
_M.curl_transport, _M.response_of, _M.response_headers, _M.error_of, _M.Iterator =
    callm.curl_transport, objects.response_of, objects.response_headers, pages.error_of, pages.Iterator
for _, r in ipairs(RESOURCES) do _M[r.class] = objects.kinds[r.name] end

-- an environment variable; empty counts as unset
local function env(name)
    local v = os_getenv(name)
    if v == "" then return nil end
    return v
end

--- Create a client.
--
-- **syntax:** `verify.new(opts) -> client | nil, err`
--
-- Options given win; what is not given comes from the environment, as the
-- official Twilio SDKs read it (an empty variable counts as unset):
--
-- * account_sid / auth_token: TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN;
--   api_key / api_secret: TWILIO_API_KEY / TWILIO_API_SECRET (used instead
--   of the auth token when both are set and no credential option is given).
-- * the base URL, unless `base_url` is given: `region` / `edge` when given
--   (the one not given read from TWILIO_REGION / TWILIO_EDGE, as the SDKs
--   do); else TWILIO_VERIFY_BASE_URL; else TWILIO_REGION / TWILIO_EDGE;
--   else https://verify.twilio.com.
--
-- An unknown or mistyped option, a bad value (a string option holding a NUL
-- byte included) and missing credentials return `nil, err` naming the
-- option (a bad value read from the environment names the variable in
-- `err.message`). The credentials are kept only in C memory.
-- `proxy` / `no_proxy` (strings): the proxy for https (plain http never
-- goes through a proxy unless `proxy` is set; `proxy = ""` disables the
-- environment's) and the hosts that bypass it.
-- `max_pages` (integer >= 1, default 10000): the most pages one listing --
-- an iterator, @{collect}, a batch list -- follows; past it, and on a
-- `next_page_url` that repeats a page of the same listing, the listing
-- stops with a `decode` error (page:next_page() chains are the caller's and
-- not capped).
-- @tparam[opt] table opts @{options}
-- @treturn[1] Client the client
-- @return[2] `nil`
-- @treturn[2] table an `invalid_argument` @{error}
-- @usage
-- local client, err = verify.new{ timeout = 5, max_retries = 2 }
-- if not client then error(tostring(err)) end
-- -- the emulator (plain http is allowed to loopback):
-- local emu = assert(verify.new{ base_url = "http://127.0.0.1:8080",
--   account_sid = "AC00000000000000000000000000000000", auth_token = "emulator-auth-token" })
function _M.new(opts)
    if opts ~= nil and type(opts) ~= "table" then
        error("verify.new: opts must be a table, got " .. type(opts), 2)
    end
    local o = {}
    for k, v in pairs(opts or {}) do o[k] = v end
    o._credential_source = nil -- internal: set below, never by the caller
    local from_env = {} -- option -> the variable it was read from
    local function default(k, var)
        if o[k] == nil then
            o[k] = env(var)
            if o[k] ~= nil then from_env[k] = var end
        end
    end
    default("account_sid", "TWILIO_ACCOUNT_SID")
    if o.auth_token == nil and o.api_key == nil and o.api_secret == nil then
        if env("TWILIO_API_KEY") and env("TWILIO_API_SECRET") then
            default("api_key", "TWILIO_API_KEY")
            default("api_secret", "TWILIO_API_SECRET")
        else
            default("auth_token", "TWILIO_AUTH_TOKEN")
        end
    end
    o._credential_source = (from_env.account_sid or from_env.auth_token or from_env.api_key)
        and "environment" or "options"
    -- the base URL: base_url, or region / edge, given; else
    -- TWILIO_VERIFY_BASE_URL; else TWILIO_REGION / TWILIO_EDGE, each filling
    -- in for the one not given (as twilio-python's `region or TWILIO_REGION`)
    -- -- the C side maps region/edge to a URL
    if o.base_url == nil then
        if o.region == nil and o.edge == nil then default("base_url", "TWILIO_VERIFY_BASE_URL") end
        if o.base_url == nil then
            default("region", "TWILIO_REGION")
            default("edge", "TWILIO_EDGE")
        end
    end
    -- Inside nginx the I/O goes through nginx subrequests (never blocks the
    -- worker) unless a transport is given; transport = false keeps libcurl.
    if o.transport == false then
        o.transport = nil
    elseif o.transport == nil then
        local ngx = rawget(_G, "ngx")
        if type(ngx) == "table" and type(ngx.location) == "table" and ngx.location.capture then
            o.transport = require("twilio.verify.openresty").transport
        end
    end
    local client, err = core.new(o)
    if not client and type(err) == "table" then
        local p = err.param
        local var = from_env[p] or ((p == "region" or p == "edge") and (from_env.region or from_env.edge))
        if var then err.message = tostring(err.message) .. " (read from " .. var .. ")" end
    end
    return client, err
end

--- The libcurl transport as a Lua transport function.
-- verify.curl_transport: the libcurl transport as a Lua transport function
-- (one attempt over the client's own connection); mostly for testing that
-- both paths behave the same, or to wrap it.
-- @tparam table request a @{transport_request}
-- @tparam Client client the client making the request
-- @treturn[1] table a @{transport_response}
-- @return[2] `nil`
-- @return[2] the transport error: a message or `{ message =, timeout =, unsent = }`
-- @usage
-- local client = verify.new{ transport = function(req, c)
--   local resp, err = verify.curl_transport(req, c)
--   print(req.method, req.url, resp and resp.status)
--   return resp, err
-- end }
-- @function curl_transport

--- What the response a value came from said besides its body.
--
-- **syntax:** `verify.response_of(value) -> { status, request_id, headers } | nil`
--
-- For any table an operation returned (an object, a page, an access token...;
-- refreshed objects take their latest answer's): the HTTP `status`,
-- `request_id` (`Twilio-Request-Id`) and `headers`, keyed by lower-case name,
-- holding those of `verify.response_headers` the server sent:
-- `Twilio-Request-Id`, `Twilio-Request-Duration`, `Twilio-Concurrent-Requests`,
-- `Twilio-Reached-Rate-Limit`, `Retry-After`, `X-Rate-Limit-Limit`,
-- `X-Rate-Limit-Remaining`, `X-Rate-Limit-Config`, and the Push signature headers
-- the API defines: `Twilio-Verify-Signature-Fields` (FetchChallenge: the
-- fields a device signs), `Twilio-Verify-Challenge-Signature` (UpdateChallenge)
-- and `Twilio-Verify-Factor-Signature` (UpdateFactor). Values are strings
-- without control characters (at most 8192 bytes); a repeated header keeps its
-- last value. From a Lua transport names match in any case: when a headers
-- table spells one name several ways, the smallest key in byte order wins,
-- and a table of more than 256 entries is not read at all (no headers). `nil`
-- for anything else (a delete's `true`, batch results, tables of your own).
-- Recorded in a weak table: it lives as long as the value.
-- @param value what an operation returned
-- @treturn[1] table `{ status = 200, request_id = "RQ...", headers = { ["twilio-verify-signature-fields"] = "..." } }`
-- @return[2] `nil`
-- @usage
-- local ch = assert(client:fetch_challenge(SVC, USER, sid))
-- local r = verify.response_of(ch)
-- print(r.status, r.request_id, r.headers["twilio-verify-signature-fields"])
-- @function response_of

--- The structured error behind a raised value.
--
-- **syntax:** `verify.error_of(raised) -> err | nil`
--
-- For what `pcall` caught from a `for` loop over an iterator: the @{error}
-- object, whether the loop raised the object itself (Lua 5.2+, LuaJIT) or
-- its message string (inside nginx, and on Lua 5.1). A string is looked up
-- among the last 16 errors raised as strings in the same coroutine (inside
-- nginx: the same request), by its text (a position
-- prefix added by re-raising it with `error(e)` is allowed); `nil` for
-- anything else. An error object is returned as it is. (The iterator also
-- keeps the error in `it.error`.)
-- @param raised the value `pcall` returned
-- @treturn[1] table the @{error}
-- @return[2] `nil`: not an error of this library (or no longer remembered)
-- @usage
-- local ok, e = pcall(function() for f in client:factors(SVC, USER) do use(f) end end)
-- if not ok then
--   local err = verify.error_of(e)
--   if err and err.status == 404 then print("no such entity") else error(e, 0) end
-- end
-- @function error_of

--- A client, made by @{new}: a userdata holding the credentials (in C
-- memory only), one reused libcurl handle (keep-alive) and the options.
--
-- Every row of @{operations} is a method named after it
-- (`<verb>_<resource>`). Its arguments are the path parameters in path
-- order, then (create_entity only) the identity, then a parameters table
-- when the operation has other parameters, then optional @{call_options}.
-- Arguments are validated locally, by the rules the emulator uses, before
-- anything is sent; a failure returns `nil, err` (see @{error}). Instances
-- come back as objects (@{Factor}, @{Challenge}, @{Entity}, @{Service}),
-- lists as a @{page}, deletes as `true`.
--
-- Hooks (`log`, `on_retry`) that raise never throw a result away (a created
-- TOTP factor's `binding.secret` comes only once): the operation finishes,
-- later hooks of the call are skipped, and the hook's error value is
-- surfaced with the outcome -- on success as a third return value
-- (`value, nil, hook_error`), on failure as `err.hook_error` (`nil, err`).
-- The same on both transports; iterators keep it in `it.hook_error`, Lua
-- transport batch results in `result.hook_error`.
-- @type Client

-- client:<verb>_<resource>(...): every operation of the table, returning
-- objects (instances), pages (lists) or true (deletes).
for _, op in ipairs(OPS) do
    local name, resource = op.name, op.resource
    local r = raw[name]
    if op.returns == "instance" then
        Client[name] = function(self, ...)
            local v, err, hook_err = r(self, ...)
            return bind(self, resource, v), err, hook_err
        end
    elseif op.returns == "page" then
        local n = op.nargs
        Client[name] = function(self, ...)
            local p, err, hook_err = r(self, ...)
            local page, perr = make_page(self, op, p, err, (select(n + 1, ...)))
            return page, perr, hook_err
        end
    else
        Client[name] = r
    end
end
Client.list_page_url = raw.list_page_url

--- Fetch a page by its URL.
--
-- **syntax:** `client:list_page(url [, opts]) -> page | nil, err`
--
-- Resume from a saved page URL (meta.url / next_page_url) of any list. It is
-- refused, with nothing sent, unless it is on the configured base URL's
-- scheme, host and port and names a list operation's path exactly (its path
-- and query parameters are each checked, and the request is rebuilt from
-- them).
-- @string url a page URL from a page's `meta`
-- @tparam[opt] table opts @{call_options}
-- @treturn[1] page the @{page}
-- @return[2] `nil`
-- @treturn[2] table an @{error} (`invalid_argument` for a URL on another origin; nothing is sent)
-- @usage
-- local saved = page.meta.url
-- local again = assert(client:list_page(saved))
function Client:list_page(url, opts)
    local name, cerr = core.check_page_url(self, url) -- the list operation the URL names (no I/O)
    if not name and not self:is_closed() then return nil, cerr end -- (closed: the closed error, below)
    local p, err, hook_err = raw.list_page_url(self, url, opts)
    local page, perr = make_page(self, OPS[name] or list_ops.factors, p, err, opts)
    return page, perr, hook_err
end

--- Verify a factor with a code: the enrolment step (see @{Factor:verify}).
--
-- **syntax:** `client:verify_factor(service_sid, identity, sid, code [, opts]) -> true | false | nil, err`
--
-- Not for sign-in: once the factor is verified Twilio answers 200 for any
-- code. Sign users in with @{Client:sign_in}.
-- @string service_sid `VA...`
-- @string identity the entity's identity
-- @string sid `YF...`
-- @string code the TOTP code
-- @tparam[opt] table opts @{call_options}
-- @treturn[1] boolean whether the factor is now verified
-- @return[2] `nil`
-- @treturn[2] table an @{error}
-- @usage
-- local ok, err = client:verify_factor(SVC, USER, SID, "123456")
-- if ok == nil then print(err) elseif not ok then print("wrong code") end
function Client:verify_factor(service_sid, identity, sid, code, opts)
    local f, err, hook_err = raw.update_factor(self, service_sid, identity, sid, { auth_payload = code }, opts)
    if not f then return nil, err end
    return f.status == "verified", nil, hook_err
end

-- Sign-in -------------------------------------------------------------------

-- Twilio's code for a challenge on a factor whose enrolment was never
-- confirmed (see doc/emulator.md).
local NOT_VERIFIED = 60318

--- Does this code sign this user in? The sign-in step of a TOTP factor.
--
-- **syntax:** `client:sign_in(service_sid, identity, factor_sid, code [, opts]) -> true | false | nil, err`
--
-- Creates a challenge for the (verified) factor carrying the code as
-- `AuthPayload`: `true` when Twilio approves it, `false` when it does not (a
-- wrong or stale code: the challenge stays pending), `nil, err` on failure --
-- including too many wrong attempts, and a factor whose enrolment was never
-- confirmed (confirm it first with @{Factor:verify}). The challenge is the
-- second value on success.
-- @string service_sid `VA...`
-- @string identity the entity's identity
-- @string factor_sid `YF...` (a verified TOTP factor)
-- @string code the code the user typed
-- @tparam[opt] table opts @{call_options}
-- @treturn[1] boolean `true`: signed in; `false`: wrong code
-- @treturn[1] table the challenge
-- @return[2] `nil`
-- @treturn[2] table an @{error}
-- @usage
-- local ok, err = client:sign_in(SVC, USER, factor_sid, code)
-- if ok then session.user = USER elseif ok == false then say("wrong code") else log(err) end
function Client:sign_in(service_sid, identity, factor_sid, code, opts)
    if type(code) ~= "string" then
        return nil, core.arg_error("code", "code must be a string, got " .. type(code))
    end
    local ch, err, hook_err = raw.create_challenge(self, service_sid, identity,
        { factor_sid = factor_sid, auth_payload = code }, opts)
    if not ch then
        if type(err) == "table" and err.code == NOT_VERIFIED then
            err.message = "factor " .. tostring(factor_sid) .. " is not verified: confirm the enrolment first "
                .. "(factor:verify(code)), then sign in with its codes (" .. tostring(err.message) .. ")"
        end
        return nil, err
    end
    return ch.status == "approved", bind(self, "challenge", ch), hook_err
end

-- Passkeys --------------------------------------------------------------------

--- Verify a passkey factor: the registration's second step.
--
-- **syntax:** `client:verify_passkey_factor(service_sid, credential [, opts]) -> factor | nil, err`
--
-- The name the issue and Twilio's docs use for @{Client:update_passkey_factor}
-- (operationId UpdatePasskeysFactor, path `Passkeys/VerifyFactor`): the
-- operation table names rows `<verb>_<resource>`, so the row is
-- `update_passkey_factor` and this is the same call. `credential` is the
-- `PublicKeyCredential` JSON the browser's `navigator.credentials.create()`
-- (or @{twilio.verify.passkey.new}) made from the factor's `options`.
-- @string service_sid `VA...`
-- @tparam table credential `{ id, rawId, authenticatorAttachment, type,
-- response = { attestationObject, clientDataJSON, transports } }`
-- @tparam[opt] table opts @{call_options}
-- @treturn[1] PasskeyFactor the factor, `status = "verified"`
-- @return[2] `nil`
-- @treturn[2] table an @{error} (60386 attestation, 60380 client data, 60376 rawId, 60382 relying party...)
-- @usage local f = assert(client:verify_passkey_factor(SVC, credential_from_the_browser))
function Client:verify_passkey_factor(service_sid, credential, opts)
    return self:update_passkey_factor(service_sid, credential, opts)
end

--- Approve a passkey challenge with an assertion: the sign-in's second step.
--
-- **syntax:** `client:approve_passkey_challenge(service_sid, assertion [, opts]) -> challenge | nil, err`
--
-- The same call as @{Client:update_passkey_challenge} (operationId
-- UpdateChallengePasskeys, path `Passkeys/ApproveChallenge`), by the name
-- of what it does. See @{Client:passkey_sign_in} for the yes/no form.
-- @string service_sid `VA...`
-- @tparam table assertion `{ id, rawId, authenticatorAttachment, type,
-- response = { authenticatorData, clientDataJSON, signature, userHandle } }`
-- @tparam[opt] table opts @{call_options}
-- @treturn[1] PasskeyChallenge the challenge, `status = "approved"`
-- @return[2] `nil`
-- @treturn[2] table an @{error}
-- @usage local ch = assert(client:approve_passkey_challenge(SVC, assertion_from_the_browser))
function Client:approve_passkey_challenge(service_sid, assertion, opts)
    return self:update_passkey_challenge(service_sid, assertion, opts)
end

-- Twilio's answers to an assertion that does not sign the user in (the
-- credential, its signature, its data, the challenge): a "no", not a failure
-- of the call (doc/emulator.md lists each with its source).
local PASSKEY_NO = { [60376] = true, [60379] = true, [60380] = true, [60381] = true, [60382] = true,
                     [60420] = true, [60322] = true, [60323] = true, [60391] = true }

--- Does this assertion sign the user in? The server side of a passkey sign-in.
--
-- **syntax:** `client:check_passkey(service_sid, assertion [, opts]) -> true, challenge | false, err | nil, err`
--
-- Approves the challenge the assertion answers: `true` and the challenge
-- when Twilio approves it; `false` and the error when Twilio refuses the
-- assertion itself (a signature, authenticator data or client data that
-- do not check out, another credential, a replayed or expired challenge:
-- codes 60376, 60379, 60380, 60381, 60382, 60420, 60322, 60323, 60391);
-- `nil, err` for any other failure (the network, credentials, a bad
-- argument).
-- @string service_sid `VA...`
-- @tparam table assertion what `navigator.credentials.get()` (or @{twilio.verify.passkey.new}) answered
-- @tparam[opt] table opts @{call_options}
-- @treturn[1] boolean `true`: signed in; `false`: refused
-- @treturn[1] table the challenge, or (`false`) the error
-- @return[2] `nil`
-- @treturn[2] table an @{error}
-- @usage
-- local ok, res = client:check_passkey(SVC, assertion)
-- if ok then session.user = res.identity elseif ok == false then say("try again") else log(res) end
function Client:check_passkey(service_sid, assertion, opts)
    local ch, err, hook_err = self:update_passkey_challenge(service_sid, assertion, opts)
    if ch then return ch.status == "approved", ch, hook_err end
    if type(err) == "table" and err.kind == "http" and PASSKEY_NO[err.code] then return false, err end
    return nil, err
end

--- A whole passkey sign-in in one call: options out, assertion in.
--
-- **syntax:** `client:passkey_sign_in(service_sid, who, authenticate [, opts])
-- -> true, challenge | false, err | nil, err`
--
-- Creates the challenge (`who`: `{ identity =, factor_sid = }`, or `{}` for a
-- discoverable credential), hands its `options` to `authenticate(options)`
-- -- which returns the assertion (a virtual authenticator's `get`, or the
-- browser's answer by whatever way your app has) or `nil, err` -- and
-- answers like @{Client:check_passkey}.
-- @string service_sid `VA...`
-- @tparam table who the parameters of @{Client:create_passkey_challenge}
-- @tparam function authenticate `function(options) -> assertion | nil, err`
-- @tparam[opt] table opts @{call_options}
-- @treturn[1] boolean
-- @treturn[1] table the challenge, or the error
-- @return[2] `nil`
-- @treturn[2] table an @{error}
-- @usage
-- local auth = require("twilio.verify.passkey").new()
-- local ok, res = client:passkey_sign_in(SVC, { identity = USER }, function(o)
--   return auth:get(o, { origin = "https://example.com" }) end)
function Client:passkey_sign_in(service_sid, who, authenticate, opts)
    if type(authenticate) ~= "function" then
        return nil, core.arg_error("authenticate", "authenticate must be a function(options) -> assertion")
    end
    local ch, err = self:create_passkey_challenge(service_sid, who, opts)
    if not ch then return nil, err end
    local assertion, aerr = authenticate(ch.options)
    if not assertion then
        if type(aerr) == "table" and getmetatable(aerr) == err_mt then return false, aerr end
        return false, core.arg_error("assertion", "no assertion: " .. tostring(aerr))
    end
    return self:check_passkey(service_sid, assertion, opts)
end

-- One-time codes -------------------------------------------------------------

-- Twilio's codes for a verification's limits and its end, with what to tell
-- the user (sources: doc/emulator.md, "Verifications").
local OTP_ERRORS = {
    [60200] = "the request was refused",
    [60202] = "too many wrong codes for this verification (5): it takes no more; send a new code once it expires "
        .. "(10 minutes after it was sent)",
    [60203] = "too many codes sent for this verification (5): check the code the user has, cancel the verification, "
        .. "or wait until it expires (10 minutes)",
    [60212] = "too many verifications started for this number in a short time: wait, and check your traffic",
    [60223] = "the service has this channel disabled: enable it, or send by another channel",
    [60410] = "Fraud Guard blocked SMS to this number's prefix: add it to the SafeList if it is yours, or send by "
        .. "another channel",
    [20429] = "a rate limit of the service was reached for this key: wait, then try again",
}
local NOT_FOUND = 20404

local function otp_error(err, what)
    if type(err) ~= "table" then return err end
    local why = OTP_ERRORS[err.code]
    if err.code == NOT_FOUND and what == "check" then
        why = "no pending verification for this number or address: it was approved, canceled or expired (10 "
            .. "minutes), or never sent: send a new code"
    end
    if why and err.code ~= 60200 then err.message = why .. " (" .. tostring(err.message) .. ")" end
    return err
end

--- Send a one-time code: start a verification (@{Client:create_verification}).
--
-- **syntax:** `client:send_code(service_sid, to [, params [, opts]]) -> verification | nil, err`
--
-- `to` is a phone number in E.164 format (`+15551234567`) or an email
-- address; `params` are @{create_verification_params} without `to`, and
-- `channel` defaults to `"email"` for an address, else `"sms"`. Sending
-- again to the same `to` and channel while the verification is pending sends
-- the same code again (at most 5 times). The code itself is never returned:
-- it reaches the user (with the emulator: `GET /__emulator/messages`, or
-- `twilio-verify emulator messages`). The errors say what happened and what
-- to do: too many sends (429, code 60203), a rate limit of the service
-- (429, 20429), Fraud Guard (60410), a number in no format (`invalid_argument`,
-- nothing sent).
-- @string service_sid `VA...`
-- @string to `+15551234567` or `ann@example.com`
-- @tparam[opt] table params @{create_verification_params} (`channel`, `locale`,
--   `rate_limits = { per_user = "user-7f3a9c" }`, `custom_friendly_name`...)
-- @tparam[opt] table opts @{call_options}
-- @treturn[1] Verification the verification (`sid`, `status` "pending", `send_code_attempts`)
-- @return[2] `nil`
-- @treturn[2] table an @{error}
-- @usage
-- local v, err = client:send_code(SVC, "+15551234567", { channel = "sms", rate_limits = { per_user = user_id } })
-- if not v then return say(err.message) end
function Client:send_code(service_sid, to, params, opts)
    if type(to) ~= "string" then
        return nil, core.arg_error("to", "to must be a phone number (E.164) or an email address, got " .. type(to))
    end
    if params ~= nil and type(params) ~= "table" then
        return nil, core.arg_error("params", "params must be a table, got " .. type(params))
    end
    local p = {}
    for k, v in pairs(params or {}) do p[k] = v end
    if p.to ~= nil then return nil, core.arg_error("to", "to is send_code's second argument, not a params key") end
    p.to = to
    if p.channel == nil then p.channel = to:find("@", 1, true) and "email" or "sms" end
    local v, err, hook_err = raw.create_verification(self, service_sid, p, opts)
    if not v then return nil, otp_error(err, "send") end
    return bind(self, "verification", v), nil, hook_err
end

--- Does this code verify this number or address? The check of a one-time code.
--
-- **syntax:** `client:check_code(service_sid, to, code [, opts]) -> true | false | nil, err`
--
-- Checks `code` against the pending verification of `to` (a phone number or
-- email address, or the verification's `VE...` sid) with
-- @{Client:create_verification_check}: `true` and the check when it matches
-- (the verification is approved, and gone), `false` and the check for a
-- wrong code (still `pending`; the fifth wrong one leaves it
-- `max_attempts_reached`), `nil, err` on failure -- the network, a 6th check
-- after 5 wrong codes (429, code 60202), or no pending verification (404,
-- code 20404: approved, canceled, expired or never sent). A wrong code is
-- never an error. The code is a secret: the `log` hook sees it redacted.
-- @string service_sid `VA...`
-- @string to the number or address the code was sent to, or the verification's `VE...` sid
-- @string code the code the user typed
-- @tparam[opt] table opts @{call_options}
-- @treturn[1] boolean `true`: verified; `false`: wrong code
-- @treturn[1] VerificationCheck the check (`status`, `valid`, `channel`...)
-- @return[2] `nil`
-- @treturn[2] table an @{error}
-- @usage
-- local ok, res = client:check_code(SVC, "+15551234567", typed)
-- if ok then login(user) elseif ok == false then say("wrong code") else say(res.message) end
function Client:check_code(service_sid, to, code, opts)
    if type(to) ~= "string" then
        return nil, core.arg_error("to", "to must be a phone number, an email address or a VE... sid, got " .. type(to))
    end
    if type(code) ~= "string" then
        return nil, core.arg_error("code", "code must be a string, got " .. type(code))
    end
    local p = { code = code }
    if to:match("^VE%x+$") and #to == 34 then p.verification_sid = to else p.to = to end
    local c, err, hook_err = raw.create_verification_check(self, service_sid, p, opts)
    if not c then return nil, otp_error(err, "check") end
    return c.status == "approved", bind(self, "verification_check", c), hook_err
end

--- Factor objects: what every factor-returning call gives.
-- Plain tables (fields: @{factor}) with a metatable of methods bound to the
-- client that produced them; challenge, entity and service objects share
-- this one implementation. Methods on an object whose client was closed
-- return a `closed` error.
-- @type Factor

--- Verify the factor with a code (sends `AuthPayload`): the enrolment step.
--
-- **syntax:** `factor:verify(code [, opts]) -> true | false | nil, err`
--
-- true only when the factor's status after the call is "verified".
-- A wrong code is no error: Twilio answers 200 and the status stays
-- `"unverified"`; after 5 wrong codes in a row the API answers 429, code 60310.
-- Once a factor is verified this no longer checks codes (Twilio answers 200
-- for any code): to sign a user in, use @{Factor:sign_in}.
-- @string code the TOTP code (or push signature)
-- @tparam[opt] table opts @{call_options}
-- @treturn[1] boolean `true` if verified, `false` for a wrong code
-- @return[2] `nil`
-- @treturn[2] table an @{error}
-- @usage
-- local ok, err = f:verify("123456")
-- if ok then print("verified") elseif ok == false then print("wrong code") else print(err) end
-- @function Factor:verify

--- @type Factor

--- Does this code sign the factor's user in? (see @{Client:sign_in})
--
-- **syntax:** `factor:sign_in(code [, opts]) -> true | false | nil, err`
--
-- Fails before any I/O for a factor that is not a verified TOTP factor: an
-- unverified factor must be confirmed with @{Factor:verify} first.
-- @string code the code the user typed
-- @tparam[opt] table opts @{call_options}
-- @treturn[1] boolean `true`: signed in; `false`: wrong code
-- @treturn[1] table the challenge
-- @return[2] `nil`
-- @treturn[2] table an @{error}
-- @usage if f:sign_in(code) then print("welcome back") end
function Factor:sign_in(code, opts)
    local c = client_of(self, "factor")
    if self.factor_type ~= "totp" then
        return nil, core.arg_error("factor", "sign_in checks TOTP codes; factor " .. tostring(self.sid)
            .. " is a " .. tostring(self.factor_type) .. " factor (push challenges are approved on the device)")
    end
    if self.status ~= "verified" then
        return nil, core.arg_error("factor", "factor " .. tostring(self.sid) .. " is " .. tostring(self.status)
            .. ": confirm the enrolment first with factor:verify(code); sign_in checks codes of verified factors")
    end
    return c:sign_in(self.service_sid, self.identity, self.sid, code, opts)
end


--- Verification objects: from @{Client:send_code} and
-- @{Client:create_verification} (fields: the API's, see @{Verification}).
-- @type Verification

--- Check a code against this verification (@{Client:check_code} by its sid).
--
-- **syntax:** `verification:check(code [, opts]) -> true | false | nil, err`
--
-- @string code the code the user typed
-- @tparam[opt] table opts @{call_options}
-- @treturn[1] boolean `true`: verified; `false`: wrong code
-- @treturn[1] VerificationCheck the check
-- @return[2] `nil`
-- @treturn[2] table an @{error}
-- @usage local ok = v:check(typed)
function Verification:check(code, opts)
    local c = client_of(self, "verification")
    return c:check_code(self.service_sid, self.sid, code, opts)
end

--- Pages: one page of any list, with navigation (fields: @{page}).
-- @type Page

--- The next page.
--
-- **syntax:** `page:next_page() -> page | nil (no more pages) | nil, err`
--
-- @treturn[1] page the next @{page}
-- @return[2] `nil` after the last page
-- @return[3] `nil`
-- @treturn[3] table an @{error}
-- @usage
-- local page = assert(client:list_factor(SVC, USER, { page_size = 50 }))
-- while page do
--   for _, f in ipairs(page.factors) do print(f.sid) end
--   local err
--   page, err = page:next_page()
--   if err then error(tostring(err)) end
-- end
-- @function Page:next_page

--- The previous page.
--
-- **syntax:** `page:previous_page() -> page | nil (first page) | nil, err`
--
-- @treturn[1] page the previous @{page}
-- @return[2] `nil` on the first page
-- @return[3] `nil`
-- @treturn[3] table an @{error}
-- @usage local prev = page:previous_page()
-- @function Page:previous_page

--- @type Client

--- Run many operations concurrently (libcurl multi interface, no threads).
--
-- **syntax:** `results, stats = client:batch(ops [, opts])`
--
-- Each of `ops` is a @{batch_op}: `{ op = name, <path parameters by name>, params = {...} }`,
-- any operation of the table by its name (`"fetch_factor"`,
-- `"create_challenge"`, `"list_entity"`...; `"fetch"`, `"update"`,
-- `"delete"`, `"list"` and `"create"` mean the factor ones), with its path
-- parameters (and create_entity's `identity`) as fields and its parameters
-- in `params`.
--
-- * A list gathers every item from the page its `params` name (the list
--   operation's own parameters: `page_size`, `page`, `page_token` and its
--   filters -- not the iterators' `limit` / `page_url`) to the last page,
--   following `next_page_url` by the iterators' rules (a repeated page or
--   more than the client's `max_pages` pages: a `decode` error).
-- * `opts` (@{batch_options}): `concurrency` (1..64, default 8), `max_rps`
--   (0.001..100000), `fail_fast`, `on_progress(done, total, errors)`.
-- * Results come in input order: `{ ok = value }` or `{ err = err }` per op
--   (a delete: `ok = true`).
-- * Every op is read and validated before anything is sent; an invalid op
--   gets its own `invalid_argument` error, does not trigger fail_fast, and
--   the others still run. A raise while reading the ops (a metamethod)
--   raises from here, with nothing sent. Bad `opts` return `nil, err`.
-- * `fail_fast`: on the first failure of an op that ran, what was never
--   sent is `skipped` (kind "skipped": never sent, always); an op already
--   sent and waiting for a retry is not retried and ends with its last error
--   (e.g. the 503); a list under way goes on with its pages.
-- * A 429 with `Retry-After` pauses every new request of the batch.
-- * Both engines -- libcurl's multi interface (no transport) and the Lua
--   transport's (sequential, or ngx.thread workers in OpenResty) -- keep this
--   one contract (spec/batch_contract_spec.lua). On the Lua transport a
--   result may carry `hook_error`: a log / on_retry hook raised while the op
--   ran (the libcurl engine runs no hooks).
-- @tparam {batch_op,...} ops the operations (@{batch_op})
-- @tparam[opt] table opts @{batch_options}
-- @treturn[1] {batch_result,...} one @{batch_result} per operation, in input order
-- @treturn[1] table @{batch_stats}
-- @return[2] `nil`
-- @treturn[2] table an `invalid_argument` @{error} (bad options)
-- @usage
-- local results, stats = client:batch({
--   { op = "fetch", service_sid = SVC, identity = "user-0001", sid = SID1 },
--   { op = "create_challenge", service_sid = SVC, identity = "user-0002",
--     params = { factor_sid = SID2, auth_payload = "123456" } },
--   { op = "list", service_sid = SVC, identity = "user-0003" },
-- }, { concurrency = 4 })
-- for i, r in ipairs(results) do print(i, r.ok and "ok" or tostring(r.err)) end
-- @function Client:batch

-- The operation table as data: one row per operation of the API (name,
-- verb, resource, method, path, path_params, params with wire keys and
-- rules, returns, list_key), in table order and by name. For tools,
-- generated docs and the CLI.
-- verify.operations -> { row, ..., [name] = row }  (reference: doc/api.lua)
_M.operations = OPS
-- The kinds of object the rows return (name, class, list_key, describe,
-- columns), in table order and by name (reference: doc/api.lua).
_M.resources = RESOURCES

--- @section end

--- Gather an iterator into an array.
--
-- **syntax:** `verify.collect(iter [, limit]) -> array | nil, err`
--
-- Gathers what an iterator yields (at most `limit` when given).
-- @tparam Iterator it from @{Client:factors} (or any list iterator)
-- @int[opt] limit the most items to gather
-- @treturn[1] {factor,...} the factors
-- @return[2] `nil`
-- @treturn[2] table the @{error} that stopped the iteration
-- @usage
-- local all, err = verify.collect(client:factors(SVC, USER))
-- if not all then print(err) else print(#all .. " factors") end
function _M.collect(it, limit)
    -- collect(client:factors(...)) with bad arguments: the constructor's
    -- error comes as the second value; the iterator fails with it anyway
    if getmetatable(limit) == err_mt then limit = nil end
    local out, n = {}, 0
    while limit == nil or n < limit do
        local f, err = it:next()
        if f == nil then
            if err ~= nil then return nil, err end
            break
        end
        n = n + 1
        out[n] = f
    end
    return out
end

return _M
