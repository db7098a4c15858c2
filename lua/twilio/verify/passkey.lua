--- A virtual WebAuthn authenticator: what a browser and its authenticator
-- do with the options a relying party sends, in Lua, for tests and tools.
--
-- Like @{twilio.verify.device} for Push, it stands in for the user's side:
-- `create` answers the `PublicKeyCredentialCreationOptions` that
-- @{twilio.verify.Client:create_passkey_factor} returned with the `PublicKeyCredential`
-- JSON that @{twilio.verify.Client:verify_passkey_factor} takes, and `get` answers the
-- `PublicKeyCredentialRequestOptions` of @{twilio.verify.Client:create_passkey_challenge}
-- with the assertion @{twilio.verify.Client:approve_passkey_challenge} takes.  It follows
-- W3C Web Authentication Level 2 (https://www.w3.org/TR/webauthn-2/):
-- the client's steps of 5.1.3 (create) and 5.1.4.1 (get) -- the RP ID
-- against the origin, the algorithms offered, excluded and allowed
-- credentials, user verification -- the client data of 5.8.1, and the
-- authenticator's 6.3.2 / 6.3.3: authenticator data (6.1) with rpIdHash,
-- UP / UV / AT flags and a signature counter that goes up on every
-- assertion, a "none" attestation object (6.5.4, 8.7) in CBOR with an ES256
-- COSE key (libcbor), and ES256 DER signatures over authenticatorData ||
-- SHA-256(clientDataJSON) (6.3.3 step 11, 6.5.6).
--
-- The keys are P-256 key pairs made by OpenSSL and kept in C memory
-- (`core.passkey`); @{Authenticator:close} and garbage collection wipe
-- them; `tostring` and errors never show them. @{Authenticator:export} and
-- @{import} carry the credentials (keys included) for tests.
--
-- @module twilio.verify.passkey
-- @usage
-- local passkey = require "twilio.verify.passkey"
-- local auth = passkey.new()
-- local f = assert(client:create_passkey_factor(SVC, "user-0001", { friendly_name = "laptop" }))
-- local cred = assert(auth:create(f.options, { origin = "https://example.com" }))
-- assert(client:verify_passkey_factor(SVC, cred))
-- local ch = assert(client:create_passkey_challenge(SVC, { identity = "user-0001" }))
-- local ok = client:approve_passkey_challenge(SVC, assert(auth:get(ch.options, { origin = "https://example.com" })))
-- auth:close()

local core = require "twilio.verify.core"
local pcore = core.passkey

local type, pairs, ipairs, tostring, setmetatable, error, getmetatable = type, pairs, ipairs, tostring, setmetatable,
    error, getmetatable

local _M = {}

local err_mt = getmetatable(core.arg_error("x", "x"))
-- the DOMException names of WebAuthn's client steps, as `err.name`
local function fail(name, message, param)
    return nil, setmetatable({ kind = "invalid_argument", name = name, message = message, param = param,
                               retryable = false }, err_mt)
end

local Authenticator = {}
Authenticator.__index = Authenticator
Authenticator.__name = "twilio.verify.passkey"

local NEW_KEYS = { attachment = true, transports = true }

--- Make an authenticator without credentials.
-- @tparam[opt] table opts `attachment` ("platform", default, or "cross-platform":
-- what `authenticatorAttachment` it reports), `transports` (default `{"internal"}`)
-- @treturn Authenticator
function _M.new(opts)
    opts = opts or {}
    if type(opts) ~= "table" then error("passkey.new: options table expected", 2) end
    for k in pairs(opts) do
        if not NEW_KEYS[k] then return fail("TypeError", "unknown option '" .. tostring(k) .. "'", tostring(k)) end
    end
    local attachment = opts.attachment or "platform"
    if attachment ~= "platform" and attachment ~= "cross-platform" then
        return fail("TypeError", "attachment must be platform or cross-platform", "attachment")
    end
    return setmetatable({ _a = pcore.new(), attachment = attachment,
                          transports = opts.transports or { "internal" } }, Authenticator)
end

--- An authenticator from @{Authenticator:export}'s string.
-- @string export
-- @tparam[opt] table opts as for @{new}
-- @treturn[1] Authenticator
-- @return[2] nil
-- @return[2] error
function _M.import(export, opts)
    if type(export) ~= "string" then error("passkey.import: the export string expected", 2) end
    local raw = pcore.unb64url(export)
    if not raw then return fail("DataError", "not an export of twilio.verify.passkey", "export") end
    local self, err = _M.new(opts)
    if not self then return nil, err end
    self._a:close()
    local a, ierr = pcore.import(raw)
    if not a then return nil, ierr end
    self._a = a
    return self
end

--- An authenticator, made by @{new}.
-- @type Authenticator

local function public_key(options)
    if type(options) ~= "table" then return nil end
    if type(options.publicKey) == "table" then return options.publicKey end
    return options
end

-- the host of an origin ("https://example.com:8443" -> "example.com")
local function origin_host(origin)
    local scheme, rest = origin:match("^(%a[%w+.-]*)://(.+)$")
    if not scheme or rest:find("[/?#@]") then return nil end
    local host = rest:match("^%[(.-)%]") or rest:match("^([^:]+)")
    return scheme:lower(), host and host:lower()
end

-- WebAuthn L2 5.1.3 step 8 / 5.1.4.1 step 7: the RP ID must be the origin's
-- effective domain or a registrable domain suffix of it, over https or on
-- localhost (a secure context; HTML's "potentially trustworthy" origins)
local function rp_id_for(origin, rp_id)
    local scheme, host = origin_host(origin)
    if not host then return nil, "the origin is not scheme://host[:port]" end
    if scheme ~= "https" and not (scheme == "http" and (host == "localhost" or host:match("%.localhost$"))) then
        return nil, "the origin is not a secure context (https, or http on localhost)"
    end
    rp_id = rp_id or host
    if host ~= rp_id and host:sub(-(#rp_id + 1)) ~= "." .. rp_id then
        return nil, "the RP ID " .. rp_id .. " is not the origin's domain nor a suffix of it"
    end
    return rp_id
end

local function ids_of(list)
    local ids = {}
    for _, d in ipairs(type(list) == "table" and list or {}) do
        if type(d) == "table" and type(d.id) == "string" then
            local raw = pcore.unb64url(d.id)
            if raw then ids[raw] = true end
        end
    end
    return ids
end

-- the challenge as the client data carries it: base64url of its bytes
-- (5.8.1), whatever base64 the options used (twilio-verify-passkeys-web
-- decodes it with atob)
local function challenge_of(pk)
    local raw = type(pk.challenge) == "string" and pcore.unb64url(pk.challenge)
    if not raw or #raw < 1 then return nil end
    return pcore.b64url(raw)
end

local CREATE_OPTS = { origin = true, user_verified = true, attachment = true }

--- Create a credential: `navigator.credentials.create({ publicKey = ... })`.
--
-- **syntax:** `auth:create(creation_options, { origin, user_verified, attachment }) -> credential | nil, err`
--
-- `creation_options` is what the API answered (`factor.options`, or its
-- `publicKey`). The answer is the `PublicKeyCredential` as JSON: `id` and
-- `rawId` (base64url), `type = "public-key"`, `authenticatorAttachment`,
-- `response = { attestationObject, clientDataJSON, transports }`, ready for
-- @{twilio.verify.Client:verify_passkey_factor}. `user_verified` (default true) sets UV.
-- Refusals are errors with the DOMException `name` a browser would raise
-- (`SecurityError` for an RP ID the origin may not use, `NotSupportedError`
-- without ES256, `InvalidStateError` for an excluded credential,
-- `NotAllowedError` when user verification or the attachment cannot be met).
-- @tparam table creation_options
-- @tparam table opts `origin` (required), `user_verified`, `attachment`
-- @treturn[1] table the credential
-- @return[2] nil
-- @return[2] error
function Authenticator:create(creation_options, opts)
    if not self._a or self._a:is_closed() then return fail("InvalidStateError", "the authenticator is closed") end
    opts = opts or {}
    for k in pairs(opts) do
        if not CREATE_OPTS[k] then return fail("TypeError", "unknown option '" .. tostring(k) .. "'", tostring(k)) end
    end
    local pk = public_key(creation_options)
    if type(pk) ~= "table" or type(pk.rp) ~= "table" or type(pk.user) ~= "table" then
        return fail("TypeError", "creation options need publicKey.rp and publicKey.user", "creation_options")
    end
    if type(opts.origin) ~= "string" then return fail("TypeError", "origin is required", "origin") end
    local rp_id, why = rp_id_for(opts.origin, pk.rp.id)
    if not rp_id then return fail("SecurityError", why, "origin") end
    local challenge = challenge_of(pk)
    if not challenge then return fail("TypeError", "the options have no base64url challenge", "challenge") end
    -- 5.1.3 step 10: an algorithm this authenticator has (ES256 only); a
    -- single object (the description's example) is read as a one-item list
    local params = pk.pubKeyCredParams
    if type(params) == "table" and params.alg then params = { params } end
    local es256 = params == nil or #params == 0
    for _, p in ipairs(type(params) == "table" and params or {}) do
        if type(p) == "table" and p.alg == -7 and (p.type == nil or p.type == "public-key") then es256 = true end
    end
    if not es256 then return fail("NotSupportedError", "no offered algorithm is ES256 (-7)", "pubKeyCredParams") end
    local sel = type(pk.authenticatorSelection) == "table" and pk.authenticatorSelection or {}
    local attachment = opts.attachment or self.attachment
    if sel.authenticatorAttachment and sel.authenticatorAttachment ~= attachment then
        return fail("NotAllowedError", "the options ask for a " .. tostring(sel.authenticatorAttachment)
            .. " authenticator", "attachment")
    end
    local uv = opts.user_verified ~= false
    if sel.userVerification == "required" and not uv then
        return fail("NotAllowedError", "user verification is required and the user was not verified", "user_verified")
    end
    -- 6.3.2 step 3: a credential of excludeCredentials is already here
    local excluded = ids_of(pk.excludeCredentials)
    for i = 1, self._a:count() do
        local id, rp = self._a:info(i)
        if excluded[id] and rp == rp_id then
            return fail("InvalidStateError", "a credential of excludeCredentials is on this authenticator",
                        "excludeCredentials")
        end
    end
    local user = type(pk.user.id) == "string" and pcore.unb64url(pk.user.id)
    if not user or #user == 0 or #user > 64 then
        return fail("TypeError", "user.id must be 1..64 bytes, base64url (5.4.3)", "user")
    end
    local idx, id = self._a:make(rp_id, user)
    local att = self._a:attest(idx, uv)
    local cdj = pcore.client_data("webauthn.create", challenge, opts.origin)
    local transports = {}
    for i, t in ipairs(self.transports) do transports[i] = t end
    local b64id = pcore.b64url(id)
    return { id = b64id, rawId = b64id, type = "public-key", authenticatorAttachment = attachment,
             response = { attestationObject = pcore.b64url(att), clientDataJSON = pcore.b64url(cdj),
                          transports = transports } }
end

local GET_OPTS = { origin = true, user_verified = true }

--- Sign in: `navigator.credentials.get({ publicKey = ... })`.
--
-- **syntax:** `auth:get(request_options, { origin, user_verified }) -> assertion | nil, err`
--
-- `request_options` is what @{twilio.verify.Client:create_passkey_challenge} answered
-- (`challenge.options`, or its `publicKey`). With `allowCredentials` it
-- signs with one of those (5.1.4.1 step 17), else with the newest
-- credential of the RP ID (a discoverable credential). The sign count goes
-- up by one. The answer: `id`, `rawId`, `type`, `authenticatorAttachment`,
-- `response = { authenticatorData, clientDataJSON, signature, userHandle }`
-- (base64url), for @{twilio.verify.Client:approve_passkey_challenge}.
-- @tparam table request_options
-- @tparam table opts `origin` (required), `user_verified` (default true)
-- @treturn[1] table the assertion
-- @return[2] nil
-- @return[2] error (`NotAllowedError` when no credential fits)
function Authenticator:get(request_options, opts)
    if not self._a or self._a:is_closed() then return fail("InvalidStateError", "the authenticator is closed") end
    opts = opts or {}
    for k in pairs(opts) do
        if not GET_OPTS[k] then return fail("TypeError", "unknown option '" .. tostring(k) .. "'", tostring(k)) end
    end
    local pk = public_key(request_options)
    if type(pk) ~= "table" then return fail("TypeError", "request options expected", "request_options") end
    if type(opts.origin) ~= "string" then return fail("TypeError", "origin is required", "origin") end
    local rp_id, why = rp_id_for(opts.origin, pk.rpId)
    if not rp_id then return fail("SecurityError", why, "origin") end
    local challenge = challenge_of(pk)
    if not challenge then return fail("TypeError", "the options have no base64url challenge", "challenge") end
    local uv = opts.user_verified ~= false
    if pk.userVerification == "required" and not uv then
        return fail("NotAllowedError", "user verification is required and the user was not verified", "user_verified")
    end
    local allowed = ids_of(pk.allowCredentials)
    local any_allowed = next(allowed) ~= nil
    local pick
    for i = self._a:count(), 1, -1 do
        local id, rp = self._a:info(i)
        if rp == rp_id and (not any_allowed or allowed[id]) then pick = i break end
    end
    if not pick then return fail("NotAllowedError", "no credential of this authenticator fits the options") end
    local cdj = pcore.client_data("webauthn.get", challenge, opts.origin)
    local auth, sig, user = self._a:assert(pick, cdj, uv)
    local id = pcore.b64url((self._a:info(pick)))
    return { id = id, rawId = id, type = "public-key", authenticatorAttachment = self.attachment,
             response = { authenticatorData = pcore.b64url(auth), clientDataJSON = pcore.b64url(cdj),
                          signature = pcore.b64url(sig), userHandle = pcore.b64url(user) } }
end

--- The credentials, without keys: `{ { id = <base64url>, rp_id =, user_handle = <base64url>, sign_count = } }`.
function Authenticator:credentials()
    local out = {}
    if not self._a or self._a:is_closed() then return out end
    for i = 1, self._a:count() do
        local id, rp, user, count = self._a:info(i)
        out[i] = { id = pcore.b64url(id), rp_id = rp, user_handle = pcore.b64url(user), sign_count = count }
    end
    return out
end

--- Every credential with its private key, as one base64url string (a CBOR
-- sequence of `{1: id, 2: rp id, 3: user handle, 4: sign count, 5: PKCS#8 PEM}`):
-- a secret, for tests that restore an authenticator with @{import}.
function Authenticator:export()
    if not self._a or self._a:is_closed() then return fail("InvalidStateError", "the authenticator is closed") end
    return pcore.b64url(self._a:export())
end

--- Wipe every key.  Idempotent; also on garbage collection.
function Authenticator:close()
    if self._a then self._a:close() end
end

Authenticator.__close = Authenticator.close

function Authenticator.__tostring(self)
    if not self._a or self._a:is_closed() then return "twilio.verify.passkey (closed)" end
    return ("twilio.verify.passkey (%s, %d credentials)"):format(self.attachment, self._a:count())
end

return _M
