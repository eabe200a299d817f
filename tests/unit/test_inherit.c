/* test_inherit.c - effective protection: what an owner sees on an asset
 * once the things it carries are classified, along chains, diamonds and
 * cycles of links, as links come and go; where each value comes from; what
 * is flagged; and that a change rewrites exactly the assets it reaches. */
#include "store_fixture.h"

#define INFORMATION VALV__V1__ASSET_KIND__INFORMATION
#define IT_SYSTEM VALV__V1__ASSET_KIND__IT_SYSTEM
#define FACILITY VALV__V1__ASSET_KIND__FACILITY

#define PROCESSED_BY VALV__V1__LINK_TYPE__PROCESSED_BY
#define HOSTED_IN VALV__V1__LINK_TYPE__HOSTED_IN
#define DEPENDS_ON VALV__V1__LINK_TYPE__DEPENDS_ON
#define PART_OF VALV__V1__LINK_TYPE__PART_OF

/* Asserts asset id's effective confidentiality and its source. */
static void expect_confidentiality(const char *id, int level, const char *source)
{
    Valv__V1__Asset *a = get(id);
    ck_assert_msg((int)a->effective->confidentiality == level,
                  "%s: effective confidentiality %d, expected %d", id,
                  a->effective->confidentiality, level);
    const char *got = source_of(a->effective, "confidentiality");
    if (source == NULL)
        ck_assert_msg(got == NULL, "%s: confidentiality source %s, expected none", id, got);
    else
        ck_assert_msg(got != NULL && strcmp(got, source) == 0,
                      "%s: confidentiality source %s, expected %s", id, got ? got : "none",
                      source);
    asset_free(a);
}

/* --- Shapes of graphs --------------------------------------------------------- */

START_TEST(test_chain)
{
    create_ok("payroll-data", INFORMATION, "hr");
    create_ok("payroll", IT_SYSTEM, "hr");
    create_ok("server-room", FACILITY, "property");
    link_ok("payroll-data", "payroll", PROCESSED_BY);
    link_ok("payroll", "server-room", HOSTED_IN);

    classify_ok("payroll-data", LEVEL(3), LEVEL(1), 0, 0);
    expect_confidentiality("payroll", LEVEL(3), "assets/payroll-data");
    expect_confidentiality("server-room", LEVEL(3), "assets/payroll-data");

    /* The system's own availability reaches the room, named as its own. */
    classify_ok("payroll", LEVEL(1), 0, LEVEL(2), 0);
    Valv__V1__Asset *room = get("server-room");
    ck_assert_int_eq(room->effective->confidentiality, LEVEL(3));
    ck_assert_int_eq(room->effective->integrity, LEVEL(1));
    ck_assert_int_eq(room->effective->availability, LEVEL(2));
    ck_assert_int_eq(room->effective->traceability, 0);
    ck_assert_str_eq(source_of(room->effective, "integrity"), "assets/payroll-data");
    ck_assert_str_eq(source_of(room->effective, "availability"), "assets/payroll");
    ck_assert_ptr_null(source_of(room->effective, "traceability"));
    ck_assert(!room->effective->flagged);
    asset_free(room);

    /* Lowering the source lowers everything it raised. */
    classify_ok("payroll-data", LEVEL(0), 0, 0, 0);
    expect_confidentiality("server-room", LEVEL(1), "assets/payroll");
}
END_TEST

/* info -> a, info -> b, a -> d, b -> d: d takes the highest of each
 * dimension. On a tie d's own value wins, then the source whose name sorts
 * first, not the one met first: d's first link in (from sys-a) carries
 * availability 1 from z-info, but sys-b's own availability 1 names it. */
START_TEST(test_diamond)
{
    create_ok("z-info", INFORMATION, "hr");
    create_ok("sys-a", IT_SYSTEM, "it");
    create_ok("sys-b", IT_SYSTEM, "it");
    create_ok("sys-d", IT_SYSTEM, "it");
    classify_ok("z-info", LEVEL(2), 0, LEVEL(1), 0);
    classify_ok("sys-b", 0, LEVEL(3), LEVEL(1), 0);
    link_ok("z-info", "sys-a", PROCESSED_BY);
    link_ok("z-info", "sys-b", PROCESSED_BY);
    link_ok("sys-a", "sys-d", DEPENDS_ON);
    link_ok("sys-b", "sys-d", DEPENDS_ON);

    Valv__V1__Asset *d = get("sys-d");
    ck_assert_int_eq(d->effective->confidentiality, LEVEL(2));
    ck_assert_int_eq(d->effective->integrity, LEVEL(3));
    ck_assert_int_eq(d->effective->availability, LEVEL(1));
    ck_assert_str_eq(source_of(d->effective, "confidentiality"), "assets/z-info");
    ck_assert_str_eq(source_of(d->effective, "integrity"), "assets/sys-b");
    ck_assert_str_eq(source_of(d->effective, "availability"), "assets/sys-b");
    asset_free(d);

    /* Recomputed from the top, the answer is the same. */
    classify_ok("z-info", LEVEL(2), 0, LEVEL(1), LEVEL(0));
    d = get("sys-d");
    ck_assert_str_eq(source_of(d->effective, "availability"), "assets/sys-b");
    asset_free(d);

    /* The asset's own value wins a tie. */
    classify_ok("sys-d", 0, 0, LEVEL(1), 0);
    d = get("sys-d");
    ck_assert_str_eq(source_of(d->effective, "availability"), "assets/sys-d");
    asset_free(d);
}
END_TEST

START_TEST(test_cycle_ends_equal)
{
    const char *ring[] = {"s1", "s2", "s3"};
    for (int i = 0; i < 3; i++)
        create_ok(ring[i], IT_SYSTEM, "it");
    for (int i = 0; i < 3; i++)
        link_ok(ring[i], ring[(i + 1) % 3], DEPENDS_ON);

    classify_ok("s2", LEVEL(3), 0, 0, 0);
    for (int i = 0; i < 3; i++)
        expect_confidentiality(ring[i], LEVEL(3), "assets/s2");

    classify_ok("s1", LEVEL(1), LEVEL(4), 0, 0);
    for (int i = 0; i < 3; i++) {
        Valv__V1__Asset *a = get(ring[i]);
        ck_assert_int_eq(a->effective->confidentiality, LEVEL(3));
        ck_assert_int_eq(a->effective->integrity, LEVEL(4));
        ck_assert_str_eq(source_of(a->effective, "integrity"), "assets/s1");
        ck_assert(a->effective->flagged);
        asset_free(a);
    }

    /* Values held up only by the cycle itself fall. */
    classify_ok("s2", LEVEL(0), 0, 0, 0);
    expect_confidentiality("s1", LEVEL(1), "assets/s1");
    expect_confidentiality("s2", LEVEL(1), "assets/s1");
    expect_confidentiality("s3", LEVEL(1), "assets/s1");
}
END_TEST

START_TEST(test_link_removal_lowers)
{
    valv_error err;

    create_ok("info", INFORMATION, "hr");
    create_ok("sys", IT_SYSTEM, "it");
    create_ok("room", FACILITY, "property");
    classify_ok("info", LEVEL(4), 0, 0, 0);
    link_ok("info", "sys", PROCESSED_BY);
    link_ok("sys", "room", HOSTED_IN);
    expect_confidentiality("room", LEVEL(4), "assets/info");

    ck_assert_int_eq(link_remove("info", "sys", PROCESSED_BY, &err), VALV_OK);
    expect_confidentiality("sys", 0, NULL);
    expect_confidentiality("room", 0, NULL);
    Valv__V1__Asset *room = get("room");
    ck_assert(!room->effective->flagged);
    ck_assert_uint_eq(room->effective->n_sources, 0);
    asset_free(room);
}
END_TEST

/* --- Security protection and flagged ------------------------------------------- */

START_TEST(test_security_inherited_and_flagged)
{
    valv_error err;

    create_ok("plans", INFORMATION, "security");
    create_ok("sys", IT_SYSTEM, "it");
    create_ok("room", FACILITY, "property");
    link_ok("plans", "sys", PROCESSED_BY);
    link_ok("sys", "room", HOSTED_IN);

    ck_assert_int_eq(secure("plans", VALV__V1__SECURITY_CLASS__SECRET, false, false, &err),
                     VALV_OK);
    Valv__V1__Asset *room = get("room");
    ck_assert_int_eq(room->effective->security_class, VALV__V1__SECURITY_CLASS__SECRET);
    ck_assert_str_eq(source_of(room->effective, "security_class"), "assets/plans");
    ck_assert(!room->effective->security_sensitive);
    ck_assert(room->effective->flagged);
    asset_free(room);

    /* NOT_CLASSIFIED is assessed but not flagged; sensitivity is. */
    ck_assert_int_eq(secure("plans", VALV__V1__SECURITY_CLASS__NOT_CLASSIFIED, true, false, &err),
                     VALV_OK);
    room = get("room");
    ck_assert_int_eq(room->effective->security_class, VALV__V1__SECURITY_CLASS__NOT_CLASSIFIED);
    ck_assert(room->effective->security_sensitive);
    ck_assert_str_eq(source_of(room->effective, "security_sensitive"), "assets/plans");
    ck_assert(room->effective->flagged);
    asset_free(room);

    ck_assert_int_eq(secure("plans", VALV__V1__SECURITY_CLASS__NOT_CLASSIFIED, false, false, &err),
                     VALV_OK);
    room = get("room");
    ck_assert(!room->effective->flagged);
    asset_free(room);
}
END_TEST

/* A protected object flags the facility itself, not what contains it, and
 * only facilities can be one. */
START_TEST(test_protected_object_flags_facility_only)
{
    valv_error err;

    create_ok("room", FACILITY, "property");
    create_ok("building", FACILITY, "property");
    create_ok("sys", IT_SYSTEM, "it");
    link_ok("room", "building", PART_OF);

    ck_assert_int_eq(secure("room", 0, false, true, &err), VALV_OK);
    Valv__V1__Asset *room = get("room"), *building = get("building");
    ck_assert(room->effective->flagged);
    ck_assert(!building->effective->flagged);
    asset_free(room);
    asset_free(building);

    ck_assert_int_eq(secure("sys", 0, false, true, &err), VALV_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "protected_object"));
}
END_TEST

/* --- Only what a change reaches is rewritten ------------------------------------- */

#define TREE_SIZE 5000 /* each of two trees; with the information asset 10,001 assets */

/* True when node k of a tree (children of k: 2k+1, 2k+2) lies under node 1. */
static bool under_node_1(int k)
{
    while (k > 1)
        k = (k - 1) / 2;
    return k == 1;
}

static void tree_id(char *buf, size_t cap, char tree, int k)
{
    snprintf(buf, cap, "%c%d", tree, k);
}

/* The revisions of every asset of both trees, and of "info" last. */
static int64_t *revisions_all(void)
{
    static const char trees[] = {'t', 'u'};
    size_t n = 2 * TREE_SIZE + 1;
    char (*ids)[16] = calloc(n, sizeof *ids);
    const char **id_list = calloc(n, sizeof *id_list);
    int64_t *revisions = calloc(n, sizeof *revisions);
    Valv__V1__Asset **assets = NULL;
    valv_error err;

    for (int tree = 0; tree < 2; tree++)
        for (int k = 0; k < TREE_SIZE; k++)
            tree_id(ids[tree * TREE_SIZE + k], sizeof ids[0], trees[tree], k);
    snprintf(ids[n - 1], sizeof ids[0], "info");
    for (size_t i = 0; i < n; i++)
        id_list[i] = ids[i];
    ck_assert_int_eq(store_batch_get_assets(s, id_list, n, &assets, &err), VALV_OK);
    for (size_t i = 0; i < n; i++) {
        revisions[i] = assets[i]->revision;
        asset_free(assets[i]);
    }
    free(assets);
    free(id_list);
    free(ids);
    return revisions;
}

START_TEST(test_only_reached_assets_rewritten)
{
    static const char trees[] = {'t', 'u'};
    char from[16], to[16];
    valv_error err;
    Valv__V1__Link *link = NULL;

    /* info -> t0; two binary trees t and u of IT systems, k -> 2k+1, 2k+2. */
    store_txn *t = txn_begin();
    ck_assert_int_eq(create_in(t, "info", INFORMATION, "hr", NULL, NULL, &err), VALV_OK);
    for (int tree = 0; tree < 2; tree++) {
        for (int k = 0; k < TREE_SIZE; k++) {
            tree_id(to, sizeof to, trees[tree], k);
            ck_assert_int_eq(create_in(t, to, IT_SYSTEM, "it", NULL, NULL, &err), VALV_OK);
            if (k == 0)
                continue;
            tree_id(from, sizeof from, trees[tree], (k - 1) / 2);
            ck_assert_int_eq(store_create_link(t, from, to, DEPENDS_ON, &alice, &link, &err),
                             VALV_OK);
            valv__v1__link__free_unpacked(link, NULL);
        }
    }
    ck_assert_int_eq(store_create_link(t, "info", "t0", PROCESSED_BY, &alice, &link, &err),
                     VALV_OK);
    valv__v1__link__free_unpacked(link, NULL);
    ck_assert_int_eq(txn_finish(t, VALV_OK, &err), VALV_OK);

    /* t1 reaches its own subtree only. */
    int64_t *before = revisions_all();
    classify_ok("t1", LEVEL(2), 0, 0, 0);
    int64_t *after = revisions_all();
    int rewritten = 0;
    for (int i = 0; i < 2 * TREE_SIZE + 1; i++) {
        bool reached = i < TREE_SIZE && under_node_1(i);
        ck_assert_msg((after[i] != before[i]) == reached, "asset %d %s", i,
                      reached ? "not rewritten" : "rewritten though not reached");
        rewritten += reached;
    }
    ck_assert_int_gt(rewritten, TREE_SIZE / 3);
    expect_confidentiality("t4", LEVEL(2), "assets/t1");
    expect_confidentiality("t2", 0, NULL);
    free(before);
    free(after);

    /* info reaches all of tree t, and nothing of tree u. */
    before = revisions_all();
    classify_ok("info", LEVEL(3), 0, 0, 0);
    after = revisions_all();
    for (int i = 0; i < 2 * TREE_SIZE + 1; i++) {
        bool reached = i < TREE_SIZE || i == 2 * TREE_SIZE;
        ck_assert_msg((after[i] != before[i]) == reached, "asset %d %s", i,
                      reached ? "not rewritten" : "rewritten though not reached");
    }
    expect_confidentiality("t4", LEVEL(3), "assets/info");
    expect_confidentiality("u4", 0, NULL);
    free(before);
    free(after);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("inherit");
    TCase *tc;

    tc = fixture_tcase(suite, "graphs");
    tcase_add_test(tc, test_chain);
    tcase_add_test(tc, test_diamond);
    tcase_add_test(tc, test_cycle_ends_equal);
    tcase_add_test(tc, test_link_removal_lowers);

    tc = fixture_tcase(suite, "security");
    tcase_add_test(tc, test_security_inherited_and_flagged);
    tcase_add_test(tc, test_protected_object_flags_facility_only);

    tc = fixture_tcase(suite, "reach");
    tcase_set_timeout(tc, 120); /* 10,000 assets, also under the sanitizers */
    tcase_add_test(tc, test_only_reached_assets_rewritten);
    return fixture_run(suite);
}
