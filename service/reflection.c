/* reflection.c - grpc.reflection.v1(alpha).ServerReflection/ServerReflectionInfo.
 *
 * A bidirectional stream, served one request at a time: receive a request,
 * send its answer, receive the next, until the client closes its side.
 * Every request gets a response, a failed lookup included: it is an
 * error_response inside the stream (as the protocol says), never the end
 * of the stream. The stream keeps no state between requests, so it needs
 * no memory of its own, and answers that send a file send its whole import
 * closure each time (the protocol allows skipping files sent before; the
 * few kilobytes saved are not worth the bookkeeping).
 *
 * A stream that a client holds open and idle during a drain is cancelled
 * after --grace like any call in flight; real clients (grpcurl, Postman,
 * grpc-js-reflection-client) close their side once answered.
 */
#include "reflection.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/reflection/v1/reflection.pb-c.h"
#include "schema.h"
#include "validate.h"

#define REQUEST(x) GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_##x
#define RESPONSE(x) GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_##x

typedef Grpc__Reflection__V1__ServerReflectionRequest reflection_request;

/* Built by reflection_start, read-only while the server runs. */
static struct {
    schema *schema;
    size_t n_services;
    char **names;                                   /* "valv.v1.Inventory" */
    Grpc__Reflection__V1__ServiceResponse *entries; /* one per name */
    Grpc__Reflection__V1__ServiceResponse **entry_ptrs;
    Grpc__Reflection__V1__ListServiceResponse list; /* the list_services answer */
} reflection;

/* Appends the service of a method path ("/valv.v1.Inventory/GetAsset")
 * to the list unless it is there, after checking that the schema
 * describes both the service and the method. */
static int add_service(const char *path, valv_error *err)
{
    const char *slash = strrchr(path, '/');
    char *service = strndup(path + 1, (size_t)(slash - path - 1));
    char *method = NULL;
    int rc = VALV_OK;
    if (service == NULL || asprintf(&method, "%s.%s", service, slash + 1) < 0) {
        method = NULL;
        rc = valv_error_set(err, VALV_EINTERNAL, "out of memory");
        goto done;
    }
    if (!schema_has_symbol(reflection.schema, method)) {
        rc = valv_error_set(err, VALV_EINTERNAL,
                            "the API descriptors do not describe %s: add its .proto to VALV_PROTOS in CMakeLists.txt",
                            path);
        goto done;
    }
    for (size_t i = 0; i < reflection.n_services; i++)
        if (strcmp(reflection.names[i], service) == 0)
            goto done;
    reflection.names[reflection.n_services++] = service;
    service = NULL;

done:
    free(service);
    free(method);
    return rc;
}

int reflection_start(valv_error *err)
{
    int rc = schema_open(&reflection.schema, err);
    if (rc != VALV_OK)
        return rc;
    /* At most one service per method: sized once, never grown. */
    reflection.names = calloc(method_count, sizeof *reflection.names);
    reflection.entries = calloc(method_count, sizeof *reflection.entries);
    reflection.entry_ptrs = calloc(method_count, sizeof *reflection.entry_ptrs);
    if (reflection.names == NULL || reflection.entries == NULL || reflection.entry_ptrs == NULL) {
        rc = valv_error_set(err, VALV_EINTERNAL, "out of memory");
        goto done;
    }
    for (size_t m = 0; m < method_count && rc == VALV_OK; m++)
        rc = add_service(method_table[m].path, err);
    if (rc != VALV_OK)
        goto done;
    for (size_t i = 0; i < reflection.n_services; i++) {
        grpc__reflection__v1__service_response__init(&reflection.entries[i]);
        reflection.entries[i].name = reflection.names[i];
        reflection.entry_ptrs[i] = &reflection.entries[i];
    }
    grpc__reflection__v1__list_service_response__init(&reflection.list);
    reflection.list.n_service = reflection.n_services;
    reflection.list.service = reflection.entry_ptrs;

done:
    if (rc != VALV_OK)
        reflection_stop();
    return rc;
}

void reflection_stop(void)
{
    for (size_t i = 0; i < reflection.n_services; i++)
        free(reflection.names[i]);
    free(reflection.names);
    free(reflection.entries);
    free(reflection.entry_ptrs);
    schema_free(reflection.schema);
    memset(&reflection, 0, sizeof reflection);
}

/* One response and everything it points to, alive until it is sent. */
typedef struct {
    Grpc__Reflection__V1__ServerReflectionResponse response;
    Grpc__Reflection__V1__FileDescriptorResponse files_response;
    Grpc__Reflection__V1__ExtensionNumberResponse numbers_response;
    Grpc__Reflection__V1__ErrorResponse error_response;
    schema_files files;
    valv_error err;
} answer;

/* Fills a->response with what req asks; on failure a->err says why. */
static int look_up(const reflection_request *req, answer *a)
{
    const schema *s = reflection.schema;
    int rc;
    switch (req->message_request_case) {
    case REQUEST(LIST_SERVICES):
        a->response.message_response_case = RESPONSE(LIST_SERVICES_RESPONSE);
        a->response.list_services_response = &reflection.list;
        return VALV_OK;
    case REQUEST(ALL_EXTENSION_NUMBERS_OF_TYPE):
        a->numbers_response.base_type_name = req->all_extension_numbers_of_type;
        a->response.message_response_case = RESPONSE(ALL_EXTENSION_NUMBERS_RESPONSE);
        a->response.all_extension_numbers_response = &a->numbers_response;
        return schema_extension_numbers(s, req->all_extension_numbers_of_type,
                                        &a->numbers_response.extension_number,
                                        &a->numbers_response.n_extension_number, &a->err);
    case REQUEST(FILE_BY_FILENAME):
        rc = schema_file_by_name(s, req->file_by_filename, &a->files, &a->err);
        break;
    case REQUEST(FILE_CONTAINING_SYMBOL):
        rc = schema_file_containing_symbol(s, req->file_containing_symbol, &a->files, &a->err);
        break;
    case REQUEST(FILE_CONTAINING_EXTENSION):
        rc = schema_file_containing_extension(s, req->file_containing_extension->containing_type,
                                              req->file_containing_extension->extension_number, &a->files,
                                              &a->err);
        break;
    default:
        return valv_error_set(&a->err, VALV_EINVAL,
                              "the request asks nothing: set one of list_services, file_by_filename, "
                              "file_containing_symbol, file_containing_extension or all_extension_numbers_of_type");
    }
    a->files_response.n_file_descriptor_proto = a->files.n;
    a->files_response.file_descriptor_proto = a->files.files;
    a->response.message_response_case = RESPONSE(FILE_DESCRIPTOR_RESPONSE);
    a->response.file_descriptor_response = &a->files_response;
    return rc;
}

static void on_request(call *c, ProtobufCMessage *msg, const valv_error *err, void *arg);

static void on_sent(call *c, bool ok, void *arg)
{
    if (!ok) {
        valv_error err;
        valv_error_clear(&err);
        valv_error_set(&err, VALV_ECANCELLED, "the client went away");
        call_fail(c, &err);
        return;
    }
    call_recv(c, &grpc__reflection__v1__server_reflection_request__descriptor, on_request, arg);
}

static void on_request(call *c, ProtobufCMessage *msg, const valv_error *err, void *arg)
{
    if (err != NULL) {
        call_fail(c, err);
        return;
    }
    if (msg == NULL) { /* the client closed its side: every request was answered */
        call_end(c);
        return;
    }
    reflection_request *req = (reflection_request *)msg;
    answer a;
    grpc__reflection__v1__server_reflection_response__init(&a.response);
    grpc__reflection__v1__file_descriptor_response__init(&a.files_response);
    grpc__reflection__v1__extension_number_response__init(&a.numbers_response);
    grpc__reflection__v1__error_response__init(&a.error_response);
    a.files = (schema_files){0};
    valv_error_clear(&a.err);

    /* Echoed to the client as text: only when it is text. */
    a.response.valid_host = validate_utf8(req->host, strlen(req->host)) ? req->host : "";
    a.response.original_request = req;
    if (look_up(req, &a) != VALV_OK) {
        a.error_response.error_code = (int32_t)a.err.code;
        a.error_response.error_message = a.err.message;
        a.response.message_response_case = RESPONSE(ERROR_RESPONSE);
        a.response.error_response = &a.error_response;
    }
    call_send(c, &a.response.base, on_sent, arg); /* packs before it returns */
    schema_files_free(&a.files);
    free(a.numbers_response.extension_number);
    protobuf_c_message_free_unpacked(msg, NULL);
}

void reflection_info(call *c, const ProtobufCMessage *request)
{
    (void)request; /* a stream: the requests come through call_recv */
    call_recv(c, &grpc__reflection__v1__server_reflection_request__descriptor, on_request, NULL);
}
