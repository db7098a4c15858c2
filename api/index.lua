-- api/index.lua -- the resource files of the operation data, in table
-- order (api/README.md).  A new resource is a new file named here; a new
-- operation is a new row in its resource's file.
return {
  "factors", "entities", "challenges", "services", "access_tokens", "notifications", "webhooks", "forms",
  -- Passkeys (issue 21): JSON bodies
  "passkey_factors", "passkey_challenges",
  -- one-time codes (issue 22)
  "verifications", "verification_checks", "attempts", "attempts_summary", "rate_limits", "buckets",
  "messaging_configurations", "safelist", "templates",
}
