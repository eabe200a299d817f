#include "error.h"

#include <stdio.h>
#include <string.h>

void valv_error_clear(valv_error *err)
{
    err->code = VALV_OK;
    err->message[0] = '\0';
    err->n_violations = 0;
}

/* vsnprintf may cut a multi-byte character in half; drop the broken tail so
 * the message a client gets stays valid UTF-8. */
static void trim_partial_utf8(char *buf, size_t cap)
{
    size_t len = strlen(buf);
    if (len + 1 < cap)
        return; /* not truncated */
    size_t start = len;
    while (start > 0 && ((unsigned char)buf[start - 1] & 0xC0) == 0x80)
        start--; /* continuation bytes */
    if (start == 0)
        return;
    unsigned char lead = (unsigned char)buf[start - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (len - (start - 1) < need)
        buf[start - 1] = '\0';
}

valv_code valv_error_set(valv_error *err, valv_code code, const char *fmt, ...)
{
    if (err == NULL)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    trim_partial_utf8(err->message, sizeof err->message);
    err->code = code;
    return code;
}

valv_code valv_error_violation(valv_error *err, const char *field, const char *fmt, ...)
{
    if (err == NULL)
        return VALV_EINVAL;
    err->code = VALV_EINVAL;
    if (err->n_violations < VALV_ERROR_VIOLATIONS_MAX) {
        valv_violation *v = &err->violations[err->n_violations++];
        snprintf(v->field, sizeof v->field, "%s", field);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(v->description, sizeof v->description, fmt, ap);
        va_end(ap);
        trim_partial_utf8(v->description, sizeof v->description);
        if (err->message[0] == '\0') {
            snprintf(err->message, sizeof err->message, "%s: %s", v->field, v->description);
            trim_partial_utf8(err->message, sizeof err->message);
        }
    }
    return VALV_EINVAL;
}

/* Puts "PREFIX." in front of buf (capacity cap), cutting the end if needed. */
static void prepend(char *buf, size_t cap, const char *prefix)
{
    size_t plen = strlen(prefix) + 1;
    size_t len = strlen(buf);
    if (plen >= cap)
        return;
    if (len + plen >= cap)
        len = cap - plen - 1;
    memmove(buf + plen, buf, len);
    buf[plen + len] = '\0';
    memcpy(buf, prefix, plen - 1);
    buf[plen - 1] = '.';
    trim_partial_utf8(buf, cap);
}

void valv_error_prefix_fields(valv_error *err, const char *prefix)
{
    for (int i = 0; i < err->n_violations; i++)
        prepend(err->violations[i].field, sizeof err->violations[i].field, prefix);
    if (err->n_violations > 0 && err->message[0] != '\0')
        prepend(err->message, sizeof err->message, prefix);
}

const char *valv_code_name(int code)
{
    static const char *const names[] = {
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
        "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
        "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    };
    if (code < 0 || code >= (int)(sizeof names / sizeof names[0]))
        return "UNKNOWN";
    return names[code];
}
