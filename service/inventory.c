/* inventory.c - valv.v1.Inventory: the shape of each request is checked
 * here, the domain rules in store/.
 *
 * Reads run on the worker thread in their own read transaction. Writes go
 * through write.h; each method adds only a small function that turns its
 * request into a store call.
 */
#include "inventory.h"

#include <stdio.h>
#include <stdlib.h>

#include "limits.h"
#include "page.h"
#include "policy.h"
#include "store.h"
#include "validate.h"
#include "valv/v1/inventory.pb-c.h"
#include "write.h"

static void free_asset(Valv__V1__Asset *a)
{
    if (a != NULL)
        valv__v1__asset__free_unpacked(a, NULL);
}


/* --- Writes -------------------------------------------------------------------- */

static int write_create(store_txn *txn, write_op *op, valv_error *err)
{
    const Valv__V1__CreateAssetRequest *req = (const void *)op->request;
    Valv__V1__Asset *a = NULL;
    int rc = store_create_asset(txn, req->asset, req->asset_id, &op->who, &a, err);
    return write_result_asset(op, a, rc);
}

void inventory_create_asset(call *c, const ProtobufCMessage *request)
{
    const Valv__V1__CreateAssetRequest *req = (const void *)request;
    valv_error err;
    valv_error_clear(&err);
    if (req->asset == NULL)
        valv_error_violation(&err, "asset", "required: the asset to create");
    validate_write_fields(req->request_id, NULL, &err);
    if (err.code != VALV_OK) {
        call_fail(c, &err);
        return;
    }
    write_submit(c, request, NULL, NULL, write_create);
}

static int write_update(store_txn *txn, write_op *op, valv_error *err)
{
    const Valv__V1__UpdateAssetRequest *req = (const void *)op->request;
    const Google__Protobuf__FieldMask *mask = req->update_mask;
    Valv__V1__Asset *a = NULL;
    int rc = store_update_asset(txn, req->asset,
                                mask != NULL ? (const char *const *)mask->paths : NULL,
                                mask != NULL ? mask->n_paths : 0, &op->who, &a, err);
    return write_result_asset(op, a, rc);
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
    validate_write_fields(req->request_id, req->asset != NULL ? req->asset->etag : NULL, &err);
    if (err.code != VALV_OK) {
        call_fail(c, &err);
        return;
    }
    write_submit(c, request, id, NULL, write_update);
}

static int write_delete(store_txn *txn, write_op *op, valv_error *err)
{
    const Valv__V1__DeleteAssetRequest *req = (const void *)op->request;
    Valv__V1__Asset *a = NULL;
    int rc = store_delete_asset(txn, op->id, req->etag, req->reason, req->force, &op->who, &a,
                                err);
    return write_result_asset(op, a, rc);
}

void inventory_delete_asset(call *c, const ProtobufCMessage *request)
{
    const Valv__V1__DeleteAssetRequest *req = (const void *)request;
    valv_error err;
    valv_error_clear(&err);
    const char *id = NULL;
    validate_asset_name(req->name, "name", &id, &err);
    validate_write_fields(req->request_id, req->etag, &err);
    validate_text(req->reason, VALV_REASON_MAX, "reason", &err);
    if (err.code != VALV_OK) {
        call_fail(c, &err);
        return;
    }
    write_submit(c, request, id, NULL, write_delete);
}

static int write_undelete(store_txn *txn, write_op *op, valv_error *err)
{
    const Valv__V1__UndeleteAssetRequest *req = (const void *)op->request;
    Valv__V1__Asset *a = NULL;
    int rc = store_undelete_asset(txn, op->id, req->etag, &op->who, &a, err);
    return write_result_asset(op, a, rc);
}

void inventory_undelete_asset(call *c, const ProtobufCMessage *request)
{
    const Valv__V1__UndeleteAssetRequest *req = (const void *)request;
    valv_error err;
    valv_error_clear(&err);
    const char *id = NULL;
    validate_asset_name(req->name, "name", &id, &err);
    validate_write_fields(req->request_id, req->etag, &err);
    if (err.code != VALV_OK) {
        call_fail(c, &err);
        return;
    }
    write_submit(c, request, id, NULL, write_undelete);
}

/* --- Reads ----------------------------------------------------------------------- */

/* What a caller who may not see an asset is told: exactly what they would
 * be told if it did not exist. */
static const valv_error *not_found(const char *name, valv_error *err)
{
    valv_error_clear(err);
    valv_error_set(err, VALV_ENOTFOUND, "asset %s not found", name);
    return err;
}

void inventory_get_asset(call *c, const ProtobufCMessage *request)
{
    const Valv__V1__GetAssetRequest *req = (const void *)request;
    valv_error err;
    valv_error_clear(&err);
    const char *id = NULL;
    store_actor viewer;
    policy_actor(c, NULL, &viewer);
    /* The asset lives only for this answer: it is read into an arena on
     * the stack, and answered with as stored when reading left it so. */
    unsigned char buffer[ARENA_ASSET_BYTES];
    arena mem;
    arena_init(&mem, buffer, sizeof buffer);
    store_asset_reply reply;
    if (validate_asset_name(req->name, "name", &id, &err) != VALV_OK ||
        store_read_asset(call_store(c), id, &viewer, &mem, &reply, &err) != VALV_OK)
        call_fail(c, &err);
    else if (reply.encoded != NULL)
        call_reply_encoded(c, reply.encoded, reply.encoded_len);
    else
        call_reply(c, &reply.asset->base);
    arena_reset(&mem);
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
    for (size_t i = 0; i < req->n_names; i++) {
        if (!policy_visible(c, assets[i])) {
            not_found(req->names[i], &err);
            goto done;
        }
    }

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
    store_actor viewer;
    policy_actor(c, NULL, &viewer);
    store_list_request list = {
        .filter = req->filter,
        .order_by = req->order_by,
        .page_size = req->page_size,
        .page_token = req->page_token,
        .show_deleted = req->show_deleted,
        .viewer = &viewer,
    };
    store_list_result result = {0};
    int rc = store_list_assets(call_store(c), &list, &result, &err);
    Valv__V1__ListAssetsResponse resp;
    valv__v1__list_assets_response__init(&resp);
    page_reply(c, rc, &err, &result,
               &(page_fields){&resp.base, &resp.n_assets, &resp.assets, &resp.next_page_token});
}

/* --- Links ------------------------------------------------------------------------ */

/* Checks the two ends and the type of a link named in a request. field
 * prefixes the field names ("link." for CreateLink, "" for DeleteLink). */
static int write_create_link(store_txn *txn, write_op *op, valv_error *err)
{
    const Valv__V1__CreateLinkRequest *req = (const void *)op->request;
    Valv__V1__Link *link = NULL;
    int rc = store_create_link(txn, op->id, op->other_id, req->link->type, &op->who, &link, err);
    if (rc == VALV_EINVAL)
        valv_error_prefix_fields(err, "link"); /* the request's fields are link.* */
    op->result = link != NULL ? &link->base : NULL;
    return rc;
}

void inventory_create_link(call *c, const ProtobufCMessage *request)
{
    const Valv__V1__CreateLinkRequest *req = (const void *)request;
    valv_error err;
    valv_error_clear(&err);
    const char *from_id = NULL, *to_id = NULL;
    if (req->link == NULL)
        valv_error_violation(&err, "link", "required: from_asset, to_asset and type");
    else
        validate_link_fields("link.", req->link->from_asset, req->link->to_asset,
                             req->link->type, &from_id, &to_id, &err);
    validate_write_fields(req->request_id, NULL, &err);
    if (err.code != VALV_OK) {
        call_fail(c, &err);
        return;
    }
    write_submit(c, request, from_id, to_id, write_create_link);
}

static int write_delete_link(store_txn *txn, write_op *op, valv_error *err)
{
    const Valv__V1__DeleteLinkRequest *req = (const void *)op->request;
    return store_delete_link(txn, op->id, op->other_id, req->type, &op->who, err);
}

void inventory_delete_link(call *c, const ProtobufCMessage *request)
{
    const Valv__V1__DeleteLinkRequest *req = (const void *)request;
    valv_error err;
    valv_error_clear(&err);
    const char *from_id = NULL, *to_id = NULL;
    validate_link_fields("", req->from_asset, req->to_asset, req->type, &from_id, &to_id, &err);
    validate_write_fields(req->request_id, NULL, &err);
    if (err.code != VALV_OK) {
        call_fail(c, &err);
        return;
    }
    write_submit(c, request, from_id, to_id, write_delete_link);
}

void inventory_list_links(call *c, const ProtobufCMessage *request)
{
    const Valv__V1__ListLinksRequest *req = (const void *)request;
    valv_error err;
    valv_error_clear(&err);
    store_actor viewer;
    policy_actor(c, NULL, &viewer);
    const char *id = NULL;
    store_link_list_result result = {0};
    if (validate_asset_name(req->asset, "asset", &id, &err) != VALV_OK ||
        store_list_links(call_store(c), id, &viewer, req->page_size, req->page_token, &result, &err) != VALV_OK) {
        call_fail(c, &err);
        return;
    }
    Valv__V1__ListLinksResponse resp;
    valv__v1__list_links_response__init(&resp);
    resp.n_links = result.n_links;
    resp.links = result.links;
    if (result.next_page_token != NULL)
        resp.next_page_token = result.next_page_token;
    call_reply(c, &resp.base);
    store_link_list_result_free(&result);
}

/* --- Export -------------------------------------------------------------------------- */

#define EXPORT_PAGE 1000 /* assets read at a time: the stream's memory bound */

/* An export walks ListAssets' keyset pages, one page in memory at a time,
 * sending one asset per message. */
typedef struct {
    const Valv__V1__ExportAssetsRequest *req; /* borrowed from the call */
    store_actor viewer;                       /* who is exporting: what they may see */
    store_list_result page;
    size_t next;
    bool last_page;
} export_stream;

static void export_free(void *arg)
{
    export_stream *x = arg;
    store_list_result_free(&x->page);
    free(x);
}

static void export_pump(call *c, export_stream *x);

static void export_sent(call *c, bool ok, void *arg)
{
    if (!ok) {
        valv_error err;
        valv_error_clear(&err);
        valv_error_set(&err, VALV_ECANCELLED, "the client went away");
        call_fail(c, &err);
        return;
    }
    export_pump(c, arg);
}

static void export_pump(call *c, export_stream *x)
{
    valv_error err;
    valv_error_clear(&err);
    if (x->next == x->page.n_assets) {
        if (call_should_stop(c)) {
            valv_error_set(&err, VALV_EDEADLINE, "the export was cancelled or its deadline passed");
            call_fail(c, &err);
            return;
        }
        if (x->last_page) {
            call_end(c);
            return;
        }
        char *token = x->page.next_page_token;
        x->page.next_page_token = NULL;
        store_list_result_free(&x->page);
        store_list_request list = {
            .filter = x->req->filter,
            .page_size = EXPORT_PAGE,
            .page_token = token,
            .show_deleted = x->req->show_deleted,
            .viewer = &x->viewer,
        };
        int rc = store_list_assets(call_store(c), &list, &x->page, &err);
        free(token);
        if (rc != VALV_OK) {
            call_fail(c, &err);
            return;
        }
        x->next = 0;
        x->last_page = x->page.next_page_token == NULL;
        if (x->page.n_assets == 0) {
            call_end(c);
            return;
        }
    }
    call_send(c, &x->page.assets[x->next++]->base, export_sent, x);
}

void inventory_export_assets(call *c, const ProtobufCMessage *request)
{
    export_stream *x = calloc(1, sizeof *x);
    if (x == NULL) {
        valv_error err;
        valv_error_clear(&err);
        valv_error_set(&err, VALV_EFULL, "valvd is out of memory; retry later");
        call_fail(c, &err);
        return;
    }
    x->req = (const void *)request;
    policy_actor(c, NULL, &x->viewer);
    call_on_free(c, export_free, x);
    export_pump(c, x);
}
