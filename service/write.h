/* write.h - how a handler turns a request into a change.
 *
 * A handler checks the request's shape on the worker thread, then submits
 * a write: fn runs on the writer thread inside the transaction of a group
 * commit (writer.h), and the call is answered only after that commit is
 * durable, with the message fn left in op->result (or google.protobuf.Empty
 * when fn leaves none), or with fn's error. One path serves every write
 * method.
 */
#ifndef VALV_WRITE_H
#define VALV_WRITE_H

#include <protobuf-c/protobuf-c.h>

#include "server.h"
#include "store.h"

typedef struct write_op write_op;

/* Runs inside txn. May run more than once (the writer reruns a group when
 * the map grows): op->result is cleared before each run. Returns VALV_OK or
 * an error code with err filled. */
typedef int (*write_fn)(store_txn *txn, write_op *op, valv_error *err);

struct write_op {
    const ProtobufCMessage *request; /* the call's request; borrowed */
    const char *id;                  /* asset ids the handler parsed from the request; borrowed */
    const char *other_id;            /* the second asset of a link; NULL otherwise */
    store_actor who;
    ProtobufCMessage *result;        /* set by fn; heap-owned, freed after the reply */
};

/* Queues the write. id / other_id point into the request (or are NULL).
 * The change is audited under call_request_id(c), the id the call is logged
 * with. The call is answered when the write ends. */
void write_submit(call *c, const ProtobufCMessage *request, const char *id, const char *other_id,
                  write_fn fn);


/* For write_fns that call a store function returning an asset: keeps the
 * asset as op's result and passes rc through. */
int write_result_asset(write_op *op, Valv__V1__Asset *asset, int rc);

#endif
