/* store_internal.h - what the store's own files share. Not a public header:
 * only the .c files of store/ include it; everyone else sees store.h.
 *
 * The store is split by job:
 *   store.c    open and close, the tables, reading and writing one asset,
 *              the asset writes of store.h, transactions
 *   list.c     store_list_assets: index walks, orders, cursors
 *   links.c    the link tables and the link writes of store.h
 *   inherit.c  effective protection: recomputes what a change can reach
 *   review.c   the review rules, the review queue, approve and return
 *   audit.c    the audit log: one hash-chained event per revision, its
 *              listing, and the checks of store_verify_audit
 *   verify.c   store_verify_indexes: every index against the records
 *   import.c   imports: records applied through the writes above
 *   access.c   the caller's access policy: the one place its hooks are called
 *   summary.c  store_summarize, store_get_stats and the count of deleted assets
 *   backup.c   store_backup: a compacted copy of the environment
 */
#ifndef VALV_STORE_INTERNAL_H
#define VALV_STORE_INTERNAL_H

#include <lmdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "limits.h"
#include "pagetoken.h"
#include "store.h"

/* LMDB's largest key (mdb_env_get_maxkeysize with the default build). */
#define KEY_MAX 511
#define TIME_KEY_LEN 8 /* a time in an index key: nanoseconds, 8 bytes big-endian */

#define NAME_PREFIX "assets/"
#define NAME_PREFIX_LEN (sizeof NAME_PREFIX - 1)
#define ASSET_NAME_MAX (NAME_PREFIX_LEN + VALV_ASSET_ID_MAX) /* without the NUL */

#define NS_PER_SECOND 1000000000LL

/* The tables of store.h, and their names in the LMDB environment. */
enum {
    TABLE_META,
    TABLE_ASSETS,
    TABLE_BY_UNIT,
    TABLE_BY_KIND,
    TABLE_BY_SOURCE,
    TABLE_BY_DISPLAY,
    TABLE_BY_UPDATE,
    TABLE_LINKS_OUT,    /* from \0 type \0 to -> packed valv.v1.Link */
    TABLE_LINKS_IN,     /* to \0 type \0 from -> "" */
    TABLE_REVIEW_QUEUE, /* queue time (8 bytes BE, ns) \0 id -> "" */
    TABLE_AUDIT,          /* revision (8 bytes BE) -> hash (32 bytes) | canonical event */
    TABLE_AUDIT_BY_ASSET, /* asset id \0 revision (8 bytes BE) -> "" */
    TABLE_IMPORT_SEEN,    /* source \0 run id (16 bytes) external_id -> "" (import.c) */
    TABLE_COUNT
};

extern const char *const table_names[TABLE_COUNT];

/* Keys of the meta table. */
#define META_SCHEMA_VERSION "schema_version"
#define META_REVISION "revision"
#define META_PAGE_TOKEN_KEY "page_token_key"
#define META_AUDIT_HASH "audit_hash" /* the hash of the last audit event */
#define META_DELETED_ASSETS "deleted_assets" /* how many assets are deleted (summary.c) */

#define AUDIT_HASH_LEN 32 /* SHA-256 */

/* A link being recorded in the audit log (audit.c). */
typedef struct {
    char from[VALV_ASSET_ID_MAX + 1];
    char to[VALV_ASSET_ID_MAX + 1];
    int type;
} audit_link;

/* The change a store_ write function is making, for its audit events: set
 * by audit_change_begin at the start of every write function. */
typedef struct {
    int action;         /* Valv__V1__AuditAction of the request */
    const char *actor;  /* borrowed from the store_actor, for the call */
    char request_id[VALV_REQUEST_ID_MAX + 1];
    const char *reason; /* borrowed; "" for none */
    struct timespec time;
    /* The revision of the request's own event; 0 until it is appended.
     * Every later event of the change names it as its cause. */
    int64_t origin_revision;
    /* Links a forced delete removed before its own event existed: they
     * are appended right after it (audit_link_removed). */
    audit_link *pending;
    size_t n_pending, pending_cap;
} audit_change;

/* Generated ids: "a", the creation time in milliseconds as 10 base32hex
 * digits (so ids sort by creation time), then 6 base32hex digits: random
 * for the first id of a millisecond, one more than the last id's for the
 * next ones. Each id is greater than the one before (the ULID scheme's
 * monotonic ids), so a new asset's keys go at the end of each table's
 * B-tree, where LMDB fills a page before it starts the next one; random
 * digits put half the ids before the last, and LMDB split those pages in
 * half. The first id of a millisecond leaves ID_SEQUENCE_ROOM ids after it. */
#define ID_TIME_DIGITS 10
#define ID_SEQUENCE_DIGITS 6
#define ID_GENERATED_LEN (1 + ID_TIME_DIGITS + ID_SEQUENCE_DIGITS)
#define ID_SEQUENCE_MAX ((UINT32_C(1) << (5 * ID_SEQUENCE_DIGITS)) - 1)
#define ID_SEQUENCE_ROOM (UINT32_C(1) << (5 * ID_SEQUENCE_DIGITS - 1))

/* Where generated ids have got to: the last id's millisecond and sequence. */
typedef struct {
    uint64_t ms;
    uint32_t sequence;
} id_sequence;

/* Moves seq on to the next id at now_ms (milliseconds since the epoch),
 * taking random for the first id of a millisecond. */
void id_sequence_next(id_sequence *seq, uint64_t now_ms, uint32_t random);

/* Writes the id seq is at into out. */
void id_sequence_format(const id_sequence *seq, char out[ID_GENERATED_LEN + 1]);

/* True when id has the shape of a generated id: only such an id can equal
 * one. *seq (when not NULL) gets its time and sequence. */
bool id_is_generated(const char *id, id_sequence *seq);

#define RANDOM_POOL_BYTES 4096

struct store {
    MDB_env *env;
    MDB_dbi tables[TABLE_COUNT];
    /* LMDB may change the map size only while no transaction of this
     * process is open: every transaction holds this lock shared, and
     * store_grow holds it exclusive. */
    pthread_rwlock_t map_lock;
    size_t map_size; /* guarded by map_lock */
    size_t map_size_max;
    bool read_only;
    int64_t review_interval;  /* seconds from an approval to the next review */
    _Atomic int64_t revision; /* the last committed global revision */
    unsigned char page_token_key[PAGETOKEN_KEY_LEN];
    /* Random bytes for the ids writes generate, drawn from OpenSSL a block
     * at a time (one call per id cost more than the rest of the id). Only
     * write transactions use it, and they are serialised: no lock. */
    unsigned char random_pool[RANDOM_POOL_BYTES];
    size_t random_used;
    /* The last generated asset id: the next is greater. Starts at
     * id_greatest. Writer only, as above. */
    id_sequence id_last;
    /* No asset id of a generated id's shape ("a" and 16 base32hex digits,
     * id_is_generated) in the store is greater than this one (assets are
     * never removed), so a generated id past it is free without a lookup.
     * Other ids, which people choose, can never equal a generated one.
     * Found at open, raised by asset_write; writer only, as above. */
    char id_greatest[VALV_ASSET_ID_MAX + 1];
    /* A write ran out of map since the last store_grow (a full disk is
     * not this: growing the map cannot help it). Writer thread only. */
    bool map_full;
};

struct store_txn {
    store *s;
    store_txn *parent;
    MDB_txn *txn;
    int64_t revision;       /* the global revision as this transaction sees it */
    int64_t revision_begin; /* at begin: commit stores the counter when it moved */
    /* The hash of the last audit event as this transaction sees it; stored
     * in meta with the counter, so that appending never reads the log. */
    unsigned char audit_hash[AUDIT_HASH_LEN];
    bool full;              /* a write hit MDB_MAP_FULL: LMDB allows only an abort now */
    uint64_t writes;        /* store_txn_writes */
    audit_change change;    /* the change being made in this transaction */
    /* One write cursor per table, opened by the first write to it. A put
     * through a cursor that already sits on the right leaf (the next key
     * of an index that grows at its end, say) skips the descent from the
     * root that mdb_put makes every time. LMDB closes them when the
     * transaction ends; while a nested one is open, only it writes. */
    MDB_cursor *cursors[TABLE_COUNT];
};

/* --- Small helpers (store.c) ------------------------------------------------ */

void be64_put(unsigned char out[8], uint64_t v);
uint64_t be64_get(const unsigned char in[8]);

/* Sets err to VALV_EINTERNAL "out of memory" and returns that. */
int out_of_memory(valv_error *err);
/* Turns an LMDB error code into a valv error; what says what was being done. */
int storage_error(int rc, const char *what, valv_error *err);

const char *actor_name(const store_actor *who); /* "" for no actor */
/* Fills out with n (<= RANDOM_POOL_BYTES) random bytes, in a write
 * transaction of t's store. VALV_EINTERNAL when none can be had. */
int txn_random(store_txn *t, void *out, size_t n, valv_error *err);
void clock_now(struct timespec *now);           /* the wall clock every write stamps */

/* The id part of an asset's name ("assets/ID"), which the store always sets. */
const char *asset_id(const Valv__V1__Asset *a);
/* The id part of a name "assets/ID" from anywhere (an event, a record);
 * NULL when name is empty or not of that form. */
const char *asset_name_id(const char *name);
/* Writes the name "assets/ID" of asset id into name. An id longer than
 * VALV_ASSET_ID_MAX is cut (the store never holds one). */
void asset_name_write(char name[ASSET_NAME_MAX + 1], const char *id);
/* Copies src into dst (room for cap > 0 bytes), cut to fit: what
 * snprintf(dst, cap, "%s", src) does, without its cost on hot paths. */
void text_copy(char *dst, size_t cap, const char *src);
bool asset_deleted(const Valv__V1__Asset *a);

/* Heap-owned string and timestamp fields of a protobuf-c message. */
void string_clear(char **field);
int string_set(char **field, const char *value, valv_error *err);
void timestamp_clear(Google__Protobuf__Timestamp **field);
int timestamp_set(Google__Protobuf__Timestamp **field, const struct timespec *value,
                  valv_error *err);
int64_t timestamp_ns(const Google__Protobuf__Timestamp *t); /* 0 for NULL or before 1970 */
int64_t timespec_ns(const struct timespec *t);

/* A heap-owned deep copy of a (borrowed). */
int asset_copy(const Valv__V1__Asset *a, Valv__V1__Asset **out, valv_error *err);

/* Creates asset under a generated id, as store_create_asset does, for a
 * caller that has already validated it (validate_asset for a new asset)
 * and found in t that no asset holds its source and external_id: the
 * import, which looks both up to tell a new record from a changed one. */
int asset_create_checked(store_txn *t, const Valv__V1__Asset *asset, const store_actor *who,
                         Valv__V1__Asset **out, valv_error *err);
/* *same: m (NULL: empty) packs to exactly the len bytes at encoded. */
int message_encodes_to(const ProtobufCMessage *m, const void *encoded, size_t len, bool *same,
                       valv_error *err);
/* *same: a and b pack to the same bytes. NULL messages count as empty. */
int message_same(const ProtobufCMessage *a, const ProtobufCMessage *b, bool *same,
                 valv_error *err);
/* *same: a and b have the same classification and security, compared
 * whole (rationale and decision_ref too). */
int protection_same(const Valv__V1__Asset *a, const Valv__V1__Asset *b, bool *same,
                    valv_error *err);
void asset_array_free(Valv__V1__Asset **assets, size_t n);

/* --- Tables (store.c) --------------------------------------------------------- */

/* The writes of a store_txn, to table (TABLE_*). */
int txn_put(store_txn *t, int table, const void *key, size_t key_len, const void *data,
            size_t data_len, valv_error *err);
/* t ran out of map (LMDB's MDB_MAP_FULL, from a write made outside
 * txn_put and its kind): marks t and the store full, so that the writer
 * grows the map and runs the write again, and says so in err. LMDB allows
 * only an abort of t now. */
int txn_map_full(store_txn *t, valv_error *err);
/* Makes room for size bytes under key in table and points *data at it
 * (LMDB's MDB_RESERVE): the caller writes the value there, before t's next
 * write, with no buffer of its own. flags: 0; MDB_APPEND, for a key after
 * every key of table (LMDB fills pages instead of splitting them in half; a
 * key not past the last one fails); or MDB_NOOVERWRITE, for a key that
 * must not be there yet (VALV_EEXIST, with nothing written, when it is:
 * the caller says what exists). */
int txn_reserve(store_txn *t, int table, const void *key, size_t key_len, size_t size,
                unsigned int flags, void **data, valv_error *err);
/* Puts m, packed in place (txn_reserve). flags as for txn_reserve. */
int txn_put_message(store_txn *t, int table, const void *key, size_t key_len,
                    const ProtobufCMessage *m, unsigned int flags, valv_error *err);
/* Deletes key from table; a key that is not there is fine. */
int txn_del(store_txn *t, int table, const void *key, size_t key_len, valv_error *err);

int read_begin(store *s, MDB_txn **txn, valv_error *err);
void read_end(store *s, MDB_txn *txn);

/* Reads key name of the meta table; LMDB's code (MDB_NOTFOUND when absent). */
int meta_get(const store *s, MDB_txn *txn, const char *name, MDB_val *val);
/* Writes key name of the meta table outside a store_txn (opening the
 * store); a failure is a storage error about what. */
int meta_put(const store *s, MDB_txn *txn, const char *name, const void *data, size_t len,
             const char *what, valv_error *err);

/* Decodes a stored asset record (data, len) of asset id. allocator NULL:
 * the asset is the caller's as usual; else it lives in the allocator's
 * memory (see list.c's scan arena). A record that does not decode is
 * VALV_EINTERNAL naming the asset. */
int asset_unpack(const void *data, size_t len, const char *id, ProtobufCAllocator *allocator,
                 Valv__V1__Asset **out, valv_error *err);

/* Records in out the first problem a check found (verify.c): ok false,
 * the revision, and the message made from fmt and ap. */
void verify_failed(store_verify_result *out, int64_t revision, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Finds asset id's record in txn (*val is LMDB's, valid while txn lives
 * and until it next writes). Unknown: asset_not_found. */
int asset_record(const store *s, MDB_txn *txn, const char *id, MDB_val *val, valv_error *err);

/* Reads asset id in txn. Unknown: asset_not_found. */
int asset_load(const store *s, MDB_txn *txn, const char *id, Valv__V1__Asset **out,
               valv_error *err);

/* Reads asset id in txn without its descriptive fields (display_name,
 * description, owner, attributes, labels, source, external_id, etag, the
 * create and update times and actors), which are left at their defaults:
 * what links, access checks and inheritance read, at a fraction of a whole
 * decode. Such an asset must never be written back or diffed: load the
 * whole one (asset_load) for that. Unknown: asset_not_found. */
int asset_load_values(const store *s, MDB_txn *txn, const char *id, Valv__V1__Asset **out,
                      valv_error *err);

/* The field numbers asset_load_values leaves out. */
#define ASSET_DESCRIPTIVE_FIELDS_N 12
extern const uint32_t asset_descriptive_fields[ASSET_DESCRIPTIVE_FIELDS_N];

/* Sets err to VALV_ENOTFOUND "asset assets/ID not found" and returns that:
 * the one message for an asset that is missing or hidden from the caller. */
int asset_not_found(const char *id, valv_error *err);

/* Checks etag against a's (NULL or "": no check; mismatch: VALV_EABORTED). */
int etag_check(const Valv__V1__Asset *a, const char *etag, valv_error *err);

/* Loads asset id for a change of kind act by who (access_load_for), then
 * checks etag. */
int load_for_change(store_txn *t, const char *id, const store_actor *who, store_act act,
                    const char *etag, Valv__V1__Asset **out, valv_error *err);

/* Writes a as the next global revision: sets its revision and etag,
 * replaces the index entries of old (NULL for a new asset) with those of a,
 * and appends the revision's audit event, all in t. The computed
 * review.overdue is never stored. */
int asset_write(store_txn *t, const Valv__V1__Asset *old, Valv__V1__Asset *a, valv_error *err);

/* One key (and value) a stored asset puts into an index table. */
typedef struct {
    int table;
    unsigned char key[KEY_MAX];
    size_t key_len;
    const char *value; /* borrowed; "" for the key-only indexes */
} index_entry;

#define INDEX_ENTRIES_MAX 6

/* The id of the live asset holding (source, external_id), from by_source:
 * *found false when there is none. id has room for VALV_ASSET_ID_MAX + 1. */
int source_lookup(const store *s, MDB_txn *txn, const char *source, const char *external_id,
                  char *id, bool *found, valv_error *err);

/* Fills entries with every index entry asset a should have; returns how many. */
size_t asset_index_entries(const Valv__V1__Asset *a, index_entry entries[INDEX_ENTRIES_MAX]);

/* Where an entry of a table holds the asset id. */
typedef enum {
    ID_IS_KEY,     /* the key: assets */
    ID_AFTER_NUL,  /* text \0 id: by_unit, by_display */
    ID_AFTER_KIND, /* kind byte, id: by_kind */
    ID_AFTER_TIME, /* 8-byte time, id: by_update, review_queue */
    ID_IN_VALUE    /* the value: by_source (source \0 external_id -> id) */
} index_id_place;

/* Copies into id the asset id of the entry (key, val; val is read for
 * ID_IN_VALUE only) of a table whose ids sit at place, counted after the
 * key's first skip bytes (a walk's prefix). False when the entry holds no
 * id a store could have written. Lists, summaries and verify read index
 * entries with it. */
bool index_entry_id(const MDB_val *key, const MDB_val *val, size_t skip, index_id_place place,
                    char id[VALV_ASSET_ID_MAX + 1]);

/* page_size of a list request: 0 is the default, larger than the maximum is
 * capped, negative is VALV_EINVAL on "page_size". */
int page_size_get(int32_t requested, size_t *out, valv_error *err);

typedef struct inherit inherit; /* a change being spread (inherit.c) */

/* --- Access policy (access.c) ---------------------------------------------------- */

/* True when viewer has no can_see hook: reads need not load an asset only
 * to ask whether it is visible. */
bool access_sees_all(const store_actor *viewer);

/* Asks who's authorize hook whether it may do act on assets of unit; NULL
 * who or hook: allowed. A refusal is returned with the hook's message. */
int access_check(const store_actor *who, store_act act, const char *unit, valv_error *err);

/* Reads asset id as viewer sees it: an asset viewer cannot see is missing
 * (asset_not_found), so that nothing tells the two apart. */
int access_load(const store *s, MDB_txn *txn, const char *id, const store_actor *viewer,
                Valv__V1__Asset **out, valv_error *err);

/* What access_load does once *out (asset id) is read: an asset viewer
 * cannot see is freed, *out set to NULL, and answered as missing. */
int access_hide_unseen(const char *id, const store_actor *viewer, Valv__V1__Asset **out,
                       valv_error *err);

/* access_load through asset_load_values: for reads of protection values
 * and visibility only. */
int access_load_values(const store *s, MDB_txn *txn, const char *id, const store_actor *viewer,
                       Valv__V1__Asset **out, valv_error *err);

/* *visible: asset id is visible to viewer (a missing one is not). Loads
 * the asset only when viewer has a can_see hook. */
int access_id_visible(const store *s, MDB_txn *txn, const char *id, const store_actor *viewer,
                      bool *visible, valv_error *err);

/* The start of every write to an existing asset: access_load in t, then
 * access_check of act on the asset's unit. On error *out is NULL. */
int access_load_for(store_txn *t, const char *id, const store_actor *who, store_act act,
                    Valv__V1__Asset **out, valv_error *err);

/* --- Links (links.c) ------------------------------------------------------------ */

/* Calls visit(ctx, other_id, type) for each link of asset id, ordered by
 * type and other_id: with TABLE_LINKS_OUT the links from id (other_id is the
 * `to` side), with TABLE_LINKS_IN the links to id (other_id is the `from`
 * side). A visit returning non-zero stops the walk, and links_each returns
 * that. */
typedef int (*links_visit)(void *ctx, const char *other_id, int type, valv_error *err);
int links_each(const store *s, MDB_txn *txn, int table, const char *id, links_visit visit,
               void *ctx, valv_error *err);

/* store_create_link for a link an import makes: source is the import's
 * source ("" for a link a person makes), stored in Link.source so that a
 * later import of that source replaces only its own links. from, when not
 * NULL and *from is not, is the asset from_id as it is in t, in hand
 * already (whole, or its values as asset_load_values reads them): taken
 * over (*from set to NULL) instead of read again. */
int link_create(store_txn *t, const char *from_id, Valv__V1__Asset **from, const char *to_id,
                int type, const char *source, const store_actor *who, Valv__V1__Link **out,
                valv_error *err);

/* Reads the stored link from -> to of type (caller frees *out with
 * valv__v1__link__free_unpacked). None: VALV_ENOTFOUND. */
int link_load(const store *s, MDB_txn *txn, const char *from_id, int type, const char *to_id,
              Valv__V1__Link **out, valv_error *err);

/* Removes every link of asset id (for its deletion), seeding and marking
 * relinked in change what each removal affects. Links there but !force:
 * VALV_EPRECONDITION suggesting force, and saying how many when who may see
 * the other end of every one (need to know). */
int links_remove_all(store_txn *t, const char *id, bool force, const store_actor *who,
                     inherit *change, valv_error *err);

/* --- Effective protection (inherit.c) --------------------------------------------
 *
 * One change of the graph or of assets' own values, spread in one
 * transaction. A write names the asset it changes (inherit_set_asset), the
 * assets whose protection may now differ downstream (inherit_seed: an asset
 * whose own values changed, the `to` side of an added or removed link), and
 * the assets whose links changed (inherit_relinked, for the review rules);
 * inherit_finish then recomputes effective protection for exactly the assets
 * reachable from the seeds, applies the review rules, and writes every asset
 * that changed.
 */
/* now: the time of the change, for review state times. */
int inherit_begin(store_txn *t, const struct timespec *now, inherit **out, valv_error *err);

/* The asset the request changes: old is its stored version (NULL on create)
 * and a the new one, both borrowed and owned by the caller until after
 * inherit_free. inherit_finish fills a's effective values, review, revision
 * and etag and writes it. When a's own protection values differ from old's,
 * a is seeded. At most one per change, and before inherit_seed and
 * inherit_relinked: nodes are written in the order met, and the request's
 * asset must be written first so that its audit event is the change's own. */
int inherit_set_asset(inherit *c, const Valv__V1__Asset *old, Valv__V1__Asset *a,
                      valv_error *err);
int inherit_seed(inherit *c, const char *id, valv_error *err);
/* Hands the change *a, an asset as stored, loaded in this transaction by
 * the caller (whole, or by asset_load_values), so that it is not read again. The change owns it from now
 * on (also when this fails) and sets *a to NULL. */
int inherit_give(inherit *c, Valv__V1__Asset **a, valv_error *err);
/* A link from -> to was added. A new link only adds an in-neighbour, so
 * values can only rise: to's become the maximum of its stored effective
 * values and from's. Only when from's raise to's (or win a tie) does
 * anything downstream change, and to is then seeded; otherwise nothing is
 * recomputed. Most links join unclassified assets (an import's), and this
 * spares reading every asset linked into to and beyond. */
int inherit_linked(inherit *c, const char *from_id, const char *to_id, valv_error *err);
int inherit_relinked(inherit *c, const char *id, valv_error *err);
int inherit_finish(inherit *c, valv_error *err);
void inherit_free(inherit *c); /* NULL is fine */

/* --- Review (review.c) ------------------------------------------------------------ */

/* Applies the review rules of store.h to a, the new version of old (NULL
 * for a new asset), whose effective values are set. relinked: a's links
 * changed. Sets a->review (state, state_time = now on a state change);
 * *changed says whether the review differs from old's. */
int review_update(const Valv__V1__Asset *old, Valv__V1__Asset *a, bool relinked,
                  const struct timespec *now, bool *changed, valv_error *err);

/* True when no review_update can change a's review as long as its
 * effective values stay as they are: it is not flagged and its review is
 * NOT_REQUIRED already. Lets a change skip rewriting assets it only
 * relinked. */
bool review_settled(const Valv__V1__Asset *a);

/* The key of a's entry in the review queue table; false when a has none
 * (not flagged, deleted). */
bool review_queue_key(const Valv__V1__Asset *a, unsigned char key[KEY_MAX], size_t *len);

/* Sets a->review->overdue for the time now_ns. Every asset the store hands
 * out passes through here. True when that changed a (it was stored with
 * the other value). */
bool review_mark_overdue(Valv__V1__Asset *a, int64_t now_ns);

/* --- The count of deleted assets (summary.c) -------------------------------------------
 *
 * store_get_stats reads how many assets are deleted from the meta table
 * instead of reading every asset. */

/* *count: the count txn sees; *known false when the store has none yet (a
 * store written before the count existed, opened read-only). */
int deleted_count_get(const store *s, MDB_txn *txn, int64_t *count, bool *known,
                      valv_error *err);

/* At every writable open, in its transaction: counts the deleted assets
 * once when the store has no count yet. */
int deleted_count_init(store *s, MDB_txn *txn, valv_error *err);

/* Keeps the count in step with asset_write writing a over old (NULL for a
 * new asset), in t. */
int deleted_count_write(store_txn *t, const Valv__V1__Asset *old, const Valv__V1__Asset *a,
                        valv_error *err);

/* --- Audit (audit.c) ----------------------------------------------------------------
 *
 * Every revision has one event. The first event a change appends is the
 * request's own (the action it was begun with); every later one is either
 * an asset rewritten by inheritance (ACTION_INHERIT) or a link a forced
 * delete removed (ACTION_UNLINK), and names the first as its cause.
 */

/* Starts the change a write function makes in t, at time now: action is a
 * Valv__V1__AuditAction, reason the delete reason or review comment (NULL:
 * none). who and reason are borrowed until the function returns. A missing
 * request id is generated, one for every event of the change. */
int audit_change_begin(store_txn *t, int action, const store_actor *who, const char *reason,
                       const struct timespec *now, valv_error *err);

/* Frees what the change holds (t's commit and abort call it). */
void audit_change_clear(audit_change *c);

/* Appends the event of a's revision (a->revision, the revision t just
 * took): the fields that differ between old (NULL on create) and a. */
int audit_append_asset(store_txn *t, const Valv__V1__Asset *old, const Valv__V1__Asset *a,
                       valv_error *err);

/* Takes the next revision for the link from_id -> to_id of type, added or
 * removed, and appends its event. */
int audit_append_link(store_txn *t, const char *from_id, const char *to_id, int type,
                      bool added, valv_error *err);

/* A link removed as part of deleting an asset: its UNLINK event follows the
 * delete's own, which does not exist yet when the links go. */
int audit_link_removed(store_txn *t, const char *from_id, const char *to_id, int type,
                       valv_error *err);

/* Reads the event of revision, its hash set. Caller frees *out with
 * valv__v1__audit_event__free_unpacked. No such event: VALV_ENOTFOUND. */
int audit_event_load(const store *s, MDB_txn *txn, int64_t revision,
                     Valv__V1__AuditEvent **out, valv_error *err);

/* The audit_by_asset key of asset id's event at revision; returns its length. */
#define AUDIT_INDEX_KEY_MAX (VALV_ASSET_ID_MAX + 1 + 8)
size_t audit_index_key(const char *id, int64_t revision, unsigned char key[AUDIT_INDEX_KEY_MAX]);

/* audit_by_asset is written a batch of this many events at a time (audit.c
 * says why). */
#define AUDIT_INDEX_BATCH 1024

/* *through: the revision up to which audit_by_asset holds the entries of
 * every event of txn's log (its last whole batch; 0 before the first). */
int audit_index_through(const store *s, MDB_txn *txn, int64_t *through, valv_error *err);

#endif
