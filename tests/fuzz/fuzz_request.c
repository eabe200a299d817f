/* fuzz_request.c - every request valvd accepts: decoded with protobuf-c
 * and checked as valvd checks it first (requests.h).
 *
 * Input: a method path as in valvd's method table, a newline, then the
 * request message's bytes, e.g. "/valv.v1.Inventory/GetAsset\n" followed
 * by a serialized GetAssetRequest. Inputs naming no method are skipped.
 * Asserted besides: every refusal has a message, valid UTF-8 (invariants.h).
 */
#include <stdint.h>
#include <string.h>

#include "invariants.h"
#include "requests.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *newline = memchr(data, '\n', size);
    if (newline == NULL)
        return 0;
    const fuzz_method *m = fuzz_method_find((const char *)data, (size_t)(newline - data));
    if (m == NULL)
        return 0;
    size_t path_len = (size_t)(newline - data) + 1;
    ProtobufCMessage *request = protobuf_c_message_unpack(m->request, NULL, size - path_len,
                                                          data + path_len);
    if (request == NULL)
        return 0; /* valvd answers INVALID_ARGUMENT without looking further */
    if (m->check != NULL) {
        valv_error err;
        valv_error_clear(&err);
        invariant_error(m->check(request, &err), &err);
    }
    protobuf_c_message_free_unpacked(request, NULL);
    return 0;
}
