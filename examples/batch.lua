-- batch.lua -- the README's batch job: delete every unverified factor older
-- than 30 days for some users, concurrently (client:batch), with progress.
--
--   examples/run-demo.sh examples/batch.lua
-- It seeds the users first. Against the emulator, the "old" factors are
-- created with the emulator's clock set 40 days back (its control endpoint
-- /__emulator/clock, see doc/emulator.md). Real Twilio cannot backdate, so
-- there the job finds nothing old to delete; the seeds are removed at the end.
local verify = require "twilio.verify"

local SVC = assert(os.getenv("TWILIO_VERIFY_SERVICE_SID"), "set TWILIO_VERIFY_SERVICE_SID")
local base_url = os.getenv("TWILIO_VERIFY_BASE_URL")
local emulator = base_url and base_url:match("^http://127%.0%.0%.1:%d+$") ~= nil
local users = { "batch-user-0001", "batch-user-0002", "batch-user-0003" }

local client = assert(verify.new{ base_url = base_url })

local function set_emulator_clock(t) -- unix seconds, or nil for real time
  local cmd = ("curl -sS --max-time 10 -o /dev/null -w '%%{http_code}' -X POST -H 'Content-Type: application/json' "
    .. "--data-binary '{\"time\":%s}' %s/__emulator/clock"):format(t and ("%d"):format(t) or "null", base_url)
  local p = assert(io.popen(cmd))
  local status = p:read("a")
  p:close()
  assert(status == "200", "could not set the emulator clock: " .. status)
end

-------------------------------------------------------------------------------
-- seed: per user, two old unverified factors (to delete), one old verified
-- factor and one new unverified factor (to keep)
-------------------------------------------------------------------------------
local old = os.time() - 40 * 86400
local expect_deleted = 0
local function create(user, name)
  return assert(client:create_factor(SVC, user, { friendly_name = name, factor_type = "totp" }))
end
if emulator then set_emulator_clock(old) end
for _, user in ipairs(users) do
  create(user, "old unverified 1")
  create(user, "old unverified 2")
  local f = create(user, "old verified")
  local code = verify.totp.code(f.binding.secret, { time = emulator and old or os.time() })
  assert(f:verify(code), "could not verify the seed factor")
  if emulator then expect_deleted = expect_deleted + 2 end
end
if emulator then set_emulator_clock(nil) end
for _, user in ipairs(users) do create(user, "new unverified") end
print(("seeded    4 factors for each of %d users%s"):format(#users,
  emulator and " (3 of them 40 days old)" or ""))

-------------------------------------------------------------------------------
-- the job, as in the README
-------------------------------------------------------------------------------
-- delete every unverified factor older than 30 days for these users
local cutoff = os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() - 30 * 86400)
local lists = client:batch((function()
  local ops = {}
  for i, user in ipairs(users) do ops[i] = { op = "list", service_sid = SVC, identity = user } end
  return ops
end)(), { concurrency = 8 })
local deletes = {}
for i, r in ipairs(lists) do
  if r.err then error(users[i] .. ": " .. tostring(r.err)) end
  for _, f in ipairs(r.ok or {}) do
    if f.status == "unverified" and f.date_created < cutoff then
      deletes[#deletes + 1] = { op = "delete", service_sid = SVC, identity = users[i], sid = f.sid }
    end
  end
end
print(("found     %d unverified factor(s) created before %s"):format(#deletes, cutoff))
local results, stats = client:batch(deletes, {
  concurrency = 8, max_rps = 50,
  on_progress = function(done, total, errors)
    io.write(("\rdeleting  %d/%d (%d errors)"):format(done, total, errors))
  end,
})
io.write("\n")
for i, r in ipairs(results) do if r.err then print(deletes[i].sid, r.err) end end
print(("done      %d deleted, %d errors, at most %d at once, %d retries"):format(
  stats.done - stats.errors, stats.errors, stats.peak, stats.retries))
assert(stats.errors == 0 and #deletes == expect_deleted)

-------------------------------------------------------------------------------
-- what is left, then clean up (a batch of deletes again)
-------------------------------------------------------------------------------
local cleanup = {}
for _, user in ipairs(users) do
  local names = {}
  for f in client:factors(SVC, user) do
    names[#names + 1] = f.friendly_name .. " (" .. f.status .. ")"
    cleanup[#cleanup + 1] = { op = "delete", service_sid = SVC, identity = user, sid = f.sid }
  end
  print(("kept      %s: %s"):format(user, table.concat(names, ", ")))
end
local _, s = client:batch(cleanup)
print(("cleanup   deleted %d factors"):format(s.done - s.errors))
client:close()
