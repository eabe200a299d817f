#include "invariants.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

void invariant(int ok, const char *message)
{
    if (ok)
        return;
    fprintf(stderr, "invariant broken: %s\n", message);
    abort();
}

/* s is a NUL-terminated, valid UTF-8 string within cap bytes. */
static int text_ok(const char *s, size_t cap)
{
    size_t len = strnlen(s, cap);
    return len < cap && validate_utf8(s, len);
}

void invariant_error(int rc, const valv_error *err)
{
    invariant(rc == (int)err->code, "the code returned is not the error's code");
    invariant(rc == VALV_OK || err->message[0] != '\0', "an error without a message");
    invariant(text_ok(err->message, sizeof err->message), "an error message that is not UTF-8");
    invariant(err->n_violations >= 0 && err->n_violations <= VALV_ERROR_VIOLATIONS_MAX,
              "a violation count out of range");
    for (int i = 0; i < err->n_violations; i++) {
        const valv_violation *v = &err->violations[i];
        invariant(text_ok(v->field, sizeof v->field), "a violation's field that is not UTF-8");
        invariant(text_ok(v->description, sizeof v->description),
                  "a violation's description that is not UTF-8");
    }
}

/* The value of field f in m: a pointer to the member that holds it. */
static const void *member(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    return (const char *)m + f->offset;
}

/* The number of values field f has in m: 0 or 1 for a singular field (a
 * oneof member counts only when its case is set). */
static size_t values(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return *(const size_t *)((const char *)m + f->quantifier_offset);
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return *(const uint32_t *)((const char *)m + f->quantifier_offset) == f->id;
    return 1;
}

void invariant_utf8(const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        size_t n = values(m, f);
        /* A repeated field's member is an array of pointers; a singular
         * one is the pointer itself. */
        const void *const *items = f->label == PROTOBUF_C_LABEL_REPEATED
                                       ? *(const void *const *const *)member(m, f)
                                       : (const void *const *)member(m, f);
        for (size_t k = 0; k < n; k++) {
            if (items[k] == NULL)
                continue;
            if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
                invariant_utf8(items[k]);
            } else if (!validate_utf8(items[k], strlen(items[k]))) {
                fprintf(stderr, "invariant broken: %s.%s is not UTF-8\n", d->name, f->name);
                abort();
            }
        }
    }
}
