/* message.h - any protobuf-c message, handled through its descriptor.
 *
 * protobuf-c generates a struct for each message type and a descriptor
 * giving each field's offset, type and label. These functions work on any
 * message through that descriptor, so that a walk over fields or a copy is
 * written once, not once per message type. */
#ifndef VALV_MESSAGE_H
#define VALV_MESSAGE_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

/* Where field f of m is: the value itself, or for a repeated field the
 * pointer to its array. */
const void *message_field(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f);

/* How many values repeated field f of m holds. */
size_t message_count(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f);

/* Bytes one value of a field of this type takes, in the message or in a
 * repeated field's array. */
size_t message_element_size(ProtobufCType type);

/* A deep copy of m: every string, bytes value, sub-message, array and
 * unknown field (one a newer version wrote) is the copy's own, to be freed
 * with protobuf_c_message_free_unpacked(copy, NULL). NULL when out of
 * memory. What a pack and an unpack would give, without encoding. */
ProtobufCMessage *message_copy(const ProtobufCMessage *m);

#endif
