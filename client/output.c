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
#include <openssl/evp.h>

#include "google/protobuf/timestamp.pb-c.h"
#include "message.h"

/* Width of the key column of the single-asset view: the longest key but
 * attributes (effective.sources.security_sensitive) and its colon. Longer
 * attribute keys push their value right instead of widening every line. */
#define DETAIL_KEY_WIDTH 38
/* "2026-01-01T00:00:00.123456789Z" plus room to spare. */
/* The most columns a table has: the asset list's. */
#define TABLE_COLUMNS_MAX 14
/* Characters of an event's changes and reason that an audit table shows;
 * -o json and -o csv show them whole. */
#define AUDIT_CHANGES_WIDTH 60
#define AUDIT_REASON_WIDTH 40
#define AUDIT_ACTION_PREFIX "ACTION_"

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

void output_time(const Google__Protobuf__Timestamp *ts, bool with_fraction,
                 char buf[OUTPUT_TIME_MAX])
{
    buf[0] = '\0';
    if (ts == NULL)
        return;
    time_t seconds = (time_t)ts->seconds;
    struct tm tm;
    if (gmtime_r(&seconds, &tm) == NULL)
        return;
    size_t len = strftime(buf, OUTPUT_TIME_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
    int nanos = ts->nanos;
    if (with_fraction && nanos > 0) {
        int digits = 9;
        while (digits > 3 && nanos % 1000 == 0) {
            nanos /= 1000;
            digits -= 3;
        }
        len += (size_t)snprintf(buf + len, OUTPUT_TIME_MAX - len, ".%0*d", digits, nanos);
    }
    snprintf(buf + len, OUTPUT_TIME_MAX - len, "Z");
}

/* The CLI's level number: enum value minus one, '-' when not classified. */
static char level_char(Valv__V1__Level level)
{
    if (level <= VALV__V1__LEVEL__LEVEL_UNSPECIFIED || level > VALV__V1__LEVEL__VERY_SERIOUS)
        return '-';
    return (char)('0' + (level - 1));
}

/* The level number as a string: "3", or "" when not classified. */
static const char *level_text(Valv__V1__Level level)
{
    static const char *const numbers[] = {"", "0", "1", "2", "3", "4"};
    if (level <= VALV__V1__LEVEL__LEVEL_UNSPECIFIED || level > VALV__V1__LEVEL__VERY_SERIOUS)
        return "";
    return numbers[level];
}

/* The review column of lists: the state, "APPROVED OVERDUE" when past due,
 * "" when no review is needed. */
static const char *review_text(const Valv__V1__ReviewStatus *r)
{
    if (r == NULL || r->state == VALV__V1__REVIEW_STATE__NOT_REQUIRED)
        return "";
    if (r->overdue)
        return "APPROVED OVERDUE";
    return enum_name(&valv__v1__review_state__descriptor, r->state);
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
        size_t size = message_element_size(f->type);
        static const uint8_t zeros[8];
        return memcmp(value, zeros, size) == 0;
    }
    }
}

/* Bytes (the audit hashes) in standard base64 with padding, as the
 * protobuf JSON mapping writes them. NULL when out of memory. */
static json_t *bytes_to_json(const ProtobufCBinaryData *bytes)
{
    /* EVP_EncodeBlock takes an int length; no field of the API comes near. */
    if (bytes->len > INT32_MAX / 2)
        return json_string("(too long)");
    char *text = malloc(4 * ((bytes->len + 2) / 3) + 1);
    if (text == NULL)
        return NULL;
    EVP_EncodeBlock((unsigned char *)text, bytes->data, (int)bytes->len);
    json_t *json = json_string(text);
    free(text);
    return json;
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
            char text[OUTPUT_TIME_MAX];
            output_time((const Google__Protobuf__Timestamp *)sub, true, text);
            return json_string(text);
        }
        return message_to_json(sub);
    }
    case PROTOBUF_C_TYPE_BYTES:
        return bytes_to_json((const ProtobufCBinaryData *)value);
    default:
        return json_null(); /* protobuf-c has no other types */
    }
}

/* A repeated field: a JSON object for a map, an array otherwise. */
static json_t *repeated_to_json(const ProtobufCFieldDescriptor *f, const char *array, size_t n)
{
    bool map = f->type == PROTOBUF_C_TYPE_MESSAGE && is_map_entry(f->descriptor);
    json_t *json = map ? json_object() : json_array();
    if (json == NULL)
        return NULL;
    size_t step = message_element_size(f->type);
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
            size_t n = message_count(m, f);
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
    char text[OUTPUT_TIME_MAX];
    output_time(ts, true, text);
    detail_text(out, key, text);
}

static void print_review_detail(FILE *out, const Valv__V1__ReviewStatus *r)
{
    detail_text(out, "review.state", enum_name(&valv__v1__review_state__descriptor, r->state));
    detail_time(out, "review.state_time", r->state_time);
    detail_bool(out, "review.overdue", r->overdue);
    detail_text(out, "review.reviewer", r->reviewer);
    detail_time(out, "review.review_time", r->review_time);
    detail_text(out, "review.comment", r->comment);
    detail_time(out, "review.due_time", r->due_time);
}

static void print_asset_detail(FILE *out, const Valv__V1__Asset *a)
{
    char text[OUTPUT_TIME_MAX];
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
    if (a->review != NULL)
        print_review_detail(out, a->review);
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

void output_csv_field(FILE *out, char delimiter, bool first, const char *value)
{
    const char special[] = {delimiter, '"', '\r', '\n', '\0'};
    if (!first)
        fputc(delimiter, out);
    if (value == NULL)
        return;
    if (strpbrk(value, special) == NULL) {
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

static void csv_field(FILE *out, bool first, const char *value)
{
    output_csv_field(out, ',', first, value);
}

/* A table of strings, built a cell at a time and printed at the end, so
 * that columns line up (table format) or have one header (CSV). */
typedef struct {
    const char *const *header;
    int n_columns;
    size_t n_rows;
    char **cells; /* n_rows * n_columns malloc'd strings, row by row */
} table;

/* Returns 0, or -1 (errno ENOMEM) when out of memory. */
static int table_init(table *t, const char *const *header, int n_columns, size_t n_rows)
{
    t->header = header;
    t->n_columns = n_columns;
    t->n_rows = n_rows;
    t->cells = calloc(n_rows * (size_t)n_columns + 1, sizeof *t->cells);
    if (t->cells == NULL) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

/* Copies text (NULL: "") into a cell. Returns 0, or -1 (errno ENOMEM). */
static int table_set(table *t, size_t row, int column, const char *text)
{
    char **cell = &t->cells[row * (size_t)t->n_columns + (size_t)column];
    free(*cell);
    *cell = strdup(text != NULL ? text : "");
    if (*cell == NULL) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

/* Fills a row from values[0..n_columns). */
static int table_set_row(table *t, size_t row, const char *const *values)
{
    for (int c = 0; c < t->n_columns; c++) {
        if (table_set(t, row, c, values[c]) != 0)
            return -1;
    }
    return 0;
}

static void table_free(table *t)
{
    if (t->cells == NULL)
        return;
    for (size_t i = 0; i < t->n_rows * (size_t)t->n_columns; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
}

/* A cell as the table format shows it: '-' for empty, so that no column
 * is ever blank. */
static const char *shown(const char *cell)
{
    return is_empty(cell) ? "-" : cell;
}

static void print_row(FILE *out, const char *const *cells, int n_columns, const size_t *widths)
{
    for (int i = 0; i < n_columns; i++) {
        const char *cell = shown(cells[i]);
        if (i == n_columns - 1)
            fprintf(out, "%s\n", cell);
        else
            fprintf(out, "%s%*s", cell, (int)(widths[i] - display_width(cell) + 2), "");
    }
}

/* Prints t as aligned columns under its header, or as CSV. */
static void table_print(FILE *out, output_format format, const table *t)
{
    if (format == OUTPUT_CSV) {
        for (int c = 0; c < t->n_columns; c++)
            csv_field(out, c == 0, t->header[c]);
        fputs("\r\n", out);
        for (size_t r = 0; r < t->n_rows; r++) {
            for (int c = 0; c < t->n_columns; c++)
                csv_field(out, c == 0, t->cells[r * (size_t)t->n_columns + (size_t)c]);
            fputs("\r\n", out);
        }
        return;
    }
    size_t widths[TABLE_COLUMNS_MAX];
    for (int c = 0; c < t->n_columns; c++) {
        widths[c] = display_width(t->header[c]);
        for (size_t r = 0; r < t->n_rows; r++) {
            size_t w = display_width(shown(t->cells[r * (size_t)t->n_columns + (size_t)c]));
            if (w > widths[c])
                widths[c] = w;
        }
    }
    print_row(out, t->header, t->n_columns, widths);
    for (size_t r = 0; r < t->n_rows; r++)
        print_row(out, (const char *const *)(t->cells + r * (size_t)t->n_columns), t->n_columns,
                  widths);
}

/* Fills row of the asset list for a; the DELETED column, the last, only
 * when the table has it. */
static int asset_row(table *t, size_t row, const Valv__V1__Asset *a)
{
    static const Valv__V1__Effective no_effective = VALV__V1__EFFECTIVE__INIT;
    const Valv__V1__Effective *e = a->effective != NULL ? a->effective : &no_effective;
    char revision[24];
    char updated[OUTPUT_TIME_MAX];
    char deleted[OUTPUT_TIME_MAX];

    snprintf(revision, sizeof revision, "%" PRId64, a->revision);
    output_time(a->update_time, false, updated);
    output_time(a->delete_time, false, deleted);
    const char *values[TABLE_COLUMNS_MAX] = {
        a->name,
        enum_name(&valv__v1__asset_kind__descriptor, a->kind),
        a->display_name,
        a->owner_unit,
        a->owner,
        level_text(e->confidentiality),
        level_text(e->integrity),
        level_text(e->availability),
        level_text(e->traceability),
        e->flagged ? "!" : "",
        review_text(a->review),
        revision,
        updated,
        deleted,
    };
    return table_set_row(t, row, values);
}

static int print_asset_table(FILE *out, Valv__V1__Asset *const *assets, size_t n_assets)
{
    /* K R T S are the effective levels: the protection the asset needs. */
    static const char *const header[] = {
        "NAME", "KIND", "DISPLAY_NAME", "OWNER_UNIT", "OWNER", "K", "R", "T", "S",
        "FLAG", "REVIEW", "REVISION", "UPDATED", "DELETED",
    };
    int n_columns = (int)(sizeof header / sizeof header[0]);
    bool with_deleted = false;
    for (size_t i = 0; i < n_assets; i++)
        with_deleted = with_deleted || assets[i]->delete_time != NULL;
    if (!with_deleted)
        n_columns--;

    table t;
    int rc = table_init(&t, header, n_columns, n_assets);
    for (size_t i = 0; i < n_assets && rc == 0; i++)
        rc = asset_row(&t, i, assets[i]);
    if (rc == 0)
        table_print(out, OUTPUT_TABLE, &t);
    table_free(&t);
    return rc;
}

/* ---- CSV ------------------------------------------------------------------ */

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

static const char *bool_text(protobuf_c_boolean value)
{
    return value ? "true" : "false";
}

static int print_asset_csv(FILE *out, Valv__V1__Asset *const *assets, size_t n_assets)
{
    /* Levels are the CLI's level numbers, as the table shows them. */
    static const char *const header[] = {
        "name", "kind", "display_name", "description", "owner_unit", "owner", "source",
        "external_id", "labels",
        "classification.confidentiality", "classification.integrity",
        "classification.availability", "classification.traceability",
        "classification.rationale",
        "security.security_class", "security.security_sensitive", "security.protected_object",
        "security.decision_ref",
        "effective.confidentiality", "effective.integrity", "effective.availability",
        "effective.traceability", "effective.security_class", "effective.security_sensitive",
        "effective.flagged",
        "review.state", "review.overdue", "review.reviewer", "review.review_time",
        "review.comment", "review.due_time",
        "revision", "etag", "create_time", "update_time", "delete_time",
    };
    static const Valv__V1__Classification no_classification = VALV__V1__CLASSIFICATION__INIT;
    static const Valv__V1__SecurityProtection no_security = VALV__V1__SECURITY_PROTECTION__INIT;
    static const Valv__V1__Effective no_effective = VALV__V1__EFFECTIVE__INIT;
    static const Valv__V1__ReviewStatus no_review = VALV__V1__REVIEW_STATUS__INIT;
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
        const Valv__V1__Classification *c = a->classification ? a->classification : &no_classification;
        const Valv__V1__SecurityProtection *sec = a->security ? a->security : &no_security;
        const Valv__V1__Effective *e = a->effective ? a->effective : &no_effective;
        const Valv__V1__ReviewStatus *r = a->review ? a->review : &no_review;
        char revision[24], created[OUTPUT_TIME_MAX], updated[OUTPUT_TIME_MAX], deleted[OUTPUT_TIME_MAX];
        char reviewed[OUTPUT_TIME_MAX], due[OUTPUT_TIME_MAX];
        char *labels = join_labels(a, ";");
        if (labels == NULL) {
            errno = ENOMEM;
            rc = -1;
            break;
        }
        snprintf(revision, sizeof revision, "%" PRId64, a->revision);
        output_time(a->create_time, true, created);
        output_time(a->update_time, true, updated);
        output_time(a->delete_time, true, deleted);
        output_time(r->review_time, true, reviewed);
        output_time(r->due_time, true, due);
        const char *row[] = {
            a->name, enum_name(&valv__v1__asset_kind__descriptor, a->kind), a->display_name,
            a->description, a->owner_unit, a->owner, a->source, a->external_id, labels,
            level_text(c->confidentiality), level_text(c->integrity),
            level_text(c->availability), level_text(c->traceability), c->rationale,
            enum_name(&valv__v1__security_class__descriptor, sec->security_class),
            bool_text(sec->security_sensitive), bool_text(sec->protected_object),
            sec->decision_ref,
            level_text(e->confidentiality), level_text(e->integrity),
            level_text(e->availability), level_text(e->traceability),
            enum_name(&valv__v1__security_class__descriptor, e->security_class),
            bool_text(e->security_sensitive), bool_text(e->flagged),
            enum_name(&valv__v1__review_state__descriptor, r->state), bool_text(r->overdue),
            r->reviewer, reviewed, r->comment, due,
            revision, a->etag, created, updated, deleted,
        };
        for (size_t col = 0; col < sizeof row / sizeof row[0]; col++)
            csv_field(out, col == 0, row[col]);
        for (size_t k = 0; k < n_keys; k++)
            csv_field(out, false, attribute_value(a, keys[k]));
        fputs("\r\n", out);
        free(labels);
    }
    free(keys);
    return rc;
}

/* ---- Links ------------------------------------------------------------------ */

static int print_link_rows(FILE *out, output_format format, Valv__V1__Link *const *links,
                           size_t n_links)
{
    static const char *const table_header[] = {"FROM", "TYPE", "TO", "CREATED"};
    static const char *const csv_header[] = {"from_asset", "type", "to_asset", "create_time",
                                             "create_by"};
    bool csv = format == OUTPUT_CSV;
    table t;
    int rc = table_init(&t, csv ? csv_header : table_header, csv ? 5 : 4, n_links);
    for (size_t i = 0; i < n_links && rc == 0; i++) {
        const Valv__V1__Link *l = links[i];
        char created[OUTPUT_TIME_MAX];
        output_time(l->create_time, csv, created);
        const char *values[] = {
            l->from_asset, enum_name(&valv__v1__link_type__descriptor, l->type), l->to_asset,
            created, l->create_by,
        };
        rc = table_set_row(&t, i, values);
    }
    if (rc == 0)
        table_print(out, format, &t);
    table_free(&t);
    return rc;
}

int output_link_list(FILE *out, output_format format, Valv__V1__Link *const *links,
                     size_t n_links)
{
    int rc = 0;
    if (format == OUTPUT_JSON) {
        for (size_t i = 0; i < n_links && rc == 0; i++)
            rc = output_message_json(out, &links[i]->base);
    } else {
        rc = print_link_rows(out, format, links, n_links);
    }
    if (rc == 0 && ferror(out))
        rc = -1;
    return rc;
}

/* ---- Explanation: where an asset's protection comes from -------------------- */

/* Where an effective value comes from: "own" for the asset itself, the
 * other asset's name, or "" when the value is not set. */
static const char *source_text(const Valv__V1__Asset *a, const char *dimension)
{
    const Valv__V1__Effective *e = a->effective;
    for (size_t i = 0; e != NULL && i < e->n_sources; i++) {
        if (strcmp(e->sources[i]->key, dimension) == 0)
            return strcmp(e->sources[i]->value, a->name) == 0 ? "own" : e->sources[i]->value;
    }
    return "";
}

static const char *yes_no(protobuf_c_boolean value)
{
    return value ? "yes" : "no";
}

static int print_explanation_rows(FILE *out, output_format format, const Valv__V1__Asset *a)
{
    static const char *const table_header[] = {"DIMENSION", "OWN", "EFFECTIVE", "FROM"};
    static const char *const csv_header[] = {"dimension", "own", "effective", "from"};
    static const Valv__V1__Classification no_classification = VALV__V1__CLASSIFICATION__INIT;
    static const Valv__V1__SecurityProtection no_security = VALV__V1__SECURITY_PROTECTION__INIT;
    static const Valv__V1__Effective no_effective = VALV__V1__EFFECTIVE__INIT;
    const Valv__V1__Classification *c = a->classification ? a->classification : &no_classification;
    const Valv__V1__SecurityProtection *sec = a->security ? a->security : &no_security;
    const Valv__V1__Effective *e = a->effective ? a->effective : &no_effective;
    const ProtobufCEnumDescriptor *classes = &valv__v1__security_class__descriptor;
    /* protected_object is the facility's own designation: never inherited. */
    const char *const rows[][4] = {
        {"K confidentiality", level_text(c->confidentiality), level_text(e->confidentiality),
         source_text(a, "confidentiality")},
        {"R integrity", level_text(c->integrity), level_text(e->integrity),
         source_text(a, "integrity")},
        {"T availability", level_text(c->availability), level_text(e->availability),
         source_text(a, "availability")},
        {"S traceability", level_text(c->traceability), level_text(e->traceability),
         source_text(a, "traceability")},
        {"security class", enum_name(classes, sec->security_class),
         enum_name(classes, e->security_class), source_text(a, "security_class")},
        {"security sensitive", yes_no(sec->security_sensitive), yes_no(e->security_sensitive),
         source_text(a, "security_sensitive")},
        {"protected object", yes_no(sec->protected_object), yes_no(sec->protected_object),
         sec->protected_object ? "own" : ""},
        {"flagged", "", yes_no(e->flagged), ""},
        {"review", "", review_text(a->review), ""},
    };
    size_t n_rows = sizeof rows / sizeof rows[0];
    table t;
    int rc = table_init(&t, format == OUTPUT_CSV ? csv_header : table_header, 4, n_rows);
    for (size_t i = 0; i < n_rows && rc == 0; i++)
        rc = table_set_row(&t, i, rows[i]);
    if (rc == 0)
        table_print(out, format, &t);
    table_free(&t);
    return rc;
}

int output_explanation(FILE *out, output_format format, const Valv__V1__Asset *asset)
{
    if (format == OUTPUT_JSON)
        return output_message_json(out, &asset->base);
    if (format == OUTPUT_TABLE)
        fprintf(out, "%s (%s)\n\n", asset->name, asset->display_name);
    int rc = print_explanation_rows(out, format, asset);
    if (rc == 0 && format == OUTPUT_TABLE && asset->review != NULL &&
        asset->review->state != VALV__V1__REVIEW_STATE__NOT_REQUIRED) {
        fputc('\n', out);
        print_review_detail(out, asset->review);
    }
    if (rc == 0 && ferror(out))
        rc = -1;
    return rc;
}

/* ---- Audit events ------------------------------------------------------------ */

/* The action without its enum prefix, as --action takes it: "UPDATE". */
static const char *action_text(Valv__V1__AuditAction action)
{
    const char *name = enum_name(&valv__v1__audit_action__descriptor, action);
    return strncmp(name, AUDIT_ACTION_PREFIX, strlen(AUDIT_ACTION_PREFIX)) == 0
               ? name + strlen(AUDIT_ACTION_PREFIX)
               : name;
}

/* The changes of an event on one line, malloc'd (NULL when out of memory):
 * "classification.confidentiality: SIGNIFICANT -> SERIOUS; owner: Anna",
 * a field that had no value before showing only its new one, and one left
 * without a value "BEFORE -> (none)". An inherited change starts with the
 * revision that caused it. */
static char *changes_text(const Valv__V1__AuditEvent *ev)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL)
        return NULL;
    if (ev->cause_revision != 0)
        fprintf(f, "caused by revision %" PRId64 ": ", ev->cause_revision);
    for (size_t i = 0; i < ev->n_changes; i++) {
        const Valv__V1__FieldChange *c = ev->changes[i];
        fprintf(f, "%s%s: ", i > 0 ? "; " : "", c->field);
        const char *after = is_empty(c->after) ? "(none)" : c->after;
        if (is_empty(c->before))
            fputs(after, f);
        else
            fprintf(f, "%s -> %s", c->before, after);
    }
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* Cuts text (in place) to at most max_width characters, ending it with
 * "..." when anything was cut. Whole UTF-8 characters only. */
static void cut_to_width(char *text, size_t max_width)
{
    if (display_width(text) <= max_width)
        return;
    size_t chars = 0;
    char *p = text;
    for (; *p != '\0'; p++) {
        if (((unsigned char)*p & 0xC0) != 0x80 && chars++ == max_width - 3)
            break;
    }
    /* At least three characters were cut, so "..." fits in their bytes. */
    strcpy(p, "...");
}

/* Fills row of an event list. The table shows what fits on a screen; CSV
 * and the one-line view (full_text) keep every change and the whole reason. */
static int audit_row(table *t, size_t row, const Valv__V1__AuditEvent *ev, bool csv,
                     bool full_text)
{
    char revision[24], cause[24], time[OUTPUT_TIME_MAX];
    char *changes = changes_text(ev);
    char *reason = strdup(ev->reason);
    char *asset = NULL;
    int rc = -1;
    /* A link event is about its from asset; the table shows both ends, in
     * the order of 'valv link FROM TYPE TO'. */
    if (is_empty(ev->related_asset))
        asset = strdup(ev->asset);
    else if (asprintf(&asset, "%s -> %s", ev->asset, ev->related_asset) < 0)
        asset = NULL;
    if (changes == NULL || reason == NULL || asset == NULL) {
        errno = ENOMEM;
        goto done;
    }
    if (!full_text) {
        cut_to_width(changes, AUDIT_CHANGES_WIDTH);
        cut_to_width(reason, AUDIT_REASON_WIDTH);
    }
    snprintf(revision, sizeof revision, "%" PRId64, ev->revision);
    snprintf(cause, sizeof cause, "%" PRId64, ev->cause_revision);
    output_time(ev->time, csv, time);
    if (csv) {
        const char *values[] = {
            revision, time, ev->actor, ev->request_id, action_text(ev->action), ev->asset,
            ev->related_asset, changes, reason, ev->cause_revision != 0 ? cause : "",
        };
        rc = table_set_row(t, row, values);
    } else {
        const char *values[] = {
            revision, time, ev->actor, action_text(ev->action), asset, changes, reason,
        };
        rc = table_set_row(t, row, values);
    }
done:
    free(changes);
    free(reason);
    free(asset);
    return rc;
}

static const char *const audit_table_header[] = {
    "REVISION", "TIME", "ACTOR", "ACTION", "ASSET", "CHANGES", "REASON",
};
static const char *const audit_csv_header[] = {
    "revision", "time", "actor", "request_id", "action", "asset", "related_asset", "changes",
    "reason", "cause_revision",
};
#define AUDIT_TABLE_COLUMNS ((int)(sizeof audit_table_header / sizeof audit_table_header[0]))
#define AUDIT_CSV_COLUMNS ((int)(sizeof audit_csv_header / sizeof audit_csv_header[0]))

/* A table of n events in format (table or CSV), ready to print. */
static int audit_table(table *t, output_format format, Valv__V1__AuditEvent *const *events,
                       size_t n, bool full_text)
{
    bool csv = format == OUTPUT_CSV;
    int rc = table_init(t, csv ? audit_csv_header : audit_table_header,
                        csv ? AUDIT_CSV_COLUMNS : AUDIT_TABLE_COLUMNS, n);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = audit_row(t, i, events[i], csv, full_text || csv);
    return rc;
}

int output_audit_list(FILE *out, output_format format, Valv__V1__AuditEvent *const *events,
                      size_t n_events)
{
    int rc = 0;
    if (format == OUTPUT_JSON) {
        for (size_t i = 0; i < n_events && rc == 0; i++)
            rc = output_message_json(out, &events[i]->base);
    } else {
        table t;
        rc = audit_table(&t, format, events, n_events, false);
        if (rc == 0)
            table_print(out, format, &t);
        table_free(&t);
    }
    if (rc == 0 && ferror(out))
        rc = -1;
    return rc;
}

int output_audit_stream_start(FILE *out, output_format format)
{
    if (format == OUTPUT_CSV) {
        for (int c = 0; c < AUDIT_CSV_COLUMNS; c++)
            csv_field(out, c == 0, audit_csv_header[c]);
        fputs("\r\n", out);
    }
    return ferror(out) ? -1 : 0;
}

int output_audit_event(FILE *out, output_format format, const Valv__V1__AuditEvent *event)
{
    if (format == OUTPUT_JSON)
        return output_message_json(out, &event->base);
    Valv__V1__AuditEvent *one[1] = {(Valv__V1__AuditEvent *)event};
    table t;
    int rc = audit_table(&t, format, one, 1, true);
    /* One row, printed as it comes: no columns to line up with. */
    for (int c = 0; c < t.n_columns && rc == 0; c++) {
        if (format == OUTPUT_CSV)
            csv_field(out, c == 0, t.cells[c]);
        else
            fprintf(out, "%s%s", c == 0 ? "" : "  ", shown(t.cells[c]));
    }
    if (rc == 0)
        fputs(format == OUTPUT_CSV ? "\r\n" : "\n", out);
    table_free(&t);
    if (rc == 0 && ferror(out))
        rc = -1;
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
