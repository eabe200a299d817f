/* server.c - completion queues, worker threads and the life of a call.
 *
 * Each worker thread polls its own completion queue. For every method of
 * the table and every queue, SERVER_REQUESTS_PER_METHOD requests are kept
 * posted; when one completes (a call arrived), a fresh one is posted and the
 * call is dispatched. Calls to methods not in the table are answered
 * UNIMPLEMENTED at once.
 *
 * A call's life, counted in references (c->refs):
 *   arrival            +1 owed to the final batch (call_reply / call_fail)
 *   RECV_CLOSE posted  +1 until it completes (tells us of cancellation)
 *   call_send          +1 until the message has left
 * The call is freed when the count reaches zero, on whichever thread drops
 * the last reference.
 */
#include "server.h"

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authz.h"
#include "limits.h"
#include "log.h"
#include "methods.h"
#include "metrics.h"
#include "status.h"

#define SERVER_REQUESTS_PER_METHOD 16
#define SERVER_UNKNOWN_REQUESTS 4
#define SERVER_THREADS_DEFAULT 2
#define SERVER_THREADS_MAX 64
#define STATUS_DETAILS_KEY "grpc-status-details-bin"
#define AUTHORIZATION_KEY "authorization"
#define BEARER_PREFIX "bearer "
#define TOKEN_MAX 512
#define REQUEST_ID_POOL_BYTES 4096

typedef enum {
    TAG_NEW_CALL,     /* a registered method's call arrived */
    TAG_NEW_UNKNOWN,  /* a call to a method not in the table arrived */
    TAG_SENT,         /* call_send's message left */
    TAG_FINISHED,     /* the final batch completed */
    TAG_CLOSED,       /* RECV_CLOSE_ON_SERVER completed */
    TAG_KICK,         /* call_kick's empty batch completed */
    TAG_RECEIVED,     /* call_recv's message arrived */
    TAG_SHUTDOWN      /* grpc_server_shutdown_and_notify completed */
} tag_kind;

/* Every batch gets its own tag, so each completion says what it was. */
typedef struct {
    tag_kind kind;
    call *call;
} call_tag;

typedef struct worker {
    server *srv;
    grpc_completion_queue *cq;
    pthread_t thread;
} worker;

struct call {
    server *srv;
    worker *worker;
    size_t method_index; /* into method_table; unused for unknown methods */
    bool unknown;

    grpc_call *gc;
    gpr_timespec deadline;
    grpc_metadata_array request_md;
    grpc_call_details details; /* unknown methods only */
    grpc_byte_buffer *payload;
    ProtobufCMessage *request;
    struct timespec start;
    const principal *principal;   /* borrowed from principal_set */
    char request_id[VALV_REQUEST_ID_MAX + 1]; /* see call_request_id */
    principals *principal_set;    /* the set in force when the call came; NULL in dev mode */

    call_tag tag_new, tag_sent, tag_finished, tag_closed, tag_kick, tag_received;
    atomic_int refs;
    atomic_bool finished;  /* call_reply / call_fail ran */
    atomic_bool cancelled; /* the client is gone */
    int close_cancelled;   /* RECV_CLOSE_ON_SERVER result */
    bool sent_initial_md;

    /* Alive until the batch that sends them completes. */
    grpc_byte_buffer *send_buf;
    grpc_byte_buffer *final_buf;
    grpc_slice status_message;
    bool has_status_message;
    grpc_metadata trailer;
    bool has_trailer;

    call_sent_fn on_sent;
    void *sent_arg;
    call_close_fn on_close;
    void *close_arg;
    call_free_fn on_free;
    void *free_arg;
    call_kick_fn on_kick;
    void *kick_arg;
    grpc_byte_buffer *recv_buf; /* call_recv's message, until decoded */
    const ProtobufCMessageDescriptor *recv_desc;
    call_recv_fn on_recv;
    void *recv_arg;
    atomic_bool kick_in_flight;
    atomic_bool close_fired;
    call *stream_prev, *stream_next; /* in srv->streams while on_close is set */
};

struct server {
    grpc_server *gs;
    store *store;
    writer *writer;
    struct watch_hub *watches;
    metrics *metrics; /* NULL: metrics off */
    const char *data_dir;
    struct timespec start_time, start_monotonic; /* for call_server_started */
    principals_holder *principals;
    bool dev;
    int n_workers;
    worker workers[SERVER_THREADS_MAX];
    void *method_handles[64];

    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool draining;      /* no new requests are posted */
    bool shutdown_done; /* the TAG_SHUTDOWN arrived */
    int live_calls;     /* call objects not yet freed */
    call *streams;      /* calls with an on_close hook */
    call_tag shutdown_tag;
};

static const char *call_method_path(const call *c)
{
    return c->unknown ? "(unknown)" : method_table[c->method_index].path;
}

/* For the log: NULL until the caller is known. */
static const char *call_principal_id(const call *c)
{
    return c->principal != NULL ? c->principal->id : NULL;
}

/* Every call gets an id at birth, so that even a call refused before its
 * request is read has one in the log. It stays empty only if the random
 * generator fails; a write then gets store/'s own. */
static void request_id_generate(char out[VALV_REQUEST_ID_MAX + 1])
{
    /* Random bytes drawn a block at a time, per thread: a RAND_bytes for
     * every call cost a tenth of a GetAsset's CPU. */
    static _Thread_local unsigned char pool[REQUEST_ID_POOL_BYTES];
    static _Thread_local size_t pool_used = REQUEST_ID_POOL_BYTES;
    out[0] = '\0';
    if (pool_used + STORE_REQUEST_ID_RANDOM_BYTES > sizeof pool) {
        if (RAND_bytes(pool, sizeof pool) != 1)
            return;
        pool_used = 0;
    }
    store_request_id_format(pool + pool_used, out);
    pool_used += STORE_REQUEST_ID_RANDOM_BYTES;
}

/* --- Call objects ----------------------------------------------------------- */

static call *call_new(server *srv, worker *w, bool unknown, size_t method_index)
{
    call *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->srv = srv;
    c->worker = w;
    c->unknown = unknown;
    c->method_index = method_index;
    request_id_generate(c->request_id);
    grpc_metadata_array_init(&c->request_md);
    if (unknown)
        grpc_call_details_init(&c->details);
    c->tag_new = (call_tag){unknown ? TAG_NEW_UNKNOWN : TAG_NEW_CALL, c};
    c->tag_sent = (call_tag){TAG_SENT, c};
    c->tag_finished = (call_tag){TAG_FINISHED, c};
    c->tag_closed = (call_tag){TAG_CLOSED, c};
    c->tag_kick = (call_tag){TAG_KICK, c};
    c->tag_received = (call_tag){TAG_RECEIVED, c};
    pthread_mutex_lock(&srv->lock);
    srv->live_calls++;
    pthread_mutex_unlock(&srv->lock);
    return c;
}

static void call_free(call *c)
{
    server *srv = c->srv;
    if (c->on_free != NULL)
        c->on_free(c->free_arg);
    if (c->request != NULL)
        protobuf_c_message_free_unpacked(c->request, NULL);
    if (c->payload != NULL)
        grpc_byte_buffer_destroy(c->payload);
    if (c->recv_buf != NULL)
        grpc_byte_buffer_destroy(c->recv_buf);
    if (c->send_buf != NULL)
        grpc_byte_buffer_destroy(c->send_buf);
    if (c->final_buf != NULL)
        grpc_byte_buffer_destroy(c->final_buf);
    if (c->has_status_message)
        grpc_slice_unref(c->status_message);
    if (c->has_trailer) {
        grpc_slice_unref(c->trailer.key);
        grpc_slice_unref(c->trailer.value);
    }
    grpc_metadata_array_destroy(&c->request_md);
    if (c->unknown)
        grpc_call_details_destroy(&c->details);
    if (c->gc != NULL)
        grpc_call_unref(c->gc);
    if (c->principal_set != NULL)
        principals_unref(c->principal_set);
    free(c);

    pthread_mutex_lock(&srv->lock);
    srv->live_calls--;
    pthread_cond_broadcast(&srv->changed);
    pthread_mutex_unlock(&srv->lock);
}

static void call_unref(call *c)
{
    if (atomic_fetch_sub(&c->refs, 1) == 1)
        call_free(c);
}

/* Starts a batch; when the library refuses it, the tag will never come
 * back, so the reference the batch held is dropped here. */
static void call_start_batch(call *c, const grpc_op *ops, size_t n, call_tag *tag)
{
    grpc_call_error e = grpc_call_start_batch(c->gc, ops, n, tag, NULL);
    if (e != GRPC_CALL_OK) {
        log_event(LOG_ERROR, "batch_refused", LOG_STR("method", call_method_path(c)),
                  LOG_INT("error", e), LOG_END);
        call_unref(c);
    }
}

/* Packs msg into a byte buffer the library can send. */
static grpc_byte_buffer *pack_message(const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    grpc_slice slice = grpc_slice_malloc(len);
    protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(slice));
    grpc_byte_buffer *buf = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return buf;
}

static void stream_list_remove(call *c)
{
    server *srv = c->srv;
    pthread_mutex_lock(&srv->lock);
    if (c->on_close != NULL) {
        if (c->stream_prev != NULL)
            c->stream_prev->stream_next = c->stream_next;
        else if (srv->streams == c)
            srv->streams = c->stream_next;
        if (c->stream_next != NULL)
            c->stream_next->stream_prev = c->stream_prev;
        c->stream_prev = c->stream_next = NULL;
        c->on_close = NULL;
    }
    pthread_mutex_unlock(&srv->lock);
}

/* A byte buffer of the bytes of an encoded message (copied). */
static grpc_byte_buffer *encoded_message(const void *encoded, size_t len)
{
    grpc_slice slice = grpc_slice_from_copied_buffer(encoded, len);
    grpc_byte_buffer *buf = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return buf;
}

/* Sends the final batch: initial metadata if not yet sent, the reply (a
 * packed message, taken; NULL for none), the status and, for errors with
 * violations, the details trailer. */
static void call_finish(call *c, grpc_byte_buffer *reply, const valv_error *err)
{
    if (atomic_exchange(&c->finished, true)) {
        /* a drain and a cancellation raced: the first one ends it */
        if (reply != NULL)
            grpc_byte_buffer_destroy(reply);
        return;
    }
    stream_list_remove(c);

    int code = err != NULL ? (int)err->code : VALV_OK;
    grpc_op ops[3];
    size_t n = 0;
    memset(ops, 0, sizeof ops);
    if (!c->sent_initial_md) {
        c->sent_initial_md = true;
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    }
    if (reply != NULL) {
        c->final_buf = reply;
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = c->final_buf;
    }
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = (grpc_status_code)code;
    if (err != NULL && err->message[0] != '\0') {
        c->status_message = grpc_slice_from_copied_string(err->message);
        c->has_status_message = true;
        ops[n].data.send_status_from_server.status_details = &c->status_message;
    }
    uint8_t *details;
    size_t details_len;
    if (err != NULL && status_details_pack(err, &details, &details_len) == VALV_OK) {
        c->trailer.key = grpc_slice_from_static_string(STATUS_DETAILS_KEY);
        c->trailer.value = grpc_slice_from_copied_buffer((const char *)details, details_len);
        c->has_trailer = true;
        free(details);
        ops[n].data.send_status_from_server.trailing_metadata_count = 1;
        ops[n].data.send_status_from_server.trailing_metadata = &c->trailer;
    }
    n++;

    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t us = (int64_t)(now.tv_sec - c->start.tv_sec) * 1000000 +
                 (now.tv_nsec - c->start.tv_nsec) / 1000;
    log_event(LOG_INFO, "request", LOG_STR("method", call_method_path(c)),
              LOG_STR("principal", call_principal_id(c)), LOG_STR("status", valv_code_name(code)),
              LOG_INT("duration_us", us), LOG_STR("request_id", c->request_id), LOG_END);
    metrics_call_ended(c->srv->metrics, c->unknown ? method_count : c->method_index, code, us);

    call_start_batch(c, ops, n, &c->tag_finished);
}

void call_reply(call *c, const ProtobufCMessage *reply)
{
    call_finish(c, pack_message(reply), NULL);
}

void call_reply_encoded(call *c, const void *encoded, size_t len)
{
    call_finish(c, encoded_message(encoded, len), NULL);
}

void call_fail(call *c, const valv_error *err)
{
    call_finish(c, NULL, err);
}

void call_end(call *c)
{
    call_finish(c, NULL, NULL);
}

void call_send(call *c, const ProtobufCMessage *msg, call_sent_fn on_sent, void *arg)
{
    grpc_op ops[2];
    size_t n = 0;
    memset(ops, 0, sizeof ops);
    if (!c->sent_initial_md) {
        c->sent_initial_md = true;
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    }
    if (c->send_buf != NULL)
        grpc_byte_buffer_destroy(c->send_buf);
    c->send_buf = pack_message(msg);
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n++].data.send_message.send_message = c->send_buf;
    c->on_sent = on_sent;
    c->sent_arg = arg;
    atomic_fetch_add(&c->refs, 1);
    call_start_batch(c, ops, n, &c->tag_sent);
}

/* Runs the close hook once, if there is one. */
static void call_fire_close(call *c)
{
    call_close_fn fn = NULL;
    void *arg = NULL;
    pthread_mutex_lock(&c->srv->lock);
    if (c->on_close != NULL && !atomic_exchange(&c->close_fired, true)) {
        fn = c->on_close;
        arg = c->close_arg;
    }
    pthread_mutex_unlock(&c->srv->lock);
    if (fn != NULL)
        fn(c, arg);
}

void call_on_close(call *c, call_close_fn on_close, void *arg)
{
    server *srv = c->srv;
    bool draining;
    pthread_mutex_lock(&srv->lock);
    c->on_close = on_close;
    c->close_arg = arg;
    c->stream_prev = NULL;
    c->stream_next = srv->streams;
    if (srv->streams != NULL)
        srv->streams->stream_prev = c;
    srv->streams = c;
    draining = srv->draining;
    pthread_mutex_unlock(&srv->lock);
    if (draining || atomic_load(&c->cancelled))
        call_fire_close(c);
}

void call_kick(call *c, call_kick_fn fn, void *arg)
{
    if (atomic_exchange(&c->kick_in_flight, true))
        return;
    c->on_kick = fn;
    c->kick_arg = arg;
    atomic_fetch_add(&c->refs, 1);
    call_start_batch(c, NULL, 0, &c->tag_kick);
}

static void on_kicked(call *c)
{
    call_kick_fn fn = c->on_kick;
    void *arg = c->kick_arg;
    atomic_store(&c->kick_in_flight, false);
    if (fn != NULL && !atomic_load(&c->finished))
        fn(c, arg);
    call_unref(c);
}

void call_on_free(call *c, call_free_fn fn, void *arg)
{
    c->on_free = fn;
    c->free_arg = arg;
}

void call_cancel(call *c, const valv_error *err)
{
    atomic_store(&c->cancelled, true);
    grpc_call_cancel_with_status(c->gc, (grpc_status_code)err->code, err->message, NULL);
}

store *call_store(call *c)
{
    return c->srv->store;
}

writer *call_writer(call *c)
{
    return c->srv->writer;
}

struct watch_hub *call_watch_hub(call *c)
{
    return c->srv->watches;
}

const char *call_data_dir(call *c)
{
    return c->srv->data_dir;
}

void call_server_started(call *c, struct timespec *start_time, int64_t *uptime_seconds)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    *start_time = c->srv->start_time;
    *uptime_seconds = (int64_t)(now.tv_sec - c->srv->start_monotonic.tv_sec);
}

const char *call_actor(call *c)
{
    return c->principal != NULL ? c->principal->id : "";
}

const principal *call_principal(call *c)
{
    return c->principal;
}

const char *call_request_id(call *c)
{
    return c->request_id;
}

void call_set_request_id(call *c, const char *id)
{
    if (id != NULL && id[0] != '\0' && strlen(id) <= VALV_REQUEST_ID_MAX)
        snprintf(c->request_id, sizeof c->request_id, "%s", id);
}

/* Takes the request's own request_id, when its message has one: a string
 * field of that name, found through the descriptor, so that every method
 * whose request carries one is covered. Its content is the handler's to
 * check (validate_write_fields). */
static void call_adopt_request_id(call *c)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(c->request->descriptor, "request_id");
    if (f != NULL && f->type == PROTOBUF_C_TYPE_STRING && f->label != PROTOBUF_C_LABEL_REPEATED)
        call_set_request_id(c, *(const char *const *)((const char *)c->request + f->offset));
}

/* The bearer token of the call's authorization metadata, if any, copied
 * into out (capacity TOKEN_MAX). */
static bool bearer_token(const call *c, char out[TOKEN_MAX])
{
    for (size_t i = 0; i < c->request_md.count; i++) {
        const grpc_metadata *md = &c->request_md.metadata[i];
        if (grpc_slice_str_cmp(md->key, AUTHORIZATION_KEY) != 0)
            continue;
        size_t len = GRPC_SLICE_LENGTH(md->value);
        const char *value = (const char *)GRPC_SLICE_START_PTR(md->value);
        size_t prefix = sizeof BEARER_PREFIX - 1;
        if (len <= prefix || len - prefix >= TOKEN_MAX || strncasecmp(value, BEARER_PREFIX, prefix) != 0)
            return false;
        memcpy(out, value + prefix, len - prefix);
        out[len - prefix] = '\0';
        return true;
    }
    return false;
}

/* The principal named by the call's client certificate: each subject
 * alternative name, then the common name. */
static const principal *certificate_principal(const call *c, const principals *set)
{
    const principal *found = NULL;
    grpc_auth_context *ctx = grpc_call_auth_context(c->gc);
    if (ctx == NULL)
        return NULL;
    static const char *const properties[] = {GRPC_X509_SAN_PROPERTY_NAME, GRPC_X509_CN_PROPERTY_NAME};
    for (size_t k = 0; k < sizeof properties / sizeof properties[0] && found == NULL; k++) {
        grpc_auth_property_iterator it = grpc_auth_context_find_properties_by_name(ctx, properties[k]);
        const grpc_auth_property *prop;
        while (found == NULL && (prop = grpc_auth_property_iterator_next(&it)) != NULL) {
            char name[256];
            if (prop->value_length >= sizeof name)
                continue;
            memcpy(name, prop->value, prop->value_length);
            name[prop->value_length] = '\0';
            found = principals_find_by_cert(set, name);
        }
    }
    grpc_auth_context_release(ctx);
    return found;
}

/* Finds who is calling and checks that they hold the method's right for
 * some unit or source, before the handler looks anything up (AIP-193). On
 * failure ends the call and returns false. */
static bool call_authenticate(call *c)
{
    const method *m = &method_table[c->method_index];
    valv_error err;
    valv_error_clear(&err);
    if (c->srv->dev) {
        c->principal = authz_dev_principal();
        return true;
    }
    c->principal_set = principals_holder_get(c->srv->principals);
    char token[TOKEN_MAX];
    if (bearer_token(c, token))
        c->principal = principals_find_by_token(c->principal_set, token);
    else
        c->principal = certificate_principal(c, c->principal_set);
    if (m->access == METHOD_OPEN)
        return true;
    if (c->principal == NULL) {
        valv_error_set(&err, VALV_EUNAUTHENTICATED,
                       "no known identity: send 'authorization: Bearer TOKEN' or a client certificate "
                       "named in the principals file");
        call_fail(c, &err);
        return false;
    }
    if (authz_check(c->principal, m->right, NULL, &err) != VALV_OK) {
        call_fail(c, &err);
        return false;
    }
    return true;
}

bool call_should_stop(call *c)
{
    if (atomic_load(&c->cancelled))
        return true;
    gpr_timespec now = gpr_now(GPR_CLOCK_MONOTONIC);
    gpr_timespec deadline = gpr_convert_clock_type(c->deadline, GPR_CLOCK_MONOTONIC);
    return gpr_time_cmp(now, deadline) > 0;
}

/* --- Arrivals ----------------------------------------------------------------- */

static void post_request(worker *w, size_t method_index)
{
    server *srv = w->srv;
    call *c = call_new(srv, w, false, method_index);
    if (c == NULL)
        return;
    const method *m = &method_table[method_index];
    grpc_call_error e = grpc_server_request_registered_call(
        srv->gs, srv->method_handles[method_index], &c->gc, &c->deadline, &c->request_md,
        method_streams_requests(m->kind) ? NULL : &c->payload,
        w->cq, w->cq, &c->tag_new);
    if (e != GRPC_CALL_OK) {
        log_event(LOG_ERROR, "request_call_failed", LOG_STR("method", m->path), LOG_INT("error", e),
                  LOG_END);
        call_free(c);
    }
}

static void post_unknown_request(worker *w)
{
    call *c = call_new(w->srv, w, true, 0);
    if (c == NULL)
        return;
    grpc_call_error e = grpc_server_request_call(w->srv->gs, &c->gc, &c->details, &c->request_md,
                                                 w->cq, w->cq, &c->tag_new);
    if (e != GRPC_CALL_OK) {
        log_event(LOG_ERROR, "request_call_failed", LOG_STR("method", "(unknown)"), LOG_INT("error", e),
                  LOG_END);
        call_free(c);
    }
}

static bool server_draining(server *srv)
{
    pthread_mutex_lock(&srv->lock);
    bool d = srv->draining;
    pthread_mutex_unlock(&srv->lock);
    return d;
}

/* Decodes a received message with desc. buf == NULL is a missing message. */
static int decode_message(const ProtobufCMessageDescriptor *desc, grpc_byte_buffer *buf,
                          ProtobufCMessage **out, valv_error *err)
{
    *out = NULL;
    if (buf == NULL)
        return valv_error_set(err, VALV_EINVAL, "the request message is missing");
    grpc_byte_buffer_reader reader;
    if (!grpc_byte_buffer_reader_init(&reader, buf))
        return valv_error_set(err, VALV_EINVAL, "the request message cannot be read");
    grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    *out = protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(all), GRPC_SLICE_START_PTR(all));
    grpc_slice_unref(all);
    if (*out == NULL)
        return valv_error_set(err, VALV_EINVAL, "the request is not a valid %s message", desc->name);
    return VALV_OK;
}

/* Decodes the request payload and takes its request id; on failure ends
 * the call and returns false. */
static bool call_decode(call *c)
{
    valv_error err;
    valv_error_clear(&err);
    /* No payload is either a client that closed without sending one (its
     * mistake: INVALID_ARGUMENT) or a call cut off before the message came
     * (the client cancelled or went away): then it is CANCELLED, in the log
     * and the metrics too. */
    if (c->payload == NULL && grpc_call_failed_before_recv_message(c->gc)) {
        valv_error_set(&err, VALV_ECANCELLED, "the call ended before its request message arrived");
        call_fail(c, &err);
        return false;
    }
    if (decode_message(method_table[c->method_index].request, c->payload, &c->request, &err) != VALV_OK) {
        call_fail(c, &err);
        return false;
    }
    call_adopt_request_id(c);
    return true;
}

void call_recv(call *c, const ProtobufCMessageDescriptor *desc, call_recv_fn on_msg, void *arg)
{
    c->recv_desc = desc;
    c->on_recv = on_msg;
    c->recv_arg = arg;
    grpc_op ops[2];
    size_t n = 0;
    memset(ops, 0, sizeof ops);
    if (!c->sent_initial_md) {
        /* Headers go out now, so a client that waits for them before it
         * streams is not held up. */
        c->sent_initial_md = true;
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    }
    ops[n].op = GRPC_OP_RECV_MESSAGE;
    ops[n++].data.recv_message.recv_message = &c->recv_buf;
    atomic_fetch_add(&c->refs, 1);
    call_start_batch(c, ops, n, &c->tag_received);
}

static void on_received(call *c, bool ok)
{
    valv_error err;
    valv_error_clear(&err);
    ProtobufCMessage *msg = NULL;
    grpc_byte_buffer *buf = c->recv_buf;
    c->recv_buf = NULL;
    if (!ok)
        valv_error_set(&err, VALV_ECANCELLED, "the client went away");
    else if (buf != NULL)
        decode_message(c->recv_desc, buf, &msg, &err);
    if (buf != NULL)
        grpc_byte_buffer_destroy(buf);
    if (!atomic_load(&c->finished))
        c->on_recv(c, msg, err.code != VALV_OK ? &err : NULL, c->recv_arg);
    else if (msg != NULL)
        protobuf_c_message_free_unpacked(msg, NULL);
    call_unref(c);
}

/* A call arrived: start its clock and ask to hear of its cancellation. */
static void call_begin(call *c)
{
    clock_gettime(CLOCK_MONOTONIC, &c->start);
    metrics_call_started(c->srv->metrics);
    atomic_store(&c->refs, 2); /* the final batch, and RECV_CLOSE below */
    grpc_op close_op;
    memset(&close_op, 0, sizeof close_op);
    close_op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    close_op.data.recv_close_on_server.cancelled = &c->close_cancelled;
    call_start_batch(c, &close_op, 1, &c->tag_closed);
}

static void on_new_call(worker *w, call *c, bool ok)
{
    if (!ok) { /* the server is shutting down: the request was never filled */
        call_free(c);
        return;
    }
    if (!server_draining(w->srv))
        post_request(w, c->method_index);
    call_begin(c);

    if (call_should_stop(c)) {
        valv_error err;
        valv_error_clear(&err);
        valv_error_set(&err, VALV_EDEADLINE, "the deadline passed before the request was read");
        call_fail(c, &err);
        return;
    }
    if (!call_authenticate(c))
        return;
    /* A streaming request's messages come later, through call_recv. */
    if (!method_streams_requests(method_table[c->method_index].kind) && !call_decode(c))
        return;
    log_event(LOG_DEBUG, "request_started", LOG_STR("method", call_method_path(c)),
              LOG_STR("principal", call_principal_id(c)), LOG_STR("request_id", c->request_id), LOG_END);
    method_table[c->method_index].handler(c, c->request);
}

static void on_new_unknown(worker *w, call *c, bool ok)
{
    if (!ok) {
        call_free(c);
        return;
    }
    if (!server_draining(w->srv))
        post_unknown_request(w);
    call_begin(c);

    char *path = grpc_slice_to_c_string(c->details.method);
    valv_error err;
    valv_error_clear(&err);
    valv_error_set(&err, VALV_EUNIMPLEMENTED, "valvd has no method %s", path);
    gpr_free(path);
    call_fail(c, &err);
}

static void on_closed(call *c)
{
    if (c->close_cancelled) {
        atomic_store(&c->cancelled, true);
        call_fire_close(c);
    }
    call_unref(c);
}

static void on_sent(call *c, bool ok)
{
    call_sent_fn fn = c->on_sent;
    c->on_sent = NULL;
    if (fn != NULL)
        fn(c, ok, c->sent_arg);
    call_unref(c);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(w->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        call_tag *tag = ev.tag;
        switch (tag->kind) {
        case TAG_NEW_CALL:
            on_new_call(w, tag->call, ev.success);
            break;
        case TAG_NEW_UNKNOWN:
            on_new_unknown(w, tag->call, ev.success);
            break;
        case TAG_SENT:
            on_sent(tag->call, ev.success);
            break;
        case TAG_FINISHED:
            call_unref(tag->call);
            break;
        case TAG_CLOSED:
            on_closed(tag->call);
            break;
        case TAG_KICK:
            on_kicked(tag->call);
            break;
        case TAG_RECEIVED:
            on_received(tag->call, ev.success);
            break;
        case TAG_SHUTDOWN:
            pthread_mutex_lock(&w->srv->lock);
            w->srv->shutdown_done = true;
            pthread_cond_broadcast(&w->srv->changed);
            pthread_mutex_unlock(&w->srv->lock);
            break;
        }
    }
    return NULL;
}

/* --- Start and stop -------------------------------------------------------------- */

/* "HOST:PORT" with PORT replaced by the port actually bound. */
static void format_bound(const char *listen, int port, char *out, size_t cap)
{
    const char *colon = strrchr(listen, ':');
    int host_len = colon != NULL ? (int)(colon - listen) : (int)strlen(listen);
    snprintf(out, cap, "%.*s:%d", host_len, listen, port);
}

int server_start(const server_config *cfg, server **out, char *bound_out, size_t bound_cap,
                 valv_error *err)
{
    if (method_count > sizeof ((server *)0)->method_handles / sizeof(void *))
        return valv_error_set(err, VALV_EINTERNAL, "the method table is larger than the server allows");
    server *srv = calloc(1, sizeof *srv);
    if (srv == NULL)
        return valv_error_set(err, VALV_EINTERNAL, "out of memory");
    srv->store = cfg->store;
    srv->writer = cfg->writer;
    srv->watches = cfg->watches;
    srv->metrics = cfg->metrics;
    srv->data_dir = cfg->data_dir;
    srv->start_time = cfg->start_time;
    clock_gettime(CLOCK_MONOTONIC, &srv->start_monotonic);
    srv->principals = cfg->principals;
    srv->dev = cfg->dev;
    srv->n_workers = cfg->threads > 0 ? cfg->threads : SERVER_THREADS_DEFAULT;
    if (srv->n_workers > SERVER_THREADS_MAX)
        srv->n_workers = SERVER_THREADS_MAX;
    srv->shutdown_tag = (call_tag){TAG_SHUTDOWN, NULL};
    pthread_mutex_init(&srv->lock, NULL);
    pthread_cond_init(&srv->changed, NULL);

    grpc_arg args[] = {
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, .value.integer = VALV_MESSAGE_MAX},
    };
    grpc_channel_args channel_args = {.num_args = sizeof args / sizeof args[0], .args = args};
    srv->gs = grpc_server_create(&channel_args, NULL);
    for (int i = 0; i < srv->n_workers; i++) {
        srv->workers[i].srv = srv;
        srv->workers[i].cq = grpc_completion_queue_create_for_next(NULL);
        grpc_server_register_completion_queue(srv->gs, srv->workers[i].cq, NULL);
    }
    for (size_t m = 0; m < method_count; m++)
        srv->method_handles[m] = grpc_server_register_method(
            srv->gs, method_table[m].path, NULL,
            method_streams_requests(method_table[m].kind) ? GRPC_SRM_PAYLOAD_NONE
                                                          : GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER,
            0);

    grpc_server_credentials *creds;
    if (cfg->tls_cert_pem != NULL) {
        grpc_ssl_pem_key_cert_pair pair = {cfg->tls_key_pem, cfg->tls_cert_pem};
        grpc_ssl_client_certificate_request_type request =
            cfg->client_ca_pem == NULL   ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
            : cfg->require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                       : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
        creds = grpc_ssl_server_credentials_create_ex(cfg->client_ca_pem, &pair, 1, request, NULL);
    } else {
        creds = grpc_insecure_server_credentials_create();
    }
    int port = grpc_server_add_http2_port(srv->gs, cfg->listen, creds);
    grpc_server_credentials_release(creds);
    if (port == 0) {
        for (int i = 0; i < srv->n_workers; i++) {
            grpc_completion_queue_shutdown(srv->workers[i].cq);
            while (grpc_completion_queue_next(srv->workers[i].cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type != GRPC_QUEUE_SHUTDOWN)
                ;
        }
        grpc_server_destroy(srv->gs);
        for (int i = 0; i < srv->n_workers; i++)
            grpc_completion_queue_destroy(srv->workers[i].cq);
        pthread_cond_destroy(&srv->changed);
        pthread_mutex_destroy(&srv->lock);
        free(srv);
        return valv_error_set(err, VALV_EUNAVAILABLE,
                              "cannot listen on %s: the address is in use or not local", cfg->listen);
    }
    format_bound(cfg->listen, port, bound_out, bound_cap);
    grpc_server_start(srv->gs);

    for (int i = 0; i < srv->n_workers; i++) {
        worker *w = &srv->workers[i];
        for (size_t m = 0; m < method_count; m++)
            for (int k = 0; k < SERVER_REQUESTS_PER_METHOD; k++)
                post_request(w, m);
        for (int k = 0; k < SERVER_UNKNOWN_REQUESTS; k++)
            post_unknown_request(w);
        pthread_create(&w->thread, NULL, worker_main, w);
    }
    *out = srv;
    return VALV_OK;
}

/* Waits on srv->changed until *flag is true or the deadline passes. */
static bool wait_until(server *srv, bool (*done)(server *), const struct timespec *deadline)
{
    pthread_mutex_lock(&srv->lock);
    int rc = 0;
    while (!done(srv) && rc == 0)
        rc = deadline != NULL ? pthread_cond_timedwait(&srv->changed, &srv->lock, deadline)
                              : pthread_cond_wait(&srv->changed, &srv->lock);
    bool ok = done(srv);
    pthread_mutex_unlock(&srv->lock);
    return ok;
}

static bool shutdown_is_done(server *srv)
{
    return srv->shutdown_done;
}

static bool no_live_calls(server *srv)
{
    return srv->live_calls == 0;
}

/* Runs every stream's close hook: streams end at once instead of holding
 * the drain until the grace period runs out. */
static void close_streams(server *srv)
{
    for (;;) {
        call *c = NULL;
        pthread_mutex_lock(&srv->lock);
        for (call *s = srv->streams; s != NULL; s = s->stream_next) {
            if (!atomic_load(&s->close_fired)) {
                c = s;
                atomic_fetch_add(&c->refs, 1);
                break;
            }
        }
        pthread_mutex_unlock(&srv->lock);
        if (c == NULL)
            return;
        call_fire_close(c);
        call_unref(c);
    }
}

void server_stop(server *srv, int grace_ms)
{
    if (srv == NULL)
        return;
    pthread_mutex_lock(&srv->lock);
    srv->draining = true;
    pthread_mutex_unlock(&srv->lock);
    close_streams(srv);

    grpc_server_shutdown_and_notify(srv->gs, srv->workers[0].cq, &srv->shutdown_tag);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += grace_ms / 1000;
    deadline.tv_nsec += (long)(grace_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    if (!wait_until(srv, shutdown_is_done, &deadline)) {
        log_event(LOG_INFO, "drain_timeout", LOG_INT("grace_ms", grace_ms),
                  LOG_STR("action", "cancel_calls"), LOG_END);
        grpc_server_cancel_all_calls(srv->gs);
        wait_until(srv, shutdown_is_done, NULL);
    }
    /* Calls whose write is still queued end when the writer answers them. */
    wait_until(srv, no_live_calls, NULL);
    grpc_server_destroy(srv->gs);
    for (int i = 0; i < srv->n_workers; i++)
        grpc_completion_queue_shutdown(srv->workers[i].cq);
    for (int i = 0; i < srv->n_workers; i++) {
        pthread_join(srv->workers[i].thread, NULL);
        grpc_completion_queue_destroy(srv->workers[i].cq);
    }
    pthread_cond_destroy(&srv->changed);
    pthread_mutex_destroy(&srv->lock);
    free(srv);
}
