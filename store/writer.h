/* writer.h - the one path every change takes to disk.
 *
 * Callers (gRPC handlers on any thread) submit jobs; one writer thread takes
 * every job waiting, runs them all in one top-level transaction, commits
 * once, and only then tells each job how it ended (group commit: one fsync
 * for many writes). A job that fails is left out alone: one that fails
 * before it writes anything (the usual case) leaves nothing behind; after
 * one that wrote part of itself, the group runs again with each job in a
 * nested transaction of its own, which is aborted alone when its job fails.
 *
 * When the map fills, the writer grows it and runs the whole group again,
 * so a job's apply may run more than once: it must begin by discarding what
 * an earlier run left in the job.
 */
#ifndef VALV_WRITER_H
#define VALV_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

typedef struct writer writer; /* opaque */
typedef struct writer_job writer_job;

struct writer_job {
    /* Runs on the writer thread inside txn. Returns VALV_OK or an error
     * code with err filled. VALV_ERUN_AGAIN (error.h) rolls txn back and
     * runs apply again in a new one (with the rest of its group): a job
     * returns it only when the next run gets further
     * (store_import_apply's contract). */
    int (*apply)(writer_job *job, store_txn *txn, valv_error *err);
    /* Runs on the writer thread after the group's commit is durable (rc ==
     * VALV_OK) or after the job failed (rc and err). Must not block; the job
     * is the caller's again once it is called. */
    void (*done)(writer_job *job, int rc, const valv_error *err);

    /* Private to writer.c. */
    writer_job *next;
    int rc;
    valv_error err;
};

/* Upper bounds of the buckets that writer_stats.groups counts commits in,
 * by the number of jobs in each (a histogram for the metrics endpoint). */
#define WRITER_GROUP_BUCKETS 9
extern const uint64_t writer_group_bounds[WRITER_GROUP_BUCKETS]; /* 1, 2, 4 ... 256 */

typedef struct {
    uint64_t commits; /* top-level transactions committed */
    uint64_t jobs;    /* jobs finished, successful or not */
    uint64_t max_group; /* most jobs in one commit */
    /* groups[i]: commits of more than writer_group_bounds[i - 1] and at most
     * writer_group_bounds[i] jobs; the last: more than every bound. */
    uint64_t groups[WRITER_GROUP_BUCKETS + 1];
} writer_stats;

/* Starts the writer thread on s (borrowed; must outlive the writer).
 * max_group bounds the jobs in one commit (0: 256). */
int writer_start(store *s, size_t max_group, writer **out, valv_error *err);

/* Queues job (borrowed until its done is called). Thread-safe, never blocks
 * on I/O. After writer_stop has begun, done is called at once with
 * VALV_EUNAVAILABLE. */
void writer_submit(writer *w, writer_job *job);

/* Runs every queued job, stops the thread and frees w. NULL is fine. */
void writer_stop(writer *w);

/* Sets a function the writer thread calls after every durable commit, with
 * the store's revision after it (before the jobs' done callbacks). It must
 * not block. Set it before the first writer_submit. */
typedef void (*writer_commit_fn)(void *arg, int64_t revision);
void writer_on_commit(writer *w, writer_commit_fn fn, void *arg);

/* Counters since start. */
void writer_get_stats(writer *w, writer_stats *out);

#endif
