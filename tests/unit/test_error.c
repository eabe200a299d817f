/* test_error.c - the error a request gets back. */
#include <check.h>
#include <string.h>

#include "error.h"

static valv_error err;

static void setup(void)
{
    memset(&err, 0x5A, sizeof err); /* garbage, as an uninitialised error would hold */
    valv_error_clear(&err);
}

/* ---- clear, set ------------------------------------------------------------------ */

START_TEST(clear_resets_everything)
{
    valv_error_violation(&err, "display_name", "required");
    valv_error_clear(&err);
    ck_assert_int_eq(err.code, VALV_OK);
    ck_assert_str_eq(err.message, "");
    ck_assert_int_eq(err.n_violations, 0);
}
END_TEST

START_TEST(set_formats_and_returns_code)
{
    ck_assert_int_eq(valv_error_set(&err, VALV_ENOTFOUND, "asset %s not found", "assets/x"),
                     VALV_ENOTFOUND);
    ck_assert_int_eq(err.code, VALV_ENOTFOUND);
    ck_assert_str_eq(err.message, "asset assets/x not found");
    ck_assert_int_eq(err.n_violations, 0);
}
END_TEST

START_TEST(set_truncates_long_messages)
{
    char long_text[2 * VALV_ERROR_MESSAGE_MAX];
    memset(long_text, 'm', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';

    valv_error_set(&err, VALV_EINTERNAL, "%s", long_text);
    ck_assert_uint_eq(strlen(err.message), VALV_ERROR_MESSAGE_MAX - 1);
}
END_TEST

START_TEST(set_accepts_null_error)
{
    ck_assert_int_eq(valv_error_set(NULL, VALV_EABORTED, "etag mismatch"), VALV_EABORTED);
}
END_TEST

/* ---- violation -------------------------------------------------------------------- */

START_TEST(violation_records_field_and_message)
{
    ck_assert_int_eq(valv_error_violation(&err, "owner_unit", "'%s' does not match", "Bad"),
                     VALV_EINVAL);
    ck_assert_int_eq(err.code, VALV_EINVAL);
    ck_assert_int_eq(err.n_violations, 1);
    ck_assert_str_eq(err.violations[0].field, "owner_unit");
    ck_assert_str_eq(err.violations[0].description, "'Bad' does not match");
    ck_assert_str_eq(err.message, "owner_unit: 'Bad' does not match");
}
END_TEST

START_TEST(message_names_the_first_violation)
{
    valv_error_violation(&err, "kind", "required");
    valv_error_violation(&err, "display_name", "required");
    ck_assert_int_eq(err.n_violations, 2);
    ck_assert_str_eq(err.violations[1].field, "display_name");
    ck_assert_str_eq(err.message, "kind: required");
}
END_TEST

START_TEST(violation_keeps_an_earlier_message)
{
    valv_error_set(&err, VALV_EINVAL, "the asset is not valid");
    valv_error_violation(&err, "kind", "required");
    ck_assert_str_eq(err.message, "the asset is not valid");
    ck_assert_int_eq(err.n_violations, 1);
}
END_TEST

START_TEST(violations_past_the_limit_are_dropped)
{
    for (int i = 0; i < VALV_ERROR_VIOLATIONS_MAX + 5; i++)
        ck_assert_int_eq(valv_error_violation(&err, "labels", "bad %d", i), VALV_EINVAL);
    ck_assert_int_eq(err.n_violations, VALV_ERROR_VIOLATIONS_MAX);
    ck_assert_str_eq(err.violations[VALV_ERROR_VIOLATIONS_MAX - 1].description, "bad 15");
    ck_assert_int_eq(err.code, VALV_EINVAL);
}
END_TEST

START_TEST(violation_truncates_long_field_and_description)
{
    char long_text[1024];
    memset(long_text, 'f', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';

    valv_error_violation(&err, long_text, "%s", long_text);
    ck_assert_uint_eq(strlen(err.violations[0].field), VALV_ERROR_FIELD_MAX - 1);
    ck_assert_uint_eq(strlen(err.violations[0].description),
                      sizeof err.violations[0].description - 1);
    ck_assert_uint_lt(strlen(err.message), VALV_ERROR_MESSAGE_MAX);
}
END_TEST

START_TEST(violation_accepts_null_error)
{
    ck_assert_int_eq(valv_error_violation(NULL, "kind", "required"), VALV_EINVAL);
}
END_TEST

/* ---- prefix_fields ----------------------------------------------------------------- */

START_TEST(prefix_applies_to_every_field_and_the_message)
{
    valv_error_violation(&err, "display_name", "required");
    valv_error_violation(&err, "attributes.host", "too long");
    valv_error_prefix_fields(&err, "asset");
    ck_assert_str_eq(err.violations[0].field, "asset.display_name");
    ck_assert_str_eq(err.violations[1].field, "asset.attributes.host");
    ck_assert_str_eq(err.message, "asset.display_name: required");
}
END_TEST

START_TEST(prefix_leaves_an_error_without_violations)
{
    valv_error_set(&err, VALV_ENOTFOUND, "assets/x not found");
    valv_error_prefix_fields(&err, "asset");
    ck_assert_str_eq(err.message, "assets/x not found");
}
END_TEST

START_TEST(prefix_cuts_a_field_that_would_overflow)
{
    char field[VALV_ERROR_FIELD_MAX];
    memset(field, 'f', sizeof field - 1);
    field[sizeof field - 1] = '\0';

    valv_error_violation(&err, field, "bad");
    valv_error_prefix_fields(&err, "asset");
    ck_assert_uint_eq(strlen(err.violations[0].field), VALV_ERROR_FIELD_MAX - 1);
    ck_assert_int_eq(strncmp(err.violations[0].field, "asset.fff", 9), 0);
}
END_TEST

/* ---- code names ----------------------------------------------------------------- */

START_TEST(code_names_are_canonical)
{
    const struct {
        int code;
        const char *name;
    } cases[] = {
        {VALV_OK, "OK"},
        {VALV_ECANCELLED, "CANCELLED"},
        {VALV_EINVAL, "INVALID_ARGUMENT"},
        {VALV_EDEADLINE, "DEADLINE_EXCEEDED"},
        {VALV_ENOTFOUND, "NOT_FOUND"},
        {VALV_EEXIST, "ALREADY_EXISTS"},
        {VALV_EPERM, "PERMISSION_DENIED"},
        {VALV_EFULL, "RESOURCE_EXHAUSTED"},
        {VALV_EPRECONDITION, "FAILED_PRECONDITION"},
        {VALV_EABORTED, "ABORTED"},
        {VALV_ERANGE, "OUT_OF_RANGE"},
        {VALV_EUNIMPLEMENTED, "UNIMPLEMENTED"},
        {VALV_EINTERNAL, "INTERNAL"},
        {VALV_EUNAVAILABLE, "UNAVAILABLE"},
        {VALV_EUNAUTHENTICATED, "UNAUTHENTICATED"},
        {2, "UNKNOWN"},
        {15, "DATA_LOSS"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_str_eq(valv_code_name(cases[i].code), cases[i].name);
}
END_TEST

START_TEST(code_names_out_of_range_are_unknown)
{
    ck_assert_str_eq(valv_code_name(-1), "UNKNOWN");
    ck_assert_str_eq(valv_code_name(17), "UNKNOWN");
    ck_assert_str_eq(valv_code_name(1000), "UNKNOWN");
}
END_TEST

static Suite *error_suite(void)
{
    Suite *s = suite_create("error");
    struct {
        const char *name;
        const TTest *tests[8];
    } groups[] = {
        {"set",
         {clear_resets_everything, set_formats_and_returns_code, set_truncates_long_messages,
          set_accepts_null_error}},
        {"violation",
         {violation_records_field_and_message, message_names_the_first_violation,
          violation_keeps_an_earlier_message, violations_past_the_limit_are_dropped,
          violation_truncates_long_field_and_description, violation_accepts_null_error}},
        {"prefix_fields",
         {prefix_applies_to_every_field_and_the_message, prefix_leaves_an_error_without_violations,
          prefix_cuts_a_field_that_would_overflow}},
        {"code_name", {code_names_are_canonical, code_names_out_of_range_are_unknown}},
    };

    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        TCase *tc = tcase_create(groups[g].name);
        tcase_add_checked_fixture(tc, setup, NULL);
        for (int t = 0; groups[g].tests[t] != NULL; t++)
            tcase_add_test(tc, groups[g].tests[t]);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(error_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failures = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failures ? 1 : 0;
}
