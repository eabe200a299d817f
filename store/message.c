/* message.c - any protobuf-c message, handled through its descriptor. */
#include "message.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const void *message_field(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    return (const char *)m + f->offset;
}

size_t message_count(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    return *(const size_t *)((const char *)m + f->quantifier_offset);
}

size_t message_element_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    default:
        return 4; /* the 32-bit numbers, float and enum */
    }
}

/* A copy of len bytes at data (malloc'd, at least one byte); NULL when
 * out of memory. */
static uint8_t *bytes_dup(const uint8_t *data, size_t len)
{
    uint8_t *c = malloc(len > 0 ? len : 1);
    if (c != NULL && len > 0)
        memcpy(c, data, len);
    return c;
}

/* True when a singular field's value is its descriptor's default, which
 * protobuf-c shares between messages and never frees: a copy shares it too. */
static int is_shared_default(const ProtobufCFieldDescriptor *f, const void *data)
{
    if (f->default_value == NULL || f->label == PROTOBUF_C_LABEL_REPEATED)
        return 0;
    if (f->type == PROTOBUF_C_TYPE_BYTES)
        return data == ((const ProtobufCBinaryData *)f->default_value)->data;
    return data == f->default_value;
}

/* Copies one value of field f from src into dst. dst is written only on
 * success, so a failed copy leaves it as it was. Returns 0 when out of
 * memory. */
static int value_copy(const ProtobufCFieldDescriptor *f, void *dst, const void *src)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)src;
        char *c = (char *)s;
        if (s != NULL && !is_shared_default(f, s) && (c = strdup(s)) == NULL)
            return 0;
        *(char **)dst = c;
        return 1;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData b = *(const ProtobufCBinaryData *)src;
        if (b.data != NULL && !is_shared_default(f, b.data) &&
            (b.data = bytes_dup(b.data, b.len)) == NULL)
            return 0;
        *(ProtobufCBinaryData *)dst = b;
        return 1;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)src;
        ProtobufCMessage *c = NULL;
        if (sub != NULL && (c = message_copy(sub)) == NULL)
            return 0;
        *(ProtobufCMessage **)dst = c;
        return 1;
    }
    default:
        memcpy(dst, src, message_element_size(f->type));
        return 1;
    }
}

/* Copies repeated field f of m into c, whose field is empty. The count
 * grows with each value copied, so that a failure leaves c freeable. */
static int repeated_copy(const ProtobufCFieldDescriptor *f, ProtobufCMessage *c,
                         const ProtobufCMessage *m)
{
    size_t n = message_count(m, f), size = message_element_size(f->type);
    if (n == 0)
        return 1;
    char *array = calloc(n, size);
    if (array == NULL)
        return 0;
    *(char **)((char *)c + f->offset) = array;
    size_t *count = (size_t *)((char *)c + f->quantifier_offset);
    const char *values = *(char *const *)message_field(m, f);
    for (size_t k = 0; k < n; k++) {
        if (!value_copy(f, array + k * size, values + k * size))
            return 0;
        (*count)++;
    }
    return 1;
}

/* Copies m's unknown fields into c, which has none. The count grows with
 * each one copied, as in repeated_copy. */
static int unknown_copy(ProtobufCMessage *c, const ProtobufCMessage *m)
{
    if (m->n_unknown_fields == 0)
        return 1;
    c->unknown_fields = calloc(m->n_unknown_fields, sizeof *c->unknown_fields);
    if (c->unknown_fields == NULL)
        return 0;
    for (unsigned i = 0; i < m->n_unknown_fields; i++) {
        ProtobufCMessageUnknownField u = m->unknown_fields[i];
        if ((u.data = bytes_dup(u.data, u.len)) == NULL)
            return 0;
        c->unknown_fields[c->n_unknown_fields++] = u;
    }
    return 1;
}

ProtobufCMessage *message_copy(const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    ProtobufCMessage *c = malloc(d->sizeof_message);
    if (c == NULL)
        return NULL;
    protobuf_c_message_init(d, c);
    if (!unknown_copy(c, m)) {
        protobuf_c_message_free_unpacked(c, NULL);
        return NULL;
    }
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        int ok;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            ok = repeated_copy(f, c, m);
        } else if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            /* The members of a oneof share their place: only the one set. */
            uint32_t which = *(const uint32_t *)((const char *)m + f->quantifier_offset);
            ok = which != f->id || value_copy(f, (char *)c + f->offset, message_field(m, f));
            if (ok && which == f->id)
                *(uint32_t *)((char *)c + f->quantifier_offset) = which;
        } else {
            ok = value_copy(f, (char *)c + f->offset, message_field(m, f));
            /* A proto2 or proto3 optional scalar says whether it is there. */
            if (ok && f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset != 0)
                *(protobuf_c_boolean *)((char *)c + f->quantifier_offset) =
                    *(const protobuf_c_boolean *)((const char *)m + f->quantifier_offset);
        }
        if (!ok) {
            protobuf_c_message_free_unpacked(c, NULL);
            return NULL;
        }
    }
    return c;
}
