-- Real P-256 keys for specs that create push factors on the emulator (it
-- validates Binding.PublicKey and verifies every signature): a key per
-- name, its public key (base64 SPKI DER), and the device-side signatures.
local dcore = require("twilio.verify.core").device

local _M = {}
local by_name, by_pub = {}, {}

-- The Binding.PublicKey of the key called `name` (made on first use).
function _M.pub(name)
  name = name or "default"
  local k = by_name[name]
  if not k then
    k = dcore.generate()
    by_name[name] = k
    by_pub[k:public_key()] = k
  end
  return k:public_key()
end

-- by public key, or by name (made on first use)
local function key_of(pub)
  if not by_pub[pub] and not by_name[pub] then _M.pub(pub) end
  return by_pub[pub] or by_name[pub]
end

-- Factor verification AuthPayload: base64 DER signature of the factor sid.
function _M.sign(pub, msg) return key_of(pub):sign(msg) end

-- A challenge AuthPayload: the ES256 JWT of `fields` (CSV) of the fetched
-- challenge `body` (its raw JSON text) plus status.
function _M.answer(pub, body, fields, status)
  local payload = assert(dcore.challenge_payload(body, fields, status))
  return key_of(pub):jwt('{"typ":"JWT","alg":"ES256"}', payload)
end

-- Any JWT with this key (header and payload JSON texts).
function _M.jwt(pub, header, payload) return key_of(pub):jwt(header, payload) end

-- The device-credential JWT of a factor (kid = config.credential_sid).
function _M.factor_jwt(pub, credential_sid, account_sid, now, ttl)
  now = now or os.time()
  return key_of(pub):jwt(string.format('{"cty":"twilio-pba;v=1","kid":"%s","typ":"JWT","alg":"ES256"}', credential_sid),
    string.format('{"sub":"%s","exp":%d,"nbf":%d}', account_sid, now + (ttl or 600), now))
end

return _M
