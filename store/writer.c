/* writer.c - one thread, one queue, one commit for every group of jobs. */
#include "writer.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#define WRITER_MAX_GROUP_DEFAULT 256

const uint64_t writer_group_bounds[WRITER_GROUP_BUCKETS] = {1, 2, 4, 8, 16, 32, 64, 128, 256};

struct writer {
    store *store;
    size_t max_group;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    writer_job *head, *tail; /* queued jobs, oldest first */
    bool stopping;
    writer_stats stats;
    writer_commit_fn on_commit;
    void *commit_arg;
};

/* Takes up to max_group jobs off the queue, waiting while it is empty.
 * Returns NULL once stopping and the queue is drained. */
static writer_job *take_group(writer *w, size_t *n_out)
{
    pthread_mutex_lock(&w->lock);
    while (w->head == NULL && !w->stopping)
        pthread_cond_wait(&w->wake, &w->lock);
    writer_job *group = w->head, *last = NULL;
    size_t n = 0;
    for (writer_job *j = w->head; j != NULL && n < w->max_group; j = j->next) {
        last = j;
        n++;
    }
    if (last != NULL) {
        w->head = last->next;
        if (w->head == NULL)
            w->tail = NULL;
        last->next = NULL;
    }
    pthread_mutex_unlock(&w->lock);
    *n_out = n;
    return group;
}

/* What run_group tells the writer thread to do next. */
enum group_outcome { GROUP_DONE, GROUP_RUN_AGAIN };

/* How run_group runs the jobs of a group. */
enum group_mode {
    /* Every job straight in the top-level transaction: a nested one per
     * job costs LMDB a copy of each page the job touches that the group
     * has written, and a look in two dirty lists for every page. A job
     * that fails before it writes anything (most do: a bad request, an
     * etag, a refusal) leaves nothing to take out. */
    GROUP_STRAIGHT,
    /* Every job in a transaction of its own nested in the top-level one,
     * so that a job that fails is rolled back alone: after a job failed
     * half-written in GROUP_STRAIGHT. */
    GROUP_NESTED,
};

/* Runs j in a transaction of its own nested in top, and again in a new
 * one for as long as it answers VALV_ERUN_AGAIN. Sets j->rc. */
static void job_run_nested(writer *w, writer_job *j, store_txn *top)
{
    do {
        store_txn *own = NULL;
        j->rc = store_txn_begin(w->store, top, &own, &j->err);
        if (j->rc != VALV_OK)
            return;
        j->rc = j->apply(j, own, &j->err);
        if (j->rc == VALV_OK)
            j->rc = store_txn_commit(own, &j->err);
        else
            store_txn_abort(own);
    } while (j->rc == VALV_ERUN_AGAIN);
}

/* Runs every job of the group inside one top-level transaction, as mode
 * says, and commits it. A job that fails is left out alone. In
 * GROUP_STRAIGHT, one that spoilt the transaction (it wrote part of itself,
 * or LMDB failed) makes the group run again (GROUP_RUN_AGAIN) nested
 * (*mode), unless it is alone: then the transaction is simply dropped. A
 * job that answers VALV_ERUN_AGAIN makes the group run again too. When the map
 * fills up, the top-level transaction is dropped and the map grown:
 * GROUP_RUN_AGAIN too. Once the map is at its maximum (map_at_max), a job
 * that does not fit fails alone with VALV_EFULL. A full disk is VALV_EFULL
 * too, but no bigger map helps it: the group fails at once. If the
 * top-level transaction cannot begin or commit, every job that had
 * succeeded gets that error. */
static enum group_outcome run_group(writer *w, writer_job *group, enum group_mode *mode,
                                    bool *map_at_max)
{
    valv_error top_err;
    valv_error_clear(&top_err);
    store_txn *top = NULL;
    int top_rc = store_txn_begin(w->store, NULL, &top, &top_err);
    for (writer_job *j = group; j != NULL; j = j->next) {
        valv_error_clear(&j->err);
        if (top_rc != VALV_OK) {
            j->rc = top_rc;
            j->err = top_err;
            continue;
        }
        if (*mode == GROUP_NESTED) {
            job_run_nested(w, j, top);
        } else {
            uint64_t writes_before = store_txn_writes(top);
            j->rc = j->apply(j, top, &j->err);
            /* A failure that wrote nothing leaves top as it was, unless
             * LMDB itself failed (a full map, a storage error), after which
             * it allows only an abort. */
            bool spoilt = j->rc != VALV_OK &&
                          (store_txn_writes(top) != writes_before || j->rc == VALV_EFULL ||
                           j->rc == VALV_EINTERNAL || j->rc == VALV_ERUN_AGAIN);
            if (spoilt) {
                store_txn_abort(top);
                top = NULL;
                bool grows = j->rc == VALV_EFULL && !*map_at_max && store_map_full(w->store);
                bool alone = group->next == NULL;
                if (!alone && !grows)
                    *mode = GROUP_NESTED;
                if (!grows && (!alone || j->rc == VALV_ERUN_AGAIN))
                    return GROUP_RUN_AGAIN;
            }
        }
        if (j->rc == VALV_EFULL && !*map_at_max && store_map_full(w->store)) {
            store_txn_abort(top);
            if (store_grow(w->store, &top_err) != VALV_OK)
                *map_at_max = true;
            return GROUP_RUN_AGAIN;
        }
    }
    if (top_rc != VALV_OK || top == NULL)
        return GROUP_DONE;
    top_rc = store_txn_commit(top, &top_err);
    if (top_rc == VALV_EFULL && !*map_at_max && store_map_full(w->store)) {
        if (store_grow(w->store, &top_err) != VALV_OK)
            *map_at_max = true;
        return GROUP_RUN_AGAIN;
    }
    if (top_rc != VALV_OK) {
        for (writer_job *j = group; j != NULL; j = j->next) {
            if (j->rc == VALV_OK) {
                j->rc = top_rc;
                j->err = top_err;
            }
        }
    }
    return GROUP_DONE;
}

static void *writer_main(void *arg)
{
    writer *w = arg;
    size_t n;
    writer_job *group;
    while ((group = take_group(w, &n)) != NULL) {
        enum group_mode mode = GROUP_STRAIGHT;
        bool map_at_max = false;
        while (run_group(w, group, &mode, &map_at_max) == GROUP_RUN_AGAIN)
            ;
        pthread_mutex_lock(&w->lock);
        w->stats.commits++;
        w->stats.jobs += n;
        if (n > w->stats.max_group)
            w->stats.max_group = n;
        size_t bucket = 0;
        while (bucket < WRITER_GROUP_BUCKETS && n > writer_group_bounds[bucket])
            bucket++;
        w->stats.groups[bucket]++;
        pthread_mutex_unlock(&w->lock);
        if (w->on_commit != NULL)
            w->on_commit(w->commit_arg, store_revision(w->store));
        /* done may free its job: read next first. */
        for (writer_job *j = group, *next; j != NULL; j = next) {
            next = j->next;
            j->done(j, j->rc, &j->err);
        }
        /* Between transactions, once the group is answered: growing the
         * map now spares a later group running out of it and running again. */
        store_grow_ahead(w->store);
    }
    return NULL;
}

int writer_start(store *s, size_t max_group, writer **out, valv_error *err)
{
    writer *w = calloc(1, sizeof *w);
    if (w == NULL)
        return valv_error_set(err, VALV_EINTERNAL, "out of memory");
    w->store = s;
    w->max_group = max_group > 0 ? max_group : WRITER_MAX_GROUP_DEFAULT;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return valv_error_set(err, VALV_EINTERNAL, "cannot start the writer thread");
    }
    *out = w;
    return VALV_OK;
}

void writer_submit(writer *w, writer_job *job)
{
    job->next = NULL;
    pthread_mutex_lock(&w->lock);
    if (w->stopping) {
        pthread_mutex_unlock(&w->lock);
        valv_error err;
        valv_error_clear(&err);
        valv_error_set(&err, VALV_EUNAVAILABLE, "valvd is shutting down; retry on another server or later");
        job->done(job, err.code, &err);
        return;
    }
    if (w->tail != NULL)
        w->tail->next = job;
    else
        w->head = job;
    w->tail = job;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
}

void writer_stop(writer *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

void writer_on_commit(writer *w, writer_commit_fn fn, void *arg)
{
    w->on_commit = fn;
    w->commit_arg = arg;
}

void writer_get_stats(writer *w, writer_stats *out)
{
    pthread_mutex_lock(&w->lock);
    *out = w->stats;
    pthread_mutex_unlock(&w->lock);
}
