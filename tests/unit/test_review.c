/* test_review.c - the security protection chief's review: when an asset
 * needs one, approving and returning it, when an approval lapses, and the
 * queue the chief works through. */
#include <time.h>
#include <unistd.h>

#include "limits.h"
#include "store_fixture.h"

#define INFORMATION VALV__V1__ASSET_KIND__INFORMATION
#define IT_SYSTEM VALV__V1__ASSET_KIND__IT_SYSTEM
#define FACILITY VALV__V1__ASSET_KIND__FACILITY

#define NOT_REQUIRED VALV__V1__REVIEW_STATE__NOT_REQUIRED
#define PENDING VALV__V1__REVIEW_STATE__PENDING
#define APPROVED VALV__V1__REVIEW_STATE__APPROVED
#define RETURNED VALV__V1__REVIEW_STATE__RETURNED

static const store_actor chief = {.actor = "chief", .request_id = "req-2"};

static Valv__V1__ReviewState state_of(const char *id)
{
    Valv__V1__Asset *a = get(id);
    Valv__V1__ReviewState state = a->review->state;
    asset_free(a);
    return state;
}

static char *etag_of(const char *id)
{
    Valv__V1__Asset *a = get(id);
    char *etag = strdup(a->etag);
    asset_free(a);
    return etag;
}

typedef int (*decide_fn)(store_txn *, const char *, const char *, const char *,
                         const store_actor *, Valv__V1__Asset **, valv_error *);

/* Approves or returns id at etag (NULL: the current one). */
static int decide(decide_fn fn, const char *id, const char *etag, const char *comment,
                  Valv__V1__Asset **out, valv_error *err)
{
    char *current = etag == NULL ? etag_of(id) : NULL;
    Valv__V1__Asset *result = NULL;
    store_txn *t = txn_begin();
    int rc = txn_finish(t, fn(t, id, etag != NULL ? etag : current, comment, &chief, &result, err),
                        err);
    free(current);
    if (out != NULL)
        *out = result;
    else
        asset_free(result);
    return rc;
}

static int approve(const char *id, const char *etag, const char *comment, valv_error *err)
{
    return decide(store_approve_asset, id, etag, comment, NULL, err);
}

static void approve_ok(const char *id)
{
    valv_error err;
    ck_assert_msg(approve(id, NULL, "checked", &err) == VALV_OK, "approve %s: %s", id,
                  err.message);
}

/* Creates a flagged IT system (availability VERY_SERIOUS) in unit. */
static void create_flagged(const char *id, const char *unit)
{
    create_ok(id, IT_SYSTEM, unit);
    classify_ok(id, 0, 0, LEVEL(4), 0);
}

/* The ids of the whole review queue (page size 2), joined by spaces. */
static void queue_ids(const char *unit, char *out, size_t cap)
{
    store_queue_request req = {.owner_unit = unit, .page_size = 2};
    char *token = NULL;
    out[0] = '\0';
    do {
        store_list_result res;
        valv_error err;
        req.page_token = token;
        ck_assert_msg(store_list_review_queue(s, &req, &res, &err) == VALV_OK, "queue: %s",
                      err.message);
        ck_assert_uint_le(res.n_assets, 2);
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

/* --- When a review is needed ------------------------------------------------------- */

START_TEST(test_flagged_becomes_pending)
{
    create_ok("plain", IT_SYSTEM, "it");
    ck_assert_int_eq(state_of("plain"), NOT_REQUIRED);
    classify_ok("plain", LEVEL(3), LEVEL(3), LEVEL(3), LEVEL(3));
    ck_assert_int_eq(state_of("plain"), NOT_REQUIRED);

    classify_ok("plain", LEVEL(4), 0, 0, 0);
    Valv__V1__Asset *a = get("plain");
    ck_assert_int_eq(a->review->state, PENDING);
    ck_assert_ptr_nonnull(a->review->state_time);
    ck_assert(a->review->state_time->seconds >= a->update_time->seconds);
    ck_assert_ptr_null(a->review->due_time);
    asset_free(a);

    /* No longer flagged: no longer required. */
    classify_ok("plain", LEVEL(2), 0, 0, 0);
    ck_assert_int_eq(state_of("plain"), NOT_REQUIRED);
}
END_TEST

START_TEST(test_flagged_through_inheritance)
{
    valv_error err;

    create_ok("plans", INFORMATION, "security");
    create_ok("sys", IT_SYSTEM, "it");
    create_ok("room", FACILITY, "property");
    link_ok("plans", "sys", VALV__V1__LINK_TYPE__PROCESSED_BY);
    link_ok("sys", "room", VALV__V1__LINK_TYPE__HOSTED_IN);
    ck_assert_int_eq(secure("plans", VALV__V1__SECURITY_CLASS__CONFIDENTIAL, false, false, &err),
                     VALV_OK);
    ck_assert_int_eq(state_of("plans"), PENDING);
    ck_assert_int_eq(state_of("sys"), PENDING);
    ck_assert_int_eq(state_of("room"), PENDING);

    ck_assert_int_eq(link_remove("plans", "sys", VALV__V1__LINK_TYPE__PROCESSED_BY, &err),
                     VALV_OK);
    ck_assert_int_eq(state_of("sys"), NOT_REQUIRED);
    ck_assert_int_eq(state_of("room"), NOT_REQUIRED);
}
END_TEST

/* --- Approve and return ------------------------------------------------------------- */

START_TEST(test_approve_needs_etag_and_comment)
{
    char long_comment[VALV_COMMENT_MAX + 2];
    valv_error err;

    create_flagged("sys", "it");
    char *stale = etag_of("sys");
    classify_ok("sys", LEVEL(1), 0, LEVEL(4), 0);

    ck_assert_int_eq(approve("sys", "", "fine", &err), VALV_EINVAL);
    ck_assert_str_eq(err.violations[0].field, "etag");
    ck_assert_int_eq(approve("sys", NULL, "", &err), VALV_EINVAL);
    ck_assert_str_eq(err.violations[0].field, "comment");
    memset(long_comment, 'x', sizeof long_comment - 1);
    long_comment[sizeof long_comment - 1] = '\0';
    ck_assert_int_eq(approve("sys", NULL, long_comment, &err), VALV_EINVAL);
    ck_assert_str_eq(err.violations[0].field, "comment");
    ck_assert_int_eq(approve("sys", stale, "fine", &err), VALV_EABORTED);
    ck_assert_int_eq(state_of("sys"), PENDING);
    free(stale);
}
END_TEST

START_TEST(test_approve_sets_due_time)
{
    store_options opts = {.review_interval = 1000};
    Valv__V1__Asset *a = NULL;
    valv_error err;

    fixture_reopen(&opts);
    create_flagged("sys", "it");
    ck_assert_int_eq(decide(store_approve_asset, "sys", NULL, "K-levels match the RSA", &a, &err),
                     VALV_OK);
    ck_assert_int_eq(a->review->state, APPROVED);
    ck_assert_str_eq(a->review->reviewer, "chief");
    ck_assert_str_eq(a->review->comment, "K-levels match the RSA");
    ck_assert_int_eq(a->review->due_time->seconds, a->review->review_time->seconds + 1000);
    ck_assert(!a->review->overdue);
    asset_free(a);
    a = get("sys");
    ck_assert_int_eq(a->review->state, APPROVED);
    asset_free(a);

    /* Not in the queue now: approving again says until when it holds. */
    ck_assert_int_eq(approve("sys", NULL, "again", &err), VALV_EPRECONDITION);
    ck_assert_ptr_nonnull(strstr(err.message, "already approved until"));
    create_ok("plain", IT_SYSTEM, "it");
    ck_assert_int_eq(approve("plain", NULL, "fine", &err), VALV_EPRECONDITION);
    ck_assert_ptr_nonnull(strstr(err.message, "not flagged"));
}
END_TEST

START_TEST(test_approval_lapses_on_change)
{
    static const char *const description[] = {"description"};
    Valv__V1__Asset patch = VALV__V1__ASSET__INIT;
    valv_error err;

    create_ok("info", INFORMATION, "hr");
    create_flagged("sys", "it");
    create_flagged("db", "it");

    /* A change the approval did not cover: still approved. */
    approve_ok("sys");
    patch.description = "Moved to the new cluster";
    ck_assert_int_eq(update_paths("sys", &patch, description, 1, &err), VALV_OK);
    ck_assert_int_eq(state_of("sys"), APPROVED);

    /* Its classification changes. */
    classify_ok("sys", LEVEL(1), 0, LEVEL(4), 0);
    ck_assert_int_eq(state_of("sys"), PENDING);

    /* Its effective values change through what it carries. */
    link_ok("info", "sys", VALV__V1__LINK_TYPE__PROCESSED_BY);
    approve_ok("sys");
    classify_ok("info", LEVEL(3), 0, 0, 0);
    ck_assert_int_eq(state_of("sys"), PENDING);

    /* Its links change, though no value does. */
    approve_ok("sys");
    approve_ok("db");
    link_ok("sys", "db", VALV__V1__LINK_TYPE__DEPENDS_ON);
    ck_assert_int_eq(state_of("sys"), PENDING);
    ck_assert_int_eq(state_of("db"), PENDING);
}
END_TEST

START_TEST(test_return_then_owner_fixes)
{
    static const char *const rationale[] = {"classification.rationale"};
    Valv__V1__Classification cls = VALV__V1__CLASSIFICATION__INIT;
    Valv__V1__Asset patch = VALV__V1__ASSET__INIT;
    Valv__V1__Asset *a = NULL;
    valv_error err;

    create_flagged("sys", "it");
    ck_assert_int_eq(decide(store_return_asset, "sys", NULL, "add the RSA reference", &a, &err),
                     VALV_OK);
    ck_assert_int_eq(a->review->state, RETURNED);
    ck_assert_str_eq(a->review->comment, "add the RSA reference");
    ck_assert_ptr_null(a->review->due_time);
    int64_t returned_at = a->review->state_time->seconds * 1000000000LL +
                          a->review->state_time->nanos;
    asset_free(a);

    cls.rationale = "RSA 2026-04";
    patch.classification = &cls;
    ck_assert_int_eq(update_paths("sys", &patch, rationale, 1, &err), VALV_OK);
    a = get("sys");
    ck_assert_int_eq(a->review->state, PENDING);
    ck_assert_int_gt(a->review->state_time->seconds * 1000000000LL + a->review->state_time->nanos,
                     returned_at);
    /* The chief's comment stays for the next look. */
    ck_assert_str_eq(a->review->comment, "add the RSA reference");
    asset_free(a);
}
END_TEST

/* --- Overdue ------------------------------------------------------------------------- */

/* Sleeps until the wall clock has passed second `until`. */
static void sleep_past(int64_t until)
{
    while ((int64_t)time(NULL) <= until)
        usleep(50 * 1000);
}

START_TEST(test_overdue_back_in_queue)
{
    store_options opts = {.review_interval = 1};
    store_list_request overdue = {.filter = "review.overdue = true"};
    store_list_result res;
    char ids[256];
    valv_error err;

    fixture_reopen(&opts);
    create_flagged("sys", "it");
    approve_ok("sys");
    Valv__V1__Asset *a = get("sys");
    int64_t due = a->review->due_time->seconds;
    ck_assert(!a->review->overdue);
    asset_free(a);
    queue_ids(NULL, ids, sizeof ids);
    ck_assert_str_eq(ids, "");

    sleep_past(due);
    a = get("sys");
    ck_assert_int_eq(a->review->state, APPROVED);
    ck_assert(a->review->overdue);
    asset_free(a);
    /* Read to answer with: not as stored (overdue is not), but decoded and marked. */
    unsigned char buffer[ARENA_ASSET_BYTES];
    arena mem;
    store_asset_reply reply;
    arena_init(&mem, buffer, sizeof buffer);
    ck_assert_int_eq(store_read_asset(s, "sys", NULL, &mem, &reply, &err), VALV_OK);
    ck_assert_ptr_null(reply.encoded);
    ck_assert_ptr_nonnull(reply.asset);
    ck_assert(reply.asset->review->overdue);
    arena_reset(&mem);
    queue_ids(NULL, ids, sizeof ids);
    ck_assert_str_eq(ids, "sys");
    ck_assert_int_eq(store_list_assets(s, &overdue, &res, &err), VALV_OK);
    ck_assert_uint_eq(res.n_assets, 1);
    ck_assert(res.assets[0]->review->overdue);
    store_list_result_free(&res);

    /* Approved again, it leaves the queue until the next due date. */
    opts.review_interval = 3600;
    fixture_reopen(&opts);
    approve_ok("sys");
    queue_ids(NULL, ids, sizeof ids);
    ck_assert_str_eq(ids, "");
    ck_assert_int_eq(store_list_assets(s, &overdue, &res, &err), VALV_OK);
    ck_assert_uint_eq(res.n_assets, 0);
    store_list_result_free(&res);
    /* Not due: answered with as stored, its due time read from the record. */
    arena_init(&mem, buffer, sizeof buffer);
    ck_assert_int_eq(store_read_asset(s, "sys", NULL, &mem, &reply, &err), VALV_OK);
    ck_assert_ptr_nonnull(reply.encoded);
    ck_assert_ptr_null(reply.asset);
    arena_reset(&mem);
}
END_TEST

START_TEST(test_negative_interval_refused)
{
    store_options opts = {.review_interval = -1};
    store *other = NULL;
    valv_error err;
    ck_assert_int_eq(store_open(fixture_dir, &opts, &other, &err), VALV_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "review_interval"));
}
END_TEST

/* --- The queue ------------------------------------------------------------------------- */

START_TEST(test_queue_order_units_and_pages)
{
    store_queue_request req = {0};
    store_list_result res;
    valv_error err;
    char ids[256];

    create_flagged("c-first", "it");
    create_flagged("a-second", "hr");
    create_flagged("b-third", "it");
    create_flagged("d-fourth", "it");
    create_flagged("e-fifth", "hr");
    create_ok("plain", IT_SYSTEM, "it");
    create_flagged("gone", "it");
    ck_assert_int_eq(delete_asset("gone", false, &err), VALV_OK);

    queue_ids(NULL, ids, sizeof ids);
    ck_assert_str_eq(ids, "c-first a-second b-third d-fourth e-fifth");
    queue_ids("it", ids, sizeof ids);
    ck_assert_str_eq(ids, "c-first b-third d-fourth");
    queue_ids("hr", ids, sizeof ids);
    ck_assert_str_eq(ids, "a-second e-fifth");

    /* Approved leaves it; returned keeps it, now as of the return. */
    approve_ok("c-first");
    ck_assert_int_eq(decide(store_return_asset, "a-second", NULL, "fix", NULL, &err), VALV_OK);
    queue_ids(NULL, ids, sizeof ids);
    ck_assert_str_eq(ids, "b-third d-fourth e-fifth a-second");

    /* Every asset in it says why. */
    ck_assert_int_eq(store_list_review_queue(s, &req, &res, &err), VALV_OK);
    ck_assert_uint_eq(res.n_assets, 4);
    ck_assert_int_eq(res.assets[0]->review->state, PENDING);
    ck_assert_int_eq(res.assets[3]->review->state, RETURNED);
    store_list_result_free(&res);

    /* A token belongs to its unit. */
    req.owner_unit = "it";
    req.page_size = 1;
    ck_assert_int_eq(store_list_review_queue(s, &req, &res, &err), VALV_OK);
    ck_assert_ptr_nonnull(res.next_page_token);
    req.owner_unit = "hr";
    req.page_token = res.next_page_token;
    store_list_result other;
    ck_assert_int_eq(store_list_review_queue(s, &req, &other, &err), VALV_EINVAL);
    ck_assert_str_eq(err.violations[0].field, "page_token");
    store_list_result_free(&res);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("review");
    TCase *tc;

    tc = fixture_tcase(suite, "rules");
    tcase_add_test(tc, test_flagged_becomes_pending);
    tcase_add_test(tc, test_flagged_through_inheritance);
    tcase_add_test(tc, test_approval_lapses_on_change);

    tc = fixture_tcase(suite, "decisions");
    tcase_add_test(tc, test_approve_needs_etag_and_comment);
    tcase_add_test(tc, test_approve_sets_due_time);
    tcase_add_test(tc, test_return_then_owner_fixes);

    tc = fixture_tcase(suite, "overdue");
    tcase_set_timeout(tc, 30); /* waits up to two seconds for an approval to lapse */
    tcase_add_test(tc, test_overdue_back_in_queue);
    tcase_add_test(tc, test_negative_interval_refused);

    tc = fixture_tcase(suite, "queue");
    tcase_add_test(tc, test_queue_order_units_and_pages);
    return fixture_run(suite);
}
