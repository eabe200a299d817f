/* bench.h - what the benchmark programs share: the clock, figures about a
 * running valvd read from /proc and from its metrics endpoint, percentiles,
 * and the RESULT lines that tests/bench/run turns into its table.
 *
 * Every benchmark prints what it measured for people, then one line per
 * figure for tests/bench/run:
 *
 *   RESULT name value unit
 *
 * name is [a-z0-9_]+, value a plain decimal number, unit one word. The
 * targets live in tests/bench/run, not here: a program reports what it saw.
 */
#ifndef VALV_BENCH_H
#define VALV_BENCH_H

#include <stddef.h>
#include <sys/types.h>

#include "valv/v1/asset.pb-c.h"

/* Seconds on the monotonic clock. */
double bench_now_s(void);

/* Prints "PROGRAM: what: why" on stderr and exits 1. */
void bench_die(const char *program, const char *what, const char *why);

/* Prints "RESULT name value unit" on stdout. */
void bench_result(const char *name, double value, const char *unit);

/* Prints "command: ARGV..." on stdout: the command that produced the figures. */
void bench_print_command(int argc, char **argv);

/* A "Key:   1234 kB" line of /proc/PID/status, in KiB; -1 if absent. */
long bench_proc_status_kib(pid_t pid, const char *key);

/* Process pid's CPU time so far (user + system), in seconds: steadier than
 * the wall clock when other work shares the machine. */
double bench_proc_cpu_s(pid_t pid);

/* The p-th percentile (0..100) of values[0..n), nearest rank; sorts values
 * in place. 0 when n is 0. */
double bench_percentile(double *values, size_t n, double p);

/* The median of values[0..n); sorts values in place. */
double bench_median(double *values, size_t n);

/* GET http://addr/metrics (valvd --metrics-listen): the whole response
 * body, malloc'd and NUL-terminated (the caller frees), or NULL with a
 * message on stderr. addr is "HOST:PORT" with a numeric IPv4 host. */
char *bench_metrics_fetch(const char *addr);

/* The sum of every sample in the Prometheus text whose series (name and
 * labels) begins with prefix, e.g.
 *   valv_requests_total{method="/valv.v1.Inventory/GetAsset",
 * sums that method's calls over every status code. */
double bench_metrics_sum(const char *text, const char *prefix);

/* --- Generated assets ------------------------------------------------------
 *
 * The assets every benchmark writes look like a municipality's inventory:
 * BENCH_UNITS owner units, each holding runs of ten consecutive assets; in
 * every ten, one facility, six IT systems and three information assets;
 * an owner, two or three attributes, one or two labels, and a description
 * on information assets (about 250 bytes stored, before effective values,
 * review and times). */

#define BENCH_UNITS 20
extern const char *const bench_units[BENCH_UNITS];

/* The owner unit and kind of asset i. */
#define BENCH_UNIT_OF(i) (bench_units[((i) / 10) % BENCH_UNITS])
Valv__V1__AssetKind bench_kind_of(size_t i);

/* One generated asset and the storage its fields point into. */
typedef struct {
    Valv__V1__Asset asset;
    char display_name[64];
    char description[128];
    char owner[64];
    Valv__V1__Asset__AttributesEntry attr[3];
    Valv__V1__Asset__AttributesEntry *attr_ptrs[3];
    char attr_values[3][48];
    char *labels[2];
} bench_asset;

/* Fills b as the i-th generated asset (no name, id or output fields). b
 * must not move while b->asset is in use: it points into itself. */
void bench_asset_make(bench_asset *b, size_t i);

#endif
