/* test_policy.c - the caller's access policy (store.h, "Access policy"):
 * what each write asks, in which order, and what reads leave out.
 *
 * The policy under test is a fake with the shape of the service's: a
 * principal may write only in its own unit (CLASSIFY only when it may
 * classify), and assets whose effective security class is RESTRICTED or
 * higher exist only for principals who are cleared or own their unit.
 * The world every test starts from is made without hooks (alice).
 */
#include "store_fixture.h"

#define INFORMATION VALV__V1__ASSET_KIND__INFORMATION
#define IT_SYSTEM VALV__V1__ASSET_KIND__IT_SYSTEM
#define PROCESSED_BY VALV__V1__LINK_TYPE__PROCESSED_BY
#define SECRET VALV__V1__SECURITY_CLASS__SECRET
#define RESTRICTED VALV__V1__SECURITY_CLASS__RESTRICTED

/* --- The fake policy --------------------------------------------------------------- */

typedef struct {
    const char *unit;  /* the one unit it may write in */
    bool may_classify; /* CLASSIFY in that unit too */
    bool cleared;      /* sees RESTRICTED and higher everywhere */
} fake_policy;

static const char *const act_names[] = {"create", "update", "classify", "delete", "link",
                                        "review"};

static int fake_authorize(const store_actor *who, store_act act, const char *unit,
                          valv_error *err)
{
    const fake_policy *p = who->policy;
    if (strcmp(unit, p->unit) != 0 || (act == STORE_ACT_CLASSIFY && !p->may_classify))
        return valv_error_set(err, VALV_EPERM, "%s may not %s assets of unit '%s'", who->actor,
                              act_names[act], unit);
    return VALV_OK;
}

static bool fake_can_see(const store_actor *who, const Valv__V1__Asset *asset)
{
    const fake_policy *p = who->policy;
    int security_class = asset->effective != NULL ? (int)asset->effective->security_class : 0;
    return security_class < RESTRICTED || p->cleared || strcmp(asset->owner_unit, p->unit) == 0;
}

static store_actor actor_with(const char *name, const fake_policy *p)
{
    return (store_actor){.actor = name,
                         .authorize = fake_authorize,
                         .can_see = fake_can_see,
                         .policy = p};
}

/* bob owns unit social; school is someone else's. */
static const fake_policy owner_policy = {.unit = "social"};
static const fake_policy classifier_policy = {.unit = "social", .may_classify = true};
static const fake_policy cleared_policy = {.unit = "social", .cleared = true};

/* --- The world ----------------------------------------------------------------------
 *
 *   plan        INFORMATION  social                  visible, bob's
 *   own-secret  INFORMATION  social  SECRET          visible: bob owns the unit
 *   social-sys  IT_SYSTEM    social                  visible, bob's
 *   case        INFORMATION  school                  visible, not bob's
 *   flagged     INFORMATION  school  sensitive       visible, in the review queue
 *   school-sys  IT_SYSTEM    school                  visible, not bob's
 *   secret      INFORMATION  school  SECRET          hidden
 *   sys         IT_SYSTEM    school  (inherits SECRET from secret)  hidden
 *
 * Links: secret -> sys, plan -> sys, plan -> social-sys (PROCESSED_BY). */

static void secure_ok(const char *id, Valv__V1__SecurityClass security_class, bool sensitive)
{
    valv_error err;
    ck_assert_msg(secure(id, security_class, sensitive, false, &err) == VALV_OK, "secure %s: %s",
                  id, err.message);
}

static void world(void)
{
    create_ok("plan", INFORMATION, "social");
    create_ok("own-secret", INFORMATION, "social");
    create_ok("social-sys", IT_SYSTEM, "social");
    create_ok("case", INFORMATION, "school");
    create_ok("flagged", INFORMATION, "school");
    create_ok("school-sys", IT_SYSTEM, "school");
    create_ok("secret", INFORMATION, "school");
    create_ok("sys", IT_SYSTEM, "school");
    secure_ok("own-secret", SECRET, false);
    secure_ok("flagged", VALV__V1__SECURITY_CLASS__NOT_CLASSIFIED, true);
    secure_ok("secret", SECRET, false);
    link_ok("secret", "sys", PROCESSED_BY);
    link_ok("plan", "sys", PROCESSED_BY);
    link_ok("plan", "social-sys", PROCESSED_BY);
}

/* --- Writes as someone ----------------------------------------------------------------- */

static int create_as(const store_actor *who, const char *id, const char *unit, valv_error *err)
{
    Valv__V1__Asset a = VALV__V1__ASSET__INIT;
    Valv__V1__Asset *out = NULL;
    a.kind = INFORMATION;
    a.display_name = (char *)id;
    a.owner_unit = (char *)unit;
    store_txn *t = txn_begin();
    int rc = txn_finish(t, store_create_asset(t, &a, id, who, &out, err), err);
    asset_free(out);
    return rc;
}

/* Updates the field path of asset id to what patch holds, with etag (NULL: none). */
static int update_as(const store_actor *who, const char *id, Valv__V1__Asset *patch,
                     const char *path, const char *etag, valv_error *err)
{
    char name[80];
    Valv__V1__Asset *out = NULL;
    snprintf(name, sizeof name, "assets/%s", id);
    patch->name = name;
    patch->etag = (char *)(etag != NULL ? etag : "");
    store_txn *t = txn_begin();
    int rc = txn_finish(t, store_update_asset(t, patch, &path, 1, who, &out, err), err);
    asset_free(out);
    patch->name = NULL;
    patch->etag = NULL;
    return rc;
}

static int rename_as(const store_actor *who, const char *id, const char *etag, valv_error *err)
{
    Valv__V1__Asset patch = VALV__V1__ASSET__INIT;
    patch.display_name = "renamed";
    return update_as(who, id, &patch, "display_name", etag, err);
}

static int move_as(const store_actor *who, const char *id, const char *unit, valv_error *err)
{
    Valv__V1__Asset patch = VALV__V1__ASSET__INIT;
    patch.owner_unit = (char *)unit;
    return update_as(who, id, &patch, "owner_unit", NULL, err);
}

static int classify_as(const store_actor *who, const char *id, int confidentiality,
                       valv_error *err)
{
    Valv__V1__Classification cls = VALV__V1__CLASSIFICATION__INIT;
    Valv__V1__Asset patch = VALV__V1__ASSET__INIT;
    cls.confidentiality = confidentiality;
    patch.classification = &cls;
    return update_as(who, id, &patch, "classification", NULL, err);
}

static int secure_as(const store_actor *who, const char *id,
                     Valv__V1__SecurityClass security_class, valv_error *err)
{
    Valv__V1__SecurityProtection sec = VALV__V1__SECURITY_PROTECTION__INIT;
    Valv__V1__Asset patch = VALV__V1__ASSET__INIT;
    sec.security_class = security_class;
    patch.security = &sec;
    return update_as(who, id, &patch, "security", NULL, err);
}

static int delete_forced_as(const store_actor *who, const char *id, const char *etag, bool force,
                            valv_error *err)
{
    Valv__V1__Asset *out = NULL;
    store_txn *t = txn_begin();
    int rc = txn_finish(t, store_delete_asset(t, id, etag, "retired", force, who, &out, err), err);
    asset_free(out);
    return rc;
}

static int delete_as(const store_actor *who, const char *id, const char *etag, valv_error *err)
{
    return delete_forced_as(who, id, etag, true, err);
}

static int undelete_as(const store_actor *who, const char *id, valv_error *err)
{
    Valv__V1__Asset *out = NULL;
    store_txn *t = txn_begin();
    int rc = txn_finish(t, store_undelete_asset(t, id, NULL, who, &out, err), err);
    asset_free(out);
    return rc;
}

static int link_as(const store_actor *who, const char *from, const char *to, valv_error *err)
{
    Valv__V1__Link *out = NULL;
    store_txn *t = txn_begin();
    int rc = txn_finish(t, store_create_link(t, from, to, PROCESSED_BY, who, &out, err), err);
    if (out != NULL)
        valv__v1__link__free_unpacked(out, NULL);
    return rc;
}

static int unlink_as(const store_actor *who, const char *from, const char *to, valv_error *err)
{
    store_txn *t = txn_begin();
    return txn_finish(t, store_delete_link(t, from, to, PROCESSED_BY, who, err), err);
}

/* No asset ever has etag "0": revisions start at 1. */
#define STALE_ETAG "0"

/* Approves (or returns) asset id as it is now, or with etag when given. */
static int review_as(const store_actor *who, const char *id, bool approve, const char *etag,
                     valv_error *err)
{
    char current[24];
    Valv__V1__Asset *out = NULL;
    if (etag == NULL) {
        snprintf(current, sizeof current, "%lld", (long long)revision_of(id));
        etag = current;
    }
    store_txn *t = txn_begin();
    int rc = approve ? store_approve_asset(t, id, etag, "seen", who, &out, err)
                     : store_return_asset(t, id, etag, "fix it", who, &out, err);
    rc = txn_finish(t, rc, err);
    asset_free(out);
    return rc;
}

static void assert_denied(int rc, const valv_error *err, const char *expected)
{
    ck_assert_msg(rc == VALV_EPERM, "expected PERMISSION_DENIED, got %s: %s",
                  valv_code_name(rc), err->message);
    ck_assert_str_eq(err->message, expected);
}

/* A hidden asset answers exactly as a missing one does. */
static void assert_not_found(int rc, const valv_error *err, const char *id)
{
    char expected[80];
    snprintf(expected, sizeof expected, "asset assets/%s not found", id);
    ck_assert_msg(rc == VALV_ENOTFOUND, "expected NOT_FOUND for %s, got %s: %s", id,
                  valv_code_name(rc), err->message);
    ck_assert_str_eq(err->message, expected);
}

/* --- Writes ----------------------------------------------------------------------------- */

START_TEST(test_create_in_foreign_unit_denied)
{
    store_actor bob = actor_with("bob", &owner_policy);
    valv_error err;

    world();
    assert_denied(create_as(&bob, "new", "school", &err), &err,
                  "bob may not create assets of unit 'school'");
    /* The id is taken, but a caller who may not create there is not told. */
    assert_denied(create_as(&bob, "case", "school", &err), &err,
                  "bob may not create assets of unit 'school'");
    ck_assert_int_eq(create_as(&bob, "new", "social", &err), VALV_OK);
}
END_TEST

START_TEST(test_update_and_delete_in_foreign_unit_denied)
{
    store_actor bob = actor_with("bob", &owner_policy);
    int64_t before = 0;
    valv_error err;

    world();
    before = revision_of("case");
    assert_denied(rename_as(&bob, "case", NULL, &err), &err,
                  "bob may not update assets of unit 'school'");
    assert_denied(delete_as(&bob, "case", NULL, &err), &err,
                  "bob may not delete assets of unit 'school'");
    ck_assert_int_eq(revision_of("case"), before);

    ck_assert_int_eq(delete_as(&alice, "case", NULL, &err), VALV_OK);
    assert_denied(undelete_as(&bob, "case", &err), &err,
                  "bob may not delete assets of unit 'school'");

    ck_assert_int_eq(rename_as(&bob, "plan", NULL, &err), VALV_OK);
    ck_assert_int_eq(delete_as(&bob, "plan", NULL, &err), VALV_OK);
    ck_assert_int_eq(undelete_as(&bob, "plan", &err), VALV_OK);
}
END_TEST

START_TEST(test_move_to_foreign_unit_denied)
{
    store_actor bob = actor_with("bob", &owner_policy);
    valv_error err;

    world();
    assert_denied(move_as(&bob, "plan", "school", &err), &err,
                  "bob may not update assets of unit 'school'");
    Valv__V1__Asset *plan = get("plan");
    ck_assert_str_eq(plan->owner_unit, "social");
    asset_free(plan);
    /* Moving a foreign asset into bob's unit needs its own unit too. */
    assert_denied(move_as(&bob, "case", "social", &err), &err,
                  "bob may not update assets of unit 'school'");
}
END_TEST

START_TEST(test_classify_needs_classify)
{
    store_actor bob = actor_with("bob", &owner_policy);
    store_actor carol = actor_with("carol", &classifier_policy);
    valv_error err;

    world();
    assert_denied(classify_as(&bob, "plan", LEVEL(2), &err), &err,
                  "bob may not classify assets of unit 'social'");
    assert_denied(secure_as(&bob, "plan", RESTRICTED, &err), &err,
                  "bob may not classify assets of unit 'social'");
    /* UPDATE alone is enough for the rest, and for a classification that
     * does not change. */
    ck_assert_int_eq(rename_as(&bob, "plan", NULL, &err), VALV_OK);
    ck_assert_int_eq(classify_as(&carol, "plan", LEVEL(2), &err), VALV_OK);
    ck_assert_int_eq(classify_as(&bob, "plan", LEVEL(2), &err), VALV_OK);
    ck_assert_int_eq(secure_as(&carol, "plan", RESTRICTED, &err), VALV_OK);
}
END_TEST

/* Every write to an asset bob cannot see answers as for a missing asset,
 * never PERMISSION_DENIED, though bob may write nothing in its unit: the
 * hidden asset wins over the denied right. sys is hidden only through what
 * it inherits from secret. */
START_TEST(test_hidden_is_not_found)
{
    store_actor bob = actor_with("bob", &owner_policy);
    static const char *const hidden[] = {"secret", "sys", "nosuch"};
    valv_error err;

    world();
    for (size_t i = 0; i < 3; i++) {
        const char *id = hidden[i];
        assert_not_found(rename_as(&bob, id, STALE_ETAG, &err), &err, id);
        assert_not_found(classify_as(&bob, id, LEVEL(1), &err), &err, id);
        assert_not_found(delete_as(&bob, id, STALE_ETAG, &err), &err, id);
        assert_not_found(undelete_as(&bob, id, &err), &err, id);
        assert_not_found(review_as(&bob, id, true, STALE_ETAG, &err), &err, id);
        assert_not_found(review_as(&bob, id, false, STALE_ETAG, &err), &err, id);
    }
    /* Links: either end hidden, bob's own plan at the other. */
    assert_not_found(link_as(&bob, "secret", "social-sys", &err), &err, "secret");
    assert_not_found(link_as(&bob, "plan", "sys", &err), &err, "sys");
    assert_not_found(unlink_as(&bob, "plan", "sys", &err), &err, "sys");
    assert_not_found(unlink_as(&bob, "secret", "sys", &err), &err, "secret");

    /* Cleared, the same asset is there, and refused for want of a right. */
    store_actor dora = actor_with("dora", &cleared_policy);
    assert_denied(rename_as(&dora, "sys", NULL, &err), &err,
                  "dora may not update assets of unit 'school'");
    assert_denied(unlink_as(&dora, "secret", "sys", &err), &err,
                  "dora may not link assets of unit 'school'");
}
END_TEST

/* Denied comes before a stale etag: the etag tells nothing to a caller who
 * may not write. */
START_TEST(test_denied_before_stale_etag)
{
    store_actor bob = actor_with("bob", &owner_policy);
    valv_error err;

    world();
    assert_denied(rename_as(&bob, "case", STALE_ETAG, &err), &err,
                  "bob may not update assets of unit 'school'");
    assert_denied(delete_as(&bob, "case", STALE_ETAG, &err), &err,
                  "bob may not delete assets of unit 'school'");
    assert_denied(review_as(&bob, "flagged", true, STALE_ETAG, &err), &err,
                  "bob may not review assets of unit 'school'");
    /* Allowed, the etag is still checked. */
    ck_assert_int_eq(rename_as(&bob, "plan", STALE_ETAG, &err), VALV_EABORTED);
    ck_assert_int_eq(delete_as(&bob, "plan", STALE_ETAG, &err), VALV_EABORTED);
    ck_assert_int_eq(review_as(&bob, "own-secret", true, STALE_ETAG, &err), VALV_EABORTED);
    ck_assert_int_eq(review_as(&bob, "own-secret", true, NULL, &err), VALV_OK);
}
END_TEST

START_TEST(test_link_needs_the_from_unit)
{
    store_actor bob = actor_with("bob", &owner_policy);
    valv_error err;

    world();
    /* From bob's unit to another's: allowed; the other way: denied. */
    ck_assert_msg(link_as(&bob, "plan", "school-sys", &err) == VALV_OK, "%s", err.message);
    ck_assert_msg(unlink_as(&bob, "plan", "school-sys", &err) == VALV_OK, "%s", err.message);
    assert_denied(link_as(&bob, "case", "social-sys", &err), &err,
                  "bob may not link assets of unit 'school'");
    link_ok("case", "social-sys", PROCESSED_BY);
    assert_denied(unlink_as(&bob, "case", "social-sys", &err), &err,
                  "bob may not link assets of unit 'school'");
}
END_TEST

/* --- Reads ------------------------------------------------------------------------------ */

static int name_compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Asserts that names[0..n) (order aside) are exactly expected[0..n_expected). */
static void assert_same_ids(char **names, size_t n, const char *const *expected,
                            size_t n_expected)
{
    qsort(names, n, sizeof *names, name_compare);
    ck_assert_msg(n == n_expected, "%zu items, expected %zu", n, n_expected);
    for (size_t i = 0; i < n; i++)
        ck_assert_str_eq(names[i] + strlen("assets/"), expected[i]);
}

/* Lists every asset as viewer, page_size (> 0) at a time, in order_by, into
 * names (malloc'd copies: free with names_free); returns how many. Every
 * page but the last is full. */
static size_t list_all(const store_actor *viewer, const char *order_by, int32_t page_size,
                       char **names, size_t cap)
{
    store_list_request req = {.order_by = order_by, .page_size = page_size, .viewer = viewer};
    store_list_result res;
    char *token = NULL;
    size_t n = 0;
    valv_error err;

    do {
        req.page_token = token;
        ck_assert_msg(store_list_assets(s, &req, &res, &err) == VALV_OK, "list: %s",
                      err.message);
        ck_assert_msg(res.n_assets == (size_t)page_size || res.next_page_token == NULL,
                      "a page of %zu before the last", res.n_assets);
        for (size_t i = 0; i < res.n_assets; i++) {
            ck_assert_uint_lt(n, cap);
            names[n++] = strdup(res.assets[i]->name);
        }
        free(token);
        token = res.next_page_token;
        res.next_page_token = NULL;
        store_list_result_free(&res);
    } while (token != NULL);
    return n;
}

static void names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
}

/* Every order and page size leaves exactly the hidden assets out, and
 * pages still hold page_size visible assets until the last. */
START_TEST(test_list_leaves_hidden_out)
{
    static const char *const orders[] = {"", "display_name desc", "update_time",
                                         "effective.security_class desc"};
    static const char *const visible_to_bob[] = {"case",       "flagged",   "own-secret",
                                                 "plan",       "school-sys", "social-sys"};
    static const char *const everything[] = {"case",       "flagged", "own-secret", "plan",
                                             "school-sys", "secret",  "social-sys", "sys"};
    store_actor bob = actor_with("bob", &owner_policy);
    store_actor dora = actor_with("dora", &cleared_policy);
    char *names[16];
    size_t n;

    world();
    for (size_t o = 0; o < 4; o++) {
        for (int32_t page_size = 1; page_size <= 3; page_size++) {
            n = list_all(&bob, orders[o], page_size, names, 16);
            assert_same_ids(names, n, visible_to_bob, 6);
            names_free(names, n);
        }
    }
    n = list_all(NULL, "", 3, names, 16);
    assert_same_ids(names, n, everything, 8);
    names_free(names, n);
    n = list_all(&dora, "", 3, names, 16);
    assert_same_ids(names, n, everything, 8);
    names_free(names, n);
}
END_TEST

/* The queue holds own-secret, flagged, secret and sys (flagged through
 * what it inherits); bob sees the first two, one page at a time. */
START_TEST(test_queue_leaves_hidden_out)
{
    static const char *const expected[] = {"flagged", "own-secret"};
    store_actor bob = actor_with("bob", &owner_policy);
    store_queue_request req = {.page_size = 1, .viewer = &bob};
    store_list_result res;
    char *names[8];
    size_t n = 0;
    valv_error err;

    world();
    do {
        ck_assert_int_eq(store_list_review_queue(s, &req, &res, &err), VALV_OK);
        ck_assert_uint_eq(res.n_assets, 1);
        names[n++] = strdup(res.assets[0]->name);
        free((char *)req.page_token);
        req.page_token = res.next_page_token;
        res.next_page_token = NULL;
        store_list_result_free(&res);
    } while (req.page_token != NULL);
    assert_same_ids(names, n, expected, 2);
    names_free(names, n);

    req.viewer = NULL;
    req.page_size = 0;
    ck_assert_int_eq(store_list_review_queue(s, &req, &res, &err), VALV_OK);
    ck_assert_uint_eq(res.n_assets, 4);
    store_list_result_free(&res);
}
END_TEST

START_TEST(test_links_leave_hidden_out)
{
    store_actor bob = actor_with("bob", &owner_policy);
    store_link_list_result res;
    valv_error err;

    world();
    assert_not_found(store_list_links(s, "sys", &bob, 0, NULL, &res, &err), &err, "sys");
    assert_not_found(store_list_links(s, "secret", &bob, 0, NULL, &res, &err), &err, "secret");

    /* plan -> sys is left out; plan -> social-sys fills the page alone. */
    ck_assert_int_eq(store_list_links(s, "plan", &bob, 1, NULL, &res, &err), VALV_OK);
    ck_assert_uint_eq(res.n_links, 1);
    ck_assert_str_eq(res.links[0]->to_asset, "assets/social-sys");
    ck_assert_ptr_null(res.next_page_token);
    store_link_list_result_free(&res);

    ck_assert_int_eq(store_list_links(s, "plan", NULL, 0, NULL, &res, &err), VALV_OK);
    ck_assert_uint_eq(res.n_links, 2);
    store_link_list_result_free(&res);
}
END_TEST

START_TEST(test_delete_refusal_counts_only_visible_links)
{
    store_actor bob = actor_with("bob", &owner_policy);
    store_actor cleared = actor_with("carl", &cleared_policy);
    valv_error err;

    world();
    /* plan links to sys, which bob cannot see, and to social-sys. */
    ck_assert_int_eq(delete_forced_as(&bob, "plan", NULL, false, &err), VALV_EPRECONDITION);
    ck_assert_ptr_null(strstr(err.message, "2"));
    ck_assert_ptr_nonnull(strstr(err.message, "has links"));
    ck_assert_int_eq(delete_forced_as(&cleared, "plan", NULL, false, &err), VALV_EPRECONDITION);
    ck_assert_ptr_nonnull(strstr(err.message, "has 2 links"));
    /* social-sys: its one link comes from plan, which bob sees. */
    ck_assert_int_eq(delete_forced_as(&bob, "social-sys", NULL, false, &err), VALV_EPRECONDITION);
    ck_assert_ptr_nonnull(strstr(err.message, "has 1 link;"));
}
END_TEST

/* Lists every event of query q (page size 2) and counts those that
 * mention a hidden asset, and all of them. */
static void audit_count(store_audit_query q, size_t *total, size_t *mention_hidden)
{
    store_audit_result res;
    char *token = NULL;
    valv_error err;

    *total = *mention_hidden = 0;
    q.page_size = 2;
    do {
        q.page_token = token;
        ck_assert_msg(store_list_audit_events(s, &q, &res, &err) == VALV_OK, "audit: %s",
                      err.message);
        for (size_t i = 0; i < res.n_events; i++) {
            const Valv__V1__AuditEvent *e = res.events[i];
            bool hidden = strcmp(e->asset, "assets/secret") == 0 ||
                          strcmp(e->related_asset, "assets/secret") == 0 ||
                          strcmp(e->asset, "assets/sys") == 0 ||
                          strcmp(e->related_asset, "assets/sys") == 0;
            *mention_hidden += hidden;
        }
        *total += res.n_events;
        free(token);
        token = res.next_page_token;
        res.next_page_token = NULL;
        store_audit_result_free(&res);
    } while (token != NULL);
}

START_TEST(test_audit_leaves_hidden_out)
{
    store_actor bob = actor_with("bob", &owner_policy);
    size_t all = 0, all_hidden = 0, seen = 0, seen_hidden = 0;
    valv_error err;

    world();
    audit_count((store_audit_query){0}, &all, &all_hidden);
    audit_count((store_audit_query){.viewer = &bob}, &seen, &seen_hidden);
    ck_assert_uint_gt(all_hidden, 0);
    ck_assert_uint_eq(seen_hidden, 0);
    ck_assert_uint_eq(seen, all - all_hidden);

    /* plan's LINK to sys is left out of plan's events. */
    audit_count((store_audit_query){.asset_id = "plan"}, &all, &all_hidden);
    audit_count((store_audit_query){.asset_id = "plan", .viewer = &bob}, &seen, &seen_hidden);
    ck_assert_uint_eq(all_hidden, 1);
    ck_assert_uint_eq(seen, all - 1);
    audit_count((store_audit_query){.asset_id = "secret", .viewer = &bob}, &seen, &seen_hidden);
    ck_assert_uint_eq(seen, 0);

    /* Visibility is judged now: deleting secret (and its links) leaves sys
     * nothing to inherit, so sys and its whole history appear; secret stays
     * hidden as it was deleted. */
    ck_assert_int_eq(delete_as(&alice, "secret", NULL, &err), VALV_OK);
    audit_count((store_audit_query){.asset_id = "sys", .viewer = &bob}, &seen, &seen_hidden);
    audit_count((store_audit_query){.asset_id = "sys"}, &all, &all_hidden);
    ck_assert_uint_gt(seen, 0);
    ck_assert_uint_lt(seen, all); /* the events shared with secret stay out */
    audit_count((store_audit_query){.asset_id = "secret", .viewer = &bob}, &seen, &seen_hidden);
    ck_assert_uint_eq(seen, 0);
}
END_TEST

/* --- Imports -------------------------------------------------------------------------- */

static int allow_all(const store_actor *who, store_act act, const char *unit, valv_error *err)
{
    (void)who, (void)act, (void)unit, (void)err;
    return VALV_OK;
}

static bool see_all(const store_actor *who, const Valv__V1__Asset *asset)
{
    (void)who, (void)asset;
    return true;
}

/* Runs one SYNC import of source "cmdb" as who, in one batch: an IT system
 * "ext-UNIT" in each unit of units[0..n), each DEPENDS_ON the next. Fills
 * *out with the counts and first_reason with the first failure's reason. */
static void import_systems(const store_actor *who, const char *const *units, size_t n,
                           Valv__V1__ImportAssetsResponse *out, char *first_reason,
                           size_t reason_cap)
{
    Valv__V1__ImportRecord records[4], *pointers[4];
    Valv__V1__ImportLink link[4], *links[4];
    char ext[4][32], next[4][32];
    store_import_options opts = {.source = "cmdb", .sync = true};
    store_import *imp = NULL;
    valv_error err;

    ck_assert_uint_le(n, 4);
    for (size_t i = 0; i < n; i++) {
        valv__v1__import_record__init(&records[i]);
        snprintf(ext[i], sizeof ext[i], "ext-%s", units[i]);
        records[i].external_id = ext[i];
        records[i].kind = IT_SYSTEM;
        records[i].display_name = ext[i];
        records[i].owner_unit = (char *)units[i];
        if (i + 1 < n) {
            valv__v1__import_link__init(&link[i]);
            snprintf(next[i], sizeof next[i], "ext-%s", units[i + 1]);
            link[i].type = VALV__V1__LINK_TYPE__DEPENDS_ON;
            link[i].to_external_id = next[i];
            links[i] = &link[i];
            records[i].links = &links[i];
            records[i].n_links = 1;
        }
        pointers[i] = &records[i];
    }
    ck_assert_int_eq(store_import_begin(s, &opts, &imp, &err), VALV_OK);
    store_txn *t = txn_begin();
    ck_assert_int_eq(store_import_apply(t, imp, pointers, n, 0, who, &err), VALV_OK);
    ck_assert_int_eq(store_txn_commit(t, &err), VALV_OK);
    store_import_commit_batch(imp);
    t = txn_begin();
    ck_assert_int_eq(store_import_finish(t, imp, who, &err), VALV_OK);
    ck_assert_int_eq(store_txn_commit(t, &err), VALV_OK);
    store_import_commit_batch(imp);
    valv__v1__import_assets_response__init(out);
    store_import_result(imp, out);
    snprintf(first_reason, reason_cap, "%s", out->n_failures > 0 ? out->failures[0]->reason : "");
    out->failures = NULL;
    out->n_failures = 0;
    store_import_free(imp);
}

/* Imports run with hooks that allow everything (the service checked IMPORT
 * for the source): creates, links and SYNC deletes all go through. Hooks
 * that refuse fail the record they refuse, not the import. */
START_TEST(test_import_with_hooks)
{
    static const char *const three[] = {"school", "social", "water"};
    static const char *const one[] = {"social"};
    store_actor importer = {.actor = "cmdb-bot", .authorize = allow_all, .can_see = see_all};
    store_actor bob = actor_with("bob", &owner_policy);
    Valv__V1__ImportAssetsResponse r;
    char reason[VALV_ERROR_MESSAGE_MAX * 2];

    import_systems(&importer, three, 3, &r, reason, sizeof reason);
    ck_assert_msg(r.created == 3 && r.failed == 0, "created %lld failed %lld: %s",
                  (long long)r.created, (long long)r.failed, reason);
    import_systems(&importer, one, 1, &r, reason, sizeof reason);
    ck_assert_msg(r.deleted == 2 && r.failed == 0, "deleted %lld failed %lld: %s",
                  (long long)r.deleted, (long long)r.failed, reason);

    /* school and water are refused, and social with them: its link's
     * target never came. */
    import_systems(&bob, three, 3, &r, reason, sizeof reason);
    ck_assert_int_eq(r.failed, 3);
    ck_assert_str_eq(reason, "bob may not create assets of unit 'school'");
}
END_TEST

/* --- No hooks ------------------------------------------------------------------------- */

/* An actor without hooks may do everything and sees everything, whatever
 * its policy data says. */
START_TEST(test_null_hooks_allow_everything)
{
    store_actor tool = {.actor = "tool", .policy = &owner_policy};
    store_link_list_result links;
    char *names[16];
    valv_error err;

    world();
    ck_assert_int_eq(create_as(&tool, "new", "school", &err), VALV_OK);
    ck_assert_int_eq(rename_as(&tool, "secret", NULL, &err), VALV_OK);
    ck_assert_int_eq(classify_as(&tool, "sys", LEVEL(3), &err), VALV_OK);
    ck_assert_int_eq(move_as(&tool, "case", "social", &err), VALV_OK);
    ck_assert_int_eq(unlink_as(&tool, "plan", "sys", &err), VALV_OK);
    ck_assert_int_eq(link_as(&tool, "plan", "sys", &err), VALV_OK);
    ck_assert_int_eq(review_as(&tool, "sys", true, NULL, &err), VALV_OK);
    ck_assert_int_eq(delete_as(&tool, "secret", NULL, &err), VALV_OK);
    ck_assert_int_eq(undelete_as(&tool, "secret", &err), VALV_OK);

    size_t n = list_all(&tool, "", 4, names, 16);
    ck_assert_uint_eq(n, 9);
    names_free(names, n);
    ck_assert_int_eq(store_list_links(s, "sys", &tool, 0, NULL, &links, &err), VALV_OK);
    ck_assert_uint_eq(links.n_links, 1);
    store_link_list_result_free(&links);

    Valv__V1__Asset *sys = get("sys");
    ck_assert(store_asset_visible(NULL, sys));
    ck_assert(store_asset_visible(&tool, sys));
    store_actor bob = actor_with("bob", &owner_policy);
    ck_assert(store_asset_visible(&bob, sys)); /* secret's links are gone */
    asset_free(sys);
    Valv__V1__Asset *secret = get("secret");
    ck_assert(!store_asset_visible(&bob, secret));
    asset_free(secret);
}
END_TEST

/* Runs the test suite. */
static Suite *policy_suite(void)
{
    Suite *suite = suite_create("policy");
    TCase *tc = fixture_tcase(suite, "writes");
    tcase_add_test(tc, test_create_in_foreign_unit_denied);
    tcase_add_test(tc, test_update_and_delete_in_foreign_unit_denied);
    tcase_add_test(tc, test_move_to_foreign_unit_denied);
    tcase_add_test(tc, test_classify_needs_classify);
    tcase_add_test(tc, test_hidden_is_not_found);
    tcase_add_test(tc, test_denied_before_stale_etag);
    tcase_add_test(tc, test_link_needs_the_from_unit);
    tc = fixture_tcase(suite, "reads");
    tcase_add_test(tc, test_list_leaves_hidden_out);
    tcase_add_test(tc, test_queue_leaves_hidden_out);
    tcase_add_test(tc, test_links_leave_hidden_out);
    tcase_add_test(tc, test_delete_refusal_counts_only_visible_links);
    tcase_add_test(tc, test_audit_leaves_hidden_out);
    tc = fixture_tcase(suite, "imports");
    tcase_add_test(tc, test_import_with_hooks);
    tc = fixture_tcase(suite, "no hooks");
    tcase_add_test(tc, test_null_hooks_allow_everything);
    return suite;
}

int main(void)
{
    return fixture_run(policy_suite());
}
