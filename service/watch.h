/* watch.h - valv.v1.Inventory/WatchChanges: replay the audit events after a
 * revision, then follow live changes.
 *
 * A watcher never holds events in memory beyond the batch it is sending: it
 * reads them from the audit log (store_read_events) as fast as its client
 * takes them, so a watcher that falls behind costs nothing but its place in
 * the log. After every commit the writer tells the hub, which wakes each
 * idle watcher on its own worker thread; a watcher whose client has not
 * taken a message for stall_seconds is cut off with RESOURCE_EXHAUSTED and
 * may resume from the last revision it got.
 */
#ifndef VALV_WATCH_H
#define VALV_WATCH_H

#include <stdint.h>

#include "methods.h"
#include "store.h"

#define WATCH_MAX_WATCHERS 256         /* more: RESOURCE_EXHAUSTED */
#define WATCH_STALL_SECONDS_DEFAULT 30 /* a send stuck this long cuts the watcher off */
#define WATCH_BATCH 64                 /* events read from the log at a time */

typedef struct watch_hub watch_hub; /* opaque: the set of open watches */

/* Creates the hub for store s (borrowed); stall_seconds (> 0) is how long a
 * send may wait for its client before the watch is cut off. The caller
 * owns *out. */
int watch_hub_create(store *s, int stall_seconds, watch_hub **out, valv_error *err);

/* Frees the hub; every watch must have ended (server_stop ends them). */
void watch_hub_destroy(watch_hub *hub);

/* A writer_commit_fn (writer.h): arg is the hub. */
void watch_hub_committed(void *arg, int64_t revision);

/* The method table's handler. */
void watch_changes(call *c, const ProtobufCMessage *request);

#endif
