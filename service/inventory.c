/* inventory.c - valv.v1.Inventory: the shape of each request is checked
 * here, the domain rules in store/.
 *
 * Reads run on the worker thread in their own read transaction. Writes
 * become jobs for the writer (writer.h): one shared path, asset_write,
 * serves every write method; each method adds only a small function that
 * turns its request into a store call.
 */
#include "inventory.h"

#include <stdio.h>
#include <stdlib.h>

#include "limits.h"
#include "store.h"
#include "validate.h"
#include "valv/v1/inventory.pb-c.h"
#include "writer.h"

#define ETAG_MAX 64

/* --- The write path ------------------------------------------------------------ */

typedef struct asset_write asset_write;

/* Turns one request into one store write inside txn. */
typedef int (*asset_write_fn)(store_txn *txn, const asset_write *w, Valv__V1__Asset **out,
                              valv_error *err);

struct asset_write {
    writer_job job; /* first: writer hands back &job */
    call *call;
    const ProtobufCMessage *request; /* borrowed from the call */
    const char *id;                  /* the asset id named by the request; borrowed */
    store_actor who;
    asset_write_fn write;
    Valv__V1__Asset *result;
};

static void free_asset(Valv__V1__Asset *a)
{
    if (a != NULL)
        valv__v1__asset__free_unpacked(a, NULL);
}

static int asset_write_apply(writer_job *job, store_txn *txn, valv_error *err)
{
    asset_write *w = (asset_write *)job;
    free_asset(w->result); /* left by an earlier run of this group, if any */
    w->result = NULL;
    if (call_should_stop(w->call))
        return valv_error_set(err, VALV_EDEADLINE,
                              "the deadline passed or the client cancelled before the write ran; nothing was written");
    return w->write(txn, w, &w->result, err);
}

static void asset_write_done(writer_job *job, int rc, const valv_error *err)
{
    asset_write *w = (asset_write *)job;
    if (rc == VALV_OK)
        call_reply(w->call, &w->result->base);
    else
        call_fail(w->call, err);
    free_asset(w->result);
    free(w);
}

/* Queues a write; the call is answered after the commit. request_id may be
 * NULL. */
static void submit_asset_write(call *c, const ProtobufCMessage *request, const char *id,
                               const char *request_id, asset_write_fn write)
{
    asset_write *w = calloc(1, sizeof *w);
    if (w == NULL) {
        valv_error err;
        valv_error_clear(&err);
        valv_error_set(&err, VALV_EFULL, "valvd is out of memory; retry later");
        call_fail(c, &err);
        return;
    }
    w->job.apply = asset_write_apply;
    w->job.done = asset_write_done;
    w->call = c;
    w->request = request;
    w->id = id;
    w->who.actor = call_actor(c);
    w->who.request_id = request_id;
    w->write = write;
    writer_submit(call_writer(c), &w->job);
}

/* Checks the fields every write request may carry. */
static int check_write_fields(const char *request_id, const char *etag, valv_error *err)
{
    if (request_id != NULL)
        validate_text(request_id, VALV_REQUEST_ID_MAX, "request_id", err);
    if (etag != NULL)
        validate_text(etag, ETAG_MAX, "etag", err);
    return err->code;
}

/* --- Writes -------------------------------------------------------------------- */

static int write_create(store_txn *txn, const asset_write *w, Valv__V1__Asset **out,
                        valv_error *err)
{
    const Valv__V1__CreateAssetRequest *req = (const void *)w->request;
    return store_create_asset(txn, req->asset, req->asset_id, &w->who, out, err);
}

void inventory_create_asset(call *c, const ProtobufCMessage *request)
{
    const Valv__V1__CreateAssetRequest *req = (const void *)request;
    valv_error err;
    valv_error_clear(&err);
    if (req->asset == NULL)
        valv_error_violation(&err, "asset", "required: the asset to create");
    check_write_fields(req->request_id, NULL, &err);
    if (err.code != VALV_OK) {
        call_fail(c, &err);
        return;
    }
    submit_asset_write(c, request, NULL, req->request_id, write_create);
}

static int write_update(store_txn *txn, const asset_write *w, Valv__V1__Asset **out,
                        valv_error *err)
{
    const Valv__V1__UpdateAssetRequest *req = (const void *)w->request;
    const Google__Protobuf__FieldMask *mask = req->update_mask;
    return store_update_asset(txn, req->asset, mask != NULL ? (const char *const *)mask->paths : NULL,
                              mask != NULL ? mask->n_paths : 0, &w->who, out, err);
}

void inventory_update_asset(call *c, const ProtobufCMessage *request)
{
    const Valv__V1__UpdateAssetRequest *req = (const void *)request;
    valv_error err;
    valv_error_clear(&err);
    const char *id = NULL;
    if (req->asset == NULL)
        valv_error_violation(&err, "asset", "required: the asset with its name and the fields to change");
    else
        validate_asset_name(req->asset->name, "asset.name", &id, &err);
    check_write_fields(req->request_id, req->asset != NULL ? req->asset->etag : NULL, &err);
    if (err.code != VALV_OK) {
        call_fail(c, &err);
        return;
    }
    submit_asset_write(c, request, id, req->request_id, write_update);
}

static int write_delete(store_txn *txn, const asset_write *w, Valv__V1__Asset **out,
                        valv_error *err)
{
    const Valv__V1__DeleteAssetRequest *req = (const void *)w->request;
    return store_delete_asset(txn, w->id, req->etag, req->reason, req->force, &w->who, out,
                              err);
}

void inventory_delete_asset(call *c, const ProtobufCMessage *request)
{
    const Valv__V1__DeleteAssetRequest *req = (const void *)request;
    valv_error err;
    valv_error_clear(&err);
    const char *id = NULL;
    validate_asset_name(req->name, "name", &id, &err);
    check_write_fields(req->request_id, req->etag, &err);
    validate_text(req->reason, VALV_REASON_MAX, "reason", &err);
    if (err.code != VALV_OK) {
        call_fail(c, &err);
        return;
    }
    submit_asset_write(c, request, id, req->request_id, write_delete);
}

static int write_undelete(store_txn *txn, const asset_write *w, Valv__V1__Asset **out,
                          valv_error *err)
{
    const Valv__V1__UndeleteAssetRequest *req = (const void *)w->request;
    return store_undelete_asset(txn, w->id, req->etag, &w->who, out, err);
}

void inventory_undelete_asset(call *c, const ProtobufCMessage *request)
{
    const Valv__V1__UndeleteAssetRequest *req = (const void *)request;
    valv_error err;
    valv_error_clear(&err);
    const char *id = NULL;
    validate_asset_name(req->name, "name", &id, &err);
    check_write_fields(req->request_id, req->etag, &err);
    if (err.code != VALV_OK) {
        call_fail(c, &err);
        return;
    }
    submit_asset_write(c, request, id, req->request_id, write_undelete);
}

/* --- Reads ----------------------------------------------------------------------- */

void inventory_get_asset(call *c, const ProtobufCMessage *request)
{
    const Valv__V1__GetAssetRequest *req = (const void *)request;
    valv_error err;
    valv_error_clear(&err);
    const char *id = NULL;
    Valv__V1__Asset *asset = NULL;
    if (validate_asset_name(req->name, "name", &id, &err) == VALV_OK &&
        store_get_asset(call_store(c), id, &asset, &err) == VALV_OK)
        call_reply(c, &asset->base);
    else
        call_fail(c, &err);
    free_asset(asset);
}

void inventory_batch_get_assets(call *c, const ProtobufCMessage *request)
{
    const Valv__V1__BatchGetAssetsRequest *req = (const void *)request;
    valv_error err;
    valv_error_clear(&err);
    const char **ids = NULL;
    Valv__V1__Asset **assets = NULL;

    if (req->n_names > VALV_BATCH_GET_MAX) {
        valv_error_violation(&err, "names", "%zu names; at most %d in one call", req->n_names,
                             VALV_BATCH_GET_MAX);
        goto done;
    }
    ids = calloc(req->n_names + 1, sizeof *ids);
    if (ids == NULL) {
        valv_error_set(&err, VALV_EFULL, "valvd is out of memory; retry later");
        goto done;
    }
    for (size_t i = 0; i < req->n_names; i++) {
        char field[32];
        snprintf(field, sizeof field, "names[%zu]", i);
        validate_asset_name(req->names[i], field, &ids[i], &err);
    }
    if (err.code != VALV_OK)
        goto done;
    if (store_batch_get_assets(call_store(c), ids, req->n_names, &assets, &err) != VALV_OK)
        goto done;

    Valv__V1__BatchGetAssetsResponse resp;
    valv__v1__batch_get_assets_response__init(&resp);
    resp.n_assets = req->n_names;
    resp.assets = assets;
    call_reply(c, &resp.base);

done:
    if (err.code != VALV_OK)
        call_fail(c, &err);
    if (assets != NULL) {
        for (size_t i = 0; i < req->n_names; i++)
            free_asset(assets[i]);
        free(assets);
    }
    free(ids);
}

void inventory_list_assets(call *c, const ProtobufCMessage *request)
{
    const Valv__V1__ListAssetsRequest *req = (const void *)request;
    valv_error err;
    valv_error_clear(&err);
    store_list_request list = {
        .filter = req->filter,
        .order_by = req->order_by,
        .page_size = req->page_size,
        .page_token = req->page_token,
        .show_deleted = req->show_deleted,
    };
    store_list_result result = {0};
    if (store_list_assets(call_store(c), &list, &result, &err) != VALV_OK) {
        call_fail(c, &err);
        return;
    }
    Valv__V1__ListAssetsResponse resp;
    valv__v1__list_assets_response__init(&resp);
    resp.n_assets = result.n_assets;
    resp.assets = result.assets;
    if (result.next_page_token != NULL)
        resp.next_page_token = result.next_page_token;
    call_reply(c, &resp.base);
    store_list_result_free(&result);
}
