/* test_links.c - links between assets: which kinds each type joins, what
 * is refused and why, listing an asset's links page by page, and deleting
 * an asset that has links. */
#include "store_fixture.h"

#define INFORMATION VALV__V1__ASSET_KIND__INFORMATION
#define IT_SYSTEM VALV__V1__ASSET_KIND__IT_SYSTEM
#define FACILITY VALV__V1__ASSET_KIND__FACILITY

#define PROCESSED_BY VALV__V1__LINK_TYPE__PROCESSED_BY
#define STORED_IN VALV__V1__LINK_TYPE__STORED_IN
#define HOSTED_IN VALV__V1__LINK_TYPE__HOSTED_IN
#define DEPENDS_ON VALV__V1__LINK_TYPE__DEPENDS_ON
#define PART_OF VALV__V1__LINK_TYPE__PART_OF

static const struct {
    Valv__V1__LinkType type;
    const char *type_name;
    Valv__V1__AssetKind from, to;
} rules[] = {
    {PROCESSED_BY, "PROCESSED_BY", INFORMATION, IT_SYSTEM},
    {STORED_IN, "STORED_IN", INFORMATION, FACILITY},
    {HOSTED_IN, "HOSTED_IN", IT_SYSTEM, FACILITY},
    {DEPENDS_ON, "DEPENDS_ON", IT_SYSTEM, IT_SYSTEM},
    {PART_OF, "PART_OF", FACILITY, FACILITY},
};

static const struct {
    Valv__V1__AssetKind kind;
    const char *name;
    const char *ids[2]; /* two of each kind, so that X -> X types have two ends */
} kinds[] = {
    {INFORMATION, "INFORMATION", {"info-1", "info-2"}},
    {IT_SYSTEM, "IT_SYSTEM", {"sys-1", "sys-2"}},
    {FACILITY, "FACILITY", {"room-1", "room-2"}},
};

static void create_two_of_each_kind(void)
{
    for (size_t k = 0; k < 3; k++)
        for (int i = 0; i < 2; i++)
            create_ok(kinds[k].ids[i], kinds[k].kind, "it");
}

/* --- Kinds ---------------------------------------------------------------------- */

/* Every type joins exactly the kinds of its rule; a refusal names the type,
 * the kinds it joins and the kinds given. */
START_TEST(test_kind_rules)
{
    valv_error err;

    create_two_of_each_kind();
    for (size_t r = 0; r < 5; r++) {
        for (size_t f = 0; f < 3; f++) {
            for (size_t t = 0; t < 3; t++) {
                bool allowed = kinds[f].kind == rules[r].from && kinds[t].kind == rules[r].to;
                int rc = link_add(kinds[f].ids[0], kinds[t].ids[1], rules[r].type, &err);
                if (allowed) {
                    ck_assert_msg(rc == VALV_OK, "%s %s -> %s refused: %s", rules[r].type_name,
                                  kinds[f].name, kinds[t].name, err.message);
                    continue;
                }
                ck_assert_msg(rc == VALV_EINVAL, "%s %s -> %s accepted", rules[r].type_name,
                              kinds[f].name, kinds[t].name);
                char expected[256];
                snprintf(expected, sizeof expected, "not %s %s to %s %s",
                         kinds[f].kind == FACILITY ? "a" : "an", kinds[f].name,
                         kinds[t].kind == FACILITY ? "a" : "an", kinds[t].name);
                ck_assert_msg(strstr(err.message, rules[r].type_name) != NULL &&
                                  strstr(err.message, expected) != NULL,
                              "message: %s", err.message);
            }
        }
    }
}
END_TEST

START_TEST(test_kind_message)
{
    valv_error err;

    create_ok("info", INFORMATION, "it");
    create_ok("room", FACILITY, "property");
    ck_assert_int_eq(link_add("info", "room", HOSTED_IN, &err), VALV_EINVAL);
    ck_assert_str_eq(err.message, "type: HOSTED_IN links an IT_SYSTEM to a FACILITY, not an "
                                  "INFORMATION to a FACILITY");
    ck_assert_int_eq(err.n_violations, 1);
    ck_assert_str_eq(err.violations[0].field, "type");
}
END_TEST

/* --- Refusals ------------------------------------------------------------------- */

START_TEST(test_refusals)
{
    valv_error err;
    int64_t revision;

    create_ok("info", INFORMATION, "it");
    create_ok("sys", IT_SYSTEM, "it");
    create_ok("old", IT_SYSTEM, "it");
    ck_assert_int_eq(delete_asset("old", false, &err), VALV_OK);
    revision = store_revision(s);

    ck_assert_int_eq(link_add("info", "nowhere", PROCESSED_BY, &err), VALV_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err.message, "assets/nowhere"));
    ck_assert_int_eq(link_add("ghost", "sys", PROCESSED_BY, &err), VALV_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err.message, "assets/ghost"));
    ck_assert_int_eq(link_add("info", "old", PROCESSED_BY, &err), VALV_EPRECONDITION);
    ck_assert_ptr_nonnull(strstr(err.message, "deleted"));
    ck_assert_int_eq(link_add("sys", "sys", DEPENDS_ON, &err), VALV_EINVAL);
    ck_assert_str_eq(err.violations[0].field, "to_asset");
    ck_assert_int_eq(link_add("info", "sys", 0, &err), VALV_EINVAL);
    ck_assert_str_eq(err.violations[0].field, "type");
    ck_assert_int_eq(link_add("info", "sys", 99, &err), VALV_EINVAL);
    ck_assert_int_eq(link_add("Bad_Id", "sys", PROCESSED_BY, &err), VALV_EINVAL);
    ck_assert_str_eq(err.violations[0].field, "from_asset");
    ck_assert_int_eq(store_revision(s), revision);

    link_ok("info", "sys", PROCESSED_BY);
    revision = store_revision(s);
    ck_assert_int_eq(link_add("info", "sys", PROCESSED_BY, &err), VALV_EEXIST);
    ck_assert_str_eq(err.message,
                     "the PROCESSED_BY link from assets/info to assets/sys already exists");
    ck_assert_int_eq(store_revision(s), revision);

    ck_assert_int_eq(link_remove("sys", "info", PROCESSED_BY, &err), VALV_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err.message, "no PROCESSED_BY link from assets/sys"));
}
END_TEST

/* A link is a change of its own, even when it raises nothing. */
START_TEST(test_link_takes_a_revision)
{
    valv_error err;

    create_ok("info", INFORMATION, "it");
    create_ok("sys", IT_SYSTEM, "it");
    int64_t revision = store_revision(s);
    link_ok("info", "sys", PROCESSED_BY);
    ck_assert_int_eq(store_revision(s), revision + 1);
    ck_assert_int_eq(link_remove("info", "sys", PROCESSED_BY, &err), VALV_OK);
    ck_assert_int_eq(store_revision(s), revision + 2);
}
END_TEST

/* --- Listing ---------------------------------------------------------------------- */

/* Every link of id, page by page (page_size 2), as "from>to" joined by spaces. */
static void list_all(const char *id, char *out, size_t cap)
{
    char *token = NULL;
    out[0] = '\0';
    do {
        store_link_list_result res;
        valv_error err;
        ck_assert_msg(store_list_links(s, id, NULL, 2, token, &res, &err) == VALV_OK, "list: %s",
                      err.message);
        ck_assert_uint_le(res.n_links, 2);
        for (size_t i = 0; i < res.n_links; i++) {
            size_t len = strlen(out);
            snprintf(out + len, cap - len, "%s%s>%s", len > 0 ? " " : "",
                     res.links[i]->from_asset + strlen("assets/"),
                     res.links[i]->to_asset + strlen("assets/"));
        }
        free(token);
        token = res.next_page_token;
        res.next_page_token = NULL;
        store_link_list_result_free(&res);
    } while (token != NULL);
}

START_TEST(test_list_links)
{
    store_link_list_result res;
    valv_error err;
    char links[512];

    create_ok("info-a", INFORMATION, "it");
    create_ok("info-b", INFORMATION, "it");
    create_ok("sys", IT_SYSTEM, "it");
    create_ok("lib", IT_SYSTEM, "it");
    create_ok("db", IT_SYSTEM, "it");
    create_ok("room", FACILITY, "property");
    link_ok("info-b", "sys", PROCESSED_BY);
    link_ok("info-a", "sys", PROCESSED_BY);
    link_ok("sys", "room", HOSTED_IN);
    link_ok("sys", "db", DEPENDS_ON);
    link_ok("lib", "sys", DEPENDS_ON);

    /* Outgoing first, by type then the other asset; then incoming. */
    list_all("sys", links, sizeof links);
    ck_assert_str_eq(links, "sys>room sys>db info-a>sys info-b>sys lib>sys");
    list_all("room", links, sizeof links);
    ck_assert_str_eq(links, "sys>room");
    list_all("info-a", links, sizeof links);
    ck_assert_str_eq(links, "info-a>sys");

    ck_assert_int_eq(store_list_links(s, "sys", NULL, 0, NULL, &res, &err), VALV_OK);
    ck_assert_uint_eq(res.n_links, 5);
    ck_assert_ptr_null(res.next_page_token);
    ck_assert_int_eq(res.links[0]->type, HOSTED_IN);
    ck_assert_str_eq(res.links[0]->create_by, "alice");
    ck_assert_ptr_nonnull(res.links[0]->create_time);
    ck_assert_int_gt(res.links[0]->create_time->seconds, 1700000000);
    store_link_list_result_free(&res);

    /* A token pages through the links of its own asset only. */
    ck_assert_int_eq(store_list_links(s, "sys", NULL, 1, NULL, &res, &err), VALV_OK);
    ck_assert_ptr_nonnull(res.next_page_token);
    store_link_list_result page2;
    ck_assert_int_eq(store_list_links(s, "room", NULL, 1, res.next_page_token, &page2, &err),
                     VALV_EINVAL);
    ck_assert_str_eq(err.violations[0].field, "page_token");
    store_link_list_result_free(&res);

    ck_assert_int_eq(store_list_links(s, "nowhere", NULL, 0, NULL, &res, &err), VALV_ENOTFOUND);
    ck_assert_int_eq(store_list_links(s, "sys", NULL, -1, NULL, &res, &err), VALV_EINVAL);
    ck_assert_str_eq(err.violations[0].field, "page_size");
}
END_TEST

START_TEST(test_delete_link)
{
    valv_error err;
    char links[256];

    create_ok("sys", IT_SYSTEM, "it");
    create_ok("db", IT_SYSTEM, "it");
    link_ok("sys", "db", DEPENDS_ON);
    ck_assert_int_eq(link_remove("sys", "db", DEPENDS_ON, &err), VALV_OK);
    list_all("sys", links, sizeof links);
    ck_assert_str_eq(links, "");
    list_all("db", links, sizeof links);
    ck_assert_str_eq(links, "");
    ck_assert_int_eq(link_remove("sys", "db", DEPENDS_ON, &err), VALV_ENOTFOUND);
    /* Made again, it is there again. */
    link_ok("sys", "db", DEPENDS_ON);
}
END_TEST

/* --- Deleting an asset that has links ------------------------------------------------ */

START_TEST(test_delete_asset_with_links)
{
    valv_error err;
    char links[256];

    create_ok("info", INFORMATION, "hr");
    create_ok("sys", IT_SYSTEM, "it");
    create_ok("room", FACILITY, "property");
    classify_ok("info", LEVEL(3), 0, 0, 0);
    classify_ok("sys", 0, LEVEL(2), 0, 0);
    link_ok("info", "sys", PROCESSED_BY);
    link_ok("sys", "room", HOSTED_IN);

    int64_t revision = store_revision(s);
    ck_assert_int_eq(delete_asset("sys", false, &err), VALV_EPRECONDITION);
    ck_assert_ptr_nonnull(strstr(err.message, "2 links"));
    ck_assert_ptr_nonnull(strstr(err.message, "force"));
    ck_assert_int_eq(store_revision(s), revision);

    ck_assert_int_eq(delete_asset("sys", true, &err), VALV_OK);
    list_all("info", links, sizeof links);
    ck_assert_str_eq(links, "");
    list_all("room", links, sizeof links);
    ck_assert_str_eq(links, "");

    /* What sys carried to the room is gone; sys keeps only its own values. */
    Valv__V1__Asset *room = get("room"), *sys = get("sys");
    ck_assert_int_eq(room->effective->confidentiality, 0);
    ck_assert_int_eq(room->effective->integrity, 0);
    ck_assert_uint_eq(room->effective->n_sources, 0);
    ck_assert_ptr_nonnull(sys->delete_time);
    ck_assert_int_eq(sys->effective->confidentiality, 0);
    ck_assert_int_eq(sys->effective->integrity, LEVEL(2));
    asset_free(room);
    asset_free(sys);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("links");
    TCase *tc;

    tc = fixture_tcase(suite, "kinds");
    tcase_add_test(tc, test_kind_rules);
    tcase_add_test(tc, test_kind_message);

    tc = fixture_tcase(suite, "changes");
    tcase_add_test(tc, test_refusals);
    tcase_add_test(tc, test_link_takes_a_revision);
    tcase_add_test(tc, test_delete_link);
    tcase_add_test(tc, test_delete_asset_with_links);

    tc = fixture_tcase(suite, "list");
    tcase_add_test(tc, test_list_links);
    return fixture_run(suite);
}
