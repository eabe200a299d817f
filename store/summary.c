/* summary.c - the picture and the numbers: store_summarize (Admin.GetSummary),
 * store_get_stats (Admin.GetServerInfo, metrics) and the count of deleted
 * assets that keeps store_get_stats free of scans. See store.h.
 *
 * A summary walks the by_unit index, whose keys (owner_unit \0 id) come
 * grouped by unit in ascending order: one walk over the whole table gives
 * every unit in the order the reply lists them, and a walk over one unit's
 * prefix gives just that unit.
 *
 * The stats come from LMDB's own figures. The assets table's entry count is
 * every asset, live and deleted; no index holds live or deleted assets alone
 * (by_source and the review queue leave out some live ones too), so the
 * store keeps the number of deleted assets in the meta table, changed in the
 * same transaction as the asset whose delete_time appears or goes
 * (deleted_count_write, from asset_write), and checked by
 * store_verify_indexes. The live count is the difference.
 */
#include "store.h"

#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* The enums the counts are indexed by: each value is its index, so the
 * arrays are as long as the enum has values (0..n-1, no gaps). */
#define N_KINDS (valv__v1__asset_kind__descriptor.n_values)
#define N_LEVELS (valv__v1__level__descriptor.n_values)
#define N_SECURITY_CLASSES (valv__v1__security_class__descriptor.n_values)

/* --- Counting one unit ------------------------------------------------------------ */

static void unit_free(Valv__V1__UnitSummary *u)
{
    if (u != NULL)
        valv__v1__unit_summary__free_unpacked(u, NULL);
}

/* A unit with every count 0; unit NULL: the total, whose owner_unit is empty. */
static int unit_new(const char *unit, size_t unit_len, Valv__V1__UnitSummary **out,
                    valv_error *err)
{
    Valv__V1__UnitSummary *u = malloc(sizeof *u);
    if (u == NULL)
        return out_of_memory(err);
    valv__v1__unit_summary__init(u);
    if (unit != NULL)
        u->owner_unit = strndup(unit, unit_len);
    u->by_kind = calloc(N_KINDS, sizeof *u->by_kind);
    u->by_level = calloc(N_LEVELS, sizeof *u->by_level);
    u->by_security_class = calloc(N_SECURITY_CLASSES, sizeof *u->by_security_class);
    /* free_unpacked frees each array by its pointer: the lengths can be set now. */
    u->n_by_kind = N_KINDS;
    u->n_by_level = N_LEVELS;
    u->n_by_security_class = N_SECURITY_CLASSES;
    if (u->owner_unit == NULL || u->by_kind == NULL || u->by_level == NULL ||
        u->by_security_class == NULL) {
        unit_free(u);
        return out_of_memory(err);
    }
    *out = u;
    return VALV_OK;
}

static int max_int(int a, int b)
{
    return a > b ? a : b;
}

/* The highest of a's effective levels; 0 when none is set. */
static int highest_level(const Valv__V1__Asset *a)
{
    const Valv__V1__Effective *e = a->effective;
    if (e == NULL)
        return 0;
    return max_int(max_int(e->confidentiality, e->integrity),
                   max_int(e->availability, e->traceability));
}

static bool unclassified(const Valv__V1__Asset *a)
{
    const Valv__V1__Classification *c = a->classification;
    return c == NULL || (c->confidentiality == 0 && c->integrity == 0 && c->availability == 0 &&
                         c->traceability == 0);
}

/* Adds 1 to counts[value] when value is one of the enum's (a damaged record
 * may hold another number: it is then counted in total only). */
static void count_value(int64_t *counts, size_t n, int value)
{
    if (value >= 0 && (size_t)value < n)
        counts[value]++;
}

/* Counts a, whose review.overdue is set for now (review_mark_overdue). */
static void unit_count(Valv__V1__UnitSummary *u, const Valv__V1__Asset *a)
{
    const Valv__V1__ReviewStatus *r = a->review;
    int security_class = a->effective != NULL ? a->effective->security_class : 0;

    u->total++;
    count_value(u->by_kind, u->n_by_kind, a->kind);
    count_value(u->by_level, u->n_by_level, highest_level(a));
    count_value(u->by_security_class, u->n_by_security_class, security_class);
    if (a->effective != NULL && a->effective->flagged)
        u->flagged++;
    if (unclassified(a))
        u->unclassified++;
    if (r == NULL)
        return;
    switch (r->state) {
    case VALV__V1__REVIEW_STATE__PENDING:
        u->pending++;
        break;
    case VALV__V1__REVIEW_STATE__RETURNED:
        u->returned++;
        break;
    case VALV__V1__REVIEW_STATE__APPROVED:
        u->approved++;
        if (r->overdue)
            u->overdue++;
        break;
    default:
        break;
    }
}

/* Adds every count of u to sum. */
static void unit_add(Valv__V1__UnitSummary *sum, const Valv__V1__UnitSummary *u)
{
    sum->total += u->total;
    for (size_t i = 0; i < sum->n_by_kind; i++)
        sum->by_kind[i] += u->by_kind[i];
    for (size_t i = 0; i < sum->n_by_level; i++)
        sum->by_level[i] += u->by_level[i];
    for (size_t i = 0; i < sum->n_by_security_class; i++)
        sum->by_security_class[i] += u->by_security_class[i];
    sum->flagged += u->flagged;
    sum->pending += u->pending;
    sum->returned += u->returned;
    sum->approved += u->approved;
    sum->overdue += u->overdue;
    sum->unclassified += u->unclassified;
}

/* --- Walking units ---------------------------------------------------------------- */

/* One summary being made, in one read transaction. */
typedef struct {
    store *s;
    MDB_txn *txn;
    const store_actor *viewer;
    int64_t now_ns;
    Valv__V1__Summary *out; /* out->units grows as units are met */
    size_t units_cap;
} summary_walk;

/* Appends a unit named unit[0..len) with every count 0. */
static int unit_append(summary_walk *w, const char *unit, size_t len, valv_error *err)
{
    Valv__V1__Summary *out = w->out;
    if (out->n_units == w->units_cap) {
        size_t cap = w->units_cap == 0 ? 16 : 2 * w->units_cap;
        Valv__V1__UnitSummary **grown = realloc(out->units, cap * sizeof *grown);
        if (grown == NULL)
            return out_of_memory(err);
        out->units = grown;
        w->units_cap = cap;
    }
    int rc = unit_new(unit, len, &out->units[out->n_units], err);
    if (rc == VALV_OK)
        out->n_units++;
    return rc;
}

/* True when the last unit appended is named unit[0..len). */
static bool unit_is_last(const summary_walk *w, const char *unit, size_t len)
{
    if (w->out->n_units == 0)
        return false;
    const char *last = w->out->units[w->out->n_units - 1]->owner_unit;
    return strlen(last) == len && memcmp(last, unit, len) == 0;
}

/* Counts the live assets viewer sees among the by_unit entries that start
 * with prefix (prefix_len 0: every entry). A unit gets its summary when its
 * first counted asset is met, unless it is already the last one appended. */
static int walk_units(summary_walk *w, const char *prefix, size_t prefix_len, valv_error *err)
{
    MDB_cursor *cur = NULL;
    MDB_val key = {prefix_len, (void *)prefix}, val;
    Valv__V1__Asset *a = NULL;
    int rc = mdb_cursor_open(w->txn, w->s->tables[TABLE_BY_UNIT], &cur);

    if (rc != 0)
        return storage_error(rc, "summarising", err);
    for (rc = prefix_len > 0 ? mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE)
                             : mdb_cursor_get(cur, &key, &val, MDB_FIRST);
         rc == 0; rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        const char *k = key.mv_data;
        char id[VALV_ASSET_ID_MAX + 1];

        if (key.mv_size < prefix_len || memcmp(k, prefix, prefix_len) != 0)
            break;
        if (!index_entry_id(&key, NULL, 0, ID_AFTER_NUL, id))
            continue; /* not a key store.c writes */
        size_t unit_len = strlen(k); /* the key holds a \0: index_entry_id found it */
        rc = asset_load_values(w->s, w->txn, id, &a, err);
        if (rc != VALV_OK)
            goto done;
        if (!asset_deleted(a) && store_asset_visible(w->viewer, a)) {
            if (!unit_is_last(w, k, unit_len))
                rc = unit_append(w, k, unit_len, err);
            if (rc != VALV_OK)
                goto done;
            review_mark_overdue(a, w->now_ns);
            unit_count(w->out->units[w->out->n_units - 1], a);
        }
        valv__v1__asset__free_unpacked(a, NULL);
        a = NULL;
    }
    rc = rc == 0 || rc == MDB_NOTFOUND ? VALV_OK : storage_error(rc, "summarising", err);
done:
    if (a != NULL)
        valv__v1__asset__free_unpacked(a, NULL);
    mdb_cursor_close(cur);
    return rc;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Summarises the units named, each once, in ascending order (the order of
 * by_unit keys: a unit's name, then \0, sorts before any longer name it
 * begins). A unit nobody uses, or whose assets viewer cannot see, is there
 * with zero counts. */
static int walk_named_units(summary_walk *w, const char *const *units, size_t n_units,
                            valv_error *err)
{
    const char **sorted = malloc(n_units * sizeof *sorted);
    char prefix[VALV_OWNER_UNIT_MAX + 1];
    int rc = VALV_OK;

    if (sorted == NULL)
        return out_of_memory(err);
    memcpy(sorted, units, n_units * sizeof *sorted);
    qsort(sorted, n_units, sizeof *sorted, compare_strings);
    for (size_t i = 0; i < n_units && rc == VALV_OK; i++) {
        size_t len = strlen(sorted[i]);
        if (i > 0 && strcmp(sorted[i], sorted[i - 1]) == 0)
            continue;
        rc = unit_append(w, sorted[i], len, err);
        /* No stored unit is longer than the limit: nothing to walk. */
        if (rc != VALV_OK || len > VALV_OWNER_UNIT_MAX)
            continue;
        memcpy(prefix, sorted[i], len + 1); /* the name and its \0 */
        rc = walk_units(w, prefix, len + 1, err);
    }
    free(sorted);
    return rc;
}

/* The store's revision as txn sees it. */
static int revision_in(const store *s, MDB_txn *txn, int64_t *out, valv_error *err)
{
    MDB_val val;
    int rc = meta_get(s, txn, META_REVISION, &val);
    if (rc != 0 || val.mv_size != 8)
        return valv_error_set(err, VALV_EINTERNAL, "the store has no revision counter");
    *out = (int64_t)be64_get(val.mv_data);
    return VALV_OK;
}

int store_summarize(store *s, const store_actor *viewer, const char *const *units,
                    size_t n_units, Valv__V1__Summary **out, valv_error *err)
{
    summary_walk w = {.s = s, .viewer = viewer};
    struct timespec now;
    int rc;

    valv_error_clear(err);
    *out = NULL;
    w.out = malloc(sizeof *w.out);
    if (w.out == NULL)
        return out_of_memory(err);
    valv__v1__summary__init(w.out);
    clock_now(&now);
    w.now_ns = timespec_ns(&now);
    rc = timestamp_set(&w.out->time, &now, err);
    if (rc == VALV_OK)
        rc = unit_new(NULL, 0, &w.out->total, err);
    if (rc == VALV_OK)
        rc = read_begin(s, &w.txn, err);
    if (rc != VALV_OK)
        goto done;
    rc = revision_in(s, w.txn, &w.out->revision, err);
    if (rc == VALV_OK)
        rc = n_units > 0 ? walk_named_units(&w, units, n_units, err) : walk_units(&w, "", 0, err);
    for (size_t i = 0; rc == VALV_OK && i < w.out->n_units; i++)
        unit_add(w.out->total, w.out->units[i]);
done:
    if (w.txn != NULL)
        read_end(s, w.txn);
    if (rc != VALV_OK) {
        valv__v1__summary__free_unpacked(w.out, NULL);
        return rc;
    }
    *out = w.out;
    return VALV_OK;
}

/* --- The count of deleted assets ---------------------------------------------------- */

/* Counts the deleted assets record by record: for a store that has no
 * count yet, once. */
static int deleted_count_scan(const store *s, MDB_txn *txn, int64_t *out, valv_error *err)
{
    MDB_cursor *cur = NULL;
    MDB_val key, val;
    int64_t count = 0;
    int rc = mdb_cursor_open(txn, s->tables[TABLE_ASSETS], &cur);

    if (rc != 0)
        return storage_error(rc, "counting deleted assets", err);
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        Valv__V1__Asset *a = valv__v1__asset__unpack(NULL, val.mv_size, val.mv_data);
        if (a == NULL)
            continue; /* store_verify_indexes names damaged records */
        if (asset_deleted(a))
            count++;
        valv__v1__asset__free_unpacked(a, NULL);
    }
    mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND)
        return storage_error(rc, "counting deleted assets", err);
    *out = count;
    return VALV_OK;
}

int deleted_count_get(const store *s, MDB_txn *txn, int64_t *count, bool *known,
                      valv_error *err)
{
    MDB_val val;
    int rc = meta_get(s, txn, META_DELETED_ASSETS, &val);

    *count = 0;
    *known = false;
    if (rc == MDB_NOTFOUND)
        return VALV_OK;
    if (rc != 0)
        return storage_error(rc, "reading the count of deleted assets", err);
    if (val.mv_size != 8)
        return valv_error_set(err, VALV_EINTERNAL,
                              "the count of deleted assets is damaged; run valvd verify");
    *count = (int64_t)be64_get(val.mv_data);
    *known = true;
    return VALV_OK;
}

int deleted_count_init(store *s, MDB_txn *txn, valv_error *err)
{
    unsigned char buf[8];
    int64_t count = 0;
    bool known = false;
    int rc = deleted_count_get(s, txn, &count, &known, err);
    if (rc != VALV_OK || known)
        return rc;
    rc = deleted_count_scan(s, txn, &count, err);
    if (rc != VALV_OK)
        return rc;
    be64_put(buf, (uint64_t)count);
    return meta_put(s, txn, META_DELETED_ASSETS, buf, sizeof buf, "counting deleted assets", err);
}

int deleted_count_write(store_txn *t, const Valv__V1__Asset *old, const Valv__V1__Asset *a,
                        valv_error *err)
{
    bool was_deleted = old != NULL && asset_deleted(old);
    unsigned char buf[8];
    int64_t count = 0;
    bool known = false;

    if (asset_deleted(a) == was_deleted)
        return VALV_OK;
    int rc = deleted_count_get(t->s, t->txn, &count, &known, err);
    if (rc != VALV_OK)
        return rc;
    if (!known) /* deleted_count_init runs at every writable open */
        return valv_error_set(err, VALV_EINTERNAL, "the store has no count of deleted assets");
    be64_put(buf, (uint64_t)(count + (asset_deleted(a) ? 1 : -1)));
    return txn_put(t, TABLE_META, META_DELETED_ASSETS,
                   strlen(META_DELETED_ASSETS), buf, sizeof buf, err);
}

/* --- Stats ----------------------------------------------------------------------- */

int store_get_stats(store *s, store_stats *out, valv_error *err)
{
    MDB_txn *txn = NULL;
    MDB_stat assets;
    int64_t deleted = 0;
    bool known = false;
    size_t map_size = 0, used = 0;
    int rc;

    valv_error_clear(err);
    memset(out, 0, sizeof *out);
    rc = read_begin(s, &txn, err);
    if (rc != VALV_OK)
        return rc;
    int mdb_rc = mdb_stat(txn, s->tables[TABLE_ASSETS], &assets);
    if (mdb_rc != 0) {
        rc = storage_error(mdb_rc, "reading the store's statistics", err);
        goto done;
    }
    rc = revision_in(s, txn, &out->revision, err);
    if (rc == VALV_OK)
        rc = deleted_count_get(s, txn, &deleted, &known, err);
    /* Only a store opened read-only before its first writable open since
     * the count exists lacks it: tools, not the server. */
    if (rc == VALV_OK && !known)
        rc = deleted_count_scan(s, txn, &deleted, err);
    if (rc != VALV_OK)
        goto done;
    out->schema_version = STORE_SCHEMA_VERSION;
    out->deleted_assets = deleted;
    out->live_assets = (int64_t)assets.ms_entries - deleted;
done:
    read_end(s, txn);
    if (rc != VALV_OK)
        return rc;
    /* After read_end: store_map_usage takes the map lock itself, and a
     * second read lock in one thread may deadlock behind a waiting grow. */
    store_map_usage(s, &map_size, &used);
    out->database_bytes = (int64_t)used;
    out->map_bytes = (int64_t)map_size;
    out->map_bytes_max = (int64_t)s->map_size_max;
    return VALV_OK;
}
