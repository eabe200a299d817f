/* spool.h - messages parked in a temporary file, to be read back in order.
 *
 * valv uses a spool where it must see everything before it writes anything,
 * without holding everything in memory: `valv export -o csv` learns every
 * attribute key before it writes the header, and a SYNC or atomic
 * `valv import` reads its whole input before it sends a record.
 *
 * The file is created in $TMPDIR (else /tmp) and unlinked at once, so it
 * disappears with the process however that ends.
 */
#ifndef VALV_SPOOL_H
#define VALV_SPOOL_H

#include <protobuf-c/protobuf-c.h>

#include "error.h"

typedef struct spool spool; /* opaque */

/* Creates an empty spool. The caller owns *out (spool_close). */
int spool_open(spool **out, valv_error *err);

/* Appends message (borrowed). */
int spool_write(spool *sp, const ProtobufCMessage *message, valv_error *err);

/* Rewinds to the first message. Call it once, after the last spool_write. */
int spool_rewind(spool *sp, valv_error *err);

/* Reads the next message, unpacked with desc, into *out (the caller frees it
 * with protobuf_c_message_free_unpacked), or sets *out to NULL after the
 * last one. */
int spool_read(spool *sp, const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out,
               valv_error *err);

/* Frees sp and its file. NULL is fine. */
void spool_close(spool *sp);

#endif
