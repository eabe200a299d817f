/* bench_import.c - how fast a nightly inventory import goes in.
 *
 * Usage: bench_import [RECORDS [BATCH]]   (default 100,000 records, 1,000 per message)
 *
 * Generates RECORDS realistic records of one source, the way a CMDB export
 * looks: facilities first (buildings, and rooms PART_OF a building), then IT
 * systems (HOSTED_IN a room, a third DEPENDS_ON an earlier system), then
 * information assets (PROCESSED_BY a system); twenty owner units, a few
 * attributes and labels each. It starts a valvd ($VALVD, else ./valvd) in
 * development mode on loopback with an empty data directory and imports
 * the records over gRPC twice, in messages of BATCH records:
 *
 *   run 1: into the empty store: every record created, its links made,
 *          one audit event per asset and per link, every index updated;
 *   run 2: the same records again: every one unchanged, nothing written.
 *
 * It prints records/s for each run, the counts the server reported, valvd's
 * peak resident memory (VmHWM) and the database size, and fails unless
 * every record came out as the run expects. The target (issue 5) is in
 * tests/bench/run, with the others.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "harness.h"
#include "rpc.h"
#include "valv/v1/import.pb-c.h"

#define RECORDS_DEFAULT 100000
#define BATCH_DEFAULT 1000
static void die(const char *what, const char *why)
{
    bench_die("bench_import", what, why);
}

/* One generated record and the storage its fields point into. */
typedef struct {
    Valv__V1__ImportRecord rec;
    char external_id[24];
    char display_name[64];
    char description[128];
    char owner[48];
    Valv__V1__ImportRecord__AttributesEntry attr[3];
    Valv__V1__ImportRecord__AttributesEntry *attr_ptrs[3];
    char attr_values[3][48];
    char *labels[2];
    Valv__V1__ImportLink link[2];
    Valv__V1__ImportLink *link_ptrs[2];
    char link_to[2][24];
} generated;

static void add_link(generated *g, Valv__V1__LinkType type, const char *prefix, size_t to)
{
    size_t i = g->rec.n_links++;
    valv__v1__import_link__init(&g->link[i]);
    snprintf(g->link_to[i], sizeof g->link_to[i], "%s-%06zu", prefix, to);
    g->link[i].type = type;
    g->link[i].to_external_id = g->link_to[i];
    g->link_ptrs[i] = &g->link[i];
    g->rec.links = g->link_ptrs;
}

static void add_attribute(generated *g, const char *key, const char *value)
{
    size_t i = g->rec.n_attributes++;
    valv__v1__import_record__attributes_entry__init(&g->attr[i]);
    snprintf(g->attr_values[i], sizeof g->attr_values[i], "%s", value);
    g->attr[i].key = (char *)key;
    g->attr[i].value = g->attr_values[i];
    g->attr_ptrs[i] = &g->attr[i];
    g->rec.attributes = g->attr_ptrs;
}

/* Fills g as the i-th of n records. The mix: 10 % facilities (one in ten
 * a building, the rest rooms), 60 % IT systems, 30 % information. */
static void generate(generated *g, size_t i, size_t n)
{
    size_t n_fac = n / 10, n_sys = n * 6 / 10;
    static char label_prod[] = "production", label_cmdb[] = "cmdb", label_personal[] = "personal-data";
    char value[48];
    valv__v1__import_record__init(&g->rec);
    const char *unit = bench_units[i % BENCH_UNITS];
    snprintf(g->owner, sizeof g->owner, "owner%zu@%s.example.se", i % 97, unit);
    g->rec.owner_unit = (char *)unit;
    g->rec.owner = g->owner;
    g->labels[0] = label_cmdb;
    g->rec.labels = g->labels;
    g->rec.n_labels = 1;
    if (i < n_fac) {
        snprintf(g->external_id, sizeof g->external_id, "fac-%06zu", i);
        g->rec.kind = VALV__V1__ASSET_KIND__FACILITY;
        bool building = i % 10 == 0;
        snprintf(g->display_name, sizeof g->display_name, building ? "Building %zu" : "Room %zu, building %zu",
                 building ? i / 10 : i, i / 10);
        snprintf(value, sizeof value, "Storgatan %zu", i / 10 + 1);
        add_attribute(g, "address", value);
        if (!building)
            add_link(g, VALV__V1__LINK_TYPE__PART_OF, "fac", i - i % 10);
    } else if (i < n_fac + n_sys) {
        size_t k = i - n_fac;
        snprintf(g->external_id, sizeof g->external_id, "sys-%06zu", k);
        g->rec.kind = VALV__V1__ASSET_KIND__IT_SYSTEM;
        snprintf(g->display_name, sizeof g->display_name, "Application server %zu", k);
        snprintf(value, sizeof value, "srv%06zu.kommun.example.se", k);
        add_attribute(g, "hostname", value);
        snprintf(value, sizeof value, "10.%zu.%zu.%zu", k >> 16 & 255, k >> 8 & 255, k & 255);
        add_attribute(g, "ip", value);
        add_attribute(g, "os", k % 3 == 0 ? "Windows Server 2022" : "Debian 12");
        g->labels[1] = label_prod;
        g->rec.n_labels = 2;
        size_t room = (k % n_fac) | 1; /* an odd index is never a building (i % 10 == 0) */
        add_link(g, VALV__V1__LINK_TYPE__HOSTED_IN, "fac", room < n_fac ? room : 1);
        if (k % 3 == 1 && k > 0)
            add_link(g, VALV__V1__LINK_TYPE__DEPENDS_ON, "sys", k / 2);
    } else {
        size_t k = i - n_fac - n_sys;
        snprintf(g->external_id, sizeof g->external_id, "inf-%06zu", k);
        g->rec.kind = VALV__V1__ASSET_KIND__INFORMATION;
        snprintf(g->display_name, sizeof g->display_name, "Case records, register %zu", k);
        snprintf(g->description, sizeof g->description,
                 "Records kept by %s under the archive plan, series %zu.", unit, k % 40);
        g->rec.description = g->description;
        add_attribute(g, "retention", k % 2 ? "10 years" : "permanent");
        if (k % 4 == 0) {
            g->labels[1] = label_personal;
            g->rec.n_labels = 2;
        }
        add_link(g, VALV__V1__LINK_TYPE__PROCESSED_BY, "sys", k % n_sys);
    }
    g->rec.external_id = g->external_id;
    g->rec.display_name = g->display_name;
}

/* Streams every record (BATCH per message) and returns the response. */
static Valv__V1__ImportAssetsResponse *import_all(rpc_conn *conn, generated *records, size_t n,
                                                  size_t batch)
{
    valv_error err;
    valv_error_clear(&err);
    rpc_upload *up = NULL;
    if (rpc_upload_open(conn, "/valv.v1.Inventory/ImportAssets", 0, &up, &err) != VALV_OK)
        die("open the import", err.message);

    Valv__V1__ImportHeader header = VALV__V1__IMPORT_HEADER__INIT;
    header.source = "cmdb";
    header.mode = VALV__V1__IMPORT_MODE__UPSERT;
    Valv__V1__ImportAssetsRequest msg = VALV__V1__IMPORT_ASSETS_REQUEST__INIT;
    msg.message_case = VALV__V1__IMPORT_ASSETS_REQUEST__MESSAGE_HEADER;
    msg.header = &header;
    if (rpc_upload_send(up, &msg.base, &err) != VALV_OK)
        die("send the header", err.message);

    Valv__V1__ImportRecord **ptrs = malloc(batch * sizeof *ptrs);
    if (ptrs == NULL)
        die("allocate", "out of memory");
    Valv__V1__ImportBatch b = VALV__V1__IMPORT_BATCH__INIT;
    msg.message_case = VALV__V1__IMPORT_ASSETS_REQUEST__MESSAGE_BATCH;
    msg.batch = &b;
    for (size_t first = 0; first < n; first += batch) {
        size_t count = n - first < batch ? n - first : batch;
        for (size_t i = 0; i < count; i++)
            ptrs[i] = &records[first + i].rec;
        b.records = ptrs;
        b.n_records = count;
        if (rpc_upload_send(up, &msg.base, &err) != VALV_OK)
            die("send a batch", err.message);
    }
    free(ptrs);

    ProtobufCMessage *resp = NULL;
    if (rpc_upload_finish(up, &valv__v1__import_assets_response__descriptor, &resp, &err) != VALV_OK)
        die("finish the import", err.message);
    rpc_upload_close(up);
    return (Valv__V1__ImportAssetsResponse *)resp;
}

/* What a run must find: every record created (into an empty store), or
 * every record unchanged (the same records again). */
typedef enum { EXPECT_CREATED, EXPECT_UNCHANGED } expected;

/* Imports the n records; returns records/s. Fails the benchmark unless
 * every record came out as expected: a rate of failed records is no rate. */
static double run(const char *label, rpc_conn *conn, pid_t valvd, generated *records, size_t n,
                  size_t batch, expected expect)
{
    double cpu0 = bench_proc_cpu_s(valvd), t0 = bench_now_s();
    Valv__V1__ImportAssetsResponse *r = import_all(conn, records, n, batch);
    double s = bench_now_s() - t0, cpu = bench_proc_cpu_s(valvd) - cpu0;
    printf("%-24s %8.0f records/s (%.2f s; valvd CPU %.2f s, %.1f us/record)\n"
           "%-24s created %lld, updated %lld, unchanged %lld, failed %lld\n",
           label, (double)n / s, s, cpu, cpu * 1e6 / (double)n, "", (long long)r->created,
           (long long)r->updated, (long long)r->unchanged, (long long)r->failed);
    if (r->failed > 0 && r->n_failures > 0)
        printf("  first failure: record %lld (%s): %s\n", (long long)r->failures[0]->index,
               r->failures[0]->external_id, r->failures[0]->reason);
    int64_t as_expected = expect == EXPECT_CREATED ? r->created : r->unchanged;
    bool ok = r->failed == 0 && as_expected == (int64_t)n;
    valv__v1__import_assets_response__free_unpacked(r, NULL);
    if (!ok)
        die(label, expect == EXPECT_CREATED ? "not every record was created (counts above)"
                                            : "not every record was unchanged (counts above)");
    return (double)n / s;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : RECORDS_DEFAULT;
    size_t batch = argc > 2 ? strtoul(argv[2], NULL, 10) : BATCH_DEFAULT;
    if (n < 100 || batch < 1 || batch > 1000)
        die("usage", "bench_import [RECORDS >= 100 [BATCH 1..1000]]");

    generated *records = calloc(n, sizeof *records);
    if (records == NULL)
        die("allocate", "out of memory");
    for (size_t i = 0; i < n; i++)
        generate(&records[i], i, n);

    harness_server srv = {0};
    if (harness_start(&srv, NULL) != 0)
        die("start valvd", "see above (set VALVD to the valvd to measure)");
    valv_error err;
    valv_error_clear(&err);
    rpc_conn *conn = NULL;
    if (harness_connect(&srv, NULL, NULL, &conn, &err) != VALV_OK)
        die("connect", err.message);

    printf("bench_import: %zu records (10%% facilities, 60%% IT systems, 30%% information; "
           "links between them), %zu per message, valvd %s\n", n, batch, harness_valvd());
    double first = run("run 1 (empty store)", conn, srv.pid, records, n, batch, EXPECT_CREATED);
    double again = run("run 2 (all unchanged)", conn, srv.pid, records, n, batch, EXPECT_UNCHANGED);
    /* RSS counts the database pages valvd touched through LMDB's map (file
     * pages, the kernel's to drop) as well as its own heap: print both. */
    long hwm = bench_proc_status_kib(srv.pid, "VmHWM"), anon = bench_proc_status_kib(srv.pid, "RssAnon"),
         file = bench_proc_status_kib(srv.pid, "RssFile");
    printf("valvd peak RSS (VmHWM)   %8.1f MiB; now: heap and stacks (RssAnon) %.1f MiB, "
           "mapped files (RssFile, mostly the LMDB map) %.1f MiB\n",
           hwm / 1024.0, anon / 1024.0, file / 1024.0);

    char db_path[HARNESS_PATH_MAX + 16];
    snprintf(db_path, sizeof db_path, "%s/data.mdb", srv.data_dir);
    struct stat st;
    if (stat(db_path, &st) == 0)
        printf("database file            %8.1f MiB on disk\n", (double)st.st_blocks * 512 / (1 << 20));
    bench_result("import_records_per_s", first, "records/s");
    /* Run 2 writes nothing: when it is slow too, the minute was (the
     * machine's speed varies; see README, "Speed and robustness"). */
    bench_result("import_unchanged_records_per_s", again, "records/s");
    bench_result("import_vmhwm", hwm / 1024.0, "MiB");

    rpc_close(conn);
    harness_stop(&srv);
    harness_cleanup(&srv);
    free(records);
    return 0;
}
