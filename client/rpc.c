/* rpc.c - a small blocking gRPC client over the C core (see rpc.h).
 *
 * Every call gets its own pluck completion queue, so nothing is shared
 * between calls. A unary call runs as one batch (send metadata, message and
 * close; receive metadata, message and status): a single wait. Streams
 * and uploads run as several batches on one call (see long_call below).
 */
#include "rpc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"

#define RPC_DEFAULT_TIMEOUT_MS 30000
#define RPC_MAX_RECEIVE_MESSAGE (64 * 1024 * 1024)
#define RPC_STATUS_DETAILS_KEY "grpc-status-details-bin"
#define RPC_BAD_REQUEST_TYPE_URL "type.googleapis.com/google.rpc.BadRequest"

#define RPC_AUTHORIZATION_KEY "authorization"
#define RPC_BEARER_PREFIX "Bearer "
/* Longer than any PEM file valv has a reason to read (a chain of a few
 * certificates, or a key). */
#define RPC_PEM_MAX (1024 * 1024)

struct rpc_conn {
    grpc_channel *channel;
    char addr[256];
    bool tls;
    char tls_ca_file[256]; /* for messages; "" when the system's CAs are used */
    char cert_file[256];   /* for messages; "" without a client certificate */
    bool has_token;
    grpc_metadata authorization; /* sent with every call when has_token */
};

/* True for an address that can only reach this machine. */
static bool is_loopback(const char *addr)
{
    const char *colon = strrchr(addr, ':');
    size_t host_len = colon != NULL ? (size_t)(colon - addr) : strlen(addr);
    return (host_len >= 4 && strncmp(addr, "127.", 4) == 0) ||
           (host_len == 9 && strncmp(addr, "localhost", 9) == 0) ||
           (host_len == 5 && strncmp(addr, "[::1]", 5) == 0);
}

/* Reads the PEM file at path into *text_out (malloc'd, NUL-terminated;
 * the caller frees). what names the file's role in the error: "--tls-ca". */
static int read_pem(const char *path, const char *what, char **text_out, valv_error *err)
{
    int rc = VALV_OK;
    char *text = NULL;
    *text_out = NULL;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return valv_error_set(err, VALV_EINVAL, "cannot read %s %s: %s", what, path,
                              strerror(errno));
    text = malloc(RPC_PEM_MAX + 1);
    if (text == NULL) {
        rc = valv_error_set(err, VALV_EINTERNAL, "out of memory");
        goto done;
    }
    size_t len = fread(text, 1, RPC_PEM_MAX + 1, f);
    if (ferror(f)) {
        rc = valv_error_set(err, VALV_EINVAL, "cannot read %s %s: %s", what, path,
                            strerror(errno));
        goto done;
    }
    if (len > RPC_PEM_MAX) {
        rc = valv_error_set(err, VALV_EINVAL, "%s %s is over %d bytes: not a PEM file", what,
                            path, RPC_PEM_MAX);
        goto done;
    }
    text[len] = '\0';
    if (strstr(text, "-----BEGIN ") == NULL) {
        rc = valv_error_set(err, VALV_EINVAL, "%s %s is not a PEM file (no '-----BEGIN ' line)",
                            what, path);
        goto done;
    }
    *text_out = text;
    text = NULL;
done:
    free(text);
    fclose(f);
    return rc;
}

/* Refuses the passphrase OpenSSL would otherwise ask for on the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *arg)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)arg;
    return 0;
}

/* Checks that key_pem is the private key of the certificate in cert_pem.
 * gRPC finds out only on the first call and then reports nothing a person
 * could act on ("empty address list"). */
static int check_key_pair(const rpc_options *options, const char *cert_pem, const char *key_pem,
                          valv_error *err)
{
    int rc = VALV_OK;
    BIO *cert_bio = BIO_new_mem_buf(cert_pem, -1);
    BIO *key_bio = BIO_new_mem_buf(key_pem, -1);
    X509 *cert = cert_bio != NULL ? PEM_read_bio_X509(cert_bio, NULL, no_passphrase, NULL) : NULL;
    EVP_PKEY *key =
        key_bio != NULL ? PEM_read_bio_PrivateKey(key_bio, NULL, no_passphrase, NULL) : NULL;
    if (cert == NULL)
        rc = valv_error_set(err, VALV_EINVAL, "--cert %s holds no certificate that can be read",
                            options->cert_file);
    else if (key == NULL)
        rc = valv_error_set(err, VALV_EINVAL,
                            "--key %s holds no private key that can be read (a key protected by "
                            "a passphrase is not supported)",
                            options->key_file);
    else if (X509_check_private_key(cert, key) != 1)
        rc = valv_error_set(err, VALV_EINVAL, "--key %s is not the private key of --cert %s",
                            options->key_file, options->cert_file);
    ERR_clear_error();
    EVP_PKEY_free(key);
    X509_free(cert);
    BIO_free(key_bio);
    BIO_free(cert_bio);
    return rc;
}

/* The channel credentials the options ask for: TLS with the given CA and
 * client certificate, or plaintext. */
static int make_credentials(const rpc_options *options, grpc_channel_credentials **out,
                            valv_error *err)
{
    int rc = VALV_OK;
    char *ca_pem = NULL, *cert_pem = NULL, *key_pem = NULL;
    *out = NULL;

    bool tls = options->tls || options->tls_ca_file != NULL || options->cert_file != NULL;
    if (!tls) {
        *out = grpc_insecure_credentials_create();
        return VALV_OK;
    }
    if ((options->cert_file == NULL) != (options->key_file == NULL))
        return valv_error_set(err, VALV_EINVAL,
                              "a client certificate needs both --cert FILE and --key FILE");
    if (options->tls_ca_file != NULL)
        rc = read_pem(options->tls_ca_file, "--tls-ca", &ca_pem, err);
    if (rc == VALV_OK && options->cert_file != NULL)
        rc = read_pem(options->cert_file, "--cert", &cert_pem, err);
    if (rc == VALV_OK && options->key_file != NULL)
        rc = read_pem(options->key_file, "--key", &key_pem, err);
    if (rc == VALV_OK && cert_pem != NULL)
        rc = check_key_pair(options, cert_pem, key_pem, err);
    if (rc != VALV_OK)
        goto done;

    grpc_ssl_pem_key_cert_pair pair = {.private_key = key_pem, .cert_chain = cert_pem};
    /* A NULL root certificate means the system's (gRPC's default roots). */
    *out = grpc_ssl_credentials_create(ca_pem, cert_pem != NULL ? &pair : NULL, NULL, NULL);
    if (*out == NULL)
        rc = valv_error_set(err, VALV_EINVAL, "cannot set up TLS with these PEM files");
done:
    free(ca_pem);
    free(cert_pem);
    free(key_pem);
    return rc;
}

int rpc_connect(const rpc_options *options, rpc_conn **out, valv_error *err)
{
    int rc = VALV_OK;
    grpc_channel_credentials *creds = NULL;
    char *bearer = NULL;

    *out = NULL;
    rpc_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return valv_error_set(err, VALV_EINTERNAL, "out of memory");
    snprintf(c->addr, sizeof c->addr, "%s", options->addr);
    snprintf(c->tls_ca_file, sizeof c->tls_ca_file, "%s",
             options->tls_ca_file != NULL ? options->tls_ca_file : "");
    snprintf(c->cert_file, sizeof c->cert_file, "%s",
             options->cert_file != NULL ? options->cert_file : "");
    grpc_init();

    rc = make_credentials(options, &creds, err);
    if (rc != VALV_OK)
        goto done;
    c->tls = options->tls || options->tls_ca_file != NULL || options->cert_file != NULL;
    if (options->token != NULL) {
        if (!c->tls && !is_loopback(options->addr)) {
            rc = valv_error_set(err, VALV_EINVAL,
                                "refusing to send a bearer token to %s without TLS, where anyone "
                                "on the way could read it: give --tls-ca FILE (or set VALV_TLS=1)",
                                options->addr);
            goto done;
        }
        if (asprintf(&bearer, RPC_BEARER_PREFIX "%s", options->token) < 0) {
            bearer = NULL;
            rc = valv_error_set(err, VALV_EINTERNAL, "out of memory");
            goto done;
        }
        c->authorization.key = grpc_slice_from_static_string(RPC_AUTHORIZATION_KEY);
        c->authorization.value = grpc_slice_from_copied_string(bearer);
        c->has_token = true;
    }

    grpc_arg arg = {
        .type = GRPC_ARG_INTEGER,
        .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
        .value.integer = RPC_MAX_RECEIVE_MESSAGE,
    };
    grpc_channel_args args = {.num_args = 1, .args = &arg};
    /* Never fails: a bad target gives a channel whose calls fail with
     * UNAVAILABLE, which the first call reports with the address. */
    c->channel = grpc_channel_create(options->addr, creds, &args);

done:
    if (creds != NULL)
        grpc_channel_credentials_release(creds);
    if (bearer != NULL) {
        /* The token is a secret: do not leave a copy in freed memory. */
        explicit_bzero(bearer, strlen(bearer));
        free(bearer);
    }
    if (rc != VALV_OK) {
        rpc_close(c);
        return rc;
    }
    *out = c;
    return VALV_OK;
}

void rpc_close(rpc_conn *c)
{
    if (c == NULL)
        return;
    if (c->channel != NULL)
        grpc_channel_destroy(c->channel);
    if (c->has_token) {
        grpc_slice_unref(c->authorization.key);
        grpc_slice_unref(c->authorization.value);
    }
    free(c);
    grpc_shutdown();
}

/* Fills a SEND_INITIAL_METADATA op: the bearer token, if any. */
static void set_initial_metadata(rpc_conn *c, grpc_op *op)
{
    op->op = GRPC_OP_SEND_INITIAL_METADATA;
    op->data.send_initial_metadata.count = c->has_token ? 1 : 0;
    op->data.send_initial_metadata.metadata = c->has_token ? &c->authorization : NULL;
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

/* Says why a connection failed when gRPC's words show a reason the user can
 * fix (a certificate, TLS on one side only), else that valvd cannot be
 * reached. The C core gives a client nothing but the status message, so
 * these are matched in detail, which is kept in the message as gRPC said it. */
static int connection_error(const rpc_conn *c, const char *detail, valv_error *err)
{
    if (strcasestr(detail, "certificate verify failed") != NULL) {
        if (c->tls_ca_file[0] == '\0')
            return valv_error_set(err, VALV_EUNAVAILABLE,
                                  "valvd at %s presented a certificate that does not verify "
                                  "against the system's CAs (%s); give --tls-ca FILE, the CA "
                                  "that signed it",
                                  c->addr, detail);
        return valv_error_set(err, VALV_EUNAVAILABLE,
                              "valvd at %s presented a certificate that does not verify against "
                              "CA %s (%s); is that the CA that signed valvd's --tls-cert?",
                              c->addr, c->tls_ca_file, detail);
    }
    if (strcasestr(detail, "is not in peer certificate") != NULL)
        return valv_error_set(err, VALV_EUNAVAILABLE,
                              "valvd at %s presented a certificate that is not made out to that "
                              "address (%s); connect by a name or IP address the certificate lists",
                              c->addr, detail);
    if (c->tls && strcasestr(detail, "wrong version number") != NULL)
        return valv_error_set(err, VALV_EUNAVAILABLE,
                              "valvd at %s does not speak TLS (%s); if it runs with --dev, drop "
                              "--tls, --tls-ca and --cert",
                              c->addr, detail);
    bool closed = strcasestr(detail, "socket closed") != NULL ||
                  strcasestr(detail, "connection reset") != NULL;
    if (closed && !c->tls)
        return valv_error_set(err, VALV_EUNAVAILABLE,
                              "valvd at %s closed the connection (%s); if it serves TLS (runs "
                              "without --dev), give --tls-ca FILE and --cert/--key or --token-file",
                              c->addr, detail);
    if (closed && c->cert_file[0] != '\0')
        return valv_error_set(err, VALV_EUNAVAILABLE,
                              "valvd at %s closed the connection during the TLS handshake (%s); "
                              "it may not trust the client certificate %s (signed by another CA "
                              "than its --client-ca?)",
                              c->addr, detail, c->cert_file);
    if (closed)
        return valv_error_set(err, VALV_EUNAVAILABLE,
                              "valvd at %s closed the connection during the TLS handshake (%s); "
                              "it may require a client certificate: give --cert and --key",
                              c->addr, detail);
    return valv_error_set(err, VALV_EUNAVAILABLE,
                          "cannot reach valvd at %s: %s; is it running? (set --addr or VALV_ADDR)",
                          c->addr, detail);
}

/* Turns a non-OK call status into err. Transport failures get a message
 * that names the address, since the server never saw the request. */
static int status_to_error(const rpc_conn *c, grpc_status_code status, const grpc_slice *message,
                           const grpc_metadata_array *trailer, int timeout_ms, valv_error *err)
{
    int len = (int)GRPC_SLICE_LENGTH(*message);
    const char *text = (const char *)GRPC_SLICE_START_PTR(*message);

    if (status == GRPC_STATUS_UNAVAILABLE) {
        char detail[VALV_ERROR_MESSAGE_MAX];
        snprintf(detail, sizeof detail, "%.*s", len, text);
        return connection_error(c, detail, err);
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
    set_initial_metadata(c, &ops[0]);
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

/* ---- Calls of several batches: server streams and uploads ------------------ */

/* A server stream and an upload are each one call that runs as several
 * batches, each with its own tag (the address of its flag below, which says
 * whether the batch is still outstanding):
 *
 *   send     what the client sends. A stream sends its metadata, request and
 *            close in one batch (receiving the initial metadata too); an
 *            upload sends its metadata, then one message per batch.
 *   message  receive one message: a stream's next one, an upload's reply
 *            (with the close)
 *   status   receive the status (an upload's initial metadata too): posted
 *            at once, completes when the call ends
 *
 * Only the thread that uses the call plucks, so the flags need no lock;
 * rpc_stream_cancel touches nothing but the call. */
typedef struct {
    rpc_conn *conn;
    char method[256];
    int timeout_ms;
    grpc_completion_queue *cq;
    grpc_call *call;
    grpc_byte_buffer *sent; /* the send batch's message; freed once it completes */
    grpc_byte_buffer *received;
    grpc_metadata_array initial_md;
    grpc_metadata_array trailing_md;
    grpc_status_code status;
    grpc_slice status_message;

    bool send_pending;
    bool message_pending;
    bool status_pending;
    bool send_failed; /* a send batch failed: the server will not get the rest */
    bool ended;       /* the final status is in final_err */
    valv_error final_err;
} long_call;

struct rpc_stream {
    long_call lc;
};

struct rpc_upload {
    long_call lc;
};

/* Sets up lc and creates its call; the caller posts the first send batch,
 * then long_call_post_status. long_call_release frees what this made, also
 * when it fails. */
static int long_call_create(long_call *lc, rpc_conn *c, const char *method, int timeout_ms,
                            valv_error *err)
{
    lc->conn = c;
    /* The call refers to its method name until it is unref'd. */
    snprintf(lc->method, sizeof lc->method, "%s", method);
    lc->timeout_ms = timeout_ms;
    lc->status_message = grpc_empty_slice();
    grpc_metadata_array_init(&lc->initial_md);
    grpc_metadata_array_init(&lc->trailing_md);
    lc->cq = grpc_completion_queue_create_for_pluck(NULL);
    lc->call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, lc->cq,
                                        grpc_slice_from_static_string(lc->method), NULL,
                                        deadline_after(timeout_ms), NULL);
    if (lc->call == NULL)
        return valv_error_set(err, VALV_EINTERNAL, "cannot create a call to %s", method);
    return VALV_OK;
}

static int long_call_start_batch(long_call *lc, grpc_op *ops, size_t n_ops, bool *pending,
                                 valv_error *err)
{
    grpc_call_error call_err = grpc_call_start_batch(lc->call, ops, n_ops, pending, NULL);
    if (call_err != GRPC_CALL_OK)
        return valv_error_set(err, VALV_EINTERNAL, "cannot start the call to %s (error %d)",
                              lc->method, (int)call_err);
    *pending = true;
    return VALV_OK;
}

/* Waits for the batch whose flag is pending and clears the flag. Returns
 * whether the batch succeeded. The call's deadline, or a cancel, bounds the
 * wait. */
static bool long_call_wait(long_call *lc, bool *pending)
{
    grpc_event ev =
        grpc_completion_queue_pluck(lc->cq, pending, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    *pending = false;
    return ev.type == GRPC_OP_COMPLETE && ev.success;
}

/* Posts the status batch. With receive_initial_md it also receives the
 * initial metadata, for a call whose send batches do not: gRPC 1.51 may
 * never deliver the status of a call that ends (the server refusing an
 * upload early) before the client asked for the initial metadata. */
static int long_call_post_status(long_call *lc, bool receive_initial_md, valv_error *err)
{
    grpc_op ops[2];
    size_t n = 0;
    memset(ops, 0, sizeof ops);
    if (receive_initial_md) {
        ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
        ops[n++].data.recv_initial_metadata.recv_initial_metadata = &lc->initial_md;
    }
    ops[n].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[n].data.recv_status_on_client.trailing_metadata = &lc->trailing_md;
    ops[n].data.recv_status_on_client.status = &lc->status;
    ops[n++].data.recv_status_on_client.status_details = &lc->status_message;
    return long_call_start_batch(lc, ops, n, &lc->status_pending, err);
}

/* Posts one send batch of ops; message (may be NULL), packed, goes with
 * the op that sends it, which the caller leaves without a buffer. */
static int long_call_send(long_call *lc, grpc_op *ops, size_t n_ops,
                          const ProtobufCMessage *message, valv_error *err)
{
    if (message != NULL) {
        uint8_t *bytes = NULL;
        size_t len = 0;
        int rc = pack_message(message, &bytes, &len, err);
        if (rc != VALV_OK)
            return rc;
        lc->sent = buffer_from_bytes(bytes, len);
        free(bytes);
        for (size_t i = 0; i < n_ops; i++) {
            if (ops[i].op == GRPC_OP_SEND_MESSAGE)
                ops[i].data.send_message.send_message = lc->sent;
        }
    }
    return long_call_start_batch(lc, ops, n_ops, &lc->send_pending, err);
}

/* Waits for the outstanding send batch, if any, and frees its message. */
static void long_call_send_done(long_call *lc)
{
    if (lc->send_pending && !long_call_wait(lc, &lc->send_pending))
        lc->send_failed = true;
    if (lc->sent != NULL) {
        grpc_byte_buffer_destroy(lc->sent);
        lc->sent = NULL;
    }
}

/* Posts ops, which end with RECV_MESSAGE into lc->received, and waits.
 * *msg_out is the message unpacked with desc, or NULL when none came (the
 * call ended: see long_call_end). */
static int long_call_receive(long_call *lc, grpc_op *ops, size_t n_ops,
                             const ProtobufCMessageDescriptor *desc, ProtobufCMessage **msg_out,
                             valv_error *err)
{
    *msg_out = NULL;
    int rc = long_call_start_batch(lc, ops, n_ops, &lc->message_pending, err);
    if (rc != VALV_OK)
        return rc;
    bool ok = long_call_wait(lc, &lc->message_pending);
    if (lc->received == NULL)
        return VALV_OK;
    if (ok) {
        grpc_slice bytes = grpc_empty_slice();
        rc = read_buffer(lc->received, lc->method, &bytes, err);
        if (rc == VALV_OK)
            rc = unpack_reply(lc->conn, lc->method, &bytes, desc, msg_out, err);
        grpc_slice_unref(bytes);
    }
    grpc_byte_buffer_destroy(lc->received);
    lc->received = NULL;
    return rc;
}

/* Waits for the call's status, the first time, and keeps it as the call's
 * final result; returns it. A call that ended OK after a send batch failed
 * (which gRPC should not do) still counts as a failure: the server did not
 * get everything. */
static int long_call_end(long_call *lc, valv_error *err)
{
    if (!lc->ended) {
        valv_error *final = &lc->final_err;
        valv_error_clear(final);
        if (!long_call_wait(lc, &lc->status_pending))
            valv_error_set(final, VALV_EINTERNAL, "the call to %s did not complete", lc->method);
        else if (lc->status != GRPC_STATUS_OK)
            status_to_error(lc->conn, lc->status, &lc->status_message, &lc->trailing_md,
                            lc->timeout_ms, final);
        else if (lc->send_failed)
            valv_error_set(final, VALV_EINTERNAL, "the request to %s could not be sent to %s",
                           lc->method, lc->conn->addr);
        lc->ended = true;
    }
    *err = lc->final_err;
    return err->code;
}

/* Cancels the call if it is still open, waits for its batches and frees
 * what it holds (not lc itself). */
static void long_call_release(long_call *lc)
{
    /* Cancelling a call that has ended does nothing; on one still running
     * it makes every outstanding batch complete, so the waits below end. */
    if (lc->call != NULL && lc->status_pending)
        grpc_call_cancel(lc->call, NULL);
    long_call_send_done(lc);
    if (lc->message_pending)
        long_call_wait(lc, &lc->message_pending);
    if (lc->status_pending)
        long_call_wait(lc, &lc->status_pending);
    if (lc->received != NULL)
        grpc_byte_buffer_destroy(lc->received);
    grpc_slice_unref(lc->status_message);
    grpc_metadata_array_destroy(&lc->initial_md);
    grpc_metadata_array_destroy(&lc->trailing_md);
    if (lc->call != NULL)
        grpc_call_unref(lc->call);
    grpc_completion_queue_shutdown(lc->cq);
    grpc_completion_queue_pluck(lc->cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    grpc_completion_queue_destroy(lc->cq);
}

/* ---- Server streaming ------------------------------------------------------ */

int rpc_stream_open(rpc_conn *c, const char *method, const ProtobufCMessage *req,
                    int timeout_ms, rpc_stream **out, valv_error *err)
{
    grpc_op ops[4];

    *out = NULL;
    valv_error_clear(err);
    rpc_stream *s = calloc(1, sizeof *s);
    if (s == NULL)
        return valv_error_set(err, VALV_EINTERNAL, "out of memory");
    int rc = long_call_create(&s->lc, c, method, timeout_ms, err);
    if (rc == VALV_OK) {
        memset(ops, 0, sizeof ops);
        set_initial_metadata(c, &ops[0]);
        ops[1].op = GRPC_OP_SEND_MESSAGE;
        ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
        ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
        ops[3].data.recv_initial_metadata.recv_initial_metadata = &s->lc.initial_md;
        rc = long_call_send(&s->lc, ops, 4, req, err);
    }
    if (rc == VALV_OK)
        rc = long_call_post_status(&s->lc, false, err);
    if (rc != VALV_OK) {
        rpc_stream_close(s);
        return rc;
    }
    *out = s;
    return VALV_OK;
}

int rpc_stream_next(rpc_stream *s, const ProtobufCMessageDescriptor *desc,
                    ProtobufCMessage **msg_out, valv_error *err)
{
    long_call *lc = &s->lc;
    *msg_out = NULL;
    valv_error_clear(err);
    long_call_send_done(lc);
    if (!lc->ended && !lc->send_failed) {
        grpc_op op;
        memset(&op, 0, sizeof op);
        op.op = GRPC_OP_RECV_MESSAGE;
        op.data.recv_message.recv_message = &lc->received;
        int rc = long_call_receive(lc, &op, 1, desc, msg_out, err);
        if (rc != VALV_OK || *msg_out != NULL)
            return rc;
        /* No message: the server ended the stream, or the call failed. */
    }
    return long_call_end(lc, err);
}

void rpc_stream_cancel(rpc_stream *s)
{
    grpc_call_cancel(s->lc.call, NULL);
}

void rpc_stream_close(rpc_stream *s)
{
    if (s == NULL)
        return;
    long_call_release(&s->lc);
    free(s);
}

/* ---- Client streaming ------------------------------------------------------ */

int rpc_upload_open(rpc_conn *c, const char *method, int timeout_ms, rpc_upload **out,
                    valv_error *err)
{
    *out = NULL;
    valv_error_clear(err);
    rpc_upload *up = calloc(1, sizeof *up);
    if (up == NULL)
        return valv_error_set(err, VALV_EINTERNAL, "out of memory");
    int rc = long_call_create(&up->lc, c, method, timeout_ms, err);
    if (rc == VALV_OK) {
        grpc_op op;
        memset(&op, 0, sizeof op);
        set_initial_metadata(c, &op);
        rc = long_call_send(&up->lc, &op, 1, NULL, err);
    }
    if (rc == VALV_OK)
        rc = long_call_post_status(&up->lc, true, err);
    if (rc != VALV_OK) {
        rpc_upload_close(up);
        return rc;
    }
    *out = up;
    return VALV_OK;
}

int rpc_upload_send(rpc_upload *up, const ProtobufCMessage *msg, valv_error *err)
{
    long_call *lc = &up->lc;
    valv_error_clear(err);
    long_call_send_done(lc);
    /* A send fails once the call has ended: the server refused the upload
     * (its status says why) or the connection broke. */
    if (lc->send_failed || lc->ended)
        return long_call_end(lc, err);
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_SEND_MESSAGE;
    return long_call_send(lc, &op, 1, msg, err);
}

int rpc_upload_finish(rpc_upload *up, const ProtobufCMessageDescriptor *resp_desc,
                      ProtobufCMessage **resp_out, valv_error *err)
{
    long_call *lc = &up->lc;
    ProtobufCMessage *reply = NULL;
    valv_error reply_err;
    int reply_rc = VALV_OK;

    *resp_out = NULL;
    valv_error_clear(err);
    valv_error_clear(&reply_err);
    long_call_send_done(lc);
    if (!lc->send_failed && !lc->ended) {
        grpc_op ops[2];
        memset(ops, 0, sizeof ops);
        ops[0].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
        ops[1].op = GRPC_OP_RECV_MESSAGE;
        ops[1].data.recv_message.recv_message = &lc->received;
        reply_rc = long_call_receive(lc, ops, 2, resp_desc, &reply, &reply_err);
    }
    /* The status comes first: a failed call sends no reply, and says why. */
    int rc = long_call_end(lc, err);
    if (rc == VALV_OK && reply_rc != VALV_OK) {
        *err = reply_err;
        rc = reply_rc;
    } else if (rc == VALV_OK && reply == NULL) {
        rc = valv_error_set(err, VALV_EINTERNAL, "valvd at %s sent no reply message to %s",
                            lc->conn->addr, lc->method);
    }
    if (rc != VALV_OK) {
        if (reply != NULL)
            protobuf_c_message_free_unpacked(reply, NULL);
        return rc;
    }
    *resp_out = reply;
    return VALV_OK;
}

void rpc_upload_close(rpc_upload *up)
{
    if (up == NULL)
        return;
    long_call_release(&up->lc);
    free(up);
}
