/* report.h - the security picture of `valv report`: Admin.GetSummary as a
 * table of figures per owner unit, and as one HTML page for the security
 * protection chief.
 *
 * Pure rendering: the caller fetches the summary and the review queue and
 * hands them in; nothing here talks to valvd, so every figure and every
 * cell can be tested from messages built in a test.
 *
 * Every function borrows its arguments and writes to the FILE it is given.
 * Each returns 0, or -1 when out of memory or the write failed (errno says
 * which). A summary from an older or newer valvd whose by_kind, by_level or
 * by_security_class arrays are shorter than this client expects counts the
 * missing entries as 0.
 */
#ifndef VALV_REPORT_H
#define VALV_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "output.h"
#include "valv/v1/admin.pb-c.h"
#include "valv/v1/asset.pb-c.h"

/* The review-queue assets the HTML page lists by name; the rest are
 * counted ("... and 12 more"), since the page is read, not scrolled. */
#define REPORT_QUEUE_MAX 50

/* The row of the table, CSV and JSON that sums every unit. Owner units are
 * lower case (^[a-z][a-z0-9-]{0,62}$), so no unit can be called this. */
#define REPORT_TOTAL_ROW "TOTAL"

/* Prints one row per unit of summary, in the summary's order, then the
 * total row:
 *   table  UNIT TOTAL INFO IT FAC L- L0 L1 L2 L3 L4 FLAGGED PENDING
 *          RETURNED OVERDUE UNCLASSIFIED, numbers right-aligned, under a
 *          line naming the revision and time of the figures;
 *   csv    every figure: owner_unit, total, information, it_system,
 *          facility, level_none, level_0 ... level_4, flagged, pending,
 *          returned, approved, overdue, unclassified, and the security
 *          classes class_not_assessed, class_not_classified,
 *          class_restricted, class_confidential, class_secret,
 *          class_top_secret;
 *   json   one object per row with the CSV's keys, every count a number.
 * L- and level_none count assets with no effective level at all; Ln
 * those whose highest effective level (of K, R, T and S) is n. */
int report_print(FILE *out, output_format format, const Valv__V1__Summary *summary);

/* The review queue as the HTML page shows it. */
typedef struct {
    bool available;                 /* false: the caller may not read the queue */
    const char *unavailable_reason; /* valvd's message when not available; may be NULL */
    Valv__V1__Asset *const *assets; /* the first n_assets of the queue, oldest first */
    size_t n_assets;                /* at most REPORT_QUEUE_MAX */
    int64_t n_more;                 /* how many more the queue holds */
} report_queue;

/* Writes one self-contained HTML page (inline CSS; no script, image, font
 * or link to anything outside it): the time and revision of the figures;
 * the key figures; a heat map of units against their highest effective
 * level and their effective security class, each cell coloured by its count
 * relative to the largest count of its block; the units that lag behind,
 * worst first; the review queue (or why it is not shown); and the table of
 * figures per unit. Every text taken from the data is HTML-escaped. Times
 * are shown in the local time zone (TZ).
 *
 * Data attributes let a program read the page: each heat-map cell has
 * data-unit (the unit; REPORT_TOTAL_ROW for the total row) and
 * data-column (the figure's CSV key: level_none, level_0 ... level_4,
 * class_not_assessed ... class_top_secret); each lagging unit's row
 * data-lag-unit; each queued asset's row data-asset (its name). A lagging
 * unit has assets not classified, returned or overdue; the worst has the
 * largest share of those among its assets. */
int report_write_html(FILE *out, const Valv__V1__Summary *summary, const report_queue *queue);

/* The assets waiting for the security protection chief by summary's total
 * (PENDING, RETURNED and overdue): the review queue's length as the
 * summary counted it. */
int64_t report_queue_length(const Valv__V1__Summary *summary);

#endif
