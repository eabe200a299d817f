/* h2calls.c - closed-loop unary gRPC calls over nghttp2 (see h2calls.h).
 *
 * A pass of the loop: every connection sends what nghttp2 has queued for
 * it (new streams' HEADERS and DATA, WINDOW_UPDATEs, PING and SETTINGS
 * acknowledgements) in one send(); then epoll waits for answers, and what
 * arrives is fed to nghttp2, whose callbacks note each reply's status and
 * size and, when a stream closes, report the call and start the caller's
 * next one on the same connection.
 */
#include "h2calls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#include "bench.h"

/* How long the loop waits for anything to arrive before giving up. */
#define ANSWER_TIMEOUT_MS 30000
#define RECV_CHUNK 16384
#define GRPC_PREFIX 5 /* a gRPC message's frame: compressed flag, 4-byte length */

typedef struct run run;
typedef struct conn conn;

/* One caller: its call in flight, from the request's bytes to what the
 * answer said. */
typedef struct {
    int index;
    conn *on;
    uint8_t body[GRPC_PREFIX + H2CALLS_REQUEST_MAX];
    size_t body_len, body_sent;
    int grpc_status; /* -1 until the trailers say */
    char message[128];
    size_t reply_bytes;
} caller;

/* One HTTP/2 connection and what is waiting to be written on it. */
struct conn {
    run *r;
    int fd;
    nghttp2_session *session;
    uint8_t *out; /* bytes nghttp2 produced that the socket has not taken */
    size_t out_len, out_cap;
    bool want_out; /* registered for EPOLLOUT */
};

struct run {
    const h2calls_load *load;
    conn conns[H2CALLS_CONNECTIONS_MAX];
    int n_conns;
    caller *callers;
    int in_flight;
    double end; /* bench_now_s() after which no call starts */
    int epoll_fd;
    char *why;
    size_t why_len;
    bool failed;
};

/* Records the first failure; returns -1. */
static int run_fail(run *r, const char *fmt, ...)
{
    if (!r->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->why, r->why_len, fmt, ap);
        va_end(ap);
        r->failed = true;
    }
    return -1;
}

/* --- One call ----------------------------------------------------------------- */

static ssize_t read_body(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
                         size_t length, uint32_t *data_flags, nghttp2_data_source *source,
                         void *user_data)
{
    (void)session, (void)stream_id, (void)user_data;
    caller *c = source->ptr;
    size_t n = c->body_len - c->body_sent;
    if (n > length)
        n = length;
    memcpy(buf, c->body + c->body_sent, n);
    c->body_sent += n;
    if (c->body_sent == c->body_len)
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

#define NV(name, value, value_len)                                                            \
    {(uint8_t *)(name), (uint8_t *)(value), sizeof(name) - 1, (value_len),                    \
     NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE}

/* Starts c's next call: asks for its request and submits the stream. */
static int call_start(caller *c)
{
    run *r = c->on->r;
    const h2calls_load *load = r->load;
    size_t len = load->request(load->arg, c->index, c->body + GRPC_PREFIX);
    if (len > H2CALLS_REQUEST_MAX)
        return run_fail(r, "a request of %zu bytes is over %d", len, H2CALLS_REQUEST_MAX);
    c->body[0] = 0; /* not compressed */
    c->body[1] = (uint8_t)(len >> 24);
    c->body[2] = (uint8_t)(len >> 16);
    c->body[3] = (uint8_t)(len >> 8);
    c->body[4] = (uint8_t)len;
    c->body_len = GRPC_PREFIX + len;
    c->body_sent = 0;
    c->grpc_status = -1;
    c->message[0] = '\0';
    c->reply_bytes = 0;

    nghttp2_nv headers[] = {
        NV(":method", "POST", 4),
        NV(":scheme", "http", 4),
        NV(":path", load->method, strlen(load->method)),
        NV(":authority", load->addr, strlen(load->addr)),
        NV("content-type", "application/grpc", 16),
        NV("te", "trailers", 8),
    };
    nghttp2_data_provider body = {.source.ptr = c, .read_callback = read_body};
    int32_t stream = nghttp2_submit_request(c->on->session, NULL, headers,
                                            sizeof headers / sizeof headers[0], &body, c);
    if (stream < 0)
        return run_fail(r, "nghttp2_submit_request: %s", nghttp2_strerror(stream));
    r->in_flight++;
    return 0;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t name_len, const uint8_t *value, size_t value_len, uint8_t flags,
                     void *user_data)
{
    (void)flags, (void)user_data;
    caller *c = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (c == NULL || frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    if (name_len == 11 && memcmp(name, "grpc-status", 11) == 0) {
        char digits[8];
        snprintf(digits, sizeof digits, "%.*s", (int)value_len, (const char *)value);
        c->grpc_status = atoi(digits);
    } else if (name_len == 12 && memcmp(name, "grpc-message", 12) == 0) {
        snprintf(c->message, sizeof c->message, "%.*s", (int)value_len, (const char *)value);
    }
    return 0;
}

static int on_data(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                   const uint8_t *data, size_t len, void *user_data)
{
    (void)flags, (void)data, (void)user_data;
    caller *c = nghttp2_session_get_stream_user_data(session, stream_id);
    if (c != NULL)
        c->reply_bytes += len;
    return 0;
}

/* The call ended: report it, and start the next while there is time. */
static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                           void *user_data)
{
    run *r = user_data;
    caller *c = nghttp2_session_get_stream_user_data(session, stream_id);
    if (c == NULL)
        return 0;
    r->in_flight--;
    if (error_code != NGHTTP2_NO_ERROR && c->grpc_status < 0)
        snprintf(c->message, sizeof c->message, "stream reset: %s",
                 nghttp2_http2_strerror(error_code));
    r->load->done(r->load->arg, c->index, c->grpc_status, c->message, c->reply_bytes);
    if (bench_now_s() < r->end && call_start(c) != 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    return 0;
}

/* --- One connection ----------------------------------------------------------- */

static int conn_open(run *r, conn *cn, const struct sockaddr_in *to)
{
    cn->r = r;
    cn->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (cn->fd < 0)
        return run_fail(r, "socket: %s", strerror(errno));
    if (connect(cn->fd, (const struct sockaddr *)to, sizeof *to) != 0)
        return run_fail(r, "connect to %s: %s", r->load->addr, strerror(errno));
    int one = 1;
    setsockopt(cn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(cn->fd, F_SETFL, fcntl(cn->fd, F_GETFL) | O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = cn};
    if (epoll_ctl(r->epoll_fd, EPOLL_CTL_ADD, cn->fd, &ev) != 0)
        return run_fail(r, "epoll_ctl: %s", strerror(errno));

    nghttp2_session_callbacks *cbs;
    if (nghttp2_session_callbacks_new(&cbs) != 0)
        return run_fail(r, "nghttp2: out of memory");
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    int rc = nghttp2_session_client_new(&cn->session, cbs, r);
    nghttp2_session_callbacks_del(cbs);
    if (rc != 0)
        return run_fail(r, "nghttp2_session_client_new: %s", nghttp2_strerror(rc));
    nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0}};
    rc = nghttp2_submit_settings(cn->session, NGHTTP2_FLAG_NONE, settings, 1);
    if (rc != 0)
        return run_fail(r, "nghttp2_submit_settings: %s", nghttp2_strerror(rc));
    return 0;
}

/* Takes everything nghttp2 has to send on cn and writes as much of it as
 * the socket takes, in one send(); waits for EPOLLOUT when it took less. */
static int conn_flush(conn *cn)
{
    run *r = cn->r;
    for (;;) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(cn->session, &data);
        if (n < 0)
            return run_fail(r, "nghttp2_session_mem_send: %s", nghttp2_strerror((int)n));
        if (n == 0)
            break;
        if (cn->out_len + (size_t)n > cn->out_cap) {
            size_t cap = cn->out_cap ? cn->out_cap : 65536;
            while (cap < cn->out_len + (size_t)n)
                cap *= 2;
            uint8_t *grown = realloc(cn->out, cap);
            if (grown == NULL)
                return run_fail(r, "out of memory");
            cn->out = grown;
            cn->out_cap = cap;
        }
        memcpy(cn->out + cn->out_len, data, (size_t)n);
        cn->out_len += (size_t)n;
    }
    if (cn->out_len > 0) {
        ssize_t sent = send(cn->fd, cn->out, cn->out_len, MSG_NOSIGNAL);
        if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return run_fail(r, "send: %s", strerror(errno));
        if (sent > 0) {
            memmove(cn->out, cn->out + sent, cn->out_len - (size_t)sent);
            cn->out_len -= (size_t)sent;
        }
    }
    bool want_out = cn->out_len > 0;
    if (want_out != cn->want_out) {
        struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = cn};
        epoll_ctl(r->epoll_fd, EPOLL_CTL_MOD, cn->fd, &ev);
        cn->want_out = want_out;
    }
    return 0;
}

/* Feeds what arrived on cn to nghttp2, until the socket has no more. */
static int conn_read(conn *cn)
{
    run *r = cn->r;
    uint8_t buf[RECV_CHUNK];
    for (;;) {
        ssize_t n = recv(cn->fd, buf, sizeof buf, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (n < 0)
            return run_fail(r, "recv: %s", strerror(errno));
        if (n == 0)
            return run_fail(r, "%s closed the connection", r->load->addr);
        ssize_t used = nghttp2_session_mem_recv(cn->session, buf, (size_t)n);
        if (used < 0)
            return run_fail(r, "nghttp2_session_mem_recv: %s", nghttp2_strerror((int)used));
        if (r->failed)
            return -1;
    }
}

static void conn_close(conn *cn)
{
    if (cn->session != NULL) {
        nghttp2_session_terminate_session(cn->session, NGHTTP2_NO_ERROR);
        if (cn->fd >= 0)
            conn_flush(cn); /* the GOAWAY, if the socket takes it */
        nghttp2_session_del(cn->session);
    }
    if (cn->fd >= 0)
        close(cn->fd);
    free(cn->out);
}

/* --- The loop ----------------------------------------------------------------- */

static int parse_addr(const char *addr, struct sockaddr_in *to)
{
    char host[64];
    unsigned port;
    if (sscanf(addr, "%63[0-9.]:%u", host, &port) != 2 || port == 0 || port > 65535)
        return -1;
    memset(to, 0, sizeof *to);
    to->sin_family = AF_INET;
    to->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &to->sin_addr) == 1 ? 0 : -1;
}

int h2calls_run(const h2calls_load *load, char *why, size_t why_len)
{
    run r = {.load = load, .epoll_fd = -1, .why = why, .why_len = why_len};
    struct sockaddr_in to;
    for (int i = 0; i < H2CALLS_CONNECTIONS_MAX; i++)
        r.conns[i].fd = -1;
    if (load->callers < 1 || load->callers > H2CALLS_CALLERS_MAX || load->connections < 1 ||
        load->connections > H2CALLS_CONNECTIONS_MAX) {
        run_fail(&r, "callers must be 1..%d and connections 1..%d", H2CALLS_CALLERS_MAX,
                 H2CALLS_CONNECTIONS_MAX);
        return -1;
    }
    if (parse_addr(load->addr, &to) != 0) {
        run_fail(&r, "%s is not IPV4:PORT", load->addr);
        return -1;
    }
    r.n_conns = load->connections < load->callers ? load->connections : load->callers;
    r.callers = calloc((size_t)load->callers, sizeof *r.callers);
    r.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (r.callers == NULL || r.epoll_fd < 0)
        run_fail(&r, "cannot allocate the callers or an epoll instance");
    for (int i = 0; i < r.n_conns && !r.failed; i++)
        conn_open(&r, &r.conns[i], &to);

    r.end = bench_now_s() + load->seconds;
    for (int i = 0; i < load->callers && !r.failed; i++) {
        r.callers[i].index = i;
        r.callers[i].on = &r.conns[i % r.n_conns];
        call_start(&r.callers[i]);
    }
    while (r.in_flight > 0 && !r.failed) {
        for (int i = 0; i < r.n_conns && !r.failed; i++)
            conn_flush(&r.conns[i]);
        if (r.failed)
            break;
        struct epoll_event events[H2CALLS_CONNECTIONS_MAX];
        int n = epoll_wait(r.epoll_fd, events, H2CALLS_CONNECTIONS_MAX, ANSWER_TIMEOUT_MS);
        if (n < 0 && errno != EINTR)
            run_fail(&r, "epoll_wait: %s", strerror(errno));
        if (n == 0)
            run_fail(&r, "%d calls unanswered for %d s", r.in_flight, ANSWER_TIMEOUT_MS / 1000);
        for (int i = 0; i < n && !r.failed; i++)
            if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                conn_read(events[i].data.ptr);
    }

    for (int i = 0; i < r.n_conns; i++)
        conn_close(&r.conns[i]);
    if (r.epoll_fd >= 0)
        close(r.epoll_fd);
    free(r.callers);
    return r.failed ? -1 : 0;
}
