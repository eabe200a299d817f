/* test_log.c - log lines as a log collector reads them: JSON that parses,
 * with the keys in order and every string escaped, and text that splits. */
#include <check.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static int pipe_fds[2];
static char got[2 * LOG_LINE_MAX];

static void setup(void)
{
    ck_assert_int_eq(pipe2(pipe_fds, O_NONBLOCK), 0);
}

static void teardown(void)
{
    close(pipe_fds[0]);
    close(pipe_fds[1]);
}

/* What the last log call wrote: one read, as it was one write. "" if none. */
static const char *written(void)
{
    ssize_t n = read(pipe_fds[0], got, sizeof got - 1);
    got[n > 0 ? n : 0] = '\0';
    return got;
}

/* Parses the line written as one JSON object; the caller decrefs it. */
static json_t *written_json(void)
{
    const char *line = written();
    size_t len = strlen(line);
    ck_assert_msg(len > 0 && line[len - 1] == '\n', "not one line: '%s'", line);
    ck_assert_msg(strchr(line, '\n') == line + len - 1, "more than one line: '%s'", line);
    json_error_t error;
    json_t *obj = json_loads(line, 0, &error);
    ck_assert_msg(json_is_object(obj), "not JSON (%s): %s", error.text, line);
    return obj;
}

static const char *str_of(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    ck_assert_msg(json_is_string(v), "no string %s", key);
    return json_string_value(v);
}

/* ---- json --------------------------------------------------------------------- */

START_TEST(json_has_time_level_event_then_the_fields_in_order)
{
    log_configure(LOG_JSON, LOG_INFO, pipe_fds[1]);
    log_event(LOG_INFO, "request", LOG_STR("method", "/valv.v1.Inventory/GetAsset"),
              LOG_STR("status", "OK"), LOG_INT("duration_us", 1234), LOG_END);
    json_t *obj = written_json();
    const char *line = got;
    const char *keys[] = {"\"time\":", "\"level\":", "\"event\":", "\"method\":", "\"status\":",
                          "\"duration_us\":"};
    for (size_t i = 1; i < sizeof keys / sizeof keys[0]; i++)
        ck_assert_msg(strstr(line, keys[i - 1]) < strstr(line, keys[i]), "%s after %s: %s",
                      keys[i - 1], keys[i], line);
    ck_assert_str_eq(str_of(obj, "level"), "info");
    ck_assert_str_eq(str_of(obj, "event"), "request");
    ck_assert_str_eq(str_of(obj, "method"), "/valv.v1.Inventory/GetAsset");
    ck_assert_int_eq(json_integer_value(json_object_get(obj, "duration_us")), 1234);
    /* RFC 3339, UTC, milliseconds: 2026-03-01T12:00:00.123Z */
    const char *time = str_of(obj, "time");
    int y, mo, d, h, mi, s, ms;
    char z;
    ck_assert_int_eq(strlen(time), 24);
    ck_assert_int_eq(sscanf(time, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo, &d, &h, &mi, &s, &ms, &z), 8);
    ck_assert_int_eq(z, 'Z');
    json_decref(obj);
}
END_TEST

START_TEST(json_escapes_quotes_backslashes_and_control_characters)
{
    log_configure(LOG_JSON, LOG_INFO, pipe_fds[1]);
    const char *nasty = "say \"hi\"\\ then\nnew line\ttab\x01\x1f\x7f end";
    log_event(LOG_ERROR, "e", LOG_STR("v", nasty), LOG_END);
    json_t *obj = written_json();
    ck_assert_str_eq(str_of(obj, "v"), nasty);
    ck_assert_str_eq(str_of(obj, "level"), "error");
    json_decref(obj);
}
END_TEST

START_TEST(json_keeps_utf8_and_replaces_bytes_that_are_not)
{
    log_configure(LOG_JSON, LOG_INFO, pipe_fds[1]);
    /* a stray continuation byte, 0xff, a cut 3-byte sequence, an overlong '/' */
    log_event(LOG_INFO, "e", LOG_STR("v", "Åsa \x80 \xff \xe2\x82 \xc0\xaf 😀"), LOG_END);
    json_t *obj = written_json();
    ck_assert_str_eq(str_of(obj, "v"), "Åsa \xef\xbf\xbd \xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd "
                                       "\xef\xbf\xbd\xef\xbf\xbd 😀");
    json_decref(obj);
}
END_TEST

START_TEST(a_null_string_is_json_null_and_a_dash_in_text)
{
    log_configure(LOG_JSON, LOG_INFO, pipe_fds[1]);
    log_event(LOG_INFO, "e", LOG_STR("principal", NULL), LOG_END);
    json_t *obj = written_json();
    ck_assert(json_is_null(json_object_get(obj, "principal")));
    json_decref(obj);
    log_configure(LOG_TEXT, LOG_INFO, pipe_fds[1]);
    log_event(LOG_INFO, "e", LOG_STR("principal", NULL), LOG_END);
    ck_assert_ptr_nonnull(strstr(written(), " principal=-\n"));
}
END_TEST

START_TEST(a_line_too_long_is_cut_and_still_parses)
{
    log_configure(LOG_JSON, LOG_INFO, pipe_fds[1]);
    size_t big = 3 * LOG_LINE_MAX;
    char *value = malloc(big + 1);
    ck_assert_ptr_nonnull(value);
    for (size_t i = 0; i < big; i++)
        value[i] = "a\"\n"[i % 3]; /* escapes grow it further */
    value[big] = '\0';
    log_event(LOG_INFO, "e", LOG_STR("first", "kept"), LOG_STR("v", value), LOG_STR("after", "x"),
              LOG_END);
    free(value);
    json_t *obj = written_json();
    ck_assert_int_le(strlen(got), LOG_LINE_MAX);
    ck_assert_str_eq(str_of(obj, "first"), "kept");
    ck_assert_int_gt(strlen(str_of(obj, "v")), LOG_LINE_MAX / 4);
    ck_assert_ptr_null(json_object_get(obj, "after"));
    ck_assert(json_is_true(json_object_get(obj, "truncated")));
    json_decref(obj);
}
END_TEST

/* ---- text ------------------------------------------------------------------------ */

START_TEST(text_is_time_level_event_and_key_value_pairs)
{
    log_configure(LOG_TEXT, LOG_INFO, pipe_fds[1]);
    log_event(LOG_INFO, "started", LOG_STR("listen", "127.0.0.1:50051"), LOG_INT("revision", -7),
              LOG_END);
    const char *line = written();
    ck_assert_int_eq(line[23], 'Z');
    ck_assert_str_eq(line + 24, " INFO event=started listen=127.0.0.1:50051 revision=-7\n");
}
END_TEST

START_TEST(text_quotes_values_that_could_be_misread)
{
    log_configure(LOG_TEXT, LOG_INFO, pipe_fds[1]);
    log_event(LOG_ERROR, "reload_failed", LOG_STR("error", "bad \"x\" at line 2\n"),
              LOG_STR("empty", ""), LOG_STR("eq", "a=b"), LOG_STR("name", "Åsa"), LOG_END);
    ck_assert_str_eq(written() + 24, " ERROR event=reload_failed error=\"bad \\\"x\\\" at line 2\\u000a\" "
                                     "empty=\"\" eq=\"a=b\" name=\"Åsa\"\n");
}
END_TEST

/* ---- levels ---------------------------------------------------------------------- */

START_TEST(events_below_the_level_are_not_written)
{
    log_configure(LOG_TEXT, LOG_ERROR, pipe_fds[1]);
    log_event(LOG_INFO, "quiet", LOG_END);
    ck_assert_str_eq(written(), "");
    log_event(LOG_ERROR, "loud", LOG_END);
    ck_assert_ptr_nonnull(strstr(written(), " ERROR event=loud\n"));
    log_configure(LOG_TEXT, LOG_INFO, pipe_fds[1]);
    log_event(LOG_DEBUG, "detail", LOG_END);
    ck_assert_str_eq(written(), "");
    log_configure(LOG_TEXT, LOG_DEBUG, pipe_fds[1]);
    log_event(LOG_DEBUG, "detail", LOG_END);
    ck_assert_ptr_nonnull(strstr(written(), " DEBUG event=detail\n"));
}
END_TEST

START_TEST(flag_values_parse)
{
    log_format f;
    log_level l;
    ck_assert(log_format_parse("json", &f) && f == LOG_JSON);
    ck_assert(log_format_parse("text", &f) && f == LOG_TEXT);
    ck_assert(!log_format_parse("JSON", &f));
    ck_assert(log_level_parse("debug", &l) && l == LOG_DEBUG);
    ck_assert(log_level_parse("info", &l) && l == LOG_INFO);
    ck_assert(log_level_parse("error", &l) && l == LOG_ERROR);
    ck_assert(!log_level_parse("warn", &l));
}
END_TEST

static Suite *log_suite(void)
{
    Suite *s = suite_create("log");
    TCase *json = tcase_create("json");
    tcase_add_checked_fixture(json, setup, teardown);
    tcase_add_test(json, json_has_time_level_event_then_the_fields_in_order);
    tcase_add_test(json, json_escapes_quotes_backslashes_and_control_characters);
    tcase_add_test(json, json_keeps_utf8_and_replaces_bytes_that_are_not);
    tcase_add_test(json, a_null_string_is_json_null_and_a_dash_in_text);
    tcase_add_test(json, a_line_too_long_is_cut_and_still_parses);
    suite_add_tcase(s, json);

    TCase *text = tcase_create("text");
    tcase_add_checked_fixture(text, setup, teardown);
    tcase_add_test(text, text_is_time_level_event_and_key_value_pairs);
    tcase_add_test(text, text_quotes_values_that_could_be_misread);
    suite_add_tcase(s, text);

    TCase *levels = tcase_create("levels");
    tcase_add_checked_fixture(levels, setup, teardown);
    tcase_add_test(levels, events_below_the_level_are_not_written);
    tcase_add_test(levels, flag_values_parse);
    suite_add_tcase(s, levels);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(log_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
