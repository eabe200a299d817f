/* store.c - the asset inventory on disk (LMDB). See store.h.
 *
 * Every asset lives once in the assets table as a packed valv.v1.Asset; the
 * index tables hold keys only (by_source also the id), so a list walks an
 * index in key order and reads each asset from the assets table. This file
 * holds the tables, reading and writing one asset, the asset writes of
 * store.h and transactions; store_internal.h says where the rest is.
 */
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "limits.h"
#include "mask.h"
#include "message.h"
#include "store_internal.h"
#include "validate.h"
#include "wire.h"

#define STORE_MAX_READERS 256
#define STORE_MAX_TABLES 16 /* room for the tables later issues add */
#define MIB (1024UL * 1024UL)
/* Less room than this left on the file system when a commit's write fails
 * means the disk is full. */
#define DISK_FULL_BYTES (1024UL * 1024UL)

/* Bytes of display_name kept in a by_display key: with "\0" and an id the
 * key must stay under KEY_MAX, and a display name may take 800 bytes. */
#define DISPLAY_KEY_NAME_MAX 400

#define ID_GENERATE_ATTEMPTS 8


const char *const table_names[TABLE_COUNT] = {
    "meta",      "assets",   "by_unit",      "by_kind", "by_source",      "by_display",
    "by_update", "links_out", "links_in", "review_queue", "audit", "audit_by_asset",
    "import_seen",
};

/* --- Small helpers ---------------------------------------------------------- */

void be64_put(unsigned char out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

uint64_t be64_get(const unsigned char in[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | in[i];
    return v;
}

int out_of_memory(valv_error *err)
{
    return valv_error_set(err, VALV_EINTERNAL, "out of memory");
}

int storage_error(int rc, const char *what, valv_error *err)
{
    if (rc == MDB_MAP_FULL)
        return valv_error_set(err, VALV_EFULL, "database full");
    return valv_error_set(err, VALV_EINTERNAL, "storage error while %s: %s", what,
                          mdb_strerror(rc));
}

const char *actor_name(const store_actor *who)
{
    return who != NULL && who->actor != NULL ? who->actor : "";
}

const char *asset_id(const Valv__V1__Asset *a)
{
    return a->name + NAME_PREFIX_LEN;
}

const char *asset_name_id(const char *name)
{
    if (name == NULL || strncmp(name, NAME_PREFIX, NAME_PREFIX_LEN) != 0 ||
        name[NAME_PREFIX_LEN] == '\0')
        return NULL;
    return name + NAME_PREFIX_LEN;
}

void text_copy(char *dst, size_t cap, const char *src)
{
    size_t len = strnlen(src, cap - 1);
    memcpy(dst, src, len);
    dst[len] = '\0';
}

void asset_name_write(char name[ASSET_NAME_MAX + 1], const char *id)
{
    memcpy(name, NAME_PREFIX, NAME_PREFIX_LEN);
    text_copy(name + NAME_PREFIX_LEN, VALV_ASSET_ID_MAX + 1, id);
}

bool asset_deleted(const Valv__V1__Asset *a)
{
    return a->delete_time != NULL;
}

void clock_now(struct timespec *now)
{
    clock_gettime(CLOCK_REALTIME, now);
}

/* Frees a heap-owned string field and leaves it empty. */
void string_clear(char **field)
{
    if (*field != NULL && *field != protobuf_c_empty_string)
        free(*field);
    *field = (char *)protobuf_c_empty_string;
}

/* Replaces a heap-owned string field with a copy of value. */
int string_set(char **field, const char *value, valv_error *err)
{
    char *copy = strdup(value);
    if (copy == NULL)
        return out_of_memory(err);
    string_clear(field);
    *field = copy;
    return VALV_OK;
}

void timestamp_clear(Google__Protobuf__Timestamp **field)
{
    if (*field != NULL)
        google__protobuf__timestamp__free_unpacked(*field, NULL);
    *field = NULL;
}

/* Replaces a timestamp field with a copy of *value. */
int timestamp_set(Google__Protobuf__Timestamp **field, const struct timespec *value,
                  valv_error *err)
{
    Google__Protobuf__Timestamp *t = malloc(sizeof *t);
    if (t == NULL)
        return out_of_memory(err);
    google__protobuf__timestamp__init(t);
    t->seconds = value->tv_sec;
    t->nanos = (int32_t)value->tv_nsec;
    timestamp_clear(field);
    *field = t;
    return VALV_OK;
}

int64_t timestamp_ns(const Google__Protobuf__Timestamp *t)
{
    if (t == NULL || t->seconds < 0)
        return 0;
    return t->seconds * NS_PER_SECOND + t->nanos;
}

int64_t timespec_ns(const struct timespec *t)
{
    return (int64_t)t->tv_sec * NS_PER_SECOND + t->tv_nsec;
}

/* Packs message m (NULL: empty) into a malloc'd buffer. */
static int message_pack(const ProtobufCMessage *m, uint8_t **buf_out, size_t *len_out,
                        valv_error *err)
{
    size_t len = m != NULL ? protobuf_c_message_get_packed_size(m) : 0;
    uint8_t *buf = malloc(len > 0 ? len : 1);
    if (buf == NULL)
        return out_of_memory(err);
    if (m != NULL)
        protobuf_c_message_pack(m, buf);
    *buf_out = buf;
    *len_out = len;
    return VALV_OK;
}

int asset_unpack(const void *data, size_t len, const char *id, ProtobufCAllocator *allocator,
                 Valv__V1__Asset **out, valv_error *err)
{
    *out = valv__v1__asset__unpack(allocator, len, data);
    if (*out == NULL)
        return valv_error_set(err, VALV_EINTERNAL,
                              "asset assets/%s is damaged in the store and cannot be read", id);
    return VALV_OK;
}

int asset_copy(const Valv__V1__Asset *a, Valv__V1__Asset **out, valv_error *err)
{
    *out = (Valv__V1__Asset *)message_copy(&a->base);
    return *out != NULL ? VALV_OK : out_of_memory(err);
}

int message_encodes_to(const ProtobufCMessage *m, const void *encoded, size_t len, bool *same,
                       valv_error *err)
{
    *same = (m != NULL ? protobuf_c_message_get_packed_size(m) : 0) == len;
    if (!*same || len == 0)
        return VALV_OK;
    uint8_t *buf = NULL;
    size_t buf_len = 0;
    int rc = message_pack(m, &buf, &buf_len, err);
    if (rc == VALV_OK)
        *same = memcmp(buf, encoded, len) == 0;
    free(buf);
    return rc;
}

int message_same(const ProtobufCMessage *a, const ProtobufCMessage *b, bool *same,
                 valv_error *err)
{
    uint8_t *abuf = NULL;
    size_t alen = 0;
    int rc = message_pack(a, &abuf, &alen, err);
    if (rc == VALV_OK)
        rc = message_encodes_to(b, abuf, alen, same, err);
    free(abuf);
    return rc;
}

int protection_same(const Valv__V1__Asset *a, const Valv__V1__Asset *b, bool *same,
                    valv_error *err)
{
    bool same_classification = false, same_security = false;
    int rc = message_same((const ProtobufCMessage *)a->classification,
                          (const ProtobufCMessage *)b->classification, &same_classification,
                          err);
    if (rc == VALV_OK)
        rc = message_same((const ProtobufCMessage *)a->security,
                          (const ProtobufCMessage *)b->security, &same_security, err);
    *same = same_classification && same_security;
    return rc;
}

void asset_array_free(Valv__V1__Asset **assets, size_t n)
{
    if (assets == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        if (assets[i] != NULL)
            valv__v1__asset__free_unpacked(assets[i], NULL);
    free(assets);
}

/* Empties the fields only the store sets, so nothing a caller sent survives. */
static void asset_clear_output(Valv__V1__Asset *a)
{
    string_clear(&a->name);
    if (a->effective != NULL)
        valv__v1__effective__free_unpacked(a->effective, NULL);
    a->effective = NULL;
    if (a->review != NULL)
        valv__v1__review_status__free_unpacked(a->review, NULL);
    a->review = NULL;
    a->revision = 0;
    string_clear(&a->etag);
    timestamp_clear(&a->create_time);
    timestamp_clear(&a->update_time);
    timestamp_clear(&a->delete_time);
    string_clear(&a->create_by);
    string_clear(&a->update_by);
    string_clear(&a->delete_by);
}

/* --- Index keys ------------------------------------------------------------- */

static void key_append(index_entry *entry, const void *data, size_t len)
{
    /* Validation bounds every part; cutting here only guards LMDB. */
    if (len > KEY_MAX - entry->key_len)
        len = KEY_MAX - entry->key_len;
    memcpy(entry->key + entry->key_len, data, len);
    entry->key_len += len;
}

/* How many bytes of display_name go into its key: at most
 * DISPLAY_KEY_NAME_MAX, not ending inside a UTF-8 sequence. */
static size_t display_key_len(const char *display_name)
{
    size_t len = strlen(display_name);
    if (len <= DISPLAY_KEY_NAME_MAX)
        return len;
    len = DISPLAY_KEY_NAME_MAX;
    while (len > 0 && ((unsigned char)display_name[len] & 0xc0) == 0x80)
        len--;
    return len;
}

/* by_source key: source \0 external_id. */
static void source_key(const char *source, const char *external_id, index_entry *entry)
{
    entry->key_len = 0;
    key_append(entry, source, strlen(source) + 1);
    key_append(entry, external_id, strlen(external_id));
}

/* A deleted asset keeps its entries except by_source, which only live
 * assets hold so that the import identity becomes free again, and the
 * review queue, which never holds deleted assets. */
size_t asset_index_entries(const Valv__V1__Asset *a, index_entry entries[INDEX_ENTRIES_MAX])
{
    const char *id = asset_id(a);
    size_t id_len = strlen(id);
    unsigned char kind = (unsigned char)a->kind;
    unsigned char time_key[TIME_KEY_LEN];
    size_t n = 0;
    index_entry *e;

    e = &entries[n++];
    e->table = TABLE_BY_UNIT;
    e->key_len = 0;
    key_append(e, a->owner_unit, strlen(a->owner_unit) + 1);
    key_append(e, id, id_len);
    e->value = "";

    e = &entries[n++];
    e->table = TABLE_BY_KIND;
    e->key_len = 0;
    key_append(e, &kind, 1);
    key_append(e, id, id_len);
    e->value = "";

    e = &entries[n++];
    e->table = TABLE_BY_DISPLAY;
    e->key_len = 0;
    key_append(e, a->display_name, display_key_len(a->display_name));
    key_append(e, "", 1);
    key_append(e, id, id_len);
    e->value = "";

    e = &entries[n++];
    e->table = TABLE_BY_UPDATE;
    e->key_len = 0;
    be64_put(time_key, (uint64_t)timestamp_ns(a->update_time));
    key_append(e, time_key, sizeof time_key);
    key_append(e, id, id_len);
    e->value = "";

    if (a->source[0] != '\0' && !asset_deleted(a)) {
        e = &entries[n++];
        e->table = TABLE_BY_SOURCE;
        source_key(a->source, a->external_id, e);
        e->value = id;
    }

    e = &entries[n];
    if (review_queue_key(a, e->key, &e->key_len)) {
        e->table = TABLE_REVIEW_QUEUE;
        e->value = "";
        n++;
    }
    return n;
}

static bool index_entry_equal(const index_entry *a, const index_entry *b)
{
    return a->table == b->table && a->key_len == b->key_len &&
           memcmp(a->key, b->key, a->key_len) == 0 && strcmp(a->value, b->value) == 0;
}

static bool index_entry_in(const index_entry *e, const index_entry *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (index_entry_equal(e, &list[i]))
            return true;
    return false;
}

/* --- Tables ------------------------------------------------------------------- */

/* What a write that finds the map full says. The writer grows the map
 * and runs the write again while it can (store_map_full); the message is
 * the user's once the map is as large as it may be. */
static int map_full_error(const store *s, valv_error *err)
{
    if (s->map_size < s->map_size_max)
        return valv_error_set(err, VALV_EFULL,
                              "the database's map of %zu MiB is full; it may grow to %zu MiB "
                              "(store_grow)",
                              s->map_size / MIB, s->map_size_max / MIB);
    return valv_error_set(err, VALV_EFULL,
                          "the database is full: it has reached the largest size it may "
                          "have, %zu MiB; raise --max-db-size to let it grow",
                          s->map_size_max / MIB);
}

int txn_map_full(store_txn *t, valv_error *err)
{
    t->full = true;
    t->s->map_full = true;
    return map_full_error(t->s, err);
}

/* A commit that could not write its pages. LMDB reports a write cut short
 * by a full file system as EIO, so the file system is asked: when it has
 * no room left, the user learns that, not an I/O error. */
static int commit_write_error(const store *s, int rc, valv_error *err)
{
    const char *path = NULL;
    struct statvfs fs;
    bool disk_full = rc == ENOSPC || rc == EDQUOT ||
                     (rc == EIO && mdb_env_get_path(s->env, &path) == 0 &&
                      statvfs(path, &fs) == 0 &&
                      (uint64_t)fs.f_bavail * fs.f_frsize < DISK_FULL_BYTES);
    if (disk_full)
        return valv_error_set(err, VALV_EFULL,
                              "no space left on the disk that holds the database; nothing of "
                              "this change was written: free some space and retry");
    return storage_error(rc, "committing", err);
}

/* Every put: v is the value, or with MDB_RESERVE its size, and then
 * where to write it. */
static int txn_write(store_txn *t, int table, const void *key, size_t key_len, MDB_val *v,
                     unsigned int flags, valv_error *err)
{
    MDB_val k = {key_len, (void *)key};
    int rc = 0;
    if (t->full)
        return map_full_error(t->s, err);
    if (t->cursors[table] == NULL)
        rc = mdb_cursor_open(t->txn, t->s->tables[table], &t->cursors[table]);
    if (rc == 0)
        rc = mdb_cursor_put(t->cursors[table], &k, v, flags);
    if (rc == 0)
        t->writes++;
    if (rc == MDB_MAP_FULL)
        return txn_map_full(t, err);
    if (rc == MDB_KEYEXIST && (flags & MDB_NOOVERWRITE))
        return valv_error_set(err, VALV_EEXIST, "already exists");
    return rc == 0 ? VALV_OK : storage_error(rc, "writing", err);
}

int txn_reserve(store_txn *t, int table, const void *key, size_t key_len, size_t size,
                unsigned int flags, void **data, valv_error *err)
{
    MDB_val v = {size, NULL};
    int rc = txn_write(t, table, key, key_len, &v, flags | MDB_RESERVE, err);
    *data = rc == VALV_OK ? v.mv_data : NULL;
    return rc;
}

int txn_put_message(store_txn *t, int table, const void *key, size_t key_len,
                    const ProtobufCMessage *m, unsigned int flags, valv_error *err)
{
    void *data = NULL;
    int rc = txn_reserve(t, table, key, key_len, protobuf_c_message_get_packed_size(m), flags,
                         &data, err);
    if (rc == VALV_OK)
        protobuf_c_message_pack(m, data);
    return rc;
}

int txn_put(store_txn *t, int table, const void *key, size_t key_len, const void *data,
            size_t data_len, valv_error *err)
{
    MDB_val v = {data_len, (void *)data};
    return txn_write(t, table, key, key_len, &v, 0, err);
}

int txn_del(store_txn *t, int table, const void *key, size_t key_len, valv_error *err)
{
    MDB_val k = {key_len, (void *)key};
    if (t->full)
        return map_full_error(t->s, err);
    int rc = mdb_del(t->txn, t->s->tables[table], &k, NULL);
    if (rc == 0)
        t->writes++;
    if (rc == MDB_MAP_FULL)
        return txn_map_full(t, err);
    if (rc == MDB_NOTFOUND)
        rc = 0;
    return rc == 0 ? VALV_OK : storage_error(rc, "deleting", err);
}

int asset_record(const store *s, MDB_txn *txn, const char *id, MDB_val *val, valv_error *err)
{
    size_t id_len = strlen(id);
    MDB_val key = {id_len, (void *)id};
    int rc = id_len == 0 || id_len > VALV_ASSET_ID_MAX
                 ? MDB_NOTFOUND /* not a key LMDB accepts, and no asset has it */
                 : mdb_get(txn, s->tables[TABLE_ASSETS], &key, val);
    if (rc == MDB_NOTFOUND)
        return asset_not_found(id, err);
    if (rc != 0)
        return storage_error(rc, "reading an asset", err);
    return VALV_OK;
}

int asset_load(const store *s, MDB_txn *txn, const char *id, Valv__V1__Asset **out,
               valv_error *err)
{
    MDB_val val;
    *out = NULL;
    int rc = asset_record(s, txn, id, &val, err);
    if (rc != VALV_OK)
        return rc;
    return asset_unpack(val.mv_data, val.mv_size, id, NULL, out, err);
}

/* Asset fields (asset.proto) that describe an asset: no link rule, access
 * check or inheritance step reads them. ASSET_DESCRIPTIVE_FIELDS_N is in
 * store_internal.h for the test that checks these numbers by name. */
const uint32_t asset_descriptive_fields[ASSET_DESCRIPTIVE_FIELDS_N] = {
    3,  /* display_name */
    4,  /* description */
    6,  /* owner */
    9,  /* attributes */
    10, /* labels */
    11, /* source */
    12, /* external_id */
    16, /* etag */
    17, /* create_time */
    18, /* update_time */
    20, /* create_by */
    21, /* update_by */
};

/* Records up to this size are filtered on the stack. */
#define VALUES_BUF_STACK 4096

int asset_load_values(const store *s, MDB_txn *txn, const char *id, Valv__V1__Asset **out,
                      valv_error *err)
{
    uint8_t stack_buf[VALUES_BUF_STACK];
    MDB_val val;

    *out = NULL;
    int rc = asset_record(s, txn, id, &val, err);
    if (rc != VALV_OK)
        return rc;
    uint8_t *buf = val.mv_size <= sizeof stack_buf ? stack_buf : malloc(val.mv_size);
    if (buf == NULL)
        return out_of_memory(err);
    size_t len = wire_drop(val.mv_data, val.mv_size, asset_descriptive_fields,
                           ASSET_DESCRIPTIVE_FIELDS_N, buf);
    if (len == WIRE_MALFORMED) /* asset_unpack says what is wrong with it */
        rc = asset_unpack(val.mv_data, val.mv_size, id, NULL, out, err);
    else
        rc = asset_unpack(buf, len, id, NULL, out, err);
    if (buf != stack_buf)
        free(buf);
    return rc;
}

int asset_not_found(const char *id, valv_error *err)
{
    return valv_error_set(err, VALV_ENOTFOUND, "asset assets/%s not found", id);
}

static int asset_exists(store_txn *t, const char *id, bool *exists, valv_error *err)
{
    MDB_val key = {strlen(id), (void *)id};
    MDB_val val;
    int rc = mdb_get(t->txn, t->s->tables[TABLE_ASSETS], &key, &val);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return storage_error(rc, "reading an asset", err);
    *exists = rc == 0;
    return VALV_OK;
}

bool index_entry_id(const MDB_val *key, const MDB_val *val, size_t skip, index_id_place place,
                    char id[VALV_ASSET_ID_MAX + 1])
{
    if (key->mv_size < skip)
        return false;
    const char *text = (const char *)key->mv_data + skip;
    size_t len = key->mv_size - skip;
    const char *nul;

    switch (place) {
    case ID_IS_KEY:
        break;
    case ID_AFTER_NUL:
        nul = memchr(text, '\0', len);
        if (nul == NULL)
            return false;
        len -= (size_t)(nul + 1 - text);
        text = nul + 1;
        break;
    case ID_AFTER_KIND:
    case ID_AFTER_TIME: {
        size_t before = place == ID_AFTER_KIND ? 1 : TIME_KEY_LEN;
        if (len < before)
            return false;
        text += before;
        len -= before;
        break;
    }
    case ID_IN_VALUE:
        text = val->mv_data;
        len = val->mv_size;
        break;
    }
    if (len == 0 || len > VALV_ASSET_ID_MAX || memchr(text, '\0', len) != NULL)
        return false;
    memcpy(id, text, len);
    id[len] = '\0';
    return true;
}

int source_lookup(const store *s, MDB_txn *txn, const char *source, const char *external_id,
                  char *id, bool *found, valv_error *err)
{
    index_entry entry;
    MDB_val key, val;

    *found = false;
    source_key(source, external_id, &entry);
    key.mv_size = entry.key_len;
    key.mv_data = entry.key;
    int rc = mdb_get(txn, s->tables[TABLE_BY_SOURCE], &key, &val);
    if (rc == MDB_NOTFOUND)
        return VALV_OK;
    if (rc != 0)
        return storage_error(rc, "reading the source index", err);
    if (val.mv_size == 0 || val.mv_size > VALV_ASSET_ID_MAX)
        return valv_error_set(err, VALV_EINTERNAL,
                              "the source index entry of %s %s is damaged; run valvd verify",
                              source, external_id);
    memcpy(id, val.mv_data, val.mv_size);
    id[val.mv_size] = '\0';
    *found = true;
    return VALV_OK;
}

/* Refuses a's (source, external_id) when another live asset holds it. */
static int check_source_free(store_txn *t, const Valv__V1__Asset *a, const store_actor *who,
                             valv_error *err)
{
    char holder[VALV_ASSET_ID_MAX + 1];
    bool found = false;

    if (a->source[0] == '\0' || asset_deleted(a))
        return VALV_OK;
    int rc = source_lookup(t->s, t->txn, a->source, a->external_id, holder, &found, err);
    if (rc != VALV_OK || !found || strcmp(holder, asset_id(a)) == 0)
        return rc;
    /* Name the asset holding the identity only to a caller who may see it. */
    Valv__V1__Asset *other = NULL;
    valv_error ignored;
    valv_error_clear(&ignored);
    bool visible = asset_load(t->s, t->txn, holder, &other, &ignored) == VALV_OK &&
                   store_asset_visible(who, other);
    if (other != NULL)
        valv__v1__asset__free_unpacked(other, NULL);
    if (visible)
        return valv_error_set(err, VALV_EEXIST, "source %s external_id %s is already used by assets/%s",
                              a->source, a->external_id, holder);
    return valv_error_set(err, VALV_EEXIST, "source %s external_id %s is already used by another asset",
                          a->source, a->external_id);
}

int asset_write(store_txn *t, const Valv__V1__Asset *old, Valv__V1__Asset *a, valv_error *err)
{
    store *s = t->s;
    index_entry old_entries[INDEX_ENTRIES_MAX], new_entries[INDEX_ENTRIES_MAX];
    size_t n_old = 0, n_new = 0;
    int64_t revision = t->revision + 1;
    char etag[24];
    int rc;

    a->revision = revision;
    snprintf(etag, sizeof etag, "%" PRId64, revision);
    rc = string_set(&a->etag, etag, err);
    if (rc != VALV_OK)
        goto done;
    if (a->review != NULL)
        a->review->overdue = false; /* computed at read time, never stored */

    /* Only the entries that differ are touched: a recompute rewrites many
     * assets whose indexed fields stay as they were. */
    if (old != NULL)
        n_old = asset_index_entries(old, old_entries);
    n_new = asset_index_entries(a, new_entries);
    for (size_t i = 0; i < n_old; i++) {
        if (index_entry_in(&old_entries[i], new_entries, n_new))
            continue;
        rc = txn_del(t, old_entries[i].table, old_entries[i].key,
                     old_entries[i].key_len, err);
        if (rc != VALV_OK)
            goto done;
    }
    for (size_t i = 0; i < n_new; i++) {
        if (index_entry_in(&new_entries[i], old_entries, n_old))
            continue;
        rc = txn_put(t, new_entries[i].table, new_entries[i].key,
                     new_entries[i].key_len, new_entries[i].value, strlen(new_entries[i].value),
                     err);
        if (rc != VALV_OK)
            goto done;
    }

    rc = txn_put_message(t, TABLE_ASSETS, asset_id(a), strlen(asset_id(a)), &a->base,
                         0, err);
    if (rc == VALV_OK && strcmp(asset_id(a), s->id_greatest) > 0 &&
        id_is_generated(asset_id(a), NULL))
        text_copy(s->id_greatest, sizeof s->id_greatest, asset_id(a));
    if (rc == VALV_OK)
        rc = deleted_count_write(t, old, a, err);
    if (rc != VALV_OK)
        goto done;
    t->revision = revision;
    rc = audit_append_asset(t, old, a, err);
done:
    return rc;
}

int etag_check(const Valv__V1__Asset *a, const char *etag, valv_error *err)
{
    if (etag == NULL || etag[0] == '\0' || strcmp(etag, a->etag) == 0)
        return VALV_OK;
    return valv_error_set(err, VALV_EABORTED,
                          "etag \"%s\" does not match the current etag \"%s\"; "
                          "read the asset again and retry",
                          etag, a->etag);
}

int load_for_change(store_txn *t, const char *id, const store_actor *who, store_act act,
                    const char *etag, Valv__V1__Asset **out, valv_error *err)
{
    int rc = access_load_for(t, id, who, act, out, err);
    if (rc == VALV_OK)
        rc = etag_check(*out, etag, err);
    if (rc != VALV_OK && *out != NULL) {
        valv__v1__asset__free_unpacked(*out, NULL);
        *out = NULL;
    }
    return rc;
}

int page_size_get(int32_t requested, size_t *out, valv_error *err)
{
    if (requested < 0)
        return valv_error_violation(err, "page_size",
                                    "must not be negative; allowed: 0 (default %d) to %d",
                                    VALV_PAGE_SIZE_DEFAULT, VALV_PAGE_SIZE_MAX);
    if (requested == 0)
        *out = VALV_PAGE_SIZE_DEFAULT;
    else if (requested > VALV_PAGE_SIZE_MAX)
        *out = VALV_PAGE_SIZE_MAX;
    else
        *out = (size_t)requested;
    return VALV_OK;
}

/* --- Ids -------------------------------------------------------------------- */

static const char base32hex[] = "0123456789abcdefghijklmnopqrstuv";

int txn_random(store_txn *t, void *out, size_t n, valv_error *err)
{
    store *s = t->s;
    if (s->random_used + n > sizeof s->random_pool) {
        if (RAND_bytes(s->random_pool, sizeof s->random_pool) != 1)
            return valv_error_set(err, VALV_EINTERNAL, "no random numbers to be had from OpenSSL");
        s->random_used = 0;
    }
    memcpy(out, s->random_pool + s->random_used, n);
    s->random_used += n;
    return VALV_OK;
}

void id_sequence_next(id_sequence *seq, uint64_t now_ms, uint32_t random)
{
    /* A clock that went back, or a millisecond already used, continues the
     * last id's sequence; a sequence run out moves on a millisecond. */
    if (now_ms <= seq->ms && seq->sequence < ID_SEQUENCE_MAX) {
        seq->sequence++;
        return;
    }
    seq->ms = now_ms <= seq->ms ? seq->ms + 1 : now_ms;
    seq->sequence = random % ID_SEQUENCE_ROOM;
}

/* The value of base32hex digit c, or -1. */
static int base32hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'v')
        return c - 'a' + 10;
    return -1;
}

bool id_is_generated(const char *id, id_sequence *seq)
{
    uint64_t ms = 0;
    uint32_t sequence = 0;
    if (strlen(id) != ID_GENERATED_LEN || id[0] != 'a')
        return false;
    for (int i = 1; i < ID_GENERATED_LEN; i++) {
        int v = base32hex_value(id[i]);
        if (v < 0)
            return false;
        if (i <= ID_TIME_DIGITS)
            ms = ms << 5 | (uint64_t)v;
        else
            sequence = sequence << 5 | (uint32_t)v;
    }
    if (seq != NULL)
        *seq = (id_sequence){ms, sequence};
    return true;
}

void id_sequence_format(const id_sequence *seq, char out[ID_GENERATED_LEN + 1])
{
    out[0] = 'a';
    for (int i = 0; i < ID_TIME_DIGITS; i++)
        out[1 + i] = base32hex[(seq->ms >> (5 * (ID_TIME_DIGITS - 1 - i))) & 31];
    for (int i = 0; i < ID_SEQUENCE_DIGITS; i++)
        out[1 + ID_TIME_DIGITS + i] =
            base32hex[(seq->sequence >> (5 * (ID_SEQUENCE_DIGITS - 1 - i))) & 31];
    out[ID_GENERATED_LEN] = '\0';
}

/* Milliseconds since the epoch (clock_now), as ids count time. */
static uint64_t clock_ms(void)
{
    struct timespec now;
    clock_now(&now);
    return (uint64_t)timespec_ns(&now) / 1000000u;
}

static int id_generate(store_txn *t, char out[ID_GENERATED_LEN + 1], valv_error *err)
{
    uint32_t random = 0;
    int rc = txn_random(t, &random, sizeof random, err);
    if (rc != VALV_OK)
        return rc;
    id_sequence_next(&t->s->id_last, clock_ms(), random);
    id_sequence_format(&t->s->id_last, out);
    return VALV_OK;
}

/* Puts an id no asset has into out. */
static int id_generate_free(store_txn *t, char out[ID_GENERATED_LEN + 1], valv_error *err)
{
    for (int attempt = 0; attempt < ID_GENERATE_ATTEMPTS; attempt++) {
        bool exists = false;
        int rc = id_generate(t, out, err);
        if (rc == VALV_OK && strcmp(out, t->s->id_greatest) <= 0)
            rc = asset_exists(t, out, &exists, err);
        if (rc != VALV_OK)
            return rc;
        if (!exists)
            return VALV_OK;
        /* Taken by an id someone chose: try again from a random place in
         * the next millisecond, not the next id, which may be taken too. */
        t->s->id_last.sequence = ID_SEQUENCE_MAX;
    }
    return valv_error_set(err, VALV_EINTERNAL, "could not generate an unused asset id");
}

/* --- Open and close --------------------------------------------------------- */

static size_t round_to_pages(size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return (size + page - 1) / page * page;
}

int meta_get(const store *s, MDB_txn *txn, const char *name, MDB_val *val)
{
    MDB_val key = {strlen(name), (void *)name};
    return mdb_get(txn, s->tables[TABLE_META], &key, val);
}

int meta_put(const store *s, MDB_txn *txn, const char *name, const void *data, size_t len,
             const char *what, valv_error *err)
{
    MDB_val key = {strlen(name), (void *)name};
    MDB_val val = {len, (void *)data};
    int rc = mdb_put(txn, s->tables[TABLE_META], &key, &val, 0);
    return rc == 0 ? VALV_OK : storage_error(rc, what, err);
}

/* Writes the meta table of a new store. */
static int meta_create(store *s, MDB_txn *txn, valv_error *err)
{
    unsigned char version[8], revision[8], key[PAGETOKEN_KEY_LEN];
    unsigned char audit_hash[AUDIT_HASH_LEN] = {0}; /* what the first event follows */
    int rc;

    if (RAND_bytes(key, sizeof key) != 1)
        return valv_error_set(err, VALV_EINTERNAL, "no random numbers for the page-token key");
    be64_put(version, STORE_SCHEMA_VERSION);
    be64_put(revision, 0);
    const char *what = "creating the store";
    rc = meta_put(s, txn, META_SCHEMA_VERSION, version, sizeof version, what, err);
    if (rc == VALV_OK)
        rc = meta_put(s, txn, META_REVISION, revision, sizeof revision, what, err);
    if (rc == VALV_OK)
        rc = meta_put(s, txn, META_PAGE_TOKEN_KEY, key, sizeof key, what, err);
    if (rc == VALV_OK)
        rc = meta_put(s, txn, META_AUDIT_HASH, audit_hash, sizeof audit_hash, what, err);
    return rc;
}

/* Reads the meta table into s, creating it in a new store. */
static int meta_load(store *s, MDB_txn *txn, const char *dir, valv_error *err)
{
    MDB_val val;
    int rc = meta_get(s, txn, META_SCHEMA_VERSION, &val);

    if (rc == MDB_NOTFOUND && s->read_only)
        return valv_error_set(err, VALV_EPRECONDITION, "%s holds no Valv store", dir);
    if (rc == MDB_NOTFOUND) {
        rc = meta_create(s, txn, err);
        if (rc != VALV_OK)
            return rc;
        rc = meta_get(s, txn, META_SCHEMA_VERSION, &val);
    }
    if (rc != 0)
        return storage_error(rc, "reading the schema version", err);
    if (val.mv_size != 8)
        return valv_error_set(err, VALV_EPRECONDITION,
                              "the store in %s has an unreadable schema version", dir);
    uint64_t version = be64_get(val.mv_data);
    if (version != STORE_SCHEMA_VERSION)
        return valv_error_set(err, VALV_EPRECONDITION,
                              "the store in %s has schema version %" PRIu64
                              ", but this program reads version %d only; use the Valv "
                              "release that wrote it",
                              dir, version, STORE_SCHEMA_VERSION);

    rc = meta_get(s, txn, META_REVISION, &val);
    if (rc != 0 || val.mv_size != 8)
        return valv_error_set(err, VALV_EINTERNAL, "the store in %s has no revision counter", dir);
    atomic_store(&s->revision, (int64_t)be64_get(val.mv_data));

    rc = meta_get(s, txn, META_PAGE_TOKEN_KEY, &val);
    if (rc != 0 || val.mv_size != PAGETOKEN_KEY_LEN)
        return valv_error_set(err, VALV_EINTERNAL, "the store in %s has no page-token key", dir);
    memcpy(s->page_token_key, val.mv_data, PAGETOKEN_KEY_LEN);
    return VALV_OK;
}

/* How many keys id_greatest_find passes over, at most, that start with "a"
 * and sort after every generated id without being one, before it gives
 * the shortcut up (every generated id is then looked up). */
#define ID_GREATEST_WALK_MAX 4096

/* How far ahead of this machine's clock a stored id's time may be for new
 * ids to go on from it: another machine's clock, before a restore. */
#define ID_CLOCK_AHEAD_MAX_MS (24u * 3600u * 1000u)

/* Finds the greatest stored id of a generated id's shape (store.id_greatest),
 * and starts generating after it, so that generated ids keep growing
 * across restarts whatever the clock did. */
static int id_greatest_find(store *s, MDB_txn *txn, valv_error *err)
{
    /* Every generated id sorts before "aw": "a", then digits up to "v". */
    char after_generated[] = "aw";
    MDB_val key = {2, after_generated}, val;
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(txn, s->tables[TABLE_ASSETS], &cur);
    if (rc == 0) {
        rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
        rc = mdb_cursor_get(cur, &key, &val, rc == 0 ? MDB_PREV : MDB_LAST);
    }
    s->id_greatest[0] = '\0';
    for (int walked = 0; rc == 0 && key.mv_size > 0 && ((const char *)key.mv_data)[0] == 'a';
         walked++) {
        char id[ID_GENERATED_LEN + 1];
        id_sequence seq;
        if (walked == ID_GREATEST_WALK_MAX) {
            seq = (id_sequence){(UINT64_C(1) << 5 * ID_TIME_DIGITS) - 1, ID_SEQUENCE_MAX};
            id_sequence_format(&seq, s->id_greatest); /* "avvv...": past every generated id */
            break;
        }
        if (key.mv_size == ID_GENERATED_LEN) {
            memcpy(id, key.mv_data, key.mv_size);
            id[key.mv_size] = '\0';
            if (id_is_generated(id, &seq)) {
                text_copy(s->id_greatest, sizeof s->id_greatest, id);
                /* One far ahead of the clock was chosen by someone: going
                 * on from it would soon run out of time digits. */
                if (seq.ms <= clock_ms() + ID_CLOCK_AHEAD_MAX_MS)
                    s->id_last = seq;
                break;
            }
        }
        rc = mdb_cursor_get(cur, &key, &val, MDB_PREV);
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return storage_error(rc, "reading the asset ids", err);
    return VALV_OK;
}

/* Opens every table and reads (or creates) the meta table, in one transaction. */
static int tables_open(store *s, const char *dir, valv_error *err)
{
    MDB_txn *txn = NULL;
    unsigned int flags = s->read_only ? 0 : MDB_CREATE;
    int rc = mdb_txn_begin(s->env, NULL, s->read_only ? MDB_RDONLY : 0, &txn);

    if (rc != 0)
        return storage_error(rc, "opening the store", err);
    for (int i = 0; i < TABLE_COUNT; i++) {
        rc = mdb_dbi_open(txn, table_names[i], flags, &s->tables[i]);
        if (rc == MDB_NOTFOUND) {
            rc = valv_error_set(err, VALV_EPRECONDITION, "%s holds no Valv store", dir);
            goto done;
        }
        if (rc != 0) {
            rc = storage_error(rc, "opening the store", err);
            goto done;
        }
    }
    rc = meta_load(s, txn, dir, err);
    if (rc == VALV_OK && !s->read_only)
        rc = deleted_count_init(s, txn, err);
    if (rc == VALV_OK)
        rc = id_greatest_find(s, txn, err);
    if (rc != VALV_OK)
        goto done;
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc != 0)
        rc = storage_error(rc, "creating the store", err);
done:
    if (txn != NULL)
        mdb_txn_abort(txn);
    return rc;
}

/* Sets the map size: the larger of the size the store last ran with and
 * the configured initial size. */
static int map_size_init(store *s, size_t initial, valv_error *err)
{
    MDB_envinfo info;
    int rc = mdb_env_info(s->env, &info);
    if (rc == 0 && info.me_mapsize < initial && !s->read_only) {
        rc = mdb_env_set_mapsize(s->env, initial);
        if (rc == 0)
            rc = mdb_env_info(s->env, &info);
    }
    if (rc != 0)
        return storage_error(rc, "sizing the map", err);
    s->map_size = info.me_mapsize;
    return VALV_OK;
}

int store_open(const char *dir, const store_options *opts, store **out, valv_error *err)
{
    store_options defaults = {0};
    store *s = NULL;
    pthread_rwlockattr_t lock_attr;
    int rc;

    valv_error_clear(err);
    *out = NULL;
    if (opts == NULL)
        opts = &defaults;
    size_t initial = opts->map_size_initial ? opts->map_size_initial : STORE_MAP_SIZE_INITIAL_DEFAULT;
    size_t max = opts->map_size_max ? opts->map_size_max : STORE_MAP_SIZE_MAX_DEFAULT;
    initial = round_to_pages(initial);
    max = round_to_pages(max);
    if (initial > max)
        initial = max; /* a small --max-db-size is a small database */
    if (opts->review_interval < 0)
        return valv_error_set(err, VALV_EINVAL,
                              "review_interval is %lld seconds; it must be positive (or 0 for "
                              "the default of one year)",
                              (long long)opts->review_interval);

    if (!opts->read_only && mkdir(dir, 0700) != 0 && errno != EEXIST)
        return valv_error_set(err, VALV_EINTERNAL, "cannot create data directory %s: %s", dir,
                              strerror(errno));

    s = calloc(1, sizeof *s);
    if (s == NULL)
        return out_of_memory(err);
    s->read_only = opts->read_only;
    s->random_used = sizeof s->random_pool; /* empty: filled on first use */
    s->map_size_max = max;
    s->review_interval = opts->review_interval > 0 ? opts->review_interval
                                                   : STORE_REVIEW_INTERVAL_DEFAULT;
    /* Writer preference: a waiting store_grow is not starved by a stream of readers. */
    pthread_rwlockattr_init(&lock_attr);
    pthread_rwlockattr_setkind_np(&lock_attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&s->map_lock, &lock_attr);
    pthread_rwlockattr_destroy(&lock_attr);

    rc = mdb_env_create(&s->env);
    if (rc == 0)
        rc = mdb_env_set_maxreaders(s->env, STORE_MAX_READERS);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(s->env, STORE_MAX_TABLES);
    if (rc != 0) {
        rc = storage_error(rc, "opening the store", err);
        goto done;
    }
    rc = mdb_env_open(s->env, dir, MDB_NOTLS | (s->read_only ? MDB_RDONLY : 0), 0600);
    if (rc != 0) {
        rc = valv_error_set(err, VALV_EINTERNAL, "cannot open the store in %s: %s", dir,
                            mdb_strerror(rc));
        goto done;
    }
    rc = map_size_init(s, initial, err);
    if (rc != VALV_OK)
        goto done;
    rc = tables_open(s, dir, err);
    if (rc != VALV_OK)
        goto done;
    *out = s;
    s = NULL;
done:
    store_close(s);
    return rc;
}

void store_close(store *s)
{
    if (s == NULL)
        return;
    if (s->env != NULL)
        mdb_env_close(s->env);
    pthread_rwlock_destroy(&s->map_lock);
    free(s);
}

int64_t store_revision(store *s)
{
    return atomic_load(&s->revision);
}

/* --- Reads ------------------------------------------------------------------ */

int read_begin(store *s, MDB_txn **txn, valv_error *err)
{
    pthread_rwlock_rdlock(&s->map_lock);
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
    if (rc != 0) {
        pthread_rwlock_unlock(&s->map_lock);
        return storage_error(rc, "starting a read", err);
    }
    return VALV_OK;
}

void read_end(store *s, MDB_txn *txn)
{
    mdb_txn_abort(txn);
    pthread_rwlock_unlock(&s->map_lock);
}

int store_get_asset(store *s, const char *id, Valv__V1__Asset **out, valv_error *err)
{
    MDB_txn *txn;
    struct timespec now;

    valv_error_clear(err);
    *out = NULL;
    clock_now(&now);
    int rc = read_begin(s, &txn, err);
    if (rc != VALV_OK)
        return rc;
    rc = asset_load(s, txn, id, out, err);
    read_end(s, txn);
    if (rc == VALV_OK)
        review_mark_overdue(*out, timespec_ns(&now));
    return rc;
}

/* --- Reading an asset to answer with it as stored --------------------------------
 *
 * Whether a viewer may see an asset, and whether its review has fallen due
 * since it was written, are judged on three of its fields: owner_unit,
 * effective and review. store_read_asset decodes only those (a glance)
 * and, when the review is as stored, answers with the record's bytes:
 * decoding the whole record would cost more than the rest of the read. */

/* The fields a glance decodes, by number (asset.proto). */
enum { GLANCE_OWNER_UNIT, GLANCE_EFFECTIVE, GLANCE_REVIEW, GLANCE_FIELDS };
static const uint32_t glance_numbers[GLANCE_FIELDS] = {
    [GLANCE_OWNER_UNIT] = 5, [GLANCE_EFFECTIVE] = 13, [GLANCE_REVIEW] = 14};

/* The review status in its encoded bytes, with only what
 * review_mark_overdue judges on (state, due_time and overdue), into mem;
 * NULL when it cannot be read so. Decoding it whole, with its reviewer,
 * comment and three timestamps, cost a fifth of a GetAsset's own work. */
static Valv__V1__ReviewStatus *review_glance(const wire_span *review, arena *mem)
{
    /* ReviewStatus's fields and Timestamp's, by number (asset.proto,
     * timestamp.proto). */
    enum { STATE = 1, DUE_TIME = 5, OVERDUE = 7, SECONDS = 1, NANOS = 2 };
    static const uint32_t due_number[1] = {DUE_TIME};
    uint64_t state, overdue, seconds, nanos;
    wire_span due;

    if (!wire_varint(review->data, review->len, STATE, &state) ||
        !wire_varint(review->data, review->len, OVERDUE, &overdue) ||
        !wire_find(review->data, review->len, due_number, &due, 1))
        return NULL;
    Valv__V1__ReviewStatus *r = arena_alloc(mem, sizeof *r);
    if (r == NULL)
        return NULL;
    valv__v1__review_status__init(r);
    r->state = (Valv__V1__ReviewState)state;
    r->overdue = overdue != 0;
    if (due.data == NULL)
        return r;
    if (!wire_varint(due.data, due.len, SECONDS, &seconds) ||
        !wire_varint(due.data, due.len, NANOS, &nanos) ||
        (r->due_time = arena_alloc(mem, sizeof *r->due_time)) == NULL)
        return NULL;
    google__protobuf__timestamp__init(r->due_time);
    r->due_time->seconds = (int64_t)seconds;
    r->due_time->nanos = (int32_t)nanos;
    return r;
}

/* An asset with only the glance fields set, decoded from record into mem;
 * NULL when the record cannot be read so (the whole record is decoded
 * then, and says what is wrong). */
static Valv__V1__Asset *asset_glance(const uint8_t *record, size_t len, arena *mem)
{
    wire_span spans[GLANCE_FIELDS];
    if (!wire_find(record, len, glance_numbers, spans, GLANCE_FIELDS))
        return NULL;
    Valv__V1__Asset *a = arena_alloc(mem, sizeof *a);
    if (a == NULL)
        return NULL;
    valv__v1__asset__init(a);
    const wire_span *unit = &spans[GLANCE_OWNER_UNIT];
    if (unit->data != NULL) {
        char *text = arena_alloc(mem, unit->len + 1);
        if (text == NULL)
            return NULL;
        memcpy(text, unit->data, unit->len);
        text[unit->len] = '\0';
        a->owner_unit = text;
    }
    ProtobufCAllocator *allocator = arena_allocator(mem);
    const wire_span *effective = &spans[GLANCE_EFFECTIVE], *review = &spans[GLANCE_REVIEW];
    if (effective->data != NULL &&
        (a->effective = valv__v1__effective__unpack(allocator, effective->len, effective->data)) == NULL)
        return NULL;
    if (review->data != NULL && (a->review = review_glance(review, mem)) == NULL)
        return NULL;
    return a;
}

int store_read_asset(store *s, const char *id, const store_actor *viewer, arena *mem,
                     store_asset_reply *out, valv_error *err)
{
    MDB_txn *txn;
    MDB_val val;
    struct timespec now;
    uint8_t *record = NULL;

    valv_error_clear(err);
    *out = (store_asset_reply){0};
    clock_now(&now);
    int rc = read_begin(s, &txn, err);
    if (rc != VALV_OK)
        return rc;
    /* The record is LMDB's only while the transaction lives: copy it. */
    rc = asset_record(s, txn, id, &val, err);
    if (rc == VALV_OK && (record = arena_alloc(mem, val.mv_size > 0 ? val.mv_size : 1)) == NULL)
        rc = out_of_memory(err);
    if (rc == VALV_OK)
        memcpy(record, val.mv_data, val.mv_size);
    read_end(s, txn);
    if (rc != VALV_OK)
        return rc;

    Valv__V1__Asset *glance = asset_glance(record, val.mv_size, mem);
    if (glance != NULL && !store_asset_visible(viewer, glance))
        return asset_not_found(id, err);
    if (glance != NULL && !review_mark_overdue(glance, timespec_ns(&now))) {
        out->encoded = record;
        out->encoded_len = val.mv_size;
        return VALV_OK;
    }
    Valv__V1__Asset *a = NULL;
    rc = asset_unpack(record, val.mv_size, id, arena_allocator(mem), &a, err);
    if (rc != VALV_OK)
        return rc;
    if (!store_asset_visible(viewer, a))
        return asset_not_found(id, err);
    review_mark_overdue(a, timespec_ns(&now));
    out->asset = a;
    return VALV_OK;
}

int store_batch_get_assets(store *s, const char *const *ids, size_t n, Valv__V1__Asset ***out,
                           valv_error *err)
{
    MDB_txn *txn = NULL;
    Valv__V1__Asset **assets = NULL;
    struct timespec now;
    int rc;

    valv_error_clear(err);
    *out = NULL;
    clock_now(&now);
    assets = calloc(n > 0 ? n : 1, sizeof *assets);
    if (assets == NULL)
        return out_of_memory(err);
    rc = read_begin(s, &txn, err);
    if (rc != VALV_OK)
        goto done;
    for (size_t i = 0; i < n && rc == VALV_OK; i++) {
        rc = asset_load(s, txn, ids[i], &assets[i], err);
        if (rc == VALV_OK)
            review_mark_overdue(assets[i], timespec_ns(&now));
    }
    read_end(s, txn);
    if (rc != VALV_OK)
        goto done;
    *out = assets;
    assets = NULL;
done:
    asset_array_free(assets, n);
    return rc;
}

/* --- Writes ----------------------------------------------------------------- */

/* Writes a, the new version of old (NULL on create), with everything it
 * changes downstream: effective values, review states (inherit.c). */
static int change_write(store_txn *t, const Valv__V1__Asset *old, Valv__V1__Asset *a,
                        const struct timespec *now, valv_error *err)
{
    inherit *change = NULL;
    int rc = inherit_begin(t, now, &change, err);
    if (rc == VALV_OK)
        rc = inherit_set_asset(change, old, a, err);
    if (rc == VALV_OK)
        rc = inherit_finish(change, err);
    inherit_free(change);
    if (rc == VALV_OK)
        review_mark_overdue(a, timespec_ns(now));
    return rc;
}

/* The work of a create after the caller's own checks: asset is valid, id
 * is free (or NULL: one is generated), and check_source says whether the
 * asset's (source, external_id) must still be looked up. */
static int asset_create(store_txn *t, const Valv__V1__Asset *asset, const char *id,
                        bool check_source, const store_actor *who, Valv__V1__Asset **out,
                        valv_error *err)
{
    Valv__V1__Asset *a = NULL;
    char generated[ID_GENERATED_LEN + 1];
    char name[ASSET_NAME_MAX + 1];
    struct timespec now;
    int rc = VALV_OK;

    if (id == NULL) {
        rc = id_generate_free(t, generated, err);
        id = generated;
    }
    if (rc == VALV_OK)
        rc = asset_copy(asset, &a, err);
    if (rc != VALV_OK)
        goto done;
    asset_clear_output(a);
    asset_name_write(name, id);
    clock_now(&now);
    rc = audit_change_begin(t, VALV__V1__AUDIT_ACTION__ACTION_CREATE, who, NULL, &now, err);
    if (rc == VALV_OK)
        rc = string_set(&a->name, name, err);
    if (rc == VALV_OK)
        rc = timestamp_set(&a->create_time, &now, err);
    if (rc == VALV_OK)
        rc = timestamp_set(&a->update_time, &now, err);
    if (rc == VALV_OK)
        rc = string_set(&a->create_by, actor_name(who), err);
    if (rc == VALV_OK)
        rc = string_set(&a->update_by, actor_name(who), err);
    if (rc == VALV_OK && check_source)
        rc = check_source_free(t, a, who, err);
    if (rc == VALV_OK)
        rc = change_write(t, NULL, a, &now, err);
    if (rc != VALV_OK)
        goto done;
    *out = a;
    a = NULL;
done:
    if (a != NULL)
        valv__v1__asset__free_unpacked(a, NULL);
    return rc;
}

int store_create_asset(store_txn *t, const Valv__V1__Asset *asset, const char *id,
                       const store_actor *who, Valv__V1__Asset **out, valv_error *err)
{
    bool exists = false;
    int rc;

    valv_error_clear(err);
    *out = NULL;
    rc = validate_asset(asset, true, err);
    if (rc != VALV_OK) {
        valv_error_prefix_fields(err, "asset");
        return rc;
    }
    /* Before the id is looked at: a caller who may not create here learns
     * nothing about which ids are taken. */
    rc = access_check(who, STORE_ACT_CREATE, asset->owner_unit, err);
    if (rc != VALV_OK)
        return rc;
    if (id != NULL && id[0] != '\0') {
        rc = validate_asset_id(id, "asset_id", err);
        if (rc == VALV_OK)
            rc = asset_exists(t, id, &exists, err);
        if (rc == VALV_OK && exists)
            rc = valv_error_set(err, VALV_EEXIST, "asset assets/%s already exists", id);
        if (rc != VALV_OK)
            return rc;
    } else {
        id = NULL;
    }
    return asset_create(t, asset, id, true, who, out, err);
}

int asset_create_checked(store_txn *t, const Valv__V1__Asset *asset, const store_actor *who,
                         Valv__V1__Asset **out, valv_error *err)
{
    valv_error_clear(err);
    *out = NULL;
    int rc = access_check(who, STORE_ACT_CREATE, asset->owner_unit, err);
    if (rc != VALV_OK)
        return rc;
    return asset_create(t, asset, NULL, false, who, out, err);
}

/* What an update needs beyond UPDATE on the asset's unit (checked when it
 * was loaded): UPDATE on the unit it moves to, and CLASSIFY (on each unit
 * it is in before and after) when its classification or security change. */
static int update_authorize(const store_actor *who, const Valv__V1__Asset *stored,
                            const Valv__V1__Asset *updated, valv_error *err)
{
    bool moves = strcmp(stored->owner_unit, updated->owner_unit) != 0;
    bool same_protection = true;
    int rc = VALV_OK;

    if (moves)
        rc = access_check(who, STORE_ACT_UPDATE, updated->owner_unit, err);
    if (rc == VALV_OK)
        rc = protection_same(stored, updated, &same_protection, err);
    if (rc != VALV_OK || same_protection)
        return rc;
    rc = access_check(who, STORE_ACT_CLASSIFY, stored->owner_unit, err);
    if (rc == VALV_OK && moves)
        rc = access_check(who, STORE_ACT_CLASSIFY, updated->owner_unit, err);
    return rc;
}

int store_update_asset(store_txn *t, const Valv__V1__Asset *patch, const char *const *paths,
                       size_t n_paths, const store_actor *who, Valv__V1__Asset **out,
                       valv_error *err)
{
    Valv__V1__Asset *stored = NULL, *updated = NULL;
    const char *populated[MASK_POPULATED_MAX];
    const char *id = NULL;
    MDB_val record;
    struct timespec now;
    bool same = false;
    int rc;

    valv_error_clear(err);
    *out = NULL;
    clock_now(&now);
    rc = validate_asset_name(patch->name != NULL ? patch->name : "", "asset.name", &id, err);
    if (rc != VALV_OK)
        goto done;
    rc = access_load_for(t, id, who, STORE_ACT_UPDATE, &stored, err);
    if (rc != VALV_OK)
        goto done;
    if (n_paths == 0) {
        mask_populated(patch, populated, MASK_POPULATED_MAX, &n_paths);
        paths = populated;
    }

    /* The record as stored (LMDB's until this transaction next writes):
     * decoding it again makes the copy to update, and comparing with it
     * says whether the update changed anything, without encoding stored. */
    rc = asset_record(t->s, t->txn, id, &record, err);
    if (rc == VALV_OK)
        rc = asset_unpack(record.mv_data, record.mv_size, id, NULL, &updated, err);
    if (rc != VALV_OK)
        goto done;
    rc = mask_apply(updated, patch, paths, n_paths, err);
    if (rc == VALV_OK)
        rc = update_authorize(who, stored, updated, err);
    if (rc == VALV_OK)
        rc = etag_check(stored, patch->etag, err);
    if (rc != VALV_OK)
        goto done;
    if (asset_deleted(stored)) {
        rc = valv_error_set(err, VALV_EPRECONDITION,
                            "asset %s is deleted; undelete it before updating it", stored->name);
        goto done;
    }
    /* Checked as on create: the result must still be a complete asset. */
    rc = validate_asset(updated, true, err);
    if (rc != VALV_OK) {
        valv_error_prefix_fields(err, "asset");
        goto done;
    }
    rc = message_encodes_to(&updated->base, record.mv_data, record.mv_size, &same, err);
    if (rc != VALV_OK)
        goto done;
    if (same) {
        review_mark_overdue(stored, timespec_ns(&now));
        *out = stored;
        stored = NULL;
        goto done;
    }

    rc = audit_change_begin(t, VALV__V1__AUDIT_ACTION__ACTION_UPDATE, who, NULL, &now, err);
    if (rc == VALV_OK)
        rc = check_source_free(t, updated, who, err);
    if (rc == VALV_OK)
        rc = timestamp_set(&updated->update_time, &now, err);
    if (rc == VALV_OK)
        rc = string_set(&updated->update_by, actor_name(who), err);
    if (rc == VALV_OK)
        rc = change_write(t, stored, updated, &now, err);
    if (rc != VALV_OK)
        goto done;
    *out = updated;
    updated = NULL;
done:
    if (stored != NULL)
        valv__v1__asset__free_unpacked(stored, NULL);
    if (updated != NULL)
        valv__v1__asset__free_unpacked(updated, NULL);
    return rc;
}

int store_delete_asset(store_txn *t, const char *id, const char *etag, const char *reason,
                       bool force, const store_actor *who, Valv__V1__Asset **out,
                       valv_error *err)
{
    Valv__V1__Asset *stored = NULL, *deleted = NULL;
    inherit *change = NULL;
    struct timespec now;
    int rc;

    valv_error_clear(err);
    *out = NULL;
    clock_now(&now);
    rc = validate_text(reason != NULL ? reason : "", VALV_REASON_MAX, "reason", err);
    if (rc != VALV_OK)
        goto done;
    rc = load_for_change(t, id, who, STORE_ACT_DELETE, etag, &stored, err);
    if (rc != VALV_OK)
        goto done;
    if (asset_deleted(stored)) {
        rc = valv_error_set(err, VALV_EPRECONDITION, "asset %s is already deleted", stored->name);
        goto done;
    }
    rc = audit_change_begin(t, VALV__V1__AUDIT_ACTION__ACTION_DELETE, who, reason, &now, err);
    if (rc == VALV_OK)
        rc = asset_copy(stored, &deleted, err);
    if (rc == VALV_OK)
        rc = timestamp_set(&deleted->delete_time, &now, err);
    if (rc == VALV_OK)
        rc = string_set(&deleted->delete_by, actor_name(who), err);
    if (rc == VALV_OK)
        rc = inherit_begin(t, &now, &change, err);
    if (rc == VALV_OK)
        rc = inherit_set_asset(change, stored, deleted, err);
    /* A deleted asset carries nothing: its links go (with force), and what
     * they raised falls in the same change. */
    if (rc == VALV_OK)
        rc = links_remove_all(t, id, force, who, change, err);
    if (rc == VALV_OK)
        rc = inherit_finish(change, err);
    if (rc != VALV_OK)
        goto done;
    review_mark_overdue(deleted, timespec_ns(&now));
    *out = deleted;
    deleted = NULL;
done:
    inherit_free(change);
    if (stored != NULL)
        valv__v1__asset__free_unpacked(stored, NULL);
    if (deleted != NULL)
        valv__v1__asset__free_unpacked(deleted, NULL);
    return rc;
}

int store_undelete_asset(store_txn *t, const char *id, const char *etag,
                         const store_actor *who, Valv__V1__Asset **out, valv_error *err)
{
    Valv__V1__Asset *stored = NULL, *restored = NULL;
    struct timespec now;
    int rc;

    valv_error_clear(err);
    *out = NULL;
    clock_now(&now);
    rc = load_for_change(t, id, who, STORE_ACT_DELETE, etag, &stored, err);
    if (rc != VALV_OK)
        goto done;
    if (!asset_deleted(stored)) {
        rc = valv_error_set(err, VALV_EEXIST, "asset %s is not deleted", stored->name);
        goto done;
    }
    rc = audit_change_begin(t, VALV__V1__AUDIT_ACTION__ACTION_UNDELETE, who, NULL, &now, err);
    if (rc == VALV_OK)
        rc = asset_copy(stored, &restored, err);
    if (rc != VALV_OK)
        goto done;
    timestamp_clear(&restored->delete_time);
    string_clear(&restored->delete_by);
    rc = check_source_free(t, restored, who, err);
    if (rc == VALV_OK)
        rc = change_write(t, stored, restored, &now, err);
    if (rc != VALV_OK)
        goto done;
    *out = restored;
    restored = NULL;
done:
    if (stored != NULL)
        valv__v1__asset__free_unpacked(stored, NULL);
    if (restored != NULL)
        valv__v1__asset__free_unpacked(restored, NULL);
    return rc;
}

/* --- Transactions and map size ---------------------------------------------- */

/* The hash of the last audit event, as top-level transaction t sees it. A
 * store without one has no events yet: the first follows 32 zero bytes. */
static int audit_hash_load(store_txn *t, valv_error *err)
{
    MDB_val val;
    int rc = meta_get(t->s, t->txn, META_AUDIT_HASH, &val);
    if (rc == MDB_NOTFOUND) {
        memset(t->audit_hash, 0, sizeof t->audit_hash);
        return VALV_OK;
    }
    if (rc != 0)
        return storage_error(rc, "reading the audit log's last hash", err);
    if (val.mv_size != AUDIT_HASH_LEN)
        return valv_error_set(err, VALV_EINTERNAL,
                              "the audit log's last hash in the store is damaged; run valvd "
                              "verify");
    memcpy(t->audit_hash, val.mv_data, AUDIT_HASH_LEN);
    return VALV_OK;
}

int store_txn_begin(store *s, store_txn *parent, store_txn **out, valv_error *err)
{
    store_txn *t = NULL;
    int rc;

    valv_error_clear(err);
    *out = NULL;
    if (s->read_only)
        return valv_error_set(err, VALV_EPRECONDITION, "the store is open read-only");
    if (parent != NULL && parent->full)
        return map_full_error(s, err);
    t = calloc(1, sizeof *t);
    if (t == NULL)
        return out_of_memory(err);
    t->s = s;
    t->parent = parent;
    if (parent == NULL)
        pthread_rwlock_rdlock(&s->map_lock);
    rc = mdb_txn_begin(s->env, parent != NULL ? parent->txn : NULL, 0, &t->txn);
    if (rc != 0) {
        if (parent == NULL)
            pthread_rwlock_unlock(&s->map_lock);
        free(t);
        return storage_error(rc, "starting a write", err);
    }
    t->revision = parent != NULL ? parent->revision : atomic_load(&s->revision);
    t->revision_begin = t->revision;
    if (parent != NULL) {
        memcpy(t->audit_hash, parent->audit_hash, AUDIT_HASH_LEN);
    } else {
        rc = audit_hash_load(t, err);
        if (rc != VALV_OK) {
            store_txn_abort(t);
            return rc;
        }
    }
    *out = t;
    return VALV_OK;
}

int store_txn_commit(store_txn *t, valv_error *err)
{
    int rc;

    valv_error_clear(err);
    /* The counter and the chain's last hash are stored once per
     * transaction, not once per asset written: a recompute may write
     * thousands. */
    if (t->revision != t->revision_begin && !t->full) {
        unsigned char revision_be[8];
        be64_put(revision_be, (uint64_t)t->revision);
        rc = txn_put(t, TABLE_META, META_REVISION, strlen(META_REVISION),
                     revision_be, sizeof revision_be, err);
        if (rc == VALV_OK)
            rc = txn_put(t, TABLE_META, META_AUDIT_HASH, strlen(META_AUDIT_HASH),
                         t->audit_hash, AUDIT_HASH_LEN, err);
        if (rc != VALV_OK) {
            store_txn_abort(t);
            return rc;
        }
    }
    if (t->full) {
        store *s = t->s;
        store_txn_abort(t);
        return map_full_error(s, err);
    }
    rc = mdb_txn_commit(t->txn); /* frees t->txn, committed or not */
    if (rc == MDB_MAP_FULL)
        t->s->map_full = true;
    if (rc == 0) {
        if (t->parent != NULL) {
            t->parent->writes += t->writes;
            t->parent->revision = t->revision;
            memcpy(t->parent->audit_hash, t->audit_hash, AUDIT_HASH_LEN);
        } else {
            atomic_store(&t->s->revision, t->revision);
        }
        rc = VALV_OK;
    } else if (rc == MDB_MAP_FULL) {
        rc = map_full_error(t->s, err);
    } else {
        rc = commit_write_error(t->s, rc, err);
    }
    if (t->parent == NULL)
        pthread_rwlock_unlock(&t->s->map_lock);
    audit_change_clear(&t->change);
    free(t);
    return rc;
}

uint64_t store_txn_writes(const store_txn *t)
{
    return t->writes;
}

void store_txn_abort(store_txn *t)
{
    if (t == NULL)
        return;
    mdb_txn_abort(t->txn);
    if (t->parent == NULL)
        pthread_rwlock_unlock(&t->s->map_lock);
    audit_change_clear(&t->change);
    free(t);
}

/* Doubles the map; the caller holds map_lock exclusive. */
static int map_double(store *s, valv_error *err)
{
    if (s->map_size >= s->map_size_max)
        return valv_error_set(err, VALV_EFULL,
                              "the database is full (map size %zu MiB reached); raise "
                              "--max-db-size to let it grow",
                              s->map_size / MIB);
    size_t size = s->map_size * 2;
    if (size > s->map_size_max)
        size = s->map_size_max;
    int mdb_rc = mdb_env_set_mapsize(s->env, size);
    if (mdb_rc != 0)
        return storage_error(mdb_rc, "growing the map", err);
    s->map_size = size;
    s->map_full = false;
    return VALV_OK;
}

int store_grow(store *s, valv_error *err)
{
    valv_error_clear(err);
    pthread_rwlock_wrlock(&s->map_lock);
    int rc = map_double(s, err);
    pthread_rwlock_unlock(&s->map_lock);
    return rc;
}

void store_grow_ahead(store *s)
{
    size_t map_size, used;
    valv_error ignored;

    /* map_size changes only on this thread: read without the lock. */
    if (s->read_only || s->map_size >= s->map_size_max)
        return;
    store_map_usage(s, &map_size, &used);
    if (used <= map_size / 4 * 3 || pthread_rwlock_trywrlock(&s->map_lock) != 0)
        return;
    valv_error_clear(&ignored);
    map_double(s, &ignored); /* a failure leaves the map as it was: a write then finds it */
    pthread_rwlock_unlock(&s->map_lock);
}

bool store_map_full(store *s)
{
    return s->map_full;
}

void store_map_usage(store *s, size_t *map_size, size_t *used)
{
    MDB_envinfo info;
    MDB_stat stat;

    pthread_rwlock_rdlock(&s->map_lock);
    mdb_env_info(s->env, &info);
    mdb_env_stat(s->env, &stat);
    pthread_rwlock_unlock(&s->map_lock);
    *map_size = info.me_mapsize;
    *used = (info.me_last_pgno + 1) * stat.ms_psize;
}
