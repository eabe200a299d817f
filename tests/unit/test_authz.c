/* test_authz.c - who may do what, and who may see RESTRICTED and higher
 * (service/authz.c). */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "authz.h"

static const char *const anna_units[] = {"fastighetsnamnden", "kulturnamnden"};
static const char *const cmdb_sources[] = {"servicenow"};

static const principal reader = {.id = "lena", .roles = ROLE_READER};
static const principal owner = {.id = "anna", .roles = ROLE_OWNER, .units = anna_units,
                                .n_units = 2};
static const principal chief = {.id = "sakerhetsskyddschef", .roles = ROLE_SECURITY_CHIEF};
static const principal importer = {.id = "cmdb-nightly", .roles = ROLE_IMPORTER,
                                   .sources = cmdb_sources, .n_sources = 1};
static const principal auditor = {.id = "revisor", .roles = ROLE_AUDITOR};
static const principal admin = {.id = "drift", .roles = ROLE_ADMIN};
static const principal cleared_reader = {.id = "klara", .roles = ROLE_READER, .cleared = true};

static valv_error err;

static void setup(void)
{
    valv_error_clear(&err);
}

/* ---- every role's rights ---------------------------------------------------------------- */

typedef struct {
    const principal *who;
    bool allowed[AUTHZ_RIGHT_COUNT]; /* in the order of authz_right */
} role_case;

/*                    READ CREATE UPDATE CLASSIFY LINK DELETE REVIEW IMPORT AUDIT ADMIN */
static const role_case role_cases[] = {
    {&reader, {1, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
    {&owner, {1, 1, 1, 1, 1, 1, 0, 0, 0, 0}},
    {&chief, {1, 0, 0, 0, 0, 0, 1, 0, 0, 0}},
    {&importer, {0, 0, 0, 0, 0, 0, 0, 1, 0, 0}},
    {&auditor, {1, 0, 0, 0, 0, 0, 0, 0, 1, 0}},
    {&admin, {0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
};

/* The scope a right is asked for: anna's unit, cmdb-nightly's source. */
static const char *own_scope(authz_right right)
{
    return right == AUTHZ_IMPORT ? "servicenow" : "fastighetsnamnden";
}

START_TEST(each_role_grants_exactly_its_rights)
{
    const role_case *c = &role_cases[_i];
    for (int r = 0; r < AUTHZ_RIGHT_COUNT; r++) {
        valv_error_clear(&err);
        int rc = authz_check(c->who, (authz_right)r, own_scope((authz_right)r), &err);
        if (c->allowed[r]) {
            ck_assert_msg(rc == VALV_OK, "%s should %s: %s", c->who->id,
                          authz_right_name((authz_right)r), err.message);
        } else {
            ck_assert_msg(rc == VALV_EPERM, "%s should not %s", c->who->id,
                          authz_right_name((authz_right)r));
            char start[96];
            snprintf(start, sizeof start, "principal '%s' may not ", c->who->id);
            ck_assert_msg(strncmp(err.message, start, strlen(start)) == 0, "%s", err.message);
        }
    }
}
END_TEST

START_TEST(denial_names_principal_right_and_role)
{
    ck_assert_int_eq(authz_check(&admin, AUTHZ_READ, NULL, &err), VALV_EPERM);
    ck_assert_str_eq(err.message, "principal 'drift' may not read assets: needs role reader, "
                                  "owner, security_chief or auditor");
    ck_assert_int_eq(authz_check(&auditor, AUTHZ_REVIEW, NULL, &err), VALV_EPERM);
    ck_assert_str_eq(err.message,
                     "principal 'revisor' may not review assets: needs role security_chief");
    ck_assert_int_eq(authz_check(&reader, AUTHZ_AUDIT_READ, NULL, &err), VALV_EPERM);
    ck_assert_str_eq(err.message,
                     "principal 'lena' may not read or verify the audit log: needs role auditor");
}
END_TEST

START_TEST(unknown_right_is_an_internal_error)
{
    ck_assert_int_eq(authz_check(&owner, AUTHZ_RIGHT_COUNT, NULL, &err), VALV_EINTERNAL);
    ck_assert_str_eq(authz_right_name(AUTHZ_RIGHT_COUNT), "unknown");
}
END_TEST

/* ---- owners: their units only ----------------------------------------------------------- */

START_TEST(owner_may_classify_own_units_only)
{
    ck_assert_int_eq(authz_check(&owner, AUTHZ_CLASSIFY, "fastighetsnamnden", &err), VALV_OK);
    ck_assert_int_eq(authz_check(&owner, AUTHZ_CLASSIFY, "kulturnamnden", &err), VALV_OK);
    ck_assert_int_eq(authz_check(&owner, AUTHZ_CLASSIFY, "socialnamnden", &err), VALV_EPERM);
    ck_assert_str_eq(err.message, "principal 'anna' may not classify assets of unit "
                                  "'socialnamnden': needs role owner for that unit");
}
END_TEST

START_TEST(owner_unit_match_is_exact)
{
    ck_assert_int_eq(authz_check(&owner, AUTHZ_UPDATE, "fastighetsnamnde", &err), VALV_EPERM);
    ck_assert_int_eq(authz_check(&owner, AUTHZ_UPDATE, "fastighetsnamnden-2", &err), VALV_EPERM);
    ck_assert_int_eq(authz_check(&owner, AUTHZ_UPDATE, "", &err), VALV_EPERM);
}
END_TEST

START_TEST(moving_an_asset_needs_both_units)
{
    /* The handler checks the unit the asset is in and the one it moves to. */
    ck_assert_int_eq(authz_check(&owner, AUTHZ_UPDATE, "fastighetsnamnden", &err), VALV_OK);
    ck_assert_int_eq(authz_check(&owner, AUTHZ_UPDATE, "kulturnamnden", &err), VALV_OK);

    ck_assert_int_eq(authz_check(&owner, AUTHZ_UPDATE, "socialnamnden", &err), VALV_EPERM);
    ck_assert_str_eq(err.message, "principal 'anna' may not update assets of unit "
                                  "'socialnamnden': needs role owner for that unit");
}
END_TEST

START_TEST(links_need_rights_on_the_from_unit_only)
{
    /* anna's information stored in another board's server room: allowed. */
    ck_assert_int_eq(authz_check(&owner, AUTHZ_LINK, "fastighetsnamnden", &err), VALV_OK);
    /* Another board's system linked to anna's facility: not anna's to make. */
    ck_assert_int_eq(authz_check(&owner, AUTHZ_LINK, "socialnamnden", &err), VALV_EPERM);
    ck_assert_str_eq(err.message, "principal 'anna' may not link from assets of unit "
                                  "'socialnamnden': needs role owner for that unit");
}
END_TEST

START_TEST(scope_null_asks_for_the_role_before_existence)
{
    ck_assert_int_eq(authz_check(&owner, AUTHZ_DELETE, NULL, &err), VALV_OK);
    ck_assert_int_eq(authz_check(&importer, AUTHZ_IMPORT, NULL, &err), VALV_OK);
    ck_assert_int_eq(authz_check(&reader, AUTHZ_CREATE, NULL, &err), VALV_EPERM);
    ck_assert_str_eq(err.message, "principal 'lena' may not create assets: needs role owner");
}
END_TEST

/* ---- importers: their sources only ------------------------------------------------------- */

START_TEST(importer_may_import_its_sources_only)
{
    ck_assert_int_eq(authz_check(&importer, AUTHZ_IMPORT, "servicenow", &err), VALV_OK);
    ck_assert_int_eq(authz_check(&importer, AUTHZ_IMPORT, "jira", &err), VALV_EPERM);
    ck_assert_str_eq(err.message, "principal 'cmdb-nightly' may not import for source 'jira': "
                                  "needs role importer for that source");
}
END_TEST

START_TEST(importer_may_do_nothing_else)
{
    ck_assert_int_eq(authz_check(&importer, AUTHZ_READ, NULL, &err), VALV_EPERM);
    ck_assert_int_eq(authz_check(&importer, AUTHZ_CREATE, "fastighetsnamnden", &err),
                     VALV_EPERM);
    ck_assert_int_eq(authz_check(&importer, AUTHZ_CLASSIFY, NULL, &err), VALV_EPERM);
}
END_TEST

START_TEST(source_in_message_is_quoted_safely)
{
    ck_assert_int_eq(authz_check(&importer, AUTHZ_IMPORT, "evil\nline", &err), VALV_EPERM);
    ck_assert_ptr_null(strchr(err.message, '\n'));
}
END_TEST

/* ---- roles combine ------------------------------------------------------------------------ */

START_TEST(roles_add_up)
{
    static const char *const units[] = {"socialnamnden"};
    static const char *const sources[] = {"ad"};
    const principal both = {.id = "eva", .roles = ROLE_OWNER | ROLE_IMPORTER, .units = units,
                            .n_units = 1, .sources = sources, .n_sources = 1};
    ck_assert_int_eq(authz_check(&both, AUTHZ_CREATE, "socialnamnden", &err), VALV_OK);
    ck_assert_int_eq(authz_check(&both, AUTHZ_IMPORT, "ad", &err), VALV_OK);
    ck_assert_int_eq(authz_check(&both, AUTHZ_IMPORT, "servicenow", &err), VALV_EPERM);
    ck_assert_int_eq(authz_check(&both, AUTHZ_REVIEW, NULL, &err), VALV_EPERM);
}
END_TEST

/* ---- need to know --------------------------------------------------------------------------- */

START_TEST(unrestricted_classes_are_visible_to_every_principal)
{
    static const Valv__V1__SecurityClass open_classes[] = {
        VALV__V1__SECURITY_CLASS__SECURITY_CLASS_UNSPECIFIED,
        VALV__V1__SECURITY_CLASS__NOT_CLASSIFIED,
    };
    const principal *everyone[] = {&reader, &owner, &chief, &importer, &auditor, &admin};
    for (size_t c = 0; c < 2; c++)
        for (size_t i = 0; i < sizeof everyone / sizeof everyone[0]; i++)
            ck_assert_msg(authz_can_see(everyone[i], open_classes[c], "socialnamnden"),
                          "%s should see class %d", everyone[i]->id, open_classes[c]);
}
END_TEST

typedef struct {
    const principal *who;
    const char *unit;
    bool sees;
} visibility_case;

static const visibility_case restricted_cases[] = {
    {&reader, "fastighetsnamnden", false},
    {&cleared_reader, "fastighetsnamnden", true},
    {&owner, "fastighetsnamnden", true},  /* owner of the unit */
    {&owner, "socialnamnden", false},     /* owner, but of other units */
    {&chief, "socialnamnden", true},      /* cleared by role */
    {&auditor, "socialnamnden", true},    /* cleared by role */
    {&importer, "fastighetsnamnden", false},
    {&admin, "fastighetsnamnden", false},
};

START_TEST(restricted_and_higher_need_clearance_or_ownership)
{
    static const Valv__V1__SecurityClass classes[] = {
        VALV__V1__SECURITY_CLASS__RESTRICTED, VALV__V1__SECURITY_CLASS__CONFIDENTIAL,
        VALV__V1__SECURITY_CLASS__SECRET, VALV__V1__SECURITY_CLASS__TOP_SECRET};
    const visibility_case *c = &restricted_cases[_i];
    for (size_t k = 0; k < sizeof classes / sizeof classes[0]; k++)
        ck_assert_msg(authz_can_see(c->who, classes[k], c->unit) == c->sees,
                      "%s, class %d, unit %s: expected %s", c->who->id, classes[k], c->unit,
                      c->sees ? "visible" : "invisible");
}
END_TEST

START_TEST(clearance_by_flag_or_role)
{
    ck_assert(!authz_is_cleared(&reader));
    ck_assert(authz_is_cleared(&cleared_reader));
    ck_assert(authz_is_cleared(&chief));
    ck_assert(authz_is_cleared(&auditor));
    ck_assert(!authz_is_cleared(&owner));
    ck_assert(!authz_is_cleared(&admin));
}
END_TEST

/* ---- --dev ----------------------------------------------------------------------------------- */

START_TEST(dev_principal_may_do_and_see_everything)
{
    const principal *dev = authz_dev_principal();
    ck_assert_str_eq(dev->id, "dev");
    for (int r = 0; r < AUTHZ_RIGHT_COUNT; r++) {
        ck_assert_int_eq(authz_check(dev, (authz_right)r, NULL, &err), VALV_OK);
        ck_assert_int_eq(authz_check(dev, (authz_right)r, "any-unit-or-source", &err), VALV_OK);
    }
    ck_assert(authz_can_see(dev, VALV__V1__SECURITY_CLASS__TOP_SECRET, "socialnamnden"));
}
END_TEST

static Suite *authz_suite(void)
{
    Suite *s = suite_create("authz");

    TCase *roles = tcase_create("roles");
    tcase_add_checked_fixture(roles, setup, NULL);
    tcase_add_loop_test(roles, each_role_grants_exactly_its_rights, 0,
                        sizeof role_cases / sizeof role_cases[0]);
    tcase_add_test(roles, denial_names_principal_right_and_role);
    tcase_add_test(roles, unknown_right_is_an_internal_error);
    tcase_add_test(roles, roles_add_up);
    suite_add_tcase(s, roles);

    TCase *units = tcase_create("owner_units");
    tcase_add_checked_fixture(units, setup, NULL);
    tcase_add_test(units, owner_may_classify_own_units_only);
    tcase_add_test(units, owner_unit_match_is_exact);
    tcase_add_test(units, moving_an_asset_needs_both_units);
    tcase_add_test(units, links_need_rights_on_the_from_unit_only);
    tcase_add_test(units, scope_null_asks_for_the_role_before_existence);
    suite_add_tcase(s, units);

    TCase *sources = tcase_create("importer_sources");
    tcase_add_checked_fixture(sources, setup, NULL);
    tcase_add_test(sources, importer_may_import_its_sources_only);
    tcase_add_test(sources, importer_may_do_nothing_else);
    tcase_add_test(sources, source_in_message_is_quoted_safely);
    suite_add_tcase(s, sources);

    TCase *visibility = tcase_create("need_to_know");
    tcase_add_test(visibility, unrestricted_classes_are_visible_to_every_principal);
    tcase_add_loop_test(visibility, restricted_and_higher_need_clearance_or_ownership, 0,
                        sizeof restricted_cases / sizeof restricted_cases[0]);
    tcase_add_test(visibility, clearance_by_flag_or_role);
    suite_add_tcase(s, visibility);

    TCase *dev = tcase_create("dev");
    tcase_add_checked_fixture(dev, setup, NULL);
    tcase_add_test(dev, dev_principal_may_do_and_see_everything);
    suite_add_tcase(s, dev);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(authz_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failures = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failures ? 1 : 0;
}
