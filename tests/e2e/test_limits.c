/* test_limits.c - valvd at the edge of its resources: a full disk, an
 * exhausted map, deadlines that expire. Each answers a clear status, keeps
 * serving, and leaves a store that `valvd verify` finds intact.
 *
 * The full-disk case mounts a small tmpfs, which needs root (CI runs as
 * root); elsewhere it says so and passes, unless CI is set. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "calls.h"
#include "harness.h"
#include "rpc.h"
#include "valv/v1/audit.pb-c.h"
#include "valv/v1/inventory.pb-c.h"

#define INV "/valv.v1.Inventory/"
#define DESCRIPTION_BYTES 8000 /* near the 8 KiB limit: each asset fills two pages */
#define WRITES_MAX 4000        /* far more than either limit below takes */

static char description[DESCRIPTION_BYTES + 1];

static rpc_conn *connect_to(const harness_server *srv)
{
    rpc_conn *conn = NULL;
    valv_error err;
    ck_assert_msg(harness_connect(srv, NULL, NULL, &conn, &err) == VALV_OK, "connect: %s",
                  err.message);
    return conn;
}

/* Creates asset "big-N" with a large description; returns the status. */
static int create_big(rpc_conn *conn, int n, int timeout_ms, valv_error *err)
{
    char id[32];
    snprintf(id, sizeof id, "big-%d", n);
    return calls_create_asset(conn, id, VALV__V1__ASSET_KIND__IT_SYSTEM, "drift", id, description,
                              timeout_ms, NULL, err);
}

/* Creates big assets until one is refused; returns how many went in, and
 * the refusal in *err. */
static int create_until_refused(rpc_conn *conn, valv_error *err)
{
    for (int n = 0; n < WRITES_MAX; n++)
        if (create_big(conn, n, 30000, err) != VALV_OK)
            return n;
    ck_abort_msg("%d writes went in; the limit never came", WRITES_MAX);
    return -1;
}

/* Every acknowledged asset reads back whole: the server still serves. */
static void assert_readable(rpc_conn *conn, int n)
{
    for (int i = 0; i < n; i++) {
        char name[40];
        snprintf(name, sizeof name, "assets/big-%d", i);
        Valv__V1__GetAssetRequest req = VALV__V1__GET_ASSET_REQUEST__INIT;
        req.name = name;
        Valv__V1__Asset *a = NULL;
        valv_error err;
        int rc = rpc_unary(conn, INV "GetAsset", &req.base, &valv__v1__asset__descriptor,
                           (ProtobufCMessage **)&a, 10000, &err);
        ck_assert_msg(rc == VALV_OK, "%s: %s", name, err.message);
        ck_assert_uint_eq(strlen(a->description), DESCRIPTION_BYTES);
        valv__v1__asset__free_unpacked(a, NULL);
    }
}

/* Stops valvd and runs `valvd verify` on what it left. */
static void stop_and_verify(harness_server *srv)
{
    ck_assert_int_eq(harness_stop(srv), 0);
    char *out = NULL;
    int rc = harness_verify(srv->data_dir, &out, NULL);
    ck_assert_msg(rc == 0 && strstr(out, "intact") != NULL, "valvd verify: exit %d: %s", rc, out);
    free(out);
}

START_TEST(an_exhausted_map_is_resource_exhausted_and_the_store_stays_whole)
{
    harness_server srv = {0};
    static const char *const args[] = {"--max-db-size", "1", NULL};
    ck_assert_int_eq(harness_start(&srv, args), 0);
    rpc_conn *conn = connect_to(&srv);

    valv_error err;
    int n = create_until_refused(conn, &err);
    ck_assert_msg(err.code == VALV_EFULL, "refused with %s: %s", valv_code_name(err.code), err.message);
    ck_assert_msg(strstr(err.message, "--max-db-size") != NULL, "message: %s", err.message);
    ck_assert_int_gt(n, 10);
    assert_readable(conn, n);
    /* Refused again, the same way: nothing was left half-written. */
    ck_assert_int_eq(create_big(conn, n, 30000, &err), VALV_EFULL);
    rpc_close(conn);
    stop_and_verify(&srv);
    harness_cleanup(&srv);
}
END_TEST

START_TEST(a_full_disk_is_resource_exhausted_and_the_store_stays_whole)
{
    char mount_dir[] = "/tmp/valv-disk-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(mount_dir));
    if (mount("tmpfs", mount_dir, "tmpfs", 0, "size=2m") != 0) {
        int why = errno;
        rmdir(mount_dir);
        ck_assert_msg(getenv("CI") == NULL, "CI must run this: cannot mount a tmpfs: %s",
                      strerror(why));
        fprintf(stderr, "test_limits: skipped the full disk (cannot mount a tmpfs: %s)\n",
                strerror(why));
        return;
    }
    harness_server srv = {0};
    snprintf(srv.data_dir, sizeof srv.data_dir, "%s/data", mount_dir);
    ck_assert_int_eq(harness_start(&srv, NULL), 0);
    rpc_conn *conn = connect_to(&srv);

    valv_error err;
    int n = create_until_refused(conn, &err);
    ck_assert_msg(err.code == VALV_EFULL, "refused with %s: %s", valv_code_name(err.code), err.message);
    ck_assert_msg(strstr(err.message, "no space left on the disk") != NULL, "message: %s",
                  err.message);
    ck_assert_int_gt(n, 10);
    assert_readable(conn, n);
    ck_assert_int_eq(create_big(conn, n, 30000, &err), VALV_EFULL);
    rpc_close(conn);
    stop_and_verify(&srv);

    harness_cleanup(&srv);
    ck_assert_int_eq(umount(mount_dir), 0);
    rmdir(mount_dir);
}
END_TEST

/* One client's calls with a deadline too short to meet; counts answers
 * other than OK and DEADLINE_EXCEEDED (checked on the test's thread). */
typedef struct {
    const harness_server *srv;
    int first_id;
    int unexpected;
    char last_unexpected[VALV_ERROR_MESSAGE_MAX + 32];
} hurried_client;

static void *create_hurried(void *arg)
{
    hurried_client *h = arg;
    rpc_conn *conn = connect_to(h->srv);
    for (int i = 0; i < 50; i++) {
        valv_error err;
        int rc = create_big(conn, h->first_id + i, 1, &err);
        if (rc != VALV_OK && rc != VALV_EDEADLINE) {
            h->unexpected++;
            snprintf(h->last_unexpected, sizeof h->last_unexpected, "%s: %s",
                     valv_code_name(rc), err.message);
        }
    }
    rpc_close(conn);
    return NULL;
}

START_TEST(deadlines_expire_cleanly)
{
    harness_server srv = {0};
    ck_assert_int_eq(harness_start(&srv, NULL), 0);
    pthread_t threads[4];
    hurried_client clients[4];
    for (int i = 0; i < 4; i++) {
        clients[i] = (hurried_client){.srv = &srv, .first_id = 1000 * i};
        ck_assert_int_eq(pthread_create(&threads[i], NULL, create_hurried, &clients[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        ck_assert_msg(clients[i].unexpected == 0, "%d answers neither OK nor DEADLINE_EXCEEDED, "
                      "the last: %s", clients[i].unexpected, clients[i].last_unexpected);
    }

    /* valvd still answers at once, and its log is whole. */
    rpc_conn *conn = connect_to(&srv);
    valv_error err;
    ck_assert_int_eq(create_big(conn, 999999, 10000, &err), VALV_OK);
    Valv__V1__VerifyAuditLogRequest req = VALV__V1__VERIFY_AUDIT_LOG_REQUEST__INIT;
    Valv__V1__VerifyAuditLogResponse *resp = NULL;
    ck_assert_int_eq(rpc_unary(conn, "/valv.v1.Audit/VerifyAuditLog", &req.base,
                               &valv__v1__verify_audit_log_response__descriptor,
                               (ProtobufCMessage **)&resp, 10000, &err),
                     VALV_OK);
    ck_assert(resp->ok);
    valv__v1__verify_audit_log_response__free_unpacked(resp, NULL);
    rpc_close(conn);
    stop_and_verify(&srv);
    harness_cleanup(&srv);
}
END_TEST

int main(void)
{
    memset(description, 'x', DESCRIPTION_BYTES);
    Suite *s = suite_create("limits");
    TCase *tc = tcase_create("resources");
    tcase_add_test(tc, an_exhausted_map_is_resource_exhausted_and_the_store_stays_whole);
    tcase_add_test(tc, a_full_disk_is_resource_exhausted_and_the_store_stays_whole);
    tcase_add_test(tc, deadlines_expire_cleanly);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
