/* config.h - valvd's configuration file, read as more command-line options.
 *
 * The file holds `key = value` lines; blank lines and lines whose first
 * non-blank character is '#' are skipped. A key is a long option's name
 * exactly as on the command line (listen, data-dir, tls-cert, ...); the value
 * is the rest of the line after '=', without the blanks around it, taken
 * literally (no quotes, no escapes, '#' included). A switch (an option
 * without an argument) takes `true` or `false`.
 *
 * config_read turns each line into one argument, "--key=value", or "--key"
 * for a switch set to true (false adds nothing), so the getopt table that
 * reads the command line reads the file too: the table is the one list of
 * keys, and an option added to it is a key at once. Values are checked where
 * the flags are checked, by whoever parses the arguments; a relative path
 * therefore means what it means on the command line (relative to valvd's
 * working directory, not to the file).
 *
 * Errors name the file and line: a line without '=', an unknown key (and the
 * keys there are), a key given twice, a switch value other than true/false,
 * an empty value, and a key the caller keeps for the command line.
 */
#ifndef VALV_CONFIG_H
#define VALV_CONFIG_H

#include <getopt.h>

#include "error.h"

typedef struct {
    char *path;  /* the file, as given */
    int argc;    /* argv[0] is "valvd" */
    char **argv; /* argc arguments, then NULL; "--key=value" or "--key" */
    int *lines;  /* lines[i]: the line of the file argv[i] came from (lines[0]: 0) */
} config_file;

/* Reads the file at path into *out, with the keys of options (a getopt_long
 * table ending with a zeroed entry) except those named in command_line_only
 * (NULL-terminated; may be NULL). On error err says which line and what is
 * wrong (VALV_EINVAL; VALV_EUNAVAILABLE when the file cannot be read) and
 * *out is left empty. On success the caller owns *out and frees it with
 * config_free. */
int config_read(const char *path, const struct option *options,
                const char *const *command_line_only, config_file *out, valv_error *err);

/* Frees what config_read allocated and empties f. */
void config_free(config_file *f);

#endif
