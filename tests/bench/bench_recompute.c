/* bench_recompute.c - how long one classification change takes when it
 * reaches every asset of a realistic fan-out: 1 information asset
 * PROCESSED_BY 1,000 IT systems, each HOSTED_IN one of 100 facilities
 * (1,101 assets recomputed and rewritten per change, with the defaults).
 *
 * Usage: bench_recompute [RUNS [SYSTEMS]]   (default 9 runs, 1,000 systems;
 *        facilities are a tenth of the systems)
 * Prints the median over RUNS changes of the time inside the transaction
 * (recompute, review rules, writes) and of the whole change with its
 * durable commit. Each change flips the information asset's confidentiality
 * between SERIOUS and VERY_SERIOUS, so every run rewrites every asset.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"

#define SYSTEMS_DEFAULT 1000
#define SYSTEMS_MAX 1000000
#define RUNS_DEFAULT 9
#define RUNS_MAX 1000

static const store_actor bench_actor = {.actor = "bench"};

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

#define BENCH_MAP_SIZE ((size_t)4 << 30) /* 4 GiB */

static void die(const char *what, const valv_error *err)
{
    fprintf(stderr, "bench_recompute: %s: %s\n", what, err->message);
    exit(1);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *values, int n)
{
    qsort(values, (size_t)n, sizeof *values, compare_doubles);
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

static void create(store_txn *t, const char *id, Valv__V1__AssetKind kind)
{
    Valv__V1__Asset a = VALV__V1__ASSET__INIT;
    Valv__V1__Asset *out = NULL;
    valv_error err;
    a.kind = kind;
    a.display_name = (char *)id;
    a.owner_unit = (char *)"bench";
    if (store_create_asset(t, &a, id, &bench_actor, &out, &err) != VALV_OK)
        die("create", &err);
    valv__v1__asset__free_unpacked(out, NULL);
}

static void link(store_txn *t, const char *from, const char *to, Valv__V1__LinkType type)
{
    Valv__V1__Link *out = NULL;
    valv_error err;
    if (store_create_link(t, from, to, type, &bench_actor, &out, &err) != VALV_OK)
        die("link", &err);
    valv__v1__link__free_unpacked(out, NULL);
}

/* The graph, in one transaction. */
static void build(store *s, int systems)
{
    int facilities = systems / 10 > 0 ? systems / 10 : 1;
    char id[32], facility[32];
    store_txn *t = NULL;
    valv_error err;

    if (store_txn_begin(s, NULL, &t, &err) != VALV_OK)
        die("begin", &err);
    create(t, "info", VALV__V1__ASSET_KIND__INFORMATION);
    for (int f = 0; f < facilities; f++) {
        snprintf(facility, sizeof facility, "facility-%d", f);
        create(t, facility, VALV__V1__ASSET_KIND__FACILITY);
    }
    for (int i = 0; i < systems; i++) {
        snprintf(id, sizeof id, "system-%d", i);
        snprintf(facility, sizeof facility, "facility-%d", i % facilities);
        create(t, id, VALV__V1__ASSET_KIND__IT_SYSTEM);
        link(t, "info", id, VALV__V1__LINK_TYPE__PROCESSED_BY);
        link(t, id, facility, VALV__V1__LINK_TYPE__HOSTED_IN);
    }
    if (store_txn_commit(t, &err) != VALV_OK)
        die("commit", &err);
}

int main(int argc, char **argv)
{
    static const char *const paths[] = {"classification.confidentiality"};
    char dir[] = "/tmp/valv-bench-XXXXXX";
    double in_txn[RUNS_MAX], total[RUNS_MAX];
    int runs = argc > 1 ? atoi(argv[1]) : RUNS_DEFAULT;
    int systems = argc > 2 ? atoi(argv[2]) : SYSTEMS_DEFAULT;
    int64_t rewritten = 0;
    store *s = NULL;
    valv_error err;

    if (runs < 1 || runs > RUNS_MAX || systems < 1 || systems > SYSTEMS_MAX) {
        fprintf(stderr,
                "usage: bench_recompute [RUNS [SYSTEMS]]  (RUNS 1 to %d, default %d; SYSTEMS "
                "1 to %d, default %d)\n",
                RUNS_MAX, RUNS_DEFAULT, SYSTEMS_MAX, SYSTEMS_DEFAULT);
        return 2;
    }
    if (mkdtemp(dir) == NULL) {
        perror("bench_recompute: mkdtemp");
        return 1;
    }
    /* valvd's writer grows the map as it fills; this program writes
     * without it, so its map starts as large as the runs need (the file
     * is sparse: only what is written takes disk). */
    store_options opts = {.map_size_initial = BENCH_MAP_SIZE};
    if (store_open(dir, &opts, &s, &err) != VALV_OK)
        die("open", &err);
    build(s, systems);

    for (int r = 0; r < runs; r++) {
        Valv__V1__Classification cls = VALV__V1__CLASSIFICATION__INIT;
        Valv__V1__Asset patch = VALV__V1__ASSET__INIT;
        Valv__V1__Asset *out = NULL;
        store_txn *t = NULL;
        int64_t revision = store_revision(s);

        cls.confidentiality = r % 2 ? VALV__V1__LEVEL__SERIOUS : VALV__V1__LEVEL__VERY_SERIOUS;
        patch.name = (char *)"assets/info";
        patch.classification = &cls;
        double start = now_ms();
        if (store_txn_begin(s, NULL, &t, &err) != VALV_OK)
            die("begin", &err);
        if (store_update_asset(t, &patch, paths, 1, &bench_actor, &out, &err) != VALV_OK)
            die("update", &err);
        in_txn[r] = now_ms() - start;
        if (store_txn_commit(t, &err) != VALV_OK)
            die("commit", &err);
        total[r] = now_ms() - start;
        valv__v1__asset__free_unpacked(out, NULL);
        rewritten = store_revision(s) - revision;
    }

    printf("command: ");
    for (int i = 0; i < argc; i++)
        printf("%s%s", i > 0 ? " " : "", argv[i]);
    printf("\ngraph: 1 information asset -> %d IT systems -> %d facilities\n", systems,
           systems / 10 > 0 ? systems / 10 : 1);
    printf("assets rewritten per change: %lld\n", (long long)rewritten);
    printf("median of %d changes: %.2f ms in the transaction, %.2f ms with the commit\n", runs,
           median(in_txn, runs), median(total, runs));
    /* For tests/bench/run: "RESULT name value unit". */
    printf("RESULT recompute_assets %lld assets\n", (long long)rewritten);
    printf("RESULT recompute_in_txn %.2f ms\n", median(in_txn, runs));
    printf("RESULT recompute_with_commit %.2f ms\n", median(total, runs));

    store_close(s);
    nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}
