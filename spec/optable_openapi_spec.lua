-- The operation table (csrc/tv_ops.c, as core.operations()) held against the
-- vendored OpenAPI description of Verify v2 (spec/fixtures/twilio_verify_v2.json,
-- MIT: spec/fixtures/LICENSE.twilio-oai).  The comparison itself is
-- spec/support/optable_check.lua.
local core = require "twilio.verify.core"
local oc = require "support.optable_check"

local FIXTURE = "spec/fixtures/twilio_verify_v2.json"

local function report(title, problems)
    if #problems > 0 then
        io.stderr:write(("\n%s (%d):\n  %s\n"):format(title, #problems, table.concat(problems, "\n  ")))
    end
    return problems
end

-- A fresh copy of the table (operations() builds new tables each call).
local function ops() return core.operations() end

local function row(t, name)
    for _, r in ipairs(t) do if r.name == name then return r end end
    error("no row " .. name)
end

local function param(r, key)
    for _, p in ipairs(r.params) do if p.key == key then return p end end
    error("no param " .. key .. " in " .. r.name)
end

local function path_param(r, key)
    for _, p in ipairs(r.path_params) do if p.key == key then return p end end
    error("no path param " .. key .. " in " .. r.name)
end

-- Problems mentioning every one of the given strings (plain find).
local function matching(problems, ...)
    local out = {}
    for _, p in ipairs(problems) do
        local all = true
        for i = 1, select("#", ...) do
            if not p:find((select(i, ...)), 1, true) then all = false break end
        end
        if all then out[#out + 1] = p end
    end
    return out
end

describe("operation table vs the OpenAPI description", function()
    local doc

    setup(function()
        doc = oc.load(FIXTURE)
    end)

    it("loads the vendored description (and its licence)", function()
        assert.is_table(doc.paths)
        assert.is_table(doc.components.schemas)
        local f = assert(io.open("spec/fixtures/LICENSE.twilio-oai"))
        local lic = f:read("a")
        f:close()
        assert.truthy(lic:find("MIT License", 1, true))
    end)

    describe("helpers", function()
        it("snake-cases wire keys", function()
            assert.equal("totp_issuer", oc.snake("Totp.Issuer"))
            assert.equal("config_time_step", oc.snake("Config.TimeStep"))
            assert.equal("psd2_enabled", oc.snake("Psd2Enabled"))
            assert.equal("whatsapp_msg_service_sid", oc.snake("Whatsapp.MsgServiceSid"))
            assert.equal("passkeys_relying_party_id", oc.snake("Passkeys.RelyingParty.Id"))
            assert.equal("do_not_share_warning_enabled", oc.snake("DoNotShareWarningEnabled"))
            assert.equal("service_sid", oc.snake("ServiceSid"))
        end)

        it("knows the scope: every operation of the description", function()
            local S = oc.SCOPE
            assert.is_true(oc.in_scope("/v2/Services", S, "CreateService"))
            assert.is_true(oc.in_scope("/v2/Services/{ServiceSid}/Verifications", S, "CreateVerification"))
            assert.is_true(oc.in_scope("/v2/Attempts/Summary", S, "FetchVerificationAttemptsSummary"))
            assert.is_true(oc.in_scope("/v2/SafeList/Numbers/{PhoneNumber}", S, "FetchSafelist"))
            assert.is_true(oc.in_scope("/v2/Services/{ServiceSid}/Passkeys/Factors", S, "CreateNewFactorPasskey"))
            assert.same({}, oc.EXCEPT, "no operation of the description is excluded")
            -- a path scope still works (the older form)
            local P = { prefixes = { "/v2/Services/{ServiceSid}/Entities" }, exact = { "/v2/Services" } }
            assert.is_true(oc.in_scope("/v2/Services/{ServiceSid}/Entities/{Identity}", P))
            assert.is_false(oc.in_scope("/v2/Services/{ServiceSid}/EntitiesX", P))
        end)

        it("every operation of the description has a row", function()
            local rows = {}
            for _, r in ipairs(ops()) do rows[r.openapi_id] = true end
            local missing, n = {}, 0
            for _, item in pairs(doc.paths) do
                for _, m in ipairs(oc.METHODS) do
                    local op = item[m]
                    if type(op) == "table" and op.operationId then
                        n = n + 1
                        if not rows[op.operationId] then
                            missing[#missing + 1] = op.operationId
                        end
                    end
                end
            end
            assert.equal(57, n, "the description's operations")
            assert.same({}, missing)
        end)
    end)

    it("(a) every row agrees with the description, and every in-scope operation has a row", function()
        local problems = report("operation table vs OpenAPI", oc.check(ops(), doc, oc.SCOPE))
        assert.same({}, problems)
    end)

    describe("(b) fails on a mutated table", function()
        local function problems_after(mutate, scope)
            local t = ops()
            mutate(t)
            return oc.check(t, doc, scope or oc.SCOPE)
        end

        local function expect(problems, ...)
            local m = matching(problems, ...)
            assert(#m > 0, ("no problem mentions %s; got:\n  %s")
                :format(table.concat({ ... }, " + "), table.concat(problems, "\n  ")))
            return m
        end

        -- Only the mutation's own problems: the real table's, if any, are (a)'s.
        local baseline
        local function new_problems(problems)
            baseline = baseline or oc.check(ops(), doc, oc.SCOPE)
            local old = {}
            for _, p in ipairs(baseline) do old[p] = true end
            local out = {}
            for _, p in ipairs(problems) do if not old[p] then out[#out + 1] = p end end
            return out
        end

        it("a wire key renamed", function()
            local p = new_problems(problems_after(function(t)
                param(row(t, "update_factor"), "Config.TimeStep").key = "Config.Timestep"
            end))
            expect(p, "update_factor", "Config.Timestep", "not in the description")
            expect(p, "update_factor", "Config.TimeStep", "missing from the table")
        end)

        it("a key dropped from a row", function()
            local p = new_problems(problems_after(function(t)
                local r = row(t, "create_service")
                for i, x in ipairs(r.params) do
                    if x.key == "Whatsapp.From" then table.remove(r.params, i) break end
                end
            end))
            expect(p, "create_service", "Whatsapp.From", "missing from the table")
        end)

        it("an enum value changed", function()
            local p = new_problems(problems_after(function(t)
                local e = param(row(t, "list_challenge"), "Status").enum
                for i, v in ipairs(e) do if v == "expired" then e[i] = "expire" end end
            end))
            expect(p, "list_challenge", "Status", "enum")
        end)

        it("an enum value dropped", function()
            local p = new_problems(problems_after(function(t)
                table.remove(param(row(t, "update_factor"), "Config.Alg").enum)
            end))
            expect(p, "update_factor", "Config.Alg", "enum")
        end)

        it("a SID pattern changed (form parameter)", function()
            local p = new_problems(problems_after(function(t)
                local x = param(row(t, "create_challenge"), "FactorSid")
                x.pattern, x.prefix = "^YC[0-9a-fA-F]{32}$", "YC"
            end))
            expect(p, "create_challenge", "FactorSid", "pattern")
        end)

        it("a SID pattern changed (path parameter)", function()
            local p = new_problems(problems_after(function(t)
                local x = path_param(row(t, "fetch_factor"), "Sid")
                x.pattern, x.prefix = "^YC[0-9a-fA-F]{32}$", "YC"
            end))
            expect(p, "fetch_factor", "Sid", "pattern")
        end)

        it("a SID pattern changed (query parameter)", function()
            local p = new_problems(problems_after(function(t)
                param(row(t, "list_challenge"), "FactorSid").pattern = "^YF[0-9a-f]{32}$"
            end))
            expect(p, "list_challenge", "FactorSid", "pattern")
        end)

        it("a required flag flipped (both ways)", function()
            local p = new_problems(problems_after(function(t)
                param(row(t, "create_factor"), "FactorType").required = false
                param(row(t, "update_service"), "FriendlyName").required = true
            end))
            expect(p, "create_factor", "FactorType", "required")
            expect(p, "update_service", "FriendlyName", "required")
        end)

        it("a bound the description states changed", function()
            local p = new_problems(problems_after(function(t)
                param(row(t, "list_factor"), "PageSize").max = 100
                param(row(t, "list_entity"), "PageSize").min = 0
            end))
            expect(p, "list_factor", "PageSize", "max 100", "maximum 1000")
            expect(p, "list_entity", "PageSize", "min 0", "minimum 1")
        end)

        it("a bound the description does not state, without its rule", function()
            local p = new_problems(problems_after(function(t)
                param(row(t, "update_factor"), "Config.TimeStep").rule = nil
            end))
            expect(p, "update_factor", "Config.TimeStep", "no rule")
        end)

        it("an enum the description does not state, without its rule", function()
            local p = new_problems(problems_after(function(t)
                param(row(t, "update_factor"), "Config.NotificationPlatform").rule = nil
            end))
            expect(p, "update_factor", "Config.NotificationPlatform", "no rule")
        end)

        it("an identity path parameter without its rule", function()
            local p = new_problems(problems_after(function(t)
                path_param(row(t, "fetch_entity"), "Identity").rule = nil
            end))
            expect(p, "fetch_entity", "Identity", "no rule")
        end)

        it("an operation removed", function()
            local p = new_problems(problems_after(function(t)
                for i, r in ipairs(t) do
                    if r.name == "fetch_challenge" then table.remove(t, i) break end
                end
            end))
            expect(p, "missing in-scope operation", "FetchChallenge",
                "/v2/Services/{ServiceSid}/Entities/{Identity}/Challenges/{Sid}")
        end)

        it("a method changed", function()
            local p = new_problems(problems_after(function(t)
                row(t, "delete_entity").method = "POST"
            end))
            expect(p, "delete_entity", "method POST", "DELETE")
        end)

        it("a path changed", function()
            local p = new_problems(problems_after(function(t)
                row(t, "fetch_service").path = "/v2/Service/{Sid}"
            end))
            expect(p, "fetch_service", "path /v2/Service/{Sid}")
        end)

        it("an unknown operationId", function()
            local p = new_problems(problems_after(function(t)
                row(t, "create_factor").openapi_id = "CreateFactor"
            end))
            expect(p, "create_factor", "CreateFactor", "not in the description")
            expect(p, "missing in-scope operation", "CreateNewFactor")
        end)

        it("a type changed", function()
            local p = new_problems(problems_after(function(t)
                param(row(t, "create_service"), "LookupEnabled").type = "string"
                param(row(t, "create_challenge"), "ExpirationDate").type = "string"
            end))
            expect(p, "create_service", "LookupEnabled", "type string", "boolean")
            expect(p, "create_challenge", "ExpirationDate", "type string", "date-time")
        end)

        it("an array flag dropped", function()
            local p = new_problems(problems_after(function(t)
                param(row(t, "create_challenge"), "Details.Fields").array = false
            end))
            expect(p, "create_challenge", "Details.Fields", "array")
        end)

        it("a query parameter sent in the form", function()
            local p = new_problems(problems_after(function(t)
                param(row(t, "list_service"), "PageSize").location = "form"
            end))
            expect(p, "list_service", "PageSize", "location")
        end)

        it("a Lua name that is not the snake-cased key", function()
            local p = new_problems(problems_after(function(t)
                param(row(t, "create_service"), "Psd2Enabled").name = "psd_2_enabled"
            end))
            expect(p, "create_service", "Psd2Enabled", "psd2_enabled")
        end)

        it("a name that is not <verb>_<resource>", function()
            local p = new_problems(problems_after(function(t)
                row(t, "list_factor").name = "list_factors"
            end))
            expect(p, "list_factors", "verb")
        end)

        it("a wrong response shape", function()
            local p = new_problems(problems_after(function(t)
                row(t, "list_entity").list_key = "entity"
                row(t, "fetch_entity").returns = "none"
                row(t, "delete_entity").returns = "instance"
            end))
            expect(p, "list_entity", "list_key entity")
            expect(p, "fetch_entity", "204")
            expect(p, "delete_entity", "200/201")
        end)

        it("a row outside the scope", function()
            -- the scope is every operation, so a narrower one shows the check:
            -- everything but the Passkeys operations, and a Passkeys row
            local scope = { all = true, except_ids = {
                CreateNewFactorPasskey = "test", UpdatePasskeysFactor = "test",
                CreateChallengePasskeys = "test", UpdateChallengePasskeys = "test" } }
            local p = new_problems(problems_after(function(t)
                for i = #t, 1, -1 do
                    if t[i].openapi_id:find("Passkey") then table.remove(t, i) end
                end
                t[#t + 1] = { name = "create_passkey", verb = "create", resource = "passkey",
                    openapi_id = "CreateNewFactorPasskey", method = "POST",
                    path = "/v2/Services/{ServiceSid}/Passkeys/Factors", returns = "instance",
                    path_params = {}, params = {} }
            end, scope))
            expect(p, "create_passkey", "outside the scope")
        end)

        it("a verification {Sid} typed as a SID without its rule", function()
            local p = new_problems(problems_after(function(t)
                path_param(row(t, "fetch_verification"), "Sid").rule = nil
            end))
            expect(p, "fetch_verification", "Sid", "plain string", "no rule")
        end)

        it("a format without its rule", function()
            local p = new_problems(problems_after(function(t)
                param(row(t, "create_verification"), "To").rule = nil
                param(row(t, "list_verification_attempt"), "Country").rule = nil
            end))
            expect(p, "create_verification", "To", "format e164_or_email", "no rule")
            assert.same({}, matching(p, "list_verification_attempt", "Country", "format"),
                "the description's own format iso-country-code needs no rule")
        end)
    end)

    describe("(c) rules", function()
        it("every rule is non-empty text", function()
            local bad = {}
            for _, r in ipairs(ops()) do
                for _, pp in ipairs(r.path_params) do
                    if pp.rule ~= nil and not (type(pp.rule) == "string" and pp.rule:find("%w")) then
                        bad[#bad + 1] = r.name .. ": " .. pp.key
                    end
                end
                for _, p in ipairs(r.params) do
                    if p.rule ~= nil and not (type(p.rule) == "string" and p.rule:find("%w")) then
                        bad[#bad + 1] = r.name .. ": " .. p.key
                    end
                end
            end
            assert.same({}, report("empty rules", bad))
        end)

        it("every bound, enum or type the description does not state has a rule", function()
            local overrides = oc.overrides(ops(), doc)
            assert.is_true(#overrides > 0) -- the table does refine the description
            local bad = {}
            for _, o in ipairs(overrides) do
                if not (type(o.rule) == "string" and o.rule:find("%w")) then bad[#bad + 1] = o.what end
            end
            assert.same({}, report("overrides without a rule", bad))
        end)

        it("the known overrides are among them", function()
            local overrides = oc.overrides(ops(), doc)
            local function has(op, key)
                for _, o in ipairs(overrides) do
                    if o.op == op and o.key == key then return true end
                end
                return false
            end
            assert.is_true(has("update_factor", "Config.NotificationPlatform")) -- string in the description
            assert.is_true(has("update_factor", "Config.TimeStep"))             -- prose only
            assert.is_true(has("create_factor", "Binding.Alg"))
            assert.is_true(has("create_challenge", "Details.Fields"))           -- max_items
            assert.is_true(has("create_entity", "Identity"))
            assert.is_true(has("fetch_factor", "Identity"))                     -- path parameter
            assert.is_false(has("list_factor", "PageSize"))                     -- the description's own
        end)

        it("a rule that quotes the description quotes its real text", function()
            assert.same({}, report("rules misquoting the description", oc.rule_sources(ops(), doc)))
        end)
    end)
end)
