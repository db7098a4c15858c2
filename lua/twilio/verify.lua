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

local type, error, setmetatable, getmetatable, pairs, tostring =
    type, error, setmetatable, getmetatable, pairs, tostring
local os_getenv, math_min, math_floor = os.getenv, math.min, math.floor

local _M = {
    _VERSION = core._VERSION,
    null = core.null,       -- JSON null inside arrays
    totp = core.totp,       -- verify.totp.code/check/uri/parse_uri
    webhook = require("twilio.verify.webhook"), -- X-Twilio-Signature: validate/sign/validate_request
    curl_version = core.curl_version,
}

local Client = core.Client -- methods of the client userdata (C), extended here

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

-------------------------------------------------------------------------------
-- Transports.  Without `transport`, each operation is one C call: validate,
-- build, libcurl with retries, parse.  With `transport = fn`, a thin loop
-- here (fn may yield, e.g. OpenResty cosockets) drives the same C call
-- engine: _call (validate + build + the first step), _next (parse, then
-- the engine's next step: send, sleep, a hook to run, done).
-- fn(request, client) -> response | nil, err
--   request  = { op, method, url, headers = {...}, body?, timeout, connect_timeout, max_body }
--   response = { status = n, headers = { [name] = value }, body = s }
--   err      = message string or { message =, timeout = bool, unsent = bool }
-- (Reference: @{transport_request}, @{transport_response}.)
-- @section end
-------------------------------------------------------------------------------
local blocking_sleep = core.sleep
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

-- The error objects' metatable (for the errors made here: skipped, loops)
local err_mt = getmetatable(core.arg_error("x", "x"))
local function make_error(kind, message, fields)
    local e = { kind = kind, message = message, retryable = false }
    for k, v in pairs(fields or {}) do e[k] = v end
    return setmetatable(e, err_mt)
end

-- One operation over a Lua transport: a thin driver of the C call engine
-- (csrc/tv_engine.c, the state machine under tv_client_execute and the
-- libcurl batch too).  The engine decides every step -- attempts,
-- max_retries, what is retried, Retry-After and back-off, the hooks' events,
-- a closed client, a batch's fail_fast / 429 pause / max_rps (`group`, from
-- client:_group; `cont`: a later page of a batch list under way).  Lua only
-- does what may yield: the transport, the sleep, the hooks.  A hook that
-- raises never throws the result away (see the Client doc): value, nil,
-- hook_error on success; nil, err (err.hook_error) on failure.
-- The hot path (one attempt that succeeds, no hooks) makes no closure and
-- no table of its own: the hook state and the sleeper exist only on the
-- paths that need them.
local function run_hook(state, fn, ...)
    if fn and not state.failed then
        local ok, e = pcall(fn, ...)
        if not ok then state.failed, state.err = true, e end
    end
end

local call_next = Client._next

local function lua_execute(self, transport, op, group, cont, ...)
    local k, req, step, a, b, c, d = self:_call(op, group, cont, ...)
    if not k then return nil, req end
    local hooks, sleep -- { failed =, err = } once a hook runs; the sleeper once needed
    while step ~= "done" do
        if step == "send" then
            step, a, b, c, d = call_next(self, k, transport(req, self))
        elseif step == "sleep" then
            sleep = sleep or sleeper()
            sleep(a)
            step, a, b, c, d = call_next(self, k)
        else -- "log" (a: the hook, b: the event) or "retry" (a: the hook; b, c, d: attempt, delay, err)
            hooks = hooks or {}
            run_hook(hooks, a, b, c, d)
            step, a, b, c, d = call_next(self, k)
        end
    end
    -- done: a = the value or nil, b = nil or the error; c, d = the last attempt's log hook and event
    if c then
        hooks = hooks or {}
        run_hook(hooks, c, d)
    end
    if hooks and hooks.failed then
        if a ~= nil then return a, nil, hooks.err end
        if type(b) == "table" then b.hook_error = hooks.err end
        return nil, b
    end
    return a, b
end

local C = { list_page_url = Client.list_page_url }
local OPS = core.operations() -- the operation table, as data (one row per operation)
for _, op in ipairs(OPS) do C[op.name] = Client[op.name] end

-- call(client, name, group, cont, ...): operation `name` on whichever
-- transport (group, cont: a Lua-transport batch's, see lua_execute)
local function call(self, name, group, cont, ...)
    local transport = self:_transport()
    if transport then return lua_execute(self, transport, name, group, cont, ...) end
    return C[name](self, ...)
end

local function dispatch(name)
    return function(self, ...)
        if type(self) ~= "userdata" then
            error(name .. ": call it as a method, client:" .. name .. "(...) (with a colon)", 2)
        end
        return call(self, name, nil, nil, ...)
    end
end

-- raw[name](client, ...): the operation on whichever transport, plain tables
local raw = {}
for name in pairs(C) do raw[name] = dispatch(name) end

-- a row by its name or short name (OPS holds both: "fetch" is fetch_factor)
local function op_named(name)
    if type(name) ~= "string" then return nil end
    return OPS[name]
end

-------------------------------------------------------------------------------
-- Resource objects: plain tables with a metatable of methods bound to the
-- client that produced them (one metatable per client and resource kind,
-- kept in the client's own state, never in the object's fields). Every kind
-- -- factor, challenge, entity, service -- shares this one implementation,
-- made from the operation table: `obj:fetch()`, `obj:update{...}`,
-- `obj:delete()` for the kind's own operations, `obj:<list>()` iterators and
-- `obj:create_<kind>(...)` for the operations one level below it.
-------------------------------------------------------------------------------
local RESOURCES = core.resources() -- name, class, list_key, describe (the fields tostring shows)
local kinds = {}      -- resource -> methods table
local fetch_of = {}   -- resource -> its fetch row
local id_key = {}     -- resource -> the field naming an object ("sid")
for _, r in ipairs(RESOURCES) do kinds[r.name] = {} end
for _, op in ipairs(OPS) do
    if op.verb == "fetch" then fetch_of[op.resource] = op end
    if op.id_key then id_key[op.resource] = id_key[op.resource] or op.id_key end
end

-- tostring(obj): "<id> (<describe fields>)"; an access token's never shows
-- the token (the data lists what it shows)
local function describer(r)
    local key, fields = id_key[r.name] or "sid", r.describe
    return function(o)
        local parts = {}
        for i, f in ipairs(fields) do parts[i] = tostring(o[f]) end
        if #parts == 0 then return tostring(o[key]) end
        return tostring(o[key]) .. " (" .. table.concat(parts, ", ") .. ")"
    end
end
local describe = {}
for _, r in ipairs(RESOURCES) do describe[r.name] = describer(r) end

local mt_key = {} -- resource -> its key in the client's state (made once, not per call)
for r in pairs(kinds) do mt_key[r] = r .. "_mt" end

local function kind_mt(client, resource)
    local st = client:_state() -- per-client table owned by the client userdata
    local key = mt_key[resource] or (resource .. "_mt")
    local mt = st[key]
    if not mt then
        local d = describe[resource] or function(o) return tostring(o.sid) end
        mt = { __index = kinds[resource], __client = client, __name = "twilio.verify." .. resource,
               __tostring = function(o) return "twilio.verify." .. resource .. " " .. d(o) end }
        st[key] = mt
    end
    return mt
end

local function bind(client, resource, obj)
    if type(obj) == "table" then setmetatable(obj, kind_mt(client, resource)) end
    return obj
end

local function client_of(obj, what)
    local mt = getmetatable(obj)
    local c = type(mt) == "table" and mt.__client
    if not c then error("not a " .. what .. " object", 3) end
    return c
end

-- Refresh an object in place from a newer copy.  `binding` (a TOTP factor's
-- secret and URI) comes only in the creation answer: it survives refreshes.
local responses = core._responses -- value -> its response's status and headers (lua_meta.c)
local function refresh(dst, src)
    for k in pairs(dst) do if src[k] == nil and k ~= "binding" then dst[k] = nil end end
    for k, v in pairs(src) do dst[k] = v end
    if type(src) == "table" then responses[dst] = responses[src] end
    return dst
end

local header_names = core.response_headers
_M.response_headers = header_names

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
-- without control characters; a repeated header keeps its last value. `nil`
-- for anything else (a delete's `true`, batch results, tables of your own).
-- Recorded in a weak table: it lives as long as the value.
-- @param value what an operation returned
-- @treturn[1] table `{ status = 200, request_id = "RQ...", headers = { ["twilio-verify-signature-fields"] = "..." } }`
-- @return[2] `nil`
-- @usage
-- local ch = assert(client:fetch_challenge(SVC, USER, sid))
-- local r = verify.response_of(ch)
-- print(r.status, r.request_id, r.headers["twilio-verify-signature-fields"])
function _M.response_of(value)
    local s = value ~= nil and responses[value]
    if not s then return nil end
    local status, rest = s:match("^(%d+)\n(.*)$")
    local r = { status = tonumber(status), headers = {} }
    for c, v in rest:gmatch("(%l):([^\n]*)\n") do
        r.headers[header_names[c:byte() - 96]:lower()] = v
    end
    r.request_id = r.headers["twilio-request-id"]
    return r
end

-- the values of `fields` (names) from obj, as arguments
local function args_of(obj, names, n)
    local a = {}
    for i = 1, n do a[i] = obj[names[i]] end
    return a
end

local function path_names(op)
    local names = {}
    for i, p in ipairs(op.path_params) do names[i] = p.name end
    return names
end

local pack = table.pack or function(...) return { n = select("#", ...), ... } end

for _, op in ipairs(OPS) do
    local m, name, np = kinds[op.resource], op.name, #op.path_params
    local names = path_names(op)
    if np > 0 and op.returns ~= "page" and op.verb ~= "create" then
        if op.verb == "update" then
            m.update = function(self, params, opts)
                local c = client_of(self, op.resource)
                local a = args_of(self, names, np)
                a[np + 1], a[np + 2] = params, opts
                local v, err, hook_err = raw[name](c, unpack(a, 1, np + 2))
                if v == nil then return nil, err end
                return refresh(self, v), nil, hook_err
            end
        elseif op.verb == "fetch" then
            m.fetch = function(self, opts)
                local c = client_of(self, op.resource)
                local a = args_of(self, names, np)
                a[np + 1] = opts
                local v, err, hook_err = raw[name](c, unpack(a, 1, np + 1))
                if v == nil then return nil, err end
                return refresh(self, v), nil, hook_err
            end
        else
            m[op.verb] = function(self, opts)
                local c = client_of(self, op.resource)
                local a = args_of(self, names, np)
                a[np + 1] = opts
                return raw[name](c, unpack(a, 1, np + 1))
            end
        end
    end
end

-- children (the row's `parent`: the resource whose fetch takes exactly its
-- path parameters, so an object's fields fill them): entity:factors(),
-- entity:challenges(), service:entities(), entity:create_factor{...},
-- entity:create_challenge{...}, service:create_entity(identity)
for _, op in ipairs(OPS) do
    local r = op.parent
    if r then
        local fnames, np = path_names(fetch_of[r]), #op.path_params
        local method = op.returns == "page" and op.list_key or op.name
        kinds[r][method] = function(self, ...)
            local c = client_of(self, r)
            local a = args_of(self, fnames, np)
            local rest = pack(...)
            for i = 1, rest.n do a[np + i] = rest[i] end
            return c[method](c, unpack(a, 1, np + rest.n))
        end
    end
end

local Factor = kinds.factor

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
function Factor:verify(code, opts)
    local c = client_of(self, "factor")
    local f, err, hook_err = raw.update_factor(c, self.service_sid, self.identity, self.sid,
        { auth_payload = code }, opts)
    if not f then return nil, err end
    refresh(self, f)
    return f.status == "verified", nil, hook_err
end

-- verify.Factor, verify.Challenge, ...: each kind's method table
for _, r in ipairs(RESOURCES) do _M[r.class] = kinds[r.name] end

-- Pages and iterators, one implementation for every list operation ---------
local Page = {}

local list_ops = {} -- list_key -> list row
for _, op in ipairs(OPS) do
    if op.returns == "page" then
        list_ops[op.list_key] = op
        op.page_mt_key = "page_mt:" .. op.name
    end
end

local function unpct(h) return string.char(tonumber(h, 16)) end

local function page_mt(client, op)
    local st = client:_state()
    local key = op.page_mt_key or ("page_mt:" .. op.name)
    local mt = st[key]
    if not mt then
        local lk = op.list_key
        mt = { __index = Page, __client = client, __op = op, __name = "twilio.verify.page" }
        mt.__tostring = function(p)
            return "twilio.verify.page " .. tostring(p.meta and p.meta.page) .. " (" .. #p[lk] .. " " .. lk .. ")"
        end
        st[key] = mt
    end
    return mt
end

local function token_of(url)
    if type(url) ~= "string" then return nil end
    local t = url:match("[?&]PageToken=([^&#]*)")
    if t and t:find("%", 1, true) then t = t:gsub("%%(%x%x)", unpct) end
    return t
end

-- `op`: the list operation the request was for (the C side checked the
-- body's shape and every element of op.list_key -- and only those: a body
-- may carry other lists, which are left alone)
local function make_page(client, op, page, err, opts)
    if not page then return nil, err end
    local mt = kind_mt(client, op.resource)
    local items = page[op.list_key]
    for i = 1, #items do setmetatable(items[i], mt) end
    page._opts = opts
    local meta = page.meta
    if type(meta) == "table" then
        page.next_page_token = token_of(meta.next_page_url)
        page.previous_page_token = token_of(meta.previous_page_url)
    end
    return setmetatable(page, page_mt(client, op))
end

local function follow(page, key)
    local mt = getmetatable(page)
    local c = type(mt) == "table" and mt.__client
    if not c then error("not a page object", 3) end
    local url = page.meta and page.meta[key]
    if url == nil then return nil end
    -- a page's neighbours are pages of the same list: a URL naming another
    -- list operation is refused (nothing sent)
    local ok, cerr = core.check_page_url(c, url, mt.__op.name)
    if not ok and not c:is_closed() then return nil, cerr end
    local opts = page._opts
    local p, err, hook_err = raw.list_page_url(c, url, opts)
    local np, perr = make_page(c, mt.__op, p, err, opts)
    return np, perr, hook_err
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
function Page:next_page() return follow(self, "next_page_url") end
--- The previous page.
--
-- **syntax:** `page:previous_page() -> page | nil (first page) | nil, err`
--
-- @treturn[1] page the previous @{page}
-- @return[2] `nil` on the first page
-- @return[3] `nil`
-- @treturn[3] table an @{error}
-- @usage local prev = page:previous_page()
function Page:previous_page() return follow(self, "previous_page_url") end

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

-- Iterators ----------------------------------------------------------------
local Iter = {}
Iter.__index = Iter
Iter.__name = "twilio.verify.iterator"

local function iter_fail(self, err)
    self.done, self.page, self.items, self.error = true, nil, nil, err
    return nil, err
end

-- one page of the listing, through the client's transport; a hook's error
-- is kept in it.hook_error (the page is used all the same)
function Iter:_fetch(name, ...)
    local page, err, hook_err = call(self.client, name, self.group, self.pages > 0, ...)
    if hook_err ~= nil then self.hook_error = hook_err end
    return page, err
end

function Iter:next()
    if self.done then return nil end
    local pending = self.pending_error -- an argument error of the constructor
    if pending ~= nil then
        self.pending_error = nil
        return iter_fail(self, pending)
    end
    if self.limit and self.yielded >= self.limit then
        self.done, self.items = true, nil
        return nil
    end
    while true do
        local items = self.items
        if items then
            local i = self.i + 1
            local f = items[i]
            if f ~= nil then
                self.i = i
                items[i] = nil -- the loop owns it now; the page does not keep it
                self.yielded = self.yielded + 1
                return f
            end
            local url = self.next_url
            self.items, self.next_url = nil, nil
            if not url then
                if self.stop_err then return iter_fail(self, self.stop_err) end
                self.done = true
                return nil
            end
            self.position = url
            -- the next page must be a page of this same list (as in tv_batch.c)
            local ok, cerr = core.check_page_url(self.client, url, self.op.name)
            if not ok and not self.client:is_closed() then return iter_fail(self, cerr) end
            local page, err = self:_fetch("list_page_url", url, self.opts)
            if not page then return iter_fail(self, err) end
            self:_take(page)
        else
            local page, err
            if self.start_url then
                self.position = self.start_url
                page, err = self:_fetch("list_page_url", self.start_url, self.opts)
            else
                local a = self.path
                a[self.np + 1], a[self.np + 2] = self.params, self.opts
                page, err = self:_fetch(self.op.name, unpack(a, 1, self.np + 2))
            end
            if not page then return iter_fail(self, err) end
            self:_take(page)
        end
    end
end

-- Take a page; decide whether its next_page_url is followed.  The rules of
-- the libcurl batch (tv_batch.c next_page): a next_page_url already met in
-- this listing (a page's meta.url, or a URL followed) would loop, and more
-- than the client's max_pages pages is too many: after this page's items
-- the iterator stops with a decode error, without sending anything more.
function Iter:_take(page)
    local mt = kind_mt(self.client, self.op.resource)
    local items = page[self.op.list_key]
    if type(items) ~= "table" then items = {} end
    for i = 1, #items do setmetatable(items[i], mt) end
    self.items, self.i = items, 0
    self.pages = self.pages + 1
    local meta, seen = page.meta, self.seen
    local here, nxt = meta.url, meta.next_page_url
    if type(here) == "string" then seen[here] = true end
    if type(nxt) ~= "string" then return end
    if seen[nxt] then
        self.stop_err = make_error("decode", string.format(
            "next_page_url repeats a page of this listing (after %d pages): the list would loop", self.pages),
            { url = nxt })
    elseif self.pages >= self.max_pages then
        self.stop_err = make_error("decode", string.format(
            "the list has more than max_pages (%d) pages: stopped (raise the client's max_pages)", self.max_pages),
            { url = nxt })
    else
        seen[nxt] = true
        self.next_url = nxt
    end
end

-- an iterator over list row `op` (no checks: the callers made them)
local function new_iter(client, op, path, params, opts, limit, start_url, group)
    return setmetatable({
        client = client, op = op, np = #op.path_params, path = path, params = params, opts = opts,
        limit = limit, yielded = 0, pages = 0, i = 0, start_url = start_url, done = limit == 0,
        seen = {}, max_pages = client:_state().max_pages or 10000, group = group,
    }, Iter)
end

-- Raised errors.  A `for` loop over an iterator raises the error that
-- stopped it.  Where a raised table cannot be printed -- inside nginx (its
-- error log shows "runtime error: unknown reason" for any non-string) and on
-- PUC Lua 5.1 (whose interpreter prints "(error object is not a string)")
-- -- the raised value is the error's message string, tostring(err); elsewhere
-- (Lua 5.2+, LuaJIT outside nginx: both print __tostring) it is the error
-- object itself.  Either way verify.error_of(raised) gives the object back,
-- and the iterator keeps it in it.error.
--
-- The errors raised as strings are remembered per coroutine (each nginx
-- request runs in its own), the last RAISED_MAX of each, in a table weakly
-- keyed by the coroutine: a request never sees another's errors, and a
-- finished request's go with its coroutine.
local RAISED_MAX = 16
local raised_by_co = setmetatable({}, { __mode = "k" })
local MAIN = {} -- the key of the main thread on Lua 5.1 (coroutine.running() is nil there)
local co_running = coroutine.running

local function raised_of(create)
    local co = co_running() or MAIN
    local r = raised_by_co[co]
    if not r and create then
        r = { ring = {}, by_msg = {}, n = 0 }
        raised_by_co[co] = r
    end
    return r
end

local function raises_strings()
    return rawget(_G, "ngx") ~= nil or (_VERSION == "Lua 5.1" and rawget(_G, "jit") == nil)
end

local function raise(err)
    if getmetatable(err) ~= err_mt or not raises_strings() then error(err, 2) end
    local msg = tostring(err)
    local r = raised_of(true)
    r.n = r.n % RAISED_MAX + 1
    local old = r.ring[r.n]
    if old and r.by_msg[old[1]] == old[2] then r.by_msg[old[1]] = nil end
    r.ring[r.n] = { msg, err }
    r.by_msg[msg] = err
    error(msg, 0)
end

Iter.__call = function(self)
    local f, err = self:next()
    if f == nil and err ~= nil then raise(err) end
    return f
end

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
function _M.error_of(raised)
    if type(raised) == "table" then
        if getmetatable(raised) == err_mt then return raised end
        return nil
    end
    if type(raised) ~= "string" then return nil end
    local r = raised_of(false)
    if not r then return nil end
    local err = r.by_msg[raised]
    if err == nil then
        local i = raised:find("twilio.verify: ", 1, true)
        if i and i > 1 then err = r.by_msg[raised:sub(i)] end
    end
    return err
end

_M.Iterator = Iter

local iter_keys = { limit = true, page_size = true, page_token = true, page_url = true }

-- client:factors(service_sid, identity [, params] [, opts]), client:challenges(...),
-- client:entities(service_sid ...), client:services([params] [, opts]):
-- lazy iterators over every page of a list.
local function make_iterator(op)
    local np, list_key = #op.path_params, op.list_key
    local filters = {}
    for _, p in ipairs(op.params) do
        if p.location == "query" and not p.paging then
            filters[p.name] = true
        end
    end
    -- the listing's parameters, checked (no I/O): lp, limit, page_url | nil, err
    local function read_args(self, path, params)
        local lp = {}
        local limit, page_url
        if params ~= nil then
            if type(params) ~= "table" then
                return nil, core.arg_error("params", "iterator parameters must be a table, got " .. type(params))
            end
            for k, v in pairs(params) do
                if iter_keys[k] or filters[k] then
                    if k == "limit" then limit = v elseif k == "page_url" then page_url = v else lp[k] = v end
                else
                    local key = tostring(k)
                    return nil, core.arg_error(key, "unknown parameter '" .. key .. "' for " .. list_key)
                end
            end
        end
        if limit ~= nil and (type(limit) ~= "number" or limit ~= math_floor(limit) or limit < 0) then
            return nil, core.arg_error("limit", "limit must be an integer >= 0")
        end
        if lp.page_size == nil and limit and limit > 0 then lp.page_size = math_min(limit, 1000) end
        local ca = { self, op.name }
        for i = 1, np do ca[2 + i] = path[i] end
        ca[np + 3] = lp
        local ok, err = core.check_params(unpack(ca, 1, np + 3))
        if not ok then return nil, err end
        if page_url ~= nil then
            ok, err = core.check_page_url(self, page_url, op.name)
            if not ok then return nil, err end
        end
        return lp, limit, page_url
    end
    -- An argument error never raises (only a `self` that is no client
    -- does): the iterator is returned with the error as a second value, and
    -- its first step fails with it (it:next() -> nil, err; a for loop raises).
    return function(self, ...)
        if type(self) ~= "userdata" then
            error(list_key .. ": call it as a method, client:" .. list_key .. "(...) (with a colon)", 2)
        end
        local a = pack(...)
        local params, opts = a[np + 1], a[np + 2]
        local path = {}
        for i = 1, np do path[i] = a[i] end
        local lp, limit, page_url = read_args(self, path, params)
        if not lp then
            local err = limit -- (read_args: nil, err)
            local it = new_iter(self, op, path, {}, opts, nil, nil)
            it.pending_error, it.error = err, err
            return it, err
        end
        return new_iter(self, op, path, lp, opts, limit, page_url)
    end
end

for _, op in pairs(list_ops) do Client[op.list_key] = make_iterator(op) end

-- Batches ------------------------------------------------------------------

-- bind the value of result `r` of list/instance row `op` to the client
local function bind_result(client, op, r)
    local v = r.ok
    if v == nil or not op or op.returns == "none" then return r end
    local mt = kind_mt(client, op.resource)
    if op.returns == "page" then
        for i = 1, #v do setmetatable(v[i], mt) end
    else
        setmetatable(v, mt)
    end
    return r
end

-- batch op i, read and validated by the C reader client:_batch uses
-- (core.batch_args): its row and arguments, or nil, the invalid_argument error
local function batch_plan(self, o, i)
    local name, a, na = core.batch_args(o, i)
    if not name then return nil, a end
    local op = OPS[name]
    local ok, err = core.check_params(self, op.name, unpack(a, 1, na))
    if not ok then return nil, err end
    return { op = op, a = a, na = na }
end

-- a list op of a batch: every item from the page its params name to the last
local function gather(self, op, a, group)
    local np = #op.path_params
    local path = {}
    for k = 1, np do path[k] = a[k] end
    local it = new_iter(self, op, path, a[np + 1], nil, nil, nil, group)
    local all = {}
    while true do
        local f, err = it:next()
        if f == nil then
            if err ~= nil then return nil, err, it.hook_error end
            return all, nil, it.hook_error
        end
        all[#all + 1] = f
    end
end

local rawlen = rawget(_G, "rawlen") or function(t) return #t end

local function lua_batch(self, ops, opts)
    local conc = opts.concurrency or 8
    local n = rawlen(ops)
    local results, plans, done, errors = {}, {}, 0, 0
    -- every op is read and validated before anything is sent (as lua_batch.c)
    for i = 1, n do
        local plan, err = batch_plan(self, rawget(ops, i), i)
        if plan then
            plans[i] = plan
        else
            results[i] = { err = err }
            done, errors = done + 1, errors + 1
        end
    end
    if done > 0 and opts.on_progress then opts.on_progress(done, n, errors) end
    -- what the ops share, in the C call engine (as the libcurl batch's ops
    -- do): fail_fast (a stopped group skips what was never sent, retries
    -- nothing, lets a list under way finish its pages), the pause after a
    -- 429 with Retry-After, max_rps spacing
    local group = self:_group(opts.fail_fast, opts.max_rps)
    local function run(i)
        local plan = plans[i]
        if not plan then return end -- invalid: its result is set
        local v, err, hook_err
        if plan.op.returns == "page" then
            v, err, hook_err = gather(self, plan.op, plan.a, group)
        else
            v, err, hook_err = call(self, plan.op.name, group, false, unpack(plan.a, 1, plan.na))
        end
        if err then group:fail() end -- the op failed (a list's loop included): fail_fast stops the rest
        local r = v ~= nil and { ok = v } or { err = err }
        if hook_err ~= nil then r.hook_error = hook_err end
        results[i] = bind_result(self, plan.op, r)
        done = done + 1
        if err then errors = errors + 1 end
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
    return results, { done = done, total = n, errors = errors, peak = 1, retries = group:retries() }
end

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
    if rps ~= nil and (type(rps) ~= "number" or not (rps >= 0.001) or rps > 100000) then
        return nil, core.arg_error("max_rps", "max_rps must be a number between 0.001 and 100000")
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
    for i, r in ipairs(res) do
        if r.ok ~= nil then
            local got, name = pcall(function() return rawget(ops, i).op end)
            bind_result(self, got and op_named(name), r)
        end
    end
    return res, { done = stats[1], total = stats[2], errors = stats[3], peak = stats[4], retries = stats[5] }
end

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
