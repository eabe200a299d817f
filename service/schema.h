/* schema.h - valvd's API as protobuf descriptors, indexed for server
 * reflection.
 *
 * The build runs protoc over every .proto valvd serves (with their imports)
 * and embeds the resulting google.protobuf.FileDescriptorSet in valvd
 * (gen/schema_data.c). schema_open parses it once and indexes its files by
 * name and its symbols (services, methods, messages, fields, oneofs, enums,
 * enum values, extensions; nested ones too) by fully qualified name. A
 * schema is immutable once open, so any number of threads may read it.
 * No gRPC here.
 *
 * Lookups answer with a file and its transitive dependencies, each a
 * serialized google.protobuf.FileDescriptorProto: the file asked for first,
 * then every file it imports, directly or not, once each. That is what a
 * reflection client needs to build the full definition in one round trip.
 */
#ifndef VALV_SCHEMA_H
#define VALV_SCHEMA_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct schema schema; /* opaque */

/* Parses and indexes the FileDescriptorSet embedded in valvd. The caller
 * owns *out (schema_free). Fails (VALV_EINTERNAL) only on a broken build or
 * out of memory. */
int schema_open(schema **out, valv_error *err);

/* The same from any serialized FileDescriptorSet (data is borrowed; only
 * during the call). Also refuses a set in which a file imports a file the
 * set lacks (protoc --include_imports never makes one). */
int schema_open_set(const uint8_t *data, size_t len, schema **out, valv_error *err);

/* NULL is fine. */
void schema_free(schema *s);

/* A file and its transitive dependencies, in the order above. files is
 * owned by the caller (schema_files_free); the bytes each entry points to
 * belong to the schema and live as long as it. */
typedef struct {
    ProtobufCBinaryData *files;
    size_t n;
} schema_files;

/* Frees f->files and empties f. Fine on an empty one. */
void schema_files_free(schema_files *f);

/* The file named `name` ("valv/v1/inventory.proto"). VALV_ENOTFOUND when
 * there is none. */
int schema_file_by_name(const schema *s, const char *name, schema_files *out, valv_error *err);

/* The file declaring the fully qualified `symbol` ("valv.v1.Inventory",
 * "valv.v1.Inventory.GetAsset", "valv.v1.Asset"). VALV_ENOTFOUND when none
 * does. */
int schema_file_containing_symbol(const schema *s, const char *symbol, schema_files *out,
                                  valv_error *err);

/* The file declaring extension `number` of message type `type`.
 * VALV_ENOTFOUND when none does. */
int schema_file_containing_extension(const schema *s, const char *type, int32_t number,
                                     schema_files *out, valv_error *err);

/* The field numbers of every extension of message type `type`, in no
 * particular order (none is fine: *n_out = 0). The caller owns *numbers_out
 * (free). VALV_ENOTFOUND when `type` is not a message type of the schema. */
int schema_extension_numbers(const schema *s, const char *type, int32_t **numbers_out,
                             size_t *n_out, valv_error *err);

/* True when the schema declares `symbol` (fully qualified). */
bool schema_has_symbol(const schema *s, const char *symbol);

#endif
