/* bench_list.c - ListAssets on a large inventory.
 *
 * Usage: bench_list DATA_DIR [ASSETS]   (default 1,000,000 assets)
 *
 * Makes DATA_DIR a store of ASSETS generated assets (fill.h: kept when it
 * already holds them), starts valvd ($VALVD, else ./valvd) on it in
 * development mode with --log-level error, and over gRPC (client/rpc.h)
 * measures the time of the whole call, as a client sees it:
 *
 *   selective   the first page (default size, 50) of one unit's facilities,
 *               `owner_unit = "socialnamnden" AND kind = FACILITY`: 0.5% of
 *               the assets. Median and slowest of SELECTIVE_CALLS calls.
 *   full scan   a filter no index can narrow and nothing matches,
 *               `owner = "nobody@example.se"`: every asset is read. All its
 *               pages (it should have one, empty). Median of SCAN_CALLS.
 *   paging      every asset, 1000 a page (the most a page holds), token to
 *               token: pages/s over the whole walk, and over its first and
 *               its last tenth (keyset cursors should keep them equal).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "fill.h"
#include "harness.h"
#include "limits.h"
#include "rpc.h"
#include "valv/v1/inventory.pb-c.h"

#define ASSETS_DEFAULT 1000000
#define ASSETS_MAX 10000000
#define ASSETS_MIN 10000 /* so that the selective filter fills its first page */
#define SELECTIVE_CALLS 21
#define SCAN_CALLS 3
#define PAGE_SIZE_MAX 1000
#define SELECTIVE_FILTER "owner_unit = \"socialnamnden\" AND kind = FACILITY"
#define SCAN_FILTER "owner = \"nobody@example.se\""
#define CALL_TIMEOUT_MS 60000

static const char *program = "bench_list";

/* One ListAssets call; dies on an error. The caller frees the response. */
static Valv__V1__ListAssetsResponse *list(rpc_conn *conn, const char *filter, int32_t page_size,
                                          const char *token)
{
    Valv__V1__ListAssetsRequest req = VALV__V1__LIST_ASSETS_REQUEST__INIT;
    req.filter = (char *)filter;
    req.page_size = page_size;
    req.page_token = (char *)token;
    ProtobufCMessage *out = NULL;
    valv_error err;
    valv_error_clear(&err);
    if (rpc_unary(conn, "/valv.v1.Inventory/ListAssets", &req.base,
                  &valv__v1__list_assets_response__descriptor, &out, CALL_TIMEOUT_MS,
                  &err) != VALV_OK)
        bench_die(program, "ListAssets", err.message);
    return (Valv__V1__ListAssetsResponse *)out;
}

/* Lists every page of filter; returns the assets and sets *pages. When
 * page_times is non-NULL, page_times[i] is the time page i arrived
 * (seconds since start; room for max_pages). */
static size_t list_all(rpc_conn *conn, const char *filter, int32_t page_size, double start,
                       double *page_times, size_t max_pages, size_t *pages)
{
    char *token = strdup("");
    size_t assets = 0;
    *pages = 0;
    while (token != NULL) {
        Valv__V1__ListAssetsResponse *resp = list(conn, filter, page_size, token);
        free(token);
        token = resp->next_page_token[0] != '\0' ? strdup(resp->next_page_token) : NULL;
        assets += resp->n_assets;
        if (page_times != NULL && *pages < max_pages)
            page_times[*pages] = bench_now_s() - start;
        (*pages)++;
        valv__v1__list_assets_response__free_unpacked(resp, NULL);
    }
    return assets;
}

/* The first page of SELECTIVE_FILTER, SELECTIVE_CALLS times: the median
 * call in ms, and the slowest in *slowest. Dies unless every page is a
 * full page of that unit's facilities. */
static double selective_first_page(rpc_conn *conn, double *slowest)
{
    double ms[SELECTIVE_CALLS];
    for (int i = 0; i < SELECTIVE_CALLS; i++) {
        double start = bench_now_s();
        Valv__V1__ListAssetsResponse *resp = list(conn, SELECTIVE_FILTER, 0, "");
        ms[i] = (bench_now_s() - start) * 1e3;
        bool right = resp->n_assets == VALV_PAGE_SIZE_DEFAULT;
        for (size_t k = 0; right && k < resp->n_assets; k++)
            right = resp->assets[k]->kind == VALV__V1__ASSET_KIND__FACILITY &&
                    strcmp(resp->assets[k]->owner_unit, "socialnamnden") == 0;
        valv__v1__list_assets_response__free_unpacked(resp, NULL);
        if (!right)
            bench_die(program, SELECTIVE_FILTER,
                      "the first page is not 50 of the unit's facilities");
    }
    *slowest = bench_percentile(ms, SELECTIVE_CALLS, 100);
    return bench_median(ms, SELECTIVE_CALLS);
}

/* Every page of SCAN_FILTER, SCAN_CALLS times: the median in ms. */
static double full_scan(rpc_conn *conn, size_t *pages)
{
    double ms[SCAN_CALLS];
    for (int i = 0; i < SCAN_CALLS; i++) {
        double start = bench_now_s();
        if (list_all(conn, SCAN_FILTER, 0, start, NULL, 0, pages) != 0)
            bench_die(program, SCAN_FILTER, "matched assets; it must match none");
        ms[i] = (bench_now_s() - start) * 1e3;
    }
    return bench_median(ms, SCAN_CALLS);
}

/* Pages through every asset; returns pages/s over the walk and sets the
 * rates of its first and last tenth. */
static double page_through(rpc_conn *conn, size_t n, double *first_tenth, double *last_tenth)
{
    size_t max_pages = n / PAGE_SIZE_MAX + 2, pages;
    double *at = malloc(max_pages * sizeof *at);
    if (at == NULL)
        bench_die(program, "allocate", "out of memory");
    double start = bench_now_s();
    size_t assets = list_all(conn, "", PAGE_SIZE_MAX, start, at, max_pages, &pages);
    double total = bench_now_s() - start;
    if (assets != n || pages > max_pages)
        bench_die(program, "paging", "the pages did not hold every asset exactly once");
    size_t tenth = pages / 10 > 0 ? pages / 10 : 1;
    *first_tenth = (double)tenth / at[tenth - 1];
    *last_tenth = (double)tenth / (at[pages - 1] - at[pages - 1 - tenth]);
    free(at);
    return (double)pages / total;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: bench_list DATA_DIR [ASSETS]   (default %d)\n", ASSETS_DEFAULT);
        return 2;
    }
    long n = argc > 2 ? strtol(argv[2], NULL, 10) : ASSETS_DEFAULT;
    if (n < ASSETS_MIN || n > ASSETS_MAX) {
        fprintf(stderr, "bench_list: ASSETS must be %d to %d\n", ASSETS_MIN, ASSETS_MAX);
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

    double slowest, first_tenth, last_tenth;
    size_t scan_pages;
    double selective = selective_first_page(conn, &slowest);
    printf("selective, first page of %s: %.2f ms median of %d calls, slowest %.2f ms\n",
           SELECTIVE_FILTER, selective, SELECTIVE_CALLS, slowest);
    fflush(stdout);
    double scan = full_scan(conn, &scan_pages);
    printf("full scan, %s over %ld assets: %.0f ms median of %d (%zu page%s each)\n", SCAN_FILTER,
           n, scan, SCAN_CALLS, scan_pages, scan_pages == 1 ? "" : "s");
    fflush(stdout);
    double rate = page_through(conn, (size_t)n, &first_tenth, &last_tenth);
    printf("paging through all %ld, %d a page: %.1f pages/s (%.0f assets/s); first tenth %.1f "
           "pages/s, last tenth %.1f pages/s (%.0f%%)\n",
           n, PAGE_SIZE_MAX, rate, rate * PAGE_SIZE_MAX, first_tenth, last_tenth,
           100 * last_tenth / first_tenth);

    bench_result("list_selective_first_page", selective, "ms");
    bench_result("list_selective_slowest", slowest, "ms");
    bench_result("list_full_scan", scan, "ms");
    bench_result("list_paging", rate, "pages/s");
    bench_result("list_paging_first_tenth", first_tenth, "pages/s");
    bench_result("list_paging_last_tenth", last_tenth, "pages/s");
    bench_result("list_paging_last_vs_first", 100 * last_tenth / first_tenth, "%");

    rpc_close(conn);
    harness_stop(&srv);
    return 0;
}
