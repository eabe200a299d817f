/* h2calls.h - a closed loop of unary gRPC calls over plain HTTP/2, made
 * with nghttp2 the way h2load makes them, but with a request body of the
 * caller's choosing for every call.
 *
 * h2load sends one body over and over; a benchmark of writes needs a new
 * one each time (an UpdateAsset that changes nothing is a no-op). The gRPC
 * core client could send them, but it costs about three times h2load's CPU
 * per call, CPU that the server under test then lacks when both share a
 * small machine. So this does what h2load does: one thread, nonblocking
 * sockets, epoll, and everything a pass of the loop has to send on a
 * connection written with one send().
 *
 * Plaintext only (valvd --dev), no metadata besides what gRPC requires.
 */
#ifndef VALV_BENCH_H2CALLS_H
#define VALV_BENCH_H2CALLS_H

#include <stddef.h>
#include <stdint.h>

/* The largest serialised request a caller may hand over. */
#define H2CALLS_REQUEST_MAX 1024

/* Writes caller's next request, serialised, into buf (H2CALLS_REQUEST_MAX
 * bytes) and returns its length. */
typedef size_t (*h2calls_request_fn)(void *arg, int caller, uint8_t *buf);

/* caller's call ended: grpc_status is the status the server sent (-1 when
 * the stream ended without one), message its grpc-message (may be empty),
 * reply_bytes what the reply's DATA frames held. */
typedef void (*h2calls_done_fn)(void *arg, int caller, int grpc_status, const char *message,
                                size_t reply_bytes);

typedef struct {
    const char *addr;   /* "127.0.0.1:PORT" */
    const char *method; /* "/package.Service/Method" */
    int callers;        /* calls in flight at all times (1..H2CALLS_CALLERS_MAX) */
    int connections;    /* caller i's calls go on connection i % connections */
    double seconds;     /* how long callers start new calls */
    h2calls_request_fn request;
    h2calls_done_fn done;
    void *arg; /* passed to request and done */
} h2calls_load;

#define H2CALLS_CALLERS_MAX 1024
#define H2CALLS_CONNECTIONS_MAX 64

/* Runs load: connects, keeps one call per caller in flight until
 * load->seconds have passed, then waits for the calls in flight to end.
 * Returns 0, or -1 with why (a message) filled in when a connection
 * failed or a call stayed unanswered for 30 s. */
int h2calls_run(const h2calls_load *load, char *why, size_t why_len);

#endif
