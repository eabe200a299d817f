/* requests.c - valvd's first checks on each request, for the request fuzzer.
 *
 * Each check mirrors its handler (service/) and then, when the handler
 * would go on, the store function's checks before its transaction
 * (store/): the same pure functions, called the same way. Rules that are
 * static functions of valvd and not in a header (the order_by parser, the
 * health service names) are left out.
 */
#include "requests.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "filter.h"
#include "grpc/health/v1/health.pb-c.h"
#include "grpc/reflection/v1/reflection.pb-c.h"
#include "invariants.h"
#include "limits.h"
#include "mask.h"
#include "pagetoken.h"
#include "schema.h"
#include "store.h"
#include "validate.h"
#include "valv/v1/admin.pb-c.h"
#include "valv/v1/audit.pb-c.h"
#include "valv/v1/import.pb-c.h"
#include "valv/v1/inventory.pb-c.h"
#include "valv/v1/review.pb-c.h"

/* A fuzzed token never carries this key's HMAC, so every token is refused
 * after its base64url and length checks (fuzz_pagetoken.c goes further). */
static const unsigned char token_key[PAGETOKEN_KEY_LEN];

/* --- What several requests share ---------------------------------------------------- */

/* The page_size and page_token of a list request; query and kind are what
 * the store digests into the token (close enough: a fuzzed token fails its
 * HMAC before the digest is compared). */
static int check_page(int32_t page_size, const char *token, const char *query, const char *kind,
                      valv_error *err)
{
    unsigned char digest[PAGETOKEN_DIGEST_LEN], cursor[PAGETOKEN_CURSOR_MAX];
    size_t cursor_len = 0;

    if (page_size < 0)
        valv_error_violation(err, "page_size", "must not be negative");
    if (token[0] != '\0') {
        pagetoken_query_digest(query, kind, false, digest);
        pagetoken_decode(token_key, digest, token, cursor, sizeof cursor, &cursor_len, err);
    }
    return err->code;
}

/* Parses text as a filter and asks it for its index hint, as ListAssets
 * does before it walks an index. */
static int check_filter(const char *text, valv_error *err)
{
    filter *f = NULL;
    filter_hint hint;

    if (filter_parse(text, &f, err) == VALV_OK)
        filter_hint_get(f, &hint);
    filter_free(f);
    return err->code;
}

/* An asset as the store keeps it, for UpdateAsset's mask to apply to:
 * unpacked, so that every pointer is malloc'd as mask_apply requires.
 * The caller frees it with valv__v1__asset__free_unpacked. */
static Valv__V1__Asset *stored_asset_new(void)
{
    Valv__V1__Asset a = VALV__V1__ASSET__INIT;
    Valv__V1__Classification c = VALV__V1__CLASSIFICATION__INIT;
    Valv__V1__SecurityProtection sec = VALV__V1__SECURITY_PROTECTION__INIT;
    Valv__V1__Asset__AttributesEntry vendor = VALV__V1__ASSET__ATTRIBUTES_ENTRY__INIT;
    Valv__V1__Asset__AttributesEntry *attributes[] = {&vendor};
    char *labels[] = {"gdpr"};
    uint8_t buf[1024];

    c.confidentiality = VALV__V1__LEVEL__SERIOUS;
    c.integrity = VALV__V1__LEVEL__SIGNIFICANT;
    c.rationale = "Personuppgifter om vård och omsorg";
    sec.security_class = VALV__V1__SECURITY_CLASS__NOT_CLASSIFIED;
    vendor.key = "vendor";
    vendor.value = "Tieto";
    a.name = "assets/personakter";
    a.kind = VALV__V1__ASSET_KIND__INFORMATION;
    a.display_name = "Personakter";
    a.description = "Akter i socialtjänsten";
    a.owner_unit = "socialnamnden";
    a.owner = "Anna Andersson";
    a.classification = &c;
    a.security = &sec;
    a.n_attributes = 1;
    a.attributes = attributes;
    a.n_labels = 1;
    a.labels = labels;
    a.source = "servicenow";
    a.external_id = "CI-1001";
    a.revision = 7;
    a.etag = "7";
    if (valv__v1__asset__get_packed_size(&a) > sizeof buf)
        return NULL;
    size_t len = valv__v1__asset__pack(&a, buf);
    return valv__v1__asset__unpack(NULL, len, buf);
}

/* --- Inventory ------------------------------------------------------------------------ */

static int check_create_asset(const ProtobufCMessage *request, valv_error *err)
{
    const Valv__V1__CreateAssetRequest *req = (const void *)request;
    if (req->asset == NULL)
        valv_error_violation(err, "asset", "required");
    if (validate_write_fields(req->request_id, NULL, err) != VALV_OK)
        return err->code;
    /* store_create_asset */
    if (validate_asset(req->asset, true, err) != VALV_OK)
        valv_error_prefix_fields(err, "asset");
    else if (req->asset_id[0] != '\0')
        validate_asset_id(req->asset_id, "asset_id", err);
    return err->code;
}

static int check_get_asset(const ProtobufCMessage *request, valv_error *err)
{
    const Valv__V1__GetAssetRequest *req = (const void *)request;
    const char *id = NULL;
    validate_asset_name(req->name, "name", &id, err);
    return err->code;
}

static int check_batch_get_assets(const ProtobufCMessage *request, valv_error *err)
{
    const Valv__V1__BatchGetAssetsRequest *req = (const void *)request;
    const char *id = NULL;
    if (req->n_names > VALV_BATCH_GET_MAX)
        return valv_error_violation(err, "names", "at most %d", VALV_BATCH_GET_MAX);
    for (size_t i = 0; i < req->n_names; i++) {
        char field[32];
        snprintf(field, sizeof field, "names[%zu]", i);
        validate_asset_name(req->names[i], field, &id, err);
    }
    return err->code;
}

static int check_update_asset(const ProtobufCMessage *request, valv_error *err)
{
    const Valv__V1__UpdateAssetRequest *req = (const void *)request;
    const char *populated[MASK_POPULATED_MAX];
    const char *const *paths = NULL;
    size_t n_paths = 0;
    const char *id = NULL;

    if (req->asset == NULL)
        valv_error_violation(err, "asset", "required");
    else
        validate_asset_name(req->asset->name, "asset.name", &id, err);
    if (validate_write_fields(req->request_id, req->asset != NULL ? req->asset->etag : NULL, err) !=
        VALV_OK)
        return err->code;
    /* store_update_asset: the mask over the stored asset, then the result
     * is checked as on create. */
    if (req->update_mask != NULL && req->update_mask->n_paths > 0) {
        paths = (const char *const *)req->update_mask->paths;
        n_paths = req->update_mask->n_paths;
    } else {
        mask_populated(req->asset, populated, MASK_POPULATED_MAX, &n_paths);
        paths = populated;
    }
    Valv__V1__Asset *updated = stored_asset_new();
    if (updated == NULL)
        abort(); /* the template does not pack: a broken harness */
    if (mask_apply(updated, req->asset, paths, n_paths, err) == VALV_OK &&
        validate_asset(updated, true, err) != VALV_OK)
        valv_error_prefix_fields(err, "asset");
    valv__v1__asset__free_unpacked(updated, NULL);
    return err->code;
}

static int check_delete_asset(const ProtobufCMessage *request, valv_error *err)
{
    const Valv__V1__DeleteAssetRequest *req = (const void *)request;
    const char *id = NULL;
    validate_asset_name(req->name, "name", &id, err);
    validate_write_fields(req->request_id, req->etag, err);
    validate_text(req->reason, VALV_REASON_MAX, "reason", err);
    return err->code;
}

static int check_undelete_asset(const ProtobufCMessage *request, valv_error *err)
{
    const Valv__V1__UndeleteAssetRequest *req = (const void *)request;
    const char *id = NULL;
    validate_asset_name(req->name, "name", &id, err);
    return validate_write_fields(req->request_id, req->etag, err);
}

static int check_list_assets(const ProtobufCMessage *request, valv_error *err)
{
    const Valv__V1__ListAssetsRequest *req = (const void *)request;
    /* store_list_assets: the filter, (order_by,) then the page. */
    if (check_filter(req->filter, err) != VALV_OK)
        return err->code;
    return check_page(req->page_size, req->page_token, req->filter, req->order_by, err);
}

static int check_create_link(const ProtobufCMessage *request, valv_error *err)
{
    const Valv__V1__CreateLinkRequest *req = (const void *)request;
    const char *from_id = NULL, *to_id = NULL;
    if (req->link == NULL)
        valv_error_violation(err, "link", "required: from_asset, to_asset and type");
    else
        validate_link_fields("link.", req->link->from_asset, req->link->to_asset, req->link->type,
                             &from_id, &to_id, err);
    return validate_write_fields(req->request_id, NULL, err);
}

static int check_delete_link(const ProtobufCMessage *request, valv_error *err)
{
    const Valv__V1__DeleteLinkRequest *req = (const void *)request;
    const char *from_id = NULL, *to_id = NULL;
    validate_link_fields("", req->from_asset, req->to_asset, req->type, &from_id, &to_id, err);
    return validate_write_fields(req->request_id, NULL, err);
}

static int check_list_links(const ProtobufCMessage *request, valv_error *err)
{
    const Valv__V1__ListLinksRequest *req = (const void *)request;
    const char *id = NULL;
    if (validate_asset_name(req->asset, "asset", &id, err) != VALV_OK)
        return err->code;
    return check_page(req->page_size, req->page_token, id, "links", err);
}

/* One ImportAssetsRequest of the stream: the header, or a batch. */
static int check_import_message(const ProtobufCMessage *request, valv_error *err)
{
    const Valv__V1__ImportAssetsRequest *req = (const void *)request;

    if (req->message_case == VALV__V1__IMPORT_ASSETS_REQUEST__MESSAGE_HEADER) {
        const Valv__V1__ImportHeader *h = req->header;
        if (h->mode != VALV__V1__IMPORT_MODE__UPSERT && h->mode != VALV__V1__IMPORT_MODE__SYNC)
            return valv_error_violation(err, "header.mode", "required: UPSERT or SYNC");
        if (validate_text(h->request_id, VALV_REQUEST_ID_MAX, "header.request_id", err) != VALV_OK)
            return err->code;
        /* store_import_begin: the source follows an asset's import identity. */
        if (h->source[0] == '\0')
            return valv_error_violation(err, "header.source", "required");
        Valv__V1__Asset identity = VALV__V1__ASSET__INIT;
        identity.source = h->source;
        identity.external_id = "x";
        if (validate_asset(&identity, false, err) != VALV_OK)
            valv_error_prefix_fields(err, "header");
        return err->code;
    }
    if (req->message_case != VALV__V1__IMPORT_ASSETS_REQUEST__MESSAGE_BATCH)
        return valv_error_set(err, VALV_EINVAL, "an empty message");
    if (req->batch->n_records > STORE_IMPORT_BATCH_MAX)
        return valv_error_set(err, VALV_EINVAL, "at most %d records", STORE_IMPORT_BATCH_MAX);
    /* Each record fails alone, with its own reason: every one is checked. */
    for (size_t i = 0; i < req->batch->n_records; i++) {
        valv_error record_err;
        valv_error_clear(&record_err);
        invariant_error(fuzz_import_record_check(req->batch->records[i], &record_err), &record_err);
    }
    return err->code;
}

static int check_export_assets(const ProtobufCMessage *request, valv_error *err)
{
    const Valv__V1__ExportAssetsRequest *req = (const void *)request;
    return check_filter(req->filter, err);
}

static int check_watch_changes(const ProtobufCMessage *request, valv_error *err)
{
    const Valv__V1__WatchChangesRequest *req = (const void *)request;
    if (req->start_revision < 0)
        return valv_error_violation(err, "start_revision", "must not be negative");
    return check_filter(req->filter, err);
}

/* --- Review, audit, admin ------------------------------------------------------------- */

/* service/review.c check_decision, then the store's comment limit. */
static int check_decision(const char *name, const char *etag, const char *comment,
                          const char *request_id, valv_error *err)
{
    const char *id = NULL;
    validate_asset_name(name, "name", &id, err);
    if (etag[0] == '\0')
        valv_error_violation(err, "etag", "required");
    if (comment[0] == '\0')
        valv_error_violation(err, "comment", "required");
    if (validate_write_fields(request_id, etag, err) == VALV_OK)
        validate_text(comment, VALV_COMMENT_MAX, "comment", err);
    return err->code;
}

static int check_approve_asset(const ProtobufCMessage *request, valv_error *err)
{
    const Valv__V1__ApproveAssetRequest *req = (const void *)request;
    return check_decision(req->name, req->etag, req->comment, req->request_id, err);
}

static int check_return_asset(const ProtobufCMessage *request, valv_error *err)
{
    const Valv__V1__ReturnAssetRequest *req = (const void *)request;
    return check_decision(req->name, req->etag, req->comment, req->request_id, err);
}

static int check_list_review_queue(const ProtobufCMessage *request, valv_error *err)
{
    const Valv__V1__ListReviewQueueRequest *req = (const void *)request;
    return check_page(req->page_size, req->page_token, req->owner_unit, "review_queue", err);
}

/* The nanoseconds since 1970 of t (0 for none) that service/audit.c
 * compares; false when they do not fit in 64 bits. */
static bool timestamp_ns(const Google__Protobuf__Timestamp *t, int64_t *ns)
{
    *ns = 0;
    return t == NULL || (!__builtin_mul_overflow(t->seconds, (int64_t)1000000000, ns) &&
                         !__builtin_add_overflow(*ns, (int64_t)t->nanos, ns));
}

static int check_list_audit_events(const ProtobufCMessage *request, valv_error *err)
{
    const Valv__V1__ListAuditEventsRequest *req = (const void *)request;
    const char *id = NULL;
    if (req->asset[0] != '\0')
        validate_asset_name(req->asset, "asset", &id, err);
    validate_text(req->actor, VALV_ACTOR_MAX, "actor", err);
    if (req->action < 0 || req->action > VALV__V1__AUDIT_ACTION__ACTION_INHERIT)
        valv_error_violation(err, "action", "unknown action");
    int64_t start = 0, end = 0;
    if (!timestamp_ns(req->start_time, &start))
        valv_error_violation(err, "start_time", "must be before the year 2262");
    else if (!timestamp_ns(req->end_time, &end))
        valv_error_violation(err, "end_time", "must be before the year 2262");
    else if (start < 0 || end < 0 || (end != 0 && end <= start))
        valv_error_violation(err, "end_time", "must be after start_time");
    if (err->code != VALV_OK)
        return err->code;
    return check_page(req->page_size, req->page_token, req->actor, "oldest_first", err);
}

static int check_get_summary(const ProtobufCMessage *request, valv_error *err)
{
    const Valv__V1__GetSummaryRequest *req = (const void *)request;
    if (req->n_owner_units > ADMIN_SUMMARY_UNITS_MAX)
        return valv_error_violation(err, "owner_units", "at most %d", ADMIN_SUMMARY_UNITS_MAX);
    for (size_t i = 0; i < req->n_owner_units; i++) {
        char field[48];
        snprintf(field, sizeof field, "owner_units[%zu]", i);
        validate_owner_unit(req->owner_units[i], field, err);
    }
    return err->code;
}

/* --- Reflection ------------------------------------------------------------------------- */

/* The lookups of service/reflection.c, over the schema valvd embeds
 * (opened once: it is immutable, as in valvd). */
static int check_reflection(const ProtobufCMessage *request, valv_error *err)
{
    const Grpc__Reflection__V1__ServerReflectionRequest *req = (const void *)request;
    static schema *s;
    schema_files files = {0};
    int32_t *numbers = NULL;
    size_t n_numbers = 0;

    if (s == NULL && schema_open(&s, err) != VALV_OK)
        abort(); /* the embedded schema does not parse: a broken build */
    switch (req->message_request_case) {
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
        schema_file_by_name(s, req->file_by_filename, &files, err);
        break;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
        schema_file_containing_symbol(s, req->file_containing_symbol, &files, err);
        break;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION:
        schema_file_containing_extension(s, req->file_containing_extension->containing_type,
                                         req->file_containing_extension->extension_number, &files,
                                         err);
        break;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE:
        schema_extension_numbers(s, req->all_extension_numbers_of_type, &numbers, &n_numbers, err);
        break;
    default:
        break;
    }
    schema_files_free(&files);
    free(numbers);
    return err->code;
}

/* --- The table ---------------------------------------------------------------------------- */

#define INVENTORY "/valv.v1.Inventory/"
#define REVIEW "/valv.v1.Review/"
#define AUDIT "/valv.v1.Audit/"
#define ADMIN "/valv.v1.Admin/"
#define HEALTH "/grpc.health.v1.Health/"
#define REFLECTION_V1 "/grpc.reflection.v1.ServerReflection/"
#define REFLECTION_V1ALPHA "/grpc.reflection.v1alpha.ServerReflection/"

const fuzz_method fuzz_methods[] = {
    {INVENTORY "CreateAsset", &valv__v1__create_asset_request__descriptor, check_create_asset},
    {INVENTORY "GetAsset", &valv__v1__get_asset_request__descriptor, check_get_asset},
    {INVENTORY "BatchGetAssets", &valv__v1__batch_get_assets_request__descriptor, check_batch_get_assets},
    {INVENTORY "UpdateAsset", &valv__v1__update_asset_request__descriptor, check_update_asset},
    {INVENTORY "DeleteAsset", &valv__v1__delete_asset_request__descriptor, check_delete_asset},
    {INVENTORY "UndeleteAsset", &valv__v1__undelete_asset_request__descriptor, check_undelete_asset},
    {INVENTORY "ListAssets", &valv__v1__list_assets_request__descriptor, check_list_assets},
    {INVENTORY "CreateLink", &valv__v1__create_link_request__descriptor, check_create_link},
    {INVENTORY "DeleteLink", &valv__v1__delete_link_request__descriptor, check_delete_link},
    {INVENTORY "ListLinks", &valv__v1__list_links_request__descriptor, check_list_links},
    {INVENTORY "ImportAssets", &valv__v1__import_assets_request__descriptor, check_import_message},
    {INVENTORY "ExportAssets", &valv__v1__export_assets_request__descriptor, check_export_assets},
    {INVENTORY "WatchChanges", &valv__v1__watch_changes_request__descriptor, check_watch_changes},
    {REVIEW "ListReviewQueue", &valv__v1__list_review_queue_request__descriptor, check_list_review_queue},
    {REVIEW "ApproveAsset", &valv__v1__approve_asset_request__descriptor, check_approve_asset},
    {REVIEW "ReturnAsset", &valv__v1__return_asset_request__descriptor, check_return_asset},
    {AUDIT "ListAuditEvents", &valv__v1__list_audit_events_request__descriptor, check_list_audit_events},
    {AUDIT "VerifyAuditLog", &valv__v1__verify_audit_log_request__descriptor, NULL},
    {ADMIN "GetSummary", &valv__v1__get_summary_request__descriptor, check_get_summary},
    {ADMIN "GetServerInfo", &valv__v1__get_server_info_request__descriptor, NULL},
    {ADMIN "Backup", &valv__v1__backup_request__descriptor, NULL},
    {HEALTH "Check", &grpc__health__v1__health_check_request__descriptor, NULL},
    {HEALTH "Watch", &grpc__health__v1__health_check_request__descriptor, NULL},
    {REFLECTION_V1 "ServerReflectionInfo", &grpc__reflection__v1__server_reflection_request__descriptor, check_reflection},
    {REFLECTION_V1ALPHA "ServerReflectionInfo", &grpc__reflection__v1__server_reflection_request__descriptor, check_reflection},
};

const size_t fuzz_method_count = sizeof fuzz_methods / sizeof fuzz_methods[0];

const fuzz_method *fuzz_method_find(const char *path, size_t len)
{
    for (size_t i = 0; i < fuzz_method_count; i++)
        if (strlen(fuzz_methods[i].path) == len && memcmp(fuzz_methods[i].path, path, len) == 0)
            return &fuzz_methods[i];
    return NULL;
}

/* --- Import records ----------------------------------------------------------------------- */

/* store/import.c record_identify, record_apply and link_target, up to the
 * first look-up. */
int fuzz_import_record_check(const Valv__V1__ImportRecord *rec, valv_error *err)
{
    Valv__V1__Asset view = VALV__V1__ASSET__INIT;
    Valv__V1__Asset__AttributesEntry *entries = NULL, **entry_list = NULL;
    const char *id = NULL;
    size_t n = rec->n_attributes;
    char field[64];

    if (rec->name[0] != '\0' && validate_asset_name(rec->name, "name", &id, err) != VALV_OK)
        goto done;
    if (rec->external_id[0] != '\0') {
        if (validate_text(rec->external_id, VALV_EXTERNAL_ID_MAX, "external_id", err) != VALV_OK)
            goto done;
    } else if (id == NULL) {
        valv_error_violation(err, "external_id", "required");
        goto done;
    }
    if ((rec->classification != NULL && protobuf_c_message_get_packed_size(&rec->classification->base) > 0) ||
        (rec->security != NULL && protobuf_c_message_get_packed_size(&rec->security->base) > 0)) {
        valv_error_set(err, VALV_EINVAL, "an import never sets protection");
        goto done;
    }

    /* The asset the record describes, borrowing its strings (view_build). */
    entries = calloc(n > 0 ? n : 1, sizeof *entries);
    entry_list = calloc(n > 0 ? n : 1, sizeof *entry_list);
    if (entries == NULL || entry_list == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        valv__v1__asset__attributes_entry__init(&entries[i]);
        entries[i].key = rec->attributes[i]->key;
        entries[i].value = rec->attributes[i]->value;
        entry_list[i] = &entries[i];
    }
    bool keyed = rec->external_id[0] != '\0';
    view.kind = rec->kind;
    view.display_name = rec->display_name;
    view.description = rec->description;
    view.owner_unit = rec->owner_unit;
    view.owner = rec->owner;
    view.n_attributes = n;
    view.attributes = entry_list;
    view.n_labels = rec->n_labels;
    view.labels = rec->labels;
    view.source = keyed ? "fuzz" : "";
    view.external_id = rec->external_id;
    if (validate_asset(&view, true, err) != VALV_OK)
        goto done;

    if (rec->n_links > STORE_IMPORT_LINKS_MAX) {
        valv_error_violation(err, "links", "at most %d", STORE_IMPORT_LINKS_MAX);
        goto done;
    }
    for (size_t i = 0; i < rec->n_links && err->code == VALV_OK; i++) {
        const Valv__V1__ImportLink *l = rec->links[i];
        bool by_external_id = l->to_external_id[0] != '\0', by_name = l->to_asset[0] != '\0';
        if (by_external_id == by_name) {
            snprintf(field, sizeof field, "links[%zu]", i);
            valv_error_violation(err, field, "give one of to_external_id and to_asset");
        } else if (by_name) {
            snprintf(field, sizeof field, "links[%zu].to_asset", i);
            validate_asset_name(l->to_asset, field, &id, err);
        } else {
            snprintf(field, sizeof field, "links[%zu].to_external_id", i);
            validate_text(l->to_external_id, VALV_EXTERNAL_ID_MAX, field, err);
        }
    }

done:
    free(entries);
    free(entry_list);
    return err->code;
}
