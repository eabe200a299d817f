/* wire.c - see wire.h. The format: each field is a varint key (field
 * number << 3 | wire type) and a value whose size the wire type tells:
 * 0 a varint, 1 eight bytes, 2 a varint length and that many bytes,
 * 5 four bytes. Types 3 and 4 (groups) are not in proto3. */
#include "wire.h"

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

bool wire_find(const void *data, size_t len, const uint32_t *fields, wire_span *spans, size_t n)
{
    const uint8_t *p = data, *end = p + len;
    for (size_t i = 0; i < n; i++)
        spans[i] = (wire_span){NULL, 0};
    while (p < end) {
        uint64_t key, size;
        if (!read_varint(&p, end, &key))
            return false;
        switch (key & 7) {
        case WIRE_VARINT:
            if (!read_varint(&p, end, &size))
                return false;
            size = 0;
            break;
        case WIRE_FIXED64:
            size = 8;
            break;
        case WIRE_LENGTH_DELIMITED:
            if (!read_varint(&p, end, &size))
                return false;
            break;
        case WIRE_FIXED32:
            size = 4;
            break;
        default:
            return false;
        }
        if (size > (uint64_t)(end - p))
            return false;
        for (size_t i = 0; i < n; i++) {
            if (key >> 3 != fields[i])
                continue;
            if ((key & 7) != WIRE_LENGTH_DELIMITED || spans[i].data != NULL)
                return false;
            spans[i] = (wire_span){p, (size_t)size};
        }
        p += size;
    }
    return true;
}
