-- twilio.verify.pages -- part of twilio.verify: pages of any list with
-- their navigation, the lazy iterators (client:<list key>), and the errors
-- they raise (verify.error_of).
-- @module twilio.verify
local core = require "twilio.verify.core"
local callm = require "twilio.verify.call"
local objects = require "twilio.verify.objects"
local type, error, setmetatable, getmetatable, pairs, ipairs, tostring, tonumber, select, rawget =
    type, error, setmetatable, getmetatable, pairs, ipairs, tostring, tonumber, select, rawget
local unpack = table.unpack or unpack
local math_min, math_floor = math.min, math.floor

local OPS, raw, err_mt, call, make_error = callm.OPS, callm.raw, callm.err_mt, callm.call, callm.make_error
local pack = table.pack or function(...) return { n = select("#", ...), ... } end
local kind_mt = objects.kind_mt
local Client = core.Client
local _M = {}

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


-- page:next_page, page:previous_page (documented in twilio/verify.lua)
function Page:next_page() return follow(self, "next_page_url") end

function Page:previous_page() return follow(self, "previous_page_url") end


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

-- verify.error_of (documented in twilio/verify.lua)
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


_M.Page, _M.list_ops, _M.make_page, _M.new_iter = Page, list_ops, make_page, new_iter
return _M
