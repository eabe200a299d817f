/* bench_memory.c - valvd's memory after exporting a large inventory.
 *
 * Usage: bench_memory DATA_DIR [ASSETS]   (default 1,000,000 assets)
 *
 * Makes DATA_DIR a store of ASSETS generated assets (fill.h: kept when it
 * already holds them), starts valvd ($VALVD, else ./valvd) on it in
 * development mode with --log-level error, reads every asset with one
 * ExportAssets call over gRPC (client/rpc.h), and prints valvd's memory
 * from /proc/PID/status, after start and after the export:
 *
 *   RssAnon  heap and stacks: what valvd itself holds.
 *   RssFile  file pages mapped and touched, nearly all of them the LMDB
 *            map: the database pages the export read, shared with the page
 *            cache and the kernel's to drop under pressure; it grows with
 *            the part of the database read, not with what valvd keeps.
 *   VmHWM    the peak of the two together.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "fill.h"
#include "harness.h"
#include "rpc.h"
#include "valv/v1/import.pb-c.h"

#define ASSETS_DEFAULT 1000000
#define ASSETS_MAX 10000000
#define KIB_PER_MIB 1024.0

static const char *program = "bench_memory";

typedef struct {
    double anon, file, hwm; /* MiB */
} memory;

static memory memory_of(pid_t pid)
{
    return (memory){.anon = bench_proc_status_kib(pid, "RssAnon") / KIB_PER_MIB,
                    .file = bench_proc_status_kib(pid, "RssFile") / KIB_PER_MIB,
                    .hwm = bench_proc_status_kib(pid, "VmHWM") / KIB_PER_MIB};
}

/* Streams every asset; returns how many arrived. */
static size_t export_all(rpc_conn *conn)
{
    Valv__V1__ExportAssetsRequest req = VALV__V1__EXPORT_ASSETS_REQUEST__INIT;
    rpc_stream *st = NULL;
    valv_error err;
    valv_error_clear(&err);
    if (rpc_stream_open(conn, "/valv.v1.Inventory/ExportAssets", &req.base, 0, &st, &err) !=
        VALV_OK)
        bench_die(program, "ExportAssets", err.message);
    size_t n = 0;
    for (;;) {
        ProtobufCMessage *msg = NULL;
        int rc = rpc_stream_next(st, &valv__v1__asset__descriptor, &msg, &err);
        if (rc != VALV_OK)
            bench_die(program, "ExportAssets", err.message);
        if (msg == NULL)
            break;
        n++;
        protobuf_c_message_free_unpacked(msg, NULL);
    }
    rpc_stream_close(st);
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: bench_memory DATA_DIR [ASSETS]   (default %d)\n", ASSETS_DEFAULT);
        return 2;
    }
    long n = argc > 2 ? strtol(argv[2], NULL, 10) : ASSETS_DEFAULT;
    if (n < 1000 || n > ASSETS_MAX) {
        fprintf(stderr, "bench_memory: ASSETS must be 1000 to %d\n", ASSETS_MAX);
        return 2;
    }
    bench_print_command(argc, argv);
    if (fill_store(argv[1], (size_t)n) != 0)
        bench_die(program, "build the store", argv[1]);

    static const char *const valvd_args[] = {"--log-level", "error", NULL};
    harness_server srv = {0};
    snprintf(srv.data_dir, sizeof srv.data_dir, "%s", argv[1]); /* kept: no harness_cleanup */
    if (harness_start(&srv, valvd_args) != 0)
        bench_die(program, "start valvd", "see above (set VALVD to the valvd to measure)");
    rpc_conn *conn = NULL;
    valv_error err;
    valv_error_clear(&err);
    if (harness_connect(&srv, NULL, NULL, &conn, &err) != VALV_OK)
        bench_die(program, "connect", err.message);

    memory before = memory_of(srv.pid);
    double start = bench_now_s();
    size_t exported = export_all(conn);
    double seconds = bench_now_s() - start;
    memory after = memory_of(srv.pid);
    if (exported != (size_t)n)
        bench_die(program, "ExportAssets", "did not stream every asset exactly once");

    printf("export of %zu assets: %.1f s (%.0f assets/s)\n", exported, seconds,
           (double)exported / seconds);
    printf("valvd memory          after start   after the export\n");
    printf("RssAnon (heap)        %8.1f MiB   %8.1f MiB\n", before.anon, after.anon);
    printf("RssFile (LMDB map)    %8.1f MiB   %8.1f MiB\n", before.file, after.file);
    printf("VmHWM (peak RSS)      %8.1f MiB   %8.1f MiB\n", before.hwm, after.hwm);

    bench_result("memory_rss_anon", after.anon, "MiB");
    bench_result("memory_rss_file", after.file, "MiB");
    bench_result("memory_vmhwm", after.hwm, "MiB");
    bench_result("memory_export", (double)exported / seconds, "assets/s");

    rpc_close(conn);
    harness_stop(&srv);
    return 0;
}
