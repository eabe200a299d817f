/* test_e2e.c - a real valvd on a loopback port, driven through the gRPC C
 * client: every method, every error case a user can meet. */
#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calls.h"
#include "google/protobuf/empty.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"
#include "harness.h"
#include "rpc.h"
#include "valv/v1/import.pb-c.h"
#include "valv/v1/inventory.pb-c.h"
#include "valv/v1/audit.pb-c.h"
#include "valv/v1/review.pb-c.h"

#define INV "/valv.v1.Inventory/"

/* One server per test: each test starts from an empty store. */
static harness_server srv;
static rpc_conn *conn;

static void start(void)
{
    memset(&srv, 0, sizeof srv);
    ck_assert_int_eq(harness_start(&srv, NULL), 0);
    valv_error err;
    ck_assert_msg(harness_connect(&srv, NULL, NULL, &conn, &err) == VALV_OK, "connect: %s",
                  err.message);
}

static void stop(void)
{
    rpc_close(conn);
    conn = NULL;
    ck_assert_int_eq(harness_stop(&srv), 0);
    harness_cleanup(&srv);
}

/* Calls method; returns the status code, reply in *resp (caller frees). */
static int call(const char *method, const void *req, const ProtobufCMessageDescriptor *resp_desc,
                void *resp, valv_error *err)
{
    valv_error_clear(err);
    return rpc_unary(conn, method, req, resp_desc, (ProtobufCMessage **)resp, 10000, err);
}

static bool has_violation(const valv_error *err, const char *field)
{
    for (int i = 0; i < err->n_violations; i++)
        if (strcmp(err->violations[i].field, field) == 0)
            return true;
    return false;
}

/* Creates an asset and returns it (caller frees). */
static Valv__V1__Asset *create(const char *id, Valv__V1__AssetKind kind, const char *display_name,
                               const char *unit)
{
    Valv__V1__Asset *out = NULL;
    valv_error err;
    int rc = calls_create_asset(conn, id, kind, unit, display_name, NULL, 10000, &out, &err);
    ck_assert_msg(rc == VALV_OK, "create %s: %s %s", display_name, valv_code_name(rc), err.message);
    return out;
}

static int get(const char *name, Valv__V1__Asset **out, valv_error *err)
{
    Valv__V1__GetAssetRequest req;
    valv__v1__get_asset_request__init(&req);
    req.name = (char *)name;
    *out = NULL;
    return call(INV "GetAsset", &req, &valv__v1__asset__descriptor, out, err);
}

static void free_asset(Valv__V1__Asset *a)
{
    if (a != NULL)
        valv__v1__asset__free_unpacked(a, NULL);
}

static int list(const char *filter, int32_t page_size, const char *token, bool show_deleted,
                Valv__V1__ListAssetsResponse **out, valv_error *err)
{
    Valv__V1__ListAssetsRequest req;
    valv__v1__list_assets_request__init(&req);
    if (filter != NULL)
        req.filter = (char *)filter;
    req.page_size = page_size;
    if (token != NULL)
        req.page_token = (char *)token;
    req.show_deleted = show_deleted;
    *out = NULL;
    return call(INV "ListAssets", &req, &valv__v1__list_assets_response__descriptor, out, err);
}

/* --- Health and transport -------------------------------------------------- */

START_TEST(test_health_check)
{
    start();
    Grpc__Health__V1__HealthCheckRequest req;
    grpc__health__v1__health_check_request__init(&req);
    Grpc__Health__V1__HealthCheckResponse *resp = NULL;
    valv_error err;
    ck_assert_int_eq(call("/grpc.health.v1.Health/Check", &req,
                          &grpc__health__v1__health_check_response__descriptor, &resp, &err),
                     VALV_OK);
    ck_assert_int_eq(resp->status, GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
    grpc__health__v1__health_check_response__free_unpacked(resp, NULL);

    /* Every service valvd serves is known by name; a prefix of one is not. */
    const char *const services[] = {"valv.v1.Inventory", "valv.v1.Admin",
                                    "grpc.reflection.v1.ServerReflection"};
    for (size_t i = 0; i < sizeof services / sizeof services[0]; i++) {
        req.service = (char *)services[i];
        ck_assert_msg(call("/grpc.health.v1.Health/Check", &req,
                           &grpc__health__v1__health_check_response__descriptor, &resp, &err) == VALV_OK,
                      "%s: %s", services[i], err.message);
        grpc__health__v1__health_check_response__free_unpacked(resp, NULL);
    }
    req.service = "valv.v1.Inv";
    ck_assert_int_eq(call("/grpc.health.v1.Health/Check", &req,
                          &grpc__health__v1__health_check_response__descriptor, &resp, &err),
                     VALV_ENOTFOUND);

    req.service = "no.such.Service";
    ck_assert_int_eq(call("/grpc.health.v1.Health/Check", &req,
                          &grpc__health__v1__health_check_response__descriptor, &resp, &err),
                     VALV_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err.message, "no.such.Service"));
    stop();
}
END_TEST

START_TEST(test_unknown_method_is_unimplemented)
{
    start();
    void *resp = NULL;
    size_t len = 0;
    valv_error err;
    valv_error_clear(&err);
    ck_assert_int_eq(rpc_unary_raw(conn, "/valv.v1.Inventory/NoSuchMethod", "", 0, &resp, &len, 5000, &err),
                     VALV_EUNIMPLEMENTED);
    ck_assert_ptr_nonnull(strstr(err.message, "NoSuchMethod"));
    free(resp);
    stop();
}
END_TEST

START_TEST(test_undecodable_request_is_invalid_argument)
{
    start();
    void *resp = NULL;
    size_t len = 0;
    valv_error err;
    valv_error_clear(&err);
    const char garbage[] = "\xff\xff\xff\xff\xff\xff";
    ck_assert_int_eq(rpc_unary_raw(conn, INV "GetAsset", garbage, sizeof garbage - 1, &resp, &len, 5000, &err),
                     VALV_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "GetAssetRequest"));
    free(resp);
    stop();
}
END_TEST

START_TEST(test_oversized_request_is_resource_exhausted)
{
    start();
    size_t big = 5u << 20; /* above the 4 MiB limit */
    Valv__V1__GetAssetRequest req;
    valv__v1__get_asset_request__init(&req);
    req.name = malloc(big + 1);
    memset(req.name, 'a', big);
    req.name[big] = '\0';
    Valv__V1__Asset *out = NULL;
    valv_error err;
    ck_assert_int_eq(call(INV "GetAsset", &req, &valv__v1__asset__descriptor, &out, &err), VALV_EFULL);
    free(req.name);
    /* The server is still fine afterwards. */
    ck_assert_int_eq(get("assets/nothing-here", &out, &err), VALV_ENOTFOUND);
    stop();
}
END_TEST

/* --- Create and get ---------------------------------------------------------------- */

START_TEST(test_create_and_get_round_trip)
{
    start();
    Valv__V1__Asset a;
    valv__v1__asset__init(&a);
    a.kind = VALV__V1__ASSET_KIND__INFORMATION;
    a.display_name = "Personakter";
    a.description = "Akter för enskilda i socialtjänsten";
    a.owner_unit = "socialnamnden";
    a.owner = "Anna Andersson";
    char *labels[] = {"gdpr", "socialtjanst"};
    a.n_labels = 2;
    a.labels = labels;
    Valv__V1__Asset__AttributesEntry e1 = VALV__V1__ASSET__ATTRIBUTES_ENTRY__INIT;
    e1.key = "retention";
    e1.value = "10y";
    Valv__V1__Asset__AttributesEntry *attrs[] = {&e1};
    a.n_attributes = 1;
    a.attributes = attrs;
    a.source = "servicenow";
    a.external_id = "CI-1001";
    Valv__V1__CreateAssetRequest req;
    valv__v1__create_asset_request__init(&req);
    req.asset = &a;
    Valv__V1__Asset *created = NULL;
    valv_error err;
    ck_assert_int_eq(call(INV "CreateAsset", &req, &valv__v1__asset__descriptor, &created, &err), VALV_OK);
    ck_assert_str_eq(created->display_name, "Personakter");
    ck_assert_int_eq(strncmp(created->name, "assets/", 7), 0);
    ck_assert_str_eq(created->create_by, "dev");
    ck_assert_int_eq(created->revision, 1);
    ck_assert_str_ne(created->etag, "");
    ck_assert_ptr_nonnull(created->create_time);

    Valv__V1__Asset *got = NULL;
    ck_assert_int_eq(get(created->name, &got, &err), VALV_OK);
    ck_assert_str_eq(got->name, created->name);
    ck_assert_str_eq(got->owner, "Anna Andersson");
    ck_assert_str_eq(got->description, "Akter för enskilda i socialtjänsten");
    ck_assert_int_eq(got->n_labels, 2);
    ck_assert_int_eq(got->n_attributes, 1);
    ck_assert_str_eq(got->attributes[0]->value, "10y");
    ck_assert_str_eq(got->external_id, "CI-1001");
    ck_assert_str_eq(got->etag, created->etag);
    free_asset(got);
    free_asset(created);
    stop();
}
END_TEST

START_TEST(test_client_chosen_id_and_duplicates)
{
    start();
    Valv__V1__Asset *a = create("procapita", VALV__V1__ASSET_KIND__IT_SYSTEM, "Procapita", "socialnamnden");
    ck_assert_str_eq(a->name, "assets/procapita");
    free_asset(a);

    Valv__V1__Asset asset;
    valv__v1__asset__init(&asset);
    asset.kind = VALV__V1__ASSET_KIND__IT_SYSTEM;
    asset.display_name = "Procapita again";
    asset.owner_unit = "socialnamnden";
    Valv__V1__CreateAssetRequest req;
    valv__v1__create_asset_request__init(&req);
    req.asset = &asset;
    req.asset_id = "procapita";
    Valv__V1__Asset *out = NULL;
    valv_error err;
    ck_assert_int_eq(call(INV "CreateAsset", &req, &valv__v1__asset__descriptor, &out, &err), VALV_EEXIST);

    req.asset_id = "Bad_Id";
    ck_assert_int_eq(call(INV "CreateAsset", &req, &valv__v1__asset__descriptor, &out, &err), VALV_EINVAL);
    ck_assert(has_violation(&err, "asset_id"));
    stop();
}
END_TEST

START_TEST(test_validation_errors_name_every_field)
{
    start();
    Valv__V1__Asset a;
    valv__v1__asset__init(&a);
    a.kind = VALV__V1__ASSET_KIND__FACILITY;
    a.display_name = "";
    a.owner_unit = "Fastighetsnämnden";
    char *labels[] = {"ok", "Not OK"};
    a.n_labels = 2;
    a.labels = labels;
    Valv__V1__CreateAssetRequest req;
    valv__v1__create_asset_request__init(&req);
    req.asset = &a;
    Valv__V1__Asset *out = NULL;
    valv_error err;
    ck_assert_int_eq(call(INV "CreateAsset", &req, &valv__v1__asset__descriptor, &out, &err), VALV_EINVAL);
    ck_assert_msg(has_violation(&err, "asset.display_name"), "violations: %d, msg %s", err.n_violations, err.message);
    ck_assert(has_violation(&err, "asset.owner_unit"));
    ck_assert(has_violation(&err, "asset.labels[1]"));

    /* Missing asset altogether. */
    req.asset = NULL;
    ck_assert_int_eq(call(INV "CreateAsset", &req, &valv__v1__asset__descriptor, &out, &err), VALV_EINVAL);
    ck_assert(has_violation(&err, "asset"));

    /* Invalid UTF-8 anywhere is refused. */
    a.display_name = "Bad \xc3\x28 name";
    a.owner_unit = "kultur";
    a.n_labels = 0;
    req.asset = &a;
    ck_assert_int_eq(call(INV "CreateAsset", &req, &valv__v1__asset__descriptor, &out, &err), VALV_EINVAL);

    /* Nothing was written by any of these. */
    Valv__V1__ListAssetsResponse *page = NULL;
    ck_assert_int_eq(list(NULL, 0, NULL, true, &page, &err), VALV_OK);
    ck_assert_int_eq(page->n_assets, 0);
    valv__v1__list_assets_response__free_unpacked(page, NULL);
    stop();
}
END_TEST

START_TEST(test_get_errors)
{
    start();
    Valv__V1__Asset *out = NULL;
    valv_error err;
    ck_assert_int_eq(get("assets/missing", &out, &err), VALV_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err.message, "assets/missing"));
    ck_assert_int_eq(get("missing", &out, &err), VALV_EINVAL);
    ck_assert(has_violation(&err, "name"));
    ck_assert_int_eq(get("", &out, &err), VALV_EINVAL);
    stop();
}
END_TEST

START_TEST(test_batch_get_keeps_request_order)
{
    start();
    Valv__V1__Asset *x = create("x-system", VALV__V1__ASSET_KIND__IT_SYSTEM, "X", "kultur");
    Valv__V1__Asset *y = create("y-system", VALV__V1__ASSET_KIND__IT_SYSTEM, "Y", "kultur");
    free_asset(x);
    free_asset(y);
    char *names[] = {"assets/y-system", "assets/x-system", "assets/y-system"};
    Valv__V1__BatchGetAssetsRequest req;
    valv__v1__batch_get_assets_request__init(&req);
    req.n_names = 3;
    req.names = names;
    Valv__V1__BatchGetAssetsResponse *resp = NULL;
    valv_error err;
    ck_assert_int_eq(call(INV "BatchGetAssets", &req, &valv__v1__batch_get_assets_response__descriptor, &resp, &err), VALV_OK);
    ck_assert_int_eq(resp->n_assets, 3);
    ck_assert_str_eq(resp->assets[0]->display_name, "Y");
    ck_assert_str_eq(resp->assets[1]->display_name, "X");
    ck_assert_str_eq(resp->assets[2]->display_name, "Y");
    valv__v1__batch_get_assets_response__free_unpacked(resp, NULL);

    names[1] = "assets/nope";
    ck_assert_int_eq(call(INV "BatchGetAssets", &req, &valv__v1__batch_get_assets_response__descriptor, &resp, &err), VALV_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err.message, "assets/nope"));
    names[1] = "nope";
    ck_assert_int_eq(call(INV "BatchGetAssets", &req, &valv__v1__batch_get_assets_response__descriptor, &resp, &err), VALV_EINVAL);
    ck_assert(has_violation(&err, "names[1]"));
    stop();
}
END_TEST

/* --- Update ---------------------------------------------------------------------------- */

static int update(Valv__V1__Asset *patch, char **paths, size_t n_paths, Valv__V1__Asset **out,
                  valv_error *err)
{
    Valv__V1__UpdateAssetRequest req;
    valv__v1__update_asset_request__init(&req);
    req.asset = patch;
    Google__Protobuf__FieldMask mask;
    google__protobuf__field_mask__init(&mask);
    if (paths != NULL) {
        mask.n_paths = n_paths;
        mask.paths = paths;
        req.update_mask = &mask;
    }
    *out = NULL;
    return call(INV "UpdateAsset", &req, &valv__v1__asset__descriptor, out, err);
}

START_TEST(test_update_with_mask_and_etag)
{
    start();
    Valv__V1__Asset *a = create("lonesystem", VALV__V1__ASSET_KIND__IT_SYSTEM, "Lönesystem", "personal");
    Valv__V1__Asset patch;
    valv__v1__asset__init(&patch);
    patch.name = a->name;
    patch.etag = a->etag;
    patch.display_name = "Lönesystem Heroma";
    patch.owner = "Per Persson"; /* not in the mask: must not change */
    char *paths[] = {"display_name", "revision"}; /* output-only paths are ignored */
    Valv__V1__Asset *b = NULL;
    valv_error err;
    ck_assert_int_eq(update(&patch, paths, 2, &b, &err), VALV_OK);
    ck_assert_str_eq(b->display_name, "Lönesystem Heroma");
    ck_assert_str_eq(b->owner, "");
    ck_assert_int_gt(b->revision, a->revision);
    ck_assert_str_ne(b->etag, a->etag);

    /* The old etag is stale now. */
    Valv__V1__Asset *c = NULL;
    ck_assert_int_eq(update(&patch, paths, 1, &c, &err), VALV_EABORTED);

    /* No mask: every populated field. */
    patch.etag = b->etag;
    patch.display_name = "Heroma";
    ck_assert_int_eq(update(&patch, NULL, 0, &c, &err), VALV_OK);
    ck_assert_str_eq(c->display_name, "Heroma");
    ck_assert_str_eq(c->owner, "Per Persson");

    /* Unknown path. */
    patch.etag = c->etag;
    char *bad[] = {"colour"};
    Valv__V1__Asset *d = NULL;
    ck_assert_int_eq(update(&patch, bad, 1, &d, &err), VALV_EINVAL);
    ck_assert(has_violation(&err, "update_mask.paths[0]"));

    /* kind is immutable. */
    patch.etag = "";
    patch.kind = VALV__V1__ASSET_KIND__FACILITY;
    char *kind[] = {"kind"};
    ck_assert_int_eq(update(&patch, kind, 1, &d, &err), VALV_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "immutable"));

    /* A bad new value is refused and changes nothing. */
    patch.kind = 0;
    patch.owner_unit = "Personal Avdelningen";
    char *unit[] = {"owner_unit"};
    ck_assert_int_eq(update(&patch, unit, 1, &d, &err), VALV_EINVAL);
    ck_assert(has_violation(&err, "asset.owner_unit"));
    ck_assert_int_eq(get(a->name, &d, &err), VALV_OK);
    ck_assert_str_eq(d->owner_unit, "personal");
    ck_assert_int_eq(d->revision, c->revision);

    /* Unknown asset. */
    patch.name = "assets/nobody";
    patch.owner_unit = "personal";
    Valv__V1__Asset *e = NULL;
    ck_assert_int_eq(update(&patch, unit, 1, &e, &err), VALV_ENOTFOUND);

    free_asset(a);
    free_asset(b);
    free_asset(c);
    free_asset(d);
    stop();
}
END_TEST

/* --- Delete and undelete ------------------------------------------------------------------ */

static int delete_or_undelete(bool del, const char *name, const char *etag, Valv__V1__Asset **out,
                              valv_error *err)
{
    *out = NULL;
    if (del) {
        Valv__V1__DeleteAssetRequest req;
        valv__v1__delete_asset_request__init(&req);
        req.name = (char *)name;
        req.etag = (char *)etag;
        req.reason = "decommissioned";
        return call(INV "DeleteAsset", &req, &valv__v1__asset__descriptor, out, err);
    }
    Valv__V1__UndeleteAssetRequest req;
    valv__v1__undelete_asset_request__init(&req);
    req.name = (char *)name;
    req.etag = (char *)etag;
    return call(INV "UndeleteAsset", &req, &valv__v1__asset__descriptor, out, err);
}

START_TEST(test_soft_delete_and_undelete)
{
    start();
    Valv__V1__Asset *a = create("arkiv", VALV__V1__ASSET_KIND__FACILITY, "Arkivet", "kultur");
    Valv__V1__Asset *b = create("museum", VALV__V1__ASSET_KIND__FACILITY, "Museet", "kultur");
    Valv__V1__Asset *d = NULL, *g = NULL, *u = NULL;
    valv_error err;

    ck_assert_int_eq(delete_or_undelete(true, a->name, "\"wrong\"", &d, &err), VALV_EABORTED);
    ck_assert_int_eq(delete_or_undelete(true, a->name, a->etag, &d, &err), VALV_OK);
    ck_assert_ptr_nonnull(d->delete_time);
    ck_assert_str_eq(d->delete_by, "dev");

    /* Get still returns it; List hides it unless show_deleted. */
    ck_assert_int_eq(get(a->name, &g, &err), VALV_OK);
    ck_assert_ptr_nonnull(g->delete_time);
    Valv__V1__ListAssetsResponse *page = NULL;
    ck_assert_int_eq(list(NULL, 0, NULL, false, &page, &err), VALV_OK);
    ck_assert_int_eq(page->n_assets, 1);
    ck_assert_str_eq(page->assets[0]->name, b->name);
    valv__v1__list_assets_response__free_unpacked(page, NULL);
    ck_assert_int_eq(list(NULL, 0, NULL, true, &page, &err), VALV_OK);
    ck_assert_int_eq(page->n_assets, 2);
    valv__v1__list_assets_response__free_unpacked(page, NULL);

    /* Deleting twice, or updating a deleted asset, is a precondition error. */
    Valv__V1__Asset *x = NULL;
    ck_assert_int_eq(delete_or_undelete(true, a->name, "", &x, &err), VALV_EPRECONDITION);

    ck_assert_int_eq(delete_or_undelete(false, a->name, d->etag, &u, &err), VALV_OK);
    ck_assert_ptr_null(u->delete_time);
    ck_assert_int_eq(delete_or_undelete(false, a->name, "", &x, &err), VALV_EEXIST);
    ck_assert_int_eq(delete_or_undelete(true, "assets/none", "", &x, &err), VALV_ENOTFOUND);
    ck_assert_int_eq(delete_or_undelete(true, "none", "", &x, &err), VALV_EINVAL);

    free_asset(a);
    free_asset(b);
    free_asset(d);
    free_asset(g);
    free_asset(u);
    stop();
}
END_TEST

/* --- List ----------------------------------------------------------------------------------- */

START_TEST(test_list_pages_filters_and_bad_tokens)
{
    start();
    for (int i = 0; i < 120; i++) {
        char name[32];
        snprintf(name, sizeof name, "System %03d", i);
        free_asset(create(NULL, i % 3 == 0 ? VALV__V1__ASSET_KIND__FACILITY : VALV__V1__ASSET_KIND__IT_SYSTEM,
                          name, i % 2 == 0 ? "kultur" : "personal"));
    }
    valv_error err;
    Valv__V1__ListAssetsResponse *page = NULL;

    /* Every asset exactly once over the pages. */
    char *token = NULL;
    int seen = 0, pages = 0;
    do {
        ck_assert_int_eq(list(NULL, 50, token, false, &page, &err), VALV_OK);
        seen += (int)page->n_assets;
        pages++;
        free(token);
        token = page->next_page_token[0] != '\0' ? strdup(page->next_page_token) : NULL;
        valv__v1__list_assets_response__free_unpacked(page, NULL);
    } while (token != NULL);
    ck_assert_int_eq(seen, 120);
    ck_assert_int_eq(pages, 3);

    /* Default page size. */
    ck_assert_int_eq(list(NULL, 0, NULL, false, &page, &err), VALV_OK);
    ck_assert_int_eq(page->n_assets, 50);
    char *first_token = strdup(page->next_page_token);
    valv__v1__list_assets_response__free_unpacked(page, NULL);

    /* The token belongs to its filter, and cannot be altered. */
    ck_assert_int_eq(list("kind = FACILITY", 0, first_token, false, &page, &err), VALV_EINVAL);
    ck_assert(has_violation(&err, "page_token"));
    first_token[strlen(first_token) / 2] ^= 1;
    ck_assert_int_eq(list(NULL, 0, first_token, false, &page, &err), VALV_EINVAL);
    ck_assert(has_violation(&err, "page_token"));
    free(first_token);

    /* page_size limits. */
    ck_assert_int_eq(list(NULL, -1, NULL, false, &page, &err), VALV_EINVAL);
    ck_assert(has_violation(&err, "page_size"));

    /* Filters. */
    ck_assert_int_eq(list("kind = FACILITY AND owner_unit = kultur", 1000, NULL, false, &page, &err), VALV_OK);
    ck_assert_int_eq(page->n_assets, 20); /* i divisible by 6 */
    valv__v1__list_assets_response__free_unpacked(page, NULL);
    ck_assert_int_eq(list("display_name = \"System 00*\"", 1000, NULL, false, &page, &err), VALV_OK);
    ck_assert_int_eq(page->n_assets, 10);
    valv__v1__list_assets_response__free_unpacked(page, NULL);

    ck_assert_int_eq(list("kind = AND", 0, NULL, false, &page, &err), VALV_EINVAL);
    ck_assert(has_violation(&err, "filter"));
    ck_assert_msg(strstr(err.message, "position 8") != NULL && strstr(err.message, "AND") != NULL,
                  "message: %s", err.message);
    stop();
}
END_TEST

/* --- Concurrency, shutdown, persistence --------------------------------------------------------- */

/* A thread that creates n IT systems in unit "it" through its own
 * connection, counting those that succeed. */
typedef struct {
    int index; /* names the thread's assets: "Bulk INDEX-I" */
    int n;
    int ok;
} bulk_writer;

static void *create_n(void *arg)
{
    bulk_writer *b = arg;
    rpc_conn *own = NULL;
    valv_error err;
    if (harness_connect(&srv, NULL, NULL, &own, &err) != VALV_OK)
        return NULL;
    for (int i = 0; i < b->n; i++) {
        char name[48];
        snprintf(name, sizeof name, "Bulk %d-%d", b->index, i);
        Valv__V1__Asset a;
        valv__v1__asset__init(&a);
        a.kind = VALV__V1__ASSET_KIND__IT_SYSTEM;
        a.display_name = name;
        a.owner_unit = "it";
        Valv__V1__CreateAssetRequest req;
        valv__v1__create_asset_request__init(&req);
        req.asset = &a;
        Valv__V1__Asset *out = NULL;
        valv_error_clear(&err);
        if (rpc_unary(own, INV "CreateAsset", &req.base, &valv__v1__asset__descriptor,
                      (ProtobufCMessage **)&out, 10000, &err) == VALV_OK) {
            b->ok++;
            valv__v1__asset__free_unpacked(out, NULL);
        }
    }
    rpc_close(own);
    return NULL;
}

START_TEST(test_concurrent_writes_all_land_and_survive_restart)
{
    start();
    enum { THREADS = 16 };
    pthread_t threads[THREADS];
    bulk_writer state[THREADS];
    for (int i = 0; i < THREADS; i++) {
        state[i] = (bulk_writer){.index = i, .n = 25};
        pthread_create(&threads[i], NULL, create_n, &state[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        ck_assert_int_eq(state[i].ok, 25);
    }

    /* SIGTERM drains and exits 0; the data is there after a restart. */
    rpc_close(conn);
    conn = NULL;
    ck_assert_int_eq(harness_stop(&srv), 0);
    ck_assert_int_eq(harness_start(&srv, NULL), 0);
    valv_error err;
    ck_assert_int_eq(harness_connect(&srv, NULL, NULL, &conn, &err), VALV_OK);
    Valv__V1__ListAssetsResponse *page = NULL;
    ck_assert_int_eq(list("owner_unit = it", 1000, NULL, false, &page, &err), VALV_OK);
    ck_assert_int_eq(page->n_assets, THREADS * 25);
    ck_assert_int_eq(page->assets[0]->revision > 0, 1);
    valv__v1__list_assets_response__free_unpacked(page, NULL);
    stop();
}
END_TEST

START_TEST(test_dev_mode_refuses_non_loopback)
{
    const char *argv[] = {harness_valvd(), "--dev", "--listen", "0.0.0.0:0", "--data-dir", "/tmp/valv-unused", NULL};
    char *out = NULL, *errout = NULL;
    int rc = harness_run(NULL, argv, NULL, &out, &errout);
    ck_assert_int_eq(rc, 2);
    ck_assert_ptr_nonnull(strstr(errout, "loopback"));
    free(out);
    free(errout);

    const char *argv2[] = {harness_valvd(), "--listen", "127.0.0.1:0", NULL};
    rc = harness_run(NULL, argv2, NULL, &out, &errout);
    ck_assert_int_eq(rc, 2);
    ck_assert_ptr_nonnull(strstr(errout, "--dev"));
    free(out);
    free(errout);
}
END_TEST


/* --- Links, inheritance and review ------------------------------------------------------ */

static int link_call(bool create, const char *from, const char *to, Valv__V1__LinkType type,
                     valv_error *err)
{
    void *out = NULL;
    int rc;
    if (create) {
        Valv__V1__Link link;
        valv__v1__link__init(&link);
        link.from_asset = (char *)from;
        link.to_asset = (char *)to;
        link.type = type;
        Valv__V1__CreateLinkRequest req;
        valv__v1__create_link_request__init(&req);
        req.link = &link;
        rc = call(INV "CreateLink", &req, &valv__v1__link__descriptor, &out, err);
    } else {
        Valv__V1__DeleteLinkRequest req;
        valv__v1__delete_link_request__init(&req);
        req.from_asset = (char *)from;
        req.to_asset = (char *)to;
        req.type = type;
        rc = call(INV "DeleteLink", &req, &google__protobuf__empty__descriptor, &out, err);
    }
    if (out != NULL)
        protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}

/* Sets classification.confidentiality, or security.security_class. */
static Valv__V1__Asset *classify(const char *name, Valv__V1__Level k, Valv__V1__SecurityClass sc)
{
    Valv__V1__Classification cl;
    valv__v1__classification__init(&cl);
    cl.confidentiality = k;
    Valv__V1__SecurityProtection sp;
    valv__v1__security_protection__init(&sp);
    sp.security_class = sc;
    Valv__V1__Asset patch;
    valv__v1__asset__init(&patch);
    patch.name = (char *)name;
    patch.classification = &cl;
    patch.security = &sp;
    char *paths[] = {"classification.confidentiality", "security.security_class"};
    Valv__V1__Asset *out = NULL;
    valv_error err;
    int rc = update(&patch, paths, 2, &out, &err);
    ck_assert_msg(rc == VALV_OK, "classify %s: %s", name, err.message);
    return out;
}

static int review_call(bool approve, const char *name, const char *etag, const char *comment,
                       Valv__V1__Asset **out, valv_error *err)
{
    *out = NULL;
    if (approve) {
        Valv__V1__ApproveAssetRequest req;
        valv__v1__approve_asset_request__init(&req);
        req.name = (char *)name;
        req.etag = (char *)etag;
        req.comment = (char *)comment;
        return call("/valv.v1.Review/ApproveAsset", &req, &valv__v1__asset__descriptor, out, err);
    }
    Valv__V1__ReturnAssetRequest req;
    valv__v1__return_asset_request__init(&req);
    req.name = (char *)name;
    req.etag = (char *)etag;
    req.comment = (char *)comment;
    return call("/valv.v1.Review/ReturnAsset", &req, &valv__v1__asset__descriptor, out, err);
}

static Valv__V1__ListReviewQueueResponse *queue(const char *unit)
{
    Valv__V1__ListReviewQueueRequest req;
    valv__v1__list_review_queue_request__init(&req);
    if (unit != NULL)
        req.owner_unit = (char *)unit;
    Valv__V1__ListReviewQueueResponse *resp = NULL;
    valv_error err;
    ck_assert_int_eq(call("/valv.v1.Review/ListReviewQueue", &req,
                          &valv__v1__list_review_queue_response__descriptor, &resp, &err), VALV_OK);
    return resp;
}

START_TEST(test_link_rules_and_errors)
{
    start();
    free_asset(create("personakter", VALV__V1__ASSET_KIND__INFORMATION, "Personakter", "soc"));
    free_asset(create("procapita", VALV__V1__ASSET_KIND__IT_SYSTEM, "Procapita", "soc"));
    free_asset(create("serverrum", VALV__V1__ASSET_KIND__FACILITY, "SR-Kungsholmen", "fast"));
    valv_error err;

    ck_assert_int_eq(link_call(true, "assets/personakter", "assets/procapita", VALV__V1__LINK_TYPE__PROCESSED_BY, &err), VALV_OK);
    ck_assert_int_eq(link_call(true, "assets/personakter", "assets/procapita", VALV__V1__LINK_TYPE__PROCESSED_BY, &err), VALV_EEXIST);
    /* A wrong pair names both kinds. */
    ck_assert_int_eq(link_call(true, "assets/personakter", "assets/serverrum", VALV__V1__LINK_TYPE__HOSTED_IN, &err), VALV_EINVAL);
    ck_assert_msg(strstr(err.message, "INFORMATION") && strstr(err.message, "FACILITY"), "message: %s", err.message);
    ck_assert_int_eq(link_call(true, "assets/personakter", "assets/nowhere", VALV__V1__LINK_TYPE__PROCESSED_BY, &err), VALV_ENOTFOUND);
    ck_assert_int_eq(link_call(true, "assets/personakter", "assets/procapita", VALV__V1__LINK_TYPE__LINK_TYPE_UNSPECIFIED, &err), VALV_EINVAL);
    ck_assert(has_violation(&err, "link.type"));
    ck_assert_int_eq(link_call(true, "personakter", "assets/procapita", VALV__V1__LINK_TYPE__PROCESSED_BY, &err), VALV_EINVAL);
    ck_assert(has_violation(&err, "link.from_asset"));

    /* An asset with links is deleted only with force. */
    Valv__V1__DeleteAssetRequest del;
    valv__v1__delete_asset_request__init(&del);
    del.name = "assets/procapita";
    Valv__V1__Asset *out = NULL;
    ck_assert_int_eq(call(INV "DeleteAsset", &del, &valv__v1__asset__descriptor, &out, &err), VALV_EPRECONDITION);
    ck_assert_ptr_nonnull(strstr(err.message, "force"));

    /* Links to deleted assets are refused. */
    del.name = "assets/serverrum";
    ck_assert_int_eq(call(INV "DeleteAsset", &del, &valv__v1__asset__descriptor, &out, &err), VALV_OK);
    free_asset(out);
    ck_assert_int_eq(link_call(true, "assets/procapita", "assets/serverrum", VALV__V1__LINK_TYPE__HOSTED_IN, &err), VALV_EPRECONDITION);

    /* ListLinks sees the link from both ends; DeleteLink removes it once. */
    Valv__V1__ListLinksRequest lreq;
    valv__v1__list_links_request__init(&lreq);
    lreq.asset = "assets/procapita";
    Valv__V1__ListLinksResponse *links = NULL;
    ck_assert_int_eq(call(INV "ListLinks", &lreq, &valv__v1__list_links_response__descriptor, &links, &err), VALV_OK);
    ck_assert_int_eq(links->n_links, 1);
    ck_assert_str_eq(links->links[0]->from_asset, "assets/personakter");
    valv__v1__list_links_response__free_unpacked(links, NULL);
    ck_assert_int_eq(link_call(false, "assets/personakter", "assets/procapita", VALV__V1__LINK_TYPE__PROCESSED_BY, &err), VALV_OK);
    ck_assert_int_eq(link_call(false, "assets/personakter", "assets/procapita", VALV__V1__LINK_TYPE__PROCESSED_BY, &err), VALV_ENOTFOUND);
    stop();
}
END_TEST

START_TEST(test_inherited_protection_and_review_queue)
{
    start();
    free_asset(create("personakter", VALV__V1__ASSET_KIND__INFORMATION, "Personakter", "soc"));
    free_asset(create("procapita", VALV__V1__ASSET_KIND__IT_SYSTEM, "Procapita", "soc"));
    free_asset(create("serverrum", VALV__V1__ASSET_KIND__FACILITY, "SR-Kungsholmen", "fast"));
    valv_error err;
    ck_assert_int_eq(link_call(true, "assets/personakter", "assets/procapita", VALV__V1__LINK_TYPE__PROCESSED_BY, &err), VALV_OK);
    ck_assert_int_eq(link_call(true, "assets/procapita", "assets/serverrum", VALV__V1__LINK_TYPE__HOSTED_IN, &err), VALV_OK);

    /* K3 on the information reaches the server room, which names its source. */
    free_asset(classify("assets/personakter", VALV__V1__LEVEL__SERIOUS, VALV__V1__SECURITY_CLASS__SECURITY_CLASS_UNSPECIFIED));
    Valv__V1__Asset *room = NULL;
    ck_assert_int_eq(get("assets/serverrum", &room, &err), VALV_OK);
    ck_assert_ptr_nonnull(room->effective);
    ck_assert_int_eq(room->effective->confidentiality, VALV__V1__LEVEL__SERIOUS);
    bool named = false;
    for (size_t i = 0; i < room->effective->n_sources; i++)
        if (strcmp(room->effective->sources[i]->key, "confidentiality") == 0)
            named = strcmp(room->effective->sources[i]->value, "assets/personakter") == 0;
    ck_assert_msg(named, "effective.sources[confidentiality] does not name assets/personakter");
    ck_assert(!room->effective->flagged);
    free_asset(room);

    Valv__V1__ListReviewQueueResponse *q = queue(NULL);
    ck_assert_int_eq(q->n_assets, 0);
    valv__v1__list_review_queue_response__free_unpacked(q, NULL);

    /* SECRET flags everything downstream: all three are in the queue. */
    free_asset(classify("assets/personakter", VALV__V1__LEVEL__SERIOUS, VALV__V1__SECURITY_CLASS__SECRET));
    q = queue(NULL);
    ck_assert_int_eq(q->n_assets, 3);
    for (size_t i = 0; i < q->n_assets; i++)
        ck_assert_int_eq(q->assets[i]->review->state, VALV__V1__REVIEW_STATE__PENDING);
    valv__v1__list_review_queue_response__free_unpacked(q, NULL);
    q = queue("fast");
    ck_assert_int_eq(q->n_assets, 1);
    char *etag = strdup(q->assets[0]->etag);
    valv__v1__list_review_queue_response__free_unpacked(q, NULL);

    /* Approval needs the etag the chief saw and a comment. */
    Valv__V1__Asset *out = NULL;
    ck_assert_int_eq(review_call(true, "assets/serverrum", "", "ok", &out, &err), VALV_EINVAL);
    ck_assert(has_violation(&err, "etag"));
    ck_assert_int_eq(review_call(true, "assets/serverrum", etag, "", &out, &err), VALV_EINVAL);
    ck_assert(has_violation(&err, "comment"));
    ck_assert_int_eq(review_call(true, "assets/serverrum", "999999", "ok", &out, &err), VALV_EABORTED);
    ck_assert_int_eq(review_call(true, "assets/serverrum", etag, "Checked the locks", &out, &err), VALV_OK);
    ck_assert_int_eq(out->review->state, VALV__V1__REVIEW_STATE__APPROVED);
    ck_assert_str_eq(out->review->reviewer, "dev");
    ck_assert_ptr_nonnull(out->review->due_time);
    /* About a year later by default. */
    int64_t days = (out->review->due_time->seconds - out->review->review_time->seconds) / 86400;
    ck_assert_int_eq(days, 365);
    free_asset(out);
    free(etag);
    q = queue(NULL);
    ck_assert_int_eq(q->n_assets, 2);
    valv__v1__list_review_queue_response__free_unpacked(q, NULL);

    /* Returned to the owner; still in the queue, as RETURNED. */
    Valv__V1__Asset *sys = NULL;
    ck_assert_int_eq(get("assets/procapita", &sys, &err), VALV_OK);
    ck_assert_int_eq(review_call(false, "assets/procapita", sys->etag, "Describe the backups", &out, &err), VALV_OK);
    ck_assert_int_eq(out->review->state, VALV__V1__REVIEW_STATE__RETURNED);
    free_asset(out);
    free_asset(sys);

    /* Lowering the class again unflags everything: the queue empties and
     * nothing needs review. */
    free_asset(classify("assets/personakter", VALV__V1__LEVEL__SERIOUS, VALV__V1__SECURITY_CLASS__NOT_CLASSIFIED));
    q = queue(NULL);
    ck_assert_int_eq(q->n_assets, 0);
    valv__v1__list_review_queue_response__free_unpacked(q, NULL);
    ck_assert_int_eq(get("assets/serverrum", &room, &err), VALV_OK);
    ck_assert(!room->effective->flagged);
    ck_assert_int_eq(review_call(true, "assets/serverrum", room->etag, "ok", &out, &err), VALV_EPRECONDITION);
    free_asset(room);
    stop();
}
END_TEST


/* --- Audit trail and change feed ------------------------------------------------------------ */

/* A watch from revision after. Its deadline is long enough for the
 * slowest test (1500 large writes under ASan on a busy machine) and short
 * enough that a hang still fails. */
#define WATCH_DEADLINE_MS 120000

static rpc_stream *watch_open(int64_t after, const char *filter)
{
    Valv__V1__WatchChangesRequest req;
    valv__v1__watch_changes_request__init(&req);
    req.start_revision = after;
    if (filter != NULL)
        req.filter = (char *)filter;
    rpc_stream *st = NULL;
    valv_error err;
    valv_error_clear(&err);
    ck_assert_msg(rpc_stream_open(conn, INV "WatchChanges", &req.base, WATCH_DEADLINE_MS, &st, &err) == VALV_OK,
                  "watch: %s", err.message);
    return st;
}

/* Reads max events from st, which started after `after`, counting each
 * revision in seen[]; then disconnects. Returns the last revision. */
static int64_t watch_read(rpc_stream *st, int64_t after, int max, int *seen, int seen_cap)
{
    int64_t last = after;
    valv_error err;
    for (int i = 0; i < max; i++) {
        ProtobufCMessage *msg = NULL;
        valv_error_clear(&err);
        int rc = rpc_stream_next(st, &valv__v1__watch_changes_response__descriptor, &msg, &err);
        ck_assert_msg(rc == VALV_OK && msg != NULL, "watch ended early: %s %s", valv_code_name(rc), err.message);
        Valv__V1__WatchChangesResponse *resp = (Valv__V1__WatchChangesResponse *)msg;
        int64_t rev = resp->event->revision;
        ck_assert_msg(rev > last, "revision %lld after %lld", (long long)rev, (long long)last);
        if (rev < seen_cap)
            seen[rev]++;
        last = rev;
        protobuf_c_message_free_unpacked(msg, NULL);
    }
    rpc_stream_close(st); /* the client disconnects mid-stream */
    return last;
}

START_TEST(test_watch_resumes_without_loss_during_writes)
{
    start();
    enum { N = 150 };
    static int seen[N + 2];
    memset(seen, 0, sizeof seen);
    free_asset(create("first", VALV__V1__ASSET_KIND__IT_SYSTEM, "First", "it")); /* revision 1 */
    bulk_writer b = {.n = N};
    pthread_t t;
    pthread_create(&t, NULL, create_n, &b); /* revisions 2 .. N+1 */
    /* Three watches, each cut off after 50 events and resumed from the last
     * revision it saw, while the writes go on. */
    int64_t last = 1;
    for (int round = 0; round < 3; round++)
        last = watch_read(watch_open(last, NULL), last, 50, seen, N + 2);
    pthread_join(t, NULL);
    ck_assert_int_eq(b.ok, N);
    ck_assert_int_eq(last, N + 1);
    for (int rev = 2; rev <= N + 1; rev++)
        ck_assert_msg(seen[rev] == 1, "revision %d seen %d times", rev, seen[rev]);
    stop();
}
END_TEST

START_TEST(test_watch_filter_and_bad_requests)
{
    start();
    free_asset(create("kultur-sys", VALV__V1__ASSET_KIND__IT_SYSTEM, "Kultursystem", "kultur"));
    free_asset(create("it-sys", VALV__V1__ASSET_KIND__IT_SYSTEM, "IT-system", "it"));
    free_asset(create("kultur-hus", VALV__V1__ASSET_KIND__FACILITY, "Kulturhuset", "kultur"));

    /* Following live changes with a filter: only kultur's. (Resuming after
     * revision 3 rather than "from now" (0), which would race with the
     * creates below.) */
    rpc_stream *st = watch_open(3, "owner_unit = kultur");
    valv_error err;
    valv_error_clear(&err);
    free_asset(create("it-sys-2", VALV__V1__ASSET_KIND__IT_SYSTEM, "IT 2", "it"));
    free_asset(create("kultur-2", VALV__V1__ASSET_KIND__IT_SYSTEM, "Kultur 2", "kultur"));
    ProtobufCMessage *msg = NULL;
    ck_assert_int_eq(rpc_stream_next(st, &valv__v1__watch_changes_response__descriptor, &msg, &err), VALV_OK);
    ck_assert_ptr_nonnull(msg);
    Valv__V1__WatchChangesResponse *resp = (Valv__V1__WatchChangesResponse *)msg;
    ck_assert_str_eq(resp->event->asset, "assets/kultur-2");
    ck_assert_int_eq(resp->event->action, VALV__V1__AUDIT_ACTION__ACTION_CREATE);
    protobuf_c_message_free_unpacked(msg, NULL);
    rpc_stream_close(st);

    /* Replay from revision 1 with the filter: kultur's other two. */
    st = watch_open(1, "owner_unit = kultur");
    ck_assert_int_eq(rpc_stream_next(st, &valv__v1__watch_changes_response__descriptor, &msg, &err), VALV_OK);
    resp = (Valv__V1__WatchChangesResponse *)msg;
    ck_assert_str_eq(resp->event->asset, "assets/kultur-hus");
    protobuf_c_message_free_unpacked(msg, NULL);
    rpc_stream_close(st);

    /* A bad filter, and a revision from the future. */
    st = watch_open(0, "owner_unit = = x");
    ck_assert_int_eq(rpc_stream_next(st, &valv__v1__watch_changes_response__descriptor, &msg, &err), VALV_EINVAL);
    ck_assert_ptr_null(msg);
    rpc_stream_close(st);
    st = watch_open(1000, NULL);
    ck_assert_int_eq(rpc_stream_next(st, &valv__v1__watch_changes_response__descriptor, &msg, &err), VALV_ERANGE);
    rpc_stream_close(st);
    stop();
}
END_TEST

START_TEST(test_audit_events_and_verify)
{
    start();
    Valv__V1__Asset *a = create("lon", VALV__V1__ASSET_KIND__IT_SYSTEM, "Lön", "personal");
    free_asset(classify("assets/lon", VALV__V1__LEVEL__SERIOUS, VALV__V1__SECURITY_CLASS__NOT_CLASSIFIED));
    /* A failed change writes no event. */
    Valv__V1__Asset patch;
    valv__v1__asset__init(&patch);
    patch.name = "assets/lon";
    patch.etag = "stale";
    patch.owner = "Someone";
    char *paths[] = {"owner"};
    Valv__V1__Asset *out = NULL;
    valv_error err;
    ck_assert_int_eq(update(&patch, paths, 1, &out, &err), VALV_EABORTED);
    free_asset(a);

    Valv__V1__ListAuditEventsRequest req;
    valv__v1__list_audit_events_request__init(&req);
    req.asset = "assets/lon";
    Valv__V1__ListAuditEventsResponse *resp = NULL;
    ck_assert_int_eq(call("/valv.v1.Audit/ListAuditEvents", &req,
                          &valv__v1__list_audit_events_response__descriptor, &resp, &err), VALV_OK);
    ck_assert_int_eq(resp->n_events, 2);
    ck_assert_int_eq(resp->events[0]->action, VALV__V1__AUDIT_ACTION__ACTION_CREATE);
    ck_assert_str_eq(resp->events[0]->actor, "dev");
    ck_assert_int_eq(resp->events[1]->action, VALV__V1__AUDIT_ACTION__ACTION_UPDATE);
    bool before_after = false;
    for (size_t i = 0; i < resp->events[1]->n_changes; i++) {
        Valv__V1__FieldChange *ch = resp->events[1]->changes[i];
        if (strcmp(ch->field, "classification.confidentiality") == 0)
            before_after = strcmp(ch->after, "SERIOUS") == 0;
    }
    ck_assert_msg(before_after, "no classification.confidentiality change to SERIOUS");
    valv__v1__list_audit_events_response__free_unpacked(resp, NULL);

    Valv__V1__VerifyAuditLogRequest vreq;
    valv__v1__verify_audit_log_request__init(&vreq);
    Valv__V1__VerifyAuditLogResponse *vresp = NULL;
    ck_assert_int_eq(call("/valv.v1.Audit/VerifyAuditLog", &vreq,
                          &valv__v1__verify_audit_log_response__descriptor, &vresp, &err), VALV_OK);
    ck_assert(vresp->ok);
    ck_assert_int_eq(vresp->last_revision, 2);
    valv__v1__verify_audit_log_response__free_unpacked(vresp, NULL);

    /* Offline: valvd verify on the stopped server's directory. */
    rpc_close(conn);
    conn = NULL;
    ck_assert_int_eq(harness_stop(&srv), 0);
    char *text = NULL;
    ck_assert_int_eq(harness_verify(srv.data_dir, &text, NULL), 0);
    ck_assert_ptr_nonnull(strstr(text, "intact"));
    free(text);
    harness_cleanup(&srv);
}
END_TEST


/* Updates assets/busy's description n times through its own connection, so
 * that replies never wait behind the stalled watch's flow control. */
static void update_busy(int n, int round)
{
    rpc_conn *own = NULL;
    valv_error err;
    ck_assert_int_eq(harness_connect(&srv, NULL, NULL, &own, &err), VALV_OK);
    static char text[8001];
    for (int i = 0; i < n; i++) {
        memset(text, 'a' + (i + round) % 26, sizeof text - 1); /* a big event: 8 KB before and after */
        Valv__V1__Asset patch;
        valv__v1__asset__init(&patch);
        patch.name = "assets/busy";
        patch.description = text;
        char *paths[] = {"description"};
        Google__Protobuf__FieldMask mask;
        google__protobuf__field_mask__init(&mask);
        mask.n_paths = 1;
        mask.paths = paths;
        Valv__V1__UpdateAssetRequest req;
        valv__v1__update_asset_request__init(&req);
        req.asset = &patch;
        req.update_mask = &mask;
        Valv__V1__Asset *out = NULL;
        ck_assert_int_eq(rpc_unary(own, INV "UpdateAsset", &req.base, &valv__v1__asset__descriptor,
                                   (ProtobufCMessage **)&out, 10000, &err), VALV_OK);
        valv__v1__asset__free_unpacked(out, NULL);
    }
    rpc_close(own);
}

START_TEST(test_watch_that_stops_reading_is_cut_off)
{
    const char *args[] = {"--watch-stall", "1", NULL};
    memset(&srv, 0, sizeof srv);
    ck_assert_int_eq(harness_start(&srv, args), 0);
    valv_error err;
    ck_assert_int_eq(harness_connect(&srv, NULL, NULL, &conn, &err), VALV_OK);
    free_asset(create("busy", VALV__V1__ASSET_KIND__IT_SYSTEM, "Busy", "it")); /* revision 1 */

    /* A watch that takes nothing while some 25 MB of events pile up: more
     * than HTTP/2 flow control lets the client's transport buffer. */
    rpc_stream *st = watch_open(1, NULL);
    update_busy(1500, 0);
    sleep(2);
    update_busy(1, 1); /* a commit after the stall limit: the server looks and cuts it off */

    /* The client finally reads: what was sent, then RESOURCE_EXHAUSTED. */
    int received = 0, rc;
    ProtobufCMessage *msg = NULL;
    while ((rc = rpc_stream_next(st, &valv__v1__watch_changes_response__descriptor, &msg, &err)) == VALV_OK &&
           msg != NULL) {
        received++;
        protobuf_c_message_free_unpacked(msg, NULL);
    }
    ck_assert_msg(rc == VALV_EFULL, "the watch ended with %s: %s", valv_code_name(rc), err.message);
    ck_assert_ptr_nonnull(strstr(err.message, "resume"));
    ck_assert_int_lt(received, 1501);
    rpc_stream_close(st);

    /* The server is fine, and a new watch resumes from the last revision received. */
    st = watch_open(1 + received, NULL);
    ck_assert_int_eq(rpc_stream_next(st, &valv__v1__watch_changes_response__descriptor, &msg, &err), VALV_OK);
    ck_assert_ptr_nonnull(msg);
    ck_assert_int_eq(((Valv__V1__WatchChangesResponse *)msg)->event->revision, 2 + received);
    protobuf_c_message_free_unpacked(msg, NULL);
    rpc_stream_close(st);
    stop();
}
END_TEST

/* --- Imports cut off ----------------------------------------------------------- */

#define CUT_BATCH 100 /* records per batch */

/* Sends batch b of an import of records "r-B-J", each (but the first)
 * DEPENDS_ON the record before it in the same batch; the last record
 * carries a classification (which an import refuses) when last_bad. */
static int cut_send_batch_with(rpc_upload *up, int b, bool last_bad, valv_error *err)
{
    static Valv__V1__Classification refused = VALV__V1__CLASSIFICATION__INIT;
    refused.rationale = "set by a scanner";
    static char ids[CUT_BATCH][32], names[CUT_BATCH][48], targets[CUT_BATCH][32];
    Valv__V1__ImportRecord recs[CUT_BATCH], *rec_ptrs[CUT_BATCH];
    Valv__V1__ImportLink links[CUT_BATCH], *link_ptrs[CUT_BATCH];
    for (int j = 0; j < CUT_BATCH; j++) {
        valv__v1__import_record__init(&recs[j]);
        snprintf(ids[j], sizeof ids[j], "r-%d-%d", b, j);
        snprintf(names[j], sizeof names[j], "System %d of batch %d", j, b);
        recs[j].external_id = ids[j];
        recs[j].kind = VALV__V1__ASSET_KIND__IT_SYSTEM;
        recs[j].display_name = names[j];
        recs[j].owner_unit = "drift";
        if (j > 0) {
            valv__v1__import_link__init(&links[j]);
            snprintf(targets[j], sizeof targets[j], "r-%d-%d", b, j - 1);
            links[j].type = VALV__V1__LINK_TYPE__DEPENDS_ON;
            links[j].to_external_id = targets[j];
            link_ptrs[j] = &links[j];
            recs[j].links = &link_ptrs[j];
            recs[j].n_links = 1;
        }
        if (last_bad && j == CUT_BATCH - 1)
            recs[j].classification = &refused;
        rec_ptrs[j] = &recs[j];
    }
    Valv__V1__ImportBatch batch = VALV__V1__IMPORT_BATCH__INIT;
    batch.records = rec_ptrs;
    batch.n_records = CUT_BATCH;
    Valv__V1__ImportAssetsRequest msg = VALV__V1__IMPORT_ASSETS_REQUEST__INIT;
    msg.message_case = VALV__V1__IMPORT_ASSETS_REQUEST__MESSAGE_BATCH;
    msg.batch = &batch;
    return rpc_upload_send(up, &msg.base, err);
}

static int cut_send_batch(rpc_upload *up, int b, valv_error *err)
{
    return cut_send_batch_with(up, b, false, err);
}

static rpc_upload *cut_open(const char *source, bool atomic)
{
    rpc_upload *up = NULL;
    valv_error err;
    valv_error_clear(&err);
    ck_assert_int_eq(rpc_upload_open(conn, INV "ImportAssets", 0, &up, &err), VALV_OK);
    Valv__V1__ImportHeader header = VALV__V1__IMPORT_HEADER__INIT;
    header.source = (char *)source;
    header.mode = VALV__V1__IMPORT_MODE__UPSERT;
    header.atomic = atomic;
    Valv__V1__ImportAssetsRequest msg = VALV__V1__IMPORT_ASSETS_REQUEST__INIT;
    msg.message_case = VALV__V1__IMPORT_ASSETS_REQUEST__MESSAGE_HEADER;
    msg.header = &header;
    ck_assert_int_eq(rpc_upload_send(up, &msg.base, &err), VALV_OK);
    return up;
}

/* The live assets of source, all of them (at most 1000). */
static Valv__V1__ListAssetsResponse *cut_list(const char *source)
{
    char filter[64];
    snprintf(filter, sizeof filter, "source = \"%s\"", source);
    Valv__V1__ListAssetsResponse *resp = NULL;
    valv_error err;
    ck_assert_int_eq(list(filter, 1000, NULL, false, &resp, &err), VALV_OK);
    return resp;
}

START_TEST(test_import_cut_off_keeps_whole_batches)
{
    start();
    valv_error err;
    valv_error_clear(&err);

    /* A stream that breaks after its first batch went in. */
    rpc_upload *up = cut_open("cmdb", false);
    ck_assert_int_eq(cut_send_batch(up, 0, &err), VALV_OK);
    size_t committed = 0;
    for (int tries = 0; tries < 200 && committed < CUT_BATCH; tries++) {
        Valv__V1__ListAssetsResponse *r = cut_list("cmdb");
        committed = r->n_assets;
        valv__v1__list_assets_response__free_unpacked(r, NULL);
        if (committed < CUT_BATCH)
            usleep(50 * 1000);
    }
    ck_assert_int_eq(committed, CUT_BATCH);
    for (int b = 1; b <= 3; b++)
        cut_send_batch(up, b, &err); /* may fail once the cut reaches the server: fine */
    rpc_upload_close(up); /* no finish: the client goes away mid-stream */

    /* An atomic import cut off writes nothing at all. */
    up = cut_open("atomic", true);
    ck_assert_int_eq(cut_send_batch(up, 0, &err), VALV_OK);
    ck_assert_int_eq(cut_send_batch(up, 1, &err), VALV_OK);
    rpc_upload_close(up);

    /* Stop (a batch in flight finishes or is dropped whole), check the
     * directory offline, and look again after a restart. */
    rpc_close(conn);
    conn = NULL;
    ck_assert_int_eq(harness_stop(&srv), 0);
    char *text = NULL;
    ck_assert_int_eq(harness_verify(srv.data_dir, &text, NULL), 0);
    ck_assert_ptr_nonnull(strstr(text, "intact"));
    free(text);
    ck_assert_int_eq(harness_start(&srv, NULL), 0);
    ck_assert(harness_connect(&srv, NULL, NULL, &conn, &err) == VALV_OK);

    Valv__V1__ListAssetsResponse *atomic = cut_list("atomic");
    ck_assert_int_eq(atomic->n_assets, 0);
    valv__v1__list_assets_response__free_unpacked(atomic, NULL);

    /* Whole batches only, and every record that is there has its link. */
    Valv__V1__ListAssetsResponse *r = cut_list("cmdb");
    ck_assert_uint_ge(r->n_assets, CUT_BATCH);
    ck_assert_uint_eq(r->n_assets % CUT_BATCH, 0);
    int per_batch[4] = {0};
    for (size_t i = 0; i < r->n_assets; i++) {
        int b = -1, j = -1;
        ck_assert_int_eq(sscanf(r->assets[i]->external_id, "r-%d-%d", &b, &j), 2);
        ck_assert(b >= 0 && b < 4);
        per_batch[b]++;
        if (j == 0)
            continue;
        Valv__V1__ListLinksRequest lreq = VALV__V1__LIST_LINKS_REQUEST__INIT;
        lreq.asset = r->assets[i]->name;
        Valv__V1__ListLinksResponse *links = NULL;
        ck_assert_int_eq(call(INV "ListLinks", &lreq, &valv__v1__list_links_response__descriptor,
                              &links, &err), VALV_OK);
        bool depends = false;
        for (size_t k = 0; k < links->n_links; k++)
            depends |= links->links[k]->type == VALV__V1__LINK_TYPE__DEPENDS_ON &&
                        strcmp(links->links[k]->from_asset, r->assets[i]->name) == 0;
        ck_assert_msg(depends, "%s went in without its link", r->assets[i]->external_id);
        valv__v1__list_links_response__free_unpacked(links, NULL);
    }
    for (int b = 0; b < 4; b++)
        ck_assert_msg(per_batch[b] == 0 || per_batch[b] == CUT_BATCH, "batch %d is half there: %d of %d",
                      b, per_batch[b], CUT_BATCH);
    valv__v1__list_assets_response__free_unpacked(r, NULL);
    stop();
}
END_TEST

/* A bad message that comes while a batch is with the writer ends the call
 * once the batches before it are in: what was written stays, and the
 * stream is not freed under the writer (the ASan build would say so). */
START_TEST(test_import_bad_message_after_batches_in_flight)
{
    start();
    valv_error err;
    valv_error_clear(&err);
    rpc_upload *up = cut_open("late", false);
    ck_assert_int_eq(cut_send_batch(up, 0, &err), VALV_OK);
    ck_assert_int_eq(cut_send_batch(up, 1, &err), VALV_OK);
    Valv__V1__ImportAssetsRequest empty = VALV__V1__IMPORT_ASSETS_REQUEST__INIT;
    rpc_upload_send(up, &empty.base, &err); /* may fail once the call has ended */
    ProtobufCMessage *resp = NULL;
    ck_assert_int_eq(rpc_upload_finish(up, &valv__v1__import_assets_response__descriptor, &resp, &err),
                     VALV_EINVAL);
    ck_assert_str_eq(err.message, "an empty message; send a header, then batches of records");
    ck_assert_ptr_null(resp);
    rpc_upload_close(up);

    Valv__V1__ListAssetsResponse *r = cut_list("late");
    ck_assert_uint_eq(r->n_assets, 2 * CUT_BATCH);
    valv__v1__list_assets_response__free_unpacked(r, NULL);
    stop();
}
END_TEST

/* Batches sent back to back reach the writer together, several in one
 * transaction, while it works on the first: each failure still names its
 * own record by its place in the stream. */
START_TEST(test_import_failures_keep_their_place_across_batches)
{
    enum { BATCHES = 8 };
    start();
    valv_error err;
    valv_error_clear(&err);
    rpc_upload *up = cut_open("places", false);
    for (int b = 0; b < BATCHES; b++)
        ck_assert_int_eq(cut_send_batch_with(up, b, true, &err), VALV_OK);
    ProtobufCMessage *msg = NULL;
    ck_assert_int_eq(rpc_upload_finish(up, &valv__v1__import_assets_response__descriptor, &msg, &err),
                     VALV_OK);
    rpc_upload_close(up);

    Valv__V1__ImportAssetsResponse *resp = (Valv__V1__ImportAssetsResponse *)msg;
    ck_assert_int_eq(resp->created, BATCHES * (CUT_BATCH - 1));
    ck_assert_int_eq(resp->failed, BATCHES);
    ck_assert_uint_eq(resp->n_failures, BATCHES);
    for (int b = 0; b < BATCHES; b++) {
        char id[32];
        snprintf(id, sizeof id, "r-%d-%d", b, CUT_BATCH - 1);
        ck_assert_int_eq(resp->failures[b]->index, (int64_t)b * CUT_BATCH + CUT_BATCH - 1);
        ck_assert_str_eq(resp->failures[b]->external_id, id);
        ck_assert_ptr_nonnull(strstr(resp->failures[b]->reason, "never sets classification"));
    }
    valv__v1__import_assets_response__free_unpacked(resp, NULL);

    Valv__V1__ListAssetsResponse *r = cut_list("places");
    ck_assert_uint_eq(r->n_assets, BATCHES * (CUT_BATCH - 1));
    valv__v1__list_assets_response__free_unpacked(r, NULL);
    stop();
}
END_TEST

static Suite *e2e_suite(void)
{
    Suite *s = suite_create("e2e");
    TCase *tc = tcase_create("inventory");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_health_check);
    tcase_add_test(tc, test_unknown_method_is_unimplemented);
    tcase_add_test(tc, test_undecodable_request_is_invalid_argument);
    tcase_add_test(tc, test_oversized_request_is_resource_exhausted);
    tcase_add_test(tc, test_create_and_get_round_trip);
    tcase_add_test(tc, test_client_chosen_id_and_duplicates);
    tcase_add_test(tc, test_validation_errors_name_every_field);
    tcase_add_test(tc, test_get_errors);
    tcase_add_test(tc, test_batch_get_keeps_request_order);
    tcase_add_test(tc, test_update_with_mask_and_etag);
    tcase_add_test(tc, test_soft_delete_and_undelete);
    tcase_add_test(tc, test_list_pages_filters_and_bad_tokens);
    tcase_add_test(tc, test_concurrent_writes_all_land_and_survive_restart);
    tcase_add_test(tc, test_dev_mode_refuses_non_loopback);
    tcase_add_test(tc, test_link_rules_and_errors);
    tcase_add_test(tc, test_inherited_protection_and_review_queue);
    tcase_add_test(tc, test_watch_resumes_without_loss_during_writes);
    tcase_add_test(tc, test_watch_filter_and_bad_requests);
    tcase_add_test(tc, test_audit_events_and_verify);
    tcase_add_test(tc, test_watch_that_stops_reading_is_cut_off);
    tcase_add_test(tc, test_import_cut_off_keeps_whole_batches);
    tcase_add_test(tc, test_import_bad_message_after_batches_in_flight);
    tcase_add_test(tc, test_import_failures_keep_their_place_across_batches);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(e2e_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
