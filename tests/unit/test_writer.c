/* test_writer.c - the one write path: group commit, isolation of a failing
 * job, answers only after the commit, growth of a full map. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "writer.h"

typedef struct {
    writer_job job; /* first: the writer hands back &job */
    store *store;
    char display_name[64];
    const char *owner_unit; /* an invalid one makes the job fail */
    pthread_mutex_t *gate;  /* when set, apply waits for it */
    int run_again;          /* this many runs write, then ask to run again */
    bool fail_after_write;  /* writes, then fails */
    int runs;               /* times apply ran */
    int rc;
    char id[80];
    bool visible_in_done; /* the asset could be read when done ran */
    bool done;
} create_job;

static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;

static int create_apply(writer_job *job, store_txn *txn, valv_error *err)
{
    create_job *j = (create_job *)job;
    if (j->gate != NULL) {
        pthread_mutex_lock(j->gate);
        pthread_mutex_unlock(j->gate);
    }
    Valv__V1__Asset a;
    valv__v1__asset__init(&a);
    a.kind = VALV__V1__ASSET_KIND__IT_SYSTEM;
    a.display_name = j->display_name;
    a.owner_unit = (char *)j->owner_unit;
    Valv__V1__Asset *out = NULL;
    store_actor who = {.actor = "test"};
    int rc = store_create_asset(txn, &a, NULL, &who, &out, err);
    j->runs++;
    if (rc == VALV_OK && (j->run_again > 0 || j->fail_after_write)) {
        valv__v1__asset__free_unpacked(out, NULL);
        if (j->fail_after_write)
            return valv_error_set(err, VALV_EPRECONDITION, "failed after writing");
        j->run_again--;
        return valv_error_set(err, VALV_ERUN_AGAIN, "run again");
    }
    if (rc == VALV_OK) {
        snprintf(j->id, sizeof j->id, "%s", out->name + strlen("assets/"));
        valv__v1__asset__free_unpacked(out, NULL);
    }
    return rc;
}

static void create_done(writer_job *job, int rc, const valv_error *err)
{
    (void)err;
    create_job *j = (create_job *)job;
    j->rc = rc;
    if (rc == VALV_OK) {
        Valv__V1__Asset *a = NULL;
        valv_error e;
        valv_error_clear(&e);
        j->visible_in_done = store_get_asset(j->store, j->id, &a, &e) == VALV_OK;
        if (a != NULL)
            valv__v1__asset__free_unpacked(a, NULL);
    }
    pthread_mutex_lock(&done_lock);
    j->done = true;
    pthread_cond_broadcast(&done_cond);
    pthread_mutex_unlock(&done_lock);
}

static void job_init(create_job *j, store *s, int i, const char *unit)
{
    memset(j, 0, sizeof *j);
    j->job.apply = create_apply;
    j->job.done = create_done;
    j->store = s;
    j->owner_unit = unit;
    snprintf(j->display_name, sizeof j->display_name, "System %d", i);
}

static void wait_all(create_job *jobs, int n)
{
    pthread_mutex_lock(&done_lock);
    for (int i = 0; i < n; i++)
        while (!jobs[i].done)
            pthread_cond_wait(&done_cond, &done_lock);
    pthread_mutex_unlock(&done_lock);
}

static store *open_temp_store(char *dir, size_t initial, size_t max)
{
    strcpy(dir, "/tmp/valv-test-writer-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    store_options opts = {.map_size_initial = initial, .map_size_max = max};
    store *s = NULL;
    valv_error err;
    valv_error_clear(&err);
    ck_assert_msg(store_open(dir, &opts, &s, &err) == VALV_OK, "store_open: %s", err.message);
    return s;
}

static void remove_dir(const char *dir)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Submits j alone and waits for it. */
static void run_alone(writer *w, create_job *j)
{
    writer_submit(w, &j->job);
    wait_all(j, 1);
}

/* Submits jobs[0..n) while an opener job (one more asset) holds the
 * writer, so that they make one group, and waits for them all. */
static void run_as_one_group(writer *w, store *s, create_job *jobs, int n)
{
    pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
    create_job opener;
    job_init(&opener, s, 99, "kultur");
    opener.gate = &gate;
    pthread_mutex_lock(&gate);
    writer_submit(w, &opener.job);
    usleep(50 * 1000);
    for (int i = 0; i < n; i++)
        writer_submit(w, &jobs[i].job);
    pthread_mutex_unlock(&gate);
    wait_all(&opener, 1);
    wait_all(jobs, n);
    ck_assert_int_eq(opener.rc, VALV_OK);
    pthread_mutex_destroy(&gate);
}

/* A writer started on s; the test fails without one. */
static writer *writer_started(store *s)
{
    writer *w = NULL;
    valv_error err;
    valv_error_clear(&err);
    ck_assert_msg(writer_start(s, 0, &w, &err) == VALV_OK, "writer_start: %s", err.message);
    return w;
}

/* The assets in s. */
static size_t assets_in(store *s)
{
    store_list_request req = {.page_size = 100};
    store_list_result res = {0};
    valv_error err;
    ck_assert_int_eq(store_list_assets(s, &req, &res, &err), VALV_OK);
    size_t n = res.n_assets;
    store_list_result_free(&res);
    return n;
}

/* Jobs that queue while a commit runs share the next commit. */
START_TEST(test_jobs_waiting_share_one_commit)
{
    char dir[64];
    store *s = open_temp_store(dir, 0, 0);
    writer *w = writer_started(s);

    enum { N = 50 };
    static create_job jobs[N];
    pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&gate);
    for (int i = 0; i < N; i++)
        job_init(&jobs[i], s, i, "it-avdelningen");
    jobs[0].gate = &gate; /* holds the first group open while the rest queue */
    writer_submit(w, &jobs[0].job);
    usleep(50 * 1000);
    for (int i = 1; i < N; i++)
        writer_submit(w, &jobs[i].job);
    pthread_mutex_unlock(&gate);
    wait_all(jobs, N);

    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(jobs[i].rc, VALV_OK);
        ck_assert_msg(jobs[i].visible_in_done, "job %d answered before its write was visible", i);
    }
    writer_stats st;
    writer_get_stats(w, &st);
    ck_assert_int_eq(st.jobs, N);
    ck_assert_int_eq(st.commits, 2);
    ck_assert_int_eq(st.max_group, N - 1);
    ck_assert_int_eq(store_revision(s), N);

    writer_stop(w);
    store_close(s);
    pthread_mutex_destroy(&gate);
    remove_dir(dir);
}
END_TEST

/* A job that answers VALV_ERUN_AGAIN is rolled back and run again: alone,
 * as it was; in a group, the group runs again with a transaction per job.
 * Only the last run's writes stay. */
START_TEST(test_job_runs_again_in_a_new_transaction)
{
    char dir[64];
    store *s = open_temp_store(dir, 0, 0);
    writer *w = writer_started(s);

    static create_job alone;
    job_init(&alone, s, 0, "kultur");
    alone.run_again = 2;
    run_alone(w, &alone);
    ck_assert_int_eq(alone.rc, VALV_OK);
    ck_assert_int_eq(alone.runs, 3);
    ck_assert_int_eq(store_revision(s), 1);

    static create_job jobs[3];
    for (int i = 0; i < 3; i++)
        job_init(&jobs[i], s, i + 1, "kultur");
    jobs[1].run_again = 1;
    run_as_one_group(w, s, jobs, 3);
    ck_assert_int_eq(jobs[1].rc, VALV_OK);
    ck_assert_int_eq(jobs[0].runs, 2);
    ck_assert_int_eq(jobs[1].runs, 2);
    ck_assert_int_eq(jobs[2].runs, 1); /* reached only in the second run */
    ck_assert_int_eq(store_revision(s), 5);
    ck_assert_int_eq(assets_in(s), 5);

    writer_stop(w);
    store_close(s);
    remove_dir(dir);
}
END_TEST

/* A job that fails leaves nothing, whether it fails before it writes (a
 * bad unit: _i 0) or after (_i 1). Alone, it ran in the top-level
 * transaction, which is dropped. In a group, the rest of the group
 * commits: jobs run straight in the group's transaction, and after a job
 * that wrote part of itself the group runs again, a transaction per job. */
START_TEST(test_failing_job_leaves_nothing)
{
    bool after_write = _i == 1;
    const char *unit = after_write ? "kultur" : "Not A Unit";
    int code = after_write ? VALV_EPRECONDITION : VALV_EINVAL;
    char dir[64];
    store *s = open_temp_store(dir, 0, 0);
    writer *w = writer_started(s);

    static create_job alone;
    job_init(&alone, s, 0, unit);
    alone.fail_after_write = after_write;
    run_alone(w, &alone);
    ck_assert_int_eq(alone.rc, code);
    ck_assert_int_eq(alone.runs, 1);
    ck_assert_int_eq(store_revision(s), 0);

    static create_job jobs[3];
    for (int i = 0; i < 3; i++)
        job_init(&jobs[i], s, i + 1, i == 1 ? unit : "kultur");
    jobs[1].fail_after_write = after_write;
    run_as_one_group(w, s, jobs, 3);
    ck_assert_int_eq(jobs[0].rc, VALV_OK);
    ck_assert_int_eq(jobs[1].rc, code);
    ck_assert_int_eq(jobs[2].rc, VALV_OK);
    ck_assert_int_eq(jobs[1].runs, after_write ? 2 : 1);
    ck_assert_int_eq(store_revision(s), 3); /* opener, jobs 0 and 2 */
    ck_assert_int_eq(assets_in(s), 3);

    writer_stop(w);
    store_close(s);
    remove_dir(dir);
}
END_TEST

/* A small map grows under the writer; no job sees the full map. */
START_TEST(test_full_map_grows_and_group_reruns)
{
    char dir[64];
    store *s = open_temp_store(dir, 1UL << 20, 64UL << 20);
    writer *w = writer_started(s);

    enum { N = 4000 };
    create_job *jobs = calloc(N, sizeof *jobs);
    for (int i = 0; i < N; i++) {
        job_init(&jobs[i], s, i, "stadsbyggnad");
        writer_submit(w, &jobs[i].job);
    }
    wait_all(jobs, N);
    for (int i = 0; i < N; i++)
        ck_assert_msg(jobs[i].rc == VALV_OK, "job %d: rc %d", i, jobs[i].rc);
    size_t map_size, used;
    store_map_usage(s, &map_size, &used);
    ck_assert_msg(map_size > (1UL << 20), "the map did not grow (%zu bytes)", map_size);
    ck_assert_int_eq(store_revision(s), N);

    writer_stop(w);
    free(jobs);
    store_close(s);
    remove_dir(dir);
}
END_TEST

/* At the maximum size, writes fail with RESOURCE_EXHAUSTED and the store
 * stays readable with everything that was acknowledged. */
START_TEST(test_map_at_maximum_refuses_writes_cleanly)
{
    char dir[64];
    store *s = open_temp_store(dir, 1UL << 20, 1UL << 20);
    writer *w = writer_started(s);

    enum { N = 4000 };
    create_job *jobs = calloc(N, sizeof *jobs);
    for (int i = 0; i < N; i++) {
        job_init(&jobs[i], s, i, "stadsbyggnad");
        writer_submit(w, &jobs[i].job);
    }
    wait_all(jobs, N);
    int ok = 0, full = 0;
    for (int i = 0; i < N; i++) {
        if (jobs[i].rc == VALV_OK)
            ok++;
        else if (jobs[i].rc == VALV_EFULL)
            full++;
    }
    ck_assert_int_gt(ok, 0);
    ck_assert_int_gt(full, 0);
    ck_assert_int_eq(ok + full, N);
    ck_assert_int_eq(store_revision(s), ok);
    for (int i = 0; i < N; i++) {
        if (jobs[i].rc != VALV_OK)
            continue;
        Valv__V1__Asset *a = NULL;
        valv_error err;
        ck_assert_int_eq(store_get_asset(s, jobs[i].id, &a, &err), VALV_OK);
        valv__v1__asset__free_unpacked(a, NULL);
    }
    writer_stop(w);
    free(jobs);
    store_close(s);
    remove_dir(dir);
}
END_TEST

static Suite *writer_suite(void)
{
    Suite *s = suite_create("writer");
    TCase *tc = tcase_create("group_commit");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_jobs_waiting_share_one_commit);
    tcase_add_loop_test(tc, test_failing_job_leaves_nothing, 0, 2);
    tcase_add_test(tc, test_job_runs_again_in_a_new_transaction);
    tcase_add_test(tc, test_full_map_grows_and_group_reruns);
    tcase_add_test(tc, test_map_at_maximum_refuses_writes_cleanly);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(writer_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
