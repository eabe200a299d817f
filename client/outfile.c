/* outfile.c - an output file that appears whole or not at all (see
 * outfile.h). */
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What open(2) gives a new file before the umask: a file valv writes is
 * as readable as any other file the user makes. */
#define NEW_FILE_MODE 0666

static mode_t current_umask(void)
{
    mode_t mask = umask(0);
    umask(mask);
    return mask;
}

int outfile_open(const char *path, unsigned flags, outfile *out, valv_error *err)
{
    int fd = -1;

    *out = (outfile){.f = stdout, .flags = flags};
    if (strcmp(path, "-") == 0)
        return VALV_OK;
    if (path[0] == '\0') {
        *out = (outfile){.f = NULL};
        return valv_error_set(err, VALV_EINVAL,
                              "no file name given: name a file, or '-' for standard output");
    }

    out->path = path;
    /* Next to path, so that rename replaces path in one step. */
    if (asprintf(&out->tmp_path, "%s.XXXXXX", path) < 0) {
        *out = (outfile){.f = NULL};
        return valv_error_set(err, VALV_EINTERNAL, "out of memory");
    }
    /* mkstemp makes the file 0600: right for OUTFILE_PRIVATE only. */
    fd = mkstemp(out->tmp_path);
    if (fd < 0)
        goto fail;
    if ((flags & OUTFILE_PRIVATE) == 0 && fchmod(fd, NEW_FILE_MODE & ~current_umask()) != 0)
        goto fail;
    out->f = fdopen(fd, "w");
    if (out->f == NULL)
        goto fail;
    return VALV_OK;
fail:
    valv_error_set(err, VALV_EUNAVAILABLE, "cannot write %s: %s", path, strerror(errno));
    if (fd >= 0) {
        close(fd);
        unlink(out->tmp_path);
    }
    free(out->tmp_path);
    *out = (outfile){.f = NULL};
    return VALV_EUNAVAILABLE;
}

/* Makes a rename in path's directory survive a crash. Returns 0, or -1
 * with errno set. */
static int sync_directory(const char *path)
{
    char *copy = strdup(path);
    if (copy == NULL)
        return -1;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

/* Flushes the temporary file to disk, closes it, and moves it over path
 * (refusing an existing path under OUTFILE_NO_REPLACE), then flushes the
 * directory. Returns 0, or the errno of the first step that failed. */
static int commit_file(outfile *of)
{
    int error = 0;

    if (ferror(of->f) || fflush(of->f) != 0 || fsync(fileno(of->f)) != 0)
        error = errno != 0 ? errno : EIO;
    if (fclose(of->f) != 0 && error == 0)
        error = errno;
    if (error != 0)
        return error;
    /* RENAME_NOREPLACE checks and renames in one step: a path made since
     * the caller looked is not overwritten either. */
    int renamed = (of->flags & OUTFILE_NO_REPLACE) != 0
                      ? renameat2(AT_FDCWD, of->tmp_path, AT_FDCWD, of->path, RENAME_NOREPLACE)
                      : rename(of->tmp_path, of->path);
    if (renamed != 0 || sync_directory(of->path) != 0)
        return errno;
    return 0;
}

int outfile_close(outfile *of, bool complete, valv_error *err)
{
    const char *shown = of->path != NULL ? of->path : "the output";
    int error = 0;
    int rc = VALV_OK;

    if (of->path == NULL) {
        if (ferror(of->f) || fflush(of->f) != 0)
            error = errno != 0 ? errno : EIO;
    } else if (complete) {
        error = commit_file(of);
    } else {
        fclose(of->f);
    }
    /* After a failed directory flush the rename is done: unlink then finds
     * nothing, and path stays, though perhaps not yet on disk. */
    if (of->tmp_path != NULL && (!complete || error != 0))
        unlink(of->tmp_path);
    if (complete && error == EEXIST && (of->flags & OUTFILE_NO_REPLACE) != 0)
        rc = valv_error_set(err, VALV_EUNAVAILABLE,
                            "cannot write %s: it was made while valv wrote it, and is not "
                            "replaced", shown);
    else if (complete && error != 0)
        rc = valv_error_set(err, VALV_EUNAVAILABLE, "cannot write %s: %s", shown,
                            strerror(error));
    free(of->tmp_path);
    *of = (outfile){.f = NULL};
    return rc;
}
