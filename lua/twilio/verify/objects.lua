-- twilio.verify.objects -- part of twilio.verify: resource objects (one
-- implementation for every kind, made from the operation table) and what a
-- value's response said (verify.response_of).
-- @module twilio.verify
local core = require "twilio.verify.core"
local callm = require "twilio.verify.call"
local type, error, setmetatable, getmetatable, pairs, ipairs, tostring, tonumber, select =
    type, error, setmetatable, getmetatable, pairs, ipairs, tostring, tonumber, select
local unpack = table.unpack or unpack

local OPS, raw = callm.OPS, callm.raw
local _M = {}

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

-- Its closures are made here, not in kind_mt: a function that makes one
-- closes upvalues on return (UCLO), which LuaJIT does not compile, and
-- kind_mt is on every call's path.
local function new_mt(client, resource)
    local d = describe[resource] or function(o) return tostring(o.sid) end
    return { __index = kinds[resource], __client = client, __name = "twilio.verify." .. resource,
             __tostring = function(o) return "twilio.verify." .. resource .. " " .. d(o) end }
end

-- The last client's state table, remembered without a C call per object
-- (weak values: it keeps neither the client nor its state alive)
local last = setmetatable({}, { __mode = "v" })
local function kind_mt(client, resource)
    local st -- per-client table owned by the client userdata
    if last.c == client then
        st = last.st
    else
        st = client:_state()
        last.c, last.st = client, st
    end
    local key = mt_key[resource] or (resource .. "_mt")
    local mt = st[key]
    if not mt then
        mt = new_mt(client, resource)
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
local expand = core._meta_expand
_M.response_headers = header_names

-- verify.response_of (documented in twilio/verify.lua)
function _M.response_of(value)
    local s = value ~= nil and responses[value]
    if not s then return nil end
    -- a success's headers are kept as they came (a libcurl answer's raw
    -- lines, "HTTP/..."; a Lua transport's { status, headers }): read on the first ask
    if type(s) == "table" or s:byte(1) == 72 then
        s = expand(s)
        responses[value] = s
    end
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


-- factor:verify (documented in twilio/verify.lua)
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


_M.kinds, _M.RESOURCES, _M.bind, _M.kind_mt, _M.client_of, _M.refresh = kinds, RESOURCES, bind, kind_mt, client_of,
    refresh
return _M
