/* test_cli.c - the valv command line against a real valvd, as a user runs it.
 *
 * Each test that needs a server starts its own valvd (on a fresh port and
 * data directory) inside the test, so tests do not share state.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define ARGS_MAX 48
#define TEST_TIMEOUT_S 120
/* How long a background valv gets to print what a test waits for, and to
 * exit once told to. */
#define BACKGROUND_WAIT_MS 15000

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

/* Runs valv with the global flags in prefix (NULL-terminated; may be
 * NULL), then arg and the rest of ap up to NULL, against server (NULL: none,
 * so VALV_ADDR stays as inherited), with stdin_text as its input (NULL:
 * none). Returns its exit code; out and err hold what it printed. */
static int run_valv_va(const harness_server *server, const char *const *prefix,
                       const char *stdin_text, const char *arg, va_list ap)
{
    free_output();
    int code = harness_run_valv_va(server, prefix, stdin_text, &out, &err, arg, ap);
    ck_assert_msg(code >= 0, "could not run %s", harness_valv());
    return code;
}

/* Runs valv with the arguments up to NULL against server (see run_valv_va). */
static int run_valv(const harness_server *server, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    int code = run_valv_va(server, NULL, NULL, arg, ap);
    va_end(ap);
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

/* Asserts that the single-asset view in out has a line "KEY: VALUE" (with
 * whole false: "KEY: VALUE..."), its values aligned in one column. */
#define DETAIL_KEY_WIDTH 38
static void assert_detail_line(const char *key, const char *value, bool whole)
{
    char line[256];
    snprintf(line, sizeof line, "\n%s:%*s %s%s", key, DETAIL_KEY_WIDTH - (int)strlen(key) - 1,
             "", value, whole ? "\n" : "");
    /* The first line has no newline before it. */
    ck_assert_msg(strstr(out, line) != NULL || strncmp(out, line + 1, strlen(line + 1)) == 0,
                  "no '%s: %s' in:\n%s", key, value, out);
}

static void assert_detail(const char *key, const char *value)
{
    assert_detail_line(key, value, true);
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
    ck_assert_int_eq(valv("health", "--service", "valv.v1.Admin"), 0);
    ck_assert_int_eq(valv("health", "--service", "valv.v1.Nothing"), 1);
    ck_assert_msg(strstr(err, "NOT_FOUND: unknown service 'valv.v1.Nothing'") != NULL, "%s", err);
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
        assert_detail("kind", spellings[i][1]);
        assert_detail_line("name", "assets/", false);
        assert_detail("display_name", "Stadshuset");
        assert_detail("owner", "Anna Berg");
        assert_detail("attributes.floor", "3");
        assert_detail("labels", "kritisk");
        assert_detail_line("create_time", "20", false);
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
    ck_assert_ptr_nonnull(strstr(out, "  K  R  T  S  FLAG  REVIEW  "));
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
        "classification.confidentiality,classification.integrity,"
        "classification.availability,classification.traceability,classification.rationale,"
        "security.security_class,security.security_sensitive,security.protected_object,"
        "security.decision_ref,effective.confidentiality,effective.integrity,"
        "effective.availability,effective.traceability,effective.security_class,"
        "effective.security_sensitive,effective.flagged,review.state,review.overdue,"
        "review.reviewer,review.review_time,review.comment,review.due_time,"
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
    assert_detail_line("delete_time", "20", false);

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

/* ---- classification, links, inherited protection, review ------------------------------ */

static void create_asset(const char *kind, const char *id, const char *display_name,
                         const char *owner_unit)
{
    ck_assert_int_eq(valv("asset", "create", "--kind", kind, "--id", id, "--display-name",
                          display_name, "--owner-unit", owner_unit),
                     0);
}

/* The example: Personakter (K3 R2 T2) is processed by Procapita,
 * hosted in the server room SR-Kungsholmen, part of Stadshuset, a
 * protected object. */
static void create_story(void)
{
    create_asset("information", "personakter", "Personakter", "socialnamnden");
    create_asset("it-system", "procapita", "Procapita", "socialnamnden");
    create_asset("facility", "sr-kungsholmen", "SR-Kungsholmen", "fastighetsnamnden");
    create_asset("facility", "stadshuset", "Stadshuset", "fastighetsnamnden");
    ck_assert_int_eq(valv("classify", "personakter", "K3", "R2", "T2"), 0);
    ck_assert_int_eq(valv("link", "personakter", "processed-by", "procapita"), 0);
    ck_assert_int_eq(valv("link", "procapita", "HOSTED_IN", "sr-kungsholmen"), 0);
    ck_assert_int_eq(valv("link", "sr-kungsholmen", "part-of", "stadshuset"), 0);
    ck_assert_int_eq(valv("protect", "stadshuset", "--protected-object"), 0);
}

/* The line of out that starts with prefix, malloc'd without its newline. */
static char *line_starting(const char *prefix)
{
    for (const char *line = out; *line != '\0'; line = strchr(line, '\n') + 1) {
        if (strncmp(line, prefix, strlen(prefix)) == 0)
            return strndup(line, strcspn(line, "\r\n"));
        if (strchr(line, '\n') == NULL)
            break;
    }
    ck_abort_msg("no line starting '%s' in:\n%s", prefix, out);
    return NULL;
}

/* Asserts that the table row starting with prefix goes on with the given
 * cells, however they are spaced (the last may be the start of a cell). */
static void assert_row(const char *prefix, const char *cells)
{
    char *line = line_starting(prefix);
    char *rest = line + strlen(prefix);
    char words[256] = "";
    char *saveptr = NULL;
    for (char *w = strtok_r(rest, " ", &saveptr); w != NULL; w = strtok_r(NULL, " ", &saveptr)) {
        if (words[0] != '\0')
            strcat(words, " ");
        strncat(words, w, sizeof words - strlen(words) - 2);
    }
    ck_assert_msg(strncmp(words, cells, strlen(cells)) == 0, "row '%s' is '%s', not '%s'",
                  prefix, words, cells);
    free(line);
}

/* The etag of asset id as `valv asset get` shows it, malloc'd. */
static char *etag_of(const char *id)
{
    ck_assert_int_eq(valv("asset", "get", id, "-o", "json"), 0);
    return json_field(out, "etag");
}

START_TEST(classify_accepts_short_form_flags_and_names)
{
    start_server();
    create_asset("information", "personakter", "Personakter", "socialnamnden");

    ck_assert_int_eq(valv("classify", "personakter", "K3", "r2", "T2"), 0);
    assert_detail("classification", "K3 R2 T2 S-");

    /* Only the levels given change; names in either language. */
    ck_assert_int_eq(valv("classify", "personakter", "--traceability", "Måttlig", "--integrity",
                          "serious", "--rationale", "känsliga personuppgifter"),
                     0);
    assert_detail("classification", "K3 R3 T2 S1");
    assert_detail("classification.rationale", "känsliga personuppgifter");
    ck_assert_int_eq(valv("classify", "personakter", "--availability", "synnerligen-allvarlig",
                          "--confidentiality", "0", "-o", "json"),
                     0);
    ck_assert_ptr_nonnull(strstr(out, "\"confidentiality\":\"NEGLIGIBLE\""));
    ck_assert_ptr_nonnull(strstr(out, "\"availability\":\"VERY_SERIOUS\""));
    ck_assert_ptr_nonnull(strstr(out, "\"flagged\":true")); /* a level 4 flags it */

    ck_assert_int_eq(valv("protect", "personakter", "--security-class", "begränsat-hemlig",
                          "--security-sensitive", "--decision-ref", "SSA 2025-14"),
                     0);
    assert_detail("security.security_class", "RESTRICTED");
    assert_detail("security.security_sensitive", "true");
    assert_detail("security.decision_ref", "SSA 2025-14");
    ck_assert_int_eq(valv("protect", "personakter", "--no-security-sensitive"), 0);
    ck_assert_ptr_null(strstr(out, "security.security_sensitive"));
    assert_detail("security.security_class", "RESTRICTED");

    /* A stale etag is refused like any other update. */
    ck_assert_int_eq(valv("classify", "personakter", "K1", "--etag", "1"), 1);
    ck_assert_msg(strncmp(err, "valv: ABORTED: ", 15) == 0, "stderr: %s", err);
    stop_server();
}
END_TEST

START_TEST(explain_shows_where_protection_comes_from)
{
    start_server();
    create_story();

    ck_assert_int_eq(valv("links", "procapita"), 0);
    ck_assert_int_eq(count_lines(out), 3);
    ck_assert_msg(strncmp(out, "FROM", 4) == 0, "no header: %s", out);
    assert_row("assets/procapita ", "HOSTED_IN assets/sr-kungsholmen 20");
    assert_row("assets/personakter ", "PROCESSED_BY assets/procapita 20");

    ck_assert_int_eq(valv("explain", "sr-kungsholmen"), 0);
    ck_assert_msg(strncmp(out, "assets/sr-kungsholmen (SR-Kungsholmen)\n", 39) == 0, "%s", out);
    assert_row("K confidentiality", "- 3 assets/personakter");
    assert_row("R integrity", "- 2 assets/personakter");
    assert_row("T availability", "- 2 assets/personakter");
    assert_row("S traceability", "- - -");
    assert_row("flagged", "- no -");

    /* The building is flagged by its own designation. */
    ck_assert_int_eq(valv("explain", "stadshuset", "-o", "csv"), 0);
    ck_assert_ptr_nonnull(strstr(out, "dimension,own,effective,from\r\n"));
    ck_assert_ptr_nonnull(strstr(out, "\r\nK confidentiality,,3,assets/personakter\r\n"));
    ck_assert_ptr_nonnull(strstr(out, "\r\nprotected object,yes,yes,own\r\n"));
    ck_assert_ptr_nonnull(strstr(out, "\r\nflagged,,yes,\r\n"));
    ck_assert_ptr_nonnull(strstr(out, "\r\nreview,,PENDING,\r\n"));

    ck_assert_int_eq(valv("explain", "personakter"), 0);
    assert_row("K confidentiality", "3 3 own");

    ck_assert_int_eq(valv("explain", "stadshuset", "-o", "json"), 0);
    char *name = json_field(out, "name");
    ck_assert_str_eq(name, "assets/stadshuset");
    free(name);

    /* The list shows the effective levels and the flag. */
    ck_assert_int_eq(valv("asset", "list", "--order-by", "display_name"), 0);
    assert_row("assets/sr-kungsholmen ",
               "FACILITY SR-Kungsholmen fastighetsnamnden - 3 2 2 - - - ");
    stop_server();
}
END_TEST

START_TEST(security_class_flags_carriers_for_review)
{
    start_server();
    create_story();
    ck_assert_int_eq(valv("review", "queue", "-o", "json"), 0);
    ck_assert_int_eq(count_lines(out), 1); /* the protected object */

    ck_assert_int_eq(valv("protect", "personakter", "--security-class", "hemlig"), 0);
    ck_assert_int_eq(valv("review", "queue"), 0);
    ck_assert_int_eq(count_lines(out), 1 + 4);
    static const char *const flagged[] = {"personakter", "procapita", "sr-kungsholmen",
                                          "stadshuset"};
    for (size_t i = 0; i < sizeof flagged / sizeof flagged[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "assets/%s ", flagged[i]);
        char *row = line_starting(name);
        ck_assert_msg(strstr(row, " ! ") != NULL && strstr(row, " PENDING ") != NULL,
                      "not flagged and pending: %s", row);
        free(row);
    }
    ck_assert_int_eq(valv("explain", "stadshuset"), 0);
    assert_row("security class", "- SECRET assets/personakter");

    /* Approve the version seen: it leaves the queue. */
    char *etag = etag_of("procapita");
    ck_assert_int_eq(valv("review", "approve", "procapita", "--etag", etag, "--comment",
                          "Skydd enligt SSA 2025-14"),
                     0);
    assert_detail("review.state", "APPROVED");
    assert_detail("review.comment", "Skydd enligt SSA 2025-14");
    assert_detail("review.reviewer", "dev");
    ck_assert_ptr_nonnull(strstr(out, "\nreview.due_time:"));
    free(etag);
    ck_assert_int_eq(valv("review", "queue", "-o", "json"), 0);
    ck_assert_int_eq(count_lines(out), 3);
    ck_assert_ptr_null(strstr(out, "assets/procapita"));

    /* An etag from before a change is stale: the chief must see the change. */
    char *stale = etag_of("sr-kungsholmen");
    ck_assert_int_eq(valv("asset", "update", "sr-kungsholmen", "--description", "Plan 2"), 0);
    ck_assert_int_eq(valv("review", "approve", "sr-kungsholmen", "--etag", stale, "--comment",
                          "ok"),
                     1);
    ck_assert_msg(strncmp(err, "valv: ABORTED: ", 15) == 0, "stderr: %s", err);
    free(stale);

    /* Returned: still in the queue, as RETURNED, with the comment. */
    etag = etag_of("sr-kungsholmen");
    ck_assert_int_eq(valv("review", "return", "sr-kungsholmen", "--etag", etag, "--comment",
                          "Ange skyddsåtgärder"),
                     0);
    assert_detail("review.state", "RETURNED");
    assert_detail("review.comment", "Ange skyddsåtgärder");
    free(etag);
    ck_assert_int_eq(valv("review", "queue", "--owner-unit", "fastighetsnamnden"), 0);
    ck_assert_int_eq(count_lines(out), 1 + 2);
    char *row = line_starting("assets/sr-kungsholmen ");
    ck_assert_msg(strstr(row, " RETURNED ") != NULL, "not returned: %s", row);
    free(row);
    stop_server();
}
END_TEST

START_TEST(links_refuse_wrong_kinds_and_delete_needs_force)
{
    start_server();
    create_story();

    ck_assert_int_eq(valv("link", "personakter", "hosted-in", "sr-kungsholmen"), 1);
    ck_assert_msg(strncmp(err, "valv: INVALID_ARGUMENT: ", 24) == 0, "stderr: %s", err);
    ck_assert_msg(strstr(err, "INFORMATION") != NULL && strstr(err, "FACILITY") != NULL,
                  "kinds not named: %s", err);
    ck_assert_int_eq(valv("link", "personakter", "processed-by", "procapita"), 1);
    ck_assert_msg(strncmp(err, "valv: ALREADY_EXISTS: ", 22) == 0, "stderr: %s", err);

    ck_assert_int_eq(valv("asset", "delete", "procapita"), 1);
    ck_assert_msg(strncmp(err, "valv: FAILED_PRECONDITION: ", 27) == 0, "stderr: %s", err);
    ck_assert_ptr_nonnull(strstr(err, "force"));
    ck_assert_int_eq(valv("asset", "delete", "procapita", "--force"), 0);
    ck_assert_ptr_nonnull(strstr(out, "\ndelete_time:"));

    /* The links went with it, and so did what they carried. */
    ck_assert_int_eq(valv("links", "personakter"), 0);
    ck_assert_int_eq(count_lines(out), 1);
    ck_assert_int_eq(valv("explain", "sr-kungsholmen"), 0);
    assert_row("K confidentiality", "- - -");

    ck_assert_int_eq(valv("unlink", "sr-kungsholmen", "part-of", "stadshuset"), 0);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(valv("links", "stadshuset", "-o", "json"), 0);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(valv("unlink", "sr-kungsholmen", "part-of", "stadshuset"), 1);
    ck_assert_msg(strncmp(err, "valv: NOT_FOUND: ", 17) == 0, "stderr: %s", err);
    stop_server();
}
END_TEST

START_TEST(links_follow_pages)
{
    enum { N_SYSTEMS = 7 };
    start_server();
    create_asset("information", "personakter", "Personakter", "socialnamnden");
    for (int i = 0; i < N_SYSTEMS; i++) {
        char id[32];
        snprintf(id, sizeof id, "system-%d", i);
        create_system(id, id);
        ck_assert_int_eq(valv("link", "personakter", "processed-by", id), 0);
    }
    ck_assert_int_eq(valv("links", "personakter", "--page-size", "3", "--all", "-o", "csv"), 0);
    ck_assert_int_eq(count_lines(out), 1 + N_SYSTEMS);
    ck_assert_str_eq(err, "");
    ck_assert_msg(strncmp(out, "from_asset,type,to_asset,create_time,create_by\r\n", 48) == 0,
                  "%s", out);

    ck_assert_int_eq(valv("links", "personakter", "--page-size", "3"), 0);
    ck_assert_int_eq(count_lines(out), 1 + 3);
    ck_assert_msg(strstr(err, "next page: valv links assets/personakter --page-size 3 "
                              "--page-token ") != NULL,
                  "no hint: %s", err);
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

    ck_assert_int_eq(run_valv(NULL, "classify", "personakter", "K5", NULL), 2);
    assert_usage_error("K, R, T or S and a number 0-4 (K3 R2 T2 S1), not 'K5'", "valv classify");
    ck_assert_int_eq(run_valv(NULL, "classify", "personakter", "--integrity", "hög", NULL), 2);
    assert_usage_error("--integrity takes a level 0-4", "valv classify");
    ck_assert_int_eq(run_valv(NULL, "classify", "personakter", NULL), 2);
    assert_usage_error("nothing to change", "valv classify");
    ck_assert_int_eq(run_valv(NULL, "protect", "personakter", "--security-class", "hemligt",
                              NULL),
                     2);
    assert_usage_error("--security-class takes not-classified", "valv protect");
    ck_assert_int_eq(run_valv(NULL, "link", "personakter", "hosts", "procapita", NULL), 2);
    assert_usage_error("TYPE takes processed-by, stored-in", "valv link");
    ck_assert_int_eq(run_valv(NULL, "unlink", "personakter", "processed-by", NULL), 2);
    assert_usage_error("missing FROM TYPE TO", "valv unlink");

    /* The chief approves the version seen: never a silently fetched etag. */
    ck_assert_int_eq(run_valv(NULL, "review", "approve", "procapita", "--comment", "ok", NULL),
                     2);
    assert_usage_error("missing --etag: pass the etag of the version you reviewed, as shown by "
                       "'valv asset get procapita' or 'valv review queue -o json'",
                       "valv review approve");
    ck_assert_int_eq(run_valv(NULL, "review", "return", "procapita", "--etag", "7", NULL), 2);
    assert_usage_error("missing --comment", "valv review return");
    ck_assert_int_eq(run_valv(NULL, "review", "approve", "procapita", "--etag", "7", NULL), 2);
    assert_usage_error("missing --comment", "valv review approve");

    ck_assert_int_eq(run_valv(NULL, "audit", "list", "--action", "remove", NULL), 2);
    assert_usage_error("--action takes create, update, delete, undelete, link, unlink",
                       "valv audit list");
    ck_assert_int_eq(run_valv(NULL, "audit", "list", "--since", "yesterday", NULL), 2);
    assert_usage_error("--since takes a date (2026-03-01, midnight UTC) or an RFC 3339 time",
                       "valv audit list");
    ck_assert_int_eq(run_valv(NULL, "audit", "list", "--since", "2026-03-01", "--until",
                              "2026-02-01", NULL),
                     2);
    assert_usage_error("--until 2026-02-01 is not after --since 2026-03-01", "valv audit list");
    ck_assert_int_eq(run_valv(NULL, "watch", "--from", "-1", NULL), 2);
    assert_usage_error("--from takes a whole number from 0", "valv watch");
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
        {"classify", "--help"},
        {"protect", "--help"},
        {"explain", "--help"},
        {"link", "--help"},
        {"unlink", "--help"},
        {"links", "--help"},
        {"review", "--help"},
        {"review", "queue", "--help"},
        {"review", "approve", "--help"},
        {"review", "return", "--help"},
        {"audit", "--help"},
        {"audit", "list", "--help"},
        {"audit", "verify", "--help"},
        {"watch", "--help"},
        {"import", "--help"},
        {"export", "--help"},
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

/* ---- valv in the background: watch ---------------------------------------------------- */

/* A valv that runs until the test stops it, printing into files. */
typedef struct {
    pid_t pid;
    char out_path[64];
    char err_path[64];
} background_valv;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(int ms)
{
    struct timespec pause = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&pause, NULL);
}

static int temp_file(char *path, size_t cap, const char *name)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(path, cap, "%s/valv-%s-XXXXXX", tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp", name);
    int fd = mkstemp(path);
    ck_assert_msg(fd >= 0, "mkstemp %s: %s", path, strerror(errno));
    return fd;
}

/* Starts `valv --addr SRV ARG...` (up to NULL) with stdout and stderr in
 * files. */
static void start_background(background_valv *bg, const char *arg, ...)
{
    const char *argv[ARGS_MAX];
    int n = 0;
    argv[n++] = harness_valv();
    argv[n++] = "--addr";
    argv[n++] = srv.addr;
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a != NULL && n < ARGS_MAX - 1; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;

    int out_fd = temp_file(bg->out_path, sizeof bg->out_path, "out");
    int err_fd = temp_file(bg->err_path, sizeof bg->err_path, "err");
    fflush(NULL);
    bg->pid = fork();
    ck_assert_int_ge(bg->pid, 0);
    if (bg->pid == 0) {
        dup2(out_fd, STDOUT_FILENO);
        dup2(err_fd, STDERR_FILENO);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(out_fd);
    close(err_fd);
}

/* The whole content of a file, malloc'd. */
static char *read_whole_file(const char *path)
{
    char *text = harness_read_file(path);
    ck_assert_msg(text != NULL, "%s: %s", path, strerror(errno));
    return text;
}

/* Counts the lines of text that contain needle ("" counts every line). */
static int count_lines_with(const char *text, const char *needle)
{
    int n = 0;
    for (const char *line = text; *line != '\0';) {
        const char *end = strchr(line, '\n');
        if (end == NULL)
            break; /* a line still being written */
        const char *hit = strstr(line, needle);
        n += hit != NULL && hit < end;
        line = end + 1;
    }
    return n;
}

/* Waits until the background valv has printed n lines that contain needle
 * and returns all it printed (malloc'd). Fails if it exits first. */
static char *wait_for_lines(const background_valv *bg, const char *needle, int n)
{
    long long deadline = now_ms() + BACKGROUND_WAIT_MS;
    for (;;) {
        char *text = read_whole_file(bg->out_path);
        if (count_lines_with(text, needle) >= n)
            return text;
        int status;
        if (waitpid(bg->pid, &status, WNOHANG) == bg->pid) {
            char *errors = read_whole_file(bg->err_path);
            ck_abort_msg("valv exited (status %d) before printing %d lines with '%s':\n%s%s",
                         status, n, needle, text, errors);
        }
        ck_assert_msg(now_ms() < deadline, "no %d lines with '%s' after %d ms:\n%s", n, needle,
                      BACKGROUND_WAIT_MS, text);
        free(text);
        pause_ms(20);
    }
}

/* Sends sig, waits for valv to exit and returns its exit code; err holds
 * what it printed on stderr. Removes its files. */
static int stop_background(background_valv *bg, int sig)
{
    ck_assert_int_eq(kill(bg->pid, sig), 0);
    long long deadline = now_ms() + BACKGROUND_WAIT_MS;
    int status = 0;
    while (waitpid(bg->pid, &status, WNOHANG) != bg->pid) {
        if (now_ms() >= deadline) {
            kill(bg->pid, SIGKILL);
            waitpid(bg->pid, &status, 0);
            ck_abort_msg("valv did not exit within %d ms of signal %d", BACKGROUND_WAIT_MS, sig);
        }
        pause_ms(10);
    }
    free(err);
    err = read_whole_file(bg->err_path);
    unlink(bg->out_path);
    unlink(bg->err_path);
    ck_assert_msg(WIFEXITED(status), "valv ended by signal %d", WTERMSIG(status));
    return WEXITSTATUS(status);
}

START_TEST(health_watch_prints_status_until_stopped)
{
    background_valv bg;
    start_server();
    start_background(&bg, "health", "--watch", NULL);
    free(wait_for_lines(&bg, "SERVING", 1));
    ck_assert_int_eq(stop_background(&bg, SIGINT), 0);
    ck_assert_str_eq(err, "");

    /* The server going away ends the watch as a failure. */
    start_background(&bg, "health", "--watch", NULL);
    free(wait_for_lines(&bg, "SERVING", 1));
    ck_assert_int_eq(harness_stop(&srv), 0);
    long long deadline = now_ms() + BACKGROUND_WAIT_MS;
    int status;
    while (waitpid(bg.pid, &status, WNOHANG) != bg.pid) {
        ck_assert_msg(now_ms() < deadline, "health --watch outlived valvd");
        pause_ms(10);
    }
    ck_assert_int_eq(WEXITSTATUS(status), 1);
    char *errors = read_whole_file(bg.err_path);
    ck_assert_msg(strncmp(errors, "valv: UNAVAILABLE: ", 19) == 0, "stderr: %s", errors);
    free(errors);
    unlink(bg.out_path);
    unlink(bg.err_path);
    harness_cleanup(&srv);
}
END_TEST

/* ---- audit ---------------------------------------------------------------------------- */

/* Asserts that the line at line holds text before its end. */
static void assert_line_has(const char *line, const char *text)
{
    const char *end = strchr(line, '\n');
    const char *hit = strstr(line, text);
    ck_assert_msg(hit != NULL && (end == NULL || hit < end), "no '%s' in line: %.*s", text,
                  end != NULL ? (int)(end - line) : (int)strlen(line), line);
}

/* The JSON object on line i (0-based) of text; the caller decrefs. */
static json_t *json_line(const char *text, int i)
{
    const char *line = text;
    for (int k = 0; k < i; k++) {
        line = strchr(line, '\n');
        ck_assert_ptr_nonnull(line);
        line++;
    }
    json_error_t error;
    json_t *obj = json_loadb(line, strcspn(line, "\n"), 0, &error);
    ck_assert_msg(obj != NULL, "line %d is not JSON (%s): %s", i, error.text, text);
    return obj;
}

static const char *json_text(json_t *obj, const char *key)
{
    const char *value = json_string_value(json_object_get(obj, key));
    return value != NULL ? value : "";
}

/* revision is an int64: the protobuf JSON mapping allows a string, valv
 * prints a number. */
static int64_t json_revision(json_t *obj)
{
    json_t *value = json_object_get(obj, "revision");
    ck_assert_msg(json_is_integer(value), "no revision number");
    return json_integer_value(value);
}

/* Creates ekonomisystem, classifies it K2 then K3, creates lonesystem and
 * deletes ekonomisystem with a reason: revisions 1 to 5. */
static void make_audited_changes(void)
{
    create_system("ekonomisystem", "Ekonomisystem");
    ck_assert_int_eq(valv("classify", "ekonomisystem", "K2"), 0);
    ck_assert_int_eq(valv("classify", "ekonomisystem", "K3"), 0);
    create_system("lonesystem", "Lönesystem");
    ck_assert_int_eq(valv("asset", "delete", "ekonomisystem", "--reason", "Ersatt av Raindance"),
                     0);
}

START_TEST(audit_list_shows_who_changed_what)
{
    start_server();
    make_audited_changes();

    ck_assert_int_eq(valv("audit", "list"), 0);
    ck_assert_msg(strncmp(out, "REVISION", 8) == 0, "no header: %s", out);
    static const char *const columns[] = {"TIME", "ACTOR", "ACTION", "ASSET", "CHANGES",
                                          "REASON"};
    for (size_t i = 0; i < sizeof columns / sizeof columns[0]; i++)
        assert_line_has(out, columns[i]);
    ck_assert_int_eq(count_lines(out), 6);
    char *created = line_starting("1 ");
    assert_line_has(created, "  dev  ");
    assert_line_has(created, "  CREATE  ");
    assert_line_has(created, "  assets/ekonomisystem  ");
    assert_line_has(created, "  20"); /* the time */
    /* Aligned: the ACTION column starts at the same place on every line. */
    ck_assert_int_eq(strstr(out, "ACTION") - out, strstr(created, "CREATE") - created);
    char *deleted = line_starting("5 ");
    assert_line_has(deleted, "  DELETE  ");
    assert_line_has(deleted, "Ersatt av Raindance");
    free(created);
    free(deleted);

    /* --asset and --action: the classification change, before and after. */
    ck_assert_int_eq(valv("audit", "list", "--asset", "ekonomisystem", "--action", "update"), 0);
    ck_assert_int_eq(count_lines(out), 3);
    char *update = line_starting("3 ");
    assert_line_has(update, "classification.confidentiality: SIGNIFICANT -> SERIOUS");
    free(update);
    ck_assert_int_eq(valv("audit", "list", "--asset", "assets/lonesystem"), 0);
    ck_assert_int_eq(count_lines(out), 2);
    created = line_starting("4 ");
    assert_line_has(created, "  CREATE  ");
    free(created);

    /* JSON Lines, newest first: each event whole, its hashes in base64. */
    ck_assert_int_eq(valv("audit", "list", "--newest-first", "-o", "json"), 0);
    ck_assert_int_eq(count_lines(out), 5);
    json_t *newest = json_line(out, 0);
    ck_assert_int_eq(json_revision(newest), 5);
    ck_assert_str_eq(json_text(newest, "action"), "ACTION_DELETE");
    ck_assert_str_eq(json_text(newest, "asset"), "assets/ekonomisystem");
    ck_assert_str_eq(json_text(newest, "reason"), "Ersatt av Raindance");
    ck_assert_str_eq(json_text(newest, "actor"), "dev");
    ck_assert_uint_eq(strlen(json_text(newest, "hash")), 44); /* 32 bytes */
    json_decref(newest);
    json_t *oldest = json_line(out, 4);
    ck_assert_int_eq(json_revision(oldest), 1);
    /* The first event follows 32 zero bytes. */
    ck_assert_str_eq(json_text(oldest, "prev_hash"), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    json_decref(oldest);

    /* CSV keeps the whole change and the request id. */
    ck_assert_int_eq(valv("audit", "list", "-o", "csv", "--action", "delete"), 0);
    static const char csv_start[] = "revision,time,actor,request_id,action,asset,"
                                    "related_asset,changes,reason,cause_revision\r\n5,";
    ck_assert_msg(strncmp(out, csv_start, strlen(csv_start)) == 0, "csv: %s", out);
    assert_line_has(strchr(out, '\n') + 1, ",DELETE,assets/ekonomisystem,");

    /* Times: nothing happened in 2000; everything since. */
    ck_assert_int_eq(valv("audit", "list", "--since", "2000-01-01", "--until",
                          "2000-01-02T00:00:00+01:00"),
                     0);
    ck_assert_int_eq(count_lines(out), 1);
    ck_assert_int_eq(valv("audit", "list", "--since", "2000-01-01"), 0);
    ck_assert_int_eq(count_lines(out), 6);

    /* Pages, and the hint that repeats the filters. */
    ck_assert_int_eq(valv("audit", "list", "--asset", "ekonomisystem", "--page-size", "2"), 0);
    ck_assert_int_eq(count_lines(out), 3);
    static const char hint[] =
        "next page: valv audit list --asset ekonomisystem --page-size 2 --page-token ";
    ck_assert_msg(strncmp(err, hint, strlen(hint)) == 0, "hint: %s", err);
    ck_assert_int_eq(valv("audit", "list", "--asset", "ekonomisystem", "--page-size", "2",
                          "--all"),
                     0);
    ck_assert_int_eq(count_lines(out), 5);
    ck_assert_str_eq(err, "");
    stop_server();
}
END_TEST

START_TEST(audit_verify_reports_an_intact_log)
{
    start_server();
    ck_assert_int_eq(valv("audit", "verify"), 0);
    ck_assert_str_eq(out, "audit log intact: 0 events up to revision 0\n");
    make_audited_changes();
    ck_assert_int_eq(valv("audit", "verify"), 0);
    ck_assert_str_eq(out, "audit log intact: 5 events up to revision 5\n");
    ck_assert_int_eq(valv("audit", "verify", "-o", "json"), 0);
    ck_assert_str_eq(out, "{\"ok\":true,\"events_checked\":5,\"last_revision\":5}\n");
    stop_server();
}
END_TEST

/* Changes a probe asset until the background watch prints one: from then
 * on the watch is following. */
static void wait_until_following(const background_valv *bg)
{
    create_system("probe", "Probe");
    long long deadline = now_ms() + BACKGROUND_WAIT_MS;
    for (int i = 0;; i++) {
        char description[32];
        snprintf(description, sizeof description, "probe %d", i);
        ck_assert_int_eq(valv("asset", "update", "probe", "--description", description), 0);
        char *text = read_whole_file(bg->out_path);
        int lines = count_lines_with(text, "");
        free(text);
        if (lines > 0)
            return;
        ck_assert_msg(now_ms() < deadline, "the watch printed nothing");
        pause_ms(100);
    }
}

START_TEST(watch_follows_changes_and_replays_from_a_revision)
{
    background_valv bg;
    start_server();
    start_background(&bg, "watch", "--from", "0", "-o", "json", NULL);
    wait_until_following(&bg);

    create_system("lagringssystem", "Lagringssystem");
    ck_assert_int_eq(valv("classify", "lagringssystem", "K2"), 0);
    ck_assert_int_eq(valv("asset", "delete", "lagringssystem", "--reason", "Avvecklat"), 0);
    char *watched = wait_for_lines(&bg, "\"asset\":\"assets/lagringssystem\"", 3);
    ck_assert_int_eq(stop_background(&bg, SIGTERM), 0);
    ck_assert_str_eq(err, "");

    /* Every line an event, revisions without gaps; the three changes in
     * the order made. */
    static const char *const actions[] = {"ACTION_CREATE", "ACTION_UPDATE", "ACTION_DELETE"};
    int n_lines = count_lines(watched), seen = 0;
    int64_t previous = 0, first_change = 0;
    for (int i = 0; i < n_lines; i++) {
        json_t *ev = json_line(watched, i);
        int64_t revision = json_revision(ev);
        ck_assert_msg(previous == 0 || revision == previous + 1, "gap before %" PRId64 ":\n%s",
                      revision, watched);
        previous = revision;
        if (strcmp(json_text(ev, "asset"), "assets/lagringssystem") == 0) {
            ck_assert_int_lt(seen, 3);
            ck_assert_str_eq(json_text(ev, "action"), actions[seen]);
            if (seen++ == 0)
                first_change = revision;
        }
        json_decref(ev);
    }
    ck_assert_int_eq(seen, 3);
    free(watched);

    /* --from R replays what came after R; --timeout ends the watch. */
    char from[24];
    snprintf(from, sizeof from, "%" PRId64, first_change - 1);
    ck_assert_int_eq(valv("watch", "--from", from, "-o", "json", "--timeout", "2"), 0);
    ck_assert_int_eq(count_lines(out), 3);
    for (int i = 0; i < 3; i++) {
        json_t *ev = json_line(out, i);
        ck_assert_int_eq(json_revision(ev), first_change + i);
        ck_assert_str_eq(json_text(ev, "action"), actions[i]);
        json_decref(ev);
    }
    ck_assert_int_eq(valv("watch", "--from", from, "--timeout", "2"), 0);
    ck_assert_int_eq(count_lines(out), 3);
    char prefix[32];
    snprintf(prefix, sizeof prefix, "%" PRId64 "  ", first_change);
    char *line = line_starting(prefix);
    assert_line_has(line, "  dev  CREATE  assets/lagringssystem  ");
    free(line);
    snprintf(prefix, sizeof prefix, "%" PRId64 "  ", first_change + 2);
    line = line_starting(prefix);
    assert_line_has(line, "  DELETE  assets/lagringssystem  ");
    ck_assert_msg(strcmp(line + strlen(line) - 11, "  Avvecklat") == 0, "reason: %s", line);
    free(line);

    /* A revision the store has not reached is the request's fault: no
     * hint to resume. */
    ck_assert_int_eq(valv("watch", "--from", "999999"), 1);
    ck_assert_msg(strncmp(err, "valv: OUT_OF_RANGE: ", 20) == 0, "stderr: %s", err);
    ck_assert_ptr_null(strstr(err, "resume"));
    stop_server();
}
END_TEST

/* ---- import and export ------------------------------------------------------------ */

/* Three records of source cmdb, comma separated: two systems and a room. */
#define SYSTEMS_CSV                                                                       \
    "external_id,kind,display_name,owner_unit,labels,attributes.vendor\n"                 \
    "sys-1,it-system,Ekonomisystem,kommunstyrelsen,finance;core,Visma\n"                  \
    "sys-2,IT_SYSTEM,\"Procapita, verksamhetssystem\",socialnamnden,,Tieto\n"             \
    "room-1,facility,Serverrum,fastighetsnamnden,,\n"

/* Writes text to a new temporary file whose name ends in suffix; its path
 * goes to path. */
static void write_temp(char *path, size_t cap, const char *suffix, const char *text)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(path, cap, "%s/valv-import-XXXXXX%s", tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp",
             suffix);
    int fd = mkstemps(path, (int)strlen(suffix));
    ck_assert_msg(fd >= 0, "mkstemps %s: %s", path, strerror(errno));
    size_t len = strlen(text);
    ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
}

/* Runs valv with stdin_text as its standard input. */
static int run_valv_input(const char *stdin_text, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    int code = run_valv_va(&srv, NULL, stdin_text, arg, ap);
    va_end(ap);
    return code;
}

#define valv_input(text, ...) run_valv_input(text, __VA_ARGS__, NULL)

static void assert_has(const char *text, const char *expected)
{
    ck_assert_msg(strstr(text, expected) != NULL, "no '%s' in:\n%s", expected, text);
}

/* The live assets, one JSON line each. */
static int count_assets(void)
{
    ck_assert_int_eq(valv("asset", "list", "-o", "json", "--all"), 0);
    return count_lines(out);
}

/* A copy of text with the first from replaced by to, malloc'd. */
static char *replace_once(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    ck_assert_msg(at != NULL, "no '%s' in:\n%s", from, text);
    char *copy = NULL;
    ck_assert_int_ge(asprintf(&copy, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from)),
                     0);
    return copy;
}

START_TEST(import_csv_counts_and_a_rerun_is_unchanged)
{
    char path[256];
    start_server();
    write_temp(path, sizeof path, ".csv", SYSTEMS_CSV);
    ck_assert_int_eq(valv("import", path, "--source", "cmdb"), 0);
    ck_assert_str_eq(out, "created 3, updated 0, unchanged 0, deleted 0, failed 0\n");
    ck_assert_str_eq(err, ""); /* no progress line when stderr is not a terminal */
    ck_assert_int_eq(valv("asset", "list", "-o", "json", "--filter", "labels:finance"), 0);
    assert_has(out, "\"display_name\":\"Ekonomisystem\"");
    assert_has(out, "\"vendor\":\"Visma\"");
    ck_assert_int_eq(count_assets(), 3);

    ck_assert_int_eq(valv("import", path, "--source", "cmdb", "--batch", "1"), 0);
    ck_assert_str_eq(out, "created 0, updated 0, unchanged 3, deleted 0, failed 0\n");
    unlink(path);
    stop_server();
}
END_TEST

START_TEST(import_reads_excel_csv_with_semicolons_bom_and_line_breaks)
{
    char path[256];
    start_server();
    write_temp(path, sizeof path, ".csv",
               "\xEF\xBB\xBF"
               "external_id;kind;display_name;description;owner_unit\r\n"
               "k-1;facility;\"F\xC3\xB6rr\xC3\xA5" "d; k\xC3\xA4llare\";\"rad ett\r\nrad tv\xC3\xA5\";"
               "fastighetsnamnden\r\n"
               "k-2;facility;Garage;;fastighetsnamnden\r\n");
    ck_assert_int_eq(valv("import", path, "--source", "lokaler"), 0);
    ck_assert_str_eq(out, "created 2, updated 0, unchanged 0, deleted 0, failed 0\n");
    ck_assert_int_eq(valv("asset", "list", "-o", "json", "--filter", "display_name = F*"), 0);
    char *display_name = json_field(out, "display_name");
    char *description = json_field(out, "description");
    ck_assert_str_eq(display_name, "F\xC3\xB6rr\xC3\xA5" "d; k\xC3\xA4llare");
    ck_assert_str_eq(description, "rad ett\r\nrad tv\xC3\xA5");
    free(display_name);
    free(description);
    unlink(path);
    stop_server();
}
END_TEST

START_TEST(import_reports_bad_rows_by_line_and_imports_the_good_ones)
{
    char path[256];
    start_server();
    write_temp(path, sizeof path, ".csv",
               "external_id,kind,display_name,owner_unit\n"
               "a,it-system,Alfa,kommunstyrelsen\n"
               "b,server,Beta,kommunstyrelsen\n"   /* line 3: the reader refuses it */
               "c,it-system,,kommunstyrelsen\n"    /* line 4: valvd refuses it */
               "d,it-system,Delta,kommunstyrelsen\n");
    ck_assert_int_eq(valv("import", path, "--source", "cmdb"), 1);
    assert_has(out, "created 2, updated 0, unchanged 0, deleted 0, failed 2\n");
    char line3[300], line4[300];
    snprintf(line3, sizeof line3, "\n%s:3: kind: 'server' is not an asset kind", path);
    snprintf(line4, sizeof line4, "\n%s:4 (c): ", path);
    assert_has(out, line3);
    assert_has(out, line4);
    ck_assert_msg(strstr(out, line3) < strstr(out, line4), "not in line order:\n%s", out);
    assert_has(strstr(out, line4), "display_name");
    ck_assert_int_eq(count_assets(), 2);
    unlink(path);
    stop_server();
}
END_TEST

START_TEST(atomic_import_with_a_bad_row_imports_nothing)
{
    char path[256];
    start_server();
    write_temp(path, sizeof path, ".csv",
               "external_id,kind,display_name,owner_unit\n"
               "a,it-system,Alfa,kommunstyrelsen\n"
               "c,it-system,,kommunstyrelsen\n");
    ck_assert_int_eq(valv("import", path, "--source", "cmdb", "--atomic"), 1);
    assert_has(out, "rolled back: the import is atomic and 1 record failed, so nothing was "
                    "written\n");
    assert_has(out, " (c): ");
    ck_assert_int_eq(count_assets(), 0);

    /* A row that cannot be read stops it before anything is sent. */
    ck_assert_int_eq(valv_input("external_id,kind,display_name,owner_unit\n"
                                "a,it-system,Alfa,kommunstyrelsen\n"
                                "b,server,Beta,kommunstyrelsen\n",
                                "import", "-", "--source", "cmdb", "--atomic"),
                     1);
    assert_has(err, "stdin:3: kind: 'server' is not an asset kind");
    assert_has(err, "nothing was imported: an atomic import");
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(count_assets(), 0);
    unlink(path);
    stop_server();
}
END_TEST

START_TEST(sync_deletes_what_is_missing_and_dry_run_writes_nothing)
{
    char path[256], fewer[256];
    start_server();
    write_temp(path, sizeof path, ".csv", SYSTEMS_CSV);
    ck_assert_int_eq(valv("import", path, "--source", "cmdb", "--dry-run"), 0);
    assert_has(out, "dry run: nothing was written");
    assert_has(out, "created 3, updated 0, unchanged 0, deleted 0, failed 0\n");
    ck_assert_int_eq(count_assets(), 0);

    ck_assert_int_eq(valv("import", path, "--source", "cmdb"), 0);
    /* A record of another source is not this import's to delete. */
    create_system("handgjord", "Handgjord");
    write_temp(fewer, sizeof fewer, ".csv",
               "external_id,kind,display_name,owner_unit,labels,attributes.vendor\n"
               "sys-1,it-system,Ekonomisystem,kommunstyrelsen,finance;core,Visma\n"
               "room-1,facility,Serverrum,fastighetsnamnden,,\n");
    ck_assert_int_eq(valv("import", fewer, "--source", "cmdb", "--sync", "--dry-run"), 0);
    assert_has(out, "created 0, updated 0, unchanged 2, deleted 1, failed 0\n");
    ck_assert_int_eq(count_assets(), 4);
    ck_assert_int_eq(valv("import", fewer, "--source", "cmdb", "--sync"), 0);
    ck_assert_str_eq(out, "created 0, updated 0, unchanged 2, deleted 1, failed 0\n");
    ck_assert_int_eq(count_assets(), 3);
    ck_assert_int_eq(valv("asset", "list", "-o", "json", "--filter", "display_name = Procapita*"),
                     0);
    ck_assert_str_eq(out, "");
    unlink(path);
    unlink(fewer);
    stop_server();
}
END_TEST

START_TEST(sync_with_an_unreadable_row_aborts_and_deletes_nothing)
{
    char path[256];
    start_server();
    write_temp(path, sizeof path, ".csv", SYSTEMS_CSV);
    ck_assert_int_eq(valv("import", path, "--source", "cmdb"), 0);
    /* sys-2's row is broken: a SYNC import must not take it as gone. And
     * nothing else changes either, though sys-1 is renamed. */
    ck_assert_int_eq(valv_input("external_id,kind,display_name,owner_unit\n"
                                "sys-1,it-system,Ekonomisystem 2,kommunstyrelsen\n"
                                "sys-2,it-system,\"Procapita\" X,socialnamnden\n"
                                "room-1,facility,Serverrum,fastighetsnamnden\n",
                                "import", "-", "--source", "cmdb", "--sync"),
                     1);
    assert_has(err, "stdin:3: ");
    assert_has(err, "valv: nothing was imported: a SYNC import with unreadable records would "
                    "delete the assets on those lines");
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(count_assets(), 3);
    ck_assert_int_eq(valv("asset", "list", "-o", "json", "--filter", "display_name = Ekonomi*"),
                     0);
    assert_has(out, "\"display_name\":\"Ekonomisystem\"");
    unlink(path);
    stop_server();
}
END_TEST

START_TEST(import_refuses_a_classification_column)
{
    start_server();
    ck_assert_int_eq(valv_input("external_id,kind,display_name,owner_unit,"
                                "classification.confidentiality\n"
                                "hemlig,information,Personakter,socialnamnden,3\n"
                                "oppen,information,Protokoll,socialnamnden,\n",
                                "import", "-", "--source", "cmdb"),
                     1);
    assert_has(out, "created 1, updated 0, unchanged 0, deleted 0, failed 1\n");
    assert_has(out, "stdin:2 (hemlig): ");
    assert_has(strstr(out, "stdin:2 (hemlig): "), "classification");
    ck_assert_int_eq(count_assets(), 1);

    /* valvd refuses the whole import: nothing to report but why. */
    ck_assert_int_eq(valv_input("external_id,kind,display_name,owner_unit\n"
                                "a,it-system,Alfa,kommunstyrelsen\n",
                                "import", "-", "--source", "CMDB"),
                     1);
    assert_has(err, "valv: INVALID_ARGUMENT: header.source: 'CMDB' does not match");
    ck_assert_ptr_null(strstr(err, "may have been imported"));
    ck_assert_str_eq(out, "");
    stop_server();
}
END_TEST

/* Imports SYSTEMS_CSV as source cmdb and makes one asset by hand, without
 * import identity. */
static void create_inventory(void)
{
    ck_assert_int_eq(valv_input(SYSTEMS_CSV, "import", "-", "--source", "cmdb"), 0);
    ck_assert_int_eq(valv("asset", "create", "--kind", "information", "--id", "protokoll",
                          "--display-name", "Protokoll", "--owner-unit", "kommunstyrelsen",
                          "--description", "Nämndens protokoll,\n\"justerade\"", "--attr",
                          "arkiv=ja", "--label", "diarium"),
                     0);
    /* An import never writes these, and so an export leaves them out. */
    ck_assert_int_eq(valv("classify", "protokoll", "K2", "R2", "T1"), 0);
}

START_TEST(export_csv_imports_back_unchanged_and_edits_become_updates)
{
    char path[256];
    start_server();
    create_inventory();
    write_temp(path, sizeof path, ".csv", "");
    /* An empty file name is refused before anything is read. */
    ck_assert_int_eq(valv("export", "--output-file", ""), 1);
    assert_has(err, "no file name given: name a file, or '-' for standard output");
    ck_assert_int_eq(valv("export", "--output-file", path), 0);
    assert_has(err, "wrote 4 assets to ");
    char *csv = read_whole_file(path);
    const char *header = "external_id,name,kind,display_name,description,owner_unit,owner,"
                         "labels,attributes.arkiv,attributes.vendor\n";
    ck_assert_msg(strncmp(csv, header, strlen(header)) == 0, "header: %s", csv);
    assert_has(csv, "\n,assets/protokoll,INFORMATION,Protokoll,\"Nämndens protokoll,\n"
                    "\"\"justerade\"\"\",kommunstyrelsen,,diarium,ja,\n");
    ck_assert_ptr_null(strstr(csv, "classification"));

    ck_assert_int_eq(valv("import", path, "--source", "cmdb"), 0);
    ck_assert_str_eq(out, "created 0, updated 0, unchanged 4, deleted 0, failed 0\n");

    /* An edited display name becomes an update of that very asset. */
    char *edited = replace_once(csv, ",Protokoll,", ",Protokoll 2024,");
    ck_assert_int_eq(valv_input(edited, "import", "-", "--source", "cmdb"), 0);
    ck_assert_str_eq(out, "created 0, updated 1, unchanged 3, deleted 0, failed 0\n");
    ck_assert_int_eq(valv("asset", "get", "protokoll", "-o", "json"), 0);
    char *display_name = json_field(out, "display_name");
    ck_assert_str_eq(display_name, "Protokoll 2024");
    free(display_name);
    free(edited);
    free(csv);
    unlink(path);
    stop_server();
}
END_TEST

START_TEST(export_jsonl_and_excel_csv_import_back_unchanged)
{
    char path[256];
    start_server();
    create_inventory();
    ck_assert_int_eq(valv("export", "-o", "jsonl"), 0);
    ck_assert_int_eq(count_lines(out), 4);
    assert_has(out, "{\"external_id\":\"sys-1\",\"name\":\"assets/");
    ck_assert_ptr_null(strstr(out, "classification"));
    char *jsonl = strdup(out);
    ck_assert_int_eq(valv_input(jsonl, "import", "-", "--source", "cmdb"), 0);
    ck_assert_str_eq(out, "created 0, updated 0, unchanged 4, deleted 0, failed 0\n");
    free(jsonl);

    write_temp(path, sizeof path, ".csv", "");
    ck_assert_int_eq(valv("export", "--excel", "--output-file", path), 0);
    char *csv = read_whole_file(path);
    ck_assert_msg(strncmp(csv, "\xEF\xBB\xBF" "external_id;name;kind;", 25) == 0, "%s", csv);
    assert_has(csv, ";\"finance;core\";;Visma\r\n");
    ck_assert_int_eq(valv("import", path, "--source", "cmdb"), 0);
    ck_assert_str_eq(out, "created 0, updated 0, unchanged 4, deleted 0, failed 0\n");
    free(csv);
    unlink(path);
    stop_server();
}
END_TEST

START_TEST(import_and_export_usage_errors)
{
    ck_assert_int_eq(run_valv(NULL, "import", "x.csv", NULL), 2);
    assert_usage_error("missing --source NAME", "valv import");
    ck_assert_int_eq(run_valv(NULL, "import", "--source", "cmdb", NULL), 2);
    assert_usage_error("missing FILE", "valv import");
    ck_assert_int_eq(run_valv(NULL, "import", "x.csv", "--source", "cmdb", "--batch", "1001",
                              NULL),
                     2);
    assert_usage_error("--batch takes a whole number from 1 to 1000", "valv import");
    ck_assert_int_eq(run_valv(NULL, "import", "x", "--source", "cmdb", "--format", "xls", NULL),
                     2);
    assert_usage_error("--format takes csv or jsonl, not 'xls'", "valv import");
    ck_assert_int_eq(run_valv(NULL, "export", "-o", "table", NULL), 2);
    assert_usage_error("-o takes csv or jsonl, not 'table'", "valv export");
    ck_assert_int_eq(run_valv(NULL, "export", "--delimiter", "\t", NULL), 2);
    assert_usage_error("--delimiter takes ',' or ';'", "valv export");
    ck_assert_int_eq(run_valv(NULL, "export", "-o", "jsonl", "--excel", NULL), 2);
    assert_usage_error("--excel is for CSV", "valv export");

    ck_assert_int_eq(run_valv(NULL, "import", "/nonexistent/x.csv", "--source", "cmdb", NULL), 1);
    assert_has(err, "valv: cannot open /nonexistent/x.csv: No such file or directory");
}
END_TEST

/* ---- security: TLS, identities, roles, need to know ------------------------------ */

/* Made once, in main, before the tests fork: certificates from one CA for
 * valvd and the principals below, from another CA for a client valvd does
 * not trust, and the importer's bearer token. */
static const char *const clients[] = {"lena", "anna", "bertil", "chef", "revisor", "okand", NULL};
static char certs[HARNESS_PATH_MAX];       /* "" when they could not be made */
static char other_certs[HARNESS_PATH_MAX]; /* another CA, and lena signed by it */
static char importer_token_file[HARNESS_PATH_MAX + 32];
static char importer_token[64];
static char importer_hash[80];

/* Every principal of the security tests. okand has a certificate from the
 * right CA but is not in the file. */
static const harness_principal principals[] = {
    {.id = "lena", .role = "reader", .cert = "lena"},
    {.id = "anna", .role = "owner", .unit = "fastighetsnamnden", .cert = "anna"},
    {.id = "bertil", .role = "owner", .unit = "socialnamnden", .cert = "bertil"},
    {.id = "chef", .role = "security_chief", .cert = "chef"},
    {.id = "revisor", .role = "auditor", .cert = "revisor"},
    {.id = "cmdb-nightly", .role = "importer", .source = "servicenow", .token = importer_hash},
};
#define N_PRINCIPALS (sizeof principals / sizeof principals[0])

/* Rewrites the running valvd's principals file: every principal above, and
 * extra when it is not NULL. */
static void write_principals(const harness_principal *extra)
{
    harness_principal all[N_PRINCIPALS + 1];
    size_t n = N_PRINCIPALS;
    memcpy(all, principals, sizeof principals);
    if (extra != NULL)
        all[n++] = *extra;
    ck_assert_int_eq(harness_write_principals(srv.principals_path, all, n), 0);
}

static void start_tls_server(void)
{
    ck_assert_msg(certs[0] != '\0', "no certificates: see the harness message before the tests");
    memset(&srv, 0, sizeof srv);
    ck_assert_msg(harness_start_principals(&srv, certs, principals, N_PRINCIPALS, NULL) == 0,
                  "valvd did not start with TLS");
}

/* The client certificate of client from certs (and the CA of certs). */
static void as_client(harness_identity *id, const char *client)
{
    harness_as_client(id, certs, certs, client);
}

/* The bearer token on the first line of token_file. */
static void as_token_file(harness_identity *id, const char *token_file)
{
    harness_as_token_file(id, certs, token_file);
}

/* Runs valv as who against srv. */
static int run_valv_as(const harness_identity *who, const char *stdin_text, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    int code = run_valv_va(&srv, who->argv, stdin_text, arg, ap);
    va_end(ap);
    return code;
}

#define valv_as(who, ...) run_valv_as(who, NULL, __VA_ARGS__, NULL)
#define valv_as_input(who, text, ...) run_valv_as(who, text, __VA_ARGS__, NULL)

/* Asserts that the last valv failed (exit 1) with status code, and that its
 * message has expected in it. */
static void assert_failed(int code, const char *status, const char *expected)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "valv: %s: ", status);
    ck_assert_msg(code == 1, "exit %d, not 1; stdout: %s; stderr: %s", code, out, err);
    ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0, "not '%s...': %s", prefix, err);
    assert_has(err, expected);
}

/* Waits until valvd has logged needle at least times times. */
static void wait_for_log(const char *needle, int times)
{
    int found = 0;
    for (int waited = 0; waited < BACKGROUND_WAIT_MS; waited += 20) {
        char *log = harness_read_log(&srv);
        found = 0;
        for (const char *at = log; (at = strstr(at, needle)) != NULL; at += strlen(needle))
            found++;
        free(log);
        if (found >= times)
            return;
        pause_ms(20);
    }
    ck_abort_msg("valvd logged '%s' %d times, not %d, within %d ms", needle, found, times,
                 BACKGROUND_WAIT_MS);
}

/* Creates an asset as who; fails the test otherwise. */
static void create_as(const harness_identity *who, const char *kind, const char *id,
                      const char *unit)
{
    int code = valv_as(who, "asset", "create", "--kind", kind, "--display-name", id,
                       "--owner-unit", unit, "--id", id);
    ck_assert_msg(code == 0, "%s: %s", id, err);
}

START_TEST(tls_failures_say_what_to_fix)
{
    harness_identity lena, wrong_ca, untrusted_client, mismatched_key;
    start_tls_server();

    /* Health needs no identity, but TLS all the same. */
    harness_identity nobody;
    harness_as_nobody(&nobody, certs);
    ck_assert_int_eq(valv_as(&nobody, "health"), 0);
    ck_assert_str_eq(out, "SERVING\n");

    assert_failed(valv("health"), "UNAVAILABLE", "closed the connection");
    assert_has(err, "--tls-ca");

    harness_as_nobody(&wrong_ca, other_certs);
    assert_failed(valv_as(&wrong_ca, "health"), "UNAVAILABLE",
                  "presented a certificate that does not verify against CA ");
    assert_has(err, wrong_ca.ca);
    assert_has(err, srv.addr);

    harness_as_client(&untrusted_client, certs, other_certs, "lena");
    assert_failed(valv_as(&untrusted_client, "asset", "list"), "UNAVAILABLE",
                  "it may not trust the client certificate ");
    assert_has(err, untrusted_client.cert);

    as_client(&mismatched_key, "lena");
    snprintf(mismatched_key.key, sizeof mismatched_key.key, "%s/anna.key", certs);
    assert_failed(valv_as(&mismatched_key, "asset", "list"), "INVALID_ARGUMENT",
                  "is not the private key of --cert ");

    /* The same flags from the environment. */
    as_client(&lena, "lena");
    setenv("VALV_TLS_CA", lena.ca, 1);
    setenv("VALV_CERT", lena.cert, 1);
    setenv("VALV_KEY", lena.key, 1);
    ck_assert_int_eq(valv("asset", "list"), 0);
    unsetenv("VALV_CERT");
    unsetenv("VALV_KEY");
    stop_server();

    /* TLS against plaintext --dev. */
    start_server();
    assert_failed(valv("health"), "UNAVAILABLE", "does not speak TLS");
    unsetenv("VALV_TLS_CA");
    ck_assert_int_eq(valv("health"), 0);
    stop_server();
}
END_TEST

START_TEST(an_unknown_caller_is_unauthenticated)
{
    harness_identity nobody, okand, bad_token;
    char bad_token_file[HARNESS_PATH_MAX + 32];
    start_tls_server();

    harness_as_nobody(&nobody, certs);
    assert_failed(valv_as(&nobody, "asset", "list"), "UNAUTHENTICATED", "no known identity");

    /* A certificate from the right CA that the principals file does not name. */
    as_client(&okand, "okand");
    assert_failed(valv_as(&okand, "asset", "list"), "UNAUTHENTICATED", "no known identity");

    snprintf(bad_token_file, sizeof bad_token_file, "%s/bad-%d.token", certs, (int)getpid());
    FILE *f = fopen(bad_token_file, "w");
    ck_assert_ptr_nonnull(f);
    fputs("not-a-token-anyone-was-given\n", f);
    fclose(f);
    as_token_file(&bad_token, bad_token_file);
    assert_failed(valv_as(&bad_token, "asset", "list"), "UNAUTHENTICATED", "no known identity");
    unlink(bad_token_file);

    /* A token is not sent in plaintext off this machine (the address is a
     * documentation one: valv refuses before connecting). */
    assert_failed(run_valv(NULL, "--addr", "192.0.2.1:443", "--token", importer_token, "health",
                           NULL),
                  "INVALID_ARGUMENT", "refusing to send a bearer token");
    stop_server();
}
END_TEST

#define IMPORT_CSV                                                                               \
    "external_id,kind,display_name,owner_unit\n"                                                \
    "sys-1,it-system,Ekonomisystem,kommunstyrelsen\n"

START_TEST(an_importer_imports_its_own_source_only)
{
    harness_identity importer;
    start_tls_server();
    as_token_file(&importer, importer_token_file);

    ck_assert_int_eq(valv_as_input(&importer, IMPORT_CSV, "import", "-", "--source", "servicenow"),
                     0);
    ck_assert_str_eq(out, "created 1, updated 0, unchanged 0, deleted 0, failed 0\n");

    assert_failed(valv_as_input(&importer, IMPORT_CSV, "import", "-", "--source", "cmdb"),
                  "PERMISSION_DENIED", "may not import for source 'cmdb'");
    assert_has(err, "cmdb-nightly");

    assert_failed(valv_as(&importer, "asset", "list"), "PERMISSION_DENIED",
                  "may not read assets");

    /* The token from the environment, and on the command line. */
    harness_as_nobody(&importer, certs);
    setenv("VALV_TOKEN", importer_token, 1);
    ck_assert_int_eq(valv_as_input(&importer, IMPORT_CSV, "import", "-", "--source", "servicenow"),
                     0);
    ck_assert_str_eq(out, "created 0, updated 0, unchanged 1, deleted 0, failed 0\n");
    unsetenv("VALV_TOKEN");
    ck_assert_int_eq(valv_as_input(&importer, IMPORT_CSV, "--token", importer_token, "import", "-",
                                   "--source", "servicenow"),
                     0);
    stop_server();
}
END_TEST

START_TEST(a_reader_reads_but_may_not_write)
{
    harness_identity lena, anna;
    start_tls_server();
    as_client(&lena, "lena");
    as_client(&anna, "anna");
    create_as(&anna, "facility", "stadshuset", "fastighetsnamnden");

    ck_assert_int_eq(valv_as(&lena, "asset", "list", "-o", "json"), 0);
    assert_has(out, "\"name\":\"assets/stadshuset\"");
    ck_assert_int_eq(valv_as(&lena, "asset", "get", "stadshuset"), 0);

    assert_failed(valv_as(&lena, "asset", "create", "--kind", "facility", "--display-name",
                          "Garage", "--owner-unit", "fastighetsnamnden"),
                  "PERMISSION_DENIED", "principal 'lena' may not create assets");
    assert_failed(valv_as(&lena, "asset", "update", "stadshuset", "--description", "x"),
                  "PERMISSION_DENIED", "may not update assets");
    assert_failed(valv_as(&lena, "review", "queue"), "PERMISSION_DENIED", "may not review");
    assert_failed(valv_as(&lena, "audit", "list"), "PERMISSION_DENIED",
                  "may not read or verify the audit log");
    stop_server();
}
END_TEST

START_TEST(an_owner_writes_in_own_units_only)
{
    harness_identity anna, bertil, revisor;
    start_tls_server();
    as_client(&anna, "anna");
    as_client(&bertil, "bertil");
    as_client(&revisor, "revisor");

    create_as(&anna, "facility", "stadshuset", "fastighetsnamnden");
    ck_assert_int_eq(valv_as(&anna, "classify", "stadshuset", "K1", "T2"), 0);
    assert_failed(valv_as(&anna, "asset", "create", "--kind", "it-system", "--display-name",
                          "Procapita", "--owner-unit", "socialnamnden"),
                  "PERMISSION_DENIED", "may not create assets of unit 'socialnamnden'");

    /* Moving an asset to a unit anna does not own would give it away. */
    assert_failed(valv_as(&anna, "asset", "update", "stadshuset", "--owner-unit",
                          "socialnamnden"),
                  "PERMISSION_DENIED", "of unit 'socialnamnden'");
    ck_assert_int_eq(valv_as(&anna, "asset", "get", "stadshuset"), 0);
    assert_detail("owner_unit", "fastighetsnamnden");

    create_as(&bertil, "it-system", "procapita", "socialnamnden");
    assert_failed(valv_as(&anna, "classify", "procapita", "K3"), "PERMISSION_DENIED",
                  "of unit 'socialnamnden'");
    assert_failed(valv_as(&anna, "asset", "delete", "procapita"), "PERMISSION_DENIED",
                  "of unit 'socialnamnden'");

    /* The audit log names who did each change. */
    ck_assert_int_eq(valv_as(&revisor, "audit", "list", "-o", "json", "--actor", "anna"), 0);
    ck_assert_int_eq(count_lines(out), 2); /* create and classify */
    ck_assert_int_eq(valv_as(&revisor, "audit", "list", "-o", "json", "--actor", "bertil"), 0);
    ck_assert_int_eq(count_lines(out), 1);
    stop_server();
}
END_TEST

START_TEST(the_chief_reviews_and_the_auditor_reads_the_log)
{
    harness_identity anna, chef, revisor;
    start_tls_server();
    as_client(&anna, "anna");
    as_client(&chef, "chef");
    as_client(&revisor, "revisor");

    create_as(&anna, "facility", "stadshuset", "fastighetsnamnden");
    ck_assert_int_eq(valv_as(&anna, "protect", "stadshuset", "--protected-object"), 0);

    ck_assert_int_eq(valv_as(&chef, "review", "queue", "-o", "json"), 0);
    ck_assert_int_eq(count_lines(out), 1);
    char *etag = json_field(out, "etag");
    assert_failed(valv_as(&anna, "review", "approve", "stadshuset", "--etag", etag, "--comment",
                          "ok"),
                  "PERMISSION_DENIED", "may not review assets");
    ck_assert_int_eq(valv_as(&chef, "review", "approve", "stadshuset", "--etag", etag,
                             "--comment", "Skyddsobjekt enligt beslut 2025-3"),
                     0);
    free(etag);
    assert_detail("review.state", "APPROVED");
    assert_detail("review.reviewer", "chef");
    ck_assert_int_eq(valv_as(&chef, "review", "queue", "-o", "json"), 0);
    ck_assert_str_eq(out, "");

    ck_assert_int_eq(valv_as(&revisor, "audit", "list"), 0);
    char *row = line_starting("3 ");
    ck_assert_msg(strstr(row, " chef ") != NULL && strstr(row, " APPROVE ") != NULL,
                  "not chef's approval: %s", row);
    free(row);
    ck_assert_int_eq(valv_as(&revisor, "audit", "verify"), 0);
    assert_failed(valv_as(&revisor, "asset", "update", "stadshuset", "--description", "x"),
                  "PERMISSION_DENIED", "may not update assets");
    stop_server();
}
END_TEST

START_TEST(sighup_reloads_principals_and_a_broken_file_keeps_them)
{
    char token[64], hash[80], token_file[HARNESS_PATH_MAX + 32];
    harness_identity nils, lena;
    start_tls_server();
    as_client(&lena, "lena");
    ck_assert_int_eq(harness_token_new(token, sizeof token, hash, sizeof hash), 0);
    snprintf(token_file, sizeof token_file, "%s/nils-%d.token", certs, (int)getpid());
    FILE *f = fopen(token_file, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%s\n", token);
    fclose(f);
    as_token_file(&nils, token_file);
    assert_failed(valv_as(&nils, "asset", "list"), "UNAUTHENTICATED", "no known identity");

    harness_principal nils_principal = {.id = "nils", .role = "reader", .token = hash};
    write_principals(&nils_principal);
    kill(srv.pid, SIGHUP);
    wait_for_log("event=reloaded", 1);
    ck_assert_int_eq(valv_as(&nils, "asset", "list"), 0);

    /* A broken file is refused, and the set in force stays. */
    f = fopen(srv.principals_path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{\"principals\": [{\"id\": \"nils\", \"roles\": [\"superuser\"]}\n", f);
    fclose(f);
    kill(srv.pid, SIGHUP);
    wait_for_log("event=reload_failed", 1);
    char *log = harness_read_log(&srv);
    assert_has(log, "kept=previous");
    free(log);
    ck_assert_int_eq(valv_as(&nils, "asset", "list"), 0);
    ck_assert_int_eq(valv_as(&lena, "asset", "list"), 0);

    /* Taking nils out revokes the token. */
    write_principals(NULL);
    kill(srv.pid, SIGHUP);
    wait_for_log("event=reloaded", 2);
    assert_failed(valv_as(&nils, "asset", "list"), "UNAUTHENTICATED", "no known identity");
    ck_assert_int_eq(valv_as(&lena, "asset", "list"), 0);
    unlink(token_file);
    stop_server();
}
END_TEST

/* Whether the last `asset list -o json` shows assets/id. */
static bool listed(const char *id)
{
    char needle[96];
    snprintf(needle, sizeof needle, "\"name\":\"assets/%s\"", id);
    return strstr(out, needle) != NULL;
}

START_TEST(restricted_assets_are_invisible_without_need_to_know)
{
    harness_identity lena, anna, bertil, chef;
    start_tls_server();
    as_client(&lena, "lena");
    as_client(&anna, "anna");
    as_client(&bertil, "bertil");
    as_client(&chef, "chef");

    /* personakter (anna's unit) is processed by procapita (bertil's). */
    create_as(&anna, "information", "personakter", "fastighetsnamnden");
    create_as(&bertil, "it-system", "procapita", "socialnamnden");
    create_as(&anna, "facility", "stadshuset", "fastighetsnamnden");
    ck_assert_int_eq(valv_as(&anna, "link", "personakter", "processed-by", "procapita"), 0);
    ck_assert_int_eq(valv_as(&anna, "protect", "personakter", "--security-class", "restricted"),
                     0);

    /* For lena, a reader who is not cleared, neither exists: procapita
     * is RESTRICTED too, by what it processes. */
    assert_failed(valv_as(&lena, "asset", "get", "personakter"), "NOT_FOUND", "personakter");
    assert_failed(valv_as(&lena, "asset", "get", "procapita"), "NOT_FOUND", "procapita");
    ck_assert_int_eq(valv_as(&lena, "asset", "list", "-o", "json", "--all"), 0);
    ck_assert_msg(listed("stadshuset") && !listed("personakter") && !listed("procapita"),
                  "lena's list: %s", out);

    /* Each owner sees the asset of their own unit; the chief sees both. */
    ck_assert_int_eq(valv_as(&anna, "asset", "get", "personakter"), 0);
    ck_assert_int_eq(valv_as(&anna, "asset", "list", "-o", "json", "--all"), 0);
    ck_assert_msg(listed("personakter") && !listed("procapita"), "anna's list: %s", out);
    ck_assert_int_eq(valv_as(&bertil, "asset", "get", "procapita"), 0);
    assert_failed(valv_as(&bertil, "asset", "get", "personakter"), "NOT_FOUND", "personakter");
    ck_assert_int_eq(valv_as(&chef, "asset", "list", "-o", "json", "--all"), 0);
    ck_assert_msg(listed("personakter") && listed("procapita") && listed("stadshuset"),
                  "the chief's list: %s", out);
    ck_assert_int_eq(valv_as(&chef, "asset", "get", "procapita"), 0);
    stop_server();
}
END_TEST

/* Makes the certificates and the importer's token for the security tests.
 * Returns false (and says why) when they cannot be made; those tests then
 * fail, the others run. */
static bool make_security_material(void)
{
    static const char *const other_clients[] = {"lena", NULL};
    if (harness_make_certs(clients, certs) != 0)
        return false;
    if (harness_make_certs(other_clients, other_certs) != 0 ||
        harness_token_new(importer_token, sizeof importer_token, importer_hash,
                          sizeof importer_hash) != 0) {
        harness_remove_dir(certs);
        certs[0] = '\0';
        return false;
    }
    snprintf(importer_token_file, sizeof importer_token_file, "%s/importer.token", certs);
    FILE *f = fopen(importer_token_file, "w");
    if (f == NULL || fprintf(f, "%s\n", importer_token) < 0 || fclose(f) != 0) {
        fprintf(stderr, "test_cli: cannot write %s\n", importer_token_file);
        certs[0] = '\0';
        return false;
    }
    return true;
}

static void remove_security_material(void)
{
    if (certs[0] != '\0')
        harness_remove_dir(certs);
    if (other_certs[0] != '\0')
        harness_remove_dir(other_certs);
}

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

    tc = tcase_create("protection");
    tcase_set_timeout(tc, TEST_TIMEOUT_S);
    tcase_add_test(tc, classify_accepts_short_form_flags_and_names);
    tcase_add_test(tc, explain_shows_where_protection_comes_from);
    tcase_add_test(tc, security_class_flags_carriers_for_review);
    tcase_add_test(tc, links_refuse_wrong_kinds_and_delete_needs_force);
    tcase_add_test(tc, links_follow_pages);
    tcase_add_checked_fixture(tc, NULL, free_output);
    suite_add_tcase(s, tc);

    tc = tcase_create("audit");
    tcase_set_timeout(tc, TEST_TIMEOUT_S);
    tcase_add_test(tc, health_watch_prints_status_until_stopped);
    tcase_add_test(tc, audit_list_shows_who_changed_what);
    tcase_add_test(tc, audit_verify_reports_an_intact_log);
    tcase_add_test(tc, watch_follows_changes_and_replays_from_a_revision);
    tcase_add_checked_fixture(tc, NULL, free_output);
    suite_add_tcase(s, tc);

    tc = tcase_create("import");
    tcase_set_timeout(tc, TEST_TIMEOUT_S);
    tcase_add_test(tc, import_csv_counts_and_a_rerun_is_unchanged);
    tcase_add_test(tc, import_reads_excel_csv_with_semicolons_bom_and_line_breaks);
    tcase_add_test(tc, import_reports_bad_rows_by_line_and_imports_the_good_ones);
    tcase_add_test(tc, atomic_import_with_a_bad_row_imports_nothing);
    tcase_add_test(tc, sync_deletes_what_is_missing_and_dry_run_writes_nothing);
    tcase_add_test(tc, sync_with_an_unreadable_row_aborts_and_deletes_nothing);
    tcase_add_test(tc, import_refuses_a_classification_column);
    tcase_add_test(tc, export_csv_imports_back_unchanged_and_edits_become_updates);
    tcase_add_test(tc, export_jsonl_and_excel_csv_import_back_unchanged);
    tcase_add_test(tc, import_and_export_usage_errors);
    tcase_add_checked_fixture(tc, NULL, free_output);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_set_timeout(tc, TEST_TIMEOUT_S);
    tcase_add_test(tc, rpc_errors_exit_1_with_the_status);
    tcase_add_test(tc, unreachable_server_names_the_address);
    tcase_add_test(tc, usage_errors_exit_2);
    tcase_add_checked_fixture(tc, NULL, free_output);
    suite_add_tcase(s, tc);

    tc = tcase_create("security");
    tcase_set_timeout(tc, TEST_TIMEOUT_S);
    tcase_add_test(tc, tls_failures_say_what_to_fix);
    tcase_add_test(tc, an_unknown_caller_is_unauthenticated);
    tcase_add_test(tc, an_importer_imports_its_own_source_only);
    tcase_add_test(tc, a_reader_reads_but_may_not_write);
    tcase_add_test(tc, an_owner_writes_in_own_units_only);
    tcase_add_test(tc, the_chief_reviews_and_the_auditor_reads_the_log);
    tcase_add_test(tc, sighup_reloads_principals_and_a_broken_file_keeps_them);
    tcase_add_test(tc, restricted_assets_are_invisible_without_need_to_know);
    tcase_add_checked_fixture(tc, NULL, free_output);
    suite_add_tcase(s, tc);

    tc = tcase_create("help");
    tcase_set_timeout(tc, TEST_TIMEOUT_S); /* some thirty runs of valv, slow under ASan */
    tcase_add_test(tc, every_command_has_help_with_an_example);
    tcase_add_checked_fixture(tc, NULL, free_output);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* Before the tests fork, so each test uses the same; no gRPC here. */
    make_security_material();
    SRunner *sr = srunner_create(cli_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failures = srunner_ntests_failed(sr);
    srunner_free(sr);
    remove_security_material();
    return failures ? 1 : 0;
}
