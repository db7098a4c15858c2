/* tv_ops.c -- the operation table (see tv_ops.h).
 *
 * Rules come from the OpenAPI description (spec/fixtures/twilio_verify_v2.json)
 * unless the row's `rule` says where else: most lengths and ranges are
 * stated only in the description's prose ("It can be up to 64
 * characters"), and the spec holds each such rule against that prose. */
#include "tv_ops.h"

#include <string.h>

/* ---- enums (the description's component schemas) ------------------------ */
static const char *const alg_enum[] = {"sha1", "sha256", "sha512", NULL};
static const char *const platform_enum[] = {"apn", "fcm", "none", NULL};
static const char *const factor_type_enum[] = {"push", "totp", NULL};
static const char *const binding_alg_enum[] = {"ES256", NULL};
static const char *const challenge_status_enum[] = {"pending", "expired", "approved", "denied", NULL};
static const char *const order_enum[] = {"asc", "desc", NULL};
static const char *const access_token_factor_enum[] = {"push", NULL};
static const char *const webhook_status_enum[] = {"enabled", "disabled", NULL};
static const char *const webhook_version_enum[] = {"v1", "v2", NULL};
static const char *const webhook_event_enum[] = {"*", "factor.deleted", "factor.created", "factor.verified",
                                                  "challenge.approved", "challenge.denied", NULL};

/* ---- rule sources (prose of the description, the seed) ------------------- */
#define R_FN64 "description: \"It can be up to 64 characters\""
#define R_FN64C "description: \"any string up to 64 characters\""
#define R_TIMESTEP "description: \"Must be between 20 and 60 seconds, inclusive\""
#define R_SKEW "description: \"Must be between 0 and 2, inclusive\""
#define R_CODELEN "description: \"Must be between 3 and 8, inclusive\""
#define R_TOKEN "description: \"between 32 and 255 characters long\""
#define R_SDK "library: SDK version strings are bounded at 64 characters"
#define R_PAYLOAD "library: bounded as UpdateChallenge's AuthPayload (\"up to 5456 characters\" for Push)"
#define R_CPAYLOAD2 "description: \"For Push this value can be up to 5456 characters in length\""
#define R_PLATFORM "description: \"Can be `apn`, `fcm` or `none`\" (typed as a plain string on update)"
#define R_BINDING_ALG "description: \"Algorithm supported: `ES256`\""
#define R_PUBKEY "library: a Base64 DER P-256 public key is ~124 characters; 4096 bounds it"
#define R_SECRET "library: a Base32 shared secret of 80 to 1280 bits (16-256 characters)"
#define R_APPID "library: store app ids are bounded at 100 characters"
#define R_META "description: \"stringified JSON ... Can be up to 1024 characters in length\""
#define R_PAGETOKEN "library: page tokens are opaque; bounded at 512 characters"
#define R_DMSG "description: \"Can be up to 256 characters in length\""
#define R_DFIELDS "description: \"There can be up to 20 details fields\" (each a {label, value} object of at most 36 + 128 characters: 1024 bounds its JSON)"
#define R_PAGE "library: Page is an int32 page index; bounded at 2147483647"
#define R_FACTOR_TYPE "library: passkeys factors are created through the Passkeys endpoints (CreateNewFactorPasskey), not this one"
#define R_CPAYLOAD "description: \"For TOTP this value must be between 3 and 8 characters long\""
#define R_SFN "description: \"It can be up to 32 characters long\""
#define R_SCODELEN "description: \"Must be an integer value between 4 and 10, inclusive\""
#define R_TTL_TOKEN "description: \"Can be an integer between 60 and 300\""
#define R_TTL_NOTIFY "description: \"Can be an integer between 0 and 300\""
#define R_EVENTS "description: \"Possible event types: `*, factor.deleted, factor.created, factor.verified, challenge.approved, challenge.denied`\""
#define R_WFN "library: friendly names are bounded at 64 characters, as the Factor's"
#define R_WURL "library: an absolute http(s) URL, bounded at 2048 characters"
#define R_FFN "library: the factor's FriendlyName to come (\"up to 64 characters\")"
#define R_IDENTITY "seed: \"length between 8 and 64 characters ... dash (-) separated alphanumeric characters\""

/* ---- parameter rows -------------------------------------------------------
 * P(lua name, wire key, type, ...designated fields) */
#define P(n, k, t, ...) {.name = n, .key = k, .type = t, __VA_ARGS__}
#define END {.name = NULL}
#define PAGING                                                                                  \
    P("page_size", "PageSize", TV_PT_INT, .min = 1, .max = 1000, .flags = TV_PF_QUERY),         \
    P("page", "Page", TV_PT_INT, .min = 0, .max = 2147483647L, .flags = TV_PF_QUERY, .rule = R_PAGE),           \
    P("page_token", "PageToken", TV_PT_TEXT, .min = 1, .max = 512, .flags = TV_PF_QUERY, .rule = R_PAGETOKEN)

static const tv_param_spec no_params[] = {END};
static const tv_param_spec paging_params[] = {PAGING, END};

static const tv_param_spec update_factor_params[] = {
    P("auth_payload", "AuthPayload", TV_PT_TEXT, .min = 1, .max = 5456, .flags = TV_PF_SECRET, .rule = R_PAYLOAD),
    P("friendly_name", "FriendlyName", TV_PT_TEXT, .min = 1, .max = 64, .rule = R_FN64),
    P("config_notification_token", "Config.NotificationToken", TV_PT_TEXT, .min = 32, .max = 255,
      .flags = TV_PF_SECRET, .rule = R_TOKEN),
    P("config_sdk_version", "Config.SdkVersion", TV_PT_TEXT, .min = 1, .max = 64, .rule = R_SDK),
    P("config_time_step", "Config.TimeStep", TV_PT_INT, .min = 20, .max = 60, .rule = R_TIMESTEP),
    P("config_skew", "Config.Skew", TV_PT_INT, .min = 0, .max = 2, .rule = R_SKEW),
    P("config_code_length", "Config.CodeLength", TV_PT_INT, .min = 3, .max = 8, .rule = R_CODELEN),
    P("config_alg", "Config.Alg", TV_PT_ENUM, .enums = alg_enum),
    P("config_notification_platform", "Config.NotificationPlatform", TV_PT_ENUM, .enums = platform_enum,
      .rule = R_PLATFORM),
    END,
};

static const tv_param_spec create_factor_params[] = {
    P("friendly_name", "FriendlyName", TV_PT_TEXT, .min = 1, .max = 64, .flags = TV_PF_REQUIRED, .rule = R_FN64C),
    P("factor_type", "FactorType", TV_PT_ENUM, .enums = factor_type_enum, .flags = TV_PF_REQUIRED,
      .rule = R_FACTOR_TYPE),
    P("binding_alg", "Binding.Alg", TV_PT_ENUM, .enums = binding_alg_enum, .rule = R_BINDING_ALG),
    P("binding_public_key", "Binding.PublicKey", TV_PT_TEXT, .min = 1, .max = 4096, .rule = R_PUBKEY),
    P("binding_secret", "Binding.Secret", TV_PT_TEXT, .min = 16, .max = 256, .flags = TV_PF_SECRET,
      .rule = R_SECRET),
    P("config_app_id", "Config.AppId", TV_PT_TEXT, .min = 1, .max = 100, .rule = R_APPID),
    P("config_notification_platform", "Config.NotificationPlatform", TV_PT_ENUM, .enums = platform_enum),
    P("config_notification_token", "Config.NotificationToken", TV_PT_TEXT, .min = 32, .max = 255,
      .flags = TV_PF_SECRET, .rule = R_TOKEN),
    P("config_sdk_version", "Config.SdkVersion", TV_PT_TEXT, .min = 1, .max = 64, .rule = R_SDK),
    P("config_time_step", "Config.TimeStep", TV_PT_INT, .min = 20, .max = 60, .rule = R_TIMESTEP),
    P("config_skew", "Config.Skew", TV_PT_INT, .min = 0, .max = 2, .rule = R_SKEW),
    P("config_code_length", "Config.CodeLength", TV_PT_INT, .min = 3, .max = 8, .rule = R_CODELEN),
    P("config_alg", "Config.Alg", TV_PT_ENUM, .enums = alg_enum),
    P("metadata", "Metadata", TV_PT_JSON, .min = 2, .max = 1024, .rule = R_META),
    END,
};

static const tv_param_spec create_entity_params[] = {
    P("identity", "Identity", TV_PT_IDENTITY, .flags = TV_PF_REQUIRED | TV_PF_POSITIONAL, .rule = R_IDENTITY),
    END,
};

static const tv_param_spec create_challenge_params[] = {
    P("factor_sid", "FactorSid", TV_PT_SID, .prefix = "YF", .flags = TV_PF_REQUIRED),
    P("expiration_date", "ExpirationDate", TV_PT_DATE),
    P("details_message", "Details.Message", TV_PT_TEXT, .min = 1, .max = 256, .rule = R_DMSG),
    P("details_fields", "Details.Fields", TV_PT_JSON, .min = 2, .max = 1024, .flags = TV_PF_ARRAY,
      .max_items = 20, .rule = R_DFIELDS),
    P("hidden_details", "HiddenDetails", TV_PT_JSON, .min = 2, .max = 1024, .rule = R_META),
    P("auth_payload", "AuthPayload", TV_PT_TEXT, .min = 3, .max = 8, .flags = TV_PF_SECRET, .rule = R_CPAYLOAD),
    END,
};

static const tv_param_spec update_challenge_params[] = {
    P("auth_payload", "AuthPayload", TV_PT_TEXT, .min = 1, .max = 5456, .flags = TV_PF_SECRET, .rule = R_CPAYLOAD2),
    P("metadata", "Metadata", TV_PT_JSON, .min = 2, .max = 1024, .rule = R_META),
    END,
};

static const tv_param_spec list_challenge_params[] = {
    P("factor_sid", "FactorSid", TV_PT_SID, .prefix = "YF", .flags = TV_PF_QUERY),
    P("status", "Status", TV_PT_ENUM, .enums = challenge_status_enum, .flags = TV_PF_QUERY),
    P("order", "Order", TV_PT_ENUM, .enums = order_enum, .flags = TV_PF_QUERY),
    PAGING,
    END,
};

/* CreateService and UpdateService share every parameter; only FriendlyName
 * is required on create. */
#define SERVICE_PARAMS(fn_flags)                                                                       \
    P("friendly_name", "FriendlyName", TV_PT_TEXT, .min = 1, .max = 32, .flags = fn_flags, .rule = R_SFN), \
    P("code_length", "CodeLength", TV_PT_INT, .min = 4, .max = 10, .rule = R_SCODELEN),                 \
    P("lookup_enabled", "LookupEnabled", TV_PT_BOOL),                                                   \
    P("skip_sms_to_landlines", "SkipSmsToLandlines", TV_PT_BOOL),                                       \
    P("dtmf_input_required", "DtmfInputRequired", TV_PT_BOOL),                                          \
    P("tts_name", "TtsName", TV_PT_TEXT),                                                               \
    P("psd2_enabled", "Psd2Enabled", TV_PT_BOOL),                                                       \
    P("do_not_share_warning_enabled", "DoNotShareWarningEnabled", TV_PT_BOOL),                          \
    P("custom_code_enabled", "CustomCodeEnabled", TV_PT_BOOL),                                          \
    P("push_include_date", "Push.IncludeDate", TV_PT_BOOL),                                             \
    P("push_apn_credential_sid", "Push.ApnCredentialSid", TV_PT_SID, .prefix = "CR"),                   \
    P("push_fcm_credential_sid", "Push.FcmCredentialSid", TV_PT_SID, .prefix = "CR"),                   \
    P("totp_issuer", "Totp.Issuer", TV_PT_TEXT),                                                        \
    P("totp_time_step", "Totp.TimeStep", TV_PT_INT, .min = 20, .max = 60, .rule = R_TIMESTEP),          \
    P("totp_code_length", "Totp.CodeLength", TV_PT_INT, .min = 3, .max = 8, .rule = R_CODELEN),         \
    P("totp_skew", "Totp.Skew", TV_PT_INT, .min = 0, .max = 2, .rule = R_SKEW),                         \
    P("default_template_sid", "DefaultTemplateSid", TV_PT_SID, .prefix = "HJ"),                         \
    P("whatsapp_msg_service_sid", "Whatsapp.MsgServiceSid", TV_PT_SID, .prefix = "MG"),                 \
    P("whatsapp_from", "Whatsapp.From", TV_PT_TEXT),                                                    \
    P("passkeys_relying_party_id", "Passkeys.RelyingParty.Id", TV_PT_TEXT),                             \
    P("passkeys_relying_party_name", "Passkeys.RelyingParty.Name", TV_PT_TEXT),                         \
    P("passkeys_relying_party_origins", "Passkeys.RelyingParty.Origins", TV_PT_TEXT),                   \
    P("passkeys_authenticator_attachment", "Passkeys.AuthenticatorAttachment", TV_PT_TEXT),             \
    P("passkeys_discoverable_credentials", "Passkeys.DiscoverableCredentials", TV_PT_TEXT),             \
    P("passkeys_user_verification", "Passkeys.UserVerification", TV_PT_TEXT),                           \
    P("verify_event_subscription_enabled", "VerifyEventSubscriptionEnabled", TV_PT_BOOL)

static const tv_param_spec create_service_params[] = {SERVICE_PARAMS(TV_PF_REQUIRED), END};
static const tv_param_spec update_service_params[] = {SERVICE_PARAMS(0), END};

/* ---- Access tokens, notifications, webhooks (Push) ---------------------- */
static const tv_param_spec create_access_token_params[] = {
    P("identity", "Identity", TV_PT_IDENTITY, .flags = TV_PF_REQUIRED | TV_PF_POSITIONAL, .rule = R_IDENTITY),
    P("factor_type", "FactorType", TV_PT_ENUM, .enums = access_token_factor_enum, .flags = TV_PF_REQUIRED),
    P("factor_friendly_name", "FactorFriendlyName", TV_PT_TEXT, .min = 1, .max = 64, .rule = R_FFN),
    P("ttl", "Ttl", TV_PT_INT, .min = 60, .max = 300, .rule = R_TTL_TOKEN),
    END};

static const tv_param_spec create_notification_params[] = {
    P("ttl", "Ttl", TV_PT_INT, .min = 0, .max = 300, .rule = R_TTL_NOTIFY),
    END};

#define WEBHOOK_PARAMS(req)                                                                                 \
    P("friendly_name", "FriendlyName", TV_PT_TEXT, .min = 1, .max = 64, .flags = req, .rule = R_WFN),      \
    P("event_types", "EventTypes", TV_PT_ENUM, .enums = webhook_event_enum, .flags = TV_PF_ARRAY | req,    \
      .rule = R_EVENTS),                                                                                    \
    P("webhook_url", "WebhookUrl", TV_PT_TEXT, .min = 1, .max = 2048, .flags = req, .rule = R_WURL),       \
    P("status", "Status", TV_PT_ENUM, .enums = webhook_status_enum),                                        \
    P("version", "Version", TV_PT_ENUM, .enums = webhook_version_enum)

static const tv_param_spec create_webhook_params[] = {WEBHOOK_PARAMS(TV_PF_REQUIRED), END};
static const tv_param_spec update_webhook_params[] = {WEBHOOK_PARAMS(0), END};

/* ---- path parameters ------------------------------------------------------ */
static const tv_path_param pp_service = {"service_sid", "ServiceSid", "VA", NULL};
static const tv_path_param pp_identity = {"identity", "Identity", NULL, R_IDENTITY};
static const tv_path_param pp_factor = {"sid", "Sid", "YF", NULL};
static const tv_path_param pp_challenge = {"sid", "Sid", "YC", NULL};
static const tv_path_param pp_service_self = {"sid", "Sid", "VA", NULL};
static const tv_path_param pp_access_token = {"sid", "Sid", "YK", NULL};
static const tv_path_param pp_challenge_of = {"challenge_sid", "ChallengeSid", "YC", NULL};
static const tv_path_param pp_webhook = {"sid", "Sid", "YW", NULL};

#define FACTORS "/v2/Services/{ServiceSid}/Entities/{Identity}/Factors"
#define CHALLENGES "/v2/Services/{ServiceSid}/Entities/{Identity}/Challenges"
#define ENTITIES "/v2/Services/{ServiceSid}/Entities"
#define SERVICES "/v2/Services"
#define ACCESS_TOKENS "/v2/Services/{ServiceSid}/AccessTokens"
#define WEBHOOKS "/v2/Services/{ServiceSid}/Webhooks"

/* OP(name, verb, resource, operationId, method, path, params, returns,
 *    list_key, path parameters...) */
#define OP(n, v, r, id, m, p, prm, ret, lk, ...)                                                   \
    {.name = n, .verb = v, .resource = r, .openapi_id = id, .method = m, .path = p,                   \
     .path_params = {__VA_ARGS__}, .params = prm, .returns = ret, .list_key = lk}

const tv_operation tv_operations[] = {
    /* Factors (the seed's four, and creation) */
    OP("fetch_factor", "fetch", "factor", "FetchFactor", TV_GET, FACTORS "/{Sid}", no_params, TV_RET_INSTANCE, NULL, &pp_service, &pp_identity, &pp_factor),
    OP("delete_factor", "delete", "factor", "DeleteFactor", TV_DELETE, FACTORS "/{Sid}", no_params, TV_RET_NONE, NULL, &pp_service, &pp_identity, &pp_factor),
    OP("update_factor", "update", "factor", "UpdateFactor", TV_POST, FACTORS "/{Sid}", update_factor_params, TV_RET_INSTANCE, NULL, &pp_service, &pp_identity, &pp_factor),
    OP("list_factor", "list", "factor", "ListFactor", TV_GET, FACTORS, paging_params, TV_RET_PAGE, "factors", &pp_service, &pp_identity),
    OP("create_factor", "create", "factor", "CreateNewFactor", TV_POST, FACTORS, create_factor_params, TV_RET_INSTANCE, NULL, &pp_service, &pp_identity),
    /* Entities */
    OP("create_entity", "create", "entity", "CreateEntity", TV_POST, ENTITIES, create_entity_params, TV_RET_INSTANCE, NULL, &pp_service),
    OP("fetch_entity", "fetch", "entity", "FetchEntity", TV_GET, ENTITIES "/{Identity}", no_params, TV_RET_INSTANCE, NULL, &pp_service, &pp_identity),
    OP("list_entity", "list", "entity", "ListEntity", TV_GET, ENTITIES, paging_params, TV_RET_PAGE, "entities", &pp_service),
    OP("delete_entity", "delete", "entity", "DeleteEntity", TV_DELETE, ENTITIES "/{Identity}", no_params, TV_RET_NONE, NULL, &pp_service, &pp_identity),
    /* Challenges */
    OP("create_challenge", "create", "challenge", "CreateChallenge", TV_POST, CHALLENGES, create_challenge_params, TV_RET_INSTANCE, NULL, &pp_service, &pp_identity),
    OP("fetch_challenge", "fetch", "challenge", "FetchChallenge", TV_GET, CHALLENGES "/{Sid}", no_params, TV_RET_INSTANCE, NULL, &pp_service, &pp_identity, &pp_challenge),
    OP("list_challenge", "list", "challenge", "ListChallenge", TV_GET, CHALLENGES, list_challenge_params, TV_RET_PAGE, "challenges", &pp_service, &pp_identity),
    OP("update_challenge", "update", "challenge", "UpdateChallenge", TV_POST, CHALLENGES "/{Sid}", update_challenge_params, TV_RET_INSTANCE, NULL, &pp_service, &pp_identity, &pp_challenge),
    /* Services */
    OP("create_service", "create", "service", "CreateService", TV_POST, SERVICES, create_service_params, TV_RET_INSTANCE, NULL, NULL),
    OP("fetch_service", "fetch", "service", "FetchService", TV_GET, SERVICES "/{Sid}", no_params, TV_RET_INSTANCE, NULL, &pp_service_self),
    OP("list_service", "list", "service", "ListService", TV_GET, SERVICES, paging_params, TV_RET_PAGE, "services", NULL),
    OP("update_service", "update", "service", "UpdateService", TV_POST, SERVICES "/{Sid}", update_service_params, TV_RET_INSTANCE, NULL, &pp_service_self),
    OP("delete_service", "delete", "service", "DeleteService", TV_DELETE, SERVICES "/{Sid}", no_params, TV_RET_NONE, NULL, &pp_service_self),
    /* Push: access tokens for the mobile SDK, push re-sends, webhooks */
    OP("create_access_token", "create", "access_token", "CreateAccessToken", TV_POST, ACCESS_TOKENS, create_access_token_params, TV_RET_INSTANCE, NULL, &pp_service),
    OP("fetch_access_token", "fetch", "access_token", "FetchAccessToken", TV_GET, ACCESS_TOKENS "/{Sid}", no_params, TV_RET_INSTANCE, NULL, &pp_service, &pp_access_token),
    OP("create_notification", "create", "notification", "CreateNotification", TV_POST, CHALLENGES "/{ChallengeSid}/Notifications", create_notification_params, TV_RET_INSTANCE, NULL, &pp_service, &pp_identity, &pp_challenge_of),
    OP("create_webhook", "create", "webhook", "CreateWebhook", TV_POST, WEBHOOKS, create_webhook_params, TV_RET_INSTANCE, NULL, &pp_service),
    OP("fetch_webhook", "fetch", "webhook", "FetchWebhook", TV_GET, WEBHOOKS "/{Sid}", no_params, TV_RET_INSTANCE, NULL, &pp_service, &pp_webhook),
    OP("list_webhook", "list", "webhook", "ListWebhook", TV_GET, WEBHOOKS, paging_params, TV_RET_PAGE, "webhooks", &pp_service),
    OP("update_webhook", "update", "webhook", "UpdateWebhook", TV_POST, WEBHOOKS "/{Sid}", update_webhook_params, TV_RET_INSTANCE, NULL, &pp_service, &pp_webhook),
    OP("delete_webhook", "delete", "webhook", "DeleteWebhook", TV_DELETE, WEBHOOKS "/{Sid}", no_params, TV_RET_NONE, NULL, &pp_service, &pp_webhook),
};

const size_t tv_noperations = sizeof tv_operations / sizeof tv_operations[0];

const tv_operation *tv_operation_by_name(const char *name) {
    for (size_t i = 0; i < tv_noperations; i++)
        if (strcmp(tv_operations[i].name, name) == 0) return &tv_operations[i];
    return NULL;
}

size_t tv_operation_npath(const tv_operation *op) {
    size_t n = 0;
    while (n < TV_MAX_PATH_PARAMS && op->path_params[n]) n++;
    return n;
}

int tv_secret_wire_key(const char *key, size_t len) {
    for (size_t i = 0; i < tv_noperations; i++)
        for (const tv_param_spec *p = tv_operations[i].params; p->name; p++)
            if ((p->flags & TV_PF_SECRET) && strlen(p->key) == len && memcmp(p->key, key, len) == 0) return 1;
    return 0;
}
