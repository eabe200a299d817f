#include "methods.h"

#include "grpc/health/v1/health.pb-c.h"
#include "health.h"
#include "audit.h"
#include "inventory.h"
#include "review.h"
#include "watch.h"
#include "valv/v1/audit.pb-c.h"
#include "valv/v1/import.pb-c.h"
#include "valv/v1/inventory.pb-c.h"
#include "valv/v1/review.pb-c.h"

#define INVENTORY "/valv.v1.Inventory/"
#define REVIEW "/valv.v1.Review/"
#define AUDIT "/valv.v1.Audit/"
#define AUDIT "/valv.v1.Audit/"
#define HEALTH "/grpc.health.v1.Health/"

const method method_table[] = {
    {INVENTORY "CreateAsset", METHOD_UNARY, &valv__v1__create_asset_request__descriptor, inventory_create_asset},
    {INVENTORY "GetAsset", METHOD_UNARY, &valv__v1__get_asset_request__descriptor, inventory_get_asset},
    {INVENTORY "BatchGetAssets", METHOD_UNARY, &valv__v1__batch_get_assets_request__descriptor, inventory_batch_get_assets},
    {INVENTORY "UpdateAsset", METHOD_UNARY, &valv__v1__update_asset_request__descriptor, inventory_update_asset},
    {INVENTORY "DeleteAsset", METHOD_UNARY, &valv__v1__delete_asset_request__descriptor, inventory_delete_asset},
    {INVENTORY "UndeleteAsset", METHOD_UNARY, &valv__v1__undelete_asset_request__descriptor, inventory_undelete_asset},
    {INVENTORY "ListAssets", METHOD_UNARY, &valv__v1__list_assets_request__descriptor, inventory_list_assets},
    {INVENTORY "CreateLink", METHOD_UNARY, &valv__v1__create_link_request__descriptor, inventory_create_link},
    {INVENTORY "DeleteLink", METHOD_UNARY, &valv__v1__delete_link_request__descriptor, inventory_delete_link},
    {INVENTORY "ListLinks", METHOD_UNARY, &valv__v1__list_links_request__descriptor, inventory_list_links},
    {INVENTORY "ExportAssets", METHOD_SERVER_STREAMING, &valv__v1__export_assets_request__descriptor, inventory_export_assets},
    {INVENTORY "WatchChanges", METHOD_SERVER_STREAMING, &valv__v1__watch_changes_request__descriptor, watch_changes},
    {REVIEW "ListReviewQueue", METHOD_UNARY, &valv__v1__list_review_queue_request__descriptor, review_list_queue},
    {REVIEW "ApproveAsset", METHOD_UNARY, &valv__v1__approve_asset_request__descriptor, review_approve_asset},
    {REVIEW "ReturnAsset", METHOD_UNARY, &valv__v1__return_asset_request__descriptor, review_return_asset},
    {AUDIT "ListAuditEvents", METHOD_UNARY, &valv__v1__list_audit_events_request__descriptor, audit_list_events},
    {AUDIT "VerifyAuditLog", METHOD_UNARY, &valv__v1__verify_audit_log_request__descriptor, audit_verify_log},
    {HEALTH "Check", METHOD_UNARY, &grpc__health__v1__health_check_request__descriptor, health_check},
    {HEALTH "Watch", METHOD_SERVER_STREAMING, &grpc__health__v1__health_check_request__descriptor, health_watch},
};

const size_t method_count = sizeof method_table / sizeof method_table[0];
