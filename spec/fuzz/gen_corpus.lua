-- spec/fuzz/gen_corpus.lua -- write the seed corpora of the fuzz harnesses
-- (spec/fuzz/corpus/<harness>/) from the OpenAPI description's examples
-- plus a few hand-written error shapes.  Run from the repository root:
--   lua5.4 spec/fuzz/gen_corpus.lua
-- The output is committed; regenerate after changing an input format.
-- Input formats: see the header comment of each spec/fuzz/fuzz_<name>.c.
local cjson = require "cjson"

local OPENAPI = "spec/fixtures/verify_v2_factors.openapi.json"
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
print("corpus written under " .. OUT)
