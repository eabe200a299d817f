/* backup.c - store_backup: a consistent, compacted copy of the environment.
 * See store.h.
 *
 * LMDB makes the copy (mdb_env_copyfd2 with MDB_CP_COMPACT) from one read
 * transaction of its own, so the copy is one snapshot and writers go on
 * meanwhile. That transaction is not ours, so nothing tells which revision
 * it saw: reading store_revision() before or after the copy would be off
 * by whatever committed in between. The copy itself knows: its meta table
 * holds the revision counter of the snapshot it was made from, so
 * store_backup opens the copy and reads the counter back. That is exact
 * whatever the writers did, and it also proves that the copy opens.
 */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "store_internal.h"

/* Reads the revision counter of the LMDB environment in the file open as
 * fd. The file is opened again by its /proc name (it may have no other
 * name), read-only and without a lock file: nobody else uses it. */
static int copy_revision(int fd, int64_t *out, valv_error *err)
{
    char path[64];
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi meta;
    MDB_val key = {strlen(META_REVISION), META_REVISION}, val;
    int rc;

    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    rc = mdb_env_create(&env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(env, 1); /* the meta table only */
    if (rc == 0)
        rc = mdb_env_open(env, path, MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK, 0);
    if (rc == 0)
        rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, table_names[TABLE_META], 0, &meta);
    if (rc == 0)
        rc = mdb_get(txn, meta, &key, &val);
    if (rc != 0) {
        rc = valv_error_set(err, VALV_EINTERNAL, "the backup was written but cannot be read back: %s",
                            mdb_strerror(rc));
        goto done;
    }
    if (val.mv_size != 8) {
        rc = valv_error_set(err, VALV_EINTERNAL, "the backup holds no readable revision counter");
        goto done;
    }
    *out = (int64_t)be64_get(val.mv_data);
    rc = VALV_OK;
done:
    if (txn != NULL)
        mdb_txn_abort(txn);
    if (env != NULL)
        mdb_env_close(env);
    return rc;
}

int store_backup(store *s, int fd, int64_t *revision_out, valv_error *err)
{
    struct stat st;

    valv_error_clear(err);
    *revision_out = 0;
    /* The copy is read back (see above): it needs an empty regular file. */
    if (fstat(fd, &st) != 0)
        return valv_error_set(err, VALV_EINTERNAL, "cannot use the backup file: %s",
                              strerror(errno));
    if (!S_ISREG(st.st_mode) || st.st_size != 0)
        return valv_error_set(err, VALV_EINVAL,
                              "a backup is written to an empty regular file");

    /* LMDB's read transaction runs for the whole copy, and the map may not
     * change size under it: the map lock is held shared, as every read holds
     * it, so a store_grow waits for the copy to end (and, writers first,
     * reads that begin meanwhile wait with it). The copy should therefore go
     * to a local file, never straight to a slow reader. */
    pthread_rwlock_rdlock(&s->map_lock);
    int rc = mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT);
    pthread_rwlock_unlock(&s->map_lock);
    if (rc != 0)
        return valv_error_set(err, rc == ENOSPC ? VALV_EFULL : VALV_EINTERNAL,
                              "cannot write the backup: %s", mdb_strerror(rc));
    return copy_revision(fd, revision_out, err);
}
