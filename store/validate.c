#include "validate.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "limits.h"

/* ---- Collecting violations ---------------------------------------------- */

/* The outcome of one check: every violation goes to err (which may be NULL),
 * and failed remembers that there was one. */
typedef struct {
    valv_error *err;
    bool failed;
} report;

static void report_violation(report *r, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* r NULL: nothing is reported, so that a check can serve as a test (see
 * check_attributes). */
static void report_violation(report *r, const char *field, const char *fmt, ...)
{
    char description[sizeof ((valv_violation *)0)->description];
    va_list ap;

    if (r == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(description, sizeof description, fmt, ap);
    va_end(ap);
    valv_error_violation(r->err, field, "%s", description);
    r->failed = true;
}

static int report_result(const report *r)
{
    return r->failed ? VALV_EINVAL : VALV_OK;
}

/* ---- UTF-8 ------------------------------------------------------------------ */

/* Decodes the code point at s[0..len), len > 0. Returns its length in bytes,
 * or 0 when the bytes there are not well-formed UTF-8: a stray continuation
 * byte, a truncated sequence, an overlong form, a surrogate or a value past
 * U+10FFFF. */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp_out)
{
    uint32_t cp, smallest;
    size_t n;

    if (s[0] < 0x80) {
        *cp_out = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0) {
        n = 2, cp = s[0] & 0x1F, smallest = 0x80;
    } else if ((s[0] & 0xF0) == 0xE0) {
        n = 3, cp = s[0] & 0x0F, smallest = 0x800;
    } else if ((s[0] & 0xF8) == 0xF0) {
        n = 4, cp = s[0] & 0x07, smallest = 0x10000;
    } else {
        return 0;
    }
    if (n > len)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < smallest || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    *cp_out = cp;
    return n;
}

/* The offset of the first byte of s[0..len) that does not start a
 * well-formed sequence, or len when there is none. */
static size_t utf8_error_offset(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t at = 0;
    uint32_t cp;

    while (at < len) {
        size_t n = utf8_decode(u + at, len - at, &cp);
        if (n == 0)
            return at;
        at += n;
    }
    return len;
}

bool validate_utf8(const char *s, size_t len)
{
    return utf8_error_offset(s, len) == len;
}

size_t validate_utf8_chars(const char *s)
{
    size_t chars = 0;

    for (const unsigned char *u = (const unsigned char *)s; *u != '\0'; u++) {
        if ((*u & 0xC0) != 0x80) /* every byte but a continuation byte starts one */
            chars++;
    }
    return chars;
}

/* Unicode's control characters: C0, DEL and C1. */
static bool is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

static bool is_space(uint32_t cp)
{
    return cp == ' ' || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200B) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000 ||
           cp == 0xFEFF;
}

/* True when the well-formed string s has nothing but spaces. */
static bool is_blank(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t len = strlen(s), at = 0;
    uint32_t cp;

    while (at < len) {
        at += utf8_decode(u + at, len - at, &cp);
        if (!is_space(cp))
            return false;
    }
    return true;
}

const char *validate_excerpt(const char *s, char *buf)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t len = strlen(s), in = 0, out = 0;
    uint32_t cp;

    for (int chars = 0; in < len && chars < VALIDATE_EXCERPT_CHARS; chars++) {
        size_t n = utf8_decode(u + in, len - in, &cp);
        if (n == 0 || is_control(cp)) {
            buf[out++] = '?';
            in += n == 0 ? 1 : n;
        } else {
            memcpy(buf + out, s + in, n);
            out += n;
            in += n;
        }
    }
    if (in < len) {
        memcpy(buf + out, "...", 3);
        out += 3;
    }
    buf[out] = '\0';
    return buf;
}

/* ---- Free text ---------------------------------------------------------------- */

typedef enum { BYTES, CHARACTERS } text_unit;
typedef enum { ONE_LINE, MULTI_LINE } text_lines;

/* What a free-text field may hold. */
typedef struct {
    size_t max;       /* longest allowed, in unit */
    text_unit unit;
    text_lines lines; /* MULTI_LINE also lets newline, carriage return and tab through */
} text_rule;

static const text_rule display_name_rule = {VALV_DISPLAY_NAME_MAX_CHARS, CHARACTERS, ONE_LINE};
static const text_rule description_rule = {VALV_DESCRIPTION_MAX, BYTES, MULTI_LINE};
static const text_rule owner_rule = {VALV_OWNER_MAX_CHARS, CHARACTERS, ONE_LINE};
static const text_rule rationale_rule = {VALV_RATIONALE_MAX, BYTES, MULTI_LINE};
static const text_rule decision_ref_rule = {VALV_DECISION_REF_MAX, CHARACTERS, ONE_LINE};
static const text_rule attribute_value_rule = {VALV_ATTRIBUTE_VALUE_MAX, BYTES, MULTI_LINE};
static const text_rule external_id_rule = {VALV_EXTERNAL_ID_MAX, BYTES, ONE_LINE};

static bool allowed_control(uint32_t cp, text_lines lines)
{
    return lines == MULTI_LINE && (cp == '\n' || cp == '\r' || cp == '\t');
}

/* Checks s against rule: UTF-8, length, control characters, reporting the
 * first problem found. Returns true when s passes. */
static bool check_text(report *r, const char *field, const char *s, const text_rule *rule)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t len = 0;
    uint32_t cp;

    /* Most text is printable ASCII: valid UTF-8, a byte a character, no
     * control characters. One pass tells, and only the rest is decoded. */
    while (u[len] >= 0x20 && u[len] < 0x7f)
        len++;
    if (u[len] == '\0') {
        if (len <= rule->max)
            return true;
    } else {
        len += strlen(s + len);
    }
    size_t bad = utf8_error_offset(s, len);
    if (bad < len) {
        report_violation(r, field, "not valid UTF-8 (bad byte 0x%02X at offset %zu); text must be UTF-8",
                         u[bad], bad);
        return false;
    }
    size_t size = rule->unit == CHARACTERS ? validate_utf8_chars(s) : len;
    if (size > rule->max) {
        const char *unit = rule->unit == CHARACTERS ? "characters" : "bytes";
        report_violation(r, field, "%zu %s long; at most %zu %s allowed", size, unit, rule->max, unit);
        return false;
    }
    for (size_t at = 0, n; at < len; at += n) {
        n = utf8_decode(u + at, len - at, &cp);
        if (is_control(cp) && !allowed_control(cp, rule->lines)) {
            report_violation(r, field, "control character U+%04X at byte %zu; %s", (unsigned)cp, at,
                             rule->lines == MULTI_LINE
                                 ? "only newline, carriage return and tab are allowed"
                                 : "only printable characters are allowed");
            return false;
        }
    }
    return true;
}

int validate_text(const char *s, size_t max, const char *field, valv_error *err)
{
    text_rule rule = {max, BYTES, ONE_LINE};
    report r = {err, false};

    check_text(&r, field, s, &rule);
    return report_result(&r);
}

/* ---- Identifiers ------------------------------------------------------------- */

#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define DIGITS "0123456789"

/* An identifier pattern of the form ^[first][middle]{0,max-2}[last]$ (or
 * ^[first][middle]{0,max-1}$ when last equals middle), checked by hand. */
typedef struct {
    const char *first;  /* characters allowed first */
    const char *middle; /* characters allowed after the first */
    const char *last;   /* characters allowed last, when there are two or more */
    size_t max;         /* bytes */
    const char *regex;  /* the pattern as a user is shown it */
    const char *words;  /* the same in words */
} pattern;

/* The regex texts below spell out the limits; keep them in step. */
_Static_assert(VALV_ASSET_ID_MAX == 63, "asset_id_pattern.regex says {0,61}");
_Static_assert(VALV_OWNER_UNIT_MAX == 63, "owner_unit_pattern.regex says {0,62}");
_Static_assert(VALV_SOURCE_MAX == 63, "source_pattern.regex says {0,62}");
_Static_assert(VALV_ATTRIBUTE_KEY_MAX == 63, "attribute_key_pattern.regex says {0,62}");
_Static_assert(VALV_LABEL_MAX == 63, "label_pattern.regex says {0,62}");

static const pattern asset_id_pattern = {
    LOWER, LOWER DIGITS "-", LOWER DIGITS, VALV_ASSET_ID_MAX,
    "^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$",
    "lower-case letters, digits and '-', starting with a letter, not ending with '-'"};
static const pattern owner_unit_pattern = {
    LOWER, LOWER DIGITS "-", LOWER DIGITS "-", VALV_OWNER_UNIT_MAX,
    "^[a-z][a-z0-9-]{0,62}$",
    "lower-case letters, digits and '-', starting with a letter"};
static const pattern source_pattern = {
    LOWER, LOWER DIGITS "-", LOWER DIGITS "-", VALV_SOURCE_MAX,
    "^[a-z][a-z0-9-]{0,62}$",
    "lower-case letters, digits and '-', starting with a letter"};
static const pattern attribute_key_pattern = {
    LOWER, LOWER DIGITS "_-", LOWER DIGITS "_-", VALV_ATTRIBUTE_KEY_MAX,
    "^[a-z][a-z0-9_-]{0,62}$",
    "lower-case letters, digits, '_' and '-', starting with a letter"};
static const pattern label_pattern = {
    LOWER DIGITS, LOWER DIGITS "_.:-", LOWER DIGITS "_.:-", VALV_LABEL_MAX,
    "^[a-z0-9][a-z0-9_.:-]{0,62}$",
    "lower-case letters, digits, '_', '.', ':' and '-', starting with a letter or digit"};

static bool in_set(char c, const char *set)
{
    return c != '\0' && strchr(set, c) != NULL;
}

static bool pattern_matches(const pattern *p, const char *s)
{
    size_t len = strlen(s);

    if (len == 0 || len > p->max || !in_set(s[0], p->first))
        return false;
    for (size_t i = 1; i + 1 < len; i++) {
        if (!in_set(s[i], p->middle))
            return false;
    }
    return len == 1 || in_set(s[len - 1], p->last);
}

/* Reports s unless it matches p. Returns true when it does. */
static bool check_pattern(report *r, const char *field, const char *s, const pattern *p)
{
    char excerpt[VALIDATE_EXCERPT_SIZE];

    if (pattern_matches(p, s))
        return true;
    report_violation(r, field, "'%s' does not match %s (%s, at most %zu)",
                     validate_excerpt(s, excerpt), p->regex, p->words, p->max);
    return false;
}

static void report_required_pattern(report *r, const char *field, const pattern *p)
{
    report_violation(r, field, "required; must match %s (%s, at most %zu)", p->regex, p->words,
                     p->max);
}

int validate_asset_id(const char *id, const char *field, valv_error *err)
{
    report r = {err, false};

    check_pattern(&r, field, id, &asset_id_pattern);
    return report_result(&r);
}

int validate_owner_unit(const char *unit, const char *field, valv_error *err)
{
    report r = {err, false};

    check_pattern(&r, field, unit, &owner_unit_pattern);
    return report_result(&r);
}

int validate_asset_name(const char *name, const char *field, const char **id_out,
                        valv_error *err)
{
    static const char prefix[] = "assets/";
    const size_t prefix_len = sizeof prefix - 1;
    char excerpt[VALIDATE_EXCERPT_SIZE];
    report r = {err, false};

    *id_out = NULL;
    if (strncmp(name, prefix, prefix_len) != 0) {
        report_violation(&r, field, "'%s' is not an asset name; expected assets/{asset_id}",
                         validate_excerpt(name, excerpt));
    } else if (!pattern_matches(&asset_id_pattern, name + prefix_len)) {
        report_violation(&r, field,
                         "'%s' is not an asset name; the asset_id after assets/ must match %s (%s, "
                         "at most %zu)",
                         validate_excerpt(name, excerpt), asset_id_pattern.regex,
                         asset_id_pattern.words, asset_id_pattern.max);
    } else {
        *id_out = name + prefix_len;
    }
    return report_result(&r);
}

/* ---- Enums ---------------------------------------------------------------------- */

/* Writes "NAME, NAME, ..." of the values of d into buf, the zero value
 * (..._UNSPECIFIED) only when with_zero. */
static const char *enum_names(const ProtobufCEnumDescriptor *d, bool with_zero, char *buf,
                              size_t cap)
{
    size_t used = 0;

    buf[0] = '\0';
    for (unsigned i = 0; i < d->n_values; i++) {
        if (d->values[i].value == 0 && !with_zero)
            continue;
        int n = snprintf(buf + used, cap - used, "%s%s", used > 0 ? ", " : "", d->values[i].name);
        if (n < 0 || (size_t)n >= cap - used)
            break;
        used += (size_t)n;
    }
    return buf;
}

/* Reports value unless d knows it. The message lists the allowed values,
 * the zero value among them only when with_zero (kind must be chosen, while
 * LEVEL_UNSPECIFIED means "not yet classified"). */
static void check_enum(report *r, const char *field, const ProtobufCEnumDescriptor *d, int value,
                       bool with_zero)
{
    char names[160];

    if (protobuf_c_enum_descriptor_get_value(d, value) == NULL)
        report_violation(r, field, "unknown value %d; one of %s", value,
                         enum_names(d, with_zero, names, sizeof names));
}

/* ---- The asset, part by part -------------------------------------------------- */

static void check_kind(report *r, const Valv__V1__Asset *asset, bool for_create)
{
    char names[160];

    if (asset->kind == VALV__V1__ASSET_KIND__ASSET_KIND_UNSPECIFIED) {
        if (for_create)
            report_violation(r, "kind", "required; one of %s",
                             enum_names(&valv__v1__asset_kind__descriptor, false, names,
                                        sizeof names));
        return;
    }
    check_enum(r, "kind", &valv__v1__asset_kind__descriptor, asset->kind, false);
}

static void check_display_name(report *r, const Valv__V1__Asset *asset, bool for_create)
{
    const char *name = asset->display_name;

    if (name[0] == '\0') {
        /* On update an empty value means the field is not being changed. */
        if (for_create)
            report_violation(r, "display_name", "required; 1 to %d characters",
                             VALV_DISPLAY_NAME_MAX_CHARS);
        return;
    }
    if (check_text(r, "display_name", name, &display_name_rule) && is_blank(name))
        report_violation(r, "display_name", "only whitespace; 1 to %d characters, not all spaces",
                         VALV_DISPLAY_NAME_MAX_CHARS);
}

static void check_owner_unit(report *r, const Valv__V1__Asset *asset, bool for_create)
{
    if (asset->owner_unit[0] != '\0')
        check_pattern(r, "owner_unit", asset->owner_unit, &owner_unit_pattern);
    else if (for_create)
        report_required_pattern(r, "owner_unit", &owner_unit_pattern);
}

static void check_classification(report *r, const Valv__V1__Classification *c)
{
    const struct {
        const char *field;
        int value;
    } levels[] = {
        {"classification.confidentiality", c->confidentiality},
        {"classification.integrity", c->integrity},
        {"classification.availability", c->availability},
        {"classification.traceability", c->traceability},
    };

    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
        check_enum(r, levels[i].field, &valv__v1__level__descriptor, levels[i].value, true);
    check_text(r, "classification.rationale", c->rationale, &rationale_rule);
}

static void check_security(report *r, const Valv__V1__SecurityProtection *s,
                           Valv__V1__AssetKind kind)
{
    check_enum(r, "security.security_class", &valv__v1__security_class__descriptor,
               s->security_class, true);
    /* With no kind (an update that does not carry it) the rule cannot be
     * judged here; the caller validates the merged asset. */
    if (s->protected_object && kind != VALV__V1__ASSET_KIND__FACILITY &&
        kind != VALV__V1__ASSET_KIND__ASSET_KIND_UNSPECIFIED) {
        const ProtobufCEnumValue *v =
            protobuf_c_enum_descriptor_get_value(&valv__v1__asset_kind__descriptor, kind);
        report_violation(r, "security.protected_object",
                         "only a FACILITY can be a protected object (skyddsobjekt); this asset is %s",
                         v != NULL ? v->name : "of an unknown kind");
    }
    check_text(r, "security.decision_ref", s->decision_ref, &decision_ref_rule);
}

static bool key_seen_before(Valv__V1__Asset__AttributesEntry *const *entries, size_t i)
{
    for (size_t j = 0; j < i; j++) {
        if (strcmp(entries[j]->key, entries[i]->key) == 0)
            return true;
    }
    return false;
}

static void check_attributes(report *r, const Valv__V1__Asset *asset)
{
    /* Past the limit, duplicates are not looked for: the quadratic search
     * must stay small, and the count is already an error. */
    bool too_many = asset->n_attributes > VALV_ATTRIBUTES_MAX;

    if (too_many)
        report_violation(r, "attributes", "%zu entries; at most %d allowed", asset->n_attributes,
                         VALV_ATTRIBUTES_MAX);
    for (size_t i = 0; i < asset->n_attributes; i++) {
        const Valv__V1__Asset__AttributesEntry *e = asset->attributes[i];
        char excerpt[VALIDATE_EXCERPT_SIZE];
        char field[VALV_ERROR_FIELD_MAX];

        /* The field's name costs more than the checks: make it only for an
         * entry that has something to report. */
        if (check_pattern(NULL, NULL, e->key, &attribute_key_pattern) &&
            check_text(NULL, NULL, e->value, &attribute_value_rule) &&
            (too_many || !key_seen_before(asset->attributes, i)))
            continue;
        snprintf(field, sizeof field, "attributes.%s", validate_excerpt(e->key, excerpt));
        check_pattern(r, field, e->key, &attribute_key_pattern);
        check_text(r, field, e->value, &attribute_value_rule);
        if (!too_many && key_seen_before(asset->attributes, i))
            report_violation(r, field, "key '%s' given more than once; each key may appear once",
                             excerpt);
    }
}

static bool label_seen_before(char *const *labels, size_t i)
{
    for (size_t j = 0; j < i; j++) {
        if (strcmp(labels[j], labels[i]) == 0)
            return true;
    }
    return false;
}

static void check_labels(report *r, const Valv__V1__Asset *asset)
{
    bool too_many = asset->n_labels > VALV_LABELS_MAX;

    if (too_many)
        report_violation(r, "labels", "%zu labels; at most %d allowed", asset->n_labels,
                         VALV_LABELS_MAX);
    for (size_t i = 0; i < asset->n_labels; i++) {
        char excerpt[VALIDATE_EXCERPT_SIZE];
        char field[VALV_ERROR_FIELD_MAX];

        if (check_pattern(NULL, NULL, asset->labels[i], &label_pattern) &&
            (too_many || !label_seen_before(asset->labels, i)))
            continue; /* as for attributes: no name unless needed */
        snprintf(field, sizeof field, "labels[%zu]", i);
        check_pattern(r, field, asset->labels[i], &label_pattern);
        if (!too_many && label_seen_before(asset->labels, i))
            report_violation(r, field, "'%s' given more than once; each label may appear once",
                             validate_excerpt(asset->labels[i], excerpt));
    }
}

/* source and external_id together say where an imported asset comes from,
 * so one without the other identifies nothing. */
static void check_import_identity(report *r, const Valv__V1__Asset *asset)
{
    bool has_source = asset->source[0] != '\0';
    bool has_external_id = asset->external_id[0] != '\0';
    char excerpt[VALIDATE_EXCERPT_SIZE];

    if (has_source)
        check_pattern(r, "source", asset->source, &source_pattern);
    if (has_external_id)
        check_text(r, "external_id", asset->external_id, &external_id_rule);
    if (has_source && !has_external_id)
        report_violation(r, "external_id",
                         "set together with source; source is '%s' but external_id is empty",
                         validate_excerpt(asset->source, excerpt));
    if (!has_source && has_external_id)
        report_violation(r, "source",
                         "set together with external_id; external_id is set but source is empty");
}

int validate_asset(const Valv__V1__Asset *asset, bool for_create, valv_error *err)
{
    report r = {err, false};

    check_kind(&r, asset, for_create);
    check_display_name(&r, asset, for_create);
    check_text(&r, "description", asset->description, &description_rule);
    check_owner_unit(&r, asset, for_create);
    check_text(&r, "owner", asset->owner, &owner_rule);
    if (asset->classification != NULL)
        check_classification(&r, asset->classification);
    if (asset->security != NULL)
        check_security(&r, asset->security, asset->kind);
    check_attributes(&r, asset);
    check_labels(&r, asset);
    check_import_identity(&r, asset);
    return report_result(&r);
}

int validate_write_fields(const char *request_id, const char *etag, valv_error *err)
{
    if (request_id != NULL)
        validate_text(request_id, VALV_REQUEST_ID_MAX, "request_id", err);
    if (etag != NULL)
        validate_text(etag, VALV_ETAG_MAX, "etag", err);
    return err->code;
}

int validate_link_fields(const char *prefix, const char *from, const char *to,
                         Valv__V1__LinkType type, const char **from_id, const char **to_id,
                         valv_error *err)
{
    char field[32];
    snprintf(field, sizeof field, "%sfrom_asset", prefix);
    validate_asset_name(from, field, from_id, err);
    snprintf(field, sizeof field, "%sto_asset", prefix);
    validate_asset_name(to, field, to_id, err);
    if (type <= VALV__V1__LINK_TYPE__LINK_TYPE_UNSPECIFIED || type > VALV__V1__LINK_TYPE__PART_OF) {
        snprintf(field, sizeof field, "%stype", prefix);
        valv_error_violation(err, field,
                             "required: one of PROCESSED_BY, STORED_IN, HOSTED_IN, DEPENDS_ON, PART_OF");
    }
    return err->code;
}
