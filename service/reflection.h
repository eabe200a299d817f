/* reflection.h - gRPC server reflection (grpc.reflection.v1 and v1alpha), so
 * that grpcurl, Postman and other tools can list valvd's services and
 * describe its messages without a .proto file.
 *
 * The answers come from the API descriptors embedded at build time
 * (schema.h). The list of services is derived from the method table, so
 * it names exactly what valvd serves.
 */
#ifndef VALV_REFLECTION_H
#define VALV_REFLECTION_H

#include "error.h"
#include "methods.h"

/* Opens the embedded descriptors and checks that they describe every
 * method of the method table (a service whose .proto is missing from the
 * build would otherwise be listed but not describable). Call once, before
 * the server starts; the handler reads what it builds, and nothing changes
 * it afterwards. Fails (VALV_EINTERNAL) only on a broken build. */
int reflection_start(valv_error *err);

/* Frees what reflection_start built, after the server stopped. Fine when
 * it never started. */
void reflection_stop(void);

/* ServerReflectionInfo, of both versions (their messages are identical on
 * the wire): a method-table row's handler (METHOD_BIDI_STREAMING). */
void reflection_info(call *c, const ProtobufCMessage *request);

#endif
