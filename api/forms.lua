-- api/forms.lua -- Forms: the JSON Schemas of what a factor type's
-- operations take (only `form-push`).  Format: api/README.md.
return {
  resource = "form",
  class = "Form",
  describe = {},
  doc = [[
Form objects, from @{Client:fetch_form}: `form_type`, `forms` (the JSON
Schemas of the operations of that factor type: `create_factor`,
`verify_factor`, `create_challenge`), `form_meta`, `url`.]],
  ops = {
    { "fetch_form", "FetchForm", "GET", "/v2/Forms/{FormType}", id_key = "form_type",
      path_params = { FormType = { "enum", enum = { "form-push" }, help = "the factor type's form" } },
      summary = "Fetch the forms of a factor type: the JSON Schemas of what its operations take.",
      cli_summary = "show the forms (JSON Schemas) of a factor type's operations",
      usage = [[
local form = assert(client:fetch_form("form-push"))
for name, schema in pairs(form.forms) do print(name, schema.type) end]],
      examples = { "forms fetch form-push --json" } },
  },
}
