/* server.h - the gRPC transport of valvd, and the call API handlers use.
 *
 * The server owns one completion queue per worker thread. A call arrives on
 * a worker, its request is decoded with the method's descriptor, and the
 * method's handler (methods.h) runs on that worker. A handler finishes the
 * call exactly once, with call_reply or call_fail, then or later from any
 * thread (a write answers from the writer thread after its commit).
 * Server-streaming handlers send messages with call_send first.
 */
#ifndef VALV_SERVER_H
#define VALV_SERVER_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "error.h"
#include "principals.h"
#include "store.h"
#include "writer.h"

typedef struct server server; /* opaque */
typedef struct call call;     /* opaque: one RPC in flight */

typedef struct {
    const char *listen;  /* "127.0.0.1:50051"; port 0 picks a free port */
    bool dev;            /* plaintext, no authentication, loopback only */
    /* TLS (required unless dev): PEM text of the server's certificate chain
     * and key; client_ca_pem (may be NULL) verifies client certificates,
     * which are then requested, or required with require_client_cert. */
    const char *tls_cert_pem;
    const char *tls_key_pem;
    const char *client_ca_pem;
    bool require_client_cert;
    principals_holder *principals; /* borrowed; NULL in dev mode */
    int threads;         /* worker threads (completion queues); 0: 2 */
    store *store;        /* borrowed */
    writer *writer;      /* borrowed */
    struct watch_hub *watches; /* borrowed: WatchChanges' watchers */
    struct metrics *metrics;   /* borrowed: counts every call; NULL: metrics off */
    const char *data_dir;      /* borrowed: the store's directory (Backup's temporary copies) */
    struct timespec start_time; /* when valvd started (CLOCK_REALTIME): AdminService.Info's */
} server_config;

/* Binds, registers every method of the method table and starts the worker
 * threads. *bound_out receives "HOST:PORT" with the port actually bound
 * (capacity bound_cap). The caller owns *out (server_stop frees it). */
int server_start(const server_config *cfg, server **out, char *bound_out, size_t bound_cap,
                 valv_error *err);

/* Drains: health turns NOT_SERVING, new calls are refused, calls in flight
 * finish (those still running after grace_ms are cancelled), then the
 * threads stop and s is freed. NULL is fine. */
void server_stop(server *s, int grace_ms);

/* --- For handlers ------------------------------------------------------- */

/* The store and writer the call may use, and who is calling. */
store *call_store(call *c);
writer *call_writer(call *c);
struct watch_hub *call_watch_hub(call *c);

/* The store's data directory (server_config.data_dir): where a call keeps
 * files next to the store (Backup's temporary copy). */
const char *call_data_dir(call *c);

/* When the server started (wall clock), and the whole seconds since, by a
 * monotonic clock so that setting the wall clock does not change them. */
void call_server_started(call *c, struct timespec *start_time, int64_t *uptime_seconds);
const char *call_actor(call *c);

/* The authenticated principal (dev mode: the all-rights "dev" principal).
 * Valid until the call ends. */
const principal *call_principal(call *c);

/* The call's request id, for the log and the audit log alike: the request
 * message's request_id field when it has a non-empty one, else one valvd
 * generated (16 hex digits). Owned by the call; valid until it ends. */
const char *call_request_id(call *c);

/* For a streaming handler whose request id arrives in a later message
 * (ImportAssets' header): makes id (copied) the call's request id. An empty
 * id, or one longer than VALV_REQUEST_ID_MAX, keeps the one the call has.
 * Call it on the call's worker thread before the call is answered. */
void call_set_request_id(call *c, const char *id);

/* True once the client cancelled the call or its deadline passed: work not
 * yet started should not start. */
bool call_should_stop(call *c);

/* Sends the reply message (borrowed; packed before return) with status OK
 * and ends the call. */
void call_reply(call *c, const ProtobufCMessage *reply);

/* call_reply for a reply already encoded: the len bytes at encoded
 * (borrowed; copied before return) are the method's response message as
 * the wire carries it. Saves encoding a message read as stored. */
void call_reply_encoded(call *c, const void *encoded, size_t len);

/* Ends the call with err's status, message and, when it has violations, a
 * google.rpc.BadRequest in grpc-status-details-bin. err is borrowed. */
void call_fail(call *c, const valv_error *err);

/* Streaming: ends the call with status OK after the messages sent. */
void call_end(call *c);

/* Streaming: sends one message (borrowed; packed before return). on_sent
 * runs on the call's worker thread when the message has left (ok == false:
 * the client is gone; finish with call_fail). One send at a time. */
typedef void (*call_sent_fn)(call *c, bool ok, void *arg);
void call_send(call *c, const ProtobufCMessage *msg, call_sent_fn on_sent, void *arg);

/* Client streaming: receives the next message, decoded with desc, and runs
 * on_msg on the call's worker thread with it (the handler owns msg: free it
 * with protobuf_c_message_free_unpacked). msg == NULL and err == NULL: the
 * client finished sending. err != NULL: the message could not be decoded
 * (INVALID_ARGUMENT) or the client is gone (CANCELLED); end the call with
 * call_fail. One receive at a time. */
typedef void (*call_recv_fn)(call *c, ProtobufCMessage *msg, const valv_error *err, void *arg);
void call_recv(call *c, const ProtobufCMessageDescriptor *desc, call_recv_fn on_msg, void *arg);

/* Streaming: registers on_close to run once when the client cancels or
 * goes away, or when the server begins to drain, whichever is first. It must
 * end the call (call_fail). It may run on any thread. At most one per call. */
typedef void (*call_close_fn)(call *c, void *arg);
void call_on_close(call *c, call_close_fn on_close, void *arg);

/* Runs fn(c, arg) on the call's worker thread soon (an empty batch whose
 * completion wakes the worker). From any thread; one kick in flight per
 * call (a second while one is in flight is dropped: fn will run anyway). */
typedef void (*call_kick_fn)(call *c, void *arg);
void call_kick(call *c, call_kick_fn fn, void *arg);

/* Runs fn(arg) when the call object is freed, after the last of its
 * callbacks: the place to free state that callbacks use. At most one. */
typedef void (*call_free_fn)(void *arg);
void call_on_free(call *c, call_free_fn fn, void *arg);

/* Cancels the call with err's status, at once, whatever is in flight (a
 * stuck send included); the call's callbacks then see ok == false. From any
 * thread. The handler must still end the call (call_fail is harmless now). */
void call_cancel(call *c, const valv_error *err);

#endif
