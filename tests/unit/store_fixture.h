/* store_fixture.h - a fresh store for each test, and short ways to change
 * it, shared by the unit tests of the store's graph and review modules
 * (test_links.c, test_inherit.c, test_review.c).
 *
 * Every helper is static inline so that each test program takes only what
 * it uses. Helpers named *_ok assert success; the others return the code.
 * The store is opened inside each test (in Check's forked child): LMDB must
 * not cross a fork.
 */
#ifndef VALV_TEST_STORE_FIXTURE_H
#define VALV_TEST_STORE_FIXTURE_H

#include <check.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

/* KLASSA level n (0-4) as the Level enum. */
#define LEVEL(n) ((Valv__V1__Level)((n) + 1))

static char fixture_dir[64];
static store *s; /* the store of the running test */
static const store_actor alice = {.actor = "alice", .request_id = "req-1"};

static inline int fixture_remove_entry(const char *path, const struct stat *sb, int flag,
                                       struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static inline void fixture_setup(void)
{
    valv_error err;
    snprintf(fixture_dir, sizeof fixture_dir, "/tmp/valv-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(fixture_dir));
    ck_assert_int_eq(store_open(fixture_dir, NULL, &s, &err), VALV_OK);
}

static inline void fixture_teardown(void)
{
    store_close(s);
    s = NULL;
    nftw(fixture_dir, fixture_remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Opens the test's store again with opts. */
static inline void fixture_reopen(const store_options *opts)
{
    valv_error err;
    store_close(s);
    ck_assert_int_eq(store_open(fixture_dir, opts, &s, &err), VALV_OK);
}

static inline store_txn *txn_begin(void)
{
    store_txn *t = NULL;
    valv_error err;
    ck_assert_int_eq(store_txn_begin(s, NULL, &t, &err), VALV_OK);
    return t;
}

/* Commits t when the write in it succeeded (rc), else aborts it. */
static inline int txn_finish(store_txn *t, int rc, valv_error *err)
{
    if (rc != VALV_OK) {
        store_txn_abort(t);
        return rc;
    }
    return store_txn_commit(t, err);
}

static inline void asset_free(Valv__V1__Asset *a)
{
    if (a != NULL)
        valv__v1__asset__free_unpacked(a, NULL);
}

static inline Valv__V1__Asset *get(const char *id)
{
    Valv__V1__Asset *a = NULL;
    valv_error err;
    ck_assert_msg(store_get_asset(s, id, &a, &err) == VALV_OK, "get %s: %s", id, err.message);
    return a;
}

static inline int64_t revision_of(const char *id)
{
    Valv__V1__Asset *a = get(id);
    int64_t revision = a->revision;
    asset_free(a);
    return revision;
}

/* Creates asset id of kind in unit, with the given own classification
 * (NULL: none) and security (NULL: none), in t. */
static inline int create_in(store_txn *t, const char *id, Valv__V1__AssetKind kind,
                            const char *unit, Valv__V1__Classification *cls,
                            Valv__V1__SecurityProtection *sec, valv_error *err)
{
    Valv__V1__Asset a = VALV__V1__ASSET__INIT;
    Valv__V1__Asset *out = NULL;
    a.kind = kind;
    a.display_name = (char *)id;
    a.owner_unit = (char *)unit;
    a.classification = cls;
    a.security = sec;
    int rc = store_create_asset(t, &a, id, &alice, &out, err);
    asset_free(out);
    return rc;
}

static inline void create_ok(const char *id, Valv__V1__AssetKind kind, const char *unit)
{
    valv_error err;
    store_txn *t = txn_begin();
    int rc = txn_finish(t, create_in(t, id, kind, unit, NULL, NULL, &err), &err);
    ck_assert_msg(rc == VALV_OK, "create %s: %s", id, err.message);
}

/* Updates asset id with the fields of patch named by paths (one). */
static inline int update_paths(const char *id, Valv__V1__Asset *patch, const char *const *paths,
                               size_t n_paths, valv_error *err)
{
    char name[80];
    Valv__V1__Asset *out = NULL;
    snprintf(name, sizeof name, "assets/%s", id);
    patch->name = name;
    store_txn *t = txn_begin();
    int rc = txn_finish(t, store_update_asset(t, patch, paths, n_paths, &alice, &out, err), err);
    asset_free(out);
    patch->name = NULL;
    return rc;
}

/* Sets asset id's own classification to confidentiality, integrity,
 * availability, traceability (Level values; 0 unsets). */
static inline void classify_ok(const char *id, int c, int i, int a, int t)
{
    static const char *const paths[] = {"classification"};
    Valv__V1__Classification cls = VALV__V1__CLASSIFICATION__INIT;
    Valv__V1__Asset patch = VALV__V1__ASSET__INIT;
    valv_error err;
    cls.confidentiality = c;
    cls.integrity = i;
    cls.availability = a;
    cls.traceability = t;
    patch.classification = &cls;
    ck_assert_msg(update_paths(id, &patch, paths, 1, &err) == VALV_OK, "classify %s: %s", id,
                  err.message);
}

/* Sets asset id's own security protection. */
static inline int secure(const char *id, Valv__V1__SecurityClass security_class, bool sensitive,
                         bool protected_object, valv_error *err)
{
    static const char *const paths[] = {"security"};
    Valv__V1__SecurityProtection sec = VALV__V1__SECURITY_PROTECTION__INIT;
    Valv__V1__Asset patch = VALV__V1__ASSET__INIT;
    sec.security_class = security_class;
    sec.security_sensitive = sensitive;
    sec.protected_object = protected_object;
    patch.security = &sec;
    return update_paths(id, &patch, paths, 1, err);
}

static inline int link_add(const char *from, const char *to, Valv__V1__LinkType type,
                           valv_error *err)
{
    Valv__V1__Link *out = NULL;
    store_txn *t = txn_begin();
    int rc = txn_finish(t, store_create_link(t, from, to, type, &alice, &out, err), err);
    if (out != NULL)
        valv__v1__link__free_unpacked(out, NULL);
    return rc;
}

static inline void link_ok(const char *from, const char *to, Valv__V1__LinkType type)
{
    valv_error err;
    ck_assert_msg(link_add(from, to, type, &err) == VALV_OK, "link %s -> %s: %s", from, to,
                  err.message);
}

static inline int link_remove(const char *from, const char *to, Valv__V1__LinkType type,
                              valv_error *err)
{
    store_txn *t = txn_begin();
    return txn_finish(t, store_delete_link(t, from, to, type, &alice, err), err);
}

static inline int delete_asset(const char *id, bool force, valv_error *err)
{
    Valv__V1__Asset *out = NULL;
    store_txn *t = txn_begin();
    int rc = txn_finish(t, store_delete_asset(t, id, NULL, "retired", force, &alice, &out, err),
                        err);
    asset_free(out);
    return rc;
}

/* The asset name Effective.sources gives for dimension, or NULL. */
static inline const char *source_of(const Valv__V1__Effective *e, const char *dimension)
{
    for (size_t i = 0; i < e->n_sources; i++)
        if (strcmp(e->sources[i]->key, dimension) == 0)
            return e->sources[i]->value;
    return NULL;
}

/* A test case whose tests each get a fresh store. */
static inline TCase *fixture_tcase(Suite *suite, const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
    suite_add_tcase(suite, tc);
    return tc;
}

static inline int fixture_run(Suite *suite)
{
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failures = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failures ? 1 : 0;
}

#endif
