#include "methods.h"

#include "grpc/health/v1/health.pb-c.h"
#include "health.h"
#include "grpc/reflection/v1/reflection.pb-c.h"
#include "reflection.h"
#include "admin.h"
#include "audit.h"
#include "import.h"
#include "inventory.h"
#include "review.h"
#include "watch.h"
#include "valv/v1/admin.pb-c.h"
#include "valv/v1/audit.pb-c.h"
#include "valv/v1/import.pb-c.h"
#include "valv/v1/inventory.pb-c.h"
#include "valv/v1/review.pb-c.h"

#define INVENTORY "/valv.v1.Inventory/"
#define REVIEW "/valv.v1.Review/"
#define AUDIT "/valv.v1.Audit/"
#define ADMIN "/valv.v1.Admin/"
#define HEALTH "/grpc.health.v1.Health/"
#define REFLECTION_V1 "/grpc.reflection.v1.ServerReflection/"
#define REFLECTION_V1ALPHA "/grpc.reflection.v1alpha.ServerReflection/"

const method method_table[] = {
    {INVENTORY "CreateAsset", METHOD_UNARY, &valv__v1__create_asset_request__descriptor, inventory_create_asset, METHOD_AUTHENTICATED, AUTHZ_CREATE},
    {INVENTORY "GetAsset", METHOD_UNARY, &valv__v1__get_asset_request__descriptor, inventory_get_asset, METHOD_AUTHENTICATED, AUTHZ_READ},
    {INVENTORY "BatchGetAssets", METHOD_UNARY, &valv__v1__batch_get_assets_request__descriptor, inventory_batch_get_assets, METHOD_AUTHENTICATED, AUTHZ_READ},
    {INVENTORY "UpdateAsset", METHOD_UNARY, &valv__v1__update_asset_request__descriptor, inventory_update_asset, METHOD_AUTHENTICATED, AUTHZ_UPDATE},
    {INVENTORY "DeleteAsset", METHOD_UNARY, &valv__v1__delete_asset_request__descriptor, inventory_delete_asset, METHOD_AUTHENTICATED, AUTHZ_DELETE},
    {INVENTORY "UndeleteAsset", METHOD_UNARY, &valv__v1__undelete_asset_request__descriptor, inventory_undelete_asset, METHOD_AUTHENTICATED, AUTHZ_DELETE},
    {INVENTORY "ListAssets", METHOD_UNARY, &valv__v1__list_assets_request__descriptor, inventory_list_assets, METHOD_AUTHENTICATED, AUTHZ_READ},
    {INVENTORY "CreateLink", METHOD_UNARY, &valv__v1__create_link_request__descriptor, inventory_create_link, METHOD_AUTHENTICATED, AUTHZ_LINK},
    {INVENTORY "DeleteLink", METHOD_UNARY, &valv__v1__delete_link_request__descriptor, inventory_delete_link, METHOD_AUTHENTICATED, AUTHZ_LINK},
    {INVENTORY "ListLinks", METHOD_UNARY, &valv__v1__list_links_request__descriptor, inventory_list_links, METHOD_AUTHENTICATED, AUTHZ_READ},
    {INVENTORY "ImportAssets", METHOD_CLIENT_STREAMING, &valv__v1__import_assets_request__descriptor, import_assets, METHOD_AUTHENTICATED, AUTHZ_IMPORT},
    {INVENTORY "ExportAssets", METHOD_SERVER_STREAMING, &valv__v1__export_assets_request__descriptor, inventory_export_assets, METHOD_AUTHENTICATED, AUTHZ_READ},
    {INVENTORY "WatchChanges", METHOD_SERVER_STREAMING, &valv__v1__watch_changes_request__descriptor, watch_changes, METHOD_AUTHENTICATED, AUTHZ_READ},
    {REVIEW "ListReviewQueue", METHOD_UNARY, &valv__v1__list_review_queue_request__descriptor, review_list_queue, METHOD_AUTHENTICATED, AUTHZ_REVIEW},
    {REVIEW "ApproveAsset", METHOD_UNARY, &valv__v1__approve_asset_request__descriptor, review_approve_asset, METHOD_AUTHENTICATED, AUTHZ_REVIEW},
    {REVIEW "ReturnAsset", METHOD_UNARY, &valv__v1__return_asset_request__descriptor, review_return_asset, METHOD_AUTHENTICATED, AUTHZ_REVIEW},
    {AUDIT "ListAuditEvents", METHOD_UNARY, &valv__v1__list_audit_events_request__descriptor, audit_list_events, METHOD_AUTHENTICATED, AUTHZ_AUDIT_READ},
    {AUDIT "VerifyAuditLog", METHOD_UNARY, &valv__v1__verify_audit_log_request__descriptor, audit_verify_log, METHOD_AUTHENTICATED, AUTHZ_AUDIT_READ},
    {ADMIN "GetSummary", METHOD_UNARY, &valv__v1__get_summary_request__descriptor, admin_get_summary, METHOD_AUTHENTICATED, AUTHZ_READ},
    {ADMIN "GetServerInfo", METHOD_UNARY, &valv__v1__get_server_info_request__descriptor, admin_get_server_info, METHOD_AUTHENTICATED, AUTHZ_ADMIN},
    {ADMIN "Backup", METHOD_SERVER_STREAMING, &valv__v1__backup_request__descriptor, admin_backup, METHOD_AUTHENTICATED, AUTHZ_ADMIN},
    {HEALTH "Check", METHOD_UNARY, &grpc__health__v1__health_check_request__descriptor, health_check, METHOD_OPEN, AUTHZ_READ},
    {HEALTH "Watch", METHOD_SERVER_STREAMING, &grpc__health__v1__health_check_request__descriptor, health_watch, METHOD_OPEN, AUTHZ_READ},
    /* Reflection shows the API's shape (the .proto files, public in the
     * repository), never data, so it is open like health: grpcurl list and
     * describe work without credentials, as their users expect. v1alpha's
     * messages are v1's, wire for wire: one descriptor and handler serve both. */
    {REFLECTION_V1 "ServerReflectionInfo", METHOD_BIDI_STREAMING, &grpc__reflection__v1__server_reflection_request__descriptor, reflection_info, METHOD_OPEN, AUTHZ_READ},
    {REFLECTION_V1ALPHA "ServerReflectionInfo", METHOD_BIDI_STREAMING, &grpc__reflection__v1__server_reflection_request__descriptor, reflection_info, METHOD_OPEN, AUTHZ_READ},
};

const size_t method_count = sizeof method_table / sizeof method_table[0];
