/* fill.h - a data directory holding many generated assets, for the
 * benchmarks that need a large store (bench_list, bench_memory).
 *
 * The store is written directly with the store API in large transactions
 * (no gRPC, no writer thread): each asset still gets its indexes and its
 * audit event, exactly as a CreateAsset would leave them, at a fraction of
 * the time. Building a million takes a minute or two, so a directory that
 * already holds what was asked for is kept: tests/bench/run keeps one under
 * its build directory between runs.
 */
#ifndef VALV_BENCH_FILL_H
#define VALV_BENCH_FILL_H

#include <stddef.h>

/* Makes dir a store holding exactly n live assets, bench_asset_make(i) for
 * i in [0, n), with generated ids (so id order is creation order). If dir
 * already opens as such a store (same schema, n live assets) it is left
 * as it is; otherwise it is emptied and built, printing progress on
 * stderr. Returns 0, or -1 with a message on stderr. */
int fill_store(const char *dir, size_t n);

#endif
