/* metrics.h - Prometheus metrics of valvd.
 *
 * Two halves. The server records every call (metrics_call_started when it
 * arrives, metrics_call_ended when its status is sent) into relaxed atomic
 * counters held in fixed arrays indexed by method-table row, status code
 * and duration bucket: no lock, no allocation. A plain HTTP endpoint
 * (libmicrohttpd, its own thread) answers GET /metrics with those counters
 * and figures read from the writer and the store, in the Prometheus text
 * exposition format 0.0.4.
 *
 * Metrics are off unless valvd is given --metrics-listen: the server then
 * holds NULL, and the recording functions return at once on NULL.
 *
 * The endpoint is plain HTTP without authentication. It binds exactly the
 * address it is given (no wildcard default): name one that only the
 * scraper can reach.
 */
#ifndef VALV_METRICS_H
#define VALV_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "store.h"
#include "writer.h"

/* Rows of the method table that can be counted; a larger table is refused
 * by metrics_create. */
#define METRICS_METHODS_MAX 64
/* The inventory figures (valv_assets ...) cost a scan of every asset, so a
 * scrape recomputes them only when they are older than this. */
#define METRICS_SUMMARY_INTERVAL_S 15
/* Scrapers served at once, and how long an idle one may hold a connection. */
#define METRICS_CONNECTIONS_MAX 16
#define METRICS_CONNECTION_TIMEOUT_S 10
#define METRICS_PATH "/metrics"

typedef struct metrics metrics; /* opaque */

/* Creates the counters for the method table (methods.h); s and w are
 * borrowed and must outlive *out. start_time: when valvd started (seconds
 * since the epoch), the figure valv_start_time_seconds, the same start
 * AdminService.Info reports. Serves nothing until metrics_listen. The
 * caller owns *out (metrics_free). */
int metrics_create(store *s, writer *w, int64_t start_time, metrics **out, valv_error *err);

/* Starts serving GET /metrics on address ("HOST:PORT", "[V6]:PORT"; port 0
 * picks a free one) from a thread of its own. *bound_out receives
 * "HOST:PORT" with the port actually bound (capacity bound_cap). A
 * malformed address, or one that cannot be bound, is refused with a
 * message naming --metrics-listen. */
int metrics_listen(metrics *m, const char *address, char *bound_out, size_t bound_cap,
                   valv_error *err);

/* Stops serving (waiting for a scrape in progress) and frees m. NULL is
 * fine. */
void metrics_free(metrics *m);

/* A call arrived (the valv_calls_in_flight gauge). m may be NULL. */
void metrics_call_started(metrics *m);

/* A call that metrics_call_started counted sent its status: method_index
 * is its row of the method table, or method_count for a method valvd does
 * not have; code is the gRPC status code. m may be NULL. */
void metrics_call_ended(metrics *m, size_t method_index, int code, int64_t duration_us);

/* The exposition text a scrape gets, malloc'd into *text_out (the caller
 * frees it), its length in *len_out. */
int metrics_render(metrics *m, char **text_out, size_t *len_out, valv_error *err);

#endif
