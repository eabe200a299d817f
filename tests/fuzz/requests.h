/* requests.h - what valvd checks first in every request it accepts, as
 * pure functions, for the request fuzzer (fuzz_request.c).
 *
 * One row per row of valvd's method table (service/methods.c), with the
 * same path and request descriptor; test_methods.c fails when the two
 * tables differ, so a new RPC cannot be left out. Each row's check runs,
 * in the order valvd does, the checks that the method's handler and the
 * store run before they open a transaction: store/validate.h, mask.h,
 * filter.h, pagetoken.h and the import record rules. Nothing here opens
 * LMDB or gRPC.
 */
#ifndef VALV_FUZZ_REQUESTS_H
#define VALV_FUZZ_REQUESTS_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "error.h"
#include "valv/v1/import.pb-c.h"

/* Checks request (borrowed) as valvd would; violations go to err. Returns
 * err->code. */
typedef int (*request_check)(const ProtobufCMessage *request, valv_error *err);

typedef struct {
    const char *path;                          /* "/valv.v1.Inventory/GetAsset" */
    const ProtobufCMessageDescriptor *request; /* the request message */
    request_check check;                       /* NULL: nothing to check but decoding */
} fuzz_method;

extern const fuzz_method fuzz_methods[];
extern const size_t fuzz_method_count;

/* The row whose path is path[0..len), or NULL. */
const fuzz_method *fuzz_method_find(const char *path, size_t len);

/* The rules store/import.c applies to one ImportRecord before it looks
 * anything up: the key (name, external_id), no protection, the asset the
 * record describes (validate_asset, as on create), and its links. Used by
 * the request fuzzer for ImportAssets batches and by the records fuzzer for
 * what valv import reads. record is borrowed. Returns err->code. */
int fuzz_import_record_check(const Valv__V1__ImportRecord *record, valv_error *err);

#endif
