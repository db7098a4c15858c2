-- bench/fixtures.lua -- canned, spec-shaped Factor responses for the
-- benchmark server, and the emulator seed file.
--
-- Factors have the keys of verify.v2.service.entity.factor in the order the
-- API sends them; one in four is a push factor (with metadata), the rest are
-- TOTP factors (metadata null), as a mixed real entity looks.

local format, concat = string.format, table.concat

local _M = {
  ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef",
  AUTH_TOKEN = "bench-auth-token-0123456789abcdef",
  SERVICE_SID = "VA0123456789abcdef0123456789abcdef",
  IDENTITY = "bench-user-0001",     -- the 10 x 1,000 list entity
  FACTOR_SID = "YF00000000000000000000000000000001", -- fetch / update target (push)
  PAGE_SIZE = 1000,
  PAGES = 10,
  DATE = "2024-05-01T12:00:00Z",
}

function _M.factor_sid(i) return format("YF%032x", i) end

local function factors_path(service, identity)
  return "/v2/Services/" .. service .. "/Entities/" .. identity .. "/Factors"
end
_M.factors_path = factors_path

-- One factor as JSON text (i: its number; push every 4th).
function _M.factor_json(base, i, opts)
  opts = opts or {}
  local sid = opts.sid or _M.factor_sid(i)
  local push = opts.push
  if push == nil then push = i % 4 == 1 end
  local config, metadata, name
  if push then
    config = '{"sdk_version":"1.0","app_id":"com.example.app","notification_platform":"fcm",'
      .. '"notification_token":"' .. format("%064x", i) .. '"}'
    metadata = '{"os":"Android","model":"Pixel 8"}'
    name = format("Pixel %d", i)
  else
    config = '{"alg":"sha1","skew":1,"code_length":6,"time_step":30}'
    metadata = "null"
    name = format("Authenticator %d", i)
  end
  return concat({
    '{"sid":"', sid, '",',
    '"account_sid":"', _M.ACCOUNT_SID, '",',
    '"service_sid":"', _M.SERVICE_SID, '",',
    '"entity_sid":"YE0123456789abcdef0123456789abcdef",',
    '"identity":"', opts.identity or _M.IDENTITY, '",',
    '"date_created":"', _M.DATE, '",',
    '"date_updated":"', _M.DATE, '",',
    '"friendly_name":"', opts.friendly_name or name, '",',
    '"status":"verified",',
    '"factor_type":"', push and "push" or "totp", '",',
    '"config":', config, ',',
    '"metadata":', metadata, ',',
    '"url":"', base, factors_path(_M.SERVICE_SID, opts.identity or _M.IDENTITY), "/", sid, '"}',
  })
end

-- A challenge approved by its AuthPayload (the create_challenge answer of a
-- TOTP sign-in), with the keys of verify.v2.service.entity.challenge.
_M.CHALLENGE_SID = "YC0123456789abcdef0123456789abcdef"
function _M.challenges_path(service, identity)
  return "/v2/Services/" .. service .. "/Entities/" .. identity .. "/Challenges"
end
function _M.challenge_json(base)
  return concat({
    '{"sid":"', _M.CHALLENGE_SID, '","account_sid":"', _M.ACCOUNT_SID, '","service_sid":"', _M.SERVICE_SID, '",',
    '"entity_sid":"YE0123456789abcdef0123456789abcdef","identity":"', _M.IDENTITY, '",',
    '"factor_sid":"', _M.FACTOR_SID, '","date_created":"', _M.DATE, '","date_updated":"', _M.DATE, '",',
    '"date_responded":"', _M.DATE, '","expiration_date":"2024-05-01T12:05:00Z","status":"approved",',
    '"responded_reason":"none","details":{"message":null,"date":null,"fields":[]},"hidden_details":{},',
    '"metadata":null,"factor_type":"totp","url":"', base, _M.challenges_path(_M.SERVICE_SID, _M.IDENTITY), "/",
    _M.CHALLENGE_SID, '","links":{"notifications":"', base, _M.challenges_path(_M.SERVICE_SID, _M.IDENTITY), "/",
    _M.CHALLENGE_SID, '/Notifications"}}',
  })
end

local function jstr(s) return s == nil and "null" or ('"' .. s .. '"') end

-- The URL of list page k (0-based) of `pages` pages of `size` factors on
-- `base` (PageToken=PT<k>), nil past either end.
local function page_url(base, k, pages, size)
  if k < 0 or k >= pages then return nil end
  local list = base .. factors_path(_M.SERVICE_SID, _M.IDENTITY)
  if k == 0 then return list .. "?PageSize=" .. size .. "&Page=0" end
  return list .. "?PageSize=" .. size .. "&Page=" .. k .. "&PageToken=PT" .. k
end

-- The end of list page n: its meta object, after the factors array.
function _M.page_meta(base, n, pages, size)
  return concat({
    '"meta":{"page":', n, ',"page_size":', size, ',',
    '"first_page_url":', jstr(page_url(base, 0, pages, size)), ',',
    '"previous_page_url":', jstr(page_url(base, n - 1, pages, size)), ',',
    '"url":', jstr(page_url(base, n, pages, size)), ',',
    '"next_page_url":', jstr(page_url(base, n + 1, pages, size)), ',',
    '"key":"factors"}}',
  })
end

-- List page n (0-based) of `pages` pages of `size` factors, with absolute
-- page URLs on `base` (PageToken=PT<n>).
function _M.page_json(base, n, pages, size)
  local items = {}
  for j = 1, size do items[j] = _M.factor_json(base, n * size + j) end
  return concat({ '{"factors":[', concat(items, ","), '],', _M.page_meta(base, n, pages, size) })
end

local function write(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end
_M.write = write

-- Write the nginx document root under dir/www for a server at base.
-- Returns the list of files written.
function _M.write_docroot(dir, base)
  os.execute("mkdir -p '" .. dir .. "/www/pages'")
  write(dir .. "/www/factor.json", _M.factor_json(base, 1, { sid = _M.FACTOR_SID, push = true }))
  write(dir .. "/www/challenge.json", _M.challenge_json(base))
  for n = 0, _M.PAGES - 1 do
    write(format("%s/www/pages/PT%d.json", dir, n), _M.page_json(base, n, _M.PAGES, _M.PAGE_SIZE))
  end
end

-- The emulator's seed: the fetch/update factor, a 10,000-factor entity for
-- the list figure and a 100,000-factor entity for the memory figure.
_M.MEM_IDENTITY = "bench-user-100k"
function _M.seed_json()
  local S = _M.SERVICE_SID
  return concat({
    '{"factors":[',
    '{"service_sid":"', S, '","identity":"bench-fetch-0001","factor_type":"push",',
    '"friendly_name":"Pixel 1","sid":"', _M.FACTOR_SID, '","status":"verified",',
    '"config":{"sdk_version":"1.0","app_id":"com.example.app","notification_platform":"fcm",',
    '"notification_token":"', format("%064x", 1), '"},"metadata":{"os":"Android","model":"Pixel 8"}},',
    '{"service_sid":"', S, '","identity":"', _M.IDENTITY, '","factor_type":"totp",',
    '"friendly_name":"Authenticator","count":', _M.PAGES * _M.PAGE_SIZE, '},',
    '{"service_sid":"', S, '","identity":"', _M.MEM_IDENTITY, '","factor_type":"totp",',
    '"friendly_name":"Authenticator","count":100000}',
    ']}',
  })
end

return _M
