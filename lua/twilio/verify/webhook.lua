--- Twilio webhook signatures: check the `X-Twilio-Signature` of a request.
-- Twilio signs every webhook it sends (Verify's `challenge.approved`,
-- `factor.verified`... events included) with the account's auth token:
--
--     base64(HMAC-SHA1(auth_token, url .. k1 .. v1 .. k2 .. v2 ...))
--
-- `url` is the full URL Twilio requested, query string included; the
-- `k .. v` are the POST form parameters sorted by key (the values of a
-- repeated key sorted, an exact duplicate counted once). A JSON body is not
-- signed itself: the URL carries `bodySHA256` (hex SHA-256 of the raw body),
-- the signature covers the URL alone, and the body must hash to that value.
--
-- This module does it in the C core (OpenSSL HMAC and SHA-256, constant-time
-- comparison), and agrees with Twilio's official helpers on every input:
-- the URL is accepted with the default port added or any port removed
-- (twilio-python `twilio/request_validator.py`, twilio-go
-- `client/request_validator.go`, twilio-node `src/webhooks/webhooks.ts`),
-- and in the two forms twilio-node also tries (its WHATWG URL serialisation
-- and its legacy querystring re-encoding). doc/webhooks.md has the details,
-- the sources and where the helpers disagree.
--
-- Choosing the content type: `params_or_body` is
--
-- * a table: form parameters, `{ Key = "value", Repeated = { "a", "b" } }`
--   (each value a string, or an array of strings for a repeated key);
-- * a string: the raw request body. When `url` has a (non-empty)
--   `bodySHA256` query parameter it is taken as a JSON body (any raw body:
--   the bytes are hashed as they are); otherwise it is parsed as
--   `application/x-www-form-urlencoded` ('+' a space, `%XX` decoded, a key
--   without '=' has an empty value, repeated keys kept);
-- * nil: no parameters (a GET webhook: everything is in the URL).
--
-- A `url` carrying a non-empty `bodySHA256` needs the body string: with nil
-- or a table it never validates (`false, "the URL has a bodySHA256 but no
-- body was given"`).
--
-- Wrong argument types raise an error naming the parameter, before any
-- work; an invalid signature returns `false, reason`. The auth token never
-- appears in an error, a log line or a return value.
-- @module twilio.verify.webhook
-- @license MIT
-- @usage
-- local webhook = require "twilio.verify.webhook"   -- or require("twilio.verify").webhook
-- local ok, why = webhook.validate(os.getenv("TWILIO_AUTH_TOKEN"),
--   "https://example.com/twilio/events", { uuid = "...", type = "challenge.approved" },
--   signature_header)
-- if not ok then print("rejected: " .. why) end
local core = require "twilio.verify.core"

local type, error, tostring, pairs, ipairs = type, error, tostring, pairs, ipairs
local io_open = io.open
local cw = core.webhook

local _M = { _VERSION = core._VERSION }

local function check_str(fn, name, v)
    if type(v) ~= "string" then
        error("twilio.verify.webhook." .. fn .. ": " .. name .. " must be a string (got " .. type(v) .. ")", 3)
    end
    if v == "" then error("twilio.verify.webhook." .. fn .. ": " .. name .. " must not be empty", 3) end
end

local function check_params(fn, p)
    local t = type(p)
    if t == "nil" or t == "string" then return end
    if t ~= "table" then
        error("twilio.verify.webhook." .. fn .. ": params_or_body must be a table of form parameters or a body "
            .. "string (got " .. t .. ")", 3)
    end
    for k, v in pairs(p) do
        if type(k) ~= "string" then
            error("twilio.verify.webhook." .. fn .. ": params_or_body keys must be strings (got " .. type(k) .. ")", 3)
        end
        if type(v) == "table" then
            for i, e in ipairs(v) do
                if type(e) ~= "string" then
                    error("twilio.verify.webhook." .. fn .. ": params_or_body[\"" .. k .. "\"][" .. i
                        .. "] must be a string (got " .. type(e) .. ")", 3)
                end
            end
        elseif type(v) ~= "string" then
            error("twilio.verify.webhook." .. fn .. ": params_or_body[\"" .. k .. "\"] must be a string or an "
                .. "array of strings (got " .. type(v) .. ")", 3)
        end
    end
end

--- Check a webhook's signature.
--
-- **syntax:** `ok, reason = webhook.validate(auth_token, url, params_or_body, signature)`
-- @tparam string auth_token the account's auth token (the one Twilio signs with)
-- @tparam string url the full URL Twilio requested, query string included
-- @tparam[opt] table|string params_or_body form parameters, or the raw body (see above)
-- @tparam[opt] string signature the `X-Twilio-Signature` header (nil: `false, "missing signature"`)
-- @treturn[1] boolean `true` when the signature is valid
-- @treturn[2] boolean `false`
-- @treturn[2] string why: "missing signature", "signature mismatch", "bodySHA256 does not match the body"
function _M.validate(auth_token, url, params_or_body, signature)
    check_str("validate", "auth_token", auth_token)
    check_str("validate", "url", url)
    check_params("validate", params_or_body)
    if signature ~= nil and type(signature) ~= "string" then
        error("twilio.verify.webhook.validate: signature must be a string or nil (got " .. type(signature) .. ")", 2)
    end
    return cw.validate(auth_token, url, params_or_body, signature)
end

--- Compute the signature Twilio would send (for tests and for senders,
-- like the emulator's webhook delivery).
--
-- **syntax:** `sig = webhook.sign(auth_token, url, params_or_body)`
--
-- With a body string and a `bodySHA256` in `url`, the URL alone is signed
-- (build it with @{body_sha256}); with a body string and no `bodySHA256`
-- the body is parsed as a form.
-- @tparam string auth_token the account's auth token
-- @tparam string url the full URL
-- @tparam[opt] table|string params_or_body form parameters or the raw body
-- @treturn string the base64 signature (28 characters)
function _M.sign(auth_token, url, params_or_body)
    check_str("sign", "auth_token", auth_token)
    check_str("sign", "url", url)
    check_params("sign", params_or_body)
    return cw.sign(auth_token, url, params_or_body)
end

--- Lower-case hex SHA-256 of a body: the `bodySHA256` of a JSON webhook.
-- @tparam string body the raw body
-- @treturn string 64 hex digits
function _M.body_sha256(body)
    if type(body) ~= "string" then
        error("twilio.verify.webhook.body_sha256: body must be a string (got " .. type(body) .. ")", 2)
    end
    return cw.body_sha256(body)
end

--- OpenResty: validate the current nginx request in one call.
--
-- **syntax:** `ok, reason = webhook.validate_request(auth_token, { url = PUBLIC_URL } | { hosts = { HOST, ... } })`
--
-- Reads the `X-Twilio-Signature` header (several of them: `false`), the
-- request body (`ngx.req.read_body()`, from memory or from the temporary
-- file nginx buffered it to), and checks the signature against the URL
-- Twilio called, which you must pin, one way or the other:
--
-- * `opts.url`: that URL exactly as you registered it with Twilio (add the
--   request's query string when Twilio's URL has one). The right choice
--   behind a proxy or a TLS terminator.
-- * `opts.hosts`: the `Host` header values you serve webhooks on
--   (`"hooks.example.com"`, `"hooks.example.com:8443"`, compared without
--   case). The URL is then `ngx.var.scheme .. "://" .. Host ..
--   ngx.var.request_uri`; a request whose Host is not listed is `false`.
--
-- Why one of them is required: the Host header is the client's to choose. A
-- webhook signed for `https://staging.example.com/hook`, replayed to prod
-- with `Host: staging.example.com`, would validate there if the URL were
-- rebuilt from any Host (the same account auth token signs both).
-- X-Forwarded-* headers are never read: a client can send them.
--
-- Works in the rewrite, access and content phases.
-- @tparam string auth_token the account's auth token
-- @tparam table opts `url` (string): the URL Twilio requested; or `hosts`
-- (array of strings): the Host values accepted
-- @treturn[1] boolean `true`
-- @treturn[2] boolean `false`
-- @treturn[2] string why
-- @raise when neither `opts.url` nor `opts.hosts` is given (a configuration error)
function _M.validate_request(auth_token, opts)
    check_str("validate_request", "auth_token", auth_token)
    if opts ~= nil and type(opts) ~= "table" then
        error("twilio.verify.webhook.validate_request: opts must be a table (got " .. type(opts) .. ")", 2)
    end
    opts = opts or {}
    for k in pairs(opts) do
        if k ~= "url" and k ~= "hosts" then
            error("twilio.verify.webhook.validate_request: unknown option '" .. tostring(k) .. "'", 2)
        end
    end
    if opts.url ~= nil then check_str("validate_request", "opts.url", opts.url) end
    local hosts = opts.hosts
    if hosts ~= nil then
        if opts.url ~= nil then
            error("twilio.verify.webhook.validate_request: give opts.url or opts.hosts, not both", 2)
        end
        if type(hosts) ~= "table" or hosts[1] == nil then
            error("twilio.verify.webhook.validate_request: opts.hosts must be a non-empty array of Host values", 2)
        end
        for i, h in ipairs(hosts) do
            if type(h) ~= "string" or h == "" then
                error("twilio.verify.webhook.validate_request: opts.hosts[" .. i .. "] must be a non-empty string", 2)
            end
        end
    elseif opts.url == nil then
        error("twilio.verify.webhook.validate_request: pass opts.url (the URL you registered with Twilio) or "
            .. "opts.hosts (the Host values you serve webhooks on): a URL rebuilt from any Host header lets a "
            .. "webhook signed for another of your hosts validate here", 2)
    end
    local ngx = _G.ngx
    if type(ngx) ~= "table" or not ngx.req then
        error("twilio.verify.webhook.validate_request: only inside OpenResty / ngx_lua", 2)
    end
    local sig = ngx.req.get_headers()["X-Twilio-Signature"]
    if type(sig) == "table" then return false, "more than one X-Twilio-Signature header" end
    if sig == nil or sig == "" then return false, "missing signature" end
    local url = opts.url
    if not url then
        local var = ngx.var
        local host = var.http_host
        if type(host) ~= "string" or host == "" then return false, "no Host header" end
        local lhost, allowed = host:lower(), false
        for _, h in ipairs(hosts) do
            if h:lower() == lhost then allowed = true end
        end
        if not allowed then return false, "Host header not among opts.hosts" end
        url = var.scheme .. "://" .. host .. var.request_uri
    end
    ngx.req.read_body()
    local body = ngx.req.get_body_data()
    if not body then
        local path = ngx.req.get_body_file()
        if path then
            local f, err = io_open(path, "rb")
            if not f then return false, "cannot read the request body: " .. tostring(err) end
            body = f:read("*a")
            f:close()
        end
    end
    return cw.validate(auth_token, url, body or "", sig)
end

return _M
