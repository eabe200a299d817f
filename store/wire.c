/* wire.c - see wire.h. The format: each field is a varint key (field
 * number << 3 | wire type) and a value whose size the wire type tells:
 * 0 a varint, 1 eight bytes, 2 a varint length and that many bytes,
 * 5 four bytes. Types 3 and 4 (groups) are not in proto3. */
#include "wire.h"

#include <string.h>

#define WIRE_VARINT 0
#define WIRE_FIXED64 1
#define WIRE_LENGTH_DELIMITED 2
#define WIRE_FIXED32 5
#define VARINT_BYTES_MAX 10

/* Reads a varint at *p (before end) into *out and moves *p past it. */
static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t value = 0;
    for (unsigned i = 0; i < VARINT_BYTES_MAX && *p < end; i++) {
        uint8_t byte = *(*p)++;
        value |= (uint64_t)(byte & 0x7f) << (7 * i);
        if ((byte & 0x80) == 0) {
            *out = value;
            return true;
        }
    }
    return false;
}

/* Reads the field at *p (before end): its key, and the span of its value,
 * which for varints and fixed types is the value's bytes as written. Moves
 * *p past it. False when the field is not well-formed. */
static bool read_field(const uint8_t **p, const uint8_t *end, uint64_t *key, wire_span *value)
{
    uint64_t size;
    if (!read_varint(p, end, key))
        return false;
    const uint8_t *start = *p;
    switch (*key & 7) {
    case WIRE_VARINT:
        if (!read_varint(p, end, &size))
            return false;
        value->data = start;
        value->len = (size_t)(*p - start);
        return true;
    case WIRE_FIXED64:
        size = 8;
        break;
    case WIRE_LENGTH_DELIMITED:
        if (!read_varint(p, end, &size))
            return false;
        break;
    case WIRE_FIXED32:
        size = 4;
        break;
    default:
        return false;
    }
    if (size > (uint64_t)(end - *p))
        return false;
    value->data = *p;
    value->len = (size_t)size;
    *p += size;
    return true;
}

bool wire_find(const void *data, size_t len, const uint32_t *fields, wire_span *spans, size_t n)
{
    const uint8_t *p = data, *end = p + len;
    for (size_t i = 0; i < n; i++)
        spans[i] = (wire_span){NULL, 0};
    while (p < end) {
        uint64_t key;
        wire_span value;
        if (!read_field(&p, end, &key, &value))
            return false;
        for (size_t i = 0; i < n; i++) {
            if (key >> 3 != fields[i])
                continue;
            if ((key & 7) != WIRE_LENGTH_DELIMITED || spans[i].data != NULL)
                return false;
            spans[i] = value;
        }
    }
    return true;
}

bool wire_varint(const void *data, size_t len, uint32_t number, uint64_t *value)
{
    const uint8_t *p = data, *end = p + len;
    bool found = false;
    *value = 0;
    while (p < end) {
        uint64_t key;
        wire_span field;
        if (!read_field(&p, end, &key, &field))
            return false;
        if (key >> 3 != number)
            continue;
        if ((key & 7) != WIRE_VARINT || found)
            return false;
        const uint8_t *v = field.data;
        if (!read_varint(&v, field.data + field.len, value))
            return false;
        found = true;
    }
    return true;
}

size_t wire_drop(const void *data, size_t len, const uint32_t *fields, size_t n, uint8_t *out)
{
    const uint8_t *p = data, *end = p + len;
    const uint8_t *run = p; /* the kept fields not yet copied start here */
    size_t written = 0;
    uint64_t dropped = 0; /* bit k: field k is dropped */
    for (size_t i = 0; i < n; i++)
        dropped |= UINT64_C(1) << fields[i];
    while (p < end) {
        const uint8_t *field_start = p;
        uint64_t key;
        wire_span value;
        if (!read_field(&p, end, &key, &value))
            return WIRE_MALFORMED;
        uint64_t number = key >> 3;
        if (number >= 64 || (dropped >> number & 1) == 0)
            continue;
        /* Copy the kept run before this field in one go. */
        memcpy(out + written, run, (size_t)(field_start - run));
        written += (size_t)(field_start - run);
        run = p;
    }
    memcpy(out + written, run, (size_t)(end - run));
    return written + (size_t)(end - run);
}
