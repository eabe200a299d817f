/* test_ops.c - running valvd as an operator does: a configuration file,
 * JSON logs a collector can parse, and the errors a broken file gets.
 *
 * Each test makes its own work directory (the configuration file and the
 * data directory) and starts its own valvd inside the test.
 */
#include <check.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define CONFIG_PATH_MAX (HARNESS_PATH_MAX + 16)

static char work_dir[HARNESS_PATH_MAX - 16]; /* room for "/data" in srv.data_dir */
static char config_path[CONFIG_PATH_MAX];
static harness_server srv;
static char *out; /* stdout of the last command */
static char *err; /* its stderr */

static void setup(void)
{
    snprintf(work_dir, sizeof work_dir, "%s/valv-ops-XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(work_dir));
    snprintf(config_path, sizeof config_path, "%s/valvd.conf", work_dir);
    memset(&srv, 0, sizeof srv);
    snprintf(srv.data_dir, sizeof srv.data_dir, "%s/data", work_dir);
}

static void teardown(void)
{
    if (srv.pid > 0)
        harness_stop(&srv);
    harness_remove_dir(work_dir); /* the data directory and the log are inside */
    free(out);
    free(err);
    out = err = NULL;
}

/* Writes the configuration file: the lines given, each ending in '\n'. */
static void write_config(const char *first, ...)
{
    FILE *f = fopen(config_path, "w");
    ck_assert_ptr_nonnull(f);
    va_list ap;
    va_start(ap, first);
    for (const char *line = first; line != NULL; line = va_arg(ap, const char *))
        fprintf(f, "%s\n", line);
    va_end(ap);
    ck_assert_int_eq(fclose(f), 0);
}

/* Runs argv (NULL-terminated) against srv; returns the exit code. */
static int run(const char *const argv[])
{
    free(out);
    free(err);
    out = err = NULL;
    int code = harness_run(&srv, argv, NULL, &out, &err);
    ck_assert_msg(code >= 0, "could not run %s", argv[0]);
    return code;
}

#define RUN(...) run((const char *const[]){__VA_ARGS__, NULL})

/* Runs `valvd --config FILE EXTRA...` to its end; returns the exit code. */
static int run_valvd_config(const char *extra)
{
    return RUN(harness_valvd(), "--config", config_path, extra);
}

/* The JSON log line of the request to method whose status is status, as
 * an object the caller decrefs; fails the test when there is none. Every
 * line of the log must parse. */
static json_t *logged_request(const char *method, const char *status)
{
    char *log = harness_read_log(&srv);
    ck_assert_ptr_nonnull(log);
    json_t *found = NULL;
    for (char *line = strtok(log, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        json_error_t error;
        json_t *obj = json_loads(line, 0, &error);
        ck_assert_msg(json_is_object(obj), "a log line that is not a JSON object (%s): %s", error.text,
                      line);
        const char *event = json_string_value(json_object_get(obj, "event"));
        const char *m = json_string_value(json_object_get(obj, "method"));
        const char *s = json_string_value(json_object_get(obj, "status"));
        if (event != NULL && strcmp(event, "request") == 0 && m != NULL && strcmp(m, method) == 0 &&
            s != NULL && strcmp(s, status) == 0) {
            json_decref(found);
            found = obj; /* the last one */
        } else {
            json_decref(obj);
        }
    }
    free(log);
    ck_assert_msg(found != NULL, "no request line for %s with %s", method, status);
    return found;
}

static const char *str_of(json_t *obj, const char *key)
{
    const char *v = json_string_value(json_object_get(obj, key));
    ck_assert_msg(v != NULL, "no string '%s'", key);
    return v;
}

/* The request_id of the newest audit event, as `valv audit list` shows it. */
static char *newest_audited_request_id(void)
{
    ck_assert_int_eq(RUN(harness_valv(), "-o", "json", "audit", "list", "--newest-first",
                         "--page-size", "1"),
                     0);
    json_error_t error;
    json_t *event = json_loadb(out, strcspn(out, "\n"), 0, &error);
    ck_assert_msg(event != NULL, "not JSON (%s): %s", error.text, out);
    const char *id = json_string_value(json_object_get(event, "request_id"));
    ck_assert_msg(id != NULL && id[0] != '\0', "no request_id in %s", out);
    char *copy = strdup(id);
    json_decref(event);
    return copy;
}

#define CREATE "/valv.v1.Inventory/CreateAsset"
#define GET "/valv.v1.Inventory/GetAsset"
#define IMPORT "/valv.v1.Inventory/ImportAssets"

/* ---- the configuration file ------------------------------------------------- */

START_TEST(the_file_sets_listen_data_dir_and_json_logs)
{
    char data_dir_line[HARNESS_PATH_MAX + 16];
    snprintf(data_dir_line, sizeof data_dir_line, "data-dir = %s", srv.data_dir);
    write_config("# valvd for the ops test", "", "listen = 127.0.0.1:0", data_dir_line,
                 "dev = true", "   log-format = json   ", NULL);
    ck_assert_int_eq(harness_start_config(&srv, config_path, NULL), 0);
    ck_assert_msg(strncmp(srv.addr, "127.0.0.1:", 10) == 0, "listening on %s", srv.addr);

    /* A write with the caller's request id, one without, a read that fails. */
    ck_assert_int_eq(RUN(harness_valv(), "asset", "create", "--kind", "information", "--display-name",
                         "Personakter", "--owner-unit", "socialnamnden", "--id", "personakter",
                         "--request-id", "ops \"quoted\" id"),
                     0);
    json_t *line = logged_request(CREATE, "OK");
    ck_assert_str_eq(str_of(line, "request_id"), "ops \"quoted\" id");
    json_decref(line);

    ck_assert_int_eq(RUN(harness_valv(), "asset", "create", "--kind", "it-system", "--display-name",
                         "Procapita", "--owner-unit", "socialnamnden", "--id", "procapita"),
                     0);
    char *audited = newest_audited_request_id();
    line = logged_request(CREATE, "OK");
    ck_assert_str_eq(str_of(line, "request_id"), audited); /* the id valvd made, in both places */
    free(audited);
    json_decref(line);

    /* An import is logged under the id its changes are audited with, too. */
    char csv[CONFIG_PATH_MAX];
    snprintf(csv, sizeof csv, "%s/systems.csv", work_dir);
    FILE *f = fopen(csv, "w");
    ck_assert_ptr_nonnull(f);
    fputs("external_id,kind,display_name,owner_unit\nci-1,IT_SYSTEM,Ekonomisystem,kommunstyrelsen\n", f);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(RUN(harness_valv(), "import", csv, "--source", "cmdb"), 0);
    audited = newest_audited_request_id();
    line = logged_request(IMPORT, "OK");
    ck_assert_str_eq(str_of(line, "request_id"), audited);
    free(audited);
    json_decref(line);

    ck_assert_int_eq(RUN(harness_valv(), "asset", "get", "nosuch"), 1);
    line = logged_request(GET, "NOT_FOUND");
    const char *keys[] = {"time", "level", "event", "method", "principal", "status", "duration_us",
                          "request_id"};
    ck_assert_int_eq(json_object_size(line), sizeof keys / sizeof keys[0]);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        ck_assert_msg(json_object_get(line, keys[i]) != NULL, "no '%s'", keys[i]);
    ck_assert_str_eq(str_of(line, "level"), "info");
    ck_assert_str_eq(str_of(line, "principal"), "dev");
    ck_assert(json_is_integer(json_object_get(line, "duration_us")));
    ck_assert_int_eq(strlen(str_of(line, "request_id")), 16);
    json_decref(line);

    /* The data went where the file said. */
    char mdb[HARNESS_PATH_MAX + 16];
    snprintf(mdb, sizeof mdb, "%s/data.mdb", srv.data_dir);
    ck_assert_int_eq(access(mdb, F_OK), 0);

    ck_assert_int_eq(harness_stop(&srv), 0);
    char *log = harness_read_log(&srv);
    ck_assert_msg(strstr(log, "\"event\":\"started\"") != NULL && strstr(log, "\"event\":\"stopped\"") != NULL,
                  "no started and stopped events: %s", log);
    free(log);
}
END_TEST

START_TEST(flags_override_the_file)
{
    char data_dir_line[HARNESS_PATH_MAX + 16];
    snprintf(data_dir_line, sizeof data_dir_line, "data-dir = %s", srv.data_dir);
    /* The port printed tells the file's (1) from the flag's (0: any free port). */
    write_config("listen = 127.0.0.1:1", data_dir_line, "dev = true", "log-format = json", NULL);
    const char *flags[] = {"--listen", "127.0.0.1:0", "--log-format", "text", NULL};
    ck_assert_int_eq(harness_start_config(&srv, config_path, flags), 0);
    ck_assert_str_ne(srv.addr, "127.0.0.1:1");
    ck_assert_int_eq(RUN(harness_valv(), "health"), 0);
    ck_assert_int_eq(harness_stop(&srv), 0);
    char *log = harness_read_log(&srv);
    ck_assert_msg(strstr(log, " INFO event=started ") != NULL && strchr(log, '{') == NULL,
                  "not the text format: %s", log);
    free(log);
}
END_TEST

/* The six keys that need files of their own (TLS) or contradict dev = true. */
static bool needs_tls(const char *key)
{
    static const char *const tls[] = {"tls-cert", "tls-key", "client-ca", "require-client-cert",
                                      "principals", "dev"};
    for (size_t i = 0; i < sizeof tls / sizeof tls[0]; i++)
        if (strcmp(key, tls[i]) == 0)
            return true;
    return false;
}

/* deploy/valvd.conf.example documents every option of `valvd --help` (but
 * config, help and version) as a commented "# key = value" line, and those
 * values, uncommented, are ones valvd starts with. */
START_TEST(the_example_file_documents_every_option_with_working_values)
{
    ck_assert_int_eq(RUN(harness_valvd(), "--help"), 0);
    char *help = out;
    out = NULL;
    char *example = harness_read_file(VALV_SOURCE_DIR "/deploy/valvd.conf.example");
    ck_assert_ptr_nonnull(example);

    int options = 0;
    for (const char *at = help; (at = strstr(at, "\n  --")) != NULL; at += 5) {
        char name[64];
        ck_assert_int_eq(sscanf(at + 5, "%63[a-z-]", name), 1);
        if (strcmp(name, "config") == 0 || strcmp(name, "help") == 0 || strcmp(name, "version") == 0)
            continue;
        char line[80];
        snprintf(line, sizeof line, "\n# %s = ", name);
        ck_assert_msg(strstr(example, line) != NULL, "the example has no '# %s = ' line", name);
        options++;
    }
    ck_assert_int_ge(options, 15);
    free(help);

    /* Uncommented, with dev = true instead of TLS, and free ports. */
    FILE *conf = fopen(config_path, "w");
    ck_assert_ptr_nonnull(conf);
    int keys = 0;
    for (char *line = strtok(example, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char key[64];
        int n = 0;
        if (sscanf(line, "# %63[a-z-]%n", key, &n) == 1 && strncmp(line + n, " = ", 3) == 0 &&
            !needs_tls(key)) {
            fprintf(conf, "%s\n", line + 2);
            keys++;
        }
    }
    free(example);
    fprintf(conf, "dev = true\n");
    ck_assert_int_eq(fclose(conf), 0);
    ck_assert_int_eq(keys, options - 6); /* all but the six of needs_tls */
    const char *flags[] = {"--listen", "127.0.0.1:0", "--data-dir", srv.data_dir,
                           "--metrics-listen", "127.0.0.1:0", NULL};
    ck_assert_int_eq(harness_start_config(&srv, config_path, flags), 0);
    ck_assert_int_eq(RUN(harness_valv(), "health"), 0);
    ck_assert_int_eq(harness_stop(&srv), 0);
}
END_TEST

/* ---- a broken file ------------------------------------------------------------ */

START_TEST(an_unknown_key_exits_2_naming_the_key_and_line)
{
    write_config("# line 1", "dev = true", "listne = 127.0.0.1:0", NULL);
    ck_assert_int_eq(run_valvd_config(NULL), 2);
    char expected[CONFIG_PATH_MAX + 64];
    snprintf(expected, sizeof expected, "valvd: %s:3: unknown key 'listne'; known keys: ", config_path);
    ck_assert_msg(strncmp(err, expected, strlen(expected)) == 0, "not '%s...': %s", expected, err);
    ck_assert_ptr_nonnull(strstr(err, "listen, "));
    ck_assert_ptr_nonnull(strstr(err, "log-format"));
}
END_TEST

START_TEST(a_bad_value_gets_the_flags_message_with_file_and_line)
{
    write_config("dev = true", "threads = lots", NULL);
    ck_assert_int_eq(run_valvd_config(NULL), 2);
    char expected[CONFIG_PATH_MAX + 96];
    snprintf(expected, sizeof expected,
             "valvd: %s:2: --threads takes a number from 1 to 64, not 'lots'\n", config_path);
    ck_assert_str_eq(err, expected);

    write_config("dev = true", "log-level = loud", NULL);
    ck_assert_int_eq(run_valvd_config(NULL), 2);
    snprintf(expected, sizeof expected,
             "valvd: %s:2: --log-level takes debug, info or error, not 'loud'\n", config_path);
    ck_assert_str_eq(err, expected);
}
END_TEST

START_TEST(a_missing_file_exits_2)
{
    ck_assert_int_eq(run_valvd_config(NULL), 2);
    ck_assert_ptr_nonnull(strstr(err, "cannot read"));
    ck_assert_ptr_nonnull(strstr(err, config_path));
}
END_TEST

static Suite *ops_suite(void)
{
    Suite *s = suite_create("ops");
    TCase *config = tcase_create("config");
    tcase_add_checked_fixture(config, setup, teardown);
    tcase_add_test(config, the_file_sets_listen_data_dir_and_json_logs);
    tcase_add_test(config, flags_override_the_file);
    tcase_add_test(config, the_example_file_documents_every_option_with_working_values);
    tcase_add_test(config, an_unknown_key_exits_2_naming_the_key_and_line);
    tcase_add_test(config, a_bad_value_gets_the_flags_message_with_file_and_line);
    tcase_add_test(config, a_missing_file_exits_2);
    tcase_set_timeout(config, 120);
    suite_add_tcase(s, config);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ops_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
