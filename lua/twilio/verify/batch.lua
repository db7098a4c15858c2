-- twilio.verify.batch -- part of twilio.verify: client:batch, on the
-- libcurl multi engine or over a Lua transport.
-- @module twilio.verify
local core = require "twilio.verify.core"
local callm = require "twilio.verify.call"
local objects = require "twilio.verify.objects"
local pages = require "twilio.verify.pages"
local type, error, setmetatable, getmetatable, pairs, ipairs, tostring, rawget, pcall =
    type, error, setmetatable, getmetatable, pairs, ipairs, tostring, rawget, pcall
local unpack = table.unpack or unpack
local math_min, math_floor = math.min, math.floor

local OPS, call, op_named = callm.OPS, callm.call, callm.op_named
local kind_mt = objects.kind_mt
local new_iter = pages.new_iter
local Client = core.Client

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

-- client:batch (documented in twilio/verify.lua)
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
    -- each answer comes over into res as it succeeds (b:take), so the C
    -- batch never holds the parsed answers of every op at once
    local res = {}
    -- progress runs here, between libcurl steps, never inside libcurl
    local ok, perr = pcall(function()
        while true do
            local finished, serr = b:step(50)
            if finished == nil then error(serr, 0) end
            b:take(res)
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
    b:results(res)
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


return {}
