--- The OpenResty transport: the Verify API through nginx subrequests.
-- Each attempt is an nginx subrequest (ngx.location.capture) to an internal
-- location that proxy_passes to the Verify API.  nginx does the I/O on its
-- own event loop (upstream keep-alive, TLS with proxy_ssl_verify), so the
-- calling coroutine yields and the worker keeps serving other requests.
--
-- Inside nginx, verify.new{...} selects this transport by itself (unless
-- `transport` is given; `transport = false` keeps the blocking libcurl one).
-- The nginx side (the OpenResty topic, doc/openresty.md, has the whole config):
--
--     upstream twilio_verify { server verify.twilio.com:443; keepalive 16; }
--     location /_twilio_verify/ {
--         internal;
--         set $twilio_verify_user_agent "";
--         set $twilio_verify_content_type "";
--         set_by_lua_block $twilio_verify_authorization { return require("twilio.verify.openresty").authorization() }
--         if ($twilio_verify_authorization = "") { return 403; }
--         header_filter_by_lua_block { require("twilio.verify.openresty").header_filter() }
--         proxy_pass https://twilio_verify/;
--         proxy_pass_request_headers off;
--         proxy_set_header Authorization $twilio_verify_authorization;
--         ...
--     }
--
-- TLS: nginx verifies Twilio's certificate only with `proxy_ssl_verify on`
-- (plus proxy_ssl_trusted_certificate, proxy_ssl_server_name on and
-- proxy_ssl_name) in that location -- nginx's default is off, and nothing
-- here can see the directive.  The libcurl transport's "verification always
-- on" does not extend to this one: copy doc/openresty.md's location as is.
--
-- The credentials travel from the transport to authorization() (or the
-- older rewrite()) in the subrequest's ngx.ctx, never in the URI; with
-- proxy_pass_request_headers off (or rewrite()) none of the headers the
-- subrequest inherited from the client's request reaches Twilio, only the
-- ones the C core built.  header_filter() records how the
-- upstream answered, so that nginx's own 502/504 pages become transport
-- errors (connect failure, timeout) instead of looking like API answers.
-- @module twilio.verify.openresty
-- @usage
-- -- in a content_by_lua_block (or rewrite/access): new{} picks this transport
-- local verify = require "twilio.verify"
-- local client = assert(verify.new{})
-- local ok, err = client:verify_factor(SVC, USER, SID, code)
local type, error, pairs, tostring, rawget = type, error, pairs, tostring, rawget
local string_char, tonumber = string.char, tonumber
local byte, find, sub = string.byte, string.find, string.sub

local _M = { _VERSION = require("twilio.verify.core")._VERSION, LOCATION = "/_twilio_verify" }

--- The module version: the library's (`twilio.verify.core`), a string such as `"0.1.0"`.
-- @usage print(require("twilio.verify.openresty")._VERSION)
-- @field _VERSION

--- The default internal location, `"/_twilio_verify"`.
--
-- **syntax:** `openresty.LOCATION`
--
-- The prefix of the internal location @{transport} sends to and
-- @{new} uses when `location` is not given.
-- @usage location = require("twilio.verify.openresty").LOCATION .. "/"
-- @field LOCATION

-- ngx.location.capture works in these phases only (no request in timers,
-- init_worker, ...).
local CAPTURE_PHASES = { rewrite = true, access = true, content = true }

local METHODS = { GET = "HTTP_GET", POST = "HTTP_POST", DELETE = "HTTP_DELETE" }

-- The last entry of an $upstream_* value ("0.012, 0.501 : -" after retries
-- and internal redirects).
local function last(v)
    if type(v) ~= "string" then return nil end
    return v:match("([^%s,:]+)%s*$")
end

-- RFC 3986 unreserved characters may be written percent-encoded or not; nginx
-- would escape a literal "%" again when it proxies, so decode those and refuse
-- anything else (the C core never builds such a path: it validates every
-- segment first).
local function unreserved(h)
    local c = string_char(tonumber(h, 16))
    if c:match("^[%w%-%._~]$") then return c end
    return nil
end

local function normalize_path(path)
    if not path:find("%", 1, true) then return path end -- what the C core builds: nothing to do
    path = path:gsub("%%(%x%x)", unreserved)
    if path:find("%", 1, true) then return nil end
    return path
end

local warned_phases = {}

-------------------------------------------------------------------------------
-- The shared rate-limit budget (opt-in: new{ budget = {...} }).
--
-- Twilio limits an account's request rate and concurrency (429, code 20429,
-- Retry-After).  Alone, each nginx worker learns of a 429 only from its own
-- requests, so N workers hit the limit N times.  The budget keeps two
-- things per account SID in a lua_shared_dict, which every worker of the
-- nginx instance sees:
--   "tv:ra:<AC...>"      until when (ngx.now()) a Retry-After asked
--                        everyone to wait; set by any worker that gets a
--                        429 with Retry-After, with a TTL just past it
--   "tv:s:<AC...>:<i>"   slot i of max_in_flight, taken with dict:add (one
--                        atomic insert: never more than max_in_flight
--                        taken at once) and given back after the attempt;
--                        a TTL (slot_ttl) frees the slots of a worker that
--                        died mid-request
-- Before each attempt a request waits (ngx.sleep) or fails fast
-- (on_limit = "fail", or the wait would pass max_wait) while the account
-- is in a Retry-After window or all its slots are taken.  Keyed by the
-- account SID (client:_account_sid()): never a token or a credential.
-- Costs, when it is not configured: nothing (a nil test).  Configured: one
-- dict:get per attempt, and with max_in_flight one dict:add, get and
-- delete.
-------------------------------------------------------------------------------
local BUDGET_KEYS = { dict = true, on_limit = true, max_wait = true, max_in_flight = true, slot_ttl = true,
                      retry_after_cap = true }
local SLEEP_PHASES = { rewrite = true, access = true, content = true, timer = true, ssl_cert = true,
                       ssl_session_fetch = true }

local function budget_error(msg, level) error("openresty.new: budget." .. msg, level + 1) end

local function check_number(b, k, default, min, max, integer)
    local v = b[k]
    if v == nil then return default end
    if type(v) ~= "number" or v ~= v or v < min or v > max or (integer and v % 1 ~= 0) then
        budget_error(k .. " must be a" .. (integer and "n integer" or " number") .. " from " .. min .. " to " .. max, 4)
    end
    return v
end

-- The Retry-After of a 429's headers (any case; a repeated header: its
-- last value), in seconds from now, or nil.  Bounded: at most 256 headers
-- read (what a hostile upstream sends cannot make this slow).
local function retry_after_of(headers)
    if type(headers) ~= "table" then return nil end
    local v = rawget(headers, "Retry-After") or rawget(headers, "retry-after")
    if v == nil then
        local n = 0
        for k, x in pairs(headers) do
            n = n + 1
            if n > 256 then break end
            if type(k) == "string" and #k == 11 and k:lower() == "retry-after" then v = x end
        end
    end
    if type(v) == "table" then v = v[#v] end
    if type(v) == "number" then v = tostring(v) end
    if type(v) ~= "string" then return nil end
    v = v:match("^%s*(.-)%s*$")
    if v:match("^%d+$") then return tonumber(v) end
    local ngx = rawget(_G, "ngx")
    local t = ngx and ngx.parse_http_time and ngx.parse_http_time(v)
    if t then
        local d = t - ngx.time()
        return d > 0 and d or 0
    end
    return nil
end

local function make_budget(b)
    if type(b) ~= "table" then error("openresty.new: budget must be a table", 3) end
    for k in pairs(b) do
        if not BUDGET_KEYS[k] then error("openresty.new: unknown budget option '" .. tostring(k) .. "'", 3) end
    end
    local dict_name = b.dict
    if type(dict_name) ~= "string" or dict_name == "" then
        budget_error("dict must name a lua_shared_dict (lua_shared_dict NAME SIZE; in nginx.conf)", 3)
    end
    local on_limit = b.on_limit or "wait"
    if on_limit ~= "wait" and on_limit ~= "fail" then budget_error('on_limit must be "wait" or "fail"', 3) end
    local max_wait = check_number(b, "max_wait", 10, 0, 86400)
    local cap = check_number(b, "max_in_flight", nil, 1, 100000, true)
    local slot_ttl = check_number(b, "slot_ttl", 60, 0.001, 86400)
    local ra_cap = check_number(b, "retry_after_cap", 60, 0, 86400)

    local dict                  -- ngx.shared[dict_name], found on first use
    local keys = {}             -- account SID -> { ra = key, slots = { key... } }
    local serial, next_slot = 0, 0 -- per worker: slot tokens, where the next search starts

    local function keys_of(account)
        local k = keys[account]
        if not k then
            k = { ra = "tv:ra:" .. account }
            if cap then
                k.slots = {}
                for i = 1, cap do k.slots[i] = "tv:s:" .. account .. ":" .. i end
            end
            keys[account] = k
        end
        return k
    end

    local function shared(ngx)
        if not dict then
            dict = ngx.shared and ngx.shared[dict_name]
            if not dict then
                error("twilio.verify.openresty: no lua_shared_dict '" .. dict_name .. "' (budget.dict): add "
                      .. "`lua_shared_dict " .. dict_name .. " 1m;` to the http block of nginx.conf", 0)
            end
        end
        return dict
    end

    local function limited(account, what, left)
        return nil, {
            message = "rate limited: account " .. account .. " " .. what .. " (shared budget across nginx workers"
                .. (on_limit == "fail" and ', on_limit = "fail"' or ", max_wait " .. max_wait .. " s") .. "); not sent",
            timeout = true, unsent = true, retry_after = left,
        }
    end

    local budget = {}

    -- Wait for (or fail fast on) the account's budget; -> slot, token | true | nil, err
    function budget.acquire(ngx, account)
        local d = shared(ngx)
        local k = keys_of(account)
        local deadline, poll
        while true do
            local untilt, wait, what = d:get(k.ra), nil, nil
            local now
            if untilt then
                ngx.update_time()
                now = ngx.now()
                if untilt > now then
                    wait = untilt - now
                    what = string.format("is in a Retry-After window for %.3f s more", wait)
                end
            end
            if not wait then
                if not cap then return true end
                serial = serial + 1
                local token = ngx.worker.pid() .. ":" .. serial
                for j = 0, cap - 1 do
                    local i = (next_slot + j) % cap + 1
                    local ok = d:add(k.slots[i], token, slot_ttl)
                    if ok then
                        next_slot = i % cap
                        return i, token
                    end
                end
                poll = poll and math.min(poll * 2, 0.05) or 0.002
                wait = poll
                what = "has " .. cap .. " requests in flight (max_in_flight)"
            end
            if not now then
                ngx.update_time()
                now = ngx.now()
            end
            deadline = deadline or now + max_wait
            local left = untilt and untilt > now and untilt - now or nil -- a Retry-After's wait left
            if on_limit == "fail" or not SLEEP_PHASES[ngx.get_phase()] then return limited(account, what, left) end
            if now + wait > deadline + 1e-3 then
                if left then return limited(account, what, left) end
                if now >= deadline then return limited(account, what, nil) end
                wait = deadline - now
            end
            ngx.sleep(wait)
        end
    end

    function budget.release(account, slot, token)
        if type(slot) ~= "number" then return end
        local key = keys_of(account).slots[slot]
        if dict:get(key) == token then dict:delete(key) end
    end

    -- A 429 with Retry-After: every worker's next request to the account waits until it passes.
    function budget.saw(ngx, account, status, headers)
        if status ~= 429 then return end
        local ra = retry_after_of(headers)
        if not ra then return end
        if ra > ra_cap then ra = ra_cap end
        if ra <= 0 then return end
        ngx.update_time()
        local untilt = ngx.now() + ra
        local d = shared(ngx)
        local key = keys_of(account).ra
        local old = d:get(key)
        if not old or old < untilt then d:set(key, untilt, ra + 1) end
    end

    return budget
end

_M._retry_after_of = retry_after_of -- for the specs

--- Make a transport that sends to an internal location.
--
-- **syntax:** `transport = openresty.new{ location = "/_twilio_verify" }`
--
-- A transport for `verify.new{ transport = ... }` that sends each attempt
-- to the internal location `location` (a prefix location `"<location>/"`).
-- Bad options raise an error (at load time, like a configuration error).
-- @tparam[opt] table opts `location`: the location's prefix (default @{LOCATION})
-- @treturn function the transport: `transport(request) -> response | nil, err`
-- @raise on a bad `opts` (not a table, an unknown key, a bad location)
-- @usage
-- local openresty = require "twilio.verify.openresty"
-- local client = assert(verify.new{ transport = openresty.new{ location = "/_verify_eu" } })
function _M.new(opts)
    local location = _M.LOCATION
    if opts ~= nil then
        if type(opts) ~= "table" then error("openresty.new: opts must be a table", 2) end
        for k in pairs(opts) do
            if k ~= "location" and k ~= "budget" then
                error("openresty.new: unknown option '" .. tostring(k) .. "'", 2)
            end
        end
        if opts.location ~= nil then
            if type(opts.location) ~= "string" or not opts.location:match("^/[%w%-%._~/]*[%w%-%._~]$") then
                error("openresty.new: location must be a path like \"/_twilio_verify\"", 2)
            end
            location = opts.location
        end
    end

    local budget = opts and opts.budget ~= nil and make_budget(opts.budget) or nil
    local accounts = budget and setmetatable({}, { __mode = "k" }) -- client -> its account SID

    local send -- one attempt, through nginx (or libcurl where nginx has no subrequests)
    local function budgeted(req, client)
        local ngx = rawget(_G, "ngx")
        local account = accounts[client]
        if not account then
            account = client:_account_sid()
            accounts[client] = account
        end
        local slot, token = budget.acquire(ngx, account)
        if not slot then return nil, token end
        local ok, res, err = pcall(send, req, client)
        budget.release(account, slot, token)
        if not ok then error(res, 0) end
        if res then budget.saw(ngx, account, res.status, res.headers) end
        return res, err
    end

    local HTTP_GET, HTTP_POST
    -- url -> the subrequest's URI, for the last 256 URLs (a string made
    -- per call costs more on LuaJIT than a table hit)
    local uris, nuris = {}, 0
    send = function(req, client)
        local ngx = rawget(_G, "ngx")
        if not HTTP_GET then HTTP_GET, HTTP_POST = ngx.HTTP_GET, ngx.HTTP_POST end
        local phase = ngx.get_phase()
        if not CAPTURE_PHASES[phase] then
            -- No subrequests here (a timer, init_worker...): libcurl does this
            -- attempt, and it blocks the worker while it runs.
            if not warned_phases[phase] then
                warned_phases[phase] = true
                ngx.log(ngx.WARN, "twilio.verify: no subrequests in the '", phase,
                        "' phase; using libcurl, which blocks this worker while a request runs")
            end
            return client:_http(req)
        end
        local url = req.url
        local uri = uris[url] -- a URL met lately: its subrequest URI is known
        if not uri then
            -- what the C core builds: "http(s)://host/path?query", no "%" or "#"
            -- (the path's start found without a pattern); anything else the long way
            local slash = byte(url, 1) == 104 and find(url, "/", 9, true)
            if slash and not find(url, "[%%#]", slash) and (byte(url, 5) == 58 or byte(url, 6) == 58) then
                uri = location .. sub(url, slash)
                if nuris >= 256 then uris, nuris = {}, 0 end
                uris[url], nuris = uri, nuris + 1
            else
                local path, query = url:match("^https?://[^/?#]+(/[^?#]*)(%??[^#]*)$")
                path = path and normalize_path(path)
                if not path then
                    return nil, { message = "cannot proxy " .. req.method .. " " .. url .. " through nginx",
                                  unsent = true }
                end
                uri = location .. path .. query
            end
        end
        local t = { headers = req.headers }
        local method = req.method
        local copts
        if method == "POST" then
            copts = { method = HTTP_POST, ctx = { twilio_verify = t }, body = req.body or "" }
        else
            copts = { method = method == "GET" and HTTP_GET or ngx[METHODS[method]], ctx = { twilio_verify = t } }
        end
        local res = ngx.location.capture(uri, copts)
        if not t.hooked then
            -- the subrequest did not reach a location running rewrite(): no
            -- credentials were added to it, and nothing can be said about it
            error("twilio.verify.openresty: the subrequest to " .. location ..
                  "/ did not run set_by_lua_block $twilio_verify_authorization { return require(\"twilio.verify"
                  .. ".openresty\").authorization() } (or the older rewrite())"
                  .. " (got status " .. tostring(res.status) .. "); add the internal location of doc/openresty.md", 0)
        end
        if not t.answered then
            -- nginx answered by itself: the Verify API sent no response header
            local status = res.status
            -- sent for sure only when nginx never connected (without the
            -- header filter nothing is known: assume it was sent)
            local connected = last(t.upstream_connect_time)
            local unsent = t.filtered and (connected == nil or connected == "-") or false
            local what
            if not t.filtered then
                what = "no header_filter_by_lua_block { require(\"twilio.verify.openresty\").header_filter() }"
                    .. " in " .. location .. "/, or nginx failed the subrequest"
            elseif status == 504 then
                what = unsent and "timed out connecting to the Verify API" or "timed out waiting for the Verify API"
            elseif status == 502 then
                what = unsent and "could not connect to the Verify API" or "the Verify API closed the connection early"
            else
                what = "nginx answered without reaching the Verify API"
            end
            return nil, {
                message = what .. " (nginx subrequest status " .. tostring(status) .. ", upstream "
                    .. tostring(t.upstream_status or "-") .. ")",
                timeout = status == 504, unsent = unsent,
            }
        end
        if res.truncated then
            return nil, { message = "the response from the Verify API was cut short (nginx subrequest truncated)" }
        end
        return { status = res.status, headers = res.header or {}, body = res.body or "" }
    end
    return budget and budgeted or send
end

--- The default transport, sending to @{LOCATION}.
--
-- **syntax:** `verify.new{ transport = openresty.transport }`
--
-- What `verify.new{}` selects by itself inside nginx.
-- @usage local client = assert(verify.new{ transport = require("twilio.verify.openresty").transport })
-- @field transport
_M.transport = _M.new()

--- The internal location's rewrite handler.
--
-- **syntax:** `rewrite_by_lua_block { require("twilio.verify.openresty").rewrite() }`
--
-- Replaces the headers the subrequest inherited from the client's request
-- with the ones the C core built (Authorization, Accept, User-Agent,
-- Content-Type). A request that is not one of this transport's
-- subrequests gets 403.
-- @usage
-- location /_twilio_verify/ {
--     internal;
--     rewrite_by_lua_block { require("twilio.verify.openresty").rewrite() }
--     proxy_pass https://twilio_verify/;
-- }
function _M.rewrite()
    local ngx = rawget(_G, "ngx")
    local t = ngx.ctx.twilio_verify
    if type(t) ~= "table" or t.hooked or type(t.headers) ~= "table" then
        return ngx.exit(ngx.HTTP_FORBIDDEN) -- not one of ours
    end
    t.hooked = true
    local clear, set = ngx.req.clear_header, ngx.req.set_header
    for name in pairs(ngx.req.get_headers(0, true)) do
        if name:lower() ~= "content-length" then clear(name) end
    end
    for name, value in pairs(t.headers) do set(name, value) end
end

--- The internal location's credentials, for `set_by_lua_block`.
--
-- **syntax:** `set_by_lua_block $twilio_verify_authorization {`
-- `return require("twilio.verify.openresty").authorization() }`
--
-- The faster form of @{rewrite} (no Lua thread of its own, no header
-- copied): answers the Authorization value the C core built for this
-- subrequest, for `proxy_set_header Authorization
-- $twilio_verify_authorization;`, and sets `$twilio_verify_user_agent` and,
-- for a POST, `$twilio_verify_content_type` (declare both first:
-- `set $twilio_verify_user_agent ""; set $twilio_verify_content_type "";`).  With
-- `proxy_pass_request_headers off;` none of the client's headers reach
-- Twilio.  A request that is not one of this transport's subrequests gets
-- `""`: `if ($twilio_verify_authorization = "") { return 403; }`.
-- @treturn string the Authorization header's value, or `""`
-- @usage
-- location /_twilio_verify/ {
--     internal;
--     set $twilio_verify_user_agent "";
--     set $twilio_verify_content_type "";
--     set_by_lua_block $twilio_verify_authorization { return require("twilio.verify.openresty").authorization() }
--     if ($twilio_verify_authorization = "") { return 403; }
--     proxy_pass_request_headers off;
--     proxy_set_header Authorization $twilio_verify_authorization;
--     proxy_set_header User-Agent $twilio_verify_user_agent;
--     proxy_set_header Content-Type $twilio_verify_content_type;
--     proxy_set_header Accept application/json;
--     ...
-- }
function _M.authorization()
    local ngx = rawget(_G, "ngx")
    local t = ngx.ctx.twilio_verify
    if type(t) ~= "table" or t.hooked or type(t.headers) ~= "table" then return "" end
    t.hooked = true
    local h = t.headers
    local var = ngx.var
    var.twilio_verify_user_agent = h["User-Agent"] or ""
    -- a POST's form type; nothing for GET and DELETE ($request_method is
    -- the main request's method, not the subrequest's: no map can say it)
    local ct = h["Content-Type"]
    if ct then var.twilio_verify_content_type = ct end
    return h.Authorization or ""
end

--- The internal location's header filter.
--
-- **syntax:** `header_filter_by_lua_block { require("twilio.verify.openresty").header_filter() }`
--
-- Notes whether the answer came from the Verify API or from nginx (a
-- connect failure, a timeout), so that nginx's own 502/504 pages become
-- transport errors.
-- @usage
-- header_filter_by_lua_block { require("twilio.verify.openresty").header_filter() }
function _M.header_filter()
    local ngx = rawget(_G, "ngx")
    local t = ngx.ctx.twilio_verify
    if type(t) ~= "table" then return end
    local var = ngx.var
    t.filtered = true
    local ht = var.upstream_header_time
    -- one upstream try ("0.012": no list to take the last of) or several
    local lt = ht
    if type(ht) ~= "string" or find(ht, "[,:]") then lt = last(ht) end
    if lt ~= nil and lt ~= "-" then
        t.answered = true -- the Verify API sent the response header
        return
    end
    -- the rest only matters when the Verify API sent no header (the
    -- transport's error path): not read on the way of every answer
    t.upstream_header_time = ht
    t.upstream_status = var.upstream_status
    t.upstream_connect_time = var.upstream_connect_time
end

return _M
