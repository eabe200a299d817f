/* test_validate.c - the shape rules of an asset's fields. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "validate.h"

/* ---- A valid asset to break one field at a time --------------------------- */

static Valv__V1__Asset asset;
static Valv__V1__Classification classification;
static Valv__V1__SecurityProtection security;
static Valv__V1__Asset__AttributesEntry entries[VALV_ATTRIBUTES_MAX + 1];
static Valv__V1__Asset__AttributesEntry *entry_list[VALV_ATTRIBUTES_MAX + 1];
static char *labels[VALV_LABELS_MAX + 1];
static char label_text[VALV_LABELS_MAX + 1][32];
static char key_text[VALV_ATTRIBUTES_MAX + 1][32];
static valv_error err;

/* Strings made by text(), freed after each test. */
static char *made[16];
static int n_made;

/* n copies of unit, owned by the test fixture. */
static char *text(const char *unit, size_t n)
{
    size_t len = strlen(unit);
    char *s = malloc(len * n + 1);

    ck_assert_ptr_nonnull(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * len, unit, len);
    s[len * n] = '\0';
    ck_assert_int_lt(n_made, 16);
    made[n_made++] = s;
    return s;
}

static void set_attributes(size_t n)
{
    for (size_t i = 0; i < n; i++) {
        valv__v1__asset__attributes_entry__init(&entries[i]);
        snprintf(key_text[i], sizeof key_text[i], "key-%zu", i);
        entries[i].key = key_text[i];
        entries[i].value = (char *)"value";
        entry_list[i] = &entries[i];
    }
    asset.n_attributes = n;
    asset.attributes = entry_list;
}

static void set_labels(size_t n)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(label_text[i], sizeof label_text[i], "label-%zu", i);
        labels[i] = label_text[i];
    }
    asset.n_labels = n;
    asset.labels = labels;
}

static void setup(void)
{
    valv__v1__asset__init(&asset);
    valv__v1__classification__init(&classification);
    valv__v1__security_protection__init(&security);
    asset.kind = VALV__V1__ASSET_KIND__IT_SYSTEM;
    asset.display_name = (char *)"Lönesystemet";
    asset.description = (char *)"Payroll.\nRuns monthly.\tOwned by HR.";
    asset.owner_unit = (char *)"personalnamnden";
    asset.owner = (char *)"Åsa Öberg";
    classification.confidentiality = VALV__V1__LEVEL__SERIOUS;
    classification.integrity = VALV__V1__LEVEL__SIGNIFICANT;
    classification.rationale = (char *)"Personal data.";
    asset.classification = &classification;
    security.security_class = VALV__V1__SECURITY_CLASS__NOT_CLASSIFIED;
    security.decision_ref = (char *)"Dnr 2025/123";
    asset.security = &security;
    set_attributes(2);
    set_labels(2);
    asset.source = (char *)"cmdb";
    asset.external_id = (char *)"CI-00042";
    valv_error_clear(&err);
    n_made = 0;
}

static void teardown(void)
{
    for (int i = 0; i < n_made; i++)
        free(made[i]);
}

/* The description of the violation on field, or NULL. */
static const char *violation_on(const char *field)
{
    for (int i = 0; i < err.n_violations; i++) {
        if (strcmp(err.violations[i].field, field) == 0)
            return err.violations[i].description;
    }
    return NULL;
}

/* Validates the asset and expects exactly one violation, on field. */
static void expect_only_violation(bool for_create, const char *field)
{
    ck_assert_int_eq(validate_asset(&asset, for_create, &err), VALV_EINVAL);
    ck_assert_int_eq(err.code, VALV_EINVAL);
    ck_assert_int_eq(err.n_violations, 1);
    ck_assert_str_eq(err.violations[0].field, field);
}

static void expect_valid(bool for_create)
{
    int rc = validate_asset(&asset, for_create, &err);
    ck_assert_msg(rc == VALV_OK, "unexpected violation: %s", err.message);
    ck_assert_int_eq(err.n_violations, 0);
}

/* ---- Whole asset -------------------------------------------------------------- */

START_TEST(full_asset_is_valid)
{
    expect_valid(true);
    expect_valid(false);
}
END_TEST

START_TEST(minimal_asset_is_valid_on_create)
{
    Valv__V1__Asset minimal = VALV__V1__ASSET__INIT;
    minimal.kind = VALV__V1__ASSET_KIND__FACILITY;
    minimal.display_name = (char *)"Stadshuset";
    minimal.owner_unit = (char *)"kommunstyrelsen";
    ck_assert_int_eq(validate_asset(&minimal, true, &err), VALV_OK);
}
END_TEST

START_TEST(empty_asset_lacks_three_required_fields_on_create_only)
{
    Valv__V1__Asset empty = VALV__V1__ASSET__INIT;
    ck_assert_int_eq(validate_asset(&empty, false, &err), VALV_OK);
    ck_assert_int_eq(validate_asset(&empty, true, &err), VALV_EINVAL);
    ck_assert_int_eq(err.n_violations, 3);
    ck_assert_str_eq(violation_on("kind"), "required; one of INFORMATION, IT_SYSTEM, FACILITY");
    ck_assert_ptr_nonnull(violation_on("display_name"));
    ck_assert_ptr_nonnull(strstr(violation_on("owner_unit"), "required"));
}
END_TEST

START_TEST(every_violation_is_reported_at_once)
{
    asset.display_name = (char *)"   ";
    asset.owner_unit = (char *)"Fastighet";
    asset.kind = 9;
    classification.availability = 17;
    security.protected_object = 1;
    entries[1].key = (char *)"Bad Key";
    labels[0] = (char *)"-x";
    asset.external_id = (char *)"";
    ck_assert_int_eq(validate_asset(&asset, false, &err), VALV_EINVAL);
    ck_assert_int_eq(err.n_violations, 8);
    ck_assert_ptr_nonnull(violation_on("display_name"));
    ck_assert_ptr_nonnull(violation_on("owner_unit"));
    ck_assert_ptr_nonnull(violation_on("kind"));
    ck_assert_ptr_nonnull(violation_on("classification.availability"));
    ck_assert_ptr_nonnull(violation_on("security.protected_object"));
    ck_assert_ptr_nonnull(violation_on("attributes.Bad Key"));
    ck_assert_ptr_nonnull(violation_on("labels[0]"));
    ck_assert_ptr_nonnull(violation_on("external_id"));
    /* The message names the first problem in full. */
    ck_assert_str_eq(err.message, "kind: unknown value 9; one of INFORMATION, IT_SYSTEM, FACILITY");
}
END_TEST

/* ---- display_name ------------------------------------------------------------- */

START_TEST(display_name_required_on_create)
{
    asset.display_name = (char *)"";
    expect_only_violation(true, "display_name");
    ck_assert_str_eq(err.violations[0].description, "required; 1 to 200 characters");
    valv_error_clear(&err);
    expect_valid(false);
}
END_TEST

START_TEST(display_name_length_counts_characters)
{
    asset.display_name = text("ö", VALV_DISPLAY_NAME_MAX_CHARS); /* 400 bytes */
    expect_valid(true);
    asset.display_name = text("ö", VALV_DISPLAY_NAME_MAX_CHARS + 1);
    expect_only_violation(true, "display_name");
    ck_assert_str_eq(err.violations[0].description,
                     "201 characters long; at most 200 characters allowed");
}
END_TEST

START_TEST(display_name_refuses_control_characters)
{
    asset.display_name = (char *)"Löne\nsystemet";
    expect_only_violation(true, "display_name");
    ck_assert_str_eq(err.violations[0].description,
                     "control character U+000A at byte 5; only printable characters are allowed");
    valv_error_clear(&err);
    asset.display_name = (char *)"C1 \xC2\x85 control";
    expect_only_violation(true, "display_name");
}
END_TEST

START_TEST(display_name_refuses_only_whitespace)
{
    asset.display_name = (char *)"   ";
    expect_only_violation(true, "display_name");
    valv_error_clear(&err);
    asset.display_name = (char *)"\xC2\xA0\xE3\x80\x80"; /* no-break space, ideographic space */
    expect_only_violation(true, "display_name");
    valv_error_clear(&err);
    asset.display_name = (char *)" x ";
    expect_valid(true);
}
END_TEST

/* ---- description, owner ------------------------------------------------------- */

START_TEST(description_limit_in_bytes)
{
    asset.description = text("a", VALV_DESCRIPTION_MAX);
    expect_valid(true);
    asset.description = text("a", VALV_DESCRIPTION_MAX + 1);
    expect_only_violation(true, "description");
    ck_assert_str_eq(err.violations[0].description, "8193 bytes long; at most 8192 bytes allowed");
}
END_TEST

START_TEST(description_allows_newlines_not_other_controls)
{
    asset.description = (char *)"line one\r\nline two\twith tab";
    expect_valid(true);
    asset.description = (char *)"bell\a";
    expect_only_violation(true, "description");
    ck_assert_str_eq(err.violations[0].description,
                     "control character U+0007 at byte 4; only newline, carriage return and tab "
                     "are allowed");
}
END_TEST

START_TEST(owner_limit_in_characters)
{
    asset.owner = text("é", VALV_OWNER_MAX_CHARS);
    expect_valid(true);
    asset.owner = text("é", VALV_OWNER_MAX_CHARS + 1);
    expect_only_violation(true, "owner");
    valv_error_clear(&err);
    asset.owner = (char *)"Åsa\tÖberg";
    expect_only_violation(true, "owner");
}
END_TEST

/* ---- owner_unit ------------------------------------------------------------- */

START_TEST(owner_unit_required_on_create)
{
    asset.owner_unit = (char *)"";
    expect_only_violation(true, "owner_unit");
    ck_assert_str_eq(err.violations[0].description,
                     "required; must match ^[a-z][a-z0-9-]{0,62}$ (lower-case letters, digits and "
                     "'-', starting with a letter, at most 63)");
    valv_error_clear(&err);
    expect_valid(false);
}
END_TEST

START_TEST(owner_unit_message_says_what_is_allowed)
{
    asset.owner_unit = (char *)"Fastighet";
    expect_only_violation(true, "owner_unit");
    ck_assert_str_eq(err.message,
                     "owner_unit: 'Fastighet' does not match ^[a-z][a-z0-9-]{0,62}$ (lower-case "
                     "letters, digits and '-', starting with a letter, at most 63)");
}
END_TEST

START_TEST(owner_unit_pattern)
{
    const char *good[] = {"a", "fastighetsnamnden", "bygg-2", "a-", NULL};
    const char *bad[] = {"9a", "-a", "a_b", "a b", "Ab", "ö", NULL};

    for (int i = 0; good[i] != NULL; i++) {
        asset.owner_unit = (char *)good[i];
        expect_valid(true);
    }
    asset.owner_unit = text("a", VALV_OWNER_UNIT_MAX);
    expect_valid(true);
    for (int i = 0; bad[i] != NULL; i++) {
        valv_error_clear(&err);
        asset.owner_unit = (char *)bad[i];
        expect_only_violation(true, "owner_unit");
    }
    valv_error_clear(&err);
    asset.owner_unit = text("a", VALV_OWNER_UNIT_MAX + 1);
    expect_only_violation(true, "owner_unit");
}
END_TEST

START_TEST(long_values_are_cut_in_messages)
{
    asset.owner_unit = text("X", 1000);
    expect_only_violation(true, "owner_unit");
    char expected[64];
    snprintf(expected, sizeof expected, "'%s...' does not match", text("X", 40));
    ck_assert_ptr_nonnull(strstr(err.violations[0].description, expected));
}
END_TEST

START_TEST(messages_never_quote_invalid_utf8_or_controls)
{
    asset.owner_unit = (char *)"a\xFF\n";
    expect_only_violation(true, "owner_unit");
    ck_assert_ptr_nonnull(strstr(err.violations[0].description, "'a?" "?' does not match" /* split: "??'" is a trigraph */));
}
END_TEST

/* ---- kind ---------------------------------------------------------------------- */

START_TEST(kind_required_on_create)
{
    asset.kind = VALV__V1__ASSET_KIND__ASSET_KIND_UNSPECIFIED;
    security.protected_object = 0;
    expect_only_violation(true, "kind");
    ck_assert_str_eq(err.message, "kind: required; one of INFORMATION, IT_SYSTEM, FACILITY");
    valv_error_clear(&err);
    expect_valid(false);
}
END_TEST

START_TEST(kind_unknown_value_refused_always)
{
    asset.kind = 4;
    expect_only_violation(false, "kind");
    ck_assert_str_eq(err.violations[0].description,
                     "unknown value 4; one of INFORMATION, IT_SYSTEM, FACILITY");
}
END_TEST

/* ---- classification, security --------------------------------------------------- */

START_TEST(classification_levels_known)
{
    classification.traceability = VALV__V1__LEVEL__VERY_SERIOUS;
    expect_valid(true);
    classification.integrity = 6;
    expect_only_violation(true, "classification.integrity");
    ck_assert_str_eq(err.violations[0].description,
                     "unknown value 6; one of LEVEL_UNSPECIFIED, NEGLIGIBLE, MODERATE, SIGNIFICANT, "
                     "SERIOUS, VERY_SERIOUS");
}
END_TEST

START_TEST(classification_rationale_limit)
{
    classification.rationale = text("r", VALV_RATIONALE_MAX);
    expect_valid(true);
    classification.rationale = text("r", VALV_RATIONALE_MAX + 1);
    expect_only_violation(true, "classification.rationale");
}
END_TEST

START_TEST(security_class_known)
{
    security.security_class = VALV__V1__SECURITY_CLASS__TOP_SECRET;
    expect_valid(true);
    security.security_class = 6;
    expect_only_violation(true, "security.security_class");
}
END_TEST

START_TEST(protected_object_only_for_facility)
{
    security.protected_object = 1;
    expect_only_violation(true, "security.protected_object");
    ck_assert_str_eq(err.message,
                     "security.protected_object: only a FACILITY can be a protected object "
                     "(skyddsobjekt); this asset is IT_SYSTEM");
    valv_error_clear(&err);
    asset.kind = VALV__V1__ASSET_KIND__FACILITY;
    expect_valid(true);
}
END_TEST

START_TEST(decision_ref_limit_in_characters)
{
    security.decision_ref = text("ä", VALV_DECISION_REF_MAX);
    expect_valid(true);
    security.decision_ref = text("ä", VALV_DECISION_REF_MAX + 1);
    expect_only_violation(true, "security.decision_ref");
}
END_TEST

/* ---- attributes ---------------------------------------------------------------- */

START_TEST(attributes_count_limit)
{
    set_attributes(VALV_ATTRIBUTES_MAX);
    expect_valid(true);
    set_attributes(VALV_ATTRIBUTES_MAX + 1);
    expect_only_violation(true, "attributes");
    ck_assert_str_eq(err.violations[0].description, "65 entries; at most 64 allowed");
}
END_TEST

START_TEST(attribute_key_pattern)
{
    entries[0].key = (char *)"host_name-2";
    expect_valid(true);
    entries[0].key = (char *)"HostName";
    expect_only_violation(true, "attributes.HostName");
    ck_assert_str_eq(err.violations[0].description,
                     "'HostName' does not match ^[a-z][a-z0-9_-]{0,62}$ (lower-case letters, "
                     "digits, '_' and '-', starting with a letter, at most 63)");
    valv_error_clear(&err);
    entries[0].key = (char *)"";
    expect_only_violation(true, "attributes.");
}
END_TEST

START_TEST(attribute_value_limit)
{
    entries[1].value = text("v", VALV_ATTRIBUTE_VALUE_MAX);
    expect_valid(true);
    entries[1].value = text("v", VALV_ATTRIBUTE_VALUE_MAX + 1);
    expect_only_violation(true, "attributes.key-1");
}
END_TEST

START_TEST(attribute_duplicate_keys_refused)
{
    set_attributes(3);
    entries[2].key = (char *)"key-0";
    expect_only_violation(true, "attributes.key-0");
    ck_assert_str_eq(err.violations[0].description,
                     "key 'key-0' given more than once; each key may appear once");
}
END_TEST

/* ---- labels ------------------------------------------------------------------- */

START_TEST(labels_count_limit)
{
    set_labels(VALV_LABELS_MAX);
    expect_valid(true);
    set_labels(VALV_LABELS_MAX + 1);
    expect_only_violation(true, "labels");
}
END_TEST

START_TEST(label_pattern)
{
    labels[0] = (char *)"9.x:y_z-w";
    expect_valid(true);
    labels[1] = (char *)"Bad label";
    expect_only_violation(true, "labels[1]");
    valv_error_clear(&err);
    labels[1] = (char *)".dot";
    expect_only_violation(true, "labels[1]");
}
END_TEST

START_TEST(label_duplicates_refused)
{
    set_labels(3);
    labels[2] = labels[0];
    expect_only_violation(true, "labels[2]");
}
END_TEST

/* ---- source, external_id -------------------------------------------------------- */

START_TEST(source_and_external_id_together)
{
    asset.source = (char *)"";
    asset.external_id = (char *)"";
    expect_valid(true);
    asset.source = (char *)"cmdb";
    expect_only_violation(true, "external_id");
    ck_assert_str_eq(err.violations[0].description,
                     "set together with source; source is 'cmdb' but external_id is empty");
    valv_error_clear(&err);
    asset.source = (char *)"";
    asset.external_id = (char *)"CI-1";
    expect_only_violation(true, "source");
}
END_TEST

START_TEST(source_pattern)
{
    asset.source = (char *)"CMDB";
    expect_only_violation(true, "source");
}
END_TEST

START_TEST(external_id_limit_and_controls)
{
    asset.external_id = text("e", VALV_EXTERNAL_ID_MAX);
    expect_valid(true);
    asset.external_id = text("e", VALV_EXTERNAL_ID_MAX + 1);
    expect_only_violation(true, "external_id");
    valv_error_clear(&err);
    asset.external_id = (char *)"CI\x7F";
    expect_only_violation(true, "external_id");
}
END_TEST

/* ---- UTF-8 ------------------------------------------------------------------------ */

START_TEST(utf8_accepts_well_formed)
{
    const char *good[] = {
        "",
        "plain",
        "\xC2\x80",         /* U+0080, smallest 2-byte */
        "\xDF\xBF",         /* U+07FF */
        "\xE0\xA0\x80",     /* U+0800, smallest 3-byte */
        "\xED\x9F\xBF",     /* U+D7FF, just below the surrogates */
        "\xEE\x80\x80",     /* U+E000, just above them */
        "\xEF\xBF\xBF",     /* U+FFFF */
        "\xF0\x90\x80\x80", /* U+10000, smallest 4-byte */
        "\xF4\x8F\xBF\xBF", /* U+10FFFF, the largest code point */
        "Lönesystemet 🔒",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        ck_assert_msg(validate_utf8(good[i], strlen(good[i])), "case %zu", i);
}
END_TEST

START_TEST(utf8_refuses_malformed)
{
    const char *bad[] = {
        "\x80",             /* continuation byte alone */
        "\xC0\xAF",         /* overlong '/' */
        "\xC1\xBF",         /* overlong U+007F */
        "\xE0\x80\xAF",     /* overlong 3-byte */
        "\xE0\x9F\xBF",     /* overlong U+07FF */
        "\xF0\x80\x80\xAF", /* overlong 4-byte */
        "\xF0\x8F\xBF\xBF", /* overlong U+FFFF */
        "\xED\xA0\x80",     /* U+D800, a surrogate */
        "\xED\xBF\xBF",     /* U+DFFF */
        "\xF4\x90\x80\x80", /* U+110000, past the end */
        "\xF5\x80\x80\x80",
        "\xF8\x88\x80\x80\x80",
        "\xFE",
        "\xFF",
        "\xE2\x82",         /* truncated euro sign */
        "\xF0\x9F\x94",     /* truncated 4-byte */
        "ok\xC3",           /* truncated at the end */
        "\xC3(",            /* continuation byte missing */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(!validate_utf8(bad[i], strlen(bad[i])), "case %zu", i);
}
END_TEST

START_TEST(utf8_respects_length)
{
    /* The length, not the NUL, ends the text: a cut sequence is malformed. */
    ck_assert(validate_utf8("\xE2\x82\xAC", 3));
    ck_assert(!validate_utf8("\xE2\x82\xAC", 2));
    ck_assert(validate_utf8("a\0b", 3));
}
END_TEST

START_TEST(utf8_counts_characters)
{
    ck_assert_uint_eq(validate_utf8_chars(""), 0);
    ck_assert_uint_eq(validate_utf8_chars("abc"), 3);
    ck_assert_uint_eq(validate_utf8_chars("Åsa"), 3);
    ck_assert_uint_eq(validate_utf8_chars("€🔒"), 2);
}
END_TEST

START_TEST(invalid_utf8_reported_on_its_field)
{
    asset.description = (char *)"ok \xED\xA0\x80";
    expect_only_violation(true, "description");
    ck_assert_str_eq(err.violations[0].description,
                     "not valid UTF-8 (bad byte 0xED at offset 3); text must be UTF-8");
    valv_error_clear(&err);
    asset.description = (char *)"";
    entries[0].value = (char *)"\xC0\xAF";
    expect_only_violation(true, "attributes.key-0");
}
END_TEST

/* ---- Ids, names, text ---------------------------------------------------------- */

START_TEST(asset_id_pattern)
{
    const char *good[] = {"a", "web-01", "a1", "x-y-z", NULL};
    const char *bad[] = {"", "1abc", "abc-", "Abc", "a_b", "a.b", "-", NULL};

    for (int i = 0; good[i] != NULL; i++)
        ck_assert_msg(validate_asset_id(good[i], "asset_id", &err) == VALV_OK, "%s", good[i]);
    ck_assert_int_eq(validate_asset_id(text("a", VALV_ASSET_ID_MAX), "asset_id", &err), VALV_OK);
    ck_assert_int_eq(err.n_violations, 0);
    for (int i = 0; bad[i] != NULL; i++)
        ck_assert_msg(validate_asset_id(bad[i], "asset_id", &err) == VALV_EINVAL, "%s", bad[i]);
    ck_assert_int_eq(validate_asset_id(text("a", VALV_ASSET_ID_MAX + 1), "asset_id", &err),
                     VALV_EINVAL);
    ck_assert_str_eq(err.violations[0].field, "asset_id");
    ck_assert_str_eq(err.message,
                     "asset_id: '' does not match ^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$ (lower-case "
                     "letters, digits and '-', starting with a letter, not ending with '-', at "
                     "most 63)");
}
END_TEST

START_TEST(asset_name_gives_the_id)
{
    const char *id = NULL;
    const char *name = "assets/web-01";

    ck_assert_int_eq(validate_asset_name(name, "name", &id, &err), VALV_OK);
    ck_assert_str_eq(id, "web-01");
    ck_assert_ptr_eq(id, name + strlen("assets/"));
}
END_TEST

START_TEST(asset_name_refused)
{
    const char *id = "untouched";

    ck_assert_int_eq(validate_asset_name("foo", "name", &id, &err), VALV_EINVAL);
    ck_assert_ptr_null(id);
    ck_assert_str_eq(err.message, "name: 'foo' is not an asset name; expected assets/{asset_id}");
    valv_error_clear(&err);
    ck_assert_int_eq(validate_asset_name("assets/Web", "names[2]", &id, &err), VALV_EINVAL);
    ck_assert_str_eq(err.violations[0].field, "names[2]");
    ck_assert_int_eq(validate_asset_name("assets/", "name", &id, &err), VALV_EINVAL);
    ck_assert_int_eq(validate_asset_name("asset/web", "name", &id, &err), VALV_EINVAL);
    ck_assert_int_eq(validate_asset_name("assets/web/x", "name", &id, &err), VALV_EINVAL);
}
END_TEST

START_TEST(text_rules)
{
    ck_assert_int_eq(validate_text("req-1", VALV_REQUEST_ID_MAX, "request_id", &err), VALV_OK);
    ck_assert_int_eq(validate_text("", VALV_REQUEST_ID_MAX, "request_id", &err), VALV_OK);
    ck_assert_int_eq(validate_text(text("r", VALV_REQUEST_ID_MAX), VALV_REQUEST_ID_MAX,
                                   "request_id", &err),
                     VALV_OK);
    ck_assert_int_eq(err.n_violations, 0);
    ck_assert_int_eq(validate_text(text("r", VALV_REQUEST_ID_MAX + 1), VALV_REQUEST_ID_MAX,
                                   "request_id", &err),
                     VALV_EINVAL);
    ck_assert_int_eq(validate_text("a\nb", VALV_REASON_MAX, "reason", &err), VALV_EINVAL);
    ck_assert_int_eq(validate_text("\xFF", VALV_REASON_MAX, "reason", &err), VALV_EINVAL);
    ck_assert_int_eq(err.n_violations, 3);
    ck_assert_str_eq(err.violations[2].field, "reason");
}
END_TEST

START_TEST(excerpt_cuts_at_characters)
{
    char buf[VALIDATE_EXCERPT_SIZE];

    ck_assert_str_eq(validate_excerpt("short", buf), "short");
    ck_assert_str_eq(validate_excerpt(text("a", VALIDATE_EXCERPT_CHARS), buf),
                     text("a", VALIDATE_EXCERPT_CHARS));
    /* Multi-byte characters are kept whole; the longest fits the buffer. */
    char expected[VALIDATE_EXCERPT_SIZE];
    snprintf(expected, sizeof expected, "%s...", text("🔒", VALIDATE_EXCERPT_CHARS));
    ck_assert_str_eq(validate_excerpt(text("🔒", 100), buf), expected);
}
END_TEST

static Suite *validate_suite(void)
{
    Suite *s = suite_create("validate");
    struct {
        const char *name;
        const TTest *tests[16];
    } groups[] = {
        {"asset",
         {full_asset_is_valid, minimal_asset_is_valid_on_create,
          empty_asset_lacks_three_required_fields_on_create_only,
          every_violation_is_reported_at_once}},
        {"display_name",
         {display_name_required_on_create, display_name_length_counts_characters,
          display_name_refuses_control_characters, display_name_refuses_only_whitespace}},
        {"text_fields",
         {description_limit_in_bytes, description_allows_newlines_not_other_controls,
          owner_limit_in_characters}},
        {"owner_unit",
         {owner_unit_required_on_create, owner_unit_message_says_what_is_allowed,
          owner_unit_pattern, long_values_are_cut_in_messages,
          messages_never_quote_invalid_utf8_or_controls}},
        {"kind", {kind_required_on_create, kind_unknown_value_refused_always}},
        {"classification_security",
         {classification_levels_known, classification_rationale_limit, security_class_known,
          protected_object_only_for_facility, decision_ref_limit_in_characters}},
        {"attributes",
         {attributes_count_limit, attribute_key_pattern, attribute_value_limit,
          attribute_duplicate_keys_refused}},
        {"labels", {labels_count_limit, label_pattern, label_duplicates_refused}},
        {"import_identity",
         {source_and_external_id_together, source_pattern, external_id_limit_and_controls}},
        {"utf8",
         {utf8_accepts_well_formed, utf8_refuses_malformed, utf8_respects_length,
          utf8_counts_characters, invalid_utf8_reported_on_its_field}},
        {"ids_and_text",
         {asset_id_pattern, asset_name_gives_the_id, asset_name_refused, text_rules,
          excerpt_cuts_at_characters}},
    };

    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        TCase *tc = tcase_create(groups[g].name);
        tcase_add_checked_fixture(tc, setup, teardown);
        for (int t = 0; groups[g].tests[t] != NULL; t++)
            tcase_add_test(tc, groups[g].tests[t]);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(validate_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failures = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failures ? 1 : 0;
}
