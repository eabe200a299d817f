/* admin.c - valv.v1.Admin: GetSummary, GetServerInfo and Backup. The counts
 * and the copy are made in store/ (summary.c, backup.c); this file checks
 * requests and moves the bytes. See admin.h for how a backup runs. */
#include "admin.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "policy.h"
#include "store.h"
#include "validate.h"
#include "valv/v1/admin.pb-c.h"

/* --- GetSummary ------------------------------------------------------------------------ */

void admin_get_summary(call *c, const ProtobufCMessage *request)
{
    const Valv__V1__GetSummaryRequest *req = (const void *)request;
    Valv__V1__Summary *summary = NULL;
    store_actor viewer;
    valv_error err;

    valv_error_clear(&err);
    if (req->n_owner_units > ADMIN_SUMMARY_UNITS_MAX) {
        valv_error_violation(&err, "owner_units", "%zu units; at most %d in one call, or none for all",
                             req->n_owner_units, ADMIN_SUMMARY_UNITS_MAX);
    } else {
        for (size_t i = 0; i < req->n_owner_units; i++) {
            char field[48];
            snprintf(field, sizeof field, "owner_units[%zu]", i);
            validate_owner_unit(req->owner_units[i], field, &err);
        }
    }
    /* The caller sees the counts of what they may see: need to know. */
    policy_actor(c, NULL, &viewer);
    if (err.code == VALV_OK)
        store_summarize(call_store(c), &viewer, (const char *const *)req->owner_units,
                        req->n_owner_units, &summary, &err);
    if (err.code != VALV_OK)
        call_fail(c, &err);
    else
        call_reply(c, &summary->base);
    if (summary != NULL)
        valv__v1__summary__free_unpacked(summary, NULL);
}

/* --- GetServerInfo ---------------------------------------------------------------------- */

void admin_get_server_info(call *c, const ProtobufCMessage *request)
{
    Valv__V1__ServerInfo info = VALV__V1__SERVER_INFO__INIT;
    Google__Protobuf__Timestamp start = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    struct timespec start_time;
    store_stats stats;
    valv_error err;
    (void)request;

    valv_error_clear(&err);
    if (store_get_stats(call_store(c), &stats, &err) != VALV_OK) {
        call_fail(c, &err);
        return;
    }
    call_server_started(c, &start_time, &info.uptime_seconds);
    start.seconds = start_time.tv_sec;
    start.nanos = (int32_t)start_time.tv_nsec;
    info.version = VALV_VERSION;
    info.schema_version = stats.schema_version;
    info.revision = stats.revision;
    info.asset_count = stats.live_assets;
    info.deleted_asset_count = stats.deleted_assets;
    info.start_time = &start;
    info.database_bytes = stats.database_bytes;
    info.map_bytes = stats.map_bytes;
    info.map_bytes_max = stats.map_bytes_max;
    call_reply(c, &info.base);
}

/* --- Backup ------------------------------------------------------------------------------ */

/* Backups running in this process: each holds a copy of the store on disk
 * and, while it is made, an LMDB read transaction. */
static atomic_int backups_running;

static bool backup_slot_take(void)
{
    int n = atomic_load(&backups_running);
    while (n < ADMIN_BACKUPS_MAX)
        if (atomic_compare_exchange_weak(&backups_running, &n, n + 1))
            return true;
    return false;
}

static void backup_slot_give(void)
{
    atomic_fetch_sub(&backups_running, 1);
}

/* One backup call. The copy thread fills the copy's fields and then only
 * kicks the call; everything else happens on the call's worker thread. */
typedef struct {
    call *call;
    store *store;
    int fd;            /* the copy: an unlinked file in the data directory; -1 when none */
    int64_t revision;  /* what the copy holds */
    off_t size, sent;  /* the copy's bytes, and how many have been sent */
    valv_error copy_err;
    valv_error close_err; /* set before closing */
    atomic_bool closing;  /* the client left or the server drains */
    unsigned char chunk[ADMIN_BACKUP_CHUNK];
} backup_stream;

/* The call is gone: no callback can reach b any more. */
static void backup_free(void *arg)
{
    backup_stream *b = arg;
    if (b->fd >= 0)
        close(b->fd);
    free(b);
    backup_slot_give();
}

/* Opens a new, already unlinked file in dir: nothing is left behind,
 * however valvd ends. */
static int temp_file_open(const char *dir, int *fd, valv_error *err)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/.backup-XXXXXX", dir) >= (int)sizeof path)
        return valv_error_set(err, VALV_EINTERNAL, "the data directory's path is too long");
    *fd = mkostemp(path, O_CLOEXEC);
    if (*fd < 0)
        return valv_error_set(err, VALV_EUNAVAILABLE,
                              "cannot create a temporary file for the backup in %s: %s", dir,
                              strerror(errno));
    unlink(path);
    return VALV_OK;
}

static void backup_fail(call *c, valv_code code, const char *what)
{
    valv_error err;
    valv_error_clear(&err);
    valv_error_set(&err, code, "%s", what);
    call_fail(c, &err);
}

static void backup_pump(call *c, backup_stream *b);

static void backup_sent(call *c, bool ok, void *arg)
{
    if (!ok) {
        backup_fail(c, VALV_ECANCELLED, "the client went away");
        return;
    }
    backup_pump(c, arg);
}

/* Sends the next chunk of the copy, or ends the call. */
static void backup_pump(call *c, backup_stream *b)
{
    Valv__V1__BackupChunk chunk = VALV__V1__BACKUP_CHUNK__INIT;

    if (atomic_load(&b->closing)) {
        call_fail(c, &b->close_err);
        return;
    }
    if (b->copy_err.code != VALV_OK) {
        call_fail(c, &b->copy_err);
        return;
    }
    if (b->sent == b->size) {
        call_end(c);
        return;
    }
    size_t want = b->size - b->sent < ADMIN_BACKUP_CHUNK ? (size_t)(b->size - b->sent)
                                                         : ADMIN_BACKUP_CHUNK;
    ssize_t got = pread(b->fd, b->chunk, want, b->sent);
    if (got <= 0) {
        backup_fail(c, VALV_EINTERNAL, "the backup copy could not be read back; try again");
        return;
    }
    chunk.data.data = b->chunk;
    chunk.data.len = (size_t)got;
    if (b->sent == 0)
        chunk.revision = b->revision;
    b->sent += got;
    call_send(c, &chunk.base, backup_sent, b);
}

/* The copy is made (or failed): from here the worker thread streams it. */
static void backup_copied(call *c, void *arg)
{
    backup_pump(c, arg);
}

static void *backup_copy(void *arg)
{
    backup_stream *b = arg;
    struct stat st;

    valv_error_clear(&b->copy_err);
    if (store_backup(b->store, b->fd, &b->revision, &b->copy_err) == VALV_OK) {
        if (fstat(b->fd, &st) == 0) {
            b->size = st.st_size;
            log_event(LOG_INFO, "backup_copied", LOG_INT("revision", b->revision),
                      LOG_INT("bytes", b->size), LOG_END);
        } else {
            valv_error_set(&b->copy_err, VALV_EINTERNAL, "the backup copy is gone: %s",
                           strerror(errno));
        }
    }
    /* The call waits for this kick (nothing else ends it while the copy
     * runs), so b is alive until here; the kick's completion orders the
     * fields above before the worker reads them. */
    call_kick(b->call, backup_copied, b);
    return NULL;
}

/* Any thread: the worker thread ends the call at its next step (after the
 * copy, or when the chunk in flight has left). */
static void backup_closed(call *c, void *arg)
{
    backup_stream *b = arg;
    valv_error_clear(&b->close_err);
    if (call_should_stop(c))
        valv_error_set(&b->close_err, VALV_ECANCELLED, "the client ended the backup");
    else
        valv_error_set(&b->close_err, VALV_EUNAVAILABLE,
                       "valvd is shutting down; take the backup again once it is back");
    atomic_store(&b->closing, true);
}

void admin_backup(call *c, const ProtobufCMessage *request)
{
    backup_stream *b = NULL;
    pthread_attr_t attr;
    pthread_t thread;
    valv_error err;
    (void)request;

    valv_error_clear(&err);
    if (!backup_slot_take()) {
        valv_error_set(&err, VALV_EFULL,
                       "valvd already runs %d backups, the most it runs at a time; retry when "
                       "one has finished",
                       ADMIN_BACKUPS_MAX);
        goto fail;
    }
    b = calloc(1, sizeof *b);
    if (b == NULL) {
        backup_slot_give();
        valv_error_set(&err, VALV_EFULL, "valvd is out of memory; retry later");
        goto fail;
    }
    b->call = c;
    b->store = call_store(c);
    b->fd = -1;
    call_on_free(c, backup_free, b); /* from here on, the call's end frees b and its slot */
    if (temp_file_open(call_data_dir(c), &b->fd, &err) != VALV_OK)
        goto fail;
    call_on_close(c, backup_closed, b);

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&thread, &attr, backup_copy, b);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        valv_error_set(&err, VALV_EFULL, "valvd cannot start a thread for the backup: %s; retry later",
                       strerror(rc));
        goto fail;
    }
    return;
fail:
    call_fail(c, &err);
}
