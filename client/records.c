/* records.c - import records from CSV or JSON Lines (see records.h).
 *
 * Both formats share the input buffer and one record builder: a CSV cell
 * and a JSON value are both "text for the field a column name names", so
 * record_set() fills a record from either. The CSV parser is libcsv's push
 * parser, fed one line at a time so that the line of every record is
 * known; JSON lines are parsed whole by jansson.
 */
#include "records.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <csv.h>
#include <jansson.h>

#include "limits.h"
#include "validate.h"

/* Bytes read from the input at a time. */
#define RECORDS_CHUNK_SIZE 65536
/* Longest field name a JSON member makes ("attributes." and a key). */
#define RECORDS_NAME_MAX 256
#define UTF8_BOM "\xEF\xBB\xBF"
#define ASSET_NAME_PREFIX "assets/"
#define ATTRIBUTES_PREFIX "attributes."
#define LINKS_PREFIX "links."
/* What separates the labels and link targets of one cell. */
#define ITEM_SEPARATOR ';'
#define FATAL_SUFFIX "; the rest of the input was not read"

#define N_ELEMENTS(array) (sizeof(array) / sizeof((array)[0]))

/* ---- Columns: what a CSV column name or a JSON key stands for ------------ */

typedef enum {
    COLUMN_IGNORED, /* output only: written by export, skipped on import */
    COLUMN_EXTERNAL_ID,
    COLUMN_NAME,
    COLUMN_KIND,
    COLUMN_DISPLAY_NAME,
    COLUMN_DESCRIPTION,
    COLUMN_OWNER_UNIT,
    COLUMN_OWNER,
    COLUMN_LABELS,
    COLUMN_ATTRIBUTE,
    COLUMN_LINKS,
    COLUMN_CONFIDENTIALITY,
    COLUMN_INTEGRITY,
    COLUMN_AVAILABILITY,
    COLUMN_TRACEABILITY,
    COLUMN_RATIONALE,
    COLUMN_SECURITY_CLASS,
    COLUMN_SECURITY_SENSITIVE,
    COLUMN_PROTECTED_OBJECT,
    COLUMN_DECISION_REF
} column_kind;

typedef struct {
    column_kind kind;
    const char *attribute_key;    /* COLUMN_ATTRIBUTE: borrowed from the name */
    Valv__V1__LinkType link_type; /* COLUMN_LINKS */
} column;

static const struct {
    const char *name;
    column_kind kind;
} named_columns[] = {
    {"external_id", COLUMN_EXTERNAL_ID},
    {"name", COLUMN_NAME},
    {"kind", COLUMN_KIND},
    {"display_name", COLUMN_DISPLAY_NAME},
    {"description", COLUMN_DESCRIPTION},
    {"owner_unit", COLUMN_OWNER_UNIT},
    {"owner", COLUMN_OWNER},
    {"labels", COLUMN_LABELS},
    {"classification.confidentiality", COLUMN_CONFIDENTIALITY},
    {"classification.integrity", COLUMN_INTEGRITY},
    {"classification.availability", COLUMN_AVAILABILITY},
    {"classification.traceability", COLUMN_TRACEABILITY},
    {"classification.rationale", COLUMN_RATIONALE},
    {"security.security_class", COLUMN_SECURITY_CLASS},
    {"security.security_sensitive", COLUMN_SECURITY_SENSITIVE},
    {"security.protected_object", COLUMN_PROTECTED_OBJECT},
    {"security.decision_ref", COLUMN_DECISION_REF},
    /* Written by `valv asset list`; the import header names the source. */
    {"source", COLUMN_IGNORED},
    {"revision", COLUMN_IGNORED},
    {"etag", COLUMN_IGNORED},
    {"create_time", COLUMN_IGNORED},
    {"update_time", COLUMN_IGNORED},
    {"delete_time", COLUMN_IGNORED},
    {"create_by", COLUMN_IGNORED},
    {"update_by", COLUMN_IGNORED},
    {"delete_by", COLUMN_IGNORED},
    {"effective", COLUMN_IGNORED},
    {"review", COLUMN_IGNORED},
};

/* The other output-only fields: every column that starts with one. */
static const char *const ignored_prefixes[] = {"effective.", "review."};

/* The JSON members that hold objects of fields: "attributes": {"KEY": ...}
 * is read as "attributes.KEY". */
static const char *const json_groups[] = {"attributes", "classification", "security"};

#define KNOWN_FIELDS                                                                       \
    "external_id, name, kind, display_name, description, owner_unit, owner, labels, "     \
    "attributes.KEY, links.TYPE, classification.* and security.* (refused by the "        \
    "server), and the output-only fields valv asset list writes (skipped)"
#define LINK_TYPES "processed_by, stored_in, hosted_in, depends_on or part_of"

static int out_of_memory(valv_error *err)
{
    return valv_error_set(err, VALV_EINTERNAL, "out of memory");
}

/* True when a and b are the same word in any case, '-' and '_' alike. */
static bool same_word(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++) {
        int ca = *a == '-' ? '_' : tolower((unsigned char)*a);
        int cb = *b == '-' ? '_' : tolower((unsigned char)*b);
        if (ca != cb)
            return false;
    }
    return *a == *b;
}

/* Looks text up among the value names of desc, but the zero value, which
 * means "not set" in every enum of the API. Returns 0, or -1 when unknown. */
static int parse_enum(const ProtobufCEnumDescriptor *desc, const char *text, int *out)
{
    for (unsigned i = 0; i < desc->n_values; i++) {
        if (desc->values[i].value != 0 && same_word(text, desc->values[i].name)) {
            *out = desc->values[i].value;
            return 0;
        }
    }
    return -1;
}

/* The level number 0-4, as export writes it, or the enum name. */
static int parse_level(const char *text, Valv__V1__Level *out)
{
    int value;
    if (text[0] >= '0' && text[0] <= '4' && text[1] == '\0')
        value = text[0] - '0' + VALV__V1__LEVEL__NEGLIGIBLE;
    else if (parse_enum(&valv__v1__level__descriptor, text, &value) != 0)
        return -1;
    *out = (Valv__V1__Level)value;
    return 0;
}

static int parse_flag(const char *text, bool *out)
{
    static const struct {
        const char *word;
        bool value;
    } words[] = {{"true", true}, {"yes", true}, {"false", false}, {"no", false}};

    for (size_t i = 0; i < N_ELEMENTS(words); i++) {
        if (strcasecmp(text, words[i].word) == 0) {
            *out = words[i].value;
            return 0;
        }
    }
    return -1;
}

/* The rest of name after prefix (any case), or NULL when it does not start
 * with it. */
static const char *after_prefix(const char *name, const char *prefix)
{
    size_t len = strlen(prefix);
    return strncasecmp(name, prefix, len) == 0 ? name + len : NULL;
}

/* Finds what name (a CSV column or a JSON key) stands for. *out borrows
 * from name. */
static int resolve_column(const char *name, column *out, valv_error *err)
{
    char excerpt[VALIDATE_EXCERPT_SIZE];
    *out = (column){.kind = COLUMN_IGNORED};
    for (size_t i = 0; i < N_ELEMENTS(named_columns); i++) {
        if (strcasecmp(name, named_columns[i].name) == 0) {
            out->kind = named_columns[i].kind;
            return 0;
        }
    }
    for (size_t i = 0; i < N_ELEMENTS(ignored_prefixes); i++) {
        if (after_prefix(name, ignored_prefixes[i]) != NULL)
            return 0;
    }
    const char *key = after_prefix(name, ATTRIBUTES_PREFIX);
    if (key != NULL && key[0] != '\0') {
        out->kind = COLUMN_ATTRIBUTE;
        out->attribute_key = key;
        return 0;
    }
    const char *type = after_prefix(name, LINKS_PREFIX);
    if (type != NULL) {
        int value;
        if (parse_enum(&valv__v1__link_type__descriptor, type, &value) != 0)
            return valv_error_set(err, VALV_EINVAL,
                                  "%s: '%s' is not a link type; use links.TYPE with TYPE "
                                  LINK_TYPES,
                                  validate_excerpt(name, excerpt), type);
        out->kind = COLUMN_LINKS;
        out->link_type = (Valv__V1__LinkType)value;
        return 0;
    }
    return valv_error_set(err, VALV_EINVAL, "unknown field '%s'; the fields are " KNOWN_FIELDS,
                          validate_excerpt(name, excerpt));
}

/* Two columns that would set the same field. */
static bool same_column(const column *a, const column *b)
{
    if (a->kind != b->kind || a->kind == COLUMN_IGNORED)
        return false;
    if (a->kind == COLUMN_ATTRIBUTE)
        return strcmp(a->attribute_key, b->attribute_key) == 0;
    if (a->kind == COLUMN_LINKS)
        return a->link_type == b->link_type;
    return true;
}

/* ---- Building a record ----------------------------------------------------- */

static Valv__V1__ImportRecord *new_record(void)
{
    Valv__V1__ImportRecord *record = malloc(sizeof *record);
    if (record != NULL)
        valv__v1__import_record__init(record);
    return record;
}

static void free_record(Valv__V1__ImportRecord *record)
{
    if (record != NULL)
        valv__v1__import_record__free_unpacked(record, NULL);
}

/* Replaces a string field with a copy of text; "" leaves it unset. */
static int set_string(char **field, const char *text, valv_error *err)
{
    if (text[0] == '\0')
        return 0;
    char *copy = strdup(text);
    if (copy == NULL)
        return out_of_memory(err);
    if (*field != protobuf_c_empty_string)
        free(*field);
    *field = copy;
    return 0;
}

/* A repeated field's array with room for one more element; NULL when out
 * of memory (the array is then untouched). */
static void *grow(void *array, size_t n, size_t element_size)
{
    return realloc(array, (n + 1) * element_size);
}

static int add_label(Valv__V1__ImportRecord *record, const char *text, valv_error *err)
{
    if (text[0] == '\0')
        return 0;
    char **labels = grow(record->labels, record->n_labels, sizeof *labels);
    if (labels == NULL)
        return out_of_memory(err);
    record->labels = labels;
    labels[record->n_labels] = strdup(text);
    if (labels[record->n_labels] == NULL)
        return out_of_memory(err);
    record->n_labels++;
    return 0;
}

static int add_attribute(Valv__V1__ImportRecord *record, const char *key, const char *value,
                         valv_error *err)
{
    char excerpt[VALIDATE_EXCERPT_SIZE];
    for (size_t i = 0; i < record->n_attributes; i++) {
        if (strcmp(record->attributes[i]->key, key) == 0)
            return valv_error_set(err, VALV_EINVAL, ATTRIBUTES_PREFIX "%s is given twice",
                                  validate_excerpt(key, excerpt));
    }
    Valv__V1__ImportRecord__AttributesEntry **entries =
        grow(record->attributes, record->n_attributes, sizeof *entries);
    if (entries == NULL)
        return out_of_memory(err);
    record->attributes = entries;
    Valv__V1__ImportRecord__AttributesEntry *entry = malloc(sizeof *entry);
    if (entry == NULL)
        return out_of_memory(err);
    valv__v1__import_record__attributes_entry__init(entry);
    entries[record->n_attributes++] = entry;
    int rc = set_string(&entry->key, key, err);
    if (rc == 0)
        rc = set_string(&entry->value, value, err);
    return rc;
}

static int add_link(Valv__V1__ImportRecord *record, Valv__V1__LinkType type,
                    const char *to_external_id, const char *to_asset, valv_error *err)
{
    Valv__V1__ImportLink **links = grow(record->links, record->n_links, sizeof *links);
    if (links == NULL)
        return out_of_memory(err);
    record->links = links;
    Valv__V1__ImportLink *link = malloc(sizeof *link);
    if (link == NULL)
        return out_of_memory(err);
    valv__v1__import_link__init(link);
    link->type = type;
    links[record->n_links++] = link;
    int rc = set_string(&link->to_external_id, to_external_id, err);
    if (rc == 0)
        rc = set_string(&link->to_asset, to_asset, err);
    return rc;
}

static char *trim(char *text)
{
    while (*text == ' ' || *text == '\t')
        text++;
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t'))
        text[--len] = '\0';
    return text;
}

/* The next item of a ';'-separated list, trimmed, or NULL after the last;
 * empty items are skipped. Cuts the list in place and moves *cursor on. */
static char *next_item(char **cursor)
{
    while (*cursor != NULL) {
        char *item = *cursor;
        char *separator = strchr(item, ITEM_SEPARATOR);
        if (separator != NULL) {
            *separator = '\0';
            *cursor = separator + 1;
        } else {
            *cursor = NULL;
        }
        item = trim(item);
        if (item[0] != '\0')
            return item;
    }
    return NULL;
}

/* A labels cell or a links.TYPE cell: its items, separated by ';'. A link
 * target "assets/ID" names an asset; any other is an external id. */
static int add_items(Valv__V1__ImportRecord *record, const column *col, const char *text,
                     valv_error *err)
{
    char *list = strdup(text);
    if (list == NULL)
        return out_of_memory(err);
    int rc = 0;
    char *cursor = list;
    for (char *item; rc == 0 && (item = next_item(&cursor)) != NULL;) {
        if (col->kind == COLUMN_LABELS)
            rc = add_label(record, item, err);
        else if (after_prefix(item, ASSET_NAME_PREFIX) != NULL)
            rc = add_link(record, col->link_type, "", item, err);
        else
            rc = add_link(record, col->link_type, item, "", err);
    }
    free(list);
    return rc;
}

static int set_kind(Valv__V1__ImportRecord *record, const char *name, const char *text,
                    valv_error *err)
{
    char excerpt[VALIDATE_EXCERPT_SIZE];
    int value;
    if (parse_enum(&valv__v1__asset_kind__descriptor, text, &value) != 0)
        return valv_error_set(err, VALV_EINVAL,
                              "%s: '%s' is not an asset kind; use information, it-system or "
                              "facility",
                              name, validate_excerpt(text, excerpt));
    record->kind = (Valv__V1__AssetKind)value;
    return 0;
}

/* Classification is carried, not dropped, so that the server can refuse
 * it by name. */
static int set_classification(Valv__V1__ImportRecord *record, const char *name,
                              column_kind kind, const char *text, valv_error *err)
{
    char excerpt[VALIDATE_EXCERPT_SIZE];
    Valv__V1__Level level = VALV__V1__LEVEL__LEVEL_UNSPECIFIED;
    if (kind != COLUMN_RATIONALE && parse_level(text, &level) != 0)
        return valv_error_set(err, VALV_EINVAL,
                              "%s: '%s' is not a level; use 0-4 or negligible, moderate, "
                              "significant, serious, very_serious",
                              name, validate_excerpt(text, excerpt));
    if (record->classification == NULL) {
        record->classification = malloc(sizeof *record->classification);
        if (record->classification == NULL)
            return out_of_memory(err);
        valv__v1__classification__init(record->classification);
    }
    Valv__V1__Classification *c = record->classification;
    switch (kind) {
    case COLUMN_CONFIDENTIALITY:
        c->confidentiality = level;
        return 0;
    case COLUMN_INTEGRITY:
        c->integrity = level;
        return 0;
    case COLUMN_AVAILABILITY:
        c->availability = level;
        return 0;
    case COLUMN_TRACEABILITY:
        c->traceability = level;
        return 0;
    default:
        return set_string(&c->rationale, text, err);
    }
}

/* Security protection is carried like classification. A flag that is
 * false is not given: export writes "false" for every asset. */
static int set_security(Valv__V1__ImportRecord *record, const char *name, column_kind kind,
                        const char *text, valv_error *err)
{
    char excerpt[VALIDATE_EXCERPT_SIZE];
    bool is_flag = kind == COLUMN_SECURITY_SENSITIVE || kind == COLUMN_PROTECTED_OBJECT;
    int security_class = 0;
    bool flag = false;
    if (kind == COLUMN_SECURITY_CLASS &&
        parse_enum(&valv__v1__security_class__descriptor, text, &security_class) != 0)
        return valv_error_set(err, VALV_EINVAL,
                              "%s: '%s' is not a security class; use not_classified, "
                              "restricted, confidential, secret or top_secret",
                              name, validate_excerpt(text, excerpt));
    if (is_flag && parse_flag(text, &flag) != 0)
        return valv_error_set(err, VALV_EINVAL, "%s: '%s' is not a flag; use true or false",
                              name, validate_excerpt(text, excerpt));
    if (is_flag && !flag)
        return 0;
    if (record->security == NULL) {
        record->security = malloc(sizeof *record->security);
        if (record->security == NULL)
            return out_of_memory(err);
        valv__v1__security_protection__init(record->security);
    }
    Valv__V1__SecurityProtection *s = record->security;
    switch (kind) {
    case COLUMN_SECURITY_CLASS:
        s->security_class = (Valv__V1__SecurityClass)security_class;
        return 0;
    case COLUMN_SECURITY_SENSITIVE:
        s->security_sensitive = true;
        return 0;
    case COLUMN_PROTECTED_OBJECT:
        s->protected_object = true;
        return 0;
    default:
        return set_string(&s->decision_ref, text, err);
    }
}

/* Sets the field that col (named name) stands for from text: a CSV cell or
 * a JSON string. Empty text is "not given". */
static int record_set(Valv__V1__ImportRecord *record, const char *name, const column *col,
                      const char *text, valv_error *err)
{
    if (text[0] == '\0')
        return 0;
    switch (col->kind) {
    case COLUMN_IGNORED:
        return 0;
    case COLUMN_EXTERNAL_ID:
        return set_string(&record->external_id, text, err);
    case COLUMN_NAME:
        return set_string(&record->name, text, err);
    case COLUMN_KIND:
        return set_kind(record, name, text, err);
    case COLUMN_DISPLAY_NAME:
        return set_string(&record->display_name, text, err);
    case COLUMN_DESCRIPTION:
        return set_string(&record->description, text, err);
    case COLUMN_OWNER_UNIT:
        return set_string(&record->owner_unit, text, err);
    case COLUMN_OWNER:
        return set_string(&record->owner, text, err);
    case COLUMN_LABELS:
    case COLUMN_LINKS:
        return add_items(record, col, text, err);
    case COLUMN_ATTRIBUTE:
        return add_attribute(record, col->attribute_key, text, err);
    case COLUMN_CONFIDENTIALITY:
    case COLUMN_INTEGRITY:
    case COLUMN_AVAILABILITY:
    case COLUMN_TRACEABILITY:
    case COLUMN_RATIONALE:
        return set_classification(record, name, col->kind, text, err);
    case COLUMN_SECURITY_CLASS:
    case COLUMN_SECURITY_SENSITIVE:
    case COLUMN_PROTECTED_OBJECT:
    case COLUMN_DECISION_REF:
        return set_security(record, name, col->kind, text, err);
    }
    return 0;
}

/* ---- JSON values ----------------------------------------------------------- */

static int apply_json(Valv__V1__ImportRecord *record, const char *name, json_t *value,
                      valv_error *err);

static bool is_json_group(const char *name)
{
    for (size_t i = 0; i < N_ELEMENTS(json_groups); i++) {
        if (strcasecmp(name, json_groups[i]) == 0)
            return true;
    }
    return false;
}

/* The members of "attributes", "classification" or "security", each read
 * as the flat field "GROUP.MEMBER". */
static int apply_json_group(Valv__V1__ImportRecord *record, const char *group, json_t *object,
                            valv_error *err)
{
    char excerpt[VALIDATE_EXCERPT_SIZE];
    const char *member;
    json_t *value;
    json_object_foreach(object, member, value) {
        char name[RECORDS_NAME_MAX];
        if (snprintf(name, sizeof name, "%s.%s", group, member) >= (int)sizeof name)
            return valv_error_set(err, VALV_EINVAL, "%s: key '%s' is too long", group,
                                  validate_excerpt(member, excerpt));
        int rc = apply_json(record, name, value, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int add_json_labels(Valv__V1__ImportRecord *record, json_t *array, valv_error *err)
{
    size_t i;
    json_t *label;
    json_array_foreach(array, i, label) {
        if (!json_is_string(label))
            return valv_error_set(err, VALV_EINVAL, "labels: expected an array of strings");
        int rc = add_label(record, json_string_value(label), err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* jansson's message quotes the input near the error and may cut a
 * character in two: it ends before the first byte that is not UTF-8, so
 * that the message can travel as text. */
static const char *json_error_text(json_error_t *e)
{
    size_t len = strlen(e->text);
    while (len > 0 && !validate_utf8(e->text, len))
        len--;
    e->text[len] = '\0';
    return e->text;
}

static int add_json_links(Valv__V1__ImportRecord *record, json_t *array, valv_error *err)
{
    char excerpt[VALIDATE_EXCERPT_SIZE];
    size_t i;
    json_t *link;
    json_array_foreach(array, i, link) {
        const char *type_text = NULL;
        const char *to_external_id = "";
        const char *to_asset = "";
        json_error_t json_err;
        int type;
        if (json_unpack_ex(link, &json_err, JSON_STRICT, "{s:s, s?s, s?s}", "type", &type_text,
                           "to_external_id", &to_external_id, "to_asset", &to_asset) != 0)
            return valv_error_set(err, VALV_EINVAL,
                                  "links[%zu]: %s; a link is {\"type\", \"to_external_id\" or "
                                  "\"to_asset\"}",
                                  i, json_error_text(&json_err));
        if (parse_enum(&valv__v1__link_type__descriptor, type_text, &type) != 0)
            return valv_error_set(err, VALV_EINVAL,
                                  "links[%zu].type: '%s' is not a link type; use " LINK_TYPES, i,
                                  validate_excerpt(type_text, excerpt));
        int rc = add_link(record, (Valv__V1__LinkType)type, to_external_id, to_asset, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Reads one member of a JSON record: name is its key, or "GROUP.MEMBER"
 * inside attributes, classification and security. */
static int apply_json(Valv__V1__ImportRecord *record, const char *name, json_t *value,
                      valv_error *err)
{
    if (json_is_null(value))
        return 0;
    if (json_is_object(value) && is_json_group(name))
        return apply_json_group(record, name, value, err);
    if (strcasecmp(name, "links") == 0 && !json_is_array(value))
        return valv_error_set(err, VALV_EINVAL,
                              "links: expected an array of {\"type\", \"to_external_id\" or "
                              "\"to_asset\"}");
    if (strcasecmp(name, "links") == 0)
        return add_json_links(record, value, err);
    column col;
    int rc = resolve_column(name, &col, err);
    if (rc != 0 || col.kind == COLUMN_IGNORED)
        return rc;
    bool is_flag = col.kind == COLUMN_SECURITY_SENSITIVE || col.kind == COLUMN_PROTECTED_OBJECT;
    if (json_is_array(value) && col.kind == COLUMN_LABELS)
        return add_json_labels(record, value, err);
    if (json_is_boolean(value) && is_flag)
        return record_set(record, name, &col, json_is_true(value) ? "true" : "false", err);
    if (json_is_string(value))
        return record_set(record, name, &col, json_string_value(value), err);
    return valv_error_set(err, VALV_EINVAL, "%s: expected a %s", name,
                          col.kind == COLUMN_LABELS ? "string or an array of strings"
                          : is_flag                 ? "boolean"
                                                    : "string");
}

static int record_from_json(const char *text, size_t len, Valv__V1__ImportRecord *record,
                            valv_error *err)
{
    json_error_t json_err;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &json_err);
    if (root == NULL && json_err.column > 0)
        return valv_error_set(err, VALV_EINVAL, "not valid JSON: %s (column %d)",
                              json_error_text(&json_err), json_err.column);
    if (root == NULL)
        return valv_error_set(err, VALV_EINVAL, "not valid JSON: %s", json_error_text(&json_err));
    int rc = 0;
    if (!json_is_object(root)) {
        rc = valv_error_set(err, VALV_EINVAL, "expected a JSON object {...} on every line");
        goto done;
    }
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value) {
        rc = apply_json(record, key, value, err);
        if (rc != 0)
            goto done;
    }
done:
    json_decref(root);
    return rc;
}

/* ---- The reader ------------------------------------------------------------ */

struct records_reader {
    FILE *in; /* borrowed */
    char *origin_name;
    records_format format; /* RECORDS_CSV or RECORDS_JSONL */
    bool opened;           /* records_open is done: records are being read */
    bool stopped;          /* after a fatal error */

    /* Input read but not yet handed out: buffer[start..end). */
    char buffer[RECORDS_CHUNK_SIZE];
    size_t start, end;
    long line; /* the line of buffer[start], from 1 */

    /* CSV */
    struct csv_parser csv;
    bool csv_started; /* csv_init succeeded: csv_free is due */
    bool csv_finished; /* csv_fini has run: the input has ended */
    bool header_done;
    size_t n_columns;
    char **column_names; /* n_columns malloc'd names, as the header has them */
    column *columns;     /* what each stands for; borrows from column_names */

    /* The CSV row being parsed. */
    Valv__V1__ImportRecord *record; /* filled as its cells come */
    long row_line;                  /* where the row starts; 0 before it does */
    size_t row_bytes;
    size_t n_cells;
    bool row_blank; /* every cell so far is empty or spaces */
    bool row_done;
    bool row_failed; /* row_error holds the first bad cell */
    valv_error row_error;

    /* JSON Lines: the line being read. */
    char *text;
    size_t text_len, text_cap;
};

/* Puts "NAME:LINE: " ("NAME: " for line 0) before err's message. A fatal
 * error, and any that is not about the input (out of memory, a read
 * failure), also stops the reader and, once records are being read, says
 * so. Returns err->code. */
static int locate_error(records_reader *r, valv_error *err, long line, bool fatal)
{
    char message[VALV_ERROR_MESSAGE_MAX];
    char where[32] = "";
    fatal = fatal || err->code != VALV_EINVAL;
    memcpy(message, err->message, sizeof message);
    if (line > 0)
        snprintf(where, sizeof where, ":%ld", line);
    valv_error_set(err, err->code, "%s%s: %s%s", r->origin_name, where, message,
                   fatal && r->opened ? FATAL_SUFFIX : "");
    if (fatal)
        r->stopped = true;
    return err->code;
}

static bool is_blank_char(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_blank(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!is_blank_char(text[i]))
            return false;
    }
    return true;
}

/* Reads the next chunk of input into the empty buffer. */
static int fill(records_reader *r, valv_error *err)
{
    r->start = 0;
    r->end = fread(r->buffer, 1, sizeof r->buffer, r->in);
    if (r->end == 0 && ferror(r->in)) {
        valv_error_set(err, VALV_EUNAVAILABLE, "cannot read: %s", strerror(errno));
        return locate_error(r, err, r->line, true);
    }
    return 0;
}

/* Hands out the input up to and including the next line break ('\n' or
 * '\r') or the end of the buffer, so that a CSV row can only end at the end
 * of a segment, and *line is the segment's line. Lines are counted by '\n'
 * (LF and CRLF files). *len is 0 at the end of the input. */
static int next_segment(records_reader *r, const char **segment, size_t *len, long *line,
                        valv_error *err)
{
    *len = 0;
    if (r->start == r->end) {
        int rc = fill(r, err);
        if (rc != 0 || r->start == r->end)
            return rc;
    }
    const char *begin = r->buffer + r->start;
    size_t available = r->end - r->start;
    size_t n = 0;
    while (n < available && begin[n] != '\n' && begin[n] != '\r')
        n++;
    if (n < available)
        n++; /* the line break itself */
    *segment = begin;
    *len = n;
    *line = r->line;
    r->start += n;
    if (begin[n - 1] == '\n')
        r->line++;
    return 0;
}

static int set_origin(records_reader *r, Valv__V1__ImportRecord *record, long line,
                      valv_error *err)
{
    char *origin;
    if (asprintf(&origin, "%s:%ld", r->origin_name, line) < 0)
        return out_of_memory(err);
    record->origin = origin;
    return 0;
}

/* ---- CSV ------------------------------------------------------------------- */

static int add_column_name(records_reader *r, const char *name, valv_error *err)
{
    char **names = grow(r->column_names, r->n_columns, sizeof *names);
    if (names == NULL)
        return out_of_memory(err);
    r->column_names = names;
    names[r->n_columns] = strdup(name);
    if (names[r->n_columns] == NULL)
        return out_of_memory(err);
    r->n_columns++;
    return 0;
}

/* Cells are taken exactly as written, spaces and all. */
static int never_space(unsigned char c)
{
    (void)c;
    return 0;
}

/* libcsv's cell callback: a header cell names a column; a record's cell
 * goes straight into the record, so that no row is ever held whole. */
static void on_cell(void *data, size_t len, void *user)
{
    records_reader *r = user;
    const char *text = data != NULL ? data : "";
    size_t index = r->n_cells++;
    if (!is_blank(text, len))
        r->row_blank = false;
    if (r->row_failed || (r->header_done && index >= r->n_columns))
        return;
    const char *name = r->header_done ? r->column_names[index] : "header";
    int rc = 0;
    if (!validate_utf8(text, len) || memchr(text, '\0', len) != NULL)
        rc = valv_error_set(&r->row_error, VALV_EINVAL,
                            "%s: not UTF-8 text; save the file as UTF-8", name);
    else if (r->header_done)
        rc = record_set(r->record, name, &r->columns[index], text, &r->row_error);
    else
        rc = add_column_name(r, text, &r->row_error);
    if (rc != 0)
        r->row_failed = true;
}

static void on_row(int terminator, void *user)
{
    (void)terminator;
    records_reader *r = user;
    r->row_done = true;
}

static void start_row(records_reader *r)
{
    r->row_line = 0;
    r->row_bytes = 0;
    r->n_cells = 0;
    r->row_blank = true;
    r->row_done = false;
    r->row_failed = false;
    valv_error_clear(&r->row_error);
}

/* Feeds input to libcsv until a row is done (r->row_done) or the input
 * ends. Every error here is fatal: CSV that is not well formed cannot be
 * resynchronised. */
static int parse_row(records_reader *r, valv_error *err)
{
    while (!r->row_done && !r->csv_finished) {
        const char *segment;
        size_t len;
        long line;
        int rc = next_segment(r, &segment, &len, &line, err);
        if (rc != 0)
            return rc;
        if (len == 0) {
            r->csv_finished = true;
            if (csv_fini(&r->csv, on_cell, on_row, r) != 0) {
                valv_error_set(err, VALV_EINVAL,
                               "the quote that opens a cell in this row is never closed");
                return locate_error(r, err, r->row_line, true);
            }
            break;
        }
        if (r->row_line == 0 && !is_blank(segment, len))
            r->row_line = line;
        r->row_bytes += len;
        if (r->row_bytes > VALV_MESSAGE_MAX) {
            valv_error_set(err, VALV_EINVAL,
                           "row longer than %d bytes: is a quote never closed?",
                           VALV_MESSAGE_MAX);
            return locate_error(r, err, r->row_line, true);
        }
        if (csv_parse(&r->csv, segment, len, on_cell, on_row, r) != len) {
            if (csv_error(&r->csv) == CSV_EPARSE)
                valv_error_set(err, VALV_EINVAL,
                               "not valid CSV: a quote inside an unquoted cell, or text after "
                               "a closing quote (quote the cell and double its quotes: "
                               "\"a \"\"b\"\"\")");
            else
                out_of_memory(err);
            return locate_error(r, err, line, true);
        }
    }
    return 0;
}

/* Checks the header's columns once its row has been parsed. */
static int resolve_header(records_reader *r, valv_error *err)
{
    char excerpt[VALIDATE_EXCERPT_SIZE];
    if (r->row_failed) {
        *err = r->row_error;
        return err->code;
    }
    r->columns = calloc(r->n_columns, sizeof *r->columns);
    if (r->columns == NULL)
        return out_of_memory(err);
    for (size_t i = 0; i < r->n_columns; i++) {
        const char *name = r->column_names[i];
        if (name[0] == '\0')
            return valv_error_set(err, VALV_EINVAL,
                                  "column %zu has no name; the header row must name every "
                                  "column",
                                  i + 1);
        int rc = resolve_column(name, &r->columns[i], err);
        if (rc != 0)
            return rc;
        for (size_t j = 0; j < i; j++) {
            if (same_column(&r->columns[j], &r->columns[i]))
                return valv_error_set(err, VALV_EINVAL, "column %s is there twice",
                                      validate_excerpt(name, excerpt));
        }
    }
    return 0;
}

/* Reads the header: the first row that is not blank. */
static int read_header(records_reader *r, valv_error *err)
{
    for (;;) {
        int rc = parse_row(r, err);
        if (rc != 0)
            return rc;
        if (!r->row_done) {
            valv_error_set(err, VALV_EINVAL,
                           "no header row; the first line names the columns, such as "
                           "external_id,kind,display_name");
            return locate_error(r, err, 0, true);
        }
        if (!r->row_blank)
            break;
        for (size_t i = 0; i < r->n_columns; i++)
            free(r->column_names[i]);
        r->n_columns = 0;
        start_row(r);
    }
    long line = r->row_line;
    int rc = resolve_header(r, err);
    if (rc != 0)
        return locate_error(r, err, line, true);
    r->header_done = true;
    start_row(r);
    return 0;
}

static int next_csv(records_reader *r, Valv__V1__ImportRecord **out, valv_error *err)
{
    for (;;) {
        r->record = new_record();
        if (r->record == NULL) {
            out_of_memory(err);
            return locate_error(r, err, r->line, true);
        }
        int rc = parse_row(r, err);
        Valv__V1__ImportRecord *record = r->record;
        r->record = NULL;
        if (rc != 0 || !r->row_done) {
            free_record(record);
            return rc;
        }
        long line = r->row_line;
        if (r->row_blank) {
            rc = 0;
        } else if (r->n_cells != r->n_columns) {
            rc = valv_error_set(err, VALV_EINVAL,
                                "the row has %zu cells but the header has %zu columns; quote "
                                "a cell that holds a '%c'",
                                r->n_cells, r->n_columns, csv_get_delim(&r->csv));
        } else if (r->row_failed) {
            *err = r->row_error;
            rc = err->code;
        } else {
            rc = set_origin(r, record, line, err);
        }
        bool blank = r->row_blank;
        start_row(r);
        if (rc != 0) {
            free_record(record);
            return locate_error(r, err, line, false);
        }
        if (!blank) {
            *out = record;
            return 0;
        }
        free_record(record);
    }
}

/* The delimiter of the header: the first ',' or ';' outside quotes in the
 * first line that is not blank; ',' when there is none. */
static unsigned char detect_delimiter(const char *text, size_t len)
{
    bool quoted = false;
    bool seen_text = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == '"')
            quoted = !quoted;
        else if (!quoted && (c == ',' || c == ';'))
            return (unsigned char)c;
        else if (!quoted && c == '\n' && seen_text)
            break;
        if (!is_blank_char(c))
            seen_text = true;
    }
    return ',';
}

static int start_csv(records_reader *r, valv_error *err)
{
    if (csv_init(&r->csv, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
        return out_of_memory(err);
    r->csv_started = true;
    csv_set_delim(&r->csv, detect_delimiter(r->buffer + r->start, r->end - r->start));
    csv_set_space_func(&r->csv, never_space);
    return read_header(r, err);
}

/* ---- JSON Lines ------------------------------------------------------------ */

/* Reads the next line into r->text, without storing more than
 * VALV_MESSAGE_MAX bytes of it (*too_long then). *line is 0 at the end of
 * the input. */
static int read_line(records_reader *r, long *line, bool *too_long, valv_error *err)
{
    *line = 0;
    *too_long = false;
    r->text_len = 0;
    for (;;) {
        const char *segment;
        size_t len;
        long segment_line;
        int rc = next_segment(r, &segment, &len, &segment_line, err);
        if (rc != 0 || len == 0)
            return rc;
        if (*line == 0)
            *line = segment_line;
        if (r->text_len + len > VALV_MESSAGE_MAX) {
            *too_long = true;
        } else {
            if (r->text_len + len > r->text_cap) {
                size_t cap = r->text_cap > 0 ? r->text_cap : RECORDS_CHUNK_SIZE;
                while (cap < r->text_len + len)
                    cap *= 2;
                char *text = realloc(r->text, cap);
                if (text == NULL) {
                    out_of_memory(err);
                    return locate_error(r, err, *line, true);
                }
                r->text = text;
                r->text_cap = cap;
            }
            memcpy(r->text + r->text_len, segment, len);
            r->text_len += len;
        }
        if (segment[len - 1] == '\n')
            return 0;
    }
}

static int next_json(records_reader *r, Valv__V1__ImportRecord **out, valv_error *err)
{
    long line;
    bool too_long;
    int rc;
    do {
        rc = read_line(r, &line, &too_long, err);
        if (rc != 0 || line == 0)
            return rc;
    } while (!too_long && is_blank(r->text, r->text_len));

    Valv__V1__ImportRecord *record = NULL;
    if (too_long) {
        rc = valv_error_set(err, VALV_EINVAL, "line longer than %d bytes", VALV_MESSAGE_MAX);
    } else if (!validate_utf8(r->text, r->text_len)) {
        rc = valv_error_set(err, VALV_EINVAL, "not UTF-8 text; save the file as UTF-8");
    } else if ((record = new_record()) == NULL) {
        rc = out_of_memory(err);
    } else {
        rc = record_from_json(r->text, r->text_len, record, err);
        if (rc == 0)
            rc = set_origin(r, record, line, err);
    }
    if (rc != 0) {
        free_record(record);
        return locate_error(r, err, line, false);
    }
    *out = record;
    return 0;
}

/* ---- Public entry points ------------------------------------------------- */

/* JSON Lines when the first byte that is not blank is '{'. */
static records_format detect_format(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!is_blank_char(text[i]))
            return text[i] == '{' ? RECORDS_JSONL : RECORDS_CSV;
    }
    return RECORDS_CSV;
}

int records_open(FILE *in, records_format format, const char *origin_name,
                 records_reader **out, valv_error *err)
{
    valv_error scratch;
    if (err == NULL)
        err = &scratch;
    valv_error_clear(err);
    *out = NULL;
    records_reader *r = calloc(1, sizeof *r);
    int rc = 0;
    if (r == NULL)
        return out_of_memory(err);
    r->in = in;
    r->line = 1;
    start_row(r);
    r->origin_name = strdup(origin_name);
    if (r->origin_name == NULL) {
        rc = out_of_memory(err);
        goto done;
    }
    rc = fill(r, err);
    if (rc != 0)
        goto done;
    if (r->end >= strlen(UTF8_BOM) && memcmp(r->buffer, UTF8_BOM, strlen(UTF8_BOM)) == 0)
        r->start = strlen(UTF8_BOM);
    r->format = format;
    if (format == RECORDS_AUTO)
        r->format = detect_format(r->buffer + r->start, r->end - r->start);
    if (r->format == RECORDS_CSV)
        rc = start_csv(r, err);
done:
    if (rc != 0) {
        records_close(r);
        r = NULL;
    } else {
        r->opened = true;
    }
    *out = r;
    return rc;
}

int records_next(records_reader *reader, Valv__V1__ImportRecord **out, valv_error *err)
{
    valv_error scratch;
    if (err == NULL)
        err = &scratch;
    valv_error_clear(err);
    *out = NULL;
    if (reader->stopped)
        return 0;
    if (reader->format == RECORDS_CSV)
        return next_csv(reader, out, err);
    return next_json(reader, out, err);
}

records_format records_get_format(const records_reader *reader)
{
    return reader->format;
}

bool records_stopped(const records_reader *reader)
{
    return reader->stopped;
}

void records_close(records_reader *reader)
{
    if (reader == NULL)
        return;
    if (reader->csv_started)
        csv_free(&reader->csv);
    for (size_t i = 0; i < reader->n_columns; i++)
        free(reader->column_names[i]);
    free(reader->column_names);
    free(reader->columns);
    free_record(reader->record);
    free(reader->text);
    free(reader->origin_name);
    free(reader);
}
