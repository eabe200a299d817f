/* output.c - table, JSON and CSV views of assets (see output.h). */
#include "output.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "google/protobuf/timestamp.pb-c.h"

/* Width of the key column of the single-asset view; longer keys (long
 * attribute keys) push their value right instead of widening every line. */
#define DETAIL_KEY_WIDTH 24
/* "2026-01-01T00:00:00.123456789Z" plus room to spare. */
#define TIME_TEXT_MAX 48
#define LIST_COLUMNS_MAX 8

int output_format_parse(const char *text, output_format *out)
{
    static const struct {
        const char *name;
        output_format format;
    } formats[] = {{"table", OUTPUT_TABLE}, {"json", OUTPUT_JSON}, {"csv", OUTPUT_CSV}};

    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        if (strcmp(text, formats[i].name) == 0) {
            *out = formats[i].format;
            return 0;
        }
    }
    return -1;
}

/* ---- Small value formatters shared by all three formats ------------------ */

/* The enum's name ("IT_SYSTEM"), or "" for the zero value, which means
 * "not set" in every enum of the API. */
static const char *enum_name(const ProtobufCEnumDescriptor *desc, int value)
{
    if (value == 0)
        return "";
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(desc, value);
    return v != NULL ? v->name : "?";
}

/* RFC 3339 in UTC. with_fraction adds the nanoseconds, in 3, 6 or 9 digits
 * as the protobuf JSON mapping does; tables leave them out. "" for NULL. */
static void format_time(const Google__Protobuf__Timestamp *ts, bool with_fraction,
                        char buf[TIME_TEXT_MAX])
{
    buf[0] = '\0';
    if (ts == NULL)
        return;
    time_t seconds = (time_t)ts->seconds;
    struct tm tm;
    if (gmtime_r(&seconds, &tm) == NULL)
        return;
    size_t len = strftime(buf, TIME_TEXT_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
    int nanos = ts->nanos;
    if (with_fraction && nanos > 0) {
        int digits = 9;
        while (digits > 3 && nanos % 1000 == 0) {
            nanos /= 1000;
            digits -= 3;
        }
        len += (size_t)snprintf(buf + len, TIME_TEXT_MAX - len, ".%0*d", digits, nanos);
    }
    snprintf(buf + len, TIME_TEXT_MAX - len, "Z");
}

/* The CLI's level number: enum value minus one, '-' when not classified. */
static char level_char(Valv__V1__Level level)
{
    if (level <= VALV__V1__LEVEL__LEVEL_UNSPECIFIED || level > VALV__V1__LEVEL__VERY_SERIOUS)
        return '-';
    return (char)('0' + (level - 1));
}

/* "K2 R1 T3 S0", or "" when no level is set. */
static void format_levels(Valv__V1__Level k, Valv__V1__Level r, Valv__V1__Level t,
                          Valv__V1__Level s, char buf[16])
{
    buf[0] = '\0';
    if (k == 0 && r == 0 && t == 0 && s == 0)
        return;
    snprintf(buf, 16, "K%c R%c T%c S%c", level_char(k), level_char(r), level_char(t),
             level_char(s));
}

/* The labels joined with sep, malloc'd ("" for none); NULL when out of
 * memory. */
static char *join_labels(const Valv__V1__Asset *a, const char *sep)
{
    size_t len = 1;
    for (size_t i = 0; i < a->n_labels; i++)
        len += strlen(a->labels[i]) + strlen(sep);
    char *text = malloc(len);
    if (text == NULL)
        return NULL;
    text[0] = '\0';
    for (size_t i = 0; i < a->n_labels; i++) {
        if (i > 0)
            strcat(text, sep);
        strcat(text, a->labels[i]);
    }
    return text;
}

static const char *attribute_value(const Valv__V1__Asset *a, const char *key)
{
    for (size_t i = 0; i < a->n_attributes; i++) {
        if (strcmp(a->attributes[i]->key, key) == 0)
            return a->attributes[i]->value;
    }
    return NULL;
}

static bool is_empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

/* ---- JSON: any message, by reflection over its descriptor ---------------- */

static json_t *message_to_json(const ProtobufCMessage *m);

static bool is_timestamp(const ProtobufCMessageDescriptor *d)
{
    return d == &google__protobuf__timestamp__descriptor;
}

/* protobuf-c represents map<K,V> as a repeated "...Entry" message of key and
 * value. */
static bool is_map_entry(const ProtobufCMessageDescriptor *d)
{
    size_t len = strlen(d->name);
    return d->n_fields == 2 && len > 5 && strcmp(d->name + len - 5, "Entry") == 0 &&
           strcmp(d->fields[0].name, "key") == 0 && strcmp(d->fields[1].name, "value") == 0;
}

/* Bytes one element takes in a repeated field's array. */
static size_t element_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    default:
        return 4; /* 32-bit numbers, enums, protobuf_c_boolean, float */
    }
}

/* True when a singular field holds its default, which proto3 JSON omits. */
static bool value_is_default(const ProtobufCFieldDescriptor *f, const void *value)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
        return is_empty(*(char *const *)value);
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(void *const *)value == NULL;
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)value)->len == 0;
    default: {
        size_t size = element_size(f->type);
        static const uint8_t zeros[8];
        return memcmp(value, zeros, size) == 0;
    }
    }
}

/* One value of field f, stored at value. NULL when out of memory. */
static json_t *value_to_json(const ProtobufCFieldDescriptor *f, const void *value)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return json_integer(*(const int32_t *)value);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_integer(*(const uint32_t *)value);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return json_integer(*(const int64_t *)value);
    case PROTOBUF_C_TYPE_FLOAT:
        return json_real(*(const float *)value);
    case PROTOBUF_C_TYPE_DOUBLE:
        return json_real(*(const double *)value);
    case PROTOBUF_C_TYPE_BOOL:
        return json_boolean(*(const protobuf_c_boolean *)value);
    case PROTOBUF_C_TYPE_ENUM: {
        int number = *(const int *)value;
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(f->descriptor, number);
        return v != NULL ? json_string(v->name) : json_integer(number);
    }
    case PROTOBUF_C_TYPE_STRING:
    {
        /* jansson refuses invalid UTF-8; say so rather than drop the asset. */
        json_t *text = json_string(*(char *const *)value);
        return text != NULL ? text : json_string("(invalid UTF-8)");
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)value;
        if (is_timestamp(f->descriptor)) {
            char text[TIME_TEXT_MAX];
            format_time((const Google__Protobuf__Timestamp *)sub, true, text);
            return json_string(text);
        }
        return message_to_json(sub);
    }
    case PROTOBUF_C_TYPE_BYTES:
    default:
        /* The API has no bytes fields; show the length rather than guess. */
        return json_integer((json_int_t)((const ProtobufCBinaryData *)value)->len);
    }
}

/* A repeated field: a JSON object for a map, an array otherwise. */
static json_t *repeated_to_json(const ProtobufCFieldDescriptor *f, const char *array, size_t n)
{
    bool map = f->type == PROTOBUF_C_TYPE_MESSAGE && is_map_entry(f->descriptor);
    json_t *json = map ? json_object() : json_array();
    if (json == NULL)
        return NULL;
    size_t step = element_size(f->type);
    for (size_t i = 0; i < n; i++) {
        const void *element = array + i * step;
        if (map) {
            const ProtobufCMessage *entry = *(const ProtobufCMessage *const *)element;
            const ProtobufCMessageDescriptor *d = f->descriptor;
            const char *key = *(char *const *)((const char *)entry + d->fields[0].offset);
            json_t *v = value_to_json(&d->fields[1], (const char *)entry + d->fields[1].offset);
            if (v == NULL || json_object_set_new(json, key, v) != 0)
                goto fail;
        } else {
            json_t *v = value_to_json(f, element);
            if (v == NULL || json_array_append_new(json, v) != 0)
                goto fail;
        }
    }
    return json;
fail:
    json_decref(json);
    return NULL;
}

static json_t *message_to_json(const ProtobufCMessage *m)
{
    json_t *json = json_object();
    if (json == NULL)
        return NULL;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *member = (const char *)m + f->offset;
        json_t *v = NULL;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
            if (n == 0)
                continue;
            v = repeated_to_json(f, *(char *const *)member, n);
        } else {
            if (value_is_default(f, member))
                continue;
            v = value_to_json(f, member);
        }
        if (v == NULL || json_object_set_new(json, f->name, v) != 0) {
            json_decref(json);
            return NULL;
        }
        /* A sub-message with nothing set (effective of an unclassified
         * asset) is an empty field too. */
        if (json_is_object(v) && json_object_size(v) == 0)
            json_object_del(json, f->name);
    }
    return json;
}

int output_message_json(FILE *out, const ProtobufCMessage *message)
{
    int rc = -1;
    char *text = NULL;
    json_t *json = message_to_json(message);
    if (json == NULL) {
        errno = ENOMEM;
        goto done;
    }
    text = json_dumps(json, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text == NULL) {
        errno = ENOMEM;
        goto done;
    }
    if (fprintf(out, "%s\n", text) < 0)
        goto done;
    rc = 0;
done:
    free(text);
    json_decref(json);
    return rc;
}

/* ---- Table: the single-asset view ---------------------------------------- */

static void detail_text(FILE *out, const char *key, const char *value)
{
    if (is_empty(value))
        return;
    int pad = DETAIL_KEY_WIDTH - (int)strlen(key) - 1;
    fprintf(out, "%s:%*s %s\n", key, pad > 0 ? pad : 0, "", value);
}

static void detail_bool(FILE *out, const char *key, protobuf_c_boolean value)
{
    detail_text(out, key, value ? "true" : NULL);
}

static void detail_time(FILE *out, const char *key, const Google__Protobuf__Timestamp *ts)
{
    char text[TIME_TEXT_MAX];
    format_time(ts, true, text);
    detail_text(out, key, text);
}

static void print_asset_detail(FILE *out, const Valv__V1__Asset *a)
{
    char text[TIME_TEXT_MAX];
    char *labels = join_labels(a, ", ");

    detail_text(out, "name", a->name);
    detail_text(out, "kind", enum_name(&valv__v1__asset_kind__descriptor, a->kind));
    detail_text(out, "display_name", a->display_name);
    detail_text(out, "description", a->description);
    detail_text(out, "owner_unit", a->owner_unit);
    detail_text(out, "owner", a->owner);
    if (a->classification != NULL) {
        const Valv__V1__Classification *c = a->classification;
        format_levels(c->confidentiality, c->integrity, c->availability, c->traceability, text);
        detail_text(out, "classification", text);
        detail_text(out, "classification.rationale", c->rationale);
    }
    if (a->security != NULL) {
        const Valv__V1__SecurityProtection *s = a->security;
        detail_text(out, "security.security_class",
                    enum_name(&valv__v1__security_class__descriptor, s->security_class));
        detail_bool(out, "security.security_sensitive", s->security_sensitive);
        detail_bool(out, "security.protected_object", s->protected_object);
        detail_text(out, "security.decision_ref", s->decision_ref);
    }
    for (size_t i = 0; i < a->n_attributes; i++) {
        char key[VALV_ERROR_FIELD_MAX];
        snprintf(key, sizeof key, "attributes.%s", a->attributes[i]->key);
        detail_text(out, key, a->attributes[i]->value);
    }
    detail_text(out, "labels", labels);
    detail_text(out, "source", a->source);
    detail_text(out, "external_id", a->external_id);
    if (a->effective != NULL) {
        const Valv__V1__Effective *e = a->effective;
        format_levels(e->confidentiality, e->integrity, e->availability, e->traceability, text);
        detail_text(out, "effective", text);
        detail_text(out, "effective.security_class",
                    enum_name(&valv__v1__security_class__descriptor, e->security_class));
        detail_bool(out, "effective.security_sensitive", e->security_sensitive);
        detail_bool(out, "effective.flagged", e->flagged);
        for (size_t i = 0; i < e->n_sources; i++) {
            char key[VALV_ERROR_FIELD_MAX];
            snprintf(key, sizeof key, "effective.sources.%s", e->sources[i]->key);
            detail_text(out, key, e->sources[i]->value);
        }
    }
    if (a->review != NULL) {
        const Valv__V1__ReviewStatus *r = a->review;
        detail_text(out, "review.state", enum_name(&valv__v1__review_state__descriptor, r->state));
        detail_text(out, "review.reviewer", r->reviewer);
        detail_time(out, "review.review_time", r->review_time);
        detail_text(out, "review.comment", r->comment);
        detail_time(out, "review.due_time", r->due_time);
    }
    if (a->revision != 0) {
        snprintf(text, sizeof text, "%" PRId64, a->revision);
        detail_text(out, "revision", text);
    }
    detail_text(out, "etag", a->etag);
    detail_time(out, "create_time", a->create_time);
    detail_text(out, "create_by", a->create_by);
    detail_time(out, "update_time", a->update_time);
    detail_text(out, "update_by", a->update_by);
    detail_time(out, "delete_time", a->delete_time);
    detail_text(out, "delete_by", a->delete_by);
    free(labels);
}

/* ---- Table: lists --------------------------------------------------------- */

/* Characters, not bytes, so that "Förvaltning" lines up. */
static size_t display_width(const char *s)
{
    size_t width = 0;
    for (; *s != '\0'; s++) {
        if (((unsigned char)*s & 0xC0) != 0x80)
            width++;
    }
    return width;
}

/* Fills cells[0..n_columns) with one row of the list for a (malloc'd
 * strings). Returns 0 or -1 when out of memory. */
static int list_row(const Valv__V1__Asset *a, bool with_deleted, char **cells)
{
    char revision[24];
    char updated[TIME_TEXT_MAX];
    char deleted[TIME_TEXT_MAX];
    const char *kind = enum_name(&valv__v1__asset_kind__descriptor, a->kind);

    snprintf(revision, sizeof revision, "%" PRId64, a->revision);
    format_time(a->update_time, false, updated);
    format_time(a->delete_time, false, deleted);
    const char *values[LIST_COLUMNS_MAX] = {
        a->name, kind, a->display_name, a->owner_unit, a->owner, revision, updated, deleted,
    };
    int n_columns = with_deleted ? 8 : 7;
    for (int i = 0; i < n_columns; i++) {
        cells[i] = strdup(is_empty(values[i]) ? "-" : values[i]);
        if (cells[i] == NULL)
            return -1;
    }
    return 0;
}

static void print_row(FILE *out, const char *const *cells, int n_columns, const size_t *widths)
{
    for (int i = 0; i < n_columns; i++) {
        if (i == n_columns - 1) {
            fprintf(out, "%s\n", cells[i]);
        } else {
            fprintf(out, "%s%*s", cells[i], (int)(widths[i] - display_width(cells[i]) + 2), "");
        }
    }
}

static int print_asset_table(FILE *out, Valv__V1__Asset *const *assets, size_t n_assets)
{
    static const char *const header[LIST_COLUMNS_MAX] = {
        "NAME", "KIND", "DISPLAY_NAME", "OWNER_UNIT", "OWNER", "REVISION", "UPDATED", "DELETED",
    };
    int rc = -1;
    bool with_deleted = false;
    for (size_t i = 0; i < n_assets; i++)
        with_deleted = with_deleted || assets[i]->delete_time != NULL;
    int n_columns = with_deleted ? 8 : 7;

    char **cells = calloc(n_assets * LIST_COLUMNS_MAX + 1, sizeof *cells);
    if (cells == NULL)
        goto done;
    size_t widths[LIST_COLUMNS_MAX];
    for (int c = 0; c < n_columns; c++)
        widths[c] = strlen(header[c]);
    for (size_t i = 0; i < n_assets; i++) {
        char **row = cells + i * LIST_COLUMNS_MAX;
        if (list_row(assets[i], with_deleted, row) != 0)
            goto done;
        for (int c = 0; c < n_columns; c++) {
            size_t w = display_width(row[c]);
            if (w > widths[c])
                widths[c] = w;
        }
    }
    print_row(out, header, n_columns, widths);
    for (size_t i = 0; i < n_assets; i++)
        print_row(out, (const char *const *)(cells + i * LIST_COLUMNS_MAX), n_columns, widths);
    rc = 0;
done:
    if (cells != NULL) {
        for (size_t i = 0; i < n_assets * LIST_COLUMNS_MAX; i++)
            free(cells[i]);
        free(cells);
    }
    if (rc != 0)
        errno = ENOMEM;
    return rc;
}

/* ---- CSV ------------------------------------------------------------------ */

/* One RFC 4180 field: quoted only when it holds a comma, quote or line
 * break; quotes inside are doubled. */
static void csv_field(FILE *out, bool first, const char *value)
{
    if (!first)
        fputc(',', out);
    if (value == NULL)
        return;
    if (strpbrk(value, ",\"\r\n") == NULL) {
        fputs(value, out);
        return;
    }
    fputc('"', out);
    for (const char *p = value; *p != '\0'; p++) {
        if (*p == '"')
            fputc('"', out);
        fputc(*p, out);
    }
    fputc('"', out);
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The sorted set of attribute keys used by any of the assets; the strings
 * are borrowed from the assets. Returns NULL (and *n_out 0) when there are
 * none or memory ran out; *failed tells which. */
static const char **attribute_columns(Valv__V1__Asset *const *assets, size_t n_assets,
                                      size_t *n_out, bool *failed)
{
    size_t total = 0;
    *n_out = 0;
    *failed = false;
    for (size_t i = 0; i < n_assets; i++)
        total += assets[i]->n_attributes;
    if (total == 0)
        return NULL;
    const char **keys = malloc(total * sizeof *keys);
    if (keys == NULL) {
        *failed = true;
        return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i < n_assets; i++) {
        for (size_t j = 0; j < assets[i]->n_attributes; j++)
            keys[n++] = assets[i]->attributes[j]->key;
    }
    qsort(keys, n, sizeof *keys, compare_strings);
    size_t unique = 0;
    for (size_t i = 0; i < n; i++) {
        if (unique == 0 || strcmp(keys[unique - 1], keys[i]) != 0)
            keys[unique++] = keys[i];
    }
    *n_out = unique;
    return keys;
}

static int print_asset_csv(FILE *out, Valv__V1__Asset *const *assets, size_t n_assets)
{
    static const char *const header[] = {
        "name", "kind", "display_name", "description", "owner_unit", "owner", "source",
        "external_id", "labels", "revision", "etag", "create_time", "update_time", "delete_time",
    };
    size_t n_keys;
    bool failed;
    const char **keys = attribute_columns(assets, n_assets, &n_keys, &failed);
    if (failed) {
        errno = ENOMEM;
        return -1;
    }
    int rc = 0;
    for (size_t c = 0; c < sizeof header / sizeof header[0]; c++)
        csv_field(out, c == 0, header[c]);
    for (size_t k = 0; k < n_keys; k++) {
        char column[VALV_ERROR_FIELD_MAX];
        snprintf(column, sizeof column, "attributes.%s", keys[k]);
        csv_field(out, false, column);
    }
    fputs("\r\n", out);

    for (size_t i = 0; i < n_assets && rc == 0; i++) {
        const Valv__V1__Asset *a = assets[i];
        char revision[24], created[TIME_TEXT_MAX], updated[TIME_TEXT_MAX], deleted[TIME_TEXT_MAX];
        char *labels = join_labels(a, ";");
        if (labels == NULL) {
            errno = ENOMEM;
            rc = -1;
            break;
        }
        snprintf(revision, sizeof revision, "%" PRId64, a->revision);
        format_time(a->create_time, true, created);
        format_time(a->update_time, true, updated);
        format_time(a->delete_time, true, deleted);
        const char *row[] = {
            a->name, enum_name(&valv__v1__asset_kind__descriptor, a->kind), a->display_name,
            a->description, a->owner_unit, a->owner, a->source, a->external_id, labels, revision,
            a->etag, created, updated, deleted,
        };
        for (size_t c = 0; c < sizeof row / sizeof row[0]; c++)
            csv_field(out, c == 0, row[c]);
        for (size_t k = 0; k < n_keys; k++)
            csv_field(out, false, attribute_value(a, keys[k]));
        fputs("\r\n", out);
        free(labels);
    }
    free(keys);
    return rc;
}

/* ---- Public entry points --------------------------------------------------- */

int output_asset_list(FILE *out, output_format format, Valv__V1__Asset *const *assets,
                      size_t n_assets)
{
    int rc = 0;
    switch (format) {
    case OUTPUT_TABLE:
        rc = print_asset_table(out, assets, n_assets);
        break;
    case OUTPUT_CSV:
        rc = print_asset_csv(out, assets, n_assets);
        break;
    case OUTPUT_JSON:
        for (size_t i = 0; i < n_assets && rc == 0; i++)
            rc = output_message_json(out, &assets[i]->base);
        break;
    }
    if (rc == 0 && ferror(out))
        rc = -1;
    return rc;
}

int output_asset(FILE *out, output_format format, const Valv__V1__Asset *asset)
{
    if (format != OUTPUT_TABLE) {
        Valv__V1__Asset *one[1] = {(Valv__V1__Asset *)asset};
        return output_asset_list(out, format, one, 1);
    }
    print_asset_detail(out, asset);
    return ferror(out) ? -1 : 0;
}

int output_value(FILE *out, output_format format, const char *name, const char *value)
{
    switch (format) {
    case OUTPUT_TABLE:
        fprintf(out, "%s\n", value);
        break;
    case OUTPUT_CSV:
        csv_field(out, true, name);
        fputs("\r\n", out);
        csv_field(out, true, value);
        fputs("\r\n", out);
        break;
    case OUTPUT_JSON: {
        json_t *json = json_pack("{s:s}", name, value);
        char *text = json != NULL ? json_dumps(json, JSON_COMPACT) : NULL;
        json_decref(json);
        if (text == NULL) {
            errno = ENOMEM;
            return -1;
        }
        fprintf(out, "%s\n", text);
        free(text);
        break;
    }
    }
    return ferror(out) ? -1 : 0;
}

void output_error(FILE *out, const valv_error *err)
{
    fprintf(out, "valv: %s: %s\n", valv_code_name(err->code), err->message);
    for (int i = 0; i < err->n_violations; i++)
        fprintf(out, "  - %s: %s\n", err->violations[i].field, err->violations[i].description);
}
