#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

#define UTF8_BOM "\xef\xbb\xbf"

/* What one line is read against, and where each key was first set. */
typedef struct {
    const char *path;
    const struct option *options;
    const char *const *command_line_only;
    int *first_line; /* per entry of options: the line that set it, 0 if none yet */
} reader;

static bool listed(const char *const *names, const char *name)
{
    for (size_t i = 0; names != NULL && names[i] != NULL; i++) {
        if (strcmp(names[i], name) == 0)
            return true;
    }
    return false;
}

static size_t option_count(const struct option *options)
{
    size_t n = 0;
    while (options[n].name != NULL)
        n++;
    return n;
}

/* Strips the blanks around s[0..len) in place; returns the new start. */
static char *trim(char *s, size_t len)
{
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' ||
                       s[len - 1] == '\n'))
        len--;
    s[len] = '\0';
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* "unknown key 'x'; known keys: a, b, c" */
static int unknown_key(const reader *r, int line_no, const char *key, valv_error *err)
{
    char known[VALV_ERROR_MESSAGE_MAX];
    size_t len = 0;
    known[0] = '\0';
    for (const struct option *o = r->options; o->name != NULL && len < sizeof known; o++) {
        if (!listed(r->command_line_only, o->name))
            len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", len > 0 ? ", " : "",
                                    o->name);
    }
    char excerpt[VALIDATE_EXCERPT_SIZE];
    return valv_error_set(err, VALV_EINVAL, "%s:%d: unknown key '%s'; known keys: %s", r->path,
                          line_no, validate_excerpt(key, excerpt), known);
}

/* Turns one line into at most one argument, appended to out. */
static int read_line(reader *r, int line_no, char *text, config_file *out, valv_error *err)
{
    char excerpt[VALIDATE_EXCERPT_SIZE];
    char *start = trim(text, strlen(text));
    if (start[0] == '\0' || start[0] == '#')
        return VALV_OK;
    char *equals = strchr(start, '=');
    if (equals == NULL)
        return valv_error_set(err, VALV_EINVAL, "%s:%d: expected 'key = value', not '%s'", r->path,
                              line_no, validate_excerpt(start, excerpt));
    *equals = '\0';
    const char *key = trim(start, (size_t)(equals - start));
    const char *value = trim(equals + 1, strlen(equals + 1));

    size_t i = 0;
    while (r->options[i].name != NULL && strcmp(r->options[i].name, key) != 0)
        i++;
    const struct option *o = &r->options[i];
    if (o->name == NULL)
        return unknown_key(r, line_no, key, err);
    if (listed(r->command_line_only, key))
        return valv_error_set(err, VALV_EINVAL,
                              "%s:%d: '%s' works on the command line only, not in a configuration file",
                              r->path, line_no, key);
    if (r->first_line[i] != 0)
        return valv_error_set(err, VALV_EINVAL, "%s:%d: '%s' is set twice (first on line %d); keep one",
                              r->path, line_no, key, r->first_line[i]);
    r->first_line[i] = line_no;

    char *arg = NULL;
    if (o->has_arg == no_argument) {
        if (strcmp(value, "false") == 0)
            return VALV_OK;
        if (strcmp(value, "true") != 0)
            return valv_error_set(err, VALV_EINVAL,
                                  "%s:%d: '%s' is a switch: write '%s = true' or '%s = false', not '%s'",
                                  r->path, line_no, key, key, key, validate_excerpt(value, excerpt));
        if (asprintf(&arg, "--%s", key) < 0)
            arg = NULL;
    } else {
        if (value[0] == '\0')
            return valv_error_set(err, VALV_EINVAL, "%s:%d: '%s' needs a value: '%s = VALUE'", r->path,
                                  line_no, key, key);
        if (asprintf(&arg, "--%s=%s", key, value) < 0)
            arg = NULL;
    }
    if (arg == NULL)
        return valv_error_set(err, VALV_EINTERNAL, "out of memory reading %s", r->path);
    out->lines[out->argc] = line_no;
    out->argv[out->argc++] = arg;
    return VALV_OK;
}

int config_read(const char *path, const struct option *options,
                const char *const *command_line_only, config_file *out, valv_error *err)
{
    int rc = VALV_OK;
    char *text = NULL;
    size_t cap = 0;
    size_t n_options = option_count(options);
    reader r = {.path = path, .options = options, .command_line_only = command_line_only};
    FILE *f = NULL;

    memset(out, 0, sizeof *out);
    /* Each key at most once: one argument per option, argv[0] and NULL. */
    out->path = strdup(path);
    out->argv = calloc(n_options + 2, sizeof *out->argv);
    out->lines = calloc(n_options + 2, sizeof *out->lines);
    r.first_line = calloc(n_options + 1, sizeof *r.first_line);
    if (out->path == NULL || out->argv == NULL || out->lines == NULL || r.first_line == NULL ||
        (out->argv[0] = strdup("valvd")) == NULL) {
        rc = valv_error_set(err, VALV_EINTERNAL, "out of memory reading %s", path);
        goto done;
    }
    out->argc = 1;

    if ((f = fopen(path, "r")) == NULL) {
        rc = valv_error_set(err, VALV_EUNAVAILABLE, "cannot read %s: %s", path, strerror(errno));
        goto done;
    }
    errno = 0;
    for (int line_no = 1; getline(&text, &cap, f) >= 0; line_no++) {
        char *start = text;
        if (line_no == 1 && strncmp(start, UTF8_BOM, strlen(UTF8_BOM)) == 0)
            start += strlen(UTF8_BOM); /* written by some Windows editors */
        if ((rc = read_line(&r, line_no, start, out, err)) != VALV_OK)
            goto done;
    }
    if (ferror(f))
        rc = valv_error_set(err, VALV_EUNAVAILABLE, "cannot read %s: %s", path, strerror(errno));

done:
    if (f != NULL)
        fclose(f);
    free(text);
    free(r.first_line);
    if (rc != VALV_OK)
        config_free(out);
    return rc;
}

void config_free(config_file *f)
{
    for (int i = 0; f->argv != NULL && i < f->argc; i++)
        free(f->argv[i]);
    free(f->argv);
    free(f->lines);
    free(f->path);
    memset(f, 0, sizeof *f);
}
