/* test_summary.c - the security picture per unit (store_summarize) and the
 * figures that cost no scan (store_get_stats). */
#include <lmdb.h>
#include <time.h>
#include <unistd.h>

#include "store_fixture.h"

#define INFORMATION VALV__V1__ASSET_KIND__INFORMATION
#define IT_SYSTEM VALV__V1__ASSET_KIND__IT_SYSTEM
#define FACILITY VALV__V1__ASSET_KIND__FACILITY

#define SIGNIFICANT VALV__V1__LEVEL__SIGNIFICANT
#define VERY_SERIOUS VALV__V1__LEVEL__VERY_SERIOUS
#define NOT_CLASSIFIED VALV__V1__SECURITY_CLASS__NOT_CLASSIFIED
#define RESTRICTED VALV__V1__SECURITY_CLASS__RESTRICTED

static const store_actor chief = {.actor = "chief"};

/* --- Helpers --------------------------------------------------------------------- */

static Valv__V1__Summary *summarize(const store_actor *viewer, const char *const *units,
                                    size_t n_units)
{
    Valv__V1__Summary *sum = NULL;
    valv_error err;
    ck_assert_msg(store_summarize(s, viewer, units, n_units, &sum, &err) == VALV_OK,
                  "summarize: %s", err.message);
    return sum;
}

/* The summary of unit in sum; fails the test when it is not there. */
static const Valv__V1__UnitSummary *unit_of(const Valv__V1__Summary *sum, const char *unit)
{
    for (size_t i = 0; i < sum->n_units; i++)
        if (strcmp(sum->units[i]->owner_unit, unit) == 0)
            return sum->units[i];
    ck_abort_msg("unit %s is not in the summary", unit);
    return NULL;
}

/* The units of sum, in order, joined by spaces. */
static void unit_names(const Valv__V1__Summary *sum, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t i = 0; i < sum->n_units; i++)
        snprintf(out + strlen(out), cap - strlen(out), "%s%s", i > 0 ? " " : "",
                 sum->units[i]->owner_unit);
}

static void summary_free(Valv__V1__Summary *sum)
{
    valv__v1__summary__free_unpacked(sum, NULL);
}

static void secure_ok(const char *id, Valv__V1__SecurityClass security_class)
{
    valv_error err;
    ck_assert_msg(secure(id, security_class, false, false, &err) == VALV_OK, "secure %s: %s", id,
                  err.message);
}

typedef int (*decide_fn)(store_txn *, const char *, const char *, const char *,
                         const store_actor *, Valv__V1__Asset **, valv_error *);

/* Approves or returns id at its current etag. */
static void decide_ok(decide_fn fn, const char *id)
{
    Valv__V1__Asset *a = get(id), *out = NULL;
    valv_error err;
    store_txn *t = txn_begin();
    int rc = txn_finish(t, fn(t, id, a->etag, "checked", &chief, &out, &err), &err);
    ck_assert_msg(rc == VALV_OK, "review %s: %s", id, err.message);
    asset_free(a);
    asset_free(out);
}

static void undelete_ok(const char *id)
{
    Valv__V1__Asset *out = NULL;
    valv_error err;
    store_txn *t = txn_begin();
    int rc = txn_finish(t, store_undelete_asset(t, id, NULL, &alice, &out, &err), &err);
    ck_assert_msg(rc == VALV_OK, "undelete %s: %s", id, err.message);
    asset_free(out);
}

static void delete_ok(const char *id)
{
    valv_error err;
    ck_assert_msg(delete_asset(id, false, &err) == VALV_OK, "delete %s: %s", id, err.message);
}

/* --- The picture -------------------------------------------------------------------
 *
 * social  journal    INFORMATION  own C2 I1: highest SIGNIFICANT
 *         procapita  IT_SYSTEM    unclassified; processes journal, so SIGNIFICANT
 *         archive    FACILITY     unclassified, no level; assessed NOT_CLASSIFIED
 * school  grades     INFORMATION  own A4: flagged, pending
 *         ladok      IT_SYSTEM    own T4: flagged, returned
 *         old        INFORMATION  deleted: not counted
 * tech    srv        IT_SYSTEM    own I4: flagged, approved
 */
static void make_world(void)
{
    create_ok("journal", INFORMATION, "social");
    classify_ok("journal", LEVEL(2), LEVEL(1), 0, 0);
    create_ok("procapita", IT_SYSTEM, "social");
    link_ok("journal", "procapita", VALV__V1__LINK_TYPE__PROCESSED_BY);
    create_ok("archive", FACILITY, "social");
    secure_ok("archive", NOT_CLASSIFIED);
    create_ok("grades", INFORMATION, "school");
    classify_ok("grades", 0, 0, LEVEL(4), 0);
    create_ok("ladok", IT_SYSTEM, "school");
    classify_ok("ladok", 0, 0, 0, LEVEL(4));
    decide_ok(store_return_asset, "ladok");
    create_ok("old", INFORMATION, "school");
    delete_ok("old");
    create_ok("srv", IT_SYSTEM, "tech");
    classify_ok("srv", 0, LEVEL(4), 0, 0);
    decide_ok(store_approve_asset, "srv");
}

START_TEST(test_units_in_order_with_revision)
{
    char names[128];
    make_world();
    Valv__V1__Summary *sum = summarize(NULL, NULL, 0);
    unit_names(sum, names, sizeof names);
    ck_assert_str_eq(names, "school social tech");
    ck_assert_int_eq(sum->revision, store_revision(s));
    ck_assert_ptr_nonnull(sum->time);
    ck_assert_int_ge(sum->time->seconds, time(NULL) - 60);
    ck_assert_str_eq(sum->total->owner_unit, "");
    summary_free(sum);
}
END_TEST

START_TEST(test_counts_by_kind_and_level)
{
    make_world();
    Valv__V1__Summary *sum = summarize(NULL, NULL, 0);
    const Valv__V1__UnitSummary *social = unit_of(sum, "social");
    const Valv__V1__UnitSummary *school = unit_of(sum, "school");

    ck_assert_int_eq(social->total, 3);
    ck_assert_uint_eq(social->n_by_kind, 4);
    ck_assert_int_eq(social->by_kind[0], 0);
    ck_assert_int_eq(social->by_kind[INFORMATION], 1);
    ck_assert_int_eq(social->by_kind[IT_SYSTEM], 1);
    ck_assert_int_eq(social->by_kind[FACILITY], 1);
    ck_assert_uint_eq(social->n_by_level, 6);
    ck_assert_int_eq(social->by_level[0], 1);           /* archive: no level */
    ck_assert_int_eq(social->by_level[SIGNIFICANT], 2); /* procapita's is inherited */
    ck_assert_int_eq(social->by_level[VERY_SERIOUS], 0);

    ck_assert_int_eq(school->total, 2); /* old is deleted */
    ck_assert_int_eq(school->by_kind[INFORMATION], 1);
    ck_assert_int_eq(school->by_level[VERY_SERIOUS], 2);

    ck_assert_int_eq(sum->total->total, 6);
    ck_assert_int_eq(sum->total->by_kind[IT_SYSTEM], 3);
    ck_assert_int_eq(sum->total->by_level[VERY_SERIOUS], 3);
    summary_free(sum);
}
END_TEST

START_TEST(test_counts_by_security_class)
{
    make_world();
    Valv__V1__Summary *sum = summarize(NULL, NULL, 0);
    const Valv__V1__UnitSummary *social = unit_of(sum, "social");
    ck_assert_uint_eq(social->n_by_security_class, 6);
    ck_assert_int_eq(social->by_security_class[0], 2);
    ck_assert_int_eq(social->by_security_class[NOT_CLASSIFIED], 1);
    ck_assert_int_eq(sum->total->by_security_class[0], 5);
    ck_assert_int_eq(sum->total->by_security_class[NOT_CLASSIFIED], 1);
    summary_free(sum);
}
END_TEST

START_TEST(test_counts_review_and_unclassified)
{
    make_world();
    Valv__V1__Summary *sum = summarize(NULL, NULL, 0);
    const Valv__V1__UnitSummary *social = unit_of(sum, "social");
    const Valv__V1__UnitSummary *school = unit_of(sum, "school");
    const Valv__V1__UnitSummary *tech = unit_of(sum, "tech");

    ck_assert_int_eq(social->flagged, 0);
    ck_assert_int_eq(social->unclassified, 2); /* procapita inherits, but has no own level */
    ck_assert_int_eq(school->flagged, 2);
    ck_assert_int_eq(school->pending, 1);
    ck_assert_int_eq(school->returned, 1);
    ck_assert_int_eq(school->approved, 0);
    ck_assert_int_eq(school->unclassified, 0);
    ck_assert_int_eq(tech->flagged, 1);
    ck_assert_int_eq(tech->approved, 1);
    ck_assert_int_eq(tech->overdue, 0);

    ck_assert_int_eq(sum->total->flagged, 3);
    ck_assert_int_eq(sum->total->pending, 1);
    ck_assert_int_eq(sum->total->returned, 1);
    ck_assert_int_eq(sum->total->approved, 1);
    ck_assert_int_eq(sum->total->unclassified, 2);
    summary_free(sum);
}
END_TEST

/* Sleeps until the wall clock has passed second `until`. */
static void sleep_past(int64_t until)
{
    while ((int64_t)time(NULL) <= until)
        usleep(50 * 1000);
}

START_TEST(test_overdue_counted_as_approved_too)
{
    store_options opts = {.review_interval = 1};
    fixture_reopen(&opts);
    create_ok("srv", IT_SYSTEM, "tech");
    classify_ok("srv", 0, LEVEL(4), 0, 0);
    decide_ok(store_approve_asset, "srv");
    Valv__V1__Asset *a = get("srv");
    int64_t due = a->review->due_time->seconds;
    asset_free(a);

    sleep_past(due);
    Valv__V1__Summary *sum = summarize(NULL, NULL, 0);
    ck_assert_int_eq(unit_of(sum, "tech")->approved, 1);
    ck_assert_int_eq(unit_of(sum, "tech")->overdue, 1);
    ck_assert_int_eq(sum->total->overdue, 1);
    summary_free(sum);
}
END_TEST

START_TEST(test_named_units_only)
{
    static const char *const units[] = {"tech", "nobody", "social", "tech"};
    char names[128];
    make_world();
    Valv__V1__Summary *sum = summarize(NULL, units, 4);
    unit_names(sum, names, sizeof names);
    ck_assert_str_eq(names, "nobody social tech"); /* once each, in order */
    ck_assert_int_eq(unit_of(sum, "nobody")->total, 0);
    ck_assert_uint_eq(unit_of(sum, "nobody")->n_by_kind, 4);
    ck_assert_int_eq(unit_of(sum, "social")->total, 3);
    ck_assert_int_eq(sum->total->total, 4);
    summary_free(sum);
}
END_TEST

START_TEST(test_unit_prefix_is_not_the_unit)
{
    static const char *const units[] = {"it"};
    create_ok("a", IT_SYSTEM, "it");
    create_ok("b", IT_SYSTEM, "it-support");
    Valv__V1__Summary *sum = summarize(NULL, units, 1);
    ck_assert_uint_eq(sum->n_units, 1);
    ck_assert_int_eq(unit_of(sum, "it")->total, 1);
    summary_free(sum);
}
END_TEST

START_TEST(test_empty_store)
{
    Valv__V1__Summary *sum = summarize(NULL, NULL, 0);
    ck_assert_uint_eq(sum->n_units, 0);
    ck_assert_int_eq(sum->total->total, 0);
    ck_assert_uint_eq(sum->total->n_by_level, 6);
    ck_assert_int_eq(sum->revision, 0);
    summary_free(sum);
}
END_TEST

/* --- Need to know ------------------------------------------------------------------ */

typedef struct {
    const char *unit; /* the unit it owns */
    bool cleared;
} fake_policy;

static bool fake_can_see(const store_actor *who, const Valv__V1__Asset *asset)
{
    const fake_policy *p = who->policy;
    int security_class = asset->effective != NULL ? (int)asset->effective->security_class : 0;
    return security_class < RESTRICTED || p->cleared || strcmp(asset->owner_unit, p->unit) == 0;
}

static const fake_policy bob_policy = {.unit = "social"};
static const fake_policy dora_policy = {.unit = "social", .cleared = true};
static const store_actor bob = {.actor = "bob", .can_see = fake_can_see, .policy = &bob_policy};
static const store_actor dora = {.actor = "dora", .can_see = fake_can_see, .policy = &dora_policy};

/* school's ladok is RESTRICTED and hosted in tech's dc, which inherits it;
 * social's journal is RESTRICTED too, but social is bob's own unit. */
static void make_secret_world(void)
{
    create_ok("ladok", IT_SYSTEM, "school");
    secure_ok("ladok", RESTRICTED);
    create_ok("dc", FACILITY, "tech");
    link_ok("ladok", "dc", VALV__V1__LINK_TYPE__HOSTED_IN);
    create_ok("grades", INFORMATION, "school");
    create_ok("journal", INFORMATION, "social");
    secure_ok("journal", RESTRICTED);
}

START_TEST(test_hidden_assets_not_counted)
{
    char names[128];
    make_secret_world();
    Valv__V1__Summary *sum = summarize(&bob, NULL, 0);
    unit_names(sum, names, sizeof names);
    ck_assert_str_eq(names, "school social"); /* tech holds nothing bob may know of */
    ck_assert_int_eq(unit_of(sum, "school")->total, 1);
    ck_assert_int_eq(unit_of(sum, "school")->flagged, 0);
    ck_assert_int_eq(unit_of(sum, "social")->by_security_class[RESTRICTED], 1);
    ck_assert_int_eq(sum->total->total, 2);
    ck_assert_int_eq(sum->total->by_security_class[RESTRICTED], 1);
    ck_assert_int_eq(sum->total->flagged, 1);
    summary_free(sum);

    sum = summarize(&dora, NULL, 0);
    unit_names(sum, names, sizeof names);
    ck_assert_str_eq(names, "school social tech");
    ck_assert_int_eq(sum->total->total, 4);
    ck_assert_int_eq(sum->total->by_security_class[RESTRICTED], 3);
    ck_assert_int_eq(sum->total->flagged, 3);
    summary_free(sum);
}
END_TEST

START_TEST(test_hidden_unit_named_counts_zero)
{
    static const char *const units[] = {"tech"};
    make_secret_world();
    Valv__V1__Summary *sum = summarize(&bob, units, 1);
    ck_assert_uint_eq(sum->n_units, 1);
    ck_assert_int_eq(unit_of(sum, "tech")->total, 0);
    ck_assert_int_eq(unit_of(sum, "tech")->by_kind[FACILITY], 0);
    summary_free(sum);
}
END_TEST

/* --- Stats --------------------------------------------------------------------------- */

static store_stats stats(void)
{
    store_stats st;
    valv_error err;
    ck_assert_msg(store_get_stats(s, &st, &err) == VALV_OK, "stats: %s", err.message);
    return st;
}

START_TEST(test_stats_count_live_and_deleted)
{
    create_ok("a", INFORMATION, "social");
    create_ok("b", INFORMATION, "social");
    create_ok("c", INFORMATION, "social");
    delete_ok("b");
    store_stats st = stats();
    ck_assert_int_eq(st.live_assets, 2);
    ck_assert_int_eq(st.deleted_assets, 1);
    ck_assert_int_eq(st.revision, store_revision(s));
    ck_assert_int_eq(st.schema_version, STORE_SCHEMA_VERSION);

    undelete_ok("b");
    delete_ok("a");
    delete_ok("c");
    st = stats();
    ck_assert_int_eq(st.live_assets, 1);
    ck_assert_int_eq(st.deleted_assets, 2);

    /* The count is stored, and store_verify_indexes checks it. */
    fixture_reopen(NULL);
    st = stats();
    ck_assert_int_eq(st.live_assets, 1);
    ck_assert_int_eq(st.deleted_assets, 2);
    store_verify_result v;
    valv_error err;
    ck_assert_int_eq(store_verify_indexes(s, &v, &err), VALV_OK);
    ck_assert_msg(v.ok, "verify: %s", v.problem);
}
END_TEST

START_TEST(test_stats_rolled_back_delete_not_counted)
{
    valv_error err;
    Valv__V1__Asset *out = NULL;
    create_ok("a", INFORMATION, "social");
    store_txn *t = txn_begin();
    ck_assert_int_eq(store_delete_asset(t, "a", NULL, "oops", false, &alice, &out, &err), VALV_OK);
    asset_free(out);
    store_txn_abort(t);
    store_stats st = stats();
    ck_assert_int_eq(st.live_assets, 1);
    ck_assert_int_eq(st.deleted_assets, 0);
}
END_TEST

/* Removes the count of deleted assets from the store's meta table, as in a
 * store written before the count existed. The store must be closed. */
static void forget_deleted_count(void)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi meta;
    MDB_val key = {strlen("deleted_assets"), "deleted_assets"};
    ck_assert_int_eq(mdb_env_create(&env), 0);
    ck_assert_int_eq(mdb_env_set_maxdbs(env, 16), 0);
    ck_assert_int_eq(mdb_env_open(env, fixture_dir, 0, 0600), 0);
    ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    ck_assert_int_eq(mdb_del(txn, meta, &key, NULL), 0);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

START_TEST(test_stats_count_made_for_old_store)
{
    store_options read_only = {.read_only = true};
    create_ok("a", INFORMATION, "social");
    create_ok("b", INFORMATION, "social");
    delete_ok("b");
    store_close(s);
    s = NULL;
    forget_deleted_count();

    /* Read-only, the store cannot keep a count: the stats count the records. */
    fixture_reopen(&read_only);
    store_stats st = stats();
    ck_assert_int_eq(st.live_assets, 1);
    ck_assert_int_eq(st.deleted_assets, 1);

    /* The first writable open counts once and keeps the count from then on. */
    fixture_reopen(NULL);
    delete_ok("a");
    st = stats();
    ck_assert_int_eq(st.live_assets, 0);
    ck_assert_int_eq(st.deleted_assets, 2);
    store_verify_result v;
    valv_error err;
    ck_assert_int_eq(store_verify_indexes(s, &v, &err), VALV_OK);
    ck_assert_msg(v.ok, "verify: %s", v.problem);
}
END_TEST

START_TEST(test_stats_map_figures)
{
    store_options opts = {.map_size_max = 256UL << 20};
    fixture_reopen(&opts);
    create_ok("a", INFORMATION, "social");
    store_stats st = stats();
    ck_assert_int_eq(st.map_bytes_max, 256L << 20);
    ck_assert_int_eq(st.map_bytes, (int64_t)STORE_MAP_SIZE_INITIAL_DEFAULT);
    ck_assert_int_gt(st.database_bytes, 0);
    ck_assert_int_le(st.database_bytes, st.map_bytes);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("summary");
    TCase *tc;

    tc = fixture_tcase(suite, "picture");
    tcase_add_test(tc, test_units_in_order_with_revision);
    tcase_add_test(tc, test_counts_by_kind_and_level);
    tcase_add_test(tc, test_counts_by_security_class);
    tcase_add_test(tc, test_counts_review_and_unclassified);
    tcase_add_test(tc, test_empty_store);

    tc = fixture_tcase(suite, "overdue");
    tcase_set_timeout(tc, 30); /* waits up to two seconds for an approval to lapse */
    tcase_add_test(tc, test_overdue_counted_as_approved_too);

    tc = fixture_tcase(suite, "units");
    tcase_add_test(tc, test_named_units_only);
    tcase_add_test(tc, test_unit_prefix_is_not_the_unit);

    tc = fixture_tcase(suite, "need to know");
    tcase_add_test(tc, test_hidden_assets_not_counted);
    tcase_add_test(tc, test_hidden_unit_named_counts_zero);

    tc = fixture_tcase(suite, "stats");
    tcase_add_test(tc, test_stats_count_live_and_deleted);
    tcase_add_test(tc, test_stats_rolled_back_delete_not_counted);
    tcase_add_test(tc, test_stats_count_made_for_old_store);
    tcase_add_test(tc, test_stats_map_figures);
    return fixture_run(suite);
}
