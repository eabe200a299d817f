/* test_store.c - the asset inventory on disk: what a client of the store
 * sees through create, get, update, delete, undelete and list, and how the
 * map grows and fills. Every test opens a fresh store in its own temporary
 * directory (in the forked child: LMDB must not cross a fork). */
#include <check.h>
#include <ftw.h>
#include <lmdb.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_internal.h"

#define MIB (1024UL * 1024UL)

static char dir[64];
static store *s; /* the store of the running test, opened by setup */
static const store_actor alice = {.actor = "alice", .request_id = "req-1"};

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void setup(void)
{
    valv_error err;
    snprintf(dir, sizeof dir, "/tmp/valv-test-store-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(store_open(dir, NULL, &s, &err), VALV_OK);
}

static void teardown(void)
{
    store_close(s);
    s = NULL;
    nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* A subdirectory of the test's directory, for a second store. */
static const char *subdir(const char *name)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

/* --- Writing through a transaction, as writer.c does ------------------------ */

static store_txn *begin(store *st)
{
    store_txn *t = NULL;
    valv_error err;
    ck_assert_int_eq(store_txn_begin(st, NULL, &t, &err), VALV_OK);
    return t;
}

/* Commits t when the write in it succeeded (rc), else aborts it. */
static int finish(store_txn *t, int rc, valv_error *err)
{
    if (rc != VALV_OK) {
        store_txn_abort(t);
        return rc;
    }
    return store_txn_commit(t, err);
}

static int create(store *st, const Valv__V1__Asset *a, const char *id, Valv__V1__Asset **out,
                  valv_error *err)
{
    store_txn *t = begin(st);
    return finish(t, store_create_asset(t, a, id, &alice, out, err), err);
}

static int update(const Valv__V1__Asset *patch, const char *const *paths, size_t n_paths,
                  Valv__V1__Asset **out, valv_error *err)
{
    store_txn *t = begin(s);
    return finish(t, store_update_asset(t, patch, paths, n_paths, &alice, out, err), err);
}

static int delete(const char *id, const char *etag, Valv__V1__Asset **out, valv_error *err)
{
    store_txn *t = begin(s);
    return finish(t, store_delete_asset(t, id, etag, "retired", false, &alice, out, err), err);
}

static int undelete(const char *id, const char *etag, Valv__V1__Asset **out, valv_error *err)
{
    store_txn *t = begin(s);
    return finish(t, store_undelete_asset(t, id, etag, &alice, out, err), err);
}

static void asset_free(Valv__V1__Asset *a)
{
    if (a != NULL)
        valv__v1__asset__free_unpacked(a, NULL);
}

/* A minimal valid asset; strings are borrowed literals. */
static Valv__V1__Asset minimal(const char *display_name, const char *owner_unit)
{
    Valv__V1__Asset a = VALV__V1__ASSET__INIT;
    a.kind = VALV__V1__ASSET_KIND__IT_SYSTEM;
    a.display_name = (char *)display_name;
    a.owner_unit = (char *)owner_unit;
    return a;
}

/* Creates a minimal asset with id (NULL: generated) and returns its revision. */
static int64_t create_minimal(const char *id, const char *display_name, const char *owner_unit)
{
    Valv__V1__Asset a = minimal(display_name, owner_unit);
    Valv__V1__Asset *out = NULL;
    valv_error err;
    ck_assert_msg(create(s, &a, id, &out, &err) == VALV_OK, "create %s: %s", id, err.message);
    int64_t revision = out->revision;
    asset_free(out);
    return revision;
}

static Valv__V1__Asset *get(const char *id)
{
    Valv__V1__Asset *a = NULL;
    valv_error err;
    ck_assert_msg(store_get_asset(s, id, &a, &err) == VALV_OK, "get %s: %s", id, err.message);
    return a;
}

static bool has_violation(const valv_error *err, const char *field)
{
    for (int i = 0; i < err->n_violations; i++)
        if (strcmp(err->violations[i].field, field) == 0)
            return true;
    return false;
}

static bool timestamps_equal(const Google__Protobuf__Timestamp *a,
                             const Google__Protobuf__Timestamp *b)
{
    return a != NULL && b != NULL && a->seconds == b->seconds && a->nanos == b->nanos;
}

static const char *source_of(const Valv__V1__Effective *e, const char *dimension)
{
    for (size_t i = 0; i < e->n_sources; i++)
        if (strcmp(e->sources[i]->key, dimension) == 0)
            return e->sources[i]->value;
    return NULL;
}

/* --- Listing helpers ---------------------------------------------------------- */

/* The ids of one full listing (every page, page size 3) joined by spaces. */
static void list_ids(const char *filter, const char *order_by, bool show_deleted, char *out,
                     size_t cap)
{
    store_list_request req = {
        .filter = filter, .order_by = order_by, .page_size = 3, .show_deleted = show_deleted};
    char *token = NULL;
    out[0] = '\0';
    do {
        store_list_result res;
        valv_error err;
        req.page_token = token;
        ck_assert_msg(store_list_assets(s, &req, &res, &err) == VALV_OK, "list: %s", err.message);
        for (size_t i = 0; i < res.n_assets; i++) {
            size_t len = strlen(out);
            snprintf(out + len, cap - len, "%s%s", len > 0 ? " " : "",
                     res.assets[i]->name + strlen("assets/"));
        }
        free(token);
        token = res.next_page_token;
        res.next_page_token = NULL;
        store_list_result_free(&res);
    } while (token != NULL);
}

/* --- Create and get --------------------------------------------------------- */

START_TEST(test_create_get_round_trip)
{
    Valv__V1__Classification cls = VALV__V1__CLASSIFICATION__INIT;
    Valv__V1__SecurityProtection sec = VALV__V1__SECURITY_PROTECTION__INIT;
    Valv__V1__Asset__AttributesEntry attr = VALV__V1__ASSET__ATTRIBUTES_ENTRY__INIT;
    Valv__V1__Asset__AttributesEntry *attrs[] = {&attr};
    char *labels[] = {"critical", "gdpr"};
    Valv__V1__Asset a = minimal("Ekonomisystem", "ekonomi");
    Valv__V1__Asset *created = NULL;
    valv_error err;

    cls.confidentiality = VALV__V1__LEVEL__SERIOUS;
    cls.availability = VALV__V1__LEVEL__VERY_SERIOUS;
    cls.rationale = "payroll data";
    sec.security_class = VALV__V1__SECURITY_CLASS__NOT_CLASSIFIED;
    sec.decision_ref = "SÄK-2026-1";
    attr.key = "hostname";
    attr.value = "eko01";
    a.description = "Salaries and invoices";
    a.owner = "Anna Andersson";
    a.classification = &cls;
    a.security = &sec;
    a.n_attributes = 1;
    a.attributes = attrs;
    a.n_labels = 2;
    a.labels = labels;
    a.source = "cmdb";
    a.external_id = "CI-42";
    /* Output-only fields from a caller are ignored. */
    a.name = "assets/other";
    a.revision = 99;
    a.etag = "99";
    a.create_by = "mallory";

    ck_assert_int_eq(create(s, &a, "eko", &created, &err), VALV_OK);
    Valv__V1__Asset *got = get("eko");

    ck_assert_str_eq(got->name, "assets/eko");
    ck_assert_int_eq(got->kind, VALV__V1__ASSET_KIND__IT_SYSTEM);
    ck_assert_str_eq(got->display_name, "Ekonomisystem");
    ck_assert_str_eq(got->description, "Salaries and invoices");
    ck_assert_str_eq(got->owner_unit, "ekonomi");
    ck_assert_str_eq(got->owner, "Anna Andersson");
    ck_assert_int_eq(got->classification->confidentiality, VALV__V1__LEVEL__SERIOUS);
    ck_assert_int_eq(got->classification->availability, VALV__V1__LEVEL__VERY_SERIOUS);
    ck_assert_str_eq(got->classification->rationale, "payroll data");
    ck_assert_int_eq(got->security->security_class, VALV__V1__SECURITY_CLASS__NOT_CLASSIFIED);
    ck_assert_str_eq(got->security->decision_ref, "SÄK-2026-1");
    ck_assert_uint_eq(got->n_attributes, 1);
    ck_assert_str_eq(got->attributes[0]->key, "hostname");
    ck_assert_str_eq(got->attributes[0]->value, "eko01");
    ck_assert_uint_eq(got->n_labels, 2);
    ck_assert_str_eq(got->labels[1], "gdpr");
    ck_assert_str_eq(got->source, "cmdb");
    ck_assert_str_eq(got->external_id, "CI-42");

    ck_assert_int_eq(got->revision, 1);
    ck_assert_str_eq(got->etag, "1");
    ck_assert_str_eq(got->create_by, "alice");
    ck_assert_str_eq(got->update_by, "alice");
    ck_assert(timestamps_equal(got->create_time, got->update_time));
    ck_assert_int_gt(got->create_time->seconds, 1700000000);
    ck_assert_ptr_null(got->delete_time);
    ck_assert_str_eq(got->delete_by, "");

    /* Effective values are the asset's own; VERY_SERIOUS flags it. */
    ck_assert_int_eq(got->effective->confidentiality, VALV__V1__LEVEL__SERIOUS);
    ck_assert_int_eq(got->effective->integrity, VALV__V1__LEVEL__LEVEL_UNSPECIFIED);
    ck_assert_int_eq(got->effective->availability, VALV__V1__LEVEL__VERY_SERIOUS);
    ck_assert_int_eq(got->effective->security_class, VALV__V1__SECURITY_CLASS__NOT_CLASSIFIED);
    ck_assert(got->effective->flagged);
    ck_assert_str_eq(source_of(got->effective, "confidentiality"), "assets/eko");
    ck_assert_str_eq(source_of(got->effective, "security_class"), "assets/eko");
    ck_assert_ptr_null(source_of(got->effective, "integrity"));
    ck_assert_ptr_null(source_of(got->effective, "security_sensitive"));

    /* What create returned is exactly what is stored. */
    size_t len = valv__v1__asset__get_packed_size(got);
    ck_assert_uint_eq(len, valv__v1__asset__get_packed_size(created));
    uint8_t *a_bytes = malloc(len), *b_bytes = malloc(len);
    valv__v1__asset__pack(got, a_bytes);
    valv__v1__asset__pack(created, b_bytes);
    ck_assert_mem_eq(a_bytes, b_bytes, len);
    free(a_bytes);
    free(b_bytes);
    asset_free(created);
    asset_free(got);
}
END_TEST

START_TEST(test_flagged_only_when_serious)
{
    Valv__V1__SecurityProtection sec = VALV__V1__SECURITY_PROTECTION__INIT;
    Valv__V1__Asset a = minimal("Server room", "fastighet");
    Valv__V1__Asset *out = NULL;
    valv_error err;

    ck_assert_int_eq(create(s, &a, "plain", &out, &err), VALV_OK);
    ck_assert(!out->effective->flagged);
    ck_assert_uint_eq(out->effective->n_sources, 0);
    asset_free(out);

    a.kind = VALV__V1__ASSET_KIND__FACILITY;
    sec.protected_object = true;
    a.security = &sec;
    ck_assert_int_eq(create(s, &a, "bunker", &out, &err), VALV_OK);
    ck_assert(out->effective->flagged);
    asset_free(out);
}
END_TEST

START_TEST(test_generated_ids)
{
    regex_t id_rule, generated_rule;
    char ids[20][64];
    Valv__V1__Asset a = minimal("Generated", "it");

    ck_assert_int_eq(regcomp(&id_rule, "^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", REG_EXTENDED), 0);
    ck_assert_int_eq(regcomp(&generated_rule, "^a[0-9a-v]{16}$", REG_EXTENDED), 0);
    for (int i = 0; i < 20; i++) {
        Valv__V1__Asset *out = NULL;
        valv_error err;
        ck_assert_int_eq(create(s, &a, i % 2 ? NULL : "", &out, &err), VALV_OK);
        snprintf(ids[i], sizeof ids[i], "%s", out->name + strlen("assets/"));
        asset_free(out);
        ck_assert_msg(regexec(&id_rule, ids[i], 0, NULL, 0) == 0, "bad id %s", ids[i]);
        ck_assert_msg(regexec(&generated_rule, ids[i], 0, NULL, 0) == 0, "bad id %s", ids[i]);
        /* Each greater than the last, also within one millisecond. */
        if (i > 0)
            ck_assert_msg(strcmp(ids[i], ids[i - 1]) > 0, "%s after %s", ids[i], ids[i - 1]);
    }
    regfree(&id_rule);
    regfree(&generated_rule);
}
END_TEST

/* The next id after seq, as text. */
static void next_id(id_sequence *seq, uint64_t now_ms, uint32_t random,
                    char out[ID_GENERATED_LEN + 1])
{
    id_sequence_next(seq, now_ms, random);
    id_sequence_format(seq, out);
}

START_TEST(test_id_sequence)
{
    id_sequence seq = {0, 0};
    char first[ID_GENERATED_LEN + 1], id[ID_GENERATED_LEN + 1], last[ID_GENERATED_LEN + 1];
    const uint64_t ms = 1795000000000u; /* November 2026 */

    /* The first id of a millisecond: random, with room after it. */
    next_id(&seq, ms, 0xffffffffu, first);
    ck_assert_uint_eq(seq.ms, ms);
    ck_assert_uint_lt(seq.sequence, ID_SEQUENCE_ROOM);
    ck_assert_str_eq(first, "a01k7n5cng0fvvvvv"); /* "a", time, sequence in base32hex */
    /* The same millisecond: one more. */
    next_id(&seq, ms, 7, id);
    ck_assert_uint_eq(seq.ms, ms);
    ck_assert_uint_eq(seq.sequence, (0xffffffffu % ID_SEQUENCE_ROOM) + 1);
    ck_assert_int_gt(strcmp(id, first), 0);
    text_copy(last, sizeof last, id);
    /* A clock gone back continues the sequence. */
    next_id(&seq, ms - 5000, 7, id);
    ck_assert_uint_eq(seq.ms, ms);
    ck_assert_int_gt(strcmp(id, last), 0);
    text_copy(last, sizeof last, id);
    /* A later millisecond starts again from random, and still sorts after. */
    next_id(&seq, ms + 1, 3, id);
    ck_assert_uint_eq(seq.ms, ms + 1);
    ck_assert_uint_eq(seq.sequence, 3);
    ck_assert_int_gt(strcmp(id, last), 0);
    text_copy(last, sizeof last, id);
    /* A sequence run out moves on a millisecond, ahead of the clock. */
    seq.sequence = ID_SEQUENCE_MAX;
    id_sequence_format(&seq, last);
    next_id(&seq, ms + 1, 9, id);
    ck_assert_uint_eq(seq.ms, ms + 2);
    ck_assert_uint_eq(seq.sequence, 9);
    ck_assert_int_gt(strcmp(id, last), 0);
}
END_TEST

/* The id of a created asset. */
static void created_id(const char *id, char out[ID_GENERATED_LEN + 1])
{
    Valv__V1__Asset a = minimal("Generated", "it");
    Valv__V1__Asset *got = NULL;
    valv_error err;
    ck_assert_msg(create(s, &a, id, &got, &err) == VALV_OK, "%s", err.message);
    text_copy(out, ID_GENERATED_LEN + 1, got->name + strlen("assets/"));
    asset_free(got);
}

/* A generated id that someone's own id has taken is passed over. */
START_TEST(test_generated_id_passes_over_a_taken_one)
{
    const uint64_t future_ms = 4102444800000u; /* 2100: past any clock this test meets */
    char taken[ID_GENERATED_LEN + 1], id[ID_GENERATED_LEN + 1];
    id_sequence next = {future_ms, 6}, seq;
    id_sequence_format(&next, taken);
    ck_assert_str_eq(s->id_greatest, "");

    /* The generator's next id (the clock is behind it: sequence 5, then 6)
     * is created by someone first. */
    s->id_last = (id_sequence){future_ms, 5};
    create_minimal(taken, "Taken", "it");
    ck_assert_str_eq(s->id_greatest, taken);
    created_id(NULL, id);
    ck_assert_str_ne(id, taken);
    ck_assert(id_is_generated(id, &seq));
    ck_assert_uint_eq(seq.ms, future_ms + 1); /* on, to a random place in the next millisecond */
    ck_assert_str_eq(s->id_greatest, id);
    /* Ids of another shape never equal a generated one: not counted. */
    create_minimal("zeta", "Chosen", "it");
    ck_assert_str_eq(s->id_greatest, id);
}
END_TEST

/* The greatest generated id is found again at open, past ids people chose
 * that sort after it, and new ids go on after it. An id far ahead of the
 * clock is not gone on from. */
START_TEST(test_generated_ids_go_on_after_a_reopen)
{
    char first[ID_GENERATED_LEN + 1], id[ID_GENERATED_LEN + 1];
    valv_error err;
    created_id(NULL, first);
    create_minimal("alpha", "Chosen", "it");
    create_minimal("avvvvvvvvvvvvvvvv-x", "Chosen", "it");
    create_minimal("b", "Chosen", "it");

    store_close(s);
    ck_assert_int_eq(store_open(dir, NULL, &s, &err), VALV_OK);
    ck_assert_str_eq(s->id_greatest, first);
    id_sequence seq;
    ck_assert(id_is_generated(first, &seq));
    ck_assert_uint_eq(s->id_last.ms, seq.ms);
    ck_assert_uint_eq(s->id_last.sequence, seq.sequence);
    created_id(NULL, id);
    ck_assert_int_gt(strcmp(id, first), 0);

    /* Far ahead: found, but not gone on from. */
    create_minimal("avvvvvvvvvvvvvvvv", "Chosen", "it");
    store_close(s);
    ck_assert_int_eq(store_open(dir, NULL, &s, &err), VALV_OK);
    ck_assert_str_eq(s->id_greatest, "avvvvvvvvvvvvvvvv");
    ck_assert_uint_eq(s->id_last.ms, 0);
    created_id(NULL, id);
    ck_assert(id_is_generated(id, NULL));
}
END_TEST

START_TEST(test_duplicate_id)
{
    Valv__V1__Asset a = minimal("First", "it");
    Valv__V1__Asset *out = NULL;
    valv_error err;

    create_minimal("web", "Web", "it");
    ck_assert_int_eq(create(s, &a, "web", &out, &err), VALV_EEXIST);
    ck_assert_ptr_null(out);
    ck_assert_ptr_nonnull(strstr(err.message, "assets/web"));
    ck_assert_int_eq(store_revision(s), 1);
}
END_TEST

START_TEST(test_duplicate_source)
{
    Valv__V1__Asset a = minimal("Imported", "it");
    Valv__V1__Asset *out = NULL;
    valv_error err;

    a.source = "cmdb";
    a.external_id = "CI-1";
    ck_assert_int_eq(create(s, &a, "first", &out, &err), VALV_OK);
    asset_free(out);
    ck_assert_int_eq(create(s, &a, "second", &out, &err), VALV_EEXIST);
    ck_assert_ptr_nonnull(strstr(err.message, "assets/first"));

    /* Deleting frees the identity; undeleting the first then clashes. */
    ck_assert_int_eq(delete("first", NULL, &out, &err), VALV_OK);
    asset_free(out);
    ck_assert_int_eq(create(s, &a, "second", &out, &err), VALV_OK);
    asset_free(out);
    ck_assert_int_eq(undelete("first", NULL, &out, &err), VALV_EEXIST);
    ck_assert_ptr_nonnull(strstr(err.message, "assets/second"));
}
END_TEST

START_TEST(test_validation_error)
{
    Valv__V1__Asset a = minimal("", "it");
    Valv__V1__Asset *out = NULL;
    valv_error err;

    ck_assert_int_eq(create(s, &a, NULL, &out, &err), VALV_EINVAL);
    ck_assert_msg(has_violation(&err, "asset.display_name"), "message: %s", err.message);
    a.display_name = "Valid";
    ck_assert_int_eq(create(s, &a, "Bad_Id", &out, &err), VALV_EINVAL);
    ck_assert(has_violation(&err, "asset_id"));
    ck_assert_int_eq(store_revision(s), 0);
}
END_TEST

START_TEST(test_batch_get)
{
    const char *ids[] = {"b", "a"};
    const char *missing[] = {"a", "nope"};
    Valv__V1__Asset **got = NULL;
    valv_error err;

    create_minimal("a", "A", "it");
    create_minimal("b", "B", "it");
    ck_assert_int_eq(store_batch_get_assets(s, ids, 2, &got, &err), VALV_OK);
    ck_assert_str_eq(got[0]->name, "assets/b");
    ck_assert_str_eq(got[1]->name, "assets/a");
    asset_free(got[0]);
    asset_free(got[1]);
    free(got);
    ck_assert_int_eq(store_batch_get_assets(s, missing, 2, &got, &err), VALV_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err.message, "assets/nope"));
}
END_TEST

/* --- Update ----------------------------------------------------------------- */

START_TEST(test_update_with_mask)
{
    Valv__V1__Asset patch = minimal("Ignored: not in the mask", "");
    const char *paths[] = {"description"};
    Valv__V1__Asset *out = NULL;
    valv_error err;

    create_minimal("web", "Web", "it");
    patch.name = "assets/web";
    patch.description = "Public web site";
    ck_assert_int_eq(update(&patch, paths, 1, &out, &err), VALV_OK);
    ck_assert_str_eq(out->description, "Public web site");
    ck_assert_str_eq(out->display_name, "Web");
    ck_assert_str_eq(out->owner_unit, "it");
    ck_assert_int_eq(out->revision, 2);
    ck_assert_str_eq(out->etag, "2");
    ck_assert(!timestamps_equal(out->create_time, out->update_time));
    asset_free(out);

    Valv__V1__Asset *got = get("web");
    ck_assert_str_eq(got->description, "Public web site");
    ck_assert_str_eq(got->display_name, "Web");
    asset_free(got);
}
END_TEST

START_TEST(test_update_without_mask)
{
    Valv__V1__Asset patch = VALV__V1__ASSET__INIT;
    Valv__V1__Asset a = minimal("Web", "it");
    Valv__V1__Asset *out = NULL;
    valv_error err;

    a.description = "Kept: the patch leaves it empty";
    ck_assert_int_eq(create(s, &a, "web", &out, &err), VALV_OK);
    asset_free(out);
    patch.name = "assets/web";
    patch.display_name = "Web site";
    ck_assert_int_eq(update(&patch, NULL, 0, &out, &err), VALV_OK);
    ck_assert_str_eq(out->display_name, "Web site");
    ck_assert_str_eq(out->description, "Kept: the patch leaves it empty");
    asset_free(out);
}
END_TEST

START_TEST(test_update_unknown_path)
{
    Valv__V1__Asset patch = VALV__V1__ASSET__INIT;
    const char *paths[] = {"description", "colour"};
    Valv__V1__Asset *out = NULL;
    valv_error err;

    create_minimal("web", "Web", "it");
    patch.name = "assets/web";
    ck_assert_int_eq(update(&patch, paths, 2, &out, &err), VALV_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "colour"));
    ck_assert_int_eq(store_revision(s), 1);
}
END_TEST

START_TEST(test_update_stale_etag)
{
    Valv__V1__Asset patch = VALV__V1__ASSET__INIT;
    Valv__V1__Asset *out = NULL;
    valv_error err;

    create_minimal("web", "Web", "it");
    patch.name = "assets/web";
    patch.display_name = "First";
    patch.etag = "1";
    ck_assert_int_eq(update(&patch, NULL, 0, &out, &err), VALV_OK);
    asset_free(out);
    /* A second writer who read revision 1 loses. */
    patch.display_name = "Second";
    ck_assert_int_eq(update(&patch, NULL, 0, &out, &err), VALV_EABORTED);
    ck_assert_ptr_nonnull(strstr(err.message, "\"2\""));
    Valv__V1__Asset *got = get("web");
    ck_assert_str_eq(got->display_name, "First");
    asset_free(got);
}
END_TEST

START_TEST(test_update_no_op_keeps_revision)
{
    Valv__V1__Asset patch = VALV__V1__ASSET__INIT;
    Valv__V1__Asset *out = NULL;
    valv_error err;

    create_minimal("web", "Web", "it");
    create_minimal("db", "Database", "it");
    patch.name = "assets/web";
    patch.display_name = "Web";
    patch.owner_unit = "it";
    ck_assert_int_eq(update(&patch, NULL, 0, &out, &err), VALV_OK);
    ck_assert_int_eq(out->revision, 1);
    ck_assert_str_eq(out->etag, "1");
    asset_free(out);
    ck_assert_int_eq(store_revision(s), 2);
}
END_TEST

START_TEST(test_update_unknown_asset)
{
    Valv__V1__Asset patch = VALV__V1__ASSET__INIT;
    Valv__V1__Asset *out = NULL;
    valv_error err;

    patch.name = "assets/ghost";
    patch.display_name = "Ghost";
    ck_assert_int_eq(update(&patch, NULL, 0, &out, &err), VALV_ENOTFOUND);
    patch.name = "ghost";
    ck_assert_int_eq(update(&patch, NULL, 0, &out, &err), VALV_EINVAL);
    ck_assert(has_violation(&err, "asset.name"));
}
END_TEST

/* --- Delete and undelete ------------------------------------------------------ */

START_TEST(test_delete)
{
    Valv__V1__Asset patch = VALV__V1__ASSET__INIT;
    Valv__V1__Asset *out = NULL;
    valv_error err;
    char ids[256];

    create_minimal("a", "A", "it");
    create_minimal("b", "B", "it");
    ck_assert_int_eq(delete("a", "9", &out, &err), VALV_EABORTED);
    ck_assert_int_eq(delete("a", "1", &out, &err), VALV_OK);
    ck_assert_ptr_nonnull(out->delete_time);
    ck_assert_str_eq(out->delete_by, "alice");
    ck_assert_int_eq(out->revision, 3);
    asset_free(out);

    list_ids(NULL, NULL, false, ids, sizeof ids);
    ck_assert_str_eq(ids, "b");
    list_ids(NULL, NULL, true, ids, sizeof ids);
    ck_assert_str_eq(ids, "a b");
    Valv__V1__Asset *got = get("a");
    ck_assert_ptr_nonnull(got->delete_time);
    asset_free(got);

    ck_assert_int_eq(delete("a", NULL, &out, &err), VALV_EPRECONDITION);
    patch.name = "assets/a";
    patch.display_name = "Changed";
    ck_assert_int_eq(update(&patch, NULL, 0, &out, &err), VALV_EPRECONDITION);
    ck_assert_int_eq(delete("nope", NULL, &out, &err), VALV_ENOTFOUND);
    ck_assert_int_eq(store_revision(s), 3);
}
END_TEST

START_TEST(test_undelete)
{
    Valv__V1__Asset *out = NULL;
    valv_error err;
    char ids[256];

    create_minimal("a", "A", "it");
    ck_assert_int_eq(undelete("a", NULL, &out, &err), VALV_EEXIST);
    ck_assert_int_eq(delete("a", NULL, &out, &err), VALV_OK);
    asset_free(out);
    ck_assert_int_eq(undelete("a", "1", &out, &err), VALV_EABORTED);
    ck_assert_int_eq(undelete("a", "2", &out, &err), VALV_OK);
    ck_assert_ptr_null(out->delete_time);
    ck_assert_str_eq(out->delete_by, "");
    ck_assert_int_eq(out->revision, 3);
    asset_free(out);
    list_ids(NULL, NULL, false, ids, sizeof ids);
    ck_assert_str_eq(ids, "a");
}
END_TEST

/* --- Revisions and schema ------------------------------------------------------ */

START_TEST(test_revision_persists)
{
    Valv__V1__Asset patch = VALV__V1__ASSET__INIT;
    Valv__V1__Asset *out = NULL;
    valv_error err;

    ck_assert_int_eq(store_revision(s), 0);
    ck_assert_int_eq(create_minimal("a", "A", "it"), 1);
    patch.name = "assets/a";
    patch.description = "changed";
    ck_assert_int_eq(update(&patch, NULL, 0, &out, &err), VALV_OK);
    ck_assert_int_eq(out->revision, 2);
    asset_free(out);
    ck_assert_int_eq(delete("a", NULL, &out, &err), VALV_OK);
    ck_assert_int_eq(out->revision, 3);
    asset_free(out);
    ck_assert_int_eq(undelete("a", NULL, &out, &err), VALV_OK);
    ck_assert_int_eq(out->revision, 4);
    asset_free(out);
    ck_assert_int_eq(store_revision(s), 4);

    store_close(s);
    ck_assert_int_eq(store_open(dir, NULL, &s, &err), VALV_OK);
    ck_assert_int_eq(store_revision(s), 4);
    Valv__V1__Asset *got = get("a");
    ck_assert_int_eq(got->revision, 4);
    ck_assert_str_eq(got->description, "changed");
    asset_free(got);
    ck_assert_int_eq(create_minimal("b", "B", "it"), 5);
}
END_TEST

START_TEST(test_schema_version_mismatch)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta;
    unsigned char version[8] = {0, 0, 0, 0, 0, 0, 0, 2}; /* big-endian 2 */
    MDB_val key = {strlen("schema_version"), "schema_version"};
    MDB_val val = {sizeof version, version};
    valv_error err;

    store_close(s);
    s = NULL;
    ck_assert_int_eq(mdb_env_create(&env), 0);
    ck_assert_int_eq(mdb_env_set_maxdbs(env, 16), 0);
    ck_assert_int_eq(mdb_env_open(env, dir, 0, 0600), 0);
    ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    ck_assert_int_eq(mdb_put(txn, meta, &key, &val, 0), 0);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);

    ck_assert_int_eq(store_open(dir, NULL, &s, &err), VALV_EPRECONDITION);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err.message, "schema version 2") != NULL, "message: %s", err.message);
}
END_TEST

START_TEST(test_read_only)
{
    store *ro = NULL;
    store_txn *t = NULL;
    store_options opts = {.read_only = true};
    valv_error err;

    create_minimal("a", "A", "it");
    ck_assert_int_eq(store_open(dir, &opts, &ro, &err), VALV_OK);
    ck_assert_int_eq(store_revision(ro), 1);
    ck_assert_int_eq(store_txn_begin(ro, NULL, &t, &err), VALV_EPRECONDITION);
    store_close(ro);
    ck_assert_int_eq(store_open(subdir("empty"), &opts, &ro, &err), VALV_EINTERNAL);
}
END_TEST

/* --- List --------------------------------------------------------------------- */

START_TEST(test_list_order)
{
    Valv__V1__Asset patch = VALV__V1__ASSET__INIT;
    Valv__V1__Asset *out = NULL;
    valv_error err;
    char ids[256];

    create_minimal("c", "Alfa", "it");
    create_minimal("a", "Charlie", "it");
    create_minimal("b", "Bravo", "it");
    create_minimal("d", "Bravo", "it"); /* same name: then by id */

    list_ids(NULL, "", false, ids, sizeof ids);
    ck_assert_str_eq(ids, "a b c d");
    list_ids(NULL, "display_name", false, ids, sizeof ids);
    ck_assert_str_eq(ids, "c b d a");
    list_ids(NULL, "  display_name   desc ", false, ids, sizeof ids);
    ck_assert_str_eq(ids, "a d b c");
    list_ids(NULL, "update_time", false, ids, sizeof ids);
    ck_assert_str_eq(ids, "c a b d");

    patch.name = "assets/c";
    patch.description = "touched last";
    ck_assert_int_eq(update(&patch, NULL, 0, &out, &err), VALV_OK);
    asset_free(out);
    list_ids(NULL, "update_time", false, ids, sizeof ids);
    ck_assert_str_eq(ids, "a b d c");
    list_ids(NULL, "update_time desc", false, ids, sizeof ids);
    ck_assert_str_eq(ids, "c d b a");
}
END_TEST

/* Orders with no index: by the value, then by id; desc reverses both. */
START_TEST(test_list_sorted_orders)
{
    static const struct {
        const char *id;
        Valv__V1__Level confidentiality;
    } assets[] = {
        {"a", VALV__V1__LEVEL__SIGNIFICANT}, {"b", VALV__V1__LEVEL__NEGLIGIBLE},
        {"c", VALV__V1__LEVEL__LEVEL_UNSPECIFIED}, {"d", VALV__V1__LEVEL__SIGNIFICANT},
        {"e", VALV__V1__LEVEL__VERY_SERIOUS},
    };
    char ids[256];

    for (size_t i = 0; i < sizeof assets / sizeof assets[0]; i++) {
        Valv__V1__Classification cls = VALV__V1__CLASSIFICATION__INIT;
        Valv__V1__Asset a = minimal(assets[i].id, "it");
        Valv__V1__Asset *out = NULL;
        valv_error err;
        cls.confidentiality = assets[i].confidentiality;
        a.classification = &cls;
        ck_assert_int_eq(create(s, &a, assets[i].id, &out, &err), VALV_OK);
        asset_free(out);
    }

    list_ids(NULL, "classification.confidentiality", false, ids, sizeof ids);
    ck_assert_str_eq(ids, "c b a d e");
    list_ids(NULL, "effective.confidentiality desc", false, ids, sizeof ids);
    ck_assert_str_eq(ids, "e d a b c");
    list_ids("effective.confidentiality >= 2", "effective.confidentiality", false, ids,
             sizeof ids);
    ck_assert_str_eq(ids, "a d e");
    /* Only e is flagged: PENDING sorts after NOT_REQUIRED. */
    list_ids(NULL, "review.state desc", false, ids, sizeof ids);
    ck_assert_str_eq(ids, "e d c b a");
}
END_TEST

START_TEST(test_list_bad_order_by)
{
    store_list_request req = {.order_by = "owner"};
    store_list_result res;
    valv_error err;

    ck_assert_int_eq(store_list_assets(s, &req, &res, &err), VALV_EINVAL);
    ck_assert(has_violation(&err, "order_by"));
    ck_assert_ptr_nonnull(strstr(err.message, "display_name"));
    req.order_by = "display_name asc desc";
    ck_assert_int_eq(store_list_assets(s, &req, &res, &err), VALV_EINVAL);
    req.order_by = "update_time up";
    ck_assert_int_eq(store_list_assets(s, &req, &res, &err), VALV_EINVAL);
}
END_TEST

START_TEST(test_list_filters)
{
    Valv__V1__Asset a = minimal("Archive room", "kultur");
    Valv__V1__Asset *out = NULL;
    valv_error err;
    char ids[256];

    create_minimal("web", "Web", "it");
    create_minimal("mail", "Mail", "it");
    create_minimal("library", "Library system", "kultur");
    a.kind = VALV__V1__ASSET_KIND__FACILITY;
    ck_assert_int_eq(create(s, &a, "archive", &out, &err), VALV_OK);
    asset_free(out);
    ck_assert_int_eq(delete("mail", NULL, &out, &err), VALV_OK);
    asset_free(out);

    /* Walks by_kind and by_unit. */
    list_ids("kind = IT_SYSTEM", NULL, false, ids, sizeof ids);
    ck_assert_str_eq(ids, "library web");
    list_ids("kind = IT_SYSTEM", NULL, true, ids, sizeof ids);
    ck_assert_str_eq(ids, "library mail web");
    list_ids("owner_unit = kultur", NULL, false, ids, sizeof ids);
    ck_assert_str_eq(ids, "archive library");
    list_ids("owner_unit = kultur AND kind = FACILITY", NULL, false, ids, sizeof ids);
    ck_assert_str_eq(ids, "archive");
    list_ids("owner_unit = nobody", NULL, false, ids, sizeof ids);
    ck_assert_str_eq(ids, "");
    /* No index for these. */
    list_ids("display_name = \"Li*\" OR display_name = W*", "display_name", false, ids,
             sizeof ids);
    ck_assert_str_eq(ids, "library web");
    list_ids("NOT owner_unit = kultur", NULL, false, ids, sizeof ids);
    ck_assert_str_eq(ids, "web");
}
END_TEST

START_TEST(test_list_bad_filter)
{
    store_list_request req = {.filter = "kind = "};
    store_list_result res;
    valv_error err;

    ck_assert_int_eq(store_list_assets(s, &req, &res, &err), VALV_EINVAL);
    ck_assert(has_violation(&err, "filter"));
}
END_TEST

/* Orders the stability test runs under. */
static const char *const stability_orders[] = {"", "display_name desc", "update_time",
                                               "effective.confidentiality",
                                               "review.state desc"};

START_TEST(test_page_token_stability)
{
    store_list_request req = {.order_by = stability_orders[_i], .page_size = 10};
    int seen[100] = {0}; /* by id number; ids are "pNN" */
    char *token = NULL;
    int page = 0;
    char id[16];

    for (int i = 0; i < 25; i++) {
        snprintf(id, sizeof id, "p%02d", i * 2);
        create_minimal(id, id, "it");
    }
    do {
        store_list_result res;
        valv_error err;
        req.page_token = token;
        ck_assert_msg(store_list_assets(s, &req, &res, &err) == VALV_OK, "%s", err.message);
        for (size_t i = 0; i < res.n_assets; i++) {
            int n = atoi(res.assets[i]->name + strlen("assets/p"));
            ck_assert_msg(seen[n] == 0, "p%02d listed twice", n);
            seen[n]++;
        }
        free(token);
        token = res.next_page_token;
        res.next_page_token = NULL;
        store_list_result_free(&res);

        /* Between pages: new assets everywhere, and some deleted. */
        Valv__V1__Asset *out = NULL;
        valv_error werr;
        for (int k = 0; k < 3; k++) {
            snprintf(id, sizeof id, "p%02d", 1 + page * 6 + k * 16);
            if (1 + page * 6 + k * 16 < 50)
                create_minimal(id, id, "it");
        }
        snprintf(id, sizeof id, "p%02d", 10 + page * 20);
        if (page < 2)
            ck_assert_int_eq(delete(id, NULL, &out, &werr), VALV_OK);
        asset_free(out);
        page++;
    } while (token != NULL);

    /* Every even id that was never deleted appeared exactly once. */
    for (int n = 0; n < 50; n += 2)
        if (n != 10 && n != 30)
            ck_assert_msg(seen[n] == 1, "p%02d skipped (order \"%s\")", n, req.order_by);
    ck_assert_int_ge(page, 3);
}
END_TEST

static char *first_page_token(const char *filter, int32_t page_size)
{
    store_list_request req = {.filter = filter, .page_size = page_size};
    store_list_result res;
    valv_error err;
    ck_assert_int_eq(store_list_assets(s, &req, &res, &err), VALV_OK);
    char *token = res.next_page_token;
    res.next_page_token = NULL;
    store_list_result_free(&res);
    ck_assert_ptr_nonnull(token);
    return token;
}

START_TEST(test_page_token_refused)
{
    store_list_request req = {.page_size = 2};
    store_list_result res;
    valv_error err;

    create_minimal("a", "A", "it");
    create_minimal("b", "B", "it");
    create_minimal("c", "C", "it");
    char *token = first_page_token(NULL, 2);

    req.page_token = token;
    ck_assert_int_eq(store_list_assets(s, &req, &res, &err), VALV_OK);
    ck_assert_uint_eq(res.n_assets, 1);
    ck_assert_str_eq(res.assets[0]->name, "assets/c");
    ck_assert_ptr_null(res.next_page_token);
    store_list_result_free(&res);

    req.filter = "kind = IT_SYSTEM";
    ck_assert_int_eq(store_list_assets(s, &req, &res, &err), VALV_EINVAL);
    ck_assert(has_violation(&err, "page_token"));
    req.filter = NULL;
    req.order_by = "display_name";
    ck_assert_int_eq(store_list_assets(s, &req, &res, &err), VALV_EINVAL);
    req.order_by = NULL;
    req.show_deleted = true;
    ck_assert_int_eq(store_list_assets(s, &req, &res, &err), VALV_EINVAL);
    req.show_deleted = false;

    size_t mid = strlen(token) / 2;
    token[mid] = token[mid] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(store_list_assets(s, &req, &res, &err), VALV_EINVAL);
    ck_assert(has_violation(&err, "page_token"));
    req.page_token = "garbage";
    ck_assert_int_eq(store_list_assets(s, &req, &res, &err), VALV_EINVAL);
    free(token);
}
END_TEST

START_TEST(test_page_size)
{
    Valv__V1__Asset a = minimal("Many", "it");
    store_list_request req = {.page_size = -1};
    store_list_result res;
    valv_error err;

    ck_assert_int_eq(store_list_assets(s, &req, &res, &err), VALV_EINVAL);
    ck_assert(has_violation(&err, "page_size"));

    store_txn *t = begin(s);
    for (int i = 0; i < 1001; i++) {
        Valv__V1__Asset *out = NULL;
        ck_assert_int_eq(store_create_asset(t, &a, NULL, &alice, &out, &err), VALV_OK);
        asset_free(out);
    }
    ck_assert_int_eq(store_txn_commit(t, &err), VALV_OK);

    req.page_size = 0;
    ck_assert_int_eq(store_list_assets(s, &req, &res, &err), VALV_OK);
    ck_assert_uint_eq(res.n_assets, 50);
    store_list_result_free(&res);
    req.page_size = 5000;
    ck_assert_int_eq(store_list_assets(s, &req, &res, &err), VALV_OK);
    ck_assert_uint_eq(res.n_assets, 1000);
    ck_assert_ptr_nonnull(res.next_page_token);
    store_list_result_free(&res);
}
END_TEST

/* --- Map size ------------------------------------------------------------------- */

/* An asset of about 4 KiB, so that a few hundred fill a megabyte. */
static Valv__V1__Asset bulky(char *description)
{
    Valv__V1__Asset a = minimal("Bulky", "it");
    memset(description, 'x', 4000);
    description[4000] = '\0';
    a.description = description;
    return a;
}

/* Creates asset id, growing the map and retrying when it is full, as
 * writer.c does. */
static int create_growing(store *st, const Valv__V1__Asset *a, const char *id, valv_error *err)
{
    for (;;) {
        Valv__V1__Asset *out = NULL;
        int rc = create(st, a, id, &out, err);
        asset_free(out);
        if (rc != VALV_EFULL)
            return rc;
        rc = store_grow(st, err);
        if (rc != VALV_OK)
            return rc;
    }
}

/* Opens a second store, in subdirectory name, with a map of 1 MiB that may
 * grow to 64 MiB. */
static store *open_small(const char *name)
{
    store_options opts = {.map_size_initial = 1 * MIB, .map_size_max = 64 * MIB};
    store *small = NULL;
    valv_error err;
    ck_assert_int_eq(store_open(subdir(name), &opts, &small, &err), VALV_OK);
    return small;
}

START_TEST(test_map_grows)
{
    store *small = open_small("small");
    char description[4001];
    Valv__V1__Asset a = bulky(description);
    size_t map_size, used;
    valv_error err;
    char id[16];

    store_map_usage(small, &map_size, &used);
    ck_assert_uint_eq(map_size, 1 * MIB);
    for (int i = 0; i < 600; i++) {
        snprintf(id, sizeof id, "g%03d", i);
        ck_assert_msg(create_growing(small, &a, id, &err) == VALV_OK, "%s", err.message);
    }
    store_map_usage(small, &map_size, &used);
    ck_assert_uint_gt(used, 2 * MIB);
    ck_assert_uint_ge(map_size, used);
    ck_assert_uint_le(map_size, 64 * MIB);
    ck_assert_int_eq(store_revision(small), 600);
    for (int i = 0; i < 600; i++) {
        Valv__V1__Asset *got = NULL;
        snprintf(id, sizeof id, "g%03d", i);
        ck_assert_int_eq(store_get_asset(small, id, &got, &err), VALV_OK);
        ck_assert_uint_eq(strlen(got->description), 4000);
        asset_free(got);
    }

    /* Reopened with a small initial size, it keeps the size it grew to. */
    store_close(small);
    small = open_small("small");
    size_t reopened_size;
    store_map_usage(small, &reopened_size, &used);
    ck_assert_uint_ge(reopened_size, used);
    ck_assert_uint_gt(reopened_size, 2 * MIB);
    store_close(small);
}
END_TEST

/* Between writes, a map more than three quarters full grows before a
 * write runs out of it; not while a transaction holds the map, and not below
 * three quarters. */
START_TEST(test_map_grows_ahead)
{
    store *small = open_small("ahead");
    char description[4001];
    Valv__V1__Asset a = bulky(description);
    size_t map_size, used;
    valv_error err;
    char id[16];

    store_grow_ahead(small); /* nearly empty: stays */
    store_map_usage(small, &map_size, &used);
    ck_assert_uint_eq(map_size, 1 * MIB);
    int i = 0;
    while (used <= 3 * MIB / 4) {
        Valv__V1__Asset *out = NULL;
        snprintf(id, sizeof id, "h%03d", i++);
        ck_assert_msg(create(small, &a, id, &out, &err) == VALV_OK, "%s", err.message);
        asset_free(out);
        store_map_usage(small, &map_size, &used);
        ck_assert_uint_eq(map_size, 1 * MIB); /* never ran out */
    }

    /* A transaction holds the map: not now. */
    store_txn *reader = NULL;
    ck_assert_int_eq(store_txn_begin(small, NULL, &reader, &err), VALV_OK);
    store_grow_ahead(small);
    store_map_usage(small, &map_size, &used);
    ck_assert_uint_eq(map_size, 1 * MIB);
    store_txn_abort(reader);

    store_grow_ahead(small);
    store_map_usage(small, &map_size, &used);
    ck_assert_uint_eq(map_size, 2 * MIB);
    store_close(small);
}
END_TEST

START_TEST(test_map_full)
{
    store_options opts = {.map_size_initial = 1 * MIB, .map_size_max = 1 * MIB};
    store *tiny = NULL;
    char description[4001];
    Valv__V1__Asset a = bulky(description);
    valv_error err;
    char id[16];
    int written = 0, rc = VALV_OK;

    ck_assert_int_eq(store_open(subdir("tiny"), &opts, &tiny, &err), VALV_OK);
    while (rc == VALV_OK) {
        snprintf(id, sizeof id, "f%04d", written);
        rc = create_growing(tiny, &a, id, &err);
        if (rc == VALV_OK)
            written++;
        ck_assert_int_lt(written, 1000);
    }
    ck_assert_int_eq(rc, VALV_EFULL);
    ck_assert_msg(strstr(err.message, "--max-db-size") != NULL, "message: %s", err.message);
    ck_assert_int_gt(written, 10);

    /* The failed write left nothing; everything before it is readable,
     * also after reopening. */
    char failed_id[16], last_id[16];
    snprintf(failed_id, sizeof failed_id, "f%04d", written);
    snprintf(last_id, sizeof last_id, "f%04d", written - 1);
    for (int pass = 0; pass < 2; pass++) {
        Valv__V1__Asset *got = NULL;
        ck_assert_int_eq(store_revision(tiny), written);
        ck_assert_int_eq(store_get_asset(tiny, failed_id, &got, &err), VALV_ENOTFOUND);
        ck_assert_int_eq(store_get_asset(tiny, "f0000", &got, &err), VALV_OK);
        asset_free(got);
        ck_assert_int_eq(store_get_asset(tiny, last_id, &got, &err), VALV_OK);
        asset_free(got);
        store_close(tiny);
        ck_assert_int_eq(store_open(subdir("tiny"), &opts, &tiny, &err), VALV_OK);
    }
    store_close(tiny);
}
END_TEST

/* A test case whose tests each get a fresh store. */
static TCase *store_tcase(Suite *suite, const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, setup, teardown);
    suite_add_tcase(suite, tc);
    return tc;
}

static Suite *store_suite(void)
{
    Suite *suite = suite_create("store");
    TCase *tc;

    tc = store_tcase(suite, "create");
    tcase_add_test(tc, test_create_get_round_trip);
    tcase_add_test(tc, test_flagged_only_when_serious);
    tcase_add_test(tc, test_generated_ids);
    tcase_add_test(tc, test_id_sequence);
    tcase_add_test(tc, test_generated_id_passes_over_a_taken_one);
    tcase_add_test(tc, test_generated_ids_go_on_after_a_reopen);
    tcase_add_test(tc, test_duplicate_id);
    tcase_add_test(tc, test_duplicate_source);
    tcase_add_test(tc, test_validation_error);
    tcase_add_test(tc, test_batch_get);

    tc = store_tcase(suite, "update");
    tcase_add_test(tc, test_update_with_mask);
    tcase_add_test(tc, test_update_without_mask);
    tcase_add_test(tc, test_update_unknown_path);
    tcase_add_test(tc, test_update_stale_etag);
    tcase_add_test(tc, test_update_no_op_keeps_revision);
    tcase_add_test(tc, test_update_unknown_asset);

    tc = store_tcase(suite, "delete");
    tcase_add_test(tc, test_delete);
    tcase_add_test(tc, test_undelete);

    tc = store_tcase(suite, "revision");
    tcase_add_test(tc, test_revision_persists);
    tcase_add_test(tc, test_schema_version_mismatch);
    tcase_add_test(tc, test_read_only);

    tc = store_tcase(suite, "list");
    tcase_add_test(tc, test_list_order);
    tcase_add_test(tc, test_list_sorted_orders);
    tcase_add_test(tc, test_list_bad_order_by);
    tcase_add_test(tc, test_list_filters);
    tcase_add_test(tc, test_list_bad_filter);
    tcase_add_loop_test(tc, test_page_token_stability, 0,
                        sizeof stability_orders / sizeof stability_orders[0]);
    tcase_add_test(tc, test_page_token_refused);
    tcase_add_test(tc, test_page_size);

    tc = store_tcase(suite, "map");
    tcase_add_test(tc, test_map_grows);
    tcase_add_test(tc, test_map_grows_ahead);
    tcase_add_test(tc, test_map_full);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(store_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failures = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failures ? 1 : 0;
}
