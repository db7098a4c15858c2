-- spec/fuzz/gen_corpus.lua -- write the seed corpora of the fuzz harnesses
-- (spec/fuzz/corpus/<harness>/) from the OpenAPI description's examples
-- plus a few hand-written error shapes.  Run from the repository root:
--   lua5.4 spec/fuzz/gen_corpus.lua
-- The output is committed; regenerate after changing an input format.
-- Input formats: see the header comment of each spec/fuzz/fuzz_<name>.c.
local cjson = require "cjson"

local OPENAPI = "spec/fixtures/twilio_verify_v2.json" -- its Factor paths
local OUT = "spec/fuzz/corpus/"

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function write(harness, name, data)
  os.execute("mkdir -p " .. OUT .. harness)
  local f = assert(io.open(OUT .. harness .. "/" .. name, "wb"))
  f:write(data)
  f:close()
end

-- fields for the harnesses that split their input (fuzz.h): "\\" doubles,
-- a field ends with a backslash and one more byte
local function field(s) return (s:gsub("\\", "\\\\")) .. "\\\n" end

local doc = cjson.decode(read(OPENAPI))
local P = "/v2/Services/{ServiceSid}/Entities/{Identity}/Factors"
local paths = doc.paths

-- ------------------------------------------------------------ bodies
local bodies = {} -- { op, status, name, text }
local function examples(op_name, status, content)
  for name, ex in pairs(content and content.examples or {}) do
    bodies[#bodies + 1] = { op = op_name, status = status, name = name, text = cjson.encode(ex.value) }
  end
end
local function json_of(op) return op.responses end
examples("fetch", 200, json_of(paths[P .. "/{Sid}"].get)["200"].content["application/json"])
examples("update", 200, json_of(paths[P .. "/{Sid}"].post)["200"].content["application/json"])
examples("list", 200, json_of(paths[P].get)["200"].content["application/json"])
examples("create", 201, json_of(paths[P].post)["201"].content["application/json"])
local errors = {
  { "delete", 204, "no-content", "" },
  { "fetch", 404, "twilio-404",
    '{"code":20404,"message":"The requested resource /v2/Services/VA00/Entities/x/Factors/YF00 was not found",'
    .. '"more_info":"https://www.twilio.com/docs/errors/20404","status":404}' },
  { "update", 400, "twilio-details",
    '{"code":60200,"message":"Invalid parameter: FriendlyName","more_info":"https://www.twilio.com/docs/errors/60200",'
    .. '"status":400,"details":{"parameter":"FriendlyName","list":[1,null,true,"x"]}}' },
  { "list", 429, "rfc9457-429",
    '{"type":"https://www.twilio.com/docs/errors/20429","title":"Too Many Requests","status":429,'
    .. '"code":20429,"detail":"Too many requests","instance":"/v2/Services"}' },
  { "update", 429, "twilio-60310",
    '{"code":60310,"message":"Max check attempts reached","more_info":"https://www.twilio.com/docs/errors/60310",'
    .. '"status":429}' },
  { "fetch", 503, "html", "<html><body>503 Service Unavailable</body></html>" },
  { "fetch", 200, "truncated", '{"sid":"YF00000000000000000000000000000000","status":"unver' },
  { "list", 200, "nulls", '{"factors":[null,{"sid":"YF1","config":null,"metadata":{"a":[null,null]}}],'
    .. '"meta":{"page":0,"next_page_url":null,"key":"factors"},"extra":1e308,"neg":-0.5,"big":9007199254740993}' },
  { "create", 201, "deep", string.rep("[", 40) .. string.rep("]", 40) },
  { "fetch", 200, "unicode", '{"sid":"YF\\u00e9\\ud83d\\ude00","friendly_name":"a\\u0000b","n":[1,2.5,-3]}' },
}
for _, e in ipairs(errors) do bodies[#bodies + 1] = { op = e[1], status = e[2], name = e[3], text = e[4] } end
table.sort(bodies, function(a, b) return a.op .. a.name < b.op .. b.name end)
local function body_named(name)
  for _, b in ipairs(bodies) do if b.name == name then return b.text end end
  error("no example " .. name)
end
local LIST_BODY = body_named("readFullTotp")

-- fuzz_response: op index, status index (see fz_resp_statuses), body
local R_OPS = { fetch = 0, delete = 1, update = 2, list = 3, create = 4 }
local R_STATUS = { [200] = 0, [201] = 1, [204] = 2, [400] = 4, [404] = 7, [429] = 11, [503] = 14 }
-- fuzz_json_lua: op | flags, status index, OOM budget, body
local J_STATUS = { [200] = 0, [201] = 1, [204] = 2, [400] = 3, [404] = 5, [429] = 6, [503] = 8 }
for _, b in ipairs(bodies) do
  local name = b.op .. "-" .. b.status .. "-" .. b.name
  write("response", name, string.char(R_OPS[b.op], R_STATUS[b.status]) .. b.text)
  write("json_lua", name, string.char(R_OPS[b.op] | 0x40, J_STATUS[b.status], 0) .. b.text)
  -- fuzz_jcursor: op index, body (2xx bodies are what it streams)
  if b.status >= 200 and b.status <= 299 then write("jcursor", name, string.char(R_OPS[b.op]) .. b.text) end
  -- the same 2xx bodies over the binding's streaming threshold
  if b.status >= 200 and b.status <= 299 then
    write("json_lua", "stream-" .. name, string.char(R_OPS[b.op] | 0x20, J_STATUS[b.status], 0) .. b.text)
  end
end
write("jcursor", "list-duplicates", string.char(3) .. '\239\187\191 {"factors":[1,[2],{"a":null}],"meta":{},'
  .. '"factors":{},"meta":[],"x":[],"y":[[],{}]} trailing')
write("jcursor", "fetch-bad-key", string.char(0) .. '{"sid":"YF1",1:2}')
-- a few with the allocator budget on (memory errors mid-conversion)
write("json_lua", "oom-list", string.char(3 | 0x80, 0, 40) .. LIST_BODY)
write("json_lua", "oom-error", string.char(2 | 0x80, 3, 12) .. errors[3][4])
write("json_lua", "oom-stream", string.char(3 | 0x80 | 0x20, 0, 90) .. LIST_BODY)

-- ------------------------------------------------------------ forms
local function form_examples(op)
  local out = {}
  local content = op.requestBody.content["application/x-www-form-urlencoded"]
  for name, ex in pairs(content.examples) do
    local keys = {}
    for k in pairs(ex.value) do keys[#keys + 1] = k end
    table.sort(keys)
    local kv = {}
    for _, k in ipairs(keys) do kv[#kv + 1] = { k, tostring(ex.value[k]) } end
    out[#out + 1] = { name = name, kv = kv }
  end
  table.sort(out, function(a, b) return a.name < b.name end)
  return out
end
local updates = form_examples(paths[P .. "/{Sid}"].post)
local creates = form_examples(paths[P].post)

local function pct(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end
local function form(kv)
  local parts = {}
  for i, p in ipairs(kv) do parts[i] = pct(p[1]) .. "=" .. pct(p[2]) end
  return table.concat(parts, "&")
end

-- fuzz_request: mode | flags, base, service, identity, sid, key, value, ...
local BASE = "https://verify.twilio.com"
local SVC, IDN, SID = "VAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "ff483d1ff591898a9942916050d2ca3f",
  "YFaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
local function request(mode, base, kv, sid)
  local t = { string.char(mode), field(base), field(SVC), field(IDN), field(sid or SID) }
  for _, p in ipairs(kv or {}) do t[#t + 1] = field(p[1]) .. field(p[2]) end
  return table.concat(t)
end
write("request", "fetch", request(0, BASE))
write("request", "delete-loopback", request(1, "http://127.0.0.1:8080/"))
for _, u in ipairs(updates) do write("request", "update-" .. u.name, request(2, BASE, u.kv)) end
for _, c in ipairs(creates) do write("request", "create-" .. c.name, request(4, BASE, c.kv)) end
write("request", "create-totp", request(4, "https://verify.ie1.twilio.com",
  { { "FriendlyName", "Ann's phone" }, { "FactorType", "totp" }, { "Config.TimeStep", "30" },
    { "Config.Skew", "1" }, { "Config.CodeLength", "6" }, { "Config.Alg", "sha256" },
    { "Binding.Secret", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" } }))
write("request", "list", request(3, "http://[::1]:8080", { { "PageSize", "50" }, { "Page", "0" },
  { "PageToken", "PT/+= &?#%" } }))
local meta = cjson.decode(LIST_BODY).meta
write("request", "list-url", request(5, BASE, nil, meta.url or
  (BASE .. "/v2/Services/" .. SVC .. "/Entities/" .. IDN .. "/Factors?PageSize=50&Page=0")))
write("request", "redact", request(6, BASE, nil,
  "AuthPayload=123456&FriendlyName=x&Config.NotificationToken=tok&Binding.Secret=S&novalue&=&&"))
write("request", "url-origin", request(7, BASE, nil, "HTTPS://User@[::1]:65535/v2?x#frag"))

-- any row of the operation table (flag 0x40 + its index in tv_ops.c; 0x38:
-- canned service, identity and sid of the row's prefix)
local OPS = { fetch_factor = 0, delete_factor = 1, update_factor = 2, list_factor = 3, create_factor = 4,
  create_entity = 5, fetch_entity = 6, list_entity = 7, delete_entity = 8, create_challenge = 9,
  fetch_challenge = 10, list_challenge = 11, update_challenge = 12, create_service = 13, fetch_service = 14,
  list_service = 15, update_service = 16, delete_service = 17 }
local function request_op(op, kv, sid)
  local t = { string.char(0x40 | 0x38, OPS[op]), field(BASE), field(""), field(""), field(sid or "") }
  for _, p in ipairs(kv or {}) do t[#t + 1] = field(p[1]) .. field(p[2]) end
  return table.concat(t)
end
local YF = "YF0123456789abcdef0123456789abcdef"
for op in pairs(OPS) do write("request", "op-" .. op, request_op(op)) end
write("request", "op-create_challenge-full", request_op("create_challenge", {
  { "Details.Fields", '{"label":"IP","value":"10.0.0.1"}' }, { "FactorSid", YF },
  { "ExpirationDate", "2026-01-31T12:00:00.5+05:30" }, { "Details.Message", "Approve login?" },
  { "Details.Fields", '{"label":"Where","value":"Dublin"}' }, { "HiddenDetails", '{"ip":"1"}' },
  { "AuthPayload", "123456" } }))
write("request", "op-create_challenge-foreign", request_op("create_challenge", {
  { "FactorSid", YF }, { "!" .. string.char(OPS.update_factor, 1), "x" } }))
write("request", "op-create_challenge-bad-date", request_op("create_challenge", {
  { "FactorSid", YF }, { "ExpirationDate", "2026-02-30T00:00:00Z" } }))
write("request", "op-list_challenge-query", request_op("list_challenge", {
  { "Order", "desc" }, { "Status", "pending" }, { "FactorSid", YF }, { "PageSize", "20" } }))
write("request", "op-create_service", request_op("create_service", {
  { "FriendlyName", "My Service" }, { "Psd2Enabled", "true" }, { "LookupEnabled", "FALSE" },
  { "Push.ApnCredentialSid", "CR0123456789abcdef0123456789abcdef" }, { "CodeLength", "6" } }))
write("request", "op-create_service-bad-bool", request_op("create_service", {
  { "FriendlyName", "x" }, { "Psd2Enabled", "yes" } }))
write("request", "op-update_challenge", request_op("update_challenge", {
  { "AuthPayload", "s3cr3t" }, { "Metadata", '{"k":1}' } }))
write("request", "op-create_entity", request_op("create_entity", { { "Identity", "user-0002-xyz" } }))
-- mode 5 with 0x40: the op given to tv_build_page_url (0: NULL, k: row k-1)
local function page_req(op, url)
  return table.concat({ string.char(5 | 0x40, op and OPS[op] + 1 or 0), field(BASE), field(SVC), field(IDN),
    field(url) })
end
write("request", "page-challenges", page_req("list_challenge",
  BASE .. "/v2/Services/" .. SVC .. "/Entities/" .. IDN .. "/Challenges?Status=pending&PageSize=20&Page=1"))
write("request", "page-wrong-op", page_req("fetch_factor", BASE .. "/v2/Services?PageSize=5"))

-- ------------------------------------------------------------ page URLs
-- fuzz_page_url: op (0 NULL, 1-4 list_factor/challenge/entity/service) |
-- origin << 3 | 0x20 tokens | 0x40 base + rest; then the URL (or tokens)
local PU_OPS = { list_factor = 1, list_challenge = 2, list_entity = 3, list_service = 4 }
local function page_url(op, url, origin) return string.char((op and PU_OPS[op] or 0) | ((origin or 0) << 3)) .. url end
local F = "/v2/Services/" .. SVC .. "/Entities/" .. IDN .. "/Factors"
local C = "/v2/Services/" .. SVC .. "/Entities/" .. IDN .. "/Challenges"
local E = "/v2/Services/" .. SVC .. "/Entities"
local good_pages = {
  factors = { "list_factor", BASE .. F .. "?PageSize=50&Page=1&PageToken=PT1" },
  challenges = { "list_challenge", BASE .. C .. "?FactorSid=" .. YF .. "&Status=pending&Order=asc&PageSize=20&Page=2" },
  entities = { "list_entity", BASE .. E .. "?PageSize=10&Page=0&PageToken=PT%2Fx%20y" },
  services = { "list_service", BASE .. "/v2/Services?PageSize=5&Page=3" },
}
for name, g in pairs(good_pages) do
  write("page_url", "good-" .. name, page_url(g[1], g[2]))
  write("page_url", "good-" .. name .. "-any", page_url(nil, g[2]))
end
write("page_url", "good-loopback", page_url("list_service", "http://127.0.0.1:8080/v2/Services?Page=1", 1))
write("page_url", "good-ipv6", page_url(nil, "http://[::1]:9" .. E, 2))
write("page_url", "noncanonical", page_url(nil, "HTTPS://Verify.Twilio.COM:443" .. C
  .. "?PageToken=P+T&Page=2&Status=pending&&PageSize=20"))
write("page_url", "relative-base", string.char(0x40 | PU_OPS.list_factor) .. F .. "?PageSize=1")
local bad_pages = {
  attack = BASE .. "/v2/Services/../../../2010-04-01/Accounts/AC00000000000000000000000000000000/Entities/../Calls/Factors",
  ["dot-dot"] = BASE .. "/v2/Services/" .. SVC .. "/Entities/" .. IDN .. "/../Factors",
  ["dot"] = BASE .. "/v2/Services/" .. SVC .. "/Entities/" .. IDN .. "/./Factors",
  ["pct-dot-dot"] = BASE .. "/v2/Services/" .. SVC .. "/Entities/%2e%2e/Factors",
  ["pct-mixed"] = BASE .. "/v2/Services/" .. SVC .. "/Entities/%2E./Factors",
  ["other-host"] = "https://evil.example.com" .. F,
  ["other-port"] = "https://verify.twilio.com:8443" .. F,
  ["other-scheme"] = "http://verify.twilio.com" .. F,
  ["extra-segment"] = BASE .. F .. "/" .. YF,
  ["foreign-key"] = BASE .. F .. "?Foo=1",
  ["bad-escape"] = BASE .. F .. "?Page=%zz",
  ["page-size"] = BASE .. F .. "?PageSize=1001",
}
for name, u in pairs(bad_pages) do write("page_url", "bad-" .. name, page_url(nil, u)) end
write("page_url", "bad-wrong-op", page_url("list_service", BASE .. E))
-- tokens (indices into fz_pu_tokens): /v2 /Services /VA.. /Entities /user.. /Factors ? PageSize= 50
write("page_url", "tokens-factors", string.char(0x20 | PU_OPS.list_factor, 1, 2, 6, 3, 7, 4, 9, 12, 18))
-- /v2 /Services /.. /.. /2010-04-01 ...: the attack from tokens
write("page_url", "tokens-attack", string.char(0x20, 1, 2, 46, 46, 52, 53, 54, 3, 46, 55, 4))

-- ------------------------------------------------------------ parameter values
-- fuzz_params: op index, parameter index (0x80 | k: path parameter k), value
local function param(op, idx, v) return string.char(OPS[op], idx) .. v end
write("params", "date-ok", param("create_challenge", 1, "2026-01-31T12:00:00Z"))
write("params", "date-frac-offset", param("create_challenge", 1, "2024-02-29T23:59:60.123456789-08:00"))
write("params", "date-feb30", param("create_challenge", 1, "2026-02-30T00:00:00Z"))
write("params", "date-no-zone", param("create_challenge", 1, "2026-01-31T12:00:00"))
write("params", "date-25h", param("create_challenge", 1, "2026-01-31T25:00:00Z"))
write("params", "sid-ok", param("create_challenge", 0, YF))
write("params", "sid-wrong-prefix", param("create_challenge", 0, "YC0123456789abcdef0123456789abcdef"))
write("params", "fields-array", param("create_challenge", 3, '{"label":"a","value":"b"}'))
write("params", "auth-payload", param("create_challenge", 5, "123456"))
write("params", "bool-true", param("create_service", 6, "true"))
write("params", "bool-upper", param("create_service", 2, "FALSE"))
write("params", "bool-yes", param("create_service", 6, "yes"))
write("params", "cr-sid", param("create_service", 10, "CR0123456789abcdef0123456789abcdef"))
write("params", "identity-form", param("create_entity", 0, "user-0002-xyz"))
write("params", "identity-bad", param("create_entity", 0, "user--0002"))
write("params", "status-query", param("list_challenge", 1, "pending"))
write("params", "int-range", param("update_factor", 4, "61"))
write("params", "path-identity", param("fetch_factor", 0x81, "user-0001-abc"))
write("params", "path-sid", param("fetch_challenge", 0x82, "YC0123456789abcdef0123456789abcdef"))
write("params", "path-dotdot", param("fetch_factor", 0x81, "../../x.."))

-- ------------------------------------------------------------ TOTP
-- fuzz_totp: flags (alg, digits, skew), secret, otpauth URI, code
local function totp(flags, secret, uri, code)
  return string.char(flags) .. field(secret) .. field(uri) .. field(code)
end
write("totp", "rfc6238-sha1", totp(0x0C, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
  "otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example", "287082"))
write("totp", "sha256-8", totp(0x15 | 0x20, "gezd gnbv gy3t qojq====",
  "otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ&issuer=ACME%20Co"
  .. "&algorithm=SHA256&digits=8&period=60", "sha256"))
write("totp", "emulator-uri", totp(0x06, "JBSWY3DPEHPK3PXP",
  "otpauth://totp/twilio-verify-emulator:user-7f3a9c?secret=JBSWY3DPEHPK3PXP&issuer=twilio-verify-emulator"
  .. "&algorithm=SHA1&digits=6&period=30", "000000"))
write("totp", "bad", totp(0xFF, "A1=B", "OTPAUTH://hotp/x?secret=&secret=", "12a"))

-- ------------------------------------------------------------ emulator
-- fuzz_emu_form: flags, [authorization], [path], query, body (the rest)
local GET, POST, DELETE = 0, 1, 2
local AUTH, FORM, CANNED, LIST, COMMIT = 0x04, 0x08, 0x10, 0x20, 0x40
for _, c in ipairs(creates) do
  write("emu_form", "create-" .. c.name, string.char(POST | AUTH | FORM | CANNED | LIST | COMMIT) .. field("")
    .. form(c.kv))
end
for _, u in ipairs(updates) do
  write("emu_form", "update-" .. u.name, string.char(POST | AUTH | FORM | CANNED | COMMIT) .. field("")
    .. form(u.kv))
end
write("emu_form", "list", string.char(GET | AUTH | CANNED | LIST) .. field("PageSize=1&Page=0&PageToken=PT1"))
write("emu_form", "fetch-raw-path", string.char(GET | AUTH)
  .. field("/v2/Services/" .. SVC .. "/Entities/" .. IDN .. "/Factors/" .. SID) .. field(""))
write("emu_form", "delete-bad-auth", string.char(DELETE | CANNED) .. field("Basic QUM6eA==") .. field(""))
write("emu_form", "bad-escape", string.char(POST | AUTH | FORM | CANNED) .. field("a=%zz")
  .. "FriendlyName=%4&AuthPayload=1+2")
write("emu_form", "control-faults", string.char(0x80 | POST | (0 << 3))
  .. '{"faults":[{"action":"status","status":503,"times":2,"match":{"op":"fetch"}}]}')
write("emu_form", "control-clock", string.char(0x80 | POST | (1 << 3)) .. '{"time":1700000000}')

-- ------------------------------------------------------------ oracle
-- fuzz_oracle: byte 0 = mode | method << 2 | 0x10 (form); see its header
local REQ, VALUE, PATTERN, PROSE = 0, 1, 2, 3
local M_GET, M_POST, M_DELETE, M_PUT, OFORM = 0 << 2, 1 << 2, 2 << 2, 3 << 2, 0x10
local FACTORS = "/v2/Services/" .. SVC .. "/Entities/" .. IDN .. "/Factors"
local oracle_requests = {
  { "list-factors", REQ | M_GET, FACTORS, "PageSize=50&Page=0", "" },
  { "create-totp", REQ | M_POST | OFORM, FACTORS, "",
    "FriendlyName=phone&FactorType=totp&Config.TimeStep=30&Config.Alg=sha256&Metadata=%7B%22os%22%3A%22x%22%7D" },
  { "create-bad-step", REQ | M_POST | OFORM, FACTORS, "", "FriendlyName=x&FactorType=totp&Config.TimeStep=61" },
  { "create-repeated", REQ | M_POST | OFORM, FACTORS, "", "FriendlyName=x&FriendlyName=y&FactorType=totp" },
  { "create-unknown", REQ | M_POST | OFORM, FACTORS, "", "FriendlyName=x&FactorType=totp&Colour=red" },
  { "challenge-fields", REQ | M_POST | OFORM, "/v2/Services/" .. SVC .. "/Entities/" .. IDN .. "/Challenges", "",
    "FactorSid=YF" .. SID:sub(3) .. "&Details.Message=hi&Details.Fields=%7B%22label%22%3A%22a%22%2C%22value%22%3A"
    .. "%22b%22%7D&ExpirationDate=2030-01-01T00%3A00%3A00Z" },
  { "passkeys-json", REQ | M_POST, "/v2/Services/" .. SVC .. "/Passkeys/Factors", "",
    '{"friendly_name":"x","identity":"user-0001","config":{"relying_party":{"id":"example.com","origins":["a"]},'
    .. '"authenticator_attachment":"platform"}}' },
  { "passkeys-bad", REQ | M_POST, "/v2/Services/" .. SVC .. "/Passkeys/ApproveChallenge", "",
    '{"id":"x","rawId":"y","authenticatorAttachment":"usb","response":{"clientDataJSON":1}}' },
  { "forms", REQ | M_GET, "/v2/Forms/form-push", "", "" },
  { "attempts-summary", REQ | M_GET, "/v2/Attempts/Summary", "Channel=sms&DateCreatedAfter=2024-02-29T00%3A00%3A00Z", "" },
  { "put", REQ | M_PUT, FACTORS .. "/" .. SID, "", "" },
  { "delete-query", REQ | M_DELETE, "/v2/Services/" .. SVC, "x=1", "" },
  { "bad-escapes", REQ | M_POST | OFORM, "/v2/Services/VA%zz/Entities", "a=%4", "Identity=%" },
}
for _, r in ipairs(oracle_requests) do
  write("oracle", "request-" .. r[1], string.char(r[2]) .. field(r[3]) .. field(r[4]) .. r[5])
end
local oracle_values = {
  { "date", 33, 1, "2030-01-01T00:00:00.5+02:00" }, { "int", 18, 3, "9223372036854775808" },
  { "json", 19, 4, '{"label":"a","value":"b"}' }, { "utf8", 20, 0, "\237\160\128" }, { "bool", 34, 2, "TRUE" },
  { "enum", 3, 2, "cross-platform" }, { "json-body", 54, 0, '{"response":{"transports":["usb","x"]}}' },
}
for _, v in ipairs(oracle_values) do
  write("oracle", "value-" .. v[1], string.char(VALUE, v[2], v[3]) .. v[4])
end
write("oracle", "pattern-sid", string.char(PATTERN) .. field("^VA[0-9a-fA-F]{32}$") .. "VA" .. SID:sub(3))
write("oracle", "pattern-quantifiers", string.char(PATTERN) .. field("a{2,3}b?c*d+[x-z_\\.]{1,}$") .. "aacddd.z")
write("oracle", "pattern-bad", string.char(PATTERN) .. field("(a|b)\\d[^x].") .. "ab")
write("oracle", "prose-limits", string.char(PROSE) .. "The new friendly name. It can be up to 64 characters. "
  .. "Must be between 20 and 60 seconds, inclusive. Can be `apn`, `fcm` or `none`.")
write("oracle", "prose-cases", string.char(PROSE) .. "For `TOTP` this value must be between 3 and 8 characters long. "
  .. "For `Push` this value can be up to 5456 characters in length eg. `{\"a\": \"b.c\"}`")
write("oracle", "prose-events", string.char(PROSE) .. "Possible event types: `*, factor.deleted, challenge.denied`\n\n"
  .. "It can be empty or it can have the values `a`, `b` or `c`.")
-- ------------------------------------------------------------ Lua transport
-- fuzz_lua_transport: mode byte, status index, header count, data (see the harness)
local LT_VALID, LT_AMP, LT_LONG = 0x04, 0x08, 0x10
local lt_data = "Twilio-Request-Id: RQ\r\n\0x" .. string.rep("abcXYZ\1\127", 4) .. "retry-after 7"
for mode = 0, 3 do
  for op = 0, 3 do
    write("lua_transport", "mode" .. mode .. "-op" .. op, string.char(mode | LT_VALID | (op << 5), 0, 40) .. lt_data)
    write("lua_transport", "mode" .. mode .. "-op" .. op .. "-error", string.char(mode | (op << 5), 8, 12) .. lt_data)
  end
end
write("lua_transport", "variants-255", string.char(LT_VALID, 0, 255) .. "\0\1\2\3\4")
write("lua_transport", "amplified", string.char(LT_VALID | LT_AMP, 0, 255) .. lt_data)
write("lua_transport", "long-values", string.char(LT_VALID | LT_LONG, 1, 30) .. lt_data)
write("lua_transport", "openresty-amplified", string.char(1 | LT_VALID | LT_AMP, 0, 200) .. lt_data)
write("lua_transport", "openresty-nginx-error", string.char(1 | LT_VALID, 1, 20) .. lt_data)
print("corpus written under " .. OUT)
