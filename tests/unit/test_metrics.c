/* test_metrics.c - what a scrape of valvd's metrics shows: calls by method
 * and code, duration histograms, the writer's group commits and the
 * inventory, in the Prometheus text format. The endpoint itself is tested
 * end to end (tests/e2e/test_metrics.c); here metrics_render is called
 * directly, with a method table of the test's own. */
#include <check.h>
#include <time.h>
#include <pthread.h>
#include <unistd.h>

#include "metrics.h"
#include "methods.h"
#include "store_fixture.h"
#include "writer.h"

const method method_table[] = {
    {"/test.v1.T/Get", METHOD_UNARY, NULL, NULL, METHOD_AUTHENTICATED, AUTHZ_READ},
    {"/test.v1.T/Put", METHOD_UNARY, NULL, NULL, METHOD_AUTHENTICATED, AUTHZ_CREATE},
};
const size_t method_count = sizeof method_table / sizeof method_table[0];

#define GET 0
#define PUT 1

static writer *w;
static metrics *m;

static void setup(void)
{
    valv_error err;
    fixture_setup();
    ck_assert_int_eq(writer_start(s, 0, &w, &err), VALV_OK);
    ck_assert_int_eq(metrics_create(s, w, (int64_t)time(NULL), &m, &err), VALV_OK);
}

static void teardown(void)
{
    metrics_free(m);
    writer_stop(w);
    fixture_teardown();
}

/* The exposition text now, malloc'd. */
static char *render(void)
{
    char *text = NULL;
    size_t len = 0;
    valv_error err;
    valv_error_clear(&err);
    ck_assert_msg(metrics_render(m, &text, &len, &err) == VALV_OK, "render: %s", err.message);
    ck_assert_uint_eq(strlen(text), len);
    return text;
}

/* Asserts that text has line (whole, without its newline). */
#define ck_assert_line(text, line)                                                             \
    do {                                                                                       \
        char needle_[512];                                                                     \
        snprintf(needle_, sizeof needle_, "\n%s\n", (line));                                   \
        ck_assert_msg(strstr((text), needle_) != NULL, "no line '%s' in:\n%s", (line), (text)); \
    } while (0)

START_TEST(calls_by_method_and_code)
{
    for (int i = 0; i < 6; i++)
        metrics_call_started(m);
    metrics_call_ended(m, GET, VALV_OK, 50);
    metrics_call_ended(m, GET, VALV_OK, 300);
    metrics_call_ended(m, GET, VALV_ENOTFOUND, 20 * 1000000);
    metrics_call_ended(m, PUT, 99, 1000);                         /* no such code: UNKNOWN */
    metrics_call_ended(m, method_count, VALV_EUNIMPLEMENTED, 10); /* no such method */

    char *t = render();
    ck_assert_line(t, "# TYPE valv_requests_total counter");
    ck_assert_line(t, "valv_requests_total{method=\"/test.v1.T/Get\",code=\"OK\"} 2");
    ck_assert_line(t, "valv_requests_total{method=\"/test.v1.T/Get\",code=\"NOT_FOUND\"} 1");
    ck_assert_line(t, "valv_requests_total{method=\"/test.v1.T/Put\",code=\"UNKNOWN\"} 1");
    ck_assert_line(t, "valv_requests_total{method=\"(unknown)\",code=\"UNIMPLEMENTED\"} 1");
    ck_assert_ptr_null(strstr(t, "method=\"/test.v1.T/Put\",code=\"OK\""));

    /* Buckets are cumulative: 50 µs is in every one, 300 µs from 0.5 ms on,
     * 20 s only in +Inf. */
    ck_assert_line(t, "# TYPE valv_request_duration_seconds histogram");
    ck_assert_line(t, "valv_request_duration_seconds_bucket{method=\"/test.v1.T/Get\",le=\"0.0001\"} 1");
    ck_assert_line(t, "valv_request_duration_seconds_bucket{method=\"/test.v1.T/Get\",le=\"0.00025\"} 1");
    ck_assert_line(t, "valv_request_duration_seconds_bucket{method=\"/test.v1.T/Get\",le=\"0.0005\"} 2");
    ck_assert_line(t, "valv_request_duration_seconds_bucket{method=\"/test.v1.T/Get\",le=\"10\"} 2");
    ck_assert_line(t, "valv_request_duration_seconds_bucket{method=\"/test.v1.T/Get\",le=\"+Inf\"} 3");
    ck_assert_line(t, "valv_request_duration_seconds_sum{method=\"/test.v1.T/Get\"} 20.00035");
    ck_assert_line(t, "valv_request_duration_seconds_count{method=\"/test.v1.T/Get\"} 3");
    ck_assert_line(t, "valv_request_duration_seconds_bucket{method=\"/test.v1.T/Put\",le=\"0.001\"} 1");
    ck_assert_line(t, "valv_request_duration_seconds_bucket{method=\"/test.v1.T/Put\",le=\"0.0005\"} 0");

    ck_assert_line(t, "valv_calls_in_flight 1"); /* six started, five ended */
    free(t);
}
END_TEST

START_TEST(no_metrics_records_nothing)
{
    /* valvd without --metrics-listen: the server holds NULL. */
    metrics_call_started(NULL);
    metrics_call_ended(NULL, GET, VALV_OK, 10);
    char *t = render();
    ck_assert_ptr_null(strstr(t, "valv_requests_total{"));
    ck_assert_line(t, "valv_calls_in_flight 0");
    free(t);
}
END_TEST

/* True when the sample line is one of family's: NAME, or for a histogram
 * NAME_bucket, NAME_sum, NAME_count, then labels or the value. */
static bool in_family(const char *line, const char *family)
{
    static const char *const suffixes[] = {"", "_bucket", "_sum", "_count"};
    size_t name_len = strcspn(line, "{ ");
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char name[160];
        snprintf(name, sizeof name, "%s%s", family, suffixes[i]);
        if (strlen(name) == name_len && strncmp(line, name, name_len) == 0)
            return true;
    }
    return false;
}

/* Every sample belongs to a family announced by HELP and TYPE lines
 * before it, and every family the README lists is there. */
START_TEST(every_family_has_help_and_type)
{
    static const char *const families[] = {
        "valv_build_info", "valv_start_time_seconds", "valv_requests_total",
        "valv_request_duration_seconds", "valv_calls_in_flight", "valv_writer_commits_total",
        "valv_writer_writes_total", "valv_writes_per_commit", "valv_database_bytes", "valv_map_bytes",
        "valv_map_bytes_max", "valv_revision", "valv_assets", "valv_assets_flagged", "valv_reviews",
        "valv_reviews_overdue",
    };
    metrics_call_started(m);
    metrics_call_ended(m, GET, VALV_OK, 10);
    char *t = render();
    char family[128] = "", help[160];
    for (char *line = strtok(t, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (sscanf(line, "# HELP %127s", help) == 1)
            continue;
        if (sscanf(line, "# TYPE %127s", family) == 1) {
            ck_assert_str_eq(help, family);
            continue;
        }
        ck_assert_msg(in_family(line, family), "sample '%s' outside its family (last TYPE: %s)", line,
                      family);
    }
    free(t);
    t = render();
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        char type_line[160];
        snprintf(type_line, sizeof type_line, "# TYPE %s ", families[i]);
        ck_assert_msg(strstr(t, type_line) != NULL, "no family %s", families[i]);
    }
    ck_assert_line(t, "valv_build_info{version=\"" VALV_VERSION "\"} 1");
    free(t);
}
END_TEST

/* A job that does nothing, held at the gate when it has one. */
typedef struct {
    writer_job job; /* first: the writer hands back &job */
    pthread_mutex_t *gate;
} noop_job;

static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static int jobs_done;

static int noop_apply(writer_job *job, store_txn *txn, valv_error *err)
{
    (void)txn, (void)err;
    noop_job *j = (noop_job *)job;
    if (j->gate != NULL) {
        pthread_mutex_lock(j->gate);
        pthread_mutex_unlock(j->gate);
    }
    return VALV_OK;
}

static void noop_done(writer_job *job, int rc, const valv_error *err)
{
    (void)job, (void)rc, (void)err;
    pthread_mutex_lock(&done_lock);
    jobs_done++;
    pthread_cond_broadcast(&done_cond);
    pthread_mutex_unlock(&done_lock);
}

START_TEST(writer_group_commits)
{
    /* One job held in its commit while five queue: two commits, of 1 and 5. */
    noop_job jobs[6];
    pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&gate);
    for (int i = 0; i < 6; i++)
        jobs[i] = (noop_job){.job = {.apply = noop_apply, .done = noop_done}, .gate = i == 0 ? &gate : NULL};
    writer_submit(w, &jobs[0].job);
    usleep(50 * 1000);
    for (int i = 1; i < 6; i++)
        writer_submit(w, &jobs[i].job);
    pthread_mutex_unlock(&gate);
    pthread_mutex_lock(&done_lock);
    while (jobs_done < 6)
        pthread_cond_wait(&done_cond, &done_lock);
    pthread_mutex_unlock(&done_lock);

    char *t = render();
    ck_assert_line(t, "valv_writer_commits_total 2");
    ck_assert_line(t, "valv_writer_writes_total 6");
    ck_assert_line(t, "valv_writes_per_commit_bucket{le=\"1\"} 1");
    ck_assert_line(t, "valv_writes_per_commit_bucket{le=\"4\"} 1");
    ck_assert_line(t, "valv_writes_per_commit_bucket{le=\"8\"} 2");
    ck_assert_line(t, "valv_writes_per_commit_bucket{le=\"+Inf\"} 2");
    ck_assert_line(t, "valv_writes_per_commit_sum 6");
    ck_assert_line(t, "valv_writes_per_commit_count 2");
    free(t);
    pthread_mutex_destroy(&gate);
}
END_TEST

START_TEST(inventory_by_kind_and_review)
{
    create_ok("personakter", VALV__V1__ASSET_KIND__INFORMATION, "socialnamnden");
    create_ok("barnakter", VALV__V1__ASSET_KIND__INFORMATION, "socialnamnden");
    create_ok("stadshuset", VALV__V1__ASSET_KIND__FACILITY, "fastighetsnamnden");
    valv_error err;
    ck_assert_int_eq(secure("personakter", VALV__V1__SECURITY_CLASS__SECRET, true, false, &err), VALV_OK);

    char *t = render();
    ck_assert_line(t, "valv_assets{kind=\"INFORMATION\"} 2");
    ck_assert_line(t, "valv_assets{kind=\"IT_SYSTEM\"} 0");
    ck_assert_line(t, "valv_assets{kind=\"FACILITY\"} 1");
    ck_assert_line(t, "valv_assets_flagged 1");
    ck_assert_line(t, "valv_reviews{state=\"pending\"} 1");
    ck_assert_line(t, "valv_reviews{state=\"approved\"} 0");
    ck_assert_line(t, "valv_reviews_overdue 0");
    ck_assert_line(t, "valv_revision 4");
    free(t);
}
END_TEST

START_TEST(inventory_is_recounted_at_most_every_interval)
{
    create_ok("personakter", VALV__V1__ASSET_KIND__INFORMATION, "socialnamnden");
    free(render());
    create_ok("barnakter", VALV__V1__ASSET_KIND__INFORMATION, "socialnamnden");
    char *t = render();
    /* The count is the cached one; the revision, which costs no scan, is not. */
    ck_assert_line(t, "valv_assets{kind=\"INFORMATION\"} 1");
    ck_assert_line(t, "valv_revision 2");
    free(t);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("metrics");
    TCase *tc = tcase_create("calls");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, calls_by_method_and_code);
    tcase_add_test(tc, no_metrics_records_nothing);
    suite_add_tcase(suite, tc);

    tc = tcase_create("format");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, every_family_has_help_and_type);
    suite_add_tcase(suite, tc);

    tc = tcase_create("figures");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, writer_group_commits);
    tcase_add_test(tc, inventory_by_kind_and_review);
    tcase_add_test(tc, inventory_is_recounted_at_most_every_interval);
    suite_add_tcase(suite, tc);
    return fixture_run(suite);
}
