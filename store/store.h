/* store.h - the asset inventory on disk (LMDB).
 *
 * One LMDB environment in a data directory holds these tables:
 *   meta        schema version, the global revision counter, the page-token key
 *   assets      asset id -> serialised valv.v1.Asset (output fields included)
 *   by_unit     owner_unit \0 id -> ""              (dupsort-free composite keys)
 *   by_kind     kind (1 byte) id -> ""
 *   by_source   source \0 external_id -> id         (unique import identity)
 *   by_display  display_name \0 id -> ""            (order_by display_name)
 *   by_update   update_time (8 bytes BE, ns) id -> ""  (order_by update_time)
 *   links_out   from \0 type \0 to -> serialised valv.v1.Link
 *   links_in    to \0 type \0 from -> ""              (links into an asset)
 *   review_queue  time (8 bytes BE, ns) id -> ""     (the review queue; see Review)
 *   audit       revision (8 bytes BE) -> SHA-256 hash (32 bytes) | canonical event bytes
 *   audit_by_asset  asset id \0 revision -> ""      (events by asset or related_asset,
 *                                                   written 1,024 events at a time: audit.c)
 *   import_seen source \0 run id (16 bytes) external_id -> ""  (marks of running imports)
 *
 * Reads run in their own read transaction on any thread. Writes run only
 * inside a store_txn, which only writer.h begins and commits: every change
 * goes through that one path, so changes can share commits. Every write
 * advances one global revision counter; an asset's revision is the revision of
 * its last change and its etag is derived from it. A write that rewrites
 * several assets (a recompute reaching many, see "Links") takes one revision
 * per asset rewritten, in one transaction; a link write first takes one
 * revision of its own, even when it rewrites no asset, and a delete with
 * force one per link it removes. Each revision has one audit event (see
 * Audit).
 *
 * update_time and update_by are those of the last create or update of the
 * asset's own fields. Changes the store derives (effective values, review
 * state) and approve, return, delete and undelete change the revision and
 * etag but not update_time.
 *
 * The map grows by itself (doubling, up to store_options.map_size_max); a
 * write that still does not fit fails with VALV_EFULL and changes nothing.
 *
 * Ownership: assets returned by store_ functions are heap-owned protobuf-c
 * messages; free them with valv__v1__asset__free_unpacked(a, NULL). Assets
 * passed in are borrowed and never changed.
 */
#ifndef VALV_STORE_H
#define VALV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "error.h"
#include "valv/v1/admin.pb-c.h"
#include "valv/v1/asset.pb-c.h"
#include "valv/v1/audit.pb-c.h"
#include "valv/v1/import.pb-c.h"

#define STORE_SCHEMA_VERSION 1
#define STORE_MAP_SIZE_INITIAL_DEFAULT (64UL << 20) /* 64 MiB */
#define STORE_MAP_SIZE_MAX_DEFAULT (64UL << 30)     /* 64 GiB */

typedef struct store store;         /* opaque: an open data directory */
typedef struct store_txn store_txn; /* opaque: a write transaction (see writer.h) */

#define STORE_REVIEW_INTERVAL_DEFAULT (365LL * 24 * 3600) /* one year, in seconds */

typedef struct {
    size_t map_size_initial; /* 0: STORE_MAP_SIZE_INITIAL_DEFAULT */
    size_t map_size_max;     /* 0: STORE_MAP_SIZE_MAX_DEFAULT */
    bool read_only;          /* open an existing store without writing (valvd verify) */
    /* Seconds from an approval to the next review. 0: STORE_REVIEW_INTERVAL_DEFAULT;
     * negative: store_open fails with VALV_EINVAL. */
    int64_t review_interval;
} store_options;

/* What a caller asks to do, for its policy (see "Access policy"). */
typedef enum {
    STORE_ACT_CREATE,   /* unit: the new asset's */
    STORE_ACT_UPDATE,   /* unit: the asset's; again with the new unit when an update moves it */
    STORE_ACT_CLASSIFY, /* an update that changes classification or security; unit: the asset's;
                           again with the new unit when the update moves it */
    STORE_ACT_DELETE,   /* delete and undelete; unit: the asset's */
    STORE_ACT_LINK,     /* create or delete a link; unit: the from asset's (the to asset must be visible) */
    STORE_ACT_REVIEW    /* approve and return; unit: the asset's */
} store_act;

/* Who makes a change (carried into the record and the audit log), and the
 * policy that decides what they may do and see (see "Access policy").
 * Initialise with designated initialisers: members left out are NULL. */
typedef struct store_actor store_actor;
struct store_actor {
    const char *actor;      /* authenticated principal; "dev" in development mode */
    const char *request_id; /* may be NULL or empty */
    /* VALV_OK, or an error code (VALV_EPERM) with err filled: a message
     * naming the principal and what it lacks, nothing about the asset but
     * unit. NULL: everything is allowed. */
    int (*authorize)(const store_actor *who, store_act act, const char *unit, valv_error *err);
    /* false: asset (as stored, effective values included) does not exist
     * for who. NULL: everything is visible. It may judge by owner_unit,
     * effective and review only: store_read_asset hands it an asset with
     * just those fields decoded. */
    bool (*can_see)(const store_actor *who, const Valv__V1__Asset *asset);
    const void *policy; /* the hooks' own data (the principal); borrowed */
};

/* Opens (creating if needed, unless read_only) the store in directory dir.
 * A store of another schema version is refused with VALV_EPRECONDITION.
 * opts may be NULL. The caller owns *out and closes it with store_close. */
int store_open(const char *dir, const store_options *opts, store **out, valv_error *err);

/* Closes the store. No transaction may be open. NULL is fine. */
void store_close(store *s);

/* The current global revision (0 for an empty store). */
int64_t store_revision(store *s);

/* --- Reads -------------------------------------------------------------- */

/* Reads one asset by id (not by name), deleted ones included.
 * VALV_ENOTFOUND: "asset assets/ID not found". */
int store_get_asset(store *s, const char *id, Valv__V1__Asset **out, valv_error *err);

/* An asset read to answer one call with: exactly one of the two is set. */
typedef struct {
    const void *encoded;     /* the asset as stored, as the wire encodes it: the answer as is */
    size_t encoded_len;
    Valv__V1__Asset *asset;  /* reading changed the asset (its review fell due since it
                                was written): the answer, to be encoded */
} store_asset_reply;

/* Reads asset id (deleted or not) as viewer sees it, to answer one call
 * with it: an asset viewer may not see is VALV_ENOTFOUND, told as if it
 * did not exist. What *out points to lives in mem (arena.h) until its
 * reset. Decodes no more of the record than visibility and review.overdue
 * need, unless reading changed it; so a record damaged inside one of its
 * other sub-messages goes out as stored, and the client's decoding fails
 * where store_get_asset would say VALV_EINTERNAL (valvd verify finds both). */
int store_read_asset(store *s, const char *id, const store_actor *viewer, arena *mem,
                     store_asset_reply *out, valv_error *err);

/* Reads n assets by id in one consistent snapshot, in the order given.
 * Fails as a whole (VALV_ENOTFOUND naming the first missing one). *out is a
 * malloc'd array of n assets; free each, then the array. */
int store_batch_get_assets(store *s, const char *const *ids, size_t n,
                           Valv__V1__Asset ***out, valv_error *err);

typedef struct {
    const char *filter;     /* AIP-160 text (filter.h); NULL or "" for all */
    const char *order_by;   /* "", "display_name", "update_time", "classification.LEVEL",
                               "effective.LEVEL", "effective.security_class", "review.state"
                               (LEVEL: confidentiality, integrity, availability,
                               traceability), each with optional " desc" */
    int32_t page_size;      /* 0: VALV_PAGE_SIZE_DEFAULT; above VALV_PAGE_SIZE_MAX: capped; negative: VALV_EINVAL */
    const char *page_token; /* NULL or "" for the first page */
    bool show_deleted;
    const store_actor *viewer; /* NULL: sees everything; else invisible assets are left out */
} store_list_request;

typedef struct {
    Valv__V1__Asset **assets; /* malloc'd array of n_assets */
    size_t n_assets;
    char *next_page_token;    /* malloc'd; NULL on the last page */
} store_list_result;

/* Lists assets in one snapshot, ordered by order_by then by id (by id alone
 * when order_by is empty; " desc" reverses both). Pages are keyset cursors:
 * assets added or removed between pages never make a page repeat or skip an
 * asset that was there before and after. Unset levels and classes sort
 * first. The classification, effective and review orders have no index:
 * each page reads every asset the filter's hints leave (a full scan when
 * there are none), so they cost O(n log n) per page on large stores.
 * Bad filter, order_by, page_size or page_token:
 * VALV_EINVAL with a violation on that field. On success the caller frees
 * *out with store_list_result_free. */
int store_list_assets(store *s, const store_list_request *req, store_list_result *out,
                      valv_error *err);
void store_list_result_free(store_list_result *r);

/* --- Writes (only inside a store_txn; see writer.h) ---------------------- */

/* Creates an asset from the caller-settable fields of asset (output-only
 * fields are ignored). id: the client's asset_id, or NULL/"" to generate one.
 * Validates (validate.h) with fields named "asset.*", refuses a taken id
 * (VALV_EEXIST) and a (source, external_id) already in use (VALV_EEXIST).
 * On success *out is the stored asset (caller frees). */
int store_create_asset(store_txn *t, const Valv__V1__Asset *asset, const char *id,
                       const store_actor *who, Valv__V1__Asset **out, valv_error *err);

/* Updates the asset named by patch->name ("assets/ID") with the fields named
 * by paths (mask.h); n_paths == 0 means every populated field of patch.
 * patch->etag, when non-empty, must match (VALV_EABORTED otherwise).
 * A deleted asset cannot be updated (VALV_EPRECONDITION). An update that
 * changes nothing writes nothing and returns the asset as it is. */
int store_update_asset(store_txn *t, const Valv__V1__Asset *patch, const char *const *paths,
                       size_t n_paths, const store_actor *who, Valv__V1__Asset **out,
                       valv_error *err);

/* Soft-deletes asset id: sets delete_time and delete_by. etag may be NULL
 * or "" (no check). Already deleted: VALV_EPRECONDITION. An asset with
 * links is refused (VALV_EPRECONDITION naming how many and suggesting
 * force) unless force, which deletes its links too (and recomputes what
 * they reached). */
int store_delete_asset(store_txn *t, const char *id, const char *etag, const char *reason,
                       bool force, const store_actor *who, Valv__V1__Asset **out,
                       valv_error *err);

/* Restores a soft-deleted asset. Not deleted: VALV_EEXIST (AIP-164).
 * Its (source, external_id) taken meanwhile by another asset: VALV_EEXIST. */
int store_undelete_asset(store_txn *t, const char *id, const char *etag,
                         const store_actor *who, Valv__V1__Asset **out, valv_error *err);

/* --- Links and inherited protection ---------------------------------------
 *
 * A link from -> to says that `to` processes, stores, hosts or serves
 * `from`, so `to` needs at least `from`'s protection. Every write that can
 * change an asset's effective protection (its own classification or
 * security, a link, a delete with force) recomputes, in the same
 * transaction, the effective values of exactly the assets it can reach
 * along links, and applies the review rules to each asset whose values
 * changed. */

typedef struct {
    Valv__V1__Link **links; /* malloc'd array of n_links; each freed with valv__v1__link__free_unpacked */
    size_t n_links;
    char *next_page_token;  /* malloc'd; NULL on the last page */
} store_link_list_result;

/* Creates the link from_id -> to_id of type. Violations name the fields
 * "from_asset", "to_asset" and "type" (CreateLink's service prefixes
 * "link."). Refused: unknown asset
 * (VALV_ENOTFOUND), deleted asset (VALV_EPRECONDITION), kinds that do not
 * fit the type (VALV_EINVAL naming the type and both kinds, e.g. "HOSTED_IN
 * links an IT_SYSTEM to a FACILITY, not an INFORMATION to a FACILITY"), a
 * link to itself (VALV_EINVAL), the same link again (VALV_EEXIST). *out is
 * the stored link (caller frees with valv__v1__link__free_unpacked). */
int store_create_link(store_txn *t, const char *from_id, const char *to_id,
                      Valv__V1__LinkType type, const store_actor *who, Valv__V1__Link **out,
                      valv_error *err);

/* Deletes the link; VALV_ENOTFOUND when there is no such link. Values that
 * the link raised fall again. */
int store_delete_link(store_txn *t, const char *from_id, const char *to_id,
                      Valv__V1__LinkType type, const store_actor *who, valv_error *err);

/* Lists the links from and to asset id (which must exist and be visible to
 * viewer: VALV_ENOTFOUND otherwise), ordered by direction (outgoing first),
 * type and the other asset's id; links whose other end is invisible to
 * viewer are left out (viewer NULL: none). page_size as in
 * store_list_request. Each link has its source (the import that made it;
 * "" for links people made). Caller frees *out with store_link_list_result_free. */
int store_list_links(store *s, const char *id, const store_actor *viewer, int32_t page_size,
                     const char *page_token, store_link_list_result *out, valv_error *err);
void store_link_list_result_free(store_link_list_result *r);

/* --- Review -----------------------------------------------------------------
 *
 * A flagged asset needs the security protection chief's approval. Its review
 * state becomes PENDING when it becomes flagged, and when a flagged asset's
 * classification, security, kind, owner unit, links or effective values
 * change (through inheritance too). An asset that is no longer flagged is
 * NOT_REQUIRED. APPROVED past due_time is overdue and back in the queue.
 *
 * state_time changes with each change of state (a PENDING asset that changes
 * again keeps its place in the queue). due_time is set only while APPROVED,
 * in whole seconds; review.overdue (APPROVED and due_time <= now) is
 * computed on every asset the store returns and never stored. Rules for
 * "changes": classification and security compare whole (rationale and
 * decision_ref too); effective values compare without their sources; a
 * link added or removed changes the links of both ends. */

/* Approves / returns the version of asset id that the reviewer saw. etag is
 * required (missing: VALV_EINVAL; stale: VALV_EABORTED), comment is required
 * (1..VALV_COMMENT_MAX bytes). The asset must be in the queue (PENDING,
 * RETURNED, or APPROVED and overdue): otherwise VALV_EPRECONDITION saying
 * why (not flagged; already approved until DATE). Approval sets reviewer,
 * review_time, comment and due_time = now + review interval. */
int store_approve_asset(store_txn *t, const char *id, const char *etag, const char *comment,
                        const store_actor *who, Valv__V1__Asset **out, valv_error *err);
int store_return_asset(store_txn *t, const char *id, const char *etag, const char *comment,
                       const store_actor *who, Valv__V1__Asset **out, valv_error *err);

typedef struct {
    const char *owner_unit; /* NULL or "": every unit */
    int32_t page_size;      /* as in store_list_request */
    const char *page_token;
    const store_actor *viewer; /* as in store_list_request */
} store_queue_request;

/* The review queue, oldest first: PENDING and RETURNED by state_time, and
 * overdue APPROVED by due_time, in one order. Deleted assets are never in
 * it. A page token belongs to its owner_unit. Filtering by owner_unit walks
 * the whole queue. Caller frees *out with store_list_result_free. */
int store_list_review_queue(store *s, const store_queue_request *req, store_list_result *out,
                            valv_error *err);

/* --- Audit -------------------------------------------------------------------
 *
 * Every change appends one valv.v1.AuditEvent in the same transaction as the
 * change: one event per revision, revisions 1, 2, 3, ... without gaps. A
 * change that fails writes no event. An effective-protection or review
 * change caused by inheritance is its own event (ACTION_INHERIT) whose
 * cause_revision names the change that caused it. Events are chained:
 * prev_hash is the previous event's hash (32 zero bytes for the first), and
 * hash = SHA-256(prev_hash || canonical bytes), where the canonical bytes are
 * the event as stored with hash left empty. The request id is who->request_id,
 * or a generated one (16 hex digits) when that is empty, the same for every
 * event of one change.
 *
 * A change's first event is the request's own: CREATE, UPDATE, DELETE (reason:
 * the delete reason), UNDELETE, LINK, UNLINK, APPROVE or RETURN (reason: the
 * comment). Then, each naming it in cause_revision: an UNLINK for each link a
 * delete with force removed, and an INHERIT for each asset whose effective
 * values or review state the change rewrote. asset is "assets/ID"; a link
 * event's asset is the link's from side and related_asset its to side.
 *
 * changes lists every field of the asset that differs, found by walking the
 * Asset descriptor (sub-messages field by field: "classification.integrity",
 * "effective.sources", "review.state"), except revision, etag, update_time and
 * update_by, which change with every write. Values are text: enums by name,
 * bools "true"/"false", timestamps RFC 3339 UTC, lists and maps compact JSON
 * (map keys sorted); a field unset on one side (on CREATE: every field) has
 * before or after "". A link event has one change, "link", with the link type
 * as after (LINK) or before (UNLINK). */

/* Bytes of randomness in a generated request id. */
#define STORE_REQUEST_ID_RANDOM_BYTES 8

/* Writes the request id made from random (STORE_REQUEST_ID_RANDOM_BYTES
 * bytes): 16 lowercase hex digits and a NUL. The one form of a generated
 * id, whether valvd's log (a call's id) or the store (a change's or an
 * import's, when the caller gave none) makes it. */
void store_request_id_format(const unsigned char random[STORE_REQUEST_ID_RANDOM_BYTES],
                             char out[2 * STORE_REQUEST_ID_RANDOM_BYTES + 1]);

typedef struct {
    const char *asset_id;   /* NULL or "": every asset (matches asset or related_asset) */
    const char *actor;      /* NULL or "": every actor */
    int action;             /* Valv__V1__AuditAction; 0: every action */
    int64_t start_unix_ns;  /* 0: from the first event; inclusive */
    int64_t end_unix_ns;    /* 0: to the last event; exclusive */
    bool newest_first;
    int32_t page_size;      /* as in store_list_request */
    const char *page_token;
    /* NULL: every event. Else events whose asset or related asset is
     * invisible to viewer now (a deleted asset: as it was deleted) are left
     * out, even when the query names that asset. */
    const store_actor *viewer;
} store_audit_query;

typedef struct {
    Valv__V1__AuditEvent **events; /* malloc'd array; each freed with valv__v1__audit_event__free_unpacked */
    size_t n_events;
    char *next_page_token;         /* malloc'd; NULL on the last page */
} store_audit_result;

/* Lists events by the query, keyset-paged (a token belongs to its query).
 * Caller frees *out with store_audit_result_free. */
int store_list_audit_events(store *s, const store_audit_query *q, store_audit_result *out,
                            valv_error *err);
void store_audit_result_free(store_audit_result *r);

/* Reads up to max events with revision > after, oldest first, for
 * WatchChanges. *n_out may be less than max (0: none yet). The array and
 * events are the caller's (free each, then the array). */
int store_read_events(store *s, int64_t after, size_t max, Valv__V1__AuditEvent ***out,
                      size_t *n_out, valv_error *err);

typedef struct {
    bool ok;
    int64_t checked;            /* events (or records) checked */
    int64_t last_revision;
    int64_t first_bad_revision; /* 0 when ok, or when the problem is not tied to a revision */
    char problem[512];          /* what is wrong, for a person */
} store_verify_result;

/* Walks the audit chain from the first event: revisions contiguous from 1,
 * each hash correct, each prev_hash equal to the previous hash, the last
 * revision equal to the store's revision. Reports the first break. */
int store_verify_audit(store *s, store_verify_result *out, valv_error *err);

/* Checks that every index (by_unit, by_kind, by_source, by_display,
 * by_update, the review queue, links in and out, the audit index) agrees with
 * the asset and link records, both ways. Reports the first disagreement. */
int store_verify_indexes(store *s, store_verify_result *out, valv_error *err);

/* --- Imports -------------------------------------------------------------------
 *
 * An import sets inventory facts for records keyed by (source, external_id):
 * kind (on create only; a different kind later fails the record), display
 * name, description, owner unit, owner, attributes, labels and the record's
 * links. It never sets or lowers a classification, a security protection
 * value or a review: a record carrying classification or security fails
 * with a reason saying so. A record whose facts equal the stored ones is
 * "unchanged": no write, no revision, no audit event. Every write an import
 * makes goes through the same paths as the API's (inheritance, review and
 * audit included; actor and request id from who).
 *
 * Identity: a record with an external_id is the asset (source, external_id),
 * created when new. A record without one must name an existing asset
 * (record.name): its facts are updated, it is never created and SYNC never
 * deletes it (this is how an exported, edited inventory comes back).
 *
 * Links: when a record has links, they replace the links from its asset
 * that this source made earlier (Link.source); a record without links leaves
 * them alone, and links made by people are never touched. A link target is an external id of the same source (a record of this import
 * or an asset already stored) or an asset name. A target not found yet is
 * kept pending and resolved when the import finishes (records may link to
 * records later in the stream); still unresolved then, the record fails.
 *
 * Links an import makes carry its source (Link.source); ListLinks shows it.
 * Attributes compare as a map and labels as a set: a source that sends them
 * in another order has changed nothing.
 *
 * Memory stays flat for non-atomic imports: each batch is applied and
 * committed on its own; only failures (up to STORE_IMPORT_FAILURES_MAX, with
 * the total counted) and pending links (up to STORE_IMPORT_PENDING_MAX) are
 * kept. SYNC marks each record's asset as seen by this import run (table
 * import_seen: source \0 run id external_id, so that two imports of one
 * source never mix their marks) and, at the end, soft-deletes (with force,
 * reason "not in the SYNC import of source S") this source's live assets
 * that were not seen. A record that fails still counts as seen: a row with
 * a mistake never deletes its asset. Finish removes the run's marks (and
 * those of runs that began over a week ago and never finished).
 *
 * dry_run: each record is applied in its own transaction and rolled back,
 * so records of a non-atomic dry run do not see one another; they are
 * marked as seen (these marks are the only thing a dry run writes, and
 * finish removes them) so that links between them resolve and SYNC counts
 * what it would delete. A dry atomic import is exact: everything is applied
 * in one transaction and rolled back at the end.
 *
 * atomic: store_import_apply only holds the records (borrowed: they must
 * stay valid until store_import_finish returns); store_import_finish applies
 * them all, resolves links and runs SYNC in one nested transaction, and
 * rolls it back when any record failed (rolled_back) or dry_run. Call the
 * apply calls and finish in ONE transaction (one writer job). */

#define STORE_IMPORT_FAILURES_MAX 1000
#define STORE_IMPORT_PENDING_MAX 100000
#define STORE_IMPORT_BATCH_MAX 1000     /* records per store_import_apply */
#define STORE_IMPORT_ATOMIC_MAX 100000  /* records in one atomic import */
#define STORE_IMPORT_LINKS_MAX 256      /* links in one record */

typedef struct store_import store_import; /* opaque: one import's state */

typedef struct {
    const char *source; /* ^[a-z][a-z0-9-]{0,62}$ */
    bool sync;          /* also soft-delete this source's assets not in the import */
    bool dry_run;       /* count what would happen; write nothing */
    bool atomic;        /* all or nothing */
} store_import_options;

/* Starts an import (checks the options: VALV_EINVAL on "header.source").
 * The caller owns *out (store_import_free). */
int store_import_begin(store *s, const store_import_options *opts, store_import **out,
                       valv_error *err);

/* Applies records[0..n) (n <= STORE_IMPORT_BATCH_MAX; records borrowed,
 * atomic imports: until finish) in txn. first_index is the stream position
 * of records[0], for failure reports. Each record goes in whole or not at
 * all: a failing record is left out alone and reported (index,
 * external_id, origin, reason), the others of the batch go in. dry_run
 * rolls every record back; atomic defers everything to
 * store_import_finish (see above). VALV_OK is returned whatever records
 * failed (the counts say what happened); only storage errors (VALV_EFULL,
 * VALV_EINTERNAL), a batch over the limits (VALV_EINVAL) and
 * VALV_ERUN_AGAIN are returned.
 * VALV_ERUN_AGAIN: a record failed after part of it was written to txn.
 * Abort txn and make the calls since the last store_import_commit_batch
 * again in a new transaction: they then give that record a transaction of
 * its own. Each VALV_ERUN_AGAIN moves that point to an earlier record, so
 * the calls end. (The writer does this for a job that returns it.)
 * May run more than once for the same records (writer.h reruns a group when
 * the map grows): what a call found (counts, failures, pending links, held
 * records) is staged in imp, and a call that does not continue where the
 * staged calls ended (first_index) discards them first, as does a finish
 * after a finish; store_import_commit_batch makes them part of the totals. */
int store_import_apply(store_txn *t, store_import *imp, Valv__V1__ImportRecord *const *records,
                       size_t n, int64_t first_index, const store_actor *who, valv_error *err);

/* Makes what the last store_import_apply or store_import_finish staged part
 * of the import's totals; call it once that call's transaction committed
 * (in the writer job's done). */
void store_import_commit_batch(store_import *imp);

/* Ends the import in txn: resolves pending links (failing the records whose
 * targets are still missing) and, for SYNC, soft-deletes this source's
 * assets not seen (skipped when the import is rolled back or dry). Same
 * rerun, VALV_ERUN_AGAIN and commit rules as store_import_apply. */
int store_import_finish(store_txn *t, store_import *imp, const store_actor *who, valv_error *err);

/* The totals and the first failures, as the response. out is initialised
 * by the caller; its strings and failures are borrowed from imp (valid until
 * store_import_free). */
void store_import_result(const store_import *imp, Valv__V1__ImportAssetsResponse *out);

void store_import_free(store_import *imp);

/* --- Access policy ------------------------------------------------------------
 *
 * The store knows nothing of principals or roles: who may do what is the
 * caller's policy, passed as two hooks in store_actor and applied by the
 * store where each decision needs the asset as it is, inside the write's
 * transaction. NULL hooks allow everything and hide nothing (tests, tools).
 * An import applies the hooks of the actor it is given to each write it
 * makes: a record they refuse fails alone, with the hook's message.
 *
 * Order inside every write (AIP-193 and need-to-know): load the asset; if
 * can_see says no, the asset does not exist for this caller (VALV_ENOTFOUND,
 * the same message as for a missing asset); then authorize (the hook's
 * error); only then the etag and the rest. Request-shape errors that need
 * no asset (a bad id, a missing comment) come first.
 *
 *   create        CREATE on the new asset's owner_unit, after validating the
 *                 asset and before looking at whether its id is taken
 *   update        can_see the stored asset; UPDATE on its unit; the mask
 *                 (a bad path: VALV_EINVAL); UPDATE on the new unit when owner_unit
 *                 changes; CLASSIFY on its unit (and the new one) when
 *                 classification or security change, compared whole; then
 *                 the etag, then "deleted" and validation
 *   delete, undelete  can_see; DELETE on its unit; then the etag
 *   create link, delete link  can_see the from and the to asset (from
 *                 first); LINK on the from asset's unit
 *   approve, return   can_see; REVIEW on its unit; then the etag
 *
 * Visibility is judged on the asset as stored, whose effective values carry
 * what it inherits through links.
 *
 * Reads take the caller as a viewer (NULL: sees everything):
 * store_list_request.viewer, store_queue_request.viewer,
 * store_audit_query.viewer and store_list_links(..., viewer, ...) leave out
 * what the viewer cannot see; a page still holds up to page_size visible
 * items, and its token resumes after the last one returned.
 * store_get_asset, store_batch_get_assets and store_read_events take no
 * viewer: the service asks store_asset_visible for each asset it hands out. */

/* True when viewer may know that asset exists: viewer NULL, its can_see
 * NULL, or can_see says so. asset is borrowed. */
bool store_asset_visible(const store_actor *viewer, const Valv__V1__Asset *asset);

/* --- The picture and the numbers (Admin, metrics) ------------------------ */

/* Counts the live assets per owner unit as Admin.GetSummary describes
 * (admin.proto), from one read transaction: only units in `units` (n_units
 * of them) when n_units > 0, and only what viewer may see (NULL: all).
 * out->revision is the revision the counts are from. The caller owns *out:
 * valv__v1__summary__free_unpacked(*out, NULL). */
int store_summarize(store *s, const store_actor *viewer, const char *const *units,
                    size_t n_units, Valv__V1__Summary **out, valv_error *err);

/* Figures that cost no scan: read from LMDB's own statistics. */
typedef struct {
    int schema_version;
    int64_t revision;
    int64_t live_assets;
    int64_t deleted_assets;
    int64_t database_bytes; /* pages in use */
    int64_t map_bytes;      /* the current map size */
    int64_t map_bytes_max;  /* store_options.map_size_max */
} store_stats;

int store_get_stats(store *s, store_stats *out, valv_error *err);

/* Writes a consistent, compacted copy of the whole database (an LMDB
 * data.mdb) to fd, from one read transaction, while writers go on.
 * *revision_out: the revision the copy holds. fd is borrowed (not closed). */
int store_backup(store *s, int fd, int64_t *revision_out, valv_error *err);

/* --- Transactions (for writer.c and tests) ------------------------------- */

/* Begins a write transaction, nested inside parent when parent is non-NULL
 * (a job's own transaction inside a group commit). Only one top-level write
 * transaction exists at a time (LMDB serialises them). */
int store_txn_begin(store *s, store_txn *parent, store_txn **out, valv_error *err);

/* Commits and frees t. For a top-level transaction the data is durable when
 * this returns VALV_OK. VALV_EFULL: the map is full (store_map_full; call
 * store_grow and try again) or the disk is (t is freed, nothing written
 * either way). */
int store_txn_commit(store_txn *t, valv_error *err);

/* Discards and frees t. */
void store_txn_abort(store_txn *t);

/* Puts and deletes made in t so far, those of nested transactions
 * committed into it included: a caller can tell whether a step that
 * failed wrote anything, which only rolling t back would take out. */
uint64_t store_txn_writes(const store_txn *t);

/* Doubles the map size (up to map_size_max). No transaction of this
 * process may be open in the calling thread; readers on other threads are
 * waited for. VALV_EFULL when already at the maximum. */
int store_grow(store *s, valv_error *err);

/* Grows the map (as store_grow) when the database fills more than three
 * quarters of it, so that a write seldom runs out of map and has to be run
 * again. Only when nothing holds the map now: no reader, no backup (it
 * does not wait; the next call tries again). For the writer thread,
 * between transactions. */
void store_grow_ahead(store *s);

/* True when the last write that failed with VALV_EFULL ran out of map,
 * which store_grow can help; false when the disk is full (or nothing
 * failed). For the writer thread. */
bool store_map_full(store *s);

/* The map size in bytes now, and the bytes in use. */
void store_map_usage(store *s, size_t *map_size, size_t *used);

#endif
