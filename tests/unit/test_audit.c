/* test_audit.c - the audit trail: one event per change with what changed,
 * none for a change that failed or changed nothing, listing by asset, actor,
 * action and time in pages, and verification that finds an altered or
 * removed event and an index that disagrees with its records. */
#include <lmdb.h>
#include <openssl/evp.h>

#include "store_fixture.h"
#include "store_internal.h" /* AUDIT_INDEX_BATCH */

#define INFORMATION VALV__V1__ASSET_KIND__INFORMATION
#define IT_SYSTEM VALV__V1__ASSET_KIND__IT_SYSTEM
#define FACILITY VALV__V1__ASSET_KIND__FACILITY
#define PROCESSED_BY VALV__V1__LINK_TYPE__PROCESSED_BY
#define HOSTED_IN VALV__V1__LINK_TYPE__HOSTED_IN

#define ACTION(name) VALV__V1__AUDIT_ACTION__ACTION_##name

static const store_actor bob = {.actor = "bob"}; /* sends no request id */
static const store_actor chief = {.actor = "chief", .request_id = "req-chief"};

/* --- Helpers ----------------------------------------------------------------------- */

/* Every event, oldest first; free with events_free. */
static Valv__V1__AuditEvent **events_all(size_t *n)
{
    Valv__V1__AuditEvent **events = NULL;
    valv_error err;
    ck_assert_msg(store_read_events(s, 0, 1000, &events, n, &err) == VALV_OK, "%s",
                  err.message);
    return events;
}

static void events_free(Valv__V1__AuditEvent **events, size_t n)
{
    for (size_t i = 0; i < n; i++)
        valv__v1__audit_event__free_unpacked(events[i], NULL);
    free(events);
}

/* The event of revision, which must exist; free it. */
static Valv__V1__AuditEvent *event_at(int64_t revision)
{
    Valv__V1__AuditEvent **events = NULL;
    size_t n = 0;
    valv_error err;
    ck_assert_int_eq(store_read_events(s, revision - 1, 1, &events, &n, &err), VALV_OK);
    ck_assert_msg(n == 1 && events[0]->revision == revision, "no event %lld", (long long)revision);
    Valv__V1__AuditEvent *e = events[0];
    free(events);
    return e;
}

static void event_free(Valv__V1__AuditEvent *e)
{
    valv__v1__audit_event__free_unpacked(e, NULL);
}

/* The change of field in e, or NULL. */
static const Valv__V1__FieldChange *change_of(const Valv__V1__AuditEvent *e, const char *field)
{
    for (size_t i = 0; i < e->n_changes; i++)
        if (strcmp(e->changes[i]->field, field) == 0)
            return e->changes[i];
    return NULL;
}

static void assert_change(const Valv__V1__AuditEvent *e, const char *field, const char *before,
                          const char *after)
{
    const Valv__V1__FieldChange *c = change_of(e, field);
    ck_assert_msg(c != NULL, "event %lld has no change of %s", (long long)e->revision, field);
    ck_assert_str_eq(c->before, before);
    ck_assert_str_eq(c->after, after);
}

static bool is_rfc3339_utc(const char *text)
{
    size_t len = strlen(text);
    return len >= 20 && text[4] == '-' && text[10] == 'T' && text[len - 1] == 'Z';
}

static int64_t time_ns(const Valv__V1__AuditEvent *e)
{
    return e->time->seconds * 1000000000LL + e->time->nanos;
}

static char *etag_of(const char *id)
{
    Valv__V1__Asset *a = get(id);
    char *etag = strdup(a->etag);
    asset_free(a);
    return etag;
}

static int update_display_name(const char *id, const char *display_name, const char *etag,
                               valv_error *err)
{
    static const char *const paths[] = {"display_name"};
    Valv__V1__Asset patch = VALV__V1__ASSET__INIT;
    patch.display_name = (char *)display_name;
    patch.etag = (char *)(etag != NULL ? etag : "");
    return update_paths(id, &patch, paths, 1, err);
}

typedef int (*decide_fn)(store_txn *, const char *, const char *, const char *,
                         const store_actor *, Valv__V1__Asset **, valv_error *);

static void decide_ok(decide_fn fn, const char *id, const char *comment)
{
    Valv__V1__Asset *out = NULL;
    valv_error err;
    char *etag = etag_of(id);
    store_txn *t = txn_begin();
    int rc = txn_finish(t, fn(t, id, etag, comment, &chief, &out, &err), &err);
    ck_assert_msg(rc == VALV_OK, "review %s: %s", id, err.message);
    asset_free(out);
    free(etag);
}

static store_audit_result list(const store_audit_query *q)
{
    store_audit_result r;
    valv_error err;
    ck_assert_msg(store_list_audit_events(s, q, &r, &err) == VALV_OK, "%s", err.message);
    return r;
}

/* The revisions of a result, as "1 2 3". */
static const char *revisions_of(const store_audit_result *r)
{
    static char text[256];
    size_t len = 0;
    text[0] = '\0';
    for (size_t i = 0; i < r->n_events; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%s%lld", i ? " " : "",
                                (long long)r->events[i]->revision);
    return text;
}

/* The pages of q, oldest first then newest first, as "1 2|3 4|5;5 4|3 2|1;"
 * for page_size 2: "|" ends a page with a next page token, ";" the last. */
static void pages_both_ways(store_audit_query q, char *pages, size_t cap)
{
    char *token = NULL;
    size_t len = 0;

    pages[0] = '\0';
    for (int newest_first = 0; newest_first < 2; newest_first++) {
        q.newest_first = newest_first;
        q.page_token = NULL;
        do {
            store_audit_result r = list(&q);
            len += (size_t)snprintf(pages + len, cap - len, "%s%s", revisions_of(&r),
                                    r.next_page_token != NULL ? "|" : ";");
            ck_assert_uint_lt(len, cap);
            free(token);
            token = r.next_page_token != NULL ? strdup(r.next_page_token) : NULL;
            q.page_token = token;
            store_audit_result_free(&r);
        } while (token != NULL);
    }
}

/* Creates assets f-N in one transaction until the store's revision is
 * `revision`: an event each. */
static void fill_to(int64_t revision)
{
    valv_error err;
    int rc = VALV_OK;
    store_txn *t = txn_begin();
    for (int64_t r = store_revision(s); r < revision && rc == VALV_OK; r++) {
        char id[32];
        snprintf(id, sizeof id, "f-%lld", (long long)r + 1);
        rc = create_in(t, id, FACILITY, "property", NULL, NULL, &err);
    }
    ck_assert_msg(txn_finish(t, rc, &err) == VALV_OK, "%s", err.message);
    ck_assert_int_eq(store_revision(s), revision);
}

/* Five changes by two actors: 1 create a, 2 create b (bob), 3 create c,
 * 4 update a, 5 create d. */
static void five_changes(void)
{
    Valv__V1__Asset a = VALV__V1__ASSET__INIT, *out = NULL;
    valv_error err;
    create_ok("a", INFORMATION, "it");
    a.kind = IT_SYSTEM;
    a.display_name = "B";
    a.owner_unit = "it";
    store_txn *t = txn_begin();
    ck_assert_int_eq(txn_finish(t, store_create_asset(t, &a, "b", &bob, &out, &err), &err),
                     VALV_OK);
    asset_free(out);
    create_ok("c", FACILITY, "property");
    ck_assert_int_eq(update_display_name("a", "A2", NULL, &err), VALV_OK);
    create_ok("d", FACILITY, "property");
}

/* --- Raw access to the LMDB environment, to damage the store ---------------------- */

typedef struct {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
} raw_table;

/* Closes the store and opens table in its environment for writing. */
static raw_table raw_open(const char *table)
{
    raw_table r;
    store_close(s);
    s = NULL;
    ck_assert_int_eq(mdb_env_create(&r.env), 0);
    ck_assert_int_eq(mdb_env_set_maxdbs(r.env, 16), 0);
    ck_assert_int_eq(mdb_env_open(r.env, fixture_dir, 0, 0600), 0);
    ck_assert_int_eq(mdb_txn_begin(r.env, NULL, 0, &r.txn), 0);
    ck_assert_int_eq(mdb_dbi_open(r.txn, table, 0, &r.dbi), 0);
    return r;
}

/* Commits the edit and opens the store again, read-only as valvd verify does. */
static void raw_close(raw_table *r)
{
    store_options read_only = {.read_only = true};
    ck_assert_int_eq(mdb_txn_commit(r->txn), 0);
    mdb_env_close(r->env);
    fixture_reopen(&read_only);
}

static MDB_val revision_key(int64_t revision, unsigned char buf[8])
{
    for (int i = 7; i >= 0; i--, revision >>= 8)
        buf[i] = (unsigned char)(revision & 0xff);
    return (MDB_val){8, buf};
}

static store_verify_result verify_audit(void)
{
    store_verify_result r;
    valv_error err;
    ck_assert_msg(store_verify_audit(s, &r, &err) == VALV_OK, "%s", err.message);
    return r;
}

static store_verify_result verify_indexes(void)
{
    store_verify_result r;
    valv_error err;
    ck_assert_msg(store_verify_indexes(s, &r, &err) == VALV_OK, "%s", err.message);
    return r;
}

/* --- One event per change ----------------------------------------------------------- */

START_TEST(test_create)
{
    Valv__V1__Classification cls = VALV__V1__CLASSIFICATION__INIT;
    Valv__V1__Asset a = VALV__V1__ASSET__INIT, *out = NULL;
    char *labels[] = {"gdpr", "hr"};
    Valv__V1__Asset__AttributesEntry room = VALV__V1__ASSET__ATTRIBUTES_ENTRY__INIT;
    Valv__V1__Asset__AttributesEntry floor = VALV__V1__ASSET__ATTRIBUTES_ENTRY__INIT;
    Valv__V1__Asset__AttributesEntry *attributes[] = {&room, &floor};
    valv_error err;

    room.key = "room";
    room.value = "B\"1\\2";
    floor.key = "floor";
    floor.value = "plan ö";
    a.attributes = attributes;
    a.n_attributes = 2;
    cls.confidentiality = LEVEL(3);
    a.kind = INFORMATION;
    a.display_name = "Personnel files";
    a.owner_unit = "hr";
    a.classification = &cls;
    a.labels = labels;
    a.n_labels = 2;
    store_txn *t = txn_begin();
    ck_assert_int_eq(txn_finish(t, store_create_asset(t, &a, "files", &alice, &out, &err), &err),
                     VALV_OK);
    asset_free(out);

    Valv__V1__AuditEvent *e = event_at(1);
    ck_assert_int_eq(e->action, ACTION(CREATE));
    ck_assert_str_eq(e->actor, "alice");
    ck_assert_str_eq(e->request_id, "req-1");
    ck_assert_str_eq(e->asset, "assets/files");
    ck_assert_str_eq(e->related_asset, "");
    ck_assert_int_eq(e->cause_revision, 0);
    assert_change(e, "kind", "", "INFORMATION");
    assert_change(e, "display_name", "", "Personnel files");
    assert_change(e, "classification.confidentiality", "", "SERIOUS");
    assert_change(e, "labels", "", "[\"gdpr\",\"hr\"]");
    /* A map is a JSON object with its keys sorted, escaped as JSON. */
    assert_change(e, "attributes", "", "{\"floor\":\"plan ö\",\"room\":\"B\\\"1\\\\2\"}");
    assert_change(e, "effective.confidentiality", "", "SERIOUS");
    assert_change(e, "effective.sources", "", "{\"confidentiality\":\"assets/files\"}");
    ck_assert_ptr_nonnull(e->time);
    ck_assert_int_gt(e->time->seconds, 0); /* the event says when; create_time need not */
    /* Unset fields, those that change on every write, and those the event
     * itself states (its asset, time and actor), are not listed. */
    ck_assert_ptr_null(change_of(e, "name"));
    ck_assert_ptr_null(change_of(e, "create_time"));
    ck_assert_ptr_null(change_of(e, "create_by"));
    ck_assert_ptr_null(change_of(e, "classification.integrity"));
    ck_assert_ptr_null(change_of(e, "description"));
    ck_assert_ptr_null(change_of(e, "revision"));
    ck_assert_ptr_null(change_of(e, "etag"));
    ck_assert_ptr_null(change_of(e, "update_time"));
    ck_assert_ptr_null(change_of(e, "update_by"));
    ck_assert_int_eq(e->hash.len, 32);
    ck_assert_int_eq(e->prev_hash.len, 32);
    event_free(e);
}
END_TEST

START_TEST(test_update_of_a_level)
{
    create_ok("files", INFORMATION, "hr");
    classify_ok("files", LEVEL(3), 0, 0, 0);
    classify_ok("files", LEVEL(1), 0, 0, 0);

    Valv__V1__AuditEvent *e = event_at(3);
    ck_assert_int_eq(e->action, ACTION(UPDATE));
    ck_assert_str_eq(e->asset, "assets/files");
    assert_change(e, "classification.confidentiality", "SERIOUS", "MODERATE");
    assert_change(e, "effective.confidentiality", "SERIOUS", "MODERATE");
    ck_assert_ptr_null(change_of(e, "classification.integrity"));
    ck_assert_ptr_null(change_of(e, "kind"));
    ck_assert_int_eq(e->n_changes, 2);
    event_free(e);
}
END_TEST

START_TEST(test_delete_and_undelete)
{
    Valv__V1__Asset *out = NULL;
    valv_error err;

    create_ok("old", IT_SYSTEM, "it");
    ck_assert_int_eq(delete_asset("old", false, &err), VALV_OK);
    store_txn *t = txn_begin();
    ck_assert_int_eq(txn_finish(t, store_undelete_asset(t, "old", NULL, &bob, &out, &err), &err),
                     VALV_OK);
    asset_free(out);

    Valv__V1__AuditEvent *deleted = event_at(2), *restored = event_at(3);
    ck_assert_int_eq(deleted->action, ACTION(DELETE));
    ck_assert_str_eq(deleted->reason, "retired");
    assert_change(deleted, "delete_by", "", "alice");
    const char *delete_time = change_of(deleted, "delete_time")->after;
    ck_assert(is_rfc3339_utc(delete_time));
    ck_assert_int_eq(restored->action, ACTION(UNDELETE));
    ck_assert_str_eq(restored->actor, "bob");
    ck_assert_str_eq(restored->reason, "");
    assert_change(restored, "delete_time", delete_time, "");
    assert_change(restored, "delete_by", "alice", "");
    event_free(deleted);
    event_free(restored);
}
END_TEST

START_TEST(test_link_and_unlink)
{
    valv_error err;

    create_ok("info", INFORMATION, "hr");
    create_ok("sys", IT_SYSTEM, "it");
    link_ok("info", "sys", PROCESSED_BY);
    ck_assert_int_eq(link_remove("info", "sys", PROCESSED_BY, &err), VALV_OK);
    ck_assert_int_eq(store_revision(s), 4); /* nothing to inherit: one event each */

    Valv__V1__AuditEvent *linked = event_at(3), *unlinked = event_at(4);
    ck_assert_int_eq(linked->action, ACTION(LINK));
    ck_assert_str_eq(linked->asset, "assets/info");
    ck_assert_str_eq(linked->related_asset, "assets/sys");
    assert_change(linked, "link", "", "PROCESSED_BY");
    ck_assert_int_eq(unlinked->action, ACTION(UNLINK));
    ck_assert_str_eq(unlinked->related_asset, "assets/sys");
    assert_change(unlinked, "link", "PROCESSED_BY", "");
    event_free(linked);
    event_free(unlinked);
}
END_TEST

START_TEST(test_return_and_approve)
{
    create_ok("vault", FACILITY, "property");
    classify_ok("vault", 0, 0, LEVEL(4), 0); /* VERY_SERIOUS: flagged, pending */
    decide_ok(store_return_asset, "vault", "name the decision this rests on");
    decide_ok(store_approve_asset, "vault", "decision 2024-17 is sound");

    Valv__V1__AuditEvent *returned = event_at(3), *approved = event_at(4);
    ck_assert_int_eq(returned->action, ACTION(RETURN));
    ck_assert_str_eq(returned->actor, "chief");
    ck_assert_str_eq(returned->reason, "name the decision this rests on");
    assert_change(returned, "review.state", "PENDING", "RETURNED");
    assert_change(returned, "review.reviewer", "", "chief");
    assert_change(returned, "review.comment", "", "name the decision this rests on");
    ck_assert_int_eq(approved->action, ACTION(APPROVE));
    ck_assert_str_eq(approved->reason, "decision 2024-17 is sound");
    assert_change(approved, "review.state", "RETURNED", "APPROVED");
    ck_assert(is_rfc3339_utc(change_of(approved, "review.due_time")->after));
    ck_assert_str_eq(change_of(approved, "review.due_time")->before, "");
    event_free(returned);
    event_free(approved);
}
END_TEST

/* What a change does downstream is one event per asset it rewrote, each
 * naming the change as its cause. */
START_TEST(test_inherit_names_its_cause)
{
    create_ok("info", INFORMATION, "hr");       /* 1 */
    create_ok("sys", IT_SYSTEM, "it");          /* 2 */
    classify_ok("info", LEVEL(3), 0, 0, 0);     /* 3 */
    link_ok("info", "sys", PROCESSED_BY);       /* 4, sys inherits at 5 */
    classify_ok("info", LEVEL(4), 0, 0, 0);     /* 6, sys inherits at 7 */
    ck_assert_int_eq(store_revision(s), 7);

    Valv__V1__AuditEvent *linked = event_at(4), *inherited = event_at(5);
    ck_assert_int_eq(linked->action, ACTION(LINK));
    ck_assert_int_eq(inherited->action, ACTION(INHERIT));
    ck_assert_int_eq(inherited->cause_revision, 4);
    ck_assert_str_eq(inherited->asset, "assets/sys");
    ck_assert_str_eq(inherited->request_id, linked->request_id);
    ck_assert_str_eq(inherited->actor, "alice");
    assert_change(inherited, "effective.confidentiality", "LEVEL_UNSPECIFIED", "SERIOUS");
    assert_change(inherited, "effective.sources", "", "{\"confidentiality\":\"assets/info\"}");
    ck_assert_ptr_null(change_of(inherited, "classification.confidentiality"));
    event_free(linked);
    event_free(inherited);

    Valv__V1__AuditEvent *updated = event_at(6);
    inherited = event_at(7);
    ck_assert_int_eq(updated->action, ACTION(UPDATE));
    ck_assert_str_eq(updated->asset, "assets/info");
    ck_assert_int_eq(inherited->action, ACTION(INHERIT));
    ck_assert_int_eq(inherited->cause_revision, 6);
    assert_change(inherited, "effective.confidentiality", "SERIOUS", "VERY_SERIOUS");
    assert_change(inherited, "effective.flagged", "false", "true");
    assert_change(inherited, "review.state", "NOT_REQUIRED", "PENDING");
    event_free(updated);
    event_free(inherited);
}
END_TEST

/* A forced delete: the delete first, then each link it removed, then what fell. */
START_TEST(test_forced_delete_records_its_links)
{
    valv_error err;

    create_ok("info", INFORMATION, "hr");   /* 1 */
    create_ok("sys", IT_SYSTEM, "it");      /* 2 */
    create_ok("room", FACILITY, "property"); /* 3 */
    classify_ok("info", LEVEL(2), 0, 0, 0); /* 4 */
    link_ok("info", "sys", PROCESSED_BY);   /* 5, sys inherits at 6 */
    link_ok("sys", "room", HOSTED_IN);      /* 7, room inherits at 8 */
    ck_assert_int_eq(store_revision(s), 8);
    ck_assert_int_eq(delete_asset("sys", true, &err), VALV_OK);

    size_t n = 0;
    Valv__V1__AuditEvent **events = events_all(&n);
    ck_assert_int_eq(n, 12);
    ck_assert_int_eq(events[8]->action, ACTION(DELETE));
    ck_assert_str_eq(events[8]->asset, "assets/sys");
    ck_assert_int_eq(events[9]->action, ACTION(UNLINK));
    ck_assert_int_eq(events[9]->cause_revision, 9);
    ck_assert_int_eq(events[10]->action, ACTION(UNLINK));
    ck_assert_int_eq(events[10]->cause_revision, 9);
    /* room loses what sys passed on. */
    ck_assert_int_eq(events[11]->action, ACTION(INHERIT));
    ck_assert_int_eq(events[11]->cause_revision, 9);
    ck_assert_str_eq(events[11]->asset, "assets/room");
    assert_change(events[11], "effective.confidentiality", "SIGNIFICANT", "LEVEL_UNSPECIFIED");
    bool info_side = false, room_side = false;
    for (int i = 9; i <= 10; i++) {
        info_side |= strcmp(events[i]->asset, "assets/info") == 0 &&
                     strcmp(events[i]->related_asset, "assets/sys") == 0;
        room_side |= strcmp(events[i]->asset, "assets/sys") == 0 &&
                     strcmp(events[i]->related_asset, "assets/room") == 0;
    }
    ck_assert(info_side && room_side);
    events_free(events, n);
}
END_TEST

START_TEST(test_request_id_generated_once_per_change)
{
    Valv__V1__Link *out = NULL;
    valv_error err;

    create_ok("info", INFORMATION, "hr");
    create_ok("sys", IT_SYSTEM, "it");
    classify_ok("info", LEVEL(3), 0, 0, 0);
    store_txn *t = txn_begin();
    ck_assert_int_eq(
        txn_finish(t, store_create_link(t, "info", "sys", PROCESSED_BY, &bob, &out, &err), &err),
        VALV_OK);
    valv__v1__link__free_unpacked(out, NULL);

    Valv__V1__AuditEvent *linked = event_at(4), *inherited = event_at(5);
    ck_assert_uint_eq(strlen(linked->request_id), 16);
    ck_assert_uint_eq(strspn(linked->request_id, "0123456789abcdef"), 16);
    ck_assert_str_eq(inherited->request_id, linked->request_id);
    ck_assert_str_ne(linked->request_id, "req-1");
    event_free(linked);
    event_free(inherited);
}
END_TEST

/* --- No event without a change ---------------------------------------------------- */

START_TEST(test_failed_and_no_op_changes_write_nothing)
{
    valv_error err;

    create_ok("a", INFORMATION, "it");
    create_ok("gone", IT_SYSTEM, "it");
    ck_assert_int_eq(delete_asset("gone", false, &err), VALV_OK);
    ck_assert_int_eq(store_revision(s), 3);

    ck_assert_int_eq(update_display_name("a", "New", "999", &err), VALV_EABORTED); /* stale etag */
    ck_assert_int_eq(link_add("a", "gone", PROCESSED_BY, &err), VALV_EPRECONDITION);
    ck_assert_int_eq(update_display_name("a", "a", NULL, &err), VALV_OK); /* the same name */
    ck_assert_int_eq(store_revision(s), 3);

    size_t n = 0;
    Valv__V1__AuditEvent **events = events_all(&n);
    ck_assert_int_eq(n, 3);
    events_free(events, n);
}
END_TEST

/* Revisions run 1, 2, 3, ... and each event follows the one before. */
START_TEST(test_revisions_contiguous_and_chained)
{
    create_ok("info", INFORMATION, "hr");
    create_ok("sys", IT_SYSTEM, "it");
    classify_ok("info", LEVEL(4), 0, 0, 0);
    link_ok("info", "sys", PROCESSED_BY);

    size_t n = 0;
    Valv__V1__AuditEvent **events = events_all(&n);
    ck_assert_int_eq((int64_t)n, store_revision(s));
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(events[i]->revision, (int64_t)i + 1);
        if (i == 0) {
            static const unsigned char zeros[32];
            ck_assert(memcmp(events[0]->prev_hash.data, zeros, 32) == 0);
        } else {
            ck_assert(memcmp(events[i]->prev_hash.data, events[i - 1]->hash.data, 32) == 0);
        }
    }
    events_free(events, n);

    /* Survives reopening: the next change continues the chain. */
    fixture_reopen(NULL);
    classify_ok("sys", 0, LEVEL(1), 0, 0);
    store_verify_result r = verify_audit();
    ck_assert_msg(r.ok, "%s", r.problem);
    ck_assert_int_eq(r.checked, store_revision(s));
}
END_TEST

/* --- Listing ------------------------------------------------------------------------ */

START_TEST(test_list_filters)
{
    store_audit_query q = {0};
    store_audit_result r;

    five_changes();
    link_ok("a", "b", PROCESSED_BY); /* 6 */

    q.asset_id = "b"; /* as asset, and as the other end of a link */
    r = list(&q);
    ck_assert_str_eq(revisions_of(&r), "2 6");
    store_audit_result_free(&r);

    q.asset_id = "a";
    q.action = ACTION(UPDATE);
    r = list(&q);
    ck_assert_str_eq(revisions_of(&r), "4");
    store_audit_result_free(&r);

    memset(&q, 0, sizeof q);
    q.actor = "bob";
    r = list(&q);
    ck_assert_str_eq(revisions_of(&r), "2");
    store_audit_result_free(&r);

    memset(&q, 0, sizeof q);
    q.action = ACTION(CREATE);
    q.newest_first = true;
    r = list(&q);
    ck_assert_str_eq(revisions_of(&r), "5 3 2 1");
    store_audit_result_free(&r);

    q.asset_id = "nobody";
    r = list(&q);
    ck_assert_uint_eq(r.n_events, 0);
    store_audit_result_free(&r);
}
END_TEST

START_TEST(test_list_time_range)
{
    store_audit_query q = {0};
    store_audit_result r;

    five_changes();
    Valv__V1__AuditEvent *second = event_at(2), *fourth = event_at(4);
    q.start_unix_ns = time_ns(second); /* inclusive */
    q.end_unix_ns = time_ns(fourth);   /* exclusive */
    r = list(&q);
    ck_assert_str_eq(revisions_of(&r), "2 3");
    store_audit_result_free(&r);
    event_free(second);
    event_free(fourth);

    valv_error err;
    q.end_unix_ns = q.start_unix_ns;
    ck_assert_int_eq(store_list_audit_events(s, &q, &r, &err), VALV_EINVAL);
    ck_assert_str_eq(err.violations[0].field, "end_time");
}
END_TEST

START_TEST(test_list_pages)
{
    store_audit_query q = {.page_size = 2};
    char pages[64];

    five_changes();
    pages_both_ways(q, pages, sizeof pages);
    ck_assert_str_eq(pages, "1 2|3 4|5;5 4|3 2|1;");
}
END_TEST

/* An asset's events come from audit_by_asset up to the last whole batch
 * and from the log after it; pages run across the two, both ways. */
START_TEST(test_list_asset_across_index_batches)
{
    store_audit_query q = {.asset_id = "a", .page_size = 2};
    int64_t r[5];
    char pages[128], expect[128];
    valv_error err;

    create_ok("a", IT_SYSTEM, "it");
    r[0] = store_revision(s);
    create_ok("i", INFORMATION, "it");
    fill_to(AUDIT_INDEX_BATCH - 1);
    ck_assert_int_eq(update_display_name("a", "A2", NULL, &err), VALV_OK);
    r[1] = store_revision(s);
    ck_assert_int_eq(r[1], AUDIT_INDEX_BATCH); /* the first batch's last event */
    fill_to(AUDIT_INDEX_BATCH + 500);
    link_ok("i", "a", PROCESSED_BY); /* a as the related asset */
    r[2] = store_revision(s);
    ck_assert_int_eq(r[2], AUDIT_INDEX_BATCH + 501); /* the link alone, nothing inherited */
    fill_to(2 * AUDIT_INDEX_BATCH);
    ck_assert_int_eq(update_display_name("a", "A3", NULL, &err), VALV_OK);
    r[3] = store_revision(s); /* the first of the tail */
    fill_to(2 * AUDIT_INDEX_BATCH + 100);
    ck_assert_int_eq(update_display_name("a", "A4", NULL, &err), VALV_OK);
    r[4] = store_revision(s);
    snprintf(expect, sizeof expect, "%lld %lld|%lld %lld|%lld;%lld %lld|%lld %lld|%lld;",
             (long long)r[0], (long long)r[1], (long long)r[2], (long long)r[3],
             (long long)r[4], (long long)r[4], (long long)r[3], (long long)r[2],
             (long long)r[1], (long long)r[0]);

    pages_both_ways(q, pages, sizeof pages);
    ck_assert_str_eq(pages, expect);
    store_verify_result v = verify_indexes();
    ck_assert_msg(v.ok, "%s", v.problem);

    /* A store indexed before batching holds entries for the tail too:
     * each event is still listed once, and verify accepts them. */
    raw_table raw = raw_open("audit_by_asset");
    unsigned char key[16] = "a";
    MDB_val none = {0, ""};
    for (int i = 3; i < 5; i++) {
        MDB_val k = {2 + 8, key};
        revision_key(r[i], key + 2);
        ck_assert_int_eq(mdb_put(raw.txn, raw.dbi, &k, &none, 0), 0);
    }
    raw_close(&raw);
    pages_both_ways(q, pages, sizeof pages);
    ck_assert_str_eq(pages, expect);
    v = verify_indexes();
    ck_assert_msg(v.ok, "%s", v.problem);
}
END_TEST

START_TEST(test_page_token_belongs_to_its_query)
{
    store_audit_query q = {.page_size = 2};
    store_audit_result r;
    valv_error err;

    five_changes();
    r = list(&q);
    char *token = strdup(r.next_page_token);
    store_audit_result_free(&r);

    token[5] = token[5] == 'A' ? 'B' : 'A'; /* tampered */
    q.page_token = token;
    ck_assert_int_eq(store_list_audit_events(s, &q, &r, &err), VALV_EINVAL);
    ck_assert_str_eq(err.violations[0].field, "page_token");
    free(token);

    q.page_token = NULL;
    r = list(&q);
    token = strdup(r.next_page_token);
    store_audit_result_free(&r);
    q.page_token = token;
    q.actor = "alice"; /* another query */
    ck_assert_int_eq(store_list_audit_events(s, &q, &r, &err), VALV_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "different"));
    q.newest_first = true;
    q.actor = NULL;
    ck_assert_int_eq(store_list_audit_events(s, &q, &r, &err), VALV_EINVAL);
    free(token);
}
END_TEST

/* --- Verification -------------------------------------------------------------------- */

START_TEST(test_verify_intact)
{
    five_changes();
    link_ok("a", "b", PROCESSED_BY);
    store_verify_result r = verify_audit();
    ck_assert_msg(r.ok, "%s", r.problem);
    ck_assert_int_eq(r.checked, 6);
    ck_assert_int_eq(r.last_revision, 6);
    r = verify_indexes();
    ck_assert_msg(r.ok, "%s", r.problem);

    store_options read_only = {.read_only = true};
    fixture_reopen(&read_only);
    r = verify_audit();
    ck_assert_msg(r.ok, "%s", r.problem);
}
END_TEST

START_TEST(test_verify_finds_an_altered_byte)
{
    unsigned char key_buf[8], changed[4096];
    MDB_val val;

    five_changes();
    raw_table raw = raw_open("audit");
    MDB_val key = revision_key(3, key_buf);
    ck_assert_int_eq(mdb_get(raw.txn, raw.dbi, &key, &val), 0);
    ck_assert_uint_lt(val.mv_size, sizeof changed);
    memcpy(changed, val.mv_data, val.mv_size);
    changed[val.mv_size - 1] ^= 0x01; /* in the event's bytes, past the hash */
    val.mv_data = changed;
    ck_assert_int_eq(mdb_put(raw.txn, raw.dbi, &key, &val, 0), 0);
    raw_close(&raw);

    store_verify_result r = verify_audit();
    ck_assert(!r.ok);
    ck_assert_int_eq(r.first_bad_revision, 3);
    ck_assert_int_eq(r.checked, 2);
    ck_assert_msg(strstr(r.problem, "event 3 was altered") != NULL, "%s", r.problem);
}
END_TEST

START_TEST(test_verify_finds_a_removed_event)
{
    unsigned char key_buf[8];

    five_changes();
    raw_table raw = raw_open("audit");
    MDB_val key = revision_key(4, key_buf);
    ck_assert_int_eq(mdb_del(raw.txn, raw.dbi, &key, NULL), 0);
    raw_close(&raw);

    store_verify_result r = verify_audit();
    ck_assert(!r.ok);
    ck_assert_int_eq(r.first_bad_revision, 4);
    ck_assert_msg(strstr(r.problem, "event 4 is missing") != NULL, "%s", r.problem);
}
END_TEST

START_TEST(test_verify_finds_a_removed_last_event)
{
    unsigned char key_buf[8];

    five_changes();
    raw_table raw = raw_open("audit");
    MDB_val key = revision_key(5, key_buf);
    ck_assert_int_eq(mdb_del(raw.txn, raw.dbi, &key, NULL), 0);
    raw_close(&raw);

    store_verify_result r = verify_audit();
    ck_assert(!r.ok);
    ck_assert_int_eq(r.first_bad_revision, 5);
    ck_assert_msg(strstr(r.problem, "event 5 is missing") != NULL, "%s", r.problem);
}
END_TEST

/* An event rewritten with a correct hash of its own still breaks the chain. */
START_TEST(test_verify_finds_a_rechained_event)
{
    unsigned char key_buf[8], value[4096];
    unsigned int hash_len = 0;
    MDB_val val;

    five_changes();
    raw_table raw = raw_open("audit");
    MDB_val key = revision_key(3, key_buf);
    ck_assert_int_eq(mdb_get(raw.txn, raw.dbi, &key, &val), 0);
    Valv__V1__AuditEvent *e =
        valv__v1__audit_event__unpack(NULL, val.mv_size - 32, (uint8_t *)val.mv_data + 32);
    ck_assert_ptr_nonnull(e);
    memset(e->prev_hash.data, 0x42, 32); /* follows nothing */
    size_t len = valv__v1__audit_event__pack(e, value + 32);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, e->prev_hash.data, 32);
    EVP_DigestUpdate(ctx, value + 32, len);
    EVP_DigestFinal_ex(ctx, value, &hash_len);
    EVP_MD_CTX_free(ctx);
    event_free(e);
    val.mv_size = 32 + len;
    val.mv_data = value;
    ck_assert_int_eq(mdb_put(raw.txn, raw.dbi, &key, &val, 0), 0);
    raw_close(&raw);

    store_verify_result r = verify_audit();
    ck_assert(!r.ok);
    ck_assert_int_eq(r.first_bad_revision, 3);
    ck_assert_msg(strstr(r.problem, "event 3 does not follow event 2") != NULL, "%s", r.problem);
}
END_TEST

/* Each index entry removed, or one added, is found and named (an added
 * entry has an empty value: for by_source, no id). */
START_TEST(test_verify_indexes_finds_disagreements)
{
    static const struct {
        const char *table;
        const char *key;
        size_t key_len;
        bool add; /* add a stale entry instead of removing one */
        const char *expect;
    } cases[] = {
        {"by_unit", "it\0a", 4, false, "index by_unit has no entry for assets/a"},
        {"by_unit", "fin\0a", 5, true, "index by_unit holds an entry for assets/a"},
        {"links_in", "b\0\1\0a", 5, false, "index links_in has no entry"},
        {"by_kind", "\3ghost", 6, true, "assets/ghost, which does not exist"},
        /* Entries that hold no id where their index keeps it. */
        {"by_display", "no id", 5, true, "index by_display holds an entry that names no asset"},
        {"by_update", "\0\0\1", 3, true, "index by_update holds an entry that names no asset"},
        {"by_source", "cmdb\0x", 6, true, "index by_source holds an entry that names no asset"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (i > 0) {
            fixture_teardown();
            fixture_setup();
        }
        create_ok("a", INFORMATION, "it");
        create_ok("b", IT_SYSTEM, "it");
        link_ok("a", "b", PROCESSED_BY);
        store_verify_result r = verify_indexes();
        ck_assert_msg(r.ok, "%s", r.problem);

        raw_table raw = raw_open(cases[i].table);
        MDB_val key = {cases[i].key_len, (void *)cases[i].key}, val = {0, ""};
        if (cases[i].add)
            ck_assert_int_eq(mdb_put(raw.txn, raw.dbi, &key, &val, 0), 0);
        else
            ck_assert_int_eq(mdb_del(raw.txn, raw.dbi, &key, NULL), 0);
        raw_close(&raw);
        r = verify_indexes();
        ck_assert_msg(!r.ok, "case %zu not found", i);
        ck_assert_msg(strstr(r.problem, cases[i].expect) != NULL, "case %zu: %s", i, r.problem);
    }
}
END_TEST

START_TEST(test_verify_indexes_finds_a_missing_audit_entry)
{
    unsigned char key[16] = "b";

    create_ok("a", INFORMATION, "it");
    create_ok("b", IT_SYSTEM, "it");
    link_ok("a", "b", PROCESSED_BY); /* 3: indexed under a and b with its batch */
    store_verify_result r = verify_indexes();
    ck_assert_msg(r.ok, "before its batch ends, no entry is missing: %s", r.problem);
    fill_to(AUDIT_INDEX_BATCH);
    raw_table raw = raw_open("audit_by_asset");
    revision_key(3, key + 2);
    MDB_val k = {2 + 8, key};
    ck_assert_int_eq(mdb_del(raw.txn, raw.dbi, &k, NULL), 0);
    raw_close(&raw);

    r = verify_indexes();
    ck_assert(!r.ok);
    ck_assert_int_eq(r.first_bad_revision, 3);
    ck_assert_msg(strstr(r.problem, "audit_by_asset has no entry for assets/b") != NULL, "%s",
                  r.problem);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("audit");
    TCase *tc = fixture_tcase(suite, "events");
    tcase_add_test(tc, test_create);
    tcase_add_test(tc, test_update_of_a_level);
    tcase_add_test(tc, test_delete_and_undelete);
    tcase_add_test(tc, test_link_and_unlink);
    tcase_add_test(tc, test_return_and_approve);
    tcase_add_test(tc, test_inherit_names_its_cause);
    tcase_add_test(tc, test_forced_delete_records_its_links);
    tcase_add_test(tc, test_request_id_generated_once_per_change);
    tcase_add_test(tc, test_failed_and_no_op_changes_write_nothing);
    tcase_add_test(tc, test_revisions_contiguous_and_chained);

    tc = fixture_tcase(suite, "list");
    tcase_add_test(tc, test_list_filters);
    tcase_add_test(tc, test_list_time_range);
    tcase_add_test(tc, test_list_pages);
    tcase_add_test(tc, test_list_asset_across_index_batches);
    tcase_add_test(tc, test_page_token_belongs_to_its_query);

    tc = fixture_tcase(suite, "verify");
    tcase_add_test(tc, test_verify_intact);
    tcase_add_test(tc, test_verify_finds_an_altered_byte);
    tcase_add_test(tc, test_verify_finds_a_removed_event);
    tcase_add_test(tc, test_verify_finds_a_removed_last_event);
    tcase_add_test(tc, test_verify_finds_a_rechained_event);
    tcase_add_test(tc, test_verify_indexes_finds_disagreements);
    tcase_add_test(tc, test_verify_indexes_finds_a_missing_audit_entry);
    return fixture_run(suite);
}
