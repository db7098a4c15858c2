--- A virtual Verify Push device: the mobile SDKs' side of Push, in Lua.
--
-- It holds a P-256 key pair (OpenSSL, through the C core), enrols a push
-- factor with the access token a backend created, verifies it with its
-- signature, lists its pending challenges and approves or denies one by
-- signing exactly the fields the API names -- the wire protocol of
-- twilio-verify-android / twilio-verify-ios (doc/push.md has the sources).
-- Every call goes through the library's client and transport (libcurl, or
-- any `transport`, e.g. OpenResty's), so errors are the library's
-- structured errors; the device authenticates with its own credential
-- (Basic `token:<access token>` to enrol, `token:<JWT signed by its key>`
-- afterwards), never with the account's.
--
-- The private key never leaves the object except through
-- @{Device:export_key}; @{Device:close} (or garbage collection of the key)
-- wipes it.
--
-- @module twilio.verify.device
-- @usage
-- local device = require "twilio.verify.device"
-- local dev = assert(device.new{ base_url = "http://127.0.0.1:4010",
--                                service_sid = "VA...", identity = "user-1" })
-- local token = backend:create_access_token("VA...", { identity = "user-1", factor_type = "push" })
-- local factor = assert(dev:enroll(token.token, { friendly_name = "Pixel" }))
-- assert(dev:verify())
-- for _, ch in ipairs(assert(dev:pending())) do assert(dev:approve(ch.sid)) end
-- dev:close()

local verify = require "twilio.verify"
local core = require "twilio.verify.core"
local dcore = core.device

local type, pairs, tostring, setmetatable, error, os_time = type, pairs, tostring, setmetatable, error, os.time

local _M = {}

--- The SDK version the device reports in `Config.SdkVersion`.
_M.SDK_VERSION = "twilio-verify-lua-device/1"
--- Lifetime, in seconds, of the JWTs the device signs (the SDKs' 10 minutes).
_M.JWT_TTL = 600

local Device = {}
Device.__index = Device
Device.__name = "twilio.verify.device"

local err_mt = getmetatable(core.arg_error("x", "x"))
local function fail(kind, message, param)
    return nil, setmetatable({ kind = kind, message = message, param = param, retryable = false }, err_mt)
end

local NEW_KEYS = { base_url = true, service_sid = true, identity = true, key = true, factor_sid = true,
                   credential_sid = true, account_sid = true, clock = true, transport = true, timeout = true,
                   connect_timeout = true, max_retries = true, log = true, on_retry = true, region = true,
                   edge = true }

--- Make a device.
-- @tparam table opts
-- `service_sid` and `identity` (required: the entity the factor belongs to);
-- `base_url` (or `region` / `edge`; default: the library's, i.e. the real API);
-- `key` (a PEM or DER private key from @{Device:export_key}, to restore a device),
-- with `factor_sid`, `credential_sid` and `account_sid` of its enrolled factor;
-- `clock` (a function returning unix seconds, for the JWT times; default `os.time`);
-- `transport`, `timeout`, `connect_timeout`, `max_retries`, `log`, `on_retry`
-- as for `verify.new`.
-- @treturn[1] Device
-- @return[2] nil
-- @return[2] error
function _M.new(opts)
    if type(opts) ~= "table" then error("device.new: options table expected", 2) end
    for k in pairs(opts) do
        if not NEW_KEYS[k] then
            return fail("invalid_argument", "unknown option '" .. tostring(k) .. "'", tostring(k))
        end
    end
    if type(opts.service_sid) ~= "string" then
        return fail("invalid_argument", "service_sid is required", "service_sid")
    end
    if type(opts.identity) ~= "string" then return fail("invalid_argument", "identity is required", "identity") end
    local self = setmetatable({ service_sid = opts.service_sid, identity = opts.identity,
                                factor_sid = opts.factor_sid, credential_sid = opts.credential_sid,
                                account_sid = opts.account_sid, clock = opts.clock or os_time }, Device)
    local seen = {}
    self._seen = seen
    local inner = opts.transport or verify.curl_transport
    -- every answer passes here: the raw body and headers of a challenge
    -- fetch are what the device signs
    local function transport(req, client)
        local resp, err = inner(req, client)
        seen.op, seen.body, seen.headers = req.op, resp and resp.body, resp and resp.headers
        return resp, err
    end
    local client, err = verify.new{
        base_url = opts.base_url, region = opts.region, edge = opts.edge,
        -- placeholders: replaced (and wiped) by the device credential below,
        -- never sent
        account_sid = "AC00000000000000000000000000000000", auth_token = "device-credential-placeholder",
        transport = transport, timeout = opts.timeout, connect_timeout = opts.connect_timeout,
        max_retries = opts.max_retries, log = opts.log, on_retry = opts.on_retry }
    if not client then return nil, err end
    local ok, serr = client:_set_token("unset")
    if not ok then return nil, serr end
    self._client = client
    if opts.key ~= nil then
        local k, kerr = dcore.import(opts.key)
        if not k then return nil, kerr end
        self._key = k
    end
    return self
end

local function closed(self)
    if not self._client then return fail("closed", "the device is closed") end
end

local function key(self)
    if not self._key then self._key = dcore.generate() end
    return self._key
end

-- JSON string (the JWT parts are built from known, simple values)
local function jstr(s)
    return '"' .. tostring(s):gsub('[%c"\\]', function(c)
        if c == '"' then return '\\"' elseif c == "\\" then return "\\\\" end
        return string.format("\\u%04x", c:byte())
    end) .. '"'
end

--- The JWT that authenticates the device's calls after enrolment: header
-- `{cty = "twilio-pba;v=1", kid = <config.credential_sid>, typ = "JWT", alg = "ES256"}`,
-- payload `{sub = <account sid>, exp = now + 600, nbf = now}`, ES256 (raw r||s).
-- @treturn string|nil the JWT (a secret: do not log it)
function Device:jwt()
    if not self._client then return closed(self) end
    if not (self.credential_sid and self.account_sid and self._key) then
        return fail("invalid_argument", "the device has no enrolled factor", "factor_sid")
    end
    local now = math.floor(self.clock())
    local header = '{"cty":"twilio-pba;v=1","kid":' .. jstr(self.credential_sid) .. ',"typ":"JWT","alg":"ES256"}'
    local payload = '{"sub":' .. jstr(self.account_sid) .. ',"exp":' .. string.format("%d", now + _M.JWT_TTL) ..
                    ',"nbf":' .. string.format("%d", now) .. '}'
    return self._key:jwt(header, payload)
end

local function authed(self)
    if not self._client then return closed(self) end
    local jwt, err = self:jwt()
    if not jwt then return nil, err end
    local ok, serr = self._client:_set_token(jwt)
    if not ok then return nil, serr end
    return self._client
end

--- Enrol: create the push factor, as the SDKs do (POST Factors with
-- `FriendlyName`, `FactorType=push`, `Binding.Alg=ES256`, `Binding.PublicKey`,
-- `Config.SdkVersion`, `Config.AppId`, `Config.NotificationPlatform`,
-- `Config.NotificationToken`, `Metadata`), authenticated with the access token.
-- @tparam string access_token the `token` of an AccessToken the backend created
-- @tparam[opt] table opts `friendly_name` (default "Virtual device"),
-- `notification_platform` ("none", default, or "fcm"/"apn" with `notification_token`),
-- `app_id` (default "com.twilio.verify.lua.device"), `sdk_version`, `metadata` (table)
-- @treturn[1] table the new factor (status "unverified")
-- @return[2] nil
-- @return[2] error
function Device:enroll(access_token, opts)
    if not self._client then return closed(self) end
    if type(access_token) ~= "string" or access_token == "" then
        return fail("invalid_argument", "access_token must be a non-empty string", "access_token")
    end
    opts = opts or {}
    local pk = key(self):public_key()
    local ok, serr = self._client:_set_token(access_token)
    if not ok then return nil, serr end
    local platform = opts.notification_platform or "none"
    local f, err = self._client:create_factor(self.service_sid, self.identity, {
        friendly_name = opts.friendly_name or "Virtual device", factor_type = "push",
        binding_alg = "ES256", binding_public_key = pk,
        config_sdk_version = opts.sdk_version or _M.SDK_VERSION,
        config_app_id = opts.app_id or "com.twilio.verify.lua.device",
        config_notification_platform = platform,
        config_notification_token = platform ~= "none" and opts.notification_token or nil,
        metadata = opts.metadata })
    self._client:_set_token("unset")
    if not f then return nil, err end
    self.factor_sid, self.account_sid = f.sid, f.account_sid
    self.credential_sid = type(f.config) == "table" and f.config.credential_sid or nil
    self.status = f.status
    return f
end

--- Verify the factor: `AuthPayload` = base64 of the DER ECDSA-SHA256
-- signature of the factor SID (the SDKs' `signAndEncode(alias, sid)`).
-- @treturn[1] table the factor (status "verified")
-- @return[2] nil
-- @return[2] error
function Device:verify()
    local client, err = authed(self)
    if not client then return nil, err end
    local f, ferr = client:update_factor(self.service_sid, self.identity, self.factor_sid,
                                         { auth_payload = self._key:sign(self.factor_sid) })
    if f then self.status = f.status end
    return f, ferr
end

--- The factor as the API has it now.
function Device:factor()
    local client, err = authed(self)
    if not client then return nil, err end
    return client:fetch_factor(self.service_sid, self.identity, self.factor_sid)
end

--- Pending challenges of this factor (one page, newest first).
-- @tparam[opt] table opts `page_size` (default 50), `status` (default "pending")
-- @treturn[1] table array of challenges
-- @return[2] nil
-- @return[2] error
function Device:pending(opts)
    opts = opts or {}
    local client, err = authed(self)
    if not client then return nil, err end
    local page, perr = client:list_challenge(self.service_sid, self.identity, {
        factor_sid = self.factor_sid, status = opts.status or "pending", order = "desc",
        page_size = opts.page_size or 50 })
    if not page then return nil, perr end
    return page.challenges
end

local function header(h, name)
    if type(h) ~= "table" then return nil end
    local want = name:lower()
    for k, v in pairs(h) do
        if type(k) == "string" and k:lower() == want then return v end
    end
end

--- Fetch a challenge.
-- @tparam string challenge_sid
-- @treturn[1] table the challenge
-- @treturn[1] string|nil the `Twilio-Verify-Signature-Fields` the API named
-- @return[2] nil
-- @return[2] error
function Device:fetch(challenge_sid)
    local client, err = authed(self)
    if not client then return nil, err end
    local seen = self._seen
    seen.body, seen.headers = nil, nil
    local ch, cerr = client:fetch_challenge(self.service_sid, self.identity, challenge_sid)
    if not ch then return nil, cerr end
    -- the header through verify.response_of (every transport), else as the
    -- transport handed it over
    local r = verify.response_of(ch)
    local fields = r and r.headers["twilio-verify-signature-fields"] or
                   header(seen.headers, "Twilio-Verify-Signature-Fields")
    return ch, fields, seen.body
end

local function respond(self, challenge_sid, status)
    local ch, fields, body = self:fetch(challenge_sid)
    if not ch then return nil, fields end
    if not fields or fields == "" or type(body) ~= "string" then
        return fail("decode", "the challenge fetch named no Twilio-Verify-Signature-Fields: nothing to sign")
    end
    local payload, perr = dcore.challenge_payload(body, fields, status)
    if not payload then return nil, perr end
    local auth = self._key:jwt('{"typ":"JWT","alg":"ES256"}', payload)
    local client, err = authed(self)
    if not client then return nil, err end
    return client:update_challenge(self.service_sid, self.identity, challenge_sid, { auth_payload = auth })
end

--- Approve a challenge: fetch it, sign exactly the fields named by
-- `Twilio-Verify-Signature-Fields` (values as fetched) plus `status`, as an
-- ES256 JWT in `AuthPayload`.
-- @tparam string challenge_sid
-- @treturn[1] table the challenge (status "approved")
-- @return[2] nil
-- @return[2] error
function Device:approve(challenge_sid) return respond(self, challenge_sid, "approved") end

--- Deny a challenge (as @{Device:approve}, with status "denied").
function Device:deny(challenge_sid) return respond(self, challenge_sid, "denied") end

--- Export the private key (PKCS#8 PEM) -- the only way it leaves the object.
-- @treturn string PEM (a secret)
function Device:export_key()
    if not self._key then return fail("invalid_argument", "the device has no key", "key") end
    return self._key:export()
end

--- The base64 SubjectPublicKeyInfo of the device key (its Binding.PublicKey).
function Device:public_key() return key(self):public_key() end

--- Wipe the private key and close the client.  Idempotent.
function Device:close()
    if self._key then self._key:close() end
    if self._client then self._client:close() end
    self._key, self._client = nil, nil
end

Device.__gc = Device.close
Device.__close = Device.close

function Device.__tostring(self)
    return string.format("twilio.verify.device (identity %s, factor %s%s)", tostring(self.identity),
                         tostring(self.factor_sid or "none"), self._client and "" or ", closed")
end

return _M
