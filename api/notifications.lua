-- api/notifications.lua -- Notifications: a pending push challenge's
-- notification, sent again.  Format: api/README.md.
return {
  resource = "notification",
  class = "Notification",
  path_params = { ChallengeSid = { "sid", prefix = "YC", help = "the challenge" } },
  doc = [[
Notification objects, from @{Client:create_notification}: `sid` (`NT...`),
`challenge_sid`, `identity`, `entity_sid`, `priority`, `ttl`,
`date_created`.]],
  ops = {
    { "create_notification", "CreateNotification", "POST",
      "/v2/Services/{ServiceSid}/Entities/{Identity}/Challenges/{ChallengeSid}/Notifications",
      summary = "Send a pending push challenge's notification to the device again.",
      usage = "assert(client:create_notification(SVC, USER, ch.sid, { ttl = 120 }))",
      examples = { "notifications create user-0001 YC0123456789abcdef0123456789abcdef --ttl 120" },
      params = {
        { "Ttl", "int", min = 0, max = 300, rule = 'description: "Can be an integer between 0 and 300"',
          metavar = "SECONDS", help = "how long the notification is valid" },
      } },
  },
}
