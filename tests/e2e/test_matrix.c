/* test_matrix.c - every RPC as every role, and as nobody, over TLS.
 *
 * valvd runs with a principals file holding one principal per role, each
 * known by a bearer token. Each method is called with an empty request by
 * each of them: the expected outcome comes from the rights table of README
 * ("Running for real"), independently of service/authz.c. A caller without
 * the right must get PERMISSION_DENIED (nobody: UNAUTHENTICATED) before
 * the request is even looked at; one with the right gets past
 * authorisation (whatever the empty request then earns: INVALID_ARGUMENT,
 * NOT_FOUND, OK, ...). */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "rpc.h"
#include "valv/v1/import.pb-c.h"
#include "valv/v1/inventory.pb-c.h"

enum { READER, OWNER, CHIEF, IMPORTER, AUDITOR, ADMIN, NOBODY, N_CALLERS };
static const char *const caller_names[N_CALLERS] = {
    "reader", "owner", "security_chief", "importer", "auditor", "admin", "nobody",
};

/* Who may call what, per README's role table. */
#define R (1 << READER)
#define O (1 << OWNER)
#define C (1 << CHIEF)
#define I (1 << IMPORTER)
#define A (1 << AUDITOR)
#define READERS (R | O | C | A)
#define ANYONE ((1 << N_CALLERS) - 1)

typedef enum { UNARY, SERVER_STREAM, CLIENT_STREAM } call_shape;

typedef struct {
    const char *method;
    call_shape shape;
    int allowed; /* bit per caller */
} rpc_row;

static const rpc_row rows[] = {
    {"/valv.v1.Inventory/CreateAsset", UNARY, O},
    {"/valv.v1.Inventory/GetAsset", UNARY, READERS},
    {"/valv.v1.Inventory/BatchGetAssets", UNARY, READERS},
    {"/valv.v1.Inventory/UpdateAsset", UNARY, O},
    {"/valv.v1.Inventory/DeleteAsset", UNARY, O},
    {"/valv.v1.Inventory/UndeleteAsset", UNARY, O},
    {"/valv.v1.Inventory/ListAssets", UNARY, READERS},
    {"/valv.v1.Inventory/CreateLink", UNARY, O},
    {"/valv.v1.Inventory/DeleteLink", UNARY, O},
    {"/valv.v1.Inventory/ListLinks", UNARY, READERS},
    {"/valv.v1.Inventory/ExportAssets", SERVER_STREAM, READERS},
    {"/valv.v1.Inventory/WatchChanges", SERVER_STREAM, READERS},
    {"/valv.v1.Inventory/ImportAssets", CLIENT_STREAM, I},
    {"/valv.v1.Review/ListReviewQueue", UNARY, C},
    {"/valv.v1.Review/ApproveAsset", UNARY, C},
    {"/valv.v1.Review/ReturnAsset", UNARY, C},
    {"/valv.v1.Audit/ListAuditEvents", UNARY, A},
    {"/valv.v1.Audit/VerifyAuditLog", UNARY, A},
    {"/grpc.health.v1.Health/Check", UNARY, ANYONE},
};

static char certs[HARNESS_PATH_MAX];
static char principals_path[HARNESS_PATH_MAX + 32];
static char tokens[N_CALLERS][128];

/* One principal per role, each with a token; "nobody" gets a token that is
 * in no file. */
static void write_principals(void)
{
    static const char *const roles[] = {"reader", "owner", "security_chief", "importer", "auditor", "admin"};
    char identity[128];
    snprintf(principals_path, sizeof principals_path, "%s/principals.json", certs);
    FILE *f = fopen(principals_path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "{\"principals\": [\n");
    for (int k = 0; k < N_CALLERS; k++) {
        ck_assert_int_eq(harness_token_new(tokens[k], sizeof tokens[k], identity, sizeof identity), 0);
        if (k == NOBODY)
            continue;
        fprintf(f, "  {\"id\": \"%s\", \"roles\": [\"%s\"]", caller_names[k], roles[k]);
        if (k == OWNER)
            fprintf(f, ", \"units\": [\"kultur\"]");
        if (k == IMPORTER)
            fprintf(f, ", \"sources\": [\"cmdb\"]");
        fprintf(f, ", \"identities\": [{\"token\": \"%s\"}]}%s\n", identity, k == ADMIN ? "" : ",");
    }
    fprintf(f, "]}\n");
    fclose(f);
}

/* Calls row's method with an empty request; returns the status code. */
static int call_as(rpc_conn *conn, const rpc_row *row, valv_error *err)
{
    valv_error_clear(err);
    int rc;
    if (row->shape == UNARY) {
        void *resp = NULL;
        size_t len = 0;
        rc = rpc_unary_raw(conn, row->method, "", 0, &resp, &len, 5000, err);
        free(resp);
        return rc;
    }
    if (row->shape == SERVER_STREAM) {
        Valv__V1__ExportAssetsRequest empty; /* every request is valid empty: an empty message */
        valv__v1__export_assets_request__init(&empty);
        rpc_stream *st = NULL;
        rc = rpc_stream_open(conn, row->method, &empty.base, 1000, &st, err);
        if (rc == VALV_OK) {
            ProtobufCMessage *msg = NULL;
            rc = rpc_stream_next(st, &valv__v1__asset__descriptor, &msg, err);
            if (msg != NULL)
                protobuf_c_message_free_unpacked(msg, NULL);
        }
        rpc_stream_close(st);
        return rc;
    }
    rpc_upload *up = NULL;
    rc = rpc_upload_open(conn, row->method, 5000, &up, err);
    if (rc == VALV_OK) {
        ProtobufCMessage *resp = NULL;
        rc = rpc_upload_finish(up, &valv__v1__import_assets_response__descriptor, &resp, err);
        if (resp != NULL)
            protobuf_c_message_free_unpacked(resp, NULL);
    }
    rpc_upload_close(up);
    return rc;
}

START_TEST(test_every_rpc_as_every_role)
{
    write_principals();
    harness_server srv;
    memset(&srv, 0, sizeof srv);
    ck_assert_int_eq(harness_start_tls(&srv, certs, principals_path, NULL), 0);
    char ca[HARNESS_PATH_MAX + 16];
    snprintf(ca, sizeof ca, "%s/ca.crt", certs);

    int wrong = 0;
    for (int k = 0; k < N_CALLERS; k++) {
        rpc_conn *conn = NULL;
        valv_error err;
        valv_error_clear(&err);
        rpc_options opts = {.addr = srv.addr, .tls_ca_file = ca, .token = tokens[k]};
        ck_assert_msg(rpc_connect(&opts, &conn, &err) == VALV_OK, "connect: %s", err.message);
        for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
            int rc = call_as(conn, &rows[r], &err);
            bool allowed = rows[r].allowed & (1 << k);
            int refusal = k == NOBODY ? VALV_EUNAUTHENTICATED : VALV_EPERM;
            bool refused = rc == VALV_EPERM || rc == VALV_EUNAUTHENTICATED;
            bool right = allowed ? !refused : rc == refusal;
            if (!right) {
                fprintf(stderr, "%-15s %-36s got %s (%s); expected %s\n", caller_names[k], rows[r].method,
                        valv_code_name(rc), err.message, allowed ? "to get past authorisation" : valv_code_name(refusal));
                wrong++;
            }
        }
        rpc_close(conn);
    }
    ck_assert_int_eq(harness_stop(&srv), 0);
    harness_cleanup(&srv);
    ck_assert_msg(wrong == 0, "%d of %zu calls got the wrong answer (listed above)", wrong,
                  (size_t)N_CALLERS * (sizeof rows / sizeof rows[0]));
}
END_TEST

int main(void)
{
    /* Certificates are made once, before Check forks the test. */
    if (harness_make_certs(NULL, certs) != 0)
        return EXIT_FAILURE;
    Suite *s = suite_create("matrix");
    TCase *tc = tcase_create("roles");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_every_rpc_as_every_role);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    harness_remove_dir(certs);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
