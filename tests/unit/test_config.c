/* test_config.c - valvd's configuration file: lines into arguments, and the
 * errors a person gets for a file they got wrong. */
#include <check.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

/* A getopt table shaped like valvd's. */
static const struct option options[] = {
    {"config", required_argument, NULL, 'C'},
    {"listen", required_argument, NULL, 'l'},
    {"data-dir", required_argument, NULL, 'd'},
    {"dev", no_argument, NULL, 'D'},
    {"log-format", required_argument, NULL, 'F'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};
static const char *const command_line_only[] = {"config", "help", NULL};

static char path[64];
static config_file file;
static valv_error err;

static void setup(void)
{
    snprintf(path, sizeof path, "/tmp/valv-config-test-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    memset(&file, 0, sizeof file);
    valv_error_clear(&err);
}

static void teardown(void)
{
    config_free(&file);
    unlink(path);
}

/* Writes text as the file and reads it. */
static int read_text(const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return config_read(path, options, command_line_only, &file, &err);
}

/* The message with the path replaced by "FILE", for comparing. */
static const char *message(void)
{
    static char buf[VALV_ERROR_MESSAGE_MAX];
    size_t n = strlen(path);
    if (strncmp(err.message, path, n) == 0)
        snprintf(buf, sizeof buf, "FILE%s", err.message + n);
    else
        snprintf(buf, sizeof buf, "%s", err.message);
    return buf;
}

/* ---- lines into arguments ------------------------------------------------- */

START_TEST(lines_become_options_with_their_line_numbers)
{
    ck_assert_int_eq(read_text("# valvd.conf\n"
                               "\n"
                               "listen = 127.0.0.1:8443\n"
                               "   # an indented comment\n"
                               "data-dir=/var/lib/valv data\t\r\n"
                               "dev = true\n"
                               "log-format =   json   \n"),
                     VALV_OK);
    ck_assert_int_eq(file.argc, 5);
    ck_assert_str_eq(file.argv[0], "valvd");
    ck_assert_str_eq(file.argv[1], "--listen=127.0.0.1:8443");
    ck_assert_int_eq(file.lines[1], 3);
    ck_assert_str_eq(file.argv[2], "--data-dir=/var/lib/valv data");
    ck_assert_int_eq(file.lines[2], 5);
    ck_assert_str_eq(file.argv[3], "--dev");
    ck_assert_int_eq(file.lines[3], 6);
    ck_assert_str_eq(file.argv[4], "--log-format=json");
    ck_assert_int_eq(file.lines[4], 7);
    ck_assert_ptr_null(file.argv[5]);
    ck_assert_str_eq(file.path, path);
}
END_TEST

START_TEST(a_false_switch_adds_nothing)
{
    ck_assert_int_eq(read_text("dev = false\nlisten = 127.0.0.1:1\n"), VALV_OK);
    ck_assert_int_eq(file.argc, 2);
    ck_assert_str_eq(file.argv[1], "--listen=127.0.0.1:1");
}
END_TEST

START_TEST(a_hash_inside_a_value_is_kept)
{
    ck_assert_int_eq(read_text("data-dir = /srv/valv#1\n"), VALV_OK);
    ck_assert_str_eq(file.argv[1], "--data-dir=/srv/valv#1");
}
END_TEST

START_TEST(an_empty_file_and_a_byte_order_mark_are_fine)
{
    ck_assert_int_eq(read_text(""), VALV_OK);
    ck_assert_int_eq(file.argc, 1);
    config_free(&file);
    ck_assert_int_eq(read_text("\xef\xbb\xbflisten = 127.0.0.1:2\n"), VALV_OK);
    ck_assert_str_eq(file.argv[1], "--listen=127.0.0.1:2");
}
END_TEST

/* ---- errors ------------------------------------------------------------------ */

START_TEST(an_unknown_key_is_named_with_its_line_and_the_known_keys)
{
    ck_assert_int_eq(read_text("listen = 127.0.0.1:1\n# comment\nlistne = 127.0.0.1:2\n"), VALV_EINVAL);
    ck_assert_str_eq(message(), "FILE:3: unknown key 'listne'; known keys: listen, data-dir, dev, log-format");
    ck_assert_int_eq(file.argc, 0); /* nothing half-read is left */
    ck_assert_ptr_null(file.argv);
}
END_TEST

START_TEST(a_key_given_twice_names_both_lines)
{
    ck_assert_int_eq(read_text("listen = 127.0.0.1:1\ndev = true\nlisten = 127.0.0.1:2\n"), VALV_EINVAL);
    ck_assert_str_eq(message(), "FILE:3: 'listen' is set twice (first on line 1); keep one");
}
END_TEST

START_TEST(a_false_switch_still_counts_as_given)
{
    ck_assert_int_eq(read_text("dev = false\ndev = true\n"), VALV_EINVAL);
    ck_assert_str_eq(message(), "FILE:2: 'dev' is set twice (first on line 1); keep one");
}
END_TEST

START_TEST(a_line_without_equals_is_refused)
{
    ck_assert_int_eq(read_text("\nlisten 127.0.0.1:1\n"), VALV_EINVAL);
    ck_assert_str_eq(message(), "FILE:2: expected 'key = value', not 'listen 127.0.0.1:1'");
}
END_TEST

START_TEST(a_switch_takes_true_or_false)
{
    ck_assert_int_eq(read_text("dev = yes\n"), VALV_EINVAL);
    ck_assert_str_eq(message(),
                     "FILE:1: 'dev' is a switch: write 'dev = true' or 'dev = false', not 'yes'");
}
END_TEST

START_TEST(an_empty_value_is_refused)
{
    ck_assert_int_eq(read_text("data-dir =  \n"), VALV_EINVAL);
    ck_assert_str_eq(message(), "FILE:1: 'data-dir' needs a value: 'data-dir = VALUE'");
}
END_TEST

START_TEST(command_line_only_keys_are_refused)
{
    ck_assert_int_eq(read_text("config = /etc/other.conf\n"), VALV_EINVAL);
    ck_assert_str_eq(message(),
                     "FILE:1: 'config' works on the command line only, not in a configuration file");
    config_free(&file);
    ck_assert_int_eq(read_text("help = true\n"), VALV_EINVAL);
    ck_assert_str_eq(message(), "FILE:1: 'help' works on the command line only, not in a configuration file");
}
END_TEST

START_TEST(a_control_character_in_a_bad_line_is_not_echoed)
{
    ck_assert_int_eq(read_text("listen\x1b[2J\n"), VALV_EINVAL);
    ck_assert_ptr_null(strchr(err.message, '\x1b'));
}
END_TEST

START_TEST(a_missing_file_says_so)
{
    ck_assert_int_eq(config_read("/nonexistent/valvd.conf", options, command_line_only, &file, &err),
                     VALV_EUNAVAILABLE);
    ck_assert_str_eq(err.message, "cannot read /nonexistent/valvd.conf: No such file or directory");
    ck_assert_int_eq(config_read("/tmp", options, command_line_only, &file, &err), VALV_EUNAVAILABLE);
    ck_assert_str_eq(err.message, "cannot read /tmp: Is a directory");
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *lines = tcase_create("lines");
    tcase_add_checked_fixture(lines, setup, teardown);
    tcase_add_test(lines, lines_become_options_with_their_line_numbers);
    tcase_add_test(lines, a_false_switch_adds_nothing);
    tcase_add_test(lines, a_hash_inside_a_value_is_kept);
    tcase_add_test(lines, an_empty_file_and_a_byte_order_mark_are_fine);
    suite_add_tcase(s, lines);

    TCase *errors = tcase_create("errors");
    tcase_add_checked_fixture(errors, setup, teardown);
    tcase_add_test(errors, an_unknown_key_is_named_with_its_line_and_the_known_keys);
    tcase_add_test(errors, a_key_given_twice_names_both_lines);
    tcase_add_test(errors, a_false_switch_still_counts_as_given);
    tcase_add_test(errors, a_line_without_equals_is_refused);
    tcase_add_test(errors, a_switch_takes_true_or_false);
    tcase_add_test(errors, an_empty_value_is_refused);
    tcase_add_test(errors, command_line_only_keys_are_refused);
    tcase_add_test(errors, a_control_character_in_a_bad_line_is_not_echoed);
    tcase_add_test(errors, a_missing_file_says_so);
    suite_add_tcase(s, errors);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(config_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
