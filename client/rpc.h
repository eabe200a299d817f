/* rpc.h - a small blocking gRPC client over the C core, for valv and tests.
 *
 * One rpc_conn is one channel: plaintext (valvd --dev), or TLS when the
 * options ask for it (see rpc_options). Calls block until the reply or the
 * timeout. Errors come back as a valv_error whose code is the gRPC status
 * code and whose message is the server's; the google.rpc.BadRequest field
 * violations of the grpc-status-details-bin trailer, if any, become
 * err->violations. Transport failures are VALV_EUNAVAILABLE /
 * VALV_EDEADLINE with a message that names the address and, for TLS, what
 * went wrong in the handshake (a server certificate that does not verify
 * against the CA, a client certificate valvd refused, TLS against a
 * plaintext server or the other way round).
 */
#ifndef VALV_RPC_H
#define VALV_RPC_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>

#include "error.h"

typedef struct rpc_conn rpc_conn; /* opaque */

/* How to reach valvd and who to be. Only addr is required; the strings are
 * borrowed for the duration of rpc_connect.
 *
 * The channel uses TLS when tls is set or tls_ca_file or cert_file is
 * given, and is plaintext otherwise: nothing is guessed from the address,
 * so what goes over the wire is what the caller asked for. */
typedef struct {
    const char *addr;        /* "HOST:PORT" */
    bool tls;                /* TLS; valvd's certificate must verify against
                                tls_ca_file, or without one the system's CAs */
    const char *tls_ca_file; /* PEM: the CA(s) that sign valvd's certificate */
    const char *cert_file;   /* PEM: a client certificate chain, for mutual TLS */
    const char *key_file;    /* PEM: its private key; required with cert_file */
    const char *token;       /* a bearer token, sent as "authorization: Bearer
                                TOKEN" with every call */
} rpc_options;

/* Calls grpc_init() (balanced by rpc_close) and makes the channel. Reads
 * the PEM files now, so a missing or unreadable one is reported here
 * (VALV_EINVAL, naming the file). A token over plaintext is refused
 * (VALV_EINVAL) unless addr is on loopback: anyone on the path could read
 * it. The connection itself is made on the first call, whose error says
 * why it failed. The caller owns *out. */
int rpc_connect(const rpc_options *options, rpc_conn **out, valv_error *err);

/* Closes the channel and frees c. NULL is fine. */
void rpc_close(rpc_conn *c);

/* Calls a unary method ("/valv.v1.Inventory/GetAsset") with req (borrowed)
 * and unpacks the reply with resp_desc into *resp_out (caller frees with
 * protobuf_c_message_free_unpacked). timeout_ms <= 0: 30 s. */
int rpc_unary(rpc_conn *c, const char *method, const ProtobufCMessage *req,
              const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp_out,
              int timeout_ms, valv_error *err);

/* Sends raw request bytes and returns raw reply bytes (malloc'd; caller
 * frees): for tests that send what a well-behaved client would not. */
int rpc_unary_raw(rpc_conn *c, const char *method, const void *req, size_t req_len,
                  void **resp_out, size_t *resp_len_out, int timeout_ms, valv_error *err);

/* --- Server streaming (WatchChanges, Health.Watch) ------------------------ */

typedef struct rpc_stream rpc_stream; /* opaque: one server-streaming call */

/* Starts a server-streaming call: sends req (borrowed) and half-closes.
 * timeout_ms <= 0: no deadline. The caller owns *out (rpc_stream_close). */
int rpc_stream_open(rpc_conn *c, const char *method, const ProtobufCMessage *req,
                    int timeout_ms, rpc_stream **out, valv_error *err);

/* Waits for the next message and unpacks it with desc into *msg_out
 * (caller frees). At the end of the stream returns the final status: *msg_out
 * is NULL and the return value is VALV_OK for a clean end, or the status
 * code with err filled (RESOURCE_EXHAUSTED for a watch cut off, ...). */
int rpc_stream_next(rpc_stream *s, const ProtobufCMessageDescriptor *desc,
                    ProtobufCMessage **msg_out, valv_error *err);

/* Cancels the call from any thread, while another waits in rpc_stream_next
 * (which then returns VALV_ECANCELLED), or before it does. Not from a
 * signal handler, and not once rpc_stream_close may have started. */
void rpc_stream_cancel(rpc_stream *s);

/* Cancels the call if it is still open, waits for it to end, and frees s.
 * NULL is fine. */
void rpc_stream_close(rpc_stream *s);

/* --- Client streaming (ImportAssets) --------------------------------------- */

typedef struct rpc_upload rpc_upload; /* opaque: one client-streaming call */

/* Starts a client-streaming call (sends its metadata). timeout_ms <= 0: no
 * deadline. The caller owns *out (rpc_upload_close). */
int rpc_upload_open(rpc_conn *c, const char *method, int timeout_ms, rpc_upload **out,
                    valv_error *err);

/* Sends msg (borrowed; packed before this returns). One message is in
 * flight at a time: this first waits until the previous one has gone out,
 * so a client that sends faster than the server reads is slowed down
 * instead of buffering without bound. When the call has ended (the server
 * refused the upload, the connection broke) returns its final status with
 * err filled; later sends and rpc_upload_finish return the same. */
int rpc_upload_send(rpc_upload *up, const ProtobufCMessage *msg, valv_error *err);

/* Half-closes, waits for the reply and unpacks it with resp_desc into
 * *resp_out (caller frees with protobuf_c_message_free_unpacked). Errors as
 * rpc_unary's, field violations included. Call it once, after the last
 * rpc_upload_send. */
int rpc_upload_finish(rpc_upload *up, const ProtobufCMessageDescriptor *resp_desc,
                      ProtobufCMessage **resp_out, valv_error *err);

/* Cancels the call if rpc_upload_finish has not ended it (so the server
 * never commits an upload the client gave up on, as far as the method
 * allows), waits for it to end, and frees up. NULL is fine. */
void rpc_upload_close(rpc_upload *up);

#endif
