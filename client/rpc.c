/* rpc.c - a small blocking gRPC client over the C core (see rpc.h).
 *
 * Every call gets its own pluck completion queue, so nothing is shared
 * between calls. A unary call runs as one batch (send metadata, message and
 * close; receive metadata, message and status): a single wait. A stream
 * receives its messages one batch at a time (see rpc_stream_next).
 */
#include "rpc.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"

#define RPC_DEFAULT_TIMEOUT_MS 30000
#define RPC_MAX_RECEIVE_MESSAGE (64 * 1024 * 1024)
#define RPC_STATUS_DETAILS_KEY "grpc-status-details-bin"
#define RPC_BAD_REQUEST_TYPE_URL "type.googleapis.com/google.rpc.BadRequest"

struct rpc_conn {
    grpc_channel *channel;
    char addr[256];
};

int rpc_connect(const char *addr, rpc_conn **out, valv_error *err)
{
    *out = NULL;
    rpc_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return valv_error_set(err, VALV_EINTERNAL, "out of memory");
    snprintf(c->addr, sizeof c->addr, "%s", addr);

    grpc_init();
    grpc_arg arg = {
        .type = GRPC_ARG_INTEGER,
        .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
        .value.integer = RPC_MAX_RECEIVE_MESSAGE,
    };
    grpc_channel_args args = {.num_args = 1, .args = &arg};
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    /* Never fails: a bad target gives a channel whose calls fail with
     * UNAVAILABLE, which the first call reports with the address. */
    c->channel = grpc_channel_create(addr, creds, &args);
    grpc_channel_credentials_release(creds);
    *out = c;
    return VALV_OK;
}

void rpc_close(rpc_conn *c)
{
    if (c == NULL)
        return;
    grpc_channel_destroy(c->channel);
    free(c);
    grpc_shutdown();
}

/* Copies the BadRequest field violations found in the google.rpc.Status of
 * the trailer into err. Anything that does not decode is ignored: the status
 * code and message already say what went wrong. */
static void add_violations_from_details(const grpc_slice *details, valv_error *err)
{
    Google__Rpc__Status *status = google__rpc__status__unpack(
        NULL, GRPC_SLICE_LENGTH(*details), GRPC_SLICE_START_PTR(*details));
    if (status == NULL)
        return;
    for (size_t i = 0; i < status->n_details; i++) {
        const Google__Protobuf__Any *any = status->details[i];
        if (any->type_url == NULL || strcmp(any->type_url, RPC_BAD_REQUEST_TYPE_URL) != 0)
            continue;
        Google__Rpc__BadRequest *bad =
            google__rpc__bad_request__unpack(NULL, any->value.len, any->value.data);
        if (bad == NULL)
            continue;
        for (size_t j = 0; j < bad->n_field_violations; j++) {
            if (err->n_violations >= VALV_ERROR_VIOLATIONS_MAX)
                break;
            valv_violation *v = &err->violations[err->n_violations++];
            snprintf(v->field, sizeof v->field, "%s", bad->field_violations[j]->field);
            snprintf(v->description, sizeof v->description, "%s",
                     bad->field_violations[j]->description);
        }
        google__rpc__bad_request__free_unpacked(bad, NULL);
    }
    google__rpc__status__free_unpacked(status, NULL);
}

/* Turns a non-OK call status into err. Transport failures get a message
 * that names the address, since the server never saw the request. */
static int status_to_error(const rpc_conn *c, grpc_status_code status, const grpc_slice *message,
                           const grpc_metadata_array *trailer, int timeout_ms, valv_error *err)
{
    int len = (int)GRPC_SLICE_LENGTH(*message);
    const char *text = (const char *)GRPC_SLICE_START_PTR(*message);

    if (status == GRPC_STATUS_UNAVAILABLE) {
        return valv_error_set(err, VALV_EUNAVAILABLE,
                              "cannot reach valvd at %s: %.*s; is it running? "
                              "(set --addr or VALV_ADDR)",
                              c->addr, len, text);
    }
    if (status == GRPC_STATUS_DEADLINE_EXCEEDED) {
        return valv_error_set(err, VALV_EDEADLINE,
                              "valvd at %s did not answer within %g s: %.*s; "
                              "raise --timeout if the server is busy",
                              c->addr, timeout_ms / 1000.0, len, text);
    }
    valv_error_set(err, (valv_code)status, "%.*s", len, text);
    for (size_t i = 0; i < trailer->count; i++) {
        if (grpc_slice_str_cmp(trailer->metadata[i].key, RPC_STATUS_DETAILS_KEY) == 0)
            add_violations_from_details(&trailer->metadata[i].value, err);
    }
    return err->code;
}

/* A deadline timeout_ms from now; none when timeout_ms <= 0. */
static gpr_timespec deadline_after(int timeout_ms)
{
    if (timeout_ms <= 0)
        return gpr_inf_future(GPR_CLOCK_MONOTONIC);
    return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                        gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
}

/* A byte buffer holding a copy of bytes, for SEND_MESSAGE. */
static grpc_byte_buffer *buffer_from_bytes(const void *bytes, size_t len)
{
    grpc_slice slice = grpc_slice_from_copied_buffer(bytes, len);
    grpc_byte_buffer *buffer = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return buffer;
}

/* Serialises message into *bytes_out (malloc'd; caller frees). */
static int pack_message(const ProtobufCMessage *message, uint8_t **bytes_out, size_t *len_out,
                        valv_error *err)
{
    size_t len = protobuf_c_message_get_packed_size(message);
    *bytes_out = malloc(len > 0 ? len : 1);
    if (*bytes_out == NULL)
        return valv_error_set(err, VALV_EINTERNAL, "out of memory");
    protobuf_c_message_pack(message, *bytes_out);
    *len_out = len;
    return VALV_OK;
}

/* The whole content of a received buffer as one slice (caller unrefs). */
static int read_buffer(grpc_byte_buffer *buffer, const char *method, grpc_slice *out,
                       valv_error *err)
{
    grpc_byte_buffer_reader reader;
    if (!grpc_byte_buffer_reader_init(&reader, buffer))
        return valv_error_set(err, VALV_EINTERNAL, "cannot read the reply to %s", method);
    *out = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    return VALV_OK;
}

/* Unpacks a received message with desc into *out (caller frees). */
static int unpack_reply(const rpc_conn *c, const char *method, const grpc_slice *reply,
                        const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out,
                        valv_error *err)
{
    *out = protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(*reply),
                                     GRPC_SLICE_START_PTR(*reply));
    if (*out == NULL)
        return valv_error_set(err, VALV_EINTERNAL, "the reply to %s from %s is not a valid %s",
                              method, c->addr, desc->name);
    return VALV_OK;
}

/* Runs one unary call. On success *reply_out is a slice the caller unrefs. */
static int call_unary(rpc_conn *c, const char *method, const void *req, size_t req_len,
                      int timeout_ms, grpc_slice *reply_out, valv_error *err)
{
    int rc = VALV_OK;
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_call *call = NULL;
    grpc_byte_buffer *request = NULL;
    grpc_byte_buffer *reply = NULL;
    grpc_metadata_array initial_md, trailing_md;
    grpc_status_code status = GRPC_STATUS_OK;
    grpc_slice status_message = grpc_empty_slice();
    grpc_op ops[6];
    void *tag = &status; /* any unique address: the queue carries one batch */

    grpc_metadata_array_init(&initial_md);
    grpc_metadata_array_init(&trailing_md);
    valv_error_clear(err);
    if (timeout_ms <= 0)
        timeout_ms = RPC_DEFAULT_TIMEOUT_MS;

    grpc_slice method_slice = grpc_slice_from_static_string(method);
    call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq, method_slice,
                                    NULL, deadline_after(timeout_ms), NULL);
    if (call == NULL) {
        rc = valv_error_set(err, VALV_EINTERNAL, "cannot create a call to %s", method);
        goto done;
    }
    request = buffer_from_bytes(req, req_len);

    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = request;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &reply;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailing_md;
    ops[5].data.recv_status_on_client.status = &status;
    ops[5].data.recv_status_on_client.status_details = &status_message;

    grpc_call_error call_err = grpc_call_start_batch(call, ops, 6, tag, NULL);
    if (call_err != GRPC_CALL_OK) {
        rc = valv_error_set(err, VALV_EINTERNAL, "cannot start the call to %s (error %d)", method,
                            (int)call_err);
        goto done;
    }
    /* The deadline bounds the call, so waiting without a limit is safe. */
    grpc_event ev = grpc_completion_queue_pluck(cq, tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    if (ev.type != GRPC_OP_COMPLETE || !ev.success) {
        rc = valv_error_set(err, VALV_EINTERNAL, "the call to %s did not complete", method);
        goto done;
    }
    if (status != GRPC_STATUS_OK) {
        rc = status_to_error(c, status, &status_message, &trailing_md, timeout_ms, err);
        goto done;
    }
    if (reply == NULL) {
        rc = valv_error_set(err, VALV_EINTERNAL, "valvd at %s sent no reply message to %s",
                            c->addr, method);
        goto done;
    }
    rc = read_buffer(reply, method, reply_out, err);

done:
    grpc_slice_unref(status_message);
    grpc_metadata_array_destroy(&initial_md);
    grpc_metadata_array_destroy(&trailing_md);
    if (request != NULL)
        grpc_byte_buffer_destroy(request);
    if (reply != NULL)
        grpc_byte_buffer_destroy(reply);
    if (call != NULL)
        grpc_call_unref(call);
    grpc_completion_queue_shutdown(cq);
    grpc_completion_queue_pluck(cq, tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    grpc_completion_queue_destroy(cq);
    return rc;
}

int rpc_unary(rpc_conn *c, const char *method, const ProtobufCMessage *req,
              const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp_out,
              int timeout_ms, valv_error *err)
{
    *resp_out = NULL;
    uint8_t *req_bytes = NULL;
    size_t req_len = 0;
    int rc = pack_message(req, &req_bytes, &req_len, err);
    if (rc != VALV_OK)
        return rc;

    grpc_slice reply = grpc_empty_slice();
    rc = call_unary(c, method, req_bytes, req_len, timeout_ms, &reply, err);
    if (rc == VALV_OK)
        rc = unpack_reply(c, method, &reply, resp_desc, resp_out, err);
    grpc_slice_unref(reply);
    free(req_bytes);
    return rc;
}

int rpc_unary_raw(rpc_conn *c, const char *method, const void *req, size_t req_len,
                  void **resp_out, size_t *resp_len_out, int timeout_ms, valv_error *err)
{
    *resp_out = NULL;
    *resp_len_out = 0;
    grpc_slice reply = grpc_empty_slice();
    int rc = call_unary(c, method, req, req_len, timeout_ms, &reply, err);
    if (rc == VALV_OK) {
        size_t len = GRPC_SLICE_LENGTH(reply);
        *resp_out = malloc(len > 0 ? len : 1);
        if (*resp_out == NULL) {
            rc = valv_error_set(err, VALV_EINTERNAL, "out of memory");
        } else {
            memcpy(*resp_out, GRPC_SLICE_START_PTR(reply), len);
            *resp_len_out = len;
        }
    }
    grpc_slice_unref(reply);
    return rc;
}

