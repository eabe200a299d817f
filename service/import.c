/* import.c - valv.v1.Inventory/ImportAssets: a header, then batches of
 * records, applied through the writer as they arrive.
 *
 * While the writer applies some batches, the next messages are received
 * and decoded, so that the two overlap, until no further batch would fit
 * in IMPORT_COMMIT_RECORDS records (or IMPORT_COMMIT_MESSAGES messages);
 * no further message is received until the writer takes them, all
 * together, in one transaction. The writer only records how its step
 * ended and kicks the call: what follows (the next step, the answer) runs
 * on the call's worker thread, like every message callback, so the
 * stream's state needs no lock. A long stream holds at most twice
 * IMPORT_COMMIT_RECORDS decoded records, and gRPC's flow control slows a
 * client that sends faster than the store writes. An atomic import is the
 * exception: its records are kept (at most STORE_IMPORT_ATOMIC_MAX) and
 * applied in one transaction at the end, all or nothing. The rules of an
 * import are store/'s (store.h, "Imports").
 */
#include "import.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "limits.h"
#include "policy.h"
#include "store.h"
#include "validate.h"
#include "valv/v1/import.pb-c.h"
#include "writer.h"

/* How many records, at most, one commit of a stream takes. A commit
 * writes every page its records touched, and fewer, larger commits touch
 * the same pages (the ends of the tables, the upper levels of the trees)
 * fewer times: bench_import went from 45,600 records/s with 1,000 records
 * a commit to 46,900-50,300 with 2,000 (and no better with 4,000). A
 * larger one would hold the one writer longer (2,000 records: about 40 ms),
 * while other callers' writes wait, and roll back more if it fails. */
#define IMPORT_COMMIT_RECORDS (2 * STORE_IMPORT_BATCH_MAX)
#define IMPORT_COMMIT_MESSAGES 16

typedef enum { STEP_BATCH, STEP_FINISH } import_step;

/* Batch messages in stream order, and their records. */
typedef struct {
    Valv__V1__ImportAssetsRequest *messages[IMPORT_COMMIT_MESSAGES];
    size_t n;
    size_t n_records;
} message_list;

/* True when a batch of the largest size might not fit in l. */
static bool list_full(const message_list *l)
{
    return l->n == IMPORT_COMMIT_MESSAGES ||
           l->n_records + STORE_IMPORT_BATCH_MAX > IMPORT_COMMIT_RECORDS;
}

/* Adds req (taken over) to l, which must not be full (list_full). */
static void list_add(message_list *l, Valv__V1__ImportAssetsRequest *req)
{
    l->messages[l->n++] = req;
    l->n_records += req->batch->n_records;
}

static void list_free(message_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        protobuf_c_message_free_unpacked(&l->messages[i]->base, NULL);
    l->n = 0;
    l->n_records = 0;
}

typedef struct {
    writer_job job; /* first: the writer hands back &job */
    call *call;
    store_import *imp;
    store_actor who; /* request_id: the call's, which the header may set */
    bool atomic;
    int64_t next_index; /* stream position of the next record */

    import_step step;
    message_list applying; /* the batches the writer has (STEP_BATCH) */
    int step_rc;           /* how the writer's last step ended */
    valv_error step_err;

    /* What arrives while the writer has a step waits for it to finish. */
    bool writing;          /* a step is with the writer */
    bool receiving;        /* a message has been asked for and not yet come */
    message_list waiting;  /* the next batches, received meanwhile */
    bool ended;            /* the client finished sending meanwhile */
    bool broken;           /* the stream failed meanwhile: */
    valv_error broken_err; /* why */

    /* Atomic imports: every batch message, kept until the end. */
    Valv__V1__ImportAssetsRequest **held;
    size_t n_held, cap_held, n_held_records;
} import_stream;

static void import_free(void *arg)
{
    import_stream *x = arg;
    list_free(&x->applying);
    list_free(&x->waiting);
    for (size_t i = 0; i < x->n_held; i++)
        protobuf_c_message_free_unpacked(&x->held[i]->base, NULL);
    free(x->held);
    store_import_free(x->imp);
    free(x);
}

/* Ends the stream with err: at once, or, while the writer has a step, once
 * it and the batches received before err are in (import_answer). The
 * call, and the import the writer is using, must outlive the writer's
 * work: a call ended now could be freed under it. */
static void stream_fail(import_stream *x, const valv_error *err)
{
    if (!x->writing) {
        call_fail(x->call, err);
    } else if (!x->broken) {
        x->broken = true;
        x->broken_err = *err;
    }
}

static void fail(import_stream *x, valv_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(import_stream *x, valv_code code, const char *fmt, ...)
{
    valv_error err;
    valv_error_clear(&err);
    err.code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err.message, sizeof err.message, fmt, ap);
    va_end(ap);
    stream_fail(x, &err);
}

/* Applies one message's records. */
static int apply_batch(store_txn *txn, import_stream *x, Valv__V1__ImportBatch *b,
                       int64_t first_index, valv_error *err)
{
    return store_import_apply(txn, x->imp, b->records, b->n_records, first_index, &x->who, err);
}

static int import_apply(writer_job *job, store_txn *txn, valv_error *err)
{
    import_stream *x = (import_stream *)job;
    if (call_should_stop(x->call))
        return valv_error_set(err, VALV_EDEADLINE, "the import was cancelled or its deadline "
                                                   "passed; these batches were not written");
    if (x->step == STEP_BATCH) {
        int64_t index = x->next_index;
        for (size_t i = 0; i < x->applying.n; i++) {
            int rc = apply_batch(txn, x, x->applying.messages[i]->batch, index, err);
            if (rc != VALV_OK)
                return rc;
            index += (int64_t)x->applying.messages[i]->batch->n_records;
        }
        return VALV_OK;
    }
    /* STEP_FINISH. An atomic import applies everything now, in this one
     * transaction; store_import_apply rolls it all back on any failure. */
    int64_t index = 0;
    for (size_t i = 0; i < x->n_held; i++) {
        int rc = apply_batch(txn, x, x->held[i]->batch, index, err);
        if (rc != VALV_OK)
            return rc;
        index += (int64_t)x->held[i]->batch->n_records;
    }
    return store_import_finish(txn, x->imp, &x->who, err);
}

static void on_message(call *c, ProtobufCMessage *msg, const valv_error *err, void *arg);
static void import_done(writer_job *job, int rc, const valv_error *err);

static void submit(import_stream *x, import_step step)
{
    x->step = step;
    x->job.apply = import_apply;
    x->job.done = import_done;
    writer_submit(call_writer(x->call), &x->job);
}

/* Asks for the next message. */
static void receive(import_stream *x)
{
    x->receiving = true;
    call_recv(x->call, &valv__v1__import_assets_request__descriptor, on_message, x);
}

/* Hands the waiting batches to the writer, and receives the next
 * messages meanwhile. */
static void submit_waiting(import_stream *x)
{
    x->applying = x->waiting;
    x->waiting = (message_list){0};
    x->writing = true;
    submit(x, STEP_BATCH);
    if (!x->receiving && !x->ended && !x->broken)
        receive(x);
}

/* On the call's worker thread, once the writer is done with a step. */
static void import_answer(call *c, void *arg)
{
    import_stream *x = arg;
    if (x->step_rc != VALV_OK) {
        call_fail(c, &x->step_err);
        return;
    }
    if (x->step == STEP_FINISH) {
        Valv__V1__ImportAssetsResponse resp;
        valv__v1__import_assets_response__init(&resp);
        store_import_result(x->imp, &resp);
        call_reply(c, &resp.base);
        return;
    }
    /* The writer gets its next step before the batches it is done with are
     * freed: freeing thousands of decoded records takes a while, and the
     * writer is what bounds the import. */
    message_list done = x->applying;
    x->applying = (message_list){0};
    x->next_index += (int64_t)done.n_records;
    if (x->waiting.n > 0) {
        submit_waiting(x); /* also when broken: what came before goes in */
    } else if (x->broken) {
        call_fail(c, &x->broken_err);
    } else if (x->ended) {
        submit(x, STEP_FINISH);
    } else {
        x->writing = false; /* the next message, when it comes, goes straight in */
    }
    list_free(&done);
}

/* On the writer thread, after the commit: what went in is counted before
 * the writer can take the next step. */
static void import_done(writer_job *job, int rc, const valv_error *err)
{
    import_stream *x = (import_stream *)job;
    x->step_rc = rc;
    if (rc != VALV_OK)
        x->step_err = *err;
    else
        store_import_commit_batch(x->imp);
    call_kick(x->call, import_answer, x);
}

/* Keeps an atomic import's batch until the end. Returns false (and ends
 * the call) when the import grows past its limit. */
static bool hold(import_stream *x, Valv__V1__ImportAssetsRequest *req)
{
    if (x->n_held_records + req->batch->n_records > STORE_IMPORT_ATOMIC_MAX) {
        protobuf_c_message_free_unpacked(&req->base, NULL);
        fail(x, VALV_EFULL, "an atomic import takes at most %d records; split it, or import without atomic",
             STORE_IMPORT_ATOMIC_MAX);
        return false;
    }
    if (x->n_held == x->cap_held) {
        size_t cap = x->cap_held ? 2 * x->cap_held : 16;
        void *held = realloc(x->held, cap * sizeof *x->held);
        if (held == NULL) {
            protobuf_c_message_free_unpacked(&req->base, NULL);
            fail(x, VALV_EFULL, "valvd is out of memory; retry later");
            return false;
        }
        x->held = held;
        x->cap_held = cap;
    }
    x->held[x->n_held++] = req;
    x->n_held_records += req->batch->n_records;
    return true;
}

static void on_header(import_stream *x, Valv__V1__ImportAssetsRequest *req)
{
    const Valv__V1__ImportHeader *h = req->header;
    valv_error err;
    valv_error_clear(&err);
    if (x->imp != NULL) {
        fail(x, VALV_EINVAL, "the header came twice; send it once, as the first message");
    } else if (h->mode != VALV__V1__IMPORT_MODE__UPSERT && h->mode != VALV__V1__IMPORT_MODE__SYNC) {
        valv_error_violation(&err, "header.mode", "required: UPSERT or SYNC");
        stream_fail(x, &err);
    } else if (validate_text(h->request_id, VALV_REQUEST_ID_MAX, "header.request_id", &err) != VALV_OK ||
               authz_check(call_principal(x->call), AUTHZ_IMPORT, h->source, &err) != VALV_OK) {
        stream_fail(x, &err);
    } else {
        call_set_request_id(x->call, h->request_id);
        x->who.request_id = call_request_id(x->call);
        store_import_options opts = {
            .source = h->source,
            .sync = h->mode == VALV__V1__IMPORT_MODE__SYNC,
            .dry_run = h->dry_run,
            .atomic = h->atomic,
        };
        if (store_import_begin(call_store(x->call), &opts, &x->imp, &err) != VALV_OK) {
            stream_fail(x, &err);
        } else {
            x->atomic = h->atomic;
            receive(x);
        }
    }
    protobuf_c_message_free_unpacked(&req->base, NULL);
}

static void on_message(call *c, ProtobufCMessage *msg, const valv_error *err, void *arg)
{
    import_stream *x = arg;
    (void)c; /* x->call */
    x->receiving = false;
    if (err != NULL) {
        stream_fail(x, err);
        return;
    }
    if (msg == NULL) { /* the client finished sending */
        if (x->imp == NULL)
            fail(x, VALV_EINVAL, "the stream ended before the header; send an ImportHeader first");
        else if (x->writing)
            x->ended = true; /* the batch with the writer goes first */
        else
            submit(x, STEP_FINISH);
        return;
    }
    Valv__V1__ImportAssetsRequest *req = (Valv__V1__ImportAssetsRequest *)msg;
    switch (req->message_case) {
    case VALV__V1__IMPORT_ASSETS_REQUEST__MESSAGE_HEADER:
        on_header(x, req);
        return;
    case VALV__V1__IMPORT_ASSETS_REQUEST__MESSAGE_BATCH:
        break;
    default:
        protobuf_c_message_free_unpacked(msg, NULL);
        fail(x, VALV_EINVAL, "an empty message; send a header, then batches of records");
        return;
    }
    if (x->imp == NULL) {
        protobuf_c_message_free_unpacked(msg, NULL);
        fail(x, VALV_EINVAL, "the first message must be the header (source and mode)");
        return;
    }
    if (req->batch->n_records > STORE_IMPORT_BATCH_MAX) {
        protobuf_c_message_free_unpacked(msg, NULL);
        fail(x, VALV_EINVAL, "a batch holds at most %d records; send more, smaller batches",
             STORE_IMPORT_BATCH_MAX);
        return;
    }
    if (x->atomic) {
        if (hold(x, req))
            receive(x);
        return;
    }
    list_add(&x->waiting, req);
    if (!x->writing)
        submit_waiting(x);
    else if (!list_full(&x->waiting))
        receive(x); /* while the writer works */
}

void import_assets(call *c, const ProtobufCMessage *request)
{
    (void)request; /* client streaming: the messages come through call_recv */
    import_stream *x = calloc(1, sizeof *x);
    if (x == NULL) {
        valv_error err;
        valv_error_clear(&err);
        valv_error_set(&err, VALV_EFULL, "valvd is out of memory; retry later");
        call_fail(c, &err);
        return;
    }
    x->call = c;
    policy_importer(c, NULL, &x->who); /* IMPORT is checked on the header's source */
    call_on_free(c, import_free, x);
    receive(x);
}
