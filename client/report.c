/* report.c - the security picture as a table and as an HTML page (see
 * report.h). */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "google/protobuf/timestamp.pb-c.h"
#include "output.h"

/* "2026-11-22 17:05 CET" or "2026-11-22T16:05:00Z", with room to spare. */
#define TIME_TEXT_MAX 64 /* at least OUTPUT_TIME_MAX */
/* Digits of the largest int64, its sign and the NUL. */
#define NUMBER_TEXT_MAX 24
/* "#rrggbb" and the NUL. */
#define COLOUR_TEXT_MAX 8

/* The heat map's scale: a count of 0 is white; the others run from LIGHT
 * (the smallest) to DARK (the largest count of the block), so a cell with
 * a single asset still stands out from an empty one. */
#define HEAT_ZERO_RGB 0xffffff
#define HEAT_LIGHT_RGB 0xfee8c8
#define HEAT_DARK_RGB 0xb30000
/* From this share of the block's largest count on, the cell's text is
 * white: dark text on the darker reds is hard to read. */
#define HEAT_WHITE_TEXT_FROM 0.5

/* ---- The figures of a unit ------------------------------------------------ */

/* Where a figure comes from in a UnitSummary. */
typedef enum {
    FIGURE_TOTAL,
    FIGURE_KIND,  /* by_kind[index] */
    FIGURE_LEVEL, /* by_level[index]: the highest effective level */
    FIGURE_CLASS, /* by_security_class[index]: the effective security class */
    FIGURE_FLAGGED,
    FIGURE_PENDING,
    FIGURE_RETURNED,
    FIGURE_APPROVED,
    FIGURE_OVERDUE,
    FIGURE_UNCLASSIFIED
} figure_kind;

typedef struct {
    figure_kind kind;
    int index;           /* the enum value, for FIGURE_KIND, _LEVEL and _CLASS */
    const char *key;     /* CSV header, JSON key, and the HTML's data-column */
    const char *header;  /* the table's header; NULL: only in CSV, JSON and HTML */
    const char *label;   /* the HTML page's header */
    const char *swedish; /* the Swedish term under it; NULL: none */
} figure;

/* Every figure, in the order of the CSV columns. The table keeps to what
 * fits a terminal; the machine formats and the page have everything. */
static const figure figures[] = {
    {FIGURE_TOTAL, 0, "total", "TOTAL", "Assets", NULL},
    {FIGURE_KIND, VALV__V1__ASSET_KIND__INFORMATION, "information", "INFO", "Information",
     "informationstillgångar"},
    {FIGURE_KIND, VALV__V1__ASSET_KIND__IT_SYSTEM, "it_system", "IT", "IT systems", "IT-system"},
    {FIGURE_KIND, VALV__V1__ASSET_KIND__FACILITY, "facility", "FAC", "Facilities",
     "lokaler och anläggningar"},
    {FIGURE_LEVEL, VALV__V1__LEVEL__LEVEL_UNSPECIFIED, "level_none", "L-", "No level",
     "ej klassad"},
    {FIGURE_LEVEL, VALV__V1__LEVEL__NEGLIGIBLE, "level_0", "L0", "0 negligible", "försumbar"},
    {FIGURE_LEVEL, VALV__V1__LEVEL__MODERATE, "level_1", "L1", "1 moderate", "måttlig"},
    {FIGURE_LEVEL, VALV__V1__LEVEL__SIGNIFICANT, "level_2", "L2", "2 significant", "betydande"},
    {FIGURE_LEVEL, VALV__V1__LEVEL__SERIOUS, "level_3", "L3", "3 serious", "allvarlig"},
    {FIGURE_LEVEL, VALV__V1__LEVEL__VERY_SERIOUS, "level_4", "L4", "4 very serious",
     "synnerligen allvarlig"},
    {FIGURE_FLAGGED, 0, "flagged", "FLAGGED", "Flagged", NULL},
    {FIGURE_PENDING, 0, "pending", "PENDING", "Pending review", NULL},
    {FIGURE_RETURNED, 0, "returned", "RETURNED", "Returned to owner", NULL},
    {FIGURE_APPROVED, 0, "approved", NULL, "Approved", NULL},
    {FIGURE_OVERDUE, 0, "overdue", "OVERDUE", "Review overdue", NULL},
    {FIGURE_UNCLASSIFIED, 0, "unclassified", "UNCLASSIFIED", "Not classified", "ej klassade"},
    {FIGURE_CLASS, VALV__V1__SECURITY_CLASS__SECURITY_CLASS_UNSPECIFIED, "class_not_assessed",
     NULL, "Not assessed", "ej bedömd"},
    {FIGURE_CLASS, VALV__V1__SECURITY_CLASS__NOT_CLASSIFIED, "class_not_classified", NULL,
     "None", "ingen"},
    {FIGURE_CLASS, VALV__V1__SECURITY_CLASS__RESTRICTED, "class_restricted", NULL, "Restricted",
     "begränsat hemlig"},
    {FIGURE_CLASS, VALV__V1__SECURITY_CLASS__CONFIDENTIAL, "class_confidential", NULL,
     "Confidential", "konfidentiell"},
    {FIGURE_CLASS, VALV__V1__SECURITY_CLASS__SECRET, "class_secret", NULL, "Secret", "hemlig"},
    {FIGURE_CLASS, VALV__V1__SECURITY_CLASS__TOP_SECRET, "class_top_secret", NULL, "Top secret",
     "kvalificerat hemlig"},
};
#define N_FIGURES (sizeof figures / sizeof figures[0])

static const Valv__V1__UnitSummary no_figures = VALV__V1__UNIT_SUMMARY__INIT;

/* values[index], or 0 past the end of a shorter array. */
static int64_t count_at(const int64_t *values, size_t n_values, int index)
{
    return index >= 0 && (size_t)index < n_values ? values[index] : 0;
}

static int64_t figure_value(const figure *f, const Valv__V1__UnitSummary *u)
{
    switch (f->kind) {
    case FIGURE_TOTAL:
        return u->total;
    case FIGURE_KIND:
        return count_at(u->by_kind, u->n_by_kind, f->index);
    case FIGURE_LEVEL:
        return count_at(u->by_level, u->n_by_level, f->index);
    case FIGURE_CLASS:
        return count_at(u->by_security_class, u->n_by_security_class, f->index);
    case FIGURE_FLAGGED:
        return u->flagged;
    case FIGURE_PENDING:
        return u->pending;
    case FIGURE_RETURNED:
        return u->returned;
    case FIGURE_APPROVED:
        return u->approved;
    case FIGURE_OVERDUE:
        return u->overdue;
    case FIGURE_UNCLASSIFIED:
        return u->unclassified;
    }
    return 0;
}

/* The summary's total row, or zeros when valvd sent none. */
static const Valv__V1__UnitSummary *total_of(const Valv__V1__Summary *summary)
{
    return summary->total != NULL ? summary->total : &no_figures;
}

/* The name a row is shown under: the unit, or REPORT_TOTAL_ROW. */
static const char *row_name(const Valv__V1__Summary *summary, size_t row)
{
    return row < summary->n_units ? summary->units[row]->owner_unit : REPORT_TOTAL_ROW;
}

/* Row row of the report: the units, then the total. */
static const Valv__V1__UnitSummary *row_figures(const Valv__V1__Summary *summary, size_t row)
{
    return row < summary->n_units ? summary->units[row] : total_of(summary);
}

/* Assets waiting for the chief: PENDING, RETURNED and overdue. */
static int64_t queue_count(const Valv__V1__UnitSummary *u)
{
    return u->pending + u->returned + u->overdue;
}

int64_t report_queue_length(const Valv__V1__Summary *summary)
{
    return queue_count(total_of(summary));
}

/* What a unit has left undone: assets not classified, and reviews returned
 * to it or overdue. An asset can count twice (not classified and returned),
 * which is what the unit has to do about it. */
static int64_t open_items(const Valv__V1__UnitSummary *u)
{
    return u->unclassified + u->returned + u->overdue;
}

/* How a time is shown: the page in local time, the table as the rest of
 * the CLI prints times. */
typedef enum {
    SHOWN_LOCAL, /* "2026-11-22 17:05 CET" */
    SHOWN_UTC,   /* "2026-11-22T16:05:00Z" */
    SHOWN_DATE   /* "2026-11-22", local */
} time_style;

/* ts in style into buf; "" when ts is NULL. */
static void format_time(const Google__Protobuf__Timestamp *ts, time_style style,
                        char buf[TIME_TEXT_MAX])
{
    static const char *const local_formats[] = {[SHOWN_LOCAL] = "%Y-%m-%d %H:%M %Z",
                                                [SHOWN_DATE] = "%Y-%m-%d"};
    buf[0] = '\0';
    if (style == SHOWN_UTC) {
        output_time(ts, false, buf);
        return;
    }
    if (ts == NULL)
        return;
    time_t seconds = (time_t)ts->seconds;
    struct tm tm;
    if (localtime_r(&seconds, &tm) != NULL &&
        strftime(buf, TIME_TEXT_MAX, local_formats[style], &tm) == 0)
        buf[0] = '\0';
}

/* ---- Table, CSV, JSON --------------------------------------------------------- */

static void format_number(int64_t n, char buf[NUMBER_TEXT_MAX])
{
    snprintf(buf, NUMBER_TEXT_MAX, "%" PRId64, n);
}

/* The aligned table: names left, numbers right-aligned under their
 * headers, so that a column of counts reads at a glance. */
static void print_table(FILE *out, const Valv__V1__Summary *summary)
{
    size_t n_rows = summary->n_units + 1;
    size_t name_width = strlen("UNIT");
    int widths[N_FIGURES];
    char number[NUMBER_TEXT_MAX];
    char time[TIME_TEXT_MAX];

    for (size_t r = 0; r < n_rows; r++) {
        size_t len = strlen(row_name(summary, r));
        if (len > name_width)
            name_width = len;
    }
    for (size_t c = 0; c < N_FIGURES; c++) {
        widths[c] = figures[c].header != NULL ? (int)strlen(figures[c].header) : 0;
        for (size_t r = 0; r < n_rows && figures[c].header != NULL; r++) {
            format_number(figure_value(&figures[c], row_figures(summary, r)), number);
            if ((int)strlen(number) > widths[c])
                widths[c] = (int)strlen(number);
        }
    }

    format_time(summary->time, SHOWN_UTC, time);
    fprintf(out, "Revision %" PRId64 "%s%s\n\n", summary->revision, time[0] != '\0' ? ", " : "",
            time);
    fprintf(out, "%-*s", (int)name_width, "UNIT");
    for (size_t c = 0; c < N_FIGURES; c++) {
        if (figures[c].header != NULL)
            fprintf(out, "  %*s", widths[c], figures[c].header);
    }
    fputc('\n', out);
    for (size_t r = 0; r < n_rows; r++) {
        fprintf(out, "%-*s", (int)name_width, row_name(summary, r));
        for (size_t c = 0; c < N_FIGURES; c++) {
            if (figures[c].header == NULL)
                continue;
            format_number(figure_value(&figures[c], row_figures(summary, r)), number);
            fprintf(out, "  %*s", widths[c], number);
        }
        fputc('\n', out);
    }
}

static void print_csv(FILE *out, const Valv__V1__Summary *summary)
{
    char number[NUMBER_TEXT_MAX];
    output_csv_field(out, ',', true, "owner_unit");
    for (size_t c = 0; c < N_FIGURES; c++)
        output_csv_field(out, ',', false, figures[c].key);
    fputs("\r\n", out);
    for (size_t r = 0; r < summary->n_units + 1; r++) {
        output_csv_field(out, ',', true, row_name(summary, r));
        for (size_t c = 0; c < N_FIGURES; c++) {
            format_number(figure_value(&figures[c], row_figures(summary, r)), number);
            output_csv_field(out, ',', false, number);
        }
        fputs("\r\n", out);
    }
}

/* One JSON line per row, with the CSV's keys in the CSV's order. */
static int print_json(FILE *out, const Valv__V1__Summary *summary)
{
    int rc = 0;
    for (size_t r = 0; r < summary->n_units + 1 && rc == 0; r++) {
        const Valv__V1__UnitSummary *u = row_figures(summary, r);
        char *text = NULL;
        json_t *row = json_pack("{s:s}", "owner_unit", row_name(summary, r));
        for (size_t c = 0; c < N_FIGURES && row != NULL; c++) {
            if (json_object_set_new(row, figures[c].key,
                                    json_integer(figure_value(&figures[c], u))) != 0) {
                json_decref(row);
                row = NULL;
            }
        }
        if (row != NULL)
            text = json_dumps(row, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (text == NULL) {
            errno = ENOMEM;
            rc = -1;
        } else {
            fprintf(out, "%s\n", text);
        }
        free(text);
        json_decref(row);
    }
    return rc;
}

int report_print(FILE *out, output_format format, const Valv__V1__Summary *summary)
{
    int rc = 0;
    switch (format) {
    case OUTPUT_TABLE:
        print_table(out, summary);
        break;
    case OUTPUT_CSV:
        print_csv(out, summary);
        break;
    case OUTPUT_JSON:
        rc = print_json(out, summary);
        break;
    }
    if (rc == 0 && ferror(out))
        rc = -1;
    return rc;
}

/* ---- HTML: escaping and small pieces -------------------------------------------- */

/* Writes text with the five characters that mean something in HTML (in
 * text and in quoted attribute values alike) as entities. NULL: nothing. */
static void html_escaped(FILE *out, const char *text)
{
    for (const char *p = text; p != NULL && *p != '\0'; p++) {
        switch (*p) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&#39;", out);
            break;
        default:
            fputc(*p, out);
        }
    }
}

/* A header cell: the English label, the Swedish term below it. */
static void html_figure_header(FILE *out, const figure *f, const char *class_name)
{
    fprintf(out, "<th scope=\"col\"%s%s%s>%s", class_name != NULL ? " class=\"" : "",
            class_name != NULL ? class_name : "", class_name != NULL ? "\"" : "", f->label);
    if (f->swedish != NULL)
        fprintf(out, "<br><span class=\"sv\" lang=\"sv\">%s</span>", f->swedish);
    fputs("</th>", out);
}

/* The row header of a unit's row. */
static void html_row_header(FILE *out, const Valv__V1__Summary *summary, size_t row)
{
    fputs("<th scope=\"row\">", out);
    html_escaped(out, row_name(summary, row));
    fputs("</th>", out);
}

/* "#rrggbb" for count on the heat map's scale up to max; *white_text when
 * the cell is dark enough to need white text. */
static void heat_colour(int64_t count, int64_t max, char colour[COLOUR_TEXT_MAX],
                        bool *white_text)
{
    unsigned rgb = HEAT_ZERO_RGB;
    double share = count > 0 && max > 0 ? (double)count / (double)max : 0.0;
    if (share > 1.0)
        share = 1.0;
    if (count > 0) {
        rgb = 0;
        for (int shift = 16; shift >= 0; shift -= 8) {
            double light = (HEAT_LIGHT_RGB >> shift) & 0xff;
            double dark = (HEAT_DARK_RGB >> shift) & 0xff;
            rgb |= (unsigned)(light + (dark - light) * share + 0.5) << shift;
        }
    }
    snprintf(colour, COLOUR_TEXT_MAX, "#%06x", rgb);
    *white_text = share >= HEAT_WHITE_TEXT_FROM;
}

/* ---- HTML: the sections ----------------------------------------------------------- */

static const char html_style[] =
    "body{font-family:\"Segoe UI\",Arial,Helvetica,sans-serif;color:#1d1d1b;margin:24px 32px;"
    "font-size:14px;line-height:1.4}\n"
    "h1{font-size:24px;margin:0 0 4px}\n"
    "h2{font-size:18px;margin:28px 0 6px;border-bottom:2px solid #1d1d1b;padding-bottom:2px}\n"
    "p{margin:4px 0 8px;max-width:60em}\n"
    ".as-of{color:#4a4a48}\n"
    ".figures{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0 0;padding:0;list-style:none}\n"
    ".figures li{border:1px solid #c8c8c6;border-radius:4px;padding:8px 14px;min-width:120px}\n"
    ".figures b{display:block;font-size:24px}\n"
    "table{border-collapse:collapse;margin:8px 0}\n"
    "th,td{border:1px solid #c8c8c6;padding:4px 8px}\n"
    "thead th{background:#f0f0ee;font-weight:600;vertical-align:bottom}\n"
    "th[scope=row]{text-align:left;font-weight:600;background:#fafaf8;white-space:nowrap}\n"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
    "td.heat{text-align:center;min-width:52px;font-variant-numeric:tabular-nums}\n"
    "tr.total th,tr.total td{font-weight:700;border-top:2px solid #1d1d1b}\n"
    ".block{border-left:3px solid #1d1d1b}\n"
    ".sv{font-weight:400;font-size:12px;color:#4a4a48}\n"
    ".track{display:inline-block;width:100px;height:10px;background:#ececea;"
    "vertical-align:middle;margin-right:6px}\n"
    ".bar{display:block;height:100%;background:#b30000}\n"
    ".note{border-left:4px solid #b30000;background:#fdf3f0;padding:8px 12px}\n"
    ".scale span{display:inline-block;width:28px;height:12px;border:1px solid #c8c8c6;"
    "vertical-align:middle}\n"
    "footer{margin-top:32px;color:#4a4a48;font-size:12px}\n"
    "@media print{body{margin:0;font-size:10px}h2{break-after:avoid}"
    "table{break-inside:avoid}}\n"
    "@page{size:A4 landscape;margin:12mm}\n";

static void html_head(FILE *out, const Valv__V1__Summary *summary)
{
    char local[TIME_TEXT_MAX], utc[TIME_TEXT_MAX];
    format_time(summary->time, SHOWN_LOCAL, local);
    format_time(summary->time, SHOWN_UTC, utc);
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
          out);
    fprintf(out, "<title>Security picture %s, revision %" PRId64 "</title>\n", local,
            summary->revision);
    fprintf(out, "<style>\n%s</style>\n</head>\n<body>\n", html_style);
    fputs("<header>\n<h1>Security picture of the inventory</h1>\n", out);
    fprintf(out,
            "<p class=\"as-of\">Figures as of <time datetime=\"%s\">%s</time>, revision "
            "%" PRId64 ". They count the live assets this principal may see.</p>\n</header>\n",
            utc, local[0] != '\0' ? local : "(time not given)", summary->revision);
}

static void html_key_figures(FILE *out, const Valv__V1__UnitSummary *total, size_t n_lagging)
{
    fprintf(out,
            "<ul class=\"figures\">\n"
            "<li><b>%" PRId64 "</b>assets</li>\n"
            "<li><b>%" PRId64 "</b>flagged for security protection</li>\n"
            "<li><b>%" PRId64 "</b>waiting for review</li>\n"
            "<li><b>%" PRId64 "</b>not classified</li>\n"
            "<li><b>%zu</b>units that lag behind</li>\n"
            "</ul>\n",
            total->total, total->flagged, queue_count(total), total->unclassified, n_lagging);
}

/* The largest count of kind (FIGURE_LEVEL or FIGURE_CLASS) over the units'
 * cells: the darkest colour of that block. */
static int64_t block_max(const Valv__V1__Summary *summary, figure_kind kind)
{
    int64_t max = 0;
    for (size_t c = 0; c < N_FIGURES; c++) {
        for (size_t r = 0; r < summary->n_units && figures[c].kind == kind; r++) {
            int64_t v = figure_value(&figures[c], summary->units[r]);
            if (v > max)
                max = v;
        }
    }
    return max;
}

static void html_heat_cell(FILE *out, const Valv__V1__Summary *summary, size_t row,
                           const figure *f, int64_t max, bool first_of_block)
{
    int64_t count = figure_value(f, row_figures(summary, row));
    bool total_row = row == summary->n_units;
    fprintf(out, "<td class=\"heat%s\" data-unit=\"", first_of_block ? " block" : "");
    html_escaped(out, row_name(summary, row));
    fprintf(out, "\" data-column=\"%s\"", f->key);
    /* The total row is not coloured: it would always be the darkest. */
    if (!total_row) {
        char colour[COLOUR_TEXT_MAX];
        bool white_text;
        heat_colour(count, max, colour, &white_text);
        fprintf(out, " style=\"background:%s;color:%s\"", colour,
                white_text ? "#ffffff" : "#1d1d1b");
    }
    fprintf(out, ">%" PRId64 "</td>", count);
}

static void html_heat_map(FILE *out, const Valv__V1__Summary *summary)
{
    int64_t max_level = block_max(summary, FIGURE_LEVEL);
    int64_t max_class = block_max(summary, FIGURE_CLASS);
    size_t n_levels = 0, n_classes = 0;
    for (size_t c = 0; c < N_FIGURES; c++) {
        n_levels += figures[c].kind == FIGURE_LEVEL;
        n_classes += figures[c].kind == FIGURE_CLASS;
    }

    fputs("<section id=\"heat-map\">\n<h2>Protection needed, by unit</h2>\n"
          "<p>Each unit's assets by their highest consequence level (the highest of K "
          "<span lang=\"sv\">konfidentialitet</span>, R <span lang=\"sv\">riktighet</span>, "
          "T <span lang=\"sv\">tillgänglighet</span> and S <span lang=\"sv\">spårbarhet</span>, "
          "inherited levels included), and by their security class "
          "(<span lang=\"sv\">säkerhetsskyddsklass</span>). The darker the cell, the more "
          "assets: each block is scaled to its largest count.</p>\n",
          out);
    fputs("<table class=\"heat-map\">\n<thead>\n<tr><th rowspan=\"2\" scope=\"col\">Unit</th>",
          out);
    fprintf(out,
            "<th colspan=\"%zu\" class=\"block\" scope=\"colgroup\">Highest consequence level "
            "<span class=\"sv\" lang=\"sv\">konsekvensnivå</span></th>",
            n_levels);
    fprintf(out,
            "<th colspan=\"%zu\" class=\"block\" scope=\"colgroup\">Security class "
            "<span class=\"sv\" lang=\"sv\">säkerhetsskyddsklass</span></th></tr>\n<tr>",
            n_classes);
    figure_kind previous = FIGURE_TOTAL;
    for (size_t c = 0; c < N_FIGURES; c++) {
        if (figures[c].kind != FIGURE_LEVEL && figures[c].kind != FIGURE_CLASS)
            continue;
        html_figure_header(out, &figures[c], figures[c].kind != previous ? "block" : NULL);
        previous = figures[c].kind;
    }
    fputs("</tr>\n</thead>\n<tbody>\n", out);
    for (size_t r = 0; r < summary->n_units + 1; r++) {
        fprintf(out, "<tr%s>", r == summary->n_units ? " class=\"total\"" : "");
        html_row_header(out, summary, r);
        previous = FIGURE_TOTAL;
        for (size_t c = 0; c < N_FIGURES; c++) {
            figure_kind kind = figures[c].kind;
            if (kind != FIGURE_LEVEL && kind != FIGURE_CLASS)
                continue;
            html_heat_cell(out, summary, r, &figures[c],
                           kind == FIGURE_LEVEL ? max_level : max_class, kind != previous);
            previous = kind;
        }
        fputs("</tr>\n", out);
    }
    fputs("</tbody>\n</table>\n", out);

    /* The scale, so that a colour can be read back as a count. */
    char colour[COLOUR_TEXT_MAX];
    bool white_text;
    fputs("<p class=\"scale\">Scale: ", out);
    heat_colour(0, 1, colour, &white_text);
    fprintf(out, "<span style=\"background:%s\"></span> none, ", colour);
    heat_colour(1, 1000, colour, &white_text);
    fprintf(out, "<span style=\"background:%s\"></span> a few, ", colour);
    heat_colour(1, 2, colour, &white_text);
    fprintf(out, "<span style=\"background:%s\"></span> half the largest, ", colour);
    heat_colour(1, 1, colour, &white_text);
    fprintf(out, "<span style=\"background:%s\"></span> the largest count of the block.</p>\n"
                 "</section>\n",
            colour);
}

/* A unit that lags behind: its figures and how much it has left undone. */
typedef struct {
    const Valv__V1__UnitSummary *unit;
    int64_t open; /* open_items(unit) */
} lagging_unit;

/* Worst first: the largest share of open items among the unit's assets,
 * then the most open items, then by name, so that the order is stable. */
static int compare_lagging(const void *a, const void *b)
{
    const lagging_unit *x = a, *y = b;
    /* x->open / x->total against y->open / y->total, without division. */
    int64_t left = x->open * y->unit->total;
    int64_t right = y->open * x->unit->total;
    if (left != right)
        return left > right ? -1 : 1;
    if (x->open != y->open)
        return x->open > y->open ? -1 : 1;
    return strcmp(x->unit->owner_unit, y->unit->owner_unit);
}

/* The units with anything open, worst first, in *out (malloc'd; the
 * caller frees). Returns -1 (errno ENOMEM) when out of memory. */
static int find_lagging(const Valv__V1__Summary *summary, lagging_unit **out, size_t *n_out)
{
    *n_out = 0;
    *out = malloc((summary->n_units + 1) * sizeof **out);
    if (*out == NULL) {
        errno = ENOMEM;
        return -1;
    }
    for (size_t i = 0; i < summary->n_units; i++) {
        int64_t open = open_items(summary->units[i]);
        if (open > 0)
            (*out)[(*n_out)++] = (lagging_unit){summary->units[i], open};
    }
    qsort(*out, *n_out, sizeof **out, compare_lagging);
    return 0;
}

/* The share open / total in whole percent; 0 for a unit with no assets. */
static int64_t percent_of(int64_t part, int64_t whole)
{
    return whole > 0 ? (part * 100 + whole / 2) / whole : 0;
}

static void html_lagging(FILE *out, const lagging_unit *lagging, size_t n_lagging)
{
    fputs("<section id=\"lagging\">\n<h2>Units that lag behind</h2>\n", out);
    if (n_lagging == 0) {
        fputs("<p>No unit lags behind: every asset is classified, and no review is returned "
              "or overdue.</p>\n</section>\n",
              out);
        return;
    }
    fputs("<p>Units with assets not classified, reviews returned to them, or approvals "
          "overdue, worst first: by their share of open items among their assets. An asset "
          "that is both not classified and returned counts twice.</p>\n"
          "<table class=\"lagging\">\n<thead><tr><th scope=\"col\">Unit</th>"
          "<th scope=\"col\">Assets</th><th scope=\"col\">Not classified</th>"
          "<th scope=\"col\">Returned</th><th scope=\"col\">Overdue</th>"
          "<th scope=\"col\">Open items per asset</th></tr></thead>\n<tbody>\n",
          out);
    for (size_t i = 0; i < n_lagging; i++) {
        const Valv__V1__UnitSummary *u = lagging[i].unit;
        int64_t percent = percent_of(lagging[i].open, u->total);
        fputs("<tr data-lag-unit=\"", out);
        html_escaped(out, u->owner_unit);
        fputs("\"><th scope=\"row\">", out);
        html_escaped(out, u->owner_unit);
        fprintf(out,
                "</th><td class=\"n\">%" PRId64 "</td><td class=\"n\">%" PRId64 "</td>"
                "<td class=\"n\">%" PRId64 "</td><td class=\"n\">%" PRId64 "</td>"
                "<td><span class=\"track\"><span class=\"bar\" style=\"width:%" PRId64
                "%%\"></span></span>%" PRId64 " %%</td></tr>\n",
                u->total, u->unclassified, u->returned, u->overdue,
                percent > 100 ? 100 : percent, percent);
    }
    fputs("</tbody>\n</table>\n</section>\n", out);
}

/* How the queue shows an asset's review: overdue approvals by that name. */
static const char *review_state_text(const Valv__V1__ReviewStatus *r)
{
    if (r == NULL)
        return "";
    if (r->overdue)
        return "Approval overdue";
    switch (r->state) {
    case VALV__V1__REVIEW_STATE__PENDING:
        return "Pending";
    case VALV__V1__REVIEW_STATE__RETURNED:
        return "Returned to owner";
    case VALV__V1__REVIEW_STATE__APPROVED:
        return "Approved";
    default:
        return "";
    }
}

static void html_queue_row(FILE *out, const Valv__V1__Asset *a)
{
    const Valv__V1__ReviewStatus *r = a->review;
    char since[TIME_TEXT_MAX], due[TIME_TEXT_MAX];
    format_time(r != NULL ? r->state_time : NULL, SHOWN_DATE, since);
    format_time(r != NULL ? r->due_time : NULL, SHOWN_DATE, due);
    const char *const cells[] = {a->display_name, a->owner_unit, review_state_text(r), since,
                                 due};

    fputs("<tr data-asset=\"", out);
    html_escaped(out, a->name);
    fputs("\"><th scope=\"row\">", out);
    html_escaped(out, a->name);
    fputs("</th>", out);
    for (size_t c = 0; c < sizeof cells / sizeof cells[0]; c++) {
        fputs("<td>", out);
        html_escaped(out, cells[c][0] != '\0' ? cells[c] : "–");
        fputs("</td>", out);
    }
    fputs("</tr>\n", out);
}

static void html_queue(FILE *out, const Valv__V1__UnitSummary *total, const report_queue *queue)
{
    fputs("<section id=\"review-queue\">\n<h2>Waiting for the security protection chief "
          "<span class=\"sv\" lang=\"sv\">säkerhetsskyddschef</span></h2>\n",
          out);
    if (!queue->available) {
        fprintf(out,
                "<p class=\"note\" id=\"queue-unavailable\">The review queue is not available "
                "to this principal: it needs the right to review (the security_chief role). "
                "The figures above still count %" PRId64 " assets waiting for review.",
                queue_count(total));
        if (queue->unavailable_reason != NULL && queue->unavailable_reason[0] != '\0') {
            fputs(" valvd said: ", out);
            html_escaped(out, queue->unavailable_reason);
        }
        fputs("</p>\n</section>\n", out);
        return;
    }
    if (queue->n_assets == 0) {
        fputs("<p>The review queue is empty.</p>\n</section>\n", out);
        return;
    }
    fputs("<p>Flagged assets that are pending review, returned to their owner, or whose "
          "approval is overdue, oldest first.</p>\n"
          "<table class=\"queue\">\n<thead><tr><th scope=\"col\">Asset</th>"
          "<th scope=\"col\">Display name</th><th scope=\"col\">Unit</th>"
          "<th scope=\"col\">State</th><th scope=\"col\">Since</th>"
          "<th scope=\"col\">Due</th></tr></thead>\n<tbody>\n",
          out);
    for (size_t i = 0; i < queue->n_assets; i++)
        html_queue_row(out, queue->assets[i]);
    fputs("</tbody>\n</table>\n", out);
    if (queue->n_more > 0)
        fprintf(out,
                "<p class=\"more\">... and %" PRId64 " more. List them all with "
                "<code>valv review queue --all</code>.</p>\n",
                queue->n_more);
    fputs("</section>\n", out);
}

/* The figures per unit that are not in the heat map. */
static void html_unit_table(FILE *out, const Valv__V1__Summary *summary)
{
    fputs("<section id=\"units\">\n<h2>Figures per unit</h2>\n"
          "<table class=\"units\">\n<thead><tr><th scope=\"col\">Unit</th>",
          out);
    for (size_t c = 0; c < N_FIGURES; c++) {
        if (figures[c].kind != FIGURE_LEVEL && figures[c].kind != FIGURE_CLASS)
            html_figure_header(out, &figures[c], NULL);
    }
    fputs("</tr></thead>\n<tbody>\n", out);
    for (size_t r = 0; r < summary->n_units + 1; r++) {
        fprintf(out, "<tr%s>", r == summary->n_units ? " class=\"total\"" : "");
        html_row_header(out, summary, r);
        for (size_t c = 0; c < N_FIGURES; c++) {
            if (figures[c].kind != FIGURE_LEVEL && figures[c].kind != FIGURE_CLASS)
                fprintf(out, "<td class=\"n\">%" PRId64 "</td>",
                        figure_value(&figures[c], row_figures(summary, r)));
        }
        fputs("</tr>\n", out);
    }
    fputs("</tbody>\n</table>\n</section>\n", out);
}

static void html_foot(FILE *out)
{
    fputs("<footer>\n<p>Made by <code>valv report --html</code>. Levels are the KLASSA "
          "consequence levels 0 (negligible, <span lang=\"sv\">försumbar</span>) to 4 (very "
          "serious, <span lang=\"sv\">synnerligen allvarlig</span>). An asset is flagged when "
          "its security class is restricted or higher, it is security sensitive or a "
          "protected object (<span lang=\"sv\">skyddsobjekt</span>), or any level is 4; a "
          "flagged asset needs the security protection chief's review, again each year. "
          "Deleted assets are not counted.</p>\n</footer>\n</body>\n</html>\n",
          out);
}

int report_write_html(FILE *out, const Valv__V1__Summary *summary, const report_queue *queue)
{
    lagging_unit *lagging = NULL;
    size_t n_lagging = 0;
    int rc = find_lagging(summary, &lagging, &n_lagging);
    if (rc != 0)
        goto done;
    html_head(out, summary);
    html_key_figures(out, total_of(summary), n_lagging);
    html_heat_map(out, summary);
    html_lagging(out, lagging, n_lagging);
    html_queue(out, total_of(summary), queue);
    html_unit_table(out, summary);
    html_foot(out);
    if (ferror(out))
        rc = -1;
done:
    free(lagging);
    return rc;
}
