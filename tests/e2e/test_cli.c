/* test_cli.c - the valv command line against a real valvd, as a user runs it.
 *
 * Each test that needs a server starts its own valvd (on a fresh port and
 * data directory) inside the test, so tests do not share state.
 */
#include <check.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define ARGS_MAX 48
#define TEST_TIMEOUT_S 120

static harness_server srv;
static char *out; /* stdout of the last valv run */
static char *err; /* stderr of the last valv run */

static void start_server(void)
{
    memset(&srv, 0, sizeof srv);
    ck_assert_msg(harness_start(&srv, NULL) == 0, "valvd did not start");
}

static void stop_server(void)
{
    ck_assert_int_eq(harness_stop(&srv), 0);
    harness_cleanup(&srv);
}

static void free_output(void)
{
    free(out);
    free(err);
    out = err = NULL;
}

/* Runs valv with the arguments up to NULL against server (NULL: none, so
 * VALV_ADDR stays as inherited) and returns its exit code; out and err
 * hold what it printed. */
static int run_valv(const harness_server *server, const char *arg, ...)
{
    const char *argv[ARGS_MAX];
    int n = 0;
    argv[n++] = harness_valv();
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a != NULL && n < ARGS_MAX - 1; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;

    free_output();
    int code = harness_run(server, argv, NULL, &out, &err);
    ck_assert_msg(code >= 0, "could not run %s", argv[0]);
    return code;
}

#define valv(...) run_valv(&srv, __VA_ARGS__, NULL)

static int count_lines(const char *text)
{
    int n = 0;
    for (const char *p = text; *p != '\0'; p++)
        n += *p == '\n';
    return n;
}

/* The string field key of the JSON object on the first line of out,
 * malloc'd. */
static char *json_field(const char *text, const char *key)
{
    json_error_t error;
    json_t *obj = json_loadb(text, strcspn(text, "\n"), 0, &error);
    ck_assert_msg(obj != NULL, "not JSON (%s): %s", error.text, text);
    const char *value = json_string_value(json_object_get(obj, key));
    ck_assert_msg(value != NULL, "no string '%s' in %s", key, text);
    char *copy = strdup(value);
    json_decref(obj);
    return copy;
}

/* Creates an IT system with the given id; fails the test otherwise. */
static void create_system(const char *id, const char *display_name)
{
    ck_assert_int_eq(valv("asset", "create", "--kind", "it-system", "--display-name",
                          display_name, "--owner-unit", "kommunstyrelsen", "--id", id),
                     0);
}

/* ---- health and create ---------------------------------------------------------- */

START_TEST(health_reports_serving)
{
    start_server();
    ck_assert_int_eq(valv("health"), 0);
    ck_assert_str_eq(out, "SERVING\n");
    ck_assert_int_eq(valv("health", "-o", "json"), 0);
    ck_assert_str_eq(out, "{\"status\":\"SERVING\"}\n");
    stop_server();
}
END_TEST

START_TEST(create_accepts_each_kind_in_any_spelling)
{
    static const char *const spellings[][2] = {
        {"information", "INFORMATION"}, {"It-System", "IT_SYSTEM"}, {"it_system", "IT_SYSTEM"},
        {"FACILITY", "FACILITY"},
    };
    start_server();
    for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++) {
        ck_assert_int_eq(valv("asset", "create", "--kind", spellings[i][0], "--display-name",
                              "Stadshuset", "--owner-unit", "kommunstyrelsen", "--owner",
                              "Anna Berg", "--attr", "floor=3", "--label", "kritisk"),
                         0);
        char expected[64];
        snprintf(expected, sizeof expected, "\nkind:                    %s\n", spellings[i][1]);
        ck_assert_msg(strstr(out, expected) != NULL, "no '%s' in:\n%s", expected, out);
        ck_assert_ptr_nonnull(strstr(out, "name:                    assets/"));
        ck_assert_ptr_nonnull(strstr(out, "\ndisplay_name:            Stadshuset\n"));
        ck_assert_ptr_nonnull(strstr(out, "\nowner:                   Anna Berg\n"));
        ck_assert_ptr_nonnull(strstr(out, "\nattributes.floor:        3\n"));
        ck_assert_ptr_nonnull(strstr(out, "\nlabels:                  kritisk\n"));
        ck_assert_ptr_nonnull(strstr(out, "\ncreate_time:             20"));
    }
    stop_server();
}
END_TEST

START_TEST(get_by_name_and_by_id)
{
    start_server();
    create_system("ekonomisystem", "Ekonomisystem");
    create_system("lonesystem", "Lönesystem");

    ck_assert_int_eq(valv("asset", "get", "assets/ekonomisystem"), 0);
    char *by_name = strdup(out);
    ck_assert_int_eq(valv("asset", "get", "ekonomisystem"), 0);
    ck_assert_str_eq(out, by_name);
    ck_assert_ptr_nonnull(strstr(out, "Ekonomisystem"));
    free(by_name);

    /* Several names: one list, in the order asked. */
    ck_assert_int_eq(valv("asset", "get", "lonesystem", "assets/ekonomisystem", "-o", "json"), 0);
    ck_assert_int_eq(count_lines(out), 2);
    char *first = json_field(out, "name");
    ck_assert_str_eq(first, "assets/lonesystem");
    free(first);
    stop_server();
}
END_TEST

/* ---- list formats ------------------------------------------------------------------ */

START_TEST(list_prints_table_json_and_csv)
{
    start_server();
    ck_assert_int_eq(valv("asset", "create", "--kind", "information", "--display-name",
                          "Förskoleregister, barn", "--owner-unit", "barn-och-utbildning",
                          "--id", "forskoleregister", "--attr", "system=Procapita",
                          "--label", "pul", "--label", "gdpr"),
                     0);
    create_system("ekonomisystem", "Ekonomisystem");

    ck_assert_int_eq(valv("asset", "list", "--order-by", "display_name"), 0);
    ck_assert_int_eq(count_lines(out), 3);
    ck_assert_msg(strncmp(out, "NAME", 4) == 0, "no header: %s", out);
    ck_assert_ptr_nonnull(strstr(out, "KIND"));
    ck_assert_ptr_nonnull(strstr(out, "OWNER_UNIT"));
    ck_assert_ptr_nonnull(strstr(out, "REVISION"));
    ck_assert_ptr_null(strstr(out, "DELETED"));
    /* Aligned: the KIND column starts at the same place on every line. */
    const char *row1 = strchr(out, '\n') + 1;
    const char *row2 = strchr(row1, '\n') + 1;
    ck_assert_int_eq(strstr(out, "KIND") - out, strstr(row1, "IT_SYSTEM") - row1);
    ck_assert_int_eq(strstr(out, "KIND") - out, strstr(row2, "INFORMATION") - row2);

    ck_assert_int_eq(valv("asset", "list", "-o", "json", "--order-by", "display_name"), 0);
    ck_assert_int_eq(count_lines(out), 2);
    char *name = json_field(out, "name");
    ck_assert_str_eq(name, "assets/ekonomisystem");
    free(name);
    const char *second = strchr(out, '\n') + 1;
    ck_assert_ptr_nonnull(strstr(second, "\"kind\":\"INFORMATION\""));
    ck_assert_ptr_nonnull(strstr(second, "\"attributes\":{\"system\":\"Procapita\"}"));
    ck_assert_ptr_nonnull(strstr(second, "\"labels\":[\"pul\",\"gdpr\"]"));
    ck_assert_ptr_null(strstr(out, "\"owner\"")); /* empty fields are left out */

    ck_assert_int_eq(valv("asset", "list", "-o", "csv", "--order-by", "display_name"), 0);
    ck_assert_int_eq(count_lines(out), 3);
    static const char csv_header[] =
        "name,kind,display_name,description,owner_unit,owner,source,external_id,labels,"
        "revision,etag,create_time,update_time,delete_time,attributes.system\r\n";
    ck_assert_msg(strncmp(out, csv_header, strlen(csv_header)) == 0, "bad CSV header: %s", out);
    ck_assert_ptr_nonnull(strstr(out, "\"Förskoleregister, barn\""));
    ck_assert_ptr_nonnull(strstr(out, ",pul;gdpr,"));
    ck_assert_ptr_nonnull(strstr(out, ",Procapita\r\n"));
    stop_server();
}
END_TEST

/* ---- update, etags, delete, undelete ----------------------------------------------- */

START_TEST(update_changes_only_the_fields_given)
{
    start_server();
    ck_assert_int_eq(valv("asset", "create", "--kind", "it-system", "--display-name",
                          "Ekonomisystem", "--owner-unit", "kommunstyrelsen", "--id",
                          "ekonomisystem", "--attr", "vendor=Visma", "--attr", "legacy=yes",
                          "-o", "json"),
                     0);
    char *etag = json_field(out, "etag");

    ck_assert_int_eq(valv("asset", "update", "ekonomisystem", "--attr", "vendor=Unit4",
                          "--remove-attr", "legacy", "--labels", "kritisk,ekonomi", "--etag",
                          etag, "-o", "json"),
                     0);
    ck_assert_ptr_nonnull(strstr(out, "\"attributes\":{\"vendor\":\"Unit4\"}"));
    ck_assert_ptr_nonnull(strstr(out, "\"labels\":[\"kritisk\",\"ekonomi\"]"));
    ck_assert_ptr_nonnull(strstr(out, "\"display_name\":\"Ekonomisystem\""));
    char *new_etag = json_field(out, "etag");
    ck_assert_str_ne(new_etag, etag);

    /* The etag read before the update is stale now. */
    ck_assert_int_eq(valv("asset", "update", "ekonomisystem", "--owner", "Anna Berg", "--etag",
                          etag),
                     1);
    ck_assert_msg(strncmp(err, "valv: ABORTED: ", 15) == 0, "stderr: %s", err);
    ck_assert_str_eq(out, "");

    ck_assert_int_eq(valv("asset", "update", "ekonomisystem", "--labels", ""), 0);
    ck_assert_ptr_null(strstr(out, "labels:"));
    free(etag);
    free(new_etag);
    stop_server();
}
END_TEST

START_TEST(delete_hides_and_undelete_restores)
{
    start_server();
    create_system("ekonomisystem", "Ekonomisystem");
    create_system("lonesystem", "Lönesystem");

    ck_assert_int_eq(valv("asset", "delete", "ekonomisystem", "--reason", "replaced"), 0);
    ck_assert_ptr_nonnull(strstr(out, "\ndelete_time:             20"));

    ck_assert_int_eq(valv("asset", "list"), 0);
    ck_assert_int_eq(count_lines(out), 2);
    ck_assert_ptr_null(strstr(out, "assets/ekonomisystem"));

    ck_assert_int_eq(valv("asset", "list", "--show-deleted"), 0);
    ck_assert_int_eq(count_lines(out), 3);
    ck_assert_ptr_nonnull(strstr(out, "assets/ekonomisystem"));
    ck_assert_ptr_nonnull(strstr(out, "DELETED"));

    ck_assert_int_eq(valv("asset", "undelete", "ekonomisystem"), 0);
    ck_assert_ptr_null(strstr(out, "delete_time"));
    ck_assert_int_eq(valv("asset", "list"), 0);
    ck_assert_int_eq(count_lines(out), 3);
    ck_assert_ptr_nonnull(strstr(out, "assets/ekonomisystem"));
    stop_server();
}
END_TEST

/* ---- paging and filters ---------------------------------------------------------- */

/* The token of the "next page: ... --page-token TOKEN" hint in err. */
static char *next_page_token(void)
{
    const char *hint = strstr(err, "next page: valv asset list");
    ck_assert_msg(hint != NULL, "no next page hint in: %s", err);
    const char *token = strstr(hint, "--page-token ");
    ck_assert_ptr_nonnull(token);
    token += strlen("--page-token ");
    return strndup(token, strcspn(token, "\n"));
}

START_TEST(all_follows_pages_to_the_end)
{
    enum { N_ASSETS = 120 };
    start_server();
    for (int i = 0; i < N_ASSETS; i++) {
        char id[32], display_name[32];
        snprintf(id, sizeof id, "system-%03d", i);
        snprintf(display_name, sizeof display_name, "System %03d", i);
        create_system(id, display_name);
    }

    ck_assert_int_eq(valv("asset", "list", "--all", "--page-size", "50", "-o", "json"), 0);
    ck_assert_int_eq(count_lines(out), N_ASSETS);
    ck_assert_str_eq(err, "");
    for (int i = 0; i < N_ASSETS; i++) {
        char name[48];
        snprintf(name, sizeof name, "\"name\":\"assets/system-%03d\"", i);
        ck_assert_msg(strstr(out, name) != NULL, "%s missing", name);
    }

    /* Without --all: one page and the command for the next on stderr. */
    ck_assert_int_eq(valv("asset", "list", "--page-size", "50", "-o", "csv"), 0);
    ck_assert_int_eq(count_lines(out), 1 + 50);
    char *token = next_page_token();
    ck_assert_int_eq(valv("asset", "list", "--page-size", "50", "--page-token", token, "-o",
                          "csv"),
                     0);
    ck_assert_int_eq(count_lines(out), 1 + 50);
    free(token);
    token = next_page_token();
    ck_assert_int_eq(valv("asset", "list", "--page-size", "50", "--page-token", token, "-o",
                          "csv"),
                     0);
    ck_assert_int_eq(count_lines(out), 1 + 20);
    ck_assert_str_eq(err, "");
    free(token);
    stop_server();
}
END_TEST

START_TEST(filter_selects_and_syntax_errors_name_the_position)
{
    start_server();
    create_system("ekonomisystem", "Ekonomisystem");
    ck_assert_int_eq(valv("asset", "create", "--kind", "facility", "--display-name",
                          "Stadshuset", "--owner-unit", "fastighetsnamnden"),
                     0);

    ck_assert_int_eq(valv("asset", "list", "--filter", "kind = FACILITY", "-o", "json"), 0);
    ck_assert_int_eq(count_lines(out), 1);
    ck_assert_ptr_nonnull(strstr(out, "Stadshuset"));

    ck_assert_int_eq(valv("asset", "list", "--filter", "kind = = FACILITY"), 1);
    ck_assert_msg(strncmp(err, "valv: INVALID_ARGUMENT: ", 24) == 0, "stderr: %s", err);
    ck_assert_msg(strstr(err, "position 8") != NULL, "no position in: %s", err);
    stop_server();
}
END_TEST

/* ---- errors ------------------------------------------------------------------------- */

START_TEST(rpc_errors_exit_1_with_the_status)
{
    start_server();
    ck_assert_int_eq(valv("asset", "get", "nosuchasset"), 1);
    ck_assert_msg(strncmp(err, "valv: NOT_FOUND: ", 17) == 0, "stderr: %s", err);
    ck_assert_ptr_nonnull(strstr(err, "assets/nosuchasset"));

    ck_assert_int_eq(valv("asset", "create", "--kind", "facility", "--display-name", "Garage",
                          "--owner-unit", "Fastighet AB"),
                     1);
    ck_assert_msg(strncmp(err, "valv: INVALID_ARGUMENT: ", 24) == 0, "stderr: %s", err);
    ck_assert_msg(strstr(err, "\n  - asset.owner_unit: ") != NULL, "no violation: %s", err);
    stop_server();
}
END_TEST

START_TEST(unreachable_server_names_the_address)
{
    /* A port valvd just let go of: nothing listens there. */
    start_server();
    char addr[sizeof srv.addr];
    snprintf(addr, sizeof addr, "%s", srv.addr);
    stop_server();

    ck_assert_int_eq(run_valv(NULL, "--addr", addr, "health", NULL), 1);
    ck_assert_msg(strncmp(err, "valv: UNAVAILABLE: ", 19) == 0, "stderr: %s", err);
    ck_assert_msg(strstr(err, addr) != NULL, "address missing: %s", err);
    ck_assert_ptr_nonnull(strstr(err, "VALV_ADDR"));
}
END_TEST

/* Usage errors need no server: they never get that far. */
static void assert_usage_error(const char *reason, const char *command)
{
    char hint[64];
    snprintf(hint, sizeof hint, "run '%s --help'\n", command);
    ck_assert_msg(strstr(err, reason) != NULL, "no '%s' in: %s", reason, err);
    ck_assert_msg(strstr(err, hint) != NULL, "no '%s' in: %s", hint, err);
    ck_assert_int_eq(count_lines(err), 2);
    ck_assert_str_eq(out, "");
}

START_TEST(usage_errors_exit_2)
{
    ck_assert_int_eq(run_valv(NULL, "asset", "list", "--bogus", NULL), 2);
    assert_usage_error("unknown option '--bogus'", "valv asset list");

    ck_assert_int_eq(run_valv(NULL, "asset", "create", "--kind", "facility", "--display-name",
                              "Garage", NULL),
                     2);
    assert_usage_error("missing --owner-unit", "valv asset create");

    ck_assert_int_eq(run_valv(NULL, "asset", "create", "--kind", "server", "--display-name", "x",
                              "--owner-unit", "it", NULL),
                     2);
    assert_usage_error("--kind takes information, it-system or facility, not 'server'",
                       "valv asset create");

    ck_assert_int_eq(run_valv(NULL, "asset", "update", "ekonomisystem", NULL), 2);
    assert_usage_error("nothing to update", "valv asset update");

    ck_assert_int_eq(run_valv(NULL, "asset", "list", "--page-size", "0", NULL), 2);
    assert_usage_error("--page-size", "valv asset list");

    ck_assert_int_eq(run_valv(NULL, "-o", "xml", "health", NULL), 2);
    assert_usage_error("-o takes table, json or csv", "valv");

    ck_assert_int_eq(run_valv(NULL, "frobnicate", NULL), 2);
    assert_usage_error("unknown command 'frobnicate'", "valv");

    ck_assert_int_eq(run_valv(NULL, "asset", "get", NULL), 2);
    assert_usage_error("missing NAME", "valv asset get");
}
END_TEST

START_TEST(every_command_has_help_with_an_example)
{
    static const char *const help_lines[][4] = {
        {"--help"},
        {"health", "--help"},
        {"asset", "--help"},
        {"asset", "create", "--help"},
        {"asset", "get", "--help"},
        {"asset", "list", "--help"},
        {"asset", "update", "--help"},
        {"asset", "delete", "--help"},
        {"asset", "undelete", "--help"},
    };
    for (size_t i = 0; i < sizeof help_lines / sizeof help_lines[0]; i++) {
        const char *const *line = help_lines[i];
        ck_assert_int_eq(run_valv(NULL, line[0], line[1], line[2], line[3], NULL), 0);
        ck_assert_msg(strncmp(out, "Usage: valv", 11) == 0, "no usage for %s: %s", line[0], out);
        ck_assert_msg(strstr(out, "Example") != NULL, "no example for %s %s", line[0], line[1]);
        ck_assert_msg(strstr(out, "--addr") != NULL, "no global flags for %s %s", line[0],
                      line[1]);
    }
    ck_assert_int_eq(run_valv(NULL, "asset", "create", "--help", NULL), 0);
    static const char *const create_flags[] = {
        "--kind", "--display-name", "--owner-unit", "--owner", "--description", "--attr",
        "--label", "--source", "--external-id", "--id", "--request-id",
    };
    for (size_t i = 0; i < sizeof create_flags / sizeof create_flags[0]; i++)
        ck_assert_msg(strstr(out, create_flags[i]) != NULL, "%s undocumented", create_flags[i]);

    ck_assert_int_eq(run_valv(NULL, "--version", NULL), 0);
    ck_assert_msg(strncmp(out, "valv ", 5) == 0, "version: %s", out);
}
END_TEST

static Suite *cli_suite(void)
{
    Suite *s = suite_create("cli");

    TCase *tc = tcase_create("walkthrough");
    tcase_set_timeout(tc, TEST_TIMEOUT_S);
    tcase_add_test(tc, health_reports_serving);
    tcase_add_test(tc, create_accepts_each_kind_in_any_spelling);
    tcase_add_test(tc, get_by_name_and_by_id);
    tcase_add_test(tc, list_prints_table_json_and_csv);
    tcase_add_test(tc, update_changes_only_the_fields_given);
    tcase_add_test(tc, delete_hides_and_undelete_restores);
    tcase_add_test(tc, all_follows_pages_to_the_end);
    tcase_add_test(tc, filter_selects_and_syntax_errors_name_the_position);
    tcase_add_checked_fixture(tc, NULL, free_output);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_set_timeout(tc, TEST_TIMEOUT_S);
    tcase_add_test(tc, rpc_errors_exit_1_with_the_status);
    tcase_add_test(tc, unreachable_server_names_the_address);
    tcase_add_test(tc, usage_errors_exit_2);
    tcase_add_checked_fixture(tc, NULL, free_output);
    suite_add_tcase(s, tc);

    tc = tcase_create("help");
    tcase_add_test(tc, every_command_has_help_with_an_example);
    tcase_add_checked_fixture(tc, NULL, free_output);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cli_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failures = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failures ? 1 : 0;
}
