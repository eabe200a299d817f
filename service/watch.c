/* watch.c - WatchChanges: one watcher per call, woken by commits.
 *
 * A watcher's pump (read a batch, send its events one at a time) runs only
 * on its call's worker thread: from the handler, from a send's completion,
 * and from a kick. The commit hook (writer thread) and the close hook (any
 * thread) only kick or flag it, under the watcher's lock.
 */
#include "watch.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "filter.h"
#include "policy.h"
#include "valv/v1/audit.pb-c.h"

typedef struct watcher watcher;

struct watch_hub {
    store *store;
    int stall_seconds;
    pthread_mutex_t lock;
    watcher *head;
    int count;
};

struct watcher {
    watch_hub *hub;
    call *call;
    filter *filter;
    int64_t after; /* the last revision sent (or skipped) */

    pthread_mutex_t lock; /* guards the flags below */
    bool sending;         /* a message is in flight */
    bool closing;         /* the client left or the server drains */
    valv_error close_err;
    struct timespec send_start;

    Valv__V1__AuditEvent **batch; /* events read, being sent */
    size_t n_batch, next;
    watcher *prev, *next_watcher;
};

int watch_hub_create(store *s, int stall_seconds, watch_hub **out, valv_error *err)
{
    watch_hub *hub = calloc(1, sizeof *hub);
    if (hub == NULL)
        return valv_error_set(err, VALV_EINTERNAL, "out of memory");
    hub->store = s;
    hub->stall_seconds = stall_seconds;
    pthread_mutex_init(&hub->lock, NULL);
    *out = hub;
    return VALV_OK;
}

void watch_hub_destroy(watch_hub *hub)
{
    if (hub == NULL)
        return;
    pthread_mutex_destroy(&hub->lock);
    free(hub);
}

static void batch_free(watcher *w)
{
    for (size_t i = 0; i < w->n_batch; i++)
        valv__v1__audit_event__free_unpacked(w->batch[i], NULL);
    free(w->batch);
    w->batch = NULL;
    w->n_batch = w->next = 0;
}

/* Frees the watcher once its call is gone (call_on_free): no callback can
 * reach it any more. */
static void watcher_free(void *arg)
{
    watcher *w = arg;
    batch_free(w);
    filter_free(w->filter);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

/* Leaves the hub and ends the call; the memory goes with the call. */
static void watcher_end(watcher *w, const valv_error *err)
{
    watch_hub *hub = w->hub;
    pthread_mutex_lock(&hub->lock);
    if (w->prev != NULL)
        w->prev->next_watcher = w->next_watcher;
    else
        hub->head = w->next_watcher;
    if (w->next_watcher != NULL)
        w->next_watcher->prev = w->prev;
    hub->count--;
    pthread_mutex_unlock(&hub->lock);
    call_fail(w->call, err);
}

/* True when the watcher may see the asset an event names (by its name). */
static bool asset_matches(watcher *w, const char *name, bool apply_filter)
{
    const char *id = name + sizeof "assets/" - 1;
    Valv__V1__Asset *asset = NULL;
    valv_error err;
    valv_error_clear(&err);
    if (store_get_asset(w->hub->store, id, &asset, &err) != VALV_OK)
        return false;
    bool match = policy_visible(w->call, asset) &&
                 (!apply_filter || filter_match(w->filter, asset, (long long)time(NULL)));
    valv__v1__asset__free_unpacked(asset, NULL);
    return match;
}

/* True when the event is for this watcher: its asset (and the other end of
 * a link) visible to the watcher's principal, and the asset matching the
 * filter. */
static bool event_matches(watcher *w, const Valv__V1__AuditEvent *ev)
{
    if (!asset_matches(w, ev->asset, w->filter != NULL))
        return false;
    return ev->related_asset[0] == '\0' || asset_matches(w, ev->related_asset, false);
}

static void pump(watcher *w);

static void on_sent(call *c, bool ok, void *arg)
{
    (void)c;
    watcher *w = arg;
    pthread_mutex_lock(&w->lock);
    w->sending = false;
    bool closing = w->closing || !ok;
    if (!ok && !w->closing)
        valv_error_set(&w->close_err, VALV_ECANCELLED, "the client went away");
    pthread_mutex_unlock(&w->lock);
    if (closing) {
        watcher_end(w, &w->close_err);
        return;
    }
    pump(w);
}

/* Sends the next matching event of the batch, reading a new batch when it
 * is used up; returns with nothing in flight when the log has no more. */
static void pump(watcher *w)
{
    valv_error err;
    valv_error_clear(&err);
    for (;;) {
        pthread_mutex_lock(&w->lock);
        bool closing = w->closing;
        pthread_mutex_unlock(&w->lock);
        if (closing) {
            watcher_end(w, &w->close_err);
            return;
        }
        if (w->next == w->n_batch) {
            batch_free(w);
            if (store_read_events(w->hub->store, w->after, WATCH_BATCH, &w->batch, &w->n_batch, &err) != VALV_OK) {
                watcher_end(w, &err);
                return;
            }
            if (w->n_batch == 0)
                return; /* caught up: the next commit kicks us */
        }
        Valv__V1__AuditEvent *ev = w->batch[w->next++];
        w->after = ev->revision;
        if (!event_matches(w, ev))
            continue;

        Valv__V1__WatchChangesResponse resp;
        valv__v1__watch_changes_response__init(&resp);
        resp.event = ev;
        pthread_mutex_lock(&w->lock);
        w->sending = true;
        clock_gettime(CLOCK_MONOTONIC, &w->send_start);
        pthread_mutex_unlock(&w->lock);
        call_send(w->call, &resp.base, on_sent, w);
        return;
    }
}

static void on_kick(call *c, void *arg)
{
    (void)c;
    watcher *w = arg;
    pthread_mutex_lock(&w->lock);
    bool busy = w->sending;
    pthread_mutex_unlock(&w->lock);
    if (!busy)
        pump(w);
}

static void on_close(call *c, void *arg)
{
    watcher *w = arg;
    pthread_mutex_lock(&w->lock);
    w->closing = true;
    if (call_should_stop(c))
        valv_error_set(&w->close_err, VALV_ECANCELLED, "the client ended the watch");
    else
        valv_error_set(&w->close_err, VALV_EUNAVAILABLE,
                       "valvd is shutting down; resume from the last revision you received");
    bool idle = !w->sending;
    pthread_mutex_unlock(&w->lock);
    /* With a send in flight, its completion ends the watch; otherwise the
     * worker thread does, through a kick. */
    if (idle)
        call_kick(c, on_kick, w);
}

void watch_hub_committed(void *arg, int64_t revision)
{
    (void)revision;
    watch_hub *hub = arg;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    pthread_mutex_lock(&hub->lock);
    for (watcher *w = hub->head; w != NULL; w = w->next_watcher) {
        pthread_mutex_lock(&w->lock);
        bool stuck = w->sending && now.tv_sec - w->send_start.tv_sec >= hub->stall_seconds;
        bool idle = !w->sending;
        pthread_mutex_unlock(&w->lock);
        if (stuck) {
            valv_error err;
            valv_error_clear(&err);
            valv_error_set(&err, VALV_EFULL,
                           "the watch fell behind: no message taken for %d seconds; "
                           "resume from the last revision you received",
                           hub->stall_seconds);
            call_cancel(w->call, &err);
        } else if (idle) {
            call_kick(w->call, on_kick, w);
        }
    }
    pthread_mutex_unlock(&hub->lock);
}

void watch_changes(call *c, const ProtobufCMessage *request)
{
    const Valv__V1__WatchChangesRequest *req = (const void *)request;
    watch_hub *hub = call_watch_hub(c);
    valv_error err;
    valv_error_clear(&err);
    filter *f = NULL;
    int64_t now_revision = store_revision(hub->store);

    if (req->start_revision < 0)
        valv_error_violation(&err, "start_revision", "must be 0 (from now) or a revision to resume after");
    else if (req->start_revision > now_revision)
        valv_error_set(&err, VALV_ERANGE, "start_revision %lld is ahead of the store, which is at revision %lld",
                       (long long)req->start_revision, (long long)now_revision);
    if (err.code == VALV_OK)
        filter_parse(req->filter, &f, &err);
    if (err.code != VALV_OK) {
        call_fail(c, &err);
        return;
    }

    watcher *w = calloc(1, sizeof *w);
    if (w == NULL) {
        filter_free(f);
        valv_error_set(&err, VALV_EFULL, "valvd is out of memory; retry later");
        call_fail(c, &err);
        return;
    }
    w->hub = hub;
    w->call = c;
    w->filter = f;
    w->after = req->start_revision > 0 ? req->start_revision : now_revision;
    pthread_mutex_init(&w->lock, NULL);

    pthread_mutex_lock(&hub->lock);
    bool full = hub->count >= WATCH_MAX_WATCHERS;
    if (!full) {
        w->next_watcher = hub->head;
        if (hub->head != NULL)
            hub->head->prev = w;
        hub->head = w;
        hub->count++;
    }
    pthread_mutex_unlock(&hub->lock);
    if (full) {
        filter_free(f);
        pthread_mutex_destroy(&w->lock);
        free(w);
        valv_error_set(&err, VALV_EFULL, "valvd already serves %d watches; retry later", WATCH_MAX_WATCHERS);
        call_fail(c, &err);
        return;
    }
    call_on_free(c, watcher_free, w);
    call_on_close(c, on_close, w);
    pump(w);
}
