#include "mask.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"
#include "validate.h"

/* How mask_apply changes target: every path is checked first, so a bad
 * one changes nothing. Then it makes a deep copy of patch and moves each
 * chosen field from the copy to target by swapping the two values. The
 * copy then owns the replaced values and frees them with itself, so no
 * value is ever shared between two messages and nothing needs copying
 * field by field. Only memory running out can stop it midway, and each
 * swap is whole, so target is always a message that can be freed. */

/* Where a field lives. */
typedef enum {
    IN_ASSET,
    IN_CLASSIFICATION, /* asset.classification */
    IN_SECURITY,       /* asset.security */
} field_home;

typedef enum {
    VALUE_STRING,   /* char *, never NULL */
    VALUE_SCALAR,   /* enum or bool */
    VALUE_MESSAGE,  /* sub-message pointer, NULL when absent */
    VALUE_REPEATED, /* a count and an array */
} value_type;

/* The mutable fields, by their place in mutable_fields[]. */
typedef enum {
    F_DISPLAY_NAME,
    F_DESCRIPTION,
    F_OWNER_UNIT,
    F_OWNER,
    F_CLASSIFICATION,
    F_SECURITY,
    F_ATTRIBUTES,
    F_LABELS,
    F_SOURCE,
    F_EXTERNAL_ID,
    F_CONFIDENTIALITY,
    F_INTEGRITY,
    F_AVAILABILITY,
    F_TRACEABILITY,
    F_RATIONALE,
    F_SECURITY_CLASS,
    F_SECURITY_SENSITIVE,
    F_PROTECTED_OBJECT,
    F_DECISION_REF,
    F_COUNT
} field_id;

typedef struct {
    const char *path;
    field_home home;
    value_type type;
    size_t offset;       /* of the value in its home message */
    size_t size;         /* of the value */
    size_t count_offset; /* VALUE_REPEATED: of the count in the asset */
} mutable_field;

#define MEMBER_SIZE(type, member) sizeof(((type *)0)->member)
#define FIELD(path, home_type, home, type, member)                                    \
    {path, home, type, offsetof(home_type, member), MEMBER_SIZE(home_type, member), 0}
#define ASSET_FIELD(type, member) FIELD(#member, Valv__V1__Asset, IN_ASSET, type, member)
#define ASSET_REPEATED(member)                                                        \
    {#member, IN_ASSET, VALUE_REPEATED, offsetof(Valv__V1__Asset, member),            \
     MEMBER_SIZE(Valv__V1__Asset, member), offsetof(Valv__V1__Asset, n_##member)}
#define CLASSIFICATION_FIELD(type, member)                                            \
    FIELD("classification." #member, Valv__V1__Classification, IN_CLASSIFICATION, type, member)
#define SECURITY_FIELD(type, member)                                                  \
    FIELD("security." #member, Valv__V1__SecurityProtection, IN_SECURITY, type, member)

static const mutable_field mutable_fields[F_COUNT] = {
    [F_DISPLAY_NAME] = ASSET_FIELD(VALUE_STRING, display_name),
    [F_DESCRIPTION] = ASSET_FIELD(VALUE_STRING, description),
    [F_OWNER_UNIT] = ASSET_FIELD(VALUE_STRING, owner_unit),
    [F_OWNER] = ASSET_FIELD(VALUE_STRING, owner),
    [F_CLASSIFICATION] = ASSET_FIELD(VALUE_MESSAGE, classification),
    [F_SECURITY] = ASSET_FIELD(VALUE_MESSAGE, security),
    [F_ATTRIBUTES] = ASSET_REPEATED(attributes),
    [F_LABELS] = ASSET_REPEATED(labels),
    [F_SOURCE] = ASSET_FIELD(VALUE_STRING, source),
    [F_EXTERNAL_ID] = ASSET_FIELD(VALUE_STRING, external_id),
    [F_CONFIDENTIALITY] = CLASSIFICATION_FIELD(VALUE_SCALAR, confidentiality),
    [F_INTEGRITY] = CLASSIFICATION_FIELD(VALUE_SCALAR, integrity),
    [F_AVAILABILITY] = CLASSIFICATION_FIELD(VALUE_SCALAR, availability),
    [F_TRACEABILITY] = CLASSIFICATION_FIELD(VALUE_SCALAR, traceability),
    [F_RATIONALE] = CLASSIFICATION_FIELD(VALUE_STRING, rationale),
    [F_SECURITY_CLASS] = SECURITY_FIELD(VALUE_SCALAR, security_class),
    [F_SECURITY_SENSITIVE] = SECURITY_FIELD(VALUE_SCALAR, security_sensitive),
    [F_PROTECTED_OBJECT] = SECURITY_FIELD(VALUE_SCALAR, protected_object),
    [F_DECISION_REF] = SECURITY_FIELD(VALUE_STRING, decision_ref),
};

/* Shown when a path is refused. */
#define ALLOWED_PATHS                                                                 \
    "display_name, description, owner_unit, owner, kind, classification[.confidentiality|" \
    ".integrity|.availability|.traceability|.rationale], security[.security_class|"     \
    ".security_sensitive|.protected_object|.decision_ref], attributes[.KEY], labels, "  \
    "source, external_id, *"

/* Paths of fields the server sets; a mask may name them (clients often send
 * back every field they got), but they never change anything. */
static const char *const output_only_paths[] = {
    "name", "effective", "review", "revision", "etag", "create_time", "update_time",
    "delete_time", "create_by", "update_by", "delete_by",
};

#define ATTRIBUTE_PREFIX "attributes."

typedef enum {
    PATH_UNKNOWN,
    PATH_ALL,           /* "*" */
    PATH_KIND,          /* "kind": immutable */
    PATH_FIELD,         /* one of mutable_fields */
    PATH_ATTRIBUTE_KEY, /* "attributes.KEY" */
    PATH_OUTPUT_ONLY,
} path_kind;

/* True when path is prefix itself or a path inside it ("review.state"). */
static bool path_within(const char *path, const char *prefix)
{
    size_t len = strlen(prefix);

    return strncmp(path, prefix, len) == 0 && (path[len] == '\0' || path[len] == '.');
}

/* Says what path names; for PATH_FIELD, *field_out is which field. */
static path_kind classify_path(const char *path, field_id *field_out)
{
    if (strcmp(path, "*") == 0)
        return PATH_ALL;
    if (strcmp(path, "kind") == 0)
        return PATH_KIND;
    for (int f = 0; f < F_COUNT; f++) {
        if (strcmp(path, mutable_fields[f].path) == 0) {
            *field_out = (field_id)f;
            return PATH_FIELD;
        }
    }
    if (strncmp(path, ATTRIBUTE_PREFIX, strlen(ATTRIBUTE_PREFIX)) == 0)
        return path[strlen(ATTRIBUTE_PREFIX)] != '\0' ? PATH_ATTRIBUTE_KEY : PATH_UNKNOWN;
    for (size_t i = 0; i < sizeof output_only_paths / sizeof output_only_paths[0]; i++) {
        if (path_within(path, output_only_paths[i]))
            return PATH_OUTPUT_ONLY;
    }
    return PATH_UNKNOWN;
}

/* ---- mask_populated ------------------------------------------------------------ */

/* The address of field f in asset a, which must be a field of the asset. */
static const void *asset_value(const Valv__V1__Asset *a, const mutable_field *f)
{
    return (const char *)a + f->offset;
}

static bool populated(const Valv__V1__Asset *a, const mutable_field *f)
{
    const void *value = asset_value(a, f);

    switch (f->type) {
    case VALUE_STRING:
        return (*(const char *const *)value)[0] != '\0';
    case VALUE_MESSAGE:
        return *(const void *const *)value != NULL;
    case VALUE_REPEATED:
        return *(const size_t *)((const char *)a + f->count_offset) > 0;
    case VALUE_SCALAR: /* none lives in the asset itself */
        return false;
    }
    return false;
}

void mask_populated(const Valv__V1__Asset *patch, const char **paths_out, size_t paths_cap,
                    size_t *n_out)
{
    size_t n = 0;

    /* kind is not mutable, but naming it lets mask_apply refuse a change of
     * kind instead of silently dropping it. */
    if (patch->kind != VALV__V1__ASSET_KIND__ASSET_KIND_UNSPECIFIED && n < paths_cap)
        paths_out[n++] = "kind";
    for (int f = 0; f < F_COUNT && n < paths_cap; f++) {
        if (mutable_fields[f].home == IN_ASSET && populated(patch, &mutable_fields[f]))
            paths_out[n++] = mutable_fields[f].path;
    }
    *n_out = n;
}

/* ---- mask_apply: checking ------------------------------------------------------ */

/* A change of kind is refused; naming kind with the same value is harmless. */
static bool changes_kind(const Valv__V1__Asset *target, const Valv__V1__Asset *patch,
                         path_kind kind)
{
    if (kind == PATH_KIND)
        return patch->kind != target->kind;
    /* "*" leaves kind alone unless the patch sets a different one. */
    return kind == PATH_ALL && patch->kind != VALV__V1__ASSET_KIND__ASSET_KIND_UNSPECIFIED &&
           patch->kind != target->kind;
}

static int check_paths(const Valv__V1__Asset *target, const Valv__V1__Asset *patch,
                       const char *const *paths, size_t n_paths, valv_error *err)
{
    int rc = VALV_OK;

    for (size_t i = 0; i < n_paths; i++) {
        field_id unused;
        path_kind kind = classify_path(paths[i], &unused);

        if (kind == PATH_UNKNOWN) {
            char field[VALV_ERROR_FIELD_MAX];
            char excerpt[VALIDATE_EXCERPT_SIZE];

            snprintf(field, sizeof field, "update_mask.paths[%zu]", i);
            rc = valv_error_violation(err, field, "'%s' is not a field you can update; allowed: %s",
                                      validate_excerpt(paths[i], excerpt), ALLOWED_PATHS);
        } else if (changes_kind(target, patch, kind)) {
            rc = valv_error_violation(err, "asset.kind",
                                      "kind is immutable; create a new asset instead");
        }
    }
    return rc;
}

/* ---- mask_apply: moving values ------------------------------------------------- */

/* The message holding field f in a, created empty when absent. NULL when out
 * of memory. */
static void *home_of(Valv__V1__Asset *a, const mutable_field *f)
{
    switch (f->home) {
    case IN_ASSET:
        return a;
    case IN_CLASSIFICATION:
        if (a->classification == NULL) {
            a->classification = malloc(sizeof *a->classification);
            if (a->classification != NULL)
                valv__v1__classification__init(a->classification);
        }
        return a->classification;
    case IN_SECURITY:
        if (a->security == NULL) {
            a->security = malloc(sizeof *a->security);
            if (a->security != NULL)
                valv__v1__security_protection__init(a->security);
        }
        return a->security;
    }
    return NULL;
}

static void swap_bytes(void *a, void *b, size_t size)
{
    unsigned char tmp[sizeof(size_t) > sizeof(void *) ? sizeof(size_t) : sizeof(void *)];

    memcpy(tmp, a, size);
    memcpy(a, b, size);
    memcpy(b, tmp, size);
}

/* Moves field f from source to target (the old target value goes to source).
 * source is mask_apply's private copy of the patch. */
static int move_field(Valv__V1__Asset *target, Valv__V1__Asset *source, const mutable_field *f)
{
    char *target_home = home_of(target, f);
    char *source_home = home_of(source, f);

    if (target_home == NULL || source_home == NULL)
        return VALV_EINTERNAL;
    swap_bytes(target_home + f->offset, source_home + f->offset, f->size);
    if (f->type == VALUE_REPEATED)
        swap_bytes(target_home + f->count_offset, source_home + f->count_offset, sizeof(size_t));
    return VALV_OK;
}

/* The index of key in a's attributes, or -1. When a map arrives with a key
 * twice, the last one is the one that counts (as protobuf parsers do). */
static ptrdiff_t attribute_index(const Valv__V1__Asset *a, const char *key)
{
    for (size_t i = a->n_attributes; i > 0; i--) {
        if (strcmp(a->attributes[i - 1]->key, key) == 0)
            return (ptrdiff_t)(i - 1);
    }
    return -1;
}

/* Takes entry i out of a's attributes, keeping the order of the rest, and
 * returns it (now the caller's). */
static Valv__V1__Asset__AttributesEntry *attribute_take(Valv__V1__Asset *a, size_t i)
{
    Valv__V1__Asset__AttributesEntry *entry = a->attributes[i];

    memmove(&a->attributes[i], &a->attributes[i + 1],
            (a->n_attributes - i - 1) * sizeof a->attributes[0]);
    a->n_attributes--;
    return entry;
}

/* Moves the one attribute key from source to target: replaced in place,
 * added at the end, or removed when source lacks it. */
static int move_attribute(Valv__V1__Asset *target, Valv__V1__Asset *source, const char *key)
{
    ptrdiff_t in_target = attribute_index(target, key);
    ptrdiff_t in_source = attribute_index(source, key);

    if (in_source >= 0 && in_target >= 0) {
        swap_bytes(&target->attributes[in_target], &source->attributes[in_source],
                   sizeof target->attributes[0]);
    } else if (in_source >= 0) {
        Valv__V1__Asset__AttributesEntry **grown = realloc(
            target->attributes, (target->n_attributes + 1) * sizeof target->attributes[0]);
        if (grown == NULL)
            return VALV_EINTERNAL;
        target->attributes = grown;
        target->attributes[target->n_attributes++] = attribute_take(source, (size_t)in_source);
    } else if (in_target >= 0) {
        protobuf_c_message_free_unpacked(&attribute_take(target, (size_t)in_target)->base, NULL);
    }
    return VALV_OK;
}

static bool seen_before(const char *const *paths, size_t i)
{
    for (size_t j = 0; j < i; j++) {
        if (strcmp(paths[j], paths[i]) == 0)
            return true;
    }
    return false;
}

/* Which fields the paths choose: "*" chooses every field of the asset itself,
 * and a chosen sub-message makes choosing its fields redundant. */
static void choose_fields(const char *const *paths, size_t n_paths, bool chosen[F_COUNT])
{
    for (size_t i = 0; i < n_paths; i++) {
        field_id f;
        path_kind kind = classify_path(paths[i], &f);

        if (kind == PATH_FIELD)
            chosen[f] = true;
        if (kind == PATH_ALL) {
            for (int g = 0; g < F_COUNT; g++)
                chosen[g] = chosen[g] || mutable_fields[g].home == IN_ASSET;
        }
    }
    for (int f = 0; f < F_COUNT; f++) {
        if ((mutable_fields[f].home == IN_CLASSIFICATION && chosen[F_CLASSIFICATION]) ||
            (mutable_fields[f].home == IN_SECURITY && chosen[F_SECURITY]))
            chosen[f] = false;
    }
}

/* Applies the checked paths to target from source, the patch's copy. */
static int move_fields(Valv__V1__Asset *target, Valv__V1__Asset *source,
                       const char *const *paths, size_t n_paths)
{
    bool chosen[F_COUNT] = {false};
    int rc;

    choose_fields(paths, n_paths, chosen);
    for (int f = 0; f < F_COUNT; f++) {
        if (chosen[f] && (rc = move_field(target, source, &mutable_fields[f])) != VALV_OK)
            return rc;
    }
    /* A key is moved once, and not at all when the whole map already was. */
    if (chosen[F_ATTRIBUTES])
        return VALV_OK;
    for (size_t i = 0; i < n_paths; i++) {
        field_id unused;
        if (classify_path(paths[i], &unused) != PATH_ATTRIBUTE_KEY || seen_before(paths, i))
            continue;
        rc = move_attribute(target, source, paths[i] + strlen(ATTRIBUTE_PREFIX));
        if (rc != VALV_OK)
            return rc;
    }
    return VALV_OK;
}

int mask_apply(Valv__V1__Asset *target, const Valv__V1__Asset *patch,
               const char *const *paths, size_t n_paths, valv_error *err)
{
    Valv__V1__Asset *source = NULL; /* patch's values; ends holding the replaced ones */
    int rc = check_paths(target, patch, paths, n_paths, err);
    if (rc != VALV_OK)
        return rc;
    source = (Valv__V1__Asset *)message_copy(&patch->base);
    if (source == NULL || move_fields(target, source, paths, n_paths) != VALV_OK)
        rc = valv_error_set(err, VALV_EINTERNAL, "out of memory applying the update mask");
    if (source != NULL)
        valv__v1__asset__free_unpacked(source, NULL);
    return rc;
}
