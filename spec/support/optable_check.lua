-- spec/support/optable_check.lua -- the operation table (core.operations())
-- held against the OpenAPI description (spec/fixtures/twilio_verify_v2.json).
--
--   local oc = require "support.optable_check"
--   local problems = oc.check(core.operations(), oc.load(path), oc.SCOPE)
--
-- check() is pure: it reads its arguments (never changes them) and returns
-- an array of strings, one per disagreement, each naming the row
-- ("fetch_factor (FetchFactor)") and the wire key it is about.  Empty array:
-- the table and the description agree.
--
-- What must agree: the operationId exists; method and path; path parameters
-- (keys in order, SID pattern and 34-character length, identity); the set
-- of query/form wire keys both ways; where each travels (query/form);
-- required flags; types; enums (as sets); SID patterns; integer
-- minimum/maximum and string minLength/maxLength stated by the description;
-- the response shape (page: <list_key> array + meta object; instance: a
-- $ref'd schema; none: 204); every in-scope operation of the description has
-- a row; Lua names are the wire keys in snake case; names are verb_resource.
--
-- A rule the description does not state (a bound, an enum or pattern where
-- the description has a plain string, a narrower type) is accepted only when
-- the table's `rule` says where it comes from.
local M = {}

-- The scope: every operation of the description (`all`), but for those
-- named in `except_ids` (operationId -> why; none today: the Passkeys
-- rows of issue 21 were the last).  A scope may instead list
-- paths: a description path is in it when it equals an `exact` path, or
-- equals/extends (by "/...") a `prefixes` path, and does not equal/extend
-- an `exclude` path.
M.EXCEPT = {
}
M.SCOPE = { all = true, except_ids = M.EXCEPT }

M.METHODS = { "get", "post", "delete", "put", "patch" }

function M.load(path)
    local cjson = require "cjson"
    local f = assert(io.open(path, "rb"))
    local s = f:read("a")
    f:close()
    return cjson.decode(s)
end

-- "Totp.Issuer" -> "totp_issuer", "Psd2Enabled" -> "psd2_enabled",
-- "Passkeys.RelyingParty.Id" -> "passkeys_relying_party_id".
function M.snake(key)
    local parts = {}
    for seg in key:gmatch("[^.]+") do
        seg = seg:gsub("(%u)(%u%l)", "%1_%2")       -- "HTTPServer" -> "HTTP_Server"
        seg = seg:gsub("([%l%d])(%u)", "%1_%2")     -- "psd2Enabled" -> "psd2_Enabled"
        parts[#parts + 1] = seg:lower()
    end
    return table.concat(parts, "_")
end

local function num(v)
    if type(v) == "number" and v == math.floor(v) and v > -2 ^ 53 and v < 2 ^ 53 then
        return string.format("%d", v) -- integers print alike on 5.1/LuaJIT (doubles) and 5.3+
    end
    return tostring(v)
end

local function has_rule(x)
    return type(x.rule) == "string" and x.rule:find("%S") ~= nil
end

local function in_scope(path, scope, id)
    if scope.all then return not (id and (scope.except_ids or {})[id]) end
    local function under(p, base) return p == base or p:sub(1, #base + 1) == base .. "/" end
    for _, e in ipairs(scope.exclude or {}) do
        if under(path, e) then return false end
    end
    for _, e in ipairs(scope.exact or {}) do
        if path == e then return true end
    end
    for _, e in ipairs(scope.prefixes or {}) do
        if under(path, e) then return true end
    end
    return false
end
M.in_scope = in_scope

-- Follow local $refs ("#/components/schemas/x"); returns the target and
-- the last ref's name.
local function deref(doc, s)
    local name
    local guard = 0
    while type(s) == "table" and type(s["$ref"]) == "string" and guard < 16 do
        local ref = s["$ref"]
        local t = doc
        for part in ref:gsub("^#/", ""):gmatch("[^/]+") do
            t = type(t) == "table" and t[part] or nil
        end
        name = ref
        s = t
        guard = guard + 1
    end
    return s, name
end

local function set_of(list)
    local s = {}
    for _, v in ipairs(list or {}) do s[v] = true end
    return s
end

local function same_set(a, b)
    local sa, sb = set_of(a), set_of(b)
    for k in pairs(sa) do if not sb[k] then return false end end
    for k in pairs(sb) do if not sa[k] then return false end end
    return true
end

local function list_str(l)
    local t = {}
    for _, v in ipairs(l or {}) do t[#t + 1] = tostring(v) end
    table.sort(t)
    return "{" .. table.concat(t, ", ") .. "}"
end

local function sid_prefix(pattern)
    return type(pattern) == "string" and pattern:match("^%^(%u%u)%[0%-9a%-fA%-F%]{32}%$$") or nil
end

-- What the description's schema means, in the table's terms:
-- { type = <table type>, enum, pattern, prefix, min, max, array, items_max,
--   plain = true when it is a string without format/pattern/enum }.
local function describe(doc, schema)
    local s, ref = deref(doc, schema)
    if type(s) ~= "table" then return { type = "?", unresolved = ref } end
    local d = {}
    if s.type == "array" then
        local it = describe(doc, s.items or {})
        it.array = true
        it.min_items, it.max_items = s.minItems, s.maxItems
        return it
    end
    if s.enum then
        d.type, d.enum = "enum", s.enum
    elseif s.type == "integer" or s.type == "number" then
        d.type = s.type == "integer" and "integer" or "number"
        d.min, d.max = s.minimum, s.maximum
    elseif s.type == "boolean" then
        d.type = "boolean"
    elseif s.type == "string" then
        if s.format == "date-time" then
            d.type = "date-time"
        elseif s.pattern and sid_prefix(s.pattern) then
            d.type, d.pattern, d.prefix = "sid", s.pattern, sid_prefix(s.pattern)
        elseif s.pattern or s.format then
            d.type, d.pattern, d.format = "string", s.pattern, s.format
        else
            d.type, d.plain = "string", true
        end
        d.min, d.max = s.minLength, s.maxLength
    elseif s.type == nil and not s.properties then
        d.type = "json" -- `{}`: any value (the API takes a JSON string)
    else
        d.type = tostring(s.type)
    end
    return d
end
M.describe = describe

-- Narrower table types the description types as a plain string: accepted
-- with a rule.
local REFINES_STRING = { enum = true, identity = true, json = true, sid = true }

-- One query/form parameter of a row against its description.
-- `req` is the description's required flag.
-- `want_name`: the Lua name the row must give it (a JSON body's member: its
-- dotted path of JSON names; else the wire key in snake case).
local function check_param(add, p, d, req, loc, want_name)
    local key = want_name or p.key
    local function bad(fmt, ...) add(key, fmt:format(...)) end
    if p.location ~= loc then bad("location is %s, description says %s", tostring(p.location), loc) end
    if (p.required == true) ~= (req == true) then
        bad("required is %s, description says %s", tostring(p.required == true), tostring(req == true))
    end
    want_name = want_name or M.snake(p.key)
    if p.name ~= want_name then bad("Lua name %s, expected %s", tostring(p.name), want_name) end
    if d.unresolved then bad("description schema %s does not resolve", d.unresolved) return end
    -- arrays
    if (p.array == true) ~= (d.array == true) then
        bad("array is %s, description %s", tostring(p.array == true), d.array and "is an array" or "is not an array")
    end
    if p.max_items ~= nil and p.max_items ~= 0 then
        if d.max_items ~= nil then
            if p.max_items ~= d.max_items then bad("max_items %s, description maxItems %s", num(p.max_items), num(d.max_items)) end
        elseif not has_rule(p) then
            bad("max_items %s not in the description and no rule", num(p.max_items))
        end
    elseif d.max_items ~= nil then
        bad("no max_items, description maxItems %s", num(d.max_items))
    end
    -- type
    local refined = false
    if p.type ~= d.type then
        if d.plain and REFINES_STRING[p.type] then
            refined = true
            if not has_rule(p) then
                bad("type %s where the description has a plain string, and no rule", tostring(p.type))
            end
        else
            bad("type %s, description %s", tostring(p.type), tostring(d.type))
        end
    end
    -- enum
    if d.enum then
        if not p.enum then
            bad("no enum, description enum %s", list_str(d.enum))
        elseif not same_set(p.enum, d.enum) then
            -- a documented narrowing (a subset, with a rule) is allowed
            local subset = true
            for _, v in ipairs(p.enum) do
                local found = false
                for _, w in ipairs(d.enum) do found = found or v == w end
                subset = subset and found
            end
            if not (subset and has_rule(p)) then
                bad("enum %s, description enum %s", list_str(p.enum), list_str(d.enum))
            end
        end
    elseif p.enum and not has_rule(p) then
        bad("enum %s not in the description and no rule", list_str(p.enum))
    end
    -- SID pattern
    if d.type == "sid" then
        if p.pattern ~= d.pattern then bad("pattern %s, description %s", tostring(p.pattern), d.pattern) end
        if p.prefix ~= d.prefix then bad("prefix %s, description %s", tostring(p.prefix), d.prefix) end
        if d.min ~= 34 or d.max ~= 34 then
            bad("description SID length is %s..%s, not 34", num(d.min), num(d.max))
        end
    elseif d.pattern then
        if p.pattern ~= d.pattern then bad("pattern %s, description %s", tostring(p.pattern), d.pattern) end
    elseif p.pattern and not has_rule(p) then
        bad("pattern %s not in the description and no rule", p.pattern)
    end
    -- bounds (integer value range; string/json length range)
    local ranged = p.type == "integer" or p.type == "string" or p.type == "json"
    if ranged and not (d.type == "sid") then
        local what_min = p.type == "integer" and "minimum" or "minLength"
        local what_max = p.type == "integer" and "maximum" or "maxLength"
        local tmin, tmax = p.min, p.max
        if p.type ~= "integer" then
            -- a length bound of 0 is no bound
            if tmin == 0 then tmin = nil end
            if tmax == 0 then tmax = nil end
        end
        if d.min ~= nil then
            if tmin ~= d.min then bad("min %s, description %s %s", num(tmin), what_min, num(d.min)) end
        elseif tmin ~= nil and not has_rule(p) then
            bad("min %s not in the description (no %s) and no rule", num(tmin), what_min)
        end
        if d.max ~= nil then
            if tmax ~= d.max then bad("max %s, description %s %s", num(tmax), what_max, num(d.max)) end
        elseif tmax ~= nil and not has_rule(p) then
            bad("max %s not in the description (no %s) and no rule", num(tmax), what_max)
        end
    end
    -- a format (E.164, a country code...): the description's own (its
    -- `format: iso-country-code`), or a rule saying where it comes from
    if p.format and not has_rule(p) and not (p.format == "country" and d.format == "iso-country-code") then
        bad("format %s not in the description and no rule", tostring(p.format))
    end
    -- a rule on a param that overrides nothing is harmless; an empty one is not
    if p.rule ~= nil and not has_rule(p) then bad("rule is empty") end
    return refined
end

-- The description's operations: id -> {path, method, op, item}.
local function index_description(doc)
    local byid, list = {}, {}
    for path, item in pairs(doc.paths or {}) do
        for _, m in ipairs(M.METHODS) do
            local op = item[m]
            if type(op) == "table" and op.operationId then
                local e = { id = op.operationId, path = path, method = m:upper(), op = op, item = item }
                if byid[e.id] then e.duplicate = true end
                byid[e.id] = e
                list[#list + 1] = e
            end
        end
    end
    table.sort(list, function(a, b) return a.path .. a.method < b.path .. b.method end)
    return byid, list
end

local function placeholders(path)
    local t = {}
    for k in path:gmatch("{([^}]+)}") do t[#t + 1] = k end
    return t
end

local VERB_METHOD = { fetch = "GET", list = "GET", create = "POST", update = "POST", delete = "DELETE" }

local function check_response(add, doc, row, e)
    local responses = e.op.responses or {}
    if row.returns == "none" then
        if not responses["204"] then add(nil, "returns none, but the description has no 204 response") end
        return
    end
    local code = responses["200"] and "200" or responses["201"] and "201" or nil
    if not code then
        add(nil, ("returns %s, but the description has no 200/201 response"):format(tostring(row.returns)))
        return
    end
    local content = responses[code].content or {}
    local media = content["application/json"]
    local schema = media and media.schema
    if not schema then add(nil, "description response " .. code .. " has no application/json schema") return end
    if row.returns == "instance" then
        if type(schema["$ref"]) ~= "string" and type(schema.properties) == "table" and schema.properties.sid then
            return -- an inline instance schema (the Passkeys operations)
        end
        if type(schema["$ref"]) ~= "string" then
            add(nil, "returns instance, but the description's " .. code .. " response is not a $ref'd schema")
        else
            local s = deref(doc, schema)
            if type(s) ~= "table" then add(nil, "response schema " .. schema["$ref"] .. " does not exist") end
            if type(s) == "table" and s.properties and s.properties.meta and not (s.properties.sid) then
                add(nil, "returns instance, but the description's response looks like a page")
            end
        end
    elseif row.returns == "page" then
        local s = deref(doc, schema)
        local props = type(s) == "table" and s.properties or {}
        local lk = row.list_key
        if type(lk) ~= "string" then
            add(nil, "returns page without a list_key")
        else
            local l = deref(doc, props[lk])
            if type(l) ~= "table" or l.type ~= "array" then
                add(lk, "list_key " .. lk .. " is not an array property of the description's 200 response")
            end
        end
        local meta = deref(doc, props.meta)
        if type(meta) ~= "table" or meta.type ~= "object" then
            add("meta", "the description's 200 response has no meta object")
        end
    else
        add(nil, "returns is " .. tostring(row.returns))
    end
end

local function check_row(problems, doc, row, e)
    local label = ("%s (%s)"):format(tostring(row.name), tostring(row.openapi_id))
    local function add(key, msg)
        problems[#problems + 1] = key and ("%s: %s: %s"):format(label, key, msg) or ("%s: %s"):format(label, msg)
    end
    -- names
    if row.name ~= ("%s_%s"):format(tostring(row.verb), tostring(row.resource)) then
        add(nil, ("name is not <verb>_<resource> (%s_%s)"):format(tostring(row.verb), tostring(row.resource)))
    end
    if VERB_METHOD[row.verb] and row.method ~= VERB_METHOD[row.verb] then
        add(nil, ("verb %s with method %s"):format(row.verb, tostring(row.method)))
    end
    if not e then
        add(nil, "operationId " .. tostring(row.openapi_id) .. " is not in the description")
        return
    end
    if e.duplicate then add(nil, "operationId occurs more than once in the description") end
    if row.method ~= e.method then
        add(nil, ("method %s, description %s"):format(tostring(row.method), e.method))
    end
    if row.path ~= e.path then
        add(nil, ("path %s, description %s"):format(tostring(row.path), e.path))
    end

    -- parameters of the description, by location
    local dpath, dquery = {}, {}
    local function take(list)
        for _, prm in ipairs(list or {}) do
            prm = deref(doc, prm)
            if prm.name and prm["in"] == "path" then dpath[prm.name] = prm
            elseif prm.name and prm["in"] == "query" then dquery[prm.name] = prm
            elseif prm.name then add(prm.name, "description parameter in " .. tostring(prm["in"]) .. " is not handled") end
        end
    end
    take(e.item.parameters)
    take(e.op.parameters)
    local dform, dform_req = {}, {}
    local rb = deref(doc, e.op.requestBody)
    local json_media = type(rb) == "table" and rb.content and rb.content["application/json"] or nil
    if (row.body == "json") ~= (json_media ~= nil) then
        add(nil, ("body is %s, the description's request body is %s"):format(tostring(row.body),
            json_media and "application/json" or "not JSON"))
    end
    if json_media then
        -- a JSON body: its members both ways, objects recursively
        local function members(list, schema, prefix)
            schema = deref(doc, schema) or {}
            local props, req = schema.properties or {}, set_of(schema.required)
            local seen_m = {}
            for _, p in ipairs(list or {}) do
                local path = prefix .. p.key
                seen_m[p.key] = true
                local d = props[p.key]
                if not d then
                    add(path, "member not in the description's body")
                elseif p.type == "object" then
                    local ds = deref(doc, d) or {}
                    if ds.type ~= "object" then add(path, "object, the description has " .. tostring(ds.type)) end
                    if p.location ~= "json" then add(path, "location is " .. tostring(p.location) .. ", not json") end
                    if (p.required == true) ~= (req[p.key] == true) then add(path, "required differs") end
                    if p.name ~= path then add(path, "Lua name " .. tostring(p.name) .. ", expected " .. path) end
                    members(p.fields, ds, path .. ".")
                else
                    check_param(add, p, describe(doc, d), req[p.key], "json", path)
                end
            end
            local missing_m = {}
            for k in pairs(props) do if not seen_m[k] then missing_m[#missing_m + 1] = prefix .. k end end
            table.sort(missing_m)
            for _, k in ipairs(missing_m) do add(k, "description member missing from the table") end
        end
        members(row.params, json_media.schema, "")
    elseif type(rb) == "table" and rb.content then
        local media = rb.content["application/x-www-form-urlencoded"]
        if not media then
            add(nil, "description request body is not application/x-www-form-urlencoded")
        else
            local s = deref(doc, media.schema) or {}
            for k, v in pairs(s.properties or {}) do dform[k] = v end
            dform_req = set_of(s.required)
        end
    end

    -- path parameters: the row's, the template's and the description's agree
    local tpl = placeholders(row.path or "")
    local pps = row.path_params or {}
    if #pps ~= #tpl then add(nil, ("%d path params for %d placeholders in %s"):format(#pps, #tpl, tostring(row.path))) end
    local seen_pp = {}
    for i, pp in ipairs(pps) do
        local key = pp.key
        seen_pp[key] = true
        if tpl[i] ~= key then add(key, ("path param %d is %s, the template has %s"):format(i, key, tostring(tpl[i]))) end
        if pp.name ~= M.snake(key) then add(key, ("Lua name %s, expected %s"):format(tostring(pp.name), M.snake(key))) end
        local dp = dpath[key]
        if not dp then
            add(key, "path param not in the description")
        else
            if dp.required ~= true then add(key, "description path param is not required") end
            local d = describe(doc, dp.schema or {})
            if pp.type == "sid" and d.plain then
                -- a SID where the description has a plain string (a verification's
                -- {Sid}): a refinement, accepted with its rule
                if not has_rule(pp) then add(key, "table SID where the description has a plain string, and no rule") end
            elseif pp.type == "sid" then
                if d.type ~= "sid" then
                    add(key, "table SID, description has no SID pattern (" .. tostring(d.type) .. ")")
                else
                    if pp.pattern ~= d.pattern then add(key, ("pattern %s, description %s"):format(tostring(pp.pattern), d.pattern)) end
                    if pp.prefix ~= d.prefix then add(key, ("prefix %s, description %s"):format(tostring(pp.prefix), d.prefix)) end
                    if d.min ~= 34 or d.max ~= 34 then
                        add(key, ("description SID length is %s..%s, not 34"):format(num(d.min), num(d.max)))
                    end
                end
            elseif pp.type == "identity" then
                if not d.plain then
                    add(key, "table identity, description " .. tostring(d.type) .. " is not a plain string")
                end
                if not has_rule(pp) then add(key, "identity rule not in the description and no rule") end
            else -- an enum or a plain string: checked as any parameter is
                check_param(add, pp, d, true, "path")
            end
        end
    end
    for key in pairs(dpath) do
        if not seen_pp[key] then add(key, "description path param missing from the table") end
    end

    -- query/form parameters: the set of wire keys both ways
    local seen = {}
    for _, p in ipairs(json_media and {} or row.params or {}) do
        local key = p.key
        if seen[key] then add(key, "wire key occurs twice in the row") end
        seen[key] = true
        local dq, df = dquery[key], dform[key]
        if dq then
            check_param(add, p, describe(doc, dq.schema or {}), dq.required, "query")
        elseif df then
            check_param(add, p, describe(doc, df), dform_req[key], "form")
        else
            add(key, "table key not in the description")
        end
    end
    local missing = {}
    for key in pairs(dquery) do if not seen[key] then missing[#missing + 1] = key end end
    for key in pairs(dform) do if not seen[key] then missing[#missing + 1] = key end end
    table.sort(missing)
    for _, key in ipairs(missing) do add(key, "description key missing from the table") end

    check_response(add, doc, row, e)
end

function M.check(ops, doc, scope)
    scope = scope or M.SCOPE
    local problems = {}
    local byid, list = index_description(doc)
    local covered = {}
    local names = {}
    for i, row in ipairs(ops) do
        if names[row.name] then
            problems[#problems + 1] = ("%s: row %d repeats the name of row %d"):format(tostring(row.name), i, names[row.name])
        end
        names[row.name] = names[row.name] or i
        local e = byid[row.openapi_id]
        if e and covered[row.openapi_id] then
            problems[#problems + 1] = ("%s (%s): a second row for the same operationId (first: %s)")
                :format(tostring(row.name), row.openapi_id, covered[row.openapi_id])
        end
        if e then
            covered[row.openapi_id] = covered[row.openapi_id] or row.name
            if not in_scope(e.path, scope, e.id) then
                problems[#problems + 1] = ("%s (%s): path %s is outside the scope"):format(tostring(row.name), row.openapi_id, e.path)
            end
        end
        check_row(problems, doc, row, e)
    end
    for _, e in ipairs(list) do
        if in_scope(e.path, scope, e.id) and not covered[e.id] then
            problems[#problems + 1] = ("missing in-scope operation %s (%s %s)"):format(e.id, e.method, e.path)
        end
    end
    return problems
end

-- The overrides a row makes: every path param / param whose rule the
-- description does not state (so it must carry a `rule`).  Returns an
-- array of { op = name, key = wire key, what = text, rule = the rule }.
function M.overrides(ops, doc)
    local byid = index_description(doc)
    local out = {}
    for _, row in ipairs(ops) do
        local e = byid[row.openapi_id]
        if e then
            local probe = {}
            -- re-run the row's check with rules stripped: every complaint
            -- that appears only without the rules is an override
            local stripped = { name = row.name, verb = row.verb, resource = row.resource, body = row.body,
                openapi_id = row.openapi_id, method = row.method, path = row.path,
                returns = row.returns, list_key = row.list_key, path_params = {}, params = {} }
            for i, pp in ipairs(row.path_params or {}) do
                local c = {}
                for k, v in pairs(pp) do c[k] = v end
                c.rule = nil
                stripped.path_params[i] = c
            end
            for i, p in ipairs(row.params or {}) do
                local c = {}
                for k, v in pairs(p) do c[k] = v end
                c.rule = nil
                stripped.params[i] = c
            end
            local with, without = {}, {}
            check_row(with, doc, row, e)
            check_row(without, doc, stripped, e)
            local had = set_of(with)
            local rules = {}
            for _, pp in ipairs(row.path_params or {}) do rules[pp.key] = pp.rule end
            for _, p in ipairs(row.params or {}) do rules[p.key] = p.rule end
            for _, msg in ipairs(without) do
                if not had[msg] then
                    local key = msg:match("^[^:]+: ([^:]+): ")
                    probe[#probe + 1] = { op = row.name, key = key, what = msg, rule = key and rules[key] }
                end
            end
            for _, o in ipairs(probe) do out[#out + 1] = o end
        end
    end
    return out
end

-- The description's own text about a parameter (its `description`, or its
-- schema's), by operationId and wire key; nil when there is none.
local function prose(doc, e, key)
    local texts = {}
    local function push(x)
        if type(x) == "table" then
            if type(x.description) == "string" then texts[#texts + 1] = x.description end
            local s = deref(doc, x.schema or x)
            if type(s) == "table" and s ~= x and type(s.description) == "string" then texts[#texts + 1] = s.description end
        end
    end
    for _, list in ipairs({ e.item.parameters or {}, e.op.parameters or {} }) do
        for _, prm in ipairs(list) do
            prm = deref(doc, prm)
            if prm.name == key then push(prm) end
        end
    end
    local rb = deref(doc, e.op.requestBody)
    local media = type(rb) == "table" and rb.content and rb.content["application/x-www-form-urlencoded"]
    local s = media and deref(doc, media.schema)
    if s and s.properties and s.properties[key] then push(s.properties[key]) end
    return #texts > 0 and table.concat(texts, "\n") or nil
end

local function norm(t)
    return (t:gsub("`", ""):gsub("%s+", " "):lower())
end

-- Rules that cite the description's prose (`description: "quoted text"`,
-- "..." between fragments) must quote text the description really has for
-- that parameter of that operation.  Returns problems (strings).
function M.rule_sources(ops, doc)
    local byid = index_description(doc)
    local problems = {}
    for _, row in ipairs(ops) do
        local e = byid[row.openapi_id]
        local items = {}
        for _, pp in ipairs(row.path_params or {}) do items[#items + 1] = pp end
        for _, p in ipairs(row.params or {}) do items[#items + 1] = p end
        for _, p in ipairs(items) do
            local quote = type(p.rule) == "string" and p.rule:match('^description:%s*"(.-)"')
            if e and quote then
                local text = prose(doc, e, p.key)
                local label = ("%s (%s): %s"):format(row.name, row.openapi_id, p.key)
                if not text then
                    problems[#problems + 1] = label .. ": rule cites the description, which has no prose for it"
                else
                    local hay = norm(text)
                    for frag in (quote .. "..."):gmatch("(.-)%.%.%.") do
                        frag = norm(frag):gsub("^%s+", ""):gsub("%s+$", "")
                        if frag ~= "" and not hay:find(frag, 1, true) then
                            problems[#problems + 1] = ("%s: rule quotes %q, not in the description's text %q")
                                :format(label, frag, text)
                        end
                    end
                end
            end
        end
    end
    return problems
end

return M
