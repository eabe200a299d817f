/* review.c - valv.v1.Review: the security protection chief's queue. The
 * rules (who is in the queue, what approval sets) are in store/. */
#include "review.h"

#include "limits.h"
#include "page.h"
#include "policy.h"
#include "store.h"
#include "validate.h"
#include "valv/v1/review.pb-c.h"
#include "write.h"

/* Approve and return carry the same fields: one check and one submit serve
 * both. */
typedef struct {
    const char *name, *etag, *comment, *request_id;
} review_decision;

static int check_decision(const review_decision *d, const char **id, valv_error *err)
{
    validate_asset_name(d->name, "name", id, err);
    if (d->etag[0] == '\0')
        valv_error_violation(err, "etag",
                             "required: the etag of the version you reviewed (valv asset get shows it)");
    if (d->comment[0] == '\0')
        valv_error_violation(err, "comment", "required: say what you checked, or what the owner must fix");
    return validate_write_fields(d->request_id, d->etag, err);
}

static int write_approve(store_txn *txn, write_op *op, valv_error *err)
{
    const Valv__V1__ApproveAssetRequest *req = (const void *)op->request;
    Valv__V1__Asset *a = NULL;
    int rc = store_approve_asset(txn, op->id, req->etag, req->comment, &op->who, &a, err);
    return write_result_asset(op, a, rc);
}

static int write_return(store_txn *txn, write_op *op, valv_error *err)
{
    const Valv__V1__ReturnAssetRequest *req = (const void *)op->request;
    Valv__V1__Asset *a = NULL;
    int rc = store_return_asset(txn, op->id, req->etag, req->comment, &op->who, &a, err);
    return write_result_asset(op, a, rc);
}

static void submit_decision(call *c, const ProtobufCMessage *request, const review_decision *d,
                            write_fn fn)
{
    valv_error err;
    valv_error_clear(&err);
    const char *id = NULL;
    if (check_decision(d, &id, &err) != VALV_OK) {
        call_fail(c, &err);
        return;
    }
    write_submit(c, request, id, NULL, fn);
}

void review_approve_asset(call *c, const ProtobufCMessage *request)
{
    const Valv__V1__ApproveAssetRequest *req = (const void *)request;
    review_decision d = {req->name, req->etag, req->comment, req->request_id};
    submit_decision(c, request, &d, write_approve);
}

void review_return_asset(call *c, const ProtobufCMessage *request)
{
    const Valv__V1__ReturnAssetRequest *req = (const void *)request;
    review_decision d = {req->name, req->etag, req->comment, req->request_id};
    submit_decision(c, request, &d, write_return);
}

void review_list_queue(call *c, const ProtobufCMessage *request)
{
    const Valv__V1__ListReviewQueueRequest *req = (const void *)request;
    valv_error err;
    valv_error_clear(&err);
    store_actor viewer;
    policy_actor(c, NULL, &viewer);
    store_queue_request q = {
        .owner_unit = req->owner_unit,
        .page_size = req->page_size,
        .page_token = req->page_token,
        .viewer = &viewer,
    };
    store_list_result result = {0};
    int rc = store_list_review_queue(call_store(c), &q, &result, &err);
    Valv__V1__ListReviewQueueResponse resp;
    valv__v1__list_review_queue_response__init(&resp);
    page_reply(c, rc, &err, &result,
               &(page_fields){&resp.base, &resp.n_assets, &resp.assets, &resp.next_page_token});
}
