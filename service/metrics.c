/* metrics.c - counters bumped on every call, rendered for Prometheus. */
#include "metrics.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "methods.h"

#define METRICS_CODES 17       /* gRPC status codes: 0 (OK) to 16 (UNAUTHENTICATED) */
#define CODE_UNKNOWN 2         /* gRPC UNKNOWN: where a code out of range is counted */
#define LISTEN_BACKLOG 16
#define HOST_MAX 256
#define LABELS_MAX 256
#define SERIES_MAX 64
#define UNKNOWN_METHOD_LABEL "(unknown)" /* as the request log names it */
#define EXPOSITION_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define TEXT_TYPE "text/plain; charset=utf-8"
#define STRINGIFY(x) #x
#define STRING_OF(x) STRINGIFY(x)

/* Upper bounds of the call duration buckets, in microseconds: 100 µs to 10 s. */
static const uint64_t duration_bounds_us[] = {
    100,    250,    500,     1000,    2500,    5000,    10000,   25000,
    50000,  100000, 250000,  500000,  1000000, 2500000, 5000000, 10000000,
};
#define DURATION_BUCKETS (sizeof duration_bounds_us / sizeof duration_bounds_us[0])

/* One method's counters. Buckets are not cumulative (one add per call); a
 * scrape adds them up. */
typedef struct {
    _Atomic uint64_t codes[METRICS_CODES];
    _Atomic uint64_t buckets[DURATION_BUCKETS + 1]; /* the last: slower than every bound */
    _Atomic uint64_t duration_us;                   /* sum over calls */
} method_counters;

struct metrics {
    store *store;
    writer *writer;
    int64_t start_time; /* seconds since the epoch */

    /* Row i counts method_table[i]; row method_count, calls to methods
     * valvd does not have. */
    method_counters methods[METRICS_METHODS_MAX + 1];
    _Atomic int64_t in_flight;

    pthread_mutex_t summary_lock; /* one scrape at a time recomputes */
    Valv__V1__Summary *summary;   /* NULL until the first scrape */
    int64_t summary_taken;        /* CLOCK_MONOTONIC seconds */

    struct MHD_Daemon *daemon; /* NULL until metrics_listen */
};

/* --- Recording (the hot path) ----------------------------------------------- */

void metrics_call_started(metrics *m)
{
    if (m == NULL)
        return;
    atomic_fetch_add_explicit(&m->in_flight, 1, memory_order_relaxed);
}

void metrics_call_ended(metrics *m, size_t method_index, int code, int64_t duration_us)
{
    if (m == NULL)
        return;
    method_counters *mc = &m->methods[method_index < method_count ? method_index : method_count];
    if (code < 0 || code >= METRICS_CODES)
        code = CODE_UNKNOWN;
    uint64_t us = duration_us > 0 ? (uint64_t)duration_us : 0;
    size_t bucket = 0;
    while (bucket < DURATION_BUCKETS && us > duration_bounds_us[bucket])
        bucket++;
    atomic_fetch_add_explicit(&mc->codes[code], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&mc->buckets[bucket], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&mc->duration_us, us, memory_order_relaxed);
    atomic_fetch_sub_explicit(&m->in_flight, 1, memory_order_relaxed);
}

/* --- Rendering ------------------------------------------------------------------ */

static void put_header(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample: NAME{LABELS} VALUE, without braces when labels is "". Label
 * values are ours (method paths, enum names, the version): nothing in them
 * needs escaping. */
static void put_sample(FILE *f, const char *name, const char *labels, double value)
{
    if (labels[0] != '\0')
        fprintf(f, "%s{%s} %.15g\n", name, labels, value);
    else
        fprintf(f, "%s %.15g\n", name, value);
}

/* The samples of one histogram: buckets[0..n_bounds] counts observations
 * of at most bounds[i] (not cumulative; the last, above every bound). le
 * and the sum are printed divided by unit (1e6: microseconds as seconds). */
static void put_histogram(FILE *f, const char *name, const char *labels, const uint64_t *bounds,
                          size_t n_bounds, double unit, const uint64_t *buckets, uint64_t sum)
{
    char series[SERIES_MAX], with_le[LABELS_MAX], le[32];
    uint64_t count = 0;
    snprintf(series, sizeof series, "%s_bucket", name);
    for (size_t i = 0; i <= n_bounds; i++) {
        count += buckets[i];
        if (i < n_bounds)
            snprintf(le, sizeof le, "%.15g", (double)bounds[i] / unit);
        else
            snprintf(le, sizeof le, "+Inf");
        snprintf(with_le, sizeof with_le, "%s%sle=\"%s\"", labels, labels[0] != '\0' ? "," : "", le);
        put_sample(f, series, with_le, (double)count);
    }
    snprintf(series, sizeof series, "%s_sum", name);
    put_sample(f, series, labels, (double)sum / unit);
    snprintf(series, sizeof series, "%s_count", name);
    put_sample(f, series, labels, (double)count);
}

static const char *method_label(size_t row)
{
    return row < method_count ? method_table[row].path : UNKNOWN_METHOD_LABEL;
}

/* Calls by method and code, their durations, and those in flight. Only
 * series that have counted something are shown, as client libraries do. */
static void put_calls(FILE *f, metrics *m)
{
    char labels[LABELS_MAX];
    put_header(f, "valv_requests_total", "counter", "gRPC calls finished, by method and status code.");
    for (size_t row = 0; row <= method_count; row++) {
        for (int code = 0; code < METRICS_CODES; code++) {
            uint64_t n = atomic_load_explicit(&m->methods[row].codes[code], memory_order_relaxed);
            if (n == 0)
                continue;
            snprintf(labels, sizeof labels, "method=\"%s\",code=\"%s\"", method_label(row),
                     valv_code_name(code));
            put_sample(f, "valv_requests_total", labels, (double)n);
        }
    }

    put_header(f, "valv_request_duration_seconds", "histogram",
               "Time from a call's arrival to its status, by method.");
    for (size_t row = 0; row <= method_count; row++) {
        method_counters *mc = &m->methods[row];
        uint64_t buckets[DURATION_BUCKETS + 1], count = 0;
        for (size_t i = 0; i <= DURATION_BUCKETS; i++) {
            buckets[i] = atomic_load_explicit(&mc->buckets[i], memory_order_relaxed);
            count += buckets[i];
        }
        if (count == 0)
            continue;
        snprintf(labels, sizeof labels, "method=\"%s\"", method_label(row));
        put_histogram(f, "valv_request_duration_seconds", labels, duration_bounds_us, DURATION_BUCKETS,
                      1e6, buckets, atomic_load_explicit(&mc->duration_us, memory_order_relaxed));
    }

    put_header(f, "valv_calls_in_flight", "gauge",
               "Calls arrived and not yet answered, open streams included.");
    int64_t in_flight = atomic_load_explicit(&m->in_flight, memory_order_relaxed);
    put_sample(f, "valv_calls_in_flight", "", (double)in_flight);
}

static void put_writer(FILE *f, writer *w)
{
    writer_stats ws;
    writer_get_stats(w, &ws);
    put_header(f, "valv_writer_commits_total", "counter",
               "Group commits of the writer (one fsync each).");
    put_sample(f, "valv_writer_commits_total", "", (double)ws.commits);
    put_header(f, "valv_writer_writes_total", "counter", "Writes the writer ran, successful or not.");
    put_sample(f, "valv_writer_writes_total", "", (double)ws.jobs);
    put_header(f, "valv_writes_per_commit", "histogram", "Writes gathered into one group commit.");
    put_histogram(f, "valv_writes_per_commit", "", writer_group_bounds, WRITER_GROUP_BUCKETS, 1,
                  ws.groups, ws.jobs);
}

static void put_store(FILE *f, const store_stats *st)
{
    put_header(f, "valv_database_bytes", "gauge", "Bytes of database pages in use.");
    put_sample(f, "valv_database_bytes", "", (double)st->database_bytes);
    put_header(f, "valv_map_bytes", "gauge", "The current size of the LMDB map.");
    put_sample(f, "valv_map_bytes", "", (double)st->map_bytes);
    put_header(f, "valv_map_bytes_max", "gauge", "The largest the map may grow (--max-db-size).");
    put_sample(f, "valv_map_bytes_max", "", (double)st->map_bytes_max);
    put_header(f, "valv_revision", "gauge", "The store's global revision: every write advances it.");
    put_sample(f, "valv_revision", "", (double)st->revision);
}

/* The inventory figures of the last summary (total may be NULL: no units). */
static void put_inventory(FILE *f, const Valv__V1__UnitSummary *total)
{
    static const Valv__V1__UnitSummary none = VALV__V1__UNIT_SUMMARY__INIT;
    if (total == NULL)
        total = &none;
    char labels[LABELS_MAX];
    put_header(f, "valv_assets", "gauge", "Live assets by kind (recounted at most every "
               STRING_OF(METRICS_SUMMARY_INTERVAL_S) " s, when scraped).");
    const ProtobufCEnumDescriptor *kinds = &valv__v1__asset_kind__descriptor;
    for (unsigned i = 0; i < kinds->n_values; i++) {
        int kind = kinds->values[i].value;
        if (kind == VALV__V1__ASSET_KIND__ASSET_KIND_UNSPECIFIED)
            continue;
        snprintf(labels, sizeof labels, "kind=\"%s\"", kinds->values[i].name);
        int64_t n = (size_t)kind < total->n_by_kind ? total->by_kind[kind] : 0;
        put_sample(f, "valv_assets", labels, (double)n);
    }
    put_header(f, "valv_assets_flagged", "gauge", "Live assets flagged for security protection.");
    put_sample(f, "valv_assets_flagged", "", (double)total->flagged);
    put_header(f, "valv_reviews", "gauge", "Live assets by review state (approved includes overdue).");
    put_sample(f, "valv_reviews", "state=\"pending\"", (double)total->pending);
    put_sample(f, "valv_reviews", "state=\"returned\"", (double)total->returned);
    put_sample(f, "valv_reviews", "state=\"approved\"", (double)total->approved);
    put_header(f, "valv_reviews_overdue", "gauge", "Approved assets past their review's due time.");
    put_sample(f, "valv_reviews_overdue", "", (double)total->overdue);
}

static int64_t monotonic_seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec;
}

/* Recounts the inventory when the last count is missing or stale. Called
 * with summary_lock held. */
static int refresh_summary(metrics *m, valv_error *err)
{
    int64_t now = monotonic_seconds();
    if (m->summary != NULL && now - m->summary_taken < METRICS_SUMMARY_INTERVAL_S)
        return VALV_OK;
    Valv__V1__Summary *fresh = NULL;
    int rc = store_summarize(m->store, NULL, NULL, 0, &fresh, err);
    if (rc != VALV_OK)
        return rc;
    if (m->summary != NULL)
        valv__v1__summary__free_unpacked(m->summary, NULL);
    m->summary = fresh;
    m->summary_taken = now;
    return VALV_OK;
}

int metrics_render(metrics *m, char **text_out, size_t *len_out, valv_error *err)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = NULL;
    store_stats st;
    int rc = store_get_stats(m->store, &st, err);
    if (rc != VALV_OK)
        return rc;

    pthread_mutex_lock(&m->summary_lock);
    rc = refresh_summary(m, err);
    if (rc != VALV_OK)
        goto done;
    f = open_memstream(&text, &len);
    if (f == NULL) {
        rc = valv_error_set(err, VALV_EINTERNAL, "out of memory");
        goto done;
    }
    put_header(f, "valv_build_info", "gauge", "The version of valvd; always 1.");
    fprintf(f, "valv_build_info{version=\"%s\"} 1\n", VALV_VERSION);
    put_header(f, "valv_start_time_seconds", "gauge",
               "When valvd started, in seconds since the Unix epoch.");
    put_sample(f, "valv_start_time_seconds", "", (double)m->start_time);
    put_calls(f, m);
    put_writer(f, m->writer);
    put_store(f, &st);
    put_inventory(f, m->summary->total);
    if (fclose(f) != 0) {
        rc = valv_error_set(err, VALV_EINTERNAL, "out of memory");
        goto done;
    }
    *text_out = text;
    *len_out = len;
    text = NULL;

done:
    pthread_mutex_unlock(&m->summary_lock);
    free(text);
    return rc;
}

/* --- The HTTP endpoint ---------------------------------------------------------- */

/* Queues body (len bytes; mode says whether MHD frees it) with status. */
static enum MHD_Result answer(struct MHD_Connection *conn, unsigned int status, const char *type,
                              char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    if (r == NULL) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result queued = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return queued;
}

static enum MHD_Result answer_text(struct MHD_Connection *conn, unsigned int status, const char *text)
{
    return answer(conn, status, TEXT_TYPE, (char *)text, strlen(text), MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    (void)version, (void)upload_data, (void)upload_data_size, (void)req_cls;
    metrics *m = cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return answer_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD are served here\n");
    if (strcmp(url, METRICS_PATH) != 0)
        return answer_text(conn, MHD_HTTP_NOT_FOUND, "not found: the metrics are at " METRICS_PATH "\n");

    char *text;
    size_t len;
    valv_error err;
    valv_error_clear(&err);
    if (metrics_render(m, &text, &len, &err) != VALV_OK) {
        log_event(LOG_ERROR, "metrics_failed", LOG_STR("error", err.message), LOG_END);
        return answer_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
                           "the metrics could not be read; valvd's log says why\n");
    }
    return answer(conn, MHD_HTTP_OK, EXPOSITION_TYPE, text, len, MHD_RESPMEM_MUST_FREE);
}

/* Splits "HOST:PORT" or "[V6]:PORT" (the port numeric, 0 to 65535) and
 * resolves it. *host_len_out: the length of the host part as written. */
static int resolve(const char *address, struct addrinfo **out, size_t *host_len_out, valv_error *err)
{
    const char *colon = strrchr(address, ':');
    const char *port = colon != NULL ? colon + 1 : "";
    size_t host_len = colon != NULL ? (size_t)(colon - address) : 0;
    size_t digits = strspn(port, "0123456789");
    if (host_len == 0 || host_len >= HOST_MAX || digits == 0 || digits > 5 || port[digits] != '\0' ||
        strtol(port, NULL, 10) > 65535)
        return valv_error_set(err, VALV_EINVAL,
                              "--metrics-listen takes ADDR:PORT, for example 127.0.0.1:9464 (port 0 "
                              "picks a free one), not '%s'", address);
    char host[HOST_MAX];
    if (address[0] == '[' && colon[-1] == ']')
        snprintf(host, sizeof host, "%.*s", (int)host_len - 2, address + 1);
    else
        snprintf(host, sizeof host, "%.*s", (int)host_len, address);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    int gai = getaddrinfo(host, port, &hints, out);
    if (gai != 0)
        return valv_error_set(err, VALV_EINVAL, "--metrics-listen: cannot resolve '%s': %s", host,
                              gai_strerror(gai));
    *host_len_out = host_len;
    return VALV_OK;
}

/* The port a bound socket got. */
static int bound_port(int fd)
{
    struct sockaddr_storage addr;
    socklen_t addr_len = sizeof addr;
    if (getsockname(fd, (struct sockaddr *)&addr, &addr_len) != 0)
        return 0;
    if (addr.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
    return ntohs(((struct sockaddr_in *)&addr)->sin_port);
}

int metrics_listen(metrics *m, const char *address, char *bound_out, size_t bound_cap,
                   valv_error *err)
{
    struct addrinfo *ai = NULL;
    size_t host_len = 0;
    int fd = -1;
    int rc = resolve(address, &ai, &host_len, err);
    if (rc != VALV_OK)
        goto done;
    /* Our own socket, not MHD's: bind's errno makes the message. */
    int one = 1;
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
        rc = valv_error_set(err, VALV_EUNAVAILABLE, "--metrics-listen: cannot listen on %s: %s", address,
                            strerror(errno));
        goto done;
    }
    int port = bound_port(fd);
    m->daemon = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, 0, NULL, NULL, on_request, m,
                                 MHD_OPTION_LISTEN_SOCKET, fd,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned int)METRICS_CONNECTIONS_MAX,
                                 MHD_OPTION_CONNECTION_TIMEOUT,
                                 (unsigned int)METRICS_CONNECTION_TIMEOUT_S,
                                 MHD_OPTION_END);
    fd = -1; /* MHD closes it, whether it started or not */
    if (m->daemon == NULL) {
        rc = valv_error_set(err, VALV_EUNAVAILABLE,
                            "--metrics-listen: cannot start the HTTP server on %s", address);
        goto done;
    }
    snprintf(bound_out, bound_cap, "%.*s:%d", (int)host_len, address, port);
    log_event(LOG_INFO, "metrics_listening", LOG_STR("listen", bound_out), LOG_STR("path", METRICS_PATH),
              LOG_STR("protocol", "http"), LOG_STR("authentication", "none"), LOG_END);

done:
    if (fd >= 0)
        close(fd);
    if (ai != NULL)
        freeaddrinfo(ai);
    return rc;
}

/* --- Life ------------------------------------------------------------------------ */

int metrics_create(store *s, writer *w, int64_t start_time, metrics **out, valv_error *err)
{
    if (method_count > METRICS_METHODS_MAX)
        return valv_error_set(err, VALV_EINTERNAL,
                              "the method table has %zu rows; metrics count at most %d", method_count,
                              METRICS_METHODS_MAX);
    metrics *m = calloc(1, sizeof *m);
    if (m == NULL)
        return valv_error_set(err, VALV_EINTERNAL, "out of memory");
    m->store = s;
    m->writer = w;
    m->start_time = start_time;
    pthread_mutex_init(&m->summary_lock, NULL);
    *out = m;
    return VALV_OK;
}

void metrics_free(metrics *m)
{
    if (m == NULL)
        return;
    if (m->daemon != NULL)
        MHD_stop_daemon(m->daemon);
    if (m->summary != NULL)
        valv__v1__summary__free_unpacked(m->summary, NULL);
    pthread_mutex_destroy(&m->summary_lock);
    free(m);
}
