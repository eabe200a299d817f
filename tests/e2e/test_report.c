/* test_report.c - `valv report` against a real valvd: the figures of the
 * table and of -o json for assets made through the CLI, the HTML page as
 * a browser shows it (headless Chromium: a screenshot and the DOM), and the
 * page of a principal who may not read the review queue.
 *
 * Without /usr/bin/chromium the browser checks are skipped with a note,
 * unless $CI is set: CI installs it (scripts/install-deps) and must run
 * them.
 */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <png.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "report.h"

#define TEST_TIMEOUT_S 120
#define CHROMIUM "/usr/bin/chromium"
/* The screenshot's size, as --window-size asks. */
#define SHOT_WIDTH 1280
#define SHOT_HEIGHT 1024
/* The heat map's darkest cell (report.c's HEAT_DARK_RGB): the largest count
 * of a block, which the page of the two units has. */
#define HEAT_DARK_R 0xb3
#define HEAT_DARK_G 0x00
#define HEAT_DARK_B 0x00
/* A page with tables and text has far more colours than this; a blank or
 * failed render has one. */
#define SHOT_MIN_COLOURS 8

static harness_server srv;
static char *out; /* stdout of the last command run */
static char *err; /* its stderr */
static char work_dir[HARNESS_PATH_MAX]; /* per test: the page, screenshot, browser profile */

static void free_output(void)
{
    free(out);
    free(err);
    out = err = NULL;
}

/* Runs argv (NULL-terminated) against srv; out and err hold its output. */
static int run(const char *const *argv)
{
    free_output();
    int code = harness_run(&srv, argv, NULL, &out, &err);
    ck_assert_msg(code >= 0, "could not run %s", argv[0]);
    return code;
}

/* Runs valv with the global flags in prefix (NULL-terminated; may be
 * NULL), then the arguments up to NULL, against srv; out and err hold its
 * output. */
static int run_valv(const char *const *prefix, const char *arg, ...)
{
    va_list ap;
    free_output();
    va_start(ap, arg);
    int code = harness_run_valv_va(&srv, prefix, NULL, &out, &err, arg, ap);
    va_end(ap);
    ck_assert_msg(code >= 0, "could not run %s", harness_valv());
    return code;
}

#define valv(...) run_valv(NULL, __VA_ARGS__, NULL)
#define valv_as(who, ...) run_valv((who), __VA_ARGS__, NULL)

static void assert_has(const char *text, const char *needle)
{
    ck_assert_msg(text != NULL && strstr(text, needle) != NULL, "no '%s' in:\n%s", needle, text);
}

static void assert_ok(int code)
{
    ck_assert_msg(code == 0, "exit %d; stdout: %s; stderr: %s", code, out, err);
}

static void make_work_dir(void)
{
    snprintf(work_dir, sizeof work_dir, "%s/valv-report-XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    ck_assert_msg(mkdtemp(work_dir) != NULL, "mkdtemp: %s", strerror(errno));
}

/* A file of the test's work directory. */
static void work_path(const char *name, char path[HARNESS_PATH_MAX + 64])
{
    snprintf(path, HARNESS_PATH_MAX + 64, "%s/%s", work_dir, name);
}

/* The whole content of the file at path, malloc'd. */
static char *read_file(const char *path)
{
    char *text = harness_read_file(path);
    ck_assert_msg(text != NULL, "%s: %s", path, strerror(errno));
    return text;
}

/* ---- The inventory of the tests -------------------------------------------------------- */

/* As who (NULL: the dev principal), makes two units' assets:
 *   socialnamnden       personakter (information, K3 R2 T2), carried by
 *                       procapita (IT system, not classified itself: level
 *                       3 inherited), and barnakter (information, restricted:
 *                       flagged, pending, no level)
 *   fastighetsnamnden   stadshuset (facility, K1, a protected object: flagged,
 *                       then returned by the chief; a display name with HTML's
 *                       special characters), garage (facility, nothing)
 */
static void make_inventory(const char *const *owner_social, const char *const *owner_property,
                           const char *const *chief)
{
    static const char *const assets[][4] = {
        {"information", "personakter", "Personakter", "socialnamnden"},
        {"it-system", "procapita", "Procapita", "socialnamnden"},
        {"information", "barnakter", "Barnakter", "socialnamnden"},
        {"facility", "stadshuset", "Stadshuset <Norr> & \"Söder\"", "fastighetsnamnden"},
        {"facility", "garage", "Garage", "fastighetsnamnden"},
    };
    for (size_t i = 0; i < sizeof assets / sizeof assets[0]; i++) {
        const char *const *who = i < 3 ? owner_social : owner_property;
        assert_ok(valv_as(who, "asset", "create", "--kind", assets[i][0], "--id", assets[i][1],
                          "--display-name", assets[i][2], "--owner-unit", assets[i][3]));
    }
    assert_ok(valv_as(owner_social, "classify", "personakter", "K3", "R2", "T2"));
    assert_ok(valv_as(owner_social, "link", "personakter", "processed-by", "procapita"));
    assert_ok(valv_as(owner_social, "protect", "barnakter", "--security-class", "restricted"));
    assert_ok(valv_as(owner_property, "classify", "stadshuset", "K1"));
    assert_ok(valv_as(owner_property, "protect", "stadshuset", "--protected-object"));

    assert_ok(valv_as(chief, "asset", "get", "stadshuset", "-o", "json"));
    json_t *asset = json_loads(out, 0, NULL);
    ck_assert_ptr_nonnull(asset);
    char *etag = strdup(json_string_value(json_object_get(asset, "etag")));
    json_decref(asset);
    assert_ok(valv_as(chief, "review", "return", "stadshuset", "--etag", etag, "--comment",
                      "Describe the physical access control"));
    free(etag);
}

/* The table's cell under header in the row of row_name, as a number. */
static long table_cell(const char *table, const char *row_name, const char *header)
{
    char line[512];
    const char *start = strstr(table, "\nUNIT ");
    ck_assert_msg(start != NULL, "no header row in:\n%s", table);
    start++;
    snprintf(line, sizeof line, "%.*s", (int)strcspn(start, "\n"), start);
    int column = -1, n = 0;
    for (char *w = strtok(line, " "); w != NULL; w = strtok(NULL, " "), n++) {
        if (strcmp(w, header) == 0)
            column = n;
    }
    ck_assert_msg(column >= 0, "no column %s in:\n%s", header, table);

    char needle[96];
    snprintf(needle, sizeof needle, "\n%s ", row_name);
    const char *row = strstr(table, needle);
    ck_assert_msg(row != NULL, "no row %s in:\n%s", row_name, table);
    row++;
    snprintf(line, sizeof line, "%.*s", (int)strcspn(row, "\n"), row);
    char *w = strtok(line, " ");
    for (int i = 0; i < column && w != NULL; i++)
        w = strtok(NULL, " ");
    ck_assert_msg(w != NULL, "row %s has no column %s", row_name, header);
    return strtol(w, NULL, 10);
}

/* The JSON row of unit in the -o json output text (a new reference). */
static json_t *json_row(const char *text, const char *unit)
{
    for (const char *line = text; *line != '\0'; line += strcspn(line, "\n") + 1) {
        json_error_t error;
        json_t *row = json_loadb(line, strcspn(line, "\n"), 0, &error);
        ck_assert_msg(row != NULL, "not JSON (%s): %s", error.text, line);
        if (strcmp(json_string_value(json_object_get(row, "owner_unit")), unit) == 0)
            return row;
        json_decref(row);
        if (line[strcspn(line, "\n")] == '\0')
            break;
    }
    ck_abort_msg("no row %s in:\n%s", unit, text);
    return NULL;
}

static long json_count(json_t *row, const char *key)
{
    json_t *v = json_object_get(row, key);
    ck_assert_msg(json_is_integer(v), "%s is not a number", key);
    return (long)json_integer_value(v);
}

/* ---- The browser ------------------------------------------------------------------------ */

/* Whether the browser checks run: Chromium is there, or CI says it must
 * be. */
static bool browser_available(void)
{
    if (access(CHROMIUM, X_OK) == 0)
        return true;
    const char *ci = getenv("CI");
    ck_assert_msg(ci == NULL || ci[0] == '\0',
                  CHROMIUM " is missing in CI: scripts/install-deps installs it");
    printf("test_report: note: " CHROMIUM " not installed; the browser checks are skipped "
           "(scripts/install-deps installs it)\n");
    return false;
}

/* Runs headless Chromium on page with what (--screenshot=..., --dump-dom),
 * in a fresh profile, offline. */
static void run_chromium(const char *page, const char *what)
{
    char profile[HARNESS_PATH_MAX + 64], size[32], url[HARNESS_PATH_MAX + 80];
    work_path("chromium-profile", profile);
    char profile_flag[HARNESS_PATH_MAX + 96];
    snprintf(profile_flag, sizeof profile_flag, "--user-data-dir=%s", profile);
    snprintf(size, sizeof size, "--window-size=%d,%d", SHOT_WIDTH, SHOT_HEIGHT);
    snprintf(url, sizeof url, "file://%s", page);
    const char *const argv[] = {
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", profile_flag, what, size, url, NULL,
    };
    int code = run(argv);
    ck_assert_msg(code == 0, "chromium exit %d: %s", code, err);
}

/* What the screenshot shows, read with libpng. */
typedef struct {
    unsigned width, height;
    size_t n_colours;     /* distinct colours, counted up to SHOT_MIN_COLOURS */
    size_t n_heat_darkest; /* pixels of the heat map's darkest colour */
} shot_facts;

static shot_facts read_png(const char *path)
{
    shot_facts facts = {0};
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    ck_assert_msg(png_image_begin_read_from_file(&image, path) != 0, "%s is not a PNG: %s", path,
                  image.message);
    image.format = PNG_FORMAT_RGB;
    png_bytep pixels = malloc(PNG_IMAGE_SIZE(image));
    ck_assert_ptr_nonnull(pixels);
    ck_assert_msg(png_image_finish_read(&image, NULL, pixels, 0, NULL) != 0, "%s: %s", path,
                  image.message);
    facts.width = image.width;
    facts.height = image.height;

    unsigned colours[SHOT_MIN_COLOURS];
    for (size_t i = 0; i < (size_t)image.width * image.height; i++) {
        const png_byte *p = pixels + 3 * i;
        unsigned rgb = (unsigned)p[0] << 16 | (unsigned)p[1] << 8 | p[2];
        if (p[0] == HEAT_DARK_R && p[1] == HEAT_DARK_G && p[2] == HEAT_DARK_B)
            facts.n_heat_darkest++;
        bool seen = false;
        for (size_t c = 0; c < facts.n_colours && !seen; c++)
            seen = colours[c] == rgb;
        if (!seen && facts.n_colours < SHOT_MIN_COLOURS)
            colours[facts.n_colours++] = rgb;
    }
    free(pixels);
    png_image_free(&image);
    return facts;
}

/* Chromium shows page: the screenshot is a real render of the heat map,
 * and the DOM after parsing has the cells and lists the page promises. */
static void check_in_browser(const char *page)
{
    char shot[HARNESS_PATH_MAX + 64], flag[HARNESS_PATH_MAX + 80];
    if (!browser_available())
        return;
    work_path("report.png", shot);
    snprintf(flag, sizeof flag, "--screenshot=%s", shot);
    run_chromium(page, flag);
    shot_facts facts = read_png(shot);
    ck_assert_uint_eq(facts.width, SHOT_WIDTH);
    ck_assert_uint_eq(facts.height, SHOT_HEIGHT);
    ck_assert_msg(facts.n_colours >= SHOT_MIN_COLOURS, "%zu colours: a blank page",
                  facts.n_colours);
    /* The darkest heat-map cell is a block of that colour, not a stray pixel. */
    ck_assert_msg(facts.n_heat_darkest > 500, "%zu pixels of the darkest heat colour",
                  facts.n_heat_darkest);

    run_chromium(page, "--dump-dom");
    assert_has(out, "data-unit=\"socialnamnden\" data-column=\"level_3\" "
                    "style=\"background:#b30000;color:#ffffff\">2</td>");
    assert_has(out, "data-unit=\"fastighetsnamnden\" data-column=\"level_none\"");
    assert_has(out, "data-unit=\"TOTAL\" data-column=\"class_restricted\">1</td>");
    assert_has(out, "<tr data-lag-unit=\"fastighetsnamnden\">");
    assert_has(out, "<tr data-asset=\"assets/stadshuset\">");
}

/* ---- Tests --------------------------------------------------------------------------------- */

START_TEST(report_counts_each_units_assets)
{
    memset(&srv, 0, sizeof srv);
    ck_assert_msg(harness_start(&srv, NULL) == 0, "valvd did not start");
    make_inventory(NULL, NULL, NULL);

    assert_ok(valv("report"));
    assert_has(out, "Revision ");
    ck_assert_int_eq(table_cell(out, "socialnamnden", "TOTAL"), 3);
    ck_assert_int_eq(table_cell(out, "socialnamnden", "INFO"), 2);
    ck_assert_int_eq(table_cell(out, "socialnamnden", "IT"), 1);
    ck_assert_int_eq(table_cell(out, "socialnamnden", "L3"), 2); /* procapita inherits 3 */
    ck_assert_int_eq(table_cell(out, "socialnamnden", "L-"), 1);
    ck_assert_int_eq(table_cell(out, "socialnamnden", "FLAGGED"), 1);
    ck_assert_int_eq(table_cell(out, "socialnamnden", "PENDING"), 1);
    ck_assert_int_eq(table_cell(out, "socialnamnden", "UNCLASSIFIED"), 2);
    ck_assert_int_eq(table_cell(out, "fastighetsnamnden", "FAC"), 2);
    ck_assert_int_eq(table_cell(out, "fastighetsnamnden", "L1"), 1);
    ck_assert_int_eq(table_cell(out, "fastighetsnamnden", "FLAGGED"), 1);
    ck_assert_int_eq(table_cell(out, "fastighetsnamnden", "PENDING"), 0);
    ck_assert_int_eq(table_cell(out, "fastighetsnamnden", "RETURNED"), 1);
    ck_assert_int_eq(table_cell(out, "TOTAL", "TOTAL"), 5);
    ck_assert_int_eq(table_cell(out, "TOTAL", "FLAGGED"), 2);
    ck_assert_int_eq(table_cell(out, "TOTAL", "UNCLASSIFIED"), 3);

    assert_ok(valv("report", "-o", "json"));
    json_t *row = json_row(out, "socialnamnden");
    ck_assert_int_eq(json_count(row, "total"), 3);
    ck_assert_int_eq(json_count(row, "level_3"), 2);
    ck_assert_int_eq(json_count(row, "class_restricted"), 1);
    ck_assert_int_eq(json_count(row, "class_not_assessed"), 2);
    json_decref(row);
    row = json_row(out, "fastighetsnamnden");
    ck_assert_int_eq(json_count(row, "facility"), 2);
    ck_assert_int_eq(json_count(row, "returned"), 1);
    ck_assert_int_eq(json_count(row, "level_none"), 1);
    json_decref(row);
    row = json_row(out, "TOTAL");
    ck_assert_int_eq(json_count(row, "total"), 5);
    json_decref(row);

    /* One unit: its row and a total of that unit alone. */
    assert_ok(valv("report", "--owner-unit", "fastighetsnamnden", "-o", "csv"));
    assert_has(out, "owner_unit,total,");
    ck_assert_ptr_null(strstr(out, "socialnamnden"));
    assert_ok(valv("report", "--unit", "fastighetsnamnden", "-o", "json"));
    row = json_row(out, "TOTAL");
    ck_assert_int_eq(json_count(row, "total"), 2);
    json_decref(row);

    ck_assert_int_eq(harness_stop(&srv), 0);
    harness_cleanup(&srv);
}
END_TEST

START_TEST(html_report_shows_in_a_browser)
{
    char page[HARNESS_PATH_MAX + 64];
    memset(&srv, 0, sizeof srv);
    ck_assert_msg(harness_start(&srv, NULL) == 0, "valvd did not start");
    make_inventory(NULL, NULL, NULL);
    make_work_dir();
    work_path("report.html", page);

    assert_ok(valv("report", "--html", page));
    assert_has(err, "wrote the report to");
    char *html = read_file(page);
    assert_has(html, "<!DOCTYPE html>");
    assert_has(html, "data-unit=\"socialnamnden\" data-column=\"level_3\"");
    /* The queue, oldest first: barnakter became pending before stadshuset. */
    const char *barnakter = strstr(html, "<tr data-asset=\"assets/barnakter\">");
    const char *stadshuset = strstr(html, "<tr data-asset=\"assets/stadshuset\">");
    ck_assert_msg(barnakter != NULL && stadshuset != NULL && barnakter < stadshuset,
                  "queue not in order in:\n%s", html);
    assert_has(stadshuset, "<td>Stadshuset &lt;Norr&gt; &amp; &quot;Söder&quot;</td>"
                           "<td>fastighetsnamnden</td><td>Returned to owner</td>");
    /* Lagging: fastighetsnamnden 2 open of 2 assets, socialnamnden 2 of 3. */
    const char *property = strstr(html, "data-lag-unit=\"fastighetsnamnden\"");
    const char *social = strstr(html, "data-lag-unit=\"socialnamnden\"");
    ck_assert_msg(property != NULL && social != NULL && property < social,
                  "lagging units not worst first in:\n%s", html);
    ck_assert_ptr_null(strstr(html, "<Norr>"));
    free(html);

    /* No half-written file is left beside the page. */
    const char *const ls[] = {"sh", "-c", "ls \"$0\".* 2>/dev/null | wc -l", page, NULL};
    ck_assert_int_eq(run(ls), 0);
    ck_assert_str_eq(out, "0\n");

    /* '-' is standard output: the same page. */
    assert_ok(valv("report", "--html", "-"));
    assert_has(out, "data-unit=\"fastighetsnamnden\" data-column=\"level_1\"");

    check_in_browser(page);
    ck_assert_int_eq(harness_stop(&srv), 0);
    harness_cleanup(&srv);
}
END_TEST

START_TEST(usage_errors_exit_2_and_help_has_examples)
{
    memset(&srv, 0, sizeof srv);
    ck_assert_int_eq(valv("report", "--help"), 0);
    assert_has(out, "Usage: valv report");
    assert_has(out, "Examples:");
    assert_has(out, "valv report --html");
    ck_assert_int_eq(valv("report", "extra"), 2);
    assert_has(err, "run 'valv report --help'");
    ck_assert_int_eq(valv("report", "--html", ""), 2);
    assert_has(err, "--html needs a file name");
    ck_assert_int_eq(valv("report", "--colour"), 2);
    ck_assert_int_eq(valv("--help"), 0);
    assert_has(out, "  report ");

    /* A page that cannot be written: exit 1, and nothing left behind. */
    ck_assert_msg(harness_start(&srv, NULL) == 0, "valvd did not start");
    ck_assert_int_eq(valv("report", "--html", "/nonexistent-dir/report.html"), 1);
    assert_has(err, "valv: cannot write /nonexistent-dir/report.html: No such file or directory");
    /* One that fails after the page was written beside it (a directory is
     * in the way of the last step, the rename): the page goes too. */
    char dir[] = "/tmp/valv-report-dir-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(valv("report", "--html", dir), 1);
    assert_has(err, "Is a directory");
    const char *const ls[] = {"sh", "-c", "ls -d \"$0\".* 2>/dev/null | wc -l", dir, NULL};
    ck_assert_int_eq(run(ls), 0);
    ck_assert_str_eq(out, "0\n");
    ck_assert_int_eq(rmdir(dir), 0);
    ck_assert_int_eq(harness_stop(&srv), 0);
    harness_cleanup(&srv);
}
END_TEST

/* ---- A principal without the right to review ---------------------------------------------- */

/* Made once, in main, before the tests fork. */
static const char *const clients[] = {"lena", "anna", "bertil", "chef", NULL};
static char certs[HARNESS_PATH_MAX]; /* "" when they could not be made */

/* Each known by the client certificate of the same name. */
static const harness_principal principals[] = {
    {.id = "lena", .role = "reader", .cert = "lena"},
    {.id = "anna", .role = "owner", .unit = "fastighetsnamnden", .cert = "anna"},
    {.id = "bertil", .role = "owner", .unit = "socialnamnden", .cert = "bertil"},
    {.id = "chef", .role = "security_chief", .cert = "chef"},
};

START_TEST(a_reader_gets_the_figures_and_a_page_without_the_queue)
{
    harness_identity lena, anna, bertil, chef;
    char page[HARNESS_PATH_MAX + 64];
    ck_assert_msg(certs[0] != '\0', "no certificates: see the harness message before the tests");
    make_work_dir();
    memset(&srv, 0, sizeof srv);
    ck_assert_msg(harness_start_principals(&srv, certs, principals,
                                           sizeof principals / sizeof principals[0], NULL) == 0,
                  "valvd did not start");
    harness_as_client(&lena, certs, certs, "lena");
    harness_as_client(&anna, certs, certs, "anna");
    harness_as_client(&bertil, certs, certs, "bertil");
    harness_as_client(&chef, certs, certs, "chef");
    make_inventory(bertil.argv, anna.argv, chef.argv);

    /* lena reads: the figures, but barnakter (RESTRICTED) is not hers to
     * know about. */
    assert_ok(valv_as(lena.argv, "report", "-o", "json"));
    json_t *row = json_row(out, "socialnamnden");
    ck_assert_int_eq(json_count(row, "total"), 2);
    json_decref(row);

    work_path("lena.html", page);
    assert_ok(valv_as(lena.argv, "report", "--html", page));
    char *html = read_file(page);
    assert_has(html, "id=\"queue-unavailable\"");
    assert_has(html, "not available to this principal");
    assert_has(html, "data-unit=\"socialnamnden\" data-column=\"level_3\"");
    ck_assert_ptr_null(strstr(html, "data-asset="));
    free(html);

    /* The chief sees the queue on the same page. */
    work_path("chef.html", page);
    assert_ok(valv_as(chef.argv, "report", "--html", page));
    html = read_file(page);
    ck_assert_ptr_null(strstr(html, "queue-unavailable"));
    assert_has(html, "<tr data-asset=\"assets/barnakter\">");
    free(html);

    ck_assert_int_eq(harness_stop(&srv), 0);
    harness_cleanup(&srv);
}
END_TEST

static void remove_work_dir(void)
{
    free_output();
    if (work_dir[0] != '\0')
        harness_remove_dir(work_dir);
    work_dir[0] = '\0';
}

/* More assets in the queue than the page lists: it reads the queue one
 * page of REPORT_QUEUE_MAX at a time, stops once it has them, and counts
 * the rest by the summary (without that count it would say nothing more). */
#define LONG_QUEUE (REPORT_QUEUE_MAX + 5)

START_TEST(a_long_queue_is_listed_in_part_and_counted)
{
    char id[32];
    memset(&srv, 0, sizeof srv);
    ck_assert_msg(harness_start(&srv, NULL) == 0, "valvd did not start");
    for (int i = 0; i < LONG_QUEUE; i++) {
        snprintf(id, sizeof id, "arkiv-%02d", i);
        assert_ok(valv("asset", "create", "--kind", "information", "--id", id, "--display-name", id,
                       "--owner-unit", "socialnamnden"));
        assert_ok(valv("protect", id, "--security-class", "restricted")); /* now PENDING */
    }

    assert_ok(valv("report", "--html", "-"));
    size_t listed = 0;
    for (const char *row = strstr(out, "<tr data-asset="); row != NULL;
         row = strstr(row + 1, "<tr data-asset="))
        listed++;
    ck_assert_uint_eq(listed, REPORT_QUEUE_MAX);
    /* Oldest first: arkiv-00 to arkiv-49 listed, the five after them not. */
    for (int i = 0; i < LONG_QUEUE; i++) {
        char row[64];
        snprintf(row, sizeof row, "<tr data-asset=\"assets/arkiv-%02d\">", i);
        ck_assert_msg((strstr(out, row) != NULL) == (i < REPORT_QUEUE_MAX), "%s %s", row,
                      i < REPORT_QUEUE_MAX ? "missing" : "listed");
    }
    assert_has(out, "... and 5 more.");
    ck_assert_int_eq(harness_stop(&srv), 0);
    harness_cleanup(&srv);
}
END_TEST

static Suite *report_suite(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("report");
    tcase_set_timeout(tc, TEST_TIMEOUT_S);
    tcase_add_checked_fixture(tc, NULL, remove_work_dir);
    tcase_add_test(tc, report_counts_each_units_assets);
    tcase_add_test(tc, html_report_shows_in_a_browser);
    tcase_add_test(tc, usage_errors_exit_2_and_help_has_examples);
    tcase_add_test(tc, a_reader_gets_the_figures_and_a_page_without_the_queue);
    tcase_add_test(tc, a_long_queue_is_listed_in_part_and_counted);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* Before the tests fork; no gRPC here. */
    if (harness_make_certs(clients, certs) != 0)
        certs[0] = '\0';
    SRunner *sr = srunner_create(report_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failures = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (certs[0] != '\0')
        harness_remove_dir(certs);
    return failures ? 1 : 0;
}
