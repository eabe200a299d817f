/* test_import.c - inventory imports (store.h, "Imports"): what a record
 * creates, updates or leaves alone, what is refused and how it is
 * reported, SYNC, dry runs, atomic imports, links between records, and a
 * batch the writer runs again. */
#include "limits.h"
#include "store_fixture.h"

#define INFORMATION VALV__V1__ASSET_KIND__INFORMATION
#define IT_SYSTEM VALV__V1__ASSET_KIND__IT_SYSTEM
#define FACILITY VALV__V1__ASSET_KIND__FACILITY

#define PROCESSED_BY VALV__V1__LINK_TYPE__PROCESSED_BY
#define HOSTED_IN VALV__V1__LINK_TYPE__HOSTED_IN
#define DEPENDS_ON VALV__V1__LINK_TYPE__DEPENDS_ON

static const store_actor importer = {.actor = "cmdb-bot", .request_id = "import-1"};

/* --- Records ---------------------------------------------------------------------- */

static char *dup(const char *s)
{
    char *copy = strdup(s);
    ck_assert_ptr_nonnull(copy);
    return copy;
}

/* A heap-owned record (freed with valv__v1__import_record__free_unpacked). */
static Valv__V1__ImportRecord *record(const char *external_id, Valv__V1__AssetKind kind,
                                      const char *display_name, const char *unit)
{
    Valv__V1__ImportRecord *r = malloc(sizeof *r);
    ck_assert_ptr_nonnull(r);
    valv__v1__import_record__init(r);
    r->external_id = dup(external_id);
    r->kind = kind;
    r->display_name = dup(display_name);
    r->owner_unit = dup(unit);
    return r;
}

static void record_attribute(Valv__V1__ImportRecord *r, const char *key, const char *value)
{
    r->attributes = realloc(r->attributes, (r->n_attributes + 1) * sizeof *r->attributes);
    Valv__V1__ImportRecord__AttributesEntry *e = malloc(sizeof *e);
    ck_assert_ptr_nonnull(r->attributes);
    ck_assert_ptr_nonnull(e);
    valv__v1__import_record__attributes_entry__init(e);
    e->key = dup(key);
    e->value = dup(value);
    r->attributes[r->n_attributes++] = e;
}

/* Adds a link to the record of to_external_id, or (with to_asset) to a name. */
static void record_link(Valv__V1__ImportRecord *r, Valv__V1__LinkType type,
                        const char *to_external_id, const char *to_asset)
{
    r->links = realloc(r->links, (r->n_links + 1) * sizeof *r->links);
    Valv__V1__ImportLink *l = malloc(sizeof *l);
    ck_assert_ptr_nonnull(r->links);
    ck_assert_ptr_nonnull(l);
    valv__v1__import_link__init(l);
    l->type = type;
    if (to_external_id != NULL)
        l->to_external_id = dup(to_external_id);
    if (to_asset != NULL)
        l->to_asset = dup(to_asset);
    r->links[r->n_links++] = l;
}

static void records_free(Valv__V1__ImportRecord **records, size_t n)
{
    for (size_t i = 0; i < n; i++)
        valv__v1__import_record__free_unpacked(records[i], NULL);
}

/* --- Running an import --------------------------------------------------------------- */

static store_import_options upsert(const char *source)
{
    store_import_options o = {source, false, false, false};
    return o;
}

/* Makes the calls the writer would make in one job: the batches of
 * records[from, to) of batch_size records each, then finish when asked,
 * in one transaction that is committed; rolled back and made again while a
 * call answers VALV_ERUN_AGAIN, as the writer does. Returns how many times
 * the calls ran. */
static int import_job(store_import *imp, Valv__V1__ImportRecord **records, size_t from, size_t to,
                      size_t batch_size, bool finish)
{
    valv_error err;
    int runs = 0, rc;

    do {
        store_txn *t = txn_begin();
        runs++;
        rc = VALV_OK;
        for (size_t first = from; first < to && rc == VALV_OK; first += batch_size) {
            size_t count = to - first < batch_size ? to - first : batch_size;
            rc = store_import_apply(t, imp, records + first, count, (int64_t)first, &importer,
                                    &err);
        }
        if (rc == VALV_OK && finish)
            rc = store_import_finish(t, imp, &importer, &err);
        if (rc == VALV_OK) {
            ck_assert_int_eq(store_txn_commit(t, &err), VALV_OK);
            store_import_commit_batch(imp);
        } else {
            store_txn_abort(t);
        }
        ck_assert_msg(rc == VALV_OK || rc == VALV_ERUN_AGAIN, "import: %s", err.message);
    } while (rc == VALV_ERUN_AGAIN);
    return runs;
}

/* Runs an import as service/import.c does: each batch of batch_size records
 * in its own committed transaction, then finish in one more; an atomic
 * import applies every batch and finishes in one transaction. Fills *resp
 * (its failures belong to the returned import, which the caller frees). */
static store_import *import_run(store_import_options opts, Valv__V1__ImportRecord **records,
                                size_t n, size_t batch_size,
                                Valv__V1__ImportAssetsResponse *resp)
{
    store_import *imp = NULL;
    valv_error err;

    ck_assert_msg(store_import_begin(s, &opts, &imp, &err) == VALV_OK, "begin: %s", err.message);
    if (opts.atomic) {
        import_job(imp, records, 0, n, batch_size, true);
    } else {
        for (size_t first = 0; first < n; first += batch_size)
            import_job(imp, records, first, n - first < batch_size ? n : first + batch_size,
                       batch_size, false);
        import_job(imp, records, n, n, batch_size, true);
    }
    valv__v1__import_assets_response__init(resp);
    store_import_result(imp, resp);
    return imp;
}

/* import_run for a test that needs only the counts. */
static Valv__V1__ImportAssetsResponse import_once(store_import_options opts,
                                                  Valv__V1__ImportRecord **records, size_t n)
{
    Valv__V1__ImportAssetsResponse resp;
    store_import_free(import_run(opts, records, n, STORE_IMPORT_BATCH_MAX, &resp));
    resp.failures = NULL;
    resp.n_failures = 0;
    return resp;
}

static void assert_counts(const Valv__V1__ImportAssetsResponse *r, int64_t created,
                          int64_t updated, int64_t unchanged, int64_t deleted, int64_t failed)
{
    ck_assert_msg(r->created == created && r->updated == updated && r->unchanged == unchanged &&
                      r->deleted == deleted && r->failed == failed,
                  "counts created %lld updated %lld unchanged %lld deleted %lld failed %lld; "
                  "expected %lld %lld %lld %lld %lld",
                  (long long)r->created, (long long)r->updated, (long long)r->unchanged,
                  (long long)r->deleted, (long long)r->failed, (long long)created,
                  (long long)updated, (long long)unchanged, (long long)deleted,
                  (long long)failed);
}

/* The live asset of source with external_id (caller frees), or NULL. */
static Valv__V1__Asset *find(const char *source, const char *external_id)
{
    char filter[128];
    store_list_result res;
    valv_error err;
    Valv__V1__Asset *found = NULL;

    snprintf(filter, sizeof filter, "source = \"%s\"", source);
    store_list_request req = {.filter = filter, .page_size = VALV_PAGE_SIZE_MAX};
    ck_assert_msg(store_list_assets(s, &req, &res, &err) == VALV_OK, "list: %s", err.message);
    for (size_t i = 0; i < res.n_assets && found == NULL; i++) {
        if (strcmp(res.assets[i]->external_id, external_id) == 0 &&
            res.assets[i]->delete_time == NULL) {
            found = res.assets[i];
            res.assets[i] = NULL;
        }
    }
    store_list_result_free(&res);
    return found;
}

/* The id of the asset of source with external_id; the test fails without one. */
static const char *id_of(const char *source, const char *external_id)
{
    static char ids[4][VALV_ASSET_ID_MAX + 1];
    static int next;
    Valv__V1__Asset *a = find(source, external_id);
    ck_assert_msg(a != NULL, "no asset of %s has external_id %s", source, external_id);
    char *id = ids[next++ % 4];
    snprintf(id, VALV_ASSET_ID_MAX + 1, "%s", a->name + strlen("assets/"));
    asset_free(a);
    return id;
}

/* How many links asset id has (both directions); *from_source counts those
 * whose Link.source is source. */
static size_t links_of(const char *id, const char *source, size_t *from_source)
{
    store_link_list_result res;
    valv_error err;
    ck_assert_msg(store_list_links(s, id, NULL, VALV_PAGE_SIZE_MAX, NULL, &res, &err) == VALV_OK,
                  "links of %s: %s", id, err.message);
    size_t n = res.n_links;
    *from_source = 0;
    for (size_t i = 0; i < res.n_links; i++)
        if (strcmp(res.links[i]->source, source) == 0)
            (*from_source)++;
    store_link_list_result_free(&res);
    return n;
}

static size_t events_after(int64_t revision)
{
    Valv__V1__AuditEvent **events = NULL;
    size_t n = 0;
    valv_error err;
    ck_assert_int_eq(store_read_events(s, revision, 100, &events, &n, &err), VALV_OK);
    for (size_t i = 0; i < n; i++)
        valv__v1__audit_event__free_unpacked(events[i], NULL);
    free(events);
    return n;
}

/* --- Create, update, unchanged --------------------------------------------------------- */

START_TEST(test_counts)
{
    Valv__V1__ImportRecord *r[3] = {record("srv-1", IT_SYSTEM, "Server 1", "it"),
                                    record("srv-2", IT_SYSTEM, "Server 2", "it"),
                                    record("srv-3", IT_SYSTEM, "Server 3", "it")};
    Valv__V1__ImportAssetsResponse resp = import_once(upsert("cmdb"), r, 3);
    assert_counts(&resp, 3, 0, 0, 0, 0);

    Valv__V1__Asset *a = find("cmdb", "srv-2");
    ck_assert_ptr_nonnull(a);
    ck_assert_str_eq(a->display_name, "Server 2");
    ck_assert_str_eq(a->create_by, "cmdb-bot");
    asset_free(a);

    /* One changed, one new, two as they were. */
    free(r[1]->display_name);
    r[1]->display_name = dup("Server two");
    Valv__V1__ImportRecord *more[4] = {r[0], r[1], r[2], record("srv-4", IT_SYSTEM, "S4", "it")};
    resp = import_once(upsert("cmdb"), more, 4);
    assert_counts(&resp, 1, 1, 2, 0, 0);
    a = find("cmdb", "srv-2");
    ck_assert_str_eq(a->display_name, "Server two");
    asset_free(a);
    records_free(more, 4);
}
END_TEST

/* The same import twice: the second changes nothing at all. */
START_TEST(test_idempotent)
{
    Valv__V1__ImportRecord *r[3] = {record("app", IT_SYSTEM, "App", "it"),
                                    record("db", IT_SYSTEM, "Database", "it"),
                                    record("hall", FACILITY, "Server hall", "it")};
    record_attribute(r[0], "hostname", "app01");
    record_attribute(r[0], "os", "debian");
    record_link(r[0], DEPENDS_ON, "db", NULL);
    record_link(r[1], HOSTED_IN, "hall", NULL);
    Valv__V1__ImportAssetsResponse resp = import_once(upsert("cmdb"), r, 3);
    assert_counts(&resp, 3, 0, 0, 0, 0);

    int64_t revision = store_revision(s);
    resp = import_once(upsert("cmdb"), r, 3);
    assert_counts(&resp, 0, 0, 3, 0, 0);
    ck_assert_int_eq(store_revision(s), revision);
    ck_assert_int_eq(events_after(revision), 0);

    /* Attributes in another order are the same attributes. */
    Valv__V1__ImportRecord__AttributesEntry *first = r[0]->attributes[0];
    r[0]->attributes[0] = r[0]->attributes[1];
    r[0]->attributes[1] = first;
    resp = import_once(upsert("cmdb"), r, 3);
    assert_counts(&resp, 0, 0, 3, 0, 0);
    ck_assert_int_eq(store_revision(s), revision);
    records_free(r, 3);
}
END_TEST

/* Every change an import makes is audited with its actor and request id. */
START_TEST(test_audited)
{
    Valv__V1__ImportRecord *r[1] = {record("app", IT_SYSTEM, "App", "it")};
    int64_t revision = store_revision(s);
    import_once(upsert("cmdb"), r, 1);

    Valv__V1__AuditEvent **events = NULL;
    size_t n = 0;
    valv_error err;
    ck_assert_int_eq(store_read_events(s, revision, 10, &events, &n, &err), VALV_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(events[0]->action, VALV__V1__AUDIT_ACTION__ACTION_CREATE);
    ck_assert_str_eq(events[0]->actor, "cmdb-bot");
    ck_assert_str_eq(events[0]->request_id, "import-1");
    valv__v1__audit_event__free_unpacked(events[0], NULL);
    free(events);
    records_free(r, 1);
}
END_TEST

/* --- Refused records -------------------------------------------------------------------- */

START_TEST(test_classification_refused)
{
    Valv__V1__ImportRecord *r[2] = {record("a", INFORMATION, "A", "it"),
                                    record("b", FACILITY, "B", "it")};
    r[0]->classification = malloc(sizeof *r[0]->classification);
    valv__v1__classification__init(r[0]->classification);
    r[0]->classification->confidentiality = LEVEL(3);
    r[1]->security = malloc(sizeof *r[1]->security);
    valv__v1__security_protection__init(r[1]->security);
    r[1]->security->protected_object = true;

    Valv__V1__ImportAssetsResponse resp;
    store_import *imp = import_run(upsert("cmdb"), r, 2, 1000, &resp);
    assert_counts(&resp, 0, 0, 0, 0, 2);
    ck_assert_int_eq(resp.n_failures, 2);
    for (size_t i = 0; i < 2; i++)
        ck_assert_msg(strstr(resp.failures[i]->reason,
                             "an import never sets classification or security protection") !=
                          NULL,
                      "reason: %s", resp.failures[i]->reason);
    ck_assert_ptr_null(find("cmdb", "a"));
    store_import_free(imp);

    /* An empty classification sets nothing and is not refused. */
    valv__v1__classification__free_unpacked(r[0]->classification, NULL);
    r[0]->classification = malloc(sizeof *r[0]->classification);
    valv__v1__classification__init(r[0]->classification);
    resp = import_once(upsert("cmdb"), r, 1);
    assert_counts(&resp, 1, 0, 0, 0, 0);
    records_free(r, 2);
}
END_TEST

START_TEST(test_kind_change_refused)
{
    Valv__V1__ImportRecord *r[1] = {record("x", IT_SYSTEM, "X", "it")};
    import_once(upsert("cmdb"), r, 1);
    r[0]->kind = FACILITY;
    free(r[0]->display_name);
    r[0]->display_name = dup("X renamed");

    Valv__V1__ImportAssetsResponse resp;
    store_import *imp = import_run(upsert("cmdb"), r, 1, 1000, &resp);
    assert_counts(&resp, 0, 0, 0, 0, 1);
    ck_assert_str_eq(resp.failures[0]->reason,
                     "kind is IT_SYSTEM in the store; an import cannot change it");
    store_import_free(imp);
    Valv__V1__Asset *a = find("cmdb", "x");
    ck_assert_str_eq(a->display_name, "X"); /* the record's other facts were not applied */
    asset_free(a);
    records_free(r, 1);
}
END_TEST

/* A bad record is reported with its stream index, external id, origin and
 * every rule it breaks; the records around it are imported. */
START_TEST(test_validation_failure)
{
    Valv__V1__ImportRecord *r[3] = {record("ok-1", IT_SYSTEM, "Fine", "it"),
                                    record("bad", IT_SYSTEM, "", "Not A Unit"),
                                    record("ok-2", IT_SYSTEM, "Fine too", "it")};
    r[1]->origin = dup("systems.csv:3");

    Valv__V1__ImportAssetsResponse resp;
    store_import *imp = import_run(upsert("cmdb"), r, 3, 2, &resp);
    assert_counts(&resp, 2, 0, 0, 0, 1);
    ck_assert_int_eq(resp.n_failures, 1);
    const Valv__V1__ImportFailure *f = resp.failures[0];
    ck_assert_int_eq(f->index, 1);
    ck_assert_str_eq(f->external_id, "bad");
    ck_assert_str_eq(f->origin, "systems.csv:3");
    ck_assert_msg(strstr(f->reason, "display_name: ") != NULL &&
                      strstr(f->reason, "owner_unit: ") != NULL,
                  "reason: %s", f->reason);
    ck_assert_ptr_null(find("cmdb", "bad"));
    store_import_free(imp);

    /* No key at all. */
    free(r[1]->external_id);
    r[1]->external_id = dup("");
    imp = import_run(upsert("cmdb"), &r[1], 1, 1, &resp);
    ck_assert_msg(strstr(resp.failures[0]->reason, "external_id: required") != NULL, "reason: %s",
                  resp.failures[0]->reason);
    store_import_free(imp);
    records_free(r, 3);
}
END_TEST

START_TEST(test_bad_source)
{
    store_import *imp = NULL;
    valv_error err;
    store_import_options o = upsert("Not Valid");
    ck_assert_int_eq(store_import_begin(s, &o, &imp, &err), VALV_EINVAL);
    ck_assert_str_eq(err.violations[0].field, "header.source");
    o = upsert("");
    ck_assert_int_eq(store_import_begin(s, &o, &imp, &err), VALV_EINVAL);
    ck_assert_str_eq(err.violations[0].field, "header.source");
}
END_TEST

/* --- Records keyed by name ------------------------------------------------------------- */

START_TEST(test_name_keyed)
{
    create_ok("payroll", INFORMATION, "hr");
    Valv__V1__ImportRecord *r[2] = {record("", INFORMATION, "Payroll records", "hr"),
                                    record("", INFORMATION, "Ghost", "hr")};
    r[0]->name = dup("assets/payroll");
    r[0]->description = dup("Salaries");
    r[1]->name = dup("assets/ghost");

    Valv__V1__ImportAssetsResponse resp;
    store_import *imp = import_run(upsert("cmdb"), r, 2, 1000, &resp);
    assert_counts(&resp, 0, 1, 0, 0, 1);
    ck_assert_msg(strstr(resp.failures[0]->reason, "never creates") != NULL, "reason: %s",
                  resp.failures[0]->reason);
    store_import_free(imp);

    Valv__V1__Asset *a = get("payroll");
    ck_assert_str_eq(a->display_name, "Payroll records");
    ck_assert_str_eq(a->description, "Salaries");
    ck_assert_str_eq(a->source, ""); /* keyed by name: no import identity given */
    asset_free(a);
    a = NULL;
    ck_assert_int_eq(store_get_asset(s, "ghost", &a, &(valv_error){0}), VALV_ENOTFOUND);
    records_free(r, 2);
}
END_TEST

/* An import never lowers what an owner classified. */
START_TEST(test_classification_kept)
{
    Valv__V1__ImportRecord *r[1] = {record("crm", IT_SYSTEM, "CRM", "sales")};
    import_once(upsert("cmdb"), r, 1);
    const char *id = id_of("cmdb", "crm");
    classify_ok(id, LEVEL(3), 0, 0, 0);

    Valv__V1__ImportAssetsResponse resp = import_once(upsert("cmdb"), r, 1);
    assert_counts(&resp, 0, 0, 1, 0, 0);
    free(r[0]->display_name);
    r[0]->display_name = dup("CRM system");
    resp = import_once(upsert("cmdb"), r, 1);
    assert_counts(&resp, 0, 1, 0, 0, 0);

    Valv__V1__Asset *a = get(id);
    ck_assert_str_eq(a->display_name, "CRM system");
    ck_assert_int_eq(a->classification->confidentiality, LEVEL(3));
    ck_assert_int_eq(a->effective->confidentiality, LEVEL(3));
    asset_free(a);
    records_free(r, 1);
}
END_TEST

/* --- SYNC --------------------------------------------------------------------------------- */

START_TEST(test_sync_deletes_missing)
{
    Valv__V1__ImportRecord *r[3] = {record("a", IT_SYSTEM, "A", "it"),
                                    record("b", IT_SYSTEM, "B", "it"),
                                    record("c", IT_SYSTEM, "C", "it")};
    record_link(r[0], DEPENDS_ON, "c", NULL);
    import_once(upsert("cmdb"), r, 3);
    Valv__V1__ImportRecord *other[1] = {record("a", IT_SYSTEM, "Other A", "it")};
    import_once(upsert("scan"), other, 1);
    create_ok("manual", IT_SYSTEM, "it");
    const char *a_id = id_of("cmdb", "a");
    const char *b_id = id_of("cmdb", "b");
    const char *c_id = id_of("cmdb", "c");
    link_ok("manual", c_id, DEPENDS_ON); /* a person's link to what will go */

    /* b comes by name (an exported record): it is seen too. a now links
     * to b instead of c; c is missing. */
    Valv__V1__ImportRecord *by_name = record("", IT_SYSTEM, "B", "it");
    by_name->name = malloc(80);
    snprintf(by_name->name, 80, "assets/%s", b_id);
    free(r[0]->links[0]->to_external_id);
    r[0]->links[0]->to_external_id = dup("b");
    Valv__V1__ImportRecord *listed[2] = {r[0], by_name};
    store_import_options o = upsert("cmdb");
    o.sync = true;
    Valv__V1__ImportAssetsResponse resp = import_once(o, listed, 2);
    assert_counts(&resp, 0, 1, 1, 1, 0);

    Valv__V1__Asset *c = get(c_id);
    ck_assert_ptr_nonnull(c->delete_time);
    ck_assert_str_eq(c->delete_by, "cmdb-bot");
    asset_free(c);
    size_t own = 0;
    ck_assert_int_eq(links_of(c_id, "cmdb", &own), 0);
    ck_assert_int_eq(links_of("manual", "cmdb", &own), 0);
    ck_assert_int_eq(links_of(a_id, "cmdb", &own), 1);
    ck_assert_int_eq(own, 1);
    Valv__V1__Asset *kept = get(b_id);
    ck_assert_ptr_null(kept->delete_time);
    asset_free(kept);
    kept = find("scan", "a");
    ck_assert_ptr_nonnull(kept);
    asset_free(kept);
    kept = get("manual");
    ck_assert_ptr_null(kept->delete_time);
    asset_free(kept);

    /* The delete names its reason in the audit log. */
    store_audit_query q = {.asset_id = c_id, .action = VALV__V1__AUDIT_ACTION__ACTION_DELETE};
    store_audit_result ar;
    valv_error err;
    ck_assert_int_eq(store_list_audit_events(s, &q, &ar, &err), VALV_OK);
    ck_assert_int_eq(ar.n_events, 1);
    ck_assert_str_eq(ar.events[0]->reason, "not in the SYNC import of source cmdb");
    store_audit_result_free(&ar);

    /* Run again: nothing left to delete, nothing changes. */
    int64_t revision = store_revision(s);
    resp = import_once(o, listed, 2);
    assert_counts(&resp, 0, 0, 2, 0, 0);
    ck_assert_int_eq(store_revision(s), revision);
    records_free(r, 3);
    records_free(other, 1);
    records_free(&by_name, 1);
}
END_TEST

/* A record with a mistake still counts as seen: SYNC does not delete its asset. */
START_TEST(test_sync_keeps_failed_records)
{
    Valv__V1__ImportRecord *r[1] = {record("a", IT_SYSTEM, "A", "it")};
    import_once(upsert("cmdb"), r, 1);
    free(r[0]->owner_unit);
    r[0]->owner_unit = dup("Bad Unit");
    store_import_options o = upsert("cmdb");
    o.sync = true;
    Valv__V1__ImportAssetsResponse resp = import_once(o, r, 1);
    assert_counts(&resp, 0, 0, 0, 0, 1);
    Valv__V1__Asset *a = find("cmdb", "a");
    ck_assert_ptr_nonnull(a);
    asset_free(a);
    records_free(r, 1);
}
END_TEST

/* --- Dry runs and atomic imports ---------------------------------------------------------- */

START_TEST(test_dry_run)
{
    Valv__V1__ImportRecord *r[3] = {record("a", IT_SYSTEM, "A", "it"),
                                    record("b", IT_SYSTEM, "B", "it"),
                                    record("c", INFORMATION, "C", "it")};
    import_once(upsert("cmdb"), &r[1], 1);
    int64_t revision = store_revision(s);

    store_import_options o = upsert("cmdb");
    o.dry_run = true;
    o.sync = true;
    record_link(r[2], PROCESSED_BY, "a", NULL); /* a exists only in this dry run */
    Valv__V1__ImportRecord *dry[2] = {r[2], r[0]};
    Valv__V1__ImportAssetsResponse resp;
    store_import *imp = import_run(o, dry, 2, 1, &resp);
    assert_counts(&resp, 2, 0, 0, 1, 0);
    ck_assert(resp.dry_run);
    ck_assert(!resp.rolled_back);
    store_import_free(imp);
    ck_assert_int_eq(store_revision(s), revision);
    ck_assert_ptr_null(find("cmdb", "a"));
    Valv__V1__Asset *b = find("cmdb", "b");
    ck_assert_ptr_nonnull(b);
    asset_free(b);

    /* Atomic dry runs are exact, and write nothing either. */
    o.atomic = true;
    imp = import_run(o, dry, 2, 1, &resp);
    assert_counts(&resp, 2, 0, 0, 1, 0);
    store_import_free(imp);
    ck_assert_int_eq(store_revision(s), revision);
    records_free(r, 3);
}
END_TEST

START_TEST(test_atomic_rolls_back)
{
    Valv__V1__ImportRecord *r[3] = {record("a", IT_SYSTEM, "A", "it"),
                                    record("b", IT_SYSTEM, "", "it"),
                                    record("c", IT_SYSTEM, "C", "it")};
    int64_t revision = store_revision(s);
    store_import_options o = upsert("cmdb");
    o.atomic = true;
    Valv__V1__ImportAssetsResponse resp;
    store_import *imp = import_run(o, r, 3, 2, &resp);
    ck_assert_int_eq(resp.failed, 1);
    ck_assert(resp.rolled_back);
    ck_assert_int_eq(resp.failures[0]->index, 1);
    store_import_free(imp);
    ck_assert_int_eq(store_revision(s), revision);
    ck_assert_ptr_null(find("cmdb", "a"));

    /* Fixed, the same import writes everything. */
    free(r[1]->display_name);
    r[1]->display_name = dup("B");
    resp = import_once(o, r, 3);
    assert_counts(&resp, 3, 0, 0, 0, 0);
    ck_assert(!resp.rolled_back);
    const char *c_id = id_of("cmdb", "c");
    ck_assert_ptr_nonnull(c_id);
    records_free(r, 3);
}
END_TEST

/* --- Links ------------------------------------------------------------------------------------ */

/* A record may link to records later in the stream; a target that never
 * comes fails the record. */
START_TEST(test_forward_links)
{
    Valv__V1__ImportRecord *r[3] = {record("app", IT_SYSTEM, "App", "it"),
                                    record("orphan", IT_SYSTEM, "Orphan", "it"),
                                    record("db", IT_SYSTEM, "DB", "it")};
    record_link(r[0], DEPENDS_ON, "db", NULL);
    record_link(r[1], DEPENDS_ON, "nowhere", NULL);
    r[1]->origin = dup("systems.csv:2");

    Valv__V1__ImportAssetsResponse resp;
    store_import *imp = import_run(upsert("cmdb"), r, 3, 1, &resp);
    assert_counts(&resp, 2, 0, 0, 0, 1);
    ck_assert_int_eq(resp.failures[0]->index, 1);
    ck_assert_str_eq(resp.failures[0]->origin, "systems.csv:2");
    ck_assert_msg(strstr(resp.failures[0]->reason, "links[0]: no asset of source cmdb has "
                                                   "external_id 'nowhere'") != NULL,
                  "reason: %s", resp.failures[0]->reason);
    store_import_free(imp);

    size_t own = 0;
    ck_assert_int_eq(links_of(id_of("cmdb", "app"), "cmdb", &own), 1);
    ck_assert_int_eq(own, 1);
    records_free(r, 3);
}
END_TEST

/* A link that names no target, or a bad one, fails its record, and the
 * reason names the link by its place in the record. */
START_TEST(test_bad_link_named_by_place)
{
    Valv__V1__ImportRecord *r[3] = {record("neither", IT_SYSTEM, "Neither", "it"),
                                    record("bad-name", IT_SYSTEM, "Bad name", "it"),
                                    record("bad-id", IT_SYSTEM, "Bad id", "it")};
    record_link(r[0], DEPENDS_ON, NULL, NULL);
    record_link(r[1], DEPENDS_ON, "neither", NULL);
    record_link(r[1], DEPENDS_ON, NULL, "systems/x");
    record_link(r[2], DEPENDS_ON, "bad\x01id", NULL);

    Valv__V1__ImportAssetsResponse resp;
    store_import *imp = import_run(upsert("cmdb"), r, 3, 1, &resp);
    assert_counts(&resp, 0, 0, 0, 0, 3);
    ck_assert_msg(strstr(resp.failures[0]->reason, "links[0]: give one of to_external_id") != NULL,
                  "reason: %s", resp.failures[0]->reason);
    ck_assert_msg(strstr(resp.failures[1]->reason, "links[1].to_asset: ") != NULL, "reason: %s",
                  resp.failures[1]->reason);
    ck_assert_msg(strstr(resp.failures[2]->reason, "links[0].to_external_id: ") != NULL,
                  "reason: %s", resp.failures[2]->reason);
    store_import_free(imp);
    records_free(r, 3);
}
END_TEST

/* A record that fails after part of it was written (its asset made, then
 * a link refused) is left out whole. The calls run once more, giving it and
 * every record after it a transaction of its own, so a second such record
 * needs no third run; the records around them go in. */
START_TEST(test_half_written_record_left_out)
{
    create_ok("srv", IT_SYSTEM, "it");
    int64_t before = store_revision(s);
    Valv__V1__ImportRecord *r[5] = {
        record("a", IT_SYSTEM, "A", "it"), record("bad-1", IT_SYSTEM, "Bad 1", "it"),
        record("c", IT_SYSTEM, "C", "it"), record("bad-2", IT_SYSTEM, "Bad 2", "it"),
        record("e", IT_SYSTEM, "E", "it")};
    record_link(r[1], PROCESSED_BY, NULL, "assets/srv");
    record_link(r[3], PROCESSED_BY, NULL, "assets/srv");
    store_import_options o = upsert("cmdb");
    store_import *imp = NULL;
    valv_error err;
    ck_assert_int_eq(store_import_begin(s, &o, &imp, &err), VALV_OK);
    ck_assert_int_eq(import_job(imp, r, 0, 5, 5, false), 2);
    ck_assert_int_eq(import_job(imp, r, 5, 5, 5, true), 1);

    Valv__V1__ImportAssetsResponse resp;
    valv__v1__import_assets_response__init(&resp);
    store_import_result(imp, &resp);
    assert_counts(&resp, 3, 0, 0, 0, 2);
    ck_assert_int_eq(resp.failures[0]->index, 1);
    ck_assert_int_eq(resp.failures[1]->index, 3);
    ck_assert_msg(strstr(resp.failures[1]->reason, "links[0].type: PROCESSED_BY") != NULL,
                  "reason: %s", resp.failures[1]->reason);
    ck_assert_ptr_null(find("cmdb", "bad-1"));
    ck_assert_ptr_null(find("cmdb", "bad-2"));
    Valv__V1__Asset *e = find("cmdb", "e");
    ck_assert_ptr_nonnull(e);
    asset_free(e);
    ck_assert_int_eq(events_after(before), 3); /* the three creates, nothing else */
    store_import_free(imp);
    records_free(r, 5);
}
END_TEST

/* A record's links replace only the links its source made; links people
 * made stay, and kinds are checked as for CreateLink. */
START_TEST(test_links_replaced)
{
    create_ok("rack", FACILITY, "it");
    create_ok("hall", FACILITY, "it");
    Valv__V1__ImportRecord *r[2] = {record("srv", IT_SYSTEM, "Server", "it"),
                                    record("dep", IT_SYSTEM, "Dependency", "it")};
    record_link(r[0], HOSTED_IN, NULL, "assets/rack");
    record_link(r[0], DEPENDS_ON, "dep", NULL);
    Valv__V1__ImportAssetsResponse resp = import_once(upsert("cmdb"), r, 2);
    assert_counts(&resp, 2, 0, 0, 0, 0);
    const char *srv = id_of("cmdb", "srv");
    link_ok(srv, "hall", HOSTED_IN); /* a person's link */

    size_t own = 0;
    ck_assert_int_eq(links_of(srv, "cmdb", &own), 3);
    ck_assert_int_eq(own, 2);

    /* Now hosted in the hall only: the import's rack link goes, the
     * person's hall link stays (and is not made again). */
    Valv__V1__ImportRecord *moved = record("srv", IT_SYSTEM, "Server", "it");
    record_link(moved, HOSTED_IN, NULL, "assets/hall");
    Valv__V1__ImportRecord *again[1] = {moved};
    resp = import_once(upsert("cmdb"), again, 1);
    assert_counts(&resp, 0, 1, 0, 0, 0);
    ck_assert_int_eq(links_of(srv, "cmdb", &own), 1);
    ck_assert_int_eq(own, 0);

    /* Without links, a record leaves them alone. */
    Valv__V1__ImportRecord *bare[1] = {record("srv", IT_SYSTEM, "Server", "it")};
    resp = import_once(upsert("cmdb"), bare, 1);
    assert_counts(&resp, 0, 0, 1, 0, 0);
    ck_assert_int_eq(links_of(srv, "cmdb", &own), 1);

    /* Kinds as for CreateLink: the reason names both. */
    Valv__V1__ImportRecord *wrong[1] = {record("dep", IT_SYSTEM, "Dependency", "it")};
    record_link(wrong[0], PROCESSED_BY, "srv", NULL);
    store_import *imp = import_run(upsert("cmdb"), wrong, 1, 1, &resp);
    assert_counts(&resp, 0, 0, 0, 0, 1);
    ck_assert_msg(strstr(resp.failures[0]->reason, "links[0].type: PROCESSED_BY links an "
                                                   "INFORMATION to an IT_SYSTEM, not an "
                                                   "IT_SYSTEM to an IT_SYSTEM") != NULL,
                  "reason: %s", resp.failures[0]->reason);
    store_import_free(imp);
    records_free(r, 2);
    records_free(again, 1);
    records_free(bare, 1);
    records_free(wrong, 1);
}
END_TEST

/* --- Reruns and size ----------------------------------------------------------------------- */

/* The writer may run a batch again (writer.h): counts are not doubled. */
START_TEST(test_rerun)
{
    Valv__V1__ImportRecord *r[2] = {record("a", IT_SYSTEM, "A", "it"),
                                    record("b", IT_SYSTEM, "", "it")};
    store_import_options o = upsert("cmdb");
    store_import *imp = NULL;
    valv_error err;
    ck_assert_int_eq(store_import_begin(s, &o, &imp, &err), VALV_OK);
    for (int run = 0; run < 3; run++) {
        store_txn *t = txn_begin();
        ck_assert_int_eq(store_import_apply(t, imp, r, 2, 0, &importer, &err), VALV_OK);
        if (run < 2) {
            store_txn_abort(t);
            continue;
        }
        ck_assert_int_eq(store_txn_commit(t, &err), VALV_OK);
        store_import_commit_batch(imp);
    }
    store_txn *t = txn_begin();
    ck_assert_int_eq(store_import_finish(t, imp, &importer, &err), VALV_OK);
    store_txn_abort(t);
    t = txn_begin();
    ck_assert_int_eq(store_import_finish(t, imp, &importer, &err), VALV_OK);
    ck_assert_int_eq(store_txn_commit(t, &err), VALV_OK);
    store_import_commit_batch(imp);

    Valv__V1__ImportAssetsResponse resp;
    valv__v1__import_assets_response__init(&resp);
    store_import_result(imp, &resp);
    assert_counts(&resp, 1, 0, 0, 0, 1);
    ck_assert_int_eq(resp.n_failures, 1);
    store_import_free(imp);
    records_free(r, 2);
}
END_TEST

#define BIG_N 3000 /* three full batches; enough to show memory stays flat */
#define BIG_BATCH 1000

/* BIG_N records in batches of 1000, in chains of ten, each linking to
 * the next (forward). */
START_TEST(test_many_records_in_batches)
{
    Valv__V1__ImportRecord **r = calloc(BIG_N, sizeof *r);
    char ext[32], next[32];
    for (int i = 0; i < BIG_N; i++) {
        snprintf(ext, sizeof ext, "srv-%05d", i);
        r[i] = record(ext, IT_SYSTEM, ext, "it");
        record_attribute(r[i], "rack", i % 2 ? "r1" : "r2");
        if ((i + 1) % 10 != 0) {
            snprintf(next, sizeof next, "srv-%05d", i + 1);
            record_link(r[i], DEPENDS_ON, next, NULL);
        }
    }
    store_import_options o = upsert("cmdb");
    o.sync = true;
    Valv__V1__ImportAssetsResponse resp;
    store_import_free(import_run(o, r, BIG_N, BIG_BATCH, &resp));
    assert_counts(&resp, BIG_N, 0, 0, 0, 0);
    int64_t revision = store_revision(s);
    store_import_free(import_run(o, r, BIG_N, BIG_BATCH, &resp));
    assert_counts(&resp, 0, 0, BIG_N, 0, 0);
    ck_assert_int_eq(store_revision(s), revision);

    /* The inventory shrinks to its first batch: SYNC deletes the rest. */
    store_import_free(import_run(o, r, BIG_BATCH, BIG_BATCH, &resp));
    assert_counts(&resp, 0, 0, BIG_BATCH, BIG_N - BIG_BATCH, 0);
    ck_assert_ptr_null(find("cmdb", "srv-01000"));
    records_free(r, BIG_N);
    free(r);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("import");
    TCase *tc = fixture_tcase(suite, "records");
    tcase_add_test(tc, test_counts);
    tcase_add_test(tc, test_idempotent);
    tcase_add_test(tc, test_audited);
    tcase_add_test(tc, test_classification_kept);
    tc = fixture_tcase(suite, "refused");
    tcase_add_test(tc, test_classification_refused);
    tcase_add_test(tc, test_kind_change_refused);
    tcase_add_test(tc, test_validation_failure);
    tcase_add_test(tc, test_bad_source);
    tcase_add_test(tc, test_name_keyed);
    tc = fixture_tcase(suite, "modes");
    tcase_add_test(tc, test_sync_deletes_missing);
    tcase_add_test(tc, test_sync_keeps_failed_records);
    tcase_add_test(tc, test_dry_run);
    tcase_add_test(tc, test_atomic_rolls_back);
    tc = fixture_tcase(suite, "links");
    tcase_add_test(tc, test_forward_links);
    tcase_add_test(tc, test_bad_link_named_by_place);
    tcase_add_test(tc, test_half_written_record_left_out);
    tcase_add_test(tc, test_links_replaced);
    tc = fixture_tcase(suite, "scale");
    tcase_add_test(tc, test_rerun);
    tcase_add_test(tc, test_many_records_in_batches);
    tcase_set_timeout(tc, 300);
    return fixture_run(suite);
}
