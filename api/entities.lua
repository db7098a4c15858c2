-- api/entities.lua -- Entities: the users of a service, by identity.
-- Format: api/README.md.
local ENTITIES = "/v2/Services/{ServiceSid}/Entities"

return {
  resource = "entity",
  class = "Entity",
  list_key = "entities",
  describe = { "identity" },
  columns = { { "SID", "sid" }, { "IDENTITY", "identity" }, { "CREATED", "date_created" } },
  doc = [[
Entity objects, from @{Client:create_entity}, @{Client:fetch_entity},
lists and iterators.
Plain tables (fields: @{entity}) with methods bound to their client, like
@{Factor} objects: @{Entity:factors}, @{Entity:challenges},
@{Entity:create_factor} and @{Entity:create_challenge} act on the entity's
own factors and challenges.]],
  ops = {
    { "create_entity", "CreateEntity", "POST", ENTITIES,
      summary = "Create an entity: a user of the service, by identity.",
      cli_summary = "create an entity (a user of the service) by its identity",
      doc = "(Creating the first factor of an identity creates its entity too.)",
      usage = [[
local e = assert(client:create_entity(SVC, "user-0001"))
print(e.sid, e.identity)]],
      examples = { "entities create user-0001" },
      params = {
        { "Identity", "identity", required = true, positional = true, rule = common.rules.IDENTITY,
          help = "the identity: an immutable id of your user (such as a UUID), not personal data" },
      } },

    { "fetch_entity", "FetchEntity", "GET", ENTITIES .. "/{Identity}",
      summary = "Fetch an entity.",
      cli_summary = "show one entity",
      errors = "an unknown identity: `http`, status 404, code 20404",
      usage = [[
local e, err = client:fetch_entity(SVC, "user-0001")
if e then print(e.sid, e.date_created) else print(err) end]],
      examples = { "entities fetch user-0001 --json" } },

    { "list_entity", "ListEntity", "GET", ENTITIES,
      summary = "List one page of a service's entities.",
      cli_summary = "list the service's entities (every page, lazily; --limit stops early)",
      usage = [[
local page = assert(client:list_entity(SVC, { page_size = 100 }))
for _, e in ipairs(page.entities) do print(e.identity) end]],
      iter_usage = [[
for e in client:entities(SVC, { limit = 1000 }) do print(e.identity) end]],
      examples = { "entities list", "entities list --page --page-size 20 --json" },
      params = common.paging },

    { "delete_entity", "DeleteEntity", "DELETE", ENTITIES .. "/{Identity}",
      summary = "Delete an entity, with its factors and challenges.",
      usage = [[
local ok, err = client:delete_entity(SVC, "user-0001")
if not ok then print(err) end]],
      examples = { "entities delete user-0001" } },
  },
}
