/* bench_group.c - what group commit buys concurrent writers.
 *
 * Usage: bench_group [SECONDS [CALLERS [ROUNDS]]]
 *        (default 3 s per part, 64 callers, 3 rounds)
 *
 * CALLERS callers each update their own asset (a new description every
 * time, no etag) as fast as their previous write is answered, for SECONDS:
 *
 *   1. store/writer.h in this process, max_group 1: one commit (one
 *      fsync) per write, what a server without group commit would do.
 *      valvd has no such switch, so this is measured here; over gRPC it
 *      could only be slower, so the ratio below errs against group commit.
 *   2. store/writer.h in this process, default max_group: writes that
 *      arrive while a commit runs share the next one.
 *   3. valvd ($VALVD, else ./valvd) over gRPC, loaded the way h2load loads
 *      it in bench_read (for 64 callers, h2load -c 8 -m 8 -t 1): one thread
 *      keeps CALLERS UpdateAsset calls in flight at all times on 8
 *      connections (fewer for fewer callers; caller i's on connection
 *      i % 8), and starts a caller's next write as soon as its answer
 *      comes. h2load itself cannot drive writes: it sends the same body
 *      every time, and an identical UpdateAsset is a no-op. So the load
 *      is h2calls.h, h2load's way of loading (nghttp2, epoll, one send per
 *      connection and pass) with a new body per call. The load generator
 *      shares the machine's cores (2 where these figures are taken) with
 *      valvd, so it has to be cheap: the gRPC core client spent 23-31 us
 *      of CPU per write, half of what valvd spends, CPU that valvd then
 *      lacked; h2calls spends 7-10 us. Writes per commit come from
 *      valvd's metrics (valv_writer_commits_total).
 *
 * Parts 1 and 3 are both bound by how long an fsync takes, and on a
 * shared virtual disk that changes from one minute to the next (part 1
 * has measured anywhere from 640 to 2,400 writes/s on the same machine).
 * So they take turns, ROUNDS times (1, 3, 1, 3, ...), both seeing the
 * same disk, and the ratio is of their medians; part 2 runs once.
 *
 * Prints writes/s and writes per commit of each run, the medians, and
 * part 3 against part 1.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "h2calls.h"
#include "harness.h"
#include "rpc.h"
#include "store.h"
#include "valv/v1/inventory.pb-c.h"
#include "writer.h"

#define SECONDS_DEFAULT 3
#define SECONDS_MAX 600
#define CALLERS_DEFAULT 64
#define CALLERS_MAX 256
#define ROUNDS_DEFAULT 3
#define ROUNDS_MAX 20
#define DESCRIPTION_MAX 64
/* Part 3: connections to valvd (h2load's -c). */
#define LOAD_CONNECTIONS 8
#define UPDATE_METHOD "/valv.v1.Inventory/UpdateAsset"

static const char *program = "bench_group";
static const store_actor bench_actor = {.actor = "bench"};
static const char *const description_path[] = {"description"};

/* What the caller threads of parts 1 and 2 share: where to write, and
 * when to stop. */
typedef struct {
    writer *w;
    atomic_bool stop;
} shared;

/* One caller: its asset, its count, and its part in the load: in parts 1
 * and 2 a thread and the writer job it submits and waits for, in part 3
 * the version its next call sends (h2calls numbers callers as this array
 * does). */
typedef struct {
    shared *sh;
    pthread_t thread;
    char id[32];
    long writes, failures;
    char first_error[256];

    writer_job job; /* what the writer sees; caller_of() finds the caller */
    char description[DESCRIPTION_MAX];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;

    long version; /* part 3: the last description sent was "version N" */
} caller;

#define caller_of(j) ((caller *)((char *)(j) - offsetof(caller, job)))

static void fail(caller *c, const char *message)
{
    if (c->failures++ == 0)
        snprintf(c->first_error, sizeof c->first_error, "%.*s", (int)sizeof c->first_error - 1,
                 message);
}

/* Sets the asset's description to description, inside the group's txn. */
static int update_apply(writer_job *job, store_txn *txn, valv_error *err)
{
    caller *c = caller_of(job);
    char name[48];
    snprintf(name, sizeof name, "assets/%s", c->id);
    Valv__V1__Asset patch = VALV__V1__ASSET__INIT, *out = NULL;
    patch.name = name;
    patch.description = c->description;
    int rc = store_update_asset(txn, &patch, description_path, 1, &bench_actor, &out, err);
    if (out != NULL)
        valv__v1__asset__free_unpacked(out, NULL);
    return rc;
}

static void update_done(writer_job *job, int rc, const valv_error *err)
{
    caller *c = caller_of(job);
    pthread_mutex_lock(&c->mu);
    if (rc != VALV_OK)
        fail(c, err->message);
    c->done = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* Parts 1 and 2: submit, wait for the commit, again. */
static void *store_caller(void *arg)
{
    caller *c = arg;
    for (long n = 0; !atomic_load(&c->sh->stop); n++) {
        snprintf(c->description, sizeof c->description, "version %ld", n + 1);
        c->job = (writer_job){.apply = update_apply, .done = update_done};
        c->done = false;
        writer_submit(c->sh->w, &c->job);
        pthread_mutex_lock(&c->mu);
        while (!c->done)
            pthread_cond_wait(&c->cv, &c->mu);
        pthread_mutex_unlock(&c->mu);
        c->writes++;
    }
    return NULL;
}

/* What one part found. */
typedef struct {
    double rate;         /* writes/s */
    double per_commit;   /* writes per commit */
    double cpu_us;       /* this process's CPU per write: the callers, and in parts 1
                            and 2 the writer thread */
    double valvd_cpu_us; /* part 3: valvd's CPU per write */
} part;

/* The n callers' writes, all told; fails the benchmark on any failed write. */
static long count_writes(const caller *callers, int n)
{
    long writes = 0;
    for (int i = 0; i < n; i++) {
        if (callers[i].failures > 0)
            bench_die(program, "a write failed", callers[i].first_error);
        writes += callers[i].writes;
    }
    return writes;
}

/* Parts 1 and 2: runs n caller threads for seconds; sets p's rate and
 * cpu_us. */
static void run_callers(caller *callers, int n, int seconds, part *p)
{
    for (int i = 0; i < n; i++) {
        callers[i].writes = callers[i].failures = 0;
        pthread_mutex_init(&callers[i].mu, NULL);
        pthread_cond_init(&callers[i].cv, NULL);
    }
    double start = bench_now_s(), cpu0 = bench_proc_cpu_s(getpid());
    for (int i = 0; i < n; i++)
        if (pthread_create(&callers[i].thread, NULL, store_caller, &callers[i]) != 0)
            bench_die(program, "start a thread", "pthread_create failed");
    sleep((unsigned)seconds);
    atomic_store(&callers[0].sh->stop, true);
    for (int i = 0; i < n; i++) {
        pthread_join(callers[i].thread, NULL);
        pthread_mutex_destroy(&callers[i].mu);
        pthread_cond_destroy(&callers[i].cv);
    }
    double elapsed = bench_now_s() - start;
    atomic_store(&callers[0].sh->stop, false);
    long writes = count_writes(callers, n);
    p->rate = (double)writes / elapsed;
    p->cpu_us = (bench_proc_cpu_s(getpid()) - cpu0) * 1e6 / (double)writes;
}

static void name_assets(caller *callers, int n, shared *sh)
{
    for (int i = 0; i < n; i++) {
        callers[i].sh = sh;
        snprintf(callers[i].id, sizeof callers[i].id, "caller-%d", i);
    }
}

/* Parts 1 and 2 on a fresh store. */
static part run_store(caller *callers, int n, size_t max_group, int seconds)
{
    part p = {0};
    char dir[] = "/tmp/valv-bench-group-XXXXXX";
    store *s = NULL;
    store_txn *t = NULL;
    valv_error err;
    valv_error_clear(&err);
    if (mkdtemp(dir) == NULL)
        bench_die(program, "mkdtemp", "cannot make a temporary directory");
    if (store_open(dir, NULL, &s, &err) != VALV_OK)
        bench_die(program, "open the store", err.message);
    if (store_txn_begin(s, NULL, &t, &err) != VALV_OK)
        bench_die(program, "begin", err.message);
    for (int i = 0; i < n; i++) {
        bench_asset b;
        Valv__V1__Asset *out = NULL;
        bench_asset_make(&b, (size_t)i);
        if (store_create_asset(t, &b.asset, callers[i].id, &bench_actor, &out, &err) != VALV_OK)
            bench_die(program, "create", err.message);
        valv__v1__asset__free_unpacked(out, NULL);
    }
    if (store_txn_commit(t, &err) != VALV_OK)
        bench_die(program, "commit", err.message);

    shared *sh = callers[0].sh;
    if (writer_start(s, max_group, &sh->w, &err) != VALV_OK)
        bench_die(program, "start the writer", err.message);
    run_callers(callers, n, seconds, &p);
    writer_stats st;
    writer_get_stats(sh->w, &st);
    writer_stop(sh->w);
    sh->w = NULL;
    p.per_commit = (double)st.jobs / (double)st.commits;
    store_close(s);
    harness_remove_dir(dir);
    return p;
}

/* valv_writer_writes_total and valv_writer_commits_total from valvd's metrics. */
static void writer_counters(const char *metrics_addr, double *writes, double *commits)
{
    char *text = bench_metrics_fetch(metrics_addr);
    if (text == NULL)
        bench_die(program, "read valvd's metrics", metrics_addr);
    *writes = bench_metrics_sum(text, "valv_writer_writes_total ");
    *commits = bench_metrics_sum(text, "valv_writer_commits_total ");
    free(text);
}

/* Part 3, for h2calls: caller i's next request, UpdateAsset with the
 * description "version N+1", serialised into buf. */
static size_t load_request(void *arg, int i, uint8_t *buf)
{
    caller *c = (caller *)arg + i;
    char name[48], description[DESCRIPTION_MAX];
    snprintf(name, sizeof name, "assets/%s", c->id);
    snprintf(description, sizeof description, "version %ld", ++c->version);
    char *paths[] = {"description"};
    Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    mask.paths = paths;
    mask.n_paths = 1;
    Valv__V1__Asset patch = VALV__V1__ASSET__INIT;
    patch.name = name;
    patch.description = description;
    Valv__V1__UpdateAssetRequest req = VALV__V1__UPDATE_ASSET_REQUEST__INIT;
    req.asset = &patch;
    req.update_mask = &mask;
    if (protobuf_c_message_get_packed_size(&req.base) > H2CALLS_REQUEST_MAX)
        bench_die(program, "pack an UpdateAssetRequest", "it is larger than expected");
    return protobuf_c_message_pack(&req.base, buf);
}

/* Part 3, for h2calls: caller i's call ended; counts the write or keeps
 * the failure. */
static void load_done(void *arg, int i, int grpc_status, const char *message,
                      size_t reply_bytes)
{
    caller *c = (caller *)arg + i;
    char why[300];
    if (grpc_status != 0) {
        snprintf(why, sizeof why, "UpdateAsset of %s: status %d: %s", c->id, grpc_status,
                 message);
        fail(c, why);
    } else if (reply_bytes == 0) {
        snprintf(why, sizeof why, "UpdateAsset of %s: no reply message", c->id);
        fail(c, why);
    } else {
        c->writes++;
    }
}

/* Part 3's load on valvd at addr for seconds: one call per caller in
 * flight at all times, on min(n, LOAD_CONNECTIONS) connections, all
 * driven from this thread (h2calls.h). Sets p's rate and cpu_us. */
static void run_update_load(caller *callers, int n, const char *addr, int seconds, part *p)
{
    for (int i = 0; i < n; i++)
        callers[i].writes = callers[i].failures = 0;
    h2calls_load load = {
        .addr = addr,
        .method = UPDATE_METHOD,
        .callers = n,
        .connections = LOAD_CONNECTIONS,
        .seconds = seconds,
        .request = load_request,
        .done = load_done,
        .arg = callers,
    };
    char why[256];
    double start = bench_now_s(), cpu0 = bench_proc_cpu_s(getpid());
    if (h2calls_run(&load, why, sizeof why) != 0)
        bench_die(program, "load valvd", why);
    double elapsed = bench_now_s() - start;
    double cpu = bench_proc_cpu_s(getpid()) - cpu0;
    long writes = count_writes(callers, n);
    p->rate = (double)writes / elapsed;
    p->cpu_us = cpu * 1e6 / (double)writes;
}

/* Part 3. */
static part run_grpc(caller *callers, int n, int seconds)
{
    part p = {0};
    static const char *const valvd_args[] = {"--log-level", "error", "--metrics-listen",
                                             "127.0.0.1:0", NULL};
    harness_server srv = {0};
    char line[300], metrics_addr[300];
    if (harness_start(&srv, valvd_args) != 0)
        bench_die(program, "start valvd", "see above (set VALVD to the valvd to measure)");
    if (harness_read_stdout_line(&srv, line, sizeof line) != 0 ||
        sscanf(line, "metrics on %299s", metrics_addr) != 1)
        bench_die(program, "start valvd", "it did not print 'metrics on ADDR'");

    rpc_conn *conn = NULL;
    valv_error err;
    valv_error_clear(&err);
    if (harness_connect(&srv, NULL, NULL, &conn, &err) != VALV_OK)
        bench_die(program, "connect", err.message);
    for (int i = 0; i < n; i++) {
        bench_asset b;
        bench_asset_make(&b, (size_t)i);
        Valv__V1__CreateAssetRequest req = VALV__V1__CREATE_ASSET_REQUEST__INIT;
        req.asset = &b.asset;
        req.asset_id = callers[i].id;
        ProtobufCMessage *out = NULL;
        if (rpc_unary(conn, "/valv.v1.Inventory/CreateAsset", &req.base,
                      &valv__v1__asset__descriptor, &out, 0, &err) != VALV_OK)
            bench_die(program, "create an asset", err.message);
        protobuf_c_message_free_unpacked(out, NULL);
    }
    rpc_close(conn);

    double writes0, commits0, writes1, commits1;
    writer_counters(metrics_addr, &writes0, &commits0);
    double valvd_cpu0 = bench_proc_cpu_s(srv.pid);
    run_update_load(callers, n, srv.addr, seconds, &p);
    double valvd_cpu = bench_proc_cpu_s(srv.pid) - valvd_cpu0;
    writer_counters(metrics_addr, &writes1, &commits1);
    p.per_commit = (writes1 - writes0) / (commits1 - commits0);
    p.valvd_cpu_us = valvd_cpu * 1e6 / (writes1 - writes0);
    harness_stop(&srv);
    harness_cleanup(&srv);
    return p;
}

static void print_part(const char *label, const part *p, const char *whose)
{
    printf("%-50s %8.0f writes/s, %5.1f writes/commit, %.1f us CPU per write in %s\n", label,
           p->rate, p->per_commit, p->cpu_us, whose);
}

static long arg_or(int argc, char **argv, int i, long fallback, long max)
{
    if (argc <= i)
        return fallback;
    long v = strtol(argv[i], NULL, 10);
    if (v < 1 || v > max) {
        fprintf(stderr, "usage: bench_group [SECONDS (1..%d) [CALLERS (1..%d) [ROUNDS (1..%d)]]]\n",
                SECONDS_MAX, CALLERS_MAX, ROUNDS_MAX);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    int seconds = (int)arg_or(argc, argv, 1, SECONDS_DEFAULT, SECONDS_MAX);
    int n = (int)arg_or(argc, argv, 2, CALLERS_DEFAULT, CALLERS_MAX);
    int rounds = (int)arg_or(argc, argv, 3, ROUNDS_DEFAULT, ROUNDS_MAX);
    caller *callers = calloc((size_t)n, sizeof *callers);
    shared sh = {0};
    if (callers == NULL)
        bench_die(program, "allocate", "out of memory");
    name_assets(callers, n, &sh);

    bench_print_command(argc, argv);
    printf("%d callers, each updating its own asset's description (no etag), %d s per part, "
           "parts 1 and 3 taking turns %d times\n",
           n, seconds, rounds);
    double one_rates[ROUNDS_MAX], grpc_rates[ROUNDS_MAX], grpc_per_commit[ROUNDS_MAX];
    double valvd_cpu[ROUNDS_MAX], callers_cpu[ROUNDS_MAX];
    for (int r = 0; r < rounds; r++) {
        part one = run_store(callers, n, 1, seconds);
        print_part("1. store/writer.h, max_group 1 (one commit per write)", &one, "this process");
        part grpc = run_grpc(callers, n, seconds);
        print_part("3. valvd UpdateAsset over gRPC", &grpc, "the callers");
        printf("%-56s %8.1f us CPU per write in valvd\n", "", grpc.valvd_cpu_us);
        one_rates[r] = one.rate;
        grpc_rates[r] = grpc.rate;
        grpc_per_commit[r] = grpc.per_commit;
        valvd_cpu[r] = grpc.valvd_cpu_us;
        callers_cpu[r] = grpc.cpu_us;
    }
    part grouped = run_store(callers, n, 0, seconds);
    print_part("2. store/writer.h, default max_group (group commit)", &grouped, "this process");

    double one_rate = bench_median(one_rates, (size_t)rounds);
    double grpc_rate = bench_median(grpc_rates, (size_t)rounds);
    printf("medians of %d: one commit per write %.0f writes/s, over gRPC %.0f writes/s\n", rounds,
           one_rate, grpc_rate);
    printf("over gRPC / one commit per write: %.1fx; in the store (part 2 / median of part 1): "
           "%.1fx\n",
           grpc_rate / one_rate, grouped.rate / one_rate);

    bench_result("group_one_commit_per_write", one_rate, "writes/s");
    bench_result("group_store_grouped", grouped.rate, "writes/s");
    bench_result("group_store_writes_per_commit", grouped.per_commit, "writes");
    bench_result("group_store_vs_one_per_commit", grouped.rate / one_rate, "x");
    bench_result("group_grpc", grpc_rate, "writes/s");
    bench_result("group_grpc_writes_per_commit", bench_median(grpc_per_commit, (size_t)rounds),
                 "writes");
    bench_result("group_grpc_valvd_cpu_per_write", bench_median(valvd_cpu, (size_t)rounds), "us");
    bench_result("group_grpc_callers_cpu_per_write", bench_median(callers_cpu, (size_t)rounds),
                 "us");
    bench_result("group_grpc_vs_one_per_commit", grpc_rate / one_rate, "x");
    free(callers);
    return 0;
}
