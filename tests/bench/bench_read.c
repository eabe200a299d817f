/* bench_read.c - what GetAsset costs over the server framework itself.
 *
 * Usage: bench_read [SECONDS [ROUNDS]]   (default 3 s per run, 3 rounds)
 *
 * Starts valvd ($VALVD, else ./valvd) in development mode on loopback with
 * --log-level error (no line per request: a log written to a terminal or a
 * pipe would measure that, not the server) and its metrics endpoint,
 * creates one generated asset, and drives two methods with the same h2load
 * command ($H2LOAD, else h2load), taking turns (null, get, get, null, ...)
 * so that both see the same neighbours on a shared machine:
 *
 *   null  grpc.health.v1.Health/Check: a constant reply through the same
 *         method table, request decoding, call life, worker threads,
 *         metrics counters and reply encoding as every valv.v1 method. It
 *         is the fair zero: what differs is only GetAsset's own work (the
 *         caller's rights, one LMDB read transaction, decoding the stored
 *         asset, the visibility check, encoding a ~300-byte reply instead
 *         of a 2-byte one).
 *   get   valv.v1.Inventory/GetAsset of that asset.
 *
 * valvd runs on one CPU and h2load on another (the first two this process
 * may use). Unpinned on a 2-core machine, whichever of the two is short of
 * CPU sets the rate; when that is h2load, both methods run at h2load's
 * rate and their ratio says nothing about GetAsset. Pinned, the rates are
 * valvd's, on one core.
 *
 * Each run: h2load -c 8 -m 32 -t 1 (8 connections, 32 streams each, one
 * load thread) -n CALLS, the same CALLS for every run of both methods:
 * about SECONDS of the null handler's rate in a first, unmeasured warm-up
 * run. Runs end when their calls are answered, not at a time, so none
 * ends by cancelling calls in flight. Prints each run's calls/s, the
 * median per method and their ratio, latency p50/p99 over all calls of a
 * method (from h2load's per-request log; with 256 calls in flight this is
 * mostly queueing), valvd's CPU per call, and p50 with one call at a time
 * (-c 1 -m 1). The ratio of valvd's CPU per call is printed too: it is
 * what the rates would show were valvd's CPU the only limit. h2load counts
 * any HTTP 200 as success, so the gRPC status of every call is checked on
 * valvd's metrics: any call not OK fails the benchmark.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "grpc/health/v1/health.pb-c.h"
#include "harness.h"
#include "rpc.h"
#include "valv/v1/inventory.pb-c.h"

#define SECONDS_DEFAULT 3
#define ROUNDS_DEFAULT 3
#define ROUNDS_MAX 20
#define SECONDS_MAX 600
#define LOADED_ARGS "-c 8 -m 32 -t 1"
#define UNLOADED_ARGS "-c 1 -m 1 -t 1"
#define WARM_UP_CALLS 20000  /* per method, before the rounds; also sizes the runs */
#define CALLS_MIN 10000
#define UNLOADED_CALLS 3000
#define ASSET_ID "bench-read"
#define GRPC_FRAME_HEADER 5 /* compressed flag, then the length, 4 bytes big-endian */
#define COMMAND_MAX 2048
#define PATH_MAX_BENCH 512

static const char *program = "bench_read";

/* Latencies in ms, a growing array. */
typedef struct {
    double *ms;
    size_t n, cap;
} samples;

/* One method under load, and what its runs found. */
typedef struct {
    const char *label;
    const char *path;               /* "/package.Service/Method" */
    char body_file[PATH_MAX_BENCH]; /* the gRPC-framed request */
    double rates[ROUNDS_MAX];       /* calls/s of each loaded run */
    samples loaded, unloaded;       /* every call's latency, from h2load's logs */
    double calls, cpu_s;            /* sums of the loaded runs' run_figures */
} method_load;

/* Where valvd is and where h2load writes its per-request log. */
typedef struct {
    harness_server srv;
    char metrics_addr[300];
    char log_path[PATH_MAX_BENCH];
} bench_target;

static const char *h2load_path(void)
{
    const char *path = getenv("H2LOAD");
    return path != NULL && path[0] != '\0' ? path : "h2load";
}

/* Writes msg, gRPC-framed, to path. */
static void write_body(const char *path, const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(GRPC_FRAME_HEADER + len);
    if (buf == NULL)
        bench_die(program, "allocate", "out of memory");
    buf[0] = 0;
    buf[1] = (uint8_t)(len >> 24), buf[2] = (uint8_t)(len >> 16);
    buf[3] = (uint8_t)(len >> 8), buf[4] = (uint8_t)len;
    protobuf_c_message_pack(msg, buf + GRPC_FRAME_HEADER);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(buf, 1, GRPC_FRAME_HEADER + len, f) != GRPC_FRAME_HEADER + len ||
        fclose(f) != 0)
        bench_die(program, path, "cannot write the request body");
    free(buf);
}

/* Appends the third column (microseconds) of every line of an h2load
 * --log-file to out, in ms. */
static void read_latencies(const char *log_path, samples *out)
{
    FILE *f = fopen(log_path, "r");
    if (f == NULL)
        bench_die(program, log_path, "h2load wrote no log");
    long long start_us;
    int status;
    double us;
    while (fscanf(f, "%lld %d %lf", &start_us, &status, &us) == 3) {
        if (out->n == out->cap) {
            out->cap = out->cap == 0 ? 1 << 16 : out->cap * 2;
            out->ms = realloc(out->ms, out->cap * sizeof *out->ms);
            if (out->ms == NULL)
                bench_die(program, "allocate", "out of memory");
        }
        out->ms[out->n++] = us / 1000.0;
    }
    fclose(f);
}

/* Every call of path that valvd finished, and those not OK, from its metrics. */
static void count_statuses(const bench_target *t, const char *path, double *all, double *not_ok)
{
    char prefix[256], ok_prefix[300];
    char *text = bench_metrics_fetch(t->metrics_addr);
    if (text == NULL)
        bench_die(program, "read valvd's metrics", t->metrics_addr);
    snprintf(prefix, sizeof prefix, "valv_requests_total{method=\"%s\",", path);
    snprintf(ok_prefix, sizeof ok_prefix, "%scode=\"OK\"}", prefix);
    *all = bench_metrics_sum(text, prefix);
    *not_ok = *all - bench_metrics_sum(text, ok_prefix);
    free(text);
}

/* What one h2load run found. */
typedef struct {
    double rate;  /* calls/s, as h2load measured them */
    double calls; /* calls valvd answered */
    double cpu_s; /* valvd's CPU time meanwhile */
} run_figures;

/* Runs h2load on m with load_args for calls calls. Every call's latency
 * goes to latencies (NULL: dropped). Fails the
 * benchmark when h2load does, or when valvd answered any call with an
 * error status (h2load counts every HTTP 200 as a success). */
static run_figures run_h2load(const method_load *m, const bench_target *t,
                              const char *load_args, long calls, samples *latencies)
{
    char cmd[COMMAND_MAX], line[512];
    snprintf(cmd, sizeof cmd,
             "%s %s -n %ld --log-file %s -d %s "
             "-H 'content-type: application/grpc' -H 'te: trailers' http://%s%s 2>&1",
             h2load_path(), load_args, calls, t->log_path, m->body_file,
             t->srv.addr, m->path);
    double calls0, errors0, calls1, errors1;
    remove(t->log_path); /* h2load writes over it without truncating */
    count_statuses(t, m->path, &calls0, &errors0);
    double cpu0 = bench_proc_cpu_s(t->srv.pid);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        bench_die(program, "run h2load", cmd);
    double rate = -1, succeeded = -1, failed = -1;
    while (fgets(line, sizeof line, p) != NULL) {
        double r, total, started, done, ok, bad;
        if (sscanf(line, "finished in %*[^,], %lf req/s", &r) == 1)
            rate = r;
        else if (sscanf(line,
                        "requests: %lf total, %lf started, %lf done, %lf succeeded, %lf failed",
                        &total, &started, &done, &ok, &bad) == 5)
            succeeded = ok, failed = bad;
    }
    int status = pclose(p);
    double cpu = bench_proc_cpu_s(t->srv.pid) - cpu0;
    count_statuses(t, m->path, &calls1, &errors1);
    if (status != 0 || rate <= 0 || succeeded <= 0 || failed != 0) {
        fprintf(stderr,
                "%s: h2load failed (exit status %d, %.0f calls succeeded, %.0f failed): %s\n",
                program, status, succeeded, failed, cmd);
        exit(1);
    }
    if (errors1 > errors0) {
        fprintf(stderr, "%s: valvd answered %.0f of %.0f %s calls with an error status\n", program,
                errors1 - errors0, calls1 - calls0, m->path);
        exit(1);
    }
    if (latencies != NULL)
        read_latencies(t->log_path, latencies);
    return (run_figures){.rate = rate, .calls = calls1 - calls0, .cpu_s = cpu};
}

static void create_asset(const harness_server *srv)
{
    rpc_conn *conn = NULL;
    valv_error err;
    valv_error_clear(&err);
    if (harness_connect(srv, NULL, NULL, &conn, &err) != VALV_OK)
        bench_die(program, "connect", err.message);
    bench_asset b;
    bench_asset_make(&b, 7); /* an information asset: it has a description */
    Valv__V1__CreateAssetRequest req = VALV__V1__CREATE_ASSET_REQUEST__INIT;
    req.asset = &b.asset;
    req.asset_id = ASSET_ID;
    ProtobufCMessage *out = NULL;
    if (rpc_unary(conn, "/valv.v1.Inventory/CreateAsset", &req.base, &valv__v1__asset__descriptor,
                  &out, 0, &err) != VALV_OK)
        bench_die(program, "create the asset", err.message);
    printf("GetAsset reads %s: %zu bytes as a reply\n", ASSET_ID,
           protobuf_c_message_get_packed_size(out));
    protobuf_c_message_free_unpacked(out, NULL);
    rpc_close(conn);
}

/* Finds the first two CPUs this process may run on; false when there is
 * only one. */
static bool two_cpus(int *first, int *second)
{
    cpu_set_t set;
    int found = 0;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return false;
    for (int cpu = 0; cpu < CPU_SETSIZE && found < 2; cpu++)
        if (CPU_ISSET(cpu, &set))
            *(found++ == 0 ? first : second) = cpu;
    return found == 2;
}

/* Moves this process (and what it starts from now on) to cpu. */
static void pin_to(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        bench_die(program, "sched_setaffinity", "cannot pin to a CPU");
}

static long arg_or(int argc, char **argv, int i, long fallback, long max)
{
    if (argc <= i)
        return fallback;
    long v = strtol(argv[i], NULL, 10);
    if (v < 1 || v > max) {
        fprintf(stderr, "usage: bench_read [SECONDS (1..%d) [ROUNDS (1..%d)]]\n", SECONDS_MAX,
                ROUNDS_MAX);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    int seconds = (int)arg_or(argc, argv, 1, SECONDS_DEFAULT, SECONDS_MAX);
    int rounds = (int)arg_or(argc, argv, 2, ROUNDS_DEFAULT, ROUNDS_MAX);
    char dir[] = "/tmp/valv-bench-read-XXXXXX";
    bench_target t = {0};
    if (mkdtemp(dir) == NULL)
        bench_die(program, "mkdtemp", "cannot make a temporary directory");
    snprintf(t.log_path, sizeof t.log_path, "%s/h2load.log", dir);

    static const char *const valvd_args[] = {"--log-level", "error", "--metrics-listen",
                                             "127.0.0.1:0", NULL};
    int load_cpu = 0, valvd_cpu = 0;
    bool pinned = two_cpus(&load_cpu, &valvd_cpu);
    if (pinned)
        pin_to(valvd_cpu); /* valvd and all its threads inherit it */
    if (harness_start(&t.srv, valvd_args) != 0)
        bench_die(program, "start valvd", "see above (set VALVD to the valvd to measure)");
    if (pinned)
        pin_to(load_cpu); /* this process and every h2load */
    char line[300];
    if (harness_read_stdout_line(&t.srv, line, sizeof line) != 0 ||
        sscanf(line, "metrics on %299s", t.metrics_addr) != 1)
        bench_die(program, "start valvd", "it did not print 'metrics on ADDR'");
    create_asset(&t.srv);

    method_load null = {.label = "null (Health/Check)", .path = "/grpc.health.v1.Health/Check"};
    method_load get = {.label = "GetAsset", .path = "/valv.v1.Inventory/GetAsset"};
    method_load *both[2] = {&null, &get};
    Grpc__Health__V1__HealthCheckRequest health_req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    Valv__V1__GetAssetRequest get_req = VALV__V1__GET_ASSET_REQUEST__INIT;
    get_req.name = "assets/" ASSET_ID;
    snprintf(null.body_file, sizeof null.body_file, "%s/health.bin", dir);
    snprintf(get.body_file, sizeof get.body_file, "%s/get.bin", dir);
    write_body(null.body_file, &health_req.base);
    write_body(get.body_file, &get_req.base);

    /* A warm-up run of each sizes the runs: every run (both methods) makes
     * the same number of calls, about SECONDS of the null handler's. Runs
     * are sized by calls, not by time, so that none ends by cancelling the
     * calls in flight and every call's status can be checked. */
    double warm_rate = run_h2load(&null, &t, LOADED_ARGS, WARM_UP_CALLS, NULL).rate;
    run_h2load(&get, &t, LOADED_ARGS, WARM_UP_CALLS, NULL);
    long calls = (long)(warm_rate * seconds);
    if (calls < CALLS_MIN)
        calls = CALLS_MIN;

    bench_print_command(argc, argv);
    if (pinned)
        printf("valvd runs on CPU %d, h2load on CPU %d\n", valvd_cpu, load_cpu);
    else
        printf("one CPU: valvd and h2load share it\n");
    printf("each run: %s " LOADED_ARGS " -n %ld --log-file LOG -d BODY "
           "-H 'content-type: application/grpc' -H 'te: trailers' http://%s/METHOD\n",
           h2load_path(), calls, t.srv.addr);
    for (int r = 0; r < rounds; r++) {
        /* null, get, then get, null: neither always goes first. */
        method_load *order[2] = {both[r % 2], both[1 - r % 2]};
        for (int k = 0; k < 2; k++) {
            method_load *m = order[k];
            run_figures f = run_h2load(m, &t, LOADED_ARGS, calls, &m->loaded);
            m->rates[r] = f.rate;
            m->calls += f.calls;
            m->cpu_s += f.cpu_s;
            printf("round %d  %-20s %9.0f calls/s\n", r + 1, m->label, f.rate);
            fflush(stdout);
        }
    }
    printf("one call at a time: %s " UNLOADED_ARGS " -n %d ...\n", h2load_path(), UNLOADED_CALLS);
    for (int k = 0; k < 2; k++)
        run_h2load(both[k], &t, UNLOADED_ARGS, UNLOADED_CALLS, &both[k]->unloaded);

    printf("%-20s %9s %8s %8s %15s %20s\n", "", "calls/s", "p50 ms", "p99 ms",
           "valvd CPU/call", "p50 one at a time");
    double median[2];
    for (int k = 0; k < 2; k++) {
        method_load *m = both[k];
        median[k] = bench_median(m->rates, (size_t)rounds);
        printf("%-20s %9.0f %8.2f %8.2f %12.1f us %17.0f us\n", m->label, median[k],
               bench_percentile(m->loaded.ms, m->loaded.n, 50),
               bench_percentile(m->loaded.ms, m->loaded.n, 99), m->cpu_s * 1e6 / m->calls,
               1000 * bench_percentile(m->unloaded.ms, m->unloaded.n, 50));
    }
    /* CPU per call is steadier than calls/s when something else (h2load,
     * other work on the machine) holds the rate back: it is what GetAsset
     * would reach against the null handler were valvd's CPU the only limit. */
    double by_cpu = 100.0 * (null.cpu_s / null.calls) / (get.cpu_s / get.calls);
    printf("GetAsset / null: %.1f%% of the calls/s (medians of %d runs each), %.1f%% by valvd's "
           "CPU per call; valvd answered every call OK\n",
           100.0 * median[1] / median[0], rounds, by_cpu);

    bench_result("read_null_calls_per_s", median[0], "calls/s");
    bench_result("read_get_calls_per_s", median[1], "calls/s");
    bench_result("read_get_vs_null", 100.0 * median[1] / median[0], "%");
    bench_result("read_get_vs_null_by_cpu", by_cpu, "%");
    bench_result("read_get_p50", bench_percentile(get.loaded.ms, get.loaded.n, 50), "ms");
    bench_result("read_get_p99", bench_percentile(get.loaded.ms, get.loaded.n, 99), "ms");
    bench_result("read_null_p50", bench_percentile(null.loaded.ms, null.loaded.n, 50), "ms");
    bench_result("read_null_p99", bench_percentile(null.loaded.ms, null.loaded.n, 99), "ms");
    bench_result("read_get_cpu_per_call", get.cpu_s * 1e6 / get.calls, "us");
    bench_result("read_null_cpu_per_call", null.cpu_s * 1e6 / null.calls, "us");
    bench_result("read_get_unloaded_p50",
                 1000 * bench_percentile(get.unloaded.ms, get.unloaded.n, 50), "us");

    for (int k = 0; k < 2; k++) {
        free(both[k]->loaded.ms);
        free(both[k]->unloaded.ms);
        remove(both[k]->body_file);
    }
    remove(t.log_path);
    rmdir(dir);
    harness_stop(&t.srv);
    harness_cleanup(&t.srv);
    return 0;
}
