/* test_filter.c - AIP-160 filters: parsing, matching, errors, index hints. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "limits.h"

/* ---- The asset filters are tried on ---------------------------------------- */

static Valv__V1__Asset asset;     /* every field set */
static Valv__V1__Asset bare;      /* only what a new asset must have */
static Valv__V1__Classification classification;
static Valv__V1__SecurityProtection security;
static Valv__V1__Effective effective;
static Valv__V1__ReviewStatus review;
static Google__Protobuf__Timestamp create_time, update_time;
static Valv__V1__Asset__AttributesEntry hostname, tier;
static Valv__V1__Asset__AttributesEntry *attributes[2];
static char *labels[2];
static valv_error err;

static void setup(void)
{
    valv__v1__asset__init(&asset);
    asset.name = (char *)"assets/payroll";
    asset.kind = VALV__V1__ASSET_KIND__IT_SYSTEM;
    asset.display_name = (char *)"Personalsystem Lön";
    asset.description = (char *)"Handles salaries for all staff";
    asset.owner_unit = (char *)"personalnamnden";
    asset.owner = (char *)"Anna Berg";
    asset.source = (char *)"cmdb";
    asset.external_id = (char *)"CI-1042";
    asset.revision = 42;

    labels[0] = (char *)"gdpr";
    labels[1] = (char *)"critical";
    asset.labels = labels;
    asset.n_labels = 2;

    valv__v1__asset__attributes_entry__init(&hostname);
    hostname.key = (char *)"hostname";
    hostname.value = (char *)"pay01.example.se";
    valv__v1__asset__attributes_entry__init(&tier);
    tier.key = (char *)"tier";
    tier.value = (char *)"1";
    attributes[0] = &hostname;
    attributes[1] = &tier;
    asset.attributes = attributes;
    asset.n_attributes = 2;

    /* K3 R2 T2 S1 */
    valv__v1__classification__init(&classification);
    classification.confidentiality = VALV__V1__LEVEL__SERIOUS;
    classification.integrity = VALV__V1__LEVEL__SIGNIFICANT;
    classification.availability = VALV__V1__LEVEL__SIGNIFICANT;
    classification.traceability = VALV__V1__LEVEL__MODERATE;
    asset.classification = &classification;

    valv__v1__security_protection__init(&security);
    security.security_class = VALV__V1__SECURITY_CLASS__RESTRICTED;
    security.security_sensitive = 1;
    asset.security = &security;

    valv__v1__effective__init(&effective);
    effective.confidentiality = VALV__V1__LEVEL__VERY_SERIOUS;
    effective.integrity = VALV__V1__LEVEL__SIGNIFICANT;
    effective.availability = VALV__V1__LEVEL__SERIOUS;
    effective.traceability = VALV__V1__LEVEL__MODERATE;
    effective.security_class = VALV__V1__SECURITY_CLASS__CONFIDENTIAL;
    effective.security_sensitive = 1;
    effective.flagged = 1;
    asset.effective = &effective;

    valv__v1__review_status__init(&review);
    review.state = VALV__V1__REVIEW_STATE__PENDING;
    asset.review = &review;

    google__protobuf__timestamp__init(&create_time);
    create_time.seconds = 1740816000; /* 2025-03-01T08:00:00Z */
    asset.create_time = &create_time;
    google__protobuf__timestamp__init(&update_time);
    update_time.seconds = 1768480200; /* 2026-01-15T12:30:00.5Z */
    update_time.nanos = 500000000;
    asset.update_time = &update_time;

    /* No sub-messages, labels, attributes or times at all. */
    valv__v1__asset__init(&bare);
    bare.name = (char *)"assets/bare";
    bare.kind = VALV__V1__ASSET_KIND__FACILITY;
    bare.display_name = (char *)"Förråd";
    bare.owner_unit = (char *)"kulturnamnden";

    valv_error_clear(&err);
}

/* Parses text, which must be valid, and matches it against a. */
static bool matches(const Valv__V1__Asset *a, const char *text)
{
    filter *f = NULL;
    int rc = filter_parse(text, &f, &err);
    ck_assert_msg(rc == VALV_OK, "filter [%s] refused: %s", text, err.message);
    bool result = filter_match(f, a, 0);
    filter_free(f);
    return result;
}

struct match_case {
    const char *filter;
    bool expected;
};

static void check_cases(const Valv__V1__Asset *a, const struct match_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(matches(a, cases[i].filter) == cases[i].expected,
                      "filter [%s] should %smatch", cases[i].filter,
                      cases[i].expected ? "" : "not ");
}

#define CHECK_CASES(a, cases) check_cases((a), (cases), sizeof(cases) / sizeof(cases)[0])

/* Parses text, which must be refused with exactly message. */
static void expect_error(const char *text, const char *message)
{
    filter *f = NULL;
    valv_error_clear(&err);
    int rc = filter_parse(text, &f, &err);
    ck_assert_msg(rc == VALV_EINVAL, "filter [%s] gave %d, not INVALID_ARGUMENT", text, rc);
    ck_assert_ptr_null(f);
    ck_assert_int_eq(err.code, VALV_EINVAL);
    ck_assert_int_eq(err.n_violations, 1);
    ck_assert_str_eq(err.violations[0].field, "filter");
    ck_assert_str_eq(err.message, message);
}

/* ---- Field families --------------------------------------------------------- */

START_TEST(strings_exact_wildcard_and_substring)
{
    static const struct match_case cases[] = {
        {"display_name = \"Personalsystem Lön\"", true},
        {"display_name = \"personalsystem lön\"", false}, /* '=' is case-sensitive */
        {"display_name = Pers*", true},
        {"display_name = \"*Lön\"", true},
        {"display_name = \"P*system*n\"", true},
        {"display_name = Pers", false},                    /* '=' is the whole string */
        {"display_name != Pers*", false},
        {"display_name != Other", true},
        {"display_name:SYSTEM", true},                    /* ':' is a substring, any case */
        {"display_name:\"l*n\"", true},
        {"display_name:xyz", false},
        {"owner = \"Anna Berg\"", true},
        {"owner:berg", true},
        {"owner:*", true},
        {"owner_unit = personalnamnden", true},
        {"owner_unit = personal", false},
        {"description:SALARIES", true},
        {"source = cmdb", true},
        {"external_id = CI-1042", true},
        {"external_id = ci-1042", false},
    };
    CHECK_CASES(&asset, cases);
    ck_assert(!matches(&bare, "owner:*"));
    ck_assert(matches(&bare, "NOT owner:*"));
    ck_assert(matches(&bare, "owner = \"\""));
}
END_TEST

START_TEST(name_takes_full_name_or_bare_id)
{
    static const struct match_case cases[] = {
        {"name = \"assets/payroll\"", true},
        {"name = payroll", true},
        {"name = pay*", true},
        {"name = other", false},
        {"name != payroll", false},
        {"name != other", true},
        {"name:roll", true},
    };
    CHECK_CASES(&asset, cases);
}
END_TEST

START_TEST(kind_by_name_any_case_and_dash)
{
    static const struct match_case cases[] = {
        {"kind = IT_SYSTEM", true},
        {"kind = it-system", true},
        {"kind = It_System", true},
        {"kind:IT_SYSTEM", true},
        {"kind = FACILITY", false},
        {"kind != FACILITY", true},
        {"kind != IT_SYSTEM", false},
    };
    CHECK_CASES(&asset, cases);
}
END_TEST

START_TEST(levels_by_number_and_name)
{
    static const struct match_case cases[] = {
        {"classification.confidentiality = 3", true},
        {"classification.confidentiality = SERIOUS", true},
        {"classification.confidentiality = serious", true},
        {"classification.confidentiality = 2", false},
        {"classification.confidentiality != 3", false},
        {"classification.confidentiality >= 3", true},
        {"classification.confidentiality > 3", false},
        {"classification.confidentiality < 4", true},
        {"classification.confidentiality <= 2", false},
        {"classification.integrity = SIGNIFICANT", true},
        {"classification.availability = 2", true},
        {"classification.traceability = MODERATE", true},
        {"effective.confidentiality = VERY_SERIOUS", true},
        {"effective.confidentiality = 4", true},
    };
    CHECK_CASES(&asset, cases);
    /* A value is a literal, never another field. */
    expect_error("effective.availability > classification",
                 "filter: at position 26: effective.availability: 'classification' is not one "
                 "of 0-4, NEGLIGIBLE, MODERATE, SIGNIFICANT, SERIOUS, VERY_SERIOUS");
}
END_TEST

START_TEST(unset_levels_are_unclassified_not_low)
{
    static const struct match_case cases[] = {
        {"classification.confidentiality = LEVEL_UNSPECIFIED", true},
        {"classification.confidentiality < 4", false},
        {"classification.confidentiality <= 0", false},
        {"classification.confidentiality != 3", true},
        {"effective.security_class < SECRET", false},
        {"effective.security_class = SECURITY_CLASS_UNSPECIFIED", true},
    };
    CHECK_CASES(&bare, cases);
}
END_TEST

START_TEST(security_classes_are_ordered)
{
    static const struct match_case cases[] = {
        {"security.security_class = RESTRICTED", true},
        {"security.security_class = restricted", true},
        {"effective.security_class >= RESTRICTED", true},
        {"effective.security_class > CONFIDENTIAL", false},
        {"effective.security_class <= top-secret", true},
    };
    CHECK_CASES(&asset, cases);
}
END_TEST

START_TEST(booleans_and_review_state)
{
    static const struct match_case cases[] = {
        {"flagged = true", true},
        {"flagged = false", false},
        {"flagged != false", true},
        {"effective.security_sensitive = true", true},
        {"security.security_sensitive = TRUE", true},
        {"security.protected_object = false", true},
        {"review.state = PENDING", true},
        {"review.state != APPROVED", true},
        {"review.state:pending", true},
    };
    CHECK_CASES(&asset, cases);
    /* Missing sub-messages count as unset. */
    ck_assert(matches(&bare, "flagged = false"));
    ck_assert(!matches(&bare, "review.state = PENDING"));
    ck_assert(matches(&bare, "review.state = REVIEW_STATE_UNSPECIFIED"));
}
END_TEST

/* Overdue is APPROVED with due_time at or before the time the filter is
 * matched at, which the caller passes in. */
START_TEST(review_overdue_from_due_time)
{
    Google__Protobuf__Timestamp due = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    filter *f = NULL;

    due.seconds = 1000;
    review.due_time = &due;
    ck_assert_int_eq(filter_parse("review.overdue = true", &f, &err), VALV_OK);
    ck_assert(!filter_match(f, &asset, 2000)); /* PENDING: never overdue */
    review.state = VALV__V1__REVIEW_STATE__APPROVED;
    ck_assert(!filter_match(f, &asset, 999));
    ck_assert(filter_match(f, &asset, 1000));
    ck_assert(filter_match(f, &asset, 2000));
    due.nanos = 1;
    ck_assert(!filter_match(f, &asset, 1000));
    ck_assert(!filter_match(f, &bare, 2000));
    filter_free(f);
    review.due_time = NULL;
    ck_assert(matches(&bare, "review.overdue = false"));
}
END_TEST

START_TEST(revision_compares_as_number)
{
    static const struct match_case cases[] = {
        {"revision = 42", true},
        {"revision > 41", true},
        {"revision <= 41", false},
        {"revision != 42", false},
        {"revision >= 100", false},
    };
    CHECK_CASES(&asset, cases);
}
END_TEST

START_TEST(times_compare_to_the_nanosecond)
{
    static const struct match_case cases[] = {
        {"update_time > \"2026-01-01T00:00:00Z\"", true},
        {"update_time > 2026-01-01T00:00:00Z", true}, /* no quotes needed */
        {"update_time > 2026-01-15T12:30:00Z", true},  /* by half a second */
        {"update_time = 2026-01-15T12:30:00.5Z", true},
        {"update_time = 2026-01-15T13:30:00.500+01:00", true},
        {"update_time < 2026-01-15T12:30:00.5Z", false},
        {"update_time <= 2026-01-15t12:30:00.500000000z", true},
        {"create_time < 2025-03-02", true}, /* a date is its midnight UTC */
        {"create_time >= 2025-03-01T08:00:01Z", false},
        {"create_time = 2025-03-01T09:00:00+01:00", true},
        {"delete_time > 1970-01-01T00:00:00Z", false}, /* unset */
    };
    CHECK_CASES(&asset, cases);
}
END_TEST

START_TEST(labels_contain_one_label)
{
    static const struct match_case cases[] = {
        {"labels:gdpr", true},
        {"labels = gdpr", true},
        {"labels:gd", false}, /* a label, not a substring */
        {"labels:crit*", true},
        {"labels != gdpr", false},
        {"labels != other", true},
        {"labels:*", true},
    };
    CHECK_CASES(&asset, cases);
    ck_assert(!matches(&bare, "labels:*"));
    ck_assert(matches(&bare, "labels != gdpr"));
}
END_TEST

START_TEST(attributes_keys_and_values)
{
    static const struct match_case cases[] = {
        {"attributes:hostname", true},
        {"attributes:missing", false},
        {"attributes:host*", true},
        {"attributes.hostname = \"pay01.example.se\"", true},
        {"attributes.hostname = pay01.example.se", true},
        {"attributes.hostname = pay*", true},
        {"attributes.hostname:EXAMPLE", true},
        {"attributes.hostname != \"pay01.example.se\"", false},
        {"attributes.tier = 1", true},
        {"attributes.tier:*", true},
        {"attributes.missing = x", false},
        {"attributes.missing:*", false},
        {"attributes.missing != x", true}, /* a missing key is never equal */
        {"NOT attributes.missing = x", true},
    };
    CHECK_CASES(&asset, cases);
}
END_TEST

START_TEST(bare_values_search_free_text)
{
    static const struct match_case cases[] = {
        {"Anna", true},             /* owner */
        {"salaries", true},         /* description */
        {"ci-1042", true},          /* external_id, any case */
        {"\"Lön\"", true},          /* display_name */
        {"personalsystem", true},
        {"\"system lön\"", true},
        {"personalnamnden", false}, /* owner_unit is not searched */
        {"nothing", false},
        {"Anna salaries", true},    /* both */
        {"Anna nothing", false},
    };
    CHECK_CASES(&asset, cases);
}
END_TEST

/* ---- Logic ----------------------------------------------------------------- */

START_TEST(or_binds_tighter_than_and)
{
    /* AIP-160: a AND b OR c is a AND (b OR c). Here a is false, c true. */
    ck_assert(!matches(&asset, "kind = FACILITY AND owner = nobody OR flagged = true"));
    ck_assert(!matches(&asset, "kind = FACILITY AND (owner = nobody OR flagged = true)"));
    ck_assert(matches(&asset, "(kind = FACILITY AND owner = nobody) OR flagged = true"));
    ck_assert(!matches(&asset, "flagged = true OR kind = FACILITY AND revision = 1"));
    ck_assert(matches(&asset, "kind = FACILITY OR kind = INFORMATION OR kind = IT_SYSTEM"));
}
END_TEST

START_TEST(not_and_minus_negate)
{
    static const struct match_case cases[] = {
        {"NOT kind = FACILITY", true},
        {"-kind = FACILITY", true},
        {"- kind = IT_SYSTEM", false},
        {"NOT (kind = IT_SYSTEM OR kind = FACILITY)", false},
        {"-labels:gdpr", false},
        {"NOT nothing", true},
        {"kind = IT_SYSTEM -flagged = false", true},
        {"NOT (NOT flagged = true)", true},
    };
    CHECK_CASES(&asset, cases);
}
END_TEST

START_TEST(parentheses_group)
{
    static const struct match_case cases[] = {
        {"(kind = IT_SYSTEM)", true},
        {"((((kind = IT_SYSTEM))))", true},
        {"(kind = FACILITY OR flagged = true) AND (revision = 42)", true},
        {"(kind = FACILITY OR flagged = false) AND revision = 42", false},
        {"owner:anna (labels:gdpr OR labels:none)", true},
    };
    CHECK_CASES(&asset, cases);
}
END_TEST

START_TEST(juxtaposition_is_and)
{
    static const struct match_case cases[] = {
        {"kind = IT_SYSTEM flagged = true", true},
        {"kind = IT_SYSTEM revision = 1", false},
        {"kind=IT_SYSTEM owner_unit=personalnamnden labels:gdpr", true},
        /* Keywords are upper case only: here "or" is a value to search for. */
        {"kind = IT_SYSTEM or kind = FACILITY", false},
    };
    CHECK_CASES(&asset, cases);
}
END_TEST

START_TEST(blank_filter_matches_everything)
{
    static char not_null;
    filter *f = (filter *)&not_null; /* to see that parsing sets it */
    ck_assert_int_eq(filter_parse("", &f, &err), VALV_OK);
    ck_assert_ptr_null(f);
    ck_assert_int_eq(filter_parse(" \t\n ", &f, &err), VALV_OK);
    ck_assert_ptr_null(f);
    ck_assert(filter_match(NULL, &bare, 0));
    filter_free(NULL);
}
END_TEST

START_TEST(longest_filter_accepted)
{
    /* "a " repeated: 2048 juxtaposed searches in one flat AND. */
    char *text = malloc(VALV_FILTER_MAX + 1);
    ck_assert_ptr_nonnull(text);
    for (size_t i = 0; i < VALV_FILTER_MAX; i += 2)
        memcpy(text + i, "a ", 2);
    text[VALV_FILTER_MAX] = '\0';
    ck_assert(matches(&asset, text)); /* "a" is in "Personalsystem" */
    free(text);
}
END_TEST

/* ---- Index hints ------------------------------------------------------------ */

static filter_hint hint_of(const char *text)
{
    filter *f = NULL;
    filter_hint hint;
    ck_assert_msg(filter_parse(text, &f, &err) == VALV_OK, "%s", err.message);
    filter_hint_get(f, &hint);
    filter_free(f);
    return hint;
}

START_TEST(hint_from_and_chain)
{
    /* Strings in a hint are borrowed from the filter: compare them while it lives. */
    filter *f = NULL;
    filter_hint hint;
    ck_assert_int_eq(filter_parse("owner_unit = personalnamnden kind = it-system AND "
                                  "(source = cmdb AND flagged = true) display_name:x",
                                  &f, &err),
                     VALV_OK);
    filter_hint_get(f, &hint);
    ck_assert_str_eq(hint.owner_unit, "personalnamnden");
    ck_assert_int_eq(hint.kind, VALV__V1__ASSET_KIND__IT_SYSTEM);
    ck_assert_str_eq(hint.source, "cmdb");
    filter_free(f);

    hint = hint_of("kind = FACILITY");
    ck_assert_int_eq(hint.kind, VALV__V1__ASSET_KIND__FACILITY);
    ck_assert_ptr_null(hint.owner_unit);
    ck_assert_ptr_null(hint.source);
}
END_TEST

START_TEST(no_hint_unless_implied)
{
    static const char *const texts[] = {
        "owner_unit = a OR kind = IT_SYSTEM",
        "NOT owner_unit = a",
        "-kind = FACILITY",
        "owner_unit = a* source = cm*",
        "owner_unit:a source:cmdb",
        "owner_unit != a kind != FACILITY",
        "(owner_unit = a OR owner_unit = b) (kind = FACILITY OR flagged = true)",
        "owner_unit = \"\"",
        "Anna",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        filter_hint hint = hint_of(texts[i]);
        ck_assert_msg(hint.owner_unit == NULL && hint.kind == 0 && hint.source == NULL,
                      "[%s] gave a hint", texts[i]);
    }
    filter_hint hint = {.kind = 3};
    filter_hint_get(NULL, &hint);
    ck_assert_int_eq(hint.kind, 0);
}
END_TEST

/* ---- Errors ------------------------------------------------------------------ */

START_TEST(bad_filters_name_position_and_token)
{
    static const struct {
        const char *filter;
        const char *message;
    } cases[] = {
        {"owner_unit = AND x",
         "filter: at position 14: expected a value after '=', found 'AND'"},
        {"kind = laptop",
         "filter: at position 8: kind: 'laptop' is not one of INFORMATION, IT_SYSTEM, FACILITY"},
        {"classification.confidentiality = 5",
         "filter: at position 34: classification.confidentiality: '5' is not one of 0-4, "
         "NEGLIGIBLE, MODERATE, SIGNIFICANT, SERIOUS, VERY_SERIOUS"},
        {"security.security_class > HIGH",
         "filter: at position 27: security.security_class: 'HIGH' is not one of "
         "NOT_CLASSIFIED, RESTRICTED, CONFIDENTIAL, SECRET, TOP_SECRET"},
        {"review.state = DONE",
         "filter: at position 16: review.state: 'DONE' is not one of NOT_REQUIRED, PENDING, "
         "APPROVED, RETURNED"},
        {"flagged = yes", "filter: at position 11: flagged: 'yes' is not one of true, false"},
        {"revision >= ten", "filter: at position 13: revision: 'ten' is not a whole number"},
        {"update_time > 2026-13-01T00:00:00Z",
         "filter: at position 15: update_time: '2026-13-01T00:00:00Z' is not an RFC 3339 time "
         "such as 2026-01-01T00:00:00Z"},
        {"update_time > 2026-02-29",
         "filter: at position 15: update_time: '2026-02-29' is not an RFC 3339 time such as "
         "2026-01-01T00:00:00Z"},
        {"update_time > 2026-01-01T10:00:00",
         "filter: at position 15: update_time: '2026-01-01T10:00:00' is not an RFC 3339 time "
         "such as 2026-01-01T00:00:00Z"},
        {"labels < x", "filter: at position 8: '<' is not allowed on labels; use =, != or :"},
        {"attributes = x", "filter: at position 12: '=' is not allowed on attributes; use :"},
        {"display_name = \"Pers", "filter: at position 16: unterminated string; end it with \""},
        {"display_name = \"a\\nb\"",
         "filter: at position 18: unknown escape in a string; only \\\", \\' and \\\\ are "
         "allowed"},
        {"kind = IT_SYSTEM)", "filter: at position 17: unexpected ')' without a matching '('"},
        {"(kind = IT_SYSTEM",
         "filter: at position 18: expected ')' to close the '(' at position 1, found the end "
         "of the filter"},
        {"kind = IT_SYSTEM = x",
         "filter: at position 18: unexpected '='; expected AND, OR, a comparison or the end of "
         "the filter"},
        {"kind = IT_SYSTEM, kind = FACILITY",
         "filter: at position 17: unexpected ','; expected AND, OR, a comparison or the end of "
         "the filter"},
        {"kind = IT_SYSTEM AND",
         "filter: at position 21: expected a comparison, a value or '(' after 'AND', found the "
         "end of the filter"},
        {"a OR", "filter: at position 5: expected a comparison, a value or '(' after 'OR', found "
                 "the end of the filter"},
        {"OR x", "filter: at position 1: expected a comparison, a value or '(', found 'OR'"},
        {"()", "filter: at position 2: expected a comparison, a value or '(' after '(', found ')'"},
        {"NOT NOT x", "filter: at position 5: expected a comparison, a value or '(' after 'NOT', "
                      "found 'NOT'"},
        {"\"name\" = x",
         "filter: at position 1: expected a field name before '=', found '\"name\"'"},
        {"a # b", "filter: at position 3: unexpected character '#'"},
        {"a ! b", "filter: at position 3: unexpected character '!'"},
        /* Positions count characters, not bytes: "ö" is one. */
        {"display_name = Lön AND #", "filter: at position 24: unexpected character '#'"},
        {"effective.colour = 3",
         "filter: at position 1: unknown field 'effective.colour'; fields are: "
         "effective.confidentiality, effective.integrity, effective.availability, "
         "effective.traceability, effective.security_class, effective.security_sensitive"},
        {"attributes. = 3",
         "filter: at position 1: unknown field 'attributes.'; fields are: attributes.KEY"},
        {"kind = xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
         "filter: at position 8: kind: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' is not one "
         "of INFORMATION, IT_SYSTEM, FACILITY"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_error(cases[i].filter, cases[i].message);
}
END_TEST

START_TEST(unknown_field_lists_fields)
{
    static const char prefix[] = "filter: at position 1: unknown field 'colour'; fields are: ";
    filter *f = NULL;
    ck_assert_int_eq(filter_parse("colour = red", &f, &err), VALV_EINVAL);
    ck_assert_int_eq(err.n_violations, 1);
    ck_assert_int_eq(strncmp(err.message, prefix, strlen(prefix)), 0);
    ck_assert_ptr_nonnull(strstr(err.message, "display_name, "));
    ck_assert_ptr_nonnull(strstr(err.message, "attributes.KEY, "));
    ck_assert_ptr_nonnull(strstr(err.message, "classification.*"));
    ck_assert_ptr_nonnull(strstr(err.message, "review.*"));
    /* The violation is shorter than the message; it must not end mid-word. */
    const char *description = err.violations[0].description;
    ck_assert_int_eq(strncmp(description, prefix + strlen("filter: "),
                             strlen(prefix) - strlen("filter: ")),
                     0);
    size_t len = strlen(description);
    ck_assert(len < strlen(err.message));
    ck_assert_str_eq(description + len - strlen(", ..."), ", ...");
}
END_TEST

START_TEST(nesting_limited)
{
    char text[4 * VALV_FILTER_DEPTH_MAX + 16];
    char expected[128];
    int depth;

    for (depth = VALV_FILTER_DEPTH_MAX; depth <= VALV_FILTER_DEPTH_MAX + 1; depth++) {
        size_t n = 0;
        for (int i = 0; i < depth; i++)
            text[n++] = '(';
        text[n++] = 'a';
        for (int i = 0; i < depth; i++)
            text[n++] = ')';
        text[n] = '\0';
        if (depth == VALV_FILTER_DEPTH_MAX) {
            ck_assert(matches(&asset, text));
        } else {
            snprintf(expected, sizeof expected,
                     "filter: at position %d: nested deeper than %d levels of parentheses and NOT",
                     depth, VALV_FILTER_DEPTH_MAX);
            expect_error(text, expected);
        }
    }

    /* NOT counts as a level too. */
    size_t n = 0;
    for (int i = 0; i <= VALV_FILTER_DEPTH_MAX / 2; i++)
        n += (size_t)sprintf(text + n, "-(");
    n += (size_t)sprintf(text + n, "a");
    for (int i = 0; i <= VALV_FILTER_DEPTH_MAX / 2; i++)
        text[n++] = ')';
    text[n] = '\0';
    snprintf(expected, sizeof expected,
             "filter: at position %d: nested deeper than %d levels of parentheses and NOT",
             VALV_FILTER_DEPTH_MAX + 1, VALV_FILTER_DEPTH_MAX);
    expect_error(text, expected);
}
END_TEST

START_TEST(length_limited)
{
    char *text = malloc(VALV_FILTER_MAX + 2);
    ck_assert_ptr_nonnull(text);
    memset(text, 'a', VALV_FILTER_MAX + 1);
    text[VALV_FILTER_MAX + 1] = '\0';
    expect_error(text, "filter: is longer than the 4096 bytes allowed");
    free(text);
}
END_TEST

START_TEST(invalid_utf8_refused)
{
    expect_error("display_name = \"\xff\"", "filter: is not valid UTF-8");
    expect_error("display_name = \"\xc3\"", "filter: is not valid UTF-8");
}
END_TEST

/* Every prefix of some rich filters either parses or gives one violation;
 * under ASan this also shows that no error path leaks. */
START_TEST(every_prefix_parses_or_fails_cleanly)
{
    static const char *const texts[] = {
        "(kind = IT_SYSTEM OR -labels:\"a\\\"b\") AND NOT attributes.x != 'y' revision >= 3",
        "update_time > 2026-01-01T00:00:00.25+02:00 effective.security_class <= SECRET foo",
        "((a OR b) c) OR NOT (d AND e) display_name = \"Pers*\" flagged = true",
    };
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
        size_t len = strlen(texts[t]);
        for (size_t cut = 0; cut <= len; cut++) {
            char *text = strndup(texts[t], cut);
            filter *f = NULL;
            valv_error_clear(&err);
            int rc = filter_parse(text, &f, &err);
            if (rc != VALV_OK) {
                ck_assert_int_eq(rc, VALV_EINVAL);
                ck_assert_ptr_null(f);
                ck_assert_int_eq(err.n_violations, 1);
            } else {
                filter_match(f, &asset, 0);
                filter_match(f, &bare, 0);
            }
            filter_free(f);
            free(text);
        }
    }
}
END_TEST

static Suite *filter_suite(void)
{
    Suite *s = suite_create("filter");
    const struct {
        const char *name;
        const TTest *tests[16];
    } groups[] = {
        {"fields",
         {strings_exact_wildcard_and_substring, name_takes_full_name_or_bare_id,
          kind_by_name_any_case_and_dash, levels_by_number_and_name,
          unset_levels_are_unclassified_not_low, security_classes_are_ordered,
          booleans_and_review_state, review_overdue_from_due_time, revision_compares_as_number,
          times_compare_to_the_nanosecond, labels_contain_one_label, attributes_keys_and_values,
          bare_values_search_free_text}},
        {"logic",
         {or_binds_tighter_than_and, not_and_minus_negate, parentheses_group,
          juxtaposition_is_and, blank_filter_matches_everything, longest_filter_accepted}},
        {"hints", {hint_from_and_chain, no_hint_unless_implied}},
        {"errors",
         {bad_filters_name_position_and_token, unknown_field_lists_fields, nesting_limited,
          length_limited, invalid_utf8_refused, every_prefix_parses_or_fails_cleanly}},
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
    SRunner *sr = srunner_create(filter_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failures = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failures ? 1 : 0;
}
