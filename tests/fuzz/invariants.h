/* invariants.h - what every fuzz harness asserts of what it gets back.
 *
 * A broken invariant aborts, so libFuzzer reports it as a crash with the
 * input that broke it. They are promises the code makes to callers:
 *   - an error names what went wrong: a failing code has a message, and the
 *     code returned is the one err holds;
 *   - everything that reaches a client is valid UTF-8 (a proto3 string that
 *     is not makes other languages' clients drop the whole message).
 */
#ifndef VALV_FUZZ_INVARIANTS_H
#define VALV_FUZZ_INVARIANTS_H

#include <protobuf-c/protobuf-c.h>

#include "error.h"

/* Aborts unless rc == err->code, a failure has a message, and the message
 * and every violation's field and description are valid UTF-8. */
void invariant_error(int rc, const valv_error *err);

/* Aborts unless every string field of m, in nested and repeated messages
 * too, is valid UTF-8. m is borrowed. */
void invariant_utf8(const ProtobufCMessage *m);

/* Aborts with message on stderr when ok is false. */
void invariant(int ok, const char *message);

#endif
