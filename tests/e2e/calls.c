/* calls.c - typed calls on single assets (see calls.h). */
#include "calls.h"

#include <stddef.h>

#define INV "/valv.v1.Inventory/"

static int call_asset(rpc_conn *c, const char *method, const ProtobufCMessage *req,
                      Valv__V1__Asset **out, valv_error *err)
{
    *out = NULL;
    valv_error_clear(err);
    return rpc_unary(c, method, req, &valv__v1__asset__descriptor, (ProtobufCMessage **)out,
                     CALLS_TIMEOUT_MS, err);
}

int calls_create_asset(rpc_conn *c, const char *asset_id, Valv__V1__AssetKind kind,
                       const char *unit, const char *display_name, const char *description,
                       int timeout_ms, Valv__V1__Asset **out, valv_error *err)
{
    Valv__V1__Asset asset = VALV__V1__ASSET__INIT;
    asset.kind = kind;
    asset.display_name = (char *)display_name;
    if (description != NULL)
        asset.description = (char *)description;
    asset.owner_unit = (char *)unit;
    Valv__V1__CreateAssetRequest req = VALV__V1__CREATE_ASSET_REQUEST__INIT;
    req.asset = &asset;
    if (asset_id != NULL)
        req.asset_id = (char *)asset_id;
    Valv__V1__Asset *created = NULL;
    valv_error_clear(err);
    int rc = rpc_unary(c, INV "CreateAsset", &req.base, &valv__v1__asset__descriptor,
                       (ProtobufCMessage **)&created, timeout_ms, err);
    if (out != NULL)
        *out = created;
    else if (created != NULL)
        valv__v1__asset__free_unpacked(created, NULL);
    return rc;
}

int calls_create(rpc_conn *c, const char *asset_id, const char *display_name,
                 const char *description, Valv__V1__Asset **out, valv_error *err)
{
    return calls_create_asset(c, asset_id, VALV__V1__ASSET_KIND__IT_SYSTEM, CALLS_UNIT,
                              display_name, description, CALLS_TIMEOUT_MS, out, err);
}

int calls_get(rpc_conn *c, const char *name, Valv__V1__Asset **out, valv_error *err)
{
    Valv__V1__GetAssetRequest req = VALV__V1__GET_ASSET_REQUEST__INIT;
    req.name = (char *)name;
    return call_asset(c, INV "GetAsset", &req.base, out, err);
}

int calls_set_description(rpc_conn *c, const char *name, const char *etag,
                          const char *description, Valv__V1__Asset **out, valv_error *err)
{
    Valv__V1__Asset patch = VALV__V1__ASSET__INIT;
    patch.name = (char *)name;
    patch.etag = (char *)etag;
    patch.description = (char *)description;
    char *paths[] = {"description"};
    Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    mask.n_paths = 1;
    mask.paths = paths;
    Valv__V1__UpdateAssetRequest req = VALV__V1__UPDATE_ASSET_REQUEST__INIT;
    req.asset = &patch;
    req.update_mask = &mask;
    return call_asset(c, INV "UpdateAsset", &req.base, out, err);
}

int calls_link(rpc_conn *c, const char *from, const char *to, valv_error *err)
{
    Valv__V1__Link link = VALV__V1__LINK__INIT;
    link.from_asset = (char *)from;
    link.to_asset = (char *)to;
    link.type = VALV__V1__LINK_TYPE__DEPENDS_ON;
    Valv__V1__CreateLinkRequest req = VALV__V1__CREATE_LINK_REQUEST__INIT;
    req.link = &link;
    ProtobufCMessage *reply = NULL;
    valv_error_clear(err);
    int rc = rpc_unary(c, INV "CreateLink", &req.base, &valv__v1__link__descriptor, &reply,
                       CALLS_TIMEOUT_MS, err);
    if (reply != NULL)
        protobuf_c_message_free_unpacked(reply, NULL);
    return rc;
}
