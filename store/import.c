/* import.c - inventory imports: records keyed by (source, external_id),
 * applied through the store's own writes. See store.h, "Imports".
 *
 * Every change an import makes is an asset_create_checked (store_create_asset
 * without the checks the import has made), store_update_asset,
 * store_delete_asset, link_create or store_delete_link, so inheritance,
 * review and audit happen exactly as for the API. Each record goes in whole
 * or not at all: records go straight into the caller's transaction, and
 * only when one fails half-written is the call run again, with a
 * transaction per record from that one on (record_run).
 *
 * What an import keeps between calls is bounded: counts, the first
 * failures, the links waiting for records later in the stream, and (atomic
 * imports only) the caller's records until finish. What a call finds is
 * staged in the lists' tails and becomes part of the totals in
 * store_import_commit_batch, so a call that the writer runs again is not
 * counted twice.
 *
 * Seen marks: SYNC (and dry-run) imports mark each record's asset in the
 * import_seen table under a key naming the run,
 *   source \0 run id (16 bytes: begin time, 8 bytes BE ns; 8 random) external_id
 * so two imports of one source never see each other's marks. Finish deletes
 * the source's live assets (by_source) that carry no mark of this run, then
 * removes the run's marks and those of runs that never finished.
 */
#include "store.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "store_internal.h"
#include "validate.h"

#define RUN_TIME_LEN 8
#define RUN_RANDOM_LEN 8 /* part of the import_seen keys on disk: never change it */
#define RUN_ID_LEN (RUN_TIME_LEN + RUN_RANDOM_LEN)
/* Marks of a run that began this long ago belong to an import whose stream
 * broke before it finished: the next import of the source removes them. */
#define RUN_STALE_NS (7LL * 24 * 3600 * NS_PER_SECOND)
#define SEEN_KEY_MAX (VALV_SOURCE_MAX + 1 + RUN_ID_LEN + VALV_EXTERNAL_ID_MAX)
/* Assets a SYNC deletion pass collects before it deletes them: deleting
 * under an open cursor of the same table is what this avoids. */
#define SYNC_CHUNK 256

typedef struct {
    int64_t created, updated, unchanged, deleted, failed;
} import_counts;

typedef enum { OUTCOME_CREATED, OUTCOME_UPDATED, OUTCOME_UNCHANGED } record_outcome;

/* A link to a record not seen yet: made at finish, or its record fails. */
typedef struct {
    char from_id[VALV_ASSET_ID_MAX + 1];
    int type;
    size_t link_index;    /* in the record's links, for the failure reason */
    char *to_external_id;
    int64_t index;        /* the record's, for its failure report */
    char *external_id;
    char *origin;
    bool created;         /* the record counted as created (else as updated) */
} pending_link;

typedef struct {
    const Valv__V1__ImportRecord *record; /* borrowed until finish */
    int64_t index;
} held_record;

struct store_import {
    store *s;
    char source[VALV_SOURCE_MAX + 1];
    bool sync, dry_run, atomic;
    unsigned char run_id[RUN_ID_LEN];
    /* The request id of every change when the caller gives none: one id
     * ties together all the audit events of one import. */
    char request_id[2 * RUN_RANDOM_LEN + 1];

    import_counts total, staged;
    /* In each list, [0, n_*_committed) is part of the totals and the rest
     * is staged by the calls since the last store_import_commit_batch. */
    Valv__V1__ImportFailure **failures; /* STORE_IMPORT_FAILURES_MAX slots */
    size_t n_failures, n_failures_committed;
    pending_link *pending;
    size_t n_pending, n_pending_committed, cap_pending;
    held_record *held;
    size_t n_held, n_held_committed, cap_held;

    /* Records from this stream index on run in a transaction of their own
     * (record_run) until the next store_import_commit_batch. */
    int64_t careful_from;
    bool staging;        /* a call has staged something since the last commit */
    int64_t next_index;  /* where the staged calls ended in the stream */
    bool finish_staged;  /* store_import_finish is among them */
};

/* The facts an import sets; kind is set on create only. */
static const char *const fact_paths[] = {"display_name", "description", "owner_unit",
                                         "owner",        "attributes",  "labels"};
#define N_FACT_PATHS (sizeof fact_paths / sizeof fact_paths[0])

/* --- Small helpers -------------------------------------------------------------- */

/* Storage errors end the whole call; every other error fails one record. */
static bool error_is_fatal(int rc)
{
    return rc == VALV_EFULL || rc == VALV_EINTERNAL;
}

/* A sub-message with any field set (proto3 packs only those). */
static bool message_set(const void *m)
{
    return m != NULL && protobuf_c_message_get_packed_size(m) > 0;
}

static int strdup_checked(const char *value, char **out, valv_error *err)
{
    *out = strdup(value);
    return *out != NULL ? VALV_OK : out_of_memory(err);
}

/* Puts "prefix" in front of err's fields (or, without any, its message), so
 * that the reason names the part of the record that failed. */
static void error_prefix(valv_error *err, const char *prefix)
{
    if (err->n_violations > 0) {
        valv_error_prefix_fields(err, prefix);
        return;
    }
    char message[VALV_ERROR_MESSAGE_MAX];
    memcpy(message, err->message, sizeof message);
    valv_error_set(err, err->code, "%s: %s", prefix, message);
}

/* A failure reason: every violation ("field: what is wrong"), or the message. */
static void error_reason(const valv_error *e, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    if (e->n_violations <= 1) {
        text_copy(buf, cap, e->message);
        return;
    }
    for (int i = 0; i < e->n_violations && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s: %s", i > 0 ? "; " : "",
                                e->violations[i].field, e->violations[i].description);
}

/* who as the import's writes use it: its policy hooks kept, and the
 * import's own request id when who has none, so that every change of one
 * import shares it. */
static void actor_for(const store_import *imp, const store_actor *who, store_actor *out)
{
    *out = who != NULL ? *who : (store_actor){.actor = NULL};
    if (out->request_id == NULL || out->request_id[0] == '\0')
        out->request_id = imp->request_id;
}

/* --- Failures, pending links and staging ---------------------------------------- */

static int failure_add(store_import *imp, int64_t index, const char *external_id,
                       const char *origin, const valv_error *why, valv_error *err)
{
    Valv__V1__ImportFailure *f = NULL;
    char reason[VALV_ERROR_MESSAGE_MAX * 2];
    int rc = VALV_OK;

    imp->staged.failed++;
    if (imp->n_failures == STORE_IMPORT_FAILURES_MAX)
        return VALV_OK; /* counted; only the first are listed */
    f = malloc(sizeof *f);
    if (f == NULL)
        return out_of_memory(err);
    valv__v1__import_failure__init(f);
    f->index = index;
    error_reason(why, reason, sizeof reason);
    rc = string_set(&f->external_id, external_id, err);
    if (rc == VALV_OK)
        rc = string_set(&f->origin, origin, err);
    if (rc == VALV_OK)
        rc = string_set(&f->reason, reason, err);
    if (rc != VALV_OK) {
        valv__v1__import_failure__free_unpacked(f, NULL);
        return rc;
    }
    imp->failures[imp->n_failures++] = f;
    return VALV_OK;
}

static void pending_clear(pending_link *p)
{
    free(p->to_external_id);
    free(p->external_id);
    free(p->origin);
}

/* Drops the pending links from position n on. */
static void pending_truncate(store_import *imp, size_t n)
{
    while (imp->n_pending > n)
        pending_clear(&imp->pending[--imp->n_pending]);
}

static int pending_add(store_import *imp, const char *from_id, const Valv__V1__ImportRecord *rec,
                       size_t link_index, int64_t index, valv_error *err)
{
    const Valv__V1__ImportLink *l = rec->links[link_index];
    char excerpt[VALIDATE_EXCERPT_SIZE], field[64];
    int rc;

    if (imp->n_pending == STORE_IMPORT_PENDING_MAX) {
        snprintf(field, sizeof field, "links[%zu].to_external_id", link_index);
        return valv_error_violation(
            err, field,
            "'%s' is not in the store yet, and this import already waits for %d links to "
            "records later in the stream; send the records others link to first, or split "
            "the import",
            validate_excerpt(l->to_external_id, excerpt), STORE_IMPORT_PENDING_MAX);
    }
    if (imp->n_pending == imp->cap_pending) {
        size_t cap = imp->cap_pending == 0 ? 64 : 2 * imp->cap_pending;
        pending_link *grown = realloc(imp->pending, cap * sizeof *grown);
        if (grown == NULL)
            return out_of_memory(err);
        imp->pending = grown;
        imp->cap_pending = cap;
    }
    pending_link *p = &imp->pending[imp->n_pending];
    memset(p, 0, sizeof *p);
    text_copy(p->from_id, sizeof p->from_id, from_id);
    p->type = l->type;
    p->link_index = link_index;
    p->index = index;
    rc = strdup_checked(l->to_external_id, &p->to_external_id, err);
    if (rc == VALV_OK)
        rc = strdup_checked(rec->external_id, &p->external_id, err);
    if (rc == VALV_OK)
        rc = strdup_checked(rec->origin, &p->origin, err);
    if (rc != VALV_OK) {
        pending_clear(p);
        return rc;
    }
    imp->n_pending++;
    return VALV_OK;
}

/* Forgets what the calls since the last commit staged: their transaction
 * never committed, and they are being run again. */
static void staging_discard(store_import *imp)
{
    while (imp->n_failures > imp->n_failures_committed)
        valv__v1__import_failure__free_unpacked(imp->failures[--imp->n_failures], NULL);
    pending_truncate(imp, imp->n_pending_committed);
    imp->n_held = imp->n_held_committed;
    memset(&imp->staged, 0, sizeof imp->staged);
    imp->finish_staged = false;
    imp->staging = false;
}

/* Starts a call for the records from first_index. One transaction may hold
 * several calls (an atomic import's batches, then finish), each going on
 * where the last ended; a call that does not is a rerun of the staged ones. */
static void staging_begin(store_import *imp, int64_t first_index, bool finish)
{
    if (imp->staging && (imp->finish_staged || (!finish && first_index != imp->next_index)))
        staging_discard(imp);
    imp->staging = true;
}

/* --- Seen marks --------------------------------------------------------------------- */

static size_t seen_key(const store_import *imp, const char *external_id,
                       unsigned char key[SEEN_KEY_MAX])
{
    size_t source_len = strlen(imp->source) + 1;
    size_t external_id_len = strlen(external_id);
    if (external_id_len > VALV_EXTERNAL_ID_MAX)
        external_id_len = VALV_EXTERNAL_ID_MAX; /* validated before; this only guards the key */
    memcpy(key, imp->source, source_len);
    memcpy(key + source_len, imp->run_id, RUN_ID_LEN);
    memcpy(key + source_len + RUN_ID_LEN, external_id, external_id_len);
    return source_len + RUN_ID_LEN + external_id_len;
}

static int seen_mark(store_txn *t, const store_import *imp, const char *external_id,
                     valv_error *err)
{
    unsigned char key[SEEN_KEY_MAX];
    size_t key_len = seen_key(imp, external_id, key);
    return txn_put(t, TABLE_IMPORT_SEEN, key, key_len, "", 0, err);
}

static int seen_marked(MDB_txn *txn, const store_import *imp, const char *external_id,
                       bool *marked, valv_error *err)
{
    unsigned char key[SEEN_KEY_MAX];
    MDB_val k = {seen_key(imp, external_id, key), key};
    MDB_val v;
    int rc = mdb_get(txn, imp->s->tables[TABLE_IMPORT_SEEN], &k, &v);
    *marked = rc == 0;
    if (rc != 0 && rc != MDB_NOTFOUND)
        return storage_error(rc, "reading import marks", err);
    return VALV_OK;
}

/* Removes this run's marks, and those of the source's runs that began more
 * than RUN_STALE_NS ago (imports whose stream broke). */
static int seen_clear(store_txn *t, const store_import *imp, valv_error *err)
{
    size_t prefix_len = strlen(imp->source) + 1;
    struct timespec now;
    MDB_cursor *cur = NULL;
    MDB_val key = {prefix_len, (void *)imp->source};
    MDB_val val;

    clock_now(&now);
    int64_t stale_before = timespec_ns(&now) - RUN_STALE_NS;
    int rc = mdb_cursor_open(t->txn, t->s->tables[TABLE_IMPORT_SEEN], &cur);
    if (rc != 0)
        return storage_error(rc, "removing import marks", err);
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        const unsigned char *k = key.mv_data;
        if (key.mv_size < prefix_len + RUN_ID_LEN || memcmp(k, imp->source, prefix_len) != 0)
            break;
        const unsigned char *run = k + prefix_len;
        bool mine = memcmp(run, imp->run_id, RUN_ID_LEN) == 0;
        if (!mine && (int64_t)be64_get(run) >= stale_before)
            continue; /* another import of this source, still running */
        /* LMDB leaves the cursor on the next key, which MDB_NEXT returns. */
        rc = mdb_cursor_del(cur, 0);
        if (rc != 0)
            break;
        t->writes++; /* as txn_del counts its deletes */
    }
    mdb_cursor_close(cur);
    if (rc == MDB_MAP_FULL)
        return txn_map_full(t, err);
    return rc == 0 || rc == MDB_NOTFOUND ? VALV_OK : storage_error(rc, "removing import marks", err);
}

/* --- One record ------------------------------------------------------------------------ */

/* An Asset holding a record's facts, borrowing its strings: only the
 * attribute arrays are its own. */
typedef struct {
    Valv__V1__Asset asset;
    Valv__V1__Asset__AttributesEntry *entries;
    Valv__V1__Asset__AttributesEntry **entry_list;
} asset_view;

static int view_build(asset_view *v, const Valv__V1__ImportRecord *rec, int kind,
                      const char *source, const char *external_id, valv_error *err)
{
    size_t n = rec->n_attributes;

    valv__v1__asset__init(&v->asset);
    v->entries = calloc(n > 0 ? n : 1, sizeof *v->entries);
    v->entry_list = calloc(n > 0 ? n : 1, sizeof *v->entry_list);
    if (v->entries == NULL || v->entry_list == NULL)
        return out_of_memory(err);
    for (size_t i = 0; i < n; i++) {
        valv__v1__asset__attributes_entry__init(&v->entries[i]);
        v->entries[i].key = rec->attributes[i]->key;
        v->entries[i].value = rec->attributes[i]->value;
        v->entry_list[i] = &v->entries[i];
    }
    v->asset.kind = (Valv__V1__AssetKind)kind;
    v->asset.display_name = rec->display_name;
    v->asset.description = rec->description;
    v->asset.owner_unit = rec->owner_unit;
    v->asset.owner = rec->owner;
    v->asset.n_attributes = n;
    v->asset.attributes = v->entry_list;
    v->asset.n_labels = rec->n_labels;
    v->asset.labels = rec->labels;
    v->asset.source = (char *)source;
    v->asset.external_id = (char *)external_id;
    return VALV_OK;
}

static void view_free(asset_view *v)
{
    free(v->entries);
    free(v->entry_list);
}

/* Attributes as a map and labels as a set: a source that sends them in
 * another order has not changed them. (Keys and labels are unique: both
 * assets passed validation.) */
static bool attributes_same(const Valv__V1__Asset *a, const Valv__V1__Asset *b)
{
    if (a->n_attributes != b->n_attributes)
        return false;
    for (size_t i = 0; i < a->n_attributes; i++) {
        bool found = false;
        for (size_t j = 0; j < b->n_attributes && !found; j++)
            found = strcmp(a->attributes[i]->key, b->attributes[j]->key) == 0 &&
                    strcmp(a->attributes[i]->value, b->attributes[j]->value) == 0;
        if (!found)
            return false;
    }
    return true;
}

static bool labels_same(const Valv__V1__Asset *a, const Valv__V1__Asset *b)
{
    if (a->n_labels != b->n_labels)
        return false;
    for (size_t i = 0; i < a->n_labels; i++) {
        bool found = false;
        for (size_t j = 0; j < b->n_labels && !found; j++)
            found = strcmp(a->labels[i], b->labels[j]) == 0;
        if (!found)
            return false;
    }
    return true;
}

static bool facts_same(const Valv__V1__Asset *a, const Valv__V1__Asset *b)
{
    return strcmp(a->display_name, b->display_name) == 0 &&
           strcmp(a->description, b->description) == 0 &&
           strcmp(a->owner_unit, b->owner_unit) == 0 && strcmp(a->owner, b->owner) == 0 &&
           attributes_same(a, b) && labels_same(a, b);
}

/* Finds the asset rec is about: *stored, or NULL for a new one. seen gets
 * the external id in this source that the record accounts for ("" when
 * none), set as soon as it is known so that even a failing record counts
 * as seen. */
static int record_identify(store_txn *rt, const store_import *imp,
                           const Valv__V1__ImportRecord *rec, Valv__V1__Asset **stored,
                           char seen[VALV_EXTERNAL_ID_MAX + 1], valv_error *err)
{
    char id[VALV_ASSET_ID_MAX + 1];
    const char *named_id = NULL;
    bool found = false;
    int rc;

    *stored = NULL;
    if (rec->name[0] != '\0') {
        rc = validate_asset_name(rec->name, "name", &named_id, err);
        if (rc != VALV_OK)
            return rc;
    }
    if (rec->external_id[0] != '\0') {
        rc = validate_text(rec->external_id, VALV_EXTERNAL_ID_MAX, "external_id", err);
        if (rc != VALV_OK)
            return rc;
        text_copy(seen, VALV_EXTERNAL_ID_MAX + 1, rec->external_id);
        rc = source_lookup(imp->s, rt->txn, imp->source, rec->external_id, id, &found, err);
        if (rc != VALV_OK)
            return rc;
        if (named_id != NULL && (!found || strcmp(named_id, id) != 0))
            return valv_error_violation(
                err, "name",
                "%s is not the asset of source %s with this external_id (%s%s); give name or "
                "external_id, or make them agree",
                rec->name, imp->source, found ? "that is assets/" : "there is none yet",
                found ? id : "");
        return found ? asset_load(imp->s, rt->txn, id, stored, err) : VALV_OK;
    }
    if (named_id == NULL)
        return valv_error_violation(err, "external_id",
                                    "required: the record's key in source %s (or name "
                                    "\"assets/ID\", to update an asset that has none)",
                                    imp->source);
    rc = asset_load(imp->s, rt->txn, named_id, stored, err);
    if (rc == VALV_ENOTFOUND)
        return valv_error_set(err, VALV_ENOTFOUND,
                              "asset %s not found; a record without external_id updates an "
                              "existing asset and never creates one",
                              rec->name);
    if (rc != VALV_OK)
        return rc;
    if (strcmp((*stored)->source, imp->source) == 0)
        text_copy(seen, VALV_EXTERNAL_ID_MAX + 1, (*stored)->external_id);
    if (asset_deleted(*stored))
        return valv_error_set(err, VALV_EPRECONDITION,
                              "asset %s is deleted; undelete it before importing its facts",
                              rec->name);
    return VALV_OK;
}

/* The links from an asset, and whether this import's source made each. */
typedef struct {
    char to[VALV_ASSET_ID_MAX + 1];
    int type;
    bool own;
} out_link;

typedef struct {
    store_txn *t;
    const char *from_id;
    const char *source;
    out_link *links;
    size_t n, cap;
} out_link_list;

static int out_link_collect(void *ctx, const char *other_id, int type, valv_error *err)
{
    out_link_list *list = ctx;
    Valv__V1__Link *link = NULL;

    if (list->n == list->cap) {
        size_t cap = list->cap == 0 ? 8 : 2 * list->cap;
        out_link *grown = realloc(list->links, cap * sizeof *grown);
        if (grown == NULL)
            return out_of_memory(err);
        list->links = grown;
        list->cap = cap;
    }
    int rc = link_load(list->t->s, list->t->txn, list->from_id, type, other_id, &link, err);
    if (rc != VALV_OK)
        return rc;
    out_link *l = &list->links[list->n++];
    text_copy(l->to, sizeof l->to, other_id);
    l->type = type;
    l->own = strcmp(link->source, list->source) == 0;
    valv__v1__link__free_unpacked(link, NULL);
    return VALV_OK;
}

static bool out_link_in(const out_link_list *list, const char *to, int type)
{
    for (size_t i = 0; i < list->n; i++)
        if (list->links[i].type == type && strcmp(list->links[i].to, to) == 0)
            return true;
    return false;
}

/* Resolves link i of rec into target: an asset id, or "" when it names an
 * external id no asset of the source has yet. A link is named in an error
 * ("links[2]") only when there is one: this runs for every link. */
static int link_target(store_txn *rt, const store_import *imp, const Valv__V1__ImportRecord *rec,
                       size_t i, char target[VALV_ASSET_ID_MAX + 1], valv_error *err)
{
    const Valv__V1__ImportLink *l = rec->links[i];
    bool by_external_id = l->to_external_id[0] != '\0', by_name = l->to_asset[0] != '\0';
    const char *id = NULL;
    char field[32];
    bool found = false;
    int rc;

    target[0] = '\0';
    if (by_external_id == by_name) {
        snprintf(field, sizeof field, "links[%zu]", i);
        return valv_error_violation(err, field,
                                    "give one of to_external_id (a record of source %s) and "
                                    "to_asset (\"assets/ID\")",
                                    imp->source);
    }
    if (by_name) {
        rc = validate_asset_name(l->to_asset, "to_asset", &id, err);
        if (rc == VALV_OK)
            text_copy(target, VALV_ASSET_ID_MAX + 1, id);
    } else {
        rc = validate_text(l->to_external_id, VALV_EXTERNAL_ID_MAX, "to_external_id", err);
        if (rc == VALV_OK)
            return source_lookup(imp->s, rt->txn, imp->source, l->to_external_id, target, &found,
                                 err);
    }
    if (rc == VALV_EINVAL) {
        snprintf(field, sizeof field, "links[%zu]", i);
        valv_error_prefix_fields(err, field);
    }
    return rc;
}

/* Makes the links from asset id those rec gives, when it gives any:
 * creates the missing ones, deletes the links of this source that rec no
 * longer gives, and queues those whose target is not there yet. People's
 * links stay. created: NULL, or the asset rec has just created, as written,
 * which the first link made takes over (link_create) instead of reading it
 * again. *changed: anything was (or will be, at finish) written. */
static int record_links(store_txn *rt, store_import *imp, const Valv__V1__ImportRecord *rec,
                        const char *id, Valv__V1__Asset **created, int64_t index,
                        const store_actor *who, bool *changed, valv_error *err)
{
    out_link_list existing = {rt, id, imp->source, NULL, 0, 0};
    char (*targets)[VALV_ASSET_ID_MAX + 1] = NULL;
    char prefix[32];
    int rc = VALV_OK;

    *changed = false;
    if (rec->n_links == 0)
        return VALV_OK;
    if (rec->n_links > STORE_IMPORT_LINKS_MAX)
        return valv_error_violation(err, "links", "%zu links; a record may have at most %d",
                                    rec->n_links, STORE_IMPORT_LINKS_MAX);
    targets = calloc(rec->n_links, sizeof *targets);
    if (targets == NULL)
        return out_of_memory(err);
    for (size_t i = 0; i < rec->n_links && rc == VALV_OK; i++) {
        rc = link_target(rt, imp, rec, i, targets[i], err);
        if (rc == VALV_OK && targets[i][0] == '\0') {
            rc = pending_add(imp, id, rec, i, index, err);
            *changed = true;
        }
    }
    /* An asset this record just created has no links yet to keep or drop. */
    if (rc == VALV_OK && created == NULL)
        rc = links_each(imp->s, rt->txn, TABLE_LINKS_OUT, id, out_link_collect, &existing, err);

    for (size_t e = 0; e < existing.n && rc == VALV_OK; e++) {
        const out_link *l = &existing.links[e];
        bool wanted = false;
        for (size_t i = 0; i < rec->n_links && !wanted; i++)
            wanted = (int)rec->links[i]->type == l->type && strcmp(targets[i], l->to) == 0;
        if (!l->own || wanted)
            continue;
        rc = store_delete_link(rt, id, l->to, (Valv__V1__LinkType)l->type, who, err);
        *changed = true;
    }
    for (size_t i = 0; i < rec->n_links && rc == VALV_OK; i++) {
        int type = rec->links[i]->type;
        bool given_before = false;
        for (size_t j = 0; j < i && !given_before; j++)
            given_before = (int)rec->links[j]->type == type && strcmp(targets[j], targets[i]) == 0;
        if (targets[i][0] == '\0' || given_before || out_link_in(&existing, targets[i], type))
            continue;
        Valv__V1__Link *link = NULL;
        rc = link_create(rt, id, created, targets[i], type, imp->source, who, &link, err);
        if (link != NULL)
            valv__v1__link__free_unpacked(link, NULL);
        if (rc != VALV_OK) {
            snprintf(prefix, sizeof prefix, "links[%zu]", i);
            error_prefix(err, prefix);
        }
        *changed = true;
    }
    free(existing.links);
    free(targets);
    return rc;
}

/* Applies one record in rt. Any error other than a storage error fails
 * only this record. */
static int record_apply(store_txn *rt, store_import *imp, const Valv__V1__ImportRecord *rec,
                        int64_t index, const store_actor *who,
                        char seen[VALV_EXTERNAL_ID_MAX + 1], record_outcome *outcome,
                        valv_error *err)
{
    Valv__V1__Asset *stored = NULL, *written = NULL;
    char id[VALV_ASSET_ID_MAX + 1];
    asset_view view = {0};
    bool links_changed = false;
    int rc;

    rc = record_identify(rt, imp, rec, &stored, seen, err);
    if (rc != VALV_OK)
        goto done;
    if (message_set(rec->classification) || message_set(rec->security)) {
        rc = valv_error_set(err, VALV_EINVAL,
                            "an import never sets classification or security protection; "
                            "owners set them with valv classify / valv protect");
        goto done;
    }
    int kind = rec->kind;
    if (stored != NULL && kind != VALV__V1__ASSET_KIND__ASSET_KIND_UNSPECIFIED &&
        kind != (int)stored->kind) {
        const ProtobufCEnumValue *was =
            protobuf_c_enum_descriptor_get_value(&valv__v1__asset_kind__descriptor, stored->kind);
        rc = valv_error_set(err, VALV_EINVAL, "kind is %s in the store; an import cannot change it",
                            was != NULL ? was->name : "UNKNOWN");
        goto done;
    }
    if (stored != NULL)
        kind = stored->kind;
    /* A record keyed by name carries no import identity of its own. */
    bool keyed = rec->external_id[0] != '\0';
    rc = view_build(&view, rec, kind, keyed ? imp->source : "", rec->external_id, err);
    if (rc == VALV_OK)
        rc = validate_asset(&view.asset, true, err);
    if (rc != VALV_OK)
        goto done;

    if (stored == NULL) {
        rc = asset_create_checked(rt, &view.asset, who, &written, err);
        *outcome = OUTCOME_CREATED;
    } else if (!facts_same(stored, &view.asset)) {
        view.asset.name = stored->name;
        rc = store_update_asset(rt, &view.asset, fact_paths, N_FACT_PATHS, who, &written, err);
        *outcome = OUTCOME_UPDATED;
    } else {
        *outcome = OUTCOME_UNCHANGED;
    }
    if (rc != VALV_OK)
        goto done;
    /* A copy: the first link made takes written over. */
    text_copy(id, sizeof id, asset_id(stored != NULL ? stored : written));
    rc = record_links(rt, imp, rec, id, stored == NULL ? &written : NULL, index, who,
                      &links_changed, err);
    if (rc == VALV_OK && links_changed && *outcome == OUTCOME_UNCHANGED)
        *outcome = OUTCOME_UPDATED;
done:
    view_free(&view);
    if (stored != NULL)
        valv__v1__asset__free_unpacked(stored, NULL);
    if (written != NULL)
        valv__v1__asset__free_unpacked(written, NULL);
    return rc;
}

/* Seen marks are what SYNC deletes by, and what links of a dry run resolve by. */
static bool seen_wanted(const store_import *imp)
{
    return imp->sync || imp->dry_run;
}

/* Counts a record that went in; its links queued since pending_before
 * count as the record's when they fail at finish. */
static void record_count(store_import *imp, size_t pending_before, record_outcome outcome)
{
    for (size_t i = pending_before; i < imp->n_pending; i++)
        imp->pending[i].created = outcome == OUTCOME_CREATED;
    if (outcome == OUTCOME_CREATED)
        imp->staged.created++;
    else if (outcome == OUTCOME_UPDATED)
        imp->staged.updated++;
    else
        imp->staged.unchanged++;
}

/* Runs one record and counts or reports what happened; the record goes in
 * whole or not at all.
 *
 * The cheap way is straight in parent. A transaction of its own per record
 * costs more than most records: LMDB copies every page a nested
 * transaction touches that its parent has written, and looks each page up
 * in every level's list of dirty pages. Straight in parent, a record that
 * fails before it wrote anything (most reasons: validation, field
 * authority, kind) is simply reported. One that fails after it wrote part
 * of itself cannot be taken out again: the call returns VALV_ERUN_AGAIN,
 * and when it runs again (the writer rolls parent back first), this record
 * and every record after it in the call get a transaction of their own. A
 * dry run (keep false) takes that way for every record, and rolls each
 * back. */
static int record_run(store_txn *parent, store_import *imp, const held_record *item, bool keep,
                      const store_actor *who, valv_error *err)
{
    char seen[VALV_EXTERNAL_ID_MAX + 1] = "";
    size_t pending_before = imp->n_pending;
    uint64_t writes_before = store_txn_writes(parent);
    bool own_txn = !keep || item->index >= imp->careful_from;
    record_outcome outcome = OUTCOME_UNCHANGED;
    store_txn *rt = parent;
    valv_error why;
    int rc = VALV_OK;

    valv_error_clear(&why);
    if (own_txn) {
        rc = store_txn_begin(imp->s, parent, &rt, err);
        if (rc != VALV_OK)
            return rc;
    }
    int record_rc = record_apply(rt, imp, item->record, item->index, who, seen, &outcome, &why);
    if (own_txn) {
        if (record_rc == VALV_OK && keep) {
            rc = store_txn_commit(rt, err);
            if (rc != VALV_OK)
                return rc;
        } else {
            store_txn_abort(rt);
        }
    }
    if (error_is_fatal(record_rc)) {
        *err = why;
        return record_rc;
    }
    if (record_rc != VALV_OK && !own_txn && store_txn_writes(parent) != writes_before) {
        imp->careful_from = item->index;
        return valv_error_set(err, VALV_ERUN_AGAIN,
                              "record %lld failed after part of it was written: roll back and "
                              "run the call again",
                              (long long)item->index);
    }

    if (record_rc != VALV_OK) {
        pending_truncate(imp, pending_before);
        rc = failure_add(imp, item->index, item->record->external_id, item->record->origin,
                         &why, err);
    } else {
        record_count(imp, pending_before, outcome);
    }
    /* Marked even when the record failed: a row with a mistake in it must
     * not make SYNC delete the asset it is about. */
    if (rc == VALV_OK && seen[0] != '\0' && seen_wanted(imp))
        rc = seen_mark(parent, imp, seen, err);
    return rc;
}

/* Runs items[0..n) in order (record_run), until a storage error or
 * VALV_ERUN_AGAIN. */
static int records_run(store_txn *parent, store_import *imp, const held_record *items, size_t n,
                       bool keep, const store_actor *who, valv_error *err)
{
    int rc = VALV_OK;
    for (size_t i = 0; i < n && rc == VALV_OK; i++)
        rc = record_run(parent, imp, &items[i], keep, who, err);
    return rc;
}

/* --- Finish: pending links and SYNC deletes ------------------------------------------ */

/* Makes pending link p, or says why it cannot be made. */
static int pending_link_make(store_txn *gt, const store_import *imp, const pending_link *p,
                             const store_actor *who, valv_error *err)
{
    char to[VALV_ASSET_ID_MAX + 1], excerpt[VALIDATE_EXCERPT_SIZE], prefix[32];
    Valv__V1__Link *link = NULL;
    bool found = false;
    /* A dry run that is not atomic wrote none of its records: those of the
     * import are known only by their marks. */
    bool written = !imp->dry_run || imp->atomic;

    int rc = source_lookup(imp->s, gt->txn, imp->source, p->to_external_id, to, &found, err);
    if (rc == VALV_OK && !found && !written)
        rc = seen_marked(gt->txn, imp, p->to_external_id, &found, err);
    if (rc != VALV_OK)
        return rc;
    if (!found) {
        char written_without[VALV_ASSET_ID_MAX + 80] = "";
        if (written && !imp->atomic)
            snprintf(written_without, sizeof written_without,
                     "; assets/%s was imported without the links that waited for it",
                     p->from_id);
        return valv_error_set(err, VALV_ENOTFOUND,
                              "links[%zu]: no asset of source %s has external_id '%s', in this "
                              "import or in the store%s",
                              p->link_index, imp->source,
                              validate_excerpt(p->to_external_id, excerpt), written_without);
    }
    if (!written)
        return VALV_OK;
    rc = link_load(imp->s, gt->txn, p->from_id, p->type, to, &link, err);
    if (rc == VALV_ENOTFOUND) {
        valv_error_clear(err);
        rc = link_create(gt, p->from_id, NULL, to, p->type, imp->source, who, &link, err);
        if (rc != VALV_OK) {
            snprintf(prefix, sizeof prefix, "links[%zu]", p->link_index);
            error_prefix(err, prefix);
        }
    }
    if (link != NULL)
        valv__v1__link__free_unpacked(link, NULL);
    return rc;
}

/* Makes the pending links of one record, pending[first..end), all or none:
 * when one cannot be made, the record fails. */
static int pending_record_resolve(store_txn *parent, store_import *imp, size_t first,
                                  size_t end, const store_actor *who, valv_error *err)
{
    store_txn *gt = NULL;
    valv_error why;
    int link_rc = VALV_OK;

    valv_error_clear(&why);
    int rc = store_txn_begin(imp->s, parent, &gt, err);
    if (rc != VALV_OK)
        return rc;
    for (size_t i = first; i < end && link_rc == VALV_OK; i++)
        link_rc = pending_link_make(gt, imp, &imp->pending[i], who, &why);
    if (link_rc == VALV_OK)
        return store_txn_commit(gt, err);
    store_txn_abort(gt);
    if (error_is_fatal(link_rc)) {
        *err = why;
        return link_rc;
    }
    const pending_link *p = &imp->pending[first];
    if (p->created)
        imp->staged.created--;
    else
        imp->staged.updated--;
    return failure_add(imp, p->index, p->external_id, p->origin, &why, err);
}

static int pending_resolve(store_txn *parent, store_import *imp, const store_actor *who,
                           valv_error *err)
{
    int rc = VALV_OK;
    size_t first = 0;
    while (first < imp->n_pending && rc == VALV_OK) {
        size_t end = first + 1;
        while (end < imp->n_pending && imp->pending[end].index == imp->pending[first].index)
            end++;
        rc = pending_record_resolve(parent, imp, first, end, who, err);
        first = end;
    }
    return rc;
}

/* Collects into ids (up to SYNC_CHUNK) the source's live assets after the
 * by_source key `after` that this run did not mark; moves `after` past them. */
static int unseen_collect(store_txn *t, const store_import *imp, unsigned char *after,
                          size_t *after_len, char (*ids)[VALV_ASSET_ID_MAX + 1], size_t *n_out,
                          bool *more, valv_error *err)
{
    size_t prefix_len = strlen(imp->source) + 1;
    char external_id[VALV_EXTERNAL_ID_MAX + 1];
    MDB_cursor *cur = NULL;
    MDB_val key = {*after_len, after}, val;
    size_t n = 0;

    *more = false;
    int rc = mdb_cursor_open(t->txn, t->s->tables[TABLE_BY_SOURCE], &cur);
    if (rc != 0)
        return storage_error(rc, "reading the source index", err);
    rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
    if (rc == 0 && key.mv_size == *after_len && memcmp(key.mv_data, after, *after_len) == 0)
        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    for (; rc == 0; rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        size_t external_id_len = key.mv_size - prefix_len;
        bool marked = false;
        if (key.mv_size <= prefix_len || memcmp(key.mv_data, imp->source, prefix_len) != 0)
            break;
        if (n == SYNC_CHUNK) {
            *more = true;
            break;
        }
        if (external_id_len > VALV_EXTERNAL_ID_MAX || val.mv_size == 0 ||
            val.mv_size > VALV_ASSET_ID_MAX)
            continue; /* not an entry asset_write makes */
        memcpy(after, key.mv_data, key.mv_size);
        *after_len = key.mv_size;
        memcpy(external_id, (const char *)key.mv_data + prefix_len, external_id_len);
        external_id[external_id_len] = '\0';
        int mark_rc = seen_marked(t->txn, imp, external_id, &marked, err);
        if (mark_rc != VALV_OK) {
            mdb_cursor_close(cur);
            return mark_rc;
        }
        if (!marked) {
            memcpy(ids[n], val.mv_data, val.mv_size);
            ids[n][val.mv_size] = '\0';
            n++;
        }
    }
    mdb_cursor_close(cur);
    *n_out = n;
    return rc == 0 || rc == MDB_NOTFOUND ? VALV_OK
                                         : storage_error(rc, "reading the source index", err);
}

/* SYNC: soft-deletes (with force: their links go too) the source's live
 * assets that this run did not mark; a dry run only counts them. */
static int sync_delete_unseen(store_txn *t, store_import *imp, const store_actor *who,
                              valv_error *err)
{
    unsigned char after[KEY_MAX];
    size_t after_len = strlen(imp->source) + 1;
    char reason[VALV_SOURCE_MAX + 64];
    char (*ids)[VALV_ASSET_ID_MAX + 1] = malloc(SYNC_CHUNK * sizeof *ids);
    bool more = true;
    int rc = VALV_OK;

    if (ids == NULL)
        return out_of_memory(err);
    memcpy(after, imp->source, after_len);
    snprintf(reason, sizeof reason, "not in the SYNC import of source %s", imp->source);
    while (more && rc == VALV_OK) {
        size_t n = 0;
        rc = unseen_collect(t, imp, after, &after_len, ids, &n, &more, err);
        for (size_t i = 0; i < n && rc == VALV_OK; i++) {
            Valv__V1__Asset *deleted = NULL;
            if (!imp->dry_run)
                rc = store_delete_asset(t, ids[i], NULL, reason, true, who, &deleted, err);
            if (deleted != NULL)
                valv__v1__asset__free_unpacked(deleted, NULL);
            if (rc == VALV_OK)
                imp->staged.deleted++;
        }
    }
    free(ids);
    return rc;
}

/* --- The interface -------------------------------------------------------------------- */

int store_import_begin(store *s, const store_import_options *opts, store_import **out,
                       valv_error *err)
{
    Valv__V1__Asset identity = VALV__V1__ASSET__INIT;
    unsigned char random[RUN_RANDOM_LEN];
    struct timespec now;
    store_import *imp = NULL;

    valv_error_clear(err);
    *out = NULL;
    if (opts->source == NULL || opts->source[0] == '\0')
        return valv_error_violation(err, "header.source",
                                    "required: the inventory the records come from, like "
                                    "\"cmdb\" (^[a-z][a-z0-9-]{0,62}$)");
    /* The source's rules are those of an asset's import identity. */
    identity.source = (char *)opts->source;
    identity.external_id = "x";
    if (validate_asset(&identity, false, err) != VALV_OK) {
        valv_error_prefix_fields(err, "header");
        return VALV_EINVAL;
    }
    if (RAND_bytes(random, sizeof random) != 1)
        return valv_error_set(err, VALV_EINTERNAL, "no random numbers for an import run id");

    imp = calloc(1, sizeof *imp);
    if (imp == NULL)
        return out_of_memory(err);
    imp->failures = calloc(STORE_IMPORT_FAILURES_MAX, sizeof *imp->failures);
    if (imp->failures == NULL) {
        free(imp);
        return out_of_memory(err);
    }
    imp->s = s;
    text_copy(imp->source, sizeof imp->source, opts->source);
    imp->sync = opts->sync;
    imp->dry_run = opts->dry_run;
    imp->atomic = opts->atomic;
    imp->careful_from = INT64_MAX;
    clock_now(&now);
    be64_put(imp->run_id, (uint64_t)timespec_ns(&now));
    memcpy(imp->run_id + RUN_TIME_LEN, random, RUN_RANDOM_LEN);
    /* The random part of the run id is also the import's request id. */
    _Static_assert(RUN_RANDOM_LEN == STORE_REQUEST_ID_RANDOM_BYTES,
                   "a run id's random part is a request id");
    store_request_id_format(random, imp->request_id);
    *out = imp;
    return VALV_OK;
}

/* An atomic import's records wait for finish, which applies them all in
 * one transaction it can abort as a whole. */
static int hold_records(store_import *imp, Valv__V1__ImportRecord *const *records, size_t n,
                        int64_t first_index, valv_error *err)
{
    if (imp->n_held + n > STORE_IMPORT_ATOMIC_MAX)
        return valv_error_set(err, VALV_EINVAL,
                              "an atomic import takes at most %d records; split it, or import "
                              "without atomic",
                              STORE_IMPORT_ATOMIC_MAX);
    if (imp->n_held + n > imp->cap_held) {
        size_t cap = imp->cap_held == 0 ? STORE_IMPORT_BATCH_MAX : imp->cap_held;
        while (cap < imp->n_held + n)
            cap *= 2;
        held_record *grown = realloc(imp->held, cap * sizeof *grown);
        if (grown == NULL)
            return out_of_memory(err);
        imp->held = grown;
        imp->cap_held = cap;
    }
    for (size_t i = 0; i < n; i++) {
        imp->held[imp->n_held].record = records[i];
        imp->held[imp->n_held].index = first_index + (int64_t)i;
        imp->n_held++;
    }
    return VALV_OK;
}

int store_import_apply(store_txn *t, store_import *imp, Valv__V1__ImportRecord *const *records,
                       size_t n, int64_t first_index, const store_actor *who, valv_error *err)
{
    store_actor actor;
    int rc = VALV_OK;

    valv_error_clear(err);
    if (n > STORE_IMPORT_BATCH_MAX)
        return valv_error_set(err, VALV_EINVAL,
                              "%zu records in one batch; send at most %d per batch", n,
                              STORE_IMPORT_BATCH_MAX);
    staging_begin(imp, first_index, false);
    imp->next_index = first_index + (int64_t)n;
    if (imp->atomic)
        return hold_records(imp, records, n, first_index, err);
    held_record *items = malloc((n > 0 ? n : 1) * sizeof *items);
    if (items == NULL)
        return out_of_memory(err);
    for (size_t i = 0; i < n; i++)
        items[i] = (held_record){records[i], first_index + (int64_t)i};
    actor_for(imp, who, &actor);
    rc = records_run(t, imp, items, n, !imp->dry_run, &actor, err);
    free(items);
    return rc;
}

void store_import_commit_batch(store_import *imp)
{
    imp->total.created += imp->staged.created;
    imp->total.updated += imp->staged.updated;
    imp->total.unchanged += imp->staged.unchanged;
    imp->total.deleted += imp->staged.deleted;
    imp->total.failed += imp->staged.failed;
    memset(&imp->staged, 0, sizeof imp->staged);
    imp->n_failures_committed = imp->n_failures;
    imp->n_held_committed = imp->n_held;
    imp->n_pending_committed = imp->n_pending;
    if (imp->finish_staged) {
        /* Resolved; the records held were the caller's and are done with. */
        pending_truncate(imp, 0);
        imp->n_pending_committed = 0;
        imp->n_held = imp->n_held_committed = 0;
    }
    imp->staging = false;
    imp->finish_staged = false;
    imp->careful_from = INT64_MAX;
}

int store_import_finish(store_txn *t, store_import *imp, const store_actor *who, valv_error *err)
{
    store_txn *outer = NULL, *parent = t;
    store_actor actor;
    int rc = VALV_OK;

    valv_error_clear(err);
    staging_begin(imp, imp->next_index, true);
    imp->finish_staged = true;
    actor_for(imp, who, &actor);
    if (imp->atomic) {
        rc = store_txn_begin(imp->s, t, &outer, err);
        parent = outer;
        if (rc == VALV_OK)
            rc = records_run(parent, imp, imp->held, imp->n_held, true, &actor, err);
    }
    if (rc == VALV_OK)
        rc = pending_resolve(parent, imp, &actor, err);
    bool failed = imp->total.failed + imp->staged.failed > 0;
    if (rc == VALV_OK && imp->sync && !(imp->atomic && failed))
        rc = sync_delete_unseen(parent, imp, &actor, err);
    if (outer != NULL) {
        if (rc == VALV_OK && !imp->dry_run && !failed)
            rc = store_txn_commit(outer, err);
        else
            store_txn_abort(outer);
    }
    if (rc == VALV_OK && (imp->sync || imp->dry_run))
        rc = seen_clear(t, imp, err);
    return rc;
}

void store_import_result(const store_import *imp, Valv__V1__ImportAssetsResponse *out)
{
    out->created = imp->total.created;
    out->updated = imp->total.updated;
    out->unchanged = imp->total.unchanged;
    out->deleted = imp->total.deleted;
    out->failed = imp->total.failed;
    out->n_failures = imp->n_failures_committed;
    out->failures = imp->failures;
    out->dry_run = imp->dry_run;
    out->rolled_back = imp->atomic && imp->total.failed > 0;
}

void store_import_free(store_import *imp)
{
    if (imp == NULL)
        return;
    for (size_t i = 0; i < imp->n_failures; i++)
        valv__v1__import_failure__free_unpacked(imp->failures[i], NULL);
    free(imp->failures);
    pending_truncate(imp, 0);
    free(imp->pending);
    free(imp->held);
    free(imp);
}
