/* methods.h - the method table: every RPC valvd serves is one row.
 *
 * Adding an RPC is one row here and one handler in the service's file
 * (inventory.c, health.c, ...). server.c registers every row, decodes the
 * request with the row's descriptor and calls the row's handler.
 */
#ifndef VALV_METHODS_H
#define VALV_METHODS_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

#include "authz.h"
#include "server.h"

typedef enum {
    METHOD_UNARY,           /* one request, one reply */
    METHOD_SERVER_STREAMING, /* one request, a stream of replies */
    METHOD_CLIENT_STREAMING, /* a stream of requests (call_recv), one reply;
                                the handler gets request == NULL */
    METHOD_BIDI_STREAMING    /* requests (call_recv) and replies (call_send)
                                both ways; request == NULL as above */
} method_kind;

/* A handler gets the decoded request (borrowed: it lives until the call
 * ends) and must end the call exactly once (server.h). */
typedef void (*method_handler)(call *c, const ProtobufCMessage *request);

/* Who may call a method. The server authenticates every call to a method
 * that is not METHOD_OPEN and checks, before the handler runs (so before
 * anything is looked up: AIP-193), that the principal holds the method's
 * right for some unit or source; the handler then checks it for the unit
 * or source concerned. */
typedef enum {
    METHOD_AUTHENTICATED, /* needs a principal holding `right` */
    METHOD_OPEN           /* anyone (health probes) */
} method_access;

typedef struct {
    const char *path; /* "/valv.v1.Inventory/GetAsset" */
    method_kind kind;
    const ProtobufCMessageDescriptor *request;
    method_handler handler;
    method_access access;
    authz_right right;
} method;

/* True for the kinds whose requests arrive through call_recv. */
static inline bool method_streams_requests(method_kind kind)
{
    return kind == METHOD_CLIENT_STREAMING || kind == METHOD_BIDI_STREAMING;
}

extern const method method_table[];
extern const size_t method_count;

#endif
