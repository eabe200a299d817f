/* fuzz_filter.c - the AIP-160 filter parser and matcher (store/filter.h).
 *
 * Input: filter text (a NUL in it ends it, as in a C string from the
 * request). Besides not crashing, it asserts what filter.h promises:
 *   - a refusal is INVALID_ARGUMENT on the field "filter";
 *   - the index hint holds for every asset the filter matches (a wrong one
 *     would make ListAssets skip assets);
 *   - "NOT (text)", when it parses, matches exactly the assets text does not.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "invariants.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW_UNIX 1780000000LL /* 2026-05-28: the "now" of review.overdue */

/* Three assets to match: one with every field set, one with none, and a
 * deleted facility. Built on the first call; they live as long as the
 * process. */
#define N_ASSETS 3
static Valv__V1__Asset *assets[N_ASSETS];

static Google__Protobuf__Timestamp *timestamp_new(int64_t seconds)
{
    Google__Protobuf__Timestamp *t = malloc(sizeof *t);
    if (t == NULL)
        abort();
    google__protobuf__timestamp__init(t);
    t->seconds = seconds;
    t->nanos = 500;
    return t;
}

static Valv__V1__Asset *asset_new(void)
{
    Valv__V1__Asset *a = malloc(sizeof *a);
    if (a == NULL)
        abort();
    valv__v1__asset__init(a);
    return a;
}

static void assets_build(void)
{
    static Valv__V1__Classification c = VALV__V1__CLASSIFICATION__INIT;
    static Valv__V1__SecurityProtection sec = VALV__V1__SECURITY_PROTECTION__INIT;
    static Valv__V1__Effective eff = VALV__V1__EFFECTIVE__INIT;
    static Valv__V1__ReviewStatus review = VALV__V1__REVIEW_STATUS__INIT;
    static Valv__V1__Asset__AttributesEntry vendor = VALV__V1__ASSET__ATTRIBUTES_ENTRY__INIT,
                                           retention = VALV__V1__ASSET__ATTRIBUTES_ENTRY__INIT;
    static Valv__V1__Asset__AttributesEntry *attributes[] = {&vendor, &retention};
    static char *labels[] = {"gdpr", "k3:hemlig"};

    Valv__V1__Asset *a = asset_new();
    a->name = "assets/procapita";
    a->kind = VALV__V1__ASSET_KIND__IT_SYSTEM;
    a->display_name = "Procapita Äldreomsorg";
    a->description = "Verksamhetssystem för socialtjänsten";
    a->owner_unit = "socialnamnden";
    a->owner = "Anna Andersson";
    c.confidentiality = VALV__V1__LEVEL__SERIOUS;
    c.availability = VALV__V1__LEVEL__MODERATE;
    a->classification = &c;
    sec.security_class = VALV__V1__SECURITY_CLASS__RESTRICTED;
    sec.security_sensitive = 1;
    a->security = &sec;
    vendor.key = "vendor";
    vendor.value = "Tieto";
    retention.key = "retention";
    retention.value = "10y";
    a->n_attributes = 2;
    a->attributes = attributes;
    a->n_labels = 2;
    a->labels = labels;
    a->source = "servicenow";
    a->external_id = "CI-1001";
    eff.confidentiality = VALV__V1__LEVEL__VERY_SERIOUS;
    eff.security_class = VALV__V1__SECURITY_CLASS__SECRET;
    eff.flagged = 1;
    a->effective = &eff;
    review.state = VALV__V1__REVIEW_STATE__APPROVED;
    review.due_time = timestamp_new(NOW_UNIX - 60);
    a->review = &review;
    a->revision = 42;
    a->create_time = timestamp_new(1767225600); /* 2026-01-01 */
    a->update_time = timestamp_new(1772323200); /* 2026-03-01 */
    assets[0] = a;

    assets[1] = asset_new();

    a = asset_new();
    a->name = "assets/stadshuset";
    a->kind = VALV__V1__ASSET_KIND__FACILITY;
    a->display_name = "Stadshuset";
    a->owner_unit = "fastighetsnamnden";
    a->delete_time = timestamp_new(1775000000);
    assets[2] = a;
}

/* The hint of f holds for asset a, which f matches. */
static int hint_holds(const filter *f, const Valv__V1__Asset *a)
{
    filter_hint hint;
    filter_hint_get(f, &hint);
    return (hint.owner_unit == NULL || strcmp(hint.owner_unit, a->owner_unit) == 0) &&
           (hint.kind == 0 || hint.kind == (int)a->kind) &&
           (hint.source == NULL || strcmp(hint.source, a->source) == 0);
}

/* "NOT (text )" matches the complement of f, when it parses. */
static void check_negation(const char *text, const filter *f)
{
    static const char prefix[] = "NOT (", suffix[] = " )";
    size_t len = strlen(text);
    char *negated = malloc(sizeof prefix + len + sizeof suffix);
    filter *g = NULL;
    valv_error err;

    if (negated == NULL)
        abort();
    memcpy(negated, prefix, sizeof prefix - 1);
    memcpy(negated + sizeof prefix - 1, text, len);
    memcpy(negated + sizeof prefix - 1 + len, suffix, sizeof suffix);
    valv_error_clear(&err);
    int rc = filter_parse(negated, &g, &err);
    invariant_error(rc, &err);
    for (int i = 0; rc == VALV_OK && i < N_ASSETS; i++)
        invariant(filter_match(g, assets[i], NOW_UNIX) != filter_match(f, assets[i], NOW_UNIX),
                  "NOT (filter) matches an asset the filter matches, or misses one it misses");
    filter_free(g);
    free(negated);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    filter *f = NULL;
    valv_error err;

    if (text == NULL)
        abort();
    if (assets[0] == NULL)
        assets_build();
    memcpy(text, data, size);
    text[size] = '\0';
    valv_error_clear(&err);
    int rc = filter_parse(text, &f, &err);
    invariant_error(rc, &err);
    if (rc != VALV_OK) {
        invariant(f == NULL, "a refused filter was returned");
        invariant(rc != VALV_EINVAL ||
                      (err.n_violations >= 1 && strcmp(err.violations[0].field, "filter") == 0),
                  "a refused filter's violation is not on the field \"filter\"");
    } else if (f != NULL) {
        for (int i = 0; i < N_ASSETS; i++)
            invariant(!filter_match(f, assets[i], NOW_UNIX) || hint_holds(f, assets[i]),
                      "the index hint excludes an asset the filter matches");
        check_negation(text, f);
    }
    filter_free(f);
    free(text);
    return 0;
}
