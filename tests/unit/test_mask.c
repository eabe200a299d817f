/* test_mask.c - update masks over an asset. */
#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mask.h"

static valv_error err;
static Valv__V1__Asset *target; /* heap-owned, as the store keeps it */
static Valv__V1__Asset *patch;  /* heap-owned too, to prove nothing is shared */
static Valv__V1__Asset *before; /* a copy of target, to prove it unchanged */

/* A heap-owned deep copy of a (every pointer malloc'd). */
static Valv__V1__Asset *owned_copy(const Valv__V1__Asset *a)
{
    size_t size = valv__v1__asset__get_packed_size(a);
    uint8_t *buf = malloc(size + 1);
    ck_assert_ptr_nonnull(buf);
    valv__v1__asset__pack(a, buf);
    Valv__V1__Asset *copy = valv__v1__asset__unpack(NULL, size, buf);
    free(buf);
    ck_assert_ptr_nonnull(copy);
    return copy;
}

static bool same_asset(const Valv__V1__Asset *a, const Valv__V1__Asset *b)
{
    size_t size_a = valv__v1__asset__get_packed_size(a);
    size_t size_b = valv__v1__asset__get_packed_size(b);
    uint8_t *buf_a = malloc(size_a + 1), *buf_b = malloc(size_b + 1);
    valv__v1__asset__pack(a, buf_a);
    valv__v1__asset__pack(b, buf_b);
    bool same = size_a == size_b && memcmp(buf_a, buf_b, size_a) == 0;
    free(buf_a);
    free(buf_b);
    return same;
}

static void setup(void)
{
    Valv__V1__Asset a = VALV__V1__ASSET__INIT;
    Valv__V1__Classification c = VALV__V1__CLASSIFICATION__INIT;
    Valv__V1__SecurityProtection s = VALV__V1__SECURITY_PROTECTION__INIT;
    Valv__V1__Asset__AttributesEntry host = VALV__V1__ASSET__ATTRIBUTES_ENTRY__INIT;
    Valv__V1__Asset__AttributesEntry os = VALV__V1__ASSET__ATTRIBUTES_ENTRY__INIT;
    Valv__V1__Asset__AttributesEntry *entries[] = {&host, &os};
    char *labels[] = {(char *)"old-a", (char *)"old-b"};

    a.name = (char *)"assets/payroll";
    a.kind = VALV__V1__ASSET_KIND__IT_SYSTEM;
    a.display_name = (char *)"Old name";
    a.description = (char *)"Old description";
    a.owner_unit = (char *)"old-unit";
    a.owner = (char *)"Old Owner";
    c.confidentiality = VALV__V1__LEVEL__MODERATE;
    c.integrity = VALV__V1__LEVEL__MODERATE;
    c.rationale = (char *)"old rationale";
    a.classification = &c;
    s.security_class = VALV__V1__SECURITY_CLASS__NOT_CLASSIFIED;
    s.decision_ref = (char *)"old ref";
    a.security = &s;
    host.key = (char *)"host";
    host.value = (char *)"old-host";
    os.key = (char *)"os";
    os.value = (char *)"linux";
    a.n_attributes = 2;
    a.attributes = entries;
    a.n_labels = 2;
    a.labels = labels;
    a.source = (char *)"cmdb";
    a.external_id = (char *)"CI-1";
    a.revision = 7;
    a.etag = (char *)"etag-7";
    a.create_by = (char *)"alice";
    target = owned_copy(&a);
    before = owned_copy(&a);

    Valv__V1__Asset p = VALV__V1__ASSET__INIT;
    Valv__V1__Classification pc = VALV__V1__CLASSIFICATION__INIT;
    Valv__V1__Asset__AttributesEntry new_host = VALV__V1__ASSET__ATTRIBUTES_ENTRY__INIT;
    Valv__V1__Asset__AttributesEntry rack = VALV__V1__ASSET__ATTRIBUTES_ENTRY__INIT;
    Valv__V1__Asset__AttributesEntry *patch_entries[] = {&new_host, &rack};
    char *patch_labels[] = {(char *)"new-label"};

    p.name = (char *)"assets/other";
    p.kind = VALV__V1__ASSET_KIND__IT_SYSTEM;
    p.display_name = (char *)"New name";
    p.owner_unit = (char *)"new-unit";
    pc.confidentiality = VALV__V1__LEVEL__SERIOUS;
    pc.availability = VALV__V1__LEVEL__NEGLIGIBLE;
    pc.rationale = (char *)"new rationale";
    p.classification = &pc;
    new_host.key = (char *)"host";
    new_host.value = (char *)"new-host";
    rack.key = (char *)"rack";
    rack.value = (char *)"r12";
    p.n_attributes = 2;
    p.attributes = patch_entries;
    p.n_labels = 1;
    p.labels = patch_labels;
    p.revision = 99;
    p.etag = (char *)"etag-99";
    patch = owned_copy(&p);

    valv_error_clear(&err);
}

static void teardown(void)
{
    valv__v1__asset__free_unpacked(target, NULL);
    valv__v1__asset__free_unpacked(before, NULL);
    if (patch != NULL)
        valv__v1__asset__free_unpacked(patch, NULL);
}

/* Applies paths and expects success. */
#define APPLY_OK(...)                                                                 \
    do {                                                                              \
        const char *const paths_[] = {__VA_ARGS__};                                   \
        int rc_ = mask_apply(target, patch, paths_, sizeof paths_ / sizeof paths_[0], &err); \
        ck_assert_msg(rc_ == VALV_OK, "mask_apply: %s", err.message);                  \
    } while (0)

/* Applies paths, expects INVALID_ARGUMENT and an unchanged target. */
#define APPLY_REFUSED(...)                                                            \
    do {                                                                              \
        const char *const paths_[] = {__VA_ARGS__};                                   \
        int rc_ = mask_apply(target, patch, paths_, sizeof paths_ / sizeof paths_[0], &err); \
        ck_assert_int_eq(rc_, VALV_EINVAL);                                           \
        ck_assert(same_asset(target, before));                                        \
    } while (0)

static const char *attribute(const Valv__V1__Asset *a, const char *key)
{
    for (size_t i = 0; i < a->n_attributes; i++) {
        if (strcmp(a->attributes[i]->key, key) == 0)
            return a->attributes[i]->value;
    }
    return NULL;
}

/* ---- mask_populated ---------------------------------------------------------- */

START_TEST(populated_empty_patch_names_nothing)
{
    Valv__V1__Asset empty = VALV__V1__ASSET__INIT;
    const char *paths[32];
    size_t n = 99;

    mask_populated(&empty, paths, 32, &n);
    ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(populated_names_each_set_field)
{
    const char *paths[32];
    size_t n = 0;

    mask_populated(patch, paths, 32, &n);
    /* Output-only fields (name, revision, etag) are not listed. */
    ck_assert_uint_eq(n, 6);
    ck_assert_str_eq(paths[0], "kind");
    ck_assert_str_eq(paths[1], "display_name");
    ck_assert_str_eq(paths[2], "owner_unit");
    ck_assert_str_eq(paths[3], "classification");
    ck_assert_str_eq(paths[4], "attributes");
    ck_assert_str_eq(paths[5], "labels");
}
END_TEST

START_TEST(populated_lists_a_present_but_empty_message)
{
    Valv__V1__Asset p = VALV__V1__ASSET__INIT;
    Valv__V1__SecurityProtection s = VALV__V1__SECURITY_PROTECTION__INIT;
    const char *paths[32];
    size_t n = 0;

    p.security = &s;
    p.source = (char *)"cmdb";
    p.external_id = (char *)"x";
    mask_populated(&p, paths, 32, &n);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(paths[0], "security");
    ck_assert_str_eq(paths[1], "source");
    ck_assert_str_eq(paths[2], "external_id");
}
END_TEST

START_TEST(populated_stops_at_capacity)
{
    const char *paths[2];
    size_t n = 0;

    mask_populated(patch, paths, 2, &n);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(paths[1], "display_name");
}
END_TEST

START_TEST(populated_mask_applies_cleanly)
{
    const char *paths[32];
    size_t n = 0;

    mask_populated(patch, paths, 32, &n);
    ck_assert_int_eq(mask_apply(target, patch, paths, n, &err), VALV_OK);
    ck_assert_str_eq(target->display_name, "New name");
    ck_assert_str_eq(target->description, "Old description");
}
END_TEST

/* ---- Whole fields --------------------------------------------------------------- */

START_TEST(string_field_replaced_alone)
{
    APPLY_OK("display_name");
    ck_assert_str_eq(target->display_name, "New name");
    ck_assert_str_eq(target->owner_unit, "old-unit");
    ck_assert_str_eq(target->owner, "Old Owner");
    ck_assert_uint_eq(target->n_labels, 2);
    ck_assert_str_eq(target->etag, "etag-7");
    ck_assert_int_eq(target->revision, 7);
}
END_TEST

START_TEST(string_field_cleared_by_empty_patch_value)
{
    APPLY_OK("description", "owner");
    ck_assert_str_eq(target->description, "");
    ck_assert_str_eq(target->owner, "");
}
END_TEST

START_TEST(labels_replaced_as_a_whole)
{
    APPLY_OK("labels");
    ck_assert_uint_eq(target->n_labels, 1);
    ck_assert_str_eq(target->labels[0], "new-label");
}
END_TEST

START_TEST(attributes_replaced_as_a_whole)
{
    APPLY_OK("attributes");
    ck_assert_uint_eq(target->n_attributes, 2);
    ck_assert_str_eq(attribute(target, "host"), "new-host");
    ck_assert_str_eq(attribute(target, "rack"), "r12");
    ck_assert_ptr_null(attribute(target, "os"));
}
END_TEST

START_TEST(classification_replaced_as_a_whole)
{
    APPLY_OK("classification");
    ck_assert_int_eq(target->classification->confidentiality, VALV__V1__LEVEL__SERIOUS);
    ck_assert_int_eq(target->classification->integrity, VALV__V1__LEVEL__LEVEL_UNSPECIFIED);
    ck_assert_int_eq(target->classification->availability, VALV__V1__LEVEL__NEGLIGIBLE);
    ck_assert_str_eq(target->classification->rationale, "new rationale");
}
END_TEST

START_TEST(message_absent_in_patch_is_cleared)
{
    APPLY_OK("security");
    ck_assert_ptr_null(target->security);
    ck_assert_ptr_nonnull(target->classification);
}
END_TEST

/* ---- Parts of fields ------------------------------------------------------------ */

START_TEST(attribute_key_replaced_in_place)
{
    APPLY_OK("attributes.host");
    ck_assert_uint_eq(target->n_attributes, 2);
    ck_assert_str_eq(target->attributes[0]->key, "host");
    ck_assert_str_eq(target->attributes[0]->value, "new-host");
    ck_assert_str_eq(attribute(target, "os"), "linux");
}
END_TEST

START_TEST(attribute_key_added)
{
    APPLY_OK("attributes.rack");
    ck_assert_uint_eq(target->n_attributes, 3);
    ck_assert_str_eq(attribute(target, "rack"), "r12");
    ck_assert_str_eq(attribute(target, "host"), "old-host");
}
END_TEST

START_TEST(attribute_key_removed_when_patch_lacks_it)
{
    APPLY_OK("attributes.os");
    ck_assert_uint_eq(target->n_attributes, 1);
    ck_assert_ptr_null(attribute(target, "os"));
    ck_assert_str_eq(attribute(target, "host"), "old-host");
}
END_TEST

START_TEST(attribute_key_missing_everywhere_changes_nothing)
{
    APPLY_OK("attributes.nowhere");
    ck_assert(same_asset(target, before));
}
END_TEST

START_TEST(attribute_keys_several_and_repeated)
{
    APPLY_OK("attributes.rack", "attributes.os", "attributes.rack", "attributes.host");
    ck_assert_uint_eq(target->n_attributes, 2);
    ck_assert_str_eq(attribute(target, "host"), "new-host");
    ck_assert_str_eq(attribute(target, "rack"), "r12");
}
END_TEST

START_TEST(classification_subfield_set_alone)
{
    APPLY_OK("classification.confidentiality");
    ck_assert_int_eq(target->classification->confidentiality, VALV__V1__LEVEL__SERIOUS);
    ck_assert_int_eq(target->classification->integrity, VALV__V1__LEVEL__MODERATE);
    ck_assert_str_eq(target->classification->rationale, "old rationale");
    APPLY_OK("classification.rationale", "classification.integrity");
    ck_assert_str_eq(target->classification->rationale, "new rationale");
    ck_assert_int_eq(target->classification->integrity, VALV__V1__LEVEL__LEVEL_UNSPECIFIED);
}
END_TEST

START_TEST(subfield_creates_missing_message)
{
    patch->security = malloc(sizeof *patch->security);
    valv__v1__security_protection__init(patch->security);
    patch->security->security_class = VALV__V1__SECURITY_CLASS__SECRET;
    patch->security->decision_ref = strdup("new ref");
    valv__v1__security_protection__free_unpacked(target->security, NULL);
    target->security = NULL;

    APPLY_OK("security.security_class", "security.decision_ref");
    ck_assert_ptr_nonnull(target->security);
    ck_assert_int_eq(target->security->security_class, VALV__V1__SECURITY_CLASS__SECRET);
    ck_assert_str_eq(target->security->decision_ref, "new ref");
    ck_assert_int_eq(target->security->protected_object, 0);
}
END_TEST

START_TEST(subfield_from_absent_patch_message_is_cleared)
{
    /* The patch has no security: its protected_object reads as false. */
    target->security->protected_object = 1;
    target->security->security_sensitive = 1;
    APPLY_OK("security.protected_object");
    ck_assert_int_eq(target->security->protected_object, 0);
    ck_assert_int_eq(target->security->security_sensitive, 1);
    ck_assert_str_eq(target->security->decision_ref, "old ref");
}
END_TEST

START_TEST(whole_message_and_subfield_together)
{
    APPLY_OK("classification.integrity", "classification", "classification.rationale");
    ck_assert_int_eq(target->classification->confidentiality, VALV__V1__LEVEL__SERIOUS);
    ck_assert_str_eq(target->classification->rationale, "new rationale");
}
END_TEST

START_TEST(repeated_paths_apply_once)
{
    APPLY_OK("display_name", "labels", "display_name", "labels");
    ck_assert_str_eq(target->display_name, "New name");
    ck_assert_uint_eq(target->n_labels, 1);
}
END_TEST

/* ---- kind ------------------------------------------------------------------------ */

START_TEST(kind_unchanged_accepted)
{
    APPLY_OK("kind", "display_name");
    ck_assert_int_eq(target->kind, VALV__V1__ASSET_KIND__IT_SYSTEM);
    ck_assert_str_eq(target->display_name, "New name");
}
END_TEST

START_TEST(kind_change_refused)
{
    patch->kind = VALV__V1__ASSET_KIND__FACILITY;
    APPLY_REFUSED("display_name", "kind");
    ck_assert_int_eq(err.n_violations, 1);
    ck_assert_str_eq(err.violations[0].field, "asset.kind");
    ck_assert_str_eq(err.violations[0].description,
                     "kind is immutable; create a new asset instead");
}
END_TEST

/* ---- "*" -------------------------------------------------------------------------- */

START_TEST(star_replaces_every_mutable_field)
{
    APPLY_OK("*");
    ck_assert_str_eq(target->display_name, "New name");
    ck_assert_str_eq(target->description, "");
    ck_assert_str_eq(target->owner_unit, "new-unit");
    ck_assert_str_eq(target->owner, "");
    ck_assert_str_eq(target->classification->rationale, "new rationale");
    ck_assert_ptr_null(target->security);
    ck_assert_uint_eq(target->n_attributes, 2);
    ck_assert_ptr_null(attribute(target, "os"));
    ck_assert_uint_eq(target->n_labels, 1);
    ck_assert_str_eq(target->source, "");
    ck_assert_str_eq(target->external_id, "");
    /* Output-only fields and kind stay. */
    ck_assert_str_eq(target->name, "assets/payroll");
    ck_assert_str_eq(target->etag, "etag-7");
    ck_assert_int_eq(target->revision, 7);
    ck_assert_str_eq(target->create_by, "alice");
    ck_assert_int_eq(target->kind, VALV__V1__ASSET_KIND__IT_SYSTEM);
}
END_TEST

START_TEST(star_with_other_paths)
{
    APPLY_OK("attributes.os", "*", "classification.integrity");
    ck_assert_ptr_null(attribute(target, "os"));
    ck_assert_int_eq(target->classification->availability, VALV__V1__LEVEL__NEGLIGIBLE);
}
END_TEST

START_TEST(star_ignores_unset_kind_refuses_other_kind)
{
    patch->kind = VALV__V1__ASSET_KIND__ASSET_KIND_UNSPECIFIED;
    APPLY_OK("*");
    ck_assert_int_eq(target->kind, VALV__V1__ASSET_KIND__IT_SYSTEM);

    valv__v1__asset__free_unpacked(before, NULL);
    before = owned_copy(target);
    patch->kind = VALV__V1__ASSET_KIND__INFORMATION;
    APPLY_REFUSED("*");
    ck_assert_str_eq(err.violations[0].field, "asset.kind");
}
END_TEST

/* ---- Output-only and unknown paths ----------------------------------------------- */

START_TEST(output_only_paths_ignored)
{
    APPLY_OK("name", "etag", "revision", "effective", "effective.confidentiality",
             "review.state", "create_time", "update_time", "delete_time", "create_by",
             "update_by", "delete_by");
    ck_assert(same_asset(target, before));
}
END_TEST

START_TEST(unknown_path_refused)
{
    APPLY_REFUSED("display_name", "bogus");
    ck_assert_int_eq(err.n_violations, 1);
    ck_assert_str_eq(err.violations[0].field, "update_mask.paths[1]");
    ck_assert_ptr_nonnull(strstr(err.message, "update_mask.paths[1]: 'bogus' is not a field"));
    ck_assert_ptr_nonnull(strstr(err.message, "allowed: display_name, "));
}
END_TEST

START_TEST(near_miss_paths_refused)
{
    APPLY_REFUSED("attributes.", "classification.bogus", "Display_name", "", "effectively",
                  "security.", "labels.x");
    ck_assert_int_eq(err.n_violations, 7);
    ck_assert_str_eq(err.violations[6].field, "update_mask.paths[6]");
}
END_TEST

START_TEST(all_bad_paths_reported_together)
{
    patch->kind = VALV__V1__ASSET_KIND__FACILITY;
    APPLY_REFUSED("kind", "nope", "display_name", "also-nope");
    ck_assert_int_eq(err.n_violations, 3);
    ck_assert_str_eq(err.violations[0].field, "asset.kind");
    ck_assert_str_eq(err.violations[1].field, "update_mask.paths[1]");
    ck_assert_str_eq(err.violations[2].field, "update_mask.paths[3]");
}
END_TEST

START_TEST(no_paths_change_nothing)
{
    ck_assert_int_eq(mask_apply(target, patch, NULL, 0, &err), VALV_OK);
    ck_assert(same_asset(target, before));
}
END_TEST

/* ---- Ownership ---------------------------------------------------------------------- */

START_TEST(patch_unchanged_and_not_shared)
{
    Valv__V1__Asset *patch_before = owned_copy(patch);

    APPLY_OK("display_name", "classification", "attributes", "labels", "attributes.rack",
             "security.decision_ref");
    ck_assert(same_asset(patch, patch_before));
    /* Freeing the patch must leave the target whole (ASan sees any sharing). */
    valv__v1__asset__free_unpacked(patch, NULL);
    patch = NULL;
    ck_assert_str_eq(target->display_name, "New name");
    ck_assert_str_eq(target->classification->rationale, "new rationale");
    ck_assert_str_eq(attribute(target, "rack"), "r12");
    ck_assert_str_eq(target->labels[0], "new-label");
    ck_assert_str_eq(target->security->decision_ref, "");
    valv__v1__asset__free_unpacked(patch_before, NULL);
}
END_TEST

START_TEST(target_stays_heap_owned_after_many_applies)
{
    /* Each apply frees what it replaces; ASan reports leaks or double frees. */
    for (int i = 0; i < 3; i++) {
        APPLY_OK("*");
        APPLY_OK("attributes.os", "attributes.rack", "classification.rationale",
                 "security.decision_ref");
    }
    ck_assert_str_eq(target->display_name, "New name");
}
END_TEST

static Suite *mask_suite(void)
{
    Suite *s = suite_create("mask");
    struct {
        const char *name;
        const TTest *tests[16];
    } groups[] = {
        {"populated",
         {populated_empty_patch_names_nothing, populated_names_each_set_field,
          populated_lists_a_present_but_empty_message, populated_stops_at_capacity,
          populated_mask_applies_cleanly}},
        {"whole_fields",
         {string_field_replaced_alone, string_field_cleared_by_empty_patch_value,
          labels_replaced_as_a_whole, attributes_replaced_as_a_whole,
          classification_replaced_as_a_whole, message_absent_in_patch_is_cleared}},
        {"parts",
         {attribute_key_replaced_in_place, attribute_key_added,
          attribute_key_removed_when_patch_lacks_it,
          attribute_key_missing_everywhere_changes_nothing, attribute_keys_several_and_repeated,
          classification_subfield_set_alone, subfield_creates_missing_message,
          subfield_from_absent_patch_message_is_cleared, whole_message_and_subfield_together,
          repeated_paths_apply_once}},
        {"kind", {kind_unchanged_accepted, kind_change_refused}},
        {"star",
         {star_replaces_every_mutable_field, star_with_other_paths,
          star_ignores_unset_kind_refuses_other_kind}},
        {"refused",
         {output_only_paths_ignored, unknown_path_refused, near_miss_paths_refused,
          all_bad_paths_reported_together, no_paths_change_nothing}},
        {"ownership", {patch_unchanged_and_not_shared, target_stays_heap_owned_after_many_applies}},
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
    SRunner *sr = srunner_create(mask_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failures = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failures ? 1 : 0;
}
