/* verify.c - store_verify_indexes: every index against the records it is
 * derived from, both ways.
 *
 * Forward, each record says which index entries it should have (an asset
 * through asset_index_entries, a link its links_in key, an event the
 * audit_by_asset keys of its assets), and each must be there. Backward,
 * each index entry names its record, which must exist and call for exactly
 * that entry. Together: the indexes hold what the records call for and
 * nothing else.
 */
#include "store.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "store_internal.h"

/* Stops a walk at the first disagreement; no valv_code has this value. */
#define CHECK_STOP (-1)

#define LINK_KEY_MAX (2 * VALV_ASSET_ID_MAX + 3) /* id \0 type \0 id */

/* Where the asset id is in an entry of each asset index. */
static const struct {
    int table;
    index_id_place place;
} asset_indexes[] = {
    {TABLE_BY_UNIT, ID_AFTER_NUL},      {TABLE_BY_KIND, ID_AFTER_KIND},
    {TABLE_BY_SOURCE, ID_IN_VALUE},     {TABLE_BY_DISPLAY, ID_AFTER_NUL},
    {TABLE_BY_UPDATE, ID_AFTER_TIME},   {TABLE_REVIEW_QUEUE, ID_AFTER_TIME},
};

typedef struct {
    store *s;
    MDB_txn *txn;
    store_verify_result *out;
    int table;      /* the table being walked */
    index_id_place place; /* where its entries hold the asset id, for an asset index */
    int64_t deleted; /* deleted assets met in the assets table */
    int64_t audit_indexed; /* audit_by_asset holds every event up to this revision */
} index_check;

void verify_failed(store_verify_result *out, int64_t revision, const char *fmt, va_list ap)
{
    vsnprintf(out->problem, sizeof out->problem, fmt, ap);
    out->ok = false;
    out->first_bad_revision = revision;
}

static int check_fail(index_check *c, int64_t revision, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int check_fail(index_check *c, int64_t revision, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verify_failed(c->out, revision, fmt, ap);
    va_end(ap);
    return CHECK_STOP;
}

typedef int (*entry_visit)(index_check *c, const MDB_val *key, const MDB_val *val,
                           valv_error *err);

/* Calls visit for every entry of table, in key order. */
static int table_each(index_check *c, int table, entry_visit visit, valv_error *err)
{
    MDB_cursor *cur = NULL;
    MDB_val key, val;
    int rc = mdb_cursor_open(c->txn, c->s->tables[table], &cur);

    if (rc != 0)
        return storage_error(rc, "checking the indexes", err);
    c->table = table;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        rc = visit(c, &key, &val, err);
        if (rc != VALV_OK)
            goto done;
    }
    rc = rc == MDB_NOTFOUND ? VALV_OK : storage_error(rc, "checking the indexes", err);
done:
    mdb_cursor_close(cur);
    return rc;
}

/* Copies len bytes of text into a NUL-terminated id; false when it cannot be one. */
static bool id_copy(const void *text, size_t len, char id[VALV_ASSET_ID_MAX + 1])
{
    if (len == 0 || len > VALV_ASSET_ID_MAX || memchr(text, '\0', len) != NULL)
        return false;
    memcpy(id, text, len);
    id[len] = '\0';
    return true;
}

/* Loads asset id for a check; *a is NULL when there is no such record. */
static int record_load(index_check *c, const char *id, Valv__V1__Asset **a, valv_error *err)
{
    int rc = asset_load(c->s, c->txn, id, a, err);
    if (rc == VALV_ENOTFOUND) {
        valv_error_clear(err);
        *a = NULL;
        return VALV_OK;
    }
    return rc;
}

static bool entry_matches(const index_entry *e, int table, const MDB_val *key,
                          const MDB_val *val)
{
    return e->table == table && e->key_len == key->mv_size &&
           memcmp(e->key, key->mv_data, key->mv_size) == 0 &&
           strlen(e->value) == val->mv_size && memcmp(e->value, val->mv_data, val->mv_size) == 0;
}

/* --- Assets ------------------------------------------------------------------------ */

/* Forward: every entry an asset calls for is in its index. */
static int asset_visit(index_check *c, const MDB_val *key, const MDB_val *val, valv_error *err)
{
    index_entry entries[INDEX_ENTRIES_MAX];
    char id[VALV_ASSET_ID_MAX + 1];
    Valv__V1__Asset *a = NULL;
    int rc = VALV_OK;

    if (!id_copy(key->mv_data, key->mv_size, id))
        return check_fail(c, 0, "the assets table holds a key that is no asset id");
    a = valv__v1__asset__unpack(NULL, val->mv_size, val->mv_data);
    if (a == NULL)
        return check_fail(c, 0, "the record of assets/%s cannot be read", id);
    const char *name_id = asset_name_id(a->name);
    if (name_id == NULL || strcmp(name_id, id) != 0) {
        rc = check_fail(c, 0, "the record stored as assets/%s names %s", id, a->name);
        goto done;
    }
    if (asset_deleted(a))
        c->deleted++;
    size_t n = asset_index_entries(a, entries);
    for (size_t i = 0; i < n && rc == VALV_OK; i++) {
        const index_entry *e = &entries[i];
        MDB_val k = {e->key_len, (void *)e->key}, v;
        int mdb_rc = mdb_get(c->txn, c->s->tables[e->table], &k, &v);
        if (mdb_rc == MDB_NOTFOUND)
            rc = check_fail(c, 0, "index %s has no entry for assets/%s", table_names[e->table],
                            id);
        else if (mdb_rc != 0)
            rc = storage_error(mdb_rc, "checking the indexes", err);
        else if (!entry_matches(e, e->table, &k, &v))
            rc = check_fail(c, 0, "index %s entry for assets/%s holds the wrong value",
                            table_names[e->table], id);
    }
    c->out->checked++;
done:
    valv__v1__asset__free_unpacked(a, NULL);
    return rc;
}

/* Backward: an index entry names an asset that calls for exactly it. */
static int asset_index_visit(index_check *c, const MDB_val *key, const MDB_val *val,
                             valv_error *err)
{
    const char *name = table_names[c->table];
    char id[VALV_ASSET_ID_MAX + 1];
    index_entry entries[INDEX_ENTRIES_MAX];
    Valv__V1__Asset *a = NULL;
    int rc;

    if (!index_entry_id(key, val, 0, c->place, id))
        return check_fail(c, 0, "index %s holds an entry that names no asset", name);
    rc = record_load(c, id, &a, err);
    if (rc != VALV_OK)
        return rc;
    if (a == NULL)
        return check_fail(c, 0, "index %s holds an entry for assets/%s, which does not exist",
                          name, id);
    size_t n = asset_index_entries(a, entries);
    bool called_for = false;
    for (size_t i = 0; i < n && !called_for; i++)
        called_for = entry_matches(&entries[i], c->table, key, val);
    valv__v1__asset__free_unpacked(a, NULL);
    if (!called_for)
        return check_fail(c, 0,
                          "index %s holds an entry for assets/%s that its record does not "
                          "call for (a stale entry)",
                          name, id);
    return VALV_OK;
}

/* The meta table's count of deleted assets (summary.c) against the records. */
static int deleted_count_check(index_check *c, valv_error *err)
{
    int64_t count = 0;
    bool known = false;
    int rc = deleted_count_get(c->s, c->txn, &count, &known, err);
    if (rc == VALV_EINTERNAL) {
        valv_error_clear(err); /* a finding, not a failure of the check */
        return check_fail(c, 0, "the meta table's count of deleted assets cannot be read");
    }
    if (rc != VALV_OK || !known) /* no count: a store written before it existed */
        return rc;
    if (count != c->deleted)
        return check_fail(c, 0,
                          "the meta table counts %" PRId64 " deleted assets; the records hold "
                          "%" PRId64,
                          count, c->deleted);
    return VALV_OK;
}

/* --- Links -------------------------------------------------------------------------- */

/* Splits a link key a \0 type \0 b; false when it is not one. */
static bool link_key_split(const MDB_val *key, char a[VALV_ASSET_ID_MAX + 1], int *type,
                           char b[VALV_ASSET_ID_MAX + 1])
{
    const unsigned char *k = key->mv_data;
    const unsigned char *nul = memchr(k, '\0', key->mv_size);
    if (nul == NULL)
        return false;
    size_t a_len = (size_t)(nul - k);
    if (key->mv_size < a_len + 3 || k[a_len + 2] != '\0')
        return false;
    *type = k[a_len + 1];
    return id_copy(k, a_len, a) && id_copy(k + a_len + 3, key->mv_size - a_len - 3, b);
}

/* True when table holds the link key a \0 type \0 b. */
static int link_key_exists(index_check *c, int table, const char *a, int type, const char *b,
                           bool *exists, valv_error *err)
{
    unsigned char buf[LINK_KEY_MAX];
    size_t a_len = strlen(a), b_len = strlen(b);
    MDB_val key = {a_len + 3 + b_len, buf}, val;

    memcpy(buf, a, a_len + 1);
    buf[a_len + 1] = (unsigned char)type;
    buf[a_len + 2] = '\0';
    memcpy(buf + a_len + 3, b, b_len);
    int rc = mdb_get(c->txn, c->s->tables[table], &key, &val);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return storage_error(rc, "checking the indexes", err);
    *exists = rc == 0;
    return VALV_OK;
}

static int asset_exists(index_check *c, const char *id, bool *exists, valv_error *err)
{
    Valv__V1__Asset *a = NULL;
    int rc = record_load(c, id, &a, err);
    *exists = a != NULL;
    if (a != NULL)
        valv__v1__asset__free_unpacked(a, NULL);
    return rc;
}

/* links_out holds the link records; links_in is their index. */
static int link_out_visit(index_check *c, const MDB_val *key, const MDB_val *val,
                          valv_error *err)
{
    char from[VALV_ASSET_ID_MAX + 1], to[VALV_ASSET_ID_MAX + 1];
    bool from_exists = false, to_exists = false, indexed = false;
    int type, rc;
    (void)val;

    if (!link_key_split(key, from, &type, to))
        return check_fail(c, 0, "links_out holds a key that is no link");
    rc = asset_exists(c, from, &from_exists, err);
    if (rc == VALV_OK)
        rc = asset_exists(c, to, &to_exists, err);
    if (rc == VALV_OK)
        rc = link_key_exists(c, TABLE_LINKS_IN, to, type, from, &indexed, err);
    if (rc != VALV_OK)
        return rc;
    if (!from_exists || !to_exists)
        return check_fail(c, 0, "links_out holds a link from assets/%s to assets/%s, and "
                          "assets/%s does not exist", from, to, from_exists ? to : from);
    if (!indexed)
        return check_fail(c, 0, "index links_in has no entry for the link from assets/%s to "
                          "assets/%s", from, to);
    c->out->checked++;
    return VALV_OK;
}

static int link_in_visit(index_check *c, const MDB_val *key, const MDB_val *val,
                         valv_error *err)
{
    char from[VALV_ASSET_ID_MAX + 1], to[VALV_ASSET_ID_MAX + 1];
    bool recorded = false;
    int type, rc;
    (void)val;

    if (!link_key_split(key, to, &type, from))
        return check_fail(c, 0, "index links_in holds a key that is no link");
    rc = link_key_exists(c, TABLE_LINKS_OUT, from, type, to, &recorded, err);
    if (rc != VALV_OK)
        return rc;
    if (!recorded)
        return check_fail(c, 0, "index links_in holds an entry for a link from assets/%s to "
                          "assets/%s that links_out does not have", from, to);
    return VALV_OK;
}

/* --- The audit index ----------------------------------------------------------------- */

static int audit_indexed(index_check *c, const char *name, int64_t revision, valv_error *err)
{
    unsigned char buf[AUDIT_INDEX_KEY_MAX];
    const char *id = asset_name_id(name);
    MDB_val key, val;

    if (id == NULL)
        return VALV_OK;
    key.mv_size = audit_index_key(id, revision, buf);
    key.mv_data = buf;
    int rc = mdb_get(c->txn, c->s->tables[TABLE_AUDIT_BY_ASSET], &key, &val);
    if (rc == MDB_NOTFOUND)
        return check_fail(c, revision, "index audit_by_asset has no entry for assets/%s at "
                          "revision %" PRId64, id, revision);
    return rc == 0 ? VALV_OK : storage_error(rc, "checking the indexes", err);
}

static int audit_visit(index_check *c, const MDB_val *key, const MDB_val *val,
                       valv_error *err)
{
    Valv__V1__AuditEvent *e = NULL;
    (void)val;
    if (key->mv_size != 8)
        return check_fail(c, 0, "the audit table holds a key that is no revision");
    int64_t revision = (int64_t)be64_get(key->mv_data);
    int rc = audit_event_load(c->s, c->txn, revision, &e, err);
    if (rc == VALV_EINTERNAL) {
        valv_error_clear(err); /* a finding, not a failure of the check */
        return check_fail(c, revision, "audit event %" PRId64 " cannot be read", revision);
    }
    /* Events after the last whole batch are not indexed yet (audit.c). */
    if (rc == VALV_OK && revision <= c->audit_indexed)
        rc = audit_indexed(c, e->asset, revision, err);
    if (rc == VALV_OK && revision <= c->audit_indexed)
        rc = audit_indexed(c, e->related_asset, revision, err);
    if (rc == VALV_OK)
        c->out->checked++;
    if (e != NULL)
        valv__v1__audit_event__free_unpacked(e, NULL);
    return rc;
}

static int audit_index_visit(index_check *c, const MDB_val *key, const MDB_val *val,
                             valv_error *err)
{
    char id[VALV_ASSET_ID_MAX + 1];
    Valv__V1__AuditEvent *e = NULL;
    (void)val;

    if (key->mv_size < 8 + 2 || !id_copy(key->mv_data, key->mv_size - 8 - 1, id) ||
        ((const char *)key->mv_data)[key->mv_size - 8 - 1] != '\0')
        return check_fail(c, 0, "index audit_by_asset holds a key that names no event");
    int64_t revision = (int64_t)be64_get((const unsigned char *)key->mv_data + key->mv_size - 8);
    int rc = audit_event_load(c->s, c->txn, revision, &e, err);
    if (rc == VALV_ENOTFOUND || rc == VALV_EINTERNAL) {
        valv_error_clear(err); /* a finding, not a failure of the check */
        return check_fail(c, revision, "index audit_by_asset holds an entry for assets/%s at "
                          "revision %" PRId64 ", and that event cannot be read",
                          id, revision);
    }
    if (rc != VALV_OK)
        return rc;
    const char *asset = asset_name_id(e->asset), *related = asset_name_id(e->related_asset);
    bool named = (asset != NULL && strcmp(asset, id) == 0) ||
                 (related != NULL && strcmp(related, id) == 0);
    valv__v1__audit_event__free_unpacked(e, NULL);
    if (!named)
        return check_fail(c, revision, "index audit_by_asset holds an entry for assets/%s at "
                          "revision %" PRId64 ", an event about other assets",
                          id, revision);
    return VALV_OK;
}

int store_verify_indexes(store *s, store_verify_result *out, valv_error *err)
{
    index_check c = {0};
    int rc;

    valv_error_clear(err);
    memset(out, 0, sizeof *out);
    out->ok = true;
    out->last_revision = store_revision(s);
    rc = read_begin(s, &c.txn, err);
    if (rc != VALV_OK)
        return rc;
    c.s = s;
    c.out = out;
    rc = table_each(&c, TABLE_ASSETS, asset_visit, err);
    if (rc == VALV_OK)
        rc = deleted_count_check(&c, err);
    for (size_t i = 0; i < sizeof asset_indexes / sizeof asset_indexes[0] && rc == VALV_OK; i++) {
        c.place = asset_indexes[i].place;
        rc = table_each(&c, asset_indexes[i].table, asset_index_visit, err);
    }
    if (rc == VALV_OK)
        rc = table_each(&c, TABLE_LINKS_OUT, link_out_visit, err);
    if (rc == VALV_OK)
        rc = table_each(&c, TABLE_LINKS_IN, link_in_visit, err);
    if (rc == VALV_OK)
        rc = audit_index_through(s, c.txn, &c.audit_indexed, err);
    if (rc == VALV_OK)
        rc = table_each(&c, TABLE_AUDIT, audit_visit, err);
    if (rc == VALV_OK)
        rc = table_each(&c, TABLE_AUDIT_BY_ASSET, audit_index_visit, err);
    if (rc == CHECK_STOP)
        rc = VALV_OK;
    read_end(s, c.txn);
    return rc;
}
