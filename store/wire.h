/* wire.h - finding a few fields in an encoded protobuf message without
 * decoding all of it.
 *
 * Answering a read with an asset as stored needs only the fields its
 * visibility and review.overdue are judged on; decoding the whole record
 * for them would cost more than the rest of the read. See store_read_asset.
 * Links and inheritance read only an asset's protection values: they decode
 * it without its descriptive fields (asset_load_values).
 */
#ifndef VALV_WIRE_H
#define VALV_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The bytes of one length-delimited field's value (a string, bytes or an
 * encoded message); data NULL when the field is absent. */
typedef struct {
    const uint8_t *data;
    size_t len;
} wire_span;

/* Finds the top-level fields numbered fields[0..n) of the encoded message
 * (data, len): spans[i] is field fields[i]'s value, or {NULL, 0}. False when
 * the message is not well-formed, or a wanted field is not
 * length-delimited or comes more than once (protobuf would merge the
 * copies; protobuf-c writes each singular field once): the caller decodes
 * the whole message instead. The spans point into data. */
bool wire_find(const void *data, size_t len, const uint32_t *fields, wire_span *spans, size_t n);

/* The value of the varint field numbered `number` (an enum, a bool, an
 * int32 or int64 as their two's complement) of the encoded message (data,
 * len) in *value: 0 when the field is absent, proto3's default. False
 * when the message is not well-formed, or the field is not a varint or
 * comes more than once: the caller decodes the whole message instead. */
bool wire_varint(const void *data, size_t len, uint32_t number, uint64_t *value);

/* What wire_drop returns for a message that is not well-formed. */
#define WIRE_MALFORMED SIZE_MAX

/* Copies the encoded message (data, len) to out (room for len bytes)
 * without its top-level fields numbered fields[0..n) (each below 64), every
 * other field as it was. Returns the bytes written, or WIRE_MALFORMED; decoding the
 * result gives the message with those fields at their defaults. */
size_t wire_drop(const void *data, size_t len, const uint32_t *fields, size_t n, uint8_t *out);

#endif
