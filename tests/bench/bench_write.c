/* bench_write.c - what the audit log costs a write.
 *
 * Usage: bench_write [UPDATES [BATCH]]   (default 20,000 updates, 100 per transaction)
 *
 * 1. The update path as the product runs it: UPDATES single-asset updates
 *    (each changes one asset's description; BATCH assets round-robin), BATCH
 *    updates per transaction, each transaction committed durably. Prints
 *    writes/s and microseconds per write, inside the transactions and with
 *    their commits.
 * 2. The audit append alone, over the same events: in a fresh store, each
 *    update's (old, new) pair goes through audit_append_asset, as the
 *    update path calls it, in transactions of the same size. Its time per
 *    event against the update path's is the audit's share; the rest is the
 *    write without its audit event.
 *
 * The product has no switch to turn the audit off, so part 2 calls the
 * store's internal append directly (store_internal.h).
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"
#include "store_internal.h"

#define UPDATES_DEFAULT 20000
#define BATCH_DEFAULT 100
#define ARG_MAX_VALUE 10000000

static const store_actor bench_actor = {.actor = "bench", .request_id = "bench-request"};

typedef struct {
    Valv__V1__Asset *old, *updated; /* borrowed from the versions array */
} update_pair;

typedef struct {
    double in_txn_s; /* inside transactions, before commit */
    double total_s;  /* with the commits */
    size_t used_bytes;
} timing;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what, const valv_error *err)
{
    fprintf(stderr, "bench_write: %s: %s\n", what, err->message);
    exit(1);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static long arg_or(int argc, char **argv, int i, long fallback)
{
    if (argc <= i)
        return fallback;
    long v = strtol(argv[i], NULL, 10);
    if (v < 1 || v > ARG_MAX_VALUE) {
        fprintf(stderr, "bench_write: argument %d must be 1 to %d\n", i, ARG_MAX_VALUE);
        exit(2);
    }
    return v;
}

static store *store_fresh(char *dir)
{
    store *s = NULL;
    valv_error err;
    strcpy(dir, "/tmp/valv-bench-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        perror("bench_write: mkdtemp");
        exit(1);
    }
    if (store_open(dir, NULL, &s, &err) != VALV_OK)
        die("open", &err);
    return s;
}

static void store_remove(store *s, const char *dir)
{
    store_close(s);
    nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void commit(store_txn *t)
{
    valv_error err;
    if (store_txn_commit(t, &err) != VALV_OK)
        die("commit", &err);
}

/* Part 1: creates batch assets, then times n updates; versions[] gets every
 * version (batch created, then one per update) and pairs[] each update. */
static timing run_updates(long n, long batch, Valv__V1__Asset **versions, update_pair *pairs)
{
    char dir[64], id[32], description[32];
    store *s = store_fresh(dir);
    timing tm = {0};
    valv_error err;
    store_txn *t = NULL;

    if (store_txn_begin(s, NULL, &t, &err) != VALV_OK)
        die("begin", &err);
    for (long k = 0; k < batch; k++) {
        Valv__V1__Asset a = VALV__V1__ASSET__INIT;
        snprintf(id, sizeof id, "asset-%ld", k);
        a.kind = VALV__V1__ASSET_KIND__IT_SYSTEM;
        a.display_name = id;
        a.owner_unit = "bench";
        a.description = "version 0";
        if (store_create_asset(t, &a, id, &bench_actor, &versions[k], &err) != VALV_OK)
            die("create", &err);
    }
    commit(t);

    double start = now_s();
    for (long i = 0; i < n; i += batch) {
        double batch_start = now_s();
        if (store_txn_begin(s, NULL, &t, &err) != VALV_OK)
            die("begin", &err);
        for (long j = i; j < n && j < i + batch; j++) {
            Valv__V1__Asset patch = VALV__V1__ASSET__INIT;
            static const char *const paths[] = {"description"};
            /* Update j changes asset j % batch, last written by update
             * j - batch (versions[batch + j - batch]) or created (versions[j]). */
            Valv__V1__Asset *old = versions[j];
            snprintf(description, sizeof description, "version %ld", j / batch + 1);
            patch.name = old->name;
            patch.description = description;
            if (store_update_asset(t, &patch, paths, 1, &bench_actor, &versions[batch + j],
                                   &err) != VALV_OK)
                die("update", &err);
            pairs[j].old = old;
            pairs[j].updated = versions[batch + j];
        }
        tm.in_txn_s += now_s() - batch_start;
        commit(t);
    }
    tm.total_s = now_s() - start;
    size_t map_size;
    store_map_usage(s, &map_size, &tm.used_bytes);
    store_remove(s, dir);
    return tm;
}

/* Part 2: the audit append alone over the same (old, new) pairs. */
static timing run_audit_alone(long n, long batch, const update_pair *pairs)
{
    char dir[64];
    store *s = store_fresh(dir);
    timing tm = {0};
    struct timespec now;
    valv_error err;
    store_txn *t = NULL;
    size_t used_before, map_size;

    store_map_usage(s, &map_size, &used_before);
    double start = now_s();
    for (long i = 0; i < n; i += batch) {
        double batch_start = now_s();
        if (store_txn_begin(s, NULL, &t, &err) != VALV_OK)
            die("begin", &err);
        for (long j = i; j < n && j < i + batch; j++) {
            clock_now(&now);
            /* As asset_write does: the revision is taken, then its event appended. */
            t->revision = pairs[j].updated->revision;
            if (audit_change_begin(t, VALV__V1__AUDIT_ACTION__ACTION_UPDATE, &bench_actor, NULL,
                                   &now, &err) != VALV_OK ||
                audit_append_asset(t, pairs[j].old, pairs[j].updated, &err) != VALV_OK)
                die("audit append", &err);
        }
        tm.in_txn_s += now_s() - batch_start;
        commit(t);
    }
    tm.total_s = now_s() - start;
    store_map_usage(s, &map_size, &tm.used_bytes);
    tm.used_bytes -= used_before;
    store_remove(s, dir);
    return tm;
}

int main(int argc, char **argv)
{
    long n = arg_or(argc, argv, 1, UPDATES_DEFAULT);
    long batch = arg_or(argc, argv, 2, BATCH_DEFAULT);
    Valv__V1__Asset **versions = calloc((size_t)(n + batch), sizeof *versions);
    update_pair *pairs = calloc((size_t)n, sizeof *pairs);

    if (versions == NULL || pairs == NULL) {
        fprintf(stderr, "bench_write: out of memory\n");
        return 1;
    }
    timing full = run_updates(n, batch, versions, pairs);
    timing audit = run_audit_alone(n, batch, pairs);

    double us_full_txn = full.in_txn_s * 1e6 / (double)n;
    double us_full = full.total_s * 1e6 / (double)n;
    double us_audit_txn = audit.in_txn_s * 1e6 / (double)n;
    double us_audit = audit.total_s * 1e6 / (double)n;
    printf("command: bench_write %ld %ld   (%ld single-asset updates, %ld per transaction, "
           "durable commits)\n",
           n, batch, n, batch);
    printf("update path, audit included:  %8.0f writes/s  %7.2f us/write  "
           "(%.2f us/write inside the transaction)\n",
           (double)n / full.total_s, us_full, us_full_txn);
    printf("audit append alone:           %8.0f events/s  %7.2f us/event  "
           "(%.2f us/event inside the transaction)\n",
           (double)n / audit.total_s, us_audit, us_audit_txn);
    /* Only the time inside the transactions compares: each run pays its
     * own durable commits, whose fixed cost would count twice. */
    printf("audit share of a write:       %.0f%% of the time inside the transaction\n",
           100.0 * us_audit_txn / us_full_txn);
    printf("update path without the audit (difference): ~%.2f us/write inside the "
           "transaction\n",
           us_full_txn - us_audit_txn);
    printf("audit log size: %.0f bytes/event (audit + audit_by_asset pages)\n",
           (double)audit.used_bytes / (double)n);
    /* For tests/bench/run: "RESULT name value unit". */
    printf("RESULT write_update_path %.2f us\n", us_full);
    printf("RESULT write_update_in_txn %.2f us\n", us_full_txn);
    printf("RESULT write_audit_share %.0f %%\n", 100.0 * us_audit_txn / us_full_txn);
    printf("RESULT write_audit_bytes_per_event %.0f bytes\n", (double)audit.used_bytes / (double)n);

    for (long i = 0; i < n + batch; i++)
        if (versions[i] != NULL)
            valv__v1__asset__free_unpacked(versions[i], NULL);
    free(versions);
    free(pairs);
    return 0;
}
