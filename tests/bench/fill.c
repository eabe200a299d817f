/* fill.c - see fill.h. */
#include "fill.h"

#include <stdio.h>
#include <unistd.h>

#include "bench.h"
#include "harness.h"
#include "store.h"

/* Assets per transaction: large enough that commits cost nothing next to
 * the writes, small enough that a transaction's dirty pages stay modest. */
#define FILL_BATCH 10000
#define FILL_PROGRESS_EVERY 100000
/* The map the build starts with: LMDB grows the file only as pages are
 * written, so a large map costs nothing and spares most of the grows. */
#define FILL_MAP_SIZE (4UL << 30)

static const store_actor fill_actor = {.actor = "bench-fill"};

/* True when dir opens as a store holding exactly n live assets and no
 * deleted ones. */
static bool store_holds(const char *dir, size_t n)
{
    store *s = NULL;
    store_stats st = {0};
    valv_error err;
    valv_error_clear(&err);
    bool holds = store_open(dir, &(store_options){.read_only = true}, &s, &err) == VALV_OK &&
                 store_get_stats(s, &st, &err) == VALV_OK && st.live_assets == (int64_t)n &&
                 st.deleted_assets == 0;
    store_close(s);
    return holds;
}

/* Creates assets [first, first + count) in one transaction. VALV_EFULL
 * means nothing was written: grow the map and call again. */
static int fill_batch(store *s, size_t first, size_t count, valv_error *err)
{
    store_txn *t = NULL;
    int rc = store_txn_begin(s, NULL, &t, err);
    for (size_t i = first; rc == VALV_OK && i < first + count; i++) {
        bench_asset b;
        Valv__V1__Asset *out = NULL;
        bench_asset_make(&b, i);
        rc = store_create_asset(t, &b.asset, NULL, &fill_actor, &out, err);
        if (out != NULL)
            valv__v1__asset__free_unpacked(out, NULL);
    }
    if (rc == VALV_OK)
        return store_txn_commit(t, err); /* frees t, even when the map is full */
    if (t != NULL)
        store_txn_abort(t);
    return rc;
}

int fill_store(const char *dir, size_t n)
{
    if (store_holds(dir, n)) {
        printf("store: %s already holds %zu generated assets (kept between runs)\n", dir, n);
        return 0;
    }
    if (access(dir, F_OK) == 0)
        harness_remove_dir(dir); /* a store of another size or schema, or a build cut short */

    store *s = NULL;
    valv_error err;
    valv_error_clear(&err);
    int rc = store_open(dir, &(store_options){.map_size_initial = FILL_MAP_SIZE}, &s, &err);
    double start = bench_now_s();
    for (size_t first = 0; rc == VALV_OK && first < n;) {
        size_t count = n - first < FILL_BATCH ? n - first : FILL_BATCH;
        rc = fill_batch(s, first, count, &err);
        if (rc == VALV_EFULL) {
            rc = store_grow(s, &err);
            continue; /* the same batch again, in the larger map */
        }
        first += count;
        if (rc == VALV_OK && (first % FILL_PROGRESS_EVERY == 0 || first == n))
            fprintf(stderr, "fill: %zu of %zu assets (%.0f s)\n", first, n,
                    bench_now_s() - start);
    }
    if (rc != VALV_OK)
        fprintf(stderr, "fill: building %s: %s\n", dir, err.message);
    else
        printf("store: built %zu generated assets in %s in %.1f s (%.0f assets/s)\n", n, dir,
               bench_now_s() - start, (double)n / (bench_now_s() - start));
    store_close(s);
    return rc == VALV_OK ? 0 : -1;
}
