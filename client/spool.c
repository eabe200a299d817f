/* spool.c - messages parked in a temporary file (see spool.h).
 *
 * Each message is stored as its length (a uint32_t in the machine's byte
 * order: the file never leaves the process) and its protobuf bytes.
 */
#include "spool.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


struct spool {
    FILE *file;
    char path[4096]; /* for error messages only: the file is unlinked */
};

static int file_error(const spool *sp, const char *doing, valv_error *err)
{
    return valv_error_set(err, VALV_EINTERNAL, "cannot %s the temporary file %s: %s", doing,
                          sp->path, errno != 0 ? strerror(errno) : "unexpected end of file");
}

int spool_open(spool **out, valv_error *err)
{
    *out = NULL;
    spool *sp = calloc(1, sizeof *sp);
    if (sp == NULL)
        return valv_error_set(err, VALV_EINTERNAL, "out of memory");
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || dir[0] == '\0')
        dir = "/tmp";
    snprintf(sp->path, sizeof sp->path, "%s/valv-spool-XXXXXX", dir);
    int fd = mkstemp(sp->path);
    if (fd < 0) {
        int rc = valv_error_set(err, VALV_EINTERNAL,
                                "cannot create a temporary file in %s: %s (set TMPDIR to a "
                                "writable directory)",
                                dir, strerror(errno));
        free(sp);
        return rc;
    }
    unlink(sp->path);
    sp->file = fdopen(fd, "w+");
    if (sp->file == NULL) {
        int rc = file_error(sp, "open", err);
        close(fd);
        free(sp);
        return rc;
    }
    *out = sp;
    return VALV_OK;
}

int spool_write(spool *sp, const ProtobufCMessage *message, valv_error *err)
{
    size_t len = protobuf_c_message_get_packed_size(message);
    uint8_t *bytes = malloc(len > 0 ? len : 1);
    if (bytes == NULL)
        return valv_error_set(err, VALV_EINTERNAL, "out of memory");
    protobuf_c_message_pack(message, bytes);
    uint32_t len32 = (uint32_t)len;
    int rc = VALV_OK;
    errno = 0;
    if (fwrite(&len32, sizeof len32, 1, sp->file) != 1 ||
        (len > 0 && fwrite(bytes, len, 1, sp->file) != 1))
        rc = file_error(sp, "write to", err);
    free(bytes);
    return rc;
}

int spool_rewind(spool *sp, valv_error *err)
{
    errno = 0;
    if (fflush(sp->file) != 0 || fseek(sp->file, 0, SEEK_SET) != 0)
        return file_error(sp, "read back", err);
    return VALV_OK;
}

int spool_read(spool *sp, const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out,
               valv_error *err)
{
    uint32_t len;
    *out = NULL;
    errno = 0;
    if (fread(&len, sizeof len, 1, sp->file) != 1)
        return ferror(sp->file) ? file_error(sp, "read", err) : VALV_OK;
    uint8_t *bytes = malloc(len > 0 ? len : 1);
    if (bytes == NULL)
        return valv_error_set(err, VALV_EINTERNAL, "out of memory");
    int rc = VALV_OK;
    if (len > 0 && fread(bytes, len, 1, sp->file) != 1)
        rc = file_error(sp, "read", err);
    if (rc == VALV_OK) {
        *out = protobuf_c_message_unpack(desc, NULL, len, bytes);
        if (*out == NULL)
            rc = valv_error_set(err, VALV_EINTERNAL, "the temporary file %s is damaged",
                                sp->path);
    }
    free(bytes);
    return rc;
}

void spool_close(spool *sp)
{
    if (sp == NULL)
        return;
    fclose(sp->file);
    free(sp);
}
