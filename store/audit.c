/* audit.c - the audit log: one valv.v1.AuditEvent per revision, written in
 * the transaction of the change, hash-chained. See store.h "Audit".
 *
 * Two tables:
 *   audit           revision (8 bytes BE) -> hash (32 bytes) | canonical bytes
 *   audit_by_asset  asset id \0 revision  -> ""   (for asset and related_asset)
 * The canonical bytes are the packed event with prev_hash set and hash
 * empty; hash = SHA-256(prev_hash || canonical bytes). The last hash is kept
 * in the transaction and stored in meta with the revision counter, so an
 * append never reads the log.
 *
 * audit_by_asset is written in batches of AUDIT_INDEX_BATCH events: the
 * change that appends revision k * AUDIT_INDEX_BATCH also indexes the
 * batch's events, in key order. An entry goes to the page that holds its
 * asset's entries, so a commit of many writers' changes to many assets
 * touched a page for each of them (in bench_group, two of every three
 * pages a commit wrote, and a commit's fsync takes longer by the page);
 * a batch touches each asset's page once for all its events. Reading an
 * asset's events walks the index up to the last whole batch and the log's
 * tail after it (fewer than AUDIT_INDEX_BATCH events), where each event
 * says which assets it names. Stores written before batching hold entries
 * for the tail too; walks and verify take the index only up to the last
 * whole batch, and indexing a batch again writes the same entries.
 *
 * What changed is found by one walk over the protobuf-c descriptors of the
 * two versions of an asset, so a field added to asset.proto is audited with
 * no change here.
 */
#include "store.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "limits.h"
#include "message.h"
#include "store_internal.h"
#include "validate.h"
#include "wire.h"

#define FIELD_PATH_MAX 128        /* "effective.security_sensitive" and the like */
#define REVISION_KEY_LEN 8

/* Stops an event walk once a page is full; no valv_code has this value. */
#define WALK_STOP (-1)

/* Fields that change with every write, or that the event itself already
 * says (its time, actor and asset), so they would only be noise, by the
 * message they are in and their name. delete_time and delete_by stay: on an
 * undelete their before values say when, and by whom, it had been deleted. */
static const struct {
    const ProtobufCMessageDescriptor *message;
    const char *name;
} unaudited_fields[] = {
    {&valv__v1__asset__descriptor, "name"},
    {&valv__v1__asset__descriptor, "revision"},
    {&valv__v1__asset__descriptor, "etag"},
    {&valv__v1__asset__descriptor, "create_time"},
    {&valv__v1__asset__descriptor, "create_by"},
    {&valv__v1__asset__descriptor, "update_time"},
    {&valv__v1__asset__descriptor, "update_by"},
    {&valv__v1__review_status__descriptor, "state_time"}, /* review.state_time */
    {&valv__v1__review_status__descriptor, "overdue"},    /* review.overdue */
};
#define UNAUDITED_COUNT (sizeof unaudited_fields / sizeof unaudited_fields[0])

/* The descriptors of unaudited_fields, found once: a diff asks about every
 * field of every event, and comparing pointers is what that can afford. */
static const ProtobufCFieldDescriptor *unaudited_descriptors[UNAUDITED_COUNT];
static pthread_once_t unaudited_once = PTHREAD_ONCE_INIT;

static void unaudited_find(void)
{
    for (size_t i = 0; i < UNAUDITED_COUNT; i++)
        unaudited_descriptors[i] = protobuf_c_message_descriptor_get_field_by_name(
            unaudited_fields[i].message, unaudited_fields[i].name);
}

static bool unaudited(const ProtobufCFieldDescriptor *f)
{
    pthread_once(&unaudited_once, unaudited_find);
    for (size_t i = 0; i < UNAUDITED_COUNT; i++)
        if (unaudited_descriptors[i] == f)
            return true;
    return false;
}

/* --- The change being made ------------------------------------------------------ */

void audit_change_clear(audit_change *c)
{
    free(c->pending);
    memset(c, 0, sizeof *c);
}

void store_request_id_format(const unsigned char random[STORE_REQUEST_ID_RANDOM_BYTES],
                             char out[2 * STORE_REQUEST_ID_RANDOM_BYTES + 1])
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < STORE_REQUEST_ID_RANDOM_BYTES; i++) {
        out[2 * i] = hex[random[i] >> 4];
        out[2 * i + 1] = hex[random[i] & 0xf];
    }
    out[2 * STORE_REQUEST_ID_RANDOM_BYTES] = '\0';
}

static int request_id_generate(store_txn *t, char out[VALV_REQUEST_ID_MAX + 1], valv_error *err)
{
    unsigned char random[STORE_REQUEST_ID_RANDOM_BYTES] = {0};

    int rc = txn_random(t, random, sizeof random, err);
    if (rc == VALV_OK)
        store_request_id_format(random, out);
    return rc;
}

int audit_change_begin(store_txn *t, int action, const store_actor *who, const char *reason,
                       const struct timespec *now, valv_error *err)
{
    audit_change *c = &t->change;

    audit_change_clear(c);
    c->action = action;
    c->actor = actor_name(who);
    c->reason = reason != NULL ? reason : "";
    c->time = *now;
    if (who != NULL && who->request_id != NULL && who->request_id[0] != '\0') {
        text_copy(c->request_id, sizeof c->request_id, who->request_id);
        return VALV_OK;
    }
    return request_id_generate(t, c->request_id, err);
}

/* --- What changed: a walk over the descriptors --------------------------------------- */

/* The text of an absent side of a change: shared, never freed. A created
 * asset's event has one for every field it sets. */
static char no_text[] = "";

static void text_free(char *text)
{
    if (text != no_text)
        free(text);
}

/* One field change of an event, with room for its path. */
typedef struct {
    Valv__V1__FieldChange change; /* field points at path once the list is done */
    char path[FIELD_PATH_MAX];
} field_change;

/* The field changes of one event, in one array that grows: an event of a
 * created asset has a change per field it sets, and a malloc for each
 * change and path cost more than making their texts. The texts are
 * malloc'd (or no_text). change_list_done makes the pointers the event
 * holds, once nothing is added any more. */
typedef struct {
    field_change *items;
    Valv__V1__FieldChange **changes;
    size_t n, cap;
} change_list;

static void change_list_free(change_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        text_free(l->items[i].change.before);
        text_free(l->items[i].change.after);
    }
    free(l->items);
    free(l->changes);
}

/* Adds path: before -> after, taking both texts. */
static int change_list_add(change_list *l, const char *path, char *before, char *after,
                           valv_error *err)
{
    if (l->n == l->cap) {
        size_t cap = l->cap == 0 ? 16 : 2 * l->cap;
        field_change *grown = realloc(l->items, cap * sizeof *grown);
        if (grown == NULL) {
            text_free(before);
            text_free(after);
            return out_of_memory(err);
        }
        l->items = grown;
        l->cap = cap;
    }
    field_change *fc = &l->items[l->n++];
    valv__v1__field_change__init(&fc->change);
    fc->change.before = before;
    fc->change.after = after;
    text_copy(fc->path, sizeof fc->path, path);
    return VALV_OK;
}

/* Points l->changes at the changes, for the event. */
static int change_list_done(change_list *l, valv_error *err)
{
    l->changes = malloc((l->n > 0 ? l->n : 1) * sizeof *l->changes);
    if (l->changes == NULL)
        return out_of_memory(err);
    for (size_t i = 0; i < l->n; i++) {
        l->items[i].change.field = l->items[i].path;
        l->changes[i] = &l->items[i].change;
    }
    return VALV_OK;
}

/* A malloc'd printf; NULL when out of memory. */
static char *text_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *text_printf(const char *fmt, ...)
{
    char *text = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&text, fmt, ap) < 0)
        text = NULL;
    va_end(ap);
    return text;
}

static bool is_timestamp(const ProtobufCFieldDescriptor *f)
{
    return f->type == PROTOBUF_C_TYPE_MESSAGE &&
           f->descriptor == &google__protobuf__timestamp__descriptor;
}

/* protobuf-c keeps a map as a repeated message of key and value. */
static bool is_map(const ProtobufCFieldDescriptor *f)
{
    const ProtobufCMessageDescriptor *d = f->descriptor;
    return f->label == PROTOBUF_C_LABEL_REPEATED && f->type == PROTOBUF_C_TYPE_MESSAGE &&
           d->n_fields == 2 && strcmp(d->fields[0].name, "key") == 0 &&
           strcmp(d->fields[1].name, "value") == 0;
}

/* True when m has f set: present and not the proto3 default. */
static bool field_is_set(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    const void *v;

    if (m == NULL)
        return false;
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return message_count(m, f) > 0;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return *(const uint32_t *)((const char *)m + f->quantifier_offset) == f->id;
    v = message_field(m, f);
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
        return *(char *const *)v != NULL && (*(char *const *)v)[0] != '\0';
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)v)->len > 0;
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(ProtobufCMessage *const *)v != NULL;
    default:
        if (f->label == PROTOBUF_C_LABEL_OPTIONAL)
            return *(const protobuf_c_boolean *)((const char *)m + f->quantifier_offset);
        for (size_t i = 0; i < message_element_size(f->type); i++)
            if (((const unsigned char *)v)[i] != 0)
                return true;
        return false;
    }
}

/* RFC 3339 in UTC, with as many fraction digits as the nanoseconds need. */
static char *timestamp_text(const Google__Protobuf__Timestamp *ts)
{
    char date[32], fraction[16];
    time_t seconds = (time_t)ts->seconds;
    struct tm tm;

    if (gmtime_r(&seconds, &tm) == NULL)
        return text_printf("%" PRId64 "s", ts->seconds);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    if (ts->nanos == 0)
        return text_printf("%sZ", date);
    snprintf(fraction, sizeof fraction, "%09d", (int)ts->nanos);
    for (size_t len = strlen(fraction); len > 0 && fraction[len - 1] == '0'; len--)
        fraction[len - 1] = '\0';
    return text_printf("%s.%sZ", date, fraction);
}

static int value_text(const ProtobufCFieldDescriptor *f, const void *v, char **out,
                      valv_error *err);
static int message_json_text(const ProtobufCMessage *m, char **out, valv_error *err);

/* The text of one value of field f at v: numbers in decimal, enums by
 * name, timestamps in RFC 3339, bytes in hex, other messages as JSON. */
static int value_text(const ProtobufCFieldDescriptor *f, const void *v, char **out,
                      valv_error *err)
{
    char *text = NULL;

    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        text = text_printf("%" PRId32, *(const int32_t *)v);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        text = text_printf("%" PRIu32, *(const uint32_t *)v);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        text = text_printf("%" PRId64, *(const int64_t *)v);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        text = text_printf("%" PRIu64, *(const uint64_t *)v);
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        text = text_printf("%g", (double)*(const float *)v);
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        text = text_printf("%g", *(const double *)v);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        text = strdup(*(const protobuf_c_boolean *)v ? "true" : "false");
        break;
    case PROTOBUF_C_TYPE_ENUM: {
        int number = *(const int *)v;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, number);
        text = ev != NULL ? strdup(ev->name) : text_printf("%d", number);
        break;
    }
    case PROTOBUF_C_TYPE_STRING:
        text = strdup(*(char *const *)v != NULL ? *(char *const *)v : "");
        break;
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = v;
        text = malloc(2 * b->len + 1);
        for (size_t i = 0; text != NULL && i < b->len; i++)
            snprintf(text + 2 * i, 3, "%02x", b->data[i]);
        if (text != NULL)
            text[2 * b->len] = '\0';
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *m = *(ProtobufCMessage *const *)v;
        if (m == NULL)
            text = strdup("");
        else if (is_timestamp(f))
            text = timestamp_text((const Google__Protobuf__Timestamp *)m);
        else
            return message_json_text(m, out, err);
        break;
    }
    }
    if (text == NULL)
        return out_of_memory(err);
    *out = text;
    return VALV_OK;
}

/* --- Lists, maps and messages in lists, as JSON ---------------------------------
 *
 * A list is a JSON array of the texts of its values; a map, or a message
 * inside a list, a JSON object of texts. Keys are sorted, so two equal
 * maps give the same text whatever their order (they are unique: checks
 * refuse a map with a key twice, and the maps the store makes have none).
 * The text is compact, and escaped as jansson would: ", \ and control
 * characters, UTF-8 kept as is. */

typedef struct {
    char *key; /* NULL in an array */
    char *text;
} json_member;

typedef struct {
    json_member *members;
    size_t n, cap;
} json_members;

static void members_free(json_members *ms)
{
    for (size_t i = 0; i < ms->n; i++) {
        free(ms->members[i].key);
        text_free(ms->members[i].text);
    }
    free(ms->members);
}

/* Adds key (NULL in an array) and text, taking both. */
static int members_add(json_members *ms, char *key, char *text, valv_error *err)
{
    if ((key != NULL && !validate_utf8(key, strlen(key))) || !validate_utf8(text, strlen(text))) {
        free(key);
        text_free(text);
        return valv_error_set(err, VALV_EINTERNAL,
                              "a stored value is not UTF-8 text and cannot be audited");
    }
    if (ms->n == ms->cap) {
        size_t cap = ms->cap > 0 ? 2 * ms->cap : 8;
        json_member *grown = realloc(ms->members, cap * sizeof *grown);
        if (grown == NULL) {
            free(key);
            text_free(text);
            return out_of_memory(err);
        }
        ms->members = grown;
        ms->cap = cap;
    }
    ms->members[ms->n] = (json_member){key, text};
    ms->n++;
    return VALV_OK;
}

static int member_compare(const void *a, const void *b)
{
    const json_member *ma = a, *mb = b;
    return strcmp(ma->key, mb->key);
}

/* Where JSON text goes: counted only (text NULL), to learn its length, or
 * counted and written into text. */
typedef struct {
    char *text;
    size_t len;
} json_sink;

static void sink_put(json_sink *s, char c)
{
    if (s->text != NULL)
        s->text[s->len] = c;
    s->len++;
}

/* Puts s as a JSON string, quotes included. */
static void sink_string(json_sink *sink, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    sink_put(sink, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        char escape = 0;
        switch (*p) {
        case '"': escape = '"'; break;
        case '\\': escape = '\\'; break;
        case '\b': escape = 'b'; break;
        case '\f': escape = 'f'; break;
        case '\n': escape = 'n'; break;
        case '\r': escape = 'r'; break;
        case '\t': escape = 't'; break;
        default: break;
        }
        if (escape != 0) {
            sink_put(sink, '\\');
            sink_put(sink, escape);
        } else if (*p < 0x20) {
            const char *u = "\\u00";
            while (*u != '\0')
                sink_put(sink, *u++);
            sink_put(sink, hex[*p >> 4]);
            sink_put(sink, hex[*p & 0xf]);
        } else {
            sink_put(sink, (char)*p);
        }
    }
    sink_put(sink, '"');
}

/* Puts ms as a JSON object (keys sorted before) or array. */
static void sink_members(json_sink *sink, const json_members *ms, bool object)
{
    sink_put(sink, object ? '{' : '[');
    for (size_t i = 0; i < ms->n; i++) {
        const json_member *m = &ms->members[i];
        if (i > 0)
            sink_put(sink, ',');
        if (object) {
            sink_string(sink, m->key);
            sink_put(sink, ':');
        }
        sink_string(sink, m->text);
    }
    sink_put(sink, object ? '}' : ']');
}

/* Writes ms as a JSON object (keys sorted) or array into *out (malloc'd). */
static int members_text(json_members *ms, bool object, char **out, valv_error *err)
{
    if (object && ms->n > 1)
        qsort(ms->members, ms->n, sizeof ms->members[0], member_compare);
    json_sink measure = {NULL, 0};
    sink_members(&measure, ms, object);
    json_sink write = {malloc(measure.len + 1), 0};
    if (write.text == NULL)
        return out_of_memory(err);
    sink_members(&write, ms, object);
    write.text[write.len] = '\0';
    *out = write.text;
    return VALV_OK;
}

static int field_text(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                      char **out, valv_error *err);

/* A message inside a list: a JSON object of its set fields. */
static int message_json_text(const ProtobufCMessage *m, char **out, valv_error *err)
{
    json_members ms = {0};
    int rc = VALV_OK;

    for (unsigned i = 0; rc == VALV_OK && i < m->descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &m->descriptor->fields[i];
        char *key = NULL, *text = NULL;
        if (!field_is_set(m, f))
            continue;
        rc = field_text(m, f, &text, err);
        if (rc == VALV_OK && (key = strdup(f->name)) == NULL) {
            text_free(text);
            rc = out_of_memory(err);
        }
        if (rc == VALV_OK)
            rc = members_add(&ms, key, text, err);
    }
    if (rc == VALV_OK)
        rc = members_text(&ms, true, out, err);
    members_free(&ms);
    return rc;
}

/* A repeated field: a map as a JSON object, a list as a JSON array. */
static int repeated_text(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                         char **out, valv_error *err)
{
    const char *values = *(char *const *)message_field(m, f);
    size_t n = message_count(m, f), size = message_element_size(f->type);
    bool map = is_map(f);
    json_members ms = {0};
    int rc = VALV_OK;

    for (size_t i = 0; rc == VALV_OK && i < n; i++) {
        const void *v = values + i * size;
        char *key = NULL, *text = NULL;
        if (map) {
            const ProtobufCMessage *entry = *(ProtobufCMessage *const *)v;
            const ProtobufCFieldDescriptor *fields = entry->descriptor->fields;
            rc = value_text(&fields[0], message_field(entry, &fields[0]), &key, err);
            if (rc == VALV_OK)
                rc = value_text(&fields[1], message_field(entry, &fields[1]), &text, err);
        } else {
            rc = value_text(f, v, &text, err);
        }
        if (rc == VALV_OK)
            rc = members_add(&ms, key, text, err);
        else {
            free(key);
            text_free(text);
        }
    }
    if (rc == VALV_OK)
        rc = members_text(&ms, map, out, err);
    members_free(&ms);
    return rc;
}

/* The text of field f of m (text_free it); "" when m is absent or the
 * list is empty. */
static int field_text(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                      char **out, valv_error *err)
{
    if (m == NULL || (f->label == PROTOBUF_C_LABEL_REPEATED && message_count(m, f) == 0)) {
        *out = no_text;
        return VALV_OK;
    }
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return repeated_text(m, f, out, err);
    return value_text(f, message_field(m, f), out, err);
}

/* True when the values at va and vb, of field f's type, are surely the
 * same; false when they differ or it cannot tell without rendering them
 * (a sub-message other than a timestamp or a map entry). */
static bool value_same(const ProtobufCFieldDescriptor *f, const void *va, const void *vb)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *a = *(char *const *)va, *b = *(char *const *)vb;
        return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *a = va, *b = vb;
        return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *a = *(ProtobufCMessage *const *)va;
        const ProtobufCMessage *b = *(ProtobufCMessage *const *)vb;
        if (a == NULL || b == NULL)
            return a == b;
        if (is_timestamp(f)) {
            const Google__Protobuf__Timestamp *ta = (const void *)a, *tb = (const void *)b;
            return ta->seconds == tb->seconds && ta->nanos == tb->nanos;
        }
        if (!is_map(f))
            return false; /* a message other than a map's entry */
        const ProtobufCFieldDescriptor *key = &a->descriptor->fields[0];
        const ProtobufCFieldDescriptor *value = &a->descriptor->fields[1];
        return value_same(key, message_field(a, key), message_field(b, key)) &&
               value_same(value, message_field(a, value), message_field(b, value));
    }
    default:
        return memcmp(va, vb, message_element_size(f->type)) == 0;
    }
}

/* True when f is surely the same in a and b, judged on the values, so
 * that the text of most unchanged fields is never made (an INHERIT event
 * changes a few fields of an asset). False when they differ, or when one
 * side is absent: the texts then decide. */
static bool field_same(const ProtobufCMessage *a, const ProtobufCMessage *b,
                       const ProtobufCFieldDescriptor *f)
{
    if (a == NULL || b == NULL || (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
        return false;
    if (f->label != PROTOBUF_C_LABEL_REPEATED) {
        if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
            f->type != PROTOBUF_C_TYPE_MESSAGE && field_is_set(a, f) != field_is_set(b, f))
            return false;
        return value_same(f, message_field(a, f), message_field(b, f));
    }
    size_t n = message_count(a, f), size = message_element_size(f->type);
    if (n != message_count(b, f))
        return false;
    const char *va = *(char *const *)message_field(a, f), *vb = *(char *const *)message_field(b, f);
    for (size_t i = 0; i < n; i++)
        if (!value_same(f, va + i * size, vb + i * size))
            return false;
    return true;
}

/* out = prefix + name + suffix, cut short to fit. Paths are a few known
 * field names deep; this runs for every field of every event, where
 * snprintf cost more than the rest of the walk. */
static void path_join(char out[FIELD_PATH_MAX], const char *prefix, const char *name,
                      const char *suffix)
{
    const char *parts[] = {prefix, name, suffix};
    size_t used = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        size_t len = strlen(parts[i]);
        if (len > FIELD_PATH_MAX - 1 - used)
            len = FIELD_PATH_MAX - 1 - used;
        memcpy(out + used, parts[i], len);
        used += len;
    }
    out[used] = '\0';
}

/* Adds to changes every field of desc that differs between before and
 * after (either NULL: absent), named prefix + field name. Sub-messages are
 * walked field by field; timestamps, lists and maps are single values. A
 * field unset on both sides never differs, so an absent sub-message and one
 * holding defaults compare equal. */
static int diff_message(const ProtobufCMessageDescriptor *desc, const ProtobufCMessage *before,
                        const ProtobufCMessage *after, const char *prefix,
                        change_list *changes, valv_error *err)
{
    int rc = VALV_OK;

    for (unsigned i = 0; rc == VALV_OK && i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        char path[FIELD_PATH_MAX];
        char *before_text = NULL, *after_text = NULL;

        if (unaudited(f))
            continue;
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && f->label != PROTOBUF_C_LABEL_REPEATED &&
            !is_timestamp(f)) {
            char sub_prefix[FIELD_PATH_MAX];
            path_join(sub_prefix, prefix, f->name, ".");
            rc = diff_message(f->descriptor,
                              before != NULL ? *(ProtobufCMessage *const *)message_field(before, f)
                                             : NULL,
                              after != NULL ? *(ProtobufCMessage *const *)message_field(after, f)
                                            : NULL,
                              sub_prefix, changes, err);
            continue;
        }
        if ((!field_is_set(before, f) && !field_is_set(after, f)) || field_same(before, after, f))
            continue;
        rc = field_text(before, f, &before_text, err);
        if (rc == VALV_OK)
            rc = field_text(after, f, &after_text, err);
        if (rc == VALV_OK && strcmp(before_text, after_text) != 0) {
            path_join(path, prefix, f->name, "");
            rc = change_list_add(changes, path, before_text, after_text, err);
            before_text = after_text = NULL;
        }
        text_free(before_text);
        text_free(after_text);
    }
    return rc;
}

/* --- Appending -------------------------------------------------------------------- */

/* SHA-256, fetched from OpenSSL's provider once: EVP_sha256() in a digest's
 * init fetches it anew each time, which cost a third of hashing an event.
 * Kept for the life of the process. */
static EVP_MD *sha256;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* SHA-256(prev || canonical): the hash of an event, when appended and when verified. */
static int chain_hash(const unsigned char prev[AUDIT_HASH_LEN], const uint8_t *canonical,
                      size_t len, unsigned char out[AUDIT_HASH_LEN], valv_error *err)
{
    pthread_once(&sha256_once, sha256_fetch);
    EVP_MD_CTX *ctx = sha256 != NULL ? EVP_MD_CTX_new() : NULL;
    unsigned int out_len = 0;
    int ok = ctx != NULL && EVP_DigestInit_ex2(ctx, sha256, NULL) == 1 &&
             EVP_DigestUpdate(ctx, prev, AUDIT_HASH_LEN) == 1 &&
             EVP_DigestUpdate(ctx, canonical, len) == 1 &&
             EVP_DigestFinal_ex(ctx, out, &out_len) == 1 && out_len == AUDIT_HASH_LEN;
    EVP_MD_CTX_free(ctx);
    return ok ? VALV_OK : valv_error_set(err, VALV_EINTERNAL, "cannot compute SHA-256");
}

size_t audit_index_key(const char *id, int64_t revision, unsigned char key[AUDIT_INDEX_KEY_MAX])
{
    size_t id_len = strlen(id);
    if (id_len > VALV_ASSET_ID_MAX)
        id_len = VALV_ASSET_ID_MAX; /* ids are validated; this only guards the buffer */
    memcpy(key, id, id_len);
    key[id_len] = '\0';
    be64_put(key + id_len + 1, (uint64_t)revision);
    return id_len + 1 + REVISION_KEY_LEN;
}

/* The asset id in span, a stored event's asset or related_asset
 * ("assets/ID"), copied to id; "" when it names no asset. */
static void span_asset_id(const wire_span *span, char id[VALV_ASSET_ID_MAX + 1])
{
    size_t len = span->len > NAME_PREFIX_LEN ? span->len - NAME_PREFIX_LEN : 0;
    id[0] = '\0';
    if (len == 0 || len > VALV_ASSET_ID_MAX ||
        memcmp(span->data, NAME_PREFIX, NAME_PREFIX_LEN) != 0)
        return;
    memcpy(id, span->data + NAME_PREFIX_LEN, len);
    id[len] = '\0';
}

static Valv__V1__AuditEvent *event_unpack(const MDB_val *val);

/* The ids of the assets a stored event (hash | canonical) names, its asset
 * and its related asset ("" for none), found without decoding the rest of
 * it. False when the event cannot be read. */
static bool event_asset_ids(const MDB_val *val, char asset[VALV_ASSET_ID_MAX + 1],
                            char related[VALV_ASSET_ID_MAX + 1])
{
    /* AuditEvent's asset and related_asset, by number (audit.proto). */
    static const uint32_t numbers[2] = {6, 7};
    wire_span spans[2];

    if (val->mv_size < AUDIT_HASH_LEN)
        return false;
    if (wire_find((const uint8_t *)val->mv_data + AUDIT_HASH_LEN,
                  val->mv_size - AUDIT_HASH_LEN, numbers, spans, 2)) {
        span_asset_id(&spans[0], asset);
        span_asset_id(&spans[1], related);
        return true;
    }
    Valv__V1__AuditEvent *e = event_unpack(val); /* wire_find's caveats: decode it all */
    if (e == NULL)
        return false;
    const char *a = asset_name_id(e->asset), *r = asset_name_id(e->related_asset);
    text_copy(asset, VALV_ASSET_ID_MAX + 1, a != NULL ? a : "");
    text_copy(related, VALV_ASSET_ID_MAX + 1, r != NULL ? r : "");
    valv__v1__audit_event__free_unpacked(e, NULL);
    return true;
}

/* One audit_by_asset key of a batch. */
typedef struct {
    size_t len;
    unsigned char key[AUDIT_INDEX_KEY_MAX];
} index_key;

/* LMDB's order of keys: bytes, then the shorter first. */
static int index_key_cmp(const void *a, const void *b)
{
    const index_key *x = a, *y = b;
    int c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);
    return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/* Writes the audit_by_asset entries of the batch of events that revision
 * `through` ends, in key order (see the top of this file). */
static int index_batch(store_txn *t, int64_t through, valv_error *err)
{
    index_key *keys = malloc(2 * AUDIT_INDEX_BATCH * sizeof *keys);
    unsigned char start[REVISION_KEY_LEN];
    char asset[VALV_ASSET_ID_MAX + 1], related[VALV_ASSET_ID_MAX + 1];
    MDB_val key = {sizeof start, start}, val;
    MDB_cursor *cur = NULL;
    size_t n = 0;
    int rc;

    if (keys == NULL)
        return out_of_memory(err);
    be64_put(start, (uint64_t)(through - AUDIT_INDEX_BATCH + 1));
    rc = mdb_cursor_open(t->txn, t->s->tables[TABLE_AUDIT], &cur);
    if (rc != 0) {
        rc = storage_error(rc, "indexing the audit log", err);
        goto done;
    }
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        if (key.mv_size != REVISION_KEY_LEN)
            continue; /* not a key this file writes */
        int64_t revision = (int64_t)be64_get(key.mv_data);
        if (revision > through || n + 2 > 2 * AUDIT_INDEX_BATCH) /* the latter: never */
            break;
        if (!event_asset_ids(&val, asset, related)) {
            rc = valv_error_set(err, VALV_EINTERNAL,
                                "audit event %" PRId64 " is damaged and cannot be indexed; "
                                "run valvd verify",
                                revision);
            goto done;
        }
        if (asset[0] != '\0') {
            keys[n].len = audit_index_key(asset, revision, keys[n].key);
            n++;
        }
        if (related[0] != '\0' && strcmp(related, asset) != 0) {
            keys[n].len = audit_index_key(related, revision, keys[n].key);
            n++;
        }
    }
    mdb_cursor_close(cur);
    cur = NULL;
    if (rc != 0 && rc != MDB_NOTFOUND) {
        rc = storage_error(rc, "indexing the audit log", err);
        goto done;
    }
    qsort(keys, n, sizeof *keys, index_key_cmp);
    rc = VALV_OK;
    for (size_t i = 0; i < n && rc == VALV_OK; i++)
        rc = txn_put(t, TABLE_AUDIT_BY_ASSET, keys[i].key, keys[i].len, "", 0, err);
done:
    if (cur != NULL)
        mdb_cursor_close(cur);
    free(keys);
    return rc;
}

/* Chains e (its revision set) after t's last event and stores it, as
 * hash | canonical, packed in its place in the log. */
static int event_store(store_txn *t, Valv__V1__AuditEvent *e, valv_error *err)
{
    unsigned char key[REVISION_KEY_LEN], hash[AUDIT_HASH_LEN];
    uint8_t *value = NULL;

    e->prev_hash.len = AUDIT_HASH_LEN;
    e->prev_hash.data = t->audit_hash;
    e->hash.len = 0;
    e->hash.data = NULL;
    size_t len = valv__v1__audit_event__get_packed_size(e);
    be64_put(key, (uint64_t)e->revision);
    int rc = txn_reserve(t, TABLE_AUDIT, key, sizeof key, AUDIT_HASH_LEN + len,
                         MDB_APPEND, (void **)&value, err);
    if (rc != VALV_OK)
        return rc;
    memset(value, 0, AUDIT_HASH_LEN); /* until the hash is known: no stale bytes */
    valv__v1__audit_event__pack(e, value + AUDIT_HASH_LEN);
    rc = chain_hash(t->audit_hash, value + AUDIT_HASH_LEN, len, hash, err);
    if (rc != VALV_OK)
        return rc; /* t is aborted, as after any error */
    memcpy(value, hash, AUDIT_HASH_LEN);
    if (e->revision % AUDIT_INDEX_BATCH == 0)
        rc = index_batch(t, e->revision, err);
    if (rc == VALV_OK)
        memcpy(t->audit_hash, hash, AUDIT_HASH_LEN);
    return rc;
}

static int pending_flush(store_txn *t, valv_error *err);

/* Appends e as the event of revision t->revision in t's change: the
 * request's own when it is the change's first, else one the first caused,
 * with action caused_action. */
static int change_append(store_txn *t, Valv__V1__AuditEvent *e, int caused_action,
                         valv_error *err)
{
    audit_change *c = &t->change;
    Google__Protobuf__Timestamp time = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    bool origin = c->origin_revision == 0;

    if (c->action == 0)
        return valv_error_set(err, VALV_EINTERNAL,
                              "a change reached the store without its audit action");
    time.seconds = c->time.tv_sec;
    time.nanos = (int32_t)c->time.tv_nsec;
    e->revision = t->revision;
    e->time = &time;
    e->actor = (char *)c->actor;
    e->request_id = c->request_id;
    if (origin) {
        e->action = c->action;
        e->reason = (char *)c->reason;
    } else {
        e->action = caused_action;
        e->cause_revision = c->origin_revision;
    }
    int rc = event_store(t, e, err);
    if (rc != VALV_OK || !origin)
        return rc;
    c->origin_revision = e->revision;
    return pending_flush(t, err);
}

int audit_append_asset(store_txn *t, const Valv__V1__Asset *old, const Valv__V1__Asset *a,
                       valv_error *err)
{
    Valv__V1__AuditEvent e = VALV__V1__AUDIT_EVENT__INIT;
    change_list changes = {0};
    int rc = diff_message(&valv__v1__asset__descriptor, old != NULL ? &old->base : NULL,
                          &a->base, "", &changes, err);
    if (rc == VALV_OK)
        rc = change_list_done(&changes, err);
    if (rc == VALV_OK) {
        e.asset = a->name;
        e.changes = changes.changes;
        e.n_changes = changes.n;
        rc = change_append(t, &e, VALV__V1__AUDIT_ACTION__ACTION_INHERIT, err);
    }
    change_list_free(&changes);
    return rc;
}

int audit_append_link(store_txn *t, const char *from_id, const char *to_id, int type,
                      bool added, valv_error *err)
{
    Valv__V1__AuditEvent e = VALV__V1__AUDIT_EVENT__INIT;
    Valv__V1__FieldChange link = VALV__V1__FIELD_CHANGE__INIT;
    Valv__V1__FieldChange *changes[] = {&link};
    char from[ASSET_NAME_MAX + 1], to[ASSET_NAME_MAX + 1];
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
        &valv__v1__link_type__descriptor, type);
    char *type_name = v != NULL ? (char *)v->name : (char *)"LINK_TYPE_UNSPECIFIED";

    asset_name_write(from, from_id);
    asset_name_write(to, to_id);
    link.field = (char *)"link";
    link.before = added ? (char *)"" : type_name;
    link.after = added ? type_name : (char *)"";
    e.asset = from;
    e.related_asset = to;
    e.changes = changes;
    e.n_changes = 1;
    t->revision++;
    return change_append(t, &e,
                         added ? VALV__V1__AUDIT_ACTION__ACTION_LINK
                               : VALV__V1__AUDIT_ACTION__ACTION_UNLINK,
                         err);
}

int audit_link_removed(store_txn *t, const char *from_id, const char *to_id, int type,
                       valv_error *err)
{
    audit_change *c = &t->change;

    if (c->origin_revision != 0)
        return audit_append_link(t, from_id, to_id, type, false, err);
    if (c->n_pending == c->pending_cap) {
        size_t cap = c->pending_cap == 0 ? 8 : 2 * c->pending_cap;
        audit_link *grown = realloc(c->pending, cap * sizeof *grown);
        if (grown == NULL)
            return out_of_memory(err);
        c->pending = grown;
        c->pending_cap = cap;
    }
    audit_link *l = &c->pending[c->n_pending++];
    text_copy(l->from, sizeof l->from, from_id);
    text_copy(l->to, sizeof l->to, to_id);
    l->type = type;
    return VALV_OK;
}

/* Appends the links removed before the change's own event, right after it. */
static int pending_flush(store_txn *t, valv_error *err)
{
    audit_change *c = &t->change;
    int rc = VALV_OK;
    for (size_t i = 0; i < c->n_pending && rc == VALV_OK; i++)
        rc = audit_append_link(t, c->pending[i].from, c->pending[i].to, c->pending[i].type,
                               false, err);
    c->n_pending = 0;
    return rc;
}

/* --- Reading ---------------------------------------------------------------------- */

/* The stored bytes of revision's event (hash | canonical), valid in txn. */
static int event_raw(const store *s, MDB_txn *txn, int64_t revision, MDB_val *val,
                     valv_error *err)
{
    unsigned char key_buf[REVISION_KEY_LEN];
    MDB_val key = {sizeof key_buf, key_buf};
    be64_put(key_buf, (uint64_t)revision);
    int rc = mdb_get(txn, s->tables[TABLE_AUDIT], &key, val);
    if (rc == MDB_NOTFOUND)
        return valv_error_set(err, VALV_ENOTFOUND, "audit event %" PRId64 " not found",
                              revision);
    if (rc != 0)
        return storage_error(rc, "reading the audit log", err);
    return VALV_OK;
}

/* Unpacks a stored event and sets its hash; NULL when it cannot be read. */
static Valv__V1__AuditEvent *event_unpack(const MDB_val *val)
{
    Valv__V1__AuditEvent *e;
    uint8_t *hash;

    if (val->mv_size < AUDIT_HASH_LEN)
        return NULL;
    e = valv__v1__audit_event__unpack(NULL, val->mv_size - AUDIT_HASH_LEN,
                                      (const uint8_t *)val->mv_data + AUDIT_HASH_LEN);
    hash = malloc(AUDIT_HASH_LEN);
    if (e == NULL || hash == NULL) {
        free(hash);
        if (e != NULL)
            valv__v1__audit_event__free_unpacked(e, NULL);
        return NULL;
    }
    memcpy(hash, val->mv_data, AUDIT_HASH_LEN);
    e->hash.data = hash;
    e->hash.len = AUDIT_HASH_LEN;
    return e;
}

int audit_event_load(const store *s, MDB_txn *txn, int64_t revision,
                     Valv__V1__AuditEvent **out, valv_error *err)
{
    MDB_val val;
    int rc = event_raw(s, txn, revision, &val, err);
    if (rc != VALV_OK)
        return rc;
    *out = event_unpack(&val);
    if (*out == NULL)
        return valv_error_set(err, VALV_EINTERNAL,
                              "audit event %" PRId64 " is damaged and cannot be read; run "
                              "valvd verify",
                              revision);
    return VALV_OK;
}

typedef int (*revision_visit)(void *ctx, int64_t revision, valv_error *err);

int audit_index_through(const store *s, MDB_txn *txn, int64_t *through, valv_error *err)
{
    MDB_cursor *cur = NULL;
    MDB_val key, val;
    int64_t last = 0;

    *through = 0;
    int rc = mdb_cursor_open(txn, s->tables[TABLE_AUDIT], &cur);
    if (rc == 0)
        rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
    if (rc == 0 && key.mv_size == REVISION_KEY_LEN)
        last = (int64_t)be64_get(key.mv_data);
    if (cur != NULL)
        mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return storage_error(rc, "reading the audit log", err);
    *through = last - last % AUDIT_INDEX_BATCH;
    return VALV_OK;
}

/* Visits the revisions r with lo < r < hi that table holds under prefix
 * (audit_by_asset: an asset id and its \0; audit: none), in order, forward
 * or backward. With only_id (on the audit table), only the events that
 * name that asset, and those that cannot be read (the visit says so). A
 * visit returning non-zero stops the walk, and range_walk returns that. */
static int range_walk(const store *s, MDB_txn *txn, int table, const unsigned char *prefix,
                      size_t prefix_len, int64_t lo, int64_t hi, bool backward,
                      const char *only_id, revision_visit visit, void *ctx, valv_error *err)
{
    unsigned char start[AUDIT_INDEX_KEY_MAX];
    char asset[VALV_ASSET_ID_MAX + 1], related[VALV_ASSET_ID_MAX + 1];
    MDB_cursor *cur = NULL;
    MDB_val key = {prefix_len + REVISION_KEY_LEN, start}, val;
    MDB_cursor_op step = backward ? MDB_PREV : MDB_NEXT;
    int rc;

    if (lo >= hi - 1)
        return VALV_OK; /* nothing between them */
    memcpy(start, prefix, prefix_len);
    be64_put(start + prefix_len, (uint64_t)(backward ? hi : lo + 1));
    rc = mdb_cursor_open(txn, s->tables[table], &cur);
    if (rc != 0)
        return storage_error(rc, "reading the audit log", err);
    rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); /* the first key >= start */
    /* Backward, the walk starts at the last key < start: the one before,
     * or the table's last key when none is >= start. */
    if (backward && rc == 0)
        rc = mdb_cursor_get(cur, &key, &val, MDB_PREV);
    else if (backward && rc == MDB_NOTFOUND)
        rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
    for (; rc == 0; rc = mdb_cursor_get(cur, &key, &val, step)) {
        if (key.mv_size < prefix_len || memcmp(key.mv_data, prefix, prefix_len) != 0)
            break;
        if (key.mv_size != prefix_len + REVISION_KEY_LEN)
            continue; /* not a key this file writes */
        int64_t revision = (int64_t)be64_get((const unsigned char *)key.mv_data + prefix_len);
        if (backward ? revision <= lo : revision >= hi)
            break;
        if (only_id != NULL && event_asset_ids(&val, asset, related) &&
            strcmp(asset, only_id) != 0 && strcmp(related, only_id) != 0)
            continue;
        rc = visit(ctx, revision, err);
        if (rc != 0)
            goto done;
    }
    rc = rc == MDB_NOTFOUND || rc == 0 ? VALV_OK : storage_error(rc, "reading the audit log", err);
done:
    mdb_cursor_close(cur);
    return rc;
}

/* The prefix of the audit table's keys: none. */
static const unsigned char no_prefix[1];

/* Visits the revisions of the events of asset_id (NULL: every event), in
 * order: forward from after `from`, or backward from before it. An
 * asset's events are in audit_by_asset up to the last whole batch, and
 * after it in the log's tail (see the top of this file). A visit returning
 * non-zero stops the walk, and events_walk returns that. */
static int events_walk(const store *s, MDB_txn *txn, const char *asset_id, int64_t from,
                       bool backward, revision_visit visit, void *ctx, valv_error *err)
{
    unsigned char prefix[AUDIT_INDEX_KEY_MAX];
    int64_t through;

    if (asset_id == NULL)
        return range_walk(s, txn, TABLE_AUDIT, no_prefix, 0, backward ? 0 : from,
                          backward ? from : INT64_MAX, backward, NULL, visit, ctx, err);
    size_t prefix_len = audit_index_key(asset_id, 0, prefix) - REVISION_KEY_LEN;
    int rc = audit_index_through(s, txn, &through, err);
    if (rc != VALV_OK)
        return rc;
    if (!backward) {
        rc = range_walk(s, txn, TABLE_AUDIT_BY_ASSET, prefix, prefix_len, from, through + 1,
                        false, NULL, visit, ctx, err);
        if (rc == VALV_OK)
            rc = range_walk(s, txn, TABLE_AUDIT, no_prefix, 0, from > through ? from : through,
                            INT64_MAX, false, asset_id, visit, ctx, err);
    } else {
        rc = range_walk(s, txn, TABLE_AUDIT, no_prefix, 0, through, from, true, asset_id, visit,
                        ctx, err);
        if (rc == VALV_OK)
            rc = range_walk(s, txn, TABLE_AUDIT_BY_ASSET, prefix, prefix_len, 0,
                            from < through + 1 ? from : through + 1, true, NULL, visit, ctx,
                            err);
    }
    return rc;
}

/* An array of events being filled, and the query they must match. */
typedef struct {
    const store *s;
    MDB_txn *txn;
    const store_audit_query *q; /* NULL: every event */
    Valv__V1__AuditEvent **events;
    size_t n, max;
    bool more; /* a matching event past max exists */
    int64_t last; /* the revision of the last event taken */
    /* The last asset whose visibility was asked, and the answer: a page of
     * one asset's events loads it once. */
    char asked_id[VALV_ASSET_ID_MAX + 1];
    bool asked_visible;
} event_page;

static bool event_matches(const Valv__V1__AuditEvent *e, const store_audit_query *q)
{
    int64_t ns = timestamp_ns(e->time);
    if (q == NULL)
        return true;
    if (q->actor != NULL && q->actor[0] != '\0' && strcmp(e->actor, q->actor) != 0)
        return false;
    if (q->action != 0 && (int)e->action != q->action)
        return false;
    if (q->start_unix_ns != 0 && ns < q->start_unix_ns)
        return false;
    return q->end_unix_ns == 0 || ns < q->end_unix_ns;
}

/* *visible: the asset named name ("assets/ID"; "" for none) is visible now
 * to the viewer of p's query; a deleted asset is judged as it was deleted. */
static int event_asset_visible(event_page *p, const char *name, bool *visible,
                               valv_error *err)
{
    const char *id = asset_name_id(name);

    *visible = true;
    if (id == NULL)
        return VALV_OK;
    if (strcmp(id, p->asked_id) == 0) {
        *visible = p->asked_visible;
        return VALV_OK;
    }
    int rc = access_id_visible(p->s, p->txn, id, p->q->viewer, visible, err);
    if (rc != VALV_OK)
        return rc;
    text_copy(p->asked_id, sizeof p->asked_id, id);
    p->asked_visible = *visible;
    return VALV_OK;
}

/* *visible: e's asset and related asset are both visible to the viewer of
 * p's query (none: everything is). */
static int event_visible(event_page *p, const Valv__V1__AuditEvent *e, bool *visible,
                         valv_error *err)
{
    *visible = true;
    if (p->q == NULL)
        return VALV_OK;
    int rc = event_asset_visible(p, e->asset, visible, err);
    if (rc == VALV_OK && *visible)
        rc = event_asset_visible(p, e->related_asset, visible, err);
    return rc;
}

static int event_page_add(void *ctx, int64_t revision, valv_error *err)
{
    event_page *p = ctx;
    Valv__V1__AuditEvent *e = NULL;
    bool visible = false;
    int rc = audit_event_load(p->s, p->txn, revision, &e, err);

    if (rc != VALV_OK)
        return rc;
    if (event_matches(e, p->q))
        rc = event_visible(p, e, &visible, err);
    if (rc != VALV_OK || !visible) {
        valv__v1__audit_event__free_unpacked(e, NULL);
        return rc;
    }
    if (p->n == p->max) {
        valv__v1__audit_event__free_unpacked(e, NULL);
        p->more = true;
        return WALK_STOP;
    }
    p->events[p->n++] = e;
    p->last = revision;
    return VALV_OK;
}

static void event_array_free(Valv__V1__AuditEvent **events, size_t n)
{
    if (events == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        valv__v1__audit_event__free_unpacked(events[i], NULL);
    free(events);
}

/* Checks the parts of q a person can get wrong; violations name the
 * fields of ListAuditEventsRequest. */
static int audit_query_check(const store_audit_query *q, size_t *page_size, valv_error *err)
{
    page_size_get(q->page_size, page_size, err);
    if (q->asset_id != NULL && q->asset_id[0] != '\0')
        validate_asset_id(q->asset_id, "asset", err);
    if (q->action < 0 || q->action > VALV__V1__AUDIT_ACTION__ACTION_INHERIT)
        valv_error_violation(err, "action", "%d is not an audit action; allowed: 0 (every "
                             "action) to %d", q->action, VALV__V1__AUDIT_ACTION__ACTION_INHERIT);
    if (q->start_unix_ns < 0)
        valv_error_violation(err, "start_time", "must not be before 1970");
    if (q->end_unix_ns < 0 || (q->end_unix_ns != 0 && q->end_unix_ns <= q->start_unix_ns))
        valv_error_violation(err, "end_time", "must be after start_time");
    return err->n_violations > 0 ? VALV_EINVAL : VALV_OK;
}

/* The digest a page token of q carries: every field but the paging ones. */
static int audit_query_digest(const store_audit_query *q, unsigned char digest[PAGETOKEN_DIGEST_LEN],
                              valv_error *err)
{
    /* The actor, the only free text, goes last so that no two queries
     * give the same text. */
    char *text = text_printf("audit\n%s\n%d\n%" PRId64 "\n%" PRId64 "\n%s",
                             q->asset_id != NULL ? q->asset_id : "", q->action,
                             q->start_unix_ns, q->end_unix_ns,
                             q->actor != NULL ? q->actor : "");
    if (text == NULL)
        return out_of_memory(err);
    pagetoken_query_digest(text, q->newest_first ? "newest_first" : "oldest_first", false,
                           digest);
    free(text);
    return VALV_OK;
}

int store_list_audit_events(store *s, const store_audit_query *q, store_audit_result *out,
                            valv_error *err)
{
    unsigned char digest[PAGETOKEN_DIGEST_LEN], cursor[PAGETOKEN_CURSOR_MAX];
    unsigned char last[REVISION_KEY_LEN];
    size_t cursor_len = 0;
    event_page page = {0};
    int64_t from = q->newest_first ? INT64_MAX : 0;
    MDB_txn *txn = NULL;
    int rc;

    valv_error_clear(err);
    memset(out, 0, sizeof *out);
    rc = audit_query_check(q, &page.max, err);
    if (rc == VALV_OK)
        rc = audit_query_digest(q, digest, err);
    if (rc != VALV_OK)
        goto done;
    if (q->page_token != NULL && q->page_token[0] != '\0') {
        rc = pagetoken_decode(s->page_token_key, digest, q->page_token, cursor, sizeof cursor,
                              &cursor_len, err);
        if (rc == VALV_OK && cursor_len != REVISION_KEY_LEN)
            rc = valv_error_violation(err, "page_token", "not a page token from this server");
        if (rc != VALV_OK)
            goto done;
        from = (int64_t)be64_get(cursor);
    }
    page.events = calloc(page.max, sizeof *page.events);
    if (page.events == NULL) {
        rc = out_of_memory(err);
        goto done;
    }
    rc = read_begin(s, &txn, err);
    if (rc != VALV_OK)
        goto done;
    page.s = s;
    page.txn = txn;
    page.q = q;
    rc = events_walk(s, txn, q->asset_id != NULL && q->asset_id[0] != '\0' ? q->asset_id : NULL,
                     from, q->newest_first, event_page_add, &page, err);
    read_end(s, txn);
    if (rc == WALK_STOP)
        rc = VALV_OK;
    if (rc == VALV_OK && page.more) {
        be64_put(last, (uint64_t)page.last);
        rc = pagetoken_encode(s->page_token_key, digest, last, sizeof last,
                              &out->next_page_token, err);
    }
    if (rc != VALV_OK)
        goto done;
    out->events = page.events;
    out->n_events = page.n;
    page.events = NULL;
done:
    event_array_free(page.events, page.n);
    return rc;
}

void store_audit_result_free(store_audit_result *r)
{
    if (r == NULL)
        return;
    event_array_free(r->events, r->n_events);
    free(r->next_page_token);
    memset(r, 0, sizeof *r);
}

int store_read_events(store *s, int64_t after, size_t max, Valv__V1__AuditEvent ***out,
                      size_t *n_out, valv_error *err)
{
    event_page page = {0};
    MDB_txn *txn = NULL;
    int rc;

    valv_error_clear(err);
    *out = NULL;
    *n_out = 0;
    /* A bounded read: the caller asks again for the rest. */
    page.max = max < VALV_PAGE_SIZE_MAX ? max : VALV_PAGE_SIZE_MAX;
    page.events = calloc(page.max > 0 ? page.max : 1, sizeof *page.events);
    if (page.events == NULL)
        return out_of_memory(err);
    rc = read_begin(s, &txn, err);
    if (rc != VALV_OK)
        goto done;
    page.s = s;
    page.txn = txn;
    rc = events_walk(s, txn, NULL, after > 0 ? after : 0, false, event_page_add, &page, err);
    read_end(s, txn);
    if (rc == WALK_STOP)
        rc = VALV_OK;
    if (rc != VALV_OK)
        goto done;
    *out = page.events;
    *n_out = page.n;
    page.events = NULL;
done:
    event_array_free(page.events, page.n);
    return rc;
}

/* --- Verifying the chain ------------------------------------------------------------ */

typedef struct {
    const store *s;
    MDB_txn *txn;
    store_verify_result *out;
    int64_t expected;                  /* the revision the next event must have */
    unsigned char prev[AUDIT_HASH_LEN]; /* the hash of the last good event */
} chain_check;

static int chain_break(chain_check *c, int64_t revision, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int chain_break(chain_check *c, int64_t revision, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verify_failed(c->out, revision, fmt, ap);
    va_end(ap);
    return WALK_STOP;
}

static int chain_visit(void *ctx, int64_t revision, valv_error *err)
{
    chain_check *c = ctx;
    unsigned char hash[AUDIT_HASH_LEN];
    Valv__V1__AuditEvent *e = NULL;
    MDB_val val;
    int rc;

    if (revision != c->expected)
        return chain_break(c, c->expected, "event %" PRId64 " is missing", c->expected);
    rc = event_raw(c->s, c->txn, revision, &val, err);
    if (rc != VALV_OK)
        return rc;
    e = event_unpack(&val);
    if (e == NULL || e->prev_hash.len != AUDIT_HASH_LEN) {
        rc = chain_break(c, revision, "event %" PRId64 " was altered (it cannot be read)",
                         revision);
        goto done;
    }
    rc = chain_hash(e->prev_hash.data, (const uint8_t *)val.mv_data + AUDIT_HASH_LEN,
                    val.mv_size - AUDIT_HASH_LEN, hash, err);
    if (rc != VALV_OK)
        goto done;
    if (memcmp(hash, val.mv_data, AUDIT_HASH_LEN) != 0 || e->revision != revision)
        rc = chain_break(c, revision,
                         "event %" PRId64 " was altered (hash does not match its contents)",
                         revision);
    else if (memcmp(e->prev_hash.data, c->prev, AUDIT_HASH_LEN) != 0)
        rc = revision == 1
                 ? chain_break(c, 1, "event 1 does not start the chain (its prev_hash is not "
                                     "32 zero bytes)")
                 : chain_break(c, revision, "event %" PRId64 " does not follow event %" PRId64,
                               revision, revision - 1);
    if (rc != VALV_OK)
        goto done;
    memcpy(c->prev, hash, AUDIT_HASH_LEN);
    c->expected++;
    c->out->checked++;
done:
    if (e != NULL)
        valv__v1__audit_event__free_unpacked(e, NULL);
    return rc;
}

/* After the walk: the log must end where the store's counter and last hash say. */
static void chain_end_check(chain_check *c, int64_t store_revision,
                            const unsigned char store_hash[AUDIT_HASH_LEN])
{
    int64_t last = c->expected - 1;

    if (last < store_revision)
        chain_break(c, last + 1,
                    "event %" PRId64 " is missing: the log ends at revision %" PRId64
                    " but the store is at revision %" PRId64,
                    last + 1, last, store_revision);
    else if (last > store_revision)
        chain_break(c, store_revision + 1,
                    "the log runs to revision %" PRId64 " but the store is at revision %" PRId64,
                    last, store_revision);
    else if (memcmp(store_hash, c->prev, AUDIT_HASH_LEN) != 0)
        chain_break(c, last,
                    "event %" PRId64 " is not the last event the store recorded (the end of "
                    "the log was replaced)",
                    last);
}

int store_verify_audit(store *s, store_verify_result *out, valv_error *err)
{
    chain_check c = {0};
    unsigned char store_hash[AUDIT_HASH_LEN] = {0};
    int64_t store_revision = 0;
    MDB_txn *txn = NULL;
    MDB_val val;
    int rc;

    valv_error_clear(err);
    memset(out, 0, sizeof *out);
    out->ok = true;
    rc = read_begin(s, &txn, err);
    if (rc != VALV_OK)
        return rc;
    /* The counter and hash of this snapshot, not of the open store: a
     * running valvd may have written since. */
    if (meta_get(s, txn, META_REVISION, &val) == 0 && val.mv_size == REVISION_KEY_LEN)
        store_revision = (int64_t)be64_get(val.mv_data);
    if (meta_get(s, txn, META_AUDIT_HASH, &val) == 0 && val.mv_size == AUDIT_HASH_LEN)
        memcpy(store_hash, val.mv_data, AUDIT_HASH_LEN);
    out->last_revision = store_revision;

    c.s = s;
    c.txn = txn;
    c.out = out;
    c.expected = 1;
    rc = events_walk(s, txn, NULL, 0, false, chain_visit, &c, err);
    if (rc == VALV_OK)
        chain_end_check(&c, store_revision, store_hash);
    if (rc == WALK_STOP)
        rc = VALV_OK;
    read_end(s, txn);
    return rc;
}
