/* test_report.c - the security picture of `valv report` (client/report.c):
 * the figures of the table, CSV and JSON, and the HTML page's escaping,
 * heat-map cells, lagging units and review queue, from Summary messages
 * built here. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report.h"

/* 2026-11-22T16:05:00Z */
#define SUMMARY_SECONDS 1795363500

/* How many values the enums AssetKind, Level and SecurityClass have: the
 * lengths of UnitSummary's arrays. */
#define KINDS 4
#define LEVELS 6
#define CLASSES 6

/* One unit's figures, as valvd sends them. */
typedef struct {
    Valv__V1__UnitSummary unit;
    int64_t by_kind[KINDS];
    int64_t by_level[LEVELS];
    int64_t by_class[CLASSES];
} unit_fixture;

/* A unit with total assets, of which level_counts[i] have highest level
 * index i (0: none), all information assets and not assessed. */
static void unit_init(unit_fixture *f, const char *name, int64_t total,
                      const int64_t level_counts[LEVELS])
{
    valv__v1__unit_summary__init(&f->unit);
    memset(f->by_kind, 0, sizeof f->by_kind);
    memcpy(f->by_level, level_counts, sizeof f->by_level);
    memset(f->by_class, 0, sizeof f->by_class);
    f->by_kind[VALV__V1__ASSET_KIND__INFORMATION] = total;
    f->by_class[0] = total;
    f->unit.owner_unit = (char *)name;
    f->unit.total = total;
    f->unit.by_kind = f->by_kind;
    f->unit.n_by_kind = KINDS;
    f->unit.by_level = f->by_level;
    f->unit.n_by_level = LEVELS;
    f->unit.by_security_class = f->by_class;
    f->unit.n_by_security_class = CLASSES;
}

typedef struct {
    Valv__V1__Summary summary;
    Google__Protobuf__Timestamp time;
    Valv__V1__UnitSummary *units[8];
    unit_fixture total;
} summary_fixture;

/* A summary of units (n of them) with their sum as the total. */
static void summary_init(summary_fixture *s, unit_fixture *units, size_t n)
{
    static const int64_t zeros[LEVELS] = {0};
    valv__v1__summary__init(&s->summary);
    google__protobuf__timestamp__init(&s->time);
    s->time.seconds = SUMMARY_SECONDS;
    unit_init(&s->total, "", 0, zeros);
    for (size_t i = 0; i < n; i++) {
        const Valv__V1__UnitSummary *u = &units[i].unit;
        s->units[i] = &units[i].unit;
        s->total.unit.total += u->total;
        s->total.unit.flagged += u->flagged;
        s->total.unit.pending += u->pending;
        s->total.unit.returned += u->returned;
        s->total.unit.approved += u->approved;
        s->total.unit.overdue += u->overdue;
        s->total.unit.unclassified += u->unclassified;
        for (size_t k = 0; k < KINDS; k++)
            s->total.by_kind[k] += units[i].by_kind[k];
        for (size_t k = 0; k < LEVELS; k++)
            s->total.by_level[k] += units[i].by_level[k];
        for (size_t k = 0; k < CLASSES; k++)
            s->total.by_class[k] += units[i].by_class[k];
    }
    s->summary.units = s->units;
    s->summary.n_units = n;
    s->summary.total = &s->total.unit;
    s->summary.revision = 42;
    s->summary.time = &s->time;
}

/* Two units: socialnamnden (5 assets: 2 at level 3, 1 at level 4, 2 with
 * none; 3 flagged, 1 pending, 1 returned, 1 overdue, 2 unclassified, an
 * IT system and a secret one) and fastighetsnamnden (3 assets at level 1,
 * classified, nothing open). */
static unit_fixture pair[2];
static unit_fixture *const property = &pair[0];
static unit_fixture *const social = &pair[1];
static summary_fixture two_units;

static void two_units_setup(void)
{
    static const int64_t social_levels[LEVELS] = {2, 0, 0, 0, 2, 1};
    static const int64_t property_levels[LEVELS] = {0, 0, 3, 0, 0, 0};
    unit_init(property, "fastighetsnamnden", 3, property_levels);
    unit_init(social, "socialnamnden", 5, social_levels);
    social->by_kind[VALV__V1__ASSET_KIND__INFORMATION] = 4;
    social->by_kind[VALV__V1__ASSET_KIND__IT_SYSTEM] = 1;
    social->by_class[0] = 4;
    social->by_class[VALV__V1__SECURITY_CLASS__SECRET] = 1;
    social->unit.flagged = 3;
    social->unit.pending = 1;
    social->unit.returned = 1;
    social->unit.approved = 1;
    social->unit.overdue = 1;
    social->unit.unclassified = 2;
    summary_init(&two_units, pair, 2);
    setenv("TZ", "UTC", 1);
    tzset();
}

/* What a rendering function wrote, as a malloc'd string. */
static char *text;

static void free_text(void)
{
    free(text);
    text = NULL;
}

static char *render(output_format format, const Valv__V1__Summary *summary)
{
    size_t len = 0;
    free_text();
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(report_print(f, format, summary), 0);
    ck_assert_int_eq(fclose(f), 0);
    return text;
}

static char *render_html(const Valv__V1__Summary *summary, const report_queue *queue)
{
    size_t len = 0;
    free_text();
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(report_write_html(f, summary, queue), 0);
    ck_assert_int_eq(fclose(f), 0);
    return text;
}

static const report_queue empty_queue = {.available = true};

static void assert_has(const char *haystack, const char *needle)
{
    ck_assert_msg(strstr(haystack, needle) != NULL, "no '%s' in:\n%s", needle, haystack);
}

static void assert_lacks(const char *haystack, const char *needle)
{
    const char *at = strstr(haystack, needle);
    ck_assert_msg(at == NULL, "'%s' found in: ...%.80s", needle, at);
}

/* Asserts that both were found and a comes before b. */
static void assert_before(const char *a, const char *b)
{
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_msg(a < b, "'%.30s' is not before '%.30s'", a, b);
}

/* ---- table, CSV, JSON ------------------------------------------------------------- */

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

START_TEST(table_shows_each_units_figures_and_the_total)
{
    const char *t = render(OUTPUT_TABLE, &two_units.summary);
    ck_assert_msg(strncmp(t, "Revision 42, 2026-11-22T16:05:00Z\n\n", 35) == 0,
                  "no revision and time first: %s", t);

    ck_assert_int_eq(table_cell(t, "socialnamnden", "TOTAL"), 5);
    ck_assert_int_eq(table_cell(t, "socialnamnden", "INFO"), 4);
    ck_assert_int_eq(table_cell(t, "socialnamnden", "IT"), 1);
    ck_assert_int_eq(table_cell(t, "socialnamnden", "FAC"), 0);
    ck_assert_int_eq(table_cell(t, "socialnamnden", "L-"), 2);
    ck_assert_int_eq(table_cell(t, "socialnamnden", "L3"), 2);
    ck_assert_int_eq(table_cell(t, "socialnamnden", "L4"), 1);
    ck_assert_int_eq(table_cell(t, "socialnamnden", "FLAGGED"), 3);
    ck_assert_int_eq(table_cell(t, "socialnamnden", "PENDING"), 1);
    ck_assert_int_eq(table_cell(t, "socialnamnden", "RETURNED"), 1);
    ck_assert_int_eq(table_cell(t, "socialnamnden", "OVERDUE"), 1);
    ck_assert_int_eq(table_cell(t, "socialnamnden", "UNCLASSIFIED"), 2);
    ck_assert_int_eq(table_cell(t, "fastighetsnamnden", "L1"), 3);
    ck_assert_int_eq(table_cell(t, "fastighetsnamnden", "UNCLASSIFIED"), 0);
    ck_assert_int_eq(table_cell(t, REPORT_TOTAL_ROW, "TOTAL"), 8);
    ck_assert_int_eq(table_cell(t, REPORT_TOTAL_ROW, "L1"), 3);
    ck_assert_int_eq(table_cell(t, REPORT_TOTAL_ROW, "FLAGGED"), 3);

    /* Units in the summary's order, the total last. */
    assert_before(strstr(t, "\nfastighetsnamnden "), strstr(t, "\nsocialnamnden "));
    assert_before(strstr(t, "\nsocialnamnden "), strstr(t, "\n" REPORT_TOTAL_ROW " "));
}
END_TEST

START_TEST(table_right_aligns_numbers_under_their_headers)
{
    social->unit.unclassified = 12345;
    const char *t = render(OUTPUT_TABLE, &two_units.summary);
    const char *header = strstr(t, "\nUNIT ") + 1;
    const char *row = strstr(t, "\nsocialnamnden ") + 1;
    /* The header and the number end in the same column: the line's end. */
    size_t header_len = strcspn(header, "\n");
    size_t row_len = strcspn(row, "\n");
    ck_assert_uint_eq(row_len, header_len);
    ck_assert_msg(strncmp(row + row_len - 5, "12345", 5) == 0, "%s", t);
}
END_TEST

START_TEST(csv_has_every_figure_with_a_header)
{
    const char *t = render(OUTPUT_CSV, &two_units.summary);
    assert_has(t, "owner_unit,total,information,it_system,facility,level_none,level_0,"
                  "level_1,level_2,level_3,level_4,flagged,pending,returned,approved,overdue,"
                  "unclassified,class_not_assessed,class_not_classified,class_restricted,"
                  "class_confidential,class_secret,class_top_secret\r\n");
    assert_has(t, "\r\nsocialnamnden,5,4,1,0,2,0,0,0,2,1,3,1,1,1,1,2,4,0,0,0,1,0\r\n");
    assert_has(t, "\r\nfastighetsnamnden,3,3,0,0,0,0,3,0,0,0,0,0,0,0,0,0,3,0,0,0,0,0\r\n");
    assert_has(t, "\r\n" REPORT_TOTAL_ROW ",8,7,1,0,2,0,3,0,2,1,3,1,1,1,1,2,7,0,0,0,1,0\r\n");
}
END_TEST

/* The JSON object on line number line (0-based) of text. */
static json_t *json_line(const char *t, int line)
{
    for (int i = 0; i < line; i++) {
        t = strchr(t, '\n');
        ck_assert_ptr_nonnull(t);
        t++;
    }
    json_error_t error;
    json_t *obj = json_loadb(t, strcspn(t, "\n"), 0, &error);
    ck_assert_msg(obj != NULL, "not JSON (%s): %s", error.text, t);
    return obj;
}

START_TEST(json_is_one_object_per_row_with_numbers)
{
    const char *t = render(OUTPUT_JSON, &two_units.summary);
    json_t *row = json_line(t, 1);
    ck_assert_str_eq(json_string_value(json_object_get(row, "owner_unit")), "socialnamnden");
    ck_assert_int_eq(json_integer_value(json_object_get(row, "total")), 5);
    ck_assert_int_eq(json_integer_value(json_object_get(row, "level_3")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(row, "overdue")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(row, "class_secret")), 1);
    /* Zeros are there too, so that a script reads every key of every row. */
    ck_assert(json_is_integer(json_object_get(row, "facility")));
    json_decref(row);

    row = json_line(t, 2);
    ck_assert_str_eq(json_string_value(json_object_get(row, "owner_unit")), REPORT_TOTAL_ROW);
    ck_assert_int_eq(json_integer_value(json_object_get(row, "total")), 8);
    json_decref(row);
}
END_TEST

START_TEST(short_arrays_from_another_valvd_count_as_zero)
{
    /* A valvd with fewer levels or none of the arrays at all. */
    social->unit.n_by_level = 2;
    social->unit.n_by_security_class = 0;
    social->unit.by_security_class = NULL;
    const char *t = render(OUTPUT_CSV, &two_units.summary);
    assert_has(t, "\r\nsocialnamnden,5,4,1,0,2,0,0,0,0,0,3,1,1,1,1,2,0,0,0,0,0,0\r\n");
    two_units.summary.total = NULL;
    t = render(OUTPUT_CSV, &two_units.summary);
    assert_has(t, "\r\n" REPORT_TOTAL_ROW ",0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0\r\n");
}
END_TEST

/* ---- HTML ----------------------------------------------------------------------------- */

START_TEST(page_names_its_time_and_revision_and_is_self_contained)
{
    const char *t = render_html(&two_units.summary, &empty_queue);
    ck_assert_msg(strncmp(t, "<!DOCTYPE html>\n", 16) == 0, "%.40s", t);
    assert_has(t, "<title>Security picture 2026-11-22 16:05 UTC, revision 42</title>");
    assert_has(t, "<time datetime=\"2026-11-22T16:05:00Z\">2026-11-22 16:05 UTC</time>");
    assert_has(t, "<meta charset=\"utf-8\">");
    assert_has(t, "</html>\n");
    /* Nothing to fetch, nothing to run. */
    assert_lacks(t, "<script");
    assert_lacks(t, "<link");
    assert_lacks(t, "src=");
    assert_lacks(t, "url(");
    assert_lacks(t, "http:");
    assert_lacks(t, "https:");
}
END_TEST

START_TEST(page_escapes_every_value_from_the_data)
{
    static const int64_t levels[LEVELS] = {1, 0, 0, 0, 0, 0};
    unit_fixture odd;
    unit_init(&odd, "a<b>&\"c'", 1, levels);
    odd.unit.unclassified = 1;
    summary_fixture s;
    summary_init(&s, &odd, 1);

    Valv__V1__Asset asset = VALV__V1__ASSET__INIT;
    Valv__V1__ReviewStatus review = VALV__V1__REVIEW_STATUS__INIT;
    asset.name = "assets/x\"><script>alert(1)</script>";
    asset.display_name = "<img src=x onerror=alert(1)> Tom & Jerry's";
    asset.owner_unit = "a<b>&\"c'";
    review.state = VALV__V1__REVIEW_STATE__PENDING;
    asset.review = &review;
    Valv__V1__Asset *assets[] = {&asset};
    report_queue queue = {.available = true, .assets = assets, .n_assets = 1};

    const char *t = render_html(&s.summary, &queue);
    assert_lacks(t, "<script");
    assert_lacks(t, "<img");
    assert_lacks(t, "a<b>");
    assert_has(t, "data-unit=\"a&lt;b&gt;&amp;&quot;c&#39;\"");
    assert_has(t, "data-lag-unit=\"a&lt;b&gt;&amp;&quot;c&#39;\"");
    assert_has(t, "data-asset=\"assets/x&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\"");
    assert_has(t, "&lt;img src=x onerror=alert(1)&gt; Tom &amp; Jerry&#39;s");

    report_queue denied = {.available = false,
                           .unavailable_reason = "principal '<lena>' may not review assets"};
    t = render_html(&s.summary, &denied);
    assert_has(t, "principal &#39;&lt;lena&gt;&#39; may not review assets");
}
END_TEST

/* The heat-map cell of unit and column: its count, and its background
 * colour in colour ("" when the cell has none). */
static long heat_cell(const char *page, const char *unit, const char *column,
                      char colour[8], bool *white_text)
{
    char needle[160];
    snprintf(needle, sizeof needle, "data-unit=\"%s\" data-column=\"%s\"", unit, column);
    const char *cell = strstr(page, needle);
    ck_assert_msg(cell != NULL, "no heat-map cell %s", needle);
    const char *end = strchr(cell, '>');
    const char *style = strstr(cell, " style=\"background:");
    colour[0] = '\0';
    *white_text = false;
    if (style != NULL && style < end) {
        snprintf(colour, 8, "%.7s", style + strlen(" style=\"background:"));
        *white_text = strncmp(style + strlen(" style=\"background:#xxxxxx;"), "color:#ffffff",
                              13) == 0;
    }
    return strtol(end + 1, NULL, 10);
}

START_TEST(heat_map_cells_are_coloured_by_count_within_their_block)
{
    char colour[8];
    bool white;
    const char *t = render_html(&two_units.summary, &empty_queue);

    /* Levels: the largest count (3, fastighetsnamnden's level 1) is the
     * darkest, an empty cell white, smaller counts in between. */
    ck_assert_int_eq(heat_cell(t, "fastighetsnamnden", "level_1", colour, &white), 3);
    ck_assert_str_eq(colour, "#b30000");
    ck_assert(white);
    ck_assert_int_eq(heat_cell(t, "fastighetsnamnden", "level_3", colour, &white), 0);
    ck_assert_str_eq(colour, "#ffffff");
    ck_assert(!white);
    ck_assert_int_eq(heat_cell(t, "socialnamnden", "level_3", colour, &white), 2);
    char two[8];
    snprintf(two, sizeof two, "%s", colour);
    ck_assert_int_eq(heat_cell(t, "socialnamnden", "level_4", colour, &white), 1);
    ck_assert_str_ne(colour, "#ffffff");
    /* Red stays full; green and blue fall as the count grows. */
    ck_assert_int_gt(strtol(colour + 3, NULL, 16), strtol(two + 3, NULL, 16));
    ck_assert_int_eq(heat_cell(t, "socialnamnden", "level_none", colour, &white), 2);
    ck_assert_str_eq(colour, two);

    /* Security classes are a block of their own: 4 not assessed is its
     * largest, so the 3 not assessed of fastighetsnamnden is lighter. */
    ck_assert_int_eq(heat_cell(t, "socialnamnden", "class_not_assessed", colour, &white), 4);
    ck_assert_str_eq(colour, "#b30000");
    ck_assert_int_eq(heat_cell(t, "fastighetsnamnden", "class_not_assessed", colour, &white), 3);
    ck_assert_str_ne(colour, "#b30000");
    ck_assert_int_eq(heat_cell(t, "socialnamnden", "class_secret", colour, &white), 1);

    /* The total row has the sums, uncoloured. */
    ck_assert_int_eq(heat_cell(t, REPORT_TOTAL_ROW, "level_1", colour, &white), 3);
    ck_assert_str_eq(colour, "");
    ck_assert_int_eq(heat_cell(t, REPORT_TOTAL_ROW, "class_not_assessed", colour, &white), 7);
}
END_TEST

START_TEST(lagging_units_are_listed_worst_first_with_their_figures)
{
    static const int64_t levels[LEVELS] = {0};
    unit_fixture units[4];
    unit_init(&units[0], "kultur", 10, levels);         /* 1 of 10 open: 10 % */
    units[0].unit.overdue = 1;
    unit_init(&units[1], "miljo", 4, levels);           /* 2 of 4: 50 % */
    units[1].unit.unclassified = 1;
    units[1].unit.returned = 1;
    unit_init(&units[2], "skola", 2, levels);           /* 1 of 2: 50 %, fewer open */
    units[2].unit.unclassified = 1;
    unit_init(&units[3], "vatten", 7, levels);          /* nothing open */
    summary_fixture s;
    summary_init(&s, units, 4);

    const char *t = render_html(&s.summary, &empty_queue);
    const char *kultur = strstr(t, "data-lag-unit=\"kultur\"");
    const char *miljo = strstr(t, "data-lag-unit=\"miljo\"");
    const char *skola = strstr(t, "data-lag-unit=\"skola\"");
    ck_assert_ptr_nonnull(kultur);
    ck_assert_ptr_nonnull(miljo);
    ck_assert_ptr_nonnull(skola);
    assert_before(miljo, skola);
    assert_before(skola, kultur);
    assert_lacks(t, "data-lag-unit=\"vatten\"");
    /* The figures: assets, not classified, returned, overdue, share. */
    assert_has(miljo, "<th scope=\"row\">miljo</th><td class=\"n\">4</td><td class=\"n\">1</td>"
                      "<td class=\"n\">1</td><td class=\"n\">0</td>");
    assert_has(miljo, "50 %</td>");
    assert_has(kultur, "10 %</td>");
    assert_has(t, "<li><b>3</b>units that lag behind</li>");

    /* Nothing open anywhere: the page says so. */
    summary_init(&s, &units[3], 1);
    t = render_html(&s.summary, &empty_queue);
    assert_lacks(t, "data-lag-unit=");
    assert_has(t, "No unit lags behind");
}
END_TEST

START_TEST(queue_lists_its_first_assets_and_counts_the_rest)
{
    Valv__V1__Asset a = VALV__V1__ASSET__INIT, b = VALV__V1__ASSET__INIT;
    Valv__V1__ReviewStatus pending = VALV__V1__REVIEW_STATUS__INIT;
    Valv__V1__ReviewStatus overdue = VALV__V1__REVIEW_STATUS__INIT;
    Google__Protobuf__Timestamp due = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    due.seconds = SUMMARY_SECONDS;
    a.name = "assets/procapita";
    a.display_name = "Procapita";
    a.owner_unit = "socialnamnden";
    pending.state = VALV__V1__REVIEW_STATE__PENDING;
    a.review = &pending;
    b.name = "assets/stadshuset";
    b.display_name = "Stadshuset";
    b.owner_unit = "fastighetsnamnden";
    overdue.state = VALV__V1__REVIEW_STATE__APPROVED;
    overdue.overdue = true;
    overdue.due_time = &due;
    b.review = &overdue;
    Valv__V1__Asset *assets[] = {&a, &b};
    report_queue queue = {.available = true, .assets = assets, .n_assets = 2, .n_more = 7};

    const char *t = render_html(&two_units.summary, &queue);
    const char *first = strstr(t, "<tr data-asset=\"assets/procapita\">");
    const char *second = strstr(t, "<tr data-asset=\"assets/stadshuset\">");
    ck_assert_ptr_nonnull(first);
    ck_assert_ptr_nonnull(second);
    assert_before(first, second);
    assert_has(first, "<td>Procapita</td><td>socialnamnden</td><td>Pending</td>");
    assert_has(second, "<td>Stadshuset</td><td>fastighetsnamnden</td>"
                       "<td>Approval overdue</td><td>–</td><td>2026-11-22</td>");
    assert_has(t, "... and 7 more.");
    assert_lacks(t, "queue-unavailable");

    queue.n_more = 0;
    t = render_html(&two_units.summary, &queue);
    assert_lacks(t, "more.");
}
END_TEST

START_TEST(queue_not_available_to_the_principal_is_said_not_failed)
{
    report_queue denied = {.available = false,
                           .unavailable_reason = "principal 'lena' may not review assets"};
    const char *t = render_html(&two_units.summary, &denied);
    assert_has(t, "id=\"queue-unavailable\"");
    assert_has(t, "not available to this principal");
    /* The figures still say how many wait: 1 pending, 1 returned, 1 overdue. */
    assert_has(t, "still count 3 assets waiting for review");
    assert_lacks(t, "data-asset=");
    /* The rest of the page is all there. */
    assert_has(t, "id=\"heat-map\"");
    assert_has(t, "id=\"units\"");
}
END_TEST

static Suite *report_suite(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("figures");
    tcase_add_checked_fixture(tc, two_units_setup, free_text);
    tcase_add_test(tc, table_shows_each_units_figures_and_the_total);
    tcase_add_test(tc, table_right_aligns_numbers_under_their_headers);
    tcase_add_test(tc, csv_has_every_figure_with_a_header);
    tcase_add_test(tc, json_is_one_object_per_row_with_numbers);
    tcase_add_test(tc, short_arrays_from_another_valvd_count_as_zero);
    suite_add_tcase(s, tc);

    tc = tcase_create("html");
    tcase_add_checked_fixture(tc, two_units_setup, free_text);
    tcase_add_test(tc, page_names_its_time_and_revision_and_is_self_contained);
    tcase_add_test(tc, page_escapes_every_value_from_the_data);
    tcase_add_test(tc, heat_map_cells_are_coloured_by_count_within_their_block);
    tcase_add_test(tc, lagging_units_are_listed_worst_first_with_their_figures);
    tcase_add_test(tc, queue_lists_its_first_assets_and_counts_the_rest);
    tcase_add_test(tc, queue_not_available_to_the_principal_is_said_not_failed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(report_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failures = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failures ? 1 : 0;
}
