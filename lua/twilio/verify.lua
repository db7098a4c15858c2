--- Twilio Verify v2 Factors for Lua.
-- Fetch, list, update (verify), create and delete the factors (TOTP apps and
-- push devices) of Twilio Verify v2: lazy pages, factor objects, structured
-- errors, retries that honour `Retry-After`, batches and TOTP helpers.
-- The C core (twilio.verify.core) validates, builds requests, runs the
-- transport and parses responses; this layer adds environment defaults,
-- pages with navigation, lazy iterators and factor objects.
--
-- Every failure returns `nil, err` (see @{error}); a wrong Lua type for an
-- argument raises. No credential ever appears in an error, a log line or
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

local type, error, setmetatable, getmetatable, pairs, tostring =
    type, error, setmetatable, getmetatable, pairs, tostring
local os_getenv, math_min, math_floor = os.getenv, math.min, math.floor

local _M = {
    _VERSION = core._VERSION,
    null = core.null,       -- JSON null inside arrays
    totp = core.totp,       -- verify.totp.code/check/uri/parse_uri
    curl_version = core.curl_version,
}

local Client = core.Client -- methods of the client userdata (C), extended here

--- Create a client.
-- verify.new(opts) -> client | nil, err
-- account_sid / auth_token default to TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN;
-- api_key / api_secret to TWILIO_API_KEY / TWILIO_API_SECRET.
-- An unknown or mistyped option, a bad value and missing credentials return
-- `nil, err` naming the option. The credentials are kept only in C memory.
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
    if o.account_sid == nil then o.account_sid = os_getenv("TWILIO_ACCOUNT_SID") end
    if o.auth_token == nil and o.api_key == nil and o.api_secret == nil then
        local key, secret = os_getenv("TWILIO_API_KEY"), os_getenv("TWILIO_API_SECRET")
        if key and key ~= "" and secret and secret ~= "" then
            o.api_key, o.api_secret = key, secret
        else
            o.auth_token = os_getenv("TWILIO_AUTH_TOKEN")
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
    return core.new(o)
end

--- A client, made by @{new}: a userdata holding the credentials (in C
-- memory only), one reused libcurl handle (keep-alive) and the options.
-- Every operation takes an optional last table of @{call_options}. Arguments
-- are validated locally, by the rules the emulator uses, before anything is
-- sent; a failure returns `nil, err` (see @{error}).
-- @type Client

-------------------------------------------------------------------------------
-- Factor objects: plain tables with a metatable of methods bound to the
-- client that produced them.  The client is kept in the metatable (one per
-- client), never in the factor's own fields.
-- Fields: see @{factor}. Methods on a factor whose client was closed
-- return a `closed` error.
-- @type Factor
-------------------------------------------------------------------------------
local Factor = {}

local function factor_mt(client)
    local st = client:_state() -- per-client table owned by the client userdata
    local mt = st.factor_mt
    if not mt then
        mt = { __index = Factor, __client = client, __name = "twilio.verify.factor" }
        mt.__tostring = function(f)
            return "twilio.verify.factor " .. tostring(f.sid) .. " (" .. tostring(f.factor_type)
                .. ", " .. tostring(f.status) .. ")"
        end
        st.factor_mt = mt
    end
    return mt
end

local function bind(client, factor)
    if factor then setmetatable(factor, factor_mt(client)) end
    return factor
end

local function client_of(factor)
    local mt = getmetatable(factor)
    local c = mt and mt.__client
    if not c then error("not a factor object", 3) end
    return c
end

local function refresh(dst, src)
    for k in pairs(dst) do if src[k] == nil then dst[k] = nil end end
    for k, v in pairs(src) do dst[k] = v end
    return dst
end

--- Fetch the factor again, refreshing this table in place.
-- factor:fetch([opts]) -> factor (refreshed in place) | nil, err
-- @tparam[opt] table opts @{call_options}
-- @treturn[1] factor this @{factor}, refreshed
-- @return[2] `nil`
-- @treturn[2] table an @{error}
-- @usage assert(f:fetch()); print(f.status)
function Factor:fetch(opts)
    local c = client_of(self)
    local f, err = c:fetch_factor(self.service_sid, self.identity, self.sid, opts)
    if not f then return nil, err end
    return refresh(self, f)
end

--- Update the factor, refreshing this table in place.
-- factor:update(params [, opts]) -> factor (updated in place) | nil, err
-- @tparam table params @{update_params}
-- @tparam[opt] table opts @{call_options}
-- @treturn[1] factor this @{factor}, updated
-- @return[2] `nil`
-- @treturn[2] table an @{error}
-- @usage assert(f:update{ friendly_name = "Work phone" })
function Factor:update(params, opts)
    local c = client_of(self)
    local f, err = c:update_factor(self.service_sid, self.identity, self.sid, params, opts)
    if not f then return nil, err end
    return refresh(self, f)
end

--- Delete the factor.
-- factor:delete([opts]) -> true | nil, err
-- @tparam[opt] table opts @{call_options}
-- @treturn[1] boolean `true`
-- @return[2] `nil`
-- @treturn[2] table an @{error}
-- @usage assert(f:delete())
function Factor:delete(opts)
    return client_of(self):delete_factor(self.service_sid, self.identity, self.sid, opts)
end

--- Verify the factor with a code (sends `AuthPayload`).
-- factor:verify(code [, opts]) -> true | false | nil, err
-- true only when the factor's status after the call is "verified".
-- A wrong code is no error: Twilio answers 200 and the status stays
-- `"unverified"`; after 5 wrong codes in a row the API answers 429, code 60310.
-- @string code the TOTP code (or push signature)
-- @tparam[opt] table opts @{call_options}
-- @treturn[1] boolean `true` if verified, `false` for a wrong code
-- @return[2] `nil`
-- @treturn[2] table an @{error}
-- @usage
-- local ok, err = f:verify("123456")
-- if ok then print("verified") elseif ok == false then print("wrong code") else print(err) end
function Factor:verify(code, opts)
    local c = client_of(self)
    local f, err = c:update_factor(self.service_sid, self.identity, self.sid, { auth_payload = code }, opts)
    if not f then return nil, err end
    refresh(self, f)
    return f.status == "verified"
end

_M.Factor = Factor

-------------------------------------------------------------------------------
-- Transports.  Without `transport`, each operation is one C call: validate,
-- build, libcurl with retries, parse.  With `transport = fn`, the attempt
-- loop runs here (fn may yield, e.g. OpenResty cosockets) around the same C
-- steps: _prepare (validate + build), _finish (parse + classify), _backoff.
-- fn(request, client) -> response | nil, err
--   request  = { op, method, url, headers = {...}, body?, timeout, connect_timeout, max_body }
--   response = { status = n, headers = { [name] = value }, body = s }
--   err      = message string or { message =, timeout = bool, unsent = bool }
-- (Reference: @{transport_request}, @{transport_response}.)
-- @section end
-------------------------------------------------------------------------------
local now, blocking_sleep, redact = core.now, core.sleep, core.redact
local pcall, unpack = pcall, table.unpack or unpack

local function sleeper()
    local ngx = rawget(_G, "ngx")
    if ngx and ngx.sleep and ngx.get_phase and ngx.get_phase() ~= "init" then return ngx.sleep end
    return blocking_sleep
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
function _M.curl_transport(request, client) return client:_http(request) end

local redacted_headers = function(req)
    local h = {}
    for k, v in pairs(req.headers) do h[k] = v end
    h.Authorization = "[REDACTED]"
    return h
end

local function lua_execute(self, transport, op, ...)
    local req, err = self:_prepare(op, ...)
    if not req then return nil, err end
    local on_retry, log = self:_hooks()
    local hook_failed, hook_err = false, nil
    local function hook(fn, ...)
        if fn and not hook_failed then
            local ok, e = pcall(fn, ...)
            if not ok then hook_failed, hook_err = true, e end
        end
    end
    local sleep = sleeper()
    local attempt, result = 0
    while true do
        attempt = attempt + 1
        local t0 = now()
        local resp, terr = transport(req, self)
        local v, e = self:_finish(req, resp, terr)
        if log then
            hook(log, { method = req.method, url = req.url, body = req.body and redact(req.body) or "",
                        headers = redacted_headers(req), status = resp and resp.status or 0,
                        duration = now() - t0, attempt = attempt, error = e })
        end
        if v ~= nil then result = { v } break end
        if not e.retryable or attempt > req.max_retries or self:is_closed() then result = { nil, e } break end
        local delay = self:_backoff(attempt, e)
        if on_retry then hook(on_retry, attempt + 1, delay, e) end
        if self:is_closed() then result = { nil, e } break end
        sleep(delay)
    end
    if hook_failed then error(hook_err, 0) end
    return unpack(result, 1, 2)
end

local C = {
    fetch = Client.fetch_factor, delete = Client.delete_factor, update = Client.update_factor,
    create = Client.create_factor, list = Client.list_factor, list_url = Client.list_page_url,
}

local function dispatch(op)
    local c_op = C[op]
    return function(self, ...)
        local transport = self:_transport()
        if transport then return lua_execute(self, transport, op, ...) end
        return c_op(self, ...)
    end
end

local raw = {}
for op in pairs(C) do raw[op] = dispatch(op) end
Client.delete_factor = raw.delete
Client.list_page_url = raw.list_url

-------------------------------------------------------------------------------
-- Client operations returning factor objects and pages
-- @type Client
-------------------------------------------------------------------------------

--- Fetch a factor.
-- client:fetch_factor(service_sid, identity, sid [, opts]) -> factor | nil, err
-- Sends `GET /v2/Services/{service_sid}/Entities/{identity}/Factors/{sid}`.
-- @string service_sid the Verify service, `^VA[0-9a-fA-F]{32}$`
-- @string identity the entity's identity: 8..64 characters, dash-separated alphanumerics
-- @string sid the factor, `^YF[0-9a-fA-F]{32}$`
-- @tparam[opt] table opts @{call_options}
-- @treturn[1] factor the @{factor}
-- @return[2] `nil`
-- @treturn[2] table an @{error} (an unknown sid: `http`, status 404, code 20404)
-- @usage
-- local f, err = client:fetch_factor(SVC, "user-0001", "YF0123456789abcdef0123456789abcdef")
-- if f then print(f.friendly_name, f.status) else print(err) end
function Client:fetch_factor(service_sid, identity, sid, opts)
    local f, err = raw.fetch(self, service_sid, identity, sid, opts)
    return bind(self, f), err
end

--- Update a factor: rename it, change its config, or verify it (`auth_payload`).
-- client:update_factor(service_sid, identity, sid, params [, opts]) -> factor | nil, err
-- Sends `POST .../Factors/{sid}` with only the parameters given.
-- @string service_sid `VA...`
-- @string identity the entity's identity
-- @string sid `YF...`
-- @tparam table params @{update_params}
-- @tparam[opt] table opts @{call_options}
-- @treturn[1] factor the updated @{factor}
-- @return[2] `nil`
-- @treturn[2] table an @{error}
-- @usage
-- local f = assert(client:update_factor(SVC, USER, SID, { friendly_name = "Work phone", config_skew = 1 }))
function Client:update_factor(service_sid, identity, sid, params, opts)
    local f, err = raw.update(self, service_sid, identity, sid, params, opts)
    return bind(self, f), err
end

--- Create a factor.
-- client:create_factor(service_sid, identity, params [, opts]) -> factor | nil, err
-- The answer carries `binding` (a TOTP factor's `secret` and otpauth `uri`),
-- which the API returns only here. Per entity the API allows 20 push and 100
-- TOTP factors (code 60315) and 100 creations a day (code 60326).
-- @string service_sid `VA...`
-- @string identity the entity's identity
-- @tparam table params @{create_params}
-- @tparam[opt] table opts @{call_options}
-- @treturn[1] factor the new @{factor}, with `binding`
-- @return[2] `nil`
-- @treturn[2] table an @{error}
-- @usage
-- local f = assert(client:create_factor(SVC, USER, { friendly_name = "Ann's phone", factor_type = "totp" }))
-- print(f.binding.uri)  -- show it as a QR code
function Client:create_factor(service_sid, identity, params, opts)
    local f, err = raw.create(self, service_sid, identity, params, opts)
    return bind(self, f), err
end

--- Verify a factor with a code (an update with `auth_payload`).
-- client:verify_factor(service_sid, identity, sid, code [, opts]) -> true | false | nil, err
-- @string service_sid `VA...`
-- @string identity the entity's identity
-- @string sid `YF...`
-- @string code the TOTP code (or push signature)
-- @tparam[opt] table opts @{call_options}
-- @treturn[1] boolean `true` when the factor is now `"verified"`, `false` for a wrong code
-- @return[2] `nil`
-- @treturn[2] table an @{error} (429, code 60310, after 5 wrong codes in a row)
-- @usage
-- local ok, err = client:verify_factor(SVC, USER, SID, "123456")
-- if ok == nil then print(err) elseif not ok then print("wrong code") end
function Client:verify_factor(service_sid, identity, sid, code, opts)
    local f, err = raw.update(self, service_sid, identity, sid, { auth_payload = code }, opts)
    if not f then return nil, err end
    return f.status == "verified"
end

-------------------------------------------------------------------------------
-- Pages: one page of a listing, with navigation (fields: @{page}).
-- @type Page
-------------------------------------------------------------------------------
local Page = {}

local function page_mt(client)
    local st = client:_state()
    local mt = st.page_mt
    if not mt then
        mt = { __index = Page, __client = client, __name = "twilio.verify.page" }
        mt.__tostring = function(p)
            return "twilio.verify.page " .. tostring(p.meta and p.meta.page) .. " (" .. #p.factors .. " factors)"
        end
        st.page_mt = mt
    end
    return mt
end

local function make_page(client, page, err, opts)
    if not page then return nil, err end
    local mt = page_mt(client)
    local fmt = factor_mt(client)
    local factors = page.factors
    for i = 1, #factors do setmetatable(factors[i], fmt) end
    page._opts = opts
    return setmetatable(page, mt)
end

local function follow(page, key)
    local mt = getmetatable(page)
    local c = mt and mt.__client
    if not c then error("not a page object", 3) end
    local url = page.meta and page.meta[key]
    if url == nil then return nil end
    local opts = page._opts
    local p, err = raw.list_url(c, url, opts)
    return make_page(c, p, err, opts)
end

--- The next page.
-- page:next_page() -> page | nil (no more pages) | nil, err
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
function Page:next_page() return follow(self, "next_page_url") end
--- The previous page.
-- page:previous_page() -> page | nil (first page) | nil, err
-- @treturn[1] page the previous @{page}
-- @return[2] `nil` on the first page
-- @return[3] `nil`
-- @treturn[3] table an @{error}
-- @usage local prev = page:previous_page()
function Page:previous_page() return follow(self, "previous_page_url") end

--- @type Client

--- List one page of an identity's factors (in creation order).
-- client:list_factor(service_sid, identity [, {page_size, page, page_token}] [, opts]) -> page | nil, err
-- @string service_sid `VA...`
-- @string identity the entity's identity
-- @tparam[opt] table params @{list_params}
-- @tparam[opt] table opts @{call_options} (also used by the page's navigation)
-- @treturn[1] page the @{page}
-- @return[2] `nil`
-- @treturn[2] table an @{error}
-- @usage
-- local page = assert(client:list_factor(SVC, USER, { page_size = 50 }))
-- for _, f in ipairs(page.factors) do print(f.sid) end
-- -- resume later from the token of the next page
-- local token = page.meta.next_page_url and page.meta.next_page_url:match("PageToken=([^&]+)")
-- page = client:list_factor(SVC, USER, { page_size = 50, page_token = token })
function Client:list_factor(service_sid, identity, params, opts)
    local p, err = raw.list(self, service_sid, identity, params, opts)
    return make_page(self, p, err, opts)
end

--- Fetch a page by its URL.
-- client:list_page(url [, opts]) -> page | nil, err
-- Resume from a saved page URL (meta.url / next_page_url); refused unless it
-- is on the configured base URL's scheme, host and port.
-- @string url a page URL from a page's `meta`
-- @tparam[opt] table opts @{call_options}
-- @treturn[1] page the @{page}
-- @return[2] `nil`
-- @treturn[2] table an @{error} (`invalid_argument` for a URL on another origin; nothing is sent)
-- @usage
-- local saved = page.meta.url
-- local again = assert(client:list_page(saved))
function Client:list_page(url, opts)
    local p, err = raw.list_url(self, url, opts)
    return make_page(self, p, err, opts)
end

-------------------------------------------------------------------------------
-- Lazy iterator across pages, from @{Client:factors}: at most one page in
-- memory. It is callable, so it works in a generic `for` (where a failure
-- raises the @{error}); `it:next()` never raises. After an error it stays
-- finished.
-- @type Iterator
-------------------------------------------------------------------------------
local Iter = {}
Iter.__index = Iter
Iter.__name = "twilio.verify.iterator"

local function iter_fail(self, err)
    self.done, self.page, self.factors = true, nil, nil
    return nil, err
end

--- The next factor, without raising.
-- it:next() -> factor | nil (end) | nil, err (failure; the iterator stops)
-- @treturn[1] factor the next @{factor}
-- @return[2] `nil` at the end (or after `limit` factors)
-- @return[3] `nil`
-- @treturn[3] table an @{error}; the iterator is finished afterwards
-- @usage
-- local it = client:factors(SVC, USER, { limit = 10 })
-- while true do
--   local f, err = it:next()
--   if not f then if err then print(err) end break end
--   print(f.sid)
-- end
-- @function Iterator:next
function Iter:next()
    if self.done then return nil end
    if self.limit and self.yielded >= self.limit then
        self.done, self.factors = true, nil
        return nil
    end
    while true do
        local factors = self.factors
        if factors then
            local i = self.i + 1
            local f = factors[i]
            if f ~= nil then
                self.i = i
                factors[i] = nil -- the loop owns it now; the page does not keep it
                self.yielded = self.yielded + 1
                return f
            end
            local url = self.next_url
            self.factors, self.next_url = nil, nil
            if not url then
                self.done = true
                return nil
            end
            local page, err = raw.list_url(self.client, url, self.opts)
            if not page then return iter_fail(self, err) end
            self:_take(page)
        else
            local page, err
            if self.start_url then
                page, err = raw.list_url(self.client, self.start_url, self.opts)
            else
                page, err = raw.list(self.client, self.service_sid, self.identity, self.params, self.opts)
            end
            if not page then return iter_fail(self, err) end
            self:_take(page)
        end
    end
end

function Iter:_take(page)
    local fmt = factor_mt(self.client)
    local factors = page.factors
    for i = 1, #factors do setmetatable(factors[i], fmt) end
    self.factors, self.i = factors, 0
    self.next_url = page.meta.next_page_url
    self.pages = self.pages + 1
end

--- `it()`: the next factor; what a generic `for` calls.
-- `for f in it do` calls it(): raise the structured error on failure.
-- @treturn factor|nil the next @{factor}, or `nil` at the end
-- @raise the @{error} table when a page cannot be fetched
-- @usage
-- local ok, err = pcall(function()
--   for f in client:factors(SVC, USER) do print(f.sid) end
-- end)
-- if not ok then print("listing failed: " .. tostring(err)) end
-- @function Iterator:__call
Iter.__call = function(self)
    local f, err = self:next()
    if f == nil and err ~= nil then error(err, 2) end
    return f
end

--- @type Client

--- Iterate lazily over an identity's factors, page by page.
-- client:factors(service_sid, identity [, {page_size, limit, page_token, page_url}] [, opts]) -> iterator
-- The iterator is callable (use it in a generic for: raises the error object
-- on failure) and has :next() -> factor | nil | nil, err for non-raising use.
-- Nothing is sent until the first factor is asked for; breaking out early
-- leaves nothing pending. Bad parameters raise an `invalid_argument` @{error}.
-- @string service_sid `VA...`
-- @string identity the entity's identity
-- @tparam[opt] table params @{factors_params}
-- @tparam[opt] table opts @{call_options}
-- @treturn Iterator the @{Iterator}
-- @usage
-- for f in client:factors(SVC, USER, { limit = 250 }) do print(f.sid, f.status) end
-- local all = assert(verify.collect(client:factors(SVC, USER)))
function Client:factors(service_sid, identity, params, opts)
    local limit, page_size, page_token, page_url
    if params ~= nil then
        if type(params) ~= "table" then error(core.arg_error("params", "iterator parameters must be a table"), 2) end
        for k in pairs(params) do
            if k ~= "limit" and k ~= "page_size" and k ~= "page_token" and k ~= "page_url" then
                error(core.arg_error(tostring(k), "unknown parameter '" .. tostring(k) .. "' for factors"), 2)
            end
        end
        limit, page_size, page_token, page_url = params.limit, params.page_size, params.page_token, params.page_url
    end
    if limit ~= nil and (type(limit) ~= "number" or limit ~= math_floor(limit) or limit < 0) then
        error(core.arg_error("limit", "limit must be an integer >= 0"), 2)
    end
    if page_size == nil then
        page_size = limit and limit > 0 and math_min(limit, 1000) or nil
    end
    local lp = { page_size = page_size, page_token = page_token }
    local ok, err = core.check_params("list_factor", service_sid, identity, lp)
    if not ok then error(err, 2) end
    if page_url ~= nil then
        ok, err = core.check_page_url(self, page_url)
        if not ok then error(err, 2) end
    end
    return setmetatable({
        client = self, service_sid = service_sid, identity = identity, params = lp, opts = opts,
        limit = limit, yielded = 0, pages = 0, i = 0, start_url = page_url,
        done = limit == 0,
    }, Iter)
end

-------------------------------------------------------------------------------
-- Batches
-------------------------------------------------------------------------------
local function bind_result(client, op, r)
    local v = r.ok
    if v == nil or op == "delete" then return r end
    local fmt = factor_mt(client)
    if op == "list" then
        for i = 1, #v do setmetatable(v[i], fmt) end
    else
        setmetatable(v, fmt)
    end
    return r
end

local batch_fields = { op = true, service_sid = true, identity = true, sid = true, params = true }

-- Lua-transport clients: nginx threads when available, otherwise one by one.
-- Same results and validation as the libcurl engine; retries per operation
-- (no batch-wide pause); max_rps spaces the starts.
local function lua_batch(self, ops, opts)
    local conc = opts.concurrency or 8
    local results, n, done, errors = {}, #ops, 0, 0
    local sleep, gap, next_start = sleeper(), opts.max_rps and 1 / opts.max_rps, 0
    local err_mt = getmetatable(core.arg_error("x", "x"))
    local stopped = false
    local function run(i)
        local o = ops[i]
        local v, err
        if stopped then
            results[i] = { err = setmetatable({ kind = "skipped", retryable = false,
                message = "not run: an earlier operation failed (fail_fast)" }, err_mt) }
            done, errors = done + 1, errors + 1
            return
        end
        if gap then
            local t = now()
            if t < next_start then sleep(next_start - t) end
            next_start = math.max(t, next_start) + gap
        end
        local bad
        if type(o) == "table" then
            for k in pairs(o) do
                if not batch_fields[k] then bad = k break end
            end
        end
        if type(o) ~= "table" then
            err = core.arg_error("ops", "batch operation " .. i .. " must be a table")
        elseif bad then
            err = core.arg_error(tostring(bad), "unknown field '" .. tostring(bad) .. "' in batch operation " .. i)
        elseif o.op == "fetch" then v, err = raw.fetch(self, o.service_sid, o.identity, o.sid)
        elseif o.op == "update" then v, err = raw.update(self, o.service_sid, o.identity, o.sid, o.params)
        elseif o.op == "delete" then v, err = raw.delete(self, o.service_sid, o.identity, o.sid)
        elseif o.op == "list" then
            local ok, e = pcall(function()
                local all = {}
                for f in self:factors(o.service_sid, o.identity, o.params) do all[#all + 1] = f end
                return all
            end)
            if ok then v = e else err = e end
        else
            err = core.arg_error("op", "batch op must be fetch, update, delete or list")
        end
        results[i] = bind_result(self, type(o) == "table" and o.op, v ~= nil and { ok = v } or { err = err })
        done = done + 1
        if err then
            errors = errors + 1
            if opts.fail_fast then stopped = true end
        end
        if opts.on_progress then opts.on_progress(done, n, errors) end
    end
    local ngx = rawget(_G, "ngx")
    if ngx and ngx.thread and ngx.get_phase and ngx.get_phase() ~= "init" then
        local next_i = 0
        local function worker()
            while next_i < n do
                next_i = next_i + 1
                run(next_i)
            end
        end
        local threads = {}
        for w = 1, math_min(conc, n) do threads[w] = ngx.thread.spawn(worker) end
        for w = 1, #threads do ngx.thread.wait(threads[w]) end
    else
        for i = 1, n do run(i) end
    end
    return results, { done = done, total = n, errors = errors, peak = 1, retries = 0 }
end

--- Run many operations concurrently (libcurl multi interface, no threads).
-- client:batch(ops [, opts]) -> results
-- ops: array of { op = "fetch"|"update"|"delete"|"list", service_sid =,
-- identity =, sid = (fetch/update/delete), params = (update; list: page_size) }.
-- "list" gathers every factor of the identity (all pages) into one array.
-- opts: concurrency (1..64, default 8), max_rps, fail_fast, on_progress(done, total, errors).
-- Returns, in input order, { ok = value } or { err = err } per op (delete: ok = true).
-- Every op is validated before anything is sent; an invalid op gets its own
-- invalid_argument error and the others still run.  Bad opts return nil, err.
-- A 429 with `Retry-After` pauses every new request of the batch.
-- @tparam {batch_op,...} ops the operations (@{batch_op})
-- @tparam[opt] table opts @{batch_options}
-- @treturn[1] {batch_result,...} one @{batch_result} per operation, in input order
-- @treturn[1] table @{batch_stats}
-- @return[2] `nil`
-- @treturn[2] table an `invalid_argument` @{error} (bad options)
-- @usage
-- local results, stats = client:batch({
--   { op = "fetch", service_sid = SVC, identity = "user-0001", sid = SID1 },
--   { op = "delete", service_sid = SVC, identity = "user-0002", sid = SID2 },
--   { op = "list", service_sid = SVC, identity = "user-0003" },
-- }, { concurrency = 4 })
-- for i, r in ipairs(results) do print(i, r.ok and "ok" or tostring(r.err)) end
function Client:batch(ops, opts)
    if type(ops) ~= "table" then error("batch: ops must be a table", 2) end
    opts = opts or {}
    for k in pairs(opts) do
        if k ~= "concurrency" and k ~= "max_rps" and k ~= "fail_fast" and k ~= "on_progress" then
            return nil, core.arg_error(tostring(k), "unknown batch option '" .. tostring(k) .. "'")
        end
    end
    if opts.on_progress ~= nil and type(opts.on_progress) ~= "function" then
        return nil, core.arg_error("on_progress", "on_progress must be a function")
    end
    local conc, rps = opts.concurrency, opts.max_rps
    if conc ~= nil and (type(conc) ~= "number" or conc ~= math_floor(conc) or conc < 1 or conc > 64) then
        return nil, core.arg_error("concurrency", "concurrency must be an integer between 1 and 64")
    end
    if rps ~= nil and (type(rps) ~= "number" or not (rps > 0)) then
        return nil, core.arg_error("max_rps", "max_rps must be a number > 0")
    end
    if self:is_closed() then return self:_batch(ops, opts) end -- the closed error
    if self:_transport() then return lua_batch(self, ops, opts) end
    local b, err = self:_batch(ops, opts)
    if not b then return nil, err end
    local on_progress, last = opts.on_progress, -1
    -- progress runs here, between libcurl steps, never inside libcurl
    local ok, perr = pcall(function()
        while true do
            local finished, serr = b:step(50)
            if finished == nil then error(serr, 0) end
            if on_progress then
                local d, t, e = b:progress()
                if d ~= last or finished then
                    last = d
                    on_progress(d, t, e)
                end
            end
            if finished then break end
        end
    end)
    if not ok then
        b:close() -- abandon: in-flight transfers are removed, memory freed
        if type(perr) == "table" and getmetatable(perr) and perr.kind then return nil, perr end
        error(perr, 0)
    end
    local res = b:results()
    local stats = { b:progress() }
    b:close()
    for i, r in ipairs(res) do bind_result(self, type(ops[i]) == "table" and ops[i].op, r) end
    return res, { done = stats[1], total = stats[2], errors = stats[3], peak = stats[4], retries = stats[5] }
end

--- @section end

--- Gather an iterator into an array.
-- verify.collect(iter [, limit]) -> array | nil, err
-- Gathers what an iterator yields (at most `limit` when given).
-- @tparam Iterator it from @{Client:factors}
-- @int[opt] limit the most factors to gather
-- @treturn[1] {factor,...} the factors
-- @return[2] `nil`
-- @treturn[2] table the @{error} that stopped the iteration
-- @usage
-- local all, err = verify.collect(client:factors(SVC, USER))
-- if not all then print(err) else print(#all .. " factors") end
function _M.collect(it, limit)
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
