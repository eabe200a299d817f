/* outfile.h - an output file that appears whole or not at all.
 *
 * valv writes a file to a temporary file next to it (FILE.XXXXXX) and
 * renames it over FILE only once everything was written and is on disk: a
 * reader never sees half a file, a crash right after "written" loses
 * nothing, and a run that fails leaves the previous FILE as it was. "-" is
 * standard output, written as it goes. The report, the export and the
 * backup all write their files this way.
 */
#ifndef VALV_OUTFILE_H
#define VALV_OUTFILE_H

#include <stdbool.h>
#include <stdio.h>

#include "error.h"

/* outfile_open's flags, or'ed; 0 for none. Standard output ignores them. */
enum {
    /* FILE is readable by its owner alone (0600), for a file that holds
     * every asset; without it, FILE gets the permissions a new file gets
     * (0666 less the umask). */
    OUTFILE_PRIVATE = 1 << 0,
    /* Never replace an existing FILE, not even one made while valv was
     * writing: the rename refuses instead. A caller that wants a friendly
     * message checks for FILE up front as well. */
    OUTFILE_NO_REPLACE = 1 << 1
};

typedef struct {
    FILE *f;          /* write here */
    const char *path; /* the destination, borrowed; NULL: standard output */
    char *tmp_path;   /* the temporary file, malloc'd; NULL: standard output */
    unsigned flags;   /* OUTFILE_* */
} outfile;

/* Opens path ("-": standard output; borrowed until outfile_close) for
 * writing into *out. Errors: VALV_EINVAL for an empty path,
 * VALV_EUNAVAILABLE "cannot write PATH: REASON" (no temporary file could be
 * made next to it), VALV_EINTERNAL when out of memory. */
int outfile_open(const char *path, unsigned flags, outfile *out, valv_error *err);

/* Ends the output. When complete is true (the caller wrote everything),
 * flushes the file to disk, moves it over path and flushes path's
 * directory, so that path is on disk once this returns; otherwise, or when
 * any of that fails, removes the temporary file and leaves path alone.
 * Standard output is only flushed. Frees what outfile_open allocated; call
 * it once for every outfile_open that succeeded. Returns VALV_OK, or
 * VALV_EUNAVAILABLE "cannot write PATH: REASON" when a write, the flush,
 * the rename or the directory's flush failed (with complete false:
 * VALV_OK). */
int outfile_close(outfile *of, bool complete, valv_error *err);

#endif
