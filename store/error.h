/* error.h - the error a request gets back.
 *
 * Every function of store/ that can fail returns a valv_code (0 on success)
 * and fills a caller-owned valv_error with a message meant for the person who
 * sent the request, plus, for INVALID_ARGUMENT, one violation per bad field.
 * The numbers are the canonical gRPC status codes (a public standard, not a
 * gRPC type), so service/ passes them through unchanged.
 *
 * valv_error is a plain fixed-size struct: no allocation, nothing to free.
 */
#ifndef VALV_ERROR_H
#define VALV_ERROR_H

#include <stdarg.h>

typedef enum {
    /* Not a gRPC code and never sent: a store call asks its caller to roll
     * its transaction back and make the call again (store_import_apply).
     * The writer does so, and no request ever gets it. */
    VALV_ERUN_AGAIN = -1,
    VALV_OK = 0,
    VALV_ECANCELLED = 1,
    VALV_EINVAL = 3,        /* INVALID_ARGUMENT */
    VALV_EDEADLINE = 4,     /* DEADLINE_EXCEEDED */
    VALV_ENOTFOUND = 5,     /* NOT_FOUND */
    VALV_EEXIST = 6,        /* ALREADY_EXISTS */
    VALV_EPERM = 7,         /* PERMISSION_DENIED */
    VALV_EFULL = 8,         /* RESOURCE_EXHAUSTED */
    VALV_EPRECONDITION = 9, /* FAILED_PRECONDITION */
    VALV_EABORTED = 10,     /* ABORTED: etag mismatch */
    VALV_ERANGE = 11,       /* OUT_OF_RANGE */
    VALV_EUNIMPLEMENTED = 12,
    VALV_EINTERNAL = 13,
    VALV_EUNAVAILABLE = 14,
    VALV_EUNAUTHENTICATED = 16
} valv_code;

#define VALV_ERROR_MESSAGE_MAX 512
#define VALV_ERROR_FIELD_MAX 128
#define VALV_ERROR_VIOLATIONS_MAX 16

typedef struct {
    char field[VALV_ERROR_FIELD_MAX];             /* "asset.display_name" */
    char description[VALV_ERROR_MESSAGE_MAX / 2]; /* what is wrong, and what is allowed */
} valv_violation;

typedef struct {
    valv_code code;
    char message[VALV_ERROR_MESSAGE_MAX];
    int n_violations;
    valv_violation violations[VALV_ERROR_VIOLATIONS_MAX];
} valv_error;

/* Resets err to VALV_OK with no message and no violations. */
void valv_error_clear(valv_error *err);

/* Sets code and a printf-style message (truncated to fit). Returns code, so
 * that `return valv_error_set(err, VALV_ENOTFOUND, "...")` reads naturally.
 * err may be NULL. */
valv_code valv_error_set(valv_error *err, valv_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records a bad field: sets code to VALV_EINVAL, adds a violation (dropped
 * silently past VALV_ERROR_VIOLATIONS_MAX), and, if the message is still
 * empty, makes it "FIELD: DESCRIPTION". Returns VALV_EINVAL. err may be NULL. */
valv_code valv_error_violation(valv_error *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes every violation's field with PREFIX and "." ("asset" turns
 * "display_name" into "asset.display_name"), and the message likewise.
 * Used when store/ checks an asset that arrived inside a request. */
void valv_error_prefix_fields(valv_error *err, const char *prefix);

/* The canonical upper-case name of a code ("INVALID_ARGUMENT"); static. */
const char *valv_code_name(int code);

#endif
