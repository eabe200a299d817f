/* test_race.c - many clients race read-modify-write on one asset with etags.
 *
 * RACE_CLIENTS threads, each with its own connection, repeat RACE_ATTEMPTS
 * times: read the asset, then update its description to a value unique to
 * the attempt, on condition that the etag is still the one read. Etags make
 * this safe only if the store checks and writes in one step: an update
 * accepted against a stale read would silently drop the update in between
 * (a lost update). So every accepted update must follow the revision its
 * client read, directly, and the audit log must tell the same story.
 */
#include <check.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calls.h"
#include "harness.h"
#include "rpc.h"
#include "valv/v1/audit.pb-c.h"

#define RACE_CLIENTS 64
#define RACE_ATTEMPTS 16 /* read-modify-write attempts per client */
#define RACE_ID "contested"
#define RACE_NAME "assets/" RACE_ID
#define RACE_FIRST_VALUE "initial"
#define RACE_VALUE_MAX 32
#define TEST_TIMEOUT_S 180

typedef struct {
    int64_t read_revision; /* the revision GetAsset returned */
    int rc;                /* UpdateAsset's status */
    int64_t revision;      /* an accepted update's revision */
} attempt;

typedef struct {
    int index;
    const harness_server *srv;
    pthread_barrier_t *go;
    attempt attempts[RACE_ATTEMPTS];
    /* A failure other than the update's ABORTED, for the main thread. */
    char failure[VALV_ERROR_MESSAGE_MAX + 64];
} racer;

/* The description attempt a of client c writes. */
static void race_value(int c, int a, char value[RACE_VALUE_MAX])
{
    snprintf(value, RACE_VALUE_MAX, "client %d attempt %d", c, a);
}

/* One client: connect, wait for the others, then race. */
static void *race(void *arg)
{
    racer *r = arg;
    rpc_conn *conn = NULL;
    valv_error err;
    int rc = harness_connect(r->srv, NULL, NULL, &conn, &err);
    if (rc != VALV_OK)
        snprintf(r->failure, sizeof r->failure, "connect: %s", err.message);
    /* Everyone waits, failed or not, so that the others are not left hanging. */
    pthread_barrier_wait(r->go);
    for (int a = 0; a < RACE_ATTEMPTS && r->failure[0] == '\0'; a++) {
        Valv__V1__Asset *read = NULL, *written = NULL;
        rc = calls_get(conn, RACE_NAME, &read, &err);
        if (rc != VALV_OK) {
            snprintf(r->failure, sizeof r->failure, "attempt %d: GetAsset: %s %s", a,
                     valv_code_name(rc), err.message);
            break;
        }
        char value[RACE_VALUE_MAX];
        race_value(r->index, a, value);
        attempt *at = &r->attempts[a];
        at->read_revision = read->revision;
        at->rc = calls_set_description(conn, RACE_NAME, read->etag, value, &written, &err);
        if (at->rc == VALV_OK)
            at->revision = written->revision;
        else if (at->rc != VALV_EABORTED)
            snprintf(r->failure, sizeof r->failure, "attempt %d: UpdateAsset: %s %s", a,
                     valv_code_name(at->rc), err.message);
        valv__v1__asset__free_unpacked(read, NULL);
        if (written != NULL)
            valv__v1__asset__free_unpacked(written, NULL);
    }
    rpc_close(conn);
    return NULL;
}

/* Every event of RACE_NAME, oldest first, page by page (the caller frees
 * each page). Returns the number of pages. */
static size_t audit_pages(rpc_conn *conn, Valv__V1__ListAuditEventsResponse **pages,
                          size_t max_pages)
{
    size_t n = 0;
    const char *token = "";
    do {
        ck_assert_uint_lt(n, max_pages);
        Valv__V1__ListAuditEventsRequest req = VALV__V1__LIST_AUDIT_EVENTS_REQUEST__INIT;
        req.asset = RACE_NAME;
        req.page_size = 1000;
        req.page_token = (char *)token;
        valv_error err;
        valv_error_clear(&err);
        int rc = rpc_unary(conn, "/valv.v1.Audit/ListAuditEvents", &req.base,
                           &valv__v1__list_audit_events_response__descriptor,
                           (ProtobufCMessage **)&pages[n], CALLS_TIMEOUT_MS, &err);
        ck_assert_msg(rc == VALV_OK, "ListAuditEvents: %s %s", valv_code_name(rc), err.message);
        token = pages[n]->next_page_token;
        n++;
    } while (token[0] != '\0');
    return n;
}

/* The change of field in event e. */
static const Valv__V1__FieldChange *change_of(const Valv__V1__AuditEvent *e, const char *field)
{
    for (size_t i = 0; i < e->n_changes; i++)
        if (strcmp(e->changes[i]->field, field) == 0)
            return e->changes[i];
    return NULL;
}

START_TEST(test_racing_updates_lose_nothing)
{
    static racer racers[RACE_CLIENTS];
    /* by_revision[R]: the client and attempt that revision R belongs to. */
    static struct {
        int client, attempt;
    } by_revision[RACE_CLIENTS * RACE_ATTEMPTS + 2];
    harness_server srv;
    memset(&srv, 0, sizeof srv);
    /* Quiet: one log line per request would bury a failure's message. */
    const char *const quiet[] = {"--log-level", "error", NULL};
    ck_assert_int_eq(harness_start(&srv, quiet), 0);
    rpc_conn *conn = NULL;
    valv_error err;
    ck_assert_int_eq(harness_connect(&srv, NULL, NULL, &conn, &err), VALV_OK);
    Valv__V1__Asset *created = NULL;
    int rc = calls_create(conn, RACE_ID, "Contested", RACE_FIRST_VALUE, &created, &err);
    ck_assert_msg(rc == VALV_OK, "create: %s", err.message);
    ck_assert_int_eq(created->revision, 1);
    valv__v1__asset__free_unpacked(created, NULL);

    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, RACE_CLIENTS);
    pthread_t threads[RACE_CLIENTS];
    for (int c = 0; c < RACE_CLIENTS; c++) {
        racers[c] = (racer){.index = c, .srv = &srv, .go = &go};
        ck_assert_int_eq(pthread_create(&threads[c], NULL, race, &racers[c]), 0);
    }
    for (int c = 0; c < RACE_CLIENTS; c++)
        pthread_join(threads[c], NULL);
    pthread_barrier_destroy(&go);

    /* Every refusal was ABORTED; every accepted update came right after
     * the revision its client read (else an update in between was lost),
     * and no two share a revision. */
    for (size_t r = 0; r < sizeof by_revision / sizeof by_revision[0]; r++)
        by_revision[r].client = -1;
    int64_t accepted = 0, refused = 0;
    for (int c = 0; c < RACE_CLIENTS; c++) {
        ck_assert_msg(racers[c].failure[0] == '\0', "client %d: %s", c, racers[c].failure);
        for (int a = 0; a < RACE_ATTEMPTS; a++) {
            const attempt *at = &racers[c].attempts[a];
            if (at->rc != VALV_OK) {
                refused++;
                continue;
            }
            accepted++;
            ck_assert_msg(at->revision == at->read_revision + 1,
                          "client %d attempt %d read revision %" PRId64
                          " and was accepted as revision %" PRId64
                          ": an update in between was lost",
                          c, a, at->read_revision, at->revision);
            ck_assert_int_ge(at->revision, 2);
            ck_assert_int_lt(at->revision, (int64_t)(sizeof by_revision / sizeof by_revision[0]));
            ck_assert_msg(by_revision[at->revision].client < 0,
                          "revision %" PRId64 " accepted twice (clients %d and %d)", at->revision,
                          by_revision[at->revision].client, c);
            by_revision[at->revision].client = c;
            by_revision[at->revision].attempt = a;
        }
    }
    printf("race: %d clients x %d attempts: %" PRId64 " accepted, %" PRId64 " refused (ABORTED)\n",
           RACE_CLIENTS, RACE_ATTEMPTS, accepted, refused);
    /* Without refusals the clients did not race, and the test proved nothing. */
    ck_assert_int_gt(refused, 0);
    ck_assert_int_gt(accepted, 0);
    /* Contiguous: revisions 2 .. accepted + 1, none skipped. */
    for (int64_t r = 2; r <= accepted + 1; r++)
        ck_assert_msg(by_revision[r].client >= 0, "no accepted update has revision %" PRId64, r);

    /* The audit log: the create, then one UPDATE per accepted update, in
     * revision order, each from the value before it to its own. */
    Valv__V1__ListAuditEventsResponse *pages[8];
    size_t n_pages = audit_pages(conn, pages, sizeof pages / sizeof pages[0]);
    int64_t expect = 1;
    char before[RACE_VALUE_MAX] = RACE_FIRST_VALUE;
    for (size_t p = 0; p < n_pages; p++) {
        for (size_t i = 0; i < pages[p]->n_events; i++, expect++) {
            const Valv__V1__AuditEvent *e = pages[p]->events[i];
            ck_assert_int_eq(e->revision, expect);
            if (expect == 1) {
                ck_assert_int_eq(e->action, VALV__V1__AUDIT_ACTION__ACTION_CREATE);
                continue;
            }
            ck_assert_msg(expect <= accepted + 1, "an audit event at revision %" PRId64
                          " that no accepted update has", expect);
            ck_assert_int_eq(e->action, VALV__V1__AUDIT_ACTION__ACTION_UPDATE);
            char after[RACE_VALUE_MAX];
            race_value(by_revision[expect].client, by_revision[expect].attempt, after);
            const Valv__V1__FieldChange *ch = change_of(e, "description");
            ck_assert_msg(ch != NULL, "the event at revision %" PRId64 " changes no description",
                          expect);
            ck_assert_str_eq(ch->before, before);
            ck_assert_str_eq(ch->after, after);
            memcpy(before, after, sizeof before);
        }
    }
    ck_assert_int_eq(expect, accepted + 2);

    /* The asset is what the last accepted update made it. */
    Valv__V1__Asset *final = NULL;
    ck_assert_int_eq(calls_get(conn, RACE_NAME, &final, &err), VALV_OK);
    ck_assert_str_eq(final->description, before);
    ck_assert_int_eq(final->revision, accepted + 1);
    valv__v1__asset__free_unpacked(final, NULL);

    for (size_t p = 0; p < n_pages; p++)
        valv__v1__list_audit_events_response__free_unpacked(pages[p], NULL);
    rpc_close(conn);
    ck_assert_int_eq(harness_stop(&srv), 0);
    harness_cleanup(&srv);
}
END_TEST

static Suite *race_suite(void)
{
    Suite *s = suite_create("race");
    TCase *tc = tcase_create("etags");
    tcase_set_timeout(tc, TEST_TIMEOUT_S);
    tcase_add_test(tc, test_racing_updates_lose_nothing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(race_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
