#include "write.h"

#include <stdlib.h>

#include "google/protobuf/empty.pb-c.h"
#include "limits.h"
#include "policy.h"
#include "validate.h"
#include "writer.h"

typedef struct {
    writer_job job; /* first: the writer hands back &job */
    call *call;
    write_fn fn;
    write_op op;
    int rc;         /* how the write ended, for write_answer */
    valv_error err;
} write_job;

static void result_free(write_op *op)
{
    if (op->result != NULL)
        protobuf_c_message_free_unpacked(op->result, NULL);
    op->result = NULL;
}

static int write_apply(writer_job *job, store_txn *txn, valv_error *err)
{
    write_job *w = (write_job *)job;
    result_free(&w->op); /* left by an earlier run of this group, if any */
    if (call_should_stop(w->call))
        return valv_error_set(err, VALV_EDEADLINE,
                              "the deadline passed or the client cancelled before the write ran; "
                              "nothing was written");
    return w->fn(txn, &w->op, err);
}

/* Answers the call, on its worker thread. */
static void write_answer(call *c, void *arg)
{
    write_job *w = arg;
    (void)c;
    if (w->rc != VALV_OK) {
        call_fail(w->call, &w->err);
    } else if (w->op.result != NULL) {
        call_reply(w->call, w->op.result);
    } else {
        Google__Protobuf__Empty empty;
        google__protobuf__empty__init(&empty);
        call_reply(w->call, &empty.base);
    }
    result_free(&w->op);
    free(w);
}

/* The write is durable (or failed). The answer is packed and sent on the
 * call's worker thread, not here: the one writer thread is what bounds
 * the rate of writes, and sending a reply cost it as much as a sixth of
 * its time. A unary call ends only through its answer, so the kick runs. */
static void write_done(writer_job *job, int rc, const valv_error *err)
{
    write_job *w = (write_job *)job;
    w->rc = rc;
    if (err != NULL)
        w->err = *err;
    call_kick(w->call, write_answer, w);
}

void write_submit(call *c, const ProtobufCMessage *request, const char *id, const char *other_id,
                  write_fn fn)
{
    write_job *w = calloc(1, sizeof *w);
    if (w == NULL) {
        valv_error err;
        valv_error_clear(&err);
        valv_error_set(&err, VALV_EFULL, "valvd is out of memory; retry later");
        call_fail(c, &err);
        return;
    }
    w->job.apply = write_apply;
    w->job.done = write_done;
    w->call = c;
    w->fn = fn;
    w->op.request = request;
    w->op.id = id;
    w->op.other_id = other_id;
    policy_actor(c, call_request_id(c), &w->op.who);
    writer_submit(call_writer(c), &w->job);
}

int write_result_asset(write_op *op, Valv__V1__Asset *asset, int rc)
{
    op->result = asset != NULL ? &asset->base : NULL;
    return rc;
}
