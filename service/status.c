#include "status.h"

#include <stdlib.h>

#include "google/protobuf/any.pb-c.h"
#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"

#define BAD_REQUEST_TYPE_URL "type.googleapis.com/google.rpc.BadRequest"

int status_details_pack(const valv_error *err, uint8_t **out, size_t *len_out)
{
    if (err->n_violations == 0)
        return VALV_ENOTFOUND;

    Google__Rpc__BadRequest__FieldViolation items[VALV_ERROR_VIOLATIONS_MAX];
    Google__Rpc__BadRequest__FieldViolation *item_ptrs[VALV_ERROR_VIOLATIONS_MAX];
    for (int i = 0; i < err->n_violations; i++) {
        google__rpc__bad_request__field_violation__init(&items[i]);
        items[i].field = (char *)err->violations[i].field;
        items[i].description = (char *)err->violations[i].description;
        item_ptrs[i] = &items[i];
    }
    Google__Rpc__BadRequest bad_request;
    google__rpc__bad_request__init(&bad_request);
    bad_request.n_field_violations = (size_t)err->n_violations;
    bad_request.field_violations = item_ptrs;

    uint8_t *detail = malloc(google__rpc__bad_request__get_packed_size(&bad_request));
    if (detail == NULL)
        return VALV_EINTERNAL;
    Google__Protobuf__Any any;
    google__protobuf__any__init(&any);
    any.type_url = BAD_REQUEST_TYPE_URL;
    any.value.len = google__rpc__bad_request__pack(&bad_request, detail);
    any.value.data = detail;
    Google__Protobuf__Any *any_ptr = &any;

    Google__Rpc__Status status;
    google__rpc__status__init(&status);
    status.code = err->code;
    status.message = (char *)err->message;
    status.n_details = 1;
    status.details = &any_ptr;

    int rc = VALV_EINTERNAL;
    *out = malloc(google__rpc__status__get_packed_size(&status));
    if (*out != NULL) {
        *len_out = google__rpc__status__pack(&status, *out);
        rc = VALV_OK;
    }
    free(detail);
    return rc;
}
