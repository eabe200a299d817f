/* test_backup.c - store_backup: the copy opens as a store, holds the
 * revision it reports even while writers go on, and only goes to an empty
 * regular file. */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_fixture.h"

#define INFORMATION VALV__V1__ASSET_KIND__INFORMATION

/* Creates dir/data.mdb (a store's data directory holding only the file)
 * and returns it open for reading and writing. */
static int backup_file(char *dir, size_t cap)
{
    char path[128];
    snprintf(dir, cap, "%s-copy", fixture_dir);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    return fd;
}

static void backup_dir_remove(const char *dir)
{
    nftw(dir, fixture_remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static store *open_copy(const char *dir)
{
    store_options opts = {.read_only = true};
    store *copy = NULL;
    valv_error err;
    ck_assert_msg(store_open(dir, &opts, &copy, &err) == VALV_OK, "open copy: %s", err.message);
    return copy;
}

START_TEST(test_copy_opens_and_verifies)
{
    char dir[128];
    int64_t revision = 0;
    valv_error err;
    create_ok("journal", INFORMATION, "social");
    create_ok("old", INFORMATION, "social");
    ck_assert_int_eq(delete_asset("old", false, &err), VALV_OK);

    int fd = backup_file(dir, sizeof dir);
    ck_assert_msg(store_backup(s, fd, &revision, &err) == VALV_OK, "backup: %s", err.message);
    close(fd);
    ck_assert_int_eq(revision, store_revision(s));

    store *copy = open_copy(dir);
    ck_assert_int_eq(store_revision(copy), revision);
    Valv__V1__Asset *a = NULL;
    ck_assert_int_eq(store_get_asset(copy, "journal", &a, &err), VALV_OK);
    ck_assert_str_eq(a->owner_unit, "social");
    asset_free(a);
    store_stats st;
    ck_assert_int_eq(store_get_stats(copy, &st, &err), VALV_OK);
    ck_assert_int_eq(st.live_assets, 1);
    ck_assert_int_eq(st.deleted_assets, 1);
    store_verify_result v;
    ck_assert_int_eq(store_verify_audit(copy, &v, &err), VALV_OK);
    ck_assert_msg(v.ok, "audit: %s", v.problem);
    ck_assert_int_eq(store_verify_indexes(copy, &v, &err), VALV_OK);
    ck_assert_msg(v.ok, "indexes: %s", v.problem);
    store_close(copy);
    backup_dir_remove(dir);
}
END_TEST

/* Creates assets w0, w1, ... one commit each until told to stop. */
typedef struct {
    atomic_bool stop;
    int created;
} writer_thread;

static void *write_until_stopped(void *arg)
{
    writer_thread *w = arg;
    while (!atomic_load(&w->stop)) {
        char id[32];
        snprintf(id, sizeof id, "w%d", w->created);
        create_ok(id, INFORMATION, "social");
        w->created++;
    }
    return NULL;
}

/* Backs up into a new directory and checks that the copy holds the
 * revision reported: every create is one revision, so the copy holds
 * exactly that many assets. */
static int64_t backup_and_check(void)
{
    char dir[128];
    int64_t revision = 0;
    valv_error err;
    store_stats st;

    int fd = backup_file(dir, sizeof dir);
    ck_assert_msg(store_backup(s, fd, &revision, &err) == VALV_OK, "backup: %s", err.message);
    close(fd);
    store *copy = open_copy(dir);
    ck_assert_int_eq(store_revision(copy), revision);
    ck_assert_int_eq(store_get_stats(copy, &st, &err), VALV_OK);
    ck_assert_int_eq(st.live_assets, revision);
    store_close(copy);
    backup_dir_remove(dir);
    return revision;
}

START_TEST(test_revision_is_the_copys_under_writes)
{
    writer_thread w = {.created = 0};
    pthread_t thread;

    atomic_init(&w.stop, false);
    for (int i = 0; i < 200; i++) { /* something to copy while the writer goes on */
        char id[32];
        snprintf(id, sizeof id, "base%d", i);
        create_ok(id, INFORMATION, "school");
    }
    pthread_create(&thread, NULL, write_until_stopped, &w);
    /* Several rounds: a copy is quick, and each is a chance for a commit
     * to land while it runs. */
    int64_t last = 0;
    for (int round = 0; round < 5; round++) {
        while (store_revision(s) <= last)
            usleep(1000);
        last = backup_and_check();
    }
    atomic_store(&w.stop, true);
    pthread_join(thread, NULL);
    ck_assert_int_gt(last, 200);
}
END_TEST

START_TEST(test_refuses_pipe_and_used_file)
{
    char dir[128];
    int64_t revision = 0;
    int pipe_fds[2];
    valv_error err;

    ck_assert_int_eq(pipe(pipe_fds), 0);
    ck_assert_int_eq(store_backup(s, pipe_fds[1], &revision, &err), VALV_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "empty regular file"));
    close(pipe_fds[0]);
    close(pipe_fds[1]);

    int fd = backup_file(dir, sizeof dir);
    ck_assert_int_eq(write(fd, "x", 1), 1);
    ck_assert_int_eq(store_backup(s, fd, &revision, &err), VALV_EINVAL);
    close(fd);
    backup_dir_remove(dir);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("backup");
    TCase *tc = fixture_tcase(suite, "backup");
    tcase_add_test(tc, test_copy_opens_and_verifies);
    tcase_add_test(tc, test_revision_is_the_copys_under_writes);
    tcase_add_test(tc, test_refuses_pipe_and_used_file);
    return fixture_run(suite);
}
