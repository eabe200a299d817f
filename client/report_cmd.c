/* report_cmd.c - valv report: the security picture per owner unit
 * (Admin.GetSummary), as a table or as an HTML page with the review
 * queue. The rendering is report.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "limits.h"
#include "outfile.h"
#include "report.h"
#include "valv/v1/admin.pb-c.h"
#include "valv/v1/review.pb-c.h"

/* A number as text, for the help: TEXT_OF(REPORT_QUEUE_MAX) is "50". */
#define TEXT_OF(n) TEXT_OF_(n)
#define TEXT_OF_(n) #n

#define SUMMARY_METHOD "/valv.v1.Admin/GetSummary"
#define QUEUE_METHOD "/valv.v1.Review/ListReviewQueue"

enum { OPT_OWNER_UNIT = ARGS_OPT_FIRST_COMMAND_OPTION, OPT_HTML };

static const args_command report_command = {
    .path = "valv report",
    .usage =
        "Usage: valv report [--owner-unit UNIT]... [--html FILE]\n"
        "\n"
        "The security picture: for each owner unit, its live assets by kind, by the\n"
        "protection they need, flagged, where their reviews stand and how many are\n"
        "not classified, then the total of all units (the row " REPORT_TOTAL_ROW "). It counts\n"
        "only the assets you may see.\n"
        "\n"
        "Columns of the table:\n"
        "  TOTAL              live assets\n"
        "  INFO, IT, FAC      information assets, IT systems, facilities\n"
        "  L-, L0 ... L4      by highest effective level (of K, R, T and S, inherited\n"
        "                     ones included); L-: no level at all\n"
        "  FLAGGED            flagged: they need the security protection chief's review\n"
        "  PENDING            waiting for review\n"
        "  RETURNED           returned to their owner by the chief\n"
        "  OVERDUE            approved, but the approval is past its due date\n"
        "  UNCLASSIFIED       no level of their own set\n"
        "-o csv and -o json give every figure: those above (information, it_system,\n"
        "facility, level_none, level_0 ... level_4, ...), approved, and the effective\n"
        "security classes (class_not_assessed ... class_top_secret); JSON one object\n"
        "per row.\n"
        "\n"
        "--html FILE writes one HTML page for the security protection chief, to\n"
        "read in any browser or print: a heat map of units against levels and\n"
        "security classes, the units that lag behind (most assets not classified,\n"
        "returned or overdue), the review queue (its first "
        TEXT_OF(REPORT_QUEUE_MAX) " assets), and\n"
        "the figures per unit. The review queue needs the security_chief role; for\n"
        "anyone else the page says it is not available.\n"
        "\n"
        "Flags:\n"
        "  --owner-unit UNIT      only this unit; repeat it for more (also --unit)\n"
        "  --html FILE            write the HTML page to FILE, replaced only once\n"
        "                         complete; '-' writes it to standard output\n"
        "\n" ARGS_GLOBAL_FLAGS_HELP "\n"
        "Examples:\n"
        "  valv report\n"
        "  valv report --owner-unit socialnamnden --owner-unit fastighetsnamnden\n"
        "  valv report -o csv > summary.csv\n"
        "  valv report --html sakerhetslage.html\n",
};

/* ---- The review queue for the page ------------------------------------------------ */

/* Queue assets are read REPORT_QUEUE_MAX at a time when the server picks
 * the unit's (one named, or none), else this many: with several units
 * named, valv picks theirs out of the whole queue. */
#define QUEUE_PAGE_SIZE_UNITS VALV_PAGE_SIZE_MAX

typedef struct {
    report_queue view;
    Valv__V1__Asset *assets[REPORT_QUEUE_MAX];
    /* The pages the listed assets point into: only those that hold one, so
     * at most one page per listed asset. */
    ProtobufCMessage *pages[REPORT_QUEUE_MAX];
    size_t n_pages;
    char reason[VALV_ERROR_MESSAGE_MAX]; /* why the queue is not available */
    bool read_to_end; /* view.n_more counts the rest; else the summary does */
} queue_extract;

static bool unit_wanted(const args_list *units, const char *unit)
{
    for (size_t i = 0; i < units->n; i++) {
        if (strcmp(units->items[i], unit) == 0)
            return true;
    }
    return units->n == 0;
}

/* Takes the first REPORT_QUEUE_MAX assets of page that belong to the
 * units into q and counts the others; keeps the page when it gave any
 * asset, frees it otherwise. */
static void take_queue_page(queue_extract *q, const args_list *units,
                            Valv__V1__ListReviewQueueResponse *page)
{
    size_t taken = 0;
    for (size_t i = 0; i < page->n_assets; i++) {
        if (!unit_wanted(units, page->assets[i]->owner_unit))
            continue;
        if (q->view.n_assets < REPORT_QUEUE_MAX) {
            q->assets[q->view.n_assets++] = page->assets[i];
            taken++;
        } else {
            q->view.n_more++;
        }
    }
    if (taken > 0)
        q->pages[q->n_pages++] = &page->base;
    else
        valv__v1__list_review_queue_response__free_unpacked(page, NULL);
}

/* Reads the review queue of units (all, when none is named) into q, until
 * it has the REPORT_QUEUE_MAX assets the page lists: the server filters by
 * unit when there is one, valv when there are several. A caller who may
 * not read the queue is no error: the page says so. Returns ARGS_EXIT_OK
 * or ARGS_EXIT_FAILED (the error printed). */
static int read_queue(cmd_session *s, const args_list *units, queue_extract *q)
{
    Valv__V1__ListReviewQueueRequest req = VALV__V1__LIST_REVIEW_QUEUE_REQUEST__INIT;
    valv_error err;
    char *token = NULL; /* the next page's, copied: its page may be freed */
    int rc;

    valv_error_clear(&err);
    q->view = (report_queue){.available = true, .assets = q->assets};
    req.page_size = units->n <= 1 ? REPORT_QUEUE_MAX : QUEUE_PAGE_SIZE_UNITS;
    if (units->n == 1)
        req.owner_unit = units->items[0];
    if ((rc = cmd_connect(s, &err)) != VALV_OK)
        goto done;
    do {
        Valv__V1__ListReviewQueueResponse *page = NULL;
        rc = rpc_unary(s->conn, QUEUE_METHOD, &req.base,
                       &valv__v1__list_review_queue_response__descriptor,
                       (ProtobufCMessage **)&page, s->globals.timeout_ms, &err);
        if (rc != VALV_OK)
            goto done;
        free(token);
        token = strdup(page->next_page_token);
        take_queue_page(q, units, page);
        if (token == NULL) {
            rc = valv_error_set(&err, VALV_EINTERNAL, "out of memory");
            goto done;
        }
        req.page_token = token;
    } while (token[0] != '\0' && q->view.n_assets < REPORT_QUEUE_MAX);
    q->read_to_end = token[0] == '\0';
done:
    free(token);
    if (rc == VALV_EPERM) {
        snprintf(q->reason, sizeof q->reason, "%s", err.message);
        q->view = (report_queue){.available = false, .unavailable_reason = q->reason};
        return ARGS_EXIT_OK;
    }
    if (rc != VALV_OK) {
        output_error(stderr, &err);
        return ARGS_EXIT_FAILED;
    }
    return ARGS_EXIT_OK;
}

static void free_queue(queue_extract *q)
{
    for (size_t i = 0; i < q->n_pages; i++)
        protobuf_c_message_free_unpacked(q->pages[i], NULL);
    q->n_pages = 0;
}

/* ---- valv report ------------------------------------------------------------------- */

/* Writes the HTML page to path ("-": standard output). */
static int write_html(cmd_session *s, const args_list *units, const char *path,
                      const Valv__V1__Summary *summary)
{
    queue_extract queue = {.n_pages = 0};
    outfile file;
    valv_error err;
    valv_error_clear(&err);

    /* The file first, so that one that cannot be written costs no reads. */
    if (outfile_open(path, 0, &file, &err) != VALV_OK) {
        fprintf(stderr, "valv: %s\n", err.message);
        return ARGS_EXIT_FAILED;
    }
    int rc = read_queue(s, units, &queue);
    /* The page names REPORT_QUEUE_MAX and counts the rest: by the summary
     * when the queue was not read to its end (what was read counts too, in
     * case the queue grew since the summary). */
    int64_t unread = report_queue_length(summary) - (int64_t)queue.view.n_assets;
    if (queue.view.available && !queue.read_to_end && unread > queue.view.n_more)
        queue.view.n_more = unread;
    bool written = rc == ARGS_EXIT_OK && report_write_html(file.f, summary, &queue.view) == 0;
    /* Said before outfile_close, which changes errno. */
    if (rc == ARGS_EXIT_OK && !written)
        valv_error_set(&err, VALV_EUNAVAILABLE, "cannot write %s: %m", path);
    if (outfile_close(&file, written, &err) != VALV_OK || !written)
        rc = ARGS_EXIT_FAILED;
    if (err.code != VALV_OK)
        fprintf(stderr, "valv: %s\n", err.message);
    else if (rc == ARGS_EXIT_OK && strcmp(path, "-") != 0)
        fprintf(stderr, "valv: wrote the report to %s\n", path);
    free_queue(&queue);
    return rc;
}

int cmd_report(cmd_session *s, int argc, char **argv)
{
    static const struct option options[] = {
        {"owner-unit", required_argument, NULL, OPT_OWNER_UNIT},
        {"unit", required_argument, NULL, OPT_OWNER_UNIT},
        {"html", required_argument, NULL, OPT_HTML},
        ARGS_COMMON_OPTIONS,
        {0},
    };
    Valv__V1__GetSummaryRequest req = VALV__V1__GET_SUMMARY_REQUEST__INIT;
    Valv__V1__Summary *summary = NULL;
    args_list units = {0};
    const char *html = NULL;
    int rc = ARGS_EXIT_OK;

    args_parser p = args_parser_init(&report_command, &s->globals, argc, argv, options);
    int opt;
    while (rc == ARGS_EXIT_OK && (opt = args_next(&p)) != ARGS_END) {
        switch (opt) {
        case ARGS_STOP:
            rc = p.exit_code;
            goto done;
        case OPT_OWNER_UNIT:
            rc = args_list_add(&units, optarg);
            break;
        case OPT_HTML:
            html = optarg;
            break;
        }
    }
    if (rc == ARGS_EXIT_OK)
        rc = args_operands(&p, 0, 0, "");
    if (rc == ARGS_EXIT_OK && html != NULL && html[0] == '\0')
        rc = args_usage_error(&report_command,
                              "--html needs a file name, or '-' for standard output");
    if (rc != ARGS_EXIT_OK)
        goto done;

    req.n_owner_units = units.n;
    req.owner_units = units.items;
    rc = cmd_call(s, SUMMARY_METHOD, &req.base, &valv__v1__summary__descriptor,
                  (ProtobufCMessage **)&summary);
    if (rc != ARGS_EXIT_OK)
        goto done;
    if (html != NULL) {
        rc = write_html(s, &units, html, summary);
    } else {
        rc = cmd_output_status(stdout, report_print(stdout, s->globals.format, summary));
    }
done:
    if (summary != NULL)
        valv__v1__summary__free_unpacked(summary, NULL);
    args_list_free(&units);
    return rc;
}
