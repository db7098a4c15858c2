-- twilio.verify.call -- part of twilio.verify (not a module of its own to
-- use): how an operation runs -- one C call on the libcurl path, or a thin
-- Lua driver of the C call engine over a Lua transport -- and the raw
-- operations (plain tables) every other part builds on.
-- @module twilio.verify
local core = require "twilio.verify.core"
local type, error, setmetatable, getmetatable, pairs, ipairs, rawget, pcall =
    type, error, setmetatable, getmetatable, pairs, ipairs, rawget, pcall

local _M = {}
local Client = core.Client -- methods of the client userdata (C)

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
local blocking_sleep = core.sleep

local function sleeper()
    local ngx = rawget(_G, "ngx")
    if ngx and ngx.sleep and ngx.get_phase and ngx.get_phase() ~= "init" then return ngx.sleep end
    return blocking_sleep
end

-- verify.curl_transport (documented in twilio/verify.lua)
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
-- A client's transport is set by verify.new and never changes: looked up
-- once per client, not with a C call per operation.  (The registry holds
-- the function as long as the client lives, so weak keys leak nothing.)
local transports = setmetatable({}, { __mode = "k" })
local function call(self, name, group, cont, ...)
    local transport = transports[self]
    if transport == nil then
        transport = self:_transport() or false
        transports[self] = transport
    end
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


_M.OPS, _M.raw, _M.call, _M.sleeper, _M.make_error, _M.err_mt, _M.op_named = OPS, raw, call, sleeper, make_error,
    err_mt, op_named
return _M
