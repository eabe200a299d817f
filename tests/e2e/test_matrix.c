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

#include "calls.h"
#include "harness.h"
#include "rpc.h"
#include "valv/v1/import.pb-c.h"
#include "valv/v1/audit.pb-c.h"
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
#define D (1 << ADMIN)
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
    {"/valv.v1.Admin/GetSummary", UNARY, READERS},
    {"/valv.v1.Admin/GetServerInfo", UNARY, D},
    {"/valv.v1.Admin/Backup", SERVER_STREAM, D},
    {"/grpc.health.v1.Health/Check", UNARY, ANYONE},
};

static char certs[HARNESS_PATH_MAX];
static char tokens[N_CALLERS][HARNESS_TOKEN_MAX];

/* Starts valvd over TLS with one principal per role, each known by a new
 * token (tokens[k]); "nobody" (the last caller) gets a token that is in no
 * file. */
static void start_tls(harness_server *srv)
{
    static const char *const roles[] = {"reader", "owner", "security_chief", "importer", "auditor", "admin"};
    harness_principal principals[NOBODY];
    char identity[HARNESS_TOKEN_MAX];
    for (int k = 0; k < NOBODY; k++)
        principals[k] = (harness_principal){.id = caller_names[k],
                                            .role = roles[k],
                                            .unit = k == OWNER ? "kultur" : NULL,
                                            .source = k == IMPORTER ? "cmdb" : NULL,
                                            .new_token = tokens[k]};
    ck_assert_int_eq(
        harness_token_new(tokens[NOBODY], sizeof tokens[NOBODY], identity, sizeof identity), 0);
    memset(srv, 0, sizeof *srv);
    ck_assert_int_eq(harness_start_principals(srv, certs, principals, NOBODY, NULL), 0);
}

static void must(int rc, const valv_error *err, const char *what)
{
    ck_assert_msg(rc == VALV_OK, "%s: %s %s", what, valv_code_name(rc), err->message);
}

/* Connects as caller k over TLS, with k's token. */
static rpc_conn *connect_as(const harness_server *srv, int k)
{
    rpc_conn *conn = NULL;
    valv_error err;
    must(harness_connect(srv, certs, tokens[k], &conn, &err), &err, "connect");
    return conn;
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
    harness_server srv;
    start_tls(&srv);

    int wrong = 0;
    for (int k = 0; k < N_CALLERS; k++) {
        rpc_conn *conn = connect_as(&srv, k);
        valv_error err;
        valv_error_clear(&err);
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


/* --- Need to know, on every read path a reader has ------------------------------- */

static void owner_creates(rpc_conn *owner, const char *id, Valv__V1__AssetKind kind)
{
    valv_error err;
    must(calls_create_asset(owner, id, kind, "kultur", id, NULL, 5000, NULL, &err), &err, id);
}

/* Counts the names that stream messages of desc carry (assets, or events'
 * assets) equal to name, until the stream ends or its deadline passes. */
static int count_in_stream(rpc_conn *conn, const char *method, const ProtobufCMessage *req,
                           const ProtobufCMessageDescriptor *desc, const char *name, int *total)
{
    rpc_stream *st = NULL;
    valv_error err;
    valv_error_clear(&err);
    must(rpc_stream_open(conn, method, req, 2000, &st, &err), &err, method);
    int hits = 0;
    ProtobufCMessage *msg = NULL;
    *total = 0;
    while (rpc_stream_next(st, desc, &msg, &err) == VALV_OK && msg != NULL) {
        const char *got = desc == &valv__v1__asset__descriptor
                              ? ((Valv__V1__Asset *)msg)->name
                              : ((Valv__V1__WatchChangesResponse *)msg)->event->asset;
        hits += strcmp(got, name) == 0;
        (*total)++;
        protobuf_c_message_free_unpacked(msg, NULL);
    }
    rpc_stream_close(st);
    return hits;
}

START_TEST(test_restricted_assets_do_not_exist_for_the_uncleared)
{
    harness_server srv;
    start_tls(&srv);
    rpc_conn *owner = connect_as(&srv, OWNER), *reader = connect_as(&srv, READER);
    valv_error err;
    valv_error_clear(&err);

    /* Revision 1: an ordinary asset. Then information classified
     * RESTRICTED, and a system that processes it (which inherits it). */
    owner_creates(owner, "open", VALV__V1__ASSET_KIND__IT_SYSTEM);
    owner_creates(owner, "secret-info", VALV__V1__ASSET_KIND__INFORMATION);
    owner_creates(owner, "secret-sys", VALV__V1__ASSET_KIND__IT_SYSTEM);
    Valv__V1__SecurityProtection sp;
    valv__v1__security_protection__init(&sp);
    sp.security_class = VALV__V1__SECURITY_CLASS__RESTRICTED;
    Valv__V1__Asset patch;
    valv__v1__asset__init(&patch);
    patch.name = "assets/secret-info";
    patch.security = &sp;
    char *paths[] = {"security.security_class"};
    Google__Protobuf__FieldMask mask;
    google__protobuf__field_mask__init(&mask);
    mask.n_paths = 1;
    mask.paths = paths;
    Valv__V1__UpdateAssetRequest up;
    valv__v1__update_asset_request__init(&up);
    up.asset = &patch;
    up.update_mask = &mask;
    ProtobufCMessage *out = NULL;
    must(rpc_unary(owner, "/valv.v1.Inventory/UpdateAsset", &up.base, &valv__v1__asset__descriptor, &out, 5000, &err),
         &err, "classify");
    protobuf_c_message_free_unpacked(out, NULL);
    Valv__V1__Link link;
    valv__v1__link__init(&link);
    link.from_asset = "assets/secret-info";
    link.to_asset = "assets/secret-sys";
    link.type = VALV__V1__LINK_TYPE__PROCESSED_BY;
    Valv__V1__CreateLinkRequest lreq;
    valv__v1__create_link_request__init(&lreq);
    lreq.link = &link;
    must(rpc_unary(owner, "/valv.v1.Inventory/CreateLink", &lreq.base, &valv__v1__link__descriptor, &out, 5000, &err),
         &err, "link");
    protobuf_c_message_free_unpacked(out, NULL);

    /* Get: NOT_FOUND, worded as for an asset that does not exist. */
    const char *hidden[] = {"assets/secret-info", "assets/secret-sys"};
    for (int i = 0; i < 2; i++) {
        Valv__V1__GetAssetRequest g;
        valv__v1__get_asset_request__init(&g);
        g.name = (char *)hidden[i];
        ck_assert_int_eq(rpc_unary(reader, "/valv.v1.Inventory/GetAsset", &g.base, &valv__v1__asset__descriptor,
                                   &out, 5000, &err), VALV_ENOTFOUND);
        ck_assert_ptr_nonnull(strstr(err.message, "not found"));
        ck_assert_int_eq(rpc_unary(owner, "/valv.v1.Inventory/GetAsset", &g.base, &valv__v1__asset__descriptor,
                                   &out, 5000, &err), VALV_OK); /* the unit's owner sees it */
        protobuf_c_message_free_unpacked(out, NULL);
    }
    /* Links: of the hidden system, NOT_FOUND; the link is not there to see. */
    Valv__V1__ListLinksRequest ll;
    valv__v1__list_links_request__init(&ll);
    ll.asset = "assets/secret-sys";
    ck_assert_int_eq(rpc_unary(reader, "/valv.v1.Inventory/ListLinks", &ll.base,
                               &valv__v1__list_links_response__descriptor, &out, 5000, &err), VALV_ENOTFOUND);
    /* Export: only the open asset. */
    Valv__V1__ExportAssetsRequest ex;
    valv__v1__export_assets_request__init(&ex);
    int total = 0;
    ck_assert_int_eq(count_in_stream(reader, "/valv.v1.Inventory/ExportAssets", &ex.base,
                                     &valv__v1__asset__descriptor, "assets/open", &total), 1);
    ck_assert_int_eq(total, 1);
    ck_assert_int_eq(count_in_stream(owner, "/valv.v1.Inventory/ExportAssets", &ex.base,
                                     &valv__v1__asset__descriptor, "assets/open", &total), 1);
    ck_assert_int_eq(total, 3);
    /* The change feed, replayed from the start: nothing about the hidden ones. */
    Valv__V1__WatchChangesRequest w;
    valv__v1__watch_changes_request__init(&w);
    w.start_revision = 1; /* after the open asset's creation */
    ck_assert_int_eq(count_in_stream(reader, "/valv.v1.Inventory/WatchChanges", &w.base,
                                     &valv__v1__watch_changes_response__descriptor, "assets/secret-sys", &total), 0);
    ck_assert_int_eq(total, 0);
    ck_assert_int_gt(count_in_stream(owner, "/valv.v1.Inventory/WatchChanges", &w.base,
                                     &valv__v1__watch_changes_response__descriptor, "assets/secret-sys", &total), 0);

    rpc_close(owner);
    rpc_close(reader);
    ck_assert_int_eq(harness_stop(&srv), 0);
    harness_cleanup(&srv);
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
    tcase_add_test(tc, test_restricted_assets_do_not_exist_for_the_uncleared);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    harness_remove_dir(certs);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
