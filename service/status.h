/* status.h - the rich error model: google.rpc.Status with BadRequest. */
#ifndef VALV_STATUS_H
#define VALV_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Serialises google.rpc.Status { code, message, details: [BadRequest] } for
 * err, for the grpc-status-details-bin trailer. Returns VALV_OK with
 * *out malloc'd (caller frees) and *len_out set, or VALV_ENOTFOUND when err
 * has no violations (no trailer is needed: code and message suffice). */
int status_details_pack(const valv_error *err, uint8_t **out, size_t *len_out);

#endif
