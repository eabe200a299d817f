/* soak.c - mixed load on one valvd for a given time; reports errors and
 * how valvd's memory grows. Not part of the test suite: run it by hand
 * before a release, for minutes or hours.
 *
 * Usage: soak [SECONDS [CLIENTS]]   (default 300 s, 8 clients)
 *
 * It starts valvd ($VALVD, else ./valvd) in development mode with an empty
 * data directory. Each client thread, on its own connection, loops over a
 * mix like a working day's: create an asset, read assets, update one with
 * its etag (a stale etag now and then: ABORTED is expected), link two,
 * list a page with a filter; one more thread keeps a WatchChanges stream
 * open and reads it. Every 10 s it prints calls so far, calls/s, statuses
 * other than OK and ABORTED, and valvd's resident memory. At the end: the
 * totals, RSS growth from the first sample after warm-up to the last, and
 * `valvd verify` on the stopped server's directory. Exit status 1 when any
 * call got an unexpected status, verify failed, or valvd died.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "calls.h"
#include "harness.h"

#define SECONDS_DEFAULT 300
#define CLIENTS_DEFAULT 8
#define CLIENTS_MAX 64
#define SAMPLE_SECONDS 10
#define WARM_UP_SAMPLES 1 /* the first sample's memory is the baseline */

static harness_server srv;
static atomic_bool stopping;
static atomic_long calls_ok, calls_aborted, calls_unexpected;
static pthread_mutex_t last_error_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_error[VALV_ERROR_MESSAGE_MAX + 64];

static void count(int rc, const valv_error *err)
{
    if (rc == VALV_OK) {
        atomic_fetch_add(&calls_ok, 1);
    } else if (rc == VALV_EABORTED) {
        atomic_fetch_add(&calls_aborted, 1);
    } else {
        atomic_fetch_add(&calls_unexpected, 1);
        pthread_mutex_lock(&last_error_lock);
        snprintf(last_error, sizeof last_error, "%s: %s", valv_code_name(rc), err->message);
        pthread_mutex_unlock(&last_error_lock);
    }
}

static rpc_conn *connect_or_die(void)
{
    rpc_conn *conn = NULL;
    valv_error err;
    if (harness_connect(&srv, NULL, NULL, &conn, &err) != VALV_OK) {
        fprintf(stderr, "soak: connect: %s\n", err.message);
        exit(1);
    }
    return conn;
}

static void free_asset(Valv__V1__Asset *a)
{
    if (a != NULL)
        valv__v1__asset__free_unpacked(a, NULL);
}

/* One page of the client's own assets, through a filter. */
static int list_page(rpc_conn *conn, int client, valv_error *err)
{
    char filter[64];
    snprintf(filter, sizeof filter, "display_name = \"soak %d *\"", client);
    Valv__V1__ListAssetsRequest req = VALV__V1__LIST_ASSETS_REQUEST__INIT;
    req.filter = filter;
    req.page_size = 20;
    ProtobufCMessage *resp = NULL;
    int rc = rpc_unary(conn, "/valv.v1.Inventory/ListAssets", &req.base,
                       &valv__v1__list_assets_response__descriptor, &resp, CALLS_TIMEOUT_MS, err);
    if (resp != NULL)
        protobuf_c_message_free_unpacked(resp, NULL);
    return rc;
}

static void *client_main(void *arg)
{
    int client = (int)(intptr_t)arg;
    rpc_conn *conn = connect_or_die();
    char id[48], name[64], previous[64] = "", display[64], text[96];
    valv_error err;
    for (long round = 0; !atomic_load(&stopping); round++) {
        Valv__V1__Asset *a = NULL;
        snprintf(id, sizeof id, "c%d-%ld", client, round);
        snprintf(name, sizeof name, "assets/%s", id);
        snprintf(display, sizeof display, "soak %d %ld", client, round);
        count(calls_create(conn, id, display, "made by soak", &a, &err), &err);
        free_asset(a);
        for (int i = 0; i < 3; i++) {
            a = NULL;
            count(calls_get(conn, name, &a, &err), &err);
            free_asset(a);
        }
        a = NULL;
        int rc = calls_get(conn, name, &a, &err);
        count(rc, &err);
        if (rc == VALV_OK) {
            /* One update in eight on purpose with a stale etag. */
            const char *etag = round % 8 == 7 ? "stale" : a->etag;
            Valv__V1__Asset *updated = NULL;
            snprintf(text, sizeof text, "round %ld", round);
            count(calls_set_description(conn, name, etag, text, &updated, &err), &err);
            free_asset(updated);
        }
        free_asset(a);
        if (previous[0] != '\0')
            count(calls_link(conn, name, previous, &err), &err);
        snprintf(previous, sizeof previous, "%s", name);
        count(list_page(conn, client, &err), &err);
    }
    rpc_close(conn);
    return NULL;
}

/* Reads the change feed from now on, as a dashboard would. */
static void *watcher_main(void *arg)
{
    (void)arg;
    rpc_conn *conn = connect_or_die();
    while (!atomic_load(&stopping)) {
        Valv__V1__WatchChangesRequest req = VALV__V1__WATCH_CHANGES_REQUEST__INIT;
        rpc_stream *st = NULL;
        valv_error err;
        if (rpc_stream_open(conn, "/valv.v1.Inventory/WatchChanges", &req.base, 5000, &st, &err) !=
            VALV_OK) {
            count(err.code, &err);
            break;
        }
        ProtobufCMessage *msg = NULL;
        int rc;
        while ((rc = rpc_stream_next(st, &valv__v1__watch_changes_response__descriptor, &msg, &err)) ==
                   VALV_OK && msg != NULL)
            protobuf_c_message_free_unpacked(msg, NULL);
        /* The 5 s deadline ends each stream on purpose: reopen. */
        count(rc == VALV_EDEADLINE ? VALV_OK : rc, &err);
        rpc_stream_close(st);
    }
    rpc_close(conn);
    return NULL;
}

static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    long kib = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "RssAnon:", 8) == 0)
            kib = strtol(line + 8, NULL, 10);
    fclose(f);
    return kib;
}

int main(int argc, char **argv)
{
    int seconds = argc > 1 ? atoi(argv[1]) : SECONDS_DEFAULT;
    int clients = argc > 2 ? atoi(argv[2]) : CLIENTS_DEFAULT;
    if (seconds < SAMPLE_SECONDS || clients < 1 || clients > CLIENTS_MAX) {
        fprintf(stderr, "usage: soak [SECONDS >= %d [CLIENTS 1..%d]]\n", SAMPLE_SECONDS, CLIENTS_MAX);
        return 2;
    }
    static const char *const quiet[] = {"--log-level", "error", NULL};
    if (harness_start(&srv, quiet) != 0)
        return 1;
    printf("soak: %d s, %d clients and a watcher, valvd %s at %s\n", seconds, clients,
           harness_valvd(), srv.addr);

    pthread_t threads[CLIENTS_MAX + 1];
    for (int i = 0; i < clients; i++)
        pthread_create(&threads[i], NULL, client_main, (void *)(intptr_t)i);
    pthread_create(&threads[clients], NULL, watcher_main, NULL);

    long baseline = -1, rss = -1, previous_calls = 0;
    for (int t = SAMPLE_SECONDS, sample = 1; t <= seconds; t += SAMPLE_SECONDS, sample++) {
        sleep(SAMPLE_SECONDS);
        rss = rss_kib(srv.pid);
        if (rss < 0) {
            fprintf(stderr, "soak: valvd is gone\n");
            return 1;
        }
        if (sample == WARM_UP_SAMPLES)
            baseline = rss;
        long calls = atomic_load(&calls_ok) + atomic_load(&calls_aborted) + atomic_load(&calls_unexpected);
        printf("%5d s  %9ld calls  %7.0f calls/s  %ld unexpected  valvd heap %.1f MiB\n", t, calls,
               (double)(calls - previous_calls) / SAMPLE_SECONDS, atomic_load(&calls_unexpected),
               rss / 1024.0);
        fflush(stdout);
        previous_calls = calls;
    }
    atomic_store(&stopping, true);
    for (int i = 0; i <= clients; i++)
        pthread_join(threads[i], NULL);

    int failed = atomic_load(&calls_unexpected) > 0;
    printf("totals: %ld OK, %ld ABORTED (stale etags, expected), %ld unexpected%s%s\n",
           atomic_load(&calls_ok), atomic_load(&calls_aborted), atomic_load(&calls_unexpected),
           failed ? "; the last: " : "", failed ? last_error : "");
    printf("valvd heap (RssAnon): %.1f MiB after warm-up, %.1f MiB at the end (%+.1f MiB)\n",
           baseline / 1024.0, rss / 1024.0, (rss - baseline) / 1024.0);

    if (harness_stop(&srv) != 0) {
        fprintf(stderr, "soak: valvd did not stop cleanly\n");
        failed = 1;
    }
    char *out = NULL;
    int rc = harness_verify(srv.data_dir, &out, NULL);
    printf("valvd verify: %s", rc == 0 && out != NULL ? out : "FAILED\n");
    failed |= rc != 0;
    free(out);
    harness_cleanup(&srv);
    return failed ? 1 : 0;
}
